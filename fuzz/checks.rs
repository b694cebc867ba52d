//! The properties the fuzz targets check, shared by the targets (`fuzz/fuzz_targets/*.rs`,
//! nightly, cargo-fuzz) and by the regression replay (`tests/fuzz_regressions.rs`, stable,
//! ordinary `cargo test`), which includes this file with `#[path]`.
//!
//! Every check takes untrusted bytes and returns `Err(finding)` when bpfir breaks one of its
//! promises on them. Rejecting the input with an error is never a finding; a panic is (the
//! caller sees it), and so is:
//!
//! * a read → write → read that does not give back what was read (and a second write that
//!   differs from the first);
//! * a lowered program that breaks the kernel's rules (`func_info` one per function, first at
//!   0, strictly increasing; `line_info` first at 0, strictly increasing, never on the second
//!   slot of an `ld_imm64`; jumps and local calls landing on an instruction of the program,
//!   calls at a function start);
//! * output out of proportion with the input ([`MAX_GROWTH`]): a small input must not make
//!   bpfir write or allocate gigabytes (issue 11, bug 1).
//!
//! Time and memory budgets are the fuzzer's (`-timeout`, `-rss_limit_mb`,
//! `-malloc_limit_mb`, see `fuzz/README.md`); the replay runs the same checks without timing
//! them (tests never assert timings), and the worst cases of the issue have their own tests.

#![allow(dead_code)]

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use bpfir::btf::{Btf, TypeKind};
use bpfir::btf_ext::BtfExt;
use bpfir::insn::{CallKind, Insn, PseudoKind};
use bpfir::ir::{ExternKind, Module};
use bpfir::lower::{lower, Bindings, ExternBinding, LoweredProgram};
use bpfir::Endian;

/// What a check found: a broken promise, with what and where.
pub type Finding = String;

/// How much larger than its input an output (a written object, a marshalled BTF, a dump)
/// may be: outputs are a function of the input's content, so a written object more than
/// this many times its input plus [`SLACK`] means bpfir trusted a size it should have
/// checked.
pub const MAX_GROWTH: usize = 16;
/// Bytes of output any input may produce whatever its size (section headers, symbol
/// tables, string tables of a written object).
pub const SLACK: usize = 1 << 16;

/// How many programs of one input are lowered, and how many named types are looked up: the
/// checks cost at most linear work in these counts on top of bpfir's own.
const MAX_PROGRAMS: usize = 64;
const MAX_LOOKUPS: usize = 512;

fn bounded(what: &str, input: usize, output: usize) -> Result<(), Finding> {
    if output > MAX_GROWTH * input + SLACK {
        return Err(format!(
            "{what}: {output} bytes of output from {input} bytes of input"
        ));
    }
    Ok(())
}

/// ELF object → `Module` → dump → lower every program → write → re-read: the module read
/// back equals the one written (functions, instructions, maps, data, externs, BTF), a second
/// write is byte-identical, and every lowered program obeys the kernel's rules.
pub fn elf(data: &[u8]) -> Result<(), Finding> {
    let Ok(module) = Module::read(data) else {
        return Ok(());
    };
    let dump = module.dump().to_string();
    bounded("dump", data.len(), dump.len())?;
    lower_all("read", &module)?;
    round_trip("object", data.len(), &module)
}

