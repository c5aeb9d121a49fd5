//! Running an approved plan's phases on the live database, as a person asked in Linear.
//!
//! The flow decides (a phase is asked for, may run, and which run of it this is) and queues a
//! [`RunPhase`] job under the key `<issue>:rollout`, apart from the issue's own jobs: a backfill
//! of hours never holds up the answers to "pause" or "stop". The runner here claims those jobs
//! in a loop of their own, runs the phase with the rollout engine (`cutover apply`'s, through
//! `CUTOVER_MIGRATE_URL`), posts the checkpoint as it goes (one comment on the phase's
//! sub-issue, updated in place, and actions in the agent session), verifies what the phase
//! left (and, after the switch, the request's validation plan) through the read-only
//! connection, and hands the outcome back to the flow as a [`PhaseEnded`] job.
//!
//! Crash safety: the engine keeps its state in the database, so a runner that dies is
//! replaced by one that runs the same job again and resumes where it stopped. Every posting
//! has an outbox key of its run (the start and the end once per run, progress per attempt),
//! and the checkpoint comment's id is chosen by the flow: after a restart the same comment is
//! updated, never a second one created.

use std::time::{Duration, Instant};

use cutover_db_postgres::apply::{self, ApplyError, PlanFile};
use cutover_db_postgres::backfill;
use cutover_db_postgres::connect::Target;
use cutover_db_postgres::verify;
use cutover_jobs::{Job, Kinds, NewJob};
use cutover_linear::types::ActivityContent;
use cutover_plan::planner::{PhaseName, Plan};
use cutover_plan::verify::Report;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::checkpoint::{self, Checkpoint};
use crate::flow::{FlowContext, FlowState, JobError};
use crate::phases::PhaseStatus;
use crate::writes::Write;

/// The job kind of a phase run.
pub const RUN_KIND: &str = "rollout";
/// The job kind that tells the flow how a run ended.
pub const ENDED_KIND: &str = "phase-ended";

/// How phases run, when Cutover may run them at all.
#[derive(Debug, Clone)]
pub struct RolloutConfig {
    /// `CUTOVER_MIGRATE_URL`: the database, with the rights to change it.
    pub migrate: Target,
    /// `CUTOVER_DATABASE_URL`: verification only reads.
    pub read: Target,
    /// The wait after the switch before the contract phase may be approved.
    pub soak: Duration,
    /// Which requests run a phase: a reply in the agent session (or a comment that
    /// mentions Cutover), and moving the phase's sub-issue to a started state.
    pub from_session: bool,
    pub from_sub_issue: bool,
    /// A backfill's checkpoint is updated at every 10% and at least this often.
    pub checkpoint_every: Duration,
    /// The engine's settings (`phases` is set per run).
    pub apply: apply::Config,
    /// statement_timeout of each validation query.
    pub check_timeout_ms: u64,
}

impl RolloutConfig {
    pub fn new(migrate: Target, read: Target) -> RolloutConfig {
        RolloutConfig {
            migrate,
            read,
            soak: Duration::from_secs(3600),
            from_session: true,
            from_sub_issue: true,
            checkpoint_every: Duration::from_secs(300),
            apply: apply::Config {
                phases: Vec::new(),
                retry: apply::LockRetry::default(),
                client_host: None,
                cutover_version: env!("CARGO_PKG_VERSION").to_string(),
                backfill: backfill::Options::default(),
            },
            check_timeout_ms: 30_000,
        }
    }
}

/// What a run job carries: which run of which phase of which flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPhase {
    pub flow: String,
    pub phase: PhaseName,
    pub run: u32,
    #[serde(default)]
    pub mode: Mode,
}

/// Forwards (the phase's steps) or back (their rollbacks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Apply,
    RollBack,
}

