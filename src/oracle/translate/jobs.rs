//! Chain jobs: CREATE_JOB, named schedules inlined, SET_JOB_ARGUMENT_VALUE as parameters,
//! and SET_ATTRIBUTE on jobs, chains, programs and schedules.

use super::super::bytime;
use super::super::model::*;
use super::super::procs::Bound;
use super::super::value::Value;
use super::{Fatal, Translator};
use crate::lang::span::Span;

impl Translator<'_> {
    pub(super) fn create_job(&mut self, b: &Bound) -> Result<(), Fatal> {
        let Some(name) = self.name(b, "job_name") else {
            return Ok(());
        };
        self.must_be_new(b, &name)?;
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
            return Ok(());
        }
        let Some(chain) = self
            .required(b, "job_action", &Anchor::File)
            .map(|c| oracle_name(&c))
        else {
            return Ok(());
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
            start_date: None,
            end_date: None,
            time_zone: None,
            max_runs: None,
            max_failures: None,
            on_event: None,
            span: b.span,
            commented: false,
        };
        job.comment = self.text(b, "comments", &anchor);
        job.enabled = self.bool_arg(b, "enabled", &anchor).unwrap_or(false);
        if b.get("repeat_interval").is_some() {
            job.schedule = self.calendar(b, "repeat_interval", &anchor);
        }
        if let Some(s) = self.opt_name(b, "schedule_name", &anchor) {
            match self.model.schedules.get(&s).cloned() {
                // An event schedule: an event-based job.
                Some(Schedule::Event {
                    condition,
                    queue_spec,
                }) => {
                    job.on_event =
                        Some(self.job_event(&name, b.span, &s, &condition, queue_spec.as_deref()))
                }
                _ => job.schedule = self.inline_schedule(&s, b.span, &anchor),
            }
        }
        if let Some(condition) = self.text(b, "event_condition", &anchor) {
            let queue = self.text(b, "queue_spec", &anchor);
            let event = queue
                .as_deref()
                .map(super::queue_name)
                .filter(|q| !q.is_empty())
                .unwrap_or_else(|| name.clone());
            let span = b.get("event_condition").map_or(b.span, |(_, s)| *s);
            job.on_event = Some(self.job_event(&name, span, &event, &condition, queue.as_deref()));
        }
        if job.on_event.is_some() && job.schedule.take().is_some() {
            self.warn(anchor.clone(), b.span, format!("job {name} has both an event and a time schedule; Oracle's jobs have one: the event is kept"));
        }
        for param in ["start_date", "end_date"] {
            if let Some((v, span)) = b.get(param).cloned() {
                self.job_date(&mut job, param, &v, span);
            }
        }
        if job.start_date.is_some()
            && job.schedule.is_none()
            && b.get("repeat_interval").is_none()
            && b.get("schedule_name").is_none()
        {
            self.warn(anchor.clone(), b.span, format!("job {name}: a start_date without repeat_interval runs once in Oracle; chainsched runs the job only when started (`chainsched start {name}`)"));
        }
        for (param, what) in [
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
        if let Some(class) = self.text(b, "job_class", &anchor) {
            if !class.trim().eq_ignore_ascii_case("DEFAULT_JOB_CLASS") {
                let span = b.get("job_class").map_or(b.span, |(_, s)| *s);
                self.warn(anchor.clone(), span, format!("job {name}: job class {} is not translated (a resource `group` is the nearest equivalent)", class.trim()));
            }
        }
        self.model.jobs.push(job);
        Ok(())
    }

    /// An event-based job's `on event EVENT where ...`: the Oracle condition translated as an
    /// event step's is.
    fn job_event(
        &mut self,
        job: &str,
        span: Span,
        event: &str,
        condition: &str,
        queue_spec: Option<&str>,
    ) -> (String, Option<String>) {
        let anchor = Anchor::Job(job.to_string());
        if let Some(q) = queue_spec {
            self.warn(anchor.clone(), span, format!("job {job} is started by an event: Oracle raises it through queue `{}`; in chainsched raise it with `chainsched event {event} --payload '{{...}}'`, the message attributes being the payload's fields", q.trim()));
        }
        let w = match super::super::event_cond::translate(condition) {
            Ok(w) => Some(w),
            Err(why) => {
                self.warn(anchor, span, format!("job {job}: the event condition `{}` cannot be translated ({why}); any {event} event starts the job", condition.trim()));
                None
            }
        };
        (event.to_string(), w)
    }

    /// start_date or end_date into the job (with the time zone written with the start date);
    /// a form the importer cannot read is reported and left out.
    fn job_date(&mut self, job: &mut Job, param: &str, v: &Value, span: Span) {
        let anchor = Anchor::Job(job.name.clone());
        if matches!(v, Value::Null) {
            return;
        }
        match super::super::dates::job_date(v) {
            Ok(d) => {
                if param == "start_date" {
                    job.start_date = d.local;
                    if d.time_zone.is_some() {
                        job.time_zone = d.time_zone;
                    }
                } else {
                    match d.local {
                        Some(l) => job.end_date = Some(l),
                        None => self.warn(
                            anchor,
                            span,
                            format!(
                                "job {}: end_date {} is now: not translated",
                                job.name,
                                v.describe()
                            ),
                        ),
                    }
                }
            }
            Err(why) => {
                let then = if param == "start_date" {
                    "the schedule applies from when the engine loads the job"
                } else {
                    "the job has no end date"
                };
                self.warn(
                    anchor,
                    span,
                    format!(
                        "job {}: {param} is not translated ({why}); {then}",
                        job.name
                    ),
                );
            }
        }
    }

    pub(super) fn calendar(&mut self, b: &Bound, param: &str, anchor: &Anchor) -> Option<String> {
        let text = self.text(b, param, anchor)?;
        let span = b.get(param).map_or(b.span, |(_, s)| *s);
        self.schedule_text(text.trim(), span, anchor)
    }

    /// A repeat_interval as a rule-file schedule: `BYTIME` rewritten, and only if chainsched's
    /// schedule parser reads it (otherwise `check` would refuse the file).
    pub(super) fn schedule_text(
        &mut self,
        text: &str,
        span: Span,
        anchor: &Anchor,
    ) -> Option<String> {
        let text = match bytime::rewrite(text) {
            Ok(None) => text.to_string(),
            Ok(Some(new)) => {
                self.warn(anchor.clone(), span, format!("repeat_interval `{text}`: BYTIME (written by SQL Developer) becomes `{new}`, which chainsched reads"));
                new
            }
            Err(why) => {
                self.warn(anchor.clone(), span, format!("repeat_interval `{text}` cannot be translated exactly ({why}); the job is written without a schedule: add one by hand"));
                return None;
            }
        };
        if let Err(e) = crate::schedule::Schedule::parse(&text) {
            let what = if text.to_ascii_uppercase().starts_with("FREQ") {
                "an Oracle calendar expression chainsched does not read"
            } else {
                "neither an Oracle calendar expression (FREQ=...) nor a cron line (a PL/SQL date expression?)"
            };
            self.warn(
                anchor.clone(),
                span,
                format!(
                    "repeat_interval `{text}` is {what}: {}; the job is written without a schedule",
                    e.message
                ),
            );
            return None;
        }
        Some(text)
    }

    pub(super) fn inline_schedule(
        &mut self,
        sched: &str,
        span: Span,
        anchor: &Anchor,
    ) -> Option<String> {
        match self.model.schedules.get(sched).cloned() {
            Some(Schedule::Calendar(ri)) => self.schedule_text(ri.trim(), span, anchor),
            Some(Schedule::Event { .. }) => {
                self.warn(anchor.clone(), span, format!("schedule {sched} is an event schedule: only CREATE_JOB's schedule_name makes an event-based job; the job gets no schedule"));
                None
            }
            None => {
                self.warn(anchor.clone(), span, format!("schedule {sched} is not created by this script (CREATE_SCHEDULE); the job gets no schedule"));
                None
            }
        }
    }

    pub(super) fn set_job_argument(&mut self, b: &Bound) {
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
        let param = if let Some(n) = self.opt_name(b, "argument_name", &anchor) {
            n
        } else if let Some(p) = self.position(b, &anchor) {
            self.warn(anchor.clone(), b.span, format!("job {job}: argument {p} is given by position; it becomes the job parameter ARG{p}"));
            format!("ARG{p}")
        } else {
            return;
        };
        let Some(value) = self.required(b, "argument_value", &anchor) else {
            return;
        };
        if let Some(j) = self.model.job_mut(&job) {
            match j.parameters.iter_mut().find(|(k, _)| *k == param) {
                Some(kv) => kv.1 = value,
                None => j.parameters.push((param, value)),
            }
        }
    }

    pub(super) fn set_attribute(&mut self, b: &Bound) {
        let Some(name) = self.name(b, "name") else {
            return;
        };
        let Some(attr) = self
            .required(b, "attribute", &Anchor::File)
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
                    if let Some(c) = self.model.chain_mut(&name) {
                        c.evaluation_interval = v;
                    }
                    true
                }
                "comments" => {
                    let v = if null {
                        None
                    } else {
                        self.text(b, "value", &anchor)
                    };
                    if let Some(c) = self.model.chain_mut(&name) {
                        c.comment = v;
                    }
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
                    if let Some(p) = self.model.program_mut(&name) {
                        p.comment = v;
                    }
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
                    if let Some(p) = self.model.program_mut(&name) {
                        p.number_of_arguments = n;
                    }
                    true
                }
                _ => false,
            }
        } else if self.model.schedules.contains_key(&name) {
            let calendar = matches!(self.model.schedules.get(&name), Some(Schedule::Calendar(_)));
            if calendar && attr == "repeat_interval" && !null {
                if let Some(v) = self.text(b, "value", &Anchor::File) {
                    self.model
                        .schedules
                        .insert(name.clone(), Schedule::Calendar(v));
                }
            } else {
                self.warn(Anchor::File, b.span, format!("{}: attribute {attr} of schedule {name} is not translated (the schedule is kept as it was)", b.proc));
            }
            return;
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

    pub(super) fn set_job_attribute(
        &mut self,
        b: &Bound,
        job: &str,
        attr: &str,
        null: bool,
    ) -> bool {
        let anchor = Anchor::Job(job.to_string());
        match attr {
            "repeat_interval" => {
                let v = if null {
                    None
                } else {
                    self.calendar(b, "value", &anchor)
                };
                if let Some(j) = self.model.job_mut(job) {
                    j.schedule = v;
                }
            }
            "schedule_name" => {
                let v = if null {
                    None
                } else {
                    self.opt_name(b, "value", &anchor)
                };
                let s = v.and_then(|s| self.inline_schedule(&s, b.span, &anchor));
                if let Some(j) = self.model.job_mut(job) {
                    j.schedule = s;
                }
            }
            "max_run_duration" => {
                let v = if null {
                    None
                } else {
                    self.interval_arg(b, "value", &anchor)
                };
                if let Some(j) = self.model.job_mut(job) {
                    j.max_run_duration = v;
                }
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
                if let Some(j) = self.model.job_mut(job) {
                    j.comment = v;
                }
            }
            "start_date" | "end_date" => {
                let Some(mut j) = self.model.job_mut(job).cloned() else {
                    return true;
                };
                match b.get("value").cloned() {
                    Some((v, span)) if !null => self.job_date(&mut j, attr, &v, span),
                    _ => {
                        if attr == "start_date" {
                            j.start_date = None;
                        } else {
                            j.end_date = None;
                        }
                    }
                }
                if let Some(slot) = self.model.job_mut(job) {
                    *slot = j;
                }
            }
            "max_runs" | "max_failures" => {
                let v = if null {
                    None
                } else {
                    match b.get("value").map(|(v, _)| v) {
                        Some(Value::Num(n)) => match n.trim().parse::<u64>() {
                            Ok(n) if n >= 1 => Some(n),
                            _ => {
                                self.warn(anchor.clone(), b.span, format!("job {job}: {attr} {n} is not a positive whole number; not translated"));
                                return true;
                            }
                        },
                        other => {
                            let what = other.map_or("nothing".to_string(), |v| v.describe());
                            self.warn(
                                anchor.clone(),
                                b.span,
                                format!("job {job}: {attr} {what} is not a number; not translated"),
                            );
                            return true;
                        }
                    }
                };
                if let Some(j) = self.model.job_mut(job) {
                    if attr == "max_runs" {
                        j.max_runs = v;
                    } else {
                        j.max_failures = v;
                    }
                }
            }
            "job_action" => {
                if let Some(c) = self.text(b, "value", &anchor) {
                    if let Some(j) = self.model.job_mut(job) {
                        j.chain = oracle_name(&c);
                    }
                }
            }
            _ => return false,
        }
        true
    }
}
