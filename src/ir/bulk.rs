//! The reader's bulk entry points into a [`Module`]: a decoded function appended as one
//! run ([`Module::append_with`]), line records attached without re-checking the ids the
//! reader just made ([`Module::add_line_of`]), and the per-instruction tables sized once
//! ([`Module::presize_insn_tables`]).
//!
//! They keep every invariant the one-at-a-time operations keep (each instruction has its
//! layout node, a function's body is one linked list, side tables are keyed by the
//! instruction's id), and give the same ids, layout and tables as appending the same
//! instructions one by one; they skip only the id checks the reader does not need (ids it
//! just made). Cost: one arena push per instruction, then one pass over the run to link it.

use super::arena::Entities;
use super::{FuncId, Id, InsnId, Module, Node, SourceLine};
use crate::insn::Insn;

impl Module {
    /// Appends to the end of `func` the instructions `fill` pushes into the sink it is
    /// given, in order, without metadata: the bulk form of [`append`](Module::append) for a
    /// reader decoding a whole function. Each push is one arena push; the layout is then
    /// made in one pass over the run, instead of a layout node and a relinking per
    /// instruction. The ids of a run follow each other by index ([`InsnSink::push`] gives
    /// each). Returns what `fill` returns, with the id of the first instruction pushed
    /// (`None`: none). Whatever was pushed is appended, also when `fill` fails.
    ///
    /// # Panics
    ///
    /// If the module has no function `func` (the reader passes the ids it just made).
    pub(crate) fn append_with<E>(
        &mut self,
        func: FuncId,
        fill: impl FnOnce(&mut InsnSink<'_>) -> Result<(), E>,
    ) -> Result<Option<InsnId>, E> {
        let start = self.insns.len();
        let result = fill(&mut InsnSink {
            insns: &mut self.insns,
        });
        let Some(first) = self.insns.id_at(start) else {
            return result.map(|()| None);
        };
        let f = &mut self.funcs[func];
        let prev = f.last;
        // The arena gave the run consecutive indices (at most u32::MAX ids exist).
        let n = u32::try_from(self.insns.len() - start).unwrap_or(u32::MAX);
        f.last = Some(first.nth_after(n - 1));
        if prev.is_none() {
            f.first = Some(first);
        }
        f.n_insns = f.n_insns.saturating_add(n);
        if let Some(p) = prev.and_then(|p| self.nodes.get_mut(p)) {
            p.next = Some(first);
        }
        // Node k links k - 1 (or the function's previous last) and k + 1 (none for the last).
        let (mut before, mut at) = (prev, first);
        let nodes = (0..n).map(move |k| {
            let next = (k + 1 < n).then(|| at.nth_after(1));
            let node = Node {
                prev: before,
                next,
                func: Some(func),
            };
            before = Some(at);
            at = next.unwrap_or(at);
            node
        });
        self.nodes.insert_run(first, nodes, Id::nth_after);
        result.map(|()| Some(first))
    }

    /// Adds source line `line` and sets it as the line of `insn`: [`add_line`](Module::add_line)
    /// then [`set_line`](Module::set_line) without re-checking `insn`, for a reader attaching
    /// the line records of a whole object to instructions it just created (a later line of
    /// the same instruction replaces an earlier one, as with `set_line`).
    ///
    /// # Panics
    ///
    /// In debug builds, if `insn` is another module's.
    #[inline]
    pub(crate) fn add_line_of(&mut self, insn: InsnId, line: SourceLine) {
        let id = self.lines.alloc(line);
        self.insn_lines.insert(insn, id);
    }

    /// Gives the reference and line tables a slot for every instruction created so far, so
    /// that a reader attaching references and lines to them stores each directly instead
    /// of growing the tables record by record.
    pub(crate) fn presize_insn_tables(&mut self) {
        let n = self.insns.len();
        self.refs.grow_to(n);
        self.insn_lines.grow_to(n);
    }
}

/// Where [`Module::append_with`] takes the instructions of a run: each
/// [`push`](Self::push) adds one to the module's arena.
pub(crate) struct InsnSink<'a> {
    insns: &'a mut Entities<Insn>,
}

