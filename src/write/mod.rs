//! Writing a [`Module`] back out as a relocatable BPF ELF object, the kind clang writes and
//! libbpf, cilium/ebpf and aya load.
//!
//! [`write_object`] is the inverse of [`Module::read`]: reading its output gives back the same
//! functions, instructions (up to the raw offsets and immediates that references stand for),
//! maps, data, externs, BTF, source lines and CO-RE relocations. This is where ids become
//! file numbers again:
//!
//! * **Code.** One executable section per distinct [`Function::section`](crate::ir::Function),
//!   in the order the sections first appear among the module's functions; each section's
//!   functions in module order, back to back (an instruction is 8 bytes, so every function
//!   starts 8-byte aligned and there is no padding). A `STT_FUNC` symbol per function, its
//!   binding from its linkage, its size its byte length — except for a non-program function
//!   of a program section (a weak body a static linker overrode and kept without a symbol),
//!   which is written without one, as it was read, and found again by its func_info.
//! * **References.** Jumps are patched in place (relative, within the function). Calls follow
//!   clang's and libbpf's conventions: a call to a function in `.text` always gets an
//!   `R_BPF_64_32` relocation — against the callee's symbol with `imm = -1` when the callee is
//!   global or weak, against the `.text` section symbol with `imm = slot - 1` when it is
//!   static (libbpf only accepts call relocations into `.text`); a call to a function of the
//!   caller's own program section is patched directly with no relocation (what libbpf expects
//!   of such calls); a call into another program section gets a relocation as into `.text`
//!   (bpfir reads it back; libbpf refuses it, as it would clang's). Callback addresses
//!   (`ld_imm64`) get `R_BPF_64_64` the same way (section symbol and the byte offset in the
//!   immediate for static functions). Maps get `R_BPF_64_64` against the map's symbol; data
//!   against the data section's symbol with the byte offset in the immediate (clang's form for
//!   static data, which libbpf also takes for globals); externs `R_BPF_64_64` (`ld_imm64`) or
//!   `R_BPF_64_32` (`call`, written `call -1` with `BPF_PSEUDO_CALL` as clang does) against an
//!   undefined `STT_NOTYPE` symbol, weak for weak externs. Relocated `ld_imm64`s carry
//!   `src_reg` 0, as clang leaves them; the loader sets the pseudo kind.
//! * **Maps and data.** Legacy maps as `struct bpf_map_def` records in `maps` (iproute2's
//!   36-byte `bpf_elf_map` when the map keeps an iproute2 pinning); BTF-defined maps as zero
//!   bytes in `.maps` at the offsets their `.BTF` `DATASEC` says, with `R_BPF_64_ABS64`
//!   relocations in `.rel.maps` for `.values` initialisers; `.data*`, `.rodata*` (bytes) and
//!   `.bss*` (`SHT_NOBITS`) sections with a `STT_OBJECT` symbol per variable; `license` and
//!   `version`.
//! * **BTF.** `.BTF` is the module's BTF (with the code section names added to its strings
//!   when missing, and data `DATASEC` sizes set to the sections' sizes); `.BTF.ext` is built
//!   from the side tables with byte offsets of the new layout: one func_info per function
//!   that has a `FUNC` type, a line_info per instruction with a source line, a core_relo per
//!   instruction with a CO-RE relocation.
//! * **Origins.** Origin tags ([`Origin`](crate::ir::Origin)) are dropped: an object file has
//!   no place for them, so a module read back has none.
//!
//! Costs: one pass over every function's instructions to lay them out and one to encode
//! them, plus a clone of the module's BTF (to add strings without changing the module).
//! What cannot be expressed (a jump to a removed instruction, a call to an empty function, a
//! legacy map with BTF-only attributes) is a [`WriteError`] naming the function and
//! instruction, the map or the section.

mod error;
mod ext;
mod maps;
pub(crate) use maps::legacy_record_len;
mod struct_ops;

use object::write::{Object, Relocation, SectionId, Symbol, SymbolId, SymbolSection};
use object::{
    elf, Architecture, BinaryFormat, Endianness, RelocationFlags, SectionKind, SymbolFlags,
    SymbolKind, SymbolScope,
};

pub use error::WriteError;

