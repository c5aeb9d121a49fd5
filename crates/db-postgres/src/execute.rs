//! Running plan steps on a database, each with its lock_timeout and statement_timeout.
//!
//! A transactional step runs in its own transaction with `SET LOCAL` timeouts, each of its
//! statements in its own message. A step that cannot run in a transaction (CREATE INDEX
//! CONCURRENTLY, ...) is sent alone, as its own simple-query message (PostgreSQL runs a
//! multi-statement message as one transaction), between `SET` and `RESET` of the timeouts.
//! A backfill step is repeated until a batch changes no row.

use crate::Error;
use cutover_plan::planner::{Phase, Step};
use cutover_sql::apply;
use cutover_sql::split::split;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

/// What running a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepOutcome {
    /// Rows changed (backfills), or 0.
    pub rows: u64,
    /// Batches run (backfills), or 1.
    pub batches: u64,
    /// Whether [`RunOptions::in_transaction`] ran (committed with the step).
    pub recorded: bool,
}

/// How to run a step, beyond what the step itself says.
#[derive(Default)]
pub struct RunOptions<'a> {
    /// Replaces the step's lock_timeout (a lock-timeout retry may wait longer).
    pub lock_timeout_ms: Option<u64>,
    /// A statement and its parameters to run inside the step's transaction, before it
    /// commits (a transactional, non-backfill step only): the step and this commit together.
    pub in_transaction: Option<(&'a str, &'a [&'a (dyn ToSql + Sync)])>,
}

/// A step that failed: which statement, PostgreSQL's words, and its SQLSTATE.
#[derive(Debug, Clone)]
pub struct StepError {
    /// `running \`first line\``.
    pub what: String,
    pub message: String,
    pub code: Option<SqlState>,
}

impl StepError {
    /// `lock_not_available` (55P03): the step's lock_timeout expired waiting for a lock.
    pub fn is_lock_timeout(&self) -> bool {
        self.code == Some(SqlState::LOCK_NOT_AVAILABLE)
    }
}

impl StepError {
    /// The adapter's error (a `From` impl would make `?` ambiguous in this crate).
    pub fn into_error(self) -> Error {
        Error::Query { what: self.what, message: self.message }
    }
}

/// A backfill that still changes rows after this many batches is stopped: its expression
/// may be producing NULLs, which the batch would select again forever.
const MAX_BATCHES: u64 = 10_000_000;

pub async fn run_step(client: &Client, step: &Step) -> Result<StepOutcome, Error> {
    run_step_with(client, step, &RunOptions::default()).await.map_err(StepError::into_error)
}

/// Runs one step. Every statement goes in its own message (a multi-statement message is
/// one implicit transaction, which CONCURRENTLY refuses); a transactional step's statements
/// run between BEGIN and COMMIT.
pub async fn run_step_with(client: &Client, step: &Step, options: &RunOptions<'_>) -> Result<StepOutcome, StepError> {
    let lock_timeout_ms = options.lock_timeout_ms.unwrap_or(step.lock_timeout_ms);
    let fail = |e: tokio_postgres::Error| StepError {
        what: format!("running `{}`", first_line(&step.sql)),
        message: crate::error::describe(&e),
        code: e.code().cloned(),
    };
    let statements: Vec<&str> = split(&step.sql).into_iter().map(|s| s.text).collect();
    if step.backfill.is_some() {
        client
            .batch_execute(&apply::set_timeouts(lock_timeout_ms, step.statement_timeout_ms, false))
            .await
            .map_err(fail)?;
        let mut outcome = StepOutcome { rows: 0, batches: 0, recorded: false };
        loop {
            let changed = client.execute(step.sql.as_str(), &[]).await.map_err(fail)?;
            outcome.batches += 1;
            outcome.rows += changed;
            if changed == 0 {
                break;
            }
            if outcome.batches >= MAX_BATCHES {
                return Err(StepError {
                    what: format!("backfilling with `{}`", first_line(&step.sql)),
                    message: format!("still changing rows after {MAX_BATCHES} batches; stopped"),
                    code: None,
                });
            }
        }
        client.batch_execute(apply::RESET_TIMEOUTS).await.map_err(fail)?;
        return Ok(outcome);
    }
    if step.transactional {
        client.batch_execute("BEGIN").await.map_err(fail)?;
        let body = async {
            client.batch_execute(&apply::set_timeouts(lock_timeout_ms, step.statement_timeout_ms, true)).await?;
            for statement in &statements {
                client.batch_execute(statement).await?;
            }
            if let Some((sql, params)) = options.in_transaction {
                client.execute(sql, params).await?;
            }
            client.batch_execute("COMMIT").await
        };
        if let Err(e) = body.await {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(fail(e));
        }
        return Ok(StepOutcome { rows: 0, batches: 1, recorded: options.in_transaction.is_some() });
    }
    client
        .batch_execute(&apply::set_timeouts(lock_timeout_ms, step.statement_timeout_ms, false))
        .await
        .map_err(fail)?;
    let mut result = Ok(());
    for statement in &statements {
        result = client.batch_execute(statement).await;
        if result.is_err() {
            break;
        }
    }
    let _ = client.batch_execute(apply::RESET_TIMEOUTS).await;
    result.map_err(fail)?;
    Ok(StepOutcome { rows: 0, batches: 1, recorded: false })
}

/// Runs every step of a phase in order; stops at the first failure.
pub async fn run_phase(client: &Client, phase: &Phase) -> Result<(), Error> {
    for step in &phase.steps {
        run_step(client, step).await?;
    }
    Ok(())
}

/// The first line of a statement, for messages.
pub fn first_line(sql: &str) -> &str {
    sql.lines().next().unwrap_or(sql)
}
