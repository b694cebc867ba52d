/* Item 8 of issue 10: exception callbacks. `check` names `on_throw` as its
 * exception callback with a BTF decl tag only (nothing calls it), so the
 * loader must append it to the program. `check` throws 7; the program then
 * returns what the callback returns for 7, which is 0. Without the throw it
 * would return 1.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

extern void bpf_throw(__u64 cookie) __ksym;

#define __exception_cb(name) \
	__attribute__((btf_decl_tag("exception_callback:" #name)))

__attribute__((noinline)) int on_throw(__u64 cookie)
{
	return cookie == 7 ? 0 : __LINE__;
}

SEC("tc")
__exception_cb(on_throw)
int check(struct __sk_buff *skb)
{
	if (ONE(skb))
		bpf_throw(7);
	return 1;
}

char _license[] SEC("license") = "GPL";
