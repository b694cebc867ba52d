//! struct_ops maps in the kernel, the way libbpf prepares them: for a variable of local
//! type `struct X` the kernel's `struct bpf_struct_ops_X` is the map value (a common header
//! and `X` as its `data` member); each program a function-pointer member names is loaded
//! with `attach_btf_id` = the kernel's `X` and `expected_attach_type` = that member's index
//! in it; the map is created with `btf_vmlinux_value_type_id`; data members are copied by
//! name into the kernel layout, and program fds fill the function pointers once the
//! programs are loaded.
//!
//! As libbpf, the load does not update the map (that registers the callbacks, e.g. a TCP
//! congestion control, with the kernel): [`Loaded::register_struct_ops`] does, when the
//! caller wants it (a `.struct_ops.link` map is then ready for `BPF_LINK_CREATE`).
//!
//! Costs: one pass over each local and kernel struct's members per map.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd};

use super::maps::map_name;
use super::{sys_err, LoadError, Loaded, Loader, ProgramResult};
use crate::btf::{Btf, Kind, TypeId, TypeKind};
use crate::ir::{EntityMap, FuncId, MapDef, MapId};
use crate::sys::{self, BtfFd, MapCreate, MapFd, MapType};

/// How one struct_ops map is laid out in the kernel.
#[derive(Clone, Debug)]
pub(super) struct KernelValue {
    /// Kernel BTF id of `struct bpf_struct_ops_X`.
    value_type_id: u32,
    /// The value, data members copied in, function pointers still zero.
    value: Vec<u8>,
    /// `(byte offset in value, program)` of each function pointer to fill with a fd.
    funcs: Vec<(usize, FuncId)>,
}

/// What a load needs to know about struct_ops before creating maps and loading programs.
#[derive(Debug, Default)]
pub(super) struct Plan {
    /// The kernel layout of each struct_ops map.
    maps: HashMap<MapId, KernelValue>,
    /// `(attach_btf_id, expected_attach_type)` of each program a struct_ops map names.
    pub(super) progs: HashMap<FuncId, (u32, u32)>,
}

/// The local struct's name without a `___flavor` suffix (`tcp_congestion_ops___v2`).
fn essential_name(name: &str) -> &str {
    name.find("___").map_or(name, |i| &name[..i])
}

/// Whether `ty` (in `btf`) is a pointer to a function prototype.
fn is_func_ptr(btf: &Btf, ty: TypeId) -> bool {
    let Ok(t) = btf.resolve(ty) else { return false };
    match btf.ty(t).kind {
        TypeKind::Ptr(p) => btf
            .resolve(p)
            .is_ok_and(|p| btf.ty(p).kind.kind() == Kind::FuncProto),
        _ => false,
    }
}

