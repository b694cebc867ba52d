//! The kernel's `bpf(2)` wire structs: the command numbers of `enum bpf_cmd` and, per command,
//! a `#[repr(C)]` copy of the member of `union bpf_attr` that the command reads.
//!
//! Layouts follow `include/uapi/linux/bpf.h` field for field, including the 8-byte alignment
//! of the `__aligned_u64` pointer fields. Each struct is passed to the kernel with its own
//! size (not the size of the whole union): the kernel treats the missing tail as zero, and a
//! kernel older than the struct refuses non-zero bytes it does not know with `E2BIG`, so a
//! field left at zero is always compatible. Only the commands bpfir issues are here; new ones
//! are added as new structs beside these, shaped like their `union bpf_attr` member.

use std::fmt;

/// A `bpf(2)` command (`enum bpf_cmd`), with its kernel number as discriminant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u32)]
pub enum Command {
    /// `BPF_MAP_CREATE`: create a map, returns its fd.
    MapCreate = 0,
    /// `BPF_MAP_LOOKUP_ELEM`: copy out the value stored under a key.
    MapLookupElem = 1,
    /// `BPF_MAP_UPDATE_ELEM`: store a value under a key.
    MapUpdateElem = 2,
    /// `BPF_PROG_LOAD`: verify and load a program, returns its fd.
    ProgLoad = 5,
    /// `BPF_OBJ_PIN`: pin an object in a bpf filesystem.
    ObjPin = 6,
    /// `BPF_OBJ_GET`: open a pinned object, returns its fd.
    ObjGet = 7,
    /// `BPF_PROG_TEST_RUN`: run a loaded program once on given input.
    ProgTestRun = 10,
    /// `BPF_OBJ_GET_INFO_BY_FD`: describe a program, map, BTF or link.
    ObjGetInfoByFd = 15,
    /// `BPF_BTF_LOAD`: check and load a BTF blob, returns its fd.
    BtfLoad = 18,
    /// `BPF_BTF_GET_FD_BY_ID`: open a BTF object by its id, returns its fd.
    BtfGetFdById = 19,
    /// `BPF_MAP_FREEZE`: make a map read-only for user space from now on.
    MapFreeze = 22,
    /// `BPF_BTF_GET_NEXT_ID`: the id of the next BTF object after a given one.
    BtfGetNextId = 23,
}

impl Command {
    /// The kernel's name of the command (`BPF_BTF_LOAD`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Command::MapCreate => "BPF_MAP_CREATE",
            Command::MapLookupElem => "BPF_MAP_LOOKUP_ELEM",
            Command::MapUpdateElem => "BPF_MAP_UPDATE_ELEM",
            Command::ProgLoad => "BPF_PROG_LOAD",
            Command::ProgTestRun => "BPF_PROG_TEST_RUN",
            Command::ObjGetInfoByFd => "BPF_OBJ_GET_INFO_BY_FD",
            Command::BtfLoad => "BPF_BTF_LOAD",
            Command::MapFreeze => "BPF_MAP_FREEZE",
            Command::BtfGetFdById => "BPF_BTF_GET_FD_BY_ID",
            Command::BtfGetNextId => "BPF_BTF_GET_NEXT_ID",
            Command::ObjPin => "BPF_OBJ_PIN",
            Command::ObjGet => "BPF_OBJ_GET",
        }
    }

    /// The command number passed as the first argument of `bpf(2)`.
    pub fn number(self) -> u32 {
        self as u32
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Log level bit `BPF_LOG_LEVEL1`: report why a load failed.
pub const BPF_LOG_LEVEL1: u32 = 1;
/// Log level bit `BPF_LOG_LEVEL2`: also trace every step (verbose).
pub const BPF_LOG_LEVEL2: u32 = 2;
/// Log level bit `BPF_LOG_STATS`: append statistics.
pub const BPF_LOG_STATS: u32 = 4;
/// Log level bit `BPF_LOG_FIXED` (kernel 6.4+): keep the head of an overflowing log instead of
/// its tail.
pub const BPF_LOG_FIXED: u32 = 8;

/// Flag `BPF_F_TOKEN_FD` (in `btf_flags` and friends): the `*_token_fd` field holds a BPF
/// token granting the command.
pub const BPF_F_TOKEN_FD: u32 = 1 << 15;

/// The attr of `BPF_BTF_LOAD` (the anonymous `union bpf_attr` member "for BPF_BTF_LOAD"):
/// 40 bytes, 8-byte aligned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct BtfLoadAttr {
    /// User address of the BTF blob (header, types, strings) in the host's byte order.
    pub btf: u64,
    /// User address of a buffer the kernel writes its NUL-terminated log into; 0 for none.
    pub btf_log_buf: u64,
    /// Length of the blob at `btf`, in bytes.
    pub btf_size: u32,
    /// Length of the buffer at `btf_log_buf`, in bytes (at least 128 when a buffer is given).
    pub btf_log_size: u32,
    /// `BPF_LOG_*` bits; must be non-zero exactly when a log buffer is given.
    pub btf_log_level: u32,
    /// Output (kernel 6.4+): the log size, terminating NUL included, that the whole log
    /// would have needed; larger than `btf_log_size` when the log was truncated (`ENOSPC`).
    pub btf_log_true_size: u32,
    /// `BPF_F_*` flags; only [`BPF_F_TOKEN_FD`] is defined.
    pub btf_flags: u32,
    /// A BPF token fd, read when `btf_flags` has [`BPF_F_TOKEN_FD`].
    pub btf_token_fd: i32,
}

