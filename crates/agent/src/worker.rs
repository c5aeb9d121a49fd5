//! The two loops a worker runs: jobs (decide) and the outbox (write to Linear), plus the
//! store's pruning. Several workers may share a PostgreSQL store; with SQLite, one process runs
//! the loops.
//!
//! The job runner's rules, the same for jobs and writes:
//! - a claim counts the attempt, so a run that never ends (a crash, a kill) still counts; a
//!   job or write claimed past its attempts is failed without running again (a poison job
//!   cannot crash-loop workers forever);
//! - the work runs in its own task: a panic fails that attempt, not the loop;
//! - the lease is renewed while the work runs, so a long job is not taken by another worker; a
//!   renewal or settlement that finds the claim lost (this worker stalled past its lease and
//!   another took over) stops the work and changes nothing.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cutover_github::GitHubClient;
use cutover_jobs::{Job, Kinds, Lease, NewJob, OutboxItem, Store, StoreError};
use cutover_linear::types::ActivityContent;
use cutover_linear::{LinearClient, Trigger};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::flow::{FlowContext, FlowState, JobError, run_job};
use crate::messages::MANAGED_LABELS;
use crate::writes::{Sent, Write, backoff, send};

/// Timing of retries and leases.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub name: String,
    /// How long a claimed job or write is reserved for this worker; it is renewed every quarter
    /// of it while the work runs. A worker that stops renewing (it died or stalled) loses the
    /// claim when the lease runs out, and another worker may take it.
    pub lease: Duration,
    /// How often to look for work when nothing signals it.
    pub poll: Duration,
    pub job_retry_base: Duration,
    pub job_max_attempts: i64,
    pub outbox_retry_base: Duration,
    pub outbox_retry_cap: Duration,
    pub outbox_max_attempts: i64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            name: format!("worker-{}", std::process::id()),
            lease: Duration::from_secs(300),
            poll: Duration::from_millis(500),
            job_retry_base: Duration::from_secs(2),
            job_max_attempts: 8,
            outbox_retry_base: Duration::from_millis(500),
            outbox_retry_cap: Duration::from_secs(300),
            outbox_max_attempts: 30,
        }
    }
}

/// Wakes the loops when a webhook stored a job or a job queued writes.
#[derive(Debug, Clone, Default)]
pub struct Wakeup(Arc<Notify>);

impl Wakeup {
    pub fn wake(&self) {
        self.0.notify_waiters();
        self.0.notify_one();
    }

    pub(crate) async fn wait(&self, poll: Duration) {
        let _ = tokio::time::timeout(poll, self.0.notified()).await;
    }
}

