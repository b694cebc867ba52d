//! Reading a BTF blob into a [`Btf`].
//!
//! One pass over the type section checks every record and notes its offset: the kind is
//! known, the record and its items fit, fields the format leaves unused are zero (as the
//! kernel requires; that keeps the model lossless), encodings and linkages are valid, every
//! string offset is inside the string section and every referenced type id exists. Type ids
//! are checked against the type count, known only at the end, through the largest id
//! referenced anywhere; only when that one is out of range does a second, slow pass find the
//! first culprit to name it in the error. The pass is monomorphized per byte order so the
//! hot loop has no byte-order branch. The pass also notes, in bit 0 of each record's entry
//! in the offsets table, whether the type is a named type of the type name index, so that
//! building that index later visits those types only. Then the type and string sections are
//! copied once each; the offsets vector is allocated before them (sized for the most records
//! the section could hold, then shrunk), so the peak heap is the sections plus 4 bytes per
//! type.

use std::sync::Arc;

use super::error::{BtfError, Result};
use super::lookup::{self, NamedHint};
use super::record::{KIND_SHAPE, NAMED_TYPE};
use super::strings::StringTable;
use super::types::raw_id;
use super::{Btf, Kind, Layout, TypeKind, HEADER_LEN, MAGIC};
use super::{SectionKind, KIND_LAYOUT_HEADER_LEN};
use crate::Endian;

/// A byte order fixed at compile time.
trait Order {
    const ENDIAN: Endian;
    fn u32(b: [u8; 4]) -> u32;
}

struct Le;
struct Be;

impl Order for Le {
    const ENDIAN: Endian = Endian::Little;
    #[inline(always)]
    fn u32(b: [u8; 4]) -> u32 {
        u32::from_le_bytes(b)
    }
}

impl Order for Be {
    const ENDIAN: Endian = Endian::Big;
    #[inline(always)]
    fn u32(b: [u8; 4]) -> u32 {
        u32::from_be_bytes(b)
    }
}

/// Reads the `i`-th u32 of a fixed-size record: with `i` a constant, no bounds check is left.
#[inline(always)]
fn at<O: Order, const N: usize>(rec: &[u8; N], i: usize) -> u32 {
    O::u32([rec[4 * i], rec[4 * i + 1], rec[4 * i + 2], rec[4 * i + 3]])
}

/// Where the sections are, from the header.
struct Header {
    endian: Endian,
    layout: Layout,
    types: std::ops::Range<usize>,
    strings: std::ops::Range<usize>,
}

