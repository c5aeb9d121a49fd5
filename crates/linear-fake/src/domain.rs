//! Linear's rules for changing the workspace, shared by the GraphQL mutations and the
//! human-side helpers: identifiers and numbering, default states, label scoping, threads,
//! client-chosen ids, idempotent attachments.
//!
//! Every function checks everything before it changes anything, so a rejected write leaves
//! the state untouched (the property the failure tests rely on).

use serde_json::Value;

use crate::errors::FieldError;
use crate::state::{Attachment, Comment, Id, Issue, Label, Reaction, Relation, State, Webhook, new_uuid};

/// A client-chosen id must be a UUID that is not taken yet; `None` gets a fresh one.
pub(crate) fn new_id(requested: Option<&str>, taken: impl Fn(&str) -> bool) -> Result<Id, FieldError> {
    match requested {
        None => Ok(new_uuid()),
        Some(id) => {
            let parsed =
                uuid::Uuid::parse_str(id).map_err(|_| FieldError::invalid(format!("id must be a UUID, got `{id}`")))?;
            let id = parsed.hyphenated().to_string();
            if taken(&id) {
                return Err(FieldError::already_exists());
            }
            Ok(id)
        }
    }
}

pub(crate) fn require_issue(state: &State, key: &str) -> Result<Id, FieldError> {
    state.find_issue_id(key).ok_or_else(|| FieldError::not_found("Issue"))
}

fn require_user(state: &State, id: &str) -> Result<Id, FieldError> {
    state.users.get(id).map(|u| u.id.clone()).ok_or_else(|| FieldError::not_found("User"))
}

/// Delegates are agents: only app users can be delegated an issue.
fn require_app_user(state: &State, id: &str) -> Result<Id, FieldError> {
    let user = state.users.get(id).ok_or_else(|| FieldError::not_found("User"))?;
    if !user.app {
        return Err(FieldError::invalid(
            "delegateId must be an app user (agents are delegated issues, humans are assigned)",
        ));
    }
    Ok(user.id.clone())
}

/// Labels for an issue of `team_id`: they must exist, not be groups, and be workspace labels
/// or labels of that team. Duplicates collapse, order is kept.
fn resolve_labels(state: &State, team_id: &str, ids: &[String]) -> Result<Vec<Id>, FieldError> {
    let mut out: Vec<Id> = Vec::new();
    for id in ids {
        let label = state.labels.get(id).ok_or_else(|| FieldError::not_found("IssueLabel"))?;
        if label.is_group {
            return Err(FieldError::invalid(format!("Label group `{}` cannot be applied to an issue", label.name)));
        }
        if label.team_id.as_deref().is_some_and(|t| t != team_id) {
            return Err(FieldError::invalid(format!("Label `{}` belongs to another team", label.name)));
        }
        if !out.contains(&label.id) {
            out.push(label.id.clone());
        }
    }
    Ok(out)
}

fn require_team_state(state: &State, team_id: &str, state_id: &str) -> Result<Id, FieldError> {
    let s = state.states.get(state_id).ok_or_else(|| FieldError::not_found("WorkflowState"))?;
    if s.team_id != team_id {
        return Err(FieldError::invalid("The workflow state does not belong to the issue's team"));
    }
    Ok(s.id.clone())
}

/// A parent by UUID or identifier; an issue cannot become its own ancestor.
fn resolve_parent(state: &State, child: Option<&str>, key: &str) -> Result<Id, FieldError> {
    let parent = require_issue(state, key)?;
    let mut cursor = Some(parent.clone());
    while let Some(id) = cursor {
        if Some(id.as_str()) == child {
            return Err(FieldError::invalid("An issue cannot be its own ancestor"));
        }
        cursor = state.issues.get(&id).and_then(|i| i.parent_id.clone());
    }
    Ok(parent)
}

fn subscribe(issue: &mut Issue, user: Option<&Id>) {
    if let Some(user) = user
        && !issue.subscriber_ids.contains(user)
    {
        issue.subscriber_ids.push(user.clone());
    }
}

