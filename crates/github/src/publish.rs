//! The writes Cutover makes, each safe to repeat: running one again after a crash or a lost
//! response finds what the earlier run made instead of making it twice.
//!
//! - [`push_branch`]: one commit holding the files, on top of the base branch, on `branch`.
//!   Blobs and trees are content-addressed, and the commit's dates are fixed by the caller, so
//!   making them again gives the same objects. A branch whose head already has that tree on
//!   that base is left alone. A branch with commits Cutover did not make is never overwritten.
//! - [`upsert_pull`]: the open pull request from `branch`, found by its head first, else
//!   created; its title and body are brought up to date.
//! - [`upsert_comment`]: a comment carrying a marker, updated in place.

use crate::api::{PullRequest, Signature};
use crate::client::GitHubClient;
use crate::error::GitHubError;
use crate::repo::{Repo, check_branch};

/// A file to commit: its path in the repository and its content.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct File {
    pub path: String,
    pub content: String,
}

/// What [`push_branch`] commits.
#[derive(Debug, Clone)]
pub struct Push<'a> {
    pub base: &'a str,
    pub branch: &'a str,
    pub message: &'a str,
    pub files: &'a [File],
    /// Author and committer; Cutover's commits are recognised by this email.
    pub author: &'a Signature,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub commit: String,
    pub base_commit: String,
    /// Whether the branch moved (false: it already held this commit's tree on this base).
    pub moved: bool,
}

/// Puts one commit with `files` on top of `base` onto `branch`.
pub async fn push_branch(client: &GitHubClient, repo: &Repo, push: &Push<'_>) -> Result<Pushed, GitHubError> {
    check_branch(push.branch)?;
    for file in push.files {
        check_path(&file.path)?;
    }
    let base_commit = client
        .branch_head(repo, push.base)
        .await?
        .ok_or_else(|| GitHubError::NotFound(format!("branch {} of {repo}", push.base)))?;
    let base_tree = client.commit(repo, &base_commit).await?.tree.sha;
    let existing = match client.branch_head(repo, push.branch).await? {
        Some(sha) => Some(client.commit(repo, &sha).await?),
        None => None,
    };
    if let Some(head) = &existing {
        // Cutover's own commit (its author, one parent) is replaced; a branch still at the base
        // has nothing to lose; anything else is someone's work.
        let ours = head.author.as_ref().is_some_and(|a| a.email == push.author.email) && head.parents.len() == 1;
        if !ours && head.sha != base_commit {
            return Err(GitHubError::Conflict(format!(
                "branch {} of {repo} has commits Cutover did not make; it is left as it is",
                push.branch
            )));
        }
    }
    let mut entries = Vec::with_capacity(push.files.len());
    for file in push.files {
        entries.push((file.path.clone(), client.create_blob(repo, file.content.as_bytes()).await?));
    }
    let tree = client.create_tree(repo, &base_tree, &entries).await?.sha;
    if let Some(head) = &existing
        && head.tree.sha == tree
        && head.parents.iter().map(|p| p.sha.as_str()).eq([base_commit.as_str()])
    {
        return Ok(Pushed { commit: head.sha.clone(), base_commit, moved: false });
    }
    let commit =
        client.create_commit(repo, push.message, &tree, std::slice::from_ref(&base_commit), push.author).await?;
    match &existing {
        Some(_) => client.update_branch(repo, push.branch, &commit.sha, true).await?,
        None => match client.create_branch(repo, push.branch, &commit.sha).await {
            Ok(()) => {}
            // An earlier attempt made it before its response was lost: point it here.
            Err(GitHubError::Unprocessable(message)) if message.contains("already exists") => {
                client.update_branch(repo, push.branch, &commit.sha, true).await?
            }
            Err(err) => return Err(err),
        },
    }
    Ok(Pushed { commit: commit.sha, base_commit, moved: true })
}

/// Paths come from the renderer (and the repository it read): relative, no `.`/`..`
/// components, no `.git`.
fn check_path(path: &str) -> Result<(), GitHubError> {
    let ok = !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.bytes().any(|b| b.is_ascii_control())
        && path.split('/').all(|part| !part.is_empty() && part != "." && part != ".." && part != ".git");
    if ok {
        Ok(())
    } else {
        Err(GitHubError::Invalid(format!("\"{}\" is not a file path to commit", path.escape_default())))
    }
}

/// The open pull request from `branch` into `base` with this title and body.
/// Returns it and whether it was created now.
pub async fn upsert_pull(
    client: &GitHubClient,
    repo: &Repo,
    branch: &str,
    base: &str,
    title: &str,
    body: &str,
) -> Result<(PullRequest, bool), GitHubError> {
    if let Some(found) = client.open_pull_for(repo, branch).await? {
        return Ok((bring_up_to_date(client, repo, found, title, body).await?, false));
    }
    match client.create_pull(repo, title, branch, base, body).await {
        Ok(created) => Ok((created, true)),
        // GitHub: "A pull request already exists for owner:branch." (an earlier attempt).
        Err(GitHubError::Unprocessable(message)) if message.contains("already exists") => {
            let found =
                client.open_pull_for(repo, branch).await?.ok_or_else(|| GitHubError::Unprocessable(message.clone()))?;
            Ok((bring_up_to_date(client, repo, found, title, body).await?, false))
        }
        Err(err) => Err(err),
    }
}

async fn bring_up_to_date(
    client: &GitHubClient,
    repo: &Repo,
    found: PullRequest,
    title: &str,
    body: &str,
) -> Result<PullRequest, GitHubError> {
    if found.title == title && found.body.as_deref() == Some(body) {
        return Ok(found);
    }
    client.update_pull(repo, found.number, title, body).await
}

/// The comment on pull request `number` whose body contains `marker` (an HTML comment such as
/// `<!-- cutover:lint -->`), updated to `body`, or created. Returns its id.
pub async fn upsert_comment(
    client: &GitHubClient,
    repo: &Repo,
    number: u64,
    marker: &str,
    body: &str,
) -> Result<u64, GitHubError> {
    let body = if body.contains(marker) { body.to_string() } else { format!("{marker}\n{body}") };
    let comments = client.comments(repo, number).await?;
    match comments.iter().find(|c| c.body.as_deref().is_some_and(|b| b.contains(marker))) {
        Some(found) if found.body.as_deref() == Some(body.as_str()) => Ok(found.id),
        Some(found) => Ok(client.update_comment(repo, found.id, &body).await?.id),
        None => Ok(client.create_comment(repo, number, &body).await?.id),
    }
}
