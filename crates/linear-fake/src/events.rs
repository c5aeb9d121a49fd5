//! Webhook payloads in the exact shapes of `tests/linear-examples/*.json`: the `Issue` and
//! `Comment` entity envelopes and the `AgentSessionEvent` (`created`, `prompted`) events.
//!
//! `webhookTimestamp` is stamped with the current time here and again by the sender on each
//! attempt; `webhookId` is the workspace's webhook subscription id, which is the same for
//! every delivery on Linear (receivers must dedupe on `Linear-Delivery`, not on it).

use chrono::Utc;
use serde_json::{Map, Value, json};

use crate::state::{AgentActivity, AgentSession, Comment, Issue, State, User};
use crate::views::{priority_label, webhook_user};

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn user_json(state: &State, id: Option<&String>) -> Value {
    id.and_then(|id| state.users.get(id)).map_or(Value::Null, |u| webhook_user(state, u))
}

/// `actor` of an entity event: a user, typed as such.
fn actor_json(state: &State, user: &User) -> Value {
    let mut actor = webhook_user(state, user);
    if let Value::Object(map) = &mut actor {
        map.insert("type".into(), json!("user"));
    }
    actor
}

fn team_json(state: &State, team_id: &str) -> Value {
    state.teams.get(team_id).map_or(Value::Null, |t| json!({"id": t.id, "key": t.key, "name": t.name}))
}

/// `IssueWebhookPayload` as in `issue.create.json` / `issue.update.delegated.json`.
pub(crate) fn issue_data(state: &State, issue: &Issue) -> Value {
    let workflow_state = state
        .states
        .get(&issue.state_id)
        .map_or(Value::Null, |s| json!({"id": s.id, "name": s.name, "color": s.color, "type": s.kind}));
    let labels: Vec<Value> = issue
        .label_ids
        .iter()
        .filter_map(|id| state.labels.get(id))
        .map(|l| json!({"id": l.id, "name": l.name, "color": l.color, "parentId": l.parent_id}))
        .collect();
    let stamp = |s: Option<&crate::state::Stamp>| s.map(|s| s.iso());
    let mut data = json!({
        "id": issue.id,
        "createdAt": issue.created.iso(),
        "updatedAt": issue.updated.iso(),
        "archivedAt": null,
        "number": issue.number,
        "identifier": issue.identifier,
        "title": issue.title,
        "description": issue.description,
        "priority": issue.priority,
        "priorityLabel": priority_label(issue.priority),
        "prioritySortOrder": 0.0,
        "sortOrder": -(issue.number as f64),
        "estimate": null,
        "startedAt": stamp(issue.started_at.as_ref()),
        "completedAt": stamp(issue.completed_at.as_ref()),
        "canceledAt": stamp(issue.canceled_at.as_ref()),
        "dueDate": null,
        "trashed": null,
        "teamId": issue.team_id,
        "team": team_json(state, &issue.team_id),
        "stateId": issue.state_id,
        "state": workflow_state,
        "creatorId": issue.creator_id,
        "creator": user_json(state, issue.creator_id.as_ref()),
        "assigneeId": issue.assignee_id,
        "delegateId": issue.delegate_id,
        "parentId": issue.parent_id,
        "projectId": null,
        "cycleId": null,
        "labelIds": issue.label_ids,
        "labels": labels,
        "subscriberIds": issue.subscriber_ids,
        "previousIdentifiers": [],
        "reactionData": [],
        "botActor": null,
        "integrationSourceType": null,
        "url": state.issue_url(issue),
    });
    // Like Linear, the expanded relations are present only when set.
    if let Value::Object(map) = &mut data {
        if issue.delegate_id.is_some() {
            map.insert("delegate".into(), user_json(state, issue.delegate_id.as_ref()));
        }
        if issue.assignee_id.is_some() {
            map.insert("assignee".into(), user_json(state, issue.assignee_id.as_ref()));
        }
    }
    data
}

/// The `EntityWebhookPayload` envelope.
pub(crate) fn entity_event(
    state: &State,
    action: &str,
    entity_type: &str,
    actor: &User,
    data: Value,
    url: Option<String>,
    updated_from: Option<Value>,
) -> Value {
    let mut event = Map::new();
    event.insert("action".into(), json!(action));
    event.insert("actor".into(), actor_json(state, actor));
    event.insert("createdAt".into(), json!(crate::state::iso(Utc::now())));
    event.insert("data".into(), data);
    if let Some(updated_from) = updated_from {
        event.insert("updatedFrom".into(), updated_from);
    }
    event.insert("url".into(), json!(url));
    event.insert("type".into(), json!(entity_type));
    event.insert("organizationId".into(), json!(state.org.id));
    event.insert("webhookTimestamp".into(), json!(now_ms()));
    event.insert("webhookId".into(), json!(state.org.webhook_subscription_id));
    Value::Object(event)
}

/// `CommentWebhookPayload` as in `comment.create.json`.
pub(crate) fn comment_data(state: &State, comment: &Comment) -> Value {
    let issue = state.issues.get(&comment.issue_id).map_or(Value::Null, |i| {
        json!({
            "id": i.id,
            "identifier": i.identifier,
            "title": i.title,
            "url": state.issue_url(i),
            "teamId": i.team_id,
            "team": team_json(state, &i.team_id),
        })
    });
    json!({
        "id": comment.id,
        "createdAt": comment.created.iso(),
        "updatedAt": comment.updated.iso(),
        "archivedAt": null,
        "editedAt": comment.edited_at.map(|s| s.iso()),
        "body": comment.body,
        "issueId": comment.issue_id,
        "issue": issue,
        "parentId": comment.parent_id,
        "userId": comment.user_id,
        "user": user_json(state, Some(&comment.user_id)),
        "botActor": null,
        "reactionData": crate::views::reaction_data(state, &comment.id),
        "resolvedAt": null,
        "resolvingCommentId": null,
        "resolvingUserId": null,
        "quotedText": null,
        "syncedWith": null,
    })
}

