//! Statements → [`Model`]: what each DBMS_SCHEDULER procedure means in a rule file.
//!
//! The calls are replayed in script order, as Oracle would run them (a later
//! DEFINE_CHAIN_RULE with the same rule name replaces the rule, DROP_* removes the object).
//! Whatever cannot be translated exactly becomes a warning attached to the object it concerns.
//! Errors Oracle raises while running a call are replayed too: creating an object that already
//! exists (ORA-27477) keeps the first and, as in Oracle, ends the statement (block or EXEC
//! line) it is in; a call on a chain the script never created (ORA-27476 in a schema without
//! it) is ignored with a warning, since the chain may exist in the database the script was
//! written for. The decisions are documented in docs/import-oracle.md. One submodule per kind
//! of object: [`programs`], [`chains`], [`jobs`]; this file holds the argument helpers, the
//! dispatch, DROP_* and the final pass.

mod chains;
mod jobs;
mod programs;

use super::calls::{Item, Unit};
use super::model::*;
use super::procs::{bind, Bound};
use super::value::Value;
use crate::lang::diagnostic::Diagnostic;
use crate::lang::span::{SourceMap, Span};

/// The model, and the warnings for stderr (with their spans).
pub struct Translated {
    pub model: Model,
    pub warnings: Vec<Diagnostic>,
}

/// An error Oracle raises while running a call, which ends the statement it is in.
pub(super) struct Fatal {
    anchor: Anchor,
    span: Span,
    text: String,
}

/// Translate the statements of a script. Calls that do not bind (misspelt parameters...) are
/// the caller's errors; here they are skipped.
pub fn translate(units: &[Unit], sources: &SourceMap) -> Translated {
    let mut t = Translator {
        sources,
        model: Model::default(),
        warnings: Vec::new(),
        next_rule_id: 1,
        ignored: Vec::new(),
    };
    for u in units {
        // An error Oracle raises (ORA-27477) ends the statement, or, inside a block with an
        // EXCEPTION handler, that block: the calls up to `limit` do not run.
        let mut stop: Option<Stop> = None;
        for item in &u.items {
            let (start, end) = match item {
                Item::Call(c) => (c.start, c.end),
                Item::Ignored { start, end, .. } | Item::Note { start, end, .. } => (*start, *end),
            };
            if let Some(s) = &mut stop {
                if start < s.limit {
                    if matches!(item, Item::Call(_)) {
                        s.not_run.push(Span::new(0, start, end));
                    }
                    continue;
                }
                if let Some(s) = stop.take() {
                    t.stopped(s);
                }
            }
            match item {
                Item::Call(call) => match bind(call) {
                    Ok(Some(b)) => {
                        if let Err(fatal) = t.call(&b) {
                            let guard = u
                                .guards
                                .iter()
                                .filter(|(s, e)| *s <= call.start && call.end <= *e)
                                .min_by_key(|(s, e)| e - s)
                                .copied();
                            stop = Some(Stop {
                                fatal,
                                limit: guard.map_or(usize::MAX, |g| g.1),
                                guard,
                                not_run: Vec::new(),
                            });
                        }
                    }
                    Ok(None) => t.warn(
                        Anchor::File,
                        Span::new(0, call.start, call.end),
                        format!("unknown procedure DBMS_SCHEDULER.{} ignored", call.proc),
                    ),
                    Err(_) => {}
                },
                Item::Ignored { summary, .. } => {
                    t.ignored.push((Span::new(0, start, end), summary.clone()))
                }
                Item::Note { text, .. } => {
                    t.warn(Anchor::File, Span::new(0, start, end), text.clone())
                }
            }
        }
        if let Some(s) = stop {
            t.stopped(s);
        }
    }
    t.sum_up_ignored();
    t.finish();
    Translated {
        model: t.model,
        warnings: t.warnings,
    }
}

/// A call that failed in Oracle, and what it stops.
struct Stop {
    fatal: Fatal,
    /// The calls before this offset do not run.
    limit: usize,
    /// The block whose EXCEPTION handler catches the error, if any.
    guard: Option<(usize, usize)>,
    not_run: Vec<Span>,
}

