//! `.BTF.ext`: func_info, line_info and CO-RE relocation records per ELF section.
//!
//! A `.BTF.ext` blob is a header followed by up to three subsections (`func_info`,
//! `line_info`, `core_relo`). Each subsection starts with a `u32` record size and then holds
//! groups, one per ELF section: `{ sec_name_off: u32, num_info: u32, records[num_info] }`.
//! Every record's `insn_off` is a *byte* offset into the ELF section that the group names;
//! string fields are offsets into the companion `.BTF` string section and type ids are
//! `.BTF` wire ids. This module keeps those numbers as typed newtypes ([`SecOffset`],
//! [`StrOffset`], [`WireTypeId`]); turning them into model ids is the reader's job.
//!
//! Invariants and costs:
//!
//! * [`BtfExt::parse`] is one linear pass over the blob. Every count read from the blob is
//!   checked against the bytes actually present before anything is allocated, so a hostile
//!   `num_info` cannot make it allocate more than the input's size.
//! * [`BtfExt::to_bytes`] of an unmodified parse reproduces the input byte for byte: the
//!   header length (including bytes past the fields we know), the subsections' order and
//!   offsets, each subsection's record size and the extra bytes of records larger than the
//!   structs we know are all kept. Only the contents of gaps between subsections are not
//!   kept (their lengths are); they are written as zeros. Subsections that overlap in the
//!   input are written one after the other. After edits the subsections stay in their
//!   order and keep their gaps, so a grown or shrunk subsection moves the ones after it.
//! * Records of unknown relocation kinds are rejected; the access strings of CO-RE
//!   relocations are parsed separately by [`CoreAccess`], since their text lives in `.BTF`.

mod core_relo;
mod marshal;
mod parse;
mod records;

use std::fmt;

use crate::btf::{StrOffset, WireTypeId};
use crate::Endian;

pub use self::core_relo::{CoreAccess, CoreReloKind, MAX_ACCESS_COMPONENTS};

/// Magic number at the start of a `.BTF.ext` blob (same as `.BTF`).
pub const BTF_EXT_MAGIC: u16 = 0xeb9f;
/// The only `.BTF.ext` version there is.
pub const BTF_EXT_VERSION: u8 = 1;
/// Length of the header that has no `core_relo` fields.
pub const HEADER_LEN_V1: u32 = 24;
/// Length of the header with the `core_relo` offset and length.
pub const HEADER_LEN_CORE: u32 = 32;
/// Largest record size we accept; the known records are 8 and 16 bytes, so anything beyond
/// this is corruption rather than a newer format.
pub const MAX_REC_SIZE: u32 = 1024;

/// Byte offset of an instruction inside its ELF section, as `.BTF.ext` records hold it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecOffset(pub u32);

impl SecOffset {
    /// Size of one instruction slot in bytes.
    pub const INSN_SIZE: u32 = 8;

    /// The offset of instruction slot `insn_idx`, or `None` if it does not fit in a `u32`.
    pub fn from_insn_idx(insn_idx: u32) -> Option<SecOffset> {
        insn_idx.checked_mul(Self::INSN_SIZE).map(SecOffset)
    }

    /// The instruction slot this offset names, or `None` if it is not a multiple of 8.
    pub fn insn_idx(self) -> Option<u32> {
        self.0
            .is_multiple_of(Self::INSN_SIZE)
            .then_some(self.0 / Self::INSN_SIZE)
    }
}

impl fmt::Display for SecOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sec+{:#x}", self.0)
    }
}

/// One of the three subsections of `.BTF.ext`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subsection {
    /// `func_info`: one record per function.
    FuncInfo,
    /// `line_info`: source positions.
    LineInfo,
    /// `core_relo`: CO-RE relocations.
    CoreRelo,
}

impl fmt::Display for Subsection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Subsection::FuncInfo => "func_info",
            Subsection::LineInfo => "line_info",
            Subsection::CoreRelo => "core_relo",
        })
    }
}

/// `bpf_func_info`: the BTF `FUNC` type of the function starting at `insn_off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FuncInfo {
    /// Byte offset of the function's first instruction in its section.
    pub insn_off: SecOffset,
    /// The function's `FUNC` type.
    pub type_id: WireTypeId,
}

