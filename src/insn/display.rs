//! Text form of instructions: what `llvm-objdump-19 -d --no-show-raw-insn` prints.
//!
//! [`Insn`]'s `Display` prints exactly llvm-objdump's text for every instruction that
//! llvm-objdump 19 decodes (without `--mattr`), minus the address column and the `<label>`
//! suffix of jumps: immediates in signed hex (`0x5`, `-0x8`), jump offsets with a sign
//! (`goto +0x3`), memory operands as `*(u32 *)(r1 + 0x4)`, loads and stores on `rN` even for
//! 32-bit sizes. Where llvm-objdump 19 prints `<unknown>` or drops information, we print
//! the syntax of LLVM's own assembler for the instruction:
//!
//! * 32-bit atomics other than a plain add (llvm-objdump decodes those only with
//!   `--mattr=+alu32`): `lock *(u32 *)(r1 + 0x0) |= w2`, `w2 = atomic_fetch_add((u32 *)(r1 +
//!   0x0), w2)`, `w2 = xchg32_32(r1 + 0x0, w2)`, `w0 = cmpxchg32_32(r1 + 0x0, w0, w2)`; a
//!   32-bit add with fetch prints as `atomic_fetch_add` too (llvm-objdump 19 drops the fetch);
//! * load-acquire / store-release (LLVM 20+): `w0 = load_acquire((u8 *)(r1 + 0x0))`,
//!   `store_release((u64 *)(r1 + 0x0), r2)`; `wN` for 8/16/32-bit sizes, `rN` for 64;
//! * `gotox r1` (LLVM 22);
//! * an `ld_imm64` with a pseudo `src_reg` prints as llvm-objdump's `ld_pseudo\tr1, 0x1, 0x5`
//!   but with the full 64-bit immediate where llvm-objdump shows only the low half.
//!
//! Still lossy, exactly as llvm-objdump: a kfunc call's `off` and an `LD_IND`'s `imm` are not
//! printed, and the three call kinds all print as `call imm`. `Debug` is lossless.
//!
//! The operands that carry a program-relative meaning (jump targets, call immediates, the
//! value of an `ld_imm64`) go through an [`Operands`] hook, as cranelift's `FuncWriter` lets a
//! caller decide how entities print: [`RawOperands`] (what `Display` uses) prints the raw
//! numbers, and the IR printer (`ir::text`) prints labels, callee, map and data names with
//! the same code for everything else.
//!
//! Cost: formatting writes straight into the formatter, no allocation.

use core::fmt;

use super::opcode::{
    AluClass, AtomicOp, ByteOrder, CallKind, ExtBits, JmpClass, Operand, PseudoKind, Reg, Size,
    SwapBits,
};
use super::Insn;

/// A signed hex number as llvm-objdump prints immediates: `0x1f`, `-0x8`.
pub struct Hex(pub i64);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 0 {
            write!(f, "-{:#x}", self.0.unsigned_abs())
        } else {
            write!(f, "{:#x}", self.0)
        }
    }
}

/// A jump offset: always signed (`+0x0`, `-0x3`).
struct Rel(i64);

impl fmt::Display for Rel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 0 {
            write!(f, "-{:#x}", self.0.unsigned_abs())
        } else {
            write!(f, "+{:#x}", self.0)
        }
    }
}

/// A base register plus displacement: `r1 + 0x4`, `r10 - 0x8`.
struct Addr(Reg, i16);

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1 < 0 {
            write!(f, "{} - {:#x}", self.0, self.1.unsigned_abs())
        } else {
            write!(f, "{} + {:#x}", self.0, self.1)
        }
    }
}

/// A register under its 32- or 64-bit name.
struct R(Reg, bool);

impl fmt::Display for R {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = if self.1 { 'w' } else { 'r' };
        write!(f, "{prefix}{}", self.0.number())
    }
}

