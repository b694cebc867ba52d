//! The `btf { ... }` block: every type of the module's BTF in `bpftool btf dump` form
//! (`[3] STRUCT 'foo' size=8 vlen=2` with its members on the following lines), and, when
//! the string table is not in the order the parser would build it, the table itself in a
//! `strings { ... }` block at the end of the text.
//!
//! The parser writes the types back as wire records with the ids they were printed with and
//! hands the blob to [`Btf::parse`], so the result is exactly as valid as a read object's BTF
//! and type ids are kept: lowering a reparsed module gives the same `func_info` and
//! `core_relo` type ids and the same string offsets in `line_info`.
//!
//! String order: without a `strings` block the parser interns strings as it meets them —
//! type, member, parameter and enumerator names in type order, then for each function the
//! file and text of each `.line` and the access string of each `.core`. The printer writes
//! the `strings` block only when the module's table differs from that (clang's tables
//! interleave type names and source lines, so read objects carry it; hand-written text does
//! not need it). The parser reads that block first, wherever it is.
//!
//! Cost: printing is one pass over the types plus one simulated interning pass; parsing is one
//! pass and one [`Btf::parse`].

use std::collections::HashMap;
use std::fmt;

use crate::btf::{Btf, Kind, Linkage, StrOffset, TypeId, TypeKind};
use crate::ir::Module;

use super::cursor::{AttrVal, Attrs, Cur};
use super::error::ParseError;
use super::Has as _;

/// A string table under construction, in the parser's interning order.
#[derive(Clone, Debug)]
pub(crate) struct StrTab {
    bytes: Vec<u8>,
    index: HashMap<Vec<u8>, u32>,
}

impl StrTab {
    pub(crate) fn new() -> StrTab {
        StrTab {
            bytes: vec![0],
            index: HashMap::from([(Vec::new(), 0)]),
        }
    }

    /// The offset of `s`, appended if it is new. A string with a NUL cannot be stored.
    pub(crate) fn intern(&mut self, s: &[u8]) -> Result<u32, String> {
        if let Some(&off) = self.index.get(s) {
            return Ok(off);
        }
        self.push(s)
    }

    /// Appends `s` even if an equal string exists (a `strings` block is kept as written).
    pub(crate) fn push(&mut self, s: &[u8]) -> Result<u32, String> {
        if s.contains(&0) {
            return Err("a btf string cannot contain a nul byte".into());
        }
        let off = u32::try_from(self.bytes.len()).map_err(|_| "too many string bytes")?;
        self.bytes.extend_from_slice(s);
        self.bytes.push(0);
        self.index.entry(s.to_vec()).or_insert(off);
        Ok(off)
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// The strings of `btf`'s table in order (the first, empty one left out), or `None` when one
/// is not UTF-8.
fn table_strings(btf: &Btf) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let mut off = 1u32;
    while off < btf.str_len() {
        let s = btf.str(StrOffset(off)).ok()?;
        out.push(s);
        off = off.checked_add(s.len() as u32 + 1)?;
    }
    Some(out)
}

/// The names of `ty` and its items, in the order the parser interns them.
fn type_names(btf: &Btf, id: TypeId) -> Vec<StrOffset> {
    let Some(t) = btf.get(id) else {
        return Vec::new();
    };
    let mut out = vec![t.name];
    match t.kind {
        TypeKind::Struct { .. } | TypeKind::Union { .. } => {
            out.extend(btf.members(id).iter().map(|m| m.name))
        }
        TypeKind::FuncProto { .. } => out.extend(btf.params(id).iter().map(|p| p.name)),
        TypeKind::Enum { .. } | TypeKind::Enum64 { .. } => {
            out.extend(btf.enum_values(id).iter().map(|v| v.name))
        }
        _ => {}
    }
    out
}

/// Whether the parser, interning in its order, rebuilds `btf`'s string table exactly.
fn implicit_order_holds(m: &Module, btf: &Btf) -> bool {
    let mut tab = StrTab::new();
    let mut add = |off: StrOffset| match btf.str(off) {
        Ok(s) => tab.intern(s.as_bytes()).is_ok(),
        Err(_) => false,
    };
    for (id, _) in btf.own_types().skip(1) {
        for name in type_names(btf, id) {
            if !add(name) {
                return false;
            }
        }
    }
    for (f, _) in m.functions() {
        for insn in m.func_insns(f) {
            if let Some(l) = m.line_of(insn).filter(|&l| m.has_line(l)) {
                let l = m.line(l);
                if !add(l.file) || !add(l.text) {
                    return false;
                }
            }
            if let Some(c) = m.core_of(insn).filter(|&c| m.has_core_relo(c)) {
                if !add(m.core_relo(c).access_str) {
                    return false;
                }
            }
        }
    }
    let mut own = Vec::with_capacity(btf.str_len() as usize);
    own.push(0);
    match table_strings(btf) {
        Some(strings) => {
            for s in strings {
                own.extend_from_slice(s.as_bytes());
                own.push(0);
            }
        }
        None => return false,
    }
    own == tab.bytes()
}

/// A single-quoted BTF name; `'(anon)'` for the empty one, as bpftool prints it.
struct Name<'a>(&'a Btf, StrOffset);

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.str(self.1) {
            Ok("") => f.write_str("'(anon)'"),
            Ok(s) => {
                f.write_str("'")?;
                for c in s.chars() {
                    match c {
                        '\'' => f.write_str("\\'")?,
                        '\\' => f.write_str("\\\\")?,
                        c if (' '..='~').contains(&c) => write!(f, "{c}")?,
                        c => {
                            let mut buf = [0u8; 4];
                            for b in c.encode_utf8(&mut buf).bytes() {
                                write!(f, "\\x{b:02x}")?;
                            }
                        }
                    }
                }
                f.write_str("'")
            }
            Err(_) => f.write_str("'<bad string>'"),
        }
    }
}