/// Length of the name fields of maps and programs (`BPF_OBJ_NAME_LEN`), NUL included.
pub const BPF_OBJ_NAME_LEN: usize = 16;

/// The attr of `BPF_MAP_CREATE` (the first member of `union bpf_attr`), up to
/// `map_token_fd`: 80 bytes, 8-byte aligned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct MapCreateAttr {
    /// `enum bpf_map_type`.
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Capacity in entries.
    pub max_entries: u32,
    /// `BPF_F_*` map creation flags.
    pub map_flags: u32,
    /// The inner map template of a map-in-map (`*_OF_MAPS`).
    pub inner_map_fd: u32,
    /// NUMA node, read when `map_flags` has `BPF_F_NUMA_NODE`.
    pub numa_node: u32,
    /// NUL-padded name, `[A-Za-z0-9_.]` only.
    pub map_name: [u8; BPF_OBJ_NAME_LEN],
    /// Network device to offload the map to; 0 for none.
    pub map_ifindex: u32,
    /// BTF object holding the key and value types; 0 for none.
    pub btf_fd: u32,
    /// BTF type id of the key.
    pub btf_key_type_id: u32,
    /// BTF type id of the value.
    pub btf_value_type_id: u32,
    /// Kernel BTF type id of a kernel struct stored as the value (`struct_ops` maps).
    pub btf_vmlinux_value_type_id: u32,
    /// Per-map-type extra (bloom filter hash count, arena address, ...).
    pub map_extra: u64,
    /// Module BTF fd holding `btf_vmlinux_value_type_id`; 0 for vmlinux.
    pub value_type_btf_obj_fd: i32,
    /// A BPF token fd, read when `map_flags` has [`BPF_F_TOKEN_FD`].
    pub map_token_fd: i32,
}

/// The attr of `BPF_MAP_*_ELEM` and `BPF_MAP_FREEZE`: 32 bytes, 8-byte aligned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct MapElemAttr {
    /// The map.
    pub map_fd: u32,
    /// Explicit padding, zero: `BPF_MAP_FREEZE` refuses non-zero bytes after `map_fd`.
    pub pad: u32,
    /// User address of the key (`key_size` bytes).
    pub key: u64,
    /// User address of the value (`value_size` bytes; written by lookups).
    pub value: u64,
    /// `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`.
    pub flags: u64,
}