/// How a run ended, for the flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseEnded {
    pub phase: PhaseName,
    pub run: u32,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Every step is done; `verification` says what was checked.
    Done { verification: Verification },
    /// The phase's steps were undone.
    RolledBack { message: String },
    /// A step failed, or the run was refused (drift, another runner), or stopped.
    Failed { reason: FailureKind, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The lock was never obtained in all its tries.
    Lock,
    /// A statement failed.
    Step,
    /// The plan may not run: the database drifted, an earlier phase is missing.
    Refused,
    /// Another runner holds the database.
    Busy,
    /// A person stopped it (the backfill was cancelled).
    Stopped,
    /// The connection was lost, or verification could not run.
    Connection,
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Verification {
    pub passed: usize,
    /// One line per failed check.
    pub failed: Vec<String>,
    /// Items of the validation plan that could not be checked, with why.
    pub not_checked: Vec<String>,
    /// Whether the request's validation plan ran (after the switch).
    pub validation: bool,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }

    /// Markdown lines for the checkpoint and the messages.
    pub fn summary(&self) -> String {
        let what = if self.validation { "the phase's results and the validation plan" } else { "the phase's results" };
        let mut out = if self.ok() {
            format!("Verified {what}: {} check(s) passed.", self.passed)
        } else {
            format!(
                "Verification of {what} failed: {} of {} check(s) failed:",
                self.failed.len(),
                self.passed + self.failed.len()
            )
        };
        for line in &self.failed {
            out.push_str(&format!("\n- {line}"));
        }
        if !self.not_checked.is_empty() {
            out.push_str("\n\nNot checked (the validation plan does not say it precisely enough):");
            for line in &self.not_checked {
                out.push_str(&format!("\n- {line}"));
            }
        }
        out
    }
}

/// The plan file's text, as committed with the pull request (`cutover/<issue>.plan.json`):
/// the agent and `cutover apply --plan` on that file share the engine's state, keyed by its
/// checksum.
pub fn plan_file_text(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(plan).unwrap_or_default();
    text.push('\n');
    text
}

pub fn plan_checksum(plan: &Plan) -> String {
    apply::checksum(plan_file_text(plan).as_bytes())
}

/// The job that runs `phase` (run `run`) of `flow`.
pub fn run_job(flow: &str, phase: PhaseName, run: u32, mode: Mode) -> NewJob {
    let payload = RunPhase { flow: flow.to_string(), phase, run, mode };
    NewJob {
        kind: RUN_KIND.into(),
        key: format!("{flow}:rollout"),
        payload: serde_json::to_value(payload).unwrap_or_default(),
    }
}

/// Runs one phase job. Errors are for the store; how the phase went is handed to the flow.
pub async fn run(ctx: &FlowContext, job: &Job) -> Result<(), JobError> {
    let order: RunPhase =
        serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Fatal(format!("bad rollout job: {e}")))?;
    let Some(config) = ctx.rollout.clone() else {
        return Err(JobError::Fatal("a phase run without CUTOVER_MIGRATE_URL".into()));
    };
    let flow: FlowState = match ctx.store.load_flow(&order.flow).await? {
        Some(value) => serde_json::from_value(value).map_err(|e| JobError::Fatal(format!("bad flow state: {e}")))?,
        None => return Ok(()),
    };
    let (Some(plan), Some(rollout)) = (flow.plan.as_ref(), flow.rollout.as_ref()) else { return Ok(()) };
    let Some(phase_run) = rollout.phases.iter().find(|p| p.name == order.phase) else { return Ok(()) };
    let wanted = match order.mode {
        Mode::Apply => PhaseStatus::Running,
        Mode::RollBack => PhaseStatus::RollingBack,
    };
    if phase_run.status != wanted || phase_run.run != order.run {
        // An older run's job, queued twice after a crash: that run has ended.
        return Ok(());
    }
    let text = plan_file_text(plan);
    let checksum = apply::checksum(text.as_bytes());
    let file = PlanFile { plan, checksum: &checksum };
    let index = plan.phases.iter().position(|p| p.name == order.phase).unwrap_or(0);
    let steps = plan.phases[index].steps.iter().map(|s| s.sql.clone()).collect();
    let mut checkpoint =
        Checkpoint::new(&flow.identifier, order.phase, (index + 1, plan.phases.len()), steps, config.checkpoint_every);
    let poster = Poster {
        ctx: ctx.clone(),
        flow: order.flow.clone(),
        prefix: format!("{}:rollout:{}:r{}", order.flow, order.phase, order.run),
        attempt: job.attempt,
        comment_id: phase_run.comment_id.clone(),
        sub_issue_id: phase_run.sub_issue_id.clone(),
        session_id: flow.session_id.clone(),
    };
    let started = Instant::now();
    let outcome = match order.mode {
        Mode::Apply => {
            poster.post("start", checkpoint.start()).await?;
            let result = run_engine(&config, file, order.phase, &mut checkpoint, &poster, started).await?;
            match result {
                Ok(()) => {
                    let validation = (order.phase == PhaseName::Switch
                        || plan.phases.last().is_some_and(|p| p.name == order.phase))
                    .then(|| flow.request.as_ref().map(|r| cutover_request::checks::checks(&r.validation)))
                    .flatten();
                    match verification(&config, file, validation).await {
                        Ok(verification) => Outcome::Done { verification },
                        Err(message) => Outcome::Failed { reason: FailureKind::Connection, message },
                    }
                }
                Err(failed) => failed,
            }
        }
        Mode::RollBack => {
            poster.post("start", checkpoint.start()).await?;
            match roll_back(&config, file, order.phase, &mut checkpoint, &poster, started).await? {
                Ok(report) => Outcome::RolledBack {
                    message: format!(
                        "{} step(s) undone in {}; the phase's steps are pending again, and the next run of the phase runs them again. Data a backfill wrote stays in its column.",
                        report.ran,
                        crate::checkpoint::duration_words(report.elapsed)
                    ),
                },
                Err(failed) => failed,
            }
        }
    };
    let end = match &outcome {
        Outcome::Done { verification } => format!("**Done.** {}", verification.summary()),
        Outcome::RolledBack { message } => format!("**Rolled back.** {message}"),
        Outcome::Failed { reason: FailureKind::Stopped, message } => format!("**Stopped.** {message}"),
        Outcome::Failed { message, .. } => format!("**Failed.** {message}"),
    };
    let body = checkpoint.end(&end, started.elapsed());
    poster.put("end", poster.checkpoint(body)).await?;
    let ended = PhaseEnded { phase: order.phase, run: order.run, outcome };
    let job = NewJob {
        kind: ENDED_KIND.into(),
        key: order.flow.clone(),
        payload: serde_json::to_value(&ended).map_err(|e| JobError::Fatal(e.to_string()))?,
    };
    ctx.store.enqueue(&job).await?;
    ctx.outbox_wakeup.wake();
    Ok(())
}

