#!/bin/sh
# Regenerates the golden disassembly listings in this directory.
#
# For each object below, runs llvm-objdump-19 -d --no-show-raw-insn and normalizes the output:
# drops the file-format header, blank lines and function label lines, turns each
# "Disassembly of section NAME:" into "section NAME", and strips the "<label>" suffix of jump
# lines. The first line of each golden file names its object ("corpus: PATH" relative to the
# shared corpus, or "local: FILE" in this directory). The test reads only the results, so it
# does not need llvm-objdump.
#
# Also reassembles allinsns-el.o / allinsns-eb.o from allinsns.s with clang-19 -mcpu=v4
# (allinsns-el-extra.s adds raw little-endian encodings the assembler has no syntax for).
#
# Usage: tests/golden/disasm/regen.sh  (from anywhere; needs clang-19 and llvm-objdump-19)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus="$here/../../../../shared/corpus"
objdump=${LLVM_OBJDUMP:-llvm-objdump-19}
clang=${CLANG:-clang-19}

cat "$here/allinsns.s" "$here/allinsns-el-extra.s" > "$here/.allinsns-el.s"
"$clang" -target bpfel -mcpu=v4 -c "$here/.allinsns-el.s" -o "$here/allinsns-el.o"
"$clang" -target bpfeb -mcpu=v4 -c "$here/allinsns.s" -o "$here/allinsns-eb.o"
rm -f "$here/.allinsns-el.s"

normalize() {
    # $1: object path, $2: header line, $3: output file
    "$objdump" -d --no-show-raw-insn "$1" | awk -v header="$2" '
        BEGIN { print header }
        /^$/ { next }
        /file format/ { next }
        /^Disassembly of section / { sub(/^Disassembly of section /, ""); sub(/:$/, ""); print "section " $0; next }
        /^[0-9a-f]+ <.*>:$/ { next }
        /^[ \t]*\.\.\.$/ { print "unexpected zero-fill elision in " FILENAME > "/dev/stderr"; exit 1 }
        /<unknown>/ { print "llvm-objdump could not decode: " $0 > "/dev/stderr"; exit 1 }
        { sub(/ <[^<>]*>$/, ""); print }
    ' > "$3"
}

for obj in \
    cilium/examples/xdp/bpf_bpfel.o \
    cilium/examples/xdp/bpf_bpfeb.o \
    cilium/examples/tcprtt_sockops/bpf_bpfel.o \
    cilium/examples/tcprtt_sockops/bpf_bpfeb.o \
    cilium/testdata/loader-clang-22-el.elf \
    cilium/testdata/loader-clang-22-eb.elf \
    cilium/btf/testdata/relocs_read-el.elf \
    cilium/btf/testdata/relocs_read-eb.elf
do
    out=$(echo "$obj" | sed 's|^cilium/||; s|/|_|g').txt
    normalize "$corpus/$obj" "corpus: $obj" "$here/$out"
done
for obj in allinsns-el.o allinsns-eb.o; do
    normalize "$here/$obj" "local: $obj" "$here/$obj.txt"
done
