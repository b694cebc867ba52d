//! Unit tests of the codec: every opcode family decodes, re-encodes byte for byte in both
//! byte orders, and prints llvm-objdump 19's text (taken from its output on objects
//! assembled with clang-19 `-target bpfel/bpfeb -mcpu=v4`).

use super::*;
use crate::Endian;

/// One slot's wire fields, encoded in `endian` by hand (independently of `encode.rs`).
fn slot(endian: Endian, code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Vec<u8> {
    let regs = match endian {
        Endian::Little => (src << 4) | dst,
        Endian::Big => (dst << 4) | src,
    };
    let mut v = vec![code, regs];
    match endian {
        Endian::Little => {
            v.extend_from_slice(&off.to_le_bytes());
            v.extend_from_slice(&imm.to_le_bytes());
        }
        Endian::Big => {
            v.extend_from_slice(&off.to_be_bytes());
            v.extend_from_slice(&imm.to_be_bytes());
        }
    }
    v
}

type Fields = (u8, u8, u8, i16, i32);

/// Decodes the slot(s) in both orders, checks the model, the re-encoding and the text.
fn check(fields: &[Fields], want: Insn, text: &str) {
    for endian in [Endian::Little, Endian::Big] {
        let bytes: Vec<u8> = fields
            .iter()
            .flat_map(|&(c, d, s, o, i)| slot(endian, c, d, s, o, i))
            .collect();
        let got = Insn::decode(&bytes, endian)
            .unwrap_or_else(|e| panic!("{fields:x?} ({endian:?}) does not decode: {e}"));
        assert_eq!(got, want, "{fields:x?} ({endian:?})");
        assert_eq!(got.n_slots(), fields.len());
        let mut out = Vec::new();
        got.encode(endian, &mut out);
        assert_eq!(out, bytes, "{want:?} re-encodes differently ({endian:?})");
        assert_eq!(got.to_string(), text, "{fields:x?}");
    }
}

use AluClass::{Alu32, Alu64};
use Operand::{Imm, Reg as X};
use Reg::*;

#[test]
fn alu_binary_ops_k_and_x() {
    let cases: &[(Fields, Insn, &str)] = &[
        (
            (0xb7, 0, 0, 0, 1),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Mov,
                dst: R0,
                src: Imm(1),
            },
            "r0 = 0x1",
        ),
        (
            (0x0f, 0, 1, 0, 0),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Add,
                dst: R0,
                src: X(R1),
            },
            "r0 += r1",
        ),
        (
            (0x07, 0, 0, 0, -8),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Add,
                dst: R0,
                src: Imm(-8),
            },
            "r0 += -0x8",
        ),
        (
            (0x07, 1, 0, 0, i32::MIN),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Add,
                dst: R1,
                src: Imm(i32::MIN),
            },
            "r1 += -0x80000000",
        ),
        (
            (0x1f, 0, 1, 0, 0),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Sub,
                dst: R0,
                src: X(R1),
            },
            "r0 -= r1",
        ),
        (
            (0x27, 0, 0, 0, 3),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Mul,
                dst: R0,
                src: Imm(3),
            },
            "r0 *= 0x3",
        ),
        (
            (0x3f, 0, 1, 0, 0),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Div,
                dst: R0,
                src: X(R1),
            },
            "r0 /= r1",
        ),
        (
            (0x37, 0, 0, 0, 2),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Div,
                dst: R0,
                src: Imm(2),
            },
            "r0 /= 0x2",
        ),
        (
            (0x3f, 0, 1, 1, 0),
            Insn::Alu {
                class: Alu64,
                op: AluOp::SDiv,
                dst: R0,
                src: X(R1),
            },
            "r0 s/= r1",
        ),
        (
            (0x37, 0, 0, 1, 3),
            Insn::Alu {
                class: Alu64,
                op: AluOp::SDiv,
                dst: R0,
                src: Imm(3),
            },
            "r0 s/= 0x3",
        ),
        (
            (0x9f, 0, 1, 0, 0),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Mod,
                dst: R0,
                src: X(R1),
            },
            "r0 %= r1",
        ),
        (
            (0x9f, 0, 1, 1, 0),
            Insn::Alu {
                class: Alu64,
                op: AluOp::SMod,
                dst: R0,
                src: X(R1),
            },
            "r0 s%= r1",
        ),
        (
            (0x97, 0, 0, 1, -5),
            Insn::Alu {
                class: Alu64,
                op: AluOp::SMod,
                dst: R0,
                src: Imm(-5),
            },
            "r0 s%= -0x5",
        ),
        (
            (0x4f, 0, 1, 0, 0),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Or,
                dst: R0,
                src: X(R1),
            },
            "r0 |= r1",
        ),
        (
            (0x57, 0, 0, 0, 255),
            Insn::Alu {
                class: Alu64,
                op: AluOp::And,
                dst: R0,
                src: Imm(255),
            },
            "r0 &= 0xff",
        ),
        (
            (0x6f, 0, 1, 0, 0),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Lsh,
                dst: R0,
                src: X(R1),
            },
            "r0 <<= r1",
        ),
        (
            (0x67, 0, 0, 0, 3),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Lsh,
                dst: R0,
                src: Imm(3),
            },
            "r0 <<= 0x3",
        ),
        (
            (0x77, 0, 0, 0, 3),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Rsh,
                dst: R0,
                src: Imm(3),
            },
            "r0 >>= 0x3",
        ),
        (
            (0xc7, 0, 0, 0, 3),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Arsh,
                dst: R0,
                src: Imm(3),
            },
            "r0 s>>= 0x3",
        ),
        (
            (0xcf, 0, 2, 0, 0),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Arsh,
                dst: R0,
                src: X(R2),
            },
            "r0 s>>= r2",
        ),
        (
            (0xaf, 0, 3, 0, 0),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Xor,
                dst: R0,
                src: X(R3),
            },
            "r0 ^= r3",
        ),
        (
            (0xbf, 0, 1, 0, 0),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Mov,
                dst: R0,
                src: X(R1),
            },
            "r0 = r1",
        ),
        (
            (0xb7, 0, 0, 0, -1),
            Insn::Alu {
                class: Alu64,
                op: AluOp::Mov,
                dst: R0,
                src: Imm(-1),
            },
            "r0 = -0x1",
        ),
        (
            (0xb4, 0, 0, 0, 1),
            Insn::Alu {
                class: Alu32,
                op: AluOp::Mov,
                dst: R0,
                src: Imm(1),
            },
            "w0 = 0x1",
        ),
        (
            (0xb4, 0, 0, 0, -1),
            Insn::Alu {
                class: Alu32,
                op: AluOp::Mov,
                dst: R0,
                src: Imm(-1),
            },
            "w0 = -0x1",
        ),
        (
            (0x0c, 0, 1, 0, 0),
            Insn::Alu {
                class: Alu32,
                op: AluOp::Add,
                dst: R0,
                src: X(R1),
            },
            "w0 += w1",
        ),
        (
            (0x3c, 1, 2, 1, 0),
            Insn::Alu {
                class: Alu32,
                op: AluOp::SDiv,
                dst: R1,
                src: X(R2),
            },
            "w1 s/= w2",
        ),
        (
            (0x34, 1, 0, 1, 3),
            Insn::Alu {
                class: Alu32,
                op: AluOp::SDiv,
                dst: R1,
                src: Imm(3),
            },
            "w1 s/= 0x3",
        ),
        (
            (0x94, 1, 0, 1, 3),
            Insn::Alu {
                class: Alu32,
                op: AluOp::SMod,
                dst: R1,
                src: Imm(3),
            },
            "w1 s%= 0x3",
        ),
        (
            (0x9c, 1, 2, 1, 0),
            Insn::Alu {
                class: Alu32,
                op: AluOp::SMod,
                dst: R1,
                src: X(R2),
            },
            "w1 s%= w2",
        ),
        (
            (0xcc, 0, 1, 0, 0),
            Insn::Alu {
                class: Alu32,
                op: AluOp::Arsh,
                dst: R0,
                src: X(R1),
            },
            "w0 s>>= w1",
        ),
        (
            (0xbc, 0, 1, 0, 0),
            Insn::Alu {
                class: Alu32,
                op: AluOp::Mov,
                dst: R0,
                src: X(R1),
            },
            "w0 = w1",
        ),
    ];
    for (f, want, text) in cases {
        check(&[*f], *want, text);
    }
}