fn header(bytes: &[u8]) -> Result<Header> {
    let truncated = |need| BtfError::Truncated {
        what: "header",
        offset: 0,
        need,
        have: bytes.len(),
    };
    let magic = Endian::Little.read_u16(bytes, 0).ok_or(truncated(2))?;
    let endian = if magic == MAGIC {
        Endian::Little
    } else if magic == MAGIC.swap_bytes() {
        Endian::Big
    } else {
        return Err(BtfError::BadMagic { found: magic });
    };
    if bytes.len() < HEADER_LEN as usize {
        return Err(truncated(HEADER_LEN as usize));
    }
    let version = bytes[2];
    if version != 1 {
        return Err(BtfError::UnsupportedVersion { version });
    }
    let flags = bytes[3];
    let r = |off| endian.read_u32(bytes, off).unwrap_or(0);
    let hdr_len = r(4);
    if hdr_len < HEADER_LEN || hdr_len as usize > bytes.len() {
        return Err(BtfError::BadHeader {
            reason: format!(
                "header length {hdr_len} is not between {HEADER_LEN} and the blob size {}",
                bytes.len()
            ),
        });
    }
    // Newer kernels' 32-byte header adds the kind layout section; anything past that must
    // be zero, as the kernel requires of fields it does not know.
    let known = if hdr_len >= KIND_LAYOUT_HEADER_LEN {
        KIND_LAYOUT_HEADER_LEN
    } else {
        HEADER_LEN
    };
    if bytes[known as usize..hdr_len as usize]
        .iter()
        .any(|&b| b != 0)
    {
        return Err(BtfError::BadHeader {
            reason: format!(
                "header of {hdr_len} bytes has unknown non-zero fields past byte {known}"
            ),
        });
    }
    let data_len = bytes.len() as u64 - hdr_len as u64;
    let section = |name: &str, off: u32, len: u32| -> Result<std::ops::Range<usize>> {
        let end = off as u64 + len as u64;
        if end > data_len {
            return Err(BtfError::BadHeader {
                reason: format!(
                    "{name} section [{off}, {end}) runs past the {data_len} bytes after the header"
                ),
            });
        }
        let start = hdr_len as usize + off as usize;
        Ok(start..start + len as usize)
    };
    let (type_off, type_len) = (r(8), r(12));
    let types = section("type", type_off, type_len)?;
    let strings = section("string", r(16), r(20))?;
    let (layout_off, layout_len) = if known == KIND_LAYOUT_HEADER_LEN {
        (r(24), r(28))
    } else {
        (0, 0)
    };
    let kind_layout = section("kind layout", layout_off, layout_len)?;
    let mut placed = vec![
        (types.clone(), SectionKind::Types, "type"),
        (strings.clone(), SectionKind::Strings, "string"),
    ];
    if layout_len > 0 {
        placed.push((kind_layout.clone(), SectionKind::KindLayout, "kind layout"));
    }
    placed.sort_by_key(|(r, k, _)| (r.start, *k));
    for pair in placed.windows(2) {
        let ((a, _, an), (b, _, bn)) = (&pair[0], &pair[1]);
        if a.end > b.start && !a.is_empty() && !b.is_empty() {
            return Err(BtfError::BadHeader {
                reason: format!(
                    "{an} section [{}, {}) overlaps {bn} section [{}, {})",
                    a.start, a.end, b.start, b.end
                ),
            });
        }
    }
    if type_off % 4 != 0 || type_len % 4 != 0 {
        return Err(BtfError::BadHeader {
            reason: format!(
                "type section offset {type_off} or length {type_len} is not 4-byte aligned"
            ),
        });
    }
    Ok(Header {
        endian,
        layout: Layout {
            flags,
            hdr_len,
            order: placed.iter().map(|(_, k, _)| *k).collect(),
            kind_layout: bytes[kind_layout].to_vec(),
            // An empty kind layout's offset is kept for a byte-identical re-marshal, but
            // never past the sections the marshaller writes (they close up any gaps), or
            // the marshalled BTF would not parse.
            empty_kind_layout_off: if layout_len == 0 {
                layout_off.min(type_len.saturating_add(r(20)))
            } else {
                0
            },
        },
        types,
        strings,
    })
}

pub(super) fn parse(bytes: &[u8], base: Option<Arc<Btf>>) -> Result<Btf> {
    let h = header(bytes)?;
    match h.endian {
        Endian::Little => parse_as::<Le>(bytes, h, base),
        Endian::Big => parse_as::<Be>(bytes, h, base),
    }
}

/// Error context of the record being checked.
struct Ctx {
    type_id: u32,
    offset: usize,
    kind: Kind,
}

impl Ctx {
    #[cold]
    fn invalid(&self, field: &'static str, value: u32) -> BtfError {
        BtfError::InvalidField {
            type_id: self.type_id,
            kind: self.kind,
            offset: self.offset,
            field,
            value,
        }
    }

    #[inline(always)]
    fn zero(&self, field: &'static str, value: u32) -> Result<()> {
        if value == 0 {
            Ok(())
        } else {
            Err(self.invalid(field, value))
        }
    }
}

/// Fast-check rules per wire kind (bits): `vlen` must be 0, `kind_flag` must be 0, the
/// size/type word must be 0, the size/type word is a type id; [`UNKNOWN`] for kinds BTF
/// does not define.
const VLEN0: u8 = 1;
const FLAG0: u8 = 2;
const SOT0: u8 = 4;
const SOT_REF: u8 = 8;
const UNKNOWN: u8 = u8::MAX;
const RULES: [u8; 32] = {
    let mut t = [UNKNOWN; 32];
    t[1] = VLEN0 | FLAG0; // INT
    t[2] = VLEN0 | FLAG0 | SOT_REF; // PTR
    t[3] = VLEN0 | FLAG0 | SOT0; // ARRAY
    t[4] = 0; // STRUCT
    t[5] = 0; // UNION
    t[6] = 0; // ENUM
    t[7] = VLEN0 | SOT0; // FWD
    t[8] = VLEN0 | FLAG0 | SOT_REF; // TYPEDEF
    t[9] = VLEN0 | FLAG0 | SOT_REF; // VOLATILE
    t[10] = VLEN0 | FLAG0 | SOT_REF; // CONST
    t[11] = VLEN0 | FLAG0 | SOT_REF; // RESTRICT
    t[12] = FLAG0 | SOT_REF; // FUNC (vlen: linkage)
    t[13] = FLAG0 | SOT_REF; // FUNC_PROTO
    t[14] = VLEN0 | FLAG0 | SOT_REF; // VAR
    t[15] = FLAG0; // DATASEC
    t[16] = VLEN0 | FLAG0; // FLOAT
    t[17] = VLEN0 | SOT_REF; // DECL_TAG
    t[18] = VLEN0 | SOT_REF; // TYPE_TAG
    t[19] = 0; // ENUM64
    t
};

