//! Pest pairs → AST for SQL-syntax predicates and values (`NVL(:A.error_code, 0) BETWEEN 1 AND
//! 9`, `:A.state LIKE 'SUCC%'`, `CASE … END`, `SYSDATE - 1`), with the checks that can be made
//! before running: function names (nearest name suggested) and argument counts, format models
//! and other literal arguments Oracle would refuse, INTERVAL and DATE literals, EXTRACT of a
//! time field from a DATE, and the constructs that are not supported (subqueries, CAST, ANY/ALL,
//! names without `:step.`), each named with what is supported instead of a syntax error.
//!
//! A parenthesis is parsed once as a value (`paren_expr`, see grammar/chain.pest); [`Built`]
//! says whether it held a condition or a value, and each place decides whether that is what it
//! needs.

use super::build::{lexer_clip, Builder};
use super::build_cond::cmp_op;
use super::grammar::{ChainParser, Rule};
use crate::lang::ast::*;
use crate::lang::diagnostic::{nearest_name, Diagnostic};
use crate::lang::duration::Millis;
use crate::lang::span::Span;
use crate::lang::sql::{self, format, value, Kind};
use pest::iterators::Pair;
use pest::Parser;

/// The most operators, function calls and CASEs one condition may contain. Every later stage
/// walks values recursively; this bound keeps them shallow.
pub const MAX_EXPR_NODES: usize = 256;

/// What SQL conditions support, for the diagnostics of what they do not.
pub fn supported_sql() -> String {
    format!(
        "comparisons (= != <> < <= > >=), [NOT] IN (list), [NOT] BETWEEN, [NOT] LIKE [ESCAPE], \
         IS [NOT] NULL, + - * / ||, CASE, INTERVAL and DATE/TIMESTAMP literals, SYSDATE, \
         SYSTIMESTAMP, CURRENT_DATE, CURRENT_TIMESTAMP, and the functions {}",
        function_names()
    )
}

/// What a value position held.
enum Built {
    Cond(Box<Cond>),
    Value(SqlExpr),
    /// Already reported.
    Invalid(Span),
}

fn function_names() -> String {
    let names: Vec<&str> = sql::FUNCTIONS.iter().map(|f| f.name).collect();
    names.join(", ")
}

/// The static kind of a value when it is known without running (for checks such as EXTRACT of
/// HOUR from a DATE, or which format model a TO_CHAR literal is).
fn static_kind(e: &SqlExpr) -> Option<Kind> {
    Some(match e {
        SqlExpr::Attr { attr, .. } => match attr {
            SqlAttr::State | SqlAttr::Completed => Kind::Text,
            SqlAttr::ErrorCode => Kind::Number,
            SqlAttr::StartDate | SqlAttr::EndDate => Kind::Timestamp,
            SqlAttr::Duration => Kind::Interval,
        },
        SqlExpr::Str(_) | SqlExpr::Var { .. } => Kind::Text,
        SqlExpr::Num(..) | SqlExpr::Dec(..) => Kind::Number,
        SqlExpr::Interval(..) => Kind::Interval,
        SqlExpr::DateLit { timestamp, .. } => {
            if *timestamp {
                Kind::Timestamp
            } else {
                Kind::Date
            }
        }
        SqlExpr::Clock(c, _) => match c {
            Clock::Sysdate | Clock::CurrentDate => Kind::Date,
            _ => Kind::Timestamp,
        },
        SqlExpr::Call { func, args, .. } => match func {
            Func::ToDate | Func::AddMonths => Kind::Date,
            Func::ToTimestamp => Kind::Timestamp,
            Func::ToChar | Func::Upper | Func::Lower | Func::Substr | Func::Trim(_) => Kind::Text,
            Func::ToNumber | Func::Length | Func::Instr | Func::Extract(_) => Kind::Number,
            Func::Numtodsinterval => Kind::Interval,
            Func::Trunc | Func::Round => match args.first().and_then(static_kind)? {
                Kind::Date | Kind::Timestamp => Kind::Date,
                _ => Kind::Number,
            },
            _ => return None,
        },
        SqlExpr::Binary {
            op, left, right, ..
        } => {
            let (l, r) = (static_kind(left)?, static_kind(right)?);
            match (op, l, r) {
                (BinOp::Concat, ..) => Kind::Text,
                (BinOp::Add | BinOp::Sub, Kind::Date | Kind::Timestamp, Kind::Number)
                | (BinOp::Add, Kind::Number, Kind::Date | Kind::Timestamp)
                | (BinOp::Add | BinOp::Sub, Kind::Date, Kind::Interval) => Kind::Date,
                (BinOp::Add | BinOp::Sub, Kind::Timestamp, Kind::Interval) => Kind::Timestamp,
                (_, Kind::Number, Kind::Number) => Kind::Number,
                _ => return None,
            }
        }
        SqlExpr::Neg(inner, _) => static_kind(inner)?,
        SqlExpr::Null(_) | SqlExpr::Case { .. } => return None,
    })
}

