//! Lowering: one program of a [`Module`] to exactly what `BPF_PROG_LOAD` takes.
//!
//! Two steps:
//!
//! 1. **Link** ([`link_order`], from [`analysis::callgraph`](crate::analysis::callgraph)):
//!    the program is its entry function plus every function reachable through calls and
//!    callbacks, in libbpf's order, so bpfir and libbpf hand the kernel the same
//!    instructions (and get the same program tag). A function shared by several programs is
//!    emitted into each.
//! 2. **Lower** ([`lower`]): the IR verifier first, then one slot layout (an `ld_imm64`
//!    takes two slots, see `slots.rs`: dense tables indexed by id, so the cost per
//!    instruction stays flat up to the kernel's million); from that one table come the
//!    bytecode with jumps, calls, callbacks, maps, data and
//!    externs patched, `func_info` (one per function, at its first slot), `line_info` (in
//!    slot order, one at every function start) and `core_relo` (byte offsets). Everything
//!    the kernel checks about these is checked here first, and a violation names the
//!    function and instruction.
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
use crate::insn::{CallKind, Insn, PseudoKind};
use crate::ir::{DataId, EntityMap, ExternId, FuncId, InsnId, MapId, Module, Ref};
use crate::Endian;

mod provenance;
mod slots;
mod tag;
pub use crate::analysis::callgraph::link_order;
pub use provenance::{
    explain_log, source_line_text, statement_line, ExplainedLog, SlotOrigin, VerifierError,
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

struct Lowering<'a> {
    module: &'a Module,
    bindings: &'a Bindings,
    /// Slot of every instruction and first slot of every function of the program.
    layout: slots::Slots,
}

