//! The IR: one ELF object (or link unit) as a [`Module`] of typed arenas.
//!
//! Instructions live in an arena addressed by [`InsnId`]; their order is a doubly linked
//! layout (like cranelift's `Layout`) kept beside the arena, so inserting, removing or
//! moving instructions never renumbers or re-walks the rest of a function. Metadata lives in
//! side tables keyed by `InsnId`: the symbolic reference ([`Ref`]: jump target, callee, map,
//! data, extern), the source line and the CO-RE relocation. Moving an instruction moves its
//! id, and its metadata goes with it at no cost. Raw jump offsets, call immediates and map
//! fds in the stored [`Insn`]s are meaningless until lowering writes them.
//!
//! The source line and an origin tag (the pass that inserted an instruction, see [`Origin`])
//! are side tables too.
//!
//! **Ids are checked.** Ids ([`Id`]: [`InsnId`], [`FuncId`], ...) are the indices of the
//! module's `la_arena` arenas; in debug builds they also carry the tag of the module that
//! made them (see [`Id`] for the costs: 8 bytes in debug, 4 in release). Every operation
//! that takes an id checks that the module has it: an id past the end is an
//! [`IrError::NoSuchEntity`], and, in debug builds, an id made by another module is an
//! [`IrError::ForeignEntity`] even when its index is in range (both print the id as the dump
//! does: `i12`, `f3`), never a panic. Release builds check the range only: an id of another
//! module that is in range names whatever this module has at that index. The plain
//! accessors ([`Module::insn`], [`Module::function`], ...) index directly and panic on an
//! id the module does not have (in debug builds on a foreign one too), as documented on
//! each; their `try_*` twins return the error. [`Module::verify`] reports every dangling
//! or foreign id a module holds. A clone of a module keeps its tag: the original's ids are
//! valid in the clone. Side tables are [`EntityMap`]s (dense, by index).
//!
//! Every instruction is created by one function ([`Module::create_insn`]), which fills all
//! side tables at once, so no edit can forget one.
//!
//! ```
//! use bpfir::insn::{AluClass, AluOp, Insn, Operand, Reg};
//! use bpfir::ir::{Function, Meta, Module};
//!
//! let mut m = Module::new(bpfir::Endian::Little);
//! let f = m.add_function(Function::new("prog", "socket", true));
//! let exit = m.append(f, Insn::Exit, Meta::default()).unwrap();
//! let mov = Insn::Alu { class: AluClass::Alu64, op: AluOp::Mov, dst: Reg::R0, src: Operand::Imm(0) };
//! let first = m.insert_before(exit, mov, Meta::default()).unwrap();
//! assert_eq!(m.func_insns(f).collect::<Vec<_>>(), vec![first, exit]);
//! ```

pub mod build;
pub mod cursor;
pub use cursor::{CursorPosition, FuncCursor};
pub mod define;
pub use define::{MapSlot, NewFunction, NewMap};
pub mod text;
/// The printable text of a module (what `bpfir dump` prints); see [`text`].
pub type Dump<'a> = text::ModuleText<'a>;
mod edit;
pub use edit::MetaChoice;
mod entities;
mod error;
mod function_mut;
pub use function_mut::FunctionMut;
#[cfg(test)]
mod cycle_tests;
mod meta;
pub use meta::{Meta, Origin, OriginId};
mod struct_ops;
pub use struct_ops::StructOps;

use std::collections::HashMap;

mod arena;
mod bulk;
mod entity_map;
mod id;
use arena::{Entities, NotOurs};
pub use entity_map::EntityMap;
use id::ModuleTag;
pub use id::{Entity, Id};

pub use entities::{
    AnyEntity, CoreRelo, DataKind, DataSection, DataVar, Extern, ExternKind, Function, MapDef,
    MapOrigin, Pinning, Ref, SourceLine, SymbolLinkage,
};
pub use error::IrError;

use crate::btf::Btf;
use crate::insn::Insn;
use crate::Endian;

