//! Edit sequences that keep a generated module well-formed: [`Edit`], [`EditSequence`],
//! [`arb_edit`] and [`arb_edits`].
//!
//! An edit is drawn before the module it applies to exists, so it names functions and
//! positions by selectors taken modulo the current counts when it runs. An edit that would
//! break the module is skipped (and counted as such in the [`EditLog`]) rather than
//! applied. After any sequence:
//!
//! * every program still lowers and the module still writes and reads back: jumps target
//!   instructions of their own function, every function is non-empty and ends in `exit`;
//! * calls still only target higher-numbered functions (the call graph stays acyclic) and
//!   jumps still go forward;
//! * every function that had a source line keeps one (lowering gives a function's first
//!   instruction the function's first line, and the kernel needs a line at every function
//!   start once a program has any).
//!
//! Edits do not promise that the verifier still accepts the programs: a removed or moved
//! instruction may leave a register uninitialised on some path.

use std::collections::HashMap;

use proptest::prelude::*;

use crate::insn::{AluClass, AluOp, Insn, Operand, Reg};
use crate::ir::{FuncId, InsnId, Meta, MetaChoice, Module, Ref};

/// One edit; selectors are reduced modulo the current number of functions or instructions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Inserts `r{reg} = imm` (a 64-bit `mov`, reg 0-5) before instruction `pos` of function
    /// `func`; with `stamp_line` it gets that instruction's source line (as a pass that
    /// stamps the current location would), without none.
    Insert {
        /// Function selector.
        func: usize,
        /// Instruction selector.
        pos: usize,
        /// Destination register number, 0-5.
        reg: u8,
        /// Immediate.
        imm: i32,
        /// Whether the new instruction takes the line of the one it is inserted before.
        stamp_line: bool,
    },
    /// Removes instruction `pos` of function `func`. Skipped for the last instruction, for
    /// jump targets and for the function's only instruction with a source line.
    Remove {
        /// Function selector.
        func: usize,
        /// Instruction selector.
        pos: usize,
    },
    /// Moves up to `len + 1` instructions of function `from`, from `start` on (never its
    /// last instruction), before instruction `before` of function `to` (possibly the same
    /// function). Skipped when a jump crosses the range's boundary, when the range holds a
    /// call to a function not numbered above `to`, when it would take every source line of
    /// `from`, or when the destination is inside the range.
    Move {
        /// Source function selector.
        from: usize,
        /// First instruction selector.
        start: usize,
        /// Length of the range minus one.
        len: usize,
        /// Destination function selector.
        to: usize,
        /// Destination instruction selector.
        before: usize,
    },
    /// Splices a callee's body in place of one of function `func`'s calls (`call`
    /// selects which): the call instruction becomes the copy of the callee's first
    /// instruction (so jumps to the call land on the inlined body), the rest are inserted
    /// after it, every `exit` becomes a jump to the instruction after the call, jumps are
    /// pointed at the copies, and lines and CO-RE relocations are shared with the
    /// originals. Skipped when the function has no call.
    Inline {
        /// Function selector.
        func: usize,
        /// Call selector.
        call: usize,
    },
}

/// What applying edits did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EditLog {
    /// Edits applied.
    pub applied: usize,
    /// Edits skipped because they would have broken the module.
    pub skipped: usize,
    /// Instructions whose payload or metadata changed, or that were removed. Every other
    /// instruction that existed before keeps its instruction, reference, line and CO-RE
    /// relocation (a moved one too).
    pub touched: Vec<InsnId>,
    /// Instructions created.
    pub created: Vec<InsnId>,
    /// Instructions moved (to another place or function), metadata kept.
    pub moved: Vec<InsnId>,
}

/// A sequence of edits, drawn by [`arb_edits`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EditSequence(pub Vec<Edit>);

impl EditSequence {
    /// Applies every edit in order and returns what was done.
    pub fn apply(&self, module: &mut Module) -> EditLog {
        let mut log = EditLog::default();
        for edit in &self.0 {
            if edit.apply(module, &mut log) {
                log.applied += 1;
            } else {
                log.skipped += 1;
            }
        }
        log
    }
}

