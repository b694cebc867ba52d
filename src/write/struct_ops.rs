//! `.struct_ops` and `.struct_ops.link` sections, as large as their `DATASEC` says: each
//! struct_ops map's value at its variable's `DATASEC` offset, a symbol per variable, and an
//! `R_BPF_64_ABS64` relocation
//! per function-pointer member against the program it names (the function's byte offset
//! in its section as the implicit addend, as clang writes it).

use object::write::Relocation;
use object::{elf, RelocationFlags, SectionKind};

use crate::btf::{Kind, Linkage, TypeKind};
use crate::elf::R_BPF_64_ABS64;
use crate::ir::{MapOrigin, SymbolLinkage};

use super::{WriteError, Writer};

/// Writes every struct_ops section (after the code sections, whose symbols they name).
pub(super) fn add_struct_ops(w: &mut Writer<'_>) -> Result<(), WriteError> {
    let module = w.module;
    let mut sections: Vec<&str> = Vec::new();
    for (id, m) in module.maps() {
        if m.origin != MapOrigin::StructOps {
            continue;
        }
        let v = module.struct_ops(id).ok_or_else(|| WriteError::BadData {
            section: ".struct_ops".into(),
            reason: format!("struct_ops map {} has no value", m.name),
        })?;
        if !sections.contains(&v.section.as_str()) {
            sections.push(&v.section);
        }
    }
    for name in sections {
        add_section(w, name)?;
    }
    Ok(())
}

fn add_section(w: &mut Writer<'_>, name: &str) -> Result<(), WriteError> {
    let module = w.module;
    let bad = |reason: String| WriteError::BadData {
        section: name.into(),
        reason,
    };
    let btf = module
        .btf
        .as_ref()
        .ok_or_else(|| bad("struct_ops variables need the module's BTF".into()))?;
    let datasec = btf
        .type_by_name_kind(name, Kind::Datasec)
        .ok_or_else(|| bad(format!("the BTF has no DATASEC {name}")))?;
    let vars = btf.datasec_vars(datasec);
    // (map, offset, linkage) of each variable.
    let mut placed = Vec::new();
    // The section is as large as its `DATASEC` says (the reader sets that to the section's
    // size, which may hold more than the variables), or as its variables need.
    let mut size = match btf.kind_of(datasec) {
        Ok(TypeKind::Datasec { size, .. }) => u64::from(size),
        _ => 0,
    };
    for (id, m) in module.maps() {
        let Some(value) = module.struct_ops(id).filter(|v| v.section == name) else {
            continue;
        };
        let var = m
            .btf_var
            .ok_or_else(|| bad(format!("struct_ops map {} has no BTF VAR", m.name)))?;
        let place = vars
            .iter()
            .find(|v| v.ty == var)
            .ok_or_else(|| bad(format!("the VAR of {} is not in DATASEC {name}", m.name)))?;
        if place.size as usize != value.data.len() {
            return Err(bad(format!(
                "{} holds {} bytes, its VAR {}",
                m.name,
                value.data.len(),
                place.size
            )));
        }
        let linkage = match btf.kind_of(var) {
            Ok(TypeKind::Var {
                linkage: Linkage::Static,
                ..
            }) => SymbolLinkage::Static,
            // Global, or weak (`__weak`, which the BTF does not say).
            _ => module.map_linkage(id),
        };
        size = size.max(u64::from(place.offset) + u64::from(place.size));
        placed.push((id, u64::from(place.offset), linkage));
    }
    let len = usize::try_from(size).map_err(|_| bad(format!("size {size} does not fit")))?;
    let mut bytes = vec![0u8; len];
    let mut relocs = Vec::new();
    for &(id, offset, _) in &placed {
        let value = module.struct_ops(id).expect("placed maps have values");
        let start = offset as usize;
        bytes[start..start + value.data.len()].copy_from_slice(&value.data);
        for &(at, func) in &value.funcs {
            if !w.places.contains_idx(func) {
                return Err(bad(format!(
                    "{} names function {}, which is not written",
                    module.map(id).name,
                    module.function(func).name
                )));
            }
            let (symbol, slot) = w.func_target(func);
            let pos = start + at as usize;
            let addend = w.endian.u64_bytes(slot * 8);
            bytes
                .get_mut(pos..pos + 8)
                .ok_or_else(|| bad(format!("member at {at} is outside the variable")))?
                .copy_from_slice(&addend);
            relocs.push(Relocation {
                offset: pos as u64,
                symbol,
                addend: 0,
                flags: RelocationFlags::Elf {
                    r_type: R_BPF_64_ABS64,
                },
            });
        }
    }
    let section = w
        .obj
        .add_section(Vec::new(), name.as_bytes().to_vec(), SectionKind::Data);
    w.obj.set_section_data(section, bytes, 8);
    for (id, offset, linkage) in placed {
        let m = module.map(id);
        let size = m.value_size.into();
        w.add_symbol(&m.name, section, offset, size, elf::STT_OBJECT, linkage);
    }
    for r in relocs {
        w.obj
            .add_relocation(section, r)
            .map_err(|e| WriteError::Elf {
                reason: e.to_string(),
            })?;
    }
    Ok(())
}
