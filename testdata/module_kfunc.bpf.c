/* Item 12 of issue 10 (first half): a kfunc and a typed ksym defined in a
 * kernel module, not in vmlinux.
 *
 * bpf_kfunc_common_test and bpf_testmod_ksym_percpu exist only in the BTF of
 * the selftests' module bpf_testmod. Where it is loaded, both resolve to the
 * module's BTF ids: the call gets the module BTF's index in fd_array as its
 * offset, the ld_imm64s the module BTF's fd in their second half. Where it is
 * not, both are weak and absent: the address tests read 0, so the call and
 * the per-CPU read are never reached. `check` returns 0 either way.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

/* Weak, so clang keeps the address tests (a strong symbol is never NULL). */
#define exists(sym) ((void *)(sym) != 0)

extern void bpf_kfunc_common_test(void) __ksym __weak;
extern const int bpf_testmod_ksym_percpu __ksym __weak;

SEC("syscall")
int check(void *ctx)
{
	if (exists(bpf_kfunc_common_test))
		bpf_kfunc_common_test();
	if (exists(&bpf_testmod_ksym_percpu)) {
		const int *v = bpf_this_cpu_ptr(&bpf_testmod_ksym_percpu);

		/* bpf_testmod defines it per CPU as 123. */
		CHECK(*v == 123);
	}
	return 0;
}

char _license[] SEC("license") = "GPL";
