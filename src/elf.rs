//! The sections of a BPF ELF object, read with the `object` crate.
//!
//! This is the only module that names `object` types; the rest of the crate sees
//! [`ElfObject`] and [`Section`]. Reading checks that the file is a 64-bit ELF for the BPF
//! machine and takes the byte order from it. Section data is borrowed from the input bytes.

use object::read::elf::{ElfFile64, FileHeader, SectionHeader, Sym};
use object::{elf, Endianness};

use crate::Endian;

/// An error reading an ELF object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ElfError {
    /// The bytes are not a well-formed 64-bit ELF file.
    #[error("not a valid 64-bit elf object: {reason}")]
    Malformed {
        /// What the ELF parser reported.
        reason: String,
    },
    /// The ELF file is not for the BPF machine.
    #[error("elf machine is {machine}, expected EM_BPF ({})", elf::EM_BPF)]
    NotBpf {
        /// The `e_machine` found.
        machine: u16,
    },
    /// A symbol table entry is malformed.
    #[error("symbol {index}: {reason}")]
    BadSymbol {
        /// Index in the symbol table.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A section's header or data could not be read.
    #[error("section {index} ({name}): {reason}")]
    BadSection {
        /// Section index.
        index: usize,
        /// Section name, if it could be read.
        name: String,
        /// What went wrong.
        reason: String,
    },
}

/// One section of an ELF object.
#[derive(Clone, Debug)]
pub struct Section<'a> {
    /// Index in the section header table.
    pub index: usize,
    /// Section name.
    pub name: &'a str,
    /// `sh_type` (`SHT_PROGBITS`, `SHT_NOBITS`, ...).
    pub sh_type: u32,
    /// `sh_flags`.
    pub flags: u64,
    /// `sh_addralign`.
    pub align: u64,
    /// `sh_info` (for a relocation section: the section it applies to).
    pub info: u32,
    /// `sh_link` (for a relocation section: its symbol table).
    pub link: u32,
    /// `sh_size` (for `SHT_NOBITS`, the size in memory; the data is empty).
    pub size: u64,
    /// The section's bytes (empty for `SHT_NOBITS`).
    pub data: &'a [u8],
}

/// Sections read by their name whatever their flags say, so never code.
const NAMED_NOT_CODE: [&str; 6] = ["license", "version", "maps", ".maps", ".BTF", ".BTF.ext"];

impl Section<'_> {
    /// True for sections holding instructions (`SHT_PROGBITS` with `SHF_EXECINSTR`), except
    /// the sections a loader knows by name: like libbpf, which matches
    /// `license`, `version`, `maps`, `.maps`, `.BTF` and `.BTF.ext` by name before it looks
    /// at the flags, a `.maps` marked executable is still the maps and never a program.
    pub fn is_executable(&self) -> bool {
        self.sh_type == elf::SHT_PROGBITS
            && self.flags & u64::from(elf::SHF_EXECINSTR) != 0
            && !NAMED_NOT_CODE.contains(&self.name)
    }
}

/// What a symbol names (`STT_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SymbolKind {
    /// `STT_NOTYPE`: labels, externs without type.
    NoType,
    /// `STT_OBJECT`: a variable or map.
    Object,
    /// `STT_FUNC`: a function.
    Func,
    /// `STT_SECTION`: the section itself.
    Section,
    /// Any other type, with its number.
    Other(u8),
}

/// A symbol's binding (`STB_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Binding {
    /// `STB_LOCAL`.
    Local,
    /// `STB_GLOBAL`.
    Global,
    /// `STB_WEAK`.
    Weak,
    /// Any other binding, with its number.
    Other(u8),
}

/// One entry of the symbol table.
#[derive(Clone, Debug)]
pub struct Symbol<'a> {
    /// Index in the symbol table.
    pub index: usize,
    /// Name (may be empty).
    pub name: &'a str,
    /// What it names.
    pub kind: SymbolKind,
    /// Binding.
    pub binding: Binding,
    /// Index of the section it is defined in; `None` for undefined, absolute and common
    /// symbols.
    pub section: Option<usize>,
    /// `st_value`: for a defined symbol of a relocatable object, its byte offset in its
    /// section.
    pub value: u64,
    /// `st_size`.
    pub size: u64,
    /// `STV_HIDDEN` or `STV_INTERNAL` visibility (`__hidden`): a global symbol other
    /// objects of a static link see, but nothing outside it.
    pub hidden: bool,
}

/// One relocation entry (`Elf64_Rel`, or `Elf64_Rela` with its addend).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Relocation {
    /// Byte offset in the section the relocation applies to.
    pub offset: u64,
    /// Symbol table index.
    pub symbol: usize,
    /// `R_BPF_*` type.
    pub r_type: u32,
    /// Addend (`SHT_RELA` only; BPF objects use `SHT_REL`, where it is 0).
    pub addend: i64,
}