/// The attr of `BPF_PROG_LOAD`, up to `fd_array_cnt`: 152 bytes, 8-byte aligned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct ProgLoadAttr {
    /// `enum bpf_prog_type`.
    pub prog_type: u32,
    /// Number of 8-byte instruction slots at `insns`.
    pub insn_cnt: u32,
    /// User address of the instructions, in the host's byte order.
    pub insns: u64,
    /// User address of the NUL-terminated license string.
    pub license: u64,
    /// `BPF_LOG_*` bits; non-zero exactly when a log buffer is given.
    pub log_level: u32,
    /// Length of the log buffer.
    pub log_size: u32,
    /// User address of the log buffer; 0 for none.
    pub log_buf: u64,
    /// `LINUX_VERSION_CODE` the program was built for (ignored by current kernels).
    pub kern_version: u32,
    /// `BPF_F_*` program flags (strict alignment, sleepable, XDP frags, ...).
    pub prog_flags: u32,
    /// NUL-padded name, `[A-Za-z0-9_.]` only.
    pub prog_name: [u8; BPF_OBJ_NAME_LEN],
    /// Network device to offload the program to; 0 for none.
    pub prog_ifindex: u32,
    /// `enum bpf_attach_type` the program will be attached with.
    pub expected_attach_type: u32,
    /// BTF object the func_info and line_info records refer to.
    pub prog_btf_fd: u32,
    /// Size of one func_info record (8).
    pub func_info_rec_size: u32,
    /// User address of the func_info records.
    pub func_info: u64,
    /// Number of func_info records.
    pub func_info_cnt: u32,
    /// Size of one line_info record (16).
    pub line_info_rec_size: u32,
    /// User address of the line_info records.
    pub line_info: u64,
    /// Number of line_info records.
    pub line_info_cnt: u32,
    /// Kernel BTF type id of the attach target (tracing, LSM, ext, struct_ops).
    pub attach_btf_id: u32,
    /// The union of `attach_prog_fd` (target program of `freplace`/tracing a program) and
    /// `attach_btf_obj_fd` (module BTF holding `attach_btf_id`; 0 for vmlinux).
    pub attach_fd: u32,
    /// Number of `bpf_core_relo` records.
    pub core_relo_cnt: u32,
    /// User address of an array of fds that `BPF_PSEUDO_MAP_IDX` and kfunc calls index.
    pub fd_array: u64,
    /// User address of the `bpf_core_relo` records.
    pub core_relos: u64,
    /// Size of one `bpf_core_relo` record (16).
    pub core_relo_rec_size: u32,
    /// Output (kernel 6.4+): the log size the whole log needed, terminating NUL included.
    pub log_true_size: u32,
    /// A BPF token fd, read when `prog_flags` has [`BPF_F_TOKEN_FD`].
    pub prog_token_fd: i32,
    /// Length of `fd_array` when every map in it is to be bound to the program (6.13+);
    /// 0 leaves `fd_array` indexed only.
    pub fd_array_cnt: u32,
}

/// The attr of `BPF_PROG_TEST_RUN` (`union bpf_attr` member `test`): 80 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct TestRunAttr {
    /// The program.
    pub prog_fd: u32,
    /// Output: the program's return value.
    pub retval: u32,
    /// Length of `data_in`.
    pub data_size_in: u32,
    /// In: capacity of `data_out` (0 means unbounded: never pass 0 with a buffer).
    /// Out: length of the output data, possibly larger than the buffer (`ENOSPC`).
    pub data_size_out: u32,
    /// User address of the input packet.
    pub data_in: u64,
    /// User address of the output buffer; 0 for none.
    pub data_out: u64,
    /// Number of runs (0 means 1).
    pub repeat: u32,
    /// Output: mean duration of one run, in nanoseconds.
    pub duration: u32,
    /// Length of `ctx_in`.
    pub ctx_size_in: u32,
    /// In: capacity of `ctx_out`; out: length of the output context.
    pub ctx_size_out: u32,
    /// User address of the input context.
    pub ctx_in: u64,
    /// User address of the output context buffer; 0 for none.
    pub ctx_out: u64,
    /// `BPF_F_TEST_*` flags.
    pub flags: u32,
    /// CPU to run on, with `BPF_F_TEST_RUN_ON_CPU`.
    pub cpu: u32,
    /// Batch size of XDP live-frames mode.
    pub batch_size: u32,
    /// Explicit padding, zero: the kernel refuses non-zero bytes after `batch_size`.
    pub pad: u32,
}

/// The attr of `BPF_OBJ_GET_INFO_BY_FD` (`union bpf_attr` member `info`): 16 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct InfoAttr {
    /// The object (program, map, BTF, link).
    pub bpf_fd: u32,
    /// In: size of the info struct at `info`; out: the size the kernel filled.
    pub info_len: u32,
    /// User address of the info struct.
    pub info: u64,
}

