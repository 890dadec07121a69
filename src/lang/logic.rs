//! SQL three-valued logic: the connectives and how comparisons and IN lists become truths.
//!
//! Why one module: the engine (`core::eval` for rule conditions, `core::payload` for event
//! payload conditions), the `explain` view (which calls the engine's evaluator) and the lints
//! (`catalog::truth`, which evaluates over *sets* of possible truth values) must agree exactly on
//! what `NOT (UNKNOWN)` and `x NOT IN (1, NULL)` mean. These primitives are that agreement. They
//! live in `lang`, the lowest layer, so every layer above can use them. The values compared
//! (NULL, numeric strings, dates) and their rules are [`crate::lang::sql`].
//!
//! The rules (docs/evaluator.md, "Conditions"): a comparison involving NULL is UNKNOWN; AND/OR/NOT follow Kleene
//! logic; a rule fires only when its condition is TRUE.

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
