//! Property: generated modules, and generated modules after random edit sequences, round-trip
//! through the text form: the reparsed module is the same up to arena order, prints the same
//! text, and lowers every program to the same instructions, func_info, line_info and
//! core_relo (made-up fds for maps).
//!
//! `cargo test --features proptest --test text_proptest`; `PROPTEST_CASES` sets the count.

use bpfir::ir::text::{parse, same_module};
use bpfir::ir::Module;
use bpfir::lower::{lower, Bindings};
use bpfir::testing::{arb_edits, arb_module, ModuleConfig};
use proptest::prelude::*;

fn bindings(m: &Module) -> Bindings {
    let mut b = Bindings::default();
    for (i, (id, _)) in m.maps().enumerate() {
        b.maps.insert(id, 3 + i as i32);
    }
    b
}

fn round_trip(m: &Module) -> Result<(), TestCaseError> {
    let text = m.text().to_string();
    let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
    same_module(m, &back).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
    prop_assert_eq!(back.text().to_string(), text.clone());
    let (ba, bb) = (bindings(m), bindings(&back));
    for ((fa, _), (fb, _)) in m.programs().zip(back.programs()) {
        let a = lower(m, fa, &ba).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let b = lower(&back, fb, &bb).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // Everything but the instruction ids, which follow arena order. Function ids are
        // each module's own (they carry its tag in debug builds): compared by index.
        let index = |fs: &[bpfir::ir::FuncId]| fs.iter().map(|f| f.index()).collect::<Vec<_>>();
        prop_assert_eq!(
            (&a.name, &a.section, index(&a.functions)),
            (&b.name, &b.section, index(&b.functions))
        );
        prop_assert_eq!(&a.insns, &b.insns);
        prop_assert_eq!(&a.func_info, &b.func_info);
        prop_assert_eq!(&a.line_info, &b.line_info);
        prop_assert_eq!(&a.core_relos, &b.core_relos);
    }
    Ok(())
}

proptest! {
    #[test]
    fn generated_modules_round_trip(m in arb_module(ModuleConfig::default())) {
        round_trip(&m)?;
    }

    #[test]
    fn edited_modules_round_trip(
        (m, edits) in (arb_module(ModuleConfig::default()), arb_edits(24))
    ) {
        let mut m = m;
        edits.apply(&mut m);
        round_trip(&m)?;
    }
}