impl Loader<'_> {
    /// Lays out every struct_ops map of the module against the kernel's BTF.
    pub(super) fn struct_ops_plan(&mut self) -> Result<Plan, LoadError> {
        let module = self.module;
        let mut plan = Plan::default();
        let with_values: Vec<_> = module
            .maps()
            .filter_map(|(id, def)| module.struct_ops(id).map(|v| (id, def, v)))
            .collect();
        if with_values.is_empty() {
            return Ok(plan);
        }
        let kbtf = self.kernel_btf()?;
        let btf = self.btf.as_ref().ok_or_else(|| LoadError::Unsupported {
            what: "struct_ops".into(),
            reason: "struct_ops maps need the object's BTF".into(),
        })?;
        for (id, def, local) in with_values {
            let err = |reason: String| LoadError::Unsupported {
                what: format!("struct_ops map {}", def.name),
                reason,
            };
            let st = def
                .value_type
                .ok_or_else(|| err("no local struct type".into()))?;
            let tname = essential_name(btf.name(st)?).to_string();
            let value_name = format!("bpf_struct_ops_{tname}");
            let vt = kbtf
                .type_by_name_kind(&value_name, Kind::Struct)
                .ok_or_else(|| {
                    err(format!(
                        "the kernel's BTF has no struct {value_name} (no struct_ops {tname})"
                    ))
                })?;
            let data_member = kbtf
                .members(vt)
                .iter()
                .find(|m| kbtf.str(m.name) == Ok("data"))
                .ok_or_else(|| err(format!("{value_name} has no data member")))?;
            let data_off = (data_member.bit_offset / 8) as usize;
            let kst = kbtf.resolve(data_member.ty)?;
            let value_size = kbtf.size_of(vt)? as usize;
            let mut value = vec![0u8; value_size];
            let mut funcs = Vec::new();
            for lm in btf.members(st) {
                let mname = btf.str(lm.name)?;
                let loff = (lm.bit_offset / 8) as usize;
                let lsize = btf.size_of(lm.ty)? as usize;
                let bytes = local.data.get(loff..loff + lsize).ok_or_else(|| {
                    err(format!("member {mname} is outside the variable's bytes"))
                })?;
                let prog = local.func_at(loff as u32);
                let kernel = kbtf
                    .members(kst)
                    .iter()
                    .enumerate()
                    .find(|(_, m)| kbtf.str(m.name) == Ok(mname));
                let Some((index, km)) = kernel else {
                    // A member this kernel lacks may stay unset.
                    if prog.is_none() && bytes.iter().all(|&b| b == 0) {
                        continue;
                    }
                    return Err(err(format!(
                        "member {mname} is set but the kernel's struct {tname} has no such member"
                    )));
                };
                let koff = data_off + (km.bit_offset / 8) as usize;
                if is_func_ptr(btf, lm.ty) {
                    let Some(func) = prog else { continue };
                    if !is_func_ptr(&kbtf, km.ty) {
                        return Err(err(format!(
                            "member {mname} is a function pointer here, not in the kernel"
                        )));
                    }
                    let want = (kbtf.wire_id(kst).0, index as u32);
                    if let Some(&had) = plan.progs.get(&func) {
                        if had != want {
                            return Err(err(format!(
                                "program {} is also another struct_ops member",
                                module.function(func).name
                            )));
                        }
                    }
                    plan.progs.insert(func, want);
                    funcs.push((koff, func));
                    continue;
                }
                let ksize = kbtf.size_of(km.ty)? as usize;
                if ksize != lsize || km.bitfield_size != 0 || lm.bitfield_size != 0 {
                    return Err(err(format!(
                        "member {mname} is {lsize} bytes here, {ksize} in the kernel"
                    )));
                }
                value
                    .get_mut(koff..koff + ksize)
                    .ok_or_else(|| err(format!("member {mname} is outside {value_name}")))?
                    .copy_from_slice(bytes);
            }
            plan.maps.insert(
                id,
                KernelValue {
                    value_type_id: kbtf.wire_id(vt).0,
                    value,
                    funcs,
                },
            );
        }
        Ok(plan)
    }

    /// Creates struct_ops map `id` (value: the kernel's `bpf_struct_ops_X`).
    pub(super) fn create_struct_ops_map(
        &self,
        plan: &Plan,
        id: MapId,
        def: &MapDef,
        btf_fd: Option<&BtfFd>,
    ) -> Result<MapFd, LoadError> {
        let kv = plan.maps.get(&id).ok_or_else(|| LoadError::Unsupported {
            what: format!("struct_ops map {}", def.name),
            reason: "not laid out against the kernel".into(),
        })?;
        let name = map_name(&def.name);
        let mut attr = MapCreate::new(MapType::STRUCT_OPS, 4, kv.value.len() as u32, 1);
        attr.map_flags = def.flags;
        attr.name = &name;
        attr.btf_fd = btf_fd.map(|f| f.as_fd());
        attr.btf_vmlinux_value_type_id = kv.value_type_id;
        sys::create_map(&attr).map_err(sys_err(format!("struct_ops map {}", def.name)))
    }
}

/// The value of each struct_ops map with the fds of its loaded programs; a map whose
/// programs did not all load gets none.
pub(super) fn values(plan: Plan, programs: &[ProgramResult]) -> EntityMap<MapId, Vec<u8>> {
    let mut out = EntityMap::default();
    'maps: for (id, mut kv) in plan.maps {
        for (off, func) in &kv.funcs {
            let Some(Ok(p)) = programs
                .iter()
                .find(|p| p.func == *func)
                .map(|p| p.result.as_ref())
            else {
                continue 'maps;
            };
            let fd = p.fd.as_raw_fd() as u64;
            kv.value[*off..*off + 8].copy_from_slice(&fd.to_ne_bytes());
        }
        out.insert(id, kv.value);
    }
    out
}

impl Loaded {
    /// Updates struct_ops map `id` with its value ([`Loaded::struct_ops`]): the kernel
    /// registers the callbacks (for a `.struct_ops.link` map, the map is then ready for
    /// `BPF_LINK_CREATE`).
    pub fn register_struct_ops(&self, id: MapId) -> Result<(), LoadError> {
        let (Some(fd), Some(value)) = (self.maps.get(id), self.struct_ops.get(id)) else {
            return Err(LoadError::Unsupported {
                what: format!("struct_ops map {id:?}"),
                reason: "not a struct_ops map of this load, or its programs did not all load"
                    .into(),
            });
        };
        sys::update_elem(fd, &0u32.to_ne_bytes(), value, 0)
            .map_err(sys_err(format!("struct_ops map {id:?}")))
    }
}