impl InsnSink<'_> {
    /// Adds `insn` to the run, returning its id.
    #[inline]
    pub(crate) fn push(&mut self, insn: Insn) -> InsnId {
        self.insns.alloc(insn)
    }
}

#[cfg(test)]
mod tests {
    use crate::btf::StrOffset;
    use crate::insn::{Insn, Reg};
    use crate::ir::{Function, Meta, Module, SourceLine};
    use crate::Endian;

    fn mov(imm: i32) -> Insn {
        crate::insn::build::mov64_imm(Reg::R0, imm)
    }

    /// A run appended in bulk after an instruction appended alone gives the same ids,
    /// order, links and function as appending each instruction alone.
    #[test]
    fn a_bulk_run_is_what_appending_one_by_one_gives() {
        let mut bulk = Module::new(Endian::Little);
        let mut one = Module::new(Endian::Little);
        let mut ids = Vec::new();
        for m in [&mut bulk, &mut one] {
            let other = m.add_function(Function::new("other", ".text", false));
            m.append(other, Insn::Exit, Meta::default()).unwrap();
            let f = m.add_function(Function::new("f", "xdp", true));
            m.append(f, mov(0), Meta::default()).unwrap();
            ids.push(f);
        }
        let first = bulk
            .append_with(ids[0], |sink| {
                for i in 1..4 {
                    sink.push(mov(i));
                }
                sink.push(Insn::Exit);
                Ok::<(), ()>(())
            })
            .unwrap()
            .unwrap();
        for i in 1..4 {
            one.append(ids[1], mov(i), Meta::default()).unwrap();
        }
        one.append(ids[1], Insn::Exit, Meta::default()).unwrap();
        let body = |m: &Module, f| {
            m.func_insns(f)
                .map(|i| (i.index(), *m.insn(i)))
                .collect::<Vec<_>>()
        };
        assert_eq!(body(&bulk, ids[0]), body(&one, ids[1]));
        assert_eq!(first.index(), 2);
        assert_eq!(bulk.function(ids[0]).n_insns(), 5);
        for (a, b) in bulk.func_insns(ids[0]).zip(one.func_insns(ids[1])) {
            assert_eq!(
                bulk.prev_insn(a).map(|i| i.index()),
                one.prev_insn(b).map(|i| i.index())
            );
            assert_eq!(
                bulk.next_insn(a).map(|i| i.index()),
                one.next_insn(b).map(|i| i.index())
            );
            assert_eq!(bulk.func_of(a), Some(ids[0]));
        }
        crate::verify::verify_structure(&bulk).unwrap();
        // Nothing pushed: nothing appended, and what `fill` returns comes back.
        assert_eq!(bulk.append_with(ids[0], |_| Err::<(), _>(7)), Err(7));
        assert_eq!(bulk.function(ids[0]).n_insns(), 5);
    }

    /// Lines attached in bulk are the ones `add_line` + `set_line` give, the later of two
    /// for one instruction winning; presizing changes no answer.
    #[test]
    fn lines_attached_in_bulk_are_set_lines() {
        let mut m = Module::new(Endian::Little);
        let f = m.add_function(Function::new("f", "xdp", true));
        let a = m.append(f, mov(1), Meta::default()).unwrap();
        let b = m.append(f, Insn::Exit, Meta::default()).unwrap();
        m.presize_insn_tables();
        assert_eq!(m.line_of(a), None);
        assert_eq!(m.reference(b), None);
        let line = |n| SourceLine {
            file: StrOffset(0),
            text: StrOffset(0),
            line: n,
            col: 0,
        };
        m.add_line_of(b, line(1));
        m.add_line_of(b, line(2));
        assert_eq!(m.line_of(a), None);
        assert_eq!(m.line(m.line_of(b).unwrap()).line, 2);
        assert_eq!(m.lines().count(), 2);
        crate::verify::verify_structure(&m).unwrap();
    }
}
