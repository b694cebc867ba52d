//! `BPF_BTF_LOAD` against the running kernel, the oracle for the BTF marshaller: BTF built
//! from scratch, the `.BTF` of every little-endian test object (edited), and the kernel's own
//! vmlinux BTF (edited) must all be accepted; broken blobs must be refused with a log that
//! names the problem.
//!
//! Every test skips with a printed reason where `bpf()` is not permitted, and fails instead
//! when `BPFIR_REQUIRE_KERNEL=1`.
#![cfg(all(feature = "kernel", target_os = "linux"))]

#[path = "common/kernel.rs"]
mod kernel;

use std::path::{Path, PathBuf};

use bpfir::btf::{Btf, IntEncoding, Linkage, NewMember, TypeId, TypeKind, VarSecinfo};
use bpfir::elf::ElfObject;
use bpfir::sys::{load_btf, probe, Errno, LogLevel, SysError, INITIAL_LOG_SIZE};
use bpfir::Endian;
use object::{Object, ObjectSymbol};

/// Loads `blob`, failing the test with the kernel's log on refusal.
fn must_load(what: &str, blob: &[u8]) {
    if let Err(err) = load_btf(blob, LogLevel::Basic) {
        panic!(
            "{what}: kernel refused the btf: {err}\nfull log:\n{}",
            err.log()
        );
    }
}

/// Loads `blob`, requiring EINVAL and a log containing `needle`.
fn must_refuse(what: &str, blob: &[u8], needle: &str) -> SysError {
    let err = match load_btf(blob, LogLevel::Basic) {
        Ok(_) => panic!("{what}: kernel accepted a broken btf"),
        Err(err) => err,
    };
    assert_eq!(err.errno(), Some(Errno::EINVAL), "{what}: {err}");
    assert!(
        err.log().contains(needle),
        "{what}: log does not mention {needle:?}:\n{}",
        err.log()
    );
    err
}

#[test]
fn probe_works_or_says_why_not() {
    match probe() {
        Ok(()) => {}
        Err(err) => {
            // Anything but a permission error means load_btf or the minimal blob is wrong.
            assert!(err.is_not_permitted(), "probe failed: {err}");
            assert!(!kernel::kernel_available("probe_works_or_says_why_not"));
        }
    }
}

/// A BTF with every common kind, built with the API.
fn scratch_btf() -> (Btf, TypeId) {
    let mut btf = Btf::new(Endian::native());
    let int = btf.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    let uint = btf
        .add_int("unsigned int", 4, IntEncoding::UNSIGNED, 32)
        .unwrap();
    let char_ = btf.add_int("char", 1, IntEncoding::CHAR, 8).unwrap();
    let long = btf.add_int("long", 8, IntEncoding::SIGNED, 64).unwrap();
    let flag = btf.add_int("_Bool", 1, IntEncoding::BOOL, 8).unwrap();
    let u32_ = btf.add_typedef("u32", uint).unwrap();
    let name = btf.add_array(char_, uint, 16).unwrap();
    let state = btf
        .add_enum(
            "state",
            4,
            false,
            &[("IDLE", 0), ("RUNNING", 1), ("DONE", 7)],
        )
        .unwrap();
    let big = btf
        .add_enum("big", 8, false, &[("SMALL", 1), ("HUGE", 1 << 40)])
        .unwrap();
    let fwd_task = btf.add_int("pid_t", 4, IntEncoding::SIGNED, 32).unwrap();
    let task = btf
        .add_struct(
            "task",
            48,
            &[
                NewMember::new("pid", fwd_task, 0),
                NewMember {
                    name: "prio",
                    ty: u32_,
                    bit_offset: 32,
                    bitfield_size: 5,
                },
                NewMember {
                    name: "flags",
                    ty: u32_,
                    bit_offset: 37,
                    bitfield_size: 3,
                },
                NewMember::new("state", state, 64),
                NewMember::new("name", name, 96),
                NewMember::new("big", big, 256),
                NewMember::new("live", flag, 320),
            ],
        )
        .unwrap();
    let task_ptr = btf.add_ptr(task).unwrap();
    let proto = btf
        .add_func_proto(long, &[("t", task_ptr), ("n", int)])
        .unwrap();
    btf.add_func("task_weight", proto, Linkage::Global).unwrap();
    (btf, task)
}

