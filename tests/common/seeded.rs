//! The proptest configuration every property test uses: a fixed default seed (printed, so a
//! failure replays), `PROPTEST_*` from the environment otherwise (`PROPTEST_RNG_SEED=<n>`
//! explores other seeds), and no failure persistence, so a run never writes a
//! regressions file.
//!
//! Include with `#[path = "common/seeded.rs"] mod seeded;`.

use proptest::test_runner::{Config, RngSeed};

/// `cases` cases from `seed` unless the environment names another seed.
pub fn config(seed: u64, cases: u32) -> Config {
    // `Config::default()` reads `PROPTEST_*` from the environment.
    let env = Config::default();
    let rng_seed = match env.rng_seed {
        RngSeed::Random => RngSeed::Fixed(seed),
        fixed => fixed,
    };
    eprintln!("proptest seed {rng_seed} (set PROPTEST_RNG_SEED to change)");
    Config {
        cases,
        failure_persistence: None,
        rng_seed,
        ..env
    }
}
