//! Unit tests of the writer on a module built in code: the relocations, immediates and
//! symbols it chooses, checked in the written ELF, and the module read back.

use super::*;
use crate::elf::{Binding, ElfObject, SymbolKind as ElfKind};
use crate::insn::{AluClass, AluOp, JmpClass, JmpOp, Operand, Reg};
use crate::ir::{DataSection, DataVar, Extern, Function, MapDef, MapOrigin, Meta, Pinning};

fn mov(dst: Reg, imm: i32) -> Insn {
    Insn::Alu {
        class: AluClass::Alu64,
        op: AluOp::Mov,
        dst,
        src: Operand::Imm(imm),
    }
}

fn ld(dst: Reg) -> Insn {
    Insn::LdImm64 {
        kind: PseudoKind::None,
        dst,
        imm: 0x1234,
    }
}

fn call() -> Insn {
    Insn::Call {
        kind: CallKind::Helper,
        imm: 77,
        off: 0,
    }
}

fn with(r: Ref) -> Meta {
    Meta::new().with_ref(r)
}

struct Built {
    module: Module,
    prog: FuncId,
}

/// `prog` (section `socket`) calls a static and a global `.text` function and a local
/// function of its own section, takes a static callback's address, loads a map, a data
/// byte and a weak extern, calls a kfunc, and jumps over part of itself.
fn build(endian: Endian) -> Built {
    let mut m = Module::new(endian);
    m.license = Some("GPL".into());
    m.kern_version = Some(0x0005_0a00);
    let prog = m.add_function(Function::new("prog", "socket", true));
    let local = m.add_function(Function::new("local_in_socket", "socket", false));
    let stat = m.add_function(Function::new("static_sub", ".text", false));
    let mut g = Function::new("global_sub", ".text", false);
    g.linkage = SymbolLinkage::Global;
    let glob = m.add_function(g);
    for f in [local, stat, glob] {
        m.append(f, mov(Reg::R0, 1), Meta::default()).unwrap();
        m.append(f, Insn::Exit, Meta::default()).unwrap();
    }
    let map = m.add_map(MapDef {
        map_type: 2,
        key_size: 4,
        value_size: 8,
        max_entries: 16,
        ..MapDef::new("counts", MapOrigin::Legacy)
    });
    let data = m.add_data(DataSection {
        name: ".data".into(),
        kind: DataKind::Data,
        bytes: vec![1, 2, 3, 4, 5, 6, 7, 8],
        align: 8,
        vars: vec![DataVar {
            name: "value".into(),
            offset: 4,
            size: 4,
            linkage: SymbolLinkage::Global,
        }],
        btf_datasec: None,
    });
    m.add_data(DataSection {
        name: ".bss".into(),
        kind: DataKind::Bss,
        bytes: vec![0; 16],
        align: 8,
        vars: Vec::new(),
        btf_datasec: None,
    });
    let weak = m.add_extern(Extern {
        name: "maybe_there".into(),
        kind: ExternKind::Ksym,
        weak: true,
        btf: None,
    });
    let kfunc = m.add_extern(Extern {
        name: "bpf_kfunc".into(),
        kind: ExternKind::Func,
        weak: false,
        btf: None,
    });
    let exit = m.create_insn(Insn::Exit, Meta::default());
    let body = [
        (call(), Some(Ref::Call(stat))),
        (call(), Some(Ref::Call(glob))),
        (call(), Some(Ref::Call(local))),
        (ld(Reg::R1), Some(Ref::FuncAddr(stat))),
        (ld(Reg::R2), Some(Ref::Map(map))),
        (ld(Reg::R3), Some(Ref::Data { data, offset: 6 })),
        (ld(Reg::R4), Some(Ref::Extern(weak))),
        (call(), Some(Ref::Extern(kfunc))),
        (
            Insn::JmpCond {
                class: JmpClass::Jmp,
                op: JmpOp::Eq,
                dst: Reg::R0,
                src: Operand::Imm(0),
                off: 99,
            },
            Some(Ref::Jump(exit)),
        ),
        (mov(Reg::R0, 2), None),
    ];
    for (insn, r) in body {
        let meta = r.map(with).unwrap_or_default();
        m.append(prog, insn, meta).unwrap();
    }
    m.attach_at_end(exit, prog).unwrap();
    Built { module: m, prog }
}

