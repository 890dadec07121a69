//! Calls → [`Model`]: what each DBMS_SCHEDULER procedure means in a rule file.
//!
//! The calls are replayed in script order, as Oracle would run them (a later
//! DEFINE_CHAIN_RULE with the same rule name replaces the rule, DROP_* removes the object).
//! Whatever cannot be translated exactly becomes a warning attached to the object it concerns;
//! only a script Oracle itself would reject is an error (see [`super::procs`]). The
//! decisions are documented in docs/import-oracle.md.

use super::calls::Item;
use super::event_cond;
use super::model::*;
use super::procs::{bind, Bound};
use super::value::Value;
use crate::lang::diagnostic::Diagnostic;
use crate::lang::parser::{parse_action, parse_condition};
use crate::lang::span::{SourceMap, Span};

/// A warning for stderr (with its span) and for the output (as a note).
pub struct Translated {
    pub model: Model,
    pub warnings: Vec<Diagnostic>,
}

/// Translate the items of a script; `Err` holds the binding errors (misspelt parameters...).
pub fn translate(items: &[Item], sources: &SourceMap) -> Result<Translated, Vec<Diagnostic>> {
    let mut t = Translator {
        sources,
        model: Model::default(),
        warnings: Vec::new(),
        next_rule_id: 1,
    };
    let mut errors = Vec::new();
    for item in items {
        match item {
            Item::Call(call) => match bind(call) {
                Ok(Some(b)) => t.call(&b),
                Ok(None) => t.warn(
                    Anchor::File,
                    Span::new(0, call.start, call.end),
                    format!("unknown procedure DBMS_SCHEDULER.{} ignored", call.proc),
                ),
                Err(e) => errors.push(*e),
            },
            Item::Ignored {
                start,
                end,
                summary,
            } => t.warn(
                Anchor::File,
                Span::new(0, *start, *end),
                format!("statement ignored (not a DBMS_SCHEDULER call): {summary}"),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    t.finish();
    Ok(Translated {
        model: t.model,
        warnings: t.warnings,
    })
}

struct Translator<'a> {
    sources: &'a SourceMap,
    model: Model,
    warnings: Vec<Diagnostic>,
    next_rule_id: usize,
}

const PLACEHOLDER_LINE: usize = 0;

impl Translator<'_> {
    fn line(&self, span: Span) -> usize {
        self.sources.line_col(0, span.start).0
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

    /// A string argument; warns (naming the parameter) when it is not a literal.
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
                        "{}: `{param}` is {}, not a literal; it is ignored",
                        b.proc,
                        other.describe()
                    ),
                );
                None
            }
        }
    }

    fn name(&mut self, b: &Bound, param: &str) -> Option<String> {
        self.text(b, param, &Anchor::File)
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

    /// The chain a call adds to; created (with a warning) when the script never created it.
    fn chain_for(&mut self, b: &Bound) -> Option<String> {
        let name = self.name(b, "chain_name")?;
        if self.model.chain_mut(&name).is_none() {
            self.warn(
                Anchor::Chain(name.clone()),
                b.span,
                format!("{}: chain {name} is not created by this script (CREATE_CHAIN); it is created here", b.proc),
            );
            self.model.chains.push(new_chain(&name));
        }
        Some(name)
    }

    fn call(&mut self, b: &Bound) {
        match b.proc.as_str() {
            "CREATE_PROGRAM" => self.create_program(b),
            "DEFINE_PROGRAM_ARGUMENT" | "DEFINE_ANYDATA_ARGUMENT" | "DEFINE_METADATA_ARGUMENT" => {
                self.define_program_argument(b)
            }
            "DROP_PROGRAM_ARGUMENT" => self.drop_program_argument(b),
            "CREATE_CHAIN" => self.create_chain(b),
            "DEFINE_CHAIN_STEP" => self.define_chain_step(b),
            "DEFINE_CHAIN_EVENT_STEP" => self.define_chain_event_step(b),
            "DEFINE_CHAIN_RULE" => self.define_chain_rule(b),
            "ALTER_CHAIN" => self.alter_chain(b),
            "CREATE_JOB" => self.create_job(b),
            "CREATE_SCHEDULE" => {
                if let (Some(name), Some(ri)) = (self.name(b, "schedule_name"), self.text(b, "repeat_interval", &Anchor::File)) {
                    self.model.schedules.insert(name, Schedule::Calendar(ri));
                }
            }
            "CREATE_EVENT_SCHEDULE" => {
                if let (Some(name), Some(condition)) = (self.name(b, "schedule_name"), self.text(b, "event_condition", &Anchor::File)) {
                    let queue_spec = self.text(b, "queue_spec", &Anchor::File);
                    self.model.schedules.insert(name, Schedule::Event { condition, queue_spec });
                }
            }
            "SET_JOB_ARGUMENT_VALUE" | "SET_JOB_ANYDATA_VALUE" => self.set_job_argument(b),
            "SET_ATTRIBUTE" | "SET_ATTRIBUTE_NULL" => self.set_attribute(b),
            "ENABLE" | "DISABLE" => {
                let enable = b.proc == "ENABLE";
                if let Some(list) = self.text(b, "name", &Anchor::File) {
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
    }

    fn create_program(&mut self, b: &Bound) {
        let Some(name) = self.name(b, "program_name") else {
            return;
        };
        let anchor = Anchor::Program(name.clone());
        let Some(ptype) = self.text(b, "program_type", &anchor) else {
            return;
        };
        let Some(action) = self.text(b, "program_action", &anchor) else {
            return;
        };
        let ptype = ptype.trim().to_ascii_uppercase();
        let mut original_code = None;
        let kind = match ptype.as_str() {
            "EXECUTABLE" => ProgramKind::Executable(action.trim().to_string()),
            "EXTERNAL_SCRIPT" => ProgramKind::Shell(action.trim().to_string()),
            "STORED_PROCEDURE" => {
                let handler = action.trim().to_string();
                self.warn(
                    anchor.clone(),
                    b.span,
                    format!("program {name} calls the stored procedure {handler}, which cannot run outside Oracle: it becomes `handler '{handler}'`, which the embedding service must register"),
                );
                ProgramKind::Handler(handler)
            }
            _ => {
                original_code = Some(action);
                self.warn(
                    anchor.clone(),
                    b.span,
                    format!("program {name} is a {ptype}, which cannot run outside Oracle: it becomes `handler '{name}'`, which the embedding service must register (the original code is kept as a comment)"),
                );
                ProgramKind::Handler(name.clone())
            }
        };
        let number_of_arguments = match b.get("number_of_arguments") {
            Some((Value::Num(n), _)) => n.parse().unwrap_or(0),
            _ => 0,
        };
        let comment = self.text(b, "comments", &anchor);
        let program = Program {
            name: name.clone(),
            kind,
            number_of_arguments,
            argument_defs: Default::default(),
            arguments: Vec::new(),
            comment,
            original_code,
            line: self.line(b.span),
        };
        match self.model.program_mut(&name) {
            Some(p) => *p = program,
            None => self.model.programs.push(program),
        }
    }

    fn position(&mut self, b: &Bound, anchor: &Anchor) -> Option<usize> {
        let (v, span) = b.get("argument_position")?.clone();
        match &v {
            Value::Num(n) => match n.parse::<usize>() {
                Ok(p) if (1..=255).contains(&p) => Some(p),
                _ => None,
            },
            _ => None,
        }
        .or_else(|| {
            self.warn(
                anchor.clone(),
                span,
                format!(
                    "{}: argument_position {} is not a position from 1 to 255; ignored",
                    b.proc,
                    v.describe()
                ),
            );
            None
        })
    }

    fn define_program_argument(&mut self, b: &Bound) {
        let Some(name) = self.name(b, "program_name") else {
            return;
        };
        let anchor = Anchor::Program(name.clone());
        let Some(pos) = self.position(b, &anchor) else {
            return;
        };
        let arg_name = self
            .text(b, "argument_name", &anchor)
            .map(|n| oracle_name(&n));
        let unsupported = b.proc != "DEFINE_PROGRAM_ARGUMENT";
        let default = if unsupported {
            self.warn(anchor.clone(), b.span, format!("{}: argument {pos} of program {name} gets its value from Oracle (metadata or AnyData), which chainsched does not have; it is left to a job parameter", b.proc));
            None
        } else {
            self.text(b, "default_value", &anchor)
        };
        let Some(p) = self.model.program_mut(&name) else {
            self.warn(
                Anchor::File,
                b.span,
                format!(
                    "{}: program {name} is not created by this script; ignored",
                    b.proc
                ),
            );
            return;
        };
        p.argument_defs.insert(
            pos,
            ArgDef {
                name: arg_name,
                default,
                unsupported,
            },
        );
    }

    fn drop_program_argument(&mut self, b: &Bound) {
        let Some(name) = self.name(b, "program_name") else {
            return;
        };
        let anchor = Anchor::Program(name.clone());
        let pos = if b.get("argument_position").is_some() {
            self.position(b, &anchor)
        } else {
            None
        };
        let arg_name = self
            .text(b, "argument_name", &anchor)
            .map(|n| oracle_name(&n));
        if let Some(p) = self.model.program_mut(&name) {
            p.argument_defs
                .retain(|k, d| Some(*k) != pos && (arg_name.is_none() || d.name != arg_name));
        }
    }

    fn create_chain(&mut self, b: &Bound) {
        let Some(name) = self.name(b, "chain_name") else {
            return;
        };
        let anchor = Anchor::Chain(name.clone());
        let mut chain = new_chain(&name);
        chain.comment = self.text(b, "comments", &anchor);
        if b.get("evaluation_interval").is_some() {
            chain.evaluation_interval = self.interval_arg(b, "evaluation_interval", &anchor);
        }
        if let Some((v, span)) = b.get("rule_set_name").cloned() {
            self.warn(anchor.clone(), span, format!("chain {name}: rule set {} is not imported; the rules come from DEFINE_CHAIN_RULE", v.describe()));
        }
        match self.model.chain_mut(&name) {
            Some(c) => *c = chain,
            None => self.model.chains.push(chain),
        }
    }

    fn put_step(&mut self, chain: &str, step: &str, target: Target) {
        let Some(c) = self.model.chain_mut(chain) else {
            return;
        };
        match c.steps.iter_mut().find(|s| s.name == step) {
            Some(s) => s.target = target,
            None => c.steps.push(Step {
                name: step.to_string(),
                target,
                attrs: StepAttrs::default(),
            }),
        }
    }

    fn define_chain_step(&mut self, b: &Bound) {
        let Some(chain) = self.chain_for(b) else {
            return;
        };
        let (Some(step), Some(program)) = (self.name(b, "step_name"), self.name(b, "program_name"))
        else {
            return;
        };
        self.put_step(&chain, &step, Target::Program(program));
    }

    fn define_chain_event_step(&mut self, b: &Bound) {
        let Some(chain) = self.chain_for(b) else {
            return;
        };
        let Some(step) = self.name(b, "step_name") else {
            return;
        };
        let anchor = Anchor::Step(chain.clone(), step.clone());
        if let Some((v, span)) = b.get("timeout").cloned() {
            self.warn(
                anchor.clone(),
                span,
                format!(
                    "event step {step}: timeout {} is not supported (Oracle reserves it); ignored",
                    v.describe()
                ),
            );
        }
        let target = if let Some(sched) = self.name(b, "event_schedule_name") {
            match self.model.schedules.get(&sched).cloned() {
                Some(Schedule::Event {
                    condition,
                    queue_spec,
                }) => self.event_target(&anchor, b.span, &sched, &condition, queue_spec.as_deref()),
                _ => {
                    self.warn(anchor.clone(), b.span, format!("event step {step}: event schedule {sched} is not created by this script (CREATE_EVENT_SCHEDULE); the step waits for event {sched} with any payload"));
                    Target::Event {
                        event: sched,
                        payload_where: None,
                    }
                }
            }
        } else if let Some(condition) = self.text(b, "event_condition", &anchor) {
            let queue = self.text(b, "queue_spec", &anchor);
            let event = queue
                .as_deref()
                .map(queue_name)
                .filter(|q| !q.is_empty())
                .unwrap_or_else(|| step.clone());
            self.event_target(&anchor, b.span, &event, &condition, queue.as_deref())
        } else {
            self.warn(anchor.clone(), b.span, format!("event step {step} names neither event_schedule_name nor event_condition; it waits for event {step}"));
            Target::Event {
                event: step.clone(),
                payload_where: None,
            }
        };
        self.put_step(&chain, &step, target);
    }

    /// An event step waiting for `event`, its payload filtered by the Oracle condition.
    fn event_target(
        &mut self,
        anchor: &Anchor,
        span: Span,
        event: &str,
        condition: &str,
        queue_spec: Option<&str>,
    ) -> Target {
        let step = match anchor {
            Anchor::Step(_, step) => step.clone(),
            _ => String::new(),
        };
        if let Some(q) = queue_spec {
            self.warn(anchor.clone(), span, format!("event step {step}: Oracle raises this event through queue `{}`; in chainsched raise it with `chainsched event {event} --payload '{{...}}'`, the message attributes being the payload's fields", q.trim()));
        }
        let payload_where = match event_cond::translate(condition) {
            Ok(w) => Some(w),
            Err(why) => {
                self.warn(anchor.clone(), span, format!("event step {step}: the event condition `{}` cannot be translated ({why}); the step completes on any {event} event", condition.trim()));
                None
            }
        };
        Target::Event {
            event: event.to_string(),
            payload_where,
        }
    }

    fn define_chain_rule(&mut self, b: &Bound) {
        let Some(chain) = self.chain_for(b) else {
            return;
        };
        let anchor = Anchor::Chain(chain.clone());
        let (Some(condition), Some(action)) = (
            self.text(b, "condition", &anchor),
            self.text(b, "action", &anchor),
        ) else {
            return;
        };
        let name = self.name(b, "rule_name");
        let comment = self.text(b, "comments", &anchor);
        let (condition, action) = (condition.trim().to_string(), action.trim().to_string());
        let id = self.next_rule_id;
        self.next_rule_id += 1;
        let problem = parse_condition(0, &condition)
            .err()
            .map(|d| ("condition", d))
            .or_else(|| parse_action(0, &action).err().map(|d| ("action", d)));
        let rejected = problem.is_some();
        if let Some((what, diags)) = problem {
            let why = diags.first().map(|d| d.message.clone()).unwrap_or_default();
            let label = name.clone().unwrap_or_else(|| "(unnamed)".to_string());
            self.warn(Anchor::Rule(chain.clone(), id), b.span, format!("rule {label}: the {what} is not accepted by the rule language ({why}); the rule is written commented out"));
        }
        let rule = Rule {
            id,
            name: name.clone(),
            condition,
            action,
            comment,
            rejected,
        };
        let Some(c) = self.model.chain_mut(&chain) else {
            return;
        };
        match c
            .rules
            .iter_mut()
            .find(|r| r.name.is_some() && r.name == name)
        {
            Some(r) => *r = rule,
            None => c.rules.push(rule),
        }
    }

    fn alter_chain(&mut self, b: &Bound) {
        let Some(chain) = self.chain_for(b) else {
            return;
        };
        let anchor = Anchor::Chain(chain.clone());
        let (Some(steps), Some(attribute)) = (
            self.text(b, "step_name", &anchor),
            self.text(b, "attribute", &anchor),
        ) else {
            return;
        };
        let attribute = attribute.trim().to_ascii_uppercase();
        let value_param = if b.get("char_value").is_some() {
            "char_value"
        } else {
            "value"
        };
        for step in oracle_names(&steps) {
            let sanchor = Anchor::Step(chain.clone(), step.clone());
            let exists = self
                .model
                .chain_mut(&chain)
                .is_some_and(|c| c.steps.iter().any(|s| s.name == step));
            if !exists {
                self.warn(
                    anchor.clone(),
                    b.span,
                    format!("ALTER_CHAIN: chain {chain} has no step {step} (yet); ignored"),
                );
                continue;
            }
            match attribute.as_str() {
                "PAUSE" | "SKIP" | "PAUSE_BEFORE" | "RESTART_ON_RECOVERY" | "RESTART_ON_FAILURE" => {
                    let Some(on) = self.bool_arg(b, value_param, &sanchor) else { continue };
                    if let Some(s) = self.step_mut(&chain, &step) {
                        let a = &mut s.attrs;
                        match attribute.as_str() {
                            "PAUSE" => a.pause = on,
                            "SKIP" => a.skip = on,
                            "PAUSE_BEFORE" => a.pause_before = on,
                            "RESTART_ON_RECOVERY" => a.restart_on_recovery = on,
                            _ => a.restart_on_failure = on,
                        }
                    }
                }
                "PROGRAM_NAME" => {
                    if let Some(p) = self.text(b, value_param, &sanchor) {
                        self.put_step(&chain, &step, Target::Program(oracle_name(&p)));
                    }
                }
                "EVENT_SCHEDULE_NAME" => {
                    if let Some(s) = self.text(b, value_param, &sanchor) {
                        self.put_step(&chain, &step, Target::Event { event: oracle_name(&s), payload_where: None });
                    }
                }
                _ => self.warn(sanchor, b.span, format!("ALTER_CHAIN: step attribute {attribute} has no rule-file equivalent; ignored")),
            }
        }
    }

    fn step_mut(&mut self, chain: &str, step: &str) -> Option<&mut Step> {
        self.model
            .chain_mut(chain)?
            .steps
            .iter_mut()
            .find(|s| s.name == step)
    }

    fn create_job(&mut self, b: &Bound) {
        let Some(name) = self.name(b, "job_name") else {
            return;
        };
        let anchor = Anchor::Job(name.clone());
        let job_type = self
            .text(b, "job_type", &anchor)
            .map(|t| t.trim().to_ascii_uppercase());
        if job_type.as_deref() != Some("CHAIN") {
            let what = match (&job_type, b.get("program_name")) {
                (Some(t), _) => format!("a {t} job"),
                (None, Some((p, _))) => format!("a job of program {}", p.describe()),
                (None, None) => "not a chain job".to_string(),
            };
            self.warn(Anchor::File, b.span, format!("job {name} is {what}: only chain jobs (job_type => 'CHAIN') are imported; ignored"));
            return;
        }
        let Some(chain) = self.text(b, "job_action", &anchor).map(|c| oracle_name(&c)) else {
            self.warn(
                Anchor::File,
                b.span,
                format!("job {name}: a CHAIN job needs job_action => 'CHAIN_NAME'; ignored"),
            );
            return;
        };
        let mut job = Job {
            name: name.clone(),
            chain,
            schedule: None,
            parameters: Vec::new(),
            restartable: false,
            max_run_duration: None,
            comment: None,
            enabled: false,
            line: self.line(b.span),
        };
        job.comment = self.text(b, "comments", &anchor);
        job.enabled = self.bool_arg(b, "enabled", &anchor).unwrap_or(false);
        if b.get("repeat_interval").is_some() {
            job.schedule = self.calendar(b, "repeat_interval", &anchor);
        }
        if let Some(s) = self.name(b, "schedule_name") {
            job.schedule = self.inline_schedule(&s, b.span, &anchor);
        }
        if let Some((v, span)) = b.get("start_date").cloned() {
            let now = matches!(&v, Value::Expr(e) if ["SYSTIMESTAMP", "SYSDATE", "CURRENT_TIMESTAMP"].contains(&e.trim().to_ascii_uppercase().as_str()));
            if !now {
                self.warn(anchor.clone(), span, format!("job {name}: start_date {} is not translated; the schedule applies from when the engine loads the job", v.describe()));
            }
        }
        for (param, what) in [
            ("end_date", "end_date"),
            (
                "event_condition",
                "an event condition (event-based jobs are not imported; the job gets no schedule)",
            ),
            ("credential_name", "credential_name"),
            ("destination_name", "destination_name"),
        ] {
            if let Some((v, span)) = b.get(param).cloned() {
                self.warn(
                    anchor.clone(),
                    span,
                    format!("job {name}: {what} {} is not translated", v.describe()),
                );
            }
        }
        if let Some((Value::Str(class), span)) = b.get("job_class").cloned() {
            if !class.eq_ignore_ascii_case("DEFAULT_JOB_CLASS") {
                self.warn(anchor.clone(), span, format!("job {name}: job class {class} is not translated (a resource `group` is the nearest equivalent)"));
            }
        }
        match self.model.job_mut(&name) {
            Some(j) => *j = job,
            None => self.model.jobs.push(job),
        }
    }

    fn calendar(&mut self, b: &Bound, param: &str, anchor: &Anchor) -> Option<String> {
        let text = self.text(b, param, anchor)?;
        let t = text.trim().to_string();
        if !t.to_ascii_uppercase().starts_with("FREQ") && t.split_whitespace().count() != 5 {
            self.warn(anchor.clone(), b.span, format!("{}: repeat_interval `{t}` is neither an Oracle calendar expression (FREQ=...) nor a cron line; it is copied as it is", b.proc));
        }
        Some(t)
    }

    fn inline_schedule(&mut self, sched: &str, span: Span, anchor: &Anchor) -> Option<String> {
        match self.model.schedules.get(sched).cloned() {
            Some(Schedule::Calendar(ri)) => Some(ri.trim().to_string()),
            Some(Schedule::Event { .. }) => {
                self.warn(anchor.clone(), span, format!("schedule {sched} is an event schedule: event-based jobs are not imported; the job gets no schedule"));
                None
            }
            None => {
                self.warn(anchor.clone(), span, format!("schedule {sched} is not created by this script (CREATE_SCHEDULE); the job gets no schedule"));
                None
            }
        }
    }

    fn set_job_argument(&mut self, b: &Bound) {
        let Some(job) = self.name(b, "job_name") else {
            return;
        };
        let anchor = Anchor::Job(job.clone());
        if self.model.job_mut(&job).is_none() {
            self.warn(
                Anchor::File,
                b.span,
                format!(
                    "{}: job {job} is not a chain job created by this script; ignored",
                    b.proc
                ),
            );
            return;
        }
        if b.proc == "SET_JOB_ANYDATA_VALUE" {
            self.warn(
                anchor,
                b.span,
                format!("job {job}: AnyData argument values are not translated"),
            );
            return;
        }
        let param = if let Some(n) = self.text(b, "argument_name", &anchor) {
            oracle_name(&n)
        } else if let Some(p) = self.position(b, &anchor) {
            self.warn(anchor.clone(), b.span, format!("job {job}: argument {p} is given by position; it becomes the job parameter ARG{p}"));
            format!("ARG{p}")
        } else {
            return;
        };
        let Some(value) = self.text(b, "argument_value", &anchor) else {
            return;
        };
        if let Some(j) = self.model.job_mut(&job) {
            match j.parameters.iter_mut().find(|(k, _)| *k == param) {
                Some(kv) => kv.1 = value,
                None => j.parameters.push((param, value)),
            }
        }
    }

    fn set_attribute(&mut self, b: &Bound) {
        let Some(name) = self.name(b, "name") else {
            return;
        };
        let Some(attr) = self
            .text(b, "attribute", &Anchor::File)
            .map(|a| a.trim().to_ascii_lowercase())
        else {
            return;
        };
        let null = b.proc == "SET_ATTRIBUTE_NULL" || b.get("value").is_none();
        let done = if self.model.job_mut(&name).is_some() {
            self.set_job_attribute(b, &name, &attr, null)
        } else if self.model.chain_mut(&name).is_some() {
            let anchor = Anchor::Chain(name.clone());
            match attr.as_str() {
                "evaluation_interval" => {
                    let v = if null {
                        None
                    } else {
                        self.interval_arg(b, "value", &anchor)
                    };
                    self.model
                        .chain_mut(&name)
                        .into_iter()
                        .for_each(|c| c.evaluation_interval = v);
                    true
                }
                "comments" => {
                    let v = if null {
                        None
                    } else {
                        self.text(b, "value", &anchor)
                    };
                    self.model
                        .chain_mut(&name)
                        .into_iter()
                        .for_each(|c| c.comment = v.clone());
                    true
                }
                _ => false,
            }
        } else if self.model.program_mut(&name).is_some() {
            let anchor = Anchor::Program(name.clone());
            let v = if null {
                None
            } else {
                self.text(b, "value", &anchor)
            };
            match (attr.as_str(), v) {
                ("comments", v) => {
                    self.model
                        .program_mut(&name)
                        .into_iter()
                        .for_each(|p| p.comment = v.clone());
                    true
                }
                ("program_action", Some(action)) => {
                    if let Some(p) = self.model.program_mut(&name) {
                        match &mut p.kind {
                            ProgramKind::Executable(a) | ProgramKind::Shell(a) => {
                                *a = action.trim().to_string()
                            }
                            ProgramKind::Handler(_) => p.original_code = Some(action),
                        }
                    }
                    true
                }
                ("number_of_arguments", Some(n)) => {
                    let n = n.parse().unwrap_or(0);
                    self.model
                        .program_mut(&name)
                        .into_iter()
                        .for_each(|p| p.number_of_arguments = n);
                    true
                }
                _ => false,
            }
        } else if let (Some(Schedule::Calendar(_)), "repeat_interval") =
            (self.model.schedules.get(&name), attr.as_str())
        {
            if let Some(v) = self.text(b, "value", &Anchor::File) {
                self.model
                    .schedules
                    .insert(name.clone(), Schedule::Calendar(v));
            }
            true
        } else {
            self.warn(Anchor::File, b.span, format!("{}: {name} is not a job, chain, program or schedule created by this script; ignored", b.proc));
            return;
        };
        if !done {
            let anchor = if self.model.job_mut(&name).is_some() {
                Anchor::Job(name.clone())
            } else if self.model.chain_mut(&name).is_some() {
                Anchor::Chain(name.clone())
            } else {
                Anchor::Program(name.clone())
            };
            self.warn(
                anchor,
                b.span,
                format!("{}: attribute {attr} of {name} is not translated", b.proc),
            );
        }
    }

    fn set_job_attribute(&mut self, b: &Bound, job: &str, attr: &str, null: bool) -> bool {
        let anchor = Anchor::Job(job.to_string());
        match attr {
            "repeat_interval" => {
                let v = if null {
                    None
                } else {
                    self.calendar(b, "value", &anchor)
                };
                self.model
                    .job_mut(job)
                    .into_iter()
                    .for_each(|j| j.schedule = v.clone());
            }
            "schedule_name" => {
                let v = if null { None } else { self.name(b, "value") };
                let s = v.and_then(|s| self.inline_schedule(&s, b.span, &anchor));
                self.model
                    .job_mut(job)
                    .into_iter()
                    .for_each(|j| j.schedule = s.clone());
            }
            "max_run_duration" => {
                let v = if null {
                    None
                } else {
                    self.interval_arg(b, "value", &anchor)
                };
                self.model
                    .job_mut(job)
                    .into_iter()
                    .for_each(|j| j.max_run_duration = v);
            }
            "restartable" => {
                let v = if null {
                    Some(false)
                } else {
                    self.bool_arg(b, "value", &anchor)
                };
                if let (Some(v), Some(j)) = (v, self.model.job_mut(job)) {
                    j.restartable = v;
                }
            }
            "comments" => {
                let v = if null {
                    None
                } else {
                    self.text(b, "value", &anchor)
                };
                self.model
                    .job_mut(job)
                    .into_iter()
                    .for_each(|j| j.comment = v.clone());
            }
            "job_action" => {
                if let Some(c) = self.text(b, "value", &anchor) {
                    self.model
                        .job_mut(job)
                        .into_iter()
                        .for_each(|j| j.chain = oracle_name(&c));
                }
            }
            _ => return false,
        }
        true
    }

    fn drop(&mut self, b: &Bound) {
        let (param, list) = match b.proc.as_str() {
            "DROP_CHAIN" => ("chain_name", true),
            "DROP_PROGRAM" => ("program_name", true),
            "DROP_JOB" => ("job_name", true),
            "DROP_SCHEDULE" => ("schedule_name", true),
            "DROP_CHAIN_STEP" => ("step_name", true),
            "DROP_CHAIN_RULE" => ("rule_name", true),
            _ => return,
        };
        let Some(text) = self.text(b, param, &Anchor::File) else {
            return;
        };
        let names = if list {
            oracle_names(&text)
        } else {
            vec![oracle_name(&text)]
        };
        let chain = if b.proc.starts_with("DROP_CHAIN_") {
            self.name(b, "chain_name")
        } else {
            None
        };
        let m = &mut self.model;
        for n in names {
            match b.proc.as_str() {
                "DROP_CHAIN" => m.chains.retain(|c| c.name != n),
                "DROP_PROGRAM" => m.programs.retain(|p| p.name != n),
                "DROP_JOB" => m.jobs.retain(|j| j.name != n),
                "DROP_SCHEDULE" => {
                    m.schedules.remove(&n);
                }
                "DROP_CHAIN_STEP" => {
                    if let Some(c) = chain
                        .as_deref()
                        .and_then(|c| m.chains.iter_mut().find(|x| x.name == c))
                    {
                        c.steps.retain(|s| s.name != n);
                    }
                }
                _ => {
                    if let Some(c) = chain
                        .as_deref()
                        .and_then(|c| m.chains.iter_mut().find(|x| x.name == c))
                    {
                        c.rules.retain(|r| r.name.as_deref() != Some(n.as_str()));
                    }
                }
            }
        }
    }

    /// After the last call: resolve step targets, write program arguments, check jobs.
    fn finish(&mut self) {
        let chain_names: Vec<String> = self.model.chains.iter().map(|c| c.name.clone()).collect();
        let mut missing_programs: Vec<(String, String, String)> = Vec::new();
        for c in &mut self.model.chains {
            for s in &mut c.steps {
                if let Target::Program(p) = &s.target {
                    if chain_names.contains(p) {
                        s.target = Target::Chain(p.clone());
                    } else if !self.model.programs.iter().any(|x| &x.name == p)
                        && !missing_programs.iter().any(|m| &m.0 == p)
                    {
                        missing_programs.push((p.clone(), c.name.clone(), s.name.clone()));
                    }
                }
            }
        }
        for (p, chain, step) in missing_programs {
            let note = Note {
                anchor: Anchor::Program(p.clone()),
                line: PLACEHOLDER_LINE,
                text: format!("program {p} (step {step} of chain {chain}) is not created by this script: a placeholder `handler '{p}'` is written; replace it with the real program"),
            };
            self.warnings.push(Diagnostic::warning(
                "import-oracle",
                note.text.clone(),
                Span::new(0, 0, 0),
            ));
            self.model.notes.push(note);
            self.model.programs.push(Program {
                name: p.clone(),
                kind: ProgramKind::Handler(p),
                number_of_arguments: 0,
                argument_defs: Default::default(),
                arguments: Vec::new(),
                comment: None,
                original_code: None,
                line: PLACEHOLDER_LINE,
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
            let span = self.line_span(j.line);
            if !chain_names.contains(&j.chain) {
                self.warn(Anchor::File, span, format!("job {} runs chain {}, which this script does not create; the job is not written", j.name, j.chain));
                continue;
            }
            if !j.enabled {
                self.warn(Anchor::Job(j.name.clone()), span, format!("job {} is never enabled in the script (Oracle would not run it); in chainsched it runs on its schedule", j.name));
            }
            self.model.jobs.push(j);
        }
    }

    /// A span at the start of a (1-based) line, for warnings raised after the calls.
    fn line_span(&self, line: usize) -> Span {
        let text = self.sources.file(0).map(|f| f.text.as_str()).unwrap_or("");
        let offset = text
            .match_indices('\n')
            .nth(line.saturating_sub(2))
            .map(|(i, _)| i + 1)
            .filter(|_| line > 1)
            .unwrap_or(0);
        Span::new(0, offset, offset)
    }

    fn program_arguments(&mut self, p: &mut Program) {
        let n = p
            .argument_defs
            .keys()
            .max()
            .copied()
            .unwrap_or(0)
            .max(p.number_of_arguments);
        let span = self.line_span(p.line);
        for pos in 1..=n {
            let def = p.argument_defs.get(&pos).cloned().unwrap_or_default();
            match (&def.default, &def.name) {
                (Some(v), _) => p.arguments.push(v.clone()),
                (None, Some(name)) => {
                    if !def.unsupported {
                        self.warn(Anchor::Program(p.name.clone()), span, format!("program {}: argument {pos} ({name}) has no default value; it is taken from the job parameter {name}", p.name));
                    }
                    p.arguments.push(format!("${{{name}}}"));
                }
                (None, None) => {
                    self.warn(Anchor::Program(p.name.clone()), span, format!("program {}: argument {pos} is not defined with a default value; it is taken from the job parameter ARG{pos}", p.name));
                    p.arguments.push(format!("${{ARG{pos}}}"));
                }
            }
        }
    }
}

fn new_chain(name: &str) -> Chain {
    Chain {
        name: name.to_string(),
        comment: None,
        evaluation_interval: None,
        steps: Vec::new(),
        rules: Vec::new(),
    }
}

/// `'owner.queue, agent'` → `QUEUE`.
fn queue_name(spec: &str) -> String {
    oracle_name(spec.split(',').next().unwrap_or(""))
}
