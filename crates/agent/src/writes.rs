//! The writes Cutover makes to Linear and GitHub, as outbox entries: serializable, replayable,
//! and each either idempotent by nature, created under an id chosen when it was queued, or
//! (GitHub) looking first for what it makes.

use std::time::Duration;

use cutover_github::publish::{Push, push_branch, upsert_pull};
use cutover_github::{GitHubClient, GitHubError, Repo, Signature};
use cutover_jobs::OutboxItem;
use cutover_linear::types::*;
use cutover_linear::{CreatedKind, LinearClient, LinearError, label_colour};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One write. Creates use the outbox item's `entity_id` as the new entity's id, so a retry after
/// a lost response finds the entity instead of creating a second one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "write", rename_all = "snake_case")]
pub enum Write {
    Activity {
        session_id: String,
        content: ActivityContent,
        #[serde(default)]
        ephemeral: bool,
        #[serde(default)]
        signal: Option<String>,
        #[serde(default)]
        signal_metadata: Option<Value>,
    },
    Comment {
        issue_id: String,
        body: String,
    },
    /// A phase's checkpoint: one comment on the phase's sub-issue, created under `comment_id`
    /// by the first posting and updated in place by the later ones.
    Checkpoint {
        comment_id: String,
        issue_id: String,
        body: String,
    },
    MoveIssue {
        issue_id: String,
        state_id: String,
        state_name: String,
    },
    /// Sets the issue's whole description (an adopted proposal): the same text each time it
    /// is sent.
    UpdateDescription {
        issue_id: String,
        description: String,
    },
    /// Creates the label unless one with this name exists for the team or the workspace.
    EnsureLabel {
        team_id: String,
        name: String,
        description: String,
    },
    AddLabels {
        issue_id: String,
        label_names: Vec<String>,
    },
    SubIssue {
        team_id: String,
        parent_id: String,
        title: String,
        description: String,
        label_names: Vec<String>,
    },
    /// `issue` blocks `related` (both may be ids chosen by earlier writes of the flow).
    Blocks {
        issue_id: String,
        related_issue_id: String,
    },
    /// The final response to an approval, written when it is sent (after the label writes
    /// before it): it names the labels that exist then, and those Linear refused to create.
    /// A session activity, or a comment on the issue for API-key installs.
    Approved {
        session_id: Option<String>,
        issue_id: String,
        team_id: String,
        phases: Vec<String>,
        /// The titles of the application's sub-issues, created between the phases.
        #[serde(default)]
        application: Vec<String>,
        label_names: Vec<String>,
    },
    /// One commit with `files` on top of `base`, on `branch` of the GitHub repository `repo`
    /// (`owner/name`). `date` was fixed when the write was decided, so the commit made again
    /// after a crash or a lost response is the same commit (`cutover_github::publish`).
    PushBranch {
        repo: String,
        base: String,
        branch: String,
        message: String,
        files: Vec<cutover_github::publish::File>,
        date: String,
    },
    /// The pull request from `branch` (found by its head before one is opened), attached to the
    /// issue and to `sub_issue_ids` in Linear and linked in the agent session.
    PullRequest {
        repo: String,
        base: String,
        branch: String,
        title: String,
        body: String,
        issue_id: String,
        session_id: Option<String>,
        sub_issue_ids: Vec<String>,
    },
}

/// How a write ended.
#[derive(Debug)]
pub enum Sent {
    Done(Value),
    /// Try again after the delay (rate limit, outage, lost response).
    Retry(Duration, String),
    /// Linear will never accept it (invalid input, forbidden).
    Failed(String),
}

impl Write {
    /// A plain activity in an agent session (no signal, not ephemeral).
    pub fn activity(session_id: &str, content: ActivityContent) -> Write {
        Write::Activity {
            session_id: session_id.to_string(),
            content,
            ephemeral: false,
            signal: None,
            signal_metadata: None,
        }
    }

