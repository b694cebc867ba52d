//! `bpfir dis`, `asm` and `fmt` as a user runs them: dis then asm reproduces an object that
//! bpfir and libbpf load and run to the same results as the original; fmt prints the
//! canonical form; errors name the file, line and column.

mod common;
#[path = "common/kernel.rs"]
mod kernel;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bpfir(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bpfir"))
        .args(args)
        .output()
        .expect("run bpfir")
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("bpfir-text-cli-{}-{name}", std::process::id()))
}

#[test]
fn dis_asm_dis_is_stable_and_fmt_is_canonical() {
    let obj = common::testdata_dir().join("calls.bpfel.o");
    let out = bpfir(&["dis", obj.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let src = tmp("calls.bpfir");
    fs::write(&src, &text).unwrap();
    let written = tmp("calls.o");
    let out = bpfir(&[
        "asm",
        src.to_str().unwrap(),
        "-o",
        written.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = bpfir(&["dis", written.to_str().unwrap()]);
    assert_eq!(String::from_utf8(again.stdout).unwrap(), text);

    // fmt of loose text is the canonical text, and fmt of that is itself.
    let loose = tmp("loose.bpfir");
    fs::write(
        &loose,
        "program @p   section=\"socket\" {\n  r0 = 0\n  exit ; done\n}\n",
    )
    .unwrap();
    let out = bpfir(&["fmt", loose.to_str().unwrap()]);
    let canonical = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        canonical,
        "; bpfir text\nendian little\n\nprogram @p section=\"socket\" linkage=global {\n    r0 = 0x0\n    exit\n}\n"
    );
    fs::write(&loose, &canonical).unwrap();
    let out = bpfir(&["fmt", loose.to_str().unwrap()]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), canonical);
    for p in [src, written, loose] {
        let _ = fs::remove_file(p);
    }
}

#[test]
fn asm_errors_name_file_line_and_column() {
    let src = tmp("bad.bpfir");
    fs::write(
        &src,
        "program @p section=\"socket\" {\n    r1 = map @nope\n    exit\n}\n",
    )
    .unwrap();
    let out = bpfir(&[
        "asm",
        src.to_str().unwrap(),
        "-o",
        tmp("bad.o").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let want = format!(
        "bpfir: {}:2:14: unknown map @nope\n2 |     r1 = map @nope\n  |              ^\n",
        src.display()
    );
    assert_eq!(err, want);
    let _ = fs::remove_file(src);
}

/// Runs every program of `obj` with libbpf's loader: `(program, retval)`.
fn libbpf_runs(obj: &Path) -> Option<Vec<(String, u32)>> {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/libbpf-1.8-load");
    if !tool.is_file() {
        eprintln!("no libbpf loader at {}; skipped", tool.display());
        return None;
    }
    let out = Command::new(tool)
        .arg("-r")
        .arg(obj)
        .output()
        .expect("run libbpf loader");
    let stdout = String::from_utf8_lossy(&out.stdout);
    Some(
        stdout
            .lines()
            .filter_map(|l| {
                let name = l.split_whitespace().next()?.to_string();
                let r = l
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("retval="))?;
                Some((name, r.parse().ok()?))
            })
            .collect(),
    )
}

/// Every self-checking test object, disassembled to text and assembled back, runs under
/// libbpf exactly as the original does (objects libbpf cannot open, such as legacy maps, are
/// compared as refused both times), and to the values the test suite expects.
#[test]
fn reassembled_testdata_runs_under_libbpf_like_the_original() {
    if !kernel::kernel_available("reassembled_testdata_runs_under_libbpf_like_the_original") {
        return;
    }
    let mut checked = 0;
    let mut objects: Vec<&str> = common::EXPECTED_RUNS.iter().map(|r| r.0).collect();
    objects.dedup();
    for name in objects {
        let obj = common::testdata_dir().join(name);
        let text = bpfir(&["dis", obj.to_str().unwrap()]);
        assert!(text.status.success());
        let src = tmp(&format!("{name}.bpfir"));
        fs::write(&src, &text.stdout).unwrap();
        let written = tmp(name);
        let out = bpfir(&[
            "asm",
            src.to_str().unwrap(),
            "-o",
            written.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (Some(original), Some(runs)) = (libbpf_runs(&obj), libbpf_runs(&written)) else {
            return;
        };
        assert_eq!(
            runs, original,
            "{name}: libbpf runs the reassembled object differently"
        );
        for (obj_name, prog, want) in common::EXPECTED_RUNS {
            let Some(want) = want else { continue };
            if *obj_name != name || original.is_empty() {
                continue;
            }
            let got = runs.iter().find(|(p, _)| p == prog).map(|(_, r)| *r);
            assert_eq!(
                got,
                Some(*want),
                "{name}: {prog} under libbpf after dis/asm"
            );
            checked += 1;
        }
        let _ = fs::remove_file(src);
        let _ = fs::remove_file(written);
    }
    eprintln!("{checked} reassembled programs ran under libbpf");
    assert!(checked >= 5, "only {checked} programs checked");
}
