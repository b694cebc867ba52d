//! Errors of the CO-RE layer. Every error names the relocation it belongs to: its index in
//! relocation order, the instruction that carries it, its kind, the local type's name and
//! the access string (see [`ReloContext`]).

use std::fmt;

use crate::btf::BtfError;
use crate::btf_ext::CoreReloKind;
use crate::ir::InsnId;

/// Which relocation an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloContext {
    /// Index of the relocation in relocation order (the order of the module's records).
    pub relo: usize,
    /// The instruction that carries it.
    pub insn: InsnId,
    /// What it computes.
    pub kind: CoreReloKind,
    /// The local type's name (`<anon>` for an anonymous type, `[id]` when the id is bad).
    pub type_name: String,
    /// The access string.
    pub access: String,
}

impl fmt::Display for ReloContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "co-re relocation #{} ({} of '{}', access \"{}\") at {}",
            self.relo,
            self.kind,
            self.type_name,
            self.access,
            crate::ir::AnyEntity::Insn(self.insn)
        )
    }
}

/// A CO-RE relocation that cannot be computed or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoReError {
    /// The module has CO-RE relocations but no BTF to read their local types from.
    #[error("module has {n_relos} co-re relocations but no btf")]
    NoBtf {
        /// How many relocation records the module holds.
        n_relos: usize,
    },
    /// A BTF lookup failed (a malformed local or target BTF).
    #[error("{ctx}: {source}")]
    Btf {
        /// The relocation.
        ctx: Box<ReloContext>,
        /// The BTF error.
        source: BtfError,
    },
    /// The local type cannot start this relocation (anonymous, or the wrong kind).
    #[error("{ctx}: local type cannot be relocated: {reason}")]
    BadLocalType {
        /// The relocation.
        ctx: Box<ReloContext>,
        /// What is wrong.
        reason: String,
    },
    /// The access string does not walk the local type.
    #[error("{ctx}: access component {component} is invalid: {reason}")]
    BadAccess {
        /// The relocation.
        ctx: Box<ReloContext>,
        /// Index of the offending component.
        component: usize,
        /// What is wrong.
        reason: String,
    },
    /// The relocation kind cannot be computed for this access (e.g. a bitfield shift of an
    /// array element, or a bitfield no 64-bit load can hold).
    #[error("{ctx}: {reason}")]
    Unsupported {
        /// The relocation.
        ctx: Box<ReloContext>,
        /// Why.
        reason: String,
    },
    /// Several target candidates match but give different results.
    #[error("{ctx}: ambiguous {what} between candidates {}", candidates.join(", "))]
    Ambiguous {
        /// The relocation.
        ctx: Box<ReloContext>,
        /// What differs (`field offset` or `value`).
        what: &'static str,
        /// The disagreeing candidates, as `target:name[id]=value`.
        candidates: Vec<String>,
    },
    /// The instruction is not one a relocation can patch.
    #[error("{ctx}: cannot patch {found}, expected {expected}")]
    UnexpectedInsn {
        /// The relocation.
        ctx: Box<ReloContext>,
        /// The instruction, disassembled.
        found: String,
        /// What a relocation of this kind patches.
        expected: &'static str,
    },
    /// The instruction's value is not what the local BTF says the compiler put there.
    #[error("{ctx}: instruction holds {found}, local btf gives {expected}")]
    ValueMismatch {
        /// The relocation.
        ctx: Box<ReloContext>,
        /// The value in the instruction.
        found: i64,
        /// The value computed from the local BTF.
        expected: u64,
    },
    /// The target value does not fit the instruction's field.
    #[error("{ctx}: target value {value} does not fit the {field} field")]
    ValueTooBig {
        /// The relocation.
        ctx: Box<ReloContext>,
        /// The target value.
        value: u64,
        /// `off` (16-bit) or `imm` (32-bit).
        field: &'static str,
    },
    /// A load or store whose size cannot follow the field's size change: the instruction
    /// does not access the local field's size, or the target's size is not 1, 2, 4 or 8.
    #[error("{ctx}: a load or store of {found} bytes cannot follow the field's size change ({expected} bytes)")]
    MemSizeMismatch {
        /// The relocation.
        ctx: Box<ReloContext>,
        /// Bytes the instruction accesses.
        found: u8,
        /// Bytes of the local field (when the access does not match it) or of the target
        /// field (when no load size fits it).
        expected: u64,
    },
}

impl CoReError {
    /// The relocation the error is about (`None` for [`CoReError::NoBtf`]).
    pub fn context(&self) -> Option<&ReloContext> {
        match self {
            CoReError::NoBtf { .. } => None,
            CoReError::Btf { ctx, .. }
            | CoReError::BadLocalType { ctx, .. }
            | CoReError::BadAccess { ctx, .. }
            | CoReError::Unsupported { ctx, .. }
            | CoReError::Ambiguous { ctx, .. }
            | CoReError::UnexpectedInsn { ctx, .. }
            | CoReError::ValueMismatch { ctx, .. }
            | CoReError::ValueTooBig { ctx, .. }
            | CoReError::MemSizeMismatch { ctx, .. } => Some(ctx),
        }
    }
}
