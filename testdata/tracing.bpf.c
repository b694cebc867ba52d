// SPDX-License-Identifier: GPL-2.0
/* tracing.bpf.c: non-socket program types, written the way tools write them.
 *
 * Covers:
 *   - kprobe/do_unlinkat and kretprobe/do_unlinkat: pt_regs context read
 *     through CO-RE (a minimal local struct pt_regs), struct task_struct
 *     fields via BPF_CORE_READ on bpf_get_current_task(), a pointer chase
 *     (task->real_parent->tgid), a string via bpf_probe_read_kernel_str,
 *     events sent through a ring buffer;
 *   - tracepoint/syscalls/sys_enter_openat: hand-written tracepoint context,
 *     bpf_probe_read_user_str, bpf_printk (.rodata.str1.1 format string);
 *   - xdp: bounds-checked Ethernet parsing, per-CPU counters, XDP_PASS;
 *   - tc: __sk_buff access, skb->mark write, TC_ACT_OK.
 * Trampoline types (fentry/fexit) live in trampoline.bpf.c, because this
 * machine's kernel refuses them with EPERM and one refused program makes
 * libbpf and bpftool reject the whole object.
 *
 * The kernel types are minimal hand-written definitions marked
 * preserve_access_index; libbpf relocates them against the running kernel's
 * BTF (no vmlinux.h is needed). Not self-checking.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* Minimal kernel types: only the fields used, names as in the kernel. */
struct task_struct {
	int pid;
	int tgid;
	char comm[16];
	struct task_struct *real_parent;
} __attribute__((preserve_access_index));

struct filename {
	const char *name;
} __attribute__((preserve_access_index));

/* x86-64 names; on other architectures the relocations fail to resolve. */
struct pt_regs {
	unsigned long di;
	unsigned long si;
	unsigned long ax;
} __attribute__((preserve_access_index));

struct event {
	__u32 pid;
	__u32 tgid;
	__u32 ppid;
	__s32 ret;
	char comm[16];
	char path[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} proto_counts SEC(".maps");

/* Target pid to trace; 0 traces everything. Set before load. */
const volatile __u32 target_pid = 0;

SEC("kprobe/do_unlinkat")
int unlink_entry(struct pt_regs *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct filename *name = (void *)ctx->si; /* second argument */
	struct event *e;
	__u32 pid = BPF_CORE_READ(task, pid);

	if (target_pid && pid != target_pid)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = pid;
	e->tgid = BPF_CORE_READ(task, tgid);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->ret = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	bpf_probe_read_kernel_str(e->path, sizeof(e->path),
				  BPF_CORE_READ(name, name));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("kretprobe/do_unlinkat")
int unlink_exit(struct pt_regs *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ret = ctx->ax;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Layout from /sys/kernel/tracing/events/syscalls/sys_enter_openat/format. */
struct openat_args {
	unsigned short common_type;
	unsigned char common_flags;
	unsigned char common_preempt_count;
	int common_pid;
	int syscall_nr;
	long dfd;
	const char *filename;
	long flags;
	long mode;
};

SEC("tracepoint/syscalls/sys_enter_openat")
int openat_enter(struct openat_args *ctx)
{
	char path[64];
	long n;

	n = bpf_probe_read_user_str(path, sizeof(path), ctx->filename);
	if (n > 0)
		bpf_printk("openat %s flags=%ld", path, ctx->flags);
	return 0;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 key;
	__u64 *count;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	key = eth->h_proto == bpf_htons(ETH_P_IP) ? 0 : 1;
	count = bpf_map_lookup_elem(&proto_counts, &key);
	if (count)
		*count += 1;
	return XDP_PASS;
}

SEC("tc")
int tc_mark(struct __sk_buff *skb)
{
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		skb->mark = 0x6;
	else
		skb->mark = skb->len;
	return TC_ACT_OK;
}
