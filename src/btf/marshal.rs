//! Writing a [`Btf`] back to a blob: the header as it was read (length, flags, section
//! order), then the types in arena order and the string section as stored. One pass, one
//! allocation of the exact size.

use super::types::raw_id;
use super::{Btf, Kind, Type, TypeKind, MAGIC};

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
    let types = || btf.types.values().skip(skip);
    let type_len: usize = types().map(|t| record_len(t)).sum();
    let str_len = btf.strings.bytes().len();
    let hdr_len = btf.layout.hdr_len as usize;
    let (type_off, str_off) = if btf.layout.strings_first {
        (str_len, 0)
    } else {
        (0, type_len)
    };

    let mut out = Vec::with_capacity(hdr_len + type_len + str_len);
    out.extend_from_slice(&e.u16_bytes(MAGIC));
    out.push(1);
    out.push(btf.layout.flags);
    for v in [hdr_len, type_off, type_len, str_off, str_len] {
        out.extend_from_slice(&e.u32_bytes(v as u32));
    }
    out.resize(hdr_len, 0);
    if btf.layout.strings_first {
        out.extend_from_slice(btf.strings.bytes());
    }
    let put = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&e.u32_bytes(v));
    for t in types() {
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
        put(&mut out, t.name.0);
        put(&mut out, info);
        put(&mut out, size_or_type);
        match t.kind {
            TypeKind::Int {
                encoding,
                offset,
                bits,
                ..
            } => put(
                &mut out,
                (u32::from(encoding.0) << 24) | (u32::from(offset) << 16) | u32::from(bits),
            ),
            TypeKind::Array { elem, index, len } => {
                put(&mut out, raw_id(elem));
                put(&mut out, raw_id(index));
                put(&mut out, len);
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
                    put(&mut out, m.name.0);
                    put(&mut out, raw_id(m.ty));
                    let off = if bitfield_encoding {
                        (u32::from(m.bitfield_size) << 24) | m.bit_offset
                    } else {
                        m.bit_offset
                    };
                    put(&mut out, off);
                }
            }
            TypeKind::Enum { values, .. } => {
                for v in &btf.enum_values[values.idx_range()] {
                    put(&mut out, v.name.0);
                    put(&mut out, v.bits as u32);
                }
            }
            TypeKind::Enum64 { values, .. } => {
                for v in &btf.enum_values[values.idx_range()] {
                    put(&mut out, v.name.0);
                    put(&mut out, v.bits as u32);
                    put(&mut out, (v.bits >> 32) as u32);
                }
            }
            TypeKind::FuncProto { params, .. } => {
                for p in &btf.params[params.idx_range()] {
                    put(&mut out, p.name.0);
                    put(&mut out, raw_id(p.ty));
                }
            }
            TypeKind::Var { linkage, .. } => put(&mut out, linkage.to_wire()),
            TypeKind::Datasec { vars, .. } => {
                for v in &btf.vars[vars.idx_range()] {
                    put(&mut out, raw_id(v.ty));
                    put(&mut out, v.offset);
                    put(&mut out, v.size);
                }
            }
            TypeKind::DeclTag { component_idx, .. } => put(&mut out, component_idx as u32),
            _ => {}
        }
    }
    if !btf.layout.strings_first {
        out.extend_from_slice(btf.strings.bytes());
    }
    debug_assert_eq!(out.len(), hdr_len + type_len + str_len);
    out
}
