//! A counting global allocator for the benches that report heap use: it forwards to the
//! system allocator and, inside a window opened by [`measure_heap`], tracks the bytes
//! allocated since the window opened and their maximum. Each bench binary installs it with
//! `#[global_allocator] static GLOBAL: CountingAlloc = CountingAlloc;`. Outside a window it
//! costs one relaxed atomic load per allocation.

#![allow(dead_code)] // each bench binary uses part of it

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// Forwards to the system allocator and, while [`COUNTING`] is set, tracks the heap bytes
/// allocated since the window opened and their maximum.
pub struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static CURRENT: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

impl CountingAlloc {
    #[inline]
    fn grow(n: usize) {
        if COUNTING.load(Ordering::Relaxed) {
            let now = CURRENT.fetch_add(n as isize, Ordering::Relaxed) + n as isize;
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
    }

    #[inline]
    fn shrink(n: usize) {
        if COUNTING.load(Ordering::Relaxed) {
            CURRENT.fetch_sub(n as isize, Ordering::Relaxed);
        }
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counters only observe sizes.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Self::grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            Self::grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) };
        Self::shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Count the new block before releasing the old one: a moving realloc holds both.
            Self::grow(new_size);
            Self::shrink(layout.size());
        }
        p
    }
}

/// Heap bytes seen by [`CountingAlloc`] while running one closure.
pub struct HeapUse {
    /// The most bytes allocated at once inside the window.
    pub peak: usize,
    /// The bytes still allocated when the window closed.
    pub retained: usize,
}

/// Runs `f` inside a counting window and keeps its result alive until the window closes, so
/// `retained` is what the parsed value holds.
pub fn measure_heap<T>(f: impl FnOnce() -> T) -> (T, HeapUse) {
    CURRENT.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::SeqCst);
    let value = black_box(f());
    COUNTING.store(false, Ordering::SeqCst);
    let heap = HeapUse {
        peak: PEAK.load(Ordering::Relaxed).max(0) as usize,
        retained: CURRENT.load(Ordering::Relaxed).max(0) as usize,
    };
    (value, heap)
}

/// Peak heap bytes allocated while `f` runs (its result is dropped after the window).
pub fn peak_heap<T>(f: impl FnOnce() -> T) -> usize {
    let (value, heap) = measure_heap(f);
    drop(value);
    heap.peak
}
