//! Map sections: legacy `maps` and BTF-defined `.maps`.
//!
//! * **Legacy.** Each legacy map (module order) is one `struct bpf_map_def` of five `u32`s
//!   (type, key size, value size, max entries, flags) in the file's byte order, 20 bytes,
//!   with a global `STT_OBJECT` symbol of that size; a map that keeps an iproute2 pinning
//!   ([`Pinning::Other`]) is iproute2's 36-byte `struct bpf_elf_map` with the pinning at byte
//!   24, as the reader expects. What the legacy format cannot say (BTF types, NUMA node,
//!   `map_extra`, inner maps, initial slots, pinning by name) is an error.
//! * **BTF-defined.** The definition lives in `.BTF`; the section holds zeros, as long as the
//!   `DATASEC` `.maps` says, with one `STT_OBJECT` symbol per map at its `VAR`'s offset and
//!   size (local for a `static` `VAR`). Each initial slot `(i, name)` of `.values` is an
//!   `R_BPF_64_ABS64` relocation against `name` (a function for prog arrays, a map
//!   otherwise) at `VAR offset + offset of the values member + 8 * i`.

use std::collections::HashMap;

use object::write::Relocation;
use object::{elf, RelocationFlags, SectionKind};

use crate::btf::{Kind, Linkage, TypeKind};
use crate::elf::R_BPF_64_ABS64;
use crate::ir::{MapDef, MapOrigin, Pinning, SymbolLinkage};

use super::{WriteError, Writer};

/// Size of `struct bpf_map_def`.
const LEGACY_DEF_LEN: usize = 20;
/// Size of iproute2's `struct bpf_elf_map`.
const IPROUTE2_DEF_LEN: usize = 36;
/// Byte offset of `pinning` in `struct bpf_elf_map`.
const IPROUTE2_PINNING: usize = 24;
/// `BPF_MAP_TYPE_PROG_ARRAY`.
const MAP_TYPE_PROG_ARRAY: u32 = 3;
/// Size of a pointer of `.values`.
const PTR_LEN: u64 = 8;

fn bad_map(map: &MapDef, section: &str, reason: impl Into<String>) -> WriteError {
    WriteError::BadMap {
        map: map.name.clone(),
        section: section.to_string(),
        reason: reason.into(),
    }
}

/// The `maps` section and a symbol per legacy map.
pub(super) fn add_legacy_maps(w: &mut Writer<'_>) -> Result<(), WriteError> {
    let module = w.module;
    let places = legacy_places(w);
    let mut bytes = Vec::new();
    let mut symbols = Vec::new();
    for (id, m) in module.maps().filter(|(_, m)| m.origin == MapOrigin::Legacy) {
        let bad = |reason: &str| {
            bad_map(
                m,
                "maps",
                format!("{reason}, which a legacy map cannot say"),
            )
        };
        if m.key_type.is_some() || m.value_type.is_some() || m.btf_var.is_some() {
            return Err(bad("it has BTF types"));
        }
        if m.inner.is_some() || !m.init_slots.is_empty() {
            return Err(bad("it has an inner map or initial slots"));
        }
        if m.numa_node != 0 || m.map_extra != 0 {
            return Err(bad("it has a NUMA node or map_extra"));
        }
        let pinning = match m.pinning {
            Pinning::None => None,
            Pinning::Other(v) => Some(v),
            Pinning::ByName => return Err(bad("it is pinned by name")),
        };
        let offset = match &places {
            Some(p) => p[&m.name] as usize,
            None => bytes.len(),
        };
        bytes.resize(offset, 0);
        for v in [m.map_type, m.key_size, m.value_size, m.max_entries, m.flags] {
            bytes.extend_from_slice(&w.endian.u32_bytes(v));
        }
        if let Some(p) = pinning {
            bytes.resize(offset + IPROUTE2_DEF_LEN, 0);
            let at = offset + IPROUTE2_PINNING;
            bytes[at..at + 4].copy_from_slice(&w.endian.u32_bytes(p));
        }
        debug_assert!(bytes.len() - offset >= LEGACY_DEF_LEN);
        symbols.push((id, offset, bytes.len() - offset));
    }
    // As long as the `DATASEC` says (the reader sizes it by the section), placed or packed.
    if let Some(size) = legacy_datasec_size(w) {
        bytes.resize(bytes.len().max(size as usize), 0);
    }
    let section = w
        .obj
        .add_section(Vec::new(), b"maps".to_vec(), SectionKind::Data);
    w.obj.set_section_data(section, bytes, 4);
    for (id, offset, size) in symbols {
        let name = module.map(id).name.clone();
        let sym = w.add_symbol(
            &name,
            section,
            offset as u64,
            size as u64,
            elf::STT_OBJECT,
            module.map_linkage(id),
        );
        w.map_symbols.insert(id, sym);
    }
    Ok(())
}

