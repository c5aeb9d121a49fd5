//! The flow for one issue, run one job at a time: decide what to write from the trigger, the
//! issue and the database, record the decision, then queue the writes in the outbox.
//!
//! Crash safety: a job's decisions (including the ids of everything it will create) are saved in
//! the flow state before any of its writes is queued, under the job's id. When a worker dies
//! mid-job, the job is claimed again, finds its decisions, and queues the same writes under the
//! same keys, which the outbox ignores when they are already there. Nothing is decided twice.

use cutover_jobs::{Job, Store};
use cutover_linear::types::{ActivityContent, Issue};
use cutover_linear::{LinearClient, LinearError, Trigger};
use cutover_plan::planner::Plan;
use cutover_request::ChangeRequest;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::command::{self, Command};
use crate::messages::{self, APPROVE, MANAGED_LABELS, REQUEST_CHANGES};
use crate::phases::{self, Rollout};
use crate::planning::{PlanningConfig, plan_reviewed};
use crate::proposal;
use crate::pull_request::{self, PrepareError};
use crate::rollout::PhaseEnded;
use crate::writes::Write;

/// Where a flow stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    #[default]
    New,
    /// Waiting for the requester to complete or fix the issue.
    AwaitingInput,
    /// The model's proposal is posted; waiting for "Use this proposal" or "Request changes".
    AwaitingProposal,
    /// The plan is posted; waiting for "Approve plan" or "Request changes".
    AwaitingApproval,
    /// The plan is approved: its phases run when a person asks (`phases`).
    Approved,
    /// Every phase ran and verification passed; the issue is completed.
    Completed,
    /// Nothing to do: the database already has the schema.
    Done,
    Stopped,
}

/// The durable state of one issue's flow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowState {
    pub issue_id: String,
    pub identifier: String,
    pub session_id: Option<String>,
    pub stage: Stage,
    /// How many plans have been posted.
    pub revision: u32,
    pub plan: Option<Plan>,
    pub request: Option<ChangeRequest>,
    /// The rollout of the approved plan.
    #[serde(default)]
    pub rollout: Option<Rollout>,
    /// The job whose decisions `writes` and `jobs` hold.
    pub job_id: Option<i64>,
    pub writes: Vec<Queued>,
    /// Jobs that job decided to start (a phase run).
    #[serde(default)]
    pub jobs: Vec<QueuedJob>,
    /// The model's proposal waiting for an answer (`Stage::AwaitingProposal`).
    #[serde(default)]
    pub proposal: Option<crate::proposal::Pending>,
    /// What the drafter spent on this issue.
    #[serde(default)]
    pub draft_usage: crate::proposal::DraftUsage,
}

/// A job decided by a job, enqueued after its decisions are saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedJob {
    pub kind: String,
    pub key: String,
    pub payload: serde_json::Value,
}

/// A write decided by a job, with its outbox key and the id of what it creates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queued {
    pub key: String,
    pub entity_id: String,
    pub write: Write,
}

/// Why a job did not finish.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Try the job again later (Linear unreachable, rate limited, store hiccup).
    #[error("{0}")]
    Retry(String),
    /// The job can never succeed (a malformed payload).
    #[error("{0}")]
    Fatal(String),
}

impl From<cutover_jobs::StoreError> for JobError {
    fn from(e: cutover_jobs::StoreError) -> Self {
        JobError::Retry(e.to_string())
    }
}

impl From<LinearError> for JobError {
    fn from(e: LinearError) -> Self {
        if e.is_retryable() { JobError::Retry(e.to_string()) } else { JobError::Fatal(e.to_string()) }
    }
}

/// What the flow needs from the outside world.
#[derive(Debug, Clone)]
pub struct FlowContext {
    pub client: LinearClient,
    pub store: Store,
    pub planning: PlanningConfig,
    /// Wakes the outbox loop when writes are queued.
    pub outbox_wakeup: crate::worker::Wakeup,
    /// Where approved plans become pull requests; `None` when GitHub is not configured.
    pub github: Option<crate::pull_request::GitHubTarget>,
    /// How phases run on the live database; `None` without `CUTOVER_MIGRATE_URL` (people
    /// run them with `cutover apply`).
    pub rollout: Option<crate::rollout::RolloutConfig>,
    /// The model that drafts DDL for issues written in prose; `None` without `[llm]` (the
    /// requester is asked for the DDL and told what drafting would need).
    pub llm: Option<crate::drafting::Drafter>,
}

