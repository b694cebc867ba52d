//! The `bpfir` command line as a user meets it: help and version, usage errors and their
//! exit codes (0 ok, 1 failure, 2 usage), `--json` on every command that prints data (and
//! errors as JSON), shell completions, a closed output pipe, and what `load` checks before
//! any system call.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bpfir(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bpfir"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run bpfir")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bpfir-cli-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A strict JSON checker (RFC 8259 values), enough to tell that `--json` prints JSON.
fn json_value(s: &[u8], mut i: usize) -> Result<usize, String> {
    let ws = |s: &[u8], mut i: usize| {
        while i < s.len() && b" \t\r\n".contains(&s[i]) {
            i += 1;
        }
        i
    };
    i = ws(s, i);
    let err = |i: usize| format!("bad JSON at byte {i}");
    match s.get(i) {
        Some(b'{') | Some(b'[') => {
            let (close, object) = if s[i] == b'{' {
                (b'}', true)
            } else {
                (b']', false)
            };
            i = ws(s, i + 1);
            if s.get(i) == Some(&close) {
                return Ok(i + 1);
            }
            loop {
                if object {
                    if s.get(i) != Some(&b'"') {
                        return Err(err(i));
                    }
                    i = ws(s, json_value(s, i)?);
                    if s.get(i) != Some(&b':') {
                        return Err(err(i));
                    }
                    i += 1;
                }
                i = ws(s, json_value(s, i)?);
                match s.get(i) {
                    Some(b',') => i += 1,
                    Some(&c) if c == close => return Ok(i + 1),
                    _ => return Err(err(i)),
                }
                i = ws(s, i);
            }
        }
        Some(b'"') => {
            i += 1;
            while let Some(&c) = s.get(i) {
                match c {
                    b'"' => return Ok(i + 1),
                    b'\\' => i += 2,
                    c if c < 0x20 => return Err(err(i)),
                    _ => i += 1,
                }
            }
            Err(err(i))
        }
        Some(b't') if s[i..].starts_with(b"true") => Ok(i + 4),
        Some(b'f') if s[i..].starts_with(b"false") => Ok(i + 5),
        Some(b'n') if s[i..].starts_with(b"null") => Ok(i + 4),
        Some(c) if c.is_ascii_digit() || *c == b'-' => {
            i += 1;
            while s.get(i).is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
            }
            Ok(i)
        }
        _ => Err(err(i)),
    }
}

/// `text` is one or more JSON values (one value, or one per line), nothing else.
fn assert_json_lines(what: &str, text: &str) {
    assert!(!text.trim().is_empty(), "{what}: no output");
    let mut i = 0;
    while !text[i..].trim().is_empty() {
        i = json_value(text.as_bytes(), i).unwrap_or_else(|e| panic!("{what}: {e}: {text}"));
    }
}