fn swap_bits(bits: SwapBits) -> u8 {
    match bits {
        SwapBits::B16 => 16,
        SwapBits::B32 => 32,
        SwapBits::B64 => 64,
    }
}

/// How the operands with a program-relative meaning print. Each method writes only its
/// part; the rest of the instruction's text is the same for every implementation.
pub trait Operands {
    /// The target of a jump (`ja`, `gotol`, `may_goto`, a conditional jump): `insn` is the
    /// whole instruction, `rel` its raw relative offset in slots. Default: `+0x3`.
    fn jump_target(&self, f: &mut fmt::Formatter<'_>, insn: &Insn, rel: i32) -> fmt::Result {
        let _ = insn;
        write!(f, "{}", Rel(rel.into()))
    }

    /// A whole `call` instruction (`BPF_CALL`, source `K`). Default: `call 0x5`.
    fn call(&self, f: &mut fmt::Formatter<'_>, kind: CallKind, imm: i32, off: i16) -> fmt::Result {
        let _ = (kind, off);
        write!(f, "call {}", Hex(imm.into()))
    }

    /// A whole `ld_imm64`. Default: `r1 = 0x5 ll`, or `ld_pseudo\tr1, 0x1, 0x5` with a pseudo
    /// source register.
    fn ld_imm64(
        &self,
        f: &mut fmt::Formatter<'_>,
        kind: PseudoKind,
        dst: Reg,
        imm: i64,
    ) -> fmt::Result {
        match kind {
            PseudoKind::None => write!(f, "{dst} = {} ll", Hex(imm)),
            _ => write!(
                f,
                "ld_pseudo\t{dst}, {}, {}",
                Hex(kind.src_reg().into()),
                Hex(imm)
            ),
        }
    }
}

/// The operands as the raw numbers llvm-objdump prints: what [`Insn`]'s `Display` uses.
#[derive(Clone, Copy, Debug, Default)]
pub struct RawOperands;

impl Operands for RawOperands {}

/// An instruction printed with an [`Operands`] hook; created by [`Insn::display_with`].
pub struct WithOperands<'a, O: ?Sized> {
    insn: &'a Insn,
    operands: &'a O,
}

impl Insn {
    /// The instruction's text with its program-relative operands printed by `operands`.
    ///
    /// ```
    /// use std::fmt;
    /// use bpfir::insn::{Insn, Operands};
    /// struct Labels;
    /// impl Operands for Labels {
    ///     fn jump_target(&self, f: &mut fmt::Formatter<'_>, _: &Insn, rel: i32) -> fmt::Result {
    ///         write!(f, ".L{rel}")
    ///     }
    /// }
    /// assert_eq!(Insn::Ja { off: 3 }.display_with(&Labels).to_string(), "goto .L3");
    /// ```
    pub fn display_with<'a, O: Operands + ?Sized>(
        &'a self,
        operands: &'a O,
    ) -> WithOperands<'a, O> {
        WithOperands {
            insn: self,
            operands,
        }
    }
}

impl fmt::Display for Insn {
    /// Prints the instruction as llvm-objdump 19 does (see the module docs for the few
    /// instructions it cannot print).
    ///
    /// ```
    /// use bpfir::insn::{AluClass, AluOp, Insn, Operand, Reg};
    /// let add = Insn::Alu { class: AluClass::Alu32, op: AluOp::Add, dst: Reg::R0,
    ///                       src: Operand::Imm(-1) };
    /// assert_eq!(add.to_string(), "w0 += -0x1");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.display_with(&RawOperands).fmt(f)
    }
}

