//! [`arb_module`]: a plain description of a module is drawn first (so proptest shrinks
//! it), then built into a [`Module`] in one pass.

use proptest::prelude::*;

use crate::btf::{Btf, IntEncoding, Linkage, NewMember, TypeId};
use crate::btf_ext::{CoreAccess, CoreReloKind};
use crate::insn::{AluClass, AluOp, CallKind, Insn, JmpClass, JmpOp, Operand, PseudoKind, Reg};
use crate::ir::{
    CoreRelo, FuncId, Function, LineId, MapDef, MapId, MapOrigin, Meta, Module, Ref, SourceLine,
    SymbolLinkage,
};
use crate::Endian;

/// What [`arb_module`] may generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleConfig {
    /// Prefix of every symbol name (functions `{prefix}prog0`, `{prefix}sub1`, the map
    /// `{prefix}map`) and of the source file name `{prefix}.c`.
    pub prefix: String,
    /// Most programs (at least one is always drawn).
    pub max_programs: usize,
    /// Most sub-programs (possibly none).
    pub max_subprograms: usize,
    /// Most items per body (an item is one to six instructions: an ALU operation, a jump,
    /// a call and the re-initialisation of r1-r5, a map load and its overwrite, a CO-RE
    /// `mov`), besides the prologue and the epilogue.
    pub max_items: usize,
    /// Whether a legacy `BPF_MAP_TYPE_ARRAY` map (and `ld_imm64` references to it) may be
    /// drawn.
    pub map: bool,
    /// Whether CO-RE `FIELD_BYTE_OFFSET` relocations on `mov` immediates may be drawn
    /// (against a four-`int` struct `{prefix}s` in the module's BTF). The running kernel
    /// has no such struct: leave this off for modules loaded with user-space CO-RE.
    pub core: bool,
}

impl Default for ModuleConfig {
    fn default() -> Self {
        ModuleConfig {
            prefix: "p_".into(),
            max_programs: 3,
            max_subprograms: 4,
            max_items: 12,
            map: true,
            core: true,
        }
    }
}

/// Registers the generated code uses.
const REGS: [Reg; 6] = [Reg::R0, Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5];
/// Members of the CO-RE struct (four `int`s).
const CORE_MEMBERS: u32 = 4;

/// One item of a body.
#[derive(Clone, Debug)]
enum Item {
    /// `dst op= imm` or `dst op= src` (register of [`REGS`]).
    Alu {
        wide: bool,
        op: AluOp,
        dst: usize,
        src: Result<i32, usize>,
    },
    /// `if dst op imm goto` the first instruction of a later item (selector).
    Jump {
        wide: bool,
        op: JmpOp,
        dst: usize,
        imm: i32,
        target: usize,
    },
    /// A call to a higher-numbered sub-program (selector), then `r1..r5 = imm`.
    Call { callee: usize, reinit: [i32; 5] },
    /// `dst = map ll; dst = 0`.
    MapLoad { dst: usize },
    /// `dst = offsetof(struct s, member)` with a CO-RE relocation.
    Core { dst: usize, member: u32 },
}

/// One function's body.
#[derive(Clone, Debug)]
struct Body {
    prologue: [i32; 6],
    /// Each item with whether its first instruction gets a source line.
    items: Vec<(Item, bool)>,
    ret: i32,
}

/// A whole module.
#[derive(Clone, Debug)]
struct Spec {
    programs: Vec<Body>,
    /// Each sub-program with whether it is global.
    subprograms: Vec<(Body, bool)>,
    map_entries: Option<u32>,
}

fn alu_op() -> impl Strategy<Value = (AluOp, Option<i32>)> {
    // Shifts take an immediate below 32 (valid for both widths); division and modulo a
    // non-zero one. `None`: any immediate or register.
    prop_oneof![
        Just((AluOp::Add, None)),
        Just((AluOp::Sub, None)),
        Just((AluOp::Mul, None)),
        Just((AluOp::Or, None)),
        Just((AluOp::And, None)),
        Just((AluOp::Xor, None)),
        Just((AluOp::Mov, None)),
        (0i32..32).prop_map(|s| (AluOp::Lsh, Some(s))),
        (0i32..32).prop_map(|s| (AluOp::Rsh, Some(s))),
        (0i32..32).prop_map(|s| (AluOp::Arsh, Some(s))),
        (1i32..1000).prop_map(|d| (AluOp::Div, Some(d))),
        (1i32..1000).prop_map(|d| (AluOp::Mod, Some(d))),
    ]
}

