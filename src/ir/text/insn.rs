//! Parsing one instruction: llvm-objdump's syntax as [`Insn`]'s `Display` prints it, with
//! the IR's symbolic operands (`goto .L3`, `call @f`, `call bpf_map_lookup_elem`,
//! `r1 = map @m`, `r2 = data @.rodata+8`, `r3 = func @cb`, `r4 = extern @x`).
//!
//! The grammar is driven by the first tokens: a keyword (`exit`, `goto`, `if`, `call`,
//! `lock`, ...), a store `*(`, or a register followed by an assignment operator. Cost: a
//! few token comparisons per instruction.

use crate::insn::{
    AluClass, AluOp, AtomicOp, ByteOrder, CallKind, ExtBits, Insn, JmpClass, JmpOp, Operand,
    PseudoKind, Reg, Size, SwapBits,
};

use super::cursor::Cur;
use super::error::{ParseError, Pos};
use super::lexer::Tok;
use super::names::helper_id;
use super::parse::PRef;

type Parsed = (Insn, Option<(PRef, Pos)>);

const SIZES: [Size; 4] = [Size::B, Size::H, Size::W, Size::DW];

/// A register name: `(reg, is_w)`.
fn reg_name(w: &str) -> Option<(Reg, bool)> {
    let (wide, n) = match w.as_bytes().first()? {
        b'r' => (false, &w[1..]),
        b'w' => (true, &w[1..]),
        _ => return None,
    };
    if n.is_empty() || (n.len() > 1 && n.starts_with('0')) {
        return None;
    }
    let n: u8 = n.parse().ok()?;
    Some((Reg::from_u8(n)?, wide))
}

/// `r11`, `w12`: a register name out of range.
fn looks_like_register(w: &str) -> bool {
    w.len() > 1
        && (w.starts_with('r') || w.starts_with('w'))
        && w[1..].bytes().all(|b| b.is_ascii_digit())
}

fn reg(c: &mut Cur<'_>) -> Result<(Reg, bool), ParseError> {
    match c.peek_word().and_then(reg_name) {
        Some(r) => {
            c.bump();
            Ok(r)
        }
        None => Err(c.expected("a register")),
    }
}

fn reg_of_width(c: &mut Cur<'_>, w: bool) -> Result<Reg, ParseError> {
    let pos = c.pos();
    let (r, rw) = reg(c)?;
    if rw != w {
        return Err(c.syntax_at(
            pos,
            format!("expected a {}-bit register here", if w { 32 } else { 64 }),
        ));
    }
    Ok(r)
}

fn imm<T: TryFrom<i128>>(c: &mut Cur<'_>) -> Result<T, ParseError> {
    let pos = c.pos();
    let n = c.signed()?;
    T::try_from(n).map_err(|_| c.syntax_at(pos, format!("{n} does not fit this field")))
}

/// An immediate that fits an `i32` field, written signed or as its unsigned 32-bit pattern.
fn imm32(c: &mut Cur<'_>) -> Result<i32, ParseError> {
    let pos = c.pos();
    let n = c.signed()?;
    i32::try_from(n)
        .or_else(|_| u32::try_from(n).map(|u| u as i32))
        .map_err(|_| c.syntax_at(pos, format!("{n} does not fit 32 bits")))
}

fn size_name(c: &mut Cur<'_>) -> Result<(Size, bool), ParseError> {
    let pos = c.pos();
    let (w, _) = c.word()?;
    for s in SIZES {
        if w == s.unsigned_name() {
            return Ok((s, false));
        }
        if w == s.signed_name() {
            return Ok((s, true));
        }
    }
    Err(c.syntax_at(
        pos,
        format!("expected a size (u8, u16, u32, u64, s8, ...), found `{w}`"),
    ))
}

/// `(u32 *)` after the `*` or the opening `(` of a call-like form.
fn size_cast(c: &mut Cur<'_>) -> Result<(Size, bool), ParseError> {
    c.punct("(")?;
    let s = size_name(c)?;
    c.punct("*")?;
    c.punct(")")?;
    Ok(s)
}

