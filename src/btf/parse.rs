//! Reading a BTF blob into a [`Btf`].
//!
//! Two passes over the type section: the first walks record headers to count types and
//! items (and finds truncation and unknown kinds), the second decodes into arenas allocated
//! once at their exact size, checking every type id against the count from the first pass
//! and every string offset against the string section. Both passes are monomorphized per
//! byte order so the hot loop has no byte-order branch. Fields the format leaves unused must
//! be zero (as the kernel requires); that keeps the model lossless.

use std::sync::Arc;

use la_arena::Arena;

use super::error::{BtfError, Result};
use super::strings::StringTable;
use super::types::{type_id, Items};
use super::{
    Btf, EnumValue, IntEncoding, Kind, Layout, Linkage, Member, Param, StrOffset, Type, TypeKind,
    VarSecinfo, HEADER_LEN, MAGIC,
};
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

/// The first `vlen` items of `items` as fixed-size records (the first pass checked that
/// they are there; a short slice is reported rather than trusted).
#[inline(always)]
fn records<const N: usize>(items: &[u8], vlen: u32, offset: usize) -> Result<&[[u8; N]]> {
    let (chunks, _) = items.as_chunks::<N>();
    chunks.get(..vlen as usize).ok_or(BtfError::Truncated {
        what: "type items",
        offset,
        need: N * vlen as usize,
        have: items.len(),
    })
}

/// Size of a type record's trailing data for wire kind `kind` with `vlen` items, or `None`
/// for a kind BTF does not define.
#[inline(always)]
fn extra_len(kind: u8, vlen: usize) -> Option<usize> {
    let (fixed, per_item, _) = *KIND_SHAPE.get(kind as usize)?;
    (fixed != u8::MAX).then_some(fixed as usize + per_item as usize * vlen)
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

/// Counts from the first pass.
#[derive(Default)]
struct Counts {
    types: usize,
    members: usize,
    params: usize,
    enum_values: usize,
    vars: usize,
}

/// Per wire kind: bytes of fixed trailing data, bytes per item, and which arena the items
/// go to (0 none, 1 members, 2 enumerators, 3 params, 4 section vars). Kind 0 and kinds past
/// 19 are unknown (`u8::MAX`).
const KIND_SHAPE: [(u8, u8, u8); 32] = {
    let mut t = [(u8::MAX, 0, 0); 32];
    t[1] = (4, 0, 0); // INT
    t[2] = (0, 0, 0); // PTR
    t[3] = (12, 0, 0); // ARRAY
    t[4] = (0, 12, 1); // STRUCT
    t[5] = (0, 12, 1); // UNION
    t[6] = (0, 8, 2); // ENUM
    let mut k = 7;
    while k <= 12 {
        t[k] = (0, 0, 0); // FWD TYPEDEF VOLATILE CONST RESTRICT FUNC
        k += 1;
    }
    t[13] = (0, 8, 3); // FUNC_PROTO
    t[14] = (4, 0, 0); // VAR
    t[15] = (0, 12, 4); // DATASEC
    t[16] = (0, 0, 0); // FLOAT
    t[17] = (4, 0, 0); // DECL_TAG
    t[18] = (0, 0, 0); // TYPE_TAG
    t[19] = (0, 12, 2); // ENUM64
    t
};

fn count<O: Order>(sec: &[u8], first_id: u32) -> Result<Counts> {
    let mut c = Counts::default();
    let mut per_arena = [0usize; 5];
    let mut off = 0usize;
    while let Some(rest) = sec.get(off..).filter(|r| !r.is_empty()) {
        let truncated = |need| BtfError::Truncated {
            what: "type record",
            offset: off,
            need,
            have: rest.len(),
        };
        let hdr = rest.first_chunk::<12>().ok_or(truncated(12))?;
        let info = at::<O, 12>(hdr, 1);
        let kind = ((info >> 24) & 0x1f) as u8;
        let vlen = (info & 0xffff) as usize;
        let (fixed, per_item, arena) = KIND_SHAPE[kind as usize];
        if fixed == u8::MAX {
            return Err(BtfError::UnknownKind {
                type_id: first_id.saturating_add(c.types as u32),
                offset: off,
                kind,
            });
        }
        let need = 12 + fixed as usize + per_item as usize * vlen;
        if rest.len() < need {
            return Err(truncated(need));
        }
        per_arena[arena as usize] += vlen;
        c.types += 1;
        off += need;
    }
    [_, c.members, c.enum_values, c.params, c.vars] = per_arena;
    if first_id as u64 + c.types as u64 > u32::MAX as u64 {
        return Err(BtfError::TooMany {
            what: "types",
            limit: u32::MAX as u64,
        });
    }
    Ok(c)
}

/// Decoding state of the second pass.
struct Decoder<'a> {
    sec: &'a [u8],
    n_types: u32,
    str_end: u32,
    type_id: u32,
    offset: usize,
    kind: Kind,
}

