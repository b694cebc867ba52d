//! The `bpfir` command-line tool.
//!
//! ```text
//! bpfir disasm OBJ            disassemble every program section of a BPF ELF object
//! bpfir btf FILE [--dump]     summarize (or dump, like `bpftool btf dump`) the BTF of an
//!                             object or a raw BTF file such as /sys/kernel/btf/vmlinux
//! bpfir ext OBJ               summarize the .BTF.ext records of an object
//! bpfir dump OBJ              print the object as bpfir holds it: maps, data, functions with
//!                             labels, source lines, symbolic operands and CO-RE field paths
//! bpfir dump OBJ --target-btf FILE   the same, CO-RE relocated against FILE, with results
//! bpfir load OBJ [--target-btf FILE] [--kernel-co-re] [--program NAME]... [--run] [--json]
//!                             create the maps and load every program into the kernel
//! bpfir link A.o B.o ... -o OUT.o    statically link objects into one (like bpftool gen object)
//! bpfir dis OBJ               the object in the text form (docs/text-format.md)
//! bpfir asm FILE -o OUT.o     assemble a text file into an ELF object
//! bpfir fmt FILE              print a text file in canonical form
//! bpfir lower OBJ --out DIR [--target-btf FILE] [--program NAME]...
//!                             write what BPF_PROG_LOAD would get, as raw kernel records
//! ```

mod cli {
    #[cfg(all(feature = "kernel", target_os = "linux"))]
    pub mod load;
    pub mod text;
}

use std::fmt::Write as _;
use std::process::ExitCode;

use bpfir::btf::{Btf, Kind};
use bpfir::btf_ext::BtfExt;
use bpfir::elf::ElfObject;

const USAGE: &str = "usage:
  bpfir disasm OBJ           disassemble every program section of a BPF ELF object
  bpfir btf FILE [--dump]    summarize (or dump like bpftool) the BTF of an object or raw BTF file
  bpfir ext OBJ              summarize the .BTF.ext records of an object
  bpfir dump OBJ [--target-btf FILE]
                             print the object's IR: maps, data, functions, lines, CO-RE paths;
                             with --target-btf, relocated against FILE, with each result
  bpfir load OBJ [--target-btf FILE] [--kernel-co-re] [--program NAME]... [--run] [--json]
                             create the maps, load every program, optionally run each once;
                             CO-RE against FILE (raw BTF or object) or the running kernel,
                             or by the kernel itself with --kernel-co-re
  bpfir dis OBJ              print the object in the text form (docs/text-format.md)
  bpfir asm FILE -o OUT.o    assemble a text file into an ELF object
  bpfir fmt FILE             print a text file in canonical form
  bpfir link A.o B.o ... -o OUT.o [--allow-unresolved]
                             statically link objects into one (like bpftool gen object)
  bpfir lower OBJ --out DIR [--target-btf FILE] [--program NAME]...
                             write each program's insns, func_info, line_info, core_relo,
                             btf.bin and manifest.json";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["disasm", path] => disasm(path),
        ["btf", path] => btf(path, false),
        ["btf", path, "--dump"] | ["btf", "--dump", path] => btf(path, true),
        ["ext", path] => ext(path),
        ["dump", path] => dump(path),
        ["link", ..] => link(&args[1..]),
        ["dis", path] => cli::text::dis(path),
        ["asm", ..] => cli::text::asm(&args[1..]),
        ["fmt", path] => cli::text::fmt(path),
        ["dump", path, "--target-btf", target] | ["dump", "--target-btf", target, path] => {
            dump_relocated(path, target)
        }
        #[cfg(all(feature = "kernel", target_os = "linux"))]
        ["load", ..] => {
            let parsed = cli::load::Args::parse(&args[1..], false);
            return match parsed.and_then(|a| cli::load::run_load(&a)) {
                Ok((out, ok)) => {
                    print!("{out}");
                    if ok {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    }
                }
                Err(e) => {
                    eprintln!("bpfir: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        #[cfg(all(feature = "kernel", target_os = "linux"))]
        ["lower", ..] => cli::load::Args::parse(&args[1..], true)
            .and_then(|a| cli::load::run_lower(&a))
            .map_err(Into::into),
        ["-h"] | ["--help"] | ["help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bpfir: {e}");
            ExitCode::FAILURE
        }
    }
}

type CliResult = Result<String, Box<dyn std::error::Error>>;

fn read(path: &str) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    std::fs::read(path).map_err(|e| format!("{path}: {e}").into())
}

fn disasm(path: &str) -> CliResult {
    let data = read(path)?;
    let elf = ElfObject::parse(&data).map_err(|e| format!("{path}: {e}"))?;
    let mut out = String::new();
    for section in elf.executable_sections() {
        writeln!(out, "Disassembly of section {}:", section.name)?;
        // Decode function by function: the bytes between functions are alignment padding,
        // not instructions.
        for (name, range) in elf.code_ranges(section) {
            let (start, end) = (range.start, range.end);
            let bytes = section.data.get(start..end).ok_or_else(|| {
                format!(
                    "{path}: function {name} [{start:#x}, {end:#x}) is outside section {}",
                    section.name
                )
            })?;
            let insns = bpfir::insn::decode_all(bytes, elf.endian()).map_err(|e| {
                format!(
                    "{path}: section {} function {name} (at byte {start:#x}): {e}",
                    section.name
                )
            })?;
            writeln!(out, "\n{start:016x} <{name}>:")?;
            write!(
                out,
                "{}",
                bpfir::insn::disassemble(&insns).starting_at(start / 8)
            )?;
        }
        writeln!(out)?;
    }
    Ok(out)
}

