//! Unit tests of the `.BTF.ext` codec on blobs built by hand.

use super::*;

/// A tiny byte builder in one byte order.
struct Builder {
    endian: Endian,
    bytes: Vec<u8>,
}

impl Builder {
    fn new(endian: Endian) -> Self {
        Builder {
            endian,
            bytes: Vec::new(),
        }
    }
    fn u8(mut self, v: u8) -> Self {
        self.bytes.push(v);
        self
    }
    fn u16(mut self, v: u16) -> Self {
        self.bytes.extend_from_slice(&self.endian.u16_bytes(v));
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.bytes.extend_from_slice(&self.endian.u32_bytes(v));
        self
    }
    fn u32s(self, vs: &[u32]) -> Self {
        vs.iter().fold(self, |b, &v| b.u32(v))
    }
    fn raw(mut self, b: &[u8]) -> Self {
        self.bytes.extend_from_slice(b);
        self
    }
}

/// A subsection: `rec_size`, then groups of `(sec_name, records as u32 words)`.
fn subsection(endian: Endian, rec_size: u32, groups: &[(u32, &[&[u32]])]) -> Vec<u8> {
    let mut b = Builder::new(endian).u32(rec_size);
    for (name, records) in groups {
        b = b.u32(*name).u32(records.len() as u32);
        for r in *records {
            b = b.u32s(r);
        }
    }
    b.bytes
}

/// A blob with header length `hdr_len` (24 or more; `tail` fills past the known fields) and
/// the given subsection bodies written back to back.
fn blob(endian: Endian, hdr_len: u32, tail: &[u8], subs: &[&[u8]]) -> Vec<u8> {
    let mut b = Builder::new(endian)
        .u16(BTF_EXT_MAGIC)
        .u8(1)
        .u8(0)
        .u32(hdr_len);
    let mut off = 0u32;
    let n = if hdr_len >= 32 { 3 } else { 2 };
    for i in 0..n {
        let len = subs.get(i).map_or(0, |s| s.len() as u32);
        b = b.u32(off).u32(len);
        off += len;
    }
    b = b.raw(tail);
    for s in subs {
        b = b.raw(s);
    }
    b.bytes
}

fn sample(endian: Endian) -> Vec<u8> {
    let func = subsection(endian, 8, &[(1, &[&[0, 3], &[0x40, 4]]), (9, &[&[0, 5]])]);
    let line = subsection(
        endian,
        16,
        &[(
            1,
            &[
                &[0, 20, 30, (12 << 10) | 5],
                &[0x48, 20, 31, (13 << 10) | 1023],
            ],
        )],
    );
    let core = subsection(endian, 16, &[(9, &[&[0x10, 7, 40, 0], &[0x18, 8, 44, 12]])]);
    blob(endian, 32, &[], &[&func, &line, &core])
}

#[test]
fn parses_and_round_trips_both_orders() {
    for endian in [Endian::Little, Endian::Big] {
        let bytes = sample(endian);
        let ext = BtfExt::parse(&bytes, endian).unwrap();
        assert_eq!(ext.func_info.rec_size, 8);
        assert_eq!(ext.func_info.groups.len(), 2);
        assert_eq!(
            ext.func_info.groups[0].records[1],
            FuncInfo {
                insn_off: SecOffset(0x40),
                type_id: WireTypeId(4)
            }
        );
        assert_eq!(
            ext.line_info.groups[0].records[1],
            LineInfo {
                insn_off: SecOffset(0x48),
                file_name: StrOffset(20),
                line: StrOffset(31),
                line_num: 13,
                col: 1023
            }
        );
        assert_eq!(
            ext.core_relo.groups[0].records[1],
            CoreRelo {
                insn_off: SecOffset(0x18),
                type_id: WireTypeId(8),
                access: StrOffset(44),
                kind: CoreReloKind::TypeMatches
            }
        );
        assert_eq!(ext.to_bytes(), bytes, "{endian:?}");
        // The other byte order is refused with a precise error.
        let other = match endian {
            Endian::Little => Endian::Big,
            Endian::Big => Endian::Little,
        };
        assert_eq!(
            BtfExt::parse(&bytes, other),
            Err(BtfExtError::WrongByteOrder { expected: other })
        );
    }
}

