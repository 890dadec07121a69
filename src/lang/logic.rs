//! SQL three-valued logic and the comparison rules of the condition language.
//!
//! Why one module: the engine (`core::eval` for rule conditions, `core::payload` for event
//! payload conditions), the `explain` view (which calls the engine's evaluator) and the lints
//! (`catalog::truth`, which evaluates over *sets* of possible truth values) must agree exactly on
//! what `NULL = 1`, `'3' = 3`, `NOT (UNKNOWN)` and `x NOT IN (1, NULL)` mean. These primitives
//! are that agreement. They live in `lang`, the lowest layer, so every layer above can use them;
//! they depend on nothing but [`CmpOp`].
//!
//! The rules (semantics.md): a comparison involving NULL is UNKNOWN; values of kinds that do not
//! compare (a date with an interval, a date with a string, ...) are UNKNOWN; a string compared
//! with a number is converted to a number as SQL does, and a string that is not a number makes
//! the comparison UNKNOWN (Oracle would raise ORA-01722; a rule must not crash the engine);
//! AND/OR/NOT follow Kleene logic; a rule fires only when its condition is TRUE.

use crate::lang::ast::CmpOp;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// SQL truth value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    pub fn from_bool(b: bool) -> Truth {
        if b {
            Truth::True
        } else {
            Truth::False
        }
    }

    pub fn is_true(self) -> bool {
        self == Truth::True
    }

    /// `TRUE`, `FALSE` or `UNKNOWN`, as the views and explanations print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Truth::True => "TRUE",
            Truth::False => "FALSE",
            Truth::Unknown => "UNKNOWN",
        }
    }

    /// SQL `AND`: FALSE wins, then UNKNOWN.
    pub fn and(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::False, _) | (_, Truth::False) => Truth::False,
            (Truth::True, Truth::True) => Truth::True,
            _ => Truth::Unknown,
        }
    }

    /// SQL `OR`: TRUE wins, then UNKNOWN.
    pub fn or(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::True, _) | (_, Truth::True) => Truth::True,
            (Truth::False, Truth::False) => Truth::False,
            _ => Truth::Unknown,
        }
    }

    /// `NOT self` when `negated` (the `NOT` of `NOT IN`, `IS NOT NULL`, `NOT SUCCEEDED`).
    pub fn negate_if(self, negated: bool) -> Truth {
        if negated {
            !self
        } else {
            self
        }
    }

    /// The truth of `left op right` given how the two compare; `None` (NULL or values that do
    /// not compare) is UNKNOWN.
    pub fn of_comparison(op: CmpOp, ord: Option<Ordering>) -> Truth {
        ord.map_or(Truth::Unknown, |o| Truth::from_bool(holds(op, o)))
    }
}

