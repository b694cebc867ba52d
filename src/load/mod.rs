//! Loading a [`Module`] into the running kernel, the way libbpf does: BTF, maps (BTF-defined
//! and legacy, map-in-map with its inner template and initial slots), global data as
//! single-entry array maps (`.rodata` frozen), `.kconfig` values, kernel symbols and kfuncs
//! from the kernel's BTF, then every program lowered with those bindings and loaded with its
//! func_info, line_info and BTF.
//!
//! Programs whose load fails are reported one by one (with the verifier log); the others
//! still load. Everything the kernel returns is an owned fd, closed when the [`Loaded`]
//! object is dropped.

mod data;
mod explain;
mod externs;
mod features;
pub mod kconfig;
mod kernel_btfs;
mod maps;
mod program;
mod sanitize;
mod struct_ops;

pub use explain::{explain_refused, refusal};
pub use externs::KconfigMap;
pub use features::{sanitize_btf_features, BtfFeatures};
pub use kernel_btfs::{KernelBtfs, ModuleBtf};
pub use maps::possible_cpus;
pub use sanitize::sanitize_for_kernel;

use std::os::fd::RawFd;
use std::path::PathBuf;
use std::sync::Arc;

use crate::btf::{Btf, BtfError};
use crate::co_re::{relocate, CoReError, Report, Targets};
use crate::ir::{DataId, EntityMap, ExternKind, FuncId, MapId, Module};
use crate::lower::{Bindings, LowerError};
use crate::sys::{self, BtfFd, LogLevel, MapFd, ProgFd, SysError, TestRun};
use kconfig::KernelConfig;

/// `BPF_F_RDONLY_PROG`: the program may only read the map.
const BPF_F_RDONLY_PROG: u32 = 1 << 7;
/// `BPF_F_MMAPABLE`: user space may mmap the map (libbpf sets it on global data).
const BPF_F_MMAPABLE: u32 = 1 << 10;

/// An error loading an object (not one program: those are per program, in
/// [`ProgramResult`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The kernel refused a request.
    #[error("{what}: {source}")]
    Sys {
        /// What was being created or loaded.
        what: String,
        /// The kernel's answer, with its log.
        source: SysError,
    },
    /// The program cannot be lowered.
    #[error(transparent)]
    Lower(#[from] LowerError),
    /// A CO-RE relocation the program reaches failed (not found, ambiguous, ...).
    #[error("CO-RE: {0}")]
    CoRe(#[from] CoReError),
    /// The object's or the kernel's BTF is unusable.
    #[error("btf: {0}")]
    Btf(#[from] BtfError),
    /// An extern cannot be resolved.
    #[error("extern {name}: {reason}")]
    Extern {
        /// The extern.
        name: String,
        /// Why.
        reason: String,
    },
    /// Something the object asks for that this loader does not do.
    #[error("{what}: {reason}")]
    Unsupported {
        /// What.
        what: String,
        /// Why.
        reason: String,
    },
}

/// What to load and how.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Names of the programs to load; empty means every program whose autoload is on (all
    /// but those in `?` sections, see [`sys::autoload`]).
    pub programs: Vec<String>,
    /// The kernel's BTF, for `attach_btf_id`, ksyms and kfuncs (read from
    /// `/sys/kernel/btf/vmlinux` when needed and not given).
    pub kernel_btf: Option<Arc<Btf>>,
    /// The kernel BTFs (vmlinux and modules) typed ksyms and kfuncs resolve against. `None`:
    /// vmlinux as [`kernel_btf`](Self::kernel_btf) says, and the running kernel's modules,
    /// listed (see [`KernelBtfs::running_kernel`]) only when a name is not in vmlinux.
    pub kernel_btfs: Option<Arc<KernelBtfs>>,
    /// The kernel configuration for `.kconfig` externs (read from the system when needed and
    /// not given).
    pub kconfig: Option<KernelConfig>,
    /// How CO-RE relocations are applied (default: in user space, against the running
    /// kernel's BTF, as libbpf does).
    pub co_re: CoReMode,
    /// Directory (in a mounted bpf filesystem) where maps with `pinning = LIBBPF_PIN_BY_NAME`
    /// are pinned by name, and reused from when a compatible map is already pinned there.
    /// `None`: `/sys/fs/bpf`, as libbpf.
    pub pin_root: Option<PathBuf>,
    /// The BTF kinds and flags the kernel accepts; the object's BTF is rewritten for a
    /// kernel that lacks some (see [`sanitize_btf_features`]). `None`: probed from the
    /// running kernel, once per process.
    pub btf_features: Option<BtfFeatures>,
    /// Name of the object (e.g. the file stem); its first 8 characters prefix the names of
    /// the maps that hold global data (`calls.rodata`), as libbpf names them. The kernel
    /// refuses to freeze a map whose name starts with a dot, so an empty name becomes `bpfir`.
    pub object_name: String,
}

/// How a load applies the object's CO-RE relocations.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum CoReMode {
    /// In user space, against the running kernel's BTF (`/sys/kernel/btf/vmlinux`).
    #[default]
    RunningKernel,
    /// In user space, against these target BTFs.
    Targets(Targets),
    /// Left to the kernel: the records go with `BPF_PROG_LOAD` and the kernel relocates
    /// against its own BTF (the same program for kernel targets).
    KernelSide,
}

