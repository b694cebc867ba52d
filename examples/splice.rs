//! Calls a function of one BPF object from a program of another.
//!
//! ```text
//! cargo run --example splice -- PROG.bpf.o PROGRAM LIB.bpf.o FUNCTION ARG EXPECTED OUT.bpf.o
//! ```
//!
//! The two objects are linked into one module (the function comes with everything it needs:
//! its callees, maps, data and BTF), then `PROGRAM` gets, before each of its exits, the
//! equivalent of `return ret | (FUNCTION(ARG) ^ EXPECTED);`: it still returns 0 only if the
//! spliced call returned `EXPECTED`. Jumps to an exit are retargeted to the inserted code, so
//! every path runs it. The inserted instructions carry the origin `splice`.

use std::error::Error;

use bpfir::insn::{Insn, Reg::*};
use bpfir::ir::build::*;
use bpfir::ir::{FuncCursor, Module};
use bpfir::link::{link, LinkOptions};

/// `program` (of `prog_obj`) calling `function` (of `lib_obj`) with `arg` and checking that
/// it returns `expected`, in the linked module.
pub fn splice(
    prog_obj: Module,
    program: &str,
    lib_obj: Module,
    function: &str,
    arg: i32,
    expected: i32,
) -> Result<Module, Box<dyn Error>> {
    let mut m = link(&[prog_obj, lib_obj], &LinkOptions::default())?;
    let prog = m.function_by_name(program).ok_or("no such program")?;
    let callee = m.function_by_name(function).ok_or("no such function")?;
    let origin = m.add_origin("splice");
    let exits: Vec<_> = m
        .func_insns(prog)
        .filter(|&i| *m.insn(i) == Insn::Exit)
        .collect();
    for exit_id in exits {
        let mut cur = FuncCursor::new(&mut m, prog)?.with_origin(origin);
        cur.goto_insn(exit_id)?;
        cur.use_current_line();
        let first = cur.insert(mov64_reg(R6, R0))?;
        cur.insert_all([
            mov64_imm(R1, arg).into(),
            call(callee),
            xor32_imm(R0, expected).into(),
        ])?;
        cur.insert(or64_reg(R0, R6))?;
        m.retarget_jumps(exit_id, first)?;
    }
    m.verify()?;
    Ok(m)
}

#[allow(dead_code)] // the tests include this file for `splice` alone
fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, prog_obj, program, lib_obj, function, arg, expected, output] = &args[..] else {
        return Err("usage: splice PROG.o PROGRAM LIB.o FUNCTION ARG EXPECTED OUT.o".into());
    };
    let read =
        |path: &str| -> Result<Module, Box<dyn Error>> { Ok(Module::read(&std::fs::read(path)?)?) };
    let m = splice(
        read(prog_obj)?,
        program,
        read(lib_obj)?,
        function,
        arg.parse()?,
        expected.parse()?,
    )?;
    std::fs::write(output, bpfir::write::write_object(&m)?)?;
    Ok(())
}
