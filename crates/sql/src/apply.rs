//! The SQL of `cutover apply`: the `cutover` schema where a run keeps its state, the runner
//! lock, the timeouts every step runs under, and the catalog questions a run asks (who holds
//! the lock, who blocks a step, whether an index was left INVALID).
//!
//! The state is plain tables so a person can read it with psql:
//!
//! ```sql
//! SELECT phase, step_index, state, attempts, error FROM cutover.steps ORDER BY started_at;
//! ```

use crate::quote::qualified;
use cutover_schema::QualName;

/// The schema that holds the state.
pub const SCHEMA: &str = "cutover";

/// The session-level advisory lock a runner holds for its whole run: one runner per
/// database. The key is "cutover" in ASCII; as a `bigint` key PostgreSQL shows it in
/// `pg_locks` as `classid` (high 32 bits) and `objid` (low 32 bits) with `objsubid` 1.
pub const RUNNER_LOCK_KEY: i64 = 0x0063_7574_6f76_6572;

/// A transaction-level advisory lock that serialises creating the state schema, so two
/// tools creating it at once (`CREATE ... IF NOT EXISTS` is not safe under concurrency)
/// wait for each other instead of failing on a unique violation.
pub const SETUP_LOCK_KEY: i64 = RUNNER_LOCK_KEY + 1;

/// `$1`: the key. Returns whether the lock was taken.
pub const TRY_LOCK: &str = "SELECT pg_catalog.pg_try_advisory_lock($1::bigint)";

/// `$1`: the key. Releases the session lock (the end of the session releases it too).
pub const UNLOCK: &str = "SELECT pg_catalog.pg_advisory_unlock($1::bigint)";

/// `$1`: the key. The sessions holding a session-level advisory lock on this database, with
/// who they are: pid, application_name, user, client address (`local` for a Unix socket),
/// and since when they are connected, in UTC.
pub const LOCK_HOLDERS: &str = "SELECT a.pid, a.application_name, a.usename::text,
       coalesce(pg_catalog.host(a.client_addr), 'local'),
       pg_catalog.to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC'
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
  AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid
ORDER BY a.pid";

/// `$1`: a backend pid. The sessions that block it, and what they run or last ran.
pub const BLOCKERS: &str = "SELECT a.pid, a.application_name, coalesce(a.state, ''),
       coalesce(pg_catalog.host(a.client_addr), 'local'), coalesce(a.query, '')
FROM pg_catalog.pg_stat_activity a
WHERE a.pid = ANY (pg_catalog.pg_blocking_pids($1::int))
ORDER BY a.pid";

/// `$1`, `$2`: schema and name of an index. One row with `indisvalid` when it exists.
pub const INDEX_VALID: &str = "SELECT i.indisvalid
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2";

/// `$1`, `$2`: schema and name of a partition; `$3`, `$4`: of its parent. One row while the
/// partition is attached, with `inhdetachpending` (PostgreSQL 14+): true when a
/// `DETACH PARTITION ... CONCURRENTLY` began and was interrupted; no row once detached.
pub const PARTITION_ATTACHED: &str = "SELECT i.inhdetachpending
FROM pg_catalog.pg_inherits i
JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND pn.nspname = $3 AND p.relname = $4";

/// `$1`, `$2`: schema and name of an enum type; `$3`: a label. Whether the type has it.
pub const ENUM_HAS_VALUE: &str = "SELECT EXISTS (SELECT 1
FROM pg_catalog.pg_enum e
JOIN pg_catalog.pg_type t ON t.oid = e.enumtypid
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = $1 AND t.typname = $2 AND e.enumlabel = $3)";

/// Completes a `DETACH PARTITION ... CONCURRENTLY` that was interrupted (PostgreSQL 14+).
pub fn finalize_detach(parent: &QualName, partition: &QualName) -> String {
    format!("ALTER TABLE {} DETACH PARTITION {} FINALIZE", qualified(parent), qualified(partition))
}

/// Whether the state tables exist (a dry run reads them only then).
pub const STATE_EXISTS: &str = "SELECT pg_catalog.to_regclass('cutover.steps') IS NOT NULL";

