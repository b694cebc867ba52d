//! BTF against real data: every `.BTF` of testdata and the corpus, the corpus' vmlinux and
//! split module BTF, and the running kernel's vmlinux parse and re-marshal byte-identically;
//! the text form matches `bpftool btf dump`; lookups answer what bpftool shows; and no
//! truncated or bit-flipped blob makes the parser or the queries panic.

mod common;

use std::path::Path;
use std::sync::Arc;

use bpfir::btf::{Btf, BtfError, Kind, TypeKind};
use bpfir::elf::ElfObject;

/// The `.BTF` sections of testdata and corpus objects, by file name.
fn btf_sections() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (path, data) in common::all_objects() {
        let elf = ElfObject::parse(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Some(s) = elf.section(".BTF") {
            out.push((path.display().to_string(), s.data.to_vec()));
        }
    }
    out
}

fn assert_round_trip(name: &str, bytes: &[u8]) -> Btf {
    let btf = Btf::parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let again = btf.to_bytes();
    assert!(
        again == bytes,
        "{name}: re-marshalled BTF differs from the original"
    );
    btf
}

#[test]
fn every_object_btf_remarshals_byte_identically() {
    let sections = btf_sections();
    let mut n_types = 0;
    for (name, bytes) in &sections {
        let btf = assert_round_trip(name, bytes);
        n_types += btf.n_types();
        // The object's byte order is the BTF's.
        let reparsed = Btf::parse(&btf.to_bytes()).unwrap();
        assert_eq!(reparsed, btf, "{name}: parse(to_bytes(b)) != b");
    }
    eprintln!(
        "{} .BTF sections ({n_types} types) re-marshal byte-identically",
        sections.len()
    );
    assert!(
        sections.len() >= 14,
        "testdata alone has 14 objects with BTF"
    );
}

#[test]
fn vmlinux_and_split_btf_remarshal_byte_identically() {
    if let Some(bytes) = common::kernel_vmlinux() {
        let btf = assert_round_trip("/sys/kernel/btf/vmlinux", &bytes);
        eprintln!("kernel vmlinux: {} types", btf.n_types());
        assert!(btf.n_types() > 10_000);
    }
    let Some(vmlinux) = common::corpus_vmlinux() else {
        return;
    };
    let base = Arc::new(assert_round_trip("corpus vmlinux", &vmlinux));
    let dir = common::corpus_dir().unwrap();
    let split = std::fs::read(dir.join("cilium/btf/testdata/btf_testmod.btf")).unwrap();
    let module = Btf::parse_split(&split, base.clone()).unwrap();
    assert_eq!(module.to_bytes(), split);
    assert_eq!(module.first_own_id(), base.n_types());
    // Module types refer to base types and are found through the split BTF.
    let (id, _) = module.own_types().next().unwrap();
    assert!(module.get(id).is_some());
    let task = module
        .type_by_name_kind("task_struct", Kind::Struct)
        .expect("base types are visible through the split btf");
    assert!(task < id, "task_struct comes from the base");
    // A split blob does not parse without its base.
    assert!(Btf::parse(&split).is_err());
}

/// `Btf::display_type` for every type equals bpftool's dump.
fn assert_matches_bpftool(name: &str, btf: &Btf, golden: &str) {
    let mut ours = String::new();
    for (id, _) in btf.own_types().skip(1) {
        ours.push_str(&btf.display_type(id).to_string());
        ours.push('\n');
    }
    if ours != golden {
        let line = ours
            .lines()
            .zip(golden.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "{name}: differs from bpftool at line {}:\n ours:    {:?}\n bpftool: {:?}",
            line + 1,
            ours.lines().nth(line),
            golden.lines().nth(line)
        );
    }
}

