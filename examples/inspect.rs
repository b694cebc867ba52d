//! `inspect`: the control-flow graph, dominators, register liveness, stack usage and source
//! lines of a program of testdata, as a pass sees them before rewriting.
//!
//! Run: `cargo run --example inspect [OBJECT [PROGRAM]]` (default: testdata/calls.bpfel.o,
//! calls_first). As a test (`cargo test --example inspect`) it also uses what it prints:
//! it writes garbage into a register liveness says is dead and into a free stack slot
//! before every block of every program of calls.bpfel.o, and checks that the kernel still
//! loads each program and that it still returns 0 (skipped without `bpf()`).

use std::fmt::Write as _;

use bpfir::analysis::cfg::Cfg;
use bpfir::analysis::dominators::DomTree;
use bpfir::analysis::liveness::Liveness;
use bpfir::analysis::stack::program_stack;
use bpfir::ir::{AnyEntity, FuncId, Module};
use bpfir::lower::source_line_text;

/// The report of one function: blocks with their edges and immediate dominators, every
/// instruction with the registers live before it, and the source lines.
fn inspect_function(m: &Module, f: FuncId) -> Result<String, String> {
    let func = m.function(f);
    let cfg = Cfg::compute(m, f).map_err(|e| e.to_string())?;
    let dom = DomTree::compute(&cfg);
    let live = Liveness::of_cfg(m, &cfg);
    let mut out = String::new();
    let _ = writeln!(out, "function {} ({} blocks)", func.name, cfg.n_blocks());
    for (b, data) in cfg.blocks() {
        let list = |bs: &[bpfir::analysis::cfg::Block]| {
            bs.iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let _ = writeln!(
            out,
            "  {b}: preds [{}] succs [{}] idom {}",
            list(&data.preds),
            list(&data.succs),
            dom.idom(b).map_or("-".to_string(), |d| d.to_string())
        );
        for &id in &data.insns {
            if let Some(l) = m.line_of(id) {
                let _ = writeln!(out, "    ; {}", source_line_text(m, l));
            }
            let _ = writeln!(
                out,
                "    {:<6} {:<32} live-in {}",
                AnyEntity::Insn(id).to_string(),
                m.display_insn(id).to_string(),
                live.live_in(id).map(|s| s.to_string()).unwrap_or_default()
            );
        }
    }
    Ok(out)
}

/// The report of a program: its stack usage, then every function it reaches.
fn inspect_program(m: &Module, prog: FuncId) -> Result<String, String> {
    let stack = program_stack(m, prog, true).map_err(|e| e.to_string())?;
    let mut out = String::new();
    let chain: Vec<&str> = stack
        .deepest_chain
        .iter()
        .map(|&f| m.function(f).name.as_str())
        .collect();
    let _ = writeln!(
        out,
        "program {}: stack {} bytes along {} (limit 512){}",
        m.function(prog).name,
        stack.combined,
        chain.join(" -> "),
        if stack.bounded {
            ""
        } else {
            ", some frame unbounded"
        }
    );
    for (f, usage) in &stack.frames {
        let _ = writeln!(
            out,
            "  frame {}: {} bytes",
            m.function(*f).name,
            usage.depth
        );
    }
    for (f, _) in &stack.frames {
        out.push_str(&inspect_function(m, *f)?);
    }
    Ok(out)
}

#[cfg_attr(test, allow(dead_code))]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .cloned()
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/calls.bpfel.o").into());
    let m = match std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|b| Module::read(&b).map_err(|e| e.to_string()))
    {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let name = args.get(1).map_or("calls_first", String::as_str);
    let Some(prog) = m.function_by_name(name) else {
        eprintln!("{path}: no function {name}");
        std::process::exit(1);
    };
    match inspect_program(&m, prog) {
        Ok(r) => print!("{r}"),
        Err(e) => eprintln!("{e}"),
    }
}

#[cfg(test)]
#[path = "../tests/common/kernel.rs"]
mod kernel;

#[cfg(test)]
mod tests {
    use super::*;
    use bpfir::analysis::stack::free_stack_slot;
    use bpfir::insn::Reg::R10;
    use bpfir::insn::Size;
    use bpfir::ir::build::{mov64_imm, st};
    use bpfir::ir::{FuncCursor, InsnId};
    use bpfir::load::{load, LoadOptions};

    fn calls() -> Module {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/calls.bpfel.o");
        Module::read(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn the_report_shows_blocks_liveness_and_lines() {
        let m = calls();
        let prog = m.function_by_name("calls_first").unwrap();
        let r = inspect_program(&m, prog).unwrap();
        assert!(r.contains("function calls_first"), "{r}");
        assert!(r.contains("function chain_a"), "{r}");
        assert!(r.contains("b0: preds [] succs ["), "{r}");
        assert!(
            r.contains("calls.bpf.c:102:2: CHECK(chain_a(one) == 0x15);"),
            "{r}"
        );
        // The program reads only its context on entry.
        let first = m.function(prog).first_insn().unwrap();
        let line = r
            .lines()
            .find(|l| {
                l.trim_start()
                    .starts_with(&AnyEntity::Insn(first).to_string())
            })
            .unwrap();
        assert!(line.ends_with("live-in {r1, r10}"), "{line}");
    }

    /// Before the first instruction of every block of every function of `m`: garbage into
    /// a dead register and into a free 8-byte stack slot.
    fn scribble(m: &mut Module) -> usize {
        let pass = m.add_origin("scribble");
        let funcs: Vec<FuncId> = m.functions().map(|(f, _)| f).collect();
        let mut n = 0;
        for f in funcs {
            let cfg = Cfg::compute(m, f).unwrap();
            let live = Liveness::of_cfg(m, &cfg);
            let slot = free_stack_slot(m, f, 8).unwrap();
            // Code inserted before a block start that only jumps reach would never run.
            let points: Vec<(InsnId, Option<bpfir::insn::Reg>)> = cfg
                .blocks()
                .filter(|(_, b)| {
                    m.prev_insn(b.insns[0])
                        .is_none_or(|p| m.insn(p).falls_through())
                })
                .map(|(_, b)| (b.insns[0], live.dead_register_at(b.insns[0])))
                .collect();
            let mut cur = FuncCursor::new(m, f).unwrap().with_origin(pass);
            for (at, dead) in points {
                cur.goto_insn(at).unwrap();
                if let Some(r) = dead {
                    cur.insert(mov64_imm(r, 0x5eed)).unwrap();
                    n += 1;
                }
                if let Some(off) = slot {
                    cur.insert(st(Size::DW, R10, off, 0x0bad)).unwrap();
                    n += 1;
                }
            }
        }
        n
    }

    #[test]
    fn garbage_in_dead_registers_and_free_slots_changes_nothing() {
        let mut m = calls();
        let n = scribble(&mut m);
        assert!(n > 20, "{n} writes");
        if !super::kernel::kernel_available("inspect") {
            return;
        }
        let opts = LoadOptions {
            object_name: "calls".into(),
            ..LoadOptions::default()
        };
        let loaded = load(&m, &opts).unwrap();
        super::kernel::check_offline_tags("scribbled calls", &loaded);
        assert!(!loaded.programs.is_empty());
        for p in &loaded.programs {
            let lp = p
                .result
                .as_ref()
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
            let r = lp.run_zero_packet(64).unwrap();
            assert_eq!(
                r.retval, 0,
                "{}: a self-check failed at line {}",
                p.name, r.retval
            );
        }
    }
}
