/* Item 12 of issue 10 (BTF for older kernels): one object with every BTF kind
 * or flag a kernel may lack: a global function (FUNC linkage global), a float
 * (FLOAT), a decl tag (DECL_TAG), a type tag (TYPE_TAG) and a 64-bit enum
 * (ENUM64). With any of them rewritten as for a kernel without it, the BTF
 * still loads and `check` still returns 0.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

enum big { BIG = 1ULL << 40 };

struct kinds {
	float f;
	enum big e;
	int __attribute__((btf_type_tag("user"))) *p;
};

struct kinds kinds = { .e = BIG };

__attribute__((noinline)) __attribute__((btf_decl_tag("tagged")))
int global_sub(int x)
{
	return x + 1;
}

SEC("socket")
int check(struct __sk_buff *skb)
{
	CHECK(global_sub(ZERO(skb)) == 1);
	CHECK(kinds.e == BIG);
	CHECK(kinds.p == 0);
	return 0;
}

char _license[] SEC("license") = "GPL";