/// What else the fast check looks at, per wire kind.
const S_NONE: u8 = 0;
const S_INT: u8 = 1;
const S_ARRAY: u8 = 2;
const S_MEMBERS: u8 = 3;
const S_ENUM: u8 = 4;
const S_ENUM64: u8 = 5;
const S_FUNC: u8 = 6;
const S_PROTO: u8 = 7;
const S_VAR: u8 = 8;
const S_DATASEC: u8 = 9;
/// A known kind that is the bare 12-byte header with no field checked beyond the masks and
/// FUNC's linkage (set in [`FAST`] for PTR, FWD, TYPEDEF, the qualifiers, FUNC, FLOAT and
/// TYPE_TAG).
const S_BARE: u8 = 10;
const SPECIAL: [u8; 32] = {
    let mut t = [S_NONE; 32];
    t[1] = S_INT;
    t[3] = S_ARRAY;
    t[4] = S_MEMBERS;
    t[5] = S_MEMBERS;
    t[6] = S_ENUM;
    t[12] = S_FUNC;
    t[13] = S_PROTO;
    t[14] = S_VAR;
    t[15] = S_DATASEC;
    t[19] = S_ENUM64;
    t
};

/// Everything the fast check needs of one wire kind, in one table entry.
#[derive(Clone, Copy)]
struct FastRule {
    /// Bits of the info word that must be zero (reserved bits, and `vlen` / `kind_flag`
    /// where the kind has no use for them).
    info_zero: u32,
    /// All ones when the size/type word must be zero.
    sot_zero: u32,
    /// All ones when the size/type word is a type id.
    sot_ref: u32,
    /// All ones when `vlen` is a linkage (at most 2: FUNC).
    vlen_linkage: u32,
    fixed: u8,
    per_item: u8,
    special: u8,
    known: bool,
    /// [`NAMED_TYPE`] for the kinds of the type name index
    /// ([`lookup::TYPES`]), else 0.
    type_class: u32,
}

/// All ones when `set`.
const fn all(set: bool) -> u32 {
    if set {
        u32::MAX
    } else {
        0
    }
}

const FAST: [FastRule; 32] = {
    let unknown = FastRule {
        info_zero: 0,
        sot_zero: 0,
        sot_ref: 0,
        vlen_linkage: 0,
        fixed: 0,
        per_item: 0,
        special: S_NONE,
        known: false,
        type_class: 0,
    };
    let mut t = [unknown; 32];
    let mut k = 0;
    while k < 32 {
        let rule = RULES[k];
        if rule != UNKNOWN {
            t[k] = FastRule {
                info_zero: 0x60ff_0000
                    | (all(rule & VLEN0 != 0) & 0xffff)
                    | (all(rule & FLAG0 != 0) & 0x8000_0000),
                sot_zero: all(rule & SOT0 != 0),
                sot_ref: all(rule & SOT_REF != 0),
                vlen_linkage: all(SPECIAL[k] == S_FUNC),
                fixed: KIND_SHAPE[k].0,
                per_item: KIND_SHAPE[k].1,
                special: if (SPECIAL[k] == S_NONE || SPECIAL[k] == S_FUNC)
                    && KIND_SHAPE[k].0 == 0
                    && KIND_SHAPE[k].1 == 0
                {
                    S_BARE
                } else {
                    SPECIAL[k]
                },
                known: true,
                type_class: if lookup::class_of(k as u32) == lookup::TYPES {
                    NAMED_TYPE
                } else {
                    0
                },
            };
        }
        k += 1;
    }
    t
};

