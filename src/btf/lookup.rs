//! The lookups a loader needs: types by name and by essential name, resolution through
//! typedefs and qualifiers, size and alignment.
//!
//! The name index maps the *essential* name of every named type (the name with a CO-RE
//! flavour suffix `___x` cut off) to its type ids; an exact-name lookup filters the
//! essential-name hits. It is one hash table entry per distinct essential name, pointing at
//! a range of an id array grouped by a counting sort (ids in id order), so it is built in
//! time linear in the number of types whatever their names (a million types of one name
//! index in well under a second; one entry per type made that quadratic), on the first
//! lookup, and costs 4 bytes per named type plus 12 per distinct name. A lookup is one hash
//! probe and a slice, never a sort. In split BTF the base's index serves the base's types.
//!
//! Walks that follow references (resolution, size, alignment) stop after
//! [`MAX_RESOLVE_DEPTH`] steps with [`BtfError::ReferenceCycle`], so a malformed BTF with a
//! reference loop is an error, never a hang.

use std::hash::BuildHasher;

use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashTable};

use super::error::{BtfError, Result};
use super::record::{record_off, NAMED_TYPE};
use super::types::{raw_id, type_id};
use super::{Btf, Kind, StrOffset, TypeId, TypeKind};

/// How many references a walk follows before it reports a cycle.
pub const MAX_RESOLVE_DEPTH: u32 = 32;
/// How deeply structs may nest inside each other for [`Btf::align_of`].
pub const MAX_NESTING: u32 = 256;
/// How many types one [`Btf::align_of`] may visit.
pub const MAX_ALIGN_VISITS: u32 = 1 << 20;

/// The essential name of a CO-RE type, field or enumerator: `name` cut before its last
/// flavour separator (`___` between two characters that are not underscores).
///
/// ```
/// use bpfir::btf::essential_name;
/// assert_eq!(essential_name("task_struct___v510"), "task_struct");
/// assert_eq!(essential_name("a___b___c"), "a___b");
/// assert_eq!(essential_name("task_struct"), "task_struct");
/// assert_eq!(essential_name("____x"), "____x");
/// ```
pub fn essential_name(name: &str) -> &str {
    let b = name.as_bytes();
    if b.len() < 5 {
        return name;
    }
    for i in (1..=b.len() - 4).rev() {
        if &b[i..i + 3] == b"___" && b[i - 1] != b'_' && b[i + 3] != b'_' {
            return &name[..i];
        }
    }
    name
}

/// The essential name of `name`'s bytes: what [`essential_name`] computes, without a UTF-8
/// check.
pub(crate) fn essential_bytes(name: &[u8]) -> &[u8] {
    if name.len() < 5 {
        return name;
    }
    for i in (1..=name.len() - 4).rev() {
        if &name[i..i + 3] == b"___" && name[i - 1] != b'_' && name[i + 3] != b'_' {
            return &name[..i];
        }
    }
    name
}

/// Bit 7 of each byte of `x` that is zero (exact: no false positives above a zero byte).
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((x & LO7) + LO7) | x | LO7)
}

/// A keyed hash of names: a folded multiply of each 8-byte word of the name (the last one
/// zero-padded) into a state that starts from, and is multiplied by, secret numbers drawn
/// for each index (from the standard library's random hasher keys), then the length. Crafted
/// names cannot aim at equal hashes without the keys, so the table does not degrade; it is
/// computed word by word so that [`essential_hash_at`] gets it while looking for the end of
/// the name, without reading the name again.
#[derive(Clone, Copy)]
pub(super) struct NameHasher {
    start: u64,
    mul: u64,
    fin: u64,
}

impl Default for NameHasher {
    fn default() -> NameHasher {
        let keys = DefaultHashBuilder::default();
        NameHasher {
            start: keys.hash_one(0x6e61_6d65u64),
            // Odd, so that the multiplication loses no bit of the state.
            mul: keys.hash_one(0x6861_7368u64) | 1,
            fin: keys.hash_one(0x0065_6e64u64) | 1,
        }
    }
}

impl NameHasher {
    /// Mixes one word into the state.
    #[inline(always)]
    fn step(&self, h: u64, w: u64) -> u64 {
        let p = u128::from(h ^ w) * u128::from(self.mul);
        (p as u64) ^ ((p >> 64) as u64)
    }

