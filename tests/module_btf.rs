//! Kfuncs and typed ksyms defined in kernel modules (issue 10, item 12, first half):
//! resolved in a module's split BTF when vmlinux lacks them, the module BTF's fd in
//! `fd_array` (from index 1) for a kfunc call and in the second half of an `ld_imm64`.
//!
//! Offline against a module `bpf_testmod` whose split BTF (over a small base standing in
//! for vmlinux) is built in the test with the kfunc and the per-CPU variable the selftests'
//! module defines. The fds of the module BTFs are fds of `/dev/null`: lowering only copies
//! their numbers. With the kernel: the running
//! kernel's BTF objects, and the same object loaded where the module is absent.

mod common;
#[cfg(all(feature = "kernel", target_os = "linux"))]
#[path = "common/kernel.rs"]
mod kernel;

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;

use bpfir::btf::{Btf, IntEncoding, Kind, Linkage, VarSecinfo, WireTypeId};
use bpfir::insn::{CallKind, Insn, PseudoKind};
use bpfir::ir::Module;
use bpfir::load::{prepare, BtfFeatures, KernelBtfs, LoadOptions, Prepared};
use bpfir::lower::lower;
use bpfir::sys::BtfFd;
use bpfir::Endian;

const KFUNC: &str = "bpf_kfunc_common_test";
const KSYM: &str = "bpf_testmod_ksym_percpu";

fn read(name: &str) -> Module {
    let data = std::fs::read(common::testdata_dir().join(name)).unwrap();
    Module::read(&data).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A small "vmlinux" and the split BTF of a module `bpf_testmod` over it, built here: the
/// module defines the kfunc `void bpf_kfunc_common_test(void)` and the per-CPU variable
/// `int bpf_testmod_ksym_percpu` (as the selftests' module does), after a few types of its
/// own so that their ids are not the first ones; the base has neither name.
fn testmod() -> (Arc<Btf>, Arc<Btf>) {
    let mut base = Btf::new(Endian::Little);
    let int = base.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    let long = base.add_int("long", 8, IntEncoding::SIGNED, 64).unwrap();
    let proto = base.add_func_proto(long, &[("x", int)]).unwrap();
    base.add_func("vmlinux_only", proto, Linkage::Global)
        .unwrap();
    let base = Arc::new(base);

    let mut module = Btf::new_split(base.clone());
    let ptr = module.add_ptr(int).unwrap();
    module.add_typedef("testmod_ptr_t", ptr).unwrap();
    let void = base.type_id(WireTypeId(0)).unwrap();
    let proto = module.add_func_proto(void, &[]).unwrap();
    module.add_func(KFUNC, proto, Linkage::Global).unwrap();
    let var = module.add_var(KSYM, int, Linkage::Global).unwrap();
    let vars = [VarSecinfo {
        ty: var,
        offset: 0,
        size: 4,
    }];
    module.add_datasec(".data..percpu", 4, &vars).unwrap();
    // Through its wire form, as the kernel hands a module's BTF out.
    let module = Btf::parse_split(&module.to_bytes(), base.clone()).unwrap();
    (base, Arc::new(module))
}

fn fake_fd() -> BtfFd {
    BtfFd::from_owned(OwnedFd::from(std::fs::File::open("/dev/null").unwrap()))
}

fn prepared(module: &Module, kernel: KernelBtfs) -> Result<Prepared, bpfir::load::LoadError> {
    let opts = LoadOptions {
        kernel_btfs: Some(Arc::new(kernel)),
        btf_features: Some(BtfFeatures::default()),
        ..LoadOptions::default()
    };
    prepare(module, &opts)
}

/// The lowered instructions of `check`, ld_imm64s and calls only.
fn lowered(module: &Module, p: &Prepared) -> Vec<Insn> {
    let (func, _) = module.programs().find(|(_, f)| f.name == "check").unwrap();
    let l = lower(module, func, &p.bindings).unwrap();
    l.insns
        .into_iter()
        .filter(|i| matches!(i, Insn::LdImm64 { .. } | Insn::Call { .. }))
        .collect()
}

fn own_id(btf: &Btf, name: &str, kind: Kind) -> u32 {
    let t = btf.type_by_name_kind(name, kind).unwrap();
    let id = btf.wire_id(t).0;
    assert!(id >= btf.first_own_id(), "{name} is the module's own");
    id
}

#[test]
fn module_kfunc_and_ksym_get_the_module_btf_ids_and_fd() {
    let (base, testmod) = testmod();
    // Neither name is in the base: only the module has them.
    assert!(base.type_by_name_kind(KFUNC, Kind::Func).is_none());
    assert!(base.type_by_name_kind(KSYM, Kind::Var).is_none());
    let kfunc_id = own_id(&testmod, KFUNC, Kind::Func);
    let ksym_id = own_id(&testmod, KSYM, Kind::Var);
    for obj in ["module_kfunc.bpfel.o", "module_kfunc.bpfeb.o"] {
        let module = read(obj);
        // bpf_testmod twice: the first module that has a name wins.
        let mut kernel = KernelBtfs::new(base.clone());
        kernel.push_module("bpf_testmod", testmod.clone(), Some(fake_fd()));
        kernel.push_module("bpf_testmod_again", testmod.clone(), Some(fake_fd()));
        let fd = kernel.modules()[0].fd.as_ref().unwrap().as_fd().as_raw_fd();
        let other = kernel.modules()[1].fd.as_ref().unwrap().as_fd().as_raw_fd();
        assert_ne!(fd, other);
        let p = prepared(&module, kernel).unwrap_or_else(|e| panic!("{obj}: {e}"));
        // Index 0 unused, the module's fd at 1, as libbpf lays it out.
        assert_eq!(p.fd_array, vec![0, fd], "{obj}");
        let with_fd = |id: u32| (i64::from(fd as u32) << 32) | i64::from(id);
        let insns = lowered(&module, &p);
        let want = [
            (PseudoKind::BtfId, with_fd(kfunc_id)),
            (PseudoKind::BtfId, with_fd(ksym_id)),
        ];
        let lds: Vec<_> = insns
            .iter()
            .filter_map(|i| match *i {
                Insn::LdImm64 { kind, imm, .. } => Some((kind, imm)),
                _ => None,
            })
            .collect();
        assert_eq!(lds, want, "{obj}");
        let calls: Vec<_> = insns
            .iter()
            .filter_map(|i| match *i {
                Insn::Call { kind, imm, off } => Some((kind, imm, off)),
                _ => None,
            })
            .collect();
        assert!(
            calls.contains(&(CallKind::Kfunc, kfunc_id as i32, 1)),
            "{obj}: {calls:?}"
        );
    }
}

#[test]
fn a_module_name_is_absent_without_the_module_and_needs_an_fd_with_it() {
    let (base, testmod) = testmod();
    let module = read("module_kfunc.bpfel.o");
    // vmlinux alone: both weak externs are absent; nothing in fd_array.
    let p = prepared(&module, KernelBtfs::new(base.clone())).unwrap();
    assert!(p.fd_array.is_empty());
    for i in lowered(&module, &p) {
        match i {
            Insn::LdImm64 { kind, imm, .. } => assert_eq!((kind, imm), (PseudoKind::None, 0)),
            Insn::Call { kind, off, .. } => assert_eq!((kind, off), (CallKind::Helper, 0)),
            _ => unreachable!(),
        }
    }
    // A module BTF read from a file resolves the name but cannot be handed to the kernel.
    let mut kernel = KernelBtfs::new(base);
    kernel.push_module("bpf_testmod", testmod, None);
    let err = prepared(&module, kernel).unwrap_err().to_string();
    assert!(
        err.contains("bpf_testmod") && err.contains("no fd"),
        "{err}"
    );
}

#[cfg(all(feature = "kernel", target_os = "linux"))]
#[test]
fn running_kernel_btf_objects_are_vmlinux_and_the_modules_in_sys() {
    if !kernel::kernel_available("running_kernel_btf_objects_are_vmlinux_and_the_modules_in_sys") {
        return;
    }
    let Some(bytes) = common::kernel_vmlinux() else {
        return;
    };
    let mut in_sys: Vec<String> = std::fs::read_dir("/sys/kernel/btf")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "vmlinux")
        .collect();
    in_sys.sort();
    let objects = bpfir::sys::kernel_btf_objects().unwrap();
    let vmlinux: Vec<_> = objects.iter().filter(|o| o.name == "vmlinux").collect();
    assert_eq!(vmlinux.len(), 1, "{objects:?}");
    assert!(vmlinux[0].btf_size as usize == bytes.len());
    // The kernel hands out the same bytes as /sys/kernel/btf/vmlinux.
    assert_eq!(bpfir::sys::btf_bytes(&vmlinux[0].fd).unwrap(), bytes);
    let kernel = KernelBtfs::running_kernel(Arc::new(Btf::parse(&bytes).unwrap())).unwrap();
    let mut modules: Vec<String> = kernel.modules().iter().map(|m| m.name.clone()).collect();
    modules.sort();
    assert_eq!(modules, in_sys);
    eprintln!("kernel BTF objects: vmlinux and {} modules", modules.len());
}

