#!/bin/sh
# Rebuilds fuzz/seeds/ from testdata/ and a few small objects of the corpus (../shared/corpus,
# when present). Run from the repository root: sh fuzz/make_seeds.sh
# The seeds are committed: the regression replay (tests/fuzz_regressions.rs) runs them on
# stable, and the fuzz targets start from them.
set -eu
corpus=../shared/corpus
out=fuzz/seeds
mkdir -p $out/elf $out/btf $out/btf_ext $out/co_re $out/link

# A few small corpus objects of different kinds (maps, spin locks, forward declarations,
# struct_ops, CO-RE, raw tracepoints, arena, bitfields); testdata/*.o are seeds as they are.
if [ -d $corpus ]; then
    for f in cilium/testdata/map_spin_lock-el.elf cilium/testdata/fwd_decl-eb.elf \
             cilium/testdata/raw_tracepoint-el.elf cilium/testdata/iproute2_map_compat-el.elf \
             cilium/testdata/arena-el.elf selftests/obj/btf__core_reloc_nesting.bpf.o \
             selftests/obj/test_pinning_devmap.bpf.o selftests/obj/verifier_mul.bpf.o \
             selftests/obj/bad_struct_ops2.bpf.o selftests/obj/btf_dump_test_case_bitfields.bpf.o \
             selftests/obj/test_subskeleton_lib2.bpf.o selftests/obj/fentry_recursive.bpf.o; do
        cp $corpus/$f $out/elf/corpus-$(echo $f | tr / _)
    done
fi

for obj in testdata/*.o $out/elf/*; do
    name=$(basename $obj)
    tmp=$(mktemp -d)
    if llvm-objcopy --dump-section .BTF=$tmp/btf $obj $tmp/o 2>/dev/null; then
        cp $tmp/btf $out/btf/$name.btf
        # co_re: one byte picking the local object, then the target BTF.
        case $name in *eb*) printf '\002' ;; *) printf '\000' ;; esac > $out/co_re/$name.btf
        cat $tmp/btf >> $out/co_re/$name.btf
    fi
    if llvm-objcopy --dump-section .BTF.ext=$tmp/ext $obj $tmp/o 2>/dev/null; then
        # btf_ext: one byte for the byte order (0 little, 1 big), then the section.
        case $name in *bpfeb*|*-eb*) printf '\001' ;; *) printf '\000' ;; esac > $out/btf_ext/$name.ext
        cat $tmp/ext >> $out/btf_ext/$name.ext
    fi
    rm -rf $tmp
done

# link: a little-endian u32 length, the first object, the second.
pair() {
    n=$(stat -c %s $1)
    printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((n & 255)) $((n >> 8 & 255)) $((n >> 16 & 255)) $((n >> 24 & 255)))" > $3
    cat $1 $2 >> $3
}
for e in el eb; do
    pair testdata/link_a.bpf$e.o testdata/link_b.bpf$e.o $out/link/link_ab.bpf$e
    pair testdata/calls.bpf$e.o testdata/globals.bpf$e.o $out/link/calls_globals.bpf$e
    pair testdata/maps.bpf$e.o testdata/core.bpf$e.o $out/link/maps_core.bpf$e
    pair testdata/struct_ops.bpf$e.o testdata/struct_ops_b.bpf$e.o $out/link/struct_ops_ab.bpf$e
done
