//! Encoding: [`Insn`] → wire slots.
//!
//! Every [`Insn`] value has exactly one encoding, so encode is total and cannot fail. The
//! register byte packs `dst_reg` and `src_reg` as nibbles whose order depends on the byte
//! order (little-endian: `dst` in the low nibble; big-endian: `dst` in the high nibble), and
//! `off`/`imm` follow the byte order too. Cost: one `match`, 8 or 16 bytes pushed.

use super::opcode::{
    AluClass, ByteOrder, Class, JmpClass, Mode, Operand, Size, LOAD_ACQ, STORE_REL,
};
use super::Insn;
use crate::Endian;

/// One 8-byte slot as its five wire fields, before byte order is applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RawSlot {
    pub(crate) code: u8,
    pub(crate) dst: u8,
    pub(crate) src: u8,
    pub(crate) off: i16,
    pub(crate) imm: i32,
}

impl RawSlot {
    /// Appends the slot's 8 bytes in `endian` order.
    pub(crate) fn write(&self, endian: Endian, out: &mut Vec<u8>) {
        out.push(self.code);
        out.push(match endian {
            Endian::Little => (self.src << 4) | (self.dst & 0x0f),
            Endian::Big => (self.dst << 4) | (self.src & 0x0f),
        });
        out.extend_from_slice(&endian.u16_bytes(self.off as u16));
        out.extend_from_slice(&endian.u32_bytes(self.imm as u32));
    }
}

const BPF_K: u8 = 0x00;
const BPF_X: u8 = 0x08;

