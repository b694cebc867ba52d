// SPDX-License-Identifier: GPL-2.0
/* globals.bpf.c: global variables in every data section libbpf maps.
 *
 * Covers: .data (initialised globals, a static one too), .rodata
 * (const volatile, set before load by loaders that support it), .bss
 * (zero-initialised), a custom SEC(".data.custom") section and a custom
 * SEC(".rodata.custom") section, plus a string literal in .rodata.str1.1.
 * Every section becomes a single-entry array map; code reaches variables
 * with ld_imm64 BPF_PSEUDO_MAP_VALUE + offset, so the reader must resolve
 * section-symbol relocations with addends (several variables per section).
 *
 * Self-checking socket filter: returns 0 on success, else the failing line.
 * The program writes the writable variables, so it is correct only on the
 * first run after load (a fresh load resets them).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

char LICENSE[] SEC("license") = "GPL";

/* .rodata */
const volatile __u32 ro_magic = 0x12345678;
const volatile __u64 ro_table[4] = { 10, 20, 30, 40 };
const volatile __s8 ro_neg = -3;

/* .data */
__u32 data_counter = 7;
__u64 data_pair[2] = { 0xaaaa, 0xbbbb };
static volatile __u16 data_static = 0x1234;

/* .bss */
__u64 bss_total;
__u32 bss_array[8];
static volatile __u8 bss_static;

/* custom sections */
__u32 custom_val SEC(".data.custom") = 42;
__u64 custom_other SEC(".data.custom") = 0x4242424242ULL;
const volatile __u32 custom_ro SEC(".rodata.custom") = 0x600d;

/* Reads byte I (at most 3) of a string; literals land in .rodata.str1.1. */
static __noinline int str_byte(const char *s, __u32 i)
{
	if (i > 3)
		return -1;
	return s[i];
}

SEC("socket")
int check_globals(struct __sk_buff *skb)
{
	__u32 zero = ZERO(skb);
	__u32 one = ONE(skb);

	/* .rodata: read scalar, array element chosen at run time, signed. */
	CHECK(ro_magic == 0x12345678);
	CHECK(ro_table[(2 + zero) & 3] == 30);
	CHECK(ro_table[(3 + zero) & 3] == 40);
	__s64 neg = ro_neg;
	CHECK(neg + zero == -3);

	/* .data: read initial values, then write and read back. */
	CHECK(data_counter == 7);
	data_counter += one;
	CHECK(data_counter == 8);
	CHECK(data_pair[one & 1] == 0xbbbb);
	data_pair[zero & 1] = 0x5555 + zero;
	CHECK(data_pair[0] == 0x5555);
	CHECK(data_static == 0x1234);
	data_static = 0x4321 + zero;
	CHECK(data_static == 0x4321);

	/* .bss: starts zeroed, then write and read back. */
	CHECK(bss_total == 0);
	CHECK(bss_array[(5 + zero) & 7] == 0);
	CHECK(bss_static == 0);
	bss_total = 1000 + one;
	bss_array[(5 + zero) & 7] = 99;
	bss_static = 7 + zero;
	CHECK(bss_total == 1001);
	CHECK(bss_array[5] == 99);
	CHECK(bss_static == 7);

	/* Custom sections. */
	CHECK(custom_val == 42);
	custom_val = 43 + zero;
	CHECK(custom_val == 43);
	CHECK(custom_other == 0x4242424242ULL);
	CHECK(custom_ro == 0x600d);

	/* String literal. */
	static const char word[] = "bpfir";
	CHECK(str_byte(word, zero) == 'b');
	CHECK(str_byte(word, 3 + zero) == 'i');
	CHECK(str_byte("xyz", 2 + zero) == 'z');

	return 0;
}
