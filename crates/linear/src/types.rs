//! The shapes Cutover reads from and writes to Linear, as selected by `operations.graphql`.
//!
//! Inputs skip absent fields entirely: in Linear an explicit `null` in an update input means
//! "clear this field", so sending every `Option` as `null` would unassign or unparent issues.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::skip_serializing_none;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub app: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub url_key: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Viewer {
    #[serde(flatten)]
    pub user: User,
    pub organization: Organization,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowState {
    pub id: String,
    pub name: String,
    /// triage, backlog, unstarted, started, completed, canceled or duplicate.
    #[serde(rename = "type")]
    pub kind: String,
    pub position: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamRef {
    pub id: String,
    pub key: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Label {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub team: Option<TeamRef>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Nodes<T> {
    pub nodes: Vec<T>,
    #[serde(default, rename = "pageInfo")]
    pub page_info: Option<crate::api::PageInfo>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueRef {
    pub id: String,
    pub identifier: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChildIssue {
    pub id: String,
    pub identifier: String,
    pub title: String,
    pub url: String,
    pub state: WorkflowState,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Issue {
    pub id: String,
    pub identifier: String,
    pub title: String,
    /// RFC 3339, as Linear sends it.
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub url: String,
    pub branch_name: String,
    pub state: WorkflowState,
    pub team: TeamRef,
    #[serde(default)]
    pub assignee: Option<User>,
    #[serde(default)]
    pub delegate: Option<User>,
    #[serde(default)]
    pub creator: Option<User>,
    pub labels: Nodes<Label>,
    #[serde(default)]
    pub parent: Option<IssueRef>,
    #[serde(default)]
    pub children: Option<Nodes<ChildIssue>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub id: String,
    pub body: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub user: Option<User>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentCreateInput {
    pub id: Option<String>,
    pub issue_id: Option<String>,
    pub parent_id: Option<String>,
    pub body: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentUpdateInput {
    pub body: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueCreateInput {
    pub id: Option<String>,
    pub team_id: String,
    pub parent_id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub label_ids: Option<Vec<String>>,
    pub state_id: Option<String>,
    pub delegate_id: Option<String>,
    pub assignee_id: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueUpdateInput {
    pub state_id: Option<String>,
    pub added_label_ids: Option<Vec<String>>,
    pub removed_label_ids: Option<Vec<String>>,
    pub delegate_id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueLabelCreateInput {
    pub id: Option<String>,
    pub name: String,
    pub color: Option<String>,
    pub description: Option<String>,
    pub team_id: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueRelationCreateInput {
    pub id: Option<String>,
    pub issue_id: String,
    pub related_issue_id: String,
    /// blocks, duplicate, related or similar.
    #[serde(rename = "type")]
    pub kind: String,
}

/// What an agent activity says; serialized into `AgentActivityCreateInput.content`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ActivityContent {
    Thought {
        body: String,
    },
    Action {
        action: String,
        parameter: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<String>,
    },
    Elicitation {
        body: String,
    },
    Response {
        body: String,
    },
    Error {
        body: String,
    },
}

impl ActivityContent {
    /// `response` and `error` end the session; progress must use thoughts and actions.
    pub fn is_terminal(&self) -> bool {
        matches!(self, ActivityContent::Response { .. } | ActivityContent::Error { .. })
    }
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentActivityCreateInput {
    pub id: Option<String>,
    pub agent_session_id: String,
    pub content: ActivityContent,
    pub ephemeral: Option<bool>,
    /// auth, continue, select or stop.
    pub signal: Option<String>,
    pub signal_metadata: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalUrl {
    pub label: String,
    pub url: String,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentSessionUpdateInput {
    pub added_external_urls: Option<Vec<ExternalUrl>>,
    /// Full replacement of the session plan: `[{content, status}]`.
    pub plan: Option<Value>,
}

/// An entity a create returned, or an existence check found.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    pub id: String,
    #[serde(default)]
    pub identifier: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}
