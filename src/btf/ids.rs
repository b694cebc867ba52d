//! File-level numbers of BTF: string offsets and wire type ids.
//!
//! These are the numbers as they stand in `.BTF`, `.BTF.ext` and kernel records. They are
//! kept apart from model handles ([`TypeId`](super::TypeId)) so that one cannot be passed
//! for the other; conversion happens in the readers and writers, which check the range.

use std::fmt;

/// Byte offset of a NUL-terminated string in a BTF string section.
///
/// In split BTF the offsets continue past the end of the base's string section, so an
/// offset names one string in the combined base + split table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StrOffset(pub u32);

impl StrOffset {
    /// The empty string, which every BTF string section starts with.
    pub const EMPTY: StrOffset = StrOffset(0);
}

impl fmt::Display for StrOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "str+{:#x}", self.0)
    }
}

/// A BTF type id as it stands on the wire: `0` is `void`, the first type is `1`, and in
/// split BTF the numbering continues after the base's last type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WireTypeId(pub u32);

impl WireTypeId {
    /// The `void` type.
    pub const VOID: WireTypeId = WireTypeId(0);
}

impl fmt::Display for WireTypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.0)
    }
}
