// SPDX-License-Identifier: GPL-2.0
/* core_reloc.bpf.c: CO-RE relocations checked against ANOTHER object's BTF.
 *
 * Relocate against core_target.bpfel.o (libbpf: btf_custom_path):
 *
 *   /tmp/libbpf_run core_reloc.bpfel.o core_target.bpfel.o   -> retval=0
 *   /tmp/libbpf_run core_reloc.bpfel.o core_reloc.bpfel.o    -> retval!=0
 *
 * The local types below (all preserve_access_index) share their names with
 * core_target.h's types but not their layout. Every relocated value is
 * compared with a literal taken from the TARGET layout (see the comment on
 * each check and the offsets in core_target.h); relocated against this
 * object's own BTF the first check already fails.
 *
 * Memory is checked too: a map value is filled as the target lays out
 * struct rl_thing (through tgt_rl_thing, a renamed copy of core_target.h's
 * types with plain layout), then read back through the local CO-RE type with
 * direct loads, BPF_CORE_READ and both bitfield readers.
 *
 * All 13 relocation kinds: FIELD_BYTE_OFFSET, FIELD_BYTE_SIZE, FIELD_EXISTS,
 * FIELD_SIGNED, FIELD_LSHIFT_U64, FIELD_RSHIFT_U64, TYPE_ID_LOCAL,
 * TYPE_ID_TARGET, TYPE_EXISTS, TYPE_SIZE, ENUMVAL_EXISTS, ENUMVAL_VALUE (ENUM
 * and ENUM64), TYPE_MATCHES.
 *
 * Self-checking socket filter: 0 on success, else the failing line. Needs
 * root (a map-value pointer is stored into the map; bpf_probe_read_kernel).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "check.h"

/* The target's types, renamed (struct tgt_rl_thing, tgt_RL_BLUE, ...). */
#define TGT(name) tgt_##name
#include "core_target.h"
#undef TGT

char LICENSE[] SEC("license") = "GPL";

/* libbpf 1.1's headers have no bpf_core_field_signed. */
#ifndef bpf_core_field_signed
#define bpf_core_field_signed(field...) \
	__builtin_preserve_field_info(___bpf_field_ref(field), BPF_FIELD_SIGNED)
#endif

#define LSHIFT(field...) \
	__builtin_preserve_field_info(___bpf_field_ref(field), BPF_FIELD_LSHIFT_U64)
#define RSHIFT(field...) \
	__builtin_preserve_field_info(___bpf_field_ref(field), BPF_FIELD_RSHIFT_U64)

/* Compare a relocated value with the expected literal, hidden from the
 * optimiser so the comparison really runs.
 */
#define EXPECT(val, lit)                                                       \
	do {                                                                   \
		__u64 got_ = (val);                                            \
		__u64 want_ = (lit);                                           \
		OPAQUE(want_);                                                 \
		CHECK(got_ == want_);                                          \
	} while (0)

/* Cross-check a literal offset with the renamed copy of the target. */
#define TGT_OFF(member, off)                                                   \
	_Static_assert(__builtin_offsetof(struct tgt_rl_thing, member) == (off), \
		       "core_target.h layout changed: " #member)

TGT_OFF(next, 0);
TGT_OFF(ui, 8);
TGT_OFF(uc, 8);
TGT_OFF(arr, 16);
TGT_OFF(arr[2], 32);
TGT_OFF(flags, 52);
TGT_OFF(pts, 64);
TGT_OFF(pts[1].x, 84);
TGT_OFF(pts[1].y, 80);
TGT_OFF(ay, 104);
TGT_OFF(ax, 108);
TGT_OFF(color, 112);
TGT_OFF(cnt, 120);
TGT_OFF(id, 128);
_Static_assert(sizeof(struct tgt_rl_thing) == 136, "rl_thing size");
_Static_assert(sizeof(struct tgt_rl_pos) == 12, "rl_pos size");
_Static_assert(sizeof(struct tgt_rl_target_only) == 24, "rl_target_only size");

/* ---- local types: the program's view (CO-RE) ---- */
#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

enum rl_color { RL_RED = 1, RL_GREEN = 2, RL_BLUE = 3, RL_GONE = 4 };

enum rl_big : unsigned long long {
	RL_BIG_A = 0x100000000ULL,
	RL_BIG_B = 0x200000000ULL,
	RL_BIG_GONE = 0x300000000ULL,
};

typedef unsigned int rl_cnt_t;

struct rl_pos {
	int x;
	int y;
};

union rl_val {
	__u32 w;
	char b[4];
};

/* A stub of a type only the target really defines. */
struct rl_target_only {
	long a;
};

/* Not in the target at all. */
struct rl_local_only {
	int v;
};

/* Flavour: matches the target's struct rl_thing. */
struct rl_thing___v2 {
	__u32 id;
	short flags;
	unsigned int kind : 4;
	int delta : 5;
	unsigned int level : 6;
	struct {
		int ax;
		int ay;
	};
	union {
		int ui;
		char uc;
	};
	unsigned int arr[4];
	struct rl_pos pts[2];
	long gone;
	enum rl_color color;
	rl_cnt_t cnt;
	struct rl_thing___v2 *next;
};

#pragma clang attribute pop

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tgt_rl_thing);
} thing_data SEC(".maps");

