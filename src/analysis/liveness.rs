//! Register liveness: for every instruction of a function, the registers live on entry to it
//! (read on some path before being written) and on exit from it.
//!
//! Uses and definitions come from [`Insn::regs_read_with`](crate::insn::Insn::regs_read_with)
//! and [`Insn::regs_written`](crate::insn::Insn::regs_written): a helper call reads R1..R(n)
//! from the helper table, a bpf-to-bpf or kfunc call the parameters of its BTF prototype
//! (R1–R5 without one), and every call clobbers R0–R5; `exit` reads R0. R10, the read-only
//! frame pointer, is always live: it is never reported dead.
//!
//! A register dead at an instruction can be overwritten just before it without changing
//! what the function computes: that is what a pass inserting code needs.
//!
//! Costs: O(blocks × iterations) set operations (an iteration per loop nesting level, as a
//! rule) plus two 16-bit sets per instruction. Stale after any edit of the function's body,
//! and after a change of a callee's BTF prototype.

use std::collections::HashMap;

use crate::insn::{Reg, RegSet};
use crate::ir::{FuncId, InsnId, Module};

use super::callgraph::call_args;
use super::cfg::Cfg;
use super::AnalysisError;

/// Live registers around every instruction of one function.
#[derive(Clone, Debug)]
pub struct Liveness {
    live: HashMap<InsnId, (RegSet, RegSet)>,
}

/// Order in which [`Liveness::dead_register_at`] offers registers: the callee-saved ones
/// first (they survive calls a pass may add), then R0–R5.
const PREFERENCE: [Reg; 10] = [
    Reg::R9,
    Reg::R8,
    Reg::R7,
    Reg::R6,
    Reg::R0,
    Reg::R5,
    Reg::R4,
    Reg::R3,
    Reg::R2,
    Reg::R1,
];

impl Liveness {
    /// Liveness of `func`, computing its CFG.
    pub fn compute(module: &Module, func: FuncId) -> Result<Liveness, AnalysisError> {
        Ok(Liveness::of_cfg(module, &Cfg::compute(module, func)?))
    }

    /// Liveness over an already computed CFG of a function of `module`.
    pub fn of_cfg(module: &Module, cfg: &Cfg) -> Liveness {
        let effects = |id: InsnId| {
            let insn = module.insn(id);
            (
                insn.regs_read_with(call_args(module, id)),
                insn.regs_written(),
            )
        };
        // Per block: use (read before written) and def.
        let n = cfg.n_blocks();
        let mut gen = vec![RegSet::EMPTY; n];
        let mut kill = vec![RegSet::EMPTY; n];
        for (b, data) in cfg.blocks() {
            let (mut g, mut k) = (RegSet::EMPTY, RegSet::EMPTY);
            for &id in data.insns.iter().rev() {
                let (r, w) = effects(id);
                g = g.minus(w).union(r);
                k = k.union(w);
            }
            gen[b.index()] = g;
            kill[b.index()] = k;
        }
        let mut live_in = vec![RegSet::EMPTY; n];
        let mut live_out = vec![RegSet::EMPTY; n];
        let mut order = cfg.reverse_postorder();
        order.reverse();
        // Unreachable blocks get their (local) liveness too.
        let mut listed = vec![false; n];
        for b in &order {
            listed[b.index()] = true;
        }
        order.extend(cfg.blocks().map(|(b, _)| b).filter(|b| !listed[b.index()]));
        let mut changed = true;
        while changed {
            changed = false;
            for &b in &order {
                let out = cfg
                    .successors(b)
                    .iter()
                    .fold(RegSet::EMPTY, |acc, s| acc.union(live_in[s.index()]));
                let inn = gen[b.index()].union(out.minus(kill[b.index()]));
                if out != live_out[b.index()] || inn != live_in[b.index()] {
                    live_out[b.index()] = out;
                    live_in[b.index()] = inn;
                    changed = true;
                }
            }
        }
        let mut live = HashMap::new();
        for (b, data) in cfg.blocks() {
            let mut after = live_out[b.index()];
            for &id in data.insns.iter().rev() {
                let (r, w) = effects(id);
                let before = after.minus(w).union(r);
                live.insert(id, (before, after));
                after = before;
            }
        }
        Liveness { live }
    }

    /// Registers live on entry to `at` (`None` if `at` is not in the function).
    pub fn live_in(&self, at: InsnId) -> Option<RegSet> {
        self.live.get(&at).map(|l| l.0.with(Reg::R10))
    }

    /// Registers live on exit from `at` (`None` if `at` is not in the function).
    pub fn live_out(&self, at: InsnId) -> Option<RegSet> {
        self.live.get(&at).map(|l| l.1.with(Reg::R10))
    }

    /// Whether `reg` is dead on entry to `at`: no path from `at` reads it before writing it.
    /// Never true for R10, nor for an instruction outside the function.
    pub fn is_dead(&self, reg: Reg, at: InsnId) -> bool {
        self.live_in(at).is_some_and(|l| !l.contains(reg))
    }

    /// The registers dead on entry to `at` (empty outside the function).
    pub fn dead_registers_at(&self, at: InsnId) -> RegSet {
        self.live_in(at)
            .map_or(RegSet::EMPTY, |l| RegSet::ALL.minus(l))
    }

    /// A register dead on entry to `at`, callee-saved ones (R9..R6) first.
    pub fn dead_register_at(&self, at: InsnId) -> Option<Reg> {
        let dead = self.dead_registers_at(at);
        PREFERENCE.into_iter().find(|&r| dead.contains(r))
    }
}
