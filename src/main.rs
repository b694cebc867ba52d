//! The `bpfir` command-line tool; see `bpfir --help` and `src/cli/`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
