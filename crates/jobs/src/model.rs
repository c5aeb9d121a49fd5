//! The rows the store keeps.

use serde_json::Value;

/// A job to enqueue: `kind` names the handler, `key` serializes jobs of one issue or session.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub kind: String,
    pub key: String,
    pub payload: Value,
}

/// Which jobs a claim may take, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kinds<'a> {
    Any,
    Only(&'a str),
    Except(&'a str),
}

impl Kinds<'_> {
    /// The kind to compare with, and whether it must be equal; `None` for any.
    pub(crate) fn filter(&self) -> (Option<&str>, bool) {
        match self {
            Kinds::Any => (None, true),
            Kinds::Only(kind) => (Some(kind), true),
            Kinds::Except(kind) => (Some(kind), false),
        }
    }
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub payload: Value,
    /// 1 on the first run. Counted when the job is claimed, so a run that never ends (a crash,
    /// a hang) still counts; it is also the claim's fencing token.
    pub attempt: i64,
    pub created_at_ms: i64,
    /// The worker that claimed it.
    pub worker: String,
}

/// Whether a finish, retry, fail or renewal applied. A worker whose lease ran out and whose
/// job (or write) was claimed again by another worker changes nothing: its claim is `Lost`.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    Held,
    Lost,
}

impl Lease {
    pub(crate) fn from_rows(rows: impl TryInto<u64>) -> Lease {
        if rows.try_into().unwrap_or(0) == 1 { Lease::Held } else { Lease::Lost }
    }
}

/// What one pruning pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub deliveries: u64,
    pub jobs: u64,
    pub writes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    Pending,
    Done,
    Failed,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Done => "done",
            OutboxState::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> OutboxState {
        match s {
            "done" => OutboxState::Done,
            "failed" => OutboxState::Failed,
            _ => OutboxState::Pending,
        }
    }
}

/// One queued write to an external system.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub id: i64,
    pub flow: String,
    pub key: String,
    pub entity_id: String,
    pub op: Value,
    pub state: OutboxState,
    /// Sends tried so far (0 until the first). Counted when claimed; also the claim's
    /// fencing token.
    pub attempts: i64,
    pub result: Option<Value>,
    pub last_error: Option<String>,
    /// The worker holding its lease, if any.
    pub worker: Option<String>,
}

/// Counts for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub deliveries: i64,
    pub jobs_queued: i64,
    pub jobs_running: i64,
    pub jobs_done: i64,
    pub jobs_failed: i64,
    pub outbox_pending: i64,
    pub outbox_done: i64,
    pub outbox_failed: i64,
}
