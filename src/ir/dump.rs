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
/// [module documentation](self).
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
    /// assert!(text.contains("program prog (global, section socket)"));
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
