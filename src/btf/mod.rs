//! BPF Type Format: a typed-arena model of `.BTF` blobs.
//!
//! A [`Btf`] owns one BTF: its types in an [`Arena`] addressed by [`TypeId`] (whose raw value
//! is the wire type id), the variable-length parts of types (members, parameters,
//! enumerators, section variables) in flat arenas addressed by ranges, and the string
//! section as the bytes it was read from. Split BTF (a kernel module's types over vmlinux)
//! holds its base in an [`Arc`] and continues the base's id and string numbering.
//!
//! Costs: [`Btf::parse`] makes two linear passes over the type section (count, then decode
//! into arenas allocated once at their exact size) and one copy of the string section; it
//! does not build a name index. The index behind the name lookups is built on first use.
//! [`Btf::to_bytes`] is one linear pass and reproduces an unmodified blob byte for byte.
//!
//! ```
//! use bpfir::btf::{Btf, IntEncoding, NewMember};
//! use bpfir::Endian;
//!
//! let mut btf = Btf::new(Endian::Little);
//! let int = btf.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
//! let point = btf
//!     .add_struct("point", 8, &[NewMember::new("x", int, 0), NewMember::new("y", int, 32)])
//!     .unwrap();
//! let bytes = btf.to_bytes();
//! let again = Btf::parse(&bytes).unwrap();
//! assert_eq!(again.types_by_name("point").collect::<Vec<_>>(), vec![point]);
//! assert_eq!(again.size_of(point).unwrap(), 8);
//! assert_eq!(again.to_bytes(), bytes);
//! ```

mod build;
mod copy;
mod dedup;
mod display;
mod error;
mod ids;
mod lookup;
mod marshal;
mod merge;
mod parse;
mod strings;
mod types;

use std::sync::{Arc, OnceLock};

use la_arena::Arena;

pub use build::NewMember;
pub use dedup::{dedup, Deduped, WORK_BASE, WORK_PER_ITEM};
pub use display::TypeDisplay;
pub use error::{BtfError, Result};
pub use ids::{StrOffset, WireTypeId};
pub use lookup::{essential_name, MAX_ALIGN_VISITS, MAX_NESTING, MAX_RESOLVE_DEPTH};
pub use merge::Appended;
pub use types::{
    EnumValue, IntEncoding, Items, Kind, Linkage, Member, Param, Type, TypeId, TypeKind, VarSecinfo,
};

use crate::Endian;
use lookup::NameIndex;
use strings::StringTable;
use types::{raw_id, type_id};

/// Size of the header this crate writes for new BTF, and the smallest one it reads.
pub const HEADER_LEN: u32 = 24;
/// Size of the header of newer kernels' BTF, which adds the kind layout section.
pub const KIND_LAYOUT_HEADER_LEN: u32 = 32;
/// The BTF magic number.
pub const MAGIC: u16 = 0xeb9f;

/// The sections of a BTF blob after its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SectionKind {
    Types,
    Strings,
    /// The kind layout section (32-byte headers of newer kernels: the size of each kind's
    /// record and items, so that old parsers can skip kinds they do not know). Kept as bytes.
    KindLayout,
}

/// How the blob was laid out, kept so that an unmodified BTF re-marshals byte for byte.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Layout {
    flags: u8,
    hdr_len: u32,
    /// The sections in the order they appear in the blob.
    order: Vec<SectionKind>,
    /// The kind layout section's bytes (empty when absent).
    kind_layout: Vec<u8>,
    /// `layout_off` of a 32-byte header whose kind layout section is empty, written back as
    /// it was.
    empty_kind_layout_off: u32,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            flags: 0,
            hdr_len: HEADER_LEN,
            order: vec![SectionKind::Types, SectionKind::Strings],
            kind_layout: Vec::new(),
            empty_kind_layout_off: 0,
        }
    }
}

/// One BTF: types, their items and strings. See the [module documentation](self).
#[derive(Clone)]
pub struct Btf {
    endian: Endian,
    layout: Layout,
    base: Option<Arc<Btf>>,
    /// Raw id of `types[0]`: 0 in a base BTF (where `types[0]` is void), the base's type
    /// count in split BTF.
    start_id: u32,
    types: Arena<Type>,
    members: Arena<Member>,
    params: Arena<Param>,
    enum_values: Arena<EnumValue>,
    vars: Arena<VarSecinfo>,
    strings: StringTable,
    names: OnceLock<NameIndex>,
    ptr_size: OnceLock<u32>,
}

impl std::fmt::Debug for Btf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Btf")
            .field("endian", &self.endian)
            .field("split", &self.base.is_some())
            .field("start_id", &self.start_id)
            .field("n_types", &self.types.len())
            .field("strings", &self.strings)
            .finish()
    }
}

