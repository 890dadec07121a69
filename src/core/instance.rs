//! One run of a chain inside a job (an [`Instance`]) and the runtime state of its steps
//! ([`StepRt`]), with the change tracking that makes persistence O(size of the change).
//!
//! WHY the fields are private: every change of a step or of an instance's own state must be
//! seen by the journal (`journal.rs`), which writes only the records that changed after each
//! engine turn. Mutable access goes through [`Instance::step_mut`] and the setters, which mark
//! the record dirty; the compiler then guarantees that no change escapes the journal.

use super::eval::{StepFacts, Truth};
use super::job::Def;
use super::types::*;
use crate::catalog::{RuleIdx, StepAttributes, StepIdx};
use crate::lang::duration::Millis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;

pub(crate) type InstId = usize;

fn empty_def() -> Arc<Def> {
    Def::empty()
}

/// Runtime state of one step of one chain instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StepRt {
    pub subname: String,
    pub state: StepState,
    pub error_code: Option<i64>,
    /// All attempts of this subname in the job (never reset, so stale reports are recognised).
    pub attempts: u32,
    /// Retries used by the current run (restart_on_failure).
    pub retries_done: u32,
    /// When the current run started (first attempt).
    pub started_at: Option<Millis>,
    /// When the current attempt started (job-log `started_at`).
    pub attempt_started_at: Option<Millis>,
    pub ended_at: Option<Millis>,
    pub attrs: StepAttributes,
    pub log_id: Option<u64>,
    /// Outcome held by `pause` (state PAUSED after running, or skip+pause).
    pub held: Option<Outcome>,
    /// PAUSED by `pause_before` (never ran).
    pub paused_before: bool,
    /// Operation of the current/last attempt.
    pub operation: RunOperation,
    /// The pending timer of this step (AFTER delay or retry), with its absolute due time.
    /// Boxed: most steps have none, and a step's size is per-step memory of every job.
    pub timer: Option<Box<(TimerKey, Millis)>>,
    /// The nested chain instance this step runs (chain steps).
    pub nested: Option<InstId>,
}

impl StepRt {
    pub fn new(subname: String, attrs: StepAttributes) -> StepRt {
        StepRt {
            subname,
            state: StepState::NotStarted,
            error_code: None,
            attempts: 0,
            retries_done: 0,
            started_at: None,
            attempt_started_at: None,
            ended_at: None,
            attrs,
            log_id: None,
            held: None,
            paused_before: false,
            operation: RunOperation::Run,
            timer: None,
            nested: None,
        }
    }

    pub fn facts(&self) -> StepFacts {
        StepFacts {
            state: self.state,
            error_code: self.error_code,
            started_at: self.started_at,
            ended_at: self.ended_at,
        }
    }
}

