//! Name resolution: the parsed files (AST) → the resolved [`Catalog`].
//!
//! Why a separate pass: names are global across every file of a catalog, so a file can only be
//! understood once all files are parsed. This pass collects the declarations, then turns every
//! name into an index or a checked reference, applies defaults (Oracle retry policy, `RULE$N`)
//! and reports *every* problem it finds (never stopping at the first one), each with a span,
//! what was expected, and the nearest existing name.
//!
//! The model carries no spans (it is stored with running jobs); [`ChainSpans`] keeps, next to
//! it, where each step and rule was written, so lints can point at the source.

use super::graph::NestingGraph;
use super::model::*;
use crate::lang::ast;
use crate::lang::diagnostic::{nearest_name, Diagnostic};
use crate::lang::span::{SourceMap, Span};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Where each part of one chain was written (model order), for lints.
#[derive(Debug, Clone, Default)]
pub struct ChainSpans {
    /// The chain's name in its declaration.
    pub name: Span,
    /// The name of each step, in `Chain::steps` order.
    pub steps: Vec<Span>,
    /// Each rule, in `Chain::rules` order.
    pub rules: Vec<RuleSpans>,
}

/// Where one rule and the predicates of its condition were written.
#[derive(Debug, Clone, Default)]
pub struct RuleSpans {
    pub rule: Span,
    /// The written name, if any.
    pub name: Option<Span>,
    /// From the first to the last predicate of the condition.
    pub condition: Span,
    /// The leaf predicates of the condition (every node that is not AND, OR or NOT), in
    /// pre-order, left to right.
    pub leaves: Vec<Span>,
}

/// The result of resolving a set of parsed files.
#[derive(Debug, Default)]
pub struct Resolution {
    /// Everything that resolved; complete only when `diagnostics` holds no error.
    pub catalog: Catalog,
    /// Spans of each chain in `catalog.chains`.
    pub spans: BTreeMap<String, ChainSpans>,
    /// Chains whose own declaration resolved without error (safe to lint).
    pub clean_chains: BTreeSet<String>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Resolve parsed files into one catalog.
///
/// `complete` is false when some file of the catalog failed to parse: names declared there are
/// unknown, so references to programs, chains and groups that cannot be found are not reported
/// (they may well be declared in the broken file). Steps and rules are still checked.
pub fn resolve(files: &[ast::File], sources: &SourceMap, complete: bool) -> Resolution {
    let mut r = Resolver {
        sources,
        complete,
        diags: Vec::new(),
    };
    let decls = r.collect(files);
    let mut out = Resolution::default();

    for p in decls.programs.values() {
        if let Some(program) = r.program(p) {
            out.catalog.programs.insert(program.name.clone(), program);
        }
    }
    for (name, c) in &decls.chains {
        let before = r.error_count();
        let (chain, spans) = r.chain(c, &decls);
        if r.error_count() == before {
            out.clean_chains.insert(name.clone());
        }
        out.spans.insert(name.clone(), spans);
        out.catalog.chains.insert(name.clone(), chain);
        if let Some(sb) = &c.serialize_by {
            out.catalog.chain_serialize.insert(
                name.clone(),
                SerializeDef {
                    param: sb.param.name.to_uppercase(),
                    refuse: sb.refuse,
                },
            );
        }
    }
    for n in decls.notifies.values() {
        if let Some(def) = r.notify(n, &decls) {
            out.catalog.notifications.insert(def.name.clone(), def);
        }
    }
    for g in decls.groups.values() {
        if let Some(group) = r.group(g) {
            out.catalog.groups.insert(group.name.clone(), group);
        }
    }
    for sd in decls.schedules.values() {
        out.catalog.schedules.insert(
            sd.name.name.clone(),
            ScheduleDef {
                name: sd.name.name.clone(),
                text: sd.text.value.clone(),
                source: r.source(sd.name.span),
            },
        );
    }
    for sd in decls.schedules.values() {
        let named = |n: &str| out.catalog.named_schedule(n);
        if let Some(d) =
            crate::schedule::diagnostic::check_named_schedule(&sd.name.name, &sd.text, &named)
        {
            r.diags.push(d);
        }
    }
    for j in decls.jobs.values() {
        if let Some(job) = r.job(j, &decls) {
            out.catalog.jobs.insert(job.name.clone(), job);
        }
    }
    // Declarations that were duplicates are still checked for their own errors.
    for c in &decls.duplicate_chains {
        let _ = r.chain(c, &decls);
    }
    for p in &decls.duplicate_programs {
        let _ = r.program(p);
    }
    r.nesting(&decls);
    out.diagnostics = r.diags;
    out
}

/// Resolve one rule against an existing chain (run-time rule redefinition). The condition and
/// action were parsed already; spans point into whatever the caller parsed them from.
pub fn resolve_rule_ast(
    chain: &Chain,
    name: String,
    position: usize,
    condition: &ast::Cond,
    action: &ast::Action,
    condition_text: String,
    action_text: String,
) -> Result<Rule, Vec<Diagnostic>> {
    let names: Vec<&str> = chain.steps.iter().map(|s| s.name.as_str()).collect();
    let scope = StepScope::new(&chain.name, &names, None);
    let mut diags = Vec::new();
    let mut leaves = Vec::new();
    let cond = resolve_cond(condition, &scope, &mut diags, &mut leaves);
    let act = resolve_action(action, &scope, &mut diags);
    match (cond, act) {
        (Some(condition), Some(action)) if diags.is_empty() => Ok(Rule {
            name,
            position,
            condition,
            action,
            comment: None,
            condition_text,
            action_text,
        }),
        _ => Err(diags),
    }
}

// ------------------------------------------------------------------ declarations

/// The first declaration of every name, in file order; later ones are duplicates.
struct Decls<'a> {
    programs: BTreeMap<String, &'a ast::ProgramDecl>,
    chains: BTreeMap<String, &'a ast::ChainDecl>,
    jobs: BTreeMap<String, &'a ast::JobDecl>,
    groups: BTreeMap<String, &'a ast::GroupDecl>,
    notifies: BTreeMap<String, &'a ast::NotifyDecl>,
    schedules: BTreeMap<String, &'a ast::ScheduleDecl>,
    duplicate_chains: Vec<&'a ast::ChainDecl>,
    duplicate_programs: Vec<&'a ast::ProgramDecl>,
    /// Step name → the first chain (in name order) that declares it, for "step of another chain".
    step_owners: HashMap<String, String>,
}