impl PartialEq for Btf {
    /// Two BTFs are equal when they would marshal to the same bytes over equal bases.
    fn eq(&self, other: &Self) -> bool {
        self.endian == other.endian
            && self.layout == other.layout
            && self.start_id == other.start_id
            && self.base == other.base
            && self.types == other.types
            && self.members == other.members
            && self.params == other.params
            && self.enum_values == other.enum_values
            && self.vars == other.vars
            && self.strings == other.strings
    }
}
impl Eq for Btf {}

impl Btf {
    /// An empty base BTF holding only `void` and the empty string.
    pub fn new(endian: Endian) -> Btf {
        let mut types = Arena::new();
        types.alloc(Type {
            name: StrOffset::EMPTY,
            kind: TypeKind::Void,
        });
        Btf::assemble(endian, Layout::new(), None, 0, types, StringTable::new(0))
    }

    /// An empty split BTF on top of `base`: new types get ids after the base's last one.
    pub fn new_split(base: Arc<Btf>) -> Btf {
        let start_id = base.n_types();
        let strings = StringTable::new(base.strings.end());
        Btf::assemble(
            base.endian,
            Layout::new(),
            Some(base),
            start_id,
            Arena::new(),
            strings,
        )
    }

    fn assemble(
        endian: Endian,
        layout: Layout,
        base: Option<Arc<Btf>>,
        start_id: u32,
        types: Arena<Type>,
        strings: StringTable,
    ) -> Btf {
        Btf {
            endian,
            layout,
            base,
            start_id,
            types,
            members: Arena::new(),
            params: Arena::new(),
            enum_values: Arena::new(),
            vars: Arena::new(),
            strings,
            names: OnceLock::new(),
            ptr_size: OnceLock::new(),
        }
    }

    /// Parses a base BTF blob (the `.BTF` section of an object, or a raw file such as
    /// `/sys/kernel/btf/vmlinux`). The byte order is taken from the magic number.
    pub fn parse(bytes: &[u8]) -> Result<Btf> {
        parse::parse(bytes, None)
    }

    /// Parses split BTF (e.g. `/sys/kernel/btf/<module>`) on top of `base`.
    pub fn parse_split(bytes: &[u8], base: Arc<Btf>) -> Result<Btf> {
        parse::parse(bytes, Some(base))
    }

    /// Marshals this BTF (for split BTF: only its own part) back to a blob in its byte
    /// order. An unmodified parse gives back the bytes it was parsed from.
    pub fn to_bytes(&self) -> Vec<u8> {
        marshal::marshal(self)
    }

    /// The byte order of the blob this BTF came from (or will be written in).
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// The base of a split BTF.
    pub fn base(&self) -> Option<&Arc<Btf>> {
        self.base.as_ref()
    }

    /// The number of type ids, counting `void` and, for split BTF, the base's types. Valid
    /// ids are `0..n_types()`.
    pub fn n_types(&self) -> u32 {
        self.start_id + self.types.len() as u32
    }

    /// The first id this BTF itself holds: 0 (`void`) for a base, the base's
    /// [`n_types`](Self::n_types) for split BTF.
    pub fn first_own_id(&self) -> u32 {
        self.start_id
    }

