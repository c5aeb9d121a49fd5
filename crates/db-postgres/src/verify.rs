//! `cutover verify`: checks on a live database that the completed phases of a plan left what
//! they promise (`cutover_plan::verify` derives the checks; `cutover_sql::verify` holds their
//! SQL), then the user's own checks and latency budgets. Only reads: the session is
//! read-only, the plan's checks run in one `REPEATABLE READ READ ONLY` snapshot (each under
//! a savepoint, so a check that errors fails alone), and every user query in its own
//! read-only transaction with a statement_timeout.

use crate::Error;
use crate::apply::PlanFile;
use crate::connect::Target;
use crate::error::describe;
use cutover_plan::planner::{PhaseName, Postcondition};
use cutover_plan::verify::{Check, CheckResult, Expect, LatencyCheck, Report, UserCheck, checks};
use cutover_schema::QualName;
use cutover_sql::{apply as state_sql, verify as sql};
use std::time::{Duration, Instant};
use tokio_postgres::{Client, SimpleQueryMessage};

/// The application_name of verify's session, as other sessions see it.
pub const APPLICATION_NAME: &str = "cutover verify";

/// What to verify.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The phases whose postconditions to check; `None`: the phases `cutover.steps` records
    /// as done for this plan.
    pub phases: Option<Vec<PhaseName>>,
    pub checks: Vec<UserCheck>,
    pub latency: Vec<LatencyCheck>,
    /// statement_timeout of each user check.
    pub check_timeout_ms: u64,
}

/// Why verification could not run (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Database(#[from] Error),
}

/// Runs every check and reports each one; a failed check is a result, not an error.
pub async fn verify(target: &Target, plan: PlanFile<'_>, config: &Config) -> Result<Report, VerifyError> {
    let mut target = target.clone();
    target.config.application_name(APPLICATION_NAME);
    let client = target.connect().await?;
    client
        .batch_execute("SET default_transaction_read_only = on")
        .await
        .map_err(|e| Error::query("starting a read-only session", e))?;
    let phases = match &config.phases {
        Some(named) => {
            for name in named {
                if plan.plan.phase(*name).is_none() {
                    let present: Vec<&str> = plan.plan.phases.iter().map(|p| p.name.as_str()).collect();
                    return Err(VerifyError::Refused(format!(
                        "the plan has no {name} phase (it has: {})",
                        if present.is_empty() { "none".to_string() } else { present.join(", ") }
                    )));
                }
            }
            plan.plan.phases.iter().map(|p| p.name).filter(|p| named.contains(p)).collect()
        }
        None => completed(&client, plan).await?,
    };
    let mut results = Vec::new();
    for_plan(&client, &checks(plan.plan, &phases), &mut results).await?;
    for check in &config.checks {
        results.push(user_check(&client, check, config.check_timeout_ms).await?);
    }
    for check in &config.latency {
        results.push(latency(&client, check).await?);
    }
    Ok(Report { phases, results })
}

/// The phases of the plan whose every step `cutover.steps` records as done.
async fn completed(client: &Client, plan: PlanFile<'_>) -> Result<Vec<PhaseName>, VerifyError> {
    let q = |what: &'static str| move |e| Error::query(what, e);
    let exists: bool =
        client.query_one(state_sql::STATE_EXISTS, &[]).await.map_err(q("looking for the cutover schema"))?.get(0);
    if !exists {
        return Err(VerifyError::Refused(
            "the database has no cutover schema, so no phase was applied with cutover apply: name the phases that ran with --phase".into(),
        ));
    }
    let rows = client.query(state_sql::STEP_STATES, &[&plan.checksum]).await.map_err(q("reading cutover.steps"))?;
    let done = |phase: PhaseName, index: usize| {
        rows.iter().any(|r| {
            r.get::<_, &str>(0) == phase.as_str()
                && r.get::<_, i32>(1) as usize == index
                && r.get::<_, &str>(2) == "done"
        })
    };
    Ok(plan.plan.phases.iter().filter(|p| (1..=p.steps.len()).all(|i| done(p.name, i))).map(|p| p.name).collect())
}

