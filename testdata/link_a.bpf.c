// SPDX-License-Identifier: GPL-2.0
/* link_a.bpf.c: one half of a pair of objects to link (with link_b.bpf.c),
 * as `bpftool gen object ab.o link_a.bpfel.o link_b.bpfel.o` links them.
 *
 * Covers, across the two objects:
 *   - global functions calling each other across objects: check_a calls
 *     b_helper (defined in link_b), check_b calls a_helper and a_via_b
 *     (defined here), and a_via_b calls back into link_b (b_helper), so a
 *     call chain b -> a -> b crosses the object boundary twice;
 *   - a BTF-defined map shared by both: shared_map is defined here (strong)
 *     and again in link_b with the same definition, __weak; the strong
 *     definition wins and both objects' code use the one map;
 *   - a global variable shared by both: shared_var is 1000 here (strong)
 *     and a __weak 2000 in link_b, so after linking link_b's code reads 1000;
 *   - a __weak function defined in both (which_one): weak here (returns 1),
 *     strong in link_b (returns 2); after linking every caller gets 2.
 *
 * Each program is self-contained (it writes, reads back through the other
 * object's code, and restores what it changed), so the two programs may run
 * in any order after one load. Self-checking socket filters: each returns 0
 * on success, else the line of the first failed check.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

char LICENSE[] SEC("license") = "GPL";

/* The strong definition; link_b has the same one, __weak. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} shared_map SEC(".maps");

/* Strong; link_b's __weak definition (2000) loses. */
int shared_var = 1000;

/* Defined in link_b. */
extern int b_helper(int x);
extern long b_map_get(__u32 key);
extern int b_var_get(void);
extern int b_var_set(int v);

/* Weak here, strong in link_b: the linked object calls link_b's. */
__weak __noinline int which_one(int x)
{
	return x + 1;
}

/* Called from link_b. Global: verified on its own, safe for any x. */
__noinline int a_helper(int x)
{
	return x * 3 + 1;
}

/* Called from link_b, and calls back into link_b. */
__noinline int a_via_b(int x)
{
	return b_helper(x) + 100;
}

/* Called from link_b: writes the shared map through this object's code. */
__noinline int a_map_set(__u32 key, __u64 value)
{
	return bpf_map_update_elem(&shared_map, &key, &value, BPF_ANY);
}

/* Called from link_b: reads the shared variable through this object's code. */
__noinline int a_var_get(void)
{
	return shared_var;
}

SEC("socket")
int check_a(struct __sk_buff *skb)
{
	int x = ZERO(skb) + 4;
	__u32 key = ZERO(skb) + 1;
	__u64 value = ZERO(skb) + 0xa0a0a0a0a0ULL;
	__u64 *slot;

	/* Cross-object calls: b_helper(4) = 4 * 5 + 2. */
	CHECK(b_helper(x) == 22);
	/* This object's own global function, for comparison. */
	CHECK(a_helper(x) == 13);

	/* The strong which_one (link_b's: x + 2) wins over ours (x + 1). */
	CHECK(which_one(x) == 6);

	/* Shared map: written here, read back through link_b's code. */
	CHECK(b_map_get(key) == 0);
	CHECK(bpf_map_update_elem(&shared_map, &key, &value, BPF_ANY) == 0);
	CHECK(b_map_get(key) == (long)value);
	slot = bpf_map_lookup_elem(&shared_map, &key);
	CHECK(slot && *slot == value);
	/* Restore. */
	value = 0;
	CHECK(bpf_map_update_elem(&shared_map, &key, &value, BPF_ANY) == 0);
	CHECK(b_map_get(key) == 0);

	/* Shared variable: link_b's weak 2000 lost to our 1000. */
	CHECK(shared_var == 1000);
	CHECK(b_var_get() == 1000);
	shared_var = 1234 + ZERO(skb);
	CHECK(b_var_get() == 1234);
	CHECK(b_var_set(4321 + ZERO(skb)) == 0);
	CHECK(shared_var == 4321);
	/* Restore. */
	shared_var = 1000;
	CHECK(b_var_get() == 1000);
	return 0;
}
