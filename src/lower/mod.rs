//! Lowering: one program of a [`Module`] to exactly what `BPF_PROG_LOAD` takes.
//!
//! Two steps:
//!
//! 1. **Link** (the order of [`link_order`], from
//!    [`analysis::callgraph`](crate::analysis::callgraph)): the program is its entry function
//!    plus every function reachable through calls and callbacks, in libbpf's order, so bpfir
//!    and libbpf hand the kernel the same instructions (and get the same program tag). A
//!    function shared by several programs is emitted into each.
//! 2. **Lower** ([`lower`]): as each function is placed, while its body is in cache, the IR
//!    verifier checks it, the slot layout takes it (an `ld_imm64` takes two slots, see
//!    `slots.rs`: dense tables indexed by id) and it is emitted: the bytecode with jumps,
//!    calls, callbacks, maps, data and externs patched, `func_info` (one per function, at
//!    its first slot), `line_info` (in slot order, one at every function start) and
//!    `core_relo` (byte offsets); see `emit.rs`. So the IR is read from memory once and the
//!    cost per instruction stays flat up to the kernel's million. Everything the kernel
//!    checks about these is checked here first, and a violation names the function and
//!    instruction.
//!
//! The result keeps the way back: [`LoweredProgram::insn_ids`] maps every slot to its IR
//! instruction, so a verifier log can be read in terms of the IR ([`explain_log`]), and
//! [`LoweredProgram::tag`] is the kernel's program tag computed offline.
//!
//! Lowering does no I/O: maps, data sections and externs are resolved through
//! [`Bindings`] the caller fills (with fds from `MAP_CREATE`, kernel BTF ids, ...).

use std::fmt;

use crate::btf::{StrOffset, WireTypeId};
use crate::btf_ext::CoreReloKind;
use crate::insn::Insn;
use crate::ir::{DataId, EntityMap, ExternId, FuncId, InsnId, MapId, Module};
use crate::Endian;

mod emit;
mod provenance;
mod slots;
mod tag;
pub use crate::analysis::callgraph::link_order;
pub use provenance::{
    explain_log, source_line_text, statement_line, ExplainedLog, KernelVerifierError, SlotOrigin,
};
pub use tag::{program_tag, sha1, sha256, tag_hex, tag_input, TagHash};

/// How an extern is resolved for one load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExternBinding {
    /// A kernel function: a `call` becomes `BPF_PSEUDO_KFUNC_CALL` with its BTF id and the
    /// index of its module's BTF fd in `fd_array`; an `ld_imm64` of its address (as
    /// `bpf_ksym_exists` emits) becomes `BPF_PSEUDO_BTF_ID` with the module BTF fd.
    Kfunc {
        /// BTF id of the `FUNC` in kernel BTF.
        btf_id: u32,
        /// `fd_array` index of the module BTF (0: vmlinux).
        btf_fd_idx: i16,
        /// fd of the module BTF (0: vmlinux).
        btf_obj_fd: u32,
    },
    /// A typed kernel variable: `ld_imm64` with `BPF_PSEUDO_BTF_ID`.
    Ksym {
        /// BTF id of the `VAR` in kernel BTF.
        btf_id: u32,
        /// fd of the module BTF (0: vmlinux).
        btf_obj_fd: u32,
    },
    /// A value in a map's value (`.kconfig`): `ld_imm64` with `BPF_PSEUDO_MAP_VALUE`.
    MapValue {
        /// The map's fd.
        fd: i32,
        /// Byte offset in the value.
        offset: u32,
    },
    /// A plain constant (an untyped ksym's address, a weak extern that is absent: 0).
    Const(u64),
    /// A weak kfunc or ksym the kernel lacks: an `ld_imm64` of it reads 0, a call to it
    /// becomes libbpf's poisoned helper call (`2002000000 + index`, refused by the
    /// verifier only where reachable), `index` being the extern's place in libbpf's order.
    Absent {
        /// The extern's index in libbpf's sorted extern list (kconfig first, then by name).
        index: u32,
    },
}

/// What the caller resolved maps, data sections and externs to.
#[derive(Clone, Debug, Default)]
pub struct Bindings {
    /// Map fds.
    pub maps: EntityMap<MapId, i32>,
    /// Fds of the array maps that hold data sections.
    pub data: EntityMap<DataId, i32>,
    /// Externs.
    pub externs: EntityMap<ExternId, ExternBinding>,
}

/// A `bpf_func_info` record for `BPF_PROG_LOAD`: slot offset and `FUNC` type id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuncInfoRecord {
    /// Instruction slot of the function's first instruction.
    pub insn_off: u32,
    /// The `FUNC` type.
    pub type_id: WireTypeId,
}

