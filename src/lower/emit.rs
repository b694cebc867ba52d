//! The walk that lowers one program (see [the module documentation](super)).
//!
//! The functions are placed in libbpf's order (depth-first by first call or callback
//! reference, then the exception callback, as
//! [`link_order`](crate::analysis::callgraph::link_order) lists them), and each one, as it
//! is placed, is taken through every step while its body is in cache:
//!
//! 1. **verified** by the IR verifier, whose walk also lists the function's callees (which
//!    the placing goes on with);
//! 2. **laid out**: each instruction gets its slot (an `ld_imm64` takes two), and the
//!    function's instructions are appended to [`LoweredProgram::insn_ids`];
//! 3. **emitted** from that list: the bytecode with jumps, calls, callbacks, maps, data and
//!    externs patched, its `func_info`, `line_info` and `core_relo` records. A call or
//!    callback whose callee is placed later is patched once the whole program is laid out.
//!
//! So the IR is fetched from memory once, however large the program: at a million
//! instructions (~56 bytes of IR each) it no longer fits in any cache, and a walk per step
//! made every step pay for memory again. The output vectors are sized for the entry and
//! the functions that are not programs (what a program can link), and grow past that only
//! for a program that calls another program's entry.
//!
//! Errors are those of a verify-then-lower pipeline: once the IR verifier found an error
//! nothing more is laid out or emitted (and the output is dropped), but every function the
//! program links is still verified and all errors are reported; then a program past the
//! slot limit; then the first instruction (in program order) that cannot be lowered.
//!
//! Costs: O(instructions + call sites) of the functions the program links, with one dense
//! slot table (4 bytes per instruction of the module).

use std::collections::HashSet;

use super::slots::{Slots, TooManySlots};
use super::{
    Bindings, CoreReloRecord, ExternBinding, FuncInfoRecord, LineInfoRecord, LowerError,
    LoweredProgram, POISON_CALL_KFUNC_BASE,
};
use crate::analysis::callgraph::exception_callback;
use crate::insn::{CallKind, Insn, PseudoKind};
use crate::ir::{FuncId, InsnId, Module, Ref};
use crate::verify::Verifier;

/// One program being lowered.
struct Lowering<'a> {
    module: &'a Module,
    bindings: &'a Bindings,
    verifier: Verifier<'a>,
    /// Slot of every instruction and first slot of every function laid out so far.
    layout: Slots,
    out: LoweredProgram,
    /// The functions placed so far (those of `out.functions`).
    placed: HashSet<FuncId>,
    /// The call and callback references of the functions on the placing stack, each
    /// function's in body order, one function after the other.
    callees: Vec<FuncId>,
    /// The program passed the slot limit: nothing more is laid out.
    too_large: bool,
    /// The first instruction (in program order) that could not be lowered: nothing more is
    /// emitted.
    failed: Option<LowerError>,
    /// How many instructions the program is expected to have (see [`lower`]).
    expected: usize,
    /// Calls and callbacks emitted before their callee was laid out: (index in
    /// `out.insns`, slot, function, instruction, reference).
    pending: Vec<(usize, u32, FuncId, InsnId, Ref)>,
}

/// Lowers the program whose entry is `entry`, in at most `max_slots` slots.
pub(super) fn lower(
    module: &Module,
    entry: FuncId,
    bindings: &Bindings,
    max_slots: usize,
) -> Result<LoweredProgram, LowerError> {
    let (prog_name, section) = match module.try_function(entry) {
        Ok(f) => (f.name.clone(), f.section.clone()),
        Err(_) => (String::new(), String::new()),
    };
    let mut l = Lowering {
        module,
        bindings,
        verifier: Verifier::new(module),
        layout: Slots::new(module, max_slots),
        out: LoweredProgram {
            name: prog_name,
            section,
            functions: Vec::new(),
            insns: Vec::new(),
            insn_ids: Vec::new(),
            func_info: Vec::new(),
            line_info: Vec::new(),
            core_relos: Vec::new(),
        },
        placed: HashSet::new(),
        callees: Vec::new(),
        too_large: false,
        failed: None,
        expected: 0,
        pending: Vec::new(),
    };
    // A program is its entry and some of the functions that are not programs: the output
    // is sized for that at most, as the records seen so far predict (see
    // `reserve_for_rest`).
    l.expected = module.try_function(entry).map_or(0, |f| f.n_insns())
        + module
            .functions()
            .filter(|(f, func)| *f != entry && !func.is_program)
            .map(|(_, func)| func.n_insns())
            .sum::<usize>();
    l.place(entry);
    l.place_reached();
    if let Some(cb) = exception_callback(module, entry) {
        if l.place(cb) {
            l.place_reached();
        }
    }
    let mut verifier = std::mem::replace(&mut l.verifier, Verifier::new(module));
    verifier.program_rules(entry, &l.out.functions);
    verifier.errors.into_result()?;
    // Verified: the entry is the module's.
    let program = module.function(entry);
    if program.first_insn().is_none() {
        return Err(LowerError::BadEntry {
            function: program.name.clone(),
            reason: "the function has no instructions".into(),
        });
    }
    if l.too_large {
        return Err(LowerError::TooLarge {
            program: program.name.clone(),
            reason: format!(
                "more than {} instruction slots",
                max_slots.min(super::MAX_SLOTS)
            ),
        });
    }
    if let Some(e) = l.failed.take() {
        return Err(e);
    }
    l.finish_calls()?;
    Ok(l.out)
}

