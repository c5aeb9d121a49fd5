//! The SQL of the backfill engine: batches that walk a table once, in the order of a key,
//! and the state each backfill keeps in the `cutover` schema.
//!
//! A batch covers the rows whose key lies in `(last, upper]`, where `upper` is the n-th key
//! after `last` found by an index-ordered scan that stops after n keys. Rows before `last`
//! are never read again, so a batch costs O(n) wherever it is in the table (the old
//! `WHERE new IS NULL LIMIT n` scanned past every row already filled). A table without a
//! primary key or a unique NOT NULL key is walked by ranges of pages (`ctid`), which
//! PostgreSQL 14+ reads with a TID range scan.
//!
//! The state is a plain table a person can read with psql:
//!
//! ```sql
//! SELECT phase, step_index, table_name, state, rows_done, batch_size, cursor FROM cutover.backfills;
//! ```

use crate::quote::{ident, literal, qualified};
use cutover_schema::QualName;
use serde::{Deserialize, Serialize};

/// What a backfill does, as structure: which rows, in which order, set to what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    pub table: QualName,
    /// How the table is walked.
    pub key: Key,
    /// The column being filled.
    pub column: String,
    /// Its new value: an SQL expression over the row's columns, as the planner wrote it.
    pub expression: String,
    /// Only rows where this also holds (an SQL condition, e.g. the source is not NULL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_where: Option<String>,
    /// Rows per batch to start with (the engine adapts it).
    pub batch_size: u64,
}

/// The order a backfill walks its table in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Key {
    /// The columns of the primary key, or of a unique key whose columns are NOT NULL, in key
    /// order (its btree index serves the ranges).
    Columns { columns: Vec<KeyColumn> },
    /// Ranges of pages, for a table without such a key.
    Ctid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyColumn {
    pub name: String,
    /// As `format_type` prints it: key values travel as text and are cast back to it.
    pub data_type: String,
}

impl Spec {
    /// The rows a batch changes: not filled yet, and within `only_where`. Batches are
    /// idempotent: a row filled once is never selected again.
    pub fn pending(&self) -> String {
        let mut out = format!("{} IS NULL", ident(&self.column));
        if let Some(w) = &self.only_where {
            out.push_str(&format!(" AND ({w})"));
        }
        out
    }

    fn key_columns(&self) -> &[KeyColumn] {
        match &self.key {
            Key::Columns { columns } => columns,
            Key::Ctid => &[],
        }
    }

    /// `a` or `(a, b)`: the key as one comparable value.
    fn key_tuple(&self) -> String {
        let names: Vec<String> = self.key_columns().iter().map(|c| ident(&c.name)).collect();
        tuple(names)
    }

    /// The key value given as text parameters `$first`, `$first+1`, ..., cast to the key's types.
    fn key_params(&self, first: usize) -> String {
        let values: Vec<String> = self
            .key_columns()
            .iter()
            .enumerate()
            .map(|(i, c)| format!("CAST(${}::text AS {})", first + i, c.data_type))
            .collect();
        tuple(values)
    }

    /// The number of key columns (parameters per key value); 0 for ctid ranges.
    pub fn key_len(&self) -> usize {
        self.key_columns().len()
    }