/// Collects one job's writes and jobs in order.
pub(crate) struct Decisions {
    prefix: String,
    writes: Vec<Queued>,
    jobs: Vec<QueuedJob>,
}

impl Decisions {
    fn new(flow: &str, job: i64) -> Decisions {
        Decisions { prefix: format!("{flow}:j{job}"), writes: Vec::new(), jobs: Vec::new() }
    }

    /// A job to start once the decisions are saved.
    pub(crate) fn job(&mut self, job: cutover_jobs::NewJob) {
        self.jobs.push(QueuedJob { kind: job.kind, key: job.key, payload: job.payload });
    }

    /// Adds a write under a name unique within the job; returns the id it will create.
    pub(crate) fn push(&mut self, name: &str, write: Write) -> String {
        let entity_id = uuid::Uuid::new_v4().to_string();
        self.writes.push(Queued { key: format!("{}:{name}", self.prefix), entity_id: entity_id.clone(), write });
        entity_id
    }

    /// Says something: an agent activity in the session, or a comment without one.
    pub(crate) fn say(&mut self, name: &str, flow: &FlowState, content: ActivityContent) {
        if let Some(write) = Write::to_requester(flow.session_id.as_deref(), &flow.issue_id, content) {
            self.push(name, write);
        }
    }
}

/// Runs one job of a flow.
pub async fn run_job(ctx: &FlowContext, job: &Job) -> Result<(), JobError> {
    let bad = |e: serde_json::Error| JobError::Fatal(format!("bad job payload: {e}"));
    let (trigger, ended) = if job.kind == crate::rollout::ENDED_KIND {
        (None, Some(serde_json::from_value::<PhaseEnded>(job.payload.clone()).map_err(bad)?))
    } else {
        (Some(serde_json::from_value::<Trigger>(job.payload.clone()).map_err(bad)?), None)
    };
    let flow_key = job.key.clone();
    let mut flow: FlowState = match ctx.store.load_flow(&flow_key).await? {
        Some(value) => serde_json::from_value(value).map_err(|e| JobError::Fatal(format!("bad flow state: {e}")))?,
        None => FlowState::default(),
    };
    if flow.job_id == Some(job.id) {
        // This job decided before its worker stopped: queue the same writes again.
        return queue(ctx, &flow_key, &flow).await;
    }
    let mut out = Decisions::new(&flow_key, job.id);
    let is_stop = matches!(trigger, Some(Trigger::SessionPrompted { stop: true, .. }));
    if let Some(ended) = ended {
        if flow.issue_id.is_empty() {
            return Ok(());
        }
        phases::on_ended(ctx, &mut flow, &mut out, ended).await?;
        return save_and_queue(ctx, &flow_key, job, flow, out).await;
    }
    let Some(trigger) = trigger else { return Ok(()) };
    match trigger {
        Trigger::SessionCreated { session_id, issue_id, identifier, .. } => {
            // A session for a delegation already taken up without its webhook (start-up
            // reconciliation, plan posted as a comment) joins that flow: the session gets the
            // approval question, not a second plan.
            let joins = flow.session_id.is_none() && flow.stage == Stage::AwaitingApproval;
            flow.issue_id = issue_id;
            flow.identifier = identifier;
            flow.session_id = Some(session_id.clone());
            match flow.plan.clone() {
                Some(plan) if joins => {
                    let thought = ActivityContent::Thought { body: messages::plan_already_posted(&flow.identifier) };
                    out.push("joined", Write::activity(&session_id, thought));
                    out.push("approval", approval_question(&session_id, &plan));
                }
                _ => {
                    let replanning = flow.revision > 0;
                    acknowledge(ctx, &flow_key, job.id, &flow, replanning).await?;
                    start(ctx, &mut flow, &mut out).await?;
                }
            }
        }
        Trigger::IssueDelegated { issue_id, identifier } => {
            flow.issue_id = issue_id;
            flow.identifier = identifier;
            if matches!(flow.stage, Stage::New | Stage::Stopped | Stage::Done) {
                start(ctx, &mut flow, &mut out).await?;
            }
        }
        Trigger::CommentMention { issue_id, identifier, body, .. } => {
            flow.issue_id = issue_id;
            flow.identifier = identifier;
            answer(ctx, &flow_key, job.id, &mut flow, &mut out, &body, false).await?;
        }
        Trigger::SessionPrompted { session_id, issue_id, identifier, body, stop } => {
            flow.issue_id = issue_id;
            flow.identifier = identifier;
            flow.session_id = Some(session_id);
            answer(ctx, &flow_key, job.id, &mut flow, &mut out, &body, stop).await?;
        }
        Trigger::SubIssueStarted { issue_id, .. } => {
            // Only a phase sub-issue of a rollout, when sub-issues start phases.
            let phase = flow.rollout.as_ref().and_then(|r| r.phases.iter().find(|p| p.sub_issue_id == issue_id));
            let allowed = ctx.rollout.as_ref().is_some_and(|c| c.from_sub_issue);
            match phase {
                Some(phase) if allowed && flow.stage == Stage::Approved => {
                    let command = Command::Run(Some(phase.name));
                    phases::on_command(ctx, &flow_key, &mut flow, &mut out, command).await?;
                }
                _ => return Ok(()),
            }
        }
        Trigger::Ignored(_) => return Ok(()),
    }
    // Planning takes seconds; a stop that arrived meanwhile wins: nothing this job decided
    // is written (the flow stays as it was), and the stop job, next in line, answers.
    if !is_stop && stop_is_waiting(ctx, &flow_key, job.id).await? {
        return Ok(());
    }
    save_and_queue(ctx, &flow_key, job, flow, out).await
}

