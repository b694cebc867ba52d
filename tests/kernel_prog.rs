//! The kernel as the oracle for program loads: hand-assembled programs go through
//! `BPF_PROG_LOAD` (with and without BTF func_info/line_info, with a map fd in an
//! `ld_imm64`), run under `BPF_PROG_TEST_RUN`, and are described by
//! `BPF_OBJ_GET_INFO_BY_FD`. Refusals must come back with the verifier's log.
//!
//! Every test skips (with a printed reason) where `bpf()` is not permitted, and fails
//! instead when `BPFIR_REQUIRE_KERNEL=1`.

#[path = "common/kernel.rs"]
mod kernel;

use std::os::fd::AsRawFd;

use bpfir::btf::{Btf, IntEncoding, Linkage, TypeKind};
use bpfir::insn::{
    encode_all, AluClass, AluOp, CallKind, Insn, JmpClass, JmpOp, Operand, PseudoKind, Reg, Size,
};
use bpfir::sys::{
    create_map, freeze_map, load_prog, lookup_elem, map_info, prog_info, program_kind, test_run,
    update_elem, BtfTargetKind, Errno, LogLevel, MapCreate, MapType, ProgFd, ProgLoad, ProgType,
    SysError, TestRun, BPF_ANY,
};
use bpfir::Endian;

fn mov64_imm(dst: Reg, imm: i32) -> Insn {
    Insn::Alu {
        class: AluClass::Alu64,
        op: AluOp::Mov,
        dst,
        src: Operand::Imm(imm),
    }
}

/// `r0 = value; exit`.
fn returns(value: i32) -> Vec<u8> {
    encode_all(&[mov64_imm(Reg::R0, value), Insn::Exit], Endian::native())
}

/// A 64-byte packet: enough for the skb test runner (it wants at least an Ethernet header).
const PACKET: [u8; 64] = [0xab; 64];

/// Runs `prog` once on [`PACKET`] and returns its return value.
fn run(prog: &ProgFd) -> u32 {
    let result = test_run(
        prog,
        &mut TestRun {
            data_in: &PACKET,
            ..TestRun::default()
        },
    )
    .expect("test run");
    result.retval
}

fn load(what: &str, load: &ProgLoad<'_>) -> ProgFd {
    load_prog(load).unwrap_or_else(|e| panic!("{what}: {e}"))
}

#[test]
fn socket_filter_returns_seven() {
    if !kernel::kernel_available("socket_filter_returns_seven") {
        return;
    }
    let insns = returns(7);
    let request = ProgLoad {
        name: "bpfir-ret7!",
        ..ProgLoad::new(ProgType::SOCKET_FILTER, &insns, "GPL")
    };
    let prog = load("return 7", &request);
    assert_eq!(run(&prog), 7);
    let mut out = [0u8; 128];
    let result = test_run(
        &prog,
        &mut TestRun {
            data_in: &PACKET,
            data_out: Some(&mut out),
            repeat: 3,
            ..TestRun::default()
        },
    )
    .unwrap();
    assert_eq!(result.retval, 7);
    assert_eq!(result.data_size_out, PACKET.len() as u32);
    // The payload comes back as it went in. (The Ethernet header does not: for socket
    // filters the kernel returns those 14 bytes zeroed, as observed on 6.18.)
    assert_eq!(&out[14..PACKET.len()], &PACKET[14..]);
    // A buffer too small for the output: ENOSPC, and the kernel writes only what fits.
    let mut small = [0x55u8; 40];
    let err = test_run(
        &prog,
        &mut TestRun {
            data_in: &PACKET,
            data_out: Some(&mut small[..20]),
            ..TestRun::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.errno(), Some(Errno::ENOSPC), "{err}");
    assert!(
        small[20..].iter().all(|&b| b == 0x55),
        "wrote past the buffer"
    );

    let info = prog_info(&prog).unwrap();
    assert_eq!(info.prog_type, ProgType::SOCKET_FILTER);
    assert_eq!(info.name, "bpfirret7", "name sanitized to [A-Za-z0-9_.]");
    assert!(info.id > 0);
    assert!(info.gpl_compatible);
    assert_eq!(info.xlated_len, insns.len() as u32);
    assert_eq!(info.nr_func_info, 0);
    let tag = info.tag_hex();
    assert_eq!(tag.len(), 16);
    assert!(tag
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));

    // The tag hashes the instructions: a second load of the same bytes has the same tag but
    // another id, and a different program another tag.
    let again = load("return 7 again", &request);
    let info2 = prog_info(&again).unwrap();
    assert_ne!(info2.id, info.id);
    assert_eq!(info2.tag_hex(), tag);
    let other_insns = returns(8);
    let other = load(
        "return 8",
        &ProgLoad::new(ProgType::SOCKET_FILTER, &other_insns, "GPL"),
    );
    assert_eq!(run(&other), 8);
    assert_ne!(prog_info(&other).unwrap().tag, info.tag);
    eprintln!("prog id {} tag {tag}", info.id);
}