/// `(byte offset, r_type, symbol name, symbol kind)` of the relocations of `section`.
fn relocs(elf: &ElfObject<'_>, section: &str) -> Vec<(u64, u32, String, ElfKind)> {
    let index = elf.section(section).unwrap().index;
    elf.relocations(index)
        .unwrap()
        .iter()
        .map(|r| {
            let s = &elf.symbols()[r.symbol];
            (r.offset, r.r_type, s.name.to_string(), s.kind)
        })
        .collect()
}

#[test]
fn relocations_immediates_and_symbols_follow_clang() {
    for endian in [Endian::Little, Endian::Big] {
        let Built { module, prog } = build(endian);
        let bytes = write_object(&module).unwrap();
        let elf = ElfObject::parse(&bytes).unwrap();
        assert_eq!(elf.endian(), endian);

        // Calls into .text are relocated (static: section symbol; global: its own); the call
        // within `socket` is not. Slots: 0-2 calls, 3-4 func addr, 5-6 map, 7-8 data,
        // 9-10 extern, 11 kfunc call.
        let section = (String::new(), ElfKind::Section);
        let named = |n: &str, k| (n.to_string(), k);
        let want = vec![
            (0, R_BPF_64_32, section.clone()),
            (8, R_BPF_64_32, named("global_sub", ElfKind::Func)),
            (24, R_BPF_64_64, section.clone()),
            (40, R_BPF_64_64, named("counts", ElfKind::Object)),
            (56, R_BPF_64_64, section.clone()),
            (72, R_BPF_64_64, named("maybe_there", ElfKind::NoType)),
            (88, R_BPF_64_32, named("bpf_kfunc", ElfKind::Func)),
        ];
        let got: Vec<_> = relocs(&elf, "socket")
            .into_iter()
            .map(|(o, t, n, k)| (o, t, (n, k)))
            .collect();
        assert_eq!(got, want);

        let code = elf.section("socket").unwrap().data;
        let insns = crate::insn::decode_all(code, endian).unwrap();
        // static_sub is the first function of .text: slot 0, so imm = 0 - 1.
        let imms: Vec<String> = insns.iter().take(9).map(|i| format!("{i:?}")).collect();
        assert!(imms[0].contains("kind: Local, imm: -1"), "{}", imms[0]);
        assert!(imms[1].contains("kind: Local, imm: -1"), "{}", imms[1]);
        // local_in_socket follows prog's 15 slots: from slot 2, 15 - 3 = 12.
        assert!(imms[2].contains("kind: Local, imm: 12"), "{}", imms[2]);
        // Callback of a static function: the byte offset in the immediate (0 here).
        assert!(
            imms[3].contains("kind: None, dst: R1, imm: 0"),
            "{}",
            imms[3]
        );
        assert!(
            imms[5].contains("kind: None, dst: R3, imm: 6"),
            "{}",
            imms[5]
        );
        assert!(imms[7].contains("kind: Local, imm: -1"), "{}", imms[7]);
        // The jump skips one instruction to the exit.
        assert_eq!(insns[8].jump_offset(), Some(1));

        let sym = |name: &str| elf.symbols().iter().find(|s| s.name == name).unwrap();
        assert_eq!(sym("prog").binding, Binding::Global);
        assert_eq!((sym("prog").value, sym("prog").size), (0, 15 * 8));
        assert_eq!(sym("static_sub").binding, Binding::Local);
        assert_eq!(sym("maybe_there").binding, Binding::Weak);
        assert_eq!(sym("maybe_there").section, None);
        assert_eq!((sym("value").value, sym("value").size), (4, 4));
        assert_eq!(sym("value").kind, ElfKind::Object);
        let bss = elf.section(".bss").unwrap();
        assert_eq!((bss.sh_type, bss.size), (object::elf::SHT_NOBITS, 16));
        assert_eq!(elf.section("license").unwrap().data, b"GPL\0");
        assert_eq!(elf.section("maps").unwrap().data.len(), 20);

        // Read back: the same references.
        let m2 = Module::read(&bytes).unwrap();
        let p2 = m2.function_by_name("prog").unwrap();
        let key = |m: &Module, f: FuncId| -> Vec<String> {
            m.func_insns(f)
                .map(|i| match m.reference(i) {
                    Some(Ref::Call(c)) => format!("call {}", m.function(c).name),
                    Some(Ref::FuncAddr(c)) => format!("addr {}", m.function(c).name),
                    Some(Ref::Map(x)) => format!("map {}", m.map(x).name),
                    Some(Ref::Data { data, offset }) => {
                        format!("data {}+{offset}", m.data(data).name)
                    }
                    Some(Ref::Extern(e)) => format!("extern {}", m.extern_(e).name),
                    Some(Ref::Jump(t)) => {
                        format!("jump {:?}", m.func_insns(f).position(|x| x == t))
                    }
                    _ => String::new(),
                })
                .collect()
        };
        assert_eq!(key(&module, prog), key(&m2, p2));
        assert_eq!(m2.license.as_deref(), Some("GPL"));
        assert_eq!(m2.kern_version, Some(0x0005_0a00));
        let kinds: Vec<_> = m2.externs().map(|(_, e)| (e.kind, e.weak)).collect();
        assert_eq!(kinds, [(ExternKind::Ksym, true), (ExternKind::Func, false)]);
    }
}

