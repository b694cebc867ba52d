//! What the kernel's `BTF_LOAD` refuses in clang's BTF, and the loader fixes before loading
//! (the object itself is not changed):
//!
//! * `VAR`s and `FUNC`s with extern linkage (the kernel knows only static and global):
//!   they become global, and the unnamed parameters of such a function's prototype (clang
//!   names none for declarations) are named `argN`, as the kernel wants for global functions;
//! * extern `VAR`s without a type (untyped ksyms such as `extern const void x __ksym`, the
//!   `const` optional): typed as a 4-byte int;
//! * `FUNC`s listed in a `DATASEC` (kfunc declarations in `.ksyms`): replaced by one dummy
//!   int `VAR`;
//! * `DATASEC`s whose variables are not in offset order (clang lists them in declaration
//!   order, their offsets come from symbols), or, for `.ksyms`, have no offsets at all: the
//!   variables are sorted, and `.ksyms` gets consecutive offsets and its size.

use crate::btf::{Btf, BtfError, IntEncoding, Kind, Linkage, TypeKind, VarSecinfo};

/// Applies the fixes above to `btf` in place.
pub fn sanitize_for_kernel(btf: &mut Btf) -> Result<(), BtfError> {
    let ids: Vec<_> = btf.own_types().map(|(id, _)| id).collect();
    let mut int = None;
    for &id in &ids {
        // `void` behind any qualifiers (`extern const void x __ksym`).
        let untyped = match btf.ty(id).kind {
            TypeKind::Var { ty, .. } => btf.resolve(ty).is_ok_and(|t| btf.wire_id(t).0 == 0),
            _ => false,
        };
        if untyped && int.is_none() {
            int = Some(find_or_add_int(btf)?);
        }
        let mut extern_func = None;
        match &mut btf.ty_mut(id)?.kind {
            TypeKind::Var { ty, linkage } => {
                if *linkage == Linkage::Extern {
                    *linkage = Linkage::Global;
                }
                if untyped {
                    *ty = int.expect("set above");
                }
            }
            TypeKind::Func { linkage, proto } if *linkage == Linkage::Extern => {
                *linkage = Linkage::Global;
                extern_func = Some(*proto);
            }
            _ => {}
        }
        if let Some(proto) = extern_func {
            name_params(btf, proto)?;
        }
    }
    let mut dummy = None;
    for &id in &ids {
        if btf.ty(id).kind.kind() != Kind::Datasec {
            continue;
        }
        let is_ksyms = btf.name(id)? == ".ksyms";
        let has_funcs = btf
            .datasec_vars(id)
            .iter()
            .any(|v| btf.ty(v.ty).kind.kind() == Kind::Func);
        if has_funcs && dummy.is_none() {
            let int = match int {
                Some(i) => i,
                None => {
                    let i = find_or_add_int(btf)?;
                    int = Some(i);
                    i
                }
            };
            dummy = Some(btf.add_var("__bpfir_dummy_ksym", int, Linkage::Global)?);
        }
        let mut vars: Vec<VarSecinfo> = btf.datasec_vars(id).to_vec();
        for v in &mut vars {
            if btf.ty(v.ty).kind.kind() == Kind::Func {
                v.ty = dummy.expect("set above");
                v.size = 4;
            }
        }
        if is_ksyms {
            let mut off = 0u32;
            for v in &mut vars {
                v.size = btf.size_of(v.ty)?;
                v.offset = off;
                off += v.size;
            }
            btf.set_datasec_size(id, off)?;
        } else {
            vars.sort_by_key(|v| v.offset);
        }
        btf.datasec_vars_mut(id)?.copy_from_slice(&vars);
    }
    Ok(())
}

/// libbpf's treatment of hidden global functions (`__hidden`): their BTF `FUNC`s become
/// static, so the verifier checks each in its caller's context rather than on its own
/// (what lets a helper such as USDT's argument fetcher write through a caller's pointer).
pub(super) fn hidden_funcs_static(
    module: &crate::ir::Module,
    btf: &mut Btf,
) -> Result<(), BtfError> {
    for (_, f) in module.functions() {
        let Some(id) = f.btf_func.filter(|_| f.hidden) else {
            continue;
        };
        if let TypeKind::Func { linkage, .. } = &mut btf.ty_mut(id)?.kind {
            *linkage = Linkage::Static;
        }
    }
    Ok(())
}

fn name_params(btf: &mut Btf, proto: crate::btf::TypeId) -> Result<(), BtfError> {
    let params = btf.params(proto).to_vec();
    for (i, p) in params.iter().enumerate() {
        if p.name.0 == 0 && btf.wire_id(p.ty).0 != 0 {
            let name = btf.add_str(&format!("arg{i}"))?;
            btf.params_mut(proto)?[i].name = name;
        }
    }
    Ok(())
}

fn find_or_add_int(btf: &mut Btf) -> Result<crate::btf::TypeId, BtfError> {
    let existing = btf
        .own_types()
        .find(|(_, t)| {
            matches!(
                t.kind,
                TypeKind::Int {
                    size: 4,
                    bits: 32,
                    ..
                }
            )
        })
        .map(|(id, _)| id);
    match existing {
        Some(id) => Ok(id),
        None => btf.add_int("int", 4, IntEncoding::SIGNED, 32),
    }
}