fn jmp_op() -> impl Strategy<Value = JmpOp> {
    prop_oneof![
        Just(JmpOp::Eq),
        Just(JmpOp::Ne),
        Just(JmpOp::Gt),
        Just(JmpOp::Ge),
        Just(JmpOp::Lt),
        Just(JmpOp::Le),
        Just(JmpOp::SGt),
        Just(JmpOp::SLt),
        Just(JmpOp::Set),
    ]
}

fn item(config: &ModuleConfig) -> impl Strategy<Value = Item> {
    let alu = (
        any::<bool>(),
        alu_op(),
        0..REGS.len(),
        prop_oneof![(-64i32..64).prop_map(Ok), (0..REGS.len()).prop_map(Err)],
    )
        .prop_map(|(wide, (op, fixed), dst, src)| Item::Alu {
            wide,
            op,
            dst,
            // Division by a register could divide by zero at run time (defined in eBPF,
            // but a reference interpreter would have to model it): fixed immediates only.
            src: fixed.map_or(src, Ok),
        });
    let jump = (any::<bool>(), jmp_op(), 0..REGS.len(), -8i32..8, 0usize..16).prop_map(
        |(wide, op, dst, imm, target)| Item::Jump {
            wide,
            op,
            dst,
            imm,
            target,
        },
    );
    let call = (any::<usize>(), any::<[i8; 5]>()).prop_map(|(callee, r)| Item::Call {
        callee,
        reinit: r.map(i32::from),
    });
    let map_w = u32::from(config.map);
    let core_w = u32::from(config.core);
    prop_oneof![
        6 => alu,
        3 => jump,
        2 => call,
        map_w => (0..REGS.len()).prop_map(|dst| Item::MapLoad { dst }),
        core_w => (0..REGS.len(), 0..CORE_MEMBERS).prop_map(|(dst, member)| Item::Core { dst, member }),
    ]
}

fn body(config: &ModuleConfig) -> impl Strategy<Value = Body> {
    (
        any::<[i8; 6]>(),
        prop::collection::vec(
            (item(config), prop::bool::weighted(0.4)),
            0..=config.max_items,
        ),
        any::<i8>(),
    )
        .prop_map(|(p, items, ret)| Body {
            prologue: p.map(i32::from),
            items,
            ret: i32::from(ret),
        })
}

fn spec(config: &ModuleConfig) -> impl Strategy<Value = Spec> {
    let map = if config.map {
        proptest::option::of(1u32..64).boxed()
    } else {
        Just(None).boxed()
    };
    (
        prop::collection::vec(body(config), 1..=config.max_programs.max(1)),
        prop::collection::vec((body(config), any::<bool>()), 0..=config.max_subprograms),
        map,
    )
        .prop_map(|(programs, subprograms, map_entries)| Spec {
            programs,
            subprograms,
            map_entries,
        })
}

/// A strategy of valid modules; see the [module documentation](super) for what "valid"
/// promises.
///
/// Each program is entry `{prefix}prog{i}` in section `socket`, each sub-program
/// `{prefix}sub{j}` in `.text` (static or global). Every function has a BTF `FUNC` (linkage
/// as its symbol's) of prototype `int (void)`. The module has license `GPL`. Shrinking
/// removes functions and items and simplifies immediates.
pub fn arb_module(config: ModuleConfig) -> impl Strategy<Value = Module> {
    spec(&config).prop_map(move |s| build(&config, &s))
}

/// Types and strings every generated module has.
struct Common {
    func_proto: TypeId,
    core_struct: TypeId,
    file: crate::btf::StrOffset,
}

fn common_btf(btf: &mut Btf, prefix: &str) -> Result<Common, crate::btf::BtfError> {
    let int = btf.add_int("int", 4, IntEncoding::SIGNED, 32)?;
    let func_proto = btf.add_func_proto(int, &[])?;
    let names: Vec<String> = (0..CORE_MEMBERS).map(|k| format!("f{k}")).collect();
    let members: Vec<NewMember<'_>> = names
        .iter()
        .enumerate()
        .map(|(k, n)| NewMember::new(n, int, 32 * k as u32))
        .collect();
    let core_struct = btf.add_struct(&format!("{prefix}s"), 4 * CORE_MEMBERS, &members)?;
    let file = btf.add_str(&format!("{prefix}.c"))?;
    // The code section names, which `.BTF.ext` names its record groups by: present from
    // the start, as in clang's output, so writing the module adds no string.
    btf.add_str("socket")?;
    btf.add_str(".text")?;
    Ok(Common {
        func_proto,
        core_struct,
        file,
    })
}