/// Handle of an instruction in a [`Module`].
pub type InsnId = Id<Insn>;
/// Handle of a function.
pub type FuncId = Id<Function>;
/// Handle of a map definition.
pub type MapId = Id<MapDef>;
/// Handle of a data section.
pub type DataId = Id<DataSection>;
/// Handle of an extern symbol.
pub type ExternId = Id<Extern>;
/// Handle of a source line.
pub type LineId = Id<SourceLine>;
/// Handle of a CO-RE relocation.
pub type CoreId = Id<CoreRelo>;

/// Where an instruction sits: its neighbours and its function (`None` when detached).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Node {
    prev: Option<InsnId>,
    next: Option<InsnId>,
    func: Option<FuncId>,
}

/// One object's programs, functions, maps, data, externs and BTF. See the
/// [module documentation](self).
#[derive(Clone, Debug)]
pub struct Module {
    endian: Endian,
    /// The object's BTF (types, and the strings that lines and CO-RE records refer to).
    pub btf: Option<Btf>,
    /// Contents of the `license` section.
    pub license: Option<String>,
    /// Contents of the `version` section.
    pub kern_version: Option<u32>,
    insns: Entities<Insn>,
    nodes: EntityMap<InsnId, Node>,
    refs: EntityMap<InsnId, Ref>,
    insn_lines: EntityMap<InsnId, LineId>,
    insn_core: EntityMap<InsnId, CoreId>,
    funcs: Entities<Function>,
    maps: Entities<MapDef>,
    /// Linkage of map symbols that are not global (a weak `SEC(".maps")` definition).
    map_linkage: EntityMap<MapId, SymbolLinkage>,
    /// The values of struct_ops maps.
    struct_ops: EntityMap<MapId, StructOps>,
    data: Entities<DataSection>,
    externs: Entities<Extern>,
    lines: Entities<SourceLine>,
    core_relos: Entities<CoreRelo>,
    origins: Entities<Origin>,
    /// The origin of each pass name, so [`Module::add_origin`] interns.
    origin_ids: HashMap<String, OriginId>,
    insn_origins: EntityMap<InsnId, OriginId>,
}

impl Module {
    /// An empty module for objects of byte order `endian`.
    pub fn new(endian: Endian) -> Module {
        // Every arena gives out ids with the module's tag (see `id`).
        let tag = ModuleTag::fresh();
        Module {
            endian,
            btf: None,
            license: None,
            kern_version: None,
            insns: Entities::new(tag),
            nodes: EntityMap::default(),
            refs: EntityMap::default(),
            insn_lines: EntityMap::default(),
            insn_core: EntityMap::default(),
            funcs: Entities::new(tag),
            maps: Entities::new(tag),
            map_linkage: EntityMap::default(),
            struct_ops: EntityMap::default(),
            data: Entities::new(tag),
            externs: Entities::new(tag),
            lines: Entities::new(tag),
            core_relos: Entities::new(tag),
            origins: Entities::new(tag),
            origin_ids: HashMap::new(),
            insn_origins: EntityMap::default(),
        }
    }

    /// The byte order of the object.
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// Creates a detached instruction with its metadata: the one place that writes the
    /// instruction arena and every side table. Attach it with the layout operations, or use
    /// [`append`](Self::append) / [`insert_before`](Self::insert_before), which call this.
    ///
    /// The ids in `meta` are not checked here (the edit operations that call this check
    /// them first, and [`verify`](Self::verify) reports any that dangle).
    pub fn create_insn(&mut self, insn: Insn, meta: Meta) -> InsnId {
        let id = self.insns.alloc(insn);
        self.nodes.insert(id, Node::default());
        if let Some(r) = meta.reference {
            self.refs.insert(id, r);
        }
        if let Some(l) = meta.line {
            self.insn_lines.insert(id, l);
        }
        if let Some(c) = meta.core {
            self.insn_core.insert(id, c);
        }
        if let Some(o) = meta.origin {
            self.insn_origins.insert(id, o);
        }
        id
    }