/// `r1 + 0x4` or `r10 - 0x8`.
fn addr(c: &mut Cur<'_>) -> Result<(Reg, i16), ParseError> {
    let base = reg_of_width(c, false)?;
    let pos = c.pos();
    let off: i128 = if c.eat_punct("+") {
        i128::from(c.num()?)
    } else if c.eat_punct("-") {
        -i128::from(c.num()?)
    } else {
        return Err(c.expected("`+` or `-` and an offset"));
    };
    let off =
        i16::try_from(off).map_err(|_| c.syntax_at(pos, "offset does not fit 16 bits".into()))?;
    Ok((base, off))
}

/// `(r1 + 0x4)`.
fn paren_addr(c: &mut Cur<'_>) -> Result<(Reg, i16), ParseError> {
    c.punct("(")?;
    let a = addr(c)?;
    c.punct(")")?;
    Ok(a)
}

/// A jump target: `.L3` (symbolic) or `+0x3` (raw).
fn target(c: &mut Cur<'_>) -> Result<(i32, Option<(PRef, Pos)>), ParseError> {
    let pos = c.pos();
    if let Some(Tok::Label(l)) = c.peek() {
        c.bump();
        return Ok((0, Some((PRef::Jump(l.clone()), pos))));
    }
    Ok((imm32(c)?, None))
}

fn alu_op(p: &str) -> Option<AluOp> {
    Some(match p {
        "+=" => AluOp::Add,
        "-=" => AluOp::Sub,
        "*=" => AluOp::Mul,
        "/=" => AluOp::Div,
        "s/=" => AluOp::SDiv,
        "|=" => AluOp::Or,
        "&=" => AluOp::And,
        "<<=" => AluOp::Lsh,
        ">>=" => AluOp::Rsh,
        "%=" => AluOp::Mod,
        "s%=" => AluOp::SMod,
        "^=" => AluOp::Xor,
        "=" => AluOp::Mov,
        "s>>=" => AluOp::Arsh,
        _ => return None,
    })
}

fn jmp_op(p: &str) -> Option<JmpOp> {
    Some(match p {
        "==" => JmpOp::Eq,
        ">" => JmpOp::Gt,
        ">=" => JmpOp::Ge,
        "&" => JmpOp::Set,
        "!=" => JmpOp::Ne,
        "s>" => JmpOp::SGt,
        "s>=" => JmpOp::SGe,
        "<" => JmpOp::Lt,
        "<=" => JmpOp::Le,
        "s<" => JmpOp::SLt,
        "s<=" => JmpOp::SLe,
        _ => return None,
    })
}

fn swap_bits(n: &str) -> Option<SwapBits> {
    Some(match n {
        "16" => SwapBits::B16,
        "32" => SwapBits::B32,
        "64" => SwapBits::B64,
        _ => return None,
    })
}

