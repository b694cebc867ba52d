// SPDX-License-Identifier: GPL-2.0
/* core.bpf.c: CO-RE relocations of all 13 kinds, checked against the
 * object's OWN BTF.
 *
 * Relocating this object against itself (libbpf: btf_custom_path = this .o;
 * /tmp/libbpf_run core.bpfel.o core.bpfel.o) must reproduce the values clang
 * computed, so every check compares a relocated value with a compile-time
 * constant (offsetof, sizeof, literal enum values) or with data written at
 * compile-time offsets. Against the running kernel's BTF the local types do
 * not exist, relocations are poisoned, and the load fails: that is expected.
 *
 * Relocation kinds used (enum bpf_core_relo_kind):
 *   0 FIELD_BYTE_OFFSET  direct accesses, BPF_CORE_READ, bpf_core_field_offset
 *   1 FIELD_BYTE_SIZE    bpf_core_field_size, bitfield reads
 *   2 FIELD_EXISTS       bpf_core_field_exists
 *   3 FIELD_SIGNED       bitfield reads
 *   4 FIELD_LSHIFT_U64   bitfield reads
 *   5 FIELD_RSHIFT_U64   bitfield reads
 *   6 TYPE_ID_LOCAL      bpf_core_type_id_local
 *   7 TYPE_ID_TARGET     bpf_core_type_id_kernel (libbpf 1.1's name)
 *   8 TYPE_EXISTS        bpf_core_type_exists
 *   9 TYPE_SIZE          bpf_core_type_size
 *  10 ENUMVAL_EXISTS     bpf_core_enum_value_exists (ENUM and ENUM64)
 *  11 ENUMVAL_VALUE      bpf_core_enum_value (ENUM and ENUM64)
 *  12 TYPE_MATCHES       bpf_core_type_matches
 * Also: nested members, arrays (1-D and 2-D), a union member, a pointer
 * chase (BPF_CORE_READ(o, self, in.x)), bitfields signed and unsigned, a
 * typedef, and a flavoured type (struct core_flav___v2) whose essential
 * name is core_flav.
 *
 * Self-checking socket filter: returns 0 on success, else the failing line.
 * Needs root (it stores a map-value pointer into the map and uses
 * bpf_probe_read_kernel).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "check.h"

char LICENSE[] SEC("license") = "GPL";

#define CORE __attribute__((preserve_access_index))

enum core_color { CORE_RED = 1, CORE_GREEN = 2, CORE_BLUE = 40 };

/* Needs 64 bits, so clang emits BTF_KIND_ENUM64. */
enum core_big : unsigned long long {
	CORE_BIG_SMALL = 5,
	CORE_BIG_HUGE = 0x123456789aULL,
};

struct core_inner {
	int x;
	short arr[4];
	char tag;
} CORE;

typedef struct core_inner core_inner_t;

struct core_bits {
	unsigned int lo : 3;
	int mid : 7;
	unsigned int hi : 12;
	unsigned long long wide : 40;
	signed char sb : 3;
} CORE;

/* The same layout without CO-RE, used to write test data with plain
 * compile-time offsets.
 */
struct core_bits_plain {
	unsigned int lo : 3;
	int mid : 7;
	unsigned int hi : 12;
	unsigned long long wide : 40;
	signed char sb : 3;
};

struct core_outer {
	__u64 first;
	struct core_inner in;
	struct core_inner ins[3];
	struct core_bits bits;
	int matrix[2][3];
	struct core_outer *self;
	union {
		int ui;
		char uc;
	} u;
	enum core_color color;
} CORE;

/* Two flavours of one type. Against this object's BTF both are candidates
 * for a core_flav___v2 relocation, so every field they share has the same
 * offset (candidates must agree) and only the flavour has "extra_v2".
 */
struct core_flav {
	int a;
	int b;
} CORE;

struct core_flav___v2 {
	int a;
	int b;
	long extra_v2;
} CORE;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct core_outer);
} core_data SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct core_flav___v2);
} flav_data SEC(".maps");

