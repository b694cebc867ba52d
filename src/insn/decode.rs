//! Decoding: wire slots → [`Insn`].
//!
//! The decoder accepts exactly what the kernel's verifier accepts at the level of a single
//! instruction: a defined opcode, registers 0..=10, and zero in every field the kernel
//! reserves for that opcode (for example `src_reg` of a `K`-source ALU instruction, the
//! second slot's opcode and registers of an `ld_imm64`). Anything else is an [`InsnError`]
//! carrying the byte offset; the decoder never panics and never indexes unchecked.
//!
//! Left to later layers, because they are about meaning rather than encoding: jump targets
//! inside the program, shift amounts below the operand width, the high half of a pseudo
//! `ld_imm64` (which only some `BPF_PSEUDO_*` kinds use), which address spaces an
//! `addr_space_cast` names, and writes to `r10`. Because every field the model does not keep
//! is checked to be zero, decode → encode is the identity on every accepted input.
//!
//! [`Decoder::keeping_opaque`] (what the object reader uses) yields a slot the decoder refuses
//! as [`Insn::Opaque`] instead: its raw fields, encoded back unchanged, for the kernel to judge.
//!
//! Cost: a handful of `match`es per slot; [`decode_all`] allocates one vector sized by the
//! input length.

use super::encode::RawSlot;
use super::error::InsnError;
use super::opcode::{
    AluClass, AluOp, AtomicOp, ByteOrder, CallKind, Class, ExtBits, JmpClass, JmpOp, Mode, Operand,
    PseudoKind, Reg, Size, SwapBits, LOAD_ACQ, STORE_REL,
};
use super::{Insn, SLOT_BYTES};
use crate::Endian;

/// The error for an instruction at `offset` that needs `needed` bytes and is cut short.
fn truncated(bytes: &[u8], offset: usize, needed: usize) -> InsnError {
    InsnError::Truncated {
        offset,
        needed,
        available: bytes.len().saturating_sub(offset),
    }
}

/// How the decoder reports a slot it refuses. The decoding functions are generic over it,
/// so that one body of checks serves two callers: [`InsnError`] builds the detailed error
/// (offset, opcode, field, value), and [`Refused`] is a bare "no" for the object reader's
/// hot path, where a refused slot becomes [`Insn::Opaque`] and the details are never
/// looked at. With `Refused`, a decoded instruction comes back in two registers instead of
/// through a 56-byte `Result`.
trait Report: Sized {
    /// The opcode names no instruction.
    fn unknown(c: &Checker) -> Self;
    /// A reserved field holds `value`, not `expected`.
    fn reserved(c: &Checker, field: &'static str, value: i64, expected: &'static str) -> Self;
    /// A register nibble is above 10.
    fn register(c: &Checker, field: &'static str, reg: u8) -> Self;
    /// The bytes end inside the instruction at `offset`, which needs `needed` bytes.
    fn truncated(bytes: &[u8], offset: usize, needed: usize) -> Self;
}

impl Report for InsnError {
    #[cold]
    fn unknown(c: &Checker) -> Self {
        InsnError::UnknownOpcode {
            offset: c.offset,
            code: c.raw.code,
        }
    }

    #[cold]
    fn reserved(c: &Checker, field: &'static str, value: i64, expected: &'static str) -> Self {
        InsnError::ReservedField {
            offset: c.offset,
            code: c.raw.code,
            field,
            value,
            expected,
        }
    }

    #[cold]
    fn register(c: &Checker, field: &'static str, reg: u8) -> Self {
        InsnError::InvalidRegister {
            offset: c.offset,
            code: c.raw.code,
            field,
            reg,
        }
    }

    #[cold]
    fn truncated(bytes: &[u8], offset: usize, needed: usize) -> Self {
        truncated(bytes, offset, needed)
    }
}

/// A slot the decoder refuses, without the details (see [`Report`]); [`decode_at`] at the
/// same offset gives the detailed [`InsnError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Refused;

impl Report for Refused {
    #[inline(always)]
    fn unknown(_: &Checker) -> Self {
        Refused
    }

    #[inline(always)]
    fn reserved(_: &Checker, _: &'static str, _: i64, _: &'static str) -> Self {
        Refused
    }

