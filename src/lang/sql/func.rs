//! The functions of SQL conditions: the table the parser checks names and argument counts
//! against, and their Oracle semantics.
//!
//! NULL rules (Oracle's): a function of a NULL argument is NULL, except NVL, NVL2, COALESCE,
//! DECODE (where NULL matches NULL), NULLIF, REPLACE (a NULL search or replacement removes
//! nothing / deletes) and `||`. A string result that is empty is NULL. COALESCE, DECODE and CASE
//! evaluate their arguments lazily, left to right, as Oracle does (an error in an argument that
//! is not reached does not matter); every other function evaluates all its arguments.

use super::civil::{self, DAY_MS};
use super::format::{self, DateUnit};
use super::value::{
    as_date, check_instant, compare, equal, parse_number, round_int, to_int, to_number, to_text,
    Kind, SqlError, SqlResult, Value,
};
use super::{DtField, TrimSide};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// A function of the condition language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Func {
    Nvl,
    Nvl2,
    Coalesce,
    Decode,
    Nullif,
    Upper,
    Lower,
    Substr,
    Instr,
    Length,
    /// `TRIM([LEADING|TRAILING|BOTH] [c FROM] s)`: arguments `[s]` or `[s, c]`.
    Trim(TrimSide),
    Ltrim,
    Rtrim,
    Replace,
    ToNumber,
    ToChar,
    ToDate,
    ToTimestamp,
    Trunc,
    Round,
    Abs,
    Mod,
    Floor,
    Ceil,
    Greatest,
    Least,
    AddMonths,
    Numtodsinterval,
    /// `EXTRACT(field FROM x)`: argument `[x]`.
    Extract(DtField),
}

/// A function's name, argument count and how to call it (for diagnostics and docs).
#[derive(Debug, Clone, Copy)]
pub struct FuncSpec {
    pub func: Func,
    pub name: &'static str,
    pub min: usize,
    /// `None`: any number.
    pub max: Option<usize>,
    pub usage: &'static str,
}

const fn spec(
    func: Func,
    name: &'static str,
    min: usize,
    max: Option<usize>,
    usage: &'static str,
) -> FuncSpec {
    FuncSpec {
        func,
        name,
        min,
        max,
        usage,
    }
}

/// Every function, by name. TRIM and EXTRACT have their own syntax.
pub const FUNCTIONS: &[FuncSpec] = &[
    spec(Func::Nvl, "NVL", 2, Some(2), "NVL(value, if_null)"),
    spec(
        Func::Nvl2,
        "NVL2",
        3,
        Some(3),
        "NVL2(value, if_not_null, if_null)",
    ),
    spec(
        Func::Coalesce,
        "COALESCE",
        2,
        None,
        "COALESCE(value, value, ...)",
    ),
    spec(
        Func::Decode,
        "DECODE",
        3,
        None,
        "DECODE(value, search, result, ..., [default])",
    ),
    spec(Func::Nullif, "NULLIF", 2, Some(2), "NULLIF(a, b)"),
    spec(Func::Upper, "UPPER", 1, Some(1), "UPPER(text)"),
    spec(Func::Lower, "LOWER", 1, Some(1), "LOWER(text)"),
    spec(
        Func::Substr,
        "SUBSTR",
        2,
        Some(3),
        "SUBSTR(text, position, [length])",
    ),
    spec(
        Func::Instr,
        "INSTR",
        2,
        Some(4),
        "INSTR(text, search, [position, [occurrence]])",
    ),
    spec(Func::Length, "LENGTH", 1, Some(1), "LENGTH(text)"),
    spec(
        Func::Trim(TrimSide::Both),
        "TRIM",
        1,
        Some(1),
        "TRIM([LEADING|TRAILING|BOTH] [char FROM] text)",
    ),
    spec(
        Func::Ltrim,
        "LTRIM",
        1,
        Some(2),
        "LTRIM(text, [characters])",
    ),
    spec(
        Func::Rtrim,
        "RTRIM",
        1,
        Some(2),
        "RTRIM(text, [characters])",
    ),
    spec(
        Func::Replace,
        "REPLACE",
        2,
        Some(3),
        "REPLACE(text, search, [replacement])",
    ),
    spec(
        Func::ToNumber,
        "TO_NUMBER",
        1,
        Some(2),
        "TO_NUMBER(text, [format])",
    ),
    spec(
        Func::ToChar,
        "TO_CHAR",
        1,
        Some(2),
        "TO_CHAR(value, [format])",
    ),
    spec(
        Func::ToDate,
        "TO_DATE",
        1,
        Some(2),
        "TO_DATE(text, [format])",
    ),
    spec(
        Func::ToTimestamp,
        "TO_TIMESTAMP",
        1,
        Some(2),
        "TO_TIMESTAMP(text, [format])",
    ),
    spec(
        Func::Trunc,
        "TRUNC",
        1,
        Some(2),
        "TRUNC(number, [places]) or TRUNC(date, [unit])",
    ),
    spec(
        Func::Round,
        "ROUND",
        1,
        Some(2),
        "ROUND(number, [places]) or ROUND(date, [unit])",
    ),
    spec(Func::Abs, "ABS", 1, Some(1), "ABS(number)"),
    spec(Func::Mod, "MOD", 2, Some(2), "MOD(number, divisor)"),
    spec(Func::Floor, "FLOOR", 1, Some(1), "FLOOR(number)"),
    spec(Func::Ceil, "CEIL", 1, Some(1), "CEIL(number)"),
    spec(Func::Greatest, "GREATEST", 1, None, "GREATEST(value, ...)"),
    spec(Func::Least, "LEAST", 1, None, "LEAST(value, ...)"),
    spec(
        Func::AddMonths,
        "ADD_MONTHS",
        2,
        Some(2),
        "ADD_MONTHS(date, months)",
    ),
    spec(
        Func::Numtodsinterval,
        "NUMTODSINTERVAL",
        2,
        Some(2),
        "NUMTODSINTERVAL(number, 'DAY'|'HOUR'|'MINUTE'|'SECOND')",
    ),
    spec(
        Func::Extract(DtField::Year),
        "EXTRACT",
        1,
        Some(1),
        "EXTRACT(YEAR|MONTH|DAY|HOUR|MINUTE|SECOND FROM value)",
    ),
];