#[test]
fn btf_built_from_scratch_loads() {
    if !kernel::kernel_available("btf_built_from_scratch_loads") {
        return;
    }
    let (btf, _) = scratch_btf();
    must_load("scratch btf", &btf.to_bytes());
}

/// The byte offset of the `type` field of the first member of the struct `id` in a blob
/// marshalled from `btf`, found by walking the type section with the model's record sizes.
fn member_type_offset(btf: &Btf, blob: &[u8], id: TypeId) -> usize {
    let e = btf.endian();
    let hdr_len = e.read_u32(blob, 4).unwrap() as usize;
    let type_off = e.read_u32(blob, 8).unwrap() as usize;
    let mut off = hdr_len + type_off;
    for (tid, ty) in btf.own_types().skip(1) {
        if tid == id {
            // btf_type (12 bytes), then btf_member {name_off, type, offset}.
            return off + 12 + 4;
        }
        off += 12
            + match ty.kind {
                TypeKind::Int { .. } | TypeKind::Var { .. } | TypeKind::DeclTag { .. } => 4,
                TypeKind::Array { .. } => 12,
                TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
                    12 * members.len()
                }
                TypeKind::Enum { values, .. } => 8 * values.len(),
                TypeKind::Enum64 { values, .. } => 12 * values.len(),
                TypeKind::FuncProto { params, .. } => 8 * params.len(),
                TypeKind::Datasec { vars, .. } => 12 * vars.len(),
                _ => 0,
            };
    }
    panic!("type not found")
}

#[test]
fn broken_btf_is_refused_with_a_log() {
    if !kernel::kernel_available("broken_btf_is_refused_with_a_log") {
        return;
    }
    let (btf, task) = scratch_btf();
    let good = btf.to_bytes();
    let e = btf.endian();

    // A struct member referring to a type id past the last type.
    let at = member_type_offset(&btf, &good, task);
    let pid = btf.members(task).get(0).unwrap().ty;
    assert_eq!(
        e.read_u32(&good, at),
        Some(btf.wire_id(pid).0),
        "offset walk is off"
    );
    let mut bad = good.clone();
    bad[at..at + 4].copy_from_slice(&e.u32_bytes(btf.n_types() + 100));
    let err = must_refuse("member past the types", &bad, "Invalid member");
    assert!(err.to_string().contains("kernel log"), "{err}");

    // The string section must end with NUL.
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] = b'x';
    must_refuse("unterminated strings", &bad, "string");

    // The other byte order is not this kernel's BTF.
    let mut bad = good.clone();
    bad.swap(0, 1);
    must_refuse("foreign byte order", &bad, "magic");

    // Without a log level the error carries the errno only.
    let err = load_btf(&bad, LogLevel::Off).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EINVAL));
    assert_eq!(err.log(), "");
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// The DATASECs of `btf` with their ELF sections' names.
fn datasecs(btf: &Btf) -> Vec<(TypeId, String)> {
    btf.own_types()
        .filter(|(_, t)| matches!(t.kind, TypeKind::Datasec { .. }))
        .map(|(id, _)| (id, btf.name(id).unwrap().to_string()))
        // `.ksyms` has no ELF section: the loader lays it out (sanitize_for_kernel).
        .filter(|(_, name)| name != ".ksyms")
        .collect()
}

/// What loaders do to clang's `.BTF` before `BPF_BTF_LOAD`, part 1: clang leaves every
/// DATASEC's size at 0 (the section size is only known to the object writer), and the kernel
/// refuses a DATASEC of size 0 ("size == 0"). Like libbpf, take it from the ELF section of
/// the same name. Returns the number of DATASECs fixed.
fn fix_datasec_sizes(btf: &mut Btf, elf: &ElfObject<'_>) -> usize {
    let secs = datasecs(btf);
    for (id, name) in &secs {
        let section = elf
            .section(name)
            .unwrap_or_else(|| panic!("datasec {name} has no elf section"));
        btf.set_datasec_size(*id, u32::try_from(section.size).unwrap())
            .unwrap();
    }
    secs.len()
}

