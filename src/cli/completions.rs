//! `bpfir completions`: a shell completion script, generated from the command line itself.

use clap_complete::Shell;

use super::json::Value;
use super::{Context, Output};

/// Arguments of `bpfir completions`.
#[derive(clap::Args)]
#[command(
    about = "Print a shell completion script",
    after_help = "Examples:\n  bpfir completions bash > /etc/bash_completion.d/bpfir\n  bpfir completions zsh > ~/.zfunc/_bpfir\n  source <(bpfir completions bash)"
)]
pub struct Args {
    /// The shell.
    pub shell: Shell,
}

/// Runs `bpfir completions`.
pub fn run(args: &Args, _ctx: &Context) -> Result<Output, String> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut super::command(), "bpfir", &mut script);
    let script = String::from_utf8(script).map_err(|e| format!("completion script: {e}"))?;
    let json = Value::obj([
        ("shell", args.shell.to_string().into()),
        ("script", script.clone().into()),
    ]);
    Ok(Output::new(script, json))
}