fn mov(dst: Reg, imm: i32) -> Insn {
    Insn::Alu {
        class: AluClass::Alu64,
        op: AluOp::Mov,
        dst,
        src: Operand::Imm(imm),
    }
}

/// The builder's state while bodies are appended.
struct Builder<'a> {
    m: Module,
    config: &'a ModuleConfig,
    common: Common,
    map: Option<MapId>,
    funcs: Vec<FuncId>,
    next_line: u32,
}

impl Builder<'_> {
    fn line(&mut self, col: u32) -> LineId {
        self.next_line += 1;
        let n = self.next_line;
        let btf = self.m.btf.as_mut().expect("the builder always sets BTF");
        let text = btf
            .add_str(&format!("/* {} line {n} */", self.config.prefix))
            .expect("a short string fits the string table");
        self.m.add_line(SourceLine {
            file: self.common.file,
            text,
            line: n,
            col,
        })
    }

    /// Appends function number `index`'s body.
    fn body(&mut self, index: usize, body: &Body) {
        let f = self.funcs[index];
        let callees = &self.funcs[index + 1..];
        let n_programs = self.m.programs().count();
        // Sub-programs this function may call: those after it (never a program).
        let callees: Vec<FuncId> = callees
            .iter()
            .copied()
            .enumerate()
            .filter(|&(k, _)| index + 1 + k >= n_programs)
            .map(|(_, id)| id)
            .collect();
        // First instruction of each item and of the epilogue, filled as they are
        // appended; jumps are pointed once all exist.
        let mut starts = Vec::with_capacity(body.items.len() + 1);
        let mut jumps = Vec::new();
        let first_line = Some(self.line(0));
        for (k, (&r, &imm)) in REGS.iter().zip(&body.prologue).enumerate() {
            let line = if k == 0 { first_line } else { None };
            self.append(f, mov(r, imm), Meta::new().with_line_opt(line));
        }
        for (k, (item, has_line)) in body.items.iter().enumerate() {
            let line = has_line.then(|| self.line(k as u32 % 64));
            let meta = Meta::new().with_line_opt(line);
            let first = match *item {
                Item::Alu { wide, op, dst, src } => {
                    let class = if wide {
                        AluClass::Alu64
                    } else {
                        AluClass::Alu32
                    };
                    let src = match src {
                        Ok(imm) => Operand::Imm(imm),
                        Err(r) => Operand::Reg(REGS[r]),
                    };
                    let insn = Insn::Alu {
                        class,
                        op,
                        dst: REGS[dst],
                        src,
                    };
                    self.append(f, insn, meta)
                }
                Item::Jump {
                    wide,
                    op,
                    dst,
                    imm,
                    target,
                } => {
                    let class = if wide { JmpClass::Jmp } else { JmpClass::Jmp32 };
                    let insn = Insn::JmpCond {
                        class,
                        op,
                        dst: REGS[dst],
                        src: Operand::Imm(imm),
                        off: 0,
                    };
                    let id = self.append(f, insn, meta);
                    // A later item, or the epilogue.
                    let later = body.items.len() - k;
                    jumps.push((id, k + 1 + target % later));
                    id
                }
                Item::Call { callee, reinit } => {
                    let first = match callees.get(callee % callees.len().max(1)) {
                        Some(&c) => {
                            let call = Insn::Call {
                                kind: CallKind::Local,
                                imm: -1,
                                off: 0,
                            };
                            let meta = meta.clone().with_ref(Ref::Call(c));
                            Some(self.append(f, call, meta))
                        }
                        None => None,
                    };
                    // The call clobbers r1-r5; without a callee this is just the moves.
                    let mut first = first;
                    for (k, (&r, &imm)) in REGS[1..].iter().zip(&reinit).enumerate() {
                        let meta = if first.is_none() && k == 0 {
                            meta.clone()
                        } else {
                            Meta::default()
                        };
                        let id = self.append(f, mov(r, imm), meta);
                        first.get_or_insert(id);
                    }
                    first.expect("five moves were appended")
                }
                Item::MapLoad { dst } => match self.map {
                    Some(map) => {
                        let ld = Insn::LdImm64 {
                            kind: PseudoKind::None,
                            dst: REGS[dst],
                            imm: 0,
                        };
                        let meta = meta.with_ref(Ref::Map(map));
                        let id = self.append(f, ld, meta);
                        // A map pointer may not take part in arithmetic: overwrite it.
                        self.append(f, mov(REGS[dst], 0), Meta::default());
                        id
                    }
                    None => self.append(f, mov(REGS[dst], 0), meta),
                },
                Item::Core { dst, member } => {
                    let access_str = self.access_str(member);
                    let core = self.m.add_core_relo(CoreRelo {
                        ty: self.common.core_struct,
                        access_str,
                        access: CoreAccess::from_indices(vec![0, member])
                            .expect("a two-component access is valid"),
                        kind: CoreReloKind::FieldByteOffset,
                    });
                    let meta = meta.with_core(core);
                    self.append(f, mov(REGS[dst], 4 * member as i32), meta)
                }
            };
            starts.push(first);
        }
        let ret = self.append(f, mov(Reg::R0, body.ret), Meta::default());
        starts.push(ret);
        self.append(f, Insn::Exit, Meta::default());
        for (jump, target) in jumps {
            self.m
                .set_reference(jump, Some(Ref::Jump(starts[target])))
                .expect("the builder's own ids");
        }
    }

    fn access_str(&mut self, member: u32) -> crate::btf::StrOffset {
        let btf = self.m.btf.as_mut().expect("the builder always sets BTF");
        btf.add_str(&format!("0:{member}"))
            .expect("a short string fits the string table")
    }

    fn append(&mut self, f: FuncId, insn: Insn, meta: Meta) -> crate::ir::InsnId {
        self.m
            .append(f, insn, meta)
            .expect("appending to a function cannot fail")
    }
}

