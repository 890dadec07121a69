//! Step and chain-instance transitions: start (skip, pause, pause_before, AFTER), run (program,
//! event, nested chain), attempt results (retries, pause holding the outcome), stop, END, and
//! the end of a job.
//!
//! Every transition emits its effects in the order a driver persists then acts: the
//! StepChanged (and log row) first, then Launch / Kill / SetTimer / CancelTimer.

use super::job::*;
use super::types::*;
use crate::catalog::{StepIdx, StepTarget};

/// Why a step is being stopped (for the job-log row's additional info).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// A STOP rule action or a stop request naming the step.
    Stop,
    /// The chain's END (or the end of the chain running it).
    ChainEnd,
    /// The whole job was stopped.
    JobStopped,
}

impl StopReason {
    fn info(self) -> &'static str {
        match self {
            StopReason::Stop => "stopped by STOP",
            StopReason::ChainEnd => "stopped because its chain ended",
            StopReason::JobStopped => "stopped because the job was stopped",
        }
    }
}

fn outcome_status(outcome: Outcome) -> (StepState, i64) {
    match outcome {
        Outcome::Succeeded => (StepState::Succeeded, 0),
        Outcome::Failed(code) => (StepState::Failed, code),
        Outcome::Stopped => (StepState::Stopped, STOPPED_CODE),
    }
}

/// The outcome a chain END value gives its job or outer step.
pub(crate) fn end_outcome(code: i64) -> Outcome {
    if code == 0 {
        Outcome::Succeeded
    } else {
        Outcome::Failed(code)
    }
}

impl Job {
    /// Would a START act on this step? (NOT_STARTED, or PAUSED-before with pause_before cleared.)
    pub fn can_start(&self, i: InstId, s: StepIdx) -> bool {
        let st = &self.instances[i].step(s);
        st.state == StepState::NotStarted
            || (st.state == StepState::Paused && st.paused_before && !st.attrs.pause_before)
    }

    /// Would a STOP act on this step?
    pub fn can_stop(&self, i: InstId, s: StepIdx) -> bool {
        matches!(
            self.instances[i].step(s).state,
            StepState::Running
                | StepState::Scheduled
                | StepState::RetryScheduled
                | StepState::Stalled
        )
    }

    /// START (possibly `AFTER d`). The caller checked [`Job::can_start`].
    pub fn start_step(&mut self, i: InstId, s: StepIdx, after: Option<u64>, ctx: &mut Ctx) {
        match after.filter(|d| *d > 0) {
            Some(delay) => {
                let subname = self.instances[i].step(s).subname.clone();
                let key = TimerKey::AfterDelay { subname };
                let due = ctx.now.saturating_add(delay);
                let st = self.instances[i].step_mut(s);
                st.paused_before = false;
                st.timer = Some(Box::new((key.clone(), due)));
                self.commit(i, s, StepState::Scheduled, ctx);
                ctx.effects.push(Effect::SetTimer {
                    job: self.record.job.clone(),
                    timer: key,
                    due,
                });
            }
            None => self.begin(i, s, ctx),
        }
    }

    /// The step's start is due now: skip, pause_before, or run it.
    pub fn begin(&mut self, i: InstId, s: StepIdx, ctx: &mut Ctx) {
        let restricted = i == 0
            && self
                .first_eval_only
                .as_ref()
                .is_some_and(|only| !only.contains(&s));
        let st = self.instances[i].step_mut(s);
        st.timer = None;
        st.paused_before = false;
        if restricted {
            // *run with start steps*: a step the first evaluation would start is skipped-and-paused.
            st.attrs.skip = true;
            st.attrs.pause = true;
        }
        if st.attrs.skip {
            st.started_at = None;
            st.attempt_started_at = None;
            if st.attrs.pause {
                st.held = Some(Outcome::Succeeded);
                self.commit(i, s, StepState::Paused, ctx);
            } else {
                st.error_code = Some(0);
                st.ended_at = Some(ctx.now);
                self.commit(i, s, StepState::Succeeded, ctx);
                // A skipped step completes synchronously: the rules see it.
                self.queue_eval(i);
            }
            return;
        }
        if st.attrs.pause_before {
            st.paused_before = true;
            self.commit(i, s, StepState::Paused, ctx);
            return;
        }
        self.run(i, s, RunOperation::Run, ctx);
    }

