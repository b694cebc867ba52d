/* Item 5 of issue 10: maps a loader must adjust as libbpf does.
 *
 * `events` is a ring buffer of 1000 bytes: the kernel wants a power-of-2
 * number of pages, so the loader rounds it up (to one page). `typed_key`
 * gives its key as a BTF type but only a value size: the kernel refuses that
 * BTF, and the loader creates the map again without BTF. `check` uses both
 * and returns 0. `pinned_devmap` is pinned by name: the kernel adds
 * BPF_F_RDONLY_PROG to a devmap's flags, and a second load must still reuse
 * the pinned map.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1000);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__uint(value_size, 32);
	__uint(max_entries, 1);
} typed_key SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_devmap SEC(".maps");

SEC("socket")
int check(struct __sk_buff *skb)
{
	__u32 key = ZERO(skb);
	__u64 *v = bpf_map_lookup_elem(&typed_key, &key);

	CHECK(v != 0);
	CHECK(*v == 0);
	/* A fresh one-page ring buffer has room for a small record. */
	CHECK(bpf_ringbuf_output(&events, &key, sizeof(key), 0) == 0);
	return 0;
}

char _license[] SEC("license") = "GPL";