    /// The ids and types this BTF itself holds (for a base, starting with `void`).
    pub fn own_types(&self) -> impl ExactSizeIterator<Item = (TypeId, &Type)> + '_ {
        let start = self.start_id;
        self.types
            .values()
            .enumerate()
            .map(move |(i, t)| (type_id(start + i as u32), t))
    }

    /// Converts a wire type id (from `.BTF.ext`, a relocation, a kernel record) into a
    /// [`TypeId`] of this BTF, checking that it exists.
    pub fn type_id(&self, wire: WireTypeId) -> Result<TypeId> {
        if wire.0 < self.n_types() {
            Ok(type_id(wire.0))
        } else {
            Err(BtfError::TypeIdOutOfRange {
                type_id: 0,
                referenced: wire.0,
                n_types: self.n_types(),
            })
        }
    }

    /// The wire id of a type.
    pub fn wire_id(&self, id: TypeId) -> WireTypeId {
        WireTypeId(raw_id(id))
    }

    /// The BTF (this one or a base) that holds `id`.
    fn owner(&self, id: TypeId) -> Option<&Btf> {
        let mut btf = self;
        loop {
            if raw_id(id) >= btf.start_id {
                return (raw_id(id) < btf.n_types()).then_some(btf);
            }
            btf = btf.base.as_deref()?;
        }
    }

    /// The type `id`, or `None` if no such type exists here.
    pub fn get(&self, id: TypeId) -> Option<&Type> {
        let btf = self.owner(id)?;
        Some(&btf.types[type_id(raw_id(id) - btf.start_id)])
    }

    /// The type `id`.
    ///
    /// # Panics
    ///
    /// If `id` does not belong to this BTF (ids from another BTF are not valid here); use
    /// [`get`](Self::get) or [`type_id`](Self::type_id) for ids from untrusted input.
    pub fn ty(&self, id: TypeId) -> &Type {
        match self.get(id) {
            Some(t) => t,
            None => panic!(
                "type id {} is not in this btf of {} types",
                raw_id(id),
                self.n_types()
            ),
        }
    }

    /// The kind of type `id`, or an error naming the id if it does not exist.
    pub fn kind_of(&self, id: TypeId) -> Result<&TypeKind> {
        self.get(id)
            .map(|t| &t.kind)
            .ok_or(BtfError::TypeIdOutOfRange {
                type_id: 0,
                referenced: raw_id(id),
                n_types: self.n_types(),
            })
    }

    /// The members of struct or union `id` (empty for other kinds).
    pub fn members(&self, id: TypeId) -> &[Member] {
        match self.owner(id) {
            Some(btf) => match btf.types[type_id(raw_id(id) - btf.start_id)].kind {
                TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
                    &btf.members[members.idx_range()]
                }
                _ => &[],
            },
            None => &[],
        }
    }

    /// The parameters of function prototype `id` (empty for other kinds).
    pub fn params(&self, id: TypeId) -> &[Param] {
        match self.owner(id) {
            Some(btf) => match btf.types[type_id(raw_id(id) - btf.start_id)].kind {
                TypeKind::FuncProto { params, .. } => &btf.params[params.idx_range()],
                _ => &[],
            },
            None => &[],
        }
    }

    /// The enumerators of enum or enum64 `id` (empty for other kinds).
    pub fn enum_values(&self, id: TypeId) -> &[EnumValue] {
        match self.owner(id) {
            Some(btf) => match btf.types[type_id(raw_id(id) - btf.start_id)].kind {
                TypeKind::Enum { values, .. } | TypeKind::Enum64 { values, .. } => {
                    &btf.enum_values[values.idx_range()]
                }
                _ => &[],
            },
            None => &[],
        }
    }

    /// The variables of data section `id` (empty for other kinds).
    pub fn datasec_vars(&self, id: TypeId) -> &[VarSecinfo] {
        match self.owner(id) {
            Some(btf) => match btf.types[type_id(raw_id(id) - btf.start_id)].kind {
                TypeKind::Datasec { vars, .. } => &btf.vars[vars.idx_range()],
                _ => &[],
            },
            None => &[],
        }
    }

    /// The string at offset `off` (in the combined base + split string space).
    pub fn str(&self, off: StrOffset) -> Result<&str> {
        let mut btf = self;
        while off.0 < btf.strings.base_len() {
            match btf.base.as_deref() {
                Some(base) => btf = base,
                None => break,
            }
        }
        let bytes = btf.strings.get(off).ok_or(BtfError::StrOffsetOutOfRange {
            type_id: 0,
            str_offset: off.0,
            str_len: self.strings.end(),
        })?;
        std::str::from_utf8(bytes).map_err(|_| BtfError::InvalidUtf8 { str_offset: off.0 })
    }

    /// The name of type `id` (empty for anonymous types).
    pub fn name(&self, id: TypeId) -> Result<&str> {
        let t = self.get(id).ok_or(BtfError::TypeIdOutOfRange {
            type_id: 0,
            referenced: raw_id(id),
            n_types: self.n_types(),
        })?;
        self.str(t.name)
    }

    /// The kind layout section of a blob with a 32-byte header (one 4-byte record per kind:
    /// record size, item size, flags), if it had one.
    pub fn kind_layout(&self) -> Option<&[u8]> {
        (!self.layout.kind_layout.is_empty()).then_some(&self.layout.kind_layout[..])
    }

    /// Number of bytes of the string section(s), base included.
    pub fn str_len(&self) -> u32 {
        self.strings.end()
    }

    /// Releases spare capacity of every arena (after a series of additions).
    pub fn shrink_to_fit(&mut self) {
        self.types.shrink_to_fit();
        self.members.shrink_to_fit();
        self.params.shrink_to_fit();
        self.enum_values.shrink_to_fit();
        self.vars.shrink_to_fit();
    }

    /// Heap bytes held by this BTF's own arenas and strings (not the base's, not the lazily
    /// built name index). Used to check the memory goal.
    pub fn heap_size(&self) -> usize {
        use std::mem::size_of;
        self.types.len() * size_of::<Type>()
            + self.members.len() * size_of::<Member>()
            + self.params.len() * size_of::<Param>()
            + self.enum_values.len() * size_of::<EnumValue>()
            + self.vars.len() * size_of::<VarSecinfo>()
            + self.strings.bytes().len()
    }
}