    /// A message to the requester: an activity in the agent session when there is one, else a
    /// comment on the issue (API-key installs), where thoughts and actions are not posted.
    pub fn to_requester(session_id: Option<&str>, issue_id: &str, content: ActivityContent) -> Option<Write> {
        match (session_id, content) {
            (Some(session_id), content) => Some(Write::activity(session_id, content)),
            (None, ActivityContent::Thought { .. } | ActivityContent::Action { .. }) => None,
            (
                None,
                ActivityContent::Elicitation { body }
                | ActivityContent::Response { body }
                | ActivityContent::Error { body },
            ) => Some(Write::Comment { issue_id: issue_id.to_string(), body }),
        }
    }

    /// One line for logs and `--dry-run` output; never includes secrets (there are none here).
    pub fn describe(&self) -> String {
        match self {
            Write::Activity { content, signal, .. } => {
                let (kind, text) = match content {
                    ActivityContent::Thought { body } => ("thought", body.as_str()),
                    ActivityContent::Action { action, parameter, .. } => (action.as_str(), parameter.as_str()),
                    ActivityContent::Elicitation { body } => ("elicitation", body.as_str()),
                    ActivityContent::Response { body } => ("response", body.as_str()),
                    ActivityContent::Error { body } => ("error", body.as_str()),
                };
                let first = text.lines().next().unwrap_or("");
                match signal {
                    Some(signal) => format!("agent activity ({kind}, signal {signal}): {first}"),
                    None => format!("agent activity ({kind}): {first}"),
                }
            }
            Write::Comment { issue_id, body } => {
                format!("comment on {issue_id}: {}", body.lines().next().unwrap_or(""))
            }
            Write::Checkpoint { issue_id, body, .. } => {
                format!("checkpoint on {issue_id}: {}", body.lines().next().unwrap_or(""))
            }
            Write::MoveIssue { issue_id, state_name, .. } => format!("move {issue_id} to \"{state_name}\""),
            Write::UpdateDescription { issue_id, .. } => {
                format!("update the description of {issue_id}: the approved proposal's sections added")
            }
            Write::EnsureLabel { name, .. } => format!("ensure label \"{name}\" exists"),
            Write::AddLabels { issue_id, label_names } => {
                format!("label {issue_id} with {}", label_names.join(", "))
            }
            Write::SubIssue { parent_id, title, .. } => format!("create sub-issue of {parent_id}: \"{title}\""),
            Write::Blocks { issue_id, related_issue_id } => format!("relate: {issue_id} blocks {related_issue_id}"),
            Write::Approved { issue_id, .. } => format!("final response on {issue_id}: the plan is approved"),
            Write::PushBranch { repo, branch, files, .. } => {
                format!("push branch {branch} to GitHub {repo}: one commit with {} file(s)", files.len())
            }
            Write::PullRequest { repo, branch, base, title, .. } => {
                format!("open or update the pull request {branch} → {base} in GitHub {repo}: \"{title}\"")
            }
        }
    }

    /// The full text a write carries (comment bodies, sub-issue descriptions), for dry runs.
    pub fn body(&self) -> Option<&str> {
        match self {
            Write::Comment { body, .. } | Write::Checkpoint { body, .. } => Some(body),
            Write::SubIssue { description, .. } | Write::UpdateDescription { description, .. } => Some(description),
            Write::PullRequest { body, .. } => Some(body),
            Write::Activity {
                content:
                    ActivityContent::Elicitation { body }
                    | ActivityContent::Response { body }
                    | ActivityContent::Error { body },
                ..
            } => Some(body),
            _ => None,
        }
    }

    fn created_kind(&self) -> Option<CreatedKind> {
        match self {
            Write::Activity { .. } => Some(CreatedKind::Activity),
            Write::Comment { .. } => Some(CreatedKind::Comment),
            Write::SubIssue { .. } => Some(CreatedKind::Issue),
            Write::Blocks { .. } => Some(CreatedKind::Relation),
            Write::EnsureLabel { .. } => Some(CreatedKind::Label),
            Write::Approved { session_id: Some(_), .. } => Some(CreatedKind::Activity),
            Write::Approved { session_id: None, .. } => Some(CreatedKind::Comment),
            // Each looks for what it makes first, on every attempt (see `send_github`).
            Write::MoveIssue { .. }
            | Write::UpdateDescription { .. }
            | Write::Checkpoint { .. }
            | Write::AddLabels { .. }
            | Write::PushBranch { .. }
            | Write::PullRequest { .. } => None,
        }
    }
}