/// Saves the job's decisions with the flow, then queues its writes and jobs.
async fn save_and_queue(
    ctx: &FlowContext,
    flow_key: &str,
    job: &Job,
    mut flow: FlowState,
    out: Decisions,
) -> Result<(), JobError> {
    flow.job_id = Some(job.id);
    flow.writes = out.writes;
    flow.jobs = out.jobs;
    let state = serde_json::to_value(&flow).map_err(|e| JobError::Fatal(e.to_string()))?;
    ctx.store.save_flow(flow_key, &state).await?;
    queue(ctx, flow_key, &flow).await
}

/// Whether a stop signal for this flow is queued behind job `job`.
async fn stop_is_waiting(ctx: &FlowContext, flow_key: &str, job: i64) -> Result<bool, JobError> {
    Ok(ctx
        .store
        .queued_after(flow_key, job)
        .await?
        .into_iter()
        .any(|payload| matches!(serde_json::from_value(payload), Ok(Trigger::SessionPrompted { stop: true, .. }))))
}

/// Queues a job's writes (the outbox ignores keys it has) and starts its jobs. A job started
/// twice (the worker died between the two) finds its run over, or already running, and does
/// nothing (`rollout::run`).
async fn queue(ctx: &FlowContext, flow_key: &str, flow: &FlowState) -> Result<(), JobError> {
    for queued in &flow.writes {
        let op = serde_json::to_value(&queued.write).map_err(|e| JobError::Fatal(e.to_string()))?;
        ctx.store.outbox_put(flow_key, &queued.key, &queued.entity_id, &op).await?;
    }
    for job in &flow.jobs {
        let new = cutover_jobs::NewJob { kind: job.kind.clone(), key: job.key.clone(), payload: job.payload.clone() };
        ctx.store.enqueue(&new).await?;
    }
    Ok(())
}

