//! The row shapes of every view, with exactly the columns of docs/views.md.
//!
//! One struct per view; field order is column order; serde names are the lower-case column
//! names (what JSON carries). Times are RFC 3339 UTC strings, durations seconds as numbers,
//! flags (COMPLETED, SKIP, PAUSE, ...) the strings `"TRUE"`/`"FALSE"` as in Oracle's
//! VARCHAR2 columns (see [`oracle_flag`]), missing values `null`.
//! Rows are also `Deserialize` so that the CLI can read them back from a running service and
//! print exactly what it would print from the embedded store.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Oracle's scheduler views hold flags as VARCHAR2 'TRUE'/'FALSE'; the JSON of our views does
/// the same so a row reads like Oracle's. Reading back accepts the strings and JSON booleans.
pub mod oracle_flag {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if *v { "TRUE" } else { "FALSE" })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Flag {
            B(bool),
            S(String),
        }
        match Flag::deserialize(d)? {
            Flag::B(b) => Ok(b),
            Flag::S(s) if s.eq_ignore_ascii_case("TRUE") => Ok(true),
            Flag::S(s) if s.eq_ignore_ascii_case("FALSE") => Ok(false),
            Flag::S(s) => Err(serde::de::Error::custom(format!(
                "expected TRUE or FALSE, found {s}"
            ))),
        }
    }
}

/// A view row: serialisable, with its column names (views.md spelling, upper case).
pub trait ViewRow: Serialize + DeserializeOwned {
    /// Column names in order, as views.md writes them.
    const COLUMNS: &'static [&'static str];

    /// The columns a table shows by default (`-o wide` shows [`Self::COLUMNS`]): the few that
    /// answer the usual question, chosen to fit 100 characters with typical names.
    const DEFAULT_COLUMNS: &'static [&'static str] = Self::COLUMNS;

    /// Columns a table never cuts (explain's predicates, the log's ADDITIONAL_INFO): the
    /// text that says why. Other cells are cut with `…` when long.
    const UNCUT: &'static [&'static str] = &[];

    /// The row as text cells for tables and CSV, in column order.
    fn cells(&self) -> Vec<String> {
        let value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        Self::COLUMNS
            .iter()
            .map(|c| {
                cell_text(
                    value
                        .get(c.to_ascii_lowercase())
                        .unwrap_or(&serde_json::Value::Null),
                )
            })
            .collect()
    }
}

/// How one JSON value shows in a table or CSV cell: `null` empty, booleans `TRUE`/`FALSE`,
/// lists joined by `,`, maps as `K=V,K2=V2`.
pub fn cell_text(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => String::new(),
        Value::Bool(true) => "TRUE".to_string(),
        Value::Bool(false) => "FALSE".to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format_seconds(f),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(cell_text).collect::<Vec<_>>().join(","),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", cell_text(v)))
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// Seconds with at most three decimals, no trailing zeros (`1.5`, `12`, `0.003`).
fn format_seconds(f: f64) -> String {
    let text = format!("{f:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// running_chains: one row per step of a running (or stalled) chain job, nested chains included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningChainRow {
    pub job_name: String,
    /// Subname of the outer step running this row's chain (nested chains), else null.
    pub job_subname: Option<String>,
    pub chain_name: String,
    pub step_name: String,
    pub state: String,
    pub error_code: Option<i64>,
    #[serde(with = "oracle_flag")]
    pub completed: bool,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub duration: Option<f64>,
    #[serde(with = "oracle_flag")]
    pub skip: bool,
    #[serde(with = "oracle_flag")]
    pub pause: bool,
    #[serde(with = "oracle_flag")]
    pub pause_before: bool,
    #[serde(with = "oracle_flag")]
    pub restart_on_recovery: bool,
    #[serde(with = "oracle_flag")]
    pub restart_on_failure: bool,
    /// The step's own subname (`A`, `N.I1`).
    pub step_job_subname: String,
    pub step_job_log_id: Option<u64>,
    pub attempt: u32,
    pub sofar: Option<u64>,
    pub totalwork: Option<u64>,
    pub status_message: Option<String>,
    /// The job variables this step set and still holds (`REGION=EU, N=3`), else null.
    #[serde(default)]
    pub set_variables: Option<String>,
}

impl ViewRow for RunningChainRow {
    const COLUMNS: &'static [&'static str] = &[
        "JOB_NAME",
        "JOB_SUBNAME",
        "CHAIN_NAME",
        "STEP_NAME",
        "STATE",
        "ERROR_CODE",
        "COMPLETED",
        "START_DATE",
        "END_DATE",
        "DURATION",
        "SKIP",
        "PAUSE",
        "PAUSE_BEFORE",
        "RESTART_ON_RECOVERY",
        "RESTART_ON_FAILURE",
        "STEP_JOB_SUBNAME",
        "STEP_JOB_LOG_ID",
        "ATTEMPT",
        "SOFAR",
        "TOTALWORK",
        "STATUS_MESSAGE",
        "SET_VARIABLES",
    ];
    const DEFAULT_COLUMNS: &'static [&'static str] = &[
        "JOB_NAME",
        "STEP_JOB_SUBNAME",
        "STATE",
        "ERROR_CODE",
        "DURATION",
        "ATTEMPT",
        "STATUS_MESSAGE",
    ];
}