/// Makes room in `v` for `need` more entries: when it is full, for as many as the program
/// will hold at the density so far (`v`'s entries for the first `done` of `expected`
/// instructions, plus a sixteenth for what varies), so that a program whose functions look
/// alike is sized about once, with little to spare, and no vector doubles past what it holds.
fn reserve_for_rest<T>(v: &mut Vec<T>, need: usize, done: usize, expected: usize) {
    let want = v.len() + need;
    if want <= v.capacity() {
        return;
    }
    let expected = expected.max(done).max(1) as u128;
    let predicted = want as u128 * expected / done.max(1) as u128;
    let predicted = usize::try_from(predicted + predicted / 16).unwrap_or(usize::MAX);
    // At most what the rest of the program could hold: every remaining instruction one
    // entry (lines: one per instruction, plus one per function, which `need` counts).
    let bound = want.saturating_add(expected as usize - done.min(expected as usize));
    v.reserve_exact(predicted.clamp(want, bound.max(want)) - v.len());
}

impl<'a> Lowering<'a> {
    /// Places `f` after the functions placed so far, unless it is placed already; `true`
    /// when it was placed now (its callees are then on top of [`callees`](Self::callees)).
    fn place(&mut self, f: FuncId) -> bool {
        if !self.placed.insert(f) {
            return false;
        }
        self.out.functions.push(f);
        let mut callees = std::mem::take(&mut self.callees);
        self.verifier.function_and_callees(f, Some(&mut callees));
        self.callees = callees;
        // Nothing is lowered once an error was found, but every function is verified.
        if self.verifier.errors.is_empty() && !self.too_large {
            let from = self.out.insn_ids.len();
            // Verified: `f` is the module's.
            let n = self.module.function(f).n_insns();
            reserve_for_rest(&mut self.out.insn_ids, n, from + n, self.expected);
            match self.layout.lay_out(self.module, f, &mut self.out.insn_ids) {
                Err(TooManySlots) => self.too_large = true,
                Ok((lines, core)) if self.failed.is_none() => {
                    let done = self.out.insn_ids.len();
                    let out = &mut self.out;
                    reserve_for_rest(&mut out.insns, done - from, done, self.expected);
                    if self.module.btf.is_some() {
                        // A function whose first instruction has no line gets one more.
                        reserve_for_rest(&mut out.line_info, lines + 1, done, self.expected);
                        reserve_for_rest(&mut out.core_relos, core, done, self.expected);
                        out.func_info.reserve(1);
                    }
                    if let Err(e) = self.emit(f, from..done) {
                        self.failed = Some(e);
                    }
                }
                Ok(_) => {}
            }
        }
        true
    }

    /// Places, depth-first, every function reached from the function placed last (whose
    /// callees are the last ones in [`callees`](Self::callees)) that is not placed yet: on
    /// the first reference to a function, it is placed, and what it reaches before the scan
    /// of the referring function goes on. An explicit stack keeps deep call chains off the
    /// native stack.
    fn place_reached(&mut self) {
        // Per function being scanned: where its callees start in `callees`, the next one to
        // look at, and where they end.
        let mut stack = vec![(0, 0, self.callees.len())];
        while let Some(top) = stack.last_mut() {
            let (start, next, end) = *top;
            if next == end {
                self.callees.truncate(start);
                stack.pop();
                continue;
            }
            top.1 += 1;
            let c = self.callees[next];
            let from = self.callees.len();
            if self.place(c) {
                stack.push((from, from, self.callees.len()));
            }
        }
    }

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

