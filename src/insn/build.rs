//! Constructors for instructions that stand on their own: arithmetic, loads, stores,
//! atomics, byte swaps, helper calls, `exit`, plain `ld_imm64` constants.
//!
//! Each function returns one [`Insn`] with its fields in the order the assembly reads
//! (`ldx(Size::W, R1, R2, 8)` is `r1 = *(u32 *)(r2 + 8)`). Instructions whose meaning
//! lives in a symbolic reference — jumps, bpf-to-bpf calls, kfunc calls, map and data loads,
//! callback addresses — have no constructor here: a raw offset or fd would be meaningless in
//! the IR. Build those with [`crate::ir::build`], which pairs each with its [`Ref`](crate::ir::Ref)
//! and re-exports everything of this module, so one `use bpfir::ir::build::*;` gives them all.
//!
//! Costs: none; every constructor is a struct literal.
//!
//! ```
//! use bpfir::insn::build::*;
//! use bpfir::insn::{Reg::*, Size};
//! assert_eq!(mov64_imm(R0, 0).to_string(), "r0 = 0x0");
//! assert_eq!(ldx(Size::W, R1, R2, 8).to_string(), "r1 = *(u32 *)(r2 + 0x8)");
//! ```

use super::{
    AluClass, AluOp, AtomicOp, ByteOrder, CallKind, ExtBits, Insn, Operand, PseudoKind, Reg, Size,
    SwapBits,
};
use crate::abi::Helper;

/// `dst op= src` on 64 bits (`BPF_ALU64`).
pub fn alu64(op: AluOp, dst: Reg, src: Operand) -> Insn {
    Insn::Alu {
        class: AluClass::Alu64,
        op,
        dst,
        src,
    }
}

/// `dst op= src` on the low 32 bits, zero-extending (`BPF_ALU`).
pub fn alu32(op: AluOp, dst: Reg, src: Operand) -> Insn {
    Insn::Alu {
        class: AluClass::Alu32,
        op,
        dst,
        src,
    }
}

/// `dst op= imm` on 64 bits.
pub fn alu64_imm(op: AluOp, dst: Reg, imm: i32) -> Insn {
    alu64(op, dst, Operand::Imm(imm))
}

/// `dst op= src` on 64 bits, from a register.
pub fn alu64_reg(op: AluOp, dst: Reg, src: Reg) -> Insn {
    alu64(op, dst, Operand::Reg(src))
}

/// `wdst op= imm` on 32 bits.
pub fn alu32_imm(op: AluOp, dst: Reg, imm: i32) -> Insn {
    alu32(op, dst, Operand::Imm(imm))
}

/// `wdst op= wsrc` on 32 bits, from a register.
pub fn alu32_reg(op: AluOp, dst: Reg, src: Reg) -> Insn {
    alu32(op, dst, Operand::Reg(src))
}

/// Defines `name_imm` / `name_reg` constructors for one ALU operation, 64 and 32 bits.
macro_rules! alu_ops {
    ($($op:ident: $i64:ident $r64:ident $i32:ident $r32:ident, $what:literal;)*) => {$(
        #[doc = concat!("`dst ", $what, " imm` on 64 bits.")]
        pub fn $i64(dst: Reg, imm: i32) -> Insn {
            alu64_imm(AluOp::$op, dst, imm)
        }
        #[doc = concat!("`dst ", $what, " src` on 64 bits.")]
        pub fn $r64(dst: Reg, src: Reg) -> Insn {
            alu64_reg(AluOp::$op, dst, src)
        }
        #[doc = concat!("`wdst ", $what, " imm` on 32 bits.")]
        pub fn $i32(dst: Reg, imm: i32) -> Insn {
            alu32_imm(AluOp::$op, dst, imm)
        }
        #[doc = concat!("`wdst ", $what, " wsrc` on 32 bits.")]
        pub fn $r32(dst: Reg, src: Reg) -> Insn {
            alu32_reg(AluOp::$op, dst, src)
        }
    )*};
}

