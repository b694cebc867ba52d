/* Item 4 of issue 10 (what USDT programs need): `fetch` is a global function
 * of hidden visibility (`__hidden`). Checked on its own, as the verifier
 * checks global functions, its `*res = ...` through a pointer that may be
 * NULL is refused; as libbpf does, the loader makes its BTF FUNC static, so
 * the verifier checks it in the caller's context, where `res` points to the
 * caller's stack. `check` returns 0.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

#define __hidden __attribute__((visibility("hidden")))

__hidden __attribute__((noinline)) int fetch(struct __sk_buff *skb, long *res)
{
	*res = skb->len + 1;
	return 0;
}

SEC("socket")
int check(struct __sk_buff *skb)
{
	long v = 0;

	CHECK(fetch(skb, &v) == 0);
	CHECK(v == skb->len + 1);
	return 0;
}

char _license[] SEC("license") = "GPL";