/// Writes `module`, reads it back and compares; writes the copy and compares the bytes.
fn round_trip(what: &str, input_len: usize, module: &Module) -> Result<(), Finding> {
    let Ok(bytes) = bpfir::write::write_object(module) else {
        return Ok(());
    };
    bounded(&format!("{what}: written object"), input_len, bytes.len())?;
    let again = Module::read(&bytes)
        .map_err(|e| format!("{what}: the written object does not read back: {e}"))?;
    let (a, b) = (summary(module), summary(&again));
    if a != b {
        // Only what differs: the summaries of large modules are long.
        let only_a: Vec<&String> = a.iter().filter(|x| !b.contains(x)).collect();
        let only_b: Vec<&String> = b.iter().filter(|x| !a.contains(x)).collect();
        return Err(format!(
            "{what}: read(write(m)) differs from m ({} vs {} entries):\n  only in m:     {only_a:?}\n  only in again: {only_b:?}",
            a.len(),
            b.len()
        ));
    }
    same_btf(what, module.btf.as_ref(), again.btf.as_ref())?;
    let bytes2 = bpfir::write::write_object(&again)
        .map_err(|e| format!("{what}: the written object does not write again: {e}"))?;
    if bytes != bytes2 {
        return Err(format!(
            "{what}: write(read(write(m))) differs from write(m) ({} vs {} bytes)",
            bytes2.len(),
            bytes.len()
        ));
    }
    lower_all(&format!("{what} re-read"), &again)
}

/// The BTF read back is the one written: the same types, printed the same; its strings may
/// have grown (the writer adds the names of code sections that `.BTF.ext` needs).
fn same_btf(what: &str, a: Option<&Btf>, b: Option<&Btf>) -> Result<(), Finding> {
    let (a, b) = match (a, b) {
        (None, None) => return Ok(()),
        (Some(a), Some(b)) => (a, b),
        _ => return Err(format!("{what}: read(write(m)) has or lacks BTF")),
    };
    if a.n_types() != b.n_types() || a.endian() != b.endian() || a.str_len() > b.str_len() {
        return Err(format!(
            "{what}: read(write(m)) has another BTF ({} vs {} types, {} vs {} string bytes)",
            a.n_types(),
            b.n_types(),
            a.str_len(),
            b.str_len()
        ));
    }
    for ((x, _), (y, _)) in a.own_types().zip(b.own_types()) {
        let (tx, ty) = (a.display_type(x).to_string(), b.display_type(y).to_string());
        if tx != ty {
            return Err(format!(
                "{what}: read(write(m)) changed a type: {tx} became {ty}"
            ));
        }
    }
    Ok(())
}

/// What must survive a write and a re-read, by name and position (ids differ).
fn summary(m: &Module) -> Vec<String> {
    let mut out = Vec::new();
    out.push(format!(
        "{:?} {:?} {:?}",
        m.endian(),
        m.license,
        m.kern_version
    ));
    for (f, func) in m.functions() {
        let insns: Vec<String> = m
            .func_insns(f)
            .map(|i| {
                let r = m.reference(i);
                // The encoding of a reference is the writer's to choose; what it points at
                // is compared by name below.
                let insn = if r.is_some() {
                    "ref".to_string()
                } else {
                    format!("{:?}", m.insn(i))
                };
                format!("{insn} {}", ref_name(m, f, r))
            })
            .collect();
        out.push(format!(
            "fn {} {} {} {} {:?}",
            func.name, func.section, func.linkage, func.is_program, insns
        ));
    }
    for (_, map) in m.maps() {
        out.push(format!(
            "map {} {} {} {} {} {}",
            map.name, map.map_type, map.key_size, map.value_size, map.max_entries, map.flags
        ));
    }
    for (_, d) in m.data_sections() {
        out.push(format!("data {} {}", d.name, d.bytes.len()));
    }
    for (_, e) in m.externs() {
        out.push(format!("extern {} {:?}", e.name, e.kind));
    }
    // The writer lays functions out section by section, so a module whose sections repeat
    // or interleave reads back in another order: compare as a set.
    out[1..].sort();
    out
}

fn ref_name(m: &Module, func: bpfir::ir::FuncId, r: Option<bpfir::ir::Ref>) -> String {
    use bpfir::ir::Ref;
    let pos = |t| m.func_insns(func).position(|i| i == t);
    match r {
        None => String::new(),
        Some(Ref::Jump(t)) => format!("jump {:?}", pos(t)),
        Some(Ref::Call(f)) => format!("call {}", m.function(f).name),
        Some(Ref::FuncAddr(f)) => format!("func {}", m.function(f).name),
        Some(Ref::Map(x)) => format!("map {}", m.map(x).name),
        Some(Ref::Data { data, offset }) => format!("data {}+{offset}", m.data(data).name),
        Some(Ref::Extern(e)) => format!("extern {}", m.extern_(e).name),
        Some(other) => format!("{other:?}"),
    }
}

