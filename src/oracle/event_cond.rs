//! Oracle event conditions (AQ rule conditions on the message, `tab.user_data.FIELD`) →
//! a rule-file payload condition (`where FIELD = 'x'`).
//!
//! Why this much and no more: chainsched events carry a JSON payload whose top-level fields
//! play the part of the message type's attributes. Comparisons of `tab.user_data.X` with
//! literals, IN lists, IS [NOT] NULL, AND/OR/NOT and parentheses map one to one; anything else
//! (functions, LIKE, other columns of the queue table) has no payload equivalent, so the
//! translation fails with the reason and the caller warns.

use super::lexer::{tokenize, TokKind};
use crate::lang::parser::{is_reserved, parse_file};

/// The payload condition, or why it cannot be translated.
pub fn translate(condition: &str) -> Result<String, String> {
    let toks = tokenize(condition).map_err(|e| e.message)?;
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        match &t.kind {
            TokKind::Ident(w) => {
                let up = w.to_ascii_uppercase();
                if ["AND", "OR", "NOT", "IN", "IS", "NULL"].contains(&up.as_str()) {
                    out.push(up);
                    i += 1;
                    continue;
                }
                // alias.user_data.FIELD
                let is_dot = |k: usize| matches!(toks.get(k).map(|t| &t.kind), Some(TokKind::Punct(p)) if p == ".");
                let ident = |k: usize| match toks.get(k).map(|t| &t.kind) {
                    Some(TokKind::Ident(w) | TokKind::QuotedIdent(w)) => Some(w.clone()),
                    _ => None,
                };
                let user_data = ident(i + 2).is_some_and(|u| u.eq_ignore_ascii_case("user_data"));
                match (is_dot(i + 1), user_data, is_dot(i + 3), ident(i + 4)) {
                    (true, true, true, Some(field)) if !is_dot(i + 5) => {
                        out.push(field_name(&field));
                        i += 5;
                    }
                    _ => {
                        return Err(format!(
                            "`{w}` is not a field of the event message (tab.user_data.FIELD) or a keyword the payload condition knows"
                        ))
                    }
                }
            }
            TokKind::Str(s) => {
                out.push(format!("'{}'", s.replace('\'', "''")));
                i += 1;
            }
            TokKind::Number(n) => {
                out.push(n.clone());
                i += 1;
            }
            TokKind::Punct(p)
                if ["=", "!=", "<>", "<", "<=", ">", ">=", "(", ")", ",", "-"]
                    .contains(&p.as_str()) =>
            {
                out.push(p.clone());
                i += 1;
            }
            TokKind::Punct(p) if p == "^=" => {
                out.push("!=".to_string());
                i += 1;
            }
            _ => {
                let text = &condition[t.start..t.end];
                return Err(format!("`{text}` has no equivalent in a payload condition"));
            }
        }
    }
    let text = join(&out);
    if text.is_empty() {
        return Err("the condition is empty".to_string());
    }
    let probe = format!("chain C {{ step S event E where {text}; }}");
    match parse_file(0, &probe) {
        Ok(_) => Ok(text),
        Err(diags) => Err(diags
            .first()
            .map(|d| d.message.clone())
            .unwrap_or_else(|| "the rule language rejects it".to_string())),
    }
}

/// Field names keep their case; quoted when they are not plain names or are reserved words.
fn field_name(f: &str) -> String {
    let plain = f.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && f.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_$".contains(c))
        && !is_reserved(&f.to_ascii_uppercase());
    if plain {
        f.to_string()
    } else {
        format!("\"{f}\"")
    }
}

/// Tokens joined with blanks, except around `(`, `)`, `,` and a sign.
fn join(toks: &[String]) -> String {
    let mut out = String::new();
    for (k, t) in toks.iter().enumerate() {
        let prev = k.checked_sub(1).map(|p| toks[p].as_str());
        let glue = matches!(t.as_str(), ")" | ",")
            || matches!(prev, Some("("))
            || (prev == Some("-")
                && k >= 2
                && matches!(
                    toks[k - 2].as_str(),
                    "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "(" | ","
                ));
        if !out.is_empty() && !glue {
            out.push(' ');
        }
        out.push_str(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_fields_become_payload_fields() {
        assert_eq!(
            translate("tab.user_data.event_name = 'FILE_ARRIVED' AND tab.user_data.file_size > -1")
                .unwrap(),
            "event_name = 'FILE_ARRIVED' AND file_size > -1"
        );
        assert_eq!(
            translate("TAB.USER_DATA.object_name IN ('A','B') or not (tab.user_data.x is null)")
                .unwrap(),
            "object_name IN ('A', 'B') OR NOT (x IS NULL)"
        );
    }

    #[test]
    fn untranslatable_conditions_say_why() {
        assert!(translate("tab.user_data.name LIKE 'A%'")
            .unwrap_err()
            .contains("LIKE"));
        assert!(translate("upper(tab.user_data.name) = 'A'").is_err());
        assert!(translate("tab.user_data.x = ").is_err());
    }
}
