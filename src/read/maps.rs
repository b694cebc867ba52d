//! Map definitions: legacy `maps` and BTF-defined `.maps`.
//!
//! [`read_maps`] turns the map sections of an ELF object into [`MapDef`]s, each with the ELF
//! section and byte range of its symbol (which code relocations point at).
//!
//! * **Legacy** (`SEC("maps")`): every named `STT_OBJECT`/`STT_NOTYPE` symbol of the section
//!   is one `struct bpf_map_def { u32 type, key_size, value_size, max_entries, map_flags }`,
//!   `st_size` bytes long (or section size / number of symbols when every size is 0), in the
//!   file's byte order. Bytes past the five fields must be zero, except for iproute2's 36-byte
//!   `struct bpf_elf_map` (`id`, `pinning`, `inner_id`, `inner_idx` follow): there `pinning`
//!   is kept as [`Pinning::Other`] (iproute2 numbers its namespaces differently from libbpf)
//!   and the other three must be zero. Static (`STB_LOCAL`) legacy maps are refused, as
//!   libbpf does.
//! * **BTF-defined** (`SEC(".maps")`): the `DATASEC` `.maps` lists one `VAR` per map; its
//!   type (through typedefs and qualifiers) is a struct whose members encode the attributes
//!   as libbpf's `bpf_helpers.h` writes them: `__uint(name, N)` is `int (*name)[N]`,
//!   `__type(name, T)` is `T *name`, `__ulong(name, N)` is a one-enumerator enum, and
//!   `__array(values, T)` is a zero-length array of pointers to the inner map template (a
//!   struct, for map-in-maps) or to a function prototype (prog arrays). Unknown attribute
//!   names are an error. The variable's offset comes from its ELF symbol (clang leaves the
//!   `DATASEC` offsets at 0 for the loader to fix up), its size from the `VAR` (as libbpf,
//!   whatever the symbol's size says). The bytes of a definition must be
//!   zero except for the pointers of `.values = { [i] = &x }`, which are read from the
//!   section's `R_BPF_64_ABS64` relocations into [`MapDef::init_slots`]; they must fit the
//!   map as the kernel will create it (an array's slots below `max_entries`, a hash of maps
//!   no more slots than `max_entries`), where libbpf fails at map creation.
//!
//! Maps are returned ordered by (section index, byte offset). Nothing here panics on input
//! bytes: every offset is checked against the section, and every error names the section and
//! the map. Cost: one pass over the symbol table per map section, one pass over the `.maps`
//! relocations, and a linear scan of each map's symbol name among the section's symbols.

use crate::btf::{Btf, Kind, Linkage, TypeId, TypeKind};
use crate::elf::{Binding, ElfObject, Section, Symbol, SymbolKind};
use crate::ir::{MapDef, MapOrigin, Pinning};

use super::ReadError;

/// The section of legacy `struct bpf_map_def` maps.
pub(crate) const LEGACY_SECTION: &str = "maps";
/// The section of BTF-defined maps (and the name of its `DATASEC`).
pub(crate) const BTF_SECTION: &str = ".maps";

/// `BPF_MAP_TYPE_PROG_ARRAY`.
const MAP_TYPE_PROG_ARRAY: u32 = 3;
/// `BPF_MAP_TYPE_ARRAY_OF_MAPS`.
const MAP_TYPE_ARRAY_OF_MAPS: u32 = 12;
/// `BPF_MAP_TYPE_HASH_OF_MAPS`.
const MAP_TYPE_HASH_OF_MAPS: u32 = 13;

/// Size of `struct bpf_map_def` (five `u32`s).
const LEGACY_DEF_LEN: usize = 20;
/// Size of iproute2's `struct bpf_elf_map` (nine `u32`s).
const IPROUTE2_DEF_LEN: usize = 36;
/// Names of iproute2's fields after the first five, by byte offset.
const IPROUTE2_EXTRA_FIELDS: [(usize, &str); 4] = [
    (20, "id"),
    (24, "pinning"),
    (28, "inner_id"),
    (32, "inner_idx"),
];

/// `R_BPF_64_64`: older clang's relocation of a 64-bit data word.
const R_BPF_64_64: u32 = 1;
/// `R_BPF_64_ABS64`: a 64-bit absolute address in data.
const R_BPF_64_ABS64: u32 = 2;
/// `SHT_RELA`.
const SHT_RELA: u32 = 4;
/// `SHT_REL`.
const SHT_REL: u32 = 9;

/// Size of a pointer in a `.values` array of a BPF object.
const PTR_LEN: u64 = 8;

/// One map definition and where its symbol is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ReadMap {
    /// The definition.
    pub def: MapDef,
    /// ELF section index of the map's symbol (`maps` or `.maps`).
    pub section: usize,
    /// Byte offset of the symbol in that section.
    pub offset: u64,
    /// Size of the symbol in bytes.
    pub size: u64,
}

/// Reads every map definition of `elf`: legacy ones from `maps`, BTF-defined ones from
/// `.maps` (which needs the object's `btf`). An object without map sections has no maps.
pub(crate) fn read_maps(elf: &ElfObject<'_>, btf: Option<&Btf>) -> Result<Vec<ReadMap>, ReadError> {
    let mut maps = Vec::new();
    for section in elf.sections() {
        match section.name {
            LEGACY_SECTION => maps.extend(read_legacy(elf, section)?),
            BTF_SECTION => maps.extend(read_btf_maps(elf, section, btf)?),
            _ => {}
        }
    }
    maps.sort_by_key(|m| (m.section, m.offset));
    Ok(maps)
}

fn bad_map(section: &str, map: &str, reason: impl Into<String>) -> ReadError {
    ReadError::BadMap {
        section: section.to_string(),
        map: map.to_string(),
        reason: reason.into(),
    }
}

fn bad_section(section: &str, reason: impl Into<String>) -> ReadError {
    ReadError::BadSection {
        section: section.to_string(),
        reason: reason.into(),
    }
}

/// The bytes `[offset, offset + size)` of `section`, if they are all inside it.
fn symbol_bytes<'a>(section: &Section<'a>, offset: u64, size: u64) -> Option<&'a [u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(size).ok()?)?;
    section.data.get(start..end)
}