/// `R_BPF_64_64`: a 64-bit immediate of an `ld_imm64`.
pub const R_BPF_64_64: u32 = 1;
/// `R_BPF_64_ABS64`: a 64-bit absolute address in data (`.maps` initial values, DWARF).
pub const R_BPF_64_ABS64: u32 = 2;
/// `R_BPF_64_ABS32`: a 32-bit absolute address in data (DWARF, `.BTF`).
pub const R_BPF_64_ABS32: u32 = 3;
/// `R_BPF_64_NODYLD32`: a 32-bit value not relocated at load time (`.BTF.ext`).
pub const R_BPF_64_NODYLD32: u32 = 4;
/// `R_BPF_64_32`: the immediate of a `call`.
pub const R_BPF_64_32: u32 = 10;

/// A parsed BPF ELF object: its byte order, sections and symbols.
#[derive(Debug)]
pub struct ElfObject<'a> {
    endian: Endian,
    sections: Vec<Section<'a>>,
    symbols: Vec<Symbol<'a>>,
}

impl<'a> ElfObject<'a> {
    /// Reads the section table of a BPF ELF object.
    pub fn parse(bytes: &'a [u8]) -> Result<ElfObject<'a>, ElfError> {
        // What is not an ELF file at all is named for what it is (a git symlink checked out
        // as text is a short line naming another file), not by the parser's generic error.
        const HEADER_LEN: usize = 64;
        if bytes.len() < HEADER_LEN {
            return Err(ElfError::Malformed {
                reason: format!(
                    "{} bytes, shorter than the {HEADER_LEN}-byte ELF header",
                    bytes.len()
                ),
            });
        }
        if !bytes.starts_with(b"\x7fELF") {
            return Err(ElfError::Malformed {
                reason: format!(
                    "no ELF magic (the bytes start with `{}`)",
                    bytes[..16].escape_ascii()
                ),
            });
        }
        let file = ElfFile64::<Endianness>::parse(bytes).map_err(|e| ElfError::Malformed {
            reason: e.to_string(),
        })?;
        let e = file.endian();
        let header = file.elf_header();
        let machine = header.e_machine(e);
        if machine != elf::EM_BPF {
            return Err(ElfError::NotBpf { machine });
        }
        let endian = if e == Endianness::Little {
            Endian::Little
        } else {
            Endian::Big
        };
        let table = file.elf_section_table();
        let mut sections = Vec::with_capacity(table.len());
        for (index, sh) in table.iter().enumerate() {
            let bad = |reason: String, name: &str| ElfError::BadSection {
                index,
                name: name.to_string(),
                reason,
            };
            let name = table
                .section_name(e, sh)
                .map_err(|err| bad(err.to_string(), "?"))?;
            let name = std::str::from_utf8(name)
                .map_err(|_| bad("section name is not utf-8".into(), "?"))?;
            // The null section has no name, whatever its `sh_name` says: nothing finds it by
            // one (a written object gives it none, so a name here would not read back).
            let name = if index == 0 { "" } else { name };
            let data = sh
                .data(e, bytes)
                .map_err(|err| bad(err.to_string(), name))?;
            sections.push(Section {
                index,
                name,
                sh_type: sh.sh_type(e),
                flags: sh.sh_flags(e),
                align: sh.sh_addralign(e),
                info: sh.sh_info(e),
                link: sh.sh_link(e),
                size: sh.sh_size(e),
                data,
            });
        }
        let symtab = file.elf_symbol_table();
        let strings = symtab.strings();
        let mut symbols = Vec::with_capacity(symtab.len());
        for (index, sym) in symtab.iter().enumerate() {
            let name = sym
                .name(e, strings)
                .ok()
                .and_then(|n| std::str::from_utf8(n).ok())
                .ok_or_else(|| ElfError::BadSymbol {
                    index,
                    reason: "name is not a valid utf-8 string of the string table".into(),
                })?;
            let kind = match sym.st_type() {
                elf::STT_NOTYPE => SymbolKind::NoType,
                elf::STT_OBJECT => SymbolKind::Object,
                elf::STT_FUNC => SymbolKind::Func,
                elf::STT_SECTION => SymbolKind::Section,
                t => SymbolKind::Other(t),
            };
            let binding = match sym.st_bind() {
                elf::STB_LOCAL => Binding::Local,
                elf::STB_GLOBAL => Binding::Global,
                elf::STB_WEAK => Binding::Weak,
                b => Binding::Other(b),
            };
            let shndx = sym.st_shndx(e);
            let section = match shndx {
                elf::SHN_UNDEF | elf::SHN_ABS | elf::SHN_COMMON => None,
                elf::SHN_XINDEX => Some(
                    symtab
                        .shndx(e, object::SymbolIndex(index))
                        .map(|i| i as usize)
                        .ok_or_else(|| ElfError::BadSymbol {
                            index,
                            reason: "extended section index missing".into(),
                        })?,
                ),
                i => Some(i as usize),
            };
            if section.is_some_and(|i| i >= sections.len()) {
                return Err(ElfError::BadSymbol {
                    index,
                    reason: format!("section index {shndx} is out of range"),
                });
            }
            symbols.push(Symbol {
                index,
                name,
                kind,
                binding,
                section,
                value: sym.st_value(e),
                size: sym.st_size(e),
                hidden: matches!(sym.st_other() & 3, elf::STV_HIDDEN | elf::STV_INTERNAL),
            });
        }
        Ok(ElfObject {
            endian,
            sections,
            symbols,
        })
    }

    /// The relocations that apply to section `index`, from every `SHT_REL` / `SHT_RELA`
    /// section whose `sh_info` names it, in file order.
    pub fn relocations(&self, index: usize) -> Result<Vec<Relocation>, ElfError> {
        let mut out = Vec::new();
        for rel in &self.sections {
            let entry = match rel.sh_type {
                elf::SHT_REL => 16,
                elf::SHT_RELA => 24,
                _ => continue,
            };
            if rel.info as usize != index {
                continue;
            }
            let bad = |reason: String| ElfError::BadSection {
                index: rel.index,
                name: rel.name.to_string(),
                reason,
            };
            if rel.data.len() % entry != 0 {
                return Err(bad(format!(
                    "size {} is not a multiple of the {entry}-byte entry",
                    rel.data.len()
                )));
            }
            out.reserve(rel.data.len() / entry);
            for (i, chunk) in rel.data.chunks_exact(entry).enumerate() {
                let offset = self.endian.read_u64(chunk, 0).unwrap_or(0);
                let info = self.endian.read_u64(chunk, 8).unwrap_or(0);
                let addend = if entry == 24 {
                    self.endian.read_u64(chunk, 16).unwrap_or(0) as i64
                } else {
                    0
                };
                let symbol = (info >> 32) as usize;
                if symbol >= self.symbols.len() {
                    return Err(bad(format!(
                        "entry {i} names symbol {symbol}, but there are {} symbols",
                        self.symbols.len()
                    )));
                }
                out.push(Relocation {
                    offset,
                    symbol,
                    r_type: info as u32,
                    addend,
                });
            }
        }
        Ok(out)
    }

    /// The symbol table, in order (index 0 is the null symbol).
    pub fn symbols(&self) -> &[Symbol<'a>] {
        &self.symbols
    }

    /// The byte ranges of the functions of executable section `section`, with their names,
    /// ordered by offset: from each function symbol's value, `st_size` bytes long (or up to
    /// the next function when the size is 0). Bytes between the ranges are alignment padding,
    /// not instructions. A section without function symbols is one unnamed range.
    pub fn code_ranges(&self, section: &Section<'a>) -> Vec<(&'a str, std::ops::Range<usize>)> {
        let funcs = self.functions_in(section.index);
        if funcs.is_empty() {
            return vec![("", 0..section.data.len())];
        }
        let mut out = Vec::with_capacity(funcs.len());
        for (i, f) in funcs.iter().enumerate() {
            let start = usize::try_from(f.value).unwrap_or(usize::MAX);
            let end = match f.size {
                0 => funcs.get(i + 1).map_or(section.data.len(), |n| {
                    usize::try_from(n.value).unwrap_or(usize::MAX)
                }),
                size => start.saturating_add(usize::try_from(size).unwrap_or(usize::MAX)),
            };
            out.push((f.name, start..end));
        }
        out
    }

    /// The function symbols defined in section `index`, ordered by offset.
    pub fn functions_in(&self, index: usize) -> Vec<&Symbol<'a>> {
        let mut funcs: Vec<&Symbol<'a>> = self
            .symbols
            .iter()
            .filter(|s| s.section == Some(index) && s.kind == SymbolKind::Func)
            .collect();
        funcs.sort_by_key(|s| s.value);
        funcs
    }

