//! Tests of the analyses on hand-built functions and on the test programs.

use crate::insn::{AluClass, AluOp, CallKind, Insn, JmpClass, JmpOp, Operand, Reg, RegSet, Size};
use crate::ir::{FuncId, Function, InsnId, Meta, Module, Ref};

use super::callgraph::{callees, link_order};
use super::cfg::{Block, Cfg};
use super::dominators::DomTree;
use super::liveness::Liveness;
use super::stack::{frame_usage, free_stack_slot, program_stack, rounded_frame};
use super::AnalysisError;

fn mov(dst: Reg, imm: i32) -> Insn {
    Insn::Alu {
        class: AluClass::Alu64,
        op: AluOp::Mov,
        dst,
        src: Operand::Imm(imm),
    }
}

fn mov_reg(dst: Reg, src: Reg) -> Insn {
    Insn::Alu {
        class: AluClass::Alu64,
        op: AluOp::Mov,
        dst,
        src: Operand::Reg(src),
    }
}

fn add(dst: Reg, src: Reg) -> Insn {
    Insn::Alu {
        class: AluClass::Alu64,
        op: AluOp::Add,
        dst,
        src: Operand::Reg(src),
    }
}

fn jeq(dst: Reg, imm: i32) -> Insn {
    Insn::JmpCond {
        class: JmpClass::Jmp,
        op: JmpOp::Eq,
        dst,
        src: Operand::Imm(imm),
        off: 0,
    }
}

/// `prog`: a diamond.
///
/// ```text
/// 0: r6 = 1            b0
/// 1: if r1 == 0 goto 4
/// 2: r0 = 2            b1
/// 3: goto 5
/// 4: r0 = r6           b2
/// 5: r0 += r6          b3
/// 6: exit
/// ```
fn diamond() -> (Module, FuncId, Vec<InsnId>) {
    let mut m = Module::new(crate::Endian::Little);
    let f = m.add_function(Function::new("prog", "socket", true));
    let ids: Vec<InsnId> = [
        mov(Reg::R6, 1),
        jeq(Reg::R1, 0),
        mov(Reg::R0, 2),
        Insn::Ja { off: 0 },
        mov_reg(Reg::R0, Reg::R6),
        add(Reg::R0, Reg::R6),
        Insn::Exit,
    ]
    .into_iter()
    .map(|i| m.append(f, i, Meta::default()).unwrap())
    .collect();
    m.set_reference(ids[1], Some(Ref::Jump(ids[4]))).unwrap();
    m.set_reference(ids[3], Some(Ref::Jump(ids[5]))).unwrap();
    (m, f, ids)
}

#[test]
fn cfg_of_a_diamond() {
    let (m, f, ids) = diamond();
    let cfg = Cfg::compute(&m, f).unwrap();
    assert_eq!(cfg.n_blocks(), 4);
    assert_eq!(cfg.insns(Block(0)), &ids[0..2]);
    assert_eq!(cfg.successors(Block(0)), &[Block(2), Block(1)]);
    assert_eq!(cfg.successors(Block(1)), &[Block(3)]);
    assert_eq!(cfg.successors(Block(2)), &[Block(3)]);
    assert_eq!(cfg.predecessors(Block(3)), &[Block(1), Block(2)]);
    assert!(cfg.successors(Block(3)).is_empty());
    assert_eq!(cfg.block_of(ids[5]), Some((Block(3), 0)));
    let rpo = cfg.reverse_postorder();
    assert_eq!(rpo.first(), Some(&Block(0)));
    assert_eq!(rpo.last(), Some(&Block(3)));

    let dom = DomTree::compute(&cfg);
    assert_eq!(dom.idom(Block(3)), Some(Block(0)));
    assert_eq!(dom.idom(Block(1)), Some(Block(0)));
    assert_eq!(dom.idom(Block(0)), None);
    assert!(dom.dominates(Block(0), Block(3)));
    assert!(!dom.dominates(Block(1), Block(3)));
    assert!(dom.dominates(Block(2), Block(2)));
    assert!(dom.dominates_insn(&cfg, ids[0], ids[1]));
    assert!(!dom.dominates_insn(&cfg, ids[1], ids[0]));
    assert!(!dom.dominates_insn(&cfg, ids[2], ids[6]));
}