/// A step state that keeps a chain alive (not stalled).
pub(crate) fn is_active(state: StepState) -> bool {
    matches!(
        state,
        StepState::Running | StepState::Scheduled | StepState::RetryScheduled
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum InstStatus {
    Running,
    Stalled,
    Ended,
}

/// Per-instance rule cache (not persisted: rebuilt with every rule dirty, which is exactly a
/// full evaluation).
#[derive(Debug, Default, Clone)]
pub(crate) struct RuleState {
    pub truth: Vec<Truth>,
    /// Per rule: the operand of its top-level AND/OR that decided it last (see
    /// `Expr::eval_watched`).
    pub watch: Vec<u32>,
    pub true_ends: BTreeSet<RuleIdx>,
    pub dirty_flag: Vec<bool>,
    pub dirty: Vec<RuleIdx>,
    /// Number of steps RUNNING, SCHEDULED or RETRY SCHEDULED.
    pub active: usize,
}

impl RuleState {
    pub fn all_dirty(rules: usize) -> RuleState {
        RuleState {
            truth: vec![Truth::Unknown; rules],
            watch: vec![0; rules],
            true_ends: BTreeSet::new(),
            dirty_flag: vec![true; rules],
            dirty: (0..rules).collect(),
            active: 0,
        }
    }

    pub fn mark(&mut self, r: RuleIdx) {
        if let Some(flag) = self.dirty_flag.get_mut(r) {
            if !*flag {
                *flag = true;
                self.dirty.push(r);
            }
        }
    }

    /// Grow to `rules` rules (a rule was appended); new rules are dirty.
    pub fn resize(&mut self, rules: usize) {
        while self.truth.len() < rules {
            let r = self.truth.len();
            self.truth.push(Truth::Unknown);
            self.watch.push(0);
            self.dirty_flag.push(false);
            self.mark(r);
        }
    }
}

/// One run of a chain: the top-level chain of a job or a nested chain started by a chain step.
///
/// `chain_name`, `outer` and `outer_subname` never change after creation. Everything that does
/// change is private and changed through methods that record the change for the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Instance {
    pub chain_name: String,
    /// The outer step running this instance (`None` at top level).
    pub outer: Option<(InstId, StepIdx)>,
    /// Subname of the outer step (`None` at top level).
    pub outer_subname: Option<String>,
    steps: Vec<StepRt>,
    status: InstStatus,
    /// Replaced by a re-run of its outer step; kept only for history.
    detached: bool,
    /// Absolute due time of the next evaluation_interval tick.
    interval_due: Option<Millis>,
    #[serde(skip, default = "empty_def")]
    pub def: Arc<Def>,
    #[serde(skip)]
    pub cache: RuleState,
    /// Steps changed since the journal last took this instance's changes.
    #[serde(skip)]
    dirty_steps: BTreeSet<StepIdx>,
    /// The instance's own record (status, detached, interval) changed since then.
    #[serde(skip)]
    header_dirty: bool,
}

/// The persisted form of an instance's own state (its steps are records of their own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceRecord {
    pub chain_name: String,
    pub outer: Option<(u32, u32)>,
    pub outer_subname: Option<String>,
    pub status: InstStatusRecord,
    pub detached: bool,
    pub interval_due: Option<Millis>,
    /// Number of steps (their records are `0..steps`).
    pub steps: u32,
}

/// [`InstStatus`] as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InstStatusRecord {
    Running,
    Stalled,
    Ended,
}

/// The persisted form of one step's runtime state (opaque outside the core).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepStateRecord(pub(crate) StepRt);

impl Instance {
    /// A new instance; every record of it counts as changed.
    pub fn new(
        chain_name: String,
        outer: Option<(InstId, StepIdx)>,
        outer_subname: Option<String>,
        steps: Vec<StepRt>,
        def: Arc<Def>,
    ) -> Instance {
        let dirty_steps = (0..steps.len()).collect();
        Instance {
            chain_name,
            outer,
            outer_subname,
            steps,
            status: InstStatus::Running,
            detached: false,
            interval_due: None,
            def,
            cache: RuleState::default(),
            dirty_steps,
            header_dirty: true,
        }
    }

    /// Rebuild an instance from its records (recovery). Nothing counts as changed.
    pub fn from_records(record: InstanceRecord, steps: Vec<StepStateRecord>) -> Instance {
        Instance {
            chain_name: record.chain_name,
            outer: record.outer.map(|(i, s)| (i as InstId, s as StepIdx)),
            outer_subname: record.outer_subname,
            steps: steps.into_iter().map(|r| r.0).collect(),
            status: match record.status {
                InstStatusRecord::Running => InstStatus::Running,
                InstStatusRecord::Stalled => InstStatus::Stalled,
                InstStatusRecord::Ended => InstStatus::Ended,
            },
            detached: record.detached,
            interval_due: record.interval_due,
            def: Def::empty(),
            cache: RuleState::default(),
            dirty_steps: BTreeSet::new(),
            header_dirty: false,
        }
    }

