//! Unit tests of the engine on BTF built in code: each rule of `relo_core.c` that the
//! corpus objects do not reach (missing fields, size changes, ambiguity, poisoning of
//! `ld_imm64`, split targets, `type_matches` refusals).

use std::sync::Arc;

use crate::btf::{Btf, IntEncoding, NewMember, TypeId};
use crate::btf_ext::{CoreAccess, CoreReloKind};
use crate::insn::{Insn, PseudoKind, Reg, Size};
use crate::ir::{CoreRelo, FuncId, Function, InsnId, Meta, Module};
use crate::Endian;

use super::*;

/// A module with one function whose instructions each carry one relocation.
struct Fixture {
    module: Module,
    func: FuncId,
}

impl Fixture {
    fn new(btf: Btf) -> Fixture {
        let mut module = Module::new(btf.endian());
        module.btf = Some(btf);
        let func = module.add_function(Function::new("prog", "socket", true));
        Fixture { module, func }
    }

    fn add(&mut self, insn: Insn, ty: TypeId, access: &str, kind: CoreReloKind) -> InsnId {
        let btf = self.module.btf.as_mut().unwrap();
        let access_str = btf.add_str(access).unwrap();
        let core = self.module.add_core_relo(CoreRelo {
            ty,
            access_str,
            access: CoreAccess::parse(access).unwrap(),
            kind,
        });
        self.module
            .append(self.func, insn, Meta::new().with_core(core))
            .unwrap()
    }

    fn run(&mut self, target: Btf) -> Report {
        relocate(
            &mut self.module,
            &Targets::single("target", Arc::new(target)),
        )
        .unwrap()
    }
}

fn load(off: i16, size: Size) -> Insn {
    Insn::Load {
        size,
        dst: Reg::R0,
        src: Reg::R1,
        off,
    }
}

fn mov(imm: i32) -> Insn {
    crate::insn::build::mov64_imm(Reg::R0, imm)
}

fn ld64(imm: i64) -> Insn {
    Insn::LdImm64 {
        kind: PseudoKind::None,
        dst: Reg::R2,
        imm,
    }
}

/// `struct name { int a; int b; }` (a at 0, b at 32 bits) in `btf`.
fn two_ints(btf: &mut Btf, name: &str, a_bits: u32, b_bits: u32) -> TypeId {
    let int = btf.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    btf.add_struct(
        name,
        16,
        &[
            NewMember::new("a", int, a_bits),
            NewMember::new("b", int, b_bits),
        ],
    )
    .unwrap()
}

fn value(r: &Relocation) -> TargetValue {
    r.result.as_ref().unwrap().target.clone()
}

#[test]
fn field_offsets_follow_the_target_and_are_checked_against_the_insn() {
    let mut local = Btf::new(Endian::Little);
    let s = two_ints(&mut local, "s", 0, 32);
    let mut target = Btf::new(Endian::Little);
    two_ints(&mut target, "s", 64, 0);
    let mut fx = Fixture::new(local);
    let good = fx.add(load(4, Size::W), s, "0:1", CoreReloKind::FieldByteOffset);
    let bad = fx.add(load(3, Size::W), s, "0:0", CoreReloKind::FieldByteOffset);
    let report = fx.run(target);
    assert_eq!(value(&report.relocations[0]), TargetValue::Value(0));
    assert_eq!(*fx.module.insn(good), load(0, Size::W));
    let err = report.relocations[1].result.clone().unwrap_err();
    assert!(
        matches!(
            err,
            CoReError::ValueMismatch {
                found: 3,
                expected: 0,
                ..
            }
        ),
        "{err}"
    );
    // The failed relocation left its instruction alone and is named in the message.
    assert_eq!(*fx.module.insn(bad), load(3, Size::W));
    assert!(err
        .to_string()
        .contains("co-re relocation #1 (byte_off of 's', access \"0:0\")"));
    assert!(!report.is_ok());
    assert_eq!(report.errors_in(&[fx.func]).count(), 1);
    let text = report.to_string();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("#0 i0 byte_off s \"0:1\": 4 -> 0 (target:s[2])")
    );
    assert!(lines
        .next()
        .unwrap()
        .starts_with("#1 i1 byte_off s \"0:0\": error: co-re relocation #1"));
}

