//! BTF de-duplication against built and real BTF: a BTF concatenated with itself dedups back
//! to itself; linked1 + linked2 of the corpus dedup to the types libbpf's linker produced;
//! forward declarations resolve to their unique definition; every object's BTF dedups to a
//! BTF that is no larger, re-marshals and parses; vmlinux is (nearly) a fixed point; and the
//! deduplicated linked BTF loads in the kernel.

mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use bpfir::btf::{dedup, Btf, Deduped, IntEncoding, Kind, Linkage, NewMember, TypeId, TypeKind};
use bpfir::elf::ElfObject;
use bpfir::Endian;

/// Appends every type of `src` (a base BTF) to `dst` with the builder API and returns where
/// each `src` id went (`void` to `void`).
///
/// The builder only accepts references to types that exist, and clang emits references to
/// later types (a pointer before its struct). So: first every type but structs and unions,
/// with `void` in place of their references; then structs and unions, each after the
/// structs it embeds directly (whose member types must exist); finally every reference is
/// patched to its real target.
fn append(dst: &mut Btf, src: &Btf) -> Vec<TypeId> {
    let void = src.own_types().next().unwrap().0;
    let n = src.n_types() as usize;
    let mut ids: Vec<Option<TypeId>> = vec![None; n];
    let idx = |id: TypeId| src.wire_id(id).0 as usize;
    ids[0] = Some(void);
    for (id, t) in src.own_types().skip(1) {
        let name = src.name(id).unwrap();
        let new = match t.kind {
            TypeKind::Struct { .. } | TypeKind::Union { .. } => continue,
            TypeKind::Enum { signed, size, .. } | TypeKind::Enum64 { signed, size, .. } => {
                let is64 = matches!(t.kind, TypeKind::Enum64 { .. });
                let names: Vec<String> = src
                    .enum_values(id)
                    .iter()
                    .map(|v| src.str(v.name).unwrap().to_string())
                    .collect();
                let values: Vec<(&str, i64)> = src
                    .enum_values(id)
                    .iter()
                    .zip(&names)
                    .map(|(v, n)| (n.as_str(), v.value(signed, is64) as i64))
                    .collect();
                dst.add_enum(name, size, signed, &values).unwrap()
            }
            TypeKind::FuncProto { .. } => {
                let names: Vec<String> = src
                    .params(id)
                    .iter()
                    .map(|p| src.str(p.name).unwrap().to_string())
                    .collect();
                let params: Vec<(&str, TypeId)> =
                    names.iter().map(|n| (n.as_str(), void)).collect();
                dst.add_func_proto(void, &params).unwrap()
            }
            TypeKind::Datasec { size, .. } => {
                let vars: Vec<_> = src
                    .datasec_vars(id)
                    .iter()
                    .map(|v| bpfir::btf::VarSecinfo { ty: void, ..v })
                    .collect();
                dst.add_datasec(name, size, &vars).unwrap()
            }
            TypeKind::Ptr(_) => dst.add_ptr(void).unwrap(),
            TypeKind::Int { .. } | TypeKind::Float { .. } | TypeKind::Fwd { .. } => {
                dst.add_type(name, t.kind).unwrap()
            }
            TypeKind::Void => unreachable!("void is only id 0"),
            // Every other kind refers to types: void for now, patched below.
            _ => dst
                .add_int("placeholder", 4, IntEncoding::SIGNED, 32)
                .unwrap(),
        };
        ids[idx(id)] = Some(new);
    }
    // Structs after the structs they embed (C forbids cycles of embedding).
    let composites: Vec<TypeId> = src
        .own_types()
        .filter(|(_, t)| t.kind.is_composite())
        .map(|(id, _)| id)
        .collect();
    let mut stack: Vec<(TypeId, bool)> = composites.iter().rev().map(|&c| (c, false)).collect();
    while let Some((id, expanded)) = stack.pop() {
        if ids[idx(id)].is_some() {
            continue;
        }
        if !expanded {
            stack.push((id, true));
            for m in src.members(id).iter().rev() {
                if ids[idx(m.ty)].is_none() {
                    stack.push((m.ty, false));
                }
            }
            continue;
        }
        let t = src.ty(id);
        let names: Vec<String> = src
            .members(id)
            .iter()
            .map(|m| src.str(m.name).unwrap().to_string())
            .collect();
        let members: Vec<NewMember<'_>> = src
            .members(id)
            .iter()
            .zip(&names)
            .map(|(m, n)| NewMember {
                name: n,
                ty: ids[idx(m.ty)].expect("member type added"),
                bit_offset: m.bit_offset,
                bitfield_size: m.bitfield_size,
            })
            .collect();
        let (size, union) = match t.kind {
            TypeKind::Struct { size, .. } => (size, false),
            TypeKind::Union { size, .. } => (size, true),
            _ => unreachable!(),
        };
        let name = src.name(id).unwrap();
        let new = if union {
            dst.add_union(name, size, &members).unwrap()
        } else {
            dst.add_struct(name, size, &members).unwrap()
        };
        ids[idx(id)] = Some(new);
    }
    let ids: Vec<TypeId> = ids.into_iter().map(|i| i.unwrap()).collect();
    let r = |id: TypeId| ids[idx(id)];
    // Patch every reference, and every field the builder chose itself.
    for (id, t) in src.own_types().skip(1) {
        let new = r(id);
        let items_of = |dst: &Btf| dst.ty(new).kind;
        let kind = match (t.kind, items_of(dst)) {
            (TypeKind::Ptr(x), _) => TypeKind::Ptr(r(x)),
            (TypeKind::Typedef(x), _) => TypeKind::Typedef(r(x)),
            (TypeKind::Volatile(x), _) => TypeKind::Volatile(r(x)),
            (TypeKind::Const(x), _) => TypeKind::Const(r(x)),
            (TypeKind::Restrict(x), _) => TypeKind::Restrict(r(x)),
            (TypeKind::TypeTag { ty, attribute }, _) => TypeKind::TypeTag {
                ty: r(ty),
                attribute,
            },
            (TypeKind::Func { proto, linkage }, _) => TypeKind::Func {
                proto: r(proto),
                linkage,
            },
            (TypeKind::Var { ty, linkage }, _) => TypeKind::Var { ty: r(ty), linkage },
            (
                TypeKind::DeclTag {
                    ty,
                    component_idx,
                    attribute,
                },
                _,
            ) => TypeKind::DeclTag {
                ty: r(ty),
                component_idx,
                attribute,
            },
            (TypeKind::Array { elem, index, len }, _) => TypeKind::Array {
                elem: r(elem),
                index: r(index),
                len,
            },
            (TypeKind::FuncProto { ret, .. }, TypeKind::FuncProto { params, .. }) => {
                let types: Vec<TypeId> = src.params(id).iter().map(|p| r(p.ty)).collect();
                for (p, ty) in dst.params_mut(new).unwrap().iter_mut().zip(types) {
                    p.ty = ty;
                }
                TypeKind::FuncProto {
                    ret: r(ret),
                    params,
                }
            }
            (TypeKind::Datasec { .. }, k) => {
                let types: Vec<TypeId> = src.datasec_vars(id).iter().map(|v| r(v.ty)).collect();
                for (v, ty) in dst.datasec_vars_mut(new).unwrap().iter_mut().zip(types) {
                    v.ty = ty;
                }
                k
            }
            (
                TypeKind::Struct {
                    bitfield_encoding, ..
                },
                TypeKind::Struct { size, members, .. },
            ) => TypeKind::Struct {
                size,
                members,
                bitfield_encoding,
            },
            (
                TypeKind::Union {
                    bitfield_encoding, ..
                },
                TypeKind::Union { size, members, .. },
            ) => TypeKind::Union {
                size,
                members,
                bitfield_encoding,
            },
            // The builder picks ENUM or ENUM64 by the values; keep the original kind.
            (
                TypeKind::Enum64 { .. },
                TypeKind::Enum {
                    size,
                    values,
                    signed,
                },
            )
            | (
                TypeKind::Enum64 { .. },
                TypeKind::Enum64 {
                    size,
                    values,
                    signed,
                },
            ) => TypeKind::Enum64 {
                size,
                values,
                signed,
            },
            (TypeKind::Enum { .. }, k) => k,
            (k, _) => k,
        };
        let name = dst.add_str(src.name(id).unwrap()).unwrap();
        let mut ty = dst.ty_mut(new).unwrap();
        ty.kind = kind;
        ty.name = name;
    }
    ids
}

