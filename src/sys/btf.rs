//! `BPF_BTF_LOAD`: hand a BTF blob to the kernel, which checks it and returns an fd.
//!
//! The kernel wants the blob in the host's byte order with a header it knows (24 bytes, or
//! a longer one whose tail is zero) and a string section that begins and ends with NUL; it
//! refuses anything else with `EINVAL` and says why in its log. A load is tried first
//! without a log (cheap, and it yields the true `errno`); only when it fails is it retried
//! with a log buffer, grown on `ENOSPC` up to [`MAX_LOG_SIZE`].

use super::attr::{BtfLoadAttr, BPF_LOG_LEVEL1, BPF_LOG_LEVEL2};
use super::fd::owned_fd;
use super::{bpf, BtfFd, Command, Errno, SysError};
use crate::Endian;

/// Size of the first log buffer of a retry.
pub const INITIAL_LOG_SIZE: usize = 64 * 1024;
/// Largest log buffer a retry grows to; a longer log is returned truncated.
pub const MAX_LOG_SIZE: usize = 16 * 1024 * 1024;

/// How much the kernel should say when a load fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LogLevel {
    /// No log: a failed load is not retried, the error carries only the `errno`.
    Off,
    /// `BPF_LOG_LEVEL1`: retry a failed load with a log of what went wrong.
    #[default]
    Basic,
    /// `BPF_LOG_LEVEL2`: retry with the kernel's verbose log.
    Verbose,
}

impl LogLevel {
    /// The `BPF_LOG_*` bits of this level.
    pub fn bits(self) -> u32 {
        match self {
            LogLevel::Off => 0,
            LogLevel::Basic => BPF_LOG_LEVEL1,
            LogLevel::Verbose => BPF_LOG_LEVEL2,
        }
    }
}

/// Loads a BTF blob (as [`Btf::to_bytes`](crate::btf::Btf::to_bytes) makes it, in the
/// host's byte order) into the kernel.
///
/// On failure the error carries the `errno` of the first attempt and, unless `log` is
/// [`LogLevel::Off`] or the failure is a permission error, the kernel's log from a retry.
pub fn load_btf(blob: &[u8], log: LogLevel) -> Result<BtfFd, SysError> {
    let command = Command::BtfLoad;
    let btf_size = u32::try_from(blob.len()).map_err(|_| SysError::TooLarge {
        command,
        what: "btf blob",
        len: blob.len(),
        limit: u64::from(u32::MAX),
    })?;
    let errno = match load_once(blob, btf_size, None).0 {
        Ok(fd) => return Ok(fd),
        Err(Attempt::Errno(errno)) => errno,
        Err(Attempt::Fatal(err)) => return Err(err),
    };
    let failed = |log: String, log_truncated: bool| SysError::Syscall {
        command,
        errno,
        log,
        log_truncated,
    };
    let level = log.bits();
    if level == 0 || matches!(errno, Errno::EPERM | Errno::EACCES | Errno::ENOSYS) {
        return Err(failed(String::new(), false));
    }
    let mut size = INITIAL_LOG_SIZE;
    loop {
        let mut buf = vec![0u8; size];
        let (result, true_size) = load_once(blob, btf_size, Some((&mut buf, level)));
        match result {
            // The retry succeeded where the first attempt failed (a transient failure such
            // as ENOMEM): the caller gets what it asked for.
            Ok(fd) => return Ok(fd),
            Err(Attempt::Fatal(err)) => return Err(err),
            Err(Attempt::Errno(Errno::ENOSPC)) if size < MAX_LOG_SIZE => {
                // The kernel (6.4+) reports how much it needed; older ones report 0.
                size = true_size.max(size.saturating_mul(2)).min(MAX_LOG_SIZE);
            }
            Err(Attempt::Errno(retry_errno)) => {
                return Err(failed(log_text(&buf), retry_errno == Errno::ENOSPC));
            }
        }
    }
}

/// How one attempt went wrong.
enum Attempt {
    /// The kernel refused it.
    Errno(Errno),
    /// Something that retrying cannot change.
    Fatal(SysError),
}