/// The statements that create the state schema, to run in one transaction; the first takes
/// [`SETUP_LOCK_KEY`]. Run them only when [`STATE_EXISTS`] says no (checked again after the
/// lock): the comments would otherwise rewrite catalog rows on every run.
pub fn create_state() -> Vec<String> {
    let mut out = vec![
        format!("SELECT pg_catalog.pg_advisory_xact_lock({SETUP_LOCK_KEY})"),
        "CREATE SCHEMA IF NOT EXISTS cutover".to_string(),
        "COMMENT ON SCHEMA cutover IS 'State of cutover apply: one row per run in cutover.runs, one per plan step in cutover.steps.'".to_string(),
        "CREATE TABLE IF NOT EXISTS cutover.runs (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    plan_checksum text NOT NULL,
    phases text[] NOT NULL,
    started_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    finished_at timestamptz,
    outcome text NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'done', 'failed', 'interrupted')),
    application_name text NOT NULL DEFAULT pg_catalog.current_setting('application_name'),
    user_name text NOT NULL DEFAULT CURRENT_USER,
    client_addr inet DEFAULT pg_catalog.inet_client_addr(),
    client_host text,
    backend_pid integer NOT NULL DEFAULT pg_catalog.pg_backend_pid(),
    cutover_version text NOT NULL
)"
        .to_string(),
        "CREATE TABLE IF NOT EXISTS cutover.steps (
    plan_checksum text NOT NULL,
    phase text NOT NULL,
    step_index integer NOT NULL,
    sql_checksum text NOT NULL,
    sql text NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    run_id bigint REFERENCES cutover.runs (id),
    started_at timestamptz,
    finished_at timestamptz,
    error text,
    PRIMARY KEY (plan_checksum, phase, step_index)
)"
        .to_string(),
    ];
    let comments: &[(&str, &str)] = &[
        ("TABLE cutover.runs", "One row per cutover apply run: which plan, which phases, who ran it, how it ended."),
        ("COLUMN cutover.runs.id", "The run's number; cutover.steps.run_id refers to it."),
        ("COLUMN cutover.runs.started_at", "When the run took the runner lock."),
        ("COLUMN cutover.runs.plan_checksum", "SHA-256 (hex) of the plan file as given to cutover apply."),
        ("COLUMN cutover.runs.phases", "The phases the run was asked to run, in plan order."),
        ("COLUMN cutover.runs.finished_at", "When the run ended; NULL while it runs or when it was interrupted."),
        (
            "COLUMN cutover.runs.outcome",
            "running, done (every selected step done), failed (a step failed), interrupted (the runner died; found by the next run).",
        ),
        ("COLUMN cutover.runs.application_name", "application_name of the runner's session."),
        ("COLUMN cutover.runs.user_name", "The database user the run connected as."),
        ("COLUMN cutover.runs.client_addr", "The runner's address as the server saw it; NULL over a Unix socket."),
        ("COLUMN cutover.runs.client_host", "The host name of the machine the runner ran on, as it reported it."),
        ("COLUMN cutover.runs.backend_pid", "The server process of the runner's session (it held the runner lock)."),
        ("COLUMN cutover.runs.cutover_version", "The version of cutover that ran."),
        (
            "TABLE cutover.steps",
            "One row per step of a plan (by plan checksum): its state across runs. A done step is skipped when the plan is applied again.",
        ),
        ("COLUMN cutover.steps.plan_checksum", "The plan the step belongs to (cutover.runs.plan_checksum)."),
        ("COLUMN cutover.steps.phase", "expand, backfill, switch or contract."),
        ("COLUMN cutover.steps.step_index", "1-based position of the step in its phase."),
        ("COLUMN cutover.steps.sql_checksum", "SHA-256 (hex) of the step's SQL."),
        ("COLUMN cutover.steps.sql", "The step's SQL, as the plan gives it."),
        (
            "COLUMN cutover.steps.state",
            "pending (not run yet), running (being run, or the runner died while running it), done, failed (see error).",
        ),
        ("COLUMN cutover.steps.attempts", "How many times the step was sent, lock-timeout retries included."),
        ("COLUMN cutover.steps.run_id", "The run that last ran the step (cutover.runs.id)."),
        ("COLUMN cutover.steps.started_at", "When the latest attempt started."),
        ("COLUMN cutover.steps.finished_at", "When the step was done, or failed."),
        ("COLUMN cutover.steps.error", "PostgreSQL's message when the step failed."),
    ];
    for (object, text) in comments {
        out.push(format!("COMMENT ON {object} IS {}", crate::quote::literal(text)));
    }
    out
}

/// `$1` checksum, `$2` phases (`text[]`), `$3` client host, `$4` cutover version.
pub const INSERT_RUN: &str = "INSERT INTO cutover.runs (plan_checksum, phases, client_host, cutover_version) VALUES ($1, $2, $3, $4) RETURNING id";

/// `$1` run id, `$2` outcome.
pub const FINISH_RUN: &str = "UPDATE cutover.runs SET finished_at = pg_catalog.now(), outcome = $2 WHERE id = $1";

/// `$1` the current run. Runs still marked running are dead: this run holds the runner lock.
pub const MARK_INTERRUPTED: &str =
    "UPDATE cutover.runs SET outcome = 'interrupted' WHERE outcome = 'running' AND id <> $1";

/// `$1` checksum, `$2` phase, `$3` step index, `$4` sql checksum, `$5` sql.
pub const REGISTER_STEP: &str = "INSERT INTO cutover.steps (plan_checksum, phase, step_index, sql_checksum, sql)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (plan_checksum, phase, step_index) DO NOTHING";

