//! Generated worst cases of the paths that untrusted input can make expensive (issue 11):
//! each must be refused or finish in time linear in its input. The bounds are documented in
//! the modules (`read` for `.maps`, `btf::dedup`, `btf::lookup`, `co_re`); these tests build
//! the inputs that once took minutes or gigabytes and check the result, never the time
//! (tests do not assert timings: a regression shows as a test that no longer finishes).

use bpfir::btf::{Btf, Kind};
use bpfir::elf::ElfObject;
use bpfir::ir::Module;

fn testdata(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name),
    )
    .unwrap()
}

/// File offset of the `.BTF` section of `bytes`.
fn btf_offset(bytes: &[u8]) -> usize {
    let elf = ElfObject::parse(bytes).unwrap();
    let data = elf.section(".BTF").unwrap().data;
    data.as_ptr() as usize - bytes.as_ptr() as usize
}

/// Patches the size (or offset) of the `.maps` variable `var` in the file's BTF wire bytes.
fn patch_maps_var(bytes: &mut [u8], var: &str, field: usize, value: u32) {
    let elf = ElfObject::parse(bytes).unwrap();
    let btf = Btf::parse(elf.section(".BTF").unwrap().data).unwrap();
    let datasec = btf.type_by_name_kind(".maps", Kind::Datasec).unwrap();
    let v = btf
        .datasec_vars(datasec)
        .iter()
        .find(|v| btf.name(v.ty).unwrap() == var)
        .unwrap();
    // The secinfo as clang wrote it: type id, offset 0 (the loader fills it in), size.
    let le = |x: u32| x.to_le_bytes();
    let mut wire = Vec::new();
    wire.extend(le(btf.wire_id(v.ty).0));
    wire.extend(le(0));
    wire.extend(le(v.size));
    let start = btf_offset(bytes);
    let at = bytes[start..]
        .windows(12)
        .position(|w| w == wire)
        .expect("secinfo found")
        + start;
    bytes[at + 4 * field..at + 4 * field + 4].copy_from_slice(&le(value));
}

/// Issue 11, bug 1: a `.maps` variable whose BTF size (or offset) lies past the real section
/// is refused by the reader, so the writer (and `bpfir link`) never lays out what the BTF
/// claims: one changed 4-byte size once made a 537 MB object.
#[test]
fn maps_variables_outside_the_section_are_refused() {
    let good = testdata("maps.bpfel.o");
    let m = Module::read(&good).unwrap();
    let written = bpfir::write::write_object(&m).unwrap();
    assert!(written.len() < 4 * good.len());

    // The size in BTF, then the offset (taken from the symbol, as loaders do).
    let mut bad = vec![good.clone(), good.clone(), good.clone()];
    patch_maps_var(&mut bad[0], "array", 2, 0x2000_0000);
    patch_maps_var(&mut bad[1], "array", 2, u32::MAX);
    patch_symbol_value(&mut bad[2], "array", 0xffff_0000);
    for bad in bad {
        let err = Module::read(&bad)
            .expect_err("the variable lies outside .maps")
            .to_string();
        assert!(err.contains(".maps"), "{err}");
        assert!(err.contains("outside the section"), "{err}");
    }
}

/// Sets `st_value` of symbol `name` (an `Elf64_Sym` of a little-endian object).
fn patch_symbol_value(bytes: &mut [u8], name: &str, value: u64) {
    let elf = ElfObject::parse(bytes).unwrap();
    let sym = elf.symbols().iter().find(|s| s.name == name).unwrap();
    let shndx = sym.section.unwrap() as u16;
    let mut wire = shndx.to_le_bytes().to_vec();
    wire.extend(sym.value.to_le_bytes());
    wire.extend(sym.size.to_le_bytes());
    let symtab = elf
        .sections()
        .iter()
        .find(|s| s.name == ".symtab")
        .unwrap()
        .data;
    let start = symtab.as_ptr() as usize - bytes.as_ptr() as usize;
    let hits: Vec<usize> = (0..symtab.len() / 24)
        .map(|k| start + 24 * k)
        .filter(|&at| bytes[at + 6..at + 24] == wire[..])
        .filter(|&at| {
            let name_off = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
            name_off != 0
        })
        .collect();
    // Several symbols may share section, value and size; patch the one named `name`.
    let strtab = elf
        .sections()
        .iter()
        .find(|s| s.name == ".strtab")
        .unwrap()
        .data;
    let at = hits
        .into_iter()
        .find(|&at| {
            let off = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            strtab[off..].starts_with(name.as_bytes()) && strtab[off + name.len()] == 0
        })
        .expect("symbol found");
    bytes[at + 8..at + 16].copy_from_slice(&value.to_le_bytes());
}

/// A little-endian BTF blob written type by type, for inputs the builder API cannot make
/// (it wants every referenced type to exist already, and these graphs point forward).
struct Wire {
    types: Vec<u8>,
    strings: Vec<u8>,
    n: u32,
}

