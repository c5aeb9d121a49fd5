//! What the humans of the workspace do, outside GraphQL: create issues, label them, delegate
//! them to the app, prompt its sessions, mention it. Each action that Linear would announce
//! by webhook returns the event payload, ready for [`crate::deliver`].

use serde_json::{Value, json};

use crate::FakeLinear;
use crate::agent::{self, NewSession};
use crate::domain::{self, IssuePatch, NewComment, NewIssue, Patch};
use crate::errors::FakeError;
use crate::events;
use crate::state::State;

/// An issue's UUID and identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRef {
    pub id: String,
    pub identifier: String,
}

/// Misuse of the helpers (a typo in an identifier) names what was looked for.
fn missing(kind: &str, key: &str) -> FakeError {
    FakeError::new(format!("no {kind} `{key}` in the fake workspace"))
}

fn issue_ref(state: &State, id: &str) -> Result<IssueRef, FakeError> {
    state
        .issues
        .get(id)
        .map(|i| IssueRef { id: i.id.clone(), identifier: i.identifier.clone() })
        .ok_or_else(|| missing("issue", id))
}

impl FakeLinear {
    /// A human creates an issue in the team's default (backlog) state.
    pub fn create_issue(
        &self,
        team_key: &str,
        title: &str,
        description: &str,
        creator: &str,
    ) -> Result<IssueRef, FakeError> {
        let mut state = self.lock();
        if !state.users.contains_key(creator) {
            return Err(missing("user", creator));
        }
        let team = state.find_team(team_key).map(|t| t.id.clone()).ok_or_else(|| missing("team", team_key))?;
        let id = domain::create_issue(
            &mut state,
            NewIssue {
                team,
                title: title.to_owned(),
                description: (!description.is_empty()).then(|| description.to_owned()),
                creator_id: Some(creator.to_owned()),
                ..NewIssue::default()
            },
        )?;
        issue_ref(&state, &id)
    }

    /// A human adds a label (by name; workspace or the issue's team) to an issue.
    pub fn label_issue(&self, issue: &str, label_name: &str) -> Result<(), FakeError> {
        let mut state = self.lock();
        let team_id = state.find_issue(issue).map(|i| i.team_id.clone()).ok_or_else(|| missing("issue", issue))?;
        let label = state
            .labels
            .values()
            .find(|l| l.name == label_name && l.team_id.as_deref().is_none_or(|t| t == team_id))
            .map(|l| l.id.clone())
            .ok_or_else(|| missing("label", label_name))?;
        let human = state.human_id.clone();
        let patch = IssuePatch { added_label_ids: vec![label], ..IssuePatch::default() };
        domain::update_issue(&mut state, issue, patch, &human)?;
        Ok(())
    }

    /// A human moves an issue to the team's state named `state_name` ("Done"). Returns the
    /// `Issue` `update` event Linear sends for it, with `updatedFrom.stateId` the state before.
    pub fn move_issue(&self, issue: &str, state_name: &str) -> Result<Value, FakeError> {
        let mut state = self.lock();
        let (team_id, before) = state
            .find_issue(issue)
            .map(|i| (i.team_id.clone(), i.state_id.clone()))
            .ok_or_else(|| missing("issue", issue))?;
        let state_id = state
            .team_states(&team_id)
            .find(|s| s.name == state_name)
            .map(|s| s.id.clone())
            .ok_or_else(|| missing("workflow state", state_name))?;
        let human = state.human_id.clone();
        let patch = IssuePatch { state_id: Some(state_id), ..IssuePatch::default() };
        domain::update_issue(&mut state, issue, patch, &human)?;
        let issue = state.find_issue(issue).ok_or_else(|| missing("issue", issue))?;
        let actor = state.users.get(&human).ok_or_else(|| missing("user", &human))?;
        Ok(events::entity_event(
            &state,
            "update",
            "Issue",
            actor,
            events::issue_data(&state, issue),
            Some(state.issue_url(issue)),
            Some(json!({ "updatedAt": issue.updated.iso(), "stateId": before })),
        ))
    }

    /// The `Issue` `create` event of an existing issue (`issue.create.json`).
    pub fn issue_created_event(&self, issue: &str) -> Result<Value, FakeError> {
        let state = self.lock();
        let issue = state.find_issue(issue).ok_or_else(|| missing("issue", issue))?;
        let creator = issue
            .creator_id
            .as_ref()
            .and_then(|c| state.users.get(c))
            .or_else(|| state.users.get(&state.human_id))
            .ok_or_else(|| missing("user", "creator"))?;
        Ok(events::entity_event(
            &state,
            "create",
            "Issue",
            creator,
            events::issue_data(&state, issue),
            Some(state.issue_url(issue)),
            None,
        ))
    }

