//! Slot layout: the instruction slot of every instruction of a sequence of functions laid
//! out one after the other (an `ld_imm64` takes two slots). The writer lays out each code
//! section's functions in section order and reads slots from here; lowering keeps its own
//! dense `u32` tables sized for one program (`lower/slots.rs`).
//!
//! Costs: one walk over the bodies and one map entry per instruction. Stale after any edit
//! of a laid-out function's body (an insertion moves every later slot).

use crate::ir::{EntityMap, FuncId, InsnId, Module};

/// Slots of the instructions of the functions pushed so far.
#[derive(Clone, Debug, Default)]
pub struct SlotLayout {
    slots: EntityMap<InsnId, u64>,
    starts: EntityMap<FuncId, u64>,
    order: Vec<FuncId>,
    n_slots: u64,
}

impl SlotLayout {
    /// An empty layout.
    pub fn new() -> SlotLayout {
        SlotLayout::default()
    }

    /// The layout of `funcs`, in that order.
    pub fn of(module: &Module, funcs: &[FuncId]) -> SlotLayout {
        let mut l = SlotLayout::new();
        for &f in funcs {
            l.push(module, f);
        }
        l
    }

    /// Lays out `func` after the functions pushed so far. A function without instructions
    /// takes no slot and has no [`start`](Self::start).
    pub fn push(&mut self, module: &Module, func: FuncId) {
        self.order.push(func);
        for id in module.func_insns(func) {
            if !self.starts.contains_idx(func) {
                self.starts.insert(func, self.n_slots);
            }
            self.slots.insert(id, self.n_slots);
            self.n_slots += module.insn(id).n_slots() as u64;
        }
    }

    /// The slot of instruction `id`, if it was laid out.
    pub fn slot(&self, id: InsnId) -> Option<u64> {
        self.slots.get(id).copied()
    }

    /// The first slot of `func`, if it was laid out and has instructions.
    pub fn start(&self, func: FuncId) -> Option<u64> {
        self.starts.get(func).copied()
    }

    /// The functions laid out, in order.
    pub fn functions(&self) -> &[FuncId] {
        &self.order
    }

    /// Number of slots laid out.
    pub fn n_slots(&self) -> u64 {
        self.n_slots
    }
}
