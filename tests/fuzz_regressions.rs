//! The fuzz targets' checks (`fuzz/checks.rs`), replayed on stable by an ordinary
//! `cargo test` over every seed (`fuzz/seeds/<target>/`, and `testdata/*.o` for the ELF and
//! link targets) and every input a fuzzer once failed on (`fuzz/regressions/<target>/`,
//! minimized). So CI guards each bug ever found without running a fuzzer. See
//! `fuzz/README.md` for how to add a finding.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

/// The files of `fuzz/<kind>/<target>/`, sorted (absent directory: none).
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"));
    files.sort();
    files
}

fn testdata_objects() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .collect();
    files.sort();
    files
}

/// A fuzz target's check.
type Check = fn(&[u8]) -> Result<(), checks::Finding>;

/// Runs `check` on every seed and regression input of `target` (plus `extra`); fails with
/// every finding at once. Returns how many inputs ran.
fn replay(
    target: &str,
    extra: Vec<PathBuf>,
    check: fn(&[u8]) -> Result<(), checks::Finding>,
) -> usize {
    let mut files = inputs("seeds", target);
    let n_seeds = files.len() + extra.len();
    files.extend(extra);
    files.extend(inputs("regressions", target));
    let mut findings = Vec::new();
    for f in &files {
        let data = std::fs::read(f).unwrap();
        if let Err(e) = check(&data) {
            findings.push(format!("{}: {e}", f.display()));
        }
    }
    assert!(
        findings.is_empty(),
        "{} findings:\n{}",
        findings.len(),
        findings.join("\n")
    );
    assert!(n_seeds > 0, "no seeds for {target}");
    files.len()
}

#[test]
fn elf_seeds_and_regressions() {
    let n = replay("elf", testdata_objects(), checks::elf);
    assert!(n >= testdata_objects().len());
}

#[test]
fn btf_seeds_and_regressions() {
    replay("btf", Vec::new(), checks::btf);
}

#[test]
fn btf_ext_seeds_and_regressions() {
    replay("btf_ext", Vec::new(), checks::btf_ext);
}

#[test]
fn co_re_seeds_and_regressions() {
    replay("co_re", Vec::new(), checks::co_re);
}

#[test]
fn link_seeds_and_regressions() {
    replay("link", Vec::new(), checks::link);
}

/// The checks find what they are meant to find: they are not tests that cannot fail.
#[test]
fn checks_catch_broken_promises() {
    use bpfir::btf::Btf;
    // A lowered program that breaks the kernel's rules.
    let bytes = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/calls.bpfel.o"))
        .unwrap();
    let m = bpfir::ir::Module::read(&bytes).unwrap();
    let (f, _) = m
        .programs()
        .find(|(f, _)| bpfir::lower::link_order(&m, *f).len() > 1)
        .expect("calls.bpfel.o has a program with subprograms");
    let mut p = bpfir::lower::lower(&m, f, &checks::fake_bindings(&m)).unwrap();
    assert_eq!(checks::kernel_rules(&p), Ok(()));
    p.func_info[1].insn_off = p.func_info[0].insn_off;
    assert!(checks::kernel_rules(&p)
        .unwrap_err()
        .contains("does not increase"));

    // Output out of proportion with the input.
    let btf = Btf::parse(&std::fs::read(inputs("seeds", "btf")[0].clone()).unwrap()).unwrap();
    assert!(checks::dedup_invariants(&btf, &bpfir::btf::dedup(&btf).unwrap()).is_ok());

    // Link inputs split where they were joined.
    let joined = checks::join_two(b"abc", b"de");
    assert_eq!(checks::split_two(&joined), Some((&b"abc"[..], &b"de"[..])));
    assert_eq!(checks::split_two(&[9, 0, 0, 0, 1]), None);
}

/// The link seeds reach the linker: each half reads (whatever its offset in the input), so
/// the target fuzzes linking, not the ELF header check.
#[test]
fn link_seeds_read_both_objects() {
    for f in inputs("seeds", "link") {
        let data = std::fs::read(&f).unwrap();
        let (a, b) = checks::split_two(&data).expect("a joined pair");
        for half in [a, b] {
            // An owned copy for the alignment the ELF reader wants.
            let owned = Vec::from(half);
            bpfir::ir::Module::read(&owned).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        }
    }
}

/// What a fuzz run left in `fuzz/artifacts/<target>/` (not committed), replayed through the
/// same checks: `cargo test --test fuzz_regressions -- --ignored artifacts`. Fails with
/// every finding the artifacts still show, so a fix can be checked on all of them at once
/// (see `fuzz/README.md`).
#[test]
#[ignore = "replays a fuzz run's local artifacts"]
fn artifacts_still_failing() {
    let mut findings = Vec::new();
    let targets: [(&str, Check); 5] = [
        ("elf", checks::elf),
        ("btf", checks::btf),
        ("btf_ext", checks::btf_ext),
        ("co_re", checks::co_re),
        ("link", checks::link),
    ];
    for (target, check) in targets {
        for f in inputs("artifacts", target) {
            let data = std::fs::read(&f).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(e)) => findings.push(format!("{}: {e}", f.display())),
                Err(_) => findings.push(format!("{}: panicked", f.display())),
            }
        }
    }
    assert!(
        findings.is_empty(),
        "{} findings:\n{}",
        findings.len(),
        findings.join("\n")
    );
}
