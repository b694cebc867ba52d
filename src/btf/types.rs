//! The BTF type model: one [`Type`] per BTF type, with the variable-length parts (members,
//! parameters, enumerators, section variables) addressed by [`Items`] ranges.
//!
//! A [`Btf`](super::Btf) keeps its types encoded (the wire records) and hands out these
//! values decoded on access, so they are small `Copy` values, never stored per type. Every
//! field of the wire format that carries information has a home here; fields the format
//! leaves unused are checked to be zero by the reader.

use std::fmt;
use std::marker::PhantomData;

use la_arena::{Idx, RawIdx};

use super::StrOffset;

/// Handle of a type in a [`Btf`](super::Btf).
///
/// Its raw value is the BTF wire type id: `0` is `void` (which the base BTF stores as a
/// [`TypeKind::Void`] type at index 0), and in split BTF the ids continue after the base's
/// last type, so one `TypeId` addresses the combined base + split id space.
pub type TypeId = Idx<Type>;

/// Builds a [`TypeId`] from its raw value (the wire type id). Only readers and writers use
/// this; it does not check that the type exists.
#[inline]
pub(crate) fn type_id(raw: u32) -> TypeId {
    TypeId::from_raw(RawIdx::from_u32(raw))
}

/// The raw value (wire id) of a [`TypeId`].
#[inline]
pub(crate) fn raw_id(id: TypeId) -> u32 {
    id.into_raw().into_u32()
}

/// A contiguous run of items (members, parameters, ...) of one type: where its encoded item
/// records sit in the type section of the [`Btf`](super::Btf) that holds the type, how many
/// there are, and how they were encoded. Read the items with
/// [`Btf::members`](super::Btf::members) and friends (`params`, `enum_values`, `datasec_vars`).
pub struct Items<T> {
    /// Byte offset of the first item record in the owner's encoded type section.
    start: u32,
    len: u32,
    /// The encoding of the records: for members, 1 when their struct has the `kind_flag`
    /// (bitfield sizes in the offset word); for enumerators, 1 for `ENUM64` records.
    form: u8,
    _item: PhantomData<fn() -> T>,
}

impl<T> Items<T> {
    pub(crate) fn new(start: u32, len: u32, form: u8) -> Self {
        Items {
            start,
            len,
            form,
            _item: PhantomData,
        }
    }

    /// The number of items (the wire format's `vlen`).
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when there are no items.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Byte offset of the first item record.
    pub(crate) fn start(&self) -> usize {
        self.start as usize
    }

    /// How the records are encoded (see the field).
    pub(crate) fn form(&self) -> u8 {
        self.form
    }
}

impl<T> Clone for Items<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Items<T> {}
impl<T> PartialEq for Items<T> {
    fn eq(&self, other: &Self) -> bool {
        self.start == other.start && self.len == other.len && self.form == other.form
    }
}
impl<T> Eq for Items<T> {}
impl<T> fmt::Debug for Items<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "items[{}..+{}]", self.start, self.len)
    }
}

/// One BTF type: its name and what kind of type it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Type {
    /// The type's name (`StrOffset::EMPTY` for anonymous types).
    pub name: StrOffset,
    /// The kind and its kind-specific data.
    pub kind: TypeKind,
}

/// The numeric kind of a BTF type, as the wire format numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// `void`, id 0 only.
    Void = 0,
    /// Integer.
    Int = 1,
    /// Pointer.
    Ptr = 2,
    /// Array.
    Array = 3,
    /// Structure.
    Struct = 4,
    /// Union.
    Union = 5,
    /// 32-bit enumeration.
    Enum = 6,
    /// Forward declaration of a struct or union.
    Fwd = 7,
    /// Typedef.
    Typedef = 8,
    /// `volatile` qualifier.
    Volatile = 9,
    /// `const` qualifier.
    Const = 10,
    /// `restrict` qualifier.
    Restrict = 11,
    /// Function (name + prototype).
    Func = 12,
    /// Function prototype.
    FuncProto = 13,
    /// Variable.
    Var = 14,
    /// Data section.
    Datasec = 15,
    /// Floating point.
    Float = 16,
    /// Declaration tag.
    DeclTag = 17,
    /// Type tag.
    TypeTag = 18,
    /// 64-bit enumeration.
    Enum64 = 19,
}

