//! Writing `.BTF.ext`: the header, then the subsections where the layout memo says.
//!
//! One pass over the records, one output buffer. Subsections are written in the order of
//! their recorded offsets, each after the previous one plus its recorded gap, so an
//! unmodified parse comes back byte for byte and an edited one has no holes. A
//! `rec_size` below the known struct or not a multiple of 4 (only possible after an edit)
//! is raised to the next valid size, and per-record extra bytes missing after an edit are
//! written as zeros.

use super::{
    BtfExt, ExtRecord, InfoSection, WireLayout, HEADER_LEN_CORE, HEADER_LEN_V1, MAX_REC_SIZE,
};
use crate::Endian;

/// Converts a length to the `u32` the header holds; blobs never approach 4 GiB, and if one
/// did the value saturates rather than wrapping.
fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub(super) fn to_bytes(ext: &BtfExt) -> Vec<u8> {
    let endian = ext.endian;
    let layout = &ext.layout;
    let bodies = [
        encode_info(&ext.func_info, layout.subsections[0].present, endian),
        encode_info(&ext.line_info, layout.subsections[1].present, endian),
        encode_info(&ext.core_relo, layout.subsections[2].present, endian),
    ];
    let (hdr_len, header_tail) = header_form(layout, bodies[2].is_some());

    // Place the subsections relative to the end of the header.
    let mut order = [0usize, 1, 2];
    order.sort_by_key(|&i| (layout.subsections[i].off, i));
    let mut data = Vec::new();
    let mut placed = [(0u32, 0u32); 3];
    for i in order {
        let recorded = layout.subsections[i];
        match &bodies[i] {
            None => placed[i] = (recorded.off, 0),
            Some(body) => {
                let start = (data.len() + recorded.gap as usize).next_multiple_of(4);
                data.resize(start, 0);
                data.extend_from_slice(body);
                placed[i] = (len_u32(start), len_u32(body.len()));
            }
        }
    }
    data.extend_from_slice(&layout.trailing);

    let mut out = Vec::with_capacity(hdr_len as usize + data.len());
    out.extend_from_slice(&endian.u16_bytes(super::BTF_EXT_MAGIC));
    out.push(super::BTF_EXT_VERSION);
    out.push(0);
    out.extend_from_slice(&endian.u32_bytes(hdr_len));
    let n_fields = if hdr_len >= HEADER_LEN_CORE { 3 } else { 2 };
    for &(off, len) in placed.iter().take(n_fields) {
        out.extend_from_slice(&endian.u32_bytes(off));
        out.extend_from_slice(&endian.u32_bytes(len));
    }
    out.extend_from_slice(&header_tail);
    out.extend_from_slice(&data);
    out
}

/// The header length to write and the bytes past the known fields.
fn header_form(layout: &WireLayout, has_core: bool) -> (u32, Vec<u8>) {
    let mut hdr_len = if layout.hdr_len == 0 {
        HEADER_LEN_CORE
    } else {
        layout.hdr_len.max(HEADER_LEN_V1)
    };
    let mut tail = layout.header_tail.clone();
    if has_core && hdr_len < HEADER_LEN_CORE {
        // The short header cannot say where core_relo is; grow it and drop the old tail,
        // which would otherwise be taken for the core_relo offset and length.
        hdr_len = HEADER_LEN_CORE;
        tail.clear();
    }
    let known = if hdr_len >= HEADER_LEN_CORE {
        HEADER_LEN_CORE
    } else {
        HEADER_LEN_V1
    };
    tail.resize((hdr_len - known) as usize, 0);
    (hdr_len, tail)
}

/// The subsection's bytes (record size, then groups), or `None` when it is to be absent.
fn encode_info<R: ExtRecord>(
    section: &InfoSection<R>,
    present: bool,
    endian: Endian,
) -> Option<Vec<u8>> {
    if section.groups.is_empty() && !present {
        return None;
    }
    let rec_size = section
        .rec_size
        .clamp(R::WIRE_SIZE, MAX_REC_SIZE)
        .next_multiple_of(4);
    let extra_len = (rec_size - R::WIRE_SIZE) as usize;
    let n_records: usize = section.groups.iter().map(|g| g.records.len()).sum();
    let mut out = Vec::with_capacity(4 + section.groups.len() * 8 + n_records * rec_size as usize);
    out.extend_from_slice(&endian.u32_bytes(rec_size));
    for group in &section.groups {
        out.extend_from_slice(&endian.u32_bytes(group.sec_name.0));
        out.extend_from_slice(&endian.u32_bytes(len_u32(group.records.len())));
        for (i, record) in group.records.iter().enumerate() {
            record.encode(endian, &mut out);
            if extra_len > 0 {
                let from = i * extra_len;
                let kept = group
                    .extra
                    .get(from..)
                    .map(|rest| &rest[..rest.len().min(extra_len)])
                    .unwrap_or_default();
                out.extend_from_slice(kept);
                out.resize(out.len() + extra_len - kept.len(), 0);
            }
        }
    }
    Some(out)
}
