//! Values of the SQL condition language and Oracle's rules for them: NULL, `''` is NULL,
//! implicit conversions (numeric strings), comparison, arithmetic on numbers, dates and
//! intervals, and the text a value converts to.
//!
//! Numbers are decimal (`rust_decimal`, 28 significant digits) because Oracle's NUMBER is:
//! `0.1 + 0.2 = 0.3` is TRUE in a chain condition as it is in Oracle. Instants are milliseconds
//! since the Unix epoch in UTC, as everywhere in the engine; a DATE keeps whole seconds.

use super::civil::{self, Parts, DAY_MS};
use super::BinOp;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

/// A value. `Str` is never empty: Oracle's empty string is NULL (use [`Value::text`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Num(Decimal),
    Str(Cow<'a, str>),
    /// Oracle DATE: whole seconds (ms since the epoch, a multiple of 1000).
    Date(i64),
    /// Oracle TIMESTAMP: milliseconds since the epoch.
    Timestamp(i64),
    /// INTERVAL DAY TO SECOND, in milliseconds (may be negative).
    Interval(i64),
}

/// The kind of a non-NULL value, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Number,
    Text,
    Date,
    Timestamp,
    Interval,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Number => "NUMBER",
            Kind::Text => "text",
            Kind::Date => "DATE",
            Kind::Timestamp => "TIMESTAMP",
            Kind::Interval => "INTERVAL",
        }
    }
}

/// An error Oracle would raise while evaluating an expression (ORA-01722 invalid number,
/// ORA-01476 divisor is equal to zero, ...). The predicate that meets it is UNKNOWN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    /// Oracle's error code, `ORA-01722`.
    pub code: &'static str,
    pub message: String,
}

impl SqlError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        SqlError {
            code,
            message: message.into(),
        }
    }

    pub fn invalid_number(text: &str) -> Self {
        SqlError::new(
            "ORA-01722",
            format!("invalid number: '{}' is not a number", clip(text)),
        )
    }

    pub fn inconsistent(what: &str, a: Kind, b: Kind) -> Self {
        SqlError::new(
            "ORA-00932",
            format!(
                "inconsistent datatypes: cannot {what} {} and {}",
                a.as_str(),
                b.as_str()
            ),
        )
    }

    pub fn expected(what: &str, got: Kind) -> Self {
        SqlError::new(
            "ORA-00932",
            format!(
                "inconsistent datatypes: expected {what}, got {}",
                got.as_str()
            ),
        )
    }

    fn overflow() -> Self {
        SqlError::new("ORA-01426", "numeric overflow")
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for SqlError {}

pub type SqlResult<T> = Result<T, SqlError>;

pub(crate) fn clip(s: &str) -> String {
    if s.chars().count() > 40 {
        let head: String = s.chars().take(37).collect();
        format!("{head}...")
    } else {
        s.to_string()
    }
}

impl<'a> Value<'a> {
    /// A string value: NULL when empty (Oracle).
    pub fn text(s: impl Into<Cow<'a, str>>) -> Value<'a> {
        let s = s.into();
        if s.is_empty() {
            Value::Null
        } else {
            Value::Str(s)
        }
    }

    pub fn int(n: i64) -> Value<'static> {
        Value::Num(Decimal::from(n))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn kind(&self) -> Option<Kind> {
        Some(match self {
            Value::Null => return None,
            Value::Num(_) => Kind::Number,
            Value::Str(_) => Kind::Text,
            Value::Date(_) => Kind::Date,
            Value::Timestamp(_) => Kind::Timestamp,
            Value::Interval(_) => Kind::Interval,
        })
    }

    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Num(n) => Value::Num(n),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Date(t) => Value::Date(t),
            Value::Timestamp(t) => Value::Timestamp(t),
            Value::Interval(i) => Value::Interval(i),
        }
    }

    /// The instant of a DATE or TIMESTAMP.
    pub fn instant(&self) -> Option<i64> {
        match self {
            Value::Date(t) | Value::Timestamp(t) => Some(*t),
            _ => None,
        }
    }

    /// The value written as a SQL literal, for explanations (`'it''s'`, `3`, `NULL`,
    /// `TIMESTAMP '2024-01-31 10:00:00.000'`, `INTERVAL '0 01:00:00.000' DAY TO SECOND`).
    pub fn literal(&self) -> String {
        match self {
            Value::Null => "NULL".to_string(),
            Value::Num(n) => number_text(*n),
            Value::Str(s) => format!("'{}'", s.replace('\'', "''")),
            Value::Date(t) => {
                let p = Parts::of(*t);
                format!(
                    "DATE '{:04}-{:02}-{:02}{}'",
                    p.year,
                    p.month,
                    p.day,
                    if t.rem_euclid(DAY_MS) == 0 {
                        String::new()
                    } else {
                        format!(" {:02}:{:02}:{:02}", p.hour, p.minute, p.second)
                    }
                )
            }
            Value::Timestamp(t) => {
                let p = Parts::of(*t);
                format!(
                    "TIMESTAMP '{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}'",
                    p.year, p.month, p.day, p.hour, p.minute, p.second, p.milli
                )
            }
            Value::Interval(ms) => format!("INTERVAL '{}' DAY TO SECOND", interval_body(*ms, 3)),
        }
    }
}

