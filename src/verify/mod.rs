//! The IR verifier: the one home of a [`Module`]'s invariants.
//!
//! [`Module::verify`] checks every function and every program; [`verify_program`] checks one
//! program (its entry and every function it reaches, as lowering links them);
//! [`verify_structure`] checks only what every consumer of the IR needs (layout and
//! references), which is what the ELF writer and the linker run. Errors are collected, not
//! returned at the first one: a pass that broke three things learns about all three.
//!
//! What is checked:
//!
//! * **Ids.** Every id the module holds (references, lines, CO-RE records, origins, callees)
//!   names an entity of this module: not past the end of its kind, and, in debug builds, not
//!   made by another module ("f3 belongs to another module"; release builds cannot tell an
//!   in-range id of another module, see [`Id`](crate::ir::Id)).
//! * **Layout.** The body ends (its links do not run in a circle), every instruction of it
//!   says it belongs to that function, the body has as many instructions as the function
//!   counts, and it does not fall through its last instruction (an `exit`, an unconditional
//!   or indirect jump, or a kfunc call, which may be `bpf_throw`, ends it).
//! * **References.** A jump has a jump target, attached and in the same function; a
//!   bpf-to-bpf call has a callee and a kfunc call its extern; a reference fits its
//!   instruction (a jump target on a jump, a callee on a call, a map, data or callback
//!   address on an `ld_imm64`, an extern on a call or an `ld_imm64`); a call or callback
//!   reaches a function with a body; an `ld_imm64` of a pseudo kind that needs an fd, an
//!   offset or a BTF id (map, map value, callback, BTF id) carries its reference; a data
//!   reference's offset lies in its section.
//! * **Programs** (what the kernel demands of `func_info` and `line_info`): in a module with
//!   BTF, every function of a program has a `FUNC` type; where a program has source lines,
//!   every one of its functions has at least one (lowering puts a function's first line at
//!   its start).
//!
//! Costs: one walk over the instructions of the checked functions, O(1) per instruction;
//! per program, the call graph walk of [`link_order`](crate::analysis::callgraph::link_order).

use std::fmt;

use crate::insn::{CallKind, Insn, PseudoKind};
use crate::ir::{AnyEntity, FuncId, InsnId, IrError, Module, Ref};

/// One broken invariant: where, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierError {
    /// The entity at fault: an instruction, a function, or the module.
    pub location: AnyEntity,
    /// The function the location is in (for an instruction), when known.
    pub func: Option<FuncId>,
    /// A readable form of the location (`prog: i12 (r0 = 0x0)`, `function prog`).
    pub context: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for VerifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, self.message)
    }
}

/// Every broken invariant the verifier found, in the order it found them.
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
pub struct VerifierErrors(pub Vec<VerifierError>);

impl VerifierErrors {
    /// True when nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The errors.
    pub fn iter(&self) -> std::slice::Iter<'_, VerifierError> {
        self.0.iter()
    }

    /// `Ok` when empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), VerifierErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for VerifierErrors {
    /// The errors, `; `-separated on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl Module {
    /// Checks every invariant of the module: the structure of every function and the rules
    /// of every program. See [`crate::verify`].
    pub fn verify(&self) -> Result<(), VerifierErrors> {
        let mut v = Verifier::new(self);
        for (f, _) in self.functions() {
            v.function(f);
        }
        for (f, _) in self.programs() {
            v.program_rules(f, &crate::analysis::callgraph::link_order(self, f));
        }
        v.errors.into_result()
    }

    /// Checks the structure and references of function `func` alone.
    pub fn verify_function(&self, func: FuncId) -> Result<(), VerifierErrors> {
        let mut v = Verifier::new(self);
        v.function(func);
        v.errors.into_result()
    }
}

/// Checks the layout and references of every function (no program rules): what writing and
/// linking need.
pub fn verify_structure(module: &Module) -> Result<(), VerifierErrors> {
    let mut v = Verifier::new(module);
    for (f, _) in module.functions() {
        v.function(f);
    }
    v.errors.into_result()
}

/// Checks the program whose entry is `entry`: the structure of every function it links (its
/// entry and every function reachable through calls and callbacks) and the program rules.
pub fn verify_program(module: &Module, entry: FuncId) -> Result<(), VerifierErrors> {
    if let Err(e) = module.check_func(entry) {
        let mut v = Verifier::new(module);
        v.error(AnyEntity::Func(entry), None, no_such("function", &e));
        return v.errors.into_result();
    }
    let funcs = crate::analysis::callgraph::link_order(module, entry);
    let mut v = Verifier::new(module);
    for &f in &funcs {
        v.function(f);
    }
    v.program_rules(entry, &funcs);
    v.errors.into_result()
}