async fn for_plan(client: &Client, list: &[Check], out: &mut Vec<CheckResult>) -> Result<(), Error> {
    let q = |what: &'static str| move |e| Error::query(what, e);
    client.batch_execute(sql::BEGIN).await.map_err(q("starting a read-only transaction"))?;
    for check in list {
        client.batch_execute(sql::SAVEPOINT).await.map_err(q("setting a savepoint"))?;
        let (ok, detail) = match run(client, check).await {
            Ok(result) => {
                client.batch_execute(sql::RELEASE_SAVEPOINT).await.map_err(q("releasing a savepoint"))?;
                result
            }
            Err(e) => {
                client.batch_execute(sql::ROLLBACK_TO_SAVEPOINT).await.map_err(q("rolling back a savepoint"))?;
                (matches!(check, Check::RowCount(_)), format!("could not check: {}", describe(&e)))
            }
        };
        out.push(CheckResult { name: check.name(), kind: check.kind().to_string(), ok, detail });
    }
    client.batch_execute("COMMIT").await.map_err(q("ending the read-only transaction"))?;
    Ok(())
}

fn found(exists: bool, present: bool) -> (bool, String) {
    match (exists, present) {
        (true, true) => (true, "exists".into()),
        (true, false) => (false, "missing".into()),
        (false, false) => (true, "gone".into()),
        (false, true) => (false, "still present".into()),
    }
}

fn plural(n: i64, one: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") }
}