/// A strategy of one edit.
pub fn arb_edit() -> impl Strategy<Value = Edit> {
    let sel = || any::<usize>();
    prop_oneof![
        3 => (sel(), sel(), 0u8..6, -100i32..100, any::<bool>()).prop_map(
            |(func, pos, reg, imm, stamp_line)| Edit::Insert { func, pos, reg, imm, stamp_line }
        ),
        2 => (sel(), sel()).prop_map(|(func, pos)| Edit::Remove { func, pos }),
        2 => (sel(), sel(), 0usize..6, sel(), sel()).prop_map(
            |(from, start, len, to, before)| Edit::Move { from, start, len, to, before }
        ),
        1 => (sel(), sel()).prop_map(|(func, call)| Edit::Inline { func, call }),
    ]
}

/// A strategy of sequences of up to `max_len` edits.
pub fn arb_edits(max_len: usize) -> impl Strategy<Value = EditSequence> {
    prop::collection::vec(arb_edit(), 0..=max_len).prop_map(EditSequence)
}

fn nth_func(m: &Module, sel: usize) -> Option<FuncId> {
    let n = m.functions().len();
    if n == 0 {
        return None;
    }
    m.functions().nth(sel % n).map(|(f, _)| f)
}

fn jump_target(m: &Module, id: InsnId) -> Option<InsnId> {
    match m.reference(id) {
        Some(Ref::Jump(t)) => Some(t),
        _ => None,
    }
}

/// True when taking `taken` out of `body` would leave it without a source line (the
/// kernel needs one at every function start; lowering takes the function's first).
fn takes_all_lines(m: &Module, body: &[InsnId], taken: &[InsnId]) -> bool {
    body.iter().any(|&i| m.line_of(i).is_some())
        && body
            .iter()
            .all(|&i| taken.contains(&i) || m.line_of(i).is_none())
}

impl Edit {
    /// Applies the edit to `module` and records it in `log`; false when it was skipped.
    pub fn apply(&self, module: &mut Module, log: &mut EditLog) -> bool {
        match *self {
            Edit::Insert {
                func,
                pos,
                reg,
                imm,
                stamp_line,
            } => insert(module, log, func, pos, reg, imm, stamp_line),
            Edit::Remove { func, pos } => remove(module, log, func, pos),
            Edit::Move {
                from,
                start,
                len,
                to,
                before,
            } => move_range(module, log, from, start, len, to, before),
            Edit::Inline { func, call } => inline(module, log, func, call),
        }
    }
}

fn insert(
    m: &mut Module,
    log: &mut EditLog,
    func: usize,
    pos: usize,
    reg: u8,
    imm: i32,
    stamp_line: bool,
) -> bool {
    let Some(f) = nth_func(m, func) else {
        return false;
    };
    let body: Vec<InsnId> = m.func_insns(f).collect();
    let Some(&at) = body.get(pos % body.len().max(1)) else {
        return false;
    };
    let regs = [Reg::R0, Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5];
    let insn = Insn::Alu {
        class: AluClass::Alu64,
        op: AluOp::Mov,
        dst: regs[usize::from(reg) % regs.len()],
        src: Operand::Imm(imm),
    };
    let meta = Meta::new().with_line_opt(if stamp_line { m.line_of(at) } else { None });
    match m.insert_before(at, insn, meta) {
        Ok(id) => {
            log.created.push(id);
            true
        }
        Err(_) => false,
    }
}

fn remove(m: &mut Module, log: &mut EditLog, func: usize, pos: usize) -> bool {
    let Some(f) = nth_func(m, func) else {
        return false;
    };
    let body: Vec<InsnId> = m.func_insns(f).collect();
    if body.len() < 2 {
        return false;
    }
    // Never the last instruction (the exit).
    let x = body[pos % (body.len() - 1)];
    if body.iter().any(|&i| jump_target(m, i) == Some(x)) || takes_all_lines(m, &body, &[x]) {
        return false;
    }
    match m.remove(x) {
        Ok(()) => {
            log.touched.push(x);
            true
        }
        Err(_) => false,
    }
}

