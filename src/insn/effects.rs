//! What one instruction does to registers, control flow and the stack: the per-instruction
//! facts that liveness, the CFG and stack analyses are built from.
//!
//! * [`RegSet`]: a set of registers as an 11-bit mask.
//! * [`Insn::regs_read`] / [`Insn::regs_written`]: registers used and defined. A call reads
//!   its argument registers and clobbers R0–R5; how many arguments it takes is the caller's
//!   knowledge (the helper table for helpers, the BTF `FUNC_PROTO` for bpf-to-bpf calls and
//!   kfuncs), passed as [`CallArgs`]. Without it, helpers use [`Helper::n_args`] and the other
//!   calls are taken to read all of R1–R5 (never too few, so liveness stays sound).
//! * [`Insn::flow`]: where control goes after the instruction ([`Flow`]).
//! * [`Insn::stack_access`]: an access through the frame pointer (`R10 + off`) and its size.
//!
//! Invariants: R10 is read by the instructions that name it and written by none (the kernel
//! refuses a write to it); an instruction's result never depends on anything outside the
//! instruction. Costs: a `match` per query, no allocation.

use super::{AtomicOp, CallKind, Insn, Operand, Reg};
use crate::abi::Helper;

/// A set of registers (R0..=R10), as a bit mask.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RegSet(u16);

impl RegSet {
    /// No register.
    pub const EMPTY: RegSet = RegSet(0);
    /// R0..=R10.
    pub const ALL: RegSet = RegSet(0x7ff);
    /// The registers a call clobbers: R0..=R5.
    pub const CALLER_SAVED: RegSet = RegSet(0x3f);

    /// The set holding only `r`.
    pub fn of(r: Reg) -> RegSet {
        RegSet(1 << r.number())
    }

    /// The argument registers R1..=R`n` (`n` capped at 5).
    pub fn args(n: u8) -> RegSet {
        RegSet(((1u16 << n.min(5)) - 1) << 1)
    }

    /// Whether `r` is in the set.
    pub fn contains(self, r: Reg) -> bool {
        self.0 & (1 << r.number()) != 0
    }

    /// The set with `r` added.
    #[must_use]
    pub fn with(self, r: Reg) -> RegSet {
        RegSet(self.0 | (1 << r.number()))
    }

    /// The set with `r` removed.
    #[must_use]
    pub fn without(self, r: Reg) -> RegSet {
        RegSet(self.0 & !(1 << r.number()))
    }

    /// Union.
    #[must_use]
    pub fn union(self, o: RegSet) -> RegSet {
        RegSet(self.0 | o.0)
    }

    /// The registers of `self` not in `o`.
    #[must_use]
    pub fn minus(self, o: RegSet) -> RegSet {
        RegSet(self.0 & !o.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Number of registers in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The registers, in number order.
    pub fn iter(self) -> impl Iterator<Item = Reg> {
        Reg::ALL.into_iter().filter(move |r| self.contains(*r))
    }
}

impl std::fmt::Debug for RegSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl std::fmt::Display for RegSet {
    /// `{r0, r6}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("{")?;
        for (i, r) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{r}")?;
        }
        f.write_str("}")
    }
}

/// How many argument registers a call reads, when the caller knows (from the BTF
/// `FUNC_PROTO` of the callee or kfunc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CallArgs {
    /// Not known: helpers from the helper table, other calls R1–R5.
    #[default]
    Unknown,
    /// Exactly R1..=R`n`.
    Known(u8),
}

/// Where control goes after an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// To the next instruction (calls too: they return).
    Next,
    /// Always to the relative target (`ja`, `gotol`).
    Jump(i32),
    /// To the relative target or the next instruction (conditional jumps, `may_goto`).
    Branch(i32),
    /// To a target held in a register (`gotox`): any instruction of a jump table.
    Indirect,
    /// Out of the function (`exit`).
    Exit,
}

/// Read or write of a stack access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessKind {
    /// The instruction loads from the slot.
    Read,
    /// The instruction stores to the slot.
    Write,
    /// Both (atomic read-modify-write).
    ReadWrite,
}

/// An access through the frame pointer: `[R10 + off, R10 + off + size)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackAccess {
    /// Offset from R10 (negative inside the frame).
    pub off: i16,
    /// Bytes accessed.
    pub size: u8,
    /// Load, store or both.
    pub kind: AccessKind,
}

fn operand(src: Operand) -> RegSet {
    match src {
        Operand::Reg(r) => RegSet::of(r),
        Operand::Imm(_) => RegSet::EMPTY,
    }
}

impl Insn {
    /// Number of argument registers the call reads, given what the caller knows; `None` for
    /// an instruction that is not a call.
    pub fn call_arg_count(&self, args: CallArgs) -> Option<u8> {
        match (*self, args) {
            (Insn::Call { .. } | Insn::CallX { .. }, CallArgs::Known(n)) => Some(n.min(5)),
            (
                Insn::Call {
                    kind: CallKind::Helper,
                    imm,
                    ..
                },
                CallArgs::Unknown,
            ) => Some(
                u32::try_from(imm)
                    .ok()
                    .and_then(Helper::from_id)
                    .map_or(5, Helper::n_args),
            ),
            (Insn::Call { .. } | Insn::CallX { .. }, CallArgs::Unknown) => Some(5),
            _ => None,
        }
    }

