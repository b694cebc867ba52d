//! The kernel layer: the `bpf(2)` system call and the objects it returns.
//!
//! * [`attr`] — the `#[repr(C)]` members of `union bpf_attr` and the command numbers.
//! * [`BtfFd`], [`MapFd`], [`ProgFd`] (in `fd`) — owned fds of kernel objects, closed on drop.
//! * [`ProgType`], [`AttachType`], [`MapType`] — the kernel's numbered enums (defined in
//!   [`abi`](crate::abi), re-exported here).
//! * [`load_btf`] (in `btf`) — `BPF_BTF_LOAD`, with the kernel's log text on failure;
//!   [`probe`] tells whether `bpf()` is usable here at all.
//! * [`create_map`], [`update_elem`], [`lookup_elem`], [`freeze_map`] (in `map`).
//! * [`load_prog`] (in `prog`) — `BPF_PROG_LOAD`, with the verifier log on failure.
//! * [`test_run`] (in `test_run`) — `BPF_PROG_TEST_RUN`.
//! * [`prog_info`], [`map_info`] (in `info`) — `BPF_OBJ_GET_INFO_BY_FD`.
//! * [`program_kind`] (in `progtype`) — libbpf's section-name conventions: which program
//!   type, attach type and attach target a section name means.
//!
//! This is the only module of the crate with `unsafe` code: the raw system call, and turning
//! the integers it returns into [`OwnedFd`](std::os::fd::OwnedFd)s. Every other function here
//! is safe: it builds the attr itself from borrowed slices that outlive the call.
//!
//! Errors are [`SysError`]: the command, the `errno`, and what the kernel said in its log.
//! Costs: one system call per attempt; a failing load with logging enabled is retried with a
//! log buffer that starts at 64 KiB and grows up to 16 MiB (see `log`, shared by BTF and
//! program loads).
#![allow(unsafe_code)]

pub mod attr;
mod btf;
mod fd;
mod info;
mod kernel_btf;
mod log;
mod map;
mod mmap;
mod pin;
mod prog;
mod progtype;
mod test_run;

use std::fmt;
use std::io;

pub use attr::Command;
pub use btf::{load_btf, probe};
// The kernel enums are plain numbers: they live in `abi`, usable without this feature.
pub use crate::abi::{AttachType, MapType, ProgType};
pub use fd::{BtfFd, MapFd, ProgFd};
pub use info::{map_info, prog_info, MapInfo, ProgInfo};
pub use kernel_btf::{btf_bytes, kernel_btf_objects, KernelBtfObject};
pub use log::{LogLevel, INITIAL_LOG_SIZE, MAX_LOG_SIZE};
pub use map::{
    create_map, freeze_map, lookup_elem, update_elem, MapCreate, BPF_ANY, BPF_EXIST, BPF_NOEXIST,
};
pub use mmap::{mmap_map, page_size, MapMmap};
pub use pin::{get_pinned_map, pin_map};
pub use prog::{load_prog, ProgLoad, BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS};
pub use progtype::{autoload, program_kind, AttachTarget, BtfTarget, BtfTargetKind, ProgramKind};
pub use test_run::{test_run, TestRun, TestRunResult};