impl Kind {
    /// The kind's name as `bpftool btf dump` prints it (`STRUCT`, `FUNC_PROTO`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Void => "VOID",
            Kind::Int => "INT",
            Kind::Ptr => "PTR",
            Kind::Array => "ARRAY",
            Kind::Struct => "STRUCT",
            Kind::Union => "UNION",
            Kind::Enum => "ENUM",
            Kind::Fwd => "FWD",
            Kind::Typedef => "TYPEDEF",
            Kind::Volatile => "VOLATILE",
            Kind::Const => "CONST",
            Kind::Restrict => "RESTRICT",
            Kind::Func => "FUNC",
            Kind::FuncProto => "FUNC_PROTO",
            Kind::Var => "VAR",
            Kind::Datasec => "DATASEC",
            Kind::Float => "FLOAT",
            Kind::DeclTag => "DECL_TAG",
            Kind::TypeTag => "TYPE_TAG",
            Kind::Enum64 => "ENUM64",
        }
    }

    /// The kind with wire number `n`, if there is one.
    pub fn from_wire(n: u8) -> Option<Kind> {
        Some(match n {
            0 => Kind::Void,
            1 => Kind::Int,
            2 => Kind::Ptr,
            3 => Kind::Array,
            4 => Kind::Struct,
            5 => Kind::Union,
            6 => Kind::Enum,
            7 => Kind::Fwd,
            8 => Kind::Typedef,
            9 => Kind::Volatile,
            10 => Kind::Const,
            11 => Kind::Restrict,
            12 => Kind::Func,
            13 => Kind::FuncProto,
            14 => Kind::Var,
            15 => Kind::Datasec,
            16 => Kind::Float,
            17 => Kind::DeclTag,
            18 => Kind::TypeTag,
            19 => Kind::Enum64,
            _ => return None,
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// Encoding bits of a BTF `INT`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IntEncoding(pub(crate) u8);

impl IntEncoding {
    /// No encoding bits: an unsigned integer.
    pub const UNSIGNED: IntEncoding = IntEncoding(0);
    /// Signed integer.
    pub const SIGNED: IntEncoding = IntEncoding(1);
    /// Character type.
    pub const CHAR: IntEncoding = IntEncoding(2);
    /// Boolean.
    pub const BOOL: IntEncoding = IntEncoding(4);

    /// True for signed integers.
    pub fn is_signed(self) -> bool {
        self.0 & 1 != 0
    }
    /// True for character types.
    pub fn is_char(self) -> bool {
        self.0 & 2 != 0
    }
    /// True for booleans.
    pub fn is_bool(self) -> bool {
        self.0 & 4 != 0
    }
}

impl fmt::Display for IntEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            0 => "(none)",
            1 => "SIGNED",
            2 => "CHAR",
            4 => "BOOL",
            _ => "(invalid)",
        })
    }
}

/// Linkage of a `FUNC` or `VAR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Linkage {
    /// Local to the object (`static`).
    Static,
    /// Global, defined here.
    Global,
    /// Global, defined elsewhere (`extern`).
    Extern,
}

impl Linkage {
    pub(crate) fn from_wire(v: u32) -> Option<Linkage> {
        match v {
            0 => Some(Linkage::Static),
            1 => Some(Linkage::Global),
            2 => Some(Linkage::Extern),
            _ => None,
        }
    }

    pub(crate) fn to_wire(self) -> u32 {
        match self {
            Linkage::Static => 0,
            Linkage::Global => 1,
            Linkage::Extern => 2,
        }
    }
}

impl fmt::Display for Linkage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Linkage::Static => "static",
            Linkage::Global => "global",
            Linkage::Extern => "extern",
        })
    }
}

/// A member of a struct or union.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    /// The member's name (empty for anonymous members).
    pub name: StrOffset,
    /// The member's type.
    pub ty: TypeId,
    /// Offset of the member from the start of its struct, in bits.
    pub bit_offset: u32,
    /// Width of a bitfield in bits, or 0 for a plain member. Always 0 in a struct whose
    /// `bitfield_encoding` is false (there, bitfields are described by the `INT` type).
    pub bitfield_size: u8,
}