/// Backoff for a write that failed with a retryable error: doubling from `base`, capped.
pub fn backoff(base: Duration, cap: Duration, attempts: i64, hint: Option<Duration>) -> Duration {
    let doubled = base.saturating_mul(1u32 << (attempts.clamp(1, 16) - 1) as u32).min(cap);
    hint.map_or(doubled, |h| h.max(doubled).min(cap.max(h)))
}

/// Sends one outbox item. GitHub writes need `github` (`None`: GitHub is not configured, and
/// they fail saying so).
pub async fn send(
    client: &LinearClient,
    github: Option<&GitHubClient>,
    item: &OutboxItem,
    base: Duration,
    cap: Duration,
) -> Sent {
    let write: Write = match serde_json::from_value(item.op.clone()) {
        Ok(write) => write,
        Err(e) => return Sent::Failed(format!("unreadable outbox entry: {e}")),
    };
    if matches!(write, Write::PushBranch { .. } | Write::PullRequest { .. }) {
        let Some(github) = github else {
            return Sent::Failed(
                "GitHub is not configured (GITHUB_TOKEN or GITHUB_APP_ID, and [github] repository in cutover.toml)"
                    .into(),
            );
        };
        return send_github(client, github, &write, base, cap, item.attempts).await;
    }
    // An earlier attempt may have created the entity before its response was lost.
    if item.attempts > 1
        && let Some(kind) = write.created_kind()
    {
        match client.find_created(kind, &item.entity_id).await {
            Ok(Some(found)) => return Sent::Done(json!({ "id": found.id, "identifier": found.identifier })),
            Ok(None) => {}
            Err(err) => return classify(err, base, cap, item.attempts),
        }
    }
    match apply(client, &write, &item.entity_id).await {
        Ok(result) => Sent::Done(result),
        Err(err) => classify(err, base, cap, item.attempts),
    }
}

fn classify(err: LinearError, base: Duration, cap: Duration, attempts: i64) -> Sent {
    let hint = match &err {
        LinearError::RateLimited { retry_after } => Some(*retry_after),
        _ => None,
    };
    if err.is_retryable() || err.may_have_applied() {
        Sent::Retry(backoff(base, cap, attempts, hint), err.to_string())
    } else {
        Sent::Failed(err.to_string())
    }
}

