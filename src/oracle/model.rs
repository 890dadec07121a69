//! What the translator builds from the calls and the writer prints: programs, chains, jobs,
//! and the warnings, each attached to the object it concerns (so the writer can put the
//! `-- import-oracle:` comment right above it).

use crate::lang::duration::Millis;
use crate::lang::span::Span;
use std::collections::BTreeMap;

/// Where a warning belongs in the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    File,
    Program(String),
    Chain(String),
    Step(String, String),
    /// Chain name and [`Rule::id`].
    Rule(String, usize),
    Job(String),
}

/// A warning: where it goes in the output, the script line it comes from, what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub anchor: Anchor,
    pub line: usize,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProgramKind {
    Executable(String),
    Shell(String),
    Handler(String),
}

/// One DEFINE_PROGRAM_ARGUMENT.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArgDef {
    pub name: Option<String>,
    pub default: Option<String>,
    /// Set for metadata/AnyData arguments, which cannot be given a value here.
    pub unsupported: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub name: String,
    pub kind: ProgramKind,
    pub number_of_arguments: usize,
    /// By position (from 1).
    pub argument_defs: BTreeMap<usize, ArgDef>,
    /// Written after finishing: literal defaults or `${NAME}` references.
    pub arguments: Vec<String>,
    pub comment: Option<String>,
    /// Oracle code that cannot run here (PL/SQL block, SQL script), kept as comment lines.
    pub original_code: Option<String>,
    /// The call that created it (for a placeholder: the step that needs it).
    pub span: Span,
    /// `check` refuses it: written commented out.
    pub commented: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepAttrs {
    pub skip: bool,
    pub pause: bool,
    pub pause_before: bool,
    pub restart_on_recovery: bool,
    pub restart_on_failure: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A program, or a chain: DEFINE_CHAIN_STEP names either (resolved when finishing).
    Program(String),
    Chain(String),
    Event {
        event: String,
        /// A payload condition in rule-file syntax.
        payload_where: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: String,
    pub target: Target,
    pub attrs: StepAttrs,
    /// The DEFINE_CHAIN_STEP that defined it.
    pub span: Span,
    /// `check` refuses it: written commented out.
    pub commented: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Unique within the import, for [`Anchor::Rule`].
    pub id: usize,
    pub name: Option<String>,
    pub condition: String,
    pub action: String,
    pub comment: Option<String>,
    /// The rule language (or `check`) rejects it: written commented out.
    pub rejected: bool,
    /// The DEFINE_CHAIN_RULE that defined it.
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    pub name: String,
    pub comment: Option<String>,
    pub evaluation_interval: Option<Millis>,
    pub steps: Vec<Step>,
    pub rules: Vec<Rule>,
    /// The CREATE_CHAIN (or the first call that needed it).
    pub span: Span,
    /// `check` refuses it: written commented out.
    pub commented: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub name: String,
    pub chain: String,
    pub schedule: Option<String>,
    pub parameters: Vec<(String, String)>,
    pub restartable: bool,
    pub max_run_duration: Option<Millis>,
    pub comment: Option<String>,
    pub enabled: bool,
    /// start_date and end_date as local times (`YYYY-MM-DD HH:MM:SS`), and the time zone
    /// written with the start date (Oracle takes the job's time zone from it).
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub time_zone: Option<String>,
    pub max_runs: Option<u64>,
    pub max_failures: Option<u64>,
    /// An event-based job: the event name and the translated payload condition.
    pub on_event: Option<(String, Option<String>)>,
    /// The CREATE_JOB.
    pub span: Span,
    /// `check` refuses it: written commented out.
    pub commented: bool,
}

/// CREATE_SCHEDULE / CREATE_EVENT_SCHEDULE, kept to be inlined where they are used.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    Calendar(String),
    Event {
        condition: String,
        queue_spec: Option<String>,
    },
}

/// The whole translation.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub programs: Vec<Program>,
    pub chains: Vec<Chain>,
    pub jobs: Vec<Job>,
    pub schedules: BTreeMap<String, Schedule>,
    /// Where each schedule was created.
    pub schedule_spans: BTreeMap<String, Span>,
    pub notes: Vec<Note>,
}

impl Model {
    pub fn program_mut(&mut self, name: &str) -> Option<&mut Program> {
        self.programs.iter_mut().find(|p| p.name == name)
    }
    pub fn chain_mut(&mut self, name: &str) -> Option<&mut Chain> {
        self.chains.iter_mut().find(|c| c.name == name)
    }
    pub fn job_mut(&mut self, name: &str) -> Option<&mut Job> {
        self.jobs.iter_mut().find(|j| j.name == name)
    }
}

/// An Oracle object name as the Scheduler stores it: the schema (`SCOTT.`) dropped, upper
/// case unless written in double quotes (`'"MixedCase"'` keeps its case).
pub fn oracle_name(text: &str) -> String {
    let mut last = String::new();
    let mut in_quotes = false;
    let mut quoted_last = false;
    let mut part = String::new();
    for c in text.trim().chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                quoted_last = true;
            }
            '.' if !in_quotes => {
                part.clear();
                quoted_last = false;
            }
            c => part.push(c),
        }
        last.clone_from(&part);
    }
    if quoted_last {
        last
    } else {
        last.trim().to_uppercase()
    }
}

/// A comma-separated list of names (`'job1, job2'`), each normalised.
pub fn oracle_names(text: &str) -> Vec<String> {
    text.split(',')
        .map(oracle_name)
        .filter(|n| !n.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(oracle_name(" scott.my_chain1 "), "MY_CHAIN1");
        assert_eq!(oracle_name("\"step1\""), "step1");
        assert_eq!(oracle_name("scott.\"a.b\""), "a.b");
        assert_eq!(oracle_names("j1, sys.j2"), vec!["J1", "J2"]);
    }
}
