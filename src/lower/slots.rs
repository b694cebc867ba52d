//! The slot table of one program being lowered: the instruction slot of every instruction
//! and the first slot of every function, in dense vectors indexed by the ids' arena index.
//!
//! Lowering reads a slot for every jump target and callee; at a million instructions a hash
//! or a map of `Option<u64>` no longer fits in cache, so the table is one `u32` per
//! instruction of the module (4 bytes, allocated zeroed: an instruction outside the program
//! costs an untouched page at most) holding `slot + 1`, 0 meaning "not laid out".
//!
//! Functions are laid out one at a time, in the order lowering places them, each right
//! after it is verified and before it is emitted (so its body is walked while in cache).
//!
//! Invariants: every slot is below the limit given to [`Slots::new`] (at most
//! [`MAX_SLOTS`](super::MAX_SLOTS): laying out stops as soon as the program is larger), so
//! `slot + 1` fits a `u32`.
//!
//! Costs: O(1) per instruction laid out, and `4 * (instructions + functions of the module)`
//! bytes.

use crate::ir::{FuncId, InsnId, Module};

/// The program has more slots than the limit given to [`Slots::new`].
#[derive(Debug)]
pub(super) struct TooManySlots;

/// Slots of the instructions and functions of one program.
pub(super) struct Slots {
    /// `slot + 1` of each instruction by [`InsnId::index`]; 0: not laid out.
    insns: Vec<u32>,
    /// `first slot + 1` of each function by [`FuncId::index`]; 0: not laid out or empty.
    starts: Vec<u32>,
    /// The next free slot.
    next: usize,
    /// The most slots the program may take.
    max_slots: usize,
}

impl Slots {
    /// An empty layout for a program of `module` of at most `max_slots` slots (at most
    /// [`MAX_SLOTS`](super::MAX_SLOTS)).
    pub(super) fn new(module: &Module, max_slots: usize) -> Slots {
        Slots {
            insns: vec![0; module.n_insns()],
            starts: vec![0; module.functions().len()],
            next: 0,
            max_slots: max_slots.min(super::MAX_SLOTS),
        }
    }

    /// Lays out the body of `f` after what is laid out, refusing to pass the limit, and
    /// appends its instructions to `ids`; returns how many of them have a source line and
    /// how many a CO-RE relocation (so the caller can make room for their records).
    pub(super) fn lay_out(
        &mut self,
        module: &Module,
        f: FuncId,
        ids: &mut Vec<InsnId>,
    ) -> Result<(usize, usize), TooManySlots> {
        let mut first = true;
        let (mut lines, mut core) = (0, 0);
        for id in module.func_insns(f) {
            if self.next >= self.max_slots {
                return Err(TooManySlots);
            }
            // `next < max_slots <= MAX_SLOTS`: the `+ 1` cannot overflow.
            let at = self.next as u32 + 1;
            if first {
                if let Some(s) = self.starts.get_mut(f.index()) {
                    *s = at;
                }
                first = false;
            }
            // Every id a verified body yields is the module's.
            if let Some(s) = self.insns.get_mut(id.index()) {
                *s = at;
            }
            ids.push(id);
            lines += usize::from(module.line_of(id).is_some());
            core += usize::from(module.core_of(id).is_some());
            self.next += module.insn(id).n_slots();
        }
        if self.next > self.max_slots {
            return Err(TooManySlots);
        }
        Ok((lines, core))
    }

    /// The slot of instruction `id`, if it was laid out.
    pub(super) fn slot(&self, id: InsnId) -> Option<u32> {
        match self.insns.get(id.index()) {
            Some(&s) if s != 0 => Some(s - 1),
            _ => None,
        }
    }

    /// The first slot of `func`, if it was laid out and has instructions.
    pub(super) fn start(&self, func: FuncId) -> Option<u32> {
        match self.starts.get(func.index()) {
            Some(&s) if s != 0 => Some(s - 1),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::build::{exit, ld_imm64, mov64_imm};
    use crate::insn::Reg;
    use crate::ir::{Function, Meta};
    use crate::Endian;

    /// `f` (mov, ld_imm64, exit: 4 slots), an empty `e`, `g` (exit: 1 slot).
    fn module() -> (Module, [FuncId; 3], Vec<InsnId>) {
        let mut m = Module::new(Endian::Little);
        let f = m.add_function(Function::new("f", "socket", true));
        let e = m.add_function(Function::new("e", ".text", false));
        let g = m.add_function(Function::new("g", ".text", false));
        let mut ids = Vec::new();
        for insn in [mov64_imm(Reg::R0, 0), ld_imm64(Reg::R1, 7), exit()] {
            ids.push(m.append(f, insn, Meta::default()).unwrap());
        }
        ids.push(m.append(g, exit(), Meta::default()).unwrap());
        (m, [f, e, g], ids)
    }

    /// `funcs` laid out in order, or the error.
    fn of(m: &Module, funcs: &[FuncId], max: usize) -> Result<Slots, TooManySlots> {
        let mut s = Slots::new(m, max);
        let mut ids = Vec::new();
        for &f in funcs {
            s.lay_out(m, f, &mut ids)?;
        }
        // The layout lists the bodies, in order.
        let bodies: Vec<InsnId> = funcs.iter().flat_map(|&f| m.func_insns(f)).collect();
        assert_eq!(ids, bodies);
        Ok(s)
    }

    #[test]
    fn slots_count_two_for_ld_imm64_and_functions_follow_in_order() {
        let (m, [f, e, g], ids) = module();
        let s = of(&m, &[f, e, g], 5).unwrap();
        let slots: Vec<_> = ids.iter().map(|&i| s.slot(i)).collect();
        assert_eq!(slots, [Some(0), Some(1), Some(3), Some(4)]);
        assert_eq!(
            (s.start(f), s.start(e), s.start(g)),
            (Some(0), None, Some(4))
        );
        // Laid out in another order, g comes first.
        let s = of(&m, &[g, f], 5).unwrap();
        assert_eq!(
            (s.start(g), s.start(f), s.slot(ids[2])),
            (Some(0), Some(1), Some(4))
        );
        // What was not laid out has no slot.
        let s = of(&m, &[g], 5).unwrap();
        assert_eq!((s.slot(ids[0]), s.start(f)), (None, None));
    }

    #[test]
    fn the_limit_is_checked_in_slots_and_an_ld_imm64_cannot_straddle_it() {
        let (m, [f, _, g], _) = module();
        assert!(of(&m, &[f, g], 5).is_ok());
        assert!(of(&m, &[f, g], 4).is_err());
        assert!(of(&m, &[f], 4).is_ok());
        // h ends with an ld_imm64 in slots 1 and 2: a limit of 2 refuses it.
        let mut m = Module::new(Endian::Little);
        let h = m.add_function(Function::new("h", "socket", true));
        for insn in [mov64_imm(Reg::R0, 0), ld_imm64(Reg::R1, 7)] {
            m.append(h, insn, Meta::default()).unwrap();
        }
        assert!(of(&m, &[h], 3).is_ok());
        assert!(of(&m, &[h], 2).is_err());
    }
}
