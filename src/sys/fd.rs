//! Owned file descriptors of kernel BPF objects.
//!
//! Each kind of object gets its own type around an [`OwnedFd`], so a BTF fd cannot be passed
//! where a map or program fd is wanted. A [`MapFd`] also remembers its map's type and element
//! sizes, which the element commands need to stay within the caller's buffers. The fd is closed when the value is dropped; the
//! kernel frees the object once no fd, pin or user refers to it. The kernel creates these fds
//! with `O_CLOEXEC`.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use super::{Command, MapType, SysError};

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

object_fd!(
    /// A program loaded into the kernel (`BPF_PROG_LOAD`); closing the last fd of an
    /// unattached, unpinned program unloads it.
    ProgFd
);

/// A map created in the kernel (`BPF_MAP_CREATE`), with the sizes its elements have.
///
/// The sizes are kept beside the fd because the kernel copies exactly `key_size` and
/// `value_size` bytes to and from the addresses of an element command: the element
/// functions check every slice against them before the system call.
#[derive(Debug)]
pub struct MapFd {
    fd: OwnedFd,
    map_type: MapType,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
}

impl MapFd {
    /// Wraps an owned map fd, asking the kernel (`BPF_OBJ_GET_INFO_BY_FD`) for the map's
    /// type and sizes. Fails when `fd` is not a map: `BPF_OBJ_GET_INFO_BY_FD` describes any
    /// BPF object, so the fd's kind is checked first by its `/proc/self/fd` link
    /// (`anon_inode:bpf-map`); where `/proc` is not mounted that check is skipped, and a
    /// non-map fd then fails at its first element command instead.
    pub fn from_owned(fd: OwnedFd) -> Result<MapFd, SysError> {
        let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()));
        if let Ok(target) = link {
            if target.as_os_str() != "anon_inode:bpf-map" {
                return Err(SysError::InvalidArgument {
                    command: Command::ObjGetInfoByFd,
                    what: "map fd",
                    reason: format!(
                        "fd {} is {}, not a bpf map",
                        fd.as_raw_fd(),
                        target.display()
                    ),
                });
            }
        }
        let info = super::info::map_info_of(fd.as_fd())?;
        Ok(MapFd {
            fd,
            map_type: MapType(info.map_type),
            key_size: info.key_size,
            value_size: info.value_size,
            max_entries: info.max_entries,
        })
    }

    /// Wraps a fd this module has just created a map with.
    pub(crate) fn created(
        fd: OwnedFd,
        map_type: MapType,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
    ) -> MapFd {
        MapFd {
            fd,
            map_type,
            key_size,
            value_size,
            max_entries,
        }
    }

    /// Gives up the typed wrapper and returns the fd.
    pub fn into_owned(self) -> OwnedFd {
        self.fd
    }

    /// The map's type.
    pub fn map_type(&self) -> MapType {
        self.map_type
    }

    /// Size of a key in bytes.
    pub fn key_size(&self) -> u32 {
        self.key_size
    }

    /// Size of a value in bytes (of one CPU's value, for per-CPU maps).
    pub fn value_size(&self) -> u32 {
        self.value_size
    }

    /// Capacity in entries.
    pub fn max_entries(&self) -> u32 {
        self.max_entries
    }
}

impl AsFd for MapFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for MapFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<MapFd> for OwnedFd {
    fn from(fd: MapFd) -> OwnedFd {
        fd.fd
    }
}
