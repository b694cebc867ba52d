//! `bpfir dis`: an object in the text form (`docs/text-format.md`); see [`super::text`].

use super::json::Value;
use super::{Context, Output};

/// Arguments of `bpfir dis`.
#[derive(clap::Args)]
#[command(
    about = "Print an object in the text form (docs/text-format.md)",
    after_help = "Examples:\n  bpfir dis testdata/calls.bpfel.o > calls.bpfir\n  bpfir asm calls.bpfir -o calls.o"
)]
pub struct Args {
    /// The BPF ELF object.
    pub object: String,
}

/// Runs `bpfir dis`.
pub fn run(args: &Args, _ctx: &Context) -> Result<Output, String> {
    let text = super::text::dis(&args.object).map_err(|e| e.to_string())?;
    let json = Value::obj([("object", args.object.as_str().into()), ("text", text.clone().into())]);
    Ok(Output::new(text, json))
}
