//! A cursor over one line's tokens and the `key=value` attributes of a statement: the
//! pieces every statement parser uses, with errors that point at the token.
//!
//! Cost: the cursor is an index into the line's tokens; attributes are a small vector
//! searched linearly (a statement has a handful).

use std::cell::RefCell;

use super::error::{ParseError, Pos};
use super::lexer::{Line, Tok, Token};

/// A cursor over one line's tokens.
pub(crate) struct Cur<'a> {
    line: &'a Line,
    i: usize,
}

/// A value of an attribute `key=value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AttrVal {
    /// A number, with its sign.
    Num(i128),
    /// A word (`hash`, `global`, `SIGNED`); `(none)` is the word `none`.
    Word(String),
    /// A quoted string.
    Str(Vec<u8>),
    /// `[N]`: a BTF type.
    Type(u32),
    /// A bare word without `=` (`weak`).
    Flag,
}

/// The attributes of a line; [`Attrs::finish`] refuses the ones nobody asked for.
pub(crate) struct Attrs<'a> {
    line: &'a Line,
    list: Vec<(String, AttrVal, Pos)>,
    used: RefCell<Vec<bool>>,
}

impl<'a> Cur<'a> {
    pub(crate) fn new(line: &'a Line) -> Cur<'a> {
        Cur { line, i: 0 }
    }

    fn tok_pos(&self, t: &Token) -> Pos {
        Pos::new(self.line.number, t.col)
    }

    /// The position of the next token, or just past the end of the line.
    pub(crate) fn pos(&self) -> Pos {
        match self.line.tokens.get(self.i) {
            Some(t) => self.tok_pos(t),
            None => Pos::new(
                self.line.number,
                self.line.text.trim_end().chars().count() as u32 + 1,
            ),
        }
    }

    pub(crate) fn syntax_at(&self, pos: Pos, message: String) -> ParseError {
        ParseError::syntax(pos, &self.line.text, message)
    }

    pub(crate) fn semantic_at(&self, pos: Pos, message: String) -> ParseError {
        ParseError::semantic(pos, &self.line.text, message)
    }

    /// "expected X, found Y" at the next token.
    pub(crate) fn expected(&self, what: &str) -> ParseError {
        let found = match self.peek() {
            Some(t) => t.to_string(),
            None => "the end of the line".into(),
        };
        self.syntax_at(self.pos(), format!("expected {what}, found {found}"))
    }

    pub(crate) fn peek(&self) -> Option<&'a Tok> {
        self.line.tokens.get(self.i).map(|t| &t.tok)
    }

