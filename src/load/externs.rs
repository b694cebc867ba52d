//! Externs resolved before anything is loaded: the `.kconfig` map's layout and values
//! (with the `LINUX_HAS_*` features probed from the kernel's BTF), and `.ksyms` variables
//! and kfuncs resolved against the kernel's BTF (vmlinux, then its modules') or
//! `/proc/kallsyms`.
//!
//! Costs: the kernel's BTF is parsed once per load (or shared through
//! [`LoadOptions::kernel_btf`](super::LoadOptions::kernel_btf)); `/proc/kallsyms` is read
//! only for untyped ksyms.

use std::os::fd::RawFd;
use std::sync::Arc;

use super::kconfig::{self, KconfigValue, KernelConfig};
use super::kernel_btfs::{Found, KernelBtfs};
use super::{LoadError, Loader};
use crate::btf::{Btf, Kind, TypeKind};
use crate::co_re::types_are_compat;
use crate::ir::ExternKind;
use crate::lower::{Bindings, ExternBinding};

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
    pub(super) fn kconfig(&mut self) -> Result<Option<KconfigMap>, LoadError> {
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
            let mut vars = btf.datasec_vars_mut(sec)?;
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

    /// Resolves `.ksyms` variables and kfuncs against the kernel's BTF: vmlinux first, then
    /// (for a name vmlinux lacks) each module's, a kfunc in a module getting its module
    /// BTF's fd a place in `fd_array` (from index 1, in libbpf's extern order).
    pub(super) fn ksyms(&mut self, bindings: &mut Bindings) -> Result<(), LoadError> {
        let module = self.module;
        let mut wanted: Vec<_> = module
            .externs()
            .filter(|(_, e)| matches!(e.kind, ExternKind::Ksym | ExternKind::Func))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        // libbpf's order, which is the order module BTFs get their `fd_array` slots in.
        wanted.sort_by_key(|&(id, _)| libbpf_extern_index(module, id));
        let vmlinux = match &self.opts.kernel_btfs {
            Some(k) => {
                self.kernel_btfs = Some(k.clone());
                k.vmlinux().clone()
            }
            None => self.kernel_btf()?,
        };
        let mut kallsyms: Option<std::collections::HashMap<String, u64>> = None;
        // `fd_array` index of each module, once it has one.
        let mut module_slots: std::collections::HashMap<usize, i16> = Default::default();
        for (id, e) in wanted {
            // The kernel's name: without a `___flavour` suffix (`bpf_task_acquire___one`
            // is `bpf_task_acquire`), which lets an object declare one kfunc or ksym under
            // several prototypes.
            let name = essential_name(&e.name);
            // An untyped ksym (`extern const void x __ksym`, the `const` optional) is an
            // address from kallsyms, whether the symbol is a variable or a function.
            let untyped = e.kind == ExternKind::Ksym
                && e.btf.is_some_and(|v| {
                    self.btf.as_ref().is_some_and(|btf| match btf.ty(v).kind {
                        TypeKind::Var { ty, .. } => {
                            btf.resolve(ty).is_ok_and(|t| btf.wire_id(t).0 == 0)
                        }
                        _ => false,
                    })
                });
            if untyped {
                let syms = kallsyms.get_or_insert_with(read_kallsyms);
                let binding = match syms.get(name) {
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
            let found = match vmlinux.type_by_name_kind(name, kind) {
                Some(t) => Some(Found::Vmlinux(t)),
                None => self
                    .kernel_btfs_with_modules(&vmlinux)?
                    .find_in_modules(name, kind),
            };
            let kbtfs = self
                .kernel_btfs
                .clone()
                .unwrap_or_else(|| Arc::new(KernelBtfs::new(vmlinux.clone())));
            // As libbpf: the local declaration must be compatible with the kernel's (a
            // flavour with another prototype is another function, absent here).
            let compatible = match (found, e.btf, self.btf.as_ref()) {
                (Some(f), Some(local), Some(btf)) => {
                    let (kbtf, t) = kbtfs.btf_of(f);
                    let (l, k) = match (btf.ty(local).kind, kbtf.ty(t).kind) {
                        (TypeKind::Func { proto: l, .. }, TypeKind::Func { proto: k, .. }) => {
                            (l, k)
                        }
                        // As libbpf: a variable's type without its modifiers and typedefs
                        // on both sides (`extern const int x __ksym` is the kernel's `int x`).
                        (TypeKind::Var { ty: l, .. }, TypeKind::Var { ty: k, .. }) => {
                            (btf.resolve(l).unwrap_or(l), kbtf.resolve(k).unwrap_or(k))
                        }
                        _ => (local, t),
                    };
                    types_are_compat(btf, l, kbtf, k).unwrap_or(false)
                }
                _ => true,
            };
            let binding = match found.filter(|_| compatible) {
                Some(f) => {
                    let (kbtf, t) = kbtfs.btf_of(f);
                    let btf_id = kbtf.wire_id(t).0;
                    let (btf_obj_fd, btf_fd_idx) = match f {
                        Found::Vmlinux(_) => (0, 0),
                        Found::Module(i, _) => {
                            let fd = kbtfs.module_fd(i, &e.name)?;
                            let idx = if e.kind == ExternKind::Func {
                                self.fd_array_slot(&mut module_slots, i, fd, &e.name)?
                            } else {
                                0
                            };
                            (fd as u32, idx)
                        }
                    };
                    if e.kind == ExternKind::Func {
                        ExternBinding::Kfunc {
                            btf_id,
                            btf_fd_idx,
                            btf_obj_fd,
                        }
                    } else {
                        ExternBinding::Ksym { btf_id, btf_obj_fd }
                    }
                }
                None if e.weak => ExternBinding::Absent {
                    index: libbpf_extern_index(module, id),
                },
                None => {
                    return Err(LoadError::Extern {
                        name: e.name.clone(),
                        reason: if found.is_some() {
                            format!(
                                "its declaration does not match the kernel's {name} (declare it __weak if it may differ)"
                            )
                        } else {
                            format!(
                                "no {} of that name in the BTF of the kernel or its modules (declare it __weak if it may be absent)",
                                if kind == Kind::Func { "function" } else { "variable" }
                            )
                        },
                    })
                }
            };
            bindings.externs.insert(id, binding);
        }
        Ok(())
    }

    /// The kernel BTFs with their modules: as given, or the running kernel's, listed once.
    fn kernel_btfs_with_modules(
        &mut self,
        vmlinux: &Arc<Btf>,
    ) -> Result<Arc<KernelBtfs>, LoadError> {
        if let Some(k) = &self.kernel_btfs {
            return Ok(k.clone());
        }
        let k = Arc::new(KernelBtfs::running_kernel(vmlinux.clone())?);
        self.kernel_btfs = Some(k.clone());
        Ok(k)
    }

    /// The `fd_array` index of module `i`'s BTF (`fd`), given one the first time: index 0
    /// stays unused (a kfunc call with `off == 0` is vmlinux's), as libbpf.
    fn fd_array_slot(
        &mut self,
        slots: &mut std::collections::HashMap<usize, i16>,
        i: usize,
        fd: RawFd,
        extern_name: &str,
    ) -> Result<i16, LoadError> {
        if let Some(&idx) = slots.get(&i) {
            return Ok(idx);
        }
        if self.fd_array.is_empty() {
            self.fd_array.push(0);
        }
        let idx = i16::try_from(self.fd_array.len()).map_err(|_| LoadError::Extern {
            name: extern_name.to_string(),
            reason: "more module BTFs than a kfunc call's 16-bit offset can index".into(),
        })?;
        self.fd_array.push(fd);
        slots.insert(i, idx);
        Ok(idx)
    }
}

/// The index libbpf gives extern `id` (in the poison of an absent kfunc's call): its
/// externs sorted kconfig first, then by name (kconfig ones by alignment and size first,
/// which does not move ksyms).
fn libbpf_extern_index(module: &crate::ir::Module, id: crate::ir::ExternId) -> u32 {
    let me = module.extern_(id);
    let is_kcfg = |k: ExternKind| k == ExternKind::Kconfig;
    module
        .externs()
        .filter(|&(other, e)| {
            other != id
                && match (is_kcfg(e.kind), is_kcfg(me.kind)) {
                    (true, false) => true,
                    (false, true) => false,
                    _ => e.name < me.name,
                }
        })
        .count() as u32
}

/// A name without its `___flavour` suffix, as CO-RE and libbpf's extern resolution read
/// names (`bpf_task_acquire___one` → `bpf_task_acquire`).
fn essential_name(name: &str) -> &str {
    match name.find("___") {
        Some(i) if i > 0 => &name[..i],
        _ => name,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavours_are_dropped() {
        assert_eq!(essential_name("bpf_task_acquire___one"), "bpf_task_acquire");
        assert_eq!(essential_name("bpf_task_acquire"), "bpf_task_acquire");
        assert_eq!(essential_name("___x"), "___x");
    }

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
}
