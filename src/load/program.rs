//! One program into the kernel: its program type and attach target from the section name,
//! lowered with the load's bindings, checked against the CO-RE report, and loaded with its
//! func_info, line_info and the object's BTF.

use std::os::fd::AsFd;

use super::maps::map_name;
use super::{kconfig, sys_err, LoadError, LoadedProgram, Loader};
use crate::btf::Kind;
use crate::ir::FuncId;
use crate::lower::{link_order, lower, Bindings};
use crate::sys::{self, program_kind, BtfFd, ProgLoad};

pub(super) fn load_program(
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
    // The module BTFs of kfunc calls (`insn.off` indexes it); all programs share it.
    let fd_array = loader.fd_array.clone();
    if !fd_array.is_empty() {
        attr.fd_array = Some(&fd_array);
    }
    if kind.prog_type == sys::ProgType::STRUCT_OPS {
        let &(btf_id, member) =
            loader
                .struct_ops
                .progs
                .get(&func)
                .ok_or_else(|| LoadError::Unsupported {
                    what: format!("program {}", f.name),
                    reason: "no struct_ops map names it (its attach point is the member that does)"
                        .into(),
                })?;
        attr.attach_btf_id = btf_id;
        attr.expected_attach_type = sys::AttachType(member);
    }
    if let Some(fd) = btf_fd {
        attr.prog_btf_fd = Some(fd.as_fd());
        attr.func_info = &func_info;
        attr.line_info = &line_info;
        attr.core_relos = &core_relos;
    }
    let what = if lowered.core_relos.is_empty() {
        format!("program {}", f.name)
    } else {
        // With `CoReMode::KernelSide` the kernel applies the records against its own BTF,
        // so local types it does not have poison their instructions.
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
