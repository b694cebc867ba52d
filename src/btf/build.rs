//! Adding strings and types to a [`Btf`].
//!
//! New types are appended (ids grow; existing ids never change), new strings are appended
//! unless an equal string exists. Every referenced type id is checked to exist, so a built
//! BTF marshals to a blob whose references are all valid. Each addition invalidates the name
//! index, which is rebuilt on the next lookup.

use super::error::{BtfError, Result};
use super::types::{raw_id, type_id, Items};
use super::{
    Btf, EnumValue, IntEncoding, Kind, Linkage, Member, Param, StrOffset, Type, TypeId, TypeKind,
    VarSecinfo,
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

    fn push(&mut self, name: &str, kind: TypeKind) -> Result<TypeId> {
        let id = self.n_types();
        if id == u32::MAX {
            return Err(BtfError::TooMany {
                what: "types",
                limit: u32::MAX as u64,
            });
        }
        let name = self.add_str(name)?;
        self.types.alloc(Type { name, kind });
        self.names.take();
        self.ptr_size.take();
        Ok(type_id(id))
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
        self.push(name, kind)
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
        let start = self.members.len() as u32;
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
        for m in members {
            let name = self.add_str(m.name)?;
            self.members.alloc(Member {
                name,
                ty: m.ty,
                bit_offset: m.bit_offset,
                bitfield_size: m.bitfield_size,
            });
        }
        let members = Items::new(start, u32::from(vlen));
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
        self.push(name, kind)
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
        let start = self.enum_values.len() as u32;
        for &(n, v) in values {
            let name = self.add_str(n)?;
            let bits = if is64 { v as u64 } else { v as u32 as u64 };
            self.enum_values.alloc(EnumValue { name, bits });
        }
        let values = Items::new(start, u32::from(vlen));
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
        self.push(name, kind)
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
        let start = self.params.len() as u32;
        for &(n, ty) in params {
            let name = self.add_str(n)?;
            self.params.alloc(Param { name, ty });
        }
        self.push(
            "",
            TypeKind::FuncProto {
                ret,
                params: Items::new(start, u32::from(vlen)),
            },
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
        let start = self.vars.len() as u32;
        for v in vars {
            self.vars.alloc(*v);
        }
        self.push(
            name,
            TypeKind::Datasec {
                size,
                vars: Items::new(start, u32::from(vlen)),
            },
        )
    }

    /// Sets the size of data section `id` (loaders fill in what the compiler left as 0).
    pub fn set_datasec_size(&mut self, id: TypeId, new_size: u32) -> Result<()> {
        let local = self.own_index(id)?;
        match &mut self.types[local].kind {
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
    /// cover it. The section's variables are copied to the end of the variable arena (items
    /// of a type are contiguous), so this costs O(variables of the section).
    pub fn push_datasec_var(&mut self, id: TypeId, var: VarSecinfo) -> Result<()> {
        let local = self.own_index(id)?;
        self.check_ref(raw_id(id), var.ty)?;
        let (size, vars) = match self.types[local].kind {
            TypeKind::Datasec { size, vars } => (size, vars),
            k => {
                return Err(BtfError::WrongKind {
                    type_id: raw_id(id),
                    found: k.kind(),
                    expected: "DATASEC",
                })
            }
        };
        let vlen = u16::try_from(vars.len() + 1).map_err(|_| BtfError::TooMany {
            what: "section variables",
            limit: u16::MAX as u64,
        })?;
        let old: Vec<VarSecinfo> = self.vars.as_mut()[vars.range()].to_vec();
        let start = self.vars.len() as u32;
        for v in old.into_iter().chain([var]) {
            self.vars.alloc(v);
        }
        let end = var.offset.saturating_add(var.size);
        self.types[local].kind = TypeKind::Datasec {
            size: size.max(end),
            vars: Items::new(start, u32::from(vlen)),
        };
        self.names.take();
        Ok(())
    }

    /// Type `id` of this BTF (not of its base), to change in place. Its items (members,
    /// parameters, ...) stay where they are; changing a kind to one with items it did not
    /// have is not possible, since [`Items`] cannot be made outside this crate.
    pub fn ty_mut(&mut self, id: TypeId) -> Result<&mut Type> {
        let local = self.own_index(id)?;
        self.names.take();
        Ok(&mut self.types[local])
    }

    /// The parameters of function prototype `id` (of this BTF), to rename or retype in place.
    pub fn params_mut(&mut self, id: TypeId) -> Result<&mut [crate::btf::Param]> {
        let local = self.own_index(id)?;
        match self.types[local].kind {
            TypeKind::FuncProto { params, .. } => Ok(&mut self.params.as_mut()[params.range()]),
            k => Err(BtfError::WrongKind {
                type_id: raw_id(id),
                found: k.kind(),
                expected: "FUNC_PROTO",
            }),
        }
    }

    /// The variables of data section `id`, to fix up offsets in place.
    pub fn datasec_vars_mut(&mut self, id: TypeId) -> Result<&mut [VarSecinfo]> {
        let local = self.own_index(id)?;
        match self.types[local].kind {
            TypeKind::Datasec { vars, .. } => Ok(&mut self.vars.as_mut()[vars.range()]),
            k => Err(BtfError::WrongKind {
                type_id: raw_id(id),
                found: k.kind(),
                expected: "DATASEC",
            }),
        }
    }

    /// The arena index of one of this BTF's own types (types of a base cannot be changed
    /// through the split BTF on top of it).
    fn own_index(&self, id: TypeId) -> Result<TypeId> {
        let raw = raw_id(id);
        if raw >= self.start_id && raw < self.n_types() {
            Ok(type_id(raw - self.start_id))
        } else {
            Err(BtfError::TypeIdOutOfRange {
                type_id: 0,
                referenced: raw,
                n_types: self.n_types(),
            })
        }
    }
}
