//! Reading the items of a type (members, parameters, enumerators, section variables)
//! straight from their encoded records.
//!
//! A [`Btf`](super::Btf) keeps its types as the wire records; [`ItemsView`] is a slice of
//! those records that decodes item `i` when asked. Views cost nothing to make (no
//! allocation, no copy) and reading an item is two or three loads. The records were checked
//! when they were parsed or written, so decoding cannot fail.

use std::marker::PhantomData;

use super::types::{type_id, Items};
use super::{EnumValue, Member, Param, StrOffset, VarSecinfo};
use crate::Endian;

/// Reads the `i`-th u32 word of `rec` in byte order `e` (0 past the end, which the checked
/// records never reach).
#[inline(always)]
pub(crate) fn word(e: Endian, rec: &[u8], i: usize) -> u32 {
    match rec.get(4 * i..4 * i + 4) {
        Some(&[a, b, c, d]) => match e {
            Endian::Little => u32::from_le_bytes([a, b, c, d]),
            Endian::Big => u32::from_be_bytes([a, b, c, d]),
        },
        _ => 0,
    }
}

/// An item kind: how one record of it is laid out.
pub trait Item: Copy + sealed::Sealed {
    /// Bytes of one record in encoding `form` (see [`Items`]).
    #[doc(hidden)]
    fn stride(form: u8) -> usize;
    /// Decodes one record.
    #[doc(hidden)]
    fn decode(e: Endian, rec: &[u8], form: u8) -> Self;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Member {}
    impl Sealed for super::Param {}
    impl Sealed for super::EnumValue {}
    impl Sealed for super::VarSecinfo {}
}

impl Item for Member {
    #[inline(always)]
    fn stride(_: u8) -> usize {
        12
    }
    #[inline(always)]
    fn decode(e: Endian, rec: &[u8], form: u8) -> Member {
        let off = word(e, rec, 2);
        let (bit_offset, bitfield_size) = if form != 0 {
            (off & 0x00ff_ffff, (off >> 24) as u8)
        } else {
            (off, 0)
        };
        Member {
            name: StrOffset(word(e, rec, 0)),
            ty: type_id(word(e, rec, 1)),
            bit_offset,
            bitfield_size,
        }
    }
}

impl Item for Param {
    #[inline(always)]
    fn stride(_: u8) -> usize {
        8
    }
    #[inline(always)]
    fn decode(e: Endian, rec: &[u8], _: u8) -> Param {
        Param {
            name: StrOffset(word(e, rec, 0)),
            ty: type_id(word(e, rec, 1)),
        }
    }
}

impl Item for EnumValue {
    #[inline(always)]
    fn stride(form: u8) -> usize {
        if form != 0 {
            12
        } else {
            8
        }
    }
    #[inline(always)]
    fn decode(e: Endian, rec: &[u8], form: u8) -> EnumValue {
        let lo = u64::from(word(e, rec, 1));
        let bits = if form != 0 {
            u64::from(word(e, rec, 2)) << 32 | lo
        } else {
            lo
        };
        EnumValue {
            name: StrOffset(word(e, rec, 0)),
            bits,
        }
    }
}

impl Item for VarSecinfo {
    #[inline(always)]
    fn stride(_: u8) -> usize {
        12
    }
    #[inline(always)]
    fn decode(e: Endian, rec: &[u8], _: u8) -> VarSecinfo {
        VarSecinfo {
            ty: type_id(word(e, rec, 0)),
            offset: word(e, rec, 1),
            size: word(e, rec, 2),
        }
    }
}

/// The items of one type, decoded on access: what [`Btf::members`](super::Btf::members),
/// [`Btf::params`](super::Btf::params), [`Btf::enum_values`](super::Btf::enum_values) and
/// [`Btf::datasec_vars`](super::Btf::datasec_vars) return. Iterating yields items by value.
pub struct ItemsView<'a, T: Item> {
    bytes: &'a [u8],
    endian: Endian,
    form: u8,
    len: usize,
    _item: PhantomData<fn() -> T>,
}

impl<T: Item> Clone for ItemsView<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Item> Copy for ItemsView<'_, T> {}

impl<T: Item + std::fmt::Debug> std::fmt::Debug for ItemsView<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Item + PartialEq> PartialEq for ItemsView<'_, T> {
    /// Two views are equal when they hold equal items.
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<'a, T: Item> ItemsView<'a, T> {
    /// No items.
    pub(crate) fn empty(endian: Endian) -> Self {
        ItemsView {
            bytes: &[],
            endian,
            form: 0,
            len: 0,
            _item: PhantomData,
        }
    }

    /// The items `items` of a type whose encoded type section is `raw`. A range past the
    /// end (only possible for [`Items`] taken from another BTF) gives the items that exist.
    pub(crate) fn new(raw: &'a [u8], endian: Endian, items: Items<T>) -> Self {
        let stride = T::stride(items.form());
        let start = items.start().min(raw.len());
        let bytes = &raw[start..];
        let len = items.len().min(bytes.len() / stride);
        ItemsView {
            bytes: &bytes[..len * stride],
            endian,
            form: items.form(),
            len,
            _item: PhantomData,
        }
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Item `i`, if there is one.
    #[inline]
    pub fn get(&self, i: usize) -> Option<T> {
        let stride = T::stride(self.form);
        let rec = self.bytes.get(i.checked_mul(stride)?..)?;
        (i < self.len).then(|| T::decode(self.endian, rec, self.form))
    }

    /// The first item.
    pub fn first(&self) -> Option<T> {
        self.get(0)
    }

    /// The last item.
    pub fn last(&self) -> Option<T> {
        self.len.checked_sub(1).and_then(|i| self.get(i))
    }

    /// The items in order.
    pub fn iter(&self) -> ItemsIter<'a, T> {
        ItemsIter {
            view: *self,
            front: 0,
            back: self.len,
        }
    }

    /// The items as a vector.
    pub fn to_vec(&self) -> Vec<T> {
        self.iter().collect()
    }
}

/// Iterator over an [`ItemsView`].
pub struct ItemsIter<'a, T: Item> {
    view: ItemsView<'a, T>,
    front: usize,
    back: usize,
}

impl<T: Item> Clone for ItemsIter<'_, T> {
    fn clone(&self) -> Self {
        ItemsIter {
            view: self.view,
            front: self.front,
            back: self.back,
        }
    }
}

impl<T: Item> Iterator for ItemsIter<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.front >= self.back {
            return None;
        }
        let v = self.view.get(self.front);
        self.front += 1;
        v
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl<T: Item> DoubleEndedIterator for ItemsIter<'_, T> {
    fn next_back(&mut self) -> Option<T> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        self.view.get(self.back)
    }
}

impl<T: Item> ExactSizeIterator for ItemsIter<'_, T> {}

impl<'a, T: Item> IntoIterator for ItemsView<'a, T> {
    type Item = T;
    type IntoIter = ItemsIter<'a, T>;
    fn into_iter(self) -> ItemsIter<'a, T> {
        self.iter()
    }
}

impl<'a, T: Item> IntoIterator for &ItemsView<'a, T> {
    type Item = T;
    type IntoIter = ItemsIter<'a, T>;
    fn into_iter(self) -> ItemsIter<'a, T> {
        self.iter()
    }
}