/// The message for an entry `kind` (a function) the module refused: `no such function`, or,
/// for an id of another module (debug builds), `the function belongs to another module`.
fn no_such(kind: &str, e: &IrError) -> String {
    match e {
        IrError::ForeignEntity { .. } => format!("the {kind} belongs to another module"),
        _ => format!("no such {kind}"),
    }
}

/// The checks of this module, run function by function: lowering drives one over the
/// functions of a program as it places them (see `lower`), so every body is walked once
/// while it is in cache.
pub(crate) struct Verifier<'a> {
    module: &'a Module,
    /// What was found so far.
    pub(crate) errors: VerifierErrors,
}

impl<'a> Verifier<'a> {
    pub(crate) fn new(module: &'a Module) -> Self {
        Verifier {
            module,
            errors: VerifierErrors::default(),
        }
    }

    fn func_name(&self, f: FuncId) -> String {
        match self.module.try_function(f) {
            Ok(func) => format!("{} ({})", AnyEntity::Func(f), func.name),
            Err(_) => AnyEntity::Func(f).to_string(),
        }
    }

    fn error(&mut self, location: AnyEntity, func: Option<FuncId>, message: String) {
        let context = match (location, func) {
            (AnyEntity::Insn(id), Some(f)) => {
                let name = self
                    .module
                    .try_function(f)
                    .map_or_else(|_| AnyEntity::Func(f).to_string(), |fu| fu.name.clone());
                // In context (labels, names), never the stale raw operands.
                match self.module.try_insn(id) {
                    Ok(_) => format!(
                        "function {name}: {location} ({})",
                        self.module.display_insn(id)
                    ),
                    Err(_) => format!("function {name}: {location}"),
                }
            }
            (AnyEntity::Func(f), _) => format!("function {}", self.func_name(f)),
            _ => location.to_string(),
        };
        self.errors.0.push(VerifierError {
            location,
            func,
            context,
            message,
        });
    }

    /// The structure and references of one function.
    fn function(&mut self, f: FuncId) {
        self.function_and_callees(f, None);
    }

    /// The structure and references of one function; with `callees`, also appends to it the
    /// function of every call and callback reference of the body, in order (what
    /// [`link_order`](crate::analysis::callgraph::link_order) scans), with the same walk.
    /// A body that is a cycle is reported and walked no further.
    pub(crate) fn function_and_callees(
        &mut self,
        f: FuncId,
        mut callees: Option<&mut Vec<FuncId>>,
    ) {
        let m = self.module;
        let func = match m.try_function(f) {
            Ok(func) => func,
            Err(e) => {
                self.error(AnyEntity::Func(f), None, no_such("function", &e));
                return;
            }
        };
        let mut n = 0usize;
        let mut body = m.func_insns(f);
        for id in body.by_ref() {
            n += 1;
            if m.func_of(id) != Some(f) {
                self.error(
                    AnyEntity::Insn(id),
                    Some(f),
                    "the instruction does not say it belongs to this function".into(),
                );
            }
            if let Some(out) = callees.as_deref_mut() {
                if let Some(Ref::Call(c) | Ref::FuncAddr(c)) = m.reference(id) {
                    out.push(c);
                }
            }
            self.insn(f, id);
        }
        if body.cut_short() {
            self.error(AnyEntity::Func(f), None, "the body is a cycle".into());
            return;
        }
        if n != func.n_insns() {
            self.error(
                AnyEntity::Func(f),
                None,
                format!(
                    "the body has {n} instructions but the function counts {}",
                    func.n_insns()
                ),
            );
        }
        if let Some(last) = func.last_insn() {
            if !ends_a_body(m, last) {
                self.error(
                    AnyEntity::Insn(last),
                    Some(f),
                    "the function falls through its last instruction (the kernel wants an exit or an unconditional jump there)".into(),
                );
            }
        }
    }