fn id(btf: &Btf, t: TypeId) -> u32 {
    btf.wire_id(t).0
}

fn linkage(l: Linkage) -> &'static str {
    match l {
        Linkage::Static => "static",
        Linkage::Global => "global",
        Linkage::Extern => "extern",
    }
}

/// Prints the `strings { ... }` block (at the end of the text) when the module's string
/// table is not in the order the parser would build it.
pub(crate) fn print_strings(f: &mut fmt::Formatter<'_>, m: &Module, btf: &Btf) -> fmt::Result {
    if implicit_order_holds(m, btf) {
        return Ok(());
    }
    writeln!(f)?;
    writeln!(
        f,
        "; The BTF string table in its order, so that every string offset is kept."
    )?;
    writeln!(f, "strings {{")?;
    for s in table_strings(btf).unwrap_or_default() {
        writeln!(f, "    {}", super::print::Quoted(s.as_bytes()))?;
    }
    writeln!(f, "}}")
}

/// Prints the `btf { ... }` block.
pub(crate) fn print_btf(f: &mut fmt::Formatter<'_>, btf: &Btf) -> fmt::Result {
    writeln!(f, "btf {{")?;
    for (ty, t) in btf.own_types().skip(1) {
        let kind = t.kind.kind();
        write!(f, "    [{}] {kind} {}", id(btf, ty), Name(btf, t.name))?;
        match t.kind {
            TypeKind::Void => {}
            TypeKind::Int {
                size,
                encoding,
                offset,
                bits,
            } => {
                write!(
                    f,
                    " size={size} bits_offset={offset} nr_bits={bits} encoding="
                )?;
                match encoding.0 {
                    0 => f.write_str("(none)")?,
                    1 => f.write_str("SIGNED")?,
                    2 => f.write_str("CHAR")?,
                    4 => f.write_str("BOOL")?,
                    n => write!(f, "{n:#x}")?,
                }
            }
            TypeKind::Ptr(t)
            | TypeKind::Typedef(t)
            | TypeKind::Volatile(t)
            | TypeKind::Const(t)
            | TypeKind::Restrict(t) => write!(f, " type_id={}", id(btf, t))?,
            TypeKind::TypeTag { ty, attribute } => {
                write!(f, " type_id={}", id(btf, ty))?;
                if attribute {
                    f.write_str(" kind_flag=1")?;
                }
            }
            TypeKind::Array { elem, index, len } => write!(
                f,
                " type_id={} index_type_id={} nr_elems={len}",
                id(btf, elem),
                id(btf, index)
            )?,
            TypeKind::Struct {
                size,
                bitfield_encoding,
                ..
            }
            | TypeKind::Union {
                size,
                bitfield_encoding,
                ..
            } => {
                let members = btf.members(ty);
                write!(f, " size={size} vlen={}", members.len())?;
                if bitfield_encoding {
                    f.write_str(" kind_flag=1")?;
                }
                for mem in members {
                    write!(
                        f,
                        "\n        {} type_id={} bits_offset={}",
                        Name(btf, mem.name),
                        id(btf, mem.ty),
                        mem.bit_offset
                    )?;
                    if mem.bitfield_size != 0 {
                        write!(f, " bitfield_size={}", mem.bitfield_size)?;
                    }
                }
            }
            TypeKind::Enum { size, signed, .. } | TypeKind::Enum64 { size, signed, .. } => {
                let is64 = matches!(t.kind, TypeKind::Enum64 { .. });
                let values = btf.enum_values(ty);
                let enc = if signed { "SIGNED" } else { "UNSIGNED" };
                write!(f, " encoding={enc} size={size} vlen={}", values.len())?;
                for v in values {
                    write!(
                        f,
                        "\n        {} val={}",
                        Name(btf, v.name),
                        v.value(signed, is64)
                    )?;
                }
            }
            TypeKind::Fwd { union } => {
                write!(f, " fwd_kind={}", if union { "union" } else { "struct" })?
            }
            TypeKind::Func { proto, linkage: l } => {
                write!(f, " type_id={} linkage={}", id(btf, proto), linkage(l))?
            }
            TypeKind::FuncProto { ret, .. } => {
                let params = btf.params(ty);
                write!(f, " ret_type_id={} vlen={}", id(btf, ret), params.len())?;
                for p in params {
                    write!(
                        f,
                        "\n        {} type_id={}",
                        Name(btf, p.name),
                        id(btf, p.ty)
                    )?;
                }
            }
            TypeKind::Var { ty: vt, linkage: l } => {
                write!(f, " type_id={} linkage={}", id(btf, vt), linkage(l))?
            }
            TypeKind::Datasec { size, .. } => {
                let vars = btf.datasec_vars(ty);
                write!(f, " size={size} vlen={}", vars.len())?;
                for v in vars {
                    write!(
                        f,
                        "\n        type_id={} offset={} size={}",
                        id(btf, v.ty),
                        v.offset,
                        v.size
                    )?;
                    if let Some(vt) = btf.get(v.ty) {
                        write!(f, "  ; {} {}", vt.kind.kind(), Name(btf, vt.name))?;
                    }
                }
            }
            TypeKind::Float { size } => write!(f, " size={size}")?,
            TypeKind::DeclTag {
                ty: tagged,
                component_idx,
                attribute,
            } => {
                write!(
                    f,
                    " type_id={} component_idx={component_idx}",
                    id(btf, tagged)
                )?;
                if attribute {
                    f.write_str(" kind_flag=1")?;
                }
            }
        }
        writeln!(f)?;
    }
    writeln!(f, "}}")
}

