//! Type compatibility as CO-RE defines it, between a local and a target BTF.
//!
//! * [`kinds_compat`]: the candidate filter — same kind, or both enums (32 or 64 bit).
//! * [`fields_are_compat`]: whether a target member may stand for a local one (composites
//!   match any composite, ints any non-legacy-bitfield int, enums and forward declarations
//!   by essential name, arrays by element).
//! * [`types_are_compat`]: the check behind type-existence, -size and -id relocations
//!   (pointers and arrays by their targets, prototypes by parameters and return type).
//! * [`types_match`]: the stricter `type_matches` relocation (every local member, enumerator
//!   and parameter has a counterpart of matching shape; behind pointers, a struct matches a
//!   forward declaration of the same flavour).
//!
//! Costs and bounds: each walk follows at most [`MAX_DEPTH`] references per level and
//! recurses at most [`MAX_DEPTH`] levels; [`types_match`] also stops after
//! [`MAX_MATCH_VISITS`] visited pairs, so that a malformed BTF whose structs fan out cannot
//! make it exponential. Running out of either bound is an error, never a hang.

use crate::btf::{essential_name, Btf, StrOffset, TypeId, TypeKind};

use super::spec::skip_mods;
use super::Fail;

/// The deepest reference chain or nesting the checks follow.
pub const MAX_DEPTH: u32 = 32;
/// The most (local, target) pairs one `type_matches` check visits.
pub const MAX_MATCH_VISITS: u32 = 1 << 16;

fn too_deep() -> Fail {
    Fail::Unsupported(format!("types nest deeper than {MAX_DEPTH} levels"))
}

fn is_enum(k: &TypeKind) -> bool {
    matches!(k, TypeKind::Enum { .. } | TypeKind::Enum64 { .. })
}

/// Same kind, or both 32/64-bit enums.
pub(crate) fn kinds_compat(a: &TypeKind, b: &TypeKind) -> bool {
    a.kind() == b.kind() || (is_enum(a) && is_enum(b))
}

fn name_of(btf: &Btf, off: StrOffset) -> Result<&str, Fail> {
    Ok(btf.str(off)?)
}

/// Essential names equal, or either anonymous.
fn names_match(local: &Btf, l: StrOffset, targ: &Btf, t: StrOffset) -> Result<bool, Fail> {
    let l = name_of(local, l)?;
    let t = name_of(targ, t)?;
    Ok(l.is_empty() || t.is_empty() || essential_name(l) == essential_name(t))
}

/// Whether target member type `targ_id` may stand for local member type `local_id`.
pub(crate) fn fields_are_compat(
    local: &Btf,
    local_id: TypeId,
    targ: &Btf,
    targ_id: TypeId,
) -> Result<bool, Fail> {
    let (mut l, mut t) = (local_id, targ_id);
    for _ in 0..MAX_DEPTH {
        let (lid, lk) = skip_mods(local, l)?;
        let (tid, tk) = skip_mods(targ, t)?;
        if lk.is_composite() && tk.is_composite() {
            return Ok(true);
        }
        if !kinds_compat(&lk, &tk) {
            return Ok(false);
        }
        return match (lk, tk) {
            (TypeKind::Ptr(_), _) | (TypeKind::Float { .. }, _) => Ok(true),
            (TypeKind::Fwd { .. } | TypeKind::Enum { .. } | TypeKind::Enum64 { .. }, _) => {
                names_match(local, local.ty(lid).name, targ, targ.ty(tid).name)
            }
            (TypeKind::Int { offset: lo, .. }, TypeKind::Int { offset: to, .. }) => {
                Ok(lo == 0 && to == 0)
            }
            (TypeKind::Array { elem: le, .. }, TypeKind::Array { elem: te, .. }) => {
                l = le;
                t = te;
                continue;
            }
            _ => Ok(false),
        };
    }
    Err(too_deep())
}