impl Wire {
    fn new() -> Wire {
        Wire {
            types: Vec::new(),
            strings: vec![0],
            n: 0,
        }
    }

    fn str(&mut self, s: &str) -> u32 {
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }

    fn words(&mut self, words: &[u32]) {
        for w in words {
            self.types.extend(w.to_le_bytes());
        }
    }

    /// `int` (4 bytes, signed); returns its id.
    fn int(&mut self, name: u32) -> u32 {
        self.words(&[name, 1 << 24, 4, 1 << 24 | 32]);
        self.n += 1;
        self.n
    }

    /// A struct of `size` bytes whose members (name offset, type id) all sit at offset 0.
    fn struct_(&mut self, name: u32, size: u32, members: &[(u32, u32)]) -> u32 {
        self.words(&[name, 4 << 24 | members.len() as u32, size]);
        for &(m, ty) in members {
            self.words(&[m, ty, 0]);
        }
        self.n += 1;
        self.n
    }

    fn ptr(&mut self, ty: u32) -> u32 {
        self.words(&[0, 2 << 24, ty]);
        self.n += 1;
        self.n
    }

    fn typedef(&mut self, name: u32, ty: u32) -> u32 {
        self.words(&[name, 8 << 24, ty]);
        self.n += 1;
        self.n
    }

    fn finish(self) -> Vec<u8> {
        let mut out = Vec::new();
        let hdr = [
            0xeb9f_u16 as u32 | 1 << 16, // magic, version 1, flags 0
            24,
            0,
            self.types.len() as u32,
            self.types.len() as u32,
            self.strings.len() as u32,
        ];
        out.extend(&hdr[0].to_le_bytes());
        for w in &hdr[1..] {
            out.extend(w.to_le_bytes());
        }
        out.extend(self.types);
        out.extend(self.strings);
        out
    }
}

/// Issue 11, bug 2: a chain of a million anonymous structs, each holding the next by value.
/// All hash alike, and each equivalence walk with an earlier one runs down the chain before
/// it fails: cubic without a bound (1,000 types took 18.7 s). Dedup's work budget (linear in
/// the input) ends the search; the result is still a correct BTF, with nothing merged.
#[test]
fn dedup_of_a_million_nested_anonymous_structs_is_bounded() {
    const N: u32 = 1_000_000;
    let mut w = Wire::new();
    let (int_name, m) = (w.str("int"), w.str("m"));
    // Ids 1..=N: struct k holds struct k + 1; the last holds an int (id N + 1).
    for k in 1..=N {
        w.struct_(0, 4, &[(m, k + 1)]);
    }
    w.int(int_name);
    let btf = Btf::parse(&w.finish()).unwrap();
    let d = bpfir::btf::dedup(&btf).unwrap();
    // No two structs of the chain are equal (their depths differ), so none may merge; and
    // their shapes differ, so none was even compared.
    assert!(!d.budget_exhausted);
    assert_eq!(d.btf.n_types(), btf.n_types());
    let first = d.btf.members(
        d.new_id(btf.type_id(bpfir::btf::WireTypeId(1)).unwrap())
            .unwrap(),
    );
    assert_eq!(first.len(), 1);
}

/// The same chain through pointers (a million types: half structs, half pointers): every
/// struct has the same shape (a pointer is a leaf, since its target may be a forward
/// declaration), so all fall in one bucket and only dedup's work budget bounds the walks.
/// The result is correct and says the budget ran out.
#[test]
fn dedup_of_a_million_types_of_anonymous_structs_chained_by_pointers_is_bounded() {
    const N: u32 = 500_000;
    let mut w = Wire::new();
    let (int_name, m) = (w.str("int"), w.str("m"));
    // Struct k (id 2k - 1) holds a pointer (id 2k) to struct k + 1; the last pointer points
    // at an int.
    for k in 1..=N {
        w.struct_(0, 8, &[(m, 2 * k)]);
        w.ptr(2 * k + 1);
    }
    w.int(int_name);
    let btf = Btf::parse(&w.finish()).unwrap();
    let d = bpfir::btf::dedup(&btf).unwrap();
    assert!(d.budget_exhausted);
    assert_eq!(d.btf.n_types(), btf.n_types());
}