use crate::analysis::layout::SlotLayout;
use crate::btf::Btf;
use crate::elf::{R_BPF_64_32, R_BPF_64_64};
use crate::insn::{CallKind, Insn, PseudoKind};
use crate::ir::{
    DataId, DataKind, DataSection, EntityMap, ExternId, ExternKind, FuncId, InsnId, MapId, Module,
    Ref, SymbolLinkage,
};
use crate::Endian;

/// The section that holds sub-programs.
const TEXT: &str = ".text";
/// Size of one instruction slot in bytes.
const SLOT: u64 = 8;

/// Writes `module` as a relocatable ELF64 object for `EM_BPF` in the module's byte order.
///
/// ```
/// use bpfir::ir::Module;
/// let bytes = std::fs::read("testdata/calls.bpfel.o").unwrap();
/// let module = Module::read(&bytes).unwrap();
/// let written = bpfir::write::write_object(&module).unwrap();
/// let again = Module::read(&written).unwrap();
/// assert_eq!(again.functions().len(), module.functions().len());
/// assert_eq!(again.btf, module.btf);
/// ```
pub fn write_object(module: &Module) -> Result<Vec<u8>, WriteError> {
    // The IR's invariants (layout, references) first; what remains below is what only an
    // ELF object cannot express.
    crate::verify::verify_structure(module)?;
    check_data_sections(module)?;
    let mut w = Writer::new(module);
    w.layout_code()?;
    w.add_code_sections();
    let order = section_order(module);
    for item in order {
        match item {
            Item::Data(d) => w.add_data(d)?,
            Item::LegacyMaps => maps::add_legacy_maps(&mut w)?,
            Item::BtfMaps => maps::add_btf_maps(&mut w)?,
            Item::StructOps => struct_ops::add_struct_ops(&mut w)?,
        }
    }
    w.add_license_and_version()?;
    w.add_externs();
    w.encode_code()?;
    maps::add_map_relocations(&mut w)?;
    w.add_btf()?;
    w.obj.write().map_err(|e| WriteError::Elf {
        reason: e.to_string(),
    })
}

/// Refuses what the reader would refuse to read back, or read as something else: two data
/// sections of one name (BTF describes each by its name), a data section named as a code
/// section (after a link of an object whose `.data` is code), bss sections holding more
/// than [`DataSection::MAX_SIZE`] bytes together.
fn check_data_sections(module: &Module) -> Result<(), WriteError> {
    let mut total = 0u64;
    let code: std::collections::HashSet<&str> = module
        .functions()
        .map(|(_, f)| f.section.as_str())
        .collect();
    let mut names = std::collections::HashSet::new();
    for (_, d) in module.data_sections() {
        if !names.insert(d.name.as_str()) {
            return Err(WriteError::BadData {
                section: d.name.clone(),
                reason: "a second data section of this name".into(),
            });
        }
        if code.contains(d.name.as_str()) {
            return Err(WriteError::BadData {
                section: d.name.clone(),
                reason: "functions are in a code section of this name".into(),
            });
        }
        if d.kind != DataKind::Bss {
            continue;
        }
        total = total.saturating_add(d.bytes.len() as u64);
        if total > DataSection::MAX_SIZE {
            return Err(WriteError::BadData {
                section: d.name.clone(),
                reason: format!(
                    "it takes the module's bss sections past {} bytes",
                    DataSection::MAX_SIZE
                ),
            });
        }
    }
    Ok(())
}

/// Non-code sections in the order they are written.
enum Item {
    Data(DataId),
    LegacyMaps,
    BtfMaps,
    /// The `.struct_ops` sections (written after the code, whose symbols they name).
    StructOps,
}

/// Data sections in module order, each map section where its first map appears among the
/// module's maps: after data sections (clang's order), so that a read object's maps and
/// data come back in the same order.
fn section_order(module: &Module) -> Vec<Item> {
    let mut out: Vec<Item> = module
        .data_sections()
        .map(|(id, _)| Item::Data(id))
        .collect();
    let (mut legacy, mut btf, mut struct_ops) = (false, false, false);
    for (_, m) in module.maps() {
        match m.origin {
            crate::ir::MapOrigin::Legacy if !legacy => {
                legacy = true;
                out.push(Item::LegacyMaps);
            }
            crate::ir::MapOrigin::Btf if !btf => {
                btf = true;
                out.push(Item::BtfMaps);
            }
            crate::ir::MapOrigin::StructOps if !struct_ops => {
                struct_ops = true;
                out.push(Item::StructOps);
            }
            _ => {}
        }
    }
    out
}

