//! The BTFs relocations are computed against, and the candidate search.
//!
//! [`Targets`] is an ordered list: the first target is the main one (the kernel's
//! `vmlinux`, or any single BTF such as an object's own); the others (kernel modules'
//! split BTF) are searched only when the main one has no candidate for a type, as libbpf
//! does. A split target whose base is an earlier target contributes only its own types.
//!
//! Costs: [`Targets::push`] builds the target's index of type names once (one hash per
//! named type that is not a FUNC, VAR, DATASEC or DECL_TAG, see
//! [`Btf::build_type_name_index`]); a candidate lookup is one hash probe per target plus a
//! kind check per hit. [`relocate`](super::relocate) caches the candidates
//! of each local type for the duration of one call.

use std::sync::Arc;

use crate::btf::{essential_name, Btf, TypeId};

use super::compat::kinds_compat;
use super::Fail;

/// The most candidates one local type may have in the targets: real kernels have a few
/// per name (vmlinux and some modules). More makes every relocation of that type fail
/// with an error rather than cost `relocations × candidates` walks (a target of 300k
/// structs of one name once took 23 s).
pub const MAX_CANDIDATES: usize = 1 << 12;

/// One target BTF with a name for reports (`vmlinux`, a module's name, a file).
#[derive(Clone, Debug)]
pub struct Target {
    name: String,
    btf: Arc<Btf>,
    /// The first type id this target contributes candidates from.
    first_id: u32,
}

impl Target {
    /// The name given to [`Targets::push`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The BTF.
    pub fn btf(&self) -> &Arc<Btf> {
        &self.btf
    }
}

/// The target BTFs of a relocation pass: the main target first, then the ones searched
/// when it has no candidate (kernel modules). Each target's name index is built once, by
/// [`Targets::push`].
#[derive(Clone, Debug, Default)]
pub struct Targets {
    targets: Vec<Target>,
}

/// A target type that may stand for a local type: same essential name, compatible kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Index of the target in its [`Targets`].
    pub target: usize,
    /// The type in that target's BTF.
    pub ty: TypeId,
}

impl Targets {
    /// No targets: every relocation finds no candidate.
    pub fn new() -> Targets {
        Targets::default()
    }

    /// One target.
    pub fn single(name: impl Into<String>, btf: Arc<Btf>) -> Targets {
        let mut t = Targets::new();
        t.push(name, btf);
        t
    }

    /// Adds a target after the ones already present and builds its index of type names.
    pub fn push(&mut self, name: impl Into<String>, btf: Arc<Btf>) {
        btf.build_type_name_index();
        let over_earlier = btf
            .base()
            .is_some_and(|base| self.targets.iter().any(|t| Arc::ptr_eq(&t.btf, base)));
        let first_id = if over_earlier { btf.first_own_id() } else { 0 };
        self.targets.push(Target {
            name: name.into(),
            btf,
            first_id,
        });
    }

    /// The targets, main one first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Target> + '_ {
        self.targets.iter()
    }

    /// Target `index`.
    pub fn get(&self, index: usize) -> Option<&Target> {
        self.targets.get(index)
    }

    /// Number of targets.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// True without targets.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The candidates for local type `local_id` of `local`, at most [`MAX_CANDIDATES`]: the main target's, or when it
    /// has none, every other target's, each in id order.
    pub(crate) fn candidates(&self, local: &Btf, local_id: TypeId) -> Result<Vec<Candidate>, Fail> {
        let local_kind = local.kind_of(local_id)?;
        let name = local.name(local_id)?;
        if name.is_empty() {
            return Err(Fail::LocalType(
                "an anonymous type has no candidates".into(),
            ));
        }
        let essential = essential_name(name);
        let mut out = Vec::new();
        for (i, target) in self.targets.iter().enumerate() {
            if i == 1 && !out.is_empty() {
                break;
            }
            for id in target
                .btf
                .types_by_essential_name_near(essential, local_kind.kind())
            {
                if target.btf.wire_id(id).0 < target.first_id {
                    continue;
                }
                if kinds_compat(&local_kind, &target.btf.kind_of(id)?) {
                    if out.len() == MAX_CANDIDATES {
                        return Err(Fail::Unsupported(format!(
                            "more than {MAX_CANDIDATES} target types named {essential} \
                             (a kernel has a few; this target was built to be slow)"
                        )));
                    }
                    out.push(Candidate { target: i, ty: id });
                }
            }
        }
        Ok(out)
    }
}