async fn apply(client: &LinearClient, write: &Write, id: &str) -> Result<Value, LinearError> {
    let created = |c: Created| json!({ "id": c.id, "identifier": c.identifier, "url": c.url });
    if let Write::Approved { session_id, issue_id, team_id, phases, application, label_names } = write {
        let (mut applied, mut refused) = (Vec::new(), Vec::new());
        for name in label_names {
            match find_label(client, team_id, name).await? {
                Some(_) => applied.push(name.clone()),
                None => refused.push(name.clone()),
            }
        }
        let body = crate::messages::approved(phases, application, &applied, &refused);
        let message = Write::to_requester(session_id.as_deref(), issue_id, ActivityContent::Response { body })
            .expect("a response always reaches the requester");
        return Box::pin(apply(client, &message, id)).await;
    }
    match write {
        Write::Activity { session_id, content, ephemeral, signal, signal_metadata } => {
            let input = AgentActivityCreateInput {
                id: Some(id.to_string()),
                agent_session_id: session_id.clone(),
                content: content.clone(),
                ephemeral: ephemeral.then_some(true),
                signal: signal.clone(),
                signal_metadata: signal_metadata.clone(),
            };
            client.activity_create(&input).await.map(created)
        }
        Write::Comment { issue_id, body } => {
            let input = CommentCreateInput {
                id: Some(id.to_string()),
                issue_id: Some(issue_id.clone()),
                body: Some(body.clone()),
                parent_id: None,
            };
            client.comment_create(&input).await.map(created)
        }
        Write::Checkpoint { comment_id, issue_id, body } => {
            if client.find_created(CreatedKind::Comment, comment_id).await?.is_some() {
                let input = CommentUpdateInput { body: Some(body.clone()) };
                return client.comment_update(comment_id, &input).await.map(created);
            }
            let input = CommentCreateInput {
                id: Some(comment_id.clone()),
                issue_id: Some(issue_id.clone()),
                body: Some(body.clone()),
                parent_id: None,
            };
            client.comment_create(&input).await.map(created)
        }
        Write::MoveIssue { issue_id, state_id, .. } => {
            let input = IssueUpdateInput { state_id: Some(state_id.clone()), ..Default::default() };
            client.issue_update(issue_id, &input).await.map(created)
        }
        Write::UpdateDescription { issue_id, description } => {
            let input = IssueUpdateInput { description: Some(description.clone()), ..Default::default() };
            client.issue_update(issue_id, &input).await.map(created)
        }
        Write::EnsureLabel { team_id, name, description } => {
            if let Some(label) = find_label(client, team_id, name).await? {
                return Ok(json!({ "id": label.id, "existing": true }));
            }
            let input = IssueLabelCreateInput {
                id: Some(id.to_string()),
                name: name.clone(),
                color: Some(label_colour(name).to_string()),
                description: Some(description.clone()),
                team_id: Some(team_id.clone()),
            };
            client.label_create(&input).await.map(|l| json!({ "id": l.id }))
        }
        Write::AddLabels { issue_id, label_names } => {
            let team_id = client.issue(issue_id).await?.team.id;
            let ids = label_ids(client, &team_id, label_names).await?;
            let input = IssueUpdateInput { added_label_ids: Some(ids), ..Default::default() };
            client.issue_update(issue_id, &input).await.map(created)
        }
        Write::SubIssue { team_id, parent_id, title, description, label_names } => {
            let ids = label_ids(client, team_id, label_names).await?;
            let input = IssueCreateInput {
                id: Some(id.to_string()),
                team_id: team_id.clone(),
                parent_id: Some(parent_id.clone()),
                title: Some(title.clone()),
                description: Some(description.clone()),
                label_ids: (!ids.is_empty()).then_some(ids),
                ..Default::default()
            };
            client.issue_create(&input).await.map(created)
        }
        Write::Blocks { issue_id, related_issue_id } => {
            let input = IssueRelationCreateInput {
                id: Some(id.to_string()),
                issue_id: issue_id.clone(),
                related_issue_id: related_issue_id.clone(),
                kind: "blocks".into(),
            };
            client.relation_create(&input).await.map(created)
        }
        Write::Approved { .. } => unreachable!("written above"),
        Write::PushBranch { .. } | Write::PullRequest { .. } => unreachable!("sent by send_github"),
    }
}

/// Either side of a GitHub write can fail.
enum Failure {
    GitHub(GitHubError),
    Linear(LinearError),
}

/// Sends a GitHub write. Both are safe to repeat on every attempt: `push_branch` makes the
/// same objects again and leaves a branch that already holds them; `upsert_pull` finds the
/// open pull request by its head branch before opening one; Linear keys attachments by issue
/// and URL, and the session's external URLs by URL.
async fn send_github(
    linear: &LinearClient,
    github: &GitHubClient,
    write: &Write,
    base: Duration,
    cap: Duration,
    attempts: i64,
) -> Sent {
    let result = match write {
        Write::PushBranch { repo, base: base_branch, branch, message, files, date } => {
            push(github, repo, base_branch, branch, message, files, date).await.map_err(Failure::GitHub)
        }
        Write::PullRequest { repo, base: base_branch, branch, title, body, issue_id, session_id, sub_issue_ids } => {
            pull_request(
                linear,
                github,
                repo,
                base_branch,
                branch,
                title,
                body,
                issue_id,
                session_id.as_deref(),
                sub_issue_ids,
            )
            .await
        }
        _ => unreachable!("only GitHub writes come here"),
    };
    match result {
        Ok(value) => Sent::Done(value),
        Err(Failure::Linear(err)) => classify(err, base, cap, attempts),
        Err(Failure::GitHub(err)) => {
            let hint = match &err {
                GitHubError::RateLimited { retry_after } => Some(*retry_after),
                _ => None,
            };
            if err.is_retryable() || err.may_have_applied() {
                Sent::Retry(backoff(base, cap, attempts, hint), err.to_string())
            } else {
                Sent::Failed(err.to_string())
            }
        }
    }
}

