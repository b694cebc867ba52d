//! CO-RE relocation of real objects: against their own BTF (local == target for every
//! relocation, ambiguity errors for the `err_ambiguous*` programs), against another
//! object's BTF, and through the kernel.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bpfir::btf::{Btf, WireTypeId};
use bpfir::btf_ext::CoreAccess;
use bpfir::btf_ext::CoreReloKind;
use bpfir::co_re::{relocate, CoReError, TargetValue, Targets};
use bpfir::insn::{AluClass, AluOp, Insn, Operand, Reg};
use bpfir::ir::{CoreRelo, Function, Meta, Module};

mod common;

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("corpus not found at {}; skipping", dir.display());
        None
    }
}

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn read(path: &Path) -> Module {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Module::read(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn own_targets(module: &Module) -> Targets {
    let btf = module.btf.clone().expect("object has btf");
    Targets::single("own", Arc::new(btf))
}

/// The objects with CO-RE relocations: corpus paths relative to the corpus, and this
/// repository's testdata.
fn co_re_objects() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(c) = corpus() {
        for name in ["relocs", "relocs_read", "relocs_enum"] {
            for e in ["el", "eb"] {
                out.push(c.join(format!("cilium/btf/testdata/{name}-{e}.elf")));
            }
        }
        for e in ["el", "eb"] {
            out.push(c.join(format!("cilium/testdata/manyprogs-{e}.elf")));
        }
    }
    for name in ["core", "tracing"] {
        for e in ["bpfel", "bpfeb"] {
            out.push(testdata(&format!("{name}.{e}.o")));
        }
    }
    out
}

fn func_name(module: &Module, r: &bpfir::co_re::Relocation) -> String {
    module.function(r.func).name.clone()
}

/// Relocates against the object's own BTF and checks every relocation: local == target,
/// except the `err_ambiguous*` programs, whose relocations must be ambiguous.
fn check_own(path: &Path) -> (usize, usize) {
    let mut module = read(path);
    let targets = own_targets(&module);
    let before: Vec<_> = module.functions().map(|(f, _)| f).collect();
    let report = relocate(&mut module, &targets).unwrap();
    assert_eq!(before.len(), module.functions().len());
    let (mut ok, mut ambiguous) = (0, 0);
    for r in &report.relocations {
        let name = func_name(&module, r);
        if name.starts_with("err_ambiguous") {
            match &r.result {
                Err(CoReError::Ambiguous { candidates, .. }) => {
                    assert!(candidates.len() >= 2, "{}: {candidates:?}", path.display());
                    ambiguous += 1;
                }
                other => panic!(
                    "{} {name}: expected ambiguity, got {other:?}",
                    path.display()
                ),
            }
            continue;
        }
        let applied = r
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("{} {name}: {e}", path.display()));
        assert_eq!(
            applied.target,
            TargetValue::Value(applied.local),
            "{} {name}: relocation #{} {} {} {}",
            path.display(),
            r.index,
            r.kind,
            r.type_name,
            r.access
        );
        if r.kind != CoreReloKind::TypeIdLocal {
            assert!(applied.chosen.is_some() || applied.local == 0, "{r:?}");
        }
        ok += 1;
    }
    (ok, ambiguous)
}

#[test]
fn every_co_re_object_relocates_against_its_own_btf() {
    let mut total = 0;
    let mut n_objects = 0;
    for path in co_re_objects() {
        if !path.exists() {
            eprintln!("{} not found; skipping", path.display());
            continue;
        }
        let (ok, ambiguous) = check_own(&path);
        eprintln!(
            "{}: {ok} relocations local == target, {ambiguous} ambiguous",
            path.display()
        );
        assert!(ok > 0, "{}: no relocations", path.display());
        if path.to_string_lossy().contains("/relocs-") {
            assert!(ambiguous >= 2, "{}: ambiguity not detected", path.display());
        }
        total += ok;
        n_objects += 1;
    }
    eprintln!("{total} relocations of {n_objects} objects");
}

