//! BTF benchmarks: parse and marshal a kernel-sized BTF blob with bpfir, aya-obj and (with the
//! `bench-libbpf` feature) libbpf, side by side in one run.
//!
//! The blob is `$BPFIR_BENCH_BTF` if set, else `/sys/kernel/btf/vmlinux`, else the gunzipped
//! `../shared/corpus/cilium/btf/testdata/vmlinux.btf.gz` next to the crate root.
//!
//! Before timing, a counting global allocator measures each parser's peak and retained heap
//! (the input blob itself is not counted: it is allocated before the window opens). After
//! timing, the medians are read back from criterion's `estimates.json` files and printed as
//! ratios. Costs: the allocator adds one relaxed atomic load per allocation while it is not
//! counting, the same for every Rust parser; libbpf allocates through `malloc` and is not
//! seen by it (its retained heap comes from glibc's `mallinfo2`).

#[path = "common/mod.rs"]
mod common;
use common::alloc::{measure_heap, CountingAlloc};
use common::{criterion_dir, load_blob, median_ns};
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

#[cfg(feature = "bench-libbpf")]
use common::libbpf_btf as libbpf;

fn ratio(n: usize, blob: usize) -> f64 {
    n as f64 / blob as f64
}

/// Peak heap of one bpfir parse as a ratio to the blob, for the table at the end.
static PEAK_RATIO_PERMILLE: AtomicIsize = AtomicIsize::new(-1);

/// Measures and prints heap use of each parser once, and checks that every parser accepts
/// the blob (and that bpfir and aya-obj marshal it back byte for byte).
fn report_memory(blob: &[u8], source: &str) {
    let len = blob.len();
    println!();
    println!(
        "== BTF memory: {source}, {len} bytes ({:.2} MiB)",
        len as f64 / (1 << 20) as f64
    );

    let (btf, heap) = measure_heap(|| bpfir::btf::Btf::parse(blob).expect("bpfir parse"));
    println!(
        "bpfir   parse: peak heap {:>10} B = {:.3}x blob, retained {:>10} B = {:.3}x blob \
         (heap_size() says {} B), {} types",
        heap.peak,
        ratio(heap.peak, len),
        heap.retained,
        ratio(heap.retained, len),
        btf.heap_size(),
        btf.n_types(),
    );
    PEAK_RATIO_PERMILLE.store(
        (ratio(heap.peak, len) * 1000.0).round() as isize,
        Ordering::Relaxed,
    );
    let goal = if heap.peak * 5 <= 6 * len {
        "met"
    } else {
        "MISSED"
    };
    println!("bpfir   goal peak <= 1.2x blob: {goal}");
    assert!(
        btf.to_bytes() == blob,
        "bpfir does not re-marshal the blob byte for byte"
    );
    let (_, heap) = measure_heap(|| btf.build_type_name_index());
    println!(
        "bpfir   type name index (CO-RE's): {:>10} B = {:.3}x blob (built on the first lookup)",
        heap.retained,
        ratio(heap.retained, len)
    );
    drop(btf);

    let (aya, heap) =
        measure_heap(|| aya_obj::btf::Btf::parse(blob, Default::default()).expect("aya-obj parse"));
    println!(
        "aya-obj parse: peak heap {:>10} B = {:.3}x blob, retained {:>10} B = {:.3}x blob",
        heap.peak,
        ratio(heap.peak, len),
        heap.retained,
        ratio(heap.retained, len),
    );
    let aya_same = aya.to_bytes() == blob;
    println!("aya-obj to_bytes() reproduces the blob: {aya_same}");
    drop(aya);

    #[cfg(feature = "bench-libbpf")]
    {
        let before = libbpf::malloc_in_use();
        let btf = libbpf::LibbpfBtf::parse(blob).expect("libbpf btf__new");
        let after = libbpf::malloc_in_use();
        let retained = after.saturating_sub(before);
        println!(
            "libbpf {} btf__new: retained malloc {:>10} B = {:.3}x blob (mallinfo2; peak not \
             measured), {} types",
            libbpf::version(),
            retained,
            ratio(retained, len),
            btf.type_cnt(),
        );
    }
    println!();
}