fn string_literal(e: &SqlExpr) -> Option<&str> {
    match e {
        SqlExpr::Str(s) => Some(&s.value),
        _ => None,
    }
}

impl Builder {
    /// A whole `sql_pred`: a value and what is said of it, or a parenthesised condition.
    pub(super) fn sql_pred(&mut self, p: Pair<Rule>) -> Cond {
        let span = self.span(&p);
        let mut parts = p.into_inner();
        let Some(first) = parts.next() else {
            return Cond::Const(false, span);
        };
        let text = lexer_clip(&super::lexer::collapse(first.as_str()));
        let left = self.expr_built(first);
        let Some(tail) = parts.next() else {
            return match left {
                Built::Cond(c) => *c,
                Built::Value(v) => {
                    self.diags.push(
                        Diagnostic::error(
                            "not-a-condition",
                            format!(
                                "`{text}` is a value, not a condition: compare it (`{text} = …`) \
                                 or test it (IS NULL, LIKE, IN, BETWEEN)"
                            ),
                            v.span(),
                        )
                        .with_expected("a condition"),
                    );
                    Cond::Const(false, span)
                }
                Built::Invalid(s) => Cond::Const(false, s),
            };
        };
        let left = self.as_value(left);
        let inner: Vec<Pair<Rule>> = tail.clone().into_inner().collect();
        let negated = inner.iter().any(|x| x.as_rule() == Rule::kw_not);
        let mut values = inner
            .iter()
            .filter(|x| x.as_rule() == Rule::sql_expr)
            .cloned()
            .map(|x| self.value(x))
            .collect::<Vec<_>>()
            .into_iter();
        let mut next = || values.next().unwrap_or(SqlExpr::Null(span));
        let pred = match tail.as_rule() {
            Rule::sql_cmp => {
                let op = inner
                    .iter()
                    .find(|x| x.as_rule() == Rule::cmp_op)
                    .map_or(CmpOp::Eq, |x| cmp_op(x.as_str()));
                SqlPred::Compare {
                    left,
                    op,
                    right: next(),
                    span,
                }
            }
            Rule::sql_in => {
                if let Some(q) = inner.iter().find(|x| x.as_rule() == Rule::subquery) {
                    let qspan = self.span(q);
                    self.unsupported(
                        "a subquery (SELECT …)",
                        "IN takes a list of values: `IN (1, 2, 3)`",
                        qspan,
                    );
                }
                let list: Vec<SqlExpr> = std::iter::from_fn(|| values.next()).collect();
                SqlPred::In {
                    left,
                    negated,
                    list,
                    span,
                }
            }
            Rule::sql_like => {
                let pattern = next();
                let escape = values.next();
                if let Some(e) = escape.as_ref() {
                    if let Some(text) = string_literal(e) {
                        if let Err(err) = sql::like::escape_char(text) {
                            self.bad_argument(&err.message, e.span());
                        }
                    }
                }
                SqlPred::Like {
                    value: Box::new(left),
                    negated,
                    pattern: Box::new(pattern),
                    escape: escape.map(Box::new),
                    span,
                }
            }
            Rule::sql_between => {
                let low = next();
                let high = next();
                SqlPred::Between {
                    value: Box::new(left),
                    negated,
                    low: Box::new(low),
                    high: Box::new(high),
                    span,
                }
            }
            _ => SqlPred::IsNull {
                operand: left,
                negated,
                span,
            },
        };
        Cond::Sql(pred)
    }

    /// Count one operator, call or CASE; false (reported once) past [`MAX_EXPR_NODES`].
    fn node(&mut self, span: Span) -> bool {
        self.sql_nodes += 1;
        if self.sql_nodes == MAX_EXPR_NODES + 1 {
            self.error(
                "too-complex",
                format!(
                    "this condition has more than {MAX_EXPR_NODES} operators, function calls \
                     and CASEs (split the rule)"
                ),
                span,
            );
        }
        self.sql_nodes <= MAX_EXPR_NODES
    }

    fn unsupported(&mut self, what: &str, instead: &str, span: Span) {
        self.diags.push(
            Diagnostic::error(
                "unsupported-sql",
                format!("{what} is not supported in chain rule conditions: {instead}"),
                span,
            )
            .with_expected(supported_sql()),
        );
    }

    fn bad_argument(&mut self, message: &str, span: Span) {
        self.diags
            .push(Diagnostic::error("bad-argument", message.to_string(), span));
    }

    /// A value where a value is required.
    fn as_value(&mut self, b: Built) -> SqlExpr {
        match b {
            Built::Value(v) => v,
            Built::Invalid(span) => SqlExpr::Null(span),
            Built::Cond(c) => {
                let span = cond_span(&c);
                self.diags.push(
                    Diagnostic::error(
                        "condition-as-value",
                        "a condition cannot be used as a value (SQL conditions have no boolean \
                         values): use CASE WHEN condition THEN … ELSE … END",
                        span,
                    )
                    .with_expected("a value"),
                );
                SqlExpr::Null(span)
            }
        }
    }

    /// A `sql_expr` pair that must be a value.
    fn value(&mut self, p: Pair<Rule>) -> SqlExpr {
        let b = self.expr_built(p);
        self.as_value(b)
    }