#[test]
fn alu_neg_movsx_addr_space_cast() {
    check(
        &[(0x87, 1, 0, 0, 0)],
        Insn::Neg {
            class: Alu64,
            dst: R1,
        },
        "r1 = -r1",
    );
    check(
        &[(0x84, 1, 0, 0, 0)],
        Insn::Neg {
            class: Alu32,
            dst: R1,
        },
        "w1 = -w1",
    );
    let sx = |class, bits, off, code, text| {
        check(
            &[(code, 0, 1, off, 0)],
            Insn::MovSx {
                class,
                bits,
                dst: R0,
                src: R1,
            },
            text,
        )
    };
    sx(Alu64, ExtBits::B8, 8, 0xbf, "r0 = (s8)r1");
    sx(Alu64, ExtBits::B16, 16, 0xbf, "r0 = (s16)r1");
    sx(Alu64, ExtBits::B32, 32, 0xbf, "r0 = (s32)r1");
    sx(Alu32, ExtBits::B8, 8, 0xbc, "w0 = (s8)w1");
    sx(Alu32, ExtBits::B16, 16, 0xbc, "w0 = (s16)w1");
    check(
        &[(0xbf, 1, 2, 1, 1)],
        Insn::AddrSpaceCast {
            dst: R1,
            src: R2,
            dst_as: 0,
            src_as: 1,
        },
        "r1 = addr_space_cast(r2, 0x0, 0x1)",
    );
    check(
        &[(0xbf, 1, 2, 1, 0x10000)],
        Insn::AddrSpaceCast {
            dst: R1,
            src: R2,
            dst_as: 1,
            src_as: 0,
        },
        "r1 = addr_space_cast(r2, 0x1, 0x0)",
    );
}