/// Parses one instruction from the rest of the line (the caller checks the line ends).
pub(crate) fn parse_insn(c: &mut Cur<'_>) -> Result<Parsed, ParseError> {
    let pos = c.pos();
    if c.is_punct("*") {
        return store(c);
    }
    let Some(word) = c.peek_word() else {
        return Err(c.expected("an instruction"));
    };
    if let Some((dst, w)) = reg_name(word) {
        c.bump();
        return assignment(c, dst, w);
    }
    if looks_like_register(word) {
        return Err(c.syntax_at(
            pos,
            format!("there is no register `{word}` (r0 to r10, w0 to w10)"),
        ));
    }
    c.bump();
    let plain = |i: Insn| Ok((i, None));
    match word {
        "exit" => plain(Insn::Exit),
        "goto" => {
            let (off, r) = target(c)?;
            let off = i16::try_from(off)
                .map_err(|_| c.syntax_at(pos, "offset does not fit 16 bits (use gotol)".into()))?;
            Ok((Insn::Ja { off }, r))
        }
        "gotol" => {
            let (imm, r) = target(c)?;
            Ok((Insn::Gotol { imm }, r))
        }
        "may_goto" => {
            let (off, r) = target(c)?;
            let off = i16::try_from(off)
                .map_err(|_| c.syntax_at(pos, "offset does not fit 16 bits".into()))?;
            Ok((Insn::MayGoto { off }, r))
        }
        "gotox" => plain(Insn::Gotox {
            dst: reg_of_width(c, false)?,
        }),
        "callx" => plain(Insn::CallX {
            dst: reg_of_width(c, false)?,
        }),
        "call" => call(c),
        "if" => {
            let (dst, w) = reg(c)?;
            let opos = c.pos();
            let op = match c.peek() {
                Some(Tok::Punct(p)) => jmp_op(p),
                _ => None,
            }
            .ok_or_else(|| {
                c.syntax_at(opos, "expected a comparison (==, !=, >, s<, &, ...)".into())
            })?;
            c.bump();
            let src = match c.peek_word().and_then(reg_name) {
                Some(_) => Operand::Reg(reg_of_width(c, w)?),
                None => Operand::Imm(imm32(c)?),
            };
            c.keyword("goto")?;
            let (off, r) = target(c)?;
            let off = i16::try_from(off)
                .map_err(|_| c.syntax_at(pos, "offset does not fit 16 bits".into()))?;
            let class = if w { JmpClass::Jmp32 } else { JmpClass::Jmp };
            Ok((
                Insn::JmpCond {
                    class,
                    op,
                    dst,
                    src,
                    off,
                },
                r,
            ))
        }
        "lock" => {
            c.punct("*")?;
            let (size, _) = size_cast(c)?;
            let (dst, off) = paren_addr(c)?;
            let opos = c.pos();
            let op = match c.peek() {
                Some(Tok::Punct("+=")) => AtomicOp::Add,
                Some(Tok::Punct("|=")) => AtomicOp::Or,
                Some(Tok::Punct("&=")) => AtomicOp::And,
                Some(Tok::Punct("^=")) => AtomicOp::Xor,
                _ => return Err(c.syntax_at(opos, "expected +=, |=, &= or ^=".into())),
            };
            c.bump();
            let (src, _) = reg(c)?;
            plain(Insn::Atomic {
                size,
                op,
                dst,
                off,
                src,
            })
        }
        "store_release" => {
            c.punct("(")?;
            let (size, _) = size_cast(c)?;
            let (dst, off) = paren_addr(c)?;
            c.punct(",")?;
            let (src, _) = reg(c)?;
            c.punct(")")?;
            plain(Insn::StoreRelease {
                size,
                dst,
                off,
                src,
            })
        }
        "ld_pseudo" => {
            let dst = reg_of_width(c, false)?;
            c.punct(",")?;
            let kpos = c.pos();
            let k: u8 = imm(c)?;
            let kind = PseudoKind::from_src_reg(k)
                .filter(|&k| k != PseudoKind::None)
                .ok_or_else(|| c.syntax_at(kpos, format!("{k} is not a pseudo kind (1..=6)")))?;
            c.punct(",")?;
            let imm = imm64(c)?;
            plain(Insn::LdImm64 { kind, dst, imm })
        }
        "opaque" => {
            // The raw fields of a slot the decoder refuses: code, dst, src, off, imm.
            let code: u8 = imm(c)?;
            c.punct(",")?;
            let rpos = c.pos();
            let dst: u8 = imm(c)?;
            c.punct(",")?;
            let src: u8 = imm(c)?;
            if dst > 15 || src > 15 {
                return Err(c.syntax_at(rpos, "registers are 4-bit fields (0..=15)".into()));
            }
            c.punct(",")?;
            let off: i16 = imm(c)?;
            c.punct(",")?;
            let imm: i32 = imm(c)?;
            plain(Insn::Opaque {
                code,
                dst,
                src,
                off,
                imm,
            })
        }
        other => Err(c.syntax_at(pos, format!("unknown instruction `{other}`"))),
    }
}

/// A 64-bit immediate written signed or as its unsigned pattern.
fn imm64(c: &mut Cur<'_>) -> Result<i64, ParseError> {
    let pos = c.pos();
    let n = c.signed()?;
    i64::try_from(n)
        .or_else(|_| u64::try_from(n).map(|u| u as i64))
        .map_err(|_| c.syntax_at(pos, format!("{n} does not fit 64 bits")))
}

