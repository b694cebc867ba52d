//! Adding strings and types to a [`Btf`].
//!
//! New types are appended as encoded records (ids grow; existing ids never change), new
//! strings are appended unless an equal string exists. Every referenced type id is checked to
//! exist, so a built BTF marshals to a blob whose references are all valid. Each addition
//! invalidates the name index, which is rebuilt on the next lookup.
//!
//! In-place changes go through guards ([`TypeMut`], [`ItemsMut`]) that hold a decoded copy
//! and write the record back when dropped (in place when its length is unchanged).

use std::ops::{Deref, DerefMut};

use super::error::{BtfError, Result};
use super::items::Item;
use super::record::NewItems;
use super::types::{raw_id, Items};
use super::{
    Btf, EnumValue, IntEncoding, ItemsView, Kind, Linkage, Member, Param, StrOffset, Type, TypeId,
    TypeKind, VarSecinfo,
};

/// A member of a struct or union to add with [`Btf::add_struct`] or [`Btf::add_union`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewMember<'a> {
    /// Member name (empty for anonymous).
    pub name: &'a str,
    /// Member type.
    pub ty: TypeId,
    /// Offset from the start of the struct, in bits.
    pub bit_offset: u32,
    /// Bitfield width in bits, 0 for a plain member.
    pub bitfield_size: u8,
}

impl<'a> NewMember<'a> {
    /// A plain (non-bitfield) member.
    pub fn new(name: &'a str, ty: TypeId, bit_offset: u32) -> Self {
        NewMember {
            name,
            ty,
            bit_offset,
            bitfield_size: 0,
        }
    }
}

impl Btf {
    /// Adds a string (or finds an equal one) and returns its offset.
    pub fn add_str(&mut self, s: &str) -> Result<StrOffset> {
        self.strings.add(s)
    }

    fn check_ref(&self, referrer: u32, id: TypeId) -> Result<()> {
        if raw_id(id) < self.n_types() {
            Ok(())
        } else {
            Err(BtfError::TypeIdOutOfRange {
                type_id: referrer,
                referenced: raw_id(id),
                n_types: self.n_types(),
            })
        }
    }

    fn push(&mut self, name: &str, kind: TypeKind, items: NewItems<'_>) -> Result<TypeId> {
        if self.n_types() == u32::MAX {
            return Err(BtfError::TooMany {
                what: "types",
                limit: u32::MAX as u64,
            });
        }
        let name = self.add_str(name)?;
        let rec = self.encode(&Type { name, kind }, items);
        self.append_record(&rec)
    }

    /// Adds a type of a kind without members, parameters, enumerators or variables (use the
    /// dedicated `add_*` methods for those).
    pub fn add_type(&mut self, name: &str, kind: TypeKind) -> Result<TypeId> {
        let id = self.n_types();
        match kind {
            TypeKind::Void => {
                return Err(BtfError::WrongKind {
                    type_id: id,
                    found: Kind::Void,
                    expected: "a kind other than void (void is type id 0)",
                })
            }
            TypeKind::Struct { .. }
            | TypeKind::Union { .. }
            | TypeKind::Enum { .. }
            | TypeKind::Enum64 { .. }
            | TypeKind::FuncProto { .. }
            | TypeKind::Datasec { .. } => {
                return Err(BtfError::WrongKind {
                    type_id: id,
                    found: kind.kind(),
                    expected: "a kind without items (use add_struct, add_enum, ...)",
                })
            }
            TypeKind::Array { elem, index, .. } => {
                self.check_ref(id, elem)?;
                self.check_ref(id, index)?;
            }
            _ => {
                if let Some(t) = kind.referenced() {
                    self.check_ref(id, t)?;
                }
            }
        }
        self.push(name, kind, NewItems::FromKind)
    }

    /// Adds an `INT` of `size` bytes and `bits` value bits.
    pub fn add_int(
        &mut self,
        name: &str,
        size: u32,
        encoding: IntEncoding,
        bits: u8,
    ) -> Result<TypeId> {
        self.add_type(
            name,
            TypeKind::Int {
                size,
                encoding,
                offset: 0,
                bits,
            },
        )
    }

    /// Adds a pointer to `ty`.
    pub fn add_ptr(&mut self, ty: TypeId) -> Result<TypeId> {
        self.add_type("", TypeKind::Ptr(ty))
    }

