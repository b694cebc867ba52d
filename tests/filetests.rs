//! File tests: every `tests/filetests/**/*.bpfir` is a module in the text form with
//! directives, run by this one harness (cranelift's filetests, LLVM's lit in miniature).
//!
//! A file:
//!
//! ```text
//! ; What the test is about.
//! ; run: lower
//! ; run: verify
//! program @p section="socket" linkage=global {
//!     r0 = 0x0
//!     exit
//! }
//! ; ==== lower
//! ; program p
//! ;        0:  r0 = 0x0
//! ; ...
//! ; ==== verify
//! ; ok
//! ```
//!
//! Everything before the first `; ====` line is the input (the directives are comments, so
//! it parses as it stands). Each `; run: D` directive produces text that must equal, line for
//! line, the `; ==== D` section of the file (each line behind `; `). Directives:
//!
//! * `parse-error` — the text must not parse (parsing includes the verifier's structure
//!   checks); the output is the error (line, column, caret).
//! * `print` — the canonical text of the parsed module.
//! * `verify` — the IR verifier (`Module::verify`) on the text parsed without verification:
//!   `ok`, or one line per broken invariant.
//! * `lower` — every program lowered with made-up fds (maps 100+, data 200+): the listing,
//!   then func_info, line_info and core_relo records; or the error.
//! * `co-re target=PATH` — CO-RE relocated against PATH's BTF (a `.bpfir` file or an object,
//!   relative to the test's directory): the report, then the functions as text.
//! * `link PATH` — linked with the module of PATH (`.bpfir`, relative to the test): the text
//!   of the result and its programs lowered as `lower` does, or the error.
//! * `kernel-test-run retval=N` — written with `write_object`, read back, loaded by bpfir and
//!   run once on a zero packet: `NAME retval=R` per program, each R must be N; the same object
//!   is also loaded and run by libbpf (`../shared/tools/libbpf-1.8-load -r`) when present.
//!   Skipped (with a note) where the kernel is not available.
//!
//! Every file that parses also checks `print(parse(print(parse(t)))) == print(parse(t))`.
//!
//! A failure prints a line diff of expected (`-`) and actual (`+`). `BPFIR_BLESS=1 cargo test
//! --test filetests` rewrites the expected sections (review the diff before committing);
//! `BPFIR_FILETEST=substring` runs only the files whose path contains it.

mod common;
#[path = "common/kernel.rs"]
mod kernel;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bpfir::co_re::{relocate, Targets};
use bpfir::ir::text::{parse, parse_unverified};
use bpfir::ir::Module;
use bpfir::lower::lower;

fn filetests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filetests")
}

fn bless() -> bool {
    std::env::var("BPFIR_BLESS").is_ok_and(|v| v == "1")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "bpfir") {
            out.push(p);
        }
    }
}

/// A test file split into its input, directives and expected sections.
struct TestFile {
    input: String,
    directives: Vec<String>,
    expected: Vec<(String, String)>,
}

fn split(text: &str) -> TestFile {
    let mut input = String::new();
    let mut expected: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(d) = line.strip_prefix("; ==== ") {
            expected.push((d.trim().to_string(), String::new()));
        } else if let Some((_, body)) = expected.last_mut() {
            let l = line.strip_prefix("; ").or_else(|| line.strip_prefix(';'));
            body.push_str(l.unwrap_or(line));
            body.push('\n');
        } else {
            input.push_str(line);
            input.push('\n');
        }
    }
    let directives = input
        .lines()
        .filter_map(|l| l.strip_prefix("; run:"))
        .map(|d| d.trim().to_string())
        .collect();
    TestFile {
        input,
        directives,
        expected,
    }
}

/// A line diff (longest common subsequence), `-` expected, `+` actual.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            let _ = writeln!(out, "  {}", a[i]);
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            let _ = writeln!(out, "- {}", a[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "+ {}", b[j]);
            j += 1;
        }
    }
    out
}

fn run_lower(m: &Module) -> String {
    let bindings = common::fake_bindings(m);
    let mut out = String::new();
    for (f, func) in m.programs() {
        let _ = writeln!(out, "program {}", func.name);
        match lower(m, f, &bindings) {
            Ok(p) => {
                out.push_str(&p.to_string());
                for r in &p.func_info {
                    let _ = writeln!(
                        out,
                        "func_info insn_off={} type_id={}",
                        r.insn_off, r.type_id
                    );
                }
                for r in &p.line_info {
                    let _ = writeln!(
                        out,
                        "line_info insn_off={} file={} line={} line_num={} col={}",
                        r.insn_off, r.file_name, r.line, r.line_num, r.col
                    );
                }
                for r in &p.core_relos {
                    let _ = writeln!(
                        out,
                        "core_relo insn_off={} type_id={} access={} kind={}",
                        r.insn_off, r.type_id, r.access, r.kind
                    );
                }
            }
            Err(e) => {
                let _ = writeln!(out, "error: {e}");
            }
        }
    }
    out
}

