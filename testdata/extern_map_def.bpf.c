/* Item 9 of issue 10, with extern_map_use.bpf.c: an extern map. This object
 * defines `shared`; the other declares it `extern` and writes it. Linked
 * (bpfir link), both programs use one map: run `put` (in the other object)
 * first, then `get` returns 0 when it sees what `put` wrote.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} shared SEC(".maps");

SEC("socket")
int get(struct __sk_buff *skb)
{
	__u32 key = ZERO(skb);
	__u64 *v = bpf_map_lookup_elem(&shared, &key);

	CHECK(v != 0);
	CHECK(*v == 42);
	return 0;
}

char _license[] SEC("license") = "GPL";
