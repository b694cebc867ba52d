//! Property tests over write/read, link and edit sequences, on modules drawn by
//! `bpfir::testing` (feature `proptest`; run with
//! `cargo test --features proptest --test relink_proptest`).
//!
//! * A module written and read back describes the same (functions, sections, linkage,
//!   bodies, references, lines, CO-RE, maps), has the same BTF and lowers to the same
//!   programs with the same fake bindings.
//! * Lowering a program of `link(&[A, B])` gives the same bytecode and ext info (type and
//!   string references resolved by name) as lowering it from its own input, for programs of
//!   A and of B, whose symbols are disjoint.
//! * Edit sequences keep every instruction they did not touch (its payload, reference,
//!   line and CO-RE relocation; its function too unless it was moved), and the module keeps
//!   lowering, round-tripping and obeying the kernel's ext info rules.
//! * Every lowered program's func_info and line_info obey the kernel's rules, checked here
//!   on the `LoweredProgram` independently of `lower`'s own check.
//! * With the kernel: generated programs load (with BTF, func_info and line_info) and
//!   return what a small reference interpreter of the generated instruction subset says,
//!   and so do they after their calls are spliced in (`Edit::Inline`).
//!
//! Replay: the RNG seed is fixed (`SEED`) and printed; `PROPTEST_RNG_SEED=<n>` explores
//! others. Failure persistence is off, so a run never writes a regressions file.

#[path = "common/interp.rs"]
mod interp;
#[path = "common/kernel.rs"]
mod kernel;

#[path = "common/seeded.rs"]
mod seeded;

use interp::interpret;

use std::collections::HashSet;

use bpfir::btf::TypeKind;
use bpfir::insn::Insn;
use bpfir::ir::{FuncId, InsnId, Module};
use bpfir::link::{link, LinkOptions};
use bpfir::lower::{lower, Bindings, LoweredProgram};
use bpfir::testing::{arb_edits, arb_module, describe, Edit, EditLog, EditSequence, ModuleConfig};
use bpfir::write::write_object;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

/// The default seed of every run.
const SEED: u64 = 0x7265_6c69_6e6b_2121;

fn config(cases: u32) -> ProptestConfig {
    seeded::config(SEED, cases)
}

fn prefixed(prefix: &str) -> ModuleConfig {
    ModuleConfig {
        prefix: prefix.into(),
        ..ModuleConfig::default()
    }
}

/// Fake bindings: each map's fd is a function of its name only, so the same map gets the
/// same fd in every module that holds it.
fn fake_bindings(m: &Module) -> Bindings {
    let mut b = Bindings::default();
    for (id, map) in m.maps() {
        let fd = map
            .name
            .bytes()
            .fold(7u32, |h, c| h.wrapping_mul(31).wrapping_add(u32::from(c)));
        b.maps.insert(id, (fd % 1000) as i32 + 3);
    }
    b
}

/// A lowered program with type ids and string offsets resolved through `btf` and function
/// ids replaced by names: comparable across modules.
#[derive(Debug, PartialEq)]
struct Resolved {
    functions: Vec<String>,
    insns: Vec<Insn>,
    func_info: Vec<(u32, String)>,
    line_info: Vec<(u32, String, String, u32, u32)>,
    core_relos: Vec<(u32, String, String, u32)>,
}

fn resolve(m: &Module, p: &LoweredProgram) -> Resolved {
    let btf = m.btf.as_ref().expect("generated modules have BTF");
    let ty = |w| {
        btf.type_id(w)
            .and_then(|t| btf.name(t).map(str::to_string))
            .unwrap_or_else(|e| format!("<{e}>"))
    };
    let s = |o| {
        btf.str(o)
            .map(str::to_string)
            .unwrap_or_else(|e| format!("<{e}>"))
    };
    Resolved {
        functions: p
            .functions
            .iter()
            .map(|&f| m.function(f).name.clone())
            .collect(),
        insns: p.insns.clone(),
        func_info: p
            .func_info
            .iter()
            .map(|r| (r.insn_off, ty(r.type_id)))
            .collect(),
        line_info: p
            .line_info
            .iter()
            .map(|r| (r.insn_off, s(r.file_name), s(r.line), r.line_num, r.col))
            .collect(),
        core_relos: p
            .core_relos
            .iter()
            .map(|r| (r.insn_off, ty(r.type_id), s(r.access), r.kind.to_u32()))
            .collect(),
    }
}

