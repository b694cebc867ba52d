//! Ids of a [`Module`](super::Module)'s entities ([`Id`]), and the tag that ties an id to
//! the module that made it.
//!
//! An id is the index of its entity in the module's `la_arena` arena. In debug builds
//! (`cfg(debug_assertions)`) it also carries the [tag](ModuleTag) of the module that made it:
//! a process-unique number drawn from a global counter by
//! [`Module::new`](super::Module::new). Every operation that takes an id compares the tags, so
//! an id of another module is refused (`IrError::ForeignEntity`) even when its index happens
//! to fall inside this module's range. In release builds the tag is a zero-sized type: an id
//! is 4 bytes like a bare `la_arena::Idx` (and so is `Option<Id>`: the index is stored plus
//! one), and only the range is checked (an id of another module that is in range names
//! whatever this module has at that index).
//!
//! | build   | `size_of::<InsnId>()` | checked by every entry                   |
//! |---------|-----------------------|------------------------------------------|
//! | debug   | 8                     | module tag, then range (`i12` dangling)  |
//! | release | 4                     | range only                               |
//!
//! A clone of a module keeps its tag, so the original's ids are valid in the clone (and the
//! other way round): cloning before a trial edit and keeping the ids works.
//!
//! Ids cannot be forged: there is no public constructor from a number. A module gives them
//! out ([`Module::add_function`](super::Module::add_function), its iterators,
//! [`Module::id_at`](super::Module::id_at) for an index), and [`Id::index`] gives the index
//! back for dense per-entity tables.
//!
//! The tag counter is 32 bits: ids of two modules made 2^32 module creations apart share a
//! tag (a debug check, not a security boundary).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::num::NonZeroU32;

/// The tag of the module that made an id. Zero-sized in release builds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ModuleTag {
    #[cfg(debug_assertions)]
    n: u32,
}

impl ModuleTag {
    /// No module's tag (the counter starts at 1): what an empty [`EntityMap`](super::EntityMap)
    /// would build ids with.
    pub(crate) const NONE: ModuleTag = ModuleTag {
        #[cfg(debug_assertions)]
        n: 0,
    };

    /// A tag no other module of this process has (in debug builds).
    pub(crate) fn fresh() -> ModuleTag {
        #[cfg(debug_assertions)]
        {
            use std::sync::atomic::{AtomicU32, Ordering};
            static NEXT: AtomicU32 = AtomicU32::new(1);
            ModuleTag {
                n: NEXT.fetch_add(1, Ordering::Relaxed),
            }
        }
        #[cfg(not(debug_assertions))]
        ModuleTag {}
    }
}

/// The id of an entity of type `T` in a [`Module`](super::Module): [`InsnId`](super::InsnId)
/// is `Id<Insn>`, [`FuncId`](super::FuncId) is `Id<Function>`, and so on.
///
/// An id is the index of its entity in the module's `la_arena` arena. In debug builds
/// (`cfg(debug_assertions)`) it also carries the tag of the module that made it: a
/// process-unique number drawn from a global counter by [`Module::new`](super::Module::new).
/// Every operation that takes an id compares the tags, so an id of another module is refused
/// ([`IrError::ForeignEntity`](super::IrError::ForeignEntity)) even when its index happens to
/// fall inside this module's range. In release builds the tag does not exist: an id is 4
/// bytes like a bare `la_arena::Idx` (and so is `Option<Id>`: the index is stored plus one),
/// and only the range is checked ([`IrError::NoSuchEntity`](super::IrError::NoSuchEntity));
/// an id of another module that is in range names whatever this module has at that index.
///
/// | build   | `size_of::<InsnId>()` | every checked entry refuses                    |
/// |---------|-----------------------|------------------------------------------------|
/// | debug   | 8                     | an id of another module, then one out of range |
/// | release | 4                     | an id out of range                             |
///
/// A clone of a module keeps its tag, so the original's ids are valid in the clone (and the
/// other way round): cloning before a trial edit and keeping the ids works. Ids of a module
/// read back from its written object, parsed from its text or linked from it are another
/// module's: map them by name.
///
/// Ids cannot be forged: there is no public constructor from a number. A module gives them
/// out ([`Module::add_function`](super::Module::add_function), its iterators,
/// [`Module::id_at`](super::Module::id_at) for an index), and [`Id::index`] gives the index
/// back for dense per-entity tables.
///
/// `Display` and `Debug` print the id as the dump does (`i12`, `f3`). Ids compare and order
/// by index (and, in debug builds, by module tag after it).
pub struct Id<T> {
    /// The index plus one, so `Option<Id>` takes no more room than an id.
    biased: NonZeroU32,
    tag: ModuleTag,
    _entity: PhantomData<fn() -> T>,
}

