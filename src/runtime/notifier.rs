//! The notifier: delivers the outbox (`store::outbox`) outside the engine's actor.
//!
//! Why a task of its own: a webhook can hang for seconds and a program can take long; the
//! actor must never wait for either (its turn latency is every job's latency). The actor only
//! writes outbox rows in its batches and, once a batch is durable, tells the notifier their
//! ids. The notifier also reads every PENDING row when the engine starts, so rows written
//! before a crash are delivered by the next engine. Each attempt runs on its own task (HTTP on
//! a blocking thread with `ureq`, programs with `tokio::process`, both with a time limit); its
//! result is written back to the row (SENT, or PENDING again at a later time with backoff, or
//! FAILED once the attempts are spent). Delivery is at least once.

use super::clock::EngineClock;
use crate::lang::duration::Millis;
use crate::store::outbox::{Channel, DeliveryStatus, Notification, KEEP_FINISHED};
use crate::store::ChainStore;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long one webhook call or one program may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// At most this many deliveries at once.
const MAX_IN_FLIGHT: usize = 8;
/// Engines sharing a database look this often for rows of engines that are gone.
const ADOPT_EVERY: Duration = Duration::from_secs(5);

pub(crate) enum NotifierMsg {
    /// Rows just made durable by the actor.
    New(Vec<String>),
    /// An attempt ended: `Ok` delivered, `Err(why)` not.
    Done {
        id: String,
        result: Result<(), String>,
    },
    /// Answer once nothing is in flight and nothing is due now that was never tried (the
    /// engine shuts down: give fresh notifications their first attempt).
    Drain(oneshot::Sender<()>),
    /// The engine stops: so does the notifier (it must not keep the store open).
    Stop,
}

/// Start the notifier. `cluster`: engines sharing a database deliver their own rows, and take
/// over the rows of engines that are gone.
pub(crate) fn spawn(
    store: ChainStore,
    clock: EngineClock,
    cluster: Option<std::sync::Arc<super::cluster::Cluster>>,
) -> mpsc::UnboundedSender<NotifierMsg> {
    let (tx, rx) = mpsc::unbounded_channel();
    let n = Notifier {
        store,
        clock,
        owner: cluster.as_ref().map(|c| c.id.clone()),
        cluster,
        tx: tx.downgrade(),
        due: BTreeSet::new(),
        rows: HashMap::new(),
        in_flight: HashSet::new(),
        drains: Vec::new(),
    };
    tokio::spawn(n.run(rx));
    tx
}

struct Notifier {
    store: ChainStore,
    clock: EngineClock,
    owner: Option<String>,
    cluster: Option<std::sync::Arc<super::cluster::Cluster>>,
    /// Weak: the notifier ends when the engine's senders are gone.
    tx: mpsc::WeakUnboundedSender<NotifierMsg>,
    /// (next attempt, id) of every pending row not in flight.
    due: BTreeSet<(Millis, String)>,
    rows: HashMap<String, Notification>,
    in_flight: HashSet<String>,
    drains: Vec<oneshot::Sender<()>>,
}