impl Decoder<'_> {
    #[inline(always)]
    fn ty(&self, raw: u32) -> Result<la_arena::Idx<Type>> {
        if raw < self.n_types {
            Ok(type_id(raw))
        } else {
            Err(BtfError::TypeIdOutOfRange {
                type_id: self.type_id,
                referenced: raw,
                n_types: self.n_types,
            })
        }
    }

    #[inline(always)]
    fn str(&self, off: u32) -> Result<StrOffset> {
        if off < self.str_end {
            Ok(StrOffset(off))
        } else {
            Err(BtfError::StrOffsetOutOfRange {
                type_id: self.type_id,
                str_offset: off,
                str_len: self.str_end,
            })
        }
    }

    /// Checks the largest string offset and type id found in a type's items: one
    /// comparison each instead of a branch per item. (Items past a bad one were already
    /// copied; the whole parse fails, so they are never seen.)
    #[inline(always)]
    fn check_max(&self, max_name: u32, max_ty: u32) -> Result<()> {
        self.str(max_name)?;
        self.ty(max_ty)?;
        Ok(())
    }

    #[cold]
    fn unknown_kind(&self, kind: u8) -> BtfError {
        BtfError::UnknownKind {
            type_id: self.type_id,
            offset: self.offset,
            kind,
        }
    }

    #[cold]
    fn truncated(&self, have: usize) -> BtfError {
        BtfError::Truncated {
            what: "type record",
            offset: self.offset,
            need: 12,
            have,
        }
    }

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

