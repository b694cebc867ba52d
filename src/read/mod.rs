//! Reading a BPF ELF object into a [`Module`].
//!
//! The reader works section by section, on byte offsets, and turns every offset into an id
//! before anything leaves it:
//!
//! 1. `.BTF`, `.BTF.ext`, `license`, `version`, data sections and maps are read.
//! 2. Each executable section is cut into functions by its function symbols (several per
//!    section, `.text` included; the bytes between functions are alignment padding and are
//!    never decoded), and each function is decoded straight into the IR in order
//!    (`Module::append_with`: one arena push per instruction, the layout linked once per
//!    function). A table of section byte offset → instruction id is kept per section, and
//!    a list of its jumps and local calls.
//! 3. `.BTF.ext` records are attached through that table — by the byte offset in the ELF
//!    section, before anything is split or moved, so padding between functions cannot shift
//!    a record onto the wrong instruction.
//! 4. Relocations and jumps become symbolic [`Ref`]s.
//!
//! Cost: linear in the size of the object. The instruction at a byte offset is one index
//! into a per-section table (4 bytes per slot, dropped after reading); the instruction
//! arena is sized once from the code sections' sizes, the line and CO-RE arenas from the
//! record counts, the reference and line tables once per object. Decoding reports a
//! refused slot without building an error (it becomes an [`Insn::Opaque`]); only a slot
//! cut short builds the detailed one. Line records' strings are range-checked here; their
//! UTF-8 is checked where a `&str` is handed out ([`Btf::str`]). `DATASEC`s are found by
//! one pass over the types when reading starts, so reading does not build BTF's name index.
//!
//! Bounds: everything allocated is sized by bytes of the file, except bss, which has a size
//! and no bytes: the bss sections of an object may hold [`DataSection::MAX_SIZE`] (256 MiB)
//! in all, and a data section may ask for an alignment up to [`DataSection::MAX_ALIGN`]
//! (a page); larger ones are refused.

mod error;
mod maps;
mod struct_ops;

// hashbrown's default hasher: these maps are keyed by symbol names and section indices of
// one object, rebuilt for every object read, where SipHash was a visible share of the time.
use hashbrown::HashMap;

use crate::btf::{Btf, Kind, Linkage, StrOffset, TypeId, TypeKind};
use crate::btf_ext::{BtfExt, CoreAccess};
use crate::elf::{Binding, ElfObject, Section, Symbol, SymbolKind, R_BPF_64_32, R_BPF_64_64};
use crate::insn::{decode_or_opaque, decode_or_opaque_fast, CallKind, Insn};
use crate::ir::{
    CoreRelo, DataKind, DataSection, DataVar, Extern, ExternId, ExternKind, FuncId, Function,
    InsnId, MapId, Module, Ref, SourceLine, SymbolLinkage,
};

pub use error::ReadError;

/// What `btf` says the extern `name` is, and its type: a variable of `.kconfig`, `.ksyms`
/// or `.maps` (a kfunc's `FUNC` in `.ksyms`), else an extern `FUNC` of that name. The
/// reader reads an extern so (its symbol decides when BTF says nothing), and the linker
/// gives its output's externs what this finds in the merged BTF, so that they read back.
pub(crate) fn extern_kind(btf: &Btf, name: &str) -> Option<(ExternKind, Option<TypeId>)> {
    extern_kind_in(btf, &extern_sections(btf), name)
}

/// The `DATASEC`s an extern may be declared in, in the order [`extern_kind_in`] searches
/// them: `.kconfig`, `.ksyms`, `.maps` (`None` where the BTF has no such section).
pub(crate) fn extern_sections(btf: &Btf) -> Vec<(ExternKind, Option<TypeId>)> {
    extern_sections_in(btf, &datasecs(btf))
}

/// [`extern_sections`] among `datasecs` (the `DATASEC`s of `btf`, see [`datasecs`]).
fn extern_sections_in(btf: &Btf, datasecs: &[TypeId]) -> Vec<(ExternKind, Option<TypeId>)> {
    [
        (".kconfig", ExternKind::Kconfig),
        (".ksyms", ExternKind::Ksym),
        (".maps", ExternKind::Map),
    ]
    .into_iter()
    .map(|(name, kind)| (kind, datasec_in(btf, datasecs, name)))
    .collect()
}

/// [`extern_kind`] with the extern `sections` already found (see [`extern_sections`]).
pub(crate) fn extern_kind_in(
    btf: &Btf,
    sections: &[(ExternKind, Option<TypeId>)],
    name: &str,
) -> Option<(ExternKind, Option<TypeId>)> {
    for &(kind, sec) in sections {
        let Some(sec) = sec else {
            continue;
        };
        for v in btf.datasec_vars(sec) {
            if btf.name(v.ty).is_ok_and(|n| n == name) {
                let kind = match btf.ty(v.ty).kind {
                    TypeKind::Func { .. } => ExternKind::Func,
                    _ => kind,
                };
                return Some((kind, Some(v.ty)));
            }
        }
    }
    // An extern function's `FUNC` says `extern` (a global one of that name is a
    // definition, which may be another object's after a link; libbpf refuses an extern
    // whose name finds one).
    btf.types_by_name(name)
        .find(|&f| {
            matches!(
                btf.ty(f).kind,
                TypeKind::Func {
                    linkage: Linkage::Extern,
                    ..
                }
            )
        })
        .map(|f| (ExternKind::Func, Some(f)))
}

impl Module {
    /// Reads a BPF ELF object (as clang writes them, either byte order).
    ///
    /// ```
    /// let bytes = std::fs::read("testdata/calls.bpfel.o").unwrap();
    /// let module = bpfir::ir::Module::read(&bytes).unwrap();
    /// assert!(module.programs().count() >= 2);
    /// ```
    pub fn read(bytes: &[u8]) -> Result<Module, ReadError> {
        Reader::new(bytes)?.read()
    }
}

