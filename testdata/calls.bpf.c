// SPDX-License-Identifier: GPL-2.0
/* calls.bpf.c: bpf-to-bpf calls in every shape a linker must handle.
 *
 * Covers:
 *   - static and global (non-static, __noinline) sub-programs in .text;
 *     the kernel verifies a global function on its own, for any arguments;
 *   - a __hidden global sub-program (global in BTF, hidden ELF visibility);
 *   - a nested chain a -> b -> c (chain_a -> chain_b -> chain_c);
 *   - a sub-program shared by two programs (shared_mix);
 *   - TWO programs in the same ELF section "socket" (calls_first and
 *     calls_second), split by their function symbols;
 *   - a bpf_loop() callback (ld_imm64 with BPF_PSEUDO_FUNC, relocated
 *     against .text);
 *   - a function aligned to 64 bytes (aligned_sum), so clang pads .text
 *     with zero bytes before it: BTF.ext offsets must be read per function
 *     symbol, never by counting instructions.
 *
 * Self-checking socket filters: each returns 0 on success, else the line.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

char LICENSE[] SEC("license") = "GPL";

static __noinline int chain_c(int x)
{
	OPAQUE(x);
	return x * 3 + 1;
}

/* Global: verified independently, so it must be safe for any x. */
__noinline int chain_b(int x)
{
	return chain_c(x + 2) - 5;
}

static __noinline int chain_a(int x)
{
	OPAQUE(x);
	return chain_b(x) ^ 0x10;
}

/* Hidden global: BTF linkage global, ELF visibility hidden. */
__hidden __noinline int hidden_twice(int x)
{
	return x * 2;
}

/* Shared by both programs. */
static __noinline __u64 shared_mix(__u64 a, __u64 b)
{
	OPAQUE(a);
	return (a << 8) | (b & 0xff);
}

/* Placed at a 64-byte boundary: .text gets zero padding before it. */
static __noinline __attribute__((aligned(64))) int aligned_sum(int a, int b,
							       int c)
{
	OPAQUE(a);
	return a + b + c;
}

/* The loop state lives in a map value: the verifier does not track map
 * contents, so it can prove the callback safe without unrolling 100 calls.
 */
struct loop_state {
	__u64 sum;
	__u32 calls;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct loop_state);
} loop_states SEC(".maps");

struct loop_ctx {
	struct loop_state *state;
};

static int loop_body(__u32 index, void *data)
{
	struct loop_ctx *ctx = data;

	ctx->state->sum += index;
	ctx->state->calls++;
	/* 1 stops the loop: stop after index 9. */
	return index == 9;
}

SEC("socket")
int calls_first(struct __sk_buff *skb)
{
	int one = ONE(skb);

	/* chain_a(1) = chain_b(1) ^ 0x10 = (chain_c(3) - 5) ^ 0x10
	 *            = (10 - 5) ^ 0x10 = 0x15
	 */
	CHECK(chain_a(one) == 0x15);
	CHECK(chain_b(one) == 5);
	CHECK(hidden_twice(one + 20) == 42);
	CHECK(shared_mix(one, 0x1ab) == 0x1ab);
	CHECK(aligned_sum(one, 2, 3) == 6);
	return 0;
}

SEC("socket")
int calls_second(struct __sk_buff *skb)
{
	__u64 zero = ZERO(skb);
	__u32 key = zero;
	struct loop_ctx ctx;
	long n;

	CHECK(shared_mix(zero + 0x12, 0x34) == 0x1234);
	ctx.state = bpf_map_lookup_elem(&loop_states, &key);
	CHECK(ctx.state);
	ctx.state->sum = zero;
	ctx.state->calls = 0;
	n = bpf_loop(100, loop_body, &ctx, 0);
	CHECK(n == 10);
	CHECK(ctx.state->calls == 10);
	CHECK(ctx.state->sum == 45);
	CHECK(aligned_sum(zero, 10, 20) == 30);
	return 0;
}
