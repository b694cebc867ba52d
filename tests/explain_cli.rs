//! `bpfir load` on a program the verifier refuses shows the error at the source line of the
//! instruction it stopped at (issue 9: provenance). The object is a broken rewrite of
//! testdata/calls.bpfel.o (an uninitialized `r9` read before the first call of
//! `calls_first`), written to an ELF file; origin tags do not survive the ELF file, so the
//! pass is shown by `examples/explain.rs`, which loads the module itself.

#![cfg(all(feature = "kernel", target_os = "linux"))]

mod common;
#[path = "common/kernel.rs"]
mod kernel;

use bpfir::insn::Insn;
use bpfir::insn::Reg::R9;
use bpfir::ir::build::add64_imm;
use bpfir::ir::{FuncCursor, Module};
use bpfir::write::write_object;

#[test]
fn bpfir_load_shows_a_refused_programs_source_line() {
    if !kernel::kernel_available("bpfir_load_shows_a_refused_programs_source_line") {
        return;
    }
    let path = common::testdata_dir().join("calls.bpfel.o");
    let mut m = Module::read(&std::fs::read(path).unwrap()).unwrap();
    let prog = m.function_by_name("calls_first").unwrap();
    let call = m
        .func_insns(prog)
        .find(|&i| matches!(m.insn(i), Insn::Call { .. }))
        .unwrap();
    let mut cur = FuncCursor::new(&mut m, prog).unwrap();
    cur.goto_insn(call).unwrap();
    cur.insert(add64_imm(R9, 1)).unwrap();
    let dir = std::env::temp_dir().join(format!("bpfir-explain-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let object = dir.join("broken.bpfel.o");
    std::fs::write(&object, write_object(&m).unwrap()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bpfir"))
        .args(["load", object.to_str().unwrap(), "--program", "calls_first"])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("verifier: R9 !read_ok"), "{text}");
    assert!(text.contains("at instruction 5: r9 += 1"), "{text}");
    assert!(
        text.contains("calls.bpf.c:102:2: CHECK(chain_a(one) == 0x15);"),
        "{text}"
    );
}
