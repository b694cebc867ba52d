//! Errors of the IR layer: edits that do not fit the module's current shape.

use super::{FuncId, InsnId};

/// An edit that cannot be applied. Ids are printed as their raw index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IrError {
    /// The instruction is not in any function (removed, or never attached).
    #[error("instruction {insn:?} is not in a function")]
    Detached {
        /// The instruction.
        insn: InsnId,
    },
    /// The instruction is already in a function; detach it first.
    #[error("instruction {insn:?} is already in function {func:?}")]
    Attached {
        /// The instruction.
        insn: InsnId,
        /// Its function.
        func: FuncId,
    },
    /// A range's ends are in different functions or out of order.
    #[error("instructions {first:?}..={last:?} are not a range of one function")]
    BadRange {
        /// First instruction.
        first: InsnId,
        /// Last instruction.
        last: InsnId,
    },
    /// The destination lies inside the range being moved.
    #[error("cannot move instructions {first:?}..={last:?} to a position inside themselves")]
    MoveIntoItself {
        /// First instruction.
        first: InsnId,
        /// Last instruction.
        last: InsnId,
    },
    /// The instruction is not what the edit needs.
    #[error("instruction {insn:?} is not {expected}")]
    WrongInsn {
        /// The instruction.
        insn: InsnId,
        /// What the edit needs.
        expected: &'static str,
    },
    /// A function's body cannot be appended to itself.
    #[error("cannot append function {func:?} to itself")]
    SameFunction {
        /// The function.
        func: FuncId,
    },
}
