//! `cutover apply`: runs a plan on a live database, step by step, resumably.
//!
//! The state lives in the target database (`cutover.runs`, `cutover.steps`; the SQL is in
//! `cutover_sql::apply`), keyed by the SHA-256 of the plan file, so a run that dies at any
//! point is resumed by running the same command again: done steps are skipped, a step left
//! `running` by a dead runner is checked and run again. One runner works on a database at a
//! time: it holds a session-level advisory lock for its whole run, so a `running` step seen
//! while holding it belongs to a dead run.
//!
//! A step that times out waiting for a lock (`lock_not_available`) is tried again after a
//! growing wait with jitter, its lock_timeout growing too up to a cap (GitLab's lock-retry
//! approach: short lock waits, many tries, so a busy table is never queued behind for long);
//! while a try waits, a second session samples `pg_blocking_pids` to say who blocked it.
//! Any other error stops the run at once.
//!
//! [`rollback`] undoes one phase with the same runner (see `apply/rollback.rs`).

use crate::Error;
use crate::connect::Target;
use crate::execute::{RunOptions, StepError, first_line, run_step_with};
use cutover_plan::planner::{Effect, Phase, PhaseName, Plan, Step, fingerprint};
use cutover_schema::QualName;
use cutover_sql::apply as sql;
use cutover_sql::ddl::{IfExists, Stmt};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

mod rollback;

pub use rollback::{RollbackDryRun, Unapplied, Undo, rollback, rollback_dry_run};

/// The application_name of the runner's sessions, as other sessions see it.
pub const APPLICATION_NAME: &str = "cutover apply";

/// How lock timeouts are retried.
#[derive(Debug, Clone, PartialEq)]
pub struct LockRetry {
    /// Tries in all, the first included.
    pub tries: u32,
    /// The wait before the second try; each later wait doubles, up to `max_wait`.
    pub first_wait: Duration,
    pub max_wait: Duration,
    /// The lock_timeout doubles with each try up to this many times the step's own.
    pub max_lock_timeout_factor: u64,
}

impl Default for LockRetry {
    fn default() -> Self {
        LockRetry {
            tries: 10,
            first_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(60),
            max_lock_timeout_factor: 4,
        }
    }
}

impl LockRetry {
    /// The lock_timeout of try `n` (1-based).
    pub fn lock_timeout_ms(&self, planned: u64, n: u32) -> u64 {
        let grown = planned.saturating_mul(1u64 << (n - 1).min(20));
        grown.min(planned.saturating_mul(self.max_lock_timeout_factor.max(1)))
    }

    /// The wait after failed try `n` (1-based), before its jitter.
    pub fn wait(&self, n: u32) -> Duration {
        self.first_wait.saturating_mul(1u32 << (n - 1).min(20)).min(self.max_wait)
    }
}

/// What a run is asked to do.
#[derive(Debug, Clone)]
pub struct Config {
    /// The phases to run, in any order (they run in plan order); empty: all of them.
    pub phases: Vec<PhaseName>,
    pub retry: LockRetry,
    /// The host name of the machine running Cutover, for `cutover.runs`.
    pub client_host: Option<String>,
    /// Cutover's version, for `cutover.runs`.
    pub cutover_version: String,
    /// How backfill steps with a spec run (the engine of `cutover backfill`).
    pub backfill: crate::backfill::Options,
}

/// The plan and the checksum of the file it was read from.
#[derive(Debug, Clone, Copy)]
pub struct PlanFile<'a> {
    pub plan: &'a Plan,
    pub checksum: &'a str,
}

/// SHA-256 of a plan file, in hex: the key of its state.
pub fn checksum(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a step is in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub phase: PhaseName,
    /// 1-based, in the plan (not among the selected phases: the same step keeps its number).
    pub phase_number: usize,
    pub phase_count: usize,
    /// 1-based, in its phase.
    pub step_number: usize,
    pub step_count: usize,
}

