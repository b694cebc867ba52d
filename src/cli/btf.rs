//! `bpfir btf`: a summary of a BTF blob by kind, or every type as `bpftool btf dump` prints
//! it.

use std::fmt::Write as _;

use bpfir::btf::Kind;

use super::json::Value;
use super::{read_btf, Context, Output};

/// Arguments of `bpfir btf`.
#[derive(clap::Args)]
#[command(
    about = "Summarize or dump the BTF of an object or a raw BTF file",
    long_about = "Summarize (types by kind, string bytes) or, with --dump, print every type as \
                  `bpftool btf dump file` does, from the .BTF of a BPF object or a raw BTF \
                  file such as /sys/kernel/btf/vmlinux.",
    after_help = "Examples:\n  bpfir btf testdata/core.bpfel.o\n  bpfir btf /sys/kernel/btf/vmlinux --dump | head\n  bpfir btf --json testdata/maps.bpfel.o"
)]
pub struct Args {
    /// A BPF ELF object or a raw BTF file.
    pub file: String,
    /// Print every type, one per line (as bpftool btf dump).
    #[arg(long)]
    pub dump: bool,
}

/// Runs `bpfir btf`.
pub fn run(args: &Args, _ctx: &Context) -> Result<Output, String> {
    let path = &args.file;
    let btf = read_btf(path)?;
    let mut out = String::new();
    if args.dump {
        let mut types = Vec::new();
        for (id, t) in btf.own_types().skip(1) {
            let text = btf.display_type(id).to_string();
            let _ = writeln!(out, "{text}");
            types.push(Value::obj([
                ("id", btf.wire_id(id).0.into()),
                ("kind", t.kind.kind().name().into()),
                ("text", text.into()),
            ]));
        }
        return Ok(Output::new(out, Value::Arr(types)));
    }
    let mut by_kind = std::collections::BTreeMap::<Kind, usize>::new();
    for (_, t) in btf.own_types().skip(1) {
        *by_kind.entry(t.kind.kind()).or_default() += 1;
    }
    let endian = format!("{:?}", btf.endian()).to_lowercase();
    let _ = writeln!(
        out,
        "{path}: {:?}-endian BTF, {} types, {} bytes of strings",
        btf.endian(),
        btf.n_types() - 1,
        btf.str_len()
    );
    for (kind, n) in &by_kind {
        let _ = writeln!(out, "  {kind:<10} {n:>7}");
    }
    let kinds = by_kind
        .iter()
        .map(|(k, &n)| (k.name().to_string(), Value::from(n)))
        .collect();
    let json = Value::obj([
        ("file", path.as_str().into()),
        ("endian", endian.into()),
        ("types", (btf.n_types() - 1).into()),
        ("string_bytes", btf.str_len().into()),
        ("kinds", Value::Obj(kinds)),
    ]);
    Ok(Output::new(out, json))
}
