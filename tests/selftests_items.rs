//! One small object of our own per item of the selftests conformance work (issue 10), each
//! loaded (and, where it can run, run) through the kernel: what a loader must do that the
//! kernel's selftests showed bpfir did not.
//!
//! Skips with a printed reason where `bpf()` is not permitted; fails instead under
//! `BPFIR_REQUIRE_KERNEL=1`.
#![cfg(all(feature = "kernel", target_os = "linux"))]

mod common;
#[path = "common/kernel.rs"]
mod kernel;

use bpfir::ir::Module;
use bpfir::load::{load, LoadOptions, Loaded};

fn read(name: &str) -> Module {
    let data = std::fs::read(common::testdata_dir().join(name)).unwrap();
    Module::read(&data).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn native(stem: &str) -> String {
    if cfg!(target_endian = "little") {
        format!("{stem}.bpfel.o")
    } else {
        format!("{stem}.bpfeb.o")
    }
}

fn options(stem: &str) -> LoadOptions {
    LoadOptions {
        object_name: stem.to_string(),
        ..LoadOptions::default()
    }
}

/// Every program of `loaded` that ran returned 0 (self-checking programs).
fn run_all(loaded: &Loaded) {
    for p in &loaded.programs {
        let lp = p
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: {e}", p.name));
        let r = lp.run_zero_packet(64).unwrap();
        assert_eq!(
            r.retval, 0,
            "{} failed its check at line {}",
            p.name, r.retval
        );
    }
}

#[test]
fn question_mark_sections_stay_off_unless_asked_for() {
    // Both byte orders read; the section keeps its `?`.
    for name in ["autoload.bpfel.o", "autoload.bpfeb.o"] {
        let m = read(name);
        let off = m.programs().find(|(_, f)| f.name == "off").unwrap().1;
        assert_eq!(off.section, "?socket", "{name}");
        assert!(!bpfir::sys::autoload(&off.section));
        assert_eq!(
            bpfir::sys::program_kind(&off.section).map(|k| k.prog_type),
            Some(bpfir::sys::ProgType::SOCKET_FILTER)
        );
    }
    if !kernel::kernel_available("question_mark_sections_stay_off_unless_asked_for") {
        return;
    }
    let m = read(&native("autoload"));
    let loaded = load(&m, &options("autoload")).unwrap();
    let names: Vec<_> = loaded.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["on"], "only the autoloaded program is tried");
    run_all(&loaded);
    // Asked for by name, the `?` program is tried, and the verifier refuses its write.
    let opts = LoadOptions {
        programs: vec!["off".into()],
        ..options("autoload")
    };
    let loaded = load(&m, &opts).unwrap();
    assert_eq!(loaded.programs.len(), 1);
    let err = loaded.programs[0].result.as_ref().unwrap_err().to_string();
    assert!(err.contains("EACCES") || err.contains("EINVAL"), "{err}");
}
