//! The value a relocation computes from one spec (local or target), and the pair of them
//! that patching needs.
//!
//! Field values follow the kernel's `relo_core.c`: a plain field's byte offset and size;
//! for a bitfield, the smallest naturally aligned load (starting from the member type's
//! size, doubling up to 8 bytes) that holds all its bits, and the shifts that extract it
//! from a 64-bit register (left shift by byte order, then right shift by `64 - bits`).
//! Values the compiler may have computed differently for bitfields (offset, size, left
//! shift) are not checked against the instruction; signedness and right shift are.

use crate::btf::{Btf, TypeId, TypeKind};
use crate::btf_ext::CoreReloKind;
use crate::Endian;

use super::spec::{skip_mods, Spec};
use super::Fail;

/// One side's value of a field relocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FieldValue {
    value: u64,
    /// Whether the instruction must hold this value (local side only).
    validate: bool,
    /// For a plain field's byte offset: the field's size and (resolved) type, which a load
    /// or store of it may need to follow.
    mem: Option<(u64, TypeId)>,
}

fn too_wide() -> Fail {
    Fail::Unsupported("the field does not fit a 64-bit register".into())
}

fn field_value(spec: &Spec<'_>, kind: CoreReloKind) -> Result<FieldValue, Fail> {
    let btf = spec.btf;
    let acc = *spec
        .last()
        .ok_or_else(|| Fail::Unsupported("field access without steps".into()))?;
    if acc.name.is_none() {
        let size = u64::from(btf.size_of(acc.ty)?);
        return match kind {
            CoreReloKind::FieldByteOffset => Ok(FieldValue {
                value: spec.bit_offset / 8,
                validate: true,
                mem: Some((size, acc.ty)),
            }),
            CoreReloKind::FieldByteSize => Ok(FieldValue {
                value: size,
                validate: true,
                mem: None,
            }),
            _ => Err(Fail::Unsupported(format!(
                "{kind} cannot be applied to an array element"
            ))),
        };
    }
    let m = btf
        .members(acc.ty)
        .get(acc.idx as usize)
        .ok_or_else(|| Fail::Unsupported(format!("member {} out of range", acc.idx)))?;
    let (field_ty, mt) = skip_mods(btf, m.ty)?;
    let bit_off = spec.bit_offset;
    let bitfield = m.bitfield_size > 0;
    let (byte_off, byte_sz, bit_sz) = if bitfield {
        let bit_sz = u64::from(m.bitfield_size);
        let mut byte_sz = match mt {
            TypeKind::Int { size, .. }
            | TypeKind::Enum { size, .. }
            | TypeKind::Enum64 { size, .. } => u64::from(size),
            other => {
                return Err(Fail::Unsupported(format!(
                    "bitfield of a {} type",
                    other.kind()
                )))
            }
        };
        if byte_sz == 0 || byte_sz > 8 {
            return Err(Fail::Unsupported(format!(
                "bitfield of a {byte_sz}-byte type"
            )));
        }
        let mut byte_off = bit_off / 8 / byte_sz * byte_sz;
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8 {
            if byte_sz >= 8 {
                return Err(Fail::Unsupported(
                    "bitfield cannot be read with one 64-bit load".into(),
                ));
            }
            byte_sz *= 2;
            byte_off = bit_off / 8 / byte_sz * byte_sz;
        }
        (byte_off, byte_sz, bit_sz)
    } else {
        let byte_sz = u64::from(btf.size_of(field_ty)?);
        (bit_off / 8, byte_sz, byte_sz * 8)
    };
    let plain = FieldValue {
        value: 0,
        validate: !bitfield,
        mem: None,
    };
    Ok(match kind {
        CoreReloKind::FieldByteOffset => FieldValue {
            value: byte_off,
            mem: (!bitfield).then_some((byte_sz, field_ty)),
            ..plain
        },
        CoreReloKind::FieldByteSize => FieldValue {
            value: byte_sz,
            ..plain
        },
        CoreReloKind::FieldSigned => FieldValue {
            value: u64::from(match mt {
                TypeKind::Enum { signed, .. } | TypeKind::Enum64 { signed, .. } => signed,
                TypeKind::Int { encoding, .. } => encoding.is_signed(),
                _ => false,
            }),
            validate: true,
            mem: None,
        },
        CoreReloKind::FieldLshiftU64 => {
            // `byte_off * 8 <= bit_off` by construction; the field must fit a 64-bit
            // register for the shifts to mean anything.
            let in_load = bit_off - byte_off * 8;
            let value = match btf.endian() {
                Endian::Little => 64u64.checked_sub(in_load + bit_sz),
                Endian::Big => 8u64.checked_sub(byte_sz).map(|spare| spare * 8 + in_load),
            };
            FieldValue {
                value: value.ok_or_else(too_wide)?,
                ..plain
            }
        }
        CoreReloKind::FieldRshiftU64 => FieldValue {
            value: 64u64.checked_sub(bit_sz).ok_or_else(too_wide)?,
            validate: true,
            mem: None,
        },
        _ => {
            return Err(Fail::Unsupported(format!(
                "{kind} is not a field relocation"
            )))
        }
    })
}

