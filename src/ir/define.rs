//! New maps, global variables and functions together with the BTF that describes them, the
//! way clang would have emitted them: what a pass adds is written by
//! [`write_object`](crate::write::write_object) and loaded by bpfir and libbpf alike.
//!
//! * [`Module::add_btf_map`]: a BTF-defined map (array, hash, per-CPU, ring buffer, ...): an
//!   anonymous `STRUCT` of pointer members (`int (*type)[N]`, `int (*max_entries)[N]`,
//!   `K *key` or `int (*key_size)[N]`, the same for the value, `int (*map_flags)[N]`), a
//!   global `VAR` of it named after the map, and its place in the `.maps` `DATASEC`
//!   (created when the module has none).
//! * [`Module::add_global_var`]: a variable in a `.data`, `.bss` or `.rodata` section (created
//!   when missing), its bytes, its symbol, a global `VAR` and its place in the section's
//!   `DATASEC`.
//! * [`Module::add_function_with_btf`]: a function with a `FUNC_PROTO` and a `FUNC` (global
//!   for a program, static for a sub-program), and a synthetic source line for its
//!   instructions (the kernel wants one at every function start when a program has lines).
//!
//! A module without BTF gets an empty one first. Integer types are found by name and size
//! ([`Module::btf_int`]) or added once. Costs: a few BTF appends each; adding a variable to
//! an existing `DATASEC` copies its variable list (O(variables)).

use crate::abi::MapType;
use crate::btf::{Btf, IntEncoding, Kind, Linkage, NewMember, TypeId, TypeKind, VarSecinfo};

use super::{
    DataId, DataKind, DataSection, DataVar, FuncId, Function, IrError, LineId, MapDef, MapId,
    MapOrigin, Module, SourceLine, SymbolLinkage,
};

/// A BTF-defined map to add with [`Module::add_btf_map`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewMap {
    /// The map's name (its symbol and `VAR`).
    pub name: String,
    /// The map type (`MapType::ARRAY`, `MapType::HASH`, `MapType::RINGBUF`, ...).
    pub map_type: MapType,
    /// The key: its BTF type, or only its size (0: no key, as a ring buffer has).
    pub key: MapSlot,
    /// The value: its BTF type, or only its size (0: no value).
    pub value: MapSlot,
    /// Maximum number of entries (for a ring buffer: its size in bytes).
    pub max_entries: u32,
    /// `BPF_F_*` flags.
    pub flags: u32,
}

/// The key or value of a [`NewMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MapSlot {
    /// A BTF type of the module (`__type(key, T)`).
    Type(TypeId),
    /// A size in bytes only (`__uint(key_size, N)`); 0 for none. The kernel takes a map's
    /// BTF key and value types together or not at all: give both slots a type, or neither.
    Size(u32),
    /// An unsigned integer of this many bytes (1, 2, 4 or 8), its BTF type found or added.
    Uint(u32),
}

impl NewMap {
    /// A map named `name` of type `map_type` with `max_entries` entries and no key or value
    /// yet.
    pub fn new(name: impl Into<String>, map_type: MapType, max_entries: u32) -> NewMap {
        NewMap {
            name: name.into(),
            map_type,
            key: MapSlot::Size(0),
            value: MapSlot::Size(0),
            max_entries,
            flags: 0,
        }
    }

    /// With key `key`.
    pub fn with_key(mut self, key: MapSlot) -> NewMap {
        self.key = key;
        self
    }

    /// With value `value`.
    pub fn with_value(mut self, value: MapSlot) -> NewMap {
        self.value = value;
        self
    }

    /// With flags `flags`.
    pub fn with_flags(mut self, flags: u32) -> NewMap {
        self.flags = flags;
        self
    }
}

/// What [`Module::add_function_with_btf`] made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewFunction {
    /// The function (with an empty body).
    pub func: FuncId,
    /// Its synthetic source line: stamp it on its instructions (a
    /// [`FuncCursor`](super::FuncCursor) does with [`with_line`](super::FuncCursor::with_line)).
    pub line: LineId,
}

