//! The embedded SQLite backend: one connection behind a mutex, used from blocking tasks.
//! WAL mode and `synchronous=NORMAL` keep commits durable across a process crash.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use crate::model::{Job, Kinds, Lease, NewJob, OutboxItem, OutboxState, Pruned, QueueStats};
use crate::{StoreError, now_ms};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_received ON deliveries (received_at);
CREATE TABLE IF NOT EXISTS delivery_bodies (
    digest TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS delivery_bodies_received ON delivery_bodies (received_at);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    run_after INTEGER NOT NULL,
    locked_by TEXT,
    locked_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_runnable ON jobs (state, run_after);
CREATE INDEX IF NOT EXISTS jobs_key ON jobs (key, id);
CREATE TABLE IF NOT EXISTS flows (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    flow TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    entity_id TEXT NOT NULL,
    op TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    locked_by TEXT,
    locked_until INTEGER,
    result TEXT,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_flow ON outbox (flow, id);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at, id) WHERE state = 'pending';
";

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: String,
}

impl SqliteStore {
    pub async fn open(path: &str) -> Result<SqliteStore, StoreError> {
        let owned = path.to_string();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection, StoreError> {
            let conn = Connection::open(&owned)?;
            conn.busy_timeout(Duration::from_secs(10))?;
            if owned != ":memory:" {
                conn.pragma_update(None, "journal_mode", "WAL")?;
            }
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.execute_batch(SCHEMA)?;
            // Stores created before writes recorded their worker.
            let has_locked_by: i64 =
                conn.query_row("SELECT count(*) FROM pragma_table_info('outbox') WHERE name = 'locked_by'", [], |r| {
                    r.get(0)
                })?;
            if has_locked_by == 0 {
                conn.execute_batch("ALTER TABLE outbox ADD COLUMN locked_by TEXT")?;
            }
            Ok(conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))??;
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)), path: path.to_string() })
    }

    pub fn describe(&self) -> &str {
        &self.path
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    pub async fn record_delivery(
        &self,
        id: &str,
        digest: &str,
        event: &str,
        job: Option<&NewJob>,
    ) -> Result<bool, StoreError> {
        let (id, digest, event, job) = (id.to_string(), digest.to_string(), event.to_string(), job.cloned());
        self.with(move |conn| {
            let now = now_ms();
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let new_id = tx.execute(
                "INSERT INTO deliveries (id, event, received_at) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING",
                params![id, event, now],
            )? == 1;
            let new_body = tx.execute(
                "INSERT INTO delivery_bodies (digest, received_at) VALUES (?1, ?2) ON CONFLICT (digest) DO NOTHING",
                params![digest, now],
            )? == 1;
            // A duplicate (by id or by body) changes nothing: dropping `tx` rolls back.
            if !(new_id && new_body) {
                return Ok(false);
            }
            if let Some(job) = job {
                insert_job(&tx, &job)?;
            }
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    pub async fn enqueue(&self, job: &NewJob) -> Result<i64, StoreError> {
        let job = job.clone();
        self.with(move |conn| insert_job(conn, &job)).await
    }

    pub async fn claim_job(&self, worker: &str, lease: Duration, kinds: Kinds<'_>) -> Result<Option<Job>, StoreError> {
        let worker = worker.to_string();
        let (kind, equal) = kinds.filter();
        let kind = kind.map(str::to_string);
        self.with(move |conn| {
            let now = now_ms();
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let row = tx
                .query_row(
                    "SELECT id, kind, key, payload, attempts, created_at FROM jobs j
                     WHERE ((state = 'queued' AND run_after <= ?1) OR (state = 'running' AND locked_until < ?1))
                       AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.key = j.key AND o.id < j.id
                                       AND o.state IN ('queued', 'running'))
                       AND (?2 IS NULL OR (kind = ?2) = ?3)
                     ORDER BY id LIMIT 1",
                    params![now, kind, equal],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, i64>(5)?,
                        ))
                    },
                )
                .optional()?;
            let Some((id, kind, key, payload, attempts, created_at)) = row else {
                return Ok(None);
            };
            tx.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = ?2, locked_until = ?3 WHERE id = ?1",
                params![id, &worker, now + lease.as_millis() as i64],
            )?;
            tx.commit()?;
            Ok(Some(Job {
                id,
                kind,
                key,
                payload: serde_json::from_str(&payload)?,
                attempt: attempts + 1,
                created_at_ms: created_at,
                worker,
            }))
        })
        .await
    }

    pub async fn finish_job(&self, job: &Job) -> Result<Lease, StoreError> {
        let sql = format!("UPDATE jobs SET state = 'done', locked_by = NULL, locked_until = NULL {JOB_HELD}");
        self.update_held(sql, job_fence(job, [])).await
    }

    pub async fn retry_job(&self, job: &Job, delay: Duration, error: &str) -> Result<Lease, StoreError> {
        let sql = format!(
            "UPDATE jobs SET state = 'queued', run_after = ?4, last_error = ?5, locked_by = NULL, locked_until = NULL
             {JOB_HELD}"
        );
        let run_after = now_ms() + delay.as_millis() as i64;
        self.update_held(sql, job_fence(job, [run_after.into(), error.to_string().into()])).await
    }

    pub async fn fail_job(&self, job: &Job, error: &str) -> Result<Lease, StoreError> {
        let sql = format!(
            "UPDATE jobs SET state = 'failed', last_error = ?4, locked_by = NULL, locked_until = NULL {JOB_HELD}"
        );
        self.update_held(sql, job_fence(job, [error.to_string().into()])).await
    }

    pub async fn renew_job(&self, job: &Job, lease: Duration) -> Result<Lease, StoreError> {
        let sql = format!("UPDATE jobs SET locked_until = ?4 {JOB_HELD}");
        self.update_held(sql, job_fence(job, [(now_ms() + lease.as_millis() as i64).into()])).await
    }

    /// Runs an update guarded by a claim's fence (`JOB_HELD`, `ITEM_HELD`).
    async fn update_held(&self, sql: String, values: Vec<SqlValue>) -> Result<Lease, StoreError> {
        self.with(move |conn| Ok(Lease::from_rows(conn.execute(&sql, rusqlite::params_from_iter(values))?))).await
    }

    pub async fn queued_after(&self, key: &str, id: i64) -> Result<Vec<Value>, StoreError> {
        let key = key.to_string();
        self.with(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT payload FROM jobs WHERE key = ?1 AND id > ?2 AND state IN ('queued', 'running') ORDER BY id",
            )?;
            let texts = stmt.query_map(rusqlite::params![key, id], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for text in texts {
                out.push(serde_json::from_str(&text?)?);
            }
            Ok(out)
        })
        .await
    }

    pub async fn load_flow(&self, key: &str) -> Result<Option<Value>, StoreError> {
        let key = key.to_string();
        self.with(move |conn| {
            let text: Option<String> =
                conn.query_row("SELECT state FROM flows WHERE key = ?1", [key], |r| r.get(0)).optional()?;
            Ok(match text {
                Some(text) => Some(serde_json::from_str(&text)?),
                None => None,
            })
        })
        .await
    }

    pub async fn save_flow(&self, key: &str, state: &Value) -> Result<(), StoreError> {
        let (key, state) = (key.to_string(), state.to_string());
        self.with(move |conn| {
            conn.execute(
                "INSERT INTO flows (key, state, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                params![key, state, now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn outbox_put(
        &self,
        flow: &str,
        key: &str,
        entity_id: &str,
        op: &Value,
    ) -> Result<OutboxItem, StoreError> {
        let (flow, key, entity_id, op) = (flow.to_string(), key.to_string(), entity_id.to_string(), op.to_string());
        self.with(move |conn| {
            let now = now_ms();
            conn.execute(
                "INSERT INTO outbox (flow, key, entity_id, op, next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                 ON CONFLICT (key) DO NOTHING",
                params![flow, key, entity_id, op, now],
            )?;
            get_item(conn, &key)?.ok_or_else(|| StoreError::Task("outbox row vanished".into()))
        })
        .await
    }

    pub async fn outbox_get(&self, key: &str) -> Result<Option<OutboxItem>, StoreError> {
        let key = key.to_string();
        self.with(move |conn| get_item(conn, &key)).await
    }

    pub async fn outbox_claim(&self, worker: &str, lease: Duration) -> Result<Option<OutboxItem>, StoreError> {
        let worker = worker.to_string();
        self.with(move |conn| {
            let now = now_ms();
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let key: Option<String> = tx.query_row(OUTBOX_CLAIM, [now], |r| r.get(0)).optional()?;
            let Some(key) = key else { return Ok(None) };
            tx.execute(
                "UPDATE outbox SET locked_by = ?3, locked_until = ?2, attempts = attempts + 1 WHERE key = ?1",
                params![key, now + lease.as_millis() as i64, worker],
            )?;
            let item = get_item(&tx, &key)?;
            tx.commit()?;
            Ok(item)
        })
        .await
    }

    pub async fn outbox_done(&self, item: &OutboxItem, result: &Value) -> Result<Lease, StoreError> {
        let sql = format!(
            "UPDATE outbox SET state = 'done', result = ?4, locked_by = NULL, locked_until = NULL, last_error = NULL {ITEM_HELD}"
        );
        self.update_held(sql, item_fence(item, [result.to_string().into()])).await
    }

    pub async fn outbox_retry(&self, item: &OutboxItem, delay: Duration, error: &str) -> Result<Lease, StoreError> {
        let sql = format!(
            "UPDATE outbox SET next_attempt_at = ?4, last_error = ?5, locked_by = NULL, locked_until = NULL {ITEM_HELD}"
        );
        let next = now_ms() + delay.as_millis() as i64;
        self.update_held(sql, item_fence(item, [next.into(), error.to_string().into()])).await
    }

    pub async fn outbox_fail(&self, item: &OutboxItem, error: &str) -> Result<Lease, StoreError> {
        let sql = format!(
            "UPDATE outbox SET state = 'failed', last_error = ?4, locked_by = NULL, locked_until = NULL {ITEM_HELD}"
        );
        self.update_held(sql, item_fence(item, [error.to_string().into()])).await
    }

    pub async fn outbox_renew(&self, item: &OutboxItem, lease: Duration) -> Result<Lease, StoreError> {
        let sql = format!("UPDATE outbox SET locked_until = ?4 {ITEM_HELD}");
        self.update_held(sql, item_fence(item, [(now_ms() + lease.as_millis() as i64).into()])).await
    }

    pub async fn outbox_items(&self, flow: &str) -> Result<Vec<OutboxItem>, StoreError> {
        let flow = flow.to_string();
        self.with(move |conn| {
            let mut stmt = conn.prepare(&format!("{SELECT_ITEM} WHERE flow = ?1 ORDER BY id"))?;
            let rows = stmt.query_map([flow], read_item)?;
            let mut items = Vec::new();
            for row in rows {
                items.push(row??);
            }
            Ok(items)
        })
        .await
    }

    pub async fn release_all_leases(&self) -> Result<u64, StoreError> {
        self.with(|conn| {
            let jobs = conn.execute(
                "UPDATE jobs SET state = 'queued', locked_by = NULL, locked_until = NULL WHERE state = 'running'",
                [],
            )?;
            conn.execute("UPDATE outbox SET locked_by = NULL, locked_until = NULL WHERE state = 'pending'", [])?;
            Ok(jobs as u64)
        })
        .await
    }

    pub async fn prune(&self, older_than: Duration) -> Result<Pruned, StoreError> {
        self.with(move |conn| {
            let cutoff = now_ms() - older_than.as_millis() as i64;
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let deliveries = tx.execute("DELETE FROM deliveries WHERE received_at < ?1", [cutoff])?;
            tx.execute("DELETE FROM delivery_bodies WHERE received_at < ?1", [cutoff])?;
            let jobs =
                tx.execute("DELETE FROM jobs WHERE state IN ('done', 'failed') AND created_at < ?1", [cutoff])?;
            let writes =
                tx.execute("DELETE FROM outbox WHERE state IN ('done', 'failed') AND created_at < ?1", [cutoff])?;
            tx.commit()?;
            Ok(Pruned { deliveries: deliveries as u64, jobs: jobs as u64, writes: writes as u64 })
        })
        .await
    }

    pub async fn stats(&self) -> Result<QueueStats, StoreError> {
        self.with(|conn| {
            let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
            Ok(QueueStats {
                deliveries: count("SELECT count(*) FROM deliveries")?,
                jobs_queued: count("SELECT count(*) FROM jobs WHERE state = 'queued'")?,
                jobs_running: count("SELECT count(*) FROM jobs WHERE state = 'running'")?,
                jobs_done: count("SELECT count(*) FROM jobs WHERE state = 'done'")?,
                jobs_failed: count("SELECT count(*) FROM jobs WHERE state = 'failed'")?,
                outbox_pending: count("SELECT count(*) FROM outbox WHERE state = 'pending'")?,
                outbox_done: count("SELECT count(*) FROM outbox WHERE state = 'done'")?,
                outbox_failed: count("SELECT count(*) FROM outbox WHERE state = 'failed'")?,
            })
        })
        .await
    }
}

/// The next sendable write: due, not leased, and the first pending one of its flow. Indexed
/// by `outbox_due` (pending items in due order) and `outbox_flow`.
const OUTBOX_CLAIM: &str = "SELECT key FROM outbox o
     WHERE state = 'pending' AND next_attempt_at <= ?1 AND (locked_until IS NULL OR locked_until < ?1)
       AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.flow = o.flow AND p.id < o.id AND p.state = 'pending')
     ORDER BY next_attempt_at, id LIMIT 1";

/// A job's claim still holds while the job runs, leased to the same worker, and has not been
/// claimed again since: every claim counts an attempt, so the attempt is the claim's fencing
/// token. Parameters ?1..?3 are [`job_fence`]'s.
const JOB_HELD: &str = "WHERE id = ?1 AND state = 'running' AND locked_by = ?2 AND attempts = ?3";

fn job_fence<const N: usize>(job: &Job, more: [SqlValue; N]) -> Vec<SqlValue> {
    let mut values = vec![job.id.into(), job.worker.clone().into(), job.attempt.into()];
    values.extend(more);
    values
}

/// The same for a write: pending, leased to the same worker, and not claimed again since.
/// ?1..?3 are [`item_fence`]'s.
const ITEM_HELD: &str = "WHERE id = ?1 AND state = 'pending' AND attempts = ?2 AND locked_by = ?3";

fn item_fence<const N: usize>(item: &OutboxItem, more: [SqlValue; N]) -> Vec<SqlValue> {
    let worker = item.worker.clone().map_or(SqlValue::Null, SqlValue::from);
    let mut values = vec![item.id.into(), item.attempts.into(), worker];
    values.extend(more);
    values
}

fn insert_job(conn: &Connection, job: &NewJob) -> Result<i64, StoreError> {
    let now = now_ms();
    conn.execute(
        "INSERT INTO jobs (kind, key, payload, run_after, created_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![job.kind, job.key, job.payload.to_string(), now],
    )?;
    Ok(conn.last_insert_rowid())
}

const SELECT_ITEM: &str =
    "SELECT id, flow, key, entity_id, op, state, attempts, result, last_error, locked_by FROM outbox";

type ItemResult = Result<OutboxItem, StoreError>;

fn read_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<ItemResult> {
    let op: String = r.get(4)?;
    let state: String = r.get(5)?;
    let result: Option<String> = r.get(7)?;
    let build = || -> ItemResult {
        Ok(OutboxItem {
            id: r.get(0)?,
            flow: r.get(1)?,
            key: r.get(2)?,
            entity_id: r.get(3)?,
            op: serde_json::from_str(&op)?,
            state: OutboxState::parse(&state),
            attempts: r.get(6)?,
            result: match result {
                Some(text) => Some(serde_json::from_str(&text)?),
                None => None,
            },
            last_error: r.get(8)?,
            worker: r.get(9)?,
        })
    };
    Ok(build())
}

fn get_item(conn: &Connection, key: &str) -> Result<Option<OutboxItem>, StoreError> {
    let item = conn.query_row(&format!("{SELECT_ITEM} WHERE key = ?1"), [key], read_item).optional()?;
    item.transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store made before writes recorded their worker gets the column on open, and its
    /// pending writes are claimed and settled as usual.
    #[tokio::test]
    async fn an_older_store_gains_the_outbox_worker_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db").display().to_string();
        let old = SCHEMA.replace(
            "    locked_by TEXT,\n    locked_until INTEGER,\n    result",
            "    locked_until INTEGER,\n    result",
        );
        assert_ne!(old, SCHEMA, "the outbox's locked_by is removed");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&old).unwrap();
        conn.execute(
            "INSERT INTO outbox (flow, key, entity_id, op, next_attempt_at, created_at) VALUES ('f', 'f:1', 'e', '{}', 0, 0)",
            [],
        )
        .unwrap();
        drop(conn);
        let store = SqliteStore::open(&path).await.unwrap();
        let item = store.outbox_claim("w", Duration::from_secs(30)).await.unwrap().expect("the old write");
        assert_eq!(item.worker.as_deref(), Some("w"));
        assert_eq!(store.outbox_done(&item, &serde_json::json!({})).await.unwrap(), Lease::Held);
        // Opening again finds the column there.
        SqliteStore::open(&path).await.unwrap();
    }

    /// The claim runs on every poll of every worker: it must walk the pending items in due
    /// order, not scan the table (which keeps every write ever sent until it is pruned).
    #[test]
    fn the_outbox_claim_uses_the_due_index() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {OUTBOX_CLAIM}")).unwrap();
        let plan: Vec<String> =
            stmt.query_map([0i64], |r| r.get::<_, String>(3)).unwrap().map(Result::unwrap).collect();
        assert!(plan.iter().any(|step| step.contains("USING INDEX outbox_due")), "{plan:#?}");
        assert!(!plan.iter().any(|step| step == "SCAN o"), "{plan:#?}");
    }
}