struct Resolver<'s> {
    sources: &'s SourceMap,
    complete: bool,
    diags: Vec<Diagnostic>,
}

fn group_name(path: &[ast::Ident]) -> String {
    path.iter()
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

fn path_span(path: &[ast::Ident], fallback: Span) -> Span {
    match (path.first(), path.last()) {
        (Some(a), Some(b)) => Span::new(a.span.file, a.span.start, b.span.end),
        _ => fallback,
    }
}

impl<'s> Resolver<'s> {
    fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }

    /// `path:line:column` of a span.
    fn location(&self, span: Span) -> String {
        let (line, col) = self.sources.line_col(span.file, span.start);
        format!("{}:{line}:{col}", self.path(span))
    }

    /// `path:line` of a span: the `source` of model objects.
    fn source(&self, span: Span) -> String {
        let (line, _) = self.sources.line_col(span.file, span.start);
        format!("{}:{line}", self.path(span))
    }

    fn path(&self, span: Span) -> &str {
        self.sources
            .file(span.file)
            .map(|f| f.path.as_str())
            .unwrap_or("<unknown>")
    }

    fn duplicate(&mut self, code: &'static str, what: &str, name: &str, at: Span, first: Span) {
        let note = format!("first declared at {}", self.location(first));
        self.diags.push(
            Diagnostic::error(code, format!("{what} {name} is declared twice"), at)
                .with_expected(format!("a {what} name not used by another {what}"))
                .with_note(note),
        );
    }

    fn collect<'a>(&mut self, files: &'a [ast::File]) -> Decls<'a> {
        let mut d = Decls {
            programs: BTreeMap::new(),
            chains: BTreeMap::new(),
            jobs: BTreeMap::new(),
            groups: BTreeMap::new(),
            notifies: BTreeMap::new(),
            schedules: BTreeMap::new(),
            duplicate_chains: Vec::new(),
            duplicate_programs: Vec::new(),
            step_owners: HashMap::new(),
        };
        for item in files.iter().flat_map(|f| f.items.iter()) {
            match item {
                ast::Item::Program(p) => match d.programs.get(&p.name.name) {
                    Some(first) => {
                        let first = first.name.span;
                        self.duplicate(
                            "duplicate-program",
                            "program",
                            &p.name.name,
                            p.name.span,
                            first,
                        );
                        d.duplicate_programs.push(p);
                    }
                    None => {
                        d.programs.insert(p.name.name.clone(), p);
                    }
                },
                ast::Item::Chain(c) => match d.chains.get(&c.name.name) {
                    Some(first) => {
                        let first = first.name.span;
                        self.duplicate(
                            "duplicate-chain",
                            "chain",
                            &c.name.name,
                            c.name.span,
                            first,
                        );
                        d.duplicate_chains.push(c);
                    }
                    None => {
                        d.chains.insert(c.name.name.clone(), c);
                    }
                },
                ast::Item::Job(j) => match d.jobs.get(&j.name.name) {
                    Some(first) => {
                        let first = first.name.span;
                        self.duplicate("duplicate-job", "job", &j.name.name, j.name.span, first);
                    }
                    None => {
                        d.jobs.insert(j.name.name.clone(), j);
                    }
                },
                ast::Item::Notify(n) => match d.notifies.get(&n.name.name) {
                    Some(first) => {
                        let first = first.name.span;
                        self.duplicate(
                            "duplicate-notify",
                            "notify",
                            &n.name.name,
                            n.name.span,
                            first,
                        );
                    }
                    None => {
                        d.notifies.insert(n.name.name.clone(), n);
                    }
                },
                ast::Item::Schedule(sd) => match d.schedules.get(&sd.name.name) {
                    Some(first) => {
                        let first = first.name.span;
                        self.duplicate(
                            "duplicate-schedule",
                            "schedule",
                            &sd.name.name,
                            sd.name.span,
                            first,
                        );
                    }
                    None => {
                        d.schedules.insert(sd.name.name.clone(), sd);
                    }
                },
                ast::Item::Group(g) => {
                    let name = group_name(&g.path);
                    let span = path_span(&g.path, g.span);
                    match d.groups.get(&name) {
                        Some(first) => {
                            let first = path_span(&first.path, first.span);
                            self.duplicate("duplicate-group", "group", &name, span, first);
                        }
                        None => {
                            d.groups.insert(name, g);
                        }
                    }
                }
            }
        }
        for (chain, decl) in &d.chains {
            for s in &decl.steps {
                d.step_owners
                    .entry(s.name.name.clone())
                    .or_insert_with(|| chain.clone());
            }
        }
        d
    }

    // -------------------------------------------------------------- programs

    /// Value checks (positive timeout, `fail` code > 0, ...) are the parser's job.
    fn program(&mut self, p: &ast::ProgramDecl) -> Option<Program> {
        let kind = match &p.kind {
            ast::ProgramKind::Executable(s) => ProgramKind::Executable(s.value.clone()),
            ast::ProgramKind::Shell(s) => ProgramKind::Shell(s.value.clone()),
            ast::ProgramKind::Handler(s) => ProgramKind::Handler(s.value.clone()),
            ast::ProgramKind::Builtin(ast::Builtin::Noop) => ProgramKind::Builtin(Builtin::Noop),
            ast::ProgramKind::Builtin(ast::Builtin::Sleep(d)) => {
                ProgramKind::Builtin(Builtin::Sleep(d.millis))
            }
            ast::ProgramKind::Builtin(ast::Builtin::Fail(code)) => {
                ProgramKind::Builtin(Builtin::Fail(*code))
            }
        };
        Some(Program {
            name: p.name.name.clone(),
            kind,
            arguments: p.arguments.iter().map(|a| a.value.clone()).collect(),
            environment: p
                .environment
                .iter()
                .map(|(k, v)| (k.clone(), v.value.clone()))
                .collect(),
            working_directory: p.working_directory.as_ref().map(|w| w.value.clone()),
            timeout: p.timeout.map(|t| t.millis),
            sets: p.sets.iter().map(|v| v.name.clone()).collect(),
            source: self.source(p.name.span),
        })
    }

    // -------------------------------------------------------------- chains

    fn chain(&mut self, c: &ast::ChainDecl, decls: &Decls) -> (Chain, ChainSpans) {
        let chain_name = c.name.name.as_str();
        let mut steps: Vec<Step> = Vec::new();
        let mut spans = ChainSpans {
            name: c.name.span,
            ..ChainSpans::default()
        };
        let mut first_step: HashMap<&str, Span> = HashMap::new();
        for s in &c.steps {
            if let Some(first) = first_step.get(s.name.name.as_str()) {
                let note = format!("first declared at {}", self.location(*first));
                self.diags.push(
                    Diagnostic::error(
                        "duplicate-step",
                        format!(
                            "step {} is declared twice in chain {chain_name}",
                            s.name.name
                        ),
                        s.name.span,
                    )
                    .with_expected(format!(
                        "a step name not used by another step of chain {chain_name}"
                    ))
                    .with_note(note),
                );
                continue;
            }
            first_step.insert(s.name.name.as_str(), s.name.span);
            let kind = self.step_target(s, chain_name, decls);
            let attrs = self.step_attrs(&s.attrs);
            steps.push(Step {
                name: s.name.name.clone(),
                kind,
                attrs,
            });
            spans.steps.push(s.name.span);
        }

        let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
        let scope = StepScope::new(chain_name, &names, Some(&decls.step_owners));
        let mut rules = Vec::new();
        let mut first_rule: HashMap<String, (Span, bool)> = HashMap::new();
        for (i, rd) in c.rules.iter().enumerate() {
            let position = i + 1;
            let (name, name_span, written) = match &rd.name {
                Some(n) => (n.name.clone(), n.span, true),
                None => (format!("RULE${position}"), rd.span, false),
            };
            if let Some((first, first_written)) = first_rule.get(&name) {
                let mut d = Diagnostic::error(
                    "duplicate-rule",
                    format!("rule {name} is declared twice in chain {chain_name}"),
                    name_span,
                )
                .with_expected(format!(
                    "a rule name not used by another rule of chain {chain_name}"
                ))
                .with_note(format!("first declared at {}", self.location(*first)));
                if !written || !first_written {
                    d = d.with_note(
                        "an unnamed rule is named RULE$N, N being its position in the chain",
                    );
                }
                self.diags.push(d);
            } else {
                first_rule.insert(name.clone(), (name_span, written));
            }
            let mut leaves = Vec::new();
            let condition = resolve_cond(&rd.condition, &scope, &mut self.diags, &mut leaves);
            let action = resolve_action(&rd.action, &scope, &mut self.diags);
            let cond_span = if rd.condition_span == Span::default() {
                match (leaves.first(), leaves.last()) {
                    (Some(a), Some(b)) => Span::new(a.file, a.start, b.end),
                    _ => rd.span,
                }
            } else {
                rd.condition_span
            };
            spans.rules.push(RuleSpans {
                rule: rd.span,
                name: rd.name.as_ref().map(|n| n.span),
                condition: cond_span,
                leaves,
            });
            if let (Some(condition), Some(action)) = (condition, action) {
                rules.push(Rule {
                    name,
                    position,
                    condition,
                    action,
                    comment: rd.comment.as_ref().map(|c| c.value.clone()),
                    condition_text: rd.condition_text.clone(),
                    action_text: rd.action_text.clone(),
                });
            }
        }
        let chain = Chain {
            name: chain_name.to_string(),
            comment: c.comment.as_ref().map(|s| s.value.clone()),
            evaluation_interval: c.evaluation_interval.map(|d| d.millis),
            steps,
            rules,
            source: self.source(c.name.span),
        };
        (chain, spans)
    }

    fn step_target(&mut self, s: &ast::StepDecl, chain: &str, decls: &Decls) -> StepTarget {
        match &s.kind {
            ast::StepKind::Program(p) => {
                if self.complete && !decls.programs.contains_key(&p.name) {
                    let near = nearest_name(&p.name, decls.programs.keys().map(|k| k.as_str()));
                    self.diags.push(
                        Diagnostic::error(
                            "unknown-program",
                            format!(
                                "unknown program {} (step {} of chain {chain})",
                                p.name, s.name.name
                            ),
                            p.span,
                        )
                        .with_expected("a program declared with `program NAME { ... }`")
                        .with_suggestion(near),
                    );
                }
                StepTarget::Program(p.name.clone())
            }
            ast::StepKind::Chain(n) => {
                if self.complete && !decls.chains.contains_key(&n.name) {
                    let near = nearest_name(&n.name, decls.chains.keys().map(|k| k.as_str()));
                    self.diags.push(
                        Diagnostic::error(
                            "unknown-chain",
                            format!(
                                "unknown chain {} (nested chain of step {} of chain {chain})",
                                n.name, s.name.name
                            ),
                            n.span,
                        )
                        .with_expected("a chain declared with `chain NAME { ... }`")
                        .with_suggestion(near),
                    );
                }
                StepTarget::Chain(n.name.clone())
            }
            ast::StepKind::Event {
                event,
                condition,
                condition_text,
            } => StepTarget::Event {
                name: event.name.clone(),
                condition: condition.clone(),
                condition_text: condition_text.clone(),
            },
        }
    }

    fn step_attrs(&mut self, a: &ast::StepAttrs) -> StepAttributes {
        let restart_on_failure = a.restart_on_failure.as_ref().map(|p| self.retry_policy(p));
        StepAttributes {
            skip: a.skip,
            pause: a.pause,
            pause_before: a.pause_before,
            restart_on_recovery: a.restart_on_recovery,
            restart_on_failure,
            timeout: a.timeout,
        }
    }

    /// A written policy; fields left out come from the Oracle policy.
    fn retry_policy(&mut self, p: &ast::RetryPolicyLit) -> RetryPolicy {
        let mut policy = RetryPolicy::oracle();
        if let Some(n) = p.retries {
            match u32::try_from(n) {
                Ok(n) => policy.retries = n,
                Err(_) => self.diags.push(
                    Diagnostic::error(
                        "bad-value",
                        format!("retries must be between 0 and {}, not {n}", u32::MAX),
                        p.span,
                    )
                    .with_expected("a number of retries, e.g. `retries 3`"),
                ),
            }
        }
        if let Some(d) = p.delay {
            policy.delay = d.millis;
        }
        // The parser has checked that backoff is a positive number.
        if let Some(b) = p.backoff {
            policy.backoff = b;
        }
        policy
    }

    // -------------------------------------------------------------- jobs and groups

    fn group(&mut self, g: &ast::GroupDecl) -> Option<GroupDef> {
        let name = group_name(&g.path);
        let max_running = match g.max_running {
            None => None,
            Some(n) => match u32::try_from(n) {
                Ok(n) => Some(n),
                _ => {
                    self.diags.push(
                        Diagnostic::error(
                            "bad-value",
                            format!(
                                "max_running of group {name} must be between 0 and {}, not {n}",
                                u32::MAX
                            ),
                            g.span,
                        )
                        .with_expected(
                            "a number of running chain jobs, e.g. `max_running 4;` (0 holds the group's jobs ENQUEUED)",
                        ),
                    );
                    return None;
                }
            },
        };
        Some(GroupDef {
            name,
            max_running,
            source: self.source(path_span(&g.path, g.span)),
        })
    }

    fn job(&mut self, j: &ast::JobDecl, decls: &Decls) -> Option<JobDef> {
        let before = self.error_count();
        let job = j.name.name.as_str();
        match &j.chain {
            None => self.diags.push(
                Diagnostic::error(
                    "job-without-chain",
                    format!("job {job} names no chain"),
                    j.name.span,
                )
                .with_expected("`chain NAME;` inside the job"),
            ),
            Some(c) if self.complete && !decls.chains.contains_key(&c.name) => {
                let near = nearest_name(&c.name, decls.chains.keys().map(|k| k.as_str()));
                self.diags.push(
                    Diagnostic::error(
                        "unknown-chain",
                        format!("unknown chain {} in job {job}", c.name),
                        c.span,
                    )
                    .with_expected("a chain declared with `chain NAME { ... }`")
                    .with_suggestion(near),
                );
            }
            Some(_) => {}
        }
        let group = j.group.as_ref().map(|path| group_name(path));
        if let (Some(name), Some(path)) = (&group, &j.group) {
            if self.complete && !decls.groups.contains_key(name) {
                let near = nearest_name(name, decls.groups.keys().map(|k| k.as_str()));
                self.diags.push(
                    Diagnostic::error(
                        "unknown-group",
                        format!("unknown group {name} in job {job}"),
                        path_span(path, j.span),
                    )
                    .with_expected("a group declared with `group NAME { ... }`")
                    .with_suggestion(near),
                );
            }
        }
        let attr = |l: &Option<ast::StringLit>| l.as_ref().map(|l| l.value.clone());
        let (tz, start, end) = (attr(&j.time_zone), attr(&j.start_date), attr(&j.end_date));
        let mut timing: Result<(), ()> = Ok(());
        for (lit, what) in [
            (&j.time_zone, "time_zone"),
            (&j.start_date, "start_date"),
            (&j.end_date, "end_date"),
        ] {
            let Some(lit) = lit else { continue };
            let t = match what {
                "time_zone" => crate::schedule::zone::Timing::new(tz.as_deref(), None, None),
                "start_date" => {
                    crate::schedule::zone::Timing::new(tz.as_deref(), start.as_deref(), None)
                }
                _ => crate::schedule::zone::Timing::new(
                    tz.as_deref(),
                    start.as_deref(),
                    end.as_deref(),
                ),
            };
            if let Err(e) = t {
                if timing.is_ok() {
                    self.diags.push(
                        Diagnostic::error("bad-attribute", format!("`{what}` of job {job}: {e}"), lit.span)
                            .with_expected(match what {
                                "time_zone" => "an IANA time-zone name such as 'Europe/Paris', 'UTC' or an offset such as '+02:00'",
                                _ => "a local date and time 'YYYY-MM-DD [HH:MI[:SS]]' after the start date",
                            }),
                    );
                }
                timing = Err(());
            }
        }
        let timing = timing.and_then(|_| {
            crate::schedule::zone::Timing::new(tz.as_deref(), start.as_deref(), end.as_deref())
                .map_err(|_| ())
        });
        // Normalised as written back (`2026-03-01 09:00:00`).
        let norm = |v: &Option<String>| {
            v.as_deref()
                .and_then(|v| crate::schedule::zone::local_datetime(v).ok())
                .map(|dt| dt.strftime("%Y-%m-%d %H:%M:%S").to_string())
        };
        if let (Some(lit), Some(ev)) = (&j.schedule, &j.on_event) {
            self.diags.push(
                Diagnostic::error(
                    "bad-attribute",
                    format!("job {job} has both a schedule and `on event {}`", ev.name.name),
                    lit.span,
                )
                .with_expected("either `schedule '...'` (time-based) or `on event NAME` (event-based), as Oracle's jobs"),
            );
        }
        if let (Some(lit), Ok(timing)) = (&j.schedule, timing) {
            let named = |n: &str| decls.schedules.get(n).map(|s| s.text.value.clone());
            if let Some(d) =
                crate::schedule::diagnostic::check_job_schedule(job, lit, timing, &named)
            {
                self.diags.push(d);
            }
        }
        // Duplicate parameters and durations are rejected by the parser.
        let parameters: BTreeMap<String, String> = j
            .parameters
            .iter()
            .map(|(k, v)| (k.name.to_uppercase(), v.value.clone()))
            .collect();
        if self.error_count() > before {
            return None;
        }
        Some(JobDef {
            name: job.to_string(),
            chain: j.chain.as_ref().map(|c| c.name.clone()),
            group,
            schedule: j.schedule.as_ref().map(|s| s.value.clone()),
            parameters,
            serialize_by: j.serialize_by.as_ref().map(|s| s.name.to_uppercase()),
            serialize_refuse: j.serialize_refuse,
            restartable: j.restartable,
            max_run_duration: j.max_run_duration.map(|d| d.millis),
            source: self.source(j.name.span),
            start_date: norm(&start),
            end_date: norm(&end),
            time_zone: tz,
            enabled: j.enabled.unwrap_or(true),
            max_runs: j.max_runs.map(|n| n as u64),
            max_failures: j.max_failures.map(|n| n as u64),
            comment: j.comment.as_ref().map(|c| c.value.clone()),
            on_event: j.on_event.as_ref().map(|e| EventTrigger {
                event: e.name.name.clone(),
                condition: e.condition.clone(),
            }),
        })
    }

    // -------------------------------------------------------------- notifications

    /// Names in `for chain …` / `for job …` must exist (with the whole catalog).
    fn notify(&mut self, n: &ast::NotifyDecl, decls: &Decls) -> Option<NotifyDef> {
        let before = self.error_count();
        let name = n.name.name.as_str();
        if self.complete {
            for c in &n.chains {
                if !decls.chains.contains_key(&c.name) {
                    let near = nearest_name(&c.name, decls.chains.keys().map(|k| k.as_str()));
                    self.diags.push(
                        Diagnostic::error(
                            "unknown-chain",
                            format!("unknown chain {} in notify {name}", c.name),
                            c.span,
                        )
                        .with_expected("a chain declared with `chain NAME { ... }`")
                        .with_suggestion(near),
                    );
                }
            }
            for j in &n.jobs {
                if !decls.jobs.contains_key(&j.name) {
                    let near = nearest_name(&j.name, decls.jobs.keys().map(|k| k.as_str()));
                    self.diags.push(
                        Diagnostic::error(
                            "unknown-job",
                            format!("unknown job definition {} in notify {name}", j.name),
                            j.span,
                        )
                        .with_expected("a job declared with `job NAME { ... }`")
                        .with_suggestion(near),
                    );
                }
            }
        }
        if self.error_count() > before {
            return None;
        }
        Some(NotifyDef {
            name: name.to_string(),
            on: n.on.iter().map(|(o, _)| *o).collect(),
            chains: n.chains.iter().map(|c| c.name.clone()).collect(),
            jobs: n.jobs.iter().map(|j| j.name.clone()).collect(),
            webhook: n.webhook.as_ref().map(|w| w.value.clone()),
            command: n
                .command
                .as_ref()
                .map(|c| c.iter().map(|w| w.value.clone()).collect()),
            retries: n
                .retries
                .map_or(NotifyDef::DEFAULT_RETRIES, |r| r.clamp(0, 100) as u32),
            delay: n.delay.map_or(NotifyDef::DEFAULT_DELAY, |d| d.millis),
            source: self.source(n.name.span),
        })
    }

    // -------------------------------------------------------------- nested chains

    /// A chain may not contain itself, directly or through other nested chains.
    fn nesting(&mut self, decls: &Decls) {
        let mut edges = Vec::new();
        for (name, c) in &decls.chains {
            for s in &c.steps {
                if let ast::StepKind::Chain(n) = &s.kind {
                    if decls.chains.contains_key(&n.name) {
                        edges.push((name.clone(), n.name.clone(), s.name.span));
                    }
                }
            }
        }
        for cycle in NestingGraph::from_links(edges).cycles() {
            let path = cycle
                .iter()
                .map(|(c, _)| c.as_str())
                .chain(cycle.first().map(|(c, _)| c.as_str()));
            let loop_text = path.collect::<Vec<_>>().join(" -> ");
            let (first_chain, span) = &cycle[0];
            self.diags.push(
                Diagnostic::error(
                    "nested-chain-cycle",
                    format!("chain {first_chain} contains itself through nested chains"),
                    *span,
                )
                .with_expected("a nested chain that does not lead back to this chain")
                .with_note(format!("the loop: {loop_text}")),
            );
        }
    }
}

