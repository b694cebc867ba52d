//! Edits on real programs read with `Module::read`: inserts (at a function start, before a
//! jump target inside a loop body, before a callee's first instruction), removals, replaces
//! (keeping and replacing metadata), moves of a range to a new function, appending a body and
//! redirecting a call. After every edit the whole module is compared with an expectation
//! built from a snapshot taken right after reading: every instruction the edit did not touch
//! keeps its `Insn`, reference (jumps by target id), line and CO-RE relocation, every body is
//! exactly the expected sequence, and `func_of`, `n_insns` and the links agree. Bad edits
//! come back as the precise `IrError` variant and leave the module unchanged.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bpfir::btf::StrOffset;
use bpfir::insn::{AluClass, AluOp, CallKind, Insn, Operand, Reg};
use bpfir::ir::{
    Extern, ExternKind, FuncId, Function, InsnId, IrError, Meta, MetaChoice, Module, Ref,
    SourceLine,
};

/// What the module must look like: every function's body, and every instruction ever
/// created with its `Insn` and metadata.
#[derive(Clone, Debug)]
struct Expect {
    bodies: Vec<(FuncId, Vec<InsnId>)>,
    insns: HashMap<InsnId, (Insn, Meta)>,
}

impl Expect {
    /// The module as it is now (taken once, right after reading).
    fn snapshot(m: &Module) -> Expect {
        let bodies = m
            .functions()
            .map(|(f, _)| (f, m.func_insns(f).collect()))
            .collect();
        let insns = (0..m.n_insns())
            .map(|i| {
                let id = m.id_at::<Insn>(i).unwrap();
                (id, (*m.insn(id), m.meta(id)))
            })
            .collect();
        Expect { bodies, insns }
    }

    fn body(&self, f: FuncId) -> &Vec<InsnId> {
        &self.bodies.iter().find(|(g, _)| *g == f).unwrap().1
    }

    fn body_mut(&mut self, f: FuncId) -> &mut Vec<InsnId> {
        &mut self.bodies.iter_mut().find(|(g, _)| *g == f).unwrap().1
    }

    /// Function and index of an attached instruction.
    fn place(&self, id: InsnId) -> Option<(FuncId, usize)> {
        self.bodies
            .iter()
            .find_map(|(f, b)| b.iter().position(|&i| i == id).map(|p| (*f, p)))
    }

    /// The index of the id the module gives the next instruction it creates.
    fn next_index(&self) -> usize {
        self.insns.len()
    }

    /// Records a created instruction at `index` of `f`'s body.
    fn created(&mut self, id: InsnId, insn: Insn, meta: Meta, f: FuncId, index: usize) {
        assert_eq!(
            id.index(),
            self.next_index(),
            "instruction ids are allocated in order"
        );
        self.insns.insert(id, (insn, meta));
        self.body_mut(f).insert(index, id);
    }

    fn detach(&mut self, id: InsnId) {
        let (f, p) = self.place(id).unwrap();
        self.body_mut(f).remove(p);
    }

    /// Compares everything the module exposes about layout and metadata.
    fn check(&self, m: &Module, ctx: &str) {
        assert_eq!(m.n_insns(), self.insns.len(), "{ctx}: n_insns");
        assert_eq!(m.functions().len(), self.bodies.len(), "{ctx}: functions");
        let mut func_of = HashMap::new();
        for (f, body) in &self.bodies {
            let name = &m.function(*f).name;
            let got: Vec<InsnId> = m.func_insns(*f).collect();
            assert_eq!(&got, body, "{ctx}: body of {name}");
            assert_eq!(
                m.function(*f).n_insns(),
                body.len(),
                "{ctx}: n_insns of {name}"
            );
            assert_eq!(
                m.function(*f).first_insn(),
                body.first().copied(),
                "{ctx}: {name}"
            );
            for (i, &id) in body.iter().enumerate() {
                let prev = i.checked_sub(1).map(|j| body[j]);
                assert_eq!(m.prev_insn(id), prev, "{ctx}: prev of {id:?} in {name}");
                assert_eq!(
                    m.next_insn(id),
                    body.get(i + 1).copied(),
                    "{ctx}: next of {id:?}"
                );
                func_of.insert(id, *f);
            }
        }
        for (&id, (insn, meta)) in &self.insns {
            assert_eq!(
                m.func_of(id),
                func_of.get(&id).copied(),
                "{ctx}: func_of {id:?}"
            );
            assert_eq!(m.insn(id), insn, "{ctx}: insn {id:?}");
            // Compared one by one (not only as `meta`) so a failure names the table.
            assert_eq!(
                m.reference(id),
                meta.reference,
                "{ctx}: reference of {id:?}"
            );
            assert_eq!(m.line_of(id), meta.line, "{ctx}: line of {id:?}");
            assert_eq!(m.core_of(id), meta.core, "{ctx}: core of {id:?}");
        }
    }

