//! The kernel's numbered enums that loaders pass in attrs: `enum bpf_prog_type`,
//! `enum bpf_attach_type` and `enum bpf_map_type`, as open newtypes.
//!
//! Each is a `u32` newtype with one associated constant per kernel enumerator (named as the
//! kernel names it, without the common prefix), so a number this crate does not know yet
//! (a newer kernel's) still fits. `Debug` prints the kernel's name where known. The values
//! follow `include/uapi/linux/bpf.h`; the kernel never renumbers them.

use std::fmt;

macro_rules! kernel_enum {
    (
        $(#[$doc:meta])*
        $name:ident, $prefix:literal {
            $($konst:ident = $value:literal,)*
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);

        impl $name {
            $(
                #[doc = concat!("`", $prefix, stringify!($konst), "` (", stringify!($value), ").")]
                pub const $konst: $name = $name($value);
            )*

            /// The kernel's name of this value, or `None` for a number this crate does not
            /// know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(concat!($prefix, stringify!($konst))),)*
                    _ => None,
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self, f)
            }
        }
    };
}

kernel_enum! {
    /// A program type (`enum bpf_prog_type`): what a program is run on, which helpers it
    /// may call and what its context is.
    ProgType, "BPF_PROG_TYPE_" {
        UNSPEC = 0,
        SOCKET_FILTER = 1,
        KPROBE = 2,
        SCHED_CLS = 3,
        SCHED_ACT = 4,
        TRACEPOINT = 5,
        XDP = 6,
        PERF_EVENT = 7,
        CGROUP_SKB = 8,
        CGROUP_SOCK = 9,
        LWT_IN = 10,
        LWT_OUT = 11,
        LWT_XMIT = 12,
        SOCK_OPS = 13,
        SK_SKB = 14,
        CGROUP_DEVICE = 15,
        SK_MSG = 16,
        RAW_TRACEPOINT = 17,
        CGROUP_SOCK_ADDR = 18,
        LWT_SEG6LOCAL = 19,
        LIRC_MODE2 = 20,
        SK_REUSEPORT = 21,
        FLOW_DISSECTOR = 22,
        CGROUP_SYSCTL = 23,
        RAW_TRACEPOINT_WRITABLE = 24,
        CGROUP_SOCKOPT = 25,
        TRACING = 26,
        STRUCT_OPS = 27,
        EXT = 28,
        LSM = 29,
        SK_LOOKUP = 30,
        SYSCALL = 31,
        NETFILTER = 32,
    }
}

kernel_enum! {
    /// An attach type (`enum bpf_attach_type`): where a program is attached; passed at load
    /// time as `expected_attach_type` for the program types that need it. The default, 0,
    /// (`BPF_CGROUP_INET_INGRESS`) is what the kernel reads as "none" for every other type.
    AttachType, "BPF_" {
        CGROUP_INET_INGRESS = 0,
        CGROUP_INET_EGRESS = 1,
        CGROUP_INET_SOCK_CREATE = 2,
        CGROUP_SOCK_OPS = 3,
        SK_SKB_STREAM_PARSER = 4,
        SK_SKB_STREAM_VERDICT = 5,
        CGROUP_DEVICE = 6,
        SK_MSG_VERDICT = 7,
        CGROUP_INET4_BIND = 8,
        CGROUP_INET6_BIND = 9,
        CGROUP_INET4_CONNECT = 10,
        CGROUP_INET6_CONNECT = 11,
        CGROUP_INET4_POST_BIND = 12,
        CGROUP_INET6_POST_BIND = 13,
        CGROUP_UDP4_SENDMSG = 14,
        CGROUP_UDP6_SENDMSG = 15,
        LIRC_MODE2 = 16,
        FLOW_DISSECTOR = 17,
        CGROUP_SYSCTL = 18,
        CGROUP_UDP4_RECVMSG = 19,
        CGROUP_UDP6_RECVMSG = 20,
        CGROUP_GETSOCKOPT = 21,
        CGROUP_SETSOCKOPT = 22,
        TRACE_RAW_TP = 23,
        TRACE_FENTRY = 24,
        TRACE_FEXIT = 25,
        MODIFY_RETURN = 26,
        LSM_MAC = 27,
        TRACE_ITER = 28,
        CGROUP_INET4_GETPEERNAME = 29,
        CGROUP_INET6_GETPEERNAME = 30,
        CGROUP_INET4_GETSOCKNAME = 31,
        CGROUP_INET6_GETSOCKNAME = 32,
        XDP_DEVMAP = 33,
        CGROUP_INET_SOCK_RELEASE = 34,
        XDP_CPUMAP = 35,
        SK_LOOKUP = 36,
        XDP = 37,
        SK_SKB_VERDICT = 38,
        SK_REUSEPORT_SELECT = 39,
        SK_REUSEPORT_SELECT_OR_MIGRATE = 40,
        PERF_EVENT = 41,
        TRACE_KPROBE_MULTI = 42,
        LSM_CGROUP = 43,
        STRUCT_OPS = 44,
        NETFILTER = 45,
        TCX_INGRESS = 46,
        TCX_EGRESS = 47,
        TRACE_UPROBE_MULTI = 48,
        CGROUP_UNIX_CONNECT = 49,
        CGROUP_UNIX_SENDMSG = 50,
        CGROUP_UNIX_RECVMSG = 51,
        CGROUP_UNIX_GETPEERNAME = 52,
        CGROUP_UNIX_GETSOCKNAME = 53,
        NETKIT_PRIMARY = 54,
        NETKIT_PEER = 55,
        TRACE_KPROBE_SESSION = 56,
        TRACE_UPROBE_SESSION = 57,
        TRACE_FSESSION = 58,
        TRACE_FENTRY_MULTI = 59,
        TRACE_FEXIT_MULTI = 60,
        TRACE_FSESSION_MULTI = 61,
    }
}

