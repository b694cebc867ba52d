//! The C reference for the BTF benchmarks: libbpf's BTF API (`btf__new`, `btf__add_int`,
//! `btf__raw_data`, `btf__add_btf`, `btf__dedup`), linked from the system's `libbpf.so`
//! (feature `bench-libbpf`; e.g. Debian's libbpf-dev). Every call goes through a small safe
//! wrapper that owns the `struct btf` and frees it on drop.
#![cfg(feature = "bench-libbpf")]

use std::ffi::{c_char, c_int, c_void};

#[repr(C)]
struct RawBtf {
    _opaque: [u8; 0],
}

/// glibc's `struct mallinfo2` (all fields `size_t`).
#[repr(C)]
#[derive(Default)]
struct MallInfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

#[link(name = "bpf")]
extern "C" {
    fn btf__new(data: *const c_void, size: u32) -> *mut RawBtf;
    fn btf__new_empty() -> *mut RawBtf;
    fn btf__free(btf: *mut RawBtf);
    fn btf__type_cnt(btf: *const RawBtf) -> u32;
    fn btf__add_int(
        btf: *mut RawBtf,
        name: *const c_char,
        byte_sz: usize,
        encoding: c_int,
    ) -> c_int;
    fn btf__raw_data(btf: *const RawBtf, size: *mut u32) -> *const c_void;
    fn btf__add_btf(btf: *mut RawBtf, src: *const RawBtf) -> c_int;
    fn btf__dedup(btf: *mut RawBtf, opts: *const c_void) -> c_int;
    fn libbpf_major_version() -> u32;
    fn libbpf_minor_version() -> u32;
}

extern "C" {
    fn mallinfo2() -> MallInfo2;
}

/// `BTF_INT_SIGNED` of `linux/btf.h`.
pub const BTF_INT_SIGNED: i32 = 1;

/// The linked libbpf's version, `major.minor`.
pub fn version() -> String {
    // SAFETY: both take no arguments and return a number.
    unsafe { format!("{}.{}", libbpf_major_version(), libbpf_minor_version()) }
}

/// An owned libbpf `struct btf`, freed on drop.
pub struct LibbpfBtf(*mut RawBtf);

impl LibbpfBtf {
    /// `btf__new` over a copy libbpf makes of `bytes`; `None` when libbpf rejects it.
    pub fn parse(bytes: &[u8]) -> Option<LibbpfBtf> {
        let size = u32::try_from(bytes.len()).ok()?;
        // SAFETY: `bytes` is valid for `size` bytes; libbpf copies it and returns NULL
        // (libbpf >= 1.0) on error.
        let p = unsafe { btf__new(bytes.as_ptr().cast(), size) };
        (!p.is_null()).then_some(LibbpfBtf(p))
    }

    /// `btf__new_empty`.
    pub fn empty() -> LibbpfBtf {
        // SAFETY: no arguments; NULL only when out of memory.
        let p = unsafe { btf__new_empty() };
        assert!(!p.is_null(), "btf__new_empty failed");
        LibbpfBtf(p)
    }

    /// Number of types, void included.
    pub fn type_cnt(&self) -> u32 {
        // SAFETY: `self.0` is a live btf.
        unsafe { btf__type_cnt(self.0) }
    }

    /// `btf__add_int`: the new type's id, or libbpf's negative error.
    pub fn add_int(&mut self, name: &std::ffi::CStr, size: usize, encoding: i32) -> i32 {
        // SAFETY: `self.0` is a live btf, `name` NUL-terminated.
        unsafe { btf__add_int(self.0, name.as_ptr(), size, encoding) }
    }

    /// `btf__raw_data`: the marshalled BTF (libbpf builds it when the BTF changed since the
    /// last call, else returns what it kept).
    pub fn raw_data(&self) -> &[u8] {
        let mut size = 0u32;
        // SAFETY: `self.0` is a live btf; the returned buffer is owned by it and lives until
        // the next change or free, which `&self` rules out while the slice is borrowed.
        unsafe {
            let p = btf__raw_data(self.0, &mut size);
            assert!(!p.is_null(), "btf__raw_data failed");
            std::slice::from_raw_parts(p.cast::<u8>(), size as usize)
        }
    }

    /// `btf__add_btf`: appends `src`'s types and strings.
    pub fn add_btf(&mut self, src: &LibbpfBtf) -> i32 {
        // SAFETY: both are live btfs.
        unsafe { btf__add_btf(self.0, src.0) }
    }

    /// `btf__dedup` with default options: 0 or libbpf's negative error.
    pub fn dedup(&mut self) -> i32 {
        // SAFETY: `self.0` is a live btf; NULL opts mean defaults.
        unsafe { btf__dedup(self.0, std::ptr::null()) }
    }
}

impl Drop for LibbpfBtf {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from `btf__new*` and is freed once.
        unsafe { btf__free(self.0) }
    }
}

/// Bytes glibc's malloc has handed out and not taken back (heap arena plus mmapped blocks).
pub fn malloc_in_use() -> usize {
    // SAFETY: `mallinfo2` takes no arguments and returns a plain struct.
    let m = unsafe { mallinfo2() };
    m.uordblks + m.hblkhd
}