    /// Makes room for `n` more instructions in the instruction arena and in the tables
    /// most instructions fill (layout, references, lines), so a reader that knows how many
    /// it will create grows them once instead of doubling and copying.
    pub(crate) fn reserve_insns(&mut self, n: usize) {
        self.insns.reserve_if_empty(n);
        self.nodes.reserve(n);
        self.refs.reserve(n);
        self.insn_lines.reserve(n);
    }

    /// Makes room for `lines` source lines and `core_relos` CO-RE records before a reader
    /// adds them (their arenas are sized once when still empty).
    pub(crate) fn reserve_lines_and_relos(&mut self, lines: usize, core_relos: usize) {
        self.lines.reserve_if_empty(lines);
        self.core_relos.reserve_if_empty(core_relos);
    }

    /// The instruction `id`.
    ///
    /// # Panics
    ///
    /// If the module has no instruction `id`: ids a module gave out are always valid; use
    /// [`try_insn`](Self::try_insn) for an id from elsewhere.
    pub fn insn(&self, id: InsnId) -> &Insn {
        &self.insns[id]
    }

    /// The instruction `id`, or an error if the module has none with that id.
    pub fn try_insn(&self, id: InsnId) -> Result<&Insn, IrError> {
        self.check(&self.insns, id)?;
        Ok(&self.insns[id])
    }

    /// The instruction `id`, to change in place (its id, position and metadata stay).
    ///
    /// # Panics
    ///
    /// If the module has no instruction `id` (check it with `check_*` first).
    pub fn insn_mut(&mut self, id: InsnId) -> &mut Insn {
        &mut self.insns[id]
    }

    /// Number of instructions ever created (attached or not).
    pub fn n_insns(&self) -> usize {
        self.insns.len()
    }

    /// The symbolic reference of `id`.
    pub fn reference(&self, id: InsnId) -> Option<Ref> {
        self.refs.get(id).copied()
    }

    /// Sets or clears the symbolic reference of `id`.
    ///
    /// An error, and no change, if `id` or the value is not this module's.
    pub fn set_reference(&mut self, id: InsnId, r: Option<Ref>) -> Result<(), IrError> {
        self.check_insn(id)?;
        match r {
            Some(r) => {
                self.check_ref(r)?;
                self.refs.insert(id, r);
            }
            None => {
                self.refs.remove(id);
            }
        }
        Ok(())
    }

    /// The source line of `id`.
    pub fn line_of(&self, id: InsnId) -> Option<LineId> {
        self.insn_lines.get(id).copied()
    }

    /// Sets or clears the source line of `id`.
    ///
    /// An error, and no change, if `id` or the value is not this module's.
    pub fn set_line(&mut self, id: InsnId, line: Option<LineId>) -> Result<(), IrError> {
        self.check_insn(id)?;
        match line {
            Some(l) => {
                self.check_line(l)?;
                self.insn_lines.insert(id, l);
            }
            None => {
                self.insn_lines.remove(id);
            }
        }
        Ok(())
    }

    /// The CO-RE relocation of `id`.
    pub fn core_of(&self, id: InsnId) -> Option<CoreId> {
        self.insn_core.get(id).copied()
    }

    /// Sets or clears the CO-RE relocation of `id`.
    ///
    /// An error, and no change, if `id` or the value is not this module's.
    pub fn set_core(&mut self, id: InsnId, core: Option<CoreId>) -> Result<(), IrError> {
        self.check_insn(id)?;
        match core {
            Some(c) => {
                self.check_core(c)?;
                self.insn_core.insert(id, c);
            }
            None => {
                self.insn_core.remove(id);
            }
        }
        Ok(())
    }

    /// The metadata of `id`, as [`create_insn`](Self::create_insn) takes it.
    pub fn meta(&self, id: InsnId) -> Meta {
        Meta::new()
            .with_ref_opt(self.reference(id))
            .with_line_opt(self.line_of(id))
            .with_core_opt(self.core_of(id))
            .with_origin_opt(self.insn_origin(id))
    }

    /// The origin tag of `id`: the pass that inserted it.
    pub fn insn_origin(&self, id: InsnId) -> Option<OriginId> {
        self.insn_origins.get(id).copied()
    }

