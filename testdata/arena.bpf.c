/* Item 3 of issue 10: arena globals. `counter` and `zeroed` live in
 * `.addr_space.1`, which is the start of the object's arena map, not a map of
 * its own: the loader binds them to the arena, maps the arena into user space
 * (which sets its user address, needed by the verifier) and copies the initial
 * values there. `check` (a syscall program, run with BPF_PROG_TEST_RUN) sees
 * the initial value, then leaves counter == 8 and zeroed == 3 for the test to
 * read through the mapping.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

#define __arena __attribute__((address_space(1)))
/* Older <linux/bpf.h> lack it; the kernel number is fixed. */
#define MAP_TYPE_ARENA 33

struct {
	__uint(type, MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2); /* pages */
} arena SEC(".maps");

int __arena counter = 7;
int __arena zeroed;

SEC("syscall")
int check(void *ctx)
{
	CHECK(counter == 7);
	CHECK(zeroed == 0);
	counter++;
	zeroed = 3;
	return 0;
}

char _license[] SEC("license") = "GPL";
