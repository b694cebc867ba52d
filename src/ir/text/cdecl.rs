//! C names of BTF types and CO-RE field paths, as the text form prints them in comments:
//! `struct task_struct *`, `int (*cb)(void *)`, `struct core_outer::inner.arr[2]`.
//!
//! Invariants: nothing here panics on bad BTF (a bad id prints `<bad type N>`, a reference
//! cycle stops at a depth limit). Cost: one walk of the referenced types per call; strings
//! are allocated per call, so this is for printing, not hot paths.

use std::fmt::Write as _;

use crate::btf::{Btf, TypeId, TypeKind};
use crate::ir::CoreRelo;

/// How deep the C type printer follows references before it gives up (cycles in bad BTF).
const MAX_TYPE_DEPTH: u32 = 32;

/// The name of `ty` as C writes it in a declaration of `inner` (empty for a bare type name):
/// `int`, `struct task_struct *`, `const char *name`, `int (*cb)(void *)`, `short arr[4]`.
///
/// ```
/// use bpfir::btf::{Btf, IntEncoding};
/// let mut btf = Btf::new(bpfir::Endian::Little);
/// let int = btf.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
/// let p = btf.add_ptr(int).unwrap();
/// assert_eq!(bpfir::ir::text::c_decl(&btf, p, "x"), "int *x");
/// ```
pub fn c_decl(btf: &Btf, ty: TypeId, inner: &str) -> String {
    decl(btf, ty, inner.to_string(), 0)
}

/// `base` followed by the declarator `inner`, separated by a space when there is one.
fn join(base: &str, inner: &str) -> String {
    if inner.is_empty() {
        base.to_string()
    } else if inner.starts_with('[') {
        // A bare array type: `char[16]`.
        format!("{base}{inner}")
    } else {
        format!("{base} {inner}")
    }
}

/// `struct foo`, or `struct {...}` for an anonymous one.
fn tagged(tag: &str, name: &str) -> String {
    if name.is_empty() {
        format!("{tag} {{...}}")
    } else {
        format!("{tag} {name}")
    }
}

/// Skips type tags, which C declarations do not show.
fn skip_tags(btf: &Btf, mut ty: TypeId) -> TypeId {
    for _ in 0..MAX_TYPE_DEPTH {
        match btf.get(ty).map(|t| t.kind) {
            Some(TypeKind::TypeTag { ty: t, .. }) => ty = t,
            _ => break,
        }
    }
    ty
}

fn decl(btf: &Btf, ty: TypeId, inner: String, depth: u32) -> String {
    if depth > MAX_TYPE_DEPTH {
        return join("...", &inner);
    }
    let Some(t) = btf.get(ty) else {
        return join(&format!("<bad type {}>", btf.wire_id(ty).0), &inner);
    };
    let name = btf.str(t.name).unwrap_or("<bad name>");
    let next = depth + 1;
    match t.kind {
        TypeKind::Void => join("void", &inner),
        TypeKind::Int { .. } | TypeKind::Float { .. } | TypeKind::Typedef(_) => join(name, &inner),
        TypeKind::Struct { .. } => join(&tagged("struct", name), &inner),
        TypeKind::Union { .. } => join(&tagged("union", name), &inner),
        TypeKind::Enum { .. } | TypeKind::Enum64 { .. } => join(&tagged("enum", name), &inner),
        TypeKind::Fwd { union } => join(
            &tagged(if union { "union" } else { "struct" }, name),
            &inner,
        ),
        TypeKind::Ptr(target) => {
            let wrap = matches!(
                btf.get(skip_tags(btf, target)).map(|t| t.kind),
                Some(TypeKind::Array { .. } | TypeKind::FuncProto { .. })
            );
            let inner = if wrap {
                format!("(*{inner})")
            } else {
                format!("*{inner}")
            };
            decl(btf, target, inner, next)
        }
        TypeKind::Const(target) | TypeKind::Volatile(target) | TypeKind::Restrict(target) => {
            let q = match t.kind {
                TypeKind::Const(_) => "const",
                TypeKind::Volatile(_) => "volatile",
                _ => "restrict",
            };
            // A qualified pointer qualifies the pointer itself: `int *const p`.
            if matches!(
                btf.get(skip_tags(btf, target)).map(|t| t.kind),
                Some(TypeKind::Ptr(_))
            ) {
                decl(btf, target, join(q, &inner), next)
            } else {
                format!("{q} {}", decl(btf, target, inner, next))
            }
        }
        TypeKind::TypeTag { ty, .. } | TypeKind::DeclTag { ty, .. } => decl(btf, ty, inner, next),
        TypeKind::Array { elem, len, .. } => decl(btf, elem, format!("{inner}[{len}]"), next),
        TypeKind::FuncProto { ret, .. } => {
            let params = btf.params(ty);
            let mut list = String::new();
            for (i, p) in params.iter().enumerate() {
                if i > 0 {
                    list.push_str(", ");
                }
                let is_void = matches!(btf.get(p.ty).map(|t| t.kind), Some(TypeKind::Void));
                if is_void && i + 1 == params.len() {
                    list.push_str("...");
                } else {
                    let pname = btf.str(p.name).unwrap_or("");
                    list.push_str(&decl(btf, p.ty, pname.to_string(), next));
                }
            }
            if params.is_empty() {
                list.push_str("void");
            }
            decl(btf, ret, format!("{inner}({list})"), next)
        }
        TypeKind::Func { proto, .. } | TypeKind::Var { ty: proto, .. } => {
            let inner = if inner.is_empty() {
                name.to_string()
            } else {
                inner
            };
            decl(btf, proto, inner, next)
        }
        TypeKind::Datasec { .. } => join(&format!("SEC(\"{name}\")"), &inner),
    }
}

