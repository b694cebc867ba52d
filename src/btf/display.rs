//! Text form of BTF types, in the format of `bpftool btf dump file X` (raw mode), so the
//! output can be compared with bpftool's line by line.

use std::fmt;

use super::types::raw_id;
use super::{Btf, Linkage, StrOffset, TypeId, TypeKind};

/// Displays one type like `bpftool btf dump` does: `[id] KIND 'name' ...`, with members,
/// parameters, enumerators and section variables on following tab-indented lines.
pub struct TypeDisplay<'a> {
    btf: &'a Btf,
    id: TypeId,
}

impl Btf {
    /// A displayable view of type `id` in bpftool's format.
    ///
    /// ```
    /// use bpfir::btf::{Btf, IntEncoding};
    /// let mut btf = Btf::new(bpfir::Endian::Little);
    /// let int = btf.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    /// assert_eq!(
    ///     btf.display_type(int).to_string(),
    ///     "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED"
    /// );
    /// ```
    pub fn display_type(&self, id: TypeId) -> TypeDisplay<'_> {
        TypeDisplay { btf: self, id }
    }
}

struct Name<'a>(&'a Btf, StrOffset);

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.str(self.1) {
            Ok("") => f.write_str("'(anon)'"),
            Ok(s) => write!(f, "'{s}'"),
            Err(_) => f.write_str("'(invalid)'"),
        }
    }
}

fn linkage(l: Linkage) -> &'static str {
    match l {
        Linkage::Static => "static",
        Linkage::Global => "global",
        Linkage::Extern => "extern",
    }
}

impl fmt::Display for TypeDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let btf = self.btf;
        let Some(t) = btf.get(self.id) else {
            return write!(f, "[{}] (no such type)", raw_id(self.id));
        };
        let id = raw_id(self.id);
        let name = Name(btf, t.name);
        let kind = t.kind.kind();
        write!(f, "[{id}] {kind} {name}")?;
        match t.kind {
            TypeKind::Void => Ok(()),
            TypeKind::Int {
                size,
                encoding,
                offset,
                bits,
            } => write!(
                f,
                " size={size} bits_offset={offset} nr_bits={bits} encoding={encoding}"
            ),
            TypeKind::Ptr(t)
            | TypeKind::Typedef(t)
            | TypeKind::Volatile(t)
            | TypeKind::Const(t)
            | TypeKind::Restrict(t)
            | TypeKind::TypeTag { ty: t, .. } => write!(f, " type_id={}", raw_id(t)),
            TypeKind::Array { elem, index, len } => write!(
                f,
                " type_id={} index_type_id={} nr_elems={len}",
                raw_id(elem),
                raw_id(index)
            ),
            TypeKind::Struct { size, .. } | TypeKind::Union { size, .. } => {
                let members = btf.members(self.id);
                write!(f, " size={size} vlen={}", members.len())?;
                for m in members {
                    write!(
                        f,
                        "\n\t{} type_id={} bits_offset={}",
                        Name(btf, m.name),
                        raw_id(m.ty),
                        m.bit_offset
                    )?;
                    if m.bitfield_size != 0 {
                        write!(f, " bitfield_size={}", m.bitfield_size)?;
                    }
                }
                Ok(())
            }
            TypeKind::Enum { size, signed, .. } | TypeKind::Enum64 { size, signed, .. } => {
                let is64 = matches!(t.kind, TypeKind::Enum64 { .. });
                let values = btf.enum_values(self.id);
                let enc = if signed { "SIGNED" } else { "UNSIGNED" };
                write!(f, " encoding={enc} size={size} vlen={}", values.len())?;
                for v in values {
                    let val = v.value(signed, is64);
                    let suffix = match (is64, signed) {
                        (false, _) => "",
                        (true, true) => "LL",
                        (true, false) => "ULL",
                    };
                    write!(f, "\n\t{} val={val}{suffix}", Name(btf, v.name))?;
                }
                Ok(())
            }
            TypeKind::Fwd { union } => {
                write!(f, " fwd_kind={}", if union { "union" } else { "struct" })
            }
            TypeKind::Func { proto, linkage: l } => {
                write!(f, " type_id={} linkage={}", raw_id(proto), linkage(l))
            }
            TypeKind::FuncProto { ret, .. } => {
                let params = btf.params(self.id);
                write!(f, " ret_type_id={} vlen={}", raw_id(ret), params.len())?;
                for p in params {
                    write!(f, "\n\t{} type_id={}", Name(btf, p.name), raw_id(p.ty))?;
                }
                Ok(())
            }
            TypeKind::Var { ty, linkage: l } => {
                write!(f, " type_id={}, linkage={}", raw_id(ty), linkage(l))
            }
            TypeKind::Datasec { size, .. } => {
                let vars = btf.datasec_vars(self.id);
                write!(f, " size={size} vlen={}", vars.len())?;
                for v in vars {
                    write!(
                        f,
                        "\n\ttype_id={} offset={} size={}",
                        raw_id(v.ty),
                        v.offset,
                        v.size
                    )?;
                    if let Some(vt) = btf.get(v.ty) {
                        write!(f, " ({} {})", vt.kind.kind(), Name(btf, vt.name))?;
                    }
                }
                Ok(())
            }
            TypeKind::Float { size } => write!(f, " size={size}"),
            TypeKind::DeclTag {
                ty, component_idx, ..
            } => write!(f, " type_id={} component_idx={component_idx}", raw_id(ty)),
        }
    }
}