    /// Sets or clears the origin tag of `id`.
    ///
    /// An error, and no change, if `id` or the value is not this module's.
    pub fn set_insn_origin(&mut self, id: InsnId, origin: Option<OriginId>) -> Result<(), IrError> {
        self.check_insn(id)?;
        match origin {
            Some(o) => {
                self.check_origin(o)?;
                self.insn_origins.insert(id, o);
            }
            None => {
                self.insn_origins.remove(id);
            }
        }
        Ok(())
    }

    /// The origin tag naming `pass`: created on first use, the same id for the same name
    /// afterwards.
    pub fn add_origin(&mut self, pass: &str) -> OriginId {
        if let Some(&id) = self.origin_ids.get(pass) {
            return id;
        }
        let id = self.origins.alloc(Origin::new(pass));
        self.origin_ids.insert(pass.to_owned(), id);
        id
    }

    /// The origin tag `id`, if this module has it.
    pub fn origin(&self, id: OriginId) -> Option<&Origin> {
        self.origins.get(id)
    }

    /// All origin tags, in the order they were added.
    pub fn origins(&self) -> impl ExactSizeIterator<Item = (OriginId, &Origin)> + '_ {
        self.origins.iter()
    }

    /// The function `id` belongs to, or `None` if it is detached (removed, or never attached).
    pub fn func_of(&self, id: InsnId) -> Option<FuncId> {
        self.nodes.get(id).and_then(|n| n.func)
    }

    /// The instruction after `id` in its function.
    pub fn next_insn(&self, id: InsnId) -> Option<InsnId> {
        self.nodes.get(id).and_then(|n| n.next)
    }

    /// The instruction before `id` in its function.
    pub fn prev_insn(&self, id: InsnId) -> Option<InsnId> {
        self.nodes.get(id).and_then(|n| n.prev)
    }

    /// Where instruction `id` of `func` is, as error messages name it: the function's name,
    /// the instruction's position in the function (0 if it is not there), and its text.
    /// Ids the module does not have print as their id (`f9`, `i12`).
    pub fn insn_context(&self, func: FuncId, id: InsnId) -> (String, usize, String) {
        let index = self.func_insns(func).position(|i| i == id).unwrap_or(0);
        let name = match self.try_function(func) {
            Ok(f) => f.name.clone(),
            Err(_) => AnyEntity::Func(func).to_string(),
        };
        // In context: labels and names, never the stale raw offsets of the stored insn.
        let text = match self.try_insn(id) {
            Ok(_) => self.display_insn(id).to_string(),
            Err(_) => AnyEntity::Insn(id).to_string(),
        };
        (name, index, text)
    }

    /// The body of `func`, in order (nothing for a function the module does not have).
    pub fn func_insns(&self, func: FuncId) -> FuncInsns<'_> {
        FuncInsns {
            module: self,
            next: self.try_function(func).ok().and_then(|f| f.first),
            left: self.n_insns(),
        }
    }

    /// Adds a function (with an empty body).
    pub fn add_function(&mut self, mut f: Function) -> FuncId {
        f.first = None;
        f.last = None;
        f.n_insns = 0;
        self.funcs.alloc(f)
    }

    /// The function `id`.
    ///
    /// # Panics
    ///
    /// If the module has no function `id`: ids a module gave out are always valid; use
    /// [`try_function`](Self::try_function) for an id from elsewhere.
    pub fn function(&self, id: FuncId) -> &Function {
        &self.funcs[id]
    }

    /// The function `id`, or an error if the module has none with that id.
    pub fn try_function(&self, id: FuncId) -> Result<&Function, IrError> {
        self.check(&self.funcs, id)?;
        Ok(&self.funcs[id])
    }

    /// The function `id`, to rename or re-type: everything but its body, which only the
    /// layout operations change (a whole [`Function`] assigned through the guard keeps the
    /// body where it was; see [`FunctionMut`]).
    ///
    /// # Panics
    ///
    /// If the module has no function `id` (check it with `check_*` first).
    pub fn function_mut(&mut self, id: FuncId) -> FunctionMut<'_> {
        FunctionMut::new(&mut self.funcs[id])
    }

    /// All functions, in the order they were added (for a read object: by section, then
    /// offset).
    pub fn functions(&self) -> impl ExactSizeIterator<Item = (FuncId, &Function)> + '_ {
        self.funcs.iter()
    }

    /// The program entry functions.
    pub fn programs(&self) -> impl Iterator<Item = (FuncId, &Function)> + '_ {
        self.funcs.iter().filter(|(_, f)| f.is_program)
    }

    /// The first function named `name`.
    pub fn function_by_name(&self, name: &str) -> Option<FuncId> {
        self.funcs
            .iter()
            .find(|(_, f)| f.name == name)
            .map(|(id, _)| id)
    }

    /// Adds a map definition.
    pub fn add_map(&mut self, map: MapDef) -> MapId {
        self.maps.alloc(map)
    }

    /// The map `id`.
    ///
    /// # Panics
    ///
    /// If the module has no map `id`: ids a module gave out are always valid; use
    /// [`try_map`](Self::try_map) for an id from elsewhere.
    pub fn map(&self, id: MapId) -> &MapDef {
        &self.maps[id]
    }

    /// The map `id`, or an error if the module has none with that id.
    pub fn try_map(&self, id: MapId) -> Result<&MapDef, IrError> {
        self.check(&self.maps, id)?;
        Ok(&self.maps[id])
    }

    /// All maps.
    pub fn maps(&self) -> impl ExactSizeIterator<Item = (MapId, &MapDef)> + '_ {
        self.maps.iter()
    }

    /// The linkage of map `id`'s symbol: `Global` unless set otherwise (a weak definition,
    /// which a static linker lets a strong one of the same name override).
    pub fn map_linkage(&self, id: MapId) -> SymbolLinkage {
        self.map_linkage
            .get(id)
            .copied()
            .unwrap_or(SymbolLinkage::Global)
    }

    /// Sets the linkage of map `id`'s symbol.
    ///
    /// An error, and no change, if the module has no map `id`.
    pub fn set_map_linkage(&mut self, id: MapId, linkage: SymbolLinkage) -> Result<(), IrError> {
        self.check_map(id)?;
        if linkage == SymbolLinkage::Global {
            self.map_linkage.remove(id);
        } else {
            self.map_linkage.insert(id, linkage);
        }
        Ok(())
    }

    /// Sets the value of struct_ops map `id` (see [`StructOps`]).
    ///
    /// An error, and no change, if `id` or a function of `value` is not this module's.
    pub fn set_struct_ops(&mut self, id: MapId, value: StructOps) -> Result<(), IrError> {
        self.check_map(id)?;
        for &(_, f) in &value.funcs {
            self.check_func(f)?;
        }
        self.struct_ops.insert(id, value);
        Ok(())
    }

    /// The value of map `id` when it is a struct_ops map read from the object.
    pub fn struct_ops(&self, id: MapId) -> Option<&StructOps> {
        self.struct_ops.get(id)
    }

    /// Adds a data section.
    pub fn add_data(&mut self, data: DataSection) -> DataId {
        self.data.alloc(data)
    }

    /// The data section `id`.
    ///
    /// # Panics
    ///
    /// If the module has no data section `id`: ids a module gave out are always valid; use
    /// [`try_data`](Self::try_data) for an id from elsewhere.
    pub fn data(&self, id: DataId) -> &DataSection {
        &self.data[id]
    }

    /// The data section `id`, or an error if the module has none with that id.
    pub fn try_data(&self, id: DataId) -> Result<&DataSection, IrError> {
        self.check(&self.data, id)?;
        Ok(&self.data[id])
    }

    /// The data section `id`, to change its initial bytes or variables.
    ///
    /// # Panics
    ///
    /// If the module has no data section `id` (check it with `check_*` first).
    pub fn data_mut(&mut self, id: DataId) -> &mut DataSection {
        &mut self.data[id]
    }

    /// All data sections.
    pub fn data_sections(&self) -> impl ExactSizeIterator<Item = (DataId, &DataSection)> + '_ {
        self.data.iter()
    }

    /// Adds an extern.
    pub fn add_extern(&mut self, ext: Extern) -> ExternId {
        self.externs.alloc(ext)
    }

    /// The extern `id`.
    ///
    /// # Panics
    ///
    /// If the module has no extern `id`: ids a module gave out are always valid; use
    /// [`try_extern`](Self::try_extern) for an id from elsewhere.
    pub fn extern_(&self, id: ExternId) -> &Extern {
        &self.externs[id]
    }

    /// The extern `id`, or an error if the module has none with that id.
    pub fn try_extern(&self, id: ExternId) -> Result<&Extern, IrError> {
        self.check(&self.externs, id)?;
        Ok(&self.externs[id])
    }

    /// All externs.
    pub fn externs(&self) -> impl ExactSizeIterator<Item = (ExternId, &Extern)> + '_ {
        self.externs.iter()
    }

    /// Adds a source line record.
    pub fn add_line(&mut self, line: SourceLine) -> LineId {
        self.lines.alloc(line)
    }

    /// The source line `id`.
    ///
    /// # Panics
    ///
    /// If the module has no source line `id`: ids a module gave out are always valid; use
    /// [`try_line`](Self::try_line) for an id from elsewhere.
    pub fn line(&self, id: LineId) -> &SourceLine {
        &self.lines[id]
    }

    /// The source line `id`, or an error if the module has none with that id.
    pub fn try_line(&self, id: LineId) -> Result<&SourceLine, IrError> {
        self.check(&self.lines, id)?;
        Ok(&self.lines[id])
    }

    /// All source line records, in the order they were added.
    pub fn lines(&self) -> impl ExactSizeIterator<Item = (LineId, &SourceLine)> + '_ {
        self.lines.iter()
    }

    /// Adds a CO-RE relocation record.
    pub fn add_core_relo(&mut self, relo: CoreRelo) -> CoreId {
        self.core_relos.alloc(relo)
    }

    /// The CO-RE relocation `id`.
    ///
    /// # Panics
    ///
    /// If the module has no CO-RE relocation `id`: ids a module gave out are always valid; use
    /// [`try_core_relo`](Self::try_core_relo) for an id from elsewhere.
    pub fn core_relo(&self, id: CoreId) -> &CoreRelo {
        &self.core_relos[id]
    }

    /// The CO-RE relocation `id`, or an error if the module has none with that id.
    pub fn try_core_relo(&self, id: CoreId) -> Result<&CoreRelo, IrError> {
        self.check(&self.core_relos, id)?;
        Ok(&self.core_relos[id])
    }

    /// All CO-RE relocation records.
    pub fn core_relos(&self) -> impl ExactSizeIterator<Item = (CoreId, &CoreRelo)> + '_ {
        self.core_relos.iter()
    }
}