/// One check: whether it passed, and the measured value or what is wrong.
async fn run(client: &Client, check: &Check) -> Result<(bool, String), tokio_postgres::Error> {
    let p = match check {
        Check::RowCount(table) => {
            let n: i64 = client.query_one(&sql::row_count(table), &[]).await?.get(0);
            return Ok((true, plural(n, "row")));
        }
        Check::Post(p) => p,
    };
    Ok(match p {
        Postcondition::Table { table, exists } => {
            let present = client.query_opt(sql::TABLE, &[&table.schema, &table.name]).await?.is_some();
            found(*exists, present)
        }
        Postcondition::Column { table, column, exists, not_null } => {
            let row = client.query_opt(sql::COLUMN, &[&table.schema, &table.name, column]).await?;
            match (row.map(|r| r.get::<_, bool>(0)), *exists) {
                (Some(false), true) if *not_null == Some(true) => {
                    (false, "NOT NULL is not set: the column accepts NULLs".into())
                }
                (Some(true), true) => (true, "exists, NOT NULL".into()),
                (row, exists) => found(exists, row.is_some()),
            }
        }
        Postcondition::Index { index, exists, .. } => {
            let row = client.query_opt(sql::INDEX, &[&index.schema, &index.name]).await?;
            match (row.map(|r| r.get::<_, bool>(0)), *exists) {
                (Some(true), true) => (true, "valid".into()),
                (Some(false), true) => (
                    false,
                    "INVALID (pg_index.indisvalid is false: a CREATE INDEX CONCURRENTLY failed or was interrupted); drop it and build it again".into(),
                ),
                (row, exists) => found(exists, row.is_some()),
            }
        }
        Postcondition::Constraint { table, name, exists, validated } => {
            let row = client.query_opt(sql::CONSTRAINT, &[&table.schema, &table.name, name]).await?;
            match (row.map(|r| r.get::<_, bool>(0)), *exists) {
                (Some(false), true) if *validated == Some(true) => {
                    (false, "NOT VALID: existing rows were never checked (pg_constraint.convalidated is false)".into())
                }
                (Some(true), true) => (true, "validated".into()),
                (Some(false), true) => (true, "exists, NOT VALID".into()),
                (row, exists) => found(exists, row.is_some()),
            }
        }
        Postcondition::Trigger { table, name, exists } => {
            let present = client.query_opt(sql::TRIGGER, &[&table.schema, &table.name, name]).await?.is_some();
            found(*exists, present)
        }
        Postcondition::View { view, materialized, exists } => {
            let row = client.query_opt(sql::VIEW, &[&view.schema, &view.name]).await?;
            let kind = |m: bool| if m { "a materialized view" } else { "a view" };
            match (row.map(|r| r.get::<_, bool>(0)), *exists) {
                (Some(m), true) if m != *materialized => {
                    (false, format!("is {}, not {}", kind(m), kind(*materialized)))
                }
                (row, exists) => found(exists, row.is_some()),
            }
        }
        Postcondition::Routine { routine, exists } => {
            let name = &routine.name;
            let args = &routine.identity_args;
            let present = client.query_opt(sql::ROUTINE, &[&name.schema, &name.name, args]).await?.is_some();
            found(*exists, present)
        }
        Postcondition::Type { name, exists } => {
            let present = client.query_opt(sql::TYPE, &[&name.schema, &name.name]).await?.is_some();
            found(*exists, present)
        }
        Postcondition::EnumLabels { name, labels } => {
            let rows = client.query(sql::ENUM_LABELS, &[&name.schema, &name.name]).await?;
            let present: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            enum_labels(labels, &present)
        }
        Postcondition::Sequence { sequence, exists } => {
            let present = client.query_opt(sql::SEQUENCE, &[&sequence.schema, &sequence.name]).await?.is_some();
            found(*exists, present)
        }
        Postcondition::Policy { table, name, exists } => {
            let present = client.query_opt(sql::POLICY, &[&table.schema, &table.name, name]).await?.is_some();
            found(*exists, present)
        }
        Postcondition::RowSecurity { table, enabled } => {
            let row = client.query_opt(sql::ROW_SECURITY, &[&table.schema, &table.name]).await?;
            match row.map(|r| r.get::<_, bool>(0)) {
                None => (false, "the table is missing".into()),
                Some(on) if on == *enabled => (true, if on { "enabled" } else { "disabled" }.into()),
                Some(true) => (false, "row-level security is still enabled".into()),
                Some(false) => (
                    false,
                    "row-level security is not enabled: its policies are not applied (pg_class.relrowsecurity is false)"
                        .into(),
                ),
            }
        }
        Postcondition::Statistics { statistics, exists } => {
            let present = client.query_opt(sql::STATISTICS, &[&statistics.schema, &statistics.name]).await?.is_some();
            found(*exists, present)
        }
        Postcondition::Default { table, column, default } => {
            let row = client.query_opt(sql::COLUMN_DEFAULT, &[&table.schema, &table.name, column]).await?;
            match (row.map(|r| r.get::<_, Option<String>>(0)), default) {
                (None, _) => (false, "the column is missing".into()),
                (Some(None), None) => (true, "no default".into()),
                (Some(Some(found)), Some(expected)) if found == *expected => (true, format!("defaults to {found}")),
                (Some(None), Some(_)) => (false, "the column has no default".into()),
                (Some(Some(found)), None) => (false, format!("the column still defaults to {found}")),
                (Some(Some(found)), Some(_)) => (false, format!("the column defaults to {found} instead")),
            }
        }
        Postcondition::Identity { table, column, always } => {
            let row = client.query_opt(sql::COLUMN_DEFAULT, &[&table.schema, &table.name, column]).await?;
            let generated = |a: bool| if a { "GENERATED ALWAYS" } else { "GENERATED BY DEFAULT" };
            match (row.map(|r| r.get::<_, String>(1)), always) {
                (None, _) => (false, "the column is missing".into()),
                (Some(found), expected) => {
                    let found = match found.as_str() {
                        "a" => Some(true),
                        "d" => Some(false),
                        _ => None,
                    };
                    match (found, *expected) {
                        (None, None) => (true, "no identity".into()),
                        (Some(f), Some(e)) if f == e => (true, format!("identity, {}", generated(f))),
                        (None, Some(_)) => (false, "the column is not an identity column".into()),
                        (Some(f), None) => {
                            (false, format!("the column is still an identity column ({})", generated(f)))
                        }
                        (Some(f), Some(_)) => (false, format!("the identity is {} instead", generated(f))),
                    }
                }
            }
        }
        Postcondition::Partition { parent, partition, bound } => {
            let row = client.query_opt(sql::PARTITION, &[&partition.schema, &partition.name]).await?;
            let Some(row) = row else { return Ok((false, "the partition table is missing".into())) };
            let (schema, name, printed): (Option<String>, Option<String>, Option<String>) =
                (row.get(0), row.get(1), row.get(2));
            let of = match (schema, name) {
                (Some(schema), Some(name)) => Some(QualName::new(schema, name)),
                _ => None,
            };
            match (of, bound) {
                (Some(of), Some(bound)) if of == *parent => {
                    match printed.as_deref().and_then(cutover_sql::bound::parse) {
                        Some(found) if found == *bound => (true, "attached".into()),
                        _ => (
                            false,
                            format!("attached with another bound: {}", printed.unwrap_or_else(|| "none".into())),
                        ),
                    }
                }
                (Some(of), Some(_)) => {
                    (false, format!("is a partition of {} instead", cutover_sql::quote::qualified(&of)))
                }
                (None, Some(_)) => (false, "is not attached: it is a table of its own".into()),
                (Some(of), None) if of == *parent => (false, "is still attached".into()),
                (_, None) => (true, "detached".into()),
            }
        }
        Postcondition::Filled { table, column, source } => {
            let key = primary_key(client, table).await?;
            let row = client.query_one(&sql::unfilled(table, column, source.as_deref(), &key), &[]).await?;
            let (count, first): (i64, Option<String>) = (row.get(0), row.get(1));
            if count == 0 {
                (true, "no NULL left".into())
            } else {
                let where_ = source.as_ref().map(|s| format!(" where {s} is not NULL")).unwrap_or_default();
                let at = first.map(|k| format!(", the first at key {k}")).unwrap_or_default();
                (false, format!("{} still NULL{where_}{at}", plural(count, "row")))
            }
        }
        Postcondition::Agrees { table, old, new, data_type, conversion } => {
            let row = client.query_one(&sql::agreement(table, old, new, data_type, *conversion), &[]).await?;
            let (old_sum, new_sum, differ, rows): (String, String, i64, i64) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            if differ == 0 && old_sum == new_sum {
                (true, format!("checksums match over {}", plural(rows, "row")))
            } else {
                (
                    false,
                    format!(
                        "checksums differ: {} of {} differ ({new} is not {old} converted to {data_type})",
                        plural(differ, "row"),
                        rows
                    ),
                )
            }
        }
    })
}