    /// Keyset: the last key of the next batch and how many keys the batch covers. Parameters:
    /// the last key done as text (`$1..$k`, absent for the first batch), then the batch size
    /// (`bigint`). Returns one row (the keys as text, then the count), or none when no key is
    /// left. Reads only the next n entries of the key's index.
    ///
    /// The n-th key is read with `OFFSET n - 1 LIMIT 1`, which skips index entries without
    /// keeping them; only when fewer than n keys are left (the last batch) does the second
    /// branch run, which keeps the n keys to count them and sort them for the last. Both
    /// branches give the same answer when n keys are left, so the order the server runs them
    /// in changes the cost, never the result. (The second branch alone, for every batch, cost
    /// about three times the first: a window aggregate and a sort over n rows.)
    pub fn upper_bound(&self, first_batch: bool) -> String {
        let k = self.key_len();
        let names: Vec<String> = self.key_columns().iter().map(|c| ident(&c.name)).collect();
        // Qualified by the subquery: a bare name in ORDER BY would mean the output column,
        // the key as text, which sorts differently.
        let texts: Vec<String> = names.iter().map(|n| format!("batch.{n}::text")).collect();
        let desc: Vec<String> = names.iter().map(|n| format!("batch.{n} DESC")).collect();
        let (lower, limit) = if first_batch {
            (String::new(), 1)
        } else {
            (format!(" WHERE {} > {}", self.key_tuple(), self.key_params(1)), k + 1)
        };
        let (texts, names, table) = (texts.join(", "), names.join(", "), qualified(&self.table));
        format!(
            "(SELECT {texts}, ${limit}::bigint FROM (SELECT {names} FROM {table}{lower} ORDER BY {names} OFFSET ${limit}::bigint OPERATOR(pg_catalog.-) 1 LIMIT 1) AS batch) \
             UNION ALL (SELECT {texts}, pg_catalog.count(*) OVER () FROM (SELECT {names} FROM {table}{lower} ORDER BY {names} LIMIT ${limit}::bigint) AS batch ORDER BY {} LIMIT 1) LIMIT 1",
            desc.join(", ")
        )
    }

    /// Keyset: the table's last key now, as text (no row: the table is empty). A run walks up
    /// to it and no further: rows inserted after the run began were filled as they were
    /// written (by the expand phase's trigger, or the column's default), and following them
    /// would chase a table that takes inserts for ever.
    pub fn last_key(&self) -> String {
        // Qualified: a bare name in ORDER BY would mean the output column, the key as text.
        let names: Vec<String> = self.key_columns().iter().map(|c| format!("last.{}", ident(&c.name))).collect();
        let texts: Vec<String> = names.iter().map(|n| format!("{n}::text")).collect();
        let desc: Vec<String> = names.iter().map(|n| format!("{n} DESC")).collect();
        format!(
            "SELECT {} FROM {} AS last ORDER BY {} LIMIT 1",
            texts.join(", "),
            qualified(&self.table),
            desc.join(", ")
        )
    }

    /// Keyset: whether the cursor (`$1..$k`) has reached the run's last key (`$k+1..$2k`): no
    /// row lies between them. Compared in the table, so each key column sorts by its own
    /// collation, as the walk does.
    pub fn reached(&self) -> String {
        format!(
            "SELECT NOT EXISTS (SELECT 1 FROM {} WHERE {key} > {} AND {key} <= {})",
            qualified(&self.table),
            self.key_params(1),
            self.key_params(self.key_len() + 1),
            key = self.key_tuple()
        )
    }

    /// Keyset: the batch itself. Parameters: the last key done (`$1..$k`, absent for the first
    /// batch), then the batch's last key (`$k+1..$2k`, or `$1..$k`), all as text.
    pub fn update_range(&self, first_batch: bool) -> String {
        let k = self.key_len();
        let mut conditions = Vec::new();
        let upper_first = if first_batch {
            1
        } else {
            conditions.push(format!("{} > {}", self.key_tuple(), self.key_params(1)));
            k + 1
        };
        conditions.push(format!("{} <= {}", self.key_tuple(), self.key_params(upper_first)));
        conditions.push(self.pending());
        self.update(&conditions)
    }

    /// Ctid ranges: the batch over pages `[$1, $2)` ([`page_tid`]).
    pub fn update_pages(&self) -> String {
        self.update(&[PAGE_RANGE.to_string(), self.pending()])
    }

    /// Ctid ranges: the rows in pages `[$1, $2)` ([`page_tid`]), to count progress.
    pub fn count_pages(&self) -> String {
        format!("SELECT pg_catalog.count(*) FROM {} WHERE {PAGE_RANGE}", qualified(&self.table))
    }

    /// Ctid ranges: how many pages the table has now.
    pub fn pages(&self) -> String {
        format!(
            "SELECT pg_catalog.pg_relation_size({}::regclass) / pg_catalog.current_setting('block_size')::bigint",
            literal(&qualified(&self.table))
        )
    }

