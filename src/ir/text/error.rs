//! Errors of the text parser: every one names the line and column and shows the line with a
//! caret under the place, so a person can fix the text without reading the parser.

use std::fmt;

/// A place in the text: 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    /// Line number, from 1.
    pub line: u32,
    /// Column (in characters), from 1.
    pub col: u32,
}

impl Pos {
    /// The position at `line`, `col`.
    pub fn new(line: u32, col: u32) -> Pos {
        Pos { line, col }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Why a text does not parse into a module.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The text is not in the format (a token that does not fit, a missing operand).
    #[error("{pos}: {message}\n{snippet}")]
    Syntax {
        /// Where.
        pos: Pos,
        /// What is wrong, lowercase.
        message: String,
        /// The line with a caret under `pos`.
        snippet: String,
    },
    /// A name that nothing defines, or a definition that clashes with another: an unknown
    /// label, map, data section, extern, function or type, a duplicate name.
    #[error("{pos}: {message}\n{snippet}")]
    Semantic {
        /// Where the name is used.
        pos: Pos,
        /// What is wrong, naming the name.
        message: String,
        /// The line with a caret under `pos`.
        snippet: String,
    },
    /// The `btf` block does not make valid BTF.
    #[error("the btf block starting at line {line} is not valid btf: {reason}")]
    Btf {
        /// Line of the `btf {`.
        line: u32,
        /// What the BTF parser said.
        reason: String,
    },
    /// The module parsed but breaks an invariant of the IR: what the IR verifier
    /// ([`crate::verify::verify_structure`]) reports, each finding at the line of the
    /// instruction or function it is about.
    #[error("the module does not verify:{}", VerifyList(.errors))]
    Verify {
        /// The findings: where (when the finding is about an instruction or a function of the
        /// text) and what.
        errors: Vec<(Option<Pos>, String)>,
    },
}

/// `  12 | text\n     |    ^`.
fn snippet(pos: Pos, text: &str) -> String {
    let num = pos.line.to_string();
    let pad = " ".repeat(num.len());
    let caret = " ".repeat(pos.col.saturating_sub(1) as usize);
    format!("{num} | {text}\n{pad} | {caret}^")
}

impl ParseError {
    pub(crate) fn syntax(pos: Pos, text: &str, message: String) -> ParseError {
        ParseError::Syntax {
            pos,
            snippet: snippet(pos, text),
            message,
        }
    }

    pub(crate) fn semantic(pos: Pos, text: &str, message: String) -> ParseError {
        ParseError::Semantic {
            pos,
            snippet: snippet(pos, text),
            message,
        }
    }

    /// Where the error is, when it is at one place.
    pub fn pos(&self) -> Option<Pos> {
        match self {
            ParseError::Syntax { pos, .. } | ParseError::Semantic { pos, .. } => Some(*pos),
            _ => None,
        }
    }
}

struct VerifyList<'a>(&'a [(Option<Pos>, String)]);

impl fmt::Display for VerifyList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (pos, message) in self.0 {
            match pos {
                Some(p) => write!(f, "\n{p}: {message}")?,
                None => write!(f, "\n{message}")?,
            }
        }
        Ok(())
    }
}