    /// Run one attempt of the step (program: Launch; event: wait; chain: start the nested chain).
    pub fn run(&mut self, i: InstId, s: StepIdx, operation: RunOperation, ctx: &mut Ctx) {
        let kind = self.instances[i].def.chain.steps[s].kind.clone();
        let now = ctx.now;
        let st = self.instances[i].step_mut(s);
        st.attempts += 1;
        st.operation = operation;
        st.attempt_started_at = Some(now);
        if operation == RunOperation::Run || st.started_at.is_none() {
            st.started_at = Some(now);
        }
        if operation == RunOperation::Run {
            st.retries_done = 0;
        }
        st.ended_at = None;
        st.error_code = None;
        st.held = None;
        st.timer = None;
        let attempt = st.attempts;
        let subname = st.subname.clone();
        let previous_nested = st.nested;
        // `timeout`: armed when a program or event attempt starts, cancelled when it ends.
        let timeout = st
            .attrs
            .timeout
            .filter(|t| *t > 0 && !matches!(kind, StepTarget::Chain(_)))
            .map(|t| {
                let key = TimerKey::StepTimeout {
                    subname: subname.clone(),
                    attempt,
                };
                (key, now.saturating_add(t))
            });
        st.timer = timeout.clone().map(Box::new);
        self.commit(i, s, StepState::Running, ctx);
        if let Some((timer, due)) = timeout {
            ctx.effects.push(Effect::SetTimer {
                job: self.record.job.clone(),
                timer,
                due,
            });
        }
        match kind {
            StepTarget::Program(program) => {
                let chain = self.instances[i].chain_name.clone();
                let step = self.instances[i].def.chain.steps[s].name.clone();
                ctx.effects.push(Effect::Launch {
                    job: self.record.job.clone(),
                    subname,
                    chain,
                    step,
                    program,
                    attempt,
                    operation,
                    parameters: self.environment(),
                });
            }
            StepTarget::Event { .. } => {}
            StepTarget::Chain(chain) => {
                if let Some(prev) = previous_nested {
                    self.detach_instance(prev);
                }
                let id = self.create_instance(&chain, Some((i, s)), previous_nested, ctx);
                self.instances[i].step_mut(s).nested = Some(id);
            }
        }
    }

    /// A program attempt reported its outcome (the caller checked it is the current attempt).
    pub fn attempt_finished(&mut self, i: InstId, s: StepIdx, outcome: Outcome, ctx: &mut Ctx) {
        if let Outcome::Failed(code) = outcome {
            let st = &self.instances[i].step(s);
            if let Some(policy) = st.attrs.restart_on_failure {
                if st.retries_done < policy.retries {
                    self.log_step(i, s, StepState::Failed, code, None, ctx);
                    let st = self.instances[i].step_mut(s);
                    if let Some(t) = st.timer.take() {
                        ctx.effects.push(Effect::CancelTimer {
                            job: self.record.job.clone(),
                            timer: t.0,
                        });
                    }
                    let st = self.instances[i].step_mut(s);
                    st.retries_done += 1;
                    let due = ctx
                        .now
                        .saturating_add(policy.delay_before_retry(st.retries_done));
                    let key = TimerKey::Retry {
                        subname: st.subname.clone(),
                        attempt: st.attempts + 1,
                    };
                    st.timer = Some(Box::new((key.clone(), due)));
                    self.commit(i, s, StepState::RetryScheduled, ctx);
                    ctx.effects.push(Effect::SetTimer {
                        job: self.record.job.clone(),
                        timer: key,
                        due,
                    });
                    return;
                }
            }
        }
        self.finish_run(i, s, outcome, None, ctx);
    }

    /// The step's run ended with `outcome`: log row, then PAUSED (holding the outcome) when the
    /// step has `pause`, else completed (an evaluation trigger).
    pub fn finish_run(
        &mut self,
        i: InstId,
        s: StepIdx,
        outcome: Outcome,
        info: Option<String>,
        ctx: &mut Ctx,
    ) {
        let (status, code) = outcome_status(outcome);
        self.log_step(i, s, status, code, info, ctx);
        let st = self.instances[i].step_mut(s);
        st.ended_at = Some(ctx.now);
        if let Some(t) = st.timer.take() {
            if matches!(t.0, TimerKey::StepTimeout { .. }) {
                ctx.effects.push(Effect::CancelTimer {
                    job: self.record.job.clone(),
                    timer: t.0,
                });
            }
        }
        let st = self.instances[i].step_mut(s);
        if st.attrs.pause {
            st.held = Some(outcome);
            self.commit(i, s, StepState::Paused, ctx);
            return;
        }
        self.set_outcome(i, s, outcome, ctx);
        self.queue_eval(i);
    }

    /// Make the step completed with `outcome` (no log row, no evaluation by itself).
    pub fn set_outcome(&mut self, i: InstId, s: StepIdx, outcome: Outcome, ctx: &mut Ctx) {
        let (status, code) = outcome_status(outcome);
        let st = self.instances[i].step_mut(s);
        st.error_code = Some(code);
        st.held = None;
        st.paused_before = false;
        if st.ended_at.is_none() {
            st.ended_at = Some(ctx.now);
        }
        self.commit(i, s, status, ctx);
    }

