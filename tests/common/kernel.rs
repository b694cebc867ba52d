//! Shared by the tests that need the kernel: whether `bpf()` works here.
//!
//! Include with `#[path = "common/kernel.rs"] mod kernel;` and start each kernel test with
//! `if !kernel::kernel_available("name") { return; }`.

/// True when `bpf()` works for this process. Otherwise: when `BPFIR_REQUIRE_KERNEL=1`
/// panics with the reason (the test must fail where the kernel is required), else prints
/// `skipping {test}: bpf() not permitted here ({reason})` and returns false.
#[allow(dead_code)]
pub fn kernel_available(test: &str) -> bool {
    let reason = match bpfir::sys::probe() {
        Ok(()) => return true,
        Err(err) => err.to_string(),
    };
    if std::env::var("BPFIR_REQUIRE_KERNEL").is_ok_and(|v| v == "1") {
        panic!("{test}: BPFIR_REQUIRE_KERNEL=1 but bpf() does not work here ({reason})");
    }
    eprintln!("skipping {test}: bpf() not permitted here ({reason})");
    false
}