#[test]
fn text_form_matches_bpftool() {
    let golden_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/btf");
    let mut checked = 0;
    for entry in std::fs::read_dir(&golden_dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        let Some(object) = file.strip_suffix(".txt") else {
            continue;
        };
        let object_path = match object.strip_prefix("corpus-") {
            Some(name) => {
                let Some(dir) = common::corpus_dir() else {
                    continue;
                };
                let sub = if name.starts_with("relocs") || name.starts_with("tags") {
                    "cilium/btf/testdata"
                } else {
                    "cilium/testdata"
                };
                dir.join(sub).join(name)
            }
            None => common::testdata_dir().join(object),
        };
        let data = std::fs::read(&object_path)
            .unwrap_or_else(|e| panic!("{}: {e}", object_path.display()));
        let elf = ElfObject::parse(&data).unwrap();
        let btf = Btf::parse(elf.section(".BTF").unwrap().data).unwrap();
        let golden = std::fs::read_to_string(&path).unwrap();
        assert_matches_bpftool(object, &btf, &golden);
        checked += 1;
    }
    eprintln!("{checked} objects' BTF text matches bpftool");
    assert!(checked >= 14);
}

#[test]
fn lookups_on_vmlinux() {
    let Some(bytes) = common::kernel_vmlinux().or_else(common::corpus_vmlinux) else {
        return;
    };
    let btf = Btf::parse(&bytes).unwrap();
    let task = btf
        .type_by_name_kind("task_struct", Kind::Struct)
        .expect("task_struct");
    let TypeKind::Struct { size, .. } = btf.ty(task).kind else {
        panic!("task_struct is a struct");
    };
    assert_eq!(btf.size_of(task).unwrap(), size);
    assert!(btf.align_of(task).unwrap() >= 8);
    let pid = btf
        .members(task)
        .iter()
        .find(|m| btf.str(m.name).unwrap() == "pid")
        .expect("task_struct::pid");
    // pid_t is a typedef of int: resolve reaches the INT.
    let pid_t = btf.resolve(pid.ty).unwrap();
    assert!(matches!(btf.ty(pid_t).kind, TypeKind::Int { size: 4, .. }));
    assert_eq!(btf.size_of(pid.ty).unwrap(), 4);
    assert_eq!(btf.ptr_size(), 8);
    // Every type's size/alignment query answers or errors; none panics or loops.
    let mut sized = 0;
    for (id, _) in btf.own_types() {
        if btf.size_of(id).is_ok() && btf.ty(id).kind.kind() != Kind::Datasec {
            sized += 1;
            btf.align_of(id)
                .unwrap_or_else(|e| panic!("align of [{id:?}]: {e}"));
        }
    }
    assert!(sized > 10_000);
    // Essential-name lookups ignore flavours.
    assert_eq!(
        btf.types_by_essential_name("task_struct")
            .collect::<Vec<_>>(),
        btf.types_by_name("task_struct").collect::<Vec<_>>()
    );
}

#[test]
fn flavoured_types_in_core_testdata() {
    let data = std::fs::read(common::testdata_dir().join("core.bpfel.o")).unwrap();
    let elf = ElfObject::parse(&data).unwrap();
    let btf = Btf::parse(elf.section(".BTF").unwrap().data).unwrap();
    let mut flavoured = 0;
    for (id, t) in btf.own_types() {
        let name = btf.str(t.name).unwrap();
        let ess = bpfir::btf::essential_name(name);
        if ess != name {
            flavoured += 1;
            assert!(btf.types_by_essential_name(ess).any(|x| x == id));
            assert!(btf.types_by_name(name).any(|x| x == id));
        }
    }
    assert!(flavoured > 0, "core.bpf.c has flavoured types");
}

