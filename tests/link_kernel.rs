//! The static linker against the kernel: `testdata/link_a` and `link_b` call each other's
//! global functions and share a map, a variable and a weak function, and each has a
//! self-checking socket filter, so they only pass once linked correctly (strong definitions
//! winning over weak ones, externs resolved across the two objects).
//!
//! With the kernel: the linked module loads and every program returns 0, in either input
//! order; so does the object bpfir writes, read back by bpfir and loaded by libbpf
//! (`libbpf_run`, built here when gcc and libbpf-dev are present); the CLI links and loads;
//! and libbpf's own linker (`bpftool gen object`, when installed) gives the same programs,
//! return values and kernel program tags. Without the kernel: both byte orders link, the
//! right weak/strong winners survive, and the written object reads back the same.
//!
//! Kernel tests skip with a printed reason where `bpf()` is not permitted; they fail instead
//! under `BPFIR_REQUIRE_KERNEL=1`. The libbpf and bpftool parts skip with a printed note when
//! those tools are missing.

mod common;
#[cfg(all(feature = "kernel", target_os = "linux"))]
#[path = "common/kernel.rs"]
mod kernel;

use std::collections::BTreeSet;
#[cfg(all(feature = "kernel", target_os = "linux"))]
use std::path::Path;
use std::path::PathBuf;

use bpfir::insn::{AluOp, Insn, Operand};
use bpfir::ir::Module;
use bpfir::link::{link, LinkOptions};
use bpfir::write::write_object;

const A: &str = "link_a";
const B: &str = "link_b";

/// The programs of the pair, each of which must return 0.
const PROGRAMS: [&str; 2] = ["check_a", "check_b"];

fn object_path(stem: &str, target: &str) -> PathBuf {
    common::testdata_dir().join(format!("{stem}.{target}.o"))
}

