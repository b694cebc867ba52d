//! Lowering: one program of a [`Module`] to exactly what `BPF_PROG_LOAD` takes.
//!
//! Two steps:
//!
//! 1. **Link** ([`link_order`]): the program is its entry function plus every function
//!    reachable through calls and callbacks, in libbpf's order — depth-first by first call
//!    site: scanning a function, the first reference to a function not yet placed appends
//!    it, and its own body is scanned before the scan of the caller goes on. So bpfir and
//!    libbpf hand the kernel the same instructions (and get the same program tag). A function
//!    shared by several programs is emitted into each.
//! 2. **Lower** ([`lower`]): one walk over the laid-out bodies assigns slots (an `ld_imm64`
//!    takes two); from that one table come the bytecode with jumps, calls, callbacks, maps,
//!    data and externs patched, `func_info` (one per function, at its first slot),
//!    `line_info` (in slot order, one at every function start) and `core_relo` (byte offsets).
//!    Everything the kernel checks about these is checked here first, and a violation names
//!    the function and instruction.
//!
//! Lowering does no I/O: maps, data sections and externs are resolved through
//! [`Bindings`] the caller fills (with fds from `MAP_CREATE`, kernel BTF ids, ...).

use std::collections::HashMap;
use std::fmt;

use la_arena::ArenaMap;

use crate::btf::{StrOffset, WireTypeId};
use crate::btf_ext::CoreReloKind;
use crate::insn::{CallKind, Insn, PseudoKind};
use crate::ir::{DataId, ExternId, FuncId, InsnId, MapId, Module, Ref};
use crate::Endian;

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
    pub maps: ArenaMap<MapId, i32>,
    /// Fds of the array maps that hold data sections.
    pub data: ArenaMap<DataId, i32>,
    /// Externs.
    pub externs: ArenaMap<ExternId, ExternBinding>,
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

    /// The bytecode in byte order `endian`.
    pub fn insn_bytes(&self, endian: Endian) -> Vec<u8> {
        crate::insn::encode_all(&self.insns, endian)
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
/// one, the instruction (by id and position in its function).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LowerError {
    /// The entry is not a program, or has no instructions.
    #[error("function {function}: {reason}")]
    BadEntry {
        /// The function.
        function: String,
        /// What is wrong.
        reason: String,
    },
    /// An instruction's reference cannot be lowered.
    #[error("function {function} instruction {index} ({insn}): {reason}")]
    BadInsn {
        /// The function holding the instruction.
        function: String,
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

/// The functions of the program whose entry is `entry`, in layout order: the entry, then
/// every function it reaches through calls and callbacks, depth-first by first call site.
pub fn link_order(module: &Module, entry: FuncId) -> Vec<FuncId> {
    let mut order = vec![entry];
    let mut placed: HashMap<FuncId, ()> = HashMap::from([(entry, ())]);
    // An explicit stack of (function, next instruction to scan) keeps deep call chains from
    // growing the native stack.
    let mut stack = vec![module.function(entry).first_insn()];
    while let Some(top) = stack.last_mut() {
        let Some(id) = *top else {
            stack.pop();
            continue;
        };
        *top = module.next_insn(id);
        if let Some(Ref::Call(callee) | Ref::FuncAddr(callee)) = module.reference(id) {
            if placed.insert(callee, ()).is_none() {
                order.push(callee);
                stack.push(module.function(callee).first_insn());
            }
        }
    }
    order
}

struct Lowering<'a> {
    module: &'a Module,
    bindings: &'a Bindings,
    /// Slot of every instruction of the program.
    slots: HashMap<InsnId, u32>,
    /// First slot of every function of the program.
    starts: HashMap<FuncId, u32>,
}

impl Lowering<'_> {
    fn insn_error(&self, func: FuncId, id: InsnId, reason: String) -> LowerError {
        let (function, index, insn) = self.module.insn_context(func, id);
        LowerError::BadInsn {
            function,
            index,
            insn,
            reason,
        }
    }

    fn callee_start(&self, func: FuncId, id: InsnId, callee: FuncId) -> Result<u32, LowerError> {
        self.starts.get(&callee).copied().ok_or_else(|| {
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
        match (module.reference(id), &mut insn) {
            (None, i) if i.is_jump() => {
                return Err(self.insn_error(func, id, "jump without a target".into()))
            }
            (
                None,
                Insn::Call {
                    kind: CallKind::Local,
                    ..
                },
            ) => return Err(self.insn_error(func, id, "bpf-to-bpf call without a callee".into())),
            (None, _) => {}
            (Some(Ref::Jump(target)), i) => {
                if module.func_of(target) != Some(func) {
                    let why = match module.func_of(target) {
                        None => "jump target was removed",
                        Some(_) => "jump target is in another function",
                    };
                    return Err(self.insn_error(func, id, why.into()));
                }
                let t = self.slots[&target];
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
                *imm = rel(start);
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
                        *imm =
                            POISON_CALL_KFUNC_BASE.saturating_add(ext.into_raw().into_u32() as i32);
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
    let program = module.function(entry);
    if program.first_insn().is_none() {
        return Err(LowerError::BadEntry {
            function: program.name.clone(),
            reason: "the function has no instructions".into(),
        });
    }
    let functions = link_order(module, entry);

    // Layout: one walk assigns every slot.
    let mut lowering = Lowering {
        module,
        bindings,
        slots: HashMap::new(),
        starts: HashMap::new(),
    };
    let mut slot: usize = 0;
    for &f in &functions {
        let mut first = true;
        for id in module.func_insns(f) {
            if first {
                lowering.starts.insert(f, slot as u32);
                first = false;
            }
            lowering.slots.insert(id, slot as u32);
            slot += module.insn(id).n_slots();
            if slot > MAX_SLOTS {
                return Err(LowerError::TooLarge {
                    program: program.name.clone(),
                    reason: format!("more than {MAX_SLOTS} instruction slots"),
                });
            }
        }
    }

    let has_btf = module.btf.is_some();
    let mut out = LoweredProgram {
        name: program.name.clone(),
        section: program.section.clone(),
        functions: functions.clone(),
        insns: Vec::with_capacity(lowering.slots.len()),
        func_info: Vec::new(),
        line_info: Vec::new(),
        core_relos: Vec::new(),
    };
    let btf = module.btf.as_ref();
    for &f in &functions {
        let func = module.function(f);
        let Some(&start) = lowering.starts.get(&f) else {
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
                insn_off: start,
                type_id: btf.wire_id(ty),
            });
        }
        let mut at_start = true;
        for id in module.func_insns(f) {
            let slot = lowering.slots[&id];
            out.insns.push(lowering.patch(f, id, slot)?);
            let line = module.line_of(id).or_else(|| {
                // The kernel wants a line at every function start: an instruction inserted
                // before the first one takes the first line the function has.
                at_start
                    .then(|| module.func_insns(f).find_map(|i| module.line_of(i)))
                    .flatten()
            });
            if let (Some(line), true) = (line, has_btf) {
                let l = module.line(line);
                out.line_info.push(LineInfoRecord {
                    insn_off: slot,
                    file_name: l.file,
                    line: l.text,
                    line_num: l.line,
                    col: l.col,
                });
            }
            if let (Some(core), Some(btf)) = (module.core_of(id), btf) {
                let c = module.core_relo(core);
                out.core_relos.push(CoreReloRecord {
                    insn_off: slot * 8,
                    type_id: btf.wire_id(c.ty),
                    access: c.access_str,
                    kind: c.kind,
                });
            }
            at_start = false;
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
