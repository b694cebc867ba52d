#!/usr/bin/env bash
# Regenerates the bpftool reference dumps that tests/btf.rs compares `Btf::display_type`
# with. Needs bpftool (Debian package `bpftool`). Run from anywhere.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
corpus="$root/../shared/corpus/cilium"
for o in "$root"/testdata/*.o; do
  bpftool btf dump file "$o" > "$here/$(basename "$o").txt"
done
for o in btf/testdata/relocs-el.elf btf/testdata/relocs-eb.elf btf/testdata/tags-el.elf \
         testdata/loader-clang-22-el.elf testdata/loader-clang-22-eb.elf testdata/kfunc-el.elf \
         testdata/struct_ops-el.elf testdata/variables-el.elf; do
  bpftool btf dump file "$corpus/$o" > "$here/corpus-$(basename "$o").txt"
done