/* Puts the plain core_flav into BTF, so it is a real second candidate. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct core_flav);
} flav_base SEC(".maps");

/* Write at compile-time offsets, bypassing CO-RE. */
#define RAW(ptr, type, member) \
	(*(type *)((char *)(ptr) + __builtin_offsetof(struct core_outer, member)))

static __always_inline int check_fields(struct core_outer *o, __u32 zero)
{
	/* Fill through raw offsets. */
	RAW(o, __u64, first) = 0x1111222233334444ULL + zero;
	RAW(o, int, in.x) = 17;
	RAW(o, short, in.arr[2]) = -300;
	RAW(o, char, in.tag) = 'T';
	RAW(o, int, ins[2].x) = 99;
	RAW(o, short, ins[1].arr[3]) = 1234;
	RAW(o, int, matrix[1][2]) = -7;
	RAW(o, int, u.ui) = 0x41424344;
	RAW(o, struct core_outer *, self) = o;
	RAW(o, int, color) = CORE_BLUE;

	/* FIELD_BYTE_OFFSET through direct loads. */
	CHECK(o->first == 0x1111222233334444ULL);
	CHECK(o->in.x == 17);
	CHECK(o->in.arr[2] == -300);
	CHECK(o->in.tag == 'T');
	CHECK(o->ins[2].x == 99);
	CHECK(o->matrix[1][2] == -7);
	CHECK(o->color == CORE_BLUE);

	/* FIELD_BYTE_OFFSET through bpf_probe_read_kernel (BPF_CORE_READ). */
	CHECK(BPF_CORE_READ(o, in.x) == 17);
	CHECK(BPF_CORE_READ(o, ins[1].arr[3]) == 1234);
	CHECK(BPF_CORE_READ(o, u.ui) == 0x41424344);
	/* Pointer chase: o->self->in.x via two probe reads. */
	CHECK(BPF_CORE_READ(o, self, in.x) == 17);
	CHECK(BPF_CORE_READ(o, self, matrix[1][2]) == -7);
	short s = 0;
	CHECK(bpf_core_read(&s, sizeof(s), &o->in.arr[2]) == 0);
	CHECK(s == -300);

	/* bpf_core_field_offset / size / exists. */
	CHECK(bpf_core_field_offset(o->in.tag) ==
	      __builtin_offsetof(struct core_outer, in.tag));
	CHECK(bpf_core_field_offset(struct core_outer, ins[2]) ==
	      __builtin_offsetof(struct core_outer, ins[2]));
	CHECK(bpf_core_field_offset(o->matrix[1][2]) ==
	      __builtin_offsetof(struct core_outer, matrix[1][2]));
	CHECK(bpf_core_field_size(o->in.arr) == sizeof(short[4]));
	CHECK(bpf_core_field_size(struct core_outer, matrix) == sizeof(int[2][3]));
	CHECK(bpf_core_field_size(o->u.uc) == 1);
	CHECK(bpf_core_field_size(o->self) == 8);
	CHECK(bpf_core_field_exists(o->u.uc));
	CHECK(bpf_core_field_exists(struct core_inner, tag));
	return 0;
}

static __always_inline int check_bits(struct core_outer *o)
{
	struct core_bits_plain *plain =
		(void *)((char *)o + __builtin_offsetof(struct core_outer, bits));
	struct core_bits *b = &o->bits;

	plain->lo = 5;
	plain->mid = -20;
	plain->hi = 0xabc;
	plain->wide = 0x12345678ffULL;
	plain->sb = -2;

	/* BYTE_OFFSET, BYTE_SIZE, LSHIFT_U64, RSHIFT_U64, SIGNED. */
	CHECK(BPF_CORE_READ_BITFIELD_PROBED(b, lo) == 5);
	CHECK((long long)BPF_CORE_READ_BITFIELD_PROBED(b, mid) == -20);
	CHECK(BPF_CORE_READ_BITFIELD_PROBED(b, hi) == 0xabc);
	CHECK(BPF_CORE_READ_BITFIELD_PROBED(b, wide) == 0x12345678ffULL);
	CHECK((long long)BPF_CORE_READ_BITFIELD_PROBED(b, sb) == -2);
	/* The direct-load variant (map values allow plain loads). */
	CHECK(BPF_CORE_READ_BITFIELD(b, hi) == 0xabc);
	CHECK((long long)BPF_CORE_READ_BITFIELD(b, mid) == -20);
	return 0;
}

