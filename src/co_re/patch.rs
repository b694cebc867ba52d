//! Applying a computed relocation to its instruction, or poisoning the instruction.
//!
//! What a relocation patches depends on the instruction, as in the kernel's
//! `bpf_core_patch_insn`: the immediate of an ALU/ALU64 instruction with a constant
//! operand; the `off` of a load, store or atomic (and, for a plain field whose size
//! changes, the access size — allowed only for unsigned ints and pointers, since zero
//! extension keeps their value); the 64-bit immediate of a plain `ld_imm64`. Before patching,
//! the instruction must hold the local value (unless the relocation kind says the compiler's
//! value may differ).
//!
//! Poisoning replaces the instruction with `call 0xbad2310` (helper 195896080, which does
//! not exist), so the verifier refuses the program only if the instruction is reachable
//! (`invalid func unknown#195896080`). An `ld_imm64` fills two slots; as libbpf does, both
//! become such calls (the instruction is replaced and a second call inserted after it), so
//! the program keeps its length and no slot is left as an unknown opcode.

use crate::insn::{CallKind, Insn, Operand, PseudoKind, Size};
use crate::ir::{InsnId, Module};

use super::calc::Resolution;

/// The helper id a poisoned instruction calls: `0xbad2310`, "bad relo".
pub const POISON_HELPER: i32 = 0x0bad_2310;

/// The instruction a poisoned relocation leaves behind.
pub const POISON_INSN: Insn = Insn::Call {
    kind: CallKind::Helper,
    imm: POISON_HELPER,
    off: 0,
};

/// Why an instruction could not be patched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PatchFail {
    Unexpected {
        found: String,
        expected: &'static str,
    },
    Mismatch {
        found: i64,
        expected: u64,
    },
    TooBig {
        value: u64,
        field: &'static str,
    },
    MemSize {
        found: u8,
        expected: u64,
    },
}

/// What patching did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Patched {
    Value(u64),
    Poisoned(String),
}

const EXPECTED: &str = "an alu immediate, a load, store or atomic, or a plain ld_imm64";

fn mem_off(insn: &mut Insn) -> Option<(&mut i16, &mut Size)> {
    match insn {
        Insn::Load { off, size, .. }
        | Insn::LoadSx { off, size, .. }
        | Insn::Store { off, size, .. }
        | Insn::StoreImm { off, size, .. }
        | Insn::Atomic { off, size, .. }
        | Insn::LoadAcquire { off, size, .. }
        | Insn::StoreRelease { off, size, .. } => Some((off, size)),
        _ => None,
    }
}

fn size_of_bytes(n: u64) -> Option<Size> {
    Some(match n {
        1 => Size::B,
        2 => Size::H,
        4 => Size::W,
        8 => Size::DW,
        _ => return None,
    })
}

/// Replaces `id` (and the second slot of an `ld_imm64`) with the poison call.
pub(crate) fn poison(module: &mut Module, id: InsnId, reason: String) -> Patched {
    let was_wide = matches!(module.insn(id), Insn::LdImm64 { .. });
    *module.insn_mut(id) = POISON_INSN;
    // `id` was found by walking the module's functions: clearing its reference cannot fail.
    let _ = module.set_reference(id, None);
    if was_wide {
        // Cannot fail: relocated instructions are attached (they were found by walking
        // the functions).
        let _ = module.insert_after(id, POISON_INSN, crate::ir::Meta::default());
    }
    Patched::Poisoned(reason)
}

/// Patches instruction `id` with `res`, or poisons it.
pub(crate) fn patch(
    module: &mut Module,
    id: InsnId,
    res: &Resolution,
) -> Result<Patched, PatchFail> {
    let new = match &res.target {
        Ok(v) => *v,
        Err(reason) => return Ok(poison(module, id, reason.clone())),
    };
    let mut insn = *module.insn(id);
    match &mut insn {
        Insn::Alu {
            src: Operand::Imm(imm),
            ..
        } => {
            let found = i64::from(*imm);
            if res.validate && found as u64 != res.local && u64::from(*imm as u32) != res.local {
                return Err(PatchFail::Mismatch {
                    found,
                    expected: res.local,
                });
            }
            let fits = new <= u64::from(u32::MAX) || (new as i64) >= i64::from(i32::MIN);
            if !fits {
                return Err(PatchFail::TooBig {
                    value: new,
                    field: "32-bit imm",
                });
            }
            *imm = new as i32;
        }
        Insn::LdImm64 {
            kind: PseudoKind::None,
            imm,
            ..
        } => {
            if res.validate && *imm as u64 != res.local {
                return Err(PatchFail::Mismatch {
                    found: *imm,
                    expected: res.local,
                });
            }
            *imm = new as i64;
        }
        other => {
            let Some((off, size)) = mem_off(other) else {
                return Err(PatchFail::Unexpected {
                    found: other.to_string(),
                    expected: EXPECTED,
                });
            };
            let found = i64::from(*off);
            if res.validate && found as u64 != res.local {
                return Err(PatchFail::Mismatch {
                    found,
                    expected: res.local,
                });
            }
            let new_off = i16::try_from(new).map_err(|_| PatchFail::TooBig {
                value: new,
                field: "16-bit off",
            })?;
            if res.bad_size_change {
                return Ok(poison(
                    module,
                    id,
                    format!(
                        "the field's size changes from {} to {} bytes and it is not an unsigned int or a pointer",
                        res.local_size, res.target_size
                    ),
                ));
            }
            *off = new_off;
            if res.local_size != res.target_size {
                if u64::from(size.bytes()) != res.local_size {
                    return Err(PatchFail::MemSize {
                        found: size.bytes(),
                        expected: res.local_size,
                    });
                }
                *size = size_of_bytes(res.target_size).ok_or(PatchFail::MemSize {
                    found: size.bytes(),
                    expected: res.target_size,
                })?;
            }
        }
    }
    *module.insn_mut(id) = insn;
    Ok(Patched::Value(new))
}