    /// The registers the instruction reads, with the argument count of a call from `args`.
    ///
    /// ```
    /// use bpfir::insn::{CallArgs, CallKind, Insn, Reg, RegSet};
    /// // bpf_map_lookup_elem (helper 1) takes two arguments.
    /// let call = Insn::Call { kind: CallKind::Helper, imm: 1, off: 0 };
    /// assert_eq!(call.regs_read_with(CallArgs::Unknown), RegSet::args(2));
    /// assert_eq!(Insn::Exit.regs_read_with(CallArgs::Unknown), RegSet::of(Reg::R0));
    /// ```
    pub fn regs_read_with(&self, args: CallArgs) -> RegSet {
        use Insn::*;
        match *self {
            // Unknown: it may read anything.
            Opaque { .. } => RegSet::ALL,
            Alu { op, dst, src, .. } => {
                let d = if op == super::AluOp::Mov {
                    RegSet::EMPTY
                } else {
                    RegSet::of(dst)
                };
                d.union(operand(src))
            }
            Neg { dst, .. } | End { dst, .. } | Bswap { dst, .. } => RegSet::of(dst),
            MovSx { src, .. } | AddrSpaceCast { src, .. } => RegSet::of(src),
            Ja { .. } | Gotol { .. } | MayGoto { .. } => RegSet::EMPTY,
            Gotox { dst } | CallX { dst } => {
                let a = self.call_arg_count(args).unwrap_or(0);
                RegSet::of(dst).union(RegSet::args(a))
            }
            JmpCond { dst, src, .. } => RegSet::of(dst).union(operand(src)),
            Call { .. } => RegSet::args(self.call_arg_count(args).unwrap_or(5)),
            Exit => RegSet::of(Reg::R0),
            LdImm64 { .. } => RegSet::EMPTY,
            // Legacy packet loads read the context from R6 and clobber R1–R5.
            LdAbs { .. } => RegSet::of(Reg::R6),
            LdInd { src, .. } => RegSet::of(Reg::R6).with(src),
            Load { src, .. } | LoadSx { src, .. } | LoadAcquire { src, .. } => RegSet::of(src),
            StoreImm { dst, .. } => RegSet::of(dst),
            Store { dst, src, .. } | StoreRelease { dst, src, .. } => RegSet::of(dst).with(src),
            Atomic { op, dst, src, .. } => {
                let r = RegSet::of(dst).with(src);
                if op == AtomicOp::Cmpxchg {
                    r.with(Reg::R0)
                } else {
                    r
                }
            }
        }
    }

    /// [`regs_read_with`](Self::regs_read_with) without knowledge of the callee.
    pub fn regs_read(&self) -> RegSet {
        self.regs_read_with(CallArgs::Unknown)
    }

    /// The registers the instruction writes (for a call: R0–R5, which it clobbers).
    pub fn regs_written(&self) -> RegSet {
        use Insn::*;
        match *self {
            // Unknown: no write is assumed (which keeps every earlier definition live).
            Opaque { .. } => RegSet::EMPTY,
            Alu { dst, .. }
            | Neg { dst, .. }
            | MovSx { dst, .. }
            | AddrSpaceCast { dst, .. }
            | End { dst, .. }
            | Bswap { dst, .. }
            | LdImm64 { dst, .. }
            | Load { dst, .. }
            | LoadSx { dst, .. }
            | LoadAcquire { dst, .. } => RegSet::of(dst),
            Call { .. } | CallX { .. } | LdAbs { .. } | LdInd { .. } => RegSet::CALLER_SAVED,
            Atomic { op, src, .. } => match op {
                AtomicOp::Cmpxchg => RegSet::of(Reg::R0),
                op if op.imm() & 1 != 0 => RegSet::of(src),
                _ => RegSet::EMPTY,
            },
            Ja { .. } | Gotol { .. } | Gotox { .. } | MayGoto { .. } | JmpCond { .. } | Exit => {
                RegSet::EMPTY
            }
            StoreImm { .. } | Store { .. } | StoreRelease { .. } => RegSet::EMPTY,
        }
    }

    /// Where control goes after the instruction.
    pub fn flow(&self) -> Flow {
        match *self {
            Insn::Ja { off } => Flow::Jump(i32::from(off)),
            Insn::Gotol { imm } => Flow::Jump(imm),
            Insn::MayGoto { off } | Insn::JmpCond { off, .. } => Flow::Branch(i32::from(off)),
            Insn::Gotox { .. } => Flow::Indirect,
            Insn::Exit => Flow::Exit,
            _ => Flow::Next,
        }
    }