alu_ops! {
    Mov: mov64_imm mov64_reg mov32_imm mov32_reg, "=";
    Add: add64_imm add64_reg add32_imm add32_reg, "+=";
    Sub: sub64_imm sub64_reg sub32_imm sub32_reg, "-=";
    Mul: mul64_imm mul64_reg mul32_imm mul32_reg, "*=";
    Div: div64_imm div64_reg div32_imm div32_reg, "/= (unsigned)";
    SDiv: sdiv64_imm sdiv64_reg sdiv32_imm sdiv32_reg, "s/=";
    Mod: mod64_imm mod64_reg mod32_imm mod32_reg, "%= (unsigned)";
    SMod: smod64_imm smod64_reg smod32_imm smod32_reg, "s%=";
    Or: or64_imm or64_reg or32_imm or32_reg, "|=";
    And: and64_imm and64_reg and32_imm and32_reg, "&=";
    Xor: xor64_imm xor64_reg xor32_imm xor32_reg, "^=";
    Lsh: lsh64_imm lsh64_reg lsh32_imm lsh32_reg, "<<=";
    Rsh: rsh64_imm rsh64_reg rsh32_imm rsh32_reg, ">>= (logical)";
    Arsh: arsh64_imm arsh64_reg arsh32_imm arsh32_reg, "s>>=";
}

/// `dst = -dst` on 64 bits.
pub fn neg64(dst: Reg) -> Insn {
    Insn::Neg {
        class: AluClass::Alu64,
        dst,
    }
}

/// `wdst = -wdst` on 32 bits.
pub fn neg32(dst: Reg) -> Insn {
    Insn::Neg {
        class: AluClass::Alu32,
        dst,
    }
}

/// `dst = (s8/s16/s32) src`: sign-extending move to 64 bits.
pub fn movsx64(bits: ExtBits, dst: Reg, src: Reg) -> Insn {
    Insn::MovSx {
        class: AluClass::Alu64,
        bits,
        dst,
        src,
    }
}

/// `wdst = (s8/s16) wsrc`: sign-extending move on 32 bits.
pub fn movsx32(bits: ExtBits, dst: Reg, src: Reg) -> Insn {
    Insn::MovSx {
        class: AluClass::Alu32,
        bits,
        dst,
        src,
    }
}

/// `dst = addr_space_cast(src, dst_as, src_as)` (arena pointers).
pub fn addr_space_cast(dst: Reg, src: Reg, dst_as: u16, src_as: u16) -> Insn {
    Insn::AddrSpaceCast {
        dst,
        src,
        dst_as,
        src_as,
    }
}

/// `dst = le16/le32/le64 dst`: to little endian.
pub fn le(bits: SwapBits, dst: Reg) -> Insn {
    Insn::End {
        order: ByteOrder::Le,
        bits,
        dst,
    }
}

/// `dst = be16/be32/be64 dst`: to big endian.
pub fn be(bits: SwapBits, dst: Reg) -> Insn {
    Insn::End {
        order: ByteOrder::Be,
        bits,
        dst,
    }
}

/// `dst = bswap16/32/64 dst`: unconditional byte swap.
pub fn bswap(bits: SwapBits, dst: Reg) -> Insn {
    Insn::Bswap { bits, dst }
}

/// `dst = *(size *)(src + off)`.
pub fn ldx(size: Size, dst: Reg, src: Reg, off: i16) -> Insn {
    Insn::Load {
        size,
        dst,
        src,
        off,
    }
}

/// `dst = *(signed size *)(src + off)`, sign-extended.
pub fn ldxsx(size: Size, dst: Reg, src: Reg, off: i16) -> Insn {
    Insn::LoadSx {
        size,
        dst,
        src,
        off,
    }
}

/// `*(size *)(dst + off) = src`.
pub fn stx(size: Size, dst: Reg, off: i16, src: Reg) -> Insn {
    Insn::Store {
        size,
        dst,
        off,
        src,
    }
}

/// `*(size *)(dst + off) = imm`.
pub fn st(size: Size, dst: Reg, off: i16, imm: i32) -> Insn {
    Insn::StoreImm {
        size,
        dst,
        off,
        imm,
    }
}

/// An atomic operation on `*(size *)(dst + off)` with `src` (`lock *p += src`, `xchg`,
/// `cmpxchg` against R0, ...); `size` is `W` or `DW`.
pub fn atomic(size: Size, op: AtomicOp, dst: Reg, off: i16, src: Reg) -> Insn {
    Insn::Atomic {
        size,
        op,
        dst,
        off,
        src,
    }
}

