//! Stack usage: how deep below R10 each function's frame reaches, the combined depth of a
//! program's call chains against the kernel's 512-byte limit, and free stack slots.
//!
//! A frame's depth comes from the accesses through the frame pointer: loads, stores and
//! atomics based on R10 or on a register holding `R10 + constant` (tracked forward through
//! `mov`, `add` and `sub` of constants over the CFG), and pointers into the frame that
//! escape (passed to a call, stored to memory): such a pointer is taken to reach from where
//! it points up to R10, as helpers and compiled code use it. A frame pointer moved by a
//! register amount, or holding different constants on different paths, makes the depth
//! unknown ([`FrameUsage::bounded`] is false).
//!
//! The kernel (`check_max_stack_depth`) rounds each frame up to 16 bytes when the program is
//! JIT-compiled (to 32, and at least 32, for the interpreter) and sums the frames along every
//! call chain; a chain deeper than [`MAX_BPF_STACK`] is refused. Private stacks of tracing
//! programs (Linux 6.13+) are not modelled: the count here is the shared-stack one.
//!
//! Costs: one forward dataflow pass per function over the CFG (an iteration per loop level,
//! eleven small values per block) and one walk of the call graph. Stale after an edit of a
//! function's body or of the call graph.

use std::collections::HashMap;

use crate::insn::{AluClass, AluOp, Insn, Operand, Reg};
use crate::ir::{FuncId, Module};

use super::callgraph::{call_args, callees, link_order};
use super::cfg::Cfg;
use super::AnalysisError;

/// The kernel's stack limit for one program (`MAX_BPF_STACK`), all frames of a call chain
/// together.
pub const MAX_BPF_STACK: u32 = 512;

/// How deep one function's frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameUsage {
    /// Bytes below R10 the function uses (0: none).
    pub depth: u32,
    /// False when some access could not be bounded (then `depth` is a lower bound).
    pub bounded: bool,
}

/// What a register holds, as far as the frame is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fp {
    /// Not a pointer into the frame.
    No,
    /// `R10 + c`.
    At(i64),
    /// A pointer into the frame at an unknown offset.
    Unknown,
}

impl Fp {
    fn join(self, o: Fp) -> Fp {
        match (self, o) {
            (Fp::No, x) | (x, Fp::No) => x,
            (Fp::At(a), Fp::At(b)) if a == b => Fp::At(a),
            _ => Fp::Unknown,
        }
    }
}

type State = [Fp; 11];

fn entry_state() -> State {
    let mut s = [Fp::No; 11];
    s[10] = Fp::At(0);
    s
}

/// Applies `insn` to `s`, reporting every frame reach (lowest offset touched, or `None` for
/// an unbounded one) to `reach`.
fn step(
    insn: &Insn,
    args: crate::insn::CallArgs,
    s: &mut State,
    reach: &mut impl FnMut(Option<i64>),
) {
    let r = |reg: Reg| reg.number() as usize;
    let mut touch = |fp: Fp, off: i64| match fp {
        Fp::No => {}
        Fp::At(c) => reach(Some(c + off)),
        Fp::Unknown => reach(None),
    };
    // Memory accesses through a frame pointer.
    match *insn {
        Insn::Load { src, off, .. }
        | Insn::LoadSx { src, off, .. }
        | Insn::LoadAcquire { src, off, .. } => touch(s[r(src)], i64::from(off)),
        Insn::StoreImm { dst, off, .. } => touch(s[r(dst)], i64::from(off)),
        Insn::Store { dst, off, src, .. }
        | Insn::StoreRelease { dst, off, src, .. }
        | Insn::Atomic { dst, off, src, .. } => {
            touch(s[r(dst)], i64::from(off));
            // The stored value escapes if it points into the frame.
            touch(s[r(src)], 0);
        }
        Insn::Call { .. } | Insn::CallX { .. } => {
            for a in insn.regs_read_with(args).iter() {
                touch(s[r(a)], 0);
            }
        }
        // A slot the decoder refused may touch the frame anywhere.
        Insn::Opaque { .. } => reach(None),
        _ => {}
    }
    // Register transfer.
    match *insn {
        Insn::Alu {
            class: AluClass::Alu64,
            op,
            dst,
            src,
        } => {
            let d = s[r(dst)];
            s[r(dst)] = match (op, src, d) {
                (AluOp::Mov, Operand::Reg(x), _) => s[r(x)],
                (AluOp::Add, Operand::Imm(k), Fp::At(c)) => Fp::At(c + i64::from(k)),
                (AluOp::Sub, Operand::Imm(k), Fp::At(c)) => Fp::At(c - i64::from(k)),
                (AluOp::Add | AluOp::Sub, Operand::Imm(_), Fp::Unknown) => Fp::Unknown,
                (AluOp::Add | AluOp::Sub, Operand::Reg(x), _)
                    if d != Fp::No || s[r(x)] != Fp::No =>
                {
                    Fp::Unknown
                }
                _ => Fp::No,
            };
        }
        _ => {
            for w in insn.regs_written().iter() {
                s[r(w)] = Fp::No;
            }
        }
    }
    s[10] = Fp::At(0);
}