#[cfg(all(feature = "kernel", target_os = "linux"))]
#[test]
fn a_weak_module_kfunc_loads_and_runs_where_the_module_is_absent() {
    if !kernel::kernel_available("a_weak_module_kfunc_loads_and_runs_where_the_module_is_absent") {
        return;
    }
    let name = if cfg!(target_endian = "little") {
        "module_kfunc.bpfel.o"
    } else {
        "module_kfunc.bpfeb.o"
    };
    let module = read(name);
    let opts = LoadOptions {
        object_name: "module_kfunc".into(),
        ..LoadOptions::default()
    };
    let loaded = bpfir::load::load(&module, &opts).unwrap();
    let p = &loaded.programs[0];
    let lp = p
        .result
        .as_ref()
        .unwrap_or_else(|e| panic!("{}: {e}", p.name));
    let lowered = p.lowered.as_ref().unwrap();
    let has_module = std::path::Path::new("/sys/kernel/btf/bpf_testmod").exists();
    let kfunc_calls: Vec<_> = lowered
        .insns
        .iter()
        .filter_map(|i| match *i {
            Insn::Call {
                kind: CallKind::Kfunc,
                off,
                ..
            } => Some(off),
            _ => None,
        })
        .collect();
    if has_module {
        assert_eq!(kfunc_calls, vec![1]);
    } else {
        // Absent and weak: the call is libbpf's poisoned helper call, never reached.
        assert!(kfunc_calls.is_empty(), "{kfunc_calls:?}");
    }
    let r = bpfir::sys::test_run(&lp.fd, &mut bpfir::sys::TestRun::default())
        .unwrap()
        .retval;
    assert_eq!(r, 0, "check failed at line {r}");
    kernel::check_offline_tags("module_kfunc", &loaded);
}
