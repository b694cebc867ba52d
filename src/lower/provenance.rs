//! Provenance: from an instruction slot of a lowered program back to the IR, and a verifier
//! log rewritten with it.
//!
//! [`LoweredProgram::insn_ids`] records the [`InsnId`] every lowered instruction came from;
//! through it a slot names its function, source line, CO-RE record and origin tag (the
//! pass that inserted the instruction, see [`Module::insn_origin`]). [`explain_log`] reads a
//! verifier log (any level), appends that information to every `N: (..) insn` line, and
//! describes the final error at the instruction the verifier stopped at.
//!
//! Costs: [`LoweredProgram::slot_origin`] builds a slot table (O(instructions)) and
//! searches it; [`explain_log`] builds the table once, then costs a binary search per log
//! line (and a walk of the function for an instruction's position).

use std::fmt;

use crate::ir::{AnyEntity, CoreId, FuncId, InsnId, LineId, Module, OriginId};

use super::LoweredProgram;

/// Where one instruction slot of a lowered program came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotOrigin {
    /// The slot, as the verifier numbers instructions.
    pub slot: usize,
    /// The IR instruction.
    pub insn: InsnId,
    /// True for the second slot of an `ld_imm64`.
    pub second_half: bool,
    /// The function holding the instruction (`None` if it was removed since lowering).
    pub func: Option<FuncId>,
    /// Its position in the function.
    pub index: Option<usize>,
    /// The source line of its statement (see [`statement_line`]).
    pub line: Option<LineId>,
    /// Its CO-RE relocation.
    pub core: Option<CoreId>,
    /// The pass that inserted it.
    pub origin: Option<OriginId>,
}

impl LoweredProgram {
    /// Where slot `slot` came from, read in `module` (the module the program was lowered
    /// from, or a clone of it, such as the CO-RE-relocated copy a load lowers).
    pub fn slot_origin(&self, module: &Module, slot: usize) -> Option<SlotOrigin> {
        self.slot_origin_in(module, &self.slot_starts(), slot)
    }

    /// [`slot_origin`](Self::slot_origin) with the slot table ([`slot_starts`](Self::slot_starts))
    /// computed by the caller, for many lookups.
    fn slot_origin_in(&self, module: &Module, starts: &[usize], slot: usize) -> Option<SlotOrigin> {
        let (i, second_half) = self.entry_at_slot(starts, slot)?;
        let insn = self.insn_ids[i];
        let func = module.func_of(insn);
        Some(SlotOrigin {
            slot,
            insn,
            second_half,
            func,
            index: func.and_then(|f| module.func_insns(f).position(|i| i == insn)),
            line: statement_line(module, insn),
            core: module.core_of(insn),
            origin: module.insn_origin(insn),
        })
    }
}

/// The source line `id` belongs to: its own, else (as `line_info` records apply until the
/// next one) the nearest one before it in its function, else the function's first line
/// (the line lowering gives a function's start).
pub fn statement_line(module: &Module, id: InsnId) -> Option<LineId> {
    let mut at = Some(id);
    // A body has at most the module's instructions: a walk longer than that is in a circle
    // (which no public edit makes), and stops.
    for _ in 0..=module.n_insns() {
        let Some(i) = at else { break };
        if let Some(l) = module.line_of(i) {
            return Some(l);
        }
        at = module.prev_insn(i);
    }
    let f = module.func_of(id)?;
    module.func_insns(f).find_map(|i| module.line_of(i))
}

/// A source line as `file:line:col: text`, its strings read from the module's BTF (the
/// line's id, as the dump prints it, if the module does not have it).
pub fn source_line_text(module: &Module, line: LineId) -> String {
    let Ok(l) = module.try_line(line) else {
        return line.to_string();
    };
    let s = |o| {
        module
            .btf
            .as_ref()
            .and_then(|b| b.str(o).ok())
            .unwrap_or("?")
            .to_string()
    };
    format!("{}:{}:{}: {}", s(l.file), l.line, l.col, s(l.text).trim())
}

