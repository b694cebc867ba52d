/* A BTF-defined prog array with a statically initialised slot: `.values = { [1]
 * = &tail_target }` is an R_BPF_64_ABS64 relocation in .rel.maps that the
 * reader keeps as MapDef::init_slots and the loader fills with the program's fd
 * once the programs are loaded. `check_tail` tail-calls slot 1 and returns
 * __LINE__ only when the tail call falls through (an empty slot).
 * max_entries is 8 (not 4, the key size) so that a test can re-type it alone:
 * clang shares one `int (*)[N]` between attributes of the same N.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

SEC("socket")
int tail_target(struct __sk_buff *skb)
{
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 8);
	__uint(key_size, 4);
	__array(values, int(void *));
} jump_table SEC(".maps") = {
	.values = { [1] = (void *)&tail_target },
};

SEC("socket")
int check_tail(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jump_table, 1);
	return __LINE__;
}

char _license[] SEC("license") = "GPL";
