//! Unit tests of the linker on modules built in code: data sections concatenate at their
//! alignment, variables and data references shift with them, a weak variable's references
//! follow the strong definition, and externs resolve to functions of another input.

use super::*;
use crate::insn::{PseudoKind, Reg};
use crate::ir::{DataVar, Function};
use crate::Endian;

fn data(bytes: &[u8], vars: &[(&str, u32, u32, SymbolLinkage)]) -> DataSection {
    DataSection {
        name: ".data".into(),
        kind: DataKind::Data,
        bytes: bytes.to_vec(),
        align: 8,
        vars: vars
            .iter()
            .map(|&(name, offset, size, linkage)| DataVar {
                name: name.into(),
                offset,
                size,
                linkage,
            })
            .collect(),
        btf_datasec: None,
    }
}

fn ld(m: &mut Module, f: FuncId, r: Ref) {
    let insn = Insn::LdImm64 {
        kind: PseudoKind::None,
        dst: Reg::R1,
        imm: 0,
    };
    m.append(f, insn, Meta::new().with_ref(r)).unwrap();
}

#[test]
fn data_concatenates_and_references_shift_or_follow_the_winner() {
    let mut a = Module::new(Endian::Little);
    let d = a.add_data(data(&[1, 2, 3], &[("x", 0, 3, SymbolLinkage::Global)]));
    let f = a.add_function(Function::new("pa", "socket", true));
    ld(&mut a, f, Ref::Data { data: d, offset: 1 });
    a.append(f, Insn::Exit, Meta::default()).unwrap();

    let mut b = Module::new(Endian::Little);
    let d = b.add_data(data(
        &[0; 12],
        &[
            ("x", 0, 3, SymbolLinkage::Weak),
            ("y", 4, 8, SymbolLinkage::Global),
        ],
    ));
    let f = b.add_function(Function::new("pb", "socket", true));
    ld(&mut b, f, Ref::Data { data: d, offset: 2 }); // inside weak x: goes to a's x
    ld(&mut b, f, Ref::Data { data: d, offset: 4 }); // y, shifted by 8
    let call = b
        .append(
            f,
            Insn::Call {
                kind: CallKind::Local,
                off: 0,
                imm: -1,
            },
            Meta::default(),
        )
        .unwrap();
    let e = b.add_extern(Extern {
        name: "pa".into(),
        kind: ExternKind::Func,
        weak: false,
        btf: None,
    });
    b.set_reference(call, Some(Ref::Extern(e))).unwrap();
    b.append(f, Insn::Exit, Meta::default()).unwrap();

    let out = link(&[a, b], &LinkOptions::default()).unwrap();
    let (od, sec) = out.data_sections().next().unwrap();
    assert_eq!(out.data_sections().len(), 1);
    assert_eq!(sec.bytes.len(), 8 + 12);
    assert_eq!(&sec.bytes[..3], &[1, 2, 3]);
    let vars: Vec<_> = sec
        .vars
        .iter()
        .map(|v| (v.name.as_str(), v.offset))
        .collect();
    assert_eq!(vars, [("x", 0), ("y", 12)]);
    let refs: Vec<_> = out
        .functions()
        .flat_map(|(f, _)| out.func_insns(f).filter_map(|i| out.reference(i)))
        .collect();
    let pa = out.function_by_name("pa").unwrap();
    assert_eq!(
        refs,
        [
            Ref::Data {
                data: od,
                offset: 1
            },
            Ref::Data {
                data: od,
                offset: 2
            },
            Ref::Data {
                data: od,
                offset: 12
            },
            Ref::Call(pa),
        ]
    );
    assert_eq!(out.externs().len(), 0);
}

#[test]
fn variables_of_different_sizes_conflict() {
    let mut a = Module::new(Endian::Little);
    a.add_data(data(&[0; 4], &[("v", 0, 4, SymbolLinkage::Weak)]));
    let mut b = Module::new(Endian::Little);
    b.add_data(data(&[0; 8], &[("v", 0, 8, SymbolLinkage::Global)]));
    let err = link(&[a, b], &LinkOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "variable v has 4 bytes in input 0 but 8 in input 1"
    );
}