fn bench_parse(c: &mut Criterion, blob: &[u8]) {
    let mut group = c.benchmark_group("btf_parse");
    group.throughput(Throughput::Bytes(blob.len() as u64));
    group.bench_function(BenchmarkId::from_parameter("bpfir"), |b| {
        b.iter(|| bpfir::btf::Btf::parse(black_box(blob)).expect("bpfir parse"))
    });
    group.bench_function(BenchmarkId::from_parameter("aya-obj"), |b| {
        b.iter(|| {
            aya_obj::btf::Btf::parse(black_box(blob), Default::default()).expect("aya-obj parse")
        })
    });
    #[cfg(feature = "bench-libbpf")]
    group.bench_function(BenchmarkId::from_parameter("libbpf"), |b| {
        b.iter(|| libbpf::LibbpfBtf::parse(black_box(blob)).expect("libbpf btf__new"))
    });
    group.finish();

    // Parse + the essential-name index CO-RE needs (`build_type_name_index`: every kind but
    // FUNC, VAR, DATASEC and DECL_TAG, which have their own index). libbpf has no such
    // index; the reference is its parse above.
    let mut group = c.benchmark_group("btf_parse_index");
    group.throughput(Throughput::Bytes(blob.len() as u64));
    group.bench_function(BenchmarkId::from_parameter("bpfir"), |b| {
        b.iter(|| {
            let btf = bpfir::btf::Btf::parse(black_box(blob)).expect("bpfir parse");
            btf.build_type_name_index();
            btf
        })
    });
    group.finish();
}

fn bench_marshal(c: &mut Criterion, blob: &[u8]) {
    let ours = bpfir::btf::Btf::parse(blob).expect("bpfir parse");
    let aya = aya_obj::btf::Btf::parse(blob, Default::default()).expect("aya-obj parse");
    let mut group = c.benchmark_group("btf_to_bytes");
    group.throughput(Throughput::Bytes(blob.len() as u64));
    group.bench_function(BenchmarkId::from_parameter("bpfir"), |b| {
        b.iter(|| black_box(&ours).to_bytes())
    });
    group.bench_function(BenchmarkId::from_parameter("aya-obj"), |b| {
        b.iter(|| black_box(&aya).to_bytes())
    });
    group.finish();
    drop((ours, aya));

    // Add one type, then marshal: every iteration adds another `int` (a 16-byte record) and
    // produces the whole blob. The first addition (libbpf: making the BTF modifiable and
    // indexing its strings; bpfir: indexing its strings) happens once, before timing.
    use bpfir::btf::IntEncoding;
    let mut ours = bpfir::btf::Btf::parse(blob).expect("bpfir parse");
    ours.add_int("bench_int", 4, IntEncoding::SIGNED, 32)
        .expect("bpfir add_int");
    let mut aya = aya_obj::btf::Btf::parse(blob, Default::default()).expect("aya-obj parse");
    let aya_name = aya.add_string("bench_int");
    let aya_int = || {
        aya_obj::btf::BtfType::Int(aya_obj::btf::Int::new(
            aya_name,
            4,
            aya_obj::btf::IntEncoding::Signed,
            0,
        ))
    };
    aya.add_type(aya_int());
    let mut group = c.benchmark_group("btf_add_marshal");
    group.throughput(Throughput::Bytes(blob.len() as u64));
    group.bench_function(BenchmarkId::from_parameter("bpfir"), |b| {
        b.iter(|| {
            ours.add_int("bench_int", 4, IntEncoding::SIGNED, 32)
                .expect("bpfir add_int");
            ours.to_bytes()
        })
    });
    group.bench_function(BenchmarkId::from_parameter("aya-obj"), |b| {
        b.iter(|| {
            aya.add_type(aya_int());
            aya.to_bytes()
        })
    });
    #[cfg(feature = "bench-libbpf")]
    {
        let name = c"bench_int";
        let mut lb = libbpf::LibbpfBtf::parse(blob).expect("libbpf btf__new");
        assert!(lb.add_int(name, 4, libbpf::BTF_INT_SIGNED) > 0);
        group.bench_function(BenchmarkId::from_parameter("libbpf"), |b| {
            b.iter(|| {
                assert!(lb.add_int(name, 4, libbpf::BTF_INT_SIGNED) > 0);
                black_box(lb.raw_data().len())
            })
        });
    }
    group.finish();
}

/// The `.BTF` of every little-endian object of the corpus that has one (the cilium examples
/// and test data, and the selftests libbpf loads whole), appended into one BTF by bpfir and
/// marshalled: the input of the multi-object dedup benchmark, the same bytes for both
/// libraries.
fn objects_blob() -> Option<(Vec<u8>, usize)> {
    use object::{Object, ObjectSection};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let mut paths = Vec::new();
    let ok = std::fs::read_to_string(root.join("selftests/libbpf-ok.txt")).ok()?;
    for name in ok.lines().filter(|l| !l.trim().is_empty()) {
        paths.push(
            root.join("selftests/obj")
                .join(format!("{}.bpf.o", name.trim())),
        );
    }
    paths.extend(common::cilium_little_endian_objects(&root));
    paths.sort();
    let mut all = bpfir::btf::Btf::new(bpfir::Endian::Little);
    let mut n = 0;
    for p in paths {
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        let Ok(file) = object::File::parse(&*bytes) else {
            continue;
        };
        if !file.is_little_endian() {
            continue;
        }
        let Some(data) = file.section_by_name(".BTF").and_then(|s| s.data().ok()) else {
            continue;
        };
        let Ok(btf) = bpfir::btf::Btf::parse(data) else {
            continue;
        };
        if all.append(&btf, |_, _| true).is_ok() {
            n += 1;
        }
    }
    Some((all.to_bytes(), n))
}