/// `@name` or `@name:k` (the k-th function of that name).
fn func_sym(c: &mut Cur<'_>) -> Result<(String, usize), ParseError> {
    let (name, _) = c.sym()?;
    if c.eat_punct(":") {
        let at = c.pos();
        let k =
            usize::try_from(c.num()?).map_err(|_| c.syntax_at(at, "index out of range".into()))?;
        return Ok((name, k));
    }
    Ok((name, 0))
}

fn call(c: &mut Cur<'_>) -> Result<Parsed, ParseError> {
    let pos = c.pos();
    match c.peek() {
        Some(Tok::Sym(_)) => {
            let (s, k) = func_sym(c)?;
            // The raw fields are what lowering and the writer overwrite.
            let insn = Insn::Call {
                kind: CallKind::Local,
                imm: -1,
                off: 0,
            };
            Ok((insn, Some((PRef::Call(s, k), pos))))
        }
        Some(Tok::Word(w)) if w == "local" => {
            c.bump();
            let imm = imm32(c)?;
            Ok((
                Insn::Call {
                    kind: CallKind::Local,
                    imm,
                    off: 0,
                },
                None,
            ))
        }
        Some(Tok::Word(w)) if w == "kfunc" => {
            c.bump();
            let id = imm32(c)?;
            let off = if c.eat_punct(",") { imm(c)? } else { 0 };
            Ok((
                Insn::Call {
                    kind: CallKind::Kfunc,
                    imm: id,
                    off,
                },
                None,
            ))
        }
        Some(Tok::Word(w)) => {
            let id =
                helper_id(w).ok_or_else(|| c.semantic_at(pos, format!("unknown helper `{w}`")))?;
            c.bump();
            Ok((
                Insn::Call {
                    kind: CallKind::Helper,
                    imm: id,
                    off: 0,
                },
                None,
            ))
        }
        _ => {
            let imm = imm32(c)?;
            Ok((
                Insn::Call {
                    kind: CallKind::Helper,
                    imm,
                    off: 0,
                },
                None,
            ))
        }
    }
}

/// `*(u32 *)(r1 + 0x4) = r2` or `= 0x5`.
fn store(c: &mut Cur<'_>) -> Result<Parsed, ParseError> {
    c.punct("*")?;
    let spos = c.pos();
    let (size, signed) = size_cast(c)?;
    if signed {
        return Err(c.syntax_at(spos, "a store takes an unsigned size".into()));
    }
    let (dst, off) = paren_addr(c)?;
    c.punct("=")?;
    let insn = match c.peek_word().and_then(reg_name) {
        Some((src, _)) => {
            c.bump();
            Insn::Store {
                size,
                dst,
                off,
                src,
            }
        }
        None => Insn::StoreImm {
            size,
            dst,
            off,
            imm: imm32(c)?,
        },
    };
    Ok((insn, None))
}

