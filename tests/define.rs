//! New maps, global variables and functions with their BTF (`Module::add_btf_map`,
//! `add_global_var`, `add_function_with_btf`): written by `write_object`, read back by bpfir
//! with the same definitions, and loaded (and run) by bpfir and by libbpf 1.8.

mod common;
#[cfg(all(feature = "kernel", target_os = "linux"))]
#[path = "common/kernel.rs"]
mod kernel;

use bpfir::abi::{Helper, MapType};
use bpfir::insn::{Reg::*, Size};
use bpfir::ir::build::*;
use bpfir::ir::{FuncCursor, Function, MapOrigin, MapSlot, Module, NewMap};
use bpfir::write::write_object;

const ARRAY: MapType = MapType::ARRAY;
const HASH: MapType = MapType::HASH;
const PERCPU_ARRAY: MapType = MapType::PERCPU_ARRAY;
const RINGBUF: MapType = MapType::RINGBUF;

/// calls.bpfel.o with four new maps, two new variables and a new function that
/// `calls_first` now calls and checks before it returns: it still returns 0 only if the new
/// function, variable and map all work.
fn extended() -> Module {
    let bytes = std::fs::read(common::testdata_dir().join("calls.bpfel.o")).unwrap();
    let mut m = Module::read(&bytes).unwrap();
    let u32_ = m.btf_int(4, false).unwrap();
    let u64_ = m.btf_int(8, false).unwrap();
    let counts = m
        .add_btf_map(
            &NewMap::new("new_counts", ARRAY, 1)
                .with_key(MapSlot::Type(u32_))
                .with_value(MapSlot::Uint(8)),
        )
        .unwrap();
    m.add_btf_map(
        &NewMap::new("new_hash", HASH, 16)
            .with_key(MapSlot::Size(4))
            .with_value(MapSlot::Size(16)),
    )
    .unwrap();
    m.add_btf_map(
        &NewMap::new("new_percpu", PERCPU_ARRAY, 4)
            .with_key(MapSlot::Uint(4))
            .with_value(MapSlot::Type(u64_)),
    )
    .unwrap();
    m.add_btf_map(&NewMap::new("new_ring", RINGBUF, 4096))
        .unwrap();
    let (data, off) = m
        .add_global_var(".data", "new_seven", u64_, &7u64.to_le_bytes())
        .unwrap();
    m.add_global_var(".bss", "new_zero", u32_, &[]).unwrap();

    // int added(int x) { return x + 1; }
    let int = m.btf_int(4, true).unwrap();
    let new = m
        .add_function_with_btf(
            Function::new("added", ".text", false),
            Some(int),
            &[("x", int)],
            "added.c",
        )
        .unwrap();
    let mut cur = FuncCursor::new(&mut m, new.func)
        .unwrap()
        .with_line(new.line);
    cur.insert(mov64_reg(R0, R1)).unwrap();
    cur.insert(add64_imm(R0, 1)).unwrap();
    cur.insert(exit()).unwrap();

    // Before calls_first's exit: r0 |= (added(41) - 42) | (new_seven - 7) | (lookup == NULL).
    let prog = m.function_by_name("calls_first").unwrap();
    let exit_id = m.function(prog).last_insn().unwrap();
    let origin = m.add_origin("define-test");
    let mut cur = FuncCursor::new(&mut m, prog).unwrap().with_origin(origin);
    cur.goto_insn(exit_id).unwrap();
    cur.use_current_line();
    let last = cur.insert(mov64_reg(R0, R6)).unwrap();
    cur.goto_insn(last).unwrap();
    let mut first_new = None;
    for b in [
        mov64_reg(R6, R0).into(),
        mov64_imm(R1, 41).into(),
        call(new.func),
        sub64_imm(R0, 42).into(),
        or64_reg(R6, R0).into(),
        ld_data(R1, data, off),
        ldx(Size::DW, R1, R1, 0).into(),
        sub64_imm(R1, 7).into(),
        or64_reg(R6, R1).into(),
        st(Size::W, R10, -4, 0).into(),
        ld_map(R1, counts),
        mov64_reg(R2, R10).into(),
        add64_imm(R2, -4).into(),
        call_helper(Helper::MapLookupElem).into(),
        jne_imm(R0, 0, last),
        or64_imm(R6, 0x100).into(),
    ] {
        let id = cur.insert(b).unwrap();
        first_new.get_or_insert(id);
    }
    // The checks' jumps to the exit now land on the inserted code.
    assert_eq!(m.retarget_jumps(exit_id, first_new.unwrap()).unwrap(), 5);
    m.verify().unwrap();
    m
}

