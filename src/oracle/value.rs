//! Argument values of a DBMS_SCHEDULER call: the few literal forms scripts use.
//!
//! Why only literals: the importer does not run PL/SQL. Strings (with `||` of literals; `''`
//! is NULL, as in Oracle),
//! numbers, NULL, TRUE/FALSE and day-to-second intervals (`INTERVAL '30' MINUTE`,
//! `INTERVAL '1 02:00:00' DAY TO SECOND`, `TO_DSINTERVAL('0 00:30:00')`, `TO_DSINTERVAL('PT30M')`,
//! `NUMTODSINTERVAL(30, 'MINUTE')`) are understood; anything else (`SYSTIMESTAMP`, variables,
//! function calls) is kept as [`Value::Expr`] with its source text, so the translator can say
//! exactly what it could not use.

use super::lexer::{TokKind, Token};
use crate::lang::duration::Millis;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    /// A number as written (may be signed or decimal).
    Num(String),
    Bool(bool),
    Null,
    /// A day-to-second interval, in milliseconds.
    Interval(Millis),
    /// Any other expression, as written in the script.
    Expr(String),
}

impl Value {
    /// How the value reads in a warning.
    pub fn describe(&self) -> String {
        match self {
            Value::Str(s) => format!("'{}'", s.replace('\'', "''")),
            Value::Num(n) => n.clone(),
            Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Value::Null => "NULL".to_string(),
            Value::Interval(ms) => crate::lang::duration::format_duration(*ms),
            Value::Expr(e) => e.clone(),
        }
    }
}

/// The value of the tokens of one argument; `source` is the script (for [`Value::Expr`]).
pub fn eval(toks: &[Token], source: &str) -> Value {
    let raw = || match (toks.first(), toks.last()) {
        (Some(a), Some(b)) => Value::Expr(source[a.start..b.end].to_string()),
        _ => Value::Expr(String::new()),
    };
    literal(toks).unwrap_or_else(raw)
}

fn word(t: &Token) -> Option<String> {
    match &t.kind {
        TokKind::Ident(w) => Some(w.to_ascii_uppercase()),
        _ => None,
    }
}

fn punct(t: Option<&Token>, p: &str) -> bool {
    matches!(t.map(|t| &t.kind), Some(TokKind::Punct(x)) if x == p)
}

fn literal(toks: &[Token]) -> Option<Value> {
    let first = toks.first()?;
    let head = word(first);
    match (toks.len(), head.as_deref()) {
        (1, Some("NULL")) => return Some(Value::Null),
        (1, Some("TRUE")) => return Some(Value::Bool(true)),
        (1, Some("FALSE")) => return Some(Value::Bool(false)),
        (_, Some("INTERVAL")) => return interval_literal(&toks[1..]).map(Value::Interval),
        (_, Some("TO_DSINTERVAL")) => return to_dsinterval(&toks[1..]).map(Value::Interval),
        (_, Some("NUMTODSINTERVAL")) => return numtodsinterval(&toks[1..]).map(Value::Interval),
        _ => {}
    }
    if toks.len() == 2 && punct(Some(first), "-") {
        if let TokKind::Number(n) = &toks[1].kind {
            return Some(Value::Num(format!("-{n}")));
        }
    }
    if toks.len() == 1 {
        if let TokKind::Number(n) = &first.kind {
            return Some(Value::Num(n.clone()));
        }
    }
    // 'a' || 'b' || 3
    let mut out = String::new();
    let mut any_string = false;
    for (i, t) in toks.iter().enumerate() {
        match (&t.kind, i % 2) {
            (TokKind::Str(s), 0) => {
                any_string = true;
                out.push_str(s);
            }
            (TokKind::Number(n), 0) => out.push_str(n),
            (TokKind::Concat, 1) => {}
            _ => return None,
        }
    }
    if !(any_string && toks.len() % 2 == 1) {
        return None;
    }
    // In Oracle an empty string is NULL ('' IS NULL is true).
    Some(if out.is_empty() {
        Value::Null
    } else {
        Value::Str(out)
    })
}

const UNITS: [(&str, f64); 4] = [
    ("DAY", 86_400_000.0),
    ("HOUR", 3_600_000.0),
    ("MINUTE", 60_000.0),
    ("SECOND", 1000.0),
];

fn unit_index(w: &str) -> Option<usize> {
    let w = w.trim().to_ascii_uppercase();
    let w = w.strip_suffix('S').unwrap_or(&w);
    UNITS.iter().position(|(u, _)| *u == w)
}

/// Skip an optional precision `(n)` or `(n, m)` at `toks[i]`; returns the index after it.
fn skip_precision(toks: &[Token], mut i: usize) -> usize {
    if punct(toks.get(i), "(") {
        while i < toks.len() && !punct(toks.get(i), ")") {
            i += 1;
        }
        i += 1;
    }
    i
}