/// One loaded program.
#[derive(Debug)]
pub struct LoadedProgram {
    /// The program's fd.
    pub fd: ProgFd,
    /// Number of instruction slots submitted.
    pub n_insns: usize,
    /// The kernel's program tag, as `bpftool prog show` prints it.
    pub tag: String,
}

/// The outcome of one program.
#[derive(Debug)]
pub struct ProgramResult {
    /// The entry function.
    pub func: FuncId,
    /// Its name.
    pub name: String,
    /// Its section.
    pub section: String,
    /// The loaded program, or why it did not load.
    pub result: Result<LoadedProgram, LoadError>,
    /// The program as it was lowered (and handed to the kernel), when lowering succeeded:
    /// its slot table maps a refused program's verifier log back to the IR.
    pub lowered: Option<crate::lower::LoweredProgram>,
}

/// Everything a load created.
#[derive(Debug)]
pub struct Loaded {
    /// The object's BTF in the kernel.
    pub btf_fd: Option<BtfFd>,
    /// Maps by id.
    pub maps: EntityMap<MapId, MapFd>,
    /// Global data maps by data section.
    pub data: EntityMap<DataId, MapFd>,
    /// The `.kconfig` map, when the object has kconfig externs.
    pub kconfig: Option<MapFd>,
    /// Why the kernel refused the object's BTF, when it did and the load went on without
    /// it (no func_info, line_info or map BTF then).
    pub btf_refused: Option<SysError>,
    /// The mapping of each arena map into this process (its user address; the arena
    /// globals at its start).
    pub arenas: EntityMap<MapId, sys::MapMmap>,
    /// The value each struct_ops map is to be updated with (the fds of its programs filled
    /// in), for maps whose programs all loaded; see [`Loaded::register_struct_ops`].
    pub struct_ops: EntityMap<MapId, Vec<u8>>,
    /// The programs tried (those selected, see [`LoadOptions::programs`]), in module order.
    pub programs: Vec<ProgramResult>,
}

/// The result of running a program once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunResult {
    /// The program's return value.
    pub retval: u32,
}

impl LoadedProgram {
    /// Runs the program once with `BPF_PROG_TEST_RUN` on a zeroed packet of `len` bytes.
    pub fn run_zero_packet(&self, len: usize) -> Result<RunResult, SysError> {
        let data = vec![0u8; len];
        let r = sys::test_run(
            &self.fd,
            &mut TestRun {
                data_in: &data,
                ..TestRun::default()
            },
        )?;
        Ok(RunResult { retval: r.retval })
    }
}

fn sys_err(what: impl Into<String>) -> impl FnOnce(SysError) -> LoadError {
    let what = what.into();
    move |source| LoadError::Sys { what, source }
}

/// Where maps pinned by name go unless [`LoadOptions::pin_root`] says otherwise.
pub const DEFAULT_PIN_ROOT: &str = "/sys/fs/bpf";

struct Loader<'a> {
    module: &'a Module,
    opts: &'a LoadOptions,
    /// The CO-RE relocation report, when user-space CO-RE ran.
    co_re: Option<Report>,
    btf: Option<Btf>,
    kernel_btf: Option<Arc<Btf>>,
    /// The struct_ops maps laid out against the kernel, and their programs' attach points.
    struct_ops: struct_ops::Plan,
    /// The kernel BTFs ksyms and kfuncs resolved against, once listed (they hold the
    /// module BTF fds that `fd_array` and the bindings name).
    kernel_btfs: Option<Arc<KernelBtfs>>,
    /// `fd_array` of every program: the module BTF fds kfunc calls index (`insn.off`),
    /// from index 1 (index 0 is vmlinux, as the kernel reads `off == 0`); empty when no
    /// kfunc is in a module.
    fd_array: Vec<RawFd>,
}