/// The loops of this process and how each one ended, for `/healthz`. A loop is not meant to
/// end: one that did (a panic outside the contained work, a bug) is reported until the
/// process is restarted.
#[derive(Debug, Clone, Default)]
pub struct Loops(Arc<Mutex<BTreeMap<&'static str, Option<String>>>>);

impl Loops {
    /// Runs `body` as the loop `name`, recording why when it ends.
    pub fn spawn(&self, name: &'static str, body: impl Future<Output = ()> + Send + 'static) {
        self.record(name, None);
        let task = tokio::spawn(body);
        let loops = self.clone();
        tokio::spawn(async move {
            let reason = match task.await {
                Ok(()) => "returned".to_string(),
                Err(err) if err.is_panic() => format!("panicked: {}", panic_message(err.into_panic())),
                Err(_) => "was cancelled".to_string(),
            };
            eprintln!("cutover: the {name} loop stopped: {reason}");
            loops.record(name, Some(reason));
        });
    }

    /// The loops that stopped, with why, by name.
    pub fn stopped(&self) -> Vec<(&'static str, String)> {
        let loops = self.0.lock().unwrap_or_else(|p| p.into_inner());
        loops.iter().filter_map(|(name, reason)| Some((*name, reason.clone()?))).collect()
    }

    fn record(&self, name: &'static str, reason: Option<String>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(name, reason);
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload.downcast_ref::<&str>().map_or_else(|| "(no message)".to_string(), |s| s.to_string()),
    }
}

/// How a claimed piece of work ended.
enum Run<T> {
    Finished(T),
    Panicked(String),
    /// Another worker holds the claim now; the work was stopped.
    LeaseLost,
}

/// Aborts the work when the runner is dropped (its loop was cancelled), as a crash would.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `work` in its own task, renewing the lease every quarter of it until the work ends.
async fn run_leased<T, W, R, RF>(lease: Duration, work: W, renew: R) -> Run<T>
where
    T: Send + 'static,
    W: Future<Output = T> + Send + 'static,
    R: Fn() -> RF,
    RF: Future<Output = Result<Lease, StoreError>>,
{
    let mut task = AbortOnDrop(tokio::spawn(work));
    let every = (lease / 4).max(Duration::from_millis(1));
    let mut renewals = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    renewals.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            joined = &mut task.0 => return match joined {
                Ok(value) => Run::Finished(value),
                Err(err) if err.is_panic() => Run::Panicked(panic_message(err.into_panic())),
                Err(err) => Run::Panicked(err.to_string()),
            },
            _ = renewals.tick() => match renew().await {
                Ok(Lease::Held) => {}
                Ok(Lease::Lost) => return Run::LeaseLost,
                // The lease may still be valid; the next tick tries again.
                Err(err) => eprintln!("cutover: could not renew a lease: {err}"),
            },
        }
    }
}

fn lost(what: &str, step: &str) {
    eprintln!(
        "cutover: {what} was taken over by another worker (this one held it past its lease); its {step} was dropped"
    );
}

/// Runs a job of any kind: a phase run, or a step of an issue's flow.
pub async fn handle(ctx: &FlowContext, job: &Job) -> Result<(), JobError> {
    if job.kind == crate::rollout::RUN_KIND { crate::rollout::run(ctx, job).await } else { run_job(ctx, job).await }
}

/// Claims and runs one job of any kind; false when there was none.
pub async fn run_one_job(ctx: &FlowContext, settings: &WorkerSettings) -> Result<bool, StoreError> {
    let flow = ctx.clone();
    process_one_job(&ctx.store, settings, move |job| async move { handle(&flow, &job).await }).await
}

/// Claims one job and runs `handler` on it under the job runner's rules (see the module);
/// false when there was none.
pub async fn process_one_job<H, F>(store: &Store, settings: &WorkerSettings, handler: H) -> Result<bool, StoreError>
where
    H: FnOnce(Job) -> F,
    F: Future<Output = Result<(), JobError>> + Send + 'static,
{
    process_one_job_of(store, settings, Kinds::Any, handler).await
}

/// [`process_one_job`] among the jobs of some kinds only.
pub async fn process_one_job_of<H, F>(
    store: &Store,
    settings: &WorkerSettings,
    kinds: Kinds<'_>,
    handler: H,
) -> Result<bool, StoreError>
where
    H: FnOnce(Job) -> F,
    F: Future<Output = Result<(), JobError>> + Send + 'static,
{
    let Some(job) = store.claim_job_of(&settings.name, settings.lease, kinds).await? else {
        return Ok(false);
    };
    let what = format!("job {} ({})", job.id, job.key);
    if job.attempt > settings.job_max_attempts {
        let reason = format!(
            "it was tried {} times and the last try never finished (the worker stopped or crashed while running it)",
            job.attempt - 1
        );
        give_up(store, &job, &reason, settings.lease).await?;
        return Ok(true);
    }
    let run = run_leased(settings.lease, handler(job.clone()), || store.renew_job(&job, settings.lease)).await;
    let (error, fatal) = match run {
        Run::Finished(Ok(())) => {
            if store.finish_job(&job).await? == Lease::Lost {
                lost(&what, "result");
            }
            return Ok(true);
        }
        Run::LeaseLost => {
            lost(&what, "run");
            return Ok(true);
        }
        Run::Finished(Err(JobError::Retry(reason))) => (reason, false),
        Run::Finished(Err(JobError::Fatal(reason))) => (reason, true),
        Run::Panicked(message) => (format!("the job panicked: {message}"), false),
    };
    if !fatal && job.attempt < settings.job_max_attempts {
        let delay = backoff(settings.job_retry_base, settings.lease, job.attempt, None);
        if store.retry_job(&job, delay, &error).await? == Lease::Lost {
            lost(&what, "retry");
        }
    } else {
        give_up(store, &job, &error, settings.lease).await?;
    }
    Ok(true)
}