async fn push(
    github: &GitHubClient,
    repo: &str,
    base: &str,
    branch: &str,
    message: &str,
    files: &[cutover_github::publish::File],
    date: &str,
) -> Result<Value, GitHubError> {
    let repo = Repo::parse(repo)?;
    let author = Signature {
        name: crate::pull_request::AUTHOR_NAME.into(),
        email: crate::pull_request::AUTHOR_EMAIL.into(),
        date: date.to_string(),
    };
    let push = Push { base, branch, message, files, author: &author };
    let pushed = push_branch(github, &repo, &push).await?;
    Ok(json!({ "commit": pushed.commit, "base_commit": pushed.base_commit, "moved": pushed.moved }))
}

#[allow(clippy::too_many_arguments)]
async fn pull_request(
    linear: &LinearClient,
    github: &GitHubClient,
    repo: &str,
    base: &str,
    branch: &str,
    title: &str,
    body: &str,
    issue_id: &str,
    session_id: Option<&str>,
    sub_issue_ids: &[String],
) -> Result<Value, Failure> {
    let repo = Repo::parse(repo).map_err(Failure::GitHub)?;
    // Only from a branch holding Cutover's commit: when the push was refused (someone else's
    // commits are on the branch), no pull request is opened from their work.
    let head = github
        .branch_head(&repo, branch)
        .await
        .map_err(Failure::GitHub)?
        .ok_or_else(|| Failure::GitHub(GitHubError::NotFound(format!("branch {branch} of {repo}"))))?;
    let commit = github.commit(&repo, &head).await.map_err(Failure::GitHub)?;
    if commit.author.as_ref().is_none_or(|a| a.email != crate::pull_request::AUTHOR_EMAIL) {
        return Err(Failure::GitHub(GitHubError::Conflict(format!(
            "branch {branch} of {repo} does not hold Cutover's commit; no pull request is opened from it"
        ))));
    }
    let (pull, created) = upsert_pull(github, &repo, branch, base, title, body).await.map_err(Failure::GitHub)?;
    let label = format!("{}#{}", repo.full_name(), pull.number);
    for issue in std::iter::once(issue_id).chain(sub_issue_ids.iter().map(String::as_str)) {
        linear.attachment_link_github_pr(issue, &pull.html_url, title).await.map_err(Failure::Linear)?;
    }
    if let Some(session_id) = session_id {
        let input = AgentSessionUpdateInput {
            added_external_urls: Some(vec![ExternalUrl {
                label: format!("Pull request {label}"),
                url: pull.html_url.clone(),
            }]),
            plan: None,
        };
        linear.session_update(session_id, &input).await.map_err(Failure::Linear)?;
    }
    Ok(json!({ "number": pull.number, "url": pull.html_url, "created": created }))
}

/// The team's label of that name, else the workspace's.
async fn find_label(client: &LinearClient, team_id: &str, name: &str) -> Result<Option<Label>, LinearError> {
    let labels = client.labels_named(&[name]).await?;
    let team = labels.iter().find(|l| l.team.as_ref().is_some_and(|t| t.id == team_id)).cloned();
    Ok(team.or_else(|| labels.into_iter().find(|l| l.team.is_none())))
}

/// The ids of the labels that exist. A label that could not be created (a workspace that
/// restricts label management) has already been reported; the issue is made without it.
async fn label_ids(client: &LinearClient, team_id: &str, names: &[String]) -> Result<Vec<String>, LinearError> {
    let mut ids = Vec::new();
    for name in names {
        if let Some(label) = find_label(client, team_id, name).await? {
            ids.push(label.id);
        }
    }
    Ok(ids)
}
