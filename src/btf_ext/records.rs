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

/// The first `N` `u32`s of a record of type `R` at once (one bounds check for the record),
/// or the record reported as truncated.
#[inline(always)]
fn words<R: ExtRecord, const N: usize>(
    endian: Endian,
    bytes: &[u8],
    offset: usize,
) -> Result<[u32; N], BtfExtError> {
    match bytes.get(..N * 4) {
        Some(b) => {
            let mut w = [0u32; N];
            for (w, c) in w.iter_mut().zip(b.chunks_exact(4)) {
                *w = endian.u32_from([c[0], c[1], c[2], c[3]]);
            }
            Ok(w)
        }
        None => Err(BtfExtError::TruncatedRecord {
            subsection: R::SUBSECTION,
            offset,
            len: bytes.len(),
            need: R::WIRE_SIZE,
        }),
    }
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
        let [insn_off, type_id] = words::<Self, 2>(endian, bytes, offset)?;
        Ok(FuncInfo {
            insn_off: SecOffset(insn_off),
            type_id: WireTypeId(type_id),
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
        let [insn_off, file_name, line, line_col] = words::<Self, 4>(endian, bytes, offset)?;
        let (line_num, col) = LineInfo::split_line_col(line_col);
        Ok(LineInfo {
            insn_off: SecOffset(insn_off),
            file_name: StrOffset(file_name),
            line: StrOffset(line),
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
        let [insn_off, type_id, access, raw_kind] = words::<Self, 4>(endian, bytes, offset)?;
        let kind = CoreReloKind::from_u32(raw_kind).ok_or(BtfExtError::UnknownReloKind {
            offset,
            sec_name,
            kind: raw_kind,
        })?;
        Ok(CoreRelo {
            insn_off: SecOffset(insn_off),
            type_id: WireTypeId(type_id),
            access: StrOffset(access),
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
