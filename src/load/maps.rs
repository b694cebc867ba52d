//! The object's maps in the kernel: creating one from its definition (the sizes and BTF ids
//! the kernel wants for each map type), reusing or creating maps pinned by name, inner map
//! templates, and the initial slots of map-in-map and program-array maps.
//!
//! Costs: one `BPF_MAP_CREATE` per map (two for a map-in-map: its inner template), one
//! `BPF_MAP_UPDATE_ELEM` per initial slot; a pinned map is opened and compared before reuse.

use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};

use super::{sys_err, LoadError, Loader, ProgramResult, BPF_F_RDONLY_PROG, DEFAULT_PIN_ROOT};
use crate::btf::TypeId;
use crate::ir::{EntityMap, MapDef, MapId, MapOrigin, Module, Pinning};
use crate::lower::Bindings;
use crate::sys::{self, BtfFd, MapCreate, MapFd, MapMmap, MapType};

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
        // The kernel adds BPF_F_RDONLY_PROG to devmaps' flags itself.
        let mut flags = info.map_flags;
        if matches!(info.map_type, MapType::DEVMAP | MapType::DEVMAP_HASH) {
            flags &= !BPF_F_RDONLY_PROG;
        }
        let same = info.map_type == MapType(def.map_type)
            && info.key_size == def.key_size
            && info.value_size == def.value_size
            && info.max_entries == def.max_entries
            && flags == def.flags;
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
pub(super) fn map_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .take(15)
        .collect()
}

/// The single-entry array map that holds a data section or the `.kconfig` values, its value
/// described by the section's `DATASEC` when there is one.
pub(super) fn value_map(name: String, size: usize, flags: u32, datasec: Option<TypeId>) -> MapDef {
    MapDef {
        map_type: MapType::ARRAY.0,
        key_size: 4,
        value_size: size as u32,
        max_entries: 1,
        flags,
        value_type: datasec,
        ..MapDef::new(name, MapOrigin::Btf)
    }
}

/// libbpf's name for the map of a data section: up to 8 characters of the object name, then
/// the section name.
pub(super) fn internal_map_name(object: &str, section: &str) -> String {
    let object = if object.is_empty() { "bpfir" } else { object };
    let prefix: String = object.chars().take(8).collect();
    format!("{prefix}{section}")
}

impl Loader<'_> {
    pub(super) fn create_map(
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
        if ringbuf {
            let page = u32::try_from(sys::page_size()).unwrap_or(4096);
            max_entries = ringbuf_size(max_entries, page);
        }
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
        match sys::create_map(&attr) {
            Err(first) if attr.btf_fd.is_some() => {
                // As libbpf: a map whose key or value BTF this kernel refuses is created
                // without BTF (the programs still load; only introspection loses types).
                attr.btf_fd = None;
                attr.btf_key_type_id = 0;
                attr.btf_value_type_id = 0;
                sys::create_map(&attr).map_err(|_| LoadError::Sys {
                    what: format!("map {}", def.name),
                    source: first,
                })
            }
            r => r.map_err(sys_err(format!("map {}", def.name))),
        }
    }
}

/// The size the kernel accepts for a ring buffer of at least `size` bytes: a power-of-2
/// number of pages (libbpf rounds up the same way); 0, and sizes with no such multiple
/// below 4 GiB, pass through for the kernel to refuse.
fn ringbuf_size(size: u32, page: u32) -> u32 {
    if size == 0 || page == 0 {
        return size;
    }
    if size.is_multiple_of(page) && (size / page).is_power_of_two() {
        return size;
    }
    let mut mul: u32 = 1;
    while let Some(total) = mul.checked_mul(page) {
        if total > size {
            return total;
        }
        match mul.checked_mul(2) {
            Some(m) => mul = m,
            None => break,
        }
    }
    size
}

/// The maps of a load by id, and the mappings of its arenas.
pub(super) type CreatedMaps = (EntityMap<MapId, MapFd>, EntityMap<MapId, MapMmap>);

/// Creates every map of `module` (inner templates first; pinned ones reused or pinned),
/// binds each to its fd in `bindings`, maps each arena into this process (which sets its
/// user address, as libbpf does), and fills the map-in-map initial slots.
pub(super) fn create_maps(
    loader: &Loader<'_>,
    btf_fd: Option<&BtfFd>,
    bindings: &mut Bindings,
) -> Result<CreatedMaps, LoadError> {
    let (module, opts) = (loader.module, loader.opts);
    let mut maps = EntityMap::default();
    let mut arenas = EntityMap::default();
    for (id, def) in module.maps() {
        let inner = match &def.inner {
            Some(inner) => Some(loader.create_map(inner, btf_fd, None)?),
            None => None,
        };
        let fd = match def.pinning {
            _ if module.struct_ops(id).is_some() => {
                loader.create_struct_ops_map(&loader.struct_ops, id, def, btf_fd)?
            }
            Pinning::ByName => {
                let path = opts
                    .pin_root
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_PIN_ROOT))
                    .join(&def.name);
                pinned_map(loader, def, &path, btf_fd, inner.as_ref())?
            }
            // iproute2's numbering (Other) pins under tc's own directories; not done here.
            _ => loader.create_map(def, btf_fd, inner.as_ref())?,
        };
        if MapType(def.map_type) == MapType::ARENA {
            let len = (def.max_entries as usize).saturating_mul(sys::page_size());
            let mapping = sys::mmap_map(&fd, len, def.map_extra)
                .map_err(sys_err(format!("arena {}", def.name)))?;
            arenas.insert(id, mapping);
        }
        bindings.maps.insert(id, fd.as_raw_fd());
        maps.insert(id, fd);
    }
    fill_map_slots(module, &maps)?;
    Ok((maps, arenas))
}

/// Map-in-map initial slots: each slot gets the fd of the map it names.
fn fill_map_slots(module: &Module, maps: &EntityMap<MapId, MapFd>) -> Result<(), LoadError> {
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
            let fd = maps[tid].as_raw_fd() as u32;
            sys::update_elem(&maps[id], &slot.to_ne_bytes(), &fd.to_ne_bytes(), 0)
                .map_err(sys_err(format!("map {} slot {slot}", def.name)))?;
        }
    }
    Ok(())
}

/// Program-array initial slots, once the programs exist: each slot gets the fd of the
/// program it names (a program that did not load leaves its slot empty).
pub(super) fn fill_prog_arrays(
    module: &Module,
    maps: &EntityMap<MapId, MapFd>,
    programs: &[ProgramResult],
) -> Result<(), LoadError> {
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
            let fd = p.fd.as_raw_fd() as u32;
            sys::update_elem(&maps[id], &slot.to_ne_bytes(), &fd.to_ne_bytes(), 0)
                .map_err(sys_err(format!("map {} slot {slot}", def.name)))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn ring_buffers_round_up_to_a_power_of_two_pages() {
        assert_eq!(ringbuf_size(0, 4096), 0);
        assert_eq!(ringbuf_size(4096, 4096), 4096);
        assert_eq!(ringbuf_size(1000, 4096), 4096);
        assert_eq!(ringbuf_size(4097, 4096), 8192);
        assert_eq!(ringbuf_size(3 * 4096, 4096), 4 * 4096);
        assert_eq!(ringbuf_size(16 * 4096, 4096), 16 * 4096);
        assert_eq!(ringbuf_size(u32::MAX - 5, 4096), u32::MAX - 5);
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
