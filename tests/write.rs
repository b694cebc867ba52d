//! The ELF writer: read → write → read gives back the same module (functions, instructions,
//! references, maps, data, externs, BTF, lines, CO-RE records) for every object of testdata
//! and the corpus, in both byte orders; edited modules keep their edits; written objects
//! still load, with libbpf and with bpfir, and the self-checking programs still pass.

mod common;
#[cfg(all(feature = "kernel", target_os = "linux"))]
#[path = "common/kernel.rs"]
mod kernel;

use std::collections::HashMap;

use bpfir::insn::{CallKind, Insn, PseudoKind, Reg};
use bpfir::ir::{ExternKind, FuncId, Function, InsnId, Meta, Module, Ref};
use bpfir::lower::{lower, Bindings, ExternBinding};
use bpfir::write::{write_object, WriteError};

/// A reference with ids replaced by names and positions, comparable across modules.
fn ref_key(m: &Module, func: FuncId, r: Option<Ref>) -> String {
    let pos = |t: InsnId| m.func_insns(func).position(|i| i == t);
    match r {
        None => String::new(),
        Some(Ref::Jump(t)) => format!("jump {:?}", pos(t)),
        Some(Ref::Call(f)) => format!("call {}", m.function(f).name),
        Some(Ref::FuncAddr(f)) => format!("func {}", m.function(f).name),
        Some(Ref::Map(x)) => format!("map {}", m.map(x).name),
        Some(Ref::Data { data, offset }) => format!("data {}+{offset}", m.data(data).name),
        Some(Ref::Extern(e)) => format!("extern {}", m.extern_(e).name),
        Some(other) => format!("{other:?}"),
    }
}

/// The instruction with the fields its reference stands for cleared.
fn normalize(insn: Insn, r: Option<Ref>) -> Insn {
    let mut i = insn;
    match (r, &mut i) {
        (None, _) => {}
        (Some(Ref::Jump(_)), i) => {
            i.set_jump_offset(0);
        }
        (Some(_), Insn::Call { kind, imm, off }) => {
            *kind = CallKind::Local;
            *imm = 0;
            *off = 0;
        }
        (Some(_), Insn::LdImm64 { kind, imm, .. }) => {
            *kind = PseudoKind::None;
            *imm = 0;
        }
        _ => {}
    }
    i
}

/// Fake bindings: every map, data section and extern gets a distinct number.
fn fake_bindings(m: &Module) -> Bindings {
    let mut b = Bindings::default();
    for (i, (id, _)) in m.maps().enumerate() {
        b.maps.insert(id, 100 + i as i32);
    }
    for (i, (id, _)) in m.data_sections().enumerate() {
        b.data.insert(id, 200 + i as i32);
    }
    for (i, (id, e)) in m.externs().enumerate() {
        let btf_id = 1000 + i as u32;
        let binding = match e.kind {
            ExternKind::Kconfig => ExternBinding::MapValue {
                fd: 300,
                offset: 8 * i as u32,
            },
            _ => ExternBinding::Kfunc {
                btf_id,
                btf_fd_idx: 0,
                btf_obj_fd: 0,
            },
        };
        b.externs.insert(id, binding);
    }
    b
}

/// Every program lowered, as comparable text (or the error).
fn lowered(m: &Module) -> Vec<String> {
    let b = fake_bindings(m);
    m.programs()
        .map(|(f, func)| match lower(m, f, &b) {
            Ok(p) => {
                let names: Vec<&str> = p
                    .functions
                    .iter()
                    .map(|&f| m.function(f).name.as_str())
                    .collect();
                format!(
                    "{} {names:?} {:?} {:?} {:?} {:?}",
                    func.name, p.insns, p.func_info, p.line_info, p.core_relos
                )
            }
            Err(e) => format!("{}: {e}", func.name),
        })
        .collect()
}

#[derive(Default, Debug)]
struct Counts {
    objects: usize,
    functions: usize,
    insns: usize,
    refs: usize,
    lines: usize,
    core: usize,
    maps: usize,
    data: usize,
    externs: usize,
    programs: usize,
}

