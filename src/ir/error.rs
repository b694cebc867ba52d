//! Errors of the IR layer: edits that do not fit the module's current shape, and ids the
//! module does not have.
//!
//! Ids print the way the dump prints them ([`AnyEntity`]'s `Display`: `i12`, `f3`, `m0`).

use super::{AnyEntity, FuncId, InsnId};

/// An edit that cannot be applied, or an id that names nothing in the module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IrError {
    /// The id is past the end of the module's entities of its kind (dangling; or, in
    /// release builds, taken from a bigger module).
    #[error("{entity} does not exist in this module")]
    NoSuchEntity {
        /// The id.
        entity: AnyEntity,
    },
    /// The id was made by another module (caught in debug builds only: see
    /// [`Id`](super::Id)).
    #[error("{entity} belongs to another module")]
    ForeignEntity {
        /// The id.
        entity: AnyEntity,
    },
    /// A new entity's BTF could not be built.
    #[error("{what}: {source}")]
    Btf {
        /// What was being built.
        what: String,
        /// The BTF error.
        source: crate::btf::BtfError,
    },
    /// A definition asked for does not make sense.
    #[error("{what}: {reason}")]
    Invalid {
        /// What was being defined.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The instruction is not in any function (removed, or never attached).
    #[error("instruction {} is not in a function", AnyEntity::Insn(*insn))]
    Detached {
        /// The instruction.
        insn: InsnId,
    },
    /// The instruction is already in a function; detach it first.
    #[error("instruction {} is already in function {}", AnyEntity::Insn(*insn), AnyEntity::Func(*func))]
    Attached {
        /// The instruction.
        insn: InsnId,
        /// Its function.
        func: FuncId,
    },
    /// The instruction is in another function than the one the operation works on.
    #[error(
        "instruction {} is in function {}, not {}",
        AnyEntity::Insn(*insn),
        AnyEntity::Func(*func),
        AnyEntity::Func(*expected)
    )]
    OtherFunction {
        /// The instruction.
        insn: InsnId,
        /// Its function.
        func: FuncId,
        /// The function the operation works on.
        expected: FuncId,
    },
    /// A range's ends are in different functions or out of order.
    #[error(
        "instructions {}..={} are not a range of one function",
        AnyEntity::Insn(*first),
        AnyEntity::Insn(*last)
    )]
    BadRange {
        /// First instruction.
        first: InsnId,
        /// Last instruction.
        last: InsnId,
    },
    /// The destination lies inside the range being moved.
    #[error(
        "cannot move instructions {}..={} to a position inside themselves",
        AnyEntity::Insn(*first),
        AnyEntity::Insn(*last)
    )]
    MoveIntoItself {
        /// First instruction.
        first: InsnId,
        /// Last instruction.
        last: InsnId,
    },
    /// The instruction is not what the edit needs.
    #[error("instruction {} is not {expected}", AnyEntity::Insn(*insn))]
    WrongInsn {
        /// The instruction.
        insn: InsnId,
        /// What the edit needs.
        expected: &'static str,
    },
    /// A function's body cannot be appended to itself.
    #[error("cannot append function {} to itself", AnyEntity::Func(*func))]
    SameFunction {
        /// The function.
        func: FuncId,
    },
}
