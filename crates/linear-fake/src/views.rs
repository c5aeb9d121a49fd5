//! The GraphQL view of each stored entity: which fields the fake models and their values.
//!
//! A field missing here is reported to the client as "not modelled" instead of being
//! answered with a made-up null; everything the operations of `operations.graphql` select is
//! here, plus the obvious neighbours.

use serde_json::{Value, json};

use crate::execute::{ConnNode, EntityRef, Kind, Obj, Val};
use crate::state::{AgentActivity, AgentSession, Comment, Issue, Stamp, State, User, short_id};

/// Loads one entity as seen by `viewer` (only `User.isMe` depends on who asks).
pub(crate) fn load(state: &State, viewer: &str, entity: &EntityRef) -> Option<Obj> {
    let id = entity.id.as_str();
    Some(match entity.kind {
        Kind::Organization => organization(state),
        Kind::User => user(state, viewer, state.users.get(id)?),
        Kind::Team => team(state, id)?,
        Kind::WorkflowState => workflow_state(state, id)?,
        Kind::IssueLabel => label(state, id)?,
        Kind::Issue => issue(state, state.issues.get(id)?),
        Kind::Comment => comment(state, state.comments.get(id)?),
        Kind::Reaction => reaction(state, id)?,
        Kind::Attachment => attachment(state, id)?,
        Kind::IssueRelation => relation(state, id)?,
        Kind::AgentSession => agent_session(state, state.sessions.get(id)?),
        Kind::AgentActivity => agent_activity(state.activities.get(id)?),
        Kind::Webhook => webhook(state, id)?,
    })
}

fn stamp(s: &Stamp) -> Val {
    Val::leaf(s.iso())
}

fn opt_stamp(s: Option<&Stamp>) -> Val {
    Val::opt_leaf(s.map(Stamp::iso))
}

fn organization(state: &State) -> Obj {
    let org = &state.org;
    Obj::new("Organization")
        .with("id", Val::leaf(org.id.clone()))
        .with("name", Val::leaf(org.name.clone()))
        .with("urlKey", Val::leaf(org.url_key.clone()))
        .with("gitBranchFormat", Val::Null)
        .with("createdAt", stamp(&org.created))
        .with("updatedAt", stamp(&org.created))
}

fn user(state: &State, viewer: &str, user: &User) -> Obj {
    let initials: String = user.name.split_whitespace().filter_map(|w| w.chars().next()).take(2).collect();
    Obj::new("User")
        .with("id", Val::leaf(user.id.clone()))
        .with("name", Val::leaf(user.name.clone()))
        .with("displayName", Val::leaf(user.display_name.clone()))
        .with("email", Val::leaf(user.email.clone()))
        .with("app", Val::leaf(user.app))
        .with("admin", Val::leaf(user.admin))
        .with("active", Val::leaf(true))
        .with("guest", Val::leaf(false))
        .with("isMe", Val::leaf(user.id == viewer))
        .with("isAssignable", Val::leaf(true))
        .with("isMentionable", Val::leaf(true))
        .with("supportsAgentSessions", Val::leaf(user.app))
        .with("initials", Val::leaf(initials.to_uppercase()))
        .with("avatarUrl", Val::opt_leaf(user.avatar_url.clone()))
        .with("url", Val::leaf(state.profile_url(user)))
        .with("createdAt", stamp(&user.created))
        .with("updatedAt", stamp(&user.created))
        .with("archivedAt", Val::Null)
        .with("organization", Val::entity(Kind::Organization, &state.org.id))
}

