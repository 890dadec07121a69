//! In-process handlers: async functions registered by the embedding service under the name a
//! program's `handler 'name'` uses. A handler gets a [`HandlerContext`] to read the job's
//! parameters, report progress and status, and notice cancellation (STOP, chain end, timeout).
//! It returns the step's [`Outcome`].

use super::{
    stopped, timeout_elapsed, Capture, ExecEnv, ExecEvent, Reporter, StepLaunch, LAUNCH_FAILED,
    TIMED_OUT,
};
use crate::core::types::Outcome;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

pub type HandlerFuture = Pin<Box<dyn Future<Output = Outcome> + Send + 'static>>;
pub type HandlerFn = Arc<dyn Fn(HandlerContext) -> HandlerFuture + Send + Sync>;

/// Handlers by name (exact, case-sensitive: the name is a string in the rule file).
#[derive(Clone, Default)]
pub struct HandlerRegistry {
    inner: Arc<RwLock<HashMap<String, HandlerFn>>>,
}

impl HandlerRegistry {
    pub fn register<F, Fut>(&self, name: &str, f: F)
    where
        F: Fn(HandlerContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let f: HandlerFn = Arc::new(move |ctx| Box::pin(f(ctx)));
        self.inner
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), f);
    }

    pub fn get(&self, name: &str) -> Option<HandlerFn> {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }
}

/// What a handler knows about the attempt it runs, and how it talks back.
#[derive(Clone)]
pub struct HandlerContext {
    job: String,
    subname: String,
    attempt: u32,
    parameters: BTreeMap<String, String>,
    report: Reporter,
    cancel: watch::Receiver<bool>,
    /// Variables set by the handler, applied with its outcome.
    variables: Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

impl std::fmt::Debug for HandlerContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerContext")
            .field("job", &self.job)
            .field("subname", &self.subname)
            .field("attempt", &self.attempt)
            .finish()
    }
}

impl HandlerContext {
    pub fn job(&self) -> &str {
        &self.job
    }
    pub fn subname(&self) -> &str {
        &self.subname
    }
    /// 1 for the first attempt, 2 for the first retry, ...
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
    /// The job's parameters and variables as the step started (upper-cased names; a
    /// variable a step set overrides the parameter of the same name).
    pub fn parameters(&self) -> &BTreeMap<String, String> {
        &self.parameters
    }
    /// Set job variable `name` (case-insensitive) to `value` when this attempt ends, with its
    /// outcome, as a program's `::set NAME=VALUE` line does. Refused (with the reason) for a
    /// name that is not a variable name or a value with a NUL character.
    pub fn set_variable(&self, name: &str, value: &str) -> Result<(), String> {
        let upper = name.to_ascii_uppercase();
        if !crate::core::types::valid_variable_name(&upper) {
            return Err(format!(
                "'{name}' is not a variable name (a letter or _, then letters, digits, _, $ or \
                 #; at most 128 characters)"
            ));
        }
        if value.contains('\0') {
            return Err(format!(
                "variable {upper}: the value contains a NUL character"
            ));
        }
        let mut vars = self.variables.lock().unwrap_or_else(|p| p.into_inner());
        super::output::push_variable(&mut vars, upper, value.to_string())
    }
    /// One parameter, by case-insensitive name.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        let upper = name.to_uppercase();
        self.parameters.get(&upper).map(String::as_str)
    }
    /// Report progress (SOFAR/TOTALWORK, optional message) for the running-chain view.
    pub fn progress(&self, sofar: u64, totalwork: u64, message: Option<&str>) {
        (self.report)(ExecEvent::Progress {
            job: self.job.clone(),
            subname: self.subname.clone(),
            sofar: Some(sofar),
            totalwork: Some(totalwork),
            message: message.map(str::to_string),
        });
    }
    /// Report a status message (STATUS_MESSAGE).
    pub fn status(&self, message: &str) {
        (self.report)(ExecEvent::Progress {
            job: self.job.clone(),
            subname: self.subname.clone(),
            sofar: None,
            totalwork: None,
            message: Some(message.to_string()),
        });
    }
    /// True once the step has been asked to stop (or timed out).
    pub fn is_cancelled(&self) -> bool {
        *self.cancel.borrow()
    }
    /// Resolves when the step is asked to stop. Handlers should then return soon: after the
    /// engine's grace period they are dropped.
    pub async fn cancelled(&self) {
        let mut rx = self.cancel.clone();
        stopped(&mut rx).await
    }
}

pub async fn run(
    env: &ExecEnv,
    step: &StepLaunch,
    name: &str,
    mut stop: watch::Receiver<bool>,
) -> (Outcome, Capture) {
    let mut capture = Capture {
        actual_start: env.clock.now(),
        ..Capture::default()
    };
    let Some(f) = env.handlers.get(name) else {
        capture.errors = format!("no handler named '{name}' is registered with the engine");
        capture.reason = Some(format!("not started: {}", capture.errors));
        return (Outcome::Failed(LAUNCH_FAILED), capture);
    };
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let ctx = HandlerContext {
        job: step.job.clone(),
        subname: step.subname.clone(),
        attempt: step.attempt,
        parameters: step.parameters.clone(),
        report: env.report.clone(),
        cancel: cancel_rx,
        variables: Arc::default(),
    };
    let variables = ctx.variables.clone();
    let take = move || std::mem::take(&mut *variables.lock().unwrap_or_else(|p| p.into_inner()));
    let mut task = tokio::spawn(f(ctx));
    let joined = |r: Result<Outcome, tokio::task::JoinError>, capture: &mut Capture| match r {
        Ok(o) => o,
        Err(e) => {
            capture.errors = format!("handler '{name}' panicked: {e}");
            Outcome::Failed(1)
        }
    };
    let forced = tokio::select! {
        r = &mut task => return {
            let o = joined(r, &mut capture);
            capture.variables = take();
            (o, capture)
        },
        _ = stopped(&mut stop) => Outcome::Stopped,
        _ = timeout_elapsed(&env.clock, step.program.timeout) => {
            capture.errors = "timed out".to_string();
            capture.reason = Some(super::timed_out_reason(&step.program));
            Outcome::Failed(TIMED_OUT)
        }
    };
    // Ask the handler to finish, give it the grace period, then drop it.
    let _ = cancel_tx.send(true);
    if tokio::time::timeout(env.kill_grace, &mut task)
        .await
        .is_err()
    {
        task.abort();
    }
    if !matches!(forced, Outcome::Stopped) {
        // A timed-out handler failed: what it set is applied, as for a failed program.
        capture.variables = take();
    }
    (forced, capture)
}
