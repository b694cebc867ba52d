//! Loading a [`Module`] into the running kernel, the way libbpf does: BTF, maps (BTF-defined
//! and legacy, map-in-map with its inner template and initial slots), global data as
//! single-entry array maps (`.rodata` frozen), `.kconfig` values, kernel symbols and kfuncs
//! from the kernel's BTF, then every program lowered with those bindings and loaded with its
//! func_info, line_info and BTF.
//!
//! Programs whose load fails are reported one by one (with the verifier log); the others
//! still load. Everything the kernel returns is an owned fd, closed when the [`Loaded`]
//! object is dropped.

mod explain;
pub mod kconfig;
pub use explain::{explain_refused, refusal};
mod sanitize;

pub use sanitize::sanitize_for_kernel;

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use la_arena::ArenaMap;

use crate::btf::{Btf, BtfError, Kind, TypeKind};
use crate::co_re::{relocate, CoReError, Report, Targets};
use crate::ir::{DataId, DataKind, ExternKind, FuncId, MapDef, MapId, Module, Pinning};
use crate::lower::{link_order, lower, Bindings, ExternBinding, LowerError};
use crate::sys::{
    self, program_kind, BtfFd, LogLevel, MapCreate, MapFd, MapType, ProgFd, ProgLoad, SysError,
    TestRun,
};
use kconfig::{KconfigValue, KernelConfig};

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
    /// Names of the programs to load; empty means all.
    pub programs: Vec<String>,
    /// The kernel's BTF, for `attach_btf_id`, ksyms and kfuncs (read from
    /// `/sys/kernel/btf/vmlinux` when needed and not given).
    pub kernel_btf: Option<Arc<Btf>>,
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
    pub maps: ArenaMap<MapId, MapFd>,
    /// Global data maps by data section.
    pub data: ArenaMap<DataId, MapFd>,
    /// The `.kconfig` map, when the object has kconfig externs.
    pub kconfig: Option<MapFd>,
    /// Programs, in module order.
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

/// The map of a `LIBBPF_PIN_BY_NAME` definition: the one pinned at `path` if there is one and
/// it matches the definition (type, sizes, entries, flags), else a new one, pinned there.
fn pinned_map(
    loader: &Loader<'_>,
    def: &MapDef,
    path: &Path,
    btf_fd: Option<&BtfFd>,
    inner: Option<&MapFd>,
) -> Result<MapFd, LoadError> {
    let what = || format!("map {} pinned at {}", def.name, path.display());
    if let Some(fd) = sys::get_pinned_map(path).map_err(sys_err(what()))? {
        let info = sys::map_info(&fd).map_err(sys_err(what()))?;
        let same = info.map_type == MapType(def.map_type)
            && info.key_size == def.key_size
            && info.value_size == def.value_size
            && info.max_entries == def.max_entries
            && info.map_flags == def.flags;
        if !same {
            return Err(LoadError::Unsupported {
                what: what(),
                reason: format!(
                    "the pinned map ({:?}, key {}, value {}, {} entries, flags {:#x}) does not match the definition",
                    info.map_type, info.key_size, info.value_size, info.max_entries, info.map_flags
                ),
            });
        }
        return Ok(fd);
    }
    let fd = loader.create_map(def, btf_fd, inner)?;
    sys::pin_map(&fd, path).map_err(|source| LoadError::Sys {
        what: format!("{} (is a bpf filesystem mounted there?)", what()),
        source,
    })?;
    Ok(fd)
}

/// The number of possible CPUs, from `/sys/devices/system/cpu/possible` (`0-3,8-11`).
pub fn possible_cpus() -> std::io::Result<u32> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible")?;
    parse_cpu_list(text.trim()).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("cannot parse cpu list {text:?}"),
        )
    })
}

/// One more than the highest CPU number of a list such as `0-3,8-11` (the count of
/// possible CPUs the kernel sizes per-cpu data by).
fn parse_cpu_list(list: &str) -> Option<u32> {
    let mut max = None;
    for part in list.split(',').filter(|p| !p.is_empty()) {
        let last = part.rsplit('-').next()?.trim().parse::<u32>().ok()?;
        max = Some(max.map_or(last, |m: u32| m.max(last)));
    }
    max.map(|m| m + 1)
}

