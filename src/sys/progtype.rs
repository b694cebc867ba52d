//! Section names as libbpf reads them: which program type, attach type, flags and attach
//! target a program in ELF section `SEC("...")` has.
//!
//! The table follows libbpf's `section_defs[]` conventions (public facts of its ABI, not its
//! code). A pattern matches in one of three ways:
//!
//! * `name` — exactly `name` (`socket`, `xdp`, `tc`, `syscall`);
//! * `name+` — exactly `name`, or `name/` followed by the attach target (`kprobe`,
//!   `kprobe/do_unlinkat`, but not `kprobes`);
//! * `name/` — `name/` followed by anything (`sk_skb/` kinds are spelled out instead).
//!
//! The first matching entry wins, so more specific entries come first (`xdp.frags/devmap`
//! before `xdp.frags`). For the BTF-attached types (`tp_btf`, `fentry`, `fexit`, `fmod_ret`,
//! `lsm`, `iter`, `freplace`) the target comes with the name and kind of the type a loader
//! looks up in the kernel's BTF to fill `attach_btf_id`: `btf_trace_X` (a typedef) for
//! `tp_btf/X`, `bpf_lsm_X` for `lsm/X`, `bpf_iter_X` for `iter/X`, and plain `X` (a
//! function) for the trampolines (and for `freplace/X`, looked up in the target program's
//! BTF instead).
//!
//! Costs: a linear scan of about a hundred short patterns; no allocation.

use super::prog::{BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS};
use super::{AttachType, ProgType};

/// What a section name says about the programs in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramKind<'a> {
    /// The program type to load with.
    pub prog_type: ProgType,
    /// The `expected_attach_type` to load with (0 when the type needs none).
    pub expected_attach_type: AttachType,
    /// `BPF_F_*` program flags the section implies ([`BPF_F_SLEEPABLE`] for `.s` sections,
    /// [`BPF_F_XDP_HAS_FRAGS`] for `xdp.frags`).
    pub prog_flags: u32,
    /// The text after `prefix/`, when the section names a target.
    pub attach_target: Option<AttachTarget<'a>>,
}

/// The target a section names (`do_unlinkat` in `kprobe/do_unlinkat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttachTarget<'a> {
    /// The text after the section's prefix and `/`, as written (a kernel function, a
    /// `category/name` tracepoint, a `path:function` uprobe, ...).
    pub name: &'a str,
    /// For BTF-attached types: how to find `attach_btf_id` in the kernel's BTF.
    pub btf: Option<BtfTarget>,
}

/// How a BTF-attached program's target is found in kernel BTF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BtfTarget {
    /// Prefix of the BTF type name: `"btf_trace_"`, `"bpf_lsm_"`, `"bpf_iter_"` or `""`.
    pub prefix: &'static str,
    /// Kind of the BTF type to look up.
    pub kind: BtfTargetKind,
}

/// The kind of BTF type that names an attach target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BtfTargetKind {
    /// A `TYPEDEF` (`btf_trace_X` of raw tracepoints).
    Typedef,
    /// A `FUNC`.
    Func,
}

impl AttachTarget<'_> {
    /// The name to look up in kernel BTF (with
    /// [`Btf::types_by_name`](crate::btf::Btf::types_by_name)), for BTF-attached types.
    pub fn btf_name(&self) -> Option<String> {
        self.btf.map(|b| format!("{}{}", b.prefix, self.name))
    }
}

/// Section flags of the table.
const NONE: u8 = 0;
/// `.s` sections: sleepable programs.
const SLEEPABLE: u8 = 1;
/// `xdp.frags` sections.
const FRAGS: u8 = 2;

