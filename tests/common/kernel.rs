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

/// Asserts that every program of `loaded` the kernel took has the tag bpfir computes
/// offline from its lowered instructions (`LoweredProgram::tag`); returns how many were
/// compared. Programs that leave CO-RE records to the kernel are left out: the kernel
/// patches their instructions before it hashes them.
#[allow(dead_code)]
pub fn check_offline_tags(what: &str, loaded: &bpfir::load::Loaded) -> usize {
    let mut n = 0;
    for p in &loaded.programs {
        let Ok(lp) = &p.result else { continue };
        let lowered = p
            .lowered
            .as_ref()
            .unwrap_or_else(|| panic!("{what} {}: loaded but no lowered program", p.name));
        if !lowered.core_relos.is_empty() {
            continue;
        }
        assert_eq!(
            lowered.tag_hex(),
            lp.tag,
            "{what} {}: offline tag differs from the kernel's",
            p.name
        );
        n += 1;
    }
    eprintln!("{what}: {n} offline program tags equal the kernel's");
    n
}

/// Loads `m` as object `name` (every program must load), checks the offline tags, runs each
/// program once on a 64-byte zero packet and returns its return value by program name.
#[allow(dead_code)]
pub fn load_and_run_all(
    m: &bpfir::ir::Module,
    name: &str,
) -> std::collections::BTreeMap<String, u32> {
    let opts = bpfir::load::LoadOptions {
        object_name: name.into(),
        ..bpfir::load::LoadOptions::default()
    };
    let loaded = bpfir::load::load(m, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    check_offline_tags(name, &loaded);
    loaded
        .programs
        .iter()
        .map(|p| {
            let lp = p
                .result
                .as_ref()
                .unwrap_or_else(|e| panic!("{name} {}: {e}", p.name));
            (p.name.clone(), lp.run_zero_packet(64).unwrap().retval)
        })
        .collect()
}