// ------------------------------------------------------------------ steps in rules

/// The steps a rule may name: those of its own chain.
struct StepScope<'a> {
    chain: &'a str,
    names: &'a [&'a str],
    index: HashMap<&'a str, StepIdx>,
    /// Step name → a chain that declares it (for "a step of another chain").
    owners: Option<&'a HashMap<String, String>>,
}

impl<'a> StepScope<'a> {
    fn new(
        chain: &'a str,
        names: &'a [&'a str],
        owners: Option<&'a HashMap<String, String>>,
    ) -> Self {
        let mut index = HashMap::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            index.entry(*n).or_insert(i);
        }
        StepScope {
            chain,
            names,
            index,
            owners,
        }
    }

    fn lookup(&self, ident: &ast::Ident, diags: &mut Vec<Diagnostic>) -> Option<StepIdx> {
        if let Some(i) = self.index.get(ident.name.as_str()) {
            return Some(*i);
        }
        let chain = self.chain;
        let expected = format!("a step of chain {chain}");
        let other = self
            .owners
            .and_then(|o| o.get(&ident.name))
            .filter(|c| c.as_str() != chain);
        let d = match other {
            Some(owner) => Diagnostic::error(
                "foreign-step",
                format!(
                    "step {} belongs to chain {owner}, not to chain {chain}",
                    ident.name
                ),
                ident.span,
            )
            .with_expected(expected)
            .with_note(format!(
                "a rule can only name steps of its own chain; to wait for chain {owner}, nest it: \
                 `step NAME chain {owner};`"
            )),
            None => Diagnostic::error(
                "unknown-step",
                format!("unknown step {} in chain {chain}", ident.name),
                ident.span,
            )
            .with_expected(expected)
            .with_suggestion(nearest_name(&ident.name, self.names.iter().copied())),
        };
        diags.push(d);
        None
    }
}

