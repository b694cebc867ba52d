// SPDX-License-Identifier: GPL-2.0
/* isa_v4.bpf.c: the cpu=v4 instruction set extensions (build: -mcpu=v4).
 *
 * Covers (check with llvm-objdump-19 -d isa_v4.bpfel.o):
 *   - sdiv / smod, 32- and 64-bit (BPF_DIV/BPF_MOD with off = 1);
 *   - movsx: sign-extending register moves 8/16/32 -> 64 and 8/16 -> 32
 *     (BPF_MOV with off = 8/16/32);
 *   - ldsx: sign-extending loads 8/16/32 (BPF_MEMSX);
 *   - bswap16/32/64 (BPF_ALU64 | BPF_END, unconditional byte swap);
 *   - gotol: BPF_JMP32 | BPF_JA with a 32-bit imm offset, written with
 *     inline asm (clang only emits it for jumps beyond +-32767 insns);
 *   - atomics: fetch_add, xchg, cmpxchg, and/or/xor both with and without
 *     BPF_FETCH, 32- and 64-bit, plus non-fetching add.
 *
 * Self-checking socket filter: returns 0 on success, else the failing line.
 * Needs a kernel with cpu v4 support (6.6+).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

char LICENSE[] SEC("license") = "GPL";

struct atomics {
	__u64 add64;
	__u64 and64;
	__u64 or64;
	__u64 xor64;
	__u64 xchg64;
	__u64 cmpxchg64;
	__u32 add32;
	__u32 and32;
	__u32 or32;
	__u32 xor32;
	__u32 xchg32;
	__u32 cmpxchg32;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct atomics);
} atomics_map SEC(".maps");

struct mem {
	__s8 b;
	__s16 h;
	__s32 w;
	__u64 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mem);
} mem_map SEC(".maps");

/* Evaluate E, then hide the result from the optimiser, so the operation
 * itself is emitted instead of being folded into the comparison.
 */
#define KEEP(e)                                                                \
	({                                                                     \
		typeof(e) __keep = (e);                                        \
		OPAQUE(__keep);                                                \
		__keep;                                                        \
	})

/* Compiler barrier: memory may have changed, so clang must reload values
 * instead of forwarding the stores that precede it.
 */
#define BARRIER() asm volatile("" ::: "memory")

/* Fresh opaque copies of the operands, so clang cannot derive one result
 * from another (e.g. smod as a - (a / b) * b).
 */
#define OP2(x, y, op)                                                          \
	({                                                                     \
		typeof(x) __x = (x);                                           \
		typeof(y) __y = (y);                                           \
		OPAQUE(__x);                                                   \
		OPAQUE(__y);                                                   \
		KEEP(__x op __y);                                              \
	})

static __always_inline int check_div(__u32 zero)
{
	OPAQUE(zero);
	__s64 a = -17 - (__s64)zero, b = 5 + zero;
	__s32 c = -17 - (__s32)zero, d = 5 + zero;

	OPAQUE(a);
	OPAQUE(b);
	OPAQUE(c);
	OPAQUE(d);
	CHECK(OP2(a, b, /) == -3);	/* sdiv64 */
	CHECK(OP2(a, b, %) == -2);	/* smod64 */
	CHECK(OP2(c, d, /) == -3);	/* sdiv32 */
	CHECK(OP2(c, d, %) == -2);	/* smod32 */
	CHECK(OP2(a, -b, /) == 3);
	CHECK(OP2(-a, b, %) == 2);
	CHECK(OP2((__u64)a, (__u64)b, /) == 0x333333333333332fULL); /* udiv */
	CHECK(OP2((__u32)c, (__u32)d, %) == 4294967279U % 5);	     /* umod */
	return 0;
}

static __always_inline int check_movsx(__u32 zero)
{
	OPAQUE(zero);
	__u64 x = 0x12345678abcdef80ULL + zero;

	OPAQUE(x);
	CHECK(KEEP((__s64)(__s8)x) == -128);			/* movsx 8 -> 64 */
	CHECK(KEEP((__s64)(__s16)x) == (__s16)0xef80);		/* movsx 16 -> 64 */
	CHECK(KEEP((__s64)(__s32)x) == (__s32)0xabcdef80);	/* movsx 32 -> 64 */
	__u32 y = (__u32)x;
	OPAQUE(y);
	CHECK(KEEP((__s32)(__s8)y) == -128);			/* movsx 8 -> 32 */
	CHECK(KEEP((__s32)(__s16)y) == -4224);		/* movsx 16 -> 32 */
	return 0;
}

static __always_inline int check_ldsx(struct mem *m, __u32 zero)
{
	OPAQUE(zero);
	m->b = -5 - (__s8)zero;
	m->h = -1000 - (__s16)zero;
	m->w = -100000 - (__s32)zero;
	BARRIER();
	/* ldsx 8/16/32: sign-extending loads into 64-bit registers. */
	__s64 b = KEEP((__s64)m->b);
	__s64 h = KEEP((__s64)m->h);
	__s64 w = KEEP((__s64)m->w);
	CHECK(b == -5);
	CHECK(h == -1000);
	CHECK(w == -100000);
	return 0;
}