#[test]
fn byte_swaps() {
    let end = |order, bits, code, imm, text| {
        check(
            &[(code, 1, 0, 0, imm)],
            Insn::End {
                order,
                bits,
                dst: R1,
            },
            text,
        )
    };
    end(ByteOrder::Be, SwapBits::B16, 0xdc, 16, "r1 = be16 r1");
    end(ByteOrder::Be, SwapBits::B32, 0xdc, 32, "r1 = be32 r1");
    end(ByteOrder::Be, SwapBits::B64, 0xdc, 64, "r1 = be64 r1");
    end(ByteOrder::Le, SwapBits::B16, 0xd4, 16, "r1 = le16 r1");
    end(ByteOrder::Le, SwapBits::B32, 0xd4, 32, "r1 = le32 r1");
    end(ByteOrder::Le, SwapBits::B64, 0xd4, 64, "r1 = le64 r1");
    check(
        &[(0xd7, 1, 0, 0, 16)],
        Insn::Bswap {
            bits: SwapBits::B16,
            dst: R1,
        },
        "r1 = bswap16 r1",
    );
    check(
        &[(0xd7, 1, 0, 0, 32)],
        Insn::Bswap {
            bits: SwapBits::B32,
            dst: R1,
        },
        "r1 = bswap32 r1",
    );
    check(
        &[(0xd7, 1, 0, 0, 64)],
        Insn::Bswap {
            bits: SwapBits::B64,
            dst: R1,
        },
        "r1 = bswap64 r1",
    );
}