fn bench_dedup(c: &mut Criterion, blob: &[u8]) {
    let mut inputs = vec![("btf_dedup_vmlinux", blob.to_vec())];
    match objects_blob() {
        Some((bytes, n)) => {
            println!(
                "== dedup input: {n} objects' .BTF concatenated: {} bytes, {} types",
                bytes.len(),
                bpfir::btf::Btf::parse(&bytes)
                    .expect("concatenated")
                    .n_types()
            );
            inputs.push(("btf_dedup_objects", bytes));
        }
        None => println!("== no ../shared/corpus: the multi-object dedup is skipped"),
    }
    for (group_name, bytes) in &inputs {
        let ours = bpfir::btf::Btf::parse(bytes).expect("bpfir parse");
        let d = bpfir::btf::dedup(&ours).expect("bpfir dedup");
        print!(
            "{group_name}: bpfir {} -> {} types",
            ours.n_types(),
            d.btf.n_types()
        );
        #[cfg(feature = "bench-libbpf")]
        {
            let mut lb = libbpf::LibbpfBtf::parse(bytes).expect("libbpf btf__new");
            assert_eq!(lb.dedup(), 0, "libbpf btf__dedup failed");
            print!(", libbpf -> {} types", lb.type_cnt());
        }
        println!();
        drop(d);
        let mut group = c.benchmark_group(*group_name);
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(4));
        group.bench_function(BenchmarkId::from_parameter("bpfir"), |b| {
            b.iter_batched(
                || (),
                |()| bpfir::btf::dedup(black_box(&ours)).expect("bpfir dedup"),
                BatchSize::PerIteration,
            )
        });
        #[cfg(feature = "bench-libbpf")]
        group.bench_function(BenchmarkId::from_parameter("libbpf"), |b| {
            b.iter_batched(
                || libbpf::LibbpfBtf::parse(bytes).expect("libbpf btf__new"),
                |mut lb| {
                    assert_eq!(lb.dedup(), 0);
                    lb
                },
                BatchSize::PerIteration,
            )
        });
        group.finish();
    }
}