fn team(state: &State, id: &str) -> Option<Obj> {
    let team = state.teams.get(id)?;
    let states =
        state.team_states(id).map(|s| ConnNode::entity(Kind::WorkflowState, &s.id, s.created, s.created)).collect();
    let labels = state
        .labels
        .values()
        .filter(|l| l.team_id.as_deref() == Some(id))
        .map(|l| ConnNode::entity(Kind::IssueLabel, &l.id, l.created, l.created))
        .collect();
    let issues = issue_nodes(state.issues.values().filter(|i| i.team_id == id));
    let triage = state.team_states(id).find(|s| s.kind == "triage");
    Some(
        Obj::new("Team")
            .with("id", Val::leaf(team.id.clone()))
            .with("key", Val::leaf(team.key.clone()))
            .with("name", Val::leaf(team.name.clone()))
            .with("displayName", Val::leaf(team.name.clone()))
            .with("private", Val::leaf(false))
            .with("triageEnabled", Val::leaf(triage.is_some()))
            .with("triageIssueState", Val::opt_entity(Kind::WorkflowState, triage.map(|s| &s.id)))
            .with("states", Val::Conn(states))
            .with("labels", Val::Conn(labels))
            .with("issues", Val::Conn(issues))
            .with("organization", Val::entity(Kind::Organization, &state.org.id))
            .with("createdAt", stamp(&team.created))
            .with("updatedAt", stamp(&team.created))
            .with("archivedAt", Val::Null),
    )
}

fn workflow_state(state: &State, id: &str) -> Option<Obj> {
    let s = state.states.get(id)?;
    let issues = issue_nodes(state.issues.values().filter(|i| i.state_id == id));
    Some(
        Obj::new("WorkflowState")
            .with("id", Val::leaf(s.id.clone()))
            .with("name", Val::leaf(s.name.clone()))
            .with("type", Val::leaf(s.kind.clone()))
            .with("position", Val::leaf(s.position))
            .with("color", Val::leaf(s.color.clone()))
            .with("description", Val::Null)
            .with("team", Val::entity(Kind::Team, &s.team_id))
            .with("issues", Val::Conn(issues))
            .with("createdAt", stamp(&s.created))
            .with("updatedAt", stamp(&s.created))
            .with("archivedAt", Val::Null),
    )
}

fn label(state: &State, id: &str) -> Option<Obj> {
    let l = state.labels.get(id)?;
    let children = state
        .labels
        .values()
        .filter(|c| c.parent_id.as_deref() == Some(id))
        .map(|c| ConnNode::entity(Kind::IssueLabel, &c.id, c.created, c.created))
        .collect();
    let issues = issue_nodes(state.issues.values().filter(|i| i.label_ids.contains(&l.id)));
    Some(
        Obj::new("IssueLabel")
            .with("id", Val::leaf(l.id.clone()))
            .with("name", Val::leaf(l.name.clone()))
            .with("color", Val::leaf(l.color.clone()))
            .with("description", Val::opt_leaf(l.description.clone()))
            .with("isGroup", Val::leaf(l.is_group))
            .with("parent", Val::opt_entity(Kind::IssueLabel, l.parent_id.as_ref()))
            .with("team", Val::opt_entity(Kind::Team, l.team_id.as_ref()))
            .with("creator", Val::opt_entity(Kind::User, l.creator_id.as_ref()))
            .with("children", Val::Conn(children))
            .with("issues", Val::Conn(issues))
            .with("createdAt", stamp(&l.created))
            .with("updatedAt", stamp(&l.created))
            .with("archivedAt", Val::Null)
            .with("retiredAt", Val::Null),
    )
}

fn issue_nodes<'s>(issues: impl Iterator<Item = &'s Issue>) -> Vec<ConnNode> {
    issues.map(|i| ConnNode::entity(Kind::Issue, &i.id, i.created, i.updated)).collect()
}

pub(crate) fn priority_label(priority: i64) -> &'static str {
    match priority {
        1 => "Urgent",
        2 => "High",
        3 => "Medium",
        4 => "Low",
        _ => "No priority",
    }
}

