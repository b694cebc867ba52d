//! The BTF string section: NUL-terminated strings addressed by byte offset.
//!
//! The section is kept as the bytes it was read from, so unmodified BTF re-marshals
//! byte-identically and lookups are a slice and a scan for NUL. Adding a string appends it
//! unless an equal one exists; the index that finds equal strings is built on the first
//! addition (a parse that never adds strings never pays for it).
//!
//! In split BTF, offsets below `base_len` belong to the base's table; this table holds the
//! split part, whose first byte has offset `base_len`.

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

use super::error::{BtfError, Result};
use super::StrOffset;

/// The most string bytes a BTF can have: offsets are `u32`.
const MAX_STR_BYTES: u64 = u32::MAX as u64;

#[derive(Clone, Default)]
pub(crate) struct StringTable {
    bytes: Vec<u8>,
    base_len: u32,
    /// Absolute offsets of this table's strings, keyed by their bytes; `None` until the first
    /// [`StringTable::add`].
    index: Option<HashTable<u32>>,
    hasher: DefaultHashBuilder,
}

impl std::fmt::Debug for StringTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StringTable")
            .field("len", &self.bytes.len())
            .field("base_len", &self.base_len)
            .finish()
    }
}

impl PartialEq for StringTable {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes && self.base_len == other.base_len
    }
}
impl Eq for StringTable {}

impl StringTable {
    /// Checks a string section read from a blob: a base table must start with NUL; every
    /// non-empty table must end with one; offsets must fit in 32 bits.
    pub(crate) fn check_section(bytes: &[u8], base_len: u32) -> Result<()> {
        if base_len == 0 && bytes.first() != Some(&0) {
            return Err(BtfError::BadStrings {
                reason: "a base string section must start with the empty string",
            });
        }
        if bytes.last().is_some_and(|&b| b != 0) {
            return Err(BtfError::BadStrings {
                reason: "the last string is not NUL-terminated",
            });
        }
        if base_len as u64 + bytes.len() as u64 > MAX_STR_BYTES {
            return Err(BtfError::TooMany {
                what: "string bytes",
                limit: MAX_STR_BYTES,
            });
        }
        Ok(())
    }

    /// Wraps a string section read from a blob, after [`check_section`](Self::check_section).
    #[cfg(test)]
    pub(crate) fn from_section(bytes: &[u8], base_len: u32) -> Result<StringTable> {
        Self::check_section(bytes, base_len)?;
        Ok(Self::from_checked(bytes, base_len))
    }