/// `a` followed by a copy of `b` (both base BTF): the copy's ids, by `b` id.
fn concat(a: &Btf, b: &Btf) -> (Btf, Vec<TypeId>) {
    let mut out = a.clone();
    let ids = append(&mut out, b);
    (out, ids)
}

/// The bpftool-style text of every type, one entry per type.
fn dump(btf: &Btf) -> Vec<String> {
    btf.own_types()
        .map(|(id, _)| btf.display_type(id).to_string())
        .collect()
}

/// A type's text without its leading `[id] `.
fn strip_id(text: &str) -> &str {
    text.split_once("] ").map_or(text, |(_, rest)| rest)
}

/// Checks what every dedup result must satisfy and returns the result.
fn check_dedup(what: &str, btf: &Btf) -> Deduped {
    let d = dedup(btf).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(d.map.len(), btf.n_types() as usize, "{what}: map length");
    assert!(d.btf.n_types() <= btf.n_types(), "{what}: more types");
    assert_eq!(d.btf.wire_id(d.map[0]).0, 0, "{what}: void moved");
    for (old, _) in btf.own_types() {
        let new = d.new_id(old).unwrap();
        let (ot, nt) = (btf.ty(old), d.btf.get(new).expect("map points at a type"));
        let (ok, nk) = (ot.kind.kind(), nt.kind.kind());
        let fwd_resolved = ok == Kind::Fwd && matches!(nk, Kind::Struct | Kind::Union);
        let enum_fwd = matches!(ok, Kind::Enum | Kind::Enum64)
            && matches!(nk, Kind::Enum | Kind::Enum64)
            && btf.enum_values(old).is_empty();
        assert!(
            ok == nk || fwd_resolved || enum_fwd,
            "{what}: [{}] {ok} became {nk}",
            btf.wire_id(old).0
        );
        assert_eq!(
            btf.name(old).unwrap(),
            d.btf.name(new).unwrap(),
            "{what}: [{}] renamed",
            btf.wire_id(old).0
        );
    }
    let bytes = d.btf.to_bytes();
    let again = Btf::parse(&bytes).unwrap_or_else(|e| panic!("{what}: reparse: {e}"));
    assert_eq!(again, d.btf, "{what}: parse(to_bytes(dedup)) differs");
    d
}

