//! Decoding arbitrary bytes never panics, and whatever decodes re-encodes to exactly the bytes
//! it came from (so the decoder checks every field the model does not keep).

use bpfir::insn::{decode_all, Decoder, Insn, InsnError};
use bpfir::Endian;
use proptest::prelude::*;

const ORDERS: [Endian; 2] = [Endian::Little, Endian::Big];

/// Decodes `bytes`; on success checks the re-encoding and the text, on failure the offset.
fn check_one(bytes: &[u8], endian: Endian) -> Result<Insn, InsnError> {
    let result = Insn::decode(bytes, endian);
    match &result {
        Ok(insn) => {
            let mut out = Vec::new();
            insn.encode(endian, &mut out);
            assert_eq!(out.len(), insn.n_bytes());
            assert_eq!(&out[..], &bytes[..out.len()], "{insn:?} ({endian:?})");
            assert!(!insn.to_string().is_empty());
        }
        Err(e) => assert_eq!(e.offset(), 0, "{e}"),
    }
    result
}

#[test]
fn every_opcode_and_register_byte() {
    let fields: [(i16, i32); 11] = [
        (0, 0),
        (0, 16),
        (0, 32),
        (0, 64),
        (1, 1),
        (-1, -1),
        (8, 16),
        (16, 32),
        (32, 64),
        (0, 0x100),
        (0, 0x110),
    ];
    let mut valid_opcodes = [false; 256];
    let mut n_ok = 0usize;
    let mut n_err = 0usize;
    for endian in ORDERS {
        for code in 0..=255u8 {
            for regs in 0..=255u8 {
                for (off, imm) in fields {
                    let mut bytes = vec![code, regs];
                    bytes.extend_from_slice(&endian.u16_bytes(off as u16));
                    bytes.extend_from_slice(&endian.u32_bytes(imm as u32));
                    // A second slot that is a valid ld_imm64 tail, then one that is not.
                    for tail in [[0u8, 0, 0, 0, 7, 0, 0, 7], [1, 2, 3, 4, 5, 6, 7, 8]] {
                        let mut b = bytes.clone();
                        b.extend_from_slice(&tail);
                        match check_one(&b, endian) {
                            Ok(_) => {
                                valid_opcodes[usize::from(code)] = true;
                                n_ok += 1;
                            }
                            Err(_) => n_err += 1,
                        }
                    }
                    // And the slot alone: an ld_imm64 must report truncation, not panic.
                    let _ = check_one(&bytes, endian);
                }
            }
        }
    }
    let n_valid = valid_opcodes.iter().filter(|v| **v).count();
    eprintln!("{n_valid} of 256 opcode bytes decode; {n_ok} encodings accepted, {n_err} rejected");
    // ALU 27 (13 binary ops x K/X, neg, le/be), ALU64 26 (binary ops, neg, bswap), JMP 28
    // (ja, gotox, 11 conditions x K/X, call, callx, exit, may_goto), JMP32 23 (gotol, 11 x
    // K/X), LD 7 (ld_imm64, abs and ind x B/H/W), LDX 7 (mem x 4 sizes, memsx x B/H/W), ST 4,
    // STX 8 (mem and atomic x 4 sizes).
    assert_eq!(n_valid, 130, "valid opcode bytes");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn random_slots_never_panic(code in any::<u8>(), regs in any::<u8>(), off in any::<i16>(),
                                imm in any::<i32>(), tail in any::<[u8; 8]>(), big in any::<bool>()) {
        let endian = if big { Endian::Big } else { Endian::Little };
        let mut bytes = vec![code, regs];
        bytes.extend_from_slice(&endian.u16_bytes(off as u16));
        bytes.extend_from_slice(&endian.u32_bytes(imm as u32));
        bytes.extend_from_slice(&tail);
        let _ = check_one(&bytes, endian);
    }

    #[test]
    fn random_streams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256),
                                  big in any::<bool>()) {
        let endian = if big { Endian::Big } else { Endian::Little };
        match decode_all(&bytes, endian) {
            Ok(insns) => {
                let n: usize = insns.iter().map(Insn::n_bytes).sum();
                prop_assert_eq!(n, bytes.len());
                prop_assert_eq!(bpfir::insn::encode_all(&insns, endian), bytes.clone());
            }
            Err(e) => prop_assert!(e.offset() <= bytes.len()),
        }
        let mut last = None;
        for item in Decoder::new(&bytes, endian) {
            match item {
                Ok((at, _)) => {
                    prop_assert!(last.is_none_or(|l| at > l));
                    last = Some(at);
                }
                Err(e) => prop_assert!(e.offset() < bytes.len()),
            }
        }
    }
}
