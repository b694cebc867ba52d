//! The static linker: several [`Module`]s into one, as `bpftool gen object` (libbpf's
//! `bpf_linker`) links BPF objects.
//!
//! Linking moves ids between arenas: every entity of every input is re-created in the output
//! module, and each input keeps a table from its ids to the output's. Nothing is re-derived
//! from byte offsets; the only offsets that move are those of data (variables and
//! [`Ref::Data`] shift by their input section's place in the concatenated section).
//!
//! The steps, in order:
//!
//! 1. **Symbols.** Global and weak functions, maps and data variables of every input go into
//!    one table by name. A strong definition beats weak ones; of several weak ones the first
//!    (in input order) wins; two strong ones are [`LinkError::DuplicateSymbol`]. Maps defined
//!    in several inputs must be compatible ([`LinkError::MapMismatch`]); variables must have
//!    the same size. The winner's linkage is weak only if every definition is weak and no
//!    input refers to it through a non-weak extern (what libbpf does).
//! 2. **Layout.** Same-named data sections concatenate in input order, each input's part at
//!    its section alignment.
//! 3. **BTF** (`merge_btf`): step (a) appends every input's types except `DATASEC`s (with
//!    [`Btf::append`]: strings by one base offset, types by a table) and builds one `DATASEC`
//!    per output section from the layout (`.struct_ops` and `.struct_ops.link` are the
//!    inputs' sections concatenated, every input's variables at their new offsets); step (b)
//!    de-duplicates the result ([`crate::btf::dedup`], libbpf's `btf__dedup` semantics) and
//!    composes its id map with step (a)'s.
//! 4. **Entities.** Data sections, maps, externs, functions (in input order, so that
//!    same-named sections concatenate in input order), source lines, CO-RE records; then
//!    every instruction of every surviving function is re-created through
//!    [`Module::append`] with its metadata remapped, and jumps are pointed at the new ids.
//!
//! Externs: one resolved by a definition in any input becomes a reference to it (a call or
//! function address, a map, a data offset). Kernel externs (`.kconfig` values, `.ksyms`
//! variables and kfuncs) are never resolved here and stay externs, one per name. Any other
//! unresolved extern is [`LinkError::Unresolved`] unless [`LinkOptions::allow_unresolved`].
//!
//! Overridden weak definitions are dropped, with their instructions (libbpf keeps their
//! bytes, without a symbol; nothing can reach them). Legacy maps are compared on type, key
//! and value size and flags only: libbpf treats their definitions as data that the strong
//! symbol's bytes override, and upstream's own test objects override a weak legacy map with
//! a different `max_entries`.
//!
//! Costs: linear in the total size of the inputs (one pass per arena, one hash lookup per
//! symbol and extern), plus the BTF copy and its de-duplication, which is linear too (see
//! [`crate::btf::dedup`]'s work budget).

mod error;

use std::collections::HashMap;

use indexmap::IndexMap;

pub use error::LinkError;

use crate::btf::{Appended, Btf, Kind, Linkage, TypeId, TypeKind, VarSecinfo};
use crate::insn::{CallKind, Insn};
use crate::ir::{
    CoreId, CoreRelo, DataId, DataKind, DataSection, EntityMap, Extern, ExternId, ExternKind,
    FuncId, LineId, MapDef, MapId, MapOrigin, Meta, Module, Ref, SourceLine, SymbolLinkage,
};

/// How to link.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkOptions {
    /// Keep externs that no input defines as externs of the output (a partial link) instead
    /// of failing.
    pub allow_unresolved: bool,
    /// Names of the inputs for error messages (file names, say), by input index; inputs
    /// without one are called `input N`.
    pub input_names: Vec<String>,
}

impl LinkOptions {
    fn name(&self, input: usize) -> String {
        self.input_names
            .get(input)
            .cloned()
            .unwrap_or_else(|| format!("input {input}"))
    }
}

/// A global definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Func(usize, FuncId),
    Map(usize, MapId),
    /// Input, data section, index of the variable in its `vars`.
    Var(usize, DataId, usize),
}

impl Target {
    fn input(self) -> usize {
        match self {
            Target::Func(i, _) | Target::Map(i, _) | Target::Var(i, _, _) => i,
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Target::Func(..) => "function",
            Target::Map(..) => "map",
            Target::Var(..) => "variable",
        }
    }
}

/// One global name: the definition that won and whether the output symbol stays weak.
#[derive(Clone, Debug)]
struct Symbol {
    winner: Target,
    winner_weak: bool,
    /// Every definition, in input order.
    defs: Vec<Target>,
    /// True when some definition is strong or some input refers to it with a non-weak
    /// extern.
    strong: bool,
    /// Other definitions of the name in the winner's own input: bodies an earlier static
    /// link kept without a symbol, which the reader names after their `FUNC`. They stay
    /// (their input's own references reach them by id) as static functions.
    extras: Vec<Target>,
}

/// Links `modules` into one module. See the [module documentation](self).
///
/// ```
/// use bpfir::ir::Module;
/// use bpfir::link::{link, LinkOptions};
///
/// let a = Module::read(&std::fs::read("testdata/calls.bpfel.o").unwrap()).unwrap();
/// let b = Module::read(&std::fs::read("testdata/maps.bpfel.o").unwrap()).unwrap();
/// let out = link(&[a.clone(), b.clone()], &LinkOptions::default()).unwrap();
/// assert_eq!(out.programs().count(), a.programs().count() + b.programs().count());
/// ```
pub fn link(modules: &[Module], opts: &LinkOptions) -> Result<Module, LinkError> {
    let first = modules.first().ok_or(LinkError::NoInputs)?;
    let endian = first.endian();
    for (i, m) in modules.iter().enumerate() {
        if m.endian() != endian {
            return Err(LinkError::MixedEndian {
                first: opts.name(0),
                expected: endian,
                input: opts.name(i),
                found: m.endian(),
            });
        }
    }
    // Each input's IR invariants (layout, references) first: the linker remaps ids and
    // only checks what linking itself can break.
    for (i, m) in modules.iter().enumerate() {
        crate::verify::verify_structure(m).map_err(|errors| LinkError::Verify {
            input: opts.name(i),
            errors,
        })?;
    }
    let symbols = resolve_symbols(modules, opts)?;
    let layout = DataLayout::new(modules, opts)?;
    let btf = merge_btf(modules, &symbols, &layout, opts)?;
    Linker {
        modules,
        opts,
        symbols,
        layout,
        out: Module::new(endian),
        funcs: Vec::new(),
        maps: Vec::new(),
        externs: Vec::new(),
        lines: Vec::new(),
        cores: Vec::new(),
    }
    .run(btf)
}