impl<O: Operands + ?Sized> fmt::Display for WithOperands<'_, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ops = self.operands;
        let insn = self.insn;
        match *insn {
            Insn::Opaque {
                code,
                dst,
                src,
                off,
                imm,
            } => write!(
                f,
                "opaque\t{}, {dst}, {src}, {off}, {imm}",
                Hex(code.into())
            ),
            Insn::Alu {
                class,
                op,
                dst,
                src,
            } => {
                let w = class == AluClass::Alu32;
                write!(f, "{} {} ", R(dst, w), op.symbol())?;
                match src {
                    Operand::Imm(imm) => write!(f, "{}", Hex(imm.into())),
                    Operand::Reg(s) => write!(f, "{}", R(s, w)),
                }
            }
            Insn::Neg { class, dst } => {
                let w = class == AluClass::Alu32;
                write!(f, "{} = -{}", R(dst, w), R(dst, w))
            }
            Insn::MovSx {
                class,
                bits,
                dst,
                src,
            } => {
                let w = class == AluClass::Alu32;
                let n = match bits {
                    ExtBits::B8 => 8,
                    ExtBits::B16 => 16,
                    ExtBits::B32 => 32,
                };
                write!(f, "{} = (s{n}){}", R(dst, w), R(src, w))
            }
            Insn::AddrSpaceCast {
                dst,
                src,
                dst_as,
                src_as,
            } => write!(
                f,
                "{dst} = addr_space_cast({src}, {}, {})",
                Hex(dst_as.into()),
                Hex(src_as.into())
            ),
            Insn::End { order, bits, dst } => {
                let name = match order {
                    ByteOrder::Le => "le",
                    ByteOrder::Be => "be",
                };
                write!(f, "{dst} = {name}{} {dst}", swap_bits(bits))
            }
            Insn::Bswap { bits, dst } => write!(f, "{dst} = bswap{} {dst}", swap_bits(bits)),
            Insn::Ja { off } => {
                f.write_str("goto ")?;
                ops.jump_target(f, insn, off.into())
            }
            Insn::Gotol { imm } => {
                f.write_str("gotol ")?;
                ops.jump_target(f, insn, imm)
            }
            Insn::Gotox { dst } => write!(f, "gotox {dst}"),
            Insn::MayGoto { off } => {
                f.write_str("may_goto ")?;
                ops.jump_target(f, insn, off.into())
            }
            Insn::JmpCond {
                class,
                op,
                dst,
                src,
                off,
            } => {
                let w = class == JmpClass::Jmp32;
                write!(f, "if {} {} ", R(dst, w), op.symbol())?;
                match src {
                    Operand::Imm(imm) => write!(f, "{}", Hex(imm.into()))?,
                    Operand::Reg(s) => write!(f, "{}", R(s, w))?,
                }
                f.write_str(" goto ")?;
                ops.jump_target(f, insn, off.into())
            }
            Insn::Call { kind, imm, off } => ops.call(f, kind, imm, off),
            Insn::CallX { dst } => write!(f, "callx {dst}"),
            Insn::Exit => f.write_str("exit"),
            Insn::LdImm64 { kind, dst, imm } => ops.ld_imm64(f, kind, dst, imm),
            Insn::LdAbs { size, imm } => {
                write!(
                    f,
                    "r0 = *({} *)skb[{}]",
                    size.unsigned_name(),
                    Hex(imm.into())
                )
            }
            Insn::LdInd { size, src, .. } => {
                write!(f, "r0 = *({} *)skb[{src}]", size.unsigned_name())
            }
            Insn::Load {
                size,
                dst,
                src,
                off,
            } => {
                write!(
                    f,
                    "{dst} = *({} *)({})",
                    size.unsigned_name(),
                    Addr(src, off)
                )
            }
            Insn::LoadSx {
                size,
                dst,
                src,
                off,
            } => {
                write!(f, "{dst} = *({} *)({})", size.signed_name(), Addr(src, off))
            }
            Insn::StoreImm {
                size,
                dst,
                off,
                imm,
            } => write!(
                f,
                "*({} *)({}) = {}",
                size.unsigned_name(),
                Addr(dst, off),
                Hex(imm.into())
            ),
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => {
                write!(
                    f,
                    "*({} *)({}) = {src}",
                    size.unsigned_name(),
                    Addr(dst, off)
                )
            }
            Insn::Atomic {
                size,
                op,
                dst,
                off,
                src,
            } => fmt_atomic(f, size, op, dst, off, src),
            Insn::LoadAcquire {
                size,
                dst,
                src,
                off,
            } => write!(
                f,
                "{} = load_acquire(({} *)({}))",
                R(dst, size != Size::DW),
                size.unsigned_name(),
                Addr(src, off)
            ),
            Insn::StoreRelease {
                size,
                dst,
                off,
                src,
            } => write!(
                f,
                "store_release(({} *)({}), {})",
                size.unsigned_name(),
                Addr(dst, off),
                R(src, size != Size::DW)
            ),
        }
    }
}