/// What a relocation computes: the local value (what the compiler wrote), the target
/// value, and what patching a load or store needs to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Resolution {
    /// The value from the local BTF.
    pub local: u64,
    /// The value from the target, or why the instruction must be poisoned.
    pub target: Result<u64, String>,
    /// Whether the instruction must hold `local` before patching.
    pub validate: bool,
    /// Size of the local field (plain field byte offsets; 0 otherwise).
    pub local_size: u64,
    /// Size of the target field (plain field byte offsets; 0 otherwise).
    pub target_size: u64,
    /// The field's size changes in a way a load or store must not follow (only ints
    /// without sign and pointers may change size).
    pub bad_size_change: bool,
}

fn resize_ok(local: &Btf, lt: TypeId, targ: &Btf, tt: TypeId) -> Result<bool, Fail> {
    Ok(match (local.kind_of(lt)?, targ.kind_of(tt)?) {
        (TypeKind::Ptr(_), TypeKind::Ptr(_)) => true,
        (TypeKind::Int { encoding: le, .. }, TypeKind::Int { encoding: te, .. }) => {
            !le.is_signed() && !te.is_signed()
        }
        _ => false,
    })
}

fn type_value(spec: &Spec<'_>, kind: CoreReloKind) -> Result<u64, Fail> {
    Ok(match kind {
        CoreReloKind::TypeIdLocal | CoreReloKind::TypeIdTarget => {
            u64::from(spec.btf.wire_id(spec.root).0)
        }
        CoreReloKind::TypeExists | CoreReloKind::TypeMatches => 1,
        CoreReloKind::TypeSize => u64::from(spec.btf.size_of(spec.root)?),
        _ => {
            return Err(Fail::Unsupported(format!(
                "{kind} is not a type relocation"
            )))
        }
    })
}

fn enum_value(spec: &Spec<'_>, kind: CoreReloKind) -> Result<u64, Fail> {
    match kind {
        CoreReloKind::EnumvalExists => Ok(1),
        CoreReloKind::EnumvalValue => {
            let acc = spec
                .accessors
                .first()
                .ok_or_else(|| Fail::Unsupported("enumerator access without steps".into()))?;
            let v = spec
                .btf
                .enum_values(acc.ty)
                .get(acc.idx as usize)
                .ok_or_else(|| Fail::Unsupported(format!("enumerator {} out of range", acc.idx)))?;
            // As the kernel does: a 32-bit enumerator is sign-extended, a 64-bit one taken
            // as its bits.
            Ok(match spec.btf.kind_of(acc.ty)? {
                TypeKind::Enum { .. } => v.bits as u32 as i32 as i64 as u64,
                _ => v.bits,
            })
        }
        _ => Err(Fail::Unsupported(format!(
            "{kind} is not an enumerator relocation"
        ))),
    }
}

/// Computes a relocation from the local spec and the matched target spec (`None` when no
/// candidate matched).
pub(crate) fn resolve(
    kind: CoreReloKind,
    local: &Spec<'_>,
    targ: Option<&Spec<'_>>,
) -> Result<Resolution, Fail> {
    let mut res = Resolution {
        local: 0,
        target: Ok(0),
        validate: true,
        local_size: 0,
        target_size: 0,
        bad_size_change: false,
    };
    if kind.is_field_based() {
        if kind == CoreReloKind::FieldExists {
            res.local = 1;
            res.target = Ok(u64::from(targ.is_some()));
            return Ok(res);
        }
        let l = field_value(local, kind)?;
        res.local = l.value;
        res.validate = l.validate;
        let Some(targ) = targ else {
            res.target = Err("the field exists in no candidate".into());
            return Ok(res);
        };
        let t = field_value(targ, kind)?;
        res.target = Ok(t.value);
        if let (Some((ls, lt)), Some((ts, tt))) = (l.mem, t.mem) {
            res.local_size = ls;
            res.target_size = ts;
            if ls != ts {
                res.bad_size_change = !resize_ok(local.btf, lt, targ.btf, tt)?;
            }
        }
    } else if kind.is_type_based() {
        res.local = type_value(local, kind)?;
        res.validate = !matches!(kind, CoreReloKind::TypeIdLocal | CoreReloKind::TypeIdTarget);
        res.target = match targ {
            Some(t) => Ok(type_value(t, kind)?),
            None => Ok(0),
        };
    } else {
        res.local = enum_value(local, kind)?;
        res.target = match (targ, kind) {
            (Some(t), _) => Ok(enum_value(t, kind)?),
            (None, CoreReloKind::EnumvalExists) => Ok(0),
            (None, _) => Err("the enumerator exists in no candidate".into()),
        };
    }
    Ok(res)
}
