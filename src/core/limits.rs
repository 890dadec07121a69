//! Limits on what a start request may carry: job names and parameters.
//!
//! Why here: every way of starting a job (the HTTP API, `chainsched start`/`run`, the library,
//! and the simulator, which drives the same core) goes through the core's start check
//! ([`super::Core::check_start`]), so a name that would be unreadable in a table, break a log
//! line or bloat every key of the store is refused the same way everywhere, with a message that
//! names the field. docs/http-api.md ("Limits") lists them.

use std::collections::BTreeMap;

/// The longest job name, in characters.
pub const MAX_JOB_NAME: usize = 256;
/// The longest parameter name, in characters.
pub const MAX_PARAM_NAME: usize = 128;
/// The largest parameter value, in bytes.
pub const MAX_PARAM_VALUE: usize = 64 * 1024;
/// The most parameters one job may have.
pub const MAX_PARAMS: usize = 256;

fn shown(s: &str) -> String {
    let short: String = s.chars().take(40).collect();
    if short.len() < s.len() {
        format!("{short:?}…")
    } else {
        format!("{short:?}")
    }
}

/// A job name: 1 to [`MAX_JOB_NAME`] characters, no control characters, not only blanks.
pub fn check_job_name(job: &str) -> Result<(), String> {
    if job.trim().is_empty() {
        return Err("job: the job name is empty".into());
    }
    let n = job.chars().count();
    if n > MAX_JOB_NAME {
        return Err(format!(
            "job: the job name {} has {n} characters; at most {MAX_JOB_NAME} are allowed",
            shown(job)
        ));
    }
    if job.chars().any(char::is_control) {
        return Err(format!(
            "job: the job name {} contains a control character",
            shown(job)
        ));
    }
    Ok(())
}

/// Parameters: at most [`MAX_PARAMS`]; names are identifiers (a letter or `_`, then letters,
/// digits, `_`, `$`, `#`; at most [`MAX_PARAM_NAME`] characters); values at most
/// [`MAX_PARAM_VALUE`] bytes without NUL characters (they become environment values and
/// arguments).
pub fn check_parameters(params: &BTreeMap<String, String>) -> Result<(), String> {
    if params.len() > MAX_PARAMS {
        return Err(format!(
            "parameters: {} parameters given; at most {MAX_PARAMS} are allowed",
            params.len()
        ));
    }
    for (name, value) in params {
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '#'));
        if !first_ok || !rest_ok || name.len() > MAX_PARAM_NAME {
            return Err(format!(
                "parameters: {} is not a parameter name (a letter or _, then letters, digits, _, $ \
                 or #; at most {MAX_PARAM_NAME} characters)",
                shown(name)
            ));
        }
        if value.len() > MAX_PARAM_VALUE {
            return Err(format!(
                "parameters.{name}: the value has {} bytes; at most {MAX_PARAM_VALUE} are allowed",
                value.len()
            ));
        }
        if value.contains('\0') {
            return Err(format!(
                "parameters.{name}: the value contains a NUL character"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_beyond_the_limits_are_refused_naming_the_field() {
        assert!(check_job_name("RUN_CHAIN$_C1").is_ok());
        assert!(check_job_name("nightly load 2024-05-01").is_ok());
        assert!(check_job_name("").unwrap_err().starts_with("job:"));
        assert!(check_job_name(" ").is_err());
        assert!(check_job_name("A\nB").unwrap_err().contains("control"));
        assert!(check_job_name("A\0B").is_err());
        assert!(check_job_name(&"J".repeat(MAX_JOB_NAME)).is_ok());
        let long = check_job_name(&"J".repeat(500_000)).unwrap_err();
        assert!(
            long.len() < 200,
            "the message does not echo the name: {long}"
        );
        let p = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert!(check_parameters(&p("RUN_DATE", "2024")).is_ok());
        assert!(check_parameters(&p("", "x")).is_err());
        assert!(check_parameters(&p("A B", "x"))
            .unwrap_err()
            .starts_with("parameters:"));
        assert!(check_parameters(&p("1X", "x")).is_err());
        assert!(check_parameters(&p("X", &"v".repeat(MAX_PARAM_VALUE + 1)))
            .unwrap_err()
            .starts_with("parameters.X:"));
        let many: BTreeMap<String, String> = (0..=MAX_PARAMS)
            .map(|i| (format!("P{i}"), String::new()))
            .collect();
        assert!(check_parameters(&many).is_err());
    }
}
