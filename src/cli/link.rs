//! `bpfir link`: static linking of objects into one, like `bpftool gen object`.

use super::json::Value;
use super::{read_module, Context, Output};

/// Arguments of `bpfir link`.
#[derive(clap::Args)]
#[command(
    about = "Statically link objects into one (like bpftool gen object)",
    long_about = "Statically link BPF objects into one: extern functions, variables and maps \
                  resolve to their definitions, BTF is merged and deduplicated, .BTF.ext \
                  records follow their instructions. The result is an ELF object that \
                  libbpf, cilium/ebpf and bpfir load.",
    after_help = "Examples:\n  bpfir link testdata/link_a.bpfel.o testdata/link_b.bpfel.o -o linked.o\n  bpfir load linked.o --run"
)]
pub struct Args {
    /// The objects to link.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// The linked object to write.
    #[arg(short = 'o', long = "output", value_name = "OUT.o")]
    pub output: String,
    /// Keep externs that no input defines (a partial link) instead of failing.
    #[arg(long)]
    pub allow_unresolved: bool,
}

/// Runs `bpfir link`.
pub fn run(args: &Args, _ctx: &Context) -> Result<Output, String> {
    let mut modules = Vec::with_capacity(args.inputs.len());
    for path in &args.inputs {
        modules.push(read_module(path)?);
    }
    let opts = bpfir::link::LinkOptions {
        allow_unresolved: args.allow_unresolved,
        input_names: args.inputs.clone(),
    };
    let linked = bpfir::link::link(&modules, &opts).map_err(|e| e.to_string())?;
    let bytes = bpfir::write::write_object(&linked).map_err(|e| e.to_string())?;
    let out = &args.output;
    std::fs::write(out, bytes).map_err(|e| format!("{out}: {e}"))?;
    let (n_funcs, n_progs, n_maps) = (
        linked.functions().len(),
        linked.programs().count(),
        linked.maps().len(),
    );
    let text = format!(
        "linked {} objects into {out}: {n_funcs} functions ({n_progs} programs), {n_maps} maps\n",
        args.inputs.len(),
    );
    let json = Value::obj([
        ("output", out.as_str().into()),
        ("inputs", Value::from(args.inputs.clone())),
        ("functions", n_funcs.into()),
        ("programs", n_progs.into()),
        ("maps", n_maps.into()),
    ]);
    Ok(Output::new(text, json))
}