// ---------------------------------------------------------------------------------------
// Legacy `maps`.

fn read_legacy(elf: &ElfObject<'_>, section: &Section<'_>) -> Result<Vec<ReadMap>, ReadError> {
    let sec = section.name;
    let mut symbols: Vec<&Symbol<'_>> = elf
        .symbols()
        .iter()
        .filter(|s| {
            s.section == Some(section.index)
                && matches!(s.kind, SymbolKind::Object | SymbolKind::NoType)
                && !s.name.is_empty()
        })
        .collect();
    symbols.sort_by_key(|s| s.value);
    if symbols.is_empty() {
        if section.size != 0 {
            return Err(bad_section(
                sec,
                format!(
                    "{} bytes of map definitions but no symbol names any of them",
                    section.size
                ),
            ));
        }
        return Ok(Vec::new());
    }
    // When the compiler gave no sizes, libbpf assumes equally sized definitions.
    let n_symbols = symbols.len();
    let equal_share = || {
        let n = n_symbols as u64;
        if !section.size.is_multiple_of(n) {
            return Err(bad_section(
                sec,
                format!(
                    "{} bytes cannot be split into {n} equally sized map definitions",
                    section.size
                ),
            ));
        }
        Ok(section.size / n)
    };
    let mut maps = Vec::with_capacity(symbols.len());
    for sym in symbols {
        let name = sym.name;
        if sym.binding == Binding::Local {
            return Err(bad_map(
                sec,
                name,
                "static (STB_LOCAL) legacy maps are not supported; make the map global",
            ));
        }
        let size = if sym.size != 0 {
            sym.size
        } else {
            equal_share()?
        };
        let bytes = symbol_bytes(section, sym.value, size).ok_or_else(|| {
            bad_map(
                sec,
                name,
                format!(
                    "definition at [{:#x}, +{size}) is outside the section of {} bytes",
                    sym.value,
                    section.data.len()
                ),
            )
        })?;
        let def = decode_legacy(elf, name, bytes).map_err(|reason| bad_map(sec, name, reason))?;
        maps.push(ReadMap {
            def,
            section: section.index,
            offset: sym.value,
            size,
        });
    }
    Ok(maps)
}

/// Decodes one legacy definition of `bytes.len()` bytes.
fn decode_legacy(elf: &ElfObject<'_>, name: &str, bytes: &[u8]) -> Result<MapDef, String> {
    if bytes.len() < LEGACY_DEF_LEN {
        return Err(format!(
            "definition of {} bytes is shorter than struct bpf_map_def ({LEGACY_DEF_LEN} bytes)",
            bytes.len()
        ));
    }
    let endian = elf.endian();
    // In range: the length was checked above.
    let word = |off: usize| endian.read_u32(bytes, off).unwrap_or(0);
    let mut def = MapDef::new(name.to_string(), MapOrigin::Legacy);
    def.map_type = word(0);
    def.key_size = word(4);
    def.value_size = word(8);
    def.max_entries = word(12);
    def.flags = word(16);
    if bytes.len() == IPROUTE2_DEF_LEN {
        for (off, field) in IPROUTE2_EXTRA_FIELDS {
            let v = word(off);
            match (field, v) {
                (_, 0) => {}
                ("pinning", v) => def.pinning = Pinning::Other(v),
                (field, v) => {
                    return Err(format!(
                        "iproute2 struct bpf_elf_map field {field} is {v}; only pinning is \
                         supported past the first five fields"
                    ))
                }
            }
        }
        return Ok(def);
    }
    if let Some(i) = bytes[LEGACY_DEF_LEN..].iter().position(|&b| b != 0) {
        // Name the 4-byte word, which is the same in both byte orders.
        let start = (LEGACY_DEF_LEN + i) / 4 * 4;
        return Err(format!(
            "unrecognized non-zero field at bytes [{start}, {}) of a {}-byte definition \
             (struct bpf_map_def has {LEGACY_DEF_LEN} bytes)",
            start + 4,
            bytes.len()
        ));
    }
    Ok(def)
}

// ---------------------------------------------------------------------------------------
// BTF-defined `.maps`.

/// One relocation of the `.maps` section.
#[derive(Clone, Copy, Debug)]
struct MapReloc {
    offset: u64,
    r_type: u32,
    symbol: usize,
}

/// The relocations that apply to `section`: the `SHT_REL` (or `SHT_RELA`) section named
/// `.rel<name>` (`.rela<name>`). Read from the raw bytes in the file's byte order.
fn relocations_of(elf: &ElfObject<'_>, section: &Section<'_>) -> Result<Vec<MapReloc>, ReadError> {
    let rel_name = format!(".rel{}", section.name);
    let rela_name = format!(".rela{}", section.name);
    let endian = elf.endian();
    let mut out = Vec::new();
    for rel in elf.sections() {
        let entry_len = match rel.sh_type {
            SHT_REL if rel.name == rel_name => 16,
            SHT_RELA if rel.name == rela_name => 24,
            _ => continue,
        };
        if rel.data.len() % entry_len != 0 {
            return Err(bad_section(
                rel.name,
                format!(
                    "{} bytes is not a whole number of {entry_len}-byte relocations",
                    rel.data.len()
                ),
            ));
        }
        out.reserve(rel.data.len() / entry_len);
        for entry in rel.data.chunks_exact(entry_len) {
            // In range: every chunk has at least 16 bytes.
            let offset = endian.read_u64(entry, 0).unwrap_or(0);
            let info = endian.read_u64(entry, 8).unwrap_or(0);
            out.push(MapReloc {
                offset,
                r_type: (info & 0xffff_ffff) as u32,
                symbol: (info >> 32) as usize,
            });
        }
    }
    Ok(out)
}

