//! The eBPF instruction set: one typed [`Insn`] per instruction, decoded from and encoded to
//! the 8-byte wire slots in either byte order, and printed the way `llvm-objdump -d` prints it.
//!
//! Coverage is the current ISA (the kernel's `instruction-set.rst` plus later additions):
//! ALU/ALU64 including `sdiv`/`smod`/`movsx`/byte swaps/`addr_space_cast`, JMP/JMP32 including
//! `gotol`, `may_goto`, `gotox` and the three kinds of `call`, `ld_imm64` with every
//! `BPF_PSEUDO_*` kind, the legacy packet loads, LDX (`ldsx` too), ST, STX and every atomic
//! (read-modify-write with and without fetch, `xchg`, `cmpxchg`, load-acquire, store-release).
//!
//! Invariants: an [`Insn`] holds only typed fields (registers, sizes, operations) plus the raw
//! `off`/`imm` numbers whose meaning is the instruction's own (a jump offset, a helper id).
//! Every value of the model encodes; every encoding the kernel would accept decodes (plus
//! LLVM's `callx`, which the kernel refuses), and decode → encode reproduces the input bytes
//! exactly: 130 of the 256 opcode bytes are instructions. Fields the kernel requires to be zero
//! are checked when decoding; a violation is an [`InsnError`] naming the byte offset.
//!
//! Costs: [`Insn`] is `Copy` and 16 bytes; decoding and encoding are a few `match`es per slot
//! with no allocation beyond the output vector. [`decode_all`] allocates once, bounded by the
//! input length.

pub mod build;
mod decode;
mod display;
mod effects;
mod encode;
mod error;
mod opcode;

pub use decode::{decode_all, Decoder};
pub(crate) use decode::{decode_or_opaque, decode_or_opaque_fast};
pub use display::{disassemble, Hex, Listing, Operands, RawOperands, WithOperands};
pub use effects::{AccessKind, CallArgs, Flow, RegSet, StackAccess};
pub use encode::encode_all;
pub use error::InsnError;
pub use opcode::{
    AluClass, AluOp, AtomicOp, ByteOrder, CallKind, Class, ExtBits, JmpClass, JmpOp, Mode, Operand,
    PseudoKind, Reg, Size, SwapBits, LOAD_ACQ, STORE_REL,
};

/// Size in bytes of one instruction slot.
pub const SLOT_BYTES: usize = 8;