/// A parameter of a function prototype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    /// The parameter's name (may be empty).
    pub name: StrOffset,
    /// The parameter's type; `void` for the `...` of a variadic function.
    pub ty: TypeId,
}

/// An enumerator of an `ENUM` or `ENUM64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnumValue {
    /// The enumerator's name.
    pub name: StrOffset,
    /// Its value's bits: for `ENUM`, the 32-bit wire value zero-extended; for `ENUM64` the
    /// full 64 bits. Whether they are signed is a property of the enum
    /// ([`TypeKind::Enum::signed`]).
    pub bits: u64,
}

impl EnumValue {
    /// The value as a signed or unsigned integer, by the enum's signedness and size.
    pub fn value(&self, signed: bool, is64: bool) -> i128 {
        match (signed, is64) {
            (true, false) => self.bits as u32 as i32 as i128,
            (false, false) => self.bits as u32 as i128,
            (true, true) => self.bits as i64 as i128,
            (false, true) => self.bits as i128,
        }
    }
}

/// A variable of a data section (`btf_var_secinfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VarSecinfo {
    /// The `VAR` (or, for `.ksyms`, `FUNC`) type of the variable.
    pub ty: TypeId,
    /// Byte offset of the variable in its section.
    pub offset: u32,
    /// Size of the variable in bytes.
    pub size: u32,
}

/// What kind of type a [`Type`] is, with its kind-specific data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeKind {
    /// `void`: only type id 0 of a base BTF.
    Void,
    /// An integer.
    Int {
        /// Size in bytes.
        size: u32,
        /// Signed, char or bool.
        encoding: IntEncoding,
        /// Bit offset of the value (legacy bitfields).
        offset: u8,
        /// Number of value bits.
        bits: u8,
    },
    /// A pointer to `ty`.
    Ptr(TypeId),
    /// An array of `len` elements of type `elem`, indexed by `index`.
    Array {
        /// Element type.
        elem: TypeId,
        /// Index type.
        index: TypeId,
        /// Number of elements.
        len: u32,
    },
    /// A struct.
    Struct {
        /// Size in bytes.
        size: u32,
        /// Members, in order.
        members: Items<Member>,
        /// The `kind_flag`: members carry `bitfield_size` themselves.
        bitfield_encoding: bool,
    },
    /// A union.
    Union {
        /// Size in bytes.
        size: u32,
        /// Members, in order.
        members: Items<Member>,
        /// The `kind_flag`: members carry `bitfield_size` themselves.
        bitfield_encoding: bool,
    },
    /// A 32-bit enumeration.
    Enum {
        /// Size in bytes (1, 2, 4 or 8).
        size: u32,
        /// Enumerators, in order.
        values: Items<EnumValue>,
        /// The `kind_flag`: values are signed.
        signed: bool,
    },
    /// A 64-bit enumeration.
    Enum64 {
        /// Size in bytes.
        size: u32,
        /// Enumerators, in order.
        values: Items<EnumValue>,
        /// The `kind_flag`: values are signed.
        signed: bool,
    },
    /// A forward declaration.
    Fwd {
        /// True for `union`, false for `struct`.
        union: bool,
    },
    /// A typedef of `ty`.
    Typedef(TypeId),
    /// `volatile ty`.
    Volatile(TypeId),
    /// `const ty`.
    Const(TypeId),
    /// `restrict ty`.
    Restrict(TypeId),
    /// A function.
    Func {
        /// Its `FUNC_PROTO`.
        proto: TypeId,
        /// Static, global or extern.
        linkage: Linkage,
    },
    /// A function prototype.
    FuncProto {
        /// Return type (`void` for none).
        ret: TypeId,
        /// Parameters, in order.
        params: Items<Param>,
    },
    /// A variable.
    Var {
        /// The variable's type.
        ty: TypeId,
        /// Static, global or extern.
        linkage: Linkage,
    },
    /// A data section and its variables.
    Datasec {
        /// Size of the section in bytes.
        size: u32,
        /// Variables, in order.
        vars: Items<VarSecinfo>,
    },
    /// A floating-point type.
    Float {
        /// Size in bytes.
        size: u32,
    },
    /// A declaration tag on `ty` (or on its `component_idx`-th member/parameter).
    DeclTag {
        /// The tagged type.
        ty: TypeId,
        /// `-1` for the type itself, else the member or parameter index.
        component_idx: i32,
        /// The `kind_flag`: the tag is an `__attribute__` rather than `btf_decl_tag`.
        attribute: bool,
    },
    /// A type tag on `ty`.
    TypeTag {
        /// The tagged type.
        ty: TypeId,
        /// The `kind_flag`: the tag is an `__attribute__` rather than `btf_type_tag`.
        attribute: bool,
    },
}