/// Tells the requester and fails the job, unless another worker holds it now. The report is
/// queued first, under a key of the job: a crash in between gives up again on the next claim
/// and finds the report already queued, so it is neither lost nor sent twice.
async fn give_up(store: &Store, job: &Job, reason: &str, lease: Duration) -> Result<(), StoreError> {
    let what = format!("job {} ({})", job.id, job.key);
    if store.renew_job(job, lease).await? == Lease::Lost {
        lost(&what, "failure");
        return Ok(());
    }
    report_failure(store, job, reason).await?;
    if store.fail_job(job, reason).await? == Lease::Lost {
        lost(&what, "failure");
    }
    Ok(())
}

/// Tells the requester that Cutover gave up on their request, and what to do.
async fn report_failure(store: &Store, job: &Job, reason: &str) -> Result<(), StoreError> {
    let flow: FlowState =
        store.load_flow(&job.key).await?.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
    let session_id = flow.session_id.or_else(|| match serde_json::from_value(job.payload.clone()) {
        Ok(Trigger::SessionCreated { session_id, .. } | Trigger::SessionPrompted { session_id, .. }) => {
            Some(session_id)
        }
        _ => None,
    });
    let body = format!(
        "Cutover could not finish this request: {reason}. Nothing was changed in the database. Reply here to try again; if it keeps failing, check Cutover's logs for job {}.",
        job.id
    );
    let write = match session_id {
        Some(session_id) => Write::activity(&session_id, ActivityContent::Error { body }),
        None => Write::Comment { issue_id: job.key.clone(), body },
    };
    let key = format!("{}:j{}:job-failed", job.key, job.id);
    let op = serde_json::to_value(&write).unwrap_or_default();
    store.outbox_put(&format!("{}:errors", job.key), &key, &uuid::Uuid::new_v4().to_string(), &op).await?;
    Ok(())
}

/// Claims and sends one outbox write; false when none was due.
pub async fn send_one(
    client: &LinearClient,
    github: Option<&GitHubClient>,
    store: &Store,
    settings: &WorkerSettings,
) -> Result<bool, StoreError> {
    let (client, github) = (client.clone(), github.cloned());
    let (base, cap) = (settings.outbox_retry_base, settings.outbox_retry_cap);
    process_one_write(
        store,
        settings,
        move |item| async move { send(&client, github.as_ref(), &item, base, cap).await },
    )
    .await
}