fn slot(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawSlot {
    RawSlot {
        code,
        dst,
        src,
        off,
        imm,
    }
}

fn alu_class(class: AluClass) -> u8 {
    class.class().bits()
}

fn jmp_class(class: JmpClass) -> u8 {
    class.class().bits()
}

impl Insn {
    /// The instruction as wire fields: the first slot, and the second for `ld_imm64`.
    pub(crate) fn raw_slots(self) -> (RawSlot, Option<RawSlot>) {
        let jmp = Class::Jmp.bits();
        let one = match self {
            Insn::Opaque {
                code,
                dst,
                src,
                off,
                imm,
            } => slot(code, dst & 0x0f, src & 0x0f, off, imm),
            Insn::Alu {
                class,
                op,
                dst,
                src,
            } => {
                let (bits, off) = op.bits();
                match src {
                    Operand::Imm(imm) => {
                        slot(alu_class(class) | bits | BPF_K, dst.number(), 0, off, imm)
                    }
                    Operand::Reg(s) => slot(
                        alu_class(class) | bits | BPF_X,
                        dst.number(),
                        s.number(),
                        off,
                        0,
                    ),
                }
            }
            Insn::Neg { class, dst } => slot(alu_class(class) | 0x80, dst.number(), 0, 0, 0),
            Insn::MovSx {
                class,
                bits,
                dst,
                src,
            } => slot(
                alu_class(class) | 0xb0 | BPF_X,
                dst.number(),
                src.number(),
                bits.off(),
                0,
            ),
            Insn::AddrSpaceCast {
                dst,
                src,
                dst_as,
                src_as,
            } => slot(
                Class::Alu64.bits() | 0xb0 | BPF_X,
                dst.number(),
                src.number(),
                1,
                ((u32::from(dst_as) << 16) | u32::from(src_as)) as i32,
            ),
            Insn::End { order, bits, dst } => {
                let source = match order {
                    ByteOrder::Le => BPF_K,
                    ByteOrder::Be => BPF_X,
                };
                slot(
                    Class::Alu.bits() | 0xd0 | source,
                    dst.number(),
                    0,
                    0,
                    bits.imm(),
                )
            }
            Insn::Bswap { bits, dst } => {
                slot(Class::Alu64.bits() | 0xd0, dst.number(), 0, 0, bits.imm())
            }
            Insn::Ja { off } => slot(jmp, 0, 0, off, 0),
            Insn::Gotol { imm } => slot(Class::Jmp32.bits(), 0, 0, 0, imm),
            Insn::Gotox { dst } => slot(jmp | BPF_X, dst.number(), 0, 0, 0),
            Insn::MayGoto { off } => slot(jmp | 0xe0, 0, 0, off, 0),
            Insn::JmpCond {
                class,
                op,
                dst,
                src,
                off,
            } => match src {
                Operand::Imm(imm) => slot(
                    jmp_class(class) | op.bits() | BPF_K,
                    dst.number(),
                    0,
                    off,
                    imm,
                ),
                Operand::Reg(s) => slot(
                    jmp_class(class) | op.bits() | BPF_X,
                    dst.number(),
                    s.number(),
                    off,
                    0,
                ),
            },
            Insn::Call { kind, imm, off } => slot(jmp | 0x80, 0, kind.src_reg(), off, imm),
            Insn::CallX { dst } => slot(jmp | 0x80 | BPF_X, dst.number(), 0, 0, 0),
            Insn::Exit => slot(jmp | 0x90, 0, 0, 0, 0),
            Insn::LdImm64 { kind, dst, imm } => {
                let code = Class::Ld.bits() | Mode::Imm.bits() | Size::DW.bits();
                let lo = imm as u64 as u32 as i32;
                let hi = ((imm as u64) >> 32) as u32 as i32;
                return (
                    slot(code, dst.number(), kind.src_reg(), 0, lo),
                    Some(slot(0, 0, 0, 0, hi)),
                );
            }
            Insn::LdAbs { size, imm } => slot(
                Class::Ld.bits() | Mode::Abs.bits() | size.bits(),
                0,
                0,
                0,
                imm,
            ),
            Insn::LdInd { size, src, imm } => slot(
                Class::Ld.bits() | Mode::Ind.bits() | size.bits(),
                0,
                src.number(),
                0,
                imm,
            ),
            Insn::Load {
                size,
                dst,
                src,
                off,
            } => slot(
                Class::Ldx.bits() | Mode::Mem.bits() | size.bits(),
                dst.number(),
                src.number(),
                off,
                0,
            ),
            Insn::LoadSx {
                size,
                dst,
                src,
                off,
            } => slot(
                Class::Ldx.bits() | Mode::MemSx.bits() | size.bits(),
                dst.number(),
                src.number(),
                off,
                0,
            ),
            Insn::StoreImm {
                size,
                dst,
                off,
                imm,
            } => slot(
                Class::St.bits() | Mode::Mem.bits() | size.bits(),
                dst.number(),
                0,
                off,
                imm,
            ),
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => slot(
                Class::Stx.bits() | Mode::Mem.bits() | size.bits(),
                dst.number(),
                src.number(),
                off,
                0,
            ),
            Insn::Atomic {
                size,
                op,
                dst,
                off,
                src,
            } => slot(
                Class::Stx.bits() | Mode::Atomic.bits() | size.bits(),
                dst.number(),
                src.number(),
                off,
                op.imm(),
            ),
            Insn::LoadAcquire {
                size,
                dst,
                src,
                off,
            } => slot(
                Class::Stx.bits() | Mode::Atomic.bits() | size.bits(),
                dst.number(),
                src.number(),
                off,
                LOAD_ACQ,
            ),
            Insn::StoreRelease {
                size,
                dst,
                off,
                src,
            } => slot(
                Class::Stx.bits() | Mode::Atomic.bits() | size.bits(),
                dst.number(),
                src.number(),
                off,
                STORE_REL,
            ),
        };
        (one, None)
    }

    /// Appends the instruction's 8 or 16 bytes to `out` in `endian` order.
    ///
    /// ```
    /// use bpfir::insn::{Insn, Reg, Size};
    /// use bpfir::Endian;
    /// let load = Insn::Load { size: Size::W, dst: Reg::R2, src: Reg::R1, off: 4 };
    /// let mut le = Vec::new();
    /// load.encode(Endian::Little, &mut le);
    /// assert_eq!(le, [0x61, 0x12, 4, 0, 0, 0, 0, 0]);
    /// let mut be = Vec::new();
    /// load.encode(Endian::Big, &mut be);
    /// assert_eq!(be, [0x61, 0x21, 0, 4, 0, 0, 0, 0]);
    /// ```
    pub fn encode(&self, endian: Endian, out: &mut Vec<u8>) {
        let (first, second) = self.raw_slots();
        first.write(endian, out);
        if let Some(second) = second {
            second.write(endian, out);
        }
    }
}

/// Encodes a sequence of instructions back to back.
///
/// ```
/// use bpfir::insn::{encode_all, Insn};
/// use bpfir::Endian;
/// assert_eq!(encode_all(&[Insn::Exit], Endian::Little), [0x95, 0, 0, 0, 0, 0, 0, 0]);
/// ```
pub fn encode_all(insns: &[Insn], endian: Endian) -> Vec<u8> {
    let n_bytes: usize = insns.iter().map(Insn::n_bytes).sum();
    let mut out = Vec::with_capacity(n_bytes);
    for insn in insns {
        insn.encode(endian, &mut out);
    }
    out
}