    /// Stop a RUNNING, SCHEDULED, RETRY SCHEDULED or STALLED step: STOPPED, error code 1013,
    /// one STOPPED log row. Returns false (and does nothing) for any other state.
    pub fn stop_step(&mut self, i: InstId, s: StepIdx, reason: StopReason, ctx: &mut Ctx) -> bool {
        if !self.can_stop(i, s) {
            return false;
        }
        let st = &self.instances[i].step(s);
        let was = st.state;
        let timer = st.timer.as_deref().cloned();
        let attempt = st.attempts;
        let subname = st.subname.clone();
        let nested = st.nested;
        let is_program = matches!(
            self.instances[i].def.chain.steps[s].kind,
            StepTarget::Program(_)
        );
        if let Some(n) = nested {
            if matches!(was, StepState::Running | StepState::Stalled) {
                let nested_reason = if reason == StopReason::JobStopped {
                    reason
                } else {
                    StopReason::ChainEnd
                };
                self.stop_instance(n, nested_reason, ctx);
            }
        }
        self.log_step(
            i,
            s,
            StepState::Stopped,
            STOPPED_CODE,
            Some(reason.info().to_string()),
            ctx,
        );
        let st = self.instances[i].step_mut(s);
        st.error_code = Some(STOPPED_CODE);
        st.ended_at = Some(ctx.now);
        st.timer = None;
        st.held = None;
        self.commit(i, s, StepState::Stopped, ctx);
        if let Some((key, _)) = timer {
            ctx.effects.push(Effect::CancelTimer {
                job: self.record.job.clone(),
                timer: key,
            });
        }
        if was == StepState::Running && is_program {
            ctx.effects.push(Effect::Kill {
                job: self.record.job.clone(),
                subname,
                attempt,
            });
        }
        true
    }

    /// Stop every active step of an instance (recursively) and close it; cancels its interval.
    pub fn stop_instance(&mut self, i: InstId, reason: StopReason, ctx: &mut Ctx) {
        if !self.instances[i].live() {
            return;
        }
        for s in 0..self.instances[i].steps().len() {
            self.stop_step(i, s, reason, ctx);
        }
        self.close_instance(i, ctx);
    }

    /// Mark an instance ended and cancel its interval timer.
    pub fn close_instance(&mut self, i: InstId, ctx: &mut Ctx) {
        let inst = &mut self.instances[i];
        inst.set_status(InstStatus::Ended);
        if inst.set_interval_due(None).is_some() {
            let key = inst.interval_key();
            ctx.effects.push(Effect::CancelTimer {
                job: self.record.job.clone(),
                timer: key,
            });
        }
    }

    /// The chain instance ends with `code` (an END rule): stop what still runs, then end the job
    /// (top level) or complete the outer step (nested: 0 → SUCCEEDED, n → FAILED n).
    pub fn end_instance(&mut self, i: InstId, code: i64, ctx: &mut Ctx) {
        self.stop_instance(i, StopReason::ChainEnd, ctx);
        match self.instances[i].outer {
            None => self.end_job(end_outcome(code), ctx),
            Some((oi, os)) => {
                if matches!(
                    self.instances[oi].step(os).state,
                    StepState::Running | StepState::Stalled
                ) {
                    self.finish_run(oi, os, end_outcome(code), None, ctx);
                }
            }
        }
    }

    /// The job is over: job record, the chain job's own log row, timeline.
    pub fn end_job(&mut self, outcome: Outcome, ctx: &mut Ctx) {
        // A job stopped while ENQUEUED never ran: its run starts and ends now.
        let was_queued = self.record.state == JobState::Enqueued;
        if was_queued {
            self.record.started_at = ctx.now;
        }
        let (status, code) = outcome_status(outcome);
        let state = match status {
            StepState::Succeeded => JobState::Succeeded,
            StepState::Failed => JobState::Failed,
            _ => JobState::Stopped,
        };
        self.record.state = state;
        self.record.error_code = Some(code);
        self.record.ended_at = Some(ctx.now);
        self.record.stall_reason = None;
        if let Some(root) = self.instances.first_mut() {
            root.set_status(InstStatus::Ended);
        }
        let log_id = ctx.alloc_log_id();
        ctx.effects.push(Effect::Log(LogRow {
            log_id,
            time: ctx.now,
            job: self.record.job.clone(),
            subname: None,
            chain: self.record.chain.clone(),
            step: None,
            operation: RunOperation::Run,
            status,
            error_code: code,
            started_at: Some(self.record.started_at),
            additional_info: self
                .over_duration
                .then(|| "MAX_RUN_DURATION_EXCEEDED".to_string()),
            run: self.run,
        }));
        if self.max_run_duration.is_some() && !self.over_duration && !was_queued {
            ctx.effects.push(Effect::CancelTimer {
                job: self.record.job.clone(),
                timer: TimerKey::MaxRunDuration,
            });
        }
        self.job_changed(ctx);
        let detail = match state {
            JobState::Failed => format!("FAILED {code}"),
            other => other.as_str().to_string(),
        };
        self.timeline(ctx, None, TimelineKind::JobEnded, detail);
        self.eval_queue.clear();
        self.quiet.clear();
        self.first_eval_only = None;
    }

    /// Stop the whole job: every active step STOPPED, the job STOPPED with error code 1013.
    pub fn stop_job(&mut self, ctx: &mut Ctx) {
        if !self.instances.is_empty() {
            self.stop_instance(0, StopReason::JobStopped, ctx);
        }
        self.end_job(Outcome::Stopped, ctx);
    }
}
