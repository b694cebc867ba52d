//! Fuzz target: ELF read → dump → lower → write → re-read.
//! The properties are in `fuzz/checks.rs`, shared with the stable replay of the seeds and
//! regressions (`tests/fuzz_regressions.rs`). A finding panics so libFuzzer saves the input.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let start = std::time::Instant::now();
    if let Err(finding) = checks::elf(data) {
        panic!("finding: {finding}");
    }
    checks::within_budget(start.elapsed(), data.len());
});