fn resolve_cond(
    c: &ast::Cond,
    scope: &StepScope,
    diags: &mut Vec<Diagnostic>,
    leaves: &mut Vec<Span>,
) -> Option<Condition> {
    match c {
        ast::Cond::Const(b, span) => {
            leaves.push(*span);
            Some(Condition::Const(*b))
        }
        ast::Cond::StepState {
            step,
            negated,
            test,
            span,
        } => {
            leaves.push(*span);
            let step = scope.lookup(step, diags)?;
            Some(Condition::StepState {
                step,
                negated: *negated,
                test: *test,
            })
        }
        ast::Cond::ErrorCodeIn {
            step,
            negated,
            codes,
            span,
        } => {
            leaves.push(*span);
            let step = scope.lookup(step, diags)?;
            Some(Condition::ErrorCodeIn {
                step,
                negated: *negated,
                codes: codes.clone(),
            })
        }
        ast::Cond::ErrorCodeCmp {
            step,
            op,
            value,
            span,
        } => {
            leaves.push(*span);
            let step = scope.lookup(step, diags)?;
            Some(Condition::ErrorCodeCmp {
                step,
                op: *op,
                value: *value,
            })
        }
        ast::Cond::Sql(pred) => resolve_sql(pred, scope, diags, leaves),
        ast::Cond::And(a, b) => {
            let a = resolve_cond(a, scope, diags, leaves);
            let b = resolve_cond(b, scope, diags, leaves);
            Some(Condition::And(Box::new(a?), Box::new(b?)))
        }
        ast::Cond::Or(a, b) => {
            let a = resolve_cond(a, scope, diags, leaves);
            let b = resolve_cond(b, scope, diags, leaves);
            Some(Condition::Or(Box::new(a?), Box::new(b?)))
        }
        ast::Cond::Not(a, _) => Some(Condition::Not(Box::new(resolve_cond(
            a, scope, diags, leaves,
        )?))),
    }
}

