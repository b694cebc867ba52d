//! A refused program's verifier error, mapped back to the IR: the source line of the
//! instruction the verifier stopped at and, for an instruction a pass inserted, that pass.

use crate::ir::Module;
use crate::lower::{explain_log, ExplainedLog, KernelVerifierError};

use super::{LoadError, ProgramResult};

impl LoadError {
    /// The kernel's log of a refused request (the verifier log of a refused program), when
    /// there is one.
    pub fn kernel_log(&self) -> Option<&str> {
        match self {
            LoadError::Sys { source, .. } => Some(source.log()).filter(|l| !l.is_empty()),
            _ => None,
        }
    }
}

/// The verifier log of a program the kernel refused, rewritten with the provenance of every
/// instruction (see [`explain_log`]); `None` when the program loaded, did not get as far as
/// the verifier, or the kernel gave no log. `module` is the module that was loaded.
pub fn explain_refused(module: &Module, program: &ProgramResult) -> Option<ExplainedLog> {
    let log = program.result.as_ref().err()?.kernel_log()?;
    let lowered = program.lowered.as_ref()?;
    Some(explain_log(module, lowered, log))
}

/// The final error of a refused program, at its source line and origin.
pub fn refusal(module: &Module, program: &ProgramResult) -> Option<KernelVerifierError> {
    explain_refused(module, program)?.error
}
