//! A cursor over one function's instructions, as a pass walks and edits it
//! ([`FuncCursor`], after cranelift's cursor of the same name).
//!
//! The cursor holds a position (on an instruction, after one, at the start or at the end of
//! the function), a current source line and an origin tag. Every instruction it inserts is
//! created through [`Module::create_insn`] with that line and origin, so a pass cannot forget
//! to say where its instructions come from: set the origin once
//! ([`with_origin`](FuncCursor::with_origin)) and every insertion is tagged.
//!
//! Inserting keeps the order of insertions: at an instruction, new ones go before it (the
//! cursor stays on it); after an instruction or at the start, new ones go after the last
//! insertion (the cursor follows); at the end, they are appended.
//!
//! Costs: every move and insertion is O(1) (the layout is a linked list); nothing is
//! renumbered.
//!
//! ```
//! use bpfir::abi::Helper;
//! use bpfir::insn::Reg::*;
//! use bpfir::ir::build::*;
//! use bpfir::ir::{FuncCursor, Function, Module};
//!
//! let mut m = Module::new(bpfir::Endian::Little);
//! let f = m.add_function(Function::new("prog", "socket", true));
//! let exit_id = m.append_built(f, exit()).unwrap();
//! let origin = m.add_origin("count");
//!
//! let mut cur = FuncCursor::new(&mut m, f).unwrap().with_origin(origin);
//! cur.goto_start();
//! cur.insert(call_helper(Helper::KtimeGetNs)).unwrap();
//! cur.insert(mov64_imm(R0, 0)).unwrap();
//! let body: Vec<_> = m.func_insns(f).map(|i| m.insn(i).to_string()).collect();
//! assert_eq!(body, ["call 0x5", "r0 = 0x0", "exit"]);
//! assert_eq!(m.insn_origin(m.function(f).first_insn().unwrap()), Some(origin));
//! assert_eq!(m.insn_origin(exit_id), None);
//! ```

use super::build::Built;
use super::{FuncId, InsnId, IrError, LineId, Meta, Module, OriginId};

/// Where a [`FuncCursor`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CursorPosition {
    /// On an instruction: insertions go before it.
    At(InsnId),
    /// Between an instruction and the next one: insertions go after it.
    After(InsnId),
    /// Before the first instruction.
    Start,
    /// After the last instruction.
    End,
}

/// A position in one function of a [`Module`], with the source line and origin it stamps on
/// what it inserts. See the [module documentation](self).
#[derive(Debug)]
pub struct FuncCursor<'m> {
    module: &'m mut Module,
    func: FuncId,
    pos: CursorPosition,
    line: Option<LineId>,
    origin: Option<OriginId>,
}

