//! Generated worst cases of the paths that untrusted input can make expensive (issue 11):
//! each must be refused or finish in time linear in its input. The bounds are documented in
//! the modules (`read` for `.maps`, `btf::dedup`, `btf::lookup`, `co_re`); these tests build
//! the inputs that once took minutes or gigabytes and check the result, never the time
//! (tests do not assert timings: a regression shows as a test that no longer finishes).

use bpfir::btf::{Btf, Kind};
use bpfir::elf::ElfObject;
use bpfir::ir::Module;

fn testdata(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name),
    )
    .unwrap()
}

/// File offset of the `.BTF` section of `bytes`.
fn btf_offset(bytes: &[u8]) -> usize {
    let elf = ElfObject::parse(bytes).unwrap();
    let data = elf.section(".BTF").unwrap().data;
    data.as_ptr() as usize - bytes.as_ptr() as usize
}

/// Patches the size (or offset) of the `.maps` variable `var` in the file's BTF wire bytes.
fn patch_maps_var(bytes: &mut [u8], var: &str, field: usize, value: u32) {
    let elf = ElfObject::parse(bytes).unwrap();
    let btf = Btf::parse(elf.section(".BTF").unwrap().data).unwrap();
    let datasec = btf.type_by_name_kind(".maps", Kind::Datasec).unwrap();
    let v = btf
        .datasec_vars(datasec)
        .iter()
        .find(|v| btf.name(v.ty).unwrap() == var)
        .unwrap();
    // The secinfo as clang wrote it: type id, offset 0 (the loader fills it in), size.
    let le = |x: u32| x.to_le_bytes();
    let mut wire = Vec::new();
    wire.extend(le(btf.wire_id(v.ty).0));
    wire.extend(le(0));
    wire.extend(le(v.size));
    let start = btf_offset(bytes);
    let at = bytes[start..]
        .windows(12)
        .position(|w| w == wire)
        .expect("secinfo found")
        + start;
    bytes[at + 4 * field..at + 4 * field + 4].copy_from_slice(&le(value));
}

/// Issue 11, bug 1: a `.maps` variable whose BTF size (or offset) lies past the real section
/// is refused by the reader, so the writer (and `bpfir link`) never lays out what the BTF
/// claims: one changed 4-byte size once made a 537 MB object.
#[test]
fn maps_variables_outside_the_section_are_refused() {
    let good = testdata("maps.bpfel.o");
    let m = Module::read(&good).unwrap();
    let written = bpfir::write::write_object(&m).unwrap();
    assert!(written.len() < 4 * good.len());

    // The size in BTF, then the offset (taken from the symbol, as loaders do).
    let mut bad = vec![good.clone(), good.clone(), good.clone()];
    patch_maps_var(&mut bad[0], "array", 2, 0x2000_0000);
    patch_maps_var(&mut bad[1], "array", 2, u32::MAX);
    patch_symbol_value(&mut bad[2], "array", 0xffff_0000);
    for bad in bad {
        let err = Module::read(&bad)
            .expect_err("the variable lies outside .maps")
            .to_string();
        assert!(err.contains(".maps"), "{err}");
        assert!(err.contains("outside the section"), "{err}");
    }
}

/// Sets `st_value` of symbol `name` (an `Elf64_Sym` of a little-endian object).
fn patch_symbol_value(bytes: &mut [u8], name: &str, value: u64) {
    let elf = ElfObject::parse(bytes).unwrap();
    let sym = elf.symbols().iter().find(|s| s.name == name).unwrap();
    let shndx = sym.section.unwrap() as u16;
    let mut wire = shndx.to_le_bytes().to_vec();
    wire.extend(sym.value.to_le_bytes());
    wire.extend(sym.size.to_le_bytes());
    let symtab = elf
        .sections()
        .iter()
        .find(|s| s.name == ".symtab")
        .unwrap()
        .data;
    let start = symtab.as_ptr() as usize - bytes.as_ptr() as usize;
    let hits: Vec<usize> = (0..symtab.len() / 24)
        .map(|k| start + 24 * k)
        .filter(|&at| bytes[at + 6..at + 24] == wire[..])
        .filter(|&at| {
            let name_off = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
            name_off != 0
        })
        .collect();
    // Several symbols may share section, value and size; patch the one named `name`.
    let strtab = elf
        .sections()
        .iter()
        .find(|s| s.name == ".strtab")
        .unwrap()
        .data;
    let at = hits
        .into_iter()
        .find(|&at| {
            let off = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            strtab[off..].starts_with(name.as_bytes()) && strtab[off + name.len()] == 0
        })
        .expect("symbol found");
    bytes[at + 8..at + 16].copy_from_slice(&value.to_le_bytes());
}
