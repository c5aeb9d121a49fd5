//! The flow's decisions once a plan is approved: which phase runs when a person asks, what
//! the contract phase waits for, what is said when a run ends, and when the issue is done.
//!
//! Nothing runs by itself. A phase runs when a person says so (a reply in the agent session,
//! a comment that mentions Cutover, or the phase's sub-issue moved to a started state), only
//! after every earlier phase is done, and the contract phase only after its own approval,
//! given once the soak time after the switch is over. The run itself is a job of its own
//! (`rollout`); its end comes back here as a [`PhaseEnded`] job.

use std::time::Duration;

use cutover_db_postgres::backfill::Control;
use cutover_linear::types::{ActivityContent, WorkflowState};
use cutover_plan::planner::{PhaseName, Plan};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::command::{self, Command};
use crate::flow::{Decisions, FlowContext, FlowState, JobError, Stage};
use crate::markdown::inline_code;
use crate::rollout::{self, FailureKind, Mode, Outcome, PhaseEnded, RolloutConfig};
use crate::writes::Write;

/// Where the rollout of an approved plan stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    pub team_id: String,
    pub phases: Vec<PhaseRun>,
    /// When the switch phase ended, verified (Unix ms): the soak time counts from here.
    pub switched_at_ms: Option<i64>,
    pub contract_approved: bool,
    /// The application's sub-issues (id, and the phase they must be done before).
    #[serde(default)]
    pub application: Vec<(String, PhaseName)>,
}

/// One phase: its sub-issue, and how its last run went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseRun {
    pub name: PhaseName,
    pub sub_issue_id: String,
    pub status: PhaseStatus,
    /// How many runs were started; the current run's number.
    pub run: u32,
    /// The checkpoint comment of the current run, on the sub-issue.
    pub comment_id: String,
    /// Why the last run did not end well.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatus {
    Pending,
    Running,
    RollingBack,
    Done,
    Failed,
    /// Every step is done, but what it left (or the validation plan) did not check out.
    VerifyFailed,
}

impl Rollout {
    /// A new rollout: each phase with its sub-issue.
    pub fn new(team_id: &str, plan: &Plan, sub_issue_ids: &[String]) -> Rollout {
        let phases = plan
            .phases
            .iter()
            .zip(sub_issue_ids)
            .map(|(phase, id)| PhaseRun {
                name: phase.name,
                sub_issue_id: id.clone(),
                status: PhaseStatus::Pending,
                run: 0,
                comment_id: String::new(),
                error: None,
            })
            .collect();
        Rollout {
            team_id: team_id.to_string(),
            phases,
            switched_at_ms: None,
            contract_approved: false,
            application: Vec::new(),
        }
    }

    fn active(&self) -> Option<&PhaseRun> {
        self.phases.iter().find(|p| matches!(p.status, PhaseStatus::Running | PhaseStatus::RollingBack))
    }

    /// The first phase not done.
    fn next(&self) -> Option<&PhaseRun> {
        self.phases.iter().find(|p| p.status != PhaseStatus::Done)
    }