/// Fake bindings: every map, data section and extern gets a distinct number, as a loader
/// would give them fds and BTF ids.
pub fn fake_bindings(m: &Module) -> Bindings {
    let mut b = Bindings::default();
    for (i, (id, _)) in m.maps().enumerate() {
        b.maps.insert(id, 100 + i as i32);
    }
    for (i, (id, _)) in m.data_sections().enumerate() {
        b.data.insert(id, 200 + i as i32);
    }
    for (i, (id, e)) in m.externs().enumerate() {
        let binding = match e.kind {
            ExternKind::Kconfig => ExternBinding::MapValue {
                fd: 300,
                offset: 8 * (i as u32 % 1024),
            },
            _ => ExternBinding::Kfunc {
                btf_id: 1000 + i as u32,
                btf_fd_idx: 0,
                btf_obj_fd: 0,
            },
        };
        b.externs.insert(id, binding);
    }
    b
}

/// Lowers every program (up to [`MAX_PROGRAMS`]) and checks the kernel's rules on each one
/// that lowers.
pub fn lower_all(what: &str, m: &Module) -> Result<(), Finding> {
    let b = fake_bindings(m);
    for (f, func) in m.programs().take(MAX_PROGRAMS) {
        if let Ok(p) = lower(m, f, &b) {
            kernel_rules(&p).map_err(|e| format!("{what}: program {}: {e}", func.name))?;
        }
    }
    Ok(())
}