/// Runs the phase on the engine, posting the checkpoint as it goes.
async fn run_engine(
    config: &RolloutConfig,
    file: PlanFile<'_>,
    phase: PhaseName,
    checkpoint: &mut Checkpoint,
    poster: &Poster,
    started: Instant,
) -> Result<Result<(), Outcome>, JobError> {
    let mut engine = config.apply.clone();
    engine.phases = vec![phase];
    // A backfill stopped by "stop" (cancelled) or paused runs again when asked to.
    if let Ok(client) = config.migrate.connect().await {
        let _ = backfill::control(&client, backfill::Control::Resume, Some(file.checksum), None).await;
    }
    let (sender, receiver) = mpsc::unbounded_channel::<checkpoint::Event>();
    let table_of = |at_step: usize| {
        file.plan
            .phase(phase)
            .and_then(|p| p.steps.get(at_step.saturating_sub(1)))
            .and_then(|s| s.backfill.as_ref())
            .and_then(|b| b.spec.as_ref())
            .map(|spec| spec.table.to_string())
            .unwrap_or_default()
    };
    let engine_run = async {
        let mut step = 0;
        let mut observe = |event: apply::Event<'_>| {
            if let Some(event) = converted(event, &mut step, &table_of) {
                let _ = sender.send(event);
            }
        };
        let result = apply::apply(&config.migrate, file, &engine, &mut observe).await;
        drop(sender);
        result
    };
    let posting = post_events(receiver, checkpoint, poster, started);
    let (result, posted) = tokio::join!(engine_run, posting);
    posted?;
    Ok(match result {
        Ok(_) => Ok(()),
        Err(err) => Err(failure(err)),
    })
}

/// Undoes the phase's done steps with the engine, posting the checkpoint as it goes.
async fn roll_back(
    config: &RolloutConfig,
    file: PlanFile<'_>,
    phase: PhaseName,
    checkpoint: &mut Checkpoint,
    poster: &Poster,
    started: Instant,
) -> Result<Result<apply::Report, Outcome>, JobError> {
    let (sender, receiver) = mpsc::unbounded_channel::<checkpoint::Event>();
    let engine_run = async {
        let mut step = 0;
        let mut observe = |event: apply::Event<'_>| {
            if let Some(event) = converted(event, &mut step, &|_| String::new()) {
                let _ = sender.send(event);
            }
        };
        let result = apply::rollback(&config.migrate, file, &config.apply, phase, &mut observe).await;
        drop(sender);
        result
    };
    let posting = post_events(receiver, checkpoint, poster, started);
    let (result, posted) = tokio::join!(engine_run, posting);
    posted?;
    Ok(result.map_err(failure))
}

/// Why the phase's rollback would be refused now (`None`: it may run).
pub async fn rollback_refusal(config: &RolloutConfig, plan: &Plan, phase: PhaseName) -> Option<String> {
    let checksum = plan_checksum(plan);
    match apply::rollback_dry_run(&config.migrate, PlanFile { plan, checksum: &checksum }, phase).await {
        Ok(dry) => dry.refusal,
        Err(err) => Some(err.to_string()),
    }
}