    pub(crate) fn peek_at(&self, n: usize) -> Option<&'a Tok> {
        self.line.tokens.get(self.i + n).map(|t| &t.tok)
    }

    pub(crate) fn at_end(&self) -> bool {
        self.i >= self.line.tokens.len()
    }

    pub(crate) fn bump(&mut self) {
        self.i += 1;
    }

    pub(crate) fn peek_is_name(&self) -> bool {
        matches!(self.peek(), Some(Tok::Name(_)))
    }

    pub(crate) fn peek_word(&self) -> Option<&'a str> {
        match self.peek() {
            Some(Tok::Word(w)) => Some(w),
            _ => None,
        }
    }

    pub(crate) fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::Punct(q)) if *q == p)
    }

    pub(crate) fn eat_punct(&mut self, p: &str) -> bool {
        let hit = self.is_punct(p);
        if hit {
            self.i += 1;
        }
        hit
    }

    pub(crate) fn eat_word(&mut self, w: &str) -> bool {
        let hit = self.peek_word() == Some(w);
        if hit {
            self.i += 1;
        }
        hit
    }

    pub(crate) fn punct(&mut self, p: &str) -> Result<(), ParseError> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{p}`")))
        }
    }

    pub(crate) fn keyword(&mut self, w: &str) -> Result<(), ParseError> {
        if self.eat_word(w) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{w}`")))
        }
    }

    pub(crate) fn word(&mut self) -> Result<(String, Pos), ParseError> {
        let pos = self.pos();
        match self.peek() {
            Some(Tok::Word(w)) => {
                self.i += 1;
                Ok((w.clone(), pos))
            }
            _ => Err(self.expected("a word")),
        }
    }

    pub(crate) fn name(&mut self) -> Result<Vec<u8>, ParseError> {
        match self.peek() {
            Some(Tok::Name(n)) => {
                self.i += 1;
                Ok(n.clone())
            }
            _ => Err(self.expected("a quoted name")),
        }
    }

    pub(crate) fn string(&mut self) -> Result<Vec<u8>, ParseError> {
        match self.peek() {
            Some(Tok::Str(s)) => {
                self.i += 1;
                Ok(s.clone())
            }
            _ => Err(self.expected("a string")),
        }
    }

    pub(crate) fn sym(&mut self) -> Result<(String, Pos), ParseError> {
        let pos = self.pos();
        match self.peek() {
            Some(Tok::Sym(s)) => {
                self.i += 1;
                Ok((s.clone(), pos))
            }
            _ => Err(self.expected("a symbol (`@name`)")),
        }
    }

    pub(crate) fn num(&mut self) -> Result<u64, ParseError> {
        match self.peek() {
            Some(Tok::Num(n)) => {
                self.i += 1;
                Ok(*n)
            }
            _ => Err(self.expected("a number")),
        }
    }

    /// A number with an optional `+` or `-`.
    pub(crate) fn signed(&mut self) -> Result<i128, ParseError> {
        let neg = if self.eat_punct("-") {
            true
        } else {
            self.eat_punct("+");
            false
        };
        let n = i128::from(self.num()?);
        Ok(if neg { -n } else { n })
    }

    /// `[N]`.
    pub(crate) fn type_ref(&mut self) -> Result<u32, ParseError> {
        let pos = self.pos();
        self.punct("[")?;
        let n = self.num()?;
        self.punct("]")?;
        u32::try_from(n).map_err(|_| self.syntax_at(pos, "type id out of range".into()))
    }

    /// Fails unless the line is used up.
    pub(crate) fn end(&self) -> Result<(), ParseError> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.expected("the end of the line"))
        }
    }

    /// `key=value` and bare flag words up to the end of the line or a `{`.
    pub(crate) fn attrs(&mut self) -> Result<Attrs<'a>, ParseError> {
        let mut list = Vec::new();
        while !self.at_end() && !self.is_punct("{") {
            let (key, pos) = self.word()?;
            if !self.eat_punct("=") {
                list.push((key, AttrVal::Flag, pos));
                continue;
            }
            let val = match self.peek() {
                Some(Tok::Num(_)) | Some(Tok::Punct("-")) => AttrVal::Num(self.signed()?),
                Some(Tok::Word(w)) => {
                    self.i += 1;
                    AttrVal::Word(w.clone())
                }
                Some(Tok::Str(s)) => {
                    self.i += 1;
                    AttrVal::Str(s.clone())
                }
                Some(Tok::Punct("[")) => AttrVal::Type(self.type_ref()?),
                Some(Tok::Punct("(")) => {
                    self.i += 1;
                    let (w, _) = self.word()?;
                    self.punct(")")?;
                    AttrVal::Word(w)
                }
                _ => return Err(self.expected("a value")),
            };
            if list.iter().any(|(k, _, _)| *k == key) {
                return Err(self.syntax_at(pos, format!("`{key}` given twice")));
            }
            list.push((key, val, pos));
        }
        let n = list.len();
        Ok(Attrs {
            line: self.line,
            list,
            used: RefCell::new(vec![false; n]),
        })
    }
}