/// The attr of `BPF_BTF_GET_NEXT_ID` and `BPF_BTF_GET_FD_BY_ID` (`union bpf_attr`'s
/// anonymous id member): 16 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct IdAttr {
    /// `start_id` (get next id) or `btf_id` (get fd by id).
    pub id: u32,
    /// Out: the next id.
    pub next_id: u32,
    /// `open_flags` (0).
    pub open_flags: u32,
    /// `fd_by_id_token_fd` (0: no token).
    pub token_fd: u32,
}

/// The kernel's `struct bpf_btf_info` (the output of `BPF_OBJ_GET_INFO_BY_FD` on a BTF
/// object): 32 bytes. `btf` and `name` are addresses of buffers the kernel copies into.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct BtfInfoWire {
    /// Address of a buffer of `btf_size` bytes for the raw BTF (0: none).
    pub btf: u64,
    /// In: the buffer's size; out: the BTF's size.
    pub btf_size: u32,
    /// System-wide id of the BTF object.
    pub id: u32,
    /// Address of a buffer of `name_len` bytes for the name (0: none).
    pub name: u64,
    /// In: the name buffer's size; out: the name's length.
    pub name_len: u32,
    /// Non-zero for the kernel's own BTF (vmlinux and modules).
    pub kernel_btf: u32,
}

/// The kernel's `struct bpf_prog_info` (the output of `BPF_OBJ_GET_INFO_BY_FD` on a program):
/// 232 bytes. The address fields must be 0 (or point to arrays of the matching counts): they
/// ask the kernel to copy out instructions, map ids and the like.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct ProgInfoWire {
    /// `enum bpf_prog_type`.
    pub prog_type: u32,
    /// System-wide id of the program.
    pub id: u32,
    /// The program's tag: the first 8 bytes of the SHA-1 of its instructions with map fds
    /// zeroed.
    pub tag: [u8; 8],
    /// Length of the JIT-compiled code in bytes.
    pub jited_prog_len: u32,
    /// Length of the verifier-rewritten instructions in bytes.
    pub xlated_prog_len: u32,
    /// Address to copy the JIT-compiled code to.
    pub jited_prog_insns: u64,
    /// Address to copy the rewritten instructions to.
    pub xlated_prog_insns: u64,
    /// Load time, nanoseconds since boot.
    pub load_time: u64,
    /// Uid of the loading process.
    pub created_by_uid: u32,
    /// Number of maps the program uses.
    pub nr_map_ids: u32,
    /// Address to copy the map ids to.
    pub map_ids: u64,
    /// NUL-padded name.
    pub name: [u8; BPF_OBJ_NAME_LEN],
    /// Offload device.
    pub ifindex: u32,
    /// Bit 0: `gpl_compatible`.
    pub gpl_compatible: u32,
    /// Offload device's network namespace device.
    pub netns_dev: u64,
    /// Offload device's network namespace inode.
    pub netns_ino: u64,
    /// Number of JIT-compiled functions (their addresses).
    pub nr_jited_ksyms: u32,
    /// Number of JIT-compiled function lengths.
    pub nr_jited_func_lens: u32,
    /// Address to copy the function addresses to.
    pub jited_ksyms: u64,
    /// Address to copy the function lengths to.
    pub jited_func_lens: u64,
    /// Id of the program's BTF object.
    pub btf_id: u32,
    /// Size of a func_info record to copy out.
    pub func_info_rec_size: u32,
    /// Address to copy func_info to.
    pub func_info: u64,
    /// Number of func_info records.
    pub nr_func_info: u32,
    /// Number of line_info records.
    pub nr_line_info: u32,
    /// Address to copy line_info to.
    pub line_info: u64,
    /// Address to copy the JIT line info to.
    pub jited_line_info: u64,
    /// Number of JIT line info records.
    pub nr_jited_line_info: u32,
    /// Size of a line_info record to copy out.
    pub line_info_rec_size: u32,
    /// Size of a JIT line info record to copy out.
    pub jited_line_info_rec_size: u32,
    /// Number of function tags.
    pub nr_prog_tags: u32,
    /// Address to copy the function tags to.
    pub prog_tags: u64,
    /// Total run time (with `kernel.bpf_stats_enabled`).
    pub run_time_ns: u64,
    /// Number of runs (with `kernel.bpf_stats_enabled`).
    pub run_cnt: u64,
    /// Runs skipped for recursion.
    pub recursion_misses: u64,
    /// Instructions the verifier processed.
    pub verified_insns: u32,
    /// Id of the BTF object holding `attach_btf_id`.
    pub attach_btf_obj_id: u32,
    /// Kernel BTF type id of the attach target.
    pub attach_btf_id: u32,
    /// Padding.
    pub pad: u32,
}

