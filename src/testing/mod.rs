//! Property-test generators (feature `proptest`): strategies that produce valid [`Module`]s
//! and edit sequences that keep them valid, for testing rewrites, linkers and loaders built
//! on bpfir.
//!
//! * [`arb_module`] draws a little-endian module with BTF: 1..N programs in `socket`
//!   sections and 0..M static or global sub-programs in `.text`, each with an `INT`-returning
//!   `FUNC_PROTO` and a `FUNC`; bodies of instructions the verifier accepts (ALU on r0-r5,
//!   forward conditional jumps, calls to higher-numbered sub-programs, `ld_imm64` of an
//!   optional array map), every function ending in `r0 = imm; exit`; source lines on a random
//!   subset of instructions (always on each function's first); optionally CO-RE
//!   field-offset relocations on `mov` immediates against a struct of the BTF.
//! * [`arb_edits`] draws an [`EditSequence`] (insert, remove, move, inline-splice) whose
//!   [`apply`](EditSequence::apply) keeps the module well-formed and reports which
//!   instructions it touched.
//! * [`describe`] prints a module as text that does not depend on ids, so two modules (say,
//!   one read back from what the other was written as) compare with `assert_eq!`.
//!
//! Invariants of a generated module (what a property may rely on):
//!
//! * Functions are numbered programs first, then sub-programs; a call (from any function,
//!   after any edit sequence) only targets a function with a higher [`FuncId`], so the call
//!   graph is acyclic and every program terminates.
//! * Jumps go forward, to an instruction of their own function; no jump crosses the boundary
//!   of the `(call; r1..r5 = imm)` and `(ld_imm64 map; mov)` groups the generator emits, so
//!   every register read is initialised on every path (the verifier's view).
//! * Each function's last instruction is `exit`, preceded by a `mov r0`.
//! * Symbol names start with [`ModuleConfig::prefix`], so modules made with different
//!   prefixes link without conflicts.
//!
//! Costs: building a module is linear in its size; generation is bounded by the config
//! (at most `max_programs + max_subprograms` functions of at most `max_items` items, each a
//! handful of instructions).
//!
//! ```
//! use bpfir::lower::{lower, Bindings};
//! use bpfir::testing::{arb_module, ModuleConfig};
//! use proptest::prelude::*;
//! use proptest::test_runner::{Config, TestRunner};
//!
//! let config = ModuleConfig { map: false, ..ModuleConfig::default() };
//! let mut runner = TestRunner::new(Config { cases: 8, failure_persistence: None, ..Config::default() });
//! runner
//!     .run(&arb_module(config), |module| {
//!         for (prog, _) in module.programs() {
//!             let lowered = lower(&module, prog, &Bindings::default()).unwrap();
//!             prop_assert_eq!(lowered.line_info[0].insn_off, 0);
//!         }
//!         Ok(())
//!     })
//!     .unwrap();
//! ```

mod build;
mod describe;
mod edits;

pub use build::{arb_module, ModuleConfig};
pub use describe::describe;
pub use edits::{arb_edit, arb_edits, Edit, EditLog, EditSequence};

#[cfg(doc)]
use crate::ir::{FuncId, Module};
