//! Shared helpers of the integration tests: where the corpus and testdata are, and the
//! objects and BTF blobs in them.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// The conformance corpus (`../shared/corpus`), or `None` (with a printed note) when absent.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("corpus not found at {}; skipping its part", dir.display());
        None
    }
}

/// The project's own test objects.
pub fn testdata_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("elf") | Some("o")
        ) {
            out.push(path);
        }
    }
}

/// A short ASCII file naming an existing sibling: a git symlink checked out as text (the
/// corpus has two, cilium's `testdata/loader-el.elf` and `loader-eb.elf`, 22 bytes naming
/// `loader-clang-22-el.elf` and `-eb.elf`; read, they are refused as shorter than an ELF
/// header).
pub fn is_alias(path: &Path, data: &[u8]) -> bool {
    data.len() < 256
        && data.iter().all(|b| b.is_ascii_graphic())
        && std::str::from_utf8(data)
            .ok()
            .and_then(|name| path.parent().map(|p| p.join(name.trim())))
            .is_some_and(|sibling| sibling.is_file())
}

/// Every ELF object of `dir` (recursively, sorted), aliases skipped with a note.
pub fn objects_in(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut paths = Vec::new();
    walk(dir, &mut paths);
    let mut out = Vec::new();
    for path in paths {
        let data = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        if is_alias(&path, &data) {
            eprintln!("{}: alias of a sibling, skipped", path.display());
            continue;
        }
        out.push((path, data));
    }
    out
}

/// Every object of testdata and (when present) the cilium/ebpf part of the corpus.
///
/// The kernel's selftests (`corpus/selftests`, 703 objects, many refused by design) have
/// their own conformance sweep; the checks over `all_objects` were written for the objects
/// a loader is meant to accept whole.
pub fn all_objects() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = objects_in(&testdata_dir());
    assert!(!out.is_empty(), "no objects in testdata/");
    if let Some(dir) = corpus_dir() {
        out.extend(objects_in(&dir.join("cilium")));
    }
    out
}

/// The corpus' vmlinux BTF (gunzipped), when the corpus is present.
pub fn corpus_vmlinux() -> Option<Vec<u8>> {
    use std::io::Read;
    let path = corpus_dir()?.join("cilium/btf/testdata/vmlinux.btf.gz");
    let gz = fs::read(&path).ok()?;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("gunzip {}: {e}", path.display()));
    Some(out)
}

/// The running kernel's BTF, when it has one.
pub fn kernel_vmlinux() -> Option<Vec<u8>> {
    match fs::read("/sys/kernel/btf/vmlinux") {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!("/sys/kernel/btf/vmlinux not readable ({e}); skipping its part");
            None
        }
    }
}

/// What each program of our little-endian test objects returns from one test run on a
/// 64-byte zero packet (`None`: its type cannot be test-run, e.g. kprobes).
pub const EXPECTED_RUNS: &[(&str, &str, Option<u32>)] = &[
    ("globals.bpfel.o", "check_globals", Some(0)),
    ("calls.bpfel.o", "calls_first", Some(0)),
    ("calls.bpfel.o", "calls_second", Some(0)),
    ("isa_v4.bpfel.o", "check_isa_v4", Some(0)),
    ("maps.bpfel.o", "check_maps", Some(0)),
    ("tracing.bpfel.o", "unlink_entry", None),
    ("tracing.bpfel.o", "unlink_exit", None),
    ("tracing.bpfel.o", "openat_enter", None),
    // XDP_PASS.
    ("tracing.bpfel.o", "xdp_count", Some(2)),
    ("tracing.bpfel.o", "tc_mark", Some(0)),
];

/// `dst = imm` (64-bit): an instruction tests insert where it changes nothing the programs
/// compute (the registers they use are set after it).
pub fn mov_imm(dst: bpfir::insn::Reg, imm: i32) -> bpfir::insn::Insn {
    bpfir::insn::Insn::Alu {
        class: bpfir::insn::AluClass::Alu64,
        op: bpfir::insn::AluOp::Mov,
        dst,
        src: bpfir::insn::Operand::Imm(imm),
    }
}

/// The instructions [`edit_calls`] inserted.
pub struct CallsEdits {
    /// `r9 = 0` before `calls_first`'s first instruction.
    pub at_entry: bpfir::ir::InsnId,
    /// `r5 = 7` before `chain_c`'s first instruction.
    pub at_callee: bpfir::ir::InsnId,
    /// The first jump target in the `loop_body` callback, before which `r4 = 1` went.
    pub target: bpfir::ir::InsnId,
}

/// Edits calls.bpf.c's programs as a rewriting tool would, without changing what they
/// compute: at a program's start, at a callee's start, and before a jump target in the
/// `bpf_loop` callback.
pub fn edit_calls(m: &mut bpfir::ir::Module) -> CallsEdits {
    use bpfir::insn::Reg;
    use bpfir::ir::{Meta, Ref};
    let entry = m.function_by_name("calls_first").unwrap();
    let first = m.function(entry).first_insn().unwrap();
    let at_entry = m
        .insert_before(first, mov_imm(Reg::R9, 0), Meta::default())
        .unwrap();
    let callee = m.function_by_name("chain_c").unwrap();
    let c0 = m.function(callee).first_insn().unwrap();
    let at_callee = m
        .insert_before(c0, mov_imm(Reg::R5, 7), Meta::default())
        .unwrap();
    let body = m.function_by_name("loop_body").unwrap();
    let target = m
        .func_insns(body)
        .find_map(|i| match m.reference(i) {
            Some(Ref::Jump(t)) => Some(t),
            _ => None,
        })
        .unwrap();
    m.insert_before(target, mov_imm(Reg::R4, 1), Meta::default())
        .unwrap();
    CallsEdits {
        at_entry,
        at_callee,
        target,
    }
}

/// A small deterministic PRNG (xorshift64*) for mutation tests; the seed is printed by the
/// tests so a failure can be replayed with `BPFIR_FUZZ_SEED`.
pub struct Rng(pub u64);

impl Rng {
    /// The seed from `BPFIR_FUZZ_SEED`, or `default`.
    pub fn from_env(default: u64) -> Rng {
        let seed = std::env::var("BPFIR_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default);
        eprintln!("mutation seed {seed} (set BPFIR_FUZZ_SEED to replay)");
        Rng(seed.max(1))
    }

    /// The next pseudo-random number.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Bindings for lowering without a kernel: a distinct fake fd per map and data section, and
/// every extern resolved (kfuncs to BTF id 7, ksyms to 9, the rest to 0).
pub fn fake_bindings(m: &bpfir::ir::Module) -> bpfir::lower::Bindings {
    use bpfir::ir::ExternKind;
    use bpfir::lower::{Bindings, ExternBinding};
    let mut b = Bindings::default();
    for (i, (id, _)) in m.maps().enumerate() {
        b.maps.insert(id, 100 + i as i32);
    }
    for (i, (id, _)) in m.data_sections().enumerate() {
        b.data.insert(id, 200 + i as i32);
    }
    for (id, e) in m.externs() {
        let binding = match e.kind {
            ExternKind::Func => ExternBinding::Kfunc {
                btf_id: 7,
                btf_fd_idx: 0,
                btf_obj_fd: 0,
            },
            ExternKind::Ksym => ExternBinding::Ksym {
                btf_id: 9,
                btf_obj_fd: 0,
            },
            _ => ExternBinding::Const(0),
        };
        b.externs.insert(id, binding);
    }
    b
}
