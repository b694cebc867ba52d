/* Item 10 of issue 10: a callback's ld_imm64 (BPF_PSEUDO_FUNC) holds the
 * offset to the callback in its first half and 0 in its second, also when the
 * callback comes before the instruction: `count` is first reached from
 * `check`, so it is laid out before `twice`, whose reference to it is
 * backwards. `check` returns 0 when both loops ran.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

static int count(__u32 index, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static __attribute__((noinline)) int twice(int n)
{
	int calls = 0;

	bpf_loop(n, count, &calls, 0);
	return calls;
}

SEC("socket")
int check(struct __sk_buff *skb)
{
	int calls = 0;
	int n = ONE(skb) + 1;

	bpf_loop(n, count, &calls, 0);
	CHECK(calls == 2);
	CHECK(twice(n) == 2);
	return 0;
}

char _license[] SEC("license") = "GPL";