    #[inline(always)]
    fn register(_: &Checker, _: &'static str, _: u8) -> Self {
        Refused
    }

    #[inline(always)]
    fn truncated(_: &[u8], _: usize, _: usize) -> Self {
        Refused
    }
}

/// The slot at `offset`, if all eight bytes are there: one bounds check, and a value small
/// enough to come back in registers (this runs for every slot of every object read).
#[inline]
fn slot_at(bytes: &[u8], offset: usize, endian: Endian) -> Option<RawSlot> {
    // One 8-byte load; the fields are shifted out of it.
    let w = u64::from_le_bytes(*bytes.get(offset..)?.first_chunk::<SLOT_BYTES>()?);
    let regs = (w >> 8) as u8;
    let (off, imm) = ((w >> 16) as u16, (w >> 32) as u32);
    let (off, imm, dst, src) = match endian {
        Endian::Little => (off, imm, regs & 0x0f, regs >> 4),
        Endian::Big => (off.swap_bytes(), imm.swap_bytes(), regs >> 4, regs & 0x0f),
    };
    Some(RawSlot {
        code: w as u8,
        dst,
        src,
        off: off as i16,
        imm: imm as i32,
    })
}

/// Field checks for one slot, carrying the context every error needs.
struct Checker {
    offset: usize,
    raw: RawSlot,
}

impl Checker {
    #[inline(always)]
    fn unknown<E: Report>(&self) -> E {
        E::unknown(self)
    }

    #[inline(always)]
    fn reserved<E: Report>(&self, field: &'static str, value: i64, expected: &'static str) -> E {
        E::reserved(self, field, value, expected)
    }

    #[inline(always)]
    fn reg<E: Report>(&self, field: &'static str, n: u8) -> Result<Reg, E> {
        match Reg::from_u8(n) {
            Some(r) => Ok(r),
            None => Err(E::register(self, field, n)),
        }
    }

    #[inline(always)]
    fn dst<E: Report>(&self) -> Result<Reg, E> {
        self.reg("dst", self.raw.dst)
    }

    #[inline(always)]
    fn src<E: Report>(&self) -> Result<Reg, E> {
        self.reg("src", self.raw.src)
    }

    #[inline(always)]
    fn zero_dst<E: Report>(&self) -> Result<(), E> {
        match self.raw.dst {
            0 => Ok(()),
            v => Err(self.reserved("dst_reg", i64::from(v), "0")),
        }
    }

    #[inline(always)]
    fn zero_src<E: Report>(&self) -> Result<(), E> {
        match self.raw.src {
            0 => Ok(()),
            v => Err(self.reserved("src_reg", i64::from(v), "0")),
        }
    }

    #[inline(always)]
    fn zero_off<E: Report>(&self) -> Result<(), E> {
        match self.raw.off {
            0 => Ok(()),
            v => Err(self.reserved("off", i64::from(v), "0")),
        }
    }