/// Medians of the interleaved rounds (see [`interleaved`]), in nanoseconds.
struct Interleaved {
    rounds: usize,
    parse: f64,
    libbpf: Option<f64>,
    parse_index: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// bpfir's parse, libbpf's parse and bpfir's parse + type name index, timed in turn, round
/// after round, so that a burst of load from another process hits each of them alike
/// (criterion measures one benchmark after the other, and on a shared machine the load
/// moves between them). Each step includes dropping what it made. `$BPFIR_BENCH_BTF_ROUNDS`
/// rounds (default 300, about a second; 0 skips this).
fn interleaved(blob: &[u8]) -> Option<Interleaved> {
    let rounds = std::env::var("BPFIR_BENCH_BTF_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(300usize);
    if rounds == 0 {
        return None;
    }
    let (mut parse, mut parse_index) = (Vec::new(), Vec::new());
    #[cfg_attr(not(feature = "bench-libbpf"), allow(unused_mut))]
    let mut theirs: Vec<f64> = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        drop(black_box(
            bpfir::btf::Btf::parse(black_box(blob)).expect("bpfir parse"),
        ));
        parse.push(t.elapsed().as_nanos() as f64);
        #[cfg(feature = "bench-libbpf")]
        {
            let t = Instant::now();
            drop(black_box(
                libbpf::LibbpfBtf::parse(black_box(blob)).expect("libbpf btf__new"),
            ));
            theirs.push(t.elapsed().as_nanos() as f64);
        }
        let t = Instant::now();
        let btf = bpfir::btf::Btf::parse(black_box(blob)).expect("bpfir parse");
        btf.build_type_name_index();
        drop(black_box(btf));
        parse_index.push(t.elapsed().as_nanos() as f64);
    }
    Some(Interleaved {
        rounds,
        parse: median(parse),
        libbpf: (!theirs.is_empty()).then(|| median(theirs)),
        parse_index: median(parse_index),
    })
}

fn report_interleaved(r: &Interleaved) {
    println!(
        "== interleaved, {} rounds, medians: bpfir parse {:.3} ms, parse + type name index {:.3} ms",
        r.rounds,
        r.parse / 1e6,
        r.parse_index / 1e6
    );
    match r.libbpf {
        Some(l) => {
            let verdict = |x: f64, max: f64| if x <= max { "met" } else { "MISSED" };
            println!(
                "   libbpf parse {:.3} ms; parse / libbpf = {:.2} (goal <= 1.0: {}), \
                 parse + index / libbpf = {:.2} (goal <= 1.5: {})",
                l / 1e6,
                r.parse / l,
                verdict(r.parse / l, 1.0),
                r.parse_index / l,
                verdict(r.parse_index / l, 1.5)
            );
        }
        None => println!("   (libbpf not measured: run with --features bench-libbpf)"),
    }
}

/// One row of the table at the end: a goal on `bpfir / reference` (`max`), or on
/// `reference / bpfir` when `faster_by` is set.
fn row(dir: &Path, since: SystemTime, what: &str, group: &str, reference: &str, max: f64) {
    let ours = median_ns(dir, group, "bpfir", since);
    let theirs = median_ns(dir, group, reference, since);
    let aya = median_ns(dir, group, "aya-obj", since);
    let ms = |t: Option<f64>| t.map_or("-".to_string(), |t| format!("{:.3} ms", t / 1e6));
    let (ratio, verdict) = match (ours, theirs) {
        (Some(o), Some(t)) => {
            let r = o / t;
            (format!("{r:.2}"), if r <= max { "met" } else { "MISSED" })
        }
        _ => ("-".to_string(), "not measured"),
    };
    println!(
        "| {what} | {} | {} | {} | {ratio} | <= {max} | {verdict} |",
        ms(theirs),
        ms(aya),
        ms(ours)
    );
}

fn report_ratios(dir: &Path, since: SystemTime, rounds: Option<&Interleaved>) {
    println!();
    println!("== medians of this run; ratio = bpfir / libbpf (below 1: bpfir is faster)");
    println!("| work | libbpf | aya-obj | bpfir | bpfir / libbpf | goal | |");
    println!("|---|---|---|---|---|---|---|");
    row(dir, since, "parse vmlinux BTF", "btf_parse", "libbpf", 1.0);
    {
        // parse + index against libbpf's parse.
        let ours = median_ns(dir, "btf_parse_index", "bpfir", since);
        let theirs = median_ns(dir, "btf_parse", "libbpf", since);
        match (ours, theirs) {
            (Some(o), Some(t)) => println!(
                "| parse + name index | {:.3} ms (parse) | - | {:.3} ms | {:.2} | <= 1.5 | {} |",
                t / 1e6,
                o / 1e6,
                o / t,
                if o / t <= 1.5 { "met" } else { "MISSED" }
            ),
            _ => println!("| parse + name index | - | - | - | - | <= 1.5 | not measured |"),
        }
    }
    row(
        dir,
        since,
        "add one type + marshal",
        "btf_add_marshal",
        "libbpf",
        1.5,
    );
    row(
        dir,
        since,
        "dedup vmlinux BTF",
        "btf_dedup_vmlinux",
        "libbpf",
        1.0,
    );
    row(
        dir,
        since,
        "dedup the objects' BTF",
        "btf_dedup_objects",
        "libbpf",
        1.0,
    );
    let peak = PEAK_RATIO_PERMILLE.load(Ordering::Relaxed);
    if peak >= 0 {
        println!(
            "| peak heap of a parse / blob | | | {:.3} | | <= 1.2 | {} |",
            peak as f64 / 1000.0,
            if peak <= 1200 { "met" } else { "MISSED" }
        );
    }
    for group in ["btf_parse", "btf_to_bytes", "btf_add_marshal"] {
        if let (Some(o), Some(a)) = (
            median_ns(dir, group, "bpfir", since),
            median_ns(dir, group, "aya-obj", since),
        ) {
            println!("{group}: aya-obj / bpfir = {:.2}x", a / o);
        }
    }
    if cfg!(not(feature = "bench-libbpf")) {
        println!("(libbpf not measured: run with --features bench-libbpf)");
    }
    if let Some(r) = rounds {
        println!();
        report_interleaved(r);
    }
}

fn main() {
    let started = SystemTime::now();
    let (blob, source) = load_blob();
    let dir = criterion_dir();
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .output_directory(&dir)
        .configure_from_args();
    report_memory(&blob, &source);
    let rounds = interleaved(&blob);
    if let Some(r) = &rounds {
        report_interleaved(r);
        println!();
    }
    bench_parse(&mut c, &blob);
    bench_marshal(&mut c, &blob);
    bench_dedup(&mut c, &blob);
    c.final_summary();
    report_ratios(&dir, started, rounds.as_ref());
}
