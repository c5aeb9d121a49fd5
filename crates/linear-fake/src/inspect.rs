//! Synchronous inspection for tests: snapshots of the workspace with relations resolved to
//! what a test asserts on (identifiers, names), the request log and write counts.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::FakeLinear;
use crate::state::{AgentSession, Issue, RequestRecord, State};

#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowStateView {
    pub id: String,
    pub name: String,
    /// triage | backlog | unstarted | started | completed | canceled
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IssueView {
    pub id: String,
    pub identifier: String,
    pub number: u64,
    pub title: String,
    pub description: Option<String>,
    pub url: String,
    pub branch_name: String,
    pub team_key: String,
    pub state: WorkflowStateView,
    /// Label names, in the order they were applied.
    pub labels: Vec<String>,
    pub label_ids: Vec<String>,
    /// Parent identifier.
    pub parent: Option<String>,
    /// Child identifiers, oldest first.
    pub children: Vec<String>,
    pub assignee_id: Option<String>,
    pub delegate_id: Option<String>,
    pub creator_id: Option<String>,
    pub priority: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommentView {
    pub id: String,
    pub issue: String,
    pub parent_id: Option<String>,
    pub body: String,
    pub user_id: String,
    pub edited: bool,
    /// Emojis of the reactions on the comment, oldest first.
    pub reactions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LabelView {
    pub id: String,
    pub name: String,
    pub color: String,
    /// `None` for a workspace label.
    pub team_key: Option<String>,
    pub is_group: bool,
    /// Name of the group the label belongs to.
    pub parent: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RelationView {
    pub id: String,
    /// blocks | duplicate | related | similar
    pub kind: String,
    pub issue: String,
    pub related_issue: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttachmentView {
    pub id: String,
    pub issue: String,
    pub url: String,
    pub title: String,
    pub subtitle: Option<String>,
    pub source_type: Option<String>,
    pub metadata: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityView {
    pub id: String,
    /// thought | action | elicitation | response | error | prompt
    pub kind: String,
    pub body: Option<String>,
    pub content: Value,
    pub ephemeral: bool,
    pub signal: Option<String>,
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionView {
    pub id: String,
    pub issue: String,
    /// pending | active | awaitingInput | complete | error | stale
    pub status: String,
    pub creator_id: Option<String>,
    pub plan: Option<Value>,
    /// (label, url)
    pub external_links: Vec<(String, String)>,
    /// Oldest first; ephemeral activities that were replaced are gone.
    pub activities: Vec<ActivityView>,
    pub first_activity_latency: Option<Duration>,
}

fn identifier(state: &State, issue_id: &str) -> String {
    state.issues.get(issue_id).map_or_else(|| issue_id.to_owned(), |i| i.identifier.clone())
}

fn issue_view(state: &State, issue: &Issue) -> IssueView {
    let workflow_state = state.states.get(&issue.state_id);
    let mut children: Vec<&Issue> =
        state.issues.values().filter(|c| c.parent_id.as_deref() == Some(issue.id.as_str())).collect();
    children.sort_by_key(|c| c.created);
    IssueView {
        id: issue.id.clone(),
        identifier: issue.identifier.clone(),
        number: issue.number,
        title: issue.title.clone(),
        description: issue.description.clone(),
        url: state.issue_url(issue),
        branch_name: state.branch_name(issue),
        team_key: state.teams.get(&issue.team_id).map(|t| t.key.clone()).unwrap_or_default(),
        state: WorkflowStateView {
            id: issue.state_id.clone(),
            name: workflow_state.map(|s| s.name.clone()).unwrap_or_default(),
            kind: workflow_state.map(|s| s.kind.clone()).unwrap_or_default(),
        },
        labels: issue.label_ids.iter().filter_map(|id| state.labels.get(id)).map(|l| l.name.clone()).collect(),
        label_ids: issue.label_ids.clone(),
        parent: issue.parent_id.as_deref().map(|p| identifier(state, p)),
        children: children.iter().map(|c| c.identifier.clone()).collect(),
        assignee_id: issue.assignee_id.clone(),
        delegate_id: issue.delegate_id.clone(),
        creator_id: issue.creator_id.clone(),
        priority: issue.priority,
    }
}

fn session_view(state: &State, session: &AgentSession) -> SessionView {
    let mut activities: Vec<_> = state.activities.values().filter(|a| a.session_id == session.id).collect();
    activities.sort_by_key(|a| a.created);
    SessionView {
        id: session.id.clone(),
        issue: identifier(state, &session.issue_id),
        status: session.status.clone(),
        creator_id: session.creator_id.clone(),
        plan: session.plan.clone(),
        external_links: session.external_links.iter().map(|l| (l.label.clone(), l.url.clone())).collect(),
        activities: activities
            .into_iter()
            .map(|a| ActivityView {
                id: a.id.clone(),
                kind: a.kind().to_owned(),
                body: a.content.get("body").and_then(Value::as_str).map(str::to_owned),
                content: a.content.clone(),
                ephemeral: a.ephemeral,
                signal: a.signal.clone(),
                user_id: a.user_id.clone(),
            })
            .collect(),
        first_activity_latency: session.first_response_after,
    }
}

impl FakeLinear {
    /// One issue by UUID or identifier.
    pub fn issue(&self, key: &str) -> Option<IssueView> {
        let state = self.lock();
        state.find_issue(key).map(|i| issue_view(&state, i))
    }

    /// All issues, oldest first.
    pub fn issues(&self) -> Vec<IssueView> {
        let state = self.lock();
        let mut issues: Vec<&Issue> = state.issues.values().collect();
        issues.sort_by_key(|i| i.created);
        issues.into_iter().map(|i| issue_view(&state, i)).collect()
    }

    /// Comments of an issue (UUID or identifier), oldest first, replies included.
    pub fn comments(&self, issue: &str) -> Vec<CommentView> {
        let state = self.lock();
        let Some(issue_id) = state.find_issue_id(issue) else {
            return Vec::new();
        };
        let mut comments: Vec<_> = state.comments.values().filter(|c| c.issue_id == issue_id).collect();
        comments.sort_by_key(|c| c.created);
        comments
            .into_iter()
            .map(|c| {
                let mut reactions: Vec<_> =
                    state.reactions.values().filter(|r| r.comment_id.as_deref() == Some(c.id.as_str())).collect();
                reactions.sort_by_key(|r| r.created);
                CommentView {
                    id: c.id.clone(),
                    issue: identifier(&state, &c.issue_id),
                    parent_id: c.parent_id.clone(),
                    body: c.body.clone(),
                    user_id: c.user_id.clone(),
                    edited: c.edited_at.is_some(),
                    reactions: reactions.iter().map(|r| r.emoji.clone()).collect(),
                }
            })
            .collect()
    }

    /// All labels, oldest first.
    pub fn labels(&self) -> Vec<LabelView> {
        let state = self.lock();
        let mut labels: Vec<_> = state.labels.values().collect();
        labels.sort_by_key(|l| l.created);
        labels
            .into_iter()
            .map(|l| LabelView {
                id: l.id.clone(),
                name: l.name.clone(),
                color: l.color.clone(),
                team_key: l.team_id.as_ref().and_then(|t| state.teams.get(t)).map(|t| t.key.clone()),
                is_group: l.is_group,
                parent: l.parent_id.as_ref().and_then(|p| state.labels.get(p)).map(|p| p.name.clone()),
            })
            .collect()
    }

    /// All issue relations, oldest first.
    pub fn relations(&self) -> Vec<RelationView> {
        let state = self.lock();
        let mut relations: Vec<_> = state.relations.values().collect();
        relations.sort_by_key(|r| r.created);
        relations
            .into_iter()
            .map(|r| RelationView {
                id: r.id.clone(),
                kind: r.kind.clone(),
                issue: identifier(&state, &r.issue_id),
                related_issue: identifier(&state, &r.related_issue_id),
            })
            .collect()
    }

    /// Attachments of an issue (UUID or identifier), oldest first.
    pub fn attachments(&self, issue: &str) -> Vec<AttachmentView> {
        let state = self.lock();
        let Some(issue_id) = state.find_issue_id(issue) else {
            return Vec::new();
        };
        let mut attachments: Vec<_> = state.attachments.values().filter(|a| a.issue_id == issue_id).collect();
        attachments.sort_by_key(|a| a.created);
        attachments
            .into_iter()
            .map(|a| AttachmentView {
                id: a.id.clone(),
                issue: identifier(&state, &a.issue_id),
                url: a.url.clone(),
                title: a.title.clone(),
                subtitle: a.subtitle.clone(),
                source_type: a.source_type.clone(),
                metadata: a.metadata.clone(),
            })
            .collect()
    }

    /// All agent sessions, oldest first.
    pub fn agent_sessions(&self) -> Vec<SessionView> {
        let state = self.lock();
        let mut sessions: Vec<_> = state.sessions.values().collect();
        sessions.sort_by_key(|s| s.created);
        sessions.into_iter().map(|s| session_view(&state, s)).collect()
    }

    pub fn agent_session(&self, id: &str) -> Option<SessionView> {
        let state = self.lock();
        state.sessions.get(id).map(|s| session_view(&state, s))
    }

    /// How long after its creation the session got its first agent activity or external
    /// URL; `None` while it has neither. Compare with [`crate::FIRST_ACTIVITY_DEADLINE`].
    pub fn first_activity_latency(&self, session_id: &str) -> Option<Duration> {
        self.lock().sessions.get(session_id).and_then(|s| s.first_response_after)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.lock().log.clone()
    }

    /// Applied writes per mutation field (`"commentCreate" → 2`). Rejected and failed
    /// mutations are not counted; a `LostResponse` one is (it was applied).
    pub fn write_counts(&self) -> BTreeMap<String, usize> {
        self.lock().writes.clone()
    }

    pub fn write_count(&self, mutation: &str) -> usize {
        self.lock().writes.get(mutation).copied().unwrap_or(0)
    }

    /// Webhooks created through `webhookCreate`: (id, url, secret).
    pub fn webhooks(&self) -> Vec<(String, String, String)> {
        let state = self.lock();
        let mut webhooks: Vec<_> = state.webhooks.values().collect();
        webhooks.sort_by_key(|w| w.created);
        webhooks.into_iter().map(|w| (w.id.clone(), w.url.clone(), w.secret.clone())).collect()
    }
}
