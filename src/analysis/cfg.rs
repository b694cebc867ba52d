//! The control-flow graph of one function: basic blocks of instructions and the edges
//! between them, read from the IR (jump targets are [`Ref::Jump`] references, not raw
//! offsets).
//!
//! A block starts at the function's first instruction, at every jump target and after
//! every terminator (`ja`/`gotol`, conditional jumps, `may_goto`, `gotox`, `exit`). Calls
//! are not terminators: they return to the next instruction. Edges: a conditional jump or
//! `may_goto` goes to its target and falls through; `ja`/`gotol` go to their target; `exit`
//! has none; `gotox` (an indirect jump through a jump table the IR does not describe) is
//! taken to reach every block of the function, which keeps the analyses built on the CFG
//! sound.
//!
//! Costs: O(instructions) time, one map entry per instruction and a few vectors per block.
//! Stale after any edit of the function's body.

use std::collections::HashMap;

use crate::insn::Flow;
use crate::ir::{FuncId, InsnId, Module, Ref};

use super::AnalysisError;

/// A basic block of a [`Cfg`]: its index in [`Cfg::blocks`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Block(pub u32);

impl Block {
    /// The index of the block.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl std::fmt::Display for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b{}", self.0)
    }
}

/// One basic block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockData {
    /// The instructions, in order (the last may be a terminator).
    pub insns: Vec<InsnId>,
    /// Successor blocks (target first for a conditional jump, then the fall-through).
    pub succs: Vec<Block>,
    /// Predecessor blocks, in block order.
    pub preds: Vec<Block>,
}

/// The CFG of one function.
#[derive(Clone, Debug)]
pub struct Cfg {
    func: FuncId,
    blocks: Vec<BlockData>,
    block_of: HashMap<InsnId, (Block, u32)>,
}

impl Cfg {
    /// The CFG of `func`. Errors on a function the module does not have, a jump without a
    /// target or with a target outside the function, and a last instruction that falls
    /// through past the end.
    pub fn compute(module: &Module, func: FuncId) -> Result<Cfg, AnalysisError> {
        module.try_function(func)?;
        let insns: Vec<InsnId> = module.func_insns(func).collect();
        let bad = |id: InsnId, reason: &str| {
            let (function, index, insn) = module.insn_context(func, id);
            AnalysisError::BadJump {
                function,
                index,
                insn,
                reason: reason.into(),
            }
        };
        // Leaders.
        let mut leader = vec![false; insns.len()];
        let pos: HashMap<InsnId, usize> =
            insns.iter().enumerate().map(|(i, &id)| (id, i)).collect();
        let target_of = |id: InsnId| -> Result<usize, AnalysisError> {
            match module.reference(id) {
                Some(Ref::Jump(t)) => pos.get(&t).copied().ok_or_else(|| {
                    bad(
                        id,
                        if module.func_of(t).is_none() {
                            "jump target was removed"
                        } else {
                            "jump target is in another function"
                        },
                    )
                }),
                _ => Err(bad(id, "jump without a target")),
            }
        };
        if let Some(l) = leader.first_mut() {
            *l = true;
        }
        for (i, &id) in insns.iter().enumerate() {
            let flow = module.insn(id).flow();
            if let Flow::Jump(_) | Flow::Branch(_) = flow {
                leader[target_of(id)?] = true;
            }
            if flow != Flow::Next {
                if let Some(l) = leader.get_mut(i + 1) {
                    *l = true;
                }
            }
        }
        if let Some(&last) = insns.last() {
            if module.insn(last).falls_through() {
                return Err(AnalysisError::FallsOffEnd {
                    function: module.function(func).name.clone(),
                    insn: module.display_insn(last).to_string(),
                });
            }
        }
        // Blocks.
        let mut blocks: Vec<BlockData> = Vec::new();
        let mut block_of = HashMap::with_capacity(insns.len());
        for (i, &id) in insns.iter().enumerate() {
            if leader[i] {
                blocks.push(BlockData {
                    insns: Vec::new(),
                    succs: Vec::new(),
                    preds: Vec::new(),
                });
            }
            let b = blocks.len() - 1;
            block_of.insert(id, (Block(b as u32), blocks[b].insns.len() as u32));
            blocks[b].insns.push(id);
        }
        // Edges.
        let n = blocks.len();
        for (b, block) in blocks.iter_mut().enumerate() {
            let last = *block.insns.last().expect("blocks are not empty");
            let next = Block(b as u32 + 1);
            let target =
                |id| -> Result<Block, AnalysisError> { Ok(block_of[&insns[target_of(id)?]].0) };
            let succs = match module.insn(last).flow() {
                Flow::Next => vec![next],
                Flow::Jump(_) => vec![target(last)?],
                Flow::Branch(_) => {
                    let t = target(last)?;
                    if t == next {
                        vec![t]
                    } else {
                        vec![t, next]
                    }
                }
                Flow::Indirect => (0..n as u32).map(Block).collect(),
                Flow::Exit => vec![],
            };
            block.succs = succs;
        }
        for b in 0..n {
            for s in blocks[b].succs.clone() {
                blocks[s.index()].preds.push(Block(b as u32));
            }
        }
        Ok(Cfg {
            func,
            blocks,
            block_of,
        })
    }

    /// The function.
    pub fn func(&self) -> FuncId {
        self.func
    }

    /// The entry block (`None` for an empty function).
    pub fn entry(&self) -> Option<Block> {
        (!self.blocks.is_empty()).then_some(Block(0))
    }

    /// Number of blocks.
    pub fn n_blocks(&self) -> usize {
        self.blocks.len()
    }

    /// The blocks, in layout order.
    pub fn blocks(&self) -> impl ExactSizeIterator<Item = (Block, &BlockData)> + '_ {
        self.blocks
            .iter()
            .enumerate()
            .map(|(i, b)| (Block(i as u32), b))
    }

    /// The block `b`.
    pub fn block(&self, b: Block) -> &BlockData {
        &self.blocks[b.index()]
    }

    /// The instructions of `b`.
    pub fn insns(&self, b: Block) -> &[InsnId] {
        &self.blocks[b.index()].insns
    }

    /// The successors of `b`.
    pub fn successors(&self, b: Block) -> &[Block] {
        &self.blocks[b.index()].succs
    }

    /// The predecessors of `b`.
    pub fn predecessors(&self, b: Block) -> &[Block] {
        &self.blocks[b.index()].preds
    }

    /// The block holding `id` and the instruction's position in it, if `id` is in the
    /// function.
    pub fn block_of(&self, id: InsnId) -> Option<(Block, usize)> {
        self.block_of.get(&id).map(|&(b, i)| (b, i as usize))
    }

    /// The blocks reachable from the entry, in reverse postorder (every block before its
    /// successors, back edges aside).
    pub fn reverse_postorder(&self) -> Vec<Block> {
        let n = self.blocks.len();
        let mut seen = vec![false; n];
        let mut post = Vec::with_capacity(n);
        let Some(entry) = self.entry() else {
            return post;
        };
        // Iterative DFS: (block, next successor index).
        let mut stack = vec![(entry, 0usize)];
        seen[0] = true;
        while let Some((b, i)) = stack.last_mut() {
            let succs = &self.blocks[b.index()].succs;
            if let Some(&s) = succs.get(*i) {
                *i += 1;
                if !seen[s.index()] {
                    seen[s.index()] = true;
                    stack.push((s, 0));
                }
            } else {
                post.push(*b);
                stack.pop();
            }
        }
        post.reverse();
        post
    }
}