impl Notifier {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<NotifierMsg>) {
        self.load_pending().await;
        let mut adopt = tokio::time::interval(ADOPT_EVERY);
        loop {
            self.start_due();
            self.answer_drains();
            let wait = match self.due.iter().next() {
                Some((at, _)) if self.in_flight.len() < MAX_IN_FLIGHT => self.clock.until(*at),
                _ => Duration::from_secs(3600),
            };
            tokio::select! {
                msg = rx.recv() => match msg {
                    None | Some(NotifierMsg::Stop) => return,
                    Some(NotifierMsg::New(ids)) => self.add(ids).await,
                    Some(NotifierMsg::Done { id, result }) => self.done(id, result).await,
                    Some(NotifierMsg::Drain(reply)) => self.drains.push(reply),
                },
                _ = tokio::time::sleep(wait) => {}
                _ = adopt.tick(), if self.cluster.is_some() => self.adopt_orphans().await,
            }
        }
    }

    fn mine(&self, n: &Notification) -> bool {
        n.owner.is_none() || n.owner == self.owner
    }

    fn keep(&mut self, n: Notification) {
        if n.status == DeliveryStatus::Pending && self.mine(&n) && !self.in_flight.contains(&n.id) {
            self.due.insert((n.next_attempt_at, n.id.clone()));
            self.rows.insert(n.id.clone(), n);
        }
    }

    async fn load_pending(&mut self) {
        let store = self.store.clone();
        let cutoff = self.clock.now().saturating_sub(KEEP_FINISHED);
        let read = tokio::task::spawn_blocking(move || {
            let (pending, expired) = store.pending_notifications(cutoff)?;
            store.delete_notifications(expired)?;
            Ok::<_, crate::store::StoreError>(pending)
        })
        .await;
        match read {
            Ok(Ok(pending)) => {
                for n in pending {
                    self.keep(n);
                }
            }
            Ok(Err(e)) => tracing::error!("notifications cannot be read from the store: {e}"),
            Err(e) => tracing::error!("notifications cannot be read: {e}"),
        }
    }

    /// Engines sharing a database: pending rows of engines that are no longer alive become
    /// this engine's (two engines may both take one: delivery is at least once).
    async fn adopt_orphans(&mut self) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        let store = self.store.clone();
        let pending =
            match tokio::task::spawn_blocking(move || store.pending_notifications(0)).await {
                Ok(Ok((p, _))) => p,
                _ => return,
            };
        let foreign: Vec<Notification> = pending.into_iter().filter(|n| !self.mine(n)).collect();
        if foreign.is_empty() {
            return;
        }
        let Ok(live) = cluster.other_live_engines().await else {
            return;
        };
        for mut n in foreign {
            if n.owner.as_ref().is_some_and(|o| live.contains(o)) {
                continue;
            }
            tracing::info!(
                notify = %n.notify, job = %n.job, from = ?n.owner,
                "taking over a notification of an engine that is gone"
            );
            n.owner = self.owner.clone();
            let store = self.store.clone();
            let row = n.clone();
            if let Ok(Ok(())) =
                tokio::task::spawn_blocking(move || store.update_notification(&row)).await
            {
                self.keep(n);
            }
        }
    }

    async fn add(&mut self, ids: Vec<String>) {
        let store = self.store.clone();
        let read = tokio::task::spawn_blocking(move || {
            ids.iter()
                .filter_map(|id| store.notification(id).ok().flatten())
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        for n in read {
            self.keep(n);
        }
    }

    /// Start every attempt that is due, up to [`MAX_IN_FLIGHT`].
    fn start_due(&mut self) {
        let now = self.clock.now();
        while self.in_flight.len() < MAX_IN_FLIGHT {
            let Some((at, id)) = self.due.iter().next().cloned() else {
                return;
            };
            if at > now {
                return;
            }
            self.due.remove(&(at, id.clone()));
            let Some(n) = self.rows.get(&id).cloned() else {
                continue;
            };
            let Some(tx) = self.tx.upgrade() else {
                return;
            };
            self.in_flight.insert(id.clone());
            // Only a conditional row reads the store (and lets it go at once).
            let store = n.only_if_enqueued.then(|| self.store.clone());
            tokio::spawn(async move {
                let result = attempt(store, &n).await;
                let _ = tx.send(NotifierMsg::Done { id, result });
            });
        }
    }

    async fn done(&mut self, id: String, result: Result<(), String>) {
        self.in_flight.remove(&id);
        let Some(mut n) = self.rows.remove(&id) else {
            return;
        };
        let now = self.clock.now();
        n.attempts += 1;
        match result {
            Ok(()) => {
                n.status = DeliveryStatus::Sent;
                n.sent_at = Some(now);
                n.last_error = None;
            }
            Err(why) if why.starts_with(SKIP) => {
                n.attempts -= 1;
                n.status = DeliveryStatus::Skipped;
                n.last_error = Some(why[SKIP.len()..].to_string());
            }
            Err(why) => {
                tracing::warn!(
                    notify = %n.notify, job = %n.job, attempt = n.attempts,
                    "notification not delivered: {why}"
                );
                n.last_error = Some(why);
                if n.attempts >= n.max_attempts {
                    n.status = DeliveryStatus::Failed;
                } else {
                    n.next_attempt_at = now.saturating_add(n.backoff());
                }
            }
        }
        let store = self.store.clone();
        let row = n.clone();
        let written = tokio::task::spawn_blocking(move || store.update_notification(&row)).await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("notification {} not updated: {e}", n.id),
            Err(e) => tracing::error!("notification {} not updated: {e}", n.id),
        }
        self.keep(n);
    }

    fn answer_drains(&mut self) {
        if self.drains.is_empty() {
            return;
        }
        let now = self.clock.now();
        let fresh_due = self
            .due
            .iter()
            .take_while(|(at, _)| *at <= now)
            .any(|(_, id)| self.rows.get(id).is_some_and(|n| n.attempts == 0));
        if self.in_flight.is_empty() && !fresh_due {
            for d in self.drains.drain(..) {
                let _ = d.send(());
            }
        }
    }
}

