//! The encoded type records a [`Btf`] keeps: decoding one into a [`Type`], encoding a
//! [`Type`] back, and the bookkeeping of adding and rewriting records.
//!
//! A `Btf` holds its own types as the wire records, in its byte order, in one byte vector,
//! plus the byte offset of each type's record (void, id 0 of a base BTF, has no record and
//! offset 0). Records of parsed BTF were checked by the parser; records this crate writes
//! are checked before they are written; so decoding never fails. While the records lie back
//! to back in id order (`contiguous`), marshalling is one copy; rewriting a record in place
//! with one of another length appends it instead and clears the flag.

use super::items::word;
use super::types::{raw_id, type_id};
use super::{
    Btf, BtfError, EnumValue, IntEncoding, Items, Kind, Linkage, Member, Param, Result, StrOffset,
    Type, TypeId, TypeKind, VarSecinfo,
};
use crate::Endian;

/// Per wire kind: bytes of fixed trailing data and bytes per item (the item size of `ENUM64`
/// is 12). Kind 0 and kinds past 19 are unknown (`u8::MAX`).
pub(super) const KIND_SHAPE: [(u8, u8); 32] = {
    let mut t = [(u8::MAX, 0); 32];
    t[1] = (4, 0); // INT
    t[2] = (0, 0); // PTR
    t[3] = (12, 0); // ARRAY
    t[4] = (0, 12); // STRUCT
    t[5] = (0, 12); // UNION
    t[6] = (0, 8); // ENUM
    let mut k = 7;
    while k <= 12 {
        t[k] = (0, 0); // FWD TYPEDEF VOLATILE CONST RESTRICT FUNC
        k += 1;
    }
    t[13] = (0, 8); // FUNC_PROTO
    t[14] = (4, 0); // VAR
    t[15] = (0, 12); // DATASEC
    t[16] = (0, 0); // FLOAT
    t[17] = (4, 0); // DECL_TAG
    t[18] = (0, 0); // TYPE_TAG
    t[19] = (0, 12); // ENUM64
    t
};

/// Bit 0 of an entry of `Btf::offsets` (records are 4-byte aligned, so the low two bits of
/// an offset are free): set by the parser when the type is a named type of the type name
/// index, so that building that index need not walk every record again (see
/// `lookup::NamedHint`, which says how many entries carry it). Readers take the offset with
/// [`record_off`].
pub(super) const NAMED_TYPE: u32 = 1;

/// The byte offset of a record from its entry in `Btf::offsets`.
#[inline(always)]
pub(super) fn record_off(entry: u32) -> usize {
    (entry & !3) as usize
}

/// Length of the record whose info word is `info`, items included.
#[inline(always)]
pub(super) fn record_len(info: u32) -> usize {
    let (fixed, per_item) = KIND_SHAPE[((info >> 24) & 0x1f) as usize];
    let fixed = if fixed == u8::MAX { 0 } else { fixed as usize };
    12 + fixed + per_item as usize * (info & 0xffff) as usize
}

