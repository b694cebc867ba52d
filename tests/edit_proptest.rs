//! Property test of the editing API against a plain model.
//!
//! The model is a `Vec<Vec<InsnId>>` (per function, the ordered body) plus, per instruction
//! ever created, its `Insn` and metadata (reference — a jump's target id —, line, CO-RE).
//! Random edit sequences (insert before/after, append, remove, re-attach, replace keeping or
//! replacing metadata, move a range within or between functions, append a body, create a
//! function, redirect a call), including bad edits, are applied to both a `Module` and the
//! model; the model predicts the result (new ids, or the precise `IrError`), and after each
//! step the module's bodies, links, `func_of`, metadata and jump targets must equal the
//! model's. Modules start from generated functions (random jumps, calls, lines, CO-RE ids)
//! and from `testdata/globals.bpfel.o`.
//!
//! Replay: the RNG seed is fixed (`SEED`), so every run draws the same cases and a failure
//! reproduces as is; `PROPTEST_RNG_SEED=<n>` explores other seeds, and the seed in use is
//! printed. Failure persistence is off (`failure_persistence: None`): with a fixed seed a
//! regressions file would add nothing, and writing one from a test run would dirty the tree;
//! proptest prints the minimal failing edit sequence, which is what to turn into a unit test.

mod common;

#[path = "common/seeded.rs"]
mod seeded;

use std::sync::OnceLock;

use bpfir::btf::StrOffset;
use bpfir::btf::{Idx, RawIdx};
use bpfir::btf_ext::{CoreAccess, CoreReloKind};
use bpfir::insn::{AluClass, AluOp, CallKind, Insn, JmpClass, JmpOp, Operand, Reg};
use bpfir::ir::{
    CoreId, CoreRelo, FuncId, Function, InsnId, IrError, LineId, Meta, MetaChoice, Module, Ref,
    SourceLine,
};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

/// The default seed of every run.
const SEED: u64 = 0x6270_6669_7220_6564;

fn config() -> ProptestConfig {
    seeded::config(SEED, 256)
}

/// The instruction of `m` at index `raw` (ids are given out densely from 0).
fn id(m: &Module, raw: usize) -> InsnId {
    m.id_at::<Insn>(raw).expect("an instruction of the module")
}

/// The function of `m` at index `raw`.
fn func_id(m: &Module, raw: usize) -> FuncId {
    m.id_at::<Function>(raw).expect("a function of the module")
}

/// One instruction of the model: its payload and metadata (the jump target, if any, is in
/// `meta.reference`).
#[derive(Clone, Debug, PartialEq)]
struct ModelInsn {
    insn: Insn,
    meta: Meta,
}

/// The plain model: bodies by function index, and every instruction by raw id.
#[derive(Clone, Debug)]
struct Model {
    funcs: Vec<Vec<InsnId>>,
    insns: Vec<ModelInsn>,
    /// Line and CO-RE ids an edit may pick from.
    lines: Vec<LineId>,
    cores: Vec<CoreId>,
}

impl Model {
    /// The model of `m` as it is; functions and instructions must be numbered 0.. (true of
    /// every module, since ids are arena indices).
    fn of(m: &Module, lines: Vec<LineId>, cores: Vec<CoreId>) -> Model {
        let funcs = m
            .functions()
            .enumerate()
            .map(|(i, (f, _))| {
                assert_eq!(f, func_id(m, i));
                m.func_insns(f).collect()
            })
            .collect();
        let insns = (0..m.n_insns())
            .map(|i| ModelInsn {
                insn: *m.insn(id(m, i)),
                meta: m.meta(id(m, i)),
            })
            .collect();
        Model {
            funcs,
            insns,
            lines,
            cores,
        }
    }

    fn place(&self, x: InsnId) -> Option<(usize, usize)> {
        self.funcs
            .iter()
            .enumerate()
            .find_map(|(f, b)| b.iter().position(|&i| i == x).map(|p| (f, p)))
    }

    fn detached(&self, m: &Module) -> Vec<InsnId> {
        (0..self.insns.len())
            .map(|i| id(m, i))
            .filter(|&i| self.place(i).is_none())
            .collect()
    }

