//! Scenario files (`*.scenario.toml`): TOML → typed [`Scenario`].
//!
//! Why hand-walked rather than `#[derive(Deserialize)]`: scenario files are written by
//! operations staff, and every mistake must come back as one sentence naming the file and the
//! key (`loan.scenario.toml: job[1].outcomes.A: "fial 20100" is not an outcome ...`), with a
//! "did you mean" for misspelt keys. This module only checks the file's own shape; names of
//! chains and steps are checked against the catalog by [`Scenario::bind`].

use super::names::{resolve_chain, resolve_subname};
use crate::catalog::{Catalog, StepTarget};
use crate::core::{JobState, PresetState, StepState};
use crate::lang::diagnostic::{did_you_mean, nearest_name};
use crate::lang::duration::{parse_duration_decimal, Millis};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// Default virtual-time limit: 7 days.
pub const DEFAULT_UNTIL: Millis = 7 * 86_400_000;
/// Default duration of an attempt without a scripted duration.
pub const DEFAULT_DURATION: Millis = 1000;

/// A problem in a scenario file: which file, which key, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    /// Dotted key path (`job[1].outcomes.A`); empty for whole-file problems.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.key, self.message)
        }
    }
}

impl std::error::Error for ScenarioError {}

/// A whole scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The file as given (for messages).
    pub file: String,
    pub jobs: Vec<JobSpec>,
    /// In file order; the driver applies those due at one instant in this order.
    pub interventions: Vec<Intervention>,
    pub until: Millis,
    /// `[settings] rules`, already made relative to the scenario's folder.
    pub rules: Option<Vec<PathBuf>>,
    /// `None` when the file has no `[expect]` table.
    pub expect: Option<Expectations>,
}

/// One `[[job]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    /// `job[N]`, for messages.
    pub key: String,
    pub name: Option<String>,
    /// Empty when a `definition` gives the chain.
    pub chain: String,
    /// `definition = "NIGHTLY_LOANS"`: a run of that job definition (group, serialize by,
    /// parameter defaults, max_run_duration).
    pub definition: Option<String>,
    /// `group = "FINANCE.LOANS"`: the resource group of this run.
    pub group: Option<String>,
    pub at: Millis,
    pub start_steps: Vec<String>,
    pub step_states: Vec<(String, PresetState)>,
    /// Upper-cased parameter names.
    pub parameters: BTreeMap<String, String>,
    /// Step subname → successive attempts (the last one repeats when they run out).
    pub outcomes: BTreeMap<String, Vec<Attempt>>,
}

/// The scripted result of one attempt of a program step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scripted {
    Ok,
    Fail(i64),
    Stop,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub result: Scripted,
    /// `None`: the default (1s, or a `builtin sleep d` program's d).
    pub duration: Option<Millis>,
    /// Job variables the attempt sets (`set = { REGION = "EU" }`), as a step's
    /// `::set NAME=VALUE` lines would; names upper-cased.
    pub set: Vec<(String, String)>,
}

/// One `[[at]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Intervention {
    /// `at[N]`, for messages.
    pub key: String,
    pub time: Millis,
    pub action: Action,
}

/// Attribute changes of `alter` / `alter_chain`. `state` is kept as written: a bad state
/// (`FAILED` without a code) is the engine's to refuse, and shows in `rejected`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlterSpec {
    pub pause: Option<bool>,
    pub pause_before: Option<bool>,
    pub skip: Option<bool>,
    pub state: Option<String>,
    pub restart_on_failure: Option<bool>,
    pub restart_on_recovery: Option<bool>,
    /// `timeout = "30m"` (`"none"`: removed), in ms; `Some(0)` removes it.
    pub timeout: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Alter {
        job: String,
        step: Option<String>,
        change: AlterSpec,
    },
    AlterChain {
        chain: String,
        step: Option<String>,
        change: AlterSpec,
    },
    DefineRule {
        chain: String,
        name: String,
        when: String,
        then: String,
    },
    DropRule {
        chain: String,
        rule: String,
    },
    DropStep {
        chain: String,
        step: String,
        force: bool,
    },
    Evaluate {
        job: String,
    },
    Event {
        name: String,
        payload: serde_json::Value,
        job: Option<String>,
    },
    Stop {
        job: String,
        step: Option<String>,
    },
    /// Reopen an ended FAILED or STOPPED job (`from`: steps to run again; empty: the FAILED
    /// and STOPPED ones).
    Restart {
        job: String,
        from: Vec<String>,
    },
}

impl Action {
    /// The intervention's name as the output's `rejected` array shows it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Action::Alter { .. } => "alter",
            Action::AlterChain { .. } => "alter_chain",
            Action::DefineRule { .. } => "define_rule",
            Action::DropRule { .. } => "drop_rule",
            Action::DropStep { .. } => "drop_step",
            Action::Evaluate { .. } => "evaluate",
            Action::Restart { .. } => "restart",
            Action::Event { .. } => "event",
            Action::Stop { .. } => "stop",
        }
    }
}