/// One eBPF instruction.
///
/// `ld_imm64` is one instruction spanning two slots ([`Insn::n_slots`] is 2); every other
/// instruction fills one. Jump and call targets are kept as the raw relative numbers
/// (`off`/`imm`) so a later pass can re-patch them in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Insn {
    /// Binary arithmetic: `dst op= src` (`BPF_ALU`/`BPF_ALU64`, any [`AluOp`]).
    Alu {
        /// 32- or 64-bit.
        class: AluClass,
        /// The operation.
        op: AluOp,
        /// Destination (and left operand).
        dst: Reg,
        /// Right operand.
        src: Operand,
    },
    /// `dst = -dst` (`BPF_NEG`).
    Neg {
        /// 32- or 64-bit.
        class: AluClass,
        /// Register negated in place.
        dst: Reg,
    },
    /// Sign-extending move `dst = (sN)src` (`BPF_MOV | BPF_X`, `off` 8/16/32).
    ///
    /// [`ExtBits::B32`] exists only in `BPF_ALU64`.
    MovSx {
        /// 32- or 64-bit result.
        class: AluClass,
        /// Width the source is sign-extended from.
        bits: ExtBits,
        /// Destination.
        dst: Reg,
        /// Source.
        src: Reg,
    },
    /// `dst = addr_space_cast(src, dst_as, src_as)` (`BPF_ALU64 | BPF_MOV | BPF_X`, off 1,
    /// `imm = dst_as << 16 | src_as`): arena pointer conversion.
    AddrSpaceCast {
        /// Destination.
        dst: Reg,
        /// Source.
        src: Reg,
        /// Address space converted to (imm high half).
        dst_as: u16,
        /// Address space converted from (imm low half).
        src_as: u16,
    },
    /// Byte-order conversion `dst = be16 dst` / `le64`… (`BPF_ALU | BPF_END`).
    End {
        /// Target byte order.
        order: ByteOrder,
        /// Width.
        bits: SwapBits,
        /// Register converted in place.
        dst: Reg,
    },
    /// Unconditional byte swap `dst = bswap32 dst` (`BPF_ALU64 | BPF_END`).
    Bswap {
        /// Width.
        bits: SwapBits,
        /// Register swapped in place.
        dst: Reg,
    },
    /// `goto +off` (`BPF_JMP | BPF_JA`), offset in slots from the next instruction.
    Ja {
        /// Relative target.
        off: i16,
    },
    /// `gotol +imm` (`BPF_JMP32 | BPF_JA`), 32-bit offset in slots from the next instruction.
    Gotol {
        /// Relative target.
        imm: i32,
    },
    /// `gotox dst` (`BPF_JMP | BPF_JA | BPF_X`): indirect jump to the instruction whose
    /// address `dst` holds (loaded from a jump table).
    Gotox {
        /// Register holding the target.
        dst: Reg,
    },
    /// `may_goto +off` (`BPF_JMP | BPF_JCOND`, src 0): a jump the kernel may take to bound a
    /// loop.
    MayGoto {
        /// Relative target.
        off: i16,
    },
    /// Conditional jump `if dst op src goto +off`.
    JmpCond {
        /// 64- or 32-bit compare.
        class: JmpClass,
        /// The condition.
        op: JmpOp,
        /// Left operand.
        dst: Reg,
        /// Right operand.
        src: Operand,
        /// Relative target.
        off: i16,
    },
    /// `call imm` (`BPF_JMP | BPF_CALL`): helper, BPF function or kfunc per `kind`.
    Call {
        /// What `imm` names.
        kind: CallKind,
        /// Helper id, relative offset, or BTF id.
        imm: i32,
        /// Module BTF fd index of a kfunc; zero for the other kinds.
        off: i16,
    },
    /// `callx dst` (`BPF_JMP | BPF_CALL | BPF_X`): call through a register, as LLVM encodes
    /// it. The kernel's verifier rejects it; it is decoded so that objects holding it can be
    /// read and reported on.
    CallX {
        /// Register holding the target.
        dst: Reg,
    },
    /// `exit`.
    Exit,
    /// `dst = imm ll` (`BPF_LD | BPF_IMM | BPF_DW`), two slots.
    LdImm64 {
        /// How the kernel interprets `imm`.
        kind: PseudoKind,
        /// Destination.
        dst: Reg,
        /// The 64-bit immediate: low half from the first slot, high half from the second.
        imm: i64,
    },
    /// Legacy `r0 = *(size *)skb[imm]` (`BPF_LD | BPF_ABS`), sizes B/H/W.
    LdAbs {
        /// Access size.
        size: Size,
        /// Packet offset.
        imm: i32,
    },
    /// Legacy `r0 = *(size *)skb[src + imm]` (`BPF_LD | BPF_IND`), sizes B/H/W.
    LdInd {
        /// Access size.
        size: Size,
        /// Register holding the packet offset.
        src: Reg,
        /// Added to `src`.
        imm: i32,
    },
    /// `dst = *(size *)(src + off)` (`BPF_LDX | BPF_MEM`), zero-extending.
    Load {
        /// Access size.
        size: Size,
        /// Destination.
        dst: Reg,
        /// Base address.
        src: Reg,
        /// Displacement.
        off: i16,
    },
    /// `dst = *(sN *)(src + off)` (`BPF_LDX | BPF_MEMSX`), sign-extending; sizes B/H/W.
    LoadSx {
        /// Access size.
        size: Size,
        /// Destination.
        dst: Reg,
        /// Base address.
        src: Reg,
        /// Displacement.
        off: i16,
    },
    /// `*(size *)(dst + off) = imm` (`BPF_ST | BPF_MEM`).
    StoreImm {
        /// Access size.
        size: Size,
        /// Base address.
        dst: Reg,
        /// Displacement.
        off: i16,
        /// Value stored (truncated to `size`).
        imm: i32,
    },
    /// `*(size *)(dst + off) = src` (`BPF_STX | BPF_MEM`).
    Store {
        /// Access size.
        size: Size,
        /// Base address.
        dst: Reg,
        /// Displacement.
        off: i16,
        /// Value stored.
        src: Reg,
    },
    /// Atomic read-modify-write on `*(size *)(dst + off)` with `src` (`BPF_STX |
    /// BPF_ATOMIC`); sizes W/DW.
    Atomic {
        /// Access size.
        size: Size,
        /// The operation.
        op: AtomicOp,
        /// Base address.
        dst: Reg,
        /// Displacement.
        off: i16,
        /// Operand, and with a fetch the register receiving the old value.
        src: Reg,
    },
    /// `dst = load_acquire((size *)(src + off))` (`BPF_STX | BPF_ATOMIC`, imm `0x100`).
    LoadAcquire {
        /// Access size.
        size: Size,
        /// Destination.
        dst: Reg,
        /// Base address.
        src: Reg,
        /// Displacement.
        off: i16,
    },
    /// `store_release((size *)(dst + off), src)` (`BPF_STX | BPF_ATOMIC`, imm `0x110`).
    StoreRelease {
        /// Access size.
        size: Size,
        /// Base address.
        dst: Reg,
        /// Displacement.
        off: i16,
        /// Value stored.
        src: Reg,
    },
    /// A slot the decoder does not accept (an undefined opcode, register 11..=15, a
    /// reserved field set), kept field by field so that it encodes back to the same bytes:
    /// programs written to be refused by the verifier still read, and the kernel judges
    /// them. Nothing rewrites it; it has no operands an analysis can trust.
    Opaque {
        /// The opcode byte.
        code: u8,
        /// `dst_reg` (4 bits).
        dst: u8,
        /// `src_reg` (4 bits).
        src: u8,
        /// `off`.
        off: i16,
        /// `imm`.
        imm: i32,
    },
}