/// jobs: one row per chain job, running and finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRow {
    pub job_name: String,
    pub chain_name: String,
    pub state: String,
    pub error_code: Option<i64>,
    pub group: Option<String>,
    pub serialize_key: Option<String>,
    pub parameters: BTreeMap<String, String>,
    pub requested_by: Option<String>,
    pub enqueued_at: Option<String>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub run_duration: Option<f64>,
    pub wait_duration: Option<f64>,
    pub current_steps: Vec<String>,
    pub sofar: Option<u64>,
    pub totalwork: Option<u64>,
    pub stall_reason: Option<String>,
    /// The job's variables now: its parameters, overridden by what steps set.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Which step set each variable (its subname); parameters no step changed are absent.
    #[serde(default)]
    pub variables_set_by: BTreeMap<String, String>,
}

impl ViewRow for JobRow {
    const COLUMNS: &'static [&'static str] = &[
        "JOB_NAME",
        "CHAIN_NAME",
        "STATE",
        "ERROR_CODE",
        "GROUP",
        "SERIALIZE_KEY",
        "PARAMETERS",
        "REQUESTED_BY",
        "ENQUEUED_AT",
        "STARTED_AT",
        "ENDED_AT",
        "RUN_DURATION",
        "WAIT_DURATION",
        "CURRENT_STEPS",
        "SOFAR",
        "TOTALWORK",
        "STALL_REASON",
        "VARIABLES",
        "VARIABLES_SET_BY",
    ];
    const DEFAULT_COLUMNS: &'static [&'static str] = &[
        "JOB_NAME",
        "CHAIN_NAME",
        "STATE",
        "ERROR_CODE",
        "STARTED_AT",
        "RUN_DURATION",
    ];
}

/// job_log: one row per step-job run and per chain-job run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobLogRow {
    pub log_id: u64,
    pub log_date: String,
    pub job_name: String,
    pub job_subname: Option<String>,
    pub chain_name: String,
    pub step_name: Option<String>,
    pub operation: String,
    pub status: String,
    pub error_code: i64,
    pub additional_info: Option<String>,
    /// The job's run the row belongs to: 1, then 2 after a restart, …
    #[serde(default)]
    pub run: u32,
}