/// One type record as the parser collects it: the wire fields and its trailing words.
#[derive(Clone, Debug)]
struct Record {
    name: u32,
    kind: Kind,
    kind_flag: bool,
    /// `vlen` as printed, checked against the items.
    vlen: Option<u64>,
    n_items: u32,
    size_or_type: u32,
    tail: Vec<u32>,
    /// The source line of the type, for errors.
    line: u32,
}

/// The `btf` block as parsed: the records and the string table, assembled into a [`Btf`]
/// once the whole text has been read (functions add strings after the block).
#[derive(Clone, Debug)]
pub(crate) struct BtfText {
    /// Line of `btf {`.
    pub line: u32,
    records: Vec<Record>,
}

fn kind_by_name(name: &str) -> Option<Kind> {
    (1..=19u8)
        .filter_map(Kind::from_wire)
        .find(|k| k.name() == name)
}

fn linkage_by_name(name: &str) -> Option<u32> {
    match name {
        "static" => Some(0),
        "global" => Some(1),
        "extern" => Some(2),
        _ => None,
    }
}

impl BtfText {
    pub(crate) fn new(line: u32) -> BtfText {
        BtfText {
            line,
            records: Vec::new(),
        }
    }

    /// Whether a line starting with this token continues the last type (an item line).
    pub(crate) fn is_item_line(cur: &Cur<'_>) -> bool {
        cur.peek_is_name() || cur.peek_word() == Some("type_id")
    }

