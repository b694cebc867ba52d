//! bpfir holds eBPF programs the way a compiler holds its IR.
//!
//! The crate is layered like the formats it reads:
//!
//! * [`insn`] — the eBPF instruction set: typed decode/encode in both byte orders and an
//!   `llvm-objdump`-style disassembly.
//! * [`btf`] — BPF Type Format: a typed-arena model of `.BTF` blobs (object files, the
//!   kernel's `/sys/kernel/btf/vmlinux`, split module BTF), lookups a loader needs, and a
//!   marshaller that reproduces unmodified input byte for byte.
//! * [`btf_ext`] — `.BTF.ext`: func_info, line_info and CO-RE relocation records per ELF
//!   section, and CO-RE access strings.
//! * [`elf`] — the sections of a BPF ELF object, read with the `object` crate.
//! * `sys` (feature `kernel`, Linux) — the `bpf(2)` system call; the only place with `unsafe`.
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod btf;
pub mod btf_ext;
pub mod co_re;
pub mod elf;
mod endian;
pub mod insn;
pub mod ir;
#[cfg(all(feature = "kernel", target_os = "linux"))]
pub mod load;
pub mod lower;
pub mod read;
#[cfg(all(feature = "kernel", target_os = "linux"))]
pub mod sys;

pub use endian::Endian;
