//! The second step of parsing: the records of the first step become a [`Module`]. The BTF
//! is assembled, entities are created in text order (so a printed module comes back with its
//! arena order) and every name is resolved; an unknown one is reported where it is used.
//!
//! Cost: linear in the number of records; names resolve through hash maps.

use std::collections::HashMap;

use crate::btf::{StrOffset, TypeId, WireTypeId};
use crate::ir::{CoreRelo, FuncId, MapDef, Meta, Module, Ref};

use super::error::{ParseError, Pos};
use super::parse::{PMap, PRef, Parser, Places, TypeResolver};

impl Parser<'_> {
    fn semantic(&self, line_index: usize, pos: Pos, message: String) -> ParseError {
        ParseError::semantic(pos, &self.lines[line_index].text, message)
    }

    pub(super) fn build(self) -> Result<(Module, Places), ParseError> {
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
        let mut map_ids = Vec::with_capacity(self.maps.len());
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
            map_ids.push(id);
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
        // struct_ops values name programs: set them now that functions exist.
        for (pm, &id) in self.maps.iter().zip(&map_ids) {
            let Some(ops) = &pm.ops else { continue };
            let mut funcs = Vec::with_capacity(ops.funcs.len());
            for (offset, name, k, li, pos) in &ops.funcs {
                let f = func_names
                    .get(name)
                    .and_then(|v| v.get(*k))
                    .ok_or_else(|| {
                        self.semantic(
                            *li,
                            *pos,
                            format!("unknown function {}", func_ref(name, *k)),
                        )
                    })?;
                funcs.push((*offset, *f));
            }
            m.set_struct_ops(
                id,
                crate::ir::StructOps {
                    section: ops.section.clone(),
                    data: ops.data.clone(),
                    funcs,
                },
            )
            .map_err(|e| internal(&e))?;
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