fn corpus_btf(name: &str) -> Option<(Vec<u8>, Btf)> {
    let dir = common::corpus_dir()?;
    let bytes = std::fs::read(dir.join("cilium/testdata").join(name)).unwrap();
    let btf = {
        let elf = ElfObject::parse(&bytes).unwrap();
        Btf::parse(elf.section(".BTF").unwrap().data).unwrap()
    };
    Some((bytes, btf))
}

#[test]
fn btf_concatenated_with_itself_dedups_to_itself() {
    let mut inputs: Vec<(String, Btf)> = Vec::new();
    for (path, data) in common::all_objects() {
        let elf = ElfObject::parse(&data).unwrap();
        if let Some(s) = elf.section(".BTF") {
            inputs.push((path.display().to_string(), Btf::parse(s.data).unwrap()));
        }
    }
    let mut n_types = 0;
    for (what, btf) in &inputs {
        // Objects are not always deduplicated (clang emits one FUNC_PROTO per function):
        // start from the fixed point.
        let base = check_dedup(what, btf).btf;
        let fixed = check_dedup(what, &base);
        assert_eq!(fixed.btf, base, "{what}: dedup is not idempotent");
        let (twice, second) = concat(&base, &base);
        assert_eq!(twice.n_types(), 2 * base.n_types() - 1);
        let d = check_dedup(&format!("{what} twice"), &twice);
        // DATASECs are never merged: the second copy's stay, after every other type.
        let datasecs: Vec<TypeId> = base
            .own_types()
            .filter(|(_, t)| t.kind.kind() == Kind::Datasec)
            .map(|(id, _)| id)
            .collect();
        let n_datasecs = datasecs.len() as u32;
        assert_eq!(
            d.btf.n_types(),
            base.n_types() + n_datasecs,
            "{what}: type count"
        );
        for (id, t) in base.own_types() {
            assert_eq!(d.new_id(id), Some(id), "{what}: first half moved");
            let copy = d.new_id(second[base.wire_id(id).0 as usize]).unwrap();
            if t.kind.kind() == Kind::Datasec {
                let nth = datasecs.iter().position(|&x| x == id).unwrap() as u32;
                assert_eq!(d.btf.wire_id(copy).0, base.n_types() + nth);
                let text = |b: &Btf, id| strip_id(&b.display_type(id).to_string()).to_string();
                assert_eq!(text(&d.btf, copy), text(&base, id), "{what}: datasec copy");
            } else {
                assert_eq!(copy, id, "{what}: second half not merged");
            }
        }
        let mut text = dump(&d.btf);
        text.truncate(base.n_types() as usize);
        assert_eq!(text, dump(&base), "{what}: types differ");
        n_types += base.n_types();
    }
    eprintln!(
        "{} object BTFs ({n_types} types) concatenated with themselves dedup back",
        inputs.len()
    );
    assert!(inputs.len() >= 14);
}

