//! Failures of a GitHub API call, classified by what the caller should do about them.

use std::time::Duration;

/// GitHub's error body: `{"message": ..., "documentation_url": ..., "errors": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub documentation_url: Option<String>,
    #[serde(default)]
    pub errors: Vec<serde_json::Value>,
}

impl ErrorBody {
    /// The message and the first field error's message, when there is one.
    pub fn describe(&self) -> String {
        let detail = self.errors.iter().find_map(|e| e.get("message").and_then(|m| m.as_str()).map(str::to_string));
        let message = clip(&self.message);
        match detail {
            Some(detail) => format!("{message} ({})", clip(&detail)),
            None => message,
        }
    }
}

/// Text from GitHub is shown in logs and messages: one line, at most 200 characters.
fn clip(text: &str) -> String {
    let line: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    line
}

#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    /// Primary (`x-ratelimit-remaining: 0`) or secondary rate limit (`retry-after`, or a 403
    /// whose message says so); nothing was applied.
    #[error("GitHub rate limit reached; retry in {}s", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    /// 401: the token is wrong or expired.
    #[error("GitHub rejected the credentials ({0}); check GITHUB_TOKEN or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY")]
    Authentication(String),
    /// 403 that is not a rate limit: the token lacks a permission.
    #[error("GitHub refused the request: {0}")]
    Forbidden(String),
    /// 404: the repository, ref or object does not exist (or the token cannot see it).
    #[error("not found on GitHub: {0}")]
    NotFound(String),
    /// 409: the repository is empty, or a ref moved under us.
    #[error("GitHub reported a conflict: {0}")]
    Conflict(String),
    /// 422: validation failed (a ref that exists, a pull request that exists, bad input).
    #[error("GitHub rejected the input: {0}")]
    Unprocessable(String),
    /// Another HTTP failure (5xx, a proxy's error page).
    #[error("GitHub answered HTTP {status}")]
    Http { status: u16 },
    /// The request may or may not have reached GitHub (connection reset, timeout).
    #[error("could not reach GitHub: {0}")]
    Transport(String),
    #[error("unexpected response from GitHub for {what}: {message}")]
    Decode { what: String, message: String },
    /// The credentials cannot be used (a private key that is not an RSA PEM).
    #[error("GitHub credentials are unusable: {0}")]
    Credentials(String),
    /// Input Cutover refuses to send (a branch name git would reject, a bad repository name).
    #[error("{0}")]
    Invalid(String),
}

impl GitHubError {
    /// Whether trying again later can succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            GitHubError::RateLimited { .. } | GitHubError::Transport(_) => true,
            GitHubError::Http { status } => *status >= 500 || *status == 408,
            _ => false,
        }
    }

    /// Whether a failed request may have been applied (so a retried write must look first).
    pub fn may_have_applied(&self) -> bool {
        matches!(self, GitHubError::Transport(_)) || matches!(self, GitHubError::Http { status } if *status >= 500)
    }

    pub(crate) fn from_status(status: u16, body: &ErrorBody) -> GitHubError {
        let text = if body.message.is_empty() { format!("HTTP {status}") } else { body.describe() };
        match status {
            401 => GitHubError::Authentication(text),
            403 => GitHubError::Forbidden(text),
            404 => GitHubError::NotFound(text),
            409 => GitHubError::Conflict(text),
            422 => GitHubError::Unprocessable(text),
            _ => GitHubError::Http { status },
        }
    }
}