#[test]
fn short_header_has_no_core_relo_and_round_trips() {
    for endian in [Endian::Little, Endian::Big] {
        let func = subsection(endian, 8, &[(1, &[&[0, 3]])]);
        let line = subsection(endian, 16, &[(1, &[&[0, 2, 3, 1 << 10]])]);
        let bytes = blob(endian, 24, &[], &[&func, &line]);
        let ext = BtfExt::parse(&bytes, endian).unwrap();
        assert_eq!(ext.layout.hdr_len, 24);
        assert!(ext.core_relo.groups.is_empty());
        assert_eq!(ext.line_info.n_records(), 1);
        assert_eq!(ext.to_bytes(), bytes);
    }
}

#[test]
fn longer_header_keeps_its_tail() {
    for endian in [Endian::Little, Endian::Big] {
        let func = subsection(endian, 8, &[(1, &[&[0, 3]])]);
        let tail = [1, 2, 3, 4, 5, 6, 7, 8];
        let bytes = blob(endian, 40, &tail, &[&func]);
        let ext = BtfExt::parse(&bytes, endian).unwrap();
        assert_eq!(ext.layout.header_tail, tail);
        assert_eq!(ext.to_bytes(), bytes);
        // A 28-byte header: no core_relo, 4 tail bytes.
        let bytes = blob(endian, 28, &[9, 9, 9, 9], &[&func]);
        let ext = BtfExt::parse(&bytes, endian).unwrap();
        assert_eq!(ext.layout.header_tail, [9, 9, 9, 9]);
        assert_eq!(ext.to_bytes(), bytes);
    }
}

#[test]
fn oversize_records_keep_their_extra_bytes() {
    for endian in [Endian::Little, Endian::Big] {
        let func = subsection(endian, 12, &[(1, &[&[0, 3, 0xaaaa], &[8, 4, 0xbbbb]])]);
        let line = subsection(endian, 20, &[(1, &[&[0, 2, 3, 1 << 10, 0xcccc]])]);
        let core = subsection(endian, 24, &[(1, &[&[0, 2, 3, 2, 0xdd, 0xee]])]);
        let bytes = blob(endian, 32, &[], &[&func, &line, &core]);
        let ext = BtfExt::parse(&bytes, endian).unwrap();
        assert_eq!(ext.func_info.rec_size, 12);
        assert_eq!(
            ext.func_info.groups[0].records[1],
            FuncInfo {
                insn_off: SecOffset(8),
                type_id: WireTypeId(4)
            }
        );
        assert_eq!(ext.func_info.groups[0].extra.len(), 8);
        assert_eq!(ext.core_relo.groups[0].extra.len(), 8);
        assert_eq!(
            ext.core_relo.groups[0].records[0].kind,
            CoreReloKind::FieldExists
        );
        assert_eq!(ext.to_bytes(), bytes);

        // After adding a record, the missing extra bytes are zeros.
        let mut edited = ext.clone();
        edited.func_info.groups[0].records.push(FuncInfo {
            insn_off: SecOffset(16),
            type_id: WireTypeId(5),
        });
        let again = BtfExt::parse(&edited.to_bytes(), endian).unwrap();
        assert_eq!(again.func_info.groups[0].records.len(), 3);
        assert_eq!(&again.func_info.groups[0].extra[8..], &[0, 0, 0, 0]);
    }
}