/// Every program of `m`, lowered with the fake bindings.
fn lower_all(m: &Module) -> Result<Vec<(FuncId, LoweredProgram)>, TestCaseError> {
    let b = fake_bindings(m);
    let mut out = Vec::new();
    for (f, func) in m.programs() {
        let p = lower(m, f, &b)
            .map_err(|e| TestCaseError::fail(format!("{} does not lower: {e}", func.name)))?;
        out.push((f, p));
    }
    Ok(out)
}

/// The kernel's rules on one lowered program, checked from the module's layout rather than
/// trusted from `lower`: one func_info per function at exactly its first slot (the first at
/// 0, strictly increasing), `FUNC` → `FUNC_PROTO` type ids; line_info first at 0, strictly
/// increasing, at the start of an instruction (never the second half of an `ld_imm64`),
/// inside the program, one at every function start; core_relo at instruction starts.
fn check_kernel_rules(m: &Module, p: &LoweredProgram) -> Result<(), TestCaseError> {
    let name = &p.name;
    let mut starts = HashSet::new();
    let mut slot = 0u32;
    for insn in &p.insns {
        starts.insert(slot);
        slot += insn.n_slots() as u32;
    }
    let n_slots = slot;
    prop_assert_eq!(n_slots as usize, p.n_slots());
    // Function starts from the module's bodies, in layout order.
    let mut func_starts = Vec::new();
    let mut at = 0u32;
    for &f in &p.functions {
        func_starts.push(at);
        at += m
            .func_insns(f)
            .map(|i| m.insn(i).n_slots() as u32)
            .sum::<u32>();
    }
    prop_assert_eq!(at, n_slots, "{}: bodies and lowered length differ", name);
    let fi: Vec<u32> = p.func_info.iter().map(|r| r.insn_off).collect();
    prop_assert_eq!(&fi, &func_starts, "{}: func_info offsets", name);
    prop_assert_eq!(fi.first().copied(), Some(0), "{}: first func_info", name);
    prop_assert!(
        fi.windows(2).all(|w| w[0] < w[1]),
        "{}: func_info order",
        name
    );
    let btf = m.btf.as_ref().unwrap();
    for r in &p.func_info {
        let t = btf.type_id(r.type_id).unwrap();
        let TypeKind::Func { proto, .. } = btf.ty(t).kind else {
            return Err(TestCaseError::fail(format!(
                "{name}: func_info type {} is not a FUNC",
                r.type_id.0
            )));
        };
        let is_proto = matches!(btf.ty(proto).kind, TypeKind::FuncProto { .. });
        prop_assert!(is_proto, "{}: FUNC without FUNC_PROTO", name);
    }
    let li: Vec<u32> = p.line_info.iter().map(|r| r.insn_off).collect();
    prop_assert_eq!(li.first().copied(), Some(0), "{}: first line_info", name);
    prop_assert!(li.windows(2).all(|w| w[0] < w[1]), "{}: line order", name);
    for off in &li {
        prop_assert!(*off < n_slots, "{}: line_info {} past the end", name, off);
        prop_assert!(
            starts.contains(off),
            "{}: line_info {} inside ld_imm64",
            name,
            off
        );
    }
    for s in &func_starts {
        prop_assert!(li.contains(s), "{}: no line at function start {}", name, s);
    }
    for r in &p.core_relos {
        prop_assert!(r.insn_off % 8 == 0 && starts.contains(&(r.insn_off / 8)));
    }
    Ok(())
}