    /// The instance's own record.
    pub fn record(&self) -> InstanceRecord {
        InstanceRecord {
            chain_name: self.chain_name.clone(),
            outer: self.outer.map(|(i, s)| (i as u32, s as u32)),
            outer_subname: self.outer_subname.clone(),
            status: match self.status {
                InstStatus::Running => InstStatusRecord::Running,
                InstStatus::Stalled => InstStatusRecord::Stalled,
                InstStatus::Ended => InstStatusRecord::Ended,
            },
            detached: self.detached,
            interval_due: self.interval_due,
            steps: self.steps.len() as u32,
        }
    }

    /// Take what changed since the last call: the instance's record (if it changed) and the
    /// records of the steps that changed, in step order.
    pub fn take_changes(&mut self) -> (Option<InstanceRecord>, Vec<(StepIdx, StepStateRecord)>) {
        let header = std::mem::take(&mut self.header_dirty).then(|| self.record());
        let steps = std::mem::take(&mut self.dirty_steps)
            .into_iter()
            .filter_map(|s| self.steps.get(s).map(|st| (s, StepStateRecord(st.clone()))))
            .collect();
        (header, steps)
    }

    /// Whether anything changed since the last [`Instance::take_changes`].
    pub fn has_changes(&self) -> bool {
        self.header_dirty || !self.dirty_steps.is_empty()
    }

    /// Count everything as changed (a job rebuilt from scratch writes all its records).
    pub fn mark_all_changed(&mut self) {
        self.header_dirty = true;
        self.dirty_steps = (0..self.steps.len()).collect();
    }

    pub fn steps(&self) -> &[StepRt] {
        &self.steps
    }

    pub fn step(&self, s: StepIdx) -> &StepRt {
        &self.steps[s]
    }

    /// Mutable access to a step; the step's record counts as changed.
    pub fn step_mut(&mut self, s: StepIdx) -> &mut StepRt {
        self.dirty_steps.insert(s);
        &mut self.steps[s]
    }

    /// The steps and the rule cache together (evaluation reads one and writes the other).
    pub fn steps_and_cache(&mut self) -> (&[StepRt], &mut RuleState) {
        (&self.steps, &mut self.cache)
    }

    pub fn status(&self) -> InstStatus {
        self.status
    }

    pub fn set_status(&mut self, status: InstStatus) {
        if self.status != status {
            self.status = status;
            self.header_dirty = true;
        }
    }

    pub fn detached(&self) -> bool {
        self.detached
    }

    pub fn set_detached(&mut self) {
        if !self.detached {
            self.detached = true;
            self.header_dirty = true;
        }
    }

    pub fn interval_due(&self) -> Option<Millis> {
        self.interval_due
    }

    /// Set the next interval tick; returns the previous one.
    pub fn set_interval_due(&mut self, due: Option<Millis>) -> Option<Millis> {
        if self.interval_due != due {
            self.header_dirty = true;
        }
        std::mem::replace(&mut self.interval_due, due)
    }

    pub fn live(&self) -> bool {
        !self.detached && self.status != InstStatus::Ended
    }

    pub fn interval_key(&self) -> TimerKey {
        TimerKey::Interval {
            subname: self.outer_subname.clone().unwrap_or_default(),
        }
    }

    /// Mark every rule that can see a change of step `s` (condition or action mentions it).
    pub fn mark_step(&mut self, s: StepIdx) {
        let def = &self.def;
        if let Some(list) = def.cond_index.get(s) {
            for &r in list {
                self.cache.mark(r);
            }
        }
        if let Some(list) = def.action_index.get(s) {
            for &r in list {
                self.cache.mark(r);
            }
        }
    }

    /// Rebuild the rule cache and the active count (after load or a definition change).
    pub fn rebuild_cache(&mut self) {
        let mut cache = RuleState::all_dirty(self.def.chain.rules.len());
        cache.active = self.steps.iter().filter(|s| is_active(s.state)).count();
        self.cache = cache;
    }
}