impl std::ops::Not for Truth {
    type Output = Truth;
    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

/// Does `op` hold for two values that compare as `ord` (left against right)?
pub fn holds(op: CmpOp, ord: Ordering) -> bool {
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

/// `x IN (a, b, ...)` from the comparisons of `x` with each item, in list order: TRUE as soon as
/// one item is equal (later items are not compared: the iterator may be lazy), else UNKNOWN if
/// any comparison was NULL, else FALSE. `NOT IN` is the negation (`Truth::negate_if`), so
/// `x NOT IN (1, NULL)` is never TRUE.
pub fn in_list(comparisons: impl IntoIterator<Item = Option<Ordering>>) -> Truth {
    let mut acc = Truth::False;
    for ord in comparisons {
        match ord {
            Some(Ordering::Equal) => return Truth::True,
            Some(_) => {}
            None => acc = Truth::Unknown,
        }
    }
    acc
}

/// A value of the rule condition language: what an operand (`:A.error_code`, `'FAILED'`,
/// `SYSTIMESTAMP - INTERVAL '1' HOUR`) evaluates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlValue<'a> {
    Null,
    Int(i128),
    Str(&'a str),
    /// An instant (ms).
    Time(i128),
    /// A duration (ms).
    Interval(i128),
}

/// How two values compare in a rule condition; `None` is UNKNOWN (a NULL, kinds that do not
/// compare, or a string that is not a number compared with a number). Strings compare exactly
/// (case-sensitive), instants with instants, durations with durations.
pub fn compare_values(l: &SqlValue<'_>, r: &SqlValue<'_>) -> Option<Ordering> {
    match (l, r) {
        (SqlValue::Null, _) | (_, SqlValue::Null) => None,
        (SqlValue::Int(a), SqlValue::Int(b)) => Some(a.cmp(b)),
        (SqlValue::Str(a), SqlValue::Str(b)) => Some(a.cmp(b)),
        (SqlValue::Time(a), SqlValue::Time(b)) => Some(a.cmp(b)),
        (SqlValue::Interval(a), SqlValue::Interval(b)) => Some(a.cmp(b)),
        (SqlValue::Int(a), SqlValue::Str(s)) => compare_int_with_text(*a, s),
        (SqlValue::Str(s), SqlValue::Int(b)) => compare_int_with_text(*b, s).map(Ordering::reverse),
        _ => None,
    }
}

/// An integer against a string, converting the string to a number as SQL does (surrounding
/// blanks ignored; `'20100'` and `'2.5'` are numbers). `None` when the string is not a finite
/// number.
pub fn compare_int_with_text(n: i128, s: &str) -> Option<Ordering> {
    let t = s.trim();
    if let Ok(v) = t.parse::<i128>() {
        return Some(n.cmp(&v));
    }
    let v: f64 = t.parse().ok()?;
    if !v.is_finite() {
        return None;
    }
    (n as f64).partial_cmp(&v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Truth::{False as F, True as T, Unknown as U};

    #[test]
    fn kleene_connectives() {
        assert_eq!(!U, U);
        assert_eq!(!T, F);
        assert_eq!(U.and(F), F);
        assert_eq!(U.and(T), U);
        assert_eq!(T.and(T), T);
        assert_eq!(U.or(T), T);
        assert_eq!(U.or(F), U);
        assert_eq!(F.or(F), F);
        assert_eq!(U.negate_if(true), U);
        assert_eq!(T.negate_if(false), T);
        assert_eq!(T.negate_if(true), F);
        assert_eq!(U.as_str(), "UNKNOWN");
    }

    #[test]
    fn comparison_operators() {
        use CmpOp::*;
        let table = [
            (Eq, [false, true, false]),
            (Ne, [true, false, true]),
            (Lt, [true, false, false]),
            (Le, [true, true, false]),
            (Gt, [false, false, true]),
            (Ge, [false, true, true]),
        ];
        for (op, expected) in table {
            for (ord, want) in [Ordering::Less, Ordering::Equal, Ordering::Greater]
                .into_iter()
                .zip(expected)
            {
                assert_eq!(holds(op, ord), want, "{op:?} {ord:?}");
            }
        }
        assert_eq!(Truth::of_comparison(Eq, None), U);
        assert_eq!(Truth::of_comparison(Ne, Some(Ordering::Less)), T);
    }

    #[test]
    fn null_and_mismatched_kinds_do_not_compare() {
        use SqlValue::*;
        assert_eq!(compare_values(&Null, &Null), None);
        assert_eq!(compare_values(&Int(1), &Null), None);
        assert_eq!(compare_values(&Time(1), &Interval(1)), None);
        assert_eq!(compare_values(&Time(1), &Str("1")), None);
        assert_eq!(compare_values(&Time(1), &Time(2)), Some(Ordering::Less));
        assert_eq!(
            compare_values(&Str("FAILED"), &Str("failed")),
            Some(Ordering::Less),
            "strings compare exactly"
        );
    }

    #[test]
    fn numbers_meet_numeric_strings() {
        use SqlValue::*;
        assert_eq!(
            compare_values(&Int(20100), &Str(" 20100 ")),
            Some(Ordering::Equal)
        );
        assert_eq!(compare_values(&Str("2.5"), &Int(3)), Some(Ordering::Less));
        assert_eq!(compare_values(&Str("abc"), &Int(3)), None);
        assert_eq!(compare_int_with_text(3, "inf"), None);
        assert_eq!(compare_int_with_text(3, "NaN"), None);
        assert_eq!(
            compare_int_with_text(i128::from(i64::MAX), "9223372036854775807"),
            Some(Ordering::Equal)
        );
    }

    #[test]
    fn in_lists_with_nulls() {
        let eq = Some(Ordering::Equal);
        let lt = Some(Ordering::Less);
        assert_eq!(in_list([lt, eq]), T);
        assert_eq!(in_list([lt, lt]), F);
        assert_eq!(in_list([None, eq]), T, "a match wins over a NULL item");
        assert_eq!(in_list([lt, None]), U);
        assert_eq!(in_list([lt, None]).negate_if(true), U, "NOT IN (.., NULL)");
        assert_eq!(in_list(std::iter::empty()), F);
        // Stops at the first match.
        let mut seen = 0;
        let lazy = [eq, None].into_iter().inspect(|_| seen += 1);
        assert_eq!(in_list(lazy), T);
        assert_eq!(seen, 1);
    }
}
