//! `bpfir dump`: the object as bpfir holds it, optionally CO-RE relocated.

use std::fmt::Write as _;

use super::json::Value;
use super::{read_btf, read_module, Context, Output};

/// Arguments of `bpfir dump`.
#[derive(clap::Args)]
#[command(
    about = "Print the object's IR: maps, data, functions, lines, CO-RE paths",
    long_about = "Print the object as bpfir holds it: maps, data sections, externs, functions \
                  with labels, source lines, symbolic operands and CO-RE field paths. With \
                  --target-btf, the CO-RE relocations are applied against FILE's BTF and each \
                  result is listed after the dump.",
    after_help = "Examples:\n  bpfir dump testdata/globals.bpfel.o\n  bpfir dump testdata/core_reloc.bpfel.o --target-btf testdata/core_target.bpfel.o\n  bpfir dump testdata/core.bpfel.o --target-btf /sys/kernel/btf/vmlinux"
)]
pub struct Args {
    /// The BPF ELF object.
    pub object: String,
    /// Relocate CO-RE accesses against this BTF (a raw BTF file or an object's .BTF).
    #[arg(long, value_name = "FILE")]
    pub target_btf: Option<String>,
}

/// Runs `bpfir dump`.
pub fn run(args: &Args, _ctx: &Context) -> Result<Output, String> {
    let path = &args.object;
    let mut module = read_module(path)?;
    let mut relocations = Value::Null;
    let mut report_text = String::new();
    if let Some(target) = &args.target_btf {
        let btf = read_btf(target)?;
        let targets = bpfir::co_re::Targets::single(target, std::sync::Arc::new(btf));
        let report =
            bpfir::co_re::relocate(&mut module, &targets).map_err(|e| format!("{path}: {e}"))?;
        let _ = write!(report_text, "\n; CO-RE relocations against {target}:\n{report}");
        relocations = Value::from(
            report
                .to_string()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>(),
        );
    }
    let dump = module.dump().to_string();
    let names = |it: Vec<String>| Value::from(it);
    let json = Value::obj([
        ("object", path.as_str().into()),
        (
            "functions",
            names(module.functions().map(|(_, f)| f.name.clone()).collect()),
        ),
        ("maps", names(module.maps().map(|(_, m)| m.name.clone()).collect())),
        ("dump", dump.clone().into()),
        ("relocations", relocations),
    ]);
    Ok(Output::new(dump + &report_text, json))
}