    /// A `cond` pair inside parentheses: a value when it is one value alone.
    fn cond_built(&mut self, p: Pair<Rule>) -> Built {
        fn single<'i>(p: &Pair<'i, Rule>, rule: Rule) -> Option<Pair<'i, Rule>> {
            let mut it = p.clone().into_inner();
            let first = it.next()?;
            (first.as_rule() == rule && it.next().is_none()).then_some(first)
        }
        let value = single(&p, Rule::cond_and)
            .and_then(|a| single(&a, Rule::cond_not))
            .and_then(|n| single(&n, Rule::cond_atom))
            .and_then(|a| single(&a, Rule::sql_pred))
            .and_then(|s| single(&s, Rule::sql_expr));
        match value {
            Some(e) => self.expr_built(e),
            None => Built::Cond(Box::new(self.cond(p))),
        }
    }

    /// A `sql_expr`: operands (each with its unary signs) joined by operators, folded with
    /// Oracle's precedence (`* /` before `+ - ||`, left to right).
    fn expr_built(&mut self, p: Pair<Rule>) -> Built {
        let span = self.span(&p);
        let mut operands: Vec<Built> = Vec::new();
        let mut ops: Vec<BinOp> = Vec::new();
        let mut signs: Vec<Pair<Rule>> = Vec::new();
        for x in p.into_inner() {
            match x.as_rule() {
                Rule::sign_op => signs.push(x),
                Rule::bin_op => ops.push(match x.as_str() {
                    "+" => BinOp::Add,
                    "-" => BinOp::Sub,
                    "*" => BinOp::Mul,
                    "/" => BinOp::Div,
                    _ => BinOp::Concat,
                }),
                _ => {
                    let pspan = self.span(&x);
                    let primary = self.primary_built(x);
                    let built = self.signed(std::mem::take(&mut signs), primary, pspan);
                    operands.push(built);
                }
            }
        }
        if ops.is_empty() {
            return operands.pop().unwrap_or(Built::Invalid(span));
        }
        let mut values = operands
            .into_iter()
            .map(|b| self.as_value(b))
            .collect::<Vec<_>>();
        if values.len() != ops.len() + 1 {
            return Built::Invalid(span);
        }
        // First `* /`, then `+ - ||`, each left to right.
        for level in [2u8, 1] {
            let mut vs = Vec::with_capacity(values.len());
            let mut os = Vec::with_capacity(ops.len());
            let mut it = values.into_iter();
            let Some(mut acc) = it.next() else {
                return Built::Invalid(span);
            };
            for (op, v) in ops.into_iter().zip(it) {
                if op.precedence() == level {
                    acc = self.binary(op, acc, v);
                } else {
                    vs.push(acc);
                    os.push(op);
                    acc = v;
                }
            }
            vs.push(acc);
            values = vs;
            ops = os;
        }
        Built::Value(values.pop().unwrap_or(SqlExpr::Null(span)))
    }

    fn binary(&mut self, op: BinOp, left: SqlExpr, right: SqlExpr) -> SqlExpr {
        let span = left.span().join(right.span());
        if !self.node(span) {
            return SqlExpr::Null(span);
        }
        SqlExpr::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
            span,
        }
    }

    /// Unary signs in front of an operand (a minus on a number literal is folded into it).
    fn signed(&mut self, signs: Vec<Pair<Rule>>, built: Built, pspan: Span) -> Built {
        let Some(first) = signs.first() else {
            return built;
        };
        let span = self.span(first).join(pspan);
        let mut v = self.as_value(built);
        for s in signs.iter().rev() {
            if s.as_str() != "-" {
                continue;
            }
            v = match v {
                SqlExpr::Num(n, _) if n != i64::MIN => SqlExpr::Num(-n, span),
                SqlExpr::Dec(d, _) => SqlExpr::Dec(-d, span),
                other => {
                    if !self.node(span) {
                        return Built::Invalid(span);
                    }
                    SqlExpr::Neg(Box::new(other), span)
                }
            };
        }
        Built::Value(v)
    }

    fn primary_built(&mut self, x: Pair<Rule>) -> Built {
        let xspan = self.span(&x);
        let span = xspan;
        let v = match x.as_rule() {
            Rule::paren_expr => {
                return match x.into_inner().find(|c| c.as_rule() == Rule::cond) {
                    Some(c) => self.cond_built(c),
                    None => Built::Invalid(span),
                }
            }
            Rule::subquery => {
                self.unsupported(
                    "a subquery (SELECT …)",
                    "a condition can only read the steps of its own chain (:STEP.state, \
                     :STEP.error_code, …)",
                    xspan,
                );
                return Built::Invalid(xspan);
            }
            Rule::var_ref | Rule::var_call => {
                match x.into_inner().find(|y| y.as_rule() == Rule::var_name) {
                    Some(n) => SqlExpr::Var {
                        name: self.var_name(&n).name,
                        span: xspan,
                    },
                    None => return Built::Invalid(xspan),
                }
            }
            Rule::sql_attr_ref => {
                let mut step = None;
                let mut attr = SqlAttr::State;
                for y in x.into_inner() {
                    match y.as_rule() {
                        Rule::step_ref => step = Some(self.ident(&y)),
                        Rule::sql_attr => attr = sql_attr(y.as_str()),
                        _ => {}
                    }
                }
                match step {
                    Some(step) => SqlExpr::Attr {
                        step,
                        attr,
                        span: xspan,
                    },
                    None => return Built::Invalid(xspan),
                }
            }
            Rule::string => {
                let s = self.string(&x);
                if s.value.is_empty() {
                    SqlExpr::Null(xspan)
                } else {
                    SqlExpr::Str(s)
                }
            }
            Rule::sql_num => self.sql_num(&x),
            Rule::kw_null => SqlExpr::Null(xspan),
            Rule::clock => {
                let c = match x.into_inner().next().map(|k| k.as_rule()) {
                    Some(Rule::kw_sysdate) => Clock::Sysdate,
                    Some(Rule::kw_current_date) => Clock::CurrentDate,
                    Some(Rule::kw_current_timestamp) => Clock::CurrentTimestamp,
                    Some(Rule::kw_localtimestamp) => Clock::LocalTimestamp,
                    _ => Clock::Systimestamp,
                };
                SqlExpr::Clock(c, xspan)
            }
            Rule::interval => self.interval(x),
            Rule::datetime_lit => self.datetime_lit(x),
            Rule::case_expr => self.case_expr(x),
            Rule::extract_call => self.extract_call(x),
            Rule::trim_call => self.trim_call(x),
            Rule::func_call => self.func_call(x),
            Rule::opaque_call => {
                self.opaque_call(&x);
                return Built::Invalid(xspan);
            }
            Rule::bare_ref => {
                self.bare_ref(&x);
                return Built::Invalid(xspan);
            }
            _ => return Built::Invalid(xspan),
        };
        Built::Value(v)
    }

    fn sql_num(&mut self, x: &Pair<Rule>) -> SqlExpr {
        let span = self.span(x);
        let text = x.as_str();
        if text.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = text.parse::<i64>() {
                return SqlExpr::Num(n, span);
            }
        }
        match value::parse_number(text) {
            Ok(d) => SqlExpr::Dec(d, span),
            Err(_) => {
                self.error(
                    "bad-integer",
                    format!(
                        "the number {} is out of range (numbers have at most 28 significant digits)",
                        lexer_clip(text)
                    ),
                    span,
                );
                SqlExpr::Null(span)
            }
        }
    }

    fn case_expr(&mut self, x: Pair<Rule>) -> SqlExpr {
        let span = self.span(&x);
        if !self.node(span) {
            return SqlExpr::Null(span);
        }
        let mut subject = None;
        let mut arms = Vec::new();
        let mut otherwise = None;
        for part in x.into_inner() {
            match part.as_rule() {
                Rule::case_searched => {
                    for arm in part.into_inner() {
                        let mut it = arm
                            .into_inner()
                            .filter(|y| matches!(y.as_rule(), Rule::cond | Rule::sql_expr));
                        let (Some(c), Some(v)) = (it.next(), it.next()) else {
                            continue;
                        };
                        let when = CaseWhen::Cond(Box::new(self.cond(c)));
                        arms.push(CaseArm {
                            when,
                            then: self.value(v),
                        });
                    }
                }
                Rule::case_simple => {
                    for y in part.into_inner() {
                        match y.as_rule() {
                            Rule::sql_expr => subject = Some(Box::new(self.value(y))),
                            Rule::case_when_value => {
                                let mut it =
                                    y.into_inner().filter(|z| z.as_rule() == Rule::sql_expr);
                                let (Some(w), Some(v)) = (it.next(), it.next()) else {
                                    continue;
                                };
                                let when = CaseWhen::Value(self.value(w));
                                arms.push(CaseArm {
                                    when,
                                    then: self.value(v),
                                });
                            }
                            _ => {}
                        }
                    }
                }
                Rule::case_else => {
                    if let Some(v) = part.into_inner().find(|y| y.as_rule() == Rule::sql_expr) {
                        otherwise = Some(Box::new(self.value(v)));
                    }
                }
                _ => {}
            }
        }
        SqlExpr::Case {
            subject,
            arms,
            otherwise,
            span,
        }
    }

    fn extract_call(&mut self, x: Pair<Rule>) -> SqlExpr {
        let span = self.span(&x);
        if !self.node(span) {
            return SqlExpr::Null(span);
        }
        let mut field = None;
        let mut from = None;
        for y in x.into_inner() {
            match y.as_rule() {
                Rule::dt_field => {
                    let fspan = self.span(&y);
                    field = sql::DtField::parse(y.as_str());
                    if field.is_none() {
                        self.unsupported(
                            &format!("EXTRACT({})", y.as_str().to_ascii_uppercase()),
                            "conditions have no time zones (their times are UTC); EXTRACT takes \
                             YEAR, MONTH, DAY, HOUR, MINUTE or SECOND",
                            fspan,
                        );
                    }
                }
                Rule::sql_expr => from = Some(self.value(y)),
                _ => {}
            }
        }
        let (Some(field), Some(from)) = (field, from) else {
            return SqlExpr::Null(span);
        };
        let time_field = matches!(field, DtField::Hour | DtField::Minute | DtField::Second);
        let kind = static_kind(&from);
        if time_field && kind == Some(Kind::Date) {
            self.diags.push(
                Diagnostic::error(
                    "bad-argument",
                    format!(
                        "EXTRACT({} FROM …) needs a TIMESTAMP or an INTERVAL, and this value is a \
                         DATE (Oracle raises ORA-30076): use SYSTIMESTAMP instead of SYSDATE, or \
                         TO_CHAR(date, 'HH24')",
                        field.as_str()
                    ),
                    from.span(),
                )
                .with_expected("a TIMESTAMP or an INTERVAL"),
            );
        } else if matches!(field, DtField::Year | DtField::Month) && kind == Some(Kind::Interval) {
            self.bad_argument(
                &format!(
                    "EXTRACT({} FROM …) of a day-to-second INTERVAL is not possible (Oracle \
                     raises ORA-30076): take DAY, HOUR, MINUTE or SECOND",
                    field.as_str()
                ),
                from.span(),
            );
        } else if matches!(kind, Some(Kind::Number | Kind::Text)) {
            self.bad_argument(
                "EXTRACT takes a DATE, a TIMESTAMP or an INTERVAL (Oracle raises ORA-30076): \
                 convert text with TO_DATE or TO_TIMESTAMP",
                from.span(),
            );
        }
        SqlExpr::Call {
            func: Func::Extract(field),
            args: vec![from],
            span,
        }
    }

    fn trim_call(&mut self, x: Pair<Rule>) -> SqlExpr {
        let span = self.span(&x);
        if !self.node(span) {
            return SqlExpr::Null(span);
        }
        let mut side = TrimSide::Both;
        let mut values = Vec::new();
        for y in x.into_inner() {
            match y.as_rule() {
                Rule::trim_side => {
                    side = match y.as_str().to_ascii_uppercase().as_str() {
                        "LEADING" => TrimSide::Leading,
                        "TRAILING" => TrimSide::Trailing,
                        _ => TrimSide::Both,
                    }
                }
                Rule::sql_expr => values.push(self.value(y)),
                _ => {}
            }
        }
        // `TRIM(s)` or `TRIM([side] [c] FROM s)`: the source is always the last value.
        let Some(source) = values.pop() else {
            return SqlExpr::Null(span);
        };
        let mut args = vec![source];
        if let Some(c) = values.pop() {
            if let Some(text) = string_literal(&c) {
                if text.chars().count() != 1 {
                    self.bad_argument(
                        &format!(
                            "TRIM removes one character; '{}' has {} (Oracle raises ORA-30001): \
                             use LTRIM or RTRIM to remove a set of characters",
                            lexer_clip(text),
                            text.chars().count()
                        ),
                        c.span(),
                    );
                }
            }
            args.push(c);
        }
        SqlExpr::Call {
            func: Func::Trim(side),
            args,
            span,
        }
    }

    fn func_call(&mut self, x: Pair<Rule>) -> SqlExpr {
        let span = self.span(&x);
        let mut name = None;
        let mut args = Vec::new();
        for y in x.into_inner() {
            match y.as_rule() {
                Rule::func_name => name = Some((y.as_str().to_string(), self.span(&y))),
                Rule::sql_expr => args.push(self.value(y)),
                _ => {}
            }
        }
        let Some((name, nspan)) = name else {
            return SqlExpr::Null(span);
        };
        let Some(spec) = sql::lookup(&name) else {
            self.not_a_function(&name.to_ascii_uppercase(), nspan, span);
            return SqlExpr::Null(span);
        };
        if !self.node(span) {
            return SqlExpr::Null(span);
        }
        let n = args.len();
        if n < spec.min || spec.max.is_some_and(|m| n > m) {
            let count = match spec.max {
                Some(m) if m == spec.min => format!("{m}"),
                Some(m) => format!("{} to {m}", spec.min),
                None => format!("at least {}", spec.min),
            };
            self.diags.push(
                Diagnostic::error(
                    "bad-argument",
                    format!(
                        "{} takes {count} argument{}; found {n}",
                        spec.name,
                        if count == "1" { "" } else { "s" }
                    ),
                    span,
                )
                .with_expected(spec.usage),
            );
            return SqlExpr::Null(span);
        }
        self.check_literal_arguments(spec.func, &args);
        SqlExpr::Call {
            func: spec.func,
            args,
            span,
        }
    }

    /// Format models and units written as literals are checked now, as Oracle would refuse
    /// them when the rule runs.
    fn check_literal_arguments(&mut self, func: Func, args: &[SqlExpr]) {
        let Some(second) = args.get(1) else {
            return;
        };
        let Some(text) = string_literal(second) else {
            return;
        };
        let first = args.first().and_then(static_kind);
        let problem = match func {
            Func::ToDate | Func::ToTimestamp => {
                format::parse_input_format(text, func == Func::ToTimestamp).err()
            }
            Func::ToNumber => format::parse_num_format(text).err(),
            Func::ToChar => match first {
                Some(Kind::Number) => format::parse_num_format(text).err(),
                Some(Kind::Date | Kind::Timestamp) => format::parse_dt_format(text).err(),
                _ => None,
            },
            Func::Trunc | Func::Round => match first {
                Some(Kind::Date | Kind::Timestamp) => format::parse_date_unit(text).err(),
                _ => None,
            },
            Func::Numtodsinterval => (!["DAY", "HOUR", "MINUTE", "SECOND"]
                .contains(&text.trim().to_ascii_uppercase().as_str()))
            .then(|| {
                sql::SqlError::new(
                    "ORA-01760",
                    format!(
                        "NUMTODSINTERVAL takes 'DAY', 'HOUR', 'MINUTE' or 'SECOND', not '{}'",
                        lexer_clip(text)
                    ),
                )
            }),
            _ => None,
        };
        if let Some(e) = problem {
            let expected = match e.code {
                "ORA-01821" | "ORA-01820" => "a date format such as 'YYYY-MM-DD HH24:MI:SS'",
                "ORA-01481" => "a number format such as 'FM999990.00'",
                "ORA-01899" => "a unit: YYYY, Q, MM, WW, IW, W, DAY, DD, HH or MI",
                _ => "'DAY', 'HOUR', 'MINUTE' or 'SECOND'",
            };
            self.diags.push(
                Diagnostic::error(
                    "bad-argument",
                    format!("{} ({})", e.message, e.code),
                    second.span(),
                )
                .with_expected(expected),
            );
        }
    }

    fn unknown_function(&mut self, name: &str, span: Span) {
        let up = name.to_ascii_uppercase();
        let names = sql::FUNCTIONS.iter().map(|f| f.name);
        let suggestion = nearest_name(&up, names);
        self.diags.push(
            Diagnostic::error("unknown-function", format!("unknown function {up}"), span)
                .with_expected(format!("a function: {}", function_names()))
                .with_suggestion(suggestion),
        );
    }

    /// A call the grammar cannot read: say what it is.
    fn opaque_call(&mut self, x: &Pair<Rule>) {
        let span = self.span(x);
        let text = x.as_str();
        let name_len = text
            .find(|c: char| !super::lexer::is_ident_char(c))
            .unwrap_or(text.len());
        let name = text[..name_len].to_ascii_uppercase();
        let nspan = Span::new(span.file, span.start, span.start + name_len);
        if sql::lookup(&name).is_none() {
            self.not_a_function(&name, nspan, span);
            return;
        }
        // A known function whose arguments do not parse: report the real syntax error.
        let e = match ChainParser::parse(Rule::func_call_only, text) {
            Err(e) => e,
            Ok(_) => {
                self.error("syntax", format!("cannot read this call of {name}"), span);
                return;
            }
        };
        let mut d = super::errors::from_pest(
            self.file,
            text,
            0,
            &e,
            super::errors::Context::Condition,
            None,
        );
        d.span = Span::new(
            span.file,
            span.start + d.span.start,
            span.start + d.span.end,
        );
        self.diags.push(d);
    }

    /// A call of something that is not a function of the language: say what it is.
    fn not_a_function(&mut self, name: &str, nspan: Span, span: Span) {
        match name {
            "EXISTS" => self.unsupported(
                "a subquery (EXISTS (SELECT …))",
                "a condition can only read the steps of its own chain (:STEP.state, \
                 :STEP.error_code, …)",
                span,
            ),
            "ANY" | "ALL" | "SOME" => self.unsupported(
                &format!("a comparison with {name} (…)"),
                "compare with each value, or use IN (…) / NOT IN (…)",
                span,
            ),
            "CAST" => self.unsupported(
                "CAST",
                "convert with TO_NUMBER, TO_CHAR, TO_DATE or TO_TIMESTAMP",
                span,
            ),
            "COUNT" | "SUM" | "AVG" | "MIN" | "MAX" => self.unsupported(
                &format!("the aggregate function {name}"),
                "a condition reads one value per step; use GREATEST or LEAST to compare values",
                nspan,
            ),
            _ => self.unknown_function(name, nspan),
        }
    }

    /// A name where a value is expected: a column, or an attribute without its colon.
    fn bare_ref(&mut self, x: &Pair<Rule>) {
        let span = self.span(x);
        let text = x.as_str();
        let (head, tail) = match text.split_once('.') {
            Some((h, t)) => (h, Some(t)),
            None => (text, None),
        };
        let attr_names = [
            "STATE",
            "COMPLETED",
            "ERROR_CODE",
            "START_DATE",
            "END_DATE",
            "DURATION",
        ];
        let message = match tail {
            Some(t) if attr_names.contains(&t.to_ascii_uppercase().as_str()) => format!(
                "`{text}` is not a value: a step's attribute is written with a colon, \
                 `:{head}.{}`",
                t.to_ascii_lowercase()
            ),
            _ => format!(
                "`{}` is not a value here: SQL conditions read the steps of the chain as \
                 :STEP.attribute (state, completed, error_code, start_date, end_date, duration); \
                 columns and variables cannot be read",
                lexer_clip(text)
            ),
        };
        self.diags
            .push(Diagnostic::error("bare-name", message, span).with_expected(
                "a value (`:step.attribute`, a string, a number, a function call, CASE)",
            ));
    }

    fn datetime_lit(&mut self, x: Pair<Rule>) -> SqlExpr {
        let span = self.span(&x);
        let timestamp = x
            .clone()
            .into_inner()
            .any(|y| y.as_rule() == Rule::kw_timestamp);
        let Some(s) = x.into_inner().find(|y| y.as_rule() == Rule::string) else {
            return SqlExpr::Null(span);
        };
        let s = self.string(&s);
        let fmt = if timestamp {
            "YYYY-MM-DD HH24:MI:SS.FF9"
        } else {
            "YYYY-MM-DD"
        };
        let parsed = format::parse_dt_format(fmt)
            .and_then(|elems| format::parse_instant(&s.value, &elems, 0, timestamp));
        let well_formed = s.value.len() >= 10 && s.value.as_bytes()[4] == b'-';
        match parsed {
            Ok(ms) if well_formed => SqlExpr::DateLit {
                ms,
                timestamp,
                span,
            },
            other => {
                // The reason is worth giving for a well-formed text (a day that does not exist);
                // for another shape, the expected shape says it all.
                let why = match other {
                    Err(e) if well_formed => format!(": {}", e.message),
                    _ => String::new(),
                };
                self.diags.push(
                    Diagnostic::error(
                        "bad-literal",
                        format!(
                            "{} takes '{}'; found '{}'{why}",
                            if timestamp { "TIMESTAMP" } else { "DATE" },
                            if timestamp {
                                "YYYY-MM-DD HH24:MI:SS[.FF]"
                            } else {
                                "YYYY-MM-DD"
                            },
                            lexer_clip(&s.value)
                        ),
                        s.span,
                    )
                    .with_expected(if timestamp {
                        "a timestamp like '2024-01-31 18:00:00'"
                    } else {
                        "a date like '2024-01-31'"
                    }),
                );
                SqlExpr::Null(span)
            }
        }
    }

    /// `INTERVAL '…' unit [TO unit]` → milliseconds (negative written `'-…'` becomes `Neg`).
    fn interval(&mut self, p: Pair<Rule>) -> SqlExpr {
        let span = self.span(&p);
        let mut amount = None;
        let mut units = Vec::new();
        for x in p.into_inner() {
            match x.as_rule() {
                Rule::string => amount = Some(self.string(&x)),
                Rule::interval_unit => {
                    let u = x.as_str().to_ascii_uppercase();
                    let u = u.strip_suffix('S').unwrap_or(&u).to_string();
                    units.push((u, self.span(&x)));
                }
                _ => {}
            }
        }
        let Some(amount) = amount else {
            return SqlExpr::Null(span);
        };
        if let Some((u, uspan)) = units.iter().find(|(u, _)| u == "YEAR" || u == "MONTH") {
            self.unsupported(
                &format!("a year-to-month INTERVAL ({u})"),
                "add months with ADD_MONTHS(date, n); INTERVAL takes DAY, HOUR, MINUTE or SECOND",
                *uspan,
            );
            return SqlExpr::Null(span);
        }
        let rank = |u: &str| match u {
            "DAY" => 0usize,
            "HOUR" => 1,
            "MINUTE" => 2,
            _ => 3,
        };
        let lead = units.first().map_or(3, |(u, _)| rank(u));
        let trail = units.get(1).map_or(lead, |(u, _)| rank(u));
        if trail <= lead && units.len() > 1 || lead == 3 && units.len() > 1 {
            let uspan = units.get(1).map_or(span, |(_, s)| *s);
            self.error(
                "bad-duration",
                "in INTERVAL '…' A TO B, B must be a smaller unit than A (DAY TO SECOND, \
                 HOUR TO MINUTE, …)",
                uspan,
            );
            return SqlExpr::Null(span);
        }
        match parse_interval(&amount.value, lead, trail) {
            Some((negative, ms)) => {
                let lit = SqlExpr::Interval(ms, span);
                if negative {
                    SqlExpr::Neg(Box::new(lit), span)
                } else {
                    lit
                }
            }
            None => {
                let names = ["DAY", "HOUR", "MINUTE", "SECOND"];
                let (message, expected) = if lead == trail {
                    if lead == 3 {
                        (
                            format!(
                                "INTERVAL '…' SECOND takes a number in quotes, like INTERVAL '1.5' SECOND; found '{}'",
                                lexer_clip(&amount.value)
                            ),
                            "a number in quotes".to_string(),
                        )
                    } else {
                        (
                            format!(
                                "INTERVAL takes a whole number in quotes, like INTERVAL '5' MINUTE; found '{}'",
                                lexer_clip(&amount.value)
                            ),
                            "a whole number in quotes".to_string(),
                        )
                    }
                } else {
                    let shape = ["D", "HH", "MI", "SS"][lead..=trail].join(":").replacen(
                        ':',
                        " ",
                        usize::from(lead == 0),
                    );
                    (
                        format!(
                            "INTERVAL '…' {} TO {} takes '{shape}' (hours 0-23, minutes and seconds 0-59 after the first field); found '{}'",
                            names[lead],
                            names[trail],
                            lexer_clip(&amount.value)
                        ),
                        format!("'{shape}' in quotes"),
                    )
                };
                self.diags.push(
                    Diagnostic::error("bad-duration", message, amount.span).with_expected(expected),
                );
                SqlExpr::Null(span)
            }
        }
    }
}