/// Decodes the (checked) record at `off` of `raw`.
#[inline(always)]
pub(super) fn decode(e: Endian, raw: &[u8], off: usize) -> Type {
    // The header and the fixed part (at most 12 bytes) in one bounds check; a record
    // shorter than that is followed by others or by nothing (then it is read as zeros,
    // which only a record without a fixed part can be).
    let mut buf = [0u8; 24];
    let rec: &[u8; 24] = match raw.get(off..off + 24) {
        Some(r) => r.try_into().unwrap_or(&buf),
        None => {
            let tail = raw.get(off..).unwrap_or_default();
            let n = tail.len().min(24);
            buf[..n].copy_from_slice(&tail[..n]);
            &buf
        }
    };
    let w = |i: usize| {
        let b = [rec[4 * i], rec[4 * i + 1], rec[4 * i + 2], rec[4 * i + 3]];
        match e {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    };
    let info = w(1);
    let sot = w(2);
    let vlen = info & 0xffff;
    let flag = info >> 31 != 0;
    let items = (off + 12) as u32;
    let t = |raw: u32| type_id(raw);
    let kind = match ((info >> 24) & 0x1f) as u8 {
        1 => {
            let v = w(3);
            TypeKind::Int {
                size: sot,
                encoding: IntEncoding(((v >> 24) & 0xf) as u8),
                offset: (v >> 16) as u8,
                bits: v as u8,
            }
        }
        2 => TypeKind::Ptr(t(sot)),
        3 => TypeKind::Array {
            elem: t(w(3)),
            index: t(w(4)),
            len: w(5),
        },
        4 => TypeKind::Struct {
            size: sot,
            members: Items::new(items, vlen, u8::from(flag)),
            bitfield_encoding: flag,
        },
        5 => TypeKind::Union {
            size: sot,
            members: Items::new(items, vlen, u8::from(flag)),
            bitfield_encoding: flag,
        },
        6 => TypeKind::Enum {
            size: sot,
            values: Items::new(items, vlen, 0),
            signed: flag,
        },
        7 => TypeKind::Fwd { union: flag },
        8 => TypeKind::Typedef(t(sot)),
        9 => TypeKind::Volatile(t(sot)),
        10 => TypeKind::Const(t(sot)),
        11 => TypeKind::Restrict(t(sot)),
        12 => TypeKind::Func {
            proto: t(sot),
            linkage: Linkage::from_wire(vlen).unwrap_or(Linkage::Static),
        },
        13 => TypeKind::FuncProto {
            ret: t(sot),
            params: Items::new(items, vlen, 0),
        },
        14 => TypeKind::Var {
            ty: t(sot),
            linkage: Linkage::from_wire(w(3)).unwrap_or(Linkage::Static),
        },
        15 => TypeKind::Datasec {
            size: sot,
            vars: Items::new(items, vlen, 0),
        },
        16 => TypeKind::Float { size: sot },
        17 => TypeKind::DeclTag {
            ty: t(sot),
            component_idx: w(3) as i32,
            attribute: flag,
        },
        18 => TypeKind::TypeTag {
            ty: t(sot),
            attribute: flag,
        },
        19 => TypeKind::Enum64 {
            size: sot,
            values: Items::new(items, vlen, 1),
            signed: flag,
        },
        _ => TypeKind::Void,
    };
    Type {
        name: StrOffset(w(0)),
        kind,
    }
}

/// Appends u32 words to an encoded record in one byte order.
pub(super) struct Writer<'a> {
    pub(super) e: Endian,
    pub(super) out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    #[inline(always)]
    pub(super) fn put(&mut self, v: u32) {
        self.out.extend_from_slice(&self.e.u32_bytes(v));
    }

    /// The three header words of a record.
    pub(super) fn header(&mut self, name: StrOffset, kind: Kind, vlen: u32, flag: bool, sot: u32) {
        self.put(name.0);
        self.put((u32::from(flag) << 31) | ((kind as u32) << 24) | (vlen & 0xffff));
        self.put(sot);
    }

    /// The part of a record that is not items: its header (with `vlen` for the kinds whose
    /// items follow; FUNC's holds its linkage) and the words after it (INT's encoding,
    /// ARRAY's element, index and length, VAR's linkage, DECL_TAG's component). Nothing for
    /// void, which has no record.
    pub(super) fn fixed(&mut self, name: StrOffset, kind: &TypeKind, vlen: u32) {
        let n = name;
        match *kind {
            TypeKind::Void => {}
            TypeKind::Int {
                size,
                encoding,
                offset,
                bits,
            } => {
                self.header(n, Kind::Int, 0, false, size);
                self.put(
                    (u32::from(encoding.0) << 24) | (u32::from(offset) << 16) | u32::from(bits),
                );
            }
            TypeKind::Ptr(r) => self.header(n, Kind::Ptr, 0, false, raw_id(r)),
            TypeKind::Typedef(r) => self.header(n, Kind::Typedef, 0, false, raw_id(r)),
            TypeKind::Volatile(r) => self.header(n, Kind::Volatile, 0, false, raw_id(r)),
            TypeKind::Const(r) => self.header(n, Kind::Const, 0, false, raw_id(r)),
            TypeKind::Restrict(r) => self.header(n, Kind::Restrict, 0, false, raw_id(r)),
            TypeKind::TypeTag { ty, attribute } => {
                self.header(n, Kind::TypeTag, 0, attribute, raw_id(ty))
            }
            TypeKind::DeclTag {
                ty,
                component_idx,
                attribute,
            } => {
                self.header(n, Kind::DeclTag, 0, attribute, raw_id(ty));
                self.put(component_idx as u32);
            }
            TypeKind::Array { elem, index, len } => {
                self.header(n, Kind::Array, 0, false, 0);
                self.put(raw_id(elem));
                self.put(raw_id(index));
                self.put(len);
            }
            TypeKind::Fwd { union } => self.header(n, Kind::Fwd, 0, union, 0),
            TypeKind::Float { size } => self.header(n, Kind::Float, 0, false, size),
            TypeKind::Func { proto, linkage } => {
                self.header(n, Kind::Func, linkage.to_wire(), false, raw_id(proto))
            }
            TypeKind::Var { ty, linkage } => {
                self.header(n, Kind::Var, 0, false, raw_id(ty));
                self.put(linkage.to_wire());
            }
            TypeKind::Struct {
                size,
                bitfield_encoding,
                ..
            } => self.header(n, Kind::Struct, vlen, bitfield_encoding, size),
            TypeKind::Union {
                size,
                bitfield_encoding,
                ..
            } => self.header(n, Kind::Union, vlen, bitfield_encoding, size),
            TypeKind::Enum { size, signed, .. } => self.header(n, Kind::Enum, vlen, signed, size),
            TypeKind::Enum64 { size, signed, .. } => {
                self.header(n, Kind::Enum64, vlen, signed, size)
            }
            TypeKind::FuncProto { ret, .. } => {
                self.header(n, Kind::FuncProto, vlen, false, raw_id(ret))
            }
            TypeKind::Datasec { size, .. } => self.header(n, Kind::Datasec, vlen, false, size),
        }
    }

    pub(super) fn member(&mut self, m: &Member, bitfield_encoding: bool) {
        self.put(m.name.0);
        self.put(raw_id(m.ty));
        self.put(if bitfield_encoding {
            (u32::from(m.bitfield_size) << 24) | (m.bit_offset & 0x00ff_ffff)
        } else {
            m.bit_offset
        });
    }

    pub(super) fn enum_value(&mut self, v: &EnumValue, is64: bool) {
        self.put(v.name.0);
        self.put(v.bits as u32);
        if is64 {
            self.put((v.bits >> 32) as u32);
        }
    }

    pub(super) fn param(&mut self, p: &Param) {
        self.put(p.name.0);
        self.put(raw_id(p.ty));
    }

    pub(super) fn var(&mut self, v: &VarSecinfo) {
        self.put(raw_id(v.ty));
        self.put(v.offset);
        self.put(v.size);
    }
}

