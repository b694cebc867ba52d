//! struct_ops values: the variables of `.struct_ops` / `.struct_ops.link` sections, each a
//! kernel struct of callbacks (`struct tcp_congestion_ops`, `struct sched_ext_ops`, ...)
//! whose function-pointer members name programs of the module.
//!
//! A struct_ops variable is a map of the module (type `BPF_MAP_TYPE_STRUCT_OPS`, one entry,
//! its value the variable's local BTF struct, `BPF_F_LINK` for `.struct_ops.link`); this
//! side table keeps what the map definition cannot: the variable's bytes and which program
//! each function-pointer member holds, by [`FuncId`], so edits and links can follow it.
//!
//! Invariant: each `(offset, func)` lies inside `data` (8 bytes at `offset`, left zero in
//! `data`), and `func` is a program of the module.

use super::FuncId;

/// The initial value of a struct_ops map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructOps {
    /// The ELF section the variable came from (`.struct_ops` or `.struct_ops.link`).
    pub section: String,
    /// The variable's bytes, as the local struct lays them out (function pointers zero).
    pub data: Vec<u8>,
    /// `(byte offset in data, program)`: the function-pointer members set to programs.
    pub funcs: Vec<(u32, FuncId)>,
}

impl StructOps {
    /// Whether the variable came from `.struct_ops.link` (attached through a link, its map
    /// created with `BPF_F_LINK`).
    pub fn is_link(&self) -> bool {
        self.section.starts_with(".struct_ops.link")
    }

    /// The program at byte offset `offset`, if a function pointer there names one.
    pub fn func_at(&self, offset: u32) -> Option<FuncId> {
        self.funcs
            .iter()
            .find(|&&(o, _)| o == offset)
            .map(|&(_, f)| f)
    }
}