/// True for an extern only the kernel defines: a `.kconfig` value, or a `.ksyms` variable or
/// kfunc (its BTF is a variable of the `.ksyms` `DATASEC`).
fn is_kernel_extern(m: &Module, e: &Extern) -> bool {
    match (e.kind, e.btf, m.btf.as_ref()) {
        (ExternKind::Kconfig, ..) => true,
        (_, Some(ty), Some(btf)) => [".ksyms", ".kconfig"].iter().any(|sec| {
            btf.type_by_name_kind(sec, Kind::Datasec)
                .is_some_and(|ds| btf.datasec_vars(ds).iter().any(|v| v.ty == ty))
        }),
        _ => false,
    }
}

/// True when map `id` of `m` is a `static` BTF-defined map (its `VAR` is static).
fn is_static_map(m: &Module, id: MapId) -> bool {
    let (Some(btf), Some(var)) = (m.btf.as_ref(), m.map(id).btf_var) else {
        return false;
    };
    matches!(
        btf.kind_of(var),
        Ok(TypeKind::Var {
            linkage: Linkage::Static,
            ..
        })
    )
}

/// Why two definitions of a map cannot be one map, or `None` when they can.
fn map_mismatch(a: &MapDef, b: &MapDef) -> Option<String> {
    if a.origin != b.origin {
        return Some("one is a legacy map, the other BTF-defined".into());
    }
    let mut fields = vec![
        ("type", u64::from(a.map_type), u64::from(b.map_type)),
        ("key size", a.key_size.into(), b.key_size.into()),
        ("value size", a.value_size.into(), b.value_size.into()),
        ("flags", a.flags.into(), b.flags.into()),
    ];
    if a.origin == MapOrigin::Btf {
        fields.extend([
            ("max_entries", a.max_entries.into(), b.max_entries.into()),
            ("numa node", a.numa_node.into(), b.numa_node.into()),
            ("map_extra", a.map_extra, b.map_extra),
        ]);
    }
    if let Some((what, x, y)) = fields.into_iter().find(|(_, x, y)| x != y) {
        return Some(format!("{what} {x} vs {y}"));
    }
    if a.origin == MapOrigin::Btf {
        if a.pinning != b.pinning {
            return Some(format!("pinning {:?} vs {:?}", a.pinning, b.pinning));
        }
        match (&a.inner, &b.inner) {
            (None, None) => {}
            (Some(x), Some(y)) => {
                if let Some(why) = map_mismatch(x, y) {
                    return Some(format!("inner map: {why}"));
                }
            }
            _ => return Some("only one has an inner map".into()),
        }
    }
    None
}

fn resolve_symbols(
    modules: &[Module],
    opts: &LinkOptions,
) -> Result<IndexMap<String, Symbol>, LinkError> {
    let mut symbols: IndexMap<String, Symbol> = IndexMap::new();
    let mut add = |name: &str, target: Target, weak: bool| -> Result<(), LinkError> {
        let Some(sym) = symbols.get_mut(name) else {
            symbols.insert(
                name.to_string(),
                Symbol {
                    winner: target,
                    winner_weak: weak,
                    defs: vec![target],
                    strong: !weak,
                    extras: Vec::new(),
                },
            );
            return Ok(());
        };
        let old = sym.winner;
        if old.input() == target.input() && old.kind() == target.kind() {
            // One object cannot define a name twice: one of the two is a body a linker kept
            // without its symbol. The one its object calls is the definition.
            let called = |t: Target| {
                match t {
                Target::Func(i, f) => modules[i].functions().any(|(g, _)| {
                    modules[i].func_insns(g).any(|id| {
                        matches!(modules[i].reference(id), Some(Ref::Call(c) | Ref::FuncAddr(c)) if c == f)
                    })
                }),
                _ => false,
            }
            };
            if called(target) && !called(old) {
                sym.extras.push(old);
                sym.defs.retain(|&d| d != old);
                sym.defs.push(target);
                sym.winner = target;
                sym.winner_weak = weak;
            } else {
                sym.extras.push(target);
            }
            return Ok(());
        }
        if old.kind() != target.kind() {
            return Err(LinkError::KindMismatch {
                name: name.into(),
                first: opts.name(old.input()),
                first_kind: old.kind(),
                second: opts.name(target.input()),
                second_kind: target.kind(),
            });
        }
        if !weak && !sym.winner_weak {
            return Err(LinkError::DuplicateSymbol {
                name: name.into(),
                first: opts.name(old.input()),
                second: opts.name(target.input()),
            });
        }
        match (old, target) {
            (Target::Map(i, a), Target::Map(j, b)) => {
                if let Some(reason) = map_mismatch(modules[i].map(a), modules[j].map(b)) {
                    return Err(LinkError::MapMismatch {
                        name: name.into(),
                        first: opts.name(i),
                        second: opts.name(j),
                        reason,
                    });
                }
            }
            (Target::Var(i, d, v), Target::Var(j, e, w)) => {
                let (a, b) = (&modules[i].data(d).vars[v], &modules[j].data(e).vars[w]);
                if a.size != b.size {
                    return Err(LinkError::VarMismatch {
                        name: name.into(),
                        first: opts.name(i),
                        first_size: a.size,
                        second: opts.name(j),
                        second_size: b.size,
                    });
                }
            }
            _ => {}
        }
        sym.defs.push(target);
        sym.strong |= !weak;
        if sym.winner_weak && !weak {
            sym.winner = target;
            sym.winner_weak = false;
        }
        Ok(())
    };
    for (i, m) in modules.iter().enumerate() {
        for (id, f) in m.functions() {
            if f.linkage != SymbolLinkage::Static {
                add(
                    &f.name,
                    Target::Func(i, id),
                    f.linkage == SymbolLinkage::Weak,
                )?;
            }
        }
        for (id, map) in m.maps() {
            let linkage = m.map_linkage(id);
            if linkage != SymbolLinkage::Static && !is_static_map(m, id) {
                add(
                    &map.name,
                    Target::Map(i, id),
                    linkage == SymbolLinkage::Weak,
                )?;
            }
        }
        for (id, d) in m.data_sections() {
            for (v, var) in d.vars.iter().enumerate() {
                if var.linkage != SymbolLinkage::Static {
                    add(
                        &var.name,
                        Target::Var(i, id, v),
                        var.linkage == SymbolLinkage::Weak,
                    )?;
                }
            }
        }
    }
    // A non-weak extern reference makes the definition it resolves to strong.
    for m in modules {
        for (_, e) in m.externs() {
            if !e.weak && !is_kernel_extern(m, e) {
                if let Some(sym) = symbols.get_mut(&e.name) {
                    sym.strong = true;
                }
            }
        }
    }
    Ok(symbols)
}

