// SPDX-License-Identifier: GPL-2.0
/* maps.bpf.c: BTF-defined maps of several kinds plus one legacy map.
 *
 * Covers, for readers and loaders:
 *   - SEC(".maps") BTF map definitions: array, hash (with pinning by name),
 *     per-CPU array, array-of-maps and hash-of-maps whose inner map template
 *     is given with __array(values, ...), statically initialised slots (which
 *     produce R_BPF_64_ABS64 relocations inside .maps);
 *   - a legacy SEC("maps") struct bpf_map_def map (libbpf >= 1.0 refuses
 *     these; cilium/ebpf and aya still read them);
 *   - map references from code (ld_imm64 with BPF_PSEUDO_MAP_FD relocations).
 *
 * Self-checking socket filter: returns 0 on success, else the failing line.
 * Build with -DMAPS_NO_LEGACY to turn the legacy map into a BTF-defined map
 * with the same name and shape, so libbpf can run the very same checks.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

char LICENSE[] SEC("license") = "GPL";

struct array_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} array SEC(".maps");

struct pair {
	__u32 a;
	__u16 b;
	__u8 c;
	__s64 d;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct pair);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} percpu SEC(".maps");

/* Inner map type: used both as the template of the outer maps and for two
 * real inner maps.
 */
struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 3);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer_array SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer_hash SEC(".maps") = {
	.values = { [1] = &inner_b },
};

#ifndef MAPS_NO_LEGACY
/* libbpf removed this struct from its headers in 1.0; the ELF layout is five
 * u32 words (loaders accept trailing fields they know, like numa_node).
 */
struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") legacy_hash = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 8,
	.map_flags = 0,
};
#else
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));
} legacy_hash SEC(".maps");
#endif

SEC("socket")
int check_maps(struct __sk_buff *skb)
{
	__u32 zero = ZERO(skb);
	__u32 one = ONE(skb);
	__u32 key;
	__u64 val64, *p64;

	/* Array: write slot 3, read it back; an untouched slot reads 0. */
	key = 3 + zero;
	val64 = 0x1122334455667788ULL + one;
	CHECK(bpf_map_update_elem(&array, &key, &val64, BPF_ANY) == 0);
	p64 = bpf_map_lookup_elem(&array, &key);
	CHECK(p64);
	CHECK(*p64 == 0x1122334455667789ULL);
	key = 7 + zero;
	p64 = bpf_map_lookup_elem(&array, &key);
	CHECK(p64);
	CHECK(*p64 == 0);
	key = 8 + zero; /* out of range */
	CHECK(bpf_map_lookup_elem(&array, &key) == 0);

	/* Hash: insert, find, overwrite, delete. The map is pinned by name,
	 * so a previous run may have left the key behind: clear it first.
	 */
	__u64 hkey = 0xdeadbeefcafeULL + zero;
	bpf_map_delete_elem(&pinned_hash, &hkey);
	struct pair pv = { .a = one, .b = 2, .c = 3, .d = -4 };
	CHECK(bpf_map_update_elem(&pinned_hash, &hkey, &pv, BPF_NOEXIST) == 0);
	struct pair *pp = bpf_map_lookup_elem(&pinned_hash, &hkey);
	CHECK(pp);
	CHECK(pp->a == 1 && pp->b == 2 && pp->c == 3 && pp->d == -4);
	pv.d = -5 - (__s64)zero;
	CHECK(bpf_map_update_elem(&pinned_hash, &hkey, &pv, BPF_EXIST) == 0);
	pp = bpf_map_lookup_elem(&pinned_hash, &hkey);
	CHECK(pp && pp->d == -5);
	CHECK(bpf_map_delete_elem(&pinned_hash, &hkey) == 0);
	CHECK(bpf_map_lookup_elem(&pinned_hash, &hkey) == 0);

	/* Per-CPU array: the program sees its own CPU's slot. */
	key = one;
	__u32 v32 = 77 + zero;
	CHECK(bpf_map_update_elem(&percpu, &key, &v32, BPF_ANY) == 0);
	__u32 *p32 = bpf_map_lookup_elem(&percpu, &key);
	CHECK(p32 && *p32 == 77);
	*p32 += 1;
	p32 = bpf_map_lookup_elem(&percpu, &key);
	CHECK(p32 && *p32 == 78);

	/* Array of maps: slots 0 and 2 hold inner_a and inner_b, slot 1 is
	 * empty. Write through the outer map, read through the inner map.
	 */
	key = 1 + zero;
	CHECK(bpf_map_lookup_elem(&outer_array, &key) == 0);
	key = 2 + zero;
	void *inner = bpf_map_lookup_elem(&outer_array, &key);
	CHECK(inner);
	__u32 ikey = 3 + zero;
	v32 = 0xabcd + zero;
	CHECK(bpf_map_update_elem(inner, &ikey, &v32, BPF_ANY) == 0);
	p32 = bpf_map_lookup_elem(&inner_b, &ikey);
	CHECK(p32 && *p32 == 0xabcd);
	key = zero;
	inner = bpf_map_lookup_elem(&outer_array, &key);
	CHECK(inner);
	p32 = bpf_map_lookup_elem(inner, &ikey);
	CHECK(p32 && *p32 == 0); /* inner_a is a different map */

	/* Hash of maps: key 1 holds inner_b, so we see the value above. */
	key = one;
	inner = bpf_map_lookup_elem(&outer_hash, &key);
	CHECK(inner);
	p32 = bpf_map_lookup_elem(inner, &ikey);
	CHECK(p32 && *p32 == 0xabcd);
	key = 2 + zero;
	CHECK(bpf_map_lookup_elem(&outer_hash, &key) == 0);

	/* Legacy map: round trip. */
	key = 5 + zero;
	val64 = 0x0102030405060708ULL;
	CHECK(bpf_map_update_elem(&legacy_hash, &key, &val64, BPF_ANY) == 0);
	p64 = bpf_map_lookup_elem(&legacy_hash, &key);
	CHECK(p64 && *p64 == 0x0102030405060708ULL);
	key = 6 + zero;
	CHECK(bpf_map_lookup_elem(&legacy_hash, &key) == 0);

	return 0;
}
