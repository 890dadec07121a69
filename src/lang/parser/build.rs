//! Pest pairs → AST for declarations (programs, chains, steps, rules, jobs, groups), with the
//! value checks the grammar cannot express: name length, durations, integer range,
//! duplicate settings, exactly one kind of program.
//!
//! A [`Builder`] works on a piece of the file parsed on its own (a declaration or, after a
//! syntax error, one statement): `base` is that piece's offset in the file, so every span it
//! produces is a file offset. Value errors are collected in `diags`; the caller discards the
//! AST when there is any.

use super::grammar::Rule;
use super::lexer;
use crate::lang::ast::*;
use crate::lang::diagnostic::Diagnostic;
use crate::lang::duration::parse_duration;
use crate::lang::span::{FileId, Span};
use pest::iterators::Pair;

/// Oracle's limit on identifier length, in bytes.
pub const MAX_IDENT_BYTES: usize = 128;

pub struct Builder {
    pub file: FileId,
    pub base: usize,
    pub diags: Vec<Diagnostic>,
    /// Operators, calls and CASEs built in the current condition (bounded: see
    /// `build_sql::MAX_EXPR_NODES`).
    pub sql_nodes: usize,
}

/// The settings of a program block seen so far (duplicates and the kind are checked
/// across statements).
#[derive(Default)]
pub struct ProgramAcc {
    pub kind: Option<(ProgramKind, Span, &'static str)>,
    pub arguments: Option<Vec<StringLit>>,
    pub environment: Vec<(String, StringLit)>,
    pub working_directory: Option<StringLit>,
    pub timeout: Option<DurationLit>,
    pub sets: Vec<Ident>,
}

#[derive(Default)]
pub struct ChainAcc {
    pub serialize_by: Option<SerializeBy>,
    pub comment: Option<StringLit>,
    pub evaluation_interval: Option<DurationLit>,
    pub steps: Vec<StepDecl>,
    pub rules: Vec<RuleDecl>,
}

#[derive(Default)]
pub struct JobAcc {
    pub chain: Option<Ident>,
    pub group: Option<Vec<Ident>>,
    pub schedule: Option<StringLit>,
    pub parameters: Vec<(Ident, StringLit)>,
    pub serialize_by: Option<Ident>,
    pub serialize_refuse: bool,
    pub restartable: Option<Span>,
    pub max_run_duration: Option<DurationLit>,
    pub start_date: Option<StringLit>,
    pub end_date: Option<StringLit>,
    pub time_zone: Option<StringLit>,
    pub enabled: Option<bool>,
    pub max_runs: Option<i64>,
    pub max_failures: Option<i64>,
    pub comment: Option<StringLit>,
    pub on_event: Option<JobEvent>,
}

#[derive(Default)]
pub struct GroupAcc {
    pub max_running: Option<i64>,
}

#[derive(Default)]
pub struct NotifyAcc {
    pub on: Vec<(NotifyOn, Span)>,
    pub chains: Vec<Ident>,
    pub jobs: Vec<Ident>,
    pub webhook: Option<StringLit>,
    pub command: Option<Vec<StringLit>>,
    pub retries: Option<i64>,
    pub delay: Option<DurationLit>,
}

impl Builder {
    pub fn new(file: FileId, base: usize) -> Self {
        Builder {
            file,
            base,
            diags: Vec::new(),
            sql_nodes: 0,
        }
    }

    pub fn span(&self, p: &Pair<Rule>) -> Span {
        let s = p.as_span();
        Span::new(self.file, self.base + s.start(), self.base + s.end())
    }

    pub fn error(&mut self, code: &'static str, message: impl Into<String>, span: Span) {
        self.diags.push(Diagnostic::error(code, message, span));
    }

    // ------------------------------------------------------------ lexical values

    /// A name: unquoted → upper case; `"quoted"` → exact.
    pub fn ident(&mut self, p: &Pair<Rule>) -> Ident {
        let text = p.as_str();
        let span = self.span(p);
        let (name, quoted) = if let Some(inner) = text.strip_prefix('"') {
            (inner.strip_suffix('"').unwrap_or(inner).to_string(), true)
        } else {
            (text.to_ascii_uppercase(), false)
        };
        if quoted && name.is_empty() {
            self.error("syntax", "a quoted name cannot be empty", span);
        }
        if name.len() > MAX_IDENT_BYTES {
            self.error(
                "identifier-too-long",
                format!(
                    "this name is {} characters long; names are at most {MAX_IDENT_BYTES}",
                    name.len()
                ),
                span,
            );
        }
        Ident { name, quoted, span }
    }

    /// A payload field or environment key: exactly as written (quotes removed).
    pub fn exact_name(&mut self, p: &Pair<Rule>) -> String {
        let text = p.as_str();
        match text.strip_prefix('"') {
            Some(inner) => {
                let inner = inner.strip_suffix('"').unwrap_or(inner);
                if inner.is_empty() {
                    let span = self.span(p);
                    self.error("syntax", "a quoted name cannot be empty", span);
                }
                inner.to_string()
            }
            None => text.to_string(),
        }
    }