/// `m` written and read back equals `m`: description, BTF, and lowered programs.
fn check_round_trip(m: &Module) -> Result<(), TestCaseError> {
    let bytes = write_object(m).map_err(|e| TestCaseError::fail(format!("write: {e}")))?;
    let m2 = Module::read(&bytes).map_err(|e| TestCaseError::fail(format!("read: {e}")))?;
    prop_assert_eq!(describe(m), describe(&m2));
    prop_assert!(m.btf == m2.btf, "BTF differs after write and read");
    let (l1, l2) = (lower_all(m)?, lower_all(&m2)?);
    prop_assert_eq!(l1.len(), l2.len());
    for ((_, a), (_, b)) in l1.iter().zip(&l2) {
        prop_assert_eq!(resolve(m, a), resolve(&m2, b));
        // Same BTF, so the raw records are equal too.
        prop_assert_eq!(&a.func_info, &b.func_info);
        prop_assert_eq!(&a.line_info, &b.line_info);
        prop_assert_eq!(&a.core_relos, &b.core_relos);
    }
    Ok(())
}

/// Ids of a module with their metadata, to compare after edits.
type Snapshot = Vec<(InsnId, Insn, bpfir::ir::Meta, Option<FuncId>)>;

fn snapshot(m: &Module) -> Snapshot {
    m.functions()
        .flat_map(|(f, _)| m.func_insns(f).map(move |i| (f, i)))
        .map(|(f, i)| (i, *m.insn(i), m.meta(i), Some(f)))
        .collect()
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn written_modules_read_back_equal(m in arb_module(ModuleConfig::default())) {
        for (_, p) in lower_all(&m)? {
            check_kernel_rules(&m, &p)?;
        }
        check_round_trip(&m)?;
    }

    #[test]
    fn linking_does_not_change_a_program_that_uses_nothing_of_the_other_input(
        a in arb_module(prefixed("a_")),
        b in arb_module(prefixed("b_")),
    ) {
        let linked = link(&[a.clone(), b.clone()], &LinkOptions::default())
            .map_err(|e| TestCaseError::fail(format!("link: {e}")))?;
        prop_assert_eq!(
            linked.programs().count(),
            a.programs().count() + b.programs().count()
        );
        let lb = fake_bindings(&linked);
        for input in [&a, &b] {
            for (f, p) in lower_all(input)? {
                let name = &input.function(f).name;
                let g = linked.function_by_name(name).unwrap();
                let q = lower(&linked, g, &lb)
                    .map_err(|e| TestCaseError::fail(format!("linked {name}: {e}")))?;
                check_kernel_rules(&linked, &q)?;
                // Same bytecode, and the same ext info once type ids and strings are read
                // back: the link de-duplicates the merged BTF, which renumbers both (even
                // for the first input).
                prop_assert_eq!(resolve(input, &p), resolve(&linked, &q), "program {}", name);
                prop_assert_eq!(&p.insns, &q.insns, "{}: bytecode", name);
            }
        }
        check_round_trip(&linked)?;
    }
}

/// Edits applied and skipped, per kind (insert, remove, move, inline).
#[derive(Default)]
struct EditCounts {
    applied: [usize; 4],
    skipped: [usize; 4],
}

fn kind(e: &Edit) -> usize {
    match e {
        Edit::Insert { .. } => 0,
        Edit::Remove { .. } => 1,
        Edit::Move { .. } => 2,
        Edit::Inline { .. } => 3,
    }
}

fn check_edits(
    mut m: Module,
    edits: &EditSequence,
    counts: &mut EditCounts,
) -> Result<(), TestCaseError> {
    let before = snapshot(&m);
    let mut log = EditLog::default();
    for e in &edits.0 {
        if e.apply(&mut m, &mut log) {
            counts.applied[kind(e)] += 1;
        } else {
            counts.skipped[kind(e)] += 1;
        }
    }
    let touched: HashSet<InsnId> = log.touched.iter().copied().collect();
    let moved: HashSet<InsnId> = log.moved.iter().copied().collect();
    for (id, insn, meta, func) in before {
        if touched.contains(&id) {
            continue;
        }
        prop_assert_eq!(m.insn(id), &insn, "payload of {:?}", id);
        prop_assert_eq!(m.meta(id), meta, "metadata of {:?}", id);
        if moved.contains(&id) {
            prop_assert!(
                m.func_of(id).is_some(),
                "{:?} was moved out of every function",
                id
            );
        } else {
            prop_assert_eq!(m.func_of(id), func, "function of {:?}", id);
        }
    }
    for (_, p) in lower_all(&m)? {
        check_kernel_rules(&m, &p)?;
    }
    check_round_trip(&m)
}

