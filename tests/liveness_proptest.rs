//! The liveness and free-stack-slot queries, checked by what they promise: on modules
//! drawn by `bpfir::testing` (plus stack traffic: slots initialized after the prologue,
//! registers spilled to them at random points, and every slot added into r0 before each
//! `exit`), writing garbage into a register `Liveness` says is dead at a point, or into a
//! slot `free_stack_slot` returns, never changes what any program returns — by the
//! reference interpreter (`tests/common/interp.rs`) and, for some cases, by
//! `BPF_PROG_TEST_RUN`.
//!
//! Run with `cargo test --features proptest --test liveness_proptest`. The RNG seed is fixed
//! and printed; `PROPTEST_RNG_SEED=<n>` explores others.

#[path = "common/interp.rs"]
mod interp;
#[path = "common/kernel.rs"]
mod kernel;

#[path = "common/seeded.rs"]
mod seeded;

use bpfir::analysis::liveness::Liveness;
use bpfir::analysis::stack::free_stack_slot;
use bpfir::insn::{Insn, Reg, RegSet, Size};
use bpfir::ir::build::{add64_reg, ldx, mov64_imm, st, stx};
use bpfir::ir::{FuncId, InsnId, Meta, Module};
use bpfir::testing::{arb_module, describe, ModuleConfig};
use interp::interpret;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};

const SEED: u64 = 0x6c69_7665_6e65_7373;

fn config(cases: u32) -> ProptestConfig {
    seeded::config(SEED, cases)
}

/// Stack slots of the stack traffic: `r10 - 8`, `- 16`, `- 24`.
const SLOTS: [i16; 3] = [-8, -16, -24];
/// Instructions of every generated body's prologue (`r0..r5 = imm`).
const PROLOGUE: usize = 6;

/// One random choice: a function, a position, a register or slot, a value.
type Pick = (usize, usize, usize, i32);

fn picks(max: usize) -> impl Strategy<Value = Vec<Pick>> {
    prop::collection::vec(
        (any::<usize>(), any::<usize>(), any::<usize>(), any::<i32>()),
        0..max,
    )
}

fn functions(m: &Module) -> Vec<FuncId> {
    m.functions().map(|(f, _)| f).collect()
}

/// Whether code inserted before `at` runs: jumps to `at` keep going to `at`, so after an
/// instruction that does not fall through it would be unreachable (which the kernel
/// refuses).
fn reachable_before(m: &Module, at: InsnId) -> bool {
    m.prev_insn(at).is_none_or(|p| m.insn(p).falls_through())
}

fn ins(m: &mut Module, at: InsnId, insn: Insn) {
    m.insert_before(at, insn, Meta::default()).unwrap();
}

/// Adds the stack traffic described in the module documentation.
fn add_stack_traffic(m: &mut Module, spills: &[Pick]) {
    let fs = functions(m);
    for &f in &fs {
        let body: Vec<InsnId> = m.func_insns(f).collect();
        for &off in &SLOTS {
            ins(
                m,
                body[PROLOGUE],
                st(Size::DW, Reg::R10, off, 0x11 * i32::from(-off)),
            );
        }
        let exits: Vec<InsnId> = body
            .iter()
            .copied()
            .filter(|&i| *m.insn(i) == Insn::Exit)
            .collect();
        for id in exits {
            for &off in &SLOTS {
                ins(m, id, ldx(Size::DW, Reg::R6, Reg::R10, off));
                ins(m, id, add64_reg(Reg::R0, Reg::R6));
            }
        }
    }
    for &(fsel, psel, rsel, _) in spills {
        let f = fs[fsel % fs.len()];
        let body: Vec<InsnId> = m.func_insns(f).collect();
        // After the prologue and the slots' initialization.
        let lo = PROLOGUE + SLOTS.len();
        let at = body[lo + psel % (body.len() - lo)];
        // Not between `ld_imm64` of a map and its overwrite: the register holds the map.
        let after_map = m
            .prev_insn(at)
            .is_some_and(|p| matches!(m.insn(p), Insn::LdImm64 { .. }));
        // r0 is initialized everywhere after the prologue (r1-r5 not between a call and
        // their re-initialization): spill r0, or store a constant.
        if !after_map && reachable_before(m, at) {
            let slot = SLOTS[rsel % SLOTS.len()];
            let insn = if (rsel / 3) % 2 == 0 {
                stx(Size::DW, Reg::R10, slot, Reg::R0)
            } else {
                st(Size::DW, Reg::R10, slot, rsel as i32)
            };
            ins(m, at, insn);
        }
    }
}