// ---------------------------------------------------------------- conversions

/// Parse a number as TO_NUMBER does without a format: blanks around it, a sign, digits with
/// an optional decimal point, an optional exponent (`' -1.5e3 '`).
pub fn parse_number(text: &str) -> SqlResult<Decimal> {
    let t = text.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\n' || c == '\r');
    let bytes = t.as_bytes();
    let mut i = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - digits_start;
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        let f = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - f;
    }
    if digits == 0 {
        return Err(SqlError::invalid_number(text));
    }
    let mantissa_end = i;
    let mut exponent: i64 = 0;
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        let neg = match bytes.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let e = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == e {
            return Err(SqlError::invalid_number(text));
        }
        exponent = t[e..i]
            .parse::<i64>()
            .map_err(|_| SqlError::invalid_number(text))?;
        if neg {
            exponent = -exponent;
        }
    }
    if i != bytes.len() {
        return Err(SqlError::invalid_number(text));
    }
    let mantissa = &t[..mantissa_end];
    let mantissa = mantissa.strip_prefix('+').unwrap_or(mantissa);
    let mut n = parse_plain(mantissa).ok_or_else(|| SqlError::invalid_number(text))?;
    if exponent != 0 {
        n = scale10(n, exponent).ok_or_else(SqlError::overflow)?;
    }
    Ok(n)
}

/// `-12.5`, `.5`, `3.` → a decimal, rounding digits beyond what the decimal holds.
fn parse_plain(s: &str) -> Option<Decimal> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let body = body.trim_start_matches('0');
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, f.trim_end_matches('0')),
        None => (body, ""),
    };
    if int.len() > 28 {
        return None;
    }
    let text = if frac.is_empty() {
        if int.is_empty() {
            "0".to_string()
        } else {
            int.to_string()
        }
    } else {
        // Keep as many fraction digits as fit (28 significant digits in all).
        let room = 28usize.saturating_sub(int.len()).max(1);
        let frac = if frac.len() > room {
            &frac[..room]
        } else {
            frac
        };
        format!("{}.{frac}", if int.is_empty() { "0" } else { int })
    };
    let d: Decimal = text.parse().ok()?;
    Some(if neg { -d } else { d })
}

/// `n × 10^e`, `None` on overflow.
pub fn scale10(n: Decimal, e: i64) -> Option<Decimal> {
    if n.is_zero() {
        return Some(n);
    }
    let mut out = n;
    if e > 0 {
        for _ in 0..e.min(64) {
            out = out.checked_mul(Decimal::TEN)?;
        }
        if e > 64 {
            return None;
        }
    } else {
        for _ in 0..(-e).min(64) {
            out /= Decimal::TEN;
        }
    }
    Some(out)
}

/// A value as a number (implicit conversion): NULL is `None`; a string must be a number
/// (ORA-01722); dates and intervals are not numbers (ORA-00932).
pub fn to_number(v: &Value<'_>) -> SqlResult<Option<Decimal>> {
    match v {
        Value::Null => Ok(None),
        Value::Num(n) => Ok(Some(*n)),
        Value::Str(s) => parse_number(s).map(Some),
        other => Err(SqlError::expected(
            "NUMBER",
            other.kind().unwrap_or(Kind::Number),
        )),
    }
}

