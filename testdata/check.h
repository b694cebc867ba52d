/* Shared helpers for the self-checking bpfir test programs.
 *
 * A self-checking program returns 0 when every assertion holds and the
 * source line of the first failed assertion otherwise, so a single
 * BPF_PROG_TEST_RUN gives a precise verdict.
 */
#ifndef BPFIR_TESTDATA_CHECK_H
#define BPFIR_TESTDATA_CHECK_H

/* Fail with the current line number unless COND holds. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			return __LINE__;                                       \
	} while (0)

/* Hide a value from the optimiser: after this, clang must assume VAR may
 * hold anything, so checks on it are really executed at run time.
 */
#define OPAQUE(var) asm volatile("" : "+r"(var))

/* The test runner feeds a 64-byte zero packet; a socket filter sees
 * skb->len == 50 (the 14-byte Ethernet header is pulled). Programs derive
 * their "runtime" inputs from skb->len so clang cannot fold the checks away:
 * ZERO(skb) is 0 and ONE(skb) is 1 for any packet shorter than 128 bytes,
 * but unknown at compile time.
 */
#define ZERO(skb) ((skb)->len >> 7)
#define ONE(skb) (((skb)->len >> 7) + 1)

#endif
