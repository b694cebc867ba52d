/* Item 9 of issue 10, with extern_map_def.bpf.c: `shared` is declared
 * `extern` here, defined there. `put` stores 42 in it and returns 0.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

extern struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} shared SEC(".maps");

SEC("socket")
int put(struct __sk_buff *skb)
{
	__u32 key = ZERO(skb);
	__u64 *v = bpf_map_lookup_elem(&shared, &key);

	CHECK(v != 0);
	*v = 42;
	return 0;
}

char _license[] SEC("license") = "GPL";