/// The symbol `target` defines, when it lost to another definition.
fn overridden(symbols: &IndexMap<String, Symbol>, name: &str, target: Target) -> Option<Target> {
    symbols
        .get(name)
        .filter(|s| s.defs.contains(&target) && s.winner != target)
        .map(|s| s.winner)
}

/// One output data section.
#[derive(Clone, Debug)]
struct OutData {
    name: String,
    kind: DataKind,
    align: u64,
    size: u32,
    /// The inputs' parts: `(input, data section, base offset)`.
    parts: Vec<(usize, DataId, u32)>,
}

/// Where every input data section lands.
#[derive(Clone, Debug, Default)]
struct DataLayout {
    sections: Vec<OutData>,
    /// `(input, data section)` → `(output section index, base offset)`.
    place: HashMap<(usize, DataId), (usize, u32)>,
}

impl DataLayout {
    fn new(modules: &[Module], opts: &LinkOptions) -> Result<DataLayout, LinkError> {
        let mut layout = DataLayout::default();
        // The first input with functions in each code section: one output section cannot
        // be both data and code (each input's reader made sure of that for itself).
        let mut code: HashMap<&str, usize> = HashMap::new();
        for (i, m) in modules.iter().enumerate() {
            for (_, f) in m.functions() {
                code.entry(f.section.as_str()).or_insert(i);
            }
        }
        // Bytes of the output's bss sections so far.
        let mut bss = 0u64;
        for (i, m) in modules.iter().enumerate() {
            for (id, d) in m.data_sections() {
                let o = match layout.sections.iter().position(|s| s.name == d.name) {
                    Some(o) => o,
                    None => {
                        layout.sections.push(OutData {
                            name: d.name.clone(),
                            kind: d.kind,
                            align: 1,
                            size: 0,
                            parts: Vec::new(),
                        });
                        layout.sections.len() - 1
                    }
                };
                if let Some(&j) = code.get(d.name.as_str()) {
                    return Err(LinkError::DataCodeClash {
                        section: d.name.clone(),
                        data: opts.name(i),
                        code: opts.name(j),
                    });
                }
                let s = &mut layout.sections[o];
                if s.kind != d.kind {
                    return Err(LinkError::DataKindMismatch {
                        section: d.name.clone(),
                        first: opts.name(s.parts.first().map_or(i, |p| p.0)),
                        first_kind: s.kind,
                        second: opts.name(i),
                        second_kind: d.kind,
                    });
                }
                let too_large = || LinkError::DataTooLarge {
                    section: d.name.clone(),
                    input: opts.name(i),
                };
                let align = d.align.max(1);
                let base = u64::from(s.size).next_multiple_of(align);
                let end = base + d.bytes.len() as u64;
                if end > u64::from(u32::MAX) {
                    return Err(too_large());
                }
                if s.kind == DataKind::Bss {
                    // The output's bss sections together stay readable (`DataSection::MAX_SIZE`).
                    bss = bss + end - u64::from(s.size);
                    if bss > DataSection::MAX_SIZE {
                        return Err(too_large());
                    }
                }
                s.size = end as u32;
                s.align = s.align.max(align);
                s.parts.push((i, id, base as u32));
                layout.place.insert((i, id), (o, base as u32));
            }
        }
        Ok(layout)
    }
}

/// The merged BTF and, per input, where its types went.
struct MergedBtf {
    btf: Option<Btf>,
    /// Per input: its types' new ids (`None` for inputs without BTF).
    types: Vec<Option<Appended>>,
    /// Per input: its `DATASEC`s' new ids.
    datasecs: Vec<HashMap<TypeId, TypeId>>,
    /// After de-duplication: the concatenated BTF's id → the final id.
    dedup_map: Option<Vec<TypeId>>,
    /// After de-duplication: (input, string offset) → the final offset of that text, for
    /// the strings lines and CO-RE records use.
    dedup_strs: HashMap<(usize, crate::btf::StrOffset), crate::btf::StrOffset>,
}

impl MergedBtf {
    /// The output id of input `input`'s type `ty`.
    fn ty(&self, input: usize, ty: TypeId) -> Option<TypeId> {
        let moved = self.types.get(input)?.as_ref()?;
        let concatenated = moved
            .ty(ty)
            .or_else(|| self.datasecs.get(input)?.get(&ty).copied())?;
        match &self.dedup_map {
            Some(map) => map
                .get(concatenated.into_raw().into_u32() as usize)
                .copied(),
            None => Some(concatenated),
        }
    }

    fn str(&self, input: usize, s: crate::btf::StrOffset) -> crate::btf::StrOffset {
        if let Some(&new) = self.dedup_strs.get(&(input, s)) {
            return new;
        }
        match self.types.get(input).and_then(Option::as_ref) {
            Some(moved) => moved.str(s),
            None => s,
        }
    }
}

