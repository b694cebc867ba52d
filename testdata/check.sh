#!/bin/sh
# Check every test object with the reference loader (libbpf) and bpftool.
# Run as root on a kernel with BPF: ./check.sh   (exit status 0 = all good)
#
#   - self-checking socket filters must report retval=0 err=0;
#   - core.bpfel.o is relocated against its own BTF;
#   - core_reloc.bpfel.o is relocated against core_target.bpfel.o's BTF and
#     must pass; relocated against its own BTF it must load and FAIL a check
#     (its checks expect the target's layout);
#   - maps.bpfel.o has a legacy SEC("maps") map that libbpf >= 1.0 refuses,
#     so the same source is rebuilt with -DMAPS_NO_LEGACY (the legacy map
#     becomes a BTF map of the same shape) and that variant is run;
#   - tracing.bpfel.o must load with bpftool prog loadall;
#   - trampoline.bpfel.o is expected to fail with EPERM on these machines.
set -u
cd "$(dirname "$0")"
here=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# A libbpf-based runner: LIBBPF_RUN, else built from LIBBPF_RUN_SRC (a C file that loads an
# object with libbpf and runs a program with BPF_PROG_TEST_RUN).
run=${LIBBPF_RUN:-/tmp/libbpf_run}
if [ ! -x "$run" ]; then
	if [ -z "${LIBBPF_RUN_SRC:-}" ]; then
		echo "check.sh: set LIBBPF_RUN to a libbpf runner, or LIBBPF_RUN_SRC to its C source" >&2
		exit 2
	fi
	gcc -O2 -o "$tmp/libbpf_run" "$LIBBPF_RUN_SRC" -lbpf -lelf -lz || exit 2
	run=$tmp/libbpf_run
fi
# Pinned maps (maps.bpf.c) need a BPF filesystem.
if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != "bpf_fs" ]; then
	mount -t bpf bpf /sys/fs/bpf || exit 2
fi

expect_pass() { # NAME OBJ [TARGET]
	out=$("$run" "$@" 2>&1)
	if [ $? -eq 0 ]; then
		echo "ok   $1"
	else
		echo "FAIL $1"
		echo "$out" | tail -20
		fail=1
	fi
	echo "$out" | grep retval= | sed 's/^/       /'
}

expect_pass globals.bpfel.o
expect_pass calls.bpfel.o
expect_pass isa_v4.bpfel.o
expect_pass core.bpfel.o core.bpfel.o
expect_pass core_reloc.bpfel.o core_target.bpfel.o

out=$("$run" core_reloc.bpfel.o core_reloc.bpfel.o 2>&1)
if echo "$out" | grep -q 'retval=[1-9][0-9]* err=0'; then
	echo "ok   core_reloc.bpfel.o against its own BTF fails a check, as expected"
else
	echo "FAIL core_reloc.bpfel.o against its own BTF (expected a failed check)"
	fail=1
fi
echo "$out" | grep retval= | sed 's/^/       /'

multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
clang-19 -g -O2 -target bpfel -mcpu=v3 -I/usr/include/"$multiarch" \
	-DMAPS_NO_LEGACY -c maps.bpf.c -o "$tmp/maps_no_legacy.o" || exit 2
rm -f /sys/fs/bpf/pinned_hash
expect_pass "$tmp/maps_no_legacy.o"
rm -f /sys/fs/bpf/pinned_hash

pin=/sys/fs/bpf/bpfir_testdata_$$
if bpftool prog loadall tracing.bpfel.o "$pin" >"$tmp/out" 2>&1; then
	echo "ok   tracing.bpfel.o (bpftool loadall: $(ls "$pin" | tr '\n' ' '))"
else
	echo "FAIL tracing.bpfel.o (bpftool loadall)"
	cat "$tmp/out"
	fail=1
fi
rm -rf "$pin"

"$run" trampoline.bpfel.o >"$tmp/out" 2>&1
if grep -q "Operation not permitted" "$tmp/out"; then
	echo "ok   trampoline.bpfel.o (refused with EPERM, as expected here)"
elif grep -q retval= "$tmp/out"; then
	echo "note trampoline.bpfel.o loaded: this kernel allows trampolines"
else
	echo "FAIL trampoline.bpfel.o"
	cat "$tmp/out"
	fail=1
fi
exit $fail