/// The text of an interval literal, for fields `lead..=trail` (0 day, 1 hour, 2 minute,
/// 3 second): the first field any size, later ones within their range, a fraction only on
/// seconds. `(negative, ms)`.
fn parse_interval(text: &str, lead: usize, trail: usize) -> Option<(bool, Millis)> {
    let t = text.trim();
    let (negative, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    // Split into fields: days are separated by a blank, the others by `:`.
    let mut fields: Vec<&str> = Vec::new();
    if lead == 0 && trail > 0 {
        let (d, rest) = t.split_once(' ')?;
        fields.push(d);
        fields.extend(rest.trim_start().split(':'));
    } else {
        fields.extend(t.split(':'));
    }
    if fields.len() != trail - lead + 1 {
        return None;
    }
    const FACTOR: [u64; 4] = [86_400_000, 3_600_000, 60_000, 1000];
    const LIMIT: [u64; 4] = [u64::MAX, 24, 60, 60];
    let mut ms: u64 = 0;
    for (i, f) in fields.iter().enumerate() {
        let unit = lead + i;
        let (whole, frac) = match f.split_once('.') {
            Some((w, fr)) if unit == 3 => (w, Some(fr)),
            Some(_) => return None,
            None => (*f, None),
        };
        if whole.is_empty() && frac.is_none()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || frac.is_some_and(|fr| fr.is_empty() || !fr.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        let n: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        if i > 0 && n >= LIMIT[unit] {
            return None;
        }
        ms = ms.checked_add(n.checked_mul(FACTOR[unit])?)?;
        if let Some(fr) = frac {
            let digits = format!("{fr:0<3}");
            ms = ms.checked_add(digits[..3].parse::<u64>().ok()?)?;
        }
    }
    i64::try_from(ms).ok()?;
    Some((negative && ms > 0, ms))
}

fn sql_attr(s: &str) -> SqlAttr {
    match s.to_ascii_uppercase().as_str() {
        "COMPLETED" => SqlAttr::Completed,
        "ERROR_CODE" => SqlAttr::ErrorCode,
        "START_DATE" => SqlAttr::StartDate,
        "END_DATE" => SqlAttr::EndDate,
        "DURATION" => SqlAttr::Duration,
        _ => SqlAttr::State,
    }
}

/// The span of a condition (for messages about it).
pub(super) fn cond_span(c: &Cond) -> Span {
    match c {
        Cond::Const(_, s) | Cond::Not(_, s) => *s,
        Cond::StepState { span, .. }
        | Cond::ErrorCodeIn { span, .. }
        | Cond::ErrorCodeCmp { span, .. } => *span,
        Cond::Sql(p) => match p {
            SqlPred::Compare { span, .. }
            | SqlPred::In { span, .. }
            | SqlPred::IsNull { span, .. }
            | SqlPred::Like { span, .. }
            | SqlPred::Between { span, .. } => *span,
        },
        Cond::And(a, b) | Cond::Or(a, b) => cond_span(a).join(cond_span(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_interval;

    #[test]
    fn interval_literals() {
        let day = 86_400_000;
        assert_eq!(parse_interval("5", 2, 2), Some((false, 300_000)));
        assert_eq!(parse_interval(" 300 ", 3, 3), Some((false, 300_000)));
        assert_eq!(parse_interval("1.5", 3, 3), Some((false, 1500)));
        assert_eq!(parse_interval("-2", 1, 1), Some((true, 7_200_000)));
        assert_eq!(
            parse_interval("1 12:30:15.25", 0, 3),
            Some((false, day + 45_015_250))
        );
        assert_eq!(
            parse_interval("2 06", 0, 1),
            Some((false, 2 * day + 21_600_000))
        );
        assert_eq!(parse_interval("1:30", 1, 2), Some((false, 5_400_000)));
        assert_eq!(parse_interval("90:30", 2, 3), Some((false, 5_430_000)));
        assert_eq!(
            parse_interval("1.5", 2, 2),
            None,
            "fractions only for seconds"
        );
        assert_eq!(parse_interval("1:60", 1, 2), None, "minutes below 60");
        assert_eq!(parse_interval("five", 2, 2), None);
        assert_eq!(parse_interval("1 12:30", 0, 3), None);
        assert_eq!(parse_interval("", 2, 2), None);
        assert_eq!(parse_interval("99999999999999999999", 0, 0), None);
    }
}
