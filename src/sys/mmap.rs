//! Memory-mapping a map (`mmap` of a map fd): an arena map's pages, shared between the
//! programs and this process. Mapping an arena also fixes its user address, which the
//! verifier needs before it accepts programs that use the arena.
//!
//! The mapping is owned: it is unmapped when the [`MapMmap`] is dropped (the kernel keeps
//! the map, and the pages the programs allocated, while any fd or program holds it).

use std::os::fd::AsRawFd;

use super::{Errno, MapFd, SysError};

/// A shared, read-write mapping of a map's memory.
#[derive(Debug)]
pub struct MapMmap {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain shared memory owned by this value; moving it to another
// thread moves the ownership of the region, nothing in it is tied to a thread.
unsafe impl Send for MapMmap {}
// SAFETY: `&MapMmap` gives only the address and length; writes need `&mut`.
unsafe impl Sync for MapMmap {}

impl MapMmap {
    /// The address the map is mapped at (an arena's user address).
    pub fn addr(&self) -> u64 {
        self.ptr as u64
    }

    /// The mapping's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty mapping (never: mapping 0 bytes fails).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A copy of `len` bytes at `offset` (what programs wrote there), or `None` past the end.
    pub fn read(&self, offset: usize, len: usize) -> Option<Vec<u8>> {
        if offset.checked_add(len)? > self.len {
            return None;
        }
        let mut out = vec![0u8; len];
        // SAFETY: `[offset, offset + len)` lies inside the live mapping of `len` bytes;
        // programs may write it concurrently, so it is copied byte by byte with volatile
        // reads rather than referenced.
        for (i, b) in out.iter_mut().enumerate() {
            *b = unsafe { std::ptr::read_volatile(self.ptr.add(offset + i)) };
        }
        Some(out)
    }

    /// Copies `bytes` to the start of the mapping (an arena's initial globals).
    pub fn write_at_start(&mut self, bytes: &[u8]) -> Result<(), SysError> {
        if bytes.len() > self.len {
            return Err(SysError::Mmap {
                what: "initial bytes",
                reason: format!(
                    "{} bytes do not fit the {}-byte mapping",
                    bytes.len(),
                    self.len
                ),
            });
        }
        // SAFETY: `ptr` is a live read-write mapping of `len` bytes owned by `self`
        // (exclusively borrowed here), and `bytes.len() <= len`. Touching arena pages makes
        // the kernel allocate them (its fault handler), which is what initial values need.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr, bytes.len()) };
        Ok(())
    }
}

impl Drop for MapMmap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly the region `mmap` returned, mapped once, and no
        // reference into it outlives `self`.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

/// Maps `len` bytes of map `fd` shared and read-write; at address `addr` when it is not 0
/// (failing rather than replacing anything already mapped there), else where the kernel
/// chooses.
pub fn mmap_map(fd: &MapFd, len: usize, addr: u64) -> Result<MapMmap, SysError> {
    if len == 0 {
        return Err(SysError::Mmap {
            what: "map",
            reason: "0 bytes".into(),
        });
    }
    let flags = if addr == 0 {
        libc::MAP_SHARED
    } else {
        libc::MAP_SHARED | libc::MAP_FIXED_NOREPLACE
    };
    // SAFETY: a new mapping with no aliasing of existing memory: with a fixed address,
    // MAP_FIXED_NOREPLACE fails instead of replacing a mapping. `fd` is a live map fd.
    let ptr = unsafe {
        libc::mmap(
            addr as usize as *mut libc::c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            fd.as_raw_fd(),
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(SysError::Mmap {
            what: "map",
            reason: format!(
                "mmap of {len} bytes at {addr:#x} failed: {}",
                std::io::Error::from_raw_os_error(Errno::last().0)
            ),
        });
    }
    if addr != 0 && ptr as u64 != addr {
        // Kernels before 4.17 take MAP_FIXED_NOREPLACE as a hint only.
        let mapping = MapMmap {
            ptr: ptr.cast(),
            len,
        };
        drop(mapping);
        return Err(SysError::Mmap {
            what: "map",
            reason: format!("the kernel mapped it at {ptr:p}, not at {addr:#x}"),
        });
    }
    Ok(MapMmap {
        ptr: ptr.cast(),
        len,
    })
}

/// The size of a memory page (what ring buffer and arena sizes are counted in).
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions; it only reads a system value.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}
