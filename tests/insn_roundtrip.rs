//! Every instruction of every function of every ELF object in testdata and the corpus
//! decodes and re-encodes byte for byte, in both byte orders. Functions are cut by their
//! symbols, so the alignment padding clang leaves between functions is never decoded.

mod common;

use bpfir::elf::ElfObject;
use bpfir::insn::{encode_all, Decoder, Insn};

#[test]
fn every_instruction_round_trips() {
    let (mut objects, mut functions, mut insns, mut padding, mut opaque) = (0, 0, 0, 0, 0);
    for (path, data) in common::all_objects() {
        let elf = ElfObject::parse(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        objects += 1;
        for section in elf.executable_sections() {
            let mut covered = 0;
            for (name, range) in elf.code_ranges(section) {
                let where_ = format!("{} {} {name}", path.display(), section.name);
                let bytes = section
                    .data
                    .get(range.clone())
                    .unwrap_or_else(|| panic!("{where_}: {range:?} outside the section"));
                // Slots the decoder refuses (testdata/opaque.bpf.c keeps some on purpose, for
                // the kernel to judge) are kept as opaque instructions: they too encode back.
                let decoded: Vec<Insn> = Decoder::keeping_opaque(bytes, elf.endian())
                    .map(|r| r.map(|(_, insn)| insn))
                    .collect::<Result<_, _>>()
                    .unwrap_or_else(|e| panic!("{where_}: {e}"));
                opaque += decoded
                    .iter()
                    .filter(|i| matches!(i, Insn::Opaque { .. }))
                    .count();
                assert_eq!(encode_all(&decoded, elf.endian()), bytes, "{where_}");
                functions += 1;
                insns += decoded.len();
                padding += range.start - covered.min(range.start);
                covered = range.end;
            }
        }
    }
    eprintln!(
        "{insns} instructions ({opaque} opaque) in {functions} functions of {objects} objects \
         round-trip ({padding} bytes of padding between functions skipped)"
    );
    assert!(insns > 1000);
}