#[derive(Debug, Default)]
pub(crate) struct NewIssue {
    pub(crate) id: Option<String>,
    /// Team UUID.
    pub(crate) team: String,
    pub(crate) title: String,
    pub(crate) description: Option<String>,
    pub(crate) state_id: Option<String>,
    pub(crate) label_ids: Vec<String>,
    /// Parent UUID or identifier.
    pub(crate) parent: Option<String>,
    pub(crate) assignee_id: Option<String>,
    pub(crate) delegate_id: Option<String>,
    pub(crate) priority: Option<i64>,
    pub(crate) creator_id: Option<Id>,
}

pub(crate) fn create_issue(state: &mut State, new: NewIssue) -> Result<Id, FieldError> {
    let id = new_id(new.id.as_deref(), |id| state.issues.contains_key(id))?;
    // Mutations take the team's UUID (only the `team(id:)` query also accepts the key).
    let team = state.teams.get(&new.team).ok_or_else(|| FieldError::not_found("Team"))?;
    let team_id = team.id.clone();
    if new.title.trim().is_empty() {
        return Err(FieldError::invalid("title must not be empty"));
    }
    let state_id = match &new.state_id {
        Some(s) => require_team_state(state, &team_id, s)?,
        None => state
            .default_state(&team_id)
            .map(|s| s.id.clone())
            .ok_or_else(|| FieldError::invalid("The team has no workflow states"))?,
    };
    let label_ids = resolve_labels(state, &team_id, &new.label_ids)?;
    let parent_id = new.parent.as_deref().map(|p| resolve_parent(state, None, p)).transpose()?;
    let assignee_id = new.assignee_id.as_deref().map(|u| require_user(state, u)).transpose()?;
    let delegate_id = new.delegate_id.as_deref().map(|u| require_app_user(state, u)).transpose()?;
    let priority = check_priority(new.priority.unwrap_or(0))?;

    let Some(team) = state.teams.get_mut(&team_id) else {
        return Err(FieldError::not_found("Team"));
    };
    let number = team.next_number;
    team.next_number += 1;
    let identifier = format!("{}-{number}", team.key);
    let now = state.stamp();
    let mut issue = Issue {
        id: id.clone(),
        team_id,
        number,
        identifier,
        title: new.title,
        description: new.description,
        priority,
        state_id,
        label_ids,
        assignee_id,
        delegate_id,
        creator_id: new.creator_id,
        parent_id,
        subscriber_ids: Vec::new(),
        created: now,
        updated: now,
        started_at: None,
        completed_at: None,
        canceled_at: None,
        last_delegation: None,
    };
    let watchers =
        [&issue.creator_id, &issue.assignee_id, &issue.delegate_id].into_iter().flatten().cloned().collect::<Vec<_>>();
    for user in &watchers {
        subscribe(&mut issue, Some(user));
    }
    stamp_state_times(state, &mut issue);
    state.issues.insert(id.clone(), issue);
    Ok(id)
}

fn check_priority(priority: i64) -> Result<i64, FieldError> {
    if (0..=4).contains(&priority) {
        Ok(priority)
    } else {
        Err(FieldError::invalid(format!("priority must be between 0 and 4, got {priority}")))
    }
}

/// started/completed/canceled timestamps follow the state's type, as on Linear.
fn stamp_state_times(state: &mut State, issue: &mut Issue) {
    let kind = state.states.get(&issue.state_id).map(|s| s.kind.clone()).unwrap_or_default();
    let now = state.stamp();
    match kind.as_str() {
        "started" => {
            issue.started_at.get_or_insert(now);
        }
        "completed" => {
            issue.started_at.get_or_insert(now);
            issue.completed_at.get_or_insert(now);
        }
        "canceled" => {
            issue.canceled_at.get_or_insert(now);
        }
        _ => {}
    }
    if kind != "completed" {
        issue.completed_at = None;
    }
    if kind != "canceled" {
        issue.canceled_at = None;
    }
}

/// A field of an update input: absent, explicitly null ("clear"), or set.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum Patch<T> {
    #[default]
    Absent,
    Clear,
    Set(T),
}

#[derive(Debug, Default)]
pub(crate) struct IssuePatch {
    pub(crate) title: Option<String>,
    pub(crate) description: Patch<String>,
    pub(crate) state_id: Option<String>,
    pub(crate) label_ids: Option<Vec<String>>,
    pub(crate) added_label_ids: Vec<String>,
    pub(crate) removed_label_ids: Vec<String>,
    pub(crate) assignee_id: Patch<String>,
    pub(crate) delegate_id: Patch<String>,
    pub(crate) parent: Patch<String>,
    pub(crate) priority: Option<i64>,
}

