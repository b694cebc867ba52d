//! Reading real objects into a Module: every object of testdata and the corpus reads, or, for
//! the objects that are invalid on purpose, fails with a precise error; counts match what
//! llvm-objdump and the object's own `.BTF.ext` say; functions after alignment padding carry
//! their own BTF and lines; references are symbolic; malformed objects give errors naming
//! section and offset, never a panic.

mod common;
#[cfg(all(feature = "kernel", target_os = "linux"))]
#[path = "common/kernel.rs"]
mod kernel;

use bpfir::btf::Kind;
use bpfir::btf_ext::BtfExt;
use bpfir::elf::{ElfObject, SymbolKind};
use bpfir::insn::Insn;
use bpfir::ir::{FuncId, Module, Ref};
use bpfir::read::ReadError;

/// Corpus objects that are invalid on purpose, and what the reader must say about them.
const INVALID: &[(&str, &str)] = &[
    ("invalid_map-el.elf", "map invalid_map in section maps"),
    ("invalid_map-eb.elf", "map invalid_map in section maps"),
    ("invalid_map_static-el.elf", "static"),
    ("invalid_map_static-eb.elf", "static"),
    (
        "invalid_btf_map_init-el.elf",
        "map hash_map in section .maps",
    ),
    (
        "invalid_btf_map_init-eb.elf",
        "map hash_map in section .maps",
    ),
];

fn read_testdata(name: &str) -> Module {
    let data = std::fs::read(common::testdata_dir().join(name)).unwrap();
    Module::read(&data).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_object_reads_or_fails_precisely() {
    let (mut ok, mut refused) = (0, 0);
    for (path, data) in common::all_objects() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let expected = INVALID.iter().find(|(n, _)| *n == name);
        match (Module::read(&data), expected) {
            (Ok(m), None) => {
                ok += 1;
                check_invariants(&name, &m);
            }
            (Err(e), Some((_, needle))) => {
                refused += 1;
                assert!(e.to_string().contains(needle), "{name}: {e}");
            }
            (Ok(_), Some(_)) => panic!("{name}: invalid object was read"),
            (Err(e), None) => panic!("{name}: {e}"),
        }
    }
    eprintln!("{ok} objects read, {refused} invalid ones refused");
    assert!(ok >= 14);
}

/// Every attached instruction is where its function says, jumps stay in their function,
/// and every reference names an existing entity.
fn check_invariants(name: &str, m: &Module) {
    for (f, func) in m.functions() {
        let body: Vec<_> = m.func_insns(f).collect();
        assert_eq!(body.len(), func.n_insns(), "{name} {}", func.name);
        for &id in &body {
            assert_eq!(m.func_of(id), Some(f));
            let insn = m.insn(id);
            match m.reference(id) {
                Some(Ref::Jump(t)) => {
                    assert!(insn.is_jump(), "{name}: {insn} has a jump target");
                    assert_eq!(m.func_of(t), Some(f), "{name}: jump leaves {}", func.name);
                }
                Some(Ref::Call(_)) => assert!(matches!(insn, Insn::Call { .. })),
                Some(Ref::FuncAddr(_) | Ref::Map(_) | Ref::Data { .. }) => {
                    assert!(matches!(insn, Insn::LdImm64 { .. }), "{name}: {insn}")
                }
                _ => {}
            }
            if insn.is_jump() {
                assert!(
                    matches!(m.reference(id), Some(Ref::Jump(_))),
                    "{name} {}: jump {insn} without target",
                    func.name
                );
            }
        }
    }
}

/// Counts from the object itself: function symbols (as `llvm-objdump -t` lists them),
/// `.BTF.ext` records, map symbols.
fn object_counts(data: &[u8]) -> (usize, usize, usize, usize) {
    let elf = ElfObject::parse(data).unwrap();
    let funcs = elf
        .symbols()
        .iter()
        .filter(|s| s.kind == SymbolKind::Func && s.section.is_some())
        .count();
    let ext = elf
        .section(".BTF.ext")
        .map(|s| BtfExt::parse(s.data, elf.endian()).unwrap());
    let (funcs_info, lines, relos) = ext.map_or((0, 0, 0), |e| {
        (
            e.func_infos().count(),
            e.line_infos().count(),
            e.core_relos().count(),
        )
    });
    assert_eq!(funcs_info, funcs, "one func_info per function symbol");
    (funcs, lines, relos, funcs_info)
}

