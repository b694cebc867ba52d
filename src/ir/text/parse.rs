//! The parser: text (as [`print`](super::print) writes it, or by hand) to a [`Module`].
//!
//! Two steps. The first reads line by line into plain records, names unresolved: labels,
//! functions and types may be used before they are defined. The second assembles the BTF
//! (see [`btf`](super::btf)), creates the entities in text order (so a printed module
//! comes back with the same arena order) and resolves every name, reporting an unknown one
//! at the place it is used.
//!
//! Cost: linear in the text; names resolve through hash maps.

use std::collections::HashMap;

use crate::btf::{StrOffset, TypeId, WireTypeId};
use crate::btf_ext::{CoreAccess, CoreReloKind};
use crate::ir::{
    AnyEntity, CoreRelo, DataKind, DataSection, DataVar, Extern, ExternKind, FuncId, Function,
    InsnId, MapDef, MapOrigin, Meta, Module, Pinning, Ref, SourceLine, SymbolLinkage,
};
use crate::Endian;

use super::btf::{BtfText, StrTab};
use super::cursor::{AttrVal, Cur};
use super::error::{ParseError, Pos};
use super::insn::parse_insn;
use super::lexer::{lex, Line, Tok};
use super::names::map_type_id;

/// The largest data section the parser allocates (its `size=` is untrusted).
const MAX_DATA_BYTES: u64 = 1 << 28;

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

struct PInsn {
    insn: crate::insn::Insn,
    reference: Option<(PRef, Pos)>,
    line: Option<SourceLine>,
    core: Option<(CoreReloKind, u32, Pos, u32, CoreAccess)>,
    origin: Option<String>,
    line_index: usize,
}

struct PFunc {
    func: Function,
    btf: Option<(u32, Pos)>,
    insns: Vec<PInsn>,
    labels: HashMap<String, usize>,
    line_index: usize,
}

struct PMap {
    def: MapDef,
    key: Option<(u32, Pos)>,
    value: Option<(u32, Pos)>,
    var: Option<(u32, Pos)>,
    inner: Option<Box<PMap>>,
    linkage: SymbolLinkage,
    line_index: usize,
    name_pos: Pos,
}

/// A data section as parsed: its `datasec=` type, line and name position.
type PData = (DataSection, Option<(u32, Pos)>, usize, Pos);
/// An extern as parsed: its `btf=` type, line and name position.
type PExtern = (Extern, Option<(u32, Pos)>, usize, Pos);
/// Resolves a `[N]` at a line against the assembled BTF.
type TypeResolver<'r> =
    dyn Fn(Option<(u32, Pos)>, usize) -> Result<Option<TypeId>, ParseError> + 'r;

struct Parser<'a> {
    lines: &'a [Line],
    i: usize,
    endian: Endian,
    license: Option<String>,
    version: Option<u32>,
    btf: Option<BtfText>,
    strings: StrTab,
    maps: Vec<PMap>,
    data: Vec<PData>,
    externs: Vec<PExtern>,
    funcs: Vec<PFunc>,
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
struct Places {
    insns: HashMap<InsnId, Pos>,
    funcs: HashMap<FuncId, Pos>,
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

