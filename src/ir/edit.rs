//! Editing a [`Module`]: the layout operations.
//!
//! Each operation touches only the instructions it inserts, removes or moves and their
//! immediate neighbours: O(1) per inserted or removed instruction, O(k) to move k
//! instructions (each moved instruction records its new function). Nothing is renumbered,
//! and every other instruction keeps its id, metadata and jump target. A jump whose target
//! is removed keeps pointing at the detached id; the verifier and lowering report it.
//!
//! Every operation checks the ids it is given (and those in the [`Meta`] it creates an
//! instruction with): an id the module does not have is an [`IrError::NoSuchEntity`] and the
//! module is left unchanged.

use super::build::Built;
use super::{FuncId, IrError, Meta, Module, Node, Ref};
use crate::insn::{CallKind, Insn};

use super::InsnId;

/// What [`Module::replace`] does with the replaced instruction's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetaChoice {
    /// Keep the reference, line, CO-RE relocation and origin.
    Keep,
    /// Replace them all with these.
    Replace(Meta),
}

impl Module {
    fn node(&self, id: InsnId) -> Node {
        self.nodes.get(id).copied().unwrap_or_default()
    }

    fn attached_func(&self, id: InsnId) -> Result<FuncId, IrError> {
        self.check_insn(id)?;
        self.node(id).func.ok_or(IrError::Detached { insn: id })
    }

    /// Links detached `id` into `func` between `prev` and `next`.
    fn link(&mut self, id: InsnId, func: FuncId, prev: Option<InsnId>, next: Option<InsnId>) {
        self.nodes.insert(
            id,
            Node {
                prev,
                next,
                func: Some(func),
            },
        );
        match prev {
            Some(p) => self.nodes.get_or_insert_default(p).next = Some(id),
            None => self.funcs[func].first = Some(id),
        }
        match next {
            Some(n) => self.nodes.get_or_insert_default(n).prev = Some(id),
            None => self.funcs[func].last = Some(id),
        }
        self.funcs[func].n_insns += 1;
    }

    /// Creates an instruction and appends it to `func`.
    pub fn append(&mut self, func: FuncId, insn: Insn, meta: Meta) -> Result<InsnId, IrError> {
        self.check_func(func)?;
        self.check_meta(&meta)?;
        let id = self.create_insn(insn, meta);
        let last = self.funcs[func].last;
        self.link(id, func, last, None);
        Ok(id)
    }

    /// Creates a built instruction (with its reference, see [`build`](super::build)) and
    /// appends it to `func`.
    pub fn append_built(
        &mut self,
        func: FuncId,
        built: impl Into<Built>,
    ) -> Result<InsnId, IrError> {
        let b = built.into();
        self.append(func, b.insn, Meta::new().with_ref_opt(b.reference))
    }

    /// Creates a built instruction (with its reference) and inserts it before `at`.
    pub fn insert_built_before(
        &mut self,
        at: InsnId,
        built: impl Into<Built>,
    ) -> Result<InsnId, IrError> {
        let b = built.into();
        self.insert_before(at, b.insn, Meta::new().with_ref_opt(b.reference))
    }

    /// Creates an instruction and inserts it before `at`.
    pub fn insert_before(&mut self, at: InsnId, insn: Insn, meta: Meta) -> Result<InsnId, IrError> {
        let func = self.attached_func(at)?;
        self.check_meta(&meta)?;
        let id = self.create_insn(insn, meta);
        let prev = self.node(at).prev;
        self.link(id, func, prev, Some(at));
        Ok(id)
    }

    /// Creates an instruction and inserts it after `at`.
    pub fn insert_after(&mut self, at: InsnId, insn: Insn, meta: Meta) -> Result<InsnId, IrError> {
        let func = self.attached_func(at)?;
        self.check_meta(&meta)?;
        let id = self.create_insn(insn, meta);
        let next = self.node(at).next;
        self.link(id, func, Some(at), next);
        Ok(id)
    }