impl Loader<'_> {
    fn kernel_btf(&mut self) -> Result<Arc<Btf>, LoadError> {
        if let Some(b) = &self.kernel_btf {
            return Ok(b.clone());
        }
        let bytes =
            std::fs::read("/sys/kernel/btf/vmlinux").map_err(|e| LoadError::Unsupported {
                what: "kernel BTF".into(),
                reason: format!("/sys/kernel/btf/vmlinux: {e}"),
            })?;
        let b = Arc::new(Btf::parse(&bytes)?);
        self.kernel_btf = Some(b.clone());
        Ok(b)
    }
}

/// Loads `module` (see the [module documentation](self)).
pub fn load(module: &Module, opts: &LoadOptions) -> Result<Loaded, LoadError> {
    let (relocated, report) = apply_co_re(module, opts)?;
    let module = relocated.as_ref().unwrap_or(module);
    let (mut loader, bindings, kconfig) = start(module, opts)?;
    loader.co_re = report;
    load_prepared(loader, bindings, kconfig)
}

/// User-space CO-RE: a relocated copy of `module` and the report, or `None` when the module
/// has no relocations or the kernel is to apply them.
fn apply_co_re(
    module: &Module,
    opts: &LoadOptions,
) -> Result<(Option<Module>, Option<Report>), LoadError> {
    if module.core_relos().len() == 0 {
        return Ok((None, None));
    }
    let targets = match &opts.co_re {
        CoReMode::KernelSide => return Ok((None, None)),
        CoReMode::Targets(t) => t.clone(),
        CoReMode::RunningKernel => {
            let kernel = match &opts.kernel_btf {
                Some(b) => b.clone(),
                None => Arc::new(read_kernel_btf()?),
            };
            kernel_targets(kernel, std::path::Path::new(KERNEL_BTF_DIR))?
        }
    };
    let mut relocated = module.clone();
    let report = relocate(&mut relocated, &targets)?;
    // Applied relocations are done; failed ones keep their records, but the programs that
    // reach them are refused before the kernel sees them.
    report.clear_applied(&mut relocated);
    Ok((Some(relocated), Some(report)))
}

/// Where the running kernel publishes its BTF: `vmlinux` and one split BTF per module.
pub const KERNEL_BTF_DIR: &str = "/sys/kernel/btf";

/// The running kernel's BTF as CO-RE targets: `vmlinux` first, then the split BTF of every
/// module in `dir` (by name), over it, as libbpf searches them (a module only for types
/// `vmlinux` has no candidate for). A missing `dir` gives `vmlinux` alone.
pub fn kernel_targets(vmlinux: Arc<Btf>, dir: &std::path::Path) -> Result<Targets, LoadError> {
    let mut targets = Targets::single("vmlinux", vmlinux.clone());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(targets);
    };
    let mut modules: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n != "vmlinux"))
        .collect();
    modules.sort();
    for path in modules {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = std::fs::read(&path).map_err(|e| LoadError::Unsupported {
            what: format!("module BTF {name}"),
            reason: format!("{}: {e}", path.display()),
        })?;
        let btf =
            Btf::parse_split(&bytes, vmlinux.clone()).map_err(|e| LoadError::Unsupported {
                what: format!("module BTF {name}"),
                reason: format!("{}: {e}", path.display()),
            })?;
        targets.push(name, Arc::new(btf));
    }
    Ok(targets)
}

/// The steps before the first syscall: `.kconfig` values, ksyms and kfuncs resolved against
/// the kernel's BTF, and the object's BTF sanitized for the kernel.
fn start<'a>(
    module: &'a Module,
    opts: &'a LoadOptions,
) -> Result<(Loader<'a>, Bindings, Option<KconfigMap>), LoadError> {
    let mut loader = Loader {
        module,
        opts,
        co_re: None,
        btf: module.btf.clone(),
        kernel_btf: opts.kernel_btf.clone(),
        struct_ops: struct_ops::Plan::default(),
        kernel_btfs: None,
        fd_array: Vec::new(),
    };
    if let Some((_, e)) = module.externs().find(|(_, e)| e.kind == ExternKind::Map) {
        return Err(LoadError::Extern {
            name: e.name.clone(),
            reason: "an extern map is defined by another object: link them first (bpfir link)"
                .into(),
        });
    }
    let mut bindings = Bindings::default();
    let kconfig = loader.kconfig()?;
    loader.ksyms(&mut bindings)?;
    if let Some(btf) = loader.btf.as_mut() {
        sanitize_for_kernel(btf)?;
        sanitize::hidden_funcs_static(module, btf)?;
        let features = opts
            .btf_features
            .unwrap_or_else(BtfFeatures::running_kernel);
        sanitize_btf_features(btf, &features)?;
    }
    Ok((loader, bindings, kconfig))
}