    #[inline(always)]
    fn zero_imm<E: Report>(&self) -> Result<(), E> {
        match self.raw.imm {
            0 => Ok(()),
            v => Err(self.reserved("imm", i64::from(v), "0")),
        }
    }
}

const BPF_X: u8 = 0x08;

impl Insn {
    /// Decodes the one instruction at the start of `bytes` (8 bytes, 16 for `ld_imm64`);
    /// bytes after it are ignored.
    ///
    /// ```
    /// use bpfir::insn::{Insn, InsnError, Reg, Size};
    /// use bpfir::Endian;
    /// let insn = Insn::decode(&[0x61, 0x12, 4, 0, 0, 0, 0, 0], Endian::Little).unwrap();
    /// assert_eq!(insn, Insn::Load { size: Size::W, dst: Reg::R2, src: Reg::R1, off: 4 });
    /// assert_eq!(insn.to_string(), "r2 = *(u32 *)(r1 + 0x4)");
    /// let err = Insn::decode(&[0xff, 0, 0, 0, 0, 0, 0, 0], Endian::Little).unwrap_err();
    /// assert!(matches!(err, InsnError::UnknownOpcode { offset: 0, code: 0xff }));
    /// ```
    pub fn decode(bytes: &[u8], endian: Endian) -> Result<Insn, InsnError> {
        decode_at(bytes, 0, endian)
    }
}

/// Decodes the instruction at byte `offset` of `bytes` as [`decode_at`] does, except that a
/// whole slot the decoder refuses becomes [`Insn::Opaque`] (which encodes back to the same
/// bytes) instead of an error: for programs written to be refused by the verifier, whose
/// reader still wants them. Only a slot cut short by the end of `bytes` is an error.
///
/// The hot path decodes with [`Refused`]; the detailed error is built only for the
/// truncated slot it reports.
#[inline]
pub(crate) fn decode_or_opaque(
    bytes: &[u8],
    offset: usize,
    endian: Endian,
) -> Result<Insn, InsnError> {
    match decode_with::<Refused>(bytes, offset, endian) {
        Ok(insn) => Ok(insn),
        Err(Refused) => match slot_at(bytes, offset, endian) {
            Some(raw) => Ok(Insn::Opaque {
                code: raw.code,
                dst: raw.dst,
                src: raw.src,
                off: raw.off,
                imm: raw.imm,
            }),
            None => Err(truncated(bytes, offset, SLOT_BYTES)),
        },
    }
}

/// [`decode_or_opaque`] for the object reader's loop: the instruction (a refused slot as
/// [`Insn::Opaque`]), or `None` when the slot is cut short by the end of `bytes`, for which
/// `decode_or_opaque` at the same offset gives the error. The answer is 16 bytes, returned
/// in registers, where `decode_or_opaque`'s `Result` is 56 bytes returned through memory.
#[inline]
pub(crate) fn decode_or_opaque_fast(bytes: &[u8], offset: usize, endian: Endian) -> Option<Insn> {
    if let Some(insn) = slot_at(bytes, offset, endian).and_then(decode_common) {
        return Some(insn);
    }
    match decode_with::<Refused>(bytes, offset, endian) {
        Ok(insn) => Some(insn),
        Err(Refused) => slot_at(bytes, offset, endian).map(|raw| Insn::Opaque {
            code: raw.code,
            dst: raw.dst,
            src: raw.src,
            off: raw.off,
            imm: raw.imm,
        }),
    }
}

/// The instructions nearly every slot of a program holds (loads, stores, ALU operations,
/// conditional jumps, calls, exit), decoded with the fewest branches. `None` for anything
/// else, and for any field this does not accept at once: the general decoder
/// ([`decode_with`]) then decides. Whatever this accepts, the general decoder accepts as the
/// same instruction (the same field checks, done in another order; a test compares the
/// two over every opcode).
#[inline(always)]
fn decode_common(raw: RawSlot) -> Option<Insn> {
    let code = raw.code;
    let dst = Reg::from_u8(raw.dst)?;
    let reg_or_imm = |is_x: bool| -> Option<Operand> {
        if is_x {
            (raw.imm == 0).then_some(())?;
            Some(Operand::Reg(Reg::from_u8(raw.src)?))
        } else {
            (raw.src == 0).then_some(())?;
            Some(Operand::Imm(raw.imm))
        }
    };
    match code {
        // BPF_LDX | BPF_MEM | size, BPF_STX | BPF_MEM | size, BPF_ST | BPF_MEM | size.
        0x61 | 0x69 | 0x71 | 0x79 if raw.imm == 0 => Some(Insn::Load {
            size: Size::of(code),
            dst,
            src: Reg::from_u8(raw.src)?,
            off: raw.off,
        }),
        0x63 | 0x6b | 0x73 | 0x7b if raw.imm == 0 => Some(Insn::Store {
            size: Size::of(code),
            dst,
            off: raw.off,
            src: Reg::from_u8(raw.src)?,
        }),
        0x62 | 0x6a | 0x72 | 0x7a if raw.src == 0 => Some(Insn::StoreImm {
            size: Size::of(code),
            dst,
            off: raw.off,
            imm: raw.imm,
        }),
        // exit, and a call of a helper, a bpf function or a kfunc (`off` is the kfunc's
        // BTF fd index, zero otherwise).
        0x95 if raw.dst == 0 && raw.src == 0 && raw.off == 0 && raw.imm == 0 => Some(Insn::Exit),
        0x85 if raw.dst == 0 => {
            let kind = CallKind::from_src_reg(raw.src)?;
            (kind == CallKind::Kfunc || raw.off == 0).then_some(Insn::Call {
                kind,
                imm: raw.imm,
                off: raw.off,
            })
        }
        _ => match Class::of(code) {
            // Binary ALU operations without `off` (neg, end, signed div/mod and sign
            // extending moves go the general way).
            class @ (Class::Alu | Class::Alu64) if raw.off == 0 => {
                let op = code & 0xf0;
                if op == 0x80 || op >= 0xd0 {
                    return None;
                }
                Some(Insn::Alu {
                    class: if class == Class::Alu64 {
                        AluClass::Alu64
                    } else {
                        AluClass::Alu32
                    },
                    op: AluOp::from_bits(op, 0)?,
                    dst,
                    src: reg_or_imm(code & BPF_X != 0)?,
                })
            }
            // Conditional jumps (`from_bits` has no operation for ja, call, exit, jcond).
            class @ (Class::Jmp | Class::Jmp32) => Some(Insn::JmpCond {
                class: if class == Class::Jmp {
                    JmpClass::Jmp
                } else {
                    JmpClass::Jmp32
                },
                op: JmpOp::from_bits(code & 0xf0)?,
                dst,
                src: reg_or_imm(code & BPF_X != 0)?,
                off: raw.off,
            }),
            _ => None,
        },
    }
}

/// Decodes the instruction at byte `offset` of `bytes`; errors name `offset`.
pub(crate) fn decode_at(bytes: &[u8], offset: usize, endian: Endian) -> Result<Insn, InsnError> {
    decode_with(bytes, offset, endian)
}

/// Decodes the instruction at byte `offset` of `bytes`, reporting a refused slot as `E`
/// (see [`Report`]): the same checks, in the same order, whatever `E` is.
#[inline(always)]
fn decode_with<E: Report>(bytes: &[u8], offset: usize, endian: Endian) -> Result<Insn, E> {
    let Some(raw) = slot_at(bytes, offset, endian) else {
        return Err(E::truncated(bytes, offset, SLOT_BYTES));
    };
    let c = Checker { offset, raw };
    match Class::of(raw.code) {
        Class::Ld => decode_ld(&c, bytes, endian),
        Class::Ldx => decode_ldx(&c),
        Class::St => decode_st(&c),
        Class::Stx => decode_stx(&c),
        Class::Alu => decode_alu(&c, AluClass::Alu32),
        Class::Alu64 => decode_alu(&c, AluClass::Alu64),
        Class::Jmp => decode_jmp(&c, JmpClass::Jmp),
        Class::Jmp32 => decode_jmp(&c, JmpClass::Jmp32),
    }
}

#[inline(always)]
fn decode_ld<E: Report>(c: &Checker, bytes: &[u8], endian: Endian) -> Result<Insn, E> {
    let raw = c.raw;
    let size = Size::of(raw.code);
    match (Mode::of(raw.code), size) {
        (Some(Mode::Imm), Size::DW) => {
            let second_at = c
                .offset
                .checked_add(SLOT_BYTES)
                .ok_or_else(|| c.unknown())?;
            // Cut short: the error names the first slot and counts the bytes from there.
            let second = slot_at(bytes, second_at, endian)
                .ok_or_else(|| E::truncated(bytes, c.offset, 2 * SLOT_BYTES))?;
            c.zero_off()?;
            let dst = c.dst()?;
            let kind = PseudoKind::from_src_reg(raw.src).ok_or_else(|| {
                c.reserved("src_reg", i64::from(raw.src), "0..=6 (a BPF_PSEUDO_* kind)")
            })?;
            if second.code != 0 {
                return Err(c.reserved("second slot opcode", i64::from(second.code), "0"));
            }
            if second.dst != 0 {
                return Err(c.reserved("second slot dst_reg", i64::from(second.dst), "0"));
            }
            if second.src != 0 {
                return Err(c.reserved("second slot src_reg", i64::from(second.src), "0"));
            }
            if second.off != 0 {
                return Err(c.reserved("second slot off", i64::from(second.off), "0"));
            }
            let imm = (u64::from(raw.imm as u32) | (u64::from(second.imm as u32) << 32)) as i64;
            Ok(Insn::LdImm64 { kind, dst, imm })
        }
        (Some(Mode::Abs), Size::B | Size::H | Size::W) => {
            c.zero_dst()?;
            c.zero_src()?;
            c.zero_off()?;
            Ok(Insn::LdAbs { size, imm: raw.imm })
        }
        (Some(Mode::Ind), Size::B | Size::H | Size::W) => {
            c.zero_dst()?;
            c.zero_off()?;
            Ok(Insn::LdInd {
                size,
                src: c.src()?,
                imm: raw.imm,
            })
        }
        _ => Err(c.unknown()),
    }
}

#[inline(always)]
fn decode_ldx<E: Report>(c: &Checker) -> Result<Insn, E> {
    let raw = c.raw;
    let size = Size::of(raw.code);
    let mode = Mode::of(raw.code);
    match (mode, size) {
        (Some(Mode::Mem), _) => {
            c.zero_imm()?;
            Ok(Insn::Load {
                size,
                dst: c.dst()?,
                src: c.src()?,
                off: raw.off,
            })
        }
        (Some(Mode::MemSx), Size::B | Size::H | Size::W) => {
            c.zero_imm()?;
            Ok(Insn::LoadSx {
                size,
                dst: c.dst()?,
                src: c.src()?,
                off: raw.off,
            })
        }
        _ => Err(c.unknown()),
    }
}

#[inline(always)]
fn decode_st<E: Report>(c: &Checker) -> Result<Insn, E> {
    let raw = c.raw;
    match Mode::of(raw.code) {
        Some(Mode::Mem) => {
            c.zero_src()?;
            Ok(Insn::StoreImm {
                size: Size::of(raw.code),
                dst: c.dst()?,
                off: raw.off,
                imm: raw.imm,
            })
        }
        _ => Err(c.unknown()),
    }
}

#[inline(always)]
fn decode_stx<E: Report>(c: &Checker) -> Result<Insn, E> {
    let raw = c.raw;
    let size = Size::of(raw.code);
    match Mode::of(raw.code) {
        Some(Mode::Mem) => {
            c.zero_imm()?;
            Ok(Insn::Store {
                size,
                dst: c.dst()?,
                off: raw.off,
                src: c.src()?,
            })
        }
        Some(Mode::Atomic) => match raw.imm {
            LOAD_ACQ => Ok(Insn::LoadAcquire {
                size,
                dst: c.dst()?,
                src: c.src()?,
                off: raw.off,
            }),
            STORE_REL => Ok(Insn::StoreRelease {
                size,
                dst: c.dst()?,
                off: raw.off,
                src: c.src()?,
            }),
            imm => {
                let op = AtomicOp::from_imm(imm).ok_or_else(|| {
                    c.reserved(
                        "imm",
                        i64::from(imm),
                        "an atomic operation (BPF_ADD, BPF_OR, ...)",
                    )
                })?;
                if !matches!(size, Size::W | Size::DW) {
                    return Err(c.reserved(
                        "imm",
                        i64::from(imm),
                        "load-acquire or store-release for an 8/16-bit atomic",
                    ));
                }
                Ok(Insn::Atomic {
                    size,
                    op,
                    dst: c.dst()?,
                    off: raw.off,
                    src: c.src()?,
                })
            }
        },
        _ => Err(c.unknown()),
    }
}

#[inline(always)]
fn decode_alu<E: Report>(c: &Checker, class: AluClass) -> Result<Insn, E> {
    let raw = c.raw;
    let op = raw.code & 0xf0;
    let is_x = raw.code & BPF_X != 0;
    match op {
        0x80 => {
            if is_x {
                return Err(c.unknown());
            }
            c.zero_src()?;
            c.zero_off()?;
            c.zero_imm()?;
            Ok(Insn::Neg {
                class,
                dst: c.dst()?,
            })
        }
        0xd0 => {
            if class == AluClass::Alu64 && is_x {
                return Err(c.unknown());
            }
            c.zero_src()?;
            c.zero_off()?;
            let bits = SwapBits::from_imm(raw.imm)
                .ok_or_else(|| c.reserved("imm", i64::from(raw.imm), "16, 32 or 64"))?;
            let dst = c.dst()?;
            match (class, is_x) {
                (AluClass::Alu32, false) => Ok(Insn::End {
                    order: ByteOrder::Le,
                    bits,
                    dst,
                }),
                (AluClass::Alu32, true) => Ok(Insn::End {
                    order: ByteOrder::Be,
                    bits,
                    dst,
                }),
                (AluClass::Alu64, _) => Ok(Insn::Bswap { bits, dst }),
            }
        }
        0xe0 | 0xf0 => Err(c.unknown()),
        0xb0 if is_x && raw.off != 0 => {
            let dst = c.dst()?;
            let src = c.src()?;
            if raw.off == 1 && class == AluClass::Alu64 {
                let imm = raw.imm as u32;
                return Ok(Insn::AddrSpaceCast {
                    dst,
                    src,
                    dst_as: (imm >> 16) as u16,
                    src_as: imm as u16,
                });
            }
            let bits = match (class, ExtBits::from_off(raw.off)) {
                (_, Some(b @ (ExtBits::B8 | ExtBits::B16))) | (AluClass::Alu64, Some(b)) => b,
                (AluClass::Alu32, _) => {
                    return Err(c.reserved("off", i64::from(raw.off), "0, 8 or 16 for BPF_ALU mov"))
                }
                (AluClass::Alu64, None) => {
                    return Err(c.reserved(
                        "off",
                        i64::from(raw.off),
                        "0, 1 (addr_space_cast), 8, 16 or 32 for BPF_ALU64 mov",
                    ))
                }
            };
            c.zero_imm()?;
            Ok(Insn::MovSx {
                class,
                bits,
                dst,
                src,
            })
        }
        _ => {
            let alu_op = AluOp::from_bits(op, raw.off)
                .ok_or_else(|| c.reserved("off", i64::from(raw.off), "0, or 1 for sdiv/smod"))?;
            let dst = c.dst()?;
            let src = if is_x {
                c.zero_imm()?;
                Operand::Reg(c.src()?)
            } else {
                c.zero_src()?;
                Operand::Imm(raw.imm)
            };
            Ok(Insn::Alu {
                class,
                op: alu_op,
                dst,
                src,
            })
        }
    }
}

#[inline(always)]
fn decode_jmp<E: Report>(c: &Checker, class: JmpClass) -> Result<Insn, E> {
    let raw = c.raw;
    let op = raw.code & 0xf0;
    let is_x = raw.code & BPF_X != 0;
    match (op, class, is_x) {
        (0x00, JmpClass::Jmp, false) => {
            c.zero_dst()?;
            c.zero_src()?;
            c.zero_imm()?;
            Ok(Insn::Ja { off: raw.off })
        }
        (0x00, JmpClass::Jmp, true) => {
            c.zero_src()?;
            c.zero_off()?;
            c.zero_imm()?;
            Ok(Insn::Gotox { dst: c.dst()? })
        }
        (0x00, JmpClass::Jmp32, false) => {
            c.zero_dst()?;
            c.zero_src()?;
            c.zero_off()?;
            Ok(Insn::Gotol { imm: raw.imm })
        }
        (0x80, JmpClass::Jmp, false) => {
            c.zero_dst()?;
            let kind = CallKind::from_src_reg(raw.src).ok_or_else(|| {
                c.reserved(
                    "src_reg",
                    i64::from(raw.src),
                    "0 (helper), 1 (bpf call) or 2 (kfunc)",
                )
            })?;
            if kind != CallKind::Kfunc {
                c.zero_off()?;
            }
            Ok(Insn::Call {
                kind,
                imm: raw.imm,
                off: raw.off,
            })
        }
        (0x80, JmpClass::Jmp, true) => {
            c.zero_src()?;
            c.zero_off()?;
            c.zero_imm()?;
            Ok(Insn::CallX { dst: c.dst()? })
        }
        (0x90, JmpClass::Jmp, false) => {
            c.zero_dst()?;
            c.zero_src()?;
            c.zero_off()?;
            c.zero_imm()?;
            Ok(Insn::Exit)
        }
        (0xe0, JmpClass::Jmp, false) => {
            if raw.src != 0 {
                return Err(c.reserved("src_reg", i64::from(raw.src), "0 (may_goto)"));
            }
            c.zero_dst()?;
            c.zero_imm()?;
            Ok(Insn::MayGoto { off: raw.off })
        }
        _ => {
            let jop = JmpOp::from_bits(op).ok_or_else(|| c.unknown())?;
            let dst = c.dst()?;
            let src = if is_x {
                c.zero_imm()?;
                Operand::Reg(c.src()?)
            } else {
                c.zero_src()?;
                Operand::Imm(raw.imm)
            };
            Ok(Insn::JmpCond {
                class,
                op: jop,
                dst,
                src,
                off: raw.off,
            })
        }
    }
}

/// Decodes a whole instruction stream (a program section's bytes).
///
/// The length must be a multiple of 8; an `ld_imm64` whose second slot is missing is an
/// error. Errors name the byte offset of the bad instruction from the start of `bytes`.
///
/// ```
/// use bpfir::insn::{decode_all, Insn, InsnError};
/// use bpfir::Endian;
/// let bytes = [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
/// let insns = decode_all(&bytes, Endian::Little).unwrap();
/// assert_eq!(insns.len(), 2);
/// assert_eq!(insns[1], Insn::Exit);
/// assert_eq!(decode_all(&bytes[..12], Endian::Little).unwrap_err().offset(), 8);
/// ```
pub fn decode_all(bytes: &[u8], endian: Endian) -> Result<Vec<Insn>, InsnError> {
    let trailing = bytes.len() % SLOT_BYTES;
    if trailing != 0 {
        return Err(InsnError::UnalignedLength {
            offset: bytes.len() - trailing,
            len: bytes.len(),
            trailing,
        });
    }
    let mut insns = Vec::with_capacity(bytes.len() / SLOT_BYTES);
    for item in Decoder::new(bytes, endian) {
        insns.push(item?.1);
    }
    Ok(insns)
}

/// Iterator over the instructions of a byte stream with their byte offsets.
///
/// Stops after the first error (which it yields). Unlike [`decode_all`] it does not require
/// the length to be a multiple of 8 up front; a trailing partial slot is a
/// [`InsnError::Truncated`].
///
/// ```
/// use bpfir::insn::{Decoder, Insn};
/// use bpfir::Endian;
/// let bytes = [0x18, 1, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
/// let offsets: Vec<usize> = Decoder::new(&bytes, Endian::Little).map(|r| r.unwrap().0).collect();
/// assert_eq!(offsets, [0, 16]);
/// ```
#[derive(Clone, Debug)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
    endian: Endian,
    offset: usize,
    failed: bool,
    /// Refused slots become [`Insn::Opaque`] instead of errors.
    opaque: bool,
}

