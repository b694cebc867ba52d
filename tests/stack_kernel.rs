//! `analysis::stack` against the kernel's stack limit: a program whose frame and whose
//! callee's frame are drawn around the 512-byte boundary loads exactly when
//! `program_stack(..).fits()` says it fits (frames rounded as the running kernel rounds
//! them: JIT or interpreter, from `/proc/sys/net/core/bpf_jit_enable`).

#![cfg(all(feature = "kernel", target_os = "linux"))]

#[path = "common/kernel.rs"]
mod kernel;

use bpfir::analysis::stack::{frame_usage, program_stack};
use bpfir::insn::Reg::{R0, R10};
use bpfir::insn::Size;
use bpfir::ir::build::{call, exit, mov64_imm, st};
use bpfir::ir::{FuncId, Function, Module};
use bpfir::load::{load, LoadOptions};

/// `prog` touching `r10 - a` and calling `sub`, which touches `r10 - b`.
fn two_frames(a: i16, b: i16) -> (Module, FuncId) {
    let mut m = Module::new(bpfir::Endian::native());
    m.license = Some("GPL".into());
    let prog = m.add_function(Function::new("prog", "socket", true));
    let sub = m.add_function(Function::new("sub", ".text", false));
    m.append_built(prog, st(Size::DW, R10, -a, 1)).unwrap();
    m.append_built(prog, call(sub)).unwrap();
    m.append_built(prog, mov64_imm(R0, 0)).unwrap();
    m.append_built(prog, exit()).unwrap();
    m.append_built(sub, st(Size::DW, R10, -b, 2)).unwrap();
    m.append_built(sub, mov64_imm(R0, 0)).unwrap();
    m.append_built(sub, exit()).unwrap();
    (m, prog)
}

#[test]
fn fits_exactly_when_the_kernel_loads() {
    if !kernel::kernel_available("fits_exactly_when_the_kernel_loads") {
        return;
    }
    let jit = std::fs::read_to_string("/proc/sys/net/core/bpf_jit_enable")
        .map(|s| s.trim() != "0")
        .unwrap_or(true);
    let (mut fitting, mut refused) = (0, 0);
    for a in [8i16, 16, 200, 256, 296, 504, 512] {
        for b in [8i16, 216, 256, 304, 312] {
            let (m, prog) = two_frames(a, b);
            assert_eq!(frame_usage(&m, prog).unwrap().depth, a as u32);
            let s = program_stack(&m, prog, jit).unwrap();
            let opts = LoadOptions {
                object_name: "stack".into(),
                ..LoadOptions::default()
            };
            let loaded = load(&m, &opts).unwrap();
            kernel::check_offline_tags("two frames", &loaded);
            let result = &loaded.programs[0].result;
            assert_eq!(
                s.fits(),
                result.is_ok(),
                "frames {a} + {b}: bpfir says {} bytes ({}), the kernel: {result:?}",
                s.combined,
                if s.fits() { "fits" } else { "too deep" }
            );
            if s.fits() {
                fitting += 1;
            } else {
                refused += 1;
                let e = result.as_ref().unwrap_err().to_string();
                assert!(e.contains("stack"), "{e}");
            }
        }
    }
    eprintln!("{fitting} programs fit and loaded, {refused} were too deep and refused");
    assert!(fitting > 0 && refused > 0);
}