fn issue(state: &State, issue: &Issue) -> Obj {
    let id = issue.id.as_str();
    let labels = issue
        .label_ids
        .iter()
        .filter_map(|l| state.labels.get(l))
        .map(|l| ConnNode::entity(Kind::IssueLabel, &l.id, l.created, l.created))
        .collect();
    let children = issue_nodes(state.issues.values().filter(|c| c.parent_id.as_deref() == Some(id)));
    let relation_nodes = |inverse: bool| {
        state
            .relations
            .values()
            .filter(|r| if inverse { r.related_issue_id == id } else { r.issue_id == id })
            .map(|r| ConnNode::entity(Kind::IssueRelation, &r.id, r.created, r.created))
            .collect()
    };
    let attachments = state
        .attachments
        .values()
        .filter(|a| a.issue_id == id)
        .map(|a| ConnNode::entity(Kind::Attachment, &a.id, a.created, a.updated))
        .collect();
    let comments = state
        .comments
        .values()
        .filter(|c| c.issue_id == id)
        .map(|c| ConnNode::entity(Kind::Comment, &c.id, c.created, c.updated))
        .collect();
    let sessions = state
        .sessions
        .values()
        .filter(|s| s.issue_id == id)
        .map(|s| ConnNode::entity(Kind::AgentSession, &s.id, s.created, s.updated))
        .collect();
    Obj::new("Issue")
        .with("id", Val::leaf(issue.id.clone()))
        .with("identifier", Val::leaf(issue.identifier.clone()))
        .with("number", Val::leaf(issue.number))
        .with("title", Val::leaf(issue.title.clone()))
        .with("description", Val::opt_leaf(issue.description.clone()))
        .with("url", Val::leaf(state.issue_url(issue)))
        .with("branchName", Val::leaf(state.branch_name(issue)))
        .with("priority", Val::leaf(issue.priority))
        .with("priorityLabel", Val::leaf(priority_label(issue.priority)))
        .with("estimate", Val::Null)
        .with("dueDate", Val::Null)
        .with("trashed", Val::Null)
        .with("createdAt", stamp(&issue.created))
        .with("updatedAt", stamp(&issue.updated))
        .with("startedAt", opt_stamp(issue.started_at.as_ref()))
        .with("completedAt", opt_stamp(issue.completed_at.as_ref()))
        .with("canceledAt", opt_stamp(issue.canceled_at.as_ref()))
        .with("archivedAt", Val::Null)
        .with("state", Val::entity(Kind::WorkflowState, &issue.state_id))
        .with("team", Val::entity(Kind::Team, &issue.team_id))
        .with("assignee", Val::opt_entity(Kind::User, issue.assignee_id.as_ref()))
        .with("delegate", Val::opt_entity(Kind::User, issue.delegate_id.as_ref()))
        .with("creator", Val::opt_entity(Kind::User, issue.creator_id.as_ref()))
        .with("labels", Val::Conn(labels))
        .with("labelIds", Val::leaf(json!(issue.label_ids)))
        .with("parent", Val::opt_entity(Kind::Issue, issue.parent_id.as_ref()))
        .with("children", Val::Conn(children))
        .with("relations", Val::Conn(relation_nodes(false)))
        .with("inverseRelations", Val::Conn(relation_nodes(true)))
        .with("attachments", Val::Conn(attachments))
        .with("comments", Val::Conn(comments))
        .with("agentSessions", Val::Conn(sessions))
        .with("previousIdentifiers", Val::leaf(json!([])))
        .with("reactionData", Val::leaf(json!([])))
}

/// `Comment.reactionData`: typed `JSONObject!` but an array in real data.
pub(crate) fn reaction_data(state: &State, comment_id: &str) -> Value {
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    let mut reactions: Vec<_> =
        state.reactions.values().filter(|r| r.comment_id.as_deref() == Some(comment_id)).collect();
    reactions.sort_by_key(|r| r.created);
    for r in reactions {
        let entry = json!({"id": r.id, "userId": r.user_id, "reactedAt": r.created.iso()});
        match groups.iter_mut().find(|(emoji, _)| *emoji == r.emoji) {
            Some((_, list)) => list.push(entry),
            None => groups.push((r.emoji.clone(), vec![entry])),
        }
    }
    Value::Array(groups.into_iter().map(|(emoji, reactions)| json!({"emoji": emoji, "reactions": reactions})).collect())
}