/// A value as text (implicit conversion, never fails): numbers as TO_CHAR writes them
/// (`.5`, `-1.25`, `20100`), dates in Oracle's default formats (`DD-MON-RR`, and
/// `DD-MON-RR HH.MI.SSXFF AM` for timestamps), intervals as `+D HH:MI:SS.FFFFFF`.
pub fn to_text<'a>(v: &'a Value<'_>) -> Option<Cow<'a, str>> {
    Some(match v {
        Value::Null => return None,
        Value::Str(s) => Cow::Borrowed(s.as_ref()),
        Value::Num(n) => Cow::Owned(number_text(*n)),
        Value::Date(t) => Cow::Owned(super::format::default_date_text(*t)),
        Value::Timestamp(t) => Cow::Owned(super::format::default_timestamp_text(*t)),
        Value::Interval(ms) => Cow::Owned(interval_body(*ms, 6)),
    })
}

/// A number as Oracle writes it without a format: no trailing zeros, no leading zero before
/// the decimal point (`0.5` → `.5`, `-0.5` → `-.5`).
pub fn number_text(n: Decimal) -> String {
    let s = n.normalize().to_string();
    if let Some(rest) = s.strip_prefix("0.") {
        format!(".{rest}")
    } else if let Some(rest) = s.strip_prefix("-0.") {
        format!("-.{rest}")
    } else if s == "-0" {
        "0".to_string()
    } else {
        s
    }
}

/// `+D HH:MI:SS.F…` with `frac` fraction digits (3 or 6), `-` for negative intervals.
pub fn interval_body(ms: i64, frac: usize) -> String {
    let sign = if ms < 0 { '-' } else { '+' };
    let a = ms.unsigned_abs();
    let days = a / DAY_MS as u64;
    let rest = a % DAY_MS as u64;
    let fraction = format!("{:03}", rest % 1000);
    let fraction = if frac > 3 {
        format!("{fraction}{}", "0".repeat(frac - 3))
    } else {
        fraction
    };
    format!(
        "{sign}{days} {:02}:{:02}:{:02}.{fraction}",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60
    )
}

/// An integer argument (SUBSTR positions, ROUND places): truncated toward zero, as Oracle
/// does; `None` when it does not fit.
pub fn to_int(n: Decimal) -> SqlResult<i64> {
    n.trunc()
        .to_i64()
        .ok_or_else(|| SqlError::new("ORA-01426", "numeric overflow: the integer is too large"))
}

/// Round half away from zero to an integer (milliseconds, seconds).
pub fn round_int(n: Decimal) -> Option<i64> {
    n.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
}

/// An instant, checked to be within Oracle's years (1 to 9999 here).
pub fn check_instant(ms: Option<i64>) -> SqlResult<i64> {
    match ms {
        Some(t) if (civil::MIN_MS..=civil::MAX_MS).contains(&t) => Ok(t),
        _ => Err(out_of_range()),
    }
}

/// A DATE from any instant: the fraction of a second is dropped.
pub fn as_date(ms: i64) -> i64 {
    ms.div_euclid(1000) * 1000
}

// ---------------------------------------------------------------- comparison

/// How two values compare: `Ok(None)` when either is NULL; an error when they do not compare
/// (a date with a number, ORA-00932) or a string meets a number and is not one (ORA-01722).
/// Strings compare exactly (case-sensitive, byte order), a string with a number as numbers,
/// DATEs and TIMESTAMPs with each other, intervals with intervals.
pub fn compare(l: &Value<'_>, r: &Value<'_>) -> SqlResult<Option<Ordering>> {
    Ok(Some(match (l, r) {
        (Value::Null, _) | (_, Value::Null) => return Ok(None),
        (Value::Num(a), Value::Num(b)) => a.cmp(b),
        (Value::Str(a), Value::Str(b)) => a.as_bytes().cmp(b.as_bytes()),
        (Value::Num(a), Value::Str(s)) => a.cmp(&parse_number(s)?),
        (Value::Str(s), Value::Num(b)) => parse_number(s)?.cmp(b),
        (Value::Date(a) | Value::Timestamp(a), Value::Date(b) | Value::Timestamp(b)) => a.cmp(b),
        (Value::Interval(a), Value::Interval(b)) => a.cmp(b),
        (a, b) => {
            let (ka, kb) = (a.kind(), b.kind());
            return Err(match (ka, kb) {
                (Some(ka), Some(kb)) => SqlError::inconsistent("compare", ka, kb),
                _ => SqlError::new("ORA-00932", "inconsistent datatypes"),
            });
        }
    }))
}

/// Equality as DECODE and simple CASE test it: NULL matches NULL only in DECODE (`nulls_match`).
pub fn equal(l: &Value<'_>, r: &Value<'_>, nulls_match: bool) -> SqlResult<bool> {
    if nulls_match && l.is_null() && r.is_null() {
        return Ok(true);
    }
    Ok(compare(l, r)? == Some(Ordering::Equal))
}

