//! CO-RE relocation of real objects: against their own BTF (local == target for every
//! relocation, ambiguity errors for the `err_ambiguous*` programs), against another
//! object's BTF, and through the kernel.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bpfir::btf_ext::CoreReloKind;
use bpfir::co_re::{relocate, CoReError, TargetValue, Targets};
use bpfir::ir::Module;

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
