//! The parser: text (as [`print`](super::print) writes it, or by hand) to a [`Module`].
//!
//! Two steps. The first (here) reads line by line into plain records, names unresolved:
//! labels, functions and types may be used before they are defined. The second
//! (`resolve.rs`) assembles the BTF (see `btf.rs`), creates the entities in text order (so a
//! printed module comes back with the same arena order) and resolves every name, reporting an
//! unknown one at the place it is used.
//!
//! Cost: linear in the text; names resolve through hash maps.

use std::collections::HashMap;

use crate::btf::{StrOffset, TypeId};
use crate::btf_ext::{CoreAccess, CoreReloKind};
use crate::ir::{
    AnyEntity, DataKind, DataSection, DataVar, Extern, ExternKind, FuncId, Function, InsnId,
    MapDef, MapOrigin, Module, Pinning, SourceLine, SymbolLinkage,
};
use crate::Endian;

use super::btf::{BtfText, StrTab};
use super::cursor::{AttrVal, Cur};
use super::error::{ParseError, Pos};
use super::insn::parse_insn;
use super::lexer::{lex, Line, Tok};
use super::names::map_type_id;

/// The largest data section the parser allocates (its `size=` is untrusted).
const MAX_DATA_BYTES: u64 = 1 << 26;

/// A symbolic operand as written, resolved after the whole text is read.
#[derive(Clone, Debug)]
pub(crate) enum PRef {
    Jump(String),
    /// `call @name` or `call @name:k`: a function (the k-th of that name) or an extern.
    Call(String, usize),
    FuncAddr(String, usize),
    Map(String),
    Data(String, u32),
    Extern(String),
}

pub(super) struct PInsn {
    pub(super) insn: crate::insn::Insn,
    pub(super) reference: Option<(PRef, Pos)>,
    pub(super) line: Option<SourceLine>,
    pub(super) core: Option<(CoreReloKind, u32, Pos, u32, CoreAccess)>,
    pub(super) origin: Option<String>,
    pub(super) line_index: usize,
}

pub(super) struct PFunc {
    pub(super) func: Function,
    pub(super) btf: Option<(u32, Pos)>,
    pub(super) insns: Vec<PInsn>,
    pub(super) labels: HashMap<String, usize>,
    pub(super) line_index: usize,
}

pub(super) struct PMap {
    pub(super) def: MapDef,
    pub(super) key: Option<(u32, Pos)>,
    pub(super) value: Option<(u32, Pos)>,
    pub(super) var: Option<(u32, Pos)>,
    pub(super) inner: Option<Box<PMap>>,
    pub(super) linkage: SymbolLinkage,
    pub(super) line_index: usize,
    pub(super) name_pos: Pos,
    /// A struct_ops value: section, bytes, and `(offset, function, k, where)` pointers.
    pub(super) ops: Option<POps>,
}

/// A struct_ops value as parsed, its function pointers unresolved.
pub(super) struct POps {
    pub(super) section: String,
    pub(super) data: Vec<u8>,
    pub(super) funcs: Vec<(u32, String, usize, usize, Pos)>,
}

/// A data section as parsed: its `datasec=` type, line and name position.
pub(super) type PData = (DataSection, Option<(u32, Pos)>, usize, Pos);
/// An extern as parsed: its `btf=` type, line and name position.
pub(super) type PExtern = (Extern, Option<(u32, Pos)>, usize, Pos);
/// Resolves a `[N]` at a line against the assembled BTF.
pub(super) type TypeResolver<'r> =
    dyn Fn(Option<(u32, Pos)>, usize) -> Result<Option<TypeId>, ParseError> + 'r;

pub(super) struct Parser<'a> {
    pub(super) lines: &'a [Line],
    pub(super) i: usize,
    pub(super) endian: Endian,
    pub(super) license: Option<String>,
    pub(super) version: Option<u32>,
    pub(super) btf: Option<BtfText>,
    pub(super) strings: StrTab,
    pub(super) maps: Vec<PMap>,
    pub(super) data: Vec<PData>,
    pub(super) externs: Vec<PExtern>,
    pub(super) funcs: Vec<PFunc>,
}

