//! `explain`: a deliberately broken rewrite, and the verifier's refusal mapped back to the
//! IR, the source line and the pass that inserted the faulty instruction.
//!
//! The "pass" counts bpf-to-bpf calls in a register, and forgets to initialize it: before
//! the first call of `calls_first` (testdata/calls.bpf.c) it inserts `r9 += 1`, stamped
//! with the line of the call and the origin `count-calls`. The kernel refuses the program
//! (`R9 !read_ok`); bpfir rewrites the verifier log so every instruction line names its IR
//! instruction, function, source line and pass, and shows the error where it came from.
//!
//! Run: `cargo run --example explain` (as root). Also run as a test by `cargo test
//! --example explain`, which loads into the kernel (skipped without `bpf()`).

use bpfir::insn::Insn;
use bpfir::insn::Reg::R9;
use bpfir::ir::build::add64_imm;
use bpfir::ir::{FuncCursor, InsnId, Module};
use bpfir::load::{explain_refused, load, LoadOptions};
use bpfir::lower::ExplainedLog;

/// The broken rewrite: returns the id of the faulty instruction.
fn broken_rewrite(m: &mut Module, program: &str) -> InsnId {
    let prog = m
        .function_by_name(program)
        .expect("the test program exists");
    let first_call = m
        .func_insns(prog)
        .find(|&i| matches!(m.insn(i), Insn::Call { .. }))
        .expect("calls_first calls");
    let pass = m.add_origin("count-calls");
    let mut cur = FuncCursor::new(m, prog).unwrap().with_origin(pass);
    cur.goto_insn(first_call).unwrap();
    cur.use_current_line();
    // The bug: r9 is never initialized.
    cur.insert(add64_imm(R9, 1)).unwrap()
}

/// Loads the broken program and returns the explained verifier log (`None` when the
/// kernel is not available).
fn explain(m: &Module, program: &str) -> Result<ExplainedLog, String> {
    let opts = LoadOptions {
        programs: vec![program.to_string()],
        object_name: "calls".into(),
        ..LoadOptions::default()
    };
    let loaded = load(m, &opts).map_err(|e| e.to_string())?;
    #[cfg(test)]
    kernel::check_offline_tags("explain", &loaded);
    let p = loaded
        .programs
        .iter()
        .find(|p| p.name == program)
        .ok_or("program not loaded")?;
    if p.result.is_ok() {
        return Err("the kernel accepted the broken program".into());
    }
    explain_refused(m, p).ok_or_else(|| "no verifier log".into())
}

fn testdata_module() -> Module {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/calls.bpfel.o");
    Module::read(&std::fs::read(path).unwrap()).unwrap()
}

#[cfg_attr(test, allow(dead_code))]
fn main() {
    let mut m = testdata_module();
    let bad = broken_rewrite(&mut m, "calls_first");
    println!(
        "inserted {}: {}",
        bpfir::ir::AnyEntity::Insn(bad),
        m.insn(bad)
    );
    match explain(&m, "calls_first") {
        Ok(e) => {
            println!("--- verifier log, mapped to the IR ---\n{}", e.text);
            if let Some(err) = e.error {
                println!("--- the error ---\n{err}");
            }
        }
        Err(e) => eprintln!("explain: {e}"),
    }
}

#[cfg(test)]
#[path = "../tests/common/kernel.rs"]
mod kernel;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verifier_error_is_shown_with_its_source_line_and_origin() {
        if !super::kernel::kernel_available("explain") {
            return;
        }
        let mut m = testdata_module();
        let bad = broken_rewrite(&mut m, "calls_first");
        let e = explain(&m, "calls_first").unwrap();
        let err = e.error.expect("the log ends in an error");
        assert!(err.message.contains("R9 !read_ok"), "{err}");
        assert_eq!(err.at.map(|a| a.insn), Some(bad), "{err}");
        let shown = err.to_string();
        assert!(shown.contains("inserted by pass count-calls"), "{shown}");
        assert!(
            shown.contains("calls.bpf.c:102:2:") && shown.contains("CHECK(chain_a(one) == 0x15);"),
            "{shown}"
        );
        // Every instruction line of the log is mapped back.
        let bad_name = bpfir::ir::AnyEntity::Insn(bad).to_string();
        assert!(
            e.text.lines().any(
                |l| l.contains("r9 += 1") && l.contains(&format!("<- {bad_name} calls_first+"))
            ),
            "{}",
            e.text
        );
    }
}
