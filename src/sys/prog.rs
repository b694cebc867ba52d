//! `BPF_PROG_LOAD`: hand a program (bytecode, license, BTF func_info/line_info, CO-RE
//! relocations) to the verifier, which returns its fd or refuses it with a log.
//!
//! The record arrays are passed as raw bytes in the host's byte order, as the lowering emits
//! them; their counts are derived from the lengths and record sizes, which must divide them.
//! A failed load is retried with a log buffer (see `log`), so the error carries the
//! verifier's explanation.
//!
//! Costs: one verification for a success; for a failure, one more per log buffer size tried.

use std::ffi::CString;
use std::os::fd::{BorrowedFd, RawFd};

use super::attr::ProgLoadAttr;
use super::fd::owned_fd;
use super::log::{with_log_retry, Attempt, LogBuf, LogLevel};
use super::map::fd_field;
use super::{bpf, object_name, slice_len, AttachType, Command, ProgFd, ProgType, SysError};
use crate::insn::SLOT_BYTES;

/// Program flag `BPF_F_SLEEPABLE`: the program may sleep (`.s` sections).
pub const BPF_F_SLEEPABLE: u32 = 1 << 4;
/// Program flag `BPF_F_XDP_HAS_FRAGS`: the XDP program handles multi-buffer packets
/// (`xdp.frags` sections).
pub const BPF_F_XDP_HAS_FRAGS: u32 = 1 << 5;

/// What `BPF_PROG_LOAD` needs: the fields of its attr, borrowed for the call.
#[derive(Clone, Copy, Debug)]
pub struct ProgLoad<'a> {
    /// The program type.
    pub prog_type: ProgType,
    /// The attach type, for the program types that need it at load time.
    pub expected_attach_type: AttachType,
    /// The encoded instructions in the host's byte order (a multiple of 8 bytes).
    pub insns: &'a [u8],
    /// The license (`"GPL"`, `"Dual MIT/GPL"`, ...); must not contain NUL.
    pub license: &'a str,
    /// `LINUX_VERSION_CODE` (ignored by current kernels).
    pub kern_version: u32,
    /// `BPF_F_*` program flags.
    pub prog_flags: u32,
    /// The program's name; sanitized and truncated to 15 bytes.
    pub name: &'a str,
    /// BTF object that `func_info` and `line_info` refer to.
    pub prog_btf_fd: Option<BorrowedFd<'a>>,
    /// `bpf_func_info` records (instruction index, `FUNC` type id).
    pub func_info: &'a [u8],
    /// Size of one func_info record (8).
    pub func_info_rec_size: u32,
    /// `bpf_line_info` records.
    pub line_info: &'a [u8],
    /// Size of one line_info record (16).
    pub line_info_rec_size: u32,
    /// Kernel BTF type id of the attach target.
    pub attach_btf_id: u32,
    /// Module BTF holding `attach_btf_id` (none for vmlinux).
    pub attach_btf_obj_fd: Option<BorrowedFd<'a>>,
    /// Target program of an `freplace` or a tracing program attached to a program; shares
    /// its attr field with `attach_btf_obj_fd`, so at most one of the two may be given.
    pub attach_prog_fd: Option<BorrowedFd<'a>>,
    /// Fds that `BPF_PSEUDO_MAP_IDX` loads and kfunc calls index. Only indexed: the
    /// kernel is not told its length (`fd_array_cnt` stays 0), which binds nothing extra and
    /// works on kernels before 6.13.
    pub fd_array: Option<&'a [RawFd]>,
    /// `bpf_core_relo` records for kernel-side CO-RE.
    pub core_relos: &'a [u8],
    /// Size of one `bpf_core_relo` record (16).
    pub core_relo_rec_size: u32,
    /// How much the verifier should say when the load fails.
    pub log_level: LogLevel,
    /// Network device to offload the program to; 0 for none.
    pub prog_ifindex: u32,
}