/// The items a record to encode gets: taken from where [`Items`] point (this BTF's records),
/// or given as values.
pub(super) enum NewItems<'a> {
    /// The items the `Items` of the kind point at.
    FromKind,
    /// Members.
    Members(&'a [Member]),
    /// Enumerators.
    Values(&'a [EnumValue]),
    /// Parameters.
    Params(&'a [Param]),
    /// Section variables.
    Vars(&'a [VarSecinfo]),
}

impl Btf {
    /// The type at local index `local` (0 is void in a base BTF).
    #[inline(always)]
    pub(super) fn decode_local(&self, local: usize) -> Type {
        if local == 0 && self.base.is_none() {
            return Type {
                name: StrOffset::EMPTY,
                kind: TypeKind::Void,
            };
        }
        let off = record_off(self.offsets.get(local).copied().unwrap_or(0));
        decode(self.endian, &self.raw, off)
    }

    /// The encoded record of local type `local` (empty for void).
    pub(super) fn record_bytes(&self, local: usize) -> &[u8] {
        if local == 0 && self.base.is_none() {
            return &[];
        }
        let off = record_off(self.offsets.get(local).copied().unwrap_or(0));
        let len = record_len(word(
            self.endian,
            self.raw.get(off..).unwrap_or_default(),
            1,
        ));
        self.raw.get(off..off + len).unwrap_or_default()
    }

    /// Encodes `t` (whose items, with [`NewItems::FromKind`], are read where its [`Items`]
    /// point in this BTF's records) into a new record.
    pub(super) fn encode(&self, t: &Type, items: NewItems<'_>) -> Vec<u8> {
        let mut out = Vec::with_capacity(24);
        let mut w = Writer {
            e: self.endian,
            out: &mut out,
        };
        let (raw, e, n) = (&self.raw[..], self.endian, t.name);
        match t.kind {
            TypeKind::Struct {
                members,
                bitfield_encoding,
                ..
            }
            | TypeKind::Union {
                members,
                bitfield_encoding,
                ..
            } => match items {
                NewItems::Members(ms) => {
                    w.fixed(n, &t.kind, ms.len() as u32);
                    for m in ms {
                        w.member(m, bitfield_encoding);
                    }
                }
                _ => {
                    let view = super::ItemsView::new(raw, e, members);
                    w.fixed(n, &t.kind, view.len() as u32);
                    for m in view {
                        w.member(&m, bitfield_encoding);
                    }
                }
            },
            TypeKind::Enum { values, .. } | TypeKind::Enum64 { values, .. } => {
                let is64 = matches!(t.kind, TypeKind::Enum64 { .. });
                match items {
                    NewItems::Values(vs) => {
                        w.fixed(n, &t.kind, vs.len() as u32);
                        for v in vs {
                            w.enum_value(v, is64);
                        }
                    }
                    _ => {
                        let view = super::ItemsView::new(raw, e, values);
                        w.fixed(n, &t.kind, view.len() as u32);
                        for v in view {
                            w.enum_value(&v, is64);
                        }
                    }
                }
            }
            TypeKind::FuncProto { params, .. } => match items {
                NewItems::Params(ps) => {
                    w.fixed(n, &t.kind, ps.len() as u32);
                    for p in ps {
                        w.param(p);
                    }
                }
                _ => {
                    let view = super::ItemsView::new(raw, e, params);
                    w.fixed(n, &t.kind, view.len() as u32);
                    for p in view {
                        w.param(&p);
                    }
                }
            },
            TypeKind::Datasec { vars, .. } => match items {
                NewItems::Vars(vs) => {
                    w.fixed(n, &t.kind, vs.len() as u32);
                    for v in vs {
                        w.var(v);
                    }
                }
                _ => {
                    let view = super::ItemsView::new(raw, e, vars);
                    w.fixed(n, &t.kind, view.len() as u32);
                    for v in view {
                        w.var(&v);
                    }
                }
            },
            _ => w.fixed(n, &t.kind, 0),
        }
        out
    }

    /// Appends an encoded record as a new type (after checking the id space) and returns its
    /// id. Invalidates the lazily built lookups.
    pub(super) fn append_record(&mut self, rec: &[u8]) -> Result<TypeId> {
        let id = self.n_types();
        if id == u32::MAX || self.raw.len() as u64 + rec.len() as u64 > u32::MAX as u64 {
            return Err(BtfError::TooMany {
                what: "types",
                limit: u32::MAX as u64,
            });
        }
        self.offsets.push(self.raw.len() as u32);
        self.raw.extend_from_slice(rec);
        self.names = Default::default();
        self.ptr_size.take();
        Ok(type_id(id))
    }

    /// Replaces the record of local type `local` (not void) by `rec`: in place when it has
    /// the same length, else appended (the records are then no longer contiguous).
    pub(super) fn replace_record(&mut self, local: usize, rec: &[u8]) {
        let old = self.record_bytes(local).len();
        let off = record_off(self.offsets[local]);
        if old == rec.len() {
            self.raw[off..off + old].copy_from_slice(rec);
        } else if self.raw.len() as u64 + rec.len() as u64 <= u32::MAX as u64 {
            self.offsets[local] = self.raw.len() as u32;
            self.raw.extend_from_slice(rec);
            self.contiguous = false;
        }
        self.names = Default::default();
        // The record's name or kind may have changed.
        self.type_names = Default::default();
        self.ptr_size.take();
    }
}