/// The frame usage of `func`.
pub fn frame_usage(module: &Module, func: FuncId) -> Result<FrameUsage, AnalysisError> {
    let cfg = Cfg::compute(module, func)?;
    let n = cfg.n_blocks();
    let rpo = cfg.reverse_postorder();
    let mut state_in: Vec<Option<State>> = vec![None; n];
    if let Some(e) = cfg.entry() {
        state_in[e.index()] = Some(entry_state());
    }
    let mut ignore = |_: Option<i64>| {};
    let mut changed = true;
    while changed {
        changed = false;
        for &b in &rpo {
            let Some(mut s) = state_in[b.index()] else {
                continue;
            };
            for &id in cfg.insns(b) {
                step(module.insn(id), call_args(module, id), &mut s, &mut ignore);
            }
            for &succ in cfg.successors(b) {
                let new = match state_in[succ.index()] {
                    None => s,
                    Some(old) => std::array::from_fn(|i| old[i].join(s[i])),
                };
                if state_in[succ.index()] != Some(new) {
                    state_in[succ.index()] = Some(new);
                    changed = true;
                }
            }
        }
    }
    let mut lowest = 0i64;
    let mut bounded = true;
    for &b in &rpo {
        let Some(mut s) = state_in[b.index()] else {
            continue;
        };
        let mut reach = |r: Option<i64>| match r {
            Some(o) => lowest = lowest.min(o),
            None => bounded = false,
        };
        for &id in cfg.insns(b) {
            step(module.insn(id), call_args(module, id), &mut s, &mut reach);
        }
    }
    Ok(FrameUsage {
        depth: u32::try_from(-lowest).unwrap_or(u32::MAX),
        bounded,
    })
}

/// A frame's depth as the kernel counts it: rounded up to 16 bytes for a JIT-compiled
/// program, up to 32 (at least 32) for the interpreter.
pub fn rounded_frame(depth: u32, jit: bool) -> u32 {
    if jit {
        depth.div_ceil(16) * 16
    } else {
        depth.max(1).div_ceil(32) * 32
    }
}

/// Stack usage of one program: every function's frame and the deepest call chain.
#[derive(Clone, Debug)]
pub struct ProgramStack {
    /// Frame usage of every function of the program, in layout order.
    pub frames: Vec<(FuncId, FrameUsage)>,
    /// The deepest chain's total, frames rounded as the kernel rounds them.
    pub combined: u32,
    /// The functions of the deepest chain, from the entry.
    pub deepest_chain: Vec<FuncId>,
    /// False if some frame's depth is unknown.
    pub bounded: bool,
}

impl ProgramStack {
    /// Whether the kernel's 512-byte limit holds (as far as the frames are bounded).
    pub fn fits(&self) -> bool {
        self.bounded && self.combined <= MAX_BPF_STACK
    }
}