    /// The hash of a name of `len` bytes from the state after its words.
    #[inline(always)]
    fn finish(&self, h: u64, len: usize) -> u64 {
        let p = u128::from(h ^ len as u64) * u128::from(self.fin);
        (p as u64) ^ ((p >> 64) as u64)
    }

    /// The hash of `key`.
    pub(super) fn hash(&self, key: &[u8]) -> u64 {
        let (words, rest) = key.as_chunks::<8>();
        let mut h = self.start;
        for w in words {
            h = self.step(h, u64::from_le_bytes(*w));
        }
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            h = self.step(h, u64::from_le_bytes(last));
        }
        self.finish(h, key.len())
    }
}

/// The essential name of the NUL-terminated string at `start` of `bytes` and its hash by
/// `hasher`, found in one pass a word at a time: the NUL, the hash of the words before it,
/// and whether two underscores follow each other anywhere (only then can the name have a
/// flavour, and [`essential_bytes`] looks closer; the hash of the cut name is then computed
/// again). `None` when `start` is out of range or no NUL follows it.
#[inline]
pub(crate) fn essential_hash_at<'a>(
    bytes: &'a [u8],
    start: usize,
    hasher: &NameHasher,
) -> Option<(&'a [u8], u64)> {
    const UNDERSCORES: u64 = 0x5f5f_5f5f_5f5f_5f5f;
    let tail = bytes.get(start..)?;
    let mut p = 0usize;
    let mut pair = false;
    let mut last_us = 0u64;
    let mut h = hasher.start;
    loop {
        let w = match tail.get(p..p + 8) {
            Some(c) => u64::from_le_bytes(c.try_into().ok()?),
            None => {
                let rest = tail.get(p..)?;
                if rest.is_empty() {
                    return None;
                }
                let mut b = [0u8; 8];
                b[..rest.len()].copy_from_slice(rest);
                // Padding is not part of the string: a NUL must be found in `rest`.
                if !rest.contains(&0) {
                    return None;
                }
                u64::from_le_bytes(b)
            }
        };
        let z = zero_bytes(w);
        let mut u = zero_bytes(w ^ UNDERSCORES);
        if z != 0 {
            let k = z.trailing_zeros() / 8;
            // The bytes before the NUL.
            let before = (1u64 << (8 * k)).wrapping_sub(1);
            u &= before;
            pair |= u & (u >> 8) != 0 || (last_us & u & 0x80) != 0;
            let len = p + k as usize;
            let name = &tail[..len];
            if pair {
                let key = essential_bytes(name);
                return Some((key, hasher.hash(key)));
            }
            if k != 0 {
                h = hasher.step(h, w & before);
            }
            return Some((name, hasher.finish(h, len)));
        }
        pair |= u & (u >> 8) != 0 || (last_us & u & 0x80) != 0;
        last_us = u >> 56;
        h = hasher.step(h, w);
        p += 8;
    }
}

/// The essential name of the NUL-terminated string at `start` of `bytes` (see
/// [`essential_hash_at`]).
#[cfg(test)]
pub(crate) fn essential_at(bytes: &[u8], start: usize) -> Option<&[u8]> {
    essential_hash_at(bytes, start, &NameHasher::default()).map(|(key, _)| key)
}

/// Essential name → type ids of one [`Btf`]'s own types.
///
/// One hash table entry per *distinct* essential name (never one per type: a hash table
/// holding many equal keys probes past all of them on every insert, which made 320k
/// typedefs of one name take seconds to index). Each entry is the number of a group; the
/// ids of a group are a range of `ids`, in id order (a counting sort by group). Names are
/// hashed as bytes with a keyed hash ([`NameHasher`], so crafted names cannot make the
/// table degrade), never checked for UTF-8: a lookup by `&str` only ever matches valid
/// UTF-8.
#[derive(Clone, Default)]
pub(super) struct NameIndex {
    /// Group numbers, hashed by the group's essential name.
    table: HashTable<u32>,
    hasher: NameHasher,
    /// Per group: the start of its ids in `ids` (one more entry at the end).
    starts: Vec<u32>,
    /// Raw ids of every named type, grouped by essential name, in id order in each group.
    ids: Vec<u32>,
}

