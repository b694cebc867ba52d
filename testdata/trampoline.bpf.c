// SPDX-License-Identifier: GPL-2.0
/* trampoline.bpf.c: BTF-attached tracing programs (fentry, fexit).
 *
 * Covers: SEC("fentry/do_unlinkat") and SEC("fexit/do_unlinkat") written
 * with BPF_PROG (typed arguments read from the u64 context array; fexit
 * also sees the return value), a hand-written CO-RE struct filename, and a
 * bpf_printk format string. A loader must resolve attach_btf_id for
 * do_unlinkat in the kernel's BTF and pass expected_attach_type
 * BPF_TRACE_FENTRY / BPF_TRACE_FEXIT.
 *
 * This machine's kernel refuses trampoline programs at BPF_PROG_LOAD with
 * EPERM (libbpf sees the same); that refusal is the expected verdict here.
 * Not self-checking.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct filename {
	const char *name;
} __attribute__((preserve_access_index));

SEC("fentry/do_unlinkat")
int BPF_PROG(unlink_fentry, int dfd, struct filename *name)
{
	bpf_printk("fentry unlink dfd=%d name=%s", dfd,
		   BPF_CORE_READ(name, name));
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(unlink_fexit, int dfd, struct filename *name, long ret)
{
	bpf_printk("fexit unlink ret=%ld", ret);
	return 0;
}
