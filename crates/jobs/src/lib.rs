//! I/O: Cutover's durable state. Webhook deliveries (for de-duplication), the job queue the
//! workers claim from, each flow's state, and the outbox of writes to Linear.
//!
//! Two backends with one behaviour: embedded SQLite (the default, one process) and PostgreSQL
//! (several workers; claims use `FOR UPDATE SKIP LOCKED`). The invariants both keep:
//! - a delivery id, and a body digest, are recorded at most once, in the same transaction as the
//!   job it enqueues (a signed body replayed under a new delivery id is not a new job);
//! - a claim counts an attempt and leases the job or write to one worker; finishing, retrying,
//!   failing or renewing applies only while that claim holds ([`Lease::Lost`] otherwise), so a
//!   worker whose lease ran out never overwrites the claim of the worker that took over;
//! - jobs with the same key (one issue or session) run one at a time, in enqueue order;
//! - an outbox key is inserted at most once, so re-running a flow step after a crash finds the
//!   writes it already queued instead of queueing them again;
//! - outbox items of one flow are sent in insertion order, each only after the previous one landed
//!   or was given up on (a write Linear rejects for good must not hold back the error report);
//! - pruning removes only deliveries, finished jobs and settled writes older than its age.

mod model;
mod postgres;
mod sqlite;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use model::{Job, Kinds, Lease, NewJob, OutboxItem, OutboxState, Pruned, QueueStats};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store URL {0:?} is neither sqlite://PATH nor postgres://…")]
    BadUrl(String),
    #[error("SQLite store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL store: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("PostgreSQL store: {0}")]
    Connect(#[from] cutover_db_postgres::Error),
    #[error("store task failed: {0}")]
    Task(String),
    #[error("stored JSON is corrupt: {0}")]
    Json(#[from] serde_json::Error),
}

/// A handle to the store; cheap to clone.
#[derive(Clone)]
pub enum Store {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Store::Sqlite(s) => write!(f, "Store::Sqlite({})", s.describe()),
            Store::Postgres(_) => f.write_str("Store::Postgres(<url redacted>)"),
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            Store::Sqlite($s) => $call.await,
            Store::Postgres($s) => $call.await,
        }
    };
}