    /// Adds an array of `len` elements of `elem`, indexed by `index`.
    pub fn add_array(&mut self, elem: TypeId, index: TypeId, len: u32) -> Result<TypeId> {
        self.add_type("", TypeKind::Array { elem, index, len })
    }

    /// Adds a typedef.
    pub fn add_typedef(&mut self, name: &str, ty: TypeId) -> Result<TypeId> {
        self.add_type(name, TypeKind::Typedef(ty))
    }

    fn add_composite(
        &mut self,
        union: bool,
        name: &str,
        size: u32,
        members: &[NewMember<'_>],
    ) -> Result<TypeId> {
        let id = self.n_types();
        let vlen = u16::try_from(members.len()).map_err(|_| BtfError::TooMany {
            what: "members",
            limit: u16::MAX as u64,
        })?;
        let bitfield_encoding = members.iter().any(|m| m.bitfield_size != 0);
        for m in members {
            self.check_ref(id, m.ty)?;
            if bitfield_encoding && m.bit_offset > 0x00ff_ffff {
                return Err(BtfError::InvalidField {
                    type_id: id,
                    kind: if union { Kind::Union } else { Kind::Struct },
                    offset: 0,
                    field: "member bit offset (24 bits in a struct with bitfields)",
                    value: m.bit_offset,
                });
            }
        }
        let mut new = Vec::with_capacity(members.len());
        for m in members {
            let name = self.add_str(m.name)?;
            new.push(Member {
                name,
                ty: m.ty,
                bit_offset: m.bit_offset,
                bitfield_size: m.bitfield_size,
            });
        }
        let members = Items::new(0, u32::from(vlen), u8::from(bitfield_encoding));
        let kind = if union {
            TypeKind::Union {
                size,
                members,
                bitfield_encoding,
            }
        } else {
            TypeKind::Struct {
                size,
                members,
                bitfield_encoding,
            }
        };
        self.push(name, kind, NewItems::Members(&new))
    }

    /// Adds a struct of `size` bytes. If any member is a bitfield, the struct uses the
    /// `kind_flag` encoding (bitfield sizes on the members).
    pub fn add_struct(
        &mut self,
        name: &str,
        size: u32,
        members: &[NewMember<'_>],
    ) -> Result<TypeId> {
        self.add_composite(false, name, size, members)
    }

    /// Adds a union of `size` bytes.
    pub fn add_union(
        &mut self,
        name: &str,
        size: u32,
        members: &[NewMember<'_>],
    ) -> Result<TypeId> {
        self.add_composite(true, name, size, members)
    }

    /// Adds an enum of `size` bytes; values that do not fit in 32 bits make it an `ENUM64`.
    pub fn add_enum(
        &mut self,
        name: &str,
        size: u32,
        signed: bool,
        values: &[(&str, i64)],
    ) -> Result<TypeId> {
        let vlen = u16::try_from(values.len()).map_err(|_| BtfError::TooMany {
            what: "enumerators",
            limit: u16::MAX as u64,
        })?;
        let is64 = values.iter().any(|&(_, v)| {
            if signed {
                i32::try_from(v).is_err()
            } else {
                u32::try_from(v).is_err()
            }
        });
        let mut new = Vec::with_capacity(values.len());
        for &(n, v) in values {
            let name = self.add_str(n)?;
            let bits = if is64 { v as u64 } else { v as u32 as u64 };
            new.push(EnumValue { name, bits });
        }
        let values = Items::new(0, u32::from(vlen), u8::from(is64));
        let kind = if is64 {
            TypeKind::Enum64 {
                size,
                values,
                signed,
            }
        } else {
            TypeKind::Enum {
                size,
                values,
                signed,
            }
        };
        self.push(name, kind, NewItems::Values(&new))
    }

    /// Adds a function prototype.
    pub fn add_func_proto(&mut self, ret: TypeId, params: &[(&str, TypeId)]) -> Result<TypeId> {
        let id = self.n_types();
        self.check_ref(id, ret)?;
        let vlen = u16::try_from(params.len()).map_err(|_| BtfError::TooMany {
            what: "parameters",
            limit: u16::MAX as u64,
        })?;
        for &(_, ty) in params {
            self.check_ref(id, ty)?;
        }
        let mut new = Vec::with_capacity(params.len());
        for &(n, ty) in params {
            let name = self.add_str(n)?;
            new.push(Param { name, ty });
        }
        self.push(
            "",
            TypeKind::FuncProto {
                ret,
                params: Items::new(0, u32::from(vlen), 0),
            },
            NewItems::Params(&new),
        )
    }

    /// Adds a function with prototype `proto`.
    pub fn add_func(&mut self, name: &str, proto: TypeId, linkage: Linkage) -> Result<TypeId> {
        let id = self.n_types();
        match self.kind_of(proto)? {
            TypeKind::FuncProto { .. } => {}
            k => {
                return Err(BtfError::WrongKind {
                    type_id: id,
                    found: k.kind(),
                    expected: "FUNC_PROTO for a FUNC",
                })
            }
        }
        self.add_type(name, TypeKind::Func { proto, linkage })
    }

    /// Adds a variable.
    pub fn add_var(&mut self, name: &str, ty: TypeId, linkage: Linkage) -> Result<TypeId> {
        self.add_type(name, TypeKind::Var { ty, linkage })
    }

    /// Adds a data section of `size` bytes with its variables.
    pub fn add_datasec(&mut self, name: &str, size: u32, vars: &[VarSecinfo]) -> Result<TypeId> {
        let id = self.n_types();
        let vlen = u16::try_from(vars.len()).map_err(|_| BtfError::TooMany {
            what: "section variables",
            limit: u16::MAX as u64,
        })?;
        for v in vars {
            self.check_ref(id, v.ty)?;
        }
        self.push(
            name,
            TypeKind::Datasec {
                size,
                vars: Items::new(0, u32::from(vlen), 0),
            },
            NewItems::Vars(vars),
        )
    }

    /// Sets the size of data section `id` (loaders fill in what the compiler left as 0).
    pub fn set_datasec_size(&mut self, id: TypeId, new_size: u32) -> Result<()> {
        let mut t = self.ty_mut(id)?;
        match &mut t.kind {
            TypeKind::Datasec { size, .. } => {
                *size = new_size;
                Ok(())
            }
            k => Err(BtfError::WrongKind {
                type_id: raw_id(id),
                found: k.kind(),
                expected: "DATASEC",
            }),
        }
    }

    /// Appends variable `var` to data section `id` (of this BTF) and grows the section to
    /// cover it. The section's record is rewritten at the end of the records, so this costs
    /// O(variables of the section).
    pub fn push_datasec_var(&mut self, id: TypeId, var: VarSecinfo) -> Result<()> {
        let local = self.own_index(id)?;
        self.check_ref(raw_id(id), var.ty)?;
        let t = self.decode_local(local);
        let size = match t.kind {
            TypeKind::Datasec { size, .. } => size,
            k => {
                return Err(BtfError::WrongKind {
                    type_id: raw_id(id),
                    found: k.kind(),
                    expected: "DATASEC",
                })
            }
        };
        let mut vars = self.datasec_vars(id).to_vec();
        u16::try_from(vars.len() + 1).map_err(|_| BtfError::TooMany {
            what: "section variables",
            limit: u16::MAX as u64,
        })?;
        vars.push(var);
        let end = var.offset.saturating_add(var.size);
        let new = Type {
            name: t.name,
            kind: TypeKind::Datasec {
                size: size.max(end),
                vars: Items::new(0, vars.len() as u32, 0),
            },
        };
        let rec = self.encode(&new, NewItems::Vars(&vars));
        self.replace_record(local, &rec);
        Ok(())
    }

    /// Type `id` of this BTF (not of its base), to change in place: a guard that writes the
    /// type back when dropped. Its items (members, parameters, ...) are those its [`Items`]
    /// point at; changing a kind to one with items it did not have is not possible, since
    /// [`Items`] cannot be made outside this crate.
    pub fn ty_mut(&mut self, id: TypeId) -> Result<TypeMut<'_>> {
        let local = self.own_index(id)?;
        let ty = self.decode_local(local);
        Ok(TypeMut {
            btf: self,
            local,
            orig: ty,
            ty,
        })
    }

    /// The parameters of function prototype `id` (of this BTF), to rename or retype in place
    /// (a guard that writes them back when dropped).
    pub fn params_mut(&mut self, id: TypeId) -> Result<ItemsMut<'_, Param>> {
        let local = self.own_index(id)?;
        match self.decode_local(local).kind {
            TypeKind::FuncProto { params, .. } => Ok(self.items_mut(local, params)),
            k => Err(BtfError::WrongKind {
                type_id: raw_id(id),
                found: k.kind(),
                expected: "FUNC_PROTO",
            }),
        }
    }

    /// The variables of data section `id`, to fix up offsets in place (a guard that writes
    /// them back when dropped).
    pub fn datasec_vars_mut(&mut self, id: TypeId) -> Result<ItemsMut<'_, VarSecinfo>> {
        let local = self.own_index(id)?;
        match self.decode_local(local).kind {
            TypeKind::Datasec { vars, .. } => Ok(self.items_mut(local, vars)),
            k => Err(BtfError::WrongKind {
                type_id: raw_id(id),
                found: k.kind(),
                expected: "DATASEC",
            }),
        }
    }