/// The largest size of a BTF map definition the linker reserves in `.maps` when the
/// `DATASEC` says less (a definition is a handful of 8-byte members).
const MAX_MAP_DEF_LEN: u32 = 1 << 12;

/// Step 3: one BTF for the output.
///
/// (a) Every input's types except its `DATASEC`s are appended ([`Btf::append`]: strings by a
/// base offset, types by a table); then one `DATASEC` per output section is built: data
/// sections from the layout (variables shifted by their part's base, overridden weak ones
/// left out), `.maps` and `maps` with the surviving maps laid out anew, `.struct_ops` and
/// `.struct_ops.link` as the inputs' sections one after the other, `.kconfig` and
/// `.ksyms` with one variable per name, others (`license`, `version`, ...) from the first
/// input that has them.
///
/// (b) The result is de-duplicated ([`crate::btf::dedup`], libbpf's `btf__dedup`
/// semantics), and the ids and strings every entity refers to are mapped through it.
fn merge_btf(
    modules: &[Module],
    symbols: &IndexMap<String, Symbol>,
    layout: &DataLayout,
    opts: &LinkOptions,
) -> Result<MergedBtf, LinkError> {
    let mut merged = MergedBtf {
        btf: None,
        types: Vec::with_capacity(modules.len()),
        datasecs: vec![HashMap::new(); modules.len()],
        dedup_map: None,
        dedup_strs: HashMap::new(),
    };
    let btf_err = |i: usize| {
        move |source| LinkError::Btf {
            input: opts.name(i),
            source,
        }
    };
    for (i, m) in modules.iter().enumerate() {
        let Some(b) = m.btf.as_ref() else {
            merged.types.push(None);
            continue;
        };
        let out = merged.btf.get_or_insert_with(|| Btf::new(m.endian()));
        // An extern FUNC (or extern map or variable VAR) that an input defines is only a
        // declaration: it is left out (its users now reach the definition, whose type
        // stays), as libbpf's linker does; the kernel refuses extern linkage. Unresolved
        // ones (kfuncs, ksyms) stay.
        let resolved_decl = |t: &crate::btf::Type| {
            let defined = |want: fn(&Target) -> bool| {
                b.str(t.name)
                    .is_ok_and(|n| symbols.get(n).is_some_and(|sym| want(&sym.winner)))
            };
            match t.kind {
                TypeKind::Func {
                    linkage: Linkage::Extern,
                    ..
                } => defined(|w| matches!(w, Target::Func(..))),
                TypeKind::Var {
                    linkage: Linkage::Extern,
                    ..
                } => defined(|w| matches!(w, Target::Map(..) | Target::Var(..))),
                _ => false,
            }
        };
        let moved = out
            .append(b, |_, t| {
                t.kind.kind() != Kind::Datasec && !resolved_decl(t)
            })
            .map_err(btf_err(i))?;
        merged.types.push(Some(moved));
    }
    let Some(mut out) = merged.btf.take() else {
        return Ok(merged);
    };

    // The DATASEC names, in order of first appearance.
    let mut names: IndexMap<String, Vec<(usize, TypeId)>> = IndexMap::new();
    for (i, m) in modules.iter().enumerate() {
        let Some(b) = m.btf.as_ref() else { continue };
        for (id, t) in b.own_types() {
            if t.kind.kind() == Kind::Datasec {
                let name = b.name(id).map_err(btf_err(i))?.to_string();
                names.entry(name).or_default().push((i, id));
            }
        }
    }
    for (name, secs) in &names {
        let mut vars: Vec<VarSecinfo> = Vec::new();
        let mut size = 0u32;
        let new_var =
            |merged: &MergedBtf, i: usize, v: &VarSecinfo| -> Result<VarSecinfo, LinkError> {
                let ty = merged.ty(i, v.ty).ok_or_else(|| LinkError::Btf {
                    input: opts.name(i),
                    source: crate::btf::BtfError::TypeIdOutOfRange {
                        type_id: 0,
                        referenced: modules[i].btf.as_ref().map_or(0, |b| b.wire_id(v.ty).0),
                        n_types: 0,
                    },
                })?;
                Ok(VarSecinfo { ty, ..*v })
            };
        if let Some(o) = layout.sections.iter().position(|s| &s.name == name) {
            // A data section: each input's variables at its part's base.
            let sec = &layout.sections[o];
            size = sec.size;
            for &(i, data, base) in &sec.parts {
                let m = &modules[i];
                let (Some(b), Some(ds)) = (m.btf.as_ref(), m.data(data).btf_datasec) else {
                    continue;
                };
                for v in b.datasec_vars(ds) {
                    let var_name = b.name(v.ty).map_err(btf_err(i))?;
                    let lost = m.data(data).vars.iter().enumerate().any(|(k, dv)| {
                        dv.name == var_name
                            && overridden(symbols, var_name, Target::Var(i, data, k)).is_some()
                    });
                    if lost {
                        continue;
                    }
                    let mut nv = new_var(&merged, i, &v)?;
                    nv.offset = nv.offset.saturating_add(base);
                    vars.push(nv);
                }
            }
        } else if name == "maps" {
            // Legacy maps, laid out as the writer writes them: every surviving record
            // back to back in output order, whether or not its input's BTF has a `VAR` for
            // it (one without BTF is written all the same); a `VAR` takes its record's
            // offset, and the section is as long as the records or the `VAR`s need.
            let mut packed = 0u32;
            for (i, m) in modules.iter().enumerate() {
                let ds = secs.iter().find(|(j, _)| *j == i).map(|&(_, ds)| ds);
                for (id, map) in m.maps().filter(|(_, map)| map.origin == MapOrigin::Legacy) {
                    if overridden(symbols, &map.name, Target::Map(i, id)).is_some() {
                        continue;
                    }
                    let offset = packed;
                    packed = packed.saturating_add(crate::write::legacy_record_len(map));
                    let (Some(ds), Some(b)) = (ds, m.btf.as_ref()) else {
                        continue;
                    };
                    let v = b
                        .datasec_vars(ds)
                        .iter()
                        .find(|v| b.name(v.ty).is_ok_and(|n| n == map.name));
                    let Some(v) = v else { continue };
                    let mut nv = new_var(&merged, i, &v)?;
                    nv.offset = offset;
                    size = size.max(offset.saturating_add(nv.size));
                    vars.push(nv);
                }
            }
            size = size.max(packed);
        } else if name == ".maps" {
            // Surviving BTF-defined maps, laid out anew in output order.
            let (origin, align) = (MapOrigin::Btf, 8u32);
            for (i, m) in modules.iter().enumerate() {
                let Some(&(_, ds)) = secs.iter().find(|(j, _)| *j == i) else {
                    continue;
                };
                let b = m.btf.as_ref().expect("a DATASEC comes from a BTF");
                for (id, map) in m.maps().filter(|(_, map)| map.origin == origin) {
                    if overridden(symbols, &map.name, Target::Map(i, id)).is_some() {
                        continue;
                    }
                    let v = b.datasec_vars(ds).iter().find(|v| {
                        Some(v.ty) == map.btf_var || b.name(v.ty).is_ok_and(|n| n == map.name)
                    });
                    let Some(v) = v else { continue };
                    let mut nv = new_var(&merged, i, &v)?;
                    nv.offset = size.next_multiple_of(align);
                    // Each map gets its own bytes, at least its definition's: a `VAR` whose
                    // DATASEC size says less (0 in a fuzzed object) would otherwise share
                    // its offset with the next map, and references to one would read back
                    // as references to the other. (A definition is a few pointers: a
                    // larger claimed size is not trusted for the layout.)
                    let def_len = b
                        .size_of(v.ty)
                        .ok()
                        .filter(|&n| n <= MAX_MAP_DEF_LEN)
                        .unwrap_or(0);
                    nv.size = nv.size.max(def_len).max(1);
                    size = nv.offset.saturating_add(nv.size);
                    vars.push(nv);
                }
            }
        } else if name.starts_with(".struct_ops") {
            // struct_ops variables: the inputs' sections one after the other, each at the
            // next 8-byte boundary (the alignment of the function pointers that fill them),
            // as libbpf's linker concatenates them; each variable keeps its offset in its
            // input's section. The writer places every struct_ops value at its `VAR`'s
            // offset, so every surviving map needs its `VAR` here.
            for &(i, ds) in secs {
                let m = &modules[i];
                let b = m.btf.as_ref().expect("a DATASEC comes from a BTF");
                let base = size.next_multiple_of(8);
                let part = match b.kind_of(ds) {
                    Ok(TypeKind::Datasec { size: s, .. }) => s,
                    _ => 0,
                };
                let mut end = base.saturating_add(part);
                // The maps of this input that lost to another input's definition, by `VAR`
                // and by name: their variables are left out.
                let mut lost_vars = std::collections::HashSet::new();
                let mut lost_names = std::collections::HashSet::new();
                for (id, map) in m.maps() {
                    if overridden(symbols, &map.name, Target::Map(i, id)).is_some() {
                        lost_vars.extend(map.btf_var);
                        lost_names.insert(map.name.as_str());
                    }
                }
                for v in b.datasec_vars(ds) {
                    let lost = lost_vars.contains(&v.ty)
                        || b.name(v.ty).is_ok_and(|n| lost_names.contains(n));
                    if lost {
                        continue;
                    }
                    let mut nv = new_var(&merged, i, &v)?;
                    nv.offset = nv.offset.saturating_add(base);
                    end = end.max(nv.offset.saturating_add(nv.size));
                    vars.push(nv);
                }
                size = end;
            }
        } else if name == ".kconfig" || name == ".ksyms" {
            // Externs: one variable per name, laid out anew (loaders place them again).
            let mut seen: Vec<String> = Vec::new();
            for &(i, ds) in secs {
                let b = modules[i].btf.as_ref().expect("a DATASEC comes from a BTF");
                for v in b.datasec_vars(ds) {
                    let var_name = b.name(v.ty).map_err(btf_err(i))?.to_string();
                    if seen.contains(&var_name) {
                        continue;
                    }
                    seen.push(var_name);
                    let mut nv = new_var(&merged, i, &v)?;
                    nv.offset = size.next_multiple_of(8);
                    size = nv.offset.saturating_add(nv.size);
                    vars.push(nv);
                }
            }
        } else if let Some(&(i, ds)) = secs.first() {
            // license, version and sections bpfir does not model: the first input's.
            let b = modules[i].btf.as_ref().expect("a DATASEC comes from a BTF");
            if let Ok(TypeKind::Datasec { size: s, .. }) = b.kind_of(ds) {
                size = s;
            }
            for v in b.datasec_vars(ds) {
                vars.push(new_var(&merged, i, &v)?);
            }
            // The output writes `license` and `version` itself (the first license and
            // version of the inputs, see `Linker::run`): size them as the written
            // sections, which is what the reader makes of them.
            let written = match name.as_str() {
                // No length: the writer refuses the module (a variable past 4 KiB).
                "license" => modules
                    .iter()
                    .find_map(|m| m.license.as_deref())
                    .and_then(|l| {
                        let extent = crate::write::datasec_vars_extent(b, ds);
                        crate::write::license_len(l, extent, Some(size))
                    }),
                "version" => modules.iter().find_map(|m| m.kern_version).map(|_| 4),
                _ => None,
            };
            if let Some(len) = written {
                size = u32::try_from(len).unwrap_or(u32::MAX);
            }
        }
        let id = out
            .add_datasec(name, size, &vars)
            .map_err(btf_err(secs[0].0))?;
        for &(i, ds) in secs {
            merged.datasecs[i].insert(ds, id);
        }
    }

    // ---- Step (b): BTF deduplication -------------------------------------------------
    // Types every input shares (headers included everywhere) become one; every id copied
    // afterwards goes through the composed map, and the strings of lines and CO-RE records
    // are found again by their text in the new string table.
    let deduped = crate::btf::dedup(&out).map_err(btf_err(0))?;
    let mut final_btf = deduped.btf;
    for (i, m) in modules.iter().enumerate() {
        let Some(moved) = merged.types.get(i).and_then(Option::as_ref) else {
            continue;
        };
        let strings = m
            .lines()
            .flat_map(|(_, l)| [l.file, l.text])
            .chain(m.core_relos().map(|(_, c)| c.access_str));
        for s in strings {
            if merged.dedup_strs.contains_key(&(i, s)) {
                continue;
            }
            let text = out.str(moved.str(s)).map_err(btf_err(i))?.to_string();
            let new = final_btf.add_str(&text).map_err(btf_err(i))?;
            merged.dedup_strs.insert((i, s), new);
        }
    }
    // The names of the code sections: `.BTF.ext` records name their section by a string of
    // `.BTF`, and the de-duplicated table keeps only what types use.
    for m in modules {
        for (_, f) in m.functions() {
            final_btf.add_str(&f.section).map_err(btf_err(0))?;
        }
    }
    merged.dedup_map = Some(deduped.map);
    let out = final_btf;
    // ------------------------------------------------------------------------------------
    merged.btf = Some(out);
    Ok(merged)
}