#[test]
fn json_checker_rejects_what_is_not_json() {
    assert!(json_value(br#"{"a": [1, -2, "x\"", true, null]}"#, 0).is_ok());
    assert!(json_value(br#"{"a" 1}"#, 0).is_err());
    assert!(json_value(br#"[1, 2"#, 0).is_err());
    assert!(json_value(b"bpfir: error", 0).is_err());
}

const SUBCOMMANDS: [&str; 11] = [
    "disasm",
    "dis",
    "asm",
    "fmt",
    "btf",
    "ext",
    "dump",
    "link",
    "load",
    "lower",
    "completions",
];

#[test]
fn version_and_help_exit_zero() {
    let v = bpfir(&["--version"]);
    assert_eq!(v.status.code(), Some(0));
    assert_eq!(
        stdout(&v).trim(),
        format!("bpfir {}", env!("CARGO_PKG_VERSION"))
    );
    let h = bpfir(&["--help"]);
    assert_eq!(h.status.code(), Some(0));
    for sub in SUBCOMMANDS {
        assert!(stdout(&h).contains(sub), "--help lists {sub}");
        for help in [vec![sub, "--help"], vec!["help", sub]] {
            let o = bpfir(&help);
            assert_eq!(o.status.code(), Some(0), "{help:?}: {}", stderr(&o));
            let text = stdout(&o);
            assert!(
                text.contains(&format!("Usage: bpfir {sub}")),
                "{help:?}: {text}"
            );
            assert!(text.contains("Examples:"), "{help:?} has examples: {text}");
        }
    }
}

#[test]
fn usage_errors_exit_two_and_say_what_was_wrong() {
    let cases: [(&[&str], &str); 5] = [
        (&["frob"], "unrecognized subcommand 'frob'"),
        (&["disasm"], "required"),
        (&["dump", "--bogus", "x.o"], "unexpected argument '--bogus'"),
        (&["link", "a.o"], "--output"),
        (&["completions", "tcsh"], "invalid value 'tcsh'"),
    ];
    for (args, says) in cases {
        let o = bpfir(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    // No arguments: the help, on stderr, as a usage error.
    let o = bpfir(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("Usage: bpfir"));
    // Under --json the usage error is JSON on stdout.
    let o = bpfir(&["--json", "frob"]);
    assert_eq!(o.status.code(), Some(2));
    assert_json_lines("--json frob", &stdout(&o));
    assert!(stdout(&o).contains("\"error\""));
}

#[test]
fn failures_exit_one_and_are_json_under_json() {
    for sub in ["disasm", "btf", "ext", "dump"] {
        let o = bpfir(&[sub, "testdata/no-such-object.o"]);
        assert_eq!(o.status.code(), Some(1), "{sub}");
        assert!(
            stderr(&o).starts_with("bpfir: testdata/no-such-object.o: "),
            "{sub}: {}",
            stderr(&o)
        );
        let o = bpfir(&[sub, "--json", "testdata/no-such-object.o"]);
        assert_eq!(o.status.code(), Some(1), "{sub}");
        assert_json_lines(sub, &stdout(&o));
        assert!(
            stdout(&o).starts_with("{\"error\": \"testdata/no-such-object.o: "),
            "{sub}"
        );
        assert!(o.stderr.is_empty(), "{sub}: {}", stderr(&o));
    }
}

#[test]
fn every_data_command_prints_json() {
    let dir = temp_dir("json");
    let linked = dir.join("linked.o");
    let lowered = dir.join("lowered");
    let cases: Vec<Vec<&str>> = vec![
        vec!["disasm", "testdata/calls.bpfel.o"],
        vec!["btf", "testdata/core.bpfel.o"],
        vec!["btf", "testdata/maps.bpfeb.o", "--dump"],
        vec!["ext", "testdata/core_reloc.bpfel.o"],
        vec!["dump", "testdata/globals.bpfel.o"],
        vec![
            "dump",
            "testdata/core_reloc.bpfel.o",
            "--target-btf",
            "testdata/core_target.bpfel.o",
        ],
        vec![
            "link",
            "testdata/link_a.bpfel.o",
            "testdata/link_b.bpfel.o",
            "-o",
            linked.to_str().unwrap(),
        ],
        vec![
            "lower",
            "testdata/calls.bpfel.o",
            "--out",
            lowered.to_str().unwrap(),
        ],
    ];
    for args in &cases {
        let mut with_json = args.clone();
        with_json.push("--json");
        let o = bpfir(&with_json);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert_json_lines(&format!("{args:?}"), &stdout(&o));
        // The text form is something else, and also succeeds.
        let t = bpfir(args);
        assert_eq!(t.status.code(), Some(0), "{args:?}");
        assert_ne!(stdout(&t), stdout(&o), "{args:?}");
    }
    let o = bpfir(&["disasm", "--json", "testdata/calls.bpfel.o"]);
    assert!(stdout(&o).contains("\"function\": \"calls_first\""));
    let o = bpfir(&[
        "link",
        "-j",
        "testdata/link_a.bpfel.o",
        "testdata/link_b.bpfel.o",
        "-o",
        linked.to_str().unwrap(),
    ]);
    assert!(stdout(&o).contains("\"programs\": "), "{}", stdout(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = bpfir(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let script = stdout(&o);
        for sub in ["disasm", "lower", "target-btf"] {
            assert!(script.contains(sub), "{shell} completes {sub}");
        }
    }
    assert!(stdout(&bpfir(&["completions", "bash"])).contains("_bpfir()"));
}

/// A raw BTF file of `n` typedefs: a dump of it is larger than a pipe's buffer.
fn big_btf(path: &Path, n: u32) {
    let mut btf = bpfir::btf::Btf::new(bpfir::Endian::native());
    let int = btf
        .add_int("int", 4, bpfir::btf::IntEncoding::SIGNED, 32)
        .unwrap();
    for i in 0..n {
        btf.add_typedef(&format!("t{i}"), int).unwrap();
    }
    std::fs::write(path, btf.to_bytes()).unwrap();
}

/// `bpfir btf FILE --dump | head -1`: the reader closes the pipe after one line; bpfir
/// stops without a panic or a message, exit 0.
#[test]
fn a_closed_pipe_is_a_normal_end() {
    let dir = temp_dir("pipe");
    let file = dir.join("big.btf");
    big_btf(&file, 200_000);
    for json in [false, true] {
        let mut args = vec!["btf", file.to_str().unwrap(), "--dump"];
        if json {
            args.push("--json");
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_bpfir"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // The reader is gone (dropped with the BufReader): like `| head -1`.
        let out = child.wait_with_output().unwrap();
        assert!(!first.is_empty());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(out.stderr.is_empty(), "{}", stderr(&out));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `load` refuses, before any system call, what no kernel could load: an object of the
/// other byte order (the kernel would only say "btf_header not found"), and an object with
/// extern functions a static link must provide (not a kernel that lacks a function).
#[cfg(all(feature = "kernel", target_os = "linux"))]
#[test]
fn load_checks_byte_order_and_linking_first() {
    let other = if cfg!(target_endian = "little") {
        "testdata/calls.bpfeb.o"
    } else {
        "testdata/calls.bpfel.o"
    };
    let o = bpfir(&["load", other]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("-endian object cannot be loaded on this"), "{e}");
    assert!(!e.contains("btf_header"), "{e}");

    let o = bpfir(&["load", "testdata/link_a.bpfel.o"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("needs linking"), "{e}");
    assert!(e.contains("b_helper"), "{e}");
    assert!(e.contains("bpfir link testdata/link_a.bpfel.o"), "{e}");
    assert!(!e.contains("__weak"), "{e}");

    let o = bpfir(&["load", "--json", other]);
    assert_eq!(o.status.code(), Some(1));
    assert_json_lines("load --json", &stdout(&o));
}