/// The `[expect]` table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expectations {
    /// `[expect] rejected = 2` or `= ["3s alter: ..."]`.
    pub rejected: Option<RejectedExpect>,
    /// `[expect] ended_at = "40s"`: when the simulation ended.
    pub ended_at: Option<Millis>,
    /// `[expect.JOB]` tables, in file order.
    pub jobs: Vec<JobExpect>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectedExpect {
    Count(usize),
    /// Each `"TIME INTERVENTION: ERROR"`.
    List(Vec<String>),
}

/// `[expect.JOB]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobExpect {
    pub job: String,
    pub state: Option<JobState>,
    /// `Some(None)`: expected NULL (`error_code = "null"`).
    pub error_code: Option<Option<i64>>,
    pub steps: Vec<(String, StepExpect)>,
    pub log_rows: Option<usize>,
    /// `Some(None)`: expected not ended (`ended_at = "null"`).
    pub ended_at: Option<Option<Millis>>,
    pub started_at: Option<Millis>,
    /// `Some(None)`: expected never ENQUEUED (`enqueued_at = "null"`).
    pub enqueued_at: Option<Option<Millis>>,
    pub attempts: Vec<(String, u32)>,
    /// Step subname → expected `started_at` (`None` = null).
    pub step_started: Vec<(String, Option<Millis>)>,
    pub step_ended: Vec<(String, Option<Millis>)>,
    /// Exact job-log rows of this job, as `"SUBNAME OPERATION STATUS CODE"`
    /// (the chain job's own row uses `(chain)` for its subname).
    pub log: Option<Vec<String>>,
    /// Exact notifications owed for this job, as `"TIME NOTIFY EVENT [STEP]"`.
    pub notifications: Option<Vec<String>>,
    /// Job variables at the end (`variables = { REGION = "EU", OLD = "null" }`; `None`:
    /// expected unset, i.e. neither set by a step nor a parameter).
    pub variables: Vec<(String, Option<String>)>,
}

/// `"FAILED 20001"`, `"SUCCEEDED"`, `"RETRY SCHEDULED"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepExpect {
    pub state: StepState,
    pub error_code: Option<i64>,
}

impl fmt::Display for StepExpect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.error_code {
            Some(c) => write!(f, "{} {c}", self.state.as_str()),
            None => write!(f, "{}", self.state.as_str()),
        }
    }
}

// ------------------------------------------------------------------------------- loading