/// Map types whose key and value the kernel does not describe with BTF (it refuses
/// `btf_key_type_id`/`btf_value_type_id` for them); libbpf drops the ids for the same set.
fn map_type_refuses_btf(t: MapType) -> bool {
    [
        MapType::PERF_EVENT_ARRAY,
        MapType::CGROUP_ARRAY,
        MapType::STACK_TRACE,
        MapType::ARRAY_OF_MAPS,
        MapType::HASH_OF_MAPS,
        MapType::DEVMAP,
        MapType::DEVMAP_HASH,
        MapType::CPUMAP,
        MapType::XSKMAP,
        MapType::SOCKMAP,
        MapType::SOCKHASH,
        MapType::QUEUE,
        MapType::STACK,
        MapType::ARENA,
    ]
    .contains(&t)
}

/// Kernel map names hold 15 characters of `[A-Za-z0-9_.]`.
fn map_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .take(15)
        .collect()
}

/// The single-entry array map that holds a data section or the `.kconfig` values, its value
/// described by the section's `DATASEC` when there is one.
fn value_map(name: String, size: usize, flags: u32, datasec: Option<crate::btf::TypeId>) -> MapDef {
    MapDef {
        name,
        origin: crate::ir::MapOrigin::Btf,
        map_type: MapType::ARRAY.0,
        key_size: 4,
        value_size: size as u32,
        max_entries: 1,
        flags,
        numa_node: 0,
        map_extra: 0,
        pinning: crate::ir::Pinning::None,
        key_type: None,
        value_type: datasec,
        inner: None,
        init_slots: Vec::new(),
        btf_var: None,
    }
}

/// libbpf's name for the map of a data section: up to 8 characters of the object name, then
/// the section name.
fn internal_map_name(object: &str, section: &str) -> String {
    let object = if object.is_empty() { "bpfir" } else { object };
    let prefix: String = object.chars().take(8).collect();
    format!("{prefix}{section}")
}

struct Loader<'a> {
    module: &'a Module,
    opts: &'a LoadOptions,
    /// The CO-RE relocation report, when user-space CO-RE ran.
    co_re: Option<Report>,
    btf: Option<Btf>,
    kernel_btf: Option<Arc<Btf>>,
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

    fn create_map(
        &self,
        def: &MapDef,
        btf_fd: Option<&BtfFd>,
        inner: Option<&MapFd>,
    ) -> Result<MapFd, LoadError> {
        let name = map_name(&def.name);
        let map_type = MapType(def.map_type);
        // Ring buffers have no keys or values: the kernel wants both sizes 0 and no BTF
        // ids, whatever `__type(value, ...)` the object declared for user space.
        let ringbuf = map_type == MapType::RINGBUF || map_type == MapType::USER_RINGBUF;
        let (key_size, value_size) = if ringbuf {
            (0, 0)
        } else {
            (def.key_size, def.value_size)
        };
        let mut max_entries = def.max_entries;
        let (mut key_size, mut value_size) = (key_size, value_size);
        if map_type == MapType::PERF_EVENT_ARRAY {
            // Declared with neither sizes nor entries, as tools do: one u32 fd per possible
            // CPU (what libbpf fills in too).
            if key_size == 0 {
                key_size = 4;
            }
            if value_size == 0 {
                value_size = 4;
            }
            if max_entries == 0 {
                max_entries = possible_cpus().map_err(|e| LoadError::Unsupported {
                    what: format!("map {}", def.name),
                    reason: format!("max_entries 0 needs the number of possible CPUs: {e}"),
                })?;
            }
        }
        let mut attr = MapCreate::new(map_type, key_size, value_size, max_entries);
        attr.map_flags = def.flags;
        attr.numa_node = def.numa_node;
        attr.map_extra = def.map_extra;
        attr.name = &name;
        attr.inner_map_fd = inner.map(|f| f.as_fd());
        if let (Some(btf), Some(fd)) = (&self.btf, btf_fd) {
            if (def.key_type.is_some() || def.value_type.is_some())
                && !ringbuf
                && !map_type_refuses_btf(map_type)
            {
                attr.btf_fd = Some(fd.as_fd());
                attr.btf_key_type_id = def.key_type.map_or(0, |t| btf.wire_id(t).0);
                attr.btf_value_type_id = def.value_type.map_or(0, |t| btf.wire_id(t).0);
            }
        }
        sys::create_map(&attr).map_err(sys_err(format!("map {}", def.name)))
    }
}