fn read_kernel_btf() -> Result<Btf, LoadError> {
    let bytes = std::fs::read("/sys/kernel/btf/vmlinux").map_err(|e| LoadError::Unsupported {
        what: "kernel BTF".into(),
        reason: format!("/sys/kernel/btf/vmlinux: {e}"),
    })?;
    Ok(Btf::parse(&bytes)?)
}

/// What a load needs that involves no syscall: the object's BTF with the `.kconfig`
/// layout filled in, the `.kconfig` value, and externs resolved against the kernel's BTF.
#[derive(Debug)]
pub struct Prepared {
    /// The BTF to give the kernel.
    pub btf: Option<Btf>,
    /// Bindings of ksyms and kfuncs (maps, data and kconfig are bound to fds by a load).
    pub bindings: Bindings,
    /// The `.kconfig` map's value, and each kconfig extern's offset in it.
    pub kconfig: Option<KconfigMap>,
    /// The module with its CO-RE relocations applied (lower this one), when it had any
    /// and they were applied in user space.
    pub relocated: Option<Module>,
    /// The CO-RE report, when relocations were applied in user space.
    pub co_re: Option<Report>,
    /// `fd_array` for `BPF_PROG_LOAD`: the module BTF fds the kfunc calls of `bindings`
    /// index (index 0 unused); empty when every kfunc is in vmlinux.
    pub fd_array: Vec<RawFd>,
    /// The kernel BTFs the externs resolved against, when some were looked up: they keep
    /// the module BTF fds of `bindings` and `fd_array` open.
    pub kernel_btfs: Option<Arc<KernelBtfs>>,
}

/// Everything of a load up to the first syscall (used by `bpfir lower`).
pub fn prepare(module: &Module, opts: &LoadOptions) -> Result<Prepared, LoadError> {
    let (relocated, report) = apply_co_re(module, opts)?;
    let (loader, bindings, kconfig) = start(relocated.as_ref().unwrap_or(module), opts)?;
    let (btf, fd_array, kernel_btfs) = (loader.btf, loader.fd_array, loader.kernel_btfs);
    Ok(Prepared {
        btf,
        bindings,
        kconfig,
        relocated,
        co_re: report,
        fd_array,
        kernel_btfs,
    })
}

fn load_prepared(
    mut loader: Loader<'_>,
    mut bindings: Bindings,
    kconfig: Option<KconfigMap>,
) -> Result<Loaded, LoadError> {
    let (module, opts) = (loader.module, loader.opts);
    // As libbpf: BTF the kernel refuses is left out (maps and programs load without it)
    // unless something needs it in the kernel (struct_ops maps).
    let mut btf_refused = None;
    let btf_fd = match &loader.btf {
        Some(btf) => match sys::load_btf(&btf.to_bytes(), LogLevel::Basic) {
            Ok(fd) => Some(fd),
            Err(e) if module.maps().all(|(id, _)| module.struct_ops(id).is_none()) => {
                btf_refused = Some(e);
                None
            }
            Err(e) => return Err(sys_err("object BTF (struct_ops maps need it)")(e)),
        },
        None => None,
    };
    loader.struct_ops = loader.struct_ops_plan()?;
    let (maps, mut arenas) = maps::create_maps(&loader, btf_fd.as_ref(), &mut bindings)?;
    let data = data::create_data_maps(&loader, btf_fd.as_ref(), &mut bindings, &maps, &mut arenas)?;
    let kconfig_fd = match kconfig {
        Some(k) => Some(data::create_kconfig_map(
            &loader,
            btf_fd.as_ref(),
            k,
            &mut bindings,
        )?),
        None => None,
    };
    let mut programs = Vec::new();
    for (func, f) in module.programs() {
        let wanted = if opts.programs.is_empty() {
            // As libbpf: a struct_ops map naming a program turns it on, `?` or not.
            sys::autoload(&f.section) || loader.struct_ops.progs.contains_key(&func)
        } else {
            opts.programs.iter().any(|p| p == &f.name)
        };
        if !wanted {
            continue;
        }
        let mut lowered = None;
        let result =
            program::load_program(&mut loader, func, &bindings, btf_fd.as_ref(), &mut lowered);
        programs.push(ProgramResult {
            func,
            name: f.name.clone(),
            section: f.section.clone(),
            result,
            lowered,
        });
    }
    maps::fill_prog_arrays(module, &maps, &programs)?;
    let struct_ops = struct_ops::values(std::mem::take(&mut loader.struct_ops), &programs);
    Ok(Loaded {
        btf_fd,
        maps,
        data,
        kconfig: kconfig_fd,
        btf_refused,
        arenas,
        struct_ops,
        programs,
    })
}