fn fmt_atomic(
    f: &mut fmt::Formatter<'_>,
    size: Size,
    op: AtomicOp,
    dst: Reg,
    off: i16,
    src: Reg,
) -> fmt::Result {
    let ty = size.unsigned_name();
    let at = Addr(dst, off);
    // llvm-objdump 19 prints the one 32-bit atomic it decodes by default with `rN`.
    let w = size != Size::DW && op != AtomicOp::Add;
    let s = R(src, w);
    match op {
        AtomicOp::Add => write!(f, "lock *({ty} *)({at}) += {s}"),
        AtomicOp::Or => write!(f, "lock *({ty} *)({at}) |= {s}"),
        AtomicOp::And => write!(f, "lock *({ty} *)({at}) &= {s}"),
        AtomicOp::Xor => write!(f, "lock *({ty} *)({at}) ^= {s}"),
        AtomicOp::FetchAdd => write!(f, "{s} = atomic_fetch_add(({ty} *)({at}), {s})"),
        AtomicOp::FetchOr => write!(f, "{s} = atomic_fetch_or(({ty} *)({at}), {s})"),
        AtomicOp::FetchAnd => write!(f, "{s} = atomic_fetch_and(({ty} *)({at}), {s})"),
        AtomicOp::FetchXor => write!(f, "{s} = atomic_fetch_xor(({ty} *)({at}), {s})"),
        AtomicOp::Xchg => {
            let name = if w { "xchg32_32" } else { "xchg_64" };
            write!(f, "{s} = {name}({at}, {s})")
        }
        AtomicOp::Cmpxchg => {
            let name = if w { "cmpxchg32_32" } else { "cmpxchg_64" };
            let r0 = R(Reg::R0, w);
            write!(f, "{r0} = {name}({at}, {r0}, {s})")
        }
    }
}

/// A program listing: one line per instruction, with its slot address as llvm-objdump
/// prints it (`      0:\tr1 = 0x0 ll`); addresses advance by 2 after an `ld_imm64`.
#[derive(Clone, Copy, Debug)]
pub struct Listing<'a> {
    insns: &'a [Insn],
    start: usize,
}

impl Listing<'_> {
    /// Numbers the listing from slot `start` (e.g. a function's slot in its section).
    pub fn starting_at(mut self, start: usize) -> Self {
        self.start = start;
        self
    }
}

/// Lists `insns` starting at slot 0.
///
/// ```
/// use bpfir::insn::{disassemble, Insn, PseudoKind, Reg};
/// let insns = [Insn::LdImm64 { kind: PseudoKind::None, dst: Reg::R1, imm: 0 }, Insn::Exit];
/// assert_eq!(disassemble(&insns).to_string(), "       0:\tr1 = 0x0 ll\n       2:\texit\n");
/// ```
pub fn disassemble(insns: &[Insn]) -> Listing<'_> {
    Listing { insns, start: 0 }
}

impl fmt::Display for Listing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut slot = self.start;
        for insn in self.insns {
            writeln!(f, "{slot:>8}:\t{insn}")?;
            slot += insn.n_slots();
        }
        Ok(())
    }
}
