//! Analyses of a [`Module`](crate::ir::Module)'s functions: what a pass asks before it
//! rewrites (cranelift's `ControlFlowGraph`, `DominatorTree` and liveness, made for eBPF).
//!
//! * [`callgraph`] — which functions a function calls (calls and callbacks), the layout
//!   order of a program ([`link_order`](callgraph::link_order)), and the argument count of a
//!   call from its BTF prototype.
//! * [`cfg`](mod@cfg) — basic blocks, successors and predecessors of one function.
//! * [`dominators`] — the dominator tree of a CFG.
//! * [`liveness`] — registers live in and out of every instruction; dead registers.
//! * [`stack`] — stack depth per function and across the call chain (the kernel's 512-byte
//!   limit); free stack slots.
//! * [`layout`] — the slot of every instruction of a sequence of functions (lowering and the
//!   writer lay out code with it).
//!
//! Every analysis is a value computed from the module as it was; none is updated by edits.
//! Each file says what it costs and which edits make a computed result stale. Instructions
//! are named by [`InsnId`](crate::ir::InsnId), so a result stays meaningful for the
//! instructions an edit did not touch, but must be recomputed before it is trusted again.

pub mod callgraph;
pub mod cfg;
pub mod dominators;
mod error;
pub mod layout;
pub mod liveness;
pub mod stack;

pub use error::AnalysisError;

#[cfg(test)]
mod tests;