/// The `.kconfig` map's value and, for each kconfig extern, its offset in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KconfigMap {
    /// The value bytes, every extern filled in.
    pub value: Vec<u8>,
    /// Each kconfig extern's byte offset in `value`.
    pub offsets: Vec<(crate::ir::ExternId, u32)>,
}

impl Loader<'_> {
    /// Lays out and fills the `.kconfig` map value; fixes the `.kconfig` DATASEC to match.
    fn kconfig(&mut self) -> Result<Option<KconfigMap>, LoadError> {
        let module = self.module;
        let externs: Vec<_> = module
            .externs()
            .filter(|(_, e)| e.kind == ExternKind::Kconfig)
            .collect();
        if externs.is_empty() {
            return Ok(None);
        }
        let config = match &self.opts.kconfig {
            Some(c) => c.clone(),
            None => KernelConfig::from_system().unwrap_or_default(),
        };
        let wants_probe = externs
            .iter()
            .any(|(_, e)| e.name.starts_with("LINUX_HAS_"));
        let kernel_btf = if wants_probe {
            self.kernel_btf().ok()
        } else {
            None
        };
        let btf = self.btf.as_mut().ok_or_else(|| LoadError::Unsupported {
            what: ".kconfig".into(),
            reason: "kconfig externs need the object's BTF".into(),
        })?;
        // Size and alignment of each variable, from its BTF.
        let mut vars = Vec::new();
        for (id, e) in &externs {
            let var = e.btf.ok_or_else(|| LoadError::Extern {
                name: e.name.clone(),
                reason: "no BTF VAR".into(),
            })?;
            let size = btf.size_of(var)?;
            let align = btf.align_of(var)?;
            let resolved = btf.resolve(match btf.ty(var).kind {
                TypeKind::Var { ty, .. } => ty,
                _ => var,
            })?;
            let is_char_array = matches!(btf.ty(resolved).kind, TypeKind::Array { .. });
            vars.push((*id, e, size, align, is_char_array));
        }
        // Most aligned first, then by name: no padding between most values, and a stable
        // order whatever the object's symbol order.
        vars.sort_by(|a, b| b.3.cmp(&a.3).then_with(|| a.1.name.cmp(&b.1.name)));
        let mut value = Vec::new();
        let mut offsets = Vec::new();
        let release = kconfig::kernel_release().unwrap_or_default();
        for (id, e, size, align, is_char_array) in vars {
            let off = value.len().next_multiple_of(align.max(1) as usize);
            value.resize(off, 0);
            let v = match e.name.as_str() {
                "LINUX_KERNEL_VERSION" => {
                    kconfig::kernel_version_code(&release).map(|v| KconfigValue::Number(v.into()))
                }
                "LINUX_HAS_BPF_COOKIE" => Some(probed(has_bpf_cookie(kernel_btf.as_deref()))),
                "LINUX_HAS_SYSCALL_WRAPPER" => {
                    Some(probed(has_syscall_wrapper(kernel_btf.as_deref())))
                }
                name => config.get(name).cloned(),
            };
            let bytes = match v {
                Some(v) => kconfig::encode_value(&v, size as usize, is_char_array, module.endian())
                    .map_err(|reason| LoadError::Extern {
                        name: e.name.clone(),
                        reason,
                    })?,
                None if e.weak => vec![0; size as usize],
                None => return Err(LoadError::Extern {
                    name: e.name.clone(),
                    reason:
                        "not set in the kernel configuration (declare it __weak to default to 0)"
                            .into(),
                }),
            };
            value.extend_from_slice(&bytes);
            offsets.push((id, off as u32));
        }
        if value.is_empty() {
            value.push(0);
        }
        // The DATASEC must describe the map value: its size, and each VAR's offset.
        if let Some(sec) = btf.type_by_name_kind(".kconfig", Kind::Datasec) {
            btf.set_datasec_size(sec, value.len() as u32)?;
            let names: Vec<String> = btf
                .datasec_vars(sec)
                .iter()
                .map(|v| btf.name(v.ty).unwrap_or_default().to_string())
                .collect();
            let vars = btf.datasec_vars_mut(sec)?;
            for (v, name) in vars.iter_mut().zip(names) {
                if let Some((_, off)) = offsets
                    .iter()
                    .find(|(id, _)| module.extern_(*id).name == name)
                {
                    v.offset = *off;
                }
            }
        }
        Ok(Some(KconfigMap { value, offsets }))
    }

    /// Resolves `.ksyms` variables and kfuncs against the kernel's BTF.
    fn ksyms(&mut self, bindings: &mut Bindings) -> Result<(), LoadError> {
        let module = self.module;
        let wanted: Vec<_> = module
            .externs()
            .filter(|(_, e)| matches!(e.kind, ExternKind::Ksym | ExternKind::Func))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let kbtf = self.kernel_btf()?;
        let mut kallsyms: Option<std::collections::HashMap<String, u64>> = None;
        for (id, e) in wanted {
            // An untyped ksym (`extern const void x __ksym`) is an address from kallsyms.
            let untyped = e.kind == ExternKind::Ksym
                && e.btf.is_some_and(|v| {
                    self.btf.as_ref().is_some_and(|btf| {
                        matches!(btf.ty(v).kind, TypeKind::Var { ty, .. } if btf.wire_id(ty).0 == 0)
                    })
                });
            if untyped {
                let syms = kallsyms.get_or_insert_with(read_kallsyms);
                let binding = match syms.get(&e.name) {
                    Some(&addr) => ExternBinding::Const(addr),
                    None if e.weak => ExternBinding::Const(0),
                    None => {
                        return Err(LoadError::Extern {
                            name: e.name.clone(),
                            reason: "not in /proc/kallsyms (declare it __weak if it may be absent)"
                                .into(),
                        })
                    }
                };
                bindings.externs.insert(id, binding);
                continue;
            }
            let kind = if e.kind == ExternKind::Func {
                Kind::Func
            } else {
                Kind::Var
            };
            let found = kbtf.type_by_name_kind(&e.name, kind);
            let binding = match (found, e.kind) {
                (Some(t), ExternKind::Func) => ExternBinding::Kfunc {
                    btf_id: kbtf.wire_id(t).0,
                    btf_fd_idx: 0,
                    btf_obj_fd: 0,
                },
                (Some(t), _) => ExternBinding::Ksym {
                    btf_id: kbtf.wire_id(t).0,
                    btf_obj_fd: 0,
                },
                (None, _) if e.weak => ExternBinding::Const(0),
                (None, _) => {
                    return Err(LoadError::Extern {
                        name: e.name.clone(),
                        reason: format!(
                            "no {} of that name in the kernel's BTF (declare it __weak if it may be absent)",
                            if kind == Kind::Func { "function" } else { "variable" }
                        ),
                    })
                }
            };
            bindings.externs.insert(id, binding);
        }
        Ok(())
    }
}

