//! Owned file descriptors of kernel BPF objects.
//!
//! Each kind of object gets its own type around an [`OwnedFd`], so a BTF fd cannot be passed
//! where a map or program fd is wanted. The fd is closed when the value is dropped; the
//! kernel frees the object once no fd, pin or user refers to it. The kernel creates these fds
//! with `O_CLOEXEC`.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use super::{Command, SysError};

/// Turns a successful `bpf(2)` return value into an owned fd.
///
/// # Safety
///
/// `ret` must be the return value of a `bpf(2)` command that returns a new fd, owned by no
/// one else.
pub(crate) unsafe fn owned_fd(command: Command, ret: i64) -> Result<OwnedFd, SysError> {
    match RawFd::try_from(ret) {
        // SAFETY: the caller guarantees `ret` is a fresh fd returned to us alone; fds are
        // non-negative, which `bpf()` guarantees on success.
        Ok(fd) if fd >= 0 => Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
        _ => Err(SysError::UnexpectedReturn {
            command,
            value: ret,
        }),
    }
}

macro_rules! object_fd {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(OwnedFd);

        impl $name {
            /// Wraps an owned fd that refers to an object of this kind.
            pub fn from_owned(fd: OwnedFd) -> Self {
                $name(fd)
            }

            /// Gives up the typed wrapper and returns the fd.
            pub fn into_owned(self) -> OwnedFd {
                self.0
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.0.as_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.0.as_raw_fd()
            }
        }

        impl From<$name> for OwnedFd {
            fn from(fd: $name) -> OwnedFd {
                fd.0
            }
        }
    };
}

object_fd!(
    /// A BTF object loaded into the kernel (`BPF_BTF_LOAD`); programs and maps refer to it by
    /// this fd.
    BtfFd
);
