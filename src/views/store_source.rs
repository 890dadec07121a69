//! [`ViewSource`] over the store the runtime writes ([`ChainStore`]).
//!
//! The catalog is the one the engine runs: given by the caller (the server keeps the catalog
//! it loaded, including after a reload) or else the one the engine last stored. Group and
//! serialization key come from the catalog's job definition when the job is named after one.

use super::{JobInfo, LogFilter, StepInfo, ViewError, ViewSource};
use crate::catalog::Catalog;
use crate::core::types::{JobRecord, LogRow, TimelineEntry, TimelineKind};
use crate::lang::duration::Millis;
use crate::store::{layout, ChainStore, RunDetails};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct StoreViews {
    store: ChainStore,
    catalog: Option<Arc<Catalog>>,
}

impl StoreViews {
    /// Views over `store`; `catalog: None` reads the catalog the engine stored.
    pub fn new(store: ChainStore, catalog: Option<Arc<Catalog>>) -> StoreViews {
        StoreViews { store, catalog }
    }

    pub fn store(&self) -> &ChainStore {
        &self.store
    }

    fn info(&self, record: JobRecord, catalog: &Catalog) -> JobInfo {
        let def = catalog
            .jobs
            .get(&record.job)
            .filter(|d| d.chain.as_deref() == Some(record.chain.as_str()));
        let group = def.and_then(|d| d.group.clone());
        let serialize_key = def
            .and_then(|d| d.serialize_by.as_ref())
            .and_then(|p| record.parameters.get(&p.to_ascii_uppercase()).cloned());
        // The core records group and key (admission); the definition is the fallback for
        // records written before it did.
        let info = JobInfo::from_record(record);
        JobInfo {
            group: info.group.clone().or(group),
            serialize_key: info.serialize_key.clone().or(serialize_key),
            ..info
        }
    }
}

impl ViewSource for StoreViews {
    fn jobs(&self) -> Result<Vec<JobInfo>, ViewError> {
        let catalog = self.catalog()?;
        Ok(self
            .store
            .jobs()?
            .into_iter()
            .map(|r| self.info(r, &catalog))
            .collect())
    }

    fn job(&self, job: &str) -> Result<Option<JobInfo>, ViewError> {
        let catalog = self.catalog()?;
        Ok(self.store.job(job)?.map(|r| self.info(r, &catalog)))
    }

    fn steps(&self, job: &str) -> Result<Vec<StepInfo>, ViewError> {
        let mut progress = self.store.progress(job)?;
        Ok(self
            .store
            .steps(job)?
            .into_iter()
            .map(|record| StepInfo {
                progress: progress.remove(&record.subname),
                record,
            })
            .collect())
    }

    fn log(&self, f: &LogFilter) -> Result<Vec<LogRow>, ViewError> {
        if let Some(job) = &f.job {
            return Ok(self.store.job_log(job)?);
        }
        let plain = f.chain.is_none() && f.since.is_none() && f.until.is_none();
        match (f.since_id, f.limit) {
            (Some(id), Some(limit)) if plain => Ok(self.store.log(id.saturating_add(1), limit)?),
            (Some(id), _) => Ok(self.store.log(id.saturating_add(1), usize::MAX)?),
            (None, Some(limit)) if plain => {
                // The most recent rows: ids are dense apart from pruning, so start just far
                // enough back (and fall back to a full read if pruning left gaps).
                let next = self.store.next_log_id()?;
                let rows = self
                    .store
                    .log(next.saturating_sub(limit as u64), usize::MAX)?;
                if rows.len() >= limit || next <= limit as u64 + 1 {
                    Ok(rows)
                } else {
                    Ok(self.store.log(0, usize::MAX)?)
                }
            }
            _ => Ok(self.store.log(0, usize::MAX)?),
        }
    }

    fn details(&self, log_id: u64) -> Result<Option<RunDetails>, ViewError> {
        Ok(self.store.run_details(log_id)?)
    }

    fn timeline(&self, job: &str) -> Result<Vec<TimelineEntry>, ViewError> {
        Ok(self.store.timeline(job)?)
    }

    fn enqueued_at(&self, job: &str) -> Result<Option<Millis>, ViewError> {
        // Only the head of the timeline: `job_enqueued` is written first.
        let prefix = layout::job_prefix(layout::TIMELINE, job);
        for (k, v) in self.store.kv().scan_from(&prefix, &prefix, 4)? {
            let entry: TimelineEntry = self.store.decode(&k, &v)?;
            if entry.kind == TimelineKind::JobEnqueued {
                return Ok(Some(entry.time));
            }
        }
        Ok(None)
    }

    fn schedules(&self) -> Result<Vec<crate::store::schedules::ScheduleState>, ViewError> {
        Ok(crate::store::schedules::schedule_states(&self.store)?)
    }

    fn catalog(&self) -> Result<Arc<Catalog>, ViewError> {
        match &self.catalog {
            Some(c) => Ok(c.clone()),
            None => Ok(Arc::new(self.store.catalog()?.unwrap_or_default())),
        }
    }
}
