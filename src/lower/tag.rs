//! The kernel's program tag, computed without the kernel.
//!
//! The kernel (`bpf_prog_calc_tag`, kernel/bpf/core.c) hashes the instructions exactly as
//! `BPF_PROG_LOAD` received them, in the machine's byte order, after clearing the `imm` of
//! both slots of every `ld_imm64` whose first slot is `BPF_PSEUDO_MAP_FD` or
//! `BPF_PSEUDO_MAP_VALUE` (fds are not stable between loads); the second slot is cleared
//! only when its `code`, registers and `off` are zero, as they are in every valid
//! `ld_imm64`. The tag is the first 8 bytes of the digest: SHA-256 since Linux 6.18 (the
//! digest also serves program signing), SHA-1 before. Nothing else is masked: a kfunc's
//! BTF id, a `BPF_PSEUDO_BTF_ID`'s module BTF fd and a map index into `fd_array` stay in.
//!
//! Costs: one copy of the bytecode and one pass of the hash over it; no other allocation.
//! Both hash functions are written here from FIPS 180-4 (no dependency).

use crate::insn::{encode_all, Insn};
use crate::Endian;

/// The hash the kernel takes the tag from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TagHash {
    /// SHA-256: Linux 6.18 and later.
    Sha256,
    /// SHA-1: Linux 4.10 to 6.17.
    Sha1,
}

/// `BPF_LD | BPF_IMM | BPF_DW`.
const LD_IMM64: u8 = 0x18;
/// `BPF_PSEUDO_MAP_FD` and `BPF_PSEUDO_MAP_VALUE`.
const PSEUDO_MAP_FD: u8 = 1;
const PSEUDO_MAP_VALUE: u8 = 2;

/// The bytes the kernel hashes: `insns` encoded in `endian`, map fds cleared.
pub fn tag_input(insns: &[Insn], endian: Endian) -> Vec<u8> {
    let mut bytes = encode_all(insns, endian);
    // The register nibbles: dst in the low nibble on little-endian machines, in the high
    // one on big-endian machines.
    let src_reg = |regs: u8| match endian {
        Endian::Little => regs >> 4,
        Endian::Big => regs & 0x0f,
    };
    let mut was_ld_map = false;
    for slot in bytes.chunks_exact_mut(8) {
        let (code, regs, off) = (slot[0], slot[1], [slot[2], slot[3]]);
        if !was_ld_map
            && code == LD_IMM64
            && matches!(src_reg(regs), PSEUDO_MAP_FD | PSEUDO_MAP_VALUE)
        {
            was_ld_map = true;
            slot[4..8].fill(0);
        } else if was_ld_map && code == 0 && regs == 0 && off == [0, 0] {
            was_ld_map = false;
            slot[4..8].fill(0);
        } else {
            was_ld_map = false;
        }
    }
    bytes
}

/// The tag of `insns` as a kernel hashing with `hash` on a machine of byte order `endian`
/// computes it.
pub fn program_tag(insns: &[Insn], endian: Endian, hash: TagHash) -> [u8; 8] {
    let input = tag_input(insns, endian);
    let mut tag = [0; 8];
    match hash {
        TagHash::Sha256 => tag.copy_from_slice(&sha256(&input)[..8]),
        TagHash::Sha1 => tag.copy_from_slice(&sha1(&input)[..8]),
    }
    tag
}

/// A tag as 16 lowercase hex digits, the way `bpftool prog show` prints it.
pub fn tag_hex(tag: [u8; 8]) -> String {
    tag.iter().map(|b| format!("{b:02x}")).collect()
}

/// The message blocks of Merkle–Damgård padding (`0x80`, zeros, the bit length big-endian),
/// shared by SHA-1 and SHA-256.
fn padded(data: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(data.len() + 72);
    m.extend_from_slice(data);
    m.push(0x80);
    while m.len() % 64 != 56 {
        m.push(0);
    }
    m.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_be_bytes());
    m
}

fn be_words<const N: usize>(block: &[u8]) -> [u32; N] {
    let mut w = [0u32; N];
    for (i, c) in block.chunks_exact(4).take(16).enumerate() {
        w[i] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
    }
    w
}

/// SHA-1 (FIPS 180-4, 6.1).
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xefcd_ab89,
        0x98ba_dcfe,
        0x1032_5476,
        0xc3d2_e1f0,
    ];
    for block in padded(data).chunks_exact(64) {
        let mut w: [u32; 80] = be_words(block);
        for t in 16..80 {
            w[t] = (w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (t, &wt) in w.iter().enumerate() {
            let (f, k) = match t {
                0..=19 => ((b & c) | (!b & d), 0x5a82_7999),
                20..=39 => (b ^ c ^ d, 0x6ed9_eba1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8f1b_bcdc),
                _ => (b ^ c ^ d, 0xca62_c1d6),
            };
            let tmp = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(wt);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = tmp;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0; 20];
    for (o, x) in out.chunks_exact_mut(4).zip(h) {
        o.copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// SHA-256 round constants: the first 32 bits of the fractional parts of the cube roots of
/// the first 64 primes.
const K256: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// SHA-256 (FIPS 180-4, 6.2).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    for block in padded(data).chunks_exact(64) {
        let mut w: [u32; 64] = be_words(block);
        for t in 16..64 {
            let s0 = w[t - 15].rotate_right(7) ^ w[t - 15].rotate_right(18) ^ (w[t - 15] >> 3);
            let s1 = w[t - 2].rotate_right(17) ^ w[t - 2].rotate_right(19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16]
                .wrapping_add(s0)
                .wrapping_add(w[t - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for t in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K256[t])
                .wrapping_add(w[t]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0; 32];
    for (o, x) in out.chunks_exact_mut(4).zip(h) {
        o.copy_from_slice(&x.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::{PseudoKind, Reg};

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha1_known_answers() {
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let two_blocks = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(
            hex(&sha1(two_blocks)),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
    }

    #[test]
    fn sha256_known_answers() {
        assert_eq!(
            hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let two_blocks = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(
            hex(&sha256(two_blocks)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn map_fds_do_not_change_the_tag() {
        let prog = |fd: i64, kind| {
            [
                Insn::LdImm64 {
                    kind,
                    dst: Reg::R1,
                    imm: fd | (8 << 32),
                },
                Insn::Exit,
            ]
        };
        for hash in [TagHash::Sha1, TagHash::Sha256] {
            for endian in [Endian::Little, Endian::Big] {
                for kind in [PseudoKind::MapFd, PseudoKind::MapValue] {
                    assert_eq!(
                        program_tag(&prog(3, kind), endian, hash),
                        program_tag(&prog(9, kind), endian, hash)
                    );
                }
                // A plain constant and a map index are hashed as they are.
                for kind in [PseudoKind::None, PseudoKind::MapIdx] {
                    assert_ne!(
                        program_tag(&prog(3, kind), endian, hash),
                        program_tag(&prog(9, kind), endian, hash)
                    );
                }
            }
        }
    }
}
