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
use common::{criterion_dir, load_blob, median_ns};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::{Duration, SystemTime};

use criterion::{BenchmarkId, Criterion, Throughput};

/// Forwards to the system allocator and, while [`COUNTING`] is set, tracks the heap bytes
/// allocated since the window opened and their maximum.
struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static CURRENT: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

impl CountingAlloc {
    #[inline]
    fn grow(n: usize) {
        if COUNTING.load(Ordering::Relaxed) {
            let now = CURRENT.fetch_add(n as isize, Ordering::Relaxed) + n as isize;
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
    }

    #[inline]
    fn shrink(n: usize) {
        if COUNTING.load(Ordering::Relaxed) {
            CURRENT.fetch_sub(n as isize, Ordering::Relaxed);
        }
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counters only observe sizes.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Self::grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            Self::grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) };
        Self::shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Count the new block before releasing the old one: a moving realloc holds both.
            Self::grow(new_size);
            Self::shrink(layout.size());
        }
        p
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Heap bytes seen by [`CountingAlloc`] while running one closure.
struct HeapUse {
    peak: usize,
    retained: usize,
}

/// Runs `f` inside a counting window and keeps its result alive until the window closes, so
/// `retained` is what the parsed value holds.
fn measure_heap<T>(f: impl FnOnce() -> T) -> (T, HeapUse) {
    CURRENT.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::SeqCst);
    let value = black_box(f());
    COUNTING.store(false, Ordering::SeqCst);
    let heap = HeapUse {
        peak: PEAK.load(Ordering::Relaxed).max(0) as usize,
        retained: CURRENT.load(Ordering::Relaxed).max(0) as usize,
    };
    (value, heap)
}

#[cfg(feature = "bench-libbpf")]
mod libbpf {
    //! The C reference: libbpf's `btf__new`, linked from the system's `libbpf.so`.

    use std::ffi::c_void;

    #[repr(C)]
    struct Btf {
        _opaque: [u8; 0],
    }

    /// glibc's `struct mallinfo2` (all fields `size_t`).
    #[repr(C)]
    #[derive(Default)]
    struct MallInfo2 {
        arena: usize,
        ordblks: usize,
        smblks: usize,
        hblks: usize,
        hblkhd: usize,
        usmblks: usize,
        fsmblks: usize,
        uordblks: usize,
        fordblks: usize,
        keepcost: usize,
    }

    #[link(name = "bpf")]
    extern "C" {
        fn btf__new(data: *const c_void, size: u32) -> *mut Btf;
        fn btf__free(btf: *mut Btf);
        fn btf__type_cnt(btf: *const Btf) -> u32;
    }

    extern "C" {
        fn mallinfo2() -> MallInfo2;
    }

    /// An owned libbpf `struct btf`, freed on drop.
    pub struct LibbpfBtf(*mut Btf);

    impl LibbpfBtf {
        /// `btf__new` over a copy libbpf makes of `bytes`; `None` when libbpf rejects it.
        pub fn parse(bytes: &[u8]) -> Option<LibbpfBtf> {
            let size = u32::try_from(bytes.len()).ok()?;
            // SAFETY: `bytes` is valid for `size` bytes; libbpf copies it and returns NULL
            // (libbpf >= 1.0) on error.
            let p = unsafe { btf__new(bytes.as_ptr().cast(), size) };
            (!p.is_null()).then_some(LibbpfBtf(p))
        }

        /// Number of types, void included.
        pub fn type_cnt(&self) -> u32 {
            // SAFETY: `self.0` is a live btf from `btf__new`.
            unsafe { btf__type_cnt(self.0) }
        }
    }

    impl Drop for LibbpfBtf {
        fn drop(&mut self) {
            // SAFETY: `self.0` came from `btf__new` and is freed once.
            unsafe { btf__free(self.0) }
        }
    }

    /// Bytes glibc's malloc has handed out and not taken back (heap arena plus mmapped
    /// blocks).
    pub fn malloc_in_use() -> usize {
        // SAFETY: `mallinfo2` takes no arguments and returns a plain struct.
        let m = unsafe { mallinfo2() };
        m.uordblks + m.hblkhd
    }
}

fn ratio(n: usize, blob: usize) -> f64 {
    n as f64 / blob as f64
}

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
    let goal = if heap.peak <= 2 * len {
        "met"
    } else {
        "MISSED"
    };
    println!("bpfir   goal peak <= 2x blob: {goal}");
    assert!(
        btf.to_bytes() == blob,
        "bpfir does not re-marshal the blob byte for byte"
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
            "libbpf  btf__new: retained malloc {:>10} B = {:.3}x blob (mallinfo2; peak not \
             measured), {} types",
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
}

fn report_ratios(dir: &Path, since: SystemTime) {
    println!();
    println!("== median time ratios (other / bpfir; > 1 means bpfir is faster)");
    let mut groups = vec![
        ("btf_parse", vec!["aya-obj"]),
        ("btf_to_bytes", vec!["aya-obj"]),
    ];
    if cfg!(feature = "bench-libbpf") {
        groups[0].1.push("libbpf");
    }
    for (group, others) in groups {
        let Some(ours) = median_ns(dir, group, "bpfir", since) else {
            println!(
                "{group}: no bpfir median from this run in {} (filtered out?)",
                dir.display()
            );
            continue;
        };
        println!("{group}/bpfir: median {:.3} ms", ours / 1e6);
        for other in others {
            match median_ns(dir, group, other, since) {
                Some(t) => println!(
                    "{group}/{other}: median {:.3} ms, ratio {other}/bpfir = {:.2}x",
                    t / 1e6,
                    t / ours
                ),
                None => println!("{group}/{other}: no median from this run (filtered out?)"),
            }
        }
    }
    if cfg!(not(feature = "bench-libbpf")) {
        println!("(libbpf not measured: run with --features bench-libbpf)");
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
    bench_parse(&mut c, &blob);
    bench_marshal(&mut c, &blob);
    c.final_summary();
    report_ratios(&dir, started);
}
