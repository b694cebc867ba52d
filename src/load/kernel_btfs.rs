//! The kernel BTFs that typed ksyms and kfuncs resolve against: vmlinux, then the split
//! BTF of each kernel module, each with the fd a program names it by (`fd_array` for a
//! kfunc call, the second half of a `BPF_PSEUDO_BTF_ID` `ld_imm64`).
//!
//! As libbpf: a name is looked up in vmlinux first; only a name vmlinux lacks is looked up
//! in the modules, in their order (the kernel's BTF object ids), each module's own types
//! only. The running kernel's list is discovered with `BPF_BTF_GET_NEXT_ID` (see
//! [`sys::kernel_btf_objects`]); tests and offline tools build their own with
//! [`KernelBtfs::new`] and [`KernelBtfs::push_module`].
//!
//! Costs: discovery opens every BTF object of the kernel once and reads and parses the
//! BTF of each module (tens of KiB each); it runs at most once per load, and only when a
//! ksym or kfunc is not in vmlinux.

use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

use super::LoadError;
use crate::btf::{Btf, Kind, TypeId};
use crate::sys::{self, BtfFd};

/// One module's BTF.
#[derive(Debug)]
#[non_exhaustive]
pub struct ModuleBtf {
    /// The module's name (`bpf_testmod`).
    pub name: String,
    /// Its split BTF, over vmlinux.
    pub btf: Arc<Btf>,
    /// Its BTF object in the kernel; `None` for a BTF read from a file, which can resolve
    /// names but not be handed to the kernel.
    pub fd: Option<BtfFd>,
}

/// vmlinux and the modules' BTFs, in lookup order.
#[derive(Debug)]
pub struct KernelBtfs {
    vmlinux: Arc<Btf>,
    modules: Vec<ModuleBtf>,
}

/// Where a ksym or kfunc was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Found {
    /// In vmlinux.
    Vmlinux(TypeId),
    /// In the module at this index of [`KernelBtfs::modules`].
    Module(usize, TypeId),
}

impl KernelBtfs {
    /// vmlinux alone.
    pub fn new(vmlinux: Arc<Btf>) -> Self {
        KernelBtfs {
            vmlinux,
            modules: Vec::new(),
        }
    }

    /// Appends a module's split BTF (searched after vmlinux and the modules before it).
    pub fn push_module(&mut self, name: impl Into<String>, btf: Arc<Btf>, fd: Option<BtfFd>) {
        self.modules.push(ModuleBtf {
            name: name.into(),
            btf,
            fd,
        });
    }

    /// vmlinux's BTF.
    pub fn vmlinux(&self) -> &Arc<Btf> {
        &self.vmlinux
    }

    /// The modules, in lookup order.
    pub fn modules(&self) -> &[ModuleBtf] {
        &self.modules
    }

    /// The running kernel's modules with BTF, over `vmlinux` (its BTF, as parsed from
    /// `/sys/kernel/btf/vmlinux`), in the kernel's id order. Without the privilege to list
    /// BTF objects (`EPERM`), vmlinux alone, as libbpf.
    pub fn running_kernel(vmlinux: Arc<Btf>) -> Result<Self, LoadError> {
        let mut out = KernelBtfs::new(vmlinux.clone());
        let objects = match sys::kernel_btf_objects() {
            Ok(o) => o,
            Err(e) if e.is_not_permitted() => return Ok(out),
            Err(source) => {
                return Err(LoadError::Sys {
                    what: "listing the kernel's BTF objects".into(),
                    source,
                })
            }
        };
        for o in objects.into_iter().filter(|o| o.name != "vmlinux") {
            let what = || format!("BTF of module {} (BTF object {})", o.name, o.id);
            let bytes = sys::btf_bytes(&o.fd).map_err(|source| LoadError::Sys {
                what: what(),
                source,
            })?;
            let btf =
                Btf::parse_split(&bytes, vmlinux.clone()).map_err(|e| LoadError::Unsupported {
                    what: what(),
                    reason: e.to_string(),
                })?;
            out.push_module(o.name, Arc::new(btf), Some(o.fd));
        }
        Ok(out)
    }

    /// The `kind` named `name` among the modules' own types, first module first.
    pub(super) fn find_in_modules(&self, name: &str, kind: Kind) -> Option<Found> {
        self.modules.iter().enumerate().find_map(|(i, m)| {
            let first = m.btf.first_own_id();
            m.btf
                .types_by_name(name)
                .find(|&t| m.btf.wire_id(t).0 >= first && m.btf.ty(t).kind.kind() == kind)
                .map(|t| Found::Module(i, t))
        })
    }

    /// The BTF a [`Found`] is in.
    pub(super) fn btf_of(&self, found: Found) -> (&Btf, TypeId) {
        match found {
            Found::Vmlinux(t) => (&self.vmlinux, t),
            Found::Module(i, t) => (&self.modules[i].btf, t),
        }
    }

    /// The raw fd of module `i`, or why it has none.
    pub(super) fn module_fd(&self, i: usize, extern_name: &str) -> Result<RawFd, LoadError> {
        let m = &self.modules[i];
        m.fd.as_ref()
            .map(|fd| fd.as_raw_fd())
            .ok_or_else(|| LoadError::Extern {
                name: extern_name.to_string(),
                reason: format!(
                    "found in module {}'s BTF, which has no fd to give the kernel",
                    m.name
                ),
            })
    }
}