/// A BTF with `int`, `int f(void)` named `func_name`, and the strings of one source line;
/// returns the blob, the FUNC's and INT's wire ids, and the string offsets of the file name
/// and line text.
fn btf_with_func(func_name: &str) -> (Vec<u8>, u32, u32, u32, u32) {
    let mut btf = Btf::new(Endian::native());
    let int = btf.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    let proto = btf.add_func_proto(int, &[]).unwrap();
    let func = btf.add_func(func_name, proto, Linkage::Global).unwrap();
    let file = btf.add_str("/src/bpfir/ret.c").unwrap();
    let line = btf.add_str("\treturn 7;").unwrap();
    (
        btf.to_bytes(),
        btf.wire_id(func).0,
        btf.wire_id(int).0,
        file.0,
        line.0,
    )
}

fn words(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_ne_bytes()).collect()
}

#[test]
fn socket_filter_with_btf_func_and_line_info() {
    if !kernel::kernel_available("socket_filter_with_btf_func_and_line_info") {
        return;
    }
    let (blob, func, int, file, line) = btf_with_func("ret7");
    let btf = bpfir::sys::load_btf(&blob, LogLevel::Basic).unwrap();
    let insns = returns(7);
    // bpf_func_info {insn_off, type_id}; bpf_line_info {insn_off, file_name_off, line_off,
    // line_col = line << 10 | col}.
    let func_info = words(&[0, func]);
    let line_info = words(&[0, file, line, (3 << 10) | 2, 1, file, line, (3 << 10) | 9]);
    let request = ProgLoad {
        name: "ret7",
        prog_btf_fd: Some(std::os::fd::AsFd::as_fd(&btf)),
        func_info: &func_info,
        line_info: &line_info,
        ..ProgLoad::new(ProgType::SOCKET_FILTER, &insns, "GPL")
    };
    let prog = load("with btf", &request);
    assert_eq!(run(&prog), 7);
    let info = prog_info(&prog).unwrap();
    assert_eq!(info.nr_func_info, 1);
    assert_eq!(info.nr_line_info, 2);
    assert!(info.btf_id > 0);

    // The first func_info must sit at instruction 0.
    let bad = words(&[1, func]);
    let err = load_prog(&ProgLoad {
        func_info: &bad,
        line_info: &[],
        ..request
    })
    .unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EINVAL), "{err}");
    assert!(
        err.log()
            .contains("nonzero insn_off 1 for the first func info record"),
        "{err}"
    );
    // Its type must be a FUNC.
    let bad = words(&[0, int]);
    let err = load_prog(&ProgLoad {
        func_info: &bad,
        line_info: &[],
        ..request
    })
    .unwrap_err();
    assert!(
        err.log().contains(&format!("invalid type id {int}")),
        "{err}"
    );
    assert!(err.to_string().contains("kernel log"), "{err}");
    // Line info naming a string past the string section.
    let bad = words(&[0, file, 1 << 20, 3 << 10]);
    let err = load_prog(&ProgLoad {
        line_info: &bad,
        ..request
    })
    .unwrap_err();
    assert!(err.log().contains("line_info"), "{err}");
}