fn comment(state: &State, comment: &Comment) -> Obj {
    let id = comment.id.as_str();
    let children = state
        .comments
        .values()
        .filter(|c| c.parent_id.as_deref() == Some(id))
        .map(|c| ConnNode::entity(Kind::Comment, &c.id, c.created, c.updated))
        .collect();
    let reactions = state
        .reactions
        .values()
        .filter(|r| r.comment_id.as_deref() == Some(id))
        .map(|r| Val::entity(Kind::Reaction, &r.id))
        .collect();
    Obj::new("Comment")
        .with("id", Val::leaf(comment.id.clone()))
        .with("body", Val::leaf(comment.body.clone()))
        .with("url", Val::opt_leaf(state.comment_url(comment)))
        .with("createdAt", stamp(&comment.created))
        .with("updatedAt", stamp(&comment.updated))
        .with("editedAt", opt_stamp(comment.edited_at.as_ref()))
        .with("resolvedAt", Val::Null)
        .with("archivedAt", Val::Null)
        .with("quotedText", Val::Null)
        .with("parentId", Val::opt_leaf(comment.parent_id.clone()))
        .with("parent", Val::opt_entity(Kind::Comment, comment.parent_id.as_ref()))
        .with("issueId", Val::leaf(comment.issue_id.clone()))
        .with("issue", Val::entity(Kind::Issue, &comment.issue_id))
        .with("user", Val::entity(Kind::User, &comment.user_id))
        .with("botActor", Val::Null)
        .with("reactionData", Val::Leaf(reaction_data(state, id)))
        .with("reactions", Val::List(reactions))
        .with("children", Val::Conn(children))
}

fn reaction(state: &State, id: &str) -> Option<Obj> {
    let r = state.reactions.get(id)?;
    Some(
        Obj::new("Reaction")
            .with("id", Val::leaf(r.id.clone()))
            .with("emoji", Val::leaf(r.emoji.clone()))
            .with("user", Val::entity(Kind::User, &r.user_id))
            .with("comment", Val::opt_entity(Kind::Comment, r.comment_id.as_ref()))
            .with("issue", Val::opt_entity(Kind::Issue, r.issue_id.as_ref()))
            .with("createdAt", stamp(&r.created))
            .with("updatedAt", stamp(&r.created))
            .with("archivedAt", Val::Null),
    )
}

fn attachment(state: &State, id: &str) -> Option<Obj> {
    let a = state.attachments.get(id)?;
    Some(
        Obj::new("Attachment")
            .with("id", Val::leaf(a.id.clone()))
            .with("title", Val::leaf(a.title.clone()))
            .with("subtitle", Val::opt_leaf(a.subtitle.clone()))
            .with("url", Val::leaf(a.url.clone()))
            .with("sourceType", Val::opt_leaf(a.source_type.clone()))
            .with("metadata", Val::Leaf(a.metadata.clone()))
            .with("source", Val::Null)
            .with("groupBySource", Val::leaf(false))
            .with("issue", Val::entity(Kind::Issue, &a.issue_id))
            .with("creator", Val::entity(Kind::User, &a.creator_id))
            .with("createdAt", stamp(&a.created))
            .with("updatedAt", stamp(&a.updated))
            .with("archivedAt", Val::Null),
    )
}

fn relation(state: &State, id: &str) -> Option<Obj> {
    let r = state.relations.get(id)?;
    Some(
        Obj::new("IssueRelation")
            .with("id", Val::leaf(r.id.clone()))
            .with("type", Val::leaf(r.kind.clone()))
            .with("issue", Val::entity(Kind::Issue, &r.issue_id))
            .with("relatedIssue", Val::entity(Kind::Issue, &r.related_issue_id))
            .with("createdAt", stamp(&r.created))
            .with("updatedAt", stamp(&r.created))
            .with("archivedAt", Val::Null),
    )
}

fn agent_session(state: &State, session: &AgentSession) -> Obj {
    let activities = state
        .activities
        .values()
        .filter(|a| a.session_id == session.id)
        .map(|a| ConnNode::entity(Kind::AgentActivity, &a.id, a.created, a.created))
        .collect();
    let links: Vec<Val> = session
        .external_links
        .iter()
        .map(|l| {
            Val::Obj(
                Obj::new("AgentSessionExternalLink")
                    .with("label", Val::leaf(l.label.clone()))
                    .with("url", Val::leaf(l.url.clone())),
            )
        })
        .collect();
    let links_json: Vec<Value> =
        session.external_links.iter().map(|l| json!({"label": l.label, "url": l.url})).collect();
    Obj::new("AgentSession")
        .with("id", Val::leaf(session.id.clone()))
        .with("status", Val::leaf(session.status.clone()))
        .with("url", Val::opt_leaf(state.session_url(session)))
        .with("slugId", Val::leaf(short_id(&session.id).to_owned()))
        .with("createdAt", stamp(&session.created))
        .with("updatedAt", stamp(&session.updated))
        .with("startedAt", opt_stamp(session.started_at.as_ref()))
        .with("endedAt", opt_stamp(session.ended_at.as_ref()))
        .with("dismissedAt", Val::Null)
        .with("archivedAt", Val::Null)
        .with("summary", Val::Null)
        .with("sourceMetadata", Val::Null)
        .with("issue", Val::entity(Kind::Issue, &session.issue_id))
        .with("appUser", Val::entity(Kind::User, &session.app_user_id))
        .with("creator", Val::opt_entity(Kind::User, session.creator_id.as_ref()))
        .with("comment", Val::opt_entity(Kind::Comment, session.comment_id.as_ref()))
        .with("plan", Val::opt_leaf(session.plan.clone()))
        .with("externalLinks", Val::List(links))
        .with("externalUrls", Val::leaf(Value::Array(links_json)))
        .with("activities", Val::Conn(activities))
}

