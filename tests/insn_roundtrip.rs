//! Every executable section of every ELF object in the shared corpus decodes without error
//! and re-encodes byte for byte, in both byte orders.

use std::path::{Path, PathBuf};

use bpfir::insn::{decode_all, encode_all};
use bpfir::Endian;
use object::read::elf::{ElfFile64, FileHeader, SectionHeader};
use object::Endianness;

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("corpus not found at {}; skipping", dir.display());
        None
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// A checked-out git symlink: a short ASCII file naming an existing sibling.
fn alias_target(path: &Path, data: &[u8]) -> Option<PathBuf> {
    if data.len() > 255 || !data.iter().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let name = std::str::from_utf8(data).ok()?;
    let target = path.parent()?.join(name);
    target.is_file().then_some(target)
}

/// Name and bytes of one executable section.
type Section = (String, Vec<u8>);

/// Byte order, and name and bytes of every SHT_PROGBITS + SHF_EXECINSTR section.
fn exec_sections(data: &[u8]) -> Result<(Endian, Vec<Section>), String> {
    let file = ElfFile64::<Endianness>::parse(data).map_err(|e| e.to_string())?;
    let endian = file.endian();
    let order = match endian {
        Endianness::Little => Endian::Little,
        Endianness::Big => Endian::Big,
    };
    let header = file.elf_header();
    let sections = header.sections(endian, data).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for section in sections.iter() {
        let flags = section.sh_flags(endian);
        if section.sh_type(endian) != object::elf::SHT_PROGBITS
            || flags & u64::from(object::elf::SHF_EXECINSTR) == 0
        {
            continue;
        }
        let name = sections
            .section_name(endian, section)
            .map_err(|e| e.to_string())?;
        let bytes = section.data(endian, data).map_err(|e| e.to_string())?;
        out.push((String::from_utf8_lossy(name).into_owned(), bytes.to_vec()));
    }
    Ok((order, out))
}

#[test]
fn corpus_sections_round_trip() {
    let Some(dir) = corpus() else { return };
    let mut files = Vec::new();
    walk(&dir, &mut files);
    let (mut n_objects, mut n_sections, mut n_insns, mut n_slots) = (0, 0, 0, 0);
    let mut per_order = [0usize; 2];
    let mut failures = Vec::new();
    for path in &files {
        let data = std::fs::read(path).unwrap();
        if let Some(target) = alias_target(path, &data) {
            eprintln!(
                "{} is an alias of {}; covered there",
                path.display(),
                target.display()
            );
            continue;
        }
        if !data.starts_with(b"\x7fELF") {
            continue;
        }
        let (order, sections) = match exec_sections(&data) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{}: not a readable ELF: {e}", path.display()));
                continue;
            }
        };
        n_objects += 1;
        for (name, bytes) in sections {
            n_sections += 1;
            match decode_all(&bytes, order) {
                Ok(insns) => {
                    n_insns += insns.len();
                    n_slots += bytes.len() / 8;
                    per_order[usize::from(order == Endian::Big)] += insns.len();
                    if encode_all(&insns, order) != bytes {
                        failures.push(format!("{} {name}: re-encoding differs", path.display()));
                    }
                }
                Err(e) => failures.push(format!("{} {name}: {e}", path.display())),
            }
        }
    }
    eprintln!(
        "{n_insns} instructions ({n_slots} slots; {} little-endian, {} big-endian) in \
         {n_sections} executable sections of {n_objects} objects round-trip",
        per_order[0], per_order[1]
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        n_objects > 0 && n_insns > 0,
        "no ELF objects found under {}",
        dir.display()
    );
}