static __always_inline int check_bswap(__u32 zero)
{
	OPAQUE(zero);
	__u64 x = 0x0102030405060708ULL + zero;

	OPAQUE(x);
	CHECK(KEEP(__builtin_bswap16((__u16)x)) == 0x0807);
	CHECK(KEEP(__builtin_bswap32((__u32)x)) == 0x08070605);
	CHECK(KEEP(__builtin_bswap64(x)) == 0x0807060504030201ULL);
	return 0;
}

static __always_inline int check_gotol(__u32 zero)
{
	OPAQUE(zero);
	__u64 r = 1 + zero;

	/* gotol skips "r = 2" unless r was 0 (it is 1 at run time); the
	 * conditional jump keeps "r = 2" reachable for the verifier.
	 */
	asm volatile("if %[r] == 0 goto +1\n\t"
		     "gotol +1\n\t"
		     "%[r] = 2\n\t"
		     : [r] "+r"(r));
	CHECK(r == 1);
	return 0;
}

static __always_inline int check_atomics(struct atomics *a, __u32 zero)
{
	OPAQUE(zero);
	__u64 old64;
	__u32 old32;

	a->add64 = 10 + zero;
	a->and64 = 0xff00ff00ff00ff00ULL;
	a->or64 = 0x0f;
	a->xor64 = 0xff;
	a->xchg64 = 7;
	a->cmpxchg64 = 100;
	a->add32 = 10 + zero;
	a->and32 = 0xf0f0;
	a->or32 = 0x100;
	a->xor32 = 0x3;
	a->xchg32 = 8;
	a->cmpxchg32 = 200;
	BARRIER();

	/* Fetching forms (result used). */
	old64 = __sync_fetch_and_add(&a->add64, 5 + zero);
	CHECK(old64 == 10 && a->add64 == 15);
	old64 = __sync_fetch_and_and(&a->and64, 0x0ff0 + zero);
	CHECK(old64 == 0xff00ff00ff00ff00ULL && a->and64 == 0x0f00);
	old64 = __sync_fetch_and_or(&a->or64, 0xf0 + zero);
	CHECK(old64 == 0x0f && a->or64 == 0xff);
	old64 = __sync_fetch_and_xor(&a->xor64, 0x0f + zero);
	CHECK(old64 == 0xff && a->xor64 == 0xf0);
	old64 = __sync_lock_test_and_set(&a->xchg64, 70 + zero);
	CHECK(old64 == 7 && a->xchg64 == 70);
	old64 = __sync_val_compare_and_swap(&a->cmpxchg64, 100, 101 + zero);
	CHECK(old64 == 100 && a->cmpxchg64 == 101);
	old64 = __sync_val_compare_and_swap(&a->cmpxchg64, 100, 102 + zero);
	CHECK(old64 == 101 && a->cmpxchg64 == 101); /* no swap */

	old32 = __sync_fetch_and_add(&a->add32, 3 + zero);
	CHECK(old32 == 10 && a->add32 == 13);
	old32 = __sync_fetch_and_and(&a->and32, 0x3c3c + zero);
	CHECK(old32 == 0xf0f0 && a->and32 == 0x3030);
	old32 = __sync_fetch_and_or(&a->or32, 0x1 + zero);
	CHECK(old32 == 0x100 && a->or32 == 0x101);
	old32 = __sync_fetch_and_xor(&a->xor32, 0x1 + zero);
	CHECK(old32 == 0x3 && a->xor32 == 0x2);
	old32 = __sync_lock_test_and_set(&a->xchg32, 80 + zero);
	CHECK(old32 == 8 && a->xchg32 == 80);
	old32 = __sync_val_compare_and_swap(&a->cmpxchg32, 200, 201 + zero);
	CHECK(old32 == 200 && a->cmpxchg32 == 201);

	/* Non-fetching forms (result unused). */
	__sync_fetch_and_add(&a->add64, 1 + zero);
	__sync_fetch_and_and(&a->and64, 0x0300 + zero);
	__sync_fetch_and_or(&a->or64, 0x100 + zero);
	__sync_fetch_and_xor(&a->xor64, 0x10 + zero);
	__sync_fetch_and_add(&a->add32, 1 + zero);
	__sync_fetch_and_and(&a->and32, 0x1010 + zero);
	__sync_fetch_and_or(&a->or32, 0x10 + zero);
	__sync_fetch_and_xor(&a->xor32, 0x2 + zero);
	CHECK(a->add64 == 16);
	CHECK(a->and64 == 0x0300);
	CHECK(a->or64 == 0x1ff);
	CHECK(a->xor64 == 0xe0);
	CHECK(a->add32 == 14);
	CHECK(a->and32 == 0x1010);
	CHECK(a->or32 == 0x111);
	CHECK(a->xor32 == 0);
	return 0;
}

SEC("socket")
int check_isa_v4(struct __sk_buff *skb)
{
	__u32 zero = ZERO(skb);
	__u32 key = zero;
	int line;

	line = check_div(zero);
	if (line)
		return line;
	line = check_movsx(zero);
	if (line)
		return line;
	line = check_bswap(zero);
	if (line)
		return line;
	line = check_gotol(zero);
	if (line)
		return line;

	struct mem *m = bpf_map_lookup_elem(&mem_map, &key);
	CHECK(m);
	line = check_ldsx(m, zero);
	if (line)
		return line;

	struct atomics *a = bpf_map_lookup_elem(&atomics_map, &key);
	CHECK(a);
	return check_atomics(a, zero);
}
