//! Calls → [`Model`]: what each DBMS_SCHEDULER procedure means in a rule file.
//!
//! The calls are replayed in script order, as Oracle would run them (a later
//! DEFINE_CHAIN_RULE with the same rule name replaces the rule, DROP_* removes the object).
//! Whatever cannot be translated exactly becomes a warning attached to the object it concerns;
//! only a script Oracle itself would reject is an error (see [`super::procs`]). The
//! decisions are documented in docs/import-oracle.md. One submodule per kind of object:
//! [`programs`], [`chains`], [`jobs`]; this file holds the argument helpers, the dispatch,
//! DROP_* and the final pass.

mod chains;
mod jobs;
mod programs;

use super::calls::Item;
use super::model::*;
use super::procs::{bind, Bound};
use super::value::Value;
use crate::lang::diagnostic::Diagnostic;
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
