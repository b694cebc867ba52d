//! Ids of another module (issue 9: "a `FuncId` taken from another module is accepted and
//! lowers a call to whatever function has that index in this one").
//!
//! In debug builds (plain `cargo test`) every id carries the tag of the module that made it,
//! and every public entry refuses an id of another module even when its index is inside this
//! module's range: edits, `verify`, `lower`, `link`, `write_object`, display and dump. In
//! release builds ids are bare indices and only the range is checked; the last tests pin that
//! documented behaviour down under `cfg(not(debug_assertions))`.

use bpfir::insn::Reg::*;
use bpfir::ir::build::{call, exit, mov64_imm};
use bpfir::ir::{
    AnyEntity, CoreRelo, DataKind, DataSection, FuncId, Function, IrError, MapDef, MapOrigin,
    Module, SourceLine,
};

/// A module with a program `prog` (r0 = 0; exit), a sub-function `sub` (exit), a map, a data
/// section, a line, a CO-RE record and an origin: every kind of entity, each at index 0
/// or 1.
fn module(tag: &str) -> Module {
    let mut m = Module::new(bpfir::Endian::Little);
    m.license = Some("GPL".into());
    let prog = m.add_function(Function::new(format!("prog_{tag}"), "socket", true));
    let sub = m.add_function(Function::new(format!("sub_{tag}"), ".text", false));
    m.append_built(prog, mov64_imm(R0, 0)).unwrap();
    m.append_built(prog, exit()).unwrap();
    m.append_built(sub, mov64_imm(R0, 1)).unwrap();
    m.append_built(sub, exit()).unwrap();
    m.add_map(MapDef {
        map_type: 2,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        ..MapDef::new(format!("map_{tag}"), MapOrigin::Legacy)
    });
    m.add_data(DataSection {
        name: ".data".into(),
        kind: DataKind::Data,
        bytes: vec![0; 8],
        align: 8,
        vars: Vec::new(),
        btf_datasec: None,
    });
    m.add_line(SourceLine {
        file: Default::default(),
        text: Default::default(),
        line: 1,
        col: 1,
    });
    m.add_core_relo(CoreRelo {
        ty: bpfir::btf::TypeId::from_raw(bpfir::btf::RawIdx::from_u32(1)),
        access_str: Default::default(),
        access: bpfir::btf_ext::CoreAccess::parse("0").unwrap(),
        kind: bpfir::btf_ext::CoreReloKind::FieldByteOffset,
    });
    m.add_origin("pass");
    m
}

fn func(m: &Module, prefix: &str) -> FuncId {
    m.functions()
        .find(|(_, f)| f.name.starts_with(prefix))
        .unwrap()
        .0
}

#[cfg(debug_assertions)]
mod debug {
    use super::*;
    use bpfir::insn::{CallKind, Insn};
    use bpfir::ir::build::{ld_data, ld_map};
    use bpfir::ir::{FuncCursor, Meta, MetaChoice, Ref, SymbolLinkage};
    use bpfir::link::{link, LinkOptions};
    use bpfir::lower::{lower, Bindings, LowerError};
    use bpfir::write::write_object;

    /// A local call instruction whose reference is `f`, put in place around the checked edits
    /// (`create_insn` does not check metadata), so the module holds a foreign id.
    fn smuggle_call(m: &mut Module, into: FuncId, f: FuncId) {
        let c = m.create_insn(
            Insn::Call {
                kind: CallKind::Local,
                imm: 0,
                off: 0,
            },
            Meta::new().with_ref(Ref::Call(f)),
        );
        let first = m.function(into).first_insn().unwrap();
        m.attach_before(c, first).unwrap();
    }

    fn foreign(entity: impl Into<AnyEntity>) -> IrError {
        IrError::ForeignEntity {
            entity: entity.into(),
        }
    }

