//! `bpfir disasm`: the instructions of every program section, function by function.

use std::fmt::Write as _;

use bpfir::elf::ElfObject;

use super::json::Value;
use super::{read, Context, Output};

/// Arguments of `bpfir disasm`.
#[derive(clap::Args)]
#[command(
    about = "Disassemble every program section of a BPF ELF object",
    long_about = "Disassemble every program section of a BPF ELF object, function by function, \
                  in llvm-objdump's style (bytes between functions are padding, not code).",
    after_help = "Examples:\n  bpfir disasm testdata/calls.bpfel.o\n  bpfir disasm --json testdata/calls.bpfel.o"
)]
pub struct Args {
    /// The BPF ELF object.
    pub object: String,
}

/// Runs `bpfir disasm`.
pub fn run(args: &Args, _ctx: &Context) -> Result<Output, String> {
    let path = &args.object;
    let data = read(path)?;
    let elf = ElfObject::parse(&data).map_err(|e| format!("{path}: {e}"))?;
    let mut out = String::new();
    let mut functions = Vec::new();
    for section in elf.executable_sections() {
        let _ = writeln!(out, "Disassembly of section {}:", section.name);
        for (name, range) in elf.code_ranges(section) {
            let (start, end) = (range.start, range.end);
            let bytes = section.data.get(start..end).ok_or_else(|| {
                format!(
                    "{path}: function {name} [{start:#x}, {end:#x}) is outside section {}",
                    section.name
                )
            })?;
            let insns = bpfir::insn::decode_all(bytes, elf.endian()).map_err(|e| {
                format!(
                    "{path}: section {} function {name} (at byte {start:#x}): {e}",
                    section.name
                )
            })?;
            let text = bpfir::insn::disassemble(&insns)
                .starting_at(start / 8)
                .to_string();
            let _ = write!(out, "\n{start:016x} <{name}>:\n{text}");
            functions.push(Value::obj([
                ("section", section.name.into()),
                ("function", name.into()),
                ("offset", start.into()),
                (
                    "insns",
                    Value::from(text.lines().map(|l| l.trim().to_string()).collect::<Vec<_>>()),
                ),
            ]));
        }
        out.push('\n');
    }
    let json = Value::obj([("object", path.as_str().into()), ("functions", Value::Arr(functions))]);
    Ok(Output::new(out, json))
}