#[test]
fn modified_btf_marshals_and_parses_back() {
    let data = std::fs::read(common::testdata_dir().join("calls.bpfel.o")).unwrap();
    let elf = ElfObject::parse(&data).unwrap();
    let original = elf.section(".BTF").unwrap().data;
    let mut btf = Btf::parse(original).unwrap();
    let n = btf.n_types();
    let int = btf.type_by_name_kind("int", Kind::Int).unwrap();
    let added = btf
        .add_struct(
            "bpfir_added",
            8,
            &[
                bpfir::btf::NewMember::new("a", int, 0),
                bpfir::btf::NewMember::new("b", int, 32),
            ],
        )
        .unwrap();
    assert_eq!(btf.wire_id(added).0, n);
    let bytes = btf.to_bytes();
    assert!(bytes.len() > original.len());
    assert!(
        bytes.starts_with(&original[..8]),
        "magic, version, flags, hdr_len kept"
    );
    let back = Btf::parse(&bytes).unwrap();
    assert_eq!(back, btf);
    assert_eq!(
        back.type_by_name_kind("bpfir_added", Kind::Struct),
        Some(added)
    );
    assert_eq!(back.size_of(added).unwrap(), 8);
    // The original types and strings are untouched.
    for (id, t) in Btf::parse(original).unwrap().own_types() {
        assert_eq!(back.ty(id), t);
    }
}

/// Exercises every query on a parsed BTF; used by the mutation test so that a blob the
/// parser accepts cannot make a query panic either.
fn exercise(btf: &Btf) {
    let _ = btf.to_bytes();
    for (id, t) in btf.own_types() {
        let _ = btf.display_type(id).to_string();
        let _ = btf.size_of(id);
        let _ = btf.align_of(id);
        let _ = btf.resolve(id);
        if let Ok(name) = btf.str(t.name) {
            let _ = btf.types_by_name(name).count();
        }
    }
}