/// The rules `BPF_PROG_LOAD` enforces on what lowering produced (see the kernel's
/// `check_btf_func`, `check_btf_line` and `check_subprogs`).
pub fn kernel_rules(p: &LoweredProgram) -> Result<(), Finding> {
    if p.insns.is_empty() {
        return Err("no instructions".into());
    }
    // Slot of each instruction, and the slots that are second halves of an ld_imm64.
    let mut starts = Vec::with_capacity(p.insns.len());
    let mut second_halves = HashSet::new();
    let mut slot = 0usize;
    for insn in &p.insns {
        starts.push(slot);
        if insn.n_slots() == 2 {
            second_halves.insert(slot + 1);
        }
        slot += insn.n_slots();
    }
    let n_slots = slot;
    if n_slots != p.n_slots() {
        return Err(format!(
            "n_slots() is {} but the instructions take {n_slots}",
            p.n_slots()
        ));
    }
    let lands = |target: i64| {
        target >= 0 && (target as usize) < n_slots && !second_halves.contains(&(target as usize))
    };

    // A module without BTF lowers to no func_info and no line_info, which the kernel takes.
    let has_func_info = !p.func_info.is_empty();
    if has_func_info && p.func_info.len() != p.functions.len() {
        return Err(format!(
            "{} func_info records for {} functions",
            p.func_info.len(),
            p.functions.len()
        ));
    }
    let mut func_starts = BTreeSet::new();
    for (k, fi) in p.func_info.iter().enumerate() {
        if k == 0 && fi.insn_off != 0 {
            return Err(format!("first func_info at {}, not 0", fi.insn_off));
        }
        if k > 0 && fi.insn_off <= p.func_info[k - 1].insn_off {
            return Err(format!(
                "func_info {k} at {} does not increase",
                fi.insn_off
            ));
        }
        if !lands(fi.insn_off.into()) {
            return Err(format!(
                "func_info {k} at {} is not an instruction",
                fi.insn_off
            ));
        }
        func_starts.insert(fi.insn_off as usize);
    }
    for (k, li) in p.line_info.iter().enumerate() {
        if k == 0 && li.insn_off != 0 {
            return Err(format!("first line_info at {}, not 0", li.insn_off));
        }
        if k > 0 && li.insn_off <= p.line_info[k - 1].insn_off {
            return Err(format!(
                "line_info {k} at {} does not increase",
                li.insn_off
            ));
        }
        if !lands(li.insn_off.into()) {
            return Err(format!(
                "line_info {k} at {} is not an instruction",
                li.insn_off
            ));
        }
    }
    if !p.line_info.is_empty() {
        let lines: HashSet<u32> = p.line_info.iter().map(|l| l.insn_off).collect();
        if let Some(f) = func_starts.iter().find(|&&s| !lines.contains(&(s as u32))) {
            return Err(format!("function at slot {f} has no line_info"));
        }
    }
    for (i, insn) in p.insns.iter().enumerate() {
        let here = starts[i] as i64;
        if let Some(off) = insn.jump_offset() {
            let target = here + 1 + i64::from(off);
            if !lands(target) {
                return Err(format!(
                    "jump at slot {here} to {target} lands on no instruction"
                ));
            }
        }
        let local = match *insn {
            Insn::Call {
                kind: CallKind::Local,
                imm,
                ..
            } => Some(imm),
            Insn::LdImm64 {
                kind: PseudoKind::Func,
                imm,
                ..
            } => Some(imm as i32),
            _ => None,
        };
        if let Some(imm) = local {
            let target = here + 1 + i64::from(imm);
            let known = !has_func_info || func_starts.contains(&(target as usize));
            if !lands(target) || !known {
                return Err(format!(
                    "local call or callback at slot {here} to {target} is not a function start"
                ));
            }
        }
    }
    let relo_slots: Vec<u32> = p.core_relos.iter().map(|r| r.insn_off / 8).collect();
    if let Some(k) = p
        .core_relos
        .iter()
        .zip(&relo_slots)
        .position(|(r, &s)| r.insn_off % 8 != 0 || !lands(s.into()))
    {
        return Err(format!(
            "core_relo {k} at byte {} is not an instruction",
            p.core_relos[k].insn_off
        ));
    }
    Ok(())
}

/// BTF → marshal → parse (equal) → display every type → lookups → dedup: the marshalled
/// BTF parses to an equal BTF and re-marshals byte for byte; every named type is found by
/// its name; dedup never grows the BTF and maps every id to a type of a compatible kind.
pub fn btf(data: &[u8]) -> Result<(), Finding> {
    let Ok(btf) = Btf::parse(data) else {
        return Ok(());
    };
    let bytes = btf.to_bytes();
    bounded("marshalled BTF", data.len(), bytes.len())?;
    let again = Btf::parse(&bytes).map_err(|e| format!("marshalled BTF does not parse: {e}"))?;
    if again != btf {
        return Err("parse(marshal(btf)) differs from btf".into());
    }
    if again.to_bytes() != bytes {
        return Err("marshal(parse(marshal(btf))) differs from marshal(btf)".into());
    }
    let mut shown = 0usize;
    for (id, _) in btf.own_types().skip(1) {
        shown += btf.display_type(id).to_string().len();
    }
    // A type prints its own name, its members' names and their types' names, never more:
    // so at most a few times the bytes of the blob.
    bounded("display", data.len(), shown)?;
    for (id, t) in btf.own_types().skip(1).take(MAX_LOOKUPS) {
        let _ = btf.resolve(id);
        let _ = btf.size_of(id);
        let _ = btf.align_of(id);
        if t.name.0 == 0 {
            continue;
        }
        let Ok(name) = btf.name(id) else { continue };
        if !btf.types_by_name(name).any(|x| x == id) {
            return Err(format!(
                "type {id:?} named {name:?} is not found by its name"
            ));
        }
    }
    if let Ok(d) = bpfir::btf::dedup(&btf) {
        dedup_invariants(&btf, &d)?;
    }
    Ok(())
}

