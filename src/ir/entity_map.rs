//! [`EntityMap`]: a side table from a module's ids to values, stored densely by index.
//!
//! It replaces `la_arena::ArenaMap` (same method names) for the tables a
//! [`Module`](super::Module) keeps beside its arenas and for those users keep per module
//! ([`Bindings`](crate::lower::Bindings), `bpfir::load::Loaded`). Storage is a
//! `Vec<Option<V>>` indexed by [`Id::index`]: `get` and `insert` are an index, no hashing;
//! memory grows with the largest index inserted, not with the number of entries.
//!
//! A map holds keys of one module. In debug builds it remembers that module's tag (taken
//! from the first key inserted): a key of another module is never found (`get` gives `None`,
//! `contains_key` `false`), and inserting one panics, since it means the map mixes modules.
//! In release builds the tag does not exist and a key is just its index.

use std::fmt;
use std::marker::PhantomData;

use super::id::{Id, ModuleTag};

/// A dense side table keyed by the ids of one module (`la_arena::ArenaMap`'s replacement,
/// with the same method names).
///
/// Storage is a `Vec<Option<V>>` indexed by [`Id::index`]: `get` and `insert` are an index,
/// no hashing; memory grows with the largest index inserted, not with the number of entries.
/// In debug builds the map remembers its module's tag (from the first key inserted): a key of
/// another module is never found (`get` gives `None`), and inserting one panics, since the
/// map would then mix modules. In release builds a key is just its index.
///
/// `map[id]` panics if `id` has no value; use [`get`](Self::get).
pub struct EntityMap<K, V> {
    slots: Vec<Option<V>>,
    #[cfg(debug_assertions)]
    tag: Option<ModuleTag>,
    _key: PhantomData<fn(K)>,
}

impl<T, V> EntityMap<Id<T>, V> {
    /// An empty map.
    pub fn new() -> Self {
        EntityMap {
            slots: Vec::new(),
            #[cfg(debug_assertions)]
            tag: None,
            _key: PhantomData,
        }
    }

    /// An empty map with room for keys of index below `capacity` without reallocating.
    pub fn with_capacity(capacity: usize) -> Self {
        EntityMap {
            slots: Vec::with_capacity(capacity),
            #[cfg(debug_assertions)]
            tag: None,
            _key: PhantomData,
        }
    }

    /// Makes room for keys of `additional` more indexes without reallocating.
    pub fn reserve(&mut self, additional: usize) {
        self.slots.reserve(additional);
    }

    /// Whether `key` is this map's module's (always in release builds).
    #[inline]
    fn ours(&self, key: Id<T>) -> bool {
        #[cfg(debug_assertions)]
        {
            self.tag == Some(key.tag())
        }
        #[cfg(not(debug_assertions))]
        {
            let _ = key;
            true
        }
    }

    /// The tag of the map's keys (what `iter` builds ids with).
    #[inline]
    fn tag(&self) -> ModuleTag {
        #[cfg(debug_assertions)]
        {
            // No tag only while nothing was ever inserted: then no id is built.
            self.tag.unwrap_or(ModuleTag::NONE)
        }
        #[cfg(not(debug_assertions))]
        {
            ModuleTag::NONE
        }
    }

    /// Sets the value of `key`, returning the one it replaces.
    ///
    /// # Panics
    ///
    /// In debug builds, if the map already holds keys of another module.
    pub fn insert(&mut self, key: Id<T>, value: V) -> Option<V> {
        #[cfg(debug_assertions)]
        match self.tag {
            None => self.tag = Some(key.tag()),
            Some(t) => assert!(
                t == key.tag(),
                "EntityMap::insert: key of index {} belongs to another module than the map's keys",
                key.index()
            ),
        }
        let i = key.index();
        if i == self.slots.len() {
            // The common case of a table filled as its ids are made: one push.
            self.slots.push(Some(value));
            return None;
        }
        if i > self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        self.slots[i].replace(value)
    }

    /// Makes the table hold a slot (`None` unless set) for every index below `len`, so that
    /// inserting a key below it is a plain store: for a table about to be filled sparsely
    /// over a known range of ids (the reader's line and reference tables). Nothing a map
    /// answers changes.
    pub(crate) fn grow_to(&mut self, len: usize) {
        if self.slots.len() < len {
            self.slots.resize_with(len, || None);
        }
    }

