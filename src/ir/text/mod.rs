//! The text form of a [`Module`]: a printer and a parser that reads the printer's output
//! (and hand-written text) back, like cranelift's CLIF or LLVM's `.ll`.
//!
//! `docs/text-format.md` specifies the format with a grammar. In short:
//!
//! ```text
//! endian little
//! license "GPL"
//! btf {
//!     [1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
//! }
//! map @counts type=array key_size=4 value_size=8 max_entries=1 origin=legacy
//! program @prog section="socket" linkage=global {
//!     r1 = map @counts
//!     if r1 == 0x0 goto .L0
//! .L0:
//!     r0 = 0x0
//!     exit
//! }
//! ```
//!
//! * [`parse`] → [`Module`]; [`Module::text`] → text. `parse(print(m))` equals `m` up to
//!   arena order (entities come back in text order, which is the printer's arena order), and
//!   `print(parse(t)) == t` for the printer's own text.
//! * [`Module::display_insn`] prints one instruction in context, as the module text does.
//! * [`core_path`], [`c_decl`] and [`helper_name`] are the pieces the printer uses.
//!
//! Files: `print.rs` (the printer and the instruction hook), `parse.rs` (statements),
//! `resolve.rs` (records to a module, names resolved), `cursor.rs` (tokens and attributes),
//! `insn.rs` (one instruction), `btf.rs` (the `btf` block), `lexer.rs`, `cdecl.rs` (C
//! declarations and CO-RE paths in comments), `names.rs` (helper and map type names),
//! `error.rs`, `compare.rs` (module equality up to arena order).

mod btf;
mod cdecl;
mod compare;
mod cursor;
mod error;
mod insn;
mod lexer;
mod names;
mod parse;
mod print;
mod resolve;

pub use cdecl::{c_decl, core_path};
pub use compare::same_module;
pub use error::{ParseError, Pos};
pub use names::{helper_id, helper_name, map_type_id, map_type_name};
pub use parse::{parse, parse_unverified};
pub use print::{InsnText, ModuleText};

use super::{CoreId, DataId, ExternId, FuncId, InsnId, LineId, MapId, Module};

/// How the text names an instruction that has no label: `i12` (the raw index of its id).
pub(crate) fn insn_name(id: InsnId) -> String {
    id.to_string()
}

/// Whether the module has an entity: the printer checks before it looks one up, so it never
/// panics.
pub(crate) trait Has {
    fn has_insn(&self, id: InsnId) -> bool;
    fn has_function(&self, id: FuncId) -> bool;
    fn has_map(&self, id: MapId) -> bool;
    fn has_data(&self, id: DataId) -> bool;
    fn has_extern(&self, id: ExternId) -> bool;
    fn has_line(&self, id: LineId) -> bool;
    fn has_core_relo(&self, id: CoreId) -> bool;
}

impl Has for Module {
    fn has_insn(&self, id: InsnId) -> bool {
        self.check_insn(id).is_ok()
    }
    fn has_function(&self, id: FuncId) -> bool {
        self.check_func(id).is_ok()
    }
    fn has_map(&self, id: MapId) -> bool {
        self.check_map(id).is_ok()
    }
    fn has_data(&self, id: DataId) -> bool {
        self.check_data(id).is_ok()
    }
    fn has_extern(&self, id: ExternId) -> bool {
        self.check_extern(id).is_ok()
    }
    fn has_line(&self, id: LineId) -> bool {
        self.check_line(id).is_ok()
    }
    fn has_core_relo(&self, id: CoreId) -> bool {
        self.check_core(id).is_ok()
    }
}

impl Module {
    /// Parses a module from its text form; see [`parse`].
    pub fn parse_text(text: &str) -> Result<Module, ParseError> {
        parse(text)
    }
}
