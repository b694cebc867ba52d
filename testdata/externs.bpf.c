/* Item 7 of issue 10: externs resolved as libbpf resolves them.
 *
 * `schedule` is an untyped ksym (`const void`) whose kernel symbol is a
 * function: its address comes from /proc/kallsyms. `bpf_rcu_read_lock___flav`
 * is a flavour of the kfunc bpf_rcu_read_lock (the `___suffix` dropped, the
 * prototype compatible); `bpf_rcu_read_lock___wrong` has another prototype,
 * so it is absent (weak: its address reads 0). `check` returns 0.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "check.h"

/* Weak, so clang keeps the address tests (a strong symbol is never NULL). */
#define exists(sym) ((void *)(sym) != 0)

extern const void schedule __ksym __weak;
extern void bpf_rcu_read_lock___flav(void) __ksym __weak;
extern void bpf_rcu_read_unlock(void) __ksym;
extern int bpf_rcu_read_lock___wrong(int x) __ksym __weak;

SEC("syscall")
int check(void *ctx)
{
	CHECK(exists(&schedule));
	CHECK(exists(bpf_rcu_read_lock___flav));
	CHECK(!exists(bpf_rcu_read_lock___wrong));
	bpf_rcu_read_lock___flav();
	bpf_rcu_read_unlock();
	return 0;
}

char _license[] SEC("license") = "GPL";
