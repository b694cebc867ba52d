//! Pinning maps in a bpf filesystem (`BPF_OBJ_PIN`) and opening pinned maps (`BPF_OBJ_GET`),
//! as loaders do for maps with `pinning = LIBBPF_PIN_BY_NAME`.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::attr::{Command, ObjAttr};
use super::fd::owned_fd;
use super::{bpf, MapFd, SysError};

fn c_path(command: Command, path: &Path) -> Result<CString, SysError> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| SysError::InvalidArgument {
        command,
        what: "path",
        reason: format!("{} contains a NUL byte", path.display()),
    })
}

fn syscall_error(command: Command) -> impl FnOnce(super::Errno) -> SysError {
    move |errno| SysError::Syscall {
        command,
        errno,
        log: String::new(),
        log_truncated: false,
    }
}

/// Pins `map` at `path`, which must lie in a mounted bpf filesystem (e.g. `/sys/fs/bpf/x`).
pub fn pin_map(map: &MapFd, path: &Path) -> Result<(), SysError> {
    let command = Command::ObjPin;
    let c = c_path(command, path)?;
    let mut attr = ObjAttr {
        pathname: c.as_ptr() as u64,
        bpf_fd: map.as_raw_fd() as u32,
        ..ObjAttr::default()
    };
    // SAFETY: `pathname` points at a NUL-terminated string (`c`) alive for the call; the
    // kernel only reads it.
    unsafe { bpf(command, &mut attr) }
        .map(drop)
        .map_err(syscall_error(command))
}

/// Opens the map pinned at `path`; `Ok(None)` when nothing is pinned there.
pub fn get_pinned_map(path: &Path) -> Result<Option<MapFd>, SysError> {
    let command = Command::ObjGet;
    let c = c_path(command, path)?;
    let mut attr = ObjAttr {
        pathname: c.as_ptr() as u64,
        ..ObjAttr::default()
    };
    // SAFETY: as in `pin_map`; BPF_OBJ_GET returns a new fd owned by no one else.
    match unsafe { bpf(command, &mut attr) } {
        Ok(ret) => {
            // SAFETY: BPF_OBJ_GET returned a fresh fd that only we hold.
            let fd = unsafe { owned_fd(command, ret) }?;
            MapFd::from_owned(fd).map(Some)
        }
        Err(errno) if errno == super::Errno::ENOENT => Ok(None),
        Err(errno) => Err(syscall_error(command)(errno)),
    }
}