struct Translator<'a> {
    sources: &'a SourceMap,
    model: Model,
    warnings: Vec<Diagnostic>,
    next_rule_id: usize,
    /// Statements that call no DBMS_SCHEDULER procedure, summed up in one warning.
    ignored: Vec<(Span, String)>,
}

impl Translator<'_> {
    fn line(&self, span: Span) -> usize {
        self.sources.line_col(0, span.start).0
    }

    /// The warning for a call that failed in Oracle, with what it stopped.
    fn stopped(&mut self, s: Stop) {
        let mut text = s.fatal.text;
        if !s.not_run.is_empty() {
            let lines: Vec<String> = s
                .not_run
                .iter()
                .map(|x| self.line(*x).to_string())
                .collect();
            let calls = if s.not_run.len() == 1 {
                format!("call after it (line {})", lines.join(", "))
            } else {
                format!(
                    "{} calls after it (lines {})",
                    s.not_run.len(),
                    lines.join(", ")
                )
            };
            let verb = if s.not_run.len() == 1 { "is" } else { "are" };
            let how = match s.guard {
                Some((b, _)) => format!(
                    "the EXCEPTION handler of the block that begins on line {} catches the error, so the {calls} in that block {verb} not imported either",
                    self.line(Span::new(0, b, b))
                ),
                None => format!("Oracle also stops the statement there, so the {calls} {verb} not imported either"),
            };
            text.push_str(&format!("; {how}"));
        }
        self.warn(s.fatal.anchor, s.fatal.span, text);
    }

    fn warn(&mut self, anchor: Anchor, span: Span, text: String) {
        let line = self.line(span);
        self.model.notes.push(Note {
            anchor,
            line,
            text: text.replace(['\n', '\r'], " "),
        });
        self.warnings
            .push(Diagnostic::warning("import-oracle", text, span));
    }

    /// An optional argument as text: None when absent or NULL; an expression the importer
    /// cannot read is ignored with a warning.
    fn text(&mut self, b: &Bound, param: &str, anchor: &Anchor) -> Option<String> {
        let (v, span) = b.get(param)?.clone();
        match v {
            Value::Str(s) => Some(s),
            Value::Num(n) => Some(n),
            other => {
                self.warn(
                    anchor.clone(),
                    span,
                    format!(
                        "{}: `{param}` is {}, not a literal; this argument is ignored",
                        b.proc,
                        other.describe()
                    ),
                );
                None
            }
        }
    }

    /// An argument the call cannot do without (a name, a type, an action, a condition): when
    /// it is missing, NULL or not a literal, the whole call is ignored, with a warning.
    fn required(&mut self, b: &Bound, param: &str, anchor: &Anchor) -> Option<String> {
        let why = match b.args.get(param).cloned() {
            Some((Value::Str(s), _)) => return Some(s),
            Some((Value::Num(n), _)) => return Some(n),
            None => format!("{}: `{param}` is not given; the call is ignored", b.proc),
            Some((Value::Null, _)) => format!(
                "{}: `{param}` is NULL, which Oracle refuses (the call fails); the call is ignored",
                b.proc
            ),
            Some((other, _)) => format!(
                "{}: `{param}` is {}, not a literal the importer can read; the call is ignored",
                b.proc,
                other.describe()
            ),
        };
        let span = b.args.get(param).map_or(b.span, |(_, s)| *s);
        self.warn(anchor.clone(), span, why);
        None
    }

    /// A required name argument, normalised as Oracle stores it.
    fn name(&mut self, b: &Bound, param: &str) -> Option<String> {
        self.required(b, param, &Anchor::File)
            .map(|s| oracle_name(&s))
            .filter(|n| !n.is_empty())
    }

    /// An optional name argument.
    fn opt_name(&mut self, b: &Bound, param: &str, anchor: &Anchor) -> Option<String> {
        self.text(b, param, anchor)
            .map(|s| oracle_name(&s))
            .filter(|n| !n.is_empty())
    }

    fn bool_arg(&mut self, b: &Bound, param: &str, anchor: &Anchor) -> Option<bool> {
        let (v, span) = b.get(param)?.clone();
        match &v {
            Value::Bool(x) => Some(*x),
            Value::Str(s) if s.eq_ignore_ascii_case("TRUE") => Some(true),
            Value::Str(s) if s.eq_ignore_ascii_case("FALSE") => Some(false),
            other => {
                self.warn(
                    anchor.clone(),
                    span,
                    format!(
                        "{}: `{param}` is {}, not TRUE or FALSE; it is ignored",
                        b.proc,
                        other.describe()
                    ),
                );
                None
            }
        }
    }

    fn interval_arg(&mut self, b: &Bound, param: &str, anchor: &Anchor) -> Option<u64> {
        let (v, span) = b.get(param)?.clone();
        match v {
            Value::Interval(ms) if ms > 0 => Some(ms),
            other => {
                self.warn(
                    anchor.clone(),
                    span,
                    format!(
                        "{}: `{param}` is {}, not a positive INTERVAL literal; it is ignored",
                        b.proc,
                        other.describe()
                    ),
                );
                None
            }
        }
    }

    /// The scheduler object named `name` the script created, if any: its kind and anchor.
    fn existing(&self, name: &str) -> Option<(&'static str, Anchor, Span)> {
        let m = &self.model;
        if let Some(p) = m.programs.iter().find(|p| p.name == name) {
            return Some(("program", Anchor::Program(p.name.clone()), p.span));
        }
        if let Some(c) = m.chains.iter().find(|c| c.name == name) {
            return Some(("chain", Anchor::Chain(c.name.clone()), c.span));
        }
        if let Some(j) = m.jobs.iter().find(|j| j.name == name) {
            return Some(("job", Anchor::Job(j.name.clone()), j.span));
        }
        m.schedule_spans
            .get(name)
            .map(|s| ("schedule", Anchor::File, *s))
    }

    /// Creating `name`: Oracle raises ORA-27477 when an object of that name exists (programs,
    /// chains, jobs and schedules share the schema's namespace) and keeps it.
    fn must_be_new(&mut self, b: &Bound, name: &str) -> Result<(), Fatal> {
        let Some((kind, anchor, span)) = self.existing(name) else {
            return Ok(());
        };
        Err(Fatal {
            anchor,
            span: b.span,
            text: format!(
                "DBMS_SCHEDULER.{}: {name} already exists (the {kind} created at line {}); Oracle raises ORA-27477 and keeps the first, so this call is ignored",
                b.proc,
                self.line(span)
            ),
        })
    }

    /// The chain a call adds to or changes; None (with a warning) when the script has not
    /// created it: Oracle raises ORA-27476 unless the database already has it, and the
    /// importer only knows the script.
    fn existing_chain(&mut self, b: &Bound, ignored: &str) -> Option<String> {
        let name = self.name(b, "chain_name")?;
        if self.model.chain_mut(&name).is_some() {
            return Some(name);
        }
        self.warn(
            Anchor::File,
            b.span,
            format!("DBMS_SCHEDULER.{}: chain {name} is not created by this script before this call (without it Oracle raises ORA-27476: does not exist); {ignored}", b.proc),
        );
        None
    }

    fn call(&mut self, b: &Bound) -> Result<(), Fatal> {
        match b.proc.as_str() {
            "CREATE_PROGRAM" => return self.create_program(b),
            "DEFINE_PROGRAM_ARGUMENT" | "DEFINE_ANYDATA_ARGUMENT" | "DEFINE_METADATA_ARGUMENT" => {
                self.define_program_argument(b)
            }
            "DROP_PROGRAM_ARGUMENT" => self.drop_program_argument(b),
            "CREATE_CHAIN" => return self.create_chain(b),
            "DEFINE_CHAIN_STEP" => self.define_chain_step(b),
            "DEFINE_CHAIN_EVENT_STEP" => self.define_chain_event_step(b),
            "DEFINE_CHAIN_RULE" => self.define_chain_rule(b),
            "ALTER_CHAIN" => self.alter_chain(b),
            "CREATE_JOB" => return self.create_job(b),
            "CREATE_SCHEDULE" => {
                if let Some(name) = self.name(b, "schedule_name") {
                    self.must_be_new(b, &name)?;
                    if let Some(ri) = self.required(b, "repeat_interval", &Anchor::File) {
                        self.model.schedules.insert(name.clone(), Schedule::Calendar(ri));
                        self.model.schedule_spans.insert(name, b.span);
                    }
                }
            }
            "CREATE_EVENT_SCHEDULE" => {
                if let Some(name) = self.name(b, "schedule_name") {
                    self.must_be_new(b, &name)?;
                    if let Some(condition) = self.required(b, "event_condition", &Anchor::File) {
                        let queue_spec = self.text(b, "queue_spec", &Anchor::File);
                        self.model.schedules.insert(name.clone(), Schedule::Event { condition, queue_spec });
                        self.model.schedule_spans.insert(name, b.span);
                    }
                }
            }
            "SET_JOB_ARGUMENT_VALUE" | "SET_JOB_ANYDATA_VALUE" => self.set_job_argument(b),
            "SET_ATTRIBUTE" | "SET_ATTRIBUTE_NULL" => self.set_attribute(b),
            "ENABLE" | "DISABLE" => {
                let enable = b.proc == "ENABLE";
                if let Some(list) = self.required(b, "name", &Anchor::File) {
                    for n in oracle_names(&list) {
                        if let Some(j) = self.model.job_mut(&n) {
                            j.enabled = enable;
                        }
                    }
                }
            }
            "RUN_CHAIN" | "RUN_JOB" | "STOP_JOB" | "ALTER_RUNNING_CHAIN" | "EVALUATE_RUNNING_CHAIN" => self.warn(
                Anchor::File,
                b.span,
                format!(
                    "DBMS_SCHEDULER.{} acts on a run, not on a definition; ignored (use `chainsched start`, `stop`, `alter` or `evaluate`)",
                    b.proc
                ),
            ),
            _ => self.drop(b),
        }
        Ok(())
    }

    fn drop(&mut self, b: &Bound) {
        let param = match b.proc.as_str() {
            "DROP_CHAIN" => "chain_name",
            "DROP_PROGRAM" => "program_name",
            "DROP_JOB" => "job_name",
            "DROP_SCHEDULE" => "schedule_name",
            "DROP_CHAIN_STEP" => "step_name",
            "DROP_CHAIN_RULE" => "rule_name",
            _ => return,
        };
        let Some(text) = self.required(b, param, &Anchor::File) else {
            return;
        };
        let chain = if b.proc.starts_with("DROP_CHAIN_") {
            match self.name(b, "chain_name") {
                Some(c) => Some(c),
                None => return,
            }
        } else {
            None
        };
        for n in oracle_names(&text) {
            // What the script created and now drops: said, since it is not written.
            let dropped = match b.proc.as_str() {
                "DROP_CHAIN" => {
                    take(&mut self.model.chains, |c| c.name == n).map(|c| ("chain", c.span))
                }
                "DROP_PROGRAM" => {
                    take(&mut self.model.programs, |p| p.name == n).map(|p| ("program", p.span))
                }
                "DROP_JOB" => take(&mut self.model.jobs, |j| j.name == n).map(|j| ("job", j.span)),
                "DROP_SCHEDULE" => {
                    self.model.schedules.remove(&n);
                    self.model.schedule_spans.remove(&n);
                    None
                }
                "DROP_CHAIN_STEP" => {
                    if let Some(c) = chain.as_deref().and_then(|c| self.model.chain_mut(c)) {
                        c.steps.retain(|s| s.name != n);
                    }
                    None
                }
                _ => {
                    if let Some(c) = chain.as_deref().and_then(|c| self.model.chain_mut(c)) {
                        c.rules.retain(|r| r.name.as_deref() != Some(n.as_str()));
                    }
                    None
                }
            };
            if let Some((kind, span)) = dropped {
                let created = self.line(span);
                self.warn(
                    Anchor::File,
                    b.span,
                    format!(
                        "{kind} {n}, created at line {created}, is dropped here; it is not written"
                    ),
                );
            }
        }
    }

    /// Sum up the statements that call no DBMS_SCHEDULER procedure in one warning.
    fn sum_up_ignored(&mut self) {
        let Some((first, summary)) = self.ignored.first().cloned() else {
            return;
        };
        let n = self.ignored.len();
        let mut lines: Vec<usize> = self.ignored.iter().map(|(s, _)| self.line(*s)).collect();
        lines.dedup();
        let mut list: Vec<String> = lines.iter().take(12).map(usize::to_string).collect();
        if lines.len() > 12 {
            list.push("…".to_string());
        }
        let text = if n == 1 {
            format!("a statement that calls no DBMS_SCHEDULER procedure is ignored: `{summary}`")
        } else {
            format!(
                "{n} statements that call no DBMS_SCHEDULER procedure are ignored (lines {}; the first: `{summary}`)",
                list.join(", ")
            )
        };
        self.warn(Anchor::File, first, text);
    }

    /// After the last call: resolve step targets, write program arguments, check jobs.
    fn finish(&mut self) {
        let chain_names: Vec<String> = self.model.chains.iter().map(|c| c.name.clone()).collect();
        let mut missing_programs: Vec<(String, String, String, Span)> = Vec::new();
        for c in &mut self.model.chains {
            for s in &mut c.steps {
                if let Target::Program(p) = &s.target {
                    if chain_names.contains(p) {
                        s.target = Target::Chain(p.clone());
                    } else if !self.model.programs.iter().any(|x| &x.name == p)
                        && !missing_programs.iter().any(|m| &m.0 == p)
                    {
                        missing_programs.push((p.clone(), c.name.clone(), s.name.clone(), s.span));
                    }
                }
            }
        }
        for (p, chain, step, span) in missing_programs {
            self.warn(
                Anchor::Program(p.clone()),
                span,
                format!("program {p} (step {step} of chain {chain}) is not created by this script: a placeholder `handler '{p}'` is written; replace it with the real program"),
            );
            self.model.programs.push(Program {
                name: p.clone(),
                kind: ProgramKind::Handler(p),
                number_of_arguments: 0,
                argument_defs: Default::default(),
                arguments: Vec::new(),
                comment: None,
                original_code: None,
                span,
                commented: false,
            });
        }
        let programs = std::mem::take(&mut self.model.programs);
        let mut done = Vec::new();
        for mut p in programs {
            self.program_arguments(&mut p);
            done.push(p);
        }
        self.model.programs = done;
        let jobs = std::mem::take(&mut self.model.jobs);
        for j in jobs {
            if !chain_names.contains(&j.chain) {
                self.warn(Anchor::File, j.span, format!("job {} runs chain {}, which this script does not create (or drops); the job is not written", j.name, j.chain));
                continue;
            }
            if !j.enabled {
                self.warn(Anchor::Job(j.name.clone()), j.span, format!("job {} is never enabled in the script (Oracle would not run it): written with `enabled false`; `chainsched enable {}` starts its schedule", j.name, j.name));
            }
            self.model.jobs.push(j);
        }
    }
}

