/* Item 2 of issue 10: struct_ops. `dummy` (.struct_ops) and `dummy_link`
 * (.struct_ops.link) are values of the kernel's `struct bpf_dummy_ops`, whose
 * programs BPF_PROG_TEST_RUN can run (its arguments from ctx_in). `test_2`
 * sits in a `?` section but a map names it, so it loads; `unused` (also `?`)
 * is a struct_ops program no map names, so it stays off; asked for by name it
 * cannot load (libbpf: "isn't referenced anywhere").
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
int BPF_PROG(test_1, struct bpf_dummy_ops_state *state)
{
	CHECK(state == 0);
	return 0;
}

/* Run with arguments 1, 2, 3, 4. */
SEC("?struct_ops/test_2")
int BPF_PROG(test_2, struct bpf_dummy_ops_state *state, int a1,
	     unsigned short a2, char a3, unsigned long a4)
{
	CHECK(a1 == 1);
	CHECK(a2 == 2);
	CHECK(a3 == 3);
	CHECK(a4 == 4);
	return 0;
}

SEC("?struct_ops/test_sleepable")
int BPF_PROG(unused, struct bpf_dummy_ops_state *state)
{
	return 1;
}

SEC(".struct_ops")
struct bpf_dummy_ops dummy = {
	.test_1 = (void *)test_1,
	.test_2 = (void *)test_2,
};

SEC(".struct_ops.link")
struct bpf_dummy_ops dummy_link = {
	.test_1 = (void *)test_1,
};

char _license[] SEC("license") = "GPL";