/// The function named `name` (case-insensitive).
pub fn lookup(name: &str) -> Option<&'static FuncSpec> {
    FUNCTIONS.iter().find(|f| f.name.eq_ignore_ascii_case(name))
}

impl Func {
    pub fn name(self) -> &'static str {
        match self {
            Func::Trim(_) => "TRIM",
            Func::Extract(_) => "EXTRACT",
            f => FUNCTIONS
                .iter()
                .find(|s| s.func == f)
                .map_or("?", |s| s.name),
        }
    }

    /// Does the result depend on the evaluation's time? (TO_DATE without a year or month
    /// takes them from now.)
    pub fn reads_now(self) -> bool {
        matches!(self, Func::ToDate | Func::ToTimestamp)
    }
}

type Arg<'f, E> = &'f mut dyn FnMut(usize) -> Result<Value<'static>, E>;

fn text_of(v: &Value<'_>) -> Option<String> {
    to_text(v).map(|c| c.into_owned())
}

fn num_of(v: &Value<'_>) -> SqlResult<Option<Decimal>> {
    to_number(v)
}

fn int_of(v: &Value<'_>) -> SqlResult<Option<i64>> {
    num_of(v)?.map(to_int).transpose()
}

/// Call `func` with `nargs` arguments; `arg(i)` evaluates argument `i` (called at most once
/// per argument, in order, and only for the arguments the function needs). `now` is the
/// evaluation's instant (ms, UTC). The argument count has been checked by the parser.
pub fn call<E: From<SqlError>>(
    func: Func,
    nargs: usize,
    arg: Arg<'_, E>,
    now: i64,
) -> Result<Value<'static>, E> {
    // Lazy functions first.
    match func {
        Func::Coalesce => {
            for i in 0..nargs {
                let v = arg(i)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            return Ok(Value::Null);
        }
        Func::Decode => {
            let subject = arg(0)?;
            let mut i = 1;
            while i + 1 < nargs {
                let search = arg(i)?;
                if equal(&subject, &search, true)? {
                    return arg(i + 1);
                }
                i += 2;
            }
            return if i < nargs { arg(i) } else { Ok(Value::Null) };
        }
        _ => {}
    }
    let mut args = Vec::with_capacity(nargs);
    for i in 0..nargs {
        args.push(arg(i)?);
    }
    Ok(strict(func, &args, now)?)
}