#[test]
fn truncated_and_bit_flipped_blobs_never_panic() {
    let mut rng = common::Rng::from_env(0x5eed_b7f0);
    let mut blobs = btf_sections();
    // A slice of vmlinux keeps the run short while covering its kinds.
    if let Some(v) = common::corpus_vmlinux() {
        blobs.push(("corpus vmlinux".into(), v));
    }
    let (mut ok, mut err, mut cases) = (0usize, 0usize, 0usize);
    let mut check = |bytes: &[u8]| {
        cases += 1;
        match Btf::parse(bytes) {
            Ok(btf) => {
                ok += 1;
                if bytes.len() < 64 * 1024 {
                    exercise(&btf);
                }
            }
            Err(e) => {
                err += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    };
    for (_, blob) in &blobs {
        let big = blob.len() > 64 * 1024;
        // Truncations: every length for small blobs, a sample of lengths for large ones.
        let step = if big { blob.len() / 40 } else { 1 };
        for len in (0..blob.len()).step_by(step.max(1)) {
            check(&blob[..len]);
        }
        // Bit flips: in the header, in type records, and in strings.
        let flips = if big { 24 } else { 400 };
        let mut copy = blob.clone();
        for _ in 0..flips {
            let pos = if rng.below(4) == 0 {
                rng.below(24.min(copy.len()))
            } else {
                rng.below(copy.len())
            };
            let bit = 1u8 << rng.below(8);
            copy[pos] ^= bit;
            check(&copy);
            copy[pos] ^= bit;
        }
        // Word-sized corruption: absurd counts, ids and offsets.
        for _ in 0..flips / 4 {
            let pos = rng.below(copy.len().saturating_sub(4).max(1)) & !3;
            let saved: Vec<u8> = copy[pos..pos + 4].to_vec();
            let v = [
                0xffff_ffffu32,
                0x7fff_ffff,
                0x0000_ffff,
                0x8000_0000,
                rng.next() as u32,
            ][rng.below(5)];
            copy[pos..pos + 4].copy_from_slice(&v.to_le_bytes());
            check(&copy);
            copy[pos..pos + 4].copy_from_slice(&saved);
        }
    }
    eprintln!("{cases} mutated blobs: {ok} parsed, {err} rejected, none panicked");
    assert!(ok > 0 && err > 0);
}

/// Builds a BTF blob by hand (little-endian) from raw type words and a string section.
fn raw_btf(types: &[u32], strings: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xeb9fu16.to_le_bytes());
    out.extend_from_slice(&[1, 0]);
    let type_len = 4 * types.len() as u32;
    for v in [24, 0, type_len, type_len, strings.len() as u32] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for w in types {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(strings);
    out
}

const TYPEDEF: u32 = 8 << 24;
const INT: u32 = 1 << 24;
const STRUCT: u32 = 4 << 24;

#[test]
fn malformed_blobs_give_precise_errors() {
    let strings = b"\0a\0b\0";
    // Two typedefs referring to each other parse (the kernel would refuse them later) but
    // every walk reports the cycle instead of looping.
    let cyclic = Btf::parse(&raw_btf(&[1, TYPEDEF, 2, 3, TYPEDEF, 1], strings)).unwrap();
    let id = cyclic.type_id(bpfir::btf::WireTypeId(1)).unwrap();
    assert!(matches!(
        cyclic.resolve(id),
        Err(BtfError::ReferenceCycle { .. })
    ));
    assert!(matches!(
        cyclic.size_of(id),
        Err(BtfError::ReferenceCycle { .. })
    ));
    assert!(matches!(
        cyclic.align_of(id),
        Err(BtfError::ReferenceCycle { .. })
    ));

    // A reference past the last type.
    let e = Btf::parse(&raw_btf(&[1, TYPEDEF, 7], strings)).unwrap_err();
    assert_eq!(
        e,
        BtfError::TypeIdOutOfRange {
            type_id: 1,
            referenced: 7,
            n_types: 2
        }
    );
    // A name past the string section.
    let e = Btf::parse(&raw_btf(&[99, INT, 4, 32], strings)).unwrap_err();
    assert!(
        matches!(e, BtfError::StrOffsetOutOfRange { str_offset: 99, .. }),
        "{e}"
    );
    // An absurd vlen: 65535 members announced, none present.
    let e = Btf::parse(&raw_btf(&[1, STRUCT | 0xffff, 4], strings)).unwrap_err();
    assert!(matches!(e, BtfError::Truncated { offset: 0, .. }), "{e}");
    assert!(e.to_string().contains("type record"), "{e}");
    // Unknown kind.
    let e = Btf::parse(&raw_btf(&[1, 31 << 24, 0], strings)).unwrap_err();
    assert!(
        matches!(
            e,
            BtfError::UnknownKind {
                kind: 31,
                type_id: 1,
                ..
            }
        ),
        "{e}"
    );
    // Reserved bits of an INT.
    let e = Btf::parse(&raw_btf(&[1, INT, 4, 0x0000_ff20], strings)).unwrap_err();
    assert!(
        matches!(e, BtfError::InvalidField { type_id: 1, .. }),
        "{e}"
    );
    // Bad magic and header.
    assert!(matches!(
        Btf::parse(b"hello world, this is not btf"),
        Err(BtfError::BadMagic { .. })
    ));
    let mut bad = raw_btf(&[1, INT, 4, 32], strings);
    bad[12..16].copy_from_slice(&1000u32.to_le_bytes());
    let e = Btf::parse(&bad).unwrap_err();
    assert!(e.to_string().contains("type section"), "{e}");
    // Strings must start and end with NUL.
    let e = Btf::parse(&raw_btf(&[1, INT, 4, 32], b"x\0")).unwrap_err();
    assert!(matches!(e, BtfError::BadStrings { .. }), "{e}");
}

#[test]
fn big_endian_objects_match_their_little_endian_twins() {
    // clang emits the same types for both byte orders; only the encoding differs.
    for name in ["calls", "core", "maps", "globals", "isa_v4"] {
        let load = |suffix: &str| {
            let data =
                std::fs::read(common::testdata_dir().join(format!("{name}.{suffix}.o"))).unwrap();
            let elf = ElfObject::parse(&data).unwrap();
            Btf::parse(elf.section(".BTF").unwrap().data).unwrap()
        };
        let (el, eb) = (load("bpfel"), load("bpfeb"));
        assert_eq!(el.endian(), bpfir::Endian::Little);
        assert_eq!(eb.endian(), bpfir::Endian::Big);
        assert_eq!(el.n_types(), eb.n_types(), "{name}");
        for (id, t) in el.own_types() {
            let u = eb.ty(id);
            assert_eq!(
                el.display_type(id).to_string(),
                eb.display_type(id).to_string()
            );
            assert_eq!(t.kind.kind(), u.kind.kind());
        }
    }
}