/// Stack usage of the program whose entry is `entry` (`jit`: round frames as for a
/// JIT-compiled program, the kernel's default).
pub fn program_stack(
    module: &Module,
    entry: FuncId,
    jit: bool,
) -> Result<ProgramStack, AnalysisError> {
    let order = link_order(module, entry);
    let mut frames = Vec::with_capacity(order.len());
    let mut usage = HashMap::new();
    for &f in &order {
        let u = frame_usage(module, f)?;
        usage.insert(f, u);
        frames.push((f, u));
    }
    let (combined, deepest_chain) = deepest(module, entry, &|f| usage[&f].depth, jit);
    Ok(ProgramStack {
        bounded: frames.iter().all(|(_, u)| u.bounded),
        frames,
        combined,
        deepest_chain,
    })
}

/// The deepest call chain from `entry` with frame depths from `depth`: (total, chain).
fn deepest(
    module: &Module,
    entry: FuncId,
    depth: &dyn Fn(FuncId) -> u32,
    jit: bool,
) -> (u32, Vec<FuncId>) {
    // Depth-first over call paths; a function already on the path (recursion, which the
    // kernel refuses) is not entered again. Memoized per function: the deepest chain below a
    // function does not depend on how it was reached once recursion is cut.
    fn walk(
        module: &Module,
        f: FuncId,
        depth: &dyn Fn(FuncId) -> u32,
        jit: bool,
        path: &mut Vec<FuncId>,
        memo: &mut HashMap<FuncId, (u32, Vec<FuncId>)>,
    ) -> (u32, Vec<FuncId>) {
        if let Some(m) = memo.get(&f) {
            return m.clone();
        }
        path.push(f);
        let mut best = (0, Vec::new());
        for c in callees(module, f) {
            if path.contains(&c) {
                continue;
            }
            let sub = walk(module, c, depth, jit, path, memo);
            if sub.0 > best.0 || best.1.is_empty() {
                best = sub;
            }
        }
        path.pop();
        let mut chain = vec![f];
        chain.extend(best.1);
        let r = (rounded_frame(depth(f), jit) + best.0, chain);
        memo.insert(f, r.clone());
        r
    }
    walk(
        module,
        entry,
        depth,
        jit,
        &mut Vec::new(),
        &mut HashMap::new(),
    )
}

/// A stack slot of `size` bytes (1, 2, 4 or 8, or a multiple of 8) that no instruction of
/// `func` uses, as an offset from R10, aligned to its size: below everything the function
/// reaches, so writing it changes nothing the function reads. `None` when the frame's depth
/// is unknown, or when the larger frame would take some program of `module` that calls
/// `func` past the kernel's 512-byte limit (frames rounded as for the JIT).
pub fn free_stack_slot(
    module: &Module,
    func: FuncId,
    size: u32,
) -> Result<Option<i16>, AnalysisError> {
    if size == 0 {
        return Ok(None);
    }
    let usage = frame_usage(module, func)?;
    if !usage.bounded {
        return Ok(None);
    }
    let align = if size < 8 {
        size.next_power_of_two()
    } else {
        8
    };
    let new_depth = usage.depth.div_ceil(align) * align + size;
    if new_depth > MAX_BPF_STACK {
        return Ok(None);
    }
    for (entry, _) in module.programs() {
        let order = link_order(module, entry);
        if !order.contains(&func) {
            continue;
        }
        let mut depths = HashMap::new();
        for &f in &order {
            let u = if f == func {
                usage
            } else {
                frame_usage(module, f)?
            };
            if !u.bounded {
                return Ok(None);
            }
            depths.insert(f, if f == func { new_depth } else { u.depth });
        }
        let (total, _) = deepest(module, entry, &|f| depths[&f], true);
        if total > MAX_BPF_STACK {
            return Ok(None);
        }
    }
    Ok(Some(-(new_depth as i32) as i16))
}