/// A `bpf_line_info` record for `BPF_PROG_LOAD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineInfoRecord {
    /// Instruction slot.
    pub insn_off: u32,
    /// File name (offset in the program's BTF strings).
    pub file_name: StrOffset,
    /// Line text.
    pub line: StrOffset,
    /// Line number.
    pub line_num: u32,
    /// Column.
    pub col: u32,
}

/// A `bpf_core_relo` record for `BPF_PROG_LOAD` (kernel-side CO-RE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreReloRecord {
    /// Byte offset of the instruction in the program.
    pub insn_off: u32,
    /// Local type.
    pub type_id: WireTypeId,
    /// Access string.
    pub access: StrOffset,
    /// Relocation kind.
    pub kind: CoreReloKind,
}

/// One program, lowered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoweredProgram {
    /// The entry function's name.
    pub name: String,
    /// Its ELF section (program type and attach point).
    pub section: String,
    /// The functions in layout order (the entry first).
    pub functions: Vec<FuncId>,
    /// The instructions, patched; an `ld_imm64` is one entry of two slots.
    pub insns: Vec<Insn>,
    /// The IR instruction each entry of `insns` was lowered from (same length): the way
    /// back from a slot the verifier names to the function, source line, CO-RE record and
    /// origin of the instruction (see [`LoweredProgram::insn_at_slot`]).
    pub insn_ids: Vec<InsnId>,
    /// One record per function.
    pub func_info: Vec<FuncInfoRecord>,
    /// Line records in slot order.
    pub line_info: Vec<LineInfoRecord>,
    /// CO-RE relocations left for the kernel.
    pub core_relos: Vec<CoreReloRecord>,
}

impl LoweredProgram {
    /// Number of instruction slots.
    pub fn n_slots(&self) -> usize {
        self.insns.iter().map(Insn::n_slots).sum()
    }

    /// The IR instruction at instruction slot `slot` (as the verifier numbers them), and
    /// whether `slot` is the second half of an `ld_imm64`. `None` past the end. Costs a
    /// binary search over the slot table.
    pub fn insn_at_slot(&self, slot: usize) -> Option<(InsnId, bool)> {
        let (i, second_half) = self.entry_at_slot(&self.slot_starts(), slot)?;
        Some((self.insn_ids[i], second_half))
    }

    /// The index in `insns` of the entry covering `slot`, given [`slot_starts`](Self::slot_starts),
    /// and whether `slot` is its second half.
    fn entry_at_slot(&self, starts: &[usize], slot: usize) -> Option<(usize, bool)> {
        let i = match starts.binary_search(&slot) {
            Ok(i) => i,
            Err(0) => return None,
            Err(i) => i - 1,
        };
        let covered = slot < starts[i] + self.insns.get(i)?.n_slots();
        (covered && i < self.insn_ids.len()).then_some((i, starts[i] != slot))
    }

    /// The first slot of every entry of `insns`.
    pub fn slot_starts(&self) -> Vec<usize> {
        let mut at = 0;
        self.insns
            .iter()
            .map(|i| {
                let s = at;
                at += i.n_slots();
                s
            })
            .collect()
    }

    /// The bytecode in byte order `endian`.
    pub fn insn_bytes(&self, endian: Endian) -> Vec<u8> {
        crate::insn::encode_all(&self.insns, endian)
    }

    /// The program tag a current kernel (Linux 6.18 or later, SHA-256) on this machine
    /// reports for these instructions: what `bpftool prog show` prints, computed without
    /// loading. See [`program_tag`] for older kernels and other byte orders. A program that
    /// leaves CO-RE records to the kernel ([`core_relos`](Self::core_relos) not empty) is
    /// patched by the kernel before it is hashed, so its tag is known only after relocation.
    pub fn tag(&self) -> [u8; 8] {
        program_tag(&self.insns, Endian::native(), TagHash::Sha256)
    }

    /// [`tag`](Self::tag) as 16 lowercase hex digits, as the kernel's program info and
    /// `bpftool` print it.
    pub fn tag_hex(&self) -> String {
        tag_hex(self.tag())
    }