    /// Wraps a string section that [`check_section`](Self::check_section) accepted.
    pub(crate) fn from_checked(bytes: &[u8], base_len: u32) -> StringTable {
        StringTable {
            bytes: bytes.to_vec(),
            base_len,
            index: None,
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// An empty table: just the empty string for a base, nothing for a split table.
    pub(crate) fn new(base_len: u32) -> StringTable {
        StringTable {
            bytes: if base_len == 0 { vec![0] } else { Vec::new() },
            base_len,
            index: None,
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// The raw section bytes (this table's part only).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Offset one past the last byte: base + own length.
    pub(crate) fn end(&self) -> u32 {
        self.base_len + self.bytes.len() as u32
    }

    /// Offset of this table's first byte.
    pub(crate) fn base_len(&self) -> u32 {
        self.base_len
    }

    /// The bytes of the string at absolute offset `off` (which must be ≥ `base_len`),
    /// without its NUL.
    pub(crate) fn get(&self, off: StrOffset) -> Option<&[u8]> {
        let start = off.0.checked_sub(self.base_len)? as usize;
        let tail = self.bytes.get(start..)?;
        // The section ends with NUL, so every in-range offset finds one (a word-at-a-time
        // search).
        std::ffi::CStr::from_bytes_until_nul(tail)
            .ok()
            .map(|s| s.to_bytes())
    }

    /// Appends the strings of a whole base table (`other`, which starts with the empty
    /// string) after this table's last byte and returns the base to add to `other`'s
    /// non-zero offsets. Offsets into the middle of a string stay valid, so no string of
    /// `other` needs to be looked up; equal strings are not merged (that is deduplication's
    /// job). The lookup index is rebuilt on the next addition.
    pub(crate) fn append_table(&mut self, other: &StringTable) -> Result<u32> {
        let tail = other.bytes.get(1..).unwrap_or_default();
        if other.base_len != 0 {
            return Err(BtfError::BadStrings {
                reason: "only a base string table can be appended to another",
            });
        }
        // Every table has at least one byte (a base starts with NUL; a split one starts
        // past its base's), so this does not underflow.
        let base = self.end().saturating_sub(1);
        if self.end() as u64 + tail.len() as u64 > MAX_STR_BYTES {
            return Err(BtfError::TooMany {
                what: "string bytes",
                limit: MAX_STR_BYTES,
            });
        }
        self.bytes.extend_from_slice(tail);
        self.index = None;
        Ok(base)
    }

    /// Appends `s` unless an equal string exists, and returns its offset.
    pub(crate) fn add(&mut self, s: &str) -> Result<StrOffset> {
        if s.as_bytes().contains(&0) {
            return Err(BtfError::BadStrings {
                reason: "a string to add contains NUL",
            });
        }
        if s.is_empty() && self.base_len == 0 {
            return Ok(StrOffset::EMPTY);
        }
        let end = self.end();
        let index = match &mut self.index {
            Some(index) => index,
            None => self
                .index
                .insert(build_index(&self.bytes, self.base_len, &self.hasher)),
        };
        let hash = self.hasher.hash_one(s.as_bytes());
        let (bytes, base_len) = (&self.bytes, self.base_len);
        if let Some(&off) = index.find(hash, |&off| {
            cstr_at(bytes, (off - base_len) as usize) == s.as_bytes()
        }) {
            return Ok(StrOffset(off));
        }
        if end as u64 + s.len() as u64 + 1 > MAX_STR_BYTES {
            return Err(BtfError::TooMany {
                what: "string bytes",
                limit: MAX_STR_BYTES,
            });
        }
        self.bytes.extend_from_slice(s.as_bytes());
        self.bytes.push(0);
        let (bytes, hasher) = (&self.bytes, &self.hasher);
        index.insert_unique(hash, end, |&o| {
            hasher.hash_one(cstr_at(bytes, (o - base_len) as usize))
        });
        let off = end;
        Ok(StrOffset(off))
    }
}

/// Indexes the strings of `bytes` (whose first byte has offset `base_len`) by content,
/// keeping the first of equal strings: that is the offset a lookup should return.
fn build_index(bytes: &[u8], base_len: u32, hasher: &DefaultHashBuilder) -> HashTable<u32> {
    let mut index = HashTable::new();
    let mut start = 0usize;
    while start < bytes.len() {
        let s = cstr_at(bytes, start);
        let hash = hasher.hash_one(s);
        let eq = |&o: &u32| cstr_at(bytes, (o - base_len) as usize) == s;
        if index.find(hash, eq).is_none() {
            index.insert_unique(hash, base_len + start as u32, |&o| {
                hasher.hash_one(cstr_at(bytes, (o - base_len) as usize))
            });
        }
        start += s.len() + 1;
    }
    index
}

/// The NUL-terminated string starting at `start` (without the NUL).
fn cstr_at(bytes: &[u8], start: usize) -> &[u8] {
    let tail = &bytes[start..];
    let len = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
    &tail[..len]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_and_dedup() {
        let mut t = StringTable::from_section(b"\0int\0char\0", 0).unwrap();
        assert_eq!(t.get(StrOffset(1)), Some(&b"int"[..]));
        assert_eq!(t.get(StrOffset(2)), Some(&b"nt"[..]));
        assert_eq!(t.get(StrOffset(10)), None);
        assert_eq!(t.add("char").unwrap(), StrOffset(5));
        assert_eq!(t.add("").unwrap(), StrOffset(0));
        let off = t.add("long").unwrap();
        assert_eq!(off, StrOffset(10));
        assert_eq!(t.add("long").unwrap(), off);
        assert_eq!(t.get(off), Some(&b"long"[..]));
        assert!(t.add("a\0b").is_err());
    }

    #[test]
    fn split_tables_start_at_the_base_length() {
        let mut t = StringTable::from_section(b"foo\0", 100).unwrap();
        assert_eq!(t.get(StrOffset(100)), Some(&b"foo"[..]));
        assert_eq!(t.get(StrOffset(99)), None);
        assert_eq!(t.add("foo").unwrap(), StrOffset(100));
        assert_eq!(t.add("bar").unwrap(), StrOffset(104));
    }

    #[test]
    fn rejects_malformed_sections() {
        assert!(StringTable::from_section(b"x\0", 0).is_err());
        assert!(StringTable::from_section(b"\0x", 0).is_err());
        assert!(StringTable::from_section(b"", 0).is_err());
        assert!(StringTable::from_section(b"", 5).is_ok());
    }
}
