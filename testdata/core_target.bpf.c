// SPDX-License-Identifier: GPL-2.0
/* core_target.bpf.c: a stand-in "target kernel" BTF for core_reloc.bpf.c.
 *
 * This object only defines types (core_target.h with TGT(name) = name) and a
 * trivial program, so that clang writes a .BTF section holding them. Relocate
 * core_reloc against it:
 *
 *   /tmp/libbpf_run core_reloc.bpfel.o core_target.bpfel.o
 *
 * The types have the same names as core_reloc's local types but a different
 * layout: members reordered, an integer widened (u32 -> u64), bitfields moved
 * and resized, a member missing, nested anonymous struct/union moved, array
 * elements of another size, ENUM and ENUM64 values moved with an enumerator
 * missing, a typedef chain, and a type only the target defines. The local
 * struct is the flavour rl_thing___v2; here it is plain rl_thing.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define TGT(name) name
#include "core_target.h"

char LICENSE[] SEC("license") = "GPL";

/* Keeps every type in BTF: clang describes a global's type. The members are
 * values, not pointers: clang's BTF describes a struct reached only through
 * a pointer member as a FWD, which no relocation can match.
 */
struct rl_target_types {
	struct rl_thing thing;
	struct rl_pos pos;
	union rl_val val;
	struct rl_target_only only;
	enum rl_color color;
	enum rl_big big;
	rl_cnt_t cnt;
};

__attribute__((used)) struct rl_target_types rl_types;

SEC("socket")
int core_target(struct __sk_buff *skb)
{
	return 0;
}