/// What a run reports as it goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// A step begins (its first try, or the check of what a dead run left).
    Step { at: Position, sql: &'a str },
    /// The step was done by an earlier run.
    AlreadyDone,
    /// A dead or failed run left the index INVALID; it was dropped.
    DroppedInvalidIndex(&'a QualName),
    /// A dead run had built the index; the step counts as done.
    IndexAlreadyBuilt(&'a QualName),
    /// A step outside a transaction that a dead or failed run began is done, as the catalog
    /// shows; it counts as done.
    AlreadyApplied(&'a Effect),
    /// ... or half done: an index left INVALID by an interrupted drop (dropped again), a
    /// detach left pending (finished with `DETACH PARTITION ... FINALIZE`).
    Interrupted(&'a Effect),
    /// The lock_timeout expired; the step is tried again after `wait`.
    LockRetry { tried: u32, tries: u32, lock_timeout_ms: u64, wait: Duration },
    /// What the backfill engine reports while it runs a backfill step (its start, progress
    /// every few batches, waits, a batch retried smaller).
    Backfill(crate::backfill::Event<'a>),
    /// The step is done (a rollback: its rollback statement ran and it is pending again).
    Done { elapsed: Duration, rows: u64, batches: u64, backfill: bool },
    /// A rollback meets a pending step (never run, or rolled back already): skipped.
    NotApplied,
    /// A rollback records the step pending without running anything, for this reason.
    Reset(Unapplied),
    /// A rollback deleted the backfill engine's state of the step (it had changed
    /// `rows_updated` rows, whose values stay) and recorded the step pending.
    BackfillReset { rows_updated: u64 },
}

/// A session that held a lock (the runner lock, or one a step waited for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub pid: i32,
    pub application_name: String,
    /// User (holders) or state (blockers).
    pub detail: String,
    pub client: String,
    /// Connected since (holders), or the query it runs or last ran (blockers).
    pub what: String,
}

/// How a run that did not finish ended.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Another runner holds the runner lock.
    #[error(
        "another runner is applying a plan to this database: {}; wait for it to finish, or stop it",
        describe_holders(.0)
    )]
    Busy(Vec<Session>),
    /// The plan may not run here, or not these phases (exit 2).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Database(#[from] Error),
    /// A step failed; its state says failed (exit 1).
    #[error("{}", describe_failure(.at, .error, .sql))]
    StepFailed { at: Position, sql: String, error: String },
    /// The session was lost while a step ran (a server restart, a terminated backend): the
    /// step's state is kept, and the next run resumes it (exit 2, as a connection error).
    #[error(
        "{}: the connection to the database was lost while `{}` ran ({error}); cutover.steps keeps the step's state: run the same command again to resume from it",
        place(.at),
        first_line(.sql)
    )]
    ConnectionLost { at: Position, sql: String, error: String },
    /// A rollback statement failed or kept waiting for its locks (exit 1); the step keeps
    /// its state, and running the rollback again resumes it.
    #[error(
        "{}: the rollback `{}` failed: {error}; cutover.steps keeps the step as it was: fix the cause and run the same command again to resume the rollback",
        place(.at),
        first_line(.sql)
    )]
    RollbackFailed { at: Position, sql: String, error: String },
    /// The lock_timeout kept expiring (exit 1).
    #[error("{}", describe_lock_failure(.at, .sql, *.tries, *.lock_timeout_ms, .blockers))]
    LockNotAvailable { at: Position, sql: String, tries: u32, lock_timeout_ms: u64, blockers: Vec<Session> },
}

impl ApplyError {
    /// A step did not succeed (as opposed to a run refused before running anything).
    pub fn is_step_failure(&self) -> bool {
        matches!(
            self,
            ApplyError::StepFailed { .. } | ApplyError::LockNotAvailable { .. } | ApplyError::RollbackFailed { .. }
        )
    }
}

fn place(at: &Position) -> String {
    format!("phase {}/{} {}, step {}/{}", at.phase_number, at.phase_count, at.phase, at.step_number, at.step_count)
}

fn describe_failure(at: &Position, error: &str, sql: &str) -> String {
    format!(
        "{} failed: `{}`: {error}; cutover.steps marks it failed: fix the cause and run the same command again to resume from it",
        place(at),
        first_line(sql)
    )
}

fn describe_lock_failure(at: &Position, sql: &str, tries: u32, lock_timeout_ms: u64, blockers: &[Session]) -> String {
    format!(
        "{}: `{}` could not get its locks in {tries} tries (lock_timeout up to {lock_timeout_ms} ms): {}; cutover.steps marks it failed: run again when the table is less busy",
        place(at),
        first_line(sql),
        describe_blockers(blockers)
    )
}

/// Who blocked a step that waited for its locks, as one clause.
fn describe_blockers(blockers: &[Session]) -> String {
    if blockers.is_empty() {
        "the sessions holding the lock were not seen while it waited".to_string()
    } else {
        let list: Vec<String> = blockers
            .iter()
            .map(|b| {
                format!(
                    "pid {} (application_name '{}', {}, client {}) running or last running `{}`",
                    b.pid,
                    b.application_name,
                    b.detail,
                    b.client,
                    first_line(b.what.trim())
                )
            })
            .collect();
        format!("it was blocked by {}", list.join("; "))
    }
}

