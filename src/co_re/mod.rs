//! CO-RE: relocating a module's field, type and enumerator accesses against target BTFs.
//!
//! [`relocate`] takes every CO-RE relocation of a [`Module`] in relocation order (the order
//! of its records; each is applied through the instruction that carries it), computes the
//! local value from the module's own BTF and the target value from [`Targets`], and patches
//! the instruction. The semantics are the kernel's `relo_core.c` (shared with libbpf):
//!
//! * Candidates for a local type are the target types with the same essential name (the
//!   name cut before its last `___` flavour suffix) and a compatible kind (same kind, or
//!   both enums). Field accesses match members by name through anonymous members;
//!   enumerators by essential name; whole types by libbpf's compatibility rules, or the
//!   stricter `type_matches` rules.
//! * All matching candidates must agree (on the field's bit offset and on the value);
//!   otherwise the relocation fails with [`CoReError::Ambiguous`] naming them.
//! * Without a matching candidate, `field_exists`/`enumval_exists` and the type kinds
//!   give 0 (`type_id_local` needs no target at all); the other field and enumerator kinds
//!   poison the instruction (`call 0xbad2310`, see [`POISON_INSN`]) so the verifier
//!   refuses it only if it is reachable.
//!
//! Errors are per relocation: a relocation that fails leaves its instruction (and its CO-RE
//! record) untouched and is reported in [`Report::relocations`]; the others are still
//! applied. A loader refuses the programs that reach a function with a failed relocation
//! ([`Report::errors_in`]) and loads the rest, as libbpf fails only the affected program.
//! [`relocate`] itself fails only when the module has relocations but no BTF.
//!
//! Only instructions that are in a function are relocated (a removed instruction keeps its
//! record but is not patched). Patched instructions keep their CO-RE record until
//! [`Report::clear_applied`] detaches it; do that before lowering for the kernel (or the
//! kernel relocates them again) and before relocating the module a second time (a patched
//! instruction no longer holds its local value, so validation refuses it).
//!
//! Costs: one walk over every function's instructions to find the relocated ones, one
//! candidate search per distinct local type (a name index lookup, cached for the call), and
//! for each relocation a walk of its access through the local type and each candidate. The
//! candidates of one local type are at most [`MAX_CANDIDATES`] (more fail that type's
//! relocations), and the type compatibility walks are bounded by [`MAX_DEPTH`] and
//! [`MAX_MATCH_VISITS`], so a relocation costs at most `MAX_CANDIDATES ×` a bounded walk
//! whatever the target.

mod calc;
mod compat;
mod error;
mod patch;
mod spec;
mod targets;

use std::fmt;

use hashbrown::HashMap;

use crate::btf::{Btf, BtfError, TypeId};
use crate::btf_ext::CoreReloKind;
use crate::ir::{CoreId, CoreRelo, FuncId, InsnId, Module};

#[cfg(feature = "kernel")]
pub(crate) use compat::types_are_compat;
pub use compat::{MAX_DEPTH, MAX_MATCH_VISITS};
pub use error::{CoReError, ReloContext};
pub use patch::{POISON_HELPER, POISON_INSN};
pub use targets::{Candidate, Target, Targets, MAX_CANDIDATES};

use calc::Resolution;
use patch::{PatchFail, Patched};

/// Why a relocation could not be computed, before the context is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fail {
    Btf(BtfError),
    LocalType(String),
    Access(usize, String),
    Unsupported(String),
    Ambiguous {
        what: &'static str,
        candidates: Vec<String>,
    },
}

impl From<BtfError> for Fail {
    fn from(e: BtfError) -> Fail {
        Fail::Btf(e)
    }
}

