//! Golden tests of `Module::dump`: the dump of each object in [`CASES`] must equal the
//! committed text in `tests/golden/dump/<file name>.txt`.
//!
//! To regenerate the goldens after an intended change of the printer (or of the reader),
//! run
//!
//! ```text
//! BPFIR_BLESS=1 cargo test -q --test dump
//! ```
//!
//! and review the diff before committing it.
//!
//! To add an object, add a line to [`CASES`] and bless. Objects whose maps the interim map
//! reader cannot read yet are listed with `waits_for_maps: true`: while reading them fails
//! on a map relocation the case prints a note; once they read (the map reader landed), the
//! case compares against its golden like any other and fails if there is none yet, telling
//! you to bless it.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use bpfir::ir::Module;

/// Where an object lives.
#[derive(Clone, Copy)]
enum Dir {
    /// `testdata/`.
    Testdata,
    /// The shared corpus (`../shared/corpus`), skipped with a note when absent.
    Corpus,
}

/// One golden case.
struct Case {
    dir: Dir,
    /// Path under `dir`; the golden is named after its file name.
    path: &'static str,
    /// Reading fails on maps until the map reader lands (see the module docs).
    waits_for_maps: bool,
}

const fn testdata(path: &'static str) -> Case {
    Case {
        dir: Dir::Testdata,
        path,
        waits_for_maps: false,
    }
}

const fn corpus(path: &'static str) -> Case {
    Case {
        dir: Dir::Corpus,
        path,
        waits_for_maps: false,
    }
}

const fn testdata_with_maps(path: &'static str) -> Case {
    Case {
        dir: Dir::Testdata,
        path,
        waits_for_maps: true,
    }
}

/// The objects with goldens. Golden names are the file names, so they must be unique.
const CASES: &[Case] = &[
    testdata("globals.bpfel.o"),
    testdata("globals.bpfeb.o"),
    testdata("trampoline.bpfel.o"),
    testdata_with_maps("core.bpfel.o"),
    testdata_with_maps("isa_v4.bpfel.o"),
    testdata_with_maps("calls.bpfel.o"),
    testdata_with_maps("maps.bpfel.o"),
    testdata_with_maps("tracing.bpfel.o"),
    corpus("cilium/btf/testdata/relocs-el.elf"),
    corpus("cilium/btf/testdata/relocs_read-el.elf"),
    corpus("cilium/btf/testdata/relocs_enum-el.elf"),
    corpus("cilium/testdata/kfunc-el.elf"),
    corpus("cilium/testdata/ksym-el.elf"),
    corpus("cilium/testdata/kconfig-el.elf"),
    corpus("cilium/testdata/variables-el.elf"),
];

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/dump")
}

fn bless() -> bool {
    std::env::var("BPFIR_BLESS").is_ok_and(|v| v == "1")
}

/// The first line where `got` and `want` differ, for a readable failure.
fn first_difference(got: &str, want: &str) -> String {
    for (n, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        if g != w {
            return format!("line {}:\n  got:  {g}\n  want: {w}", n + 1);
        }
    }
    format!(
        "one is a prefix of the other ({} lines vs {} golden lines)",
        got.lines().count(),
        want.lines().count()
    )
}

/// Checks (or, blessing, writes) one golden; returns a failure message.
fn check(name: &str, text: &str) -> Option<String> {
    let path = golden_dir().join(format!("{name}.txt"));
    if bless() {
        fs::create_dir_all(golden_dir()).expect("create tests/golden/dump");
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        eprintln!("{name}: blessed {}", path.display());
        return None;
    }
    match fs::read_to_string(&path) {
        Ok(want) if want == text => None,
        Ok(want) => Some(format!(
            "{name}: dump differs from {} at {} (BPFIR_BLESS=1 to accept)",
            path.display(),
            first_difference(text, &want)
        )),
        Err(e) => Some(format!(
            "{name}: no golden at {} ({e}); run BPFIR_BLESS=1 cargo test --test dump",
            path.display()
        )),
    }
}

#[test]
fn dumps_match_goldens() {
    let corpus_dir = common::corpus_dir();
    let mut failures = Vec::new();
    let mut compared = 0;
    for case in CASES {
        let path = match case.dir {
            Dir::Testdata => common::testdata_dir().join(case.path),
            Dir::Corpus => match &corpus_dir {
                Some(dir) => dir.join(case.path),
                None => {
                    eprintln!("{}: corpus absent, skipped", case.path);
                    continue;
                }
            },
        };
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let data = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let module = match Module::read(&data) {
            Ok(m) => m,
            Err(e) if case.waits_for_maps => {
                // Only a map relocation may fail; anything else is a regression.
                let msg = e.to_string();
                assert!(
                    msg.contains("section .maps") || msg.contains("section maps"),
                    "{name}: expected a map relocation error until the map reader lands, got: {msg}"
                );
                eprintln!("{name}: waits for the map reader ({msg}); skipped");
                continue;
            }
            Err(e) => panic!("{name}: {e}"),
        };
        let text = module.dump().to_string();
        // The dump depends only on the module: a second rendering and a clone agree.
        assert_eq!(text, module.dump().to_string(), "{name}: unstable dump");
        assert_eq!(
            text,
            module.clone().dump().to_string(),
            "{name}: clone differs"
        );
        compared += 1;
        failures.extend(check(&name, &text));
    }
    eprintln!("{compared} dumps compared");
    assert!(compared >= 3, "too few objects read: {compared}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every object that reads dumps without panicking, with one line per instruction.
#[test]
fn every_readable_object_dumps_each_instruction_once() {
    let mut dumped = 0;
    for (path, data) in common::all_objects() {
        let Ok(module) = Module::read(&data) else {
            continue;
        };
        let text = module.dump().to_string();
        let insns: usize = module
            .functions()
            .map(|(id, _)| module.func_insns(id).count())
            .sum();
        // In a function block, every indented line that is not a directive is one
        // instruction (labels sit at column 0).
        let mut in_function = false;
        let mut insn_lines = 0;
        for l in text.lines() {
            if l.starts_with("program @") || l.starts_with("subprogram @") {
                in_function = true;
            } else if l == "}" {
                in_function = false;
            } else if in_function && l.starts_with("    ") && !l.starts_with("    .") {
                insn_lines += 1;
            }
        }
        assert_eq!(insn_lines, insns, "{}", path.display());
        dumped += 1;
    }
    eprintln!("{dumped} objects dumped");
    assert!(dumped > 0);
}

/// `bpfir dump OBJ` prints exactly the library's dump.
#[test]
fn cli_prints_the_dump() {
    let obj = common::testdata_dir().join("globals.bpfel.o");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bpfir"))
        .arg("dump")
        .arg(&obj)
        .output()
        .expect("run bpfir");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let module = Module::read(&fs::read(&obj).unwrap()).unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        module.dump().to_string()
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bpfir"))
        .arg("dump")
        .arg(common::testdata_dir().join("no-such-object.o"))
        .output()
        .expect("run bpfir");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-object.o"));
}
