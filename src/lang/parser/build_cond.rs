//! Pest pairs → AST for rule conditions (both Oracle syntaxes), actions and event payload
//! conditions, with their value checks (`bad-after`, `bad-end`, `not-needs-parens`,
//! intervals, the size limit on conditions).
//!
//! Conditions are built left-associatively (`a OR b OR c` is `(a OR b) OR c`); precedence
//! (NOT > AND > OR) comes from the grammar's layering.

use super::build::{hms, lexer_clip, Builder};
use super::grammar::Rule;
use crate::lang::ast::*;
use crate::lang::diagnostic::Diagnostic;
use crate::lang::duration::{parse_duration, parse_hms};
use crate::lang::span::Span;
use pest::iterators::Pair;

/// The most predicates one condition may join. Every later stage walks conditions
/// recursively; this bound (with the parenthesis-depth bound) keeps them shallow.
pub const MAX_PREDICATES: usize = 1000;

impl Builder {
    /// A whole rule condition (`cond` pair), with the size limit checked first.
    pub fn condition(&mut self, p: Pair<Rule>) -> Cond {
        let span = self.span(&p);
        // Predicates are the atoms that hold no other atom: a parenthesised condition is an
        // atom too (a parenthesis is parsed once, as a value), and must not count twice.
        let atoms = p
            .clone()
            .into_inner()
            .flatten()
            .filter(|c| {
                c.as_rule() == Rule::cond_atom
                    && !c
                        .clone()
                        .into_inner()
                        .flatten()
                        .any(|inner| inner.as_rule() == Rule::cond_atom)
            })
            .count();
        if atoms > MAX_PREDICATES {
            self.error(
                "too-complex",
                format!(
                    "this condition joins {atoms} predicates; at most {MAX_PREDICATES} are \
                     allowed (split the rule)"
                ),
                span,
            );
            return Cond::Const(false, span);
        }
        self.sql_nodes = 0;
        self.cond(p)
    }

    pub(super) fn cond(&mut self, p: Pair<Rule>) -> Cond {
        let span = self.span(&p);
        let mut acc: Option<Cond> = None;
        for c in p.into_inner().filter(|c| c.as_rule() == Rule::cond_and) {
            let next = self.cond_and(c);
            acc = Some(match acc {
                None => next,
                Some(prev) => Cond::Or(Box::new(prev), Box::new(next)),
            });
        }
        acc.unwrap_or(Cond::Const(false, span))
    }

    fn cond_and(&mut self, p: Pair<Rule>) -> Cond {
        let span = self.span(&p);
        let mut acc: Option<Cond> = None;
        for c in p.into_inner().filter(|c| c.as_rule() == Rule::cond_not) {
            let next = self.cond_not(c);
            acc = Some(match acc {
                None => next,
                Some(prev) => Cond::And(Box::new(prev), Box::new(next)),
            });
        }
        acc.unwrap_or(Cond::Const(false, span))
    }

    fn cond_not(&mut self, p: Pair<Rule>) -> Cond {
        let span = self.span(&p);
        let parts: Vec<Pair<Rule>> = p.into_inner().collect();
        let negated = parts.first().is_some_and(|c| c.as_rule() == Rule::kw_not);
        let Some(last) = parts.last().cloned() else {
            return Cond::Const(false, span);
        };
        let inner = match last.as_rule() {
            Rule::not_bare => {
                let text = super::lexer::collapse(last.as_str());
                // `NOT EXISTS (SELECT ...)` is reported as a subquery, not as a missing `(`.
                let exists = text
                    .get(..6)
                    .is_some_and(|w| w.eq_ignore_ascii_case("EXISTS"));
                if !exists {
                    self.diags.push(
                        Diagnostic::error(
                            "not-needs-parens",
                            format!(
                                "NOT must be followed by a parenthesis: write `NOT ({text})`, \
                                 not `NOT {text}`"
                            ),
                            span,
                        )
                        .with_expected("`(`"),
                    );
                }
                match last.into_inner().next() {
                    Some(a) => self.cond_atom(a),
                    None => Cond::Const(false, span),
                }
            }
            Rule::cond_atom => self.cond_atom(last),
            _ => Cond::Const(false, span),
        };
        if negated {
            Cond::Not(Box::new(inner), span)
        } else {
            inner
        }
    }