    /// Rows still to fill in the whole table (a full scan: once, at the end of a ctid pass).
    pub fn count_pending(&self) -> String {
        format!("SELECT pg_catalog.count(*) FROM {} WHERE {}", qualified(&self.table), self.pending())
    }

    /// The planner's row estimate and page count of the table (`reltuples` is -1 before the
    /// first ANALYZE on PostgreSQL 14+).
    pub fn estimate(&self) -> String {
        format!(
            "SELECT c.reltuples::float8, c.relpages::bigint FROM pg_catalog.pg_class c WHERE c.oid = {}::regclass",
            literal(&qualified(&self.table))
        )
    }

    fn update(&self, conditions: &[String]) -> String {
        format!(
            "UPDATE {} SET {} = {} WHERE {}",
            qualified(&self.table),
            ident(&self.column),
            self.expression,
            conditions.join(" AND ")
        )
    }
}

/// Pages `[first, end)`, given as the text of the tids `(first,0)` and `(end,0)` ([`page_tid`]).
const PAGE_RANGE: &str = "ctid >= CAST($1::text AS tid) AND ctid < CAST($2::text AS tid)";

/// The parameter for [`Spec::update_pages`] and [`Spec::count_pages`]: the first tuple of `page`.
pub fn page_tid(page: i64) -> String {
    format!("({page},0)")
}

fn tuple(items: Vec<String>) -> String {
    if items.len() == 1 { items.into_iter().next().unwrap_or_default() } else { format!("({})", items.join(", ")) }
}

/// Whether the backfill state table exists.
pub const STATE_EXISTS: &str = "SELECT pg_catalog.to_regclass('cutover.backfills') IS NOT NULL";

/// The statements that create the backfill state, to run in one transaction; the first takes
/// the setup lock shared with `cutover apply`. Run them only when [`STATE_EXISTS`] says no
/// (checked again after the lock).
pub fn create_state() -> Vec<String> {
    let mut out = vec![
        format!("SELECT pg_catalog.pg_advisory_xact_lock({})", crate::apply::SETUP_LOCK_KEY),
        "CREATE SCHEMA IF NOT EXISTS cutover".to_string(),
        "CREATE TABLE IF NOT EXISTS cutover.backfills (
    plan_checksum text NOT NULL,
    phase text NOT NULL,
    step_index integer NOT NULL,
    table_name text NOT NULL,
    column_name text NOT NULL,
    state text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'paused', 'cancelled', 'done')),
    cursor jsonb,
    pass integer NOT NULL DEFAULT 1,
    rows_done bigint NOT NULL DEFAULT 0,
    rows_updated bigint NOT NULL DEFAULT 0,
    batches bigint NOT NULL DEFAULT 0,
    batch_size integer NOT NULL,
    lock_timeouts bigint NOT NULL DEFAULT 0,
    busy_seconds double precision NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    finished_at timestamptz,
    PRIMARY KEY (plan_checksum, phase, step_index)
)"
        .to_string(),
    ];
    let comments: &[(&str, &str)] = &[
        (
            "TABLE cutover.backfills",
            "One row per backfill step of a plan (cutover backfill, or cutover apply reaching the step): where it is, so a run resumes exactly there.",
        ),
        ("COLUMN cutover.backfills.plan_checksum", "SHA-256 (hex) of the plan file (as in cutover.steps)."),
        ("COLUMN cutover.backfills.phase", "The phase of the step in the plan (usually backfill)."),
        ("COLUMN cutover.backfills.step_index", "1-based position of the step in its phase (as in cutover.steps)."),
        ("COLUMN cutover.backfills.table_name", "The table being filled, schema-qualified."),
        ("COLUMN cutover.backfills.column_name", "The column being filled."),
        (
            "COLUMN cutover.backfills.state",
            "running (being run, or its runner died: run again to resume), paused (the runner waits for cutover backfill resume), cancelled (stopped; cutover backfill resume lets it run again), done.",
        ),
        (
            "COLUMN cutover.backfills.cursor",
            "The last key done, as a JSON array of the key columns' values as text; {\"page\": n, \"end\": m} (the next page, and the page the pass ends before) for a table walked by ctid; NULL before the first batch. It commits with the batch's UPDATE.",
        ),
        (
            "COLUMN cutover.backfills.pass",
            "Walks of the table so far (ctid: a pass after the first catches rows moved behind the cursor).",
        ),
        (
            "COLUMN cutover.backfills.rows_done",
            "Rows the cursor has passed (changed or already filled); for a table walked by ctid, row versions met, so a little more than the rows.",
        ),
        ("COLUMN cutover.backfills.rows_updated", "Rows the batches changed."),
        ("COLUMN cutover.backfills.batches", "Batches committed."),
        ("COLUMN cutover.backfills.batch_size", "Rows (keys) in the next batch; adapted toward the target batch time."),
        (
            "COLUMN cutover.backfills.lock_timeouts",
            "Batches that waited on locks past their lock_timeout and were retried smaller.",
        ),
        (
            "COLUMN cutover.backfills.busy_seconds",
            "Time spent running batches and throttling, pauses excluded: rows_done / busy_seconds is the rate.",
        ),
        ("COLUMN cutover.backfills.started_at", "When the backfill first started."),
        ("COLUMN cutover.backfills.updated_at", "When the row last changed (a batch, a pause, a resume)."),
        ("COLUMN cutover.backfills.finished_at", "When the backfill was done."),
    ];
    for (object, text) in comments {
        out.push(format!("COMMENT ON {object} IS {}", literal(text)));
    }
    out
}