/// An error number returned by the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    /// Operation not permitted (no `CAP_BPF`/`CAP_SYS_ADMIN`, or a locked-down kernel).
    pub const EPERM: Errno = Errno(libc::EPERM);
    /// No such file or directory (nothing pinned at a path, no such map key).
    pub const ENOENT: Errno = Errno(libc::ENOENT);
    /// Interrupted system call (retried internally).
    pub const EINTR: Errno = Errno(libc::EINTR);
    /// Bad file descriptor.
    pub const EBADF: Errno = Errno(libc::EBADF);
    /// Permission denied (e.g. by an LSM, or the verifier refusing a program).
    pub const EACCES: Errno = Errno(libc::EACCES);
    /// Bad user address.
    pub const EFAULT: Errno = Errno(libc::EFAULT);
    /// Invalid argument: the usual answer to a malformed blob or program.
    pub const EINVAL: Errno = Errno(libc::EINVAL);
    /// The log buffer was too small for the kernel's log.
    pub const ENOSPC: Errno = Errno(libc::ENOSPC);
    /// Argument list too long: the attr has non-zero bytes this kernel does not know, or an
    /// object is too big.
    pub const E2BIG: Errno = Errno(libc::E2BIG);
    /// The system call does not exist (kernel built without `CONFIG_BPF_SYSCALL`, or blocked
    /// by seccomp).
    pub const ENOSYS: Errno = Errno(libc::ENOSYS);
    /// Out of memory (historically also: `RLIMIT_MEMLOCK` exceeded).
    pub const ENOMEM: Errno = Errno(libc::ENOMEM);

    /// The symbolic name of well-known error numbers (`EINVAL`, ...).
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            libc::EPERM => "EPERM",
            libc::ENOENT => "ENOENT",
            libc::EINTR => "EINTR",
            libc::E2BIG => "E2BIG",
            libc::EBADF => "EBADF",
            libc::EAGAIN => "EAGAIN",
            libc::ENOMEM => "ENOMEM",
            libc::EACCES => "EACCES",
            libc::EFAULT => "EFAULT",
            libc::EBUSY => "EBUSY",
            libc::EEXIST => "EEXIST",
            libc::EINVAL => "EINVAL",
            libc::ENOSPC => "ENOSPC",
            libc::ERANGE => "ERANGE",
            libc::ENOSYS => "ENOSYS",
            libc::EOPNOTSUPP => "EOPNOTSUPP",
            // The kernel-internal ENOTSUPP leaks out of bpf() for some unsupported features.
            524 => "ENOTSUPP",
            _ => return None,
        })
    }

    /// The error number of the last failed system call of this thread.
    fn last() -> Errno {
        Errno(io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = io::Error::from_raw_os_error(self.0).to_string();
        match self.name() {
            Some(name) => write!(f, "{name} ({text})"),
            None => f.write_str(&text),
        }
    }
}

