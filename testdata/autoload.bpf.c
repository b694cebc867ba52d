/* Item 1 of issue 10: programs in `?` sections stay off unless asked for.
 *
 * `on` (SEC("socket")) is loaded by default and returns 0. `off` (SEC("?socket"))
 * writes to the packet, which the verifier refuses for a socket filter: a
 * loader that tried it by default would fail the object. Asked for by name it
 * is tried (and refused).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

SEC("socket")
int on(struct __sk_buff *skb)
{
	CHECK(ZERO(skb) == 0);
	return 0;
}

SEC("?socket")
int off(struct __sk_buff *skb)
{
	skb->mark = 1; /* socket filters may not write the mark */
	return 0;
}

char _license[] SEC("license") = "GPL";
