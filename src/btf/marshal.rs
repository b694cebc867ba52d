//! Writing a [`Btf`] back to a blob: the header as it was read (length, flags, section
//! order), then the types in arena order and the string section as stored. One pass, one
//! allocation of the exact size.

use super::types::raw_id;
use super::{Btf, Kind, SectionKind, Type, TypeKind, KIND_LAYOUT_HEADER_LEN, MAGIC};

/// Length of a type's wire record, trailing items included.
fn record_len(t: &Type) -> usize {
    12 + match t.kind {
        TypeKind::Int { .. } | TypeKind::Var { .. } | TypeKind::DeclTag { .. } => 4,
        TypeKind::Array { .. } => 12,
        TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => 12 * members.len(),
        TypeKind::Enum { values, .. } => 8 * values.len(),
        TypeKind::Enum64 { values, .. } => 12 * values.len(),
        TypeKind::FuncProto { params, .. } => 8 * params.len(),
        TypeKind::Datasec { vars, .. } => 12 * vars.len(),
        _ => 0,
    }
}

pub(super) fn marshal(btf: &Btf) -> Vec<u8> {
    let e = btf.endian;
    // Void is stored at index 0 of a base BTF but not written.
    let skip = usize::from(btf.base.is_none());

    let type_len: usize = btf.types.values().skip(skip).map(record_len).sum();
    let str_len = btf.strings.bytes().len();
    let layout = &btf.layout;
    let hdr_len = layout.hdr_len as usize;
    let len_of = |k: SectionKind| match k {
        SectionKind::Types => type_len,
        SectionKind::Strings => str_len,
        SectionKind::KindLayout => layout.kind_layout.len(),
    };
    // Sections follow each other in their original order, without gaps, except that the
    // type section starts 4-byte aligned (the kernel refuses it otherwise; only input
    // whose strings come first with an odd length needs the padding).
    let offsets: Vec<(SectionKind, usize)> = {
        let mut cursor = 0usize;
        let mut v = Vec::with_capacity(layout.order.len());
        for &k in &layout.order {
            if k == SectionKind::Types {
                cursor = cursor.next_multiple_of(4);
            }
            v.push((k, cursor));
            cursor += len_of(k);
        }
        v
    };
    let off_of = |k: SectionKind| {
        offsets
            .iter()
            .find(|(o, _)| *o == k)
            .map_or(0, |&(_, off)| off)
    };
    let total = hdr_len
        + offsets
            .iter()
            .map(|&(k, off)| off + len_of(k))
            .max()
            .unwrap_or(0);

    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&e.u16_bytes(MAGIC));
    out.push(1);
    out.push(layout.flags);
    let mut fields = vec![
        hdr_len,
        off_of(SectionKind::Types),
        type_len,
        off_of(SectionKind::Strings),
        str_len,
    ];
    if hdr_len >= KIND_LAYOUT_HEADER_LEN as usize {
        if layout.kind_layout.is_empty() {
            fields.push(layout.empty_kind_layout_off as usize);
        } else {
            fields.push(off_of(SectionKind::KindLayout));
        }
        fields.push(layout.kind_layout.len());
    }
    for v in fields {
        out.extend_from_slice(&e.u32_bytes(v as u32));
    }
    out.resize(hdr_len, 0);
    for &(section, off) in &offsets {
        out.resize(hdr_len + off, 0);
        match section {
            SectionKind::Types => write_types(btf, &mut out),
            SectionKind::Strings => out.extend_from_slice(btf.strings.bytes()),
            SectionKind::KindLayout => out.extend_from_slice(&layout.kind_layout),
        }
    }
    debug_assert_eq!(out.len(), total);
    out
}

fn write_types(btf: &Btf, out: &mut Vec<u8>) {
    let e = btf.endian;
    let skip = usize::from(btf.base.is_none());
    let put = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&e.u32_bytes(v));
    for t in btf.types.values().skip(skip) {
        let (vlen, kind_flag, size_or_type): (usize, bool, u32) = match t.kind {
            TypeKind::Void => (0, false, 0),
            TypeKind::Int { size, .. } | TypeKind::Float { size } => (0, false, size),
            TypeKind::Ptr(t)
            | TypeKind::Typedef(t)
            | TypeKind::Volatile(t)
            | TypeKind::Const(t)
            | TypeKind::Restrict(t) => (0, false, raw_id(t)),
            TypeKind::TypeTag { ty, attribute } => (0, attribute, raw_id(ty)),
            TypeKind::DeclTag { ty, attribute, .. } => (0, attribute, raw_id(ty)),
            TypeKind::Array { .. } => (0, false, 0),
            TypeKind::Struct {
                size,
                members,
                bitfield_encoding,
            }
            | TypeKind::Union {
                size,
                members,
                bitfield_encoding,
            } => (members.len(), bitfield_encoding, size),
            TypeKind::Enum {
                size,
                values,
                signed,
            }
            | TypeKind::Enum64 {
                size,
                values,
                signed,
            } => (values.len(), signed, size),
            TypeKind::Fwd { union } => (0, union, 0),
            TypeKind::Func { proto, linkage } => (linkage.to_wire() as usize, false, raw_id(proto)),
            TypeKind::FuncProto { ret, params } => (params.len(), false, raw_id(ret)),
            TypeKind::Var { ty, .. } => (0, false, raw_id(ty)),
            TypeKind::Datasec { size, vars } => (vars.len(), false, size),
        };
        let kind: Kind = t.kind.kind();
        let info = (u32::from(kind_flag) << 31) | ((kind as u32) << 24) | vlen as u32;
        put(out, t.name.0);
        put(out, info);
        put(out, size_or_type);
        match t.kind {
            TypeKind::Int {
                encoding,
                offset,
                bits,
                ..
            } => put(
                out,
                (u32::from(encoding.0) << 24) | (u32::from(offset) << 16) | u32::from(bits),
            ),
            TypeKind::Array { elem, index, len } => {
                put(out, raw_id(elem));
                put(out, raw_id(index));
                put(out, len);
            }
            TypeKind::Struct {
                members,
                bitfield_encoding,
                ..
            }
            | TypeKind::Union {
                members,
                bitfield_encoding,
                ..
            } => {
                for m in &btf.members[members.idx_range()] {
                    put(out, m.name.0);
                    put(out, raw_id(m.ty));
                    let off = if bitfield_encoding {
                        (u32::from(m.bitfield_size) << 24) | m.bit_offset
                    } else {
                        m.bit_offset
                    };
                    put(out, off);
                }
            }
            TypeKind::Enum { values, .. } => {
                for v in &btf.enum_values[values.idx_range()] {
                    put(out, v.name.0);
                    put(out, v.bits as u32);
                }
            }
            TypeKind::Enum64 { values, .. } => {
                for v in &btf.enum_values[values.idx_range()] {
                    put(out, v.name.0);
                    put(out, v.bits as u32);
                    put(out, (v.bits >> 32) as u32);
                }
            }
            TypeKind::FuncProto { params, .. } => {
                for p in &btf.params[params.idx_range()] {
                    put(out, p.name.0);
                    put(out, raw_id(p.ty));
                }
            }
            TypeKind::Var { linkage, .. } => put(out, linkage.to_wire()),
            TypeKind::Datasec { vars, .. } => {
                for v in &btf.vars[vars.idx_range()] {
                    put(out, raw_id(v.ty));
                    put(out, v.offset);
                    put(out, v.size);
                }
            }
            TypeKind::DeclTag { component_idx, .. } => put(out, component_idx as u32),
            _ => {}
        }
    }
}