/// The short note appended to a log line: `i12 prog+3 file.c:40 [pass instrument]`.
fn note(module: &Module, o: &SlotOrigin) -> String {
    let mut out = AnyEntity::Insn(o.insn).to_string();
    if let (Some(f), Some(i)) = (o.func, o.index) {
        out.push_str(&format!(" {}+{i}", module.function(f).name));
    }
    if let Some(l) = o.line {
        let line = module.line(l);
        let file = module
            .btf
            .as_ref()
            .and_then(|b| b.str(line.file).ok())
            .unwrap_or("?");
        let file = file.rsplit('/').next().unwrap_or(file);
        out.push_str(&format!(" {file}:{}", line.line));
    }
    if let Some(p) = o.origin.and_then(|id| module.origin(id)) {
        out.push_str(&format!(" [pass {}]", p.pass));
    }
    out
}

/// The error a kernel verifier log ends with, at the instruction it names (not to be
/// confused with [`crate::verify::VerifierError`], what bpfir's own IR verifier reports).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelVerifierError {
    /// The verifier's message (the lines after its last instruction line).
    pub message: String,
    /// The text of the instruction the verifier stopped at, as it printed it.
    pub insn_text: Option<String>,
    /// Where that instruction came from.
    pub at: Option<SlotOrigin>,
    /// What [`at`](Self::at) says, in words: function, instruction, source line, origin.
    pub context: Vec<String>,
}

impl fmt::Display for KernelVerifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "verifier: {}", self.message)?;
        for c in &self.context {
            write!(f, "\n  {c}")?;
        }
        Ok(())
    }
}

/// A verifier log mapped back to the IR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExplainedLog {
    /// The log, every `N: (..) insn` line followed by `  ; <- i12 func+3 file.c:40 [pass p]`.
    pub text: String,
    /// The final error, when the log ends in one after an instruction line.
    pub error: Option<KernelVerifierError>,
}

/// `N: (xx) text` → `(N, text)`.
fn insn_line(line: &str) -> Option<(usize, &str)> {
    let (n, rest) = line.split_once(": (")?;
    let slot = n.trim().parse().ok()?;
    let (code, text) = rest.split_once(") ")?;
    (code.len() == 2 && code.bytes().all(|b| b.is_ascii_hexdigit())).then_some((slot, text))
}

/// Lines that close every log and are no part of the error.
fn is_summary(line: &str) -> bool {
    [
        "processed ",
        "verification time",
        "stack depth",
        "mark_precise",
    ]
    .iter()
    .any(|p| line.starts_with(p))
}

/// A state line (`12: R1=ctx() R10=fp0`, `from 3 to 5: ...`).
fn is_state(line: &str) -> bool {
    line.starts_with("from ")
        || line.split_once(':').is_some_and(|(n, rest)| {
            n.parse::<usize>().is_ok() && rest.trim_start().starts_with('R')
        })
}