fn parse_as<O: Order>(bytes: &[u8], h: Header, base: Option<Arc<Btf>>) -> Result<Btf> {
    let sec = &bytes[h.types.clone()];
    let (first_id, base_str_len) = match &base {
        Some(b) => (b.n_types(), b.strings.end()),
        None => (1, 0),
    };
    let strings = StringTable::from_section(&bytes[h.strings.clone()], base_str_len)?;
    let c = count::<O>(sec, first_id)?;

    let start_id = if base.is_some() { first_id } else { 0 };
    // Plain vectors while parsing (la-arena's `extend` pushes one item at a time); they
    // become arenas without copying at the end.
    let mut types = Vec::with_capacity(c.types + usize::from(base.is_none()));
    if base.is_none() {
        types.push(Type {
            name: StrOffset::EMPTY,
            kind: TypeKind::Void,
        });
    }
    let mut members = Vec::with_capacity(c.members);
    let mut params = Vec::with_capacity(c.params);
    let mut enum_values = Vec::with_capacity(c.enum_values);
    let mut vars = Vec::with_capacity(c.vars);

    let mut d = Decoder {
        sec,
        n_types: first_id + c.types as u32,
        str_end: strings.end(),
        type_id: first_id,
        offset: 0,
        kind: Kind::Void,
    };
    while d.offset < d.sec.len() {
        // The first pass checked that the record and its items fit.
        let rec = &d.sec[d.offset..];
        let Some((hdr, items)) = rec.split_first_chunk::<12>() else {
            return Err(d.truncated(rec.len()));
        };
        let name = d.str(at::<O, 12>(hdr, 0))?;
        let info = at::<O, 12>(hdr, 1);
        let size_or_type = at::<O, 12>(hdr, 2);
        let wire_kind = ((info >> 24) & 0x1f) as u8;
        d.kind = match Kind::from_wire(wire_kind) {
            Some(k) => k,
            None => return Err(d.unknown_kind(wire_kind)),
        };
        let vlen = info & 0xffff;
        let kind_flag = info >> 31 != 0;
        d.zero("info reserved bits", info & 0x60ff_0000)?;
        let no_vlen = |d: &Decoder| d.zero("vlen", vlen);
        let no_flag = |d: &Decoder| d.zero("kind_flag", u32::from(kind_flag));
        let kind = match d.kind {
            Kind::Void => return Err(d.invalid("kind", 0)),
            Kind::Int => {
                no_vlen(&d)?;
                no_flag(&d)?;
                let v = at::<O, 4>(&records::<4>(items, 1, d.offset)?[0], 0);
                d.zero("int data reserved bits", v & 0xf000_ff00)?;
                let encoding = ((v >> 24) & 0xf) as u8;
                if !matches!(encoding, 0 | 1 | 2 | 4) {
                    return Err(d.invalid("int encoding", encoding.into()));
                }
                TypeKind::Int {
                    size: size_or_type,
                    encoding: IntEncoding(encoding),
                    offset: (v >> 16) as u8,
                    bits: v as u8,
                }
            }
            Kind::Ptr | Kind::Typedef | Kind::Volatile | Kind::Const | Kind::Restrict => {
                no_vlen(&d)?;
                no_flag(&d)?;
                let t = d.ty(size_or_type)?;
                match d.kind {
                    Kind::Ptr => TypeKind::Ptr(t),
                    Kind::Typedef => TypeKind::Typedef(t),
                    Kind::Volatile => TypeKind::Volatile(t),
                    Kind::Const => TypeKind::Const(t),
                    _ => TypeKind::Restrict(t),
                }
            }
            Kind::TypeTag => {
                no_vlen(&d)?;
                TypeKind::TypeTag {
                    ty: d.ty(size_or_type)?,
                    attribute: kind_flag,
                }
            }
            Kind::Array => {
                no_vlen(&d)?;
                no_flag(&d)?;
                d.zero("size", size_or_type)?;
                let a = &records::<12>(items, 1, d.offset)?[0];
                TypeKind::Array {
                    elem: d.ty(at::<O, 12>(a, 0))?,
                    index: d.ty(at::<O, 12>(a, 1))?,
                    len: at::<O, 12>(a, 2),
                }
            }
            Kind::Struct | Kind::Union => {
                let start = members.len() as u32;
                let recs = records::<12>(items, vlen, d.offset)?;
                let (mut max_name, mut max_ty) = (0, 0);
                // One pass: copy, and track the largest string offset and type id, checked
                // once after the loop (the vector was sized by the first pass).
                members.extend(recs.iter().map(|m| {
                    let (name, ty, raw_off) =
                        (at::<O, 12>(m, 0), at::<O, 12>(m, 1), at::<O, 12>(m, 2));
                    max_name = max_name.max(name);
                    max_ty = max_ty.max(ty);
                    let (bit_offset, bitfield_size) = if kind_flag {
                        (raw_off & 0x00ff_ffff, (raw_off >> 24) as u8)
                    } else {
                        (raw_off, 0)
                    };
                    Member {
                        name: StrOffset(name),
                        ty: type_id(ty),
                        bit_offset,
                        bitfield_size,
                    }
                }));
                d.check_max(max_name, max_ty)?;
                let members = Items::new(start, vlen);
                if d.kind == Kind::Struct {
                    TypeKind::Struct {
                        size: size_or_type,
                        members,
                        bitfield_encoding: kind_flag,
                    }
                } else {
                    TypeKind::Union {
                        size: size_or_type,
                        members,
                        bitfield_encoding: kind_flag,
                    }
                }
            }
            Kind::Enum | Kind::Enum64 => {
                let start = enum_values.len() as u32;
                let is64 = d.kind == Kind::Enum64;
                if is64 {
                    let recs = records::<12>(items, vlen, d.offset)?;
                    let mut max_name = 0;
                    enum_values.extend(recs.iter().map(|e| {
                        let (lo, hi) = (at::<O, 12>(e, 1) as u64, at::<O, 12>(e, 2) as u64);
                        max_name = max_name.max(at::<O, 12>(e, 0));
                        EnumValue {
                            name: StrOffset(at::<O, 12>(e, 0)),
                            bits: hi << 32 | lo,
                        }
                    }));
                    d.check_max(max_name, 0)?;
                } else {
                    let recs = records::<8>(items, vlen, d.offset)?;
                    let mut max_name = 0;
                    enum_values.extend(recs.iter().map(|e| {
                        max_name = max_name.max(at::<O, 8>(e, 0));
                        EnumValue {
                            name: StrOffset(at::<O, 8>(e, 0)),
                            bits: at::<O, 8>(e, 1) as u64,
                        }
                    }));
                    d.check_max(max_name, 0)?;
                }
                let values = Items::new(start, vlen);
                if is64 {
                    TypeKind::Enum64 {
                        size: size_or_type,
                        values,
                        signed: kind_flag,
                    }
                } else {
                    TypeKind::Enum {
                        size: size_or_type,
                        values,
                        signed: kind_flag,
                    }
                }
            }
            Kind::Fwd => {
                no_vlen(&d)?;
                d.zero("type", size_or_type)?;
                TypeKind::Fwd { union: kind_flag }
            }
            Kind::Func => {
                no_flag(&d)?;
                let linkage = Linkage::from_wire(vlen).ok_or_else(|| d.invalid("linkage", vlen))?;
                TypeKind::Func {
                    proto: d.ty(size_or_type)?,
                    linkage,
                }
            }
            Kind::FuncProto => {
                no_flag(&d)?;
                let start = params.len() as u32;
                let recs = records::<8>(items, vlen, d.offset)?;
                let (mut max_name, mut max_ty) = (0, 0);
                params.extend(recs.iter().map(|p| {
                    let (name, ty) = (at::<O, 8>(p, 0), at::<O, 8>(p, 1));
                    max_name = max_name.max(name);
                    max_ty = max_ty.max(ty);
                    Param {
                        name: StrOffset(name),
                        ty: type_id(ty),
                    }
                }));
                d.check_max(max_name, max_ty)?;
                TypeKind::FuncProto {
                    ret: d.ty(size_or_type)?,
                    params: Items::new(start, vlen),
                }
            }
            Kind::Var => {
                no_vlen(&d)?;
                no_flag(&d)?;
                let l = at::<O, 4>(&records::<4>(items, 1, d.offset)?[0], 0);
                let linkage = Linkage::from_wire(l).ok_or_else(|| d.invalid("linkage", l))?;
                TypeKind::Var {
                    ty: d.ty(size_or_type)?,
                    linkage,
                }
            }
            Kind::Datasec => {
                no_flag(&d)?;
                let start = vars.len() as u32;
                let recs = records::<12>(items, vlen, d.offset)?;
                let mut max_ty = 0;
                vars.extend(recs.iter().map(|v| {
                    max_ty = max_ty.max(at::<O, 12>(v, 0));
                    VarSecinfo {
                        ty: type_id(at::<O, 12>(v, 0)),
                        offset: at::<O, 12>(v, 1),
                        size: at::<O, 12>(v, 2),
                    }
                }));
                d.check_max(0, max_ty)?;
                TypeKind::Datasec {
                    size: size_or_type,
                    vars: Items::new(start, vlen),
                }
            }
            Kind::Float => {
                no_vlen(&d)?;
                no_flag(&d)?;
                TypeKind::Float { size: size_or_type }
            }
            Kind::DeclTag => {
                no_vlen(&d)?;
                TypeKind::DeclTag {
                    ty: d.ty(size_or_type)?,
                    component_idx: at::<O, 4>(&records::<4>(items, 1, d.offset)?[0], 0) as i32,
                    attribute: kind_flag,
                }
            }
        };
        types.push(Type { name, kind });
        // extra_len cannot fail here: the first pass accepted this kind.
        d.offset += 12 + extra_len(wire_kind, vlen as usize).unwrap_or(0);
        d.type_id += 1;
    }

    let types = Arena::from_iter(types);
    let mut btf = Btf::assemble(O::ENDIAN, h.layout, base, start_id, types, strings);
    btf.members = Arena::from_iter(members);
    btf.params = Arena::from_iter(params);
    btf.enum_values = Arena::from_iter(enum_values);
    btf.vars = Arena::from_iter(vars);
    Ok(btf)
}