/// libbpf's `bpf_core_types_are_compat`: the check for type-based relocations other than
/// `type_matches`. The caller has matched the names.
pub(crate) fn types_are_compat(
    local: &Btf,
    local_id: TypeId,
    targ: &Btf,
    targ_id: TypeId,
) -> Result<bool, Fail> {
    compat_at(local, local_id, targ, targ_id, MAX_DEPTH)
}

fn compat_at(
    local: &Btf,
    local_id: TypeId,
    targ: &Btf,
    targ_id: TypeId,
    level: u32,
) -> Result<bool, Fail> {
    if !kinds_compat(&local.kind_of(local_id)?, &targ.kind_of(targ_id)?) {
        return Ok(false);
    }
    let (mut l, mut t) = (local_id, targ_id);
    for _ in 0..MAX_DEPTH {
        let (lid, lk) = skip_mods(local, l)?;
        let (tid, tk) = skip_mods(targ, t)?;
        if !kinds_compat(&lk, &tk) {
            return Ok(false);
        }
        match (lk, tk) {
            (
                TypeKind::Void
                | TypeKind::Struct { .. }
                | TypeKind::Union { .. }
                | TypeKind::Enum { .. }
                | TypeKind::Enum64 { .. }
                | TypeKind::Fwd { .. },
                _,
            ) => return Ok(true),
            (TypeKind::Int { offset: lo, .. }, TypeKind::Int { offset: to, .. }) => {
                return Ok(lo == 0 && to == 0)
            }
            (TypeKind::Ptr(lp), TypeKind::Ptr(tp)) => {
                l = lp;
                t = tp;
            }
            (TypeKind::Array { elem: le, .. }, TypeKind::Array { elem: te, .. }) => {
                l = le;
                t = te;
            }
            (TypeKind::FuncProto { ret: lr, .. }, TypeKind::FuncProto { ret: tr, .. }) => {
                let lp = local.params(lid);
                let tp = targ.params(tid);
                if lp.len() != tp.len() {
                    return Ok(false);
                }
                for (a, b) in lp.iter().zip(tp) {
                    if level == 0 {
                        return Err(too_deep());
                    }
                    let a = skip_mods(local, a.ty)?.0;
                    let b = skip_mods(targ, b.ty)?.0;
                    if !compat_at(local, a, targ, b, level - 1)? {
                        return Ok(false);
                    }
                }
                l = skip_mods(local, lr)?.0;
                t = skip_mods(targ, tr)?.0;
            }
            _ => return Ok(false),
        }
    }
    Err(too_deep())
}

/// libbpf's `bpf_core_types_match`: the `type_matches` relocation.
pub(crate) fn types_match(
    local: &Btf,
    local_id: TypeId,
    targ: &Btf,
    targ_id: TypeId,
) -> Result<bool, Fail> {
    let mut budget = MAX_MATCH_VISITS;
    match_at(
        local,
        local_id,
        targ,
        targ_id,
        false,
        MAX_DEPTH,
        &mut budget,
    )
}

