//! Access specifications: an access string walked through a BTF.
//!
//! A [`Spec`] is what libbpf calls a `bpf_core_spec`: the root type, the *named* steps of an
//! access (members with a name, array elements, the root's own array index; anonymous
//! members are walked but not recorded, so that a target may nest the same field
//! differently), the raw indices, and the bit offset reached. [`parse_local`] builds it from
//! a relocation's access string over the program's own BTF; [`match_target`] walks the same
//! named steps through a candidate type of a target BTF.
//!
//! Invariants: every recorded accessor names a type of the spec's BTF; a member accessor's
//! `ty` is the (resolved) struct or union and `idx` the member's position, an element or
//! root accessor's `ty` is the (resolved) element type. Walks are bounded by
//! [`MAX_ACCESS_COMPONENTS`] steps, so malformed BTF cannot make them loop. Cost: one pass
//! over the access, plus for a target one scan of each struct's members per step.

use crate::btf::{essential_name, Btf, TypeId, TypeKind};
use crate::btf_ext::{CoreAccess, CoreReloKind, MAX_ACCESS_COMPONENTS};

use super::compat::fields_are_compat;
use super::Fail;

/// One named step of an access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Accessor<'a> {
    /// The struct/union of a member step; the element type of an array (or root) step; the
    /// enum of an enumerator.
    pub ty: TypeId,
    /// Member, element or enumerator index.
    pub idx: u32,
    /// The member or enumerator name; `None` for array (and root) steps.
    pub name: Option<&'a str>,
}

/// An access walked through one BTF.
#[derive(Clone, Debug)]
pub(crate) struct Spec<'a> {
    /// The BTF walked.
    pub btf: &'a Btf,
    /// The type the access starts from (as the relocation or candidate names it, not
    /// resolved).
    pub root: TypeId,
    /// The named steps.
    pub accessors: Vec<Accessor<'a>>,
    /// Every index, anonymous members included.
    pub raw: Vec<u32>,
    /// Bit offset of the accessed field from the root pointer.
    pub bit_offset: u64,
}

impl<'a> Spec<'a> {
    fn new(btf: &'a Btf, root: TypeId) -> Spec<'a> {
        Spec {
            btf,
            root,
            accessors: Vec::new(),
            raw: Vec::new(),
            bit_offset: 0,
        }
    }

    /// The last named step (every field spec has at least the root step).
    pub fn last(&self) -> Option<&Accessor<'a>> {
        self.accessors.last()
    }
}

/// Resolves typedefs, qualifiers and type tags: the type id and its kind.
pub(crate) fn skip_mods(btf: &Btf, id: TypeId) -> Result<(TypeId, TypeKind), Fail> {
    let id = btf.resolve(id)?;
    Ok((id, btf.kind_of(id)?))
}

fn add_bits(acc: u64, idx: u32, size: u32) -> Result<u64, Fail> {
    u64::from(idx)
        .checked_mul(u64::from(size))
        .and_then(|b| b.checked_mul(8))
        .and_then(|b| acc.checked_add(b))
        .ok_or_else(|| Fail::Unsupported("bit offset overflows".into()))
}

/// The name of string offset `name` in `btf`, `None` for the empty name.
fn opt_name(btf: &Btf, name: crate::btf::StrOffset) -> Result<Option<&str>, Fail> {
    let s = btf.str(name)?;
    Ok((!s.is_empty()).then_some(s))
}

/// Whether an array reached after accessor `prev` is a flexible array member: zero
/// elements and the last member of the enclosing struct.
fn is_flex_array(btf: &Btf, prev: Option<&Accessor<'_>>, len: u32) -> bool {
    match prev {
        Some(acc) if acc.name.is_some() && len == 0 => {
            let n = btf.members(acc.ty).len();
            n > 0 && acc.idx as usize == n - 1
        }
        _ => false,
    }
}

