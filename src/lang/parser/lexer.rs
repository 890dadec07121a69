//! A small token scanner that runs before pest.
//!
//! Pest stops at the first error, but a person fixing a file wants every error at once. The
//! scanner knows just enough of the lexical rules (strings, quoted names, comments, words,
//! punctuation) to split a file into declarations and a block into statements, so each piece
//! can be parsed on its own and the parse can resume after an error. It also finds what pest
//! would report badly or not survive: unterminated strings and absurdly deep parentheses.
//! Finally it collapses a condition's source text for views (`condition_text`).

/// What a token is; trivia (whitespace, comments) is never returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokKind {
    /// Letters, digits, `_`, `$`, `#` (names, keywords, numbers, durations).
    Word,
    /// `"..."`
    Quoted,
    /// `'...'`
    Str,
    /// Any other single character.
    Punct(char),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tok {
    pub kind: TokKind,
    pub start: usize,
    pub end: usize,
}

/// A lexical problem found by the scanner (offsets into the scanned text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexError {
    /// A `'` string that is never closed.
    UnclosedString { start: usize },
    /// A `"` name that is never closed.
    UnclosedQuoted { start: usize },
    /// Parentheses nested deeper than the limit; offset of the first `(` past the limit.
    TooDeep { at: usize },
}

/// The deepest parenthesis nesting accepted in a condition.
pub const MAX_PAREN_DEPTH: usize = 200;

pub fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '#'
}

/// Scan `text` into tokens (offsets relative to `text`), with every lexical error found.
pub fn scan(text: &str) -> (Vec<Tok>, Vec<LexError>) {
    scan_up_to(text, usize::MAX)
}

/// Scan at most `max_tokens` tokens.
fn scan_up_to(text: &str, max_tokens: usize) -> (Vec<Tok>, Vec<LexError>) {
    let bytes = text.as_bytes();
    let mut toks = Vec::new();
    let mut errors = Vec::new();
    let mut depth = 0usize;
    let mut too_deep_reported = false;
    let mut i = 0;
    while i < bytes.len() && toks.len() < max_tokens {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
        } else if text[i..].starts_with('\u{FEFF}') {
            i += '\u{FEFF}'.len_utf8();
        } else if b == b'#' || (b == b'-' && bytes.get(i + 1) == Some(&b'-')) {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if b == b'\'' || b == b'"' {
            let start = i;
            i += 1;
            let mut closed = false;
            while i < bytes.len() {
                if bytes[i] == b {
                    if b == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    closed = true;
                    break;
                }
                i += 1;
            }
            if !closed {
                errors.push(if b == b'\'' {
                    LexError::UnclosedString { start }
                } else {
                    LexError::UnclosedQuoted { start }
                });
            }
            let kind = if b == b'\'' {
                TokKind::Str
            } else {
                TokKind::Quoted
            };
            toks.push(Tok {
                kind,
                start,
                end: i,
            });
        } else if is_ident_char(b as char) {
            let start = i;
            while i < bytes.len() && is_ident_char(bytes[i] as char) {
                i += 1;
            }
            toks.push(Tok {
                kind: TokKind::Word,
                start,
                end: i,
            });
        } else {
            // One character, which may be several bytes long.
            let c = text[i..].chars().next().unwrap_or('\u{FFFD}');
            let len = c.len_utf8().max(1);
            if c == '(' {
                depth += 1;
                if depth > MAX_PAREN_DEPTH && !too_deep_reported {
                    errors.push(LexError::TooDeep { at: i });
                    too_deep_reported = true;
                }
            } else if c == ')' {
                depth = depth.saturating_sub(1);
            } else if c == ';' || c == '{' || c == '}' {
                // Parentheses never span statements; a missing `)` must not make every
                // later condition count as deeply nested.
                depth = 0;
            }
            toks.push(Tok {
                kind: TokKind::Punct(c),
                start: i,
                end: i + len,
            });
            i += len;
        }
    }
    (toks, errors)
}

/// The text with comments removed and every run of whitespace/comments collapsed to one
/// space (strings and quoted names are kept exactly), trimmed.
pub fn collapse(text: &str) -> String {
    let (toks, _) = scan(text);
    let mut out = String::with_capacity(text.len());
    let mut prev_end: Option<usize> = None;
    for t in toks {
        if let Some(pe) = prev_end {
            if t.start > pe {
                out.push(' ');
            }
        }
        out.push_str(&text[t.start..t.end.min(text.len())]);
        prev_end = Some(t.end);
    }
    out
}

/// The token starting at or after `offset` in `text` (for "found ..." in messages).
pub fn token_at(text: &str, offset: usize) -> Option<Tok> {
    let offset = offset.min(text.len());
    if !text.is_char_boundary(offset) {
        return None;
    }
    let (toks, _) = scan_up_to(&text[offset..], 1);
    toks.first().map(|t| Tok {
        kind: t.kind,
        start: t.start + offset,
        end: t.end + offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_whitespace_and_comments() {
        assert_eq!(
            collapse("  A  SUCCEEDED -- done\n\tAND  B FAILED  "),
            "A SUCCEEDED AND B FAILED"
        );
        assert_eq!(collapse("x = 'a  -- b'"), "x = 'a  -- b'");
        assert_eq!(collapse(":A.state='X'"), ":A.state='X'");
    }

    #[test]
    fn names_may_contain_hash() {
        let (toks, errs) = scan("A#1 # comment\nB");
        assert!(errs.is_empty());
        assert_eq!(toks.len(), 2);
        assert_eq!(&"A#1 # comment\nB"[toks[0].start..toks[0].end], "A#1");
    }

    #[test]
    fn reports_unclosed_and_deep() {
        let (_, errs) = scan("x 'abc");
        assert_eq!(errs, vec![LexError::UnclosedString { start: 2 }]);
        let deep = "(".repeat(MAX_PAREN_DEPTH + 5);
        let (_, errs) = scan(&deep);
        assert_eq!(
            errs,
            vec![LexError::TooDeep {
                at: MAX_PAREN_DEPTH
            }]
        );
    }
}