    fn cond_atom(&mut self, p: Pair<Rule>) -> Cond {
        let span = self.span(&p);
        let Some(a) = p.into_inner().next() else {
            return Cond::Const(false, span);
        };
        match a.as_rule() {
            Rule::kw_true => Cond::Const(true, span),
            Rule::kw_false => Cond::Const(false, span),
            Rule::sql_pred => self.sql_pred(a),
            Rule::step_pred => self.step_pred(a),
            _ => Cond::Const(false, span),
        }
    }

    fn step_pred(&mut self, p: Pair<Rule>) -> Cond {
        let span = self.span(&p);
        let mut step = None;
        let mut out = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::step_ref => step = Some(self.ident(&c)),
                Rule::state_test => {
                    let mut negated = false;
                    let mut test = StateTest::Succeeded;
                    for t in c.into_inner() {
                        match t.as_rule() {
                            Rule::kw_not => negated = true,
                            Rule::state_word => {
                                test = match t.into_inner().next().map(|w| w.as_rule()) {
                                    Some(Rule::kw_failed) => StateTest::Failed,
                                    Some(Rule::kw_stopped) => StateTest::Stopped,
                                    Some(Rule::kw_completed) => StateTest::Completed,
                                    _ => StateTest::Succeeded,
                                }
                            }
                            _ => {}
                        }
                    }
                    out = Some((negated, Some(test), None));
                }
                Rule::error_code_test => {
                    out = Some((
                        false,
                        None,
                        c.into_inner().find(|x| {
                            matches!(x.as_rule(), Rule::error_code_in | Rule::error_code_cmp)
                        }),
                    ));
                }
                _ => {}
            }
        }
        let Some(step) = step else {
            return Cond::Const(false, span);
        };
        match out {
            Some((negated, Some(test), _)) => Cond::StepState {
                step,
                negated,
                test,
                span,
            },
            Some((_, None, Some(t))) if t.as_rule() == Rule::error_code_in => {
                let mut negated = false;
                let mut codes = Vec::new();
                for x in t.into_inner() {
                    match x.as_rule() {
                        Rule::kw_not => negated = true,
                        Rule::int_lit => codes.push(self.int(&x)),
                        _ => {}
                    }
                }
                Cond::ErrorCodeIn {
                    step,
                    negated,
                    codes,
                    span,
                }
            }
            Some((_, None, Some(t))) => {
                let mut op = CmpOp::Eq;
                let mut value = 0;
                for x in t.into_inner() {
                    match x.as_rule() {
                        Rule::cmp_op => op = cmp_op(x.as_str()),
                        Rule::int_lit => value = self.int(&x),
                        _ => {}
                    }
                }
                Cond::ErrorCodeCmp {
                    step,
                    op,
                    value,
                    span,
                }
            }
            _ => Cond::Const(false, span),
        }
    }

    // ------------------------------------------------------------ actions

    /// An `action` pair.
    pub fn action(&mut self, p: Pair<Rule>) -> Option<Action> {
        let a = p.into_inner().next()?;
        let span = self.span(&a);
        match a.as_rule() {
            Rule::start_action => {
                let mut after = None;
                let mut steps = Vec::new();
                for x in a.into_inner() {
                    match x.as_rule() {
                        Rule::after_clause => after = self.after_clause(x),
                        Rule::step_list => steps = self.step_list(x),
                        _ => {}
                    }
                }
                Some(Action::Start { after, steps, span })
            }
            Rule::stop_action => {
                let steps = a
                    .into_inner()
                    .find(|x| x.as_rule() == Rule::step_list)
                    .map(|x| self.step_list(x))
                    .unwrap_or_default();
                Some(Action::Stop { steps, span })
            }
            Rule::end_action => {
                let value = match a.into_inner().find(|x| x.as_rule() == Rule::end_value) {
                    None => EndValue::Default,
                    Some(v) => self.end_value(v),
                };
                Some(Action::End { value, span })
            }
            _ => None,
        }
    }

    fn step_list(&mut self, p: Pair<Rule>) -> Vec<Ident> {
        p.into_inner()
            .filter(|x| x.as_rule() == Rule::step_ref)
            .map(|x| self.ident(&x))
            .collect()
    }

    fn after_clause(&mut self, p: Pair<Rule>) -> Option<DurationLit> {
        let t = p.into_inner().find(|x| x.as_rule() == Rule::after_time)?;
        let span = self.span(&t);
        let text = t.as_str();
        if let Some(millis) = parse_hms(text) {
            return Some(DurationLit { millis, span });
        }
        let message = if let Some(ms) = parse_duration(text).filter(|_| !text.contains(':')) {
            format!(
                "AFTER takes a time written HH:MM:SS (Oracle's form), not `{}`: write AFTER {}",
                lexer_clip(text),
                hms(ms)
            )
        } else if text.contains(':') {
            format!(
                "`{}` is not a valid HH:MM:SS time: minutes and seconds are 00 to 59, \
                 written with two digits",
                lexer_clip(text)
            )
        } else {
            format!(
                "AFTER takes a time written HH:MM:SS, like AFTER 00:30:00; found `{}`",
                lexer_clip(text)
            )
        };
        self.diags.push(
            Diagnostic::error("bad-after", message, span)
                .with_expected("a time written HH:MM:SS, like 01:00:00"),
        );
        Some(DurationLit { millis: 0, span })
    }

    fn end_value(&mut self, p: Pair<Rule>) -> EndValue {
        let span = self.span(&p);
        let Some(v) = p.into_inner().next() else {
            return EndValue::Default;
        };
        match v.as_rule() {
            Rule::int_lit => EndValue::Code(self.int(&v)),
            Rule::step_error_code => match v.into_inner().find(|x| x.as_rule() == Rule::step_ref) {
                Some(s) => EndValue::StepErrorCode(self.ident(&s)),
                None => EndValue::Default,
            },
            _ => {
                let text = v.as_str();
                let head = text.split('.').next().unwrap_or("");
                if text.to_ascii_uppercase().ends_with(".ERROR_CODE")
                    && text.matches('.').count() == 1
                    && super::errors::is_reserved(head)
                {
                    let up = head.to_ascii_uppercase();
                    self.diags.push(
                        Diagnostic::error(
                            "keyword-as-name",
                            format!("`{up}` is a keyword; write \"{up}\" to use it as a name"),
                            Span::new(self.file, span.start, span.start + head.len()),
                        )
                        .with_expected("a step name"),
                    );
                    return EndValue::Default;
                }
                self.diags.push(
                    Diagnostic::error(
                        "bad-end",
                        format!(
                            "END takes nothing, an integer (END 3) or a step's error code \
                             (END LOAD.ERROR_CODE); found `{}`",
                            lexer_clip(v.as_str())
                        ),
                        span,
                    )
                    .with_expected("an integer or STEP.ERROR_CODE"),
                );
                EndValue::Default
            }
        }
    }

    // ------------------------------------------------------------ event payload conditions

    /// A whole `pcond` pair, with the size limit checked first.
    pub fn payload_condition(&mut self, p: Pair<Rule>) -> PayloadCond {
        let span = self.span(&p);
        let preds = p
            .clone()
            .into_inner()
            .flatten()
            .filter(|c| c.as_rule() == Rule::ppred)
            .count();
        if preds > MAX_PREDICATES {
            self.error(
                "too-complex",
                format!(
                    "this payload condition joins {preds} comparisons; at most \
                     {MAX_PREDICATES} are allowed"
                ),
                span,
            );
            return PayloadCond::IsNull {
                field: String::new(),
                negated: false,
                span,
            };
        }
        self.pcond(p)
    }

    fn pcond(&mut self, p: Pair<Rule>) -> PayloadCond {
        let span = self.span(&p);
        let mut acc: Option<PayloadCond> = None;
        for c in p.into_inner().filter(|c| c.as_rule() == Rule::pcond_and) {
            let next = self.pcond_and(c);
            acc = Some(match acc {
                None => next,
                Some(prev) => PayloadCond::Or(Box::new(prev), Box::new(next)),
            });
        }
        acc.unwrap_or_else(|| empty_pcond(span))
    }

    fn pcond_and(&mut self, p: Pair<Rule>) -> PayloadCond {
        let span = self.span(&p);
        let mut acc: Option<PayloadCond> = None;
        for c in p.into_inner().filter(|c| c.as_rule() == Rule::pcond_not) {
            let next = self.pcond_not(c);
            acc = Some(match acc {
                None => next,
                Some(prev) => PayloadCond::And(Box::new(prev), Box::new(next)),
            });
        }
        acc.unwrap_or_else(|| empty_pcond(span))
    }

    fn pcond_not(&mut self, p: Pair<Rule>) -> PayloadCond {
        let span = self.span(&p);
        let parts: Vec<Pair<Rule>> = p.into_inner().collect();
        let negated = parts.first().is_some_and(|c| c.as_rule() == Rule::kw_not);
        let Some(last) = parts.last().cloned() else {
            return empty_pcond(span);
        };
        let inner = match last.as_rule() {
            Rule::pparen => match last.into_inner().find(|c| c.as_rule() == Rule::pcond) {
                Some(c) => self.pcond(c),
                None => empty_pcond(span),
            },
            Rule::pnot_bare => {
                let text = super::lexer::collapse(last.as_str());
                self.diags.push(
                    Diagnostic::error(
                        "not-needs-parens",
                        format!(
                            "NOT must be followed by a parenthesis: write `NOT ({text})`, \
                             not `NOT {text}`"
                        ),
                        span,
                    )
                    .with_expected("`(`"),
                );
                match last.into_inner().next() {
                    Some(x) => self.ppred(x),
                    None => empty_pcond(span),
                }
            }
            Rule::ppred => self.ppred(last),
            _ => empty_pcond(span),
        };
        if negated {
            PayloadCond::Not(Box::new(inner))
        } else {
            inner
        }
    }

    fn ppred(&mut self, p: Pair<Rule>) -> PayloadCond {
        let span = self.span(&p);
        let mut field = String::new();
        let mut out = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::field_name => field = self.exact_name(&c),
                Rule::p_cmp | Rule::p_in | Rule::p_is_null => out = Some(c),
                _ => {}
            }
        }
        let Some(c) = out else {
            return empty_pcond(span);
        };
        match c.as_rule() {
            Rule::p_cmp => {
                let mut op = CmpOp::Eq;
                let mut value = Literal::Num(0.0);
                for x in c.into_inner() {
                    match x.as_rule() {
                        Rule::cmp_op => op = cmp_op(x.as_str()),
                        Rule::literal => value = self.literal(x),
                        _ => {}
                    }
                }
                PayloadCond::Compare {
                    field,
                    op,
                    value,
                    span,
                }
            }
            Rule::p_in => {
                let mut negated = false;
                let mut values = Vec::new();
                for x in c.into_inner() {
                    match x.as_rule() {
                        Rule::kw_not => negated = true,
                        Rule::literal => values.push(self.literal(x)),
                        _ => {}
                    }
                }
                PayloadCond::In {
                    field,
                    negated,
                    values,
                    span,
                }
            }
            _ => PayloadCond::IsNull {
                field,
                negated: c.into_inner().any(|x| x.as_rule() == Rule::kw_not),
                span,
            },
        }
    }

    fn literal(&mut self, p: Pair<Rule>) -> Literal {
        match p.into_inner().next() {
            Some(x) if x.as_rule() == Rule::string => Literal::Str(self.string(&x).value),
            Some(x) => Literal::Num(self.number(&x)),
            None => Literal::Num(0.0),
        }
    }
}

fn empty_pcond(span: Span) -> PayloadCond {
    PayloadCond::IsNull {
        field: String::new(),
        negated: false,
        span,
    }
}

pub(super) fn cmp_op(s: &str) -> CmpOp {
    match s {
        "!=" | "<>" => CmpOp::Ne,
        "<" => CmpOp::Lt,
        "<=" => CmpOp::Le,
        ">" => CmpOp::Gt,
        ">=" => CmpOp::Ge,
        _ => CmpOp::Eq,
    }
}