// ---------------------------------------------------------------- arithmetic

/// An operand of `+ - * /`: strings become numbers (ORA-01722 if they are not).
fn arith_operand<'v>(v: &Value<'v>) -> SqlResult<Value<'v>> {
    match v {
        Value::Str(s) => parse_number(s).map(Value::Num),
        other => Ok(other.clone()),
    }
}

fn days_to_ms(days: Decimal) -> SqlResult<i64> {
    days.checked_mul(Decimal::from(86_400))
        .and_then(round_int)
        .and_then(|s| s.checked_mul(1000))
        .ok_or_else(out_of_range)
}

fn out_of_range() -> SqlError {
    SqlError::new("ORA-01841", "the resulting date is outside years 1 to 9999")
}

fn scale_interval(ms: i64, by: Decimal, divide: bool) -> SqlResult<i64> {
    let v = if divide {
        if by.is_zero() {
            return Err(SqlError::new("ORA-01476", "divisor is equal to zero"));
        }
        Decimal::from(ms).checked_div(by)
    } else {
        Decimal::from(ms).checked_mul(by)
    };
    v.and_then(round_int).ok_or_else(|| {
        SqlError::new(
            "ORA-01873",
            "the interval is too large (leading precision of the interval is too small)",
        )
    })
}

/// `l op r` for `+ - * / ||`, with Oracle's rules:
/// * `||` treats NULL as the empty string (`'a' || NULL` is `'a'`), and converts numbers and
///   dates to text; the result is NULL only when it is empty;
/// * otherwise NULL gives NULL; strings are converted to numbers;
/// * DATE ± number of days → DATE; DATE − DATE → number of days; a TIMESTAMP minus a DATE or
///   TIMESTAMP → INTERVAL; DATE/TIMESTAMP ± INTERVAL keeps its kind; INTERVAL ± INTERVAL,
///   INTERVAL × number, INTERVAL ÷ number → INTERVAL; a TIMESTAMP ± number is a DATE (the
///   fraction of a second is dropped, as Oracle does);
/// * x / 0 is ORA-01476; anything else (DATE + DATE, a date times a number) ORA-00932.
pub fn binary(op: BinOp, left: &Value<'_>, right: &Value<'_>) -> SqlResult<Value<'static>> {
    if op == BinOp::Concat {
        return Ok(concat(left, right));
    }
    if left.is_null() || right.is_null() {
        return Ok(Value::Null);
    }
    let l = arith_operand(left)?;
    let r = arith_operand(right)?;
    let overflow = SqlError::overflow;
    use Value::*;
    let kinds = |what| {
        SqlError::inconsistent(
            what,
            l.kind().unwrap_or(Kind::Number),
            r.kind().unwrap_or(Kind::Number),
        )
    };
    Ok(match op {
        BinOp::Add => match (&l, &r) {
            (Num(a), Num(b)) => Num(a.checked_add(*b).ok_or_else(overflow)?),
            (Date(t) | Timestamp(t), Num(n)) | (Num(n), Date(t) | Timestamp(t)) => {
                Date(check_instant(as_date(*t).checked_add(days_to_ms(*n)?))?)
            }
            (Date(t), Interval(i)) | (Interval(i), Date(t)) => {
                Date(as_date(check_instant(t.checked_add(*i))?))
            }
            (Timestamp(t), Interval(i)) | (Interval(i), Timestamp(t)) => {
                Timestamp(check_instant(t.checked_add(*i))?)
            }
            (Interval(a), Interval(b)) => Interval(a.checked_add(*b).ok_or_else(overflow)?),
            (Date(_) | Timestamp(_), Date(_) | Timestamp(_)) => {
                return Err(SqlError::new(
                    "ORA-00975",
                    "date + date is not allowed (subtract them, or add a number of days or an INTERVAL)",
                ))
            }
            _ => return Err(kinds("add")),
        },
        BinOp::Sub => match (&l, &r) {
            (Num(a), Num(b)) => Num(a.checked_sub(*b).ok_or_else(overflow)?),
            (Date(t) | Timestamp(t), Num(n)) => {
                Date(check_instant(as_date(*t).checked_sub(days_to_ms(*n)?))?)
            }
            (Date(a), Date(b)) => Num(Decimal::from(a - b) / Decimal::from(DAY_MS)),
            (Date(a) | Timestamp(a), Date(b) | Timestamp(b)) => {
                Interval(a.checked_sub(*b).ok_or_else(overflow)?)
            }
            (Date(t), Interval(i)) => Date(as_date(check_instant(t.checked_sub(*i))?)),
            (Timestamp(t), Interval(i)) => Timestamp(check_instant(t.checked_sub(*i))?),
            (Interval(a), Interval(b)) => Interval(a.checked_sub(*b).ok_or_else(overflow)?),
            _ => return Err(kinds("subtract")),
        },
        BinOp::Mul => match (&l, &r) {
            (Num(a), Num(b)) => Num(a.checked_mul(*b).ok_or_else(overflow)?),
            (Interval(i), Num(n)) | (Num(n), Interval(i)) => {
                Interval(scale_interval(*i, *n, false)?)
            }
            _ => return Err(kinds("multiply")),
        },
        BinOp::Div => match (&l, &r) {
            (Num(a), Num(b)) => {
                if b.is_zero() {
                    return Err(SqlError::new("ORA-01476", "divisor is equal to zero"));
                }
                Num(a.checked_div(*b).ok_or_else(overflow)?)
            }
            (Interval(i), Num(n)) => Interval(scale_interval(*i, *n, true)?),
            _ => return Err(kinds("divide")),
        },
        BinOp::Concat => concat(left, right),
    })
}

