//! Prometheus text exposition (`GET /metrics`): jobs by state, step starts, evaluation latency,
//! HTTP requests.
//!
//! Why hand-written: four metric families do not justify a metrics crate; the text format is a
//! few lines. Jobs by state are counted from the store at scrape time (always right, also after
//! a restart); step starts are counted from the engine's event stream (steps seen entering
//! RUNNING, each attempt once); evaluation latency is the time the engine takes to accept an
//! input the API sends (each input is one evaluation pass plus its durable commit).

use crate::core::types::{JobRecord, JobState, StepState};
use crate::runtime::EngineEvent;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    step_starts: AtomicU64,
    /// (job, subname) → attempt of steps currently seen RUNNING.
    running: Mutex<HashMap<(String, String), u32>>,
    /// Per operation (start, stop, alter, evaluate, event).
    latency: Mutex<HashMap<&'static str, Histogram>>,
    /// Per status code.
    http: Mutex<HashMap<u16, u64>>,
}

impl Metrics {
    /// Count step starts from the engine's events.
    pub fn observe_event(&self, event: &EngineEvent) {
        let Ok(mut running) = self.running.lock() else {
            return;
        };
        match event {
            EngineEvent::Step { job, step } => {
                let key = (job.clone(), step.subname.clone());
                if step.state == StepState::Running {
                    if running.get(&key) != Some(&step.attempts) {
                        running.insert(key, step.attempts);
                        self.step_starts.fetch_add(1, Ordering::Relaxed);
                    }
                } else {
                    running.remove(&key);
                }
            }
            EngineEvent::Job(record) if record.state.is_finished() => {
                running.retain(|(j, _), _| *j != record.job);
            }
            _ => {}
        }
    }

    pub fn observe_latency(&self, op: &'static str, took: Duration) {
        let secs = took.as_secs_f64();
        if let Ok(mut map) = self.latency.lock() {
            let h = map.entry(op).or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += secs;
        }
    }

    pub fn observe_http(&self, status: u16) {
        if let Ok(mut map) = self.http.lock() {
            *map.entry(status).or_default() += 1;
        }
    }

    pub fn step_starts(&self) -> u64 {
        self.step_starts.load(Ordering::Relaxed)
    }

    /// The exposition text, given the jobs in the store.
    pub fn render(&self, jobs: &[JobRecord]) -> String {
        let mut out = String::new();
        let states = [
            JobState::Enqueued,
            JobState::Running,
            JobState::ChainStalled,
            JobState::Succeeded,
            JobState::Failed,
            JobState::Stopped,
        ];
        out.push_str("# HELP chainsched_jobs Chain jobs in the store by state.\n");
        out.push_str("# TYPE chainsched_jobs gauge\n");
        for s in states {
            let n = jobs.iter().filter(|j| j.state == s).count();
            let _ = writeln!(out, "chainsched_jobs{{state=\"{}\"}} {n}", s.as_str());
        }
        out.push_str("# HELP chainsched_step_starts_total Step attempts seen entering RUNNING since the service started.\n");
        out.push_str("# TYPE chainsched_step_starts_total counter\n");
        let _ = writeln!(out, "chainsched_step_starts_total {}", self.step_starts());

        out.push_str("# HELP chainsched_evaluation_latency_seconds Time for the engine to accept an input (evaluation pass and durable commit), by operation.\n");
        out.push_str("# TYPE chainsched_evaluation_latency_seconds histogram\n");
        if let Ok(map) = self.latency.lock() {
            let mut ops: Vec<_> = map.iter().collect();
            ops.sort_by_key(|(op, _)| **op);
            for (op, h) in ops {
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "chainsched_evaluation_latency_seconds_bucket{{op=\"{op}\",le=\"{b}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "chainsched_evaluation_latency_seconds_bucket{{op=\"{op}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "chainsched_evaluation_latency_seconds_sum{{op=\"{op}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "chainsched_evaluation_latency_seconds_count{{op=\"{op}\"}} {}",
                    h.count
                );
            }
        }
        out.push_str(
            "# HELP chainsched_http_requests_total HTTP requests answered, by status code.\n",
        );
        out.push_str("# TYPE chainsched_http_requests_total counter\n");
        if let Ok(map) = self.http.lock() {
            let mut codes: Vec<_> = map.iter().collect();
            codes.sort();
            for (code, n) in codes {
                let _ = writeln!(out, "chainsched_http_requests_total{{code=\"{code}\"}} {n}");
            }
        }
        out
    }
}

/// Whether the engine acts and the store answers, as gauges (1 yes, 0 no). An engine that
/// stopped for a failure stays stopped: `serve` exits, so `chainsched_engine_up 0` is seen at
/// most once before the process is gone (alert on the target being down as well).
pub fn engine_gauges(engine_up: bool, store_up: bool) -> String {
    let mut out = String::new();
    out.push_str("# HELP chainsched_engine_up 1 while the engine acts; 0 once it stopped for a failure (store write failed, leases lost).\n");
    out.push_str("# TYPE chainsched_engine_up gauge\n");
    let _ = writeln!(out, "chainsched_engine_up {}", u8::from(engine_up));
    out.push_str("# HELP chainsched_store_up 1 when the store answered this scrape's read.\n");
    out.push_str("# TYPE chainsched_store_up gauge\n");
    let _ = writeln!(out, "chainsched_store_up {}", u8::from(store_up));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::types::StepRecord;
    use std::collections::BTreeMap;

    fn step(state: StepState, attempts: u32) -> EngineEvent {
        EngineEvent::Step {
            job: "J".into(),
            step: StepRecord {
                subname: "A".into(),
                parent_subname: None,
                chain: "C".into(),
                step: "A".into(),
                state,
                error_code: None,
                attempts,
                started_at: None,
                ended_at: None,
                skip: false,
                pause: false,
                pause_before: false,
                restart_on_recovery: false,
                restart_on_failure: false,
                log_id: None,
            },
        }
    }

    #[test]
    fn each_attempt_counts_once_and_histograms_are_cumulative() {
        let m = Metrics::default();
        m.observe_event(&step(StepState::Running, 1));
        m.observe_event(&step(StepState::Running, 1));
        m.observe_event(&step(StepState::RetryScheduled, 1));
        m.observe_event(&step(StepState::Running, 2));
        assert_eq!(m.step_starts(), 2);
        m.observe_latency("start", Duration::from_millis(3));
        let jobs = vec![JobRecord {
            job: "J".into(),
            chain: "C".into(),
            state: JobState::Running,
            error_code: None,
            parameters: BTreeMap::new(),
            started_at: 0,
            ended_at: None,
            stall_reason: None,
            group: None,
            serialize_key: None,
            enqueued_at: None,
            requested_by: None,
        }];
        let text = m.render(&jobs);
        assert!(
            text.contains("chainsched_jobs{state=\"RUNNING\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("chainsched_jobs{state=\"FAILED\"} 0\n"));
        assert!(text.contains("chainsched_step_starts_total 2\n"));
        assert!(text.contains(
            "chainsched_evaluation_latency_seconds_bucket{op=\"start\",le=\"0.0025\"} 0\n"
        ));
        assert!(text.contains(
            "chainsched_evaluation_latency_seconds_bucket{op=\"start\",le=\"0.005\"} 1\n"
        ));
        assert!(text.contains("chainsched_evaluation_latency_seconds_count{op=\"start\"} 1\n"));
    }
}
