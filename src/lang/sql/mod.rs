//! The value semantics of SQL-syntax rule conditions: Oracle's values, NULL rules, operators,
//! LIKE, format models and functions (NVL, DECODE, SUBSTR, TO_DATE, TRUNC, EXTRACT, ...).
//!
//! Why one module in `lang`: the engine (`core::eval`, and through it `explain` and the
//! simulator) and the lints (`catalog::truth`, over abstract step states) must compute exactly
//! the same value for `NVL(:A.error_code, 0) + 1` or `TO_CHAR(SYSDATE, 'DY')`. Both walk their
//! expression trees themselves (one concrete, one abstract) and call these functions for every
//! operator and function, so the semantics exist once. Everything here is pure: the current
//! time is a parameter (`now`, the evaluation's instant), never read from a clock.
//!
//! Errors Oracle would raise (`ORA-01722 invalid number`, `ORA-01476 divisor is equal to zero`,
//! a date format that does not match) are [`SqlError`] values; the predicate that meets one is
//! UNKNOWN (docs/evaluator.md, "Conditions").

pub mod civil;
pub mod format;
pub mod func;
pub mod like;
pub mod value;

pub use func::{call, lookup, Func, FuncSpec, FUNCTIONS};
pub use value::{compare, Kind, SqlError, SqlResult, Value};

use serde::{Deserialize, Serialize};

/// `+ - * / ||`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Concat,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Concat => "||",
        }
    }

    /// Binding strength: `* /` bind tighter than `+ - ||` (equal, left to right, as in Oracle).
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Mul | BinOp::Div => 2,
            _ => 1,
        }
    }
}

/// The clock functions. All read the evaluation's `now` (UTC); none reads a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Clock {
    /// `SYSDATE`, `CURRENT_DATE`: a DATE (whole seconds).
    Sysdate,
    CurrentDate,
    /// `SYSTIMESTAMP`, `CURRENT_TIMESTAMP`, `LOCALTIMESTAMP`: a TIMESTAMP.
    Systimestamp,
    CurrentTimestamp,
    LocalTimestamp,
}

impl Clock {
    pub fn as_str(self) -> &'static str {
        match self {
            Clock::Sysdate => "SYSDATE",
            Clock::CurrentDate => "CURRENT_DATE",
            Clock::Systimestamp => "SYSTIMESTAMP",
            Clock::CurrentTimestamp => "CURRENT_TIMESTAMP",
            Clock::LocalTimestamp => "LOCALTIMESTAMP",
        }
    }

    /// The value of the clock at `now` (ms since the epoch, UTC).
    pub fn value(self, now: i64) -> Value<'static> {
        match self {
            Clock::Sysdate | Clock::CurrentDate => Value::Date(value::as_date(now)),
            _ => Value::Timestamp(now),
        }
    }
}

/// The field of `EXTRACT(field FROM …)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DtField {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

impl DtField {
    pub fn as_str(self) -> &'static str {
        match self {
            DtField::Year => "YEAR",
            DtField::Month => "MONTH",
            DtField::Day => "DAY",
            DtField::Hour => "HOUR",
            DtField::Minute => "MINUTE",
            DtField::Second => "SECOND",
        }
    }

    pub fn parse(word: &str) -> Option<DtField> {
        Some(match word.to_ascii_uppercase().as_str() {
            "YEAR" => DtField::Year,
            "MONTH" => DtField::Month,
            "DAY" => DtField::Day,
            "HOUR" => DtField::Hour,
            "MINUTE" => DtField::Minute,
            "SECOND" => DtField::Second,
            _ => return None,
        })
    }
}

/// `TRIM(LEADING|TRAILING|BOTH …)`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrimSide {
    Both,
    Leading,
    Trailing,
}