impl<'a> Decoder<'a> {
    /// Starts decoding at the beginning of `bytes`.
    pub fn new(bytes: &'a [u8], endian: Endian) -> Decoder<'a> {
        Decoder {
            bytes,
            endian,
            offset: 0,
            failed: false,
            opaque: false,
        }
    }

    /// Like [`Decoder::new`], but a slot the decoder refuses (an undefined opcode, a
    /// register above 10, a reserved field set) is yielded as [`Insn::Opaque`], which
    /// encodes back to the same bytes; only input cut short mid-slot is an error.
    ///
    /// ```
    /// use bpfir::insn::{Decoder, Insn};
    /// use bpfir::Endian;
    /// // r0 = r15 (src register 15), then exit.
    /// let bytes = [0xbf, 0xf0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
    /// assert!(Decoder::new(&bytes, Endian::Little).next().unwrap().is_err());
    /// let insns: Vec<_> = Decoder::keeping_opaque(&bytes, Endian::Little)
    ///     .map(|r| r.unwrap().1)
    ///     .collect();
    /// assert!(matches!(insns[0], Insn::Opaque { code: 0xbf, src: 15, .. }));
    /// assert_eq!(insns[1], Insn::Exit);
    /// ```
    pub fn keeping_opaque(bytes: &'a [u8], endian: Endian) -> Decoder<'a> {
        Decoder {
            opaque: true,
            ..Decoder::new(bytes, endian)
        }
    }
}

impl Iterator for Decoder<'_> {
    type Item = Result<(usize, Insn), InsnError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.offset >= self.bytes.len() {
            return None;
        }
        let at = self.offset;
        let decoded = if self.opaque {
            decode_or_opaque(self.bytes, at, self.endian)
        } else {
            decode_at(self.bytes, at, self.endian)
        };
        match decoded {
            Ok(insn) => {
                self.offset = at.saturating_add(insn.n_bytes());
                Some(Ok((at, insn)))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{
        decode_at, decode_common, decode_or_opaque, decode_or_opaque_fast, decode_with, slot_at,
        Refused,
    };
    use crate::insn::Insn;
    use crate::Endian;

    /// The reader's fast path (`Refused`) accepts exactly what the detailed decoder accepts,
    /// with the same instruction, over every opcode and a spread of field values, in both
    /// byte orders; what it refuses becomes the slot's `Opaque`.
    #[test]
    fn the_fast_path_agrees_with_the_detailed_decoder() {
        let regs = [0x00u8, 0x01, 0x0a, 0x0b, 0xa0, 0xb1, 0x21];
        let offs = [0i16, 1, 8, 16, 32, -1];
        let imms = [0i32, 1, 16, 32, 64, -1, 0xe1, 0x110, 0x1_0000];
        let seconds: [[u8; 8]; 3] = [
            [0; 8],
            [0, 0, 0, 0, 1, 2, 3, 4],
            [0x18, 0, 0, 0, 0, 0, 0, 0],
        ];
        let mut accepted = 0;
        let mut fast_path = 0;
        for endian in [Endian::Little, Endian::Big] {
            for code in 0..=255u8 {
                for &r in &regs {
                    for &off in &offs {
                        for &imm in &imms {
                            for second in &seconds {
                                let (o, i) = match endian {
                                    Endian::Little => (off.to_le_bytes(), imm.to_le_bytes()),
                                    Endian::Big => (off.to_be_bytes(), imm.to_be_bytes()),
                                };
                                let mut b = vec![code, r, o[0], o[1], i[0], i[1], i[2], i[3]];
                                b.extend_from_slice(second);
                                for len in [8, 16] {
                                    let bytes = &b[..len];
                                    let slow = decode_at(bytes, 0, endian);
                                    let fast = decode_with::<Refused>(bytes, 0, endian);
                                    assert_eq!(slow.clone().ok(), fast.ok(), "{bytes:02x?}");
                                    let kept = decode_or_opaque(bytes, 0, endian).unwrap();
                                    assert_eq!(
                                        decode_or_opaque_fast(bytes, 0, endian),
                                        Some(kept),
                                        "{bytes:02x?}"
                                    );
                                    if let Some(common) =
                                        slot_at(bytes, 0, endian).and_then(decode_common)
                                    {
                                        assert_eq!(Ok(common), slow.clone(), "{bytes:02x?}");
                                        fast_path += 1;
                                    }
                                    match slow {
                                        Ok(insn) => {
                                            accepted += 1;
                                            assert_eq!(kept, insn);
                                        }
                                        Err(_) => assert!(
                                            matches!(kept, Insn::Opaque { code: c, .. } if c == code),
                                            "{bytes:02x?}"
                                        ),
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(accepted > 10_000, "{accepted}");
        assert!(fast_path > 5_000, "{fast_path}");
        // Only a slot cut short is an error, and it is the detailed one.
        let short = [0x95u8, 0, 0, 0];
        assert_eq!(
            decode_or_opaque(&short, 0, Endian::Little),
            decode_at(&short, 0, Endian::Little)
        );
        assert!(decode_or_opaque(&short, 0, Endian::Little).is_err());
        assert_eq!(decode_or_opaque_fast(&short, 0, Endian::Little), None);
    }
}