    /// The complaint: a `FuncId` of module B in a `Ref::Call` of module A, where A
    /// has a function at that index, is refused by the edit, and if smuggled in, by
    /// `verify`, `lower`, `write_object` and `link`; display and dump name it, never A's.
    #[test]
    fn a_func_id_of_another_module_in_a_call_is_refused_everywhere() {
        let mut a = module("a");
        let b = module("b");
        let prog = func(&a, "prog");
        let b_sub = func(&b, "sub");
        // Inside a's range: a has a function at that index (its own `sub_a`).
        let a_sub = func(&a, "sub");
        assert_eq!(b_sub.index(), a_sub.index());
        assert_ne!(b_sub, a_sub);

        // The edit API.
        let before = a.text().to_string();
        assert_eq!(a.append_built(prog, call(b_sub)), Err(foreign(b_sub)));
        assert_eq!(
            foreign(b_sub).to_string(),
            format!("{b_sub} belongs to another module")
        );
        assert_eq!(
            a.text().to_string(),
            before,
            "a refused edit changed the module"
        );

        // Smuggled in around the checks.
        smuggle_call(&mut a, prog, b_sub);
        let e = a.verify().unwrap_err();
        assert_eq!(e.0.len(), 1, "{e}");
        assert!(
            e.0[0]
                .message
                .ends_with(&format!("{b_sub} belongs to another module")),
            "{e}"
        );
        match lower(&a, prog, &Bindings::default()) {
            Err(LowerError::Verify(e)) => {
                assert!(e.to_string().contains("belongs to another module"), "{e}")
            }
            other => panic!("lowered a call to another module's function: {other:?}"),
        }
        let e = write_object(&a).unwrap_err();
        assert!(e.to_string().contains("belongs to another module"), "{e}");
        let e = link(std::slice::from_ref(&a), &LinkOptions::default()).unwrap_err();
        assert!(e.to_string().contains("belongs to another module"), "{e}");
        // Display and dump print the foreign id, not the name of a's function at its index.
        let first = a.function(prog).first_insn().unwrap();
        let shown = a.display_insn(first).to_string();
        assert!(!shown.contains("sub_a"), "{shown}");
        assert!(shown.contains(&b_sub.to_string()), "{shown}");
        let dump = a.dump().to_string();
        assert!(!dump.contains("call @sub_a"), "{dump}");
    }

