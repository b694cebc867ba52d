//! `BPF_OBJ_GET_INFO_BY_FD` on programs and maps: what the kernel knows about a loaded
//! object (its id, tag, name, sizes, record counts).
//!
//! The info structs are passed with their full size as this crate knows them; the kernel
//! fills what it knows and leaves the rest, so on an older kernel the newer fields stay
//! zero. Every address field of the request is zero, so the kernel only reports counts and
//! copies out no arrays.
//!
//! Costs: one system call; the name is the only allocation.

use std::fmt::Write as _;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use super::attr::{InfoAttr, MapInfoWire, ProgInfoWire};
use super::{bpf, name_text, Command, MapFd, MapType, ProgFd, ProgType, SysError};

/// A loaded program as the kernel describes it (`struct bpf_prog_info`, without its arrays).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProgInfo {
    /// The program type.
    pub prog_type: ProgType,
    /// System-wide program id (what `bpftool prog show` lists).
    pub id: u32,
    /// The program's tag: the first 8 bytes of the SHA-1 of its instructions with map fds
    /// blanked, the same for the same bytes however often they are loaded.
    pub tag: [u8; 8],
    /// The name given at load time (sanitized, at most 15 bytes).
    pub name: String,
    /// Length of the verifier-rewritten instructions in bytes.
    pub xlated_len: u32,
    /// Length of the JIT-compiled code in bytes (0 without the JIT).
    pub jited_len: u32,
    /// Load time in nanoseconds since boot.
    pub load_time_ns: u64,
    /// Uid of the loading process.
    pub created_by_uid: u32,
    /// Number of maps the program uses.
    pub nr_map_ids: u32,
    /// True when the license is GPL-compatible.
    pub gpl_compatible: bool,
    /// Id of the program's BTF object (0 without BTF).
    pub btf_id: u32,
    /// Number of func_info records the kernel kept.
    pub nr_func_info: u32,
    /// Number of line_info records the kernel kept.
    pub nr_line_info: u32,
    /// Number of JIT-compiled functions.
    pub nr_jited_ksyms: u32,
    /// Instructions the verifier processed.
    pub verified_insns: u32,
    /// Kernel BTF type id of the attach target.
    pub attach_btf_id: u32,
    /// Id of the BTF object holding `attach_btf_id`.
    pub attach_btf_obj_id: u32,
    /// Total run time in nanoseconds (counted with `kernel.bpf_stats_enabled`).
    pub run_time_ns: u64,
    /// Number of runs (counted with `kernel.bpf_stats_enabled`).
    pub run_cnt: u64,
}

impl ProgInfo {
    /// The tag as 16 lowercase hex digits, as `bpftool prog show` prints it.
    pub fn tag_hex(&self) -> String {
        let mut out = String::with_capacity(16);
        for b in self.tag {
            // Writing to a String cannot fail.
            let _ = write!(out, "{b:02x}");
        }
        out
    }
}

/// A map as the kernel describes it (`struct bpf_map_info`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MapInfo {
    /// The map type.
    pub map_type: MapType,
    /// System-wide map id.
    pub id: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Capacity in entries.
    pub max_entries: u32,
    /// Creation flags.
    pub map_flags: u32,
    /// The name given at creation.
    pub name: String,
    /// Id of the map's BTF object (0 without BTF).
    pub btf_id: u32,
    /// BTF type id of the key.
    pub btf_key_type_id: u32,
    /// BTF type id of the value.
    pub btf_value_type_id: u32,
    /// Per-map-type extra.
    pub map_extra: u64,
}

/// The info structs `get_info` may fill: `#[repr(C)]`, integers only, defaulting to all
/// zero (no address fields set).
trait InfoStruct: Copy + Default {}

impl InfoStruct for ProgInfoWire {}
impl InfoStruct for MapInfoWire {}