    fn top(&mut self) -> Result<(), ParseError> {
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
                other => {
                    return Err(cur.syntax_at(
                        pos,
                        format!("unknown statement `{other}` (expected endian, license, version, btf, map, data, extern, program or subprogram)"),
                    ))
                }
            }
        }
        Ok(())
    }

    fn btf_block(&mut self, open: &'a Line) -> Result<(), ParseError> {
        let mut btf = BtfText::new(open.number);
        let mut first = true;
        loop {
            let line = self.block_line(open)?;
            if Self::is_close(line) {
                break;
            }
            let mut cur = Cur::new(line);
            if first && cur.peek_word() == Some("strings") {
                cur.bump();
                cur.punct("{")?;
                cur.end()?;
                loop {
                    let l = self.block_line(line)?;
                    if Self::is_close(l) {
                        break;
                    }
                    let mut c = Cur::new(l);
                    let at = c.pos();
                    let s = c.string()?;
                    c.end()?;
                    self.strings.push(&s).map_err(|e| c.syntax_at(at, e))?;
                }
                first = false;
                continue;
            }
            first = false;
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
            name,
            origin,
            map_type,
            key_size: attrs.u32("key_size")?,
            value_size: attrs.u32("value_size")?,
            max_entries: attrs.u32("max_entries")?,
            flags: attrs.opt_u32("flags")?.unwrap_or(0),
            numa_node: attrs.opt_u32("numa_node")?.unwrap_or(0),
            map_extra: attrs.opt_u64("map_extra")?.unwrap_or(0),
            pinning,
            key_type: None,
            value_type: None,
            inner: None,
            init_slots: Vec::new(),
            btf_var: None,
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
                    _ => {
                        return Err(
                            c.syntax_at(pos, format!("expected `inner` or `slot`, found `{w}`"))
                        )
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

    fn semantic(&self, line_index: usize, pos: Pos, message: String) -> ParseError {
        ParseError::semantic(pos, &self.lines[line_index].text, message)
    }

    fn build(self) -> Result<(Module, Places), ParseError> {
        let mut places = Places::default();
        let mut m = Module::new(self.endian);
        m.license = self.license.clone();
        m.kern_version = self.version;
        let btf = match &self.btf {
            Some(b) => Some(b.assemble(self.endian, &self.strings)?),
            None => None,
        };
        // Resolves `[N]` against the assembled BTF.
        let ty = |t: Option<(u32, Pos)>, li: usize| -> Result<Option<TypeId>, ParseError> {
            let Some((n, pos)) = t else { return Ok(None) };
            match &btf {
                Some(b) => b
                    .type_id(WireTypeId(n))
                    .map(Some)
                    .map_err(|_| self.semantic(li, pos, format!("unknown type [{n}]"))),
                None => Err(self.semantic(
                    li,
                    pos,
                    format!("type [{n}] but the module has no btf block"),
                )),
            }
        };
        let mut names: HashMap<&str, ()> = HashMap::new();
        for pm in &self.maps {
            if names.insert(&pm.def.name, ()).is_some() {
                return Err(self.semantic(
                    pm.line_index,
                    pm.name_pos,
                    format!("map @{} is defined twice", pm.def.name),
                ));
            }
            let def = self.map_def(pm, &ty)?;
            let id = m.add_map(def);
            m.set_map_linkage(id, pm.linkage)
                .map_err(|e| internal(&e))?;
        }
        let mut data_names = HashMap::new();
        for (d, datasec, li, pos) in &self.data {
            let mut d = d.clone();
            d.btf_datasec = ty(*datasec, *li)?;
            let name = d.name.clone();
            let id = m.add_data(d);
            if data_names.insert(name.clone(), id).is_some() {
                return Err(self.semantic(
                    *li,
                    *pos,
                    format!("data section @{name} is defined twice"),
                ));
            }
        }
        let mut extern_names = HashMap::new();
        for (e, t, li, pos) in &self.externs {
            let mut e = e.clone();
            e.btf = ty(*t, *li)?;
            let name = e.name.clone();
            let id = m.add_extern(e);
            if extern_names.insert(name.clone(), id).is_some() {
                return Err(self.semantic(*li, *pos, format!("extern @{name} is defined twice")));
            }
        }
        // Functions may share a name (static functions of linked objects); a reference
        // names the k-th of them as `@name:k`.
        let mut func_names: HashMap<String, Vec<FuncId>> = HashMap::new();
        let mut ids = Vec::new();
        for pf in &self.funcs {
            let mut func = pf.func.clone();
            func.btf_func = ty(pf.btf, pf.line_index)?;
            let name = func.name.clone();
            let id = m.add_function(func);
            places
                .funcs
                .insert(id, Pos::new(self.lines[pf.line_index].number, 1));
            func_names.entry(name).or_default().push(id);
            ids.push(id);
        }
        let map_names: HashMap<String, crate::ir::MapId> =
            m.maps().map(|(id, d)| (d.name.clone(), id)).collect();
        m.btf = btf.clone();
        for (pf, &fid) in self.funcs.iter().zip(&ids) {
            let mut insn_ids = Vec::with_capacity(pf.insns.len());
            for pi in &pf.insns {
                let id = m.append(fid, pi.insn, Meta::default()).map_err(|e| {
                    self.semantic(
                        pi.line_index,
                        Pos::new(self.lines[pi.line_index].number, 1),
                        e.to_string(),
                    )
                })?;
                insn_ids.push(id);
                let l = &self.lines[pi.line_index];
                let col = l.tokens.first().map_or(1, |t| t.col);
                places.insns.insert(id, Pos::new(l.number, col));
                if let Some(pass) = &pi.origin {
                    let o = m.add_origin(pass);
                    m.set_insn_origin(id, Some(o)).map_err(|e| internal(&e))?;
                }
                if let Some(line) = pi.line {
                    let l = m.add_line(line);
                    m.set_line(id, Some(l)).map_err(|e| internal(&e))?;
                }
                if let Some((kind, t, tpos, off, access)) = &pi.core {
                    let local =
                        ty(Some((*t, *tpos)), pi.line_index)?.unwrap_or_else(unreachable_type);
                    let c = m.add_core_relo(CoreRelo {
                        ty: local,
                        access_str: StrOffset(*off),
                        access: access.clone(),
                        kind: *kind,
                    });
                    m.set_core(id, Some(c)).map_err(|e| internal(&e))?;
                }
            }
            for (pi, &id) in pf.insns.iter().zip(&insn_ids) {
                let Some((r, pos)) = &pi.reference else {
                    continue;
                };
                let unknown = |what: &str, name: &str| {
                    self.semantic(pi.line_index, *pos, format!("unknown {what} {name}"))
                };
                let resolved = match r {
                    PRef::Jump(label) => {
                        let at = *pf.labels.get(label).ok_or_else(|| {
                            unknown("label", &format!(".L{label} in function @{}", pf.func.name))
                        })?;
                        let target = *insn_ids.get(at).ok_or_else(|| {
                            self.semantic(pi.line_index, *pos, format!("label .L{label} is at the end of function @{}, after its last instruction", pf.func.name))
                        })?;
                        Ref::Jump(target)
                    }
                    PRef::Call(name, k) => {
                        match (
                            func_names.get(name).and_then(|v| v.get(*k)),
                            extern_names.get(name),
                        ) {
                            (Some(&f), _) => Ref::Call(f),
                            (None, Some(&e)) if *k == 0 => Ref::Extern(e),
                            _ => return Err(unknown("function or extern", &func_ref(name, *k))),
                        }
                    }
                    PRef::FuncAddr(name, k) => Ref::FuncAddr(
                        *func_names
                            .get(name)
                            .and_then(|v| v.get(*k))
                            .ok_or_else(|| unknown("function", &func_ref(name, *k)))?,
                    ),
                    PRef::Map(name) => Ref::Map(
                        *map_names
                            .get(name)
                            .ok_or_else(|| unknown("map", &format!("@{name}")))?,
                    ),
                    PRef::Data(name, offset) => Ref::Data {
                        data: *data_names
                            .get(name)
                            .ok_or_else(|| unknown("data section", &format!("@{name}")))?,
                        offset: *offset,
                    },
                    PRef::Extern(name) => Ref::Extern(
                        *extern_names
                            .get(name)
                            .ok_or_else(|| unknown("extern", &format!("@{name}")))?,
                    ),
                };
                m.set_reference(id, Some(resolved))
                    .map_err(|e| internal(&e))?;
            }
        }
        Ok((m, places))
    }

    fn map_def(&self, pm: &PMap, ty: &TypeResolver<'_>) -> Result<MapDef, ParseError> {
        let mut def = pm.def.clone();
        def.key_type = ty(pm.key, pm.line_index)?;
        def.value_type = ty(pm.value, pm.line_index)?;
        def.btf_var = ty(pm.var, pm.line_index)?;
        if let Some(inner) = &pm.inner {
            def.inner = Some(Box::new(self.map_def(inner, ty)?));
        }
        Ok(def)
    }
}

/// `ty` never returns `Ok(None)` for `Some` input; this keeps that assumption out of a panic.
fn unreachable_type() -> TypeId {
    la_arena::Idx::from_raw(la_arena::RawIdx::from_u32(0))
}

/// An edit of the module being built failed: the ids come from this build, so this is a bug
/// of the parser, reported instead of a panic.
fn internal(e: &crate::ir::IrError) -> ParseError {
    ParseError::Verify {
        errors: vec![(None, format!("building the module: {e}"))],
    }
}

fn func_ref(name: &str, k: usize) -> String {
    if k == 0 {
        format!("@{name}")
    } else {
        format!("@{name}:{k}")
    }
}

fn core_kind(name: &str) -> Option<CoreReloKind> {
    (0..=12u32)
        .filter_map(CoreReloKind::from_u32)
        .find(|k| k.name() == name)
}