#[test]
fn array_map_round_trip_and_program_reads_it() {
    if !kernel::kernel_available("array_map_round_trip_and_program_reads_it") {
        return;
    }
    let map = create_map(&MapCreate {
        name: "bpfir_array",
        ..MapCreate::new(MapType::ARRAY, 4, 8, 2)
    })
    .unwrap();
    let info = map_info(&map).unwrap();
    assert_eq!(info.map_type, MapType::ARRAY);
    assert_eq!(
        (info.key_size, info.value_size, info.max_entries),
        (4, 8, 2)
    );
    assert_eq!(info.name, "bpfir_array");
    // A foreign map fd learns its sizes from the kernel; a program fd is not a map.
    let dup = std::os::fd::AsFd::as_fd(&map).try_clone_to_owned().unwrap();
    let wrapped = bpfir::sys::MapFd::from_owned(dup).unwrap();
    assert_eq!(
        (wrapped.map_type(), wrapped.key_size(), wrapped.value_size()),
        (MapType::ARRAY, 4, 8)
    );
    let insns = returns(0);
    let prog = load(
        "not a map",
        &ProgLoad::new(ProgType::SOCKET_FILTER, &insns, "GPL"),
    );
    let prog_fd: std::os::fd::OwnedFd = prog.into();
    let err = bpfir::sys::MapFd::from_owned(prog_fd).unwrap_err();
    assert!(err.to_string().contains("not a bpf map"), "{err}");

    let key0 = 0u32.to_ne_bytes();
    let key1 = 1u32.to_ne_bytes();
    update_elem(&map, &key0, &42u64.to_ne_bytes(), BPF_ANY).unwrap();
    update_elem(&map, &key1, &0xdead_beef_u64.to_ne_bytes(), BPF_ANY).unwrap();
    let mut value = [0u8; 8];
    lookup_elem(&map, &key0, &mut value).unwrap();
    assert_eq!(u64::from_ne_bytes(value), 42);
    lookup_elem(&map, &key1, &mut value).unwrap();
    assert_eq!(u64::from_ne_bytes(value), 0xdead_beef);
    // Out of range for an array: ENOENT.
    let err = lookup_elem(&map, &7u32.to_ne_bytes(), &mut value).unwrap_err();
    assert_eq!(err.errno(), Some(Errno(libc_enoent())), "{err}");
    // Slices of the wrong size never reach the kernel.
    let err = lookup_elem(&map, &key0, &mut [0u8; 4]).unwrap_err();
    assert!(matches!(err, SysError::InvalidArgument { .. }), "{err}");
    assert!(err.to_string().contains("4 bytes given"), "{err}");
    let err = update_elem(&map, &[0u8; 8], &value, BPF_ANY).unwrap_err();
    assert!(err.to_string().contains("key size is 4"), "{err}");

    freeze_map(&map).unwrap();
    let err = update_elem(&map, &key0, &1u64.to_ne_bytes(), BPF_ANY).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EPERM), "frozen map: {err}");
    lookup_elem(&map, &key0, &mut value).unwrap();
    assert_eq!(u64::from_ne_bytes(value), 42, "freeze keeps the contents");

    // r1 = map (BPF_PSEUDO_MAP_FD); *(u32 *)(r10 - 4) = key; r2 = r10 - 4;
    // r0 = bpf_map_lookup_elem(r1, r2); if r0 == 0 goto miss; r0 = *(u64 *)r0; exit;
    // miss: r0 = 99; exit.
    let program = |key: i32| {
        encode_all(
            &[
                Insn::LdImm64 {
                    kind: PseudoKind::MapFd,
                    dst: Reg::R1,
                    imm: i64::from(map.as_raw_fd()),
                },
                Insn::StoreImm {
                    size: Size::W,
                    dst: Reg::R10,
                    off: -4,
                    imm: key,
                },
                Insn::Alu {
                    class: AluClass::Alu64,
                    op: AluOp::Mov,
                    dst: Reg::R2,
                    src: Operand::Reg(Reg::R10),
                },
                Insn::Alu {
                    class: AluClass::Alu64,
                    op: AluOp::Add,
                    dst: Reg::R2,
                    src: Operand::Imm(-4),
                },
                Insn::Call {
                    kind: CallKind::Helper,
                    imm: 1,
                    off: 0,
                },
                Insn::JmpCond {
                    class: JmpClass::Jmp,
                    op: JmpOp::Eq,
                    dst: Reg::R0,
                    src: Operand::Imm(0),
                    off: 2,
                },
                Insn::Load {
                    size: Size::DW,
                    dst: Reg::R0,
                    src: Reg::R0,
                    off: 0,
                },
                Insn::Exit,
                mov64_imm(Reg::R0, 99),
                Insn::Exit,
            ],
            Endian::native(),
        )
    };
    for (key, expected) in [(0, 42), (1, 0xdead_beef), (5, 99)] {
        let insns = program(key);
        let prog = load(
            "map lookup",
            &ProgLoad::new(ProgType::SOCKET_FILTER, &insns, "GPL"),
        );
        assert_eq!(run(&prog), expected, "key {key}");
        assert_eq!(prog_info(&prog).unwrap().nr_map_ids, 1);
    }
}

/// `ENOENT` without naming libc in the test's dependencies.
fn libc_enoent() -> i32 {
    std::io::Error::from(std::io::ErrorKind::NotFound)
        .raw_os_error()
        .unwrap_or(2)
}