fn btf_err(what: String) -> impl FnOnce(crate::btf::BtfError) -> IrError {
    move |source| IrError::Btf { what, source }
}

impl Module {
    /// How many parameters function `func` takes, from its BTF `FUNC_PROTO` (`None` without
    /// one; a variadic tail is not counted, and more than five count as five): its arguments
    /// arrive in R1..=R(n).
    pub fn n_params(&self, func: FuncId) -> Option<usize> {
        let ty = self.try_function(func).ok()?.btf_func?;
        crate::analysis::callgraph::proto_params(self.btf.as_ref()?, ty).map(usize::from)
    }

    /// The module's BTF, created empty if it has none.
    pub fn btf_or_new(&mut self) -> &mut Btf {
        let endian = self.endian;
        self.btf.get_or_insert_with(|| Btf::new(endian))
    }

    /// An unsigned (or signed) integer type of `size` bytes: an `INT` of the module's BTF
    /// with the C name of that size (`unsigned int`, `long long`...), found or added.
    pub fn btf_int(&mut self, size: u32, signed: bool) -> Result<TypeId, IrError> {
        let name = match (size, signed) {
            (1, false) => "unsigned char",
            (1, true) => "signed char",
            (2, false) => "unsigned short",
            (2, true) => "short",
            (4, false) => "unsigned int",
            (4, true) => "int",
            (8, false) => "unsigned long long",
            (8, true) => "long long",
            _ => {
                return Err(IrError::Invalid {
                    what: format!("an integer of {size} bytes"),
                    reason: "BTF integers here have 1, 2, 4 or 8 bytes".into(),
                })
            }
        };
        let btf = self.btf_or_new();
        let found = btf.own_types().find(|(_, t)| {
            matches!(t.kind, TypeKind::Int { size: s, encoding, .. } if s == size && encoding.is_signed() == signed)
                && btf.str(t.name).is_ok_and(|n| n == name)
        });
        if let Some((id, _)) = found {
            return Ok(id);
        }
        let encoding = if signed {
            IntEncoding::SIGNED
        } else {
            IntEncoding::UNSIGNED
        };
        btf.add_int(name, size, encoding, (size * 8) as u8)
            .map_err(btf_err(format!("INT {name}")))
    }

    /// `int (*name)[n]`: how a BTF map definition spells the number `n`.
    fn btf_uint_attr(&mut self, n: u32) -> Result<TypeId, IrError> {
        let int = self.btf_int(4, true)?;
        let btf = self.btf_or_new();
        let arr = btf
            .add_array(int, int, n)
            .map_err(btf_err(format!("ARRAY [{n}]")))?;
        btf.add_ptr(arr).map_err(btf_err("PTR".into()))
    }

    /// The `DATASEC` named `name`, added (empty) if the BTF has none.
    fn datasec(&mut self, name: &str) -> Result<TypeId, IrError> {
        let btf = self.btf_or_new();
        match btf.type_by_name_kind(name, Kind::Datasec) {
            Some(id) => Ok(id),
            None => btf
                .add_datasec(name, 0, &[])
                .map_err(btf_err(format!("DATASEC {name}"))),
        }
    }