    /// Every `(jump, target)` pair, sorted.
    fn jumps(&self) -> Vec<(InsnId, InsnId)> {
        let mut out: Vec<_> = self
            .insns
            .iter()
            .filter_map(|(&id, (_, meta))| match meta.reference {
                Some(Ref::Jump(t)) => Some((id, t)),
                _ => None,
            })
            .collect();
        out.sort_by_key(|&(j, _)| j.index());
        out
    }
}

fn mov(imm: i32) -> Insn {
    Insn::Alu {
        class: AluClass::Alu64,
        op: AluOp::Mov,
        dst: Reg::R9,
        src: Operand::Imm(imm),
    }
}

fn local_call() -> Insn {
    Insn::Call {
        kind: CallKind::Local,
        imm: -1,
        off: 0,
    }
}

/// Reads `path`; `None` with a note when the object is absent (corpus objects).
fn read(path: &Path) -> Option<Module> {
    let Ok(bytes) = std::fs::read(path) else {
        eprintln!("{} not found; skipping", path.display());
        return None;
    };
    Some(Module::read(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn testdata(name: &str) -> PathBuf {
    common::testdata_dir().join(name)
}

fn corpus(name: &str) -> Option<PathBuf> {
    common::corpus_dir().map(|d| d.join("cilium/btf/testdata").join(name))
}

/// Runs every edit of the scenario on `m`; returns the number of checks that compared the
/// whole module.
fn edit_program(name: &str, mut m: Module) -> usize {
    let mut ex = Expect::snapshot(&m);
    let mut checks = 0;
    let mut check = |m: &Module, ex: &Expect, what: &str| {
        ex.check(m, &format!("{name}: {what}"));
        checks += 1;
    };
    check(&m, &ex, "read");
    let jumps_before = ex.jumps();
    let new_line = m.add_line(SourceLine {
        file: StrOffset(0),
        text: StrOffset(0),
        line: 4242,
        col: 7,
    });

    // The largest function: most of the edits happen there.
    let prog = m
        .functions()
        .max_by_key(|(_, f)| f.n_insns())
        .map(|(id, _)| id)
        .unwrap();
    assert!(
        ex.body(prog).len() >= 8,
        "{name}: function too small to edit"
    );

    // 1. Insert at the start of the function.
    let first = ex.body(prog)[0];
    let meta = Meta::new().with_line(new_line);
    let id = m.insert_before(first, mov(1), meta.clone()).unwrap();
    ex.created(id, mov(1), meta, prog, 0);
    check(&m, &ex, "insert at the start");
    assert_eq!(m.function(prog).first_insn(), Some(id));

    // 2. Insert in the middle: before a jump target (a loop head when the jump goes
    //    backwards), and right after the jump.
    let body = ex.body(prog).clone();
    let jump = body.iter().copied().find_map(|j| match m.reference(j) {
        Some(Ref::Jump(t)) if body.first() != Some(&t) => Some((j, t)),
        _ => None,
    });
    match jump {
        Some((j, t)) => {
            let (_, pos) = ex.place(t).unwrap();
            let id = m.insert_before(t, mov(2), Meta::default()).unwrap();
            ex.created(id, mov(2), Meta::default(), prog, pos);
            check(&m, &ex, "insert before a jump target");
            assert_eq!(
                m.reference(j),
                Some(Ref::Jump(t)),
                "the jump still lands on its target"
            );
            assert_eq!(m.next_insn(id), Some(t));
            let (_, pos) = ex.place(j).unwrap();
            let id = m.insert_after(j, mov(3), Meta::default()).unwrap();
            ex.created(id, mov(3), Meta::default(), prog, pos + 1);
            check(&m, &ex, "insert after a jump");
        }
        None => eprintln!("{name}: no jump in the program; middle insert at a plain position"),
    }
    let mid = ex.body(prog)[ex.body(prog).len() / 2];
    let (_, pos) = ex.place(mid).unwrap();
    let id = m.insert_after(mid, mov(4), Meta::default()).unwrap();
    ex.created(id, mov(4), Meta::default(), prog, pos + 1);
    check(&m, &ex, "insert after the middle");

    // 3. Insert before a callee's first instruction.
    let call = ex.bodies.iter().find_map(|(_, b)| {
        b.iter().find_map(|&c| match m.reference(c) {
            Some(Ref::Call(f)) if m.function(f).first_insn().is_some() => Some((c, f)),
            _ => None,
        })
    });
    match call {
        Some((c, callee)) => {
            let old_first = ex.body(callee)[0];
            let id = m.insert_before(old_first, mov(5), Meta::default()).unwrap();
            ex.created(id, mov(5), Meta::default(), callee, 0);
            check(&m, &ex, "insert before a callee's first instruction");
            assert_eq!(m.function(callee).first_insn(), Some(id));
            assert_eq!(
                m.reference(c),
                Some(Ref::Call(callee)),
                "the call names the function"
            );
        }
        None => eprintln!("{name}: no bpf-to-bpf call; callee insert skipped"),
    }

    // 4. Remove: a plain instruction, a jump target (the jump keeps the detached id), then
    //    put the target back where it was.
    let body = ex.body(prog).clone();
    let plain = body
        .iter()
        .copied()
        .skip(1)
        .find(|&i| m.reference(i).is_none() && !jumps_before.iter().any(|&(_, t)| t == i))
        .unwrap();
    m.remove(plain).unwrap();
    ex.detach(plain);
    check(&m, &ex, "remove a plain instruction");
    assert_eq!(m.func_of(plain), None);
    if let Some((j, t)) = jump {
        let (_, pos) = ex.place(t).unwrap();
        let after = ex.body(prog).get(pos + 1).copied();
        m.remove(t).unwrap();
        ex.detach(t);
        check(&m, &ex, "remove a jump target");
        assert_eq!(
            m.reference(j),
            Some(Ref::Jump(t)),
            "the jump keeps the removed id"
        );
        match after {
            Some(after) => m.attach_before(t, after).unwrap(),
            None => {
                // There is no attach-at-end: attach before the last, then move the last
                // in front of it.
                let last = ex.body(prog)[pos - 1];
                m.attach_before(t, last).unwrap();
                m.move_range(last, last, prog, Some(t)).unwrap();
            }
        }
        ex.body_mut(prog).insert(pos, t);
        check(&m, &ex, "re-attach the jump target");
    }
    let last = *ex.body(prog).last().unwrap();
    m.remove(last).unwrap();
    ex.detach(last);
    check(&m, &ex, "remove the last instruction");

    // 5. Replace, keeping and replacing the metadata. Prefer instructions that carry a
    //    CO-RE relocation or a line, so that keeping them is visible.
    let rich = ex
        .body(prog)
        .iter()
        .copied()
        .find(|&i| m.core_of(i).is_some())
        .or_else(|| {
            ex.body(prog)
                .iter()
                .copied()
                .find(|&i| m.line_of(i).is_some())
        })
        .unwrap();
    let kept = m.meta(rich);
    m.replace(rich, mov(6), MetaChoice::Keep).unwrap();
    ex.insns.insert(rich, (mov(6), kept));
    check(&m, &ex, "replace keeping metadata");
    let target = ex
        .body(prog)
        .iter()
        .copied()
        .find(|&i| matches!(m.reference(i), Some(Ref::Jump(_))))
        .unwrap_or(rich);
    let meta = Meta::new().with_line(new_line);
    m.replace(target, mov(7), MetaChoice::Replace(meta.clone()))
        .unwrap();
    ex.insns.insert(target, (mov(7), meta));
    check(&m, &ex, "replace with new metadata");

    // 6. Move a range of the middle to a new function, then another range in front of it.
    let moved = m.add_function(Function::new("moved", ".text", false));
    ex.bodies.push((moved, Vec::new()));
    check(&m, &ex, "add a function");
    let n = ex.body(prog).len();
    let (a, b) = (n / 3, n / 3 + 4.min(n - n / 3 - 1));
    let range: Vec<InsnId> = ex.body(prog)[a..=b].to_vec();
    m.move_range(range[0], *range.last().unwrap(), moved, None)
        .unwrap();
    ex.body_mut(prog).drain(a..=b);
    ex.body_mut(moved).extend(&range);
    check(&m, &ex, "move a range to a new function");
    for &id in &range {
        assert_eq!(m.func_of(id), Some(moved));
    }
    let first2 = ex.body(prog)[1];
    let before = ex.body(moved)[0];
    m.move_range(first2, first2, moved, Some(before)).unwrap();
    ex.detach(first2);
    ex.body_mut(moved).insert(0, first2);
    check(
        &m,
        &ex,
        "move one instruction before the new function's first",
    );

    // 7. Append a body: a new function with two instructions, appended to `moved`.
    let tail = m.add_function(Function::new("tail", ".text", false));
    ex.bodies.push((tail, Vec::new()));
    for k in 0..2 {
        let id = m.append(tail, mov(10 + k), Meta::default()).unwrap();
        ex.created(id, mov(10 + k), Meta::default(), tail, k as usize);
    }
    check(&m, &ex, "append to a new function");
    let tail_body = ex.body(tail).clone();
    m.append_body(tail, moved).unwrap();
    ex.body_mut(tail).clear();
    ex.body_mut(moved).extend(&tail_body);
    check(&m, &ex, "append a body");
    m.append_body(tail, moved).unwrap();
    check(&m, &ex, "append an empty body");

    // 8. Redirect a call (one of the program's, or a new one when it has none).
    let call = match call {
        Some((c, _)) if m.func_of(c).is_some() => c,
        _ => {
            let meta = Meta::new().with_ref(Ref::Call(prog));
            let len = ex.body(moved).len();
            let id = m.append(moved, local_call(), meta.clone()).unwrap();
            ex.created(id, local_call(), meta, moved, len);
            id
        }
    };
    m.redirect_call(call, moved).unwrap();
    ex.insns.get_mut(&call).unwrap().1.reference = Some(Ref::Call(moved));
    check(&m, &ex, "redirect a call");

    // 9. Bad edits: the precise error, and nothing changes.
    let body = ex.body(prog).clone();
    let (x, y, z) = (body[1], body[2], body[3]);
    assert_eq!(
        m.move_range(x, z, prog, Some(y)),
        Err(IrError::MoveIntoItself { first: x, last: z })
    );
    assert_eq!(
        m.move_range(x, z, prog, Some(x)),
        Err(IrError::MoveIntoItself { first: x, last: z })
    );
    let other = ex.body(moved)[0];
    assert_eq!(
        m.move_range(x, other, tail, None),
        Err(IrError::BadRange {
            first: x,
            last: other
        })
    );
    assert_eq!(
        m.move_range(z, x, tail, None),
        Err(IrError::BadRange { first: z, last: x })
    );
    assert_eq!(
        m.move_range(x, z, tail, Some(other)),
        Err(IrError::WrongInsn {
            insn: other,
            expected: "an instruction of the destination function"
        })
    );
    assert_eq!(
        m.move_range(plain, plain, moved, None),
        Err(IrError::Detached { insn: plain })
    );
    assert_eq!(m.remove(plain), Err(IrError::Detached { insn: plain }));
    assert_eq!(m.remove(last), Err(IrError::Detached { insn: last }));
    assert_eq!(
        m.insert_before(plain, mov(8), Meta::default()),
        Err(IrError::Detached { insn: plain })
    );
    assert_eq!(
        m.insert_after(last, mov(8), Meta::default()),
        Err(IrError::Detached { insn: last })
    );
    assert_eq!(
        m.replace(plain, mov(8), MetaChoice::Keep),
        Err(IrError::Detached { insn: plain })
    );
    assert_eq!(
        m.attach_before(plain, last),
        Err(IrError::Detached { insn: last })
    );
    assert_eq!(
        m.attach_before(x, y),
        Err(IrError::Attached {
            insn: x,
            func: prog
        })
    );
    assert_eq!(
        m.append_body(prog, prog),
        Err(IrError::SameFunction { func: prog })
    );
    let non_call = [x, y, z]
        .into_iter()
        .find(|&i| !matches!(m.insn(i), Insn::Call { .. }));
    let non_call = non_call.unwrap();
    assert_eq!(
        m.redirect_call(non_call, moved),
        Err(IrError::WrongInsn {
            insn: non_call,
            expected: "a bpf-to-bpf call"
        })
    );
    if let Some(&(j, _)) = ex.jumps().iter().find(|(j, _)| m.func_of(*j).is_some()) {
        assert_eq!(
            m.redirect_call(j, moved),
            Err(IrError::WrongInsn {
                insn: j,
                expected: "a bpf-to-bpf call"
            })
        );
    }
    check(&m, &ex, "bad edits change nothing");

    // Jumps nobody touched still land on the same ids.
    let now = ex.jumps();
    for (j, t) in &jumps_before {
        if *j != target {
            assert!(now.contains(&(*j, *t)), "{name}: jump {j:?} -> {t:?} kept");
        }
    }
    checks
}

#[test]
fn edits_on_globals() {
    let m = read(&testdata("globals.bpfel.o")).expect("globals.bpfel.o reads");
    let checks = edit_program("globals.bpfel.o", m);
    eprintln!("globals.bpfel.o: {checks} whole-module checks");
}

#[test]
fn edits_on_globals_big_endian() {
    let m = read(&testdata("globals.bpfeb.o")).expect("globals.bpfeb.o reads");
    edit_program("globals.bpfeb.o", m);
}

#[test]
fn edits_on_core() {
    let Some(m) = read(&testdata("core.bpfel.o")) else {
        return;
    };
    assert!(
        m.core_relos().len() > 5,
        "core.bpfel.o has many CO-RE records"
    );
    edit_program("core.bpfel.o", m);
}

#[test]
fn edits_on_corpus_relocs() {
    for name in ["relocs-el.elf", "relocs_read-el.elf"] {
        let Some(path) = corpus(name) else {
            return;
        };
        let Some(m) = read(&path) else {
            continue;
        };
        assert!(m.core_relos().len() > 5, "{name} has many CO-RE records");
        let checks = edit_program(name, m);
        eprintln!("{name}: {checks} whole-module checks");
    }
}

/// calls.bpfel.o: jumps, calls, a chain of callees and a `bpf_loop` callback.
#[test]
fn edits_on_calls() {
    let Some(mut m) = read(&testdata("calls.bpfel.o")) else {
        return;
    };
    let mut ex = Expect::snapshot(&m);
    // The callback is referenced by address; moving its body elsewhere keeps the reference
    // on the function id (which is now empty), and every call keeps its callee.
    let (addr, cb) = ex
        .bodies
        .iter()
        .flat_map(|(_, b)| b.iter())
        .find_map(|&i| match m.reference(i) {
            Some(Ref::FuncAddr(f)) => Some((i, f)),
            _ => None,
        })
        .expect("calls.bpfel.o has a callback address");
    let host = m.add_function(Function::new("host", ".text", false));
    ex.bodies.push((host, Vec::new()));
    let cb_body = ex.body(cb).clone();
    m.append_body(cb, host).unwrap();
    ex.body_mut(cb).clear();
    ex.body_mut(host).extend(&cb_body);
    ex.check(&m, "calls.bpfel.o: move the callback's body");
    assert_eq!(m.reference(addr), Some(Ref::FuncAddr(cb)));
    edit_program("calls.bpfel.o", m);
}

/// A helper call is a call, but not a bpf-to-bpf call: redirecting it must fail rather than
/// give a helper call a callee.
#[test]
fn redirect_call_refuses_helper_and_kfunc_calls() {
    let mut m = Module::new(bpfir::Endian::Little);
    let f = m.add_function(Function::new("prog", "socket", true));
    let g = m.add_function(Function::new("sub", ".text", false));
    let helper = Insn::Call {
        kind: CallKind::Helper,
        imm: 1,
        off: 0,
    };
    let h = m.append(f, helper, Meta::default()).unwrap();
    assert_eq!(
        m.redirect_call(h, g),
        Err(IrError::WrongInsn {
            insn: h,
            expected: "a bpf-to-bpf call"
        })
    );
    assert_eq!(m.reference(h), None, "the helper call is unchanged");
    let kfunc = m.add_extern(Extern {
        name: "bpf_kfunc".into(),
        kind: ExternKind::Func,
        weak: false,
        btf: None,
    });
    let k = Insn::Call {
        kind: CallKind::Kfunc,
        imm: 0,
        off: 0,
    };
    let k = m
        .append(f, k, Meta::new().with_ref(Ref::Extern(kfunc)))
        .unwrap();
    assert_eq!(
        m.redirect_call(k, g),
        Err(IrError::WrongInsn {
            insn: k,
            expected: "a bpf-to-bpf call"
        })
    );
    assert_eq!(m.reference(k), Some(Ref::Extern(kfunc)));
    // A local call created without a callee yet is the one call that may gain one.
    let c = m.append(f, local_call(), Meta::default()).unwrap();
    m.redirect_call(c, g).unwrap();
    assert_eq!(m.reference(c), Some(Ref::Call(g)));
}

#[test]
fn a_removed_instruction_can_be_attached_at_the_end() {
    use bpfir::insn::Insn;
    use bpfir::ir::{Function, IrError, Meta};
    let mut m = Module::new(bpfir::Endian::Little);
    let f = m.add_function(Function::new("f", "socket", true));
    let a = m.append(f, Insn::Exit, Meta::default()).unwrap();
    let b = m.append(f, Insn::Exit, Meta::default()).unwrap();
    m.remove(a).unwrap();
    m.attach_at_end(a, f).unwrap();
    assert_eq!(m.func_insns(f).collect::<Vec<_>>(), [b, a]);
    assert_eq!(m.function(f).last_insn(), Some(a));
    assert_eq!(m.function(f).n_insns(), 2);
    assert_eq!(
        m.attach_at_end(a, f),
        Err(IrError::Attached { insn: a, func: f })
    );
}
