//! The dominator tree of a [`Cfg`]: block `a` dominates `b` when every path from the entry
//! to `b` passes through `a`.
//!
//! Computed by the iterative algorithm of Cooper, Harvey and Kennedy ("A Simple, Fast
//! Dominance Algorithm") over reverse postorder. Blocks unreachable from the entry have no
//! immediate dominator, dominate nothing and are dominated by nothing.
//!
//! Costs: a few passes over the blocks (near-linear for the reducible CFGs compilers emit);
//! [`DomTree::dominates`] walks up the tree (O(depth)). Stale whenever the [`Cfg`] is.

use super::cfg::{Block, Cfg};
use crate::ir::InsnId;

/// The dominator tree of one CFG.
#[derive(Clone, Debug)]
pub struct DomTree {
    /// Immediate dominator per block (the entry's is itself; `None`: unreachable).
    idom: Vec<Option<Block>>,
    /// Reverse-postorder number per block (`u32::MAX`: unreachable).
    rpo_number: Vec<u32>,
}

impl DomTree {
    /// The dominator tree of `cfg`.
    pub fn compute(cfg: &Cfg) -> DomTree {
        let n = cfg.n_blocks();
        let rpo = cfg.reverse_postorder();
        let mut rpo_number = vec![u32::MAX; n];
        for (i, b) in rpo.iter().enumerate() {
            rpo_number[b.index()] = i as u32;
        }
        let mut idom: Vec<Option<Block>> = vec![None; n];
        if let Some(&entry) = rpo.first() {
            idom[entry.index()] = Some(entry);
        }
        let intersect = |idom: &[Option<Block>], mut a: Block, mut b: Block| {
            while a != b {
                while rpo_number[a.index()] > rpo_number[b.index()] {
                    a = idom[a.index()].unwrap_or(a);
                }
                while rpo_number[b.index()] > rpo_number[a.index()] {
                    b = idom[b.index()].unwrap_or(b);
                }
            }
            a
        };
        let mut changed = true;
        while changed {
            changed = false;
            for &b in rpo.iter().skip(1) {
                let mut new: Option<Block> = None;
                for &p in cfg.predecessors(b) {
                    if idom[p.index()].is_none() {
                        continue;
                    }
                    new = Some(match new {
                        None => p,
                        Some(n) => intersect(&idom, p, n),
                    });
                }
                if new.is_some() && idom[b.index()] != new {
                    idom[b.index()] = new;
                    changed = true;
                }
            }
        }
        DomTree { idom, rpo_number }
    }

    /// Whether `b` is reachable from the entry.
    pub fn is_reachable(&self, b: Block) -> bool {
        self.rpo_number
            .get(b.index())
            .is_some_and(|&n| n != u32::MAX)
    }

    /// The immediate dominator of `b` (`None` for the entry and unreachable blocks).
    pub fn idom(&self, b: Block) -> Option<Block> {
        self.idom
            .get(b.index())
            .copied()
            .flatten()
            .filter(|&d| d != b)
    }

    /// Whether `a` dominates `b` (every block reachable from the entry dominates itself).
    pub fn dominates(&self, a: Block, b: Block) -> bool {
        if !self.is_reachable(a) || !self.is_reachable(b) {
            return false;
        }
        let mut x = b;
        loop {
            if x == a {
                return true;
            }
            match self.idom(x) {
                Some(d) if self.rpo_number[d.index()] >= self.rpo_number[a.index()] => x = d,
                _ => return false,
            }
        }
    }

    /// Whether instruction `a` dominates instruction `b` of the same function: `a` comes
    /// first in one block, or `a`'s block strictly dominates `b`'s.
    pub fn dominates_insn(&self, cfg: &Cfg, a: InsnId, b: InsnId) -> bool {
        match (cfg.block_of(a), cfg.block_of(b)) {
            (Some((ba, ia)), Some((bb, ib))) if ba == bb => ia <= ib && self.is_reachable(ba),
            (Some((ba, _)), Some((bb, _))) => self.dominates(ba, bb),
            _ => false,
        }
    }
}