/// One executable section being written.
struct CodeSection {
    name: String,
    id: Option<SectionId>,
    funcs: Vec<FuncId>,
    /// Slot of every instruction in the section.
    layout: SlotLayout,
}

/// Where a function was laid out.
#[derive(Clone, Copy)]
struct FuncPlace {
    /// Index into [`Writer::code`].
    code: usize,
    /// First slot in its section.
    start: u64,
    /// Its symbol (set when the section is added).
    symbol: Option<SymbolId>,
}

struct Writer<'m> {
    module: &'m Module,
    endian: Endian,
    obj: Object<'static>,
    code: Vec<CodeSection>,
    places: EntityMap<FuncId, FuncPlace>,
    data: EntityMap<DataId, SectionId>,
    map_symbols: EntityMap<MapId, SymbolId>,
    maps_section: Option<SectionId>,
    extern_symbols: EntityMap<ExternId, SymbolId>,
}

/// A function of a program section that is not a program: the body of a weak function a
/// static linker overrode, which it keeps without a symbol. It is written the same way (its
/// func_info record marks where it starts), so it reads back as what it is rather than as a
/// program. Without a `FUNC` type nothing would mark it, and it gets a symbol.
fn is_symbolless(func: &crate::ir::Function) -> bool {
    !func.is_program && func.section != TEXT && func.btf_func.is_some()
}

/// The ELF binding of a linkage.
fn binding(linkage: SymbolLinkage) -> u8 {
    match linkage {
        SymbolLinkage::Static => elf::STB_LOCAL,
        SymbolLinkage::Global => elf::STB_GLOBAL,
        SymbolLinkage::Weak => elf::STB_WEAK,
    }
}