#[test]
fn what_a_legacy_map_cannot_say_is_an_error() {
    let Built { mut module, .. } = build(Endian::Little);
    let mut m2 = MapDef {
        name: "pinned".into(),
        pinning: Pinning::ByName,
        ..module.map(module.maps().next().unwrap().0).clone()
    };
    module.add_map(m2.clone());
    match write_object(&module) {
        Err(WriteError::BadMap {
            map,
            section,
            reason,
        }) => {
            assert_eq!((map.as_str(), section.as_str()), ("pinned", "maps"));
            assert!(reason.contains("pinned by name"), "{reason}");
        }
        other => panic!("expected a map error, got {other:?}"),
    }
    // iproute2's pinning is kept in a 36-byte record.
    let Built { mut module, .. } = build(Endian::Big);
    m2.pinning = Pinning::Other(2);
    module.add_map(m2);
    let bytes = write_object(&module).unwrap();
    let back = Module::read(&bytes).unwrap();
    let pinned = back.maps().find(|(_, m)| m.name == "pinned").unwrap().1;
    assert_eq!(pinned.pinning, Pinning::Other(2));
}

#[test]
fn a_reference_on_the_wrong_instruction_is_named() {
    let Built { mut module, prog } = build(Endian::Little);
    let map = module.maps().next().unwrap().0;
    let last = module.function(prog).last_insn().unwrap();
    module.set_reference(last, Some(Ref::Map(map))).unwrap();
    match write_object(&module) {
        Err(WriteError::Verify(errors)) => {
            assert_eq!(errors.len(), 1, "{errors}");
            assert_eq!(errors.0[0].location, crate::ir::AnyEntity::Insn(last));
            assert_eq!(errors.0[0].func, Some(prog));
            assert!(errors.0[0].message.contains("does not fit"), "{errors}");
        }
        other => panic!("expected an instruction error, got {other:?}"),
    }
}