pub(crate) fn describe_holders(holders: &[Session]) -> String {
    if holders.is_empty() {
        return "its session ended just now; run again".to_string();
    }
    let list: Vec<String> = holders
        .iter()
        .map(|h| {
            format!(
                "pid {} (application_name '{}', user {}, client {}) has held the runner lock since it connected at {}",
                h.pid, h.application_name, h.detail, h.client, h.what
            )
        })
        .collect();
    list.join("; ")
}

/// The state of a step in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Pending,
    Running,
    Done,
    Failed,
}

impl State {
    fn parse(text: &str) -> State {
        match text {
            "running" => State::Running,
            "done" => State::Done,
            "failed" => State::Failed,
            _ => State::Pending,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::Done => "done",
            State::Failed => "failed",
        }
    }
}

/// What the database says about one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepState {
    pub state: State,
    pub attempts: i32,
    pub error: String,
}

type States = BTreeMap<(PhaseName, usize), StepState>;

/// The phases to run, in plan order, after checking the plan may run at all.
fn select<'p>(plan: &'p Plan, phases: &[PhaseName]) -> Result<Vec<&'p Phase>, ApplyError> {
    if plan.version != 1 {
        return Err(ApplyError::Refused(format!(
            "the plan is of version {}; this Cutover reads plans of version 1",
            plan.version
        )));
    }
    if !plan.blockers.is_empty() {
        return Err(ApplyError::Refused(format!(
            "the plan has {} blocker(s) (changes it will not make safely); nothing of it may be applied: plan again",
            plan.blockers.len()
        )));
    }
    for name in phases {
        if plan.phase(*name).is_none() {
            let present: Vec<&str> = plan.phases.iter().map(|p| p.name.as_str()).collect();
            return Err(ApplyError::Refused(format!(
                "the plan has no {name} phase (it has: {})",
                if present.is_empty() { "none".to_string() } else { present.join(", ") }
            )));
        }
    }
    Ok(plan.phases.iter().filter(|p| phases.is_empty() || phases.contains(&p.name)).collect())
}

/// Refuses a phase whose earlier phases are neither done nor selected.
fn check_order(plan: &Plan, selected: &[&Phase], states: &States) -> Result<(), ApplyError> {
    let Some(last) = selected.last() else { return Ok(()) };
    for phase in plan.phases.iter().take_while(|p| p.name < last.name) {
        if selected.iter().any(|s| s.name == phase.name) {
            continue;
        }
        let done = (1..=phase.steps.len())
            .filter(|i| states.get(&(phase.name, *i)).is_some_and(|s| s.state == State::Done))
            .count();
        if done < phase.steps.len() {
            let later: Vec<&str> = selected.iter().filter(|s| s.name > phase.name).map(|s| s.name.as_str()).collect();
            return Err(ApplyError::Refused(format!(
                "the {} phase must be done before {}, and {done} of its {} steps are: run it first, or select it too (--phase {})",
                phase.name,
                later.join(" and "),
                phase.steps.len(),
                phase.name
            )));
        }
    }
    Ok(())
}

/// The plan's server version against the database's: lock behaviour differs by major version.
async fn check_version(client: &Client, plan: &Plan) -> Result<(), ApplyError> {
    let found: i32 = client
        .query_one("SELECT pg_catalog.current_setting('server_version_num')::int", &[])
        .await
        .map_err(|e| Error::query("reading the server version", e))?
        .get(0);
    let (planned, found) = (plan.server_version_num / 10000, found as u32 / 10000);
    if planned != found {
        return Err(ApplyError::Refused(format!(
            "the plan was made for PostgreSQL {planned} and this database runs PostgreSQL {found}: lock behaviour differs between versions, so plan again for this one"
        )));
    }
    Ok(())
}

/// Refuses a database whose tables differ from what the plan was made against. Checked
/// only before the plan's first step: from then on the plan itself changes those tables.
async fn check_drift(client: &Client, plan: &Plan, states: &States) -> Result<(), ApplyError> {
    if plan.relations.is_empty() || states.values().any(|s| s.state != State::Pending) {
        return Ok(());
    }
    let catalog = crate::introspect::introspect(client, &crate::introspect::IntrospectOptions::default()).await?;
    let found: BTreeMap<String, _> = catalog
        .tables
        .iter()
        .map(|(name, table)| (cutover_sql::quote::qualified(name), fingerprint::of(table)))
        .collect();
    let mut changes = Vec::new();
    for (name, planned) in &plan.relations {
        match found.get(name) {
            None => changes.push(format!("{name} no longer exists")),
            Some(now) => {
                let parts = fingerprint::differences(planned, now);
                if !parts.is_empty() {
                    changes.push(format!("the {} of {name} changed", parts.join(" and ")));
                }
            }
        }
    }
    if changes.is_empty() {
        return Ok(());
    }
    Err(ApplyError::Refused(format!(
        "the database has changed since the plan was made: {}; plan again against the database as it is now",
        changes.join("; ")
    )))
}

