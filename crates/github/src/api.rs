//! The REST operations Cutover uses, typed. Response types keep only the fields read.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::GitHubClient;
use crate::error::GitHubError;
use crate::repo::{Repo, check_branch, encode_path, encode_query};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Repository {
    pub full_name: String,
    pub default_branch: String,
    pub html_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ShaRef {
    pub sha: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct GitRef {
    object: ShaRef,
}

/// A name, an email and an RFC 3339 date: the author and committer of a commit. A fixed date
/// makes the commit's SHA a function of its content, so making it again gives the same commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub name: String,
    pub email: String,
    pub date: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Commit {
    pub sha: String,
    pub tree: ShaRef,
    #[serde(default)]
    pub parents: Vec<ShaRef>,
    #[serde(default)]
    pub message: String,
    pub author: Option<Signature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TreeEntry {
    pub path: String,
    pub mode: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub sha: String,
    #[serde(default)]
    pub size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Tree {
    pub sha: String,
    pub tree: Vec<TreeEntry>,
    #[serde(default)]
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BranchRef {
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    pub html_url: String,
    pub state: String,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    pub head: BranchRef,
    pub base: BranchRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IssueComment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
    pub html_url: String,
}

#[derive(Deserialize)]
struct Blob {
    content: String,
    encoding: String,
}

impl GitHubClient {
    pub async fn repository(&self, repo: &Repo) -> Result<Repository, GitHubError> {
        self.call(Method::GET, repo, &repo.path(), None).await
    }

    /// The commit a branch points at; `None` when there is no such branch.
    pub async fn branch_head(&self, repo: &Repo, branch: &str) -> Result<Option<String>, GitHubError> {
        check_branch(branch)?;
        let path = format!("{}/git/ref/heads/{}", repo.path(), encode_path(branch));
        Ok(self.find::<GitRef>(repo, &path).await?.map(|r| r.object.sha))
    }

    pub async fn commit(&self, repo: &Repo, sha: &str) -> Result<Commit, GitHubError> {
        let path = format!("{}/git/commits/{}", repo.path(), check_sha(sha)?);
        self.call(Method::GET, repo, &path, None).await
    }

    /// A tree with every entry below it (`recursive=1`).
    pub async fn tree(&self, repo: &Repo, sha: &str) -> Result<Tree, GitHubError> {
        let path = format!("{}/git/trees/{}?recursive=1", repo.path(), check_sha(sha)?);
        self.call(Method::GET, repo, &path, None).await
    }

    pub async fn blob(&self, repo: &Repo, sha: &str) -> Result<Vec<u8>, GitHubError> {
        let path = format!("{}/git/blobs/{}", repo.path(), check_sha(sha)?);
        let blob: Blob = self.call(Method::GET, repo, &path, None).await?;
        if blob.encoding != "base64" {
            return Ok(blob.content.into_bytes());
        }
        let compact: String = blob.content.chars().filter(|c| !c.is_whitespace()).collect();
        STANDARD
            .decode(compact)
            .map_err(|e| GitHubError::Decode { what: format!("blob {sha}"), message: e.to_string() })
    }

    /// Blobs, trees and commits (with the dates given) are named by their content: making one
    /// again makes nothing new, so these three are retried here when an answer is lost.
    pub async fn create_blob(&self, repo: &Repo, content: &[u8]) -> Result<String, GitHubError> {
        let body = json!({ "content": STANDARD.encode(content), "encoding": "base64" });
        let path = format!("{}/git/blobs", repo.path());
        let created: ShaRef = self.call_idempotent(Method::POST, repo, &path, Some(&body)).await?;
        Ok(created.sha)
    }

    /// A tree: `base_tree` with these regular files (path, blob SHA) added or replaced.
    pub async fn create_tree(
        &self,
        repo: &Repo,
        base_tree: &str,
        files: &[(String, String)],
    ) -> Result<Tree, GitHubError> {
        let entries: Vec<_> = files
            .iter()
            .map(|(path, sha)| json!({ "path": path, "mode": "100644", "type": "blob", "sha": sha }))
            .collect();
        let body = json!({ "base_tree": base_tree, "tree": entries });
        self.call_idempotent(Method::POST, repo, &format!("{}/git/trees", repo.path()), Some(&body)).await
    }

    pub async fn create_commit(
        &self,
        repo: &Repo,
        message: &str,
        tree: &str,
        parents: &[String],
        author: &Signature,
    ) -> Result<Commit, GitHubError> {
        let body =
            json!({ "message": message, "tree": tree, "parents": parents, "author": author, "committer": author });
        self.call(Method::POST, repo, &format!("{}/git/commits", repo.path()), Some(&body)).await
    }

    pub async fn create_branch(&self, repo: &Repo, branch: &str, sha: &str) -> Result<(), GitHubError> {
        check_branch(branch)?;
        let body = json!({ "ref": format!("refs/heads/{branch}"), "sha": sha });
        let _: serde_json::Value =
            self.call(Method::POST, repo, &format!("{}/git/refs", repo.path()), Some(&body)).await?;
        Ok(())
    }

    pub async fn update_branch(&self, repo: &Repo, branch: &str, sha: &str, force: bool) -> Result<(), GitHubError> {
        check_branch(branch)?;
        let body = json!({ "sha": sha, "force": force });
        let path = format!("{}/git/refs/heads/{}", repo.path(), encode_path(branch));
        let _: serde_json::Value = self.call(Method::PATCH, repo, &path, Some(&body)).await?;
        Ok(())
    }

    /// The open pull request from `branch` (of this repository), if any.
    pub async fn open_pull_for(&self, repo: &Repo, branch: &str) -> Result<Option<PullRequest>, GitHubError> {
        check_branch(branch)?;
        let head = encode_query(&format!("{}:{branch}", repo.owner()));
        let path = format!("{}/pulls?state=open&head={head}&per_page=10", repo.path());
        let pulls: Vec<PullRequest> = self.call(Method::GET, repo, &path, None).await?;
        Ok(pulls.into_iter().find(|p| p.head.name == branch && p.state == "open"))
    }

    pub async fn create_pull(
        &self,
        repo: &Repo,
        title: &str,
        head: &str,
        base: &str,
        body: &str,
    ) -> Result<PullRequest, GitHubError> {
        check_branch(head)?;
        let body = json!({ "title": title, "head": head, "base": base, "body": body });
        self.call(Method::POST, repo, &format!("{}/pulls", repo.path()), Some(&body)).await
    }

    pub async fn update_pull(
        &self,
        repo: &Repo,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, GitHubError> {
        let body = json!({ "title": title, "body": body });
        self.call(Method::PATCH, repo, &format!("{}/pulls/{number}", repo.path()), Some(&body)).await
    }

    /// A pull request's conversation comments (up to 1,000, 100 a page).
    pub async fn comments(&self, repo: &Repo, number: u64) -> Result<Vec<IssueComment>, GitHubError> {
        let mut all = Vec::new();
        for page in 1..=10 {
            let path = format!("{}/issues/{number}/comments?per_page=100&page={page}", repo.path());
            let batch: Vec<IssueComment> = self.call(Method::GET, repo, &path, None).await?;
            let last = batch.len() < 100;
            all.extend(batch);
            if last {
                break;
            }
        }
        Ok(all)
    }

    pub async fn create_comment(&self, repo: &Repo, number: u64, body: &str) -> Result<IssueComment, GitHubError> {
        let path = format!("{}/issues/{number}/comments", repo.path());
        self.call(Method::POST, repo, &path, Some(&json!({ "body": body }))).await
    }

    pub async fn update_comment(&self, repo: &Repo, id: u64, body: &str) -> Result<IssueComment, GitHubError> {
        let path = format!("{}/issues/comments/{id}", repo.path());
        self.call(Method::PATCH, repo, &path, Some(&json!({ "body": body }))).await
    }
}

/// Object SHAs from responses go back into URLs: 40 (SHA-1) or 64 (SHA-256) hex digits only.
fn check_sha(sha: &str) -> Result<&str, GitHubError> {
    if matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(sha)
    } else {
        Err(GitHubError::Invalid(format!("\"{}\" is not a git object id", sha.escape_default())))
    }
}
