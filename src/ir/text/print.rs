//! The printer: a whole [`Module`] as text that [`parse`](super::parse()) reads back, and
//! one instruction in context ([`Module::display_insn`]).
//!
//! The text is canonical: printing depends only on the module (never on ids' raw numbers
//! beyond BTF type ids, which are part of the format), so `print(parse(t)) == t` for every
//! text the printer wrote. Instructions print through the operand hook of
//! [`insn::Operands`](crate::insn::Operands): the same code prints raw instructions and IR
//! instructions, and only jump targets, calls and `ld_imm64` values differ.
//!
//! Comments (`; ...`) carry what a reader wants and the parser ignores: C declarations of
//! BTF types, CO-RE field paths, variable names and string previews at data references.
//!
//! Invariants: printing never panics, whatever the module holds (a bad type id, a jump out of
//! the function, a string offset past the table all print a fallback that the parser then
//! refuses with a message). Cost: one pass per function to number labels and one to print.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use crate::btf::{Btf, StrOffset, TypeId};
use crate::insn::{CallKind, Hex, Insn, Operands, PseudoKind, Reg};
use crate::ir::{
    DataKind, DataSection, ExternKind, FuncId, InsnId, MapDef, MapOrigin, Module, Pinning, Ref,
    SymbolLinkage,
};

use super::btf::{print_btf, print_strings};
use super::cdecl::{c_decl, core_note};
use super::names::{escape, helper_name, map_type_name};
use super::Has as _;

/// The longest string preview printed in the comment of a data reference.
const MAX_STRING_PREVIEW: usize = 48;

/// The text of a whole module; created by [`Module::text`]. Its `Display` is the format
/// `docs/text-format.md` specifies.
#[derive(Clone, Copy, Debug)]
pub struct ModuleText<'a> {
    module: &'a Module,
}

/// One instruction in context: jump targets as the labels of its function, callee, map,
/// data and extern names, helper names, and its CO-RE relocation as a field path. Created by
/// [`Module::display_insn`].
#[derive(Clone, Debug)]
pub struct InsnText<'a> {
    module: &'a Module,
    id: InsnId,
    labels: HashMap<InsnId, u32>,
}

impl Module {
    /// The module as text (see [the module docs](super)); `bpfir dis` prints this.
    ///
    /// ```
    /// use bpfir::insn::Insn;
    /// use bpfir::ir::{Function, Meta, Module};
    ///
    /// let mut m = Module::new(bpfir::Endian::Little);
    /// let f = m.add_function(Function::new("prog", "socket", true));
    /// m.append(f, Insn::Exit, Meta::default()).unwrap();
    /// let text = m.text().to_string();
    /// assert!(text.contains("program @prog section=\"socket\" linkage=global {\n    exit\n}"));
    /// assert_eq!(bpfir::ir::text::parse(&text).unwrap().text().to_string(), text);
    /// ```
    pub fn text(&self) -> ModuleText<'_> {
        ModuleText { module: self }
    }

    /// The same text as [`text`](Self::text): what `bpfir dump` prints.
    pub fn dump(&self) -> ModuleText<'_> {
        self.text()
    }

    /// Instruction `id` as the text form prints it, in the context of its function (labels
    /// are numbered over the function, so this costs one walk of it). A detached instruction
    /// prints without labels.
    ///
    /// ```
    /// use bpfir::insn::{Insn, JmpClass, JmpOp, Operand, Reg};
    /// use bpfir::ir::{Function, Meta, Module, Ref};
    ///
    /// let mut m = Module::new(bpfir::Endian::Little);
    /// let f = m.add_function(Function::new("prog", "socket", true));
    /// let exit = m.append(f, Insn::Exit, Meta::default()).unwrap();
    /// let jeq = Insn::JmpCond { class: JmpClass::Jmp, op: JmpOp::Eq, dst: Reg::R1,
    ///                           src: Operand::Imm(0), off: 0 };
    /// let j = m.insert_before(exit, jeq, Meta::default()).unwrap();
    /// m.set_reference(j, Some(Ref::Jump(exit)));
    /// assert_eq!(m.display_insn(j).to_string(), "if r1 == 0x0 goto .L0");
    /// ```
    pub fn display_insn(&self, id: InsnId) -> InsnText<'_> {
        let labels = match self.func_of(id) {
            Some(f) => func_labels(self, f),
            None => HashMap::new(),
        };
        InsnText {
            module: self,
            id,
            labels,
        }
    }
}

