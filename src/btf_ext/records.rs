//! Wire form of the three record types: `bpf_func_info` (8 bytes), `bpf_line_info`
//! (16 bytes) and `bpf_core_relo` (16 bytes), all made of `u32`s in the blob's byte order.
//!
//! Decoders get exactly the known struct's bytes (the parser strips any extra bytes of
//! larger records beforehand), so the reads below cannot fail for a well-sized slice; a
//! short slice still turns into an error rather than a panic.

use super::{
    BtfExtError, CoreRelo, CoreReloKind, ExtRecord, FuncInfo, LineInfo, SecOffset, Subsection,
};
use crate::btf::{StrOffset, WireTypeId};
use crate::Endian;

/// Reads the `n`-th `u32` of a record of type `R`, or reports the record as truncated.
#[inline(always)]
fn word<R: ExtRecord>(
    endian: Endian,
    bytes: &[u8],
    n: usize,
    offset: usize,
) -> Result<u32, BtfExtError> {
    endian
        .read_u32(bytes, n * 4)
        .ok_or(BtfExtError::TruncatedRecord {
            subsection: R::SUBSECTION,
            offset,
            len: bytes.len(),
            need: R::WIRE_SIZE,
        })
}

impl ExtRecord for FuncInfo {
    const SUBSECTION: Subsection = Subsection::FuncInfo;
    const WIRE_SIZE: u32 = 8;

    #[inline(always)]
    fn decode(
        endian: Endian,
        bytes: &[u8],
        offset: usize,
        _sec_name: StrOffset,
    ) -> Result<Self, BtfExtError> {
        let w = |n| word::<Self>(endian, bytes, n, offset);
        Ok(FuncInfo {
            insn_off: SecOffset(w(0)?),
            type_id: WireTypeId(w(1)?),
        })
    }

    fn encode(&self, endian: Endian, out: &mut Vec<u8>) {
        out.extend_from_slice(&endian.u32_bytes(self.insn_off.0));
        out.extend_from_slice(&endian.u32_bytes(self.type_id.0));
    }
}

impl ExtRecord for LineInfo {
    const SUBSECTION: Subsection = Subsection::LineInfo;
    const WIRE_SIZE: u32 = 16;

    #[inline(always)]
    fn decode(
        endian: Endian,
        bytes: &[u8],
        offset: usize,
        _sec_name: StrOffset,
    ) -> Result<Self, BtfExtError> {
        let w = |n| word::<Self>(endian, bytes, n, offset);
        let (line_num, col) = LineInfo::split_line_col(w(3)?);
        Ok(LineInfo {
            insn_off: SecOffset(w(0)?),
            file_name: StrOffset(w(1)?),
            line: StrOffset(w(2)?),
            line_num,
            col,
        })
    }

    fn encode(&self, endian: Endian, out: &mut Vec<u8>) {
        out.extend_from_slice(&endian.u32_bytes(self.insn_off.0));
        out.extend_from_slice(&endian.u32_bytes(self.file_name.0));
        out.extend_from_slice(&endian.u32_bytes(self.line.0));
        out.extend_from_slice(&endian.u32_bytes(self.line_col()));
    }
}

impl ExtRecord for CoreRelo {
    const SUBSECTION: Subsection = Subsection::CoreRelo;
    const WIRE_SIZE: u32 = 16;

    #[inline(always)]
    fn decode(
        endian: Endian,
        bytes: &[u8],
        offset: usize,
        sec_name: StrOffset,
    ) -> Result<Self, BtfExtError> {
        let w = |n| word::<Self>(endian, bytes, n, offset);
        let raw_kind = w(3)?;
        let kind = CoreReloKind::from_u32(raw_kind).ok_or(BtfExtError::UnknownReloKind {
            offset,
            sec_name,
            kind: raw_kind,
        })?;
        Ok(CoreRelo {
            insn_off: SecOffset(w(0)?),
            type_id: WireTypeId(w(1)?),
            access: StrOffset(w(2)?),
            kind,
        })
    }

    fn encode(&self, endian: Endian, out: &mut Vec<u8>) {
        out.extend_from_slice(&endian.u32_bytes(self.insn_off.0));
        out.extend_from_slice(&endian.u32_bytes(self.type_id.0));
        out.extend_from_slice(&endian.u32_bytes(self.access.0));
        out.extend_from_slice(&endian.u32_bytes(self.kind.to_u32()));
    }
}
