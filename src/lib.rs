//! bpfir holds eBPF programs the way a compiler holds its IR.
//!
//! Read a clang-compiled object into a [`Module`](ir::Module) of typed arenas, rewrite it
//! (instructions move by id; jump targets, callees, source lines and CO-RE relocations move
//! with them), lower a program to exactly what `BPF_PROG_LOAD` takes, and load it.
//!
//! ```
//! use bpfir::insn::{AluClass, AluOp, Insn, Operand, Reg};
//! use bpfir::ir::{Meta, Module};
//! use bpfir::lower::{lower, Bindings};
//!
//! let bytes = std::fs::read("testdata/calls.bpfel.o").unwrap();
//! let mut module = Module::read(&bytes).unwrap();
//! let prog = module.function_by_name("calls_first").unwrap();
//!
//! // Insert `r9 = 0` before the first instruction: nothing else is renumbered.
//! let first = module.function(prog).first_insn().unwrap();
//! let mov = Insn::Alu { class: AluClass::Alu64, op: AluOp::Mov, dst: Reg::R9, src: Operand::Imm(0) };
//! module.insert_before(first, mov, Meta::default()).unwrap();
//!
//! // Lower: the program and every function it calls, with func_info and line_info.
//! let lowered = lower(&module, prog, &Bindings::default()).unwrap();
//! assert_eq!(lowered.insns[0], mov);
//! assert_eq!(lowered.func_info.len(), lowered.functions.len());
//! assert_eq!(lowered.line_info[0].insn_off, 0);
//! ```
//!
//! The layers, each in its own module:
//!
//! * [`abi`] — kernel numbers (helper functions) as typed values, without the kernel.
//! * [`insn`] — the eBPF instruction set: typed decode/encode in both byte orders and an
//!   `llvm-objdump`-style disassembly.
//! * [`btf`] — BPF Type Format: a typed-arena model of `.BTF` blobs (object files, the
//!   kernel's `/sys/kernel/btf/vmlinux`, split module BTF), lookups a loader needs, and a
//!   marshaller that reproduces unmodified input byte for byte.
//! * [`btf_ext`] — `.BTF.ext`: func_info, line_info and CO-RE relocation records per ELF
//!   section, and CO-RE access strings.
//! * [`elf`] — sections, symbols and relocations of a BPF ELF object (the `object` crate).
//! * [`ir`] — the `Module`: arenas, the linked instruction layout, side tables, editing,
//!   instruction builders ([`ir::build`]), a cursor ([`ir::FuncCursor`]) and new maps,
//!   variables and functions with their BTF ([`ir::define`]). `docs/rewriting.md` is the
//!   guide to writing a pass.
//! * [`read`] — ELF object → `Module`.
//! * [`verify`] — the IR's invariants, checked all at once ([`Module::verify`](ir::Module::verify)).
//! * [`analysis`] — what a pass asks before rewriting: call graph, CFG, dominators,
//!   register liveness, stack depth and free slots, slot layout.
//! * [`lower`] — link and lower one program to bytecode, func_info, line_info, core_relo;
//!   the way back from a slot to the IR (verifier logs), and the program tag offline.
//! * `sys` and `load` (feature `kernel`, Linux) — the `bpf(2)` system call (the only place
//!   with `unsafe`) and a loader built on it.
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod abi;
pub mod analysis;
pub mod btf;
pub mod btf_ext;
pub mod co_re;
pub mod elf;
mod endian;
pub mod insn;
pub mod ir;
pub mod link;
#[cfg(all(feature = "kernel", target_os = "linux"))]
pub mod load;
pub mod lower;
pub mod read;
#[cfg(all(feature = "kernel", target_os = "linux"))]
pub mod sys;
#[cfg(feature = "proptest")]
pub mod testing;
pub mod verify;
pub mod write;

pub use endian::Endian;