impl ViewRow for JobLogRow {
    const COLUMNS: &'static [&'static str] = &[
        "LOG_ID",
        "LOG_DATE",
        "JOB_NAME",
        "JOB_SUBNAME",
        "CHAIN_NAME",
        "STEP_NAME",
        "OPERATION",
        "STATUS",
        "ERROR_CODE",
        "ADDITIONAL_INFO",
        "RUN",
    ];
    const DEFAULT_COLUMNS: &'static [&'static str] = &[
        "LOG_ID",
        "LOG_DATE",
        "JOB_NAME",
        "JOB_SUBNAME",
        "STATUS",
        "ERROR_CODE",
        "ADDITIONAL_INFO",
    ];
    /// The log says what ran, when, and why it ended: nothing is cut.
    const UNCUT: &'static [&'static str] = Self::COLUMNS;
}

/// job_run_details: the details of one job_log row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetailsRow {
    pub log_id: u64,
    pub job_name: String,
    pub job_subname: Option<String>,
    pub status: String,
    pub error_code: i64,
    pub req_start_date: Option<String>,
    pub actual_start_date: Option<String>,
    pub run_duration: Option<f64>,
    pub pid: Option<u32>,
    pub output: String,
    pub errors: String,
    /// The variables this run set (`::set` lines, a handler's context): `REGION=EU, N=3`.
    #[serde(default)]
    pub variables_set: Option<String>,
}

impl ViewRow for RunDetailsRow {
    const COLUMNS: &'static [&'static str] = &[
        "LOG_ID",
        "JOB_NAME",
        "JOB_SUBNAME",
        "STATUS",
        "ERROR_CODE",
        "REQ_START_DATE",
        "ACTUAL_START_DATE",
        "RUN_DURATION",
        "PID",
        "OUTPUT",
        "ERRORS",
        "VARIABLES_SET",
    ];
}

/// timeline: every event of one job, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineRow {
    pub time: String,
    pub job_name: String,
    pub job_subname: Option<String>,
    pub kind: String,
    pub detail: String,
    /// On a step's row when it became RUNNING or SCHEDULED: how it was started (`rule`,
    /// `start_steps`, `retry`, `recovery`, `restart`, `after`, `event`), else null.
    #[serde(default)]
    pub started_by: Option<String>,
    /// The rule whose START started it (with `rule`, `after`, `event`, `restart`), else null.
    #[serde(default)]
    pub by_rule: Option<String>,
}

impl ViewRow for TimelineRow {
    const COLUMNS: &'static [&'static str] = &[
        "TIME",
        "JOB_NAME",
        "JOB_SUBNAME",
        "KIND",
        "DETAIL",
        "STARTED_BY",
        "BY_RULE",
    ];
    const DEFAULT_COLUMNS: &'static [&'static str] =
        &["TIME", "JOB_SUBNAME", "KIND", "STARTED_BY", "DETAIL"];
    const UNCUT: &'static [&'static str] = &["DETAIL"];
}

/// chains: one row per chain of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainRow {
    pub chain_name: String,
    pub number_of_rules: usize,
    pub number_of_steps: usize,
    /// Seconds, or null when the chain has none.
    pub evaluation_interval: Option<f64>,
    pub comments: Option<String>,
    /// `file:line` of the declaration.
    pub source: String,
}

impl ViewRow for ChainRow {
    const COLUMNS: &'static [&'static str] = &[
        "CHAIN_NAME",
        "NUMBER_OF_RULES",
        "NUMBER_OF_STEPS",
        "EVALUATION_INTERVAL",
        "COMMENTS",
        "SOURCE",
    ];
    const DEFAULT_COLUMNS: &'static [&'static str] = &[
        "CHAIN_NAME",
        "NUMBER_OF_RULES",
        "NUMBER_OF_STEPS",
        "EVALUATION_INTERVAL",
        "COMMENTS",
    ];
}

