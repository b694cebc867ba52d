//! Module equality up to arena order: what "the text round-trips" means.
//!
//! Two modules are the same when their header, BTF, maps (with linkage and struct_ops
//! values), data sections,
//! externs and functions are equal in order, and each function's body is the same
//! instruction by instruction: the instruction (with the raw fields lowering and the writer
//! overwrite for a referenced instruction left out), its reference (a jump by the target's
//! position in the function), its source line, CO-RE relocation and origin by content. Line and
//! relocation ids, instruction ids and detached instructions do not count.
//!
//! Cost: one walk of every function.

use crate::insn::{CallKind, Insn, PseudoKind};
use crate::ir::{FuncId, InsnId, MapId, Module, Ref};

/// The instruction with the fields a reference makes meaningless cleared.
fn normalized(m: &Module, id: InsnId) -> Insn {
    let mut insn = *m.insn(id);
    let Some(r) = m.reference(id) else {
        return insn;
    };
    match (&r, &mut insn) {
        (Ref::Jump(_), i) if i.is_jump() => {
            i.set_jump_offset(0);
        }
        (_, Insn::Call { kind, imm, off }) => {
            *kind = CallKind::Local;
            *imm = 0;
            *off = 0;
        }
        (_, Insn::LdImm64 { kind, imm, .. }) => {
            *kind = PseudoKind::None;
            *imm = 0;
        }
        _ => {}
    }
    insn
}

/// A reference of another module as comparable data: its kind and the index of its id (ids of
/// two modules never compare equal in debug builds, since they carry their module's tag).
fn by_index(r: Option<Ref>) -> Option<(u8, usize, u32)> {
    Some(match r? {
        Ref::Jump(i) => (0, i.index(), 0),
        Ref::Call(f) => (1, f.index(), 0),
        Ref::FuncAddr(f) => (2, f.index(), 0),
        Ref::Map(m) => (3, m.index(), 0),
        Ref::Data { data, offset } => (4, data.index(), offset),
        Ref::Extern(e) => (5, e.index(), 0),
    })
}

/// A struct_ops value as comparable data: section, bytes, `(offset, function index)`s.
type StructOpsByIndex<'a> = (&'a str, &'a [u8], Vec<(u32, usize)>);

/// A struct_ops value of another module as comparable data (function ids by index).
fn struct_ops(m: &Module, id: MapId) -> Option<StructOpsByIndex<'_>> {
    let s = m.struct_ops(id)?;
    let funcs = s.funcs.iter().map(|&(o, f)| (o, f.index())).collect();
    Some((s.section.as_str(), s.data.as_slice(), funcs))
}

fn position(m: &Module, f: FuncId, id: InsnId) -> Option<usize> {
    m.func_insns(f).position(|i| i == id)
}

/// `Ok` when `a` and `b` are the same module up to arena order (see the module docs), else
/// the first difference.
///
/// ```
/// let bytes = std::fs::read("testdata/calls.bpfel.o").unwrap();
/// let m = bpfir::ir::Module::read(&bytes).unwrap();
/// let back = bpfir::ir::text::parse(&m.text().to_string()).unwrap();
/// bpfir::ir::text::same_module(&m, &back).unwrap();
/// ```
pub fn same_module(a: &Module, b: &Module) -> Result<(), String> {
    let check = |what: &str, same: bool| {
        if same {
            Ok(())
        } else {
            Err(format!("{what} differ"))
        }
    };
    check("byte orders", a.endian() == b.endian())?;
    check("licenses", a.license == b.license)?;
    check("kernel versions", a.kern_version == b.kern_version)?;
    match (&a.btf, &b.btf) {
        (Some(x), Some(y)) => {
            check("btf type counts", x.n_types() == y.n_types())?;
            check("btf blobs", x.to_bytes() == y.to_bytes())?;
        }
        (None, None) => {}
        _ => return Err("one module has btf, the other not".into()),
    }
    check("map counts", a.maps().len() == b.maps().len())?;
    for ((ia, ma), (ib, mb)) in a.maps().zip(b.maps()) {
        if ma != mb
            || a.map_linkage(ia) != b.map_linkage(ib)
            || struct_ops(a, ia) != struct_ops(b, ib)
        {
            return Err(format!("map {} differs: {ma:?} vs {mb:?}", ma.name));
        }
    }
    check(
        "data section counts",
        a.data_sections().len() == b.data_sections().len(),
    )?;
    for ((_, da), (_, db)) in a.data_sections().zip(b.data_sections()) {
        if da != db {
            return Err(format!("data section {} differs", da.name));
        }
    }
    check("extern counts", a.externs().len() == b.externs().len())?;
    for ((_, ea), (_, eb)) in a.externs().zip(b.externs()) {
        if ea != eb {
            return Err(format!("extern {} differs: {ea:?} vs {eb:?}", ea.name));
        }
    }
    check(
        "function counts",
        a.functions().len() == b.functions().len(),
    )?;
    for ((fa, xa), (fb, xb)) in a.functions().zip(b.functions()) {
        let name = &xa.name;
        if xa.name != xb.name
            || xa.linkage != xb.linkage
            || xa.section != xb.section
            || xa.is_program != xb.is_program
            || xa.hidden != xb.hidden
            || xa.btf_func != xb.btf_func
            || xa.n_insns() != xb.n_insns()
        {
            return Err(format!("function {name} differs in its header"));
        }
        for (n, (ia, ib)) in a.func_insns(fa).zip(b.func_insns(fb)).enumerate() {
            let here = || format!("function {name}, instruction {n}");
            if normalized(a, ia) != normalized(b, ib) {
                return Err(format!("{}: {} vs {}", here(), a.insn(ia), b.insn(ib)));
            }
            let same_ref = match (a.reference(ia), b.reference(ib)) {
                (Some(Ref::Jump(ta)), Some(Ref::Jump(tb))) => {
                    position(a, fa, ta) == position(b, fb, tb)
                }
                (ra, rb) => by_index(ra) == by_index(rb),
            };
            if !same_ref {
                return Err(format!("{}: references differ", here()));
            }
            let line = |m: &Module, i| m.line_of(i).map(|l| *m.line(l));
            if line(a, ia) != line(b, ib) {
                return Err(format!("{}: source lines differ", here()));
            }
            let origin = |m: &Module, i| m.insn_origin(i).and_then(|o| m.origin(o)).cloned();
            if origin(a, ia) != origin(b, ib) {
                return Err(format!("{}: origins differ", here()));
            }
            let core = |m: &Module, i| m.core_of(i).map(|c| m.core_relo(c).clone());
            if core(a, ia) != core(b, ib) {
                return Err(format!("{}: CO-RE relocations differ", here()));
            }
        }
    }
    Ok(())
}