/// The first activity, queued before the slow part so it reaches Linear within seconds.
async fn acknowledge(
    ctx: &FlowContext,
    flow_key: &str,
    job: i64,
    flow: &FlowState,
    replanning: bool,
) -> Result<(), JobError> {
    if let Some(session_id) = &flow.session_id {
        let write =
            Write::activity(session_id, ActivityContent::Thought { body: messages::ack(&flow.identifier, replanning) });
        let op = serde_json::to_value(&write).map_err(|e| JobError::Fatal(e.to_string()))?;
        let key = format!("{flow_key}:j{job}:ack");
        ctx.store.outbox_put(flow_key, &key, &uuid::Uuid::new_v4().to_string(), &op).await?;
        // Sent now, while the plan is being made: Linear wants an activity within 10 s.
        ctx.outbox_wakeup.wake();
    }
    Ok(())
}

/// A human answered: approval, a request for changes, a stop, or anything else (re-plan).
async fn answer(
    ctx: &FlowContext,
    flow_key: &str,
    job: i64,
    flow: &mut FlowState,
    out: &mut Decisions,
    body: &str,
    stop: bool,
) -> Result<(), JobError> {
    let text = body.trim();
    if matches!(flow.stage, Stage::Approved | Stage::Completed) && flow.rollout.is_some() {
        // The plan is approved: replies are about its rollout.
        let command = if stop { Some(Command::Stop) } else { command::parse(text) };
        match command {
            Some(command) if ctx.rollout.as_ref().is_none_or(|c| c.from_session) => {
                return phases::on_command(ctx, flow_key, flow, out, command).await;
            }
            _ => {
                out.say("help", flow, ActivityContent::Response { body: rollout_help(flow) });
                return Ok(());
            }
        }
    }
    if stop {
        flow.stage = Stage::Stopped;
        out.say("stopped", flow, ActivityContent::Response { body: messages::stopped() });
        return Ok(());
    }
    match flow.stage {
        Stage::AwaitingApproval if is_approval(text) => approve(ctx, flow, out).await,
        Stage::AwaitingProposal if proposal::is_use(text) || is_approval(text) => {
            // Planning takes seconds: the thought first.
            acknowledge(ctx, flow_key, job, flow, false).await?;
            let issue = ctx.client.issue(&flow.issue_id).await?;
            match proposal::adopt(flow, out, issue) {
                Some(issue) => start_from(ctx, flow, out, issue).await,
                None => start(ctx, flow, out).await,
            }
        }
        Stage::AwaitingApproval | Stage::AwaitingProposal if text.eq_ignore_ascii_case(REQUEST_CHANGES) => {
            flow.proposal = None;
            flow.stage = Stage::AwaitingInput;
            out.say("what-to-change", flow, ActivityContent::Elicitation { body: messages::what_to_change() });
            Ok(())
        }
        Stage::Approved => {
            out.say(
                "already-approved",
                flow,
                ActivityContent::Response { body: messages::already_approved(&flow.identifier) },
            );
            Ok(())
        }
        _ => {
            acknowledge(ctx, flow_key, job, flow, flow.revision > 0).await?;
            start(ctx, flow, out).await
        }
    }
}

/// "Approve plan" (the select option), or a reply whose first word approves, once mentions
/// (profile URLs, @handles) are set aside: "approve", "Approved, thanks", "LGTM".
fn is_approval(text: &str) -> bool {
    let first = text
        .split_whitespace()
        .find(|w| !w.starts_with("https://") && !w.starts_with('@'))
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    text.trim().eq_ignore_ascii_case(APPROVE) || matches!(first.as_str(), "approve" | "approved" | "lgtm")
}

/// Reads the issue and the database, and posts the plan or says what is missing.
async fn start(ctx: &FlowContext, flow: &mut FlowState, out: &mut Decisions) -> Result<(), JobError> {
    let issue = ctx.client.issue(&flow.issue_id).await?;
    start_from(ctx, flow, out, issue).await
}

