//! Global data in the kernel: each data section (`.data`, `.bss`, `.rodata`, ...) as a
//! single-entry array map holding the section's bytes (`.rodata` frozen, read-only for
//! programs), and the `.kconfig` map holding the extern values.
//!
//! Costs: one map, one update and (read-only ones) one freeze per non-empty section.

use std::os::fd::AsRawFd;

use super::maps::{internal_map_name, value_map};
use super::KconfigMap;
use super::{sys_err, LoadError, Loader, BPF_F_MMAPABLE, BPF_F_RDONLY_PROG};
use crate::btf::Kind;
use crate::ir::{DataId, DataKind, EntityMap, MapId};
use crate::lower::{Bindings, ExternBinding};
use crate::sys::{self, BtfFd, MapFd, MapMmap, MapType};

/// Creates the map of every non-empty data section, fills it, freezes `.rodata`, and binds
/// each section to its fd.
///
/// Arena globals (`.addr_space.1`) have no map of their own: they are the start of the
/// object's arena, bound to its fd, their initial bytes copied into its mapping.
pub(super) fn create_data_maps(
    loader: &Loader<'_>,
    btf_fd: Option<&BtfFd>,
    bindings: &mut Bindings,
    maps: &EntityMap<MapId, MapFd>,
    arenas: &mut EntityMap<MapId, MapMmap>,
) -> Result<EntityMap<DataId, MapFd>, LoadError> {
    let (module, opts) = (loader.module, loader.opts);
    let mut data = EntityMap::default();
    for (id, sec) in module.data_sections() {
        if sec.kind == DataKind::Arena {
            let arena = module
                .maps()
                .find(|(_, m)| MapType(m.map_type) == MapType::ARENA)
                .map(|(a, _)| a)
                .ok_or_else(|| LoadError::Unsupported {
                    what: format!("data section {}", sec.name),
                    reason: "arena globals need an arena map (BPF_MAP_TYPE_ARENA) in the object"
                        .into(),
                })?;
            let (Some(fd), Some(mapping)) = (maps.get(arena), arenas.get_mut(arena)) else {
                return Err(LoadError::Unsupported {
                    what: format!("data section {}", sec.name),
                    reason: "its arena map was not created".into(),
                });
            };
            mapping
                .write_at_start(&sec.bytes)
                .map_err(sys_err(format!("data section {}", sec.name)))?;
            bindings.data.insert(id, fd.as_raw_fd());
            continue;
        }
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
        let fd = loader.create_map(&def, btf_fd, None)?;
        sys::update_elem(&fd, &0u32.to_ne_bytes(), &sec.bytes, 0)
            .map_err(sys_err(format!("data section {}", sec.name)))?;
        if sec.kind == DataKind::Rodata {
            sys::freeze_map(&fd).map_err(sys_err(format!("freeze {}", sec.name)))?;
        }
        bindings.data.insert(id, fd.as_raw_fd());
        data.insert(id, fd);
    }
    Ok(data)
}

/// Creates, fills and freezes the `.kconfig` map, and binds each kconfig extern to its
/// offset in it.
pub(super) fn create_kconfig_map(
    loader: &Loader<'_>,
    btf_fd: Option<&BtfFd>,
    kconfig: KconfigMap,
    bindings: &mut Bindings,
) -> Result<MapFd, LoadError> {
    let def = value_map(
        internal_map_name(&loader.opts.object_name, ".kconfig"),
        kconfig.value.len(),
        BPF_F_RDONLY_PROG | BPF_F_MMAPABLE,
        loader
            .btf
            .as_ref()
            .and_then(|b| b.type_by_name_kind(".kconfig", Kind::Datasec)),
    );
    let fd = loader.create_map(&def, btf_fd, None)?;
    sys::update_elem(&fd, &0u32.to_ne_bytes(), &kconfig.value, 0).map_err(sys_err(".kconfig"))?;
    sys::freeze_map(&fd).map_err(sys_err("freeze .kconfig"))?;
    let raw = fd.as_raw_fd();
    for (id, offset) in kconfig.offsets {
        bindings
            .externs
            .insert(id, ExternBinding::MapValue { fd: raw, offset });
    }
    Ok(fd)
}