    fn attached(&self) -> Vec<InsnId> {
        self.funcs.iter().flatten().copied().collect()
    }

    /// The index of the id the module gives the next instruction it creates.
    fn next_index(&self) -> usize {
        self.insns.len()
    }

    fn meta(&self, m: &Module, sel: &MetaSel) -> Meta {
        let pick = |n: usize, k: Option<usize>| k.filter(|_| n > 0).map(|k| k % n);
        Meta::new()
            .with_ref_opt(match sel.reference {
                RefSel::None => None,
                // An instruction cannot refer to one that does not exist yet.
                RefSel::Jump(k) => {
                    (!self.insns.is_empty()).then(|| Ref::Jump(id(m, k % self.insns.len())))
                }
                RefSel::Call(k) => Some(Ref::Call(func_id(m, k % self.funcs.len()))),
            })
            .with_line_opt(pick(self.lines.len(), sel.line).map(|k| self.lines[k]))
            .with_core_opt(pick(self.cores.len(), sel.core).map(|k| self.cores[k]))
    }

    /// Compares the module with the model.
    fn check(&self, m: &Module, step: usize, op: &Op) -> Result<(), TestCaseError> {
        let ctx = format!("after step {step} ({op:?})");
        prop_assert_eq!(m.n_insns(), self.insns.len(), "{}: n_insns", ctx);
        prop_assert_eq!(m.functions().len(), self.funcs.len(), "{}: functions", ctx);
        let mut func_of = vec![None; self.insns.len()];
        for (f, body) in self.funcs.iter().enumerate() {
            let fid = func_id(m, f);
            let got: Vec<InsnId> = m.func_insns(fid).collect();
            prop_assert_eq!(&got, body, "{}: body of function {}", ctx, f);
            prop_assert_eq!(m.function(fid).n_insns(), body.len(), "{}: n_insns", ctx);
            prop_assert_eq!(m.function(fid).first_insn(), body.first().copied());
            for (i, &x) in body.iter().enumerate() {
                let prev = i.checked_sub(1).map(|j| body[j]);
                prop_assert_eq!(m.prev_insn(x), prev, "{}: prev of {:?}", ctx, x);
                prop_assert_eq!(m.next_insn(x), body.get(i + 1).copied(), "{}: next", ctx);
                func_of[x.index()] = Some(fid);
            }
        }
        for (i, mi) in self.insns.iter().enumerate() {
            let x = id(m, i);
            prop_assert_eq!(m.func_of(x), func_of[i], "{}: func_of {:?}", ctx, x);
            prop_assert_eq!(m.insn(x), &mi.insn, "{}: insn {:?}", ctx, x);
            prop_assert_eq!(m.reference(x), mi.meta.reference, "{}: ref of {:?}", ctx, x);
            prop_assert_eq!(m.line_of(x), mi.meta.line, "{}: line of {:?}", ctx, x);
            prop_assert_eq!(m.core_of(x), mi.meta.core, "{}: core of {:?}", ctx, x);
        }
        Ok(())
    }
}

/// Which reference a new or replaced instruction gets.
#[derive(Clone, Debug)]
enum RefSel {
    None,
    /// A jump to the instruction with this raw id (modulo the number created).
    Jump(usize),
    /// A call to this function (modulo the number of functions).
    Call(usize),
}

/// Metadata selectors, resolved against the model when the edit runs.
#[derive(Clone, Debug)]
struct MetaSel {
    reference: RefSel,
    line: Option<usize>,
    core: Option<usize>,
}