fn move_range(
    m: &mut Module,
    log: &mut EditLog,
    from: usize,
    start: usize,
    len: usize,
    to: usize,
    before: usize,
) -> bool {
    let (Some(f), Some(g)) = (nth_func(m, from), nth_func(m, to)) else {
        return false;
    };
    let body: Vec<InsnId> = m.func_insns(f).collect();
    if body.len() < 2 {
        return false;
    }
    let a = start % (body.len() - 1);
    let b = (a + len).min(body.len() - 2);
    let range = &body[a..=b];
    let gbody: Vec<InsnId> = m.func_insns(g).collect();
    let Some(&anchor) = gbody.get(before % gbody.len().max(1)) else {
        return false;
    };
    if range.contains(&anchor) {
        return false;
    }
    // No jump may cross the range's boundary: it would end up in another function, or
    // (within one function) point backwards.
    let crosses = body
        .iter()
        .any(|&i| jump_target(m, i).is_some_and(|t| range.contains(&i) != range.contains(&t)));
    // Calls keep targeting higher-numbered functions only.
    let backwards_call = range.iter().any(|&i| match m.reference(i) {
        Some(Ref::Call(c) | Ref::FuncAddr(c)) => c.index() <= g.index(),
        _ => false,
    });
    if crosses || backwards_call || takes_all_lines(m, &body, range) {
        return false;
    }
    match m.move_range(range[0], range[range.len() - 1], g, Some(anchor)) {
        Ok(()) => {
            log.moved.extend_from_slice(range);
            true
        }
        Err(_) => false,
    }
}

fn inline(m: &mut Module, log: &mut EditLog, func: usize, call: usize) -> bool {
    let Some(f) = nth_func(m, func) else {
        return false;
    };
    let calls: Vec<(InsnId, FuncId)> = m
        .func_insns(f)
        .filter_map(|i| match (m.insn(i), m.reference(i)) {
            (Insn::Call { .. }, Some(Ref::Call(g))) => Some((i, g)),
            _ => None,
        })
        .collect();
    let Some(&(site, callee)) = calls.get(call % calls.len().max(1)) else {
        return false;
    };
    let Some(cont) = m.next_insn(site) else {
        return false;
    };
    let originals: Vec<InsnId> = m.func_insns(callee).collect();
    if originals.is_empty() || callee == f {
        return false;
    }
    let copy = |m: &Module, orig: InsnId| -> (Insn, Meta) {
        let mut meta = m.meta(orig);
        match m.insn(orig) {
            Insn::Exit => {
                meta.reference = Some(Ref::Jump(cont));
                (Insn::Ja { off: 0 }, meta)
            }
            insn => (*insn, meta),
        }
    };
    let mut new_ids = HashMap::with_capacity(originals.len());
    let (insn, meta) = copy(m, originals[0]);
    if m.replace(site, insn, MetaChoice::Replace(meta)).is_err() {
        return false;
    }
    log.touched.push(site);
    new_ids.insert(originals[0], site);
    let mut prev = site;
    for &orig in &originals[1..] {
        let (insn, meta) = copy(m, orig);
        match m.insert_after(prev, insn, meta) {
            Ok(id) => {
                log.created.push(id);
                new_ids.insert(orig, id);
                prev = id;
            }
            // `prev` is attached, so this cannot happen; stop rather than loop on it.
            Err(_) => return true,
        }
    }
    // Jumps of the copies point at the copies (the exits' jumps already point at `cont`).
    for (&orig, &id) in &new_ids {
        if let Some(t) = jump_target(m, orig) {
            if let Some(&nt) = new_ids.get(&t) {
                if m.set_reference(id, Some(Ref::Jump(nt))).is_err() {
                    return false;
                }
            }
        }
    }
    true
}