impl Scenario {
    /// Read and parse a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            file: file.clone(),
            key: String::new(),
            message: format!("cannot read the scenario file: {e}"),
        })?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Scenario::parse(&file, &dir, &text)
    }

    /// Parse scenario text; `dir` is the folder `[settings] rules` are relative to.
    pub fn parse(file: &str, dir: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        let cx = Cx { file };
        let root: Table = text.parse::<Table>().map_err(|e| ScenarioError {
            file: file.to_string(),
            key: String::new(),
            message: format!("not valid TOML: {}", e.to_string().trim_end()),
        })?;
        cx.check_keys(&root, "", &["job", "at", "settings", "expect"])?;

        let mut jobs = Vec::new();
        match root.get("job") {
            None => return Err(cx.err("", "no [[job]] table: a scenario runs at least one job")),
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let key = format!("job[{}]", i + 1);
                    let t = cx.table(item, &key)?;
                    jobs.push(cx.job(t, &key)?);
                }
            }
            Some(_) => return Err(cx.err("job", "must be written as [[job]] tables")),
        }
        if jobs.is_empty() {
            return Err(cx.err("job", "no job: a scenario runs at least one job"));
        }
        for (i, a) in jobs.iter().enumerate() {
            for b in &jobs[..i] {
                if let (Some(na), Some(nb)) = (&a.name, &b.name) {
                    if na == nb {
                        return Err(cx.err(
                            &format!("{}.name", a.key),
                            &format!("job name {na} is already used by {}", b.key),
                        ));
                    }
                }
            }
        }

        let mut interventions = Vec::new();
        match root.get("at") {
            None => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let key = format!("at[{}]", i + 1);
                    let t = cx.table(item, &key)?;
                    interventions.push(cx.intervention(t, &key)?);
                }
            }
            Some(_) => return Err(cx.err("at", "must be written as [[at]] tables")),
        }

        let mut until = DEFAULT_UNTIL;
        let mut rules = None;
        if let Some(v) = root.get("settings") {
            let t = cx.table(v, "settings")?;
            cx.check_keys(t, "settings", &["until", "rules"])?;
            if let Some(v) = t.get("until") {
                until = cx.duration(v, "settings.until")?;
            }
            if let Some(v) = t.get("rules") {
                let list = cx.string_list(v, "settings.rules")?;
                if list.is_empty() {
                    return Err(cx.err(
                        "settings.rules",
                        "is empty: name at least one rule file or folder",
                    ));
                }
                rules = Some(list.iter().map(|r| dir.join(r)).collect());
            }
        }

        let expect = match root.get("expect") {
            None => None,
            Some(v) => {
                let t = cx.table(v, "expect")?;
                Some(cx.expectations(t)?)
            }
        };

        Ok(Scenario {
            file: file.to_string(),
            jobs,
            interventions,
            until,
            rules,
            expect,
        })
    }

    /// Check the scenario's chain and step names against the catalog and put them in their
    /// canonical (rule-file) spelling. Errors name the key and the nearest existing name.
    pub fn bind(&mut self, catalog: &Catalog) -> Result<(), ScenarioError> {
        let file = self.file.clone();
        let err = |key: String, message: String| ScenarioError {
            file: file.clone(),
            key,
            message,
        };
        for job in &mut self.jobs {
            if let Some(d) = &job.definition {
                let names = catalog.jobs.keys().map(|k| k.as_str());
                let Some(name) = super::names::match_name(d, names.clone()) else {
                    let hint = did_you_mean(nearest_name(d, names).as_deref());
                    return Err(err(
                        format!("{}.definition", job.key),
                        format!("unknown job definition {d}{hint}"),
                    ));
                };
                if job.chain.is_empty() {
                    let chain = catalog.jobs[&name].chain.clone().unwrap_or_default();
                    job.chain = chain;
                }
                job.definition = Some(name);
            }
            let chain = resolve_chain(catalog, &job.chain)
                .map_err(|m| err(format!("{}.chain", job.key), m))?;
            job.chain = chain.clone();
            let Some(def) = catalog.chains.get(&chain) else {
                return Err(err(
                    format!("{}.chain", job.key),
                    format!("unknown chain {chain}"),
                ));
            };
            for s in &mut job.start_steps {
                if s.contains('.') {
                    return Err(err(
                        format!("{}.start_steps", job.key),
                        format!("{s}: start steps are steps of the job's own chain {chain}, not of nested chains"),
                    ));
                }
                let r = resolve_subname(catalog, &chain, s)
                    .map_err(|m| err(format!("{}.start_steps", job.key), m))?;
                *s = r.subname;
            }
            for (s, _) in &mut job.step_states {
                let r = resolve_subname(catalog, &chain, s)
                    .map_err(|m| err(format!("{}.step_states.{s}", job.key), m))?;
                *s = r.subname;
            }
            let mut outcomes = BTreeMap::new();
            for (s, attempts) in std::mem::take(&mut job.outcomes) {
                let key = format!("{}.outcomes.{s}", job.key);
                let r = resolve_subname(catalog, &chain, &s).map_err(|m| err(key.clone(), m))?;
                match &r.target {
                    StepTarget::Program(_) => {}
                    StepTarget::Event { name, .. } => {
                        return Err(err(
                            key,
                            format!(
                                "step {} is an event step: it completes when event {name} is raised (use an [[at]] event), not by a scripted outcome",
                                r.subname
                            ),
                        ))
                    }
                    StepTarget::Chain(inner) => {
                        return Err(err(
                            key,
                            format!(
                                "step {} runs the nested chain {inner}: it ends when that chain ends; script the outcomes of its steps (\"{}.STEP\")",
                                r.subname, r.subname
                            ),
                        ))
                    }
                }
                if outcomes.insert(r.subname.clone(), attempts).is_some() {
                    return Err(err(key, format!("step {} has outcomes twice", r.subname)));
                }
            }
            job.outcomes = outcomes;
            let _ = def;
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------------- walking

struct Cx<'a> {
    file: &'a str,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

impl Cx<'_> {
    fn err(&self, key: &str, message: &str) -> ScenarioError {
        ScenarioError {
            file: self.file.to_string(),
            key: key.to_string(),
            message: message.to_string(),
        }
    }

    fn check_keys(&self, t: &Table, path: &str, allowed: &[&str]) -> Result<(), ScenarioError> {
        for k in t.keys() {
            if !allowed.contains(&k.as_str()) {
                let hint = match nearest_name(k, allowed.iter().copied()) {
                    Some(s) => format!(" (did you mean {}?)", s.to_lowercase()),
                    None => String::new(),
                };
                return Err(self.err(
                    &join(path, k),
                    &format!("unknown key{hint}; expected one of: {}", allowed.join(", ")),
                ));
            }
        }
        Ok(())
    }

    fn table<'v>(&self, v: &'v Value, key: &str) -> Result<&'v Table, ScenarioError> {
        match v {
            Value::Table(t) => Ok(t),
            other => Err(self.err(
                key,
                &format!("expected a table, found {}", type_name(other)),
            )),
        }
    }

    fn string(&self, v: &Value, key: &str) -> Result<String, ScenarioError> {
        match v {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Value::String(_) => Err(self.err(key, "is empty")),
            other => Err(self.err(
                key,
                &format!("expected a string, found {}", type_name(other)),
            )),
        }
    }

    fn opt_string(
        &self,
        t: &Table,
        path: &str,
        key: &str,
    ) -> Result<Option<String>, ScenarioError> {
        t.get(key)
            .map(|v| self.string(v, &join(path, key)))
            .transpose()
    }

    fn req_string(&self, t: &Table, path: &str, key: &str) -> Result<String, ScenarioError> {
        match t.get(key) {
            Some(v) => self.string(v, &join(path, key)),
            None => Err(self.err(path, &format!("missing key `{key}`"))),
        }
    }

    fn bool(&self, v: &Value, key: &str) -> Result<bool, ScenarioError> {
        match v {
            Value::Boolean(b) => Ok(*b),
            other => Err(self.err(
                key,
                &format!("expected true or false, found {}", type_name(other)),
            )),
        }
    }

    fn duration(&self, v: &Value, key: &str) -> Result<Millis, ScenarioError> {
        let text = match v {
            Value::String(s) => s,
            other => {
                return Err(self.err(
                    key,
                    &format!(
                        "expected a duration string such as \"5s\", found {}",
                        type_name(other)
                    ),
                ))
            }
        };
        parse_duration_decimal(text).ok_or_else(|| {
            self.err(
                key,
                &format!("\"{text}\" is not a duration; write e.g. \"5s\", \"1m30s\", \"0.5s\", \"500ms\", \"01:00:00\""),
            )
        })
    }

    fn string_list(&self, v: &Value, key: &str) -> Result<Vec<String>, ScenarioError> {
        match v {
            Value::String(_) => Ok(vec![self.string(v, key)?]),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, x)| self.string(x, &format!("{key}[{}]", i + 1)))
                .collect(),
            other => Err(self.err(
                key,
                &format!("expected an array of strings, found {}", type_name(other)),
            )),
        }
    }

    fn scalar_text(&self, v: &Value, key: &str) -> Result<String, ScenarioError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Integer(i) => Ok(i.to_string()),
            Value::Float(f) => Ok(f.to_string()),
            Value::Boolean(b) => Ok(b.to_string()),
            other => Err(self.err(
                key,
                &format!("expected a string or a number, found {}", type_name(other)),
            )),
        }
    }

    // ----------------------------------------------------------------------- [[job]]

    fn job(&self, t: &Table, key: &str) -> Result<JobSpec, ScenarioError> {
        self.check_keys(
            t,
            key,
            &[
                "name",
                "chain",
                "definition",
                "group",
                "at",
                "start_steps",
                "step_states",
                "parameters",
                "outcomes",
            ],
        )?;
        let name = self.opt_string(t, key, "name")?;
        let definition = self.opt_string(t, key, "definition")?;
        let group = self.opt_string(t, key, "group")?;
        let chain = match definition {
            Some(_) => self.opt_string(t, key, "chain")?.unwrap_or_default(),
            None => self.req_string(t, key, "chain")?,
        };
        let at = match t.get("at") {
            Some(v) => self.duration(v, &join(key, "at"))?,
            None => 0,
        };
        let start_steps = match t.get("start_steps") {
            Some(v) => self.string_list(v, &join(key, "start_steps"))?,
            None => Vec::new(),
        };
        let mut step_states = Vec::new();
        if let Some(v) = t.get("step_states") {
            let path = join(key, "step_states");
            for (step, state) in self.table(v, &path)? {
                let k = join(&path, step);
                let text = self.string(state, &k)?;
                let st = PresetState::parse(&text).map_err(|m| self.err(&k, &m))?;
                step_states.push((step.clone(), st));
            }
        }
        let mut parameters = BTreeMap::new();
        if let Some(v) = t.get("parameters") {
            let path = join(key, "parameters");
            for (p, value) in self.table(v, &path)? {
                let text = self.scalar_text(value, &join(&path, p))?;
                parameters.insert(p.to_uppercase(), text);
            }
        }
        let mut outcomes = BTreeMap::new();
        if let Some(v) = t.get("outcomes") {
            let path = join(key, "outcomes");
            for (step, o) in self.table(v, &path)? {
                let k = join(&path, step);
                let attempts = match o {
                    Value::Array(items) => {
                        if items.is_empty() {
                            return Err(
                                self.err(&k, "is an empty array: give at least one attempt")
                            );
                        }
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, x)| self.attempt(x, &format!("{k}[{}]", i + 1)))
                            .collect::<Result<Vec<_>, _>>()?
                    }
                    other => vec![self.attempt(other, &k)?],
                };
                outcomes.insert(step.clone(), attempts);
            }
        }
        Ok(JobSpec {
            key: key.to_string(),
            name,
            chain,
            definition,
            group,
            at,
            start_steps,
            step_states,
            parameters,
            outcomes,
        })
    }

    fn attempt(&self, v: &Value, key: &str) -> Result<Attempt, ScenarioError> {
        match v {
            Value::String(s) => Ok(Attempt {
                result: self.result(s, key)?,
                duration: None,
                set: Vec::new(),
            }),
            Value::Table(t) => {
                self.check_keys(t, key, &["result", "duration", "set"])?;
                let result = match t.get("result") {
                    Some(r) => {
                        let text = self.string(r, &join(key, "result"))?;
                        self.result(&text, &join(key, "result"))?
                    }
                    None => Scripted::Ok,
                };
                let duration = t
                    .get("duration")
                    .map(|d| self.duration(d, &join(key, "duration")))
                    .transpose()?;
                let set = match t.get("set") {
                    Some(v) => self.variables(v, &join(key, "set"))?,
                    None => Vec::new(),
                };
                Ok(Attempt {
                    result,
                    duration,
                    set,
                })
            }
            other => Err(self.err(
                key,
                &format!(
                    "expected an outcome (\"ok\", \"fail N\", \"stop\", {{ result = ..., duration = ... }} or an array of them), found {}",
                    type_name(other)
                ),
            )),
        }
    }

    /// `set = { NAME = "value", ... }`: string values (numbers and booleans are written as
    /// text, as a step would print them); names must be valid variable names.
    fn variables(&self, v: &Value, key: &str) -> Result<Vec<(String, String)>, ScenarioError> {
        let Value::Table(t) = v else {
            return Err(self.err(
                key,
                &format!(
                    "expected a table of variables ({{ REGION = \"EU\" }}), found {}",
                    type_name(v)
                ),
            ));
        };
        let mut out = Vec::with_capacity(t.len());
        for (name, value) in t {
            let path = join(key, name);
            let upper = name.to_ascii_uppercase();
            if !crate::core::types::valid_variable_name(&upper) {
                return Err(self.err(
                    &path,
                    &format!(
                        "\"{name}\" is not a variable name (a letter or _, then letters, \
                         digits, _, $ or #; at most 128 characters)"
                    ),
                ));
            }
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Integer(n) => n.to_string(),
                Value::Float(f) => f.to_string(),
                Value::Boolean(b) => b.to_string(),
                other => {
                    return Err(self.err(
                        &path,
                        &format!("expected a string value, found {}", type_name(other)),
                    ))
                }
            };
            out.push((upper, text));
        }
        Ok(out)
    }

    fn result(&self, text: &str, key: &str) -> Result<Scripted, ScenarioError> {
        let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["ok"] | ["succeeded"] => Ok(Scripted::Ok),
            ["stop"] | ["stopped"] => Ok(Scripted::Stop),
            ["fail", n] | ["failed", n] => match n.parse::<i64>() {
                Ok(n) if n > 0 => Ok(Scripted::Fail(n)),
                _ => Err(self.err(
                    key,
                    &format!("\"{text}\": the error code of a failure must be a positive integer"),
                )),
            },
            ["fail"] | ["failed"] => Err(self.err(
                key,
                &format!("\"{text}\": a failure needs its error code, e.g. \"fail 20100\""),
            )),
            _ => Err(self.err(
                key,
                &format!(
                    "\"{text}\" is not an outcome; write \"ok\", \"fail N\" (N > 0) or \"stop\""
                ),
            )),
        }
    }

    // ----------------------------------------------------------------------- [[at]]

    fn intervention(&self, t: &Table, key: &str) -> Result<Intervention, ScenarioError> {
        const KINDS: [&str; 9] = [
            "alter",
            "alter_chain",
            "define_rule",
            "drop_rule",
            "drop_step",
            "evaluate",
            "event",
            "restart",
            "stop",
        ];
        let mut allowed = vec!["time"];
        allowed.extend(KINDS);
        self.check_keys(t, key, &allowed)?;
        let time = match t.get("time") {
            Some(v) => self.duration(v, &join(key, "time"))?,
            None => {
                return Err(self.err(
                    key,
                    "missing key `time` (when the intervention happens, e.g. \"3s\")",
                ))
            }
        };
        let present: Vec<&str> = KINDS
            .iter()
            .copied()
            .filter(|k| t.contains_key(*k))
            .collect();
        let kind = match present.as_slice() {
            [one] => *one,
            [] => {
                return Err(self.err(
                    key,
                    &format!("no intervention: give exactly one of {}", KINDS.join(", ")),
                ))
            }
            many => {
                return Err(self.err(
                    key,
                    &format!(
                        "{} in one [[at]]: give exactly one intervention per [[at]] (repeat [[at]] with the same time)",
                        many.join(" and ")
                    ),
                ))
            }
        };
        let path = join(key, kind);
        let body = self.table(&t[kind], &path)?;
        let action = match kind {
            "alter" => {
                self.check_keys(
                    body,
                    &path,
                    &[
                        "job",
                        "step",
                        "pause",
                        "pause_before",
                        "skip",
                        "state",
                        "restart_on_failure",
                        "restart_on_recovery",
                        "timeout",
                    ],
                )?;
                Action::Alter {
                    job: self.req_string(body, &path, "job")?,
                    step: self.opt_string(body, &path, "step")?,
                    change: self.alter_spec(body, &path)?,
                }
            }
            "alter_chain" => {
                self.check_keys(
                    body,
                    &path,
                    &[
                        "chain",
                        "step",
                        "pause",
                        "pause_before",
                        "skip",
                        "restart_on_failure",
                        "restart_on_recovery",
                        "timeout",
                    ],
                )?;
                Action::AlterChain {
                    chain: self.req_string(body, &path, "chain")?,
                    step: self.opt_string(body, &path, "step")?,
                    change: self.alter_spec(body, &path)?,
                }
            }
            "define_rule" => {
                self.check_keys(body, &path, &["chain", "name", "when", "then"])?;
                Action::DefineRule {
                    chain: self.req_string(body, &path, "chain")?,
                    name: self.req_string(body, &path, "name")?,
                    when: self.req_string(body, &path, "when")?,
                    then: self.req_string(body, &path, "then")?,
                }
            }
            "drop_rule" => {
                self.check_keys(body, &path, &["chain", "rule"])?;
                Action::DropRule {
                    chain: self.req_string(body, &path, "chain")?,
                    rule: self.req_string(body, &path, "rule")?,
                }
            }
            "drop_step" => {
                self.check_keys(body, &path, &["chain", "step", "force"])?;
                Action::DropStep {
                    chain: self.req_string(body, &path, "chain")?,
                    step: self.req_string(body, &path, "step")?,
                    force: match body.get("force") {
                        Some(v) => self.bool(v, &join(&path, "force"))?,
                        None => false,
                    },
                }
            }
            "restart" => {
                self.check_keys(body, &path, &["job", "from"])?;
                Action::Restart {
                    job: self.req_string(body, &path, "job")?,
                    from: match body.get("from") {
                        Some(v) => self.string_list(v, &join(&path, "from"))?,
                        None => Vec::new(),
                    },
                }
            }
            "evaluate" => {
                self.check_keys(body, &path, &["job"])?;
                Action::Evaluate {
                    job: self.req_string(body, &path, "job")?,
                }
            }
            "event" => {
                self.check_keys(body, &path, &["name", "payload", "job"])?;
                let payload = match body.get("payload") {
                    None => serde_json::Value::Null,
                    Some(Value::Table(p)) => toml_to_json(&Value::Table(p.clone())),
                    Some(other) => {
                        return Err(self.err(
                            &join(&path, "payload"),
                            &format!("expected a table of fields, found {}", type_name(other)),
                        ))
                    }
                };
                Action::Event {
                    name: self.req_string(body, &path, "name")?,
                    payload,
                    job: self.opt_string(body, &path, "job")?,
                }
            }
            _ => {
                self.check_keys(body, &path, &["job", "step"])?;
                Action::Stop {
                    job: self.req_string(body, &path, "job")?,
                    step: self.opt_string(body, &path, "step")?,
                }
            }
        };
        Ok(Intervention {
            key: key.to_string(),
            time,
            action,
        })
    }

    fn alter_spec(&self, body: &Table, path: &str) -> Result<AlterSpec, ScenarioError> {
        let flag = |k: &str| {
            body.get(k)
                .map(|v| self.bool(v, &join(path, k)))
                .transpose()
        };
        let spec = AlterSpec {
            pause: flag("pause")?,
            pause_before: flag("pause_before")?,
            skip: flag("skip")?,
            state: match body.get("state") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => {
                    return Err(self.err(
                        &join(path, "state"),
                        &format!(
                            "expected a string such as \"SUCCEEDED\", found {}",
                            type_name(other)
                        ),
                    ))
                }
                None => None,
            },
            restart_on_failure: flag("restart_on_failure")?,
            restart_on_recovery: flag("restart_on_recovery")?,
            timeout: match body.get("timeout") {
                None => None,
                Some(Value::String(t)) if t.trim().eq_ignore_ascii_case("none") => Some(0),
                Some(Value::String(t)) => match crate::lang::duration::parse_duration(t.trim()) {
                    Some(ms) if ms > 0 => Some(ms),
                    _ => {
                        return Err(self.err(
                            &join(path, "timeout"),
                            &format!("\"{t}\" is not a duration such as \"30m\" (or \"none\")"),
                        ))
                    }
                },
                Some(other) => {
                    return Err(self.err(
                        &join(path, "timeout"),
                        &format!(
                            "expected a duration such as \"30m\", found {}",
                            type_name(other)
                        ),
                    ))
                }
            },
        };
        if spec == AlterSpec::default() {
            return Err(self.err(
                path,
                "changes nothing: set pause, pause_before, skip, state, restart_on_failure, \
                 restart_on_recovery or timeout",
            ));
        }
        Ok(spec)
    }

    // ----------------------------------------------------------------------- [expect]

    fn expectations(&self, t: &Table) -> Result<Expectations, ScenarioError> {
        let mut out = Expectations::default();
        for (k, v) in t {
            let key = join("expect", k);
            match (k.as_str(), v) {
                (_, Value::Table(jt)) => out.jobs.push(self.job_expect(k, jt, &key)?),
                ("rejected", Value::Integer(n)) if *n >= 0 => out.rejected = Some(RejectedExpect::Count(*n as usize)),
                ("rejected", Value::Array(_)) => out.rejected = Some(RejectedExpect::List(self.string_list(v, &key)?)),
                ("rejected", other) => {
                    return Err(self.err(
                        &key,
                        &format!("expected a count or an array of \"TIME INTERVENTION: ERROR\" strings, found {}", type_name(other)),
                    ))
                }
                ("ended_at", v) => out.ended_at = Some(self.duration(v, &key)?),
                (_, other) => {
                    return Err(self.err(
                        &key,
                        &format!(
                            "expected a [expect.{k}] table of a job's expectations, found {} (the only other keys are `rejected` and `ended_at`)",
                            type_name(other)
                        ),
                    ))
                }
            }
        }
        Ok(out)
    }

    fn job_expect(&self, job: &str, t: &Table, key: &str) -> Result<JobExpect, ScenarioError> {
        self.check_keys(
            t,
            key,
            &[
                "state",
                "error_code",
                "steps",
                "log_rows",
                "ended_at",
                "started_at",
                "enqueued_at",
                "attempts",
                "step_started",
                "step_ended",
                "log",
                "notifications",
                "variables",
            ],
        )?;
        let mut e = JobExpect {
            job: job.to_string(),
            ..JobExpect::default()
        };
        if let Some(v) = t.get("state") {
            let k = join(key, "state");
            let text = self.string(v, &k)?;
            e.state = Some(parse_job_state(&text).ok_or_else(|| {
                self.err(
                    &k,
                    &format!("\"{text}\" is not a job state (ENQUEUED, RUNNING, CHAIN_STALLED, SUCCEEDED, FAILED, STOPPED)"),
                )
            })?);
        }
        if let Some(v) = t.get("error_code") {
            let k = join(key, "error_code");
            e.error_code = Some(match v {
                Value::Integer(n) => Some(*n),
                Value::String(s) if s.eq_ignore_ascii_case("null") => None,
                other => {
                    return Err(self.err(
                        &k,
                        &format!(
                            "expected an integer or \"null\", found {}",
                            type_name(other)
                        ),
                    ))
                }
            });
        }
        if let Some(v) = t.get("steps") {
            let path = join(key, "steps");
            for (s, st) in self.table(v, &path)? {
                let k = join(&path, s);
                let text = self.string(st, &k)?;
                e.steps.push((
                    s.clone(),
                    parse_step_expect(&text).map_err(|m| self.err(&k, &m))?,
                ));
            }
        }
        if let Some(v) = t.get("log_rows") {
            e.log_rows = Some(self.count(v, &join(key, "log_rows"))?);
        }
        if let Some(v) = t.get("ended_at") {
            e.ended_at = Some(self.opt_duration(v, &join(key, "ended_at"))?);
        }
        if let Some(v) = t.get("started_at") {
            e.started_at = Some(self.duration(v, &join(key, "started_at"))?);
        }
        if let Some(v) = t.get("enqueued_at") {
            e.enqueued_at = Some(self.opt_duration(v, &join(key, "enqueued_at"))?);
        }
        if let Some(v) = t.get("attempts") {
            let path = join(key, "attempts");
            for (s, n) in self.table(v, &path)? {
                e.attempts
                    .push((s.clone(), self.count(n, &join(&path, s))? as u32));
            }
        }
        for (name, field) in [
            ("step_started", &mut e.step_started),
            ("step_ended", &mut e.step_ended),
        ] {
            if let Some(v) = t.get(name) {
                let path = join(key, name);
                for (s, d) in self.table(v, &path)? {
                    field.push((s.clone(), self.opt_duration(d, &join(&path, s))?));
                }
            }
        }
        if let Some(v) = t.get("variables") {
            let path = join(key, "variables");
            for (name, value) in self.table(v, &path)? {
                let text = self.string(value, &join(&path, name))?;
                let value = (!text.eq_ignore_ascii_case("null")).then_some(text);
                e.variables.push((name.to_ascii_uppercase(), value));
            }
        }
        if let Some(v) = t.get("log") {
            let k = join(key, "log");
            let rows = match v {
                Value::Array(a) if a.is_empty() => Vec::new(),
                _ => self.string_list(v, &k)?,
            };
            e.log = Some(rows.iter().map(|r| normalize_log_expect(r)).collect());
        }
        if let Some(v) = t.get("notifications") {
            let k = join(key, "notifications");
            let rows = match v {
                Value::Array(a) if a.is_empty() => Vec::new(),
                _ => self.string_list(v, &k)?,
            };
            e.notifications = Some(
                rows.iter()
                    .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
                    .collect(),
            );
        }
        Ok(e)
    }

    fn count(&self, v: &Value, key: &str) -> Result<usize, ScenarioError> {
        match v {
            Value::Integer(n) if *n >= 0 && *n <= u32::MAX as i64 => Ok(*n as usize),
            other => Err(self.err(
                key,
                &format!(
                    "expected a non-negative integer, found {}",
                    type_name(other)
                ),
            )),
        }
    }

    fn opt_duration(&self, v: &Value, key: &str) -> Result<Option<Millis>, ScenarioError> {
        match v {
            Value::String(s) if s.eq_ignore_ascii_case("null") => Ok(None),
            _ => self.duration(v, key).map(Some),
        }
    }
}