    /// Emits function `f`, whose instructions are `range` of `out.insn_ids`, into `out`.
    fn emit(&mut self, f: FuncId, range: std::ops::Range<usize>) -> Result<(), LowerError> {
        let module = self.module;
        // Verified: `f` is the module's.
        let func = module.function(f);
        let Some(mut slot) = self.layout.start(f) else {
            return Err(LowerError::ExtInfo {
                function: func.name.clone(),
                reason: "the function is called but has no instructions".into(),
            });
        };
        let btf = module.btf.as_ref();
        if let Some(btf) = btf {
            let ty = func.btf_func.ok_or_else(|| LowerError::ExtInfo {
                function: func.name.clone(),
                reason: "no BTF FUNC type (the kernel needs one per function when the program has BTF); set Function::btf_func".into(),
            })?;
            if self
                .out
                .func_info
                .last()
                .is_some_and(|r| r.insn_off >= slot)
                || (self.out.func_info.is_empty() && slot != 0)
            {
                return Err(LowerError::ExtInfo {
                    function: func.name.clone(),
                    reason: format!("func_info at {slot} does not come after the previous one"),
                });
            }
            self.out.func_info.push(FuncInfoRecord {
                insn_off: slot,
                type_id: btf.wire_id(ty),
            });
        }
        let start = slot;
        let mut at_start = true;
        let mut line_at_start = false;
        for j in range {
            let id = self.out.insn_ids[j];
            let (insn, pending) = self.patch(f, id, slot)?;
            if let Some(r) = pending {
                self.pending.push((self.out.insns.len(), slot, f, id, r));
            }
            self.out.insns.push(insn);
            if let Some(btf) = btf {
                let line = module.line_of(id).or_else(|| {
                    // The kernel wants a line at every function start: an instruction
                    // inserted before the first one takes the first line the function has.
                    at_start
                        .then(|| module.func_insns(f).find_map(|i| module.line_of(i)))
                        .flatten()
                });
                if let Some(line) = line {
                    if self
                        .out
                        .line_info
                        .last()
                        .is_some_and(|r| r.insn_off >= slot)
                    {
                        return Err(LowerError::ExtInfo {
                            function: func.name.clone(),
                            reason: format!(
                                "line_info record {} is not after the previous one",
                                self.out.line_info.len()
                            ),
                        });
                    }
                    let l = module.line(line);
                    self.out.line_info.push(LineInfoRecord {
                        insn_off: slot,
                        file_name: l.file,
                        line: l.text,
                        line_num: l.line,
                        col: l.col,
                    });
                    line_at_start |= at_start;
                }
                if let Some(core) = module.core_of(id) {
                    let c = module.core_relo(core);
                    self.out.core_relos.push(CoreReloRecord {
                        insn_off: slot * 8,
                        type_id: btf.wire_id(c.ty),
                        access: c.access_str,
                        kind: c.kind,
                    });
                }
            }
            at_start = false;
            // Laid out just before: `slot` stays below MAX_SLOTS.
            slot += insn.n_slots() as u32;
        }
        // With BTF, the verifier made sure every function has a line when one has.
        if btf.is_some() && !line_at_start && !self.out.line_info.is_empty() {
            return Err(LowerError::ExtInfo {
                function: func.name.clone(),
                reason: format!("no line_info at the function's first instruction {start}"),
            });
        }
        Ok(())
    }

    /// Sets the offset of call or callback `insn` (reference `r`, at `slot`) to the function
    /// starting at slot `start`.
    fn set_callee(
        &self,
        func: FuncId,
        id: InsnId,
        r: Ref,
        insn: &mut Insn,
        slot: u32,
        start: u32,
    ) -> Result<(), LowerError> {
        let rel = start as i64 - (slot as i64 + 1);
        match (r, insn) {
            (Ref::Call(_), Insn::Call { kind, imm, off }) => {
                *kind = CallKind::Local;
                *off = 0;
                *imm = i32::try_from(rel)
                    .map_err(|_| self.insn_error(func, id, "call offset overflows".into()))?;
            }
            (Ref::FuncAddr(_), Insn::LdImm64 { kind, imm, .. }) => {
                *kind = PseudoKind::Func;
                // The offset is the first slot's 32-bit imm; the second slot's stays 0 (as
                // libbpf writes it: the kernel hashes it into the program tag), also for a
                // callee laid out before the caller.
                *imm = i64::from(rel as i32 as u32);
            }
            (r, _) => {
                return Err(self.insn_error(
                    func,
                    id,
                    format!("reference {r:?} does not fit this instruction"),
                ))
            }
        }
        Ok(())
    }

    /// Patches the calls and callbacks emitted before their callees were laid out.
    fn finish_calls(&mut self) -> Result<(), LowerError> {
        for (at, slot, func, id, r) in std::mem::take(&mut self.pending) {
            let (Ref::Call(callee) | Ref::FuncAddr(callee)) = r else {
                continue;
            };
            let start = self.layout.start(callee).ok_or_else(|| {
                self.insn_error(
                    func,
                    id,
                    format!(
                        "callee {} has no instructions",
                        self.module.function(callee).name
                    ),
                )
            })?;
            let mut insn = self.out.insns[at];
            self.set_callee(func, id, r, &mut insn, slot, start)?;
            self.out.insns[at] = insn;
        }
        Ok(())
    }