/// `bpf_line_info`: the source position of the instruction at `insn_off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LineInfo {
    /// Byte offset of the instruction in its section.
    pub insn_off: SecOffset,
    /// Source file name.
    pub file_name: StrOffset,
    /// Text of the source line.
    pub line: StrOffset,
    /// Line number: the upper 22 bits of the wire's `line_col`.
    pub line_num: u32,
    /// Column: the lower 10 bits of the wire's `line_col`.
    pub col: u32,
}

impl LineInfo {
    /// Number of bits the column takes in `line_col`.
    pub const COL_BITS: u32 = 10;

    /// The wire's `line_col`: `line_num << 10 | col`. Bits that do not fit are dropped, as
    /// the kernel's `BPF_LINE_INFO_LINE_NUM`/`_LINE_COL` macros would.
    pub fn line_col(&self) -> u32 {
        (self.line_num << Self::COL_BITS) | (self.col & ((1 << Self::COL_BITS) - 1))
    }

    /// Splits a wire `line_col` into `(line_num, col)`.
    pub fn split_line_col(line_col: u32) -> (u32, u32) {
        (
            line_col >> Self::COL_BITS,
            line_col & ((1 << Self::COL_BITS) - 1),
        )
    }
}

/// `bpf_core_relo`: one CO-RE relocation of the instruction at `insn_off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CoreRelo {
    /// Byte offset of the instruction in its section.
    pub insn_off: SecOffset,
    /// The local (program-side) root type of the access.
    pub type_id: WireTypeId,
    /// The access string, e.g. `"0:1:2"`; parse its text with [`CoreAccess::parse`].
    pub access: StrOffset,
    /// What the relocation computes.
    pub kind: CoreReloKind,
}

/// The records of one ELF section within a subsection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfoGroup<R> {
    /// Name of the ELF section the records' offsets point into.
    pub sec_name: StrOffset,
    /// The records, in wire order.
    pub records: Vec<R>,
    /// Bytes each record carries past the struct we know (`rec_size - R::WIRE_SIZE` per
    /// record, concatenated), so that newer records re-marshal unchanged. Empty when the
    /// subsection's `rec_size` is the known size. When it does not match the records (after
    /// an edit), the marshaller pads with zeros or truncates.
    pub extra: Vec<u8>,
}

impl<R> InfoGroup<R> {
    /// A group without extra record bytes.
    pub fn new(sec_name: StrOffset, records: Vec<R>) -> Self {
        InfoGroup {
            sec_name,
            records,
            extra: Vec::new(),
        }
    }
}

/// One subsection: its record size and its per-section groups in wire order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfoSection<R> {
    /// Size of each record on the wire; at least `R::WIRE_SIZE` and a multiple of 4.
    pub rec_size: u32,
    /// Per-ELF-section groups, in wire order. The same section name may appear twice.
    pub groups: Vec<InfoGroup<R>>,
}

impl<R: ExtRecord> Default for InfoSection<R> {
    fn default() -> Self {
        InfoSection {
            rec_size: R::WIRE_SIZE,
            groups: Vec::new(),
        }
    }
}

impl<R> InfoSection<R> {
    /// Every record with the name of the ELF section it belongs to, in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (StrOffset, &R)> + '_ {
        self.groups
            .iter()
            .flat_map(|g| g.records.iter().map(move |r| (g.sec_name, r)))
    }

    /// The records of the ELF section named `sec_name` (all groups of that name, in order).
    pub fn records_for(&self, sec_name: StrOffset) -> impl Iterator<Item = &R> + '_ {
        self.groups
            .iter()
            .filter(move |g| g.sec_name == sec_name)
            .flat_map(|g| g.records.iter())
    }

    /// Total number of records over all groups.
    pub fn n_records(&self) -> usize {
        self.groups.iter().map(|g| g.records.len()).sum()
    }

    /// Whether the subsection holds no records.
    pub fn is_empty(&self) -> bool {
        self.groups.iter().all(|g| g.records.is_empty())
    }
}