/// The access of a CO-RE relocation as a path through the local BTF: `struct s::a.b[2]`
/// for field kinds, `type struct s` for type kinds, `enum e::VALUE` for enumerator kinds.
/// The error says why the access does not fit the type.
///
/// ```
/// use bpfir::btf::{Btf, IntEncoding, NewMember, StrOffset};
/// use bpfir::btf_ext::{CoreAccess, CoreReloKind};
/// use bpfir::ir::CoreRelo;
/// let mut btf = Btf::new(bpfir::Endian::Little);
/// let int = btf.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
/// let s = btf.add_struct("s", 8, &[NewMember::new("a", int, 0), NewMember::new("b", int, 32)]).unwrap();
/// let relo = CoreRelo { ty: s, access_str: StrOffset(0), access: CoreAccess::parse("0:1").unwrap(),
///                       kind: CoreReloKind::FieldByteOffset };
/// assert_eq!(bpfir::ir::text::core_path(&btf, &relo).unwrap(), "struct s::b");
/// ```
pub fn core_path(btf: &Btf, relo: &CoreRelo) -> Result<String, String> {
    let root = c_decl(btf, relo.ty, "");
    if relo.kind.is_type_based() {
        return Ok(format!("type {root}"));
    }
    let resolved = btf.resolve(relo.ty).map_err(|e| e.to_string())?;
    if relo.kind.is_enumval_based() {
        let index = relo.access.base_index();
        return match btf.kind_of(resolved).map_err(|e| e.to_string())? {
            TypeKind::Enum { .. } | TypeKind::Enum64 { .. } => {
                let value = usize::try_from(index)
                    .ok()
                    .and_then(|i| btf.enum_values(resolved).get(i))
                    .ok_or_else(|| format!("no enumerator {index}"))?;
                let name = btf.str(value.name).map_err(|e| e.to_string())?;
                Ok(format!("{root}::{name}"))
            }
            k => Err(format!("{} is not an enum", k.kind())),
        };
    }
    let mut out = root;
    let base = relo.access.base_index();
    if base != 0 {
        write!(out, "[{base}]").map_err(|e| e.to_string())?;
    }
    let mut cur = resolved;
    let mut after_member = false;
    for &index in relo.access.accessors() {
        match btf.kind_of(cur).map_err(|e| e.to_string())? {
            TypeKind::Struct { .. } | TypeKind::Union { .. } => {
                let member = usize::try_from(index)
                    .ok()
                    .and_then(|i| btf.members(cur).get(i))
                    .ok_or_else(|| format!("no member {index}"))?;
                let name = match btf.str(member.name).map_err(|e| e.to_string())? {
                    "" => "(anon)",
                    n => n,
                };
                out.push_str(if after_member { "." } else { "::" });
                out.push_str(name);
                after_member = true;
                cur = btf.resolve(member.ty).map_err(|e| e.to_string())?;
            }
            TypeKind::Array { elem, .. } => {
                // No bound check: libbpf allows indexing past a flexible array's zero length.
                write!(out, "[{index}]").map_err(|e| e.to_string())?;
                cur = btf.resolve(elem).map_err(|e| e.to_string())?;
            }
            ref k => return Err(format!("index {index} into a {}", k.kind())),
        }
    }
    Ok(out)
}