    /// Sets the values of a run of keys that follow each other by index, `first` then the
    /// ones after it, to `values` in order: one `extend` when the run starts at the end of
    /// the table (a table filled as its ids are made), else one [`insert`](Self::insert)
    /// per key. `make(first, k)` is the `k`-th key of the run.
    ///
    /// # Panics
    ///
    /// As [`insert`](Self::insert).
    pub(crate) fn insert_run(
        &mut self,
        first: Id<T>,
        values: impl ExactSizeIterator<Item = V>,
        make: impl Fn(Id<T>, u32) -> Id<T>,
    ) {
        if first.index() == self.slots.len() {
            #[cfg(debug_assertions)]
            match self.tag {
                None => self.tag = Some(first.tag()),
                Some(t) => assert!(
                    t == first.tag(),
                    "EntityMap::insert_run: keys of another module than the map's keys"
                ),
            }
            self.slots.extend(values.map(Some));
        } else {
            for (k, v) in (0u32..).zip(values) {
                self.insert(make(first, k), v);
            }
        }
    }

    /// The value of `key`, or `None`.
    #[inline]
    pub fn get(&self, key: Id<T>) -> Option<&V> {
        if !self.ours(key) {
            return None;
        }
        self.slots.get(key.index()).and_then(Option::as_ref)
    }

    /// The value of `key` to change, or `None`.
    #[inline]
    pub fn get_mut(&mut self, key: Id<T>) -> Option<&mut V> {
        if !self.ours(key) {
            return None;
        }
        self.slots.get_mut(key.index()).and_then(Option::as_mut)
    }

    /// The value of `key` to change, inserting `V::default()` first if it has none.
    ///
    /// # Panics
    ///
    /// As [`insert`](Self::insert).
    pub fn get_or_insert_default(&mut self, key: Id<T>) -> &mut V
    where
        V: Default,
    {
        if self.get(key).is_none() {
            self.insert(key, V::default());
        }
        match self.slots[key.index()].as_mut() {
            Some(v) => v,
            None => unreachable!("inserted above"),
        }
    }

    /// Removes the value of `key`, returning it.
    pub fn remove(&mut self, key: Id<T>) -> Option<V> {
        if !self.ours(key) {
            return None;
        }
        self.slots.get_mut(key.index()).and_then(Option::take)
    }

    /// Whether `key` has a value.
    #[inline]
    pub fn contains_key(&self, key: Id<T>) -> bool {
        self.get(key).is_some()
    }

    /// Whether `key` has a value (`la_arena::ArenaMap`'s name for
    /// [`contains_key`](Self::contains_key)).
    #[inline]
    pub fn contains_idx(&self, key: Id<T>) -> bool {
        self.contains_key(key)
    }

    /// The keys with a value and their values, by index.
    pub fn iter(&self) -> impl Iterator<Item = (Id<T>, &V)> + '_ {
        let tag = self.tag();
        self.slots
            .iter()
            .enumerate()
            .filter_map(move |(i, v)| Some((Id::new(i as u32, tag), v.as_ref()?)))
    }

    /// The keys with a value and their values to change, by index.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Id<T>, &mut V)> + '_ {
        let tag = self.tag();
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(move |(i, v)| Some((Id::new(i as u32, tag), v.as_mut()?)))
    }

    /// The values, by key index.
    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.slots.iter().filter_map(Option::as_ref)
    }

    /// The values to change, by key index.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.slots.iter_mut().filter_map(Option::as_mut)
    }

    /// How many keys have a value (counts every slot: linear in the largest index).
    pub fn len(&self) -> usize {
        self.values().count()
    }

    /// Whether no key has a value.
    pub fn is_empty(&self) -> bool {
        self.values().next().is_none()
    }
}

impl<T, V> Default for EntityMap<Id<T>, V> {
    fn default() -> Self {
        EntityMap::new()
    }
}

impl<K, V: Clone> Clone for EntityMap<K, V> {
    fn clone(&self) -> Self {
        EntityMap {
            slots: self.slots.clone(),
            #[cfg(debug_assertions)]
            tag: self.tag,
            _key: PhantomData,
        }
    }
}

impl<T, V: PartialEq> PartialEq for EntityMap<Id<T>, V> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl<T, V: Eq> Eq for EntityMap<Id<T>, V> {}

