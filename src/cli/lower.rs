//! `bpfir lower`: what `BPF_PROG_LOAD` would get, written as raw kernel records, without
//! loading anything.

use std::path::PathBuf;

use bpfir::load::prepare;
use bpfir::lower::lower;

use super::load::{json_str, Common};
use super::{read_module, Context, Output};

/// Arguments of `bpfir lower`.
#[derive(clap::Args)]
#[command(
    about = "Write what BPF_PROG_LOAD would get, as raw kernel records",
    long_about = "Relocate and lower each program and write, per program, PROG.insns, \
                  PROG.func_info, PROG.line_info and PROG.core_relo (the kernel's record \
                  layouts), plus btf.bin and manifest.json (maps get placeholder fds). Nothing \
                  is loaded.",
    after_help = "Examples:\n  bpfir lower testdata/calls.bpfel.o --out /tmp/calls\n  bpfir lower testdata/core.bpfel.o --target-btf /sys/kernel/btf/vmlinux --out /tmp/core --json"
)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// The directory to write the records to (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Runs `bpfir lower`; under `--json` prints the manifest.
pub fn run(args: &Args, _ctx: &Context) -> Result<Output, String> {
    let (text, manifest) = run_lower(args)?;
    Ok(Output {
        text,
        json: manifest,
        success: true,
    })
}

/// `bpfir lower`: writes the raw kernel records of every (selected) program.
fn run_lower(args: &Args) -> Result<(String, String), String> {
    let common = &args.common;
    let module = read_module(&common.object)?;
    let opts = common.options()?;
    let out = &args.out;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut prepared = prepare(&module, &opts).map_err(|e| format!("{}: {e}", common.object))?;
    let module = prepared.relocated.take().unwrap_or(module);
    // Offline there are no fds: maps and data sections get placeholder fds (their index),
    // listed in the manifest so a loader can substitute real ones.
    let mut bindings = prepared.bindings.clone();
    let mut manifest_maps = Vec::new();
    for (i, (id, m)) in module.maps().enumerate() {
        bindings.maps.insert(id, i as i32);
        manifest_maps.push(format!(
            "{{\"name\": {}, \"placeholder_fd\": {i}}}",
            json_str(&m.name)
        ));
    }
    for (i, (id, d)) in module.data_sections().enumerate() {
        let fd = (module.maps().len() + i) as i32;
        bindings.data.insert(id, fd);
        manifest_maps.push(format!(
            "{{\"name\": {}, \"placeholder_fd\": {fd}}}",
            json_str(&d.name)
        ));
    }
    if let Some(k) = &prepared.kconfig {
        let fd = (module.maps().len() + module.data_sections().len()) as i32;
        for &(id, offset) in &k.offsets {
            bindings
                .externs
                .insert(id, bpfir::lower::ExternBinding::MapValue { fd, offset });
        }
        manifest_maps.push(format!(
            "{{\"name\": \".kconfig\", \"placeholder_fd\": {fd}}}"
        ));
    }
    let endian = module.endian();
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(out.join(name), bytes)
            .map_err(|e| format!("{}: {e}", out.join(name).display()))
    };
    let mut programs = Vec::new();
    for (f, func) in module.programs() {
        if !common.programs.is_empty() && !common.programs.contains(&func.name) {
            continue;
        }
        let p = lower(&module, f, &bindings).map_err(|e| format!("{}: {e}", common.object))?;
        write(&format!("{}.insns", p.name), &p.insn_bytes(endian))?;
        write(&format!("{}.func_info", p.name), &p.func_info_bytes(endian))?;
        write(&format!("{}.line_info", p.name), &p.line_info_bytes(endian))?;
        write(&format!("{}.core_relo", p.name), &p.core_relo_bytes(endian))?;
        programs.push(format!(
            "{{\"program\": {}, \"section\": {}, \"insns\": {}, \"tag\": {}, \"func_info\": {}, \"line_info\": {}, \"core_relo\": {}}}",
            json_str(&p.name),
            json_str(&p.section),
            p.n_slots(),
            // The tag a current kernel of the object's byte order computes (SHA-256).
            json_str(&bpfir::lower::tag_hex(bpfir::lower::program_tag(
                &p.insns,
                endian,
                bpfir::lower::TagHash::Sha256
            ))),
            p.func_info.len(),
            p.line_info.len(),
            p.core_relos.len()
        ));
    }
    if let Some(btf) = &prepared.btf {
        write("btf.bin", &btf.to_bytes())?;
    }
    let manifest = format!(
        "{{\n  \"object\": {},\n  \"endian\": {},\n  \"btf\": {},\n  \"programs\": [\n    {}\n  ],\n  \"maps\": [\n    {}\n  ]\n}}\n",
        json_str(&common.object),
        json_str(&format!("{endian:?}").to_lowercase()),
        if prepared.btf.is_some() { "\"btf.bin\"" } else { "null" },
        programs.join(",\n    "),
        manifest_maps.join(",\n    ")
    );
    write("manifest.json", manifest.as_bytes())?;
    Ok((
        format!("wrote {} programs to {}\n", programs.len(), out.display()),
        manifest,
    ))
}
