// SPDX-License-Identifier: GPL-2.0
/* link_b.bpf.c: the other half of the pair to link with link_a.bpf.c (see
 * there for what the pair covers).
 *
 * Here: b_helper (called from link_a, and back from link_a's a_via_b), the
 * __weak copy of shared_map and of shared_var (both lose to link_a's strong
 * definitions), and the strong which_one (wins over link_a's __weak one).
 *
 * shared_map is a __weak definition rather than an extern declaration
 * (`extern struct { ... } shared_map SEC(".maps");`): clang and libbpf's
 * linker accept both, bpfir's reader does not read extern maps yet.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

char LICENSE[] SEC("license") = "GPL";

/* The same definition as link_a's, weak: link_a's wins. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} shared_map SEC(".maps") __weak;

/* Weak: link_a's strong shared_var (1000) wins, so this 2000 is never seen. */
__weak int shared_var = 2000;

/* Defined in link_a. */
extern int a_helper(int x);
extern int a_via_b(int x);
extern int a_map_set(__u32 key, __u64 value);
extern int a_var_get(void);

/* Strong here, weak in link_a: this one wins. */
__noinline int which_one(int x)
{
	return x + 2;
}

/* Called from link_a. Global: verified on its own, safe for any x. */
__noinline int b_helper(int x)
{
	return x * 5 + 2;
}

/* Called from link_a: reads the shared map through this object's code. */
__noinline long b_map_get(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&shared_map, &key);

	if (!v)
		return -1;
	return *v;
}

/* Called from link_a: the shared variable through this object's code. */
__noinline int b_var_get(void)
{
	return shared_var;
}

/* Global functions must return a scalar: the verifier refuses void ones. */
__noinline int b_var_set(int v)
{
	shared_var = v;
	return 0;
}

SEC("socket")
int check_b(struct __sk_buff *skb)
{
	int x = ZERO(skb) + 7;
	__u32 key = ZERO(skb) + 2;
	__u64 value = ZERO(skb) + 0xb0b0b0b0b0ULL;
	__u64 *slot;

	/* Cross-object calls: a_helper(7) = 7 * 3 + 1; a_via_b(7) calls back
	 * here: b_helper(7) + 100 = 37 + 100.
	 */
	CHECK(a_helper(x) == 22);
	CHECK(a_via_b(x) == 137);
	CHECK(b_helper(x) == 37);

	/* Our strong which_one, called from here too. */
	CHECK(which_one(x) == 9);

	/* Shared map: written through link_a's code, read here. */
	CHECK(b_map_get(key) == 0);
	CHECK(a_map_set(key, value) == 0);
	slot = bpf_map_lookup_elem(&shared_map, &key);
	CHECK(slot && *slot == value);
	CHECK(b_map_get(key) == (long)value);
	/* Restore. */
	CHECK(a_map_set(key, 0) == 0);
	CHECK(b_map_get(key) == 0);

	/* Shared variable: our weak 2000 lost to link_a's 1000. */
	CHECK(shared_var == 1000);
	CHECK(a_var_get() == 1000);
	shared_var = 5678 + ZERO(skb);
	CHECK(a_var_get() == 5678);
	/* Restore. */
	shared_var = 1000;
	CHECK(a_var_get() == 1000);
	return 0;
}