/// One `BPF_BTF_LOAD` call, with or without a log buffer. Also returns the log size the
/// kernel says it needed (`btf_log_true_size`; 0 from kernels before 6.4).
fn load_once(
    blob: &[u8],
    btf_size: u32,
    log: Option<(&mut [u8], u32)>,
) -> (Result<BtfFd, Attempt>, usize) {
    let mut attr = BtfLoadAttr {
        btf: blob.as_ptr() as u64,
        btf_size,
        ..BtfLoadAttr::default()
    };
    if let Some((buf, level)) = log {
        // Buffers are at most MAX_LOG_SIZE, far below u32::MAX.
        attr.btf_log_size = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        attr.btf_log_buf = buf.as_mut_ptr() as u64;
        attr.btf_log_level = level;
    }
    // SAFETY: `attr.btf` points to `blob`, `btf_size` bytes long, and `attr.btf_log_buf`
    // (when set) to the exclusively borrowed `buf` of `btf_log_size` bytes; both outlive
    // the call. `BtfLoadAttr` is the attr of BPF_BTF_LOAD.
    let result = unsafe { bpf(Command::BtfLoad, &mut attr) };
    let true_size = attr.btf_log_true_size as usize;
    let result = match result {
        // SAFETY: BPF_BTF_LOAD returns a new fd that nothing else owns.
        Ok(ret) => unsafe { owned_fd(Command::BtfLoad, ret) }
            .map(BtfFd::from_owned)
            .map_err(Attempt::Fatal),
        Err(errno) => Err(Attempt::Errno(errno)),
    };
    (result, true_size)
}

/// The NUL-terminated text the kernel wrote into a log buffer.
fn log_text(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).trim_end().to_string()
}

/// The smallest valid BTF in the host's byte order: a 24-byte header, one type
/// (`int`, 4 bytes, signed, 32 bits) and the strings `"\0int\0"`.
pub(crate) fn minimal_btf() -> Vec<u8> {
    let e = Endian::native();
    let mut b = Vec::with_capacity(24 + 16 + 5);
    b.extend_from_slice(&e.u16_bytes(crate::btf::MAGIC));
    b.push(1); // version
    b.push(0); // flags
    for word in [24u32, 0, 16, 16, 5] {
        // hdr_len, type_off, type_len, str_off, str_len
        b.extend_from_slice(&e.u32_bytes(word));
    }
    // name_off = 1 ("int"), info = kind INT (1) << 24, size = 4, then the INT word:
    // encoding SIGNED (1) << 24, bit offset 0, 32 bits.
    for word in [1u32, 1 << 24, 4, (1 << 24) | 32] {
        b.extend_from_slice(&e.u32_bytes(word));
    }
    b.extend_from_slice(b"\0int\0");
    b
}

/// Tells whether `bpf()` works for this process by loading the smallest valid BTF (one
/// `int`, 45 bytes). An error for which [`SysError::is_not_permitted`] holds means the
/// kernel layer is unavailable here (tests skip); any other error is a real failure.
pub fn probe() -> Result<(), SysError> {
    load_btf(&minimal_btf(), LogLevel::Basic).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::{Btf, IntEncoding};

    #[test]
    fn minimal_btf_is_what_the_builder_makes() {
        let mut btf = Btf::new(Endian::native());
        btf.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
        assert_eq!(minimal_btf(), btf.to_bytes());
    }

    #[test]
    fn log_text_stops_at_nul_and_trims() {
        assert_eq!(log_text(b"bad magic\n\0garbage"), "bad magic");
        assert_eq!(log_text(b"no nul"), "no nul");
        assert_eq!(log_text(b"\0"), "");
    }

    #[test]
    fn log_levels_map_to_kernel_bits() {
        assert_eq!(LogLevel::Off.bits(), 0);
        assert_eq!(LogLevel::Basic.bits(), 1);
        assert_eq!(LogLevel::Verbose.bits(), 2);
    }
}
