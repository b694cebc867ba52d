/* core_target.h: the "target kernel" types for core_reloc.bpf.c.
 *
 * Included twice:
 *   - by core_target.bpf.c with TGT(name) = name: these are the types whose
 *     BTF core_reloc.bpfel.o is relocated against;
 *   - by core_reloc.bpf.c with TGT(name) = tgt_##name: a renamed copy with
 *     plain (non-CO-RE) layout, used to fill memory exactly as the target
 *     lays it out and to cross-check the expected literals with
 *     _Static_assert(offsetof(...)).
 *
 * Every type here has a local counterpart in core_reloc.bpf.c with the same
 * name (struct rl_thing is struct rl_thing___v2 there) and a different
 * layout. The byte offsets in the comments are those of this definition
 * (both byte orders; bit offsets of bitfields are from the start of the
 * struct in memory order).
 */
#ifndef BPFIR_TESTDATA_CORE_TARGET_H
#define BPFIR_TESTDATA_CORE_TARGET_H

#ifndef TGT
#error "define TGT(name) before including core_target.h"
#endif

/* Values moved (local: RL_RED 1, RL_GREEN 2, RL_BLUE 3), RL_GONE missing,
 * RL_NEW only here. Unsigned, 4 bytes: BTF_KIND_ENUM.
 */
enum TGT(rl_color) {
	TGT(RL_NEW) = 5,
	TGT(RL_BLUE) = 7,
	TGT(RL_RED) = 100,
	TGT(RL_GREEN) = 200,
};

/* Values moved (local: RL_BIG_A 1 << 32, RL_BIG_B 2 << 32), RL_BIG_GONE
 * missing. 8 bytes: BTF_KIND_ENUM64.
 */
enum TGT(rl_big) : unsigned long long {
	TGT(RL_BIG_B) = 2,
	TGT(RL_BIG_A) = 0xabcdef012345ULL,
	TGT(RL_BIG_NEW) = 0xffffffff00000000ULL,
};

/* A typedef chain ending in a 64-bit integer (local: one typedef of a
 * 32-bit unsigned int).
 */
typedef unsigned long long TGT(rl_base_t);
typedef TGT(rl_base_t) TGT(rl_mid_t);
typedef TGT(rl_mid_t) TGT(rl_cnt_t);

/* Members reordered and one added in front (local: { int x; int y; },
 * 8 bytes). 12 bytes: z 0, y 4, x 8.
 */
struct TGT(rl_pos) {
	int z;
	int y;
	int x;
};

/* Resized and reordered union (local: { __u32 w; char b[4]; }). 8 bytes. */
union TGT(rl_val) {
	unsigned long long q;
	char b[8];
	unsigned int w;
};

/* Only the target has this type's real definition (the program knows it
 * by a one-member stub). 24 bytes.
 */
struct TGT(rl_target_only) {
	long a;
	long b;
	int c;
};

/* The relocated struct. The program's local view is struct rl_thing___v2
 * (a flavour: essential name rl_thing). 136 bytes.
 */
struct TGT(rl_thing) {
	struct TGT(rl_thing) *next;		/*   0 (local: last) */
	union {					/*   8 anonymous union, moved first */
		long ul;
		int ui;				/*   8 */
		char uc;			/*   8 */
	};
	unsigned long arr[4];			/*  16 elements 8 bytes (local 4) */
	unsigned int level : 6;			/* bit 384 (local: 3rd bitfield) */
	int delta : 11;				/* bit 390 (local: 5 bits) */
	unsigned long long kind : 9;		/* bit 401 (local: 4 bits, u32) */
	unsigned short flags;			/*  52 (local: signed short) */
	struct TGT(rl_target_only) *owner;	/*  56 target only */
	struct TGT(rl_pos) pts[3];		/*  64 elements 12 bytes (local 8) */
	struct {				/* 100 anonymous struct, reordered */
		int pad;			/* 100 */
		int ay;				/* 104 */
		int ax;				/* 108 */
	};
	enum TGT(rl_color) color;		/* 112 */
	TGT(rl_cnt_t) cnt;			/* 120 8 bytes (local 4) */
	unsigned long long id;			/* 128 8 bytes (local __u32) */
	/* local "gone" is missing */
};

#endif