#[test]
fn relocs_read_relocates_against_its_target_object() {
    let Some(c) = corpus() else { return };
    for e in ["el", "eb"] {
        let mut module = read(&c.join(format!("cilium/btf/testdata/relocs_read-{e}.elf")));
        let tgt = read(&c.join(format!("cilium/btf/testdata/relocs_read_tgt-{e}.elf")));
        let targets = Targets::single("tgt", Arc::new(tgt.btf.clone().unwrap()));
        let report = relocate(&mut module, &targets).unwrap();
        assert!(report.is_ok(), "{e}: {:?}", report.errors().next());
        assert_eq!(report.relocations.len(), 47);
        let differ = report
            .relocations
            .iter()
            .filter(|r| {
                let a = r.result.as_ref().unwrap();
                a.target != TargetValue::Value(a.local)
            })
            .count();
        assert!(differ >= 10, "{e}: only {differ} relocations changed");
        let value = |kind: CoreReloKind, ty: &str, access: &str| -> Vec<TargetValue> {
            report
                .relocations
                .iter()
                .filter(|r| r.kind == kind && r.type_name == ty && r.access == access)
                .map(|r| r.result.as_ref().unwrap().target.clone())
                .collect()
        };
        use CoreReloKind::*;
        // struct s { a, b } in the program, { b, a } in the target.
        assert_eq!(value(FieldByteOffset, "s", "0:1"), [TargetValue::Value(0)]);
        assert_eq!(value(FieldByteOffset, "s", "0:0"), [TargetValue::Value(1)]);
        // A 64-bit bitfield in the program, 16 bits at byte 2 in the target.
        assert_eq!(
            value(FieldByteOffset, "bits", "0:6"),
            [TargetValue::Value(2)]
        );
        assert_eq!(value(FieldByteSize, "bits", "0:6"), [TargetValue::Value(2)]);
        assert_eq!(
            value(FieldRshiftU64, "bits", "0:6"),
            [TargetValue::Value(48), TargetValue::Value(48)]
        );
        // Types, fields and enumerators the target lacks.
        assert_eq!(value(TypeExists, "nonexist", "0"), [TargetValue::Value(0)]);
        assert_eq!(
            value(FieldExists, "nonexist", "0:0"),
            [TargetValue::Value(0)]
        );
        assert_eq!(
            value(EnumvalExists, "nonexist_enum", "0"),
            [TargetValue::Value(0)]
        );
        // The patched instructions hold the target values.
        for r in &report.relocations {
            let TargetValue::Value(v) = r.result.as_ref().unwrap().target else {
                panic!("poisoned {r:?}");
            };
            let held = match *module.insn(r.insn) {
                bpfir::insn::Insn::Alu {
                    src: bpfir::insn::Operand::Imm(imm),
                    ..
                } => i64::from(imm) as u64,
                bpfir::insn::Insn::LdImm64 { imm, .. } => imm as u64,
                bpfir::insn::Insn::Load { off, .. } | bpfir::insn::Insn::Store { off, .. } => {
                    i64::from(off) as u64
                }
                ref other => panic!("unexpected relocated insn {other}"),
            };
            assert_eq!(held, v, "{e}: relocation #{}", r.index);
        }
    }
}

#[test]
fn every_object_with_co_re_relocates_against_its_own_btf() {
    // Beyond the named conformance objects: every object of testdata and the corpus that
    // reads and carries CO-RE relocations.
    let (mut n_objects, mut n_relos) = (0, 0);
    for (path, bytes) in common::all_objects() {
        let Ok(module) = Module::read(&bytes) else {
            continue;
        };
        if module.core_relos().len() == 0 {
            continue;
        }
        let (ok, ambiguous) = check_own(&path);
        n_relos += ok + ambiguous;
        n_objects += 1;
    }
    eprintln!("{n_relos} relocations of {n_objects} objects with co-re");
    assert!(common::corpus_dir().is_none() || n_objects >= 12);
}