/// The index of type names: every kind but those of [`DECLS`]. CO-RE candidates are found
/// here (a relocation's local type is a type, and candidates must have a compatible kind).
pub(super) const TYPES: usize = 0;
/// The index of declaration names: FUNC, VAR, DATASEC and DECL_TAG. In a kernel's BTF these
/// are most named entries (vmlinux: 56k FUNCs of 71k named types), and only loaders that
/// resolve kfuncs and ksyms look them up.
pub(super) const DECLS: usize = 1;

/// The index holding types of wire kind `kind`.
#[inline(always)]
pub(super) const fn class_of(kind: u32) -> usize {
    match kind {
        12 | 14 | 15 | 17 => DECLS,
        _ => TYPES,
    }
}

/// How many of a BTF's own types carry the parser's [`NAMED_TYPE`] note in their entry
/// of `Btf::offsets`: the parser reads every record's name and kind anyway, and notes there
/// which types are named types of the [`TYPES`] index, so that building that index visits
/// those types only instead of decoding every record again. It covers the parsed types;
/// types added later lie past it (the build walks those), and rewriting a record in place
/// drops it (the record's name or kind may have changed).
#[derive(Clone, Copy, Default)]
pub(super) struct NamedHint {
    len: usize,
}

impl NamedHint {
    /// The note covers the first `len` local indexes.
    pub(super) fn new(len: usize) -> NamedHint {
        NamedHint { len }
    }
}

impl NameIndex {
    /// The index of `btf`'s own types of class `class` ([`TYPES`] or [`DECLS`]).
    fn build(btf: &Btf, class: usize) -> NameIndex {
        let hasher = NameHasher::default();
        let e = btf.endian;
        let word_at = |entry: u32, i: usize| e.read_u32(&btf.raw, record_off(entry) + 4 * i);
        // The named types of the class, in id order (local index, name offset); everything
        // else is sized by their number. The parser's note gives those of the type index
        // among the parsed types; other types are found with two loads each.
        let noted = if class == TYPES {
            &btf.offsets[..btf.type_names.len.min(btf.offsets.len())]
        } else {
            &[]
        };
        // The named types of the class, in id order: (local index, entry in `offsets`).
        // The noted ones are gathered without a branch (every entry is written to the next
        // slot, which is kept when the entry is noted), the others found with two loads
        // each; everything else is sized by their number.
        let count = noted.iter().map(|&o| o & NAMED_TYPE).sum::<u32>() as usize;
        let mut named = vec![(0u32, 0u32); count + 1];
        let mut k = 0usize;
        for (local, &entry) in noted.iter().enumerate() {
            if let Some(slot) = named.get_mut(k) {
                *slot = (local as u32, entry);
            }
            k += (entry & NAMED_TYPE) as usize;
        }
        named.truncate(k);
        // Void (local 0 of a base BTF) has no record.
        let walk_from = noted.len().max(usize::from(btf.base.is_none()));
        for (local, &entry) in btf.offsets.iter().enumerate().skip(walk_from) {
            let (Some(name), Some(info)) = (word_at(entry, 0), word_at(entry, 1)) else {
                continue;
            };
            if name != 0 && class_of((info >> 24) & 0x1f) == class {
                named.push((local as u32, entry));
            }
        }
        // Their name offsets, read in one pass (loads that do not depend on each other).
        let (own, base_len) = (btf.strings.bytes(), btf.strings.base_len());
        for slot in &mut named {
            slot.1 = word_at(slot.1, 0).unwrap_or(u32::MAX);
        }
        let mut table: HashTable<u32> = HashTable::with_capacity(named.len());
        // The essential name and the size of each group, and the group of each named type
        // (u32::MAX: a name past the strings, which a checked BTF does not have).
        let mut keys: Vec<&[u8]> = Vec::with_capacity(named.len());
        let mut sizes: Vec<u32> = Vec::with_capacity(named.len());
        let mut group_of = Vec::with_capacity(named.len());
        for &(_, name) in &named {
            let key = match name.checked_sub(base_len) {
                Some(at) => essential_hash_at(own, at as usize, &hasher),
                // A name in the base's strings (split BTF).
                None => btf
                    .str_bytes(StrOffset(name))
                    .map(essential_bytes)
                    .map(|key| (key, hasher.hash(key))),
            };
            // A non-zero offset may point at an empty string (the NUL ending another one):
            // such a type is still found by its (empty) name, as every named type is.
            let Some((key, hash)) = key else {
                group_of.push(u32::MAX);
                continue;
            };
            let found = table.entry(
                hash,
                |&g| keys[g as usize] == key,
                |&g| hasher.hash(keys[g as usize]),
            );
            group_of.push(match found {
                Entry::Occupied(g) => {
                    let g = *g.get();
                    sizes[g as usize] += 1;
                    g
                }
                Entry::Vacant(slot) => {
                    let g = keys.len() as u32;
                    slot.insert(g);
                    keys.push(key);
                    sizes.push(1);
                    g
                }
            });
        }
        // Counting sort of the ids by group; a stable pass keeps id order within a group.
        let mut starts = Vec::with_capacity(sizes.len() + 1);
        let mut at = 0u32;
        starts.push(0);
        for &n in &sizes {
            at += n;
            starts.push(at);
        }
        // `sizes` becomes each group's next free slot.
        let groups = sizes.len();
        sizes.copy_from_slice(&starts[..groups]);
        let mut ids = vec![0u32; at as usize];
        for (&(local, _), &g) in named.iter().zip(&group_of) {
            if let Some(next) = sizes.get_mut(g as usize) {
                ids[*next as usize] = btf.start_id + local;
                *next += 1;
            }
        }
        NameIndex {
            table,
            hasher,
            starts,
            ids,
        }
    }
}

