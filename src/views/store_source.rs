//! [`ViewSource`] over the store the runtime writes ([`ChainStore`]).
//!
//! The catalog is the one the engine runs: given by the caller (the server keeps the catalog
//! it loaded, including after a reload) or else the one the engine last stored. Group and
//! serialization key come from the catalog's job definition when the job is named after one.
//!
//! Limited lists read about as much as they show, whatever the size of the history: the newest
//! jobs come from the `jt/` index, the running ones from `jact/`, the newest log rows from
//! `log/` read backwards (one job's from `jlog/`), page by page until the limit is met.

use super::{jobs as jobs_mod, log as log_mod};
use super::{JobFilter, JobInfo, LogFilter, StepInfo, ViewError, ViewSource};
use crate::catalog::Catalog;
use crate::core::types::{JobRecord, LogRow, TimelineEntry, TimelineKind};
use crate::lang::duration::Millis;
use crate::store::chain_store::job_instant;
use crate::store::{layout, ChainStore, RunDetails};
use std::sync::Arc;

/// Rows or index entries read per page while filling a limited list.
const PAGE: usize = 256;

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

    fn jobs_selected(&self, filter: &JobFilter) -> Result<Vec<JobInfo>, ViewError> {
        let catalog = self.catalog()?;
        let limit = filter.limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let page = limit.min(PAGE);
        self.store
            .visit_jobs_newest(filter.until, page, &mut |record| {
                if filter.since.is_some_and(|s| job_instant(&record) < s) {
                    // Newest first: every job from here on is older still.
                    return false;
                }
                let info = self.info(record, &catalog);
                if jobs_mod::matches(&info, filter) {
                    out.push(info);
                }
                out.len() < limit
            })?;
        Ok(out)
    }

    fn active_jobs(&self) -> Result<Vec<JobInfo>, ViewError> {
        let catalog = self.catalog()?;
        Ok(self
            .store
            .active_jobs()?
            .into_iter()
            .map(|r| self.info(r, &catalog))
            .collect())
    }

    fn job(&self, job: &str) -> Result<Option<JobInfo>, ViewError> {
        let catalog = self.catalog()?;
        Ok(self.store.job(job)?.map(|r| self.info(r, &catalog)))
    }

    fn variables(
        &self,
        job: &str,
    ) -> Result<std::collections::BTreeMap<String, crate::core::types::Variable>, ViewError> {
        Ok(self.store.variables(job)?)
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
        let limit = f.limit.unwrap_or(usize::MAX);
        let job = f.job.as_deref();
        let mut out: Vec<LogRow> = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        match f.since_id {
            // Paging forward: the first rows after `since_id`.
            Some(id) => {
                let mut from = id.saturating_add(1);
                loop {
                    let want = (limit - out.len()).min(PAGE);
                    let page = match job {
                        Some(j) => self.store.job_log_from(j, from, want)?,
                        None => self.store.log(from, want)?,
                    };
                    let Some(last) = page.last().map(|r| r.log_id) else {
                        break;
                    };
                    from = last.saturating_add(1);
                    for r in page {
                        if f.until.is_some_and(|u| r.time >= u) {
                            // Log ids grow with time: every later row is newer still.
                            return Ok(out);
                        }
                        if log_mod::matches(&r, f) {
                            out.push(r);
                            if out.len() >= limit {
                                return Ok(out);
                            }
                        }
                    }
                }
            }
            // The most recent rows: read backwards from the newest.
            None => {
                let mut before = None;
                loop {
                    let want = (limit - out.len()).min(PAGE);
                    let page = match job {
                        Some(j) => self.store.job_log_back(j, before, want)?,
                        None => self.store.log_back(before, want)?,
                    };
                    let Some(oldest) = page.last().map(|r| r.log_id) else {
                        break;
                    };
                    before = Some(oldest);
                    let mut done = false;
                    for r in page {
                        if f.since.is_some_and(|s| r.time < s) {
                            done = true;
                            break;
                        }
                        if log_mod::matches(&r, f) {
                            out.push(r);
                            if out.len() >= limit {
                                done = true;
                                break;
                            }
                        }
                    }
                    if done {
                        break;
                    }
                }
                out.reverse();
            }
        }
        Ok(out)
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

    fn notifications(
        &self,
        limit: usize,
    ) -> Result<Vec<crate::store::outbox::Notification>, ViewError> {
        Ok(self.store.notifications(limit)?)
    }

    fn job_definition(&self, job: &str) -> Result<Option<String>, ViewError> {
        Ok(self.store.job_definition(job)?)
    }

    fn catalog(&self) -> Result<Arc<Catalog>, ViewError> {
        match &self.catalog {
            Some(c) => Ok(c.clone()),
            None => Ok(Arc::new(self.store.catalog()?.unwrap_or_default())),
        }
    }
}