/// The `// CO-RE` note of a relocation: the field path, or the raw access when it does not
/// resolve.
pub(crate) fn core_note(btf: Option<&Btf>, relo: &CoreRelo) -> String {
    let kind = relo.kind;
    match btf {
        Some(btf) => match core_path(btf, relo) {
            Ok(path) => format!("CO-RE {kind} {path}"),
            Err(why) => format!(
                "CO-RE {kind} {} access {} ({why})",
                c_decl(btf, relo.ty, ""),
                relo.access
            ),
        },
        None => format!("CO-RE {kind} access {}", relo.access),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::{IntEncoding, Linkage, NewMember};
    use crate::btf_ext::{CoreAccess, CoreReloKind};
    use crate::Endian;

    /// Types every test uses: `int`, `char`, `unsigned int` and their derived types.
    struct Types {
        btf: Btf,
        int: TypeId,
        char_: TypeId,
        uint: TypeId,
    }

    fn types() -> Types {
        let mut btf = Btf::new(Endian::Little);
        let int = btf.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
        let char_ = btf.add_int("char", 1, IntEncoding::CHAR, 8).unwrap();
        let uint = btf
            .add_int("unsigned int", 4, IntEncoding::UNSIGNED, 32)
            .unwrap();
        Types {
            btf,
            int,
            char_,
            uint,
        }
    }

    fn void() -> TypeId {
        Btf::new(Endian::Little).own_types().next().unwrap().0
    }

    #[test]
    fn c_names_of_scalars_pointers_and_qualifiers() {
        let Types {
            mut btf,
            int,
            char_,
            uint,
        } = types();
        let cchar = btf.add_type("", TypeKind::Const(char_)).unwrap();
        let p_cchar = btf.add_ptr(cchar).unwrap();
        let p_int = btf.add_ptr(int).unwrap();
        let const_p_int = btf.add_type("", TypeKind::Const(p_int)).unwrap();
        let p_char = btf.add_ptr(char_).unwrap();
        let pp_char = btf.add_ptr(p_char).unwrap();
        let vol_uint = btf.add_type("", TypeKind::Volatile(uint)).unwrap();
        let u32_ = btf.add_typedef("__u32", uint).unwrap();
        let p_void = btf.add_ptr(void()).unwrap();
        let tagged = btf
            .add_type(
                "user",
                TypeKind::TypeTag {
                    ty: int,
                    attribute: false,
                },
            )
            .unwrap();
        let p_tagged = btf.add_ptr(tagged).unwrap();

        assert_eq!(c_decl(&btf, int, ""), "int");
        assert_eq!(c_decl(&btf, int, "x"), "int x");
        assert_eq!(c_decl(&btf, p_cchar, "name"), "const char *name");
        assert_eq!(c_decl(&btf, p_cchar, ""), "const char *");
        assert_eq!(c_decl(&btf, const_p_int, "p"), "int *const p");
        assert_eq!(c_decl(&btf, pp_char, "argv"), "char **argv");
        assert_eq!(c_decl(&btf, vol_uint, "flag"), "volatile unsigned int flag");
        assert_eq!(c_decl(&btf, u32_, "n"), "__u32 n");
        assert_eq!(c_decl(&btf, p_void, "ctx"), "void *ctx");
        assert_eq!(c_decl(&btf, p_tagged, "up"), "int *up");
    }

    #[test]
    fn c_names_of_aggregates_arrays_and_functions() {
        let Types {
            mut btf,
            int,
            char_,
            ..
        } = types();
        let s = btf
            .add_struct(
                "point",
                8,
                &[NewMember::new("x", int, 0), NewMember::new("y", int, 32)],
            )
            .unwrap();
        let anon = btf
            .add_struct("", 4, &[NewMember::new("a", int, 0)])
            .unwrap();
        let u = btf
            .add_union("val", 4, &[NewMember::new("i", int, 0)])
            .unwrap();
        let e = btf.add_enum("color", 4, false, &[("RED", 1)]).unwrap();
        let fwd = btf
            .add_type("sock", TypeKind::Fwd { union: false })
            .unwrap();
        let p_s = btf.add_ptr(s).unwrap();
        let arr = btf.add_array(char_, int, 16).unwrap();
        let arr2 = btf.add_array(arr, int, 4).unwrap();
        let p_arr = btf.add_ptr(arr).unwrap();
        let proto = btf.add_func_proto(int, &[("p", p_s), ("n", int)]).unwrap();
        let p_proto = btf.add_ptr(proto).unwrap();
        let vproto = btf.add_func_proto(void(), &[]).unwrap();
        let variadic = btf
            .add_func_proto(int, &[("fmt", p_s), ("", void())])
            .unwrap();
        let func = btf.add_func("check", proto, Linkage::Global).unwrap();
        let vfunc = btf.add_func("nothing", vproto, Linkage::Static).unwrap();
        let var = btf.add_var("counter", int, Linkage::Global).unwrap();

        assert_eq!(c_decl(&btf, s, ""), "struct point");
        assert_eq!(c_decl(&btf, anon, "a"), "struct {...} a");
        assert_eq!(c_decl(&btf, u, "v"), "union val v");
        assert_eq!(c_decl(&btf, e, "c"), "enum color c");
        assert_eq!(c_decl(&btf, fwd, "sk"), "struct sock sk");
        assert_eq!(c_decl(&btf, p_s, "skb"), "struct point *skb");
        assert_eq!(c_decl(&btf, arr, "comm"), "char comm[16]");
        assert_eq!(c_decl(&btf, arr2, "m"), "char m[4][16]");
        assert_eq!(c_decl(&btf, arr2, ""), "char[4][16]");
        assert_eq!(c_decl(&btf, p_arr, "pa"), "char (*pa)[16]");
        assert_eq!(
            c_decl(&btf, p_proto, "cb"),
            "int (*cb)(struct point *p, int n)"
        );
        assert_eq!(c_decl(&btf, variadic, "f"), "int f(struct point *fmt, ...)");
        assert_eq!(c_decl(&btf, func, ""), "int check(struct point *p, int n)");
        assert_eq!(c_decl(&btf, vfunc, ""), "void nothing(void)");
        assert_eq!(c_decl(&btf, var, ""), "int counter");
    }

    #[test]
    fn c_names_never_panic_on_bad_types() {
        let Types { mut btf, int, .. } = types();
        // A typedef cycle cannot be built through the checked API, so build a long chain
        // and check that the depth limit cuts it.
        let mut t = int;
        for _ in 0..(MAX_TYPE_DEPTH + 4) {
            t = btf.add_ptr(t).unwrap();
        }
        let text = c_decl(&btf, t, "p");
        assert!(text.starts_with("..."), "{text}");
        let foreign = btf.type_id(crate::btf::WireTypeId(1)).unwrap();
        let small = Btf::new(Endian::Little);
        assert_eq!(c_decl(&small, foreign, "x"), "<bad type 1> x");
    }

    fn relo(ty: TypeId, access: &str, kind: CoreReloKind) -> CoreRelo {
        CoreRelo {
            ty,
            access_str: crate::btf::StrOffset(0),
            access: CoreAccess::parse(access).unwrap(),
            kind,
        }
    }

    /// `struct outer { int first; struct inner in; union { int a; char b; }; }` with
    /// `struct inner { int x; short arr[4][2]; }`, a typedef of it and an enum.
    fn core_btf() -> (Btf, TypeId, TypeId, TypeId) {
        let Types {
            mut btf,
            int,
            char_,
            ..
        } = types();
        let short = btf.add_int("short", 2, IntEncoding::SIGNED, 16).unwrap();
        let row = btf.add_array(short, int, 2).unwrap();
        let arr = btf.add_array(row, int, 4).unwrap();
        let inner = btf
            .add_struct(
                "inner",
                20,
                &[NewMember::new("x", int, 0), NewMember::new("arr", arr, 32)],
            )
            .unwrap();
        let inner_t = btf.add_typedef("inner_t", inner).unwrap();
        let const_inner = btf.add_type("", TypeKind::Const(inner_t)).unwrap();
        let anon = btf
            .add_union(
                "",
                4,
                &[NewMember::new("a", int, 0), NewMember::new("b", char_, 0)],
            )
            .unwrap();
        let outer = btf
            .add_struct(
                "outer",
                28,
                &[
                    NewMember::new("first", int, 0),
                    NewMember::new("in", const_inner, 32),
                    NewMember::new("", anon, 192),
                ],
            )
            .unwrap();
        let outer_t = btf.add_typedef("outer_t", outer).unwrap();
        let e = btf
            .add_enum("e", 4, false, &[("ZERO", 0), ("ONE", 1)])
            .unwrap();
        (btf, outer, outer_t, e)
    }

    #[test]
    fn field_paths_walk_members_and_elements() {
        let (btf, outer, outer_t, _) = core_btf();
        let path = |ty, access| core_path(&btf, &relo(ty, access, CoreReloKind::FieldByteOffset));
        assert_eq!(path(outer, "0").unwrap(), "struct outer");
        assert_eq!(path(outer, "0:0").unwrap(), "struct outer::first");
        assert_eq!(path(outer, "0:1:1:2").unwrap(), "struct outer::in.arr[2]");
        assert_eq!(
            path(outer, "0:1:1:3:1").unwrap(),
            "struct outer::in.arr[3][1]"
        );
        assert_eq!(path(outer, "0:2:1").unwrap(), "struct outer::(anon).b");
        assert_eq!(path(outer, "3:1:0").unwrap(), "struct outer[3]::in.x");
        // Through a typedef at the root, kept in the printed name.
        assert_eq!(path(outer_t, "0:1:0").unwrap(), "outer_t::in.x");
    }

    #[test]
    fn field_paths_report_accesses_that_do_not_fit() {
        let (btf, outer, _, _) = core_btf();
        let path = |access| core_path(&btf, &relo(outer, access, CoreReloKind::FieldExists));
        assert_eq!(path("0:9").unwrap_err(), "no member 9");
        assert_eq!(path("0:0:1").unwrap_err(), "index 1 into a INT");
        let note = core_note(Some(&btf), &relo(outer, "0:9", CoreReloKind::FieldExists));
        assert_eq!(
            note,
            "CO-RE field_exists struct outer access 0:9 (no member 9)"
        );
        let note = core_note(None, &relo(outer, "0:9", CoreReloKind::FieldExists));
        assert_eq!(note, "CO-RE field_exists access 0:9");
    }

    #[test]
    fn type_and_enum_paths() {
        let (btf, outer, outer_t, e) = core_btf();
        let note = |ty, access, kind| core_note(Some(&btf), &relo(ty, access, kind));
        assert_eq!(
            note(outer, "0", CoreReloKind::TypeSize),
            "CO-RE type_size type struct outer"
        );
        assert_eq!(
            note(outer_t, "0", CoreReloKind::TypeIdLocal),
            "CO-RE local_type_id type outer_t"
        );
        assert_eq!(
            note(e, "1", CoreReloKind::EnumvalValue),
            "CO-RE enumval_value enum e::ONE"
        );
        assert_eq!(
            note(e, "2", CoreReloKind::EnumvalExists),
            "CO-RE enumval_exists enum e access 2 (no enumerator 2)"
        );
        assert_eq!(
            note(outer, "0", CoreReloKind::EnumvalExists),
            "CO-RE enumval_exists struct outer access 0 (STRUCT is not an enum)"
        );
    }
}
