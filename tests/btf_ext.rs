//! `.BTF.ext` against real compiler output: every `.BTF.ext` section of every corpus object
//! (both byte orders) parses, its string references land in the companion `.BTF` string
//! section, its access strings parse, and it re-marshals byte-identically. A mutation test
//! truncates and bit-flips every real blob and requires the codec never to panic.

mod common;

use std::path::PathBuf;

use bpfir::btf_ext::{BtfExt, CoreAccess, CoreReloKind};
use bpfir::elf::ElfObject;
use bpfir::Endian;

/// One `.BTF.ext` blob from the corpus, with its `.BTF` string section.
struct Sample {
    path: PathBuf,
    endian: Endian,
    ext: Vec<u8>,
    strings: Option<Vec<u8>>,
}

/// The string section of a `.BTF` blob, from its header.
fn btf_strings(btf: &[u8], endian: Endian) -> Option<Vec<u8>> {
    let hdr_len = endian.read_u32(btf, 4)? as usize;
    let str_off = endian.read_u32(btf, 16)? as usize;
    let str_len = endian.read_u32(btf, 20)? as usize;
    let start = hdr_len.checked_add(str_off)?;
    btf.get(start..start.checked_add(str_len)?)
        .map(<[u8]>::to_vec)
}

/// Every object of testdata and the corpus, and the `.BTF.ext` blobs among them, with the
/// number of objects read.
fn samples() -> Option<(Vec<Sample>, usize)> {
    let mut objects = 0;
    let mut out = Vec::new();
    for (path, data) in common::all_objects() {
        let elf = ElfObject::parse(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        objects += 1;
        let endian = elf.endian();
        let Some(section) = elf.section(".BTF.ext") else {
            continue;
        };
        let strings = elf
            .section(".BTF")
            .and_then(|s| btf_strings(s.data, endian));
        out.push(Sample {
            path,
            endian,
            ext: section.data.to_vec(),
            strings,
        });
    }
    Some((out, objects))
}

/// The NUL-terminated string at `off`, if it lies inside the string section.
fn string_at(strings: &[u8], off: u32) -> Option<&str> {
    let rest = strings.get(off as usize..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    std::str::from_utf8(&rest[..end]).ok()
}

#[test]
fn every_corpus_btf_ext_parses_and_round_trips() {
    let Some((samples, objects)) = samples() else {
        return;
    };
    assert!(!samples.is_empty(), "corpus holds no .BTF.ext section");
    let (mut n_func, mut n_line, mut n_core, mut n_short_hdr) = (0, 0, 0, 0);
    let (mut little, mut big) = (0, 0);
    let mut kinds = [0usize; 13];
    for s in &samples {
        let name = s.path.display();
        let ext = BtfExt::parse(&s.ext, s.endian).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ext.to_bytes(), s.ext, "{name}: re-marshal differs");
        match s.endian {
            Endian::Little => little += 1,
            Endian::Big => big += 1,
        }
        if ext.layout.hdr_len < 32 {
            n_short_hdr += 1;
        }
        n_func += ext.func_info.n_records();
        n_line += ext.line_info.n_records();
        n_core += ext.core_relo.n_records();

        // Offsets are instruction-aligned byte offsets.
        for (_, f) in ext.func_infos() {
            assert!(f.insn_off.insn_idx().is_some(), "{name}: func_info {f:?}");
        }
        for (_, l) in ext.line_infos() {
            assert!(l.insn_off.insn_idx().is_some(), "{name}: line_info {l:?}");
        }
        let Some(strings) = &s.strings else {
            panic!("{name}: .BTF.ext without a readable .BTF string section");
        };
        for sec in ext.sec_names() {
            let sec_name = string_at(strings, sec.0)
                .unwrap_or_else(|| panic!("{name}: section name {sec} outside .BTF strings"));
            assert!(!sec_name.is_empty(), "{name}: empty section name");
        }
        for (_, l) in ext.line_infos() {
            assert!(
                string_at(strings, l.file_name.0).is_some_and(|f| !f.is_empty()),
                "{name}: file name of {l:?}"
            );
            assert!(string_at(strings, l.line.0).is_some(), "{name}: {l:?}");
        }
        for (_, r) in ext.core_relos() {
            kinds[r.kind.to_u32() as usize] += 1;
            let text = string_at(strings, r.access.0)
                .unwrap_or_else(|| panic!("{name}: access string of {r:?}"));
            let access = CoreAccess::parse(text).unwrap_or_else(|e| panic!("{name}: {r:?}: {e}"));
            assert_eq!(
                access.to_string(),
                text,
                "{name}: access text not canonical"
            );
            if r.kind.is_type_based() {
                assert_eq!(access.indices(), &[0], "{name}: {} access", r.kind);
            }
            if r.kind.is_enumval_based() {
                assert_eq!(access.len(), 1, "{name}: {} access", r.kind);
            }
        }
    }
    println!(
        "{objects} objects: {} .BTF.ext blobs ({little} little-, \
         {big} big-endian, {n_short_hdr} with a 24-byte header) round-trip byte-identically; \
         {n_func} func_info, {n_line} line_info, {n_core} core_relo records",
        samples.len()
    );
    let kind_counts: Vec<String> = CoreReloKind::ALL
        .iter()
        .zip(kinds)
        .map(|(k, n)| format!("{k}={n}"))
        .collect();
    println!("core_relo kinds: {}", kind_counts.join(" "));
    assert!(little > 0 && big > 0, "both byte orders must be covered");
    assert!(n_func > 0 && n_line > 0 && n_core > 0);
}

/// xorshift64: small, deterministic, good enough to pick bytes and bits.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Parses a mutated blob; whatever it returns, marshaling an `Ok` must not panic and must
/// give a blob that parses back to the same records.
fn check_mutant(bytes: &[u8], endian: Endian) -> bool {
    let Ok(ext) = BtfExt::parse(bytes, endian) else {
        return false;
    };
    let out = ext.to_bytes();
    let back = BtfExt::parse(&out, endian).expect("re-marshaled mutant must parse");
    assert_eq!(back.func_info, ext.func_info);
    assert_eq!(back.line_info, ext.line_info);
    assert_eq!(back.core_relo, ext.core_relo);
    assert_eq!(back.to_bytes(), out, "second marshal differs");
    true
}

#[test]
fn truncated_and_bit_flipped_blobs_never_panic() {
    let Some((samples, _)) = samples() else {
        return;
    };
    let seed = std::env::var("BPFIR_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15u64);
    println!("mutation seed {seed:#x} (set BPFIR_FUZZ_SEED to change)");
    let mut rng = XorShift(seed | 1);
    const FLIPS_PER_BLOB: usize = 2000;
    let (mut truncations, mut flips, mut ok) = (0usize, 0usize, 0usize);
    for s in &samples {
        for len in 0..s.ext.len() {
            truncations += 1;
            // Only a cut inside trailing bytes could still be valid; real blobs have none.
            if check_mutant(&s.ext[..len], s.endian) {
                ok += 1;
            }
        }
        let mut mutant = s.ext.clone();
        for i in 0..FLIPS_PER_BLOB {
            mutant.copy_from_slice(&s.ext);
            // Mostly single flips, some bursts; half of them aim at the header and the
            // first group headers, where a flip changes structure rather than a value.
            let n_bits = 1 + (i % 4) * (i % 3);
            for _ in 0..n_bits {
                let span = if rng.next() & 1 == 0 {
                    mutant.len().min(64)
                } else {
                    mutant.len()
                };
                let at = rng.below(span);
                mutant[at] ^= 1 << rng.below(8);
            }
            flips += 1;
            if check_mutant(&mutant, s.endian) {
                ok += 1;
            }
        }
    }
    println!(
        "{} blobs: {truncations} truncations and {flips} bit-flip mutants, {ok} parsed Ok and \
         re-marshaled, none panicked",
        samples.len()
    );
    assert!(truncations > 0 && flips > 0);
}

mod model_round_trip {
    //! Random models marshal and parse back to themselves, in both byte orders, for every
    //! header form and record size.

    use bpfir::btf::{StrOffset, WireTypeId};
    use bpfir::btf_ext::{
        BtfExt, CoreRelo, CoreReloKind, FuncInfo, InfoGroup, InfoSection, LineInfo, SecOffset,
    };
    use bpfir::Endian;
    use proptest::prelude::*;

    fn groups<R: std::fmt::Debug + Clone>(
        record: impl Strategy<Value = R> + Clone,
    ) -> impl Strategy<Value = Vec<(u32, Vec<R>)>> {
        prop::collection::vec((0u32..64, prop::collection::vec(record, 0..6)), 0..4)
    }

    /// Groups whose records carry `words` extra words each, filled with a counting pattern.
    fn widen<R>(groups: Vec<(u32, Vec<R>)>, words: u32) -> Vec<InfoGroup<R>> {
        groups
            .into_iter()
            .map(|(name, records)| {
                let extra = (0..records.len() * words as usize * 4)
                    .map(|i| i as u8)
                    .collect();
                InfoGroup {
                    sec_name: StrOffset(name),
                    records,
                    extra,
                }
            })
            .collect()
    }

    fn func() -> impl Strategy<Value = FuncInfo> + Clone {
        (any::<u32>(), any::<u32>()).prop_map(|(o, t)| FuncInfo {
            insn_off: SecOffset(o),
            type_id: WireTypeId(t),
        })
    }

    fn line() -> impl Strategy<Value = LineInfo> + Clone {
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            0u32..1 << 22,
            0u32..1024,
        )
            .prop_map(|(o, f, l, line_num, col)| LineInfo {
                insn_off: SecOffset(o),
                file_name: StrOffset(f),
                line: StrOffset(l),
                line_num,
                col,
            })
    }

    fn relo() -> impl Strategy<Value = CoreRelo> + Clone {
        (any::<u32>(), any::<u32>(), any::<u32>(), 0usize..13).prop_map(|(o, t, a, k)| CoreRelo {
            insn_off: SecOffset(o),
            type_id: WireTypeId(t),
            access: StrOffset(a),
            kind: CoreReloKind::ALL[k],
        })
    }

    proptest! {
        #[test]
        fn models_round_trip(
            big in any::<bool>(),
            hdr_extra in prop::sample::select(vec![None, Some(0u32), Some(4), Some(8), Some(16)]),
            extra in (0u32..3, 0u32..3, 0u32..3),
            func_groups in groups(func()),
            line_groups in groups(line()),
            relo_groups in groups(relo()),
        ) {
            let endian = if big { Endian::Big } else { Endian::Little };
            let mut ext = BtfExt::new(endian);
            // A 24-byte header (Some(0) without core relocations) or longer headers with
            // a zero tail.
            if let Some(n) = hdr_extra {
                ext.layout.hdr_len = if relo_groups.is_empty() { 24 + n } else { 32 + n };
                ext.layout.header_tail = vec![0; n as usize];
            }
            // Record sizes above the known size, with extra bytes sized to match.
            ext.func_info = InfoSection { rec_size: 8 + extra.0 * 4, groups: widen(func_groups, extra.0) };
            ext.line_info = InfoSection { rec_size: 16 + extra.1 * 4, groups: widen(line_groups, extra.1) };
            ext.core_relo = InfoSection { rec_size: 16 + extra.2 * 4, groups: widen(relo_groups, extra.2) };
            let bytes = ext.to_bytes();
            let back = BtfExt::parse(&bytes, endian).expect("marshaled model parses");
            if !ext.func_info.groups.is_empty() {
                prop_assert_eq!(&back.func_info, &ext.func_info);
            }
            if !ext.line_info.groups.is_empty() {
                prop_assert_eq!(&back.line_info, &ext.line_info);
            }
            if !ext.core_relo.groups.is_empty() {
                prop_assert_eq!(&back.core_relo, &ext.core_relo);
            }
            prop_assert_eq!(back.to_bytes(), bytes);
        }
    }
}