#[test]
fn counts_match_the_object() {
    // (object, programs, functions, maps) as llvm-objdump -t and the C sources show them.
    let expected = [
        ("calls.bpfel.o", 2, 9, 1),
        ("calls.bpfeb.o", 2, 9, 1),
        ("core.bpfel.o", 1, 1, 3),
        ("maps.bpfel.o", 1, 1, 8),
        ("globals.bpfel.o", 1, 2, 0),
        ("tracing.bpfel.o", 5, 5, 2),
    ];
    for (name, programs, funcs, maps) in expected {
        let data = std::fs::read(common::testdata_dir().join(name)).unwrap();
        let m = Module::read(&data).unwrap();
        let (sym_funcs, lines, relos, _) = object_counts(&data);
        assert_eq!(m.programs().count(), programs, "{name} programs");
        assert_eq!(m.functions().count(), funcs, "{name} functions");
        assert_eq!(sym_funcs, funcs, "{name} function symbols");
        assert_eq!(m.maps().count(), maps, "{name} maps");
        // Every line_info and core_relo record landed on an instruction.
        let with_line = m
            .functions()
            .flat_map(|(f, _)| m.func_insns(f))
            .filter(|&i| m.line_of(i).is_some())
            .count();
        let with_core = m
            .functions()
            .flat_map(|(f, _)| m.func_insns(f))
            .filter(|&i| m.core_of(i).is_some())
            .count();
        assert_eq!(with_line, lines, "{name} line records");
        assert_eq!(with_core, relos, "{name} CO-RE records");
        assert!(m.functions().all(|(_, f)| f.btf_func.is_some()), "{name}");
    }
    let core = read_testdata("core.bpfel.o");
    assert_eq!(core.core_relos().count(), 93);
}

fn func(m: &Module, name: &str) -> FuncId {
    m.function_by_name(name)
        .unwrap_or_else(|| panic!("no function {name}"))
}

#[test]
fn objects_without_btf_still_read() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    for name in ["loader_nobtf-el.elf", "loader_nobtf-eb.elf"] {
        let data = std::fs::read(dir.join("cilium/testdata").join(name)).unwrap();
        let m = Module::read(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(m.btf.is_none(), "{name}");
        assert_eq!(m.maps().count(), 3, "{name}: legacy maps");
        assert!(m.programs().count() > 0, "{name}");
        assert!(m.functions().all(|(_, f)| f.btf_func.is_none()));
        check_invariants(name, &m);
    }
}

#[test]
fn functions_after_alignment_padding_carry_their_own_btf_and_lines() {
    for name in ["calls.bpfel.o", "calls.bpfeb.o"] {
        let m = read_testdata(name);
        let btf = m.btf.as_ref().unwrap();
        for (_, f) in m.functions() {
            let ty = f.btf_func.unwrap();
            assert_eq!(
                btf.name(ty).unwrap(),
                f.name,
                "{name}: func_info on the wrong function"
            );
        }
        // aligned_sum sits after padding in .text: its first line is its own source line.
        let aligned = func(&m, "aligned_sum");
        let first = m.function(aligned).first_insn().unwrap();
        let line = m.line(m.line_of(first).expect("line at function start"));
        let text = btf.str(line.text).unwrap();
        assert!(
            text.contains("aligned_sum"),
            "{name}: first line is {text:?}"
        );
        assert_eq!(
            btf.ty(m.function(aligned).btf_func.unwrap()).kind.kind(),
            Kind::Func
        );
    }
}