/// What follows `rN` / `wN`.
fn assignment(c: &mut Cur<'_>, dst: Reg, w: bool) -> Result<Parsed, ParseError> {
    let opos = c.pos();
    let op = match c.peek() {
        Some(Tok::Punct(p)) => alu_op(p),
        _ => None,
    }
    .ok_or_else(|| c.syntax_at(opos, "expected an assignment (=, +=, ...)".into()))?;
    c.bump();
    let class = if w { AluClass::Alu32 } else { AluClass::Alu64 };
    if op != AluOp::Mov {
        let src = match c.peek_word().and_then(reg_name) {
            Some(_) => Operand::Reg(reg_of_width(c, w)?),
            None => Operand::Imm(imm32(c)?),
        };
        return Ok((
            Insn::Alu {
                class,
                op,
                dst,
                src,
            },
            None,
        ));
    }
    let pos = c.pos();
    let plain = |i: Insn| Ok((i, None));
    // `r0 = -r0`
    if c.is_punct("-") && matches!(c.peek_at(1), Some(Tok::Word(x)) if reg_name(x).is_some()) {
        c.bump();
        let r = reg_of_width(c, w)?;
        if r != dst {
            return Err(c.syntax_at(pos, "negation works in place: `rN = -rN`".into()));
        }
        return plain(Insn::Neg { class, dst });
    }
    // `r0 = (s8)r1`
    if c.is_punct("(") {
        c.bump();
        let bpos = c.pos();
        let (bw, _) = c.word()?;
        let bits = match bw.as_str() {
            "s8" => ExtBits::B8,
            "s16" => ExtBits::B16,
            "s32" => ExtBits::B32,
            _ => return Err(c.syntax_at(bpos, "expected s8, s16 or s32".into())),
        };
        c.punct(")")?;
        let src = reg_of_width(c, w)?;
        return plain(Insn::MovSx {
            class,
            bits,
            dst,
            src,
        });
    }
    // `r0 = *(u32 *)(r1 + 0x4)`, `r0 = *(u8 *)skb[0x4]`, `r0 = *(u8 *)skb[r1]`
    if c.is_punct("*") {
        c.bump();
        let (size, signed) = size_cast(c)?;
        if c.eat_word("skb") {
            c.punct("[")?;
            let insn = match c.peek_word().and_then(reg_name) {
                Some((src, _)) => {
                    c.bump();
                    let imm = if c.eat_punct("+") { imm32(c)? } else { 0 };
                    Insn::LdInd { size, src, imm }
                }
                None => Insn::LdAbs {
                    size,
                    imm: imm32(c)?,
                },
            };
            c.punct("]")?;
            return plain(insn);
        }
        let (src, off) = paren_addr(c)?;
        return plain(if signed {
            Insn::LoadSx {
                size,
                dst,
                src,
                off,
            }
        } else {
            Insn::Load {
                size,
                dst,
                src,
                off,
            }
        });
    }
    match c.peek() {
        Some(Tok::Word(word)) => {
            let word = word.clone();
            if reg_name(&word).is_some() {
                let src = reg_of_width(c, w)?;
                return plain(Insn::Alu {
                    class,
                    op,
                    dst,
                    src: Operand::Reg(src),
                });
            }
            c.bump();
            symbolic_or_call_like(c, dst, w, &word, pos)
        }
        _ => {
            let n = imm64(c)?;
            if c.eat_word("ll") {
                return plain(Insn::LdImm64 {
                    kind: PseudoKind::None,
                    dst,
                    imm: n,
                });
            }
            let imm = i32::try_from(n)
                .or_else(|_| u32::try_from(n).map(|u| u as i32))
                .map_err(|_| {
                    c.syntax_at(
                        pos,
                        "a mov immediate must fit 32 bits (add `ll` for ld_imm64)".into(),
                    )
                })?;
            plain(Insn::Alu {
                class,
                op,
                dst,
                src: Operand::Imm(imm),
            })
        }
    }
}