impl Btf {
    fn name_index(&self, class: usize) -> &NameIndex {
        self.names[class].get_or_init(|| NameIndex::build(self, class))
    }

    /// Builds the name indexes now rather than on the first lookup (e.g. before sharing the
    /// BTF between threads, or to keep them out of a timed section).
    pub fn build_name_index(&self) {
        self.name_index(TYPES);
        self.name_index(DECLS);
    }

    /// Builds only the index of type names now: what CO-RE candidate searches use (every
    /// kind but FUNC, VAR, DATASEC and DECL_TAG, which have an index of their own, built
    /// when a lookup needs it).
    pub fn build_type_name_index(&self) {
        self.name_index(TYPES);
    }

    /// The ids of this BTF's own types (not the base's) of index `class` whose essential
    /// name is `essential`, in id order: one hash lookup, then a slice.
    fn own_by_essential(&self, essential: &str, class: usize) -> &[u32] {
        let index = self.name_index(class);
        let key = essential.as_bytes();
        let hash = index.hasher.hash(key);
        let found = index.table.find(hash, |&g| {
            let first = index.ids[index.starts[g as usize] as usize];
            self.get(type_id(first))
                .and_then(|t| self.str_bytes(t.name))
                .is_some_and(|n| essential_bytes(n) == key)
        });
        match found {
            Some(&g) => {
                let (a, b) = (index.starts[g as usize], index.starts[g as usize + 1]);
                &index.ids[a as usize..b as usize]
            }
            None => &[],
        }
    }

    /// This BTF and its bases, base first.
    fn chain(&self) -> Vec<&Btf> {
        let mut chain: Vec<&Btf> = Vec::new();
        let mut b = Some(self);
        while let Some(btf) = b {
            chain.push(btf);
            b = btf.base.as_deref();
        }
        chain.reverse();
        chain
    }