#[test]
fn references_are_symbolic() {
    let m = read_testdata("calls.bpfel.o");
    let callees = |f: FuncId| -> Vec<String> {
        m.func_insns(f)
            .filter_map(|i| match m.reference(i) {
                Some(Ref::Call(c)) | Some(Ref::FuncAddr(c)) => Some(m.function(c).name.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(callees(func(&m, "chain_a")), ["chain_b"]);
    assert_eq!(callees(func(&m, "chain_b")), ["chain_c"]);
    let maps: Vec<String> = m
        .functions()
        .flat_map(|(f, _)| m.func_insns(f))
        .filter_map(|i| match m.reference(i) {
            Some(Ref::Map(map)) => Some(m.map(map).name.clone()),
            _ => None,
        })
        .collect();
    assert!(maps.iter().any(|n| n == "loop_states"), "{maps:?}");
    // The bpf_loop callback is referenced by address.
    assert!(m.functions().flat_map(|(f, _)| m.func_insns(f)).any(
        |i| matches!(m.reference(i), Some(Ref::FuncAddr(c)) if m.function(c).name == "loop_body")
    ));
    let g = read_testdata("globals.bpfel.o");
    let data_refs = g
        .functions()
        .flat_map(|(f, _)| g.func_insns(f))
        .filter(|&i| matches!(g.reference(i), Some(Ref::Data { .. })))
        .count();
    assert!(data_refs > 0);
}

/// File offset of a section's data within the object bytes.
fn file_offset(data: &[u8], section: &[u8]) -> usize {
    section.as_ptr() as usize - data.as_ptr() as usize
}

#[test]
fn malformed_objects_give_errors_naming_section_and_offset() {
    let data = std::fs::read(common::testdata_dir().join("calls.bpfel.o")).unwrap();
    let elf = ElfObject::parse(&data).unwrap();
    let rel = elf.section(".relsocket").expect(".relsocket");
    let rel_off = file_offset(&data, rel.data);
    let n_symbols = elf.symbols().len();

    // A relocation that points into the middle of an instruction.
    let mut bad = data.clone();
    let off = u64::from_le_bytes(bad[rel_off..rel_off + 8].try_into().unwrap());
    bad[rel_off..rel_off + 8].copy_from_slice(&(off + 4).to_le_bytes());
    let e = Module::read(&bad).unwrap_err();
    assert!(
        matches!(&e, ReadError::BadRelocation { section, offset, .. } if section == "socket" && *offset == off + 4),
        "{e}"
    );

    // A symbol index past the symbol table.
    let mut bad = data.clone();
    let info = (n_symbols as u64 + 5) << 32 | 1;
    bad[rel_off + 8..rel_off + 16].copy_from_slice(&info.to_le_bytes());
    let e = Module::read(&bad).unwrap_err();
    assert!(e.to_string().contains("symbol"), "{e}");

    // A relocation against an instruction that is neither ld_imm64 nor call: move the first
    // relocation onto the first instruction of the section (`r6 = r1`-style ALU).
    let mut bad = data.clone();
    bad[rel_off..rel_off + 8].copy_from_slice(&0u64.to_le_bytes());
    match Module::read(&bad) {
        Err(ReadError::BadRelocation {
            section,
            offset: 0,
            reason,
            ..
        }) => {
            assert_eq!(section, "socket");
            assert!(reason.contains("not"), "{reason}");
        }
        other => panic!("{other:?}"),
    }

    // An unsupported relocation type.
    let mut bad = data.clone();
    let info = u64::from_le_bytes(bad[rel_off + 8..rel_off + 16].try_into().unwrap());
    bad[rel_off + 8..rel_off + 16].copy_from_slice(&((info & !0xffff_ffff) | 7).to_le_bytes());
    let e = Module::read(&bad).unwrap_err();
    assert!(
        matches!(e, ReadError::BadRelocation { r_type: 7, .. }),
        "{e}"
    );

    // Every truncation errors (or, past the last section header... never panics).
    for len in (0..data.len()).step_by(7) {
        let _ = Module::read(&data[..len]);
    }
    assert!(Module::read(&data[..data.len() / 2]).is_err());
}

#[test]
fn mutated_objects_never_panic() {
    let mut rng = common::Rng::from_env(0x0b1e_c7ed);
    let mut cases = 0;
    for name in [
        "calls.bpfel.o",
        "core.bpfeb.o",
        "maps.bpfel.o",
        "globals.bpfel.o",
    ] {
        let data = std::fs::read(common::testdata_dir().join(name)).unwrap();
        let mut copy = data.clone();
        for _ in 0..600 {
            let pos = rng.below(copy.len());
            let old = copy[pos];
            copy[pos] = rng.next() as u8;
            let _ = Module::read(&copy).map(|m| check_invariants(name, &m));
            copy[pos] = old;
            cases += 1;
        }
    }
    eprintln!("{cases} mutated objects read without panic");
}

/// An object's bss has a size and no bytes in the file: the reader bounds what it allocates
/// for it (`DataSection::MAX_SIZE`, for all bss sections together).
#[test]
fn bss_size_is_bounded() {
    let data = std::fs::read(common::testdata_dir().join("globals.bpfel.o")).unwrap();
    let elf = ElfObject::parse(&data).unwrap();
    let index = elf.section(".bss").expect(".bss").index;
    // sh_size of `.bss` in the section header table (64-byte headers at e_shoff).
    let shoff = u64::from_le_bytes(data[0x28..0x30].try_into().unwrap()) as usize;
    let at = shoff + index * 64 + 0x20;
    let with_size = |size: u64| {
        let mut bad = data.clone();
        bad[at..at + 8].copy_from_slice(&size.to_le_bytes());
        bad
    };
    let max = bpfir::ir::DataSection::MAX_SIZE;
    for size in [max + 1, u64::from(u32::MAX), u64::MAX] {
        let e = Module::read(&with_size(size)).unwrap_err();
        assert!(
            matches!(&e, ReadError::BadSection { section, reason } if section == ".bss" && reason.contains("bss")),
            "{e}"
        );
    }
    let m = Module::read(&with_size(max)).unwrap();
    let (_, bss) = m.data_sections().find(|(_, d)| d.name == ".bss").unwrap();
    assert_eq!(bss.bytes.len() as u64, max);
}

/// The null section (index 0) has no name whatever its header says, and is never found by
/// one: a fuzzed object named it, and the written copy (which names it nothing) read back
/// otherwise.
#[test]
fn the_null_section_has_no_name() {
    let data = std::fs::read(common::testdata_dir().join("calls.bpfel.o")).unwrap();
    let license = ElfObject::parse(&data)
        .unwrap()
        .section("license")
        .unwrap()
        .index;
    let shoff = u64::from_le_bytes(data[0x28..0x30].try_into().unwrap()) as usize;
    let mut bad = data.clone();
    // sh_name of section 0 := sh_name of `license`.
    let name_of_license = shoff + license * 64;
    bad.copy_within(name_of_license..name_of_license + 4, shoff);
    let elf = ElfObject::parse(&bad).unwrap();
    assert_eq!(elf.sections()[0].name, "");
    assert_eq!(elf.section("license").unwrap().index, license);
    assert!(elf.section("").is_none());
    assert_eq!(
        Module::read(&bad).unwrap().license,
        Module::read(&data).unwrap().license
    );
}

/// testdata object `file` with map `map`'s `__uint(ATTR, ...)` attributes pointed at new
/// `int[N]` arrays, written: the object a C source with those values compiles to. (Each
/// attribute must have a value no other attribute of the object has: clang shares one
/// `int (*)[N]` between them.)
fn retyped(file: &str, map: &str, attrs: &[(&str, u32)]) -> Vec<u8> {
    use bpfir::btf::TypeKind;
    let mut m = read_testdata(file);
    let var = m
        .maps()
        .find(|(_, d)| d.name == map)
        .and_then(|(_, d)| d.btf_var)
        .unwrap();
    let btf = m.btf.as_mut().unwrap();
    let Ok(TypeKind::Var { ty: def, .. }) = btf.kind_of(var) else {
        panic!("{map}: no VAR");
    };
    for &(attr, n) in attrs {
        let ptr = btf
            .members(def)
            .iter()
            .find(|mb| btf.str(mb.name).is_ok_and(|s| s == attr))
            .unwrap()
            .ty;
        let Ok(TypeKind::Ptr(arr)) = btf.kind_of(ptr) else {
            panic!("{attr}: not a pointer");
        };
        let Ok(TypeKind::Array { elem, index, .. }) = btf.kind_of(arr) else {
            panic!("{attr}: not a pointer to an array");
        };
        let new = btf.add_array(elem, index, n).unwrap();
        btf.ty_mut(ptr).unwrap().kind = TypeKind::Ptr(new);
    }
    bpfir::write::write_object(&m).unwrap()
}

/// `maps.bpfel.o`'s `outer_array` (an array of maps, `.values = { [0] = &inner_a, [2] =
/// &inner_b }`, the only map of type 12 and max_entries 3) as another type and size.
fn outer_array_as(map_type: u32, max_entries: u32) -> Vec<u8> {
    retyped(
        "maps.bpfel.o",
        "outer_array",
        &[("type", map_type), ("max_entries", max_entries)],
    )
}

/// A `.values` initialiser the kernel cannot take is refused when read (libbpf fails at map
/// creation, E2BIG): in an array of maps (or prog array) a slot at or past `max_entries`;
/// in a hash of maps more slots than `max_entries` (its keys are the slot numbers, so a key
/// past `max_entries` is fine, as libbpf finds).
#[test]
fn map_in_map_slots_the_kernel_cannot_take_are_refused() {
    const ARRAY_OF_MAPS: u32 = 12;
    const HASH_OF_MAPS: u32 = 13;
    let read = |bytes: &[u8]| {
        Module::read(bytes).map(|m| {
            let d = m.maps().find(|(_, d)| d.name == "outer_array").unwrap().1;
            (d.map_type, d.max_entries, d.init_slots.clone())
        })
    };
    // The rewrite itself keeps a readable object: as compiled, and with room to spare.
    let slots = vec![(0, "inner_a".to_string()), (2, "inner_b".to_string())];
    assert_eq!(
        read(&outer_array_as(ARRAY_OF_MAPS, 3)).unwrap(),
        (12, 3, slots.clone())
    );
    assert_eq!(
        read(&outer_array_as(HASH_OF_MAPS, 2)).unwrap(),
        (13, 2, slots)
    );

    // Slot 2 of an array with 2 entries.
    let e = read(&outer_array_as(ARRAY_OF_MAPS, 2)).unwrap_err();
    match &e {
        ReadError::BadMap {
            section,
            map,
            reason,
        } => {
            assert_eq!(
                (section.as_str(), map.as_str()),
                (".maps", "outer_array"),
                "{e}"
            );
            assert!(
                reason.contains("slot 2")
                    && reason.contains("inner_b")
                    && reason.contains("max_entries 2"),
                "{e}"
            );
        }
        other => panic!("expected a map error, got {other}"),
    }
    // max_entries 0: every slot is past the end.
    let e = read(&outer_array_as(ARRAY_OF_MAPS, 0))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("outer_array") && e.contains("slot 0") && e.contains("max_entries 0"),
        "{e}"
    );
    // Two slots in a hash of one entry.
    let e = read(&outer_array_as(HASH_OF_MAPS, 1))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("outer_array") && e.contains("2 slots") && e.contains("max_entries 1"),
        "{e}"
    );
    // A prog array: `jump_table` of prog_array.bpf.c has slot 1 (tail_target).
    let jump_table = |n: u32| retyped("prog_array.bpfel.o", "jump_table", &[("max_entries", n)]);
    let m = Module::read(&jump_table(2)).unwrap();
    let d = m.maps().find(|(_, d)| d.name == "jump_table").unwrap().1;
    assert_eq!((d.map_type, d.max_entries), (3, 2));
    let e = Module::read(&jump_table(1)).unwrap_err().to_string();
    assert!(
        e.contains("jump_table")
            && e.contains("slot 1")
            && e.contains("tail_target")
            && e.contains("max_entries 1"),
        "{e}"
    );
}

/// An object reads from a buffer at any address (an archive member, a slice of a larger
/// buffer, `include_bytes!`, which is only byte-aligned), to the same module as from an
/// aligned one. The `object` crate's ELF types are 8-byte aligned unless its `unaligned`
/// feature is on, and an unaligned buffer was refused as "invalid ELF header size or
/// alignment".
#[test]
fn objects_read_from_any_address() {
    for name in ["calls.bpfel.o", "maps.bpfeb.o", "core.bpfel.o"] {
        let data = std::fs::read(common::testdata_dir().join(name)).unwrap();
        let want = Module::read(&data).unwrap().dump().to_string();
        for shift in 1..8 {
            let mut buf = vec![0u8; shift];
            buf.extend_from_slice(&data);
            let at = &buf[shift..];
            let m = Module::read(at)
                .unwrap_or_else(|e| panic!("{name} at address {:#x}: {e}", at.as_ptr() as usize));
            assert_eq!(m.dump().to_string(), want, "{name} shifted by {shift}");
            assert_eq!(
                ElfObject::parse(at).unwrap().sections().len(),
                ElfObject::parse(&data).unwrap().sections().len()
            );
        }
    }
}

/// What is not an ELF file is named for what it is: too short for the header, or without the
/// ELF magic (a git symlink checked out as text, as cilium's `loader-el.elf` is in the
/// corpus: 22 bytes naming `loader-clang-22-el.elf`).
#[test]
fn non_elf_input_says_why() {
    let e = Module::read(b"loader-clang-22-el.elf")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("22 bytes") && e.contains("64-byte ELF header"),
        "{e}"
    );
    let mut text = b"loader-clang-22-el.elf\n".repeat(4);
    text.truncate(80);
    let e = Module::read(&text).unwrap_err().to_string();
    assert!(
        e.contains("no ELF magic") && e.contains("loader-clang-22-"),
        "{e}"
    );
}

/// `prog_array.bpf.c` as compiled (slot 1 of 8 set) loads with its slot filled: the tail
/// call lands, so `check_tail` returns 0, not its line.
#[cfg(all(feature = "kernel", target_os = "linux"))]
#[test]
fn prog_array_slots_are_filled_at_load() {
    if !kernel::kernel_available("prog_array_slots_are_filled_at_load") {
        return;
    }
    let name = if cfg!(target_endian = "little") {
        "prog_array.bpfel.o"
    } else {
        "prog_array.bpfeb.o"
    };
    let runs = kernel::load_and_run_all(&read_testdata(name), "prog_array");
    let want: std::collections::BTreeMap<String, u32> = [
        ("check_tail".to_string(), 0),
        ("tail_target".to_string(), 0),
    ]
    .into();
    assert_eq!(runs, want);
}