    /// Adds a BTF-defined map with its BTF: see the [module documentation](self). A name
    /// already taken by a map is an error.
    pub fn add_btf_map(&mut self, map: &NewMap) -> Result<MapId, IrError> {
        if self.maps().any(|(_, m)| m.name == map.name) {
            return Err(IrError::Invalid {
                what: format!("map {}", map.name),
                reason: "a map of that name exists".into(),
            });
        }
        let mut members: Vec<(&str, TypeId)> = vec![
            ("type", self.btf_uint_attr(map.map_type.0)?),
            ("max_entries", self.btf_uint_attr(map.max_entries)?),
        ];
        let mut sizes = [0u32; 2];
        let mut types = [None; 2];
        for (k, (slot, names)) in [
            (map.key, ("key", "key_size")),
            (map.value, ("value", "value_size")),
        ]
        .into_iter()
        .enumerate()
        {
            let ty = match slot {
                MapSlot::Size(0) => None,
                MapSlot::Size(n) => {
                    sizes[k] = n;
                    members.push((names.1, self.btf_uint_attr(n)?));
                    None
                }
                MapSlot::Uint(n) => Some(self.btf_int(n, false)?),
                MapSlot::Type(t) => Some(t),
            };
            if let Some(t) = ty {
                let btf = self.btf_or_new();
                sizes[k] = btf.size_of(t).map_err(btf_err(format!(
                    "size of the {} type of map {}",
                    names.0, map.name
                )))?;
                let ptr = btf.add_ptr(t).map_err(btf_err("PTR".into()))?;
                members.push((names.0, ptr));
                types[k] = Some(t);
            }
        }
        if map.flags != 0 {
            members.push(("map_flags", self.btf_uint_attr(map.flags)?));
        }
        let new_members: Vec<NewMember<'_>> = members
            .iter()
            .enumerate()
            .map(|(i, &(name, ty))| NewMember::new(name, ty, 64 * i as u32))
            .collect();
        let size = 8 * members.len() as u32;
        let maps_sec = self.datasec(".maps")?;
        let btf = self.btf_or_new();
        let st = btf
            .add_struct("", size, &new_members)
            .map_err(btf_err(format!("STRUCT of map {}", map.name)))?;
        let var = btf
            .add_var(&map.name, st, Linkage::Global)
            .map_err(btf_err(format!("VAR {}", map.name)))?;
        let end = match btf.kind_of(maps_sec) {
            Ok(TypeKind::Datasec { size, .. }) => size,
            _ => 0,
        };
        let offset = end.next_multiple_of(8);
        btf.push_datasec_var(
            maps_sec,
            VarSecinfo {
                ty: var,
                offset,
                size,
            },
        )
        .map_err(btf_err(format!("DATASEC .maps, map {}", map.name)))?;
        Ok(self.add_map(MapDef {
            map_type: map.map_type.0,
            key_size: sizes[0],
            value_size: sizes[1],
            max_entries: map.max_entries,
            flags: map.flags,
            key_type: types[0],
            value_type: types[1],
            btf_var: Some(var),
            ..MapDef::new(map.name.clone(), MapOrigin::Btf)
        }))
    }