/// Jump targets of `func`, numbered in layout order.
pub(crate) fn func_labels(m: &Module, func: FuncId) -> HashMap<InsnId, u32> {
    let mut targets = std::collections::HashSet::new();
    for insn in m.func_insns(func) {
        if let Some(Ref::Jump(t)) = m.reference(insn) {
            targets.insert(t);
        }
    }
    let mut labels = HashMap::new();
    for insn in m.func_insns(func) {
        if targets.contains(&insn) {
            let n = labels.len() as u32;
            labels.insert(insn, n);
        }
    }
    labels
}

/// `@name`, quoted when the name is not a plain symbol.
pub(crate) struct Sym<'a>(pub &'a str);

impl fmt::Display for Sym<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_plain_symbol(self.0) {
            write!(f, "@{}", self.0)
        } else {
            write!(f, "@\"{}\"", escape(self.0.as_bytes()))
        }
    }
}

/// A symbol that prints without quotes: letters, digits, `_`, `.` and `$`, not empty.
pub(crate) fn is_plain_symbol(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'$')
}

/// A function as a reference names it: `@name`, or `@name:k` for the k-th (from 0) of
/// several functions of that name.
struct FuncRef<'a>(&'a Module, FuncId);

impl fmt::Display for FuncRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.0.function(self.1).name;
        let k = self
            .0
            .functions()
            .take_while(|(id, _)| *id != self.1)
            .filter(|(_, x)| x.name == *name)
            .count();
        write!(f, "{}", Sym(name))?;
        if k > 0 {
            write!(f, ":{k}")?;
        }
        Ok(())
    }
}

/// A quoted string.
pub(crate) struct Quoted<'a>(pub &'a [u8]);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", escape(self.0))
    }
}

/// The operand hook for IR instructions: see [`InsnText`].
struct IrOperands<'a> {
    module: &'a Module,
    id: InsnId,
    labels: &'a HashMap<InsnId, u32>,
}

impl Operands for IrOperands<'_> {
    fn jump_target(&self, f: &mut fmt::Formatter<'_>, _insn: &Insn, rel: i32) -> fmt::Result {
        match self.module.reference(self.id) {
            Some(Ref::Jump(t)) => match self.labels.get(&t) {
                Some(n) => write!(f, ".L{n}"),
                None => write!(f, "<{} outside the function>", super::insn_name(t)),
            },
            _ => write!(f, "{}", Rel(rel)),
        }
    }

    fn call(&self, f: &mut fmt::Formatter<'_>, kind: CallKind, imm: i32, off: i16) -> fmt::Result {
        let m = self.module;
        match m.reference(self.id) {
            Some(Ref::Call(callee)) if m.has_function(callee) => {
                write!(f, "call {}", FuncRef(m, callee))
            }
            Some(Ref::Extern(e)) if m.has_extern(e) => {
                write!(f, "call {}", Sym(&m.extern_(e).name))
            }
            Some(r) => write!(f, "call {}", BadRef(r)),
            None => match (kind, helper_name(imm)) {
                (CallKind::Helper, Some(name)) => write!(f, "call {name}"),
                (CallKind::Helper, None) => write!(f, "call {}", Hex(imm.into())),
                (CallKind::Local, _) => write!(f, "call local {}", Hex(imm.into())),
                (CallKind::Kfunc, _) if off == 0 => write!(f, "call kfunc {}", Hex(imm.into())),
                (CallKind::Kfunc, _) => {
                    write!(f, "call kfunc {}, {}", Hex(imm.into()), Hex(off.into()))
                }
            },
        }
    }

    fn ld_imm64(
        &self,
        f: &mut fmt::Formatter<'_>,
        kind: PseudoKind,
        dst: Reg,
        imm: i64,
    ) -> fmt::Result {
        let m = self.module;
        match m.reference(self.id) {
            Some(Ref::Map(map)) if m.has_map(map) => {
                write!(f, "{dst} = map {}", Sym(&m.map(map).name))
            }
            Some(Ref::Data { data, offset }) if m.has_data(data) => {
                write!(f, "{dst} = data {}", Sym(&m.data(data).name))?;
                if offset != 0 {
                    write!(f, "+{offset}")?;
                }
                Ok(())
            }
            Some(Ref::FuncAddr(func)) if m.has_function(func) => {
                write!(f, "{dst} = func {}", FuncRef(m, func))
            }
            Some(Ref::Extern(e)) if m.has_extern(e) => {
                write!(f, "{dst} = extern {}", Sym(&m.extern_(e).name))
            }
            Some(r) => write!(f, "{dst} = {}", BadRef(r)),
            None => crate::insn::RawOperands.ld_imm64(f, kind, dst, imm),
        }
    }
}

