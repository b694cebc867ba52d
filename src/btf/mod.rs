//! BPF Type Format: a typed-arena model of `.BTF` blobs.
//!
//! A [`Btf`] owns one BTF the way the wire format holds it: its types as their encoded
//! records (in the blob's byte order) with the byte offset of each type's record, indexed by
//! [`TypeId`] (whose raw value is the wire type id), and the string section as the bytes it
//! was read from. Accessors decode on demand: [`Btf::ty`] returns a small [`Type`] value,
//! [`Btf::members`] and friends an [`ItemsView`] over the item records. Additions append
//! encoded records; in-place changes ([`Btf::ty_mut`], [`Btf::params_mut`], ...) go through
//! guards that write the record back when dropped. Split BTF (a kernel module's types over
//! vmlinux) holds its base in an [`Arc`] and continues the base's id and string numbering.
//!
//! Costs: [`Btf::parse`] is one linear pass over the type section that checks every record
//! (kinds, reserved bits, every type id and string offset) and notes its offset, then one
//! copy each of the type and string sections: it holds about 1.1x the blob (the sections
//! plus 4 bytes per type). It does not build a name index; the index behind the name
//! lookups is built on first use. [`Btf::to_bytes`] copies the sections (one copy while no
//! record was rewritten with another length, else one per record) and reproduces an
//! unmodified blob byte for byte.
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
mod items;
mod lookup;
mod marshal;
mod merge;
mod parse;
mod record;
mod strings;
mod types;

use std::sync::{Arc, OnceLock};

pub use build::NewMember;
pub use build::{ItemsMut, TypeMut};
pub use dedup::{dedup, Deduped, WORK_BASE, WORK_PER_ITEM};
pub use display::TypeDisplay;
pub use error::{BtfError, Result};
pub use ids::{StrOffset, WireTypeId};
pub use items::{Item, ItemsIter, ItemsView};
/// [`TypeId`] is `la_arena`'s `Idx<Type>`: these are re-exported so that users need not
/// depend on `la-arena` themselves. A type id from a wire number is best made with
/// [`Btf::type_id`], which checks it; `TypeId::from_raw(RawIdx::from_u32(n))` does not.
pub use la_arena::{Idx, RawIdx};
pub use lookup::{essential_name, MAX_ALIGN_VISITS, MAX_NESTING, MAX_RESOLVE_DEPTH};
pub use merge::Appended;
pub use types::{
    EnumValue, IntEncoding, Items, Kind, Linkage, Member, Param, Type, TypeId, TypeKind, VarSecinfo,
};

use crate::Endian;
use lookup::{NameIndex, NamedHint};
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
    /// Raw id of the first own type: 0 in a base BTF (where it is void), the base's type
    /// count in split BTF.
    start_id: u32,
    /// The own types' encoded records, in `endian` byte order (see `record`).
    raw: Vec<u8>,
    /// Byte offset in `raw` of each own type's record (0 for void), with the parser's
    /// [`record::NAMED_TYPE`] note in bit 0 (read offsets with [`record::record_off`]).
    offsets: Vec<u32>,
    /// True while `raw` holds exactly the records of `offsets`, back to back in id order.
    contiguous: bool,
    strings: StringTable,
    /// The name indexes, each built on first use: of types ([`lookup::TYPES`]) and of
    /// declarations (FUNC, VAR, DATASEC, DECL_TAG: [`lookup::DECLS`]).
    names: [OnceLock<NameIndex>; 2],
    /// How many entries of `offsets` carry the parser's note of which types the type name
    /// index holds (see [`NamedHint`]).
    type_names: NamedHint,
    ptr_size: OnceLock<u32>,
}

impl std::fmt::Debug for Btf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Btf")
            .field("endian", &self.endian)
            .field("split", &self.base.is_some())
            .field("start_id", &self.start_id)
            .field("n_types", &self.offsets.len())
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
            && self.strings == other.strings
            && self.offsets.len() == other.offsets.len()
            && if self.contiguous && other.contiguous {
                self.raw == other.raw
            } else {
                (0..self.offsets.len()).all(|l| self.record_bytes(l) == other.record_bytes(l))
            }
    }
}
impl Eq for Btf {}