    /// Parses `[N] KIND 'name' attrs...`.
    pub(crate) fn type_line(
        &mut self,
        cur: &mut Cur<'_>,
        strings: &mut StrTab,
    ) -> Result<(), ParseError> {
        let at = cur.pos();
        let n = cur.type_ref()?;
        let expected = self.records.len() as u32 + 1;
        if n != expected {
            return Err(cur.semantic_at(
                at,
                format!("type ids must count up from 1 without gaps: expected [{expected}], found [{n}]"),
            ));
        }
        let (kind_name, kind_pos) = cur.word()?;
        let kind = kind_by_name(&kind_name)
            .ok_or_else(|| cur.syntax_at(kind_pos, format!("unknown btf kind `{kind_name}`")))?;
        let name = cur.name()?;
        let name = if name == b"(anon)" { Vec::new() } else { name };
        let name = strings.intern(&name).map_err(|e| cur.syntax_at(at, e))?;
        let attrs = cur.attrs()?;
        let mut r = Record {
            name,
            kind,
            kind_flag: false,
            vlen: None,
            n_items: 0,
            size_or_type: 0,
            tail: Vec::new(),
            line: at.line,
        };
        let kind_flag = |a: &Attrs<'_>| -> Result<bool, ParseError> {
            Ok(a.opt_u64("kind_flag")?.unwrap_or(0) != 0)
        };
        match kind {
            Kind::Int => {
                r.size_or_type = attrs.u32("size")?;
                let enc = match attrs.get("encoding") {
                    Some((AttrVal::Word(w), _)) if w == "SIGNED" => 1,
                    Some((AttrVal::Word(w), _)) if w == "CHAR" => 2,
                    Some((AttrVal::Word(w), _)) if w == "BOOL" => 4,
                    Some((AttrVal::Word(w), _)) if w == "none" => 0,
                    Some((AttrVal::Num(n), pos)) => u8::try_from(*n)
                        .map_err(|_| attrs.error(*pos, "encoding out of range".into()))?,
                    None => 0,
                    Some((_, pos)) => {
                        return Err(attrs.error(
                            *pos,
                            "encoding must be SIGNED, CHAR, BOOL, (none) or a number".into(),
                        ))
                    }
                };
                let off = attrs.opt_u64("bits_offset")?.unwrap_or(0);
                let bits = attrs.u32("nr_bits")?;
                if off > 255 || bits > 255 {
                    return Err(cur.syntax_at(at, "bits_offset and nr_bits must fit a byte".into()));
                }
                r.tail
                    .push((u32::from(enc) << 24) | ((off as u32) << 16) | bits);
            }
            Kind::Ptr | Kind::Typedef | Kind::Volatile | Kind::Const | Kind::Restrict => {
                r.size_or_type = attrs.u32("type_id")?;
            }
            Kind::TypeTag => {
                r.size_or_type = attrs.u32("type_id")?;
                r.kind_flag = kind_flag(&attrs)?;
            }
            Kind::Array => {
                r.tail = vec![
                    attrs.u32("type_id")?,
                    attrs.u32("index_type_id")?,
                    attrs.u32("nr_elems")?,
                ];
            }
            Kind::Struct | Kind::Union | Kind::Datasec => {
                r.size_or_type = attrs.u32("size")?;
                r.vlen = attrs.opt_u64("vlen")?;
                r.kind_flag = kind_flag(&attrs)?;
            }
            Kind::Enum | Kind::Enum64 => {
                r.size_or_type = attrs.u32("size")?;
                r.vlen = attrs.opt_u64("vlen")?;
                r.kind_flag = match attrs.get("encoding") {
                    Some((AttrVal::Word(w), _)) if w == "SIGNED" => true,
                    Some((AttrVal::Word(w), _)) if w == "UNSIGNED" => false,
                    None => false,
                    Some((_, pos)) => {
                        return Err(
                            attrs.error(*pos, "enum encoding must be SIGNED or UNSIGNED".into())
                        )
                    }
                };
            }
            Kind::Fwd => {
                r.kind_flag = match attrs.word("fwd_kind")? {
                    "struct" => false,
                    "union" => true,
                    _ => return Err(cur.syntax_at(at, "fwd_kind must be struct or union".into())),
                };
            }
            Kind::Func => {
                r.size_or_type = attrs.u32("type_id")?;
                let l = attrs.word("linkage")?;
                r.n_items = linkage_by_name(l)
                    .ok_or_else(|| cur.syntax_at(at, format!("unknown linkage `{l}`")))?;
            }
            Kind::FuncProto => {
                r.size_or_type = attrs.u32("ret_type_id")?;
                r.vlen = attrs.opt_u64("vlen")?;
            }
            Kind::Var => {
                r.size_or_type = attrs.u32("type_id")?;
                let l = attrs.word("linkage")?;
                r.tail.push(
                    linkage_by_name(l)
                        .ok_or_else(|| cur.syntax_at(at, format!("unknown linkage `{l}`")))?,
                );
            }
            Kind::Float => r.size_or_type = attrs.u32("size")?,
            Kind::DeclTag => {
                r.size_or_type = attrs.u32("type_id")?;
                r.tail.push(attrs.i64("component_idx")? as i32 as u32);
                r.kind_flag = kind_flag(&attrs)?;
            }
            _ => {
                return Err(
                    cur.syntax_at(kind_pos, format!("btf kind {kind_name} cannot be written"))
                )
            }
        }
        attrs.finish()?;
        self.records.push(r);
        Ok(())
    }

    /// Parses an item line of the last type: a member, parameter, enumerator or section
    /// variable.
    pub(crate) fn item_line(
        &mut self,
        cur: &mut Cur<'_>,
        strings: &mut StrTab,
    ) -> Result<(), ParseError> {
        let at = cur.pos();
        let Some(r) = self.records.last_mut() else {
            return Err(cur.syntax_at(at, "an item line before any type".into()));
        };
        match r.kind {
            Kind::Datasec => {
                let attrs = cur.attrs()?;
                r.tail.push(attrs.u32("type_id")?);
                r.tail.push(attrs.u32("offset")?);
                r.tail.push(attrs.u32("size")?);
                attrs.finish()?;
            }
            Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::FuncProto => {
                let name = cur.name()?;
                let name = if name == b"(anon)" { Vec::new() } else { name };
                let name = strings.intern(&name).map_err(|e| cur.syntax_at(at, e))?;
                let attrs = cur.attrs()?;
                r.tail.push(name);
                match r.kind {
                    Kind::Struct | Kind::Union => {
                        r.tail.push(attrs.u32("type_id")?);
                        let off = attrs.u32("bits_offset")?;
                        let bf = attrs.opt_u64("bitfield_size")?.unwrap_or(0);
                        if bf > 255 || (r.kind_flag && off >= 1 << 24) {
                            return Err(cur.syntax_at(at, "bitfield does not fit".into()));
                        }
                        if bf != 0 && !r.kind_flag {
                            return Err(cur.syntax_at(
                                at,
                                "bitfield_size needs kind_flag=1 on its struct".into(),
                            ));
                        }
                        r.tail.push(((bf as u32) << 24) | off);
                    }
                    Kind::FuncProto => r.tail.push(attrs.u32("type_id")?),
                    _ => {
                        let v = attrs.i128("val")?;
                        let bits = if v < 0 { v as i64 as u64 } else { v as u64 };
                        r.tail.push(bits as u32);
                        if r.kind == Kind::Enum64 {
                            r.tail.push((bits >> 32) as u32);
                        }
                    }
                }
                attrs.finish()?;
            }
            _ => return Err(cur.syntax_at(at, format!("a {} has no item lines", r.kind.name()))),
        }
        r.n_items += 1;
        if r.n_items > u32::from(u16::MAX) {
            return Err(cur.syntax_at(at, "more than 65535 items".into()));
        }
        Ok(())
    }

    /// Checks `vlen`s and writes the blob; `Btf::parse` validates it.
    pub(crate) fn assemble(
        &self,
        endian: crate::Endian,
        strings: &StrTab,
    ) -> Result<Btf, ParseError> {
        let bad = |reason: String| ParseError::Btf {
            line: self.line,
            reason,
        };
        let mut types = Vec::new();
        let put = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&endian.u32_bytes(v));
        for (i, r) in self.records.iter().enumerate() {
            if let Some(vlen) = r.vlen {
                if vlen != u64::from(r.n_items) {
                    return Err(bad(format!(
                        "type [{}] (line {}) says vlen={vlen} but has {} items",
                        i + 1,
                        r.line,
                        r.n_items
                    )));
                }
            }
            let info = (u32::from(r.kind_flag) << 31) | ((r.kind as u32) << 24) | r.n_items;
            put(&mut types, r.name);
            put(&mut types, info);
            put(&mut types, r.size_or_type);
            for &w in &r.tail {
                put(&mut types, w);
            }
        }
        let s = strings.bytes();
        let mut blob = Vec::with_capacity(24 + types.len() + s.len());
        blob.extend_from_slice(&endian.u16_bytes(crate::btf::MAGIC));
        blob.push(1);
        blob.push(0);
        for v in [
            24,
            0,
            types.len() as u32,
            types.len() as u32,
            s.len() as u32,
        ] {
            put(&mut blob, v);
        }
        blob.extend_from_slice(&types);
        blob.extend_from_slice(s);
        Btf::parse(&blob).map_err(|e| bad(e.to_string()))
    }
}