    /// An environment variable a process can be given: `execve` takes `NAME=VALUE` strings
    /// ending at a NUL, so a name cannot be empty or hold `=` or NUL, and a value cannot hold
    /// NUL. Refused here rather than failing the step when it launches.
    fn check_environment(&mut self, name: &str, name_span: Span, value: &StringLit) {
        // An empty quoted name is already a `syntax` error (`exact_name`).
        let why = if name.contains('=') {
            Some("contains `=`, which ends a name in a process environment")
        } else if name.contains('\0') {
            Some("contains a NUL character, which a process environment cannot hold")
        } else {
            None
        };
        if let Some(why) = why {
            self.error(
                "bad-environment",
                format!("environment variable name {name:?} {why}"),
                name_span,
            );
        }
        if value.value.contains('\0') {
            self.error(
                "bad-environment",
                format!(
                    "the value of environment variable {name} contains a NUL character, which a process environment cannot hold"
                ),
                value.span,
            );
        }
    }

    pub fn string(&self, p: &Pair<Rule>) -> StringLit {
        let text = p.as_str();
        let inner = text
            .strip_prefix('\'')
            .and_then(|t| t.strip_suffix('\''))
            .unwrap_or(text);
        StringLit {
            value: inner.replace("''", "'"),
            span: self.span(p),
        }
    }

    pub fn int(&mut self, p: &Pair<Rule>) -> i64 {
        match p.as_str().parse::<i64>() {
            Ok(v) => v,
            Err(_) => {
                let span = self.span(p);
                self.error(
                    "bad-integer",
                    format!(
                        "the integer {} is out of range (integers are between {} and {})",
                        lexer_clip(p.as_str()),
                        i64::MIN,
                        i64::MAX
                    ),
                    span,
                );
                0
            }
        }
    }