/// `lock *(u64 *)(dst + off) += src`: the usual counter increment.
pub fn atomic_add64(dst: Reg, off: i16, src: Reg) -> Insn {
    atomic(Size::DW, AtomicOp::Add, dst, off, src)
}

/// `dst = load_acquire((size *)(src + off))`.
pub fn load_acquire(size: Size, dst: Reg, src: Reg, off: i16) -> Insn {
    Insn::LoadAcquire {
        size,
        dst,
        src,
        off,
    }
}

/// `store_release((size *)(dst + off), src)`.
pub fn store_release(size: Size, dst: Reg, off: i16, src: Reg) -> Insn {
    Insn::StoreRelease {
        size,
        dst,
        off,
        src,
    }
}

/// `dst = imm ll`: a plain 64-bit constant (two slots).
pub fn ld_imm64(dst: Reg, imm: i64) -> Insn {
    Insn::LdImm64 {
        kind: PseudoKind::None,
        dst,
        imm,
    }
}

/// The legacy packet load `r0 = ntoh(*(size *)(skb->data + imm))`.
pub fn ld_abs(size: Size, imm: i32) -> Insn {
    Insn::LdAbs { size, imm }
}

/// The legacy packet load `r0 = ntoh(*(size *)(skb->data + src + imm))`.
pub fn ld_ind(size: Size, src: Reg, imm: i32) -> Insn {
    Insn::LdInd { size, src, imm }
}

/// `call helper`: reads R1..=R(helper.n_args()), clobbers R0–R5.
pub fn call_helper(helper: Helper) -> Insn {
    Insn::Call {
        kind: CallKind::Helper,
        imm: helper.id() as i32,
        off: 0,
    }
}

/// `callx dst`: an indirect call (LLVM emits it; the kernel refuses it).
pub fn callx(dst: Reg) -> Insn {
    Insn::CallX { dst }
}

/// `gotox dst`: an indirect jump through a jump table.
pub fn gotox(dst: Reg) -> Insn {
    Insn::Gotox { dst }
}

/// `exit`: return R0.
pub fn exit() -> Insn {
    Insn::Exit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::{decode_all, encode_all, Reg::*};
    use crate::Endian;

    #[test]
    fn every_constructor_encodes_and_decodes_back() {
        let all = [
            mov64_imm(R0, -1),
            mov32_reg(R1, R2),
            add64_imm(R10, -8),
            arsh32_reg(R3, R4),
            sdiv64_imm(R5, 3),
            smod32_imm(R5, 3),
            neg64(R1),
            neg32(R1),
            movsx64(ExtBits::B8, R1, R2),
            movsx32(ExtBits::B16, R1, R2),
            addr_space_cast(R1, R1, 0, 1),
            le(SwapBits::B16, R1),
            be(SwapBits::B64, R1),
            bswap(SwapBits::B32, R1),
            ldx(Size::B, R1, R2, -1),
            ldxsx(Size::H, R1, R2, 2),
            stx(Size::DW, R10, -8, R1),
            st(Size::W, R10, -4, 7),
            atomic_add64(R1, 0, R2),
            atomic(Size::W, AtomicOp::Cmpxchg, R1, 4, R2),
            load_acquire(Size::DW, R1, R2, 0),
            store_release(Size::W, R1, 0, R2),
            ld_imm64(R1, 0x1234_5678_9abc),
            ld_abs(Size::H, 12),
            ld_ind(Size::B, R2, 1),
            call_helper(Helper::KtimeGetNs),
            gotox(R1),
            exit(),
        ];
        for endian in [Endian::Little, Endian::Big] {
            let bytes = encode_all(&all, endian);
            assert_eq!(decode_all(&bytes, endian).unwrap(), all);
        }
    }

    #[test]
    fn fields_come_in_assembly_order() {
        assert_eq!(
            stx(Size::DW, R10, -8, R1).to_string(),
            "*(u64 *)(r10 - 0x8) = r1"
        );
        assert_eq!(call_helper(Helper::MapLookupElem).to_string(), "call 0x1");
        assert_eq!(add32_imm(R2, 3).to_string(), "w2 += 0x3");
    }
}