static __always_inline int check_types(void)
{
	__u32 local_id = bpf_core_type_id_local(struct core_outer);
	__u32 target_id = bpf_core_type_id_kernel(struct core_outer);

	CHECK(local_id != 0);
	CHECK(local_id == target_id);
	CHECK(bpf_core_type_id_local(core_inner_t) ==
	      bpf_core_type_id_kernel(core_inner_t));
	CHECK(bpf_core_type_exists(struct core_inner));
	CHECK(bpf_core_type_exists(core_inner_t));
	CHECK(bpf_core_type_exists(enum core_big));
	CHECK(bpf_core_type_size(struct core_outer) == sizeof(struct core_outer));
	CHECK(bpf_core_type_size(struct core_bits) == sizeof(struct core_bits));
	CHECK(bpf_core_type_size(enum core_big) == 8);
	CHECK(bpf_core_type_matches(struct core_inner));
	CHECK(bpf_core_type_matches(struct core_outer));

	/* ENUM. */
	CHECK(bpf_core_enum_value_exists(enum core_color, CORE_GREEN));
	CHECK(bpf_core_enum_value(enum core_color, CORE_BLUE) == 40);
	CHECK(bpf_core_enum_value(enum core_color, CORE_RED) == 1);
	/* ENUM64. */
	CHECK(bpf_core_enum_value_exists(enum core_big, CORE_BIG_HUGE));
	CHECK(bpf_core_enum_value(enum core_big, CORE_BIG_HUGE) ==
	      0x123456789aULL);
	CHECK(bpf_core_enum_value(enum core_big, CORE_BIG_SMALL) == 5);
	return 0;
}

static __always_inline int check_flavours(struct core_flav___v2 *f, __u32 zero)
{
	f->a = 3 + zero;
	f->b = 4 + zero;
	f->extra_v2 = -9;
	/* Both candidates (core_flav, core_flav___v2) agree on a and b. */
	CHECK(bpf_core_field_offset(f->b) == 4);
	CHECK(BPF_CORE_READ(f, b) == 4);
	/* Only the ___v2 flavour has extra_v2. */
	CHECK(bpf_core_field_exists(f->extra_v2));
	CHECK(f->extra_v2 == -9);
	CHECK(bpf_core_field_size(f->extra_v2) == 8);
	return 0;
}

static __always_inline int check_base_flavour(struct core_flav *g, __u32 zero)
{
	g->b = 21 + zero;
	CHECK(bpf_core_field_offset(g->b) == 4);
	CHECK(BPF_CORE_READ(g, b) == 21);
	return 0;
}

SEC("socket")
int check_core(struct __sk_buff *skb)
{
	__u32 zero = ZERO(skb);
	__u32 key = zero;
	int line;

	struct core_outer *o = bpf_map_lookup_elem(&core_data, &key);
	CHECK(o);
	line = check_fields(o, zero);
	if (line)
		return line;
	line = check_bits(o);
	if (line)
		return line;
	line = check_types();
	if (line)
		return line;

	struct core_flav___v2 *f = bpf_map_lookup_elem(&flav_data, &key);
	CHECK(f);
	line = check_flavours(f, zero);
	if (line)
		return line;

	struct core_flav *g = bpf_map_lookup_elem(&flav_base, &key);
	CHECK(g);
	return check_base_flavour(g, zero);
}