fn read_btf_maps(
    elf: &ElfObject<'_>,
    section: &Section<'_>,
    btf: Option<&Btf>,
) -> Result<Vec<ReadMap>, ReadError> {
    let sec = section.name;
    let btf = btf.ok_or_else(|| {
        bad_section(
            sec,
            "BTF-defined maps cannot be read: the object has no .BTF section",
        )
    })?;
    let Some(datasec) = super::datasec_by_name(btf, BTF_SECTION) else {
        if section.size == 0 {
            return Ok(Vec::new());
        }
        return Err(bad_section(
            sec,
            "the object's BTF has no DATASEC named .maps describing the section",
        ));
    };
    let relocs = relocations_of(elf, section)?;
    let mut claimed = vec![false; relocs.len()];
    let vars = btf.datasec_vars(datasec);
    let mut maps = Vec::with_capacity(vars.len());
    // A map is found by its name (its symbol's): two definitions of one name would both
    // take the first's symbol.
    let mut names = std::collections::HashSet::new();
    for var in vars {
        let (var_ty, linkage) = match btf.kind_of(var.ty) {
            Ok(TypeKind::Var { ty, linkage }) => (ty, linkage),
            Ok(k) => {
                return Err(bad_section(
                    sec,
                    format!(
                        "DATASEC .maps lists type {} of kind {}, expected VAR",
                        btf.wire_id(var.ty).0,
                        k.kind()
                    ),
                ))
            }
            Err(e) => return Err(bad_section(sec, format!("DATASEC .maps: {e}"))),
        };
        let name = btf
            .name(var.ty)
            .map_err(|e| bad_section(sec, format!("map variable name: {e}")))?;
        if linkage == Linkage::Extern {
            // Defined by another object: an extern of the module (see `read_externs`).
            continue;
        }
        if !names.insert(name) {
            return Err(bad_map(
                sec,
                name,
                "DATASEC .maps defines a second map of this name",
            ));
        }
        let sym = elf
            .symbols()
            .iter()
            .find(|s| {
                s.section == Some(section.index) && s.name == name && s.kind != SymbolKind::Section
            })
            .ok_or_else(|| bad_map(sec, name, "no ELF symbol in the section names this map"))?;
        // The definition's bytes are what its `VAR` says, from its symbol on: libbpf finds
        // `.values` relocations by the `VAR`'s range, and the writer sizes the symbol so.
        let size = u64::from(var.size);
        let bytes = symbol_bytes(section, sym.value, size).ok_or_else(|| {
            bad_map(
                sec,
                name,
                format!(
                    "definition at [{:#x}, +{size}) is outside the section of {} bytes",
                    sym.value,
                    section.data.len()
                ),
            )
        })?;
        let parsed = parse_btf_def(btf, name, var_ty, false)?;
        let mut def = parsed.def;
        def.btf_var = Some(var.ty);

        // Initial slots: relocations inside this definition.
        let end = sym.value.saturating_add(size);
        let mut covered: Vec<u64> = Vec::new();
        for (reloc, claimed) in relocs.iter().zip(claimed.iter_mut()) {
            if reloc.offset < sym.value || reloc.offset >= end {
                continue;
            }
            if *claimed {
                // Two definitions overlap (their `VAR`s say so) and the relocation would
                // initialise a slot of each.
                return Err(bad_map(
                    sec,
                    name,
                    format!(
                        "relocation at {:#x} also lies in the definition of another map \
                         (their VARs overlap)",
                        reloc.offset
                    ),
                ));
            }
            *claimed = true;
            let rel_off = reloc.offset - sym.value;
            let slot = init_slot(elf, &def, parsed.values_offset, rel_off, reloc, section)
                .map_err(|reason| bad_map(sec, name, reason))?;
            if def.init_slots.iter().any(|(s, _)| *s == slot.0) {
                return Err(bad_map(
                    sec,
                    name,
                    format!("slot {} of .values is initialised twice", slot.0),
                ));
            }
            def.init_slots.push(slot);
            covered.push(rel_off);
        }
        def.init_slots.sort_by_key(|(s, _)| *s);
        slots_fit(&def).map_err(|reason| bad_map(sec, name, reason))?;

        // Everything else must be zero: the definition lives in BTF, not in data.
        for (i, &b) in bytes.iter().enumerate() {
            let i = i as u64;
            if b != 0 && !covered.iter().any(|&c| i >= c && i < c + PTR_LEN) {
                let member = member_at(btf, var_ty, i);
                return Err(bad_map(
                    sec,
                    name,
                    format!(
                        "non-zero byte at offset {i} of the definition{member}: BTF-defined \
                         maps carry no data other than .values pointers"
                    ),
                ));
            }
        }

        maps.push(ReadMap {
            def,
            section: section.index,
            offset: sym.value,
            size,
        });
    }
    if let Some(r) = relocs
        .iter()
        .zip(&claimed)
        .find(|(_, c)| !**c)
        .map(|(r, _)| r)
    {
        return Err(ReadError::BadRelocation {
            section: sec.to_string(),
            offset: r.offset,
            r_type: r.r_type,
            symbol: elf
                .symbols()
                .get(r.symbol)
                .map_or(String::new(), |s| s.name.to_string()),
            reason: "relocation is not inside any map definition".into(),
        });
    }
    Ok(maps)
}

/// `" (member NAME)"` for the member of struct `ty` that holds byte `offset`, or `""`.
fn member_at(btf: &Btf, ty: TypeId, offset: u64) -> String {
    let Ok(st) = btf.resolve(ty) else {
        return String::new();
    };
    btf.members(st)
        .iter()
        .rev()
        .find(|m| u64::from(m.bit_offset) / 8 <= offset)
        .and_then(|m| btf.str(m.name).ok())
        .map_or(String::new(), |n| format!(" (member {n})"))
}

