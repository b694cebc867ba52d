//! Maps: `BPF_MAP_CREATE`, `BPF_MAP_UPDATE_ELEM`, `BPF_MAP_LOOKUP_ELEM`, `BPF_MAP_FREEZE`.
//!
//! The kernel copies exactly the map's key size and value size from (and to) the addresses
//! of an element command, so every slice is checked against the sizes a [`MapFd`] carries
//! before the call: a short slice is an [`SysError::InvalidArgument`], never a read or write
//! past its end. Per-CPU maps (whose values are one slot per possible CPU) are refused by
//! the element functions for now.
//!
//! Costs: one system call each; no allocation beyond the returned fd.

use std::os::fd::{AsRawFd, BorrowedFd};

use super::attr::{MapCreateAttr, MapElemAttr};
use super::fd::owned_fd;
use super::{bpf, object_name, Command, MapFd, MapType, SysError};

/// Update flag `BPF_ANY`: create the element or replace it.
pub const BPF_ANY: u64 = 0;
/// Update flag `BPF_NOEXIST`: create the element only if it does not exist.
pub const BPF_NOEXIST: u64 = 1;
/// Update flag `BPF_EXIST`: replace the element only if it exists.
pub const BPF_EXIST: u64 = 2;

/// What `BPF_MAP_CREATE` needs: the fields of its attr, with fds borrowed for the call.
#[derive(Clone, Copy, Debug)]
pub struct MapCreate<'a> {
    /// The map type.
    pub map_type: MapType,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Capacity in entries.
    pub max_entries: u32,
    /// `BPF_F_*` map creation flags.
    pub map_flags: u32,
    /// The inner map template of a map-in-map.
    pub inner_map_fd: Option<BorrowedFd<'a>>,
    /// NUMA node, read when `map_flags` has `BPF_F_NUMA_NODE`.
    pub numa_node: u32,
    /// The map's name; sanitized and truncated to 15 bytes (see `object_name`).
    pub name: &'a str,
    /// BTF object holding the key and value types.
    pub btf_fd: Option<BorrowedFd<'a>>,
    /// BTF type id of the key (0 for none).
    pub btf_key_type_id: u32,
    /// BTF type id of the value (0 for none).
    pub btf_value_type_id: u32,
    /// Kernel BTF type id of the value of a `struct_ops` map.
    pub btf_vmlinux_value_type_id: u32,
    /// Per-map-type extra (bloom filter hash count, arena address).
    pub map_extra: u64,
    /// Network device to offload the map to; 0 for none.
    pub map_ifindex: u32,
}

impl<'a> MapCreate<'a> {
    /// A map of `map_type` with the given sizes, no name, no BTF, no flags.
    pub fn new(map_type: MapType, key_size: u32, value_size: u32, max_entries: u32) -> Self {
        MapCreate {
            map_type,
            key_size,
            value_size,
            max_entries,
            map_flags: 0,
            inner_map_fd: None,
            numa_node: 0,
            name: "",
            btf_fd: None,
            btf_key_type_id: 0,
            btf_value_type_id: 0,
            btf_vmlinux_value_type_id: 0,
            map_extra: 0,
            map_ifindex: 0,
        }
    }
}

/// A borrowed fd as the `u32` an attr holds (0 for none; fds are non-negative).
pub(crate) fn fd_field(fd: Option<BorrowedFd<'_>>) -> u32 {
    fd.map_or(0, |fd| fd.as_raw_fd() as u32)
}

/// Creates a map (`BPF_MAP_CREATE`).
pub fn create_map(map: &MapCreate<'_>) -> Result<MapFd, SysError> {
    let command = Command::MapCreate;
    let mut attr = MapCreateAttr {
        map_type: map.map_type.0,
        key_size: map.key_size,
        value_size: map.value_size,
        max_entries: map.max_entries,
        map_flags: map.map_flags,
        inner_map_fd: fd_field(map.inner_map_fd),
        numa_node: map.numa_node,
        map_name: object_name(map.name),
        map_ifindex: map.map_ifindex,
        btf_fd: fd_field(map.btf_fd),
        btf_key_type_id: map.btf_key_type_id,
        btf_value_type_id: map.btf_value_type_id,
        btf_vmlinux_value_type_id: map.btf_vmlinux_value_type_id,
        map_extra: map.map_extra,
        ..MapCreateAttr::default()
    };
    // SAFETY: `MapCreateAttr` is the attr of BPF_MAP_CREATE and holds no addresses.
    let ret = unsafe { bpf(command, &mut attr) }.map_err(|errno| SysError::Syscall {
        command,
        errno,
        log: String::new(),
        log_truncated: false,
    })?;
    // SAFETY: BPF_MAP_CREATE returns a new fd that nothing else owns.
    let fd = unsafe { owned_fd(command, ret) }?;
    Ok(MapFd::created(
        fd,
        map.map_type,
        map.key_size,
        map.value_size,
        map.max_entries,
    ))
}

