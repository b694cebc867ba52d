//! The entities a [`Module`](super::Module) holds besides instructions: functions, maps,
//! data sections, externs, source lines and CO-RE relocations, and the symbolic reference an
//! instruction can carry.

use crate::btf::{StrOffset, TypeId};
use crate::btf_ext::{CoreAccess, CoreReloKind};

use super::{DataId, ExternId, FuncId, InsnId, MapId};

/// What an instruction refers to, symbolically. Raw offsets and immediates for these exist
/// only after lowering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ref {
    /// A jump to another instruction of the same function.
    Jump(InsnId),
    /// A bpf-to-bpf call (`call` with `BPF_PSEUDO_CALL`).
    Call(FuncId),
    /// The address of a function, for a callback (`ld_imm64` with `BPF_PSEUDO_FUNC`).
    FuncAddr(FuncId),
    /// A map (`ld_imm64` with `BPF_PSEUDO_MAP_FD`).
    Map(MapId),
    /// A byte in a data section (`ld_imm64` with `BPF_PSEUDO_MAP_VALUE`).
    Data {
        /// The section.
        data: DataId,
        /// Byte offset in it.
        offset: u32,
    },
    /// An extern: a kfunc (`call`), a typed or untyped ksym or a kconfig value (`ld_imm64`).
    Extern(ExternId),
}

/// A reference as the dump spells its target: `jump i5`, `call f3`, `func f3`, `map m0`,
/// `data d1+8`, `extern e2` (ids, not names, so that a dangling one still prints).
impl std::fmt::Display for Ref {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Ref::Jump(id) => write!(f, "jump {}", AnyEntity::from(id)),
            Ref::Call(id) => write!(f, "call {}", AnyEntity::from(id)),
            Ref::FuncAddr(id) => write!(f, "func {}", AnyEntity::from(id)),
            Ref::Map(id) => write!(f, "map {}", AnyEntity::from(id)),
            Ref::Data { data, offset } => write!(f, "data {}+{offset}", AnyEntity::from(data)),
            Ref::Extern(id) => write!(f, "extern {}", AnyEntity::from(id)),
        }
    }
}

/// Linkage of a function or variable symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymbolLinkage {
    /// `STB_LOCAL`: `static`.
    Static,
    /// `STB_GLOBAL`.
    Global,
    /// `STB_WEAK`.
    Weak,
}

impl std::fmt::Display for SymbolLinkage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SymbolLinkage::Static => "static",
            SymbolLinkage::Global => "global",
            SymbolLinkage::Weak => "weak",
        })
    }
}

/// A function: a program entry point or a sub-program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    /// Symbol name.
    pub name: String,
    /// Symbol linkage.
    pub linkage: SymbolLinkage,
    /// ELF section it came from (`socket`, `kprobe/do_sys_open`, `.text`, ...); for a
    /// program, this decides program type and attach point.
    pub section: String,
    /// True for a program (a function of an executable section other than `.text`).
    pub is_program: bool,
    /// Its BTF `FUNC` type, when the object has BTF and a func_info record for it.
    pub btf_func: Option<TypeId>,
    /// Hidden visibility (`__hidden`, ELF `STV_HIDDEN`): a global function no one outside
    /// the object (or its static link) calls. A loader lets the verifier check it as a
    /// static one, in its caller's context (its BTF `FUNC` made static, as libbpf does).
    pub hidden: bool,
    pub(crate) first: Option<InsnId>,
    pub(crate) last: Option<InsnId>,
    pub(crate) n_insns: u32,
}

impl Function {
    /// A new, empty function.
    pub fn new(name: impl Into<String>, section: impl Into<String>, is_program: bool) -> Self {
        Function {
            name: name.into(),
            linkage: if is_program {
                SymbolLinkage::Global
            } else {
                SymbolLinkage::Static
            },
            section: section.into(),
            is_program,
            btf_func: None,
            hidden: false,
            first: None,
            last: None,
            n_insns: 0,
        }
    }

    /// Number of instructions in the body (an `ld_imm64` counts once).
    pub fn n_insns(&self) -> usize {
        self.n_insns as usize
    }

    /// The first instruction of the body.
    pub fn first_insn(&self) -> Option<InsnId> {
        self.first
    }