/// The exact check of the record at `off` (the one [`parse_as`]'s fast check found fault
/// with), as the error it reports: the first rule the record breaks, in a fixed order.
#[cold]
#[inline(never)]
fn record_error<O: Order>(sec: &[u8], off: usize, id: u32, str_end: u32) -> BtfError {
    match check_record::<O>(sec, off, id, str_end) {
        Err(e) => e,
        // The fast check and this one disagree: still an error, never a silent accept.
        Ok(()) => BtfError::InvalidField {
            type_id: id,
            kind: Kind::Void,
            offset: off,
            field: "record",
            value: 0,
        },
    }
}

fn check_record<O: Order>(sec: &[u8], off: usize, id: u32, str_end: u32) -> Result<()> {
    let rest = sec.get(off..).unwrap_or_default();
    let Some((hdr, tail)) = rest.split_first_chunk::<12>() else {
        return Err(BtfError::Truncated {
            what: "type record",
            offset: off,
            need: 12,
            have: rest.len(),
        });
    };
    let name = at::<O, 12>(hdr, 0);
    let info = at::<O, 12>(hdr, 1);
    let sot = at::<O, 12>(hdr, 2);
    let wire_kind = ((info >> 24) & 0x1f) as u8;
    let vlen = info & 0xffff;
    let flag = info >> 31;
    let (fixed, per_item) = KIND_SHAPE[wire_kind as usize];
    let kind = match Kind::from_wire(wire_kind) {
        Some(k) if fixed != u8::MAX => k,
        _ => {
            return Err(BtfError::UnknownKind {
                type_id: id,
                offset: off,
                kind: wire_kind,
            })
        }
    };
    let extra = fixed as usize + per_item as usize * vlen as usize;
    let Some(items) = tail.get(..extra) else {
        return Err(BtfError::Truncated {
            what: "type record",
            offset: off,
            need: 12 + extra,
            have: rest.len(),
        });
    };
    let c = Ctx {
        type_id: id,
        offset: off,
        kind,
    };
    c.zero("info reserved bits", info & 0x60ff_0000)?;
    let fixed_word = || items.first_chunk::<4>().map_or(0, |w| at::<O, 4>(w, 0));
    let mut max_name = name;
    match kind {
        Kind::Int => {
            c.zero("vlen", vlen)?;
            c.zero("kind_flag", flag)?;
            let v = fixed_word();
            c.zero("int data reserved bits", v & 0xf000_ff00)?;
            let encoding = (v >> 24) & 0xf;
            if !matches!(encoding, 0 | 1 | 2 | 4) {
                return Err(c.invalid("int encoding", encoding));
            }
        }
        Kind::Ptr | Kind::Typedef | Kind::Volatile | Kind::Const | Kind::Restrict => {
            c.zero("vlen", vlen)?;
            c.zero("kind_flag", flag)?;
        }
        Kind::TypeTag => {
            c.zero("vlen", vlen)?;
        }
        Kind::Array => {
            c.zero("vlen", vlen)?;
            c.zero("kind_flag", flag)?;
            c.zero("size", sot)?;
        }
        Kind::Struct | Kind::Union => {
            for m in items.as_chunks::<12>().0 {
                max_name = max_name.max(at::<O, 12>(m, 0));
            }
        }
        Kind::Enum => {
            for e in items.as_chunks::<8>().0 {
                max_name = max_name.max(at::<O, 8>(e, 0));
            }
        }
        Kind::Enum64 => {
            for e in items.as_chunks::<12>().0 {
                max_name = max_name.max(at::<O, 12>(e, 0));
            }
        }
        Kind::Fwd => {
            c.zero("vlen", vlen)?;
            c.zero("type", sot)?;
        }
        Kind::Func => {
            c.zero("kind_flag", flag)?;
            if vlen > 2 {
                return Err(c.invalid("linkage", vlen));
            }
        }
        Kind::FuncProto => {
            c.zero("kind_flag", flag)?;
            for p in items.as_chunks::<8>().0 {
                max_name = max_name.max(at::<O, 8>(p, 0));
            }
        }
        Kind::Var => {
            c.zero("vlen", vlen)?;
            c.zero("kind_flag", flag)?;
            let l = fixed_word();
            if l > 2 {
                return Err(c.invalid("linkage", l));
            }
        }
        Kind::Datasec => {
            c.zero("kind_flag", flag)?;
        }
        Kind::Float => {
            c.zero("vlen", vlen)?;
            c.zero("kind_flag", flag)?;
        }
        Kind::DeclTag => {
            c.zero("vlen", vlen)?;
        }
        Kind::Void => return Err(c.invalid("kind", 0)),
    }
    if max_name >= str_end {
        return Err(BtfError::StrOffsetOutOfRange {
            type_id: id,
            str_offset: max_name,
            str_len: str_end,
        });
    }
    Ok(())
}

