//! The metadata an instruction is created with ([`Meta`]) and the origin tags that name the
//! pass which inserted an instruction ([`Origin`]).
//!
//! [`Meta`] is what [`Module::create_insn`](super::Module::create_insn) takes and
//! [`Module::meta`](super::Module::meta) returns: one value per side table, so a pass that
//! copies an instruction copies all of its metadata. It is `#[non_exhaustive]`: build it with
//! [`Meta::new`] and the `with_*` methods, so a new side table does not break every caller.
//!
//! An origin is interned by pass name ([`Module::add_origin`](super::Module::add_origin)):
//! the same name always gives the same [`OriginId`], so tagging costs one id per instruction.
//! Origins are kept by the linker (re-interned in the linked module) and by lowering's
//! provenance; they are dropped by the ELF writer, since an object file has no place for them.

use super::{CoreId, LineId, Ref};

/// Handle of an origin tag.
pub type OriginId = super::Id<Origin>;

/// Where an inserted instruction comes from: the pass that created it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Origin {
    /// The pass's name, as it gave it to [`Module::add_origin`](super::Module::add_origin).
    pub pass: String,
}

impl Origin {
    /// An origin naming `pass`.
    pub fn new(pass: impl Into<String>) -> Origin {
        Origin { pass: pass.into() }
    }
}

/// The metadata an instruction is created with: one optional value per side table.
///
/// ```
/// use bpfir::ir::{Meta, Ref};
/// # let mut m = bpfir::ir::Module::new(bpfir::Endian::Little);
/// # let f = m.add_function(bpfir::ir::Function::new("f", ".text", false));
/// let meta = Meta::new().with_ref(Ref::Call(f));
/// assert_eq!(meta.reference, Some(Ref::Call(f)));
/// assert_eq!(meta.line, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Meta {
    /// Symbolic reference (jump target, callee, map, ...).
    pub reference: Option<Ref>,
    /// Source line.
    pub line: Option<LineId>,
    /// CO-RE relocation.
    pub core: Option<CoreId>,
    /// The pass that inserted the instruction (`None` for what the compiler emitted).
    pub origin: Option<OriginId>,
}

impl Meta {
    /// No metadata.
    pub fn new() -> Meta {
        Meta::default()
    }

    /// With the symbolic reference `r`.
    pub fn with_ref(mut self, r: Ref) -> Meta {
        self.reference = Some(r);
        self
    }

    /// With the source line `line`.
    pub fn with_line(mut self, line: LineId) -> Meta {
        self.line = Some(line);
        self
    }

    /// With the CO-RE relocation `core`.
    pub fn with_core(mut self, core: CoreId) -> Meta {
        self.core = Some(core);
        self
    }

    /// With the origin tag `origin`.
    pub fn with_origin(mut self, origin: OriginId) -> Meta {
        self.origin = Some(origin);
        self
    }

    /// With the symbolic reference `r`, if any (replacing the current one either way).
    pub fn with_ref_opt(mut self, r: Option<Ref>) -> Meta {
        self.reference = r;
        self
    }

    /// With the source line `line`, if any (replacing the current one either way).
    pub fn with_line_opt(mut self, line: Option<LineId>) -> Meta {
        self.line = line;
        self
    }

    /// With the CO-RE relocation `core`, if any (replacing the current one either way).
    pub fn with_core_opt(mut self, core: Option<CoreId>) -> Meta {
        self.core = core;
        self
    }

    /// With the origin `origin`, if any (replacing the current one either way).
    pub fn with_origin_opt(mut self, origin: Option<OriginId>) -> Meta {
        self.origin = origin;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::Insn;
    use crate::ir::{Function, MetaChoice, Module};
    use crate::Endian;

    #[test]
    fn origins_are_interned_and_stamped_by_create_insn() {
        let mut m = Module::new(Endian::Little);
        let a = m.add_origin("count");
        let b = m.add_origin("splice");
        assert_ne!(a, b);
        assert_eq!(m.add_origin("count"), a);
        assert_eq!(m.origin(a).unwrap().pass, "count");
        assert_eq!(m.origins().len(), 2);

        let f = m.add_function(Function::new("f", ".text", false));
        let tagged = m.append(f, Insn::Exit, Meta::new().with_origin(a)).unwrap();
        let plain = m.append(f, Insn::Exit, Meta::new()).unwrap();
        assert_eq!(m.insn_origin(tagged), Some(a));
        assert_eq!(m.insn_origin(plain), None);
        assert_eq!(m.meta(tagged).origin, Some(a));

        // Replacing keeps or replaces the origin like every other piece of metadata.
        m.replace(tagged, Insn::Exit, MetaChoice::Keep).unwrap();
        assert_eq!(m.insn_origin(tagged), Some(a));
        let replaced = Meta::new().with_origin(b);
        m.replace(tagged, Insn::Exit, MetaChoice::Replace(replaced))
            .unwrap();
        assert_eq!(m.insn_origin(tagged), Some(b));
        m.set_insn_origin(tagged, None).unwrap();
        assert_eq!(m.insn_origin(tagged), None);
    }

    #[test]
    fn an_origin_of_another_module_is_none() {
        let mut other = Module::new(Endian::Little);
        other.add_origin("x");
        let foreign = other.add_origin("y");
        let m = Module::new(Endian::Little);
        assert_eq!(m.origin(foreign), None);
    }
}
