//! The examples, run as tests: `examples/instrument.rs` rewrites every self-checking testdata
//! object; the results still verify, write, read back, load with bpfir (every program still
//! returns what it returned, and the call counters match the call graph) and with libbpf 1.8
//! (the same programs load and return the same values as the originals).
//! `examples/splice.rs` makes globals.bpfel.o's program call calls.bpfel.o's `chain_a`; the
//! result loads and runs with bpfir and libbpf, and a wrong expectation makes it fail.

mod common;
#[cfg(all(feature = "kernel", target_os = "linux"))]
#[path = "common/kernel.rs"]
mod kernel;

#[allow(dead_code)]
#[path = "../examples/instrument.rs"]
mod instrument;

#[allow(dead_code)]
#[path = "../examples/splice.rs"]
mod splice;

use std::collections::HashMap;

use bpfir::ir::{FuncId, Module, Ref};
use bpfir::write::write_object;

/// The objects `common::EXPECTED_RUNS` knows, once each.
fn objects() -> Vec<&'static str> {
    let mut objects: Vec<&str> = common::EXPECTED_RUNS.iter().map(|e| e.0).collect();
    objects.dedup();
    objects
}

fn read(object: &str) -> Module {
    Module::read(&std::fs::read(common::testdata_dir().join(object)).unwrap()).unwrap()
}

/// How many times one run of `entry` calls each function, from the static call graph: the
/// number of call paths from `entry` (each call site runs once per run of its caller, as in
/// the straight-line self-checking programs). A function reached through a callback address
/// (`bpf_loop`) gets `None`: the helper decides how often it runs.
fn expected_calls(m: &Module, entry: FuncId) -> HashMap<FuncId, Option<u64>> {
    let mut out: HashMap<FuncId, Option<u64>> = HashMap::from([(entry, Some(1))]);
    // Depth-first over call paths; the testdata call graphs are small and acyclic.
    let mut stack = vec![(entry, true)];
    while let Some((f, exact)) = stack.pop() {
        for id in m.func_insns(f) {
            let (callee, exact) = match m.reference(id) {
                Some(Ref::Call(g)) => (g, exact),
                Some(Ref::FuncAddr(g)) => (g, false),
                _ => continue,
            };
            let e = out.entry(callee).or_insert(Some(0));
            *e = match (*e, exact) {
                (Some(n), true) => Some(n + 1),
                _ => None,
            };
            stack.push((callee, exact));
        }
    }
    out
}

#[test]
fn instrumented_objects_verify_and_round_trip() {
    for object in objects() {
        let mut m = read(object);
        let n_before = m.functions().filter(|f| f.1.n_insns() > 0).count();
        let (map, funcs) = instrument::instrument(&mut m).unwrap();
        assert_eq!(funcs.len(), n_before, "{object}");
        assert_eq!(m.map(map).max_entries as usize, n_before, "{object}");
        m.verify().unwrap_or_else(|e| panic!("{object}: {e}"));
        let origin = m.origins().next().unwrap().0;
        for &f in &funcs {
            // The counting code opens the function, tagged with the pass's origin.
            let first = m.function(f).first_insn().unwrap();
            assert_eq!(m.insn_origin(first), Some(origin), "{object}");
        }
        let back = Module::read(&write_object(&m).unwrap()).unwrap();
        assert_eq!(back.verify(), Ok(()), "{object}");
        assert!(
            back.maps().any(|(_, x)| x.name == "call_counts"),
            "{object}"
        );
    }
}

/// globals.bpfel.o's `check_globals` checking `chain_a(1) == expected`, chain_a being
/// calls.bpfel.o's (0x15: see calls.bpf.c).
fn spliced(expected: i32) -> Module {
    splice::splice(
        read("globals.bpfel.o"),
        "check_globals",
        read("calls.bpfel.o"),
        "chain_a",
        1,
        expected,
    )
    .unwrap()
}

#[test]
fn the_spliced_call_is_in_the_program_and_round_trips() {
    let m = spliced(0x15);
    let prog = m.function_by_name("check_globals").unwrap();
    let chain_a = m.function_by_name("chain_a").unwrap();
    let calls: Vec<_> = m
        .func_insns(prog)
        .filter(|&i| m.reference(i) == Some(Ref::Call(chain_a)))
        .collect();
    assert!(!calls.is_empty());
    let origin = m.origins().next().unwrap().0;
    assert!(calls.iter().all(|&c| m.insn_origin(c) == Some(origin)));
    // chain_a comes with its callees: they are in the program's link order.
    let order = bpfir::lower::link_order(&m, prog);
    for name in ["chain_a", "chain_b", "chain_c"] {
        assert!(order.contains(&m.function_by_name(name).unwrap()), "{name}");
    }
    let back = Module::read(&write_object(&m).unwrap()).unwrap();
    assert_eq!(back.verify(), Ok(()));
    assert!(splice::splice(
        read("globals.bpfel.o"),
        "nope",
        read("calls.bpfel.o"),
        "chain_a",
        1,
        0
    )
    .is_err());
}

#[cfg(all(feature = "kernel", target_os = "linux"))]
mod kernel_tests {
    use super::*;
    use bpfir::load::{load, LoadOptions};
    use std::process::Command;

    fn counters(loaded: &bpfir::load::Loaded, m: &Module, n: usize) -> Vec<u64> {
        let (map, _) = m.maps().find(|(_, x)| x.name == "call_counts").unwrap();
        let fd = loaded.maps.get(map).unwrap();
        (0..n as u32)
            .map(|k| {
                let mut v = [0u8; 8];
                bpfir::sys::lookup_elem(fd, &k.to_ne_bytes(), &mut v).unwrap();
                u64::from_ne_bytes(v)
            })
            .collect()
    }

