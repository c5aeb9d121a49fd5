//! Running plan steps on a database, each with its lock_timeout and statement_timeout.
//!
//! A transactional step runs in its own transaction with `SET LOCAL` timeouts. A step that
//! cannot run in a transaction (CREATE INDEX CONCURRENTLY, ...) is sent alone, as its own
//! simple-query message (PostgreSQL runs a multi-statement message as one transaction),
//! between `SET` and `RESET` of the timeouts. A backfill step is repeated until a batch
//! changes no row.

use crate::Error;
use cutover_plan::planner::{Phase, Step};
use tokio_postgres::Client;

/// What running a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepOutcome {
    /// Rows changed (backfills), or 0.
    pub rows: u64,
    /// Batches run (backfills), or 1.
    pub batches: u64,
}

/// A backfill that still changes rows after this many batches is stopped: its expression
/// may be producing NULLs, which the batch would select again forever.
const MAX_BATCHES: u64 = 10_000_000;

pub async fn run_step(client: &Client, step: &Step) -> Result<StepOutcome, Error> {
    let timeouts = format!(
        "lock_timeout = '{}ms'; {} statement_timeout = '{}ms'",
        step.lock_timeout_ms,
        if step.transactional { "SET LOCAL" } else { "SET" },
        step.statement_timeout_ms
    );
    let fail = |e: tokio_postgres::Error| Error::Query {
        what: format!("running `{}`", first_line(&step.sql)),
        message: crate::error::describe(&e),
    };
    if step.backfill.is_some() {
        client.batch_execute(&format!("SET {timeouts}")).await.map_err(fail)?;
        let mut outcome = StepOutcome { rows: 0, batches: 0 };
        loop {
            let changed = client.execute(step.sql.as_str(), &[]).await.map_err(fail)?;
            outcome.batches += 1;
            outcome.rows += changed;
            if changed == 0 {
                break;
            }
            if outcome.batches >= MAX_BATCHES {
                return Err(Error::Query {
                    what: format!("backfilling with `{}`", first_line(&step.sql)),
                    message: format!("still changing rows after {MAX_BATCHES} batches; stopped"),
                });
            }
        }
        client.batch_execute("RESET lock_timeout; RESET statement_timeout").await.map_err(fail)?;
        return Ok(outcome);
    }
    if step.transactional {
        client.batch_execute(&format!("BEGIN; SET LOCAL {timeouts}")).await.map_err(fail)?;
        if let Err(e) = client.batch_execute(&step.sql).await {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(fail(e));
        }
        client.batch_execute("COMMIT").await.map_err(fail)?;
    } else {
        client.batch_execute(&format!("SET {timeouts}")).await.map_err(fail)?;
        let result = client.batch_execute(&step.sql).await;
        let _ = client.batch_execute("RESET lock_timeout; RESET statement_timeout").await;
        result.map_err(fail)?;
    }
    Ok(StepOutcome { rows: 0, batches: 1 })
}

/// Runs every step of a phase in order; stops at the first failure.
pub async fn run_phase(client: &Client, phase: &Phase) -> Result<(), Error> {
    for step in &phase.steps {
        run_step(client, step).await?;
    }
    Ok(())
}

fn first_line(sql: &str) -> &str {
    sql.lines().next().unwrap_or(sql)
}