#[test]
fn jumps_calls_exit() {
    check(&[(0x05, 0, 0, 1, 0)], Insn::Ja { off: 1 }, "goto +0x1");
    check(&[(0x05, 0, 0, -3, 0)], Insn::Ja { off: -3 }, "goto -0x3");
    check(
        &[(0x06, 0, 0, 0, 100)],
        Insn::Gotol { imm: 100 },
        "gotol +0x64",
    );
    check(
        &[(0x06, 0, 0, 0, -100)],
        Insn::Gotol { imm: -100 },
        "gotol -0x64",
    );
    check(&[(0x0d, 3, 0, 0, 0)], Insn::Gotox { dst: R3 }, "gotox r3");
    check(
        &[(0xe5, 0, 0, 3, 0)],
        Insn::MayGoto { off: 3 },
        "may_goto +0x3",
    );
    let j = |class, op, dst, src, off| Insn::JmpCond {
        class,
        op,
        dst,
        src,
        off,
    };
    use JmpClass::{Jmp, Jmp32};
    let cases: &[(Fields, Insn, &str)] = &[
        (
            (0x15, 1, 0, 5, 0),
            j(Jmp, JmpOp::Eq, R1, Imm(0), 5),
            "if r1 == 0x0 goto +0x5",
        ),
        (
            (0x5d, 1, 2, -5, 0),
            j(Jmp, JmpOp::Ne, R1, X(R2), -5),
            "if r1 != r2 goto -0x5",
        ),
        (
            (0x25, 1, 0, 0, 3),
            j(Jmp, JmpOp::Gt, R1, Imm(3), 0),
            "if r1 > 0x3 goto +0x0",
        ),
        (
            (0x3d, 1, 2, 0, 0),
            j(Jmp, JmpOp::Ge, R1, X(R2), 0),
            "if r1 >= r2 goto +0x0",
        ),
        (
            (0xa5, 1, 0, 0, 3),
            j(Jmp, JmpOp::Lt, R1, Imm(3), 0),
            "if r1 < 0x3 goto +0x0",
        ),
        (
            (0xbd, 1, 2, 0, 0),
            j(Jmp, JmpOp::Le, R1, X(R2), 0),
            "if r1 <= r2 goto +0x0",
        ),
        (
            (0x65, 1, 0, 0, 3),
            j(Jmp, JmpOp::SGt, R1, Imm(3), 0),
            "if r1 s> 0x3 goto +0x0",
        ),
        (
            (0x7d, 1, 2, 0, 0),
            j(Jmp, JmpOp::SGe, R1, X(R2), 0),
            "if r1 s>= r2 goto +0x0",
        ),
        (
            (0xc5, 1, 0, 0, -3),
            j(Jmp, JmpOp::SLt, R1, Imm(-3), 0),
            "if r1 s< -0x3 goto +0x0",
        ),
        (
            (0xdd, 1, 2, 0, 0),
            j(Jmp, JmpOp::SLe, R1, X(R2), 0),
            "if r1 s<= r2 goto +0x0",
        ),
        (
            (0x45, 1, 0, 0, 3),
            j(Jmp, JmpOp::Set, R1, Imm(3), 0),
            "if r1 & 0x3 goto +0x0",
        ),
        (
            (0x4d, 1, 2, 0, 0),
            j(Jmp, JmpOp::Set, R1, X(R2), 0),
            "if r1 & r2 goto +0x0",
        ),
        (
            (0x16, 1, 0, 3, -1),
            j(Jmp32, JmpOp::Eq, R1, Imm(-1), 3),
            "if w1 == -0x1 goto +0x3",
        ),
        (
            (0x1e, 1, 2, 3, 0),
            j(Jmp32, JmpOp::Eq, R1, X(R2), 3),
            "if w1 == w2 goto +0x3",
        ),
        (
            (0xa6, 1, 0, 3, 0),
            j(Jmp32, JmpOp::Lt, R1, Imm(0), 3),
            "if w1 < 0x0 goto +0x3",
        ),
        (
            (0xde, 1, 2, 3, 0),
            j(Jmp32, JmpOp::SLe, R1, X(R2), 3),
            "if w1 s<= w2 goto +0x3",
        ),
        (
            (0x85, 0, 0, 0, 1),
            Insn::Call {
                kind: CallKind::Helper,
                imm: 1,
                off: 0,
            },
            "call 0x1",
        ),
        (
            (0x85, 0, 1, 0, -1),
            Insn::Call {
                kind: CallKind::Local,
                imm: -1,
                off: 0,
            },
            "call -0x1",
        ),
        (
            (0x85, 0, 2, 3, 77),
            Insn::Call {
                kind: CallKind::Kfunc,
                imm: 77,
                off: 3,
            },
            "call 0x4d",
        ),
        ((0x8d, 2, 0, 0, 0), Insn::CallX { dst: R2 }, "callx r2"),
        ((0x95, 0, 0, 0, 0), Insn::Exit, "exit"),
    ];
    for (f, want, text) in cases {
        check(&[*f], *want, text);
    }
}

#[test]
fn ld_imm64_every_pseudo_kind() {
    check(
        &[
            (0x18, 1, 0, 0, 0x9abc_def0_u32 as i32),
            (0, 0, 0, 0, 0x1234_5678),
        ],
        Insn::LdImm64 {
            kind: PseudoKind::None,
            dst: R1,
            imm: 0x1234_5678_9abc_def0,
        },
        "r1 = 0x123456789abcdef0 ll",
    );
    check(
        &[(0x18, 1, 0, 0, -1), (0, 0, 0, 0, -1)],
        Insn::LdImm64 {
            kind: PseudoKind::None,
            dst: R1,
            imm: -1,
        },
        "r1 = -0x1 ll",
    );
    check(
        &[(0x18, 1, 0, 0, 0), (0, 0, 0, 0, i32::MIN)],
        Insn::LdImm64 {
            kind: PseudoKind::None,
            dst: R1,
            imm: i64::MIN,
        },
        "r1 = -0x8000000000000000 ll",
    );
    let kinds = [
        PseudoKind::MapFd,
        PseudoKind::MapValue,
        PseudoKind::BtfId,
        PseudoKind::Func,
        PseudoKind::MapIdx,
        PseudoKind::MapIdxValue,
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        let src = i as u8 + 1;
        check(
            &[(0x18, 1, src, 0, 5), (0, 0, 0, 0, 0)],
            Insn::LdImm64 {
                kind,
                dst: R1,
                imm: 5,
            },
            &format!("ld_pseudo\tr1, {src:#x}, 0x5"),
        );
    }
    // MAP_VALUE: fd in the low half, value offset in the high half; both survive.
    check(
        &[(0x18, 2, 2, 0, 5), (0, 0, 0, 0, 16)],
        Insn::LdImm64 {
            kind: PseudoKind::MapValue,
            dst: R2,
            imm: (16 << 32) | 5,
        },
        "ld_pseudo\tr2, 0x2, 0x1000000005",
    );
}