    pub fn number(&mut self, p: &Pair<Rule>) -> f64 {
        match p.as_str().parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                let span = self.span(p);
                self.error(
                    "bad-integer",
                    format!("the number {} is out of range", lexer_clip(p.as_str())),
                    span,
                );
                0.0
            }
        }
    }

    pub fn duration(&mut self, p: &Pair<Rule>) -> DurationLit {
        let span = self.span(p);
        let text = p.as_str();
        match parse_duration(text) {
            Some(millis) => DurationLit { millis, span },
            None => {
                let why = if text.contains(':') {
                    "; in HH:MM:SS, minutes and seconds are 00 to 59"
                } else {
                    ""
                };
                self.diags.push(
                    Diagnostic::error(
                        "bad-duration",
                        format!("`{}` is not a duration{why}", lexer_clip(text)),
                        span,
                    )
                    .with_expected("a duration like 500ms, 30s, 5m, 2h, 1d, 1h30m or 01:30:00"),
                );
                DurationLit { millis: 0, span }
            }
        }
    }

    /// A duration that must be longer than zero (`what` names the setting).
    fn positive_duration(&mut self, p: &Pair<Rule>, what: &str) -> DurationLit {
        let before = self.diags.len();
        let d = self.duration(p);
        if self.diags.len() == before && d.millis == 0 {
            self.error(
                "bad-attribute",
                format!("{what} must be longer than 0"),
                d.span,
            );
        }
        d
    }

    fn duplicate(&mut self, what: &str, span: Span) {
        self.error("bad-attribute", format!("{what} is given twice"), span);
    }

    // ------------------------------------------------------------ declarations

    /// `item` → one declaration.
    pub fn item(&mut self, p: Pair<Rule>) -> Option<Item> {
        let inner = p.into_inner().next()?;
        match inner.as_rule() {
            Rule::program_decl => self.program_decl(inner).map(Item::Program),
            Rule::chain_decl => self.chain_decl(inner).map(Item::Chain),
            Rule::job_decl => self.job_decl(inner).map(Item::Job),
            Rule::group_decl => self.group_decl(inner).map(Item::Group),
            Rule::notify_decl => self.notify_decl(inner).map(Item::Notify),
            Rule::schedule_decl => self.schedule_decl(inner).map(Item::Schedule),
            _ => None,
        }
    }

    /// The name (or group path) in a `*_head` pair.
    pub fn head_name(&mut self, head: Pair<Rule>) -> Option<Vec<Ident>> {
        for c in head.into_inner() {
            match c.as_rule() {
                Rule::program_name | Rule::chain_name | Rule::job_name | Rule::notify_name => {
                    return Some(vec![self.ident(&c)])
                }
                Rule::group_path => return Some(self.group_path(c)),
                _ => {}
            }
        }
        None
    }

    fn program_decl(&mut self, p: Pair<Rule>) -> Option<ProgramDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut acc = ProgramAcc::default();
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::program_head => name = self.head_name(c).and_then(|v| v.into_iter().next()),
                Rule::program_stmt => self.program_stmt(c, &mut acc),
                _ => {}
            }
        }
        let name = name?;
        let kind = match acc.kind {
            Some((k, _, _)) => k,
            None => {
                self.diags.push(
                    Diagnostic::error(
                        "program-kind",
                        format!(
                            "program {} does not say what to run: it needs one of \
                             `executable`, `shell`, `handler` or `builtin`",
                            name.name
                        ),
                        name.span,
                    )
                    .with_expected("`executable`, `shell`, `handler` or `builtin`"),
                );
                ProgramKind::Builtin(Builtin::Noop)
            }
        };
        Some(ProgramDecl {
            name,
            kind,
            arguments: acc.arguments.unwrap_or_default(),
            environment: acc.environment,
            working_directory: acc.working_directory,
            timeout: acc.timeout,
            sets: acc.sets,
            span,
        })
    }

    pub fn program_stmt(&mut self, p: Pair<Rule>, acc: &mut ProgramAcc) {
        let Some(s) = p.into_inner().find(|c| c.as_rule() != Rule::semi) else {
            return;
        };
        let span = self.span(&s);
        let rule = s.as_rule();
        let parts: Vec<Pair<Rule>> = s.into_inner().collect();
        let kind = match rule {
            Rule::prog_executable => parts
                .iter()
                .find(|c| c.as_rule() == Rule::string)
                .map(|c| (ProgramKind::Executable(self.string(c)), "executable")),
            Rule::prog_shell => parts
                .iter()
                .find(|c| c.as_rule() == Rule::string)
                .map(|c| (ProgramKind::Shell(self.string(c)), "shell")),
            Rule::prog_handler => parts
                .iter()
                .find(|c| c.as_rule() == Rule::string)
                .map(|c| (ProgramKind::Handler(self.string(c)), "handler")),
            Rule::prog_builtin => parts
                .iter()
                .find(|c| c.as_rule() == Rule::builtin_kind)
                .and_then(|c| self.builtin(c.clone()))
                .map(|b| (ProgramKind::Builtin(b), "builtin")),
            _ => None,
        };
        if let Some((kind, word)) = kind {
            match &acc.kind {
                Some((_, _, first)) => {
                    let msg = if *first == word {
                        format!("`{word}` is given twice; a program runs exactly one thing")
                    } else {
                        format!(
                            "this program already has `{first}`; a program has exactly one of \
                             `executable`, `shell`, `handler` or `builtin`"
                        )
                    };
                    self.error("program-kind", msg, span);
                }
                None => acc.kind = Some((kind, span, word)),
            }
            return;
        }
        match rule {
            Rule::prog_arguments => {
                let args: Vec<StringLit> = parts
                    .iter()
                    .filter(|c| c.as_rule() == Rule::string)
                    .map(|c| self.string(c))
                    .collect();
                if acc.arguments.is_some() {
                    self.duplicate("`arguments`", span);
                } else {
                    acc.arguments = Some(args);
                }
            }
            Rule::prog_environment => {
                for pair in parts.iter().filter(|c| c.as_rule() == Rule::env_pair) {
                    let mut key = None;
                    let mut value = None;
                    for c in pair.clone().into_inner() {
                        match c.as_rule() {
                            Rule::env_key => key = Some((self.exact_name(&c), self.span(&c))),
                            Rule::string => value = Some(self.string(&c)),
                            _ => {}
                        }
                    }
                    if let (Some((k, kspan)), Some(v)) = (key, value) {
                        self.check_environment(&k, kspan, &v);
                        if acc.environment.iter().any(|(e, _)| *e == k) {
                            self.duplicate(&format!("environment variable {k}"), kspan);
                        } else {
                            acc.environment.push((k, v));
                        }
                    }
                }
            }
            Rule::prog_working_directory => {
                if let Some(c) = parts.iter().find(|c| c.as_rule() == Rule::string) {
                    if acc.working_directory.is_some() {
                        self.duplicate("`working_directory`", span);
                    } else {
                        acc.working_directory = Some(self.string(c));
                    }
                }
            }
            Rule::prog_sets => {
                for c in parts.iter().filter(|c| c.as_rule() == Rule::var_name) {
                    let id = self.var_name(c);
                    if acc.sets.iter().any(|v| v.name == id.name) {
                        self.duplicate(&format!("variable {}", id.name), id.span);
                    } else {
                        acc.sets.push(id);
                    }
                }
            }
            Rule::prog_timeout => {
                if let Some(c) = parts.iter().find(|c| c.as_rule() == Rule::duration) {
                    let d = self.positive_duration(c, "a timeout");
                    if acc.timeout.is_some() {
                        self.duplicate("`timeout`", span);
                    } else {
                        acc.timeout = Some(d);
                    }
                }
            }
            _ => {}
        }
    }

    fn builtin(&mut self, p: Pair<Rule>) -> Option<Builtin> {
        let b = p.into_inner().next()?;
        match b.as_rule() {
            Rule::builtin_noop => Some(Builtin::Noop),
            Rule::builtin_sleep => {
                let d = b.into_inner().find(|c| c.as_rule() == Rule::duration)?;
                Some(Builtin::Sleep(self.duration(&d)))
            }
            Rule::builtin_fail => {
                let n = b.into_inner().find(|c| c.as_rule() == Rule::int_lit)?;
                let before = self.diags.len();
                let code = self.int(&n);
                if self.diags.len() == before && code <= 0 {
                    let span = self.span(&n);
                    self.error(
                        "bad-attribute",
                        format!("`fail {code}`: the error code of a failure must be 1 or more"),
                        span,
                    );
                }
                Some(Builtin::Fail(code))
            }
            _ => None,
        }
    }

    fn chain_decl(&mut self, p: Pair<Rule>) -> Option<ChainDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut acc = ChainAcc::default();
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::chain_head => name = self.head_name(c).and_then(|v| v.into_iter().next()),
                Rule::chain_stmt => self.chain_stmt(c, &mut acc),
                _ => {}
            }
        }
        Some(ChainDecl {
            name: name?,
            comment: acc.comment,
            evaluation_interval: acc.evaluation_interval,
            steps: acc.steps,
            rules: acc.rules,
            serialize_by: acc.serialize_by,
            span,
        })
    }

    pub fn chain_stmt(&mut self, p: Pair<Rule>, acc: &mut ChainAcc) {
        let Some(s) = p.into_inner().next() else {
            return;
        };
        let span = self.span(&s);
        match s.as_rule() {
            Rule::chain_comment => {
                if let Some(c) = s.into_inner().find(|c| c.as_rule() == Rule::string) {
                    if acc.comment.is_some() {
                        self.duplicate("the chain's `comment`", span);
                    } else {
                        acc.comment = Some(self.string(&c));
                    }
                }
            }
            Rule::chain_eval => {
                if let Some(c) = s.into_inner().find(|c| c.as_rule() == Rule::duration) {
                    let d = self.positive_duration(&c, "an evaluation_interval");
                    if acc.evaluation_interval.is_some() {
                        self.duplicate("`evaluation_interval`", span);
                    } else {
                        acc.evaluation_interval = Some(d);
                    }
                }
            }
            Rule::chain_serialize => {
                let parts: Vec<Pair<Rule>> = s.into_inner().collect();
                let refuse = on_conflict_refuses(&parts);
                if let Some(n) = parts.iter().find(|c| c.as_rule() == Rule::param_name) {
                    let param = self.param_name(n);
                    if acc.serialize_by.is_some() {
                        self.duplicate("the chain's `serialize by`", span);
                    } else {
                        acc.serialize_by = Some(SerializeBy { param, refuse });
                    }
                }
            }
            Rule::step_decl => {
                if let Some(step) = self.step_decl(s) {
                    acc.steps.push(step);
                }
            }
            Rule::rule_decl => {
                if let Some(rule) = self.rule_decl(s) {
                    acc.rules.push(rule);
                }
            }
            _ => {}
        }
    }

    fn step_decl(&mut self, p: Pair<Rule>) -> Option<StepDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut kind = None;
        let mut attrs = StepAttrs::default();
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::step_name => {
                    let ident = self.ident(&c);
                    if ident.name.contains('.') {
                        self.error(
                            "dot-in-step-name",
                            format!(
                                "step name {} contains `.`, which separates an outer step from its nested chain's step in subnames (`N.S1` is step S1 of the chain nested in step N)",
                                crate::lang::parser::write_name(&ident.name)
                            ),
                            ident.span,
                        );
                    }
                    name = Some(ident)
                }
                Rule::step_kind => kind = self.step_kind(c),
                Rule::step_with => {
                    for a in c.into_inner().filter(|a| a.as_rule() == Rule::step_attr) {
                        self.step_attr(a, &mut attrs);
                    }
                }
                _ => {}
            }
        }
        Some(StepDecl {
            name: name?,
            kind: kind?,
            attrs,
            span,
        })
    }

    fn step_kind(&mut self, p: Pair<Rule>) -> Option<StepKind> {
        let k = p.into_inner().next()?;
        match k.as_rule() {
            Rule::step_program => {
                let n = k.into_inner().find(|c| c.as_rule() == Rule::program_name)?;
                Some(StepKind::Program(self.ident(&n)))
            }
            Rule::step_chain => {
                let n = k.into_inner().find(|c| c.as_rule() == Rule::chain_name)?;
                Some(StepKind::Chain(self.ident(&n)))
            }
            Rule::step_event => {
                let mut event = None;
                let mut condition = None;
                let mut condition_text = None;
                for c in k.into_inner() {
                    match c.as_rule() {
                        Rule::event_name => event = Some(self.ident(&c)),
                        Rule::event_where => {
                            if let Some(pc) = c.into_inner().find(|x| x.as_rule() == Rule::pcond) {
                                condition_text = Some(lexer::collapse(pc.as_str()));
                                condition = Some(self.payload_condition(pc));
                            }
                        }
                        _ => {}
                    }
                }
                Some(StepKind::Event {
                    event: event?,
                    condition,
                    condition_text,
                })
            }
            _ => None,
        }
    }

    fn step_attr(&mut self, p: Pair<Rule>, attrs: &mut StepAttrs) {
        let Some(a) = p.into_inner().next() else {
            return;
        };
        let span = self.span(&a);
        let name = match a.as_rule() {
            Rule::attr_skip => "skip",
            Rule::attr_pause => "pause",
            Rule::attr_pause_before => "pause_before",
            Rule::attr_restart_on_recovery => "restart_on_recovery",
            Rule::attr_restart_on_failure => "restart_on_failure",
            Rule::attr_timeout => "timeout",
            _ => return,
        };
        if attrs.spans.iter().any(|(n, _)| n == name) {
            self.duplicate(&format!("the attribute `{name}`"), span);
            return;
        }
        attrs.spans.push((name.to_string(), span));
        match a.as_rule() {
            Rule::attr_skip => attrs.skip = true,
            Rule::attr_pause => attrs.pause = true,
            Rule::attr_pause_before => attrs.pause_before = true,
            Rule::attr_restart_on_recovery => attrs.restart_on_recovery = true,
            Rule::attr_timeout => {
                if let Some(d) = a.into_inner().find(|c| c.as_rule() == Rule::duration) {
                    attrs.timeout = Some(self.positive_duration(&d, "a timeout").millis);
                }
            }
            _ => {
                let mut policy = RetryPolicyLit {
                    span,
                    ..RetryPolicyLit::default()
                };
                if let Some(rp) = a.into_inner().find(|c| c.as_rule() == Rule::retry_policy) {
                    for item in rp.into_inner().filter(|c| c.as_rule() == Rule::retry_item) {
                        self.retry_item(item, &mut policy);
                    }
                }
                attrs.restart_on_failure = Some(policy);
            }
        }
    }

    fn retry_item(&mut self, p: Pair<Rule>, policy: &mut RetryPolicyLit) {
        let Some(it) = p.into_inner().next() else {
            return;
        };
        let span = self.span(&it);
        let rule = it.as_rule();
        let Some(value) = it
            .into_inner()
            .find(|c| matches!(c.as_rule(), Rule::int_lit | Rule::duration | Rule::num_lit))
        else {
            return;
        };
        let before = self.diags.len();
        match rule {
            Rule::retry_retries => {
                let n = self.int(&value);
                if self.diags.len() == before && n < 0 {
                    self.error(
                        "bad-attribute",
                        format!("`retries {n}`: the number of retries cannot be negative"),
                        span,
                    );
                }
                if policy.retries.is_some() {
                    self.duplicate("`retries`", span);
                }
                policy.retries = Some(n);
            }
            Rule::retry_delay => {
                let d = self.duration(&value);
                if policy.delay.is_some() {
                    self.duplicate("`delay`", span);
                }
                policy.delay = Some(d);
            }
            Rule::retry_backoff => {
                let x = self.number(&value);
                if self.diags.len() == before && x <= 0.0 {
                    self.error(
                        "bad-attribute",
                        format!(
                            "`backoff {}`: the backoff factor must be greater than 0",
                            value.as_str()
                        ),
                        span,
                    );
                }
                if policy.backoff.is_some() {
                    self.duplicate("`backoff`", span);
                }
                policy.backoff = Some(x);
            }
            _ => {}
        }
    }

    pub fn rule_decl(&mut self, p: Pair<Rule>) -> Option<RuleDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut condition = None;
        let mut condition_text = String::new();
        let mut condition_span = span;
        let mut action = None;
        let mut action_text = String::new();
        let mut comment = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::rule_name => name = Some(self.ident(&c)),
                Rule::cond => {
                    condition_text = lexer::collapse(c.as_str());
                    // Up to the last token: pest counts the blanks (and comments) before `then`.
                    let full = self.span(&c);
                    let (toks, _) = lexer::scan(c.as_str());
                    let end = toks.last().map_or(full.end, |t| full.start + t.end);
                    condition_span = Span::new(full.file, full.start, end);
                    condition = Some(self.condition(c));
                }
                Rule::action => {
                    action_text = lexer::collapse(c.as_str());
                    action = self.action(c);
                }
                Rule::rule_comment => {
                    if let Some(s) = c.into_inner().find(|x| x.as_rule() == Rule::string) {
                        comment = Some(self.string(&s));
                    }
                }
                _ => {}
            }
        }
        Some(RuleDecl {
            name,
            condition: condition?,
            action: action?,
            comment,
            condition_text,
            condition_span,
            action_text,
            span,
        })
    }

    // ------------------------------------------------------------ jobs and groups

    fn group_path(&mut self, p: Pair<Rule>) -> Vec<Ident> {
        p.into_inner()
            .filter(|c| c.as_rule() == Rule::group_name)
            .map(|c| self.ident(&c))
            .collect()
    }

    fn job_decl(&mut self, p: Pair<Rule>) -> Option<JobDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut acc = JobAcc::default();
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::job_head => name = self.head_name(c).and_then(|v| v.into_iter().next()),
                Rule::job_stmt => self.job_stmt(c, &mut acc),
                _ => {}
            }
        }
        Some(JobDecl {
            name: name?,
            chain: acc.chain,
            group: acc.group,
            schedule: acc.schedule,
            parameters: acc.parameters,
            serialize_by: acc.serialize_by,
            serialize_refuse: acc.serialize_refuse,
            restartable: acc.restartable.is_some(),
            max_run_duration: acc.max_run_duration,
            start_date: acc.start_date,
            end_date: acc.end_date,
            time_zone: acc.time_zone,
            enabled: acc.enabled,
            max_runs: acc.max_runs,
            max_failures: acc.max_failures,
            comment: acc.comment,
            on_event: acc.on_event,
            span,
        })
    }

    fn schedule_decl(&mut self, p: Pair<Rule>) -> Option<ScheduleDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut text = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::schedule_name => name = Some(self.ident(&c)),
                Rule::string => text = Some(self.string(&c)),
                _ => {}
            }
        }
        Some(ScheduleDecl {
            name: name?,
            text: text?,
            span,
        })
    }

    /// A positive count (`max_runs 10`).
    fn positive_count(&mut self, p: &Pair<Rule>, what: &str, span: Span) -> Option<i64> {
        let before = self.diags.len();
        let v = self.int(p);
        if self.diags.len() != before {
            return None;
        }
        if v < 1 {
            self.error(
                "bad-attribute",
                format!("`{what} {v}`: the count must be at least 1"),
                span,
            );
            return None;
        }
        Some(v)
    }

    pub fn job_stmt(&mut self, p: Pair<Rule>, acc: &mut JobAcc) {
        let Some(s) = p.into_inner().find(|c| c.as_rule() != Rule::semi) else {
            return;
        };
        let span = self.span(&s);
        let rule = s.as_rule();
        let parts: Vec<Pair<Rule>> = s.into_inner().collect();
        let find = |r: Rule| parts.iter().find(|c| c.as_rule() == r).cloned();
        match rule {
            Rule::job_chain => {
                if let Some(n) = find(Rule::chain_name) {
                    let id = self.ident(&n);
                    if acc.chain.is_some() {
                        self.duplicate("the job's `chain`", span);
                    } else {
                        acc.chain = Some(id);
                    }
                }
            }
            Rule::job_group => {
                if let Some(g) = find(Rule::group_path) {
                    let path = self.group_path(g);
                    if acc.group.is_some() {
                        self.duplicate("the job's `group`", span);
                    } else {
                        acc.group = Some(path);
                    }
                }
            }
            Rule::job_schedule => {
                // `schedule NAME`: a named schedule, the same as the string 'NAME'.
                let lit = if let Some(s) = find(Rule::string) {
                    Some(self.string(&s))
                } else {
                    find(Rule::schedule_name).map(|n| {
                        let id = self.ident(&n);
                        StringLit {
                            value: id.name,
                            span: id.span,
                        }
                    })
                };
                if let Some(lit) = lit {
                    if acc.schedule.is_some() {
                        self.duplicate("`schedule`", span);
                    } else {
                        acc.schedule = Some(lit);
                    }
                }
            }
            Rule::job_start_date | Rule::job_end_date | Rule::job_time_zone | Rule::job_comment => {
                if let Some(s) = find(Rule::string) {
                    let lit = self.string(&s);
                    let (slot, what) = match rule {
                        Rule::job_start_date => (&mut acc.start_date, "`start_date`"),
                        Rule::job_end_date => (&mut acc.end_date, "`end_date`"),
                        Rule::job_time_zone => (&mut acc.time_zone, "`time_zone`"),
                        _ => (&mut acc.comment, "the job's `comment`"),
                    };
                    if slot.is_some() {
                        self.duplicate(what, span);
                    } else {
                        *slot = Some(lit);
                    }
                }
            }
            Rule::job_enabled => {
                let v = find(Rule::kw_true).is_some();
                if acc.enabled.is_some() {
                    self.duplicate("`enabled`", span);
                } else {
                    acc.enabled = Some(v);
                }
            }
            Rule::job_max_runs | Rule::job_max_failures => {
                let what = if rule == Rule::job_max_runs {
                    "max_runs"
                } else {
                    "max_failures"
                };
                if let Some(n) = find(Rule::int_lit) {
                    let v = self.positive_count(&n, what, span);
                    let slot = if rule == Rule::job_max_runs {
                        &mut acc.max_runs
                    } else {
                        &mut acc.max_failures
                    };
                    if slot.is_some() {
                        self.duplicate(&format!("`{what}`"), span);
                    } else if v.is_some() {
                        *slot = v;
                    }
                }
            }
            Rule::job_on_event => {
                let mut event = None;
                let mut condition = None;
                for c in parts.iter().cloned() {
                    match c.as_rule() {
                        Rule::event_name => event = Some(self.ident(&c)),
                        Rule::event_where => {
                            if let Some(pc) = c.into_inner().find(|x| x.as_rule() == Rule::pcond) {
                                condition = Some(self.payload_condition(pc));
                            }
                        }
                        _ => {}
                    }
                }
                if let Some(name) = event {
                    if acc.on_event.is_some() {
                        self.duplicate("`on event`", span);
                    } else {
                        acc.on_event = Some(JobEvent { name, condition });
                    }
                }
            }
            Rule::job_parameters => {
                for pp in parts.iter().filter(|c| c.as_rule() == Rule::param_pair) {
                    let mut key = None;
                    let mut value = None;
                    for c in pp.clone().into_inner() {
                        match c.as_rule() {
                            Rule::param_name => key = Some(self.param_name(&c)),
                            Rule::string => value = Some(self.string(&c)),
                            _ => {}
                        }
                    }
                    if let (Some(k), Some(v)) = (key, value) {
                        if acc.parameters.iter().any(|(e, _)| e.name == k.name) {
                            self.duplicate(&format!("the parameter {}", k.name), k.span);
                        } else {
                            acc.parameters.push((k, v));
                        }
                    }
                }
            }
            Rule::job_serialize => {
                if let Some(n) = find(Rule::param_name) {
                    let id = self.param_name(&n);
                    if acc.serialize_by.is_some() {
                        self.duplicate("`serialize by`", span);
                    } else {
                        acc.serialize_by = Some(id);
                        acc.serialize_refuse = on_conflict_refuses(&parts);
                    }
                }
            }
            Rule::job_restartable => {
                if acc.restartable.is_some() {
                    self.duplicate("`restartable`", span);
                } else {
                    acc.restartable = Some(span);
                }
            }
            Rule::job_max_run_duration => {
                if let Some(d) = find(Rule::duration) {
                    let d = self.positive_duration(&d, "max_run_duration");
                    if acc.max_run_duration.is_some() {
                        self.duplicate("`max_run_duration`", span);
                    } else {
                        acc.max_run_duration = Some(d);
                    }
                }
            }
            _ => {}
        }
    }

    /// Parameter names are case-insensitive, even when quoted: stored upper-cased.
    fn param_name(&mut self, p: &Pair<Rule>) -> Ident {
        let mut id = self.ident(p);
        id.name = id.name.to_uppercase();
        id
    }

    /// A job variable's name: case-insensitive like a parameter's, so always upper-cased.
    pub fn var_name(&mut self, p: &Pair<Rule>) -> Ident {
        self.param_name(p)
    }

    fn group_decl(&mut self, p: Pair<Rule>) -> Option<GroupDecl> {
        let span = self.span(&p);
        let mut path = None;
        let mut acc = GroupAcc::default();
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::group_head => path = self.head_name(c),
                Rule::group_stmt => self.group_stmt(c, &mut acc),
                _ => {}
            }
        }
        Some(GroupDecl {
            path: path?,
            max_running: acc.max_running,
            span,
        })
    }

    pub fn group_stmt(&mut self, p: Pair<Rule>, acc: &mut GroupAcc) {
        let Some(s) = p
            .into_inner()
            .find(|c| c.as_rule() == Rule::group_max_running)
        else {
            return;
        };
        let span = self.span(&s);
        let Some(n) = s.into_inner().find(|c| c.as_rule() == Rule::int_lit) else {
            return;
        };
        let before = self.diags.len();
        let v = self.int(&n);
        if self.diags.len() == before && v < 0 {
            self.error(
                "bad-attribute",
                format!(
                    "`max_running {v}`: a group allows 0 running jobs (disabled: its jobs wait \
                     ENQUEUED) or more"
                ),
                span,
            );
        }
        if acc.max_running.is_some() {
            self.duplicate("`max_running`", span);
        } else {
            acc.max_running = Some(v);
        }
    }
}