fn resolve_sql(
    p: &ast::SqlPred,
    scope: &StepScope,
    diags: &mut Vec<Diagnostic>,
    leaves: &mut Vec<Span>,
) -> Option<Condition> {
    let mut op = |o: &ast::SqlExpr| resolve_operand(o, scope, diags);
    match p {
        ast::SqlPred::Compare {
            left,
            op: cmp,
            right,
            span,
        } => {
            leaves.push(*span);
            let l = op(left);
            let r = op(right);
            Some(Condition::SqlCompare {
                left: l?,
                op: *cmp,
                right: r?,
            })
        }
        ast::SqlPred::In {
            left,
            negated,
            list,
            span,
        } => {
            leaves.push(*span);
            let l = op(left);
            let list: Vec<Option<Operand>> = list.iter().map(&mut op).collect();
            let list: Option<Vec<Operand>> = list.into_iter().collect();
            Some(Condition::SqlIn {
                left: l?,
                negated: *negated,
                list: list?,
            })
        }
        ast::SqlPred::IsNull {
            operand,
            negated,
            span,
        } => {
            leaves.push(*span);
            Some(Condition::SqlIsNull {
                operand: op(operand)?,
                negated: *negated,
            })
        }
        ast::SqlPred::Like {
            value,
            negated,
            pattern,
            escape,
            span,
        } => {
            leaves.push(*span);
            let v = op(value);
            let p = op(pattern);
            let e = escape.as_deref().map(&mut op);
            Some(Condition::SqlLike(Box::new(LikePred {
                value: v?,
                negated: *negated,
                pattern: p?,
                escape: match e {
                    Some(e) => Some(e?),
                    None => None,
                },
            })))
        }
        ast::SqlPred::Between {
            value,
            negated,
            low,
            high,
            span,
        } => {
            leaves.push(*span);
            let v = op(value);
            let l = op(low);
            let h = op(high);
            Some(Condition::SqlBetween(Box::new(BetweenPred {
                value: v?,
                negated: *negated,
                low: l?,
                high: h?,
            })))
        }
    }
}

