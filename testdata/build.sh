#!/bin/sh
# Rebuild every test object from its C source, for both byte orders.
#
#   NAME.bpf.c -> NAME.bpfel.o (-target bpfel) and NAME.bpfeb.o (-target bpfeb)
#
# Deterministic: fixed flags, sorted inputs, and debug paths made relative to
# this directory, so the same clang and headers give byte-identical objects.
# Needs clang-19 and libbpf-dev (<bpf/bpf_helpers.h>, <bpf/bpf_core_read.h>).
# Usage: ./build.sh [NAME...]   (default: every *.bpf.c here)
# core_target.bpf.c and core_reloc.bpf.c both include core_target.h:
# rebuild both after changing it (./build.sh core_target core_reloc).
set -eu

CLANG=${CLANG:-clang-19}
cd "$(dirname "$0")"
here=$(pwd)

# <linux/bpf.h> includes <asm/types.h>, which Debian keeps in the multiarch
# directory; -target bpf does not search it by default.
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)

# Per-program CPU: isa_v4 needs the v4 instruction set; the rest use v3
# (jmp32, alu32, atomics), what current libbpf-based tools build with.
mcpu_for() {
	case "$1" in
	isa_v4) echo v4 ;;
	*) echo v3 ;;
	esac
}

if [ "$#" -gt 0 ]; then
	names="$*"
else
	names=$(ls *.bpf.c | sed 's/\.bpf\.c$//' | LC_ALL=C sort)
fi

for name in $names; do
	for target in bpfel bpfeb; do
		out="$name.$target.o"
		"$CLANG" -g -O2 -target "$target" -mcpu="$(mcpu_for "$name")" \
			-I/usr/include/"$multiarch" \
			-ffile-prefix-map="$here"=. -fdebug-compilation-dir=. \
			-Wall -Werror \
			-c "$name.bpf.c" -o "$out"
		echo "built $out"
	done
done