#[test]
fn layout_quirks_round_trip() {
    let e = Endian::Little;
    let func = subsection(e, 8, &[(1, &[&[0, 3]])]);
    let line = subsection(e, 16, &[(1, &[&[0, 2, 3, 1 << 10]])]);
    // Subsections in reverse order, an empty core_relo with a stray offset, a subsection
    // holding only its rec_size, a group with no records, and trailing bytes.
    let only_rec_size = subsection(e, 16, &[]);
    let empty_group = subsection(e, 8, &[(5, &[]), (1, &[&[0, 3]])]);
    let mut b = Builder::new(e).u16(BTF_EXT_MAGIC).u8(1).u8(0).u32(32);
    let line_off = 0u32;
    let func_off = line.len() as u32;
    b = b
        .u32s(&[
            func_off,
            func.len() as u32,
            line_off,
            line.len() as u32,
            0x1234,
            0,
        ])
        .raw(&line)
        .raw(&func)
        .raw(&[0xfe, 0xed]);
    let bytes = b.bytes;
    let ext = BtfExt::parse(&bytes, e).unwrap();
    assert_eq!(ext.layout.trailing, [0xfe, 0xed]);
    assert_eq!(ext.to_bytes(), bytes);

    // Shrinking the first subsection (line_info) moves func_info up rather than leaving a
    // hole; growing it moves func_info down.
    let mut edited = ext.clone();
    edited.line_info.groups.clear();
    let out = edited.to_bytes();
    assert_eq!(
        e.read_u32(&out, 8),
        Some(4),
        "func_info follows line_info's rec_size"
    );
    assert_eq!(out.len(), bytes.len() - (line.len() - 4));
    let back = BtfExt::parse(&out, e).unwrap();
    assert_eq!(back.func_info, ext.func_info);
    assert_eq!(back.layout.trailing, [0xfe, 0xed]);
    let mut grown = ext.clone();
    let extra = grown.line_info.groups[0].records[0];
    grown.line_info.groups[0].records.push(extra);
    let back = BtfExt::parse(&grown.to_bytes(), e).unwrap();
    assert_eq!(back.line_info.n_records(), 2);
    assert_eq!(back.func_info, ext.func_info);

    // A zero-filled gap between subsections keeps its length.
    let mut b = Builder::new(e).u16(BTF_EXT_MAGIC).u8(1).u8(0).u32(32);
    b = b
        .u32s(&[
            8,
            func.len() as u32,
            8 + func.len() as u32 + 16,
            line.len() as u32,
            0,
            0,
        ])
        .raw(&[0; 8])
        .raw(&func)
        .raw(&[0; 16])
        .raw(&line);
    let bytes = b.bytes;
    let ext = BtfExt::parse(&bytes, e).unwrap();
    assert_eq!(ext.layout.subsections[0].gap, 8);
    assert_eq!(ext.layout.subsections[1].gap, 16);
    assert_eq!(ext.to_bytes(), bytes);

    let bytes = blob(e, 32, &[], &[&empty_group, &line, &only_rec_size]);
    let ext = BtfExt::parse(&bytes, e).unwrap();
    assert_eq!(ext.func_info.groups.len(), 2);
    assert!(ext.core_relo.is_empty());
    assert!(ext.layout.subsections[2].present);
    assert_eq!(ext.to_bytes(), bytes);
}

#[test]
fn accessors_name_each_record_section() {
    let ext = BtfExt::parse(&sample(Endian::Little), Endian::Little).unwrap();
    let funcs: Vec<_> = ext.func_infos().map(|(s, f)| (s.0, f.insn_off.0)).collect();
    assert_eq!(funcs, [(1, 0), (1, 0x40), (9, 0)]);
    assert_eq!(ext.func_info.records_for(StrOffset(9)).count(), 1);
    assert_eq!(ext.line_infos().count(), 2);
    assert_eq!(
        ext.core_relos().map(|(s, _)| s).collect::<Vec<_>>(),
        [StrOffset(9); 2]
    );
    assert_eq!(ext.sec_names(), [StrOffset(1), StrOffset(9)]);
    assert_eq!(SecOffset(0x40).insn_idx(), Some(8));
    assert_eq!(SecOffset(0x41).insn_idx(), None);
    assert_eq!(SecOffset::from_insn_idx(8), Some(SecOffset(0x40)));
    assert_eq!(SecOffset::from_insn_idx(u32::MAX), None);
}

