//! Reading `.BTF.ext`: header, then each subsection's record size and groups.
//!
//! The checks follow what libbpf's `btf_ext__new` enforces (magic, version 1, zero flags,
//! `hdr_len` at least 24, subsections 4-byte aligned and inside the blob, record sizes at
//! least the known struct and a multiple of 4) with two deliberate tolerances so that
//! anything we accept re-marshals unchanged: a subsection holding only its record size, and
//! a group with `num_info == 0`, are kept rather than rejected. Lowering validates what the
//! kernel needs separately.

use super::{
    BtfExt, BtfExtError, ExtRecord, InfoGroup, InfoSection, Subsection, SubsectionLayout,
    WireLayout, BTF_EXT_MAGIC, BTF_EXT_VERSION, HEADER_LEN_CORE, HEADER_LEN_V1, MAX_REC_SIZE,
};
use crate::btf::StrOffset;
use crate::Endian;

/// Size of a group header: `sec_name_off` and `num_info`.
const GROUP_HEADER_LEN: usize = 8;

/// A subsection as parsed, with where it ended (relative to the end of the header).
struct Parsed<R> {
    section: InfoSection<R>,
    layout: SubsectionLayout,
    end: Option<usize>,
}

pub(super) fn parse(bytes: &[u8], endian: Endian) -> Result<BtfExt, BtfExtError> {
    let truncated = |need: usize| BtfExtError::TruncatedHeader {
        len: bytes.len(),
        need,
    };
    let magic = endian.read_u16(bytes, 0).ok_or_else(|| truncated(8))?;
    if magic != BTF_EXT_MAGIC {
        return Err(if magic.swap_bytes() == BTF_EXT_MAGIC {
            BtfExtError::WrongByteOrder { expected: endian }
        } else {
            BtfExtError::BadMagic { found: magic }
        });
    }
    let version = *bytes.get(2).ok_or_else(|| truncated(8))?;
    if version != BTF_EXT_VERSION {
        return Err(BtfExtError::UnsupportedVersion { version });
    }
    let flags = *bytes.get(3).ok_or_else(|| truncated(8))?;
    if flags != 0 {
        return Err(BtfExtError::UnsupportedFlags { flags });
    }
    let hdr_len = endian.read_u32(bytes, 4).ok_or_else(|| truncated(8))?;
    if hdr_len < HEADER_LEN_V1 {
        return Err(BtfExtError::HeaderTooShort { hdr_len });
    }
    let hdr_end = usize::try_from(hdr_len)
        .ok()
        .filter(|&end| end <= bytes.len())
        .ok_or(BtfExtError::HeaderPastEnd {
            hdr_len,
            len: bytes.len(),
        })?;
    let field = |off: usize| {
        endian
            .read_u32(bytes, off)
            .ok_or_else(|| truncated(off + 4))
    };

    let func = parse_info(endian, bytes, hdr_end, field(8)?, field(12)?)?;
    let line = parse_info(endian, bytes, hdr_end, field(16)?, field(20)?)?;
    let has_core = hdr_len >= HEADER_LEN_CORE;
    let core = if has_core {
        parse_info(endian, bytes, hdr_end, field(24)?, field(28)?)?
    } else {
        Parsed {
            section: InfoSection::default(),
            layout: SubsectionLayout::default(),
            end: None,
        }
    };

    let known = if has_core {
        HEADER_LEN_CORE
    } else {
        HEADER_LEN_V1
    };
    let header_tail = bytes
        .get(known as usize..hdr_end)
        .unwrap_or_default()
        .to_vec();
    let data = bytes.get(hdr_end..).unwrap_or_default();
    let data_end = [func.end, line.end, core.end]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
    let trailing = data.get(data_end..).unwrap_or_default().to_vec();

    // Record each present subsection's gap after the ones before it in offset order.
    let mut subsections = [func.layout, line.layout, core.layout];
    let ends = [func.end, line.end, core.end];
    let mut order = [0usize, 1, 2];
    order.sort_by_key(|&i| (subsections[i].off, i));
    // Subsections may not overlap: records read twice from the same bytes could not be
    // written back to the same place (and no compiler emits that).
    let names = [
        Subsection::FuncInfo,
        Subsection::LineInfo,
        Subsection::CoreRelo,
    ];
    let mut cursor = 0usize;
    let mut last: Option<usize> = None;
    for i in order {
        if let Some(end) = ends[i] {
            let off = subsections[i].off as usize;
            if let Some(prev) = last.filter(|_| off < cursor) {
                return Err(BtfExtError::OverlappingSubsections {
                    subsection: names[i],
                    off: subsections[i].off,
                    other: names[prev],
                    other_end: cursor,
                });
            }
            subsections[i].gap = u32::try_from(off.saturating_sub(cursor)).unwrap_or(0);
            if end > cursor {
                cursor = end;
                last = Some(i);
            }
        }
    }

    Ok(BtfExt {
        endian,
        func_info: func.section,
        line_info: line.section,
        core_relo: core.section,
        layout: WireLayout {
            hdr_len,
            header_tail,
            subsections,
            trailing,
        },
    })
}

