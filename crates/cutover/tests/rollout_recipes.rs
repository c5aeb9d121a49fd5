//! The every-recipe proof: every plan scenario (tests/scenarios/plan/*.sql, so a new
//! scenario is covered without touching this file) is rolled out the way a user rolls out a
//! plan, on a database with rows, while a concurrent writer runs:
//!
//! 1. the plan (for this server's version, `--allow-downtime` only when it is blocked
//!    otherwise, as plan_scenarios.rs runs it) is written to a file;
//! 2. a writer task updates and inserts rows of every table present before and after the
//!    change, continuously, through columns that survive the change (so every write is
//!    valid before, during and after the rollout; see `Writes`);
//! 3. `cutover apply --phase NAME --yes` (the real binary) runs each phase, and
//!    `cutover verify` (no `--phase`: the phases `cutover.steps` records as done) must pass
//!    after each one, with the writer still running; the writer must have written between
//!    phases;
//! 4. the writer must have seen no error at all: no recipe is allowed to make a valid write
//!    fail (`ALLOWED_WRITER_ERRORS` is empty, and a deadlock or a lock timeout in the writer
//!    would be a recipe bug);
//! 5. the schema converges to the scenario's `after`;
//! 6. then the database is broken on purpose, one postcondition of the plan at a time (an
//!    index marked INVALID, NOT NULL dropped, a constraint marked NOT VALID, an enum label
//!    renamed, row-level security disabled, a default or an identity dropped, a partition
//!    detached; then triggers, policies, statistics, columns, views, routines, sequences
//!    dropped), and `cutover verify` must fail naming that check with the right detail; and
//!    for a plan with a backfill, a fresh database rolled out up to its backfill phase with
//!    one backfilled value NULLed (triggers off) must fail verify with the count and the key
//!    of that row. Across the scenarios, every kind of postcondition must have been broken
//!    and caught at least once.
//!
//! Scenarios marked `-- expect: blocked` have no plan to roll out and are skipped.
//!
//! What this found: a new NOT NULL column with a volatile default on a table with rows got
//! its `CHECK (c IS NOT NULL) NOT VALID` in expand, before the backfill; PostgreSQL checks a
//! NOT VALID constraint on every row an UPDATE writes, so the running application's updates
//! of rows not yet backfilled failed (23514). The rule now goes in after the backfill.

mod common;

use common::scenario::{Scenario, parse};
use common::{stderr, stdout};
use cutover_plan::planner::{self, PhaseName, Plan, Postcondition};
use cutover_plan::verify::{Check, checks};
use cutover_schema::{Catalog, ConstraintKind, QualName, TableKind};
use cutover_sql::quote::{ident, literal, qualified};
use cutover_test_support::TestDb;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// SQLSTATEs the concurrent writer may see without failing the proof. None: every recipe
/// keeps valid writes working (locks are waited for, never timed out, on the writer's side).
const ALLOWED_WRITER_ERRORS: &[&str] = &[];

/// The statements the writer repeats: for every table present before and after (same
/// name, not a partition: rows go through the parent), an UPDATE that sets the surviving
/// columns to themselves on one random row (it fires the recipes' sync triggers and takes
/// the row lock a real application takes; one row per statement, as OLTP writes are: an
/// UPDATE of several rows in random order can deadlock with a backfill batch locking its
/// range in key order, as it can with any other batch, which is the application's retry to
/// handle, not a recipe's fault), and, where a copy of a row with a fresh key is valid
/// on both sides, an INSERT of one.
///
/// A surviving column is one of the same name on both sides that is neither generated nor
/// an identity column on either side (those cannot be assigned). An INSERT is made only when
/// the table has the same single-column integer primary key on both sides, no other unique
/// index or constraint (a copy would violate it), is not partitioned (a detached partition
/// takes its rows' range away), and every column the INSERT leaves out may be left out on
/// both sides (nullable, defaulted, generated or identity).
struct Writes {
    updates: Vec<String>,
    /// (INSERT text with `$KEY` for the fresh key, the table).
    inserts: Vec<String>,
}

const KEY_PLACEHOLDER: &str = "$KEY";