/// `$1` checksum, `$2` phase, `$3` step index, `$4` table, `$5` column, `$6` batch size (int).
pub const REGISTER: &str =
    "INSERT INTO cutover.backfills (plan_checksum, phase, step_index, table_name, column_name, batch_size)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (plan_checksum, phase, step_index) DO NOTHING";

/// `$1` checksum, `$2` phase, `$3` step index. The row, locked until the transaction ends
/// (a batch holds it, so pause and cancel wait for the batch to commit).
pub const LOCK_ROW: &str =
    "SELECT state, cursor::text, pass, rows_done, rows_updated, batches, batch_size, busy_seconds
FROM cutover.backfills WHERE plan_checksum = $1 AND phase = $2 AND step_index = $3 FOR UPDATE";

/// `$1` checksum, `$2` phase, `$3` step index. The state and counters, without locking.
pub const READ_STATE: &str = "SELECT state, rows_done, rows_updated, batches, batch_size, busy_seconds, lock_timeouts
FROM cutover.backfills WHERE plan_checksum = $1 AND phase = $2 AND step_index = $3";

/// `$1..$3` the step, `$4` cursor (jsonb as text, or NULL), `$5` pass, `$6` rows passed,
/// `$7` rows changed, `$8` next batch size (int), `$9` seconds spent. One batch committed.
pub const RECORD_BATCH: &str = "UPDATE cutover.backfills SET cursor = $4::text::jsonb, pass = $5,
    rows_done = rows_done + $6, rows_updated = rows_updated + $7, batches = batches + 1,
    batch_size = $8, busy_seconds = busy_seconds + $9, updated_at = pg_catalog.now()
WHERE plan_checksum = $1 AND phase = $2 AND step_index = $3";

/// `$1..$3` the step, `$4` next batch size (int), `$5` seconds spent. A batch that waited on
/// locks past its lock_timeout (rolled back).
pub const RECORD_LOCK_TIMEOUT: &str = "UPDATE cutover.backfills SET lock_timeouts = lock_timeouts + 1, batch_size = $4,
    busy_seconds = busy_seconds + $5, updated_at = pg_catalog.now()
WHERE plan_checksum = $1 AND phase = $2 AND step_index = $3";

/// `$1..$3` the step, `$4` cursor, `$5` pass. A ctid walk starts its next pass.
pub const NEXT_PASS: &str =
    "UPDATE cutover.backfills SET cursor = $4::text::jsonb, pass = $5, updated_at = pg_catalog.now()