fn match_at(
    local: &Btf,
    local_id: TypeId,
    targ: &Btf,
    targ_id: TypeId,
    mut behind_ptr: bool,
    level: u32,
    budget: &mut u32,
) -> Result<bool, Fail> {
    if level == 0 || *budget == 0 {
        return Err(too_deep());
    }
    let (mut l, mut t) = (local_id, targ_id);
    for _ in 0..MAX_DEPTH {
        *budget = budget.saturating_sub(1);
        let (lid, lk) = skip_mods(local, l)?;
        let (tid, tk) = skip_mods(targ, t)?;
        if !names_match(local, local.ty(lid).name, targ, targ.ty(tid).name)? {
            return Ok(false);
        }
        match lk {
            TypeKind::Void => return Ok(matches!(tk, TypeKind::Void)),
            TypeKind::Fwd { union: lu } => {
                return Ok(match tk {
                    TypeKind::Fwd { union: tu } => lu == tu,
                    TypeKind::Struct { .. } if behind_ptr => !lu,
                    TypeKind::Union { .. } if behind_ptr => lu,
                    _ => false,
                });
            }
            TypeKind::Enum { size: ls, .. } | TypeKind::Enum64 { size: ls, .. } => {
                let ts = match tk {
                    TypeKind::Enum { size, .. } | TypeKind::Enum64 { size, .. } => size,
                    _ => return Ok(false),
                };
                return enums_match(local, lid, ls, targ, tid, ts);
            }
            TypeKind::Struct { .. } | TypeKind::Union { .. } => {
                let local_union = matches!(lk, TypeKind::Union { .. });
                if behind_ptr {
                    return Ok(match tk {
                        TypeKind::Struct { .. } => !local_union,
                        TypeKind::Union { .. } => local_union,
                        TypeKind::Fwd { union } => union == local_union,
                        _ => false,
                    });
                }
                if lk.kind() != tk.kind() {
                    return Ok(false);
                }
                return composites_match(local, lid, targ, tid, behind_ptr, level, budget);
            }
            TypeKind::Int {
                size: ls,
                encoding: le,
                ..
            } => {
                return Ok(match tk {
                    TypeKind::Int {
                        size: ts,
                        encoding: te,
                        ..
                    } => ls == ts && le.is_signed() == te.is_signed(),
                    _ => false,
                });
            }
            TypeKind::Ptr(lp) => {
                let TypeKind::Ptr(tp) = tk else {
                    return Ok(false);
                };
                behind_ptr = true;
                l = lp;
                t = tp;
            }
            TypeKind::Array {
                elem: le, len: ln, ..
            } => {
                let TypeKind::Array {
                    elem: te, len: tn, ..
                } = tk
                else {
                    return Ok(false);
                };
                if ln != tn {
                    return Ok(false);
                }
                l = le;
                t = te;
            }
            TypeKind::FuncProto { ret: lr, .. } => {
                let TypeKind::FuncProto { ret: tr, .. } = tk else {
                    return Ok(false);
                };
                let lp = local.params(lid);
                let tp = targ.params(tid);
                if lp.len() != tp.len() {
                    return Ok(false);
                }
                for (a, b) in lp.iter().zip(tp) {
                    if !match_at(local, a.ty, targ, b.ty, behind_ptr, level - 1, budget)? {
                        return Ok(false);
                    }
                }
                l = lr;
                t = tr;
            }
            _ => return Ok(false),
        }
    }
    Err(too_deep())
}

fn enums_match(
    local: &Btf,
    lid: TypeId,
    lsize: u32,
    targ: &Btf,
    tid: TypeId,
    tsize: u32,
) -> Result<bool, Fail> {
    if lsize != tsize {
        return Ok(false);
    }
    let lv = local.enum_values(lid);
    let tv = targ.enum_values(tid);
    if lv.len() > tv.len() {
        return Ok(false);
    }
    for l in lv {
        let mut found = false;
        for t in tv {
            if names_match(local, l.name, targ, t.name)? {
                found = true;
                break;
            }
        }
        if !found {
            return Ok(false);
        }
    }
    Ok(true)
}

fn composites_match(
    local: &Btf,
    lid: TypeId,
    targ: &Btf,
    tid: TypeId,
    behind_ptr: bool,
    level: u32,
    budget: &mut u32,
) -> Result<bool, Fail> {
    let lm = local.members(lid);
    let tm = targ.members(tid);
    if lm.len() > tm.len() {
        return Ok(false);
    }
    for l in lm {
        let mut found = false;
        for t in tm {
            if !names_match(local, l.name, targ, t.name)? {
                continue;
            }
            if match_at(local, l.ty, targ, t.ty, behind_ptr, level - 1, budget)? {
                found = true;
                break;
            }
        }
        if !found {
            return Ok(false);
        }
    }
    Ok(true)
}
