//! Opening objects without loading them: bpfir's `Module::read`, aya-obj's `Object::parse`
//! and (feature `bench-libbpf`) libbpf's `bpf_object__open_mem`, over the same real objects
//! in one run.
//!
//! The objects are the kernel selftests that libbpf 1.8 loads whole
//! (`../shared/corpus/selftests/libbpf-ok.txt`, 396 objects), else (a clean clone, no
//! corpus) every `testdata/*.bpfel.o`; `$BPFIR_BENCH_OPEN_LIST` names another list (one path
//! a line). The first comparison times only the objects every measured library accepts
//! (the run says how many each refuses), so each does the same work; a second one times
//! bpfir and libbpf alone on every object both open (aya-obj 0.3 refuses many selftests).
//!
//! One round opens (and drops) every object once with one library; rounds are interleaved
//! across the libraries (in an order that rotates from round to round), so a burst of load
//! from other processes hits all of them alike, and each library's time is the median of
//! its rounds (41, or `$BPFIR_BENCH_OPEN_ROUNDS`). What each one does: bpfir decodes
//! every instruction, parses `.BTF` and `.BTF.ext`, attaches func/line/CO-RE records to
//! instructions, resolves relocations and jumps to ids, and checks everything it promises
//! about untrusted input; libbpf parses the ELF, BTF and BTF.ext, collects programs, maps
//! and relocations; aya-obj parses the ELF, BTF and programs. At the end: the medians and
//! `other / bpfir` ratios (above 1: bpfir is faster). Goal: libbpf / bpfir >= 1.0.

#[path = "common/mod.rs"]
mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The objects to open, and where the list came from.
fn objects() -> (Vec<(PathBuf, Vec<u8>)>, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: PathBuf| {
        let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {p:?}: {e}"));
        (p, bytes)
    };
    if let Some(list) = std::env::var_os("BPFIR_BENCH_OPEN_LIST") {
        let text = std::fs::read_to_string(&list).expect("read BPFIR_BENCH_OPEN_LIST");
        let objs = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| read(PathBuf::from(l.trim())))
            .collect();
        return (objs, format!("the list {list:?}"));
    }
    let selftests = root.join("../shared/corpus/selftests");
    if let Ok(text) = std::fs::read_to_string(selftests.join("libbpf-ok.txt")) {
        let objs = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|n| read(selftests.join("obj").join(format!("{}.bpf.o", n.trim()))))
            .collect();
        return (
            objs,
            "the selftests objects libbpf 1.8 loads whole (corpus libbpf-ok.txt)".into(),
        );
    }
    println!("note: no ../shared/corpus: opening testdata/*.bpfel.o instead");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join("testdata"))
        .expect("testdata")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bpfel.o"))
        .collect();
    paths.sort();
    (
        paths.into_iter().map(read).collect(),
        "testdata/*.bpfel.o".into(),
    )
}

/// One library under test: its name and how it opens one object (false: refused).
struct Opener {
    name: &'static str,
    open: fn(&[u8]) -> bool,
}

fn openers() -> Vec<Opener> {
    #[allow(unused_mut)] // pushed to with `bench-libbpf`
    let mut v = vec![
        Opener {
            name: "bpfir",
            open: |b| {
                bpfir::ir::Module::read(b)
                    .map(|m| drop(black_box(m)))
                    .is_ok()
            },
        },
        Opener {
            name: "aya-obj",
            open: |b| {
                aya_obj::Object::parse(b)
                    .map(|o| drop(black_box(o)))
                    .is_ok()
            },
        },
    ];
    #[cfg(feature = "bench-libbpf")]
    v.push(Opener {
        name: "libbpf",
        open: |b| {
            common::libbpf_obj::LibbpfObject::open(b)
                .map(|o| drop(black_box(o)))
                .is_some()
        },
    });
    v
}