impl Insn {
    /// Number of 8-byte slots the instruction occupies: 2 for `ld_imm64`, else 1.
    ///
    /// ```
    /// use bpfir::insn::{Insn, PseudoKind, Reg};
    /// assert_eq!(Insn::Exit.n_slots(), 1);
    /// let ld = Insn::LdImm64 { kind: PseudoKind::None, dst: Reg::R1, imm: 0 };
    /// assert_eq!(ld.n_slots(), 2);
    /// ```
    pub fn n_slots(&self) -> usize {
        match self {
            Insn::LdImm64 { .. } => 2,
            _ => 1,
        }
    }

    /// Number of bytes the instruction occupies (8 or 16).
    pub fn n_bytes(&self) -> usize {
        self.n_slots() * SLOT_BYTES
    }

    /// The instruction class of the (first) opcode byte.
    pub fn class(&self) -> Class {
        Class::of(self.raw_slots().0.code)
    }

    /// Whether this is a jump whose target is a relative `off` or `imm` within the program
    /// (`ja`, `gotol`, `may_goto`, conditional jumps). Calls are not jumps.
    pub fn is_jump(&self) -> bool {
        matches!(
            self,
            Insn::Ja { .. } | Insn::Gotol { .. } | Insn::MayGoto { .. } | Insn::JmpCond { .. }
        )
    }

    /// The relative jump offset in slots from the next instruction, for the instructions
    /// [`Insn::is_jump`] accepts.
    pub fn jump_offset(&self) -> Option<i32> {
        match *self {
            Insn::Ja { off } | Insn::MayGoto { off } | Insn::JmpCond { off, .. } => {
                Some(i32::from(off))
            }
            Insn::Gotol { imm } => Some(imm),
            _ => None,
        }
    }

    /// Re-patches the relative offset of a jump. Returns `false` (and leaves `self` alone)
    /// when `self` is not a jump or `delta` does not fit its 16-bit `off` field; a lowering
    /// pass then widens a `ja` to `gotol`.
    ///
    /// ```
    /// use bpfir::insn::Insn;
    /// let mut ja = Insn::Ja { off: 0 };
    /// assert!(ja.set_jump_offset(7));
    /// assert_eq!(ja, Insn::Ja { off: 7 });
    /// assert!(!ja.set_jump_offset(70_000));
    /// ```
    pub fn set_jump_offset(&mut self, delta: i32) -> bool {
        match self {
            Insn::Ja { off } | Insn::MayGoto { off } | Insn::JmpCond { off, .. } => {
                match i16::try_from(delta) {
                    Ok(d) => {
                        *off = d;
                        true
                    }
                    Err(_) => false,
                }
            }
            Insn::Gotol { imm } => {
                *imm = delta;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests;
