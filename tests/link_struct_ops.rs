//! Linking two objects that both define struct_ops maps (`testdata/struct_ops` and
//! `struct_ops_b`): each output struct_ops section is the inputs' sections one after the
//! other, its `DATASEC` lists every input's variables at their new offsets (what `bpftool gen
//! object`, libbpf's linker, makes of the pair), and the written object reads back with every
//! input's struct_ops maps, their bytes and the programs they name.
//!
//! With the kernel: the linked object loads, each map's value holds its own programs' fds and
//! the programs run; libbpf 1.8 (`../shared/tools/libbpf-1.8-load`, skipped with a note when
//! absent) loads the object bpfir writes and gets the kernel tags bpfir gets.

#[cfg(all(feature = "kernel", target_os = "linux"))]
#[path = "common/kernel.rs"]
mod kernel;

use std::path::{Path, PathBuf};

use bpfir::btf::Kind;
use bpfir::ir::Module;
use bpfir::link::{link, LinkOptions};
use bpfir::write::write_object;

const A: &str = "struct_ops";
const B: &str = "struct_ops_b";

fn object_path(stem: &str, target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("testdata/{stem}.{target}.o"))
}

fn read_path(path: &Path) -> Module {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Module::read(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The pair of one byte order, linked (a then b), written and read back.
fn link_pair(target: &str) -> (Module, Vec<u8>, Module) {
    let inputs = [
        read_path(&object_path(A, target)),
        read_path(&object_path(B, target)),
    ];
    let opts = LinkOptions {
        input_names: vec![A.into(), B.into()],
        ..LinkOptions::default()
    };
    let out = link(&inputs, &opts).unwrap_or_else(|e| panic!("{target}: {e}"));
    let written = write_object(&out).unwrap_or_else(|e| panic!("{target}: written: {e}"));
    let again = Module::read(&written).unwrap_or_else(|e| panic!("{target}: read back: {e}"));
    (out, written, again)
}

/// A struct_ops map as names and bytes: (map, section, value bytes, (offset, program)).
type Summary = (String, String, Vec<u8>, Vec<(u32, String)>);

/// Every struct_ops map of `m`, sorted by name.
fn struct_ops_maps(m: &Module) -> Vec<Summary> {
    let mut v: Vec<Summary> = m
        .maps()
        .filter_map(|(id, d)| {
            let value = m.struct_ops(id)?;
            let funcs = value
                .funcs
                .iter()
                .map(|&(o, f)| (o, m.function(f).name.clone()))
                .collect();
            Some((
                d.name.clone(),
                value.section.clone(),
                value.data.clone(),
                funcs,
            ))
        })
        .collect();
    v.sort();
    v
}

/// `(variable, offset, size)` of the `DATASEC` `name` of `m`'s BTF, in its order, and the
/// `DATASEC`'s size.
fn datasec(m: &Module, name: &str) -> (Vec<(String, u32, u32)>, u32) {
    let btf = m.btf.as_ref().expect("BTF");
    let ds = btf
        .type_by_name_kind(name, Kind::Datasec)
        .unwrap_or_else(|| panic!("no DATASEC {name}"));
    let size = btf.size_of(ds).unwrap();
    let vars = btf
        .datasec_vars(ds)
        .iter()
        .map(|v| (btf.name(v.ty).unwrap().to_string(), v.offset, v.size))
        .collect();
    (vars, size)
}

#[test]
fn two_struct_ops_objects_link_with_every_variable() {
    for target in ["bpfel", "bpfeb"] {
        let a = read_path(&object_path(A, target));
        let b = read_path(&object_path(B, target));
        let (out, _, again) = link_pair(target);
        // Every map of either input, with its bytes and its programs (by name).
        let mut want = struct_ops_maps(&a);
        want.extend(struct_ops_maps(&b));
        want.sort();
        assert_eq!(want.len(), 4, "{target}");
        assert_eq!(struct_ops_maps(&out), want, "{target}: linked");
        assert_eq!(
            struct_ops_maps(&again),
            want,
            "{target}: written and read back"
        );
        // Each section is a's part, then b's at the next 8-byte boundary: every variable at
        // its input's offset plus its part's base, as libbpf's linker places them.
        for section in [".struct_ops", ".struct_ops.link"] {
            let (a_vars, a_size) = datasec(&a, section);
            let (b_vars, b_size) = datasec(&b, section);
            let base = a_size.next_multiple_of(8);
            let mut expected = a_vars.clone();
            expected.extend(b_vars.iter().map(|(n, o, s)| (n.clone(), o + base, *s)));
            for (what, m) in [("linked", &out), ("read back", &again)] {
                let (vars, size) = datasec(m, section);
                assert_eq!(vars, expected, "{target} {what}: DATASEC {section}");
                assert_eq!(size, base + b_size, "{target} {what}: size of {section}");
            }
        }
        // The read-back object links again, alone, to the same maps.
        let relinked = link(&[again], &LinkOptions::default()).unwrap();
        assert_eq!(struct_ops_maps(&relinked), want, "{target}: relinked");
    }
}

/// A weak struct_ops map (`struct_ops_weak`'s `dummy`, naming `w_test_2`) reads and writes
/// back weak, and gives way to a strong one of its name (struct_ops's `dummy`: test_1 and
/// test_2) in either input order: the output has one `dummy`, the strong one's value, and
/// one `VAR` for it in the `DATASEC`.
#[test]
fn a_weak_struct_ops_map_gives_way_to_the_strong_one() {
    use bpfir::ir::SymbolLinkage;
    for target in ["bpfel", "bpfeb"] {
        let strong = read_path(&object_path(A, target));
        let weak = read_path(&object_path("struct_ops_weak", target));
        let linkage = |m: &Module| {
            let (id, _) = m.maps().find(|(_, d)| d.name == "dummy").unwrap();
            m.map_linkage(id)
        };
        assert_eq!(linkage(&weak), SymbolLinkage::Weak, "{target}");
        let again = Module::read(&write_object(&weak).unwrap()).unwrap();
        assert_eq!(
            linkage(&again),
            SymbolLinkage::Weak,
            "{target}: written and read back"
        );
        assert_eq!(struct_ops_maps(&again), struct_ops_maps(&weak), "{target}");

        let want = struct_ops_maps(&strong);
        for (order, inputs) in [
            ("strong first", [strong.clone(), weak.clone()]),
            ("weak first", [weak.clone(), strong.clone()]),
        ] {
            let out = link(&inputs, &LinkOptions::default())
                .unwrap_or_else(|e| panic!("{target} {order}: {e}"));
            assert_eq!(struct_ops_maps(&out), want, "{target} {order}: linked");
            assert_eq!(linkage(&out), SymbolLinkage::Global, "{target} {order}");
            let again = Module::read(&write_object(&out).unwrap()).unwrap();
            assert_eq!(struct_ops_maps(&again), want, "{target} {order}: read back");
            let (vars, _) = datasec(&again, ".struct_ops");
            let names: Vec<&str> = vars.iter().map(|v| v.0.as_str()).collect();
            assert_eq!(names, ["dummy"], "{target} {order}: DATASEC .struct_ops");
        }
    }
}

/// What `bpftool gen object` (libbpf's static linker) makes of the same pair: the same
/// struct_ops maps and the same `DATASEC`s. Skips with a note without bpftool.
#[test]
fn struct_ops_link_is_libbpfs() {
    let out_dir =
        std::env::temp_dir().join(format!("bpfir-link-struct-ops-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let theirs = out_dir.join("struct_ops_ab.o");
    let status = std::process::Command::new("bpftool")
        .args(["gen", "object"])
        .arg(&theirs)
        .arg(object_path(A, "bpfel"))
        .arg(object_path(B, "bpfel"))
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("bpftool gen object failed ({s}) on the pair"),
        Err(e) => {
            eprintln!("bpftool not available ({e}); skipping the comparison with libbpf's linker");
            let _ = std::fs::remove_dir_all(&out_dir);
            return;
        }
    }
    let upstream = read_path(&theirs);
    let _ = std::fs::remove_dir_all(&out_dir);
    let (out, _, again) = link_pair("bpfel");
    assert_eq!(struct_ops_maps(&again), struct_ops_maps(&upstream));
    for section in [".struct_ops", ".struct_ops.link"] {
        assert_eq!(
            datasec(&out, section),
            datasec(&upstream, section),
            "DATASEC {section}"
        );
        assert_eq!(
            datasec(&again, section),
            datasec(&upstream, section),
            "DATASEC {section} read back"
        );
    }
}

#[cfg(all(feature = "kernel", target_os = "linux"))]
mod with_kernel {
    use super::*;

    use std::collections::BTreeMap;

    use bpfir::load::{load, LoadOptions};

    /// Runs a `bpf_dummy_ops` program with its arguments as the context.
    fn run_dummy_op(lp: &bpfir::load::LoadedProgram, args: &[u64]) -> u32 {
        let ctx: Vec<u8> = args.iter().flat_map(|a| a.to_ne_bytes()).collect();
        let r = bpfir::sys::test_run(
            &lp.fd,
            &mut bpfir::sys::TestRun {
                ctx_in: &ctx,
                ..bpfir::sys::TestRun::default()
            },
        )
        .unwrap();
        r.retval
    }

    fn native() -> &'static str {
        if cfg!(target_endian = "little") {
            "bpfel"
        } else {
            "bpfeb"
        }
    }

    /// Loads `m`: every program the maps name loads, each map's value holds the fds of its
    /// own programs, and the `test_1` programs run; returns the kernel tags by program.
    fn load_linked(m: &Module, what: &str) -> BTreeMap<String, String> {
        let opts = LoadOptions {
            object_name: "so_linked".into(),
            ..LoadOptions::default()
        };
        let loaded = load(m, &opts).unwrap_or_else(|e| panic!("{what}: {e}"));
        let prog = |n: &str| {
            let p = loaded
                .programs
                .iter()
                .find(|p| p.name == n)
                .unwrap_or_else(|| panic!("{what}: {n} not loaded"));
            p.result
                .as_ref()
                .unwrap_or_else(|e| panic!("{what} {n}: {e}"))
        };
        for (id, d) in m.maps() {
            let Some(ops) = m.struct_ops(id) else {
                continue;
            };
            let value = loaded
                .struct_ops
                .get(id)
                .unwrap_or_else(|| panic!("{what}: no value for {}", d.name));
            let fds: Vec<u64> = value
                .chunks_exact(8)
                .map(|c| u64::from_ne_bytes(c.try_into().unwrap()))
                .filter(|&v| v != 0)
                .collect();
            let want: Vec<u64> = ops
                .funcs
                .iter()
                .map(|&(_, f)| {
                    std::os::fd::AsRawFd::as_raw_fd(&prog(&m.function(f).name).fd) as u64
                })
                .collect();
            assert_eq!(fds, want, "{what}: value of {}", d.name);
        }
        assert_eq!(run_dummy_op(prog("test_1"), &[0]), 0, "{what}: test_1");
        assert_eq!(run_dummy_op(prog("b_test_1"), &[0]), 0, "{what}: b_test_1");
        loaded
            .programs
            .iter()
            .map(|p| (p.name.clone(), p.result.as_ref().unwrap().tag.clone()))
            .collect()
    }

    #[test]
    fn linked_struct_ops_load_and_libbpf_takes_the_written_object() {
        if !kernel::kernel_available("linked_struct_ops_load_and_libbpf_takes_the_written_object") {
            return;
        }
        let (out, written, again) = link_pair(native());
        let tags = load_linked(&out, "linked");
        assert_eq!(
            tags.keys().map(String::as_str).collect::<Vec<_>>(),
            ["b_test_1", "b_test_2", "test_1", "test_2"]
        );
        assert_eq!(load_linked(&again, "read back"), tags);

        let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/libbpf-1.8-load");
        if !tool.is_file() {
            eprintln!("{} not found; skipping the libbpf 1.8 load", tool.display());
            return;
        }
        let path = std::env::temp_dir().join(format!(
            "bpfir-link-struct-ops-{}-ours.o",
            std::process::id()
        ));
        std::fs::write(&path, &written).unwrap();
        let run = std::process::Command::new(&tool).arg(&path).output();
        let _ = std::fs::remove_file(&path);
        let run = run.unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "libbpf 1.8 refused the linked object: {}{stdout}",
            String::from_utf8_lossy(&run.stderr)
        );
        // `PROGRAM TAG` per loaded program: the kernel got the same instructions from both.
        let theirs: BTreeMap<String, String> = stdout
            .lines()
            .filter_map(|l| {
                let (name, tag) = l.split_once(' ')?;
                Some((name.to_string(), tag.trim().to_string()))
            })
            .collect();
        assert_eq!(theirs, tags, "libbpf 1.8's tags against bpfir's");
    }
}