/// (kind, name) → count, for every type but DATASECs and void.
fn kinds_and_names(btf: &Btf) -> BTreeMap<(String, String), i64> {
    let mut out = BTreeMap::new();
    for (id, t) in btf.own_types().skip(1) {
        if t.kind.kind() == Kind::Datasec {
            continue;
        }
        *out.entry((t.kind.kind().to_string(), btf.name(id).unwrap().to_string()))
            .or_default() += 1;
    }
    out
}

#[test]
fn linked1_and_linked2_dedup_like_libbpf() {
    let (Some((_, one)), Some((_, two)), Some((_, linked))) = (
        corpus_btf("linked1-el.elf"),
        corpus_btf("linked2-el.elf"),
        corpus_btf("linked-el.elf"),
    ) else {
        return;
    };
    let (both, _) = concat(&one, &two);
    let d = check_dedup("linked1+linked2", &both);
    for name in ["int", "unsigned int", "h32_btf", "bpf_map_def", "uint32_t"] {
        assert_eq!(d.btf.types_by_name(name).count(), 1, "{name}");
    }
    let ours = kinds_and_names(&d.btf);
    let theirs = kinds_and_names(&linked);
    let mut diff: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (k, n) in &ours {
        *diff.entry(k.clone()).or_default() += n;
    }
    for (k, n) in &theirs {
        *diff.entry(k.clone()).or_default() -= n;
    }
    diff.retain(|_, n| *n != 0);
    eprintln!(
        "linked1+linked2: {} types before dedup, {} after; libbpf's linker: {}",
        both.n_types(),
        d.btf.n_types(),
        linked.n_types()
    );
    for ((kind, name), n) in &diff {
        eprintln!("  {kind} '{name}': {n:+} against linked-el.elf");
    }
    // The linker resolves each extern function against its definition before it dedups:
    // `l1` and `l2` are extern in one object and global in the other, so dedup alone keeps
    // both FUNCs. Nothing else may differ.
    let expected: BTreeMap<(String, String), i64> = [
        (("FUNC".to_string(), "l1".to_string()), 1),
        (("FUNC".to_string(), "l2".to_string()), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(diff, expected);

    // Resolving the externs first, as the linker does, leaves no difference at all.
    let (mut one, mut two) = (one, two);
    resolve_extern_funcs(&mut one, &two);
    resolve_extern_funcs(&mut two, &one);
    let (both, _) = concat(&one, &two);
    let d = check_dedup("linked1+linked2 resolved", &both);
    assert_eq!(kinds_and_names(&d.btf), theirs);
    // Only the DATASECs (never merged; the linker concatenates them) are extra.
    assert_eq!(d.btf.n_types(), linked.n_types() + 2);
}

/// What a linker does before it dedups: an extern FUNC of `btf` defined (global) in `other`
/// becomes a global FUNC. Returns how many changed.
fn resolve_extern_funcs(btf: &mut Btf, other: &Btf) -> usize {
    let externs: Vec<TypeId> = btf
        .own_types()
        .filter(|(_, t)| {
            matches!(
                t.kind,
                TypeKind::Func {
                    linkage: Linkage::Extern,
                    ..
                }
            )
        })
        .map(|(id, _)| id)
        .filter(|&id| {
            other.types_by_name(btf.name(id).unwrap()).any(|o| {
                matches!(
                    other.ty(o).kind,
                    TypeKind::Func {
                        linkage: Linkage::Global,
                        ..
                    }
                )
            })
        })
        .collect();
    for &id in &externs {
        if let TypeKind::Func { linkage, .. } = &mut btf.ty_mut(id).unwrap().kind {
            *linkage = Linkage::Global;
        }
    }
    externs.len()
}

#[test]
fn forward_declarations_resolve_to_the_unique_definition() {
    // First half: `struct task` only declared, used through a pointer.
    let mut a = Btf::new(Endian::Little);
    let int = a.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    let fwd = a.add_type("task", TypeKind::Fwd { union: false }).unwrap();
    let ptr = a.add_ptr(fwd).unwrap();
    let proto = a.add_func_proto(int, &[("t", ptr)]).unwrap();
    a.add_func("use_task", proto, Linkage::Global).unwrap();
    // A union forward of the same name stays: there is no union `task`.
    a.add_type("task", TypeKind::Fwd { union: true }).unwrap();

    // Second half: `struct task` defined (self-referencing through a pointer).
    let mut b = Btf::new(Endian::Little);
    let int_b = b.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    let fwd_b = b.add_type("task", TypeKind::Fwd { union: false }).unwrap();
    let next = b.add_ptr(fwd_b).unwrap();
    let def = b
        .add_struct(
            "task",
            16,
            &[
                NewMember::new("pid", int_b, 0),
                NewMember::new("next", next, 64),
            ],
        )
        .unwrap();
    // Make the pointer point at the definition, as clang does.
    b.ty_mut(next).unwrap().kind = TypeKind::Ptr(def);

    let (both, second) = concat(&a, &b);
    let d = check_dedup("fwd + definition", &both);
    let def_new = d.new_id(second[b.wire_id(def).0 as usize]).unwrap();
    assert_eq!(
        d.new_id(fwd),
        Some(def_new),
        "fwd resolves to the definition"
    );
    assert_eq!(d.btf.ty(def_new).kind.kind(), Kind::Struct);
    // The two `struct task *` and the two ints merge.
    assert_eq!(d.new_id(ptr), d.new_id(second[b.wire_id(next).0 as usize]));
    assert_eq!(d.new_id(int), d.new_id(second[b.wire_id(int_b).0 as usize]));
    let kinds = kinds_and_names(&d.btf);
    assert_eq!(
        kinds[&("FWD".into(), "task".into())],
        1,
        "the union fwd stays"
    );
    assert_eq!(kinds[&("STRUCT".into(), "task".into())], 1);
    assert_eq!(kinds[&("PTR".into(), "".into())], 1);

    // Two different definitions of `task`: both stay, and so does the forward declaration.
    let mut c = Btf::new(Endian::Little);
    let long = c.add_int("long", 8, IntEncoding::SIGNED, 64).unwrap();
    let other = c
        .add_struct("task", 8, &[NewMember::new("weight", long, 0)])
        .unwrap();
    let (ab, _) = concat(&a, &b);
    let (abc, third) = concat(&ab, &c);
    let d = check_dedup("fwd + two definitions", &abc);
    let kinds = kinds_and_names(&d.btf);
    assert_eq!(kinds[&("STRUCT".into(), "task".into())], 2);
    assert_eq!(kinds[&("FWD".into(), "task".into())], 2, "{kinds:?}");
    assert_eq!(d.btf.ty(d.new_id(fwd).unwrap()).kind.kind(), Kind::Fwd);
    assert_ne!(d.new_id(third[c.wire_id(other).0 as usize]), Some(def_new));

    // Two different definitions and a struct whose graph holds the forward: the walk
    // resolves it by structure even though the name alone is ambiguous, as libbpf does.
    let mut e = Btf::new(Endian::Little);
    let int_e = e.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    let fwd_e = e.add_type("task", TypeKind::Fwd { union: false }).unwrap();
    let ptr_e = e.add_ptr(fwd_e).unwrap();
    e.add_struct(
        "holder",
        16,
        &[
            NewMember::new("n", int_e, 0),
            NewMember::new("t", ptr_e, 64),
        ],
    )
    .unwrap();
    let mut f = Btf::new(Endian::Little);
    let int_f = f.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    let fwd_f = f.add_type("task", TypeKind::Fwd { union: false }).unwrap();
    let ptr_f = f.add_ptr(fwd_f).unwrap();
    let def_f = f
        .add_struct(
            "task",
            16,
            &[
                NewMember::new("pid", int_f, 0),
                NewMember::new("next", ptr_f, 64),
            ],
        )
        .unwrap();
    f.ty_mut(ptr_f).unwrap().kind = TypeKind::Ptr(def_f);
    f.add_struct(
        "holder",
        16,
        &[
            NewMember::new("n", int_f, 0),
            NewMember::new("t", ptr_f, 64),
        ],
    )
    .unwrap();
    let (ef, second) = concat(&e, &f);
    let (efc, _) = concat(&ef, &c);
    let d = check_dedup("holder graphs", &efc);
    assert_eq!(
        d.new_id(fwd_e),
        d.new_id(second[f.wire_id(def_f).0 as usize]),
        "the walk over `holder` resolved the forward"
    );
    assert_eq!(d.btf.types_by_name("holder").count(), 1);
}

#[test]
fn every_object_btf_dedups_alone() {
    let mut n = 0;
    let (mut before, mut after) = (0, 0);
    for (path, data) in common::all_objects() {
        let elf = ElfObject::parse(&data).unwrap();
        let Some(s) = elf.section(".BTF") else {
            continue;
        };
        let what = path.display().to_string();
        let btf = Btf::parse(s.data).unwrap();
        let d = check_dedup(&what, &btf);
        before += btf.n_types();
        after += d.btf.n_types();
        n += 1;
    }
    eprintln!("{n} object BTFs dedup alone: {before} types before, {after} after");
    assert!(n >= 14);
}

#[test]
fn vmlinux_is_nearly_a_fixed_point() {
    let Some(raw) = common::corpus_vmlinux() else {
        return;
    };
    let btf = Btf::parse(&raw).unwrap();
    let t = Instant::now();
    let d = dedup(&btf).unwrap();
    let took = t.elapsed();
    eprintln!(
        "vmlinux: {} types before dedup, {} after, in {took:?}",
        btf.n_types(),
        d.btf.n_types()
    );
    // Kernel BTF is deduplicated by pahole already; a few types may still merge.
    assert!(d.btf.n_types() <= btf.n_types());
    assert!(
        d.btf.n_types() * 1000 >= btf.n_types() * 999,
        "more than 0.1% of vmlinux merged"
    );
    let d = check_dedup("vmlinux", &btf);
    let again = dedup(&d.btf).unwrap();
    assert_eq!(again.btf, d.btf, "dedup of vmlinux is not idempotent");
}

/// Two copies of vmlinux (what a link of two objects built from a full `vmlinux.h` holds)
/// dedup to one, within dedup's work budget: the budget bounds malicious input and never
/// the real thing.
#[test]
fn vmlinux_twice_dedups_to_vmlinux_within_budget() {
    let Some(raw) = common::corpus_vmlinux() else {
        eprintln!("corpus vmlinux not found; skipping");
        return;
    };
    let btf = Btf::parse(&raw).unwrap();
    let once = dedup(&btf).unwrap();
    let (twice, _) = concat(&btf, &btf);
    let d = dedup(&twice).unwrap();
    assert!(!d.budget_exhausted, "dedup ran out of budget on real BTF");
    // DATASECs are never merged: the second copy keeps its own.
    let datasecs = btf
        .own_types()
        .filter(|(_, t)| t.kind.kind() == Kind::Datasec)
        .count() as u32;
    assert_eq!(d.btf.n_types(), once.btf.n_types() + datasecs);
}

/// What loaders do to clang's BTF before `BPF_BTF_LOAD` (see `tests/kernel_btf.rs`): each
/// DATASEC gets its ELF section's size, each global variable its symbol's offset.
#[cfg(all(feature = "kernel", target_os = "linux"))]
fn fix_datasecs(btf: &mut Btf, obj: &[u8]) {
    use object::{Object, ObjectSymbol};
    let elf = ElfObject::parse(obj).unwrap();
    let symbols = object::File::parse(obj).unwrap();
    let secs: Vec<(TypeId, String)> = btf
        .own_types()
        .filter(|(_, t)| t.kind.kind() == Kind::Datasec)
        .map(|(id, _)| (id, btf.name(id).unwrap().to_string()))
        .collect();
    for (id, name) in secs {
        let section = elf.section(&name).unwrap();
        btf.set_datasec_size(id, u32::try_from(section.size).unwrap())
            .unwrap();
        let names: Vec<String> = btf
            .datasec_vars(id)
            .iter()
            .map(|v| btf.name(v.ty).unwrap().to_string())
            .collect();
        for (var, var_name) in btf.datasec_vars_mut(id).unwrap().iter_mut().zip(&names) {
            let sym = symbols
                .symbols()
                .find(|s| {
                    s.name() == Ok(var_name.as_str())
                        && s.section_index().map(|i| i.0) == Some(section.index)
                })
                .unwrap_or_else(|| panic!("no symbol {var_name} in {name}"));
            var.offset = u32::try_from(sym.address()).unwrap();
        }
    }
}

#[cfg(all(feature = "kernel", target_os = "linux"))]
#[path = "common/kernel.rs"]
mod kernel;

#[cfg(all(feature = "kernel", target_os = "linux"))]
#[test]
fn deduped_linked_btf_loads_in_the_kernel() {
    if !kernel::kernel_available("deduped_linked_btf_loads_in_the_kernel") {
        return;
    }
    let (Some((obj1, mut one)), Some((obj2, mut two))) =
        (corpus_btf("linked1-el.elf"), corpus_btf("linked2-el.elf"))
    else {
        return;
    };
    fix_datasecs(&mut one, &obj1);
    fix_datasecs(&mut two, &obj2);
    // The kernel refuses extern FUNCs ("Invalid func linkage"): resolve them as a linker
    // does.
    let other = two.clone();
    assert_eq!(resolve_extern_funcs(&mut one, &other), 1);
    let other = one.clone();
    assert_eq!(resolve_extern_funcs(&mut two, &other), 1);
    let (both, _) = concat(&one, &two);
    let d = check_dedup("linked1+linked2 fixed", &both);
    let blob = d.btf.to_bytes();
    if let Err(err) = bpfir::sys::load_btf(&blob, bpfir::sys::LogLevel::Basic) {
        panic!("kernel refused the deduped btf: {err}\n{}", err.log());
    }
    eprintln!(
        "deduped linked1+linked2 ({} types) loads in the kernel",
        d.btf.n_types()
    );
}