fn probed(yes: bool) -> KconfigValue {
    if yes {
        KconfigValue::Yes
    } else {
        KconfigValue::No
    }
}

/// `LINUX_HAS_BPF_COOKIE`: the kernel knows the `bpf_get_attach_cookie` helper (its
/// `enum bpf_func_id` in BTF has `BPF_FUNC_get_attach_cookie`).
fn has_bpf_cookie(kernel: Option<&Btf>) -> bool {
    let Some(btf) = kernel else { return false };
    btf.types_by_name("bpf_func_id").any(|id| {
        btf.enum_values(id)
            .iter()
            .any(|v| btf.str(v.name) == Ok("BPF_FUNC_get_attach_cookie"))
    })
}

/// `LINUX_HAS_SYSCALL_WRAPPER`: system calls enter through an architecture wrapper
/// (`__x64_sys_bpf` and the like), which is what `ksyscall/` programs attach to.
fn has_syscall_wrapper(kernel: Option<&Btf>) -> bool {
    let Some(btf) = kernel else { return false };
    [
        "__x64_sys_bpf",
        "__arm64_sys_bpf",
        "__s390x_sys_bpf",
        "__riscv_sys_bpf",
        "__ia32_sys_bpf",
    ]
    .iter()
    .any(|n| btf.type_by_name_kind(n, Kind::Func).is_some())
}

