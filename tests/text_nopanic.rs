//! The parser never panics: mutated texts (bytes changed, dropped, duplicated; lines dropped,
//! swapped, repeated) of printed objects and of the file tests parse or fail with an error.
//! `BPFIR_FUZZ_SEED` replays a run.

mod common;

use std::path::Path;

use bpfir::ir::text::{parse, parse_unverified};
use bpfir::ir::Module;

/// Characters the format uses, so mutations stay close to valid text.
const ALPHABET: &[u8] = b" \t\n;.:@[](){}=+-*<>&|^%/,'\"\\0123456789abcdefxlLrw_";

fn mutate(rng: &mut common::Rng, text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.below(bytes.len());
        match rng.below(6) {
            0 => bytes[at] = ALPHABET[rng.below(ALPHABET.len())],
            1 => {
                bytes.remove(at);
            }
            2 => bytes.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
            3 => {
                let end = (at + 1 + rng.below(40)).min(bytes.len());
                let chunk = bytes[at..end].to_vec();
                let to = rng.below(bytes.len());
                bytes.splice(to..to, chunk);
            }
            _ => {
                // Whole lines: drop one or repeat one.
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let mut lines: Vec<&str> = text.lines().collect();
                if lines.is_empty() {
                    continue;
                }
                let i = rng.below(lines.len());
                if rng.below(2) == 0 {
                    lines.remove(i);
                } else {
                    let l = lines[i];
                    lines.insert(rng.below(lines.len()), l);
                }
                bytes = (lines.join("\n") + "\n").into_bytes();
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn mutated_texts_never_panic_the_parser() {
    let mut seeds = Vec::new();
    for name in ["calls.bpfel.o", "core.bpfel.o", "globals.bpfeb.o"] {
        let data = std::fs::read(common::testdata_dir().join(name)).unwrap();
        seeds.push(Module::read(&data).unwrap().text().to_string());
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filetests");
    for sub in ["kernel", "print", "core"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            seeds.push(text.split("; ====").next().unwrap().to_string());
        }
    }
    let mut rng = common::Rng::from_env(0x7e57);
    let (mut ok, mut refused) = (0, 0);
    for _ in 0..3000 {
        let seed = &seeds[rng.below(seeds.len())];
        let text = mutate(&mut rng, seed);
        match parse(&text) {
            Ok(m) => {
                ok += 1;
                // What parses prints, and the print parses again.
                let printed = m.text().to_string();
                parse_unverified(&printed)
                    .unwrap_or_else(|e| panic!("printed text does not parse: {e}\n{printed}"));
            }
            Err(e) => {
                refused += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    eprintln!("{ok} mutated texts parsed, {refused} refused with an error");
    assert!(refused > 0);
}
