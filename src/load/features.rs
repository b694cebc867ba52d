//! BTF features of the running kernel, and the object's BTF rewritten for a kernel that
//! lacks some: what libbpf, cilium/ebpf and aya do so that one object loads on older
//! kernels.
//!
//! [`BtfFeatures::probe`] loads one tiny BTF blob per feature (`BPF_BTF_LOAD`, no program);
//! [`sanitize_btf_features`] replaces what the kernel would refuse with what it accepts and
//! that keeps every type id and size:
//!
//! | missing            | becomes                                              |
//! |--------------------|------------------------------------------------------|
//! | global functions   | `FUNC` linkage global → static                       |
//! | `DECL_TAG`         | a nameless 1-byte `INT`                               |
//! | `TYPE_TAG`         | `CONST` of the same type                              |
//! | `ENUM64`           | a nameless `UNION` of the same size, without members  |
//! | `FLOAT`            | a `STRUCT` of the same size, without members          |
//!
//! Costs: probing is five small `BPF_BTF_LOAD`s, once per load that asks for it;
//! sanitizing is one pass over the types.

use crate::btf::{Btf, BtfError, IntEncoding, Items, Linkage, StrOffset, TypeKind};
use crate::sys::{self, LogLevel};

/// Which BTF kinds and flags the kernel accepts (all of them on current kernels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BtfFeatures {
    /// `BTF_FUNC_GLOBAL` linkage of `FUNC`s (5.6).
    pub func_global: bool,
    /// `BTF_KIND_FLOAT` (5.13).
    pub float: bool,
    /// `BTF_KIND_DECL_TAG` (5.16).
    pub decl_tag: bool,
    /// `BTF_KIND_TYPE_TAG` (5.17).
    pub type_tag: bool,
    /// `BTF_KIND_ENUM64` (6.0).
    pub enum64: bool,
}

impl Default for BtfFeatures {
    /// Every feature (a current kernel).
    fn default() -> Self {
        BtfFeatures {
            func_global: true,
            float: true,
            decl_tag: true,
            type_tag: true,
            enum64: true,
        }
    }
}

/// A blob holding `int` and whatever `add` puts after it.
fn probe_blob(add: impl FnOnce(&mut Btf, crate::btf::TypeId) -> Result<(), BtfError>) -> Vec<u8> {
    let mut btf = Btf::new(crate::Endian::native());
    let built = btf
        .add_int("int", 4, IntEncoding::SIGNED, 32)
        .and_then(|int| add(&mut btf, int));
    match built {
        Ok(()) => btf.to_bytes(),
        // Building these few types cannot fail; an empty blob probes as "missing".
        Err(_) => Vec::new(),
    }
}

fn accepted(blob: &[u8]) -> bool {
    !blob.is_empty() && sys::load_btf(blob, LogLevel::Off).is_ok()
}

impl BtfFeatures {
    /// Asks the running kernel, one small BTF per feature.
    pub fn probe() -> BtfFeatures {
        BtfFeatures {
            func_global: accepted(&probe_blob(|b, int| {
                let proto = b.add_func_proto(int, &[("x", int)])?;
                b.add_func("f", proto, Linkage::Global).map(drop)
            })),
            float: accepted(&probe_blob(|b, _| {
                b.add_type("float", TypeKind::Float { size: 4 }).map(drop)
            })),
            decl_tag: accepted(&probe_blob(|b, int| {
                let var = b.add_var("v", int, Linkage::Global)?;
                b.add_type(
                    "tag",
                    TypeKind::DeclTag {
                        ty: var,
                        component_idx: -1,
                        attribute: false,
                    },
                )
                .map(drop)
            })),
            type_tag: accepted(&probe_blob(|b, int| {
                let tag = b.add_type(
                    "tag",
                    TypeKind::TypeTag {
                        ty: int,
                        attribute: false,
                    },
                )?;
                b.add_ptr(tag).map(drop)
            })),
            enum64: accepted(&probe_blob(|b, _| {
                b.add_enum("e", 8, false, &[("big", 1 << 40)]).map(drop)
            })),
        }
    }

    /// The running kernel's features, probed once per process; every feature when `bpf()`
    /// is not permitted here (nothing to ask, and nothing to load either).
    pub fn running_kernel() -> BtfFeatures {
        static FEATURES: std::sync::OnceLock<BtfFeatures> = std::sync::OnceLock::new();
        *FEATURES.get_or_init(|| match sys::probe() {
            Ok(()) => BtfFeatures::probe(),
            Err(_) => BtfFeatures::default(),
        })
    }

    /// True when the kernel accepts everything bpfir emits.
    pub fn all(&self) -> bool {
        *self == BtfFeatures::default()
    }
}

/// Rewrites `btf` (in place) for a kernel with only `features`: what the kernel would
/// refuse becomes what it accepts, keeping every type id and size (global functions become
/// static; `DECL_TAG` a nameless 1-byte `INT`; `TYPE_TAG` a `CONST`; `ENUM64` a nameless
/// `UNION` and `FLOAT` a `STRUCT` of the same size, without members).
pub fn sanitize_btf_features(btf: &mut Btf, features: &BtfFeatures) -> Result<(), BtfError> {
    if features.all() {
        return Ok(());
    }
    let ids: Vec<_> = btf.own_types().map(|(id, _)| id).collect();
    for id in ids {
        let mut t = btf.ty_mut(id)?;
        let new = match t.kind {
            TypeKind::Func {
                proto,
                linkage: Linkage::Global,
            } if !features.func_global => Some((
                t.name,
                TypeKind::Func {
                    proto,
                    linkage: Linkage::Static,
                },
            )),
            TypeKind::DeclTag { .. } if !features.decl_tag => Some((
                StrOffset::EMPTY,
                TypeKind::Int {
                    size: 1,
                    encoding: IntEncoding::UNSIGNED,
                    offset: 0,
                    bits: 8,
                },
            )),
            TypeKind::TypeTag { ty, .. } if !features.type_tag => {
                Some((StrOffset::EMPTY, TypeKind::Const(ty)))
            }
            TypeKind::Enum64 { size, .. } if !features.enum64 => Some((
                StrOffset::EMPTY,
                TypeKind::Union {
                    size,
                    members: Items::new(0, 0, 0),
                    bitfield_encoding: false,
                },
            )),
            TypeKind::Float { size } if !features.float => Some((
                t.name,
                TypeKind::Struct {
                    size,
                    members: Items::new(0, 0, 0),
                    bitfield_encoding: false,
                },
            )),
            _ => None,
        };
        if let Some((name, kind)) = new {
            t.name = name;
            t.kind = kind;
        }
    }
    Ok(())
}
