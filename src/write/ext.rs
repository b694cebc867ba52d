//! `.BTF.ext` for the written layout: the side tables of the module turned back into
//! per-section records with byte offsets.
//!
//! One group per code section (in section order) in each subsection that has records for it:
//! a func_info at the first byte of every function that has a `FUNC` type, a line_info for
//! every instruction with a source line (and, as lowering does, one at the start of every
//! function that has lines, from its first line, since the kernel requires it: an instruction
//! inserted before a function's first one reads back with that line), a core_relo for every
//! instruction with a CO-RE relocation, all in instruction order, so offsets strictly increase within a group. Section
//! names are strings of the module's BTF (added to the written copy when missing). Cost: one
//! pass over the laid-out instructions.

use crate::btf::Btf;
use crate::btf_ext::{BtfExt, CoreRelo, FuncInfo, InfoGroup, LineInfo, SecOffset};

use super::{WriteError, Writer, SLOT};

/// The `.BTF.ext` of the writer's layout, or `None` when there is not one record.
pub(super) fn build(w: &Writer<'_>, btf: &mut Btf) -> Result<Option<BtfExt>, WriteError> {
    let module = w.module;
    let mut ext = BtfExt::new(w.endian);
    for code in &w.code {
        let mut funcs = Vec::new();
        let mut lines = Vec::new();
        let mut relos = Vec::new();
        for &f in &code.funcs {
            let func = module.function(f);
            let start = w.places[f].start;
            if let Some(ty) = func.btf_func {
                funcs.push(FuncInfo {
                    insn_off: sec_offset(start),
                    type_id: btf.wire_id(ty),
                });
            }
            let mut at_start = true;
            for id in module.func_insns(f) {
                let off = sec_offset(
                    code.layout
                        .slot(id)
                        .expect("every instruction of a section's function is laid out"),
                );
                // The kernel wants a line at every function start: an instruction inserted
                // before the first one takes the first line the function has (as lowering
                // does), so that libbpf can load the object.
                let line = module.line_of(id).or_else(|| {
                    at_start
                        .then(|| module.func_insns(f).find_map(|i| module.line_of(i)))
                        .flatten()
                });
                at_start = false;
                if let Some(line) = line {
                    let l = module.line(line);
                    lines.push(LineInfo {
                        insn_off: off,
                        file_name: l.file,
                        line: l.text,
                        line_num: l.line,
                        col: l.col,
                    });
                }
                if let Some(core) = module.core_of(id) {
                    let c = module.core_relo(core);
                    relos.push(CoreRelo {
                        insn_off: off,
                        type_id: btf.wire_id(c.ty),
                        access: c.access_str,
                        kind: c.kind,
                    });
                }
            }
        }
        if funcs.is_empty() && lines.is_empty() && relos.is_empty() {
            continue;
        }
        let name = btf.add_str(&code.name)?;
        if !funcs.is_empty() {
            ext.func_info.groups.push(InfoGroup::new(name, funcs));
        }
        if !lines.is_empty() {
            ext.line_info.groups.push(InfoGroup::new(name, lines));
        }
        if !relos.is_empty() {
            ext.core_relo.groups.push(InfoGroup::new(name, relos));
        }
    }
    let empty = ext.func_info.is_empty() && ext.line_info.is_empty() && ext.core_relo.is_empty();
    Ok((!empty).then_some(ext))
}

/// The byte offset of `slot`; layout checked that every section fits 4 GiB.
fn sec_offset(slot: u64) -> SecOffset {
    SecOffset(u32::try_from(slot * SLOT).unwrap_or(u32::MAX))
}
