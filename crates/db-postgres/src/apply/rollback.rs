//! `cutover apply --rollback`: undoes one phase that `apply` ran, step by step, resumably.
//!
//! The steps of the phase that ran are undone in reverse order, each by its `rollback_sql`
//! run as the step itself ran (inside a transaction when the step is transactional, alone
//! outside one otherwise: the planner writes each rollback to run the way its step does, a
//! `CREATE INDEX CONCURRENTLY` undone by a `DROP INDEX CONCURRENTLY`), under the step's
//! timeouts and apply's lock-timeout retries ([`Runner::retried`]). After each one the step is
//! recorded `pending` again, in the same transaction when there is one, so the next `apply`
//! runs it again and a rollback that dies midway is resumed by running it again: pending steps
//! are skipped, and a step undone outside a transaction whose record was lost is undone again
//! (the planner's rollbacks outside a transaction are `IF EXISTS`), or recognised from the
//! catalog when the plan records the step's effect.
//!
//! A rollback holds the runner lock like apply, and is a run in `cutover.runs` whose phases
//! are `{rollback:PHASE}`. Nothing is run when any step cannot be undone, nor while a later
//! phase has steps that ran.

use super::{
    APPLICATION_NAME, ApplyError, Config, Event, Found, PlanFile, Position, Record, Report, Runner, Session, State,
    States, Stop, check_version, connect, describe_blockers, effect_state, holders, lost, read_states, register,
    select, state_exists,
};
use crate::Error;
use crate::connect::Target;
use crate::execute::first_line;
use cutover_plan::hazard::HazardCode;
use cutover_plan::planner::{Effect, Phase, PhaseName, Plan, Step};
use cutover_sql::apply as sql;
use std::time::{Duration, Instant};
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

/// Why a rollback records a step pending without running anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unapplied {
    /// The step runs in a transaction and failed, or its runner died: the transaction rolled
    /// back, so nothing of it is in the database.
    RolledBack,
    /// The step runs outside a transaction and the catalog does not show its change: it never
    /// happened, or an earlier rollback undid it and died before recording so.
    NotInCatalog,
    /// The plan gives the step no rollback, and it removes and breaks nothing (a comment, a
    /// validated constraint): the plan's "nothing to undo".
    NothingToUndo,
}

/// What rolling back one step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undo<'p> {
    /// The step is pending (never run, or rolled back already): skipped.
    Skip,
    /// Runs the step's rollback statement, then records the step pending.
    Run(&'p str),
    /// Records the step pending; nothing runs.
    Reset(Unapplied),
    /// A backfill step: deletes the backfill engine's state of the step (`cutover.backfills`)
    /// and records the step pending. The values it wrote stay in the column.
    ResetBackfill,
}

/// What a dry run of a rollback found.
#[derive(Debug)]
pub struct RollbackDryRun<'p> {
    /// Whether the cutover schema exists (when not, every step is pending).
    pub state_exists: bool,
    /// The runner lock's holders: a run in progress.
    pub running: Vec<Session>,
    /// The phase's number in the plan (1-based).
    pub number: usize,
    pub phase: &'p Phase,
    /// Each step of the phase, in plan order: its state, and what the rollback does with it
    /// or why it cannot (a clause).
    pub steps: Vec<(State, Result<Undo<'p>, String>)>,
    /// Why the rollback would refuse, if it would.
    pub refusal: Option<String>,
}

