//! Text form of a [`Module`] for a human reader: what `bpfir dump OBJ` prints.
//!
//! The dump has a header (license, kernel version, maps, data sections and their variables,
//! externs) and then every function in module order: its section, name, linkage, whether it
//! is a program, its BTF prototype in C form, and its body. Each instruction is printed
//! with its id (`i12`, the raw index of its [`InsnId`]) and symbolic operands: jumps go to
//! labels (`LBB<function>_<n>`, numbered in layout order within the function), calls name
//! their callee, helper or extern, `ld_imm64`s name their map, data (and variable), callback
//! or extern. Source lines are interleaved like `llvm-objdump -S` whenever the line changes,
//! and each CO-RE relocated instruction is followed by its relocation with the access
//! resolved to a field path through the local BTF (`struct core_outer::inner.arr[2]`).
//!
//! Invariants: printing never panics, whatever the module holds (a bad type id, a jump to a
//! detached instruction, a string offset past the table all print a fallback), and the text
//! depends only on the module, so it is stable across runs.
//!
//! Cost: one pass over each function to collect jump targets and one to print; names and
//! types are looked up per printed item. Meant for people and golden tests, not hot paths.

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};

use crate::btf::{Btf, TypeId, TypeKind};
use crate::insn::{CallKind, Insn};

use super::{
    CoreRelo, DataKind, DataSection, ExternKind, FuncId, InsnId, MapDef, MapOrigin, Module,
    Pinning, Ref, SourceLine,
};

/// The printable dump of a [`Module`], created by [`Module::dump`]. See the
/// module documentation.
#[derive(Clone, Copy, Debug)]
pub struct Dump<'a> {
    module: &'a Module,
}

impl Module {
    /// A human-readable listing of the whole module (header, then every function with
    /// labels, source lines, symbolic operands and CO-RE field paths).
    ///
    /// ```
    /// use bpfir::insn::Insn;
    /// use bpfir::ir::{Function, Meta, Module};
    ///
    /// let mut m = Module::new(bpfir::Endian::Little);
    /// let f = m.add_function(Function::new("prog", "socket", true));
    /// m.append(f, Insn::Exit, Meta::default()).unwrap();
    /// let text = m.dump().to_string();
    /// assert!(text.contains("program prog (global, section socket, 1 insns)"));
    /// assert!(text.contains("i0  exit"));
    /// ```
    pub fn dump(&self) -> Dump<'_> {
        Dump { module: self }
    }
}

/// How deep the C type printer follows references before it gives up (cycles in bad BTF).
const MAX_TYPE_DEPTH: u32 = 32;

/// The name of `ty` as C writes it in a declaration of `inner` (empty for a bare type name):
/// `int`, `struct task_struct *`, `const char *name`, `int (*cb)(void *)`, `short arr[4]`.
fn c_decl(btf: &Btf, ty: TypeId, inner: &str) -> String {
    decl(btf, ty, inner.to_string(), 0)
}

/// `base` followed by the declarator `inner`, separated by a space when there is one.
fn join(base: &str, inner: &str) -> String {
    if inner.is_empty() {
        base.to_string()
    } else if inner.starts_with('[') {
        // A bare array type: `char[16]`.
        format!("{base}{inner}")
    } else {
        format!("{base} {inner}")
    }
}

/// `struct foo`, or `struct {...}` for an anonymous one.
fn tagged(tag: &str, name: &str) -> String {
    if name.is_empty() {
        format!("{tag} {{...}}")
    } else {
        format!("{tag} {name}")
    }
}

/// Skips type tags, which C declarations do not show.
fn skip_tags(btf: &Btf, mut ty: TypeId) -> TypeId {
    for _ in 0..MAX_TYPE_DEPTH {
        match btf.get(ty).map(|t| t.kind) {
            Some(TypeKind::TypeTag { ty: t, .. }) => ty = t,
            _ => break,
        }
    }
    ty
}

fn decl(btf: &Btf, ty: TypeId, inner: String, depth: u32) -> String {
    if depth > MAX_TYPE_DEPTH {
        return join("...", &inner);
    }
    let Some(t) = btf.get(ty) else {
        return join(&format!("<bad type {}>", btf.wire_id(ty).0), &inner);
    };
    let name = btf.str(t.name).unwrap_or("<bad name>");
    let next = depth + 1;
    match t.kind {
        TypeKind::Void => join("void", &inner),
        TypeKind::Int { .. } | TypeKind::Float { .. } | TypeKind::Typedef(_) => join(name, &inner),
        TypeKind::Struct { .. } => join(&tagged("struct", name), &inner),
        TypeKind::Union { .. } => join(&tagged("union", name), &inner),
        TypeKind::Enum { .. } | TypeKind::Enum64 { .. } => join(&tagged("enum", name), &inner),
        TypeKind::Fwd { union } => join(
            &tagged(if union { "union" } else { "struct" }, name),
            &inner,
        ),
        TypeKind::Ptr(target) => {
            let wrap = matches!(
                btf.get(skip_tags(btf, target)).map(|t| t.kind),
                Some(TypeKind::Array { .. } | TypeKind::FuncProto { .. })
            );
            let inner = if wrap {
                format!("(*{inner})")
            } else {
                format!("*{inner}")
            };
            decl(btf, target, inner, next)
        }
        TypeKind::Const(target) | TypeKind::Volatile(target) | TypeKind::Restrict(target) => {
            let q = match t.kind {
                TypeKind::Const(_) => "const",
                TypeKind::Volatile(_) => "volatile",
                _ => "restrict",
            };
            // A qualified pointer qualifies the pointer itself: `int *const p`.
            if matches!(
                btf.get(skip_tags(btf, target)).map(|t| t.kind),
                Some(TypeKind::Ptr(_))
            ) {
                decl(btf, target, join(q, &inner), next)
            } else {
                format!("{q} {}", decl(btf, target, inner, next))
            }
        }
        TypeKind::TypeTag { ty, .. } | TypeKind::DeclTag { ty, .. } => decl(btf, ty, inner, next),
        TypeKind::Array { elem, len, .. } => decl(btf, elem, format!("{inner}[{len}]"), next),
        TypeKind::FuncProto { ret, .. } => {
            let params = btf.params(ty);
            let mut list = String::new();
            for (i, p) in params.iter().enumerate() {
                if i > 0 {
                    list.push_str(", ");
                }
                let is_void = matches!(btf.get(p.ty).map(|t| t.kind), Some(TypeKind::Void));
                if is_void && i + 1 == params.len() {
                    list.push_str("...");
                } else {
                    let pname = btf.str(p.name).unwrap_or("");
                    list.push_str(&decl(btf, p.ty, pname.to_string(), next));
                }
            }
            if params.is_empty() {
                list.push_str("void");
            }
            decl(btf, ret, format!("{inner}({list})"), next)
        }
        TypeKind::Func { proto, .. } | TypeKind::Var { ty: proto, .. } => {
            let inner = if inner.is_empty() {
                name.to_string()
            } else {
                inner
            };
            decl(btf, proto, inner, next)
        }
        TypeKind::Datasec { .. } => join(&format!("SEC(\"{name}\")"), &inner),
    }
}