#[test]
fn legacy_packet_loads() {
    check(
        &[(0x30, 0, 0, 0, 1)],
        Insn::LdAbs {
            size: Size::B,
            imm: 1,
        },
        "r0 = *(u8 *)skb[0x1]",
    );
    check(
        &[(0x28, 0, 0, 0, 2)],
        Insn::LdAbs {
            size: Size::H,
            imm: 2,
        },
        "r0 = *(u16 *)skb[0x2]",
    );
    check(
        &[(0x20, 0, 0, 0, -0x100000)],
        Insn::LdAbs {
            size: Size::W,
            imm: -0x100000,
        },
        "r0 = *(u32 *)skb[-0x100000]",
    );
    check(
        &[(0x40, 0, 3, 0, 0)],
        Insn::LdInd {
            size: Size::W,
            src: R3,
            imm: 0,
        },
        "r0 = *(u32 *)skb[r3]",
    );
    check(
        &[(0x50, 0, 3, 0, 4)],
        Insn::LdInd {
            size: Size::B,
            src: R3,
            imm: 4,
        },
        "r0 = *(u8 *)skb[r3]",
    );
}

#[test]
fn loads_and_stores() {
    let ld = |size, code, off, text: &str| {
        check(
            &[(code, 2, 1, off, 0)],
            Insn::Load {
                size,
                dst: R2,
                src: R1,
                off,
            },
            text,
        )
    };
    ld(Size::B, 0x71, 4, "r2 = *(u8 *)(r1 + 0x4)");
    ld(Size::H, 0x69, -4, "r2 = *(u16 *)(r1 - 0x4)");
    ld(Size::W, 0x61, 0, "r2 = *(u32 *)(r1 + 0x0)");
    ld(Size::DW, 0x79, i16::MIN, "r2 = *(u64 *)(r1 - 0x8000)");
    let ldsx = |size, code, text: &str| {
        check(
            &[(code, 2, 1, 4, 0)],
            Insn::LoadSx {
                size,
                dst: R2,
                src: R1,
                off: 4,
            },
            text,
        )
    };
    ldsx(Size::B, 0x91, "r2 = *(s8 *)(r1 + 0x4)");
    ldsx(Size::H, 0x89, "r2 = *(s16 *)(r1 + 0x4)");
    ldsx(Size::W, 0x81, "r2 = *(s32 *)(r1 + 0x4)");
    check(
        &[(0x73, 10, 1, -8, 0)],
        Insn::Store {
            size: Size::B,
            dst: R10,
            off: -8,
            src: R1,
        },
        "*(u8 *)(r10 - 0x8) = r1",
    );
    check(
        &[(0x63, 10, 1, -8, 0)],
        Insn::Store {
            size: Size::W,
            dst: R10,
            off: -8,
            src: R1,
        },
        "*(u32 *)(r10 - 0x8) = r1",
    );
    check(
        &[(0x7b, 10, 1, 0x7fff, 0)],
        Insn::Store {
            size: Size::DW,
            dst: R10,
            off: 0x7fff,
            src: R1,
        },
        "*(u64 *)(r10 + 0x7fff) = r1",
    );
    check(
        &[(0x72, 10, 0, -8, 5)],
        Insn::StoreImm {
            size: Size::B,
            dst: R10,
            off: -8,
            imm: 5,
        },
        "*(u8 *)(r10 - 0x8) = 0x5",
    );
    check(
        &[(0x6a, 10, 0, -8, -5)],
        Insn::StoreImm {
            size: Size::H,
            dst: R10,
            off: -8,
            imm: -5,
        },
        "*(u16 *)(r10 - 0x8) = -0x5",
    );
    check(
        &[(0x62, 10, 0, -8, 0x7fff_ffff)],
        Insn::StoreImm {
            size: Size::W,
            dst: R10,
            off: -8,
            imm: 0x7fff_ffff,
        },
        "*(u32 *)(r10 - 0x8) = 0x7fffffff",
    );
}

