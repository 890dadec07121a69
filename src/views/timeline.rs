//! timeline: every event of one job, in order.

use super::time::rfc3339;
use super::TimelineRow;
use crate::core::types::{TimelineEntry, TimelineKind};

pub fn kind_text(kind: TimelineKind) -> &'static str {
    match kind {
        TimelineKind::JobEnqueued => "job_enqueued",
        TimelineKind::JobStarted => "job_started",
        TimelineKind::Evaluation => "evaluation",
        TimelineKind::RuleFired => "rule_fired",
        TimelineKind::StepState => "step_state",
        TimelineKind::EventRaised => "event_raised",
        TimelineKind::Alter => "alter",
        TimelineKind::Stall => "stall",
        TimelineKind::JobEnded => "job_ended",
        TimelineKind::MaxRunDuration => "max_run_duration",
        TimelineKind::Variable => "variable",
        TimelineKind::JobRestarted => "job_restarted",
    }
}

/// Rows in the order given (the store keeps them in write order), stably sorted by time.
pub fn timeline_rows(entries: &[TimelineEntry]) -> Vec<TimelineRow> {
    let mut sorted: Vec<&TimelineEntry> = entries.iter().collect();
    sorted.sort_by_key(|e| e.time);
    sorted
        .into_iter()
        .map(|e| TimelineRow {
            time: rfc3339(e.time),
            job_name: e.job.clone(),
            job_subname: e.subname.clone(),
            kind: kind_text(e.kind).to_string(),
            detail: e.detail.clone(),
            started_by: e.started_by.as_ref().map(|s| s.how.as_str().to_string()),
            by_rule: e.started_by.as_ref().and_then(|s| s.rule.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_match_serde_and_order_is_kept_within_an_instant() {
        let e = |t, kind, d: &str| TimelineEntry {
            time: t,
            job: "J".into(),
            subname: None,
            kind,
            detail: d.into(),
            started_by: None,
        };
        let rows = timeline_rows(&[
            e(5, TimelineKind::Evaluation, "fired R2"),
            e(0, TimelineKind::JobStarted, "start"),
            e(5, TimelineKind::RuleFired, "R2: START B"),
        ]);
        let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(kinds, vec!["job_started", "evaluation", "rule_fired"]);
        for k in [
            TimelineKind::JobEnqueued,
            TimelineKind::RuleFired,
            TimelineKind::JobEnded,
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), kind_text(k));
        }
    }
}