/// The code of one executable section: its functions and the instruction at each byte
/// offset.
struct Code<'a> {
    /// ELF section index.
    index: usize,
    /// ELF section name.
    name: &'a str,
    /// The instruction starting at each 8-byte slot of the section (`None`: the second
    /// slot of an `ld_imm64`, or padding between functions): an O(1) lookup for every
    /// relocation, jump and `.BTF.ext` record, sized once from the section.
    insns: Vec<Option<InsnId>>,
    /// `(start byte offset, function)`, sorted by offset.
    funcs: Vec<(u64, FuncId)>,
    /// The jumps and local calls, `(byte offset, instruction, function)` in section order:
    /// what [`Reader::resolve_local_targets`] turns into references, without walking every
    /// instruction again.
    branches: Vec<(u64, InsnId, FuncId)>,
}

impl Code<'_> {
    fn insn_at(&self, offset: u64) -> Option<InsnId> {
        if !offset.is_multiple_of(8) {
            return None;
        }
        let slot = usize::try_from(offset / 8).ok()?;
        self.insns.get(slot).copied().flatten()
    }

    fn func_at(&self, offset: u64) -> Option<FuncId> {
        self.funcs
            .binary_search_by_key(&offset, |&(o, _)| o)
            .ok()
            .map(|i| self.funcs[i].1)
    }
}

/// The code section `.BTF.ext` records of one section name refer to.
#[derive(Clone, Copy)]
struct ExtCode<'b> {
    /// The section name's offset in BTF strings.
    sec: StrOffset,
    /// Its index in `Reader::code`, if it is a code section.
    code: Option<usize>,
    /// The section name.
    name: &'b str,
}

struct Reader<'a> {
    elf: ElfObject<'a>,
    /// Length of the object's bytes: the bound of every size the reader pre-allocates.
    input_len: usize,
    module: Module,
    ext: Option<BtfExt>,
    /// Code by ELF section index.
    code: Vec<Code<'a>>,
    data_by_section: HashMap<usize, crate::ir::DataId>,
    /// Maps by ELF section index, with the byte range of their symbols.
    maps_by_place: HashMap<usize, Vec<(std::ops::Range<u64>, MapId)>>,
    externs_by_name: HashMap<&'a str, ExternId>,
    /// The `DATASEC`s of the module's BTF, in id order, found by one pass over its types
    /// when the reader starts: data sections, externs, `.maps`, struct_ops and the BTF
    /// fix-up each look theirs up here instead of walking every type again.
    datasecs: Vec<TypeId>,
}

fn linkage(b: Binding) -> SymbolLinkage {
    match b {
        Binding::Global => SymbolLinkage::Global,
        Binding::Weak => SymbolLinkage::Weak,
        _ => SymbolLinkage::Static,
    }
}

/// The first `DATASEC` of `btf` named `name`, by one pass over its types. The reader looks
/// up a handful of sections per object: building BTF's name index (hashing every type
/// name, kept for the module's lifetime) for them would cost more than the rest of reading
/// a small object, and nobody asked for the index.
pub(super) fn datasec_by_name(btf: &Btf, name: &str) -> Option<TypeId> {
    datasec_in(btf, &datasecs(btf), name)
}

/// The `DATASEC`s of `btf`'s own types, in id order (one pass over the types).
fn datasecs(btf: &Btf) -> Vec<TypeId> {
    btf.own_types()
        .filter(|(_, t)| t.kind.kind() == Kind::Datasec)
        .map(|(id, _)| id)
        .collect()
}

/// The first of `datasecs` (see [`datasecs`]) named `name`.
pub(super) fn datasec_in(btf: &Btf, datasecs: &[TypeId], name: &str) -> Option<TypeId> {
    datasecs
        .iter()
        .copied()
        .find(|&id| btf.name(id).is_ok_and(|n| n == name))
}

/// True when a variable at offset 0 is the only thing its section can hold.
fn vars_len_is_one(section_size: u32, var_size: u32) -> bool {
    var_size == section_size
}

/// The data section kind for an ELF section name, if it is one.
fn data_kind(name: &str) -> Option<DataKind> {
    if name.starts_with(".rodata") {
        Some(DataKind::Rodata)
    } else if name.starts_with(".data") {
        Some(DataKind::Data)
    } else if name.starts_with(".bss") {
        Some(DataKind::Bss)
    } else if name == ".addr_space.1" {
        Some(DataKind::Arena)
    } else {
        None
    }
}

/// The variable symbols of one section (object and untyped symbols with a name, in symbol
/// order), looked up the ways [`Reader::fixup_btf`] places a `DATASEC`'s variables. A
/// section has a handful: they are scanned, without building maps; past
/// [`VarSymbols::SCAN`] symbols, maps by name and offset are built once (so a crafted object
/// with many variables and symbols costs linear time, not their product).
struct VarSymbols<'s, 'a> {
    syms: Vec<&'s Symbol<'a>>,
    maps: Option<VarSymbolMaps<'s, 'a>>,
}

/// [`VarSymbols`]' maps, for sections with many symbols: the first symbol of each name
/// (any binding, global or weak, local), and the name of the first-of-its-name symbol at
/// each offset.
struct VarSymbolMaps<'s, 'a> {
    by_name: HashMap<&'a str, &'s Symbol<'a>>,
    globals: HashMap<&'a str, &'s Symbol<'a>>,
    locals: HashMap<&'a str, &'s Symbol<'a>>,
    named_at: HashMap<u64, &'a str>,
}

impl<'s, 'a> VarSymbols<'s, 'a> {
    /// Up to this many symbols, lookups scan.
    const SCAN: usize = 32;

