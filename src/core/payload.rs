//! Event payload conditions (`step W event FILE_ARRIVED where file = 'sales.csv' AND size > 0`).
//!
//! Field names are matched exactly against the top-level keys of the JSON payload; a missing
//! field (or a payload that is not an object, or a JSON null) is NULL, and comparisons with NULL
//! are UNKNOWN, as in rule conditions. A step completes only when the condition is TRUE.

use crate::lang::ast::{Literal, PayloadCond};
use crate::lang::logic::{in_list, Truth};
use serde_json::Value as Json;
use std::cmp::Ordering;

/// Does `payload` satisfy `cond`? (three-valued).
pub fn payload_matches(cond: &PayloadCond, payload: &Json) -> Truth {
    match cond {
        PayloadCond::Compare {
            field, op, value, ..
        } => Truth::of_comparison(*op, compare(field_value(payload, field), value)),
        PayloadCond::In {
            field,
            negated,
            values,
            ..
        } => {
            let v = field_value(payload, field);
            in_list(values.iter().map(|lit| compare(v, lit))).negate_if(*negated)
        }
        PayloadCond::IsNull { field, negated, .. } => {
            let is_null = matches!(field_value(payload, field), None | Some(Json::Null));
            Truth::from_bool(is_null != *negated)
        }
        PayloadCond::And(a, b) => {
            match (payload_matches(a, payload), payload_matches(b, payload)) {
                (Truth::False, _) | (_, Truth::False) => Truth::False,
                (Truth::True, Truth::True) => Truth::True,
                _ => Truth::Unknown,
            }
        }
        PayloadCond::Or(a, b) => match (payload_matches(a, payload), payload_matches(b, payload)) {
            (Truth::True, _) | (_, Truth::True) => Truth::True,
            (Truth::False, Truth::False) => Truth::False,
            _ => Truth::Unknown,
        },
        PayloadCond::Not(a) => !payload_matches(a, payload),
    }
}

fn field_value<'a>(payload: &'a Json, field: &str) -> Option<&'a Json> {
    payload.as_object().and_then(|o| o.get(field))
}

/// Compare a JSON value with a literal. Strings compare as strings, numbers as numbers; a
/// numeric string against a number literal (or a number against a numeric string literal) is
/// converted as SQL does; booleans compare as the strings `true`/`false`; anything else
/// (NULL, arrays, objects, non-numeric strings against numbers) is UNKNOWN.
fn compare(v: Option<&Json>, lit: &Literal) -> Option<Ordering> {
    let v = v?;
    match (v, lit) {
        (Json::String(s), Literal::Str(l)) => Some(s.as_str().cmp(l.as_str())),
        (Json::Number(n), Literal::Num(l)) => n.as_f64()?.partial_cmp(l),
        (Json::String(s), Literal::Num(l)) => s.trim().parse::<f64>().ok()?.partial_cmp(l),
        (Json::Number(n), Literal::Str(l)) => {
            n.as_f64()?.partial_cmp(&l.trim().parse::<f64>().ok()?)
        }
        (Json::Bool(b), Literal::Str(l)) => {
            Some((if *b { "true" } else { "false" }).cmp(l.as_str()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::ast::CmpOp;
    use crate::lang::span::Span;
    use serde_json::json;

    fn cmp(field: &str, op: CmpOp, value: Literal) -> PayloadCond {
        PayloadCond::Compare {
            field: field.into(),
            op,
            value,
            span: Span::default(),
        }
    }

    #[test]
    fn exact_fields_and_nulls() {
        let c = cmp("file", CmpOp::Eq, Literal::Str("sales.csv".into()));
        assert_eq!(
            payload_matches(&c, &json!({"file": "sales.csv"})),
            Truth::True
        );
        assert_eq!(
            payload_matches(&c, &json!({"FILE": "sales.csv"})),
            Truth::Unknown
        );
        assert_eq!(payload_matches(&c, &json!({"file": "x.csv"})), Truth::False);
        assert_eq!(payload_matches(&c, &json!(null)), Truth::Unknown);
        let size = cmp("size", CmpOp::Gt, Literal::Num(0.0));
        let both = PayloadCond::And(Box::new(c), Box::new(size));
        assert_eq!(
            payload_matches(&both, &json!({"file": "sales.csv", "size": 10})),
            Truth::True
        );
        assert_eq!(
            payload_matches(&both, &json!({"file": "sales.csv"})),
            Truth::Unknown
        );
        let isnull = PayloadCond::IsNull {
            field: "size".into(),
            negated: false,
            span: Span::default(),
        };
        assert_eq!(payload_matches(&isnull, &json!({})), Truth::True);
    }
}
