/* A weak struct_ops map for the link tests: `dummy` here is `__weak` and names
 * `w_test_2`; struct_ops.bpf.c's strong `dummy` (test_1, test_2) overrides it
 * when the two are linked, in either order. Its programs have their own names.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "check.h"

struct bpf_dummy_ops_state {
	int val;
};

struct bpf_dummy_ops {
	int (*test_1)(struct bpf_dummy_ops_state *cb);
	int (*test_2)(struct bpf_dummy_ops_state *cb, int a1, unsigned short a2,
		      char a3, unsigned long a4);
	int (*test_sleepable)(struct bpf_dummy_ops_state *cb);
};

SEC("struct_ops/test_2")
int BPF_PROG(w_test_2, struct bpf_dummy_ops_state *state, int a1,
	     unsigned short a2, char a3, unsigned long a4)
{
	return 1;
}

__weak SEC(".struct_ops")
struct bpf_dummy_ops dummy = {
	.test_2 = (void *)w_test_2,
};

char _license[] SEC("license") = "GPL";
