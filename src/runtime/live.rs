//! The live display of a foreground run (`chainsched run`, `chainsched resume`), on standard
//! error so that standard output carries only the final view.
//!
//! On a terminal: one line per running step with its progress, redrawn in place. Otherwise:
//! one plain line per step state change and per progress report, with the time since the
//! display started.

use super::events::EngineEvent;
use crate::core::types::StepState;
use crate::lang::duration::format_duration;
use crate::store::Progress;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

#[derive(Default)]
struct Line {
    state: Option<StepState>,
    progress: Progress,
    since: Option<Instant>,
}

/// Show the steps of `jobs` until `done` becomes true.
pub async fn show(
    mut events: broadcast::Receiver<EngineEvent>,
    jobs: BTreeSet<String>,
    tty: bool,
    mut done: watch::Receiver<bool>,
) {
    let t0 = Instant::now();
    let mut lines: BTreeMap<(String, String), Line> = BTreeMap::new();
    let mut drawn = 0usize;
    let multi = jobs.len() > 1;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut settled: BTreeSet<String> = BTreeSet::new();
    loop {
        tokio::select! {
            ev = events.recv() => {
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                };
                watch_settled(&ev, &mut settled);
                note(&mut lines, &jobs, ev, tty, multi, t0);
            }
            _ = tick.tick() => {}
            r = done.changed() => {
                if r.is_err() || *done.borrow() {
                    // Show what happened up to the end: the caller may have seen the final
                    // state in the store a moment before its events were published.
                    let grace = tokio::time::sleep(Duration::from_millis(500));
                    tokio::pin!(grace);
                    while !jobs.iter().all(|j| settled.contains(j)) {
                        tokio::select! {
                            ev = events.recv() => match ev {
                                Ok(ev) => {
                                    watch_settled(&ev, &mut settled);
                                    note(&mut lines, &jobs, ev, tty, multi, t0);
                                }
                                Err(broadcast::error::RecvError::Lagged(_)) => {}
                                Err(_) => break,
                            },
                            _ = &mut grace => break,
                        }
                    }
                    break;
                }
            }
        }
        if tty {
            drawn = redraw(&lines, drawn, multi);
        }
    }
    if tty {
        redraw(&BTreeMap::new(), drawn, multi);
    }
}

/// Remember the jobs that have ended or stalled.
fn watch_settled(ev: &EngineEvent, settled: &mut BTreeSet<String>) {
    if let EngineEvent::Job(r) = ev {
        if r.state.is_finished() || r.state == crate::core::types::JobState::ChainStalled {
            settled.insert(r.job.clone());
        }
    }
}

/// Take one event into the display state; without a terminal, print it as a plain line.
fn note(
    lines: &mut BTreeMap<(String, String), Line>,
    jobs: &BTreeSet<String>,
    ev: EngineEvent,
    tty: bool,
    multi: bool,
    t0: Instant,
) {
    let err = std::io::stderr();
    let mut out = err.lock();
    match ev {
        EngineEvent::Step { job, step } if jobs.contains(&job) => {
            let key = (job.clone(), step.subname.clone());
            let line = lines.entry(key).or_default();
            if line.state != Some(step.state) {
                line.state = Some(step.state);
                if step.state == StepState::Running {
                    line.since = Some(Instant::now());
                }
                if !tty && step.state != StepState::NotStarted {
                    let who = if multi {
                        format!("{job} {}", step.subname)
                    } else {
                        step.subname.clone()
                    };
                    let code = match (step.state, step.error_code) {
                        (StepState::Failed, Some(c)) => format!(" {c}"),
                        _ => String::new(),
                    };
                    let _ = writeln!(
                        out,
                        "{:>8}  {who}  {}{code}",
                        elapsed(t0),
                        step.state.as_str()
                    );
                }
            }
        }
        EngineEvent::Progress {
            job,
            subname,
            progress,
        } if jobs.contains(&job) => {
            if !tty {
                let who = if multi {
                    format!("{job} {subname}")
                } else {
                    subname.clone()
                };
                let _ = writeln!(out, "{:>8}  {who}  {}", elapsed(t0), describe(&progress));
            }
            lines.entry((job, subname)).or_default().progress = progress;
        }
        EngineEvent::Job(r) if jobs.contains(&r.job) && !tty => {
            let _ = writeln!(
                out,
                "{:>8}  job {}  {}",
                elapsed(t0),
                r.job,
                r.state.as_str()
            );
        }
        _ => {}
    }
}

fn elapsed(t0: Instant) -> String {
    format!("+{}", format_duration(t0.elapsed().as_millis() as u64))
}

fn describe(p: &Progress) -> String {
    let mut parts = Vec::new();
    if let (Some(s), Some(t)) = (p.sofar, p.totalwork) {
        let pct = s.saturating_mul(100).checked_div(t).unwrap_or(0);
        parts.push(format!("{s}/{t} ({pct}%)"));
    }
    if let Some(m) = &p.status_message {
        parts.push(m.clone());
    }
    parts.join("  ")
}

/// Erase the previous block of `drawn` lines and draw the running steps; returns lines drawn.
fn redraw(lines: &BTreeMap<(String, String), Line>, drawn: usize, multi: bool) -> usize {
    let mut out = String::new();
    if drawn > 0 {
        out.push_str(&format!("\x1b[{drawn}A\x1b[J"));
    }
    let mut n = 0;
    for ((job, sub), l) in lines {
        if l.state != Some(StepState::Running) {
            continue;
        }
        let who = if multi {
            format!("{job} {sub}")
        } else {
            sub.clone()
        };
        let secs = l
            .since
            .map(|s| format_duration(s.elapsed().as_millis() as u64 / 100 * 100))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {who:<24} RUNNING {secs:>8}  {}\n",
            describe(&l.progress)
        ));
        n += 1;
    }
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(out.as_bytes());
    let _ = err.flush();
    n
}
