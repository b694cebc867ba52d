//! Loading through the kernel, the oracle: every program of our test objects loads with the
//! func_info, line_info and BTF bpfir produced; the self-checking ones return 0 from
//! `BPF_PROG_TEST_RUN`; the kernel's program tags equal libbpf's for the same objects (so
//! bpfir linked and relocated exactly as libbpf does); edited programs load and run, and the
//! verifier's source lines still point at the right code.
//!
//! Skips with a printed reason where `bpf()` is not permitted; fails instead under
//! `BPFIR_REQUIRE_KERNEL=1`.
#![cfg(all(feature = "kernel", target_os = "linux"))]

mod common;
#[path = "common/kernel.rs"]
mod kernel;

use std::collections::HashMap;

use bpfir::insn::{Insn, Reg, Size};
use bpfir::ir::{Meta, Module};
use bpfir::load::{load, LoadError, LoadOptions, Loaded};

fn read(name: &str) -> Module {
    let data = std::fs::read(common::testdata_dir().join(name)).unwrap();
    Module::read(&data).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn load_pinned(name: &str, m: &Module, pins: &std::path::Path) -> Loaded {
    let stem = name.split('.').next().unwrap_or(name);
    let opts = LoadOptions {
        object_name: stem.to_string(),
        pin_root: Some(pins.to_path_buf()),
        ..LoadOptions::default()
    };
    let loaded = load(m, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    kernel::check_offline_tags(name, &loaded);
    loaded
}

/// Loads `m` as object `name`, its pins in a directory of their own under `pins`.
fn load_module(name: &str, m: &Module, pins: &kernel::PinDir) -> Loaded {
    load_pinned(name, m, &pins.subdir(&name.replace('.', "_")))
}

#[test]
fn maps_pinned_by_name_are_pinned_and_reused() {
    if !kernel::kernel_available("maps_pinned_by_name_are_pinned_and_reused") {
        return;
    }
    let Some(pins) = kernel::PinDir::new("maps_pinned_by_name_are_pinned_and_reused") else {
        return;
    };
    let m = read("maps.bpfel.o");
    let (pinned, _) = m
        .maps()
        .find(|(_, d)| d.pinning == bpfir::ir::Pinning::ByName)
        .expect("maps.bpf.c pins one map by name");
    let first = load_pinned("maps.bpfel.o", &m, pins.path());
    let path = pins.path().join(&m.map(pinned).name);
    assert!(path.exists(), "{} not pinned", path.display());
    let second = load_pinned("maps.bpfel.o", &m, pins.path());
    let id = |l: &Loaded| bpfir::sys::map_info(&l.maps[pinned]).unwrap().id;
    assert_eq!(
        id(&first),
        id(&second),
        "the second load reuses the pinned map"
    );
    // Unpinned maps are created anew.
    let (other, _) = m.maps().find(|(i, _)| *i != pinned).unwrap();
    let other_id = |l: &Loaded| bpfir::sys::map_info(&l.maps[other]).unwrap().id;
    assert_ne!(other_id(&first), other_id(&second));
    assert_eq!(
        second.programs[0]
            .result
            .as_ref()
            .unwrap()
            .run_zero_packet(64)
            .unwrap()
            .retval,
        0
    );
}

#[test]
fn every_test_program_loads_with_ext_info_and_checks_itself() {
    if !kernel::kernel_available("every_test_program_loads_with_ext_info_and_checks_itself") {
        return;
    }
    let Some(pins) =
        kernel::PinDir::new("every_test_program_loads_with_ext_info_and_checks_itself")
    else {
        return;
    };
    let mut objects: Vec<&str> = common::EXPECTED_RUNS.iter().map(|e| e.0).collect();
    objects.dedup();
    let mut n = 0;
    for object in objects {
        let m = read(object);
        let loaded = load_module(object, &m, &pins);
        for p in &loaded.programs {
            let expected = common::EXPECTED_RUNS
                .iter()
                .find(|e| e.0 == object && e.1 == p.name)
                .unwrap_or_else(|| panic!("{object}: unexpected program {}", p.name));
            let lp = p
                .result
                .as_ref()
                .unwrap_or_else(|e| panic!("{object} {}: {e}", p.name));
            let info = bpfir::sys::prog_info(&lp.fd).unwrap();
            assert_eq!(
                info.nr_func_info as usize,
                bpfir::lower::link_order(&m, p.func).len(),
                "{object} {}: one func_info per function",
                p.name
            );
            assert!(info.nr_line_info > 0, "{object} {}: line_info", p.name);
            if let Some(want) = expected.2 {
                let got = lp.run_zero_packet(64).unwrap().retval;
                assert_eq!(
                    got, want,
                    "{object} {}: retval (a self-check failed at that line?)",
                    p.name
                );
            }
            n += 1;
        }
    }
    assert_eq!(n, common::EXPECTED_RUNS.len());
}

#[test]
fn tags_equal_libbpfs() {
    if !kernel::kernel_available("tags_equal_libbpfs") {
        return;
    }
    let Some(pins) = kernel::PinDir::new("tags_equal_libbpfs") else {
        return;
    };
    let golden = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/tags/libbpf.txt"),
    )
    .unwrap();
    let mut want: HashMap<(String, String), String> = HashMap::new();
    for line in golden.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        want.insert((f[0].into(), f[1].into()), f[2].into());
    }
    let mut objects: Vec<&String> = want.keys().map(|(o, _)| o).collect();
    objects.sort();
    objects.dedup();
    let mut compared = 0;
    for object in objects {
        let m = read(object);
        let loaded = load_module(object, &m, &pins);
        for p in &loaded.programs {
            let tag = &p.result.as_ref().unwrap().tag;
            let expected = &want[&(object.clone(), p.name.clone())];
            assert_eq!(
                tag, expected,
                "{object} {}: tag differs from libbpf's",
                p.name
            );
            compared += 1;
        }
    }
    eprintln!("{compared} program tags equal libbpf's (and bpfir's offline tags)");
    assert_eq!(compared, want.len());
}