impl Module {
    /// An error unless the module has instruction `id`.
    pub fn check_insn(&self, id: InsnId) -> Result<(), IrError> {
        self.check(&self.insns, id)
    }

    /// An error unless the module has function `id`.
    pub fn check_func(&self, id: FuncId) -> Result<(), IrError> {
        self.check(&self.funcs, id)
    }

    /// An error unless the module has map `id`.
    pub fn check_map(&self, id: MapId) -> Result<(), IrError> {
        self.check(&self.maps, id)
    }

    /// An error unless the module has data section `id`.
    pub fn check_data(&self, id: DataId) -> Result<(), IrError> {
        self.check(&self.data, id)
    }

    /// An error unless the module has extern `id`.
    pub fn check_extern(&self, id: ExternId) -> Result<(), IrError> {
        self.check(&self.externs, id)
    }

    /// An error unless the module has source line `id`.
    pub fn check_line(&self, id: LineId) -> Result<(), IrError> {
        self.check(&self.lines, id)
    }

    /// An error unless the module has CO-RE relocation `id`.
    pub fn check_core(&self, id: CoreId) -> Result<(), IrError> {
        self.check(&self.core_relos, id)
    }

    /// An error unless the module has origin `id`.
    pub fn check_origin(&self, id: OriginId) -> Result<(), IrError> {
        self.check(&self.origins, id)
    }

