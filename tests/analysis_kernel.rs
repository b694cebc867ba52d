//! The analyses against the kernel, on the self-checking test programs (clang output: stack
//! buffers, map lookups through frame pointers, helper and bpf-to-bpf calls, callbacks).
//! Before every instruction a register `Liveness` says is dead gets garbage, and at every
//! block start a slot `free_stack_slot` returns does too; every program must still load
//! and return what it returned before (`tests/common::EXPECTED_RUNS`). Also checks that
//! `program_stack` keeps each program within the kernel's 512 bytes and that the CFG,
//! dominators and liveness are computed for every function.

#![cfg(all(feature = "kernel", target_os = "linux"))]

mod common;
#[path = "common/kernel.rs"]
mod kernel;

use std::collections::BTreeSet;

use bpfir::analysis::cfg::Cfg;
use bpfir::analysis::liveness::Liveness;
use bpfir::analysis::stack::{free_stack_slot, program_stack};
use bpfir::insn::{Reg, Size};
use bpfir::ir::build::{mov64_imm, st};
use bpfir::ir::{FuncId, InsnId, Meta, Module};
use bpfir::load::{load, LoadOptions};

/// Whether code inserted before `at` runs: jumps to `at` keep going to `at`, so after an
/// instruction that does not fall through it would be unreachable (which the kernel
/// refuses).
fn reachable_before(m: &Module, at: InsnId) -> bool {
    m.prev_insn(at).is_none_or(|p| m.insn(p).falls_through())
}

/// The garbage writes for `m`, planned on `m` as it is: `(before, instruction)`.
fn plan(m: &Module) -> Vec<(InsnId, bpfir::insn::Insn)> {
    let mut out = Vec::new();
    let funcs: Vec<FuncId> = m.functions().map(|(f, _)| f).collect();
    for f in funcs {
        let cfg = Cfg::compute(m, f).unwrap();
        let live = Liveness::of_cfg(m, &cfg);
        let slot = free_stack_slot(m, f, 8).unwrap();
        for (k, id) in m.func_insns(f).enumerate() {
            let dead: Vec<Reg> = live.dead_registers_at(id).iter().collect();
            if !dead.is_empty() && reachable_before(m, id) {
                out.push((id, mov64_imm(dead[k % dead.len()], 0x5eed_0000 | k as i32)));
            }
        }
        if let Some(off) = slot {
            for (_, b) in cfg
                .blocks()
                .filter(|(_, b)| reachable_before(m, b.insns[0]))
            {
                out.push((b.insns[0], st(Size::DW, Reg::R10, off, 0x0bad_f00d)));
            }
        }
    }
    out
}

#[test]
fn garbage_where_the_analyses_allow_it_changes_no_result() {
    if !kernel::kernel_available("garbage_where_the_analyses_allow_it_changes_no_result") {
        return;
    }
    let Some(pins) = kernel::PinDir::new("garbage_where_the_analyses_allow_it_changes_no_result")
    else {
        return;
    };
    let objects: BTreeSet<&str> = common::EXPECTED_RUNS.iter().map(|e| e.0).collect();
    let (mut writes, mut programs) = (0, 0);
    for object in objects {
        let path = common::testdata_dir().join(object);
        let mut m = Module::read(&std::fs::read(&path).unwrap()).unwrap();
        for (f, func) in m.programs() {
            let s = program_stack(&m, f, true).unwrap();
            assert!(s.fits(), "{object} {}: {} bytes", func.name, s.combined);
        }
        let plan = plan(&m);
        writes += plan.len();
        for (at, insn) in plan {
            m.insert_before(at, insn, Meta::default()).unwrap();
        }
        let opts = LoadOptions {
            object_name: object.split('.').next().unwrap().into(),
            pin_root: Some(pins.subdir(&object.replace('.', "_"))),
            ..LoadOptions::default()
        };
        let loaded = load(&m, &opts).unwrap_or_else(|e| panic!("{object}: {e}"));
        for p in &loaded.programs {
            let lp = p
                .result
                .as_ref()
                .unwrap_or_else(|e| panic!("{object} {}: {e}", p.name));
            let want = common::EXPECTED_RUNS
                .iter()
                .find(|e| e.0 == object && e.1 == p.name)
                .unwrap_or_else(|| panic!("{object}: unexpected program {}", p.name))
                .2;
            if let Some(want) = want {
                let got = lp.run_zero_packet(64).unwrap().retval;
                assert_eq!(got, want, "{object} {}", p.name);
            }
            programs += 1;
        }
        kernel::check_offline_tags(object, &loaded);
    }
    eprintln!("{programs} programs loaded and returned as before after {writes} garbage writes");
    assert!(writes > 100);
}