/// The bytes of a legacy map's record: a `struct bpf_map_def`, or iproute2's longer
/// `struct bpf_elf_map` when the map keeps an iproute2 pinning.
pub(crate) fn legacy_record_len(m: &MapDef) -> u32 {
    let len = match m.pinning {
        Pinning::Other(_) => IPROUTE2_DEF_LEN,
        _ => LEGACY_DEF_LEN,
    };
    len as u32
}

/// The size of the `DATASEC` `maps`, when the BTF has one.
fn legacy_datasec_size(w: &Writer<'_>) -> Option<u32> {
    let btf = w.module.btf.as_ref()?;
    match btf
        .kind_of(btf.type_by_name_kind("maps", Kind::Datasec)?)
        .ok()?
    {
        TypeKind::Datasec { size, .. } => Some(size),
        _ => None,
    }
}

/// Where the BTF puts the legacy maps, when it has a `DATASEC` `maps` that places each of
/// them (by name) with room for its record: map name → byte offset, and `""` → the section
/// size. A static linker leaves the definitions of overridden weak maps in place, and the
/// BTF keeps the survivors' offsets; without such BTF the records are laid out back to
/// back.
fn legacy_places(w: &Writer<'_>) -> Option<HashMap<String, u32>> {
    let btf = w.module.btf.as_ref()?;
    let datasec = btf.type_by_name_kind("maps", Kind::Datasec)?;
    let size = match btf.kind_of(datasec).ok()? {
        TypeKind::Datasec { size, .. } => size,
        _ => return None,
    };
    let mut places = HashMap::from([(String::new(), size)]);
    let mut ends = Vec::new();
    for (_, m) in w
        .module
        .maps()
        .filter(|(_, m)| m.origin == MapOrigin::Legacy)
    {
        let len = legacy_record_len(m);
        let v = btf
            .datasec_vars(datasec)
            .iter()
            .find(|v| btf.name(v.ty).is_ok_and(|n| n == m.name))?;
        if v.size < len {
            return None;
        }
        places.insert(m.name.clone(), v.offset);
        ends.push((v.offset, v.offset.checked_add(len)?));
    }
    // Overlapping or unordered places would garble the records: fall back to packing.
    if ends.windows(2).any(|w| w[1].0 < w[0].1) {
        return None;
    }
    Some(places)
}