/// Random relocation records (any local type, kind and a short access string) over a real
/// object's BTF, relocated against that BTF and against a kernel's: every one gives a
/// result or an error, never a panic.
#[test]
fn random_relocations_never_panic() {
    let Some(c) = corpus() else { return };
    let obj = read(&c.join("cilium/btf/testdata/relocs-el.elf"));
    let local = obj.btf.clone().unwrap();
    let mut targets = vec![Targets::single("own", Arc::new(local.clone()))];
    if let Some(bytes) = common::corpus_vmlinux() {
        targets.push(Targets::single(
            "vmlinux",
            Arc::new(Btf::parse(&bytes).unwrap()),
        ));
    }
    let mut rng = common::Rng::from_env(0x5eed_c0de);
    let n_types = local.n_types();
    let mut module = Module::new(local.endian());
    module.btf = Some(local);
    let func = module.add_function(Function::new("prog", "socket", true));
    let n = 3000;
    for _ in 0..n {
        let ty = module
            .btf
            .as_ref()
            .unwrap()
            .type_id(WireTypeId(rng.below(n_types as usize) as u32))
            .unwrap();
        let depth = 1 + rng.below(4);
        let indices: Vec<u32> = (0..depth).map(|_| rng.below(4) as u32).collect();
        let access = CoreAccess::from_indices(indices).unwrap();
        let kind = CoreReloKind::ALL[rng.below(13)];
        let access_str = module
            .btf
            .as_mut()
            .unwrap()
            .add_str(&access.to_string())
            .unwrap();
        let core = module.add_core_relo(CoreRelo {
            ty,
            access_str,
            access,
            kind,
        });
        let insn = match rng.below(3) {
            0 => Insn::Alu {
                class: AluClass::Alu64,
                op: AluOp::Mov,
                dst: Reg::R0,
                src: Operand::Imm(rng.below(64) as i32),
            },
            1 => Insn::Load {
                size: bpfir::insn::Size::W,
                dst: Reg::R0,
                src: Reg::R1,
                off: rng.below(64) as i16,
            },
            _ => Insn::LdImm64 {
                kind: bpfir::insn::PseudoKind::None,
                dst: Reg::R0,
                imm: rng.below(64) as i64,
            },
        };
        let meta = Meta::new().with_core(core);
        module.append(func, insn, meta).unwrap();
    }
    // Make the instructions hold what the local BTF says, so that most relocations get
    // past validation and reach the target side.
    let mut probe = module.clone();
    let report = relocate(&mut probe, &targets[0]).unwrap();
    for r in &report.relocations {
        if let Err(CoReError::ValueMismatch { expected, .. }) = r.result {
            match module.insn_mut(r.insn) {
                Insn::Alu {
                    src: Operand::Imm(imm),
                    ..
                } => *imm = expected as i32,
                Insn::Load { off, .. } => *off = expected as i16,
                Insn::LdImm64 { imm, .. } => *imm = expected as i64,
                _ => {}
            }
        }
    }
    for t in &targets {
        let mut m = module.clone();
        let report = relocate(&mut m, t).unwrap();
        assert_eq!(report.relocations.len(), n);
        let failed = report.errors().count();
        eprintln!(
            "against {}: {} applied, {failed} refused",
            t.get(0).unwrap().name(),
            n - failed
        );
        for e in report.errors() {
            assert!(e.context().is_some());
            assert!(!e.to_string().is_empty());
        }
    }
}

/// `tracing.bpfel.o` reads `task_struct`, `filename` and `pt_regs` fields: against a real
/// kernel's BTF (the corpus' 7.1 vmlinux and the running kernel's) every relocation finds
/// its field; `core.bpfel.o`'s private types exist in no kernel, so its field accesses are
/// poisoned and its existence checks give 0.
#[test]
fn relocations_against_kernel_btf() {
    let mut kernels = Vec::new();
    if let Some(b) = common::corpus_vmlinux() {
        kernels.push(("corpus vmlinux", b));
    }
    if let Some(b) = common::kernel_vmlinux() {
        kernels.push(("running kernel", b));
    }
    for (what, bytes) in kernels {
        let targets = Targets::single("vmlinux", Arc::new(Btf::parse(&bytes).unwrap()));
        let mut tracing = read(&testdata("tracing.bpfel.o"));
        let report = relocate(&mut tracing, &targets).unwrap();
        assert!(report.is_ok(), "{what}: {:?}", report.errors().next());
        for r in &report.relocations {
            let a = r.result.as_ref().unwrap();
            assert!(
                matches!(a.target, TargetValue::Value(_)) && a.chosen.is_some(),
                "{what}: {r:?}"
            );
        }
        let mut core = read(&testdata("core.bpfel.o"));
        let report = relocate(&mut core, &targets).unwrap();
        let (mut poisoned, mut zero) = (0, 0);
        for r in &report.relocations {
            match &r.result {
                Ok(a) => match a.target {
                    TargetValue::Poisoned { .. } => poisoned += 1,
                    TargetValue::Value(0) => zero += 1,
                    TargetValue::Value(_) => {
                        assert_eq!(r.kind, CoreReloKind::TypeIdLocal, "{what}: {r:?}")
                    }
                },
                Err(e) => panic!("{what}: {e}"),
            }
        }
        eprintln!("{what}: core.bpfel.o {poisoned} poisoned, {zero} zero");
        assert!(
            poisoned > 20 && zero > 5,
            "{what}: {poisoned} poisoned, {zero} zero"
        );
    }
}

#[path = "common/kernel.rs"]
mod kernel;