/// chain_steps: one row per step of a chain definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainStepRow {
    pub chain_name: String,
    pub step_name: String,
    /// PROGRAM, SUBCHAIN or EVENT.
    pub step_type: String,
    pub program_name: Option<String>,
    pub subchain_name: Option<String>,
    pub event_name: Option<String>,
    pub event_condition: Option<String>,
    #[serde(with = "oracle_flag")]
    pub skip: bool,
    #[serde(with = "oracle_flag")]
    pub pause: bool,
    #[serde(with = "oracle_flag")]
    pub pause_before: bool,
    #[serde(with = "oracle_flag")]
    pub restart_on_recovery: bool,
    #[serde(with = "oracle_flag")]
    pub restart_on_failure: bool,
}

impl ViewRow for ChainStepRow {
    const COLUMNS: &'static [&'static str] = &[
        "CHAIN_NAME",
        "STEP_NAME",
        "STEP_TYPE",
        "PROGRAM_NAME",
        "SUBCHAIN_NAME",
        "EVENT_NAME",
        "EVENT_CONDITION",
        "SKIP",
        "PAUSE",
        "PAUSE_BEFORE",
        "RESTART_ON_RECOVERY",
        "RESTART_ON_FAILURE",
    ];
    const DEFAULT_COLUMNS: &'static [&'static str] = &[
        "CHAIN_NAME",
        "STEP_NAME",
        "STEP_TYPE",
        "PROGRAM_NAME",
        "SUBCHAIN_NAME",
        "EVENT_NAME",
        "SKIP",
        "PAUSE",
    ];
}

/// chain_rules: one row per rule of a chain definition, in rule order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainRuleRow {
    pub chain_name: String,
    pub rule_name: String,
    pub position: usize,
    pub condition: String,
    pub action: String,
    pub comments: Option<String>,
}

impl ViewRow for ChainRuleRow {
    const COLUMNS: &'static [&'static str] = &[
        "CHAIN_NAME",
        "RULE_NAME",
        "POSITION",
        "CONDITION",
        "ACTION",
        "COMMENTS",
    ];
    const DEFAULT_COLUMNS: &'static [&'static str] =
        &["CHAIN_NAME", "RULE_NAME", "CONDITION", "ACTION"];
    const UNCUT: &'static [&'static str] = &["CONDITION", "ACTION"];
}

/// stats: run history per chain (STEP_NAME null) and per step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsRow {
    pub chain_name: String,
    pub step_name: Option<String>,
    pub runs: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub stopped: u64,
    pub avg_run_duration: Option<f64>,
    pub p50_run_duration: Option<f64>,
    pub p90_run_duration: Option<f64>,
    pub max_run_duration: Option<f64>,
    pub avg_wait_duration: Option<f64>,
    pub p90_wait_duration: Option<f64>,
}

impl ViewRow for StatsRow {
    const COLUMNS: &'static [&'static str] = &[
        "CHAIN_NAME",
        "STEP_NAME",
        "RUNS",
        "SUCCEEDED",
        "FAILED",
        "STOPPED",
        "AVG_RUN_DURATION",
        "P50_RUN_DURATION",
        "P90_RUN_DURATION",
        "MAX_RUN_DURATION",
        "AVG_WAIT_DURATION",
        "P90_WAIT_DURATION",
    ];
    const DEFAULT_COLUMNS: &'static [&'static str] = &[
        "CHAIN_NAME",
        "STEP_NAME",
        "RUNS",
        "SUCCEEDED",
        "FAILED",
        "AVG_RUN_DURATION",
        "P90_RUN_DURATION",
    ];
}

/// The truth value of one predicate of a rule condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredicateTruth {
    /// The predicate as written in the rule language (`A SUCCEEDED`, `:B.error_code IS NULL`).
    pub predicate: String,
    /// TRUE, FALSE or UNKNOWN.
    pub value: String,
    /// The error that made the predicate UNKNOWN (`ORA-01722 …`), if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// explain: one row per rule of every chain instance of a job (nested chains included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainRuleRow {
    pub job_name: String,
    /// Subname of the outer step running this chain instance (nested chains), else null.
    pub job_subname: Option<String>,
    pub chain_name: String,
    pub rule_name: String,
    pub position: usize,
    pub condition: String,
    /// Every predicate of the condition with its value against the current step states.
    pub predicates: Vec<PredicateTruth>,
    /// The whole condition's value now: TRUE, FALSE or UNKNOWN.
    pub value: String,
    /// Whether the rule has fired in this job (its action was taken).
    pub fired: bool,
    pub action: String,
}