async fn connect(target: &Target, role: &str) -> Result<Client, Error> {
    let mut target = target.clone();
    target.config.application_name(role);
    target.connect().await
}

pub(crate) async fn holders(client: &Client) -> Result<Vec<Session>, Error> {
    let rows = client
        .query(sql::LOCK_HOLDERS, &[&sql::RUNNER_LOCK_KEY])
        .await
        .map_err(|e| Error::query("finding who holds the runner lock", e))?;
    Ok(rows
        .iter()
        .map(|r| Session {
            pid: r.get(0),
            application_name: r.get::<_, Option<String>>(1).unwrap_or_default(),
            detail: r.get::<_, Option<String>>(2).unwrap_or_default(),
            client: r.get(3),
            what: r.get(4),
        })
        .collect())
}

async fn blockers(client: &Client, pid: i32) -> Result<Vec<Session>, tokio_postgres::Error> {
    let rows = client.query(sql::BLOCKERS, &[&pid]).await?;
    Ok(rows
        .iter()
        .map(|r| Session {
            pid: r.get(0),
            application_name: r.get::<_, Option<String>>(1).unwrap_or_default(),
            detail: r.get(2),
            client: r.get(3),
            what: r.get(4),
        })
        .collect())
}

async fn read_states(client: &Client, checksum: &str) -> Result<States, Error> {
    let rows =
        client.query(sql::STEP_STATES, &[&checksum]).await.map_err(|e| Error::query("reading cutover.steps", e))?;
    let mut states = States::new();
    for row in rows {
        let Some(phase) = PhaseName::parse(row.get(0)) else { continue };
        let index: i32 = row.get(1);
        states.insert(
            (phase, index as usize),
            StepState { state: State::parse(row.get(2)), attempts: row.get(3), error: row.get(4) },
        );
    }
    Ok(states)
}

async fn state_exists(client: &Client) -> Result<bool, Error> {
    Ok(client
        .query_one(sql::STATE_EXISTS, &[])
        .await
        .map_err(|e| Error::query("looking for the cutover schema", e))?
        .get(0))
}

async fn create_state(client: &Client) -> Result<(), Error> {
    crate::state::create_once(client, "the cutover schema", sql::STATE_EXISTS, &sql::create_state()).await
}

/// Creates the state when missing, records every step of the plan (as pending when new),
/// and reads their states.
async fn register(client: &Client, plan: PlanFile<'_>) -> Result<States, Error> {
    create_state(client).await?;
    for phase in &plan.plan.phases {
        for (i, step) in phase.steps.iter().enumerate() {
            let index = (i + 1) as i32;
            client
                .execute(
                    sql::REGISTER_STEP,
                    &[&plan.checksum, &phase.name.as_str(), &index, &checksum(step.sql.as_bytes()), &step.sql],
                )
                .await
                .map_err(|e| Error::query("recording the plan's steps in cutover.steps", e))?;
        }
    }
    read_states(client, plan.checksum).await
}

/// What a dry run found.
#[derive(Debug)]
pub struct DryRun<'p> {
    /// Whether the cutover schema exists (when not, every step is pending).
    pub state_exists: bool,
    /// The runner lock's holders: a run in progress.
    pub running: Vec<Session>,
    /// The selected phases with their number in the plan, and their steps' states.
    pub phases: Vec<(usize, &'p Phase, Vec<State>)>,
    /// Why `apply` would refuse, if it would.
    pub refusal: Option<String>,
}

/// Reads what `apply` would do: the state of every selected step. Runs nothing and creates
/// nothing; the state is read only when the cutover schema exists.
pub async fn dry_run<'p>(target: &Target, plan: PlanFile<'p>, phases: &[PhaseName]) -> Result<DryRun<'p>, ApplyError> {
    let selected = select(plan.plan, phases)?;
    let client = connect(target, APPLICATION_NAME).await?;
    client
        .batch_execute("SET default_transaction_read_only = on")
        .await
        .map_err(|e| Error::query("starting a read-only session", e))?;
    let mut refusal = check_version(&client, plan.plan).await.err().map(|e| e.to_string());
    let exists = state_exists(&client).await?;
    let states = if exists { read_states(&client, plan.checksum).await? } else { States::new() };
    if refusal.is_none() {
        refusal = check_order(plan.plan, &selected, &states).err().map(|e| e.to_string());
    }
    if refusal.is_none() {
        refusal = check_drift(&client, plan.plan, &states).await.err().map(|e| e.to_string());
    }
    let running = holders(&client).await?;
    let phases = selected
        .into_iter()
        .map(|p| {
            let states = (1..=p.steps.len())
                .map(|i| states.get(&(p.name, i)).map(|s| s.state).unwrap_or(State::Pending))
                .collect();
            let number = plan.plan.phases.iter().position(|q| q.name == p.name).unwrap_or(0) + 1;
            (number, p, states)
        })
        .collect();
    Ok(DryRun { state_exists: exists, running, phases, refusal })
}