/// Kernel symbol addresses from `/proc/kallsyms` (empty when unreadable; addresses read
/// as 0 without privilege, as the kernel hides them).
fn read_kallsyms() -> std::collections::HashMap<String, u64> {
    let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let addr = u64::from_str_radix(f.next()?, 16).ok()?;
            let _kind = f.next()?;
            Some((f.next()?.to_string(), addr))
        })
        .collect()
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
            Targets::single("vmlinux", kernel)
        }
    };
    let mut relocated = module.clone();
    let report = relocate(&mut relocated, &targets)?;
    // Applied relocations are done; failed ones keep their records, but the programs that
    // reach them are refused before the kernel sees them.
    report.clear_applied(&mut relocated);
    Ok((Some(relocated), Some(report)))
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
    };
    let mut bindings = Bindings::default();
    let kconfig = loader.kconfig()?;
    loader.ksyms(&mut bindings)?;
    if let Some(btf) = loader.btf.as_mut() {
        sanitize_for_kernel(btf)?;
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
}

/// Everything of a load up to the first syscall (used by `bpfir lower`).
pub fn prepare(module: &Module, opts: &LoadOptions) -> Result<Prepared, LoadError> {
    let (relocated, report) = apply_co_re(module, opts)?;
    let (loader, bindings, kconfig) = start(relocated.as_ref().unwrap_or(module), opts)?;
    let btf = loader.btf;
    Ok(Prepared {
        btf,
        bindings,
        kconfig,
        relocated,
        co_re: report,
    })
}