impl Store {
    /// Opens (and migrates) the store named by `url`: `sqlite://cutover.db`, `sqlite::memory:`
    /// or a `postgres://` URL.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            Ok(Store::Sqlite(sqlite::SqliteStore::open(path).await?))
        } else if url == "sqlite::memory:" {
            Ok(Store::Sqlite(sqlite::SqliteStore::open(":memory:").await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(postgres::PgStore::open(url).await?))
        } else {
            Err(StoreError::BadUrl(url.to_string()))
        }
    }

    /// Records a webhook delivery and, when it is new, enqueues its job in the same transaction.
    /// `digest` identifies the signed body: a delivery whose id or body was seen before is not
    /// new. Returns false for such a delivery (nothing is enqueued).
    pub async fn record_delivery(
        &self,
        delivery_id: &str,
        digest: &str,
        event: &str,
        job: Option<&NewJob>,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.record_delivery(delivery_id, digest, event, job))
    }

    pub async fn enqueue(&self, job: &NewJob) -> Result<i64, StoreError> {
        dispatch!(self, s => s.enqueue(job))
    }

    /// Claims the oldest runnable job whose key has no earlier unfinished job, leasing it to
    /// `worker` for `lease`. A job whose lease ran out (its worker died) is runnable again.
    pub async fn claim_job(&self, worker: &str, lease: Duration) -> Result<Option<Job>, StoreError> {
        dispatch!(self, s => s.claim_job(worker, lease, Kinds::Any))
    }

    /// [`Store::claim_job`] among the jobs of some kinds only: a loop that runs long jobs (a
    /// rollout phase) claims them apart from the loop that answers people.
    pub async fn claim_job_of(
        &self,
        worker: &str,
        lease: Duration,
        kinds: Kinds<'_>,
    ) -> Result<Option<Job>, StoreError> {
        dispatch!(self, s => s.claim_job(worker, lease, kinds))
    }

    /// Marks a claimed job finished, if the claim still holds.
    pub async fn finish_job(&self, job: &Job) -> Result<Lease, StoreError> {
        dispatch!(self, s => s.finish_job(job))
    }

    /// Puts a claimed job back to run again after `delay`, recording why, if the claim still
    /// holds.
    pub async fn retry_job(&self, job: &Job, delay: Duration, error: &str) -> Result<Lease, StoreError> {
        dispatch!(self, s => s.retry_job(job, delay, error))
    }

    /// Gives up on a job (it stays in the table with its error), if the claim still holds.
    pub async fn fail_job(&self, job: &Job, error: &str) -> Result<Lease, StoreError> {
        dispatch!(self, s => s.fail_job(job, error))
    }

    /// Extends a running job's lease to `lease` from now, if the claim still holds: a job that
    /// works longer than its lease renews it, so no other worker takes it meanwhile.
    pub async fn renew_job(&self, job: &Job, lease: Duration) -> Result<Lease, StoreError> {
        dispatch!(self, s => s.renew_job(job, lease))
    }

    /// The payloads of the jobs of `key` queued after job `id` and not yet done, oldest
    /// first: what a running job may want to know has arrived meanwhile (a stop).
    pub async fn queued_after(&self, key: &str, id: i64) -> Result<Vec<Value>, StoreError> {
        dispatch!(self, s => s.queued_after(key, id))
    }

    pub async fn load_flow(&self, key: &str) -> Result<Option<Value>, StoreError> {
        dispatch!(self, s => s.load_flow(key))
    }

    pub async fn save_flow(&self, key: &str, state: &Value) -> Result<(), StoreError> {
        dispatch!(self, s => s.save_flow(key, state))
    }

    /// Queues a write under an idempotency key, or returns the item already queued under it.
    /// `entity_id` is the id the write will create (chosen now, so later writes can refer to it).
    pub async fn outbox_put(
        &self,
        flow: &str,
        key: &str,
        entity_id: &str,
        op: &Value,
    ) -> Result<OutboxItem, StoreError> {
        dispatch!(self, s => s.outbox_put(flow, key, entity_id, op))
    }

    pub async fn outbox_get(&self, key: &str) -> Result<Option<OutboxItem>, StoreError> {
        dispatch!(self, s => s.outbox_get(key))
    }

    /// Claims the next sendable write: the first pending item of a flow, due now, not leased.
    pub async fn outbox_claim(&self, worker: &str, lease: Duration) -> Result<Option<OutboxItem>, StoreError> {
        dispatch!(self, s => s.outbox_claim(worker, lease))
    }

    /// Records a claimed write as landed, if the claim still holds.
    pub async fn outbox_done(&self, item: &OutboxItem, result: &Value) -> Result<Lease, StoreError> {
        dispatch!(self, s => s.outbox_done(item, result))
    }

    /// Schedules a claimed write again after `delay`, if the claim still holds.
    pub async fn outbox_retry(&self, item: &OutboxItem, delay: Duration, error: &str) -> Result<Lease, StoreError> {
        dispatch!(self, s => s.outbox_retry(item, delay, error))
    }

    /// Gives up on a write that can never land (Linear rejected its input), if the claim still
    /// holds; later writes of the same flow go on.
    pub async fn outbox_fail(&self, item: &OutboxItem, error: &str) -> Result<Lease, StoreError> {
        dispatch!(self, s => s.outbox_fail(item, error))
    }

    /// Extends a claimed write's lease to `lease` from now, if the claim still holds.
    pub async fn outbox_renew(&self, item: &OutboxItem, lease: Duration) -> Result<Lease, StoreError> {
        dispatch!(self, s => s.outbox_renew(item, lease))
    }

    /// Deletes deliveries, finished (done or failed) jobs and settled (done or failed) writes
    /// created more than `older_than` ago. Flows and anything still queued, running or pending
    /// are kept. The age must exceed how long Linear retries a delivery (hours) and how long a
    /// job or write lives, or a late retry would be taken for a new delivery.
    pub async fn prune(&self, older_than: Duration) -> Result<Pruned, StoreError> {
        dispatch!(self, s => s.prune(older_than))
    }

    /// All outbox items of a flow in order (for status output and tests).
    pub async fn outbox_items(&self, flow: &str) -> Result<Vec<OutboxItem>, StoreError> {
        dispatch!(self, s => s.outbox_items(flow))
    }

    pub async fn stats(&self) -> Result<QueueStats, StoreError> {
        dispatch!(self, s => s.stats())
    }

    /// Called once when a process starts: with SQLite only one process uses the store, so a
    /// job or write still leased was abandoned by a process that died; it is made runnable
    /// now instead of when its lease runs out. With PostgreSQL other workers may be alive, so
    /// leases are left to expire. Returns how many jobs were released.
    pub async fn recover_after_restart(&self) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(s) => s.release_all_leases().await,
            Store::Postgres(_) => Ok(0),
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