/// A reference the printer cannot name: to an entity the module does not have, or of a kind
/// that does not fit the instruction (`<f3, not in this module>`, `<map m0 on a call>`).
struct BadRef(Ref);

impl fmt::Display for BadRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::ir::AnyEntity;
        let entity = match self.0 {
            Ref::Jump(i) => AnyEntity::Insn(i),
            Ref::Call(func) | Ref::FuncAddr(func) => AnyEntity::Func(func),
            Ref::Map(m) => AnyEntity::Map(m),
            Ref::Data { data, .. } => AnyEntity::Data(data),
            Ref::Extern(e) => AnyEntity::Extern(e),
        };
        write!(f, "<reference to {entity}>")
    }
}

/// A jump offset with its sign, as llvm-objdump prints it.
struct Rel(i32);

impl fmt::Display for Rel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 0 {
            write!(f, "-{:#x}", self.0.unsigned_abs())
        } else {
            write!(f, "+{:#x}", self.0)
        }
    }
}

/// The instruction text without comments or directives.
fn insn_line(
    f: &mut fmt::Formatter<'_>,
    m: &Module,
    id: InsnId,
    labels: &HashMap<InsnId, u32>,
) -> fmt::Result {
    let insn = m.insn(id);
    // The one instruction whose llvm-objdump text drops a field: print the packet offset.
    if let Insn::LdInd { size, src, imm } = *insn {
        if imm != 0 {
            let ty = size.unsigned_name();
            return write!(f, "r0 = *({ty} *)skb[{src} + {}]", Hex(imm.into()));
        }
    }
    let ops = IrOperands {
        module: m,
        id,
        labels,
    };
    write!(f, "{}", insn.display_with(&ops))
}

impl fmt::Display for InsnText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.module.has_insn(self.id) {
            return write!(f, "<no instruction {}>", super::insn_name(self.id));
        }
        insn_line(f, self.module, self.id, &self.labels)?;
        if let Some(core) = self.module.core_of(self.id) {
            if self.module.has_core_relo(core) {
                let note = core_note(self.module.btf.as_ref(), self.module.core_relo(core));
                write!(f, "  ; {note}")?;
            }
        }
        Ok(())
    }
}

/// `[N]`: a BTF type by its wire id.
struct TypeRef<'a>(&'a Module, TypeId);

impl fmt::Display for TypeRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.btf {
            Some(btf) => write!(f, "[{}]", btf.wire_id(self.1).0),
            None => write!(f, "[{}]", u32::from(self.1.into_raw())),
        }
    }
}

fn linkage_name(l: SymbolLinkage) -> &'static str {
    match l {
        SymbolLinkage::Static => "static",
        SymbolLinkage::Global => "global",
        SymbolLinkage::Weak => "weak",
    }
}