/// `$1` checksum. Every step's state.
pub const STEP_STATES: &str = "SELECT phase, step_index, state, attempts, coalesce(error, '')
FROM cutover.steps WHERE plan_checksum = $1";

/// `$1` checksum, `$2` phase, `$3` step index, `$4` run id: an attempt begins.
pub const START_STEP: &str = "UPDATE cutover.steps
SET state = 'running', attempts = attempts + 1, run_id = $4, started_at = pg_catalog.now(), finished_at = NULL, error = NULL
WHERE plan_checksum = $1 AND phase = $2 AND step_index = $3";

/// `$1` checksum, `$2` phase, `$3` step index. For a transactional step it runs inside the
/// step's own transaction, so the step and its `done` commit together.
pub const FINISH_STEP: &str = "UPDATE cutover.steps SET state = 'done', finished_at = pg_catalog.now(), error = NULL
WHERE plan_checksum = $1 AND phase = $2 AND step_index = $3";

/// `$1` checksum, `$2` phase, `$3` step index, `$4` error.
pub const FAIL_STEP: &str = "UPDATE cutover.steps SET state = 'failed', finished_at = pg_catalog.now(), error = $4
WHERE plan_checksum = $1 AND phase = $2 AND step_index = $3";

/// The timeouts of a step: `SET LOCAL` inside the step's transaction, `SET` around a step
/// sent outside one (then [`RESET_TIMEOUTS`]).
pub fn set_timeouts(lock_timeout_ms: u64, statement_timeout_ms: u64, local: bool) -> String {
    let set = if local { "SET LOCAL" } else { "SET" };
    format!("{set} lock_timeout = '{lock_timeout_ms}ms'; {set} statement_timeout = '{statement_timeout_ms}ms'")
}

pub const RESET_TIMEOUTS: &str = "RESET lock_timeout; RESET statement_timeout";

/// Whether a session still answers (asked by the runners after an error).
pub const PING: &str = "SELECT 1";

/// `$1` checksum, `$2` phase, `$3` step index, `$4` run id: the step was rolled back and is
/// pending again (the next apply runs it). For a step rolled back inside a transaction it
/// runs in that transaction, so the undo and its record commit together.
pub const ROLLBACK_STEP: &str =
    "UPDATE cutover.steps SET state = 'pending', run_id = $4, finished_at = pg_catalog.now(), error = NULL
WHERE plan_checksum = $1 AND phase = $2 AND step_index = $3";

/// `$1` checksum, `$2` phase, `$3` step index, `$4` error: the step's rollback failed. Its
/// state is kept (a failed rollback statement leaves the step's change in place).
pub const ROLLBACK_FAILED: &str = "UPDATE cutover.steps SET error = $4
WHERE plan_checksum = $1 AND phase = $2 AND step_index = $3";

/// `$1` checksum, `$2` phase, `$3` step index: forgets where a backfill step is (the next run
/// starts it over); returns the rows it had changed. Run only when
/// `backfill::STATE_EXISTS` says the table exists.
pub const RESET_BACKFILL: &str = "DELETE FROM cutover.backfills
WHERE plan_checksum = $1 AND phase = $2 AND step_index = $3 RETURNING rows_updated";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_key_splits_into_two_positive_oids() {
        assert_eq!(RUNNER_LOCK_KEY >> 32, 0x0063_7574);
        assert_eq!(RUNNER_LOCK_KEY & 0xffff_ffff, 0x6f76_6572);
    }

    #[test]
    fn finalize_quotes_both_names() {
        assert_eq!(
            finalize_detach(&QualName::new("public", "Metrics"), &QualName::new("archive", "m 2023")),
            "ALTER TABLE public.\"Metrics\" DETACH PARTITION archive.\"m 2023\" FINALIZE"
        );
    }

    #[test]
    fn timeouts_are_local_inside_a_transaction() {
        assert_eq!(
            set_timeouts(2000, 60000, true),
            "SET LOCAL lock_timeout = '2000ms'; SET LOCAL statement_timeout = '60000ms'"
        );
        assert_eq!(set_timeouts(1, 2, false), "SET lock_timeout = '1ms'; SET statement_timeout = '2ms'");
    }

    #[test]
    fn every_state_column_has_a_comment() {
        let ddl = create_state();
        let tables = ddl.iter().filter(|s| s.starts_with("CREATE TABLE")).cloned().collect::<Vec<_>>();
        for table in tables {
            let name = table.split_whitespace().nth(5).unwrap();
            for line in table.lines().skip(1) {
                let column = line.split_whitespace().next().unwrap();
                if column == ")" || column == "PRIMARY" {
                    continue;
                }
                let wanted = format!("COMMENT ON COLUMN {name}.{column} IS");
                assert!(ddl.iter().any(|s| s.starts_with(&wanted)), "no comment for {name}.{column}");
            }
        }
    }
}