#[test]
fn edits_keep_untouched_instructions_and_the_kernel_rules() {
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::new(config(96));
    let counts = std::cell::RefCell::new(EditCounts::default());
    let strategy = (arb_module(ModuleConfig::default()), arb_edits(24));
    let result = runner.run(&strategy, |(m, edits)| {
        check_edits(m, &edits, &mut counts.borrow_mut())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let c = counts.into_inner();
    println!(
        "edits applied/skipped: insert {}/{}, remove {}/{}, move {}/{}, inline {}/{}",
        c.applied[0],
        c.skipped[0],
        c.applied[1],
        c.skipped[1],
        c.applied[2],
        c.skipped[2],
        c.applied[3],
        c.skipped[3]
    );
    // Every kind of edit was exercised, not skipped throughout.
    assert!(
        c.applied.iter().all(|&n| n > 0),
        "some kind of edit never applied"
    );
}

#[test]
fn generated_programs_load_and_return_what_the_interpreter_says() {
    use bpfir::load::{load, LoadOptions};
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    if !kernel::kernel_available("generated_programs_load_and_return_what_the_interpreter_says") {
        return;
    }
    // Few cases: each creates maps and loads programs. No CO-RE: the running kernel has
    // no struct of the generated BTF, so user-space CO-RE would poison the instructions.
    let strategy = arb_module(ModuleConfig {
        core: false,
        ..ModuleConfig::default()
    });
    let mut runner = TestRunner::new(config(32));
    let (mut programs, mut functions, mut inlines) = (0, 0, 0);
    for case in 0..32 {
        let m = strategy.new_tree(&mut runner).unwrap().current();
        let opts = LoadOptions {
            object_name: "prop".into(),
            ..LoadOptions::default()
        };
        // The same module with calls spliced in (every function's first call, twice over):
        // it must load too and return the same values.
        let mut inlined = m.clone();
        let n = inlined.functions().len();
        let splices: Vec<Edit> = (0..2 * n)
            .map(|k| Edit::Inline {
                func: k % n,
                call: 0,
            })
            .collect();
        let log = EditSequence(splices).apply(&mut inlined);
        inlines += log.applied;
        let loaded_inlined = load(&inlined, &opts)
            .unwrap_or_else(|e| panic!("case {case} inlined: {e}\n{}", describe(&inlined)));
        let loaded =
            load(&m, &opts).unwrap_or_else(|e| panic!("case {case}: {e}\n{}", describe(&m)));
        kernel::check_offline_tags("generated", &loaded);
        kernel::check_offline_tags("generated, inlined", &loaded_inlined);
        for p in &loaded.programs {
            let lp = p
                .result
                .as_ref()
                .unwrap_or_else(|e| panic!("case {case} {}: {e}\n{}", p.name, describe(&m)));
            let got = lp.run_zero_packet(64).unwrap().retval;
            let want = interpret(&m, p.func, [0; 11]) as u32;
            assert_eq!(got, want, "case {case} {}:\n{}", p.name, describe(&m));
            let q = loaded_inlined
                .programs
                .iter()
                .find(|q| q.name == p.name)
                .unwrap();
            let lq = q.result.as_ref().unwrap_or_else(|e| {
                panic!(
                    "case {case} {} inlined: {e}\n{}",
                    p.name,
                    describe(&inlined)
                )
            });
            assert_eq!(
                lq.run_zero_packet(64).unwrap().retval,
                want,
                "case {case} {} inlined",
                p.name
            );
            assert_eq!(interpret(&inlined, q.func, [0; 11]) as u32, want);
            programs += 1;
            functions += bpfir::lower::link_order(&m, p.func).len();
        }
    }
    println!(
        "{programs} generated programs ({functions} functions) loaded and ran as interpreted, \
         and again after {inlines} call splices"
    );
    assert!(inlines > 0, "no call was spliced");
}