    /// The instruction `id` (at `slot`) with its reference patched in, and its reference
    /// when it is a call or callback whose callee is not laid out yet.
    fn patch(
        &self,
        func: FuncId,
        id: InsnId,
        slot: u32,
    ) -> Result<(Insn, Option<Ref>), LowerError> {
        let module = self.module;
        let mut insn = *module.insn(id);
        let rel = |target: u32| target as i64 - (slot as i64 + 1);
        let fd_of = |fd: Option<&i32>, what: String| {
            fd.copied()
                .ok_or_else(|| self.insn_error(func, id, format!("{what} has no fd binding")))
        };
        // The function was verified before it was emitted: references exist, fit their
        // instructions, and jump targets are in the same function (so they have slots).
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
            (Some(r @ (Ref::Call(callee) | Ref::FuncAddr(callee))), i) => {
                match self.layout.start(callee) {
                    Some(start) => self.set_callee(func, id, r, i, slot, start)?,
                    None => return Ok((insn, Some(r))),
                }
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
        Ok((insn, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::build::exit;
    use crate::insn::Reg;
    use crate::ir::build::{call, ja, ld_func_addr, mov64_imm};
    use crate::ir::{Function, Meta};
    use crate::Endian;

    #[test]
    fn room_is_made_for_the_rest_at_the_density_so_far_within_bounds() {
        // Nothing to do while there is room.
        let mut v: Vec<u8> = Vec::with_capacity(10);
        reserve_for_rest(&mut v, 10, 5, 100);
        assert_eq!(v.capacity(), 10);
        // 10 records for the first 100 of 1000 instructions: room for about 100 (and a
        // sixteenth), not a doubling per function.
        let mut v: Vec<u8> = vec![0; 4];
        reserve_for_rest(&mut v, 6, 100, 1000);
        assert!((100..=110).contains(&v.capacity()), "{}", v.capacity());
        // Never more than one per remaining instruction past what is asked.
        let mut v: Vec<u8> = Vec::new();
        reserve_for_rest(&mut v, 90, 100, 110);
        assert!((90..=100).contains(&v.capacity()), "{}", v.capacity());
        // More instructions than expected (a program calling another's entry): what is
        // asked for, at least.
        let mut v: Vec<u8> = Vec::new();
        reserve_for_rest(&mut v, 50, 200, 100);
        assert!(v.capacity() >= 50);
        // Degenerate counts do not divide by zero.
        let mut v: Vec<u8> = Vec::new();
        reserve_for_rest(&mut v, 3, 0, 0);
        assert!(v.capacity() >= 3);
    }

    #[test]
    fn calls_and_callbacks_to_functions_placed_later_are_patched() {
        // prog: call a; r2 = &b; exit. a: exit. b: ja +0; exit. Placed prog, a, b: both
        // references are emitted before their callee has a slot.
        let mut m = Module::new(Endian::Little);
        let prog = m.add_function(Function::new("prog", "socket", true));
        let a = m.add_function(Function::new("a", ".text", false));
        let b = m.add_function(Function::new("b", ".text", false));
        m.append_built(prog, call(a)).unwrap();
        m.append_built(prog, ld_func_addr(Reg::R2, b)).unwrap();
        m.append_built(prog, mov64_imm(Reg::R0, 0)).unwrap();
        m.append(prog, exit(), Meta::default()).unwrap();
        m.append(a, exit(), Meta::default()).unwrap();
        let b_exit = m.append(b, exit(), Meta::default()).unwrap();
        m.insert_built_before(b_exit, ja(b_exit)).unwrap();
        let l = super::super::lower(&m, prog, &Bindings::default()).unwrap();
        assert_eq!(l.functions, vec![prog, a, b]);
        // Slots: prog 0..5 (call, ld_imm64 in two, mov, exit), a 5, b 6..8; entries 0..4,
        // 4, 5..7.
        assert_eq!(
            l.insns[0],
            Insn::Call {
                kind: CallKind::Local,
                off: 0,
                imm: 4
            }
        );
        assert_eq!(
            l.insns[1],
            Insn::LdImm64 {
                kind: PseudoKind::Func,
                dst: Reg::R2,
                imm: 4
            }
        );
        assert_eq!(l.insns[5], Insn::Ja { off: 0 });
        assert_eq!(l.insn_ids.len(), l.insns.len());
    }
}
