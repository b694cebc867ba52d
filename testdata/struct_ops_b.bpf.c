/* The second struct_ops object of a link pair with `struct_ops.bpf.c`: its own
 * programs and struct_ops maps (`dummy_b` in .struct_ops, `dummy_b_link` in
 * .struct_ops.link) of the same kernel struct `bpf_dummy_ops`. Linked after
 * struct_ops.bpf.c, each of its variables lands after that object's variable
 * of the same section, so its DATASEC offsets and its relocations move.
 * `b_test_2` returns its arguments' sum so a run tells it from test_2.
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

/* Run with no state: checks it got none. */
SEC("struct_ops/test_1")
int BPF_PROG(b_test_1, struct bpf_dummy_ops_state *state)
{
	CHECK(state == 0);
	return 0;
}

SEC("struct_ops/test_2")
int BPF_PROG(b_test_2, struct bpf_dummy_ops_state *state, int a1,
	     unsigned short a2, char a3, unsigned long a4)
{
	return a1 + a2 + a3 + (int)a4;
}

/* Only test_2 set: its one function pointer is at offset 8. */
SEC(".struct_ops")
struct bpf_dummy_ops dummy_b = {
	.test_2 = (void *)b_test_2,
};

SEC(".struct_ops.link")
struct bpf_dummy_ops dummy_b_link = {
	.test_1 = (void *)b_test_1,
	.test_2 = (void *)b_test_2,
};

char _license[] SEC("license") = "GPL";