    /// The last instruction of the body.
    pub fn last_insn(&self) -> Option<InsnId> {
        self.last
    }
}

/// Where a map was defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MapOrigin {
    /// A `struct bpf_map_def` in the legacy `maps` section.
    Legacy,
    /// A BTF-defined map in `.maps`.
    Btf,
    /// A struct_ops variable of `.struct_ops` / `.struct_ops.link` (its value in
    /// [`Module::struct_ops`](super::Module::struct_ops)).
    StructOps,
}

/// How a map is pinned (the `pinning` attribute of a BTF-defined map).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Pinning {
    /// Not pinned.
    None,
    /// `LIBBPF_PIN_BY_NAME`: pinned under the pin root by map name.
    ByName,
    /// Any other value, kept as read.
    Other(u32),
}

/// A map definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapDef {
    /// The map's symbol name.
    pub name: String,
    /// Where it was defined.
    pub origin: MapOrigin,
    /// `BPF_MAP_TYPE_*` number.
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum number of entries.
    pub max_entries: u32,
    /// `BPF_F_*` flags.
    pub flags: u32,
    /// NUMA node (valid with `BPF_F_NUMA_NODE`).
    pub numa_node: u32,
    /// `map_extra` (bloom filter hashes, arena address, ...).
    pub map_extra: u64,
    /// Pinning.
    pub pinning: Pinning,
    /// BTF type of the key, for BTF-defined maps that give one.
    pub key_type: Option<TypeId>,
    /// BTF type of the value, for BTF-defined maps that give one.
    pub value_type: Option<TypeId>,
    /// The inner map template of a map-in-map (`__array(values, struct inner)`).
    pub inner: Option<Box<MapDef>>,
    /// Initial contents of a map-in-map or prog array: `(slot, symbol name)` from
    /// `.values = { [slot] = &sym }`.
    pub init_slots: Vec<(u32, String)>,
    /// The `VAR` of a BTF-defined map.
    pub btf_var: Option<TypeId>,
}

impl MapDef {
    /// A map named `name` of `origin` with every attribute zero and nothing attached (no
    /// BTF types, inner map, initial slots or pinning). Set the rest with struct update
    /// syntax: `MapDef { map_type: 2, max_entries: 16, ..MapDef::new("counts", origin) }`.
    pub fn new(name: impl Into<String>, origin: MapOrigin) -> MapDef {
        MapDef {
            name: name.into(),
            origin,
            map_type: 0,
            key_size: 0,
            value_size: 0,
            max_entries: 0,
            flags: 0,
            numa_node: 0,
            map_extra: 0,
            pinning: Pinning::None,
            key_type: None,
            value_type: None,
            inner: None,
            init_slots: Vec::new(),
            btf_var: None,
        }
    }
}

/// What kind of data a data section holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataKind {
    /// `.data*`: initialized, writable.
    Data,
    /// `.rodata*`: initialized, read-only (frozen after load).
    Rodata,
    /// `.bss*`: zero-initialized.
    Bss,
    /// `.addr_space.1`: `__arena` globals, which live at the start of the object's arena
    /// map (`BPF_MAP_TYPE_ARENA`) rather than in a map of their own.
    Arena,
}

/// A global variable in a data section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataVar {
    /// Symbol name.
    pub name: String,
    /// Byte offset in the section.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
    /// Symbol linkage.
    pub linkage: SymbolLinkage,
}

/// A global data section (`.data`, `.rodata.str1.1`, `.bss`, `.data.custom`...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSection {
    /// Section name.
    pub name: String,
    /// Data, read-only data or bss.
    pub kind: DataKind,
    /// Initial bytes (all zero for bss; a module's bss sections hold at most
    /// [`DataSection::MAX_SIZE`] bytes together).
    pub bytes: Vec<u8>,
    /// Section alignment: a power of two up to [`DataSection::MAX_ALIGN`] (the reader
    /// refuses larger ones, the writer too).
    pub align: u64,
    /// Variables, by offset.
    pub vars: Vec<DataVar>,
    /// Its BTF `DATASEC`, when the object describes it.
    pub btf_datasec: Option<TypeId>,
}