/// An engine event as the checkpoint takes it (`step`: the step running now, for the table
/// its backfill fills).
fn converted(
    event: apply::Event<'_>,
    step: &mut usize,
    table_of: &dyn Fn(usize) -> String,
) -> Option<checkpoint::Event> {
    Some(match event {
        apply::Event::Step { at, sql } => {
            *step = at.step_number;
            checkpoint::Event::Step { number: at.step_number, sql: sql.to_string() }
        }
        apply::Event::AlreadyDone | apply::Event::IndexAlreadyBuilt(_) | apply::Event::AlreadyApplied(_) => {
            checkpoint::Event::AlreadyDone
        }
        apply::Event::LockRetry { tried, tries, lock_timeout_ms, wait } => {
            checkpoint::Event::LockRetry { tried, tries, lock_timeout_ms, wait }
        }
        apply::Event::Backfill(event) => match event {
            backfill::Event::Started { resumed, progress } => {
                checkpoint::Event::Backfill { table: table_of(*step), resumed, progress: owned(progress) }
            }
            backfill::Event::Batch(progress) => {
                checkpoint::Event::Backfill { table: table_of(*step), resumed: false, progress: owned(progress) }
            }
            backfill::Event::Waiting { reason, .. } => checkpoint::Event::Throttled { reason: reason.to_string() },
            backfill::Event::WritersWaited { writers, longest, next, .. } => checkpoint::Event::Throttled {
                reason: format!(
                    "{writers} write(s) waited on a batch's row locks (the longest {} ms); batches now take {next} rows",
                    longest.as_millis()
                ),
            },
            backfill::Event::Paused => checkpoint::Event::Paused,
            backfill::Event::Resumed => checkpoint::Event::Resumed,
            _ => return None,
        },
        apply::Event::Done { elapsed, rows, .. } => checkpoint::Event::StepDone { elapsed, rows },
        _ => return None,
    })
}

/// Posts the checkpoint as the engine's events arrive, until the engine is done with them.
async fn post_events(
    mut receiver: mpsc::UnboundedReceiver<checkpoint::Event>,
    checkpoint: &mut Checkpoint,
    poster: &Poster,
    started: Instant,
) -> Result<(), JobError> {
    let mut seq = 0u64;
    while let Some(event) = receiver.recv().await {
        if let Some(posting) = checkpoint.on(event, started.elapsed()) {
            seq += 1;
            poster.post(&format!("a{}:{seq}", poster.attempt), posting).await?;
        }
    }
    Ok(())
}

pub(crate) fn owned(progress: &backfill::Progress) -> checkpoint::Progress {
    checkpoint::Progress {
        rows_done: progress.rows_done,
        rows_total: progress.rows_total_estimate,
        rate: progress.rate,
        eta_s: progress.eta_s,
    }
}

fn failure(err: ApplyError) -> Outcome {
    let reason = match &err {
        ApplyError::LockNotAvailable { .. } => FailureKind::Lock,
        ApplyError::StepFailed { error, .. } if error.contains("was cancelled") => FailureKind::Stopped,
        ApplyError::StepFailed { .. } | ApplyError::RollbackFailed { .. } => FailureKind::Step,
        ApplyError::Refused(_) => FailureKind::Refused,
        ApplyError::Busy(_) => FailureKind::Busy,
        ApplyError::Database(_) | ApplyError::ConnectionLost { .. } => FailureKind::Connection,
    };
    Outcome::Failed { reason, message: err.to_string() }
}

/// Verifies every completed phase's results and, when given, the validation plan.
async fn verification(
    config: &RolloutConfig,
    file: PlanFile<'_>,
    validation: Option<cutover_request::checks::ValidationChecks>,
) -> Result<Verification, String> {
    let mut checks = verify::Config { check_timeout_ms: config.check_timeout_ms, ..verify::Config::default() };
    let mut out = Verification::default();
    if let Some(validation) = &validation {
        out.validation = true;
        checks.checks = validation.checks.clone();
        checks.latency = validation.latency.iter().map(|l| l.check.clone()).collect();
        out.not_checked = validation
            .not_understood
            .iter()
            .map(|n| format!("{}: {}", crate::markdown::inline_code(&n.text), n.reason))
            .collect();
    }
    let report: Report = verify::verify(&config.read, file, &checks).await.map_err(|e| e.to_string())?;
    // A check of the validation plan is named by its prose: its query says more.
    let sql_of = |name: &str| {
        checks
            .checks
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.sql.as_str())
            .or_else(|| checks.latency.iter().find(|c| c.name == name).map(|c| c.sql.as_str()))
    };
    for result in &report.results {
        if result.ok {
            out.passed += 1;
            continue;
        }
        let detail = crate::markdown::clip(&result.detail, 300);
        out.failed.push(match sql_of(&result.name) {
            Some(sql) => format!(
                "{} ({}): {detail}",
                crate::markdown::inline_code(sql.trim()),
                crate::markdown::clip(&result.name, 80)
            ),
            None => format!("{} ({}): {detail}", crate::markdown::inline_code(&result.name), result.kind),
        });
    }
    Ok(out)
}

