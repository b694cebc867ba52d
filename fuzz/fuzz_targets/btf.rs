//! Fuzz target: BTF parse → marshal → display → lookups → dedup.
//! The properties are in `fuzz/checks.rs`, shared with the stable replay of the seeds and
//! regressions (`tests/fuzz_regressions.rs`). A finding panics so libFuzzer saves the input.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::within_budget(data.len(), || checks::btf(data));
});
