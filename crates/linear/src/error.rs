//! Failures of a Linear API call, classified by what the caller should do about them.

use std::time::Duration;

/// One GraphQL error as Linear returns it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct GraphqlError {
    pub message: String,
    #[serde(default)]
    pub path: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub extensions: Option<serde_json::Value>,
}

impl GraphqlError {
    fn extension(&self, key: &str) -> Option<&str> {
        self.extensions.as_ref()?.get(key)?.as_str()
    }

    /// Linear's best human-readable text for the error.
    pub fn user_message(&self) -> &str {
        self.extension("userPresentableMessage").unwrap_or(&self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LinearError {
    /// Rejected by rate limiting (HTTP 400 `RATELIMITED` or HTTP 429) after the retries allowed.
    #[error("Linear rate limit reached; retry in {}s", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    #[error("Linear rejected the credentials ({0}); check LINEAR_API_KEY or LINEAR_OAUTH_TOKEN")]
    Authentication(String),
    #[error("Linear refused the operation: {0}")]
    Forbidden(String),
    /// The entity asked for does not exist (Linear: "Entity not found").
    #[error("not found in Linear: {0}")]
    NotFound(String),
    /// The operation is invalid input (bad id, failed validation, duplicate id).
    #[error("Linear rejected the input: {0}")]
    InvalidInput(String),
    /// The document did not validate against Linear's schema: a bug in Cutover.
    #[error("Linear rejected the query {operation}: {message}")]
    Validation { operation: String, message: String },
    /// Other GraphQL errors.
    #[error("Linear returned an error for {operation}: {}", errors.first().map(GraphqlError::user_message).unwrap_or("unknown"))]
    Graphql { operation: String, errors: Vec<GraphqlError> },
    /// A non-GraphQL HTTP failure: 5xx, a proxy error page.
    #[error("Linear answered HTTP {status}")]
    Http { status: u16 },
    /// The request may or may not have reached Linear (connection reset, timeout).
    #[error("could not reach Linear: {0}")]
    Transport(String),
    #[error("unexpected response from Linear for {operation}: {message}")]
    Decode { operation: String, message: String },
}

impl LinearError {
    /// Whether trying again later can succeed. Creates retried after a possibly-applied
    /// failure must first check for the entity (the outbox does; see `cutover-agent`).
    pub fn is_retryable(&self) -> bool {
        match self {
            LinearError::RateLimited { .. } | LinearError::Transport(_) => true,
            LinearError::Http { status } => *status >= 500 || *status == 408,
            LinearError::Graphql { errors, .. } => errors.iter().any(|e| {
                matches!(
                    e.extensions.as_ref().and_then(|x| x.get("type")).and_then(|t| t.as_str()),
                    Some("lock timeout" | "internal error" | "network error")
                )
            }),
            _ => false,
        }
    }

    /// Whether the request may have been applied although it failed (so a retried create must
    /// look for the entity first).
    pub fn may_have_applied(&self) -> bool {
        matches!(self, LinearError::Transport(_)) || matches!(self, LinearError::Http { status } if *status >= 500)
    }

    pub(crate) fn from_graphql(operation: &str, errors: Vec<GraphqlError>) -> LinearError {
        let first = match errors.first() {
            Some(first) => first,
            None => return LinearError::Graphql { operation: operation.to_string(), errors },
        };
        let code = first.extension("code").unwrap_or("").to_ascii_uppercase();
        let kind = first.extension("type").unwrap_or("").to_ascii_lowercase();
        let text = first.user_message().to_string();
        if code == "RATELIMITED" || kind == "ratelimited" {
            LinearError::RateLimited { retry_after: Duration::ZERO }
        } else if code == "GRAPHQL_VALIDATION_FAILED" || kind == "graphql error" {
            LinearError::Validation { operation: operation.to_string(), message: first.message.clone() }
        } else if code == "AUTHENTICATION_ERROR" || kind == "authentication error" {
            LinearError::Authentication(text)
        } else if code == "FORBIDDEN" || kind == "forbidden" {
            LinearError::Forbidden(text)
        } else if first.message.starts_with("Entity not found") {
            LinearError::NotFound(text)
        } else if code == "INVALID_INPUT" || kind == "invalid input" {
            LinearError::InvalidInput(text)
        } else {
            LinearError::Graphql { operation: operation.to_string(), errors }
        }
    }
}
