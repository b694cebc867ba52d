//! A function's body (its first and last instruction and their count) changes only through
//! the layout operations: [`Module::function_mut`] renames and re-types a function, and a
//! whole [`Function`] assigned through it (another function's clone, a new one) leaves the
//! body where it was. It used to take the assigned value's body: a function then claimed
//! another function's instructions, and the next layout operation linked an instruction to
//! itself, so every walk of the body (`link_order`, which lowering, loading and
//! `Module::verify` run before the IR verifier, the dump, every analysis) never ended.

use bpfir::insn::{Insn, Reg};
use bpfir::ir::{FuncId, Function, InsnId, Meta, Module};
use bpfir::link::{link, LinkOptions};

fn mov(imm: i32) -> Insn {
    bpfir::insn::build::mov64_imm(Reg::R0, imm)
}

/// The body of `f`, walked at most one step past the module's instruction count: `Err`
/// with what was walked when the body does not end (a cycle).
fn body(m: &Module, f: FuncId) -> Result<Vec<InsnId>, Vec<InsnId>> {
    let walked: Vec<InsnId> = m.func_insns(f).take(m.n_insns() + 1).collect();
    if walked.len() > m.n_insns() {
        Err(walked)
    } else {
        Ok(walked)
    }
}

/// Two programs, `a` (`r0 = 1; exit`) and `b` (`exit`), and an empty program `c`.
fn module() -> (Module, [FuncId; 3], [InsnId; 3]) {
    let mut m = Module::new(bpfir::Endian::Little);
    let a = m.add_function(Function::new("a", "socket", true));
    let b = m.add_function(Function::new("b", "socket", true));
    let c = m.add_function(Function::new("c", "socket", true));
    let a0 = m.append(a, mov(1), Meta::default()).unwrap();
    let a1 = m.append(a, Insn::Exit, Meta::default()).unwrap();
    let b0 = m.append(b, Insn::Exit, Meta::default()).unwrap();
    (m, [a, b, c], [a0, a1, b0])
}

#[test]
fn assigning_another_functions_clone_keeps_each_body() {
    let (mut m, [a, b, c], [a0, a1, b0]) = module();
    let clone = m.function(a).clone();
    *m.function_mut(c) = clone;
    // Everything but the body is the assigned value's.
    assert_eq!(m.function(c).name, "a");
    assert_eq!(body(&m, c), Ok(vec![]));
    assert_eq!(m.function(c).n_insns(), 0);
    assert_eq!(m.function(c).first_insn(), None);
    assert_eq!(body(&m, a), Ok(vec![a0, a1]));
    m.function_mut(c).name = "c".into();

    // The sequence that made a cycle: `c` claimed `a`'s instructions, and moving `a`'s last
    // instruction to the end of `c` linked it after itself.
    m.move_range(a1, a1, c, None).unwrap();
    assert_eq!(body(&m, a), Ok(vec![a0]));
    assert_eq!(body(&m, c), Ok(vec![a1]));
    m.move_range(a1, a1, a, None).unwrap();
    assert_eq!(body(&m, a), Ok(vec![a0, a1]));
    assert_eq!(body(&m, c), Ok(vec![]));

    // Appending to a function that took a clone of one with a body.
    let clone = m.function(b).clone();
    *m.function_mut(c) = clone;
    m.function_mut(c).name = "c".into();
    let c0 = m.append(c, Insn::Exit, Meta::default()).unwrap();
    assert_eq!(body(&m, b), Ok(vec![b0]));
    assert_eq!(body(&m, c), Ok(vec![c0]));
    assert_eq!(m.func_of(c0), Some(c));

    // The module is whole: it verifies, links and lowers.
    m.verify().unwrap();
    let linked = link(&[m.clone()], &LinkOptions::default()).unwrap();
    assert_eq!(linked.programs().count(), 3);
    for f in [a, b, c] {
        bpfir::lower::lower(&m, f, &bpfir::lower::Bindings::default()).unwrap();
    }
}

#[test]
fn assigning_a_new_function_keeps_the_body() {
    let (mut m, [a, ..], [a0, a1, _]) = module();
    *m.function_mut(a) = Function::new("renamed", "xdp", true);
    assert_eq!(m.function(a).name, "renamed");
    assert_eq!(m.function(a).section, "xdp");
    assert_eq!(body(&m, a), Ok(vec![a0, a1]));
    assert_eq!(m.function(a).n_insns(), 2);
    assert_eq!(m.function(a).last_insn(), Some(a1));
    m.verify().unwrap();
    // A swap through two clones leaves both bodies too.
    let (mut m, [a, b, _], [a0, a1, b0]) = module();
    let (fa, fb) = (m.function(a).clone(), m.function(b).clone());
    *m.function_mut(a) = fb;
    *m.function_mut(b) = fa;
    assert_eq!(
        (m.function(a).name.as_str(), m.function(b).name.as_str()),
        ("b", "a")
    );
    assert_eq!(body(&m, a), Ok(vec![a0, a1]));
    assert_eq!(body(&m, b), Ok(vec![b0]));
    m.verify().unwrap();
}
