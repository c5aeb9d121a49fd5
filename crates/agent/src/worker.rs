//! The two loops a worker runs: jobs (decide) and the outbox (write to Linear). Several
//! workers may share a PostgreSQL store; with SQLite, one process runs both loops.

use std::sync::Arc;
use std::time::Duration;

use cutover_jobs::{Job, NewJob, Store};
use cutover_linear::types::ActivityContent;
use cutover_linear::{LinearClient, Trigger};
use tokio::sync::Notify;

use crate::flow::{FlowContext, FlowState, JobError, run_job};
use crate::messages::MANAGED_LABELS;
use crate::writes::{Sent, Write, backoff, send};

/// Timing of retries and leases.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub name: String,
    /// How long a claimed job or write is reserved for this worker; after that, another
    /// worker may take it (this one is presumed dead).
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

    async fn wait(&self, poll: Duration) {
        let _ = tokio::time::timeout(poll, self.0.notified()).await;
    }
}

/// Claims and runs one job; false when there was none.
pub async fn run_one_job(ctx: &FlowContext, settings: &WorkerSettings) -> Result<bool, cutover_jobs::StoreError> {
    let Some(job) = ctx.store.claim_job(&settings.name, settings.lease).await? else {
        return Ok(false);
    };
    match run_job(ctx, &job).await {
        Ok(()) => ctx.store.finish_job(job.id).await?,
        Err(JobError::Retry(reason)) if job.attempt < settings.job_max_attempts => {
            let delay = backoff(settings.job_retry_base, settings.lease, job.attempt, None);
            ctx.store.retry_job(job.id, delay, &reason).await?;
        }
        Err(err) => {
            ctx.store.fail_job(job.id, &err.to_string()).await?;
            report_failure(&ctx.store, &job, &err.to_string()).await?;
        }
    }
    Ok(true)
}

/// Tells the requester that Cutover gave up on their request, and what to do.
async fn report_failure(store: &Store, job: &Job, reason: &str) -> Result<(), cutover_jobs::StoreError> {
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
    store: &Store,
    settings: &WorkerSettings,
) -> Result<bool, cutover_jobs::StoreError> {
    let Some(item) = store.outbox_claim(&settings.name, settings.lease).await? else {
        return Ok(false);
    };
    match send(client, &item, settings.outbox_retry_base, settings.outbox_retry_cap).await {
        Sent::Done(result) => store.outbox_done(item.id, &result).await?,
        Sent::Retry(delay, reason) if item.attempts < settings.outbox_max_attempts => {
            store.outbox_retry(item.id, delay, &reason).await?
        }
        Sent::Retry(_, reason) | Sent::Failed(reason) => {
            store.outbox_fail(item.id, &reason).await?;
            if !item.flow.ends_with(":errors") {
                report_write_failure(store, &item, &reason).await?;
            }
        }
    }
    Ok(true)
}

async fn report_write_failure(
    store: &Store,
    item: &cutover_jobs::OutboxItem,
    reason: &str,
) -> Result<(), cutover_jobs::StoreError> {
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
    loop {
        match run_one_job(&ctx, &settings).await {
            Ok(true) => ctx.outbox_wakeup.wake(),
            Ok(false) => wakeup.wait(settings.poll).await,
            Err(err) => {
                eprintln!("cutover: job store error: {err}");
                tokio::time::sleep(settings.poll).await;
            }
        }
    }
}

/// The outbox loop.
pub async fn outbox_loop(client: LinearClient, store: Store, settings: WorkerSettings, wakeup: Wakeup) {
    loop {
        match send_one(&client, &store, &settings).await {
            Ok(true) => {}
            Ok(false) => wakeup.wait(settings.poll).await,
            Err(err) => {
                eprintln!("cutover: outbox store error: {err}");
                tokio::time::sleep(settings.poll).await;
            }
        }
    }
}

/// Runs jobs and writes until nothing is left to do (no runnable job, no pending write), for
/// `cutover issue` and `cutover demo`. Writes waiting on a backoff are waited for.
pub async fn drain(ctx: &FlowContext, settings: &WorkerSettings) -> Result<(), cutover_jobs::StoreError> {
    loop {
        let mut worked = false;
        while run_one_job(ctx, settings).await? {
            worked = true;
        }
        while send_one(&ctx.client, &ctx.store, settings).await? {
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
        Trigger::Ignored(_) => return None,
    };
    let payload = serde_json::to_value(trigger).ok()?;
    Some(NewJob { kind: "linear".into(), key: issue_id, payload })
}