/// Parses a module from its text. See [the module docs](super) for the format.
///
/// ```
/// let text = "program @prog section=\"socket\" linkage=global {\n    r0 = 0x0\n    exit\n}\n";
/// let m = bpfir::ir::text::parse(text).unwrap();
/// let prog = m.function_by_name("prog").unwrap();
/// assert_eq!(m.function(prog).n_insns(), 2);
/// ```
///
/// After parsing, the IR verifier checks the module's structure and references
/// ([`crate::verify::verify_structure`]); its findings come back as [`ParseError::Verify`]
/// at the lines they are about. [`parse_unverified`] skips that step, to look at a module
/// that is broken on purpose.
pub fn parse(text: &str) -> Result<Module, ParseError> {
    let (m, places) = parse_with_places(text)?;
    if let Err(errors) = crate::verify::verify_structure(&m) {
        let errors = errors
            .iter()
            .map(|e| {
                let pos = match e.location {
                    AnyEntity::Insn(id) => places.insns.get(&id).copied(),
                    AnyEntity::Func(f) => places.funcs.get(&f).copied(),
                    _ => None,
                };
                (pos, e.to_string())
            })
            .collect();
        return Err(ParseError::Verify { errors });
    }
    Ok(m)
}

/// Parses like [`parse`] without running the IR verifier.
pub fn parse_unverified(text: &str) -> Result<Module, ParseError> {
    parse_with_places(text).map(|(m, _)| m)
}

/// Where the parser created each instruction and function, to place verifier findings.
#[derive(Default)]
pub(super) struct Places {
    pub(super) insns: HashMap<InsnId, Pos>,
    pub(super) funcs: HashMap<FuncId, Pos>,
}

fn parse_with_places(text: &str) -> Result<(Module, Places), ParseError> {
    let lines = lex(text)?;
    let mut p = Parser {
        lines: &lines,
        i: 0,
        endian: Endian::Little,
        license: None,
        version: None,
        btf: None,
        strings: StrTab::new(),
        maps: Vec::new(),
        data: Vec::new(),
        externs: Vec::new(),
        funcs: Vec::new(),
    };
    p.top()?;
    p.build()
}