    /// Whether the instruction ends a basic block (a jump of any kind or `exit`; calls
    /// return and do not).
    pub fn is_terminator(&self) -> bool {
        self.flow() != Flow::Next
    }

    /// Whether control can reach the next instruction after this one.
    pub fn falls_through(&self) -> bool {
        matches!(self.flow(), Flow::Next | Flow::Branch(_))
    }

    /// The access through the frame pointer R10 the instruction makes, if any: loads,
    /// stores and atomics whose base register is R10.
    pub fn stack_access(&self) -> Option<StackAccess> {
        use Insn::*;
        let (base, off, size, kind) = match *self {
            Load { src, off, size, .. }
            | LoadSx { src, off, size, .. }
            | LoadAcquire { src, off, size, .. } => (src, off, size, AccessKind::Read),
            StoreImm { dst, off, size, .. }
            | Store { dst, off, size, .. }
            | StoreRelease { dst, off, size, .. } => (dst, off, size, AccessKind::Write),
            Atomic { dst, off, size, .. } => (dst, off, size, AccessKind::ReadWrite),
            _ => return None,
        };
        (base == Reg::R10).then_some(StackAccess {
            off,
            size: size.bytes(),
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::{AluClass, AluOp, JmpClass, JmpOp, Size};

    #[test]
    fn regset_basics() {
        assert_eq!(RegSet::args(0), RegSet::EMPTY);
        assert_eq!(
            RegSet::args(5).iter().collect::<Vec<_>>(),
            vec![Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5]
        );
        assert_eq!(RegSet::args(9), RegSet::args(5));
        assert_eq!(RegSet::ALL.len(), 11);
        let s = RegSet::of(Reg::R0).with(Reg::R6);
        assert_eq!(s.to_string(), "{r0, r6}");
        assert!(s.without(Reg::R0).contains(Reg::R6));
        assert!(!s.without(Reg::R0).contains(Reg::R0));
    }

    #[test]
    fn calls_read_their_arguments_and_clobber_r0_to_r5() {
        let helper = |imm| Insn::Call {
            kind: CallKind::Helper,
            imm,
            off: 0,
        };
        // bpf_get_prandom_u32 (7) takes none; bpf_map_update_elem (2) four.
        assert_eq!(helper(7).regs_read(), RegSet::EMPTY);
        assert_eq!(helper(2).regs_read(), RegSet::args(4));
        // An id the table does not know reads all five.
        assert_eq!(helper(100_000).regs_read(), RegSet::args(5));
        let local = Insn::Call {
            kind: CallKind::Local,
            imm: 3,
            off: 0,
        };
        assert_eq!(local.regs_read(), RegSet::args(5));
        assert_eq!(local.regs_read_with(CallArgs::Known(1)), RegSet::args(1));
        assert_eq!(local.regs_written(), RegSet::CALLER_SAVED);
        assert!(!local.is_terminator());
        assert!(local.falls_through());
    }

    #[test]
    fn moves_do_not_read_their_destination() {
        let mov = Insn::Alu {
            class: AluClass::Alu64,
            op: AluOp::Mov,
            dst: Reg::R1,
            src: Operand::Reg(Reg::R2),
        };
        assert_eq!(mov.regs_read(), RegSet::of(Reg::R2));
        let add = Insn::Alu {
            class: AluClass::Alu64,
            op: AluOp::Add,
            dst: Reg::R1,
            src: Operand::Imm(1),
        };
        assert_eq!(add.regs_read(), RegSet::of(Reg::R1));
        assert_eq!(add.regs_written(), RegSet::of(Reg::R1));
    }

    #[test]
    fn flow_of_jumps() {
        let jeq = Insn::JmpCond {
            class: JmpClass::Jmp,
            op: JmpOp::Eq,
            dst: Reg::R1,
            src: Operand::Imm(0),
            off: 4,
        };
        assert_eq!(jeq.flow(), Flow::Branch(4));
        assert!(jeq.is_terminator() && jeq.falls_through());
        assert_eq!(Insn::Ja { off: -2 }.flow(), Flow::Jump(-2));
        assert!(!Insn::Ja { off: -2 }.falls_through());
        assert_eq!(Insn::Exit.flow(), Flow::Exit);
        assert_eq!(Insn::MayGoto { off: 1 }.flow(), Flow::Branch(1));
        assert_eq!(Insn::Gotox { dst: Reg::R1 }.flow(), Flow::Indirect);
    }

    #[test]
    fn stack_accesses_through_r10() {
        let st = Insn::Store {
            size: Size::W,
            dst: Reg::R10,
            off: -8,
            src: Reg::R1,
        };
        assert_eq!(
            st.stack_access(),
            Some(StackAccess {
                off: -8,
                size: 4,
                kind: AccessKind::Write
            })
        );
        let ld = Insn::Load {
            size: Size::DW,
            dst: Reg::R2,
            src: Reg::R1,
            off: -8,
        };
        assert_eq!(ld.stack_access(), None);
        assert!(!st.regs_written().contains(Reg::R10));
    }
}