#[test]
fn built_from_scratch_marshals_and_reparses() {
    for endian in [Endian::Little, Endian::Big] {
        let mut ext = BtfExt::new(endian);
        ext.func_info.groups.push(InfoGroup::new(
            StrOffset(1),
            vec![FuncInfo {
                insn_off: SecOffset(0),
                type_id: WireTypeId(2),
            }],
        ));
        ext.core_relo.groups.push(InfoGroup::new(
            StrOffset(1),
            vec![CoreRelo {
                insn_off: SecOffset(8),
                type_id: WireTypeId(3),
                access: StrOffset(4),
                kind: CoreReloKind::EnumvalValue,
            }],
        ));
        let bytes = ext.to_bytes();
        assert_eq!(endian.read_u32(&bytes, 4), Some(32));
        let back = BtfExt::parse(&bytes, endian).unwrap();
        assert_eq!(back.func_info, ext.func_info);
        assert_eq!(back.core_relo, ext.core_relo);
        assert!(back.line_info.groups.is_empty());
        assert_eq!(back.to_bytes(), bytes);

        // Adding core_relo to a blob with a 24-byte header grows the header.
        let func = subsection(endian, 8, &[(1, &[&[0, 3]])]);
        let mut short = BtfExt::parse(&blob(endian, 24, &[], &[&func]), endian).unwrap();
        short.core_relo = ext.core_relo.clone();
        let grown = BtfExt::parse(&short.to_bytes(), endian).unwrap();
        assert_eq!(grown.layout.hdr_len, 32);
        assert_eq!(grown.core_relo, ext.core_relo);
        assert_eq!(grown.func_info, short.func_info);
    }
}

#[test]
fn line_col_packs_and_splits() {
    let li = LineInfo {
        insn_off: SecOffset(0),
        file_name: StrOffset(0),
        line: StrOffset(0),
        line_num: 77,
        col: 9,
    };
    assert_eq!(li.line_col(), (77 << 10) | 9);
    assert_eq!(LineInfo::split_line_col(li.line_col()), (77, 9));
}

#[test]
fn header_errors() {
    let e = Endian::Little;
    let good = sample(e);
    assert_eq!(
        BtfExt::parse(&good[..3], e),
        Err(BtfExtError::TruncatedHeader { len: 3, need: 8 })
    );
    assert_eq!(
        BtfExt::parse(&[], e),
        Err(BtfExtError::TruncatedHeader { len: 0, need: 8 })
    );
    let mut bad = good.clone();
    bad[0] = 0;
    assert_eq!(
        BtfExt::parse(&bad, e),
        Err(BtfExtError::BadMagic { found: 0xeb00 })
    );
    let mut bad = good.clone();
    bad[2] = 2;
    assert_eq!(
        BtfExt::parse(&bad, e),
        Err(BtfExtError::UnsupportedVersion { version: 2 })
    );
    let mut bad = good.clone();
    bad[3] = 1;
    assert_eq!(
        BtfExt::parse(&bad, e),
        Err(BtfExtError::UnsupportedFlags { flags: 1 })
    );
    let mut bad = good.clone();
    bad[4..8].copy_from_slice(&e.u32_bytes(20));
    assert_eq!(
        BtfExt::parse(&bad, e),
        Err(BtfExtError::HeaderTooShort { hdr_len: 20 })
    );
    assert_eq!(
        BtfExt::parse(&good[..30], e),
        Err(BtfExtError::HeaderPastEnd {
            hdr_len: 32,
            len: 30
        })
    );
    let msg = BtfExt::parse(&good[..30], e).unwrap_err().to_string();
    assert_eq!(
        msg,
        ".BTF.ext hdr_len 32 at offset 4 is past the end of the 30-byte blob"
    );
}

/// The sample with header field `field` (byte offset) replaced by `v`.
fn patched(field: usize, v: u32) -> Vec<u8> {
    let e = Endian::Little;
    let mut b = sample(e);
    b[field..field + 4].copy_from_slice(&e.u32_bytes(v));
    b
}