/// Median milliseconds of `rounds` interleaved rounds (after one warm-up round each) in
/// which every opener of `openers` opens every object of `objs` once. The order of the
/// openers rotates from round to round, so none always runs right after the same other
/// one (the heap and cache state one library leaves is what the next starts from).
fn time_rounds(openers: &[&Opener], objs: &[&[u8]], rounds: usize) -> Vec<f64> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); openers.len()];
    for round in 0..=rounds {
        for k in 0..openers.len() {
            let i = (round + k) % openers.len();
            let o = openers[i];
            let t = Instant::now();
            for b in objs {
                (o.open)(black_box(b));
            }
            if round > 0 {
                times[i].push(t.elapsed());
            }
        }
    }
    times
        .iter_mut()
        .map(|t| {
            t.sort();
            t[t.len() / 2].as_secs_f64() * 1e3
        })
        .collect()
}

/// Prints the medians of one comparison and each `other / bpfir` ratio (the first opener
/// is bpfir).
fn report(title: &str, openers: &[&Opener], medians: &[f64], n_objs: usize) {
    println!();
    println!("== {title} (other / bpfir: > 1 means bpfir is faster)");
    let ours = medians[0];
    for (o, &m) in openers.iter().zip(medians) {
        if o.name == "bpfir" {
            println!("{:>8}: {m:>8.2} ms for {n_objs} objects", o.name);
        } else {
            let goal = if o.name == "libbpf" {
                let met = if m / ours >= 1.0 { "met" } else { "MISSED" };
                format!(" (goal >= 1.0: {met})")
            } else {
                String::new()
            };
            println!(
                "{:>8}: {m:>8.2} ms, {}/bpfir = {:.2}{goal}",
                o.name,
                o.name,
                m / ours
            );
        }
    }
}

fn main() {
    #[cfg(feature = "bench-libbpf")]
    common::libbpf_obj::silence();
    let (all, source) = objects();
    let openers = openers();
    // Which library opens which object.
    let accepted: Vec<Vec<bool>> = all
        .iter()
        .map(|(_, bytes)| openers.iter().map(|o| (o.open)(bytes)).collect())
        .collect();
    for ((path, _), ok) in all.iter().zip(&accepted) {
        if !ok[0] {
            println!("bpfir refuses {}", path.display());
        }
    }
    // Only what every library in `which` opens.
    let common_to = |which: &[usize]| -> Vec<&[u8]> {
        all.iter()
            .zip(&accepted)
            .filter(|(_, ok)| which.iter().all(|&i| ok[i]))
            .map(|((_, b), _)| b.as_slice())
            .collect()
    };
    let everyone: Vec<usize> = (0..openers.len()).collect();
    let objs = common_to(&everyone);
    let total: usize = objs.iter().map(|b| b.len()).sum();
    println!(
        "== open {} objects ({:.1} MiB) of {source}: {} of {} opened by every library",
        objs.len(),
        total as f64 / (1 << 20) as f64,
        objs.len(),
        all.len()
    );
    for (i, o) in openers.iter().enumerate() {
        let n = accepted.iter().filter(|ok| !ok[i]).count();
        println!("  {} refuses {n}", o.name);
    }
    #[cfg(feature = "bench-libbpf")]
    println!(
        "  libbpf {} (pkg-config --modversion libbpf)",
        common::libbpf_obj::version()
    );
    if objs.is_empty() {
        return;
    }
    let rounds: usize = std::env::var("BPFIR_BENCH_OPEN_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(41);
    let all_openers: Vec<&Opener> = openers.iter().collect();
    let medians = time_rounds(&all_openers, &objs, rounds);
    report(
        &format!("all libraries, medians of {rounds} interleaved rounds"),
        &all_openers,
        &medians,
        objs.len(),
    );
    // bpfir and libbpf alone, on every object both open (aya-obj refuses many).
    if let Some(lb) = openers.iter().position(|o| o.name == "libbpf") {
        let pair = [&openers[0], &openers[lb]];
        let objs = common_to(&[0, lb]);
        let medians = time_rounds(&pair, &objs, rounds);
        report(
            &format!("bpfir and libbpf on the {} objects both open", objs.len()),
            &pair,
            &medians,
            objs.len(),
        );
    } else {
        println!("(libbpf not measured: run with --features bench-libbpf)");
    }
}
