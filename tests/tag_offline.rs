//! `LoweredProgram::tag` without loading: on the kernel's selftests corpus
//! (`../shared/corpus/selftests`), every program bpfir prepares (CO-RE against the running
//! kernel, ksyms and kfuncs against its BTF) and lowers offline, with placeholder map fds, is
//! compared with the tag the kernel reported for libbpf's load of the same object
//! (`libbpf-tags.txt`). A program with the same tag got the same instructions.
//!
//! The tags hold for the kernel that made them: on another kernel release the test says so
//! and only counts. Skips with a note when the corpus or the kernel's BTF is absent.

#![cfg(all(feature = "kernel", target_os = "linux"))]

mod common;

use std::collections::{BTreeMap, HashMap};

use bpfir::ir::Module;
use bpfir::load::{prepare, LoadOptions};
use bpfir::lower::{lower, ExternBinding};

/// Programs whose lowering differs from libbpf's today (a difference in the instructions,
/// not in the tag computation). Any other difference fails. `test_task_kfunc_flavor_relo`:
/// libbpf resolves the flavoured kfunc `bpf_task_acquire___one` to `bpf_task_acquire`
/// (same prototype); bpfir's loader takes it as absent.
const KNOWN_DIFFERENT: &[(&str, &str)] =
    &[("task_kfunc_success.bpf.o", "test_task_kfunc_flavor_relo")];

/// Offline tags of the programs of `module` named in `want` (name -> libbpf's tag):
/// `(name, Ok(tag) | Err(why it did not lower))`.
fn offline_tags(
    module: &Module,
    object: &str,
    want: &HashMap<String, String>,
) -> Vec<(String, Result<String, String>)> {
    let opts = LoadOptions {
        object_name: object.split('.').next().unwrap_or(object).to_string(),
        ..LoadOptions::default()
    };
    let prepared = match prepare(module, &opts) {
        Ok(p) => p,
        Err(e) => {
            return want
                .keys()
                .map(|n| (n.clone(), Err(format!("prepare: {e}"))))
                .collect()
        }
    };
    let module = prepared.relocated.as_ref().unwrap_or(module);
    // Map fds do not enter the tag: any placeholder will do.
    let mut bindings = prepared.bindings.clone();
    for (i, (id, _)) in module.maps().enumerate() {
        bindings.maps.insert(id, 100 + i as i32);
    }
    for (i, (id, _)) in module.data_sections().enumerate() {
        bindings.data.insert(id, 1000 + i as i32);
    }
    if let Some(k) = &prepared.kconfig {
        for &(id, offset) in &k.offsets {
            bindings
                .externs
                .insert(id, ExternBinding::MapValue { fd: 999, offset });
        }
    }
    let mut out = Vec::new();
    for (func, f) in module.programs() {
        if !want.contains_key(&f.name) {
            continue;
        }
        let r = lower(module, func, &bindings)
            .map(|l| l.tag_hex())
            .map_err(|e| format!("lower: {e}"));
        out.push((f.name.clone(), r));
    }
    out
}