/// Whether `present` (the enum's labels in order) holds `expected` in that order.
fn enum_labels(expected: &[String], present: &[String]) -> (bool, String) {
    if present.is_empty() {
        return (false, "the enum is missing".into());
    }
    if let Some(lacking) = expected.iter().find(|l| !present.contains(l)) {
        return (false, format!("lacks the label {}", cutover_sql::quote::literal(lacking)));
    }
    let positions: Vec<usize> = expected.iter().filter_map(|l| present.iter().position(|p| p == l)).collect();
    if let Some(w) = positions.windows(2).find(|w| w[0] > w[1]) {
        return (
            false,
            format!(
                "the labels are out of order: {} comes before {}",
                cutover_sql::quote::literal(&present[w[1]]),
                cutover_sql::quote::literal(&present[w[0]])
            ),
        );
    }
    (true, format!("{} label(s) in order", expected.len()))
}

async fn primary_key(client: &Client, table: &QualName) -> Result<Vec<String>, tokio_postgres::Error> {
    let rows = client.query(sql::PRIMARY_KEY, &[&table.schema, &table.name]).await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The rows of a user query's result, as text (only its first statement's).
async fn user_rows(client: &Client, query: &str, timeout_ms: u64) -> Result<Vec<Option<String>>, String> {
    // Preparing refuses more than one statement: the SQL cannot end the read-only
    // transaction and run more after it.
    client.prepare(query).await.map_err(|e| describe(&e))?;
    client.batch_execute(&sql::begin_user(timeout_ms)).await.map_err(|e| describe(&e))?;
    let result = client.simple_query(query).await;
    let _ = client.batch_execute("ROLLBACK").await;
    let messages = result.map_err(|e| describe(&e))?;
    Ok(messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_string)),
            _ => None,
        })
        .collect())
}

