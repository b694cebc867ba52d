// SPDX-License-Identifier: GPL-2.0
/* core_kernel.bpf.c: CO-RE programs against the running kernel, written the
 * way libbpf-tools writes tracing tools, but WITHOUT a generated vmlinux.h.
 *
 * Every kernel type is hand-declared with preserve_access_index and only the
 * fields read; libbpf (or bpfir) relocates each access against the kernel's
 * BTF. Reads go through BPF_CORE_READ / BPF_CORE_READ_INTO /
 * BPF_CORE_READ_STR_INTO, bitfields through BPF_CORE_READ_BITFIELD[_PROBED],
 * and feature tests through bpf_core_field_exists / bpf_core_type_exists /
 * bpf_core_enum_value[_exists] / bpf_core_type_size / bpf_core_type_id_*.
 * No bpf_core_type_matches: aya-obj 0.3 refuses the whole object for that
 * kind (12), and the CO-RE benchmark runs aya-obj on this object.
 *
 * Type sizes and kernel type ids are taken of types without an old-layout
 * flavour here (bvec_iter, gendisk, net_device): relocated against this
 * object's own BTF, `bio` and `bio___o` are both candidates of `bio`, and
 * their sizes (and ids) disagree.
 *
 * Version guards (both branches are compiled; the dead one is poisoned by
 * the loader and pruned by the verifier):
 *   - task_struct::__state (5.14+) vs task_struct___o::state (older);
 *   - request::rq_disk (gone in 5.19) vs request::q->disk;
 *   - bio::bi_bdev (5.12+) vs bio___o::bi_disk (older);
 *   - enum bpf_map_type___new::BPF_MAP_TYPE_ARENA (6.9+).
 *
 * Programs: kprobe, kretprobe, tracepoint (trace_event_raw_* contexts),
 * raw_tracepoint, tp_btf (direct BTF pointer loads), socket filter and tc
 * reading struct __sk_buff. Not self-checking: the test compares the program
 * tags with libbpf's. Big numbers of relocations are the point (the CO-RE
 * benchmark uses this object as a large real input).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define PAI __attribute__((preserve_access_index))

/* ---- hand-declared kernel types: only the fields read ---- */

typedef struct {
	unsigned int val;
} kuid_t;

typedef struct {
	unsigned int val;
} kgid_t;

struct ns_common {
	unsigned int inum;
} PAI;

struct new_utsname {
	char sysname[65];
	char nodename[65];
	char release[65];
} PAI;

struct uts_namespace {
	struct new_utsname name;
	struct ns_common ns;
} PAI;

struct pid_namespace {
	unsigned int level;
	struct ns_common ns;
} PAI;

struct net {
	struct ns_common ns;
	int ifindex;
} PAI;

struct mnt_namespace {
	struct ns_common ns;
} PAI;

struct nsproxy {
	struct uts_namespace *uts_ns;
	struct pid_namespace *pid_ns_for_children;
	struct net *net_ns;
	struct mnt_namespace *mnt_ns;
} PAI;

struct cred {
	kuid_t uid;
	kgid_t gid;
	kuid_t euid;
	kgid_t egid;
	kuid_t fsuid;
} PAI;

struct qstr {
	unsigned int len;
	const unsigned char *name;
} PAI;

struct super_block {
	unsigned int s_dev;
	unsigned long s_magic;
} PAI;

struct inode {
	unsigned short i_mode;
	unsigned long i_ino;
	long long i_size;
	unsigned int i_nlink;
	kuid_t i_uid;
	struct super_block *i_sb;
} PAI;

struct dentry {
	struct qstr d_name;
	struct dentry *d_parent;
	struct inode *d_inode;
} PAI;

struct path {
	struct dentry *dentry;
} PAI;

struct file {
	struct path f_path;
	struct inode *f_inode;
	unsigned int f_flags;
	unsigned int f_mode;
	long long f_pos;
} PAI;

struct mm_struct {
	unsigned long start_code;
	unsigned long arg_start;
	unsigned long arg_end;
	unsigned long env_start;
	unsigned long start_stack;
	unsigned long total_vm;
	int map_count;
	struct file *exe_file;
} PAI;

