//! `.struct_ops` and `.struct_ops.link` sections: each variable (a `DATASEC` entry in the
//! object's BTF) becomes a struct_ops map of the module, its bytes and the programs its
//! function-pointer members name (`R_BPF_64_ABS64` relocations against program symbols)
//! kept as [`StructOps`].
//!
//! Costs: linear in the section's relocations and variables; programs found by binary
//! search in the code tables.

use crate::btf::{Kind, TypeKind};
use crate::elf::{Binding, SymbolKind, R_BPF_64_ABS64};
use crate::ir::{MapDef, MapOrigin, StructOps, SymbolLinkage};

use super::{ReadError, Reader};

/// `BPF_MAP_TYPE_STRUCT_OPS`.
const MAP_TYPE_STRUCT_OPS: u32 = 26;
/// `BPF_F_LINK`: the struct_ops map is attached through a link.
const BPF_F_LINK: u32 = 1 << 13;

/// Whether ELF section `name` holds struct_ops variables.
pub(super) fn is_struct_ops_section(name: &str) -> bool {
    name == ".struct_ops" || name == ".struct_ops.link"
}

impl Reader<'_> {
    /// Reads every struct_ops variable (after the code, whose functions they name).
    pub(super) fn read_struct_ops(&mut self) -> Result<(), ReadError> {
        let sections: Vec<_> = self
            .elf
            .sections()
            .iter()
            .filter(|s| is_struct_ops_section(s.name))
            .cloned()
            .collect();
        for section in sections {
            let bad = |reason: String| ReadError::BadSection {
                section: section.name.into(),
                reason,
            };
            let btf = self
                .module
                .btf
                .as_ref()
                .ok_or_else(|| bad("struct_ops variables need the object's BTF".into()))?;
            let datasec = super::datasec_in(btf, &self.datasecs, section.name)
                .ok_or_else(|| bad("no DATASEC of that name in the object's BTF".into()))?;
            // (name, VAR, struct type, offset, size) of each variable, its offset from its
            // symbol (clang leaves 0 in the DATASEC).
            let mut vars = Vec::new();
            for v in btf.datasec_vars(datasec) {
                let name = btf.name(v.ty)?.to_string();
                let TypeKind::Var { ty, .. } = btf.ty(v.ty).kind else {
                    return Err(bad(format!("DATASEC entry {name} is not a VAR")));
                };
                let st = btf.resolve(ty)?;
                if btf.ty(st).kind.kind() != Kind::Struct {
                    return Err(bad(format!("variable {name} is not a struct")));
                }
                let size = btf.size_of(st)?;
                let sym = self
                    .elf
                    .symbols()
                    .iter()
                    .find(|s| s.section == Some(section.index) && s.name == name)
                    .ok_or_else(|| bad(format!("variable {name} has no symbol")))?;
                let weak = sym.binding == Binding::Weak;
                vars.push((name, v.ty, st, sym.value, size, weak));
            }
            let relocs = self.elf.relocations(section.index)?;
            for (name, var, st, offset, size, weak) in vars {
                let data = usize::try_from(offset)
                    .ok()
                    .and_then(|o| section.data.get(o..o.checked_add(size as usize)?))
                    .ok_or_else(|| {
                        bad(format!(
                            "variable {name} at {offset:#x}, {size} bytes, is outside the section"
                        ))
                    })?;
                let mut value = StructOps {
                    section: section.name.to_string(),
                    data: data.to_vec(),
                    funcs: Vec::new(),
                };
                for r in relocs
                    .iter()
                    .filter(|r| r.offset >= offset && r.offset < offset + size as u64)
                {
                    let sym = &self.elf.symbols()[r.symbol];
                    let bad_reloc = |reason: String| ReadError::BadRelocation {
                        section: section.name.into(),
                        offset: r.offset,
                        r_type: r.r_type,
                        symbol: sym.name.into(),
                        reason,
                    };
                    if r.r_type != R_BPF_64_ABS64 {
                        return Err(bad_reloc("not a function pointer relocation".into()));
                    }
                    let at = (r.offset - offset) as usize;
                    let slot = value
                        .data
                        .get_mut(at..at + 8)
                        .ok_or_else(|| bad_reloc(format!("member {name}+{at} is not 8 bytes")))?;
                    // The implicit addend (0 as clang writes it) plus the symbol's value is
                    // the function's offset in its section.
                    let addend = self.elf.endian().read_u64(slot, 0).unwrap_or(0);
                    slot.fill(0);
                    let target = match sym.kind {
                        SymbolKind::Func | SymbolKind::Section => {
                            sym.value.wrapping_add(addend).wrapping_add(r.addend as u64)
                        }
                        _ => return Err(bad_reloc("the symbol is not a function".into())),
                    };
                    let func = sym
                        .section
                        .and_then(|s| self.code.iter().find(|c| c.index == s))
                        .and_then(|c| c.func_at(target))
                        .ok_or_else(|| {
                            bad_reloc(format!("no function at {target:#x} of its section"))
                        })?;
                    if !self.module.function(func).is_program {
                        return Err(bad_reloc(format!(
                            "{} is not a program (struct_ops members name programs)",
                            self.module.function(func).name
                        )));
                    }
                    value.funcs.push((at as u32, func));
                }
                let def = MapDef {
                    map_type: MAP_TYPE_STRUCT_OPS,
                    key_size: 4,
                    value_size: size,
                    max_entries: 1,
                    flags: if value.is_link() { BPF_F_LINK } else { 0 },
                    value_type: Some(st),
                    btf_var: Some(var),
                    ..MapDef::new(name.clone(), MapOrigin::StructOps)
                };
                let id = self.module.add_map(def);
                self.module.set_struct_ops(id, value)?;
                // A weak variable (`__weak SEC(".struct_ops")`): a static linker may override it.
                if weak {
                    self.module.set_map_linkage(id, SymbolLinkage::Weak)?;
                }
            }
        }
        Ok(())
    }
}