impl ViewRow for ExplainRuleRow {
    const COLUMNS: &'static [&'static str] = &[
        "JOB_NAME",
        "JOB_SUBNAME",
        "CHAIN_NAME",
        "RULE_NAME",
        "POSITION",
        "CONDITION",
        "PREDICATES",
        "VALUE",
        "FIRED",
        "ACTION",
    ];
    const DEFAULT_COLUMNS: &'static [&'static str] = &[
        "JOB_SUBNAME",
        "RULE_NAME",
        "VALUE",
        "FIRED",
        "ACTION",
        "PREDICATES",
    ];
    /// explain says why: nothing is cut.
    const UNCUT: &'static [&'static str] = Self::COLUMNS;

    fn cells(&self) -> Vec<String> {
        let predicates = self
            .predicates
            .iter()
            .map(|p| match &p.error {
                Some(e) => format!("{} = {} ({e})", p.predicate, p.value),
                None => format!("{} = {}", p.predicate, p.value),
            })
            .collect::<Vec<_>>()
            .join("; ");
        vec![
            self.job_name.clone(),
            self.job_subname.clone().unwrap_or_default(),
            self.chain_name.clone(),
            self.rule_name.clone(),
            self.position.to_string(),
            self.condition.clone(),
            predicates,
            self.value.clone(),
            cell_text(&serde_json::Value::Bool(self.fired)),
            self.action.clone(),
        ]
    }
}

/// explain: the whole answer for one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub job_name: String,
    pub chain_name: String,
    pub state: String,
    /// For a CHAIN_STALLED job: why, in one paragraph. Null otherwise.
    pub reason: Option<String>,
    pub rules: Vec<ExplainRuleRow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_match_the_serialised_field_names() {
        fn check<T: ViewRow>(row: &T) {
            let value = serde_json::to_value(row).unwrap();
            let keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
            let mut cols: Vec<String> = T::COLUMNS.iter().map(|c| c.to_ascii_lowercase()).collect();
            let mut keys_sorted = keys.clone();
            keys_sorted.sort();
            cols.sort();
            assert_eq!(keys_sorted, cols);
        }
        check(&TimelineRow {
            time: "t".into(),
            job_name: "J".into(),
            job_subname: None,
            kind: "stall".into(),
            detail: "d".into(),
            started_by: None,
            by_rule: None,
        });
        check(&StatsRow {
            chain_name: "C".into(),
            step_name: None,
            runs: 1,
            succeeded: 1,
            failed: 0,
            stopped: 0,
            avg_run_duration: Some(1.5),
            p50_run_duration: None,
            p90_run_duration: None,
            max_run_duration: None,
            avg_wait_duration: None,
            p90_wait_duration: None,
        });
        check(&ChainRuleRow {
            chain_name: "C".into(),
            rule_name: "R".into(),
            position: 1,
            condition: "TRUE".into(),
            action: "START A".into(),
            comments: None,
        });
    }

    #[test]
    fn cells_render_flags_lists_maps_and_seconds() {
        use serde_json::json;
        assert_eq!(cell_text(&json!(true)), "TRUE");
        assert_eq!(cell_text(&json!(null)), "");
        assert_eq!(cell_text(&json!(["A", "N.I1"])), "A,N.I1");
        assert_eq!(
            cell_text(&json!({"DEPTNO": "10", "X": "y"})),
            "DEPTNO=10,X=y"
        );
        assert_eq!(cell_text(&json!(1.5)), "1.5");
        assert_eq!(cell_text(&json!(2.0)), "2");
        assert_eq!(cell_text(&json!(20100)), "20100");
    }
}
