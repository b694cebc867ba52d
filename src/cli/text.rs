//! `bpfir dis`, `bpfir asm` and `bpfir fmt`: the text form of a module on the command line.
//!
//! * `dis OBJ` prints the object as text (the same text as `dump`).
//! * `asm FILE -o OUT.o` parses text and writes an ELF object with `write_object`.
//! * `fmt FILE` prints the canonical form of a text (what the printer writes for it).
//!
//! Errors name the file, then the line and column, and show the line.

use bpfir::ir::Module;

/// What a command prints, or why it failed.
pub type TextResult = Result<String, Box<dyn std::error::Error>>;

fn parse_file(path: &str) -> Result<Module, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    bpfir::ir::text::parse(&text).map_err(|e| format!("{path}:{e}").into())
}

/// `dis OBJ`: the object's text.
pub fn dis(path: &str) -> TextResult {
    let data = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let module = Module::read(&data).map_err(|e| format!("{path}: {e}"))?;
    Ok(module.text().to_string())
}

/// `asm FILE -o OUT`: parse the text, write the object; prints nothing.
pub fn asm(args: &[String]) -> TextResult {
    let mut input = None;
    let mut out = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-o" => out = Some(it.next().ok_or("-o needs a file name")?.clone()),
            _ if input.is_none() => input = Some(a.clone()),
            _ => return Err(format!("unexpected argument `{a}`").into()),
        }
    }
    let input = input.ok_or("usage: bpfir asm FILE -o OUT.o")?;
    let out = out.ok_or("usage: bpfir asm FILE -o OUT.o")?;
    let module = parse_file(&input)?;
    let bytes = bpfir::write::write_object(&module).map_err(|e| format!("{input}: {e}"))?;
    std::fs::write(&out, bytes).map_err(|e| format!("{out}: {e}"))?;
    Ok(String::new())
}

/// `fmt FILE`: the canonical text.
pub fn fmt(path: &str) -> TextResult {
    Ok(parse_file(path)?.text().to_string())
}
