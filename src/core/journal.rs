//! Per-record persistence of the core's state: what a driver writes after each turn, and how
//! the core is rebuilt from it.
//!
//! WHY records rather than a snapshot: a job's state is written after every change, so the
//! write must cost in proportion to the change, not to the job (a whole-job snapshot made a
//! chain of N steps cost O(N²)). The core keeps change marks (`Instance::step_mut` and the
//! instance setters mark a record; the job's own record is compared with the one last taken),
//! and [`Core::take_changes`] hands a driver exactly the records that changed:
//!
//! * one [`JobHeaderRecord`] per job: its view record, start request, definitions version,
//!   queue position and the few job-wide flags, plus its number of instances;
//! * one [`InstanceRecord`] per chain instance: chain, outer step, status, interval tick, number
//!   of steps;
//! * one [`StepStateRecord`] per step of each instance;
//! * one [`Variable`] per job variable a step set (kept after the job ends: the views show
//!   them; a new run of the name or retention removes them).
//!
//! The chain definitions a job runs are written apart, once per version
//! ([`super::JobDefinitions`]). [`Core::restore_from_records`] rebuilds a job from the records
//! and its definitions: it is the exact inverse (property-tested against the live core).
//!
//! Records of instances or steps beyond the counts in their parent record are stale (a job that
//! restarted from the beginning replaced its instances) and are ignored on restore; drivers
//! delete all of a job's records when it ends.

use super::engine::Core;
use super::instance::{Instance, InstanceRecord, StepStateRecord};
use super::job::Job;
use super::recovery::JobDefinitions;
use super::types::*;
use crate::lang::duration::Millis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The job's own persisted state (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobHeaderRecord {
    /// [`JobHeaderRecord::FORMAT`] of the core that wrote it.
    pub format: u32,
    pub record: JobRecord,
    pub request: StartRequest,
    pub defs_version: u64,
    pub first_eval_only: Option<Vec<u32>>,
    pub pending_presets: BTreeMap<String, PresetState>,
    pub queue_seq: u64,
    pub max_run_duration: Option<Millis>,
    pub over_duration: bool,
    /// Number of instances (their records are `0..instances`).
    pub instances: u32,
    /// The job's run: 1, then one more at each restart (format 2; format 1 had no field and
    /// reads as run 1).
    pub run: u32,
}

impl JobHeaderRecord {
    /// Version of the records' structure; a store holding another version is not misread.
    /// Format 1 (no `run`) is read through [`JobHeaderRecordV1`].
    pub const FORMAT: u32 = 2;
}

/// A job header as format 1 wrote it (before restarts and run numbers). postcard is not
/// self-describing: a reader tries the current structure, then this one (a format-1 record is
/// one field short for the current structure, a format-2 one a field long for this one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobHeaderRecordV1 {
    pub format: u32,
    pub record: JobRecord,
    pub request: StartRequest,
    pub defs_version: u64,
    pub first_eval_only: Option<Vec<u32>>,
    pub pending_presets: BTreeMap<String, PresetState>,
    pub queue_seq: u64,
    pub max_run_duration: Option<Millis>,
    pub over_duration: bool,
    pub instances: u32,
}

impl From<JobHeaderRecordV1> for JobHeaderRecord {
    fn from(v: JobHeaderRecordV1) -> JobHeaderRecord {
        JobHeaderRecord {
            format: JobHeaderRecord::FORMAT,
            record: v.record,
            request: v.request,
            defs_version: v.defs_version,
            first_eval_only: v.first_eval_only,
            pending_presets: v.pending_presets,
            queue_seq: v.queue_seq,
            max_run_duration: v.max_run_duration,
            over_duration: v.over_duration,
            instances: v.instances,
            run: 1,
        }
    }
}

/// What changed in one job since the last [`Core::take_changes`].
#[derive(Debug, Clone, PartialEq)]
pub struct JobChanges {
    pub job: String,
    /// The job has ended: drivers delete its records instead of writing them.
    pub ended: bool,
    pub header: Option<JobHeaderRecord>,
    pub instances: Vec<(u32, InstanceRecord)>,
    pub steps: Vec<(u32, u32, StepStateRecord)>,
    /// Variables set since the last take (also when the job has ended: they outlive it).
    pub variables: Vec<(String, Variable)>,
}

impl JobChanges {
    pub fn is_empty(&self) -> bool {
        self.header.is_none()
            && self.instances.is_empty()
            && self.steps.is_empty()
            && self.variables.is_empty()
    }
}

/// Every record of one job, as read back from a store.
#[derive(Debug, Clone, Default)]
pub struct JobRecords {
    pub header: Option<JobHeaderRecord>,
    /// By instance id.
    pub instances: BTreeMap<u32, InstanceRecord>,
    /// By (instance id, step index).
    pub steps: BTreeMap<(u32, u32), StepStateRecord>,
    /// The variables steps set, by name.
    pub variables: BTreeMap<String, Variable>,
}