/// The `.maps` section and a symbol per BTF-defined map.
pub(super) fn add_btf_maps(w: &mut Writer<'_>) -> Result<(), WriteError> {
    let module = w.module;
    let first = module
        .maps()
        .map(|(_, m)| m)
        .find(|m| m.origin == MapOrigin::Btf);
    let no_datasec = |m: Option<&MapDef>, reason: &str| match m {
        Some(m) => bad_map(m, ".maps", reason),
        None => WriteError::BadData {
            section: ".maps".into(),
            reason: reason.into(),
        },
    };
    let btf = module
        .btf
        .as_ref()
        .ok_or_else(|| no_datasec(first, "the module has no BTF to define the map"))?;
    let datasec = btf
        .type_by_name_kind(".maps", Kind::Datasec)
        .ok_or_else(|| no_datasec(first, "the BTF has no DATASEC .maps"))?;
    let mut size = match btf.kind_of(datasec) {
        Ok(TypeKind::Datasec { size, .. }) => u64::from(size),
        _ => 0,
    };
    let vars = btf.datasec_vars(datasec);
    let mut symbols = Vec::new();
    for (id, m) in module.maps().filter(|(_, m)| m.origin == MapOrigin::Btf) {
        let var = m
            .btf_var
            .ok_or_else(|| bad_map(m, ".maps", "a BTF-defined map without its BTF VAR"))?;
        let place = vars.iter().find(|v| v.ty == var).ok_or_else(|| {
            bad_map(
                m,
                ".maps",
                "its BTF VAR is not a variable of the DATASEC .maps",
            )
        })?;
        let linkage = match btf.kind_of(var) {
            Ok(TypeKind::Var {
                linkage: Linkage::Static,
                ..
            }) => SymbolLinkage::Static,
            // A weak definition (kept by the reader or a link) stays weak.
            _ => module.map_linkage(id),
        };
        size = size.max(u64::from(place.offset) + u64::from(place.size));
        symbols.push((id, place.offset, place.size, linkage));
    }
    let len = usize::try_from(size).map_err(|_| WriteError::BadData {
        section: ".maps".into(),
        reason: format!("size {size} does not fit memory"),
    })?;
    let section = w
        .obj
        .add_section(Vec::new(), b".maps".to_vec(), SectionKind::Data);
    w.obj.set_section_data(section, vec![0u8; len], 8);
    w.maps_section = Some(section);
    for (id, offset, size, linkage) in symbols {
        let name = module.map(id).name.clone();
        let sym = w.add_symbol(
            &name,
            section,
            offset.into(),
            size.into(),
            elf::STT_OBJECT,
            linkage,
        );
        w.map_symbols.insert(id, sym);
    }
    Ok(())
}

/// Byte offset of the `values` member of the definition behind `var`.
fn values_offset(btf: &crate::btf::Btf, var: crate::btf::TypeId) -> Option<u64> {
    let ty = match btf.kind_of(var).ok()? {
        TypeKind::Var { ty, .. } => ty,
        _ => return None,
    };
    let st = btf.resolve(ty).ok()?;
    btf.members(st)
        .iter()
        .find(|m| btf.str(m.name).is_ok_and(|n| n == "values"))
        .map(|m| u64::from(m.bit_offset / 8))
}

/// `.rel.maps`: the initial slots of every BTF-defined map. Runs after every function and
/// map has its symbol.
pub(super) fn add_map_relocations(w: &mut Writer<'_>) -> Result<(), WriteError> {
    let module = w.module;
    let Some(section) = w.maps_section else {
        return Ok(());
    };
    let Some(btf) = module.btf.as_ref() else {
        return Ok(());
    };
    let Some(datasec) = btf.type_by_name_kind(".maps", Kind::Datasec) else {
        return Ok(());
    };
    let vars = btf.datasec_vars(datasec);
    let mut relocs = Vec::new();
    for (_, m) in module.maps().filter(|(_, m)| m.origin == MapOrigin::Btf) {
        if m.init_slots.is_empty() {
            continue;
        }
        let var = m.btf_var.expect("checked when the map was added");
        let base = vars
            .iter()
            .find(|v| v.ty == var)
            .map(|v| u64::from(v.offset))
            .expect("checked when the map was added");
        let values = values_offset(btf, var).ok_or_else(|| {
            bad_map(
                m,
                ".maps",
                "it has initial slots but its definition has no values member",
            )
        })?;
        for (slot, name) in &m.init_slots {
            let symbol = if m.map_type == MAP_TYPE_PROG_ARRAY {
                module
                    .functions()
                    .find(|(_, f)| &f.name == name)
                    .and_then(|(f, _)| w.places.get(f).and_then(|p| p.symbol))
            } else {
                module
                    .maps()
                    .find(|(_, inner)| &inner.name == name)
                    .and_then(|(i, _)| w.map_symbols.get(i).copied())
            };
            let symbol = symbol.ok_or_else(|| {
                bad_map(
                    m,
                    ".maps",
                    format!("slot {slot} names {name}, which is not written"),
                )
            })?;
            relocs.push(Relocation {
                offset: base + values + PTR_LEN * u64::from(*slot),
                symbol,
                addend: 0,
                flags: RelocationFlags::Elf {
                    r_type: R_BPF_64_ABS64,
                },
            });
        }
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
