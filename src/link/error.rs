//! Errors of the static linker. Inputs are named as
//! [`LinkOptions::input_names`](super::LinkOptions::input_names) says, or `input N`
//! (0-based) when it has no name.

use crate::btf::BtfError;

/// Why a set of modules cannot be linked into one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// Building the linked module failed (an id the linker made is not the module's: a bug).
    #[error("building the linked module: {0}")]
    Ir(#[from] crate::ir::IrError),
    /// An input does not verify (see [`crate::verify`]).
    #[error("{input}: {errors}")]
    Verify {
        /// The input.
        input: String,
        /// What the verifier found.
        errors: crate::verify::VerifierErrors,
    },
    /// There is nothing to link.
    #[error("no input modules to link")]
    NoInputs,
    /// The inputs do not all have the same byte order.
    #[error("{input} is {found:?}-endian but {first} is {expected:?}-endian")]
    MixedEndian {
        /// The first input.
        first: String,
        /// Its byte order.
        expected: crate::Endian,
        /// The input that differs.
        input: String,
        /// Its byte order.
        found: crate::Endian,
    },
    /// Two inputs define the same global symbol and neither definition is weak.
    #[error("symbol {name} is defined (non-weak) in both {first} and {second}")]
    DuplicateSymbol {
        /// Symbol name.
        name: String,
        /// The input of the first strong definition.
        first: String,
        /// The input of the second.
        second: String,
    },
    /// One name is a different kind of thing in two inputs (a function here, a map there).
    #[error("symbol {name} is a {first_kind} in {first} but a {second_kind} in {second}")]
    KindMismatch {
        /// Symbol name.
        name: String,
        /// The first input.
        first: String,
        /// What it is there.
        first_kind: &'static str,
        /// The second input.
        second: String,
        /// What it is there.
        second_kind: &'static str,
    },
    /// A map defined in two inputs has incompatible definitions.
    #[error("map {name} is defined differently in {first} and {second}: {reason}")]
    MapMismatch {
        /// Map name.
        name: String,
        /// The first input.
        first: String,
        /// The second input.
        second: String,
        /// What differs.
        reason: String,
    },
    /// A variable defined in two inputs has different sizes.
    #[error("variable {name} has {first_size} bytes in {first} but {second_size} in {second}")]
    VarMismatch {
        /// Variable name.
        name: String,
        /// The first input.
        first: String,
        /// Its size there.
        first_size: u32,
        /// The second input.
        second: String,
        /// Its size there.
        second_size: u32,
    },
    /// Two same-named data sections hold different kinds of data.
    #[error("data section {section} is {first_kind:?} in {first} but {second_kind:?} in {second}")]
    DataKindMismatch {
        /// Section name.
        section: String,
        /// The first input.
        first: String,
        /// Its kind there.
        first_kind: crate::ir::DataKind,
        /// The second input.
        second: String,
        /// Its kind there.
        second_kind: crate::ir::DataKind,
    },
    /// A section name is a data section in one input and a code section in another: one
    /// ELF section cannot be both (libbpf's linker refuses sections whose flags differ).
    #[error("section {section} holds data in {data} but code in {code}")]
    DataCodeClash {
        /// Section name.
        section: String,
        /// The first input where it holds data.
        data: String,
        /// The first input where it holds functions.
        code: String,
    },
    /// A data section grows past 4 GiB, or the bss sections past
    /// [`DataSection::MAX_SIZE`](crate::ir::DataSection::MAX_SIZE) together.
    #[error("data section {section} grows too large when {input} is appended (4 GiB a section, 256 MiB of bss in all)")]
    DataTooLarge {
        /// Section name.
        section: String,
        /// The input being appended.
        input: String,
    },
    /// Two inputs use (or declare in their BTF) an extern of one name as different things
    /// (a kernel variable and a function, say): the output can hold one undefined symbol of
    /// that name.
    #[error(
        "{second} uses extern {name} as a {second_kind:?}, an input or its BTF as a {first_kind:?}"
    )]
    ExternKindMismatch {
        /// Symbol name.
        name: String,
        /// What the earlier input's extern is.
        first_kind: crate::ir::ExternKind,
        /// The input with the other kind.
        second: String,
        /// What it is there.
        second_kind: crate::ir::ExternKind,
    },
    /// An extern that no input defines (and the link is not partial).
    #[error("{input} uses {name}, which no input defines")]
    Unresolved {
        /// Symbol name.
        name: String,
        /// The input that uses it.
        input: String,
    },
    /// An instruction's reference cannot be carried into the output.
    #[error("{input}, function {function}, instruction {index}: {reason}")]
    BadReference {
        /// The input.
        input: String,
        /// The function.
        function: String,
        /// Position of the instruction in the function.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// An input's BTF cannot be merged into the output's.
    #[error("btf of {input}: {source}")]
    Btf {
        /// The input.
        input: String,
        /// The BTF error.
        source: BtfError,
    },
}
