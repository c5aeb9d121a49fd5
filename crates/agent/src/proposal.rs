//! The flow's drafting stage: an issue that says what it needs but gives no DDL
//! (`cutover_draft::needs_draft`) gets a proposal from the model (`drafting::draft`), posted as
//! a comment with its trade-offs and an approval question. Approved ("Use this proposal"),
//! the sections the description lacked are added to it (`cutover_draft::missing_sections`) and
//! the issue is planned like one a person wrote. Without a model, the requester is told what
//! drafting would need, with the usual list of missing sections.
//!
//! A proposal is only words until a person approves it, and then it is only a request: the
//! plan, its lint findings and blockers, and the plan's own approval all come after.

use cutover_draft::Answer;
use cutover_linear::types::{ActivityContent, Issue};
use cutover_plan::planner::Plan;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::drafting::{DraftError, DraftFailure, Drafter, draft};
use crate::flow::{Decisions, FlowState, Stage};
use crate::messages::REQUEST_CHANGES;
use crate::writes::Write;

/// The select option that approves a proposal.
pub const USE_PROPOSAL: &str = "Use this proposal";

/// A proposal waiting for the requester's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub answer: Answer,
    /// The plan it made against the schema when it was drafted.
    pub plan: Plan,
    pub destructive: bool,
}

/// What the drafter spent on one issue, every draft together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Answers asked of the model (repairs included).
    pub answers: u32,
    /// Drafts made (one per time the issue was drafted).
    pub drafts: u32,
}

impl DraftUsage {
    fn add(&mut self, usage: cutover_llm::Usage, answers: u32) {
        self.input_tokens += usage.input_tokens;
        self.output_tokens += usage.output_tokens;
        self.answers += answers;
        self.drafts += 1;
    }
}

/// Drafts a proposal for `issue` and posts it, or says why there is none (with `elicitation`,
/// the usual list of what is missing, so the requester can write the DDL instead).
pub(crate) async fn propose(
    drafter: &Drafter,
    planning: &crate::planning::PlanningConfig,
    flow: &mut FlowState,
    out: &mut Decisions,
    issue: &Issue,
    elicitation: &str,
) {
    let input = cutover_draft::Issue {
        identifier: issue.identifier.clone(),
        title: issue.title.clone(),
        description: issue.description.clone().unwrap_or_default(),
    };
    match draft(planning, &drafter.client, &drafter.config, &input).await {
        Ok(proposal) => {
            flow.draft_usage.add(proposal.usage, proposal.attempts);
            out.push("proposal-comment", Write::Comment { issue_id: flow.issue_id.clone(), body: proposal.comment() });
            if let Some(session_id) = &flow.session_id {
                out.push("proposal-question", question(session_id, &flow.identifier, proposal.destructive));
            }
            flow.proposal =
                Some(Pending { answer: proposal.answer, plan: proposal.plan, destructive: proposal.destructive });
            flow.stage = Stage::AwaitingProposal;
        }
        Err(err) => {
            flow.draft_usage.add(err.usage, err.attempts);
            // The details stay here: what Linear gets names no server.
            eprintln!("cutover: drafting {} failed: {err}", issue.identifier);
            flow.proposal = None;
            flow.stage = Stage::AwaitingInput;
            let body = draft_failed(&issue.identifier, &err, elicitation);
            out.say("draft-failed", flow, ActivityContent::Elicitation { body });
        }
    }
}

/// What is said to an issue to draft for when no model is configured.
pub(crate) fn without_model(elicitation: &str) -> String {
    format!("{}\n\n{}", elicitation.trim_end(), cutover_draft::WITHOUT_MODEL)
}

/// "Use this proposal" (the select option), or a reply that approves.
pub(crate) fn is_use(text: &str) -> bool {
    text.trim().eq_ignore_ascii_case(USE_PROPOSAL)
}

/// The approved proposal becomes the issue's description: the sections it lacked are
/// appended (one update carrying the whole description, so sending it twice changes nothing),
/// and `issue` is returned as it will read, to be planned. `None` without a pending proposal.
pub(crate) fn adopt(flow: &mut FlowState, out: &mut Decisions, mut issue: Issue) -> Option<Issue> {
    let pending = flow.proposal.take()?;
    let current = issue.description.clone().unwrap_or_default();
    let added = cutover_draft::missing_sections(&cutover_request::parse(&current), &pending.answer, &pending.plan);
    if !added.is_empty() {
        let description = format!("{}\n{added}", current.trim_end());
        out.push(
            "adopt-proposal",
            Write::UpdateDescription { issue_id: issue.id.clone(), description: description.clone() },
        );
        issue.description = Some(description);
    }
    Some(issue)
}

/// The select elicitation asking whether the posted proposal becomes the issue's change.
fn question(session_id: &str, identifier: &str, destructive: bool) -> Write {
    let warning = if destructive { "**This proposal deletes data** (see the comment). " } else { "" };
    let body = format!(
        "{warning}Use the proposal in the comment above as {identifier}'s change? **{USE_PROPOSAL}** adds its SQL to the description and plans it; **{REQUEST_CHANGES}** lets you edit the description or say what to change first."
    );
    Write::Activity {
        session_id: session_id.to_string(),
        content: ActivityContent::Elicitation { body },
        ephemeral: false,
        signal: Some("select".into()),
        signal_metadata: Some(json!({ "options": [{ "value": USE_PROPOSAL }, { "value": REQUEST_CHANGES }] })),
    }
}

/// Why no proposal came, in words that name no server, then what the issue lacks.
fn draft_failed(identifier: &str, err: &DraftError, elicitation: &str) -> String {
    let why = match &err.kind {
        DraftFailure::Database(_) | DraftFailure::Scratch(_) => {
            "the database could not be read or the scratch database prepared (the details are in Cutover's log)".into()
        }
        DraftFailure::Model(cutover_llm::Error::RateLimited { .. } | cutover_llm::Error::Timeout(_)) => {
            err.kind.to_string()
        }
        DraftFailure::Model(_) => {
            "the model's API refused or failed the request (the details are in Cutover's log)".into()
        }
        DraftFailure::OutOfTime { .. } | DraftFailure::OutOfTokens { .. } | DraftFailure::GaveUp { .. } => {
            cutover_plan::markdown::text(&err.kind.to_string())
        }
    };
    format!(
        "I could not draft the DDL for {identifier}: {why}. Reply here to try again, or write it yourself.\n\n{}",
        elicitation.trim_end()
    )
}