    /// Every type (base first, in id order within each BTF) whose essential name is
    /// `essential`: the CO-RE candidates for a local type of that essential name.
    pub fn types_by_essential_name<'a>(
        &'a self,
        essential: &'a str,
    ) -> impl Iterator<Item = TypeId> + 'a {
        self.chain().into_iter().flat_map(move |btf| {
            MergeIds {
                a: btf.own_by_essential(essential, TYPES),
                b: btf.own_by_essential(essential, DECLS),
            }
            .map(type_id)
        })
    }

    /// Every type whose essential name is `essential` and whose kind is indexed with `kind`'s
    /// (for a type kind, every type kind; for FUNC, VAR, DATASEC and DECL_TAG, those four):
    /// a superset of the types of kind `kind`, from one of the two name indexes.
    pub(crate) fn types_by_essential_name_near<'a>(
        &'a self,
        essential: &'a str,
        kind: Kind,
    ) -> impl Iterator<Item = TypeId> + 'a {
        let class = class_of(kind as u32);
        self.chain().into_iter().flat_map(move |btf| {
            btf.own_by_essential(essential, class)
                .iter()
                .map(|&raw| type_id(raw))
        })
    }

    /// Every type (base first, in id order) named exactly `name`.
    pub fn types_by_name<'a>(&'a self, name: &'a str) -> impl Iterator<Item = TypeId> + 'a {
        self.types_by_essential_name(essential_name(name))
            .filter(move |&id| self.name(id).is_ok_and(|n| n == name))
    }

    /// The first type named `name` of kind `kind`.
    pub fn type_by_name_kind(&self, name: &str, kind: Kind) -> Option<TypeId> {
        self.types_by_essential_name_near(essential_name(name), kind)
            .find(|&id| {
                self.get(id).is_some_and(|t| t.kind.kind() == kind)
                    && self.name(id).is_ok_and(|n| n == name)
            })
    }

    /// Follows typedefs, qualifiers and type tags from `id` to the first type that is none
    /// of those.
    pub fn resolve(&self, id: TypeId) -> Result<TypeId> {
        let mut cur = id;
        for _ in 0..MAX_RESOLVE_DEPTH {
            let kind = self.kind_of(cur)?;
            match kind {
                TypeKind::Typedef(t)
                | TypeKind::Volatile(t)
                | TypeKind::Const(t)
                | TypeKind::Restrict(t)
                | TypeKind::TypeTag { ty: t, .. } => cur = t,
                _ => return Ok(cur),
            }
        }
        Err(self.cycle(id))
    }

    fn cycle(&self, id: TypeId) -> BtfError {
        BtfError::ReferenceCycle {
            type_id: raw_id(id),
            limit: MAX_RESOLVE_DEPTH,
        }
    }

    /// Size in bytes of a pointer for the target this BTF describes: the size of `long`
    /// when the BTF has it, else 8 (every BPF target is 64-bit).
    pub fn ptr_size(&self) -> u32 {
        *self.ptr_size.get_or_init(|| {
            for name in ["long", "long int", "unsigned long", "long unsigned int"] {
                // The type index only: an INT is never in the declaration index.
                let ints = self
                    .types_by_essential_name_near(essential_name(name), Kind::Int)
                    .filter(|&id| self.name(id).is_ok_and(|n| n == name));
                for id in ints {
                    if let TypeKind::Int { size, .. } = self.ty(id).kind {
                        if size == 4 || size == 8 {
                            return size;
                        }
                    }
                }
            }
            8
        })
    }

    /// Size in bytes of a value of type `id` (through typedefs, qualifiers, arrays and
    /// variables). Functions, prototypes, forward declarations and `void` have no size.
    pub fn size_of(&self, id: TypeId) -> Result<u32> {
        let mut cur = id;
        let mut factor: u64 = 1;
        let overflow = || BtfError::SizeOverflow {
            type_id: raw_id(id),
        };
        for _ in 0..MAX_RESOLVE_DEPTH {
            let size = match self.kind_of(cur)? {
                TypeKind::Int { size, .. }
                | TypeKind::Float { size }
                | TypeKind::Struct { size, .. }
                | TypeKind::Union { size, .. }
                | TypeKind::Enum { size, .. }
                | TypeKind::Enum64 { size, .. }
                | TypeKind::Datasec { size, .. } => size,
                TypeKind::Ptr(_) => self.ptr_size(),
                TypeKind::Typedef(t)
                | TypeKind::Volatile(t)
                | TypeKind::Const(t)
                | TypeKind::Restrict(t)
                | TypeKind::TypeTag { ty: t, .. }
                | TypeKind::Var { ty: t, .. } => {
                    cur = t;
                    continue;
                }
                TypeKind::Array { elem, len, .. } => {
                    factor = factor.checked_mul(len as u64).ok_or_else(overflow)?;
                    cur = elem;
                    continue;
                }
                k => {
                    return Err(BtfError::WrongKind {
                        type_id: raw_id(cur),
                        found: k.kind(),
                        expected: "a type with a size",
                    })
                }
            };
            let total = factor.checked_mul(size as u64).ok_or_else(overflow)?;
            return u32::try_from(total).map_err(|_| overflow());
        }
        Err(self.cycle(id))
    }

    /// Alignment in bytes of type `id`, as a C compiler for the BPF target lays it out:
    /// scalars align to their size capped at the pointer size, arrays to their element,
    /// structs and unions to their most aligned member, or to 1 when their layout shows they
    /// were packed.
    ///
    /// Nested structs are visited recursively: at most [`MAX_NESTING`] deep and
    /// [`MAX_ALIGN_VISITS`] types in all, so a malformed BTF whose structs contain each other
    /// is an error rather than a stack overflow or an exponential walk.
    pub fn align_of(&self, id: TypeId) -> Result<u32> {
        let mut budget = MAX_ALIGN_VISITS;
        self.align_at_depth(id, 0, &mut budget)
            .map_err(|e| match e {
                BtfError::ReferenceCycle { .. } => self.cycle(id),
                e => e,
            })
    }

    fn align_at_depth(&self, id: TypeId, depth: u32, budget: &mut u32) -> Result<u32> {
        if depth >= MAX_NESTING || *budget == 0 {
            return Err(self.cycle(id));
        }
        *budget -= 1;
        let ptr = self.ptr_size();
        match self.kind_of(id)? {
            TypeKind::Int { size, .. }
            | TypeKind::Float { size }
            | TypeKind::Enum { size, .. }
            | TypeKind::Enum64 { size, .. } => Ok(size.clamp(1, ptr)),
            TypeKind::Ptr(_) => Ok(ptr),
            TypeKind::Typedef(t)
            | TypeKind::Volatile(t)
            | TypeKind::Const(t)
            | TypeKind::Restrict(t)
            | TypeKind::TypeTag { ty: t, .. }
            | TypeKind::Var { ty: t, .. }
            | TypeKind::Array { elem: t, .. } => self.align_at_depth(t, depth + 1, budget),
            TypeKind::Struct { size, .. } | TypeKind::Union { size, .. } => {
                let mut max = 1;
                for m in self.members(id) {
                    let a = self.align_at_depth(m.ty, depth + 1, budget)?;
                    // A plain member off its natural alignment means `packed`.
                    if m.bitfield_size == 0 && m.bit_offset % (8 * a.max(1)) != 0 {
                        let is_legacy_bitfield = matches!(
                            self.kind_of(self.resolve(m.ty)?)?,
                            TypeKind::Int { bits, size, .. } if u64::from(bits) != u64::from(size) * 8
                        );
                        if !is_legacy_bitfield {
                            return Ok(1);
                        }
                    }
                    max = max.max(a);
                }
                Ok(if size % max != 0 { 1 } else { max })
            }
            k => Err(BtfError::WrongKind {
                type_id: raw_id(id),
                found: k.kind(),
                expected: "a type with an alignment",
            }),
        }
    }
}