/// Claims one write and runs `sender` on it under the job runner's rules (see the module);
/// false when none was due.
pub async fn process_one_write<S, F>(store: &Store, settings: &WorkerSettings, sender: S) -> Result<bool, StoreError>
where
    S: FnOnce(OutboxItem) -> F,
    F: Future<Output = Sent> + Send + 'static,
{
    let Some(item) = store.outbox_claim(&settings.name, settings.lease).await? else {
        return Ok(false);
    };
    let what = format!("write {}", item.key);
    let sent = if item.attempts > settings.outbox_max_attempts {
        Sent::Failed(format!(
            "it was tried {} times and the last try never finished (the worker stopped or crashed while sending it)",
            item.attempts - 1
        ))
    } else {
        match run_leased(settings.lease, sender(item.clone()), || store.outbox_renew(&item, settings.lease)).await {
            Run::Finished(sent) => sent,
            Run::LeaseLost => {
                lost(&what, "send");
                return Ok(true);
            }
            // Whether it applied is unknown, as after a lost response: the retry looks first.
            Run::Panicked(message) => Sent::Retry(
                backoff(settings.outbox_retry_base, settings.outbox_retry_cap, item.attempts, None),
                format!("sending panicked: {message}"),
            ),
        }
    };
    let lease = match sent {
        Sent::Done(result) => store.outbox_done(&item, &result).await?,
        Sent::Retry(delay, reason) if item.attempts < settings.outbox_max_attempts => {
            store.outbox_retry(&item, delay, &reason).await?
        }
        // As for jobs: the report first (idempotent), then the failure.
        Sent::Retry(_, reason) | Sent::Failed(reason) => {
            let held = store.outbox_renew(&item, settings.lease).await?;
            if held == Lease::Held && !item.flow.ends_with(":errors") {
                report_write_failure(store, &item, &reason).await?;
            }
            store.outbox_fail(&item, &reason).await?
        }
    };
    if lease == Lease::Lost {
        lost(&what, "result");
    }
    Ok(true)
}

async fn report_write_failure(store: &Store, item: &OutboxItem, reason: &str) -> Result<(), StoreError> {
    let Ok(write) = serde_json::from_value::<Write>(item.op.clone()) else { return Ok(()) };
    let flow: FlowState =
        store.load_flow(&item.flow).await?.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
    // Label creation fails for all labels alike (a workspace that restricts label management):
    // one report per job, naming every label Cutover manages.
    let (key, body) = match (&write, item.key.rsplit_once(":label-")) {
        (Write::EnsureLabel { .. }, Some((job_prefix, _))) => {
            let names: Vec<String> = MANAGED_LABELS.iter().map(|(n, _)| format!("`{n}`")).collect();
            (
                format!("{job_prefix}:labels-failed"),
                format!(
                    "Cutover could not create its labels: {reason}. The workspace may restrict label management to admins: ask an admin to create these labels once: {}. The sub-issues are created without them.",
                    names.join(", ")
                ),
            )
        }
        _ => (format!("{}:failed", item.key), format!("Cutover could not {}: {reason}.", write.describe())),
    };
    let report = match flow.session_id {
        Some(session_id) if !matches!(write, Write::Activity { .. }) => {
            Write::activity(&session_id, ActivityContent::Error { body })
        }
        _ if !matches!(write, Write::Comment { .. }) && !flow.issue_id.is_empty() => {
            Write::Comment { issue_id: flow.issue_id.clone(), body }
        }
        _ => return Ok(()),
    };
    let op = serde_json::to_value(&report).unwrap_or_default();
    store.outbox_put(&format!("{}:errors", item.flow), &key, &uuid::Uuid::new_v4().to_string(), &op).await?;
    Ok(())
}

/// The job loop: runs until the process ends.
pub async fn job_loop(ctx: FlowContext, settings: WorkerSettings, wakeup: Wakeup) {
    let (store, outbox_wakeup) = (ctx.store.clone(), ctx.outbox_wakeup.clone());
    let handler = move |job: Job| {
        let ctx = ctx.clone();
        async move { run_job(&ctx, &job).await }
    };
    job_loop_with(store, settings, wakeup, outbox_wakeup, handler).await
}

/// The job loop around any handler (tests inject faults through it).
pub async fn job_loop_with<H, F>(
    store: Store,
    settings: WorkerSettings,
    wakeup: Wakeup,
    outbox_wakeup: Wakeup,
    handler: H,
) where
    H: Fn(Job) -> F,
    F: Future<Output = Result<(), JobError>> + Send + 'static,
{
    loop {
        // Phase runs take hours; they have a loop of their own (`rollout::rollout_loop`).
        match process_one_job_of(&store, &settings, Kinds::Except(crate::rollout::RUN_KIND), &handler).await {
            Ok(true) => outbox_wakeup.wake(),
            Ok(false) => wakeup.wait(settings.poll).await,
            Err(err) => {
                eprintln!("cutover: job store error: {err}");
                tokio::time::sleep(settings.poll).await;
            }
        }
    }
}