impl<'m> Writer<'m> {
    fn new(module: &'m Module) -> Writer<'m> {
        let endian = module.endian();
        let e = match endian {
            Endian::Little => Endianness::Little,
            Endian::Big => Endianness::Big,
        };
        Writer {
            module,
            endian,
            obj: Object::new(BinaryFormat::Elf, Architecture::Bpf, e),
            code: Vec::new(),
            places: EntityMap::default(),
            data: EntityMap::default(),
            map_symbols: EntityMap::default(),
            maps_section: None,
            extern_symbols: EntityMap::default(),
        }
    }

    /// Adds a defined symbol with an explicit ELF type and binding (so that the `object`
    /// crate's defaults never choose them).
    fn add_symbol(
        &mut self,
        name: &str,
        section: SectionId,
        value: u64,
        size: u64,
        st_type: u8,
        linkage: SymbolLinkage,
    ) -> SymbolId {
        let st_bind = binding(linkage);
        self.obj.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value,
            size,
            kind: if st_type == elf::STT_FUNC {
                SymbolKind::Text
            } else {
                SymbolKind::Data
            },
            scope: if linkage == SymbolLinkage::Static {
                SymbolScope::Compilation
            } else {
                SymbolScope::Dynamic
            },
            weak: linkage == SymbolLinkage::Weak,
            section: SymbolSection::Section(section),
            flags: SymbolFlags::Elf {
                st_info: (st_bind << 4) | st_type,
                st_other: elf::STV_DEFAULT,
            },
        })
    }

    /// The position of `id` in `func`, for error messages.
    fn insn_error(&self, func: FuncId, id: InsnId, reason: String) -> WriteError {
        let (function, index, insn) = self.module.insn_context(func, id);
        WriteError::BadInsn {
            function,
            index,
            insn,
            reason,
        }
    }

    /// Groups functions into sections and assigns every instruction its slot.
    fn layout_code(&mut self) -> Result<(), WriteError> {
        let module = self.module;
        for (f, func) in module.functions() {
            let code = match self.code.iter().position(|c| c.name == func.section) {
                Some(i) => i,
                None => {
                    self.code.push(CodeSection {
                        name: func.section.clone(),
                        id: None,
                        funcs: Vec::new(),
                        layout: SlotLayout::new(),
                    });
                    self.code.len() - 1
                }
            };
            if func.first_insn().is_none() {
                return Err(WriteError::BadFunction {
                    function: func.name.clone(),
                    section: func.section.clone(),
                    reason: "the function has no instructions (its symbol would cover the \
                             next function)"
                        .into(),
                });
            }
            let section = &mut self.code[code];
            let start = section.layout.n_slots();
            section.layout.push(module, f);
            // Byte offsets must fit the u32 of .BTF.ext records and relocation math.
            if section.layout.n_slots() * SLOT > u64::from(u32::MAX) {
                return Err(WriteError::BadFunction {
                    function: func.name.clone(),
                    section: func.section.clone(),
                    reason: "the section grows past 4 GiB".into(),
                });
            }
            section.funcs.push(f);
            self.places.insert(
                f,
                FuncPlace {
                    code,
                    start,
                    symbol: None,
                },
            );
        }
        Ok(())
    }

    /// Adds the executable sections (data comes later) and a symbol per function.
    fn add_code_sections(&mut self) {
        for i in 0..self.code.len() {
            let name = self.code[i].name.clone();
            let id = self
                .obj
                .add_section(Vec::new(), name.into_bytes(), SectionKind::Text);
            self.code[i].id = Some(id);
            for j in 0..self.code[i].funcs.len() {
                let f = self.code[i].funcs[j];
                let func = self.module.function(f);
                if is_symbolless(func) {
                    continue;
                }
                let start = self.places[f].start;
                let size: u64 = self
                    .module
                    .func_insns(f)
                    .map(|id| self.module.insn(id).n_slots() as u64)
                    .sum();
                let sym = self.add_symbol(
                    &func.name,
                    id,
                    start * SLOT,
                    size * SLOT,
                    elf::STT_FUNC,
                    func.linkage,
                );
                if func.hidden && func.linkage != SymbolLinkage::Static {
                    if let SymbolFlags::Elf { st_other, .. } = &mut self.obj.symbol_mut(sym).flags {
                        *st_other = elf::STV_HIDDEN;
                    }
                }
                self.places[f].symbol = Some(sym);
            }
        }
    }

    fn add_data(&mut self, d: DataId) -> Result<(), WriteError> {
        let data = self.module.data(d);
        let bad = |reason: String| WriteError::BadData {
            section: data.name.clone(),
            reason,
        };
        let align = data.align.max(1);
        if !align.is_power_of_two() || align > DataSection::MAX_ALIGN {
            return Err(bad(format!(
                "alignment {align} is not a power of two up to {}",
                DataSection::MAX_ALIGN
            )));
        }
        let kind = match data.kind {
            DataKind::Data | DataKind::Arena => SectionKind::Data,
            DataKind::Rodata => SectionKind::ReadOnlyData,
            DataKind::Bss => SectionKind::UninitializedData,
        };
        let id = self
            .obj
            .add_section(Vec::new(), data.name.clone().into_bytes(), kind);
        if data.kind == DataKind::Bss {
            if let Some(i) = data.bytes.iter().position(|&b| b != 0) {
                return Err(bad(format!(
                    "a bss section holds only zeros, but byte {i} is not zero"
                )));
            }
            self.obj
                .append_section_bss(id, data.bytes.len() as u64, align);
        } else {
            self.obj.set_section_data(id, data.bytes.clone(), align);
        }
        let len = data.bytes.len() as u64;
        for v in &data.vars {
            if u64::from(v.offset) + u64::from(v.size) > len {
                return Err(bad(format!(
                    "variable {} at [{}, +{}) is outside the {len}-byte section",
                    v.name, v.offset, v.size
                )));
            }
            self.add_symbol(
                &v.name,
                id,
                v.offset.into(),
                v.size.into(),
                elf::STT_OBJECT,
                v.linkage,
            );
        }
        self.data.insert(d, id);
        Ok(())
    }

    fn add_license_and_version(&mut self) -> Result<(), WriteError> {
        if let Some(license) = &self.module.license {
            let extent = self.datasec_extent("license");
            let declared = self.datasec_size("license");
            let len =
                license_len(license, extent, declared).ok_or_else(|| WriteError::BadData {
                    section: "license".into(),
                    reason: format!(
                        "the BTF DATASEC license places variables up to byte {extent}, past the \
                     {MAX_LICENSE_LEN} bytes a license section may hold"
                    ),
                })?;
            let id = self
                .obj
                .add_section(Vec::new(), b"license".to_vec(), SectionKind::Data);
            let mut bytes = license.as_bytes().to_vec();
            bytes.resize(len, 0);
            self.obj.set_section_data(id, bytes, 1);
            self.add_datasec_symbols(id, "license");
        }
        if let Some(version) = self.module.kern_version {
            let id = self
                .obj
                .add_section(Vec::new(), b"version".to_vec(), SectionKind::Data);
            self.obj
                .set_section_data(id, self.endian.u32_bytes(version).to_vec(), 4);
            self.add_datasec_symbols(id, "version");
        }
        Ok(())
    }

    /// The size the BTF `DATASEC` named `name` says (`None` without one).
    fn datasec_size(&self, name: &str) -> Option<u32> {
        let btf = self.module.btf.as_ref()?;
        let datasec = btf.type_by_name_kind(name, crate::btf::Kind::Datasec)?;
        match btf.kind_of(datasec).ok()? {
            crate::btf::TypeKind::Datasec { size, .. } => Some(size),
            _ => None,
        }
    }

    /// The end of the last variable of the BTF `DATASEC` named `name` (0 without one).
    fn datasec_extent(&self, name: &str) -> usize {
        let Some(btf) = self.module.btf.as_ref() else {
            return 0;
        };
        let Some(datasec) = btf.type_by_name_kind(name, crate::btf::Kind::Datasec) else {
            return 0;
        };
        datasec_vars_extent(btf, datasec)
    }

    /// A `STT_OBJECT` symbol for every variable of the BTF `DATASEC` named `name` (the
    /// `LICENSE` variable of `license`): libbpf refuses a `DATASEC` whose global variables
    /// have no symbol.
    fn add_datasec_symbols(&mut self, section: SectionId, name: &str) {
        let Some(btf) = self.module.btf.as_ref() else {
            return;
        };
        let Some(datasec) = btf.type_by_name_kind(name, crate::btf::Kind::Datasec) else {
            return;
        };
        for v in btf.datasec_vars(datasec) {
            let (Ok(var_name), Ok(crate::btf::TypeKind::Var { linkage, .. })) =
                (btf.name(v.ty), btf.kind_of(v.ty))
            else {
                continue;
            };
            let linkage = match linkage {
                crate::btf::Linkage::Static => SymbolLinkage::Static,
                _ => SymbolLinkage::Global,
            };
            self.add_symbol(
                var_name,
                section,
                v.offset.into(),
                v.size.into(),
                elf::STT_OBJECT,
                linkage,
            );
        }
    }

    /// One undefined symbol per extern, in module order (which the reader keeps).
    fn add_externs(&mut self) {
        for (e, ext) in self.module.externs() {
            // libbpf recognizes externs as STT_NOTYPE; without BTF a function extern keeps
            // STT_FUNC so that it reads back as a function.
            let st_type = if ext.kind == ExternKind::Func && ext.btf.is_none() {
                elf::STT_FUNC
            } else {
                elf::STT_NOTYPE
            };
            let st_bind = if ext.weak {
                elf::STB_WEAK
            } else {
                elf::STB_GLOBAL
            };
            let sym = self.obj.add_symbol(Symbol {
                name: ext.name.as_bytes().to_vec(),
                value: 0,
                size: 0,
                kind: if ext.kind == ExternKind::Func {
                    SymbolKind::Text
                } else {
                    SymbolKind::Data
                },
                scope: SymbolScope::Dynamic,
                weak: ext.weak,
                section: SymbolSection::Undefined,
                flags: SymbolFlags::Elf {
                    st_info: (st_bind << 4) | st_type,
                    st_other: elf::STV_DEFAULT,
                },
            });
            self.extern_symbols.insert(e, sym);
        }
    }

    /// The symbol and immediate that point at function `callee` from a relocation:
    /// `(symbol, slot of the callee relative to the symbol)`. Static functions are reached
    /// through their section's symbol, as clang does and libbpf requires.
    fn func_target(&mut self, callee: FuncId) -> (SymbolId, u64) {
        let place = self.places[callee];
        let func = self.module.function(callee);
        match (func.linkage, place.symbol) {
            (SymbolLinkage::Static, _) | (_, None) => {
                let section = self.code[place.code]
                    .id
                    .expect("code sections are added first");
                (self.obj.section_symbol(section), place.start)
            }
            (_, Some(sym)) => (sym, 0),
        }
    }

    /// The instruction `id` of `func` at `slot` of section `code`, with its reference
    /// written out: the patched instruction and the relocation it needs.
    fn patch(
        &mut self,
        code: usize,
        func: FuncId,
        id: InsnId,
        slot: u64,
    ) -> Result<(Insn, Option<(u32, SymbolId)>), WriteError> {
        let module = self.module;
        let mut insn = *module.insn(id);
        let reference = module.reference(id);
        let callee_place = |callee: FuncId| self.places.get(callee).copied();
        let mut reloc = None;
        // `write_object` verified the module first: references exist, fit their
        // instructions, jump targets are in the same function and data offsets in their
        // sections.
        match (reference, &mut insn) {
            (None, _) => {}
            (Some(Ref::Jump(target)), i) if i.is_jump() => {
                let target_slot = self.code[code].layout.slot(target).ok_or_else(|| {
                    self.insn_error(func, id, "jump target is not in the section".into())
                })?;
                let delta = target_slot as i64 - (slot as i64 + 1);
                if !i32::try_from(delta).is_ok_and(|d| i.set_jump_offset(d)) {
                    return Err(self.insn_error(
                        func,
                        id,
                        format!("jump offset {delta} does not fit the instruction"),
                    ));
                }
            }
            (Some(Ref::Call(callee)), Insn::Call { kind, imm, off }) => {
                let Some(place) = callee_place(callee) else {
                    return Err(self.insn_error(func, id, "callee is not laid out".into()));
                };
                *kind = CallKind::Local;
                *off = 0;
                let callee_section = &module.function(callee).section;
                if place.code == code && callee_section != TEXT {
                    let delta = place.start as i64 - (slot as i64 + 1);
                    *imm = i32::try_from(delta)
                        .map_err(|_| self.insn_error(func, id, "call offset overflows".into()))?;
                } else {
                    let (sym, target) = self.func_target(callee);
                    *imm = i32::try_from(target as i64 - 1)
                        .map_err(|_| self.insn_error(func, id, "call offset overflows".into()))?;
                    reloc = Some((R_BPF_64_32, sym));
                }
            }
            (Some(Ref::FuncAddr(callee)), Insn::LdImm64 { kind, imm, .. }) => {
                if callee_place(callee).is_none() {
                    return Err(self.insn_error(func, id, "callee is not laid out".into()));
                }
                let (sym, target) = self.func_target(callee);
                *kind = PseudoKind::None;
                *imm = (target * SLOT) as i64;
                reloc = Some((R_BPF_64_64, sym));
            }
            (Some(Ref::Map(map)), Insn::LdImm64 { kind, imm, .. }) => {
                let sym = self.map_symbols.get(map).copied().ok_or_else(|| {
                    self.insn_error(
                        func,
                        id,
                        format!("map {} has no symbol", module.map(map).name),
                    )
                })?;
                *kind = PseudoKind::None;
                *imm = 0;
                reloc = Some((R_BPF_64_64, sym));
            }
            (Some(Ref::Data { data, offset }), Insn::LdImm64 { kind, imm, .. }) => {
                let d = module.data(data);
                let section = *self.data.get(data).ok_or_else(|| {
                    self.insn_error(func, id, format!("data section {} is not written", d.name))
                })?;
                *kind = PseudoKind::None;
                *imm = i64::from(offset);
                reloc = Some((R_BPF_64_64, self.obj.section_symbol(section)));
            }
            (Some(Ref::Extern(ext)), i) => {
                let sym = self.extern_symbols[ext];
                match i {
                    Insn::Call { kind, imm, off } => {
                        *kind = CallKind::Local;
                        *imm = -1;
                        *off = 0;
                        reloc = Some((R_BPF_64_32, sym));
                    }
                    Insn::LdImm64 { kind, imm, .. } => {
                        *kind = PseudoKind::None;
                        *imm = 0;
                        reloc = Some((R_BPF_64_64, sym));
                    }
                    _ => {
                        return Err(self.insn_error(
                            func,
                            id,
                            format!(
                                "extern {} on an instruction that is neither a call nor an \
                                 ld_imm64",
                                module.extern_(ext).name
                            ),
                        ))
                    }
                }
            }
            (Some(r), _) => {
                return Err(self.insn_error(
                    func,
                    id,
                    format!("reference {r:?} does not fit this instruction"),
                ))
            }
        }
        Ok((insn, reloc))
    }

    /// Encodes every code section with its references patched and its relocations added.
    fn encode_code(&mut self) -> Result<(), WriteError> {
        for code in 0..self.code.len() {
            let section = self.code[code].id.expect("code sections are added first");
            let n_bytes = (self.code[code].layout.n_slots() * SLOT) as usize;
            let mut bytes = Vec::with_capacity(n_bytes);
            let mut relocs = Vec::new();
            let funcs = self.code[code].funcs.clone();
            for f in funcs {
                for id in self.module.func_insns(f) {
                    let slot = self.code[code]
                        .layout
                        .slot(id)
                        .expect("every instruction of a section's function is laid out");
                    let (insn, reloc) = self.patch(code, f, id, slot)?;
                    insn.encode(self.endian, &mut bytes);
                    if let Some((r_type, symbol)) = reloc {
                        relocs.push(Relocation {
                            offset: slot * SLOT,
                            symbol,
                            addend: 0,
                            flags: RelocationFlags::Elf { r_type },
                        });
                    }
                }
            }
            self.obj.set_section_data(section, bytes, SLOT);
            for r in relocs {
                self.obj
                    .add_relocation(section, r)
                    .map_err(|e| WriteError::Elf {
                        reason: e.to_string(),
                    })?;
            }
        }
        Ok(())
    }

    /// `.BTF` and `.BTF.ext`.
    fn add_btf(&mut self) -> Result<(), WriteError> {
        let Some(btf) = &self.module.btf else {
            return Ok(());
        };
        let mut btf: Btf = btf.clone();
        // Loaders size data maps from DATASECs; keep them equal to the sections written.
        for (_, d) in self.module.data_sections() {
            if let Some(ds) = d.btf_datasec {
                let size = u32::try_from(d.bytes.len()).map_err(|_| WriteError::BadData {
                    section: d.name.clone(),
                    reason: "larger than a BTF DATASEC can describe".into(),
                })?;
                if matches!(btf.kind_of(ds), Ok(crate::btf::TypeKind::Datasec { size: s, .. }) if s != size)
                {
                    btf.set_datasec_size(ds, size)?;
                }
            }
        }
        let ext = ext::build(self, &mut btf)?;
        let id = self
            .obj
            .add_section(Vec::new(), b".BTF".to_vec(), SectionKind::Other);
        self.obj.set_section_data(id, btf.to_bytes(), 4);
        if let Some(ext) = ext {
            let id = self
                .obj
                .add_section(Vec::new(), b".BTF.ext".to_vec(), SectionKind::Other);
            self.obj.set_section_data(id, ext.to_bytes(), 4);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

/// The end of the last variable of `datasec` (0 without variables).
pub(crate) fn datasec_vars_extent(btf: &crate::btf::Btf, datasec: crate::btf::TypeId) -> usize {
    btf.datasec_vars(datasec)
        .iter()
        .map(|v| v.offset as usize + v.size as usize)
        .max()
        .unwrap_or(0)
}

/// The longest `license` section the writer pads to what the BTF says.
const MAX_LICENSE_LEN: usize = 1 << 12;

/// The length of the `license` section the writer writes for `license` when the variables
/// of the BTF `DATASEC` `license` end at `extent` and the `DATASEC` says `declared` bytes:
/// the string and its NUL, padded to hold every variable (a `char[N]` longer than the
/// string; the reader refuses a variable outside its section) and to the size the `DATASEC`
/// says (bytes after the NUL, which the reader sizes it by). A section that had no room
/// for the NUL (the `DATASEC` says exactly the string's length, which libbpf accepts) is
/// written again without it, so that it reads back the same size. A license is a short
/// string: `None` for an extent or size past 4 KiB, a module built inconsistently, which the writer
/// refuses (its object would not read back). The linker sizes the `DATASEC` it builds by
/// this, as the reader sizes it by the section.
pub(crate) fn license_len(license: &str, extent: usize, declared: Option<u32>) -> Option<usize> {
    let declared = declared.map_or(0, |d| d as usize);
    if extent > MAX_LICENSE_LEN || declared > MAX_LICENSE_LEN {
        return None;
    }
    let unterminated = declared == license.len() && extent <= license.len();
    let text = if unterminated {
        license.len()
    } else {
        license.len() + 1
    };
    Some(text.max(extent).max(declared))
}