impl DataSection {
    /// The largest section alignment bpfir reads or writes: a page. Clang aligns BPF data
    /// to at most 8 bytes; an ELF writer pads the file to every section's alignment, so an
    /// untrusted `sh_addralign` of 2^56 would ask for that many bytes.
    pub const MAX_ALIGN: u64 = 4096;

    /// The most bytes the zero-filled (bss) sections of one object may hold together, when
    /// bpfir reads, links or writes it: 256 MiB. A loader makes each data section an array
    /// map of one value, which the kernel takes up to `i32::MAX` bytes; but bss has a size
    /// and no bytes in the file, and bpfir holds it in memory as zeros, so a few header
    /// bytes claiming gigabytes of bss would make it allocate them. (Sections with bytes
    /// are bounded by the file.) The largest bss of the test corpus is 16 MiB (the kernel
    /// selftests' `test_skeleton`).
    pub const MAX_SIZE: u64 = 256 << 20;
}

/// What an extern symbol is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExternKind {
    /// A `.kconfig` value (`CONFIG_*`, `LINUX_KERNEL_VERSION`, ...).
    Kconfig,
    /// A `.ksyms` variable: a kernel symbol's address (typed when it has BTF).
    Ksym,
    /// A function defined elsewhere: a kfunc, or a function of another object to link.
    Func,
    /// A map another object defines (`extern ... SEC(".maps")`), bound when the objects
    /// are linked.
    Map,
}

/// An extern symbol the object uses and does not define.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extern {
    /// Symbol name.
    pub name: String,
    /// What it is.
    pub kind: ExternKind,
    /// Weak: it may be absent at load time (then it reads as zero).
    pub weak: bool,
    /// Its BTF `VAR` or `FUNC`, when the object has one.
    pub btf: Option<TypeId>,
}

/// A source line (from `line_info`): strings are offsets into the module's BTF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SourceLine {
    /// The file name.
    pub file: StrOffset,
    /// The text of the line.
    pub text: StrOffset,
    /// Line number.
    pub line: u32,
    /// Column.
    pub col: u32,
}

/// A CO-RE relocation on an instruction (from `core_relo`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CoreRelo {
    /// The local (program-side) type the access starts from.
    pub ty: TypeId,
    /// The access string's offset in the module's BTF.
    pub access_str: StrOffset,
    /// The parsed access string.
    pub access: CoreAccess,
    /// What is relocated.
    pub kind: CoreReloKind,
}

/// Any entity of a [`Module`](super::Module), to say where something is: in errors and
/// verifier reports. Its `Display` is the dump's spelling of the id: `i12` (instruction),
/// `f3` (function), `m0` (map), `d1` (data section), `e2` (extern), `l5` (source line),
/// `c4` (CO-RE relocation), `o1` (origin); the module itself prints as `module`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AnyEntity {
    /// The whole module.
    Module,
    /// An instruction.
    Insn(InsnId),
    /// A function.
    Func(FuncId),
    /// A map.
    Map(MapId),
    /// A data section.
    Data(DataId),
    /// An extern.
    Extern(ExternId),
    /// A source line.
    Line(super::LineId),
    /// A CO-RE relocation.
    Core(super::CoreId),
    /// An origin tag.
    Origin(super::OriginId),
}

impl std::fmt::Display for AnyEntity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            AnyEntity::Module => f.write_str("module"),
            AnyEntity::Insn(id) => id.fmt(f),
            AnyEntity::Func(id) => id.fmt(f),
            AnyEntity::Map(id) => id.fmt(f),
            AnyEntity::Data(id) => id.fmt(f),
            AnyEntity::Extern(id) => id.fmt(f),
            AnyEntity::Line(id) => id.fmt(f),
            AnyEntity::Core(id) => id.fmt(f),
            AnyEntity::Origin(id) => id.fmt(f),
        }
    }
}

macro_rules! entity_from {
    ($($id:ty => $variant:ident),*) => {$(
        impl From<$id> for AnyEntity {
            fn from(id: $id) -> AnyEntity {
                AnyEntity::$variant(id)
            }
        }
    )*};
}

entity_from!(
    InsnId => Insn, FuncId => Func, MapId => Map, DataId => Data, ExternId => Extern,
    super::LineId => Line, super::CoreId => Core, super::OriginId => Origin
);