/// The functions that evaluate every argument.
fn strict(func: Func, a: &[Value<'static>], now: i64) -> SqlResult<Value<'static>> {
    let get = |i: usize| a.get(i).cloned().unwrap_or(Value::Null);
    let any_null = |n: usize| a.iter().take(n).any(Value::is_null);
    Ok(match func {
        Func::Nvl => {
            if a.first().is_none_or(Value::is_null) {
                get(1)
            } else {
                get(0)
            }
        }
        Func::Nvl2 => {
            if a.first().is_none_or(Value::is_null) {
                get(2)
            } else {
                get(1)
            }
        }
        Func::Nullif => {
            if equal(&get(0), &get(1), false)? {
                Value::Null
            } else {
                get(0)
            }
        }
        Func::Upper | Func::Lower => match text_of(&get(0)) {
            None => Value::Null,
            Some(s) => Value::text(if func == Func::Upper {
                s.to_uppercase()
            } else {
                s.to_lowercase()
            }),
        },
        Func::Length => match text_of(&get(0)) {
            None => Value::Null,
            Some(s) => Value::int(s.chars().count() as i64),
        },
        Func::Substr => {
            if any_null(a.len()) {
                return Ok(Value::Null);
            }
            let (Some(s), Some(pos)) = (text_of(&a[0]), int_of(&a[1])?) else {
                return Ok(Value::Null);
            };
            let len = match a.get(2) {
                Some(v) => int_of(v)?,
                None => None,
            };
            substr(&s, pos, len)
        }
        Func::Instr => {
            if any_null(a.len()) {
                return Ok(Value::Null);
            }
            let (Some(s), Some(sub)) = (text_of(&a[0]), text_of(&a[1])) else {
                return Ok(Value::Null);
            };
            let pos = match a.get(2) {
                Some(v) => int_of(v)?.unwrap_or(1),
                None => 1,
            };
            let occ = match a.get(3) {
                Some(v) => int_of(v)?.unwrap_or(1),
                None => 1,
            };
            Value::int(instr(&s, &sub, pos, occ)?)
        }
        Func::Trim(side) => {
            if any_null(a.len()) {
                return Ok(Value::Null);
            }
            let Some(s) = text_of(&a[0]) else {
                return Ok(Value::Null);
            };
            let c = match a.get(1).and_then(text_of) {
                None => ' ',
                Some(set) => {
                    let mut it = set.chars();
                    match (it.next(), it.next()) {
                        (Some(c), None) => c,
                        _ => {
                            return Err(SqlError::new(
                                "ORA-30001",
                                "trim set should have only one character",
                            ))
                        }
                    }
                }
            };
            Value::text(match side {
                TrimSide::Both => s.trim_matches(c).to_string(),
                TrimSide::Leading => s.trim_start_matches(c).to_string(),
                TrimSide::Trailing => s.trim_end_matches(c).to_string(),
            })
        }
        Func::Ltrim | Func::Rtrim => {
            if any_null(a.len()) {
                return Ok(Value::Null);
            }
            let Some(s) = text_of(&a[0]) else {
                return Ok(Value::Null);
            };
            let set: Vec<char> = a
                .get(1)
                .and_then(text_of)
                .map_or(vec![' '], |t| t.chars().collect());
            Value::text(if func == Func::Ltrim {
                s.trim_start_matches(set.as_slice()).to_string()
            } else {
                s.trim_end_matches(set.as_slice()).to_string()
            })
        }
        Func::Replace => {
            let Some(s) = text_of(&get(0)) else {
                return Ok(Value::Null);
            };
            match text_of(&get(1)) {
                None => Value::text(s),
                Some(search) => {
                    let with = text_of(&get(2)).unwrap_or_default();
                    Value::text(s.replace(&search, &with))
                }
            }
        }
        Func::ToNumber => match (get(0), a.get(1)) {
            (Value::Null, _) | (_, Some(Value::Null)) => Value::Null,
            (Value::Num(n), _) => Value::Num(n),
            (Value::Str(s), None) => Value::Num(parse_number(&s)?),
            (Value::Str(s), Some(f)) => {
                let fmt = format::parse_num_format(&text_of(f).unwrap_or_default())?;
                Value::Num(format::parse_number_with(&s, &fmt)?)
            }
            (other, _) => {
                return Err(SqlError::expected(
                    "text or a NUMBER",
                    other.kind().unwrap_or(Kind::Number),
                ))
            }
        },
        Func::ToChar => {
            let fmt = match a.get(1) {
                None => None,
                Some(Value::Null) => return Ok(Value::Null),
                Some(f) => text_of(f),
            };
            match (get(0), fmt) {
                (Value::Null, _) => Value::Null,
                (Value::Num(n), Some(f)) => {
                    Value::text(format::format_number(n, &format::parse_num_format(&f)?))
                }
                (v @ (Value::Date(_) | Value::Timestamp(_)), Some(f)) => {
                    let t = v.instant().unwrap_or(0);
                    Value::text(format::format_instant(
                        t,
                        &format::parse_dt_format(&f)?,
                        matches!(v, Value::Date(_)),
                    )?)
                }
                (Value::Str(s), Some(_)) => {
                    // TO_CHAR(text, format) converts the text to a number first.
                    return strict(Func::ToChar, &[Value::Num(parse_number(&s)?), get(1)], now);
                }
                (v, _) => text_of(&v).map_or(Value::Null, Value::text),
            }
        }
        Func::ToDate | Func::ToTimestamp => {
            let timestamp = func == Func::ToTimestamp;
            let fmt = match a.get(1) {
                None => None,
                Some(Value::Null) => return Ok(Value::Null),
                Some(f) => text_of(f),
            };
            let t = match get(0) {
                Value::Null => return Ok(Value::Null),
                Value::Date(t) | Value::Timestamp(t) => t,
                v => {
                    let text = text_of(&v).unwrap_or_default();
                    let default = if timestamp {
                        format::DEFAULT_TIMESTAMP_FORMAT
                    } else {
                        format::DEFAULT_DATE_FORMAT
                    };
                    let elems = format::parse_dt_format(fmt.as_deref().unwrap_or(default))?;
                    format::parse_instant(&text, &elems, now, timestamp)?
                }
            };
            if timestamp {
                Value::Timestamp(t)
            } else {
                Value::Date(as_date(t))
            }
        }
        Func::Trunc | Func::Round => {
            let round = func == Func::Round;
            match get(0) {
                Value::Null => Value::Null,
                v @ (Value::Date(_) | Value::Timestamp(_)) => {
                    let unit = match a.get(1) {
                        None => DateUnit::Day,
                        Some(Value::Null) => return Ok(Value::Null),
                        Some(f) => format::parse_date_unit(&text_of(f).unwrap_or_default())?,
                    };
                    let t = v.instant().unwrap_or(0);
                    let r = if round {
                        format::round_instant(t, unit)
                    } else {
                        format::trunc_instant(t, unit)
                    };
                    Value::Date(check_instant(Some(r))?)
                }
                v => {
                    let Some(n) = num_of(&v)? else {
                        return Ok(Value::Null);
                    };
                    let places = match a.get(1) {
                        None => 0,
                        Some(p) => match int_of(p)? {
                            None => return Ok(Value::Null),
                            Some(p) => p,
                        },
                    };
                    Value::Num(round_number(n, places, round)?)
                }
            }
        }
        Func::Abs | Func::Floor | Func::Ceil => match num_of(&get(0))? {
            None => Value::Null,
            Some(n) => Value::Num(match func {
                Func::Abs => n.abs(),
                Func::Floor => n.floor(),
                _ => n.ceil(),
            }),
        },
        Func::Mod => match (num_of(&get(0))?, num_of(&get(1))?) {
            (Some(m), Some(n)) => Value::Num(if n.is_zero() {
                m
            } else {
                m.checked_rem(n)
                    .ok_or_else(|| SqlError::new("ORA-01426", "numeric overflow"))?
            }),
            _ => Value::Null,
        },
        Func::Greatest | Func::Least => greatest(a, func == Func::Greatest)?,
        Func::AddMonths => {
            let t = match get(0) {
                Value::Null => return Ok(Value::Null),
                Value::Date(t) | Value::Timestamp(t) => t,
                other => {
                    return Err(SqlError::expected(
                        "a DATE",
                        other.kind().unwrap_or(Kind::Text),
                    ))
                }
            };
            let Some(n) = int_of(&get(1))? else {
                return Ok(Value::Null);
            };
            Value::Date(check_instant(civil::add_months(as_date(t), n))?)
        }
        Func::Numtodsinterval => {
            let (Some(n), Some(unit)) = (num_of(&get(0))?, text_of(&get(1))) else {
                return Ok(Value::Null);
            };
            let factor: i64 = match unit.trim().to_ascii_uppercase().as_str() {
                "DAY" => DAY_MS,
                "HOUR" => 3_600_000,
                "MINUTE" => 60_000,
                "SECOND" => 1000,
                _ => {
                    return Err(SqlError::new(
                        "ORA-01760",
                        format!(
                            "illegal argument for function: NUMTODSINTERVAL takes 'DAY', 'HOUR', \
                             'MINUTE' or 'SECOND', not '{unit}'"
                        ),
                    ))
                }
            };
            let ms = n
                .checked_mul(Decimal::from(factor))
                .and_then(round_int)
                .ok_or_else(|| SqlError::new("ORA-01873", "the interval is too large"))?;
            Value::Interval(ms)
        }
        Func::Extract(field) => extract(field, &get(0))?,
        // Lazy functions are handled by `call`.
        Func::Coalesce | Func::Decode => Value::Null,
    })
}

/// SUBSTR with Oracle's positions: 0 is 1, negative counts from the end; a length below 1 or a
/// start past the end gives NULL.
fn substr(s: &str, pos: i64, len: Option<i64>) -> Value<'static> {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let start = match pos {
        0 => 0,
        p if p > 0 => p - 1,
        p => n + p,
    };
    if start < 0 || start >= n {
        return Value::Null;
    }
    let end = match len {
        None => n,
        Some(l) if l < 1 => return Value::Null,
        Some(l) => start.saturating_add(l).min(n),
    };
    Value::text(
        chars[start as usize..end as usize]
            .iter()
            .collect::<String>(),
    )
}