fn symbolic_or_call_like(
    c: &mut Cur<'_>,
    dst: Reg,
    w: bool,
    word: &str,
    pos: Pos,
) -> Result<Parsed, ParseError> {
    let ld = |kind| Insn::LdImm64 { kind, dst, imm: 0 };
    let sym = |c: &mut Cur<'_>| -> Result<(String, Pos), ParseError> { c.sym() };
    match word {
        "map" | "func" | "extern" | "data" => {
            if w {
                return Err(c.syntax_at(pos, "an ld_imm64 writes a 64-bit register".into()));
            }
            let npos = c.pos();
            if word == "func" {
                let (name, k) = func_sym(c)?;
                return Ok((ld(PseudoKind::Func), Some((PRef::FuncAddr(name, k), npos))));
            }
            let (name, npos) = sym(c)?;
            let (insn, r) = match word {
                "map" => (ld(PseudoKind::MapFd), PRef::Map(name)),
                "extern" => (ld(PseudoKind::None), PRef::Extern(name)),
                _ => {
                    let off = if c.eat_punct("+") {
                        let at = c.pos();
                        u32::try_from(c.num()?)
                            .map_err(|_| c.syntax_at(at, "offset out of range".into()))?
                    } else {
                        0
                    };
                    (ld(PseudoKind::MapValue), PRef::Data(name, off))
                }
            };
            Ok((insn, Some((r, npos))))
        }
        "le16" | "le32" | "le64" | "be16" | "be32" | "be64" | "bswap16" | "bswap32" | "bswap64" => {
            let bits = swap_bits(&word[word.len() - 2..])
                .ok_or_else(|| c.syntax_at(pos, "bad width".into()))?;
            let r = reg_of_width(c, false)?;
            if r != dst {
                return Err(c.syntax_at(pos, "a byte swap works in place: `rN = be16 rN`".into()));
            }
            let insn = match &word[..2] {
                "le" => Insn::End {
                    order: ByteOrder::Le,
                    bits,
                    dst,
                },
                "be" => Insn::End {
                    order: ByteOrder::Be,
                    bits,
                    dst,
                },
                _ => Insn::Bswap { bits, dst },
            };
            Ok((insn, None))
        }
        "addr_space_cast" => {
            c.punct("(")?;
            let src = reg_of_width(c, false)?;
            c.punct(",")?;
            let dst_as = imm(c)?;
            c.punct(",")?;
            let src_as = imm(c)?;
            c.punct(")")?;
            Ok((
                Insn::AddrSpaceCast {
                    dst,
                    src,
                    dst_as,
                    src_as,
                },
                None,
            ))
        }
        "load_acquire" => {
            c.punct("(")?;
            let (size, _) = size_cast(c)?;
            let (src, off) = paren_addr(c)?;
            c.punct(")")?;
            Ok((
                Insn::LoadAcquire {
                    size,
                    dst,
                    src,
                    off,
                },
                None,
            ))
        }
        "atomic_fetch_add" | "atomic_fetch_or" | "atomic_fetch_and" | "atomic_fetch_xor" => {
            let op = match word {
                "atomic_fetch_add" => AtomicOp::FetchAdd,
                "atomic_fetch_or" => AtomicOp::FetchOr,
                "atomic_fetch_and" => AtomicOp::FetchAnd,
                _ => AtomicOp::FetchXor,
            };
            c.punct("(")?;
            let (size, _) = size_cast(c)?;
            let (base, off) = paren_addr(c)?;
            c.punct(",")?;
            let (src, _) = reg(c)?;
            c.punct(")")?;
            if src != dst {
                return Err(c.syntax_at(pos, "a fetch writes back to its source register".into()));
            }
            Ok((
                Insn::Atomic {
                    size,
                    op,
                    dst: base,
                    off,
                    src,
                },
                None,
            ))
        }
        "xchg_64" | "xchg32_32" => {
            let size = if word == "xchg_64" { Size::DW } else { Size::W };
            c.punct("(")?;
            let (base, off) = addr(c)?;
            c.punct(",")?;
            let (src, _) = reg(c)?;
            c.punct(")")?;
            if src != dst {
                return Err(c.syntax_at(pos, "xchg writes back to its source register".into()));
            }
            Ok((
                Insn::Atomic {
                    size,
                    op: AtomicOp::Xchg,
                    dst: base,
                    off,
                    src,
                },
                None,
            ))
        }
        "cmpxchg_64" | "cmpxchg32_32" => {
            let size = if word == "cmpxchg_64" {
                Size::DW
            } else {
                Size::W
            };
            c.punct("(")?;
            let (base, off) = addr(c)?;
            c.punct(",")?;
            let (r0, _) = reg(c)?;
            c.punct(",")?;
            let (src, _) = reg(c)?;
            c.punct(")")?;
            if r0 != Reg::R0 || dst != Reg::R0 {
                return Err(c.syntax_at(pos, "cmpxchg compares and writes r0".into()));
            }
            Ok((
                Insn::Atomic {
                    size,
                    op: AtomicOp::Cmpxchg,
                    dst: base,
                    off,
                    src,
                },
                None,
            ))
        }
        other => Err(c.syntax_at(pos, format!("unexpected `{other}` after `=`"))),
    }
}