/* Relocated constants: offsets, sizes, existence, signedness, shifts. */
static __always_inline int check_fields(struct rl_thing___v2 *t)
{
	/* FIELD_BYTE_OFFSET */
	EXPECT(bpf_core_field_offset(t->id), 128);	/* moved last, u64 */
	EXPECT(bpf_core_field_offset(t->flags), 52);	/* after bitfields */
	EXPECT(bpf_core_field_offset(t->next), 0);	/* moved first */
	EXPECT(bpf_core_field_offset(t->ui), 8);	/* anon union, moved */
	EXPECT(bpf_core_field_offset(t->uc), 8);	/* same union */
	EXPECT(bpf_core_field_offset(t->ax), 108);	/* anon struct at 100, 3rd */
	EXPECT(bpf_core_field_offset(t->ay), 104);	/* anon struct at 100, 2nd */
	EXPECT(bpf_core_field_offset(t->arr[2]), 32);	/* 16 + 2 * 8 */
	EXPECT(bpf_core_field_offset(t->pts[1].x), 84);	/* 64 + 12 + 8 */
	EXPECT(bpf_core_field_offset(t->pts[1].y), 80);	/* 64 + 12 + 4 */
	EXPECT(bpf_core_field_offset(t->color), 112);
	EXPECT(bpf_core_field_offset(t->cnt), 120);	/* 8-aligned u64 */
	EXPECT(bpf_core_field_offset(union rl_val, w), 0);

	/* FIELD_BYTE_SIZE */
	EXPECT(bpf_core_field_size(t->id), 8);		/* __u32 -> u64 */
	EXPECT(bpf_core_field_size(t->cnt), 8);		/* typedef chain to u64 */
	EXPECT(bpf_core_field_size(t->flags), 2);
	EXPECT(bpf_core_field_size(t->arr), 32);	/* unsigned long[4] */
	EXPECT(bpf_core_field_size(t->arr[1]), 8);	/* element grew */
	EXPECT(bpf_core_field_size(t->pts), 36);	/* rl_pos[3], 12 each */
	EXPECT(bpf_core_field_size(t->pts[0]), 12);	/* rl_pos grew */
	EXPECT(bpf_core_field_size(t->uc), 1);
	EXPECT(bpf_core_field_size(union rl_val, b), 8);	/* char[8] */

	/* FIELD_EXISTS: "gone" is missing in the target. */
	EXPECT(bpf_core_field_exists(t->gone), 0);
	EXPECT(bpf_core_field_exists(t->uc), 1);
	EXPECT(bpf_core_field_exists(t->pts[1].y), 1);
	EXPECT(bpf_core_field_exists(struct rl_pos, x), 1);

	/* FIELD_SIGNED */
	EXPECT(bpf_core_field_signed(t->flags), 0);	/* short -> unsigned short */
	EXPECT(bpf_core_field_signed(t->delta), 1);	/* int bitfield */
	EXPECT(bpf_core_field_signed(t->kind), 0);	/* unsigned long long */
	EXPECT(bpf_core_field_signed(t->ui), 1);

	/* Bitfields, target layout: level bits 384..389 (unsigned int),
	 * delta 390..400 (int), kind 401..409 (unsigned long long). libbpf
	 * loads the bitfield's declared type size at an offset aligned to
	 * it: level and delta 4 bytes at 48, kind 8 bytes at 48.
	 */
	EXPECT(bpf_core_field_offset(t->level), 48);
	EXPECT(bpf_core_field_offset(t->delta), 48);
	EXPECT(bpf_core_field_offset(t->kind), 48);
	EXPECT(bpf_core_field_size(t->level), 4);
	EXPECT(bpf_core_field_size(t->delta), 4);
	EXPECT(bpf_core_field_size(t->kind), 8);	/* local: 4 (unsigned int) */
	/* RSHIFT_U64 = 64 - bit size */
	EXPECT(RSHIFT(t->level), 58);
	EXPECT(RSHIFT(t->delta), 53);			/* 11 bits (local 5) */
	EXPECT(RSHIFT(t->kind), 55);			/* 9 bits (local 4) */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* LSHIFT_U64 = 64 - (bit_off + bit_size - byte_off * 8) */
	EXPECT(LSHIFT(t->level), 58);			/* 64 - (384 + 6 - 384) */
	EXPECT(LSHIFT(t->delta), 47);			/* 64 - (390 + 11 - 384) */
	EXPECT(LSHIFT(t->kind), 38);			/* 64 - (401 + 9 - 384) */
#else
	/* LSHIFT_U64 = (8 - byte_size) * 8 + bit_off - byte_off * 8 */
	EXPECT(LSHIFT(t->level), 32);			/* 32 + 0 */
	EXPECT(LSHIFT(t->delta), 38);			/* 32 + 6 */
	EXPECT(LSHIFT(t->kind), 17);			/* 0 + 17 */
#endif
	return 0;
}