/// Part 2: clang fills in the offsets of `static` variables but leaves those of global
/// variables at 0, with a `.rel.BTF` relocation against the variable's symbol that only
/// static linkers apply; the kernel refuses variables that overlap ("Invalid offset").
/// Like libbpf, take each variable's offset from the symbol of the same name in the
/// section. Returns the number of offsets that changed.
fn fix_var_offsets(btf: &mut Btf, obj_bytes: &[u8], elf: &ElfObject<'_>) -> usize {
    let symbols = object::File::parse(obj_bytes).unwrap();
    let mut changed = 0;
    for (id, name) in datasecs(btf) {
        let section_index = elf.section(&name).unwrap().index;
        let var_names: Vec<String> = btf
            .datasec_vars(id)
            .iter()
            .map(|v| btf.name(v.ty).unwrap().to_string())
            .collect();
        for (var, var_name) in btf.datasec_vars_mut(id).unwrap().iter_mut().zip(&var_names) {
            let sym = symbols
                .symbols()
                .find(|s| {
                    s.name() == Ok(var_name.as_str())
                        && s.section_index().map(|i| i.0) == Some(section_index)
                })
                .unwrap_or_else(|| panic!("no symbol for variable {var_name} in {name}"));
            let offset = u32::try_from(sym.address()).unwrap();
            if var.offset != offset {
                assert_eq!(
                    var.offset, 0,
                    "{var_name}: clang wrote a wrong non-zero offset"
                );
                var.offset = offset;
                changed += 1;
            }
        }
    }
    changed
}

/// Adds a struct of existing types with new member names.
fn add_probe_struct(btf: &mut Btf, name: &str) -> TypeId {
    let int = btf.types_by_name("int").next().expect("object btf has int");
    let int_ptr = btf.add_ptr(int).unwrap();
    let size = btf.size_of(int).unwrap();
    btf.add_struct(
        name,
        8 + 2 * size.max(8),
        &[
            NewMember::new("bpfir_first", int, 0),
            NewMember::new("bpfir_second", int, 8 * size),
            NewMember::new("bpfir_ptr", int_ptr, 8 * 2 * size.max(4)),
        ],
    )
    .unwrap()
}

#[test]
fn object_btf_edited_loads() {
    if !kernel::kernel_available("object_btf_edited_loads") {
        return;
    }
    let mut loaded = Vec::new();
    let mut fixed_offsets = 0;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(testdata())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bpfel.o"))
        // BTF the kernel refuses on purpose, and an extern map's object, which loads only
        // linked (tests/selftests_items.rs).
        .filter(|p| {
            let name = p.to_string_lossy();
            !name.ends_with("btf_refused.bpfel.o") && !name.ends_with("extern_map_use.bpfel.o")
        })
        .collect();
    entries.sort();
    assert!(entries.len() >= 7, "testdata has {} objects", entries.len());
    for path in &entries {
        let what = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(path).unwrap();
        let elf = ElfObject::parse(&bytes).unwrap();
        let raw = elf.section(".BTF").unwrap().data;
        let mut btf = Btf::parse(raw).unwrap();

        // Clang's raw BTF as it is: refused for the extern FUNCs of calls to other objects
        // (link_a, link_b), else for its DATASEC sizes (every object has at least `license`).
        let has_extern_func = btf.own_types().any(
            |(_, t)| matches!(t.kind, TypeKind::Func { linkage, .. } if linkage == Linkage::Extern),
        );
        if has_extern_func {
            must_refuse(&format!("{what} raw"), raw, "Invalid func linkage");
            bpfir::load::sanitize_for_kernel(&mut btf).unwrap();
        } else {
            must_refuse(&format!("{what} raw"), raw, "size == 0");
        }

        assert!(fix_datasec_sizes(&mut btf, &elf) > 0, "{what}");
        let n_offsets = fix_var_offsets(&mut btf, &bytes, &elf);
        if n_offsets > 0 {
            // Sizes alone are not enough: the globals at offset 0 overlap.
            let mut sizes_only = Btf::parse(raw).unwrap();
            bpfir::load::sanitize_for_kernel(&mut sizes_only).unwrap();
            fix_datasec_sizes(&mut sizes_only, &elf);
            must_refuse(
                &format!("{what} sizes only"),
                &sizes_only.to_bytes(),
                "Invalid offset",
            );
            fixed_offsets += n_offsets;
        }
        let n_before = btf.n_types();
        let added = add_probe_struct(&mut btf, "bpfir_added");
        let blob = btf.to_bytes();
        let again = Btf::parse(&blob).unwrap();
        assert_eq!(again.n_types(), n_before + 2, "{what}");
        assert_eq!(
            again.types_by_name("bpfir_added").collect::<Vec<_>>(),
            vec![added]
        );
        must_load(&what, &blob);
        loaded.push(what);
    }
    // globals.bpf.c has several globals per section, so some offsets must have been fixed.
    assert!(fixed_offsets > 0);
    eprintln!(
        "loaded edited .BTF of {} objects ({fixed_offsets} variable offsets fixed): {loaded:?}",
        loaded.len()
    );
}

