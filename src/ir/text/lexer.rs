//! The lexer of the text form: one source line at a time into tokens with their columns.
//!
//! The format is line oriented (a statement never spans lines), so the lexer hands the
//! parser one [`Line`] per non-empty line, comments (`;` to the end of the line, outside
//! quotes) removed. Cost: one pass over the input; tokens own their text.

use super::error::{ParseError, Pos};

/// A token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A word: `r1`, `map`, `key_size`, `u32`, `bpf_map_lookup_elem`.
    Word(String),
    /// A number without its sign: `42`, `0x2a`.
    Num(u64),
    /// A double-quoted string, unescaped.
    Str(Vec<u8>),
    /// A single-quoted name (BTF), unescaped.
    Name(Vec<u8>),
    /// `@name` or `@"name"`: a map, data section, extern or function.
    Sym(String),
    /// `.Lname`: a label.
    Label(String),
    /// `.word`: a directive (`.file`, `.line`, `.core`).
    Directive(String),
    /// Punctuation or an operator: `{`, `=`, `+=`, `s>>=`, `*`, `(`, ...
    Punct(&'static str),
}

impl std::fmt::Display for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tok::Word(w) => write!(f, "`{w}`"),
            Tok::Num(n) => write!(f, "number {n}"),
            Tok::Str(_) => f.write_str("a string"),
            Tok::Name(_) => f.write_str("a quoted name"),
            Tok::Sym(s) => write!(f, "`@{s}`"),
            Tok::Label(l) => write!(f, "label `.L{l}`"),
            Tok::Directive(d) => write!(f, "directive `.{d}`"),
            Tok::Punct(p) => write!(f, "`{p}`"),
        }
    }
}

/// A token and the column (1-based, in characters) it starts at.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub col: u32,
}

/// One non-empty source line.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    /// 1-based line number.
    pub number: u32,
    /// The line's text as written (for error messages and `bytes` rows).
    pub text: String,
    /// Its tokens; never empty.
    pub tokens: Vec<Token>,
}

/// Operators, longest first so that the lexer takes the longest match.
const OPS: &[&str] = &[
    "s>>=", "<<=", ">>=", "s/=", "s%=", "s>=", "s<=", "+=", "-=", "*=", "/=", "|=", "&=", "%=",
    "^=", "==", "!=", ">=", "<=", "s>", "s<", "=", ">", "<", "&", "+", "-", "*", "(", ")", "[",
    "]", "{", "}", ",", ":",
];

/// Splits `input` into lines of tokens.
pub(crate) fn lex(input: &str) -> Result<Vec<Line>, ParseError> {
    let mut lines = Vec::new();
    for (i, text) in input.lines().enumerate() {
        let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let tokens = lex_line(text, number)?;
        if !tokens.is_empty() {
            lines.push(Line {
                number,
                text: text.to_string(),
                tokens,
            });
        }
    }
    Ok(lines)
}

fn lex_line(text: &str, number: u32) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err =
        |col: usize, msg: String| ParseError::syntax(Pos::new(number, col as u32 + 1), text, msg);
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == ';' {
            break;
        }
        let start = i;
        let tok = if c == '"' || c == '\'' {
            let (bytes, next) = quoted(&chars, i).map_err(|(at, m)| err(at, m))?;
            i = next;
            if c == '"' {
                Tok::Str(bytes)
            } else {
                Tok::Name(bytes)
            }
        } else if c == '@' {
            if chars.get(i + 1) == Some(&'"') {
                let (bytes, next) = quoted(&chars, i + 1).map_err(|(at, m)| err(at, m))?;
                i = next;
                let s = String::from_utf8(bytes)
                    .map_err(|_| err(start, "a symbol must be valid UTF-8".into()))?;
                Tok::Sym(s)
            } else {
                i += 1;
                let w = word(&chars, &mut i, true);
                if w.is_empty() {
                    return Err(err(start, "`@` must be followed by a name".into()));
                }
                Tok::Sym(w)
            }
        } else if c == '.' && chars.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic()) {
            i += 1;
            let w = word(&chars, &mut i, false);
            match w.strip_prefix('L') {
                Some(rest) if !rest.is_empty() => Tok::Label(rest.to_string()),
                _ => Tok::Directive(w),
            }
        } else if c.is_ascii_digit() {
            // A digit-initial word that is no number (`2a` in a row of hex bytes) stays a
            // word; the parser says what it expected there.
            let w = word(&chars, &mut i, false);
            match parse_number(&w) {
                Some(n) => Tok::Num(n),
                None => Tok::Word(w),
            }
        } else if c == 's' && chars.get(i + 1).is_some_and(|c| "<>/%".contains(*c)) {
            op(&chars, &mut i).ok_or_else(|| err(start, "unknown operator".into()))?
        } else if c.is_ascii_alphabetic() || c == '_' {
            Tok::Word(word(&chars, &mut i, false))
        } else {
            op(&chars, &mut i).ok_or_else(|| err(start, format!("unexpected character `{c}`")))?
        };
        out.push(Token {
            tok,
            col: start as u32 + 1,
        });
    }
    Ok(out)
}