/// How a finished run went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub run_id: i64,
    pub phases: usize,
    pub ran: usize,
    pub skipped: usize,
    pub elapsed: Duration,
}

/// Runs the selected phases of the plan, resuming where earlier runs stopped.
pub async fn apply(
    target: &Target,
    plan: PlanFile<'_>,
    config: &Config,
    progress: &mut (dyn FnMut(Event<'_>) + Send),
) -> Result<Report, ApplyError> {
    let started = Instant::now();
    let selected = select(plan.plan, &config.phases)?;
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
    let earlier = if state_exists(&client).await? { read_states(&client, plan.checksum).await? } else { States::new() };
    check_drift(&client, plan.plan, &earlier).await?;
    let states = register(&client, plan).await?;
    let q = |what: &'static str| move |e| Error::query(what, e);
    check_order(plan.plan, &selected, &states)?;
    let names: Vec<&str> = selected.iter().map(|p| p.name.as_str()).collect();
    let run_id: i64 = client
        .query_one(sql::INSERT_RUN, &[&plan.checksum, &names, &config.client_host, &config.cutover_version])
        .await
        .map_err(q("recording the run in cutover.runs"))?
        .get(0);
    client.execute(sql::MARK_INTERRUPTED, &[&run_id]).await.map_err(q("marking dead runs interrupted"))?;
    let pid: i32 =
        client.query_one("SELECT pg_catalog.pg_backend_pid()", &[]).await.map_err(q("reading the backend pid"))?.get(0);
    let observer = connect(target, "cutover apply (observer)").await?;
    let runner = Runner { client: &client, observer: &observer, pid, checksum: plan.checksum, run_id, config };
    let mut report = Report { run_id, phases: selected.len(), ran: 0, skipped: 0, elapsed: Duration::ZERO };
    let mut result = Ok(());
    'phases: for phase in &selected {
        let number = plan.plan.phases.iter().position(|p| p.name == phase.name).unwrap_or(0) + 1;
        for (i, step) in phase.steps.iter().enumerate() {
            let at = Position {
                phase: phase.name,
                phase_number: number,
                phase_count: plan.plan.phases.len(),
                step_number: i + 1,
                step_count: phase.steps.len(),
            };
            progress(Event::Step { at, sql: &step.sql });
            let state = states.get(&(phase.name, i + 1)).map(|s| s.state).unwrap_or(State::Pending);
            if state == State::Done {
                progress(Event::AlreadyDone);
                report.skipped += 1;
                continue;
            }
            match runner.run(at, step, state, progress).await {
                Ok(()) => report.ran += 1,
                // Cutover's own bookkeeping around the step lost the session.
                Err(ApplyError::Database(e)) if lost(&client).await => {
                    result = Err(ApplyError::ConnectionLost { at, sql: step.sql.clone(), error: e.to_string() });
                    break 'phases;
                }
                Err(e) => {
                    result = Err(e);
                    break 'phases;
                }
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

struct Runner<'a> {
    client: &'a Client,
    observer: &'a Client,
    pid: i32,
    checksum: &'a str,
    run_id: i64,
    config: &'a Config,
}

impl Runner<'_> {
    async fn run(
        &self,
        at: Position,
        step: &Step,
        state: State,
        progress: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<(), ApplyError> {
        let started = Instant::now();
        let phase = at.phase.as_str();
        let index = at.step_number as i32;
        let key: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&self.checksum, &phase, &index];
        let q = |what: &'static str| move |e| ApplyError::Database(Error::query(what, e));
        // A CREATE INDEX CONCURRENTLY that failed, or whose runner died, leaves its index
        // behind: INVALID when the build did not finish (drop it and build again), valid when
        // only the record of success was lost.
        if let (Some(index_name), State::Running | State::Failed) = (&step.builds_index, state) {
            match self.index_valid(index_name).await? {
                Some(true) => {
                    self.client.execute(sql::FINISH_STEP, &key).await.map_err(q("recording the step done"))?;
                    progress(Event::IndexAlreadyBuilt(index_name));
                    progress(Event::Done { elapsed: started.elapsed(), rows: 0, batches: 0, backfill: false });
                    return Ok(());
                }
                Some(false) => {
                    self.drop_index(step, index_name).await.map_err(|e| self.failed(at, step, e))?;
                    progress(Event::DroppedInvalidIndex(index_name));
                }
                None => {}
            }
        }
        // Any other step outside a transaction: what its dead or failed run left is read
        // from the catalog, so it is neither run twice (which fails: the index is gone, the
        // value exists, the detach is pending) nor taken as done when it is not.
        let mut finalize = None;
        if let (Some(effect), State::Running | State::Failed) = (&step.effect, state) {
            match self.effect_state(effect).await? {
                Found::Done => {
                    self.client.execute(sql::FINISH_STEP, &key).await.map_err(q("recording the step done"))?;
                    progress(Event::AlreadyApplied(effect));
                    progress(Event::Done { elapsed: started.elapsed(), rows: 0, batches: 0, backfill: false });
                    return Ok(());
                }
                Found::Interrupted => {
                    if let Effect::DetachPartition { parent, partition } = effect {
                        finalize = Some(Step {
                            sql: sql::finalize_detach(parent, partition),
                            transactional: false,
                            backfill: None,
                            builds_index: None,
                            effect: None,
                            postconditions: Vec::new(),
                            ..step.clone()
                        });
                    }
                    progress(Event::Interrupted(effect));
                }
                Found::NotDone => {}
            }
        }
        let step = finalize.as_ref().unwrap_or(step);
        if let Some(spec) = step.backfill.as_ref().and_then(|b| b.spec.as_ref()) {
            return self.backfill(at, step, spec, started, progress).await;
        }
        let mut start = key.to_vec();
        start.push(&self.run_id);
        let record = Record {
            start: Some((sql::START_STEP, &start)),
            finish: (sql::FINISH_STEP, &key),
            finished: "recording the step done",
        };
        match self.retried(at, step, &record, progress).await {
            Ok(outcome) => {
                progress(Event::Done {
                    elapsed: started.elapsed(),
                    rows: outcome.rows,
                    batches: outcome.batches,
                    backfill: step.backfill.is_some(),
                });
                Ok(())
            }
            Err(Stop::Gave(e)) => Err(e),
            Err(Stop::Locked { tries, lock_timeout_ms, blockers, error }) => {
                let message = format!("lock_timeout expired in {tries} tries: {}", error.message);
                let mut fail = key.to_vec();
                fail.push(&message);
                self.client.execute(sql::FAIL_STEP, &fail).await.map_err(q("recording the step's failure"))?;
                Err(ApplyError::LockNotAvailable { at, sql: step.sql.clone(), tries, lock_timeout_ms, blockers })
            }
            Err(Stop::Lost(e)) => Err(ApplyError::ConnectionLost { at, sql: step.sql.clone(), error: e.message }),
            Err(Stop::Failed(e)) => {
                let message = e.message.clone();
                let mut fail = key.to_vec();
                fail.push(&message);
                self.client.execute(sql::FAIL_STEP, &fail).await.map_err(q("recording the step's failure"))?;
                Err(self.failed(at, step, e))
            }
        }
    }

    /// Runs `step` with the lock-timeout retries of [`LockRetry`], recording what `record`
    /// says: its start before each try, its end inside the step's transaction when it has
    /// one (so both commit together), else right after it. Failures are returned to be
    /// recorded by the caller (apply marks the step failed; a rollback leaves it as it was).
    async fn retried(
        &self,
        at: Position,
        step: &Step,
        record: &Record<'_>,
        progress: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<crate::execute::StepOutcome, Stop> {
        let q = |what: &'static str| move |e| Stop::Gave(ApplyError::Database(Error::query(what, e)));
        let retry = &self.config.retry;
        let tries = retry.tries.max(1);
        let mut seen = Vec::new();
        let mut n = 0;
        loop {
            n += 1;
            let lock_timeout_ms = retry.lock_timeout_ms(step.lock_timeout_ms, n);
            if let Some((start, params)) = record.start {
                self.client.execute(start, params).await.map_err(q("recording the step's start"))?;
            }
            let options = RunOptions { lock_timeout_ms: Some(lock_timeout_ms), in_transaction: Some(record.finish) };
            let (result, blockers) = self.observed(step, &options).await;
            if !blockers.is_empty() {
                seen = blockers;
            }
            match result {
                Ok(outcome) => {
                    if !outcome.recorded {
                        let (finish, params) = record.finish;
                        self.client.execute(finish, params).await.map_err(q(record.finished))?;
                    }
                    return Ok(outcome);
                }
                Err(e) if e.is_lock_timeout() => {
                    // A concurrent build can time out after it created its index (waiting for
                    // older transactions): the next try needs the name free.
                    if let Some(index_name) = &step.builds_index
                        && self.index_valid(index_name).await? == Some(false)
                    {
                        self.drop_index(step, index_name).await.map_err(|e| Stop::Gave(self.failed(at, step, e)))?;
                        progress(Event::DroppedInvalidIndex(index_name));
                    }
                    if n == tries {
                        return Err(Stop::Locked { tries, lock_timeout_ms, blockers: seen, error: e });
                    }
                    let wait = jitter(retry.wait(n));
                    progress(Event::LockRetry { tried: n, tries, lock_timeout_ms, wait });
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(if lost(self.client).await { Stop::Lost(e) } else { Stop::Failed(e) }),
            }
        }
    }

    /// A backfill step with a spec runs on the engine, with its state in `cutover.backfills`
    /// (shared with `cutover backfill`): it resumes where any earlier run of either stopped.
    async fn backfill(
        &self,
        at: Position,
        step: &Step,
        spec: &cutover_plan::planner::BackfillSpec,
        started: Instant,
        progress: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<(), ApplyError> {
        use crate::backfill::{self, Outcome, StepRef};
        let phase = at.phase.as_str();
        let index = at.step_number as i32;
        let key: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&self.checksum, &phase, &index];
        let q = |what: &'static str| move |e| ApplyError::Database(Error::query(what, e));
        let mut start = key.to_vec();
        start.push(&self.run_id);
        self.client.execute(sql::START_STEP, &start).await.map_err(q("recording the step's start"))?;
        let target = StepRef { checksum: self.checksum, phase: at.phase, index: at.step_number, step, spec };
        let mut events = |event: backfill::Event<'_>| progress(Event::Backfill(event));
        let error = match backfill::run(self.client, target, &self.config.backfill, &mut events).await {
            Ok(Outcome::Done(p)) => {
                self.client.execute(sql::FINISH_STEP, &key).await.map_err(q("recording the step done"))?;
                progress(Event::Done {
                    elapsed: started.elapsed(),
                    rows: p.rows_updated,
                    batches: p.batches,
                    backfill: true,
                });
                return Ok(());
            }
            Ok(Outcome::Cancelled(p)) => format!(
                "the backfill was cancelled (cutover backfill cancel) at {} rows; `cutover backfill resume` lets it run again",
                p.rows_done
            ),
            Err(e) if lost(self.client).await => {
                let error = match e {
                    backfill::BackfillError::Batch { message, .. } => message,
                    other => other.to_string(),
                };
                return Err(ApplyError::ConnectionLost { at, sql: step.sql.clone(), error });
            }
            Err(backfill::BackfillError::Database(e)) => return Err(ApplyError::Database(e)),
            Err(e) => e.to_string(),
        };
        let mut fail = key.to_vec();
        fail.push(&error);
        self.client.execute(sql::FAIL_STEP, &fail).await.map_err(q("recording the step's failure"))?;
        Err(ApplyError::StepFailed { at, sql: step.sql.clone(), error })
    }

    fn failed(&self, at: Position, step: &Step, e: StepError) -> ApplyError {
        ApplyError::StepFailed { at, sql: step.sql.clone(), error: e.message }
    }

    /// Runs the step while the observer samples the sessions blocking it.
    async fn observed(
        &self,
        step: &Step,
        options: &RunOptions<'_>,
    ) -> (Result<crate::execute::StepOutcome, StepError>, Vec<Session>) {
        let run = run_step_with(self.client, step, options);
        tokio::pin!(run);
        let mut seen = Vec::new();
        let period =
            Duration::from_millis((options.lock_timeout_ms.unwrap_or(step.lock_timeout_ms) / 4).clamp(20, 250));
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                result = &mut run => return (result, seen),
                _ = tick.tick() => {
                    if let Ok(found) = blockers(self.observer, self.pid).await
                        && !found.is_empty()
                    {
                        seen = found;
                    }
                }
            }
        }
    }

    async fn effect_state(&self, effect: &Effect) -> Result<Found, ApplyError> {
        effect_state(self.client, effect).await
    }

    async fn index_valid(&self, name: &QualName) -> Result<Option<bool>, ApplyError> {
        index_valid(self.client, name).await
    }

    /// DROP INDEX CONCURRENTLY IF EXISTS, under the step's timeouts.
    async fn drop_index(&self, step: &Step, name: &QualName) -> Result<(), StepError> {
        let drop = Step {
            sql: IfExists(&Stmt::DropIndex { name: name.clone(), concurrently: true }).to_string(),
            transactional: false,
            backfill: None,
            builds_index: None,
            effect: None,
            postconditions: Vec::new(),
            app_changes: Vec::new(),
            ..step.clone()
        };
        run_step_with(self.client, &drop, &RunOptions::default()).await.map(|_| ())
    }
}

/// How far a step outside a transaction got, from the catalog.
async fn effect_state(client: &Client, effect: &Effect) -> Result<Found, ApplyError> {
    let q = |what: &'static str| move |e| ApplyError::Database(Error::query(what, e));
    Ok(match effect {
        // The drop's first transaction clears indisvalid; the last one removes the index.
        Effect::DropIndex { index } => match index_valid(client, index).await? {
            None => Found::Done,
            Some(false) => Found::Interrupted,
            Some(true) => Found::NotDone,
        },
        Effect::DetachPartition { parent, partition } => {
            let row = client
                .query_opt(sql::PARTITION_ATTACHED, &[&partition.schema, &partition.name, &parent.schema, &parent.name])
                .await
                .map_err(q("checking the partition a concurrent detach left"))?;
            match row.map(|r| r.get::<_, bool>(0)) {
                None => Found::Done,
                Some(true) => Found::Interrupted,
                Some(false) => Found::NotDone,
            }
        }
        Effect::AddEnumValue { type_name, value } => {
            let has: bool = client
                .query_one(sql::ENUM_HAS_VALUE, &[&type_name.schema, &type_name.name, value])
                .await
                .map_err(q("checking the enum value an earlier run added"))?
                .get(0);
            if has { Found::Done } else { Found::NotDone }
        }
    })
}

async fn index_valid(client: &Client, name: &QualName) -> Result<Option<bool>, ApplyError> {
    let row = client
        .query_opt(sql::INDEX_VALID, &[&name.schema, &name.name])
        .await
        .map_err(|e| Error::query("checking the index a concurrent build left", e))?;
    Ok(row.map(|r| r.get(0)))
}

/// How far a step outside a transaction got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Done,
    /// Begun and interrupted: what it left needs finishing (see [`Event::Interrupted`]).
    Interrupted,
    NotDone,
}

type Params<'a> = (&'a str, &'a [&'a (dyn tokio_postgres::types::ToSql + Sync)]);