impl ModuleText<'_> {
    fn btf(&self) -> Option<&Btf> {
        self.module.btf.as_ref()
    }

    /// `; int` etc.: the C form of a type for a comment.
    fn c_type(&self, ty: TypeId) -> String {
        match self.btf() {
            Some(btf) => c_decl(btf, ty, ""),
            None => "<no btf>".into(),
        }
    }

    fn header(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.module;
        writeln!(f, "; bpfir text")?;
        let endian = match m.endian() {
            crate::Endian::Little => "little",
            crate::Endian::Big => "big",
        };
        writeln!(f, "endian {endian}")?;
        if let Some(l) = &m.license {
            writeln!(f, "license {}", Quoted(l.as_bytes()))?;
        }
        if let Some(v) = m.kern_version {
            writeln!(
                f,
                "version {v:#x}  ; {}.{}.{}",
                v >> 16,
                (v >> 8) & 0xff,
                v & 0xff
            )?;
        }
        if let Some(btf) = self.btf() {
            writeln!(f)?;
            print_btf(f, btf)?;
        }
        if m.maps().len() > 0 {
            writeln!(f)?;
        }
        for (id, map) in m.maps() {
            self.map(f, map, "map", "", m.map_linkage(id), m.struct_ops(id))?;
        }
        for (_, data) in m.data_sections() {
            writeln!(f)?;
            self.data_section(f, data)?;
        }
        if m.externs().len() > 0 {
            writeln!(f)?;
        }
        for (_, ext) in m.externs() {
            let kind = match ext.kind {
                ExternKind::Kconfig => "kconfig",
                ExternKind::Ksym => "ksym",
                ExternKind::Func => "func",
                ExternKind::Map => "map",
            };
            write!(f, "extern {} kind={kind}", Sym(&ext.name))?;
            if ext.weak {
                write!(f, " weak")?;
            }
            if let Some(ty) = ext.btf {
                write!(f, " btf={}", TypeRef(m, ty))?;
                write!(f, "  ; {}", self.c_type(ty))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }

    fn map(
        &self,
        f: &mut fmt::Formatter<'_>,
        map: &MapDef,
        what: &str,
        indent: &str,
        linkage: SymbolLinkage,
        ops: Option<&crate::ir::StructOps>,
    ) -> fmt::Result {
        let m = self.module;
        write!(f, "{indent}{what} {} type=", Sym(&map.name))?;
        match map_type_name(map.map_type) {
            Some(name) => f.write_str(&name)?,
            None => write!(f, "{}", map.map_type)?,
        }
        write!(
            f,
            " key_size={} value_size={} max_entries={}",
            map.key_size, map.value_size, map.max_entries
        )?;
        if map.flags != 0 {
            write!(f, " flags={:#x}", map.flags)?;
        }
        if map.numa_node != 0 {
            write!(f, " numa_node={}", map.numa_node)?;
        }
        if map.map_extra != 0 {
            write!(f, " map_extra={:#x}", map.map_extra)?;
        }
        let origin = match map.origin {
            MapOrigin::Legacy => "legacy",
            MapOrigin::Btf => "btf",
            MapOrigin::StructOps => "struct_ops",
        };
        write!(f, " origin={origin}")?;
        match map.pinning {
            Pinning::None => {}
            Pinning::ByName => write!(f, " pinning=by_name")?,
            Pinning::Other(n) => write!(f, " pinning={n}")?,
        }
        if let Some(ty) = map.key_type {
            write!(f, " key={}", TypeRef(m, ty))?;
        }
        if let Some(ty) = map.value_type {
            write!(f, " value={}", TypeRef(m, ty))?;
        }
        if let Some(ty) = map.btf_var {
            write!(f, " var={}", TypeRef(m, ty))?;
        }
        if linkage != SymbolLinkage::Global {
            write!(f, " linkage={}", linkage_name(linkage))?;
        }
        let mut notes = Vec::new();
        if let Some(ty) = map.key_type {
            notes.push(format!("key {}", self.c_type(ty)));
        }
        if let Some(ty) = map.value_type {
            notes.push(format!("value {}", self.c_type(ty)));
        }
        let has_block = map.inner.is_some() || !map.init_slots.is_empty() || ops.is_some();
        if has_block {
            f.write_str(" {")?;
        }
        if !notes.is_empty() {
            write!(f, "  ; {}", notes.join(", "))?;
        }
        writeln!(f)?;
        if has_block {
            let deeper = format!("{indent}    ");
            if let Some(inner) = &map.inner {
                self.map(f, inner, "inner", &deeper, SymbolLinkage::Global, None)?;
            }
            for (slot, sym) in &map.init_slots {
                writeln!(f, "{deeper}slot {slot} {}", Sym(sym))?;
            }
            if let Some(ops) = ops {
                writeln!(
                    f,
                    "{deeper}struct_ops section={} size={}",
                    Quoted(ops.section.as_bytes()),
                    ops.data.len()
                )?;
                bytes_rows(f, &deeper, &ops.data)?;
                for &(offset, func) in &ops.funcs {
                    if m.has_function(func) {
                        writeln!(f, "{deeper}func {offset} {}", FuncRef(m, func))?;
                    } else {
                        writeln!(
                            f,
                            "{deeper}func {offset} <{}>",
                            crate::ir::AnyEntity::Func(func)
                        )?;
                    }
                }
            }
            writeln!(f, "{indent}}}")?;
        }
        Ok(())
    }

    fn data_section(&self, f: &mut fmt::Formatter<'_>, data: &DataSection) -> fmt::Result {
        let m = self.module;
        let kind = match data.kind {
            DataKind::Data => "data",
            DataKind::Rodata => "rodata",
            DataKind::Bss => "bss",
            DataKind::Arena => "arena",
        };
        write!(
            f,
            "data {} kind={kind} size={} align={}",
            Sym(&data.name),
            data.bytes.len(),
            data.align
        )?;
        if let Some(sec) = data.btf_datasec {
            write!(f, " datasec={}", TypeRef(m, sec))?;
        }
        writeln!(f, " {{")?;
        let btf_vars = match (self.btf(), data.btf_datasec) {
            (Some(btf), Some(sec)) if btf.get(sec).is_some() => btf.datasec_vars(sec).to_vec(),
            _ => Vec::new(),
        };
        for var in &data.vars {
            write!(
                f,
                "    var {} offset={} size={} linkage={}",
                Sym(&var.name),
                var.offset,
                var.size,
                linkage_name(var.linkage)
            )?;
            let decl = self.btf().and_then(|btf| {
                let v = btf_vars
                    .iter()
                    .find(|v| btf.name(v.ty).is_ok_and(|n| n == var.name))?;
                Some(c_decl(btf, v.ty, ""))
            });
            if let Some(decl) = decl {
                write!(f, "  ; {decl}")?;
            }
            writeln!(f)?;
        }
        bytes_rows(f, "    ", &data.bytes)?;
        writeln!(f, "}}")
    }

    fn function(&self, f: &mut fmt::Formatter<'_>, id: FuncId) -> fmt::Result {
        let m = self.module;
        let func = m.function(id);
        let what = if func.is_program {
            "program"
        } else {
            "subprogram"
        };
        write!(
            f,
            "{what} {} section={} linkage={}",
            Sym(&func.name),
            Quoted(func.section.as_bytes()),
            linkage_name(func.linkage)
        )?;
        if func.hidden {
            f.write_str(" hidden")?;
        }
        if let Some(ty) = func.btf_func {
            write!(f, " btf={} {{  ; {}", TypeRef(m, ty), self.c_type(ty))?;
            writeln!(f)?;
        } else {
            writeln!(f, " {{")?;
        }
        let labels = func_labels(m, id);
        let mut file: Option<StrOffset> = None;
        for insn in m.func_insns(id) {
            if let Some(n) = labels.get(&insn) {
                writeln!(f, ".L{n}:")?;
            }
            if let Some(line) = m.line_of(insn).filter(|&l| m.has_line(l)) {
                let line = *m.line(line);
                if file != Some(line.file) {
                    writeln!(f, "    .file {}", Quoted(self.string(line.file)))?;
                    file = Some(line.file);
                }
                writeln!(
                    f,
                    "    .line {}:{} {}",
                    line.line,
                    line.col,
                    Quoted(self.string(line.text))
                )?;
            }
            if let Some(core) = m.core_of(insn).filter(|&c| m.has_core_relo(c)) {
                let relo = m.core_relo(core);
                write!(
                    f,
                    "    .core {} {} {}",
                    relo.kind,
                    TypeRef(m, relo.ty),
                    Quoted(self.string(relo.access_str))
                )?;
                writeln!(f, "  ; {}", core_note(self.btf(), relo))?;
            }
            if let Some(origin) = m.insn_origin(insn).and_then(|o| m.origin(o)) {
                writeln!(f, "    .origin {}", Quoted(origin.pass.as_bytes()))?;
            }
            f.write_str("    ")?;
            insn_line(f, m, insn, &labels)?;
            if let Some(note) = self.data_note(insn) {
                write!(f, "  ; {note}")?;
            }
            writeln!(f)?;
        }
        writeln!(f, "}}")
    }

    /// The bytes of string `off` of the module's BTF (`<bad string>` when it has none).
    fn string(&self, off: StrOffset) -> &[u8] {
        match self.btf().map(|b| b.str(off)) {
            Some(Ok(s)) => s.as_bytes(),
            _ => b"<bad string>",
        }
    }

    /// What a data reference points at: a variable or a string literal.
    fn data_note(&self, id: InsnId) -> Option<String> {
        let m = self.module;
        let Some(Ref::Data { data, offset }) = m.reference(id) else {
            return None;
        };
        if !m.has_data(data) {
            return None;
        }
        data_at(m.data(data), offset)
    }
}

/// Initial bytes as `bytes 0x0010: 00 2a ...` rows of 16, the all-zero rows left out.
fn bytes_rows(f: &mut fmt::Formatter<'_>, indent: &str, bytes: &[u8]) -> fmt::Result {
    for (row, chunk) in bytes.chunks(16).enumerate() {
        if chunk.iter().all(|&b| b == 0) {
            continue;
        }
        write!(f, "{indent}bytes {:#06x}:", row * 16)?;
        for b in chunk {
            write!(f, " {b:02x}")?;
        }
        writeln!(f)?;
    }
    Ok(())
}

/// What sits at `offset` of a data section: `counter`, `counter+2`, or a string literal.
fn data_at(section: &DataSection, offset: u32) -> Option<String> {
    let var = section
        .vars
        .iter()
        .find(|v| v.offset == offset || (v.offset < offset && offset - v.offset < v.size));
    if let Some(v) = var {
        return Some(if v.offset == offset {
            v.name.clone()
        } else {
            format!("{}+{}", v.name, offset - v.offset)
        });
    }
    if section.kind == DataKind::Rodata && section.name.contains(".str") {
        let rest = section.bytes.get(offset as usize..)?;
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        let text = &rest[..end];
        let mut out = String::new();
        let _ = write!(
            out,
            "{}",
            Quoted(&text[..text.len().min(MAX_STRING_PREVIEW)])
        );
        if text.len() > MAX_STRING_PREVIEW {
            out.push_str("...");
        }
        return Some(out);
    }
    None
}

impl fmt::Display for ModuleText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.header(f)?;
        for (id, _) in self.module.functions() {
            writeln!(f)?;
            self.function(f, id)?;
        }
        if let Some(btf) = self.btf() {
            print_strings(f, self.module, btf)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::abi::Helper;
    use crate::insn::build::{call_helper, exit, mov64_imm};
    use crate::insn::Reg::{R0, R1, R2, R3, R4};
    use crate::ir::build::{call, call_kfunc, jeq_imm, ld_data, ld_extern, ld_func_addr, ld_map};
    use crate::ir::{
        DataKind, DataSection, DataVar, Extern, ExternKind, Function, MapDef, MapOrigin, Module,
        SymbolLinkage,
    };
    use crate::Endian;

    fn module() -> Module {
        let mut m = Module::new(Endian::Little);
        let map = m.add_map(MapDef {
            map_type: 1,
            key_size: 4,
            value_size: 8,
            max_entries: 16,
            ..MapDef::new("events", MapOrigin::Legacy)
        });
        let data = m.add_data(DataSection {
            name: ".data".into(),
            kind: DataKind::Data,
            bytes: vec![0; 8],
            align: 4,
            vars: vec![DataVar {
                name: "counter".into(),
                offset: 4,
                size: 4,
                linkage: SymbolLinkage::Global,
            }],
            btf_datasec: None,
        });
        let kfunc = m.add_extern(Extern {
            name: "bpf_rcu_read_lock".into(),
            kind: ExternKind::Func,
            weak: false,
            btf: None,
        });
        let ksym = m.add_extern(Extern {
            name: "jiffies".into(),
            kind: ExternKind::Ksym,
            weak: true,
            btf: None,
        });
        let prog = m.add_function(Function::new("prog", "socket", true));
        let callee = m.add_function(Function::new("callee", ".text", false));
        m.append_built(callee, exit()).unwrap();
        m.append(prog, mov64_imm(R0, 0), Default::default())
            .unwrap();
        m.append_built(prog, ld_map(R1, map)).unwrap();
        m.append_built(prog, ld_data(R2, data, 6)).unwrap();
        m.append_built(prog, ld_func_addr(R3, callee)).unwrap();
        m.append_built(prog, ld_extern(R4, ksym)).unwrap();
        m.append(prog, call_helper(Helper::MapLookupElem), Default::default())
            .unwrap();
        m.append_built(prog, call(callee)).unwrap();
        m.append_built(prog, call_kfunc(kfunc)).unwrap();
        let exit_id = m.append(prog, exit(), Default::default()).unwrap();
        let first = m.function(prog).first_insn().unwrap();
        m.insert_built_before(first, jeq_imm(R1, 0, exit_id))
            .unwrap();
        m
    }

    #[test]
    fn instructions_print_in_context() {
        let m = module();
        let prog = m.function_by_name("prog").unwrap();
        let texts: Vec<String> = m
            .func_insns(prog)
            .map(|i| m.display_insn(i).to_string())
            .collect();
        assert_eq!(
            texts,
            [
                "if r1 == 0x0 goto .L0",
                "r0 = 0x0",
                "r1 = map @events",
                "r2 = data @.data+6",
                "r3 = func @callee",
                "r4 = extern @jiffies",
                "call bpf_map_lookup_elem",
                "call @callee",
                "call @bpf_rcu_read_lock",
                "exit",
            ]
        );
    }

    #[test]
    fn the_module_text_parses_back_and_names_what_data_references_point_at() {
        let m = module();
        let text = m.text().to_string();
        assert!(
            text.contains("    r2 = data @.data+6  ; counter+2\n"),
            "{text}"
        );
        assert!(text.contains("extern @jiffies kind=ksym weak\n"), "{text}");
        assert!(text.contains(".L0:\n    exit\n}"), "{text}");
        let back = super::super::parse(&text).unwrap();
        super::super::same_module(&m, &back).unwrap();
        assert_eq!(back.text().to_string(), text);
    }

    #[test]
    fn a_jump_whose_target_left_the_function_prints_the_target_id() {
        let mut m = module();
        let prog = m.function_by_name("prog").unwrap();
        let jump = m.function(prog).first_insn().unwrap();
        let target = m.function(prog).last_insn().unwrap();
        m.remove(target).unwrap();
        let text = m.display_insn(jump).to_string();
        assert_eq!(
            text,
            format!("if r1 == 0x0 goto <{} outside the function>", target)
        );
        // The module text then does not parse: the reader is told where.
        let err = super::super::parse(&m.text().to_string()).unwrap_err();
        assert!(err.to_string().contains("expected"), "{err}");
    }
}
