//! Chain jobs: CREATE_JOB, named schedules inlined, SET_JOB_ARGUMENT_VALUE as parameters,
//! and SET_ATTRIBUTE on jobs, chains, programs and schedules.

use super::super::model::*;
use super::super::procs::Bound;
use super::super::value::Value;
use super::Translator;
use crate::lang::span::Span;

impl Translator<'_> {
    pub(super) fn create_job(&mut self, b: &Bound) {
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

    pub(super) fn calendar(&mut self, b: &Bound, param: &str, anchor: &Anchor) -> Option<String> {
        let text = self.text(b, param, anchor)?;
        let t = text.trim().to_string();
        if !t.to_ascii_uppercase().starts_with("FREQ") && t.split_whitespace().count() != 5 {
            self.warn(anchor.clone(), b.span, format!("{}: repeat_interval `{t}` is neither an Oracle calendar expression (FREQ=...) nor a cron line; it is copied as it is", b.proc));
        }
        Some(t)
    }

    pub(super) fn inline_schedule(
        &mut self,
        sched: &str,
        span: Span,
        anchor: &Anchor,
    ) -> Option<String> {
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

    pub(super) fn set_attribute(&mut self, b: &Bound) {
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
                let v = if null { None } else { self.name(b, "value") };
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