#[test]
fn liveness_of_a_diamond() {
    let (m, f, ids) = diamond();
    let live = Liveness::compute(&m, f).unwrap();
    // r1 is read by the compare, r6 on both paths, r0 at exit.
    assert_eq!(
        live.live_in(ids[0]).unwrap(),
        RegSet::of(Reg::R1).with(Reg::R10)
    );
    assert_eq!(
        live.live_in(ids[1]).unwrap(),
        RegSet::of(Reg::R1).with(Reg::R6).with(Reg::R10)
    );
    assert!(live.is_dead(Reg::R1, ids[2]));
    assert!(live.is_dead(Reg::R0, ids[2]));
    assert!(!live.is_dead(Reg::R6, ids[2]));
    assert!(!live.is_dead(Reg::R0, ids[5]));
    assert!(!live.is_dead(Reg::R10, ids[6]));
    assert_eq!(live.dead_register_at(ids[5]), Some(Reg::R9));
    assert!(!live.dead_registers_at(ids[6]).contains(Reg::R0));
    assert!(live.dead_registers_at(ids[6]).contains(Reg::R6));
}

#[test]
fn calls_read_arguments_and_clobber() {
    let mut m = Module::new(crate::Endian::Little);
    let f = m.add_function(Function::new("prog", "socket", true));
    // r1 = 0; r2 = 0; r7 = 5; call bpf_get_prandom_u32 (no arguments); r0 = r7; exit
    let ids: Vec<InsnId> = [
        mov(Reg::R1, 0),
        mov(Reg::R7, 5),
        Insn::Call {
            kind: CallKind::Helper,
            imm: 7,
            off: 0,
        },
        mov_reg(Reg::R0, Reg::R7),
        Insn::Exit,
    ]
    .into_iter()
    .map(|i| m.append(f, i, Meta::default()).unwrap())
    .collect();
    let live = Liveness::compute(&m, f).unwrap();
    // The helper takes no argument: r1 is dead before the call; r7 survives it.
    assert!(live.is_dead(Reg::R1, ids[2]));
    assert!(!live.is_dead(Reg::R7, ids[2]));
    // bpf_trace_printk (6) reads r1..r3.
    *m.insn_mut(ids[2]) = Insn::Call {
        kind: CallKind::Helper,
        imm: 6,
        off: 0,
    };
    let live = Liveness::compute(&m, f).unwrap();
    assert!(!live.is_dead(Reg::R1, ids[2]));
    assert!(!live.is_dead(Reg::R1, ids[1]));
}

#[test]
fn bad_jumps_are_errors() {
    let (mut m, f, ids) = diamond();
    m.set_reference(ids[1], None).unwrap();
    assert!(matches!(
        Cfg::compute(&m, f),
        Err(AnalysisError::BadJump { index: 1, .. })
    ));
    let (mut m, f, ids) = diamond();
    m.remove(ids[4]).unwrap();
    let e = Cfg::compute(&m, f).unwrap_err().to_string();
    assert!(e.contains("jump target was removed"), "{e}");
    let (mut m, f, ids) = diamond();
    m.remove(ids[6]).unwrap();
    assert!(matches!(
        Cfg::compute(&m, f),
        Err(AnalysisError::FallsOffEnd { .. })
    ));
}