/// INSTR: 1-based position of the `occ`-th occurrence, 0 when absent; a negative position
/// searches backwards from that many characters before the end.
fn instr(s: &str, sub: &str, pos: i64, occ: i64) -> SqlResult<i64> {
    if occ < 1 {
        return Err(SqlError::new(
            "ORA-01428",
            format!("argument '{occ}' is out of range: the occurrence must be 1 or more"),
        ));
    }
    if pos == 0 {
        return Ok(0);
    }
    let hay: Vec<char> = s.chars().collect();
    let needle: Vec<char> = sub.chars().collect();
    let n = hay.len() as i64;
    let m = needle.len() as i64;
    let at = |i: i64| i >= 0 && i + m <= n && hay[i as usize..(i + m) as usize] == needle[..];
    let mut found = 0;
    if pos > 0 {
        let mut i = pos - 1;
        while i + m <= n {
            if at(i) {
                found += 1;
                if found == occ {
                    return Ok(i + 1);
                }
            }
            i += 1;
        }
    } else {
        let mut i = n + pos;
        while i >= 0 {
            if at(i) {
                found += 1;
                if found == occ {
                    return Ok(i + 1);
                }
            }
            i -= 1;
        }
    }
    Ok(0)
}

/// ROUND (half away from zero) or TRUNC of a number to `places` (negative: left of the point).
pub fn round_number(n: Decimal, places: i64, round: bool) -> SqlResult<Decimal> {
    let strategy = if round {
        RoundingStrategy::MidpointAwayFromZero
    } else {
        RoundingStrategy::ToZero
    };
    if places >= 0 {
        return Ok(n.round_dp_with_strategy(places.min(28) as u32, strategy));
    }
    let k = (-places).min(29);
    let Some(scale) = super::value::scale10(Decimal::ONE, k) else {
        return Ok(Decimal::ZERO);
    };
    let shifted = (n / scale).round_dp_with_strategy(0, strategy);
    shifted
        .checked_mul(scale)
        .ok_or_else(|| SqlError::new("ORA-01426", "numeric overflow"))
}

