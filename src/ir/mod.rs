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

mod dump;
pub use dump::Dump;
mod edit;
pub use edit::MetaChoice;
mod entities;
mod error;
mod struct_ops;
pub use struct_ops::StructOps;

use la_arena::{Arena, ArenaMap};

pub use entities::{
    CoreRelo, DataKind, DataSection, DataVar, Extern, ExternKind, Function, MapDef, MapOrigin,
    Pinning, Ref, SourceLine, SymbolLinkage,
};
pub use error::IrError;

use crate::btf::Btf;
use crate::insn::Insn;
use crate::Endian;

/// Handle of an instruction in a [`Module`].
pub type InsnId = la_arena::Idx<Insn>;
/// Handle of a function.
pub type FuncId = la_arena::Idx<Function>;
/// Handle of a map definition.
pub type MapId = la_arena::Idx<MapDef>;
/// Handle of a data section.
pub type DataId = la_arena::Idx<DataSection>;
/// Handle of an extern symbol.
pub type ExternId = la_arena::Idx<Extern>;
/// Handle of a source line.
pub type LineId = la_arena::Idx<SourceLine>;
/// Handle of a CO-RE relocation.
pub type CoreId = la_arena::Idx<CoreRelo>;

/// The metadata an instruction is created with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// Symbolic reference (jump target, callee, map, ...).
    pub reference: Option<Ref>,
    /// Source line.
    pub line: Option<LineId>,
    /// CO-RE relocation.
    pub core: Option<CoreId>,
}

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
    insns: Arena<Insn>,
    nodes: ArenaMap<InsnId, Node>,
    refs: ArenaMap<InsnId, Ref>,
    insn_lines: ArenaMap<InsnId, LineId>,
    insn_core: ArenaMap<InsnId, CoreId>,
    funcs: Arena<Function>,
    maps: Arena<MapDef>,
    /// Linkage of map symbols that are not global (a weak `SEC(".maps")` definition).
    map_linkage: ArenaMap<MapId, SymbolLinkage>,
    /// The values of struct_ops maps.
    struct_ops: ArenaMap<MapId, StructOps>,
    data: Arena<DataSection>,
    externs: Arena<Extern>,
    lines: Arena<SourceLine>,
    core_relos: Arena<CoreRelo>,
}

impl Module {
    /// An empty module for objects of byte order `endian`.
    pub fn new(endian: Endian) -> Module {
        Module {
            endian,
            btf: None,
            license: None,
            kern_version: None,
            insns: Arena::new(),
            nodes: ArenaMap::default(),
            refs: ArenaMap::default(),
            insn_lines: ArenaMap::default(),
            insn_core: ArenaMap::default(),
            funcs: Arena::new(),
            maps: Arena::new(),
            map_linkage: ArenaMap::default(),
            struct_ops: ArenaMap::default(),
            data: Arena::new(),
            externs: Arena::new(),
            lines: Arena::new(),
            core_relos: Arena::new(),
        }
    }

    /// The byte order of the object.
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// Creates a detached instruction with its metadata: the one place that writes the
    /// instruction arena and every side table. Attach it with the layout operations, or use
    /// [`append`](Self::append) / [`insert_before`](Self::insert_before), which call this.
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
        id
    }

    /// The instruction `id`.
    pub fn insn(&self, id: InsnId) -> &Insn {
        &self.insns[id]
    }

    /// The instruction `id`, to change in place (its id, position and metadata stay).
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
    pub fn set_reference(&mut self, id: InsnId, r: Option<Ref>) {
        match r {
            Some(r) => {
                self.refs.insert(id, r);
            }
            None => {
                self.refs.remove(id);
            }
        }
    }

    /// The source line of `id`.
    pub fn line_of(&self, id: InsnId) -> Option<LineId> {
        self.insn_lines.get(id).copied()
    }

    /// Sets or clears the source line of `id`.
    pub fn set_line(&mut self, id: InsnId, line: Option<LineId>) {
        match line {
            Some(l) => {
                self.insn_lines.insert(id, l);
            }
            None => {
                self.insn_lines.remove(id);
            }
        }
    }

    /// The CO-RE relocation of `id`.
    pub fn core_of(&self, id: InsnId) -> Option<CoreId> {
        self.insn_core.get(id).copied()
    }

    /// Sets or clears the CO-RE relocation of `id`.
    pub fn set_core(&mut self, id: InsnId, core: Option<CoreId>) {
        match core {
            Some(c) => {
                self.insn_core.insert(id, c);
            }
            None => {
                self.insn_core.remove(id);
            }
        }
    }

    /// The metadata of `id`, as [`create_insn`](Self::create_insn) takes it.
    pub fn meta(&self, id: InsnId) -> Meta {
        Meta {
            reference: self.reference(id),
            line: self.line_of(id),
            core: self.core_of(id),
        }
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
    pub fn insn_context(&self, func: FuncId, id: InsnId) -> (String, usize, String) {
        let index = self.func_insns(func).position(|i| i == id).unwrap_or(0);
        (
            self.function(func).name.clone(),
            index,
            self.insn(id).to_string(),
        )
    }

    /// The body of `func`, in order.
    pub fn func_insns(&self, func: FuncId) -> FuncInsns<'_> {
        FuncInsns {
            module: self,
            next: self.funcs[func].first,
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
    pub fn function(&self, id: FuncId) -> &Function {
        &self.funcs[id]
    }

    /// The function `id`, to rename or re-type (its body is changed through the layout
    /// operations).
    pub fn function_mut(&mut self, id: FuncId) -> &mut Function {
        &mut self.funcs[id]
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
    pub fn map(&self, id: MapId) -> &MapDef {
        &self.maps[id]
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
    pub fn set_map_linkage(&mut self, id: MapId, linkage: SymbolLinkage) {
        if linkage == SymbolLinkage::Global {
            self.map_linkage.remove(id);
        } else {
            self.map_linkage.insert(id, linkage);
        }
    }

    /// Sets the value of struct_ops map `id` (see [`StructOps`]).
    pub fn set_struct_ops(&mut self, id: MapId, value: StructOps) {
        self.struct_ops.insert(id, value);
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
    pub fn data(&self, id: DataId) -> &DataSection {
        &self.data[id]
    }

    /// The data section `id`, to change its initial bytes or variables.
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
    pub fn extern_(&self, id: ExternId) -> &Extern {
        &self.externs[id]
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
    pub fn line(&self, id: LineId) -> &SourceLine {
        &self.lines[id]
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
    pub fn core_relo(&self, id: CoreId) -> &CoreRelo {
        &self.core_relos[id]
    }

    /// All CO-RE relocation records.
    pub fn core_relos(&self) -> impl ExactSizeIterator<Item = (CoreId, &CoreRelo)> + '_ {
        self.core_relos.iter()
    }
}

/// The instructions of a function, in order. Created by [`Module::func_insns`].
#[derive(Clone)]
pub struct FuncInsns<'a> {
    module: &'a Module,
    next: Option<InsnId>,
}

impl Iterator for FuncInsns<'_> {
    type Item = InsnId;

    fn next(&mut self) -> Option<InsnId> {
        let id = self.next?;
        self.next = self.module.next_insn(id);
        Some(id)
    }
}