/// Collapse whitespace and upper-case the operation/status words of a `log` expectation.
fn normalize_log_expect(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn parse_job_state(text: &str) -> Option<JobState> {
    let t = text.trim().to_uppercase().replace(' ', "_");
    [
        JobState::Enqueued,
        JobState::Running,
        JobState::ChainStalled,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Stopped,
    ]
    .into_iter()
    .find(|s| s.as_str() == t)
}

fn parse_step_state(text: &str) -> Option<StepState> {
    let t = text.trim().to_uppercase().replace('_', " ");
    [
        StepState::NotStarted,
        StepState::Scheduled,
        StepState::Running,
        StepState::RetryScheduled,
        StepState::Paused,
        StepState::Stalled,
        StepState::Succeeded,
        StepState::Failed,
        StepState::Stopped,
    ]
    .into_iter()
    .find(|s| s.as_str().replace('_', " ") == t)
}

/// `"FAILED 20001"`, `"SUCCEEDED"`, `"RETRY SCHEDULED"`, `"NOT_STARTED"`.
pub fn parse_step_expect(text: &str) -> Result<StepExpect, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let bad = || {
        format!(
            "\"{text}\" is not a step state; write NOT_STARTED, SCHEDULED, RUNNING, \"RETRY SCHEDULED\", PAUSED, STALLED, SUCCEEDED, FAILED, \"FAILED 20001\" or STOPPED"
        )
    };
    if let Some(state) = parse_step_state(text) {
        return Ok(StepExpect {
            state,
            error_code: None,
        });
    }
    match words.as_slice() {
        [state, code] => {
            let state = parse_step_state(state).ok_or_else(bad)?;
            let code = code.parse::<i64>().map_err(|_| bad())?;
            Ok(StepExpect {
                state,
                error_code: Some(code),
            })
        }
        _ => Err(bad()),
    }
}