/// `start` for the issue as read (or as an adopted proposal makes it). An issue with an
/// objective and no DDL is drafted for when a model is configured.
async fn start_from(
    ctx: &FlowContext,
    flow: &mut FlowState,
    out: &mut Decisions,
    issue: Issue,
) -> Result<(), JobError> {
    flow.identifier = issue.identifier.clone();
    move_to_started(ctx, &issue, out).await?;

    let description = issue.description.as_deref().unwrap_or("");
    let parsed = cutover_request::parse(description);
    let Some(request) = parsed.request.clone() else {
        let elicitation = parsed.elicitation().unwrap_or_default();
        let drafts = cutover_draft::needs_draft(&parsed, description);
        if drafts && let Some(drafter) = &ctx.llm {
            proposal::propose(drafter, &ctx.planning, flow, out, &issue, &elicitation).await;
            return Ok(());
        }
        flow.stage = Stage::AwaitingInput;
        let body = if drafts { proposal::without_model(&elicitation) } else { elicitation };
        out.say("missing-fields", flow, ActivityContent::Elicitation { body });
        return Ok(());
    };
    let (plan, review) = match plan_reviewed(&ctx.planning, &request, &issue.identifier).await {
        Ok(planned) => (planned.plan, planned.review),
        Err(err) => {
            // The details stay here: what Linear gets names no server (messages::planning_failed).
            eprintln!("cutover: planning {} failed: {err}", issue.identifier);
            flow.stage = Stage::AwaitingInput;
            out.say("planning-failed", flow, ActivityContent::Error { body: messages::planning_failed(&err) });
            return Ok(());
        }
    };
    flow.request = Some(request.clone());
    if plan.is_empty() {
        flow.stage = Stage::Done;
        flow.plan = Some(plan);
        out.say("no-changes", flow, ActivityContent::Response { body: messages::no_changes() });
        return Ok(());
    }
    if let Some(question) = messages::contradiction(&plan, &request) {
        flow.stage = Stage::AwaitingInput;
        flow.plan = Some(plan);
        out.say("contradiction", flow, ActivityContent::Elicitation { body: question });
        return Ok(());
    }
    flow.revision += 1;
    out.push(
        "plan-comment",
        Write::Comment {
            issue_id: flow.issue_id.clone(),
            body: messages::plan_comment_reviewed(&plan, &review, flow.session_id.is_some()),
        },
    );
    if let Some(session_id) = &flow.session_id {
        out.push("approval", approval_question(session_id, &plan));
    }
    flow.stage = Stage::AwaitingApproval;
    flow.plan = Some(plan);
    Ok(())
}

/// The select elicitation that asks for approval of `plan` (or only for changes while it
/// has blockers).
fn approval_question(session_id: &str, plan: &Plan) -> Write {
    let options: Vec<_> = if plan.blockers.is_empty() { vec![APPROVE, REQUEST_CHANGES] } else { vec![REQUEST_CHANGES] };
    Write::Activity {
        session_id: session_id.to_string(),
        content: ActivityContent::Elicitation { body: messages::approval_question(plan) },
        ephemeral: false,
        signal: Some("select".into()),
        signal_metadata: Some(json!({ "options": options.iter().map(|o| json!({ "value": o })).collect::<Vec<_>>() })),
    }
}

/// Moves the issue to the team's first started state unless it is already started or closed
/// (Linear's agent guidance).
async fn move_to_started(ctx: &FlowContext, issue: &Issue, out: &mut Decisions) -> Result<(), JobError> {
    if matches!(issue.state.kind.as_str(), "started" | "completed" | "canceled") {
        return Ok(());
    }
    let states = ctx.client.team_states(&issue.team.id).await?;
    if let Some(state) = states.iter().find(|s| s.kind == "started") {
        out.push(
            "move-started",
            Write::MoveIssue { issue_id: issue.id.clone(), state_id: state.id.clone(), state_name: state.name.clone() },
        );
    }
    Ok(())
}