fn writes(before: &Catalog, after: &Catalog) -> Writes {
    let mut out = Writes { updates: Vec::new(), inserts: Vec::new() };
    for (name, old) in &before.tables {
        let Some(new) = after.tables.get(name) else { continue };
        if old.partition_of.is_some() || new.partition_of.is_some() {
            continue;
        }
        let assignable = |c: &cutover_schema::Column| c.generated.is_none() && c.identity.is_none();
        let surviving: Vec<&str> = old
            .columns
            .iter()
            .filter(|c| assignable(c))
            .filter(|c| new.column(&c.name).is_some_and(assignable))
            .map(|c| c.name.as_str())
            .collect();
        if surviving.is_empty() {
            continue;
        }
        let t = qualified(name);
        let set: Vec<String> = surviving.iter().map(|c| format!("{} = {}", ident(c), ident(c))).collect();
        let pk = |table: &cutover_schema::Table| {
            table.constraints.values().find(|c| c.kind == ConstraintKind::PrimaryKey).map(|c| c.columns.clone())
        };
        let rows = match pk(old).filter(|k| Some(k) == pk(new).as_ref()) {
            Some(key) => {
                let k = key.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
                format!("({k}) IN (SELECT {k} FROM {t} ORDER BY random() LIMIT 1)")
            }
            None => format!("ctid = ANY (ARRAY(SELECT ctid FROM {t} ORDER BY random() LIMIT 1))"),
        };
        out.updates.push(format!("UPDATE {t} SET {} WHERE {rows}", set.join(", ")));

        let integer = |table: &cutover_schema::Table, c: &str| {
            table.column(c).is_some_and(|c| matches!(c.data_type.as_str(), "integer" | "bigint" | "smallint"))
        };
        let unique_besides_pk = |table: &cutover_schema::Table| {
            table.constraints.values().any(|c| matches!(c.kind, ConstraintKind::Unique | ConstraintKind::Exclusion))
                || table.indexes.values().any(|i| i.unique)
        };
        let omissible = |table: &cutover_schema::Table, key: &str| {
            table
                .columns
                .iter()
                .filter(|c| c.name != key && !surviving.contains(&c.name.as_str()))
                .all(|c| !c.not_null || c.default.is_some() || c.generated.is_some() || c.identity.is_some())
        };
        let key = match (pk(old), pk(new)) {
            (Some(a), Some(b)) if a == b && a.len() == 1 => a[0].clone(),
            _ => continue,
        };
        if old.kind != TableKind::Ordinary
            || new.kind != TableKind::Ordinary
            || !integer(old, &key)
            || !integer(new, &key)
            || unique_besides_pk(old)
            || unique_besides_pk(new)
            || !omissible(old, &key)
            || !omissible(new, &key)
        {
            continue;
        }
        let copied: Vec<String> = surviving.iter().filter(|c| **c != key).map(|c| ident(c)).collect();
        let k = ident(&key);
        let (columns, values) = if copied.is_empty() {
            (k.clone(), KEY_PLACEHOLDER.to_string())
        } else {
            (format!("{k}, {}", copied.join(", ")), format!("{KEY_PLACEHOLDER}, {}", copied.join(", ")))
        };
        out.inserts.push(format!(
            "INSERT INTO {t} ({columns}) SELECT {values} FROM {t} WHERE {k} = (SELECT min({k}) FROM {t})"
        ));
    }
    out
}

/// What the writer did.
#[derive(Default)]
struct WriterLog {
    writes: AtomicU64,
    errors: std::sync::Mutex<Vec<String>>,
}

