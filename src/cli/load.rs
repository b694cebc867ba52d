//! `bpfir load`: create the maps and load every program into the kernel; and the options
//! `load` and `lower` share.
//!
//! What can be checked without the kernel is checked before the first system call: the
//! object's byte order, and extern functions and variables that no kernel provides (the
//! object needs a static link first).

use std::fmt::Write as _;
use std::path::Path;

use std::sync::Arc;

use bpfir::btf::Kind;
use bpfir::co_re::Targets;
use bpfir::ir::{ExternKind, Module};
use bpfir::load::{load, CoReMode, LoadOptions};

use super::{read_btf, read_module, Context, Output};

/// The options `load` and `lower` share: the object, CO-RE, which programs.
#[derive(clap::Args, Default)]
pub struct Common {
    /// The BPF ELF object.
    pub object: String,
    /// Relocate CO-RE against this BTF (a raw BTF file or an object's .BTF) instead of the
    /// running kernel's.
    #[arg(long, value_name = "FILE")]
    pub target_btf: Option<String>,
    /// Only this program (repeatable); default: every program.
    #[arg(long = "program", value_name = "NAME")]
    pub programs: Vec<String>,
    /// Let the kernel do the CO-RE relocations (BPF_PROG_LOAD with core_relo records).
    #[arg(long, conflicts_with = "target_btf")]
    pub kernel_co_re: bool,
}

/// Arguments of `bpfir load`.
#[derive(clap::Args, Default)]
#[command(
    about = "Create the maps and load every program into the kernel",
    long_about = "Create the maps, relocate CO-RE (against --target-btf, the running kernel, or \
                  by the kernel with --kernel-co-re) and load every program with BPF_PROG_LOAD; \
                  with --run, run each once with BPF_PROG_TEST_RUN. Exit status 1 if a program \
                  is refused or a run fails. Needs root (or CAP_BPF).",
    after_help = "Examples:\n  bpfir load testdata/calls.bpfel.o --run\n  bpfir load testdata/tracing.bpfel.o --program xdp_count --run --json\n  bpfir load testdata/core.bpfel.o --target-btf /sys/kernel/btf/vmlinux"
)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Run each loaded program once (BPF_PROG_TEST_RUN on a zeroed 64-byte packet).
    #[arg(long)]
    pub run: bool,
}

impl Common {
    pub(super) fn options(&self) -> Result<LoadOptions, String> {
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

/// What makes `module` unloadable whatever the kernel says, checked before any system
/// call: a byte order that is not this machine's, and extern functions or variables that
/// only a static link can provide (an extern outside `.ksyms` is not a kernel symbol).
pub fn check_loadable(path: &str, module: &Module) -> Result<(), String> {
    let native = bpfir::Endian::native();
    if module.endian() != native {
        let name = |e| match e {
            bpfir::Endian::Little => "little",
            bpfir::Endian::Big => "big",
        };
        return Err(format!(
            "{path}: a {}-endian object cannot be loaded on this {}-endian machine \
             (build it with clang -target bpf, or -target bpf{} to match)",
            name(module.endian()),
            name(native),
            if native == bpfir::Endian::Little { "el" } else { "eb" },
        ));
    }
    let ksyms: Vec<_> = module
        .btf
        .as_ref()
        .and_then(|btf| btf.type_by_name_kind(".ksyms", Kind::Datasec).map(|d| (btf, d)))
        .map(|(btf, d)| btf.datasec_vars(d).iter().map(|v| v.ty).collect())
        .unwrap_or_default();
    let to_link: Vec<&str> = module
        .externs()
        .filter(|(_, e)| !e.weak && matches!(e.kind, ExternKind::Func | ExternKind::Ksym))
        .filter(|(_, e)| e.btf.is_some_and(|t| !ksyms.contains(&t)))
        .map(|(_, e)| e.name.as_str())
        .collect();
    if !to_link.is_empty() {
        return Err(format!(
            "{path}: needs linking: it uses {} but does not define {}, and {} not kernel \
             symbols (not in .ksyms); link it with the objects that define {} first: \
             bpfir link {path} OTHER.o -o linked.o",
            to_link.join(", "),
            if to_link.len() == 1 { "it" } else { "them" },
            if to_link.len() == 1 { "it is" } else { "they are" },
            if to_link.len() == 1 { "it" } else { "them" },
        ));
    }
    Ok(())
}

/// Runs `bpfir load`.
pub fn run(args: &Args, ctx: &Context) -> Result<Output, String> {
    let (out, ok) = run_load(args, ctx.json)?;
    Ok(Output {
        text: out.clone(),
        json: out,
        success: ok,
    })
}

/// A JSON string literal.
pub(super) fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    let _ = super::json::write_str(&mut out, s);
    out
}

/// `bpfir load`: returns the report and whether every selected program loaded (and ran).
pub fn run_load(args: &Args, json: bool) -> Result<(String, bool), String> {
    let common = &args.common;
    let module = read_module(&common.object)?;
    for name in &common.programs {
        if !module.programs().any(|(_, f)| &f.name == name) {
            return Err(format!("{}: no program named {name}", common.object));
        }
    }
    check_loadable(&common.object, &module)?;
    let opts = common.options()?;
    let loaded = load(&module, &opts).map_err(|e| format!("{}: {e}", common.object))?;
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
        if json {
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