/// Parses one subsection at `off`/`len` (relative to `hdr_end`, the end of the header).
fn parse_info<R: ExtRecord>(
    endian: Endian,
    bytes: &[u8],
    hdr_end: usize,
    off: u32,
    len: u32,
) -> Result<Parsed<R>, BtfExtError> {
    let subsection = R::SUBSECTION;
    if len == 0 {
        return Ok(Parsed {
            section: InfoSection::default(),
            layout: SubsectionLayout {
                off,
                gap: 0,
                present: false,
            },
            end: None,
        });
    }
    if !off.is_multiple_of(4) {
        return Err(BtfExtError::MisalignedSubsection { subsection, off });
    }
    let data_len = bytes.len().saturating_sub(hdr_end);
    let past_end = BtfExtError::SubsectionPastEnd {
        subsection,
        off,
        len,
        data_len,
    };
    let rel_start = off as usize;
    let rel_end = rel_start
        .checked_add(len as usize)
        .filter(|&end| end <= data_len)
        .ok_or_else(|| past_end.clone())?;
    let start = hdr_end + rel_start;
    let sub = bytes.get(start..hdr_end + rel_end).ok_or(past_end)?;

    let rec_size = endian
        .read_u32(sub, 0)
        .ok_or(BtfExtError::MissingRecordSize {
            subsection,
            offset: start,
            len,
        })?;
    if rec_size < R::WIRE_SIZE {
        return Err(BtfExtError::RecordSizeTooSmall {
            subsection,
            offset: start,
            rec_size,
            min: R::WIRE_SIZE,
        });
    }
    if rec_size % 4 != 0 {
        return Err(BtfExtError::RecordSizeUnaligned {
            subsection,
            offset: start,
            rec_size,
        });
    }
    if rec_size > MAX_REC_SIZE {
        return Err(BtfExtError::RecordSizeAbsurd {
            subsection,
            offset: start,
            rec_size,
            max: MAX_REC_SIZE,
        });
    }
    let rec_len = rec_size as usize;
    let known_len = R::WIRE_SIZE as usize;

    let mut groups = Vec::new();
    let mut pos = 4usize;
    while pos < sub.len() {
        let left = sub.len() - pos;
        let group_offset = start + pos;
        let (sec_name, num_info) = match (endian.read_u32(sub, pos), endian.read_u32(sub, pos + 4))
        {
            (Some(name), Some(n)) if left >= GROUP_HEADER_LEN => (StrOffset(name), n),
            _ => {
                return Err(BtfExtError::TruncatedGroupHeader {
                    subsection,
                    offset: group_offset,
                    left,
                })
            }
        };
        pos += GROUP_HEADER_LEN;
        let left = sub.len() - pos;
        let overrun = BtfExtError::RecordsOverrun {
            subsection,
            offset: group_offset,
            sec_name,
            num_info,
            rec_size,
            left,
        };
        // Checked before allocating: the records must be present in the bytes we hold.
        let body_len = (num_info as usize)
            .checked_mul(rec_len)
            .filter(|&n| n <= left)
            .ok_or_else(|| overrun.clone())?;
        let body = sub.get(pos..pos + body_len).ok_or(overrun)?;
        let n = num_info as usize;
        let mut records = Vec::with_capacity(n);
        let mut extra = Vec::with_capacity(n * (rec_len - known_len));
        let at = |i: usize| start + pos + i * rec_len;
        if rec_len == known_len {
            // Records of the size we know (what compilers write): no extra bytes to keep.
            for (i, rec) in body.chunks_exact(rec_len).enumerate() {
                records.push(R::decode(endian, rec, at(i), sec_name)?);
            }
        } else {
            for (i, rec) in body.chunks_exact(rec_len).enumerate() {
                let (known, more) = rec.split_at(known_len);
                records.push(R::decode(endian, known, at(i), sec_name)?);
                extra.extend_from_slice(more);
            }
        }
        pos += body_len;
        groups.push(InfoGroup {
            sec_name,
            records,
            extra,
        });
    }

    Ok(Parsed {
        section: InfoSection { rec_size, groups },
        layout: SubsectionLayout {
            off,
            gap: 0,
            present: true,
        },
        end: Some(rel_end),
    })
}