/// Approval: labels, one sub-issue per phase in rollout order, and the final response.
async fn approve(ctx: &FlowContext, flow: &mut FlowState, out: &mut Decisions) -> Result<(), JobError> {
    let (Some(plan), Some(request)) = (flow.plan.clone(), flow.request.clone()) else {
        return Err(JobError::Fatal("approval without a plan".into()));
    };
    if !plan.blockers.is_empty() {
        out.say("blocked", flow, ActivityContent::Elicitation { body: messages::approval_question(&plan) });
        return Ok(());
    }
    let issue = ctx.client.issue(&flow.issue_id).await?;
    let labels = messages::labels_for(&plan, &request);
    for name in &labels {
        let description = MANAGED_LABELS.iter().find(|(n, _)| n == name).map(|(_, d)| *d).unwrap_or("");
        out.push(
            &format!("label-{name}"),
            Write::EnsureLabel { team_id: issue.team.id.clone(), name: name.clone(), description: description.into() },
        );
    }
    out.push("label-issue", Write::AddLabels { issue_id: issue.id.clone(), label_names: labels.clone() });
    let mut pull = None;
    let mut impact = None;
    if let Some(target) = &ctx.github {
        match pull_request::prepare(target, &issue, &plan, flow.session_id.as_deref()).await {
            Ok((push, pr, found)) => {
                out.push("push-branch", push);
                pull = Some(pr);
                impact = Some(found);
            }
            Err(PrepareError::GitHub(err)) if err.is_retryable() => return Err(JobError::Retry(err.to_string())),
            // The rollout goes on without the pull request; the requester is told why.
            Err(err) => {
                eprintln!(
                    "cutover: preparing the pull request of {} in {} failed: {err}",
                    issue.identifier, target.repo
                );
                let body = messages::no_pull_request(&target.repo.full_name(), &err);
                out.say("pull-request-failed", flow, ActivityContent::Error { body });
            }
        }
    }
    let mut sub_issues = Vec::new();
    let mut application = Vec::new();
    let mut app_ids = Vec::new();
    let mut previous: Option<String> = None;
    let app_issues = crate::application::sub_issues(&issue.identifier, &plan, impact.as_ref());
    for (index, phase) in plan.phases.iter().enumerate() {
        // The application's work that must be done before this phase, in the chain before it.
        for (n, app) in app_issues.iter().filter(|a| a.before == phase.name).enumerate() {
            let id = out.push(
                &format!("application-{}-{n}", phase.name),
                Write::SubIssue {
                    team_id: issue.team.id.clone(),
                    parent_id: issue.id.clone(),
                    title: app.title.clone(),
                    description: app.description.clone(),
                    label_names: Vec::new(),
                },
            );
            application.push(app.title.clone());
            if app.title.contains(crate::application::UPDATE_APPLICATION) {
                app_ids.push((id.clone(), app.before));
            }
            if let Some(before) = previous.replace(id.clone()) {
                out.push(
                    &format!("blocks-application-{}-{n}", phase.name),
                    Write::Blocks { issue_id: before, related_issue_id: id },
                );
            }
        }
        let phase_labels = messages::labels_for_phase(&plan, index, &request);
        let id = out.push(
            &format!("phase-{}", phase.name),
            Write::SubIssue {
                team_id: issue.team.id.clone(),
                parent_id: issue.id.clone(),
                title: messages::phase_title(&issue.identifier, &plan, index, phase),
                description: messages::phase_description(&issue.identifier, &plan, index),
                label_names: phase_labels,
            },
        );
        sub_issues.push(id.clone());
        if let Some(before) = previous.replace(id.clone()) {
            out.push(&format!("blocks-{}", phase.name), Write::Blocks { issue_id: before, related_issue_id: id });
        }
    }
    if let Some(mut pr) = pull {
        if let Write::PullRequest { sub_issue_ids, .. } = &mut pr {
            *sub_issue_ids = sub_issues.clone();
        }
        out.push("pull-request", pr);
    }
    let mut rollout = Rollout::new(&issue.team.id, &plan, &sub_issues);
    rollout.application = app_ids;
    flow.rollout = Some(rollout);
    out.push(
        "approved",
        Write::Approved {
            session_id: flow.session_id.clone(),
            issue_id: issue.id.clone(),
            team_id: issue.team.id.clone(),
            phases: plan.phases.iter().map(|p| p.name.as_str().to_string()).collect(),
            application,
            label_names: labels,
        },
    );
    flow.stage = Stage::Approved;
    if let Some(config) = &ctx.rollout {
        phases::offer_next(flow, config, out);
    }
    Ok(())
}

/// What can be said to a rollout.
fn rollout_help(flow: &FlowState) -> String {
    format!(
        "The plan for {} is approved. I understand: **run PHASE** (or **run next**), **pause**, **resume**, **stop**, **retry** and **status**.",
        flow.identifier
    )
}