struct signal_struct {
	int nr_threads;
} PAI;

struct task_struct {
	unsigned int __state;
	unsigned int flags;
	int prio;
	int on_cpu;
	unsigned int sched_reset_on_fork: 1;
	unsigned int in_execve: 1;
	unsigned int in_iowait: 1;
	int exit_code;
	int pid;
	int tgid;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	unsigned long long utime;
	unsigned long long stime;
	unsigned long nvcsw;
	unsigned long long start_time;
	unsigned long min_flt;
	const struct cred *cred;
	char comm[16];
	struct nsproxy *nsproxy;
	struct signal_struct *signal;
	struct mm_struct *mm;
	kuid_t loginuid;
} PAI;

/* Before 5.14 the state was a long called state. */
struct task_struct___o {
	long state;
} PAI;

/* This kernel has no such field: a newer-kernel feature test that is false here. */
struct task_struct___future {
	unsigned long long bpfir_future_field;
} PAI;

struct net_device {
	char name[16];
	int ifindex;
	unsigned int flags;
	unsigned int mtu;
	unsigned short type;
} PAI;

struct in6_addr {
	union {
		unsigned int u6_addr32[4];
	} in6_u;
} PAI;

struct sock_common {
	unsigned int skc_daddr;
	unsigned int skc_rcv_saddr;
	unsigned short skc_dport;
	unsigned short skc_num;
	unsigned short skc_family;
	volatile unsigned char skc_state;
	unsigned char skc_reuse: 4;
	unsigned char skc_reuseport: 1;
	unsigned char skc_ipv6only: 1;
	int skc_bound_dev_if;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
} PAI;

struct sock {
	struct sock_common __sk_common;
	unsigned short sk_protocol;
	unsigned short sk_type;
	int sk_rcvbuf;
	int sk_sndbuf;
	unsigned int sk_priority;
	unsigned int sk_mark;
	int sk_err;
	int sk_wmem_queued;
	unsigned char sk_shutdown;
	unsigned char sk_userlocks;
	unsigned char sk_no_check_tx: 1;
	unsigned char sk_gso_disabled: 1;
} PAI;

struct sk_buff {
	struct net_device *dev;
	struct sock *sk;
	unsigned int len;
	unsigned int data_len;
	unsigned short mac_len;
	unsigned short queue_mapping;
	unsigned char cloned: 1;
	unsigned char nohdr: 1;
	unsigned char head_frag: 1;
	unsigned char pkt_type: 3;
	unsigned char ip_summed: 2;
	unsigned int priority;
	unsigned int mark;
	unsigned int hash;
	unsigned short vlan_tci;
	unsigned short protocol;
	unsigned short transport_header;
	unsigned short network_header;
} PAI;

struct gendisk {
	int major;
	int first_minor;
	char disk_name[32];
} PAI;

struct block_device {
	unsigned int bd_dev;
	struct gendisk *bd_disk;
} PAI;

struct bvec_iter {
	unsigned long long bi_sector;
	unsigned int bi_size;
} PAI;

struct bio {
	struct block_device *bi_bdev;
	unsigned int bi_opf;
	unsigned char bi_status;
	unsigned short bi_vcnt;
	struct bvec_iter bi_iter;
} PAI;

/* Before 5.12 a bio named its disk directly. */
struct bio___o {
	struct gendisk *bi_disk;
} PAI;

struct request_queue {
	struct gendisk *disk;
	unsigned int nr_hw_queues;
} PAI;

struct request {
	struct request_queue *q;
	unsigned int cmd_flags;
	unsigned int rq_flags;
	int tag;
	unsigned int __data_len;
	unsigned long long __sector;
	unsigned long long start_time_ns;
	struct block_device *part;
} PAI;

/* Before 5.19 a request named its disk directly. */
struct request___o {
	struct gendisk *rq_disk;
} PAI;

/* x86-64 register names; other architectures fail these relocations. */
struct pt_regs {
	unsigned long di;
	unsigned long si;
	unsigned long dx;
	unsigned long ax;
} PAI;

struct trace_entry {
	unsigned short type;
} PAI;