impl Builder {
    fn notify_decl(&mut self, p: Pair<Rule>) -> Option<NotifyDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut acc = NotifyAcc::default();
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::notify_head => name = self.head_name(c).and_then(|v| v.into_iter().next()),
                Rule::notify_stmt => self.notify_stmt(c, &mut acc),
                _ => {}
            }
        }
        let name = name?;
        if acc.on.is_empty() {
            self.error(
                "bad-attribute",
                format!(
                    "notify {} says on nothing: add `on FAILED;` (or SUCCEEDED, STOPPED, \
                     CHAIN_STALLED, STEP FAILED, ENQUEUED LONGER THAN d, MAX_RUN_DURATION)",
                    name.name
                ),
                name.span,
            );
        }
        if acc.webhook.is_none() && acc.command.is_none() {
            self.error(
                "bad-attribute",
                format!(
                    "notify {} sends nothing: add `webhook 'http://…';` or `command '/path' …;`",
                    name.name
                ),
                name.span,
            );
        }
        Some(NotifyDecl {
            name,
            on: acc.on,
            chains: acc.chains,
            jobs: acc.jobs,
            webhook: acc.webhook,
            command: acc.command,
            retries: acc.retries,
            delay: acc.delay,
            span,
        })
    }

    pub fn notify_stmt(&mut self, p: Pair<Rule>, acc: &mut NotifyAcc) {
        let Some(s) = p.into_inner().find(|c| c.as_rule() != Rule::semi) else {
            return;
        };
        let span = self.span(&s);
        let rule = s.as_rule();
        let parts: Vec<Pair<Rule>> = s.into_inner().collect();
        match rule {
            Rule::notify_on => {
                for ev in parts.iter().filter(|c| c.as_rule() == Rule::notify_event) {
                    let ev_span = self.span(ev);
                    let Some(inner) = ev.clone().into_inner().next() else {
                        continue;
                    };
                    let on = match inner.as_rule() {
                        Rule::ev_step_failed => NotifyOn::StepFailed,
                        Rule::ev_succeeded => NotifyOn::Succeeded,
                        Rule::ev_failed => NotifyOn::Failed,
                        Rule::ev_stopped => NotifyOn::Stopped,
                        Rule::ev_stalled => NotifyOn::ChainStalled,
                        Rule::ev_max_run => NotifyOn::MaxRunDuration,
                        Rule::ev_enqueued => {
                            let Some(d) =
                                inner.into_inner().find(|c| c.as_rule() == Rule::duration)
                            else {
                                continue;
                            };
                            let d = self.positive_duration(&d, "ENQUEUED LONGER THAN");
                            NotifyOn::EnqueuedLongerThan(d.millis)
                        }
                        _ => continue,
                    };
                    let same_kind =
                        |a: &NotifyOn| std::mem::discriminant(a) == std::mem::discriminant(&on);
                    if acc.on.iter().any(|(a, _)| same_kind(a)) {
                        self.duplicate(&format!("`on {}`", on.text()), ev_span);
                    } else {
                        acc.on.push((on, ev_span));
                    }
                }
            }
            Rule::notify_for => {
                for f in parts {
                    let (list, want) = match f.as_rule() {
                        Rule::for_chain => (&mut acc.chains, Rule::chain_name),
                        Rule::for_job => (&mut acc.jobs, Rule::job_name),
                        _ => continue,
                    };
                    for n in f.into_inner().filter(|c| c.as_rule() == want) {
                        let id = self.ident(&n);
                        list.push(id);
                    }
                }
            }
            Rule::notify_webhook => {
                if let Some(c) = parts.iter().find(|c| c.as_rule() == Rule::string) {
                    let url = self.string(c);
                    let lower = url.value.to_ascii_lowercase();
                    if lower.starts_with("https://") {
                        self.error(
                            "bad-value",
                            format!(
                                "webhook '{}': this build sends webhooks over plain HTTP only; \
                                 for HTTPS use `command '/usr/bin/curl' …` (the message is on \
                                 its standard input)",
                                lexer_clip(&url.value)
                            ),
                            url.span,
                        );
                    } else if !lower.starts_with("http://") || url.value.len() <= 7 {
                        self.error(
                            "bad-value",
                            format!(
                                "webhook '{}': the URL must start with http://",
                                lexer_clip(&url.value)
                            ),
                            url.span,
                        );
                    }
                    if acc.webhook.is_some() {
                        self.duplicate("`webhook`", span);
                    } else {
                        acc.webhook = Some(url);
                    }
                }
            }
            Rule::notify_command => {
                let words: Vec<StringLit> = parts
                    .iter()
                    .filter(|c| c.as_rule() == Rule::string)
                    .map(|c| self.string(c))
                    .collect();
                if words.first().is_some_and(|w| w.value.trim().is_empty()) {
                    self.error("bad-value", "command: the program path is empty", span);
                }
                if acc.command.is_some() {
                    self.duplicate("`command`", span);
                } else {
                    acc.command = Some(words);
                }
            }
            Rule::notify_retries => {
                if let Some(n) = parts.iter().find(|c| c.as_rule() == Rule::int_lit) {
                    let before = self.diags.len();
                    let v = self.int(n);
                    if self.diags.len() == before && !(0..=100).contains(&v) {
                        self.error("bad-value", format!("retries {v}: between 0 and 100"), span);
                    }
                    if acc.retries.is_some() {
                        self.duplicate("`retries`", span);
                    } else {
                        acc.retries = Some(v);
                    }
                }
            }
            Rule::notify_delay => {
                if let Some(d) = parts.iter().find(|c| c.as_rule() == Rule::duration) {
                    let d = self.positive_duration(d, "a notification's delay");
                    if acc.delay.is_some() {
                        self.duplicate("`delay`", span);
                    } else {
                        acc.delay = Some(d);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether a `serialize by` statement ends in `on conflict error`.
fn on_conflict_refuses(parts: &[Pair<Rule>]) -> bool {
    parts
        .iter()
        .filter(|c| c.as_rule() == Rule::on_conflict)
        .any(|c| {
            c.clone()
                .into_inner()
                .any(|k| k.as_rule() == Rule::conflict_error)
        })
}

/// Shorten long user text quoted in a message.
pub fn lexer_clip(s: &str) -> String {
    if s.chars().count() > 40 {
        let head: String = s.chars().take(37).collect();
        format!("{head}...")
    } else {
        s.to_string()
    }
}

/// `HH:MM:SS` for a number of milliseconds (whole seconds), for messages about AFTER.
pub fn hms(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}