/// Remove and return the first element matching `f`.
fn take<T>(v: &mut Vec<T>, f: impl Fn(&T) -> bool) -> Option<T> {
    let i = v.iter().position(f)?;
    Some(v.remove(i))
}

fn new_chain(name: &str, span: Span) -> Chain {
    Chain {
        name: name.to_string(),
        comment: None,
        evaluation_interval: None,
        steps: Vec::new(),
        rules: Vec::new(),
        span,
        commented: false,
    }
}

/// `'owner.queue, agent'` → `QUEUE`.
fn queue_name(spec: &str) -> String {
    oracle_name(spec.split(',').next().unwrap_or(""))
}

impl Translated {
    /// The rule file, after commenting out (with a warning) each object `check` refuses, so
    /// that `check` accepts what is returned. `Err`: `check` refuses something no object
    /// explains (an importer defect), reported rather than written.
    pub fn checked_output(
        &mut self,
        sources: &SourceMap,
        name: &str,
    ) -> Result<String, Box<Diagnostic>> {
        let objects = self.model.programs.len()
            + self.model.jobs.len()
            + self
                .model
                .chains
                .iter()
                .map(|c| 1 + c.steps.len() + c.rules.len())
                .sum::<usize>();
        for _ in 0..=objects {
            let (out, extents) = super::writer::write_mapped(&self.model, name);
            let loaded = crate::catalog::load_sources(&[(name.to_string(), out.clone())]);
            let errors: Vec<&Diagnostic> =
                loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
            let Some(first) = errors.first() else {
                return Ok(out);
            };
            let mut progress = false;
            for e in &errors {
                let at = e.span.start;
                let hit = extents
                    .iter()
                    .filter(|x| x.start <= at && at < x.end)
                    .min_by_key(|x| x.end - x.start);
                if let Some(x) = hit {
                    progress |= self.disable(&x.anchor, &e.message, sources);
                }
            }
            if !progress {
                return Err(Box::new(internal(first)));
            }
        }
        Err(Box::new(Diagnostic::error(
            "import-oracle",
            "internal error: the translation does not settle; please report this script",
            Span::new(0, 0, 0),
        )))
    }