struct trace_event_raw_sched_switch {
	struct trace_entry ent;
	char prev_comm[16];
	int prev_pid;
	int prev_prio;
	long prev_state;
	char next_comm[16];
	int next_pid;
	int next_prio;
} PAI;

struct trace_event_raw_sched_process_exec {
	unsigned int __data_loc_filename;
	int pid;
	int old_pid;
} PAI;

struct trace_event_raw_inet_sock_set_state {
	const void *skaddr;
	int oldstate;
	int newstate;
	unsigned short sport;
	unsigned short dport;
	unsigned short family;
	unsigned short protocol;
	unsigned char saddr[4];
	unsigned char daddr[4];
} PAI;

struct trace_event_raw_block_rq {
	unsigned int dev;
	unsigned long long sector;
	unsigned int nr_sector;
	unsigned int bytes;
	char rwbs[10];
} PAI;

enum sock_type {
	SOCK_STREAM = 1,
	SOCK_DGRAM = 2,
	SOCK_RAW = 3,
};

/* The arena map type exists from 6.9 on. */
enum bpf_map_type___new {
	BPF_MAP_TYPE_ARENA___new = 33,
};

/* A name no kernel has: type_exists/enumval_exists are 0, guarded reads dead. */
enum bpfir_nonexistent___x {
	BPFIR_NONEXISTENT___x = 7,
};

/* ---- events and maps ---- */

struct task_info {
	__u32 pid;
	__u32 tgid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 pidns_level;
	__u32 pidns;
	__u32 utsns;
	__u32 netns;
	__u32 mntns;
	__u64 state;
	__u64 arg_start;
	__u64 total_vm;
	char comm[16];
	char nodename[65];
};

struct file_event {
	struct task_info task;
	__u64 ino;
	__u64 size;
	__u64 pos;
	__u32 flags;
	__u32 mode;
	__u32 dev;
	__u32 nlink;
	__u32 name_len;
	__s64 ret;
	char name[64];
	char parent[64];
};

struct sock_event {
	__u32 saddr;
	__u32 daddr;
	__u32 v6[4];
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 protocol;
	__u16 type;
	__u8 state;
	__u8 reuse;
	__u8 shutdown;
	__u8 no_check_tx;
	__u8 gso_disabled;
	__u8 userlocks;
	__s32 rcvbuf;
	__s32 sndbuf;
	__u32 priority;
	__u32 mark;
	__s32 err;
	__s32 wmem;
	__s32 bound_if;
	__u32 stream;
	__u32 ifindex;
	__u32 len;
	__u32 data_len;
	__u32 hash;
	__u32 mtu;
	__u32 dev_flags;
	__u16 eth_proto;
	__u16 mac_len;
	__u16 queue;
	__u16 nh;
	__u16 th;
	__u16 vlan;
	__u8 pkt_type;
	__u8 cloned;
	__u8 head_frag;
	__u8 ip_summed;
	char ifname[16];
};

struct io_event {
	__u64 sector;
	__u64 start_ns;
	__u32 bytes;
	__u32 dev;
	__u32 opf;
	__u32 flags;
	__s32 tag;
	__u32 major;
	__u32 minor;
	__u32 vcnt;
	__u32 status;
	__u32 size_of_request;
	char disk[32];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

const volatile __u32 target_tgid = 0;

static __always_inline void count(__u32 slot, __u64 by)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &slot);

	if (v)
		*v += by;
}

/* The task's identity and namespaces, as most tools collect them. */
static __always_inline void fill_task(struct task_info *t, struct task_struct *task)
{
	t->pid = BPF_CORE_READ(task, pid);
	t->tgid = BPF_CORE_READ(task, tgid);
	t->ppid = BPF_CORE_READ(task, real_parent, tgid);
	t->uid = BPF_CORE_READ(task, cred, uid.val);
	t->gid = BPF_CORE_READ(task, cred, gid.val);
	t->euid = BPF_CORE_READ(task, cred, euid.val);
	t->pidns_level = BPF_CORE_READ(task, nsproxy, pid_ns_for_children, level);
	t->pidns = BPF_CORE_READ(task, nsproxy, pid_ns_for_children, ns.inum);
	t->utsns = BPF_CORE_READ(task, nsproxy, uts_ns, ns.inum);
	t->netns = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
	t->mntns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	t->arg_start = BPF_CORE_READ(task, mm, arg_start);
	t->total_vm = BPF_CORE_READ(task, mm, total_vm);
	BPF_CORE_READ_STR_INTO(&t->comm, task, comm);
	BPF_CORE_READ_STR_INTO(&t->nodename, task, nsproxy, uts_ns, name.nodename);
	if (bpf_core_field_exists(task->__state)) {
		t->state = BPF_CORE_READ(task, __state);
	} else {
		struct task_struct___o *old = (void *)task;

		t->state = BPF_CORE_READ(old, state);
	}
}