impl Fail {
    fn into_error(self, ctx: ReloContext) -> CoReError {
        let ctx = Box::new(ctx);
        match self {
            Fail::Btf(source) => CoReError::Btf { ctx, source },
            Fail::LocalType(reason) => CoReError::BadLocalType { ctx, reason },
            Fail::Access(component, reason) => CoReError::BadAccess {
                ctx,
                component,
                reason,
            },
            Fail::Unsupported(reason) => CoReError::Unsupported { ctx, reason },
            Fail::Ambiguous { what, candidates } => CoReError::Ambiguous {
                ctx,
                what,
                candidates,
            },
        }
    }
}

impl PatchFail {
    fn into_error(self, ctx: ReloContext) -> CoReError {
        let ctx = Box::new(ctx);
        match self {
            PatchFail::Unexpected { found, expected } => CoReError::UnexpectedInsn {
                ctx,
                found,
                expected,
            },
            PatchFail::Mismatch { found, expected } => CoReError::ValueMismatch {
                ctx,
                found,
                expected,
            },
            PatchFail::TooBig { value, field } => CoReError::ValueTooBig { ctx, value, field },
            PatchFail::MemSize { found, expected } => CoReError::MemSizeMismatch {
                ctx,
                found,
                expected,
            },
        }
    }
}

/// The target value a relocation gave its instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetValue {
    /// The instruction now holds this value.
    Value(u64),
    /// The instruction was poisoned, for this reason.
    Poisoned {
        /// Why (no candidate has the field, or its size changes unsafely).
        reason: String,
    },
}

impl fmt::Display for TargetValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetValue::Value(v) => write!(f, "{v}"),
            TargetValue::Poisoned { reason } => write!(f, "poisoned ({reason})"),
        }
    }
}

/// The candidate whose value a relocation took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen {
    /// The target and type.
    pub candidate: Candidate,
    /// The target's name.
    pub target_name: String,
    /// The type's name in the target.
    pub type_name: String,
    /// How many candidates matched (all agreed).
    pub n_matched: usize,
}

/// A relocation that was applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The value computed from the module's own BTF (what the compiler wrote).
    pub local: u64,
    /// The value from the target, or the poisoning.
    pub target: TargetValue,
    /// The first matching candidate; `None` when none matched (or for `type_id_local`).
    pub chosen: Option<Chosen>,
}

/// One relocation's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relocation {
    /// Index in relocation order.
    pub index: usize,
    /// The relocation record.
    pub core: CoreId,
    /// The instruction that carries it.
    pub insn: InsnId,
    /// The function holding the instruction.
    pub func: FuncId,
    /// What it computes.
    pub kind: CoreReloKind,
    /// The local type's name.
    pub type_name: String,
    /// The access string.
    pub access: String,
    /// The values, or why the relocation failed (the instruction is then unchanged).
    pub result: Result<Applied, CoReError>,
}

/// What [`relocate`] did, one entry per relocation in relocation order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The relocations.
    pub relocations: Vec<Relocation>,
}

impl Report {
    /// The failed relocations' errors.
    pub fn errors(&self) -> impl Iterator<Item = &CoReError> + '_ {
        self.relocations
            .iter()
            .filter_map(|r| r.result.as_ref().err())
    }

    /// The errors of relocations in the given functions (e.g. those a program reaches).
    pub fn errors_in<'a>(
        &'a self,
        funcs: &'a [FuncId],
    ) -> impl Iterator<Item = &'a CoReError> + 'a {
        self.relocations
            .iter()
            .filter(move |r| funcs.contains(&r.func))
            .filter_map(|r| r.result.as_ref().err())
    }

    /// True when every relocation was applied (patched or poisoned).
    pub fn is_ok(&self) -> bool {
        self.errors().next().is_none()
    }

    /// The report, or the first failed relocation's error.
    pub fn into_result(self) -> Result<Report, CoReError> {
        if let Some(e) = self.errors().next() {
            return Err(e.clone());
        }
        Ok(self)
    }

    /// Detaches the CO-RE record from every instruction whose relocation was applied, so a
    /// loader does not ask the kernel to relocate it again. Failed relocations keep theirs.
    pub fn clear_applied(&self, module: &mut Module) {
        for r in &self.relocations {
            if r.result.is_ok() {
                // The report's instructions were found in this module: this cannot fail.
                let _ = module.set_core(r.insn, None);
            }
        }
    }
}

