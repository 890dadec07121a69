//! `value [NOT] LIKE pattern [ESCAPE 'c']`: `%` matches any run of characters (also none),
//! `_` exactly one character; the escape character makes the next `%`, `_` or itself literal.
//! Matching is case-sensitive, on characters (not bytes), as Oracle's LIKE.

use super::value::{SqlError, SqlResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Char(char),
    One,
    Any,
}

fn compile(pattern: &str, escape: Option<char>) -> SqlResult<Vec<Tok>> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            match chars.next() {
                Some(n) if n == '%' || n == '_' || Some(n) == escape => out.push(Tok::Char(n)),
                _ => {
                    return Err(SqlError::new(
                        "ORA-01424",
                        format!(
                            "missing or illegal character following the escape character in '{pattern}': \
                             the escape character must be followed by %, _ or itself"
                        ),
                    ))
                }
            }
        } else if c == '%' {
            if out.last() != Some(&Tok::Any) {
                out.push(Tok::Any);
            }
        } else if c == '_' {
            out.push(Tok::One);
        } else {
            out.push(Tok::Char(c));
        }
    }
    Ok(out)
}

/// The escape text of `ESCAPE '…'` as a character: exactly one (ORA-01425 otherwise).
pub fn escape_char(text: &str) -> SqlResult<char> {
    let mut c = text.chars();
    match (c.next(), c.next()) {
        (Some(ch), None) => Ok(ch),
        _ => Err(SqlError::new(
            "ORA-01425",
            format!("the escape character must be one character; found '{text}'"),
        )),
    }
}

/// Does `value` match `pattern`?
pub fn like(value: &str, pattern: &str, escape: Option<char>) -> SqlResult<bool> {
    let pat = compile(pattern, escape)?;
    let text: Vec<char> = value.chars().collect();
    // Greedy matching with one backtracking point (the last `%`): O(n × m) at worst.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pat.get(p) {
            Some(Tok::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Tok::One) => {
                t += 1;
                p += 1;
            }
            Some(Tok::Any) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return Ok(false),
            },
        }
    }
    Ok(pat[p..].iter().all(|x| *x == Tok::Any))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        let m = |v, p| like(v, p, None).unwrap();
        assert!(m("SUCCEEDED", "SUCC%"));
        assert!(m("SUCCEEDED", "%EEDED"));
        assert!(m("SUCCEEDED", "%CEE%"));
        assert!(m("SUCCEEDED", "S_CCEEDED"));
        assert!(!m("SUCCEEDED", "succ%"), "case-sensitive");
        assert!(!m("SUCCEEDED", "S_CEEDED"));
        assert!(m("", "%"));
        assert!(m("abc", "%%%"));
        assert!(m("aXbXc", "a%b%c"));
        assert!(!m("abc", "a%b%c%d"));
        assert!(m("été", "_t_"), "characters, not bytes");
        assert!(m("aaaaaaaaaaaaaaaaaaaaab", "%a%a%a%a%b"));
    }

    #[test]
    fn escapes() {
        let e = |v, p| like(v, p, Some('\\'));
        assert_eq!(e("50%", "50\\%"), Ok(true));
        assert_eq!(e("501", "50\\%"), Ok(false));
        assert_eq!(e("a_b", "a\\_b"), Ok(true));
        assert_eq!(e("axb", "a\\_b"), Ok(false));
        assert_eq!(e("a\\b", "a\\\\b"), Ok(true));
        assert_eq!(e("ab", "a\\b").map_err(|x| x.code), Err("ORA-01424"));
        assert_eq!(e("a", "a\\").map_err(|x| x.code), Err("ORA-01424"));
        assert_eq!(escape_char("\\"), Ok('\\'));
        assert_eq!(escape_char("ab").map_err(|x| x.code), Err("ORA-01425"));
    }
}