impl<'a> Parser<'a> {
    fn next_line(&mut self) -> Option<&'a Line> {
        let l = self.lines.get(self.i)?;
        self.i += 1;
        Some(l)
    }

    /// The next line of a `{ }` block, or an error at the end of the text.
    fn block_line(&mut self, open: &'a Line) -> Result<&'a Line, ParseError> {
        self.next_line().ok_or_else(|| {
            ParseError::syntax(
                Pos::new(open.number, 1),
                &open.text,
                "this block is not closed with `}`".into(),
            )
        })
    }

    fn is_close(line: &Line) -> bool {
        line.tokens.len() == 1 && line.tokens[0].tok == Tok::Punct("}")
    }

    /// Reads the top-level `strings { ... }` block, wherever it is, before anything interns
    /// a string: its order is the table's.
    fn preload_strings(&mut self) -> Result<(), ParseError> {
        let mut depth = 0usize;
        let mut seen: Option<u32> = None;
        let mut i = 0;
        while i < self.lines.len() {
            let line = &self.lines[i];
            i += 1;
            if Self::is_close(line) {
                depth = depth.saturating_sub(1);
                continue;
            }
            let opens = line.tokens.last().is_some_and(|t| t.tok == Tok::Punct("{"));
            let is_strings = depth == 0
                && line.tokens.len() == 2
                && line.tokens[0].tok == Tok::Word("strings".into())
                && opens;
            if !is_strings {
                depth += usize::from(opens);
                continue;
            }
            if let Some(first) = seen {
                return Err(ParseError::syntax(
                    Pos::new(line.number, 1),
                    &line.text,
                    format!("a second strings block (the first is at line {first})"),
                ));
            }
            seen = Some(line.number);
            loop {
                let Some(l) = self.lines.get(i) else {
                    return Err(ParseError::syntax(
                        Pos::new(line.number, 1),
                        &line.text,
                        "this block is not closed with `}`".into(),
                    ));
                };
                i += 1;
                if Self::is_close(l) {
                    break;
                }
                let mut c = Cur::new(l);
                let at = c.pos();
                let s = c.string()?;
                c.end()?;
                self.strings.push(&s).map_err(|e| c.syntax_at(at, e))?;
            }
        }
        Ok(())
    }

    fn top(&mut self) -> Result<(), ParseError> {
        self.preload_strings()?;
        while let Some(line) = self.next_line() {
            let mut cur = Cur::new(line);
            let (word, pos) = cur.word()?;
            match word.as_str() {
                "endian" => {
                    self.endian = match cur.word()?.0.as_str() {
                        "little" => Endian::Little,
                        "big" => Endian::Big,
                        _ => return Err(cur.syntax_at(pos, "endian is little or big".into())),
                    };
                    cur.end()?;
                }
                "license" => {
                    let s = cur.string()?;
                    self.license = Some(String::from_utf8(s).map_err(|_| {
                        cur.syntax_at(pos, "the license must be valid UTF-8".into())
                    })?);
                    cur.end()?;
                }
                "version" => {
                    let n = cur.num()?;
                    self.version = Some(
                        u32::try_from(n)
                            .map_err(|_| cur.syntax_at(pos, "version out of range".into()))?,
                    );
                    cur.end()?;
                }
                "btf" => {
                    if self.btf.is_some() || !self.funcs.is_empty() {
                        return Err(cur.syntax_at(
                            pos,
                            "one btf block, before the functions".into(),
                        ));
                    }
                    cur.punct("{")?;
                    cur.end()?;
                    self.btf_block(line)?;
                }
                "map" => {
                    let map = self.map(line, cur, false)?;
                    self.maps.push(map);
                }
                "data" => self.data_section(line, cur)?,
                "extern" => {
                    let (name, npos) = cur.sym()?;
                    let attrs = cur.attrs()?;
                    let kind = match attrs.word("kind")? {
                        "kconfig" => ExternKind::Kconfig,
                        "ksym" => ExternKind::Ksym,
                        "func" => ExternKind::Func,
                        "map" => ExternKind::Map,
                        k => {
                            return Err(cur.syntax_at(
                                pos,
                                format!("unknown extern kind `{k}` (kconfig, ksym or func)"),
                            ))
                        }
                    };
                    let weak = attrs.flag("weak")?;
                    let btf = attrs.opt_type("btf")?;
                    attrs.finish()?;
                    cur.end()?;
                    self.externs.push((
                        Extern {
                            name,
                            kind,
                            weak,
                            btf: None,
                        },
                        btf,
                        self.i - 1,
                        npos,
                    ));
                }
                "program" | "subprogram" => self.function(line, cur, word == "program")?,
                "strings" => {
                    // Read by `preload_strings`; skip it here.
                    cur.punct("{")?;
                    cur.end()?;
                    while !Self::is_close(self.block_line(line)?) {}
                }
                other => {
                    return Err(cur.syntax_at(
                        pos,
                        format!("unknown statement `{other}` (expected endian, license, version, btf, map, data, extern, program, subprogram or strings)"),
                    ))
                }
            }
        }
        Ok(())
    }

    fn btf_block(&mut self, open: &'a Line) -> Result<(), ParseError> {
        let mut btf = BtfText::new(open.number);
        loop {
            let line = self.block_line(open)?;
            if Self::is_close(line) {
                break;
            }
            let mut cur = Cur::new(line);
            if cur.is_punct("[") {
                btf.type_line(&mut cur, &mut self.strings)?;
            } else if BtfText::is_item_line(&cur) {
                btf.item_line(&mut cur, &mut self.strings)?;
            } else {
                return Err(cur.expected("a type `[N] KIND 'name' ...` or an item line"));
            }
            cur.end()?;
        }
        self.btf = Some(btf);
        Ok(())
    }

    fn map(&mut self, line: &'a Line, mut cur: Cur<'a>, inner: bool) -> Result<PMap, ParseError> {
        let (name, name_pos) = cur.sym()?;
        let line_index = self.i - 1;
        let attrs = cur.attrs()?;
        let ty_pos = attrs.get("type").map(|(_, p)| *p).unwrap_or(name_pos);
        let map_type = match attrs.get("type") {
            Some((AttrVal::Word(w), _)) => map_type_id(w)
                .ok_or_else(|| cur.syntax_at(ty_pos, format!("unknown map type `{w}`")))?,
            Some((AttrVal::Num(n), _)) => u32::try_from(*n)
                .map_err(|_| cur.syntax_at(ty_pos, "map type out of range".into()))?,
            _ => return Err(cur.syntax_at(ty_pos, "missing `type=` (hash, array, ...)".into())),
        };
        let origin = match attrs.opt_word("origin")?.unwrap_or("btf") {
            "btf" => MapOrigin::Btf,
            "legacy" => MapOrigin::Legacy,
            "struct_ops" => MapOrigin::StructOps,
            o => return Err(cur.syntax_at(name_pos, format!("unknown map origin `{o}`"))),
        };
        let pinning = match attrs.get("pinning") {
            None => Pinning::None,
            Some((AttrVal::Word(w), _)) if w == "by_name" => Pinning::ByName,
            Some((AttrVal::Num(n), pos)) => Pinning::Other(
                u32::try_from(*n)
                    .map_err(|_| cur.syntax_at(*pos, "pinning out of range".into()))?,
            ),
            Some((_, pos)) => {
                return Err(cur.syntax_at(*pos, "pinning is by_name or a number".into()))
            }
        };
        let linkage = match attrs.opt_word("linkage")? {
            None | Some("global") => SymbolLinkage::Global,
            Some("weak") => SymbolLinkage::Weak,
            Some("static") => SymbolLinkage::Static,
            Some(l) => return Err(cur.syntax_at(name_pos, format!("unknown linkage `{l}`"))),
        };
        let def = MapDef {
            map_type,
            key_size: attrs.u32("key_size")?,
            value_size: attrs.u32("value_size")?,
            max_entries: attrs.u32("max_entries")?,
            flags: attrs.opt_u32("flags")?.unwrap_or(0),
            numa_node: attrs.opt_u32("numa_node")?.unwrap_or(0),
            map_extra: attrs.opt_u64("map_extra")?.unwrap_or(0),
            pinning,
            ..MapDef::new(name, origin)
        };
        let mut map = PMap {
            def,
            key: attrs.opt_type("key")?,
            value: attrs.opt_type("value")?,
            var: attrs.opt_type("var")?,
            inner: None,
            linkage,
            line_index,
            name_pos,
            ops: None,
        };
        if inner && linkage != SymbolLinkage::Global {
            return Err(cur.syntax_at(name_pos, "an inner map has no linkage".into()));
        }
        attrs.finish()?;
        if cur.eat_punct("{") {
            cur.end()?;
            loop {
                let l = self.block_line(line)?;
                if Self::is_close(l) {
                    break;
                }
                let mut c = Cur::new(l);
                let (w, pos) = c.word()?;
                match w.as_str() {
                    "inner" if map.inner.is_none() => {
                        map.inner = Some(Box::new(self.map(l, c, true)?));
                    }
                    "slot" => {
                        let at = c.pos();
                        let slot = u32::try_from(c.num()?)
                            .map_err(|_| c.syntax_at(at, "slot out of range".into()))?;
                        let (sym, _) = c.sym()?;
                        c.end()?;
                        map.def.init_slots.push((slot, sym));
                    }
                    "struct_ops" if !inner && map.ops.is_none() => {
                        let a = c.attrs()?;
                        let section = a.opt_str("section")?.unwrap_or(b".struct_ops").to_vec();
                        let section = String::from_utf8(section).map_err(|_| {
                            c.syntax_at(pos, "the section must be valid UTF-8".into())
                        })?;
                        let size = u64::from(a.u32("size")?);
                        a.finish()?;
                        c.end()?;
                        if size > MAX_DATA_BYTES {
                            return Err(c.syntax_at(pos, "a struct_ops value that large".into()));
                        }
                        map.ops = Some(POps {
                            section,
                            data: vec![0; size as usize],
                            funcs: Vec::new(),
                        });
                    }
                    "bytes" | "func" if map.ops.is_none() => {
                        return Err(c.syntax_at(
                            pos,
                            format!(
                                "`{w}` belongs to a struct_ops value: `struct_ops size=N` first"
                            ),
                        ))
                    }
                    "bytes" => {
                        if let Some(ops) = map.ops.as_mut() {
                            self.bytes_row(l, &mut ops.data)?;
                        }
                    }
                    "func" => {
                        let at = c.pos();
                        let offset = u32::try_from(c.num()?)
                            .map_err(|_| c.syntax_at(at, "offset out of range".into()))?;
                        let fpos = c.pos();
                        let (name, k) = super::insn::func_sym(&mut c)?;
                        c.end()?;
                        if let Some(ops) = map.ops.as_mut() {
                            ops.funcs.push((offset, name, k, self.i - 1, fpos));
                        }
                    }
                    _ => {
                        return Err(c.syntax_at(
                            pos,
                            format!("expected `inner`, `slot` or `struct_ops`, found `{w}`"),
                        ))
                    }
                }
            }
        } else {
            cur.end()?;
        }
        Ok(map)
    }

    fn data_section(&mut self, line: &'a Line, mut cur: Cur<'a>) -> Result<(), ParseError> {
        let (name, name_pos) = cur.sym()?;
        let line_index = self.i - 1;
        let attrs = cur.attrs()?;
        let kind = match attrs.word("kind")? {
            "data" => DataKind::Data,
            "rodata" => DataKind::Rodata,
            "bss" => DataKind::Bss,
            "arena" => DataKind::Arena,
            k => {
                return Err(cur.syntax_at(
                    name_pos,
                    format!("unknown data kind `{k}` (data, rodata or bss)"),
                ))
            }
        };
        let size = u64::from(attrs.u32("size")?);
        if size > MAX_DATA_BYTES {
            return Err(cur.syntax_at(
                name_pos,
                format!("a data section of more than {MAX_DATA_BYTES} bytes"),
            ));
        }
        let align = attrs.opt_u64("align")?.unwrap_or(1);
        let datasec = attrs.opt_type("datasec")?;
        attrs.finish()?;
        cur.punct("{")?;
        cur.end()?;
        let mut section = DataSection {
            name,
            kind,
            bytes: vec![0; size as usize],
            align,
            vars: Vec::new(),
            btf_datasec: None,
        };
        loop {
            let l = self.block_line(line)?;
            if Self::is_close(l) {
                break;
            }
            let mut c = Cur::new(l);
            let (w, pos) = c.word()?;
            match w.as_str() {
                "var" => {
                    let (vname, _) = c.sym()?;
                    let a = c.attrs()?;
                    let linkage = match a.opt_word("linkage")?.unwrap_or("global") {
                        "global" => SymbolLinkage::Global,
                        "static" => SymbolLinkage::Static,
                        "weak" => SymbolLinkage::Weak,
                        other => return Err(c.syntax_at(pos, format!("unknown linkage `{other}`"))),
                    };
                    section.vars.push(DataVar {
                        name: vname,
                        offset: a.u32("offset")?,
                        size: a.u32("size")?,
                        linkage,
                    });
                    a.finish()?;
                    c.end()?;
                }
                "bytes" => self.bytes_row(l, &mut section.bytes)?,
                _ => {
                    return Err(c.syntax_at(pos, format!("expected `var` or `bytes`, found `{w}`")))
                }
            }
        }
        self.data.push((section, datasec, line_index, name_pos));
        Ok(())
    }

    /// `bytes 0x0010: 00 2a ...`, read from the raw text (hex pairs are not tokens).
    fn bytes_row(&self, l: &Line, bytes: &mut [u8]) -> Result<(), ParseError> {
        let text = l.text.split(';').next().unwrap_or("");
        let err = |col: usize, m: String| {
            ParseError::syntax(Pos::new(l.number, col as u32 + 1), &l.text, m)
        };
        let start = text.find("bytes").unwrap_or(0) + "bytes".len();
        let rest = &text[start..];
        let colon = rest
            .find(':')
            .ok_or_else(|| err(start, "expected `bytes OFFSET: xx xx ...`".into()))?;
        let off_text = rest[..colon].trim();
        let mut at = super::lexer::parse_number(off_text)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| err(start + 1, format!("bad offset `{off_text}`")))?;
        let mut col = start + colon + 1;
        for part in rest[colon + 1..].split(' ') {
            if part.is_empty() {
                col += 1;
                continue;
            }
            let b = (part.len() == 2)
                .then(|| u8::from_str_radix(part, 16).ok())
                .flatten()
                .ok_or_else(|| err(col, format!("`{part}` is not a hex byte")))?;
            let slot = bytes
                .get_mut(at)
                .ok_or_else(|| err(col, format!("byte {at} is past the section's size")))?;
            *slot = b;
            at += 1;
            col += part.len() + 1;
        }
        Ok(())
    }

    fn function(
        &mut self,
        line: &'a Line,
        mut cur: Cur<'a>,
        is_program: bool,
    ) -> Result<(), ParseError> {
        let (name, name_pos) = cur.sym()?;
        let line_index = self.i - 1;
        let attrs = cur.attrs()?;
        let section = match attrs.opt_str("section")? {
            Some(s) => String::from_utf8(s.to_vec())
                .map_err(|_| cur.syntax_at(name_pos, "the section must be valid UTF-8".into()))?,
            None if is_program => {
                return Err(cur.syntax_at(name_pos, "a program needs `section=\"...\"`".into()))
            }
            None => ".text".into(),
        };
        let mut func = Function::new(name, section, is_program);
        func.linkage = match attrs.opt_word("linkage")? {
            None => func.linkage,
            Some("global") => SymbolLinkage::Global,
            Some("static") => SymbolLinkage::Static,
            Some("weak") => SymbolLinkage::Weak,
            Some(l) => return Err(cur.syntax_at(name_pos, format!("unknown linkage `{l}`"))),
        };
        func.hidden = attrs.flag("hidden")?;
        let btf = attrs.opt_type("btf")?;
        attrs.finish()?;
        cur.punct("{")?;
        cur.end()?;
        let mut f = PFunc {
            func,
            btf,
            insns: Vec::new(),
            labels: HashMap::new(),
            line_index,
        };
        let mut file: Option<u32> = None;
        let mut pending_line: Option<SourceLine> = None;
        let mut pending_core = None;
        let mut pending_origin: Option<String> = None;
        // Where the first directive waiting for an instruction is.
        let mut pending_at: Option<(usize, Pos)> = None;
        loop {
            let l = self.block_line(line)?;
            if Self::is_close(l) {
                break;
            }
            let mut c = Cur::new(l);
            match c.peek() {
                Some(Tok::Label(name)) if matches!(c.peek_at(1), Some(Tok::Punct(":"))) => {
                    let pos = c.pos();
                    c.bump();
                    c.bump();
                    c.end()?;
                    if f.labels.insert(name.clone(), f.insns.len()).is_some() {
                        return Err(c.semantic_at(pos, format!("label .L{name} is defined twice")));
                    }
                }
                Some(Tok::Directive(d)) => {
                    let pos = c.pos();
                    c.bump();
                    if d != "file" && pending_at.is_none() {
                        pending_at = Some((self.i - 1, pos));
                    }
                    match d.as_str() {
                        "file" => {
                            let s = c.string()?;
                            c.end()?;
                            file = Some(self.strings.intern(&s).map_err(|e| c.syntax_at(pos, e))?);
                        }
                        "line" => {
                            let file = file.ok_or_else(|| {
                                c.syntax_at(pos, "`.line` before any `.file`".into())
                            })?;
                            let at = c.pos();
                            let n = u32::try_from(c.num()?)
                                .map_err(|_| c.syntax_at(at, "line out of range".into()))?;
                            c.punct(":")?;
                            let at = c.pos();
                            let col = u32::try_from(c.num()?)
                                .map_err(|_| c.syntax_at(at, "column out of range".into()))?;
                            let text = c.string()?;
                            c.end()?;
                            if pending_line.is_some() {
                                return Err(
                                    c.syntax_at(pos, "two `.line`s for one instruction".into())
                                );
                            }
                            let text = self
                                .strings
                                .intern(&text)
                                .map_err(|e| c.syntax_at(pos, e))?;
                            pending_line = Some(SourceLine {
                                file: StrOffset(file),
                                text: StrOffset(text),
                                line: n,
                                col,
                            });
                        }
                        "core" => {
                            let (kind_name, kpos) = c.word()?;
                            let kind = core_kind(&kind_name).ok_or_else(|| {
                                c.syntax_at(
                                    kpos,
                                    format!("unknown CO-RE relocation kind `{kind_name}`"),
                                )
                            })?;
                            let tpos = c.pos();
                            let ty = c.type_ref()?;
                            let apos = c.pos();
                            let access = c.string()?;
                            c.end()?;
                            let parsed = std::str::from_utf8(&access)
                                .ok()
                                .and_then(|a| CoreAccess::parse(a).ok())
                                .ok_or_else(|| {
                                    c.syntax_at(
                                        apos,
                                        "bad access string (numbers separated by `:`)".into(),
                                    )
                                })?;
                            let off = self
                                .strings
                                .intern(&access)
                                .map_err(|e| c.syntax_at(apos, e))?;
                            if pending_core.is_some() {
                                return Err(
                                    c.syntax_at(pos, "two `.core`s for one instruction".into())
                                );
                            }
                            pending_core = Some((kind, ty, tpos, off, parsed));
                        }
                        "origin" => {
                            let at = c.pos();
                            let pass = String::from_utf8(c.string()?).map_err(|_| {
                                c.syntax_at(at, "a pass name must be valid UTF-8".into())
                            })?;
                            c.end()?;
                            if pending_origin.replace(pass).is_some() {
                                return Err(
                                    c.syntax_at(pos, "two `.origin`s for one instruction".into())
                                );
                            }
                        }
                        other => {
                            return Err(c.syntax_at(
                                pos,
                                format!(
                                    "unknown directive `.{other}` (.file, .line, .core or .origin)"
                                ),
                            ))
                        }
                    }
                }
                _ => {
                    let (insn, reference) = parse_insn(&mut c)?;
                    c.end()?;
                    pending_at = None;
                    f.insns.push(PInsn {
                        insn,
                        reference,
                        line: pending_line.take(),
                        core: pending_core.take(),
                        origin: pending_origin.take(),
                        line_index: self.i - 1,
                    });
                }
            }
        }
        if let Some((li, pos)) = pending_at {
            return Err(ParseError::syntax(
                pos,
                &self.lines[li].text,
                "a `.line`, `.core` or `.origin` at the end of the function, with no instruction after it"
                    .into(),
            ));
        }
        self.funcs.push(f);
        Ok(())
    }
}

fn core_kind(name: &str) -> Option<CoreReloKind> {
    (0..=12u32)
        .filter_map(CoreReloKind::from_u32)
        .find(|k| k.name() == name)
}