/// What [`Runner::retried`] records in `cutover.steps` around a statement.
struct Record<'a> {
    /// Before each try (apply: the step is running, one more attempt).
    start: Option<Params<'a>>,
    /// Once the statement succeeded: inside its transaction when it has one.
    finish: Params<'a>,
    /// What `finish` does, for the error when it fails on its own.
    finished: &'static str,
}

/// Why [`Runner::retried`] stopped, for the caller to record.
enum Stop {
    /// Already an error as the caller returns it (Cutover's own queries failed).
    Gave(ApplyError),
    /// The lock_timeout expired on every try.
    Locked { tries: u32, lock_timeout_ms: u64, blockers: Vec<Session>, error: StepError },
    /// The session is gone.
    Lost(StepError),
    /// The statement failed.
    Failed(StepError),
}

impl From<ApplyError> for Stop {
    fn from(e: ApplyError) -> Stop {
        Stop::Gave(e)
    }
}

/// Whether the session is gone, after an error (see [`crate::connect::alive`]).
async fn lost(client: &Client) -> bool {
    !crate::connect::alive(client).await
}

/// `wait` plus or minus a fifth, so runners that failed together do not retry together.
fn jitter(wait: Duration) -> Duration {
    let r = f64::from(getrandom::u32().unwrap_or(0)) / f64::from(u32::MAX);
    wait.mul_f64(0.8 + 0.4 * r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_retry_grows_waits_and_timeouts_to_their_caps() {
        let r = LockRetry::default();
        let waits: Vec<u64> = (1..=9).map(|n| r.wait(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        let timeouts: Vec<u64> = (1..=5).map(|n| r.lock_timeout_ms(2000, n)).collect();
        assert_eq!(timeouts, [2000, 4000, 8000, 8000, 8000]);
        for _ in 0..100 {
            let j = jitter(Duration::from_secs(10));
            assert!(j >= Duration::from_secs(8) && j <= Duration::from_secs(12), "{j:?}");
        }
    }

    #[test]
    fn checksum_is_sha256_hex() {
        assert_eq!(checksum(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
