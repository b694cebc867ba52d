//! One test per broken invariant: each is reported with its location, never a panic.

use crate::insn::build::*;
use crate::insn::{Insn, PseudoKind, Reg::*};
use crate::ir::build::{call, ja, jeq_imm, ld_data, ld_map};
use crate::ir::{AnyEntity, DataKind, DataSection, FuncId, Function, InsnId, Meta, Module, Ref};
use crate::Endian;

fn prog() -> (Module, FuncId) {
    let mut m = Module::new(Endian::Little);
    let f = m.add_function(Function::new("prog", "socket", true));
    (m, f)
}

fn messages(m: &Module) -> Vec<String> {
    match m.verify() {
        Ok(()) => Vec::new(),
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn a_well_formed_module_verifies() {
    let (mut m, f) = prog();
    let g = m.add_function(Function::new("sub", ".text", false));
    m.append_built(g, exit()).unwrap();
    let exit_id = m.append_built(f, exit()).unwrap();
    m.insert_built_before(exit_id, call(g)).unwrap();
    m.insert_built_before(exit_id, jeq_imm(R0, 0, exit_id))
        .unwrap();
    assert_eq!(m.verify(), Ok(()));
    assert_eq!(crate::verify::verify_program(&m, f), Ok(()));
}

#[test]
fn a_removed_jump_target_is_reported_at_the_jump() {
    let (mut m, f) = prog();
    let target = m.append_built(f, mov64_imm(R0, 0)).unwrap();
    let exit_id = m.append_built(f, exit()).unwrap();
    let j = m.insert_built_before(target, ja(exit_id)).unwrap();
    m.remove(exit_id).unwrap();
    m.append_built(f, exit()).unwrap();
    let err = m.verify().unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err.0[0].location, AnyEntity::Insn(j));
    assert_eq!(
        err.to_string(),
        format!(
            "function prog: i{} (goto <i{} outside the function>): jump target i{} was removed",
            raw(j),
            raw(exit_id),
            raw(exit_id)
        )
    );
}

#[test]
fn a_jump_into_another_function_is_reported() {
    let (mut m, f) = prog();
    let g = m.add_function(Function::new("sub", ".text", false));
    let there = m.append_built(g, exit()).unwrap();
    m.append_built(f, ja(there)).unwrap();
    m.append_built(f, exit()).unwrap();
    assert_eq!(
        messages(&m),
        [format!(
            "function prog: i1 (goto <i{} outside the function>): jump target i{} is in function f1 (sub)",
            raw(there),
            raw(there)
        )]
    );
}

#[test]
fn a_call_to_a_function_without_a_body_is_reported() {
    let (mut m, f) = prog();
    let g = m.add_function(Function::new("empty", ".text", false));
    m.append_built(f, call(g)).unwrap();
    m.append_built(f, exit()).unwrap();
    assert_eq!(
        messages(&m),
        ["function prog: i0 (call @empty): callee f1 (empty) has no instructions"]
    );
}

#[test]
fn a_map_load_without_its_map_is_reported() {
    let (mut m, f) = prog();
    let ld = Insn::LdImm64 {
        kind: PseudoKind::MapFd,
        dst: R1,
        imm: 0,
    };
    m.append(f, ld, Meta::default()).unwrap();
    m.append_built(f, exit()).unwrap();
    let msgs = messages(&m);
    assert_eq!(msgs.len(), 1);
    assert!(
        msgs[0].ends_with(
            "ld_imm64 of pseudo kind MapFd without its reference (map, data, function or extern)"
        ),
        "{msgs:?}"
    );
}

#[test]
fn jumps_and_calls_without_targets_are_reported() {
    let (mut m, f) = prog();
    let jump = Insn::Ja { off: 0 };
    let local = Insn::Call {
        kind: crate::insn::CallKind::Local,
        imm: 0,
        off: 0,
    };
    m.append(f, jump, Meta::default()).unwrap();
    m.append(f, local, Meta::default()).unwrap();
    m.append_built(f, exit()).unwrap();
    let msgs = messages(&m);
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(msgs[0].ends_with("jump without a target"));
    assert!(msgs[1].ends_with("bpf-to-bpf call without a callee"));
}

#[test]
fn a_reference_that_does_not_fit_its_instruction_is_reported() {
    let (mut m, f) = prog();
    let g = m.add_function(Function::new("sub", ".text", false));
    m.append_built(g, exit()).unwrap();
    m.append(f, mov64_imm(R0, 0), Meta::new().with_ref(Ref::Call(g)))
        .unwrap();
    m.append_built(f, exit()).unwrap();
    assert_eq!(
        messages(&m),
        ["function prog: i1 (r0 = 0x0): reference call of f1 does not fit this instruction"]
    );
}

#[test]
fn a_data_offset_outside_its_section_is_reported() {
    let (mut m, f) = prog();
    let d = m.add_data(DataSection {
        name: ".bss".into(),
        kind: DataKind::Bss,
        bytes: vec![0; 8],
        align: 8,
        vars: Vec::new(),
        btf_datasec: None,
    });
    m.append_built(f, ld_data(R1, d, 8)).unwrap();
    m.append_built(f, ld_data(R1, d, 9)).unwrap();
    m.append_built(f, exit()).unwrap();
    let msgs = messages(&m);
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(msgs[0].ends_with("offset 9 is outside the 8-byte data section d0 (.bss)"));
}

#[test]
fn dangling_and_foreign_ids_in_references_are_reported_not_panics() {
    // A module with more maps and functions than `m` hands out ids `m` does not have.
    let mut other = Module::new(Endian::Little);
    let mut foreign_f = None;
    for k in 0..4 {
        foreign_f = Some(other.add_function(Function::new(format!("o{k}"), ".text", false)));
    }
    let foreign_f = foreign_f.unwrap();
    for k in 0..8 {
        other.add_map(crate::ir::MapDef::new(
            format!("m{k}"),
            crate::ir::MapOrigin::Legacy,
        ));
    }
    let foreign_map = other.id_at::<crate::ir::MapDef>(7).unwrap();

    let (mut m, f) = prog();
    // The edit API refuses them...
    assert!(m.append_built(f, call(foreign_f)).is_err());
    assert!(m.append_built(f, ld_map(R1, foreign_map)).is_err());
    // ... and a reference set around it (create_insn does not check) is reported.
    let c = m.create_insn(
        Insn::Call {
            kind: crate::insn::CallKind::Local,
            imm: 0,
            off: 0,
        },
        Meta::new().with_ref(Ref::Call(foreign_f)),
    );
    m.attach_at_end(c, f).unwrap();
    m.append_built(f, exit()).unwrap();
    assert_eq!(
        messages(&m),
        [format!(
            "function prog: i0 (call <reference to f3>): its reference: f3 {}",
            foreign()
        )]
    );
    let missing: FuncId = m.any_id(42);
    assert_eq!(
        m.verify_function(missing).unwrap_err().to_string(),
        "function f42: no such function"
    );
    assert_eq!(
        crate::verify::verify_program(&m, missing)
            .unwrap_err()
            .to_string(),
        "function f42: no such function"
    );
}

#[test]
fn program_rules_need_func_types_and_lines_when_the_module_has_btf() {
    let (mut m, f) = prog();
    let g = m.add_function(Function::new("sub", ".text", false));
    m.append_built(g, exit()).unwrap();
    let line = m.add_line(crate::ir::SourceLine {
        file: Default::default(),
        text: Default::default(),
        line: 1,
        col: 1,
    });
    m.append(
        f,
        call(g).insn,
        Meta::new().with_ref(Ref::Call(g)).with_line(line),
    )
    .unwrap();
    m.append_built(f, exit()).unwrap();
    assert_eq!(m.verify(), Ok(()), "no BTF: no FUNC or line needed");
    m.btf = Some(crate::btf::Btf::new(Endian::Little));
    let msgs = messages(&m);
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert!(msgs[0].starts_with("function f0 (prog): no BTF FUNC type"));
    assert!(msgs[1].starts_with("function f1 (sub): no BTF FUNC type"));
    assert!(msgs[2].starts_with("function f1 (sub): no source line"));
}

fn raw(id: InsnId) -> usize {
    id.index()
}

/// How an error ends for an id of another module: debug builds know it is foreign, release
/// builds only that this module has nothing at its index.
fn foreign() -> &'static str {
    if cfg!(debug_assertions) {
        "belongs to another module"
    } else {
        "does not exist in this module"
    }
}

