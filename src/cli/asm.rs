//! `bpfir asm`: a text file assembled into an ELF object; see [`super::text`].

use super::json::Value;
use super::{Context, Output};

/// Arguments of `bpfir asm`.
#[derive(clap::Args)]
#[command(
    about = "Assemble a text file into an ELF object",
    after_help = "Examples:\n  bpfir dis testdata/calls.bpfel.o > calls.bpfir\n  bpfir asm calls.bpfir -o calls.o\n  bpfir load calls.o --run"
)]
pub struct Args {
    /// The text file.
    pub input: String,
    /// The object to write.
    #[arg(short = 'o', long = "output", value_name = "OUT.o")]
    pub output: String,
}

/// Runs `bpfir asm`.
pub fn run(args: &Args, _ctx: &Context) -> Result<Output, String> {
    let words = [args.input.clone(), "-o".to_string(), args.output.clone()];
    let text = super::text::asm(&words).map_err(|e| e.to_string())?;
    let json = Value::obj([
        ("input", args.input.as_str().into()),
        ("output", args.output.as_str().into()),
    ]);
    Ok(Output::new(text, json))
}