/// Rolls back `phase` of the plan (see the module's documentation). `config.phases` and
/// `config.backfill` are not read.
pub async fn rollback(
    target: &Target,
    plan: PlanFile<'_>,
    config: &Config,
    phase: PhaseName,
    progress: &mut (dyn FnMut(Event<'_>) + Send),
) -> Result<Report, ApplyError> {
    let started = Instant::now();
    let phase = select(plan.plan, &[phase])?[0];
    let client = connect(target, APPLICATION_NAME).await?;
    check_version(&client, plan.plan).await?;
    let locked: bool = client
        .query_one(sql::TRY_LOCK, &[&sql::RUNNER_LOCK_KEY])
        .await
        .map_err(|e| Error::query("taking the runner lock", e))?
        .get(0);
    if !locked {
        return Err(ApplyError::Busy(holders(&client).await?));
    }
    let states = if state_exists(&client).await? { read_states(&client, plan.checksum).await? } else { States::new() };
    let undos = prepare(&client, phase, &states).await?;
    if let Some(refusal) = refusal(plan.plan, phase, &states, &undos) {
        let _ = client.query_one(sql::UNLOCK, &[&sql::RUNNER_LOCK_KEY]).await;
        return Err(ApplyError::Refused(refusal));
    }
    register(&client, plan).await?;
    let q = |what: &'static str| move |e| Error::query(what, e);
    let names = [run_name(phase.name)];
    let run_id: i64 = client
        .query_one(sql::INSERT_RUN, &[&plan.checksum, &&names[..], &config.client_host, &config.cutover_version])
        .await
        .map_err(q("recording the run in cutover.runs"))?
        .get(0);
    client.execute(sql::MARK_INTERRUPTED, &[&run_id]).await.map_err(q("marking dead runs interrupted"))?;
    let pid: i32 =
        client.query_one("SELECT pg_catalog.pg_backend_pid()", &[]).await.map_err(q("reading the backend pid"))?.get(0);
    let observer = connect(target, "cutover apply (observer)").await?;
    let runner = Runner { client: &client, observer: &observer, pid, checksum: plan.checksum, run_id, config };
    let mut report = Report { run_id, phases: 1, ran: 0, skipped: 0, elapsed: Duration::ZERO };
    let number = plan.plan.phases.iter().position(|p| p.name == phase.name).unwrap_or(0) + 1;
    let mut result = Ok(());
    for (i, (step, undo)) in phase.steps.iter().zip(&undos).enumerate().rev() {
        let Ok(undo) = undo else { continue }; // refused above
        let at = Position {
            phase: phase.name,
            phase_number: number,
            phase_count: plan.plan.phases.len(),
            step_number: i + 1,
            step_count: phase.steps.len(),
        };
        let shown = match undo {
            Undo::Run(sql) => sql,
            _ => step.sql.as_str(),
        };
        progress(Event::Step { at, sql: shown });
        let done = match *undo {
            Undo::Skip => {
                progress(Event::NotApplied);
                report.skipped += 1;
                continue;
            }
            Undo::Reset(why) => runner.reset(at, Reset::Step).await.map(|_| progress(Event::Reset(why))),
            Undo::ResetBackfill => runner
                .reset(at, Reset::Backfill)
                .await
                .map(|rows_updated| progress(Event::BackfillReset { rows_updated })),
            Undo::Run(sql) => runner.undo(at, step, sql, progress).await,
        };
        match done {
            Ok(()) => report.ran += 1,
            // Cutover's own bookkeeping around the step lost the session.
            Err(ApplyError::Database(e)) if lost(&client).await => {
                result = Err(ApplyError::ConnectionLost { at, sql: shown.to_string(), error: e.to_string() });
                break;
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    let outcome = if result.is_ok() { "done" } else { "failed" };
    let finished = client.execute(sql::FINISH_RUN, &[&run_id, &outcome]).await.map_err(q("recording the run's end"));
    let _ = client.query_one(sql::UNLOCK, &[&sql::RUNNER_LOCK_KEY]).await;
    result?;
    finished?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Reads what a rollback of `phase` would do: the state of each of its steps and what undoes
/// it. Runs nothing and creates nothing (a read-only session).
pub async fn rollback_dry_run<'p>(
    target: &Target,
    plan: PlanFile<'p>,
    phase: PhaseName,
) -> Result<RollbackDryRun<'p>, ApplyError> {
    let phase = select(plan.plan, &[phase])?[0];
    let client = connect(target, APPLICATION_NAME).await?;
    client
        .batch_execute("SET default_transaction_read_only = on")
        .await
        .map_err(|e| Error::query("starting a read-only session", e))?;
    let version = check_version(&client, plan.plan).await.err().map(|e| e.to_string());
    let exists = state_exists(&client).await?;
    let states = if exists { read_states(&client, plan.checksum).await? } else { States::new() };
    let undos = prepare(&client, phase, &states).await?;
    let refusal = version.or_else(|| refusal(plan.plan, phase, &states, &undos));
    let running = holders(&client).await?;
    let number = plan.plan.phases.iter().position(|p| p.name == phase.name).unwrap_or(0) + 1;
    let steps = (1..=phase.steps.len()).map(|i| state_of(&states, phase.name, i)).zip(undos).collect();
    Ok(RollbackDryRun { state_exists: exists, running, number, phase, steps, refusal })
}

/// `rollback:expand`: the phases of a rollback's row in `cutover.runs`.
pub(super) fn run_name(phase: PhaseName) -> String {
    format!("rollback:{phase}")
}

fn state_of(states: &States, phase: PhaseName, index: usize) -> State {
    states.get(&(phase, index)).map(|s| s.state).unwrap_or(State::Pending)
}

/// What undoes each step of `phase`, in plan order, reading the catalog for the steps outside
/// a transaction whose effect the plan records.
async fn prepare<'p>(
    client: &Client,
    phase: &'p Phase,
    states: &States,
) -> Result<Vec<Result<Undo<'p>, String>>, ApplyError> {
    let mut out = Vec::new();
    for (i, step) in phase.steps.iter().enumerate() {
        let state = state_of(states, phase.name, i + 1);
        let found = match &step.effect {
            Some(effect) if state != State::Pending && step.backfill.is_none() => {
                Some(effect_state(client, effect).await?)
            }
            _ => None,
        };
        out.push(undo(phase.name, step, state, found));
    }
    Ok(out)
}

/// How to roll back one step in `state`, given what the catalog shows of its effect (for a
/// step outside a transaction that records one); `Err` says why it cannot be, as a clause.
fn undo(phase: PhaseName, step: &Step, state: State, found: Option<Found>) -> Result<Undo<'_>, String> {
    if state == State::Pending {
        return Ok(Undo::Skip);
    }
    if step.backfill.is_some() {
        return Ok(Undo::ResetBackfill);
    }
    if step.transactional && state != State::Done {
        return Ok(Undo::Reset(Unapplied::RolledBack));
    }
    match (found, &step.effect) {
        (Some(Found::NotDone), _) => return Ok(Undo::Reset(Unapplied::NotInCatalog)),
        (Some(Found::Interrupted), Some(Effect::DropIndex { index })) => {
            return Err(format!(
                "its drop of {index} was interrupted and left the index INVALID: finish it first with `cutover apply --phase {phase}`"
            ));
        }
        (Some(Found::Interrupted), Some(Effect::DetachPartition { parent, partition })) => {
            return Err(format!(
                "its detach of {partition} from {parent} was interrupted and is still pending: finish it first with `cutover apply --phase {phase}` (it runs FINALIZE)"
            ));
        }
        (_, Some(Effect::AddEnumValue { type_name, value })) => {
            return Err(format!(
                "PostgreSQL cannot remove a value from an enum type, so '{value}' stays in {type_name}"
            ));
        }
        _ => {}
    }
    let has = |code: HazardCode| step.hazards.iter().any(|h| h.code == code);
    match &step.rollback_sql {
        Some(sql) => Ok(Undo::Run(sql)),
        None if has(HazardCode::DataLoss) || has(HazardCode::IndexDropped) => {
            Err("the plan says it cannot be undone (restore from a backup)".to_string())
        }
        None if has(HazardCode::BreaksRunningCode) => {
            Err("the plan gives it no automatic rollback (plan the reverse change from the schema as it is now)"
                .to_string())
        }
        None if step.transactional => Ok(Undo::Reset(Unapplied::NothingToUndo)),
        None => Err("it ran outside a transaction and the plan gives it no rollback".to_string()),
    }
}

/// Why the rollback of `phase` may not run: a later phase has steps that ran, or steps of the
/// phase cannot be undone (each named, with why).
fn refusal(plan: &Plan, phase: &Phase, states: &States, undos: &[Result<Undo<'_>, String>]) -> Option<String> {
    let ran = |p: &Phase| (1..=p.steps.len()).filter(|i| state_of(states, p.name, *i) != State::Pending).count();
    let later: Vec<(&Phase, usize)> =
        plan.phases.iter().rev().filter(|p| p.name > phase.name).map(|p| (p, ran(p))).filter(|(_, n)| *n > 0).collect();
    match later.as_slice() {
        [] => {}
        [(p, n)] => {
            return Some(format!(
                "the {} phase comes after {} and {n} of its {} steps ran (done, running or failed): roll it back first (cutover apply --rollback --phase {})",
                p.name,
                phase.name,
                p.steps.len(),
                p.name
            ));
        }
        many => {
            let names: Vec<&str> = many.iter().map(|(p, _)| p.name.as_str()).collect();
            return Some(format!(
                "the {} phases come after {} and steps of them ran (done, running or failed): roll them back first, in that order (cutover apply --rollback --phase {})",
                names.join(" and "),
                phase.name,
                names.join(", then --phase ")
            ));
        }
    }
    let count = phase.steps.len();
    let clauses: Vec<String> = phase
        .steps
        .iter()
        .zip(undos)
        .enumerate()
        .filter_map(|(i, (step, undo))| {
            let why = undo.as_ref().err()?;
            let state = state_of(states, phase.name, i + 1);
            Some(format!("step {}/{count} (`{}`) is {} and {why}", i + 1, first_line(&step.sql), state.as_str()))
        })
        .collect();
    if clauses.is_empty() {
        return None;
    }
    Some(format!("the {} phase cannot be rolled back: {}", phase.name, clauses.join("; ")))
}

impl Runner<'_> {
    /// Runs a step's rollback statement as the step runs, with apply's lock-timeout retries,
    /// and records the step pending (in the statement's transaction when it has one). A
    /// failure leaves the step's state as it was, with the error.
    async fn undo(
        &self,
        at: Position,
        step: &Step,
        rollback_sql: &str,
        progress: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<(), ApplyError> {
        let started = Instant::now();
        let phase = at.phase.as_str();
        let index = at.step_number as i32;
        let pending: [&(dyn ToSql + Sync); 4] = [&self.checksum, &phase, &index, &self.run_id];
        let undo = Step {
            sql: rollback_sql.to_string(),
            backfill: None,
            builds_index: None,
            effect: None,
            postconditions: Vec::new(),
            app_changes: Vec::new(),
            ..step.clone()
        };
        let record =
            Record { start: None, finish: (sql::ROLLBACK_STEP, &pending), finished: "recording the step pending" };
        let error = match self.retried(at, &undo, &record, progress).await {
            Ok(_) => {
                progress(Event::Done { elapsed: started.elapsed(), rows: 0, batches: 0, backfill: false });
                return Ok(());
            }
            Err(Stop::Gave(e)) => return Err(e),
            Err(Stop::Lost(e)) => return Err(ApplyError::ConnectionLost { at, sql: undo.sql, error: e.message }),
            Err(Stop::Locked { tries, lock_timeout_ms, blockers, .. }) => format!(
                "it could not get its locks in {tries} tries (lock_timeout up to {lock_timeout_ms} ms): {}",
                describe_blockers(&blockers)
            ),
            Err(Stop::Failed(e)) => e.message,
        };
        let message = format!("rollback failed: {error}");
        self.client
            .execute(sql::ROLLBACK_FAILED, &[&self.checksum, &phase, &index, &message])
            .await
            .map_err(|e| Error::query("recording the rollback's failure", e))?;
        Err(ApplyError::RollbackFailed { at, sql: undo.sql, error })
    }

    /// Records the step pending without running anything; for a backfill, also deletes the
    /// backfill engine's state of the step in the same transaction and returns the rows it
    /// had changed.
    async fn reset(&self, at: Position, what: Reset) -> Result<u64, ApplyError> {
        let phase = at.phase.as_str();
        let index = at.step_number as i32;
        let key: [&(dyn ToSql + Sync); 3] = [&self.checksum, &phase, &index];
        let q = |what: &'static str| move |e| ApplyError::Database(Error::query(what, e));
        let engine = match what {
            Reset::Backfill => self
                .client
                .query_one(cutover_sql::backfill::STATE_EXISTS, &[])
                .await
                .map_err(q("looking for cutover.backfills"))?
                .get(0),
            Reset::Step => false,
        };
        self.client.batch_execute("BEGIN").await.map_err(q("starting the step's reset"))?;
        let body = async {
            let mut rows = 0;
            if engine {
                let row = self.client.query_opt(sql::RESET_BACKFILL, &key).await?;
                rows = row.map(|r| r.get::<_, i64>(0)).unwrap_or(0);
            }
            self.client.execute(sql::ROLLBACK_STEP, &[&self.checksum, &phase, &index, &self.run_id]).await?;
            self.client.batch_execute("COMMIT").await?;
            Ok(rows)
        };
        match body.await {
            Ok(rows) => Ok(rows.max(0) as u64),
            Err(e) => {
                let _ = self.client.batch_execute("ROLLBACK").await;
                Err(q("recording the step pending")(e))
            }
        }
    }
}

/// What [`Runner::reset`] resets.
enum Reset {
    Step,
    Backfill,
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_plan::hazard::Hazard;
    use cutover_schema::QualName;

    fn step(sql: &str, transactional: bool, rollback: Option<&str>) -> Step {
        Step {
            sql: sql.to_string(),
            transactional,
            locks: Vec::new(),
            rewrites_table: false,
            scans_table: false,
            lock_timeout_ms: 2000,
            statement_timeout_ms: 60000,
            hazards: Vec::new(),
            rollback_sql: rollback.map(str::to_string),
            estimate: None,
            why: String::new(),
            backfill: None,
            builds_index: None,
            effect: None,
            postconditions: Vec::new(),
            app_changes: Vec::new(),
        }
    }

    fn check(s: &Step, state: State, found: Option<Found>) -> Result<Undo<'_>, String> {
        undo(PhaseName::Expand, s, state, found)
    }

    #[test]
    fn pending_steps_are_skipped_and_done_ones_run_their_rollback() {
        let s = step("ALTER TABLE t ADD COLUMN c int", true, Some("ALTER TABLE t DROP COLUMN IF EXISTS c"));
        assert_eq!(check(&s, State::Pending, None), Ok(Undo::Skip));
        assert_eq!(check(&s, State::Done, None), Ok(Undo::Run("ALTER TABLE t DROP COLUMN IF EXISTS c")));
    }

    #[test]
    fn a_failed_transactional_step_left_nothing() {
        let s = step("ALTER TABLE t VALIDATE CONSTRAINT c", true, None);
        assert_eq!(check(&s, State::Failed, None), Ok(Undo::Reset(Unapplied::RolledBack)));
        assert_eq!(check(&s, State::Running, None), Ok(Undo::Reset(Unapplied::RolledBack)));
        assert_eq!(check(&s, State::Done, None), Ok(Undo::Reset(Unapplied::NothingToUndo)));
    }

    #[test]
    fn a_failed_concurrent_build_runs_its_drop() {
        let s = step("CREATE INDEX CONCURRENTLY i ON t (c)", false, Some("DROP INDEX CONCURRENTLY IF EXISTS i"));
        assert_eq!(check(&s, State::Failed, None), Ok(Undo::Run("DROP INDEX CONCURRENTLY IF EXISTS i")));
        let none = step("CREATE INDEX CONCURRENTLY i ON t (c)", false, None);
        assert_eq!(
            check(&none, State::Failed, None),
            Err("it ran outside a transaction and the plan gives it no rollback".to_string())
        );
    }

    #[test]
    fn an_enum_value_cannot_be_removed_unless_it_was_never_added() {
        let mut s = step("ALTER TYPE e ADD VALUE IF NOT EXISTS 'x'", false, None);
        s.effect = Some(Effect::AddEnumValue { type_name: QualName::new("public", "e"), value: "x".into() });
        let refused = Err("PostgreSQL cannot remove a value from an enum type, so 'x' stays in public.e".to_string());
        assert_eq!(check(&s, State::Done, Some(Found::Done)), refused);
        assert_eq!(check(&s, State::Running, Some(Found::Done)), refused);
        assert_eq!(check(&s, State::Running, Some(Found::NotDone)), Ok(Undo::Reset(Unapplied::NotInCatalog)));
    }

    #[test]
    fn an_interrupted_drop_is_finished_by_apply_first() {
        let mut s =
            step("DROP INDEX CONCURRENTLY IF EXISTS public.i", false, Some("CREATE INDEX CONCURRENTLY i ON t (c)"));
        s.effect = Some(Effect::DropIndex { index: QualName::new("public", "i") });
        assert_eq!(check(&s, State::Done, Some(Found::Done)), Ok(Undo::Run("CREATE INDEX CONCURRENTLY i ON t (c)")));
        // Undone by a rollback that died before recording it.
        assert_eq!(check(&s, State::Done, Some(Found::NotDone)), Ok(Undo::Reset(Unapplied::NotInCatalog)));
        assert_eq!(
            check(&s, State::Failed, Some(Found::Interrupted)),
            Err("its drop of public.i was interrupted and left the index INVALID: finish it first with `cutover apply --phase expand`".to_string())
        );
    }

    #[test]
    fn steps_the_plan_cannot_undo_are_refused_with_its_reason() {
        let mut s = step("ALTER TABLE t DROP COLUMN c", true, None);
        s.hazards.push(Hazard::new(HazardCode::DataLoss, "drops c"));
        assert_eq!(
            check(&s, State::Done, None),
            Err("the plan says it cannot be undone (restore from a backup)".into())
        );
        let mut r = step("ALTER TABLE t RENAME COLUMN a TO b", true, None);
        r.hazards.push(Hazard::new(HazardCode::BreaksRunningCode, "renames a"));
        assert!(check(&r, State::Done, None).unwrap_err().starts_with("the plan gives it no automatic rollback"));
    }

    #[test]
    fn a_backfill_is_reset_whatever_its_state() {
        let mut s = step("UPDATE t SET c = 1 WHERE c IS NULL", true, None);
        s.backfill = Some(cutover_plan::planner::Backfill { table: "public.t".into(), batch_size: 100, spec: None });
        assert_eq!(check(&s, State::Done, None), Ok(Undo::ResetBackfill));
        assert_eq!(check(&s, State::Failed, None), Ok(Undo::ResetBackfill));
    }
}