    #[test]
    fn instrumented_programs_still_pass_and_count_their_calls() {
        if !kernel::kernel_available("instrumented_programs_still_pass_and_count_their_calls") {
            return;
        }
        let Some(pins) =
            kernel::PinDir::new("instrumented_programs_still_pass_and_count_their_calls")
        else {
            return;
        };
        let mut runs = 0;
        for object in objects() {
            let mut m = read(object);
            let (_, funcs) = instrument::instrument(&mut m).unwrap();
            // Names, not ids: the ids are `m`'s, not those of the module read back.
            let names: Vec<String> = funcs.iter().map(|&f| m.function(f).name.clone()).collect();
            // What bpfir and libbpf load is the written object, read back.
            let m = Module::read(&write_object(&m).unwrap()).unwrap();
            let opts = LoadOptions {
                object_name: "instrumented".into(),
                pin_root: Some(pins.subdir(&object.replace('.', "_"))),
                ..LoadOptions::default()
            };
            let loaded = load(&m, &opts).unwrap_or_else(|e| panic!("{object}: {e}"));
            super::kernel::check_offline_tags(object, &loaded);
            for p in &loaded.programs {
                let want = common::EXPECTED_RUNS
                    .iter()
                    .find(|e| e.0 == object && e.1 == p.name)
                    .unwrap_or_else(|| panic!("{object}: unexpected program {}", p.name));
                let lp = p
                    .result
                    .as_ref()
                    .unwrap_or_else(|e| panic!("{object} {}: {e}", p.name));
                let Some(retval) = want.2 else { continue };
                let before = counters(&loaded, &m, funcs.len());
                assert_eq!(
                    lp.run_zero_packet(64).unwrap().retval,
                    retval,
                    "{object} {}",
                    p.name
                );
                let after = counters(&loaded, &m, funcs.len());
                let entry = m.function_by_name(&p.name).unwrap();
                let expected = expected_calls(&m, entry);
                for (k, name) in names.iter().enumerate() {
                    let f = m.function_by_name(name).unwrap();
                    let got = after[k] - before[k];
                    match expected.get(&f) {
                        Some(Some(n)) => {
                            assert_eq!(got, *n, "{object} {}: calls of {name}", p.name)
                        }
                        Some(None) => assert!(got >= 1, "{object} {}: {name} never ran", p.name),
                        None => assert_eq!(got, 0, "{object} {}: {name} is not reachable", p.name),
                    }
                }
                runs += 1;
            }
        }
        let expected_runs = common::EXPECTED_RUNS
            .iter()
            .filter(|e| e.2.is_some())
            .count();
        assert_eq!(runs, expected_runs);
    }

    #[test]
    fn the_spliced_program_loads_and_runs_with_bpfir_and_libbpf() {
        if !kernel::kernel_available("the_spliced_program_loads_and_runs_with_bpfir_and_libbpf") {
            return;
        }
        let m = spliced(0x15);
        let back = Module::read(&write_object(&m).unwrap()).unwrap();
        for module in [&m, &back] {
            let runs = kernel::load_and_run_all(module, "spliced");
            assert_eq!(runs.len(), 3, "{runs:?}");
            assert!(runs.values().all(|&r| r == 0), "{runs:?}");
        }
        // The call really runs: expecting 0x16 makes the program return 0x15 ^ 0x16.
        assert_eq!(
            kernel::load_and_run_all(&spliced(0x16), "spliced")["check_globals"],
            3
        );

        let path = std::env::temp_dir().join(format!("bpfir-splice-{}.o", std::process::id()));
        std::fs::write(&path, write_object(&m).unwrap()).unwrap();
        let result = libbpf_runs(&path);
        let _ = std::fs::remove_file(&path);
        let Some((refused, lines)) = result else {
            return;
        };
        assert!(!refused);
        let mut lines = lines;
        lines.sort();
        assert_eq!(
            lines,
            [
                "calls_first retval=0 err=0",
                "calls_second retval=0 err=0",
                "check_globals retval=0 err=0"
            ]
        );
    }

    /// `libbpf-1.8-load -r`'s lines without the tags: `NAME retval=R err=E`.
    fn libbpf_runs(path: &std::path::Path) -> Option<(bool, Vec<String>)> {
        let tool = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/tools/libbpf-1.8-load");
        if !tool.is_file() {
            eprintln!("{} is missing: libbpf half skipped", tool.display());
            return None;
        }
        let out = Command::new(tool).arg("-r").arg(path).output().unwrap();
        let lines = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let mut w: Vec<&str> = l.split(' ').collect();
                w.remove(1);
                w.join(" ")
            })
            .collect();
        Some((out.status.code() == Some(2), lines))
    }

    #[test]
    fn instrumented_objects_load_with_libbpf_as_the_originals_do() {
        if !kernel::kernel_available("instrumented_objects_load_with_libbpf_as_the_originals_do") {
            return;
        }
        let dir = std::env::temp_dir().join(format!("bpfir-examples-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut compared = 0;
        for object in objects() {
            let original = common::testdata_dir().join(object);
            let Some((refused, want)) = libbpf_runs(&original) else {
                return;
            };
            if refused {
                // maps.bpfel.o: legacy maps, which libbpf 1.x refuses in any object.
                eprintln!("{object}: libbpf refuses the original; not compared");
                continue;
            }
            let mut m = read(object);
            instrument::instrument(&mut m).unwrap();
            let path = dir.join(object);
            std::fs::write(&path, write_object(&m).unwrap()).unwrap();
            let (_, got) = libbpf_runs(&path).unwrap();
            assert_eq!(got, want, "{object}");
            compared += 1;
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert!(compared >= 4, "only {compared} objects compared");
    }
}