/// Checks that an element buffer has exactly the size the map's elements have.
fn check_size(
    command: Command,
    map: &MapFd,
    what: &'static str,
    len: usize,
    size: u32,
) -> Result<(), SysError> {
    if map.map_type().is_per_cpu() {
        return Err(SysError::InvalidArgument {
            command,
            what: "map",
            reason: format!(
                "{} element access is not supported (one value per possible cpu)",
                map.map_type()
            ),
        });
    }
    if len as u64 != u64::from(size) {
        return Err(SysError::InvalidArgument {
            command,
            what,
            reason: format!("{len} bytes given, the map's {what} size is {size}"),
        });
    }
    Ok(())
}

/// Issues an element command whose attr `check_size` has validated.
fn elem_command(command: Command, attr: &mut MapElemAttr) -> Result<(), SysError> {
    // SAFETY: the callers set `key` and `value` to slices of exactly the map's key and value
    // sizes (checked by `check_size`), alive and (for the value of a lookup) exclusively
    // borrowed for the call; `MapElemAttr` is the attr of the BPF_MAP_*_ELEM commands.
    unsafe { bpf(command, attr) }
        .map(drop)
        .map_err(|errno| SysError::Syscall {
            command,
            errno,
            log: String::new(),
            log_truncated: false,
        })
}

/// Stores `value` under `key` (`BPF_MAP_UPDATE_ELEM`) with `flags` ([`BPF_ANY`],
/// [`BPF_NOEXIST`], [`BPF_EXIST`], optionally `BPF_F_LOCK`). Both slices must have exactly
/// the map's sizes.
pub fn update_elem(map: &MapFd, key: &[u8], value: &[u8], flags: u64) -> Result<(), SysError> {
    let command = Command::MapUpdateElem;
    check_size(command, map, "key", key.len(), map.key_size())?;
    check_size(command, map, "value", value.len(), map.value_size())?;
    let mut attr = MapElemAttr {
        map_fd: map.as_raw_fd() as u32,
        key: key.as_ptr() as u64,
        value: value.as_ptr() as u64,
        flags,
        ..MapElemAttr::default()
    };
    elem_command(command, &mut attr)
}

/// Copies the value stored under `key` into `value_out` (`BPF_MAP_LOOKUP_ELEM`). Both
/// slices must have exactly the map's sizes; a missing key is `ENOENT`.
pub fn lookup_elem(map: &MapFd, key: &[u8], value_out: &mut [u8]) -> Result<(), SysError> {
    let command = Command::MapLookupElem;
    check_size(command, map, "key", key.len(), map.key_size())?;
    check_size(command, map, "value", value_out.len(), map.value_size())?;
    let mut attr = MapElemAttr {
        map_fd: map.as_raw_fd() as u32,
        key: key.as_ptr() as u64,
        value: value_out.as_mut_ptr() as u64,
        ..MapElemAttr::default()
    };
    elem_command(command, &mut attr)
}

/// Freezes a map (`BPF_MAP_FREEZE`): from now on user space cannot change it (programs
/// still can, unless it was created with `BPF_F_RDONLY_PROG`).
pub fn freeze_map(map: &MapFd) -> Result<(), SysError> {
    let command = Command::MapFreeze;
    let mut attr = MapElemAttr {
        map_fd: map.as_raw_fd() as u32,
        ..MapElemAttr::default()
    };
    // SAFETY: BPF_MAP_FREEZE reads only `map_fd`; `MapElemAttr` is its attr.
    unsafe { bpf(command, &mut attr) }
        .map(drop)
        .map_err(|errno| SysError::Syscall {
            command,
            errno,
            log: String::new(),
            log_truncated: false,
        })
}
