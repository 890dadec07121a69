//! job_log (one row per step-job run and per chain-job run) and job_run_details.

use super::time::{rfc3339, seconds};
use super::{JobLogRow, LogFilter, RunDetailsRow};
use crate::core::types::LogRow;
use crate::store::RunDetails;

/// Whether a log row passes the filter (the limit is applied by [`select`]).
pub fn matches(row: &LogRow, f: &LogFilter) -> bool {
    f.job.as_ref().is_none_or(|j| *j == row.job)
        && f.chain.as_ref().is_none_or(|c| *c == row.chain)
        && f.since_id.is_none_or(|id| row.log_id > id)
        && f.since.is_none_or(|s| row.time >= s)
        && f.until.is_none_or(|u| row.time < u)
}

/// Filter, order by log id, and limit: the first `limit` rows after `since_id` when it is
/// given (paging forward), else the `limit` most recent rows.
pub fn select(mut rows: Vec<LogRow>, f: &LogFilter) -> Vec<LogRow> {
    rows.retain(|r| matches(r, f));
    rows.sort_by_key(|r| r.log_id);
    rows.dedup_by_key(|r| r.log_id);
    if let Some(limit) = f.limit {
        if f.since_id.is_some() {
            rows.truncate(limit);
        } else if rows.len() > limit {
            rows.drain(..rows.len() - limit);
        }
    }
    rows
}

pub fn log_row(r: &LogRow) -> JobLogRow {
    JobLogRow {
        log_id: r.log_id,
        log_date: rfc3339(r.time),
        job_name: r.job.clone(),
        job_subname: r.subname.clone(),
        chain_name: r.chain.clone(),
        step_name: r.step.clone(),
        operation: r.operation.as_str().to_string(),
        status: r.status.as_str().to_string(),
        error_code: r.error_code,
        additional_info: r.additional_info.clone(),
        run: r.run,
    }
}

pub fn details_row(d: &RunDetails) -> RunDetailsRow {
    RunDetailsRow {
        log_id: d.log_id,
        job_name: d.job.clone(),
        job_subname: d.subname.clone(),
        status: d.status.as_str().to_string(),
        error_code: d.error_code,
        req_start_date: d.req_start.map(rfc3339),
        actual_start_date: d.actual_start.map(rfc3339),
        run_duration: d.run_duration.map(seconds),
        pid: d.pid,
        output: d.output.clone(),
        errors: d.errors.clone(),
        variables_set: super::variables_text(
            d.variables.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::types::{RunOperation, StepState};

    fn row(id: u64, job: &str, time: u64) -> LogRow {
        LogRow {
            log_id: id,
            time,
            job: job.into(),
            subname: Some("A".into()),
            chain: "C".into(),
            step: Some("A".into()),
            operation: RunOperation::RetryRun,
            status: StepState::Failed,
            error_code: 20001,
            started_at: Some(time.saturating_sub(500)),
            additional_info: Some("CHAIN_LOG_ID=\"1\",STEP_NAME=\"A\"".into()),
            run: 1,
        }
    }

    #[test]
    fn paging_forward_and_most_recent() {
        let rows: Vec<LogRow> = (1..=10)
            .map(|i| row(i, if i % 2 == 0 { "J2" } else { "J1" }, i * 1000))
            .collect();
        let ids = |f: LogFilter| -> Vec<u64> {
            select(rows.clone(), &f).iter().map(|r| r.log_id).collect()
        };
        assert_eq!(
            ids(LogFilter {
                since_id: Some(3),
                limit: Some(2),
                ..Default::default()
            }),
            vec![4, 5]
        );
        assert_eq!(
            ids(LogFilter {
                limit: Some(3),
                ..Default::default()
            }),
            vec![8, 9, 10]
        );
        assert_eq!(
            ids(LogFilter {
                job: Some("J2".into()),
                limit: Some(2),
                ..Default::default()
            }),
            vec![8, 10]
        );
        assert_eq!(
            ids(LogFilter {
                since: Some(2_000),
                until: Some(4_000),
                ..Default::default()
            }),
            vec![2, 3]
        );
    }

    #[test]
    fn rows_carry_the_view_spellings() {
        let r = log_row(&row(7, "J1", 1_714_566_896_789));
        assert_eq!(r.operation, "RETRY_RUN");
        assert_eq!(r.status, "FAILED");
        assert_eq!(r.log_date, "2024-05-01T12:34:56.789Z");
        let d = details_row(&RunDetails {
            log_id: 7,
            job: "J1".into(),
            subname: None,
            status: StepState::Succeeded,
            error_code: 0,
            req_start: Some(1_000),
            actual_start: Some(1_250),
            run_duration: Some(2_500),
            pid: Some(4242),
            output: "hello\n".into(),
            errors: String::new(),
            variables: vec![("A".into(), "1".into()), ("B".into(), "x y".into())],
        });
        assert_eq!(d.variables_set.as_deref(), Some("A=1, B=x y"));
        assert_eq!(d.run_duration, Some(2.5));
        assert_eq!(
            d.actual_start_date.as_deref(),
            Some("1970-01-01T00:00:01.250Z")
        );
        assert_eq!(d.status, "SUCCEEDED");
    }
}