fn load_prepared(
    mut loader: Loader<'_>,
    mut bindings: Bindings,
    kconfig: Option<KconfigMap>,
) -> Result<Loaded, LoadError> {
    let (module, opts) = (loader.module, loader.opts);

    let btf_fd = match &loader.btf {
        Some(btf) => {
            Some(sys::load_btf(&btf.to_bytes(), LogLevel::Basic).map_err(sys_err("object BTF"))?)
        }
        None => None,
    };

    // Maps, inner templates first.
    let mut maps = ArenaMap::default();
    for (id, def) in module.maps() {
        let inner = match &def.inner {
            Some(inner) => Some(loader.create_map(inner, btf_fd.as_ref(), None)?),
            None => None,
        };
        let fd = match def.pinning {
            Pinning::ByName => {
                let path = opts
                    .pin_root
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_PIN_ROOT))
                    .join(&def.name);
                pinned_map(&loader, def, &path, btf_fd.as_ref(), inner.as_ref())?
            }
            // iproute2's numbering (Other) pins under tc's own directories; not done here.
            _ => loader.create_map(def, btf_fd.as_ref(), inner.as_ref())?,
        };
        bindings
            .maps
            .insert(id, std::os::fd::AsRawFd::as_raw_fd(&fd));
        maps.insert(id, fd);
    }
    // Map-in-map initial slots.
    for (id, def) in module.maps() {
        if def.inner.is_none() {
            continue;
        }
        for (slot, target) in &def.init_slots {
            let Some((tid, _)) = module.maps().find(|(_, m)| &m.name == target) else {
                return Err(LoadError::Unsupported {
                    what: format!("map {}", def.name),
                    reason: format!("initial slot {slot} names {target}, which is not a map"),
                });
            };
            let fd = std::os::fd::AsRawFd::as_raw_fd(&maps[tid]) as u32;
            sys::update_elem(&maps[id], &slot.to_ne_bytes(), &fd.to_ne_bytes(), 0)
                .map_err(sys_err(format!("map {} slot {slot}", def.name)))?;
        }
    }

    // Global data.
    let mut data = ArenaMap::default();
    for (id, sec) in module.data_sections() {
        if sec.bytes.is_empty() {
            continue;
        }
        let mut flags = BPF_F_MMAPABLE;
        if sec.kind == DataKind::Rodata {
            flags |= BPF_F_RDONLY_PROG;
        }
        let def = value_map(
            internal_map_name(&opts.object_name, &sec.name),
            sec.bytes.len(),
            flags,
            sec.btf_datasec,
        );
        let fd = loader.create_map(&def, btf_fd.as_ref(), None)?;
        sys::update_elem(&fd, &0u32.to_ne_bytes(), &sec.bytes, 0)
            .map_err(sys_err(format!("data section {}", sec.name)))?;
        if sec.kind == DataKind::Rodata {
            sys::freeze_map(&fd).map_err(sys_err(format!("freeze {}", sec.name)))?;
        }
        bindings
            .data
            .insert(id, std::os::fd::AsRawFd::as_raw_fd(&fd));
        data.insert(id, fd);
    }
    let kconfig_fd = match kconfig {
        Some(k) => {
            let def = value_map(
                internal_map_name(&opts.object_name, ".kconfig"),
                k.value.len(),
                BPF_F_RDONLY_PROG | BPF_F_MMAPABLE,
                loader
                    .btf
                    .as_ref()
                    .and_then(|b| b.type_by_name_kind(".kconfig", Kind::Datasec)),
            );
            let fd = loader.create_map(&def, btf_fd.as_ref(), None)?;
            sys::update_elem(&fd, &0u32.to_ne_bytes(), &k.value, 0).map_err(sys_err(".kconfig"))?;
            sys::freeze_map(&fd).map_err(sys_err("freeze .kconfig"))?;
            let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
            for (id, offset) in k.offsets {
                bindings
                    .externs
                    .insert(id, ExternBinding::MapValue { fd: raw, offset });
            }
            Some(fd)
        }
        None => None,
    };

    let mut programs = Vec::new();
    for (func, f) in module.programs() {
        if !opts.programs.is_empty() && !opts.programs.iter().any(|p| p == &f.name) {
            continue;
        }
        let mut lowered = None;
        let result = load_program(&mut loader, func, &bindings, btf_fd.as_ref(), &mut lowered);
        programs.push(ProgramResult {
            func,
            name: f.name.clone(),
            section: f.section.clone(),
            result,
            lowered,
        });
    }
    // Program-array initial slots, now that the programs exist.
    for (id, def) in module.maps() {
        if def.map_type != MapType::PROG_ARRAY.0 {
            continue;
        }
        for (slot, target) in &def.init_slots {
            let Some(Ok(p)) = programs
                .iter()
                .find(|p| &p.name == target)
                .map(|p| p.result.as_ref())
            else {
                continue;
            };
            let fd = std::os::fd::AsRawFd::as_raw_fd(&p.fd) as u32;
            sys::update_elem(&maps[id], &slot.to_ne_bytes(), &fd.to_ne_bytes(), 0)
                .map_err(sys_err(format!("map {} slot {slot}", def.name)))?;
        }
    }
    Ok(Loaded {
        btf_fd,
        maps,
        data,
        kconfig: kconfig_fd,
        programs,
    })
}