    /// Every edit entry refuses an id of another module (of every kind, each inside this
    /// module's range) and changes nothing.
    #[test]
    fn every_edit_refuses_ids_of_another_module() {
        let mut a = module("a");
        let b = module("b");
        let prog = func(&a, "prog");
        let at = a.function(prog).first_insn().unwrap();
        let last = a.function(prog).last_insn().unwrap();
        let f = func(&b, "sub");
        let i = b.function(func(&b, "prog")).first_insn().unwrap();
        let (map, _) = b.maps().next().unwrap();
        let (data, _) = b.data_sections().next().unwrap();
        let (line, _) = b.lines().next().unwrap();
        let (core, _) = b.core_relos().next().unwrap();
        let (origin, _) = b.origins().next().unwrap();
        // Each is in a's range.
        assert!(a.id_at::<Function>(f.index()).is_some());
        assert!(a.id_at::<Insn>(i.index()).is_some());
        let before = format!("{a:?}");

        assert_eq!(a.append(f, Insn::Exit, Meta::new()), Err(foreign(f)));
        assert_eq!(a.insert_before(i, Insn::Exit, Meta::new()), Err(foreign(i)));
        assert_eq!(a.insert_after(i, Insn::Exit, Meta::new()), Err(foreign(i)));
        assert_eq!(a.attach_before(i, at), Err(foreign(i)));
        assert_eq!(a.attach_at_end(i, prog), Err(foreign(i)));
        assert_eq!(a.remove(i), Err(foreign(i)));
        assert_eq!(a.replace(i, Insn::Exit, MetaChoice::Keep), Err(foreign(i)));
        assert_eq!(a.move_range(at, last, f, None), Err(foreign(f)));
        assert_eq!(a.move_range(i, last, prog, None), Err(foreign(i)));
        assert_eq!(a.append_body(f, prog), Err(foreign(f)));
        assert_eq!(a.append_body(prog, f), Err(foreign(f)));
        assert_eq!(a.retarget_jumps(i, at), Err(foreign(i)));
        assert_eq!(a.retarget_jumps(at, i), Err(foreign(i)));
        assert_eq!(a.redirect_call(i, prog), Err(foreign(i)));
        assert_eq!(a.set_reference(i, None), Err(foreign(i)));
        for (r, entity) in [
            (Ref::Jump(i), AnyEntity::Insn(i)),
            (Ref::Call(f), AnyEntity::Func(f)),
            (Ref::FuncAddr(f), AnyEntity::Func(f)),
            (Ref::Map(map), AnyEntity::Map(map)),
            (Ref::Data { data, offset: 0 }, AnyEntity::Data(data)),
        ] {
            assert_eq!(a.set_reference(at, Some(r)), Err(foreign(entity)));
            let meta = Meta::new().with_ref(r);
            assert_eq!(
                a.append(prog, Insn::Exit, meta.clone()),
                Err(foreign(entity))
            );
            assert_eq!(
                a.replace(at, Insn::Exit, MetaChoice::Replace(meta)),
                Err(foreign(entity))
            );
        }
        assert_eq!(a.append_built(prog, ld_map(R1, map)), Err(foreign(map)));
        assert_eq!(
            a.append_built(prog, ld_data(R1, data, 0)),
            Err(foreign(data))
        );
        assert_eq!(a.set_line(at, Some(line)), Err(foreign(line)));
        assert_eq!(a.set_core(at, Some(core)), Err(foreign(core)));
        assert_eq!(a.set_insn_origin(at, Some(origin)), Err(foreign(origin)));
        let meta = Meta::new().with_line(line);
        assert_eq!(a.append(prog, Insn::Exit, meta), Err(foreign(line)));
        let meta = Meta::new().with_core(core);
        assert_eq!(a.append(prog, Insn::Exit, meta), Err(foreign(core)));
        let meta = Meta::new().with_origin(origin);
        assert_eq!(a.append(prog, Insn::Exit, meta), Err(foreign(origin)));
        assert_eq!(
            a.set_map_linkage(map, SymbolLinkage::Weak),
            Err(foreign(map))
        );
        let ops = bpfir::ir::StructOps {
            section: ".struct_ops".into(),
            data: vec![0; 8],
            funcs: vec![(0, f)],
        };
        assert_eq!(a.set_struct_ops(map, ops.clone()), Err(foreign(map)));
        let (own_map, _) = a.maps().next().unwrap();
        assert_eq!(a.set_struct_ops(own_map, ops), Err(foreign(f)));
        assert_eq!(
            format!("{a:?}"),
            before,
            "a refused edit changed the module"
        );

        // The checked accessors, and the cursor.
        assert_eq!(a.try_function(f).err(), Some(foreign(f)));
        assert_eq!(a.try_insn(i).err(), Some(foreign(i)));
        assert_eq!(a.try_map(map).err(), Some(foreign(map)));
        assert_eq!(a.try_data(data).err(), Some(foreign(data)));
        assert_eq!(a.try_line(line).err(), Some(foreign(line)));
        assert_eq!(a.try_core_relo(core).err(), Some(foreign(core)));
        assert_eq!(a.check_origin(origin), Err(foreign(origin)));
        assert_eq!(a.origin(origin), None);
        assert_eq!(FuncCursor::new(&mut a, f).err(), Some(foreign(f)));
        let mut cur = FuncCursor::new(&mut a, prog).unwrap();
        assert_eq!(cur.goto_insn(i), Err(foreign(i)));
        assert_eq!(cur.goto_after_insn(i), Err(foreign(i)));
        // Queries answer "not here" for a foreign id, never the entity at its index.
        assert_eq!(a.func_insns(f).count(), 0);
        assert_eq!(a.func_of(i), None);
        assert_eq!(a.next_insn(i), None);
        assert_eq!(a.reference(i), None);
        assert_eq!(a.meta(i), Meta::new());
        assert_eq!(a.function_by_name("sub_b"), None);
        let e = bpfir::verify::verify_program(&a, f).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("function {f}: the function belongs to another module")
        );
        assert!(a.verify_function(f).is_err());
        match lower(&a, f, &Bindings::default()) {
            Err(LowerError::Verify(e)) => assert!(e.to_string().contains("another module")),
            other => panic!("lowered another module's function: {other:?}"),
        }
    }

    /// `verify` reports every kind of foreign id an instruction's metadata can hold.
    #[test]
    fn verify_reports_foreign_ids_in_metadata() {
        let mut a = module("a");
        let b = module("b");
        let prog = func(&a, "prog");
        let (line, _) = b.lines().next().unwrap();
        let (core, _) = b.core_relos().next().unwrap();
        let (origin, _) = b.origins().next().unwrap();
        let (map, _) = b.maps().next().unwrap();
        let ld = Insn::LdImm64 {
            kind: bpfir::insn::PseudoKind::None,
            dst: R1,
            imm: 0,
        };
        let meta = Meta::new()
            .with_ref(Ref::Map(map))
            .with_line(line)
            .with_core(core)
            .with_origin(origin);
        let x = a.create_insn(ld, meta);
        let first = a.function(prog).first_insn().unwrap();
        a.attach_before(x, first).unwrap();
        let msgs: Vec<String> = a
            .verify()
            .unwrap_err()
            .iter()
            .map(|e| e.message.clone())
            .collect();
        assert_eq!(
            msgs,
            [
                format!("source line {line} belongs to another module"),
                format!("CO-RE relocation {core} belongs to another module"),
                format!("origin {origin} belongs to another module"),
                format!("its reference: {map} belongs to another module"),
            ]
        );
    }

    /// A clone keeps its module's tag: the original's ids are valid in it (and the other way
    /// round), for reads and edits alike.
    #[test]
    fn a_clone_accepts_the_originals_ids() {
        let a = module("a");
        let prog = func(&a, "prog");
        let sub = func(&a, "sub");
        let at = a.function(prog).first_insn().unwrap();
        let mut c = a.clone();
        assert_eq!(c.try_function(sub).unwrap().name, "sub_a");
        let x = c.insert_built_before(at, call(sub)).unwrap();
        assert_eq!(c.reference(x), Some(Ref::Call(sub)));
        c.verify().unwrap();
        lower(&c, prog, &Bindings::default()).unwrap();
        // An id the clone made is in the original's family too (dangling there).
        assert_eq!(
            a.try_insn(x).err(),
            Some(IrError::NoSuchEntity {
                entity: AnyEntity::Insn(x)
            })
        );
    }

    /// A module read back, parsed from its text or linked is another module: its ids are
    /// not the original's.
    #[test]
    fn written_parsed_and_linked_modules_give_new_ids() {
        let a = module("a");
        let prog = func(&a, "prog");
        let parsed = bpfir::ir::text::parse(&a.text().to_string()).unwrap();
        assert_eq!(parsed.try_function(prog).err(), Some(foreign(prog)));
        let p = func(&parsed, "prog");
        assert_eq!(p.index(), prog.index());
        lower(&parsed, p, &Bindings::default()).unwrap();
        let linked = link(std::slice::from_ref(&a), &LinkOptions::default()).unwrap();
        assert_eq!(linked.try_function(prog).err(), Some(foreign(prog)));
        let back = Module::read(&write_object(&a).unwrap()).unwrap();
        assert_eq!(back.try_function(prog).err(), Some(foreign(prog)));
    }

    /// Bindings (an `EntityMap` per kind) keyed by another module's map do not bind this
    /// module's map at the same index.
    #[test]
    fn bindings_of_another_module_bind_nothing() {
        let mut a = module("a");
        let b = module("b");
        let prog = func(&a, "prog");
        let (own, _) = a.maps().next().unwrap();
        let (other, _) = b.maps().next().unwrap();
        let at = a.function(prog).first_insn().unwrap();
        a.insert_built_before(at, ld_map(R1, own)).unwrap();
        let mut bindings = Bindings::default();
        bindings.maps.insert(other, 7);
        assert_eq!(bindings.maps.get(own), None);
        assert!(lower(&a, prog, &bindings).is_err());
        let mut bindings = Bindings::default();
        bindings.maps.insert(own, 7);
        lower(&a, prog, &bindings).unwrap();
    }

    /// The plain accessors panic on an id of another module (documented; use `try_*`).
    #[test]
    #[should_panic(expected = "id of another module")]
    fn plain_accessors_panic_on_a_foreign_id() {
        let a = module("a");
        let b = module("b");
        let _ = a.function(func(&b, "sub"));
    }
}

/// Release builds: ids are 4 bytes, the range is checked, and an id of another module that
/// is in range is taken for this module's (documented in `bpfir::ir::Id`).
#[cfg(not(debug_assertions))]
mod release {
    use super::*;

    #[test]
    fn release_builds_check_the_range_only() {
        assert_eq!(std::mem::size_of::<FuncId>(), 4);
        let mut a = module("a");
        let mut b = module("b");
        let prog = func(&a, "prog");
        for k in 0..4 {
            b.add_function(Function::new(format!("extra{k}"), ".text", false));
        }
        let (far, _) = b.functions().last().unwrap();
        assert_eq!(
            a.append_built(prog, call(far)),
            Err(IrError::NoSuchEntity {
                entity: AnyEntity::Func(far)
            })
        );
        let near = func(&b, "sub");
        assert!(a.append_built(prog, call(near)).is_ok());
    }
}
