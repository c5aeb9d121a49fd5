//! Agent API semantics: sessions, activities and the status Linear derives from them.
//!
//! Linear never lets an agent set a session's status; it follows from the last activity
//! (thought/action → active, elicitation → awaitingInput, response → complete, error →
//! error). An ephemeral activity is replaced by the next activity of its session, and
//! response/elicitation/error activities are mirrored as replies in the session's thread.
//! The fake also records how long the agent took to show a first sign of life (an activity
//! or an external URL), which Linear requires within 10 s of the session's creation.

use serde_json::{Map, Value};

use crate::domain::{NewComment, create_comment, new_id, require_issue};
use crate::errors::FieldError;
use crate::state::{AgentActivity, AgentSession, ExternalLink, Id, State};

pub(crate) struct NewSession {
    /// Issue UUID or identifier.
    pub(crate) issue: String,
    pub(crate) app_user_id: Id,
    pub(crate) creator_id: Option<Id>,
    /// Open a comment thread for the session (sessions started by a human have one).
    pub(crate) with_thread: bool,
    pub(crate) external_links: Vec<ExternalLink>,
}

pub(crate) fn create_session(state: &mut State, new: NewSession) -> Result<Id, FieldError> {
    let issue_id = require_issue(state, &new.issue)?;
    let app = state.users.get(&new.app_user_id).ok_or_else(|| FieldError::not_found("User"))?;
    if !app.app {
        return Err(FieldError::forbidden("Only app users (actor=app) can own agent sessions"));
    }
    let app_name = app.display_name.clone();
    let id = crate::state::new_uuid();
    let comment_id = match (&new.creator_id, new.with_thread) {
        (Some(creator), true) => Some(create_comment(
            state,
            NewComment {
                id: None,
                issue: issue_id.clone(),
                parent_id: None,
                body: format!("This thread is for an agent session with {app_name}."),
                user_id: creator.clone(),
            },
        )?),
        _ => None,
    };
    let now = state.stamp();
    let mut session = AgentSession {
        id: id.clone(),
        issue_id,
        app_user_id: new.app_user_id,
        creator_id: new.creator_id,
        comment_id,
        status: "pending".to_owned(),
        created: now,
        created_instant: std::time::Instant::now(),
        first_response_after: None,
        updated: now,
        started_at: None,
        ended_at: None,
        plan: None,
        external_links: Vec::new(),
    };
    if !new.external_links.is_empty() {
        session.external_links = new.external_links;
        session.first_response_after = Some(session.created_instant.elapsed());
    }
    state.sessions.insert(id.clone(), session);
    Ok(id)
}

pub(crate) struct NewActivity {
    pub(crate) id: Option<String>,
    pub(crate) session_id: String,
    pub(crate) content: Value,
    pub(crate) ephemeral: bool,
    pub(crate) signal: Option<String>,
    pub(crate) signal_metadata: Option<Value>,
}

/// The status a session moves to after an agent activity of `kind`.
fn status_after(kind: &str, signal: Option<&str>) -> &'static str {
    match (kind, signal) {
        ("elicitation", _) => "awaitingInput",
        // `continue` on a response keeps the session open.
        ("response", Some("continue")) => "active",
        ("response", _) => "complete",
        ("error", _) => "error",
        _ => "active",
    }
}

/// Checks an agent activity's content like Linear: a known type and its required fields.
fn check_content(content: &Value) -> Result<(String, Map<String, Value>), FieldError> {
    let Value::Object(map) = content else {
        return Err(FieldError::invalid("content must be a JSON object"));
    };
    let kind = map
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| FieldError::invalid("content.type is required"))?
        .to_owned();
    let required: &[&str] = match kind.as_str() {
        "thought" | "elicitation" | "response" | "error" => &["body"],
        "action" => &["action", "parameter"],
        "prompt" => {
            return Err(FieldError::invalid("prompt activities are created by users, not by agents"));
        }
        other => {
            return Err(FieldError::invalid(format!(
                "Unknown agent activity type `{other}` (expected thought, action, elicitation, response or error)"
            )));
        }
    };
    for field in required {
        let present = map.get(*field).and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty());
        if !present {
            return Err(FieldError::invalid(format!("content.{field} is required for {kind} activities")));
        }
    }
    if let Some(result) = map.get("result")
        && !(result.is_null() || result.is_string())
    {
        return Err(FieldError::invalid("content.result must be a string"));
    }
    Ok((kind, map.clone()))
}