fn parse_as<O: Order>(bytes: &[u8], h: Header, base: Option<Arc<Btf>>) -> Result<Btf> {
    let sec = &bytes[h.types.clone()];
    let str_sec = &bytes[h.strings.clone()];
    let (first_id, base_str_len) = match &base {
        Some(b) => (b.n_types(), b.strings.end()),
        None => (1, 0),
    };
    StringTable::check_section(str_sec, base_str_len)?;
    // Cannot overflow: check_section bounds the combined length by u32::MAX.
    let str_end = base_str_len + str_sec.len() as u32;

    // At most one record per 12 bytes; shrunk once the count is known, before the sections
    // are copied, so the peak stays the sections plus the final offsets.
    let mut offsets: Vec<u32> = Vec::with_capacity(sec.len() / 12 + usize::from(base.is_none()));
    if base.is_none() {
        offsets.push(0); // void
    }
    let mut max_ty = 0u32;
    let mut off = 0usize;
    // The id of the record at `off`, for errors (the loop does not count: `offsets` does).
    let void = usize::from(base.is_none());
    let id_at = |offsets: &Vec<u32>| first_id.saturating_add((offsets.len() - void) as u32);
    while off < sec.len() {
        let rest = &sec[off..];
        let Some((hdr, tail)) = rest.split_first_chunk::<12>() else {
            return Err(record_error::<O>(sec, off, id_at(&offsets), str_end));
        };
        let name = at::<O, 12>(hdr, 0);
        let info = at::<O, 12>(hdr, 1);
        let sot = at::<O, 12>(hdr, 2);
        let r = &FAST[((info >> 24) & 0x1f) as usize];
        // Most records (FUNC, PTR, qualifiers, typedefs: ~60 % of vmlinux) are the bare
        // 12-byte header: their whole check is three masks and two comparisons.
        if r.special == S_BARE {
            let bad = (info & r.info_zero)
                | (sot & r.sot_zero)
                | (r.vlen_linkage & u32::from(info & 0xffff > 2))
                | u32::from(name >= str_end);
            if bad != 0 {
                return Err(record_error::<O>(sec, off, id_at(&offsets), str_end));
            }
            max_ty = max_ty.max(sot & r.sot_ref);
            // The type section is at most u32::MAX bytes long (its length is a u32); a record's
            // offset is a multiple of 4, and bit 0 takes the `NAMED_TYPE` note.
            offsets.push(off as u32 | (u32::from(name != 0) & r.type_class));
            off += 12;
            continue;
        }
        let vlen = info & 0xffff;
        let extra = r.fixed as usize + r.per_item as usize * vlen as usize;
        let items = match tail.get(..extra) {
            Some(items) if r.known => items,
            _ => return Err(record_error::<O>(sec, off, id_at(&offsets), str_end)),
        };
        // Every rule of the kind, without a branch: `bad` collects what must be zero.
        let mut bad = (info & r.info_zero) | (sot & r.sot_zero);
        max_ty = max_ty.max(sot & r.sot_ref);
        let mut max_name = name;
        let fixed_word = || items.first_chunk::<4>().map_or(0, |w| at::<O, 4>(w, 0));
        match r.special {
            S_INT => {
                let v = fixed_word();
                let encoding = (v >> 24) & 0xf;
                bad |= (v & 0xf000_ff00) | u32::from(!matches!(encoding, 0 | 1 | 2 | 4));
            }
            S_ARRAY => {
                if let Some(a) = items.first_chunk::<12>() {
                    max_ty = max_ty.max(at::<O, 12>(a, 0)).max(at::<O, 12>(a, 1));
                }
            }
            // As for prototypes below: most structs and unions have at most six members
            // (vmlinux: 80 %) and most enums at most four enumerators, read from a masked
            // window of six or four.
            S_MEMBERS => match tail.first_chunk::<72>() {
                Some(w) if vlen <= 6 => {
                    for i in 0..6 {
                        let member = all(i < vlen);
                        max_name = max_name.max(at::<O, 72>(w, 3 * i as usize) & member);
                        max_ty = max_ty.max(at::<O, 72>(w, 3 * i as usize + 1) & member);
                    }
                }
                _ => {
                    for m in items.as_chunks::<12>().0 {
                        max_name = max_name.max(at::<O, 12>(m, 0));
                        max_ty = max_ty.max(at::<O, 12>(m, 1));
                    }
                }
            },
            S_ENUM => match tail.first_chunk::<32>() {
                Some(w) if vlen <= 4 => {
                    for i in 0..4 {
                        max_name = max_name.max(at::<O, 32>(w, 2 * i as usize) & all(i < vlen));
                    }
                }
                _ => {
                    for e in items.as_chunks::<8>().0 {
                        max_name = max_name.max(at::<O, 8>(e, 0));
                    }
                }
            },
            S_ENUM64 => {
                for e in items.as_chunks::<12>().0 {
                    max_name = max_name.max(at::<O, 12>(e, 0));
                }
            }
            S_FUNC => bad |= u32::from(vlen > 2),
            S_PROTO => match tail.first_chunk::<48>() {
                // Most prototypes have at most six parameters: those are read from a
                // window of six, masked past the record's own, so that no loop ends after
                // a number of parameters that no predictor could learn.
                Some(w) if vlen <= 6 => {
                    for i in 0..6 {
                        let param = all(i < vlen);
                        max_name = max_name.max(at::<O, 48>(w, 2 * i as usize) & param);
                        max_ty = max_ty.max(at::<O, 48>(w, 2 * i as usize + 1) & param);
                    }
                }
                _ => {
                    for p in items.as_chunks::<8>().0 {
                        max_name = max_name.max(at::<O, 8>(p, 0));
                        max_ty = max_ty.max(at::<O, 8>(p, 1));
                    }
                }
            },
            S_VAR => bad |= u32::from(fixed_word() > 2),
            S_DATASEC => {
                for v in items.as_chunks::<12>().0 {
                    max_ty = max_ty.max(at::<O, 12>(v, 0));
                }
            }
            _ => {}
        }
        if (bad | u32::from(max_name >= str_end)) != 0 {
            return Err(record_error::<O>(sec, off, id_at(&offsets), str_end));
        }
        // The type section is at most u32::MAX bytes long (its length is a u32); a record's
        // offset is a multiple of 4, and bit 0 takes the `NAMED_TYPE` note.
        offsets.push(off as u32 | (u32::from(name != 0) & r.type_class));
        off += 12 + extra;
    }
    let n_types = u32::try_from(first_id as u64 + (offsets.len() - void) as u64)
        .ok()
        .ok_or(BtfError::TooMany {
            what: "types",
            limit: u32::MAX as u64,
        })?;
    offsets.shrink_to_fit();

    let start_id = if base.is_some() { first_id } else { 0 };
    let strings = StringTable::from_checked(str_sec, base_str_len);
    let n_local = offsets.len();
    let mut btf = Btf::assemble(
        O::ENDIAN,
        h.layout,
        base,
        start_id,
        (sec.to_vec(), offsets),
        strings,
    );
    btf.type_names = NamedHint::new(n_local);
    if max_ty >= n_types {
        return Err(first_bad_ref(&btf));
    }
    Ok(btf)
}