impl Lowering<'_> {
    fn insn_error(&self, func: FuncId, id: InsnId, reason: String) -> LowerError {
        let (function, index, insn) = self.module.insn_context(func, id);
        LowerError::BadInsn {
            function,
            id,
            index,
            insn,
            reason,
        }
    }

    fn callee_start(&self, func: FuncId, id: InsnId, callee: FuncId) -> Result<u32, LowerError> {
        self.layout.start(callee).ok_or_else(|| {
            self.insn_error(
                func,
                id,
                format!(
                    "callee {} has no instructions",
                    self.module.function(callee).name
                ),
            )
        })
    }

    /// The instruction `id` (at `slot`) with its reference patched in.
    fn patch(&self, func: FuncId, id: InsnId, slot: u32) -> Result<Insn, LowerError> {
        let module = self.module;
        let mut insn = *module.insn(id);
        let rel = |target: u32| target as i64 - (slot as i64 + 1);
        let fd_of = |fd: Option<&i32>, what: String| {
            fd.copied()
                .ok_or_else(|| self.insn_error(func, id, format!("{what} has no fd binding")))
        };
        // `lower` verified the program first: references exist, fit their instructions,
        // and jump targets are in the same function (so they have slots).
        match (module.reference(id), &mut insn) {
            (None, _) => {}
            (Some(Ref::Jump(target)), i) => {
                let t = self.layout.slot(target).ok_or_else(|| {
                    self.insn_error(func, id, "jump target is not in the program".into())
                })?;
                let delta = i32::try_from(rel(t)).ok();
                if !delta.is_some_and(|d| i.set_jump_offset(d)) {
                    return Err(self.insn_error(
                        func,
                        id,
                        format!("jump offset {} does not fit the instruction", rel(t)),
                    ));
                }
            }
            (Some(Ref::Call(callee)), Insn::Call { kind, imm, off }) => {
                let start = self.callee_start(func, id, callee)?;
                *kind = CallKind::Local;
                *off = 0;
                *imm = i32::try_from(rel(start))
                    .map_err(|_| self.insn_error(func, id, "call offset overflows".into()))?;
            }
            (Some(Ref::FuncAddr(callee)), Insn::LdImm64 { kind, imm, .. }) => {
                let start = self.callee_start(func, id, callee)?;
                *kind = PseudoKind::Func;
                // The offset is the first slot's 32-bit imm; the second slot's stays 0 (as
                // libbpf writes it: the kernel hashes it into the program tag), also for a
                // callee laid out before the caller.
                *imm = i64::from(rel(start) as i32 as u32);
            }
            (Some(Ref::Map(map)), Insn::LdImm64 { kind, imm, .. }) => {
                let fd = fd_of(
                    self.bindings.maps.get(map),
                    format!("map {}", module.map(map).name),
                )?;
                *kind = PseudoKind::MapFd;
                *imm = i64::from(fd as u32);
            }
            (Some(Ref::Data { data, offset }), Insn::LdImm64 { kind, imm, .. }) => {
                let fd = fd_of(
                    self.bindings.data.get(data),
                    format!("data section {}", module.data(data).name),
                )?;
                *kind = PseudoKind::MapValue;
                *imm = (i64::from(offset) << 32) | i64::from(fd as u32);
            }
            (Some(Ref::Extern(ext)), insn) => {
                let name = &module.extern_(ext).name;
                let binding = self.bindings.externs.get(ext).copied().ok_or_else(|| {
                    self.insn_error(func, id, format!("extern {name} is not resolved"))
                })?;
                match (binding, insn) {
                    (
                        ExternBinding::Kfunc {
                            btf_id, btf_fd_idx, ..
                        },
                        Insn::Call { kind, imm, off },
                    ) => {
                        *kind = CallKind::Kfunc;
                        *imm = btf_id as i32;
                        *off = btf_fd_idx;
                    }
                    (
                        ExternBinding::Ksym { btf_id, btf_obj_fd }
                        | ExternBinding::Kfunc {
                            btf_id, btf_obj_fd, ..
                        },
                        Insn::LdImm64 { kind, imm, .. },
                    ) => {
                        *kind = PseudoKind::BtfId;
                        *imm = (i64::from(btf_obj_fd) << 32) | i64::from(btf_id);
                    }
                    (ExternBinding::MapValue { fd, offset }, Insn::LdImm64 { kind, imm, .. }) => {
                        *kind = PseudoKind::MapValue;
                        *imm = (i64::from(offset) << 32) | i64::from(fd as u32);
                    }
                    // An absent weak kfunc: a call to a helper id no kernel has, so the
                    // verifier refuses it only if the call is reachable (libbpf's poison).
                    (ExternBinding::Const(0), Insn::Call { kind, imm, off }) => {
                        *kind = CallKind::Helper;
                        *off = 0;
                        *imm = POISON_CALL_KFUNC_BASE.saturating_add(ext.index() as i32);
                    }
                    (ExternBinding::Absent { index }, Insn::Call { kind, imm, off }) => {
                        *kind = CallKind::Helper;
                        *off = 0;
                        *imm = POISON_CALL_KFUNC_BASE
                            .saturating_add(i32::try_from(index).unwrap_or(i32::MAX));
                    }
                    (ExternBinding::Absent { .. }, Insn::LdImm64 { kind, imm, .. }) => {
                        *kind = PseudoKind::None;
                        *imm = 0;
                    }
                    (ExternBinding::Const(v), Insn::LdImm64 { kind, imm, .. }) => {
                        *kind = PseudoKind::None;
                        *imm = v as i64;
                    }
                    (b, _) => {
                        return Err(self.insn_error(
                            func,
                            id,
                            format!(
                                "extern {name} bound to {b:?}, which this instruction cannot use"
                            ),
                        ))
                    }
                }
            }
            (Some(r), _) => {
                return Err(self.insn_error(
                    func,
                    id,
                    format!("reference {r:?} does not fit this instruction"),
                ))
            }
        }
        Ok(insn)
    }
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
    let functions = link_order(module, entry);
    // The IR's invariants first, over every function the program links: what remains to
    // check below is only what is specific to the kernel's input (fds, offsets that fit).
    crate::verify::verify_linked(module, entry, &functions)?;
    let program = module.function(entry);
    if program.first_insn().is_none() {
        return Err(LowerError::BadEntry {
            function: program.name.clone(),
            reason: "the function has no instructions".into(),
        });
    }

    // Layout: one walk assigns every slot and counts what the output vectors will hold.
    let layout =
        slots::Slots::of(module, &functions, MAX_SLOTS).map_err(|_| LowerError::TooLarge {
            program: program.name.clone(),
            reason: format!("more than {MAX_SLOTS} instruction slots"),
        })?;
    let btf = module.btf.as_ref();
    let (n_insns, n_lines, n_core) = (layout.n_insns, layout.n_lines, layout.n_core);
    let lowering = Lowering {
        module,
        bindings,
        layout,
    };

    let mut out = LoweredProgram {
        name: program.name.clone(),
        section: program.section.clone(),
        functions,
        insns: Vec::with_capacity(n_insns),
        insn_ids: Vec::with_capacity(n_insns),
        func_info: Vec::new(),
        line_info: Vec::new(),
        core_relos: Vec::new(),
    };
    if btf.is_some() {
        // Sized once: a function whose first instruction has no line gets one more.
        out.func_info.reserve_exact(out.functions.len());
        out.line_info.reserve_exact(n_lines + out.functions.len());
        out.core_relos.reserve_exact(n_core);
    }
    for &f in &out.functions {
        let func = module.function(f);
        let Some(mut slot) = lowering.layout.start(f) else {
            return Err(LowerError::ExtInfo {
                function: func.name.clone(),
                reason: "the function is called but has no instructions".into(),
            });
        };
        if let Some(btf) = btf {
            let ty = func.btf_func.ok_or_else(|| LowerError::ExtInfo {
                function: func.name.clone(),
                reason: "no BTF FUNC type (the kernel needs one per function when the program has BTF); set Function::btf_func".into(),
            })?;
            out.func_info.push(FuncInfoRecord {
                insn_off: slot,
                type_id: btf.wire_id(ty),
            });
        }
        let mut at_start = true;
        for id in module.func_insns(f) {
            let insn = lowering.patch(f, id, slot)?;
            out.insns.push(insn);
            out.insn_ids.push(id);
            if let Some(btf) = btf {
                let line = module.line_of(id).or_else(|| {
                    // The kernel wants a line at every function start: an instruction
                    // inserted before the first one takes the first line the function has.
                    at_start
                        .then(|| module.func_insns(f).find_map(|i| module.line_of(i)))
                        .flatten()
                });
                if let Some(line) = line {
                    let l = module.line(line);
                    out.line_info.push(LineInfoRecord {
                        insn_off: slot,
                        file_name: l.file,
                        line: l.text,
                        line_num: l.line,
                        col: l.col,
                    });
                }
                if let Some(core) = module.core_of(id) {
                    let c = module.core_relo(core);
                    out.core_relos.push(CoreReloRecord {
                        insn_off: slot * 8,
                        type_id: btf.wire_id(c.ty),
                        access: c.access_str,
                        kind: c.kind,
                    });
                }
            }
            at_start = false;
            // The layout walked the same bodies: `slot` stays below MAX_SLOTS.
            slot += insn.n_slots() as u32;
        }
    }
    check_ext_info(module, &out)?;
    Ok(out)
}