/// What [`bpfir::btf::dedup`] promises of its result.
pub fn dedup_invariants(btf: &Btf, d: &bpfir::btf::Deduped) -> Result<(), Finding> {
    if d.btf.n_types() > btf.n_types() {
        return Err(format!(
            "dedup grew the BTF from {} to {} types",
            btf.n_types(),
            d.btf.n_types()
        ));
    }
    if d.map.len() != btf.n_types() as usize {
        return Err(format!(
            "dedup map has {} entries for {} types",
            d.map.len(),
            btf.n_types()
        ));
    }
    for (old, t) in btf.own_types() {
        let Some(new) = d.new_id(old) else {
            return Err(format!("type {old:?} has no new id"));
        };
        let Some(nt) = d.btf.get(new) else {
            return Err(format!("type {old:?} maps to {new:?}, past the new BTF"));
        };
        let (a, b) = (t.kind.kind(), nt.kind.kind());
        let fwd_to_def = matches!(t.kind, TypeKind::Fwd { .. })
            && matches!(nt.kind, TypeKind::Struct { .. } | TypeKind::Union { .. });
        let enum_to_enum = matches!(a, bpfir::btf::Kind::Enum | bpfir::btf::Kind::Enum64)
            && matches!(b, bpfir::btf::Kind::Enum | bpfir::btf::Kind::Enum64);
        if a != b && !fwd_to_def && !enum_to_enum {
            return Err(format!("type {old:?} of kind {a:?} maps to a {b:?}"));
        }
    }
    Ok(())
}

/// `.BTF.ext` → marshal → parse: the marshalled records parse to the same records and
/// re-marshal byte for byte. The first input byte picks the byte order.
pub fn btf_ext(data: &[u8]) -> Result<(), Finding> {
    let Some((&order, data)) = data.split_first() else {
        return Ok(());
    };
    let endian = if order & 1 == 0 {
        Endian::Little
    } else {
        Endian::Big
    };
    let Ok(ext) = BtfExt::parse(data, endian) else {
        return Ok(());
    };
    let bytes = ext.to_bytes();
    bounded("marshalled .BTF.ext", data.len(), bytes.len())?;
    let again = BtfExt::parse(&bytes, endian)
        .map_err(|e| format!("marshalled .BTF.ext does not parse: {e}"))?;
    if again != ext {
        return Err("parse(marshal(ext)) differs from ext".into());
    }
    if again.to_bytes() != bytes {
        return Err("marshal(parse(marshal(ext))) differs from marshal(ext)".into());
    }
    Ok(())
}

/// The objects with CO-RE relocations that [`co_re`] relocates against fuzzed targets.
const CO_RE_OBJECTS: [&[u8]; 4] = [
    include_bytes!("../testdata/core.bpfel.o"),
    include_bytes!("../testdata/core_reloc.bpfel.o"),
    include_bytes!("../testdata/core.bpfeb.o"),
    include_bytes!("../testdata/core_reloc.bpfeb.o"),
];

/// CO-RE relocation of a testdata object against a fuzzed target BTF (the first byte picks
/// the object, the rest is the target): relocating is deterministic (a second run on a fresh
/// copy gives the same report), and every program still lowers by the kernel's rules.
pub fn co_re(data: &[u8]) -> Result<(), Finding> {
    let Some((&pick, target)) = data.split_first() else {
        return Ok(());
    };
    let object = CO_RE_OBJECTS[pick as usize % CO_RE_OBJECTS.len()];
    let Ok(btf) = Btf::parse(target) else {
        return Ok(());
    };
    let targets = bpfir::co_re::Targets::single("fuzzed", Arc::new(btf));
    // The bytes `include_bytes!` places in the binary need not be aligned: the reader takes
    // them as they are.
    let run = || -> Result<Option<(Module, String)>, Finding> {
        let mut m = Module::read(object).map_err(|e| format!("testdata object: {e}"))?;
        Ok(bpfir::co_re::relocate(&mut m, &targets)
            .ok()
            .map(|r| (m, r.to_string())))
    };
    let (first, second) = (run()?, run()?);
    match (first, second) {
        (None, None) => Ok(()),
        (Some((m, r1)), Some((_, r2))) => {
            if r1 != r2 {
                return Err(format!("two relocations differ:\n{r1}\n---\n{r2}"));
            }
            lower_all("relocated", &m)
        }
        _ => Err("one relocation failed and the other did not".into()),
    }
}