fn load_btf(path: &str) -> Result<Btf, Box<dyn std::error::Error>> {
    let data = read(path)?;
    if data.starts_with(b"\x7fELF") {
        let elf = ElfObject::parse(&data).map_err(|e| format!("{path}: {e}"))?;
        let section = elf
            .section(".BTF")
            .ok_or_else(|| format!("{path}: no .BTF section"))?;
        Ok(Btf::parse(section.data).map_err(|e| format!("{path}: .BTF: {e}"))?)
    } else {
        Ok(Btf::parse(&data).map_err(|e| format!("{path}: {e}"))?)
    }
}

fn btf(path: &str, dump: bool) -> CliResult {
    let btf = load_btf(path)?;
    let mut out = String::new();
    if dump {
        for (id, _) in btf.own_types().skip(1) {
            writeln!(out, "{}", btf.display_type(id))?;
        }
        return Ok(out);
    }
    let mut by_kind = std::collections::BTreeMap::<Kind, usize>::new();
    for (_, t) in btf.own_types().skip(1) {
        *by_kind.entry(t.kind.kind()).or_default() += 1;
    }
    writeln!(
        out,
        "{path}: {:?}-endian BTF, {} types, {} bytes of strings",
        btf.endian(),
        btf.n_types() - 1,
        btf.str_len()
    )?;
    for (kind, n) in by_kind {
        writeln!(out, "  {kind:<10} {n:>7}")?;
    }
    Ok(out)
}

fn ext(path: &str) -> CliResult {
    let data = read(path)?;
    let elf = ElfObject::parse(&data).map_err(|e| format!("{path}: {e}"))?;
    let section = elf
        .section(".BTF.ext")
        .ok_or_else(|| format!("{path}: no .BTF.ext section"))?;
    let btf = load_btf(path)?;
    let ext = BtfExt::parse(section.data, elf.endian()).map_err(|e| format!("{path}: {e}"))?;
    let mut out = String::new();
    for (sec, info) in ext.func_infos() {
        let sec = btf.str(sec).unwrap_or("?");
        let name = btf
            .type_id(info.type_id)
            .ok()
            .and_then(|id| btf.name(id).ok())
            .unwrap_or("?");
        writeln!(out, "func_info {sec}+{:#x}: {name}", info.insn_off.0)?;
    }
    let lines = ext.line_infos().count();
    let relos = ext.core_relos().count();
    writeln!(out, "{lines} line_info records, {relos} core_relo records")?;
    for (sec, relo) in ext.core_relos() {
        let sec = btf.str(sec).unwrap_or("?");
        let ty = btf
            .type_id(relo.type_id)
            .ok()
            .and_then(|id| btf.name(id).ok())
            .unwrap_or("?");
        let access = btf.str(relo.access).unwrap_or("?");
        writeln!(
            out,
            "core_relo {sec}+{:#x}: {} '{ty}' access {access}",
            relo.insn_off.0, relo.kind
        )?;
    }
    Ok(out)
}

fn dump(path: &str) -> CliResult {
    let data = read(path)?;
    let module = bpfir::ir::Module::read(&data).map_err(|e| format!("{path}: {e}"))?;
    Ok(module.dump().to_string())
}

/// `link A.o B.o ... -o OUT.o [--allow-unresolved]`: read each input, link them, write the
/// result.
fn link(args: &[String]) -> CliResult {
    let mut inputs = Vec::new();
    let mut out = None;
    let mut opts = bpfir::link::LinkOptions::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-o" => out = Some(it.next().ok_or("-o needs a file name")?.clone()),
            "--allow-unresolved" => opts.allow_unresolved = true,
            _ => inputs.push(a.clone()),
        }
    }
    let out = out.ok_or("link needs -o OUT.o")?;
    if inputs.is_empty() {
        return Err("link needs at least one input object".into());
    }
    let mut modules = Vec::with_capacity(inputs.len());
    for path in &inputs {
        let data = read(path)?;
        modules.push(bpfir::ir::Module::read(&data).map_err(|e| format!("{path}: {e}"))?);
    }
    opts.input_names = inputs.clone();
    let linked = bpfir::link::link(&modules, &opts)?;
    let bytes = bpfir::write::write_object(&linked)?;
    std::fs::write(&out, bytes).map_err(|e| format!("{out}: {e}"))?;
    Ok(format!(
        "linked {} objects into {out}: {} functions ({} programs), {} maps\n",
        inputs.len(),
        linked.functions().len(),
        linked.programs().count(),
        linked.maps().len()
    ))
}

/// `dump --target-btf FILE`: the dump of the module with its CO-RE relocations applied
/// against FILE's BTF, then one line per relocation saying what it became.
fn dump_relocated(path: &str, target: &str) -> CliResult {
    let data = read(path)?;
    let mut module = bpfir::ir::Module::read(&data).map_err(|e| format!("{path}: {e}"))?;
    let btf = load_btf(target)?;
    let targets = bpfir::co_re::Targets::single(target, std::sync::Arc::new(btf));
    let report =
        bpfir::co_re::relocate(&mut module, &targets).map_err(|e| format!("{path}: {e}"))?;
    let mut out = module.dump().to_string();
    writeln!(out, "\n; CO-RE relocations against {target}:")?;
    write!(out, "{report}")?;
    Ok(out)
}