#[test]
fn atomics() {
    let a = |size, op| Insn::Atomic {
        size,
        op,
        dst: R1,
        off: 4,
        src: R2,
    };
    let cases: &[(u8, i32, Insn, &str)] = &[
        (
            0xdb,
            0x00,
            a(Size::DW, AtomicOp::Add),
            "lock *(u64 *)(r1 + 0x4) += r2",
        ),
        (
            0xc3,
            0x00,
            a(Size::W, AtomicOp::Add),
            "lock *(u32 *)(r1 + 0x4) += r2",
        ),
        (
            0xdb,
            0x40,
            a(Size::DW, AtomicOp::Or),
            "lock *(u64 *)(r1 + 0x4) |= r2",
        ),
        (
            0xdb,
            0x50,
            a(Size::DW, AtomicOp::And),
            "lock *(u64 *)(r1 + 0x4) &= r2",
        ),
        (
            0xdb,
            0xa0,
            a(Size::DW, AtomicOp::Xor),
            "lock *(u64 *)(r1 + 0x4) ^= r2",
        ),
        (
            0xdb,
            0x01,
            a(Size::DW, AtomicOp::FetchAdd),
            "r2 = atomic_fetch_add((u64 *)(r1 + 0x4), r2)",
        ),
        (
            0xdb,
            0x41,
            a(Size::DW, AtomicOp::FetchOr),
            "r2 = atomic_fetch_or((u64 *)(r1 + 0x4), r2)",
        ),
        (
            0xdb,
            0x51,
            a(Size::DW, AtomicOp::FetchAnd),
            "r2 = atomic_fetch_and((u64 *)(r1 + 0x4), r2)",
        ),
        (
            0xdb,
            0xa1,
            a(Size::DW, AtomicOp::FetchXor),
            "r2 = atomic_fetch_xor((u64 *)(r1 + 0x4), r2)",
        ),
        (
            0xdb,
            0xe1,
            a(Size::DW, AtomicOp::Xchg),
            "r2 = xchg_64(r1 + 0x4, r2)",
        ),
        (
            0xdb,
            0xf1,
            a(Size::DW, AtomicOp::Cmpxchg),
            "r0 = cmpxchg_64(r1 + 0x4, r0, r2)",
        ),
        // llvm-objdump 19 prints these only with --mattr=+alu32; this is that text.
        (
            0xc3,
            0x40,
            a(Size::W, AtomicOp::Or),
            "lock *(u32 *)(r1 + 0x4) |= w2",
        ),
        (
            0xc3,
            0x50,
            a(Size::W, AtomicOp::And),
            "lock *(u32 *)(r1 + 0x4) &= w2",
        ),
        (
            0xc3,
            0xa0,
            a(Size::W, AtomicOp::Xor),
            "lock *(u32 *)(r1 + 0x4) ^= w2",
        ),
        (
            0xc3,
            0x01,
            a(Size::W, AtomicOp::FetchAdd),
            "w2 = atomic_fetch_add((u32 *)(r1 + 0x4), w2)",
        ),
        (
            0xc3,
            0x41,
            a(Size::W, AtomicOp::FetchOr),
            "w2 = atomic_fetch_or((u32 *)(r1 + 0x4), w2)",
        ),
        (
            0xc3,
            0x51,
            a(Size::W, AtomicOp::FetchAnd),
            "w2 = atomic_fetch_and((u32 *)(r1 + 0x4), w2)",
        ),
        (
            0xc3,
            0xa1,
            a(Size::W, AtomicOp::FetchXor),
            "w2 = atomic_fetch_xor((u32 *)(r1 + 0x4), w2)",
        ),
        (
            0xc3,
            0xe1,
            a(Size::W, AtomicOp::Xchg),
            "w2 = xchg32_32(r1 + 0x4, w2)",
        ),
        (
            0xc3,
            0xf1,
            a(Size::W, AtomicOp::Cmpxchg),
            "w0 = cmpxchg32_32(r1 + 0x4, w0, w2)",
        ),
    ];
    for &(code, imm, want, text) in cases {
        check(&[(code, 1, 2, 4, imm)], want, text);
    }
}

#[test]
fn load_acquire_store_release() {
    // Texts as LLVM 20+ prints them (llvm-objdump 19 does not know these).
    let cases = [
        (
            Size::B,
            0xd3,
            "w0 = load_acquire((u8 *)(r1 + 0x0))",
            "store_release((u8 *)(r1 + 0x0), w2)",
        ),
        (
            Size::H,
            0xcb,
            "w0 = load_acquire((u16 *)(r1 + 0x0))",
            "store_release((u16 *)(r1 + 0x0), w2)",
        ),
        (
            Size::W,
            0xc3,
            "w0 = load_acquire((u32 *)(r1 + 0x0))",
            "store_release((u32 *)(r1 + 0x0), w2)",
        ),
        (
            Size::DW,
            0xdb,
            "r0 = load_acquire((u64 *)(r1 + 0x0))",
            "store_release((u64 *)(r1 + 0x0), r2)",
        ),
    ];
    for (size, code, load, store) in cases {
        check(
            &[(code, 0, 1, 0, 0x100)],
            Insn::LoadAcquire {
                size,
                dst: R0,
                src: R1,
                off: 0,
            },
            load,
        );
        check(
            &[(code, 1, 2, 0, 0x110)],
            Insn::StoreRelease {
                size,
                dst: R1,
                off: 0,
                src: R2,
            },
            store,
        );
    }
}