/// The kernel's `struct bpf_map_info` (`BPF_OBJ_GET_INFO_BY_FD` on a map): 104 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct MapInfoWire {
    /// `enum bpf_map_type`.
    pub map_type: u32,
    /// System-wide id of the map.
    pub id: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Capacity in entries.
    pub max_entries: u32,
    /// Creation flags.
    pub map_flags: u32,
    /// NUL-padded name.
    pub name: [u8; BPF_OBJ_NAME_LEN],
    /// Offload device.
    pub ifindex: u32,
    /// Kernel BTF type id of the value of a `struct_ops` map.
    pub btf_vmlinux_value_type_id: u32,
    /// Offload device's network namespace device.
    pub netns_dev: u64,
    /// Offload device's network namespace inode.
    pub netns_ino: u64,
    /// Id of the map's BTF object.
    pub btf_id: u32,
    /// BTF type id of the key.
    pub btf_key_type_id: u32,
    /// BTF type id of the value.
    pub btf_value_type_id: u32,
    /// Id of the kernel BTF holding `btf_vmlinux_value_type_id`.
    pub btf_vmlinux_id: u32,
    /// Per-map-type extra.
    pub map_extra: u64,
    /// Address to copy the map's hash to; must be 0 when `hash_size` is.
    pub hash: u64,
    /// Size of the buffer at `hash`.
    pub hash_size: u32,
    /// Padding.
    pub pad: u32,
}

/// The attr of `BPF_OBJ_PIN` and `BPF_OBJ_GET`: 24 bytes, 8-byte aligned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct ObjAttr {
    /// User address of the NUL-terminated path in a bpf filesystem.
    pub pathname: u64,
    /// The object to pin (`BPF_OBJ_PIN`); 0 for `BPF_OBJ_GET`.
    pub bpf_fd: u32,
    /// `BPF_F_RDONLY` / `BPF_F_WRONLY` for `BPF_OBJ_GET`; 0 for `BPF_OBJ_PIN`.
    pub file_flags: u32,
    /// Directory fd the path is relative to (with `BPF_F_PATH_FD`); 0 otherwise.
    pub path_fd: i32,
    /// Explicit tail padding, so that it is zero.
    pub _pad: u32,
}

/// A `#[repr(C)]` member of `union bpf_attr`, passed to the kernel by address with its size.
///
/// # Safety
///
/// Implementors must be `#[repr(C)]` structs made only of integers, laid out exactly like the
/// kernel's member for the commands they are used with, so that the kernel may read and
/// write `size_of::<Self>()` bytes at their address. They must have no implicit padding:
/// its bytes are not guaranteed to be zero, and the kernel refuses a command whose unused
/// attr bytes are not (`EINVAL`), so padding is spelled out as zeroed fields.
pub(crate) unsafe trait Attr {}

