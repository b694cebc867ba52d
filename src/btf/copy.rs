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
            let kind = t.kind.kind();
            match t.kind {
                TypeKind::Void
                | TypeKind::Int { .. }
                | TypeKind::Fwd { .. }
                | TypeKind::Float { .. } => {
                    // Nothing to map: the record is the same but for the name (its words
                    // written in this BTF's byte order, which may not be `other`'s).
                    let rec = other.encode(&t, super::record::NewItems::FromKind);
                    w.put(name.0);
                    for word in rec.get(4..).unwrap_or_default().chunks_exact(4) {
                        w.put(other.endian.read_u32(word, 0).unwrap_or(0));
                    }
                }
                TypeKind::Ptr(r)
                | TypeKind::Typedef(r)
                | TypeKind::Volatile(r)
                | TypeKind::Const(r)
                | TypeKind::Restrict(r) => w.header(name, kind, 0, false, raw_id(ty(r)?)),
                TypeKind::TypeTag { ty: r, attribute } => {
                    w.header(name, kind, 0, attribute, raw_id(ty(r)?))
                }
                TypeKind::Array { elem, index, len } => {
                    let (elem, index) = (raw_id(ty(elem)?), raw_id(ty(index)?));
                    w.header(name, kind, 0, false, 0);
                    w.put(elem);
                    w.put(index);
                    w.put(len);
                }
                TypeKind::Func { proto, linkage } => {
                    w.header(name, kind, linkage.to_wire(), false, raw_id(ty(proto)?))
                }
                TypeKind::Var { ty: r, linkage } => {
                    w.header(name, kind, 0, false, raw_id(ty(r)?));
                    w.put(linkage.to_wire());
                }
                TypeKind::DeclTag {
                    ty: r,
                    component_idx,
                    attribute,
                } => {
                    w.header(name, kind, 0, attribute, raw_id(ty(r)?));
                    w.put(component_idx as u32);
                }
                TypeKind::Struct {
                    size,
                    members,
                    bitfield_encoding,
                }
                | TypeKind::Union {
                    size,
                    members,
                    bitfield_encoding,
                } => {
                    w.header(name, kind, members.len() as u32, bitfield_encoding, size);
                    for mut m in other.members(old) {
                        m.name = s(self, m.name)?;
                        m.ty = ty(m.ty)?;
                        w.member(&m, bitfield_encoding);
                    }
                }
                TypeKind::Enum {
                    size,
                    values,
                    signed,
                }
                | TypeKind::Enum64 {
                    size,
                    values,
                    signed,
                } => {
                    w.header(name, kind, values.len() as u32, signed, size);
                    for mut v in other.enum_values(old) {
                        v.name = s(self, v.name)?;
                        w.enum_value(&v, kind == Kind::Enum64);
                    }
                }
                TypeKind::FuncProto { ret, params } => {
                    w.header(name, kind, params.len() as u32, false, raw_id(ty(ret)?));
                    for mut p in other.params(old) {
                        p.name = s(self, p.name)?;
                        p.ty = ty(p.ty)?;
                        w.param(&p);
                    }
                }
                TypeKind::Datasec { size, vars } => {
                    w.header(name, kind, vars.len() as u32, false, size);
                    for mut v in other.datasec_vars(old) {
                        v.ty = ty(v.ty)?;
                        w.var(&v);
                    }
                }
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