/// The `(slot, symbol)` that relocation `reloc`, `rel_off` bytes into map `def`, initialises.
fn init_slot(
    elf: &ElfObject<'_>,
    def: &MapDef,
    values_offset: Option<u64>,
    rel_off: u64,
    reloc: &MapReloc,
    maps_section: &Section<'_>,
) -> Result<(u32, String), String> {
    if reloc.r_type != R_BPF_64_ABS64 && reloc.r_type != R_BPF_64_64 {
        return Err(format!(
            "relocation type {} at offset {rel_off} of the definition; expected \
             R_BPF_64_ABS64 ({R_BPF_64_ABS64})",
            reloc.r_type
        ));
    }
    let Some(values) = values_offset else {
        return Err(format!(
            "relocation at offset {rel_off} of a definition without a .values member"
        ));
    };
    if rel_off < values || !(rel_off - values).is_multiple_of(PTR_LEN) {
        return Err(format!(
            "relocation at offset {rel_off} is not on a pointer of .values (which starts at \
             offset {values})"
        ));
    }
    let slot = u32::try_from((rel_off - values) / PTR_LEN)
        .map_err(|_| format!("relocation at offset {rel_off} gives a slot beyond u32"))?;
    let sym = elf
        .symbols()
        .get(reloc.symbol)
        .ok_or_else(|| format!("slot {slot}: symbol index {} is out of range", reloc.symbol))?;
    if sym.kind == SymbolKind::Section || sym.name.is_empty() {
        return Err(format!(
            "slot {slot}: relocation against an unnamed or section symbol (index {})",
            reloc.symbol
        ));
    }
    if def.map_type == MAP_TYPE_PROG_ARRAY {
        let is_code = sym
            .section
            .and_then(|i| elf.sections().get(i))
            .is_some_and(|s| s.is_executable());
        if sym.kind != SymbolKind::Func && !is_code {
            return Err(format!(
                "slot {slot}: {} is not a program, but the map is a prog array",
                sym.name
            ));
        }
    } else if sym.section != Some(maps_section.index) {
        return Err(format!(
            "slot {slot}: {} is not a map of {}, but the map is a map-in-map",
            sym.name, maps_section.name
        ));
    }
    Ok((slot, sym.name.to_string()))
}

/// Whether the kernel can take map `def`'s `.values` initialiser (libbpf fails at map
/// creation, E2BIG, where it cannot): an array (of maps, or of programs) has slots 0 to
/// `max_entries - 1`; a hash of maps takes the slot numbers as keys, any of them, but no more
/// of them than `max_entries`.
fn slots_fit(def: &MapDef) -> Result<(), String> {
    let max = def.max_entries;
    match def.map_type {
        MAP_TYPE_ARRAY_OF_MAPS | MAP_TYPE_PROG_ARRAY => {
            match def.init_slots.iter().find(|(slot, _)| *slot >= max) {
                Some((slot, sym)) => Err(format!(
                    "slot {slot} of .values ({sym}) is at or past max_entries {max}"
                )),
                None => Ok(()),
            }
        }
        MAP_TYPE_HASH_OF_MAPS if def.init_slots.len() > max as usize => Err(format!(
            "{} slots of .values are initialised, more than max_entries {max}",
            def.init_slots.len()
        )),
        _ => Ok(()),
    }
}

/// A parsed BTF map definition and the byte offset of its `values` member, if any.
#[derive(Debug)]
struct ParsedDef {
    def: MapDef,
    values_offset: Option<u64>,
}

/// Parses the map definition struct `ty` (a `VAR`'s type, or an inner map template).
fn parse_btf_def(btf: &Btf, map: &str, ty: TypeId, is_inner: bool) -> Result<ParsedDef, ReadError> {
    let bad = |reason: String| bad_map(BTF_SECTION, map, reason);
    let btf_err = |what: &str, e: crate::btf::BtfError| bad(format!("{what}: {e}"));
    let st = btf.resolve(ty).map_err(|e| btf_err("definition type", e))?;
    match btf.kind_of(st) {
        Ok(TypeKind::Struct { .. }) => {}
        Ok(k) => {
            return Err(bad(format!(
                "definition is of kind {}, expected STRUCT",
                k.kind()
            )))
        }
        Err(e) => return Err(btf_err("definition type", e)),
    }
    let mut def = MapDef::new(map.to_string(), MapOrigin::Btf);
    let mut key_size: Option<u32> = None;
    let mut value_size: Option<u32> = None;
    let mut values_offset = None;
    let members = btf.members(st);
    for (i, m) in members.iter().enumerate() {
        let attr = btf.str(m.name).map_err(|e| btf_err("member name", e))?;
        let int = || field_u32(btf, m.ty).map_err(|r| bad(format!("attribute {attr}: {r}")));
        match attr {
            "type" => def.map_type = int()?,
            "max_entries" => def.max_entries = int()?,
            "map_flags" => def.flags = int()?,
            "numa_node" => def.numa_node = int()?,
            "map_extra" => {
                def.map_extra =
                    field_u64(btf, m.ty).map_err(|r| bad(format!("attribute {attr}: {r}")))?
            }
            "key_size" | "value_size" => {
                let size = int()?;
                let slot = if attr == "key_size" {
                    &mut key_size
                } else {
                    &mut value_size
                };
                set_size(slot, size, attr).map_err(bad)?;
            }
            "key" | "value" => {
                let target =
                    pointee(btf, m.ty).map_err(|r| bad(format!("attribute {attr}: {r}")))?;
                let size = btf
                    .size_of(target)
                    .map_err(|e| bad(format!("attribute {attr}: size of its type: {e}")))?;
                let (slot, ty_slot) = if attr == "key" {
                    (&mut key_size, &mut def.key_type)
                } else {
                    (&mut value_size, &mut def.value_type)
                };
                set_size(slot, size, attr).map_err(bad)?;
                *ty_slot = Some(target);
            }
            "pinning" => {
                if is_inner {
                    return Err(bad("an inner map template cannot be pinned".into()));
                }
                def.pinning = match int()? {
                    0 => Pinning::None,
                    1 => Pinning::ByName,
                    v => Pinning::Other(v),
                };
            }
            "values" => {
                if is_inner {
                    return Err(bad(
                        "multi-level inner maps are not supported (.values in an inner map)".into(),
                    ));
                }
                if i + 1 != members.len() {
                    return Err(bad(".values must be the last member".into()));
                }
                let is_map_in_map =
                    matches!(def.map_type, MAP_TYPE_ARRAY_OF_MAPS | MAP_TYPE_HASH_OF_MAPS);
                let is_prog_array = def.map_type == MAP_TYPE_PROG_ARRAY;
                if !is_map_in_map && !is_prog_array {
                    return Err(bad(format!(
                        ".values is only for map-in-maps and prog arrays, not map type {}",
                        def.map_type
                    )));
                }
                set_size(&mut value_size, 4, "values").map_err(bad)?;
                let elem = values_elem(btf, m.ty).map_err(|r| bad(format!(".values: {r}")))?;
                let target = btf
                    .resolve(elem)
                    .map_err(|e| btf_err(".values element", e))?;
                let kind = btf
                    .kind_of(target)
                    .map_err(|e| btf_err(".values element", e))?
                    .kind();
                if is_prog_array {
                    if kind != Kind::FuncProto {
                        return Err(bad(format!(
                            ".values of a prog array must point to a FUNC_PROTO, not {kind}"
                        )));
                    }
                } else {
                    if kind != Kind::Struct {
                        return Err(bad(format!(
                            ".values of a map-in-map must point to a STRUCT, not {kind}"
                        )));
                    }
                    let inner_name = format!("{map}.inner");
                    let inner = parse_btf_def(btf, &inner_name, target, true)?;
                    def.inner = Some(Box::new(inner.def));
                }
                values_offset = Some(u64::from(m.bit_offset / 8));
            }
            other => {
                return Err(bad(format!("unknown attribute {other:?}")));
            }
        }
    }
    def.key_size = key_size.unwrap_or(0);
    def.value_size = value_size.unwrap_or(0);
    Ok(ParsedDef { def, values_offset })
}

