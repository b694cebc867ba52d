//! Writing a [`Btf`] back to a blob: the header as it was read (length, flags, section
//! order), then the encoded type records in id order and the string section as stored. The
//! records are kept encoded, so this is a copy: one for the whole type section while the
//! records lie back to back, else one per record. One allocation of the exact size.

use super::{Btf, SectionKind, KIND_LAYOUT_HEADER_LEN, MAGIC};

/// The records of the own types (void excluded), in id order: one slice while they are
/// contiguous.
fn type_bytes(btf: &Btf) -> TypeBytes<'_> {
    let skip = usize::from(btf.base.is_none());
    if btf.contiguous {
        TypeBytes::One(&btf.raw)
    } else {
        TypeBytes::Each(btf, skip)
    }
}

enum TypeBytes<'a> {
    One(&'a [u8]),
    Each(&'a Btf, usize),
}

impl TypeBytes<'_> {
    fn len(&self) -> usize {
        match *self {
            TypeBytes::One(b) => b.len(),
            TypeBytes::Each(btf, skip) => (skip..btf.offsets.len())
                .map(|l| btf.record_bytes(l).len())
                .sum(),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match *self {
            TypeBytes::One(b) => out.extend_from_slice(b),
            TypeBytes::Each(btf, skip) => {
                for l in skip..btf.offsets.len() {
                    out.extend_from_slice(btf.record_bytes(l));
                }
            }
        }
    }
}

pub(super) fn marshal(btf: &Btf) -> Vec<u8> {
    let e = btf.endian;
    let types = type_bytes(btf);
    let type_len = types.len();
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
            SectionKind::Types => types.write(&mut out),
            SectionKind::Strings => out.extend_from_slice(btf.strings.bytes()),
            SectionKind::KindLayout => out.extend_from_slice(&layout.kind_layout),
        }
    }
    debug_assert_eq!(out.len(), total);
    out
}