/// GREATEST / LEAST: NULL if any argument is; the others are converted to the first one's kind
/// (as Oracle does: `GREATEST('10', 9)` compares as text).
fn greatest(a: &[Value<'static>], greatest: bool) -> SqlResult<Value<'static>> {
    if a.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let Some(first) = a.first() else {
        return Ok(Value::Null);
    };
    let conv = |v: &Value<'static>| -> SqlResult<Value<'static>> {
        Ok(match first {
            Value::Num(_) => num_of(v)?.map_or(Value::Null, Value::Num),
            Value::Str(_) => text_of(v).map_or(Value::Null, Value::text),
            _ => v.clone(),
        })
    };
    let mut best = first.clone();
    for v in &a[1..] {
        let v = conv(v)?;
        let ord = compare(&v, &best)?;
        let better = if greatest {
            ord == Some(Ordering::Greater)
        } else {
            ord == Some(Ordering::Less)
        };
        if better {
            best = v;
        }
    }
    Ok(best)
}

/// EXTRACT: YEAR, MONTH, DAY of a DATE; any field of a TIMESTAMP (SECOND with its fraction);
/// DAY to SECOND of an INTERVAL (each signed like the interval). Anything else is ORA-30076.
fn extract(field: DtField, v: &Value<'_>) -> SqlResult<Value<'static>> {
    let invalid = |what: &str| {
        SqlError::new(
            "ORA-30076",
            format!(
                "invalid extract field for extract source: {} cannot be extracted from {what}",
                field.as_str()
            ),
        )
    };
    Ok(match v {
        Value::Null => Value::Null,
        Value::Date(t) | Value::Timestamp(t) => {
            let is_date = matches!(v, Value::Date(_));
            if is_date && matches!(field, DtField::Hour | DtField::Minute | DtField::Second) {
                return Err(invalid(
                    "a DATE (use a TIMESTAMP, e.g. SYSTIMESTAMP, or TO_CHAR(date, 'HH24'))",
                ));
            }
            let p = civil::Parts::of(*t);
            match field {
                DtField::Year => Value::int(p.year),
                DtField::Month => Value::int(p.month.into()),
                DtField::Day => Value::int(p.day.into()),
                DtField::Hour => Value::int(p.hour.into()),
                DtField::Minute => Value::int(p.minute.into()),
                DtField::Second => {
                    Value::Num(Decimal::from(p.second) + Decimal::new(i64::from(p.milli), 3))
                }
            }
        }
        Value::Interval(ms) => {
            let sign = if *ms < 0 { -1 } else { 1 };
            let a = ms.unsigned_abs() as i64;
            match field {
                DtField::Day => Value::int(sign * (a / DAY_MS)),
                DtField::Hour => Value::int(sign * (a % DAY_MS / 3_600_000)),
                DtField::Minute => Value::int(sign * (a % 3_600_000 / 60_000)),
                DtField::Second => Value::Num(Decimal::new(sign * (a % 60_000), 3)),
                DtField::Year | DtField::Month => return Err(invalid("a day-to-second INTERVAL")),
            }
        }
        other => {
            return Err(invalid(other.kind().map_or("this value", |k| match k {
                Kind::Number => "a NUMBER",
                _ => "text (convert it with TO_DATE or TO_TIMESTAMP)",
            })))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::sql::civil::Parts;

    fn n(s: &str) -> Value<'static> {
        Value::Num(s.parse().unwrap())
    }

    fn t(s: &'static str) -> Value<'static> {
        Value::text(s)
    }

    const NULL: Value<'static> = Value::Null;

    /// Call with every argument given (and count how many were evaluated).
    fn run(func: Func, args: &[Value<'static>]) -> SqlResult<Value<'static>> {
        run_now(func, args, 0)
    }

    fn run_now(func: Func, args: &[Value<'static>], now: i64) -> SqlResult<Value<'static>> {
        call::<SqlError>(func, args.len(), &mut |i| Ok(args[i].clone()), now)
    }

    fn code(r: SqlResult<Value<'static>>) -> &'static str {
        r.err().map_or("ok", |e| e.code)
    }

    fn at(y: i64, m: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        Parts {
            year: y,
            month: m,
            day: d,
            hour: h,
            minute: mi,
            second: s,
            milli: 0,
        }
        .to_ms()
    }

    #[test]
    fn table_is_consistent() {
        for s in FUNCTIONS {
            assert_eq!(lookup(s.name).map(|x| x.name), Some(s.name));
            assert_eq!(
                lookup(&s.name.to_ascii_lowercase()).map(|x| x.name),
                Some(s.name)
            );
            assert!(s.max.is_none_or(|m| m >= s.min));
            if !matches!(s.func, Func::Extract(_) | Func::Trim(_)) {
                assert_eq!(s.func.name(), s.name);
            }
        }
        assert!(lookup("NVLL").is_none());
    }

    #[test]
    fn null_functions() {
        assert_eq!(run(Func::Nvl, &[NULL, n("0")]), Ok(n("0")));
        assert_eq!(run(Func::Nvl, &[n("3"), n("0")]), Ok(n("3")));
        assert_eq!(run(Func::Nvl, &[t(""), t("x")]), Ok(t("x")), "'' is NULL");
        assert_eq!(run(Func::Nvl2, &[n("1"), t("a"), t("b")]), Ok(t("a")));
        assert_eq!(run(Func::Nvl2, &[NULL, t("a"), t("b")]), Ok(t("b")));
        assert_eq!(
            run(Func::Coalesce, &[NULL, NULL, n("7"), n("8")]),
            Ok(n("7"))
        );
        assert_eq!(run(Func::Coalesce, &[NULL, NULL]), Ok(NULL));
        assert_eq!(run(Func::Nullif, &[n("1"), n("1")]), Ok(NULL));
        assert_eq!(run(Func::Nullif, &[n("1"), n("2")]), Ok(n("1")));
        assert_eq!(run(Func::Nullif, &[n("1"), NULL]), Ok(n("1")));
    }

    #[test]
    fn lazy_functions_stop_early() {
        // COALESCE and DECODE do not evaluate arguments they do not need (Oracle's
        // short-circuit); NVL evaluates both.
        let mut seen = Vec::new();
        let args = [n("1"), n("2")];
        let r = call::<SqlError>(
            Func::Coalesce,
            2,
            &mut |i| {
                seen.push(i);
                Ok(args[i].clone())
            },
            0,
        );
        assert_eq!((r, seen), (Ok(n("1")), vec![0]));
        let boom = |i: usize| -> SqlResult<Value<'static>> {
            if i == 1 {
                Err(SqlError::new("ORA-01476", "divisor is equal to zero"))
            } else {
                Ok(n("1"))
            }
        };
        assert_eq!(code(call(Func::Nvl, 2, &mut { boom }, 0)), "ORA-01476");
        assert_eq!(call(Func::Coalesce, 2, &mut { boom }, 0), Ok(n("1")));
    }

    #[test]
    fn decode_matches_null_with_null() {
        let d = |args: &[Value<'static>]| run(Func::Decode, args);
        assert_eq!(
            d(&[n("2"), n("1"), t("one"), n("2"), t("two")]),
            Ok(t("two"))
        );
        assert_eq!(d(&[n("3"), n("1"), t("one"), t("other")]), Ok(t("other")));
        assert_eq!(d(&[n("3"), n("1"), t("one")]), Ok(NULL));
        assert_eq!(d(&[NULL, NULL, t("null"), t("other")]), Ok(t("null")));
        assert_eq!(
            d(&[n("20100"), t("20100"), t("yes")]),
            Ok(t("yes")),
            "numeric string"
        );
    }

    #[test]
    fn text_functions() {
        assert_eq!(run(Func::Upper, &[t("Failed")]), Ok(t("FAILED")));
        assert_eq!(run(Func::Lower, &[t("Failed")]), Ok(t("failed")));
        assert_eq!(run(Func::Upper, &[NULL]), Ok(NULL));
        assert_eq!(run(Func::Length, &[t("été")]), Ok(n("3")));
        assert_eq!(run(Func::Length, &[t("")]), Ok(NULL));
        assert_eq!(run(Func::Length, &[n("20100")]), Ok(n("5")));
        let sub = |args: &[Value<'static>]| run(Func::Substr, args);
        assert_eq!(sub(&[t("SUCCEEDED"), n("1"), n("4")]), Ok(t("SUCC")));
        assert_eq!(
            sub(&[t("SUCCEEDED"), n("0"), n("4")]),
            Ok(t("SUCC")),
            "0 is 1"
        );
        assert_eq!(sub(&[t("SUCCEEDED"), n("-3")]), Ok(t("DED")));
        assert_eq!(sub(&[t("SUCCEEDED"), n("8"), n("10")]), Ok(t("ED")));
        assert_eq!(sub(&[t("SUCCEEDED"), n("20")]), Ok(NULL));
        assert_eq!(sub(&[t("SUCCEEDED"), n("2"), n("0")]), Ok(NULL));
        assert_eq!(
            sub(&[t("SUCCEEDED"), n("2.9"), n("2.9")]),
            Ok(t("UC")),
            "truncated"
        );
        assert_eq!(sub(&[t("abc"), NULL]), Ok(NULL));
        assert_eq!(sub(&[n("20100"), n("1"), n("3")]), Ok(t("201")));
        let ins = |args: &[Value<'static>]| run(Func::Instr, args);
        assert_eq!(ins(&[t("CORPORATE FLOOR"), t("OR")]), Ok(n("2")));
        assert_eq!(
            ins(&[t("CORPORATE FLOOR"), t("OR"), n("3"), n("2")]),
            Ok(n("14"))
        );
        assert_eq!(
            ins(&[t("CORPORATE FLOOR"), t("OR"), n("-3"), n("2")]),
            Ok(n("2"))
        );
        assert_eq!(ins(&[t("CORPORATE FLOOR"), t("XY")]), Ok(n("0")));
        assert_eq!(ins(&[t("abc"), t("b"), n("0")]), Ok(n("0")));
        assert_eq!(ins(&[t("abc"), NULL]), Ok(NULL));
        assert_eq!(code(ins(&[t("abc"), t("b"), n("1"), n("0")])), "ORA-01428");
        let trim = |side, args: &[Value<'static>]| run(Func::Trim(side), args);
        assert_eq!(trim(TrimSide::Both, &[t("  x  ")]), Ok(t("x")));
        assert_eq!(trim(TrimSide::Both, &[t("   ")]), Ok(NULL), "empty is NULL");
        assert_eq!(trim(TrimSide::Leading, &[t("00120"), t("0")]), Ok(t("120")));
        assert_eq!(
            trim(TrimSide::Trailing, &[t("00120"), t("0")]),
            Ok(t("0012"))
        );
        assert_eq!(code(trim(TrimSide::Both, &[t("x"), t("ab")])), "ORA-30001");
        assert_eq!(trim(TrimSide::Both, &[t("x"), NULL]), Ok(NULL));
        assert_eq!(run(Func::Ltrim, &[t("xxyz"), t("xy")]), Ok(t("z")));
        assert_eq!(run(Func::Rtrim, &[t("ab  ")]), Ok(t("ab")));
        assert_eq!(
            run(Func::Replace, &[t("a-b-c"), t("-"), t("+")]),
            Ok(t("a+b+c"))
        );
        assert_eq!(run(Func::Replace, &[t("a-b-c"), t("-")]), Ok(t("abc")));
        assert_eq!(run(Func::Replace, &[t("a-b"), NULL, t("+")]), Ok(t("a-b")));
        assert_eq!(run(Func::Replace, &[t("--"), t("-")]), Ok(NULL));
    }

    #[test]
    fn number_functions() {
        assert_eq!(run(Func::ToNumber, &[t(" 20100 ")]), Ok(n("20100")));
        assert_eq!(run(Func::ToNumber, &[NULL]), Ok(NULL));
        assert_eq!(code(run(Func::ToNumber, &[t("abc")])), "ORA-01722");
        assert_eq!(
            run(Func::ToNumber, &[t("1,234.5"), t("9,999.9")]),
            Ok(n("1234.5"))
        );
        assert_eq!(code(run(Func::ToNumber, &[t("1"), t("9X")])), "ORA-01481");
        assert_eq!(run(Func::Round, &[n("2.5")]), Ok(n("3")));
        assert_eq!(
            run(Func::Round, &[n("-2.5")]),
            Ok(n("-3")),
            "half away from zero"
        );
        assert_eq!(
            run(Func::Round, &[n("1234.5678"), n("2")]),
            Ok(n("1234.57"))
        );
        assert_eq!(run(Func::Round, &[n("1250"), n("-2")]), Ok(n("1300")));
        assert_eq!(run(Func::Trunc, &[n("-2.7")]), Ok(n("-2")));
        assert_eq!(run(Func::Trunc, &[n("1299"), n("-2")]), Ok(n("1200")));
        assert_eq!(run(Func::Trunc, &[t("2.7")]), Ok(n("2")), "numeric string");
        assert_eq!(run(Func::Round, &[NULL, n("1")]), Ok(NULL));
        assert_eq!(run(Func::Abs, &[n("-3")]), Ok(n("3")));
        assert_eq!(run(Func::Floor, &[n("-2.5")]), Ok(n("-3")));
        assert_eq!(run(Func::Ceil, &[n("2.1")]), Ok(n("3")));
        assert_eq!(run(Func::Mod, &[n("11"), n("4")]), Ok(n("3")));
        assert_eq!(run(Func::Mod, &[n("-11"), n("4")]), Ok(n("-3")));
        assert_eq!(run(Func::Mod, &[n("11"), n("0")]), Ok(n("11")));
        assert_eq!(run(Func::Greatest, &[n("1"), n("3"), n("2")]), Ok(n("3")));
        assert_eq!(run(Func::Least, &[n("1"), NULL]), Ok(NULL));
        assert_eq!(
            run(Func::Greatest, &[t("10"), n("9")]),
            Ok(t("9")),
            "as text"
        );
        assert_eq!(
            run(Func::Greatest, &[n("10"), t("9")]),
            Ok(n("10")),
            "as numbers"
        );
    }

    #[test]
    fn to_char() {
        let day = at(2024, 3, 5, 14, 7, 9);
        assert_eq!(
            run(Func::ToChar, &[Value::Date(day), t("YYYY-MM-DD HH24:MI")]),
            Ok(t("2024-03-05 14:07"))
        );
        assert_eq!(
            run(Func::ToChar, &[Value::Date(day), t("DY")]),
            Ok(t("TUE"))
        );
        assert_eq!(run(Func::ToChar, &[Value::Date(day)]), Ok(t("05-MAR-24")));
        assert_eq!(run(Func::ToChar, &[n("0.5")]), Ok(t(".5")));
        assert_eq!(
            run(Func::ToChar, &[n("3.14159"), t("FM990.00")]),
            Ok(t("3.14"))
        );
        assert_eq!(run(Func::ToChar, &[t("7"), t("FM00")]), Ok(t("07")));
        assert_eq!(run(Func::ToChar, &[NULL, t("YYYY")]), Ok(NULL));
        assert_eq!(run(Func::ToChar, &[n("1"), NULL]), Ok(NULL));
        assert_eq!(
            code(run(Func::ToChar, &[Value::Date(day), t("BAD")])),
            "ORA-01821"
        );
        assert_eq!(
            run(Func::ToChar, &[Value::Interval(90_000)]),
            Ok(t("+0 00:01:30.000000"))
        );
    }

    #[test]
    fn to_date_and_to_timestamp() {
        let now = at(2024, 6, 15, 10, 0, 0);
        assert_eq!(
            run_now(Func::ToDate, &[t("2024-01-31"), t("YYYY-MM-DD")], now),
            Ok(Value::Date(at(2024, 1, 31, 0, 0, 0)))
        );
        assert_eq!(
            run_now(Func::ToDate, &[t("31-JAN-24")], now),
            Ok(Value::Date(at(2024, 1, 31, 0, 0, 0))),
            "default format DD-MON-RR"
        );
        assert_eq!(
            code(run_now(Func::ToDate, &[t("2024-01-31")], now)),
            "ORA-01843",
            "not the default format"
        );
        assert_eq!(
            run_now(Func::ToDate, &[t("07:30"), t("HH24:MI")], now),
            Ok(Value::Date(at(2024, 6, 1, 7, 30, 0))),
            "year and month of now, day 1"
        );
        assert_eq!(
            run_now(Func::ToDate, &[n("20240131"), t("YYYYMMDD")], now),
            Ok(Value::Date(at(2024, 1, 31, 0, 0, 0)))
        );
        assert_eq!(
            run_now(
                Func::ToTimestamp,
                &[t("2024-01-31 10:00:00.5"), t("YYYY-MM-DD HH24:MI:SS.FF")],
                now
            ),
            Ok(Value::Timestamp(at(2024, 1, 31, 10, 0, 0) + 500))
        );
        assert_eq!(run_now(Func::ToDate, &[NULL, t("YYYY")], now), Ok(NULL));
        assert_eq!(run_now(Func::ToDate, &[t("2024"), NULL], now), Ok(NULL));
        assert_eq!(
            code(run_now(
                Func::ToDate,
                &[t("2024-02-30"), t("YYYY-MM-DD")],
                now
            )),
            "ORA-01839"
        );
    }

    #[test]
    fn date_functions() {
        let t0 = at(2024, 8, 17, 13, 45, 31) + 250;
        assert_eq!(
            run(Func::Trunc, &[Value::Timestamp(t0)]),
            Ok(Value::Date(at(2024, 8, 17, 0, 0, 0))),
            "TRUNC of a timestamp is a DATE at midnight"
        );
        assert_eq!(
            run(Func::Trunc, &[Value::Date(t0 - 250), t("MM")]),
            Ok(Value::Date(at(2024, 8, 1, 0, 0, 0)))
        );
        assert_eq!(
            run(Func::Round, &[Value::Date(t0 - 250), t("HH24")]),
            Ok(Value::Date(at(2024, 8, 17, 14, 0, 0)))
        );
        assert_eq!(
            code(run(Func::Trunc, &[Value::Date(0), t("XX")])),
            "ORA-01899"
        );
        assert_eq!(
            run(
                Func::AddMonths,
                &[Value::Date(at(2024, 1, 31, 0, 0, 0)), n("1")]
            ),
            Ok(Value::Date(at(2024, 2, 29, 0, 0, 0)))
        );
        assert_eq!(run(Func::AddMonths, &[NULL, n("1")]), Ok(NULL));
        assert_eq!(
            run(Func::Numtodsinterval, &[n("1.5"), t("hour")]),
            Ok(Value::Interval(5_400_000))
        );
        assert_eq!(
            code(run(Func::Numtodsinterval, &[n("1"), t("WEEK")])),
            "ORA-01760"
        );
    }

    #[test]
    fn extract_follows_oracle() {
        let t0 = at(2024, 8, 17, 13, 45, 31) + 250;
        let x = |f, v: Value<'static>| run(Func::Extract(f), &[v]);
        assert_eq!(x(DtField::Year, Value::Date(t0 - 250)), Ok(n("2024")));
        assert_eq!(x(DtField::Day, Value::Date(t0 - 250)), Ok(n("17")));
        assert_eq!(x(DtField::Hour, Value::Timestamp(t0)), Ok(n("13")));
        assert_eq!(x(DtField::Second, Value::Timestamp(t0)), Ok(n("31.25")));
        assert_eq!(code(x(DtField::Hour, Value::Date(t0 - 250))), "ORA-30076");
        let iv = Value::Interval(-(DAY_MS + 2 * 3_600_000 + 3 * 60_000 + 4_500));
        assert_eq!(x(DtField::Day, iv.clone()), Ok(n("-1")));
        assert_eq!(x(DtField::Hour, iv.clone()), Ok(n("-2")));
        assert_eq!(x(DtField::Minute, iv.clone()), Ok(n("-3")));
        assert_eq!(x(DtField::Second, iv.clone()), Ok(n("-4.5")));
        assert_eq!(code(x(DtField::Year, iv)), "ORA-30076");
        assert_eq!(x(DtField::Year, NULL), Ok(NULL));
        assert_eq!(code(x(DtField::Year, t("2024"))), "ORA-30076");
    }
}
