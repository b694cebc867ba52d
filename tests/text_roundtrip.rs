//! The text form round-trips: for every object bpfir reads (testdata, the cilium corpus and
//! the selftests objects), `parse(print(m))` is the same module as `m` up to arena order
//! (`bpfir::ir::text::same_module`), printing the reparsed module gives the same text, and
//! every program lowers to the same instructions, func_info, line_info and core_relo.

mod common;

use std::path::Path;

use bpfir::ir::text::{parse, parse_unverified, same_module, ParseError};
use bpfir::ir::Module;
use bpfir::lower::lower;

/// Round-trips one module; `Err` says what differs.
///
/// A module the IR verifier refuses (a few selftests objects hold raw `ld_pseudo`s on
/// purpose) must be refused by `parse` too; it is then compared through `parse_unverified`.
fn round_trip(m: &Module) -> Result<(), String> {
    let text = m.text().to_string();
    let back = if bpfir::verify::verify_structure(m).is_ok() {
        parse(&text).map_err(|e| format!("parse: {e}"))?
    } else {
        match parse(&text) {
            Err(ParseError::Verify { .. }) => {}
            Ok(_) => return Err("a module the verifier refuses parsed".into()),
            Err(e) => {
                return Err(format!(
                    "a module the verifier refuses failed otherwise: {e}"
                ))
            }
        }
        parse_unverified(&text).map_err(|e| format!("parse_unverified: {e}"))?
    };
    same_module(m, &back)?;
    let again = back.text().to_string();
    if again != text {
        let line = text
            .lines()
            .zip(again.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        return Err(format!("the text changed at line {}", line + 1));
    }
    let (ba, bb) = (common::fake_bindings(m), common::fake_bindings(&back));
    for ((fa, _), (fb, _)) in m.programs().zip(back.programs()) {
        let la = lower(m, fa, &ba);
        let lb = lower(&back, fb, &bb);
        match (la, lb) {
            (Ok(a), Ok(b)) => {
                // Everything but the instruction ids, which follow arena order. Function
                // ids are each module's own (tagged in debug builds): compared by index.
                let index = |fs: &[bpfir::ir::FuncId]| -> Vec<usize> {
                    fs.iter().map(|f| f.index()).collect()
                };
                let same = a.name == b.name
                    && a.section == b.section
                    && index(&a.functions) == index(&b.functions)
                    && a.insns == b.insns
                    && a.func_info == b.func_info
                    && a.line_info == b.line_info
                    && a.core_relos == b.core_relos;
                if !same {
                    return Err(format!("program {} lowers differently", a.name));
                }
            }
            (Err(a), Err(b)) => {
                if a.to_string() != b.to_string() {
                    return Err(format!("lowering errors differ: {a} vs {b}"));
                }
            }
            (a, b) => {
                return Err(format!(
                    "one lowers, the other not: {:?} / {:?}",
                    a.err(),
                    b.err()
                ))
            }
        }
    }
    Ok(())
}

fn sweep(objects: &[(std::path::PathBuf, Vec<u8>)]) -> (usize, Vec<String>) {
    let mut ok = 0;
    let mut failures = Vec::new();
    for (path, bytes) in objects {
        let Ok(m) = Module::read(bytes) else { continue };
        match round_trip(&m) {
            Ok(()) => ok += 1,
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    (ok, failures)
}

#[test]
fn every_object_round_trips_through_text() {
    let objects = common::all_objects();
    let (ok, failures) = sweep(&objects);
    eprintln!("{ok} objects round-trip through text");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(ok >= 20, "only {ok} objects read");
}

#[test]
fn selftests_objects_round_trip_through_text() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let dir = dir.join("selftests/obj");
    if !Path::new(&dir).is_dir() {
        eprintln!("no selftests objects at {}; skipped", dir.display());
        return;
    }
    let objects = common::objects_in(&dir);
    let (ok, failures) = sweep(&objects);
    eprintln!(
        "{ok} of {} selftests objects round-trip through text",
        objects.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every instruction of the disassembler's golden objects (`tests/golden/disasm`, written to
/// cover the instruction set; both byte orders) prints and parses back to the same
/// instruction, as a raw instruction without a reference.
#[test]
fn every_instruction_form_parses_back() {
    use bpfir::elf::ElfObject;
    use bpfir::insn::decode_all;
    use bpfir::ir::{Function, Meta};

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/disasm");
    let mut forms = std::collections::HashSet::new();
    for name in ["allinsns-el.o", "allinsns-eb.o"] {
        let data = std::fs::read(dir.join(name)).unwrap();
        let elf = ElfObject::parse(&data).unwrap();
        for section in elf.executable_sections() {
            let insns = decode_all(section.data, elf.endian()).unwrap();
            let mut m = Module::new(elf.endian());
            let f = m.add_function(Function::new("all", "socket", true));
            for insn in &insns {
                m.append(f, *insn, Meta::default()).unwrap();
            }
            let text = m.text().to_string();
            // Raw pseudo operands (map fds, kfunc ids, local calls) are refused by the
            // verifier that `parse` runs; the syntax is what is checked here.
            let back = parse_unverified(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let f2 = back.function_by_name("all").unwrap();
            let got: Vec<_> = back.func_insns(f2).map(|i| *back.insn(i)).collect();
            assert_eq!(got, insns, "{name}");
            forms.extend(insns);
        }
    }
    eprintln!("{} distinct instructions print and parse back", forms.len());
    assert!(forms.len() >= 120, "only {} forms", forms.len());
}