fn op(chars: &[char], i: &mut usize) -> Option<Tok> {
    for &o in OPS {
        let n = o.chars().count();
        if chars.len() >= *i + n && chars[*i..*i + n].iter().copied().eq(o.chars()) {
            *i += n;
            return Some(Tok::Punct(o));
        }
    }
    None
}

/// Letters, digits and `_` (and `.`/`$` in symbols).
fn word(chars: &[char], i: &mut usize, symbol: bool) -> String {
    let start = *i;
    while *i < chars.len() {
        let c = chars[*i];
        if c.is_ascii_alphanumeric() || c == '_' || (symbol && (c == '.' || c == '$')) {
            *i += 1;
        } else {
            break;
        }
    }
    chars[start..*i].iter().collect()
}

/// `42`, `0x2a` (digits only; a sign is a separate token).
pub(crate) fn parse_number(w: &str) -> Option<u64> {
    match w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => w.parse().ok(),
    }
}

/// A quoted string starting at `chars[start]` (the quote): its bytes and the index after the
/// closing quote.
fn quoted(chars: &[char], start: usize) -> Result<(Vec<u8>, usize), (usize, String)> {
    let q = chars[start];
    let mut out = Vec::new();
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if c == q {
            return Ok((out, i + 1));
        }
        if c == '\\' {
            let e = *chars
                .get(i + 1)
                .ok_or((i, "unfinished escape".to_string()))?;
            i += 2;
            match e {
                'n' => out.push(b'\n'),
                't' => out.push(b'\t'),
                '\\' => out.push(b'\\'),
                '"' => out.push(b'"'),
                '\'' => out.push(b'\''),
                'x' => {
                    let hex: String = chars.get(i..i + 2).unwrap_or_default().iter().collect();
                    let b = u8::from_str_radix(&hex, 16)
                        .map_err(|_| (i - 2, "`\\x` needs two hex digits".to_string()))?;
                    out.push(b);
                    i += 2;
                }
                other => return Err((i - 2, format!("unknown escape `\\{other}`"))),
            }
            continue;
        }
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        i += 1;
    }
    Err((start, "unterminated string".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s)
            .unwrap()
            .remove(0)
            .tokens
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn operators_words_and_symbols() {
        assert_eq!(
            toks("r1 s>>= 0x3 ; comment"),
            vec![Tok::Word("r1".into()), Tok::Punct("s>>="), Tok::Num(3)]
        );
        assert_eq!(
            toks("w0 = (s8)w1"),
            vec![
                Tok::Word("w0".into()),
                Tok::Punct("="),
                Tok::Punct("("),
                Tok::Word("s8".into()),
                Tok::Punct(")"),
                Tok::Word("w1".into())
            ]
        );
        assert_eq!(
            toks("r2 = data @.rodata.str1.1+8"),
            vec![
                Tok::Word("r2".into()),
                Tok::Punct("="),
                Tok::Word("data".into()),
                Tok::Sym(".rodata.str1.1".into()),
                Tok::Punct("+"),
                Tok::Num(8)
            ]
        );
        assert_eq!(
            toks(".L3: .line @\"a b\" 'x\\'y' \"q;\\x41\""),
            vec![
                Tok::Label("3".into()),
                Tok::Punct(":"),
                Tok::Directive("line".into()),
                Tok::Sym("a b".into()),
                Tok::Name(b"x'y".to_vec()),
                Tok::Str(b"q;A".to_vec())
            ]
        );
    }

    #[test]
    fn errors_name_the_column() {
        let e = lex("\n  r1 = \"abc").unwrap_err();
        assert_eq!(e.pos(), Some(Pos::new(2, 8)));
        let e = lex("r1 = #").unwrap_err().to_string();
        assert!(e.starts_with("1:6: unexpected character `#`"), "{e}");
        assert!(e.contains("r1 = #\n  |      ^"), "{e}");
    }
}