/// The access of a CO-RE relocation as a path through the local BTF: `struct s::a.b[2]`
/// for field kinds, `type struct s` for type kinds, `enum e::VALUE` for enumerator kinds.
/// The error says why the access does not fit the type.
fn core_path(btf: &Btf, relo: &CoreRelo) -> Result<String, String> {
    let root = c_decl(btf, relo.ty, "");
    if relo.kind.is_type_based() {
        return Ok(format!("type {root}"));
    }
    let resolved = btf.resolve(relo.ty).map_err(|e| e.to_string())?;
    if relo.kind.is_enumval_based() {
        let index = relo.access.base_index();
        return match btf.kind_of(resolved).map_err(|e| e.to_string())? {
            TypeKind::Enum { .. } | TypeKind::Enum64 { .. } => {
                let value = usize::try_from(index)
                    .ok()
                    .and_then(|i| btf.enum_values(resolved).get(i))
                    .ok_or_else(|| format!("no enumerator {index}"))?;
                let name = btf.str(value.name).map_err(|e| e.to_string())?;
                Ok(format!("{root}::{name}"))
            }
            k => Err(format!("{} is not an enum", k.kind())),
        };
    }
    let mut out = root;
    let base = relo.access.base_index();
    if base != 0 {
        write!(out, "[{base}]").map_err(|e| e.to_string())?;
    }
    let mut cur = resolved;
    let mut after_member = false;
    for &index in relo.access.accessors() {
        match *btf.kind_of(cur).map_err(|e| e.to_string())? {
            TypeKind::Struct { .. } | TypeKind::Union { .. } => {
                let member = usize::try_from(index)
                    .ok()
                    .and_then(|i| btf.members(cur).get(i))
                    .ok_or_else(|| format!("no member {index}"))?;
                let name = match btf.str(member.name).map_err(|e| e.to_string())? {
                    "" => "(anon)",
                    n => n,
                };
                out.push_str(if after_member { "." } else { "::" });
                out.push_str(name);
                after_member = true;
                cur = btf.resolve(member.ty).map_err(|e| e.to_string())?;
            }
            TypeKind::Array { elem, .. } => {
                // No bound check: libbpf allows indexing past a flexible array's zero length.
                write!(out, "[{index}]").map_err(|e| e.to_string())?;
                cur = btf.resolve(elem).map_err(|e| e.to_string())?;
            }
            ref k => return Err(format!("index {index} into a {}", k.kind())),
        }
    }
    Ok(out)
}

/// The `// CO-RE` note of a relocation: the field path, or the raw access when it does not
/// resolve.
fn core_note(btf: Option<&Btf>, relo: &CoreRelo) -> String {
    let kind = relo.kind;
    match btf {
        Some(btf) => match core_path(btf, relo) {
            Ok(path) => format!("CO-RE {kind} {path}"),
            Err(why) => format!(
                "CO-RE {kind} {} access {} ({why})",
                c_decl(btf, relo.ty, ""),
                relo.access
            ),
        },
        None => format!("CO-RE {kind} access {}", relo.access),
    }
}

