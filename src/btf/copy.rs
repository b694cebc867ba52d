//! Copying a type from one [`Btf`] into another, with its references and strings mapped:
//! what appending a BTF to another and compacting a de-duplicated BTF both do.

use super::error::Result;
use super::types::Items;
use super::{Btf, StrOffset, Type, TypeId, TypeKind};

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
    pub(crate) fn push_copy(
        &mut self,
        other: &Btf,
        old: TypeId,
        ty: &mut impl FnMut(TypeId) -> Result<TypeId>,
        strings: &Strings,
    ) -> Result<TypeId> {
        let t = *other.kind_of(old).map(|_| other.ty(old))?;
        let s = |this: &mut Btf, o: StrOffset| -> Result<StrOffset> {
            match strings {
                Strings::Shifted(_) if o.0 == 0 => Ok(o),
                Strings::Shifted(base) => Ok(StrOffset(o.0 + base)),
                Strings::ByText => this.strings.add(other.str(o)?),
            }
        };
        let kind = match t.kind {
            k @ (TypeKind::Void
            | TypeKind::Int { .. }
            | TypeKind::Fwd { .. }
            | TypeKind::Float { .. }) => k,
            TypeKind::Ptr(r) => TypeKind::Ptr(ty(r)?),
            TypeKind::Typedef(r) => TypeKind::Typedef(ty(r)?),
            TypeKind::Volatile(r) => TypeKind::Volatile(ty(r)?),
            TypeKind::Const(r) => TypeKind::Const(ty(r)?),
            TypeKind::Restrict(r) => TypeKind::Restrict(ty(r)?),
            TypeKind::TypeTag { ty: r, attribute } => TypeKind::TypeTag {
                ty: ty(r)?,
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
            TypeKind::DeclTag {
                ty: r,
                component_idx,
                attribute,
            } => TypeKind::DeclTag {
                ty: ty(r)?,
                component_idx,
                attribute,
            },
            TypeKind::Struct {
                size,
                bitfield_encoding,
                ..
            }
            | TypeKind::Union {
                size,
                bitfield_encoding,
                ..
            } => {
                let start = self.members.len() as u32;
                let members = other.members(old);
                for m in members {
                    let mut m = *m;
                    m.name = s(self, m.name)?;
                    m.ty = ty(m.ty)?;
                    self.members.alloc(m);
                }
                let members = Items::new(start, members.len() as u32);
                if matches!(t.kind, TypeKind::Struct { .. }) {
                    TypeKind::Struct {
                        size,
                        members,
                        bitfield_encoding,
                    }
                } else {
                    TypeKind::Union {
                        size,
                        members,
                        bitfield_encoding,
                    }
                }
            }
            TypeKind::Enum { size, signed, .. } | TypeKind::Enum64 { size, signed, .. } => {
                let start = self.enum_values.len() as u32;
                let values = other.enum_values(old);
                for v in values {
                    let mut v = *v;
                    v.name = s(self, v.name)?;
                    self.enum_values.alloc(v);
                }
                let values = Items::new(start, values.len() as u32);
                if matches!(t.kind, TypeKind::Enum { .. }) {
                    TypeKind::Enum {
                        size,
                        values,
                        signed,
                    }
                } else {
                    TypeKind::Enum64 {
                        size,
                        values,
                        signed,
                    }
                }
            }
            TypeKind::FuncProto { ret, .. } => {
                let ret = ty(ret)?;
                let start = self.params.len() as u32;
                let params = other.params(old);
                for p in params {
                    let mut p = *p;
                    p.name = s(self, p.name)?;
                    p.ty = ty(p.ty)?;
                    self.params.alloc(p);
                }
                TypeKind::FuncProto {
                    ret,
                    params: Items::new(start, params.len() as u32),
                }
            }
            TypeKind::Datasec { size, .. } => {
                let start = self.vars.len() as u32;
                let vars = other.datasec_vars(old);
                for v in vars {
                    let mut v = *v;
                    v.ty = ty(v.ty)?;
                    self.vars.alloc(v);
                }
                TypeKind::Datasec {
                    size,
                    vars: Items::new(start, vars.len() as u32),
                }
            }
        };
        let name = s(self, t.name)?;
        let id = super::types::type_id(self.n_types());
        self.types.alloc(Type { name, kind });
        Ok(id)
    }
}