/// One edit. Positions and functions are selectors taken modulo the current sizes.
#[derive(Clone, Debug)]
enum Op {
    InsertBefore {
        f: usize,
        pos: usize,
        insn: Insn,
        meta: MetaSel,
    },
    InsertAfter {
        f: usize,
        pos: usize,
        insn: Insn,
        meta: MetaSel,
    },
    Append {
        f: usize,
        insn: Insn,
        meta: MetaSel,
    },
    /// Removes an instruction of `f`; when `f` is empty, removes a detached one (an error).
    Remove {
        f: usize,
        pos: usize,
    },
    /// Attaches a detached instruction before one of `f`; with `attached`, tries it with an
    /// attached instruction (an error).
    Reattach {
        which: usize,
        f: usize,
        pos: usize,
        attached: bool,
    },
    Replace {
        f: usize,
        pos: usize,
        insn: Insn,
        meta: Option<MetaSel>,
    },
    MoveRange {
        from: usize,
        start: usize,
        len: usize,
        /// Swap the ends (an error unless they are equal).
        swap: bool,
        /// Take the last instruction from another function (an error).
        cross: bool,
        to: usize,
        /// `None`: at the end; `Some(k)`: before the k-th instruction (of `to`, or with
        /// `wrong_before` of another function: an error).
        before: Option<usize>,
        wrong_before: bool,
    },
    AppendBody {
        from: usize,
        to: usize,
    },
    CreateFunction,
    RedirectCall {
        f: usize,
        pos: usize,
        callee: usize,
    },
}

fn insn_strategy() -> impl Strategy<Value = Insn> {
    prop_oneof![
        4 => any::<i32>().prop_map(|imm| Insn::Alu {
            class: AluClass::Alu64,
            op: AluOp::Mov,
            dst: Reg::R0,
            src: Operand::Imm(imm),
        }),
        3 => any::<i16>().prop_map(|off| Insn::JmpCond {
            class: JmpClass::Jmp,
            op: JmpOp::Eq,
            dst: Reg::R1,
            src: Operand::Imm(0),
            off,
        }),
        2 => Just(Insn::Call { kind: CallKind::Local, imm: -1, off: 0 }),
        1 => (1..200i32).prop_map(|imm| Insn::Call { kind: CallKind::Helper, imm, off: 0 }),
        1 => Just(Insn::Exit),
    ]
}

fn meta_strategy() -> impl Strategy<Value = MetaSel> {
    (
        prop_oneof![
            2 => Just(RefSel::None),
            2 => any::<usize>().prop_map(RefSel::Jump),
            1 => any::<usize>().prop_map(RefSel::Call),
        ],
        proptest::option::of(any::<usize>()),
        proptest::option::of(any::<usize>()),
    )
        .prop_map(|(reference, line, core)| MetaSel {
            reference,
            line,
            core,
        })
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let sel = || 0usize..64;
    prop_oneof![
        3 => (sel(), sel(), insn_strategy(), meta_strategy())
            .prop_map(|(f, pos, insn, meta)| Op::InsertBefore { f, pos, insn, meta }),
        3 => (sel(), sel(), insn_strategy(), meta_strategy())
            .prop_map(|(f, pos, insn, meta)| Op::InsertAfter { f, pos, insn, meta }),
        1 => (sel(), insn_strategy(), meta_strategy())
            .prop_map(|(f, insn, meta)| Op::Append { f, insn, meta }),
        3 => (sel(), sel()).prop_map(|(f, pos)| Op::Remove { f, pos }),
        2 => (sel(), sel(), sel(), prop::bool::weighted(0.15))
            .prop_map(|(which, f, pos, attached)| Op::Reattach { which, f, pos, attached }),
        2 => (sel(), sel(), insn_strategy(), proptest::option::of(meta_strategy()))
            .prop_map(|(f, pos, insn, meta)| Op::Replace { f, pos, insn, meta }),
        4 => (
            (sel(), sel(), 0usize..8, prop::bool::weighted(0.1), prop::bool::weighted(0.1)),
            (sel(), proptest::option::of(sel()), prop::bool::weighted(0.1)),
        )
            .prop_map(|((from, start, len, swap, cross), (to, before, wrong_before))| {
                Op::MoveRange { from, start, len, swap, cross, to, before, wrong_before }
            }),
        1 => (sel(), sel()).prop_map(|(from, to)| Op::AppendBody { from, to }),
        1 => Just(Op::CreateFunction),
        1 => (sel(), sel(), sel()).prop_map(|(f, pos, callee)| Op::RedirectCall { f, pos, callee }),
    ]
}

/// A generated starting module: per function, per instruction (payload, metadata).
type Spec = Vec<Vec<(Insn, MetaSel)>>;

fn spec_strategy() -> impl Strategy<Value = Spec> {
    prop::collection::vec(
        prop::collection::vec((insn_strategy(), meta_strategy()), 0..12),
        1..4,
    )
}