impl fmt::Display for Report {
    /// One line per relocation: index, instruction, kind, type, access, then
    /// `local -> target` with the candidate taken, or the error.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.relocations {
            write!(
                f,
                "#{} {} {} {} \"{}\": ",
                r.index,
                crate::ir::AnyEntity::Insn(r.insn),
                r.kind,
                r.type_name,
                r.access
            )?;
            match &r.result {
                Ok(a) => {
                    write!(f, "{} -> {}", a.local, a.target)?;
                    if let Some(c) = &a.chosen {
                        write!(
                            f,
                            " ({}:{}[{}]",
                            c.target_name,
                            c.type_name,
                            c.candidate.ty.into_raw().into_u32()
                        )?;
                        if c.n_matched > 1 {
                            write!(f, ", {} candidates agree", c.n_matched)?;
                        }
                        f.write_str(")")?;
                    }
                    writeln!(f)?;
                }
                Err(e) => writeln!(f, "error: {e}")?,
            }
        }
        Ok(())
    }
}

/// Relocates every CO-RE relocation of `module` against `targets`. See the
/// [module documentation](self).
pub fn relocate(module: &mut Module, targets: &Targets) -> Result<Report, CoReError> {
    let mut sites: Vec<(CoreId, InsnId, FuncId)> = Vec::new();
    for (func, _) in module.functions() {
        for insn in module.func_insns(func) {
            if let Some(core) = module.core_of(insn) {
                sites.push((core, insn, func));
            }
        }
    }
    if sites.is_empty() {
        return Ok(Report::default());
    }
    // Relocation order is record order; sites of one record keep their layout order.
    sites.sort_by_key(|&(core, _, _)| core.index());
    let Some(local) = module.btf.as_ref() else {
        return Err(CoReError::NoBtf {
            n_relos: sites.len(),
        });
    };
    let mut cache: HashMap<TypeId, Result<Vec<Candidate>, Fail>> = HashMap::new();
    let mut computed = Vec::with_capacity(sites.len());
    for (index, &(core, insn, func)) in sites.iter().enumerate() {
        let relo = module.core_relo(core);
        let type_name = match local.get(relo.ty) {
            Some(_) => match local.name(relo.ty) {
                Ok("") => "<anon>".to_owned(),
                Ok(n) => n.to_owned(),
                Err(_) => format!("[{}]", local.wire_id(relo.ty).0),
            },
            None => format!("[{}]", local.wire_id(relo.ty).0),
        };
        let ctx = ReloContext {
            relo: index,
            insn,
            kind: relo.kind,
            type_name,
            access: relo.access.to_string(),
        };
        let result = compute(local, relo, targets, &mut cache);
        computed.push((index, core, insn, func, ctx, result));
    }
    let mut report = Report {
        relocations: Vec::with_capacity(computed.len()),
    };
    for (index, core, insn, func, ctx, result) in computed {
        let result = match result {
            Err(fail) => Err(fail.into_error(ctx.clone())),
            Ok((res, chosen)) => match patch::patch(module, insn, &res) {
                Ok(Patched::Value(v)) => Ok(Applied {
                    local: res.local,
                    target: TargetValue::Value(v),
                    chosen,
                }),
                Ok(Patched::Poisoned(reason)) => Ok(Applied {
                    local: res.local,
                    target: TargetValue::Poisoned { reason },
                    chosen,
                }),
                Err(fail) => Err(fail.into_error(ctx.clone())),
            },
        };
        report.relocations.push(Relocation {
            index,
            core,
            insn,
            func,
            kind: ctx.kind,
            type_name: ctx.type_name,
            access: ctx.access,
            result,
        });
    }
    Ok(report)
}