static __always_inline void fill_file(struct file_event *e, struct file *f)
{
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);

	e->ino = BPF_CORE_READ(f, f_inode, i_ino);
	e->size = BPF_CORE_READ(f, f_inode, i_size);
	e->mode = BPF_CORE_READ(f, f_inode, i_mode);
	e->nlink = BPF_CORE_READ(f, f_inode, i_nlink);
	e->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	e->flags = BPF_CORE_READ(f, f_flags);
	e->pos = BPF_CORE_READ(f, f_pos);
	if (BPF_CORE_READ(f, f_mode) & 1)
		e->flags |= 1u << 31;
	e->name_len = BPF_CORE_READ(d, d_name.len);
	bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(d, d_name.name));
	bpf_probe_read_kernel_str(e->parent, sizeof(e->parent),
				  BPF_CORE_READ(d, d_parent, d_name.name));
}

/* ---- kprobe / kretprobe ---- */

SEC("kprobe/vfs_read")
int vfs_read_entry(struct pt_regs *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct file *f = (void *)ctx->di;
	struct file_event *e;
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u64 ts = bpf_ktime_get_ns();

	if (target_tgid && tgid != target_tgid)
		return 0;
	bpf_map_update_elem(&starts, &tgid, &ts, BPF_ANY);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	fill_task(&e->task, task);
	fill_file(e, f);
	e->ret = (__s64)ctx->dx; /* requested count */
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("kretprobe/vfs_read")
int vfs_read_exit(struct pt_regs *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u64 *start = bpf_map_lookup_elem(&starts, &tgid);
	__u64 v = 0;

	if (!start)
		return 0;
	bpf_map_delete_elem(&starts, &tgid);
	if ((long)ctx->ax < 0)
		count(0, 1);
	v += BPF_CORE_READ(task, flags) & 0x40; /* PF_FORKNOEXEC */
	v += BPF_CORE_READ(task, prio);
	v += BPF_CORE_READ(task, exit_code);
	v += BPF_CORE_READ(task, nvcsw);
	v += BPF_CORE_READ(task, utime) + BPF_CORE_READ(task, stime);
	v += BPF_CORE_READ(task, min_flt);
	v += BPF_CORE_READ(task, start_time);
	v += BPF_CORE_READ(task, signal, nr_threads);
	v += BPF_CORE_READ(task, group_leader, pid);
	v += BPF_CORE_READ(task, loginuid.val);
	v += BPF_CORE_READ(task, cred, fsuid.val);
	v += BPF_CORE_READ(task, cred, egid.val);
	v += BPF_CORE_READ_BITFIELD_PROBED(task, in_execve);
	v += BPF_CORE_READ_BITFIELD_PROBED(task, in_iowait);
	v += BPF_CORE_READ_BITFIELD_PROBED(task, sched_reset_on_fork);
	if (bpf_core_field_exists(struct task_struct___future, bpfir_future_field)) {
		struct task_struct___future *f = (void *)task;

		v += BPF_CORE_READ(f, bpfir_future_field);
	} else {
		v += BPF_CORE_READ(task, on_cpu);
	}
	count(1, v);
	return 0;
}

SEC("kprobe/tcp_sendmsg")
int tcp_sendmsg_entry(struct pt_regs *ctx)
{
	struct sock *sk = (void *)ctx->di;
	struct sock_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
	e->saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
	e->daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	e->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	e->bound_if = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
	BPF_CORE_READ_INTO(&e->v6, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32);
	e->reuse = BPF_CORE_READ_BITFIELD_PROBED(sk, __sk_common.skc_reuse);
	e->reuse |= BPF_CORE_READ_BITFIELD_PROBED(sk, __sk_common.skc_ipv6only) << 4;
	e->protocol = BPF_CORE_READ(sk, sk_protocol);
	e->type = BPF_CORE_READ(sk, sk_type);
	e->rcvbuf = BPF_CORE_READ(sk, sk_rcvbuf);
	e->sndbuf = BPF_CORE_READ(sk, sk_sndbuf);
	e->priority = BPF_CORE_READ(sk, sk_priority);
	e->mark = BPF_CORE_READ(sk, sk_mark);
	e->err = BPF_CORE_READ(sk, sk_err);
	e->wmem = BPF_CORE_READ(sk, sk_wmem_queued);
	e->shutdown = BPF_CORE_READ(sk, sk_shutdown);
	e->userlocks = BPF_CORE_READ(sk, sk_userlocks);
	e->no_check_tx = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_no_check_tx);
	e->gso_disabled = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_gso_disabled);
	e->stream = e->type == bpf_core_enum_value(enum sock_type, SOCK_STREAM);
	if (bpf_core_enum_value_exists(enum sock_type, SOCK_RAW))
		e->stream |= (e->type == bpf_core_enum_value(enum sock_type, SOCK_RAW)) << 1;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("kprobe/kfree_skb_reason")
