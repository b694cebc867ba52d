//! Errors writing a [`Module`](crate::ir::Module) back out as an ELF object. Every variant
//! names what cannot be written: the function and instruction, the map, the data section.

use crate::btf::BtfError;

/// Why a module cannot be written as an ELF object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The IR verifier found broken invariants (a jump to a removed instruction, a data
    /// offset outside its section, ...); each error names its function and instruction.
    #[error("{0}")]
    Verify(#[from] crate::verify::VerifierErrors),
    /// A function cannot be laid out (it has no instructions, or its section is too big).
    #[error("function {function} in section {section}: {reason}")]
    BadFunction {
        /// The function.
        function: String,
        /// Its ELF section.
        section: String,
        /// What is wrong.
        reason: String,
    },
    /// An instruction's reference cannot be expressed in the object.
    #[error("function {function} instruction {index} ({insn}): {reason}")]
    BadInsn {
        /// The function holding the instruction.
        function: String,
        /// Position of the instruction in its function.
        index: usize,
        /// The instruction, disassembled.
        insn: String,
        /// What is wrong.
        reason: String,
    },
    /// A map definition cannot be written.
    #[error("map {map} in section {section}: {reason}")]
    BadMap {
        /// The map's name.
        map: String,
        /// `maps` or `.maps`.
        section: String,
        /// What is wrong.
        reason: String,
    },
    /// A data section cannot be written.
    #[error("data section {section}: {reason}")]
    BadData {
        /// The section's name.
        section: String,
        /// What is wrong.
        reason: String,
    },
    /// The module's BTF cannot take what the object needs (a section name string, a
    /// `DATASEC` size).
    #[error(".BTF: {0}")]
    Btf(#[from] BtfError),
    /// The ELF writer refused the object.
    #[error("elf writer: {reason}")]
    Elf {
        /// What the `object` crate reported.
        reason: String,
    },
}