/// `a || b`: NULL is the empty string; the result is NULL only when empty.
fn concat(l: &Value<'_>, r: &Value<'_>) -> Value<'static> {
    let a = to_text(l);
    let b = to_text(r);
    let mut s = String::with_capacity(
        a.as_ref().map_or(0, |x| x.len()) + b.as_ref().map_or(0, |x| x.len()),
    );
    s.push_str(a.as_deref().unwrap_or(""));
    s.push_str(b.as_deref().unwrap_or(""));
    Value::text(s)
}

/// Unary minus: numbers (and numeric strings) and intervals.
pub fn negate(v: &Value<'_>) -> SqlResult<Value<'static>> {
    match arith_operand(v)? {
        Value::Null => Ok(Value::Null),
        Value::Num(n) => Ok(Value::Num(-n)),
        Value::Interval(i) => Ok(Value::Interval(
            i.checked_neg().ok_or_else(SqlError::overflow)?,
        )),
        other => Err(SqlError::expected(
            "a NUMBER or an INTERVAL",
            other.kind().unwrap_or(Kind::Number),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> Value<'static> {
        Value::Num(s.parse().unwrap())
    }

    fn s(t: &'static str) -> Value<'static> {
        Value::text(t)
    }

    #[test]
    fn empty_string_is_null() {
        assert_eq!(Value::text(""), Value::Null);
        assert_eq!(compare(&s(""), &s("")), Ok(None));
    }

    #[test]
    fn numbers_parse_as_to_number_does() {
        for (t, want) in [
            (" 12 ", "12"),
            ("-1.5", "-1.5"),
            ("+3", "3"),
            (".5", "0.5"),
            ("5.", "5"),
            ("1e3", "1000"),
            ("2.5E-2", "0.025"),
            ("0001.2300", "1.23"),
        ] {
            assert_eq!(parse_number(t), Ok(want.parse().unwrap()), "{t:?}");
        }
        for bad in [
            "", " ", "abc", "1,5", "--1", "1e", "e3", ".", "1 2", "0x10", "inf", "NaN",
        ] {
            assert_eq!(
                parse_number(bad).map_err(|e| e.code),
                Err("ORA-01722"),
                "{bad:?}"
            );
        }
        assert_eq!(parse_number("1e999").map_err(|e| e.code), Err("ORA-01426"));
    }

    #[test]
    fn numbers_print_as_oracle_does() {
        for (n, want) in [
            ("0.5", ".5"),
            ("-0.5", "-.5"),
            ("1.50", "1.5"),
            ("20100", "20100"),
            ("0", "0"),
            ("-0", "0"),
        ] {
            assert_eq!(number_text(n.parse().unwrap()), want);
        }
    }

    #[test]
    fn decimal_arithmetic_is_exact() {
        let sum = binary(BinOp::Add, &num("0.1"), &num("0.2")).unwrap();
        assert_eq!(compare(&sum, &num("0.3")), Ok(Some(Ordering::Equal)));
        assert_eq!(
            binary(BinOp::Div, &num("1"), &num("0")).map_err(|e| e.code),
            Err("ORA-01476")
        );
        assert_eq!(binary(BinOp::Mul, &s("3"), &num("2")), Ok(num("6")));
        assert_eq!(
            binary(BinOp::Add, &s("x"), &num("2")).map_err(|e| e.code),
            Err("ORA-01722")
        );
        assert_eq!(binary(BinOp::Add, &Value::Null, &num("2")), Ok(Value::Null));
        assert_eq!(negate(&num("2")), Ok(num("-2")));
        assert_eq!(negate(&Value::Null), Ok(Value::Null));
        let big = Value::Num(Decimal::MAX);
        assert_eq!(
            binary(BinOp::Mul, &big, &big).map_err(|e| e.code),
            Err("ORA-01426")
        );
    }

    #[test]
    fn concatenation_treats_null_as_empty() {
        assert_eq!(binary(BinOp::Concat, &s("a"), &Value::Null), Ok(s("a")));
        assert_eq!(
            binary(BinOp::Concat, &Value::Null, &Value::Null),
            Ok(Value::Null)
        );
        assert_eq!(binary(BinOp::Concat, &num("0.5"), &s("x")), Ok(s(".5x")));
        assert_eq!(
            binary(BinOp::Concat, &s("code "), &Value::int(20100)),
            Ok(s("code 20100"))
        );
    }

    #[test]
    fn date_arithmetic() {
        let day = DAY_MS;
        let d = Value::Date(10 * day);
        let t = Value::Timestamp(10 * day + 1500);
        assert_eq!(
            binary(BinOp::Add, &d, &num("1.5")),
            Ok(Value::Date(11 * day + day / 2))
        );
        assert_eq!(
            binary(BinOp::Sub, &d, &Value::Date(9 * day)),
            Ok(Value::Num(Decimal::ONE))
        );
        assert_eq!(
            binary(BinOp::Sub, &t, &d),
            Ok(Value::Interval(1500)),
            "TIMESTAMP - DATE is an interval"
        );
        assert_eq!(
            binary(BinOp::Add, &t, &num("0")),
            Ok(Value::Date(10 * day + 1000)),
            "TIMESTAMP + number is a DATE"
        );
        assert_eq!(
            binary(BinOp::Sub, &t, &Value::Interval(500)),
            Ok(Value::Timestamp(10 * day + 1000))
        );
        assert_eq!(
            binary(BinOp::Add, &d, &d).map_err(|e| e.code),
            Err("ORA-00975")
        );
        assert_eq!(
            binary(BinOp::Mul, &d, &num("2")).map_err(|e| e.code),
            Err("ORA-00932")
        );
        assert_eq!(
            binary(BinOp::Mul, &Value::Interval(1000), &num("1.5")),
            Ok(Value::Interval(1500))
        );
        assert_eq!(
            binary(BinOp::Div, &Value::Interval(1000), &num("4")),
            Ok(Value::Interval(250))
        );
        assert_eq!(
            binary(BinOp::Add, &Value::Date(civil::MAX_MS - 999), &num("1")).map_err(|e| e.code),
            Err("ORA-01841")
        );
    }

    #[test]
    fn comparisons() {
        assert_eq!(compare(&num("3"), &s(" 3.0 ")), Ok(Some(Ordering::Equal)));
        assert_eq!(
            compare(&s("abc"), &num("1")).map_err(|e| e.code),
            Err("ORA-01722")
        );
        assert_eq!(
            compare(&Value::Date(1000), &Value::Timestamp(1500)),
            Ok(Some(Ordering::Less))
        );
        assert_eq!(
            compare(&Value::Date(0), &s("1970-01-01")).map_err(|e| e.code),
            Err("ORA-00932")
        );
        assert_eq!(
            compare(&s("FAILED"), &s("failed")),
            Ok(Some(Ordering::Less))
        );
        assert_eq!(equal(&Value::Null, &Value::Null, true), Ok(true));
        assert_eq!(equal(&Value::Null, &Value::Null, false), Ok(false));
    }

    #[test]
    fn literals_for_explanations() {
        assert_eq!(s("it's").literal(), "'it''s'");
        assert_eq!(Value::Date(DAY_MS).literal(), "DATE '1970-01-02'");
        assert_eq!(
            Value::Timestamp(1500).literal(),
            "TIMESTAMP '1970-01-01 00:00:01.500'"
        );
        assert_eq!(
            Value::Interval(-3_600_000).literal(),
            "INTERVAL '-0 01:00:00.000' DAY TO SECOND"
        );
    }
}