#[test]
fn trampoline_programs_get_the_kernels_verdict() {
    if !kernel::kernel_available("trampoline_programs_get_the_kernels_verdict") {
        return;
    }
    let Some(pins) = kernel::PinDir::new("trampoline_programs_get_the_kernels_verdict") else {
        return;
    };
    // fentry/fexit are refused with EPERM on these machines (a kernel limit libbpf sees too);
    // the attach target must still have been resolved from the kernel BTF, or the error
    // would say so instead.
    let m = read("trampoline.bpfel.o");
    let loaded = load_module("trampoline.bpfel.o", &m, &pins);
    assert_eq!(loaded.programs.len(), 2);
    for p in &loaded.programs {
        match &p.result {
            Ok(_) => {}
            Err(LoadError::Sys { source, .. }) => {
                assert_eq!(
                    source.errno(),
                    Some(bpfir::sys::Errno::EPERM),
                    "{}: {source}",
                    p.name
                )
            }
            Err(e) => panic!("{}: {e}", p.name),
        }
    }
}

/// Loads program `prog` of `m` and runs it once.
fn run(name: &str, m: &Module, prog: &str, pins: &kernel::PinDir) -> Result<u32, String> {
    let loaded = load_module(name, m, pins);
    let p = loaded.programs.iter().find(|p| p.name == prog).unwrap();
    match &p.result {
        Ok(lp) => Ok(lp.run_zero_packet(64).unwrap().retval),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn edited_programs_load_and_still_check_themselves() {
    if !kernel::kernel_available("edited_programs_load_and_still_check_themselves") {
        return;
    }
    let Some(pins) = kernel::PinDir::new("edited_programs_load_and_still_check_themselves") else {
        return;
    };
    let name = "calls.bpfel.o";
    let mut m = read(name);
    // At the start of the program, before a callee's first instruction, and in the middle
    // of the bpf_loop callback before a jump target.
    common::edit_calls(&mut m);
    for prog in ["calls_first", "calls_second"] {
        assert_eq!(run(name, &m, prog, &pins), Ok(0), "{prog}");
    }
}

#[test]
fn the_verifier_reports_the_right_source_line_after_an_edit() {
    if !kernel::kernel_available("the_verifier_reports_the_right_source_line_after_an_edit") {
        return;
    }
    let Some(pins) =
        kernel::PinDir::new("the_verifier_reports_the_right_source_line_after_an_edit")
    else {
        return;
    };
    let name = "globals.bpfel.o";
    let mut m = read(name);
    let entry = m.function_by_name("check_globals").unwrap();
    let btf = m.btf.clone().unwrap();
    // Pick an instruction in the middle of the program that starts a source line, and put a
    // bad stack read right after it: the verifier stops there and prints that line.
    let ids: Vec<_> = m.func_insns(entry).collect();
    let at = ids[ids.len() / 2..]
        .iter()
        .copied()
        .find(|&i| m.line_of(i).is_some())
        .unwrap();
    let line = *m.line(m.line_of(at).unwrap());
    let text = btf.str(line.text).unwrap().trim().to_string();
    let bad = Insn::Load {
        size: Size::DW,
        dst: Reg::R0,
        src: Reg::R10,
        off: -1024,
    };
    m.insert_after(at, bad, Meta::default()).unwrap();
    let err = run(name, &m, "check_globals", &pins).unwrap_err();
    assert!(err.contains("stack"), "{err}");
    // The log's last source annotation before the failure is the line of `at`.
    let annotated = err
        .lines()
        .rfind(|l| l.trim_start().starts_with(';'))
        .unwrap_or_else(|| panic!("no source line in the log:\n{err}"))
        .to_string();
    assert!(
        annotated.contains(&text) && annotated.contains(&format!(":{}", line.line)),
        "log says {annotated:?}, expected line {} {text:?}",
        line.line
    );
}

#[test]
fn unresolved_externs_are_named_before_any_program_loads() {
    if !kernel::kernel_available("unresolved_externs_are_named_before_any_program_loads") {
        return;
    }
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    // kfunc-el.elf calls bpf_kfunc_call_test_mem_len_pass1-style kfuncs that exist only in
    // the kernel's test module; a non-weak kfunc missing from vmlinux is an error naming it.
    let data = std::fs::read(dir.join("cilium/testdata/invalid-kfunc-el.elf")).unwrap();
    let m = Module::read(&data).unwrap();
    let err = load(&m, &LoadOptions::default()).unwrap_err();
    match &err {
        LoadError::Extern { name, .. } => assert!(!name.is_empty()),
        other => panic!("{other}"),
    }
}

#[test]
fn cli_load_and_lower() {
    if !kernel::kernel_available("cli_load_and_lower") {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_bpfir");
    let obj = common::testdata_dir().join("calls.bpfel.o");
    let out = std::process::Command::new(bin)
        .args(["load", obj.to_str().unwrap(), "--run", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(
        lines[0],
        "{\"program\": \"calls_first\", \"section\": \"socket\", \"loaded\": true, \"insns\": 60, \"tag\": \"c7618ca87ff9aa1c\", \"retval\": 0, \"error\": null}"
    );
    // --program selects; a kprobe cannot be test-run, so --run fails the exit status.
    let tracing = common::testdata_dir().join("tracing.bpfel.o");
    let out = std::process::Command::new(bin)
        .args([
            "load",
            tracing.to_str().unwrap(),
            "--program",
            "xdp_count",
            "--run",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("retval=2"));
    let out = std::process::Command::new(bin)
        .args(["load", tracing.to_str().unwrap(), "--run"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    // lower writes raw records and a manifest.
    let dir = std::env::temp_dir().join(format!("bpfir-lower-{}", std::process::id()));
    let out = std::process::Command::new(bin)
        .args([
            "lower",
            obj.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let insns = std::fs::read(dir.join("calls_first.insns")).unwrap();
    assert_eq!(insns.len(), 60 * 8);
    let func_info = std::fs::read(dir.join("calls_first.func_info")).unwrap();
    assert_eq!(func_info.len() % 8, 0);
    assert_eq!(&func_info[..4], &0u32.to_ne_bytes());
    let manifest = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    assert!(
        manifest.contains("\"program\": \"calls_second\""),
        "{manifest}"
    );
    // The offline tag equals the one the kernel gave `bpfir load` above.
    assert!(
        manifest.contains("\"program\": \"calls_first\", \"section\": \"socket\", \"insns\": 60, \"tag\": \"c7618ca87ff9aa1c\""),
        "{manifest}"
    );
    assert!(dir.join("btf.bin").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A program's outcome: its return value when it could be test-run, or the load error.
type Outcome = Result<Option<u32>, String>;

/// Loads a corpus object and returns each program's outcome.
fn load_corpus(rel: &str) -> Option<Vec<(String, Outcome)>> {
    let dir = common::corpus_dir()?;
    let data = std::fs::read(dir.join("cilium").join(rel)).unwrap();
    let m = Module::read(&data).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let loaded = load(&m, &LoadOptions::default()).unwrap_or_else(|e| panic!("{rel}: {e}"));
    kernel::check_offline_tags(rel, &loaded);
    Some(
        loaded
            .programs
            .iter()
            .map(|p| {
                let r = match &p.result {
                    Ok(lp) => Ok(lp.run_zero_packet(64).ok().map(|r| r.retval)),
                    Err(e) => Err(e.to_string()),
                };
                (p.name.clone(), r)
            })
            .collect(),
    )
}

#[test]
fn corpus_objects_load_as_their_authors_meant() {
    if !kernel::kernel_available("corpus_objects_load_as_their_authors_meant") {
        return;
    }
    let Some(kconfig) = load_corpus("testdata/kconfig-el.elf") else {
        return;
    };
    // Every kconfig check passes: kernel version, syscall wrapper, CONFIG_HZ, a tristate and
    // a char[1] string, from /proc/config.gz.
    assert_eq!(kconfig, [("kconfig".to_string(), Ok(Some(0)))]);
    // A prog array filled from `.values`: the main program tail-calls into tail_1 (42).
    let tail = load_corpus("testdata/btf_map_init-el.elf").unwrap();
    assert!(
        tail.contains(&("tail_main".to_string(), Ok(Some(42)))),
        "{tail:?}"
    );
    // Global data of every kind, 8 programs; 30 programs with CO-RE; a linked object.
    for (rel, n) in [
        ("testdata/variables-el.elf", 8),
        ("testdata/manyprogs-el.elf", 30),
        ("testdata/linked-el.elf", 5),
        ("examples/ringbuffer/bpf_bpfel.o", 1),
    ] {
        let r = load_corpus(rel).unwrap();
        let ok = r.iter().filter(|(_, r)| r.is_ok()).count();
        assert_eq!(ok, n, "{rel}: {r:?}");
    }
    // kfunc calls resolved from vmlinux BTF, a weak kfunc that is absent poisoned but not
    // reached; the fentry program gets this machine's EPERM.
    let kfunc = load_corpus("testdata/kfunc-el.elf").unwrap();
    for (name, r) in &kfunc {
        match r {
            Ok(_) => {}
            Err(e) => assert!(e.contains("EPERM"), "{name}: {e}"),
        }
    }
    assert!(
        kfunc.iter().filter(|(_, r)| r.is_ok()).count() >= 3,
        "{kfunc:?}"
    );
}

fn btf_of(path: &std::path::Path) -> std::sync::Arc<bpfir::btf::Btf> {
    let data = std::fs::read(path).unwrap();
    let elf = bpfir::elf::ElfObject::parse(&data).unwrap();
    std::sync::Arc::new(bpfir::btf::Btf::parse(elf.section(".BTF").unwrap().data).unwrap())
}

/// Loads `object` with CO-RE against `target`'s BTF and returns each program's outcome.
fn load_against(object: &std::path::Path, target: &std::path::Path) -> Vec<(String, Outcome)> {
    let m = Module::read(&std::fs::read(object).unwrap()).unwrap();
    let targets = bpfir::co_re::Targets::single(target.display().to_string(), btf_of(target));
    let opts = LoadOptions {
        co_re: bpfir::load::CoReMode::Targets(targets),
        ..LoadOptions::default()
    };
    let loaded = load(&m, &opts).unwrap_or_else(|e| panic!("{}: {e}", object.display()));
    kernel::check_offline_tags(&object.display().to_string(), &loaded);
    loaded
        .programs
        .iter()
        .map(|p| {
            let r = match &p.result {
                Ok(lp) => Ok(lp.run_zero_packet(64).ok().map(|r| r.retval)),
                Err(e) => Err(e.to_string()),
            };
            (p.name.clone(), r)
        })
        .collect()
}

#[test]
fn co_re_against_a_target_whose_types_differ() {
    if !kernel::kernel_available("co_re_against_a_target_whose_types_differ") {
        return;
    }
    let td = common::testdata_dir();
    // Every relocation kind, against a target with reordered fields, resized bitfields,
    // missing fields, renamed flavours and moved enum values: every check passes.
    let r = load_against(
        &td.join("core_reloc.bpfel.o"),
        &td.join("core_target.bpfel.o"),
    );
    assert_eq!(r, [("check_core_reloc".to_string(), Ok(Some(0)))]);
    // The same program relocated against its own BTF fails a check: the checks see the target.
    let own = load_against(
        &td.join("core_reloc.bpfel.o"),
        &td.join("core_reloc.bpfel.o"),
    );
    assert!(matches!(own[0].1, Ok(Some(line)) if line != 0), "{own:?}");
    // core.bpf.c against its own BTF.
    let r = load_against(&td.join("core.bpfel.o"), &td.join("core.bpfel.o"));
    assert_eq!(r, [("check_core".to_string(), Ok(Some(0)))]);
}

#[test]
fn corpus_co_re_conformance_programs() {
    if !kernel::kernel_available("corpus_co_re_conformance_programs") {
        return;
    }
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let dir = dir.join("cilium/btf/testdata");
    let relocs = load_against(&dir.join("relocs-el.elf"), &dir.join("relocs-el.elf"));
    for (name, r) in &relocs {
        match name.as_str() {
            // Its local and target type ids are equal when the object's own BTF is the
            // target; it checks they differ (see the corpus README).
            "type_ids" => assert!(matches!(r, Ok(Some(v)) if *v != 0), "{name}: {r:?}"),
            n if n.starts_with("err_") => {
                let e = r.as_ref().unwrap_err();
                assert!(e.contains("ambiguous"), "{name}: {e}");
            }
            _ => assert_eq!(r, &Ok(Some(0)), "{name}"),
        }
    }
    assert_eq!(relocs.len(), 6);
    for (object, target) in [
        ("relocs_read-el.elf", "relocs_read_tgt-el.elf"),
        ("relocs_enum-el.elf", "relocs_enum-el.elf"),
    ] {
        let r = load_against(&dir.join(object), &dir.join(target));
        assert!(r.iter().all(|(_, r)| r == &Ok(Some(0))), "{object}: {r:?}");
    }
}