#[test]
fn stack_usage_follows_frame_pointers() {
    let mut m = Module::new(crate::Endian::Little);
    let f = m.add_function(Function::new("prog", "socket", true));
    let st = |dst, off, size| Insn::StoreImm {
        size,
        dst,
        off,
        imm: 0,
    };
    // *(u32 *)(r10 - 12) = 0; r2 = r10; r2 += -40; call bpf_map_lookup_elem; exit
    for i in [
        st(Reg::R10, -12, Size::W),
        mov_reg(Reg::R2, Reg::R10),
        Insn::Alu {
            class: AluClass::Alu64,
            op: AluOp::Add,
            dst: Reg::R2,
            src: Operand::Imm(-40),
        },
        mov(Reg::R1, 0),
        Insn::Call {
            kind: CallKind::Helper,
            imm: 1,
            off: 0,
        },
        mov(Reg::R0, 0),
        Insn::Exit,
    ] {
        m.append(f, i, Meta::default()).unwrap();
    }
    let u = frame_usage(&m, f).unwrap();
    assert_eq!((u.depth, u.bounded), (40, true));
    assert_eq!(free_stack_slot(&m, f, 8).unwrap(), Some(-48));
    assert_eq!(free_stack_slot(&m, f, 4).unwrap(), Some(-44));
    assert_eq!(free_stack_slot(&m, f, 600).unwrap(), None);
    // A frame pointer moved by a register amount cannot be bounded.
    let first = m.function(f).first_insn().unwrap();
    m.insert_before(first, mov_reg(Reg::R6, Reg::R10), Meta::default())
        .unwrap();
    let at = m.function(f).first_insn().unwrap();
    m.insert_after(at, add(Reg::R6, Reg::R1), Meta::default())
        .unwrap();
    let last = m.function(f).last_insn().unwrap();
    m.insert_before(last, st(Reg::R6, 0, Size::B), Meta::default())
        .unwrap();
    assert!(!frame_usage(&m, f).unwrap().bounded);
    assert_eq!(free_stack_slot(&m, f, 8).unwrap(), None);
}

#[test]
fn rounding_matches_the_kernel() {
    assert_eq!(rounded_frame(0, true), 0);
    assert_eq!(rounded_frame(1, true), 16);
    assert_eq!(rounded_frame(40, true), 48);
    assert_eq!(rounded_frame(0, false), 32);
    assert_eq!(rounded_frame(40, false), 64);
}

fn testdata(name: &str) -> Module {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name);
    Module::read(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn every_function_of_the_test_programs_is_analysed() {
    for name in [
        "calls.bpfel.o",
        "maps.bpfel.o",
        "globals.bpfel.o",
        "isa_v4.bpfel.o",
    ] {
        let m = testdata(name);
        for (f, func) in m.functions() {
            let cfg = Cfg::compute(&m, f).unwrap_or_else(|e| panic!("{name}: {e}"));
            let dom = DomTree::compute(&cfg);
            let live = Liveness::of_cfg(&m, &cfg);
            for (b, data) in cfg.blocks() {
                assert!(!data.insns.is_empty());
                for &s in &data.succs {
                    assert!(cfg.predecessors(s).contains(&b));
                }
                if dom.is_reachable(b) {
                    assert!(dom.dominates(Block(0), b), "{name} {}: {b}", func.name);
                }
            }
            for id in m.func_insns(f) {
                // What an instruction reads is live before it.
                let read = m
                    .insn(id)
                    .regs_read_with(super::callgraph::call_args(&m, id));
                let live_in = live.live_in(id).unwrap();
                assert_eq!(read.minus(live_in), RegSet::EMPTY, "{name} {}", func.name);
            }
            if func.is_program {
                // Programs read only their context (r1) on entry.
                let first = func.first_insn().unwrap();
                let entry = live.live_in(first).unwrap().without(Reg::R10);
                assert!(
                    entry.minus(RegSet::of(Reg::R1)).is_empty(),
                    "{name} {}: {entry}",
                    func.name
                );
                let s = program_stack(&m, f, true).unwrap();
                assert!(s.fits(), "{name} {}", func.name);
                assert_eq!(s.deepest_chain[0], f);
            }
        }
    }
}

#[test]
fn callgraph_of_calls() {
    let m = testdata("calls.bpfel.o");
    for (f, func) in m.programs() {
        let order = link_order(&m, f);
        assert_eq!(order[0], f);
        for &g in &order {
            for c in callees(&m, g) {
                assert!(order.contains(&c), "{}", func.name);
            }
        }
    }
}