/// The kernel's rules on func_info and line_info, checked before it sees them.
fn check_ext_info(module: &Module, p: &LoweredProgram) -> Result<(), LowerError> {
    let name = |i: usize| module.function(p.functions[i]).name.clone();
    if let Some(first) = p.func_info.first() {
        if first.insn_off != 0 {
            return Err(LowerError::ExtInfo {
                function: name(0),
                reason: "the first func_info record is not at instruction 0".into(),
            });
        }
    }
    for (i, w) in p.func_info.windows(2).enumerate() {
        if w[1].insn_off <= w[0].insn_off {
            return Err(LowerError::ExtInfo {
                function: name(i + 1),
                reason: format!(
                    "func_info at {} does not come after the previous one at {}",
                    w[1].insn_off, w[0].insn_off
                ),
            });
        }
    }
    if p.line_info.is_empty() {
        return Ok(());
    }
    for (i, w) in p.line_info.windows(2).enumerate() {
        if w[1].insn_off <= w[0].insn_off {
            return Err(LowerError::ExtInfo {
                function: name(0),
                reason: format!("line_info record {} is not after the previous one", i + 1),
            });
        }
    }
    for (i, f) in p.func_info.iter().enumerate() {
        if p.line_info
            .binary_search_by_key(&f.insn_off, |l| l.insn_off)
            .is_err()
        {
            return Err(LowerError::ExtInfo {
                function: name(i),
                reason: format!(
                    "no line_info at the function's first instruction {}",
                    f.insn_off
                ),
            });
        }
    }
    Ok(())
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