async fn user_check(client: &Client, check: &UserCheck, timeout_ms: u64) -> Result<CheckResult, Error> {
    let result = |ok: bool, detail: String| CheckResult { name: check.name.clone(), kind: "user".into(), ok, detail };
    let rows = match user_rows(client, &check.sql, timeout_ms).await {
        Ok(rows) => rows,
        Err(e) => return Ok(result(false, format!("the query failed: {e}"))),
    };
    let first = || match rows.as_slice() {
        [] => "no row".to_string(),
        [value, ..] => value.clone().unwrap_or_else(|| "NULL".into()),
    };
    Ok(match check.expect {
        Expect::True => {
            let ok = rows.len() == 1 && matches!(rows[0].as_deref(), Some("t" | "true"));
            result(ok, if ok { "true".into() } else { format!("expected true, got {}", first()) })
        }
        Expect::Zero => {
            let ok = rows.len() == 1 && rows[0].as_deref().and_then(|v| v.parse::<f64>().ok()) == Some(0.0);
            result(ok, if ok { "0".into() } else { format!("expected zero, got {}", first()) })
        }
        Expect::Rows(n) => {
            let ok = rows.len() as u64 == n;
            let got = plural(rows.len() as i64, "row");
            result(ok, if ok { got } else { format!("expected {}, got {got}", plural(n as i64, "row")) })
        }
    })
}

/// The median time of `runs` runs of the query, each in its own read-only transaction.
async fn latency(client: &Client, check: &LatencyCheck) -> Result<CheckResult, Error> {
    let result =
        |ok: bool, detail: String| CheckResult { name: check.name.clone(), kind: "latency".into(), ok, detail };
    let timeout = check.statement_timeout_ms();
    let statement = match client.prepare(&check.sql).await {
        Ok(s) => s,
        Err(e) => return Ok(result(false, format!("the query failed: {}", describe(&e)))),
    };
    let mut times = Vec::new();
    for _ in 0..check.runs.max(1) {
        client
            .batch_execute(&sql::begin_user(timeout))
            .await
            .map_err(|e| Error::query("starting a read-only transaction", e))?;
        let started = Instant::now();
        let ran = client.query(&statement, &[]).await;
        let elapsed = started.elapsed();
        let _ = client.batch_execute("ROLLBACK").await;
        if let Err(e) = ran {
            let detail = if e.code() == Some(&tokio_postgres::error::SqlState::QUERY_CANCELED) {
                format!("a run exceeded the statement_timeout of {timeout} ms (budget {} ms)", check.budget_ms)
            } else {
                format!("the query failed: {}", describe(&e))
            };
            return Ok(result(false, detail));
        }
        times.push(elapsed);
    }
    times.sort();
    let median = median(&times);
    let ms = median.as_secs_f64() * 1000.0;
    let ok = ms <= check.budget_ms as f64;
    let detail = format!(
        "median {ms:.1} ms over {} run(s), budget {} ms{}",
        times.len(),
        check.budget_ms,
        if ok { "" } else { ": over budget" }
    );
    Ok(result(ok, detail))
}

fn median(sorted: &[Duration]) -> Duration {
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}