/// Decodes one or two little-endian slots and returns the error.
fn err(fields: &[Fields]) -> InsnError {
    let bytes: Vec<u8> = fields
        .iter()
        .flat_map(|&(c, d, s, o, i)| slot(Endian::Little, c, d, s, o, i))
        .collect();
    match Insn::decode(&bytes, Endian::Little) {
        Ok(insn) => panic!("{fields:x?} decoded as {insn:?}"),
        Err(e) => e,
    }
}

fn reserved_field(e: &InsnError) -> &'static str {
    match e {
        InsnError::ReservedField { field, .. } => field,
        other => panic!("expected a reserved-field error, got {other:?}"),
    }
}

#[test]
fn rejects_reserved_fields() {
    assert_eq!(reserved_field(&err(&[(0x07, 1, 2, 0, 1)])), "src_reg"); // K-source ALU
    assert_eq!(reserved_field(&err(&[(0x0f, 1, 2, 0, 1)])), "imm"); // X-source ALU
    assert_eq!(reserved_field(&err(&[(0x0f, 1, 2, 1, 0)])), "off"); // add with off 1
    assert_eq!(reserved_field(&err(&[(0xbc, 1, 2, 32, 0)])), "off"); // 32-bit movsx32
    assert_eq!(reserved_field(&err(&[(0xbc, 1, 2, 1, 0)])), "off"); // ALU32 addr_space_cast
    assert_eq!(reserved_field(&err(&[(0xdc, 1, 0, 0, 8)])), "imm"); // be8
    assert_eq!(reserved_field(&err(&[(0x87, 1, 0, 0, 1)])), "imm"); // neg with imm
    assert_eq!(reserved_field(&err(&[(0x05, 0, 0, 1, 1)])), "imm"); // ja with imm
    assert_eq!(reserved_field(&err(&[(0x06, 0, 0, 1, 1)])), "off"); // gotol with off
    assert_eq!(reserved_field(&err(&[(0x0d, 1, 0, 0, 1)])), "imm"); // gotox with imm
    assert_eq!(reserved_field(&err(&[(0x85, 0, 3, 0, 1)])), "src_reg"); // call kind 3
    assert_eq!(reserved_field(&err(&[(0x85, 0, 0, 1, 1)])), "off"); // helper call with off
    assert_eq!(reserved_field(&err(&[(0x85, 1, 0, 0, 1)])), "dst_reg");
    assert_eq!(reserved_field(&err(&[(0x95, 0, 0, 0, 1)])), "imm"); // exit
    assert_eq!(reserved_field(&err(&[(0xe5, 0, 1, 0, 0)])), "src_reg"); // jcond kind 1
    assert_eq!(reserved_field(&err(&[(0x15, 1, 2, 0, 0)])), "src_reg"); // K-source jump
    assert_eq!(reserved_field(&err(&[(0x1d, 1, 2, 0, 1)])), "imm"); // X-source jump
    assert_eq!(reserved_field(&err(&[(0x61, 1, 2, 0, 1)])), "imm"); // ldx
    assert_eq!(reserved_field(&err(&[(0x62, 1, 2, 0, 1)])), "src_reg"); // st
    assert_eq!(reserved_field(&err(&[(0x63, 1, 2, 0, 1)])), "imm"); // stx
    assert_eq!(reserved_field(&err(&[(0xdb, 1, 2, 0, 0x02)])), "imm"); // unknown atomic
    assert_eq!(reserved_field(&err(&[(0xd3, 1, 2, 0, 0x01)])), "imm"); // 8-bit fetch add
    assert_eq!(reserved_field(&err(&[(0x20, 1, 0, 0, 0)])), "dst_reg"); // ld_abs
    assert_eq!(reserved_field(&err(&[(0x40, 0, 1, 1, 0)])), "off"); // ld_ind
    let ld = |second: Fields| err(&[(0x18, 1, 0, 0, 0), second]);
    assert_eq!(
        reserved_field(&ld((0x18, 0, 0, 0, 0))),
        "second slot opcode"
    );
    assert_eq!(reserved_field(&ld((0, 1, 0, 0, 0))), "second slot dst_reg");
    assert_eq!(reserved_field(&ld((0, 0, 1, 0, 0))), "second slot src_reg");
    assert_eq!(reserved_field(&ld((0, 0, 0, 1, 0))), "second slot off");
    assert_eq!(
        reserved_field(&err(&[(0x18, 1, 7, 0, 0), (0, 0, 0, 0, 0)])),
        "src_reg"
    );
    assert_eq!(
        reserved_field(&err(&[(0x18, 1, 0, 1, 0), (0, 0, 0, 0, 0)])),
        "off"
    );
}