/// An error of the kernel layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SysError {
    /// The kernel refused a command.
    #[error("bpf({command}) failed with {errno}{}", LogTail(log, *log_truncated))]
    Syscall {
        /// The command that failed.
        command: Command,
        /// The error number the kernel returned (from the first attempt, before any retry
        /// with a log buffer, so that a truncated log's `ENOSPC` does not hide it).
        errno: Errno,
        /// The kernel's log (verifier or BTF checker), empty when none was asked for or
        /// the kernel wrote none.
        log: String,
        /// True when the log did not fit in the largest buffer tried; then `log` holds
        /// what the kernel kept (its tail on kernels 6.4+, its head before).
        log_truncated: bool,
    },
    /// An input does not fit in the attr's 32-bit size field.
    #[error("bpf({command}): {what} of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The command that was not issued.
        command: Command,
        /// What was too large (`"btf blob"`, ...).
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The largest length the command takes.
        limit: u64,
    },
    /// An argument is malformed; the command was not issued.
    #[error("bpf({command}): invalid {what}: {reason}")]
    InvalidArgument {
        /// The command that was not issued.
        command: Command,
        /// The argument (`"key"`, `"func_info"`, ...).
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Mapping a map's memory failed.
    #[error("mmap of {what}: {reason}")]
    Mmap {
        /// What was being mapped or written.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// The kernel returned success with a value the command never returns (e.g. a negative
    /// or out-of-range fd).
    #[error("bpf({command}) returned unexpected value {value}")]
    UnexpectedReturn {
        /// The command.
        command: Command,
        /// The value returned.
        value: i64,
    },
}

impl SysError {
    /// The error number, when the kernel returned one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            SysError::Syscall { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// The kernel's log text (empty when there is none).
    pub fn log(&self) -> &str {
        match self {
            SysError::Syscall { log, .. } => log,
            _ => "",
        }
    }

    /// True when `bpf()` is unavailable to this process rather than refusing the input:
    /// `EPERM` (missing capability, unprivileged bpf disabled, lockdown), `EACCES` from an
    /// LSM, or `ENOSYS` (no bpf syscall, or filtered by seccomp). `EACCES` from
    /// `BPF_PROG_LOAD` is the verifier refusing the program, not a permission error.
    pub fn is_not_permitted(&self) -> bool {
        match self {
            SysError::Syscall { command, errno, .. } => match *errno {
                Errno::EPERM | Errno::ENOSYS => true,
                Errno::EACCES => *command != Command::ProgLoad,
                _ => false,
            },
            _ => false,
        }
    }
}

/// The `name` field of a map or program: at most 15 bytes of `name` followed by NUL
/// padding, keeping only the characters the kernel accepts (`[A-Za-z0-9_.]`) and dropping
/// the others, so that a name never makes a load fail.
pub(crate) fn object_name(name: &str) -> [u8; attr::BPF_OBJ_NAME_LEN] {
    let mut out = [0u8; attr::BPF_OBJ_NAME_LEN];
    let kept = name
        .bytes()
        .filter(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.');
    for (slot, b) in out[..attr::BPF_OBJ_NAME_LEN - 1].iter_mut().zip(kept) {
        *slot = b;
    }
    out
}

/// The text of a NUL-padded name field.
pub(crate) fn name_text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// The length of a slice as the `u32` an attr holds, or [`SysError::TooLarge`].
pub(crate) fn slice_len(command: Command, what: &'static str, len: usize) -> Result<u32, SysError> {
    u32::try_from(len).map_err(|_| SysError::TooLarge {
        command,
        what,
        len,
        limit: u64::from(u32::MAX),
    })
}

/// Shows the last lines of a kernel log after an error message (the cause is at the end).
struct LogTail<'a>(&'a str, bool);

impl fmt::Display for LogTail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX_LINES: usize = 8;
        let log = self.0.trim_end();
        if log.is_empty() {
            return Ok(());
        }
        let lines: Vec<&str> = log.lines().collect();
        let skipped = lines.len().saturating_sub(MAX_LINES);
        f.write_str("; kernel log")?;
        if self.1 {
            f.write_str(" (truncated)")?;
        }
        if skipped > 0 {
            write!(f, " (last {MAX_LINES} of {} lines)", lines.len())?;
        }
        f.write_str(":")?;
        for line in &lines[skipped..] {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

/// Issues `bpf(command, attr, size_of::<A>())`, retrying on `EINTR`, and returns the
/// non-negative result or the error number.
///
/// # Safety
///
/// Every address stored in `attr` must point to memory valid for the reads and writes the
/// kernel makes for `command` (with the lengths stored beside it) for the duration of the
/// call, and `A` must be the attr struct of `command`.
pub(crate) unsafe fn bpf<A: attr::Attr>(command: Command, attr: &mut A) -> Result<i64, Errno> {
    loop {
        // SAFETY: `attr` is a live, exclusively borrowed `#[repr(C)]` attr (see `Attr`) of
        // `size_of::<A>()` bytes; the caller guarantees the addresses inside it.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                command.number() as libc::c_int,
                attr as *mut A as *mut libc::c_void,
                std::mem::size_of::<A>() as libc::c_uint,
            )
        };
        if ret >= 0 {
            // `c_long` is `i32` on 32-bit targets, so the conversion is not always a no-op.
            #[allow(clippy::useless_conversion)]
            return Ok(i64::from(ret));
        }
        let errno = Errno::last();
        if errno != Errno::EINTR {
            return Err(errno);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_are_sanitized_and_truncated() {
        assert_eq!(&object_name("my_map")[..7], b"my_map\0");
        assert_eq!(object_name("a-b c/d.e"), *b"abcd.e\0\0\0\0\0\0\0\0\0\0");
        let long = object_name("a_very_long_program_name");
        assert_eq!(&long[..15], b"a_very_long_pro");
        assert_eq!(long[15], 0);
        assert_eq!(name_text(&long), "a_very_long_pro");
        assert_eq!(object_name(""), [0; 16]);
        // Multi-byte characters are dropped whole, never split.
        assert_eq!(name_text(&object_name("pr\u{f6}g")), "prg");
    }

    #[test]
    fn errno_display_names_the_number() {
        assert_eq!(
            Errno::EINVAL.to_string(),
            format!("EINVAL ({})", io::Error::from_raw_os_error(libc::EINVAL))
        );
    }

    #[test]
    fn error_display_shows_the_log_tail() {
        let log: String = (1..=10).map(|i| format!("line {i}\n")).collect();
        let err = SysError::Syscall {
            command: Command::BtfLoad,
            errno: Errno::EINVAL,
            log,
            log_truncated: false,
        };
        let text = err.to_string();
        assert!(
            text.starts_with("bpf(BPF_BTF_LOAD) failed with EINVAL"),
            "{text}"
        );
        assert!(text.contains("(last 8 of 10 lines)"), "{text}");
        assert!(text.ends_with("\n  line 10"), "{text}");
        assert!(!text.contains("line 2\n"), "{text}");
        assert_eq!(err.errno(), Some(Errno::EINVAL));
        assert!(!err.is_not_permitted());
        let denied = SysError::Syscall {
            command: Command::BtfLoad,
            errno: Errno::EPERM,
            log: String::new(),
            log_truncated: false,
        };
        assert!(denied.is_not_permitted());
        assert!(denied
            .to_string()
            .ends_with("(Operation not permitted (os error 1))"));
    }
}