    /// The metadata of instruction `id` of `f`.
    fn insn(&mut self, f: FuncId, id: InsnId) {
        let m = self.module;
        let at = AnyEntity::Insn(id);
        let insn = *m.insn(id);
        if let Some(l) = m.line_of(id) {
            if let Err(e) = m.check_line(l) {
                self.error(at, Some(f), format!("source line {e}"));
            }
        }
        if let Some(c) = m.core_of(id) {
            if let Err(e) = m.check_core(c) {
                self.error(at, Some(f), format!("CO-RE relocation {e}"));
            }
        }
        if let Some(o) = m.insn_origin(id) {
            if let Err(e) = m.check_origin(o) {
                self.error(at, Some(f), format!("origin {e}"));
            }
        }
        let reference = m.reference(id);
        if let Some(r) = reference {
            if let Err(e) = m.check_ref(r) {
                self.error(at, Some(f), format!("its reference: {e}"));
                return;
            }
        }
        match (reference, insn) {
            (None, i) if i.is_jump() => self.error(at, Some(f), "jump without a target".into()),
            (
                None,
                Insn::Call {
                    kind: CallKind::Local,
                    ..
                },
            ) => self.error(at, Some(f), "bpf-to-bpf call without a callee".into()),
            (
                None,
                Insn::Call {
                    kind: CallKind::Kfunc,
                    ..
                },
            ) => self.error(at, Some(f), "kfunc call without its extern".into()),
            (None, Insn::LdImm64 { kind, .. }) if kind != PseudoKind::None => self.error(
                at,
                Some(f),
                format!("ld_imm64 of pseudo kind {kind:?} without its reference (map, data, function or extern)"),
            ),
            (None, _) => {}
            (Some(Ref::Jump(target)), i) if i.is_jump() => match m.func_of(target) {
                Some(g) if g == f => {}
                Some(g) => self.error(
                    at,
                    Some(f),
                    format!(
                        "jump target {} is in function {}",
                        AnyEntity::Insn(target),
                        self.func_name(g)
                    ),
                ),
                None => self.error(
                    at,
                    Some(f),
                    format!("jump target {} was removed", AnyEntity::Insn(target)),
                ),
            },
            (Some(Ref::Call(callee)), Insn::Call { .. })
            | (Some(Ref::FuncAddr(callee)), Insn::LdImm64 { .. }) => {
                if m.function(callee).first_insn().is_none() {
                    self.error(
                        at,
                        Some(f),
                        format!("callee {} has no instructions", self.func_name(callee)),
                    );
                }
            }
            (Some(Ref::Map(_)), Insn::LdImm64 { .. }) => {}
            (Some(Ref::Data { data, offset }), Insn::LdImm64 { .. }) => {
                let d = m.data(data);
                if offset as usize > d.bytes.len() {
                    self.error(
                        at,
                        Some(f),
                        format!(
                            "offset {offset} is outside the {}-byte data section {} ({})",
                            d.bytes.len(),
                            AnyEntity::Data(data),
                            d.name
                        ),
                    );
                }
            }
            (Some(Ref::Extern(_)), Insn::Call { .. } | Insn::LdImm64 { .. }) => {}
            (Some(r), _) => self.error(
                at,
                Some(f),
                format!("reference {} does not fit this instruction", ref_text(r)),
            ),
        }
    }

    /// The kernel's rules on the functions of program `entry` as a whole.
    pub(crate) fn program_rules(&mut self, entry: FuncId, funcs: &[FuncId]) {
        let m = self.module;
        let with_body: Vec<FuncId> = funcs
            .iter()
            .copied()
            .filter(|&f| m.try_function(f).is_ok_and(|fu| fu.first_insn().is_some()))
            .collect();
        if m.btf.is_some() {
            for &f in &with_body {
                if m.function(f).btf_func.is_none() {
                    self.error(
                        AnyEntity::Func(f),
                        None,
                        format!(
                            "no BTF FUNC type (the kernel needs one per function of program {} when it has BTF); set Function::btf_func",
                            m.function(entry).name
                        ),
                    );
                }
            }
        }
        let has_line = |f: FuncId| m.func_insns(f).any(|i| m.line_of(i).is_some());
        if m.btf.is_some() && with_body.iter().any(|&f| has_line(f)) {
            for &f in &with_body {
                if !has_line(f) {
                    self.error(
                        AnyEntity::Func(f),
                        None,
                        format!(
                            "no source line, while other functions of program {} have some (the kernel wants one at every function start)",
                            m.function(entry).name
                        ),
                    );
                }
            }
        }
    }
}

/// Whether `id` may end a function: execution cannot fall off it into the next function
/// (`exit`, an unconditional or indirect jump, or a kfunc call, which may be `bpf_throw`);
/// an opaque slot is the kernel's to judge.
fn ends_a_body(m: &Module, id: InsnId) -> bool {
    match m.insn(id) {
        Insn::Exit | Insn::Ja { .. } | Insn::Gotol { .. } | Insn::Gotox { .. } => true,
        // A slot the decoder refused is passed through for the kernel to judge.
        Insn::Opaque { .. } => true,
        Insn::Call { kind, .. } => {
            *kind == CallKind::Kfunc || matches!(m.reference(id), Some(Ref::Extern(_)))
        }
        _ => false,
    }
}

/// A reference as the dump spells its target.
fn ref_text(r: Ref) -> String {
    match r {
        Ref::Jump(i) => format!("jump to {}", AnyEntity::Insn(i)),
        Ref::Call(f) => format!("call of {}", AnyEntity::Func(f)),
        Ref::FuncAddr(f) => format!("address of {}", AnyEntity::Func(f)),
        Ref::Map(x) => format!("map {}", AnyEntity::Map(x)),
        Ref::Data { data, offset } => format!("data {}+{offset}", AnyEntity::Data(data)),
        Ref::Extern(e) => format!("extern {}", AnyEntity::Extern(e)),
    }
}

#[cfg(test)]
mod tests;
