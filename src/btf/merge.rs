//! Appending one BTF to another: the building block of linking, where every object's types
//! and strings move into one BTF.
//!
//! [`Btf::append`] copies the types of a base BTF (all of them, or those a filter keeps)
//! after this BTF's last type and its string section after this one's last string. Strings
//! move by one base offset (offsets into the middle of a string stay valid, and no string is
//! looked up); types move by a table from old to new id, because types the filter drops
//! leave no hole. Nothing is deduplicated: that is a later pass over the result.
//!
//! Cost: one pass over the appended types and their items, one copy of the string bytes.

use super::copy::Strings;
use super::error::{BtfError, Result};
use super::types::{raw_id, type_id};
use super::{Btf, StrOffset, Type, TypeId};

/// Where the types and strings of a BTF appended with [`Btf::append`] went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// New id by old wire id; `None` for types the filter dropped. Index 0 is `void`.
    types: Vec<Option<TypeId>>,
    /// Added to every non-zero string offset.
    str_base: u32,
}

impl Appended {
    /// The new id of old type `old`, or `None` if it was dropped or never existed.
    pub fn ty(&self, old: TypeId) -> Option<TypeId> {
        self.types.get(raw_id(old) as usize).copied().flatten()
    }

    /// The new offset of old string offset `old` (the empty string stays at 0).
    pub fn str(&self, old: StrOffset) -> StrOffset {
        if old.0 == 0 {
            old
        } else {
            StrOffset(old.0 + self.str_base)
        }
    }

    /// The number of old type ids (including `void`) this covers.
    pub fn n_types(&self) -> usize {
        self.types.len()
    }
}