impl Job {
    fn header_record(&self) -> JobHeaderRecord {
        JobHeaderRecord {
            format: JobHeaderRecord::FORMAT,
            record: self.record.clone(),
            request: self.request.clone(),
            defs_version: self.defs_version,
            first_eval_only: self
                .first_eval_only
                .as_ref()
                .map(|s| s.iter().map(|i| *i as u32).collect()),
            pending_presets: self.pending_presets.clone(),
            queue_seq: self.queue_seq,
            max_run_duration: self.max_run_duration,
            over_duration: self.over_duration,
            instances: self.instances.len() as u32,
            run: self.run,
        }
    }

    fn take_changes(&mut self) -> JobChanges {
        let header = self.header_record();
        let header = if self.journaled_header.as_ref() == Some(&header) {
            None
        } else {
            self.journaled_header = Some(header.clone());
            Some(header)
        };
        let mut instances = Vec::new();
        let mut steps = Vec::new();
        for (i, inst) in self.instances.iter_mut().enumerate() {
            if !inst.has_changes() {
                continue;
            }
            let (h, changed) = inst.take_changes();
            if let Some(h) = h {
                instances.push((i as u32, h));
            }
            steps.extend(changed.into_iter().map(|(s, r)| (i as u32, s as u32, r)));
        }
        let variables = std::mem::take(&mut self.vars_dirty)
            .into_iter()
            .filter_map(|n| self.vars.get(&n).map(|v| (n, v.clone())))
            .collect();
        JobChanges {
            job: self.record.job.clone(),
            ended: self.ended(),
            header,
            instances,
            steps,
            variables,
        }
    }
}

impl Core {
    /// The records that changed in every job since the last call, in job-name order. A job
    /// that ended is reported with `ended` (its records are to be deleted); jobs the core no
    /// longer holds are skipped.
    pub fn take_changes(&mut self) -> Vec<JobChanges> {
        let names = std::mem::take(&mut self.changed);
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            if let Some(job) = self.jobs.get_mut(&name) {
                let changes = job.take_changes();
                if changes.ended || !changes.is_empty() {
                    out.push(changes);
                }
            }
        }
        out
    }

    /// Every record of a job, whether or not it changed (a store that lost track writes them
    /// all). Does not affect what [`Core::take_changes`] reports.
    pub fn job_records(&self, job: &str) -> Option<JobChanges> {
        let j = self.jobs.get(job)?;
        let mut instances = Vec::new();
        let mut steps = Vec::new();
        for (i, inst) in j.instances.iter().enumerate() {
            instances.push((i as u32, inst.record()));
            for (s, st) in inst.steps().iter().enumerate() {
                steps.push((i as u32, s as u32, StepStateRecord(st.clone())));
            }
        }
        Some(JobChanges {
            job: j.record.job.clone(),
            ended: j.ended(),
            header: Some(j.header_record()),
            instances,
            steps,
            variables: j.vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        })
    }

    /// Rebuild a job from its records and the chain definitions it runs (replacing a job of
    /// the same name). Refused, changing nothing, when the records are incomplete or do not fit
    /// the definitions. Call [`Core::recover_job`] afterwards to apply the recovery
    /// transitions.
    pub fn restore_from_records(
        &mut self,
        records: JobRecords,
        definitions: JobDefinitions,
    ) -> Result<(), CoreError> {
        let JobRecords {
            header,
            instances: inst_records,
            mut steps,
            variables,
        } = records;
        let header =
            header.ok_or_else(|| CoreError::Invalid("the job record is missing".into()))?;
        let name = header.record.job.clone();
        if header.format != JobHeaderRecord::FORMAT {
            return Err(CoreError::Invalid(format!(
                "job {name}: its records have format {}, this chainsched reads {}",
                header.format,
                JobHeaderRecord::FORMAT
            )));
        }
        if definitions.job != name || definitions.version != header.defs_version {
            return Err(CoreError::Invalid(format!(
                "job {name}: its stored chain definitions (job {} version {}) do not go with \
                 its state (version {})",
                definitions.job, definitions.version, header.defs_version
            )));
        }
        let mut instances = Vec::with_capacity(header.instances as usize);
        for i in 0..header.instances {
            let rec = inst_records.get(&i).cloned().ok_or_else(|| {
                CoreError::Invalid(format!(
                    "job {name}: the record of chain instance {i} is missing"
                ))
            })?;
            let mut inst_steps = Vec::with_capacity(rec.steps as usize);
            for s in 0..rec.steps {
                let st = steps.remove(&(i, s)).ok_or_else(|| {
                    CoreError::Invalid(format!(
                        "job {name}: the record of step {s} of chain instance {i} is missing"
                    ))
                })?;
                inst_steps.push(st);
            }
            instances.push(Instance::from_records(rec, inst_steps));
        }
        let mut job = Job::new(
            header.record.clone(),
            header.request.clone(),
            BTreeMap::new(),
        );
        job.defs_version = header.defs_version;
        job.first_eval_only = header
            .first_eval_only
            .as_ref()
            .map(|l| l.iter().map(|i| *i as usize).collect());
        job.pending_presets = header.pending_presets.clone();
        job.queue_seq = header.queue_seq;
        job.max_run_duration = header.max_run_duration;
        job.over_duration = header.over_duration;
        job.run = header.run.max(1);
        job.instances = instances;
        job.vars = variables;
        job.journaled_header = Some(header);
        job.defs = definitions.into_defs();
        self.install_job(job)
    }
}