#[test]
fn subsection_errors() {
    let e = Endian::Little;
    let good = sample(e);
    let func_len = e.read_u32(&good, 12).unwrap();
    let data_len = good.len() - 32;
    assert_eq!(
        BtfExt::parse(&patched(8, 2), e),
        Err(BtfExtError::MisalignedSubsection {
            subsection: Subsection::FuncInfo,
            off: 2
        })
    );
    assert_eq!(
        BtfExt::parse(&patched(20, 0x1000), e),
        Err(BtfExtError::SubsectionPastEnd {
            subsection: Subsection::LineInfo,
            off: func_len,
            len: 0x1000,
            data_len
        })
    );
    assert_eq!(
        BtfExt::parse(&patched(28, u32::MAX), e),
        Err(BtfExtError::SubsectionPastEnd {
            subsection: Subsection::CoreRelo,
            off: e.read_u32(&good, 24).unwrap(),
            len: u32::MAX,
            data_len
        })
    );
    assert_eq!(
        BtfExt::parse(&patched(12, 2), e),
        Err(BtfExtError::MissingRecordSize {
            subsection: Subsection::FuncInfo,
            offset: 32,
            len: 2
        })
    );
    // func_info's rec_size is the first word after the header.
    assert_eq!(
        BtfExt::parse(&patched(32, 4), e),
        Err(BtfExtError::RecordSizeTooSmall {
            subsection: Subsection::FuncInfo,
            offset: 32,
            rec_size: 4,
            min: 8
        })
    );
    assert_eq!(
        BtfExt::parse(&patched(32, 10), e),
        Err(BtfExtError::RecordSizeUnaligned {
            subsection: Subsection::FuncInfo,
            offset: 32,
            rec_size: 10
        })
    );
    assert_eq!(
        BtfExt::parse(&patched(32, 1 << 20), e),
        Err(BtfExtError::RecordSizeAbsurd {
            subsection: Subsection::FuncInfo,
            offset: 32,
            rec_size: 1 << 20,
            max: MAX_REC_SIZE
        })
    );
    // First group header of func_info: sec_name at 36, num_info at 40.
    assert_eq!(
        BtfExt::parse(&patched(40, u32::MAX), e),
        Err(BtfExtError::RecordsOverrun {
            subsection: Subsection::FuncInfo,
            offset: 36,
            sec_name: StrOffset(1),
            num_info: u32::MAX,
            rec_size: 8,
            left: func_len as usize - 12
        })
    );
    // Shrinking func_info's length by 4 cuts the last group's record short.
    assert!(matches!(
        BtfExt::parse(&patched(12, func_len - 4), e),
        Err(BtfExtError::RecordsOverrun {
            subsection: Subsection::FuncInfo,
            num_info: 1,
            ..
        })
    ));
    // A subsection length that leaves 4 bytes after the last group.
    let func = subsection(e, 8, &[(1, &[&[0, 3]])]);
    let mut padded = func.clone();
    padded.extend_from_slice(&[0; 4]);
    assert_eq!(
        BtfExt::parse(&blob(e, 32, &[], &[&padded]), e),
        Err(BtfExtError::TruncatedGroupHeader {
            subsection: Subsection::FuncInfo,
            offset: 32 + func.len(),
            left: 4
        })
    );
}

#[test]
fn unknown_relocation_kind_is_an_error_with_offset() {
    let e = Endian::Big;
    let core = subsection(e, 16, &[(9, &[&[0, 7, 40, 0], &[8, 7, 40, 13]])]);
    let bytes = blob(e, 32, &[], &[&[], &[], &core]);
    let err = BtfExt::parse(&bytes, e).unwrap_err();
    assert_eq!(
        err,
        BtfExtError::UnknownReloKind {
            offset: 32 + 4 + 8 + 16,
            sec_name: StrOffset(9),
            kind: 13
        }
    );
    assert_eq!(
        err.to_string(),
        "unknown CO-RE relocation kind 13 at offset 0x3c (section str+0x9), expected 0..=12"
    );
}

#[test]
fn short_record_slices_are_errors() {
    assert_eq!(
        LineInfo::decode(Endian::Little, &[0; 12], 0x40, StrOffset(1)),
        Err(BtfExtError::TruncatedRecord {
            subsection: Subsection::LineInfo,
            offset: 0x40,
            len: 12,
            need: 16
        })
    );
    let mut out = Vec::new();
    let relo = CoreRelo {
        insn_off: SecOffset(8),
        type_id: WireTypeId(2),
        access: StrOffset(3),
        kind: CoreReloKind::FieldSigned,
    };
    relo.encode(Endian::Big, &mut out);
    assert_eq!(out.len(), 16);
    assert_eq!(
        CoreRelo::decode(Endian::Big, &out, 0, StrOffset(1)),
        Ok(relo)
    );
}
