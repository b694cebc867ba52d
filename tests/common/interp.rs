//! A reference interpreter of the instructions `bpfir::testing` generates, plus what the
//! liveness property adds: ALU with immediates and registers, conditional jumps, `ja`,
//! bpf-to-bpf calls (each with its own 512-byte frame; callee-saved r6-r9 restored on
//! return, as the kernel does), `ld_imm64` (maps as an opaque value), loads and stores
//! through the frame pointer, and `exit`.
//!
//! Include with `#[path = "common/interp.rs"] mod interp;`.

use std::collections::HashMap;

use bpfir::insn::{AluClass, AluOp, Insn, JmpClass, JmpOp, Operand, Reg, Size};
use bpfir::ir::{FuncId, InsnId, Module, Ref};

/// Bytes of one frame.
const FRAME: usize = 512;
/// R10 of the frame at call depth `d` (frames far apart, so a stray access is caught).
fn frame_pointer(depth: usize) -> u64 {
    (depth as u64 + 1) << 32
}

/// r0 of `f` entered with `regs` (r10 is set here).
#[allow(dead_code)]
pub fn interpret(m: &Module, f: FuncId, regs: [u64; 11]) -> u64 {
    run(m, f, regs, 0)
}

fn bytes(size: Size) -> usize {
    size.bytes() as usize
}

fn run(m: &Module, f: FuncId, mut regs: [u64; 11], depth: usize) -> u64 {
    assert!(depth < 8, "call chain too deep");
    let body: Vec<InsnId> = m.func_insns(f).collect();
    let pos: HashMap<InsnId, usize> = body.iter().enumerate().map(|(k, &i)| (i, k)).collect();
    let mut stack = [0u8; FRAME];
    regs[10] = frame_pointer(depth);
    // The stack address `base + off` as an index into `stack`.
    let slot = |base: u64, off: i16, size: usize| -> usize {
        let fp = frame_pointer(depth);
        let addr = base.wrapping_add(i64::from(off) as u64);
        let lo = fp - FRAME as u64;
        assert!(
            addr >= lo && addr + size as u64 <= fp,
            "access outside the frame: {addr:#x} size {size}"
        );
        (addr - lo) as usize
    };
    let mut pc = 0;
    loop {
        let id = body[pc];
        pc += 1;
        let jump_target = || match m.reference(id) {
            Some(Ref::Jump(t)) => pos[&t],
            _ => panic!("jump without target"),
        };
        match *m.insn(id) {
            Insn::Alu {
                class,
                op,
                dst,
                src,
            } => {
                let s = match src {
                    Operand::Imm(i) => i64::from(i) as u64,
                    Operand::Reg(r) => regs[r as usize],
                };
                let d = regs[dst as usize];
                regs[dst as usize] = if class == AluClass::Alu64 {
                    alu64(op, d, s)
                } else {
                    u64::from(alu32(op, d as u32, s as u32))
                };
            }
            Insn::JmpCond {
                class,
                op,
                dst,
                src,
                ..
            } => {
                let s = match src {
                    Operand::Imm(i) => i64::from(i) as u64,
                    Operand::Reg(r) => regs[r as usize],
                };
                let d = regs[dst as usize];
                let taken = if class == JmpClass::Jmp {
                    cond(op, d, s, d as i64, s as i64)
                } else {
                    let (d, s) = (d as u32, s as u32);
                    cond(op, d.into(), s.into(), (d as i32).into(), (s as i32).into())
                };
                if taken {
                    pc = jump_target();
                }
            }
            Insn::Ja { .. } => pc = jump_target(),
            Insn::Call { .. } => {
                let Some(Ref::Call(callee)) = m.reference(id) else {
                    panic!("generated calls are bpf-to-bpf calls")
                };
                let r0 = run(m, callee, regs, depth + 1);
                regs[0] = r0;
                // r1-r5 are clobbered: poison them, a later read of one would show.
                for (r, v) in regs.iter_mut().enumerate().take(6).skip(1) {
                    *v = 0xc10b_be00 + r as u64;
                }
            }
            Insn::LdImm64 { dst, .. } => regs[dst as usize] = 0xdead_beef,
            Insn::Load {
                size,
                dst,
                src,
                off,
                ..
            } => {
                let n = bytes(size);
                let at = slot(regs[src as usize], off, n);
                let mut v = [0u8; 8];
                v[..n].copy_from_slice(&stack[at..at + n]);
                regs[dst as usize] = u64::from_le_bytes(v);
            }
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => {
                let n = bytes(size);
                let at = slot(regs[dst as usize], off, n);
                stack[at..at + n].copy_from_slice(&regs[src as usize].to_le_bytes()[..n]);
            }
            Insn::StoreImm {
                size,
                dst,
                off,
                imm,
            } => {
                let n = bytes(size);
                let at = slot(regs[dst as usize], off, n);
                stack[at..at + n].copy_from_slice(&(i64::from(imm) as u64).to_le_bytes()[..n]);
            }
            Insn::Exit => return regs[0],
            other => panic!("not generated: {other}"),
        }
        assert_eq!(
            regs[Reg::R10 as usize],
            frame_pointer(depth),
            "r10 was written"
        );
    }
}

fn alu64(op: AluOp, d: u64, s: u64) -> u64 {
    match op {
        AluOp::Add => d.wrapping_add(s),
        AluOp::Sub => d.wrapping_sub(s),
        AluOp::Mul => d.wrapping_mul(s),
        AluOp::Or => d | s,
        AluOp::And => d & s,
        AluOp::Xor => d ^ s,
        AluOp::Mov => s,
        AluOp::Lsh => d << (s & 63),
        AluOp::Rsh => d >> (s & 63),
        AluOp::Arsh => ((d as i64) >> (s & 63)) as u64,
        AluOp::Div => d.checked_div(s).unwrap_or(0),
        AluOp::Mod => d.checked_rem(s).unwrap_or(d),
        other => panic!("not generated: {other:?}"),
    }
}

fn alu32(op: AluOp, d: u32, s: u32) -> u32 {
    match op {
        AluOp::Add => d.wrapping_add(s),
        AluOp::Sub => d.wrapping_sub(s),
        AluOp::Mul => d.wrapping_mul(s),
        AluOp::Or => d | s,
        AluOp::And => d & s,
        AluOp::Xor => d ^ s,
        AluOp::Mov => s,
        AluOp::Lsh => d << (s & 31),
        AluOp::Rsh => d >> (s & 31),
        AluOp::Arsh => ((d as i32) >> (s & 31)) as u32,
        AluOp::Div => d.checked_div(s).unwrap_or(0),
        AluOp::Mod => d.checked_rem(s).unwrap_or(d),
        other => panic!("not generated: {other:?}"),
    }
}

fn cond(op: JmpOp, d: u64, s: u64, sd: i64, ss: i64) -> bool {
    match op {
        JmpOp::Eq => d == s,
        JmpOp::Ne => d != s,
        JmpOp::Gt => d > s,
        JmpOp::Ge => d >= s,
        JmpOp::Lt => d < s,
        JmpOp::Le => d <= s,
        JmpOp::Set => d & s != 0,
        JmpOp::SGt => sd > ss,
        JmpOp::SGe => sd >= ss,
        JmpOp::SLt => sd < ss,
        JmpOp::SLe => sd <= ss,
    }
}
