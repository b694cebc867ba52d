//! [`Entities`]: one of a [`Module`](super::Module)'s `la_arena` arenas, addressed by the
//! module's [`Id`]s.
//!
//! It gives out ids carrying the module's tag (see [`id`](super::id)), and tells whether an
//! id is its own ([`check`](Entities::check): tag in debug builds, then range). Indexing
//! (`entities[id]`) is the arena's plain index: it panics on an id out of range and, in debug
//! builds, on an id of another module; the module's checked entries call `check` first.

use la_arena::Arena;

use super::id::{Id, ModuleTag};

/// Why an id is not an arena's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NotOurs {
    /// Made by another module (debug builds only).
    Foreign,
    /// Past the end of the arena.
    Dangling,
}

/// An arena of `T`s of the module tagged `tag`.
#[derive(Clone)]
pub(crate) struct Entities<T> {
    arena: Arena<T>,
    tag: ModuleTag,
}

impl<T> Entities<T> {
    /// An empty arena of the module tagged `tag`.
    pub(crate) fn new(tag: ModuleTag) -> Entities<T> {
        Entities {
            arena: Arena::new(),
            tag,
        }
    }

    /// The tag of the ids this arena gives out.
    #[cfg(test)]
    pub(crate) fn tag(&self) -> ModuleTag {
        self.tag
    }

    /// Adds `value`, returning its id.
    #[inline]
    pub(crate) fn alloc(&mut self, value: T) -> Id<T> {
        Id::from_arena(self.arena.alloc(value), self.tag)
    }

    /// How many entities were ever added.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.arena.len()
    }

    /// Makes room for `additional` entities when the arena is still empty (a reader that
    /// knows its counts sizes the arena once); a no-op otherwise.
    pub(crate) fn reserve_if_empty(&mut self, additional: usize) {
        if self.arena.is_empty() {
            self.arena = Arena::with_capacity(additional);
        }
    }

    /// The id of index `index`, if the arena has it.
    pub(crate) fn id_at(&self, index: usize) -> Option<Id<T>> {
        (index < self.arena.len()).then(|| Id::new(index as u32, self.tag))
    }

    /// Whether `id` is this arena's: made by its module (debug builds) and in range.
    #[inline]
    pub(crate) fn check(&self, id: Id<T>) -> Result<(), NotOurs> {
        if id.tag() != self.tag {
            Err(NotOurs::Foreign)
        } else if id.index() < self.arena.len() {
            Ok(())
        } else {
            Err(NotOurs::Dangling)
        }
    }

    /// Whether `id` is this arena's (see [`check`](Self::check)).
    #[inline]
    pub(crate) fn contains(&self, id: Id<T>) -> bool {
        self.check(id).is_ok()
    }

    /// The entity `id`, if it is this arena's.
    #[inline]
    pub(crate) fn get(&self, id: Id<T>) -> Option<&T> {
        self.contains(id).then(|| &self.arena[id.arena()])
    }

    /// Every id and entity, in the order they were added.
    pub(crate) fn iter(
        &self,
    ) -> impl ExactSizeIterator<Item = (Id<T>, &T)> + DoubleEndedIterator + Clone + '_ {
        let tag = self.tag;
        self.arena
            .iter()
            .map(move |(i, v)| (Id::from_arena(i, tag), v))
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Entities<T> {
    /// The arena's entities (the tag is left out: it differs from run to run).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.arena.fmt(f)
    }
}

impl<T> std::ops::Index<Id<T>> for Entities<T> {
    type Output = T;

    #[inline]
    fn index(&self, id: Id<T>) -> &T {
        debug_assert!(id.tag() == self.tag, "id of another module");
        &self.arena[id.arena()]
    }
}

impl<T> std::ops::IndexMut<Id<T>> for Entities<T> {
    #[inline]
    fn index_mut(&mut self, id: Id<T>) -> &mut T {
        debug_assert!(id.tag() == self.tag, "id of another module");
        &mut self.arena[id.arena()]
    }
}