    /// Attaches a detached instruction (e.g. one removed earlier) before `at`.
    pub fn attach_before(&mut self, id: InsnId, at: InsnId) -> Result<(), IrError> {
        self.check_insn(id)?;
        if let Some(func) = self.node(id).func {
            return Err(IrError::Attached { insn: id, func });
        }
        let func = self.attached_func(at)?;
        let prev = self.node(at).prev;
        self.link(id, func, prev, Some(at));
        Ok(())
    }

    /// Attaches a detached instruction at the end of `func`.
    pub fn attach_at_end(&mut self, id: InsnId, func: FuncId) -> Result<(), IrError> {
        self.check_insn(id)?;
        self.check_func(func)?;
        if let Some(f) = self.node(id).func {
            return Err(IrError::Attached { insn: id, func: f });
        }
        let last = self.funcs[func].last;
        self.link(id, func, last, None);
        Ok(())
    }

    /// Removes `id` from its function. The instruction and its metadata stay in the module
    /// (detached); jumps that target it are reported by lowering.
    pub fn remove(&mut self, id: InsnId) -> Result<(), IrError> {
        let func = self.attached_func(id)?;
        let Node { prev, next, .. } = self.node(id);
        match prev {
            Some(p) => self.nodes.get_or_insert_default(p).next = next,
            None => self.funcs[func].first = next,
        }
        match next {
            Some(n) => self.nodes.get_or_insert_default(n).prev = prev,
            None => self.funcs[func].last = prev,
        }
        self.funcs[func].n_insns -= 1;
        self.nodes.insert(id, Node::default());
        Ok(())
    }

    /// Replaces instruction `id` in place: same id, same position, so jumps to it still
    /// land on it. Its metadata is kept or replaced as `meta` says.
    pub fn replace(&mut self, id: InsnId, insn: Insn, meta: MetaChoice) -> Result<(), IrError> {
        self.attached_func(id)?;
        if let MetaChoice::Replace(m) = &meta {
            self.check_meta(m)?;
        }
        self.insns[id] = insn;
        if let MetaChoice::Replace(m) = meta {
            // Checked above: none of these can fail now.
            self.set_reference(id, m.reference)?;
            self.set_line(id, m.line)?;
            self.set_core(id, m.core)?;
            self.set_insn_origin(id, m.origin)?;
        }
        Ok(())
    }

    /// Moves the instructions `first..=last` (a range of one function) to function `to`,
    /// before `before` (an instruction of `to`) or at its end when `before` is `None`.
    pub fn move_range(
        &mut self,
        first: InsnId,
        last: InsnId,
        to: FuncId,
        before: Option<InsnId>,
    ) -> Result<(), IrError> {
        let from = self.attached_func(first)?;
        self.check_insn(last)?;
        self.check_func(to)?;
        if let Some(b) = before {
            self.check_insn(b)?;
        }
        if self.node(last).func != Some(from) {
            return Err(IrError::BadRange { first, last });
        }
        if let Some(b) = before {
            if self.node(b).func != Some(to) {
                return Err(IrError::WrongInsn {
                    insn: b,
                    expected: "an instruction of the destination function",
                });
            }
        }
        // Collect the range, checking that `last` follows `first` and `before` is outside.
        let mut range = Vec::new();
        let mut cur = Some(first);
        loop {
            let Some(id) = cur else {
                return Err(IrError::BadRange { first, last });
            };
            if Some(id) == before {
                return Err(IrError::MoveIntoItself { first, last });
            }
            range.push(id);
            if id == last {
                break;
            }
            cur = self.node(id).next;
        }
        // Unlink the whole range from `from` in O(1).
        let (prev, next) = (self.node(first).prev, self.node(last).next);
        match prev {
            Some(p) => self.nodes.get_or_insert_default(p).next = next,
            None => self.funcs[from].first = next,
        }
        match next {
            Some(n) => self.nodes.get_or_insert_default(n).prev = prev,
            None => self.funcs[from].last = prev,
        }
        self.funcs[from].n_insns -= range.len() as u32;
        // Splice it into `to`.
        let (at_prev, at_next) = match before {
            Some(b) => (self.node(b).prev, Some(b)),
            None => (self.funcs[to].last, None),
        };
        for &id in &range {
            self.nodes.get_or_insert_default(id).func = Some(to);
        }
        self.nodes.get_or_insert_default(first).prev = at_prev;
        self.nodes.get_or_insert_default(last).next = at_next;
        match at_prev {
            Some(p) => self.nodes.get_or_insert_default(p).next = Some(first),
            None => self.funcs[to].first = Some(first),
        }
        match at_next {
            Some(n) => self.nodes.get_or_insert_default(n).prev = Some(last),
            None => self.funcs[to].last = Some(last),
        }
        self.funcs[to].n_insns += range.len() as u32;
        Ok(())
    }