#[test]
fn vmlinux_btf_edited_loads() {
    if !kernel::kernel_available("vmlinux_btf_edited_loads") {
        return;
    }
    let path = Path::new("/sys/kernel/btf/vmlinux");
    let Ok(raw) = std::fs::read(path) else {
        eprintln!(
            "skipping vmlinux_btf_edited_loads: {} not readable",
            path.display()
        );
        return;
    };
    let mut btf = Btf::parse(&raw).unwrap();
    assert_eq!(
        btf.to_bytes(),
        raw,
        "unmodified vmlinux re-marshals byte for byte"
    );
    must_load("vmlinux as read", &raw);
    let n_before = btf.n_types();
    let task = btf
        .types_by_name("task_struct")
        .next()
        .expect("vmlinux has task_struct");
    let task_ptr = btf.add_ptr(task).unwrap();
    // Kernel BTF spells C's long as gcc's DWARF does.
    let long = btf
        .types_by_name("long int")
        .next()
        .expect("vmlinux has long int");
    let added = btf
        .add_struct(
            "bpfir_vmlinux_added",
            16,
            &[
                NewMember::new("bpfir_task", task_ptr, 0),
                NewMember::new("bpfir_count", long, 64),
            ],
        )
        .unwrap();
    let blob = btf.to_bytes();
    assert!(blob.len() > raw.len());
    let again = Btf::parse(&blob).unwrap();
    assert_eq!(again.n_types(), n_before + 2);
    assert_eq!(
        again
            .types_by_name("bpfir_vmlinux_added")
            .collect::<Vec<_>>(),
        vec![added]
    );
    must_load("vmlinux edited", &blob);
}

#[test]
fn long_log_grows_the_buffer() {
    if !kernel::kernel_available("long_log_grows_the_buffer") {
        return;
    }
    let Ok(raw) = std::fs::read("/sys/kernel/btf/vmlinux") else {
        eprintln!("skipping long_log_grows_the_buffer: vmlinux btf not readable");
        return;
    };
    // A DATASEC of size 0 after all of vmlinux's types: the kernel logs every type it checks
    // before it, megabytes of log, far more than the first buffer holds (ENOSPC).
    let mut btf = Btf::parse(&raw).unwrap();
    let int = btf.types_by_name("int").next().expect("vmlinux has int");
    let var = btf.add_var("bpfir_var", int, Linkage::Global).unwrap();
    btf.add_datasec(
        ".bpfir",
        0,
        &[VarSecinfo {
            ty: var,
            offset: 0,
            size: 4,
        }],
    )
    .unwrap();
    let err = must_refuse("vmlinux with empty datasec", &btf.to_bytes(), "size == 0");
    assert!(
        err.log().len() > INITIAL_LOG_SIZE,
        "log of {} bytes did not need a larger buffer",
        err.log().len()
    );
    assert!(
        matches!(
            err,
            SysError::Syscall {
                log_truncated: false,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.log().trim_end().ends_with("size == 0"), "{err}");
    eprintln!(
        "kernel log of {} bytes, {} lines",
        err.log().len(),
        err.log().lines().count()
    );
}
