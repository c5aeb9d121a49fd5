//! Typed calls over the named operations: one method per thing Cutover asks of Linear.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::client::LinearClient;
use crate::error::LinearError;
use crate::types::*;

/// Relay page information.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    #[serde(default)]
    pub end_cursor: Option<String>,
}

/// Colours for the labels Cutover manages (Linear wants `#rrggbb`).
pub fn label_colour(name: &str) -> &'static str {
    match name {
        "high-risk" => "#EB5757",
        "data-integrity" => "#F2994A",
        "zero-downtime" => "#4CB782",
        "backfill" => "#4EA7FC",
        _ => "#5E6AD2",
    }
}

/// Takes `data.<field>` out of a response.
fn field<T: DeserializeOwned>(operation: &str, mut data: Value, name: &str) -> Result<T, LinearError> {
    let value = data.get_mut(name).map(Value::take).unwrap_or(Value::Null);
    serde_json::from_value(value)
        .map_err(|e| LinearError::Decode { operation: operation.to_string(), message: format!("{name}: {e}") })
}

/// Takes `data.<mutation>.<entity>` after checking `success`.
fn payload<T: DeserializeOwned>(operation: &str, data: Value, mutation: &str, entity: &str) -> Result<T, LinearError> {
    let mut payload: Value = field(operation, data, mutation)?;
    if payload.get("success").and_then(Value::as_bool) != Some(true) {
        return Err(LinearError::Graphql { operation: operation.to_string(), errors: vec![] });
    }
    field(operation, payload.take(), entity)
}

impl LinearClient {
    pub async fn viewer(&self) -> Result<Viewer, LinearError> {
        let data: Value = self.run("Viewer", &json!({})).await?;
        field("Viewer", data, "viewer")
    }

    /// An issue by UUID or identifier ("ENG-123").
    pub async fn issue(&self, id: &str) -> Result<Issue, LinearError> {
        let data: Value = self.run("IssueDetails", &json!({ "id": id })).await?;
        field("IssueDetails", data, "issue")
    }