/// No BTF target.
const NO_BTF: Option<BtfTarget> = None;
/// `tp_btf/X`: typedef `btf_trace_X`.
const TP_BTF: Option<BtfTarget> = Some(BtfTarget {
    prefix: "btf_trace_",
    kind: BtfTargetKind::Typedef,
});
/// Trampolines and `freplace`: function `X`.
const FUNC: Option<BtfTarget> = Some(BtfTarget {
    prefix: "",
    kind: BtfTargetKind::Func,
});
/// `lsm/X`: function `bpf_lsm_X`.
const LSM: Option<BtfTarget> = Some(BtfTarget {
    prefix: "bpf_lsm_",
    kind: BtfTargetKind::Func,
});
/// `iter/X`: function `bpf_iter_X`.
const ITER: Option<BtfTarget> = Some(BtfTarget {
    prefix: "bpf_iter_",
    kind: BtfTargetKind::Func,
});

/// One convention: pattern, program type, attach type, flags, BTF target.
struct SectionDef(&'static str, ProgType, AttachType, u8, Option<BtfTarget>);

/// Shorthands for the table.
type P = ProgType;
/// Shorthands for the table.
type A = AttachType;
/// "No attach type" (0), spelled for the table.
const A0: AttachType = AttachType(0);

/// libbpf's conventions, most specific first.
#[rustfmt::skip]
static SECTIONS: &[SectionDef] = &[
    SectionDef("socket", P::SOCKET_FILTER, A0, NONE, NO_BTF),
    SectionDef("sk_reuseport/migrate", P::SK_REUSEPORT, A::SK_REUSEPORT_SELECT_OR_MIGRATE, NONE, NO_BTF),
    SectionDef("sk_reuseport", P::SK_REUSEPORT, A::SK_REUSEPORT_SELECT, NONE, NO_BTF),
    SectionDef("kprobe+", P::KPROBE, A0, NONE, NO_BTF),
    SectionDef("uprobe+", P::KPROBE, A0, NONE, NO_BTF),
    SectionDef("uprobe.s+", P::KPROBE, A0, SLEEPABLE, NO_BTF),
    SectionDef("kretprobe+", P::KPROBE, A0, NONE, NO_BTF),
    SectionDef("uretprobe+", P::KPROBE, A0, NONE, NO_BTF),
    SectionDef("uretprobe.s+", P::KPROBE, A0, SLEEPABLE, NO_BTF),
    SectionDef("kprobe.multi+", P::KPROBE, A::TRACE_KPROBE_MULTI, NONE, NO_BTF),
    SectionDef("kretprobe.multi+", P::KPROBE, A::TRACE_KPROBE_MULTI, NONE, NO_BTF),
    SectionDef("kprobe.session+", P::KPROBE, A::TRACE_KPROBE_SESSION, NONE, NO_BTF),
    SectionDef("uprobe.multi+", P::KPROBE, A::TRACE_UPROBE_MULTI, NONE, NO_BTF),
    SectionDef("uretprobe.multi+", P::KPROBE, A::TRACE_UPROBE_MULTI, NONE, NO_BTF),
    SectionDef("uprobe.session+", P::KPROBE, A::TRACE_UPROBE_SESSION, NONE, NO_BTF),
    SectionDef("uprobe.multi.s+", P::KPROBE, A::TRACE_UPROBE_MULTI, SLEEPABLE, NO_BTF),
    SectionDef("uretprobe.multi.s+", P::KPROBE, A::TRACE_UPROBE_MULTI, SLEEPABLE, NO_BTF),
    SectionDef("uprobe.session.s+", P::KPROBE, A::TRACE_UPROBE_SESSION, SLEEPABLE, NO_BTF),
    SectionDef("ksyscall+", P::KPROBE, A0, NONE, NO_BTF),
    SectionDef("kretsyscall+", P::KPROBE, A0, NONE, NO_BTF),
    SectionDef("usdt+", P::KPROBE, A0, NONE, NO_BTF),
    SectionDef("usdt.s+", P::KPROBE, A0, SLEEPABLE, NO_BTF),
    SectionDef("tc/ingress", P::SCHED_CLS, A::TCX_INGRESS, NONE, NO_BTF),
    SectionDef("tc/egress", P::SCHED_CLS, A::TCX_EGRESS, NONE, NO_BTF),
    SectionDef("tcx/ingress", P::SCHED_CLS, A::TCX_INGRESS, NONE, NO_BTF),
    SectionDef("tcx/egress", P::SCHED_CLS, A::TCX_EGRESS, NONE, NO_BTF),
    SectionDef("tc", P::SCHED_CLS, A0, NONE, NO_BTF),
    SectionDef("classifier", P::SCHED_CLS, A0, NONE, NO_BTF),
    SectionDef("action", P::SCHED_ACT, A0, NONE, NO_BTF),
    SectionDef("netkit/primary", P::SCHED_CLS, A::NETKIT_PRIMARY, NONE, NO_BTF),
    SectionDef("netkit/peer", P::SCHED_CLS, A::NETKIT_PEER, NONE, NO_BTF),
    SectionDef("tracepoint+", P::TRACEPOINT, A0, NONE, NO_BTF),
    SectionDef("tp+", P::TRACEPOINT, A0, NONE, NO_BTF),
    SectionDef("tracepoint.s+", P::TRACEPOINT, A0, SLEEPABLE, NO_BTF),
    SectionDef("tp.s+", P::TRACEPOINT, A0, SLEEPABLE, NO_BTF),
    SectionDef("raw_tracepoint+", P::RAW_TRACEPOINT, A0, NONE, NO_BTF),
    SectionDef("raw_tp+", P::RAW_TRACEPOINT, A0, NONE, NO_BTF),
    SectionDef("raw_tracepoint.s+", P::RAW_TRACEPOINT, A0, SLEEPABLE, NO_BTF),
    SectionDef("raw_tp.s+", P::RAW_TRACEPOINT, A0, SLEEPABLE, NO_BTF),
    SectionDef("raw_tracepoint.w+", P::RAW_TRACEPOINT_WRITABLE, A0, NONE, NO_BTF),
    SectionDef("raw_tp.w+", P::RAW_TRACEPOINT_WRITABLE, A0, NONE, NO_BTF),
    SectionDef("tp_btf+", P::TRACING, A::TRACE_RAW_TP, NONE, TP_BTF),
    SectionDef("tp_btf.s+", P::TRACING, A::TRACE_RAW_TP, SLEEPABLE, TP_BTF),
    SectionDef("fentry+", P::TRACING, A::TRACE_FENTRY, NONE, FUNC),
    SectionDef("fmod_ret+", P::TRACING, A::MODIFY_RETURN, NONE, FUNC),
    SectionDef("fexit+", P::TRACING, A::TRACE_FEXIT, NONE, FUNC),
    SectionDef("fentry.s+", P::TRACING, A::TRACE_FENTRY, SLEEPABLE, FUNC),
    SectionDef("fmod_ret.s+", P::TRACING, A::MODIFY_RETURN, SLEEPABLE, FUNC),
    SectionDef("fexit.s+", P::TRACING, A::TRACE_FEXIT, SLEEPABLE, FUNC),
    SectionDef("freplace+", P::EXT, A0, NONE, FUNC),
    SectionDef("lsm+", P::LSM, A::LSM_MAC, NONE, LSM),
    SectionDef("lsm.s+", P::LSM, A::LSM_MAC, SLEEPABLE, LSM),
    SectionDef("lsm_cgroup+", P::LSM, A::LSM_CGROUP, NONE, LSM),
    SectionDef("iter+", P::TRACING, A::TRACE_ITER, NONE, ITER),
    SectionDef("iter.s+", P::TRACING, A::TRACE_ITER, SLEEPABLE, ITER),
    SectionDef("syscall", P::SYSCALL, A0, SLEEPABLE, NO_BTF),
    SectionDef("xdp.frags/devmap", P::XDP, A::XDP_DEVMAP, FRAGS, NO_BTF),
    SectionDef("xdp/devmap", P::XDP, A::XDP_DEVMAP, NONE, NO_BTF),
    SectionDef("xdp.frags/cpumap", P::XDP, A::XDP_CPUMAP, FRAGS, NO_BTF),
    SectionDef("xdp/cpumap", P::XDP, A::XDP_CPUMAP, NONE, NO_BTF),
    SectionDef("xdp.frags", P::XDP, A::XDP, FRAGS, NO_BTF),
    SectionDef("xdp", P::XDP, A::XDP, NONE, NO_BTF),
    SectionDef("perf_event", P::PERF_EVENT, A0, NONE, NO_BTF),
    SectionDef("lwt_in", P::LWT_IN, A0, NONE, NO_BTF),
    SectionDef("lwt_out", P::LWT_OUT, A0, NONE, NO_BTF),
    SectionDef("lwt_xmit", P::LWT_XMIT, A0, NONE, NO_BTF),
    SectionDef("lwt_seg6local", P::LWT_SEG6LOCAL, A0, NONE, NO_BTF),
    SectionDef("sockops", P::SOCK_OPS, A::CGROUP_SOCK_OPS, NONE, NO_BTF),
    SectionDef("sk_skb/stream_parser", P::SK_SKB, A::SK_SKB_STREAM_PARSER, NONE, NO_BTF),
    SectionDef("sk_skb/stream_verdict", P::SK_SKB, A::SK_SKB_STREAM_VERDICT, NONE, NO_BTF),
    SectionDef("sk_skb/verdict", P::SK_SKB, A::SK_SKB_VERDICT, NONE, NO_BTF),
    SectionDef("sk_skb", P::SK_SKB, A0, NONE, NO_BTF),
    SectionDef("sk_msg", P::SK_MSG, A::SK_MSG_VERDICT, NONE, NO_BTF),
    SectionDef("lirc_mode2", P::LIRC_MODE2, A::LIRC_MODE2, NONE, NO_BTF),
    SectionDef("flow_dissector", P::FLOW_DISSECTOR, A::FLOW_DISSECTOR, NONE, NO_BTF),
    SectionDef("cgroup_skb/ingress", P::CGROUP_SKB, A::CGROUP_INET_INGRESS, NONE, NO_BTF),
    SectionDef("cgroup_skb/egress", P::CGROUP_SKB, A::CGROUP_INET_EGRESS, NONE, NO_BTF),
    SectionDef("cgroup/skb", P::CGROUP_SKB, A0, NONE, NO_BTF),
    SectionDef("cgroup/sock_create", P::CGROUP_SOCK, A::CGROUP_INET_SOCK_CREATE, NONE, NO_BTF),
    SectionDef("cgroup/sock_release", P::CGROUP_SOCK, A::CGROUP_INET_SOCK_RELEASE, NONE, NO_BTF),
    SectionDef("cgroup/sock", P::CGROUP_SOCK, A::CGROUP_INET_SOCK_CREATE, NONE, NO_BTF),
    SectionDef("cgroup/post_bind4", P::CGROUP_SOCK, A::CGROUP_INET4_POST_BIND, NONE, NO_BTF),
    SectionDef("cgroup/post_bind6", P::CGROUP_SOCK, A::CGROUP_INET6_POST_BIND, NONE, NO_BTF),
    SectionDef("cgroup/bind4", P::CGROUP_SOCK_ADDR, A::CGROUP_INET4_BIND, NONE, NO_BTF),
    SectionDef("cgroup/bind6", P::CGROUP_SOCK_ADDR, A::CGROUP_INET6_BIND, NONE, NO_BTF),
    SectionDef("cgroup/connect4", P::CGROUP_SOCK_ADDR, A::CGROUP_INET4_CONNECT, NONE, NO_BTF),
    SectionDef("cgroup/connect6", P::CGROUP_SOCK_ADDR, A::CGROUP_INET6_CONNECT, NONE, NO_BTF),
    SectionDef("cgroup/connect_unix", P::CGROUP_SOCK_ADDR, A::CGROUP_UNIX_CONNECT, NONE, NO_BTF),
    SectionDef("cgroup/sendmsg4", P::CGROUP_SOCK_ADDR, A::CGROUP_UDP4_SENDMSG, NONE, NO_BTF),
    SectionDef("cgroup/sendmsg6", P::CGROUP_SOCK_ADDR, A::CGROUP_UDP6_SENDMSG, NONE, NO_BTF),
    SectionDef("cgroup/sendmsg_unix", P::CGROUP_SOCK_ADDR, A::CGROUP_UNIX_SENDMSG, NONE, NO_BTF),
    SectionDef("cgroup/recvmsg4", P::CGROUP_SOCK_ADDR, A::CGROUP_UDP4_RECVMSG, NONE, NO_BTF),
    SectionDef("cgroup/recvmsg6", P::CGROUP_SOCK_ADDR, A::CGROUP_UDP6_RECVMSG, NONE, NO_BTF),
    SectionDef("cgroup/recvmsg_unix", P::CGROUP_SOCK_ADDR, A::CGROUP_UNIX_RECVMSG, NONE, NO_BTF),
    SectionDef("cgroup/getpeername4", P::CGROUP_SOCK_ADDR, A::CGROUP_INET4_GETPEERNAME, NONE, NO_BTF),
    SectionDef("cgroup/getpeername6", P::CGROUP_SOCK_ADDR, A::CGROUP_INET6_GETPEERNAME, NONE, NO_BTF),
    SectionDef("cgroup/getpeername_unix", P::CGROUP_SOCK_ADDR, A::CGROUP_UNIX_GETPEERNAME, NONE, NO_BTF),
    SectionDef("cgroup/getsockname4", P::CGROUP_SOCK_ADDR, A::CGROUP_INET4_GETSOCKNAME, NONE, NO_BTF),
    SectionDef("cgroup/getsockname6", P::CGROUP_SOCK_ADDR, A::CGROUP_INET6_GETSOCKNAME, NONE, NO_BTF),
    SectionDef("cgroup/getsockname_unix", P::CGROUP_SOCK_ADDR, A::CGROUP_UNIX_GETSOCKNAME, NONE, NO_BTF),
    SectionDef("cgroup/sysctl", P::CGROUP_SYSCTL, A::CGROUP_SYSCTL, NONE, NO_BTF),
    SectionDef("cgroup/getsockopt", P::CGROUP_SOCKOPT, A::CGROUP_GETSOCKOPT, NONE, NO_BTF),
    SectionDef("cgroup/setsockopt", P::CGROUP_SOCKOPT, A::CGROUP_SETSOCKOPT, NONE, NO_BTF),
    SectionDef("cgroup/dev", P::CGROUP_DEVICE, A::CGROUP_DEVICE, NONE, NO_BTF),
    SectionDef("struct_ops+", P::STRUCT_OPS, A0, NONE, NO_BTF),
    SectionDef("struct_ops.s+", P::STRUCT_OPS, A0, SLEEPABLE, NO_BTF),
    SectionDef("sk_lookup", P::SK_LOOKUP, A::SK_LOOKUP, NONE, NO_BTF),
    SectionDef("netfilter", P::NETFILTER, A::NETFILTER, NONE, NO_BTF),
];

/// How `section` matches `pattern`: `None` when it does not, else the target text (if any).
fn matches<'a>(pattern: &str, section: &'a str) -> Option<Option<&'a str>> {
    if let Some(base) = pattern.strip_suffix('+') {
        let rest = section.strip_prefix(base)?;
        if rest.is_empty() {
            return Some(None);
        }
        return rest.strip_prefix('/').map(Some);
    }
    if pattern.ends_with('/') {
        return section.strip_prefix(pattern).map(Some);
    }
    (section == pattern).then_some(None)
}

