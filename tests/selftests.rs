//! Conformance with libbpf on the kernel's own BPF selftests (`../shared/corpus/selftests`,
//! see its README): every object libbpf 1.8 loads whole, bpfir loads whole, and every
//! program it loads carries the kernel tag libbpf's program got (the same instructions).
//!
//! Two parts:
//! * offline, every one of the objects in `obj/` is read and dumped, or refused with a clean
//!   error, never a panic;
//! * on the kernel the lists were made on (`VERSION`), each object of `libbpf-ok.txt` is
//!   loaded as `bpfir load OBJ` loads it and compared with `libbpf-tags.txt`.
//!
//! The counts are ratchets: they may only rise (the goal is every object and every tag).
//! Maps pinned by name go to a directory of this process under `/sys/fs/bpf`, removed at
//! the end; every fd is closed when its object's load is dropped.

#[path = "common/kernel.rs"]
mod kernel;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bpfir::btf::Btf;
use bpfir::ir::Module;
use bpfir::load::{load, LoadOptions};

/// Objects of `libbpf-ok.txt` bpfir loads whole (at least).
const FLOOR_OBJECTS: usize = 396;
/// Programs of `libbpf-tags.txt` whose bpfir tag equals libbpf's (at least).
const FLOOR_TAGS: usize = 1059;
/// Objects of `obj/` that read and dump (at least; the others must fail cleanly).
const FLOOR_DUMPED: usize = 703;

fn selftests_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/selftests");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("selftests corpus not found at {}; skipping", dir.display());
        None
    }
}

/// The object name `bpfir load` gives a file (`x.bpf.o` → `x`).
fn object_name(path: &Path) -> String {
    path.file_name()
        .and_then(|s| s.to_str())
        .map(|s| s.split('.').next().unwrap_or(s).to_string())
        .unwrap_or_default()
}

#[test]
fn every_object_dumps_or_fails_cleanly() {
    let Some(dir) = selftests_dir() else { return };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join("obj"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no objects in {}", dir.display());
    let (mut dumped, mut refused) = (0, Vec::new());
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let outcome =
            std::panic::catch_unwind(|| Module::read(&bytes).map(|m| m.dump().to_string().len()));
        match outcome {
            Ok(Ok(len)) => {
                assert!(len > 0, "{name}: empty dump");
                dumped += 1;
            }
            Ok(Err(e)) => {
                let msg = e.to_string();
                assert!(!msg.is_empty(), "{name}: empty error message");
                refused.push(format!("{name}: {msg}"));
            }
            Err(_) => panic!("{name}: reading or dumping panicked"),
        }
    }
    eprintln!(
        "selftests dump: {dumped} of {} objects dumped, {} refused with an error",
        paths.len(),
        refused.len()
    );
    for r in &refused {
        eprintln!("  {r}");
    }
    assert!(
        dumped >= FLOOR_DUMPED,
        "{dumped} objects dumped, fewer than the floor {FLOOR_DUMPED}"
    );
}

/// The kernel release the lists were made on, from `VERSION` (`... from RELEASE`).
fn lists_kernel(version: &str) -> Option<String> {
    version
        .lines()
        .find_map(|l| l.split(" from ").nth(1))
        .map(|r| r.trim().to_string())
}

/// What the loads are compared with: the objects libbpf loads whole and the tag of each
/// program it loaded (object file name -> program -> tag).
struct Reference {
    ok: Vec<String>,
    tags: BTreeMap<String, BTreeMap<String, String>>,
}

fn parse_tags(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut tags: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for line in text.lines() {
        if let [obj, prog, tag] = line.split_whitespace().collect::<Vec<_>>()[..] {
            tags.entry(obj.to_string())
                .or_default()
                .insert(prog.to_string(), tag.to_string());
        }
    }
    tags
}