/// A value with its step names resolved. A searched CASE's conditions are resolved too; their
/// predicates are not leaves of the rule (they are inside a value).
fn resolve_operand(
    o: &ast::SqlExpr,
    scope: &StepScope,
    diags: &mut Vec<Diagnostic>,
) -> Option<Operand> {
    let boxed = |o: &ast::SqlExpr, diags: &mut Vec<Diagnostic>| {
        resolve_operand(o, scope, diags).map(Box::new)
    };
    Some(match o {
        ast::SqlExpr::Attr { step, attr, .. } => Operand::Attr {
            step: scope.lookup(step, diags)?,
            attr: *attr,
        },
        ast::SqlExpr::Var { name, .. } => Operand::Var(name.clone()),
        ast::SqlExpr::Str(s) => Operand::Str(s.value.clone()),
        ast::SqlExpr::Num(n, _) => Operand::Num(*n),
        ast::SqlExpr::Dec(d, _) => Operand::Number(*d),
        ast::SqlExpr::Null(_) => Operand::Null,
        ast::SqlExpr::Interval(ms, _) => Operand::Interval(*ms),
        ast::SqlExpr::DateLit { ms, timestamp, .. } => Operand::DateLit {
            ms: *ms,
            timestamp: *timestamp,
        },
        ast::SqlExpr::Clock(c, _) => Operand::Clock(*c),
        ast::SqlExpr::Neg(x, _) => Operand::Neg(boxed(x, diags)?),
        ast::SqlExpr::Binary {
            op, left, right, ..
        } => {
            let l = boxed(left, diags);
            let r = boxed(right, diags);
            Operand::Binary {
                op: *op,
                left: l?,
                right: r?,
            }
        }
        ast::SqlExpr::Call { func, args, .. } => {
            let args: Vec<Option<Operand>> = args
                .iter()
                .map(|a| resolve_operand(a, scope, diags))
                .collect();
            Operand::Call {
                func: *func,
                args: args.into_iter().collect::<Option<Vec<_>>>()?,
            }
        }
        ast::SqlExpr::Case {
            subject,
            arms,
            otherwise,
            ..
        } => {
            let subject = subject.as_ref().map(|s| resolve_operand(s, scope, diags));
            let mut ok = true;
            let mut out = Vec::with_capacity(arms.len());
            for arm in arms {
                let when = match &arm.when {
                    ast::CaseWhen::Cond(c) => {
                        resolve_cond(c, scope, diags, &mut Vec::new()).map(CaseWhen::Cond)
                    }
                    ast::CaseWhen::Value(v) => {
                        resolve_operand(v, scope, diags).map(CaseWhen::Value)
                    }
                };
                let then = resolve_operand(&arm.then, scope, diags);
                match (when, then) {
                    (Some(when), Some(then)) => out.push(CaseArm { when, then }),
                    _ => ok = false,
                }
            }
            let otherwise = otherwise.as_ref().map(|e| resolve_operand(e, scope, diags));
            if !ok {
                return None;
            }
            Operand::Case(Box::new(CaseExpr {
                subject: match subject {
                    Some(s) => Some(s?),
                    None => None,
                },
                arms: out,
                otherwise: match otherwise {
                    Some(e) => Some(e?),
                    None => None,
                },
            }))
        }
    })
}

fn resolve_steps(
    steps: &[ast::Ident],
    scope: &StepScope,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<StepIdx>> {
    let resolved: Vec<Option<StepIdx>> = steps.iter().map(|s| scope.lookup(s, diags)).collect();
    resolved.into_iter().collect()
}

fn resolve_action(
    a: &ast::Action,
    scope: &StepScope,
    diags: &mut Vec<Diagnostic>,
) -> Option<RuleAction> {
    match a {
        ast::Action::Start { after, steps, .. } => Some(RuleAction::Start {
            after: after.map(|d| d.millis),
            steps: resolve_steps(steps, scope, diags)?,
        }),
        ast::Action::Stop { steps, .. } => Some(RuleAction::Stop {
            steps: resolve_steps(steps, scope, diags)?,
        }),
        ast::Action::End { value, .. } => Some(RuleAction::End(match value {
            ast::EndValue::Default => EndAction::Code(0),
            ast::EndValue::Code(n) => EndAction::Code(*n),
            ast::EndValue::StepErrorCode(s) => EndAction::StepErrorCode(scope.lookup(s, diags)?),
        })),
    }
}