    /// The `bpf_func_info` array (8-byte records) in byte order `endian`.
    pub fn func_info_bytes(&self, endian: Endian) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 * self.func_info.len());
        for r in &self.func_info {
            out.extend_from_slice(&endian.u32_bytes(r.insn_off));
            out.extend_from_slice(&endian.u32_bytes(r.type_id.0));
        }
        out
    }

    /// The `bpf_line_info` array (16-byte records) in byte order `endian`.
    pub fn line_info_bytes(&self, endian: Endian) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 * self.line_info.len());
        for r in &self.line_info {
            for v in [
                r.insn_off,
                r.file_name.0,
                r.line.0,
                (r.line_num << 10) | (r.col & 0x3ff),
            ] {
                out.extend_from_slice(&endian.u32_bytes(v));
            }
        }
        out
    }

    /// The `bpf_core_relo` array (16-byte records) in byte order `endian`.
    pub fn core_relo_bytes(&self, endian: Endian) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 * self.core_relos.len());
        for r in &self.core_relos {
            for v in [r.insn_off, r.type_id.0, r.access.0, r.kind.to_u32()] {
                out.extend_from_slice(&endian.u32_bytes(v));
            }
        }
        out
    }
}

/// Why a program cannot be lowered. Every variant names the function and, where there is
/// one, the instruction (by its [`InsnId`], printed as the dump prints it, and its position
/// in its function).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LowerError {
    /// The IR verifier found broken invariants in the functions the program links (a jump
    /// to a removed instruction, a call to a function without a body, an id of another
    /// module...); each error names its function and instruction.
    #[error("{0}")]
    Verify(#[from] crate::verify::VerifierErrors),
    /// The entry is not a program, or has no instructions.
    #[error("function {function}: {reason}")]
    BadEntry {
        /// The function.
        function: String,
        /// What is wrong.
        reason: String,
    },
    /// An instruction's reference cannot be lowered.
    #[error("function {function} instruction {} (#{index}: {insn}): {reason}", crate::ir::AnyEntity::Insn(*.id))]
    BadInsn {
        /// The function holding the instruction.
        function: String,
        /// The instruction.
        id: InsnId,
        /// Position of the instruction in its function.
        index: usize,
        /// The instruction, disassembled.
        insn: String,
        /// What is wrong.
        reason: String,
    },
    /// A rule of the kernel on func_info or line_info would be broken.
    #[error("function {function}: {reason}")]
    ExtInfo {
        /// The function.
        function: String,
        /// What is wrong.
        reason: String,
    },
    /// The program does not fit the instruction format.
    #[error("program {program}: {reason}")]
    TooLarge {
        /// The program.
        program: String,
        /// What is wrong.
        reason: String,
    },
}

/// Helper id that an unreachable call to an absent weak kfunc gets (plus the extern's
/// index), the same base libbpf uses, so verifier messages read the same.
pub const POISON_CALL_KFUNC_BASE: i32 = 2_002_000_000;

/// The most instruction slots a program may have (the kernel's limit for privileged
/// programs is 1M).
pub const MAX_SLOTS: usize = 1 << 20;

/// Lowers the program whose entry is `entry`.
pub fn lower(
    module: &Module,
    entry: FuncId,
    bindings: &Bindings,
) -> Result<LoweredProgram, LowerError> {
    emit::lower(module, entry, bindings, MAX_SLOTS)
}

impl fmt::Display for LoweredProgram {
    /// The lowered program as a listing (slots and llvm-objdump syntax).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", crate::insn::disassemble(&self.insns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::PseudoKind;
    use crate::ir::build::{call, exit, ld_func_addr, mov64_imm};
    use crate::ir::Function;

    #[test]
    fn a_callback_laid_out_before_its_user_has_a_zero_second_half() {
        // prog calls a; a calls b; b takes a's address: a is laid out before b.
        let mut m = Module::new(Endian::Little);
        let prog = m.add_function(Function::new("prog", "socket", true));
        let a = m.add_function(Function::new("a", ".text", false));
        let b = m.add_function(Function::new("b", ".text", false));
        m.append_built(prog, call(a)).unwrap();
        m.append_built(prog, exit()).unwrap();
        m.append_built(a, call(b)).unwrap();
        m.append_built(a, exit()).unwrap();
        m.append_built(b, ld_func_addr(crate::insn::Reg::R2, a))
            .unwrap();
        m.append_built(b, mov64_imm(crate::insn::Reg::R0, 0))
            .unwrap();
        m.append_built(b, exit()).unwrap();
        let l = lower(&m, prog, &Bindings::default()).unwrap();
        assert_eq!(l.functions, vec![prog, a, b]);
        // b starts at slot 4; its ld_imm64 refers back to a at slot 2: -3.
        assert_eq!(
            l.insns[4],
            Insn::LdImm64 {
                kind: PseudoKind::Func,
                dst: crate::insn::Reg::R2,
                imm: i64::from(-3i32 as u32)
            }
        );
        let bytes = l.insn_bytes(Endian::Little);
        assert_eq!(&bytes[4 * 8 + 4..4 * 8 + 8], &(-3i32).to_le_bytes());
        assert_eq!(&bytes[5 * 8..6 * 8], &[0; 8]);
    }
}
