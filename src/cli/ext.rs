//! `bpfir ext`: the `.BTF.ext` records of an object.

use std::fmt::Write as _;

use bpfir::btf_ext::BtfExt;
use bpfir::elf::ElfObject;

use super::json::Value;
use super::{read, read_btf, Context, Output};

/// Arguments of `bpfir ext`.
#[derive(clap::Args)]
#[command(
    about = "Summarize the .BTF.ext records of an object",
    long_about = "Print the func_info records, the number of line_info records and every CO-RE \
                  relocation of an object's .BTF.ext, per ELF section.",
    after_help = "Examples:\n  bpfir ext testdata/core_reloc.bpfel.o\n  bpfir ext --json testdata/calls.bpfel.o"
)]
pub struct Args {
    /// The BPF ELF object.
    pub object: String,
}

/// Runs `bpfir ext`.
pub fn run(args: &Args, _ctx: &Context) -> Result<Output, String> {
    let path = &args.object;
    let data = read(path)?;
    let elf = ElfObject::parse(&data).map_err(|e| format!("{path}: {e}"))?;
    let section = elf
        .section(".BTF.ext")
        .ok_or_else(|| format!("{path}: no .BTF.ext section"))?;
    let btf = read_btf(path)?;
    let ext = BtfExt::parse(section.data, elf.endian()).map_err(|e| format!("{path}: {e}"))?;
    let name_of = |wire| {
        btf.type_id(wire)
            .ok()
            .and_then(|id| btf.name(id).ok())
            .unwrap_or("?")
    };
    let mut out = String::new();
    let mut funcs = Vec::new();
    for (sec, info) in ext.func_infos() {
        let sec = btf.str(sec).unwrap_or("?");
        let name = name_of(info.type_id);
        let _ = writeln!(out, "func_info {sec}+{:#x}: {name}", info.insn_off.0);
        funcs.push(Value::obj([
            ("section", sec.into()),
            ("insn_off", info.insn_off.0.into()),
            ("func", name.into()),
        ]));
    }
    let lines = ext.line_infos().count();
    let relos = ext.core_relos().count();
    let _ = writeln!(out, "{lines} line_info records, {relos} core_relo records");
    let mut core = Vec::new();
    for (sec, relo) in ext.core_relos() {
        let sec = btf.str(sec).unwrap_or("?");
        let ty = name_of(relo.type_id);
        let access = btf.str(relo.access).unwrap_or("?");
        let _ = writeln!(
            out,
            "core_relo {sec}+{:#x}: {} '{ty}' access {access}",
            relo.insn_off.0, relo.kind
        );
        core.push(Value::obj([
            ("section", sec.into()),
            ("insn_off", relo.insn_off.0.into()),
            ("kind", relo.kind.to_string().into()),
            ("type", ty.into()),
            ("access", access.into()),
        ]));
    }
    let json = Value::obj([
        ("object", path.as_str().into()),
        ("func_info", Value::Arr(funcs)),
        ("line_info", lines.into()),
        ("core_relo", Value::Arr(core)),
    ]);
    Ok(Output::new(out, json))
}