kernel_enum! {
    /// A map type (`enum bpf_map_type`).
    MapType, "BPF_MAP_TYPE_" {
        UNSPEC = 0,
        HASH = 1,
        ARRAY = 2,
        PROG_ARRAY = 3,
        PERF_EVENT_ARRAY = 4,
        PERCPU_HASH = 5,
        PERCPU_ARRAY = 6,
        STACK_TRACE = 7,
        CGROUP_ARRAY = 8,
        LRU_HASH = 9,
        LRU_PERCPU_HASH = 10,
        LPM_TRIE = 11,
        ARRAY_OF_MAPS = 12,
        HASH_OF_MAPS = 13,
        DEVMAP = 14,
        SOCKMAP = 15,
        CPUMAP = 16,
        XSKMAP = 17,
        SOCKHASH = 18,
        CGROUP_STORAGE_DEPRECATED = 19,
        REUSEPORT_SOCKARRAY = 20,
        PERCPU_CGROUP_STORAGE_DEPRECATED = 21,
        QUEUE = 22,
        STACK = 23,
        SK_STORAGE = 24,
        DEVMAP_HASH = 25,
        STRUCT_OPS = 26,
        RINGBUF = 27,
        INODE_STORAGE = 28,
        TASK_STORAGE = 29,
        BLOOM_FILTER = 30,
        USER_RINGBUF = 31,
        CGRP_STORAGE = 32,
        ARENA = 33,
        INSN_ARRAY = 34,
        RHASH = 35,
    }
}

impl MapType {
    /// True for the per-CPU map types, whose values user space reads and writes as one
    /// 8-byte-aligned slot per possible CPU.
    pub fn is_per_cpu(self) -> bool {
        matches!(
            self,
            MapType::PERCPU_HASH
                | MapType::PERCPU_ARRAY
                | MapType::LRU_PERCPU_HASH
                | MapType::PERCPU_CGROUP_STORAGE_DEPRECATED
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_names_follow_the_kernel() {
        assert_eq!(ProgType::SOCKET_FILTER.0, 1);
        assert_eq!(ProgType::TRACING.0, 26);
        assert_eq!(ProgType::NETFILTER.0, 32);
        assert_eq!(ProgType::KPROBE.name(), Some("BPF_PROG_TYPE_KPROBE"));
        assert_eq!(AttachType::TRACE_FENTRY.0, 24);
        assert_eq!(AttachType::XDP.0, 37);
        assert_eq!(AttachType::TCX_INGRESS.0, 46);
        assert_eq!(AttachType::TRACE_ITER.name(), Some("BPF_TRACE_ITER"));
        assert_eq!(MapType::ARRAY.0, 2);
        assert_eq!(MapType::RINGBUF.0, 27);
        assert_eq!(format!("{:?}", MapType::HASH), "BPF_MAP_TYPE_HASH");
        assert_eq!(format!("{:?}", ProgType(999)), "ProgType(999)");
        assert!(MapType::PERCPU_ARRAY.is_per_cpu());
        assert!(!MapType::ARRAY.is_per_cpu());
    }
}