// SAFETY: `BtfLoadAttr` is `#[repr(C)]`, holds only integers and mirrors the kernel's
// BPF_BTF_LOAD member of `union bpf_attr` (checked by the layout test below).
unsafe impl Attr for BtfLoadAttr {}
// SAFETY: as above, for BPF_MAP_CREATE.
unsafe impl Attr for MapCreateAttr {}
// SAFETY: as above, for BPF_MAP_*_ELEM and BPF_MAP_FREEZE.
unsafe impl Attr for MapElemAttr {}
// SAFETY: as above, for BPF_PROG_LOAD.
unsafe impl Attr for ProgLoadAttr {}
// SAFETY: as above, for BPF_PROG_TEST_RUN.
unsafe impl Attr for TestRunAttr {}
// SAFETY: as above, for BPF_OBJ_GET_INFO_BY_FD.
unsafe impl Attr for InfoAttr {}
// SAFETY: as above, for BPF_OBJ_PIN and BPF_OBJ_GET.
unsafe impl Attr for ObjAttr {}
// SAFETY: as above, for BPF_BTF_GET_NEXT_ID and BPF_BTF_GET_FD_BY_ID.
unsafe impl Attr for IdAttr {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    #[test]
    fn btf_load_attr_matches_the_kernel_layout() {
        assert_eq!(size_of::<BtfLoadAttr>(), 40);
        assert_eq!(align_of::<BtfLoadAttr>(), 8);
        assert_eq!(offset_of!(BtfLoadAttr, btf), 0);
        assert_eq!(offset_of!(BtfLoadAttr, btf_log_buf), 8);
        assert_eq!(offset_of!(BtfLoadAttr, btf_size), 16);
        assert_eq!(offset_of!(BtfLoadAttr, btf_log_size), 20);
        assert_eq!(offset_of!(BtfLoadAttr, btf_log_level), 24);
        assert_eq!(offset_of!(BtfLoadAttr, btf_log_true_size), 28);
        assert_eq!(offset_of!(BtfLoadAttr, btf_flags), 32);
        assert_eq!(offset_of!(BtfLoadAttr, btf_token_fd), 36);
    }

    #[test]
    fn map_attrs_match_the_kernel_layout() {
        assert_eq!(size_of::<MapCreateAttr>(), 80);
        assert_eq!(offset_of!(MapCreateAttr, map_name), 28);
        assert_eq!(offset_of!(MapCreateAttr, map_ifindex), 44);
        assert_eq!(offset_of!(MapCreateAttr, btf_fd), 48);
        assert_eq!(offset_of!(MapCreateAttr, btf_vmlinux_value_type_id), 60);
        assert_eq!(offset_of!(MapCreateAttr, map_extra), 64);
        assert_eq!(offset_of!(MapCreateAttr, map_token_fd), 76);
        assert_eq!(size_of::<MapElemAttr>(), 32);
        assert_eq!(offset_of!(MapElemAttr, pad), 4);
        assert_eq!(offset_of!(MapElemAttr, key), 8);
        assert_eq!(offset_of!(MapElemAttr, value), 16);
        assert_eq!(offset_of!(MapElemAttr, flags), 24);
    }

    #[test]
    fn prog_load_attr_matches_the_kernel_layout() {
        assert_eq!(size_of::<ProgLoadAttr>(), 152);
        assert_eq!(align_of::<ProgLoadAttr>(), 8);
        assert_eq!(offset_of!(ProgLoadAttr, insns), 8);
        assert_eq!(offset_of!(ProgLoadAttr, license), 16);
        assert_eq!(offset_of!(ProgLoadAttr, log_level), 24);
        assert_eq!(offset_of!(ProgLoadAttr, log_buf), 32);
        assert_eq!(offset_of!(ProgLoadAttr, kern_version), 40);
        assert_eq!(offset_of!(ProgLoadAttr, prog_name), 48);
        assert_eq!(offset_of!(ProgLoadAttr, prog_ifindex), 64);
        assert_eq!(offset_of!(ProgLoadAttr, expected_attach_type), 68);
        assert_eq!(offset_of!(ProgLoadAttr, prog_btf_fd), 72);
        assert_eq!(offset_of!(ProgLoadAttr, func_info), 80);
        assert_eq!(offset_of!(ProgLoadAttr, func_info_cnt), 88);
        assert_eq!(offset_of!(ProgLoadAttr, line_info), 96);
        assert_eq!(offset_of!(ProgLoadAttr, line_info_cnt), 104);
        assert_eq!(offset_of!(ProgLoadAttr, attach_btf_id), 108);
        assert_eq!(offset_of!(ProgLoadAttr, attach_fd), 112);
        assert_eq!(offset_of!(ProgLoadAttr, core_relo_cnt), 116);
        assert_eq!(offset_of!(ProgLoadAttr, fd_array), 120);
        assert_eq!(offset_of!(ProgLoadAttr, core_relos), 128);
        assert_eq!(offset_of!(ProgLoadAttr, core_relo_rec_size), 136);
        assert_eq!(offset_of!(ProgLoadAttr, log_true_size), 140);
        assert_eq!(offset_of!(ProgLoadAttr, prog_token_fd), 144);
        assert_eq!(offset_of!(ProgLoadAttr, fd_array_cnt), 148);
    }