/// Walks `access` from `root` through the local BTF for a relocation of `kind`.
pub(crate) fn parse_local<'a>(
    btf: &'a Btf,
    root: TypeId,
    kind: CoreReloKind,
    access: &CoreAccess,
) -> Result<Spec<'a>, Fail> {
    let mut spec = Spec::new(btf, root);
    if kind.is_type_based() {
        if access.indices() != [0] {
            return Err(Fail::Access(
                0,
                "type relocations need the access \"0\"".into(),
            ));
        }
        return Ok(spec);
    }
    let first = access.base_index();
    let (id, t) = skip_mods(btf, root)?;
    spec.raw.push(first);
    if kind.is_enumval_based() {
        if !matches!(t, TypeKind::Enum { .. } | TypeKind::Enum64 { .. }) {
            return Err(Fail::LocalType(format!(
                "enumerator relocation on a {}",
                t.kind()
            )));
        }
        if access.len() > 1 {
            return Err(Fail::Access(
                1,
                "enumerator access has one component".into(),
            ));
        }
        let value = btf
            .enum_values(id)
            .get(first as usize)
            .ok_or_else(|| Fail::Access(0, format!("enumerator {first} out of range")))?;
        let name = btf.str(value.name)?;
        spec.accessors.push(Accessor {
            ty: id,
            idx: first,
            name: Some(name),
        });
        return Ok(spec);
    }
    spec.accessors.push(Accessor {
        ty: id,
        idx: first,
        name: None,
    });
    let size = btf.size_of(id)?;
    spec.bit_offset = add_bits(0, first, size)?;
    let mut cur = id;
    for (i, &idx) in access.accessors().iter().enumerate() {
        let component = i + 1;
        spec.raw.push(idx);
        let (id, t) = skip_mods(btf, cur)?;
        match t {
            TypeKind::Struct { .. } | TypeKind::Union { .. } => {
                let m = btf
                    .members(id)
                    .get(idx as usize)
                    .ok_or_else(|| Fail::Access(component, format!("member {idx} out of range")))?;
                spec.bit_offset += u64::from(m.bit_offset);
                if let Some(name) = opt_name(btf, m.name)? {
                    spec.accessors.push(Accessor {
                        ty: id,
                        idx,
                        name: Some(name),
                    });
                }
                cur = m.ty;
            }
            TypeKind::Array { elem, len, .. } => {
                let (elem, _) = skip_mods(btf, elem)?;
                let flex = is_flex_array(btf, spec.accessors.last(), len);
                if !flex && idx >= len {
                    return Err(Fail::Access(
                        component,
                        format!("element {idx} of an array of {len}"),
                    ));
                }
                spec.accessors.push(Accessor {
                    ty: elem,
                    idx,
                    name: None,
                });
                let size = btf.size_of(elem)?;
                spec.bit_offset = add_bits(spec.bit_offset, idx, size)?;
                cur = elem;
            }
            other => {
                return Err(Fail::Access(
                    component,
                    format!("reaches a {}, not a struct, union or array", other.kind()),
                ))
            }
        }
    }
    Ok(spec)
}