/// Builds the module `s` describes.
fn build(config: &ModuleConfig, s: &Spec) -> Module {
    let mut m = Module::new(Endian::Little);
    m.license = Some("GPL".into());
    let mut btf = Btf::new(Endian::Little);
    let common = common_btf(&mut btf, &config.prefix).expect("a handful of types fits BTF");
    let prefix = &config.prefix;
    let mut funcs = Vec::new();
    let mut add = |m: &mut Module, btf: &mut Btf, name: String, section: &str, global: bool| {
        let linkage = if global {
            Linkage::Global
        } else {
            Linkage::Static
        };
        let ty = btf
            .add_func(&name, common.func_proto, linkage)
            .expect("a FUNC of an existing prototype is valid");
        let mut f = Function::new(name, section, section != ".text");
        f.linkage = if global {
            SymbolLinkage::Global
        } else {
            SymbolLinkage::Static
        };
        f.btf_func = Some(ty);
        funcs.push(m.add_function(f));
    };
    for i in 0..s.programs.len() {
        add(&mut m, &mut btf, format!("{prefix}prog{i}"), "socket", true);
    }
    for (j, (_, global)) in s.subprograms.iter().enumerate() {
        add(
            &mut m,
            &mut btf,
            format!("{prefix}sub{j}"),
            ".text",
            *global,
        );
    }
    m.btf = Some(btf);
    let map = s.map_entries.map(|max_entries| {
        m.add_map(MapDef {
            map_type: 2,
            key_size: 4,
            value_size: 8,
            max_entries,
            ..MapDef::new(format!("{prefix}map"), MapOrigin::Legacy)
        })
    });
    let mut b = Builder {
        m,
        config,
        common,
        map,
        funcs,
        next_line: 0,
    };
    let bodies = s
        .programs
        .iter()
        .chain(s.subprograms.iter().map(|(b, _)| b));
    for (index, body) in bodies.enumerate() {
        b.body(index, body);
    }
    b.m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::{lower, Bindings};
    use proptest::test_runner::{Config, TestRunner};

    #[test]
    fn generated_modules_lower_with_a_line_at_every_function_start() {
        let mut runner = TestRunner::new(Config {
            cases: 32,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&arb_module(ModuleConfig::default()), |m| {
                let mut bindings = Bindings::default();
                for (id, _) in m.maps() {
                    bindings.maps.insert(id, 3);
                }
                prop_assert!(m.programs().count() >= 1);
                for (f, func) in m.functions() {
                    let first = func.first_insn().unwrap();
                    prop_assert!(m.line_of(first).is_some());
                    prop_assert_eq!(m.insn(func.last_insn().unwrap()), &Insn::Exit);
                    // Calls go to higher-numbered sub-programs only.
                    for id in m.func_insns(f) {
                        if let Some(Ref::Call(c)) = m.reference(id) {
                            prop_assert!(c.index() > f.index());
                            prop_assert!(!m.function(c).is_program);
                        }
                    }
                }
                for (p, _) in m.programs() {
                    let l = lower(&m, p, &bindings).unwrap();
                    prop_assert_eq!(l.func_info.len(), l.functions.len());
                }
                Ok(())
            })
            .unwrap();
    }
}
