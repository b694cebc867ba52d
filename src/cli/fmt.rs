//! `bpfir fmt`: a text file in canonical form; see [`super::text`].

use super::json::Value;
use super::{Context, Output};

/// Arguments of `bpfir fmt`.
#[derive(clap::Args)]
#[command(
    about = "Print a text file in canonical form",
    after_help = "Examples:\n  bpfir fmt calls.bpfir"
)]
pub struct Args {
    /// The text file.
    pub input: String,
}

/// Runs `bpfir fmt`.
pub fn run(args: &Args, _ctx: &Context) -> Result<Output, String> {
    let text = super::text::fmt(&args.input).map_err(|e| e.to_string())?;
    let json = Value::obj([("input", args.input.as_str().into()), ("text", text.clone().into())]);
    Ok(Output::new(text, json))
}