/// The corpus's lists, made on the kernel `VERSION` names.
fn shipped_reference(dir: &Path) -> Reference {
    let ok = std::fs::read_to_string(dir.join("libbpf-ok.txt"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let tags = parse_tags(&std::fs::read_to_string(dir.join("libbpf-tags.txt")).unwrap());
    Reference { ok, tags }
}

/// The same lists made now, on this kernel, by the reference loader
/// (`../shared/tools/libbpf-1.8-load`) over the objects of `libbpf-ok.txt`: kfunc ids and
/// CO-RE results belong to one kernel build, so another build's tags cannot be compared.
/// It runs in a mount namespace of its own with a fresh bpf filesystem, so the maps libbpf
/// pins by name stay out of `/sys/fs/bpf`. `None` when the loader cannot run here.
fn reference_made_here(dir: &Path, shipped: &Reference) -> Option<Reference> {
    let tool = dir.join("../../tools/libbpf-1.8-load");
    if !tool.is_file() {
        eprintln!("no reference loader at {}", tool.display());
        return None;
    }
    let mut script = String::from("mount -t bpf bpf /sys/fs/bpf || exit 99\n");
    for name in &shipped.ok {
        script.push_str(&format!(
            "if \"$0\" -q -o {name}.bpf.o \"$1/obj/{name}.bpf.o\" >> \"$2\"; then echo {name} >> \"$3\"; fi\n"
        ));
    }
    let out_dir = std::env::temp_dir().join(format!("bpfir-selftests-ref-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).ok()?;
    let (tags_file, ok_file) = (out_dir.join("tags.txt"), out_dir.join("ok.txt"));
    let _ = std::fs::remove_file(&tags_file);
    let _ = std::fs::remove_file(&ok_file);
    let status = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .arg(&tool)
        .arg(dir)
        .arg(&tags_file)
        .arg(&ok_file)
        .stderr(std::process::Stdio::null())
        .status();
    let ok_text = std::fs::read_to_string(&ok_file).unwrap_or_default();
    let tags_text = std::fs::read_to_string(&tags_file).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&out_dir);
    match status {
        Ok(s) if s.success() => {}
        other => {
            eprintln!("the reference loader could not run here ({other:?})");
            return None;
        }
    }
    let ok: Vec<String> = ok_text.lines().map(String::from).collect();
    if ok.is_empty() {
        eprintln!("the reference loader loaded nothing here");
        return None;
    }
    Some(Reference {
        ok,
        tags: parse_tags(&tags_text),
    })
}

#[test]
fn libbpf_ok_objects_load_with_libbpfs_tags() {
    let Some(dir) = selftests_dir() else { return };
    if !kernel::kernel_available("libbpf_ok_objects_load_with_libbpfs_tags") {
        return;
    }
    let version = std::fs::read_to_string(dir.join("VERSION")).unwrap();
    let Some(wanted) = lists_kernel(&version) else {
        panic!(
            "{}: names no kernel (`... from RELEASE`)",
            dir.join("VERSION").display()
        );
    };
    let running = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let shipped = shipped_reference(&dir);
    let reference = if running == wanted {
        shipped
    } else {
        eprintln!(
            "selftests: the corpus's tags were taken on kernel {wanted}, this is {running}: they cannot be compared (kfunc ids and CO-RE results differ between builds); making the lists again here with the reference loader"
        );
        match reference_made_here(&dir, &shipped) {
            Some(r) => r,
            None => {
                eprintln!("skipping the selftests load: no reference for kernel {running}");
                return;
            }
        }
    };
    let Reference { ok, tags } = reference;
    let n_tags: usize = tags.values().map(BTreeMap::len).sum();

    let kernel_btf =
        Arc::new(Btf::parse(&std::fs::read("/sys/kernel/btf/vmlinux").unwrap()).unwrap());
    let Some(pins) = kernel::PinDir::new("libbpf_ok_objects_load_with_libbpfs_tags") else {
        return;
    };
    let pin_root = pins.path().to_path_buf();

    let (mut whole, mut tags_equal) = (0, 0);
    let mut failures = Vec::new();
    for name in &ok {
        let file = format!("{name}.bpf.o");
        let path = dir.join("obj").join(&file);
        let want = tags.get(&file).cloned().unwrap_or_default();
        let module = match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| Module::read(&b).map_err(|e| e.to_string()))
        {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{name}: read: {e}"));
                continue;
            }
        };
        let opts = LoadOptions {
            kernel_btf: Some(kernel_btf.clone()),
            pin_root: Some(pin_root.clone()),
            object_name: object_name(&path),
            ..LoadOptions::default()
        };
        let loaded = match load(&module, &opts) {
            Ok(l) => l,
            Err(e) => {
                failures.push(format!("{name}: load: {}", first_line(&e.to_string())));
                continue;
            }
        };
        let mut all = true;
        for p in &loaded.programs {
            match &p.result {
                Ok(lp) => match want.get(&p.name) {
                    Some(t) if *t == lp.tag => tags_equal += 1,
                    Some(t) => failures.push(format!(
                        "{name}/{}: tag {} where libbpf's is {t}",
                        p.name, lp.tag
                    )),
                    None => {}
                },
                Err(e) => {
                    all = false;
                    failures.push(format!("{name}/{}: {}", p.name, first_line(&e.to_string())));
                }
            }
        }
        for prog in want.keys() {
            if !loaded.programs.iter().any(|p| &p.name == prog) {
                failures.push(format!(
                    "{name}/{prog}: libbpf loaded it, bpfir did not try"
                ));
            }
        }
        if all {
            whole += 1;
        }
        drop(loaded);
        // Pins of this object (test_pinning* reuse theirs within one object only).
        clear_pins(&pin_root);
    }
    eprintln!(
        "selftests load: {whole} of {} objects whole, {tags_equal} of {n_tags} programs with libbpf's tag",
        ok.len()
    );
    for f in &failures {
        eprintln!("  {f}");
    }
    assert!(
        whole >= FLOOR_OBJECTS,
        "{whole} objects whole, fewer than the floor {FLOOR_OBJECTS}"
    );
    assert!(
        tags_equal >= FLOOR_TAGS,
        "{tags_equal} tags equal, fewer than the floor {FLOOR_TAGS}"
    );
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn clear_pins(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