pub(crate) fn update_issue(state: &mut State, key: &str, patch: IssuePatch, actor: &str) -> Result<Id, FieldError> {
    let id = require_issue(state, key)?;
    let Some(current) = state.issues.get(&id) else {
        return Err(FieldError::not_found("Issue"));
    };
    let mut issue = current.clone();
    if let Some(title) = patch.title {
        if title.trim().is_empty() {
            return Err(FieldError::invalid("title must not be empty"));
        }
        issue.title = title;
    }
    match patch.description {
        Patch::Absent => {}
        Patch::Clear => issue.description = None,
        Patch::Set(d) => issue.description = Some(d),
    }
    if let Some(state_id) = &patch.state_id {
        issue.state_id = require_team_state(state, &issue.team_id, state_id)?;
    }
    if let Some(ids) = &patch.label_ids {
        issue.label_ids = resolve_labels(state, &issue.team_id, ids)?;
    }
    let added = resolve_labels(state, &issue.team_id, &patch.added_label_ids)?;
    for label in added {
        if !issue.label_ids.contains(&label) {
            issue.label_ids.push(label);
        }
    }
    issue.label_ids.retain(|l| !patch.removed_label_ids.contains(l));
    match patch.assignee_id {
        Patch::Absent => {}
        Patch::Clear => issue.assignee_id = None,
        Patch::Set(u) => issue.assignee_id = Some(require_user(state, &u)?),
    }
    let previous_delegate = issue.delegate_id.clone();
    match patch.delegate_id {
        Patch::Absent => {}
        Patch::Clear => issue.delegate_id = None,
        Patch::Set(u) => issue.delegate_id = Some(require_app_user(state, &u)?),
    }
    match patch.parent {
        Patch::Absent => {}
        Patch::Clear => issue.parent_id = None,
        Patch::Set(p) => issue.parent_id = Some(resolve_parent(state, Some(&id), &p)?),
    }
    if let Some(priority) = patch.priority {
        issue.priority = check_priority(priority)?;
    }
    if issue.delegate_id != previous_delegate && issue.delegate_id.is_some() {
        let current = current.clone();
        issue.last_delegation = Some(crate::state::DelegationChange {
            updated_at: current.updated,
            delegate_id: current.delegate_id,
            assignee_id: current.assignee_id,
            subscriber_ids: current.subscriber_ids,
            actor_id: actor.to_owned(),
        });
    }
    let (assignee, delegate) = (issue.assignee_id.clone(), issue.delegate_id.clone());
    subscribe(&mut issue, assignee.as_ref());
    subscribe(&mut issue, delegate.as_ref());
    stamp_state_times(state, &mut issue);
    issue.updated = state.stamp();
    state.issues.insert(id.clone(), issue);
    Ok(id)
}

#[derive(Debug)]
pub(crate) struct NewComment {
    pub(crate) id: Option<String>,
    /// Issue UUID or identifier.
    pub(crate) issue: String,
    pub(crate) parent_id: Option<String>,
    pub(crate) body: String,
    pub(crate) user_id: Id,
}

pub(crate) fn create_comment(state: &mut State, new: NewComment) -> Result<Id, FieldError> {
    let id = new_id(new.id.as_deref(), |id| state.comments.contains_key(id))?;
    let issue_id = require_issue(state, &new.issue)?;
    if new.body.trim().is_empty() {
        return Err(FieldError::invalid("body must not be empty"));
    }
    // Linear threads are one level deep: a reply to a reply joins the root's thread.
    let parent_id = match &new.parent_id {
        None => None,
        Some(parent) => {
            let parent = state.comments.get(parent).ok_or_else(|| FieldError::not_found("Comment"))?;
            if parent.issue_id != issue_id {
                return Err(FieldError::invalid("The parent comment belongs to another issue"));
            }
            Some(parent.parent_id.clone().unwrap_or_else(|| parent.id.clone()))
        }
    };
    let now = state.stamp();
    state.comments.insert(
        id.clone(),
        Comment {
            id: id.clone(),
            issue_id: issue_id.clone(),
            parent_id,
            body: new.body,
            user_id: new.user_id.clone(),
            created: now,
            updated: now,
            edited_at: None,
        },
    );
    if let Some(issue) = state.issues.get_mut(&issue_id) {
        subscribe(issue, Some(&new.user_id));
    }
    Ok(id)
}