#[test]
fn mixed_byte_orders_and_no_inputs_are_errors() {
    assert_eq!(
        link(&[], &LinkOptions::default()).unwrap_err(),
        LinkError::NoInputs
    );
    let err = link(
        &[Module::new(Endian::Little), Module::new(Endian::Big)],
        &LinkOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, LinkError::MixedEndian { .. }), "{err}");
}

#[test]
fn origins_are_kept_and_interned_by_pass_name() {
    let mut a = Module::new(Endian::Little);
    let fa = a.add_function(Function::new("pa", "socket", true));
    let count = a.add_origin("count");
    a.append(fa, Insn::Exit, Meta::new().with_origin(count))
        .unwrap();
    let mut b = Module::new(Endian::Little);
    let fb = b.add_function(Function::new("pb", "socket", true));
    let other = b.add_origin("other");
    let count_b = b.add_origin("count");
    b.append(fb, Insn::Exit, Meta::new().with_origin(other))
        .unwrap();
    b.append(fb, Insn::Exit, Meta::new().with_origin(count_b))
        .unwrap();
    b.append(fb, Insn::Exit, Meta::default()).unwrap();

    let out = link(&[a, b], &LinkOptions::default()).unwrap();
    let passes: Vec<Option<&str>> = out
        .functions()
        .flat_map(|(f, _)| out.func_insns(f))
        .map(|i| {
            out.insn_origin(i)
                .map(|o| out.origin(o).unwrap().pass.as_str())
        })
        .collect();
    assert_eq!(passes, [Some("count"), Some("other"), Some("count"), None]);
    assert_eq!(out.origins().len(), 2);
}

/// A module whose BTF has `DATASEC license` (size `size`) with `VAR LICENSE` of `char[4]`,
/// and no `license` string.
fn with_license_datasec(size: u32) -> Module {
    let mut m = Module::new(Endian::Little);
    let mut btf = Btf::new(Endian::Little);
    let ch = btf
        .add_int("char", 1, crate::btf::IntEncoding::SIGNED, 8)
        .unwrap();
    let idx = btf
        .add_int(
            "__ARRAY_SIZE_TYPE__",
            4,
            crate::btf::IntEncoding::default(),
            32,
        )
        .unwrap();
    let arr = btf.add_array(ch, idx, 4).unwrap();
    let var = btf.add_var("LICENSE", arr, Linkage::Global).unwrap();
    let vars = [VarSecinfo {
        ty: var,
        offset: 0,
        size: 4,
    }];
    btf.add_datasec("license", size, &vars).unwrap();
    m.btf = Some(btf);
    m
}

fn datasec_size(m: &Module, name: &str) -> u32 {
    let btf = m.btf.as_ref().unwrap();
    let id = btf.type_by_name_kind(name, Kind::Datasec).unwrap();
    match btf.kind_of(id).unwrap() {
        TypeKind::Datasec { size, .. } => size,
        k => panic!("{name} is a {}", k.kind()),
    }
}

#[test]
fn license_datasec_is_sized_as_the_written_section() {
    // The first input's DATASEC says 0 (it has no license string); the license comes from
    // the second. The writer writes "GPL\0" (4 bytes, which the variable fills too).
    let a = with_license_datasec(0);
    let mut b = Module::new(Endian::Little);
    b.license = Some("GPL".into());
    let out = link(&[a, b], &LinkOptions::default()).unwrap();
    assert_eq!(out.license.as_deref(), Some("GPL"));
    assert_eq!(datasec_size(&out, "license"), 4);

    // A license longer than the variable: the section holds the whole string.
    let a = with_license_datasec(4);
    let mut b = Module::new(Endian::Little);
    b.license = Some("Dual BSD/GPL".into());
    let out = link(&[a, b], &LinkOptions::default()).unwrap();
    assert_eq!(datasec_size(&out, "license"), 13);

    // No license at all: nothing is written, the DATASEC keeps the input's size.
    let out = link(&[with_license_datasec(7)], &LinkOptions::default()).unwrap();
    assert_eq!(datasec_size(&out, "license"), 7);
}