impl TypeKind {
    /// The numeric kind.
    pub fn kind(&self) -> Kind {
        match self {
            TypeKind::Void => Kind::Void,
            TypeKind::Int { .. } => Kind::Int,
            TypeKind::Ptr(_) => Kind::Ptr,
            TypeKind::Array { .. } => Kind::Array,
            TypeKind::Struct { .. } => Kind::Struct,
            TypeKind::Union { .. } => Kind::Union,
            TypeKind::Enum { .. } => Kind::Enum,
            TypeKind::Enum64 { .. } => Kind::Enum64,
            TypeKind::Fwd { .. } => Kind::Fwd,
            TypeKind::Typedef(_) => Kind::Typedef,
            TypeKind::Volatile(_) => Kind::Volatile,
            TypeKind::Const(_) => Kind::Const,
            TypeKind::Restrict(_) => Kind::Restrict,
            TypeKind::Func { .. } => Kind::Func,
            TypeKind::FuncProto { .. } => Kind::FuncProto,
            TypeKind::Var { .. } => Kind::Var,
            TypeKind::Datasec { .. } => Kind::Datasec,
            TypeKind::Float { .. } => Kind::Float,
            TypeKind::DeclTag { .. } => Kind::DeclTag,
            TypeKind::TypeTag { .. } => Kind::TypeTag,
        }
    }

    /// The single type this kind refers to, for kinds that refer to exactly one
    /// (pointers, qualifiers, typedefs, type tags, funcs, vars, decl tags, arrays' elements).
    pub fn referenced(&self) -> Option<TypeId> {
        match *self {
            TypeKind::Ptr(t)
            | TypeKind::Typedef(t)
            | TypeKind::Volatile(t)
            | TypeKind::Const(t)
            | TypeKind::Restrict(t)
            | TypeKind::TypeTag { ty: t, .. }
            | TypeKind::DeclTag { ty: t, .. }
            | TypeKind::Var { ty: t, .. } => Some(t),
            TypeKind::Func { proto, .. } => Some(proto),
            TypeKind::Array { elem, .. } => Some(elem),
            _ => None,
        }
    }

    /// True for typedefs, qualifiers and type tags: the kinds a loader looks through to
    /// reach the underlying type.
    pub fn is_modifier(&self) -> bool {
        matches!(
            self,
            TypeKind::Typedef(_)
                | TypeKind::Volatile(_)
                | TypeKind::Const(_)
                | TypeKind::Restrict(_)
                | TypeKind::TypeTag { .. }
        )
    }

    /// True for struct and union.
    pub fn is_composite(&self) -> bool {
        matches!(self, TypeKind::Struct { .. } | TypeKind::Union { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_values_stay_small() {
        // Decoded on every access and returned by value.
        assert!(std::mem::size_of::<Type>() <= 24);
        assert!(std::mem::size_of::<Member>() <= 16);
        assert_eq!(std::mem::size_of::<Param>(), 8);
        assert_eq!(std::mem::size_of::<VarSecinfo>(), 12);
    }

    #[test]
    fn kinds_round_trip_their_wire_numbers() {
        for n in 0..=19u8 {
            let k = Kind::from_wire(n).unwrap();
            assert_eq!(k as u8, n);
        }
        assert_eq!(Kind::from_wire(20), None);
        assert_eq!(Kind::FuncProto.to_string(), "FUNC_PROTO");
    }

    #[test]
    fn enum_values_by_signedness() {
        let v = EnumValue {
            name: StrOffset(0),
            bits: 0xffff_ffff,
        };
        assert_eq!(v.value(true, false), -1);
        assert_eq!(v.value(false, false), 0xffff_ffff);
        let v = EnumValue {
            name: StrOffset(0),
            bits: u64::MAX,
        };
        assert_eq!(v.value(true, true), -1);
        assert_eq!(v.value(false, true), u64::MAX as i128);
    }
}