#[test]
fn missing_fields_poison_and_exists_gives_zero() {
    let mut local = Btf::new(Endian::Little);
    let s = two_ints(&mut local, "s", 0, 32);
    let mut target = Btf::new(Endian::Little);
    let int = target.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    target
        .add_struct("s", 4, &[NewMember::new("a", int, 0)])
        .unwrap();
    let mut fx = Fixture::new(local);
    let ld = fx.add(load(4, Size::W), s, "0:1", CoreReloKind::FieldByteOffset);
    let wide = fx.add(ld64(4), s, "0:1", CoreReloKind::FieldByteSize);
    let exists = fx.add(mov(1), s, "0:1", CoreReloKind::FieldExists);
    fx.module
        .append(fx.func, Insn::Exit, Meta::default())
        .unwrap();
    let slots_before: usize = fx
        .module
        .func_insns(fx.func)
        .map(|i| fx.module.insn(i).n_slots())
        .sum();
    let report = fx.run(target);
    assert!(report.is_ok());
    assert!(matches!(
        value(&report.relocations[0]),
        TargetValue::Poisoned { .. }
    ));
    assert_eq!(*fx.module.insn(ld), POISON_INSN);
    // The ld_imm64 became two poison calls: same number of slots.
    assert_eq!(*fx.module.insn(wide), POISON_INSN);
    let second = fx.module.next_insn(wide).unwrap();
    assert_eq!(*fx.module.insn(second), POISON_INSN);
    let slots_after: usize = fx
        .module
        .func_insns(fx.func)
        .map(|i| fx.module.insn(i).n_slots())
        .sum();
    assert_eq!(slots_before, slots_after);
    assert_eq!(value(&report.relocations[2]), TargetValue::Value(0));
    assert_eq!(*fx.module.insn(exists), mov(0));
    report.clear_applied(&mut fx.module);
    assert_eq!(fx.module.core_of(exists), None);
}

#[test]
fn flavours_are_candidates_and_must_agree() {
    let mut local = Btf::new(Endian::Little);
    let s = two_ints(&mut local, "s___mine", 0, 32);
    // Two candidates, `s` and `s___v2`, with b at different offsets.
    let mut target = Btf::new(Endian::Little);
    two_ints(&mut target, "s", 0, 32);
    two_ints(&mut target, "s___v2", 0, 64);
    let mut fx = Fixture::new(local.clone());
    fx.add(load(0, Size::W), s, "0:0", CoreReloKind::FieldByteOffset);
    fx.add(load(4, Size::W), s, "0:1", CoreReloKind::FieldByteOffset);
    let report = fx.run(target.clone());
    // `a` agrees, `b` does not.
    let chosen = report.relocations[0]
        .result
        .as_ref()
        .unwrap()
        .chosen
        .clone()
        .unwrap();
    assert_eq!(chosen.n_matched, 2);
    assert_eq!(chosen.type_name, "s");
    let err = report.relocations[1].result.clone().unwrap_err();
    match &err {
        CoReError::Ambiguous {
            what, candidates, ..
        } => {
            assert_eq!(*what, "field offset");
            assert_eq!(candidates.len(), 2);
            assert!(
                candidates[1].starts_with("target:s___v2["),
                "{candidates:?}"
            );
        }
        other => panic!("{other}"),
    }
    // Type ids differ between the flavours: a value ambiguity.
    let mut fx = Fixture::new(local);
    fx.add(mov(1), s, "0", CoreReloKind::TypeIdTarget);
    let report = fx.run(target);
    assert!(matches!(
        report.relocations[0].result,
        Err(CoReError::Ambiguous { what: "value", .. })
    ));
}

#[test]
fn load_size_follows_unsigned_ints_only() {
    let build = |size: u32, enc: IntEncoding| {
        let mut btf = Btf::new(Endian::Little);
        let int = btf.add_int("t", size, enc, (size * 8) as u8).unwrap();
        btf.add_struct("s", 8, &[NewMember::new("f", int, 0)])
            .unwrap();
        btf
    };
    let local = build(4, IntEncoding::UNSIGNED);
    let s = local.types_by_name("s").next().unwrap();
    let mut fx = Fixture::new(local.clone());
    let ld = fx.add(load(0, Size::W), s, "0:0", CoreReloKind::FieldByteOffset);
    let report = fx.run(build(8, IntEncoding::UNSIGNED));
    assert!(report.is_ok());
    assert_eq!(*fx.module.insn(ld), load(0, Size::DW));

    let mut fx = Fixture::new(local.clone());
    let ld = fx.add(load(0, Size::W), s, "0:0", CoreReloKind::FieldByteOffset);
    let report = fx.run(build(8, IntEncoding::SIGNED));
    assert!(matches!(
        value(&report.relocations[0]),
        TargetValue::Poisoned { .. }
    ));
    assert_eq!(*fx.module.insn(ld), POISON_INSN);

    // A load of the wrong size for the local field cannot be resized.
    let mut fx = Fixture::new(local);
    fx.add(load(0, Size::H), s, "0:0", CoreReloKind::FieldByteOffset);
    let report = fx.run(build(8, IntEncoding::UNSIGNED));
    assert!(matches!(
        report.relocations[0].result,
        Err(CoReError::MemSizeMismatch {
            found: 2,
            expected: 4,
            ..
        })
    ));
}