    fn items_mut<T: Item + Rewrite + PartialEq>(
        &mut self,
        local: usize,
        items: Items<T>,
    ) -> ItemsMut<'_, T> {
        let values = ItemsView::new(&self.raw, self.endian, items).to_vec();
        ItemsMut {
            btf: self,
            local,
            orig: values.clone(),
            values,
        }
    }

    /// The index among this BTF's own types of one of them (types of a base cannot be
    /// changed through the split BTF on top of it).
    fn own_index(&self, id: TypeId) -> Result<usize> {
        let raw = raw_id(id);
        if raw >= self.start_id && raw < self.n_types() {
            Ok((raw - self.start_id) as usize)
        } else {
            Err(BtfError::TypeIdOutOfRange {
                type_id: 0,
                referenced: raw,
                n_types: self.n_types(),
            })
        }
    }
}

/// A type of a [`Btf`] being changed in place (from [`Btf::ty_mut`]): dereferences to the
/// decoded [`Type`]; when dropped, the type's record is rewritten if the type changed.
pub struct TypeMut<'a> {
    btf: &'a mut Btf,
    local: usize,
    orig: Type,
    ty: Type,
}

impl Deref for TypeMut<'_> {
    type Target = Type;
    fn deref(&self) -> &Type {
        &self.ty
    }
}