int kfree_skb_entry(struct pt_regs *ctx)
{
	struct sk_buff *skb = (void *)ctx->di;
	struct sock_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->len = BPF_CORE_READ(skb, len);
	e->data_len = BPF_CORE_READ(skb, data_len);
	e->eth_proto = BPF_CORE_READ(skb, protocol);
	e->mark = BPF_CORE_READ(skb, mark);
	e->priority = BPF_CORE_READ(skb, priority);
	e->hash = BPF_CORE_READ(skb, hash);
	e->mac_len = BPF_CORE_READ(skb, mac_len);
	e->queue = BPF_CORE_READ(skb, queue_mapping);
	e->vlan = BPF_CORE_READ(skb, vlan_tci);
	e->nh = BPF_CORE_READ(skb, network_header);
	e->th = BPF_CORE_READ(skb, transport_header);
	e->pkt_type = BPF_CORE_READ_BITFIELD_PROBED(skb, pkt_type);
	e->cloned = BPF_CORE_READ_BITFIELD_PROBED(skb, cloned);
	e->head_frag = BPF_CORE_READ_BITFIELD_PROBED(skb, head_frag);
	e->ip_summed = BPF_CORE_READ_BITFIELD_PROBED(skb, ip_summed);
	e->family = BPF_CORE_READ(skb, sk, __sk_common.skc_family);
	e->dport = BPF_CORE_READ(skb, sk, __sk_common.skc_dport);
	e->type = BPF_CORE_READ(skb, sk, sk_type);
	e->ifindex = BPF_CORE_READ(skb, dev, ifindex);
	e->mtu = BPF_CORE_READ(skb, dev, mtu);
	e->dev_flags = BPF_CORE_READ(skb, dev, flags);
	e->protocol = BPF_CORE_READ(skb, dev, type);
	BPF_CORE_READ_STR_INTO(&e->ifname, skb, dev, name);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* biosnoop-style: bio and request, each guarded by bpf_core_type_exists. */
SEC("kprobe/submit_bio")
int submit_bio_entry(struct pt_regs *ctx)
{
	struct io_event *e;

	if (!bpf_core_type_exists(struct bio))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	struct bio *bio = (void *)ctx->di;

	e->sector = BPF_CORE_READ(bio, bi_iter.bi_sector);
	e->bytes = BPF_CORE_READ(bio, bi_iter.bi_size);
	e->opf = BPF_CORE_READ(bio, bi_opf);
	e->vcnt = BPF_CORE_READ(bio, bi_vcnt);
	e->status = BPF_CORE_READ(bio, bi_status);
	if (bpf_core_field_exists(bio->bi_bdev)) {
		e->dev = BPF_CORE_READ(bio, bi_bdev, bd_dev);
		e->major = BPF_CORE_READ(bio, bi_bdev, bd_disk, major);
		e->minor = BPF_CORE_READ(bio, bi_bdev, bd_disk, first_minor);
		BPF_CORE_READ_STR_INTO(&e->disk, bio, bi_bdev, bd_disk, disk_name);
	} else {
		struct bio___o *old = (void *)bio;

		e->major = BPF_CORE_READ(old, bi_disk, major);
		e->minor = BPF_CORE_READ(old, bi_disk, first_minor);
		BPF_CORE_READ_STR_INTO(&e->disk, old, bi_disk, disk_name);
	}
	e->size_of_request = bpf_core_type_size(struct bvec_iter);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("kprobe/blk_mq_start_request")
int rq_start_entry(struct pt_regs *ctx)
{
	struct request *rq = (void *)ctx->di;
	struct gendisk *disk;
	struct io_event *e;

	if (!bpf_core_type_exists(struct request))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->bytes = BPF_CORE_READ(rq, __data_len);
	e->sector = BPF_CORE_READ(rq, __sector);
	e->opf = BPF_CORE_READ(rq, cmd_flags);
	e->flags = BPF_CORE_READ(rq, rq_flags);
	e->tag = BPF_CORE_READ(rq, tag);
	e->start_ns = BPF_CORE_READ(rq, start_time_ns);
	e->dev = BPF_CORE_READ(rq, part, bd_dev);
	e->vcnt = BPF_CORE_READ(rq, q, nr_hw_queues);
	if (bpf_core_field_exists(struct request___o, rq_disk)) {
		struct request___o *old = (void *)rq;

		disk = BPF_CORE_READ(old, rq_disk);
	} else {
		disk = BPF_CORE_READ(rq, q, disk);
	}
	e->major = BPF_CORE_READ(disk, major);
	e->minor = BPF_CORE_READ(disk, first_minor);
	BPF_CORE_READ_STR_INTO(&e->disk, disk, disk_name);
	e->size_of_request = bpf_core_type_size(struct gendisk);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* ---- tracepoints: trace_event_raw_* contexts are relocated too ---- */

SEC("tracepoint/sched/sched_switch")
int sched_switch_tp(struct trace_event_raw_sched_switch *ctx)
{
	__u32 next = ctx->next_pid;
	__u64 ts = bpf_ktime_get_ns();
	char comm[16];

	bpf_map_update_elem(&starts, &next, &ts, BPF_ANY);
	count(2, ctx->prev_pid + ctx->prev_prio + ctx->next_prio);
	if (ctx->prev_state == 0)
		count(3, 1);
	bpf_probe_read_kernel_str(comm, sizeof(comm), ctx->next_comm);
	count(4, comm[0] + ctx->prev_comm[0]);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int sched_exec_tp(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	unsigned int loc = ctx->__data_loc_filename & 0xFFFF;
	struct file_event *e;
	struct file *exe;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	fill_task(&e->task, task);
	e->task.pid = ctx->pid;
	e->ret = ctx->old_pid;
	bpf_probe_read_kernel_str(e->name, sizeof(e->name), (void *)ctx + loc);
	exe = BPF_CORE_READ(task, mm, exe_file);
	e->ino = BPF_CORE_READ(exe, f_inode, i_ino);
	bpf_probe_read_kernel_str(e->parent, sizeof(e->parent),
				  BPF_CORE_READ(exe, f_path.dentry, d_name.name));
	e->size = BPF_CORE_READ(task, mm, arg_end) - BPF_CORE_READ(task, mm, arg_start);
	e->pos = BPF_CORE_READ(task, mm, env_start);
	e->flags = BPF_CORE_READ(task, mm, map_count);
	e->dev = BPF_CORE_READ(task, mm, start_stack) != BPF_CORE_READ(task, mm, start_code);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/sock/inet_sock_set_state")
int sock_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	const struct sock *sk = ctx->skaddr;
	struct sock_event *e;

	if (ctx->protocol != 6 /* IPPROTO_TCP */)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->state = ctx->newstate;
	e->reuse = ctx->oldstate;
	e->sport = ctx->sport;
	e->dport = ctx->dport;
	e->family = ctx->family;
	__builtin_memcpy(&e->saddr, ctx->saddr, 4);
	__builtin_memcpy(&e->daddr, ctx->daddr, 4);
	e->rcvbuf = BPF_CORE_READ(sk, sk_rcvbuf);
	e->sndbuf = BPF_CORE_READ(sk, sk_sndbuf);
	e->protocol = BPF_CORE_READ(sk, sk_protocol);
	e->bound_if = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
	BPF_CORE_READ_INTO(&e->v6, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/block/block_rq_issue")
int block_rq_issue_tp(struct trace_event_raw_block_rq *ctx)
{
	count(5, ctx->bytes + ctx->nr_sector + ctx->sector + ctx->dev + ctx->rwbs[0]);
	return 0;
}

/* ---- raw tracepoint: untyped u64 arguments ---- */

SEC("raw_tracepoint/sched_process_fork")
int fork_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (void *)ctx->args[0];
	struct task_struct *child = (void *)ctx->args[1];
	struct task_info *t;

	t = bpf_ringbuf_reserve(&events, sizeof(*t), 0);
	if (!t)
		return 0;
	fill_task(t, child);
	t->ppid = BPF_CORE_READ(parent, tgid);
	if (BPF_CORE_READ(parent, mm) != BPF_CORE_READ(child, mm))
		t->state |= 1ull << 40;
	bpf_ringbuf_submit(t, 0);
	return 0;
}

/* ---- tp_btf: BTF-typed arguments, direct loads through kernel pointers ---- */

SEC("tp_btf/sched_switch")
int switch_btf(__u64 *ctx)
{
	/* (bool preempt, struct task_struct *prev, struct task_struct *next, ...) */
	struct task_struct *prev = (void *)ctx[1];
	struct task_struct *next = (void *)ctx[2];
	__u64 v = 0;

	v += prev->pid + prev->tgid + next->pid;
	v += next->prio;
	v += prev->nvcsw;
	v += BPF_CORE_READ_BITFIELD(prev, in_iowait);
	v += BPF_CORE_READ_BITFIELD(next, in_execve);
	v += BPF_CORE_READ(next, real_parent, tgid);
	v += BPF_CORE_READ(next, cred, uid.val);
	if (bpf_core_field_exists(prev->__state))
		v += prev->__state;
	v += bpf_core_type_id_kernel(struct net_device) != 0;
	v += bpf_core_type_id_local(struct task_struct) != 0;
	if (bpf_core_enum_value_exists(enum bpf_map_type___new, BPF_MAP_TYPE_ARENA___new))
		v += bpf_core_enum_value(enum bpf_map_type___new, BPF_MAP_TYPE_ARENA___new);
	if (bpf_core_enum_value_exists(enum bpf_map_type, BPF_MAP_TYPE_USER_RINGBUF))
		v += bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_USER_RINGBUF);
	if (bpf_core_type_exists(enum bpfir_nonexistent___x))
		v += bpf_core_enum_value(enum bpfir_nonexistent___x, BPFIR_NONEXISTENT___x);
	count(6, v);
	return 0;
}

/* ---- socket filter and tc: struct __sk_buff ---- */

SEC("socket")
int sock_filter(struct __sk_buff *skb)
{
	__u32 keep = skb->len;

	if (skb->protocol == 0 && skb->ifindex == 0)
		keep = skb->len;
	/* tstamp_type (5.18) and hwtstamp (5.16) are newer __sk_buff fields
	 * (a socket filter may not read them: only their existence counts).
	 */
	if (bpf_core_field_exists(skb->tstamp_type))
		count(7, 1);
	if (bpf_core_field_exists(skb->hwtstamp))
		count(7, 2);
	return keep;
}

SEC("classifier") /* libbpf's older name for "tc"; aya-obj 0.3 knows only this one */
int tc_classify(struct __sk_buff *skb)
{
	__u32 proto = skb->protocol;

	count(7, skb->len + skb->ifindex + proto);
	if (bpf_core_enum_value_exists(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF))
		skb->mark = bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF);
	if (bpf_core_field_exists(skb->tstamp_type))
		skb->mark += skb->tstamp_type;
	return TC_ACT_OK;
}