fn agent_activity(activity: &AgentActivity) -> Obj {
    Obj::new("AgentActivity")
        .with("id", Val::leaf(activity.id.clone()))
        .with("createdAt", stamp(&activity.created))
        .with("updatedAt", stamp(&activity.created))
        .with("archivedAt", Val::Null)
        .with("ephemeral", Val::leaf(activity.ephemeral))
        .with("queued", Val::leaf(false))
        .with("signal", Val::opt_leaf(activity.signal.clone()))
        .with("signalMetadata", Val::opt_leaf(activity.signal_metadata.clone()))
        .with("user", Val::entity(Kind::User, &activity.user_id))
        .with("agentSession", Val::entity(Kind::AgentSession, &activity.session_id))
        .with("sourceComment", Val::opt_entity(Kind::Comment, activity.source_comment_id.as_ref()))
        .with("content", Val::Obj(activity_content(activity)))
}

/// The member of the `AgentActivityContent` union for an activity's content.
fn activity_content(activity: &AgentActivity) -> Obj {
    let content = &activity.content;
    let text = |key: &str| Val::opt_leaf(content.get(key).and_then(Value::as_str).map(str::to_owned));
    let kind = activity.kind();
    let typename = match kind {
        "thought" => "AgentActivityThoughtContent",
        "action" => "AgentActivityActionContent",
        "elicitation" => "AgentActivityElicitationContent",
        "response" => "AgentActivityResponseContent",
        "error" => "AgentActivityErrorContent",
        _ => "AgentActivityPromptContent",
    };
    let obj = Obj::new(typename).with("type", Val::leaf(kind.to_owned()));
    match kind {
        "action" => {
            obj.with("action", text("action")).with("parameter", text("parameter")).with("result", text("result"))
        }
        "error" => obj.with("body", text("body")).with("reasonCode", text("reasonCode")),
        "prompt" => obj.with("body", text("body")).with("title", text("title")),
        _ => obj.with("body", text("body")),
    }
}

fn webhook(state: &State, id: &str) -> Option<Obj> {
    let w = state.webhooks.get(id)?;
    Some(
        Obj::new("Webhook")
            .with("id", Val::leaf(w.id.clone()))
            .with("url", Val::leaf(w.url.clone()))
            .with("label", Val::opt_leaf(w.label.clone()))
            .with("enabled", Val::leaf(w.enabled))
            .with("resourceTypes", Val::leaf(json!(w.resource_types)))
            .with("allPublicTeams", Val::leaf(w.all_public_teams))
            .with("secret", Val::leaf(w.secret.clone()))
            .with("team", Val::opt_entity(Kind::Team, w.team_id.as_ref()))
            .with("teamIds", Val::leaf(json!(w.team_id.iter().collect::<Vec<_>>())))
            .with("creator", Val::entity(Kind::User, &w.creator_id))
            .with("failures", Val::leaf(json!([])))
            .with("createdAt", stamp(&w.created))
            .with("updatedAt", stamp(&w.created))
            .with("archivedAt", Val::Null),
    )
}

/// `User` as it appears inside webhook payloads (`creator`, `actor`, ...).
pub(crate) fn webhook_user(state: &State, user: &User) -> Value {
    json!({
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "avatarUrl": user.avatar_url,
        "url": state.profile_url(user),
    })
}