/// The IR verifier (`Module::verify`) on the module as parsed without verification.
fn run_verify(input: &str) -> String {
    let m = match parse_unverified(input) {
        Ok(m) => m,
        Err(e) => return format!("unexpected parse error: {e}\n"),
    };
    match m.verify() {
        Ok(()) => "ok\n".into(),
        Err(errors) => errors.iter().map(|e| format!("{e}\n")).collect(),
    }
}

/// The module of a `.bpfir` file or an object, relative to `dir`.
fn load_other(dir: &Path, path: &str) -> Result<Module, String> {
    let p = dir.join(path);
    if path.ends_with(".bpfir") {
        let text = fs::read_to_string(&p).map_err(|e| format!("{path}: {e}"))?;
        parse(&text).map_err(|e| format!("{path}:{e}"))
    } else {
        let bytes = fs::read(&p).map_err(|e| format!("{path}: {e}"))?;
        Module::read(&bytes).map_err(|e| format!("{path}: {e}"))
    }
}

/// The function blocks of a module's text (its header and BTF left out).
fn functions_text(m: &Module) -> String {
    let text = m.text().to_string();
    let mut out = String::new();
    let mut on = false;
    for l in text.lines() {
        if l.starts_with("program @") || l.starts_with("subprogram @") {
            on = true;
        }
        if on {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

fn run_co_re(dir: &Path, m: &Module, args: &str) -> String {
    let Some(path) = args.strip_prefix("target=") else {
        return format!("bad directive: co-re {args}\n");
    };
    let target = match load_other(dir, path.trim()) {
        Ok(t) => t,
        Err(e) => return format!("error: {e}\n"),
    };
    let Some(btf) = target.btf else {
        return format!("error: {path} has no btf\n");
    };
    let mut m = m.clone();
    match relocate(&mut m, &Targets::single(path.trim(), Arc::new(btf))) {
        Ok(report) => format!("{report}{}", functions_text(&m)),
        Err(e) => format!("error: {e}\n"),
    }
}

fn run_link(dir: &Path, m: &Module, args: &str) -> String {
    let other = match load_other(dir, args.trim()) {
        Ok(o) => o,
        Err(e) => return format!("error: {e}\n"),
    };
    let opts = bpfir::link::LinkOptions {
        input_names: vec!["this".into(), args.trim().into()],
        ..Default::default()
    };
    match bpfir::link::link(&[m.clone(), other], &opts) {
        Ok(linked) => format!("{}{}", linked.text(), run_lower(&linked)),
        Err(e) => format!("error: {e}\n"),
    }
}

/// Loads and runs with bpfir, then with libbpf; `None` when the kernel is not available.
fn run_kernel(path: &Path, m: &Module, args: &str) -> Option<Result<String, String>> {
    let want: Option<u32> = args
        .split_whitespace()
        .find_map(|a| a.strip_prefix("retval="))
        .and_then(|v| v.parse().ok());
    let name = path.display().to_string();
    if !kernel::kernel_available(&name) {
        return None;
    }
    let bytes = match bpfir::write::write_object(m) {
        Ok(b) => b,
        Err(e) => return Some(Ok(format!("write error: {e}\n"))),
    };
    let back = match Module::read(&bytes) {
        Ok(b) => b,
        Err(e) => return Some(Ok(format!("read error: {e}\n"))),
    };
    let stem = path.file_stem().unwrap().to_string_lossy().to_string();
    let opts = bpfir::load::LoadOptions {
        object_name: stem.clone(),
        ..Default::default()
    };
    let mut out = String::new();
    let mut bpfir_results = Vec::new();
    match bpfir::load::load(&back, &opts) {
        Ok(loaded) => {
            kernel::check_offline_tags(&stem, &loaded);
            for p in &loaded.programs {
                match &p.result {
                    Ok(prog) => match prog.run_zero_packet(64) {
                        Ok(r) => {
                            let _ = writeln!(out, "{} retval={}", p.name, r.retval);
                            bpfir_results.push((p.name.clone(), r.retval));
                        }
                        Err(e) => {
                            let _ = writeln!(out, "{} run error: {e}", p.name);
                        }
                    },
                    Err(e) => {
                        let _ = writeln!(out, "{} load error: {e}", p.name);
                    }
                }
            }
        }
        Err(e) => {
            let _ = writeln!(out, "load error: {e}");
        }
    }
    if let Some(want) = want {
        for (prog, got) in &bpfir_results {
            if *got != want {
                return Some(Err(format!(
                    "{prog}: bpfir ran it to {got}, the directive wants {want}"
                )));
            }
        }
    }
    // The same object through libbpf, when the reference loader is here.
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/libbpf-1.8-load");
    if tool.is_file() {
        let obj =
            std::env::temp_dir().join(format!("bpfir-filetest-{}-{stem}.o", std::process::id()));
        fs::write(&obj, &bytes).expect("write temp object");
        let run = std::process::Command::new(&tool)
            .arg("-r")
            .arg(&obj)
            .output();
        let _ = fs::remove_file(&obj);
        match run {
            Ok(o) => {
                // Its exit status also reflects the programs' return values: read the lines.
                let stdout = String::from_utf8_lossy(&o.stdout);
                for (prog, got) in &bpfir_results {
                    let line = stdout
                        .lines()
                        .find(|l| l.split_whitespace().next() == Some(prog));
                    let retval = line.and_then(|l| {
                        l.split_whitespace()
                            .find_map(|w| w.strip_prefix("retval="))
                            .and_then(|v| v.parse::<u32>().ok())
                    });
                    if retval != Some(*got) {
                        return Some(Err(format!(
                            "{prog}: bpfir returned {got}, libbpf printed {line:?}: {}",
                            String::from_utf8_lossy(&o.stderr)
                        )));
                    }
                }
            }
            Err(e) => eprintln!("{}: libbpf loader not run ({e})", path.display()),
        }
    } else {
        eprintln!(
            "{}: no libbpf loader at {}; libbpf part skipped",
            path.display(),
            tool.display()
        );
    }
    Some(Ok(out))
}

/// Runs one file; `Err` is the failure report.
fn run_file(path: &Path) -> Result<(), String> {
    let text = fs::read_to_string(path).map_err(|e| e.to_string())?;
    let tf = split(&text);
    if tf.directives.is_empty() {
        return Err("no `; run:` directive".into());
    }
    let dir = path.parent().unwrap();
    let parsed = parse(&tf.input);
    if let Ok(m) = &parsed {
        let once = m.text().to_string();
        let twice = parse(&once)
            .map_err(|e| format!("the printed text does not parse: {e}"))?
            .text()
            .to_string();
        if once != twice {
            return Err(format!("printing is not stable:\n{}", diff(&once, &twice)));
        }
    }
    let mut outputs = Vec::new();
    let mut failures = Vec::new();
    for d in &tf.directives {
        let (name, args) = d.split_once(' ').unwrap_or((d.as_str(), ""));
        let out = match (name, &parsed) {
            ("parse-error", Ok(_)) => "error: the text parsed\n".to_string(),
            ("parse-error", Err(e)) => format!("{e}\n"),
            ("verify", _) => run_verify(&tf.input),
            (_, Err(e)) => format!("unexpected parse error: {e}\n"),
            ("print", Ok(m)) => m.text().to_string(),
            ("lower", Ok(m)) => run_lower(m),
            ("co-re", Ok(m)) => run_co_re(dir, m, args),
            ("link", Ok(m)) => run_link(dir, m, args),
            ("kernel-test-run", Ok(m)) => match run_kernel(path, m, args) {
                None => {
                    // Keep the expected section as it is.
                    let kept = tf
                        .expected
                        .iter()
                        .find(|(k, _)| k == d)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default();
                    outputs.push((d.clone(), kept));
                    continue;
                }
                Some(Ok(out)) => out,
                Some(Err(e)) => {
                    failures.push(format!("{d}: {e}"));
                    continue;
                }
            },
            _ => format!("unknown directive `{d}`\n"),
        };
        outputs.push((d.clone(), out));
    }
    if bless() {
        let mut new = tf.input.clone();
        for (d, out) in &outputs {
            let _ = writeln!(new, "; ==== {d}");
            for l in out.lines() {
                if l.is_empty() {
                    new.push_str(";\n");
                } else {
                    let _ = writeln!(new, "; {l}");
                }
            }
        }
        if new != text {
            fs::write(path, new).map_err(|e| e.to_string())?;
            eprintln!("blessed {}", path.display());
        }
    } else {
        for (d, out) in &outputs {
            match tf.expected.iter().find(|(k, _)| k == d) {
                Some((_, want)) if want == out => {}
                Some((_, want)) => {
                    failures.push(format!("{d}: output differs:\n{}", diff(want, out)))
                }
                None => failures.push(format!(
                    "{d}: no `; ==== {d}` section (BPFIR_BLESS=1 writes it)"
                )),
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

#[test]
fn filetests() {
    let mut paths = Vec::new();
    files(&filetests_dir(), &mut paths);
    let only = std::env::var("BPFIR_FILETEST").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for p in &paths {
        if only
            .as_ref()
            .is_some_and(|o| !p.to_string_lossy().contains(o.as_str()))
        {
            continue;
        }
        ran += 1;
        if let Err(e) = run_file(p) {
            failures.push(format!("{}:\n{e}", p.display()));
        }
    }
    eprintln!("{ran} file tests run");
    assert!(
        failures.is_empty(),
        "{} of {ran} file tests failed (BPFIR_BLESS=1 to accept intended changes):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    if only.is_none() {
        assert!(ran >= 40, "only {ran} file tests");
    }
}

#[test]
fn diff_marks_removed_and_added_lines() {
    assert_eq!(diff("a\nb\nc\n", "a\nx\nc\n"), "  a\n- b\n+ x\n  c\n");
    let tf = split("; run: print\nexit\n; ==== print\n; one\n;\n; two\n");
    assert_eq!(tf.directives, ["print"]);
    assert_eq!(
        tf.expected,
        [("print".to_string(), "one\n\ntwo\n".to_string())]
    );
}