fn read(stem: &str, target: &str) -> Module {
    let path = object_path(stem, target);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Module::read(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Links the objects `stems` (in that order) of one byte order.
fn link_objects(stems: &[&str], target: &str) -> Module {
    let modules: Vec<Module> = stems.iter().map(|s| read(s, target)).collect();
    let opts = LinkOptions {
        input_names: stems.iter().map(|s| format!("{s}.{target}.o")).collect(),
        ..LinkOptions::default()
    };
    link(&modules, &opts).unwrap_or_else(|e| panic!("link {stems:?} ({target}): {e}"))
}

fn program_names(m: &Module) -> BTreeSet<String> {
    m.programs().map(|(_, f)| f.name.clone()).collect()
}

/// The immediates added by `which_one`'s body (`x + 1` in link_a, weak; `x + 2` in link_b).
fn which_one_addends(m: &Module) -> Vec<i32> {
    let f = m
        .function_by_name("which_one")
        .expect("the linked module has which_one");
    m.func_insns(f)
        .filter_map(|i| match m.insn(i) {
            Insn::Alu {
                op: AluOp::Add,
                src: Operand::Imm(imm),
                ..
            } => Some(*imm),
            _ => None,
        })
        .collect()
}

/// What the link must keep: both programs, one function per global name, with link_b's
/// strong `which_one` (it adds 2) over link_a's weak one (it adds 1), and one shared map.
fn check_linked_shape(m: &Module, what: &str) {
    let want: BTreeSet<String> = PROGRAMS.iter().map(|s| s.to_string()).collect();
    assert_eq!(program_names(m), want, "{what}: programs");
    for name in [
        "which_one",
        "a_helper",
        "a_via_b",
        "a_map_set",
        "a_var_get",
        "b_helper",
        "b_map_get",
        "b_var_get",
        "b_var_set",
    ] {
        let n = m.functions().filter(|(_, f)| f.name == name).count();
        assert_eq!(n, 1, "{what}: functions named {name}");
    }
    assert_eq!(
        which_one_addends(m),
        [2],
        "{what}: which_one must be link_b's strong definition (x + 2)"
    );
    let maps: Vec<&str> = m.maps().map(|(_, d)| d.name.as_str()).collect();
    assert_eq!(maps, ["shared_map"], "{what}: maps");
}

#[test]
fn both_byte_orders_link_with_the_strong_definitions_and_round_trip() {
    for target in ["bpfel", "bpfeb"] {
        // Before linking, each object has its own which_one: the shape check tells them apart.
        assert_eq!(which_one_addends(&read(A, target)), [1], "{A} ({target})");
        assert_eq!(which_one_addends(&read(B, target)), [2], "{B} ({target})");
        for order in [[A, B], [B, A]] {
            let what = format!("{order:?} ({target})");
            let linked = link_objects(&order, target);
            check_linked_shape(&linked, &what);
            let bytes = write_object(&linked).unwrap_or_else(|e| panic!("{what}: write: {e}"));
            let back = Module::read(&bytes).unwrap_or_else(|e| panic!("{what}: read back: {e}"));
            check_linked_shape(&back, &format!("{what}, written and read back"));
        }
    }
}

/// A scratch directory for one test, removed when dropped.
#[cfg(all(feature = "kernel", target_os = "linux"))]
struct TempDir(PathBuf);

#[cfg(all(feature = "kernel", target_os = "linux"))]
impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("bpfir-link-kernel-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

#[cfg(all(feature = "kernel", target_os = "linux"))]
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One program's result: name, return value of one test run, kernel program tag.
#[cfg(all(feature = "kernel", target_os = "linux"))]
type Run = (String, u32, String);

/// Loads `m` with bpfir and runs every program once on a 64-byte zero packet.
#[cfg(all(feature = "kernel", target_os = "linux"))]
fn load_and_run(m: &Module, what: &str) -> Vec<Run> {
    use bpfir::load::{load, LoadOptions};
    let opts = LoadOptions {
        object_name: "link_ab".to_string(),
        ..LoadOptions::default()
    };
    let loaded = load(m, &opts).unwrap_or_else(|e| panic!("{what}: load: {e}"));
    kernel::check_offline_tags(what, &loaded);
    let mut out = Vec::new();
    for p in &loaded.programs {
        let lp = p
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("{what}: {}: {e}", p.name));
        let retval = lp
            .run_zero_packet(64)
            .unwrap_or_else(|e| panic!("{what}: {}: test run: {e}", p.name))
            .retval;
        out.push((p.name.clone(), retval, lp.tag.clone()));
    }
    out.sort();
    out
}

/// Every program of the pair is there and returned 0 (else the line of its failed check).
#[cfg(all(feature = "kernel", target_os = "linux"))]
fn assert_all_pass(runs: &[Run], what: &str) {
    let names: Vec<&str> = runs.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(names, PROGRAMS, "{what}: programs");
    for (name, retval, _) in runs {
        assert_eq!(
            *retval, 0,
            "{what}: {name} returned {retval} (the line of its failed check in link_a.bpf.c or link_b.bpf.c)"
        );
    }
}

#[cfg(all(feature = "kernel", target_os = "linux"))]
#[test]
fn linked_pair_loads_and_checks_itself_in_either_order() {
    if !kernel::kernel_available("linked_pair_loads_and_checks_itself_in_either_order") {
        return;
    }
    let ab = load_and_run(&link_objects(&[A, B], "bpfel"), "bpfir link a b");
    assert_all_pass(&ab, "bpfir link a b");
    // libbpf 1.1's linker cannot do this order (its output fails to open: "map relo failed
    // to find map for section '.maps'", the weak map coming first); bpfir's must.
    let ba = load_and_run(&link_objects(&[B, A], "bpfel"), "bpfir link b a");
    assert_all_pass(&ba, "bpfir link b a");
    // Same instructions whatever the input order: the kernel's tags agree.
    assert_eq!(ab, ba, "tags of the two link orders");
}

#[cfg(all(feature = "kernel", target_os = "linux"))]
#[test]
fn written_linked_pair_reads_back_and_loads() {
    if !kernel::kernel_available("written_linked_pair_reads_back_and_loads") {
        return;
    }
    let linked = link_objects(&[A, B], "bpfel");
    let direct = load_and_run(&linked, "linked");
    let bytes = write_object(&linked).unwrap_or_else(|e| panic!("write: {e}"));
    let back = Module::read(&bytes).unwrap_or_else(|e| panic!("read back: {e}"));
    let written = load_and_run(&back, "written and read back");
    assert_all_pass(&written, "written and read back");
    assert_eq!(
        direct, written,
        "the written object loads as the linked module"
    );
}

/// `libbpf_run` (from `../shared/tools/libbpf_run.c`), built once into a scratch directory;
/// `None` with a printed note when gcc or libbpf-dev is missing.
#[cfg(all(feature = "kernel", target_os = "linux"))]
fn libbpf_run(dir: &TempDir) -> Option<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/libbpf_run.c");
    if !source.is_file() {
        eprintln!("{} not found; skipping the libbpf part", source.display());
        return None;
    }
    if !Path::new("/usr/include/bpf/libbpf.h").is_file() {
        eprintln!("libbpf-dev not installed (no <bpf/libbpf.h>); skipping the libbpf part");
        return None;
    }
    let out = dir.path("libbpf_run");
    let status = std::process::Command::new("gcc")
        .arg("-O2")
        .arg("-o")
        .arg(&out)
        .arg(&source)
        .args(["-lbpf", "-lelf", "-lz"])
        .status();
    match status {
        Ok(s) if s.success() => Some(out),
        Ok(s) => {
            eprintln!("gcc could not build libbpf_run ({s}); skipping the libbpf part");
            None
        }
        Err(e) => {
            eprintln!("gcc not available ({e}); skipping the libbpf part");
            None
        }
    }
}

/// Runs `libbpf_run OBJ` and parses its `NAME retval=R err=E insns=N tag=T` lines. Every
/// program must have loaded (libbpf loads all or nothing) and run without error.
#[cfg(all(feature = "kernel", target_os = "linux"))]
fn run_with_libbpf(tool: &Path, object: &Path, what: &str) -> Vec<Run> {
    let out = std::process::Command::new(tool)
        .arg(object)
        .output()
        .unwrap_or_else(|e| panic!("{what}: run {}: {e}", tool.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The kernel must accept the object's BTF (libbpf would otherwise go on without BTF,
    // func_info and line_info, and the programs would still run).
    assert!(
        !stderr.contains("BTF loading error"),
        "{what}: the kernel refused the object's BTF when libbpf loaded it:\n{stderr}"
    );
    let mut runs = Vec::new();
    for line in stdout.lines() {
        let mut fields = line.split_whitespace();
        let name = fields.next().unwrap_or_default().to_string();
        let mut retval = None;
        let mut err = None;
        let mut tag = None;
        for field in fields {
            match field.split_once('=') {
                Some(("retval", v)) => retval = v.parse::<u32>().ok(),
                Some(("err", v)) => err = v.parse::<i32>().ok(),
                Some(("tag", v)) => tag = Some(v.to_string()),
                _ => {}
            }
        }
        let (Some(retval), Some(err), Some(tag)) = (retval, err, tag) else {
            panic!("{what}: unexpected libbpf_run line {line:?}\nstderr:\n{stderr}");
        };
        assert_eq!(err, 0, "{what}: {name}: test run error\nstderr:\n{stderr}");
        runs.push((name, retval, tag));
    }
    assert!(
        !runs.is_empty(),
        "{what}: libbpf loaded nothing ({})\nstderr:\n{stderr}",
        out.status
    );
    runs.sort();
    runs
}

#[cfg(all(feature = "kernel", target_os = "linux"))]
#[test]
fn written_linked_pair_loads_with_libbpf() {
    if !kernel::kernel_available("written_linked_pair_loads_with_libbpf") {
        return;
    }
    let dir = TempDir::new("libbpf");
    let Some(tool) = libbpf_run(&dir) else {
        return;
    };
    let linked = link_objects(&[A, B], "bpfel");
    let ours = load_and_run(&linked, "bpfir");
    let object = dir.path("link_ab.o");
    std::fs::write(&object, write_object(&linked).unwrap()).unwrap();
    let theirs = run_with_libbpf(&tool, &object, "libbpf loading bpfir's object");
    assert_all_pass(&theirs, "libbpf loading bpfir's object");
    assert_eq!(
        ours, theirs,
        "libbpf loads bpfir's object into the same programs (names, retvals, tags) as bpfir"
    );
}

#[cfg(all(feature = "kernel", target_os = "linux"))]
#[test]
fn cli_links_and_loads() {
    if !kernel::kernel_available("cli_links_and_loads") {
        return;
    }
    let dir = TempDir::new("cli");
    let out = dir.path("link_ab.o");
    let bin = env!("CARGO_BIN_EXE_bpfir");
    let linked = std::process::Command::new(bin)
        .arg("link")
        .arg(object_path(A, "bpfel"))
        .arg(object_path(B, "bpfel"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        linked.status.success(),
        "bpfir link: {}\n{}",
        linked.status,
        String::from_utf8_lossy(&linked.stderr)
    );
    let loaded = std::process::Command::new(bin)
        .arg("load")
        .arg(&out)
        .arg("--run")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&loaded.stdout);
    assert!(
        loaded.status.success(),
        "bpfir load --run: {}\n{stdout}\n{}",
        loaded.status,
        String::from_utf8_lossy(&loaded.stderr)
    );
    for name in PROGRAMS {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(name) && l.contains("retval=0")),
            "bpfir load --run: no `{name} ... retval=0` line in\n{stdout}"
        );
    }
}

#[cfg(all(feature = "kernel", target_os = "linux"))]
#[test]
fn same_as_libbpfs_linker() {
    if !kernel::kernel_available("same_as_libbpfs_linker") {
        return;
    }
    let dir = TempDir::new("bpftool");
    let theirs_object = dir.path("link_ab.bpftool.o");
    let status = std::process::Command::new("bpftool")
        .args(["gen", "object"])
        .arg(&theirs_object)
        .arg(object_path(A, "bpfel"))
        .arg(object_path(B, "bpfel"))
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("bpftool gen object failed ({s}) on the pair"),
        Err(e) => {
            eprintln!("bpftool not available ({e}); skipping the comparison with libbpf's linker");
            return;
        }
    }
    let Some(tool) = libbpf_run(&dir) else {
        return;
    };
    let theirs = run_with_libbpf(&tool, &theirs_object, "libbpf's linker");
    assert_all_pass(&theirs, "libbpf's linker");
    let ours = load_and_run(&link_objects(&[A, B], "bpfel"), "bpfir's linker");
    // Same names and return values; equal tags mean the kernel got the same instructions.
    assert_eq!(ours, theirs, "bpfir's link against libbpf's");
}