    /// Open issues (not completed, canceled or duplicate) delegated or assigned to `user_id`,
    /// most recently updated first, all pages.
    pub async fn issues_delegated_to(&self, user_id: &str) -> Result<Vec<Issue>, LinearError> {
        let mut issues = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let data: Value =
                self.run("IssuesDelegatedTo", &json!({ "userId": user_id, "first": 25, "after": after })).await?;
            let page: Nodes<Issue> = field("IssuesDelegatedTo", data, "issues")?;
            issues.extend(page.nodes);
            match page.page_info {
                Some(PageInfo { has_next_page: true, end_cursor: Some(cursor) }) => after = Some(cursor),
                _ => return Ok(issues),
            }
        }
    }

    /// A team's workflow states in board order.
    pub async fn team_states(&self, team_id: &str) -> Result<Vec<WorkflowState>, LinearError> {
        let data: Value = self.run("TeamWorkflowStates", &json!({ "teamId": team_id })).await?;
        #[derive(Deserialize)]
        struct Team {
            states: Nodes<WorkflowState>,
        }
        let team: Team = field("TeamWorkflowStates", data, "team")?;
        let mut states = team.states.nodes;
        states.sort_by(|a, b| a.position.total_cmp(&b.position));
        Ok(states)
    }

    /// Labels with one of these names, workspace- and team-level, all pages.
    pub async fn labels_named(&self, names: &[&str]) -> Result<Vec<Label>, LinearError> {
        let mut labels = Vec::new();
        let data: Value = self.run("IssueLabelsByName", &json!({ "names": names })).await?;
        let page: Nodes<Label> = field("IssueLabelsByName", data, "issueLabels")?;
        labels.extend(page.nodes);
        Ok(labels)
    }

    /// Every comment on an issue (top-level), following Relay cursors.
    pub async fn issue_comments(&self, issue_id: &str) -> Result<Vec<Comment>, LinearError> {
        let mut comments = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let data: Value =
                self.run("IssueComments", &json!({ "id": issue_id, "first": 50, "after": after })).await?;
            #[derive(Deserialize)]
            struct Wrapper {
                comments: Nodes<Comment>,
            }
            let issue: Wrapper = field("IssueComments", data, "issue")?;
            comments.extend(issue.comments.nodes);
            match issue.comments.page_info {
                Some(PageInfo { has_next_page: true, end_cursor: Some(cursor) }) => after = Some(cursor),
                _ => return Ok(comments),
            }
        }
    }

    pub async fn comment_create(&self, input: &CommentCreateInput) -> Result<Created, LinearError> {
        let data: Value = self.run("CommentCreate", &json!({ "input": input })).await?;
        payload("CommentCreate", data, "commentCreate", "comment")
    }

    pub async fn comment_update(&self, id: &str, input: &CommentUpdateInput) -> Result<Created, LinearError> {
        let data: Value = self.run("CommentUpdate", &json!({ "id": id, "input": input })).await?;
        payload("CommentUpdate", data, "commentUpdate", "comment")
    }

    pub async fn issue_create(&self, input: &IssueCreateInput) -> Result<Created, LinearError> {
        let data: Value = self.run("IssueCreate", &json!({ "input": input })).await?;
        payload("IssueCreate", data, "issueCreate", "issue")
    }

    pub async fn issue_update(&self, id: &str, input: &IssueUpdateInput) -> Result<Created, LinearError> {
        let data: Value = self.run("IssueUpdate", &json!({ "id": id, "input": input })).await?;
        payload("IssueUpdate", data, "issueUpdate", "issue")
    }

    pub async fn issue_add_label(&self, id: &str, label_id: &str) -> Result<Created, LinearError> {
        let data: Value = self.run("IssueAddLabel", &json!({ "id": id, "labelId": label_id })).await?;
        payload("IssueAddLabel", data, "issueAddLabel", "issue")
    }

    pub async fn label_create(&self, input: &IssueLabelCreateInput) -> Result<Label, LinearError> {
        let data: Value = self.run("IssueLabelCreate", &json!({ "input": input })).await?;
        payload("IssueLabelCreate", data, "issueLabelCreate", "issueLabel")
    }

    pub async fn relation_create(&self, input: &IssueRelationCreateInput) -> Result<Created, LinearError> {
        let data: Value = self.run("IssueRelationCreate", &json!({ "input": input })).await?;
        payload("IssueRelationCreate", data, "issueRelationCreate", "issueRelation")
    }

    pub async fn activity_create(&self, input: &AgentActivityCreateInput) -> Result<Created, LinearError> {
        let data: Value = self.run("AgentActivityCreate", &json!({ "input": input })).await?;
        payload("AgentActivityCreate", data, "agentActivityCreate", "agentActivity")
    }

    pub async fn session_update(&self, id: &str, input: &AgentSessionUpdateInput) -> Result<Created, LinearError> {
        let data: Value = self.run("AgentSessionUpdate", &json!({ "id": id, "input": input })).await?;
        payload("AgentSessionUpdate", data, "agentSessionUpdate", "agentSession")
    }

    /// Attaches a GitHub pull request to an issue through the workspace's GitHub integration
    /// (Linear then follows the PR's state). Idempotent: Linear keys attachments by issue and
    /// URL, so linking the same PR again returns the existing attachment.
    pub async fn attachment_link_github_pr(
        &self,
        issue_id: &str,
        url: &str,
        title: &str,
    ) -> Result<Created, LinearError> {
        let variables = json!({ "issueId": issue_id, "url": url, "title": title });
        let data: Value = self.run("AttachmentLinkGitHubPR", &variables).await?;
        payload("AttachmentLinkGitHubPR", data, "attachmentLinkGitHubPR", "attachment")
    }

    /// Whether an entity created with a client-chosen id exists: `Ok(None)` when Linear says
    /// "Entity not found". Used before retrying a create whose response was lost.
    pub async fn find_created(&self, kind: CreatedKind, id: &str) -> Result<Option<Created>, LinearError> {
        let (operation, root) = match kind {
            CreatedKind::Comment => ("CommentExists", "comment"),
            CreatedKind::Issue => ("IssueExists", "issue"),
            CreatedKind::Label => ("IssueLabelExists", "issueLabel"),
            CreatedKind::Relation => ("IssueRelationExists", "issueRelation"),
            CreatedKind::Activity => ("AgentActivityExists", "agentActivity"),
        };
        match self.run::<_, Value>(operation, &json!({ "id": id })).await {
            Ok(data) => field::<Option<Created>>(operation, data, root),
            Err(LinearError::NotFound(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// The kinds of entity Cutover creates with its own ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreatedKind {
    Comment,
    Issue,
    Label,
    Relation,
    Activity,
}
