//! Errors of the BTF layer. Every variant says where: the byte offset in the blob, the
//! type id, or both.

use super::Kind;

/// An error reading, querying or building BTF.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BtfError {
    /// The blob ends before a structure that must be there.
    #[error("btf truncated: {what} at byte offset {offset} needs {need} bytes, {have} left")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Byte offset in the blob (or in the type section, for type records).
        offset: usize,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The blob does not start with the BTF magic in either byte order.
    #[error("not btf: magic {found:#06x} at byte offset 0, expected 0xeb9f")]
    BadMagic {
        /// The first two bytes, read little-endian.
        found: u16,
    },
    /// A version other than 1.
    #[error("unsupported btf version {version} (only 1 is defined)")]
    UnsupportedVersion {
        /// The header's version byte.
        version: u8,
    },
    /// The header is inconsistent.
    #[error("bad btf header: {reason}")]
    BadHeader {
        /// What is wrong.
        reason: String,
    },
    /// The string section is malformed.
    #[error("bad btf string section: {reason}")]
    BadStrings {
        /// What is wrong.
        reason: &'static str,
    },
    /// A type record has a kind number that BTF does not define.
    #[error("type [{type_id}] at type-section offset {offset}: unknown kind {kind}")]
    UnknownKind {
        /// Wire id of the type.
        type_id: u32,
        /// Offset of the record in the type section.
        offset: usize,
        /// The kind number found.
        kind: u8,
    },
    /// A field the format requires to be zero (or to have few values) is not.
    #[error("type [{type_id}] {kind} at type-section offset {offset}: {field} has invalid value {value:#x}")]
    InvalidField {
        /// Wire id of the type.
        type_id: u32,
        /// Its kind.
        kind: Kind,
        /// Offset of the record in the type section.
        offset: usize,
        /// Which field.
        field: &'static str,
        /// The value found.
        value: u32,
    },
    /// A type refers to a type id past the last type.
    #[error("type [{type_id}] refers to type [{referenced}], but there are only {n_types} types")]
    TypeIdOutOfRange {
        /// Wire id of the referring type (0 when the reference does not come from a type).
        type_id: u32,
        /// The id it refers to.
        referenced: u32,
        /// Number of type ids (including void).
        n_types: u32,
    },
    /// A string offset points past the string section.
    #[error("type [{type_id}]: string offset {str_offset} is outside the string section of {str_len} bytes")]
    StrOffsetOutOfRange {
        /// Wire id of the type holding the offset (0 when not from a type).
        type_id: u32,
        /// The offset.
        str_offset: u32,
        /// Size of the (combined base + split) string section.
        str_len: u32,
    },
    /// A string is not valid UTF-8.
    #[error("string at offset {str_offset} is not valid utf-8")]
    InvalidUtf8 {
        /// Offset of the string.
        str_offset: u32,
    },
    /// Following references from a type loops or nests deeper than any C type does.
    #[error("type [{type_id}]: reference cycle or chain deeper than {limit} types")]
    ReferenceCycle {
        /// The type the walk started from.
        type_id: u32,
        /// The depth limit.
        limit: u32,
    },
    /// The operation needs a type of another kind.
    #[error("type [{type_id}] is {found}, expected {expected}")]
    WrongKind {
        /// Wire id of the type.
        type_id: u32,
        /// Its kind.
        found: Kind,
        /// What was expected.
        expected: &'static str,
    },
    /// An array's size or a sum of sizes does not fit in 32 bits.
    #[error("type [{type_id}]: size overflows u32")]
    SizeOverflow {
        /// Wire id of the type.
        type_id: u32,
    },
    /// More types, items or string bytes than the 32-bit wire format can number.
    #[error("too many {what} for btf ({limit} at most)")]
    TooMany {
        /// Types, members, string bytes, ...
        what: &'static str,
        /// The limit.
        limit: u64,
    },
}

/// Result alias of the BTF layer.
pub type Result<T, E = BtfError> = std::result::Result<T, E>;
