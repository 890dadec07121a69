//! Tokens of a SQL*Plus / PL/SQL script, as far as the importer needs them.
//!
//! Why its own lexer: the rule-language lexer knows nothing of `/* */` comments, `q'[...]'`
//! quotes or `=>`, and the importer only needs tokens with byte spans (for `file:line:column`
//! diagnostics) and line numbers (an EXEC line's `-` continuation is the last token of its
//! line). Each statement that [`super::sqlplus`] cut is tokenized on its own
//! ([`tokenize_range`]), so an unclosed string cannot run into the next statement. Comments
//! and blanks are dropped. The only errors are unclosed strings, quoted names and comments;
//! any other character becomes a [`TokKind::Punct`].

/// One token: its kind, its byte range in the script and its 0-based line.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokKind,
    pub start: usize,
    pub end: usize,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TokKind {
    /// An unquoted identifier, as written (callers compare case-insensitively).
    Ident(String),
    /// `"Name"`: the text between the quotes.
    QuotedIdent(String),
    /// A string literal with its quoting undone (`'it''s'` → `it's`, `q'[a'b]'` → `a'b`).
    Str(String),
    /// A number as written (`42`, `1.5`, `2e3`).
    Number(String),
    /// `=>`
    Arrow,
    /// `||`
    Concat,
    /// A line holding only `/`: SQL*Plus's "run the block" terminator.
    SlashLine,
    /// Any other character or operator (`(`, `)`, `,`, `;`, `.`, `-`, `:=`, `!=` ...).
    Punct(String),
}

/// A lexical error: where, and what is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct LexError {
    pub start: usize,
    pub end: usize,
    pub message: String,
    pub expected: String,
}

/// Cut `text` into tokens; stops at the first unclosed string, quoted name or comment.
pub fn tokenize(text: &str) -> Result<Vec<Token>, LexError> {
    tokenize_range(text, 0, text.len(), 0)
}