    #[test]
    fn test_run_and_info_attrs_match_the_kernel_layout() {
        assert_eq!(size_of::<TestRunAttr>(), 80);
        assert_eq!(offset_of!(TestRunAttr, data_in), 16);
        assert_eq!(offset_of!(TestRunAttr, data_out), 24);
        assert_eq!(offset_of!(TestRunAttr, repeat), 32);
        assert_eq!(offset_of!(TestRunAttr, duration), 36);
        assert_eq!(offset_of!(TestRunAttr, ctx_in), 48);
        assert_eq!(offset_of!(TestRunAttr, ctx_out), 56);
        assert_eq!(offset_of!(TestRunAttr, flags), 64);
        assert_eq!(offset_of!(TestRunAttr, batch_size), 72);
        assert_eq!(offset_of!(TestRunAttr, pad), 76);
        assert_eq!(size_of::<InfoAttr>(), 16);
        assert_eq!(size_of::<IdAttr>(), 16);
        assert_eq!(offset_of!(IdAttr, open_flags), 8);
        assert_eq!(size_of::<BtfInfoWire>(), 32);
        assert_eq!(offset_of!(BtfInfoWire, name), 16);
        assert_eq!(offset_of!(BtfInfoWire, kernel_btf), 28);
        assert_eq!(offset_of!(InfoAttr, info), 8);
    }

    #[test]
    fn info_structs_match_the_kernel_layout() {
        assert_eq!(size_of::<ProgInfoWire>(), 232);
        assert_eq!(offset_of!(ProgInfoWire, tag), 8);
        assert_eq!(offset_of!(ProgInfoWire, jited_prog_insns), 24);
        assert_eq!(offset_of!(ProgInfoWire, load_time), 40);
        assert_eq!(offset_of!(ProgInfoWire, map_ids), 56);
        assert_eq!(offset_of!(ProgInfoWire, name), 64);
        assert_eq!(offset_of!(ProgInfoWire, gpl_compatible), 84);
        assert_eq!(offset_of!(ProgInfoWire, netns_dev), 88);
        assert_eq!(offset_of!(ProgInfoWire, jited_ksyms), 112);
        assert_eq!(offset_of!(ProgInfoWire, btf_id), 128);
        assert_eq!(offset_of!(ProgInfoWire, func_info), 136);
        assert_eq!(offset_of!(ProgInfoWire, nr_func_info), 144);
        assert_eq!(offset_of!(ProgInfoWire, line_info), 152);
        assert_eq!(offset_of!(ProgInfoWire, nr_jited_line_info), 168);
        assert_eq!(offset_of!(ProgInfoWire, prog_tags), 184);
        assert_eq!(offset_of!(ProgInfoWire, run_time_ns), 192);
        assert_eq!(offset_of!(ProgInfoWire, verified_insns), 216);
        assert_eq!(offset_of!(ProgInfoWire, attach_btf_id), 224);
        assert_eq!(size_of::<MapInfoWire>(), 104);
        assert_eq!(offset_of!(MapInfoWire, name), 24);
        assert_eq!(offset_of!(MapInfoWire, netns_dev), 48);
        assert_eq!(offset_of!(MapInfoWire, btf_id), 64);
        assert_eq!(offset_of!(MapInfoWire, map_extra), 80);
        assert_eq!(offset_of!(MapInfoWire, hash_size), 96);
    }

    #[test]
    fn command_numbers_and_names() {
        assert_eq!(Command::MapLookupElem.number(), 1);
        assert_eq!(Command::MapUpdateElem.number(), 2);
        assert_eq!(Command::ProgTestRun.number(), 10);
        assert_eq!(Command::ObjGetInfoByFd.number(), 15);
        assert_eq!(Command::MapFreeze.number(), 22);
        assert_eq!(Command::MapFreeze.to_string(), "BPF_MAP_FREEZE");
        assert_eq!(Command::BtfLoad.number(), 18);
        assert_eq!(Command::ProgLoad.number(), 5);
        assert_eq!(Command::BtfLoad.to_string(), "BPF_BTF_LOAD");
    }
}
