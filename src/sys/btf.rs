//! `BPF_BTF_LOAD`: hand a BTF blob to the kernel, which checks it and returns an fd.
//!
//! The kernel wants the blob in the host's byte order with a header it knows (24 bytes, or
//! a longer one whose tail is zero) and a string section that begins and ends with NUL; it
//! refuses anything else with `EINVAL` and says why in its log, which a failed load fetches
//! by retrying (see `log`).

use super::attr::BtfLoadAttr;
use super::fd::owned_fd;
use super::log::{with_log_retry, Attempt, LogBuf, LogLevel};
use super::{bpf, BtfFd, Command, SysError};
use crate::Endian;

/// Loads a BTF blob (as [`Btf::to_bytes`](crate::btf::Btf::to_bytes) makes it, in the
/// host's byte order) into the kernel.
///
/// On failure the error carries the `errno` of the first attempt and, unless `log` is
/// [`LogLevel::Off`] or the failure is `EPERM`/`ENOSYS`, the kernel's log from a retry.
pub fn load_btf(blob: &[u8], log: LogLevel) -> Result<BtfFd, SysError> {
    let command = Command::BtfLoad;
    let btf_size = u32::try_from(blob.len()).map_err(|_| SysError::TooLarge {
        command,
        what: "btf blob",
        len: blob.len(),
        limit: u64::from(u32::MAX),
    })?;
    with_log_retry(command, log, |log| load_once(blob, btf_size, log))
}

/// One `BPF_BTF_LOAD` call, with or without a log buffer. Also returns the log size the
/// kernel says it needed (`btf_log_true_size`; 0 from kernels before 6.4).
fn load_once(
    blob: &[u8],
    btf_size: u32,
    log: Option<LogBuf<'_>>,
) -> (Result<BtfFd, Attempt>, usize) {
    let mut attr = BtfLoadAttr {
        btf: blob.as_ptr() as u64,
        btf_size,
        ..BtfLoadAttr::default()
    };
    if let Some(LogBuf { buf, level }) = log {
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
}