/// Cut `text[start..end]` (one statement of a script) into tokens whose spans are offsets in
/// `text`; `line` is the 0-based line at `start`.
pub fn tokenize_range(
    text: &str,
    start: usize,
    end: usize,
    line: usize,
) -> Result<Vec<Token>, LexError> {
    let mut lx = Lexer {
        text,
        pos: start,
        end: end.min(text.len()),
        line,
        out: Vec::new(),
    };
    lx.run()?;
    Ok(lx.out)
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    /// Where to stop (exclusive).
    end: usize,
    line: usize,
    out: Vec<Token>,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..self.end].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.text[self.pos..self.end].chars().nth(n)
    }

    /// Advance over one character, counting lines.
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn push(&mut self, kind: TokKind, start: usize, line: usize) {
        self.out.push(Token {
            kind,
            start,
            end: self.pos,
            line,
        });
    }

    fn run(&mut self) -> Result<(), LexError> {
        while let Some(c) = self.peek() {
            let (start, line) = (self.pos, self.line);
            match c {
                c if c.is_whitespace() || c == '\u{feff}' => {
                    self.bump();
                }
                '-' if self.peek_at(1) == Some('-') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                '/' if self.peek_at(1) == Some('*') => self.block_comment()?,
                '/' if self.slash_alone_on_line() => {
                    self.bump();
                    self.push(TokKind::SlashLine, start, line);
                }
                '\'' => {
                    let s = self.string(start)?;
                    self.push(TokKind::Str(s), start, line);
                }
                'q' | 'Q' if self.peek_at(1) == Some('\'') => {
                    self.bump();
                    let s = self.q_string(start)?;
                    self.push(TokKind::Str(s), start, line);
                }
                'n' | 'N' if self.peek_at(1) == Some('\'') => {
                    self.bump();
                    let s = self.string(start)?;
                    self.push(TokKind::Str(s), start, line);
                }
                'n' | 'N'
                    if matches!(self.peek_at(1), Some('q' | 'Q'))
                        && self.peek_at(2) == Some('\'') =>
                {
                    self.bump();
                    self.bump();
                    let s = self.q_string(start)?;
                    self.push(TokKind::Str(s), start, line);
                }
                '"' => {
                    let s = self.quoted_ident(start)?;
                    self.push(TokKind::QuotedIdent(s), start, line);
                }
                c if c.is_alphabetic() => {
                    while self
                        .peek()
                        .is_some_and(|c| c.is_alphanumeric() || "_$#".contains(c))
                    {
                        self.bump();
                    }
                    let word = self.text[start..self.pos].to_string();
                    self.push(TokKind::Ident(word), start, line);
                }
                c if c.is_ascii_digit()
                    || (c == '.' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())) =>
                {
                    self.number();
                    let n = self.text[start..self.pos].to_string();
                    self.push(TokKind::Number(n), start, line);
                }
                _ => {
                    let two: String = self.text[self.pos..self.end].chars().take(2).collect();
                    let kind = match two.as_str() {
                        "=>" => Some(TokKind::Arrow),
                        "||" => Some(TokKind::Concat),
                        ":=" | "!=" | "<>" | "<=" | ">=" | "^=" => {
                            Some(TokKind::Punct(two.clone()))
                        }
                        _ => None,
                    };
                    match kind {
                        Some(k) => {
                            self.bump();
                            self.bump();
                            self.push(k, start, line);
                        }
                        None => {
                            self.bump();
                            let p = self.text[start..self.pos].to_string();
                            self.push(TokKind::Punct(p), start, line);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Is the `/` at `pos` the only non-blank character of its line?
    fn slash_alone_on_line(&self) -> bool {
        let before = &self.text[..self.pos];
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let after = &self.text[self.pos + 1..self.end];
        let line_end = after.find('\n').unwrap_or(after.len());
        before[line_start..].trim().is_empty() && after[..line_end].trim().is_empty()
    }

    fn block_comment(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        self.bump();
        self.bump();
        loop {
            match self.bump() {
                Some('*') if self.peek() == Some('/') => {
                    self.bump();
                    return Ok(());
                }
                Some(_) => {}
                None => {
                    return Err(LexError {
                        start,
                        end: start + 2,
                        message: "this comment is never closed: a `*/` is missing".into(),
                        expected: "`*/` to close the comment".into(),
                    })
                }
            }
        }
    }

    /// `'...'` with `''` for a quote; the lexer stands on the opening quote.
    fn string(&mut self, start: usize) -> Result<String, LexError> {
        let open = self.pos;
        self.bump();
        let mut value = String::new();
        loop {
            match self.bump() {
                Some('\'') if self.peek() == Some('\'') => {
                    self.bump();
                    value.push('\'');
                }
                Some('\'') => return Ok(value),
                Some(c) => value.push(c),
                None => {
                    return Err(LexError {
                        start,
                        end: open + 1,
                        message: "this string is never closed: a `'` is missing".into(),
                        expected: "`'` to close the string".into(),
                    })
                }
            }
        }
    }

    /// `q'X...X'` (Oracle's alternative quoting); the lexer stands on the `'`.
    fn q_string(&mut self, start: usize) -> Result<String, LexError> {
        self.bump();
        let unclosed = |end: usize, close: char| LexError {
            start,
            end,
            message: format!("this q-quoted string is never closed: `{close}'` is missing"),
            expected: format!("`{close}'` to close the string"),
        };
        let Some(open) = self.bump().filter(|c| !c.is_whitespace()) else {
            return Err(LexError {
                start,
                end: self.pos,
                message: "a q-quoted string needs a delimiter after `q'` (as in q'[text]')".into(),
                expected: "a delimiter such as `[`, `{`, `(`, `<` or `!`".into(),
            });
        };
        let close = match open {
            '[' => ']',
            '{' => '}',
            '(' => ')',
            '<' => '>',
            c => c,
        };
        let body_start = self.pos;
        loop {
            match self.bump() {
                Some(c) if c == close && self.peek() == Some('\'') => {
                    let body = self.text[body_start..self.pos - c.len_utf8()].to_string();
                    self.bump();
                    return Ok(body);
                }
                Some(_) => {}
                None => return Err(unclosed(body_start, close)),
            }
        }
    }

    fn quoted_ident(&mut self, start: usize) -> Result<String, LexError> {
        self.bump();
        let body_start = self.pos;
        loop {
            match self.bump() {
                Some('"') => return Ok(self.text[body_start..self.pos - 1].to_string()),
                Some(_) => {}
                None => {
                    return Err(LexError {
                        start,
                        end: start + 1,
                        message: "this quoted name is never closed: a `\"` is missing".into(),
                        expected: "`\"` to close the name".into(),
                    })
                }
            }
        }
    }

    fn number(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
            self.bump();
        }
        if matches!(self.peek(), Some('e' | 'E'))
            && (self.peek_at(1).is_some_and(|c| c.is_ascii_digit())
                || (matches!(self.peek_at(1), Some('+' | '-'))
                    && self.peek_at(2).is_some_and(|c| c.is_ascii_digit())))
        {
            self.bump();
            self.bump();
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokKind> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn strings_quotes_and_comments() {
        assert_eq!(
            kinds("x => 'it''s' -- c\n/* b */ q'[a'b]' || Q'!x!'"),
            vec![
                TokKind::Ident("x".into()),
                TokKind::Arrow,
                TokKind::Str("it's".into()),
                TokKind::Str("a'b".into()),
                TokKind::Concat,
                TokKind::Str("x".into()),
            ]
        );
    }

    #[test]
    fn slash_line_only_when_alone() {
        assert_eq!(
            kinds("END;\n /  \n1/2"),
            vec![
                TokKind::Ident("END".into()),
                TokKind::Punct(";".into()),
                TokKind::SlashLine,
                TokKind::Number("1".into()),
                TokKind::Punct("/".into()),
                TokKind::Number("2".into()),
            ]
        );
    }

    #[test]
    fn unclosed_things_are_errors() {
        assert!(tokenize("x('abc")
            .unwrap_err()
            .message
            .contains("never closed"));
        assert!(tokenize("/* x").is_err());
        assert!(tokenize("q'[abc'").is_err());
        assert!(tokenize("\"abc").is_err());
        assert!(tokenize("q'").is_err());
    }
}
