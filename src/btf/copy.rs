//! Copying a type from one [`Btf`] into another, with its references and strings mapped:
//! what appending a BTF to another and compacting a de-duplicated BTF both do.

use super::error::Result;
use super::record::Writer;
use super::types::raw_id;
use super::{Btf, Kind, StrOffset, TypeId, TypeKind};

/// How the strings of copied types find their place in the destination.
pub(crate) enum Strings {
    /// The source's string section was appended at this offset: a non-empty string moves
    /// by it.
    Shifted(u32),
    /// Every string is added again by its text (equal strings are shared).
    ByText,
}

impl Btf {
    /// Appends a copy of `other`'s type `old` whose references `ty` maps to this BTF's ids,
    /// and returns the new type's id. `old` must be one of `other`'s own types, not void.
    /// The record is encoded straight into this BTF's records (no item is collected first);
    /// on error nothing is added but strings.
    pub(crate) fn push_copy(
        &mut self,
        other: &Btf,
        old: TypeId,
        ty: &mut impl FnMut(TypeId) -> Result<TypeId>,
        strings: &Strings,
    ) -> Result<TypeId> {
        let t = other.kind_of(old).map(|_| other.ty(old))?;
        let s = |this: &mut Btf, o: StrOffset| -> Result<StrOffset> {
            match strings {
                Strings::Shifted(_) if o.0 == 0 => Ok(o),
                Strings::Shifted(base) => Ok(StrOffset(o.0 + base)),
                Strings::ByText => this.strings.add(other.str(o)?),
            }
        };
        let name = s(self, t.name)?;
        if matches!(t.kind, TypeKind::Void) {
            return Err(super::BtfError::WrongKind {
                type_id: raw_id(old),
                found: Kind::Void,
                expected: "a type other than void to copy",
            });
        }
        if self.n_types() == u32::MAX {
            return Err(super::BtfError::TooMany {
                what: "types",
                limit: u32::MAX as u64,
            });
        }
        let start = self.raw.len();
        // Written straight after the last record; taken out of `self` so that strings can
        // be added meanwhile.
        let mut raw = std::mem::take(&mut self.raw);
        let result = (|| -> Result<()> {
            let e = self.endian;
            let mut w = Writer { e, out: &mut raw };
            // The references outside the items mapped first (in record order), then the
            // items, each with its own.
            let kind = map_refs(t.kind, ty)?;
            match t.kind {
                TypeKind::Struct {
                    members,
                    bitfield_encoding,
                    ..
                }
                | TypeKind::Union {
                    members,
                    bitfield_encoding,
                    ..
                } => {
                    w.fixed(name, &kind, members.len() as u32);
                    for mut m in other.members(old) {
                        m.name = s(self, m.name)?;
                        m.ty = ty(m.ty)?;
                        w.member(&m, bitfield_encoding);
                    }
                }
                TypeKind::Enum { values, .. } | TypeKind::Enum64 { values, .. } => {
                    w.fixed(name, &kind, values.len() as u32);
                    let is64 = matches!(kind, TypeKind::Enum64 { .. });
                    for mut v in other.enum_values(old) {
                        v.name = s(self, v.name)?;
                        w.enum_value(&v, is64);
                    }
                }
                TypeKind::FuncProto { params, .. } => {
                    w.fixed(name, &kind, params.len() as u32);
                    for mut p in other.params(old) {
                        p.name = s(self, p.name)?;
                        p.ty = ty(p.ty)?;
                        w.param(&p);
                    }
                }
                TypeKind::Datasec { vars, .. } => {
                    w.fixed(name, &kind, vars.len() as u32);
                    for mut v in other.datasec_vars(old) {
                        v.ty = ty(v.ty)?;
                        w.var(&v);
                    }
                }
                _ => w.fixed(name, &kind, 0),
            }
            Ok(())
        })();
        let fits = raw.len() as u64 <= u32::MAX as u64;
        if result.is_err() || !fits {
            raw.truncate(start);
        }
        self.raw = raw;
        result?;
        if !fits {
            return Err(super::BtfError::TooMany {
                what: "type bytes",
                limit: u32::MAX as u64,
            });
        }
        let id = super::types::type_id(self.n_types());
        self.offsets.push(start as u32);
        self.names = Default::default();
        self.ptr_size.take();
        Ok(id)
    }
}

/// `kind` with the type references it holds outside its items (a pointer's target, an
/// array's element and index, a prototype's return type, ...) mapped by `ty`, in the order
/// its record holds them.
fn map_refs(kind: TypeKind, ty: &mut impl FnMut(TypeId) -> Result<TypeId>) -> Result<TypeKind> {
    Ok(match kind {
        TypeKind::Ptr(r) => TypeKind::Ptr(ty(r)?),
        TypeKind::Typedef(r) => TypeKind::Typedef(ty(r)?),
        TypeKind::Volatile(r) => TypeKind::Volatile(ty(r)?),
        TypeKind::Const(r) => TypeKind::Const(ty(r)?),
        TypeKind::Restrict(r) => TypeKind::Restrict(ty(r)?),
        TypeKind::TypeTag { ty: r, attribute } => TypeKind::TypeTag {
            ty: ty(r)?,
            attribute,
        },
        TypeKind::DeclTag {
            ty: r,
            component_idx,
            attribute,
        } => TypeKind::DeclTag {
            ty: ty(r)?,
            component_idx,
            attribute,
        },
        TypeKind::Array { elem, index, len } => TypeKind::Array {
            elem: ty(elem)?,
            index: ty(index)?,
            len,
        },
        TypeKind::Func { proto, linkage } => TypeKind::Func {
            proto: ty(proto)?,
            linkage,
        },
        TypeKind::Var { ty: r, linkage } => TypeKind::Var {
            ty: ty(r)?,
            linkage,
        },
        TypeKind::FuncProto { ret, params } => TypeKind::FuncProto {
            ret: ty(ret)?,
            params,
        },
        TypeKind::Void
        | TypeKind::Int { .. }
        | TypeKind::Fwd { .. }
        | TypeKind::Float { .. }
        | TypeKind::Struct { .. }
        | TypeKind::Union { .. }
        | TypeKind::Enum { .. }
        | TypeKind::Enum64 { .. }
        | TypeKind::Datasec { .. } => kind,
    })
}