/// The misuses of the issue, through `lower`: each is a `LowerError::Verify` naming the
/// instruction, never a panic (a `Ref::Call` to a function the module does not have used to
/// index out of bounds inside lowering).
#[test]
fn lowering_reports_every_misuse_from_the_verifier() {
    use crate::lower::{lower, Bindings, LowerError};
    let lower_err = |m: &Module, f: FuncId| match lower(m, f, &Bindings::default()) {
        Err(LowerError::Verify(e)) => e,
        other => panic!("expected a verifier error, got {other:?}"),
    };

    // A call to a function id that does not exist.
    let (mut m, f) = prog();
    let dangling: FuncId = m.any_id(5);
    let c = m.create_insn(
        call(dangling).insn,
        Meta::new().with_ref(Ref::Call(dangling)),
    );
    m.attach_at_end(c, f).unwrap();
    m.append_built(f, exit()).unwrap();
    let e = lower_err(&m, f);
    assert_eq!(e.0[0].location, AnyEntity::Insn(c));
    assert!(
        e.to_string().contains("f5 does not exist in this module"),
        "{e}"
    );

    // A map load without its map.
    let (mut m, f) = prog();
    let ld = Insn::LdImm64 {
        kind: PseudoKind::MapFd,
        dst: R1,
        imm: 0,
    };
    let id = m.append(f, ld, Meta::default()).unwrap();
    m.append_built(f, exit()).unwrap();
    let e = lower_err(&m, f);
    assert_eq!(e.0[0].location, AnyEntity::Insn(id));
    assert!(e.to_string().contains("without its reference"), "{e}");

    // A removed jump target and a call to a function without a body, both at once.
    let (mut m, f) = prog();
    let empty = m.add_function(Function::new("empty", ".text", false));
    let target = m.append_built(f, mov64_imm(R0, 0)).unwrap();
    let exit_id = m.append_built(f, exit()).unwrap();
    let j = m.insert_built_before(target, ja(exit_id)).unwrap();
    let c = m.insert_built_before(target, call(empty)).unwrap();
    m.remove(exit_id).unwrap();
    m.append_built(f, exit()).unwrap();
    let e = lower_err(&m, f);
    let at: Vec<_> = e.iter().map(|e| e.location).collect();
    assert_eq!(at, [AnyEntity::Insn(j), AnyEntity::Insn(c)], "{e}");

    // An entry the module does not have.
    let e = lower_err(&m, m.any_id(77));
    assert_eq!(e.to_string(), "function f77: no such function");
}

#[test]
fn a_function_that_falls_through_its_end_is_reported() {
    let (mut m, f) = prog();
    let mov = m.append_built(f, mov64_imm(R0, 0)).unwrap();
    let msgs = messages(&m);
    assert_eq!(
        msgs,
        [format!(
            "function prog: i{} (r0 = 0x0): the function falls through its last instruction (the kernel wants an exit or an unconditional jump there)",
            raw(mov)
        )]
    );
    m.append_built(f, ja(mov)).unwrap();
    assert_eq!(m.verify(), Ok(()));
}
