//! The PostgreSQL backend, for several workers sharing one queue: claims lock rows with
//! `FOR UPDATE SKIP LOCKED`, so two workers never take the same job or write. A connection the
//! server closed (a restart, `pg_terminate_backend`, a failover) is replaced on the next call;
//! the call that found it broken fails (it may or may not have applied), and the callers retry.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use crate::model::{Job, Kinds, Lease, NewJob, OutboxItem, OutboxState, Pruned, QueueStats};
use crate::{StoreError, now_ms};

const SCHEMA: &str = "
CREATE SCHEMA IF NOT EXISTS cutover;
CREATE TABLE IF NOT EXISTS cutover.deliveries (
    id text PRIMARY KEY,
    event text NOT NULL,
    received_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_received ON cutover.deliveries (received_at);
CREATE TABLE IF NOT EXISTS cutover.delivery_bodies (
    digest text PRIMARY KEY,
    received_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS delivery_bodies_received ON cutover.delivery_bodies (received_at);
CREATE TABLE IF NOT EXISTS cutover.jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    key text NOT NULL,
    payload jsonb NOT NULL,
    state text NOT NULL DEFAULT 'queued',
    attempts bigint NOT NULL DEFAULT 0,
    run_after bigint NOT NULL,
    locked_by text,
    locked_until bigint,
    last_error text,
    created_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_runnable ON cutover.jobs (state, run_after);
CREATE INDEX IF NOT EXISTS jobs_key ON cutover.jobs (key, id);
CREATE TABLE IF NOT EXISTS cutover.flows (
    key text PRIMARY KEY,
    state jsonb NOT NULL,
    updated_at bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS cutover.outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flow text NOT NULL,
    key text NOT NULL UNIQUE,
    entity_id text NOT NULL,
    op jsonb NOT NULL,
    state text NOT NULL DEFAULT 'pending',
    attempts bigint NOT NULL DEFAULT 0,
    next_attempt_at bigint NOT NULL,
    locked_by text,
    locked_until bigint,
    result jsonb,
    last_error text,
    created_at bigint NOT NULL
);
-- Stores created before writes recorded their worker. Checked first: ALTER TABLE takes an
-- ACCESS EXCLUSIVE lock even when IF NOT EXISTS finds the column there.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute
                   WHERE attrelid = 'cutover.outbox'::regclass AND attname = 'locked_by' AND NOT attisdropped) THEN
        ALTER TABLE cutover.outbox ADD COLUMN locked_by text;
    END IF;
END
$$;
CREATE INDEX IF NOT EXISTS outbox_flow ON cutover.outbox (flow, id);
CREATE INDEX IF NOT EXISTS outbox_due ON cutover.outbox (next_attempt_at, id) WHERE state = 'pending';
";

/// One connection per handle; `tokio_postgres` pipelines, and transactions take the mutex.
#[derive(Clone)]
pub struct PgStore {
    url: Arc<str>,
    client: Arc<Mutex<Client>>,
}

impl PgStore {
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        // Same connection handling as every other PostgreSQL connection (TLS per sslmode).
        let client = cutover_db_postgres::connect::connect(url).await?;
        // Serialize concurrent migrations of a fresh store by several workers.
        client.batch_execute("SELECT pg_advisory_lock(7262348901)").await?;
        let migrated = client.batch_execute(SCHEMA).await;
        client.batch_execute("SELECT pg_advisory_unlock(7262348901)").await?;
        migrated?;
        Ok(PgStore { url: url.into(), client: Arc::new(Mutex::new(client)) })
    }

    /// The connection, opened again when the server closed it.
    async fn client(&self) -> Result<MutexGuard<'_, Client>, StoreError> {
        let mut client = self.client.lock().await;
        if client.is_closed() {
            *client = cutover_db_postgres::connect::connect(&self.url).await?;
        }
        Ok(client)
    }

    pub async fn record_delivery(
        &self,
        id: &str,
        digest: &str,
        event: &str,
        job: Option<&NewJob>,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let new_id = tx
            .execute(
                "INSERT INTO cutover.deliveries (id, event, received_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
                &[&id, &event, &now],
            )
            .await?
            == 1;
        let new_body = tx
            .execute(
                "INSERT INTO cutover.delivery_bodies (digest, received_at) VALUES ($1, $2)
                 ON CONFLICT (digest) DO NOTHING",
                &[&digest, &now],
            )
            .await?
            == 1;
        // A duplicate (by id or by body) changes nothing.
        if !(new_id && new_body) {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(job) = job {
            insert_job(&tx, job).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn enqueue(&self, job: &NewJob) -> Result<i64, StoreError> {
        let client = self.client().await?;
        insert_job(&*client, job).await
    }

    pub async fn claim_job(&self, worker: &str, lease: Duration, kinds: Kinds<'_>) -> Result<Option<Job>, StoreError> {
        let now = now_ms();
        let (kind, equal) = kinds.filter();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let row = tx
            .query_opt(
                "SELECT id FROM cutover.jobs j
                 WHERE ((state = 'queued' AND run_after <= $1) OR (state = 'running' AND locked_until < $1))
                   AND NOT EXISTS (SELECT 1 FROM cutover.jobs o WHERE o.key = j.key AND o.id < j.id
                                   AND o.state IN ('queued', 'running'))
                   AND ($2::text IS NULL OR (kind = $2::text) = $3)
                 ORDER BY id LIMIT 1
                 FOR UPDATE SKIP LOCKED",
                &[&now, &kind, &equal],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.get(0);
        let row = tx
            .query_one(
                "UPDATE cutover.jobs SET state = 'running', attempts = attempts + 1, locked_by = $2, locked_until = $3
                 WHERE id = $1 RETURNING id, kind, key, payload, attempts, created_at",
                &[&id, &worker, &(now + lease.as_millis() as i64)],
            )
            .await?;
        tx.commit().await?;
        Ok(Some(Job {
            id: row.get(0),
            kind: row.get(1),
            key: row.get(2),
            payload: row.get(3),
            attempt: row.get(4),
            created_at_ms: row.get(5),
            worker: worker.to_string(),
        }))
    }

    pub async fn finish_job(&self, job: &Job) -> Result<Lease, StoreError> {
        let sql = format!("UPDATE cutover.jobs SET state = 'done', locked_by = NULL, locked_until = NULL {JOB_HELD}");
        self.update_held(&sql, &[&job.id, &job.worker, &job.attempt]).await
    }

    pub async fn retry_job(&self, job: &Job, delay: Duration, error: &str) -> Result<Lease, StoreError> {
        let sql = format!(
            "UPDATE cutover.jobs SET state = 'queued', run_after = $4, last_error = $5, locked_by = NULL,
             locked_until = NULL {JOB_HELD}"
        );
        let run_after = now_ms() + delay.as_millis() as i64;
        self.update_held(&sql, &[&job.id, &job.worker, &job.attempt, &run_after, &error]).await
    }

    pub async fn fail_job(&self, job: &Job, error: &str) -> Result<Lease, StoreError> {
        let sql = format!(
            "UPDATE cutover.jobs SET state = 'failed', last_error = $4, locked_by = NULL, locked_until = NULL
             {JOB_HELD}"
        );
        self.update_held(&sql, &[&job.id, &job.worker, &job.attempt, &error]).await
    }

    pub async fn renew_job(&self, job: &Job, lease: Duration) -> Result<Lease, StoreError> {
        let sql = format!("UPDATE cutover.jobs SET locked_until = $4 {JOB_HELD}");
        let until = now_ms() + lease.as_millis() as i64;
        self.update_held(&sql, &[&job.id, &job.worker, &job.attempt, &until]).await
    }

    /// Runs an update guarded by a claim's fence (`JOB_HELD`, `ITEM_HELD`).
    async fn update_held(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Lease, StoreError> {
        let client = self.client().await?;
        Ok(Lease::from_rows(client.execute(sql, params).await?))
    }

    pub async fn queued_after(&self, key: &str, id: i64) -> Result<Vec<Value>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT payload FROM cutover.jobs WHERE key = $1 AND id > $2 AND state IN ('queued', 'running') ORDER BY id",
                &[&key, &id],
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    pub async fn load_flow(&self, key: &str) -> Result<Option<Value>, StoreError> {
        let client = self.client().await?;
        let row = client.query_opt("SELECT state FROM cutover.flows WHERE key = $1", &[&key]).await?;
        Ok(row.map(|r| r.get(0)))
    }

    pub async fn save_flow(&self, key: &str, state: &Value) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO cutover.flows (key, state, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                &[&key, state, &now_ms()],
            )
            .await?;
        Ok(())
    }

    pub async fn outbox_put(
        &self,
        flow: &str,
        key: &str,
        entity_id: &str,
        op: &Value,
    ) -> Result<OutboxItem, StoreError> {
        let client = self.client().await?;
        let now = now_ms();
        client
            .execute(
                "INSERT INTO cutover.outbox (flow, key, entity_id, op, next_attempt_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (key) DO NOTHING",
                &[&flow, &key, &entity_id, op, &now],
            )
            .await?;
        let row = client.query_one(&format!("{SELECT_ITEM} WHERE key = $1"), &[&key]).await?;
        Ok(read_item(&row))
    }

    pub async fn outbox_get(&self, key: &str) -> Result<Option<OutboxItem>, StoreError> {
        let client = self.client().await?;
        let row = client.query_opt(&format!("{SELECT_ITEM} WHERE key = $1"), &[&key]).await?;
        Ok(row.as_ref().map(read_item))
    }

    pub async fn outbox_claim(&self, worker: &str, lease: Duration) -> Result<Option<OutboxItem>, StoreError> {
        let now = now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let row = tx.query_opt(OUTBOX_CLAIM, &[&now]).await?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.get(0);
        let row = tx
            .query_one(
                &format!(
                    "UPDATE cutover.outbox SET locked_by = $3, locked_until = $2, attempts = attempts + 1 WHERE id = $1
                     RETURNING {ITEM_COLUMNS}"
                ),
                &[&id, &(now + lease.as_millis() as i64), &worker],
            )
            .await?;
        tx.commit().await?;
        Ok(Some(read_item(&row)))
    }

    pub async fn outbox_done(&self, item: &OutboxItem, result: &Value) -> Result<Lease, StoreError> {
        let sql = format!(
            "UPDATE cutover.outbox SET state = 'done', result = $4, locked_by = NULL, locked_until = NULL, last_error = NULL
             {ITEM_HELD}"
        );
        self.update_held(&sql, &[&item.id, &item.attempts, &item.worker, result]).await
    }

    pub async fn outbox_retry(&self, item: &OutboxItem, delay: Duration, error: &str) -> Result<Lease, StoreError> {
        let sql = format!(
            "UPDATE cutover.outbox SET next_attempt_at = $4, last_error = $5, locked_by = NULL, locked_until = NULL
             {ITEM_HELD}"
        );
        let next = now_ms() + delay.as_millis() as i64;
        self.update_held(&sql, &[&item.id, &item.attempts, &item.worker, &next, &error]).await
    }

    pub async fn outbox_fail(&self, item: &OutboxItem, error: &str) -> Result<Lease, StoreError> {
        let sql = format!(
            "UPDATE cutover.outbox SET state = 'failed', last_error = $4, locked_by = NULL, locked_until = NULL {ITEM_HELD}"
        );
        self.update_held(&sql, &[&item.id, &item.attempts, &item.worker, &error]).await
    }

    pub async fn outbox_renew(&self, item: &OutboxItem, lease: Duration) -> Result<Lease, StoreError> {
        let sql = format!("UPDATE cutover.outbox SET locked_until = $4 {ITEM_HELD}");
        let until = now_ms() + lease.as_millis() as i64;
        self.update_held(&sql, &[&item.id, &item.attempts, &item.worker, &until]).await
    }

    pub async fn outbox_items(&self, flow: &str) -> Result<Vec<OutboxItem>, StoreError> {
        let client = self.client().await?;
        let rows = client.query(&format!("{SELECT_ITEM} WHERE flow = $1 ORDER BY id"), &[&flow]).await?;
        Ok(rows.iter().map(read_item).collect())
    }

    pub async fn prune(&self, older_than: Duration) -> Result<Pruned, StoreError> {
        let cutoff = now_ms() - older_than.as_millis() as i64;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let deliveries = tx.execute("DELETE FROM cutover.deliveries WHERE received_at < $1", &[&cutoff]).await?;
        tx.execute("DELETE FROM cutover.delivery_bodies WHERE received_at < $1", &[&cutoff]).await?;
        let jobs = tx
            .execute("DELETE FROM cutover.jobs WHERE state IN ('done', 'failed') AND created_at < $1", &[&cutoff])
            .await?;
        let writes = tx
            .execute("DELETE FROM cutover.outbox WHERE state IN ('done', 'failed') AND created_at < $1", &[&cutoff])
            .await?;
        tx.commit().await?;
        Ok(Pruned { deliveries, jobs, writes })
    }

    pub async fn stats(&self) -> Result<QueueStats, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT (SELECT count(*) FROM cutover.deliveries),
                        (SELECT count(*) FROM cutover.jobs WHERE state = 'queued'),
                        (SELECT count(*) FROM cutover.jobs WHERE state = 'running'),
                        (SELECT count(*) FROM cutover.jobs WHERE state = 'done'),
                        (SELECT count(*) FROM cutover.jobs WHERE state = 'failed'),
                        (SELECT count(*) FROM cutover.outbox WHERE state = 'pending'),
                        (SELECT count(*) FROM cutover.outbox WHERE state = 'done'),
                        (SELECT count(*) FROM cutover.outbox WHERE state = 'failed')",
                &[],
            )
            .await?;
        Ok(QueueStats {
            deliveries: row.get(0),
            jobs_queued: row.get(1),
            jobs_running: row.get(2),
            jobs_done: row.get(3),
            jobs_failed: row.get(4),
            outbox_pending: row.get(5),
            outbox_done: row.get(6),
            outbox_failed: row.get(7),
        })
    }
}

async fn insert_job(client: &impl tokio_postgres::GenericClient, job: &NewJob) -> Result<i64, StoreError> {
    let now = now_ms();
    let row = client
        .query_one(
            "INSERT INTO cutover.jobs (kind, key, payload, run_after, created_at) VALUES ($1, $2, $3, $4, $4)
             RETURNING id",
            &[&job.kind, &job.key, &job.payload, &now],
        )
        .await?;
    Ok(row.get(0))
}

/// The next sendable write: due, not leased, and the first pending one of its flow. Indexed
/// by `outbox_due` (pending items in due order) and `outbox_flow`.
const OUTBOX_CLAIM: &str = "SELECT id FROM cutover.outbox o
     WHERE state = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until < $1)
       AND NOT EXISTS (SELECT 1 FROM cutover.outbox p WHERE p.flow = o.flow AND p.id < o.id AND p.state = 'pending')
     ORDER BY next_attempt_at, id LIMIT 1
     FOR UPDATE SKIP LOCKED";