/// Computes one relocation: its local and target values and the candidate taken.
fn compute(
    local: &Btf,
    relo: &CoreRelo,
    targets: &Targets,
    cache: &mut HashMap<TypeId, Result<Vec<Candidate>, Fail>>,
) -> Result<(Resolution, Option<Chosen>), Fail> {
    let kind = relo.kind;
    if local.get(relo.ty).is_none() {
        return Err(Fail::LocalType(format!(
            "type id {} is not in the module's btf",
            local.wire_id(relo.ty).0
        )));
    }
    let local_spec = spec::parse_local(local, relo.ty, kind, &relo.access)?;
    if kind == CoreReloKind::TypeIdLocal {
        let id = u64::from(local.wire_id(relo.ty).0);
        let res = Resolution {
            local: id,
            target: Ok(id),
            validate: false,
            local_size: 0,
            target_size: 0,
            bad_size_change: false,
        };
        return Ok((res, None));
    }
    let cands = cache
        .entry(relo.ty)
        .or_insert_with(|| targets.candidates(local, relo.ty))
        .clone()?;
    let mut matched: Vec<(Candidate, spec::Spec<'_>, Resolution)> = Vec::new();
    for cand in cands {
        let Some(target) = targets.get(cand.target) else {
            continue;
        };
        let tbtf: &Btf = target.btf();
        let targ_spec = if kind.is_type_based() {
            let ok = if kind == CoreReloKind::TypeMatches {
                compat::types_match(local, relo.ty, tbtf, cand.ty)?
            } else {
                compat::types_are_compat(local, relo.ty, tbtf, cand.ty)?
            };
            ok.then(|| spec::Spec {
                btf: tbtf,
                root: cand.ty,
                accessors: Vec::new(),
                raw: Vec::new(),
                bit_offset: 0,
            })
        } else {
            spec::match_target(&local_spec, kind, tbtf, cand.ty)?
        };
        if let Some(ts) = targ_spec {
            let res = calc::resolve(kind, &local_spec, Some(&ts))?;
            matched.push((cand, ts, res));
        }
    }
    let Some((first, first_spec, first_res)) = matched.first() else {
        return Ok((calc::resolve(kind, &local_spec, None)?, None));
    };
    let describe = |c: &Candidate| -> String {
        let t = targets.get(c.target);
        let btf = t.map(|t| &**t.btf());
        let name = btf.and_then(|b| b.name(c.ty).ok()).unwrap_or("");
        let id = btf.map(|b| b.wire_id(c.ty).0).unwrap_or(0);
        format!("{}:{}[{}]", t.map(|t| t.name()).unwrap_or("?"), name, id)
    };
    if matched
        .iter()
        .any(|(_, s, _)| s.bit_offset != first_spec.bit_offset)
    {
        return Err(Fail::Ambiguous {
            what: "field offset",
            candidates: matched
                .iter()
                .map(|(c, s, _)| format!("{} at bit {}", describe(c), s.bit_offset))
                .collect(),
        });
    }
    if matched.iter().any(|(_, _, r)| r.target != first_res.target) {
        return Err(Fail::Ambiguous {
            what: "value",
            candidates: matched
                .iter()
                .map(|(c, _, r)| match &r.target {
                    Ok(v) => format!("{}={}", describe(c), v),
                    Err(_) => format!("{}=poison", describe(c)),
                })
                .collect(),
        });
    }
    let chosen = Chosen {
        candidate: *first,
        target_name: targets
            .get(first.target)
            .map(|t| t.name().to_owned())
            .unwrap_or_default(),
        type_name: targets
            .get(first.target)
            .and_then(|t| t.btf().name(first.ty).ok())
            .unwrap_or("")
            .to_owned(),
        n_matched: matched.len(),
    };
    Ok((first_res.clone(), Some(chosen)))
}

#[cfg(test)]
mod tests;