/* Type-based and enum relocations. */
static __always_inline int check_types(void)
{
	/* TYPE_ID_LOCAL / TYPE_ID_TARGET: ids are loader-specific; only
	 * "found" (non-zero) versus "not found" (zero) is checked.
	 */
	__u32 id = bpf_core_type_id_local(struct rl_thing___v2);

	OPAQUE(id);
	CHECK(id != 0);
	id = bpf_core_type_id_kernel(struct rl_thing___v2);
	OPAQUE(id);
	CHECK(id != 0);					/* found as rl_thing */
	EXPECT(bpf_core_type_id_kernel(struct rl_local_only), 0);	/* absent */

	/* TYPE_EXISTS */
	EXPECT(bpf_core_type_exists(struct rl_thing___v2), 1);	/* flavour */
	EXPECT(bpf_core_type_exists(struct rl_target_only), 1);
	EXPECT(bpf_core_type_exists(rl_cnt_t), 1);
	EXPECT(bpf_core_type_exists(struct rl_local_only), 0);

	/* TYPE_SIZE */
	EXPECT(bpf_core_type_size(struct rl_thing___v2), 136);
	EXPECT(bpf_core_type_size(struct rl_pos), 12);		/* z, y, x */
	EXPECT(bpf_core_type_size(union rl_val), 8);
	EXPECT(bpf_core_type_size(rl_cnt_t), 8);		/* 3 typedefs to u64 */
	EXPECT(bpf_core_type_size(struct rl_target_only), 24);	/* stub is 8 */
	EXPECT(bpf_core_type_size(enum rl_big), 8);
	EXPECT(bpf_core_type_size(struct rl_local_only), 0);	/* absent */

	/* TYPE_MATCHES: every local member must exist by name with a
	 * matching type (int size and signedness, array length, enum names).
	 */
	EXPECT(bpf_core_type_matches(struct rl_pos), 1);	/* x, y reordered */
	EXPECT(bpf_core_type_matches(struct rl_target_only), 1);	/* a: long */
	EXPECT(bpf_core_type_matches(struct rl_thing___v2), 0);	/* id u32/u64 */
	EXPECT(bpf_core_type_matches(enum rl_color), 0);	/* RL_GONE missing */
	EXPECT(bpf_core_type_matches(union rl_val), 0);		/* b[4] vs b[8] */
	EXPECT(bpf_core_type_matches(rl_cnt_t), 0);		/* 4 vs 8 bytes */
	EXPECT(bpf_core_type_matches(struct rl_local_only), 0);	/* absent */

	/* ENUMVAL_EXISTS / ENUMVAL_VALUE, ENUM (local 1, 2, 3, 4) */
	EXPECT(bpf_core_enum_value_exists(enum rl_color, RL_RED), 1);
	EXPECT(bpf_core_enum_value_exists(enum rl_color, RL_GONE), 0);
	EXPECT(bpf_core_enum_value(enum rl_color, RL_RED), 100);
	EXPECT(bpf_core_enum_value(enum rl_color, RL_GREEN), 200);
	EXPECT(bpf_core_enum_value(enum rl_color, RL_BLUE), 7);
	if (bpf_core_enum_value_exists(enum rl_color, RL_GONE))
		/* Poisoned by the loader; dead code after relocation. */
		return bpf_core_enum_value(enum rl_color, RL_GONE);

	/* ENUM64 (local 1 << 32, 2 << 32, 3 << 32) */
	EXPECT(bpf_core_enum_value_exists(enum rl_big, RL_BIG_A), 1);
	EXPECT(bpf_core_enum_value_exists(enum rl_big, RL_BIG_GONE), 0);
	EXPECT(bpf_core_enum_value(enum rl_big, RL_BIG_A), 0xabcdef012345ULL);
	EXPECT(bpf_core_enum_value(enum rl_big, RL_BIG_B), 2);
	if (bpf_core_enum_value_exists(enum rl_big, RL_BIG_GONE))
		return bpf_core_enum_value(enum rl_big, RL_BIG_GONE) >> 32;
	return 0;
}