/// Whether a loader loads the programs of ELF section `section` unless told otherwise:
/// libbpf's sections starting with `?` (`SEC("?kprobe/...")`) hold programs that are loaded
/// only when asked for by name, or (struct_ops) when a struct_ops map refers to them.
///
/// ```
/// use bpfir::sys::autoload;
/// assert!(autoload("kprobe/do_unlinkat"));
/// assert!(!autoload("?kprobe/do_unlinkat"));
/// ```
pub fn autoload(section: &str) -> bool {
    !section.starts_with('?')
}

/// The program type, attach type, flags and attach target that libbpf gives programs in
/// ELF section `section`, or `None` for a name it does not know (`.text`, `license`, ...).
///
/// ```
/// use bpfir::sys::{program_kind, ProgType};
/// let kind = program_kind("kprobe/do_unlinkat").unwrap();
/// assert_eq!(kind.prog_type, ProgType::KPROBE);
/// assert_eq!(kind.attach_target.unwrap().name, "do_unlinkat");
/// let tp = program_kind("tp_btf/sched_switch").unwrap();
/// assert_eq!(tp.attach_target.unwrap().btf_name().unwrap(), "btf_trace_sched_switch");
/// ```
pub fn program_kind(section: &str) -> Option<ProgramKind<'_>> {
    // `?` only turns autoload off (see [`autoload`]); the name after it says the rest.
    let section = section.strip_prefix('?').unwrap_or(section);
    SECTIONS
        .iter()
        .find_map(|SectionDef(pattern, ty, attach, flags, btf)| {
            let target = matches(pattern, section)?;
            let mut prog_flags = 0;
            if flags & SLEEPABLE != 0 {
                prog_flags |= BPF_F_SLEEPABLE;
            }
            if flags & FRAGS != 0 {
                prog_flags |= BPF_F_XDP_HAS_FRAGS;
            }
            Some(ProgramKind {
                prog_type: *ty,
                expected_attach_type: *attach,
                prog_flags,
                attach_target: target.map(|name| AttachTarget { name, btf: *btf }),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(section: &str) -> ProgramKind<'_> {
        program_kind(section).unwrap_or_else(|| panic!("{section} not recognized"))
    }

    #[test]
    fn exact_names() {
        assert_eq!(kind("socket").prog_type, ProgType::SOCKET_FILTER);
        assert_eq!(kind("socket").attach_target, None);
        // Exact entries take no suffix, as in libbpf 1.0.
        assert_eq!(program_kind("socket/1"), None);
        assert_eq!(program_kind("xdp_prog"), None);
        assert_eq!(kind("xdp").expected_attach_type, AttachType::XDP);
        assert_eq!(kind("xdp").prog_flags, 0);
        assert_eq!(kind("xdp.frags").prog_flags, BPF_F_XDP_HAS_FRAGS);
        assert_eq!(
            kind("xdp.frags/devmap").expected_attach_type,
            AttachType::XDP_DEVMAP
        );
        assert_eq!(kind("tc").prog_type, ProgType::SCHED_CLS);
        assert_eq!(kind("tc").expected_attach_type, AttachType(0));
        assert_eq!(kind("classifier").prog_type, ProgType::SCHED_CLS);
        assert_eq!(kind("action").prog_type, ProgType::SCHED_ACT);
        assert_eq!(kind("syscall").prog_type, ProgType::SYSCALL);
        assert_eq!(kind("syscall").prog_flags, BPF_F_SLEEPABLE);
        assert_eq!(
            kind("sk_msg").expected_attach_type,
            AttachType::SK_MSG_VERDICT
        );
        assert_eq!(kind("perf_event").prog_type, ProgType::PERF_EVENT);
        assert_eq!(kind("lwt_xmit").prog_type, ProgType::LWT_XMIT);
        assert_eq!(kind("flow_dissector").prog_type, ProgType::FLOW_DISSECTOR);
        assert_eq!(
            kind("netfilter").expected_attach_type,
            AttachType::NETFILTER
        );
        assert_eq!(
            kind("sk_reuseport").expected_attach_type,
            AttachType::SK_REUSEPORT_SELECT
        );
        assert_eq!(
            kind("sk_reuseport/migrate").expected_attach_type,
            AttachType::SK_REUSEPORT_SELECT_OR_MIGRATE
        );
    }

    #[test]
    fn tc_and_cgroup_attach_types() {
        assert_eq!(
            kind("tcx/ingress").expected_attach_type,
            AttachType::TCX_INGRESS
        );
        assert_eq!(
            kind("tcx/egress").expected_attach_type,
            AttachType::TCX_EGRESS
        );
        assert_eq!(
            kind("tc/ingress").expected_attach_type,
            AttachType::TCX_INGRESS
        );
        assert_eq!(program_kind("tcx/sideways"), None);
        let skb = kind("cgroup_skb/egress");
        assert_eq!(skb.prog_type, ProgType::CGROUP_SKB);
        assert_eq!(skb.expected_attach_type, AttachType::CGROUP_INET_EGRESS);
        assert_eq!(kind("cgroup/skb").expected_attach_type, AttachType(0));
        assert_eq!(
            kind("cgroup/sock").expected_attach_type,
            AttachType::CGROUP_INET_SOCK_CREATE
        );
        assert_eq!(
            kind("cgroup/sock_release").expected_attach_type,
            AttachType::CGROUP_INET_SOCK_RELEASE
        );
        assert_eq!(
            kind("cgroup/connect4").prog_type,
            ProgType::CGROUP_SOCK_ADDR
        );
        assert_eq!(kind("cgroup/dev").prog_type, ProgType::CGROUP_DEVICE);
        assert_eq!(
            kind("sockops").expected_attach_type,
            AttachType::CGROUP_SOCK_OPS
        );
        assert_eq!(
            kind("sk_skb/stream_verdict").expected_attach_type,
            AttachType::SK_SKB_STREAM_VERDICT
        );
        assert_eq!(kind("sk_skb").expected_attach_type, AttachType(0));
    }

    #[test]
    fn probes_take_an_optional_target() {
        let k = kind("kprobe/do_unlinkat");
        assert_eq!(k.prog_type, ProgType::KPROBE);
        assert_eq!(k.expected_attach_type, AttachType(0));
        let target = k.attach_target.unwrap();
        assert_eq!(target.name, "do_unlinkat");
        assert_eq!(target.btf, None);
        assert_eq!(target.btf_name(), None);
        assert_eq!(kind("kprobe").attach_target, None);
        assert_eq!(
            kind("kretprobe/vfs_read+0x10").attach_target.unwrap().name,
            "vfs_read+0x10"
        );
        assert_eq!(program_kind("kprobes/x"), None);
        assert_eq!(
            kind("uprobe//bin/sh:main").attach_target.unwrap().name,
            "/bin/sh:main"
        );
        assert_eq!(kind("uprobe.s/x").prog_flags, BPF_F_SLEEPABLE);
        assert_eq!(kind("uretprobe/x").prog_type, ProgType::KPROBE);
        assert_eq!(kind("usdt").prog_type, ProgType::KPROBE);
        assert_eq!(
            kind("ksyscall/openat").attach_target.unwrap().name,
            "openat"
        );
        assert_eq!(kind("kretsyscall/openat").prog_type, ProgType::KPROBE);
        assert_eq!(
            kind("kprobe.multi/vfs_*").expected_attach_type,
            AttachType::TRACE_KPROBE_MULTI
        );
    }

    #[test]
    fn tracepoints() {
        let tp = kind("tracepoint/syscalls/sys_enter_openat");
        assert_eq!(tp.prog_type, ProgType::TRACEPOINT);
        assert_eq!(tp.attach_target.unwrap().name, "syscalls/sys_enter_openat");
        assert_eq!(
            kind("tp/sched/sched_switch").prog_type,
            ProgType::TRACEPOINT
        );
        assert_eq!(
            kind("raw_tracepoint/sched_switch").prog_type,
            ProgType::RAW_TRACEPOINT
        );
        assert_eq!(
            kind("raw_tp/sched_switch").prog_type,
            ProgType::RAW_TRACEPOINT
        );
        assert_eq!(
            kind("raw_tp.w/x").prog_type,
            ProgType::RAW_TRACEPOINT_WRITABLE
        );
    }

    #[test]
    fn btf_attached_types_name_their_kernel_btf_type() {
        let cases = [
            (
                "tp_btf/sched_switch",
                ProgType::TRACING,
                AttachType::TRACE_RAW_TP,
                "btf_trace_sched_switch",
                BtfTargetKind::Typedef,
            ),
            (
                "fentry/do_unlinkat",
                ProgType::TRACING,
                AttachType::TRACE_FENTRY,
                "do_unlinkat",
                BtfTargetKind::Func,
            ),
            (
                "fexit/do_unlinkat",
                ProgType::TRACING,
                AttachType::TRACE_FEXIT,
                "do_unlinkat",
                BtfTargetKind::Func,
            ),
            (
                "fmod_ret/security_x",
                ProgType::TRACING,
                AttachType::MODIFY_RETURN,
                "security_x",
                BtfTargetKind::Func,
            ),
            (
                "lsm/file_open",
                ProgType::LSM,
                AttachType::LSM_MAC,
                "bpf_lsm_file_open",
                BtfTargetKind::Func,
            ),
            (
                "iter/task",
                ProgType::TRACING,
                AttachType::TRACE_ITER,
                "bpf_iter_task",
                BtfTargetKind::Func,
            ),
            (
                "freplace/handler",
                ProgType::EXT,
                AttachType(0),
                "handler",
                BtfTargetKind::Func,
            ),
        ];
        for (section, ty, attach, btf_name, btf_kind) in cases {
            let k = kind(section);
            assert_eq!(k.prog_type, ty, "{section}");
            assert_eq!(k.expected_attach_type, attach, "{section}");
            let target = k.attach_target.unwrap();
            assert_eq!(target.btf_name().as_deref(), Some(btf_name), "{section}");
            assert_eq!(target.btf.unwrap().kind, btf_kind, "{section}");
        }
        assert_eq!(kind("fentry.s/x").prog_flags, BPF_F_SLEEPABLE);
        assert_eq!(kind("lsm.s/x").prog_flags, BPF_F_SLEEPABLE);
        assert_eq!(kind("struct_ops/init").prog_type, ProgType::STRUCT_OPS);
        assert_eq!(kind("struct_ops/init").attach_target.unwrap().btf, None);
    }

    #[test]
    fn unknown_sections() {
        for s in [
            ".text",
            "license",
            ".maps",
            "",
            "kprobe_",
            "fentry.x/y",
            "tc/other",
        ] {
            assert_eq!(program_kind(s), None, "{s}");
        }
    }

    #[test]
    fn every_pattern_matches_itself_or_with_a_target() {
        for SectionDef(pattern, ty, attach, ..) in SECTIONS {
            let sample = match pattern.strip_suffix('+') {
                Some(base) => format!("{base}/target"),
                None => pattern.to_string(),
            };
            let k = program_kind(&sample).unwrap();
            // An earlier, more general entry must not shadow a later one.
            assert_eq!(k.prog_type, *ty, "{pattern}");
            assert_eq!(k.expected_attach_type, *attach, "{pattern}");
        }
    }
}
