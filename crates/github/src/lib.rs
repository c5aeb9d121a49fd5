//! I/O: GitHub's REST API for what Cutover writes to a repository: read the default branch's
//! files, one commit on a branch, the pull request, a comment kept up to date.
//!
//! Authentication is a token (`GITHUB_TOKEN`) or a GitHub App (JWT → installation token, cached
//! until near its expiry). Rate limits are read from the headers (primary and secondary);
//! reads and rate-limited requests are retried here, writes that may have applied are not:
//! the caller (the agent's outbox) repeats the [`publish`] operation, which looks first.

mod api;
mod auth;
mod client;
mod error;
pub mod publish;
mod repo;

pub use api::{BranchRef, Commit, IssueComment, PullRequest, Repository, ShaRef, Signature, Tree, TreeEntry};
pub use auth::{AppKey, Credentials};
pub use client::{ClientConfig, GitHubClient, RateLimit};
pub use error::{ErrorBody, GitHubError};
pub use repo::{Repo, check_branch};

/// GitHub's public REST endpoint, the default for `GITHUB_API_URL`.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