/// `BPF_FUNC_*` names by helper id (the kernel's `__BPF_FUNC_MAPPER` order), without the
/// `bpf_` prefix.
const HELPERS: [&str; 212] = [
    "unspec",
    "map_lookup_elem",
    "map_update_elem",
    "map_delete_elem",
    "probe_read",
    "ktime_get_ns",
    "trace_printk",
    "get_prandom_u32",
    "get_smp_processor_id",
    "skb_store_bytes",
    "l3_csum_replace",
    "l4_csum_replace",
    "tail_call",
    "clone_redirect",
    "get_current_pid_tgid",
    "get_current_uid_gid",
    "get_current_comm",
    "get_cgroup_classid",
    "skb_vlan_push",
    "skb_vlan_pop",
    "skb_get_tunnel_key",
    "skb_set_tunnel_key",
    "perf_event_read",
    "redirect",
    "get_route_realm",
    "perf_event_output",
    "skb_load_bytes",
    "get_stackid",
    "csum_diff",
    "skb_get_tunnel_opt",
    "skb_set_tunnel_opt",
    "skb_change_proto",
    "skb_change_type",
    "skb_under_cgroup",
    "get_hash_recalc",
    "get_current_task",
    "probe_write_user",
    "current_task_under_cgroup",
    "skb_change_tail",
    "skb_pull_data",
    "csum_update",
    "set_hash_invalid",
    "get_numa_node_id",
    "skb_change_head",
    "xdp_adjust_head",
    "probe_read_str",
    "get_socket_cookie",
    "get_socket_uid",
    "set_hash",
    "setsockopt",
    "skb_adjust_room",
    "redirect_map",
    "sk_redirect_map",
    "sock_map_update",
    "xdp_adjust_meta",
    "perf_event_read_value",
    "perf_prog_read_value",
    "getsockopt",
    "override_return",
    "sock_ops_cb_flags_set",
    "msg_redirect_map",
    "msg_apply_bytes",
    "msg_cork_bytes",
    "msg_pull_data",
    "bind",
    "xdp_adjust_tail",
    "skb_get_xfrm_state",
    "get_stack",
    "skb_load_bytes_relative",
    "fib_lookup",
    "sock_hash_update",
    "msg_redirect_hash",
    "sk_redirect_hash",
    "lwt_push_encap",
    "lwt_seg6_store_bytes",
    "lwt_seg6_adjust_srh",
    "lwt_seg6_action",
    "rc_repeat",
    "rc_keydown",
    "skb_cgroup_id",
    "get_current_cgroup_id",
    "get_local_storage",
    "sk_select_reuseport",
    "skb_ancestor_cgroup_id",
    "sk_lookup_tcp",
    "sk_lookup_udp",
    "sk_release",
    "map_push_elem",
    "map_pop_elem",
    "map_peek_elem",
    "msg_push_data",
    "msg_pop_data",
    "rc_pointer_rel",
    "spin_lock",
    "spin_unlock",
    "sk_fullsock",
    "tcp_sock",
    "skb_ecn_set_ce",
    "get_listener_sock",
    "skc_lookup_tcp",
    "tcp_check_syncookie",
    "sysctl_get_name",
    "sysctl_get_current_value",
    "sysctl_get_new_value",
    "sysctl_set_new_value",
    "strtol",
    "strtoul",
    "sk_storage_get",
    "sk_storage_delete",
    "send_signal",
    "tcp_gen_syncookie",
    "skb_output",
    "probe_read_user",
    "probe_read_kernel",
    "probe_read_user_str",
    "probe_read_kernel_str",
    "tcp_send_ack",
    "send_signal_thread",
    "jiffies64",
    "read_branch_records",
    "get_ns_current_pid_tgid",
    "xdp_output",
    "get_netns_cookie",
    "get_current_ancestor_cgroup_id",
    "sk_assign",
    "ktime_get_boot_ns",
    "seq_printf",
    "seq_write",
    "sk_cgroup_id",
    "sk_ancestor_cgroup_id",
    "ringbuf_output",
    "ringbuf_reserve",
    "ringbuf_submit",
    "ringbuf_discard",
    "ringbuf_query",
    "csum_level",
    "skc_to_tcp6_sock",
    "skc_to_tcp_sock",
    "skc_to_tcp_timewait_sock",
    "skc_to_tcp_request_sock",
    "skc_to_udp6_sock",
    "get_task_stack",
    "load_hdr_opt",
    "store_hdr_opt",
    "reserve_hdr_opt",
    "inode_storage_get",
    "inode_storage_delete",
    "d_path",
    "copy_from_user",
    "snprintf_btf",
    "seq_printf_btf",
    "skb_cgroup_classid",
    "redirect_neigh",
    "per_cpu_ptr",
    "this_cpu_ptr",
    "redirect_peer",
    "task_storage_get",
    "task_storage_delete",
    "get_current_task_btf",
    "bprm_opts_set",
    "ktime_get_coarse_ns",
    "ima_inode_hash",
    "sock_from_file",
    "check_mtu",
    "for_each_map_elem",
    "snprintf",
    "sys_bpf",
    "btf_find_by_name_kind",
    "sys_close",
    "timer_init",
    "timer_set_callback",
    "timer_start",
    "timer_cancel",
    "get_func_ip",
    "get_attach_cookie",
    "task_pt_regs",
    "get_branch_snapshot",
    "trace_vprintk",
    "skc_to_unix_sock",
    "kallsyms_lookup_name",
    "find_vma",
    "loop",
    "strncmp",
    "get_func_arg",
    "get_func_ret",
    "get_func_arg_cnt",
    "get_retval",
    "set_retval",
    "xdp_get_buff_len",
    "xdp_load_bytes",
    "xdp_store_bytes",
    "copy_from_user_task",
    "skb_set_tstamp",
    "ima_file_hash",
    "kptr_xchg",
    "map_lookup_percpu_elem",
    "skc_to_mptcp_sock",
    "dynptr_from_mem",
    "ringbuf_reserve_dynptr",
    "ringbuf_submit_dynptr",
    "ringbuf_discard_dynptr",
    "dynptr_read",
    "dynptr_write",
    "dynptr_data",
    "tcp_raw_gen_syncookie_ipv4",
    "tcp_raw_gen_syncookie_ipv6",
    "tcp_raw_check_syncookie_ipv4",
    "tcp_raw_check_syncookie_ipv6",
    "ktime_get_tai_ns",
    "user_ringbuf_drain",
    "cgrp_storage_get",
    "cgrp_storage_delete",
];

/// The name of helper `id` (`bpf_map_lookup_elem` for 1), if it is a known helper.
fn helper_name(id: i32) -> Option<&'static str> {
    match usize::try_from(id) {
        Ok(0) | Err(_) => None,
        Ok(i) => HELPERS.get(i).copied(),
    }
}

/// `BPF_MAP_TYPE_*` names by number, lowercase without the prefix.
const MAP_TYPES: [&str; 34] = [
    "unspec",
    "hash",
    "array",
    "prog_array",
    "perf_event_array",
    "percpu_hash",
    "percpu_array",
    "stack_trace",
    "cgroup_array",
    "lru_hash",
    "lru_percpu_hash",
    "lpm_trie",
    "array_of_maps",
    "hash_of_maps",
    "devmap",
    "sockmap",
    "cpumap",
    "xskmap",
    "sockhash",
    "cgroup_storage",
    "reuseport_sockarray",
    "percpu_cgroup_storage",
    "queue",
    "stack",
    "sk_storage",
    "devmap_hash",
    "struct_ops",
    "ringbuf",
    "inode_storage",
    "task_storage",
    "bloom_filter",
    "user_ringbuf",
    "cgrp_storage",
    "arena",
];

fn map_type_name(t: u32) -> &'static str {
    usize::try_from(t)
        .ok()
        .and_then(|i| MAP_TYPES.get(i).copied())
        .unwrap_or("unknown")
}

/// The raw index of an instruction id, as printed (`i12`).
fn raw(id: InsnId) -> u32 {
    u32::from(id.into_raw())
}

/// Escapes a C string for printing between double quotes.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