/// Records a key or value size, which must agree with one given before.
fn set_size(slot: &mut Option<u32>, size: u32, attr: &str) -> Result<(), String> {
    match *slot {
        Some(old) if old != size => Err(format!(
            "conflicting sizes: {attr} gives {size} bytes, an earlier attribute {old}"
        )),
        _ => {
            *slot = Some(size);
            Ok(())
        }
    }
}

/// The type a `T *name` member points to (through modifiers on the pointer).
fn pointee(btf: &Btf, ty: TypeId) -> Result<TypeId, String> {
    let t = btf.resolve(ty).map_err(|e| e.to_string())?;
    match btf.kind_of(t).map_err(|e| e.to_string())? {
        TypeKind::Ptr(target) => Ok(target),
        k => Err(format!("expected PTR, found {}", k.kind())),
    }
}

/// The `N` of an `int (*name)[N]` member (`__uint`).
fn field_u32(btf: &Btf, ty: TypeId) -> Result<u32, String> {
    let arr = pointee(btf, ty)?;
    let arr = btf.resolve(arr).map_err(|e| e.to_string())?;
    match btf.kind_of(arr).map_err(|e| e.to_string())? {
        TypeKind::Array { len, .. } => Ok(len),
        k => Err(format!("expected PTR to ARRAY, found PTR to {}", k.kind())),
    }
}

/// A 64-bit attribute: `__uint` (PTR to ARRAY) or `__ulong` (an enum with one value).
fn field_u64(btf: &Btf, ty: TypeId) -> Result<u64, String> {
    let t = btf.resolve(ty).map_err(|e| e.to_string())?;
    match btf.kind_of(t).map_err(|e| e.to_string())? {
        TypeKind::Ptr(_) => field_u32(btf, ty).map(u64::from),
        TypeKind::Enum { .. } | TypeKind::Enum64 { .. } => match btf.enum_values(t).to_vec()[..] {
            [v] => Ok(v.bits),
            ref vs => Err(format!(
                "__ulong enum has {} values, expected exactly one",
                vs.len()
            )),
        },
        k => Err(format!("expected PTR, ENUM or ENUM64, found {}", k.kind())),
    }
}

