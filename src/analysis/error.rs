//! Why an analysis cannot be computed: the function's control flow is not well formed.

/// An analysis error. Every variant names the function and the instruction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnalysisError {
    /// A jump without a target in the function.
    #[error("function {function} instruction {index} ({insn}): {reason}")]
    BadJump {
        /// The function.
        function: String,
        /// Position of the instruction in its function.
        index: usize,
        /// The instruction, disassembled.
        insn: String,
        /// What is wrong.
        reason: String,
    },
    /// The last instruction of the function falls through past its end.
    #[error("function {function}: the last instruction ({insn}) falls through past the end")]
    FallsOffEnd {
        /// The function.
        function: String,
        /// The last instruction, disassembled.
        insn: String,
    },
    /// An id the module does not have (a function of another module, say).
    #[error(transparent)]
    Ir(#[from] crate::ir::IrError),
}