    fn get_mut(&mut self, name: PhaseName) -> Option<&mut PhaseRun> {
        self.phases.iter_mut().find(|p| p.name == name)
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The question that offers the next phase (after the approval, after each phase).
pub(crate) fn offer_next(flow: &FlowState, config: &RolloutConfig, out: &mut Decisions) {
    let (Some(plan), Some(rollout)) = (&flow.plan, &flow.rollout) else { return };
    let Some(next) = rollout.next() else { return };
    let index = plan.phases.iter().position(|p| p.name == next.name).unwrap_or(0);
    let steps = plan.phases[index].steps.len();
    let mut body = format!(
        "Next: phase {} of {}, **{}** ({steps} step{}). It runs on the database only when you say so: reply **run {}**{}.",
        index + 1,
        plan.phases.len(),
        next.name,
        if steps == 1 { "" } else { "s" },
        next.name,
        if config.from_sub_issue { ", or move its sub-issue to In Progress" } else { "" }
    );
    if next.name == PhaseName::Contract {
        body.push_str(" The contract phase needs its own approval, after the soak time.");
    }
    let option = command::run_option(next.name);
    ask(flow, out, &format!("offer-{}-{}", next.name, next.run), body, &[option.as_str()]);
}

/// Asks with options (a select elicitation in the session, else a comment that lists them).
fn ask(flow: &FlowState, out: &mut Decisions, name: &str, body: String, options: &[&str]) {
    match &flow.session_id {
        Some(session_id) => {
            let write = Write::Activity {
                session_id: session_id.clone(),
                content: ActivityContent::Elicitation { body },
                ephemeral: false,
                signal: Some("select".into()),
                signal_metadata: Some(
                    json!({ "options": options.iter().map(|o| json!({ "value": o })).collect::<Vec<_>>() }),
                ),
            };
            out.push(name, write);
        }
        None => {
            let listed: Vec<String> = options.iter().map(|o| format!("**@cutover {}**", o.to_lowercase())).collect();
            let body = format!("{body}\n\nReply {}.", listed.join(" or "));
            out.push(name, Write::Comment { issue_id: flow.issue_id.clone(), body });
        }
    }
}

fn say(flow: &FlowState, out: &mut Decisions, name: &str, body: String) {
    out.say(name, flow, ActivityContent::Response { body });
}

/// A person asked something of the rollout.
pub(crate) async fn on_command(
    ctx: &FlowContext,
    flow_key: &str,
    flow: &mut FlowState,
    out: &mut Decisions,
    command: Command,
) -> Result<(), JobError> {
    let Some(config) = ctx.rollout.clone() else {
        say(flow, out, "no-migrate-url", no_migrate_url(flow));
        return Ok(());
    };
    let (Some(plan), Some(rollout)) = (flow.plan.clone(), flow.rollout.clone()) else {
        return Ok(());
    };
    if flow.stage == Stage::Completed && !matches!(command, Command::Status) {
        say(flow, out, "completed", format!("{} is done: every phase ran and verification passed.", flow.identifier));
        return Ok(());
    }
    match command {
        Command::Run(phase) => {
            let Some(phase) = phase.or_else(|| rollout.next().map(|p| p.name)) else {
                say(flow, out, "all-done", "Every phase has run.".into());
                return Ok(());
            };
            run(ctx, flow_key, flow, out, &config, phase, false).await
        }
        Command::ApproveContract => match rollout.next() {
            Some(next) if next.name == PhaseName::Contract => {
                run(ctx, flow_key, flow, out, &config, PhaseName::Contract, true).await
            }
            _ => {
                say(flow, out, "nothing-to-approve", "There is no contract phase waiting for approval now.".into());
                Ok(())
            }
        },
        Command::NotYet => {
            say(flow, out, "not-yet", "The contract phase waits. Reply **run contract** when you are ready.".into());
            Ok(())
        }
        Command::Retry => {
            let failed =
                rollout.phases.iter().find(|p| matches!(p.status, PhaseStatus::Failed | PhaseStatus::VerifyFailed));
            match failed {
                Some(failed) => {
                    let (name, approved) = (failed.name, rollout.contract_approved);
                    run(ctx, flow_key, flow, out, &config, name, approved).await
                }
                None => {
                    say(flow, out, "nothing-to-retry", "Nothing failed; there is nothing to retry.".into());
                    Ok(())
                }
            }
        }
        Command::RollBack(phase) => roll_back(ctx, flow_key, flow, out, phase).await,
        Command::Pause | Command::Resume | Command::Stop => {
            control(flow, out, &config, &plan, &rollout, command).await;
            Ok(())
        }
        Command::Status => {
            say(flow, out, "status", status(flow, &rollout, &config).await);
            Ok(())
        }
    }
}

/// Runs `phase` if it may run now; else says why not.
async fn run(
    ctx: &FlowContext,
    flow_key: &str,
    flow: &mut FlowState,
    out: &mut Decisions,
    config: &RolloutConfig,
    phase: PhaseName,
    approving_contract: bool,
) -> Result<(), JobError> {
    let Some(rollout) = flow.rollout.clone() else { return Ok(()) };
    let Some(target) = rollout.phases.iter().find(|p| p.name == phase) else {
        say(flow, out, "no-such-phase", format!("The plan has no {phase} phase."));
        return Ok(());
    };
    if let Some(active) = rollout.active() {
        let body = format!(
            "Phase {} is running; one phase runs at a time. Reply **pause** or **stop** to act on it, **status** to see where it is.",
            active.name
        );
        say(flow, out, "busy", body);
        return Ok(());
    }
    if target.status == PhaseStatus::Done {
        say(flow, out, "already-done", format!("Phase {phase} is done already."));
        return Ok(());
    }
    if let Some(earlier) = rollout.phases.iter().take_while(|p| p.name != phase).find(|p| p.status != PhaseStatus::Done)
    {
        let body =
            format!("Phase {phase} runs after phase {} is done; reply **run {}** first.", earlier.name, earlier.name);
        say(flow, out, "out-of-order", body);
        return Ok(());
    }
    if phase == PhaseName::Contract && !rollout.contract_approved {
        if let Some(wait) = soak_left(&rollout, config.soak) {
            say(flow, out, "soaking", soaking(&rollout, config.soak, wait));
            return Ok(());
        }
        if !approving_contract {
            let plan = flow.plan.as_ref().expect("a rollout has a plan");
            let mut question = contract_question(plan);
            // The application's work due before the contract, not marked done yet.
            for (id, before) in &rollout.application {
                if *before != PhaseName::Contract {
                    continue;
                }
                let issue = ctx.client.issue(id).await?;
                if !matches!(issue.state.kind.as_str(), "completed" | "canceled") {
                    question.insert_str(
                        0,
                        &format!(
                            "**Not done yet:** {} ({}) is {}: the running application may still use what this phase removes.\n\n",
                            issue.identifier,
                            crate::application::UPDATE_APPLICATION,
                            inline_code(&issue.state.name)
                        ),
                    );
                }
            }
            ask(
                flow,
                out,
                &format!("contract-approval-{}", target.run),
                question,
                &[command::APPROVE_CONTRACT, command::NOT_YET],
            );
            return Ok(());
        }
    }
    let states = ctx.client.team_states(&rollout.team_id).await?;
    let rollout = flow.rollout.as_mut().expect("checked above");
    if phase == PhaseName::Contract {
        rollout.contract_approved = true;
    }
    let entry = rollout.get_mut(phase).expect("found above");
    entry.status = PhaseStatus::Running;
    entry.run += 1;
    entry.comment_id = uuid::Uuid::new_v4().to_string();
    entry.error = None;
    let (run, sub_issue) = (entry.run, entry.sub_issue_id.clone());
    move_issue(out, &format!("{phase}-r{run}-started"), &sub_issue, &states, "started");
    out.job(rollout::run_job(flow_key, phase, run, Mode::Apply));
    Ok(())
}

/// Time left before the contract may be approved; `None` when it may.
fn soak_left(rollout: &Rollout, soak: Duration) -> Option<Duration> {
    let switched = rollout.switched_at_ms?;
    let left = switched + soak.as_millis() as i64 - now_ms();
    (left > 0).then(|| Duration::from_millis(left as u64))
}

fn soaking(rollout: &Rollout, soak: Duration, left: Duration) -> String {
    let from = rollout
        .switched_at_ms
        .and_then(|ms| chrono::DateTime::from_timestamp_millis(ms + soak.as_millis() as i64))
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    format!(
        "The contract phase waits for the soak time after the switch ({} in all): it can be approved from {from}, in {}. Watch the application until then; reply **run contract** after that.",
        crate::checkpoint::duration_words(soak),
        crate::checkpoint::duration_words(left)
    )
}

fn contract_question(plan: &Plan) -> String {
    let mut body = "The contract phase removes what only the old application used. Its steps cannot be undone by Cutover once they ran:\n".to_string();
    if let Some(phase) = plan.phase(PhaseName::Contract) {
        for (i, step) in phase.steps.iter().enumerate() {
            let line = step.sql.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
            body.push_str(&format!("{}. {}\n", i + 1, inline_code(line)));
        }
    }
    body.push_str("\nMake sure no running version of the application still uses them. Approve the contract phase?");
    body
}

/// Pause, resume or stop the running phase's backfill.
async fn control(
    flow: &FlowState,
    out: &mut Decisions,
    config: &RolloutConfig,
    plan: &Plan,
    rollout: &Rollout,
    command: Command,
) {
    let Some(active) = rollout.active() else {
        let body = match command {
            Command::Stop => "Nothing is running, and nothing will run until you ask for a phase.".to_string(),
            _ => "No phase is running now; there is no backfill to pause or resume.".to_string(),
        };
        say(flow, out, "nothing-running", body);
        return;
    };
    let action = match command {
        Command::Pause => Control::Pause,
        Command::Resume => Control::Resume,
        _ => Control::Cancel,
    };
    let name = format!("{}-r{}-{:?}", active.name, active.run, action).to_lowercase();
    match rollout::control(config, plan, action).await {
        Ok(changed) if changed.is_empty() => {
            let body = match command {
                Command::Stop => format!(
                    "Phase {} has no backfill running now; its current statement runs to its end (its timeouts bound it), and the phase's later steps still run. Nothing else runs until you ask.",
                    active.name
                ),
                _ => format!("Phase {} has no backfill that can be paused or resumed now.", active.name),
            };
            say(flow, out, &name, body);
        }
        Ok(changed) => {
            let tables: Vec<String> = changed.iter().map(|c| inline_code(&c.table)).collect();
            let body = match command {
                Command::Pause => format!(
                    "Paused the backfill of {} after its current batch. Reply **resume** to go on from there.",
                    tables.join(", ")
                ),
                Command::Resume => format!("Resumed the backfill of {}.", tables.join(", ")),
                _ => format!(
                    "Stopping the backfill of {} after its current batch; its progress is kept. Reply **run {}** to go on from there.",
                    tables.join(", "),
                    active.name
                ),
            };
            say(flow, out, &name, body);
        }
        Err(err) => {
            eprintln!("cutover: could not {action:?} the backfills of {}: {err}", flow.identifier);
            let body = "I could not reach the database to do that; try again in a moment.".to_string();
            out.say(&name, flow, ActivityContent::Error { body });
        }
    }
}

async fn status(flow: &FlowState, rollout: &Rollout, config: &RolloutConfig) -> String {
    let mut body = format!("Rollout of {}:\n", flow.identifier);
    for (i, phase) in rollout.phases.iter().enumerate() {
        let state = match phase.status {
            PhaseStatus::Pending => "not run yet",
            PhaseStatus::Running => "running",
            PhaseStatus::RollingBack => "rolling back",
            PhaseStatus::Done => "done",
            PhaseStatus::Failed => "failed",
            PhaseStatus::VerifyFailed => "done, verification failed",
        };
        body.push_str(&format!("{}. {}: {state}\n", i + 1, phase.name));
    }
    if let Some(plan) = &flow.plan
        && let Ok(backfills) = rollout::backfill_status(config, plan).await
    {
        for b in backfills {
            let progress = rollout::owned(&b.progress);
            body.push_str(&format!(
                "\nBackfill of {} ({}): {}",
                inline_code(&b.table),
                b.state,
                crate::checkpoint::progress_line(&progress)
            ));
        }
    }
    body
}

async fn roll_back(
    ctx: &FlowContext,
    flow_key: &str,
    flow: &mut FlowState,
    out: &mut Decisions,
    phase: Option<PhaseName>,
) -> Result<(), JobError> {
    let (Some(config), Some(plan), Some(rollout)) = (ctx.rollout.clone(), flow.plan.clone(), flow.rollout.clone())
    else {
        return Ok(());
    };
    if let Some(active) = rollout.active() {
        say(flow, out, "busy", format!("Phase {} is running; reply **stop** first, then roll back.", active.name));
        return Ok(());
    }
    // The phase named, else the one that failed, else the last one done.
    let target = phase.or_else(|| {
        rollout
            .phases
            .iter()
            .find(|p| matches!(p.status, PhaseStatus::Failed | PhaseStatus::VerifyFailed))
            .or_else(|| rollout.phases.iter().rev().find(|p| p.status == PhaseStatus::Done))
            .map(|p| p.name)
    });
    let Some(phase) = target else {
        say(flow, out, "nothing-to-roll-back", "No phase has run; there is nothing to roll back.".into());
        return Ok(());
    };
    if let Some(refusal) = rollout::rollback_refusal(&config, &plan, phase).await {
        let body = format!("I can't roll back phase {phase}: {}", crate::markdown::clip(&refusal, 1500));
        say(flow, out, &format!("rollback-refused-{phase}"), body);
        return Ok(());
    }
    let states = ctx.client.team_states(&rollout.team_id).await?;
    let Some(entry) = flow.rollout.as_mut().and_then(|r| r.get_mut(phase)) else { return Ok(()) };
    entry.status = PhaseStatus::RollingBack;
    entry.run += 1;
    entry.comment_id = uuid::Uuid::new_v4().to_string();
    entry.error = None;
    let (run, sub_issue) = (entry.run, entry.sub_issue_id.clone());
    move_issue(out, &format!("{phase}-r{run}-rolling-back"), &sub_issue, &states, "started");
    out.job(rollout::run_job(flow_key, phase, run, Mode::RollBack));
    Ok(())
}

/// The options of a blocker on `phase`: retry, roll back when the engine may, stop.
async fn blocker_options(ctx: &FlowContext, flow: &FlowState, phase: PhaseName) -> Vec<String> {
    let mut options = vec![command::retry_option(phase)];
    if let (Some(config), Some(plan)) = (&ctx.rollout, &flow.plan)
        && rollout::rollback_refusal(config, plan, phase).await.is_none()
    {
        options.push(command::roll_back_option(phase));
    }
    options.push(command::STOP.to_string());
    options
}

/// A run ended: record it, move the sub-issue, and say what comes next.
pub(crate) async fn on_ended(
    ctx: &FlowContext,
    flow: &mut FlowState,
    out: &mut Decisions,
    ended: PhaseEnded,
) -> Result<(), JobError> {
    let Some(rollout) = flow.rollout.clone() else { return Ok(()) };
    let Some(entry) = rollout.phases.iter().find(|p| p.name == ended.phase) else { return Ok(()) };
    if entry.run != ended.run || !matches!(entry.status, PhaseStatus::Running | PhaseStatus::RollingBack) {
        return Ok(());
    }
    let states = ctx.client.team_states(&rollout.team_id).await?;
    let (phase, run, sub_issue) = (ended.phase, ended.run, entry.sub_issue_id.clone());
    let name = |what: &str| format!("{phase}-r{run}-{what}");
    let config = ctx.rollout.clone();
    match ended.outcome {
        Outcome::Done { verification } if verification.ok() => {
            let rollout = flow.rollout.as_mut().expect("a rollout");
            let entry = rollout.get_mut(phase).expect("found above");
            entry.status = PhaseStatus::Done;
            if phase == PhaseName::Switch {
                rollout.switched_at_ms = Some(now_ms());
            }
            let all_done = rollout.phases.iter().all(|p| p.status == PhaseStatus::Done);
            move_issue(out, &name("completed"), &sub_issue, &states, "completed");
            if all_done {
                flow.stage = Stage::Completed;
                move_issue(out, "issue-completed", &flow.issue_id.clone(), &states, "completed");
                let body = format!(
                    "Done: every phase of {} ran and verification passed. {}\n\nI moved {} to completed.",
                    flow.identifier,
                    verification.summary(),
                    flow.identifier
                );
                say(flow, out, &name("all-done"), body);
            } else {
                let body = format!("Phase {phase} is done. {}", verification.summary());
                out.say(&name("done"), flow, ActivityContent::Thought { body: body.clone() });
                if flow.session_id.is_none() {
                    out.push(&name("done-comment"), Write::Comment { issue_id: flow.issue_id.clone(), body });
                }
                if let Some(config) = &config {
                    if phase == PhaseName::Switch && config.soak > Duration::ZERO {
                        let rollout = flow.rollout.clone().expect("a rollout");
                        say(flow, out, &name("soak"), soaking(&rollout, config.soak, config.soak));
                    } else {
                        offer_next(flow, config, out);
                    }
                }
            }
        }
        Outcome::Done { verification } => {
            let summary = verification.summary();
            set(flow, phase, PhaseStatus::VerifyFailed, Some(summary.clone()));
            let body = format!(
                "**Blocked:** every step of phase {phase} ran, but verification failed, so {} stays open.\n\n{summary}\n\nRetry the verification (after fixing the cause), roll the phase back, or stop here.",
                flow.identifier
            );
            let options = blocker_options(ctx, flow, phase).await;
            let options: Vec<&str> = options.iter().map(String::as_str).collect();
            ask(flow, out, &name("verify-failed"), body.clone(), &options);
            if flow.session_id.is_some() {
                out.push(&name("verify-failed-note"), Write::Comment { issue_id: flow.issue_id.clone(), body });
            }
        }
        Outcome::RolledBack { message } => {
            set(flow, phase, PhaseStatus::Pending, None);
            move_issue(out, &name("unstarted"), &sub_issue, &states, "unstarted");
            say(flow, out, &name("rolled-back"), format!("Rolled back phase {phase}. {message}"));
            if let Some(config) = &config {
                offer_next(flow, config, out);
            }
        }
        Outcome::Failed { reason: FailureKind::Stopped, message } => {
            set(flow, phase, PhaseStatus::Failed, Some(message));
            let body = format!(
                "Stopped phase {phase}; the backfill keeps its progress. Reply **run {phase}** to go on from where it stopped."
            );
            say(flow, out, &name("stopped"), body);
        }
        Outcome::Failed { reason, message } => {
            set(flow, phase, PhaseStatus::Failed, Some(message.clone()));
            let why = match reason {
                FailureKind::Lock => "it never got its lock",
                FailureKind::Refused => "the database is not what the plan was made against, or the run was refused",
                FailureKind::Busy => "another runner is working on the database",
                FailureKind::Connection => "the connection to the database failed",
                FailureKind::Step | FailureKind::Stopped => "a statement failed",
            };
            let body = format!(
                "**Blocked:** phase {phase} did not finish: {why}.\n\n{}\n\nWhat was done stays done, and the next run resumes from it. Retry the phase (after fixing the cause), roll back what it did, or stop here.",
                crate::markdown::fenced(&message, "text")
            );
            let options = blocker_options(ctx, flow, phase).await;
            let options: Vec<&str> = options.iter().map(String::as_str).collect();
            ask(flow, out, &name("blocked"), body, &options);
        }
    }
    Ok(())
}

fn set(flow: &mut FlowState, phase: PhaseName, status: PhaseStatus, error: Option<String>) {
    if let Some(entry) = flow.rollout.as_mut().and_then(|r| r.get_mut(phase)) {
        entry.status = status;
        entry.error = error;
    }
}

/// Moves an issue to the team's first state of `kind` ("started", "completed", "unstarted").
fn move_issue(out: &mut Decisions, name: &str, issue_id: &str, states: &[WorkflowState], kind: &str) {
    let mut candidates: Vec<&WorkflowState> = states.iter().filter(|s| s.kind == kind).collect();
    candidates.sort_by(|a, b| a.position.partial_cmp(&b.position).unwrap_or(std::cmp::Ordering::Equal));
    if let Some(state) = candidates.first() {
        out.push(
            name,
            Write::MoveIssue {
                issue_id: issue_id.to_string(),
                state_id: state.id.clone(),
                state_name: state.name.clone(),
            },
        );
    }
}

fn no_migrate_url(flow: &FlowState) -> String {
    format!(
        "I can't run phases here: Cutover has no connection with the rights to change the database (CUTOVER_MIGRATE_URL). Run each phase with `cutover apply --plan {} --phase NAME` from the pull request, or ask whoever runs Cutover to set it.",
        crate::pull_request::plan_path(&flow.identifier)
    )
}