/// Adds `n` lines and CO-RE records to `m` for edits to pick from.
fn add_pools(m: &mut Module, n: u32) -> (Vec<LineId>, Vec<CoreId>) {
    let lines = (0..n)
        .map(|k| {
            m.add_line(SourceLine {
                file: StrOffset(0),
                text: StrOffset(k),
                line: 1000 + k,
                col: k,
            })
        })
        .collect();
    let cores = (0..n)
        .map(|k| {
            m.add_core_relo(CoreRelo {
                ty: Idx::from_raw(RawIdx::from_u32(k + 1)),
                access_str: StrOffset(0),
                access: CoreAccess::parse("0:1").unwrap(),
                kind: CoreReloKind::FieldByteOffset,
            })
        })
        .collect();
    (lines, cores)
}

/// Builds a module from `spec`: jump targets are raw ids of any created instruction, set
/// after all are created (so they may point forwards, backwards or across functions).
fn build(spec: &Spec) -> (Module, Model) {
    let mut m = Module::new(bpfir::Endian::Little);
    let (lines, cores) = add_pools(&mut m, 4);
    let fids: Vec<FuncId> = (0..spec.len())
        .map(|i| m.add_function(Function::new(format!("f{i}"), ".text", i == 0)))
        .collect();
    let mut model = Model {
        funcs: vec![Vec::new(); spec.len()],
        insns: Vec::new(),
        lines,
        cores,
    };
    let total: usize = spec.iter().map(Vec::len).sum();
    let mut jumps = Vec::new();
    for (f, body) in spec.iter().enumerate() {
        for (insn, sel) in body {
            let meta = model.meta(&m, sel);
            if let RefSel::Jump(k) = sel.reference {
                // Resolved against the final instruction count once all exist, so jumps
                // may point forwards.
                jumps.push((model.insns.len(), k % total));
            }
            let x = m.append(fids[f], *insn, Meta::default()).unwrap();
            model.funcs[f].push(x);
            model.insns.push(ModelInsn { insn: *insn, meta });
        }
    }
    for (i, k) in jumps {
        model.insns[i].meta.reference = Some(Ref::Jump(id(&m, k)));
    }
    for (i, mi) in model.insns.iter().enumerate() {
        let x = id(&m, i);
        m.set_reference(x, mi.meta.reference).unwrap();
        m.set_line(x, mi.meta.line).unwrap();
        m.set_core(x, mi.meta.core).unwrap();
    }
    (m, model)
}