    /// Comment out the object at `anchor`, with a warning saying why; false when it is
    /// already commented out.
    fn disable(&mut self, anchor: &Anchor, why: &str, sources: &SourceMap) -> bool {
        let m = &mut self.model;
        let found = match anchor {
            Anchor::File => None,
            Anchor::Program(p) => m
                .programs
                .iter_mut()
                .find(|x| &x.name == p && !x.commented)
                .map(|x| {
                    x.commented = true;
                    (format!("program {p}"), x.span)
                }),
            Anchor::Chain(c) => m
                .chains
                .iter_mut()
                .find(|x| &x.name == c && !x.commented)
                .map(|x| {
                    x.commented = true;
                    (format!("chain {c}"), x.span)
                }),
            Anchor::Step(c, s) => m
                .chains
                .iter_mut()
                .filter(|x| &x.name == c)
                .flat_map(|x| x.steps.iter_mut())
                .find(|x| &x.name == s && !x.commented)
                .map(|x| {
                    x.commented = true;
                    (format!("step {s} of chain {c}"), x.span)
                }),
            Anchor::Rule(c, id) => m
                .chains
                .iter_mut()
                .filter(|x| &x.name == c)
                .flat_map(|x| x.rules.iter_mut())
                .find(|x| x.id == *id && !x.rejected)
                .map(|x| {
                    x.rejected = true;
                    let what = match &x.name {
                        Some(n) => format!("rule {n} of chain {c}"),
                        None => format!("an unnamed rule of chain {c}"),
                    };
                    (what, x.span)
                }),
            Anchor::Job(j) => m
                .jobs
                .iter_mut()
                .find(|x| &x.name == j && !x.commented)
                .map(|x| {
                    x.commented = true;
                    (format!("job {j}"), x.span)
                }),
        };
        let Some((what, span)) = found else {
            return false;
        };
        let text =
            format!("`chainsched check` refuses {what} ({why}); it is written commented out");
        self.model.notes.push(Note {
            anchor: anchor.clone(),
            line: sources.line_col(0, span.start).0,
            text: text.clone(),
        });
        self.warnings
            .push(Diagnostic::warning("import-oracle", text, span));
        true
    }
}

/// A `check` error on the translation that no object explains.
fn internal(e: &Diagnostic) -> Diagnostic {
    Diagnostic::error(
        "import-oracle",
        format!(
            "internal error: `chainsched check` refuses the translation ({}); nothing is written; please report this script",
            e.message
        ),
        Span::new(0, 0, 0),
    )
}