/// A record type of one subsection, with its fixed wire form.
pub trait ExtRecord: Sized {
    /// The subsection these records live in.
    const SUBSECTION: Subsection;
    /// Size of the struct the kernel defines; smaller `rec_size`s are errors.
    const WIRE_SIZE: u32;

    /// Decodes one record from `bytes` (exactly `WIRE_SIZE` bytes long). `offset` is the
    /// record's byte offset in the blob and `sec_name` its group, for error context.
    fn decode(
        endian: Endian,
        bytes: &[u8],
        offset: usize,
        sec_name: StrOffset,
    ) -> Result<Self, BtfExtError>;

    /// Appends the record's `WIRE_SIZE` bytes to `out`.
    fn encode(&self, endian: Endian, out: &mut Vec<u8>);
}

/// Where the header and subsections sat in the parsed blob, so that an unmodified parse
/// re-marshals identically. [`WireLayout::default`] is the layout clang and libbpf write:
/// a 32-byte header and subsections back to back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WireLayout {
    /// `hdr_len` as read: 24, 32, or more. `0` means "the smallest header that fits".
    pub hdr_len: u32,
    /// Header bytes past the fields this module knows (past 24 bytes when there is no
    /// `core_relo`, otherwise past 32), kept verbatim.
    pub header_tail: Vec<u8>,
    /// Placement of `func_info`, `line_info`, `core_relo` (in that index order).
    pub subsections: [SubsectionLayout; 3],
    /// Bytes after the last subsection, kept verbatim.
    pub trailing: Vec<u8>,
}

/// Placement of one subsection in the parsed blob.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubsectionLayout {
    /// Offset from the end of the header. Orders the subsections, and is written as-is for
    /// an absent one.
    pub off: u32,
    /// Zero bytes between the end of the previously placed subsection (in offset order) and
    /// this one; 0 when they were back to back or overlapped. Keeping the gap rather than
    /// the offset lets an edited subsection grow or shrink without leaving holes.
    pub gap: u32,
    /// Whether the subsection was present (length non-zero, so at least its `rec_size`).
    /// An absent subsection with no records is written with length 0.
    pub present: bool,
}

/// A parsed `.BTF.ext` blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BtfExt {
    /// Byte order of the blob.
    pub endian: Endian,
    /// One `FUNC` type per function start.
    pub func_info: InfoSection<FuncInfo>,
    /// Source positions.
    pub line_info: InfoSection<LineInfo>,
    /// CO-RE relocations.
    pub core_relo: InfoSection<CoreRelo>,
    /// Placement as read, for byte-identical re-marshaling.
    pub layout: WireLayout,
}

impl BtfExt {
    /// An empty `.BTF.ext` in the given byte order, with the default layout.
    pub fn new(endian: Endian) -> BtfExt {
        BtfExt {
            endian,
            func_info: InfoSection::default(),
            line_info: InfoSection::default(),
            core_relo: InfoSection::default(),
            layout: WireLayout::default(),
        }
    }

    /// Parses a `.BTF.ext` blob in byte order `endian`.
    pub fn parse(bytes: &[u8], endian: Endian) -> Result<BtfExt, BtfExtError> {
        parse::parse(bytes, endian)
    }

    /// Marshals the blob; an unmodified parse comes back byte for byte.
    pub fn to_bytes(&self) -> Vec<u8> {
        marshal::to_bytes(self)
    }

    /// Every func_info record with its section name, in wire order.
    pub fn func_infos(&self) -> impl Iterator<Item = (StrOffset, &FuncInfo)> + '_ {
        self.func_info.iter()
    }

    /// Every line_info record with its section name, in wire order.
    pub fn line_infos(&self) -> impl Iterator<Item = (StrOffset, &LineInfo)> + '_ {
        self.line_info.iter()
    }

    /// Every CO-RE relocation with its section name, in wire order.
    pub fn core_relos(&self) -> impl Iterator<Item = (StrOffset, &CoreRelo)> + '_ {
        self.core_relo.iter()
    }

    /// The names of all ELF sections that have records in any subsection, each once, in
    /// order of first appearance (func_info, then line_info, then core_relo).
    pub fn sec_names(&self) -> Vec<StrOffset> {
        let mut names: Vec<StrOffset> = Vec::new();
        let all = self
            .func_info
            .groups
            .iter()
            .map(|g| g.sec_name)
            .chain(self.line_info.groups.iter().map(|g| g.sec_name))
            .chain(self.core_relo.groups.iter().map(|g| g.sec_name));
        for name in all {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }
}

