//! [`describe`]: a module as text without ids, for comparing modules across a write and
//! read, a link, or any rewrite that should not change them.

use std::fmt::Write as _;

use crate::insn::{CallKind, Insn, PseudoKind};
use crate::ir::{FuncId, InsnId, Module, Ref};

/// The module as text that names things instead of numbering them: per function (grouped
/// by section, sections in order of first appearance, as the ELF writer orders them) its name,
/// section, linkage, kind and BTF `FUNC` name, then per instruction the instruction with
/// the fields its reference stands for cleared (jump offsets, call kinds and immediates, `ld_imm64`
/// immediates and pseudo kinds), the reference (a jump by target position, a call by callee
/// name, a map by name, ...), the source line (strings resolved through the BTF; a
/// function's first instruction without one shows the function's first line, which is
/// what lowering and the writer give it) and the
/// CO-RE relocation (type name, access string, kind); then maps, data sections and externs.
///
/// Two modules with equal descriptions hold the same programs up to ids and string
/// offsets. Cost: linear in the module, plus a position search per jump.
pub fn describe(module: &Module) -> String {
    let mut out = String::new();
    let btf = module.btf.as_ref();
    let str_of = |off| {
        btf.and_then(|b| b.str(off).ok())
            .unwrap_or("<no string>")
            .to_string()
    };
    let type_name = |ty| {
        btf.and_then(|b| b.name(ty).ok())
            .unwrap_or("<no type>")
            .to_string()
    };
    let _ = writeln!(
        out,
        "endian {:?} license {:?} version {:?}",
        module.endian(),
        module.license,
        module.kern_version
    );
    // Functions grouped by section, sections in order of first appearance, module order
    // within a section: the order the ELF writer lays them out in, so it survives a write
    // and read (function ids, and the interleaving of sections, do not).
    let mut sections: Vec<&str> = Vec::new();
    for (_, func) in module.functions() {
        if !sections.contains(&func.section.as_str()) {
            sections.push(&func.section);
        }
    }
    let ordered = sections.iter().flat_map(|&s| {
        module
            .functions()
            .filter(move |(_, func)| func.section == s)
    });
    for (f, func) in ordered {
        let ty = func.btf_func.map(type_name).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "fn {} section {} {} program={} btf {}",
            func.name, func.section, func.linkage, func.is_program, ty
        );
        // The kernel needs a line at every function start; lowering and the writer give a
        // first instruction without one the function's first line, so it is shown so here.
        let first_line = module.func_insns(f).find_map(|i| module.line_of(i));
        for (k, id) in module.func_insns(f).enumerate() {
            let r = module.reference(id);
            let _ = write!(
                out,
                "  {:?} {}",
                normalize(*module.insn(id), r),
                ref_key(module, f, r)
            );
            let line = module
                .line_of(id)
                .or(if k == 0 { first_line } else { None });
            if let Some(l) = line {
                let l = module.line(l);
                let _ = write!(
                    out,
                    " line {}:{}:{} {:?}",
                    str_of(l.file),
                    l.line,
                    l.col,
                    str_of(l.text)
                );
            }
            if let Some(c) = module.core_of(id) {
                let c = module.core_relo(c);
                let _ = write!(
                    out,
                    " core {} {} {:?}",
                    type_name(c.ty),
                    str_of(c.access_str),
                    c.kind
                );
            }
            out.push('\n');
        }
    }
    for (id, map) in module.maps() {
        let _ = writeln!(out, "map {map:?} {}", module.map_linkage(id));
    }
    for (_, data) in module.data_sections() {
        let _ = writeln!(out, "data {data:?}");
    }
    for (_, ext) in module.externs() {
        let _ = writeln!(out, "extern {ext:?}");
    }
    out
}

/// A reference with ids replaced by names and positions.
fn ref_key(m: &Module, func: FuncId, r: Option<Ref>) -> String {
    let pos = |t: InsnId| match m.func_insns(func).position(|i| i == t) {
        Some(p) => p.to_string(),
        None => "<not in this function>".into(),
    };
    match r {
        None => String::new(),
        Some(Ref::Jump(t)) => format!("-> jump {}", pos(t)),
        Some(Ref::Call(f)) => format!("-> call {}", m.function(f).name),
        Some(Ref::FuncAddr(f)) => format!("-> func {}", m.function(f).name),
        Some(Ref::Map(x)) => format!("-> map {}", m.map(x).name),
        Some(Ref::Data { data, offset }) => format!("-> data {}+{offset}", m.data(data).name),
        Some(Ref::Extern(e)) => format!("-> extern {}", m.extern_(e).name),
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