/// Runs the writes in a loop, each statement its own transaction, until `stop`.
fn start_writer(
    db: &TestDb,
    writes: Writes,
    stop: Arc<AtomicBool>,
    log: Arc<WriterLog>,
) -> tokio::task::JoinHandle<()> {
    let target = db.target.clone();
    tokio::spawn(async move {
        let client = target.connect().await.expect("writer connection");
        client.batch_execute("SET application_name = 'rollout writer'").await.expect("writer setup");
        let mut key: u64 = 1_000_000_000;
        while !stop.load(Ordering::Relaxed) {
            let mut statements = writes.updates.clone();
            for insert in &writes.inserts {
                key += 1;
                statements.push(insert.replace(KEY_PLACEHOLDER, &key.to_string()));
            }
            for statement in statements {
                match client.batch_execute(&statement).await {
                    Ok(()) => {
                        log.writes.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        let code = e.code().map(|c| c.code().to_string()).unwrap_or_default();
                        if !ALLOWED_WRITER_ERRORS.contains(&code.as_str()) {
                            log.errors
                                .lock()
                                .unwrap()
                                .push(format!("{code}: {} in `{statement}`", cutover_db_postgres::error_text(&e)));
                        }
                    }
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
}

/// Waits until the writer has made three more writes than `mark` (when it has any).
async fn wrote_since(log: &WriterLog, has_writes: bool, mark: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while has_writes && log.writes.load(Ordering::Relaxed) < mark + 3 {
        assert!(std::time::Instant::now() < deadline, "the writer made no progress in 60 s");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

async fn cutover(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run cutover")
}

struct Rollout<'a> {
    db: &'a TestDb,
    plan_path: String,
}

impl Rollout<'_> {
    async fn apply(&self, phase: PhaseName) -> Result<(), String> {
        let out = cutover(&[
            "apply",
            "--database",
            &self.db.url(),
            "--plan",
            &self.plan_path,
            "--phase",
            phase.as_str(),
            "--yes",
        ])
        .await;
        match out.status.code() {
            Some(0) => Ok(()),
            _ => Err(format!(
                "cutover apply --phase {phase} failed ({:?}):\n{}{}",
                out.status,
                stdout(&out),
                stderr(&out)
            )),
        }
    }

    /// `cutover verify` of the phases recorded as done: its exit code and output.
    async fn verify(&self) -> (Option<i32>, String) {
        let out = cutover(&["verify", "--database", &self.db.url(), "--plan", &self.plan_path]).await;
        (out.status.code(), format!("{}{}", stdout(&out), stderr(&out)))
    }

    async fn verify_passes(&self, after: &str) -> Result<(), String> {
        match self.verify().await {
            (Some(0), _) => Ok(()),
            (code, text) => Err(format!("cutover verify after {after} exited {code:?}:\n{text}")),
        }
    }
}

/// A plan scenario rolled out: the kinds of check it broke; `None` when it has no plan to
/// roll out.
async fn run(s: &Scenario) -> Result<Option<BTreeSet<&'static str>>, String> {
    if s.blocked {
        return Ok(None);
    }
    let db = common::db_with(&format!("{}\n{}", s.before, s.data), "before + data").await?;
    let to = common::db_with(&s.after, "after").await?;
    let mut current = common::read(&db).await?;
    for (table, facts) in &s.facts {
        current.facts.tables.insert(table.clone(), facts.clone());
    }
    let desired = common::read(&to).await?;
    let mut options = s.options.clone();
    let mut plan = planner::plan(&current, &desired, &options);
    if !plan.blockers.is_empty() {
        options.allow_downtime = true;
        plan = planner::plan(&current, &desired, &options);
        if !plan.blockers.is_empty() {
            return Err(format!("blockers remain with --allow-downtime:\n{}", planner::render_human(&plan)));
        }
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let plan_path = dir.path().join("plan.json");
    std::fs::write(&plan_path, serde_json::to_string_pretty(&plan).unwrap()).map_err(|e| e.to_string())?;
    let rollout = Rollout { db: &db, plan_path: plan_path.to_string_lossy().into_owned() };

    let writes = writes(&current, &desired);
    let has_writes = !writes.updates.is_empty();
    let inserts = !writes.inserts.is_empty();
    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(WriterLog::default());
    let writer = start_writer(&db, writes, stop.clone(), log.clone());
    wrote_since(&log, has_writes, 0).await;
    let mut result = Ok(());
    for phase in &plan.phases {
        let mark = log.writes.load(Ordering::Relaxed);
        result = rollout.apply(phase.name).await;
        if result.is_err() {
            break;
        }
        result = rollout.verify_passes(phase.name.as_str()).await;
        if result.is_err() {
            break;
        }
        wrote_since(&log, has_writes, mark).await;
    }
    stop.store(true, Ordering::Relaxed);
    writer.await.map_err(|e| format!("the writer panicked: {e}"))?;
    let rendered = planner::render_human(&plan);
    result.map_err(|e| format!("{e}\n{rendered}"))?;
    let errors = log.errors.lock().unwrap().clone();
    if !errors.is_empty() {
        let mut shown: Vec<&String> = Vec::new();
        for e in &errors {
            if !shown.iter().any(|s| s.split(" in `").next() == e.split(" in `").next()) && shown.len() < 5 {
                shown.push(e);
            }
        }
        let shown: Vec<&str> = shown.iter().map(|s| s.as_str()).collect();
        return Err(format!(
            "the concurrent writer saw {} error(s) during the rollout, among them:\n{}\n{rendered}",
            errors.len(),
            shown.join("\n")
        ));
    }

    let reached = common::read(&db).await?;
    let remaining = cutover_plan::diff(&reached, &desired, &options.diff);
    if !remaining.is_empty() {
        return Err(format!("no convergence: the diff is still\n{}\n{rendered}", remaining.to_sql()));
    }

    let mut kinds = broken_postconditions(&rollout, &plan, &reached).await.map_err(|e| format!("{e}\n{rendered}"))?;
    if plan.phases.iter().any(|p| p.name == PhaseName::Backfill) {
        let fresh = common::db_with(&format!("{}\n{}", s.before, s.data), "before + data").await?;
        let again = Rollout { db: &fresh, plan_path: rollout.plan_path.clone() };
        backfill_nulled(&again, &plan).await.map_err(|e| format!("{e}\n{rendered}"))?;
        kinds.insert("backfill");
    }
    if has_writes {
        kinds.insert("writer: updates");
    }
    if inserts {
        kinds.insert("writer: inserts");
    }
    Ok(Some(kinds))
}

/// A way to break a postcondition that holds: the statement, the start of the detail verify
/// must then give, and its rank: 0 changes a property, 1 drops one object, 2 drops one with
/// CASCADE (a dropped column takes its indexes and defaults with it, a dropped function its
/// triggers), so each break runs while what it breaks is still there (drops say IF EXISTS
/// for an object an earlier CASCADE took: verify must still report it missing).
fn breaker(p: &Postcondition) -> Option<(String, &'static str, u8)> {
    let t = |table: &QualName| qualified(table);
    let alter_column = |table: &QualName, column: &str, action: &str| {
        format!("ALTER TABLE {} ALTER COLUMN {} {action}", t(table), ident(column))
    };
    Some(match p {
        Postcondition::Index { index, exists: true, .. } => (
            format!(
                "UPDATE pg_catalog.pg_index SET indisvalid = false WHERE indexrelid = {}::regclass",
                literal(&qualified(index))
            ),
            "INVALID (pg_index.indisvalid is false",
            0,
        ),
        Postcondition::Column { table, column, exists: true, not_null: Some(true) } => {
            (alter_column(table, column, "DROP NOT NULL"), "NOT NULL is not set: the column accepts NULLs", 0)
        }
        Postcondition::Constraint { table, name, exists: true, validated: Some(true) } => (
            format!(
                "UPDATE pg_catalog.pg_constraint SET convalidated = false WHERE conrelid = {}::regclass AND conname = {}",
                literal(&qualified(table)),
                literal(name)
            ),
            "NOT VALID: existing rows were never checked",
            0,
        ),
        Postcondition::EnumLabels { name, labels } => {
            let last = labels.last()?;
            (
                format!(
                    "ALTER TYPE {} RENAME VALUE {} TO {}",
                    t(name),
                    literal(last),
                    literal(&format!("{last}_gone"))
                ),
                "lacks the label",
                0,
            )
        }
        Postcondition::RowSecurity { table, enabled: true } => (
            format!("ALTER TABLE {} DISABLE ROW LEVEL SECURITY", t(table)),
            "row-level security is not enabled: its policies are not applied",
            0,
        ),
        Postcondition::Default { table, column, default: Some(_) } => {
            (alter_column(table, column, "DROP DEFAULT"), "the column has no default", 0)
        }
        Postcondition::Identity { table, column, always: Some(_) } => {
            (alter_column(table, column, "DROP IDENTITY"), "the column is not an identity column", 0)
        }
        Postcondition::Partition { parent, partition, bound: Some(_) } => (
            format!("ALTER TABLE {} DETACH PARTITION {}", t(parent), t(partition)),
            "is not attached: it is a table of its own",
            0,
        ),
        Postcondition::Trigger { table, name, exists: true } => {
            (format!("DROP TRIGGER IF EXISTS {} ON {}", ident(name), t(table)), "missing", 1)
        }
        Postcondition::Column { table, column, exists: true, not_null: None } => {
            (format!("ALTER TABLE {} DROP COLUMN IF EXISTS {} CASCADE", t(table), ident(column)), "missing", 2)
        }
        Postcondition::View { view, materialized, exists: true } => (
            format!("DROP {}VIEW IF EXISTS {} CASCADE", if *materialized { "MATERIALIZED " } else { "" }, t(view)),
            "missing",
            2,
        ),
        Postcondition::Routine { routine, exists: true } => (
            // The identity arguments as the server printed them, emitted whole.
            format!("DROP ROUTINE IF EXISTS {}({}) CASCADE", t(&routine.name), routine.identity_args),
            "missing",
            2,
        ),
        Postcondition::Sequence { sequence, exists: true } => {
            (format!("DROP SEQUENCE IF EXISTS {} CASCADE", t(sequence)), "missing", 2)
        }
        Postcondition::Policy { table, name, exists: true } => {
            (format!("DROP POLICY IF EXISTS {} ON {}", ident(name), t(table)), "missing", 1)
        }
        Postcondition::Statistics { statistics, exists: true } => {
            (format!("DROP STATISTICS IF EXISTS {}", t(statistics)), "missing", 1)
        }
        _ => return None,
    })
}

/// Breaks each postcondition of the whole plan that has a breaker, one after the other (the
/// ones that change no structure first), and checks that verify fails on each.
async fn broken_postconditions(
    rollout: &Rollout<'_>,
    plan: &Plan,
    reached: &Catalog,
) -> Result<BTreeSet<&'static str>, String> {
    let all: Vec<PhaseName> = plan.phases.iter().map(|p| p.name).collect();
    // PostgreSQL keeps NOT NULL on a primary key's and on an identity column: no statement
    // breaks that one.
    let unbreakable = |p: &Postcondition| match p {
        Postcondition::Column { table, column, not_null: Some(true), .. } => {
            reached.tables.get(table).is_some_and(|t| {
                t.column(column).is_some_and(|c| c.identity.is_some())
                    || t.constraints
                        .values()
                        .any(|k| k.kind == ConstraintKind::PrimaryKey && k.columns.contains(column))
            })
        }
        _ => false,
    };
    let mut breaks: Vec<(Check, String, &'static str, u8)> = checks(plan, &all)
        .into_iter()
        .filter_map(|c| match &c {
            Check::Post(p) if unbreakable(p) => None,
            Check::Post(p) => breaker(p).map(|(sql, detail, rank)| (c.clone(), sql, detail, rank)),
            Check::RowCount(_) => None,
        })
        .collect();
    breaks.sort_by_key(|(_, _, _, rank)| *rank);
    let client = rollout.db.connect().await;
    let mut kinds = BTreeSet::new();
    for (check, sql, detail, _) in breaks {
        client.batch_execute(&sql).await.map_err(|e| {
            format!("breaking `{}` with `{sql}`: {}", check.name(), cutover_db_postgres::error_text(&e))
        })?;
        let (code, text) = rollout.verify().await;
        let line = format!("✗ {}: {detail}", check.name());
        if code != Some(1) || !text.lines().any(|l| l.starts_with(&line)) {
            return Err(format!("after `{sql}`, verify exited {code:?} without `{line}`:\n{text}"));
        }
        kinds.insert(check.kind());
    }
    Ok(kinds)
}

/// Rolls the plan out up to its backfill phase, NULLs one backfilled value with triggers off
/// (the sync trigger would fill it again), and checks that verify names that row.
async fn backfill_nulled(rollout: &Rollout<'_>, plan: &Plan) -> Result<(), String> {
    let mut done = Vec::new();
    for phase in &plan.phases {
        rollout.apply(phase.name).await?;
        done.push(phase.name);
        if phase.name == PhaseName::Backfill {
            break;
        }
    }
    rollout.verify_passes("backfill, before breaking it").await?;
    let client = rollout.db.connect().await;
    for check in checks(plan, &done) {
        let Check::Post(Postcondition::Filled { table, column, source }) = &check else { continue };
        let keys = client
            .query(cutover_sql::verify::PRIMARY_KEY, &[&table.schema, &table.name])
            .await
            .map_err(|e| e.to_string())?;
        let key: Vec<String> = keys.iter().map(|r| r.get(0)).collect();
        let t = qualified(table);
        let condition = source.as_ref().map(|s| format!(" WHERE {} IS NOT NULL", ident(s))).unwrap_or_default();
        // The row NULLed: the first in key order (verify names it), or any row of a table
        // without a primary key (verify names none).
        let keys = key.iter().map(|k| ident(k)).collect::<Vec<_>>().join(", ");
        let (row, order) = match key.is_empty() {
            true => ("ctid".to_string(), String::new()),
            false => (format!("ROW({keys})"), format!(" ORDER BY {keys}")),
        };
        let first = client
            .query_opt(&format!("SELECT ({row})::text FROM {t}{condition}{order} LIMIT 1"), &[])
            .await
            .map_err(|e| cutover_db_postgres::error_text(&e))?;
        let Some(first) = first else { continue };
        let first: String = first.get(0);
        client
            .batch_execute(&format!(
                "SET session_replication_role = replica; UPDATE {t} SET {} = NULL WHERE ({row})::text = {}; RESET session_replication_role",
                ident(column),
                literal(&first)
            ))
            .await
            .map_err(|e| format!("NULLing {}: {}", check.name(), cutover_db_postgres::error_text(&e)))?;
        let at = if key.is_empty() { String::new() } else { format!(", the first at key {first}") };
        let (code, text) = rollout.verify().await;
        let where_ = source.as_ref().map(|s| format!(" where {s} is not NULL")).unwrap_or_default();
        let line = format!("✗ {}: 1 row still NULL{where_}{at}", check.name());
        if code != Some(1) || !text.lines().any(|l| l == line) {
            return Err(format!("with one backfilled value NULLed, verify exited {code:?} without `{line}`:\n{text}"));
        }
        return Ok(());
    }
    Err("the plan has a backfill phase but no backfilled row to break".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_recipe_rolls_out_under_concurrent_writes_and_verify_catches_breakage() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios/plan");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenario directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    // ROLLOUT_SCENARIO=name runs the scenarios whose name contains it (while working on one).
    let only = std::env::var("ROLLOUT_SCENARIO").ok();
    if let Some(only) = &only {
        paths.retain(|p| p.file_stem().is_some_and(|s| s.to_string_lossy().contains(only.as_str())));
    }

    let semaphore = Arc::new(tokio::sync::Semaphore::new(4));
    let mut handles = Vec::new();
    for path in paths {
        let permit = semaphore.clone().acquire_owned().await.unwrap();
        handles.push(tokio::spawn(async move {
            let scenario = parse(&path);
            let result = run(&scenario).await;
            drop(permit);
            (scenario.name, result)
        }));
    }
    let (mut rolled_out, mut broken, mut failures) = (0, BTreeSet::new(), Vec::new());
    let (mut updated, mut inserted) = (0, 0);
    for handle in handles {
        match handle.await.expect("scenario task") {
            (name, Ok(Some(kinds))) => {
                rolled_out += 1;
                let writer: Vec<&str> = kinds.iter().filter_map(|k| k.strip_prefix("writer: ")).collect();
                eprintln!("{name}: writer {writer:?}");
                updated += usize::from(writer.contains(&"updates"));
                inserted += usize::from(writer.contains(&"inserts"));
                broken.extend(kinds);
            }
            (_, Ok(None)) => {}
            (name, Err(e)) => failures.push(format!("=== {name} ===\n{e}")),
        }
    }
    assert!(failures.is_empty(), "{} scenario(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
    if only.is_none() {
        assert!(rolled_out > 40, "only {rolled_out} scenarios were rolled out");
        // The writer finds something to write almost everywhere (not in a scenario whose
        // tables are all new, renamed or absent): a drop here means its derivation broke.
        assert!(
            updated * 10 >= rolled_out * 9 && inserted * 10 >= rolled_out * 6,
            "the writer updated in {updated} and inserted in {inserted} of {rolled_out} scenarios"
        );
        // Every kind of postcondition the planner emits was broken somewhere, and verify
        // caught it.
        let expected = [
            "backfill",
            "column",
            "constraint",
            "default",
            "enum",
            "identity",
            "index",
            "partition",
            "policy",
            "routine",
            "row_security",
            "sequence",
            "statistics",
            "trigger",
            "view",
        ];
        let missing: Vec<&str> = expected.iter().copied().filter(|k| !broken.contains(k)).collect();
        assert!(missing.is_empty(), "no scenario broke a check of kind {missing:?} (broke {broken:?})");
    }
}