impl<'m> FuncCursor<'m> {
    /// A cursor at the start of `func`, with no source line and no origin; an error if the
    /// module has no function `func`.
    pub fn new(module: &'m mut Module, func: FuncId) -> Result<FuncCursor<'m>, IrError> {
        module.check_func(func)?;
        Ok(FuncCursor {
            module,
            func,
            pos: CursorPosition::Start,
            line: None,
            origin: None,
        })
    }

    /// The same cursor stamping `origin` on every instruction it inserts.
    pub fn with_origin(mut self, origin: OriginId) -> Self {
        self.origin = Some(origin);
        self
    }

    /// The same cursor stamping source line `line` on every instruction it inserts.
    pub fn with_line(mut self, line: LineId) -> Self {
        self.line = Some(line);
        self
    }

    /// Sets or clears the origin stamped on insertions.
    pub fn set_origin(&mut self, origin: Option<OriginId>) {
        self.origin = origin;
    }

    /// Sets or clears the source line stamped on insertions.
    pub fn set_line(&mut self, line: Option<LineId>) {
        self.line = line;
    }

    /// The origin stamped on insertions.
    pub fn origin(&self) -> Option<OriginId> {
        self.origin
    }

    /// The source line stamped on insertions.
    pub fn line(&self) -> Option<LineId> {
        self.line
    }

    /// The function the cursor walks.
    pub fn func(&self) -> FuncId {
        self.func
    }

    /// The module, to read.
    pub fn module(&self) -> &Module {
        self.module
    }

    /// The module, to change other things than this function's layout (add a map, an
    /// origin...). Changing the layout around the cursor's instruction through it may leave
    /// the cursor on a detached instruction; the next insertion then fails.
    pub fn module_mut(&mut self) -> &mut Module {
        self.module
    }

    /// Where the cursor is.
    pub fn position(&self) -> CursorPosition {
        self.pos
    }

    /// The instruction the cursor is on, if it is on one.
    pub fn current_insn(&self) -> Option<InsnId> {
        match self.pos {
            CursorPosition::At(id) => Some(id),
            _ => None,
        }
    }

    /// Moves before the first instruction.
    pub fn goto_start(&mut self) {
        self.pos = CursorPosition::Start;
    }

    /// Moves after the last instruction.
    pub fn goto_end(&mut self) {
        self.pos = CursorPosition::End;
    }

    /// Moves onto instruction `id`; an error if it is not in this function.
    pub fn goto_insn(&mut self, id: InsnId) -> Result<(), IrError> {
        self.check_here(id)?;
        self.pos = CursorPosition::At(id);
        Ok(())
    }

    /// Moves just after instruction `id`; an error if it is not in this function.
    pub fn goto_after_insn(&mut self, id: InsnId) -> Result<(), IrError> {
        self.check_here(id)?;
        self.pos = CursorPosition::After(id);
        Ok(())
    }

    /// Moves onto the first instruction (to the end if the body is empty) and returns it.
    pub fn goto_first_insn(&mut self) -> Option<InsnId> {
        self.goto_start();
        self.next_insn()
    }

    /// Moves onto the last instruction (to the start if the body is empty) and returns it.
    pub fn goto_last_insn(&mut self) -> Option<InsnId> {
        self.goto_end();
        self.prev_insn()
    }

    /// Moves onto the next instruction and returns it; at the last one, moves to the end and
    /// returns `None`. Walks a function as `while let Some(id) = cur.next_insn() { .. }`
    /// starting from [`goto_start`](Self::goto_start), and keeps walking correctly when the
    /// loop inserts before the current instruction.
    pub fn next_insn(&mut self) -> Option<InsnId> {
        let next = match self.pos {
            CursorPosition::Start => self.module.function(self.func).first_insn(),
            CursorPosition::At(id) | CursorPosition::After(id) => self.module.next_insn(id),
            CursorPosition::End => None,
        };
        self.pos = next.map_or(CursorPosition::End, CursorPosition::At);
        next
    }

    /// Moves onto the previous instruction and returns it; at the first one, moves to the
    /// start and returns `None`.
    pub fn prev_insn(&mut self) -> Option<InsnId> {
        let prev = match self.pos {
            CursorPosition::End => self.module.function(self.func).last_insn(),
            CursorPosition::At(id) => self.module.prev_insn(id),
            CursorPosition::After(id) => Some(id),
            CursorPosition::Start => None,
        };
        self.pos = prev.map_or(CursorPosition::Start, CursorPosition::At);
        prev
    }

    /// Takes the source line of the instruction the cursor is on (or the one it is after)
    /// as the line to stamp: inserted code then reads as part of that statement.
    pub fn use_current_line(&mut self) {
        let here = match self.pos {
            CursorPosition::At(id) | CursorPosition::After(id) => Some(id),
            CursorPosition::Start => self.module.function(self.func).first_insn(),
            CursorPosition::End => self.module.function(self.func).last_insn(),
        };
        self.line = here.and_then(|id| self.module.line_of(id));
    }

    /// Inserts a built instruction (or a plain [`Insn`](crate::insn::Insn)) at the cursor,
    /// with its reference, the cursor's line and origin, and returns its id.
    pub fn insert(&mut self, built: impl Into<Built>) -> Result<InsnId, IrError> {
        let b = built.into();
        let meta = Meta::new()
            .with_ref_opt(b.reference)
            .with_line_opt(self.line)
            .with_origin_opt(self.origin);
        self.insert_with(b.insn, meta)
    }

    /// Inserts `insn` with exactly `meta` (no stamping), at the cursor.
    pub fn insert_with(&mut self, insn: crate::insn::Insn, meta: Meta) -> Result<InsnId, IrError> {
        match self.pos {
            CursorPosition::At(at) => {
                self.check_here(at)?;
                self.module.insert_before(at, insn, meta)
            }
            CursorPosition::After(at) => {
                self.check_here(at)?;
                let id = self.module.insert_after(at, insn, meta)?;
                self.pos = CursorPosition::After(id);
                Ok(id)
            }
            CursorPosition::Start => {
                let id = match self.module.function(self.func).first_insn() {
                    Some(first) => self.module.insert_before(first, insn, meta)?,
                    None => self.module.append(self.func, insn, meta)?,
                };
                self.pos = CursorPosition::After(id);
                Ok(id)
            }
            CursorPosition::End => self.module.append(self.func, insn, meta),
        }
    }

    /// Inserts every instruction of `built` in order (as repeated [`insert`](Self::insert)s)
    /// and returns their ids. Stops at the first error; what was inserted stays.
    pub fn insert_all<B: Into<Built>>(
        &mut self,
        built: impl IntoIterator<Item = B>,
    ) -> Result<Vec<InsnId>, IrError> {
        built.into_iter().map(|b| self.insert(b)).collect()
    }

    /// Short for [`insert`](Self::insert).
    pub fn ins(&mut self, built: impl Into<Built>) -> Result<InsnId, IrError> {
        self.insert(built)
    }

    /// Removes the instruction the cursor is on and moves onto the next one (or the end);
    /// returns the removed id, or `None` when the cursor is not on an instruction.
    pub fn remove_insn(&mut self) -> Result<Option<InsnId>, IrError> {
        let Some(id) = self.current_insn() else {
            return Ok(None);
        };
        let next = self.module.next_insn(id);
        self.module.remove(id)?;
        self.pos = next.map_or(CursorPosition::End, CursorPosition::At);
        Ok(Some(id))
    }

    /// An error unless `id` is an instruction of this function.
    fn check_here(&self, id: InsnId) -> Result<(), IrError> {
        self.module.check_insn(id)?;
        match self.module.func_of(id) {
            Some(f) if f == self.func => Ok(()),
            Some(f) => Err(IrError::OtherFunction {
                insn: id,
                func: f,
                expected: self.func,
            }),
            None => Err(IrError::Detached { insn: id }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::Reg::*;
    use crate::ir::build::*;
    use crate::ir::{Function, Ref, SourceLine};
    use crate::Endian;

    fn module() -> (Module, FuncId, Vec<InsnId>) {
        let mut m = Module::new(Endian::Little);
        let f = m.add_function(Function::new("f", ".text", false));
        let ids = (0..3)
            .map(|k| m.append_built(f, mov64_imm(R0, k)).unwrap())
            .collect();
        (m, f, ids)
    }

    fn body(m: &Module, f: FuncId) -> Vec<String> {
        m.func_insns(f).map(|i| m.insn(i).to_string()).collect()
    }

    #[test]
    fn insertions_keep_their_order_at_every_position() {
        let (mut m, f, ids) = module();
        let mut cur = FuncCursor::new(&mut m, f).unwrap();
        cur.insert(mov64_imm(R1, 1)).unwrap();
        cur.insert(mov64_imm(R1, 2)).unwrap();
        cur.goto_insn(ids[1]).unwrap();
        cur.insert(mov64_imm(R2, 1)).unwrap();
        cur.insert(mov64_imm(R2, 2)).unwrap();
        assert_eq!(cur.current_insn(), Some(ids[1]));
        cur.goto_after_insn(ids[2]).unwrap();
        cur.insert(mov64_imm(R3, 1)).unwrap();
        cur.goto_end();
        cur.insert(exit()).unwrap();
        assert_eq!(
            body(&m, f),
            [
                "r1 = 0x1", "r1 = 0x2", "r0 = 0x0", "r2 = 0x1", "r2 = 0x2", "r0 = 0x1", "r0 = 0x2",
                "r3 = 0x1", "exit"
            ]
        );
    }

    #[test]
    fn walking_while_inserting_visits_every_original_insn_once() {
        let (mut m, f, ids) = module();
        let origin = m.add_origin("pass");
        let mut cur = FuncCursor::new(&mut m, f).unwrap().with_origin(origin);
        let mut seen = Vec::new();
        while let Some(id) = cur.next_insn() {
            seen.push(id);
            cur.insert(mov64_imm(R9, 9)).unwrap();
        }
        assert_eq!(seen, ids);
        assert_eq!(cur.position(), CursorPosition::End);
        assert_eq!(cur.prev_insn(), Some(ids[2]));
        assert_eq!(m.function(f).n_insns(), 6);
        let tagged = m
            .func_insns(f)
            .filter(|&i| m.insn_origin(i) == Some(origin))
            .count();
        assert_eq!(tagged, 3);
    }

    #[test]
    fn the_cursor_stamps_line_and_origin_and_keeps_references() {
        let (mut m, f, ids) = module();
        let line = m.add_line(SourceLine {
            file: Default::default(),
            text: Default::default(),
            line: 7,
            col: 1,
        });
        m.set_line(ids[0], Some(line)).unwrap();
        let origin = m.add_origin("pass");
        let mut cur = FuncCursor::new(&mut m, f).unwrap().with_origin(origin);
        assert_eq!(cur.goto_first_insn(), Some(ids[0]));
        cur.use_current_line();
        let j = cur.insert(jeq_imm(R1, 0, ids[2])).unwrap();
        assert_eq!(m.line_of(j), Some(line));
        assert_eq!(m.insn_origin(j), Some(origin));
        assert_eq!(m.reference(j), Some(Ref::Jump(ids[2])));
    }

    #[test]
    fn removing_moves_to_the_next_insn() {
        let (mut m, f, ids) = module();
        let mut cur = FuncCursor::new(&mut m, f).unwrap();
        assert_eq!(cur.remove_insn(), Ok(None));
        cur.goto_insn(ids[1]).unwrap();
        assert_eq!(cur.remove_insn(), Ok(Some(ids[1])));
        assert_eq!(cur.current_insn(), Some(ids[2]));
        assert_eq!(cur.remove_insn(), Ok(Some(ids[2])));
        assert_eq!(cur.position(), CursorPosition::End);
        assert_eq!(body(&m, f), ["r0 = 0x0"]);
    }

    #[test]
    fn ids_of_other_functions_and_modules_are_errors() {
        let (mut m, f, ids) = module();
        let g = m.add_function(Function::new("g", ".text", false));
        let other = m.append_built(g, exit()).unwrap();
        let mut cur = FuncCursor::new(&mut m, f).unwrap();
        assert_eq!(
            cur.goto_insn(other),
            Err(IrError::OtherFunction {
                insn: other,
                func: g,
                expected: f
            })
        );
        let dangling: InsnId = cur.module().any_id(100);
        let err = cur.goto_after_insn(dangling).unwrap_err();
        assert_eq!(err.to_string(), "i100 does not exist in this module");
        cur.goto_insn(ids[0]).unwrap();
        cur.module_mut().remove(ids[0]).unwrap();
        assert_eq!(cur.insert(exit()), Err(IrError::Detached { insn: ids[0] }));
        let missing: FuncId = m.any_id(9);
        assert_eq!(
            FuncCursor::new(&mut m, missing).unwrap_err().to_string(),
            "f9 does not exist in this module"
        );
    }
}