pub(crate) fn update_comment(
    state: &mut State,
    id: &str,
    body: Option<String>,
    actor: &str,
    skip_edited_at: bool,
) -> Result<Id, FieldError> {
    let now = state.stamp();
    let comment = state.comments.get_mut(id).ok_or_else(|| FieldError::not_found("Comment"))?;
    if comment.user_id != actor {
        return Err(FieldError::forbidden("Only the author of a comment can edit it"));
    }
    if let Some(body) = body {
        if body.trim().is_empty() {
            return Err(FieldError::invalid("body must not be empty"));
        }
        comment.body = body;
        if !skip_edited_at {
            comment.edited_at = Some(now);
        }
    }
    comment.updated = now;
    Ok(comment.id.clone())
}

pub(crate) fn create_reaction(
    state: &mut State,
    id: Option<&str>,
    emoji: &str,
    comment_id: Option<&str>,
    issue: Option<&str>,
    user_id: &str,
) -> Result<Id, FieldError> {
    let id = new_id(id, |id| state.reactions.contains_key(id))?;
    let comment_id = comment_id
        .map(|c| state.comments.get(c).map(|c| c.id.clone()).ok_or_else(|| FieldError::not_found("Comment")))
        .transpose()?;
    let issue_id = issue.map(|i| require_issue(state, i)).transpose()?;
    if comment_id.is_none() && issue_id.is_none() {
        return Err(FieldError::unsupported("The fake Linear models reactions on comments and issues only"));
    }
    if emoji.trim().is_empty() {
        return Err(FieldError::invalid("emoji must not be empty"));
    }
    let created = state.stamp();
    state.reactions.insert(
        id.clone(),
        Reaction {
            id: id.clone(),
            emoji: emoji.to_owned(),
            user_id: user_id.to_owned(),
            comment_id,
            issue_id,
            created,
        },
    );
    Ok(id)
}

#[derive(Debug, Default)]
pub(crate) struct NewLabel {
    pub(crate) id: Option<String>,
    pub(crate) name: String,
    pub(crate) color: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) is_group: bool,
    pub(crate) parent_id: Option<String>,
    /// Team UUID; `None` for a workspace label.
    pub(crate) team: Option<String>,
    pub(crate) creator_id: Option<Id>,
}

pub(crate) fn create_label(state: &mut State, new: NewLabel) -> Result<Id, FieldError> {
    let id = new_id(new.id.as_deref(), |id| state.labels.contains_key(id))?;
    let team_id = new
        .team
        .as_deref()
        .map(|t| state.teams.get(t).map(|t| t.id.clone()).ok_or_else(|| FieldError::not_found("Team")))
        .transpose()?;
    let name = new.name.trim().to_owned();
    if name.is_empty() {
        return Err(FieldError::invalid("name must not be empty"));
    }
    // A name must be unique within its team together with the workspace labels.
    let clash = state.labels.values().any(|l| {
        l.name.eq_ignore_ascii_case(&name) && (l.team_id.is_none() || team_id.is_none() || l.team_id == team_id)
    });
    if clash {
        return Err(FieldError::invalid(format!("Duplicate label name: a label named `{name}` already exists")));
    }
    if let Some(parent) = &new.parent_id {
        let parent = state.labels.get(parent).ok_or_else(|| FieldError::not_found("IssueLabel"))?;
        if !parent.is_group {
            return Err(FieldError::invalid(format!("Label `{}` is not a label group", parent.name)));
        }
    }
    let created = state.stamp();
    state.labels.insert(
        id.clone(),
        Label {
            id: id.clone(),
            name,
            color: new.color.unwrap_or_else(|| "#bec2c8".to_owned()),
            description: new.description,
            is_group: new.is_group,
            parent_id: new.parent_id,
            team_id,
            creator_id: new.creator_id,
            created,
        },
    );
    Ok(id)
}

#[derive(Debug, Default)]
pub(crate) struct NewAttachment {
    pub(crate) id: Option<String>,
    /// Issue UUID or identifier.
    pub(crate) issue: String,
    pub(crate) url: String,
    pub(crate) title: String,
    pub(crate) subtitle: Option<String>,
    pub(crate) source_type: Option<String>,
    pub(crate) metadata: Option<Value>,
    pub(crate) creator_id: Id,
}