/// Writes garbage before the picked points: into a register dead there, and into a free
/// stack slot of the function. Returns the number of writes.
fn scribble(m: &mut Module, regs: &[Pick], slots: &[Pick]) -> usize {
    let fs = functions(m);
    let mut plan: Vec<(InsnId, Insn)> = Vec::new();
    for &(fsel, psel, rsel, value) in regs {
        let f = fs[fsel % fs.len()];
        let live = Liveness::compute(m, f).unwrap();
        let body: Vec<InsnId> = m.func_insns(f).collect();
        let at = body[psel % body.len()];
        let dead: Vec<Reg> = live.dead_registers_at(at).iter().collect();
        assert!(!dead.contains(&Reg::R10));
        if !dead.is_empty() && reachable_before(m, at) {
            plan.push((at, mov64_imm(dead[rsel % dead.len()], value)));
        }
    }
    for &(fsel, psel, ssel, value) in slots {
        let f = fs[fsel % fs.len()];
        let size = [Size::B, Size::H, Size::W, Size::DW][ssel % 4];
        if let Some(off) = free_stack_slot(m, f, u32::from(size.bytes())).unwrap() {
            assert!(
                SLOTS
                    .iter()
                    .all(|&s| off + size.bytes() as i16 <= s || off >= s + 8),
                "free slot {off} overlaps a used one"
            );
            let body: Vec<InsnId> = m.func_insns(f).collect();
            let at = body[psel % body.len()];
            if reachable_before(m, at) {
                plan.push((at, st(size, Reg::R10, off, value)));
            }
        }
    }
    let n = plan.len();
    for (at, insn) in plan {
        ins(m, at, insn);
    }
    n
}

/// Every program's result by the interpreter (entered with r1 = an opaque context).
fn results(m: &Module) -> Vec<(String, u32)> {
    m.programs()
        .map(|(f, func)| {
            let mut regs = [0u64; 11];
            regs[1] = 0xc0de_c7c7;
            (func.name.clone(), interpret(m, f, regs) as u32)
        })
        .collect()
}

fn strategy() -> impl Strategy<Value = (Module, Vec<Pick>, Vec<Pick>, Vec<Pick>)> {
    (
        arb_module(ModuleConfig {
            core: false,
            ..ModuleConfig::default()
        }),
        picks(6),
        picks(16),
        picks(6),
    )
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn garbage_in_dead_registers_and_free_slots_changes_no_result(
        (m, spills, regs, slots) in strategy()
    ) {
        let mut m = m;
        add_stack_traffic(&mut m, &spills);
        let want = results(&m);
        let mut scribbled = m.clone();
        scribble(&mut scribbled, &regs, &slots);
        prop_assert_eq!(results(&scribbled), want, "{}", describe(&scribbled));
    }
}

/// Liveness is not vacuous: writing into a register it says is live changes some result
/// in some case (so the property above can fail).
#[test]
fn writing_a_live_register_is_noticed() {
    use proptest::strategy::ValueTree;
    let mut runner = TestRunner::new(config(64));
    let mut changed = 0;
    for _ in 0..64 {
        let (mut m, spills, _, _) = strategy().new_tree(&mut runner).unwrap().current();
        add_stack_traffic(&mut m, &spills);
        let want = results(&m);
        // Before every exit r0 is live: overwrite it.
        let mut bad = m.clone();
        for f in functions(&bad) {
            let live = Liveness::compute(&bad, f).unwrap();
            let exits: Vec<InsnId> = bad
                .func_insns(f)
                .filter(|&i| *bad.insn(i) == Insn::Exit)
                .collect();
            for at in exits {
                assert!(live.live_in(at).unwrap().contains(Reg::R0));
                assert_eq!(
                    live.live_in(at)
                        .unwrap()
                        .minus(RegSet::of(Reg::R0).with(Reg::R10)),
                    RegSet::EMPTY
                );
                ins(&mut bad, at, mov64_imm(Reg::R0, 0x7777_7777));
            }
        }
        if results(&bad) != want {
            changed += 1;
        }
    }
    assert!(
        changed > 32,
        "only {changed} of 64 cases noticed a write to r0 at exit"
    );
}

#[test]
fn the_kernel_agrees() {
    use bpfir::load::{load, LoadOptions};
    use proptest::strategy::ValueTree;

    if !kernel::kernel_available("the_kernel_agrees") {
        return;
    }
    let mut runner = TestRunner::new(config(16));
    let (mut programs, mut writes) = (0, 0);
    for case in 0..16 {
        let (mut m, spills, regs, slots) = strategy().new_tree(&mut runner).unwrap().current();
        add_stack_traffic(&mut m, &spills);
        let mut scribbled = m.clone();
        writes += scribble(&mut scribbled, &regs, &slots);
        let want = results(&m);
        let opts = LoadOptions {
            object_name: "live".into(),
            ..LoadOptions::default()
        };
        for (what, module) in [("original", &m), ("scribbled", &scribbled)] {
            let loaded = load(module, &opts)
                .unwrap_or_else(|e| panic!("case {case} {what}: {e}\n{}", describe(module)));
            kernel::check_offline_tags(what, &loaded);
            for p in &loaded.programs {
                let lp = p.result.as_ref().unwrap_or_else(|e| {
                    panic!("case {case} {what} {}: {e}\n{}", p.name, describe(module))
                });
                let got = lp.run_zero_packet(64).unwrap().retval;
                let expected = want.iter().find(|(n, _)| n == &p.name).unwrap().1;
                assert_eq!(got, expected, "case {case} {what} {}", p.name);
                programs += 1;
            }
        }
    }
    eprintln!("{programs} program loads returned the interpreter's value; {writes} garbage writes");
    assert!(writes > 0);
}