#[test]
fn offline_tags_equal_the_kernels_on_the_selftests() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let dir = dir.join("selftests");
    let Ok(list) = std::fs::read_to_string(dir.join("libbpf-tags.txt")) else {
        eprintln!("skipping: no selftests corpus in {}", dir.display());
        return;
    };
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        eprintln!("skipping: no /sys/kernel/btf/vmlinux");
        return;
    }
    let version = std::fs::read_to_string(dir.join("VERSION")).unwrap_or_default();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let same_kernel = version.contains(release.trim());
    let mut objects: BTreeMap<String, HashMap<String, String>> = BTreeMap::new();
    for line in list.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [object, program, tag] = f[..] {
            objects
                .entry(object.to_string())
                .or_default()
                .insert(program.to_string(), tag.to_string());
        }
    }
    let (mut equal, mut differ, mut not_lowered) = (0, Vec::new(), Vec::new());
    for (object, want) in &objects {
        let bytes = std::fs::read(dir.join("obj").join(object)).unwrap();
        let module = match Module::read(&bytes) {
            Ok(m) => m,
            Err(e) => {
                for name in want.keys() {
                    not_lowered.push(format!("{object} {name}: read: {e}"));
                }
                continue;
            }
        };
        let got = offline_tags(&module, object, want);
        for name in want.keys() {
            if !got.iter().any(|(n, _)| n == name) {
                not_lowered.push(format!("{object} {name}: bpfir sees no such program"));
            }
        }
        for (name, got) in got {
            match got {
                Ok(tag) if tag == want[&name] => equal += 1,
                Ok(tag) => differ.push((object.clone(), name, tag)),
                Err(e) => not_lowered.push(format!("{object} {name}: {e}")),
            }
        }
    }
    // The stored tags were made on one kernel build; kfunc BTF ids (and so the tags of
    // programs calling kfuncs) differ on another. Ask libbpf on this kernel for the objects
    // whose tags differ, when its loader and the kernel are here.
    let live = live_libbpf_tags(&dir, differ.iter().map(|(o, _, _)| o.as_str()));
    let mut live_equal = 0;
    let mut still_differ = Vec::new();
    for (object, name, tag) in &differ {
        match live.get(&(object.clone(), name.clone())) {
            Some(t) if t == tag => live_equal += 1,
            Some(t) => {
                let known = KNOWN_DIFFERENT.contains(&(object.as_str(), name.as_str()));
                assert!(
                    known || live.is_empty(),
                    "{object} {name}: offline tag {tag}, libbpf on this kernel {t}"
                );
                still_differ.push(format!("{object} {name}: {tag}, libbpf here {t}"));
            }
            None => still_differ.push(format!(
                "{object} {name}: {tag}, libbpf did not load it here"
            )),
        }
    }
    for d in &still_differ {
        eprintln!("differs: {d}");
    }
    for n in &not_lowered {
        eprintln!("not lowered: {n}");
    }
    let total: usize = objects.values().map(HashMap::len).sum();
    if same_kernel || !live.is_empty() {
        assert!(
            equal + live_equal + KNOWN_DIFFERENT.len() + not_lowered.len() >= total,
            "{} programs differ",
            still_differ.len()
        );
    }
    eprintln!(
        "{equal} of {total} libbpf-loaded programs: offline tag equal to the stored tag; \
         {live_equal} more equal libbpf's on this kernel; {} differ; {} not lowered offline{}",
        still_differ.len(),
        not_lowered.len(),
        if same_kernel {
            ""
        } else {
            " (stored tags made on another kernel)"
        }
    );
}

/// `(object, program) -> tag` from libbpf-1.8-load on this kernel for `objects`; empty when
/// the tool or the kernel is not here.
fn live_libbpf_tags<'a>(
    dir: &std::path::Path,
    objects: impl Iterator<Item = &'a str>,
) -> HashMap<(String, String), String> {
    let tool = dir.join("../../tools/libbpf-1.8-load");
    let mut out = HashMap::new();
    if !tool.exists() || bpfir::sys::probe().is_err() {
        eprintln!("no libbpf-1.8-load or no bpf(): differing tags are not re-checked");
        return out;
    }
    let mut seen = std::collections::BTreeSet::new();
    for object in objects {
        if !seen.insert(object) {
            continue;
        }
        let Ok(run) = std::process::Command::new(&tool)
            .arg("-o")
            .arg(object)
            .arg(dir.join("obj").join(object))
            .output()
        else {
            continue;
        };
        for line in String::from_utf8_lossy(&run.stdout).lines() {
            if let [o, p, t] = line.split_whitespace().collect::<Vec<_>>()[..] {
                out.insert((o.to_string(), p.to_string()), t.to_string());
            }
        }
    }
    out
}