WHERE plan_checksum = $1 AND phase = $2 AND step_index = $3";

/// `$1..$3` the step.
pub const FINISH: &str =
    "UPDATE cutover.backfills SET state = 'done', finished_at = pg_catalog.now(), updated_at = pg_catalog.now()
WHERE plan_checksum = $1 AND phase = $2 AND step_index = $3";

/// `$1..$3` the step, `$4` the new state. Sets a state unless the backfill is done.
pub const SET_STATE: &str = "UPDATE cutover.backfills SET state = $4, updated_at = pg_catalog.now()
WHERE plan_checksum = $1 AND phase = $2 AND step_index = $3 AND state <> 'done'";

/// `$1` new state, `$2` states it may change from (`text[]`), `$3` checksum or NULL (every
/// plan), `$4` phase or NULL, `$5` step index or NULL. What `pause`, `resume` and `cancel` do;
/// returns the rows changed.
pub const CONTROL: &str = "UPDATE cutover.backfills SET state = $1, updated_at = pg_catalog.now()
WHERE state = ANY ($2::text[]) AND ($3::text IS NULL OR plan_checksum = $3)
  AND ($4::text IS NULL OR phase = $4) AND ($5::int IS NULL OR step_index = $5)
RETURNING plan_checksum, phase, step_index, table_name";

