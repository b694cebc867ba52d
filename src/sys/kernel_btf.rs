//! The kernel's own BTF objects (vmlinux and one per module with BTF), found by walking
//! every BTF object the kernel holds (`BPF_BTF_GET_NEXT_ID`), opening each
//! (`BPF_BTF_GET_FD_BY_ID`) and asking its name and whether it is the kernel's
//! (`BPF_OBJ_GET_INFO_BY_FD`); the raw bytes of one are fetched on demand.
//!
//! Objects loaded by programs (`BPF_BTF_LOAD`) are skipped. A BTF object that goes away
//! between two calls (a module unloaded) is skipped too.
//!
//! Costs: three system calls per BTF object in the kernel (each fd of a user object is
//! closed at once); [`btf_bytes`] two more and a buffer of the BTF's size.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use super::attr::{BtfInfoWire, IdAttr, InfoAttr};
use super::fd::owned_fd;
use super::{bpf, name_text, BtfFd, Command, Errno, SysError};

/// The largest BTF this module fetches: 256 MiB (vmlinux is a few MiB, modules less).
const MAX_BTF_BYTES: u32 = 256 << 20;

/// One of the kernel's BTF objects, open.
#[derive(Debug)]
#[non_exhaustive]
pub struct KernelBtfObject {
    /// System-wide id of the BTF object.
    pub id: u32,
    /// `vmlinux`, or the module's name.
    pub name: String,
    /// Its fd (what `fd_array` and `BPF_PSEUDO_BTF_ID` name a module BTF by).
    pub fd: BtfFd,
    /// Size of its raw BTF in bytes.
    pub btf_size: u32,
}

fn syscall_error(command: Command) -> impl FnOnce(Errno) -> SysError {
    move |errno| SysError::Syscall {
        command,
        errno,
        log: String::new(),
        log_truncated: false,
    }
}

/// The id of the BTF object after `start` (`Ok(None)` after the last one).
fn next_id(start: u32) -> Result<Option<u32>, SysError> {
    let command = Command::BtfGetNextId;
    let mut attr = IdAttr {
        id: start,
        ..IdAttr::default()
    };
    // SAFETY: `IdAttr` is the attr of BPF_BTF_GET_NEXT_ID; it holds no address.
    match unsafe { bpf(command, &mut attr) } {
        Ok(_) => Ok(Some(attr.next_id)),
        Err(errno) if errno == Errno::ENOENT => Ok(None),
        Err(errno) => Err(syscall_error(command)(errno)),
    }
}

/// Opens BTF object `id` (`Ok(None)` when it went away).
fn fd_by_id(id: u32) -> Result<Option<BtfFd>, SysError> {
    let command = Command::BtfGetFdById;
    let mut attr = IdAttr {
        id,
        ..IdAttr::default()
    };
    // SAFETY: `IdAttr` is the attr of BPF_BTF_GET_FD_BY_ID; it holds no address.
    match unsafe { bpf(command, &mut attr) } {
        // SAFETY: BPF_BTF_GET_FD_BY_ID returns a new fd that nothing else owns.
        Ok(ret) => unsafe { owned_fd(command, ret) }.map(|fd| Some(BtfFd::from_owned(fd))),
        Err(errno) if errno == Errno::ENOENT => Ok(None),
        Err(errno) => Err(syscall_error(command)(errno)),
    }
}

/// Asks the kernel about a BTF object, copying its name into `name` and, when `btf` is
/// given, its raw bytes into it (at most its length).
fn btf_info(
    fd: BorrowedFd<'_>,
    name: &mut [u8],
    btf: Option<&mut [u8]>,
) -> Result<BtfInfoWire, SysError> {
    let command = Command::ObjGetInfoByFd;
    let mut info = BtfInfoWire {
        name: name.as_mut_ptr() as u64,
        // Name buffers are small (64 bytes).
        name_len: name.len() as u32,
        ..BtfInfoWire::default()
    };
    if let Some(b) = btf {
        info.btf = b.as_mut_ptr() as u64;
        // The callers bound the buffer by MAX_BTF_BYTES.
        info.btf_size = b.len() as u32;
    }
    let mut attr = InfoAttr {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: std::mem::size_of::<BtfInfoWire>() as u32,
        info: &mut info as *mut BtfInfoWire as u64,
    };
    // SAFETY: `attr.info` points to the exclusively borrowed `info`, `info_len` bytes
    // long; `info.name` to the exclusively borrowed `name` of `name_len` bytes and
    // `info.btf` (when set) to the exclusively borrowed buffer of `btf_size` bytes; the
    // kernel writes at most those lengths, and all outlive the call. `InfoAttr` is the
    // attr of BPF_OBJ_GET_INFO_BY_FD.
    unsafe { bpf(command, &mut attr) }
        .map(|_| info)
        .map_err(syscall_error(command))
}

/// Every BTF object of the kernel itself (vmlinux first when the kernel lists it first,
/// which it does: it is created at boot), in id order. `Ok(vec![])` on a kernel without
/// module BTF iteration. Fails with the kernel's error when not permitted.
pub fn kernel_btf_objects() -> Result<Vec<KernelBtfObject>, SysError> {
    let mut out = Vec::new();
    let mut id = 0;
    while let Some(next) = next_id(id)? {
        id = next;
        let Some(fd) = fd_by_id(id)? else { continue };
        let mut name = [0u8; 64];
        let info = match btf_info(fd.as_fd(), &mut name, None) {
            Ok(i) => i,
            Err(e) if e.errno() == Some(Errno::ENOENT) => continue,
            Err(e) => return Err(e),
        };
        if info.kernel_btf == 0 {
            continue;
        }
        out.push(KernelBtfObject {
            id: info.id,
            name: name_text(&name),
            fd,
            btf_size: info.btf_size,
        });
    }
    Ok(out)
}

/// The raw bytes of an open BTF object (as `/sys/kernel/btf/<name>` holds them: for a
/// module, split BTF over vmlinux).
pub fn btf_bytes(fd: &BtfFd) -> Result<Vec<u8>, SysError> {
    let mut name = [0u8; 64];
    let size = btf_info(fd.as_fd(), &mut name, None)?.btf_size;
    if size > MAX_BTF_BYTES {
        return Err(SysError::TooLarge {
            command: Command::ObjGetInfoByFd,
            what: "btf",
            len: size as usize,
            limit: u64::from(MAX_BTF_BYTES),
        });
    }
    let mut buf = vec![0u8; size as usize];
    let info = btf_info(fd.as_fd(), &mut name, Some(&mut buf))?;
    buf.truncate(info.btf_size.min(size) as usize);
    Ok(buf)
}