/// Attachments are keyed by issue and URL: linking the same URL to the same issue again
/// updates the existing attachment (when `update` is set) or returns it unchanged.
pub(crate) fn upsert_attachment(state: &mut State, new: NewAttachment, update: bool) -> Result<Id, FieldError> {
    let issue_id = require_issue(state, &new.issue)?;
    if new.url.trim().is_empty() {
        return Err(FieldError::invalid("url must not be empty"));
    }
    let existing =
        state.attachments.values().find(|a| a.issue_id == issue_id && a.url == new.url).map(|a| a.id.clone());
    if let Some(existing) = existing {
        let now = state.stamp();
        if update && let Some(a) = state.attachments.get_mut(&existing) {
            a.title = new.title;
            a.subtitle = new.subtitle;
            if let Some(metadata) = new.metadata {
                a.metadata = metadata;
            }
            a.updated = now;
        }
        return Ok(existing);
    }
    let id = new_id(new.id.as_deref(), |id| state.attachments.contains_key(id))?;
    let now = state.stamp();
    state.attachments.insert(
        id.clone(),
        Attachment {
            id: id.clone(),
            issue_id,
            url: new.url,
            title: new.title,
            subtitle: new.subtitle,
            source_type: new.source_type,
            metadata: new.metadata.unwrap_or_else(|| Value::Object(Default::default())),
            creator_id: new.creator_id,
            created: now,
            updated: now,
        },
    );
    Ok(id)
}

pub(crate) fn create_relation(
    state: &mut State,
    id: Option<&str>,
    issue: &str,
    related: &str,
    kind: &str,
) -> Result<Id, FieldError> {
    let id = new_id(id, |id| state.relations.contains_key(id))?;
    let issue_id = require_issue(state, issue)?;
    let related_id = require_issue(state, related)?;
    if issue_id == related_id {
        return Err(FieldError::invalid("An issue cannot be related to itself"));
    }
    let created = state.stamp();
    state.relations.insert(
        id.clone(),
        Relation { id: id.clone(), issue_id, related_issue_id: related_id, kind: kind.to_owned(), created },
    );
    Ok(id)
}

#[derive(Debug, Default)]
pub(crate) struct NewWebhook {
    pub(crate) id: Option<String>,
    pub(crate) url: String,
    pub(crate) label: Option<String>,
    pub(crate) resource_types: Vec<String>,
    pub(crate) all_public_teams: bool,
    pub(crate) team: Option<String>,
    pub(crate) secret: Option<String>,
    pub(crate) enabled: bool,
}

/// Webhook management needs a workspace admin; `actor=app` tokens never have `admin`.
pub(crate) fn create_webhook(state: &mut State, new: NewWebhook, actor: &str) -> Result<Id, FieldError> {
    let user = state.users.get(actor).ok_or_else(|| FieldError::not_found("User"))?;
    if user.app || !user.admin {
        return Err(FieldError::forbidden(
            "Managing webhooks requires a workspace admin (the admin scope is not available to actor=app)",
        ));
    }
    let id = new_id(new.id.as_deref(), |id| state.webhooks.contains_key(id))?;
    let team_id = new
        .team
        .as_deref()
        .map(|t| state.teams.get(t).map(|t| t.id.clone()).ok_or_else(|| FieldError::not_found("Team")))
        .transpose()?;
    if team_id.is_none() && !new.all_public_teams {
        return Err(FieldError::invalid("A webhook needs teamId or allPublicTeams: true"));
    }
    if !(new.url.starts_with("https://") || new.url.starts_with("http://")) {
        return Err(FieldError::invalid(format!("url must be an http(s) URL, got `{}`", new.url)));
    }
    let created = state.stamp();
    let secret = new.secret.unwrap_or_else(|| format!("lin_wh_{}", new_uuid().replace('-', "")));
    state.webhooks.insert(
        id.clone(),
        Webhook {
            id: id.clone(),
            url: new.url,
            label: new.label,
            resource_types: new.resource_types,
            all_public_teams: new.all_public_teams,
            team_id,
            secret,
            enabled: new.enabled,
            creator_id: actor.to_owned(),
            created,
        },
    );
    Ok(id)
}
