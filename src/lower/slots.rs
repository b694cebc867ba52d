//! The slot table of one program being lowered: the instruction slot of every instruction
//! and the first slot of every function, in dense vectors indexed by the ids' arena index.
//!
//! Lowering reads a slot for every jump target and callee; at a million instructions a hash
//! or a map of `Option<u64>` no longer fits in cache, so the table is one `u32` per
//! instruction of the module (4 bytes, allocated zeroed: an instruction outside the program
//! costs an untouched page at most) holding `slot + 1`, 0 meaning "not laid out". The same
//! walk counts the line and CO-RE records the program will get, so lowering sizes its
//! output vectors once.
//!
//! Invariants: built from one immutable [`Module`] and one function order; every slot is
//! below [`MAX_SLOTS`](super::MAX_SLOTS) (the walk stops as soon as the program is larger),
//! so `slot + 1` fits a `u32`.
//!
//! Costs: one walk over the bodies of the program's functions, O(1) per instruction, and
//! `4 * (instructions + functions of the module)` bytes.

use crate::ir::{FuncId, InsnId, Module};

/// The index of instruction `id` in the module's instruction arena: what the dense
/// per-instruction tables of lowering are indexed by. The one place lowering turns an
/// instruction id into a number.
fn insn_index(id: InsnId) -> usize {
    u32::from(id.into_raw()) as usize
}

/// The index of function `func` in the module's function arena.
fn func_index(func: FuncId) -> usize {
    u32::from(func.into_raw()) as usize
}

/// The program is larger than the limit: the slots laid out when the walk stopped.
pub(super) struct TooManySlots;

/// Slots of the instructions and functions of one program.
pub(super) struct Slots {
    /// `slot + 1` of each instruction by [`insn_index`]; 0: not laid out.
    insns: Vec<u32>,
    /// `first slot + 1` of each function by [`func_index`]; 0: not laid out or empty.
    starts: Vec<u32>,
    /// Number of instructions laid out (`ld_imm64` counts once).
    pub(super) n_insns: usize,
    /// Instructions laid out that have a source line.
    pub(super) n_lines: usize,
    /// Instructions laid out that have a CO-RE relocation.
    pub(super) n_core: usize,
}

impl Slots {
    /// Lays out `funcs` one after the other, in that order, refusing more than `max_slots`.
    pub(super) fn of(
        module: &Module,
        funcs: &[FuncId],
        max_slots: usize,
    ) -> Result<Slots, TooManySlots> {
        let mut slots = Slots {
            insns: vec![0; module.n_insns()],
            starts: vec![0; module.functions().len()],
            n_insns: 0,
            n_lines: 0,
            n_core: 0,
        };
        let mut next = 0usize;
        for &f in funcs {
            let mut first = true;
            for id in module.func_insns(f) {
                if next >= max_slots {
                    return Err(TooManySlots);
                }
                // `next < max_slots <= u32::MAX - 1`: the `+ 1` cannot overflow.
                let at = next as u32 + 1;
                if first {
                    if let Some(s) = slots.starts.get_mut(func_index(f)) {
                        *s = at;
                    }
                    first = false;
                }
                // Every id a verified body yields is the module's.
                if let Some(s) = slots.insns.get_mut(insn_index(id)) {
                    *s = at;
                }
                slots.n_insns += 1;
                slots.n_lines += usize::from(module.line_of(id).is_some());
                slots.n_core += usize::from(module.core_of(id).is_some());
                next += module.insn(id).n_slots();
            }
        }
        if next > max_slots {
            return Err(TooManySlots);
        }
        Ok(slots)
    }

    /// The slot of instruction `id`, if it was laid out.
    pub(super) fn slot(&self, id: InsnId) -> Option<u32> {
        match self.insns.get(insn_index(id)) {
            Some(&s) if s != 0 => Some(s - 1),
            _ => None,
        }
    }

    /// The first slot of `func`, if it was laid out and has instructions.
    pub(super) fn start(&self, func: FuncId) -> Option<u32> {
        match self.starts.get(func_index(func)) {
            Some(&s) if s != 0 => Some(s - 1),
            _ => None,
        }
    }
}
