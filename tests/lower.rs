//! Lowering without the kernel: every program of every readable object lowers; the result
//! obeys the kernel's func_info/line_info rules; every patched jump, call and callback lands
//! on the slot of the instruction or function it referred to; link order is depth-first by
//! first call site; bad programs fail before any syscall, naming function and instruction.

mod common;

use std::collections::HashMap;

use bpfir::insn::{encode_all, CallKind, Insn, PseudoKind, Reg};
use bpfir::ir::{AnyEntity, FuncId, Meta, Module, Ref};
use bpfir::lower::{link_order, lower, Bindings, LowerError};

#[test]
fn every_program_lowers_and_its_targets_land_where_they_pointed() {
    let mut programs = 0;
    for (path, data) in common::all_objects() {
        let Ok(m) = Module::read(&data) else { continue };
        let b = common::fake_bindings(&m);
        for (entry, func) in m.programs() {
            let what = format!("{} {}", path.display(), func.name);
            let p = lower(&m, entry, &b).unwrap_or_else(|e| panic!("{what}: {e}"));
            programs += 1;
            // Slots of every instruction and function, as laid out.
            let mut slot_of = HashMap::new();
            let mut start_of: HashMap<FuncId, u32> = HashMap::new();
            let mut slot = 0u32;
            for &f in &p.functions {
                start_of.insert(f, slot);
                for id in m.func_insns(f) {
                    slot_of.insert(id, slot);
                    slot += m.insn(id).n_slots() as u32;
                }
            }
            assert_eq!(p.n_slots() as u32, slot, "{what}");
            let ids: Vec<_> = p.functions.iter().flat_map(|&f| m.func_insns(f)).collect();
            assert_eq!(ids.len(), p.insns.len(), "{what}");
            for (id, insn) in ids.iter().zip(&p.insns) {
                let at = slot_of[id] as i64;
                match m.reference(*id) {
                    Some(Ref::Jump(t)) => {
                        let off = insn.jump_offset().unwrap() as i64;
                        assert_eq!(at + 1 + off, slot_of[&t] as i64, "{what}: {insn}");
                    }
                    Some(Ref::Call(c)) => match insn {
                        Insn::Call {
                            kind: CallKind::Local,
                            imm,
                            ..
                        } => {
                            assert_eq!(at + 1 + *imm as i64, start_of[&c] as i64, "{what}")
                        }
                        other => panic!("{what}: call lowered to {other}"),
                    },
                    Some(Ref::FuncAddr(c)) => match insn {
                        Insn::LdImm64 {
                            kind: PseudoKind::Func,
                            imm,
                            ..
                        } => {
                            // The offset is the first half; the second half is 0.
                            assert_eq!(imm >> 32, 0, "{what}: second half");
                            let off = i64::from(*imm as i32);
                            assert_eq!(at + 1 + off, start_of[&c] as i64, "{what}")
                        }
                        other => panic!("{what}: callback lowered to {other}"),
                    },
                    Some(Ref::Map(map)) => assert!(
                        matches!(insn, Insn::LdImm64 { kind: PseudoKind::MapFd, imm, .. } if *imm == b.maps[map] as i64),
                        "{what}: {insn}"
                    ),
                    Some(Ref::Data { data, offset }) => assert!(
                        matches!(insn, Insn::LdImm64 { kind: PseudoKind::MapValue, imm, .. }
                            if *imm == ((offset as i64) << 32 | b.data[data] as i64)),
                        "{what}: {insn}"
                    ),
                    _ => {}
                }
            }
            // The bytecode decodes back to the same instructions.
            let bytes = p.insn_bytes(m.endian());
            // (Slots the decoder refuses were kept as `Insn::Opaque`, which may decode as
            // an instruction again, a jump out of its function say: compare the bytes.)
            let back: Vec<Insn> = bpfir::insn::Decoder::keeping_opaque(&bytes, m.endian())
                .map(|r| r.unwrap().1)
                .collect();
            assert_eq!(back.len(), p.insns.len(), "{what}");
            assert_eq!(encode_all(&back, m.endian()), bytes, "{what}");
            for (a, b) in back.iter().zip(&p.insns) {
                if !matches!(b, Insn::Opaque { .. }) {
                    assert_eq!(a, b, "{what}");
                }
            }
            // func_info: one per function, at its first slot; line_info at every start.
            if m.btf.is_some() {
                assert_eq!(p.func_info.len(), p.functions.len(), "{what}");
                for (fi, f) in p.func_info.iter().zip(&p.functions) {
                    assert_eq!(fi.insn_off, start_of[f]);
                    assert!(
                        p.line_info.iter().any(|l| l.insn_off == fi.insn_off),
                        "{what}"
                    );
                }
                assert_eq!(p.func_info_bytes(m.endian()).len(), 8 * p.func_info.len());
                assert_eq!(p.line_info_bytes(m.endian()).len(), 16 * p.line_info.len());
            }
        }
    }
    eprintln!("{programs} programs lowered");
    assert!(programs > 50);
}

fn read(name: &str) -> Module {
    Module::read(&std::fs::read(common::testdata_dir().join(name)).unwrap()).unwrap()
}