pub(crate) fn create_agent_activity(state: &mut State, new: NewActivity, actor: &str) -> Result<Id, FieldError> {
    let id = new_id(new.id.as_deref(), |id| state.activities.contains_key(id))?;
    let session = state.sessions.get(&new.session_id).ok_or_else(|| FieldError::not_found("AgentSession"))?;
    if session.app_user_id != actor {
        return Err(FieldError::forbidden("Only the session's app user can emit activities into it"));
    }
    let session_id = session.id.clone();
    let thread = session.comment_id.clone();
    let issue_id = session.issue_id.clone();
    let (kind, content) = check_content(&new.content)?;
    if new.ephemeral && !matches!(kind.as_str(), "thought" | "action") {
        return Err(FieldError::invalid("Only thought and action activities can be ephemeral"));
    }
    match (new.signal.as_deref(), kind.as_str()) {
        (None, _) | (Some("auth" | "select"), "elicitation") | (Some("continue"), "response") => {}
        (Some("stop"), _) => {
            return Err(FieldError::invalid("The stop signal is sent by users on prompts, not by agents"));
        }
        (Some(signal), kind) => {
            return Err(FieldError::invalid(format!("Signal `{signal}` is not valid on a {kind} activity")));
        }
    }

    // Linear mirrors these into the session's thread so humans see them as comments.
    let source_comment_id = match (&thread, kind.as_str()) {
        (Some(thread), "response" | "elicitation" | "error") => {
            let body = content.get("body").and_then(Value::as_str).unwrap_or_default().to_owned();
            Some(create_comment(
                state,
                NewComment {
                    id: None,
                    issue: issue_id,
                    parent_id: Some(thread.clone()),
                    body,
                    user_id: actor.to_owned(),
                },
            )?)
        }
        _ => None,
    };
    remove_ephemeral(state, &session_id);
    let now = state.stamp();
    let status = status_after(&kind, new.signal.as_deref());
    state.activities.insert(
        id.clone(),
        AgentActivity {
            id: id.clone(),
            session_id: session_id.clone(),
            user_id: actor.to_owned(),
            content: Value::Object(content),
            ephemeral: new.ephemeral,
            signal: new.signal,
            signal_metadata: new.signal_metadata,
            source_comment_id,
            created: now,
        },
    );
    if let Some(session) = state.sessions.get_mut(&session_id) {
        session.first_response_after.get_or_insert_with(|| session.created_instant.elapsed());
        session.started_at.get_or_insert(now);
        session.status = status.to_owned();
        session.ended_at = matches!(status, "complete" | "error").then_some(now);
        session.updated = now;
    }
    Ok(id)
}

/// The ephemeral activity of a session (at most one: each is replaced by the next activity).
fn remove_ephemeral(state: &mut State, session_id: &str) {
    state.activities.retain(|_, a| !(a.session_id == session_id && a.ephemeral));
}

/// A human's message into a session (`prompted`): a reply in the session's thread and a
/// `prompt` activity. It reopens a finished session; `stop` asks the agent to halt.
pub(crate) fn human_prompt(
    state: &mut State,
    session_id: &str,
    user_id: &str,
    body: &str,
    signal: Option<&str>,
) -> Result<Id, FieldError> {
    let session = state.sessions.get(session_id).ok_or_else(|| FieldError::not_found("AgentSession"))?;
    if let Some(signal) = signal
        && signal != "stop"
    {
        return Err(FieldError::invalid(format!("Users send the stop signal only, not `{signal}`")));
    }
    let thread = session.comment_id.clone();
    let issue_id = session.issue_id.clone();
    let source_comment_id = match thread {
        Some(thread) => Some(create_comment(
            state,
            NewComment {
                id: None,
                issue: issue_id,
                parent_id: Some(thread),
                body: body.to_owned(),
                user_id: user_id.to_owned(),
            },
        )?),
        None => None,
    };
    remove_ephemeral(state, session_id);
    let id = crate::state::new_uuid();
    let now = state.stamp();
    state.activities.insert(
        id.clone(),
        AgentActivity {
            id: id.clone(),
            session_id: session_id.to_owned(),
            user_id: user_id.to_owned(),
            content: serde_json::json!({"type": "prompt", "body": body}),
            ephemeral: false,
            signal: signal.map(str::to_owned),
            signal_metadata: None,
            source_comment_id,
            created: now,
        },
    );
    if let Some(session) = state.sessions.get_mut(session_id) {
        // The agent owes an answer again: a finished or waiting session becomes pending.
        if session.status != "active" {
            session.status = "pending".to_owned();
            session.ended_at = None;
        }
        session.updated = now;
    }
    Ok(id)
}

#[derive(Debug, Default)]
pub(crate) struct SessionPatch {
    pub(crate) external_urls: Option<Vec<ExternalLink>>,
    pub(crate) added_external_urls: Vec<ExternalLink>,
    pub(crate) removed_external_urls: Vec<String>,
    pub(crate) plan: Option<Value>,
}

pub(crate) fn update_session(
    state: &mut State,
    session_id: &str,
    patch: SessionPatch,
    actor: &str,
) -> Result<Id, FieldError> {
    let now = state.stamp();
    let session = state.sessions.get_mut(session_id).ok_or_else(|| FieldError::not_found("AgentSession"))?;
    if session.app_user_id != actor {
        return Err(FieldError::forbidden("Only the session's app user can update it"));
    }
    if let Some(links) = patch.external_urls {
        session.external_links = links;
    }
    for link in patch.added_external_urls {
        session.external_links.retain(|l| l.url != link.url);
        session.external_links.push(link);
    }
    session.external_links.retain(|l| !patch.removed_external_urls.contains(&l.url));
    if let Some(plan) = patch.plan {
        session.plan = Some(plan);
    }
    // An external URL also counts as the agent's first sign of life.
    if !session.external_links.is_empty() {
        session.first_response_after.get_or_insert_with(|| session.created_instant.elapsed());
    }
    session.updated = now;
    Ok(session.id.clone())
}