impl<'a> ProgLoad<'a> {
    /// A program of `prog_type` with the given instructions and license; no name, no BTF,
    /// no attach type, the kernel's record sizes, and a basic log on failure.
    pub fn new(prog_type: ProgType, insns: &'a [u8], license: &'a str) -> Self {
        ProgLoad {
            prog_type,
            expected_attach_type: AttachType::default(),
            insns,
            license,
            kern_version: 0,
            prog_flags: 0,
            name: "",
            prog_btf_fd: None,
            func_info: &[],
            func_info_rec_size: 8,
            line_info: &[],
            line_info_rec_size: 16,
            attach_btf_id: 0,
            attach_btf_obj_fd: None,
            attach_prog_fd: None,
            fd_array: None,
            core_relos: &[],
            core_relo_rec_size: 16,
            log_level: LogLevel::Basic,
            prog_ifindex: 0,
        }
    }
}

/// The number of `rec_size`-byte records in `bytes`, or why it is not a whole number.
fn record_count(what: &'static str, bytes: &[u8], rec_size: u32) -> Result<u32, SysError> {
    let invalid = |reason: String| SysError::InvalidArgument {
        command: Command::ProgLoad,
        what,
        reason,
    };
    if bytes.is_empty() {
        return Ok(0);
    }
    if rec_size == 0 {
        return Err(invalid(format!(
            "{} bytes of records with record size 0",
            bytes.len()
        )));
    }
    if !(bytes.len() as u64).is_multiple_of(u64::from(rec_size)) {
        return Err(invalid(format!(
            "{} bytes is not a multiple of the record size {rec_size}",
            bytes.len()
        )));
    }
    slice_len(Command::ProgLoad, what, bytes.len() / rec_size as usize)
}

/// The address of a slice for an attr, 0 when it is empty.
fn addr(bytes: &[u8]) -> u64 {
    if bytes.is_empty() {
        0
    } else {
        bytes.as_ptr() as u64
    }
}

/// Loads a program (`BPF_PROG_LOAD`).
///
/// The arguments are checked first (instruction bytes a multiple of 8, record arrays a
/// multiple of their record sizes, a license without NUL, at most one of
/// `attach_btf_obj_fd`/`attach_prog_fd`). On failure the error carries the `errno` of the
/// first attempt (`EACCES` or `EINVAL` for most verifier refusals) and, unless `log_level`
/// is [`LogLevel::Off`] or the failure is `EPERM`/`ENOSYS`, the verifier's log.
pub fn load_prog(prog: &ProgLoad<'_>) -> Result<ProgFd, SysError> {
    let command = Command::ProgLoad;
    let invalid = |what: &'static str, reason: String| SysError::InvalidArgument {
        command,
        what,
        reason,
    };
    if !prog.insns.len().is_multiple_of(SLOT_BYTES) {
        return Err(invalid(
            "insns",
            format!(
                "{} bytes is not a multiple of the instruction size {SLOT_BYTES}",
                prog.insns.len()
            ),
        ));
    }
    let insn_cnt = slice_len(command, "insns", prog.insns.len() / SLOT_BYTES)?;
    let license = CString::new(prog.license)
        .map_err(|e| invalid("license", format!("nul byte at {}", e.nul_position())))?;
    let func_info_cnt = record_count("func_info", prog.func_info, prog.func_info_rec_size)?;
    let line_info_cnt = record_count("line_info", prog.line_info, prog.line_info_rec_size)?;
    let core_relo_cnt = record_count("core_relos", prog.core_relos, prog.core_relo_rec_size)?;
    let attach_fd = match (prog.attach_btf_obj_fd, prog.attach_prog_fd) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "attach target",
                "attach_btf_obj_fd and attach_prog_fd share one field; give one".to_string(),
            ))
        }
        (btf, prog_fd) => fd_field(btf.or(prog_fd)),
    };
    let attr = ProgLoadAttr {
        prog_type: prog.prog_type.0,
        insn_cnt,
        insns: addr(prog.insns),
        license: license.as_ptr() as u64,
        kern_version: prog.kern_version,
        prog_flags: prog.prog_flags,
        prog_name: object_name(prog.name),
        prog_ifindex: prog.prog_ifindex,
        expected_attach_type: prog.expected_attach_type.0,
        prog_btf_fd: fd_field(prog.prog_btf_fd),
        func_info_rec_size: if func_info_cnt == 0 {
            0
        } else {
            prog.func_info_rec_size
        },
        func_info: addr(prog.func_info),
        func_info_cnt,
        line_info_rec_size: if line_info_cnt == 0 {
            0
        } else {
            prog.line_info_rec_size
        },
        line_info: addr(prog.line_info),
        line_info_cnt,
        attach_btf_id: prog.attach_btf_id,
        attach_fd,
        core_relo_cnt,
        fd_array: prog.fd_array.map_or(0, |fds| fds.as_ptr() as u64),
        core_relos: addr(prog.core_relos),
        core_relo_rec_size: if core_relo_cnt == 0 {
            0
        } else {
            prog.core_relo_rec_size
        },
        ..ProgLoadAttr::default()
    };
    with_log_retry(command, prog.log_level, |log| load_once(attr, log))
}

