//! libbpf's object loader, opened without loading (`bpf_object__open_mem`), linked from the
//! system's `libbpf.so` (feature `bench-libbpf`): the C reference the `open` bench compares
//! `Module::read` with.
#![cfg(feature = "bench-libbpf")]

use std::ffi::{c_char, c_int, c_void};

#[repr(C)]
struct BpfObject {
    _opaque: [u8; 0],
}

/// libbpf's print callback type; the variadic `va_list` is passed as an opaque pointer.
type PrintFn = Option<unsafe extern "C" fn(c_int, *const c_char, *mut c_void) -> c_int>;

#[link(name = "bpf")]
extern "C" {
    fn bpf_object__open_mem(buf: *const c_void, size: usize, opts: *const c_void)
        -> *mut BpfObject;
    fn bpf_object__close(obj: *mut BpfObject);
    fn libbpf_set_print(f: PrintFn) -> PrintFn;
}

/// Turns libbpf's log off (it prints a line for every object it opens otherwise).
pub fn silence() {
    // SAFETY: a NULL callback is documented to turn printing off.
    unsafe { libbpf_set_print(None) };
}

/// An opened (not loaded) libbpf `struct bpf_object`, closed on drop.
pub struct LibbpfObject(*mut BpfObject);

impl LibbpfObject {
    /// `bpf_object__open_mem` with default options over `bytes` (libbpf copies what it
    /// keeps); `None` when libbpf refuses the object.
    pub fn open(bytes: &[u8]) -> Option<LibbpfObject> {
        // SAFETY: `bytes` is valid for `bytes.len()` bytes for the call; NULL opts means the
        // defaults; libbpf >= 1.0 returns NULL on error.
        let p =
            unsafe { bpf_object__open_mem(bytes.as_ptr().cast(), bytes.len(), std::ptr::null()) };
        (!p.is_null()).then_some(LibbpfObject(p))
    }
}

impl Drop for LibbpfObject {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from `bpf_object__open_mem` and is closed once.
        unsafe { bpf_object__close(self.0) }
    }
}

/// `pkg-config --modversion libbpf`, or why it is unknown.
pub fn version() -> String {
    std::process::Command::new("pkg-config")
        .args(["--modversion", "libbpf"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown (pkg-config failed)".into())
}