#[test]
fn rejects_unknown_opcodes_and_registers() {
    for code in [
        0x00, 0x08, 0x10, 0x38, 0x58, 0x99, 0xe7, 0xf4, 0xdf, 0x8c, 0x8f, 0x0e, 0x86, 0x96, 0xf5,
        0xe6, 0xaa, 0x9b, 0xc2, 0x98, 0x8b, 0xa3, 0x1b,
    ] {
        match err(&[(code, 0, 0, 0, 0)]) {
            InsnError::UnknownOpcode { offset: 0, code: c } => assert_eq!(c, code),
            other => panic!("{code:#x}: {other:?}"),
        }
    }
    assert_eq!(
        err(&[(0xbf, 11, 1, 0, 0)]),
        InsnError::InvalidRegister {
            offset: 0,
            code: 0xbf,
            field: "dst",
            reg: 11
        }
    );
    assert_eq!(
        err(&[(0xbf, 1, 15, 0, 0)]),
        InsnError::InvalidRegister {
            offset: 0,
            code: 0xbf,
            field: "src",
            reg: 15
        }
    );
}

#[test]
fn truncation_and_offsets() {
    let exit = slot(Endian::Little, 0x95, 0, 0, 0, 0);
    let ld = slot(Endian::Little, 0x18, 1, 0, 0, 0);
    assert!(matches!(
        Insn::decode(&exit[..5], Endian::Little),
        Err(InsnError::Truncated {
            offset: 0,
            needed: 8,
            available: 5
        })
    ));
    assert!(matches!(
        Insn::decode(&ld, Endian::Little),
        Err(InsnError::Truncated {
            offset: 0,
            needed: 16,
            available: 8
        })
    ));
    let mut stream = exit.clone();
    stream.extend_from_slice(&ld);
    assert_eq!(
        decode_all(&stream, Endian::Little),
        Err(InsnError::Truncated {
            offset: 8,
            needed: 16,
            available: 8
        })
    );
    stream.extend_from_slice(&[0; 3]);
    assert_eq!(
        decode_all(&stream, Endian::Little),
        Err(InsnError::UnalignedLength {
            offset: 16,
            len: 19,
            trailing: 3
        })
    );
    let mut bad = exit.clone();
    bad.extend_from_slice(&exit);
    bad.extend_from_slice(&slot(Endian::Little, 0xff, 0, 0, 0, 0));
    let e = decode_all(&bad, Endian::Little).unwrap_err();
    assert_eq!(e.offset(), 16);
    assert_eq!(e.to_string(), "unknown opcode 0xff at byte 16");
}

#[test]
fn listing_and_jump_patching() {
    let mut insns = vec![
        Insn::LdImm64 {
            kind: PseudoKind::MapFd,
            dst: R1,
            imm: 0,
        },
        Insn::JmpCond {
            class: JmpClass::Jmp,
            op: JmpOp::Eq,
            dst: R1,
            src: Imm(0),
            off: 0,
        },
        Insn::Exit,
    ];
    assert!(insns[1].is_jump());
    assert!(insns[1].set_jump_offset(-2));
    assert_eq!(insns[1].jump_offset(), Some(-2));
    assert!(!insns[2].set_jump_offset(1));
    assert_eq!(
        disassemble(&insns).to_string(),
        "       0:\tld_pseudo\tr1, 0x1, 0x0\n       2:\tif r1 == 0x0 goto -0x2\n       3:\texit\n"
    );
    assert_eq!(insns[0].class(), Class::Ld);
    assert_eq!(insns[2].class(), Class::Jmp);
    let bytes = encode_all(&insns, Endian::Big);
    assert_eq!(bytes.len(), 32);
    assert_eq!(decode_all(&bytes, Endian::Big).unwrap(), insns);
    assert_eq!(core::mem::size_of::<Insn>(), 16);
}
