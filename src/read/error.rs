//! Errors reading an ELF object into a [`Module`](crate::ir::Module). Every variant names
//! where: the ELF section and byte offset, the function, the symbol or the map.

use crate::btf::BtfError;
use crate::btf_ext::BtfExtError;
use crate::elf::ElfError;
use crate::insn::InsnError;

/// An error reading an object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The ELF container is malformed.
    #[error(transparent)]
    Elf(#[from] ElfError),
    /// The `.BTF` section is malformed.
    #[error(".BTF: {0}")]
    Btf(#[from] BtfError),
    /// Building the module failed (an id the reader made is not the module's: a bug).
    #[error("building the module: {0}")]
    Ir(#[from] crate::ir::IrError),
    /// The `.BTF.ext` section is malformed.
    #[error(".BTF.ext: {0}")]
    BtfExt(#[from] BtfExtError),
    /// An instruction does not decode.
    #[error("section {section} function {function}: {source}")]
    Insn {
        /// ELF section.
        section: String,
        /// Function being decoded.
        function: String,
        /// The decoder's error (its offset is relative to the function's start).
        source: InsnError,
    },
    /// A function symbol's range does not fit its section.
    #[error("section {section}: function {function} at [{start:#x}, {end:#x}) is outside the section of {size} bytes or not 8-byte aligned")]
    BadFunction {
        /// ELF section.
        section: String,
        /// Function symbol.
        function: String,
        /// Start byte offset.
        start: u64,
        /// End byte offset.
        end: u64,
        /// Section size.
        size: usize,
    },
    /// A relocation cannot be applied.
    #[error("section {section} offset {offset:#x}: relocation type {r_type} against symbol {symbol:?}: {reason}")]
    BadRelocation {
        /// ELF section the relocation applies to.
        section: String,
        /// Byte offset in that section.
        offset: u64,
        /// `R_BPF_*` type.
        r_type: u32,
        /// Symbol name (empty when unnamed or out of range).
        symbol: String,
        /// What is wrong.
        reason: String,
    },
    /// A jump or call target is not an instruction of the program.
    #[error("section {section} function {function} offset {offset:#x}: {reason}")]
    BadTarget {
        /// ELF section.
        section: String,
        /// Function holding the jump or call.
        function: String,
        /// Byte offset of the instruction in the section.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A `.BTF.ext` record does not match the code.
    #[error(".BTF.ext {subsection} record for section {section} offset {offset:#x}: {reason}")]
    BadExtRecord {
        /// `func_info`, `line_info` or `core_relo`.
        subsection: &'static str,
        /// ELF section named by the record.
        section: String,
        /// The record's byte offset.
        offset: u32,
        /// What is wrong.
        reason: String,
    },
    /// A map definition is malformed.
    #[error("map {map} in section {section}: {reason}")]
    BadMap {
        /// ELF section (`maps` or `.maps`).
        section: String,
        /// Map (symbol) name.
        map: String,
        /// What is wrong.
        reason: String,
    },
    /// Some other part of the object is malformed (license, version, data, externs).
    #[error("section {section}: {reason}")]
    BadSection {
        /// ELF section.
        section: String,
        /// What is wrong.
        reason: String,
    },
}