/// Splits a link input: a little-endian `u32` length, the first object, the second.
pub fn split_two(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = data.split_first_chunk::<4>()?;
    let len = u32::from_le_bytes(*len) as usize;
    (len <= rest.len()).then(|| rest.split_at(len))
}

/// Joins two objects into one link input (the inverse of [`split_two`]).
pub fn join_two(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = (a.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(a);
    out.extend_from_slice(b);
    out
}

/// Link of two fuzzed objects: the linked module lowers by the kernel's rules, writes when
/// both inputs do, and reads back equal; it has no more functions than its inputs together.
pub fn link(data: &[u8]) -> Result<(), Finding> {
    let Some((a, b)) = split_two(data) else {
        return Ok(());
    };
    // The halves start at any offset: the reader takes unaligned bytes.
    let (Ok(ma), Ok(mb)) = (Module::read(a), Module::read(b)) else {
        return Ok(());
    };
    let n_funcs = ma.functions().len() + mb.functions().len();
    let inputs_write =
        bpfir::write::write_object(&ma).is_ok() && bpfir::write::write_object(&mb).is_ok();
    let opts = bpfir::link::LinkOptions {
        allow_unresolved: true,
        ..Default::default()
    };
    let Ok(linked) = bpfir::link::link(&[ma, mb], &opts) else {
        return Ok(());
    };
    if linked.functions().len() > n_funcs {
        return Err(format!(
            "linking {n_funcs} functions gave {}",
            linked.functions().len()
        ));
    }
    lower_all("linked", &linked)?;
    if inputs_write {
        if let Err(e) = bpfir::write::write_object(&linked) {
            return Err(format!("both inputs write, their link does not: {e}"));
        }
    }
    round_trip("linked", data.len(), &linked)
}

/// The time one input may take in a fuzz target (release build with debug assertions):
/// [`BUDGET_BASE_MS`] plus [`BUDGET_US_PER_BYTE`] per input byte. Every path bpfir takes is
/// linear or near-linear in its input (see each module's costs), so an input over budget is
/// a finding even when libFuzzer's own `-timeout` is longer. The stable replay does not call
/// this: tests never assert timings.
pub const BUDGET_BASE_MS: u64 = 1000;
/// See [`BUDGET_BASE_MS`].
pub const BUDGET_US_PER_BYTE: u64 = 10;

/// Runs `check` on an input of `len` bytes and panics (a finding for libFuzzer) when it
/// is over the budget twice in a row. Time is wall-clock, so one slow run can be the
/// scheduler's (a busy machine, a fuzzer at `nice 19`); an input whose cost is bpfir's is
/// slow again when run again, and only that is reported. A finding of `check` itself
/// panics on the first run.
pub fn within_budget(len: usize, mut check: impl FnMut() -> Result<(), Finding>) {
    let budget = std::time::Duration::from_millis(BUDGET_BASE_MS)
        + std::time::Duration::from_micros(BUDGET_US_PER_BYTE * len as u64);
    let mut timed = || {
        let start = std::time::Instant::now();
        if let Err(finding) = check() {
            panic!("finding: {finding}");
        }
        start.elapsed()
    };
    let first = timed();
    if first <= budget {
        return;
    }
    let second = timed();
    assert!(
        second <= budget,
        "finding: {first:?}, then {second:?} again, for {len} bytes of input, over the \
         budget of {budget:?}"
    );
}