/// `'text' UNIT [(p)] [TO UNIT [(p)]]` after the word INTERVAL.
fn interval_literal(toks: &[Token]) -> Option<Millis> {
    let TokKind::Str(text) = &toks.first()?.kind else {
        return None;
    };
    let from = unit_index(&word(toks.get(1)?)?)?;
    let mut i = skip_precision(toks, 2);
    let mut to = from;
    if toks.get(i).and_then(word).as_deref() == Some("TO") {
        to = unit_index(&word(toks.get(i + 1)?)?)?;
        i = skip_precision(toks, i + 2);
    }
    if i != toks.len() || to < from {
        return None;
    }
    fields_to_millis(text, from, to)
}

/// `'D HH:MI:SS'`-style text holding the fields `from..=to` of [`UNITS`].
fn fields_to_millis(text: &str, from: usize, to: usize) -> Option<Millis> {
    let text = text.trim();
    let text = text.strip_prefix('+').unwrap_or(text);
    let fields: Vec<&str> = text.split([' ', ':']).filter(|f| !f.is_empty()).collect();
    if fields.len() != to - from + 1 {
        return None;
    }
    let mut total = 0.0;
    for (k, f) in fields.iter().enumerate() {
        let unit = from + k;
        let v: f64 = f.parse().ok()?;
        if !(v.is_finite() && v >= 0.0) || (unit != 3 && f.contains('.')) {
            return None;
        }
        total += v * UNITS[unit].1;
    }
    (total < 1e15).then(|| total.round() as Millis)
}

fn call_args(toks: &[Token]) -> Option<Vec<&Token>> {
    if !punct(toks.first(), "(") || !punct(toks.last(), ")") {
        return None;
    }
    let inner = &toks[1..toks.len() - 1];
    Some(inner.iter().filter(|t| !punct(Some(t), ",")).collect())
}

/// `('D HH:MI:SS[.f]')` or an ISO 8601 duration `('P1DT2H')`, after TO_DSINTERVAL.
fn to_dsinterval(toks: &[Token]) -> Option<Millis> {
    let args = call_args(toks)?;
    let [Token {
        kind: TokKind::Str(text),
        ..
    }] = args.as_slice()
    else {
        return None;
    };
    let t = text.trim();
    if t.starts_with(['P', 'p']) {
        return iso_duration(t);
    }
    fields_to_millis(t, 0, 3)
}

fn iso_duration(t: &str) -> Option<Millis> {
    let body = t.get(1..)?.to_ascii_uppercase();
    let (date, time) = match body.split_once('T') {
        Some((d, t)) => (d.to_string(), t.to_string()),
        None => (body, String::new()),
    };
    let mut total = 0.0;
    for (part, units) in [(date, "D"), (time, "HMS")] {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
                continue;
            }
            if !units.contains(c) || num.is_empty() {
                return None;
            }
            let v: f64 = num.parse().ok()?;
            let idx = match c {
                'D' => 0,
                'H' => 1,
                'M' => 2,
                _ => 3,
            };
            total += v * UNITS[idx].1;
            num.clear();
        }
        if !num.is_empty() {
            return None;
        }
    }
    (total.is_finite() && total < 1e15).then(|| total.round() as Millis)
}

/// `(n, 'UNIT')` after NUMTODSINTERVAL.
fn numtodsinterval(toks: &[Token]) -> Option<Millis> {
    let args = call_args(toks)?;
    let [Token {
        kind: TokKind::Number(n),
        ..
    }, Token {
        kind: TokKind::Str(unit),
        ..
    }] = args.as_slice()
    else {
        return None;
    };
    let v: f64 = n.parse().ok()?;
    let ms = v * UNITS[unit_index(unit)?].1;
    (ms.is_finite() && (0.0..1e15).contains(&ms)).then(|| ms.round() as Millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::lexer::tokenize;

    fn v(text: &str) -> Value {
        eval(&tokenize(text).unwrap(), text)
    }

    #[test]
    fn literals() {
        assert_eq!(v("'a' || 'b''c'"), Value::Str("ab'c".into()));
        assert_eq!(v("-12"), Value::Num("-12".into()));
        assert_eq!(v("null"), Value::Null);
        assert_eq!(v("''"), Value::Null);
        assert_eq!(v("'' || 'a'"), Value::Str("a".into()));
        assert_eq!(v("True"), Value::Bool(true));
        assert_eq!(v("SYSTIMESTAMP"), Value::Expr("SYSTIMESTAMP".into()));
        assert_eq!(v("'a' || v_x"), Value::Expr("'a' || v_x".into()));
    }

    #[test]
    fn intervals() {
        assert_eq!(v("INTERVAL '30' MINUTE"), Value::Interval(1_800_000));
        assert_eq!(
            v("interval '1:30' hour to minute"),
            Value::Interval(5_400_000)
        );
        assert_eq!(
            v("INTERVAL '1 02:00:00' DAY(2) TO SECOND(0)"),
            Value::Interval(93_600_000)
        );
        assert_eq!(v("TO_DSINTERVAL('0 00:30:00')"), Value::Interval(1_800_000));
        assert_eq!(v("to_dsinterval('PT1H30M')"), Value::Interval(5_400_000));
        assert_eq!(v("NUMTODSINTERVAL(2, 'hour')"), Value::Interval(7_200_000));
        assert!(matches!(v("INTERVAL '1:30' MINUTE"), Value::Expr(_)));
    }
}