#[test]
fn verifier_rejections_carry_the_log() {
    if !kernel::kernel_available("verifier_rejections_carry_the_log") {
        return;
    }
    // `exit` with r0 never written.
    let insns = encode_all(&[Insn::Exit], Endian::native());
    let err = load_prog(&ProgLoad::new(ProgType::SOCKET_FILTER, &insns, "GPL")).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EACCES), "{err}");
    assert!(!err.log().is_empty());
    assert!(err.log().contains("R0 !read_ok"), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("bpf(BPF_PROG_LOAD) failed with EACCES"),
        "{text}"
    );
    assert!(text.contains("kernel log"), "{text}");
    let last_line = err.log().lines().last().unwrap();
    assert!(text.ends_with(last_line.trim_end()), "{text}");

    // Falling off the end.
    let insns = encode_all(&[mov64_imm(Reg::R0, 0)], Endian::native());
    let err = load_prog(&ProgLoad::new(ProgType::SOCKET_FILTER, &insns, "GPL")).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EINVAL), "{err}");
    assert!(
        err.log().contains("last insn is not an exit or jmp"),
        "{err}"
    );

    // Without a log level the error carries the errno only.
    let err = load_prog(&ProgLoad {
        log_level: LogLevel::Off,
        ..ProgLoad::new(ProgType::SOCKET_FILTER, &insns, "GPL")
    })
    .unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EINVAL));
    assert_eq!(err.log(), "");

    // The verbose log says more than the basic one about the same program.
    let insns = encode_all(
        &[mov64_imm(Reg::R1, 1), mov64_imm(Reg::R2, 2), Insn::Exit],
        Endian::native(),
    );
    let basic = load_prog(&ProgLoad::new(ProgType::SOCKET_FILTER, &insns, "GPL")).unwrap_err();
    let verbose = load_prog(&ProgLoad {
        log_level: LogLevel::Verbose,
        ..ProgLoad::new(ProgType::SOCKET_FILTER, &insns, "GPL")
    })
    .unwrap_err();
    assert!(verbose.log().len() > basic.log().len(), "{verbose}");
}

#[test]
fn kprobe_loads_from_its_section_name() {
    if !kernel::kernel_available("kprobe_loads_from_its_section_name") {
        return;
    }
    let kind = program_kind("kprobe/do_unlinkat").unwrap();
    assert_eq!(kind.prog_type, ProgType::KPROBE);
    let insns = returns(0);
    let prog = load(
        "kprobe",
        &ProgLoad {
            expected_attach_type: kind.expected_attach_type,
            prog_flags: kind.prog_flags,
            name: "do_unlinkat",
            ..ProgLoad::new(kind.prog_type, &insns, "GPL")
        },
    );
    let info = prog_info(&prog).unwrap();
    assert_eq!(info.prog_type, ProgType::KPROBE);
    assert_eq!(info.name, "do_unlinkat");
}

#[test]
fn fentry_resolves_its_target_and_gets_the_kernels_verdict() {
    if !kernel::kernel_available("fentry_resolves_its_target_and_gets_the_kernels_verdict") {
        return;
    }
    let Ok(raw) = std::fs::read("/sys/kernel/btf/vmlinux") else {
        eprintln!("skipping fentry test: /sys/kernel/btf/vmlinux not readable");
        return;
    };
    let vmlinux = Btf::parse(&raw).unwrap();
    let kind = program_kind("fentry/do_unlinkat").unwrap();
    let target = kind.attach_target.unwrap();
    assert_eq!(target.btf.unwrap().kind, BtfTargetKind::Func);
    let btf_name = target.btf_name().unwrap();
    let func = vmlinux
        .types_by_name(&btf_name)
        .find(|&id| matches!(vmlinux.ty(id).kind, TypeKind::Func { .. }))
        .unwrap_or_else(|| panic!("vmlinux has no FUNC {btf_name}"));
    let attach_btf_id = vmlinux.wire_id(func).0;

    let insns = returns(0);
    let request = ProgLoad {
        expected_attach_type: kind.expected_attach_type,
        prog_flags: kind.prog_flags,
        name: "fentry_unlink",
        ..ProgLoad::new(kind.prog_type, &insns, "GPL")
    };
    match load_prog(&ProgLoad {
        attach_btf_id,
        ..request
    }) {
        Ok(prog) => {
            let info = prog_info(&prog).unwrap();
            assert_eq!(info.attach_btf_id, attach_btf_id);
            eprintln!("fentry/do_unlinkat loaded on this kernel");
        }
        Err(err) => {
            // Known limit of these machines: trampolines are refused with EPERM.
            assert_eq!(err.errno(), Some(Errno::EPERM), "{err}");
            assert!(err.to_string().contains("EPERM"), "{err}");
            eprintln!("fentry/do_unlinkat (btf id {attach_btf_id}): {err}");
        }
    }

    // tp_btf resolves through a typedef and loads here.
    let kind = program_kind("tp_btf/sched_switch").unwrap();
    let target = kind.attach_target.unwrap();
    let name = target.btf_name().unwrap();
    let typedef = vmlinux
        .types_by_name(&name)
        .find(|&id| matches!(vmlinux.ty(id).kind, TypeKind::Typedef { .. }))
        .unwrap_or_else(|| panic!("vmlinux has no typedef {name}"));
    let prog = load(
        "tp_btf/sched_switch",
        &ProgLoad {
            expected_attach_type: kind.expected_attach_type,
            attach_btf_id: vmlinux.wire_id(typedef).0,
            ..ProgLoad::new(kind.prog_type, &insns, "GPL")
        },
    );
    assert_eq!(prog_info(&prog).unwrap().prog_type, ProgType::TRACING);
}