/// The outbox loop.
pub async fn outbox_loop(
    client: LinearClient,
    github: Option<GitHubClient>,
    store: Store,
    settings: WorkerSettings,
    wakeup: Wakeup,
) {
    let (base, cap) = (settings.outbox_retry_base, settings.outbox_retry_cap);
    let sender = move |item: OutboxItem| {
        let (client, github) = (client.clone(), github.clone());
        async move { send(&client, github.as_ref(), &item, base, cap).await }
    };
    outbox_loop_with(store, settings, wakeup, sender).await
}

/// The outbox loop around any sender (tests inject faults through it).
pub async fn outbox_loop_with<S, F>(store: Store, settings: WorkerSettings, wakeup: Wakeup, sender: S)
where
    S: Fn(OutboxItem) -> F,
    F: Future<Output = Sent> + Send + 'static,
{
    loop {
        match process_one_write(&store, &settings, &sender).await {
            Ok(true) => {}
            Ok(false) => wakeup.wait(settings.poll).await,
            Err(err) => {
                eprintln!("cutover: outbox store error: {err}");
                tokio::time::sleep(settings.poll).await;
            }
        }
    }
}

/// How old deliveries, finished jobs and settled writes must be before they are deleted, and
/// how often to look.
#[derive(Debug, Clone, Copy)]
pub struct PruneSettings {
    pub older_than: Duration,
    pub every: Duration,
}

impl Default for PruneSettings {
    fn default() -> Self {
        PruneSettings { older_than: Duration::from_secs(7 * 24 * 3600), every: Duration::from_secs(3600) }
    }
}

/// The pruning loop: keeps the store from growing with every webhook ever received.
pub async fn prune_loop(store: Store, settings: PruneSettings) {
    loop {
        match store.prune(settings.older_than).await {
            Ok(pruned) if pruned != cutover_jobs::Pruned::default() => eprintln!(
                "cutover: pruned {} deliveries, {} jobs and {} writes older than {} h",
                pruned.deliveries,
                pruned.jobs,
                pruned.writes,
                settings.older_than.as_secs() / 3600
            ),
            Ok(_) => {}
            Err(err) => eprintln!("cutover: could not prune the store: {err}"),
        }
        tokio::time::sleep(settings.every).await;
    }
}

/// Runs jobs and writes until nothing is left to do (no runnable job, no pending write), for
/// `cutover issue` and `cutover demo`. Writes waiting on a backoff are waited for.
pub async fn drain(ctx: &FlowContext, settings: &WorkerSettings) -> Result<(), StoreError> {
    loop {
        let mut worked = false;
        while run_one_job(ctx, settings).await? {
            worked = true;
        }
        let github = ctx.github.as_ref().map(|g| &g.client);
        while send_one(&ctx.client, github, &ctx.store, settings).await? {
            worked = true;
        }
        if !worked {
            let stats = ctx.store.stats().await?;
            if stats.jobs_queued + stats.jobs_running + stats.outbox_pending == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Enqueues a trigger as a job keyed by its issue.
pub fn job_for(trigger: &Trigger) -> Option<NewJob> {
    let issue_id = match trigger {
        Trigger::SessionCreated { issue_id, .. }
        | Trigger::SessionPrompted { issue_id, .. }
        | Trigger::IssueDelegated { issue_id, .. }
        | Trigger::CommentMention { issue_id, .. } => issue_id.clone(),
        // A phase sub-issue belongs to its parent's flow.
        Trigger::SubIssueStarted { parent_id, .. } => parent_id.clone(),
        Trigger::Ignored(_) => return None,
    };
    let payload = serde_json::to_value(trigger).ok()?;
    Some(NewJob { kind: "linear".into(), key: issue_id, payload })
}