/// Issue 11, bug 3: a struct whose every member conflicts with the first in the equivalence
/// walk, each conflict settled by an identical-types check over a struct of many members.
/// The check once got a fresh budget per conflict and did not count its member loops, so
/// one walk cost members² (a 96 KB BTF took 11 s); it now draws on dedup's budget.
#[test]
fn dedup_identical_types_checks_share_one_budget() {
    // As many members as BTF allows (vlen is 16 bits): once V × W = 4.3e9 steps.
    const V: u32 = 0xffff; // members of the struct with conflicts
    const W: u32 = 0xffff; // members of the struct each conflict compares
    let mut w = Wire::new();
    let (int_name, f, x, y, a, m) = (
        w.str("int"),
        w.str("f"),
        w.str("X"),
        w.str("Y"),
        w.str("A"),
        w.str("m"),
    );
    let int = w.int(int_name); // 1
    let y1 = w.struct_(y, 4, &vec![(f, int); W as usize]); // 2
    let tx = w.typedef(x, y1); // 3
    w.struct_(a, 4, &vec![(m, tx); V as usize]); // 4: the canonical A
                                                 // 5: the candidate A: member 0 is typedef X -> Y (id 6), every other member typedef
                                                 // X -> a copy of Y (id 7 -> 8), ids after A so they are not merged before A's walk.
    let mut members = vec![(m, 7); V as usize];
    members[0] = (m, 6);
    w.struct_(a, 4, &members);
    w.typedef(x, y1); // 6
    w.typedef(x, 8); // 7
    w.struct_(y, 4, &vec![(f, int); W as usize]); // 8
    let btf = Btf::parse(&w.finish()).unwrap();
    let d = bpfir::btf::dedup(&btf).unwrap();
    assert!(d.btf.n_types() <= btf.n_types());
    // Whatever the budget allowed, the copies of Y and X collapse in the later phases'
    // own walks or stay apart, and every id maps to a type of its kind.
    for (old, t) in btf.own_types() {
        let new = d.new_id(old).unwrap();
        assert_eq!(d.btf.ty(new).kind.kind(), t.kind.kind());
    }
}

/// Issue 11, bug 4 through CO-RE: a target BTF of a million structs named like a local
/// type (once 23 s at 300k: the name index was quadratic). Indexing is linear, and a local
/// type with more than `MAX_CANDIDATES` candidates fails its relocations with an error
/// instead of costing relocations × candidates walks; the other relocations still apply.
#[test]
fn co_re_against_a_million_structs_of_one_name_is_bounded() {
    use bpfir::btf::{IntEncoding, NewMember};
    let mut target = Btf::new(bpfir::Endian::Little);
    let int = target.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    for _ in 0..1_000_000 {
        target
            .add_struct("core_outer", 4, &[NewMember::new("a", int, 0)])
            .unwrap();
    }
    let targets = bpfir::co_re::Targets::single("many", std::sync::Arc::new(target));
    let mut module = Module::read(&testdata("core.bpfel.o")).unwrap();
    let report = bpfir::co_re::relocate(&mut module, &targets).unwrap();
    let errors: Vec<String> = report.errors().map(|e| e.to_string()).collect();
    assert!(!errors.is_empty());
    assert!(
        errors
            .iter()
            .any(|e| e.contains("more than 4096 target types named core_outer")),
        "{errors:?}"
    );
    assert_eq!(bpfir::co_re::MAX_CANDIDATES, 4096);
}

#[path = "../fuzz/checks.rs"]
mod checks;

/// Lowering a program of a million instructions (the kernel's limit; `lower::MAX_SLOTS`)
/// with a forward jump every thousand instructions: one walk assigns slots, one emits, and
/// the result obeys the kernel's rules. One slot more is refused, not attempted.
#[test]
fn lowering_a_million_instructions_is_linear() {
    use bpfir::insn::{AluClass, AluOp, Insn, Operand, Reg};
    use bpfir::ir::{Function, Meta, Ref};
    let n = bpfir::lower::MAX_SLOTS;
    let mut m = Module::new(bpfir::Endian::Little);
    let f = m.add_function(Function::new("big", "socket", true));
    let mov = Insn::Alu {
        class: AluClass::Alu64,
        op: AluOp::Mov,
        dst: Reg::R0,
        src: Operand::Imm(0),
    };
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n - 1 {
        ids.push(m.append(f, mov, Meta::default()).unwrap());
    }
    ids.push(m.append(f, Insn::Exit, Meta::default()).unwrap());
    for k in (0..n - 1000).step_by(1000) {
        let ja = m.insert_before(ids[k], Insn::Ja { off: 0 }, Meta::default());
        let ja = ja.unwrap();
        m.set_reference(ja, Some(Ref::Jump(ids[k + 500]))).unwrap();
        // Keep the total at n: drop the instruction after the jump.
        m.remove(ids[k]).unwrap();
    }
    let p = bpfir::lower::lower(&m, f, &bpfir::lower::Bindings::default()).unwrap();
    assert_eq!(p.n_slots(), n);
    checks::kernel_rules(&p).unwrap();

    m.append(f, Insn::Exit, Meta::default()).unwrap();
    let err = bpfir::lower::lower(&m, f, &bpfir::lower::Bindings::default()).unwrap_err();
    assert!(err.to_string().contains("instruction slots"), "{err}");
}