impl<T: super::id::Entity, V: fmt::Debug> fmt::Debug for EntityMap<Id<T>, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<T, V> std::ops::Index<Id<T>> for EntityMap<Id<T>, V> {
    type Output = V;

    /// # Panics
    ///
    /// If `key` has no value.
    fn index(&self, key: Id<T>) -> &V {
        match self.get(key) {
            Some(v) => v,
            None => panic!("EntityMap: no value for key of index {}", key.index()),
        }
    }
}

impl<T, V> std::ops::IndexMut<Id<T>> for EntityMap<Id<T>, V> {
    /// # Panics
    ///
    /// If `key` has no value.
    fn index_mut(&mut self, key: Id<T>) -> &mut V {
        match self.get_mut(key) {
            Some(v) => v,
            None => panic!("EntityMap: no value for key of index {}", key.index()),
        }
    }
}

impl<T, V> FromIterator<(Id<T>, V)> for EntityMap<Id<T>, V> {
    fn from_iter<I: IntoIterator<Item = (Id<T>, V)>>(iter: I) -> Self {
        let mut map = EntityMap::new();
        map.extend(iter);
        map
    }
}

impl<T, V> Extend<(Id<T>, V)> for EntityMap<Id<T>, V> {
    fn extend<I: IntoIterator<Item = (Id<T>, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EntityMap;
    use crate::ir::{Function, Module};
    use crate::Endian;

    #[test]
    fn behaves_like_a_dense_map() {
        let mut m = Module::new(Endian::Little);
        let a = m.add_function(Function::new("a", ".text", false));
        let b = m.add_function(Function::new("b", ".text", false));
        let c = m.add_function(Function::new("c", ".text", false));
        let mut map = EntityMap::default();
        assert!(map.is_empty());
        assert_eq!(map.insert(c, 3), None);
        assert_eq!(map.insert(a, 1), None);
        assert_eq!(map.insert(a, 10), Some(1));
        assert_eq!(map.get(a), Some(&10));
        assert_eq!(map.get(b), None);
        assert!(map.contains_key(c) && !map.contains_idx(b));
        assert_eq!(map.iter().collect::<Vec<_>>(), vec![(a, &10), (c, &3)]);
        assert_eq!(map.values().copied().collect::<Vec<_>>(), vec![10, 3]);
        assert_eq!(map.len(), 2);
        *map.get_or_insert_default(b) += 7;
        assert_eq!(map[b], 7);
        map[c] = 30;
        assert_eq!(map.remove(c), Some(30));
        assert_eq!(map.remove(c), None);
        assert_eq!(map.get(c), None);
        let again: EntityMap<_, _> = map.iter().map(|(k, v)| (k, *v)).collect();
        assert_eq!(again, map);
    }

    #[test]
    #[should_panic(expected = "no value for key")]
    fn index_panics_on_a_missing_key() {
        let mut m = Module::new(Endian::Little);
        let a = m.add_function(Function::new("a", ".text", false));
        let map: EntityMap<_, u8> = EntityMap::default();
        let _ = map[a];
    }

    #[cfg(debug_assertions)]
    #[test]
    fn a_key_of_another_module_is_not_found_in_debug_builds() {
        let mut m = Module::new(Endian::Little);
        let mut other = Module::new(Endian::Little);
        let a = m.add_function(Function::new("a", ".text", false));
        let foreign = other.add_function(Function::new("x", ".text", false));
        assert_eq!(a.index(), foreign.index());
        let mut map = EntityMap::default();
        map.insert(a, 1);
        assert_eq!(map.get(foreign), None);
        assert!(!map.contains_key(foreign));
        assert_eq!(map.remove(foreign), None);
        assert_eq!(map.get(a), Some(&1));
        // A clone's ids are the original's.
        let clone = m.clone();
        let b = clone.function_by_name("a").unwrap();
        assert_eq!(map.get(b), Some(&1));
    }

    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "belongs to another module")]
    fn inserting_keys_of_two_modules_panics_in_debug_builds() {
        let mut m = Module::new(Endian::Little);
        let mut other = Module::new(Endian::Little);
        let a = m.add_function(Function::new("a", ".text", false));
        let foreign = other.add_function(Function::new("x", ".text", false));
        let mut map = EntityMap::default();
        map.insert(a, 1);
        map.insert(foreign, 2);
    }
}