    /// Moves the whole body of `from` to the end of `to`; `from` is left empty.
    pub fn append_body(&mut self, from: FuncId, to: FuncId) -> Result<(), IrError> {
        self.check_func(from)?;
        self.check_func(to)?;
        if from == to {
            return Err(IrError::SameFunction { func: from });
        }
        match (self.funcs[from].first, self.funcs[from].last) {
            (Some(first), Some(last)) => self.move_range(first, last, to, None),
            _ => Ok(()),
        }
    }

    /// Makes every jump of `from`'s function that targets `from` target `to` instead (an
    /// instruction of the same function), and returns how many there were. Inserting before
    /// a jump target leaves the jumps landing on the old instruction, after the insertion;
    /// this makes them land on the inserted code. O(instructions of the function).
    pub fn retarget_jumps(&mut self, from: InsnId, to: InsnId) -> Result<usize, IrError> {
        let func = self.attached_func(from)?;
        let to_func = self.attached_func(to)?;
        if to_func != func {
            return Err(IrError::OtherFunction {
                insn: to,
                func: to_func,
                expected: func,
            });
        }
        let jumps: Vec<InsnId> = self
            .func_insns(func)
            .filter(|&i| i != to && self.refs.get(i) == Some(&Ref::Jump(from)))
            .collect();
        for &j in &jumps {
            self.refs.insert(j, Ref::Jump(to));
        }
        Ok(jumps.len())
    }