impl DerefMut for TypeMut<'_> {
    fn deref_mut(&mut self) -> &mut Type {
        &mut self.ty
    }
}

impl Drop for TypeMut<'_> {
    fn drop(&mut self) {
        // Void (id 0 of a base) has no record and stays void.
        let void = self.local == 0 && self.btf.base.is_none();
        if self.ty != self.orig && !void {
            let rec = self.btf.encode(&self.ty, NewItems::FromKind);
            self.btf.replace_record(self.local, &rec);
        }
    }
}

/// Item kinds whose records [`ItemsMut`] can write back.
#[doc(hidden)]
pub trait Rewrite: Sized {
    /// The record of `t` (whose own items `items` are replaced by `values`).
    fn encode_with(btf: &Btf, t: &Type, values: &[Self]) -> Vec<u8>;
}

impl Rewrite for Param {
    fn encode_with(btf: &Btf, t: &Type, values: &[Param]) -> Vec<u8> {
        btf.encode(t, NewItems::Params(values))
    }
}

impl Rewrite for VarSecinfo {
    fn encode_with(btf: &Btf, t: &Type, values: &[VarSecinfo]) -> Vec<u8> {
        btf.encode(t, NewItems::Vars(values))
    }
}

/// The items of a type of a [`Btf`] being changed in place (from [`Btf::params_mut`] or
/// [`Btf::datasec_vars_mut`]): dereferences to a slice of decoded items; when dropped, the
/// type's record is rewritten if they changed.
pub struct ItemsMut<'a, T: Item + Rewrite + PartialEq> {
    btf: &'a mut Btf,
    local: usize,
    orig: Vec<T>,
    values: Vec<T>,
}

impl<T: Item + Rewrite + PartialEq> Deref for ItemsMut<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.values
    }
}

impl<T: Item + Rewrite + PartialEq> DerefMut for ItemsMut<'_, T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.values
    }
}

impl<T: Item + Rewrite + PartialEq> Drop for ItemsMut<'_, T> {
    fn drop(&mut self) {
        if self.values != self.orig {
            let t = self.btf.decode_local(self.local);
            let rec = T::encode_with(self.btf, &t, &self.values);
            self.btf.replace_record(self.local, &rec);
        }
    }
}