/// What an extern of an input becomes.
#[derive(Clone, Copy, Debug)]
enum ExternTarget {
    Def(Target),
    Extern(ExternId),
}

struct Linker<'a> {
    modules: &'a [Module],
    opts: &'a LinkOptions,
    symbols: IndexMap<String, Symbol>,
    layout: DataLayout,
    out: Module,
    /// Per input: new function by old (`None` until known).
    funcs: Vec<EntityMap<FuncId, FuncId>>,
    maps: Vec<EntityMap<MapId, MapId>>,
    externs: Vec<EntityMap<ExternId, ExternTarget>>,
    lines: Vec<EntityMap<LineId, LineId>>,
    cores: Vec<EntityMap<CoreId, CoreId>>,
}

impl Linker<'_> {
    fn run(mut self, merged: MergedBtf) -> Result<Module, LinkError> {
        let n = self.modules.len();
        self.funcs = vec![EntityMap::default(); n];
        self.maps = vec![EntityMap::default(); n];
        self.externs = vec![EntityMap::default(); n];
        self.lines = vec![EntityMap::default(); n];
        self.cores = vec![EntityMap::default(); n];
        self.out.license = self.modules.iter().find_map(|m| m.license.clone());
        self.out.kern_version = self.modules.iter().find_map(|m| m.kern_version);
        self.add_data(&merged);
        self.add_maps(&merged)?;
        self.add_functions(&merged);
        self.add_struct_ops()?;
        self.add_externs(&merged)?;
        self.add_lines_and_relos(&merged);
        for i in 0..n {
            self.add_code(i)?;
        }
        self.out.btf = merged.btf;
        Ok(self.out)
    }

    /// Output data sections, in layout order (so output section `o` has id `o`).
    fn add_data(&mut self, merged: &MergedBtf) {
        for s in &self.layout.sections {
            let mut bytes = vec![0u8; s.size as usize];
            let mut vars = Vec::new();
            for &(i, data, base) in &s.parts {
                let d = self.modules[i].data(data);
                let start = base as usize;
                if let Some(dst) = bytes.get_mut(start..start + d.bytes.len()) {
                    dst.copy_from_slice(&d.bytes);
                }
                for (k, v) in d.vars.iter().enumerate() {
                    if overridden(&self.symbols, &v.name, Target::Var(i, data, k)).is_some() {
                        continue;
                    }
                    let mut v = v.clone();
                    v.offset = v.offset.saturating_add(base);
                    if v.linkage != SymbolLinkage::Static {
                        v.linkage = self.linkage(&v.name, v.linkage);
                    }
                    vars.push(v);
                }
            }
            vars.sort_by_key(|v| v.offset);
            let btf_datasec = s.parts.iter().find_map(|&(i, data, _)| {
                let ds = self.modules[i].data(data).btf_datasec?;
                merged.ty(i, ds)
            });
            self.out.add_data(DataSection {
                name: s.name.clone(),
                kind: s.kind,
                bytes,
                align: s.align,
                vars,
                btf_datasec,
            });
        }
    }

    /// The output linkage of global symbol `name` defined with `linkage`.
    fn linkage(&self, name: &str, linkage: SymbolLinkage) -> SymbolLinkage {
        match self.symbols.get(name) {
            Some(s) if s.strong => SymbolLinkage::Global,
            Some(_) => SymbolLinkage::Weak,
            None => linkage,
        }
    }

    fn remap_map(&self, merged: &MergedBtf, i: usize, map: &MapDef) -> MapDef {
        let mut map = map.clone();
        map.key_type = map.key_type.and_then(|t| merged.ty(i, t));
        map.value_type = map.value_type.and_then(|t| merged.ty(i, t));
        map.btf_var = map.btf_var.and_then(|t| merged.ty(i, t));
        map.inner = map
            .inner
            .take()
            .map(|inner| Box::new(self.remap_map(merged, i, &inner)));
        map
    }

    fn add_maps(&mut self, merged: &MergedBtf) -> Result<(), LinkError> {
        for (i, m) in self.modules.iter().enumerate() {
            for (id, map) in m.maps() {
                if overridden(&self.symbols, &map.name, Target::Map(i, id)).is_some() {
                    continue;
                }
                let new = self.out.add_map(self.remap_map(merged, i, map));
                let linkage = if is_static_map(m, id) {
                    SymbolLinkage::Static
                } else {
                    self.linkage(&map.name, m.map_linkage(id))
                };
                self.out.set_map_linkage(new, linkage)?;
                self.maps[i].insert(id, new);
            }
        }
        // Overridden maps are the winner's map.
        for (i, m) in self.modules.iter().enumerate() {
            for (id, map) in m.maps() {
                if let Some(Target::Map(j, w)) =
                    overridden(&self.symbols, &map.name, Target::Map(i, id))
                {
                    if let Some(&new) = self.maps[j].get(w) {
                        self.maps[i].insert(id, new);
                    }
                }
            }
        }
        Ok(())
    }

    /// struct_ops values follow their maps, their programs remapped to the output's: the
    /// winning definition's value (an overridden weak one maps to the winner's map, and
    /// brings nothing).
    fn add_struct_ops(&mut self) -> Result<(), LinkError> {
        for (i, m) in self.modules.iter().enumerate() {
            for (id, map) in m.maps() {
                if overridden(&self.symbols, &map.name, Target::Map(i, id)).is_some() {
                    continue;
                }
                let (Some(value), Some(&new)) = (m.struct_ops(id), self.maps[i].get(id)) else {
                    continue;
                };
                if self.out.struct_ops(new).is_some() {
                    continue;
                }
                let mut value = value.clone();
                value
                    .funcs
                    .retain_mut(|(_, f)| match self.funcs[i].get(*f) {
                        Some(&g) => {
                            *f = g;
                            true
                        }
                        None => false,
                    });
                self.out.set_struct_ops(new, value)?;
            }
        }
        Ok(())
    }

    fn add_functions(&mut self, merged: &MergedBtf) {
        for (i, m) in self.modules.iter().enumerate() {
            for (id, f) in m.functions() {
                if overridden(&self.symbols, &f.name, Target::Func(i, id)).is_some()
                    && f.linkage != SymbolLinkage::Static
                {
                    continue;
                }
                let mut nf = f.clone();
                nf.btf_func = f.btf_func.and_then(|t| merged.ty(i, t));
                let extra = self
                    .symbols
                    .get(&f.name)
                    .is_some_and(|s| s.extras.contains(&Target::Func(i, id)));
                if extra {
                    nf.linkage = SymbolLinkage::Static;
                } else if f.linkage != SymbolLinkage::Static {
                    nf.linkage = self.linkage(&f.name, f.linkage);
                }
                let new = self.out.add_function(nf);
                self.funcs[i].insert(id, new);
            }
        }
        for (i, m) in self.modules.iter().enumerate() {
            for (id, f) in m.functions() {
                if f.linkage == SymbolLinkage::Static {
                    continue;
                }
                if let Some(Target::Func(j, w)) =
                    overridden(&self.symbols, &f.name, Target::Func(i, id))
                {
                    if let Some(&new) = self.funcs[j].get(w) {
                        self.funcs[i].insert(id, new);
                    }
                }
            }
        }
    }

    fn add_externs(&mut self, merged: &MergedBtf) -> Result<(), LinkError> {
        // One extern per name: an ELF object has one undefined symbol of a name.
        let mut by_name: HashMap<String, ExternId> = HashMap::new();
        // Its BTF: the first input's that has one (an input may have read the extern from
        // its symbol alone), so the output's extern is the one its BTF reads back as.
        let mut btf_of: HashMap<(&str, ExternKind), TypeId> = HashMap::new();
        for (i, m) in self.modules.iter().enumerate() {
            for (_, e) in m.externs() {
                if let Some(t) = e.btf.and_then(|t| merged.ty(i, t)) {
                    btf_of.entry((e.name.as_str(), e.kind)).or_insert(t);
                }
            }
        }
        for (i, m) in self.modules.iter().enumerate() {
            for (id, e) in m.externs() {
                let kernel = is_kernel_extern(m, e);
                let target = if kernel {
                    None
                } else {
                    self.symbols.get(&e.name).map(|s| s.winner)
                };
                let t = match target {
                    Some(t) => ExternTarget::Def(t),
                    None => {
                        if !kernel && !self.opts.allow_unresolved {
                            return Err(LinkError::Unresolved {
                                name: e.name.clone(),
                                input: self.opts.name(i),
                            });
                        }
                        let new = match by_name.get(&e.name) {
                            Some(&new) if self.out.extern_(new).kind == e.kind => new,
                            Some(&new) => {
                                return Err(LinkError::ExternKindMismatch {
                                    name: e.name.clone(),
                                    first_kind: self.out.extern_(new).kind,
                                    second: self.opts.name(i),
                                    second_kind: e.kind,
                                })
                            }
                            None => {
                                let mut ne = e.clone();
                                // What the merged BTF says the extern is, as the reader will
                                // read it (another input's BTF may declare the name).
                                let found = merged
                                    .btf
                                    .as_ref()
                                    .and_then(|b| crate::read::extern_kind(b, &e.name));
                                ne.btf = match found {
                                    Some((kind, btf)) if kind == e.kind => btf,
                                    Some((kind, _)) => {
                                        return Err(LinkError::ExternKindMismatch {
                                            name: e.name.clone(),
                                            first_kind: kind,
                                            second: self.opts.name(i),
                                            second_kind: e.kind,
                                        })
                                    }
                                    None => btf_of.get(&(e.name.as_str(), e.kind)).copied(),
                                };
                                let new = self.out.add_extern(ne);
                                by_name.insert(e.name.clone(), new);
                                new
                            }
                        };
                        ExternTarget::Extern(new)
                    }
                };
                self.externs[i].insert(id, t);
            }
        }
        Ok(())
    }

    fn add_lines_and_relos(&mut self, merged: &MergedBtf) {
        for (i, m) in self.modules.iter().enumerate() {
            for (id, l) in m.lines() {
                let new = self.out.add_line(SourceLine {
                    file: merged.str(i, l.file),
                    text: merged.str(i, l.text),
                    ..*l
                });
                self.lines[i].insert(id, new);
            }
            for (id, c) in m.core_relos() {
                let Some(ty) = merged.ty(i, c.ty) else {
                    continue;
                };
                let new = self.out.add_core_relo(CoreRelo {
                    ty,
                    access_str: merged.str(i, c.access_str),
                    access: c.access.clone(),
                    kind: c.kind,
                });
                self.cores[i].insert(id, new);
            }
        }
    }

    /// Where byte `offset` of input `i`'s data section `data` is in the output, following an
    /// overridden weak variable to the winner.
    fn data_ref(&self, i: usize, data: DataId, offset: u32) -> Option<Ref> {
        let d = self.modules[i].data(data);
        for (k, v) in d.vars.iter().enumerate() {
            let inside = offset >= v.offset && offset - v.offset < v.size.max(1);
            if !inside {
                continue;
            }
            if let Some(Target::Var(j, wd, wk)) =
                overridden(&self.symbols, &v.name, Target::Var(i, data, k))
            {
                let w = &self.modules[j].data(wd).vars[wk];
                let (o, base) = self.layout.place.get(&(j, wd)).copied()?;
                return Some(Ref::Data {
                    data: self.out.id_at::<DataSection>(o)?,
                    offset: base + w.offset + (offset - v.offset),
                });
            }
        }
        let (o, base) = self.layout.place.get(&(i, data)).copied()?;
        Some(Ref::Data {
            data: self.out.id_at::<DataSection>(o)?,
            offset: base.checked_add(offset)?,
        })
    }

    /// The output reference for `r` on `insn` of input `i`, and the instruction to emit.
    fn remap_ref(&self, i: usize, insn: Insn, r: Ref) -> Result<(Insn, Ref), String> {
        let func = |f: FuncId| {
            self.funcs[i]
                .get(f)
                .copied()
                .ok_or_else(|| format!("refers to function {f:?}, which is not linked"))
        };
        Ok(match r {
            Ref::Jump(t) => (insn, Ref::Jump(t)),
            Ref::Call(f) => (insn, Ref::Call(func(f)?)),
            Ref::FuncAddr(f) => (insn, Ref::FuncAddr(func(f)?)),
            Ref::Map(m) => (
                insn,
                Ref::Map(
                    self.maps[i]
                        .get(m)
                        .copied()
                        .ok_or_else(|| format!("refers to map {m:?}, which is not linked"))?,
                ),
            ),
            Ref::Data { data, offset } => (
                insn,
                self.data_ref(i, data, offset)
                    .ok_or_else(|| format!("data offset {offset} does not fit the output"))?,
            ),
            Ref::Extern(e) => {
                let target = self.externs[i]
                    .get(e)
                    .copied()
                    .ok_or_else(|| format!("refers to extern {e:?}, which is not linked"))?;
                let name = &self.modules[i].extern_(e).name;
                match (target, insn) {
                    (ExternTarget::Extern(new), _) => (insn, Ref::Extern(new)),
                    (ExternTarget::Def(Target::Func(j, f)), Insn::Call { off, imm, .. }) => {
                        let new = self.funcs[j]
                            .get(f)
                            .copied()
                            .ok_or("callee is not linked")?;
                        let call = Insn::Call {
                            kind: CallKind::Local,
                            off,
                            imm,
                        };
                        (call, Ref::Call(new))
                    }
                    (ExternTarget::Def(Target::Func(j, f)), Insn::LdImm64 { .. }) => {
                        let new = self.funcs[j]
                            .get(f)
                            .copied()
                            .ok_or("callee is not linked")?;
                        (insn, Ref::FuncAddr(new))
                    }
                    (ExternTarget::Def(Target::Map(j, m)), Insn::LdImm64 { .. }) => {
                        let new = self.maps[j].get(m).copied().ok_or("map is not linked")?;
                        (insn, Ref::Map(new))
                    }
                    (ExternTarget::Def(Target::Var(j, d, k)), Insn::LdImm64 { .. }) => {
                        let v = &self.modules[j].data(d).vars[k];
                        let r = self
                            .data_ref(j, d, v.offset)
                            .ok_or("variable is not linked")?;
                        (insn, r)
                    }
                    (ExternTarget::Def(t), _) => {
                        return Err(format!(
                            "{name} resolves to a {}, which this instruction cannot refer to",
                            t.kind()
                        ))
                    }
                }
            }
        })
    }

    /// Re-creates the instructions of input `i`'s linked functions.
    fn add_code(&mut self, i: usize) -> Result<(), LinkError> {
        let m = &self.modules[i];
        for (fid, f) in m.functions() {
            let Some(&new_f) = self.funcs[i].get(fid) else {
                continue;
            };
            if f.linkage != SymbolLinkage::Static
                && overridden(&self.symbols, &f.name, Target::Func(i, fid)).is_some()
            {
                // An overridden definition maps to its winner and brings no body.
                continue;
            }
            let mut ids: EntityMap<crate::ir::InsnId, crate::ir::InsnId> = EntityMap::default();
            let mut jumps = Vec::new();
            for (index, id) in m.func_insns(fid).enumerate() {
                let bad = |reason: String| LinkError::BadReference {
                    input: self.opts.name(i),
                    function: f.name.clone(),
                    index,
                    reason,
                };
                let mut insn = *m.insn(id);
                let meta = m.meta(id);
                let mut reference = None;
                match meta.reference {
                    Some(Ref::Jump(t)) => jumps.push((index, t)),
                    Some(r) => {
                        let (ni, nr) = self.remap_ref(i, insn, r).map_err(bad)?;
                        insn = ni;
                        reference = Some(nr);
                    }
                    None => {}
                }
                // Origins are kept: re-interned by pass name in the linked module.
                let origin = meta
                    .origin
                    .and_then(|o| m.origin(o))
                    .map(|o| self.out.add_origin(&o.pass));
                let new_meta = Meta::new()
                    .with_ref_opt(reference)
                    .with_line_opt(meta.line.and_then(|l| self.lines[i].get(l).copied()))
                    .with_core_opt(meta.core.and_then(|c| self.cores[i].get(c).copied()))
                    .with_origin_opt(origin);
                let new = self
                    .out
                    .append(new_f, insn, new_meta)
                    .map_err(|e| bad(e.to_string()))?;
                ids.insert(id, new);
            }
            let new_ids: Vec<_> = self.out.func_insns(new_f).collect();
            for (index, target) in jumps {
                // Verified: the target is an instruction of this function, copied above.
                let new_target =
                    ids.get(target)
                        .copied()
                        .ok_or_else(|| LinkError::BadReference {
                            input: self.opts.name(i),
                            function: f.name.clone(),
                            index,
                            reason: "jump target is not an instruction of this function".into(),
                        })?;
                self.out
                    .set_reference(new_ids[index], Some(Ref::Jump(new_target)))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