impl Attrs<'_> {
    pub(crate) fn error(&self, pos: Pos, message: String) -> ParseError {
        ParseError::syntax(pos, &self.line.text, message)
    }

    fn end_pos(&self) -> Pos {
        Pos::new(
            self.line.number,
            self.line.text.trim_end().chars().count() as u32 + 1,
        )
    }

    pub(crate) fn get(&self, key: &str) -> Option<(&AttrVal, &Pos)> {
        let i = self.list.iter().position(|(k, _, _)| k == key)?;
        self.used.borrow_mut()[i] = true;
        Some((&self.list[i].1, &self.list[i].2))
    }

    pub(crate) fn opt_i128(&self, key: &str) -> Result<Option<i128>, ParseError> {
        match self.get(key) {
            None => Ok(None),
            Some((AttrVal::Num(n), _)) => Ok(Some(*n)),
            Some((_, pos)) => Err(self.error(*pos, format!("`{key}` needs a number"))),
        }
    }

    pub(crate) fn i128(&self, key: &str) -> Result<i128, ParseError> {
        self.opt_i128(key)?
            .ok_or_else(|| self.error(self.end_pos(), format!("missing `{key}=`")))
    }

    fn ranged<T: TryFrom<i128>>(&self, key: &str, n: i128) -> Result<T, ParseError> {
        let pos = self.get(key).map(|(_, p)| *p).unwrap_or(self.end_pos());
        T::try_from(n).map_err(|_| self.error(pos, format!("`{key}` is out of range")))
    }

    pub(crate) fn opt_u64(&self, key: &str) -> Result<Option<u64>, ParseError> {
        match self.opt_i128(key)? {
            Some(n) => Ok(Some(self.ranged(key, n)?)),
            None => Ok(None),
        }
    }

    pub(crate) fn u32(&self, key: &str) -> Result<u32, ParseError> {
        let n = self.i128(key)?;
        self.ranged(key, n)
    }

    pub(crate) fn opt_u32(&self, key: &str) -> Result<Option<u32>, ParseError> {
        match self.opt_i128(key)? {
            Some(n) => Ok(Some(self.ranged(key, n)?)),
            None => Ok(None),
        }
    }

    pub(crate) fn i64(&self, key: &str) -> Result<i64, ParseError> {
        let n = self.i128(key)?;
        self.ranged(key, n)
    }

    pub(crate) fn word(&self, key: &str) -> Result<&str, ParseError> {
        match self.get(key) {
            Some((AttrVal::Word(w), _)) => Ok(w),
            Some((_, pos)) => Err(self.error(*pos, format!("`{key}` needs a word"))),
            None => Err(self.error(self.end_pos(), format!("missing `{key}=`"))),
        }
    }

    pub(crate) fn opt_word(&self, key: &str) -> Result<Option<&str>, ParseError> {
        match self.get(key) {
            None => Ok(None),
            Some((AttrVal::Word(w), _)) => Ok(Some(w)),
            Some((_, pos)) => Err(self.error(*pos, format!("`{key}` needs a word"))),
        }
    }

    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<&[u8]>, ParseError> {
        match self.get(key) {
            None => Ok(None),
            Some((AttrVal::Str(s), _)) => Ok(Some(s)),
            Some((_, pos)) => Err(self.error(*pos, format!("`{key}` needs a quoted string"))),
        }
    }

    pub(crate) fn opt_type(&self, key: &str) -> Result<Option<(u32, Pos)>, ParseError> {
        match self.get(key) {
            None => Ok(None),
            Some((AttrVal::Type(t), pos)) => Ok(Some((*t, *pos))),
            Some((_, pos)) => Err(self.error(*pos, format!("`{key}` needs a type `[N]`"))),
        }
    }

    pub(crate) fn flag(&self, key: &str) -> Result<bool, ParseError> {
        match self.get(key) {
            None => Ok(false),
            Some((AttrVal::Flag, _)) => Ok(true),
            Some((_, pos)) => Err(self.error(*pos, format!("`{key}` takes no value"))),
        }
    }

    /// Refuses attributes no one asked for.
    pub(crate) fn finish(&self) -> Result<(), ParseError> {
        let used = self.used.borrow();
        match self.list.iter().zip(used.iter()).find(|(_, &u)| !u) {
            Some(((k, _, pos), _)) => Err(self.error(*pos, format!("unknown attribute `{k}`"))),
            None => Ok(()),
        }
    }
}