/// Applies `op` to the module and the model, and checks that the module's answer is the
/// one the model predicts.
fn apply(m: &mut Module, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    let nf = model.funcs.len();
    match op {
        Op::InsertBefore { f, pos, insn, meta } | Op::InsertAfter { f, pos, insn, meta } => {
            let f = f % nf;
            let meta = model.meta(m, meta);
            let body = &model.funcs[f];
            let after = matches!(op, Op::InsertAfter { .. });
            if body.is_empty() {
                // An empty function has no anchor; try a detached one.
                if let Some(&d) = model.detached(m).first() {
                    let got = if after {
                        m.insert_after(d, *insn, meta)
                    } else {
                        m.insert_before(d, *insn, meta)
                    };
                    prop_assert_eq!(got, Err(IrError::Detached { insn: d }));
                }
                return Ok(());
            }
            let p = pos % body.len();
            let at = body[p];
            let expect = model.next_index();
            let got = if after {
                m.insert_after(at, *insn, meta.clone())
            } else {
                m.insert_before(at, *insn, meta.clone())
            };
            prop_assert_eq!(got.clone().map(|x| x.index()), Ok(expect));
            let expect = got.unwrap();
            model.insns.push(ModelInsn { insn: *insn, meta });
            model.funcs[f].insert(p + usize::from(after), expect);
        }
        Op::Append { f, insn, meta } => {
            let f = f % nf;
            let meta = model.meta(m, meta);
            let expect = model.next_index();
            let got = m.append(func_id(m, f), *insn, meta.clone());
            prop_assert_eq!(got.clone().map(|x| x.index()), Ok(expect));
            let expect = got.unwrap();
            model.insns.push(ModelInsn { insn: *insn, meta });
            model.funcs[f].push(expect);
        }
        Op::Remove { f, pos } => {
            let f = f % nf;
            if model.funcs[f].is_empty() {
                if let Some(&d) = model.detached(m).first() {
                    prop_assert_eq!(m.remove(d), Err(IrError::Detached { insn: d }));
                }
                return Ok(());
            }
            let p = pos % model.funcs[f].len();
            let x = model.funcs[f].remove(p);
            prop_assert_eq!(m.remove(x), Ok(()));
        }
        Op::Reattach {
            which,
            f,
            pos,
            attached,
        } => {
            let f = f % nf;
            if model.funcs[f].is_empty() {
                return Ok(());
            }
            let p = pos % model.funcs[f].len();
            let at = model.funcs[f][p];
            if *attached {
                let all = model.attached();
                let x = all[which % all.len()];
                let (xf, _) = model.place(x).unwrap();
                prop_assert_eq!(
                    m.attach_before(x, at),
                    Err(IrError::Attached {
                        insn: x,
                        func: func_id(m, xf)
                    })
                );
                return Ok(());
            }
            let detached = model.detached(m);
            if detached.is_empty() {
                return Ok(());
            }
            let x = detached[which % detached.len()];
            prop_assert_eq!(m.attach_before(x, at), Ok(()));
            model.funcs[f].insert(p, x);
        }
        Op::Replace { f, pos, insn, meta } => {
            let f = f % nf;
            let choice = match meta {
                None => MetaChoice::Keep,
                Some(sel) => MetaChoice::Replace(model.meta(m, sel)),
            };
            if model.funcs[f].is_empty() {
                if let Some(&d) = model.detached(m).first() {
                    prop_assert_eq!(
                        m.replace(d, *insn, choice),
                        Err(IrError::Detached { insn: d })
                    );
                }
                return Ok(());
            }
            let x = model.funcs[f][pos % model.funcs[f].len()];
            prop_assert_eq!(m.replace(x, *insn, choice.clone()), Ok(()));
            let mi = &mut model.insns[x.index()];
            mi.insn = *insn;
            if let MetaChoice::Replace(meta) = choice {
                mi.meta = meta;
            }
        }
        Op::MoveRange {
            from,
            start,
            len,
            swap,
            cross,
            to,
            before,
            wrong_before,
        } => {
            let (from, to) = (from % nf, to % nf);
            let n = model.funcs[from].len();
            if n == 0 {
                return Ok(());
            }
            let a = start % n;
            let b = (a + len).min(n - 1);
            let (a, b) = if *swap { (b, a) } else { (a, b) };
            let first = model.funcs[from][a];
            let mut last = model.funcs[from][b];
            if *cross {
                if let Some(g) = (0..nf).find(|&g| g != from && !model.funcs[g].is_empty()) {
                    last = model.funcs[g][len % model.funcs[g].len()];
                }
            }
            let before_id = match before {
                None => None,
                Some(k) => {
                    let host = if *wrong_before {
                        (0..nf).find(|&g| g != to && !model.funcs[g].is_empty())
                    } else {
                        Some(to)
                    };
                    match host {
                        Some(h) if !model.funcs[h].is_empty() => {
                            Some(model.funcs[h][k % model.funcs[h].len()])
                        }
                        // No instruction to put it before: move to the end.
                        _ => None,
                    }
                }
            };
            let got = m.move_range(first, last, func_id(m, to), before_id);
            // The model's answer, in the order the checks are documented to run: the ends
            // in one function, the anchor in the destination, then walking from `first`
            // to `last` without meeting the anchor.
            let expect = if model.place(last).map(|p| p.0) != Some(from) {
                Err(IrError::BadRange { first, last })
            } else if before_id.is_some_and(|x| model.place(x).map(|p| p.0) != Some(to)) {
                Err(IrError::WrongInsn {
                    insn: before_id.unwrap(),
                    expected: "an instruction of the destination function",
                })
            } else {
                let body = &model.funcs[from];
                let end = body[a..].iter().position(|&x| x == last).map(|k| a + k);
                let hit = before_id.and_then(|x| body[a..].iter().position(|&y| y == x));
                match (end, hit) {
                    (Some(e), Some(h)) if a + h <= e => {
                        Err(IrError::MoveIntoItself { first, last })
                    }
                    (None, Some(_)) => Err(IrError::MoveIntoItself { first, last }),
                    (None, None) => Err(IrError::BadRange { first, last }),
                    (Some(e), _) => Ok(e),
                }
            };
            match expect {
                Err(e) => prop_assert_eq!(got, Err(e)),
                Ok(e) => {
                    prop_assert_eq!(got, Ok(()));
                    let range: Vec<InsnId> = model.funcs[from].drain(a..=e).collect();
                    let dest = &mut model.funcs[to];
                    let at = match before_id {
                        Some(x) => dest.iter().position(|&y| y == x).unwrap(),
                        None => dest.len(),
                    };
                    dest.splice(at..at, range);
                }
            }
        }
        Op::AppendBody { from, to } => {
            let (from, to) = (from % nf, to % nf);
            let got = m.append_body(func_id(m, from), func_id(m, to));
            if from == to {
                prop_assert_eq!(
                    got,
                    Err(IrError::SameFunction {
                        func: func_id(m, from)
                    })
                );
            } else {
                prop_assert_eq!(got, Ok(()));
                let body = std::mem::take(&mut model.funcs[from]);
                model.funcs[to].extend(body);
            }
        }
        Op::CreateFunction => {
            let f = m.add_function(Function::new(format!("new{nf}"), ".text", false));
            prop_assert_eq!(f, func_id(m, nf));
            model.funcs.push(Vec::new());
        }
        Op::RedirectCall { f, pos, callee } => {
            let f = f % nf;
            if model.funcs[f].is_empty() {
                return Ok(());
            }
            let x = model.funcs[f][pos % model.funcs[f].len()];
            let callee = func_id(m, callee % nf);
            let mi = &mut model.insns[x.index()];
            let got = m.redirect_call(x, callee);
            let local = matches!(
                mi.insn,
                Insn::Call {
                    kind: CallKind::Local,
                    ..
                }
            );
            if local && matches!(mi.meta.reference, None | Some(Ref::Call(_))) {
                prop_assert_eq!(got, Ok(()));
                mi.meta.reference = Some(Ref::Call(callee));
            } else {
                prop_assert_eq!(
                    got,
                    Err(IrError::WrongInsn {
                        insn: x,
                        expected: "a bpf-to-bpf call"
                    })
                );
            }
        }
    }
    Ok(())
}