/// Rewrites `log` (of the program `lowered`, lowered from `module`) with the provenance of
/// every instruction it prints, and extracts its final error.
pub fn explain_log(module: &Module, lowered: &LoweredProgram, log: &str) -> ExplainedLog {
    let mut text = String::with_capacity(log.len() * 2);
    let mut last_insn: Option<(usize, String, usize)> = None;
    let starts = lowered.slot_starts();
    let lines: Vec<&str> = log.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        text.push_str(line);
        if let Some((slot, insn)) = insn_line(line) {
            let insn = insn.split(" ; ").next().unwrap_or(insn).trim().to_string();
            if let Some(o) = lowered.slot_origin_in(module, &starts, slot) {
                text.push_str("  ; <- ");
                text.push_str(&note(module, &o));
            }
            last_insn = Some((slot, insn, i));
        }
        text.push('\n');
    }
    let error = last_insn.map(|(slot, insn_text, at_line)| {
        let message = lines[at_line + 1..]
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty() && !is_summary(l) && !is_state(l) && !l.starts_with(';'))
            .collect::<Vec<_>>()
            .join("; ");
        let at = lowered.slot_origin_in(module, &starts, slot);
        let mut context = vec![format!("at instruction {slot}: {insn_text}")];
        if let Some(o) = &at {
            let mut ir = format!("IR: {}", AnyEntity::Insn(o.insn));
            if let (Some(f), Some(i)) = (o.func, o.index) {
                ir.push_str(&format!(
                    " (#{i} of function {}): {}",
                    module.function(f).name,
                    module.display_insn(o.insn)
                ));
            }
            context.push(ir);
            match o.line {
                Some(l) => context.push(format!("source: {}", source_line_text(module, l))),
                None => context.push("source: no source line".into()),
            }
            if let Some(p) = o.origin.and_then(|id| module.origin(id)) {
                context.push(format!("inserted by pass {}", p.pass));
            }
            if let Some(c) = o.core {
                let relo = module.core_relo(c);
                context.push(format!("CO-RE relocation: {:?}", relo.kind));
            }
        }
        KernelVerifierError {
            message: if message.is_empty() {
                "(no message after the last instruction)".into()
            } else {
                message
            },
            insn_text: Some(insn_text),
            at,
            context,
        }
    });
    ExplainedLog { text, error }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::{AluClass, AluOp, Insn, Operand, Reg};
    use crate::ir::{Function, Meta};
    use crate::lower::{lower, Bindings};

    #[test]
    fn a_log_is_mapped_to_ids_functions_and_origins() {
        let mut m = Module::new(crate::Endian::Little);
        let f = m.add_function(Function::new("prog", "socket", true));
        let pass = m.add_origin("demo");
        let mov = |dst, src| Insn::Alu {
            class: AluClass::Alu64,
            op: AluOp::Mov,
            dst,
            src,
        };
        let a = m
            .append(f, mov(Reg::R0, Operand::Imm(0)), Meta::default())
            .unwrap();
        let b = m
            .append(
                f,
                mov(Reg::R0, Operand::Reg(Reg::R2)),
                Meta::new().with_origin(pass),
            )
            .unwrap();
        m.append(f, Insn::Exit, Meta::default()).unwrap();
        let l = lower(&m, f, &Bindings::default()).unwrap();
        assert_eq!(l.insn_at_slot(1), Some((b, false)));
        assert_eq!(l.insn_at_slot(3), None);
        let log =
            "func#0 @0\n0: R1=ctx() R10=fp0\n0: (b7) r0 = 0                        ; R0_w=0\n\
                   1: (bf) r0 = r2\nR2 !read_ok\nprocessed 2 insns (limit 1000000)\n";
        let e = explain_log(&m, &l, log);
        assert!(
            e.text
                .contains(&format!("<- {} prog+0", AnyEntity::Insn(a))),
            "{}",
            e.text
        );
        assert!(e.text.contains("[pass demo]"), "{}", e.text);
        let err = e.error.unwrap();
        assert_eq!(err.message, "R2 !read_ok");
        assert_eq!(err.at.unwrap().insn, b);
        let shown = err.to_string();
        assert!(shown.contains("inserted by pass demo"), "{shown}");
        assert!(shown.contains("#1 of function prog"), "{shown}");
    }

    #[test]
    fn ld_imm64_second_halves_and_foreign_lines() {
        assert_eq!(insn_line("12: (18) r1 = 0x0"), Some((12, "r1 = 0x0")));
        assert_eq!(insn_line("12: R1=ctx()"), None);
        assert_eq!(insn_line("; x = 1 @ a.c:3"), None);
        assert!(is_state("3: R0=1 R10=fp0"));
        assert!(!is_state("R2 !read_ok"));
    }
}
