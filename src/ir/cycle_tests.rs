//! A body whose layout links run in a circle, made here by hand (the layout operations and
//! [`Module::function_mut`] cannot make one, see `tests/function_layout.rs`): every walk of
//! it ends, and everything that checks the IR reports the cycle, naming the function.

use std::sync::mpsc;
use std::time::Duration;

use super::{FuncId, Function, Meta, Module};
use crate::insn::{AluClass, AluOp, Insn, Operand, Reg};

/// A program `cyclic` (`r0 = 0; exit`) whose `exit` is followed by its first instruction,
/// and a program `fine` that calls a function `callee` with a cyclic body.
fn cyclic() -> (Module, FuncId, FuncId) {
    let mut m = Module::new(crate::Endian::Little);
    let mov = Insn::Alu {
        class: AluClass::Alu64,
        op: AluOp::Mov,
        dst: Reg::R0,
        src: Operand::Imm(0),
    };
    let p = m.add_function(Function::new("cyclic", "socket", true));
    let first = m.append(p, mov, Meta::default()).unwrap();
    let exit = m.append(p, Insn::Exit, Meta::default()).unwrap();
    m.nodes.get_mut(exit).unwrap().next = Some(first);
    m.nodes.get_mut(first).unwrap().prev = Some(exit);

    let fine = m.add_function(Function::new("fine", "socket", true));
    let callee = m.add_function(Function::new("callee", ".text", false));
    m.append_built(fine, super::build::call(callee)).unwrap();
    m.append(fine, Insn::Exit, Meta::default()).unwrap();
    let c0 = m.append(callee, mov, Meta::default()).unwrap();
    let c1 = m.append(callee, Insn::Exit, Meta::default()).unwrap();
    m.nodes.get_mut(c1).unwrap().next = Some(c0);
    (m, p, fine)
}

/// Runs `check` on another thread: a walk that never ends fails the test instead of hanging
/// the test run (the limit is for a hang, far above what the walks take).
fn ends(what: &str, check: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        check();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} never ends on a cyclic body"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what} panicked"),
    }
}

fn assert_cycle(what: &str, msg: &str, function: &str) {
    assert!(
        msg.contains("the body is a cycle") && msg.contains(function),
        "{what}: {msg}"
    );
}

#[test]
fn walks_of_a_cyclic_body_end() {
    ends("func_insns", || {
        let (m, p, fine) = cyclic();
        assert!(m.func_insns(p).count() <= m.n_insns());
        assert!(m.func_insns(fine).count() == 2);
    });
    ends("link_order", || {
        let (m, p, fine) = cyclic();
        assert_eq!(crate::analysis::callgraph::link_order(&m, p), [p]);
        assert_eq!(crate::analysis::callgraph::link_order(&m, fine).len(), 2);
    });
    ends("the dump", || {
        let (m, ..) = cyclic();
        assert!(m.dump().to_string().contains("cyclic"));
    });
}

#[test]
fn checks_of_a_cyclic_body_report_it() {
    ends("Module::verify", || {
        let (m, ..) = cyclic();
        let msg = m.verify().unwrap_err().to_string();
        assert_cycle("verify", &msg, "cyclic");
        assert_cycle("verify", &msg, "callee");
    });
    ends("verify_program", || {
        let (m, p, fine) = cyclic();
        let msg = crate::verify::verify_program(&m, p)
            .unwrap_err()
            .to_string();
        assert_cycle("verify_program", &msg, "cyclic");
        let msg = crate::verify::verify_program(&m, fine)
            .unwrap_err()
            .to_string();
        assert_cycle("verify_program of its caller", &msg, "callee");
    });
    ends("lower", || {
        let (m, p, fine) = cyclic();
        let bindings = crate::lower::Bindings::default();
        for (f, name) in [(p, "cyclic"), (fine, "callee")] {
            let msg = crate::lower::lower(&m, f, &bindings)
                .unwrap_err()
                .to_string();
            assert_cycle("lower", &msg, name);
        }
    });
    ends("link", || {
        let (m, ..) = cyclic();
        let opts = crate::link::LinkOptions {
            input_names: vec!["cyclic.o".into()],
            ..Default::default()
        };
        let msg = crate::link::link(&[m], &opts).unwrap_err().to_string();
        assert_cycle("link", &msg, "cyclic");
        assert!(msg.contains("cyclic.o"), "link: {msg}");
    });
    ends("write_object", || {
        let (m, ..) = cyclic();
        let msg = crate::write::write_object(&m).unwrap_err().to_string();
        assert_cycle("write_object", &msg, "cyclic");
    });
}