fn load_program(
    loader: &mut Loader<'_>,
    func: FuncId,
    bindings: &Bindings,
    btf_fd: Option<&BtfFd>,
    lowered_out: &mut Option<crate::lower::LoweredProgram>,
) -> Result<LoadedProgram, LoadError> {
    let module = loader.module;
    let f = module.function(func);
    // libbpf's names first; then, as cilium/ebpf and older libbpf accept, a known name
    // followed by `/anything` (`socket/main`, `sk_lookup/`).
    let kind = program_kind(&f.section)
        .or_else(|| {
            let (prefix, _) = f.section.split_once('/')?;
            program_kind(prefix).filter(|k| k.attach_target.is_none())
        })
        .ok_or_else(|| LoadError::Unsupported {
            what: format!("program {}", f.name),
            reason: format!("section {:?} names no program type bpfir knows", f.section),
        })?;
    let mut attach_btf_id = 0;
    if let Some(target) = kind
        .attach_target
        .as_ref()
        .and_then(|t| t.btf.map(|b| (t.name, b)))
    {
        let (name, btf) = target;
        let kbtf = loader.kernel_btf()?;
        let full = format!("{}{}", btf.prefix, name);
        let want = match btf.kind {
            sys::BtfTargetKind::Typedef => Kind::Typedef,
            sys::BtfTargetKind::Func => Kind::Func,
        };
        let t = kbtf
            .type_by_name_kind(&full, want)
            .ok_or_else(|| LoadError::Unsupported {
                what: format!("program {}", f.name),
                reason: format!("attach target {full} is not in the kernel's BTF"),
            })?;
        attach_btf_id = kbtf.wire_id(t).0;
    }
    if let Some(report) = &loader.co_re {
        let funcs = link_order(module, func);
        let failed = report.errors_in(&funcs).next().cloned();
        if let Some(e) = failed {
            return Err(e.into());
        }
    }
    let lowered = &*lowered_out.insert(lower(module, func, bindings)?);
    let endian = crate::Endian::native();
    if module.endian() != endian {
        return Err(LoadError::Unsupported {
            what: format!("program {}", f.name),
            reason: "the object's byte order is not this machine's".into(),
        });
    }
    let insns = lowered.insn_bytes(endian);
    let func_info = lowered.func_info_bytes(endian);
    let line_info = lowered.line_info_bytes(endian);
    let core_relos = lowered.core_relo_bytes(endian);
    let license = module.license.clone().unwrap_or_default();
    let name = map_name(&f.name);
    let mut attr = ProgLoad::new(kind.prog_type, &insns, &license);
    attr.expected_attach_type = kind.expected_attach_type;
    attr.prog_flags = kind.prog_flags;
    attr.name = &name;
    attr.kern_version = module.kern_version.unwrap_or_else(|| {
        kconfig::kernel_release()
            .ok()
            .and_then(|r| kconfig::kernel_version_code(&r))
            .unwrap_or(0)
    });
    attr.attach_btf_id = attach_btf_id;
    if let Some(fd) = btf_fd {
        attr.prog_btf_fd = Some(fd.as_fd());
        attr.func_info = &func_info;
        attr.line_info = &line_info;
        attr.core_relos = &core_relos;
    }
    let what = if lowered.core_relos.is_empty() {
        format!("program {}", f.name)
    } else {
        // bpfir does not relocate CO-RE in user space yet: the kernel applies the records
        // against its own BTF, so local types it does not have poison their instructions.
        format!(
            "program {} ({} CO-RE relocations left to the kernel, against its own BTF)",
            f.name,
            lowered.core_relos.len()
        )
    };
    let fd = sys::load_prog(&attr).map_err(sys_err(what))?;
    let info = sys::prog_info(&fd).map_err(sys_err(format!("program {} info", f.name)))?;
    Ok(LoadedProgram {
        fd,
        n_insns: lowered.n_slots(),
        tag: info.tag_hex(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_read_the_kernel_btf() {
        let Ok(bytes) = std::fs::read("/sys/kernel/btf/vmlinux") else {
            eprintln!("no /sys/kernel/btf/vmlinux; skipping");
            return;
        };
        let btf = Btf::parse(&bytes).unwrap();
        // Every kernel with BTF in /sys has had bpf cookies since 5.15.
        assert!(has_bpf_cookie(Some(&btf)));
        if cfg!(target_arch = "x86_64") {
            assert!(has_syscall_wrapper(Some(&btf)));
        }
        assert!(!has_bpf_cookie(None));
        assert!(!has_syscall_wrapper(Some(&Btf::new(
            crate::Endian::native()
        ))));
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list("0-3"), Some(4));
        assert_eq!(parse_cpu_list("0-3,8-11"), Some(12));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("x"), None);
        assert!(possible_cpus().unwrap() >= 1);
    }

    #[test]
    fn names_fit_the_kernel() {
        assert_eq!(map_name("a-very.long_map:name"), "avery.long_mapn");
        assert_eq!(internal_map_name("calls", ".rodata"), "calls.rodata");
        assert_eq!(internal_map_name("", ".bss"), "bpfir.bss");
        assert_eq!(internal_map_name("averylongname", ".data"), "averylon.data");
        assert!(map_type_refuses_btf(MapType::PERF_EVENT_ARRAY));
        assert!(!map_type_refuses_btf(MapType::HASH));
    }
}