fn bss(name: &str, size: u64) -> DataSection {
    DataSection {
        name: name.into(),
        kind: DataKind::Bss,
        bytes: vec![0; size as usize],
        align: 8,
        vars: Vec::new(),
        btf_datasec: None,
    }
}

#[test]
fn bss_of_the_output_is_bounded_in_all() {
    // Two inputs whose bss is just over half the bound: together past it, whether the
    // sections share a name (one output section) or not.
    let half = DataSection::MAX_SIZE / 2 + 8;
    for second in [".bss", ".bss.other"] {
        let mut a = Module::new(Endian::Little);
        a.add_data(bss(".bss", half));
        let mut b = Module::new(Endian::Little);
        b.add_data(bss(second, half));
        let e = link(&[a, b], &LinkOptions::default()).unwrap_err();
        assert!(
            matches!(&e, LinkError::DataTooLarge { section, .. } if section == second),
            "{e}"
        );
    }
    // Up to the bound, they link.
    let mut a = Module::new(Endian::Little);
    a.add_data(bss(".bss", DataSection::MAX_SIZE / 2));
    let mut b = Module::new(Endian::Little);
    b.add_data(bss(".bss.other", DataSection::MAX_SIZE / 2));
    let out = link(&[a, b], &LinkOptions::default()).unwrap();
    assert_eq!(out.data_sections().len(), 2);
}

#[test]
fn externs_of_one_name_must_be_of_one_kind() {
    let with_extern = |kind| {
        let mut m = Module::new(Endian::Little);
        m.add_extern(crate::ir::Extern {
            name: "x".into(),
            kind,
            weak: false,
            btf: None,
        });
        m
    };
    let opts = LinkOptions {
        allow_unresolved: true,
        ..Default::default()
    };
    let out = link(
        &[with_extern(ExternKind::Func), with_extern(ExternKind::Func)],
        &opts,
    )
    .unwrap();
    assert_eq!(out.externs().len(), 1);
    let e = link(
        &[with_extern(ExternKind::Ksym), with_extern(ExternKind::Func)],
        &opts,
    )
    .unwrap_err();
    assert!(
        matches!(&e, LinkError::ExternKindMismatch { name, first_kind: ExternKind::Ksym, second_kind: ExternKind::Func, .. } if name == "x"),
        "{e}"
    );
}

#[test]
fn a_section_of_data_in_one_input_and_code_in_another_is_an_error() {
    let mut a = Module::new(Endian::Little);
    a.add_data(data(&[1, 2, 3, 4], &[("x", 0, 4, SymbolLinkage::Global)]));
    let mut b = Module::new(Endian::Little);
    let f = b.add_function(Function::new("prog", ".data", true));
    b.append(f, Insn::Exit, Meta::default()).unwrap();
    // Each writes alone; linked, one section would hold both, in either order.
    crate::write::write_object(&a).unwrap();
    crate::write::write_object(&b).unwrap();
    let (na, nb) = (String::from("a.o"), String::from("b.o"));
    let orders = [
        ([a.clone(), b.clone()], vec![na.clone(), nb.clone()]),
        ([b, a], vec![nb, na]),
    ];
    for (inputs, input_names) in orders {
        let opts = LinkOptions {
            input_names,
            ..LinkOptions::default()
        };
        match link(&inputs, &opts) {
            Err(LinkError::DataCodeClash {
                section,
                data,
                code,
            }) => {
                assert_eq!(section, ".data");
                assert_eq!((data.as_str(), code.as_str()), ("a.o", "b.o"));
            }
            other => panic!("expected a data/code clash, got {other:?}"),
        }
    }
}
