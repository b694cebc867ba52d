/* Item 6 of issue 10: object BTF the kernel refuses. `enum fwd_only` is only
 * declared, which clang writes as an ENUM of size 0 and no values; the kernel
 * refuses that ("Unexpected size"). As libbpf, the loader goes on without the
 * object's BTF: `check` loads (without func_info and line_info) and runs.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

enum fwd_only;

struct holder {
	enum fwd_only *p;
	int value;
};

struct holder held = { .value = 5 };

SEC("socket")
int check(struct __sk_buff *skb)
{
	int v = held.value;

	OPAQUE(v);
	CHECK(v == 5);
	CHECK(held.p == 0);
	return 0;
}

char _license[] SEC("license") = "GPL";