#[test]
fn link_order_is_depth_first_by_first_call_site() {
    let m = read("calls.bpfel.o");
    let names = |entry: &str| -> Vec<String> {
        let f = m.function_by_name(entry).unwrap();
        link_order(&m, f)
            .iter()
            .map(|&f| m.function(f).name.clone())
            .collect()
    };
    for entry in ["calls_first", "calls_second"] {
        let order = names(entry);
        assert_eq!(order[0], entry);
        // chain_a calls chain_b calls chain_c: depth-first places them together, in order.
        let pos = |n: &str| order.iter().position(|x| x == n);
        if let (Some(a), Some(b), Some(c)) = (pos("chain_a"), pos("chain_b"), pos("chain_c")) {
            assert_eq!((b, c), (a + 1, a + 2), "{entry}: {order:?}");
        }
        // Every function is placed once.
        let mut sorted = order.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), order.len(), "{entry}: {order:?}");
    }
    // The shared sub-program is emitted into both programs.
    assert!(names("calls_first").contains(&"shared_mix".to_string()));
    assert!(names("calls_second").contains(&"shared_mix".to_string()));
}

fn mov(imm: i32) -> Insn {
    bpfir::insn::build::mov64_imm(Reg::R0, imm)
}

#[test]
fn an_instruction_inserted_at_a_function_start_takes_its_first_line() {
    let mut m = read("calls.bpfel.o");
    let b = common::fake_bindings(&m);
    let entry = m.function_by_name("calls_first").unwrap();
    let callee = m.function_by_name("chain_b").unwrap();
    let first = m.function(callee).first_insn().unwrap();
    let line = m.line_of(first);
    let new = m.insert_before(first, mov(0), Meta::default()).unwrap();
    assert_eq!(m.line_of(new), None);
    let p = lower(&m, entry, &b).unwrap();
    let i = p.functions.iter().position(|&f| f == callee).unwrap();
    let start = p.func_info[i].insn_off;
    let rec = p.line_info.iter().find(|l| l.insn_off == start).unwrap();
    assert_eq!(Some(rec.line_num), line.map(|l| m.line(l).line));
}

#[test]
fn bad_programs_fail_before_any_syscall_naming_function_and_instruction() {
    let m = read("calls.bpfel.o");
    let entry = m.function_by_name("calls_first").unwrap();

    // A jump whose target was removed.
    let mut edited = m.clone();
    let (jump, target) = edited
        .func_insns(entry)
        .find_map(|i| match edited.reference(i) {
            Some(Ref::Jump(t)) => Some((i, t)),
            _ => None,
        })
        .unwrap();
    edited.remove(target).unwrap();
    let e = lower(&edited, entry, &common::fake_bindings(&edited)).unwrap_err();
    // The verifier reports it, at the jump, in its function.
    match &e {
        LowerError::Verify(errors) => {
            // Every jump to the removed instruction is reported, the first one first.
            let jumps_to_target = edited
                .func_insns(entry)
                .filter(|&i| edited.reference(i) == Some(Ref::Jump(target)))
                .count();
            // The removed target was the function's exit: its body now also falls through
            // its last instruction, which is reported too.
            let (removed, other): (Vec<_>, Vec<_>) = errors
                .iter()
                .partition(|e| e.message.contains("was removed"));
            assert_eq!(removed.len(), jumps_to_target, "{errors}");
            assert!(
                other.iter().all(|e| e.message.contains("falls through")),
                "{errors}"
            );
            assert_eq!(errors.0[0].location, AnyEntity::Insn(jump));
            for err in removed {
                assert_eq!(err.func, Some(entry));
                assert!(err.context.starts_with("function calls_first: i"), "{err}");
                assert!(
                    err.message.ends_with(&format!("{target} was removed")),
                    "{err}"
                );
            }
        }
        other => panic!("{other}"),
    }

    // A call to a function that has no body.
    let mut edited = m.clone();
    let empty = edited.add_function(bpfir::ir::Function::new("empty", ".text", false));
    let call = edited
        .func_insns(entry)
        .find(|&i| matches!(edited.reference(i), Some(Ref::Call(_))))
        .unwrap();
    edited.redirect_call(call, empty).unwrap();
    let e = lower(&edited, entry, &common::fake_bindings(&edited)).unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");

    // A map reference with no fd bound.
    let (with_map, _) = m
        .programs()
        .find(|(f, _)| {
            link_order(&m, *f).iter().any(|&g| {
                m.func_insns(g)
                    .any(|i| matches!(m.reference(i), Some(Ref::Map(_))))
            })
        })
        .unwrap();
    let e = lower(&m, with_map, &Bindings::default()).unwrap_err();
    assert!(
        matches!(&e, LowerError::BadInsn { reason, .. } if reason.contains("loop_states")),
        "{e}"
    );
    // The error names the instruction by its id, as the dump prints it.
    if let LowerError::BadInsn { id, .. } = &e {
        assert!(matches!(m.reference(*id), Some(Ref::Map(_))));
        assert!(
            e.to_string().contains(&AnyEntity::Insn(*id).to_string()),
            "{e}"
        );
    }

    // A jump that no longer fits: 40000 instructions between a jump and its target.
    let mut edited = m.clone();
    let (jump, target) = edited
        .func_insns(entry)
        .find_map(|i| match edited.reference(i) {
            Some(Ref::Jump(t)) if edited.insn(i).jump_offset().unwrap() > 0 => Some((i, t)),
            _ => None,
        })
        .unwrap();
    for _ in 0..40_000 {
        edited
            .insert_before(target, mov(1), Meta::default())
            .unwrap();
    }
    let e = lower(&edited, entry, &common::fake_bindings(&edited)).unwrap_err();
    assert!(e.to_string().contains("does not fit"), "{e}");
    let _ = jump;
}