#[test]
fn new_definitions_are_written_and_read_back() {
    let m = extended();
    let back = Module::read(&write_object(&m).unwrap()).unwrap();
    assert_eq!(back.verify(), Ok(()));
    for name in ["new_counts", "new_hash", "new_percpu", "new_ring"] {
        let (_, a) = m.maps().find(|(_, x)| x.name == name).unwrap();
        let (_, b) = back.maps().find(|(_, x)| x.name == name).unwrap();
        assert_eq!(b.origin, MapOrigin::Btf, "{name}");
        assert_eq!(
            (b.map_type, b.key_size, b.value_size, b.max_entries),
            (a.map_type, a.key_size, a.value_size, a.max_entries),
            "{name}"
        );
        assert_eq!(b.key_type.is_some(), a.key_type.is_some(), "{name}");
    }
    let counts = back.maps().find(|(_, x)| x.name == "new_counts").unwrap().1;
    assert_eq!((counts.key_size, counts.value_size), (4, 8));
    let hash = back.maps().find(|(_, x)| x.name == "new_hash").unwrap().1;
    assert_eq!((hash.key_size, hash.value_size), (4, 16));
    assert_eq!((hash.key_type, hash.value_type), (None, None));
    let (_, data) = back
        .data_sections()
        .find(|(_, d)| d.name == ".data")
        .unwrap();
    let var = data.vars.iter().find(|v| v.name == "new_seven").unwrap();
    let at = var.offset as usize;
    assert_eq!(data.bytes[at..at + 8], 7u64.to_le_bytes());
    let (_, bss) = back
        .data_sections()
        .find(|(_, d)| d.name == ".bss")
        .unwrap();
    assert!(bss.vars.iter().any(|v| v.name == "new_zero"));
    let added = back.function_by_name("added").unwrap();
    assert!(back.function(added).btf_func.is_some());
    let first = back.function(added).first_insn().unwrap();
    assert!(back.line_of(first).is_some());
}

#[test]
fn misuses_of_the_definitions_are_errors() {
    let mut m = Module::new(bpfir::Endian::Little);
    m.add_btf_map(&NewMap::new("a", ARRAY, 1)).unwrap();
    let err = m.add_btf_map(&NewMap::new("a", ARRAY, 1)).unwrap_err();
    assert_eq!(err.to_string(), "map a: a map of that name exists");
    let u32_ = m.btf_int(4, false).unwrap();
    let err = m.add_global_var(".text", "v", u32_, &[]).unwrap_err();
    assert!(
        err.to_string().contains("named .data*, .bss* or .rodata*"),
        "{err}"
    );
    let err = m.add_global_var(".data", "v", u32_, &[1]).unwrap_err();
    assert!(
        err.to_string()
            .contains("1 initial bytes for a 4-byte variable"),
        "{err}"
    );
    m.add_global_var(".rodata", "v", u32_, &[1, 2, 3, 4])
        .unwrap();
    assert!(m.add_global_var(".rodata", "v", u32_, &[]).is_err());
    let err = m.btf_int(3, false).unwrap_err();
    assert!(err.to_string().contains("1, 2, 4 or 8 bytes"), "{err}");
    let params = [("a", u32_); 6];
    let err = m
        .add_function_with_btf(Function::new("f", ".text", false), None, &params, "f.c")
        .unwrap_err();
    assert!(err.to_string().contains("at most five"), "{err}");
}

#[cfg(all(feature = "kernel", target_os = "linux"))]
mod kernel_tests {
    use super::*;
    use bpfir::load::{load, LoadOptions};

    #[test]
    fn new_definitions_load_and_run_with_bpfir_and_libbpf() {
        if !kernel::kernel_available("new_definitions_load_and_run_with_bpfir_and_libbpf") {
            return;
        }
        let m = extended();
        let written = write_object(&m).unwrap();
        let back = Module::read(&written).unwrap();
        for (what, module) in [("built", &m), ("written and read", &back)] {
            let opts = LoadOptions {
                object_name: "define".into(),
                ..LoadOptions::default()
            };
            let loaded = load(module, &opts).unwrap_or_else(|e| panic!("{what}: {e}"));
            super::kernel::check_offline_tags(what, &loaded);
            for p in &loaded.programs {
                let lp = p
                    .result
                    .as_ref()
                    .unwrap_or_else(|e| panic!("{what} {}: {e}", p.name));
                assert_eq!(
                    lp.run_zero_packet(64).unwrap().retval,
                    0,
                    "{what} {}",
                    p.name
                );
            }
        }
        let path = std::env::temp_dir().join(format!("bpfir-define-{}.o", std::process::id()));
        std::fs::write(&path, &written).unwrap();
        let tool = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/tools/libbpf-1.8-load");
        if !tool.is_file() {
            eprintln!("{} is missing: libbpf half skipped", tool.display());
            return;
        }
        let out = std::process::Command::new(&tool)
            .arg("-r")
            .arg(&path)
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&path);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "libbpf refused it: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for name in ["calls_first", "calls_second"] {
            let line = stdout.lines().find(|l| l.starts_with(name)).unwrap();
            assert!(line.ends_with("retval=0 err=0"), "{line}");
        }
    }
}