impl<T> Id<T> {
    /// The id of index `raw` in the module tagged `tag`.
    #[inline]
    pub(crate) fn new(raw: u32, tag: ModuleTag) -> Id<T> {
        Id {
            // Saturates only for index u32::MAX, which no arena reaches (4G entities).
            biased: NonZeroU32::MIN.saturating_add(raw),
            tag,
            _entity: PhantomData,
        }
    }

    /// The id of arena index `idx` in the module tagged `tag`.
    #[inline]
    pub(crate) fn from_arena(idx: la_arena::Idx<T>, tag: ModuleTag) -> Id<T> {
        Id::new(idx.into_raw().into_u32(), tag)
    }

    /// The arena index (the tag is dropped: check it first).
    #[inline]
    pub(crate) fn arena(self) -> la_arena::Idx<T> {
        la_arena::Idx::from_raw(la_arena::RawIdx::from_u32(self.raw()))
    }

    /// The tag of the module that made the id.
    #[inline]
    pub(crate) fn tag(self) -> ModuleTag {
        self.tag
    }

    /// The index of the entity in its module: ids are given out densely from 0 in creation
    /// order, so this fits a `Vec` indexed per entity. [`Module::id_at`](super::Module::id_at)
    /// turns it back into an id.
    #[inline]
    pub fn index(self) -> usize {
        self.raw() as usize
    }

    /// The id `k` indexes after this one, of the same module: the `k`-th of a run of
    /// entities allocated together (see `Module::append_insns`), which it names only when
    /// the run is longer than `k`.
    #[inline]
    pub(crate) fn nth_after(self, k: u32) -> Id<T> {
        Id {
            biased: self.biased.saturating_add(k),
            tag: self.tag,
            _entity: PhantomData,
        }
    }

    /// The index as the arena stores it.
    #[inline]
    fn raw(self) -> u32 {
        self.biased.get() - 1
    }
}

impl<T> Clone for Id<T> {
    #[inline]
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Id<T> {}

impl<T> PartialEq for Id<T> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.biased == other.biased && self.tag == other.tag
    }
}

impl<T> Eq for Id<T> {}

impl<T> Hash for Id<T> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Ids that are equal have equal indices; the tag adds nothing worth hashing.
        self.biased.hash(state);
    }
}

impl<T> PartialOrd for Id<T> {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Id<T> {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.biased
            .cmp(&other.biased)
            .then_with(|| self.tag_order(other))
    }
}

impl<T> Id<T> {
    #[cfg(debug_assertions)]
    fn tag_order(&self, other: &Self) -> std::cmp::Ordering {
        self.tag.n.cmp(&other.tag.n)
    }

    #[cfg(not(debug_assertions))]
    fn tag_order(&self, _other: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl<T: Entity> fmt::Display for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", T::PREFIX, self.raw())
    }
}

impl<T: Entity> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

pub(crate) mod sealed {
    /// Keeps [`Entity`](super::Entity) implemented by the module's entity types only, and
    /// lets [`Module::id_at`](crate::ir::Module::id_at) find the arena of each.
    pub trait Sealed: Sized {
        /// The id of index `index` in `m`'s arena of this type, if it has one.
        fn id_at(m: &crate::ir::Module, index: usize) -> Option<super::Id<Self>>;
    }
}

/// An entity type a [`Module`](super::Module) holds in an arena (instructions, functions,
/// maps, ...): what an [`Id`] can name. Sealed.
pub trait Entity: sealed::Sealed {
    /// The letter ids of this type print with (`i` for instructions, `f` for functions, ...).
    const PREFIX: &'static str;
}

#[cfg(test)]
mod tests {
    use crate::ir::{FuncId, InsnId};

    #[test]
    fn ids_are_four_bytes_in_release_and_carry_a_tag_in_debug() {
        let size = std::mem::size_of::<InsnId>();
        // `Option` costs nothing (the index is stored plus one).
        assert_eq!(std::mem::size_of::<Option<FuncId>>(), size);
        if cfg!(debug_assertions) {
            assert_eq!(size, 8);
        } else {
            assert_eq!(size, 4);
        }
    }
}
