//! Map definitions: legacy `maps` and BTF-defined `.maps`. (Interim: the full parser lands
//! from the `maps` branch.)

use super::ReadError;
use crate::btf::Btf;
use crate::elf::ElfObject;
use crate::ir::MapDef;

/// One map definition and where its symbol is.
pub(crate) struct ReadMap {
    pub def: MapDef,
    pub section: usize,
    pub offset: u64,
}

pub(crate) fn read_maps(
    _elf: &ElfObject<'_>,
    _btf: Option<&Btf>,
) -> Result<Vec<ReadMap>, ReadError> {
    Ok(Vec::new())
}