    fn new(symbols: &'s [Symbol<'a>], section: usize) -> Self {
        let syms: Vec<&'s Symbol<'a>> = symbols
            .iter()
            .filter(|s| {
                s.section == Some(section)
                    && matches!(s.kind, SymbolKind::Object | SymbolKind::NoType)
                    && !s.name.is_empty()
            })
            .collect();
        let maps = (syms.len() > Self::SCAN).then(|| {
            let mut m = VarSymbolMaps {
                by_name: HashMap::new(),
                globals: HashMap::new(),
                locals: HashMap::new(),
                named_at: HashMap::new(),
            };
            for &s in &syms {
                if !m.by_name.contains_key(s.name) {
                    m.by_name.insert(s.name, s);
                    m.named_at.entry(s.value).or_insert(s.name);
                }
                match s.binding {
                    Binding::Global | Binding::Weak => {
                        m.globals.entry(s.name).or_insert(s);
                    }
                    Binding::Local => {
                        m.locals.entry(s.name).or_insert(s);
                    }
                    Binding::Other(_) => {}
                }
            }
            m
        });
        VarSymbols { syms, maps }
    }

    /// The first symbol named `name`.
    fn by_name(&self, name: &str) -> Option<&'s Symbol<'a>> {
        match &self.maps {
            Some(m) => m.by_name.get(name).copied(),
            None => self.syms.iter().copied().find(|s| s.name == name),
        }
    }

    /// The first global or weak symbol named `name`.
    fn global(&self, name: &str) -> Option<&'s Symbol<'a>> {
        match &self.maps {
            Some(m) => m.globals.get(name).copied(),
            None => {
                self.syms.iter().copied().find(|s| {
                    s.name == name && matches!(s.binding, Binding::Global | Binding::Weak)
                })
            }
        }
    }

    /// The first local symbol named `name`.
    fn local(&self, name: &str) -> Option<&'s Symbol<'a>> {
        match &self.maps {
            Some(m) => m.locals.get(name).copied(),
            None => self
                .syms
                .iter()
                .copied()
                .find(|s| s.name == name && s.binding == Binding::Local),
        }
    }

    /// The name of a symbol at `offset` that is the first of its name.
    fn named_at(&self, offset: u32) -> Option<&'a str> {
        let offset = u64::from(offset);
        match &self.maps {
            Some(m) => m.named_at.get(&offset).copied(),
            None => self
                .syms
                .iter()
                .enumerate()
                .find(|&(i, s)| {
                    s.value == offset && !self.syms[..i].iter().any(|p| p.name == s.name)
                })
                .map(|(_, s)| s.name),
        }
    }
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Result<Reader<'a>, ReadError> {
        let elf = ElfObject::parse(bytes)?;
        let mut module = Module::new(elf.endian());
        module.btf = elf
            .section(".BTF")
            .map(|s| Btf::parse(s.data))
            .transpose()?;
        let ext = elf
            .section(".BTF.ext")
            .map(|s| BtfExt::parse(s.data, elf.endian()))
            .transpose()?;
        if ext.is_some() && module.btf.is_none() {
            return Err(ReadError::BadSection {
                section: ".BTF.ext".into(),
                reason: "there is no .BTF section for its strings and types".into(),
            });
        }
        let datasecs = module.btf.as_ref().map(datasecs).unwrap_or_default();
        Ok(Reader {
            elf,
            input_len: bytes.len(),
            module,
            ext,
            code: Vec::new(),
            data_by_section: HashMap::new(),
            maps_by_place: HashMap::new(),
            externs_by_name: HashMap::new(),
            datasecs,
        })
    }

    fn read(mut self) -> Result<Module, ReadError> {
        self.read_license_and_version()?;
        self.read_data()?;
        self.read_maps()?;
        self.read_externs();
        self.read_code()?;
        self.module.presize_insn_tables();
        self.attach_ext()?;
        for i in 0..self.code.len() {
            self.resolve_relocations(i)?;
            self.resolve_local_targets(i)?;
        }
        self.read_struct_ops()?;
        self.fixup_btf()?;
        Ok(self.module)
    }

    fn read_license_and_version(&mut self) -> Result<(), ReadError> {
        if let Some(s) = self.elf.section("license") {
            let text = s.data.split(|&b| b == 0).next().unwrap_or_default();
            let text = std::str::from_utf8(text).map_err(|_| ReadError::BadSection {
                section: "license".into(),
                reason: "not utf-8".into(),
            })?;
            self.module.license = Some(text.to_string());
        }
        if let Some(s) = self.elf.section("version") {
            let v = self
                .elf
                .endian()
                .read_u32(s.data, 0)
                .filter(|_| s.data.len() == 4)
                .ok_or_else(|| ReadError::BadSection {
                    section: "version".into(),
                    reason: format!("{} bytes, expected a 4-byte kernel version", s.data.len()),
                })?;
            self.module.kern_version = Some(v);
        }
        Ok(())
    }

    fn read_data(&mut self) -> Result<(), ReadError> {
        // Zero-filled bytes so far: bss sections have a size but no bytes in the file.
        let mut zero_filled = 0u64;
        let mut names = std::collections::HashSet::new();
        for s in self.elf.sections() {
            let Some(kind) = data_kind(s.name) else {
                continue;
            };
            if s.is_executable() {
                continue;
            }
            // BTF describes a data section by its name (`DATASEC`), and loaders make one map
            // of each: two of one name cannot both be described (clang never writes them).
            if !names.insert(s.name) {
                return Err(ReadError::BadSection {
                    section: s.name.into(),
                    reason: "a second data section of this name".into(),
                });
            }
            if s.align > DataSection::MAX_ALIGN {
                return Err(ReadError::BadSection {
                    section: s.name.into(),
                    reason: format!(
                        "alignment {} is over {} bytes",
                        s.align,
                        DataSection::MAX_ALIGN
                    ),
                });
            }
            let bytes = if kind == DataKind::Bss || s.sh_type == object::elf::SHT_NOBITS {
                // A bss section has a size but no bytes in the file: bound the allocation
                // (`DataSection::MAX_SIZE`, for the object's bss sections together).
                zero_filled = zero_filled.saturating_add(s.size);
                if zero_filled > DataSection::MAX_SIZE {
                    return Err(ReadError::BadSection {
                        section: s.name.into(),
                        reason: format!(
                            "size {} takes the object's bss sections past {} bytes",
                            s.size,
                            DataSection::MAX_SIZE
                        ),
                    });
                }
                vec![0; s.size as usize]
            } else {
                s.data.to_vec()
            };
            let mut vars: Vec<DataVar> = self
                .elf
                .symbols()
                .iter()
                .filter(|sym| {
                    sym.section == Some(s.index)
                        && matches!(sym.kind, SymbolKind::Object | SymbolKind::NoType)
                        && !sym.name.is_empty()
                })
                .map(|sym| DataVar {
                    name: sym.name.to_string(),
                    offset: sym.value as u32,
                    size: sym.size as u32,
                    linkage: linkage(sym.binding),
                })
                .collect();
            vars.sort_by_key(|v| v.offset);
            let btf_datasec = self
                .module
                .btf
                .as_ref()
                .and_then(|b| datasec_in(b, &self.datasecs, s.name));
            let id = self.module.add_data(DataSection {
                name: s.name.to_string(),
                kind,
                bytes,
                align: s.align,
                vars,
                btf_datasec,
            });
            self.data_by_section.insert(s.index, id);
        }
        Ok(())
    }

    fn read_maps(&mut self) -> Result<(), ReadError> {
        for m in maps::read_maps(&self.elf, self.module.btf.as_ref())? {
            // A weak definition (`__weak SEC(".maps")`) is one a static linker may override.
            let weak = self.elf.symbols().iter().any(|s| {
                s.section == Some(m.section)
                    && s.value == m.offset
                    && s.name == m.def.name
                    && s.binding == Binding::Weak
            });
            let id = self.module.add_map(m.def);
            if weak {
                self.module.set_map_linkage(id, SymbolLinkage::Weak)?;
            }
            self.maps_by_place
                .entry(m.section)
                .or_default()
                .push((m.offset..m.offset + m.size.max(1), id));
        }
        Ok(())
    }

    /// What BTF says an extern is (see [`extern_kind_in`]); `sections` are the
    /// [`extern_sections`] of the module's BTF, found once per object.
    fn extern_kind(
        &self,
        name: &str,
        sections: &[(ExternKind, Option<TypeId>)],
    ) -> Option<(ExternKind, Option<TypeId>)> {
        extern_kind_in(self.module.btf.as_ref()?, sections, name)
    }

    /// The `DATASEC`s an extern may be declared in (see [`extern_sections`]).
    fn extern_sections(&self) -> Vec<(ExternKind, Option<TypeId>)> {
        self.module
            .btf
            .as_ref()
            .map(|b| extern_sections_in(b, &self.datasecs))
            .unwrap_or_default()
    }

    fn read_externs(&mut self) {
        let symbols = self.elf.symbols();
        let mut sections = None;
        for sym in symbols {
            if sym.section.is_some()
                || sym.name.is_empty()
                || matches!(sym.kind, SymbolKind::Section | SymbolKind::Other(_))
                || self.externs_by_name.contains_key(sym.name)
            {
                continue;
            }
            let sections = sections.get_or_insert_with(|| self.extern_sections());
            let (kind, btf) = self
                .extern_kind(sym.name, sections)
                .unwrap_or(match sym.kind {
                    SymbolKind::Func => (ExternKind::Func, None),
                    _ => (ExternKind::Ksym, None),
                });
            let id = self.module.add_extern(Extern {
                name: sym.name.to_string(),
                kind,
                weak: sym.binding == Binding::Weak,
                btf,
            });
            self.externs_by_name.insert(sym.name, id);
        }
    }

    fn read_code(&mut self) -> Result<(), ReadError> {
        let sections: Vec<Section<'a>> = self.elf.executable_sections().cloned().collect();
        // At most one instruction per 8 bytes of code. Sections may overlap in the file, so
        // the sum is capped by the input's own size: the reservation never exceeds what
        // the bytes can hold once (more instructions, if any, grow the arena as usual).
        let n_slots: usize = sections.iter().map(|s| s.data.len() / 8).sum();
        self.module.reserve_insns(n_slots.min(self.input_len / 8));
        for section in &sections {
            let mut code = Code {
                index: section.index,
                name: section.name,
                insns: vec![None; section.data.len() / 8],
                funcs: Vec::new(),
                branches: Vec::new(),
            };
            // By name and start: two functions may share a name (a static one next to a
            // global one, after a link), each with its own linkage.
            let symbols: HashMap<(&str, u64), &Symbol<'a>> = self
                .elf
                .functions_in(section.index)
                .into_iter()
                .map(|s| ((s.name, s.value), s))
                .collect();
            let mut ranges = self.elf.code_ranges(section);
            // Bodies without a symbol, by start: their names come from BTF.
            let leftovers: HashMap<usize, String> = self
                .unnamed_functions(section, &ranges)
                .into_iter()
                .map(|(name, r)| {
                    ranges.push(("", r.clone()));
                    (r.start, name)
                })
                .collect();
            ranges.sort_by_key(|(_, r)| r.start);
            // Each instruction belongs to one function: function symbols whose bodies
            // overlap (one inside another) would decode the same bytes twice, and a jump
            // into the overlap would name the other function's copy.
            for pair in ranges.windows(2) {
                let ((a, ra), (b, rb)) = (&pair[0], &pair[1]);
                if rb.start < ra.end && !ra.is_empty() && !rb.is_empty() {
                    return Err(ReadError::BadSection {
                        section: section.name.into(),
                        reason: format!(
                            "function {b:?} at [{:#x}, {:#x}) overlaps function {a:?} at \
                             [{:#x}, {:#x})",
                            rb.start, rb.end, ra.start, ra.end
                        ),
                    });
                }
            }
            for (name, range) in ranges {
                // An empty section without symbols (clang's empty `.text`) holds nothing.
                if name.is_empty() && range.is_empty() {
                    continue;
                }
                let bad = || ReadError::BadFunction {
                    section: section.name.into(),
                    function: name.into(),
                    start: range.start as u64,
                    end: range.end as u64,
                    size: section.data.len(),
                };
                if range.start % 8 != 0 || range.end % 8 != 0 {
                    return Err(bad());
                }
                let bytes = section.data.get(range.clone()).ok_or_else(bad)?;
                // A body a linker left without a symbol is never an entry point.
                let leftover = leftovers.get(&range.start);
                let is_program = section.name != ".text" && leftover.is_none();
                let fname = match leftover {
                    Some(n) if !n.is_empty() => n.as_str(),
                    _ if name.is_empty() => section.name,
                    _ => name,
                };
                let mut f = Function::new(fname, section.name, is_program);
                if let Some(sym) = symbols.get(&(name, range.start as u64)) {
                    f.linkage = linkage(sym.binding);
                    f.hidden = sym.hidden && f.linkage != SymbolLinkage::Static;
                }
                let func = self.module.add_function(f);
                code.funcs.push((range.start as u64, func));
                // Slots the decoder refuses stay as opaque instructions: the kernel judges.
                // (What `Decoder::keeping_opaque` yields, without its per-item wrapping.)
                // Each is pushed as decoded; the function's layout is made once at the end.
                let endian = self.elf.endian();
                self.module.append_with(func, |sink| {
                    let mut off = 0;
                    while off < bytes.len() {
                        let Some(insn) = decode_or_opaque_fast(bytes, off, endian) else {
                            // Cut short: the detailed error, off the hot path.
                            return Err(decode_or_opaque(bytes, off, endian).err().map_or_else(
                                || ReadError::BadSection {
                                    section: section.name.into(),
                                    reason: format!("{fname}: instruction at {off} cut short"),
                                },
                                |source| ReadError::Insn {
                                    section: section.name.into(),
                                    function: fname.into(),
                                    source,
                                },
                            ));
                        };
                        let id = sink.push(insn);
                        // `range` lies in the section and is 8-byte aligned (checked above).
                        let at = range.start + off;
                        if let Some(s) = code.insns.get_mut(at / 8) {
                            *s = Some(id);
                        }
                        if insn.jump_offset().is_some()
                            || matches!(
                                insn,
                                Insn::Call {
                                    kind: CallKind::Local,
                                    ..
                                }
                            )
                        {
                            code.branches.push((at as u64, id, func));
                        }
                        off += insn.n_bytes();
                    }
                    Ok::<(), ReadError>(())
                })?;
            }
            code.funcs.sort_by_key(|&(o, _)| o);
            self.code.push(code);
        }
        Ok(())
    }

    /// Functions that have a func_info record but no symbol (a static linker keeps the body
    /// of a weak function it overrode, without its symbol): each runs from its record to the
    /// next function or the end of the section, and is named after its BTF `FUNC` (empty
    /// when that has no name).
    fn unnamed_functions(
        &self,
        section: &Section<'a>,
        ranges: &[(&'a str, std::ops::Range<usize>)],
    ) -> Vec<(String, std::ops::Range<usize>)> {
        let (Some(ext), Some(btf)) = (&self.ext, &self.module.btf) else {
            return Vec::new();
        };
        // The symbol ranges by start, with the largest end among those starting at or
        // before each: "inside some range" is then a binary search, not a scan per record
        // (records and symbols both grow with the file).
        let mut by_start: Vec<(usize, usize)> =
            ranges.iter().map(|(_, r)| (r.start, r.end)).collect();
        by_start.sort_unstable();
        let mut max_end = 0;
        let reach: Vec<usize> = by_start
            .iter()
            .map(|&(_, end)| {
                max_end = max_end.max(end);
                max_end
            })
            .collect();
        let covered = |start: usize| {
            let n = by_start.partition_point(|&(s, _)| s <= start);
            n > 0 && (reach[n - 1] > start || by_start[n - 1].0 == start)
        };
        let mut starts: Vec<(usize, String)> = Vec::new();
        // Records come grouped by section: compare each group's name once.
        let mut last: Option<(StrOffset, bool)> = None;
        for (sec, rec) in ext.func_infos() {
            let start = rec.insn_off.0 as usize;
            let here = match last {
                Some((s, here)) if s == sec => here,
                _ => {
                    let here = btf.str(sec).ok() == Some(section.name);
                    last = Some((sec, here));
                    here
                }
            };
            if !here || covered(start) {
                continue;
            }
            // Named by BTF alone: the writer writes such a body without any symbol.
            let name = btf
                .type_id(rec.type_id)
                .ok()
                .and_then(|id| btf.name(id).ok())
                .unwrap_or_default();
            starts.push((start, name.to_string()));
        }
        starts.sort_unstable();
        starts.dedup_by_key(|(s, _)| *s);
        let mut boundaries: Vec<usize> = ranges
            .iter()
            .map(|(_, r)| r.start)
            .chain(starts.iter().map(|(s, _)| *s))
            .collect();
        boundaries.sort_unstable();
        starts
            .into_iter()
            .map(|(start, name)| {
                let next = boundaries.partition_point(|&b| b <= start);
                let end = boundaries.get(next).copied().unwrap_or(section.data.len());
                (name, start..end)
            })
            .collect()
    }

    /// Fills in what clang leaves for the loader in `DATASEC`s of sections that exist in
    /// the ELF file: the section's size, and each variable's offset from its symbol (clang
    /// writes 0 for globals). The kernel refuses a `DATASEC` of size 0 and overlapping
    /// variables. `.kconfig` and `.ksyms` have no ELF section; they are laid out at load time.
    fn fixup_btf(&mut self) -> Result<(), ReadError> {
        let Some(btf) = self.module.btf.as_mut() else {
            return Ok(());
        };
        // Reading adds no types: the `DATASEC`s are those found when the reader started.
        for &id in &self.datasecs {
            let name = btf.name(id)?.to_string();
            // A `DATASEC` lists variables (`.ksyms` also the kfuncs' `FUNC`s), as the kernel
            // and libbpf require, whether or not the object has its section.
            if let Some(v) = btf.datasec_vars(id).iter().find(|v| {
                let kind = btf.ty(v.ty).kind.kind();
                kind != Kind::Var && !(kind == Kind::Func && name == ".ksyms")
            }) {
                return Err(ReadError::BadSection {
                    section: name,
                    reason: format!(
                        "BTF DATASEC member {} is a {:?}, not a VAR",
                        btf.name(v.ty).unwrap_or("(anon)"),
                        btf.ty(v.ty).kind.kind()
                    ),
                });
            }
            let Some(section) = self.elf.section(&name) else {
                // Without its section, a `DATASEC` holds only externs (`.kconfig`, `.ksyms`,
                // an extern map of `.maps`): a variable defined here needs the section, as
                // libbpf requires (and the writer would write none, or one of another kind
                // by that name, such as `.strtab`).
                let defined = btf.datasec_vars(id).iter().find(|v| {
                    !matches!(
                        btf.ty(v.ty).kind,
                        TypeKind::Var {
                            linkage: Linkage::Extern,
                            ..
                        } | TypeKind::Func { .. }
                    )
                });
                if let Some(v) = defined.filter(|_| name != ".kconfig" && name != ".ksyms") {
                    return Err(ReadError::BadSection {
                        section: name,
                        reason: format!(
                            "BTF DATASEC variable {} is defined, but the object has no section \
                             of that name",
                            btf.name(v.ty).unwrap_or("(anon)")
                        ),
                    });
                }
                continue;
            };
            // A section flagged executable is code (as for libbpf, which matches the data
            // sections by name only among non-executable ones): a `DATASEC` cannot describe
            // it, and its variables would have no data section to live in.
            if section.is_executable() && !btf.datasec_vars(id).is_empty() {
                return Err(ReadError::BadSection {
                    section: name,
                    reason: "BTF DATASEC describes a section flagged executable (code)".into(),
                });
            }
            let (index, size) = (section.index, section.size);
            let size = u32::try_from(size).map_err(|_| ReadError::BadSection {
                section: name.clone(),
                reason: format!("size {size} does not fit a BTF DATASEC"),
            })?;
            btf.set_datasec_size(id, size)?;
            // First where each variable goes, with every check (names borrowed from the
            // BTF, no copies), then the offsets that change are written in one edit.
            let placed = {
                let btf: &Btf = btf;
                let vars = btf.datasec_vars(id);
                let var_names: Vec<&str> = vars
                    .iter()
                    .map(|v| btf.name(v.ty))
                    .collect::<Result<_, _>>()?;
                // The section's variable symbols: those `read_data` makes variables of, so
                // that each `VAR` placed by a symbol keeps it when written (libbpf too places
                // variables by `STT_OBJECT`s).
                let symbols = VarSymbols::new(self.elf.symbols(), index);
                let mut placed: Vec<Option<u32>> = Vec::with_capacity(var_names.len());
                for (v, var_name) in vars.iter().zip(var_names) {
                    // Extern variables (an extern map of `.maps`) live in another object.
                    let linkage = match btf.kind_of(v.ty) {
                        Ok(TypeKind::Var { linkage, .. }) => Some(linkage),
                        _ => None,
                    };
                    placed.push(None);
                    if linkage == Some(crate::btf::Linkage::Extern) {
                        continue;
                    }
                    let is_static = linkage == Some(crate::btf::Linkage::Static);
                    // A global and a static variable may share a name (after a link): each
                    // `VAR` takes the symbol of its own binding.
                    let sym = match linkage {
                        Some(crate::btf::Linkage::Static) => {
                            symbols.local(var_name).or(symbols.by_name(var_name))
                        }
                        // libbpf finds a global variable among global and weak symbols only.
                        Some(crate::btf::Linkage::Global) => match symbols.global(var_name) {
                            Some(s) => Some(s),
                            None if symbols.by_name(var_name).is_some() => {
                                return Err(ReadError::BadSection {
                                    section: name.clone(),
                                    reason: format!(
                                        "global BTF variable {var_name} has no global or weak \
                                         symbol"
                                    ),
                                })
                            }
                            None => None,
                        },
                        _ => symbols.by_name(var_name),
                    };
                    let mut offset = v.offset;
                    match sym {
                        Some(sym) => {
                            offset =
                                u32::try_from(sym.value).map_err(|_| ReadError::BadSection {
                                    section: name.clone(),
                                    reason: format!(
                                        "variable {var_name} at offset {} is past 4 GiB",
                                        sym.value
                                    ),
                                })?;
                            if offset != v.offset {
                                if let Some(p) = placed.last_mut() {
                                    *p = Some(offset);
                                }
                            }
                        }
                        // A variable without a symbol where another symbol sits is not
                        // clang's static variable: the BTF names something the section does
                        // not hold.
                        None if symbols.named_at(v.offset).is_some() => {
                            return Err(ReadError::BadSection {
                                section: name.clone(),
                                reason: format!(
                                    "BTF variable {var_name} has no symbol, and offset {} holds \
                                     the symbol {}",
                                    v.offset,
                                    symbols.named_at(v.offset).unwrap_or_default()
                                ),
                            });
                        }
                        // Static variables clang already placed keep their offsets. A global
                        // one needs its symbol: libbpf places global variables by their
                        // symbols and refuses one without.
                        None if is_static && (v.offset != 0 || vars_len_is_one(size, v.size)) => {}
                        None => {
                            return Err(ReadError::BadSection {
                                section: name.clone(),
                                reason: format!(
                                    "BTF variable {var_name} has no symbol in the section"
                                ),
                            })
                        }
                    }
                    // What the writer lays out comes from these numbers: a variable must lie
                    // in the real section (an 11 KB object once made the writer emit 4.3 GB).
                    if u64::from(offset) + u64::from(v.size) > u64::from(size) {
                        return Err(ReadError::BadSection {
                            section: name.clone(),
                            reason: format!(
                                "BTF variable {var_name} at [{offset:#x}, +{}) is outside the \
                                 section of {size} bytes",
                                v.size
                            ),
                        });
                    }
                }
                placed
            };
            if placed.iter().any(Option::is_some) {
                let mut vars = btf.datasec_vars_mut(id)?;
                for (v, offset) in vars.iter_mut().zip(placed) {
                    if let Some(offset) = offset {
                        v.offset = offset;
                    }
                }
            }
        }
        Ok(())
    }

    /// The code section that `.BTF.ext` records of section name `sec` refer to, by index
    /// into `self.code`, through a one-entry cache: records come grouped by section, so the
    /// name is looked up (and checked) once per group, not once per record.
    fn ext_code<'b>(
        &self,
        btf: &'b Btf,
        sec: StrOffset,
        cache: &mut Option<ExtCode<'b>>,
    ) -> Result<ExtCode<'b>, ReadError> {
        if let Some(hit) = cache.filter(|c| c.sec == sec) {
            return Ok(hit);
        }
        let name = btf.str(sec)?;
        let hit = ExtCode {
            sec,
            code: self.code.iter().position(|c| c.name == name),
            name,
        };
        *cache = Some(hit);
        Ok(hit)
    }

    fn attach_ext(&mut self) -> Result<(), ReadError> {
        // The BTF is set aside while the records are attached (the module's line arena
        // and tables are written as they are checked); it goes back in either way.
        let Some(btf) = self.module.btf.take() else {
            return Ok(());
        };
        let result = self.attach_ext_with(&btf);
        self.module.btf = Some(btf);
        result
    }

    fn attach_ext_with(&mut self, btf: &Btf) -> Result<(), ReadError> {
        let Some(ext) = self.ext.take() else {
            return Ok(());
        };
        let bad =
            |subsection, section: &str, offset: u32, reason: String| ReadError::BadExtRecord {
                subsection,
                section: section.to_string(),
                offset,
                reason,
            };
        let mut func_types = Vec::with_capacity(ext.func_info.n_records());
        let mut relos = Vec::with_capacity(ext.core_relo.n_records());
        let mut cache = None;
        for (sec, rec) in ext.func_infos() {
            let ExtCode { code, name, .. } = self.ext_code(btf, sec, &mut cache)?;
            let off = rec.insn_off.0;
            let code = code
                .map(|c| &self.code[c])
                .ok_or_else(|| bad("func_info", name, off, "no such code section".into()))?;
            let func = code
                .func_at(off.into())
                .ok_or_else(|| bad("func_info", name, off, "no function starts there".into()))?;
            let ty = btf.type_id(rec.type_id)?;
            if btf.ty(ty).kind.kind() != Kind::Func {
                return Err(bad(
                    "func_info",
                    name,
                    off,
                    format!("type [{}] is not a FUNC", rec.type_id.0),
                ));
            }
            func_types.push((func, ty));
        }
        // Line strings are offsets into BTF's string section, checked to be in range here
        // (so each names a NUL-terminated string); their UTF-8 is checked where a `&str` is
        // handed out (`Btf::str`), as for any `SourceLine` a pass adds.
        let n_str = btf.str_len();
        let in_range = |s: StrOffset| s.0 < n_str;
        self.module
            .reserve_lines_and_relos(ext.line_info.n_records(), ext.core_relo.n_records());
        for (sec, rec) in ext.line_infos() {
            let ExtCode { code, name, .. } = self.ext_code(btf, sec, &mut cache)?;
            let off = rec.insn_off.0;
            let code = code
                .map(|c| &self.code[c])
                .ok_or_else(|| bad("line_info", name, off, "no such code section".into()))?;
            let insn = code
                .insn_at(off.into())
                .ok_or_else(|| bad("line_info", name, off, "no instruction starts there".into()))?;
            for s in [rec.file_name, rec.line] {
                if !in_range(s) {
                    return Err(bad(
                        "line_info",
                        name,
                        off,
                        format!("string offset {} is past the {n_str}-byte strings", s.0),
                    ));
                }
            }
            // An instruction just created: attached without another check. (On an error
            // further on, the module is dropped.)
            self.module.add_line_of(
                insn,
                SourceLine {
                    file: rec.file_name,
                    text: rec.line,
                    line: rec.line_num,
                    col: rec.col,
                },
            );
        }
        for (sec, rec) in ext.core_relos() {
            let ExtCode { code, name, .. } = self.ext_code(btf, sec, &mut cache)?;
            let off = rec.insn_off.0;
            let code = code
                .map(|c| &self.code[c])
                .ok_or_else(|| bad("core_relo", name, off, "no such code section".into()))?;
            let insn = code
                .insn_at(off.into())
                .ok_or_else(|| bad("core_relo", name, off, "no instruction starts there".into()))?;
            let access = CoreAccess::parse(btf.str(rec.access)?)?;
            relos.push((
                insn,
                CoreRelo {
                    ty: btf.type_id(rec.type_id)?,
                    access_str: rec.access,
                    access,
                    kind: rec.kind,
                },
            ));
        }
        for (func, ty) in func_types {
            self.module.function_mut(func).btf_func = Some(ty);
        }
        for (insn, relo) in relos {
            let id = self.module.add_core_relo(relo);
            self.module.set_core(insn, Some(id))?;
        }
        self.ext = Some(ext);
        Ok(())
    }

    /// The function starting at `offset` of executable section `section`.
    fn func_in_section(&self, section: usize, offset: i64) -> Option<FuncId> {
        let code = self.code.iter().find(|c| c.index == section)?;
        code.func_at(u64::try_from(offset).ok()?)
    }

    fn resolve_relocations(&mut self, i: usize) -> Result<(), ReadError> {
        let (index, name) = (self.code[i].index, self.code[i].name);
        let relocs = self.elf.relocations(index)?;
        for r in relocs {
            let sym = &self.elf.symbols()[r.symbol];
            let bad = |reason: String| ReadError::BadRelocation {
                section: name.into(),
                offset: r.offset,
                r_type: r.r_type,
                symbol: sym.name.into(),
                reason,
            };
            let insn_id = self.code[i]
                .insn_at(r.offset)
                .ok_or_else(|| bad("the offset is not the start of an instruction".into()))?;
            let insn = *self.module.insn(insn_id);
            let reference = match (r.r_type, insn) {
                (R_BPF_64_32, Insn::Call { imm, .. }) => match sym.section {
                    None => Ref::Extern(self.extern_ref(sym, &bad)?),
                    Some(s) => {
                        let target = sym.value as i64 + (i64::from(imm) + 1) * 8;
                        let callee = self.func_in_section(s, target).ok_or_else(|| {
                            bad(format!(
                                "no function starts at byte {target:#x} of its section"
                            ))
                        })?;
                        Ref::Call(callee)
                    }
                },
                (R_BPF_64_64, Insn::LdImm64 { imm, .. }) => {
                    let addend = imm as i32 as i64;
                    match sym.section {
                        None => Ref::Extern(self.extern_ref(sym, &bad)?),
                        Some(s) if self.elf.sections()[s].is_executable() => {
                            let target = sym.value as i64 + addend;
                            let f = self.func_in_section(s, target).ok_or_else(|| {
                                bad(format!(
                                    "no function starts at byte {target:#x} of its section"
                                ))
                            })?;
                            Ref::FuncAddr(f)
                        }
                        Some(s) => {
                            let offset = match sym.kind {
                                SymbolKind::Section => addend,
                                _ => sym.value as i64 + addend,
                            };
                            if let Some(&data) = self.data_by_section.get(&s) {
                                let size = self.module.data(data).bytes.len() as i64;
                                if !(0..=size).contains(&offset) {
                                    return Err(bad(format!(
                                        "offset {offset} is outside the {size}-byte data section"
                                    )));
                                }
                                Ref::Data {
                                    data,
                                    offset: offset as u32,
                                }
                            } else if let Some(maps) = self.maps_by_place.get(&s) {
                                // The map that starts there (as libbpf matches a map by
                                // its symbol's value), else the one the offset falls in:
                                // definitions may overlap when BTF sizes say more than
                                // the symbols.
                                let hit = u64::try_from(offset).ok().and_then(|o| {
                                    maps.iter()
                                        .find(|(r, _)| r.start == o)
                                        .or_else(|| maps.iter().find(|(r, _)| r.contains(&o)))
                                });
                                match hit {
                                    Some((r, map)) if r.start as i64 == offset => Ref::Map(*map),
                                    Some((_, map)) => {
                                        return Err(bad(format!(
                                        "offset {offset} points inside map {}, not at its start",
                                        self.module.map(*map).name
                                    )))
                                    }
                                    None => {
                                        return Err(bad(format!(
                                            "no map at offset {offset} of section {}",
                                            self.elf.sections()[s].name
                                        )))
                                    }
                                }
                            } else {
                                return Err(bad(format!(
                                    "section {} at offset {offset} is no map, data or code",
                                    self.elf.sections()[s].name
                                )));
                            }
                        }
                    }
                }
                (R_BPF_64_32 | R_BPF_64_64, _) => {
                    return Err(bad(format!(
                        "the instruction is {insn}, not {}",
                        if r.r_type == R_BPF_64_32 {
                            "a call"
                        } else {
                            "an ld_imm64"
                        }
                    )))
                }
                _ => return Err(bad("unsupported relocation type in code".into())),
            };
            self.module.set_reference(insn_id, Some(reference))?;
        }
        Ok(())
    }

    fn extern_ref(
        &self,
        sym: &Symbol<'a>,
        bad: &dyn Fn(String) -> ReadError,
    ) -> Result<ExternId, ReadError> {
        self.externs_by_name
            .get(sym.name)
            .copied()
            .ok_or_else(|| bad("undefined symbol without a name".into()))
    }

    /// Jumps and unrelocated local calls become references to instruction and function ids.
    fn resolve_local_targets(&mut self, i: usize) -> Result<(), ReadError> {
        let code = &self.code[i];
        let mut refs = Vec::new();
        let mut opaque = Vec::new();
        for &(offset, id, func) in &code.branches {
            let insn = *self.module.insn(id);
            let func = Some(func);
            let bad = |reason: String| ReadError::BadTarget {
                section: code.name.into(),
                function: func
                    .map(|f| self.module.function(f).name.clone())
                    .unwrap_or_default(),
                offset,
                reason,
            };
            if let Some(delta) = insn.jump_offset() {
                let target = offset as i64 + 8 + i64::from(delta) * 8;
                let t = u64::try_from(target).ok().and_then(|t| code.insn_at(t));
                match t {
                    Some(t) if self.module.func_of(t) == func => refs.push((id, Ref::Jump(t))),
                    // A jump out of its function (or into the middle of an instruction) has
                    // no target the IR can name: it stays as its raw bytes, for the
                    // verifier to refuse.
                    _ => opaque.push(id),
                }
            } else if let Insn::Call {
                kind: CallKind::Local,
                imm,
                ..
            } = insn
            {
                if self.module.reference(id).is_some() {
                    continue;
                }
                let target = offset as i64 + 8 + i64::from(imm) * 8;
                let callee = u64::try_from(target)
                    .ok()
                    .and_then(|t| code.func_at(t))
                    .ok_or_else(|| {
                        bad(format!(
                            "call to byte {target:#x}, where no function starts"
                        ))
                    })?;
                refs.push((id, Ref::Call(callee)));
            }
        }
        for (id, r) in refs {
            self.module.set_reference(id, Some(r))?;
        }
        for id in opaque {
            let insn = self.module.insn_mut(id);
            let (raw, _) = insn.raw_slots();
            *insn = Insn::Opaque {
                code: raw.code,
                dst: raw.dst,
                src: raw.src,
                off: raw.off,
                imm: raw.imm,
            };
        }
        Ok(())
    }
}
