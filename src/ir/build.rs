//! Instructions together with their symbolic reference ([`Built`]): jumps with their target,
//! calls with their callee, map and data loads with their map or section, so the two can
//! never disagree. Everything of [`crate::insn::build`] (instructions without a reference) is
//! re-exported here, so `use bpfir::ir::build::*;` brings every constructor.
//!
//! A [`Built`] goes into a function through a [`FuncCursor`](super::FuncCursor) (which also
//! stamps the source line and origin) or [`Module::append_built`](super::Module::append_built)
//! / [`Module::insert_built_before`](super::Module::insert_built_before). The raw offset,
//! immediate or fd of the instruction stays zero: lowering and the writer fill it from the
//! reference.
//!
//! Costs: none; every constructor is a struct literal.
//!
//! ```
//! use bpfir::abi::Helper;
//! use bpfir::insn::Reg::*;
//! use bpfir::ir::build::*;
//! use bpfir::ir::{Function, Module, Ref};
//!
//! let mut m = Module::new(bpfir::Endian::Little);
//! let f = m.add_function(Function::new("f", ".text", false));
//! let exit = m.append_built(f, exit()).unwrap();
//! let jump = m.insert_built_before(exit, jeq_imm(R1, 0, exit)).unwrap();
//! assert_eq!(m.reference(jump), Some(Ref::Jump(exit)));
//! let call = call_helper(Helper::KtimeGetNs);
//! assert_eq!(Built::from(call).reference, None);
//! ```

pub use crate::insn::build::*;

use super::{DataId, ExternId, FuncId, InsnId, MapId, Ref};
use crate::insn::{CallKind, Insn, JmpClass, JmpOp, Operand, PseudoKind, Reg};

/// An instruction and the symbolic reference it is created with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Built {
    /// The instruction (raw offsets, immediates and fds that the reference stands for are
    /// zero).
    pub insn: Insn,
    /// Its reference.
    pub reference: Option<Ref>,
}

impl From<Insn> for Built {
    fn from(insn: Insn) -> Built {
        Built {
            insn,
            reference: None,
        }
    }
}

fn with(insn: Insn, r: Ref) -> Built {
    Built {
        insn,
        reference: Some(r),
    }
}

/// `if dst op src goto target` (`class` says 64 or 32 bits).
pub fn jmp_cond(class: JmpClass, op: JmpOp, dst: Reg, src: Operand, target: InsnId) -> Built {
    let insn = Insn::JmpCond {
        class,
        op,
        dst,
        src,
        off: 0,
    };
    with(insn, Ref::Jump(target))
}

/// Defines the four constructors of one condition: 64/32 bits, immediate/register.
macro_rules! jumps {
    ($($op:ident: $i64:ident $r64:ident $i32:ident $r32:ident, $what:literal;)*) => {$(
        #[doc = concat!("`if dst ", $what, " imm goto target` on 64 bits.")]
        pub fn $i64(dst: Reg, imm: i32, target: InsnId) -> Built {
            jmp_cond(JmpClass::Jmp, JmpOp::$op, dst, Operand::Imm(imm), target)
        }
        #[doc = concat!("`if dst ", $what, " src goto target` on 64 bits.")]
        pub fn $r64(dst: Reg, src: Reg, target: InsnId) -> Built {
            jmp_cond(JmpClass::Jmp, JmpOp::$op, dst, Operand::Reg(src), target)
        }
        #[doc = concat!("`if wdst ", $what, " imm goto target` on 32 bits.")]
        pub fn $i32(dst: Reg, imm: i32, target: InsnId) -> Built {
            jmp_cond(JmpClass::Jmp32, JmpOp::$op, dst, Operand::Imm(imm), target)
        }
        #[doc = concat!("`if wdst ", $what, " wsrc goto target` on 32 bits.")]
        pub fn $r32(dst: Reg, src: Reg, target: InsnId) -> Built {
            jmp_cond(JmpClass::Jmp32, JmpOp::$op, dst, Operand::Reg(src), target)
        }
    )*};
}

jumps! {
    Eq: jeq_imm jeq_reg jeq32_imm jeq32_reg, "==";
    Ne: jne_imm jne_reg jne32_imm jne32_reg, "!=";
    Gt: jgt_imm jgt_reg jgt32_imm jgt32_reg, "> (unsigned)";
    Ge: jge_imm jge_reg jge32_imm jge32_reg, ">= (unsigned)";
    Lt: jlt_imm jlt_reg jlt32_imm jlt32_reg, "< (unsigned)";
    Le: jle_imm jle_reg jle32_imm jle32_reg, "<= (unsigned)";
    SGt: jsgt_imm jsgt_reg jsgt32_imm jsgt32_reg, "s>";
    SGe: jsge_imm jsge_reg jsge32_imm jsge32_reg, "s>=";
    SLt: jslt_imm jslt_reg jslt32_imm jslt32_reg, "s<";
    SLe: jsle_imm jsle_reg jsle32_imm jsle32_reg, "s<=";
    Set: jset_imm jset_reg jset32_imm jset32_reg, "&";
}