/// A job's claim still holds while the job runs, leased to the same worker, and has not been
/// claimed again since: every claim counts an attempt, so the attempt is the claim's fencing
/// token. Parameters: $1 id, $2 worker, $3 attempt.
const JOB_HELD: &str = "WHERE id = $1 AND state = 'running' AND locked_by = $2 AND attempts = $3";

/// The same for a write: pending, leased to the same worker, and not claimed again since.
/// $1 id, $2 attempts, $3 worker.
const ITEM_HELD: &str = "WHERE id = $1 AND state = 'pending' AND attempts = $2 AND locked_by = $3";

const ITEM_COLUMNS: &str = "id, flow, key, entity_id, op, state, attempts, result, last_error, locked_by";
const SELECT_ITEM: &str =
    "SELECT id, flow, key, entity_id, op, state, attempts, result, last_error, locked_by FROM cutover.outbox";

fn read_item(row: &Row) -> OutboxItem {
    let state: String = row.get(5);
    OutboxItem {
        id: row.get(0),
        flow: row.get(1),
        key: row.get(2),
        entity_id: row.get(3),
        op: row.get(4),
        state: OutboxState::parse(&state),
        attempts: row.get(6),
        result: row.get(7),
        last_error: row.get(8),
        worker: row.get(9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store made before writes recorded their worker gets the column on open, and its
    /// pending writes are claimed and settled as usual.
    #[tokio::test]
    async fn an_older_store_gains_the_outbox_worker_column() {
        let db = cutover_test_support::TestDb::new().await;
        let before = &SCHEMA[..SCHEMA.find("-- Stores created before").unwrap()];
        let old = before.replace(
            "    locked_by text,\n    locked_until bigint,\n    result",
            "    locked_until bigint,\n    result",
        );
        assert_ne!(old, before, "the outbox's locked_by is removed");
        let client = db.connect().await;
        client.batch_execute(&old).await.unwrap();
        client
            .batch_execute(
                "INSERT INTO cutover.outbox (flow, key, entity_id, op, next_attempt_at, created_at)
                 VALUES ('f', 'f:1', 'e', '{}', 0, 0)",
            )
            .await
            .unwrap();
        let store = PgStore::open(&db.url()).await.unwrap();
        let item = store.outbox_claim("w", Duration::from_secs(30)).await.unwrap().expect("the old write");
        assert_eq!(item.worker.as_deref(), Some("w"));
        assert_eq!(store.outbox_done(&item, &serde_json::json!({})).await.unwrap(), Lease::Held);
        PgStore::open(&db.url()).await.unwrap();
    }

    /// The claim runs on every poll of every worker: it must walk the pending items in due
    /// order, not scan the table (which keeps every write ever sent until it is pruned).
    #[tokio::test]
    async fn the_outbox_claim_uses_the_due_index() {
        let db = cutover_test_support::TestDb::new().await;
        PgStore::open(&db.url()).await.unwrap();
        let client = db.connect().await;
        // A table of settled writes and a few pending ones, as after weeks of use.
        client
            .batch_execute(
                "INSERT INTO cutover.outbox (flow, key, entity_id, op, state, next_attempt_at, created_at)
                 SELECT 'f' || n % 50, 'k' || n, 'e', '{}', CASE WHEN n % 500 = 0 THEN 'pending' ELSE 'done' END, n, n
                 FROM generate_series(1, 20000) n;
                 ANALYZE cutover.outbox",
            )
            .await
            .unwrap();
        let plan: Vec<String> = client
            .query(&format!("EXPLAIN {}", OUTBOX_CLAIM.replace("$1", "30000")), &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let plan = plan.join("\n");
        assert!(plan.contains("outbox_due"), "{plan}");
        assert!(!plan.contains("Seq Scan on outbox o"), "{plan}");
    }
}