/// Posts a run's checkpoint and session actions through the outbox.
struct Poster {
    ctx: FlowContext,
    flow: String,
    prefix: String,
    attempt: i64,
    comment_id: String,
    sub_issue_id: String,
    session_id: Option<String>,
}

impl Poster {
    fn checkpoint(&self, body: String) -> Write {
        Write::Checkpoint { comment_id: self.comment_id.clone(), issue_id: self.sub_issue_id.clone(), body }
    }

    /// The checkpoint's new body, and the session's action.
    async fn post(&self, name: &str, posting: checkpoint::Posting) -> Result<(), JobError> {
        self.put(&format!("{name}:checkpoint"), self.checkpoint(posting.body)).await?;
        if let Some(session_id) = &self.session_id {
            let content =
                ActivityContent::Action { action: posting.action, parameter: posting.parameter, result: None };
            let write = Write::Activity {
                session_id: session_id.clone(),
                content,
                ephemeral: posting.ephemeral,
                signal: None,
                signal_metadata: None,
            };
            self.put(&format!("{name}:action"), write).await?;
        }
        Ok(())
    }

    async fn put(&self, name: &str, write: Write) -> Result<(), JobError> {
        let op = serde_json::to_value(&write).map_err(|e| JobError::Fatal(e.to_string()))?;
        let key = format!("{}:{name}", self.prefix);
        self.ctx.store.outbox_put(&self.flow, &key, &uuid::Uuid::new_v4().to_string(), &op).await?;
        self.ctx.outbox_wakeup.wake();
        Ok(())
    }
}

/// The loop that runs phases: claims only phase jobs, so they never hold up the others.
pub async fn rollout_loop(ctx: FlowContext, settings: crate::WorkerSettings, wakeup: crate::Wakeup) {
    loop {
        let handler = |job: Job| {
            let ctx = ctx.clone();
            async move { run(&ctx, &job).await }
        };
        match crate::worker::process_one_job_of(&ctx.store, &settings, Kinds::Only(RUN_KIND), handler).await {
            Ok(true) => {}
            Ok(false) => wakeup.wait(settings.poll).await,
            Err(err) => {
                eprintln!("cutover: rollout store error: {err}");
                tokio::time::sleep(settings.poll).await;
            }
        }
    }
}

/// Pauses, resumes or cancels the plan's running backfills; what changed.
pub async fn control(
    config: &RolloutConfig,
    plan: &Plan,
    action: backfill::Control,
) -> Result<Vec<backfill::Changed>, String> {
    let client = config.migrate.connect().await.map_err(|e| e.to_string())?;
    backfill::control(&client, action, Some(&plan_checksum(plan)), None).await.map_err(|e| e.to_string())
}

/// Where the plan's backfills are, for "status" and the answers to "pause".
pub async fn backfill_status(config: &RolloutConfig, plan: &Plan) -> Result<Vec<backfill::Status>, String> {
    let client = config.migrate.connect().await.map_err(|e| e.to_string())?;
    backfill::status(&client, Some(&plan_checksum(plan)), None).await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_summaries() {
        let ok = Verification { passed: 3, ..Verification::default() };
        assert_eq!(ok.summary(), "Verified the phase's results: 3 check(s) passed.");
        let failed = Verification {
            passed: 2,
            failed: vec!["`no nulls` (user): 1 row(s) instead of 0".into()],
            not_checked: vec!["`p95 of GET /orders < 150 ms`: no query to time".into()],
            validation: true,
        };
        assert_eq!(
            failed.summary(),
            "Verification of the phase's results and the validation plan failed: 1 of 3 check(s) failed:\n\
             - `no nulls` (user): 1 row(s) instead of 0\n\n\
             Not checked (the validation plan does not say it precisely enough):\n\
             - `p95 of GET /orders < 150 ms`: no query to time"
        );
    }
}
