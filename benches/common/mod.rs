//! What the benchmarks share: reading criterion's medians back to print ratios.
#![allow(dead_code)]

pub mod alloc;
pub mod libbpf_obj;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Where criterion writes its reports: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`,
/// else `target/criterion` in the crate (cargo runs benches from the crate root).
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("criterion")
}

/// The median (ns) of one benchmark, from `<dir>/<group>/<id>/new/estimates.json` if criterion
/// wrote that file after `since` (so a benchmark filtered out of this run shows no stale value).
pub fn median_ns(dir: &Path, group: &str, id: &str, since: SystemTime) -> Option<f64> {
    let path = dir.join(group).join(id).join("new/estimates.json");
    if std::fs::metadata(&path).ok()?.modified().ok()? < since {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    // estimates.json: {"mean":{...},"median":{"confidence_interval":{...},"point_estimate":X,...
    let rest = &text[text.find("\"median\"")?..];
    let rest = &rest[rest.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = rest.find([',', '}'])?;
    rest[..end].trim().parse().ok()
}

/// The kernel BTF blob to benchmark with, and where it came from: `$BPFIR_BENCH_BTF`, else
/// `/sys/kernel/btf/vmlinux`, else the corpus' gunzipped `vmlinux.btf.gz`.
pub fn load_blob() -> (Vec<u8>, String) {
    if let Some(path) = std::env::var_os("BPFIR_BENCH_BTF") {
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("cannot read BPFIR_BENCH_BTF={path:?}: {e}"));
        return (bytes, Path::new(&path).display().to_string());
    }
    let sys = Path::new("/sys/kernel/btf/vmlinux");
    if let Ok(bytes) = std::fs::read(sys) {
        if !bytes.is_empty() {
            return (bytes, sys.display().to_string());
        }
    }
    let gz = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/cilium/btf/testdata/vmlinux.btf.gz");
    let file = std::fs::File::open(&gz).unwrap_or_else(|e| {
        panic!(
            "no kernel BTF for the benchmark: {} unreadable and {}: {e}",
            sys.display(),
            gz.display()
        )
    });
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .unwrap_or_else(|e| panic!("cannot gunzip {}: {e}", gz.display()));
    (bytes, gz.display().to_string())
}
pub mod libbpf_btf;

/// Every object named `*el.o` (`bpf_bpfel.o` and the like: little-endian; the `-el.elf` test
/// objects are not among them) under `<corpus>/cilium`,
/// walked depth first; directories that cannot be read are skipped.
pub fn cilium_little_endian_objects(corpus: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let mut stack = vec![corpus.join("cilium")];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with("el.o") {
                paths.push(p);
            }
        }
    }
    paths
}
