//! The call graph: which functions a function reaches through bpf-to-bpf calls and
//! callbacks (`ld_imm64` of a function's address), and how many argument registers a call
//! reads.
//!
//! Costs: [`callees`] and [`link_order`] walk the bodies once (O(instructions) of the
//! functions reached); [`call_args`] is a lookup. Stale after an edit that adds or removes a
//! call or callback reference, or changes a function's BTF `FUNC`.

use std::collections::HashSet;

use crate::btf::{Btf, StrOffset, TypeId, TypeKind};
use crate::insn::{CallArgs, Insn};
use crate::ir::{FuncId, InsnId, Module, Ref};

/// The functions `func` calls or takes the address of, in order of first reference.
pub fn callees(module: &Module, func: FuncId) -> Vec<FuncId> {
    let mut seen = HashSet::new();
    module
        .func_insns(func)
        .filter_map(|id| match module.reference(id) {
            Some(Ref::Call(f) | Ref::FuncAddr(f)) => Some(f),
            _ => None,
        })
        .filter(|f| seen.insert(*f))
        .collect()
}

/// The functions of the program whose entry is `entry`, in layout order: the entry, then
/// every function it reaches through calls and callbacks, depth-first by first call site
/// (libbpf's order: scanning a function, the first reference to a function not yet placed
/// appends it, and its own body is scanned before the scan of the caller goes on), then its
/// exception callback ([`exception_callback`]) and what that reaches, unless already
/// placed. So bpfir and libbpf hand the kernel the same instructions (and get the same
/// program tag).
pub fn link_order(module: &Module, entry: FuncId) -> Vec<FuncId> {
    let mut order = vec![entry];
    let mut placed = HashSet::from([entry]);
    place_reached(module, entry, &mut order, &mut placed);
    if let Some(cb) = exception_callback(module, entry) {
        if placed.insert(cb) {
            order.push(cb);
            place_reached(module, cb, &mut order, &mut placed);
        }
    }
    order
}

/// Appends to `order`, depth-first by first reference, the functions `from` reaches that
/// are not `placed` yet.
fn place_reached(
    module: &Module,
    from: FuncId,
    order: &mut Vec<FuncId>,
    placed: &mut HashSet<FuncId>,
) {
    // An explicit stack of body walks keeps deep call chains from growing the native stack.
    // A function the module does not have has an empty body (the IR verifier reports it),
    // and each walk ends, even on a body whose links run in a circle (see `FuncInsns`).
    let mut stack = vec![module.func_insns(from)];
    while let Some(top) = stack.last_mut() {
        let Some(id) = top.next() else {
            stack.pop();
            continue;
        };
        if let Some(Ref::Call(callee) | Ref::FuncAddr(callee)) = module.reference(id) {
            if placed.insert(callee) {
                order.push(callee);
                stack.push(module.func_insns(callee));
            }
        }
    }
}

/// The exception callback of program `entry`: the function named by a
/// `btf_decl_tag("exception_callback:NAME")` on the program's BTF `FUNC` (what
/// `__exception_cb(NAME)` declares), when the module has a function of that name.
pub fn exception_callback(module: &Module, entry: FuncId) -> Option<FuncId> {
    let btf = module.btf.as_ref()?;
    let func_ty = module.try_function(entry).ok()?.btf_func?;
    let name = btf.own_types().find_map(|(_, t)| match t.kind {
        TypeKind::DeclTag {
            ty,
            component_idx: -1,
            ..
        } if ty == func_ty => btf.str(t.name).ok()?.strip_prefix("exception_callback:"),
        _ => None,
    })?;
    module
        .functions()
        .find(|(f, func)| *f != entry && func.name == name)
        .map(|(f, _)| f)
}

/// Number of parameters of the `FUNC` (or `FUNC_PROTO`) `ty` of `btf`, if it is one. A
/// variadic tail (a nameless parameter of type void) is not counted.
pub fn proto_params(btf: &Btf, ty: TypeId) -> Option<u8> {
    let proto = match btf.get(ty)?.kind {
        TypeKind::Func { proto, .. } => proto,
        _ => ty,
    };
    if !matches!(btf.get(proto)?.kind, TypeKind::FuncProto { .. }) {
        return None;
    }
    let n = btf
        .params(proto)
        .iter()
        .filter(|p| {
            let variadic = p.name == StrOffset::EMPTY
                && btf
                    .get(p.ty)
                    .is_some_and(|t| matches!(t.kind, TypeKind::Void));
            !variadic
        })
        .count();
    Some(n.min(5) as u8)
}

/// What the call `id` is known to read: the parameter count of the callee's or kfunc's BTF
/// prototype when the module has one; [`CallArgs::Unknown`] otherwise (helpers then use the
/// helper table, other calls R1–R5).
pub fn call_args(module: &Module, id: InsnId) -> CallArgs {
    // An id the module does not have is no call it knows anything about.
    if !matches!(module.try_insn(id), Ok(Insn::Call { .. })) {
        return CallArgs::Unknown;
    }
    let Some(btf) = module.btf.as_ref() else {
        return CallArgs::Unknown;
    };
    let ty = match module.reference(id) {
        Some(Ref::Call(f)) => module.try_function(f).ok().and_then(|f| f.btf_func),
        Some(Ref::Extern(e)) => module.try_extern(e).ok().and_then(|e| e.btf),
        _ => None,
    };
    ty.and_then(|t| proto_params(btf, t))
        .map_or(CallArgs::Unknown, CallArgs::Known)
}