/// TOML → JSON (event payloads).
pub fn toml_to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Integer(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::Boolean(b) => serde_json::Value::Bool(*b),
        Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        Value::Array(a) => serde_json::Value::Array(a.iter().map(toml_to_json).collect()),
        Value::Table(t) => serde_json::Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse("t.scenario.toml", Path::new("dir"), text)
    }

    #[test]
    fn full_example_parses() {
        let s = parse(
            r#"
[[job]]
name = "J1"
chain = "C14"
at = "0.5s"
start_steps = ["B"]
step_states = { A = "SUCCEEDED", C = "FAILED 20009" }
parameters = { deptno = 10 }
[job.outcomes]
A = "fail 20100"
B = { result = "ok", duration = "5s" }
R = ["fail 20001", "fail 20001", "ok"]
"N.I1" = "ok"
W = "stop"

[[at]]
time = "2s"
alter = { job = "J1", step = "B", skip = true }
[[at]]
time = "10s"
event = { name = "FILE_ARRIVED", payload = { file = "sales.csv", size = 3 } }
[[at]]
time = "100s"
stop = { job = "J1" }

[settings]
until = "1d"
rules = ["loan.chain"]

[expect]
rejected = 0
[expect.J1]
state = "SUCCEEDED"
error_code = 0
steps = { A = "FAILED 20001", B = "SUCCEEDED", C = "RETRY SCHEDULED" }
log_rows = 3
"#,
        )
        .expect("parses");
        let j = &s.jobs[0];
        assert_eq!(j.at, 500);
        assert_eq!(j.parameters.get("DEPTNO").map(String::as_str), Some("10"));
        assert_eq!(
            j.step_states[1],
            ("C".to_string(), PresetState::Failed(20009))
        );
        assert_eq!(j.outcomes["R"].len(), 3);
        assert_eq!(j.outcomes["B"][0].duration, Some(5000));
        assert_eq!(j.outcomes["W"][0].result, Scripted::Stop);
        assert_eq!(s.interventions.len(), 3);
        assert_eq!(s.until, 86_400_000);
        assert_eq!(s.rules, Some(vec![Path::new("dir").join("loan.chain")]));
        let e = s.expect.expect("expect");
        assert_eq!(e.rejected, Some(RejectedExpect::Count(0)));
        assert_eq!(e.jobs[0].steps[2].1.state, StepState::RetryScheduled);
        match &s.interventions[1].action {
            Action::Event { payload, .. } => assert_eq!(payload["size"], 3),
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn errors_name_file_and_key() {
        let e = parse("[[job]]\nchain = \"C\"\n[job.outcomes]\nA = \"fial 20100\"\n").unwrap_err();
        assert_eq!(e.key, "job[1].outcomes.A");
        assert!(e
            .to_string()
            .starts_with("t.scenario.toml: job[1].outcomes.A: \"fial 20100\" is not an outcome"));

        let e = parse("[[job]]\nchian = \"C\"\n").unwrap_err();
        assert_eq!(e.key, "job[1].chian");
        assert!(e.message.contains("did you mean chain?"), "{}", e.message);

        let e = parse("[[job]]\nchain = \"C\"\nat = \"5 seconds\"\n").unwrap_err();
        assert!(e.message.contains("is not a duration"));

        let e = parse("[[job]]\nchain = \"C\"\n[[at]]\ntime = \"1s\"\nevaluate = { job = \"J\" }\nstop = { job = \"J\" }\n").unwrap_err();
        assert!(
            e.message.contains("exactly one intervention"),
            "{}",
            e.message
        );

        let e = parse("[[job\nchain = 1").unwrap_err();
        assert!(e.message.starts_with("not valid TOML"), "{}", e.message);

        let e = parse("[settings]\nuntil = \"1d\"\n").unwrap_err();
        assert!(e.message.contains("no [[job]]"));

        let e =
            parse("[[job]]\nchain = \"C\"\n[expect.J1]\nsteps = { A = \"DONE\" }\n").unwrap_err();
        assert_eq!(e.key, "expect.J1.steps.A");
    }

    #[test]
    fn step_expectations() {
        assert_eq!(
            parse_step_expect("FAILED 20001"),
            Ok(StepExpect {
                state: StepState::Failed,
                error_code: Some(20001)
            })
        );
        assert_eq!(
            parse_step_expect("retry scheduled").map(|s| s.state),
            Ok(StepState::RetryScheduled)
        );
        assert_eq!(
            parse_step_expect("NOT_STARTED").map(|s| s.state),
            Ok(StepState::NotStarted)
        );
        assert!(parse_step_expect("FAILED x").is_err());
    }
}