/// `AgentSessionWebhookPayload`.
fn session_json(state: &State, session: &AgentSession) -> Value {
    let issue = state.issues.get(&session.issue_id);
    let issue_json = issue.map_or(Value::Null, |i| {
        json!({
            "id": i.id,
            "identifier": i.identifier,
            "title": i.title,
            "description": i.description,
            "url": state.issue_url(i),
            "teamId": i.team_id,
            "team": team_json(state, &i.team_id),
        })
    });
    let comment = session.comment_id.as_ref().and_then(|id| state.comments.get(id));
    let comment_json = comment
        .map_or(Value::Null, |c| json!({"id": c.id, "body": c.body, "issueId": c.issue_id, "userId": c.user_id}));
    json!({
        "id": session.id,
        "createdAt": session.created.iso(),
        "updatedAt": session.updated.iso(),
        "archivedAt": null,
        "appUserId": session.app_user_id,
        "organizationId": state.org.id,
        "creatorId": session.creator_id,
        "creator": user_json(state, session.creator_id.as_ref()),
        "issueId": session.issue_id,
        "issue": issue_json,
        "commentId": session.comment_id,
        "comment": comment_json,
        "sourceCommentId": null,
        "sourceMetadata": null,
        "status": session.status,
        "type": "commentThread",
        "startedAt": session.started_at.map(|s| s.iso()),
        "endedAt": session.ended_at.map(|s| s.iso()),
        "summary": null,
        "url": state.session_url(session),
    })
}

fn session_envelope(state: &State, action: &str, session: &AgentSession) -> Map<String, Value> {
    let mut event = Map::new();
    event.insert("type".into(), json!("AgentSessionEvent"));
    event.insert("action".into(), json!(action));
    event.insert("createdAt".into(), json!(crate::state::iso(Utc::now())));
    event.insert("organizationId".into(), json!(state.org.id));
    event.insert("oauthClientId".into(), json!(state.org.oauth_client_id));
    event.insert("appUserId".into(), json!(session.app_user_id));
    event.insert("agentSession".into(), session_json(state, session));
    event
}

/// `AgentSessionEvent` `created`, with guidance and the prompt context built from the issue.
pub(crate) fn session_created(state: &State, session: &AgentSession) -> Value {
    let mut event = session_envelope(state, "created", session);
    let issue = state.issues.get(&session.issue_id);
    let team = issue.and_then(|i| state.teams.get(&i.team_id));
    let guidance: Vec<Value> = team
        .map(|t| {
            t.guidance
                .iter()
                .map(|body| {
                    json!({
                        "body": body,
                        "origin": {
                            "type": "Team",
                            "team": {
                                "id": t.id,
                                "key": t.key,
                                "name": t.name,
                                "displayName": t.name,
                                "parentId": null,
                            },
                        },
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    event.insert("agentActivity".into(), Value::Null);
    event.insert("previousComments".into(), json!([]));
    event.insert("guidance".into(), Value::Array(guidance));
    event.insert("promptContext".into(), issue.map_or(Value::Null, |i| json!(prompt_context(state, i))));
    event.insert("webhookTimestamp".into(), json!(now_ms()));
    event.insert("webhookId".into(), json!(state.org.webhook_subscription_id));
    Value::Object(event)
}

/// `AgentSessionEvent` `prompted`: the user's text is at `agentActivity.content.body`.
pub(crate) fn session_prompted(state: &State, session: &AgentSession, activity: &AgentActivity) -> Value {
    let mut event = session_envelope(state, "prompted", session);
    event.insert(
        "agentActivity".into(),
        json!({
            "id": activity.id,
            "createdAt": activity.created.iso(),
            "updatedAt": activity.created.iso(),
            "archivedAt": null,
            "agentSessionId": activity.session_id,
            "sourceCommentId": activity.source_comment_id,
            "userId": activity.user_id,
            "user": user_json(state, Some(&activity.user_id)),
            "content": activity.content,
            "signal": activity.signal,
            "signalMetadata": activity.signal_metadata,
        }),
    );
    event.insert("webhookTimestamp".into(), json!(now_ms()));
    event.insert("webhookId".into(), json!(state.org.webhook_subscription_id));
    Value::Object(event)
}

/// Linear's XML-ish prompt context: the issue, its team and labels, then team guidance.
pub(crate) fn prompt_context(state: &State, issue: &Issue) -> String {
    let mut out = format!("<issue identifier=\"{}\">\n", issue.identifier);
    out.push_str(&format!("<title>{}</title>\n", issue.title));
    if let Some(description) = &issue.description {
        out.push_str(&format!("<description>{}</description>\n", description.trim_end()));
    }
    let team = state.teams.get(&issue.team_id);
    if let Some(team) = team {
        out.push_str(&format!("<team name=\"{}\"/>\n", team.name));
    }
    for label in issue.label_ids.iter().filter_map(|id| state.labels.get(id)) {
        out.push_str(&format!("<label>{}</label>\n", label.name));
    }
    out.push_str("</issue>");
    if let Some(team) = team.filter(|t| !t.guidance.is_empty()) {
        out.push_str("\n\n<guidance>");
        for rule in &team.guidance {
            out.push_str(&format!("<guidance-rule origin=\"team\" team-name=\"{}\">{rule}</guidance-rule>", team.name));
        }
        out.push_str("</guidance>");
    }
    out
}