/// Walks the named steps of `local` through candidate `targ_id` of `targ_btf`. `Ok(None)`
/// when the candidate does not have the accessed field (or enumerator).
pub(crate) fn match_target<'a>(
    local: &Spec<'_>,
    kind: CoreReloKind,
    targ_btf: &'a Btf,
    targ_id: TypeId,
) -> Result<Option<Spec<'a>>, Fail> {
    let mut targ = Spec::new(targ_btf, targ_id);
    if kind.is_enumval_based() {
        let (id, t) = skip_mods(targ_btf, targ_id)?;
        if !matches!(t, TypeKind::Enum { .. } | TypeKind::Enum64 { .. }) {
            return Ok(None);
        }
        let Some(local_name) = local.accessors.first().and_then(|a| a.name) else {
            return Ok(None);
        };
        let want = essential_name(local_name);
        for (i, v) in targ_btf.enum_values(id).iter().enumerate() {
            let name = targ_btf.str(v.name)?;
            if essential_name(name) == want {
                targ.accessors.push(Accessor {
                    ty: id,
                    idx: i as u32,
                    name: Some(name),
                });
                targ.raw.push(i as u32);
                return Ok(Some(targ));
            }
        }
        return Ok(None);
    }
    let mut cur = targ_id;
    for (i, acc) in local.accessors.iter().enumerate() {
        let (id, t) = skip_mods(targ_btf, cur)?;
        cur = id;
        if acc.name.is_some() {
            match match_member(local, acc, targ_btf, cur, &mut targ, 0)? {
                Some(next) => cur = next,
                None => return Ok(None),
            }
        } else {
            if i > 0 {
                let TypeKind::Array { elem, len, .. } = t else {
                    return Ok(None);
                };
                let flex = is_flex_array(targ_btf, targ.accessors.last(), len);
                if !flex && acc.idx >= len {
                    return Ok(None);
                }
                cur = skip_mods(targ_btf, elem)?.0;
            }
            if targ.raw.len() >= MAX_ACCESS_COMPONENTS {
                return Err(Fail::Unsupported("target access too deep".into()));
            }
            targ.accessors.push(Accessor {
                ty: cur,
                idx: acc.idx,
                name: None,
            });
            targ.raw.push(acc.idx);
            let size = targ_btf.size_of(cur)?;
            targ.bit_offset = add_bits(targ.bit_offset, acc.idx, size)?;
        }
    }
    Ok(Some(targ))
}

/// Finds the member named like local accessor `acc` in struct/union `targ_id`, looking
/// through anonymous members. On a match, records the step in `targ` and returns the
/// member's type.
fn match_member<'a>(
    local: &Spec<'_>,
    acc: &Accessor<'_>,
    targ_btf: &'a Btf,
    targ_id: TypeId,
    targ: &mut Spec<'a>,
    depth: usize,
) -> Result<Option<TypeId>, Fail> {
    let (targ_id, t) = skip_mods(targ_btf, targ_id)?;
    if !t.is_composite() {
        return Ok(None);
    }
    let Some(local_member) = local.btf.members(acc.ty).get(acc.idx as usize) else {
        return Ok(None);
    };
    let Some(local_name) = acc.name else {
        return Ok(None);
    };
    for (i, m) in targ_btf.members(targ_id).iter().enumerate() {
        if targ.raw.len() >= MAX_ACCESS_COMPONENTS || depth >= MAX_ACCESS_COMPONENTS {
            return Err(Fail::Unsupported("target access too deep".into()));
        }
        targ.bit_offset += u64::from(m.bit_offset);
        targ.raw.push(i as u32);
        // Names compared as bytes: only the matching one is checked for UTF-8 (a kernel
        // struct has hundreds of members, and this runs for each candidate).
        let bytes =
            targ_btf
                .str_bytes(m.name)
                .ok_or(crate::btf::BtfError::StrOffsetOutOfRange {
                    type_id: 0,
                    str_offset: m.name.0,
                    str_len: targ_btf.str_len(),
                })?;
        if bytes.is_empty() {
            // An anonymous member: look inside it.
            if let Some(found) = match_member(local, acc, targ_btf, m.ty, targ, depth + 1)? {
                return Ok(Some(found));
            }
        } else if bytes == local_name.as_bytes() {
            let name = targ_btf.str(m.name)?;
            if !fields_are_compat(local.btf, local_member.ty, targ_btf, m.ty)? {
                targ.bit_offset -= u64::from(m.bit_offset);
                targ.raw.pop();
                return Ok(None);
            }
            targ.accessors.push(Accessor {
                ty: targ_id,
                idx: i as u32,
                name: Some(name),
            });
            return Ok(Some(m.ty));
        }
        targ.bit_offset -= u64::from(m.bit_offset);
        targ.raw.pop();
    }
    Ok(None)
}