    /// Adds a global variable `name` of BTF type `ty` to the data section `section`
    /// (`.data`, `.bss`, `.rodata`, or one of their `.data.*`-style variants; created when the
    /// module has none), initialised with `init` (zeros when empty; must be empty for a
    /// `.bss` section, else as long as the type). Returns the section and the variable's
    /// byte offset, what [`ld_data`](super::build::ld_data) takes.
    pub fn add_global_var(
        &mut self,
        section: &str,
        name: &str,
        ty: TypeId,
        init: &[u8],
    ) -> Result<(DataId, u32), IrError> {
        let what = || format!("variable {name} in {section}");
        let kind = if section.starts_with(".bss") {
            DataKind::Bss
        } else if section.starts_with(".rodata") {
            DataKind::Rodata
        } else if section.starts_with(".data") {
            DataKind::Data
        } else {
            return Err(IrError::Invalid {
                what: what(),
                reason: "a data section is named .data*, .bss* or .rodata*".into(),
            });
        };
        let btf = self.btf_or_new();
        let size = btf
            .size_of(ty)
            .map_err(btf_err(format!("size of {}", what())))?;
        if !init.is_empty() && (kind == DataKind::Bss || init.len() != size as usize) {
            return Err(IrError::Invalid {
                what: what(),
                reason: format!(
                    "{} initial bytes for a {size}-byte variable{}",
                    init.len(),
                    if kind == DataKind::Bss {
                        " in .bss"
                    } else {
                        ""
                    }
                ),
            });
        }
        let align = size.clamp(1, 8).next_power_of_two().min(8);
        let existing = self
            .data_sections()
            .find(|(_, d)| d.name == section)
            .map(|(id, d)| (id, d.vars.iter().any(|v| v.name == name)));
        let data = match existing {
            Some((_, true)) => {
                return Err(IrError::Invalid {
                    what: what(),
                    reason: "a variable of that name exists in the section".into(),
                })
            }
            Some((id, false)) => id,
            None => self.add_data(DataSection {
                name: section.to_owned(),
                kind,
                bytes: Vec::new(),
                align: 8,
                vars: Vec::new(),
                btf_datasec: None,
            }),
        };
        let datasec = match self.data(data).btf_datasec {
            Some(ds) => ds,
            None => {
                let ds = self.datasec(section)?;
                self.data_mut(data).btf_datasec = Some(ds);
                ds
            }
        };
        let d = self.data(data);
        let offset = u32::try_from(d.bytes.len())
            .ok()
            .map(|n| n.next_multiple_of(align))
            .filter(|o| o.checked_add(size).is_some())
            .ok_or_else(|| IrError::Invalid {
                what: what(),
                reason: "the section would grow past 4 GiB".into(),
            })?;
        let btf = self.btf_or_new();
        let var = btf
            .add_var(name, ty, Linkage::Global)
            .map_err(btf_err(format!("VAR {name}")))?;
        btf.push_datasec_var(
            datasec,
            VarSecinfo {
                ty: var,
                offset,
                size,
            },
        )
        .map_err(btf_err(format!("DATASEC {section}")))?;
        let d = self.data_mut(data);
        d.bytes.resize(offset as usize, 0);
        if init.is_empty() {
            d.bytes.resize((offset + size) as usize, 0);
        } else {
            d.bytes.extend_from_slice(init);
        }
        d.align = d.align.max(u64::from(align));
        d.vars.push(DataVar {
            name: name.to_owned(),
            offset,
            size,
            linkage: SymbolLinkage::Global,
        });
        Ok((data, offset))
    }

    /// Adds a function with its BTF: a `FUNC_PROTO` returning `ret` (`None`: `int`) with
    /// `params` (`(name, type)`, at most five), a `FUNC` (global for a program, static
    /// otherwise) and a synthetic source line (`file`, line 1, the text `// name: added by
    /// bpfir`) to stamp on its instructions. The body is empty.
    pub fn add_function_with_btf(
        &mut self,
        function: Function,
        ret: Option<TypeId>,
        params: &[(&str, TypeId)],
        file: &str,
    ) -> Result<NewFunction, IrError> {
        let what = format!("function {}", function.name);
        if params.len() > 5 {
            return Err(IrError::Invalid {
                what,
                reason: format!("{} parameters (eBPF passes at most five)", params.len()),
            });
        }
        if self.function_by_name(&function.name).is_some() {
            return Err(IrError::Invalid {
                what,
                reason: "a function of that name exists".into(),
            });
        }
        let ret = match ret {
            Some(t) => t,
            None => self.btf_int(4, true)?,
        };
        let linkage = if function.is_program || function.linkage == SymbolLinkage::Global {
            Linkage::Global
        } else {
            Linkage::Static
        };
        let text = format!("// {}: added by bpfir", function.name);
        let btf = self.btf_or_new();
        let proto = btf
            .add_func_proto(ret, params)
            .map_err(btf_err(format!("FUNC_PROTO of {what}")))?;
        let func_ty = btf
            .add_func(&function.name, proto, linkage)
            .map_err(btf_err(format!("FUNC {}", function.name)))?;
        let file = btf.add_str(file).map_err(btf_err("a file name".into()))?;
        let text = btf.add_str(&text).map_err(btf_err("a line text".into()))?;
        let line = self.add_line(SourceLine {
            file,
            text,
            line: 1,
            col: 0,
        });
        let mut function = function;
        function.btf_func = Some(func_ty);
        let func = self.add_function(function);
        Ok(NewFunction { func, line })
    }
}