/// The first type (in id order) that refers to a type id past the last one, as an error.
/// Only called once the largest referenced id is known to be out of range.
#[cold]
fn first_bad_ref(btf: &Btf) -> BtfError {
    let n = btf.n_types();
    for (id, t) in btf.own_types() {
        let refs: Vec<u32> = match t.kind {
            TypeKind::Array { elem, index, .. } => vec![raw_id(elem), raw_id(index)],
            TypeKind::Struct { .. } | TypeKind::Union { .. } => {
                btf.members(id).iter().map(|m| raw_id(m.ty)).collect()
            }
            TypeKind::FuncProto { ret, .. } => std::iter::once(raw_id(ret))
                .chain(btf.params(id).iter().map(|p| raw_id(p.ty)))
                .collect(),
            TypeKind::Datasec { .. } => btf.datasec_vars(id).iter().map(|v| raw_id(v.ty)).collect(),
            ref k => k.referenced().map(raw_id).into_iter().collect(),
        };
        if let Some(&bad) = refs.iter().find(|&&r| r >= n) {
            return BtfError::TypeIdOutOfRange {
                type_id: raw_id(id),
                referenced: bad,
                n_types: n,
            };
        }
    }
    BtfError::TypeIdOutOfRange {
        type_id: 0,
        referenced: n,
        n_types: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::{IntEncoding, Linkage, NewMember, VarSecinfo};

    /// A blob with a type of every kind.
    fn every_kind() -> Vec<u8> {
        let mut b = Btf::new(Endian::Little);
        let int = b.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
        let ptr = b.add_ptr(int).unwrap();
        b.add_array(int, int, 4).unwrap();
        let s = b
            .add_struct(
                "s",
                8,
                &[NewMember::new("a", int, 0), NewMember::new("p", ptr, 32)],
            )
            .unwrap();
        b.add_union("u", 4, &[NewMember::new("a", int, 0)]).unwrap();
        b.add_enum("e", 4, false, &[("A", 1), ("B", 2)]).unwrap();
        b.add_enum("e64", 8, false, &[("C", 1 << 40)]).unwrap();
        b.add_type("f", TypeKind::Fwd { union: true }).unwrap();
        b.add_typedef("t", s).unwrap();
        b.add_type("", TypeKind::Volatile(int)).unwrap();
        b.add_type("", TypeKind::Const(int)).unwrap();
        b.add_type("", TypeKind::Restrict(ptr)).unwrap();
        let proto = b.add_func_proto(int, &[("x", int)]).unwrap();
        // Items past the windows the fast check reads (six members or parameters, four
        // enumerators), then records with windows that run into the next record.
        let many: Vec<NewMember> = ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .enumerate()
            .map(|(i, n)| NewMember::new(n, int, 32 * i as u32))
            .collect();
        b.add_struct("wide", 32, &many).unwrap();
        b.add_func_proto(
            int,
            &[
                ("a", int),
                ("b", ptr),
                ("c", int),
                ("d", int),
                ("e", int),
                ("f", int),
                ("g", ptr),
            ],
        )
        .unwrap();
        b.add_enum(
            "e5",
            4,
            true,
            &[("P", 1), ("Q", 2), ("R", 3), ("S", 4), ("T", 5)],
        )
        .unwrap();
        b.add_func_proto(ptr, &[("y", int), ("z", ptr)]).unwrap();
        b.add_func("fn", proto, Linkage::Global).unwrap();
        let v = b.add_var("v", int, Linkage::Static).unwrap();
        b.add_datasec(
            ".data",
            4,
            &[VarSecinfo {
                ty: v,
                offset: 0,
                size: 4,
            }],
        )
        .unwrap();
        b.add_type("float", TypeKind::Float { size: 8 }).unwrap();
        b.add_type(
            "tag",
            TypeKind::DeclTag {
                ty: s,
                component_idx: -1,
                attribute: false,
            },
        )
        .unwrap();
        b.add_type(
            "tt",
            TypeKind::TypeTag {
                ty: int,
                attribute: false,
            },
        )
        .unwrap();
        b.to_bytes()
    }

    /// The fast check and the exact one agree: every corruption the fast one refuses, the
    /// exact one names (never the catch-all), and every record of a blob the parser accepts
    /// passes the exact check.
    #[test]
    fn fast_and_exact_checks_agree_on_corrupted_records() {
        let blob = every_kind();
        let h = header(&blob).unwrap();
        let types = h.types.clone();
        let str_end = h.strings.len() as u32;
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let words = types.len() / 4;
        for _ in 0..20_000 {
            let mut b = blob.clone();
            let w = types.start + 4 * (next() as usize % words);
            let r = next();
            let value: u32 = match r % 4 {
                0 => r as u32 >> 8,
                1 => 1 << ((r >> 8) % 32),
                2 => u32::from_le_bytes(b[w..w + 4].try_into().unwrap()) ^ (1 << ((r >> 8) % 32)),
                _ => (r >> 8) as u32 % 64,
            };
            b[w..w + 4].copy_from_slice(&value.to_le_bytes());
            match Btf::parse(&b) {
                Err(BtfError::InvalidField {
                    field: "record", ..
                }) => {
                    panic!("fast and exact checks disagree at word {w} = {value:#x}")
                }
                Err(_) => {}
                Ok(btf) => {
                    let sec = &b[types.clone()];
                    for l in 1..btf.offsets.len() {
                        let off = crate::btf::record::record_off(btf.offsets[l]);
                        check_record::<Le>(sec, off, l as u32, str_end).unwrap_or_else(|e| {
                            panic!("accepted a record the exact check refuses: {e}")
                        });
                    }
                }
            }
        }
    }
}
