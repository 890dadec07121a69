//! The schedules view: one row per scheduled (or event-based) job definition, with its
//! schedule, time zone, start and end dates, whether it is enabled, its state, next due time,
//! last start, run and failure counts and skipped occurrences — the columns an Oracle operator
//! reads in *_SCHEDULER_JOBS (JOB_NAME, REPEAT_INTERVAL as SCHEDULE, the START_DATE time zone
//! as TIME_ZONE, START_DATE, END_DATE, ENABLED, STATE, NEXT_RUN_DATE, LAST_START_DATE,
//! RUN_COUNT, FAILURE_COUNT; SKIPPED_COUNT is ours: occurrences skipped because the previous
//! run had not ended).
//!
//! Why a view like the others: operators read it from the CLI (embedded store or `--server`),
//! the HTTP API and the dashboard, and all of them must show the same rows. The rows come from
//! the scheduler's durable records (`sched/<definition>`, [`ScheduleState`]) through a pure
//! builder, so a store on which `serve` never ran simply has no rows.

use super::rows::ViewRow;
use super::time::rfc3339;
use crate::store::schedules::ScheduleState;
use serde::{Deserialize, Serialize};

/// schedules: one row per scheduled job definition, in job-name order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRow {
    pub job_name: String,
    pub chain_name: Option<String>,
    /// The schedule string as written in the rule file (`on event NAME` for an event-based
    /// job).
    pub schedule: String,
    /// The time zone the schedule is evaluated in (UTC when the job names none).
    pub time_zone: String,
    /// The start and end dates as written (local time in TIME_ZONE); null when not given.
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    /// TRUE or FALSE: whether the scheduler and events start it.
    pub enabled: bool,
    /// SCHEDULED, DISABLED, COMPLETED (end date or max_runs reached) or BROKEN (max_failures
    /// reached).
    pub state: String,
    /// The next due time (RFC 3339); null when the schedule has no further occurrence.
    pub next_run_date: Option<String>,
    /// When the scheduler last started a run; null before the first one.
    pub last_start_date: Option<String>,
    /// Runs the scheduler (or an event) started.
    pub run_count: u64,
    /// How many of them ended FAILED or STOPPED.
    pub failure_count: u64,
    /// Occurrences skipped because the previous run of the job had not ended.
    pub skipped_count: u64,
}

impl ViewRow for ScheduleRow {
    const COLUMNS: &'static [&'static str] = &[
        "JOB_NAME",
        "CHAIN_NAME",
        "SCHEDULE",
        "TIME_ZONE",
        "START_DATE",
        "END_DATE",
        "ENABLED",
        "STATE",
        "NEXT_RUN_DATE",
        "LAST_START_DATE",
        "RUN_COUNT",
        "FAILURE_COUNT",
        "SKIPPED_COUNT",
    ];
    const DEFAULT_COLUMNS: &'static [&'static str] = &[
        "JOB_NAME",
        "SCHEDULE",
        "STATE",
        "NEXT_RUN_DATE",
        "RUN_COUNT",
        "FAILURE_COUNT",
    ];
}

/// The row of one schedule record.
pub fn schedule_row(state: &ScheduleState) -> ScheduleRow {
    ScheduleRow {
        job_name: state.job.clone(),
        chain_name: state.chain.clone(),
        schedule: state.schedule.clone(),
        time_zone: state.time_zone.clone().unwrap_or_else(|| "UTC".into()),
        start_date: state.start_date.clone(),
        end_date: state.end_date.clone(),
        enabled: state.enabled,
        state: state.state().to_string(),
        next_run_date: state.next_run.map(rfc3339),
        last_start_date: state.last_start.map(rfc3339),
        run_count: state.run_count,
        failure_count: state.failure_count,
        skipped_count: state.skipped,
    }
}

/// The rows of many records, sorted by job name (whatever order the source gave).
pub fn schedule_rows(states: &[ScheduleState]) -> Vec<ScheduleRow> {
    let mut rows: Vec<ScheduleRow> = states.iter().map(schedule_row).collect();
    rows.sort_by(|a, b| a.job_name.cmp(&b.job_name));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::render::{rows as render, Format};

    fn state(job: &str, next: Option<u64>, last: Option<u64>, skipped: u64) -> ScheduleState {
        ScheduleState {
            job: job.into(),
            chain: Some("QUICK".into()),
            schedule: "FREQ=SECONDLY;INTERVAL=2".into(),
            next_run: next,
            last_start: last,
            firing: None,
            skipped,
            time_zone: Some("Europe/Paris".into()),
            start_date: Some("2024-05-01 09:00:00".into()),
            end_date: None,
            enabled: job != "NIGHTLY",
            run_count: 7,
            failure_count: 2,
            consecutive_failures: 0,
            counting: None,
            ended: None,
            enabled_at: None,
            on_event: None,
        }
    }

    #[test]
    fn rows_carry_rfc3339_times_nulls_and_the_skip_count_in_name_order() {
        let rows = schedule_rows(&[
            state("TICK", Some(1_714_566_896_000), Some(1_714_566_894_012), 3),
            state("NIGHTLY", None, None, 0),
        ]);
        assert_eq!(rows[0].job_name, "NIGHTLY");
        assert_eq!(rows[0].next_run_date, None);
        assert_eq!(rows[0].last_start_date, None);
        let tick = &rows[1];
        assert_eq!(
            tick.next_run_date.as_deref(),
            Some("2024-05-01T12:34:56.000Z")
        );
        assert_eq!(
            tick.last_start_date.as_deref(),
            Some("2024-05-01T12:34:54.012Z")
        );
        assert_eq!(tick.skipped_count, 3);
        assert_eq!(tick.time_zone, "Europe/Paris");
        assert_eq!(tick.start_date.as_deref(), Some("2024-05-01 09:00:00"));
        assert_eq!((tick.run_count, tick.failure_count), (7, 2));
        assert_eq!((tick.enabled, tick.state.as_str()), (true, "SCHEDULED"));
        assert_eq!(
            (rows[0].enabled, rows[0].state.as_str()),
            (false, "DISABLED")
        );
        assert_eq!(tick.chain_name.as_deref(), Some("QUICK"));
    }

    #[test]
    fn json_has_the_lower_case_columns_and_csv_the_upper_case_header() {
        let rows = schedule_rows(&[state("TICK", Some(2_000), None, 1)]);
        let json: serde_json::Value =
            serde_json::from_str(&render(&rows, Format::Json)).expect("json");
        let mut keys: Vec<&String> = json[0].as_object().expect("object").keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "chain_name",
                "enabled",
                "end_date",
                "failure_count",
                "job_name",
                "last_start_date",
                "next_run_date",
                "run_count",
                "schedule",
                "skipped_count",
                "start_date",
                "state",
                "time_zone"
            ]
        );
        assert_eq!(json[0]["skipped_count"], 1);
        assert!(json[0]["last_start_date"].is_null());
        let csv = render(&rows, Format::Csv);
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("JOB_NAME,CHAIN_NAME,SCHEDULE,TIME_ZONE,START_DATE,END_DATE,ENABLED,STATE,NEXT_RUN_DATE,LAST_START_DATE,RUN_COUNT,FAILURE_COUNT,SKIPPED_COUNT")
        );
        assert_eq!(
            lines.next(),
            Some("TICK,QUICK,FREQ=SECONDLY;INTERVAL=2,Europe/Paris,2024-05-01 09:00:00,,TRUE,SCHEDULED,1970-01-01T00:00:02.000Z,,7,2,1")
        );
    }
}