    /// An error unless every id `r` names is the module's.
    pub fn check_ref(&self, r: Ref) -> Result<(), IrError> {
        match r {
            Ref::Jump(id) => self.check_insn(id),
            Ref::Call(f) | Ref::FuncAddr(f) => self.check_func(f),
            Ref::Map(m) => self.check_map(m),
            Ref::Data { data, .. } => self.check_data(data),
            Ref::Extern(e) => self.check_extern(e),
        }
    }

    /// An error unless every id of `meta` is the module's.
    pub fn check_meta(&self, meta: &Meta) -> Result<(), IrError> {
        if let Some(r) = meta.reference {
            self.check_ref(r)?;
        }
        if let Some(l) = meta.line {
            self.check_line(l)?;
        }
        if let Some(c) = meta.core {
            self.check_core(c)?;
        }
        if let Some(o) = meta.origin {
            self.check_origin(o)?;
        }
        Ok(())
    }

    fn check<T>(&self, arena: &Entities<T>, id: Id<T>) -> Result<(), IrError>
    where
        Id<T>: Into<AnyEntity>,
    {
        match arena.check(id) {
            Ok(()) => Ok(()),
            Err(NotOurs::Foreign) => Err(IrError::ForeignEntity { entity: id.into() }),
            Err(NotOurs::Dangling) => Err(IrError::NoSuchEntity { entity: id.into() }),
        }
    }

