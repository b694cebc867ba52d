//! The sections of a BPF ELF object, read with the `object` crate.
//!
//! This is the only module that names `object` types; the rest of the crate sees
//! [`ElfObject`] and [`Section`]. Reading checks that the file is a 64-bit ELF for the BPF
//! machine and takes the byte order from it. Section data is borrowed from the input bytes.

use object::read::elf::{ElfFile64, FileHeader, SectionHeader};
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
    /// `sh_size` (for `SHT_NOBITS`, the size in memory; the data is empty).
    pub size: u64,
    /// The section's bytes (empty for `SHT_NOBITS`).
    pub data: &'a [u8],
}

impl Section<'_> {
    /// True for sections holding instructions (`SHT_PROGBITS` with `SHF_EXECINSTR`).
    pub fn is_executable(&self) -> bool {
        self.sh_type == elf::SHT_PROGBITS && self.flags & u64::from(elf::SHF_EXECINSTR) != 0
    }
}

/// A parsed BPF ELF object: its byte order and sections.
#[derive(Debug)]
pub struct ElfObject<'a> {
    endian: Endian,
    sections: Vec<Section<'a>>,
}

impl<'a> ElfObject<'a> {
    /// Reads the section table of a BPF ELF object.
    pub fn parse(bytes: &'a [u8]) -> Result<ElfObject<'a>, ElfError> {
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
            let data = sh
                .data(e, bytes)
                .map_err(|err| bad(err.to_string(), name))?;
            sections.push(Section {
                index,
                name,
                sh_type: sh.sh_type(e),
                flags: sh.sh_flags(e),
                align: sh.sh_addralign(e),
                size: sh.sh_size(e),
                data,
            });
        }
        Ok(ElfObject { endian, sections })
    }

    /// The object's byte order.
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// All sections, in header-table order (index 0 is the null section).
    pub fn sections(&self) -> &[Section<'a>] {
        &self.sections
    }

    /// The first section named `name`.
    pub fn section(&self, name: &str) -> Option<&Section<'a>> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The sections that hold instructions.
    pub fn executable_sections(&self) -> impl Iterator<Item = &Section<'a>> {
        self.sections.iter().filter(|s| s.is_executable())
    }
}