/// Two id-ordered slices of raw ids merged in id order.
struct MergeIds<'a> {
    a: &'a [u32],
    b: &'a [u32],
}

impl Iterator for MergeIds<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let take_a = match (self.a.first(), self.b.first()) {
            (Some(x), Some(y)) => x < y,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return None,
        };
        let side = if take_a { &mut self.a } else { &mut self.b };
        let (&first, rest) = side.split_first()?;
        *side = rest;
        Some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn essential_names_cut_at_the_last_flavour_separator() {
        assert_eq!(essential_name("foo___bar"), "foo");
        assert_eq!(essential_name("foo___bar___baz"), "foo___bar");
        assert_eq!(essential_name("foo____bar"), "foo____bar");
        assert_eq!(essential_name("foo___"), "foo___");
        assert_eq!(essential_name("___foo"), "___foo");
        assert_eq!(essential_name("a___b"), "a");
        assert_eq!(essential_name(""), "");
    }

    #[test]
    fn essential_bytes_agree_with_essential_name() {
        let names = [
            "",
            "a",
            "foo___bar",
            "foo___bar___baz",
            "foo____bar",
            "foo___",
            "___foo",
            "a___b",
            "task_struct",
            "x__y__z",
            "abcdefg___h",
            "abcdef___gh",
            "abcde___fgh",
            "abcdefghijklmn___o",
            "a_b_c_d_e_f_g_h_i___j",
            "aaaaaaa___",
            "aaaaaa___b",
        ];
        let hasher = NameHasher::default();
        let long = "a".repeat(40);
        let long_flavoured = format!("{long}___v2");
        for n in names.into_iter().chain([&long[..], &long_flavoured[..]]) {
            let want = essential_name(n).as_bytes();
            assert_eq!(essential_bytes(n.as_bytes()), want, "{n}");
            // In a table, at every alignment, with and without bytes after the NUL; the
            // hash found on the way is the hash of the essential name.
            for pad in 0..9 {
                let mut table = vec![b'x'; pad];
                table.extend_from_slice(n.as_bytes());
                table.push(0);
                let found = Some((want, hasher.hash(want)));
                assert_eq!(essential_hash_at(&table, pad, &hasher), found, "{n}");
                table.extend_from_slice(b"a___b_c\0");
                assert_eq!(essential_hash_at(&table, pad, &hasher), found, "{n}");
            }
        }
        // Names that differ only in their length or last bytes hash apart.
        assert_ne!(hasher.hash(b"ab"), hasher.hash(b"ab\0"));
        assert_ne!(hasher.hash(b"abcdefgh"), hasher.hash(b"abcdefgi"));
        assert_eq!(essential_at(b"abc", 0), None);
        assert_eq!(essential_at(b"abc\0", 4), None);
        assert_eq!(essential_at(b"abcdefghijk", 2), None);
        // Every position of a triple in names of every length up to 20.
        for len in 5..20 {
            for at in 0..=len - 3 {
                let mut s = vec![b'a'; len];
                s[at..at + 3].copy_from_slice(b"___");
                let n = std::str::from_utf8(&s).unwrap();
                assert_eq!(essential_bytes(&s), essential_name(n).as_bytes(), "{n}");
                let mut t = s.clone();
                t.push(0);
                assert_eq!(
                    essential_at(&t, 0),
                    Some(essential_name(n).as_bytes()),
                    "{n}"
                );
            }
        }
    }

    /// Issue 11, bug 4: a million types of one name (and flavours of it) index in linear
    /// time; every lookup of that name gets them all, in id order, without sorting again.
    #[test]
    fn a_million_types_of_one_name_index_in_linear_time() {
        use crate::btf::IntEncoding;
        use crate::Endian;
        const N: u32 = 1_000_000;
        let mut btf = Btf::new(Endian::Little);
        let int = btf.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
        for i in 0..N {
            let name = if i % 2 == 0 { "t" } else { "t___v2" };
            btf.add_typedef(name, int).unwrap();
        }
        let ids: Vec<TypeId> = btf.types_by_essential_name("t").collect();
        assert_eq!(ids.len(), N as usize);
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(btf.types_by_name("t___v2").count(), N as usize / 2);
        assert_eq!(btf.type_by_name_kind("t", Kind::Typedef), Some(ids[0]));
        // `size_of` of a pointer asks for `long`: one lookup, not a walk over the index.
        let ptr = btf.add_ptr(int).unwrap();
        assert_eq!(btf.size_of(ptr).unwrap(), 8);
        assert_eq!(btf.types_by_name("int").count(), 1);
        assert_eq!(btf.types_by_name("absent").count(), 0);
    }

    /// Types and declarations live in two indexes; every lookup sees both, in id order.
    #[test]
    fn funcs_and_types_of_one_name_are_found_in_id_order() {
        use crate::btf::{IntEncoding, Linkage};
        use crate::Endian;
        let mut btf = Btf::new(Endian::Little);
        let int = btf.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
        let proto = btf.add_func_proto(int, &[]).unwrap();
        let f = btf.add_func("f", proto, Linkage::Global).unwrap();
        let t = btf.add_typedef("f", int).unwrap();
        let v = btf.add_var("f___x", int, Linkage::Global).unwrap();
        let s = btf.add_struct("f___y", 4, &[]).unwrap();
        assert_eq!(
            btf.types_by_essential_name("f").collect::<Vec<_>>(),
            vec![f, t, v, s]
        );
        assert_eq!(btf.types_by_name("f").collect::<Vec<_>>(), vec![f, t]);
        assert_eq!(btf.type_by_name_kind("f", Kind::Func), Some(f));
        assert_eq!(btf.type_by_name_kind("f", Kind::Typedef), Some(t));
        assert_eq!(btf.type_by_name_kind("f___x", Kind::Var), Some(v));
        assert_eq!(btf.type_by_name_kind("f___x", Kind::Struct), None);
        assert_eq!(
            btf.types_by_essential_name_near("f", Kind::Struct)
                .collect::<Vec<_>>(),
            vec![t, s]
        );
        assert_eq!(
            btf.types_by_essential_name_near("f", Kind::Func)
                .collect::<Vec<_>>(),
            vec![f, v]
        );
        // What CO-RE uses (type candidates, sizes) builds the type index only.
        let mut fresh = btf.clone();
        fresh.names = Default::default();
        let ptr = fresh.add_ptr(int).unwrap();
        fresh.build_type_name_index();
        assert_eq!(fresh.size_of(ptr).unwrap(), 8);
        assert_eq!(fresh.type_by_name_kind("f", Kind::Typedef), Some(t));
        assert!(fresh.names[TYPES].get().is_some());
        assert!(fresh.names[DECLS].get().is_none());
    }

    /// The parser notes which parsed types the type index holds; the index of a parsed BTF
    /// also holds the types added after the parse and sees records rewritten in place
    /// (renamed, or made anonymous) as they are now, exactly as a walk over every type.
    #[test]
    fn the_index_of_a_parsed_btf_follows_later_changes() {
        use crate::btf::{IntEncoding, Linkage, NewMember, StrOffset};
        use crate::Endian;
        let mut b = Btf::new(Endian::Little);
        let int = b.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
        let s = b
            .add_struct("s", 4, &[NewMember::new("a", int, 0)])
            .unwrap();
        let s2 = b.add_struct("s___v2", 4, &[]).unwrap();
        let proto = b.add_func_proto(int, &[("x", int)]).unwrap();
        let f = b.add_func("f", proto, Linkage::Global).unwrap();
        let t = b.add_typedef("t", int).unwrap();
        let ptr = b.add_ptr(s).unwrap();
        for endian in [Endian::Little, Endian::Big] {
            let blob = if endian == Endian::Little {
                b.to_bytes()
            } else {
                let mut big = Btf::new(Endian::Big);
                big.append(&b, |_, _| true).unwrap();
                big.to_bytes()
            };
            let mut p = Btf::parse(&blob).unwrap();
            let by = |p: &Btf, n: &str| p.types_by_essential_name(n).collect::<Vec<_>>();
            assert_eq!(by(&p, "s"), vec![s, s2]);
            assert_eq!(by(&p, "f"), vec![f]);
            assert_eq!(by(&p, "t"), vec![t]);
            assert_eq!(by(&p, ""), Vec::<TypeId>::new());
            // Added after the parse.
            let u = p.add_struct("s", 8, &[]).unwrap();
            assert_eq!(by(&p, "s"), vec![s, s2, u]);
            // Renamed in place (same record length), made anonymous, and given a name.
            let name = p.add_str("t").unwrap();
            p.ty_mut(s2).unwrap().name = name;
            p.ty_mut(t).unwrap().name = StrOffset::EMPTY;
            p.ty_mut(ptr).unwrap().name = name;
            assert_eq!(by(&p, "s"), vec![s, u]);
            assert_eq!(by(&p, "t"), vec![s2, ptr]);
            // The same lookups on a BTF that was never parsed.
            let mut fresh = Btf::new(endian);
            fresh.append(&p, |_, _| true).unwrap();
            assert_eq!(by(&fresh, "s"), vec![s, u]);
            assert_eq!(by(&fresh, "t"), vec![s2, ptr]);
        }
    }

    /// Fuzz finding: a name offset that points at the NUL ending another string names a type
    /// "": it is found by that name like any named type.
    #[test]
    fn a_type_named_by_an_offset_of_an_empty_string_is_found() {
        use crate::btf::{IntEncoding, StrOffset};
        use crate::Endian;
        let mut btf = Btf::new(Endian::Little);
        let int = btf.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
        let t = btf.add_typedef("x", int).unwrap();
        // "int" is at offset 1; its NUL at 4.
        btf.ty_mut(t).unwrap().name = StrOffset(4);
        let again = Btf::parse(&btf.to_bytes()).unwrap();
        assert_eq!(again.name(t).unwrap(), "");
        assert_eq!(again.types_by_name("").collect::<Vec<_>>(), vec![t]);
        assert_eq!(again.type_by_name_kind("", Kind::Typedef), Some(t));
    }
}