    /// Makes bpf-to-bpf call instruction `id` call `callee`. Helper and kfunc calls are
    /// refused: giving them a callee would make lowering patch a helper id or BTF id.
    pub fn redirect_call(&mut self, id: InsnId, callee: FuncId) -> Result<(), IrError> {
        self.check_insn(id)?;
        self.check_func(callee)?;
        match (self.insns[id], self.reference(id)) {
            (
                Insn::Call {
                    kind: CallKind::Local,
                    ..
                },
                Some(Ref::Call(_)) | None,
            ) => {
                self.refs.insert(id, Ref::Call(callee));
                Ok(())
            }
            _ => Err(IrError::WrongInsn {
                insn: id,
                expected: "a bpf-to-bpf call",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::build::{exit, mov64_imm};
    use crate::insn::Reg::R0;
    use crate::ir::build::{call, ja};
    use crate::ir::{AnyEntity, Function, LineId, MapId, OriginId, SymbolLinkage};
    use crate::Endian;

    fn no_such(entity: impl Into<AnyEntity>) -> IrError {
        IrError::NoSuchEntity {
            entity: entity.into(),
        }
    }

    #[test]
    fn every_edit_refuses_ids_the_module_does_not_have_and_changes_nothing() {
        let mut m = Module::new(Endian::Little);
        let f = m.add_function(Function::new("f", ".text", false));
        let a = m.append(f, mov64_imm(R0, 0), Meta::new()).unwrap();
        let b = m.append(f, exit(), Meta::new()).unwrap();
        let bad_f: FuncId = m.any_id(9);
        let bad_i: InsnId = m.any_id(99);
        let bad_m: MapId = m.any_id(3);
        let bad_l: LineId = m.any_id(0);
        let bad_o: OriginId = m.any_id(0);
        let bad_l5: LineId = m.any_id(5);
        let bad_m0: MapId = m.any_id(0);
        let before = format!("{m:?}");

        assert_eq!(m.append(bad_f, exit(), Meta::new()), Err(no_such(bad_f)));
        assert_eq!(
            m.insert_before(bad_i, exit(), Meta::new()),
            Err(no_such(bad_i))
        );
        assert_eq!(
            m.insert_after(bad_i, exit(), Meta::new()),
            Err(no_such(bad_i))
        );
        let bad_ref = Meta::new().with_ref(Ref::Map(bad_m));
        assert_eq!(
            m.insert_before(a, exit(), bad_ref.clone()),
            Err(no_such(bad_m))
        );
        let bad_line = Meta::new().with_line(bad_l);
        assert_eq!(m.append(f, exit(), bad_line.clone()), Err(no_such(bad_l)));
        let bad_origin = Meta::new().with_origin(bad_o);
        assert!(m.append(f, exit(), bad_origin).is_err());
        assert_eq!(m.attach_before(bad_i, a), Err(no_such(bad_i)));
        assert_eq!(m.attach_at_end(a, bad_f), Err(no_such(bad_f)));
        assert_eq!(m.remove(bad_i), Err(no_such(bad_i)));
        assert_eq!(
            m.replace(a, exit(), MetaChoice::Replace(bad_ref)),
            Err(no_such(bad_m))
        );
        assert_eq!(m.move_range(a, b, bad_f, None), Err(no_such(bad_f)));
        assert_eq!(m.move_range(a, bad_i, f, None), Err(no_such(bad_i)));
        assert_eq!(m.append_body(bad_f, f), Err(no_such(bad_f)));
        assert_eq!(m.redirect_call(bad_i, f), Err(no_such(bad_i)));
        assert_eq!(m.set_reference(bad_i, None), Err(no_such(bad_i)));
        assert_eq!(
            m.set_reference(a, Some(Ref::Call(bad_f))),
            Err(no_such(bad_f))
        );
        assert!(m.set_line(a, Some(bad_l5)).is_err());
        assert!(m.set_map_linkage(bad_m0, SymbolLinkage::Weak).is_err());
        assert_eq!(m.retarget_jumps(bad_i, a), Err(no_such(bad_i)));
        assert_eq!(
            format!("{m:?}"),
            before,
            "a refused edit changed the module"
        );

        assert_eq!(
            no_such(bad_i).to_string(),
            "i99 does not exist in this module"
        );
        assert!(m.try_function(bad_f).is_err());
        assert!(m.try_insn(a).is_ok());
        assert_eq!(m.func_insns(bad_f).count(), 0);
    }

    #[test]
    fn retargeting_moves_the_jumps_of_the_function_only() {
        let mut m = Module::new(Endian::Little);
        let f = m.add_function(Function::new("f", ".text", false));
        let g = m.add_function(Function::new("g", ".text", false));
        let exit_f = m.append_built(f, exit()).unwrap();
        let j1 = m.insert_built_before(exit_f, ja(exit_f)).unwrap();
        let j2 = m.insert_built_before(exit_f, ja(exit_f)).unwrap();
        let new = m.insert_built_before(exit_f, mov64_imm(R0, 1)).unwrap();
        let in_g = m.append_built(g, exit()).unwrap();
        m.insert_built_before(in_g, call(f)).unwrap();
        assert_eq!(m.retarget_jumps(exit_f, new), Ok(2));
        assert_eq!(m.reference(j1), Some(Ref::Jump(new)));
        assert_eq!(m.reference(j2), Some(Ref::Jump(new)));
        assert_eq!(m.retarget_jumps(exit_f, new), Ok(0));
        assert_eq!(
            m.retarget_jumps(exit_f, in_g),
            Err(IrError::OtherFunction {
                insn: in_g,
                func: g,
                expected: f
            })
        );
    }
}
