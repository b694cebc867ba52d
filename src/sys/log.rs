//! The kernel's log of a failed load, shared by `BPF_BTF_LOAD` and `BPF_PROG_LOAD`.
//!
//! A load is tried first without a log (cheap, and it yields the true `errno`); only when it
//! fails is it retried with a log buffer of [`INITIAL_LOG_SIZE`] bytes, grown on `ENOSPC` (to
//! the size the kernel says it needed, or double) up to [`MAX_LOG_SIZE`]. `EPERM` and
//! `ENOSYS` are not retried: the kernel says nothing more about them. `EACCES` is, because
//! it is how the verifier refuses most unsafe programs.
//!
//! Costs: one system call for a success; for a failure, one more per buffer size tried, each
//! with a zeroed buffer of that size.

use super::attr::{BPF_LOG_LEVEL1, BPF_LOG_LEVEL2};
use super::{Command, Errno, SysError};

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

/// How one attempt went wrong.
pub(crate) enum Attempt {
    /// The kernel refused it.
    Errno(Errno),
    /// Something that retrying cannot change.
    Fatal(SysError),
}

/// A log buffer handed to one attempt, with the `BPF_LOG_*` level to ask for.
pub(crate) struct LogBuf<'a> {
    /// The buffer the kernel writes its NUL-terminated log into.
    pub buf: &'a mut [u8],
    /// Non-zero `BPF_LOG_*` bits.
    pub level: u32,
}

/// Runs `attempt` without a log; when it fails with an `errno` other than `EPERM` or
/// `ENOSYS` and `level` asks for a log, runs it again with log buffers of growing size until
/// the log fits. `attempt` returns its outcome and the log size the kernel said it needed
/// (its `*_log_true_size` output, 0 from kernels before 6.4).
///
/// The error carries the `errno` of the first attempt, so that a truncated log's `ENOSPC`
/// does not hide it.
pub(crate) fn with_log_retry<T>(
    command: Command,
    level: LogLevel,
    mut attempt: impl FnMut(Option<LogBuf<'_>>) -> (Result<T, Attempt>, usize),
) -> Result<T, SysError> {
    let errno = match attempt(None).0 {
        Ok(value) => return Ok(value),
        Err(Attempt::Errno(errno)) => errno,
        Err(Attempt::Fatal(err)) => return Err(err),
    };
    let failed = |log: String, log_truncated: bool| SysError::Syscall {
        command,
        errno,
        log,
        log_truncated,
    };
    let bits = level.bits();
    if bits == 0 || matches!(errno, Errno::EPERM | Errno::ENOSYS) {
        return Err(failed(String::new(), false));
    }
    let mut size = INITIAL_LOG_SIZE;
    loop {
        let mut buf = vec![0u8; size];
        let (result, true_size) = attempt(Some(LogBuf {
            buf: &mut buf,
            level: bits,
        }));
        match result {
            // The retry succeeded where the first attempt failed (a transient failure such
            // as ENOMEM): the caller gets what it asked for.
            Ok(value) => return Ok(value),
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

/// The NUL-terminated text the kernel wrote into a log buffer.
pub(crate) fn log_text(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// An attempt that fails like a kernel whose log needs `need` bytes.
    fn fake_kernel(
        need: usize,
        sizes: &mut Vec<usize>,
    ) -> impl FnMut(Option<LogBuf<'_>>) -> (Result<(), Attempt>, usize) + '_ {
        move |log| match log {
            None => (Err(Attempt::Errno(Errno::EINVAL)), 0),
            Some(LogBuf { buf, level }) => {
                assert_eq!(level, 1);
                sizes.push(buf.len());
                let text = b"verifier says no\n";
                let n = text.len().min(buf.len());
                buf[..n].copy_from_slice(&text[..n]);
                if buf.len() < need {
                    (Err(Attempt::Errno(Errno::ENOSPC)), need)
                } else {
                    (Err(Attempt::Errno(Errno::EACCES)), need)
                }
            }
        }
    }

    #[test]
    fn retry_grows_to_the_size_the_kernel_asks_for() {
        let mut sizes = Vec::new();
        let err = with_log_retry(
            Command::ProgLoad,
            LogLevel::Basic,
            fake_kernel(300_000, &mut sizes),
        )
        .unwrap_err();
        assert_eq!(sizes, vec![INITIAL_LOG_SIZE, 300_000]);
        assert_eq!(err.errno(), Some(Errno::EINVAL));
        assert_eq!(err.log(), "verifier says no");
        assert!(matches!(
            err,
            SysError::Syscall {
                log_truncated: false,
                ..
            }
        ));
    }

    #[test]
    fn retry_stops_at_the_largest_buffer() {
        let mut sizes = Vec::new();
        let err = with_log_retry(
            Command::ProgLoad,
            LogLevel::Basic,
            fake_kernel(usize::MAX, &mut sizes),
        )
        .unwrap_err();
        assert_eq!(sizes.last(), Some(&MAX_LOG_SIZE));
        assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{sizes:?}");
        assert!(matches!(
            err,
            SysError::Syscall {
                log_truncated: true,
                ..
            }
        ));
    }

    #[test]
    fn no_retry_without_a_level_or_permission() {
        let mut sizes = Vec::new();
        let err = with_log_retry(Command::ProgLoad, LogLevel::Off, fake_kernel(1, &mut sizes))
            .unwrap_err();
        assert!(sizes.is_empty());
        assert_eq!(err.log(), "");
        let mut calls = 0;
        let err = with_log_retry(Command::ProgLoad, LogLevel::Basic, |_| {
            calls += 1;
            (Err::<(), _>(Attempt::Errno(Errno::EPERM)), 0)
        })
        .unwrap_err();
        assert_eq!(calls, 1);
        assert!(err.is_not_permitted());
    }
}
