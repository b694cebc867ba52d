//! The `bpfir` command line: one file per subcommand, parsed with clap.
//!
//! Each subcommand is a module with an `Args` struct (`#[derive(clap::Args)]`, its help
//! text and examples on the struct) and `run(&Args, &Context) -> Result<Output, String>`,
//! registered by one line in [`subcommands!`](subcommands) below. `run` returns the text
//! and the JSON form of what it prints; this module prints the one asked for, so every
//! command that prints data takes `--json`, and errors come out as `{"error": "..."}`
//! under `--json` too.
//!
//! Exit codes (as bpftool): 0 success, 1 failure (bad input, a program the kernel refused),
//! 2 usage error (unknown subcommand or option, missing argument). A closed output pipe
//! (`bpfir btf vmlinux --dump | head -1`) is a normal end: exit 0, no message.

use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

pub mod json;
pub mod text;

/// Registers the subcommands: `Variant => module` (the module's `Args` and `run`), with
/// optional `#[cfg]` attributes. Adding a subcommand is a new file and one line here.
macro_rules! subcommands {
    ($( $(#[$meta:meta])* $variant:ident => $module:ident ),* $(,)?) => {
        $( $(#[$meta])* pub mod $module; )*

        /// The subcommands.
        #[derive(clap::Subcommand)]
        pub enum Command {
            $( $(#[$meta])* $variant($module::Args), )*
        }

        impl Command {
            fn run(&self, ctx: &Context) -> Result<Output, String> {
                match self {
                    $( $(#[$meta])* Command::$variant(args) => $module::run(args, ctx), )*
                }
            }
        }
    };
}

subcommands! {
    Disasm => disasm,
    Btf => btf,
    Ext => ext,
    Dump => dump,
    Link => link,
    Dis => dis,
    Asm => asm,
    Fmt => fmt,
    #[cfg(all(feature = "kernel", target_os = "linux"))]
    Load => load,
    #[cfg(all(feature = "kernel", target_os = "linux"))]
    Lower => lower,
    Completions => completions,
}

const EXAMPLES: &str = "\
Examples:
  bpfir disasm testdata/calls.bpfel.o
  bpfir dump testdata/core_reloc.bpfel.o --target-btf testdata/core_target.bpfel.o
  bpfir btf /sys/kernel/btf/vmlinux --dump | head
  bpfir link testdata/link_a.bpfel.o testdata/link_b.bpfel.o -o linked.o
  bpfir load testdata/calls.bpfel.o --run --json
  bpfir completions bash > /etc/bash_completion.d/bpfir

Exit status: 0 success, 1 failure, 2 usage error.";

/// bpfir: eBPF programs held as a compiler IR.
#[derive(Parser)]
#[command(
    name = "bpfir",
    version,
    about = "eBPF programs held as a compiler IR: read clang BPF objects, link, relocate CO-RE, lower, load",
    after_help = EXAMPLES,
    propagate_version = true,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Print JSON instead of text (errors too, as {"error": "..."} on stdout).
    #[arg(long, short = 'j', global = true)]
    pub json: bool,
    #[command(subcommand)]
    command: Command,
}

/// What every subcommand may need besides its own arguments.
pub struct Context {
    /// `--json` was given.
    pub json: bool,
}

/// What a subcommand prints: text, or JSON under `--json`, and whether it succeeded.
pub struct Output {
    /// The text form.
    pub text: String,
    /// The JSON form (printed as it is, so a command may print one value per line).
    pub json: String,
    /// False when the command did its work but something in it failed (a program the
    /// kernel refused): exit status 1.
    pub success: bool,
}

impl Output {
    /// A successful output of `text` and the JSON `value`.
    pub fn new(text: String, value: json::Value) -> Output {
        Output {
            text,
            json: format!("{value}\n"),
            success: true,
        }
    }
}

/// Writes `s` to stdout. A closed pipe is the reader's choice, not an error: true means
/// the write was complete or the reader went away.
fn emit(s: &str) -> Result<(), std::io::Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

fn error_json(message: &str) -> String {
    format!("{}\n", json::Value::obj([("error", message.into())]))
}

/// Parses the command line, runs the subcommand, prints its output; the exit code.
pub fn main() -> ExitCode {
    let wants_json = std::env::args_os()
        .skip(1)
        .any(|a| a == "--json" || a == "-j");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let text = e.render().to_string();
            return match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                    if e.exit_code() == 0 =>
                {
                    let _ = emit(&text);
                    ExitCode::SUCCESS
                }
                _ => {
                    if wants_json {
                        let first = text.lines().next().unwrap_or("usage error");
                        let first = first.strip_prefix("error: ").unwrap_or(first);
                        let _ = emit(&error_json(first));
                    } else {
                        let _ = std::io::stderr().write_all(text.as_bytes());
                    }
                    ExitCode::from(2)
                }
            };
        }
    };
    let ctx = Context { json: cli.json };
    let (printed, code) = match cli.command.run(&ctx) {
        Ok(out) => {
            let code = if out.success {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
            (emit(if ctx.json { &out.json } else { &out.text }), code)
        }
        Err(message) => {
            if ctx.json {
                (emit(&error_json(&message)), ExitCode::FAILURE)
            } else {
                let _ = writeln!(std::io::stderr(), "bpfir: {message}");
                (Ok(()), ExitCode::FAILURE)
            }
        }
    };
    match printed {
        Ok(()) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "bpfir: writing the output: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The clap command, for completions.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Reads a file, naming it in the error.
pub fn read(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{path}: {e}"))
}

/// A BTF from a raw BTF file (such as `/sys/kernel/btf/vmlinux`) or an ELF object's `.BTF`.
pub fn read_btf(path: &str) -> Result<bpfir::btf::Btf, String> {
    let bytes = read(path)?;
    if bytes.starts_with(b"\x7fELF") {
        let elf = bpfir::elf::ElfObject::parse(&bytes).map_err(|e| format!("{path}: {e}"))?;
        let s = elf
            .section(".BTF")
            .ok_or_else(|| format!("{path}: no .BTF section"))?;
        bpfir::btf::Btf::parse(s.data).map_err(|e| format!("{path}: .BTF: {e}"))
    } else {
        bpfir::btf::Btf::parse(&bytes).map_err(|e| format!("{path}: {e}"))
    }
}

/// Reads an object into a module, naming the file in the error.
pub fn read_module(path: &str) -> Result<bpfir::ir::Module, String> {
    let bytes = read(path)?;
    bpfir::ir::Module::read(&bytes).map_err(|e| format!("{path}: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        super::command().debug_assert();
    }
}