#[test]
fn license_is_padded_to_its_variables_and_refused_past_4k() {
    let module = |var_offset: u32| {
        let mut m = Module::new(Endian::Little);
        m.license = Some("GPL".into());
        let mut btf = crate::btf::Btf::new(Endian::Little);
        let ch = btf
            .add_int("char", 1, crate::btf::IntEncoding::SIGNED, 8)
            .unwrap();
        let idx = btf
            .add_int("__ARRAY_SIZE_TYPE__", 4, Default::default(), 32)
            .unwrap();
        let arr = btf.add_array(ch, idx, 8).unwrap();
        let var = btf
            .add_var("LICENSE", arr, crate::btf::Linkage::Global)
            .unwrap();
        let vars = [crate::btf::VarSecinfo {
            ty: var,
            offset: var_offset,
            size: 8,
        }];
        btf.add_datasec("license", 0, &vars).unwrap();
        m.btf = Some(btf);
        m
    };
    let bytes = write_object(&module(0)).unwrap();
    let elf = ElfObject::parse(&bytes).unwrap();
    assert_eq!(elf.section("license").unwrap().data, b"GPL\0\0\0\0\0");
    assert_eq!(license_len("GPL", 8, Some(0)), Some(8));
    assert_eq!(license_len("GPL", 0, None), Some(4));
    // A section without room for the NUL is written again without it.
    assert_eq!(license_len("GPL", 3, Some(3)), Some(3));
    assert_eq!(license_len("GPL", 3, Some(4)), Some(4));
    // Bytes after the NUL stay (the DATASEC says the section's size).
    assert_eq!(license_len("GPL", 4, Some(21)), Some(21));
    assert_eq!(license_len("GPL", 4, Some(1 << 13)), None);

    // A variable past 4 KiB: the section would not hold it, and the object would not read
    // back (the reader refuses a variable outside its section).
    let err = write_object(&module(0x0566_6666)).unwrap_err();
    assert!(
        matches!(&err, WriteError::BadData { section, .. } if section == "license"),
        "{err}"
    );
    assert_eq!(license_len("GPL", 0x0566_6666 + 8, None), None);
}

#[test]
fn bss_past_the_bound_is_refused() {
    let bss = |name: &str, size: u64| DataSection {
        name: name.into(),
        kind: DataKind::Bss,
        bytes: vec![0; size as usize],
        align: 8,
        vars: Vec::new(),
        btf_datasec: None,
    };
    let mut m = Module::new(Endian::Little);
    m.add_data(bss(".bss", DataSection::MAX_SIZE / 2));
    m.add_data(bss(".bss.b", DataSection::MAX_SIZE / 2 + 1));
    let e = write_object(&m).unwrap_err();
    assert!(
        matches!(&e, WriteError::BadData { section, reason } if section == ".bss.b" && reason.contains("bss")),
        "{e}"
    );
}

#[test]
fn two_data_sections_of_one_name_are_refused() {
    let rodata = || DataSection {
        name: ".rodata".into(),
        kind: DataKind::Rodata,
        bytes: vec![1, 2, 3, 4],
        align: 4,
        vars: Vec::new(),
        btf_datasec: None,
    };
    let mut m = Module::new(Endian::Little);
    m.add_data(rodata());
    assert!(write_object(&m).is_ok());
    m.add_data(rodata());
    let e = write_object(&m).unwrap_err();
    assert!(
        matches!(&e, WriteError::BadData { section, reason } if section == ".rodata" && reason.contains("second")),
        "{e}"
    );
}

#[test]
fn a_data_section_named_as_a_code_section_is_refused() {
    let mut m = Module::new(Endian::Little);
    let f = m.add_function(Function::new("prog", ".data", true));
    m.append(f, Insn::Exit, Meta::default()).unwrap();
    assert!(write_object(&m).is_ok());
    m.add_data(DataSection {
        name: ".data".into(),
        kind: DataKind::Data,
        bytes: vec![0; 4],
        align: 4,
        vars: Vec::new(),
        btf_datasec: None,
    });
    let e = write_object(&m).unwrap_err();
    assert!(
        matches!(&e, WriteError::BadData { section, reason } if section == ".data" && reason.contains("code")),
        "{e}"
    );
}