/// Relocates `module` against `targets`, detaches the applied records, and loads and runs
/// once every program whose functions relocated without error: the names of the programs
/// refused by relocation, and for each loaded program its return value or why it failed.
#[allow(clippy::type_complexity)]
fn relocate_load_run(
    mut module: Module,
    targets: &Targets,
    object_name: &str,
) -> (Vec<String>, Vec<(String, Result<u32, String>)>) {
    let report = relocate(&mut module, targets).unwrap();
    report.clear_applied(&mut module);
    let (mut good, mut refused) = (Vec::new(), Vec::new());
    for (func, f) in module.programs() {
        let reached = bpfir::lower::link_order(&module, func);
        if report.errors_in(&reached).next().is_some() {
            refused.push(f.name.clone());
        } else {
            good.push(f.name.clone());
        }
    }
    let opts = bpfir::load::LoadOptions {
        programs: good,
        object_name: object_name.to_owned(),
        ..Default::default()
    };
    let loaded = bpfir::load::load(&module, &opts).unwrap();
    kernel::check_offline_tags(object_name, &loaded);
    let results = loaded
        .programs
        .iter()
        .map(|p| {
            let r = match &p.result {
                Ok(lp) => lp
                    .run_zero_packet(15)
                    .map(|r| r.retval)
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            (p.name.clone(), r)
        })
        .collect();
    (refused, results)
}

#[test]
fn kernel_runs_relocs_against_its_own_btf() {
    if !kernel::kernel_available("kernel_runs_relocs_against_its_own_btf") {
        return;
    }
    let Some(c) = corpus() else { return };
    let module = read(&c.join("cilium/btf/testdata/relocs-el.elf"));
    let targets = own_targets(&module);
    let (refused, results) = relocate_load_run(module, &targets, "relocs");
    assert_eq!(refused, ["err_ambiguous", "err_ambiguous_flavour"]);
    let mut passed = 0;
    for (name, r) in &results {
        if name == "type_ids" {
            // Asserts local != target ids, which needs a rebuilt BTF (see the corpus README).
            eprintln!("type_ids: {r:?} (not checked)");
        } else {
            assert_eq!(r, &Ok(0), "{name}");
            passed += 1;
        }
    }
    eprintln!("{passed} of {} relocs programs returned 0", results.len());
    assert_eq!(
        passed + 1,
        results.len(),
        "every program but type_ids returns 0"
    );
}

#[test]
fn kernel_runs_relocs_read_against_its_target() {
    if !kernel::kernel_available("kernel_runs_relocs_read_against_its_target") {
        return;
    }
    let Some(c) = corpus() else { return };
    let module = read(&c.join("cilium/btf/testdata/relocs_read-el.elf"));
    let tgt = read(&c.join("cilium/btf/testdata/relocs_read_tgt-el.elf"));
    let targets = Targets::single("tgt", Arc::new(tgt.btf.clone().unwrap()));
    let (refused, results) = relocate_load_run(module, &targets, "relocs_read");
    assert!(refused.is_empty());
    assert!(!results.is_empty());
    for (name, r) in &results {
        assert_eq!(r, &Ok(0), "{name}");
    }
}

#[test]
fn kernel_runs_core_testdata_against_its_own_btf() {
    if !kernel::kernel_available("kernel_runs_core_testdata_against_its_own_btf") {
        return;
    }
    let module = read(&testdata("core.bpfel.o"));
    let targets = own_targets(&module);
    let (refused, results) = relocate_load_run(module, &targets, "core");
    assert!(refused.is_empty());
    assert_eq!(results.len(), 1);
    for (name, r) in &results {
        assert_eq!(r, &Ok(0), "{name}");
    }
}

#[test]
fn kernel_loads_tracing_relocated_against_the_running_kernel() {
    if !kernel::kernel_available("kernel_loads_tracing_relocated_against_the_running_kernel") {
        return;
    }
    let Some(bytes) = common::kernel_vmlinux() else {
        return;
    };
    let vmlinux = Arc::new(Btf::parse(&bytes).unwrap());
    let targets = Targets::single("vmlinux", vmlinux.clone());
    let mut module = read(&testdata("tracing.bpfel.o"));
    let report = relocate(&mut module, &targets).unwrap();
    assert!(report.is_ok(), "{:?}", report.errors().next());
    report.clear_applied(&mut module);
    assert!(module
        .functions()
        .all(|(f, _)| module.func_insns(f).all(|i| module.core_of(i).is_none())));
    let opts = bpfir::load::LoadOptions {
        object_name: "tracing".to_owned(),
        kernel_btf: Some(vmlinux),
        ..Default::default()
    };
    let loaded = bpfir::load::load(&module, &opts).unwrap();
    kernel::check_offline_tags("tracing", &loaded);
    for p in &loaded.programs {
        assert!(p.result.is_ok(), "{}: {:?}", p.name, p.result);
    }
    assert!(loaded.programs.len() >= 3);
}

#[test]
fn cli_dump_shows_each_relocation_result() {
    let td = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bpfir"))
        .args([
            "dump",
            td.join("core_reloc.bpfel.o").to_str().unwrap(),
            "--target-btf",
            td.join("core_target.bpfel.o").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let report: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains("CO-RE relocations against"))
        .skip(1)
        .collect();
    // One line per relocation of the object (130 in the little-endian build), each with
    // its local and target value or what went wrong.
    assert_eq!(report.len(), 130, "{text}");
    assert!(report.iter().all(|l| l.starts_with('#')));
    assert!(report
        .iter()
        .any(|l| l.contains("lshift_u64") && l.contains("->")));
}
