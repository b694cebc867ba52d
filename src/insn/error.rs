//! Errors of the instruction codec.
//!
//! Every variant names the byte offset of the offending instruction within the buffer that
//! was decoded (for [`crate::insn::decode_all`], from the start of that buffer), and what was
//! expected there.

/// Why bytes are not a valid eBPF instruction.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InsnError {
    /// The buffer ends inside an instruction.
    #[error("instruction at byte {offset} is truncated: needs {needed} bytes, {available} left")]
    Truncated {
        /// Byte offset of the instruction.
        offset: usize,
        /// Bytes the instruction needs (8, or 16 for `ld_imm64`).
        needed: usize,
        /// Bytes present from `offset` on.
        available: usize,
    },
    /// The opcode byte names no instruction of the ISA.
    #[error("unknown opcode {code:#04x} at byte {offset}")]
    UnknownOpcode {
        /// Byte offset of the instruction.
        offset: usize,
        /// The opcode byte.
        code: u8,
    },
    /// A register nibble is above 10.
    #[error(
        "invalid {field} register {reg} in opcode {code:#04x} at byte {offset}: expected 0..=10"
    )]
    InvalidRegister {
        /// Byte offset of the instruction.
        offset: usize,
        /// The opcode byte.
        code: u8,
        /// `"dst"` or `"src"`.
        field: &'static str,
        /// The nibble found.
        reg: u8,
    },
    /// A field the kernel requires to be zero (or to hold one of a few values) holds
    /// something else.
    #[error("reserved field {field} = {value} in opcode {code:#04x} at byte {offset}: expected {expected}")]
    ReservedField {
        /// Byte offset of the instruction.
        offset: usize,
        /// The opcode byte.
        code: u8,
        /// Field name: `dst_reg`, `src_reg`, `off`, `imm`, or `second slot …` for `ld_imm64`.
        field: &'static str,
        /// The value found.
        value: i64,
        /// What the kernel accepts there.
        expected: &'static str,
    },
    /// The buffer length is not a multiple of the 8-byte slot.
    #[error("instruction buffer of {len} bytes is not a multiple of 8: {trailing} trailing bytes at byte {offset}")]
    UnalignedLength {
        /// Byte offset of the trailing partial slot.
        offset: usize,
        /// Total buffer length.
        len: usize,
        /// Bytes after the last whole slot.
        trailing: usize,
    },
}

impl InsnError {
    /// Byte offset of the offending instruction.
    pub fn offset(&self) -> usize {
        match *self {
            InsnError::Truncated { offset, .. }
            | InsnError::UnknownOpcode { offset, .. }
            | InsnError::InvalidRegister { offset, .. }
            | InsnError::ReservedField { offset, .. }
            | InsnError::UnalignedLength { offset, .. } => offset,
        }
    }
}
