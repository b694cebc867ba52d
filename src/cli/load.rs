//! `bpfir load` and `bpfir lower`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use bpfir::btf::Btf;
use bpfir::co_re::Targets;
use bpfir::elf::ElfObject;
use bpfir::ir::Module;
use bpfir::load::{load, prepare, CoReMode, LoadOptions};
use bpfir::lower::lower;

/// Parsed options of `load` and `lower`.
#[derive(Default)]
pub struct Args {
    pub object: String,
    pub target_btf: Option<String>,
    pub programs: Vec<String>,
    pub run: bool,
    pub json: bool,
    pub out: Option<PathBuf>,
    pub kernel_co_re: bool,
}

impl Args {
    /// Parses the words after the subcommand; `lower` takes `--out`, `load` takes `--run`
    /// and `--json`.
    pub fn parse(words: &[String], lower: bool) -> Result<Args, String> {
        let mut a = Args::default();
        let mut it = words.iter();
        while let Some(w) = it.next() {
            let mut value = |flag: &str| {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match w.as_str() {
                "--target-btf" => a.target_btf = Some(value("--target-btf")?),
                "--program" => a.programs.push(value("--program")?),
                "--kernel-co-re" => a.kernel_co_re = true,
                "--run" if !lower => a.run = true,
                "--json" if !lower => a.json = true,
                "--out" if lower => a.out = Some(PathBuf::from(value("--out")?)),
                w if w.starts_with('-') => return Err(format!("unknown option {w}")),
                w if a.object.is_empty() => a.object = w.to_string(),
                w => return Err(format!("unexpected argument {w}")),
            }
        }
        if a.object.is_empty() {
            return Err("no object given".into());
        }
        if lower && a.out.is_none() {
            return Err("lower needs --out DIR".into());
        }
        Ok(a)
    }

    fn options(&self) -> Result<LoadOptions, String> {
        let co_re = match &self.target_btf {
            Some(path) => {
                let btf = read_btf(path)?;
                CoReMode::Targets(Targets::single(path.clone(), Arc::new(btf)))
            }
            None if self.kernel_co_re => CoReMode::KernelSide,
            None => CoReMode::RunningKernel,
        };
        let object_name = Path::new(&self.object)
            .file_stem()
            .and_then(|s| s.to_str())
            .map(|s| s.split('.').next().unwrap_or(s).to_string())
            .unwrap_or_default();
        Ok(LoadOptions {
            programs: self.programs.clone(),
            co_re,
            object_name,
            ..LoadOptions::default()
        })
    }
}

/// A BTF from a raw BTF file or from an ELF object's `.BTF`.
pub fn read_btf(path: &str) -> Result<Btf, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    if bytes.starts_with(b"\x7fELF") {
        let elf = ElfObject::parse(&bytes).map_err(|e| format!("{path}: {e}"))?;
        let s = elf
            .section(".BTF")
            .ok_or_else(|| format!("{path}: no .BTF section"))?;
        Btf::parse(s.data).map_err(|e| format!("{path}: .BTF: {e}"))
    } else {
        Btf::parse(&bytes).map_err(|e| format!("{path}: {e}"))
    }
}

fn read_module(path: &str) -> Result<Module, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    Module::read(&bytes).map_err(|e| format!("{path}: {e}"))
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `bpfir load`: returns the report and whether every selected program loaded (and ran).
pub fn run_load(args: &Args) -> Result<(String, bool), String> {
    let module = read_module(&args.object)?;
    let opts = args.options()?;
    for name in &args.programs {
        if !module.programs().any(|(_, f)| &f.name == name) {
            return Err(format!("{}: no program named {name}", args.object));
        }
    }
    let loaded = load(&module, &opts).map_err(|e| format!("{}: {e}", args.object))?;
    let mut out = String::new();
    let mut all_ok = true;
    for p in &loaded.programs {
        let (insns, tag, error) = match &p.result {
            Ok(lp) => (Some(lp.n_insns), Some(lp.tag.clone()), None),
            // A refused program: the verifier's error at its source line and origin.
            Err(e) => match bpfir::load::refusal(&module, p) {
                Some(v) => (None, None, Some(format!("{e}\n{v}"))),
                None => (None, None, Some(e.to_string())),
            },
        };
        let mut retval = None;
        let mut error = error;
        if let (true, Ok(lp)) = (args.run, &p.result) {
            match lp.run_zero_packet(64) {
                Ok(r) => retval = Some(r.retval),
                Err(e) => error = Some(format!("test run: {e}")),
            }
        }
        all_ok &= error.is_none();
        if args.json {
            let opt = |v: Option<String>| v.unwrap_or_else(|| "null".into());
            let _ = writeln!(
                out,
                "{{\"program\": {}, \"section\": {}, \"loaded\": {}, \"insns\": {}, \"tag\": {}, \"retval\": {}, \"error\": {}}}",
                json_str(&p.name),
                json_str(&p.section),
                p.result.is_ok(),
                opt(insns.map(|n| n.to_string())),
                opt(tag.map(|t| json_str(&t))),
                opt(retval.map(|r| r.to_string())),
                opt(error.map(|e| json_str(&e))),
            );
        } else {
            let _ = write!(out, "{:<24} {:<28}", p.name, p.section);
            match (&insns, &tag) {
                (Some(n), Some(t)) => {
                    let _ = write!(out, " loaded insns={n} tag={t}");
                }
                _ => out.push_str(" not loaded"),
            }
            if let Some(r) = retval {
                let _ = write!(out, " retval={r}");
            }
            out.push('\n');
            if let Some(e) = error {
                for line in e.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
    }
    Ok((out, all_ok))
}

/// `bpfir lower`: writes the raw kernel records of every (selected) program.
pub fn run_lower(args: &Args) -> Result<String, String> {
    let module = read_module(&args.object)?;
    let opts = args.options()?;
    let out = args.out.as_ref().expect("parse checked --out");
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut prepared = prepare(&module, &opts).map_err(|e| format!("{}: {e}", args.object))?;
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
        if !args.programs.is_empty() && !args.programs.contains(&func.name) {
            continue;
        }
        let p = lower(&module, f, &bindings).map_err(|e| format!("{}: {e}", args.object))?;
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
        json_str(&args.object),
        json_str(&format!("{endian:?}").to_lowercase()),
        if prepared.btf.is_some() { "\"btf.bin\"" } else { "null" },
        programs.join(",\n    "),
        manifest_maps.join(",\n    ")
    );
    write("manifest.json", manifest.as_bytes())?;
    Ok(format!(
        "wrote {} programs to {}\n",
        programs.len(),
        out.display()
    ))
}