impl Btf {
    /// An empty base BTF holding only `void` and the empty string.
    pub fn new(endian: Endian) -> Btf {
        Btf::assemble(
            endian,
            Layout::new(),
            None,
            0,
            (Vec::new(), vec![0]),
            StringTable::new(0),
        )
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
            (Vec::new(), Vec::new()),
            strings,
        )
    }

    fn assemble(
        endian: Endian,
        layout: Layout,
        base: Option<Arc<Btf>>,
        start_id: u32,
        (raw, offsets): (Vec<u8>, Vec<u32>),
        strings: StringTable,
    ) -> Btf {
        Btf {
            endian,
            layout,
            base,
            start_id,
            raw,
            offsets,
            contiguous: true,
            strings,
            names: Default::default(),
            type_names: NamedHint::default(),
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
        self.start_id + self.offsets.len() as u32
    }

    /// The first id this BTF itself holds: 0 (`void`) for a base, the base's
    /// [`n_types`](Self::n_types) for split BTF.
    pub fn first_own_id(&self) -> u32 {
        self.start_id
    }

    /// The ids and types this BTF itself holds (for a base, starting with `void`).
    pub fn own_types(&self) -> impl ExactSizeIterator<Item = (TypeId, Type)> + '_ {
        let start = self.start_id;
        (0..self.offsets.len()).map(move |l| (type_id(start + l as u32), self.decode_local(l)))
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

    /// The BTF (this one or a base) that holds `id`, and `id`'s index among its own types.
    #[inline]
    fn owner(&self, id: TypeId) -> Option<(&Btf, usize)> {
        let mut btf = self;
        loop {
            if raw_id(id) >= btf.start_id {
                let local = (raw_id(id) - btf.start_id) as usize;
                return (local < btf.offsets.len()).then_some((btf, local));
            }
            btf = btf.base.as_deref()?;
        }
    }

    /// The type `id` (decoded from its record), or `None` if no such type exists here.
    #[inline]
    pub fn get(&self, id: TypeId) -> Option<Type> {
        let (btf, local) = self.owner(id)?;
        Some(btf.decode_local(local))
    }

    /// The type `id`.
    ///
    /// # Panics
    ///
    /// If `id` does not belong to this BTF (ids from another BTF are not valid here); use
    /// [`get`](Self::get) or [`type_id`](Self::type_id) for ids from untrusted input.
    pub fn ty(&self, id: TypeId) -> Type {
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
    #[inline]
    pub fn kind_of(&self, id: TypeId) -> Result<TypeKind> {
        self.get(id)
            .map(|t| t.kind)
            .ok_or(BtfError::TypeIdOutOfRange {
                type_id: 0,
                referenced: raw_id(id),
                n_types: self.n_types(),
            })
    }

    /// The items of type `id` that `pick` finds in its kind (empty when there are none).
    fn items_of<T: Item>(
        &self,
        id: TypeId,
        pick: impl FnOnce(TypeKind) -> Option<Items<T>>,
    ) -> ItemsView<'_, T> {
        match self.owner(id) {
            Some((btf, local)) => match pick(btf.decode_local(local).kind) {
                Some(items) => ItemsView::new(&btf.raw, btf.endian, items),
                None => ItemsView::empty(self.endian),
            },
            None => ItemsView::empty(self.endian),
        }
    }

    /// The items `items` of type `id` (taken from `id`'s [`Type`]), without decoding the type
    /// again.
    pub(crate) fn items_at<T: Item>(&self, id: TypeId, items: Items<T>) -> ItemsView<'_, T> {
        match self.owner(id) {
            Some((btf, _)) => ItemsView::new(&btf.raw, btf.endian, items),
            None => ItemsView::empty(self.endian),
        }
    }

    /// The members of struct or union `id` (empty for other kinds).
    pub fn members(&self, id: TypeId) -> ItemsView<'_, Member> {
        self.items_of(id, |k| match k {
            TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => Some(members),
            _ => None,
        })
    }

    /// The parameters of function prototype `id` (empty for other kinds).
    pub fn params(&self, id: TypeId) -> ItemsView<'_, Param> {
        self.items_of(id, |k| match k {
            TypeKind::FuncProto { params, .. } => Some(params),
            _ => None,
        })
    }

    /// The enumerators of enum or enum64 `id` (empty for other kinds).
    pub fn enum_values(&self, id: TypeId) -> ItemsView<'_, EnumValue> {
        self.items_of(id, |k| match k {
            TypeKind::Enum { values, .. } | TypeKind::Enum64 { values, .. } => Some(values),
            _ => None,
        })
    }

    /// The variables of data section `id` (empty for other kinds).
    pub fn datasec_vars(&self, id: TypeId) -> ItemsView<'_, VarSecinfo> {
        self.items_of(id, |k| match k {
            TypeKind::Datasec { vars, .. } => Some(vars),
            _ => None,
        })
    }

    /// The bytes of the string at `off` (in the combined base + split string space), without
    /// a UTF-8 check.
    pub(crate) fn str_bytes(&self, off: StrOffset) -> Option<&[u8]> {
        let mut btf = self;
        while off.0 < btf.strings.base_len() {
            btf = btf.base.as_deref()?;
        }
        btf.strings.get(off)
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

    /// Releases spare capacity (after a series of additions).
    pub fn shrink_to_fit(&mut self) {
        self.raw.shrink_to_fit();
        self.offsets.shrink_to_fit();
    }

    /// Heap bytes held by this BTF's own records, offsets and strings (not the base's, not
    /// the lazily built name index). Used to check the memory goal.
    pub fn heap_size(&self) -> usize {
        self.raw.capacity() + 4 * self.offsets.capacity() + self.strings.bytes().len()
    }
}
