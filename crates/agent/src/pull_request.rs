//! The pull request of an approved plan: which repository, what files, which branch, and the
//! two outbox writes that make it ([`Write::PushBranch`], [`Write::PullRequest`]).
//!
//! Decided in the approval job (reads only: the base branch and its tree), sent by the outbox
//! (`writes.rs`), each send repeatable: the branch's commit has a date fixed here, so making it
//! again gives the same commit, and the pull request is looked up by its head branch before one
//! is opened (`cutover_github::publish`).
//!
//! **The seam for migration files** is [`migration_files`]: today it commits the plan itself
//! (`cutover/<issue>.plan.json`, what `cutover apply --plan` runs); rendering the plan into the
//! repository's own migration format belongs to `cutover-write`, which is called from there.

use cutover_github::publish::File;
use cutover_github::{GitHubClient, GitHubError, Repo};
use cutover_linear::types::Issue;
use cutover_plan::planner::Plan;

use crate::writes::Write;

/// Cutover's commits are made, and recognised, under this name and email.
pub const AUTHOR_NAME: &str = "Cutover";
pub const AUTHOR_EMAIL: &str = "cutover@users.noreply.github.com";

/// Where pull requests go: `[github]` in cutover.toml and the `GITHUB_*` environment.
#[derive(Debug, Clone)]
pub struct GitHubTarget {
    pub client: GitHubClient,
    pub repo: Repo,
    /// The branch pull requests go into; the repository's default branch when unset.
    pub base: Option<String>,
    /// The migrations directory, when not detected from the repository.
    pub directory: Option<String>,
    /// The migration format, when not detected from the repository.
    pub format: Option<String>,
}

/// The base branch as read for one approval: its name, its head commit and every path in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSnapshot {
    pub base: String,
    pub base_commit: String,
    pub paths: Vec<String>,
}

/// What the files are named after.
#[derive(Debug, Clone)]
pub struct FileOptions<'a> {
    pub identifier: &'a str,
    pub directory: Option<&'a str>,
    pub format: Option<&'a str>,
}

/// Reads the base branch (the configured one, else the default branch) and its tree.
pub async fn read_repository(target: &GitHubTarget) -> Result<RepoSnapshot, GitHubError> {
    let base = match &target.base {
        Some(base) => base.clone(),
        None => target.client.repository(&target.repo).await?.default_branch,
    };
    let base_commit = target
        .client
        .branch_head(&target.repo, &base)
        .await?
        .ok_or_else(|| GitHubError::NotFound(format!("branch {base} of {}", target.repo)))?;
    let tree = target.client.commit(&target.repo, &base_commit).await?.tree.sha;
    let tree = target.client.tree(&target.repo, &tree).await?;
    let paths = tree.tree.into_iter().filter(|e| e.kind == "blob").map(|e| e.path).collect();
    Ok(RepoSnapshot { base, base_commit, paths })
}

/// The seam: the files the pull request commits for `plan`. See the module documentation.
pub fn migration_files(plan: &Plan, _repo: &RepoSnapshot, options: &FileOptions<'_>) -> Vec<File> {
    let name = slug(options.identifier);
    let mut content = serde_json::to_string_pretty(plan).unwrap_or_default();
    content.push('\n');
    vec![File { path: format!("cutover/{name}.plan.json"), content }]
}

/// `ENG-123` → `eng-123`: lowercase ASCII letters, digits and `-` (an identifier is Linear's,
/// but it becomes a path).
fn slug(identifier: &str) -> String {
    let slug: String = identifier
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .to_string();
    if slug.is_empty() { "issue".into() } else { slug }
}

/// The branch for an issue: Linear's `branchName` when git accepts it, else one made from the
/// identifier.
pub fn branch_for(issue: &Issue) -> String {
    let suggested = issue.branch_name.trim();
    if cutover_github::check_branch(suggested).is_ok() {
        suggested.to_string()
    } else {
        format!("cutover/{}", slug(&issue.identifier))
    }
}

/// The pull request's title: the identifier (Linear links it) and the issue's title, on one
/// line of at most 120 characters.
pub fn title(issue: &Issue) -> String {
    let text: String = issue.title.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut title = format!("{}: {text}", issue.identifier);
    if title.chars().count() > 120 {
        title = title.chars().take(119).collect::<String>() + "…";
    }
    title
}

/// The two writes for an approved plan, decided now: the branch with its one commit, then the
/// pull request, which attaches itself to the issue and to `sub_issue_ids` (filled in by the
/// caller once the sub-issues' ids are chosen) and links itself in the session.
pub fn decide(
    target: &GitHubTarget,
    repo: &RepoSnapshot,
    issue: &Issue,
    plan: &Plan,
    session_id: Option<&str>,
) -> (Write, Write) {
    let branch = branch_for(issue);
    let options = FileOptions {
        identifier: &issue.identifier,
        directory: target.directory.as_deref(),
        format: target.format.as_deref(),
    };
    let files = migration_files(plan, repo, &options);
    let push = Write::PushBranch {
        repo: target.repo.full_name(),
        base: repo.base.clone(),
        branch: branch.clone(),
        message: crate::messages::commit_message(&title(issue), plan),
        files: files.clone(),
        // Fixed now: the commit made again after a crash is the same commit.
        date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    };
    let pull = Write::PullRequest {
        repo: target.repo.full_name(),
        base: repo.base.clone(),
        branch,
        title: title(issue),
        body: crate::messages::pull_request_body(&issue.identifier, plan, &files),
        issue_id: issue.id.clone(),
        session_id: session_id.map(str::to_string),
        sub_issue_ids: Vec::new(),
    };
    (push, pull)
}
