//! The kernel's `bpf(2)` wire structs: the command numbers of `enum bpf_cmd` and, per command,
//! a `#[repr(C)]` copy of the member of `union bpf_attr` that the command reads.
//!
//! Layouts follow `include/uapi/linux/bpf.h` field for field, including the 8-byte alignment
//! of the `__aligned_u64` pointer fields. Each struct is passed to the kernel with its own
//! size (not the size of the whole union): the kernel treats the missing tail as zero, and a
//! kernel older than the struct refuses non-zero bytes it does not know with `E2BIG`, so a
//! field left at zero is always compatible. Only the commands bpfir issues are here; new ones
//! are added as new structs beside these, shaped like their `union bpf_attr` member.

use std::fmt;

/// A `bpf(2)` command (`enum bpf_cmd`), with its kernel number as discriminant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u32)]
pub enum Command {
    /// `BPF_MAP_CREATE`: create a map, returns its fd.
    MapCreate = 0,
    /// `BPF_PROG_LOAD`: verify and load a program, returns its fd.
    ProgLoad = 5,
    /// `BPF_PROG_TEST_RUN`: run a loaded program once on given input.
    ProgTestRun = 10,
    /// `BPF_OBJ_GET_INFO_BY_FD`: describe a program, map, BTF or link.
    ObjGetInfoByFd = 15,
    /// `BPF_BTF_LOAD`: check and load a BTF blob, returns its fd.
    BtfLoad = 18,
}

impl Command {
    /// The kernel's name of the command (`BPF_BTF_LOAD`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Command::MapCreate => "BPF_MAP_CREATE",
            Command::ProgLoad => "BPF_PROG_LOAD",
            Command::ProgTestRun => "BPF_PROG_TEST_RUN",
            Command::ObjGetInfoByFd => "BPF_OBJ_GET_INFO_BY_FD",
            Command::BtfLoad => "BPF_BTF_LOAD",
        }
    }

    /// The command number passed as the first argument of `bpf(2)`.
    pub fn number(self) -> u32 {
        self as u32
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Log level bit `BPF_LOG_LEVEL1`: report why a load failed.
pub const BPF_LOG_LEVEL1: u32 = 1;
/// Log level bit `BPF_LOG_LEVEL2`: also trace every step (verbose).
pub const BPF_LOG_LEVEL2: u32 = 2;
/// Log level bit `BPF_LOG_STATS`: append statistics.
pub const BPF_LOG_STATS: u32 = 4;
/// Log level bit `BPF_LOG_FIXED` (kernel 6.4+): keep the head of an overflowing log instead of
/// its tail.
pub const BPF_LOG_FIXED: u32 = 8;

/// Flag `BPF_F_TOKEN_FD` (in `btf_flags` and friends): the `*_token_fd` field holds a BPF
/// token granting the command.
pub const BPF_F_TOKEN_FD: u32 = 1 << 15;

/// The attr of `BPF_BTF_LOAD` (the anonymous `union bpf_attr` member "for BPF_BTF_LOAD"):
/// 40 bytes, 8-byte aligned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct BtfLoadAttr {
    /// User address of the BTF blob (header, types, strings) in the host's byte order.
    pub btf: u64,
    /// User address of a buffer the kernel writes its NUL-terminated log into; 0 for none.
    pub btf_log_buf: u64,
    /// Length of the blob at `btf`, in bytes.
    pub btf_size: u32,
    /// Length of the buffer at `btf_log_buf`, in bytes (at least 128 when a buffer is given).
    pub btf_log_size: u32,
    /// `BPF_LOG_*` bits; must be non-zero exactly when a log buffer is given.
    pub btf_log_level: u32,
    /// Output (kernel 6.4+): the log size, terminating NUL included, that the whole log
    /// would have needed; larger than `btf_log_size` when the log was truncated (`ENOSPC`).
    pub btf_log_true_size: u32,
    /// `BPF_F_*` flags; only [`BPF_F_TOKEN_FD`] is defined.
    pub btf_flags: u32,
    /// A BPF token fd, read when `btf_flags` has [`BPF_F_TOKEN_FD`].
    pub btf_token_fd: i32,
}

/// A `#[repr(C)]` member of `union bpf_attr`, passed to the kernel by address with its size.
///
/// # Safety
///
/// Implementors must be `#[repr(C)]` structs made only of integers, laid out exactly like the
/// kernel's member for the commands they are used with, so that the kernel may read and
/// write `size_of::<Self>()` bytes at their address.
pub(crate) unsafe trait Attr {}

// SAFETY: `BtfLoadAttr` is `#[repr(C)]`, holds only integers and mirrors the kernel's
// BPF_BTF_LOAD member of `union bpf_attr` (checked by the layout test below).
unsafe impl Attr for BtfLoadAttr {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    #[test]
    fn btf_load_attr_matches_the_kernel_layout() {
        assert_eq!(size_of::<BtfLoadAttr>(), 40);
        assert_eq!(align_of::<BtfLoadAttr>(), 8);
        assert_eq!(offset_of!(BtfLoadAttr, btf), 0);
        assert_eq!(offset_of!(BtfLoadAttr, btf_log_buf), 8);
        assert_eq!(offset_of!(BtfLoadAttr, btf_size), 16);
        assert_eq!(offset_of!(BtfLoadAttr, btf_log_size), 20);
        assert_eq!(offset_of!(BtfLoadAttr, btf_log_level), 24);
        assert_eq!(offset_of!(BtfLoadAttr, btf_log_true_size), 28);
        assert_eq!(offset_of!(BtfLoadAttr, btf_flags), 32);
        assert_eq!(offset_of!(BtfLoadAttr, btf_token_fd), 36);
    }

    #[test]
    fn command_numbers_and_names() {
        assert_eq!(Command::BtfLoad.number(), 18);
        assert_eq!(Command::ProgLoad.number(), 5);
        assert_eq!(Command::BtfLoad.to_string(), "BPF_BTF_LOAD");
    }
}