/// One `BPF_PROG_LOAD` call with `attr`, with or without a log buffer. Also returns the log
/// size the kernel says it needed.
fn load_once(mut attr: ProgLoadAttr, log: Option<LogBuf<'_>>) -> (Result<ProgFd, Attempt>, usize) {
    if let Some(LogBuf { buf, level }) = log {
        // Buffers are at most MAX_LOG_SIZE, far below u32::MAX.
        attr.log_size = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        attr.log_buf = buf.as_mut_ptr() as u64;
        attr.log_level = level;
    }
    // SAFETY: `load_prog` built `attr` from slices borrowed by the `ProgLoad` (instructions,
    // records, fd array) and the `license` CString, all alive until `load_prog` returns,
    // with lengths and counts computed from those slices; the log buffer (when set) is the
    // exclusively borrowed `buf` of `log_size` bytes. `ProgLoadAttr` is the attr of
    // BPF_PROG_LOAD. The kernel reads `fd_array` only at indices the instructions name and
    // refuses indices it cannot read.
    let result = unsafe { bpf(Command::ProgLoad, &mut attr) };
    let true_size = attr.log_true_size as usize;
    let result = match result {
        // SAFETY: BPF_PROG_LOAD returns a new fd that nothing else owns.
        Ok(ret) => unsafe { owned_fd(Command::ProgLoad, ret) }
            .map(ProgFd::from_owned)
            .map_err(Attempt::Fatal),
        Err(errno) => Err(Attempt::Errno(errno)),
    };
    (result, true_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_arguments_are_refused_before_the_call() {
        let insns = [0u8; 12];
        let err = load_prog(&ProgLoad::new(ProgType::SOCKET_FILTER, &insns, "GPL")).unwrap_err();
        assert!(err.to_string().contains("invalid insns: 12 bytes"), "{err}");
        let insns = [0u8; 16];
        let err = load_prog(&ProgLoad::new(ProgType::SOCKET_FILTER, &insns, "G\0PL")).unwrap_err();
        assert!(
            err.to_string().contains("invalid license: nul byte at 1"),
            "{err}"
        );
        let func_info = [0u8; 12];
        let err = load_prog(&ProgLoad {
            func_info: &func_info,
            ..ProgLoad::new(ProgType::SOCKET_FILTER, &insns, "GPL")
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("invalid func_info: 12 bytes is not a multiple of the record size 8"),
            "{err}"
        );
        let err = load_prog(&ProgLoad {
            line_info: &func_info,
            line_info_rec_size: 0,
            ..ProgLoad::new(ProgType::SOCKET_FILTER, &insns, "GPL")
        })
        .unwrap_err();
        assert!(err.to_string().contains("record size 0"), "{err}");
    }

    #[test]
    fn record_counts() {
        assert_eq!(record_count("x", &[], 0).unwrap(), 0);
        assert_eq!(record_count("x", &[0; 32], 16).unwrap(), 2);
        assert!(record_count("x", &[0; 33], 16).is_err());
    }
}