    /// The id of the entity of type `T` at `index` (see [`Id::index`]), if the module has
    /// one: how a dense per-entity table (a `Vec` indexed by `id.index()`) finds its ids
    /// again.
    ///
    /// ```
    /// use bpfir::ir::{FuncId, Function, Module};
    /// let mut m = Module::new(bpfir::Endian::Little);
    /// let f = m.add_function(Function::new("f", ".text", false));
    /// assert_eq!(m.id_at::<Function>(f.index()), Some(f));
    /// assert_eq!(m.id_at::<Function>(1), None);
    /// ```
    pub fn id_at<T: Entity>(&self, index: usize) -> Option<Id<T>> {
        T::id_at(self, index)
    }

    /// An id of this module at `index`, whether or not the module has it: how tests make a
    /// dangling id (never given out by the public API).
    #[cfg(test)]
    pub(crate) fn any_id<T>(&self, index: u32) -> Id<T> {
        Id::new(index, self.insns.tag())
    }
}

macro_rules! entity_arenas {
    ($($ty:ty => $field:ident, $prefix:literal;)*) => {$(
        impl id::sealed::Sealed for $ty {
            fn id_at(m: &Module, index: usize) -> Option<Id<$ty>> {
                m.$field.id_at(index)
            }
        }
        impl Entity for $ty {
            const PREFIX: &'static str = $prefix;
        }
    )*};
}

entity_arenas! {
    Insn => insns, "i";
    Function => funcs, "f";
    MapDef => maps, "m";
    DataSection => data, "d";
    Extern => externs, "e";
    SourceLine => lines, "l";
    CoreRelo => core_relos, "c";
    Origin => origins, "o";
}

/// The instructions of a function, in order. Created by [`Module::func_insns`].
///
/// It yields at most as many instructions as the module has: a body cannot hold more, so a
/// walk of a body whose links run in a circle (which the layout operations never make; the
/// verifier reports one as "the body is a cycle") ends, where it would never end.
#[derive(Clone)]
pub struct FuncInsns<'a> {
    module: &'a Module,
    next: Option<InsnId>,
    /// How many more instructions it may yield.
    left: usize,
}

impl FuncInsns<'_> {
    /// True when the walk stopped at its bound with the body going on: the body's links run
    /// in a circle.
    pub fn cut_short(&self) -> bool {
        self.left == 0 && self.next.is_some()
    }
}

impl Iterator for FuncInsns<'_> {
    type Item = InsnId;

    fn next(&mut self) -> Option<InsnId> {
        if self.left == 0 {
            return None;
        }
        let id = self.next?;
        self.left -= 1;
        self.next = self.module.next_insn(id);
        Some(id)
    }
}