/// The longest string preview printed for an `ld_imm64` of a string literal.
const MAX_STRING_PREVIEW: usize = 48;

impl Dump<'_> {
    fn btf(&self) -> Option<&Btf> {
        self.module.btf.as_ref()
    }

    /// The C form of `ty` declaring `inner`, or `[id]` without BTF.
    fn c_type(&self, ty: TypeId, inner: &str) -> String {
        match self.btf() {
            Some(btf) => c_decl(btf, ty, inner),
            None => join("<no btf>", inner),
        }
    }

    fn header(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.module;
        let endian = match m.endian() {
            crate::Endian::Little => "little",
            crate::Endian::Big => "big",
        };
        writeln!(f, "; {endian}-endian module")?;
        match &m.license {
            Some(l) => writeln!(f, "license \"{}\"", escape(l.as_bytes()))?,
            None => writeln!(f, "license (none)")?,
        }
        if let Some(v) = m.kern_version {
            writeln!(
                f,
                "version {v:#x} ({}.{}.{})",
                v >> 16,
                (v >> 8) & 0xff,
                v & 0xff
            )?;
        }
        for (_, map) in m.maps() {
            self.map(f, map, "map", "")?;
        }
        for (_, data) in m.data_sections() {
            self.data_section(f, data)?;
        }
        for (_, ext) in m.externs() {
            let kind = match ext.kind {
                ExternKind::Kconfig => "kconfig",
                ExternKind::Ksym => "ksym",
                ExternKind::Func => "func",
            };
            let weak = if ext.weak { " weak" } else { "" };
            write!(f, "extern {kind}{weak} {}", ext.name)?;
            if let Some(ty) = ext.btf {
                // A variable by its type (`const int`), a function by its prototype.
                let ty = match self.btf().and_then(|b| b.get(ty)).map(|t| t.kind) {
                    Some(TypeKind::Var { ty, .. }) => ty,
                    _ => ty,
                };
                write!(f, ": {}", self.c_type(ty, ""))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }

    fn map(
        &self,
        f: &mut fmt::Formatter<'_>,
        map: &MapDef,
        what: &str,
        indent: &str,
    ) -> fmt::Result {
        let origin = match map.origin {
            MapOrigin::Legacy => "legacy",
            MapOrigin::Btf => "btf",
            MapOrigin::StructOps => "struct_ops",
        };
        write!(
            f,
            "{indent}{what} {}: {} ({}), key {}, value {}, max_entries {}, flags {:#x}, {origin}",
            map.name,
            map_type_name(map.map_type),
            map.map_type,
            map.key_size,
            map.value_size,
            map.max_entries,
            map.flags
        )?;
        if map.numa_node != 0 {
            write!(f, ", numa_node {}", map.numa_node)?;
        }
        if map.map_extra != 0 {
            write!(f, ", map_extra {:#x}", map.map_extra)?;
        }
        match map.pinning {
            Pinning::None => {}
            Pinning::ByName => write!(f, ", pinned by name")?,
            Pinning::Other(n) => write!(f, ", pinning {n}")?,
        }
        writeln!(f)?;
        if let Some(ty) = map.key_type {
            writeln!(f, "{indent}    key: {}", self.c_type(ty, ""))?;
        }
        if let Some(ty) = map.value_type {
            writeln!(f, "{indent}    value: {}", self.c_type(ty, ""))?;
        }
        if let Some(inner) = &map.inner {
            self.map(f, inner, "inner", &format!("{indent}    "))?;
        }
        for (slot, sym) in &map.init_slots {
            writeln!(f, "{indent}    [{slot}] = {sym}")?;
        }
        Ok(())
    }

    fn data_section(&self, f: &mut fmt::Formatter<'_>, data: &DataSection) -> fmt::Result {
        let kind = match data.kind {
            DataKind::Data => "data",
            DataKind::Rodata => "rodata",
            DataKind::Bss => "bss",
            DataKind::Arena => "arena",
        };
        writeln!(
            f,
            "data {}: {kind}, {} bytes, align {}",
            data.name,
            data.bytes.len(),
            data.align
        )?;
        let btf_vars = match (self.btf(), data.btf_datasec) {
            (Some(btf), Some(sec)) => btf.datasec_vars(sec),
            _ => &[],
        };
        for var in &data.vars {
            // By name: clang leaves the offsets of global variables at 0 until a loader
            // fixes them up from the symbols.
            let decl = self
                .btf()
                .and_then(|btf| {
                    let v = btf_vars
                        .iter()
                        .find(|v| btf.name(v.ty).is_ok_and(|n| n == var.name))?;
                    Some(c_decl(btf, v.ty, ""))
                })
                .unwrap_or_else(|| var.name.clone());
            writeln!(
                f,
                "    {:#06x} {:>4} {:<6} {decl}",
                var.offset, var.size, var.linkage
            )?;
        }
        Ok(())
    }

    fn function(&self, f: &mut fmt::Formatter<'_>, index: usize, id: FuncId) -> fmt::Result {
        let m = self.module;
        let func = m.function(id);
        let what = if func.is_program {
            "program"
        } else {
            "subprogram"
        };
        writeln!(
            f,
            "{what} {} ({}, section {}, {} insns)",
            func.name,
            func.linkage,
            func.section,
            func.n_insns()
        )?;
        if let Some(ty) = func.btf_func {
            writeln!(f, "    {}", self.c_type(ty, ""))?;
        }
        // Jump targets, labelled in layout order.
        let mut targets = HashSet::new();
        for insn in m.func_insns(id) {
            if let Some(Ref::Jump(t)) = m.reference(insn) {
                targets.insert(t);
            }
        }
        let mut labels: HashMap<InsnId, String> = HashMap::new();
        for insn in m.func_insns(id) {
            if targets.contains(&insn) {
                let n = labels.len();
                labels.insert(insn, format!("LBB{index}_{n}"));
            }
        }
        let width = m.n_insns().saturating_sub(1).to_string().len() + 1;
        let mut last_line: Option<SourceLine> = None;
        for insn in m.func_insns(id) {
            if let Some(label) = labels.get(&insn) {
                writeln!(f, "{label}:")?;
            }
            if let Some(line) = m.line_of(insn).map(|l| *m.line(l)) {
                let changed = last_line.is_none_or(|p| p.file != line.file || p.line != line.line);
                if changed {
                    writeln!(f, "    ; {}", self.source_line(&line))?;
                    last_line = Some(line);
                }
            }
            let name = format!("i{}", raw(insn));
            writeln!(f, "    {name:<width$}  {}", self.insn_text(insn, &labels))?;
            if let Some(core) = m.core_of(insn) {
                writeln!(
                    f,
                    "    {:<width$}  ; {}",
                    "",
                    core_note(self.btf(), m.core_relo(core))
                )?;
            }
        }
        Ok(())
    }

    /// `file.c:12:5  text of the line`, the file by its last path component.
    fn source_line(&self, line: &SourceLine) -> String {
        let (file, text) = match self.btf() {
            Some(btf) => (
                btf.str(line.file).unwrap_or("?"),
                btf.str(line.text).unwrap_or("?"),
            ),
            None => ("?", ""),
        };
        let file = file.rsplit('/').next().unwrap_or(file);
        let text = text.trim();
        if text.is_empty() {
            format!("{file}:{}:{}", line.line, line.col)
        } else {
            format!("{file}:{}:{}  {text}", line.line, line.col)
        }
    }

    /// An instruction with its symbolic operands.
    fn insn_text(&self, id: InsnId, labels: &HashMap<InsnId, String>) -> String {
        let m = self.module;
        let insn = *m.insn(id);
        let plain = insn.to_string();
        let Some(reference) = m.reference(id) else {
            if let Insn::Call {
                kind: CallKind::Helper,
                imm,
                ..
            } = insn
            {
                if let Some(name) = helper_name(imm) {
                    return format!("call bpf_{name}#{imm}");
                }
            }
            return plain;
        };
        let func_name = |f: FuncId| m.function(f).name.as_str();
        match (reference, insn) {
            (Ref::Jump(target), _) if insn.is_jump() => {
                let to = labels
                    .get(&target)
                    .cloned()
                    .unwrap_or_else(|| format!("<i{} outside the function>", raw(target)));
                // Every jump's text ends with its relative offset; put the label there.
                match plain.rsplit_once(' ') {
                    Some((head, _)) => format!("{head} {to}"),
                    None => format!("{plain} {to}"),
                }
            }
            (Ref::Call(callee), Insn::Call { .. }) => format!("call {}", func_name(callee)),
            (Ref::Extern(e), Insn::Call { .. }) => format!("call {}", m.extern_(e).name),
            (Ref::Map(map), Insn::LdImm64 { dst, .. }) => {
                format!("{dst} = map {}", m.map(map).name)
            }
            (Ref::FuncAddr(callee), Insn::LdImm64 { dst, .. }) => {
                format!("{dst} = func {}", func_name(callee))
            }
            (Ref::Extern(e), Insn::LdImm64 { dst, .. }) => {
                format!("{dst} = extern {}", m.extern_(e).name)
            }
            (Ref::Data { data, offset }, Insn::LdImm64 { dst, .. }) => {
                let section = m.data(data);
                let mut out = format!("{dst} = {}+{offset:#x}", section.name);
                if let Some(what) = data_at(section, offset) {
                    out.push(' ');
                    out.push_str(&what);
                }
                out
            }
            (r, _) => format!("{plain}  ; unexpected reference {r:?}"),
        }
    }
}

/// What sits at `offset` of a data section: `<var>`, `<var+0x2>`, or a string literal's
/// text in a `.rodata.str*` section.
fn data_at(section: &DataSection, offset: u32) -> Option<String> {
    let var = section
        .vars
        .iter()
        .find(|v| v.offset == offset || (v.offset < offset && offset - v.offset < v.size));
    if let Some(v) = var {
        return Some(if v.offset == offset {
            format!("<{}>", v.name)
        } else {
            format!("<{}+{:#x}>", v.name, offset - v.offset)
        });
    }
    if section.kind == DataKind::Rodata && section.name.contains(".str") {
        let rest = section.bytes.get(offset as usize..)?;
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        let text = &rest[..end];
        return Some(if text.len() > MAX_STRING_PREVIEW {
            format!("\"{}\"...", escape(&text[..MAX_STRING_PREVIEW]))
        } else {
            format!("\"{}\"", escape(text))
        });
    }
    None
}

impl fmt::Display for Dump<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.header(f)?;
        for (index, (id, _)) in self.module.functions().enumerate() {
            writeln!(f)?;
            self.function(f, index, id)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::{IntEncoding, Linkage, NewMember, VarSecinfo};
    use crate::btf_ext::{CoreAccess, CoreReloKind};
    use crate::insn::{AluClass, AluOp, JmpClass, JmpOp, Operand, PseudoKind, Reg};
    use crate::ir::{DataVar, Extern, Function, MapDef, Meta, SymbolLinkage};
    use crate::Endian;

    /// Types every test uses: `int`, `char`, `unsigned int` and their derived types.
    struct Types {
        btf: Btf,
        int: TypeId,
        char_: TypeId,
        uint: TypeId,
    }

    fn types() -> Types {
        let mut btf = Btf::new(Endian::Little);
        let int = btf.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
        let char_ = btf.add_int("char", 1, IntEncoding::CHAR, 8).unwrap();
        let uint = btf
            .add_int("unsigned int", 4, IntEncoding::UNSIGNED, 32)
            .unwrap();
        Types {
            btf,
            int,
            char_,
            uint,
        }
    }

    fn void() -> TypeId {
        Btf::new(Endian::Little).own_types().next().unwrap().0
    }

    #[test]
    fn c_names_of_scalars_pointers_and_qualifiers() {
        let Types {
            mut btf,
            int,
            char_,
            uint,
        } = types();
        let cchar = btf.add_type("", TypeKind::Const(char_)).unwrap();
        let p_cchar = btf.add_ptr(cchar).unwrap();
        let p_int = btf.add_ptr(int).unwrap();
        let const_p_int = btf.add_type("", TypeKind::Const(p_int)).unwrap();
        let p_char = btf.add_ptr(char_).unwrap();
        let pp_char = btf.add_ptr(p_char).unwrap();
        let vol_uint = btf.add_type("", TypeKind::Volatile(uint)).unwrap();
        let u32_ = btf.add_typedef("__u32", uint).unwrap();
        let p_void = btf.add_ptr(void()).unwrap();
        let tagged = btf
            .add_type(
                "user",
                TypeKind::TypeTag {
                    ty: int,
                    attribute: false,
                },
            )
            .unwrap();
        let p_tagged = btf.add_ptr(tagged).unwrap();

        assert_eq!(c_decl(&btf, int, ""), "int");
        assert_eq!(c_decl(&btf, int, "x"), "int x");
        assert_eq!(c_decl(&btf, p_cchar, "name"), "const char *name");
        assert_eq!(c_decl(&btf, p_cchar, ""), "const char *");
        assert_eq!(c_decl(&btf, const_p_int, "p"), "int *const p");
        assert_eq!(c_decl(&btf, pp_char, "argv"), "char **argv");
        assert_eq!(c_decl(&btf, vol_uint, "flag"), "volatile unsigned int flag");
        assert_eq!(c_decl(&btf, u32_, "n"), "__u32 n");
        assert_eq!(c_decl(&btf, p_void, "ctx"), "void *ctx");
        assert_eq!(c_decl(&btf, p_tagged, "up"), "int *up");
    }

    #[test]
    fn c_names_of_aggregates_arrays_and_functions() {
        let Types {
            mut btf,
            int,
            char_,
            ..
        } = types();
        let s = btf
            .add_struct(
                "point",
                8,
                &[NewMember::new("x", int, 0), NewMember::new("y", int, 32)],
            )
            .unwrap();
        let anon = btf
            .add_struct("", 4, &[NewMember::new("a", int, 0)])
            .unwrap();
        let u = btf
            .add_union("val", 4, &[NewMember::new("i", int, 0)])
            .unwrap();
        let e = btf.add_enum("color", 4, false, &[("RED", 1)]).unwrap();
        let fwd = btf
            .add_type("sock", TypeKind::Fwd { union: false })
            .unwrap();
        let p_s = btf.add_ptr(s).unwrap();
        let arr = btf.add_array(char_, int, 16).unwrap();
        let arr2 = btf.add_array(arr, int, 4).unwrap();
        let p_arr = btf.add_ptr(arr).unwrap();
        let proto = btf.add_func_proto(int, &[("p", p_s), ("n", int)]).unwrap();
        let p_proto = btf.add_ptr(proto).unwrap();
        let vproto = btf.add_func_proto(void(), &[]).unwrap();
        let variadic = btf
            .add_func_proto(int, &[("fmt", p_s), ("", void())])
            .unwrap();
        let func = btf.add_func("check", proto, Linkage::Global).unwrap();
        let vfunc = btf.add_func("nothing", vproto, Linkage::Static).unwrap();
        let var = btf.add_var("counter", int, Linkage::Global).unwrap();

        assert_eq!(c_decl(&btf, s, ""), "struct point");
        assert_eq!(c_decl(&btf, anon, "a"), "struct {...} a");
        assert_eq!(c_decl(&btf, u, "v"), "union val v");
        assert_eq!(c_decl(&btf, e, "c"), "enum color c");
        assert_eq!(c_decl(&btf, fwd, "sk"), "struct sock sk");
        assert_eq!(c_decl(&btf, p_s, "skb"), "struct point *skb");
        assert_eq!(c_decl(&btf, arr, "comm"), "char comm[16]");
        assert_eq!(c_decl(&btf, arr2, "m"), "char m[4][16]");
        assert_eq!(c_decl(&btf, arr2, ""), "char[4][16]");
        assert_eq!(c_decl(&btf, p_arr, "pa"), "char (*pa)[16]");
        assert_eq!(
            c_decl(&btf, p_proto, "cb"),
            "int (*cb)(struct point *p, int n)"
        );
        assert_eq!(c_decl(&btf, variadic, "f"), "int f(struct point *fmt, ...)");
        assert_eq!(c_decl(&btf, func, ""), "int check(struct point *p, int n)");
        assert_eq!(c_decl(&btf, vfunc, ""), "void nothing(void)");
        assert_eq!(c_decl(&btf, var, ""), "int counter");
    }

    #[test]
    fn c_names_never_panic_on_bad_types() {
        let Types { mut btf, int, .. } = types();
        // A typedef cycle cannot be built through the checked API, so build a long chain
        // and check that the depth limit cuts it.
        let mut t = int;
        for _ in 0..(MAX_TYPE_DEPTH + 4) {
            t = btf.add_ptr(t).unwrap();
        }
        let text = c_decl(&btf, t, "p");
        assert!(text.starts_with("..."), "{text}");
        let foreign = btf.type_id(crate::btf::WireTypeId(1)).unwrap();
        let small = Btf::new(Endian::Little);
        assert_eq!(c_decl(&small, foreign, "x"), "<bad type 1> x");
    }

    fn relo(ty: TypeId, access: &str, kind: CoreReloKind) -> CoreRelo {
        CoreRelo {
            ty,
            access_str: crate::btf::StrOffset(0),
            access: CoreAccess::parse(access).unwrap(),
            kind,
        }
    }

    /// `struct outer { int first; struct inner in; union { int a; char b; }; }` with
    /// `struct inner { int x; short arr[4][2]; }`, a typedef of it and an enum.
    fn core_btf() -> (Btf, TypeId, TypeId, TypeId) {
        let Types {
            mut btf,
            int,
            char_,
            ..
        } = types();
        let short = btf.add_int("short", 2, IntEncoding::SIGNED, 16).unwrap();
        let row = btf.add_array(short, int, 2).unwrap();
        let arr = btf.add_array(row, int, 4).unwrap();
        let inner = btf
            .add_struct(
                "inner",
                20,
                &[NewMember::new("x", int, 0), NewMember::new("arr", arr, 32)],
            )
            .unwrap();
        let inner_t = btf.add_typedef("inner_t", inner).unwrap();
        let const_inner = btf.add_type("", TypeKind::Const(inner_t)).unwrap();
        let anon = btf
            .add_union(
                "",
                4,
                &[NewMember::new("a", int, 0), NewMember::new("b", char_, 0)],
            )
            .unwrap();
        let outer = btf
            .add_struct(
                "outer",
                28,
                &[
                    NewMember::new("first", int, 0),
                    NewMember::new("in", const_inner, 32),
                    NewMember::new("", anon, 192),
                ],
            )
            .unwrap();
        let outer_t = btf.add_typedef("outer_t", outer).unwrap();
        let e = btf
            .add_enum("e", 4, false, &[("ZERO", 0), ("ONE", 1)])
            .unwrap();
        (btf, outer, outer_t, e)
    }

    #[test]
    fn field_paths_walk_members_and_elements() {
        let (btf, outer, outer_t, _) = core_btf();
        let path = |ty, access| core_path(&btf, &relo(ty, access, CoreReloKind::FieldByteOffset));
        assert_eq!(path(outer, "0").unwrap(), "struct outer");
        assert_eq!(path(outer, "0:0").unwrap(), "struct outer::first");
        assert_eq!(path(outer, "0:1:1:2").unwrap(), "struct outer::in.arr[2]");
        assert_eq!(
            path(outer, "0:1:1:3:1").unwrap(),
            "struct outer::in.arr[3][1]"
        );
        assert_eq!(path(outer, "0:2:1").unwrap(), "struct outer::(anon).b");
        assert_eq!(path(outer, "3:1:0").unwrap(), "struct outer[3]::in.x");
        // Through a typedef at the root, kept in the printed name.
        assert_eq!(path(outer_t, "0:1:0").unwrap(), "outer_t::in.x");
    }

    #[test]
    fn field_paths_report_accesses_that_do_not_fit() {
        let (btf, outer, _, _) = core_btf();
        let path = |access| core_path(&btf, &relo(outer, access, CoreReloKind::FieldExists));
        assert_eq!(path("0:9").unwrap_err(), "no member 9");
        assert_eq!(path("0:0:1").unwrap_err(), "index 1 into a INT");
        let note = core_note(Some(&btf), &relo(outer, "0:9", CoreReloKind::FieldExists));
        assert_eq!(
            note,
            "CO-RE field_exists struct outer access 0:9 (no member 9)"
        );
        let note = core_note(None, &relo(outer, "0:9", CoreReloKind::FieldExists));
        assert_eq!(note, "CO-RE field_exists access 0:9");
    }

    #[test]
    fn type_and_enum_paths() {
        let (btf, outer, outer_t, e) = core_btf();
        let note = |ty, access, kind| core_note(Some(&btf), &relo(ty, access, kind));
        assert_eq!(
            note(outer, "0", CoreReloKind::TypeSize),
            "CO-RE type_size type struct outer"
        );
        assert_eq!(
            note(outer_t, "0", CoreReloKind::TypeIdLocal),
            "CO-RE local_type_id type outer_t"
        );
        assert_eq!(
            note(e, "1", CoreReloKind::EnumvalValue),
            "CO-RE enumval_value enum e::ONE"
        );
        assert_eq!(
            note(e, "2", CoreReloKind::EnumvalExists),
            "CO-RE enumval_exists enum e access 2 (no enumerator 2)"
        );
        assert_eq!(
            note(outer, "0", CoreReloKind::EnumvalExists),
            "CO-RE enumval_exists struct outer access 0 (STRUCT is not an enum)"
        );
    }

    #[test]
    fn helper_and_map_type_names() {
        assert_eq!(helper_name(1), Some("map_lookup_elem"));
        assert_eq!(helper_name(12), Some("tail_call"));
        assert_eq!(helper_name(113), Some("probe_read_kernel"));
        assert_eq!(helper_name(211), Some("cgrp_storage_delete"));
        assert_eq!(helper_name(0), None);
        assert_eq!(helper_name(-1), None);
        assert_eq!(helper_name(212), None);
        assert_eq!(map_type_name(1), "hash");
        assert_eq!(map_type_name(27), "ringbuf");
        assert_eq!(map_type_name(33), "arena");
        assert_eq!(map_type_name(99), "unknown");
    }

    fn mov(dst: Reg, imm: i32) -> Insn {
        Insn::Alu {
            class: AluClass::Alu64,
            op: AluOp::Mov,
            dst,
            src: Operand::Imm(imm),
        }
    }

    fn ld(dst: Reg) -> Insn {
        Insn::LdImm64 {
            kind: PseudoKind::None,
            dst,
            imm: 0,
        }
    }

    /// A module built with the API: one map, a data section with a variable and a string
    /// section, a kfunc extern, a program that uses all of them, a callback and a callee.
    #[test]
    fn dump_of_a_built_module() {
        let (mut btf, outer, _, _) = core_btf();
        let int = btf.type_id(crate::btf::WireTypeId(1)).unwrap();
        let p_outer = btf.add_ptr(outer).unwrap();
        let proto = btf.add_func_proto(int, &[("o", p_outer)]).unwrap();
        let func_ty = btf.add_func("prog", proto, Linkage::Global).unwrap();
        let var = btf.add_var("counter", int, Linkage::Global).unwrap();
        let datasec = btf
            .add_datasec(
                ".data",
                8,
                &[VarSecinfo {
                    ty: var,
                    offset: 4,
                    size: 4,
                }],
            )
            .unwrap();
        let kfunc_proto = btf.add_func_proto(void(), &[("o", p_outer)]).unwrap();
        let kfunc = btf
            .add_func("bpf_kfunc", kfunc_proto, Linkage::Extern)
            .unwrap();
        let file = btf.add_str("/src/prog.c").unwrap();
        let text1 = btf.add_str("\tint x = 0;").unwrap();
        let text2 = btf.add_str("  return x;").unwrap();
        let access = btf.add_str("0:1:1:2").unwrap();

        let mut m = Module::new(Endian::Little);
        m.btf = Some(btf);
        m.license = Some("GPL".into());
        m.kern_version = Some(0x050a00);
        let map = m.add_map(MapDef {
            name: "events".into(),
            origin: MapOrigin::Btf,
            map_type: 1,
            key_size: 4,
            value_size: 8,
            max_entries: 16,
            flags: 1,
            numa_node: 0,
            map_extra: 0,
            pinning: Pinning::ByName,
            key_type: Some(int),
            value_type: Some(outer),
            inner: None,
            init_slots: Vec::new(),
            btf_var: None,
        });
        let data = m.add_data(DataSection {
            name: ".data".into(),
            kind: DataKind::Data,
            bytes: vec![0; 8],
            align: 4,
            vars: vec![DataVar {
                name: "counter".into(),
                offset: 4,
                size: 4,
                linkage: SymbolLinkage::Global,
            }],
            btf_datasec: Some(datasec),
        });
        let strings = m.add_data(DataSection {
            name: ".rodata.str1.1".into(),
            kind: DataKind::Rodata,
            bytes: b"hi\n\0".to_vec(),
            align: 1,
            vars: Vec::new(),
            btf_datasec: None,
        });
        let ext = m.add_extern(Extern {
            name: "bpf_kfunc".into(),
            kind: ExternKind::Func,
            weak: true,
            btf: Some(kfunc),
        });
        let line = |m: &mut Module, text, line| {
            m.add_line(SourceLine {
                file,
                text,
                line,
                col: 3,
            })
        };
        let l1 = line(&mut m, text1, 10);
        let l2 = line(&mut m, text2, 11);
        let core = m.add_core_relo(CoreRelo {
            ty: outer,
            access_str: access,
            access: CoreAccess::parse("0:1:1:2").unwrap(),
            kind: CoreReloKind::FieldByteOffset,
        });

        let mut prog = Function::new("prog", "socket", true);
        prog.btf_func = Some(func_ty);
        let prog = m.add_function(prog);
        let callee = m.add_function(Function::new("callee", ".text", false));
        let cb = m.add_function(Function::new("cb", ".text", false));
        let meta = |reference, line, core| Meta {
            reference,
            line,
            core,
        };
        m.append(prog, mov(Reg::R0, 0), meta(None, Some(l1), None))
            .unwrap();
        m.append(prog, ld(Reg::R1), meta(Some(Ref::Map(map)), Some(l1), None))
            .unwrap();
        m.append(
            prog,
            ld(Reg::R2),
            meta(Some(Ref::Data { data, offset: 4 }), None, None),
        )
        .unwrap();
        m.append(
            prog,
            ld(Reg::R3),
            meta(
                Some(Ref::Data {
                    data: strings,
                    offset: 0,
                }),
                None,
                None,
            ),
        )
        .unwrap();
        m.append(prog, ld(Reg::R4), meta(Some(Ref::FuncAddr(cb)), None, None))
            .unwrap();
        let call = |kind, imm| Insn::Call { kind, imm, off: 0 };
        m.append(prog, call(CallKind::Helper, 1), Meta::default())
            .unwrap();
        m.append(prog, call(CallKind::Helper, 9999), Meta::default())
            .unwrap();
        m.append(
            prog,
            call(CallKind::Local, -1),
            meta(Some(Ref::Call(callee)), None, None),
        )
        .unwrap();
        m.append(
            prog,
            call(CallKind::Kfunc, 0),
            meta(Some(Ref::Extern(ext)), None, None),
        )
        .unwrap();
        let load = Insn::Load {
            size: crate::insn::Size::H,
            dst: Reg::R0,
            src: Reg::R1,
            off: 12,
        };
        let jump = m
            .append(
                prog,
                Insn::JmpCond {
                    class: JmpClass::Jmp,
                    op: JmpOp::Eq,
                    dst: Reg::R0,
                    src: Operand::Imm(0),
                    off: 0,
                },
                meta(None, Some(l2), None),
            )
            .unwrap();
        let ja = m
            .append(prog, Insn::Ja { off: 0 }, Meta::default())
            .unwrap();
        let target = m
            .append(prog, load, meta(None, Some(l2), Some(core)))
            .unwrap();
        let exit = m.append(prog, Insn::Exit, Meta::default()).unwrap();
        m.set_reference(jump, Some(Ref::Jump(exit)));
        m.set_reference(ja, Some(Ref::Jump(target)));
        m.append(callee, Insn::Exit, Meta::default()).unwrap();
        m.append(cb, Insn::Exit, Meta::default()).unwrap();

        let expected = "\
; little-endian module
license \"GPL\"
version 0x50a00 (5.10.0)
map events: hash (1), key 4, value 8, max_entries 16, flags 0x1, btf, pinned by name
    key: int
    value: struct outer
data .data: data, 8 bytes, align 4
    0x0004    4 global int counter
data .rodata.str1.1: rodata, 4 bytes, align 1
extern func weak bpf_kfunc: void bpf_kfunc(struct outer *o)

program prog (global, section socket, 13 insns)
    int prog(struct outer *o)
    ; prog.c:10:3  int x = 0;
    i0   r0 = 0x0
    i1   r1 = map events
    i2   r2 = .data+0x4 <counter>
    i3   r3 = .rodata.str1.1+0x0 \"hi\\n\"
    i4   r4 = func cb
    i5   call bpf_map_lookup_elem#1
    i6   call 0x270f
    i7   call callee
    i8   call bpf_kfunc
    ; prog.c:11:3  return x;
    i9   if r0 == 0x0 goto LBB0_1
    i10  goto LBB0_0
LBB0_0:
    i11  r0 = *(u16 *)(r1 + 0xc)
         ; CO-RE byte_off struct outer::in.arr[2]
LBB0_1:
    i12  exit

subprogram callee (static, section .text, 1 insns)
    i13  exit

subprogram cb (static, section .text, 1 insns)
    i14  exit
";
        let text = m.dump().to_string();
        assert_eq!(text, expected, "got:\n{text}");

        // A jump whose target left the function prints the id instead of a label.
        m.remove(exit).unwrap();
        let text = m.dump().to_string();
        assert!(
            text.contains("if r0 == 0x0 goto <i12 outside the function>"),
            "{text}"
        );
    }
}