/// Asserts that `m2` (read from what `m` was written as) equals `m` structurally.
fn assert_same(what: &str, m: &Module, m2: &Module, counts: &mut Counts) {
    assert_eq!(m.endian(), m2.endian(), "{what}: byte order");
    assert_eq!(m.license, m2.license, "{what}: license");
    assert_eq!(m.kern_version, m2.kern_version, "{what}: version");
    assert!(m.btf == m2.btf, "{what}: BTF differs");
    let funcs = |m: &Module| -> Vec<String> {
        m.functions()
            .map(|(_, f)| {
                let ty = f
                    .btf_func
                    .and_then(|t| m.btf.as_ref().and_then(|b| b.name(t).ok()))
                    .unwrap_or("-");
                format!(
                    "{} {} {} {} {ty}",
                    f.name, f.section, f.linkage, f.is_program
                )
            })
            .collect()
    };
    assert_eq!(funcs(m), funcs(m2), "{what}: functions");
    for ((f, func), (f2, _)) in m.functions().zip(m2.functions()) {
        let body: Vec<InsnId> = m.func_insns(f).collect();
        let body2: Vec<InsnId> = m2.func_insns(f2).collect();
        assert_eq!(body.len(), body2.len(), "{what} {}: length", func.name);
        for (k, (&a, &b)) in body.iter().zip(&body2).enumerate() {
            let here = format!("{what} {} insn {k}", func.name);
            let (ra, rb) = (m.reference(a), m2.reference(b));
            assert_eq!(ref_key(m, f, ra), ref_key(m2, f2, rb), "{here}: reference");
            assert_eq!(
                normalize(*m.insn(a), ra),
                normalize(*m2.insn(b), rb),
                "{here}: instruction"
            );
            let line = |m: &Module, i| m.line_of(i).map(|l| *m.line(l));
            assert_eq!(line(m, a), line(m2, b), "{here}: line");
            let core = |m: &Module, i| m.core_of(i).map(|c| m.core_relo(c).clone());
            assert_eq!(core(m, a), core(m2, b), "{here}: CO-RE");
            counts.insns += 1;
            counts.refs += usize::from(ra.is_some());
            counts.lines += usize::from(m.line_of(a).is_some());
            counts.core += usize::from(m.core_of(a).is_some());
        }
        counts.functions += 1;
    }
    let maps = |m: &Module| m.maps().map(|(_, d)| d.clone()).collect::<Vec<_>>();
    assert_eq!(maps(m), maps(m2), "{what}: maps");
    let data = |m: &Module| {
        m.data_sections()
            .map(|(_, d)| d.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(data(m), data(m2), "{what}: data sections");
    let externs = |m: &Module| m.externs().map(|(_, d)| d.clone()).collect::<Vec<_>>();
    assert_eq!(externs(m), externs(m2), "{what}: externs");
    let (l, l2) = (lowered(m), lowered(m2));
    assert_eq!(l, l2, "{what}: lowered programs");
    counts.objects += 1;
    counts.maps += m.maps().len();
    counts.data += m.data_sections().len();
    counts.externs += m.externs().len();
    counts.programs += l.len();
}

/// The `.BTF.ext` records of an object keyed by section name, with every record's section
/// byte offset: `(section, subsection, Debug of the record)`, sorted.
fn ext_records(bytes: &[u8]) -> Option<Vec<(String, &'static str, String)>> {
    let elf = bpfir::elf::ElfObject::parse(bytes).ok()?;
    let btf = bpfir::btf::Btf::parse(elf.section(".BTF")?.data).ok()?;
    let ext = bpfir::btf_ext::BtfExt::parse(elf.section(".BTF.ext")?.data, elf.endian()).ok()?;
    let name = |s| btf.str(s).unwrap_or("?").to_string();
    let mut out: Vec<(String, &'static str, String)> = Vec::new();
    out.extend(
        ext.func_infos()
            .map(|(s, r)| (name(s), "func", format!("{r:?}"))),
    );
    out.extend(
        ext.line_infos()
            .map(|(s, r)| (name(s), "line", format!("{r:?}"))),
    );
    out.extend(
        ext.core_relos()
            .map(|(s, r)| (name(s), "core", format!("{r:?}"))),
    );
    out.sort();
    Some(out)
}

/// Whether every executable section of the object is its functions back to back (no bytes
/// outside a function symbol), so the writer's layout is the original's.
fn code_is_packed(bytes: &[u8]) -> bool {
    let Ok(elf) = bpfir::elf::ElfObject::parse(bytes) else {
        return false;
    };
    let packed = elf.executable_sections().all(|s| {
        let ranges = elf.code_ranges(s);
        let covered: usize = ranges.iter().map(|(_, r)| r.len()).sum();
        covered == s.data.len() && ranges.iter().all(|(n, _)| !n.is_empty())
    });
    packed
}

#[test]
fn every_readable_object_round_trips() {
    let mut counts = Counts::default();
    let mut unreadable = 0;
    let mut same_ext = 0;
    let mut by_order: HashMap<&str, usize> = HashMap::new();
    for (path, bytes) in common::all_objects() {
        let what = path.display().to_string();
        let Ok(m) = Module::read(&bytes) else {
            unreadable += 1;
            continue;
        };
        let written = write_object(&m).unwrap_or_else(|e| panic!("{what}: write: {e}"));
        let m2 = Module::read(&written).unwrap_or_else(|e| panic!("{what}: read back: {e}"));
        assert_same(&what, &m, &m2, &mut counts);
        // Where the layout cannot move, .BTF.ext says exactly what clang's said.
        if code_is_packed(&bytes) {
            if let Some(want) = ext_records(&bytes) {
                assert_eq!(
                    ext_records(&written),
                    Some(want),
                    "{what}: .BTF.ext records"
                );
                same_ext += 1;
            }
        }
        // Writing is deterministic and a fixed point after one round.
        let again = write_object(&m2).unwrap_or_else(|e| panic!("{what}: write again: {e}"));
        assert_eq!(written, again, "{what}: second write differs");
        *by_order
            .entry(match m.endian() {
                bpfir::Endian::Little => "little",
                bpfir::Endian::Big => "big",
            })
            .or_default() += 1;
    }
    println!(
        "round trip: {counts:?}; {unreadable} objects do not read; by byte order {by_order:?}; \
         {same_ext} objects with identical .BTF.ext records"
    );
    // testdata has 6 objects whose code is packed (no padding between functions) and that
    // have .BTF.ext; the corpus adds more. A clean clone has testdata only.
    let min_same_ext = if common::corpus_dir().is_some() {
        10
    } else {
        6
    };
    assert!(same_ext >= min_same_ext, "{same_ext}");
    assert!(counts.objects >= 14, "{counts:?}");
    assert!(by_order.get("big").copied().unwrap_or(0) >= 7);
}

fn testdata(name: &str) -> Vec<u8> {
    std::fs::read(common::testdata_dir().join(name)).unwrap()
}

/// Edits `calls_first` and its callees the way a rewriting tool would (instructions that do
/// not change what the programs compute): at a program's start, at a callee's start, before
/// a jump target, and an inserted instruction removed again. Returns the module as it should
/// read back: an instruction inserted before a function's first one carries that function's
/// first line, which the writer gives it for the kernel.
fn edit(m: &mut Module) -> Module {
    let common::CallsEdits {
        at_entry,
        at_callee,
        target,
    } = common::edit_calls(m);
    let entry = m.function_by_name("calls_first").unwrap();
    let callee = m.function_by_name("chain_c").unwrap();
    let gone = m
        .insert_before(target, common::mov_imm(Reg::R3, 3), Meta::default())
        .unwrap();
    m.remove(gone).unwrap();
    let mut expected = m.clone();
    for (insn, func) in [(at_entry, entry), (at_callee, callee)] {
        let line = m.func_insns(func).find_map(|i| m.line_of(i));
        assert!(line.is_some());
        expected.set_line(insn, line).unwrap();
    }
    expected
}

#[test]
fn edited_modules_keep_their_edits_lines_and_jump_targets() {
    let mut counts = Counts::default();
    for name in ["calls.bpfel.o", "calls.bpfeb.o"] {
        let mut m = Module::read(&testdata(name)).unwrap();
        let n_before: usize = m.functions().map(|(_, f)| f.n_insns()).sum();
        let expected = edit(&mut m);
        let n_after: usize = m.functions().map(|(_, f)| f.n_insns()).sum();
        assert_eq!(n_after, n_before + 3, "{name}");
        let m2 = Module::read(&write_object(&m).unwrap()).unwrap();
        assert_same(name, &expected, &m2, &mut counts);
        // The inserted instructions are where they were put.
        let f = m2.function_by_name("calls_first").unwrap();
        let first = m2.function(f).first_insn().unwrap();
        assert_eq!(*m2.insn(first), common::mov_imm(Reg::R9, 0), "{name}");
        let body = m2.function_by_name("loop_body").unwrap();
        let target = m2
            .func_insns(body)
            .find_map(|i| match m2.reference(i) {
                Some(Ref::Jump(t)) => Some(t),
                _ => None,
            })
            .unwrap();
        let before = m2.prev_insn(target).unwrap();
        assert_eq!(*m2.insn(before), common::mov_imm(Reg::R4, 1), "{name}");
    }
    println!("edited: {counts:?}");
}

#[test]
fn a_jump_to_a_removed_instruction_is_named() {
    let mut m = Module::read(&testdata("calls.bpfel.o")).unwrap();
    let body = m.function_by_name("loop_body").unwrap();
    let (jump, target) = m
        .func_insns(body)
        .find_map(|i| match m.reference(i) {
            Some(Ref::Jump(t)) => Some((i, t)),
            _ => None,
        })
        .unwrap();
    m.remove(target).unwrap();
    match write_object(&m) {
        Err(WriteError::Verify(errors)) => {
            let err = &errors.0[0];
            assert_eq!(err.location, bpfir::ir::AnyEntity::Insn(jump));
            assert_eq!(err.func, Some(body));
            assert!(err.context.starts_with("function loop_body: i"), "{err}");
            assert!(err.message.contains("removed"), "{err}");
        }
        other => panic!("expected a jump error, got {other:?}"),
    }
}

#[test]
fn an_empty_function_is_named() {
    let mut m = Module::read(&testdata("calls.bpfel.o")).unwrap();
    m.add_function(Function::new("nothing", ".text", false));
    match write_object(&m) {
        Err(WriteError::BadFunction {
            function, section, ..
        }) => assert_eq!((function.as_str(), section.as_str()), ("nothing", ".text")),
        other => panic!("expected an empty-function error, got {other:?}"),
    }
}

/// The kernel tests: written objects load with bpfir and with libbpf.
#[cfg(all(feature = "kernel", target_os = "linux"))]
mod kernel_tests {
    use super::*;

    use super::kernel;
    use bpfir::load::{load, LoadOptions};
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// Loads every program of `m` with bpfir and checks the expected results of `object`.
    fn load_and_check(object: &str, m: &Module, pins: &kernel::PinDir) -> usize {
        let opts = LoadOptions {
            object_name: object.split('.').next().unwrap().to_string(),
            pin_root: Some(pins.subdir(&object.replace('.', "_"))),
            ..LoadOptions::default()
        };
        let loaded = load(m, &opts).unwrap_or_else(|e| panic!("{object}: {e}"));
        super::kernel::check_offline_tags(object, &loaded);
        let mut n = 0;
        for p in &loaded.programs {
            let want = super::common::EXPECTED_RUNS
                .iter()
                .find(|e| e.0 == object && e.1 == p.name)
                .unwrap_or_else(|| panic!("{object}: unexpected program {}", p.name));
            let lp = p
                .result
                .as_ref()
                .unwrap_or_else(|e| panic!("{object} {}: {e}", p.name));
            if let Some(retval) = want.2 {
                let got = lp.run_zero_packet(64).unwrap().retval;
                assert_eq!(got, retval, "{object} {}: retval", p.name);
            }
            n += 1;
        }
        n
    }

    #[test]
    fn written_objects_load_with_bpfir_and_check_themselves() {
        if !kernel::kernel_available("written_objects_load_with_bpfir_and_check_themselves") {
            return;
        }
        let Some(pins) =
            kernel::PinDir::new("written_objects_load_with_bpfir_and_check_themselves")
        else {
            return;
        };
        let mut objects: Vec<&str> = super::common::EXPECTED_RUNS.iter().map(|e| e.0).collect();
        objects.dedup();
        let mut n = 0;
        for object in objects {
            let m = Module::read(&testdata(object)).unwrap();
            let m2 = Module::read(&write_object(&m).unwrap()).unwrap();
            n += load_and_check(object, &m2, &pins);
        }
        assert_eq!(n, super::common::EXPECTED_RUNS.len());
        // The edited module, written and read back, still checks itself.
        let mut m = Module::read(&testdata("calls.bpfel.o")).unwrap();
        edit(&mut m);
        let m2 = Module::read(&write_object(&m).unwrap()).unwrap();
        assert_eq!(load_and_check("calls.bpfel.o", &m2, &pins), 2);
        println!("{} programs of written objects loaded and checked", n + 2);
    }

    /// `/tmp/libbpf_run`, built from `../shared/tools/libbpf_run.c` when it is missing.
    fn libbpf_run() -> Option<PathBuf> {
        let tool = PathBuf::from("/tmp/libbpf_run");
        if tool.is_file() {
            return Some(tool);
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/libbpf_run.c");
        let built = Command::new("gcc")
            .arg("-O1")
            .arg("-o")
            .arg(&tool)
            .arg(&src)
            .args(["-lbpf", "-lelf", "-lz"])
            .status()
            .is_ok_and(|s| s.success());
        if built {
            Some(tool)
        } else {
            eprintln!(
                "libbpf_run could not be built from {} (gcc, libbpf, libelf, zlib); skipping",
                src.display()
            );
            None
        }
    }

    /// The tool's per-program lines (`NAME retval=R err=E insns=N tag=T`) for `path`. It
    /// runs in a mount namespace of its own with a fresh bpf filesystem where it can, so the
    /// maps libbpf pins by name (maps.bpf.c, map_fixups.bpf.c) stay out of `/sys/fs/bpf`.
    fn run_libbpf(tool: &Path, path: &Path) -> String {
        let private = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c"])
            .arg("mount -t bpf bpf /sys/fs/bpf || exit 99; exec \"$0\" \"$1\"")
            .arg(tool)
            .arg(path)
            .output();
        let out = match private {
            Ok(out) if out.status.code() != Some(99) => out,
            _ => Command::new(tool).arg(path).output().unwrap(),
        };
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn written_objects_load_with_libbpf_as_the_originals_do() {
        if !kernel::kernel_available("written_objects_load_with_libbpf_as_the_originals_do") {
            return;
        }
        let Some(tool) = libbpf_run() else {
            return;
        };
        let dir = std::env::temp_dir().join(format!("bpfir-write-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut compared = 0;
        let mut edited = Module::read(&testdata("calls.bpfel.o")).unwrap();
        edit(&mut edited);
        let mut cases: Vec<(String, Module, PathBuf)> = Vec::new();
        for (path, bytes) in common::objects_in(&common::testdata_dir()) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.contains("bpfel") {
                continue;
            }
            cases.push((name, Module::read(&bytes).unwrap(), path));
        }
        for (name, m, original) in cases {
            let want = run_libbpf(&tool, &original);
            if want.trim().is_empty() {
                eprintln!("{name}: libbpf does not load the original; not compared");
                continue;
            }
            let written = dir.join(&name);
            std::fs::write(&written, write_object(&m).unwrap()).unwrap();
            let got = run_libbpf(&tool, &written);
            assert_eq!(got, want, "{name}: libbpf's results differ");
            compared += want.lines().count();
        }
        // The edited object loads with libbpf too, and its programs still pass.
        let written = dir.join("calls-edited.o");
        std::fs::write(&written, write_object(&edited).unwrap()).unwrap();
        let got = run_libbpf(&tool, &written);
        let retvals: Vec<&str> = got
            .lines()
            .map(|l| l.split_whitespace().nth(1).unwrap_or(""))
            .collect();
        assert_eq!(retvals, ["retval=0", "retval=0"], "edited calls: {got}");
        std::fs::remove_dir_all(&dir).unwrap();
        println!("{compared} programs: libbpf gives the same retval, insns and tag");
        assert!(compared >= 9, "{compared}");
    }
}