#[test]
fn enumerators_by_essential_name_in_32_and_64_bits() {
    let mut local = Btf::new(Endian::Little);
    let e = local
        .add_enum("e", 8, false, &[("A___old", 1), ("BIG", 0x1_0000_0000)])
        .unwrap();
    let neg = local.add_enum("n", 4, true, &[("M", -1)]).unwrap();
    let mut target = Btf::new(Endian::Little);
    target
        .add_enum("e___new", 8, false, &[("BIG", 0x2_0000_0000), ("A", 7)])
        .unwrap();
    target.add_enum("n", 4, true, &[("M", -2)]).unwrap();
    let mut fx = Fixture::new(local);
    let a = fx.add(ld64(1), e, "0", CoreReloKind::EnumvalValue);
    let big = fx.add(ld64(0x1_0000_0000), e, "1", CoreReloKind::EnumvalValue);
    let m = fx.add(mov(-1), neg, "0", CoreReloKind::EnumvalValue);
    let report = fx.run(target);
    assert!(report.is_ok(), "{:?}", report.errors().next());
    assert_eq!(*fx.module.insn(a), ld64(7));
    assert_eq!(*fx.module.insn(big), ld64(0x2_0000_0000));
    assert_eq!(*fx.module.insn(m), mov(-2));
    assert_eq!(
        report.relocations[2].result.as_ref().unwrap().local,
        u64::MAX
    );
}

#[test]
fn bitfield_shifts_by_byte_order() {
    for endian in [Endian::Little, Endian::Big] {
        let mut btf = Btf::new(endian);
        let uint = btf
            .add_int("unsigned int", 4, IntEncoding::UNSIGNED, 32)
            .unwrap();
        let mut f = NewMember::new("f", uint, 5);
        f.bitfield_size = 7;
        let s = btf.add_struct("s", 4, &[f]).unwrap();
        // Bits 5..12 of a 4-byte load at byte 0.
        let lshift = match endian {
            Endian::Little => 64 - 12,
            Endian::Big => 32 + 5,
        };
        let expected = [0, 4, lshift, 64 - 7, 0];
        let mut fx = Fixture::new(btf.clone());
        for (kind, v) in [
            CoreReloKind::FieldByteOffset,
            CoreReloKind::FieldByteSize,
            CoreReloKind::FieldLshiftU64,
            CoreReloKind::FieldRshiftU64,
            CoreReloKind::FieldSigned,
        ]
        .into_iter()
        .zip(expected)
        {
            fx.add(mov(v as i32), s, "0:0", kind);
        }
        let report = fx.run(btf);
        let values: Vec<u64> = report
            .relocations
            .iter()
            .map(|r| match value(r) {
                TargetValue::Value(v) => v,
                p => panic!("{p}"),
            })
            .collect();
        assert_eq!(values, expected, "{endian:?}");
    }
}

#[test]
fn target_members_are_found_through_anonymous_members() {
    let mut local = Btf::new(Endian::Little);
    let s = two_ints(&mut local, "s", 0, 32);
    let mut target = Btf::new(Endian::Little);
    let int = target.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    let anon = target
        .add_union("", 4, &[NewMember::new("b", int, 0)])
        .unwrap();
    target
        .add_struct(
            "s",
            12,
            &[NewMember::new("a", int, 0), NewMember::new("", anon, 64)],
        )
        .unwrap();
    let mut fx = Fixture::new(local);
    let ld = fx.add(load(4, Size::W), s, "0:1", CoreReloKind::FieldByteOffset);
    assert!(fx.run(target).is_ok());
    assert_eq!(*fx.module.insn(ld), load(8, Size::W));
}

#[test]
fn type_relocations_and_type_matches() {
    let mut local = Btf::new(Endian::Little);
    let s = two_ints(&mut local, "s", 0, 32);
    let td = local.add_typedef("s_t", s).unwrap();
    let missing = local.add_struct("gone", 0, &[]).unwrap();
    let mut target = Btf::new(Endian::Little);
    let uint = target.add_int("int", 4, IntEncoding::UNSIGNED, 32).unwrap();
    // Same names, but `b` unsigned: compatible, yet not a match.
    target.add_int("pad", 1, IntEncoding::UNSIGNED, 8).unwrap();
    let ts = target
        .add_struct(
            "s",
            24,
            &[NewMember::new("a", uint, 0), NewMember::new("b", uint, 32)],
        )
        .unwrap();
    target.add_typedef("s_t", ts).unwrap();
    let mut fx = Fixture::new(local);
    fx.add(mov(1), s, "0", CoreReloKind::TypeExists);
    fx.add(mov(16), s, "0", CoreReloKind::TypeSize);
    fx.add(mov(1), s, "0", CoreReloKind::TypeMatches);
    fx.add(mov(16), td, "0", CoreReloKind::TypeSize);
    fx.add(mov(1), missing, "0", CoreReloKind::TypeExists);
    fx.add(mov(77), s, "0", CoreReloKind::TypeIdLocal);
    fx.add(mov(77), s, "0", CoreReloKind::TypeIdTarget);
    let report = fx.run(target);
    assert!(report.is_ok(), "{:?}", report.errors().next());
    let values: Vec<TargetValue> = report.relocations.iter().map(value).collect();
    let v = TargetValue::Value;
    let s_local = u64::from(fx.module.btf.as_ref().unwrap().wire_id(s).0);
    assert_eq!(
        values,
        [
            v(1),
            v(24),
            v(0),
            v(24),
            v(0),
            v(s_local),
            v(u64::from(3u32))
        ]
    );
}

