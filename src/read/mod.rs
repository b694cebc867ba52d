//! Reading a BPF ELF object into a [`Module`](crate::ir::Module).

mod error;
mod maps;

pub use error::ReadError;