/* Fill the map value as the target's struct rl_thing ... */
static __always_inline void fill(struct tgt_rl_thing *m, __u32 zero)
{
	m->next = m;
	m->ul = 0;
	m->ui = 0x41424344 + zero;
	m->arr[1] = 0x11111111;
	m->arr[2] = 0xa2a2a2a2 + zero;
	m->arr[3] = 0x33333333;
	m->level = 45;
	m->delta = -300;
	m->kind = 0x1a5;
	m->flags = 0x1234;
	m->pts[0].x = 1;
	m->pts[1].z = 99;
	m->pts[1].y = 88;
	m->pts[1].x = -77 - (int)zero;
	m->pad = 0x5a5a;
	m->ay = 6061;
	m->ax = -5051;
	m->color = tgt_RL_BLUE;
	m->cnt = 0x7654321;
	m->id = 0x89abcdef;
	asm volatile("" ::: "memory");
}

/* ... and read it back through the local type. */
static __always_inline int check_memory(struct rl_thing___v2 *t)
{
	/* Direct loads; id, cnt and arr[] are widened by the loader
	 * (unsigned 4-byte loads become 8-byte loads).
	 */
	CHECK(t->id == 0x89abcdef);
	CHECK(t->flags == 0x1234);
	CHECK(t->ui == 0x41424344);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	CHECK(t->uc == 0x44);
#else
	CHECK(t->uc == 0x41);
#endif
	CHECK(t->arr[2] == 0xa2a2a2a2);
	CHECK(t->arr[3] == 0x33333333);
	CHECK(t->pts[1].x == -77);
	CHECK(t->pts[1].y == 88);
	CHECK(t->ax == -5051);
	CHECK(t->ay == 6061);
	CHECK(t->cnt == 0x7654321);
	/* The target's RL_BLUE is 7; the local literal is 3. */
	CHECK(t->color == bpf_core_enum_value(enum rl_color, RL_BLUE));
	CHECK(t->color == 7);

	/* A missing field is read only behind its existence check. */
	if (bpf_core_field_exists(t->gone))
		CHECK(t->gone == 0x600d);

	/* bpf_probe_read_kernel at relocated offsets (BPF_CORE_READ). */
	CHECK(BPF_CORE_READ(t, pts[1].y) == 88);
	CHECK(BPF_CORE_READ(t, ay) == 6061);
	CHECK(BPF_CORE_READ(t, flags) == 0x1234);
	/* Pointer chase through the target's "next" (offset 0). */
	CHECK(BPF_CORE_READ(t, next, pts[1].x) == -77);
	CHECK(BPF_CORE_READ(t, next, next, ax) == -5051);
	/* The whole widened field, sized by the relocation. */
	__u64 wide = 0;
	CHECK(bpf_core_read(&wide, bpf_core_field_size(t->id), &t->id) == 0);
	CHECK(wide == 0x89abcdef);

	/* Bitfields: values that do not fit the local widths. */
	CHECK(BPF_CORE_READ_BITFIELD_PROBED(t, level) == 45);
	CHECK((long long)BPF_CORE_READ_BITFIELD_PROBED(t, delta) == -300);
	CHECK(BPF_CORE_READ_BITFIELD_PROBED(t, kind) == 0x1a5);
	CHECK(BPF_CORE_READ_BITFIELD(t, kind) == 0x1a5);
	CHECK((long long)BPF_CORE_READ_BITFIELD(t, delta) == -300);
	return 0;
}

SEC("socket")
int check_core_reloc(struct __sk_buff *skb)
{
	__u32 zero = ZERO(skb);
	__u32 key = zero;
	int line;

	line = check_fields(0);
	if (line)
		return line;
	line = check_types();
	if (line)
		return line;

	struct tgt_rl_thing *m = bpf_map_lookup_elem(&thing_data, &key);
	CHECK(m);
	fill(m, zero);
	return check_memory((struct rl_thing___v2 *)m);
}
