//! The static linker against upstream: cilium/ebpf's `linked1` + `linked2` link into what
//! `bpftool gen object` made of them (`linked-el.elf`): the same programs, function symbols
//! and maps, with the same strong/weak winners; the written result reads back and (with the
//! kernel) every program returns what upstream's does. Errors: duplicate strong symbols,
//! conflicting maps, unresolved externs, truncated inputs.

#[cfg(all(feature = "kernel", target_os = "linux"))]
#[path = "common/kernel.rs"]
mod kernel;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bpfir::elf::{Binding, ElfObject, SymbolKind};
use bpfir::ir::{ExternKind, MapDef, MapOrigin, Module, Ref, SymbolLinkage};
use bpfir::link::{link, LinkError, LinkOptions};
use bpfir::write::write_object;

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/cilium/testdata");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("corpus not found at {}; skipping", dir.display());
        None
    }
}

fn read(dir: &Path, name: &str) -> (Vec<u8>, Module) {
    let bytes = std::fs::read(dir.join(name)).unwrap();
    let m = Module::read(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    (bytes, m)
}

fn opts(names: &[&str]) -> LinkOptions {
    LinkOptions {
        input_names: names.iter().map(|s| s.to_string()).collect(),
        ..LinkOptions::default()
    }
}

/// `(name, section, binding)` of every function symbol of an object.
fn func_symbols(bytes: &[u8]) -> BTreeSet<(String, String, String)> {
    let elf = ElfObject::parse(bytes).unwrap();
    elf.symbols()
        .iter()
        .filter(|s| s.kind == SymbolKind::Func)
        .map(|s| {
            let section = elf.sections()[s.section.unwrap()].name.to_string();
            (s.name.to_string(), section, format!("{:?}", s.binding))
        })
        .collect()
}

/// `(name, section, linkage)` of the programs of a module.
fn programs(m: &Module) -> BTreeSet<(String, String, String)> {
    m.programs()
        .map(|(_, f)| (f.name.clone(), f.section.clone(), f.linkage.to_string()))
        .collect()
}

/// A map's definition without its BTF ids (which differ between two BTFs).
fn map_key(m: &MapDef) -> String {
    format!(
        "{} {:?} type {} key {} value {} entries {} flags {:#x}",
        m.name, m.origin, m.map_type, m.key_size, m.value_size, m.max_entries, m.flags
    )
}

fn maps(m: &Module) -> Vec<String> {
    let mut v: Vec<String> = m.maps().map(|(_, d)| map_key(d)).collect();
    v.sort();
    v
}

/// Programs, function symbols and maps of our link equal upstream's.
fn assert_like_upstream(ours: &Module, written: &[u8], upstream: &Module, upstream_bytes: &[u8]) {
    assert_eq!(programs(ours), programs(upstream));
    assert_eq!(func_symbols(written), func_symbols(upstream_bytes));
    assert_eq!(maps(ours), maps(upstream));
}

#[test]
fn linked1_and_linked2_link_like_upstream() {
    let Some(dir) = corpus() else { return };
    let (_, l1) = read(&dir, "linked1-el.elf");
    let (_, l2) = read(&dir, "linked2-el.elf");
    let (up_bytes, upstream) = read(&dir, "linked-el.elf");
    let out = link(&[l1, l2], &opts(&["linked1", "linked2"])).unwrap();
    let written = write_object(&out).unwrap();
    assert_like_upstream(&out, &written, &upstream, &up_bytes);

    // Weak maps: map_ww is weak in both inputs and stays weak, as upstream's symbol is.
    let up_elf = ElfObject::parse(&up_bytes).unwrap();
    for (id, m) in out.maps() {
        let sym = up_elf.symbols().iter().find(|s| s.name == m.name).unwrap();
        let want = match sym.binding {
            Binding::Weak => SymbolLinkage::Weak,
            _ => SymbolLinkage::Global,
        };
        assert_eq!(out.map_linkage(id), want, "linkage of map {}", m.name);
        // The written object keeps it.
        let written_elf = ElfObject::parse(&written).unwrap();
        let ours = written_elf
            .symbols()
            .iter()
            .find(|s| s.name == m.name)
            .unwrap();
        assert_eq!(
            ours.binding, sym.binding,
            "written binding of map {}",
            m.name
        );
    }
    // The merged BTF is de-duplicated: types both inputs share appear once. libbpf's linker
    // gives 32 types plus its DATASECs; the two extra FUNCs are `l1`/`l2`, extern in one
    // input and global in the other (libbpf resolves those before it dedups).
    let ours = out.btf.as_ref().unwrap().n_types();
    let theirs = upstream.btf.as_ref().unwrap().n_types();
    let sum: u32 = [&"linked1-el.elf", &"linked2-el.elf"]
        .iter()
        .map(|n| read(&dir, n).1.btf.unwrap().n_types())
        .sum();
    assert!(
        ours <= theirs + 2,
        "{ours} types after dedup, libbpf's linker: {theirs}"
    );
    assert!(ours < sum - 10, "{ours} types: no de-duplication of {sum}");
    // No extern is left: l1 and l2 resolved to each other's functions.
    assert_eq!(out.externs().len(), 0);
    // Every call lands on a function that is in the output, and on the winner: the callee
    // of each program returns 0 (the overridden weak bodies return __LINE__).
    let mut n_calls = 0;
    for (f, func) in out.programs() {
        for id in out.func_insns(f) {
            if let Some(Ref::Call(callee)) = out.reference(id) {
                n_calls += 1;
                let first = out.function(callee).first_insn().unwrap();
                assert_eq!(
                    out.insn(first).to_string(),
                    "r0 = 0x0",
                    "{} calls the winning definition",
                    func.name
                );
            }
        }
    }
    assert_eq!(
        n_calls, 3,
        "entry_l2, entry_ww and entry_l1 call a function"
    );
    // Same-named sections concatenate in input order.
    let text: Vec<&str> = out
        .functions()
        .filter(|(_, f)| f.section == ".text")
        .map(|(_, f)| f.name.as_str())
        .collect();
    assert_eq!(text, ["l1", "l1_s", "ww", "l2", "l1_w"]);

    // The written object reads back to the same programs, symbols and maps, with lines.
    let again = Module::read(&written).unwrap();
    assert_like_upstream(&again, &written, &upstream, &up_bytes);
    assert!(again
        .functions()
        .all(|(f, _)| again.func_insns(f).any(|i| again.line_of(i).is_some())));
    assert!(again.functions().all(|(_, f)| f.btf_func.is_some()));
    // And it links again with nothing else (everything is resolved).
    link(&[again], &LinkOptions::default()).unwrap();
    println!(
        "linked1 + linked2: {} programs, {} functions, {} maps as upstream",
        out.programs().count(),
        out.functions().len(),
        out.maps().len()
    );
}

#[test]
fn linking_an_object_with_itself_names_both_definitions() {
    let Some(dir) = corpus() else { return };
    let (_, l1) = read(&dir, "linked1-el.elf");
    let err = link(&[l1.clone(), l1], &opts(&["a.o", "b.o"])).unwrap_err();
    match &err {
        LinkError::DuplicateSymbol {
            name,
            first,
            second,
        } => {
            assert_eq!((first.as_str(), second.as_str()), ("a.o", "b.o"));
            assert!(!name.is_empty());
        }
        e => panic!("expected a duplicate symbol, got {e}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("a.o") && msg.contains("b.o"), "{msg}");
}

fn hash_map(name: &str, max_entries: u32) -> MapDef {
    MapDef {
        map_type: 1,
        key_size: 4,
        value_size: 4,
        max_entries,
        ..MapDef::new(name, MapOrigin::Legacy)
    }
}

#[test]
fn conflicting_map_definitions_are_an_error_naming_both() {
    let mut a = Module::new(bpfir::Endian::Little);
    let mut m = hash_map("counts", 1);
    m.key_size = 8;
    let id = a.add_map(m);
    a.set_map_linkage(id, SymbolLinkage::Weak).unwrap();
    let mut b = Module::new(bpfir::Endian::Little);
    b.add_map(hash_map("counts", 1));
    let err = link(&[a.clone(), b.clone()], &opts(&["a.o", "b.o"])).unwrap_err();
    assert_eq!(
        err,
        LinkError::MapMismatch {
            name: "counts".into(),
            first: "a.o".into(),
            second: "b.o".into(),
            reason: "key size 8 vs 4".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "map counts is defined differently in a.o and b.o: key size 8 vs 4"
    );
    // Two strong definitions, even equal ones, are a duplicate.
    let err = link(&[b.clone(), b.clone()], &opts(&["b1.o", "b2.o"])).unwrap_err();
    assert!(matches!(err, LinkError::DuplicateSymbol { .. }), "{err}");
    // A compatible weak one yields to the strong one.
    let mut c = Module::new(bpfir::Endian::Little);
    let id = c.add_map(hash_map("counts", 1));
    c.set_map_linkage(id, SymbolLinkage::Weak).unwrap();
    let out = link(&[c, b], &LinkOptions::default()).unwrap();
    assert_eq!(out.maps().len(), 1);
    assert_eq!(
        out.map_linkage(out.maps().next().unwrap().0),
        SymbolLinkage::Global
    );
}

#[test]
fn an_unresolved_extern_is_an_error_unless_allowed() {
    let Some(dir) = corpus() else { return };
    let (_, l1) = read(&dir, "linked1-el.elf");
    let err = link(std::slice::from_ref(&l1), &opts(&["linked1"])).unwrap_err();
    assert_eq!(
        err,
        LinkError::Unresolved {
            name: "l2".into(),
            input: "linked1".into()
        }
    );
    let partial = link(
        &[l1],
        &LinkOptions {
            allow_unresolved: true,
            ..LinkOptions::default()
        },
    )
    .unwrap();
    let externs: Vec<_> = partial
        .externs()
        .map(|(_, e)| (e.name.as_str(), e.kind))
        .collect();
    assert_eq!(externs, [("l2", ExternKind::Func)]);
    // The partial link writes and reads back with its extern.
    let again = Module::read(&write_object(&partial).unwrap()).unwrap();
    assert_eq!(again.externs().len(), 1);
}

#[test]
fn kernel_externs_stay_externs() {
    let Some(dir) = corpus() else { return };
    for name in ["kconfig-el.elf", "ksym-el.elf", "kfunc-el.elf"] {
        let (_, m) = read(&dir, name);
        let n = m.externs().len();
        assert!(n > 0, "{name} has externs");
        let out = link(std::slice::from_ref(&m), &opts(&[name]))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out.externs().len(), n, "{name}");
    }
}

#[test]
fn truncated_inputs_are_read_errors_never_panics() {
    let Some(dir) = corpus() else { return };
    let bytes = std::fs::read(dir.join("linked1-el.elf")).unwrap();
    let (_, l2) = read(&dir, "linked2-el.elf");
    let mut n_err = 0;
    for len in (0..bytes.len()).step_by(7) {
        match Module::read(&bytes[..len]) {
            Err(_) => n_err += 1,
            // Whatever reads must link without panicking (an error is fine).
            Ok(m) => {
                let _ = link(&[m, l2.clone()], &LinkOptions::default());
            }
        }
    }
    assert!(n_err > 0);
}

#[test]
fn every_corpus_object_links_with_itself_alone() {
    // Linking one object is the identity up to ids: same functions, maps and instructions.
    let Some(dir) = corpus() else { return };
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "elf"))
        .collect();
    entries.sort();
    for path in entries {
        let bytes = std::fs::read(&path).unwrap();
        let Ok(m) = Module::read(&bytes) else {
            continue;
        };
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let opts = LinkOptions {
            allow_unresolved: true,
            input_names: vec![name.clone()],
        };
        let out = match link(std::slice::from_ref(&m), &opts) {
            Ok(out) => out,
            Err(e) => panic!("{name}: {e}"),
        };
        let insns = |m: &Module| -> Vec<String> {
            m.functions()
                .flat_map(|(f, _)| m.func_insns(f).map(|i| m.insn(i).to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(insns(&out), insns(&m), "{name}");
        assert_eq!(maps(&out), maps(&m), "{name}");
        n += 1;
    }
    assert!(n > 20, "{n} objects");
    println!("{n} corpus objects link alone to the same instructions and maps");
}

#[cfg(all(feature = "kernel", target_os = "linux"))]
mod with_kernel {
    use super::*;

    #[test]
    fn linked_programs_return_what_upstreams_do() {
        if !kernel::kernel_available("linked_programs_return_what_upstreams_do") {
            return;
        }
        let Some(dir) = corpus() else { return };
        let (_, l1) = read(&dir, "linked1-el.elf");
        let (_, l2) = read(&dir, "linked2-el.elf");
        let (_, upstream) = read(&dir, "linked-el.elf");
        let out = link(&[l1, l2], &LinkOptions::default()).unwrap();
        let again = Module::read(&write_object(&out).unwrap()).unwrap();
        let want = kernel::load_and_run_all(&upstream, "linked");
        assert_eq!(want.len(), 5);
        assert_eq!(kernel::load_and_run_all(&again, "ours"), want);
        assert_eq!(kernel::load_and_run_all(&out, "ours"), want);
        println!("{} linked programs return upstream's values", want.len());
    }
}