impl Btf {
    /// Appends the types of base BTF `other` for which `keep(id, type)` is true, and all of
    /// its strings, and says where each went. A kept type that refers to a dropped one is an
    /// error naming both. `void` is always kept (it maps to `void`). On error, `self` keeps
    /// its types unchanged but may hold strings and items that no type uses.
    ///
    /// ```
    /// use bpfir::btf::{Btf, IntEncoding, Kind};
    /// use bpfir::Endian;
    ///
    /// let mut a = Btf::new(Endian::Little);
    /// a.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    /// let mut b = Btf::new(Endian::Little);
    /// let long = b.add_int("long", 8, IntEncoding::SIGNED, 64).unwrap();
    /// let moved = a.append(&b, |_, _| true).unwrap();
    /// let new = moved.ty(long).unwrap();
    /// assert_eq!(a.name(new).unwrap(), "long");
    /// assert_eq!(a.ty(new).kind.kind(), Kind::Int);
    /// ```
    pub fn append(
        &mut self,
        other: &Btf,
        mut keep: impl FnMut(TypeId, &Type) -> bool,
    ) -> Result<Appended> {
        if other.base.is_some() {
            return Err(BtfError::BadHeader {
                reason: "split btf cannot be appended to another btf; append its base first".into(),
            });
        }
        let str_base = self.strings.append_table(&other.strings)?;
        // First the id table, so that forward references (a pointer to a later struct)
        // resolve.
        let mut types = Vec::with_capacity(other.offsets.len());
        let mut next = self.n_types();
        for (id, t) in other.own_types() {
            if raw_id(id) == 0 {
                types.push(Some(id));
            } else if keep(id, &t) {
                if next == u32::MAX {
                    return Err(BtfError::TooMany {
                        what: "types",
                        limit: u32::MAX as u64,
                    });
                }
                types.push(Some(type_id(next)));
                next += 1;
            } else {
                types.push(None);
            }
        }
        let map =
            |referrer: TypeId, old: TypeId| -> Result<TypeId> {
                types.get(raw_id(old) as usize).copied().flatten().ok_or(
                    BtfError::TypeIdOutOfRange {
                        type_id: raw_id(referrer),
                        referenced: raw_id(old),
                        n_types: other.n_types(),
                    },
                )
            };
        for (id, _) in other.own_types() {
            if raw_id(id) == 0 || types[raw_id(id) as usize].is_none() {
                continue;
            }
            self.push_copy(other, id, &mut |r| map(id, r), &Strings::Shifted(str_base))?;
        }
        self.names = Default::default();
        self.ptr_size.take();
        Ok(Appended { types, str_base })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::TypeKind;
    use crate::btf::{IntEncoding, Kind, Linkage, NewMember, VarSecinfo};
    use crate::Endian;

    /// A BTF appended to one of the other byte order is written in that one's: every kind,
    /// including those copied as they are but for the name (INT, FWD, FLOAT), which were
    /// copied in the source's byte order and made the result unreadable.
    #[test]
    fn appending_across_byte_orders_writes_the_destination_order() {
        for (from, to) in [(Endian::Little, Endian::Big), (Endian::Big, Endian::Little)] {
            let mut b = Btf::new(from);
            let int = b.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
            b.add_type("f", TypeKind::Fwd { union: true }).unwrap();
            b.add_type("double", TypeKind::Float { size: 8 }).unwrap();
            b.add_struct("s", 4, &[NewMember::new("a", int, 0)])
                .unwrap();
            let mut out = Btf::new(to);
            out.append(&b, |_, _| true).unwrap();
            let again = Btf::parse(&out.to_bytes()).unwrap();
            assert_eq!(again.endian(), to);
            let kinds: Vec<TypeKind> = again.own_types().map(|(_, t)| t.kind).collect();
            let want: Vec<TypeKind> = b.own_types().map(|(_, t)| t.kind).collect();
            assert_eq!(kinds.len(), want.len());
            for ((id, t), w) in again.own_types().zip(&want).skip(1) {
                assert_eq!(t.kind.kind(), w.kind(), "type {id:?}");
                assert_eq!(again.size_of(id).ok(), b.size_of(id).ok(), "type {id:?}");
            }
            assert_eq!(again.types_by_name("double").count(), 1);
        }
    }

    fn sample() -> (Btf, TypeId, TypeId, TypeId) {
        let mut b = Btf::new(Endian::Little);
        let int = b.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
        let st = b
            .add_struct(
                "pair",
                8,
                &[NewMember::new("a", int, 0), NewMember::new("b", int, 32)],
            )
            .unwrap();
        let var = b.add_var("g", st, Linkage::Global).unwrap();
        let sec = b
            .add_datasec(
                ".data",
                8,
                &[VarSecinfo {
                    ty: var,
                    offset: 0,
                    size: 8,
                }],
            )
            .unwrap();
        (b, st, var, sec)
    }

    #[test]
    fn appended_types_keep_names_members_and_references() {
        let (mut a, ..) = sample();
        let n_before = a.n_types();
        let (b, st, var, sec) = sample();
        let moved = a.append(&b, |_, t| t.kind.kind() != Kind::Datasec).unwrap();
        assert_eq!(moved.ty(sec), None);
        let new_st = moved.ty(st).unwrap();
        assert_eq!(raw_id(new_st), n_before + raw_id(st) - 1);
        assert_eq!(a.name(new_st).unwrap(), "pair");
        let names: Vec<&str> = a
            .members(new_st)
            .iter()
            .map(|m| a.str(m.name).unwrap())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            a.resolve(a.members(new_st).get(0).unwrap().ty).unwrap(),
            a.members(new_st).get(1).unwrap().ty
        );
        let new_var = moved.ty(var).unwrap();
        assert_eq!(
            a.ty(new_var).kind,
            TypeKind::Var {
                ty: new_st,
                linkage: Linkage::Global
            }
        );
        // Every string offset of b reads the same text in a.
        let off = b.ty(st).name;
        assert_eq!(a.str(moved.str(off)).unwrap(), b.str(off).unwrap());
        assert_eq!(moved.str(StrOffset::EMPTY), StrOffset::EMPTY);
        // The result marshals and parses back.
        let again = Btf::parse(&a.to_bytes()).unwrap();
        assert_eq!(again.n_types(), a.n_types());
    }

    #[test]
    fn dropping_a_referenced_type_is_an_error_naming_both() {
        let (mut a, ..) = sample();
        let (b, st, var, _) = sample();
        let err = a
            .append(&b, |_, t| t.kind.kind() != Kind::Struct)
            .unwrap_err();
        assert_eq!(
            err,
            BtfError::TypeIdOutOfRange {
                type_id: raw_id(var),
                referenced: raw_id(st),
                n_types: b.n_types()
            }
        );
    }

    #[test]
    fn split_btf_is_refused() {
        let (a, ..) = sample();
        let split = Btf::new_split(std::sync::Arc::new(a.clone()));
        let mut a = a;
        assert!(a.append(&split, |_, _| true).is_err());
    }
}