/// `$1` checksum or NULL, `$2` phase or NULL, `$3` step index or NULL. Every backfill with
/// its progress and the table's row estimate (NULL when never analyzed or gone).
pub const STATUS: &str = "SELECT b.plan_checksum, b.phase, b.step_index, b.table_name, b.column_name, b.state,
       b.rows_done, b.rows_updated, b.batches, b.batch_size, b.lock_timeouts, b.busy_seconds, b.pass,
       coalesce(b.cursor::text, ''),
       (SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples::float8 END FROM pg_catalog.pg_class c
        WHERE c.oid = pg_catalog.to_regclass(b.table_name)),
       pg_catalog.to_char(b.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC'
FROM cutover.backfills b
WHERE ($1::text IS NULL OR b.plan_checksum = $1) AND ($2::text IS NULL OR b.phase = $2)
  AND ($3::int IS NULL OR b.step_index = $3)
ORDER BY b.started_at, b.phase, b.step_index";

/// The replay lag of the most lagging replica, in seconds (0 without replicas; NULL lags,
/// as for a replica that is caught up and idle, count as 0).
pub const REPLICA_LAG: &str = "SELECT coalesce(pg_catalog.max(pg_catalog.date_part('epoch', replay_lag)), 0)::float8 FROM pg_catalog.pg_stat_replication";

/// The age in seconds of the oldest transaction of another session that holds back vacuum
/// (has an xmin horizon), in any database of the server; 0 when there is none.
pub const OLDEST_TRANSACTION: &str = "SELECT coalesce(pg_catalog.max(pg_catalog.date_part('epoch', pg_catalog.now() - xact_start)), 0)::float8
FROM pg_catalog.pg_stat_activity WHERE backend_xmin IS NOT NULL AND pid <> pg_catalog.pg_backend_pid() AND xact_start IS NOT NULL";

/// The sessions waiting on locks this session holds (the application's writes queued
/// behind a batch's row locks), asked just before the batch commits, while it still holds
/// them: how many, and the longest wait so far in seconds (`pg_locks.waitstart`,
/// PostgreSQL 14 and later).
pub const BLOCKED_BY_BATCH: &str = "SELECT pg_catalog.count(*)::int8, coalesce(pg_catalog.max(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - l.waitstart)), 0)::float8
FROM pg_catalog.pg_locks l WHERE NOT l.granted AND pg_catalog.pg_backend_pid() = ANY (pg_catalog.pg_blocking_pids(l.pid))";

/// The server's version number, as an integer.
pub const SERVER_VERSION_NUM: &str = "SELECT pg_catalog.current_setting('server_version_num')::int4";

/// [`BLOCKED_BY_BATCH`] before PostgreSQL 14 (no `waitstart`): how many only.
pub const BLOCKED_BY_BATCH_COUNT: &str = "SELECT pg_catalog.count(*)::int8, NULL::float8
FROM pg_catalog.pg_locks l WHERE NOT l.granted AND pg_catalog.pg_backend_pid() = ANY (pg_catalog.pg_blocking_pids(l.pid))";

/// `$1..$3` the step, `$4` next batch size (int), `$5` seconds spent. A batch that ran past
/// its statement_timeout (rolled back) is tried again smaller.
pub const RECORD_RESIZE: &str = "UPDATE cutover.backfills SET batch_size = $4, busy_seconds = busy_seconds + $5,
    updated_at = pg_catalog.now()
WHERE plan_checksum = $1 AND phase = $2 AND step_index = $3";

/// The settings under which a batch prints key values for the cursor, inside its
/// transaction: the text of a date, timestamp or interval (and the digits of a float) depends
/// on the session's DateStyle, TimeZone, IntervalStyle and extra_float_digits, which may
/// differ between runs (`ALTER DATABASE ... SET`, a role's settings, connection options).
/// Printed this way (ISO 8601, year first, with its UTC offset; a float with every digit)
/// the text means the same value whatever the settings of the session that reads it back.
pub const KEY_TEXT_SETTINGS: &str = "SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'iso_8601'; \
SET LOCAL TimeZone = 'UTC'; SET LOCAL extra_float_digits = 3";

/// Back to the session's own settings (as it connected) for the rest of the batch, once the
/// keys are printed: the backfill's expression must see the settings the database gives
/// every session (`timestamp::timestamptz` reads the time in the session's TimeZone).
pub const SESSION_SETTINGS: &str = "SET LOCAL DateStyle TO DEFAULT; SET LOCAL IntervalStyle TO DEFAULT; \
SET LOCAL TimeZone TO DEFAULT; SET LOCAL extra_float_digits TO DEFAULT";

/// The timeouts of one batch, inside its transaction.
pub fn batch_timeouts(lock_timeout_ms: u64, statement_timeout_ms: u64) -> String {
    crate::apply::set_timeouts(lock_timeout_ms, statement_timeout_ms, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(key: Key) -> Spec {
        Spec {
            table: QualName::new("public", "Orders"),
            key,
            column: "new total".into(),
            expression: "\"total\"::numeric".into(),
            only_where: Some("\"total\" IS NOT NULL".into()),
            batch_size: 1000,
        }
    }

    fn columns(names: &[(&str, &str)]) -> Key {
        Key::Columns {
            columns: names.iter().map(|(n, t)| KeyColumn { name: n.to_string(), data_type: t.to_string() }).collect(),
        }
    }

    #[test]
    fn a_single_column_key_compares_plain_values() {
        let s = spec(columns(&[("id", "bigint")]));
        assert_eq!(
            s.upper_bound(true),
            "(SELECT batch.id::text, $1::bigint FROM (SELECT id FROM public.\"Orders\" ORDER BY id OFFSET $1::bigint OPERATOR(pg_catalog.-) 1 LIMIT 1) AS batch) \
             UNION ALL (SELECT batch.id::text, pg_catalog.count(*) OVER () FROM (SELECT id FROM public.\"Orders\" ORDER BY id LIMIT $1::bigint) AS batch ORDER BY batch.id DESC LIMIT 1) LIMIT 1"
        );
        assert_eq!(
            s.upper_bound(false),
            "(SELECT batch.id::text, $2::bigint FROM (SELECT id FROM public.\"Orders\" WHERE id > CAST($1::text AS bigint) ORDER BY id OFFSET $2::bigint OPERATOR(pg_catalog.-) 1 LIMIT 1) AS batch) \
             UNION ALL (SELECT batch.id::text, pg_catalog.count(*) OVER () FROM (SELECT id FROM public.\"Orders\" WHERE id > CAST($1::text AS bigint) ORDER BY id LIMIT $2::bigint) AS batch ORDER BY batch.id DESC LIMIT 1) LIMIT 1"
        );
        assert_eq!(
            s.update_range(false),
            "UPDATE public.\"Orders\" SET \"new total\" = \"total\"::numeric WHERE id > CAST($1::text AS bigint) AND id <= CAST($2::text AS bigint) AND \"new total\" IS NULL AND (\"total\" IS NOT NULL)"
        );
        assert_eq!(
            s.update_range(true),
            "UPDATE public.\"Orders\" SET \"new total\" = \"total\"::numeric WHERE id <= CAST($1::text AS bigint) AND \"new total\" IS NULL AND (\"total\" IS NOT NULL)"
        );
    }

    #[test]
    fn a_walk_ends_at_the_last_key_it_began_with() {
        let s = spec(columns(&[("Tenant", "integer"), ("id", "text")]));
        assert_eq!(
            s.last_key(),
            "SELECT last.\"Tenant\"::text, last.id::text FROM public.\"Orders\" AS last ORDER BY last.\"Tenant\" DESC, last.id DESC LIMIT 1"
        );
        assert_eq!(
            s.reached(),
            "SELECT NOT EXISTS (SELECT 1 FROM public.\"Orders\" WHERE (\"Tenant\", id) > (CAST($1::text AS integer), CAST($2::text AS text)) AND (\"Tenant\", id) <= (CAST($3::text AS integer), CAST($4::text AS text)))"
        );
    }

    #[test]
    fn a_composite_key_compares_rows() {
        let s = spec(columns(&[("Tenant", "integer"), ("id", "text")]));
        assert_eq!(
            s.update_range(false),
            "UPDATE public.\"Orders\" SET \"new total\" = \"total\"::numeric WHERE (\"Tenant\", id) > (CAST($1::text AS integer), CAST($2::text AS text)) AND (\"Tenant\", id) <= (CAST($3::text AS integer), CAST($4::text AS text)) AND \"new total\" IS NULL AND (\"total\" IS NOT NULL)"
        );
        assert!(s.upper_bound(false).contains(
            "ORDER BY \"Tenant\", id LIMIT $3::bigint) AS batch ORDER BY batch.\"Tenant\" DESC, batch.id DESC LIMIT 1"
        ));
    }

    #[test]
    fn a_table_without_a_key_is_walked_by_pages() {
        let s = spec(Key::Ctid);
        assert_eq!(
            s.update_pages(),
            "UPDATE public.\"Orders\" SET \"new total\" = \"total\"::numeric WHERE ctid >= CAST($1::text AS tid) AND ctid < CAST($2::text AS tid) AND \"new total\" IS NULL AND (\"total\" IS NOT NULL)"
        );
        assert_eq!(
            s.pages(),
            "SELECT pg_catalog.pg_relation_size('public.\"Orders\"'::regclass) / pg_catalog.current_setting('block_size')::bigint"
        );
    }

    #[test]
    fn the_spec_reads_back_from_json() {
        let s = spec(columns(&[("id", "bigint")]));
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            json.contains("\"key\":{\"kind\":\"columns\",\"columns\":[{\"name\":\"id\",\"data_type\":\"bigint\"}]}"),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Spec>(&json).unwrap(), s);
        let ctid = serde_json::to_string(&spec(Key::Ctid)).unwrap();
        assert!(ctid.contains("\"key\":{\"kind\":\"ctid\"}"), "{ctid}");
    }

    #[test]
    fn every_state_column_has_a_comment() {
        let ddl = create_state();
        let table = ddl.iter().find(|s| s.starts_with("CREATE TABLE")).unwrap();
        for line in table.lines().skip(1) {
            let column = line.split_whitespace().next().unwrap();
            if column == ")" || column == "PRIMARY" {
                continue;
            }
            let wanted = format!("COMMENT ON COLUMN cutover.backfills.{column} IS");
            assert!(ddl.iter().any(|s| s.starts_with(&wanted)), "no comment for {column}");
        }
    }
}