/// `goto target` (16-bit offset).
pub fn ja(target: InsnId) -> Built {
    with(Insn::Ja { off: 0 }, Ref::Jump(target))
}

/// `gotol target` (32-bit offset).
pub fn gotol(target: InsnId) -> Built {
    with(Insn::Gotol { imm: 0 }, Ref::Jump(target))
}

/// `may_goto target`: falls through until the kernel's loop budget runs out, then jumps.
pub fn may_goto(target: InsnId) -> Built {
    with(Insn::MayGoto { off: 0 }, Ref::Jump(target))
}

/// `call func`: a bpf-to-bpf call.
pub fn call(func: FuncId) -> Built {
    let insn = Insn::Call {
        kind: CallKind::Local,
        imm: 0,
        off: 0,
    };
    with(insn, Ref::Call(func))
}

/// `call ext`: a call to an extern function (a kfunc, or a function of another object that
/// linking resolves).
pub fn call_kfunc(ext: ExternId) -> Built {
    let insn = Insn::Call {
        kind: CallKind::Kfunc,
        imm: 0,
        off: 0,
    };
    with(insn, Ref::Extern(ext))
}

/// `dst = func ll`: the address of `func`, for a callback (`bpf_loop`, `bpf_for_each_map_elem`).
pub fn ld_func_addr(dst: Reg, func: FuncId) -> Built {
    ld_pseudo(dst, Ref::FuncAddr(func))
}

/// `dst = map ll`: a map pointer, for the map helpers.
pub fn ld_map(dst: Reg, map: MapId) -> Built {
    ld_pseudo(dst, Ref::Map(map))
}

/// `dst = &data[offset] ll`: the address of a byte of a global data section.
pub fn ld_data(dst: Reg, data: DataId, offset: u32) -> Built {
    ld_pseudo(dst, Ref::Data { data, offset })
}

/// The same as [`ld_data`]: libbpf's name (`BPF_PSEUDO_MAP_VALUE`) for it.
pub fn ld_map_value(dst: Reg, data: DataId, offset: u32) -> Built {
    ld_data(dst, data, offset)
}

/// `dst = ext ll`: the address or value of an extern (a ksym or a kconfig value).
pub fn ld_extern(dst: Reg, ext: ExternId) -> Built {
    ld_pseudo(dst, Ref::Extern(ext))
}

/// An `ld_imm64` with `src_reg` 0, as clang leaves a relocated one: lowering sets the pseudo
/// kind from the reference.
fn ld_pseudo(dst: Reg, r: Ref) -> Built {
    let insn = Insn::LdImm64 {
        kind: PseudoKind::None,
        dst,
        imm: 0,
    };
    with(insn, r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::Helper;
    use crate::insn::Reg::*;
    use crate::ir::{Function, MapDef, Module};
    use crate::Endian;

    #[test]
    fn references_come_with_their_instructions() {
        let mut m = Module::new(Endian::Little);
        let f = m.add_function(Function::new("f", ".text", false));
        let exit = m.append_built(f, exit()).unwrap();
        for b in [
            jeq_imm(R1, 0, exit),
            jsle32_reg(R1, R2, exit),
            jset_imm(R3, 4, exit),
            ja(exit),
            gotol(exit),
            may_goto(exit),
        ] {
            assert!(b.insn.is_jump());
            assert_eq!(b.reference, Some(Ref::Jump(exit)));
        }
        assert_eq!(call(f).reference, Some(Ref::Call(f)));
        assert_eq!(ld_func_addr(R2, f).reference, Some(Ref::FuncAddr(f)));
        assert!(matches!(
            ld_map(R1, m.any_id::<MapDef>(0)).insn,
            Insn::LdImm64 {
                kind: PseudoKind::None,
                dst: R1,
                ..
            }
        ));
        let d: DataId = m.any_id(2);
        assert_eq!(
            ld_data(R1, d, 8).reference,
            Some(Ref::Data { data: d, offset: 8 })
        );
        assert_eq!(ld_data(R1, d, 8), ld_map_value(R1, d, 8));
        let plain: Built = call_helper(Helper::MapLookupElem).into();
        assert_eq!(plain.reference, None);
    }
}