/// Prefix of an attempt's "error" that means: not to be sent (its condition no longer holds).
const SKIP: &str = "skip:";

/// One delivery attempt.
async fn attempt(store: Option<ChainStore>, n: &Notification) -> Result<(), String> {
    if let Some(store) = store {
        let job = n.job.clone();
        let state = tokio::task::spawn_blocking(move || store.job(&job))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        match state {
            Some(r) if r.state == crate::core::types::JobState::Enqueued => {}
            Some(r) => {
                return Err(format!(
                    "{SKIP}the job left ENQUEUED in time (it is {})",
                    r.state.as_str()
                ))
            }
            None => return Err(format!("{SKIP}the job is no longer in the store")),
        }
    }
    match &n.channel {
        Channel::Webhook(url) => {
            let url = url.clone();
            let body = n.message.clone();
            tokio::task::spawn_blocking(move || post(&url, &body))
                .await
                .map_err(|e| e.to_string())?
        }
        Channel::Command(argv) => run_command(argv, n).await,
    }
}

fn post(url: &str, body: &serde_json::Value) -> Result<(), String> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(5))
        .timeout(ATTEMPT_TIMEOUT)
        .build();
    match agent
        .post(url)
        .set("content-type", "application/json")
        .set("user-agent", "chainsched-notify")
        .send_json(body)
    {
        Ok(resp) if (200..300).contains(&resp.status()) => Ok(()),
        Ok(resp) => Err(format!("{url} answered HTTP {}", resp.status())),
        Err(ureq::Error::Status(code, _)) => Err(format!("{url} answered HTTP {code}")),
        // ureq's transport errors name the URL already.
        Err(ureq::Error::Transport(t)) => Err(t.to_string()),
    }
}

async fn run_command(argv: &[String], n: &Notification) -> Result<(), String> {
    use tokio::io::AsyncWriteExt;
    let Some((program, args)) = argv.split_first() else {
        return Err("command: no program".into());
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env("CHAINSCHED_NOTIFY", &n.notify)
        .env("CHAINSCHED_NOTIFY_EVENT", &n.event)
        .env("CHAINSCHED_NOTIFY_JOB", &n.job)
        .env("CHAINSCHED_NOTIFY_CHAIN", &n.chain)
        .env("CHAINSCHED_NOTIFY_DEFINITION", text(&n.definition))
        .env("CHAINSCHED_NOTIFY_STEP", text(&n.subname))
        .env(
            "CHAINSCHED_NOTIFY_STATE",
            n.message["state"].as_str().unwrap_or_default(),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let body = serde_json::to_vec(&n.message).unwrap_or_default();
        // A program that does not read its input is fine.
        let _ = stdin.write_all(&body).await;
    }
    match tokio::time::timeout(ATTEMPT_TIMEOUT, child.wait_with_output()).await {
        Err(_) => Err(format!(
            "{program} ran longer than {}s and was killed",
            ATTEMPT_TIMEOUT.as_secs()
        )),
        Ok(Err(e)) => Err(format!("{program}: {e}")),
        Ok(Ok(out)) if out.status.success() => Ok(()),
        Ok(Ok(out)) => {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: String = err
                .trim()
                .chars()
                .rev()
                .take(200)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            Err(format!("{program} exited with {}: {tail}", out.status))
        }
    }
}