    /// The human delegates the issue to the app user: `delegate` becomes the app, the human
    /// becomes assignee if nobody was, and an agent session (status `pending`, with a comment
    /// thread) opens. Returns the session id and the `AgentSessionEvent` `created` payload.
    pub fn delegate_to_app(&self, issue: &str) -> Result<(String, Value), FakeError> {
        let mut state = self.lock();
        delegate(&mut state, issue)?;
        let human = state.human_id.clone();
        let app = state.app_id.clone();
        let session_id = agent::create_session(
            &mut state,
            NewSession {
                issue: issue.to_owned(),
                app_user_id: app,
                creator_id: Some(human),
                with_thread: true,
                external_links: Vec::new(),
            },
        )?;
        let session = state.sessions.get(&session_id).ok_or_else(|| missing("agent session", &session_id))?;
        let event = events::session_created(&state, session);
        Ok((session_id, event))
    }

    /// The `Issue` `update` event of the delegation (`issue.update.delegated.json`), with
    /// `updatedFrom` holding the values before it. Delegates first if the issue is not
    /// delegated to the app yet (without opening a session: the API-key path).
    pub fn issue_updated_delegated(&self, issue: &str) -> Result<Value, FakeError> {
        let mut state = self.lock();
        let app = state.app_id.clone();
        let delegated =
            state.find_issue(issue).ok_or_else(|| missing("issue", issue))?.delegate_id.as_ref() == Some(&app);
        if !delegated {
            delegate(&mut state, issue)?;
        }
        let issue = state.find_issue(issue).ok_or_else(|| missing("issue", issue))?;
        let change = issue.last_delegation.clone();
        let actor_id = change.as_ref().map_or_else(|| state.human_id.clone(), |c| c.actor_id.clone());
        let actor = state.users.get(&actor_id).ok_or_else(|| missing("user", &actor_id))?;
        let mut updated_from = serde_json::Map::new();
        if let Some(change) = change {
            updated_from.insert("updatedAt".into(), json!(change.updated_at.iso()));
            updated_from.insert("delegateId".into(), json!(change.delegate_id));
            if change.assignee_id != issue.assignee_id {
                updated_from.insert("assigneeId".into(), json!(change.assignee_id));
            }
            if change.subscriber_ids != issue.subscriber_ids {
                updated_from.insert("subscriberIds".into(), json!(change.subscriber_ids));
            }
        }
        Ok(events::entity_event(
            &state,
            "update",
            "Issue",
            actor,
            events::issue_data(&state, issue),
            Some(state.issue_url(issue)),
            Some(Value::Object(updated_from)),
        ))
    }

    /// The session's creator writes `body` into the session (a reply in its thread and a
    /// `prompt` activity; `signal` may be `"stop"`). Returns the `prompted` payload.
    pub fn prompt(&self, session_id: &str, body: &str, signal: Option<&str>) -> Result<Value, FakeError> {
        let mut state = self.lock();
        let user = state
            .sessions
            .get(session_id)
            .ok_or_else(|| missing("agent session", session_id))?
            .creator_id
            .clone()
            .unwrap_or_else(|| state.human_id.clone());
        let activity_id = agent::human_prompt(&mut state, session_id, &user, body, signal)?;
        let (Some(session), Some(activity)) = (state.sessions.get(session_id), state.activities.get(&activity_id))
        else {
            return Err(missing("agent session", session_id));
        };
        Ok(events::session_prompted(&state, session, activity))
    }

    /// The human comments on the issue mentioning the app (its profile URL is put first
    /// unless `body` already contains it). Returns the `Comment` `create` payload.
    pub fn comment_mentioning_app(&self, issue: &str, body: &str) -> Result<Value, FakeError> {
        let mut state = self.lock();
        let app_url = state.users.get(&state.app_id).map(|u| state.profile_url(u)).unwrap_or_default();
        let body = if body.contains(&app_url) { body.to_owned() } else { format!("{app_url} {body}") };
        let human = state.human_id.clone();
        let id = domain::create_comment(
            &mut state,
            NewComment { id: None, issue: issue.to_owned(), parent_id: None, body, user_id: human.clone() },
        )?;
        let (Some(comment), Some(actor)) = (state.comments.get(&id), state.users.get(&human)) else {
            return Err(missing("comment", &id));
        };
        Ok(events::entity_event(
            &state,
            "create",
            "Comment",
            actor,
            events::comment_data(&state, comment),
            state.comment_url(comment),
            None,
        ))
    }
}

/// Delegation as a human does it in Linear's UI: delegate = app, and the human becomes the
/// assignee when the issue had none.
fn delegate(state: &mut State, issue: &str) -> Result<(), FakeError> {
    let human = state.human_id.clone();
    let app = state.app_id.clone();
    let unassigned = state.find_issue(issue).ok_or_else(|| missing("issue", issue))?.assignee_id.is_none();
    let patch = IssuePatch {
        delegate_id: Patch::Set(app),
        assignee_id: if unassigned { Patch::Set(human.clone()) } else { Patch::Absent },
        ..IssuePatch::default()
    };
    domain::update_issue(state, issue, patch, &human)?;
    Ok(())
}