/// The pointee of the element type of `__array(values, T)`: a zero-length ARRAY of PTR.
fn values_elem(btf: &Btf, ty: TypeId) -> Result<TypeId, String> {
    let t = btf.resolve(ty).map_err(|e| e.to_string())?;
    match btf.kind_of(t).map_err(|e| e.to_string())? {
        TypeKind::Array { elem, len: 0, .. } => pointee(btf, elem),
        TypeKind::Array { len, .. } => Err(format!(
            "expected a zero-length ARRAY, found one of {len} elements"
        )),
        k => Err(format!("expected ARRAY, found {}", k.kind())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::{IntEncoding, NewMember};
    use std::fmt::Write as _;
    use std::path::{Path, PathBuf};

    /// Reads the maps of an object's bytes, with its `.BTF` when it has one.
    fn maps_of(bytes: &[u8]) -> Result<Vec<ReadMap>, ReadError> {
        let elf = ElfObject::parse(bytes)?;
        let btf = match elf.section(".BTF") {
            Some(s) => Some(Btf::parse(s.data)?),
            None => None,
        };
        read_maps(&elf, btf.as_ref())
    }

    /// One line per map: what the C source declares, in a form that diffs well.
    fn summary(m: &MapDef) -> String {
        let mut s = format!(
            "{} {:?} type={} key={} value={} max={} flags={:#x}",
            m.name, m.origin, m.map_type, m.key_size, m.value_size, m.max_entries, m.flags
        );
        if m.pinning != Pinning::None {
            write!(s, " pin={:?}", m.pinning).unwrap();
        }
        if m.numa_node != 0 || m.map_extra != 0 {
            write!(s, " numa={} extra={:#x}", m.numa_node, m.map_extra).unwrap();
        }
        if let Some(inner) = &m.inner {
            write!(s, " inner=[{}]", summary(inner)).unwrap();
        }
        for (slot, sym) in &m.init_slots {
            write!(s, " [{slot}]={sym}").unwrap();
        }
        s
    }

    fn corpus() -> Option<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        if dir.is_dir() {
            Some(dir)
        } else {
            eprintln!("corpus not found at {}; skipping", dir.display());
            None
        }
    }

    /// Every `.o`/`.elf` under `dir`, skipping git symlinks checked out as text.
    fn objects(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                objects(&path, out);
                continue;
            }
            let ext = path.extension().and_then(|e| e.to_str());
            if !matches!(ext, Some("o") | Some("elf")) {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            let alias = data.len() < 256
                && std::str::from_utf8(&data)
                    .is_ok_and(|n| path.parent().is_some_and(|p| p.join(n.trim()).is_file()));
            if alias {
                eprintln!("{}: alias of a sibling, skipped", path.display());
                continue;
            }
            out.push((path, data));
        }
    }

    fn testdata(name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// The corpus object `cilium/testdata/<name>`, when the corpus is present.
    fn corpus_object(name: &str) -> Option<Vec<u8>> {
        let path = corpus()?.join("cilium/testdata").join(name);
        Some(std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())))
    }

    fn summaries(maps: &[ReadMap]) -> Vec<String> {
        maps.iter().map(|m| summary(&m.def)).collect()
    }

    fn assert_summaries(file: &str, maps: &[ReadMap], want: &[&str]) {
        let got = summaries(maps);
        assert_eq!(got, want, "{file}: maps differ");
    }

    /// The name of the type a `key_type`/`value_type` names, through typedefs.
    fn type_name(btf: &Btf, ty: Option<TypeId>) -> String {
        let Some(ty) = ty else {
            return "-".into();
        };
        btf.name(ty).unwrap().to_string()
    }

    const MAPS_BPF: &[&str] = &[
        "inner_a Btf type=2 key=4 value=4 max=4 flags=0x0",
        "inner_b Btf type=2 key=4 value=4 max=4 flags=0x0",
        "outer_array Btf type=12 key=4 value=4 max=3 flags=0x0 \
         inner=[outer_array.inner Btf type=2 key=4 value=4 max=4 flags=0x0] \
         [0]=inner_a [2]=inner_b",
        "outer_hash Btf type=13 key=4 value=4 max=4 flags=0x0 \
         inner=[outer_hash.inner Btf type=2 key=4 value=4 max=4 flags=0x0] [1]=inner_b",
        "array Btf type=2 key=4 value=8 max=8 flags=0x0",
        "pinned_hash Btf type=1 key=8 value=16 max=16 flags=0x1 pin=ByName",
        "percpu Btf type=6 key=4 value=4 max=2 flags=0x0",
        "legacy_hash Legacy type=1 key=4 value=8 max=8 flags=0x0",
    ];

    #[test]
    fn maps_bpf_both_byte_orders() {
        for file in ["maps.bpfel.o", "maps.bpfeb.o"] {
            let bytes = testdata(file);
            let maps = maps_of(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_summaries(file, &maps, MAPS_BPF);

            let elf = ElfObject::parse(&bytes).unwrap();
            let btf = Btf::parse(elf.section(".BTF").unwrap().data).unwrap();
            let dot_maps = elf.section(".maps").unwrap().index;
            let legacy = elf.section("maps").unwrap().index;
            let places: Vec<(usize, u64, u64)> =
                maps.iter().map(|m| (m.section, m.offset, m.size)).collect();
            assert_eq!(
                places,
                [
                    (dot_maps, 0x00, 32),
                    (dot_maps, 0x20, 32),
                    (dot_maps, 0x40, 48),
                    (dot_maps, 0x70, 40),
                    (dot_maps, 0x98, 32),
                    (dot_maps, 0xb8, 48),
                    (dot_maps, 0xe8, 32),
                    (legacy, 0, 20),
                ],
                "{file}"
            );
            let types: Vec<String> = maps
                .iter()
                .map(|m| {
                    format!(
                        "{} {} {}",
                        m.def.name,
                        type_name(&btf, m.def.key_type),
                        type_name(&btf, m.def.value_type)
                    )
                })
                .collect();
            assert_eq!(
                types,
                [
                    "inner_a __u32 __u32",
                    "inner_b __u32 __u32",
                    "outer_array __u32 -",
                    "outer_hash __u32 -",
                    "array __u32 __u64",
                    "pinned_hash __u64 pair",
                    "percpu - -",
                    "legacy_hash - -",
                ],
                "{file}"
            );
            for m in &maps {
                match m.def.origin {
                    MapOrigin::Btf => {
                        let var = m.def.btf_var.expect("a BTF map has its VAR");
                        assert_eq!(btf.name(var).unwrap(), m.def.name, "{file}");
                        assert!(matches!(btf.ty(var).kind, TypeKind::Var { .. }), "{file}");
                    }
                    _ => assert_eq!(m.def.btf_var, None, "{file}"),
                }
            }
            let inner = maps[2].def.inner.as_deref().unwrap();
            assert_eq!(type_name(&btf, inner.key_type), "__u32", "{file}");
            assert_eq!(inner.btf_var, None, "{file}");
        }
    }

    #[test]
    fn maps_bpf_without_btf_is_an_error_naming_dot_maps() {
        let bytes = testdata("maps.bpfel.o");
        let elf = ElfObject::parse(&bytes).unwrap();
        match read_maps(&elf, None) {
            Err(ReadError::BadSection { section, reason }) => {
                assert_eq!(section, ".maps");
                assert!(reason.contains("no .BTF"), "{reason}");
            }
            other => panic!("expected an error naming .maps, got {other:?}"),
        }
    }

    #[test]
    fn objects_without_maps_have_none() {
        for file in ["globals.bpfel.o", "trampoline.bpfeb.o"] {
            assert_eq!(maps_of(&testdata(file)).unwrap(), Vec::new(), "{file}");
        }
    }

    const LOADER: &[&str] = &[
        "bpf_decl_map Legacy type=2 key=4 value=8 max=1 flags=0x0",
        "hash_map Btf type=1 key=4 value=8 max=1 flags=0x1",
        "hash_map2 Btf type=1 key=4 value=8 max=2 flags=0x0",
        "btf_pin Btf type=1 key=4 value=8 max=1 flags=0x0 pin=ByName",
        "btf_outer_map Btf type=12 key=4 value=4 max=1 flags=0x0 \
         inner=[btf_outer_map.inner Btf type=1 key=4 value=4 max=1 flags=0x0]",
        "btf_outer_map_anon Btf type=12 key=4 value=4 max=1 flags=0x0 \
         inner=[btf_outer_map_anon.inner Btf type=1 key=4 value=4 max=1 flags=0x0]",
        "perf_event_array Btf type=4 key=0 value=16 max=4096 flags=0x0",
        "btf_typedef_map Btf type=2 key=4 value=8 max=1 flags=0x0",
        "btf_decl_map Btf type=2 key=4 value=8 max=1 flags=0x0",
    ];

    #[test]
    fn corpus_loader_maps_match_the_source() {
        for clang in ["14", "17", "22"] {
            for order in ["el", "eb"] {
                let file = format!("loader-clang-{clang}-{order}.elf");
                let Some(bytes) = corpus_object(&file) else {
                    return;
                };
                let maps = maps_of(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
                assert_summaries(&file, &maps, LOADER);
                let elf = ElfObject::parse(&bytes).unwrap();
                let btf = Btf::parse(elf.section(".BTF").unwrap().data).unwrap();
                let by_name = |n: &str| &maps.iter().find(|m| m.def.name == n).unwrap().def;
                // `__type(key, uint32_t)` keeps the typedef, as libbpf records it.
                assert_eq!(type_name(&btf, by_name("hash_map").key_type), "uint32_t");
                assert_eq!(type_name(&btf, by_name("hash_map").value_type), "uint64_t");
                assert_eq!(
                    type_name(&btf, by_name("perf_event_array").value_type),
                    "perf_event"
                );
                assert_eq!(by_name("hash_map2").key_type, None);
                let inner = by_name("btf_outer_map").inner.as_deref().unwrap();
                assert_eq!(type_name(&btf, inner.value_type), "int");
            }
        }
    }

    #[test]
    fn corpus_loader_without_btf_has_legacy_maps() {
        for file in ["loader_nobtf-el.elf", "loader_nobtf-eb.elf"] {
            let Some(bytes) = corpus_object(file) else {
                return;
            };
            let maps = maps_of(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_summaries(
                file,
                &maps,
                &[
                    "hash_map Legacy type=1 key=4 value=8 max=1 flags=0x1",
                    "hash_map2 Legacy type=1 key=4 value=8 max=2 flags=0x0",
                    "perf_event_array Legacy type=4 key=0 value=0 max=4096 flags=0x0",
                ],
            );
            let offsets: Vec<u64> = maps.iter().map(|m| m.offset).collect();
            assert_eq!(offsets, [0, 20, 40], "{file}");
        }
    }

    #[test]
    fn corpus_btf_map_init_has_init_slots() {
        for file in ["btf_map_init-el.elf", "btf_map_init-eb.elf"] {
            let Some(bytes) = corpus_object(file) else {
                return;
            };
            let maps = maps_of(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_summaries(
                file,
                &maps,
                &[
                    "prog_array_init Btf type=3 key=4 value=4 max=2 flags=0x0 [1]=tail_1",
                    "inner_map Btf type=2 key=4 value=4 max=1 flags=0x0",
                    "outer_map_init Btf type=12 key=4 value=4 max=2 flags=0x0 \
                     inner=[outer_map_init.inner Btf type=2 key=4 value=4 max=1 flags=0x0] \
                     [1]=inner_map",
                ],
            );
        }
    }

    #[test]
    fn corpus_iproute2_map_keeps_its_pinning() {
        for file in ["iproute2_map_compat-el.elf", "iproute2_map_compat-eb.elf"] {
            let Some(bytes) = corpus_object(file) else {
                return;
            };
            let maps = maps_of(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
            // PIN_GLOBAL_NS is 2 in iproute2's numbering.
            assert_summaries(
                file,
                &maps,
                &["hash_map Legacy type=1 key=4 value=8 max=2 flags=0x0 pin=Other(2)"],
            );
            assert_eq!(maps[0].size, 36, "{file}");
        }
    }

    /// The error of `file`, which must be a [`ReadError::BadMap`] of `map` in `section`.
    fn bad_map_reason(file: &str, section: &str, map: &str) -> Option<String> {
        let bytes = corpus_object(file)?;
        match maps_of(&bytes) {
            Err(ReadError::BadMap {
                section: s,
                map: m,
                reason,
            }) => {
                assert_eq!((s.as_str(), m.as_str()), (section, map), "{file}: {reason}");
                Some(reason)
            }
            other => panic!("{file}: expected a map error, got {other:?}"),
        }
    }

    #[test]
    fn corpus_invalid_maps_are_errors() {
        for order in ["el", "eb"] {
            // A sixth, non-zero field (`dummy = 1`) after struct bpf_map_def.
            if let Some(r) =
                bad_map_reason(&format!("invalid_map-{order}.elf"), "maps", "invalid_map")
            {
                assert!(r.contains("non-zero field at bytes [20, 24)"), "{r}");
            }
            // A static legacy map: libbpf refuses those.
            if let Some(r) = bad_map_reason(
                &format!("invalid_map_static-{order}.elf"),
                "maps",
                "hash_map",
            ) {
                assert!(r.contains("static"), "{r}");
            }
            // `.key = (void *)1` puts data into the definition.
            if let Some(r) = bad_map_reason(
                &format!("invalid_btf_map_init-{order}.elf"),
                ".maps",
                "hash_map",
            ) {
                assert!(
                    r.contains("non-zero byte") && r.contains("(member key)"),
                    "{r}"
                );
            }
        }
    }

    /// Every object of testdata and the corpus: maps are read (or refused, for the objects
    /// that are invalid on purpose) without a panic.
    #[test]
    fn every_object_reads_or_is_refused_on_purpose() {
        let mut all = Vec::new();
        objects(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata"),
            &mut all,
        );
        if let Some(c) = corpus() {
            // The cilium/ebpf objects; the kernel's selftests have their own sweep.
            objects(&c.join("cilium"), &mut all);
        }
        let (mut n_objects, mut n_maps, mut n_refused) = (0, 0, 0);
        for (path, bytes) in &all {
            let name = path.file_name().unwrap().to_string_lossy();
            let invalid = name.starts_with("invalid_map") || name.starts_with("invalid_btf_map");
            n_objects += 1;
            match maps_of(bytes) {
                Ok(maps) => {
                    assert!(!invalid, "{}: should be refused", path.display());
                    println!("{}: {} maps", path.display(), maps.len());
                    for m in &maps {
                        println!("  {}", summary(&m.def));
                    }
                    n_maps += maps.len();
                }
                Err(e) => {
                    assert!(invalid, "{}: {e}", path.display());
                    println!("{}: refused: {e}", path.display());
                    n_refused += 1;
                }
            }
        }
        println!("{n_maps} maps in {n_objects} objects, {n_refused} refused");
        assert!(n_maps >= MAPS_BPF.len() * 2);
    }

    /// Overwrites every byte of the map sections and their relocations, one at a time, with
    /// a few values: reading never panics.
    #[test]
    fn mutated_map_sections_never_panic() {
        let mut files = vec![testdata("maps.bpfel.o"), testdata("maps.bpfeb.o")];
        if let Some(b) = corpus_object("btf_map_init-eb.elf") {
            files.push(b);
        }
        if let Some(b) = corpus_object("iproute2_map_compat-el.elf") {
            files.push(b);
        }
        let mut n_runs = 0;
        for bytes in files {
            let ranges: Vec<std::ops::Range<usize>> = {
                let elf = ElfObject::parse(&bytes).unwrap();
                elf.sections()
                    .iter()
                    .filter(|s| matches!(s.name, "maps" | ".maps" | ".rel.maps"))
                    .map(|s| {
                        let start = s.data.as_ptr() as usize - bytes.as_ptr() as usize;
                        start..start + s.data.len()
                    })
                    .collect()
            };
            for range in ranges {
                for pos in range {
                    for v in [0x01, 0x80, 0xff] {
                        let mut copy = bytes.clone();
                        copy[pos] = v;
                        let _ = maps_of(&copy);
                        n_runs += 1;
                    }
                }
            }
        }
        assert!(n_runs > 1000, "{n_runs}");
    }

    // Definitions built in code, for the attribute rules the corpus does not exercise.

    struct Builder {
        btf: Btf,
        int: TypeId,
        idx: TypeId,
    }

    impl Builder {
        fn new() -> Builder {
            let mut btf = Btf::new(crate::Endian::Little);
            let int = btf.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
            let idx = btf
                .add_int("__ARRAY_SIZE_TYPE__", 4, IntEncoding::UNSIGNED, 32)
                .unwrap();
            Builder { btf, int, idx }
        }

        /// `__uint(_, n)`: `int (*)[n]`.
        fn uint(&mut self, n: u32) -> TypeId {
            let arr = self.btf.add_array(self.int, self.idx, n).unwrap();
            self.btf.add_ptr(arr).unwrap()
        }

        /// `__type(_, T)`: `T *`.
        fn ty(&mut self, t: TypeId) -> TypeId {
            self.btf.add_ptr(t).unwrap()
        }

        /// A definition struct with `members` as `(name, type)`, 8 bytes each.
        fn def(&mut self, members: &[(&str, TypeId)]) -> TypeId {
            let ms: Vec<NewMember<'_>> = members
                .iter()
                .enumerate()
                .map(|(i, &(n, t))| NewMember::new(n, t, 64 * i as u32))
                .collect();
            self.btf
                .add_struct("", 8 * members.len() as u32, &ms)
                .unwrap()
        }

        fn parse(&self, ty: TypeId) -> Result<ParsedDef, String> {
            parse_btf_def(&self.btf, "m", ty, false).map_err(|e| e.to_string())
        }
    }

    #[test]
    fn attributes_built_in_code() {
        let mut b = Builder::new();
        let (hash, four, eight, u64t) = (b.uint(1), b.uint(4), b.uint(8), {
            let t = b
                .btf
                .add_int("unsigned long", 8, IntEncoding::UNSIGNED, 64)
                .unwrap();
            b.ty(t)
        });
        let numa = b.uint(3);
        let extra = b
            .btf
            .add_enum("", 8, false, &[("__unique_value0", 1 << 40)])
            .unwrap();
        let def = b.def(&[
            ("type", hash),
            ("key_size", eight),
            ("key", u64t),
            ("value_size", four),
            ("numa_node", numa),
            ("map_extra", extra),
        ]);
        let d = b.parse(def).unwrap().def;
        assert_eq!(
            (
                d.map_type,
                d.key_size,
                d.value_size,
                d.numa_node,
                d.map_extra
            ),
            (1, 8, 4, 3, 1 << 40)
        );

        // key_size and key disagree.
        let conflict = b.def(&[("key_size", four), ("key", u64t)]);
        let e = b.parse(conflict).unwrap_err();
        assert!(
            e.contains("map m in section .maps: conflicting sizes"),
            "{e}"
        );

        // Unknown attribute names are named.
        let unknown = b.def(&[("type", hash), ("max_elem", four)]);
        let e = b.parse(unknown).unwrap_err();
        assert!(e.contains("unknown attribute \"max_elem\""), "{e}");

        // __uint that is not a pointer to an array.
        let bad = b.def(&[("max_entries", u64t)]);
        let e = b.parse(bad).unwrap_err();
        assert!(
            e.contains("attribute max_entries: expected PTR to ARRAY"),
            "{e}"
        );

        // A pinned inner map, and .values that are not last or not for a map-in-map.
        let inner = b.def(&[("type", hash), ("pinning", hash)]);
        let inner_ptr = b.ty(inner);
        let values = b.btf.add_array(inner_ptr, b.idx, 0).unwrap();
        let aom = b.uint(12);
        let outer = b.def(&[("type", aom), ("values", values)]);
        let e = b.parse(outer).unwrap_err();
        assert!(
            e.contains("map m.inner in section .maps: an inner map template cannot be pinned"),
            "{e}"
        );
        let plain_inner = b.def(&[("type", hash)]);
        let plain_ptr = b.ty(plain_inner);
        let values = b.btf.add_array(plain_ptr, b.idx, 0).unwrap();
        let not_last = b.def(&[("type", aom), ("values", values), ("max_entries", four)]);
        let e = b.parse(not_last).unwrap_err();
        assert!(e.contains(".values must be the last member"), "{e}");
        let not_mim = b.def(&[("type", hash), ("values", values)]);
        let e = b.parse(not_mim).unwrap_err();
        assert!(e.contains("only for map-in-maps and prog arrays"), "{e}");
        let ok = b.def(&[("type", aom), ("values", values)]);
        let parsed = b.parse(ok).unwrap();
        assert_eq!(parsed.values_offset, Some(8));
        assert_eq!(parsed.def.value_size, 4);
        assert_eq!(parsed.def.inner.as_deref().unwrap().name, "m.inner");

        // Nested .values in an inner map.
        let outer_ptr = b.ty(ok);
        let nested_values = b.btf.add_array(outer_ptr, b.idx, 0).unwrap();
        let nested = b.def(&[("type", aom), ("values", nested_values)]);
        let e = b.parse(nested).unwrap_err();
        assert!(
            e.contains("multi-level inner maps are not supported"),
            "{e}"
        );

        // A definition that is not a struct.
        let e = b.parse(b.int).unwrap_err();
        assert!(e.contains("expected STRUCT"), "{e}");
    }
}