#[test]
fn split_targets_are_searched_when_the_main_one_has_no_candidate() {
    let mut local = Btf::new(Endian::Little);
    let s = two_ints(&mut local, "modstruct", 0, 32);
    let mut vmlinux = Btf::new(Endian::Little);
    vmlinux.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    let vmlinux = Arc::new(vmlinux);
    let mut module_btf = Btf::new_split(vmlinux.clone());
    two_ints(&mut module_btf, "modstruct", 32, 0);
    let mut targets = Targets::new();
    targets.push("vmlinux", vmlinux);
    targets.push("mymod", Arc::new(module_btf));
    let mut fx = Fixture::new(local);
    let ld = fx.add(load(0, Size::W), s, "0:0", CoreReloKind::FieldByteOffset);
    let report = relocate(&mut fx.module, &targets).unwrap();
    let chosen = report.relocations[0]
        .result
        .as_ref()
        .unwrap()
        .chosen
        .clone()
        .unwrap();
    assert_eq!(chosen.target_name, "mymod");
    assert_eq!(*fx.module.insn(ld), load(4, Size::W));
}

#[test]
fn bad_instructions_and_missing_btf_are_errors() {
    let mut local = Btf::new(Endian::Little);
    let s = two_ints(&mut local, "s", 0, 32);
    let mut fx = Fixture::new(local.clone());
    fx.add(Insn::Exit, s, "0:1", CoreReloKind::FieldByteOffset);
    fx.add(mov(4), s, "0:7", CoreReloKind::FieldByteOffset);
    let report = fx.run(local);
    assert!(matches!(
        report.relocations[0].result,
        Err(CoReError::UnexpectedInsn { .. })
    ));
    assert!(matches!(
        report.relocations[1].result,
        Err(CoReError::BadAccess { component: 1, .. })
    ));
    fx.module.btf = None;
    assert_eq!(
        relocate(&mut fx.module, &Targets::new()),
        Err(CoReError::NoBtf { n_relos: 2 })
    );
}

#[test]
fn malformed_relocations_name_the_relocation() {
    let mut local = Btf::new(Endian::Little);
    let s = two_ints(&mut local, "s", 0, 32);
    let int = local
        .type_by_name_kind("int", crate::btf::Kind::Int)
        .unwrap();
    let e = local
        .add_enum("e", 4, false, &[("A", 1), ("B", 2)])
        .unwrap();
    let mut fx = Fixture::new(local.clone());
    // A type id past the module's BTF.
    let bogus = crate::btf::TypeId::from_raw(la_arena::RawIdx::from_u32(10_000));
    fx.add(mov(0), bogus, "0:0", CoreReloKind::FieldByteOffset);
    // An accessor past the type: `s` has two members.
    fx.add(mov(4), s, "0:2", CoreReloKind::FieldByteOffset);
    // Wrong kind for the type: a field relocation on an int, an enumerator relocation on a
    // struct, an enumerator index past the enum.
    fx.add(mov(0), int, "0:0", CoreReloKind::FieldByteOffset);
    fx.add(mov(1), s, "0", CoreReloKind::EnumvalValue);
    fx.add(mov(1), e, "5", CoreReloKind::EnumvalValue);
    let report = fx.run(local);
    let errors: Vec<_> = report
        .relocations
        .iter()
        .map(|r| r.result.as_ref().expect_err("malformed relocation applied"))
        .collect();
    assert!(
        matches!(errors[0], CoReError::BadLocalType { .. }),
        "{}",
        errors[0]
    );
    assert!(
        matches!(errors[1], CoReError::BadAccess { .. }),
        "{}",
        errors[1]
    );
    for (i, e) in errors.iter().enumerate() {
        // Every message says which relocation it is.
        assert!(e.to_string().contains(&format!("#{i}")), "{e}");
    }
    assert_eq!(errors.len(), 5);
}