fn run(mut m: Module, mut model: Model, ops: &[Op]) -> Result<(), TestCaseError> {
    model.check(&m, 0, &Op::CreateFunction)?;
    for (step, op) in ops.iter().enumerate() {
        apply(&mut m, &mut model, op)?;
        model.check(&m, step + 1, op)?;
    }
    Ok(())
}

/// `globals.bpfel.o` as read, with pools of extra lines and CO-RE records, and its model.
fn globals() -> &'static (Module, Model) {
    static GLOBALS: OnceLock<(Module, Model)> = OnceLock::new();
    GLOBALS.get_or_init(|| {
        let path = common::testdata_dir().join("globals.bpfel.o");
        let bytes = std::fs::read(&path).unwrap();
        let mut m = Module::read(&bytes).unwrap();
        let (mut lines, cores) = add_pools(&mut m, 4);
        // Lines the reader attached are in the pool too.
        for (f, _) in m.functions() {
            lines.extend(m.func_insns(f).filter_map(|x| m.line_of(x)));
        }
        lines.sort_by_key(|l| l.index());
        lines.dedup();
        let model = Model::of(&m, lines, cores);
        (m, model)
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn edits_on_generated_functions_match_the_model(
        spec in spec_strategy(),
        ops in prop::collection::vec(op_strategy(), 1..40),
    ) {
        let (m, model) = build(&spec);
        run(m, model, &ops)?;
    }

    #[test]
    fn edits_on_globals_match_the_model(ops in prop::collection::vec(op_strategy(), 1..40)) {
        let (m, model) = globals();
        run(m.clone(), model.clone(), &ops)?;
    }
}