/// Asks the kernel to fill `info` (an info struct whose address fields are all zero) for
/// the object `fd`.
fn get_info<T: InfoStruct>(fd: BorrowedFd<'_>, info: &mut T) -> Result<(), SysError> {
    let command = Command::ObjGetInfoByFd;
    let mut attr = InfoAttr {
        bpf_fd: fd.as_raw_fd() as u32,
        // Info structs are a few hundred bytes.
        info_len: std::mem::size_of::<T>() as u32,
        info: info as *mut T as u64,
    };
    // SAFETY: `attr.info` points to the exclusively borrowed `info`, `info_len` bytes long,
    // which the kernel writes at most (it truncates to the smaller of its and our sizes).
    // `T: InfoStruct` is one of the `#[repr(C)]` integer-only info structs of `attr`, and
    // the callers pass it defaulted (every address field zero), so the kernel writes
    // through no other pointer.
    // `InfoAttr` is the attr of BPF_OBJ_GET_INFO_BY_FD.
    unsafe { bpf(command, &mut attr) }
        .map(drop)
        .map_err(|errno| SysError::Syscall {
            command,
            errno,
            log: String::new(),
            log_truncated: false,
        })
}

/// Describes a loaded program (`BPF_OBJ_GET_INFO_BY_FD`).
pub fn prog_info(prog: &ProgFd) -> Result<ProgInfo, SysError> {
    let mut w = ProgInfoWire::default();
    get_info(prog.as_fd(), &mut w)?;
    Ok(ProgInfo {
        prog_type: ProgType(w.prog_type),
        id: w.id,
        tag: w.tag,
        name: name_text(&w.name),
        xlated_len: w.xlated_prog_len,
        jited_len: w.jited_prog_len,
        load_time_ns: w.load_time,
        created_by_uid: w.created_by_uid,
        nr_map_ids: w.nr_map_ids,
        gpl_compatible: w.gpl_compatible & 1 != 0,
        btf_id: w.btf_id,
        nr_func_info: w.nr_func_info,
        nr_line_info: w.nr_line_info,
        nr_jited_ksyms: w.nr_jited_ksyms,
        verified_insns: w.verified_insns,
        attach_btf_id: w.attach_btf_id,
        attach_btf_obj_id: w.attach_btf_obj_id,
        run_time_ns: w.run_time_ns,
        run_cnt: w.run_cnt,
    })
}

/// The raw map info of any fd (used to wrap foreign map fds).
pub(crate) fn map_info_of(fd: BorrowedFd<'_>) -> Result<MapInfoWire, SysError> {
    let mut w = MapInfoWire::default();
    get_info(fd, &mut w)?;
    Ok(w)
}

/// Describes a map (`BPF_OBJ_GET_INFO_BY_FD`).
pub fn map_info(map: &MapFd) -> Result<MapInfo, SysError> {
    let w = map_info_of(map.as_fd())?;
    Ok(MapInfo {
        map_type: MapType(w.map_type),
        id: w.id,
        key_size: w.key_size,
        value_size: w.value_size,
        max_entries: w.max_entries,
        map_flags: w.map_flags,
        name: name_text(&w.name),
        btf_id: w.btf_id,
        btf_key_type_id: w.btf_key_type_id,
        btf_value_type_id: w.btf_value_type_id,
        map_extra: w.map_extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_hex_is_16_lowercase_digits() {
        let info = ProgInfo {
            prog_type: ProgType::SOCKET_FILTER,
            id: 1,
            tag: [0x0a, 0xbc, 0, 0xff, 1, 2, 3, 0x4d],
            name: String::new(),
            xlated_len: 0,
            jited_len: 0,
            load_time_ns: 0,
            created_by_uid: 0,
            nr_map_ids: 0,
            gpl_compatible: true,
            btf_id: 0,
            nr_func_info: 0,
            nr_line_info: 0,
            nr_jited_ksyms: 0,
            verified_insns: 0,
            attach_btf_id: 0,
            attach_btf_obj_id: 0,
            run_time_ns: 0,
            run_cnt: 0,
        };
        assert_eq!(info.tag_hex(), "0abc00ff0102034d");
    }
}