/// Errors of the `.BTF.ext` codec and of CO-RE access strings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BtfExtError {
    /// The blob is shorter than the part of the header that must be there.
    #[error(".BTF.ext header truncated: {len} bytes, need {need}")]
    TruncatedHeader {
        /// Bytes in the blob.
        len: usize,
        /// Bytes needed.
        need: usize,
    },
    /// The first two bytes are not the BTF magic in either byte order.
    #[error("bad .BTF.ext magic {found:#06x} at offset 0, expected {BTF_EXT_MAGIC:#06x}")]
    BadMagic {
        /// The value read in the requested byte order.
        found: u16,
    },
    /// The magic is byte-swapped: the blob is in the other byte order.
    #[error(".BTF.ext magic at offset 0 is byte-swapped: blob is not {expected:?}-endian")]
    WrongByteOrder {
        /// The byte order that was asked for.
        expected: Endian,
    },
    /// A version other than 1.
    #[error("unsupported .BTF.ext version {version} at offset 2, expected {BTF_EXT_VERSION}")]
    UnsupportedVersion {
        /// The version byte.
        version: u8,
    },
    /// Non-zero flags, which no loader understands.
    #[error("unsupported .BTF.ext flags {flags:#04x} at offset 3, expected 0")]
    UnsupportedFlags {
        /// The flags byte.
        flags: u8,
    },
    /// `hdr_len` smaller than the 24 bytes every header has.
    #[error(".BTF.ext hdr_len {hdr_len} at offset 4 is shorter than {HEADER_LEN_V1}")]
    HeaderTooShort {
        /// The `hdr_len` field.
        hdr_len: u32,
    },
    /// `hdr_len` past the end of the blob.
    #[error(".BTF.ext hdr_len {hdr_len} at offset 4 is past the end of the {len}-byte blob")]
    HeaderPastEnd {
        /// The `hdr_len` field.
        hdr_len: u32,
        /// Bytes in the blob.
        len: usize,
    },
    /// A subsection whose offset is not a multiple of 4.
    #[error(".BTF.ext {subsection} offset {off:#x} (from header end) is not 4-byte aligned")]
    MisalignedSubsection {
        /// Which subsection.
        subsection: Subsection,
        /// Its offset from the end of the header.
        off: u32,
    },
    /// A subsection that ends past the end of the blob.
    #[error(
        ".BTF.ext {subsection} (off {off:#x} len {len:#x} from header end) is past the end of \
         the {data_len}-byte data area"
    )]
    SubsectionPastEnd {
        /// Which subsection.
        subsection: Subsection,
        /// Its offset from the end of the header.
        off: u32,
        /// Its length.
        len: u32,
        /// Bytes after the header.
        data_len: usize,
    },
    /// A subsection that starts inside another one: its records would be bytes of the other.
    #[error(
        ".BTF.ext {subsection} at offset {off:#x} (from header end) overlaps {other}, which \
         ends at {other_end:#x}"
    )]
    OverlappingSubsections {
        /// The subsection that starts inside the other.
        subsection: Subsection,
        /// Its offset from the end of the header.
        off: u32,
        /// The subsection it overlaps.
        other: Subsection,
        /// Where that one ends, from the end of the header.
        other_end: usize,
    },
    /// A non-empty subsection too short to hold its `u32` record size.
    #[error(".BTF.ext {subsection} at offset {offset:#x} has length {len}, too short for its record size")]
    MissingRecordSize {
        /// Which subsection.
        subsection: Subsection,
        /// Byte offset of the subsection in the blob.
        offset: usize,
        /// The subsection's length.
        len: u32,
    },
    /// A record size smaller than the struct the kernel defines.
    #[error(
        ".BTF.ext {subsection} rec_size {rec_size} at offset {offset:#x} is smaller than {min}"
    )]
    RecordSizeTooSmall {
        /// Which subsection.
        subsection: Subsection,
        /// Byte offset of the `rec_size` field in the blob.
        offset: usize,
        /// The record size read.
        rec_size: u32,
        /// The size of the known struct.
        min: u32,
    },
    /// A record size that is not a multiple of 4.
    #[error(
        ".BTF.ext {subsection} rec_size {rec_size} at offset {offset:#x} is not a multiple of 4"
    )]
    RecordSizeUnaligned {
        /// Which subsection.
        subsection: Subsection,
        /// Byte offset of the `rec_size` field in the blob.
        offset: usize,
        /// The record size read.
        rec_size: u32,
    },
    /// A record size too large to be anything but corruption.
    #[error(".BTF.ext {subsection} rec_size {rec_size} at offset {offset:#x} exceeds {max}")]
    RecordSizeAbsurd {
        /// Which subsection.
        subsection: Subsection,
        /// Byte offset of the `rec_size` field in the blob.
        offset: usize,
        /// The record size read.
        rec_size: u32,
        /// The largest accepted size.
        max: u32,
    },
    /// Fewer bytes left in the subsection than a group header (8 bytes) needs.
    #[error(
        ".BTF.ext {subsection} group header at offset {offset:#x} truncated: {left} bytes left \
         in the subsection"
    )]
    TruncatedGroupHeader {
        /// Which subsection.
        subsection: Subsection,
        /// Byte offset of the group header in the blob.
        offset: usize,
        /// Bytes left in the subsection.
        left: usize,
    },
    /// A group whose `num_info` records do not fit in what is left of the subsection.
    #[error(
        ".BTF.ext {subsection} group for section {sec_name} at offset {offset:#x}: {num_info} \
         records of {rec_size} bytes overrun the {left} bytes left in the subsection"
    )]
    RecordsOverrun {
        /// Which subsection.
        subsection: Subsection,
        /// Byte offset of the group header in the blob.
        offset: usize,
        /// The group's section name.
        sec_name: StrOffset,
        /// The `num_info` field.
        num_info: u32,
        /// The subsection's record size.
        rec_size: u32,
        /// Bytes left in the subsection after the group header.
        left: usize,
    },
    /// A record shorter than its struct (only reachable by calling
    /// [`ExtRecord::decode`] directly with a short slice).
    #[error(
        ".BTF.ext {subsection} record at offset {offset:#x} truncated: {len} bytes, need {need}"
    )]
    TruncatedRecord {
        /// Which subsection.
        subsection: Subsection,
        /// Byte offset of the record in the blob.
        offset: usize,
        /// Bytes given.
        len: usize,
        /// Bytes needed.
        need: u32,
    },
    /// A CO-RE relocation with a kind this module does not know.
    #[error(
        "unknown CO-RE relocation kind {kind} at offset {offset:#x} (section {sec_name}), \
         expected 0..=12"
    )]
    UnknownReloKind {
        /// Byte offset of the record in the blob.
        offset: usize,
        /// The group's section name.
        sec_name: StrOffset,
        /// The kind read.
        kind: u32,
    },
    /// An empty CO-RE access string.
    #[error("empty CO-RE access string, expected indices like \"0:1:2\"")]
    AccessEmpty,
    /// A CO-RE access string with something other than a decimal number between colons.
    #[error("bad CO-RE access string {access:?}: component {component} at byte {position} is not a decimal number")]
    AccessNotNumeric {
        /// The whole access string.
        access: String,
        /// Index of the bad component (0-based).
        component: usize,
        /// Byte position of the bad component in the string.
        position: usize,
    },
    /// A CO-RE access string component larger than `u32::MAX`.
    #[error("bad CO-RE access string {access:?}: component {component} at byte {position} overflows u32")]
    AccessOverflow {
        /// The whole access string.
        access: String,
        /// Index of the bad component (0-based).
        component: usize,
        /// Byte position of the bad component in the string.
        position: usize,
    },
    /// A CO-RE access string with more components than libbpf accepts.
    #[error("bad CO-RE access string {access:?}: more than {max} components")]
    AccessTooLong {
        /// The whole access string (cut to its first 200 bytes).
        access: String,
        /// The largest number of components.
        max: usize,
    },
}

#[cfg(test)]
mod tests;