    /// The object's byte order.
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// All sections, in header-table order (index 0 is the null section).
    pub fn sections(&self) -> &[Section<'a>] {
        &self.sections
    }

    /// The first section named `name`, never the null section (index 0).
    pub fn section(&self, name: &str) -> Option<&Section<'a>> {
        self.sections.iter().skip(1).find(|s| s.name == name)
    }

    /// The sections that hold instructions.
    pub fn executable_sections(&self) -> impl Iterator<Item = &Section<'a>> {
        self.sections.iter().filter(|s| s.is_executable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(name: &str, flags: u32) -> Section<'_> {
        Section {
            index: 1,
            name,
            sh_type: elf::SHT_PROGBITS,
            flags: u64::from(flags),
            align: 8,
            info: 0,
            link: 0,
            size: 0,
            data: &[],
        }
    }

    #[test]
    fn sections_known_by_name_are_never_code() {
        let exec = elf::SHF_ALLOC | elf::SHF_EXECINSTR;
        assert!(section("xdp", exec).is_executable());
        assert!(section(".text", exec).is_executable());
        assert!(!section("xdp", elf::SHF_ALLOC).is_executable());
        for name in NAMED_NOT_CODE {
            assert!(!section(name, exec).is_executable(), "{name}");
        }
    }
}
