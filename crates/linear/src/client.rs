//! The HTTP side: one POST per operation, rate-limit bookkeeping from Linear's headers, and
//! backoff on rate limiting and on failures that cannot have applied anything.
//!
//! Waits Linear asks for (`Retry-After`, a spent budget's reset time) are clamped to
//! `ClientConfig::wait_bounds` (1 s to 15 min): a bogus or hostile header can neither make
//! Cutover hammer the API nor park a write for days.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::Credentials;
use crate::error::{GraphqlError, LinearError};
use crate::operations::document_for;

/// Client settings; `Default` gives Linear's endpoint with conservative retry limits.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub url: String,
    pub credentials: Credentials,
    /// Attempts per call for failures that did not apply (rate limits, and 5xx on queries).
    pub max_attempts: u32,
    /// First backoff; doubled per attempt up to `max_backoff` when Linear gives no reset time.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The shortest and longest wait taken from Linear's rate-limit headers.
    pub wait_bounds: WaitBounds,
}

/// Bounds for the waits Linear asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitBounds {
    pub min: Duration,
    pub max: Duration,
}

impl Default for WaitBounds {
    fn default() -> Self {
        WaitBounds { min: Duration::from_secs(1), max: Duration::from_secs(15 * 60) }
    }
}

impl WaitBounds {
    pub fn clamp(self, wait: Duration) -> Duration {
        wait.clamp(self.min, self.max.max(self.min))
    }
}

impl ClientConfig {
    /// The OAuth token endpoint next to the GraphQL endpoint (`…/graphql` → `…/oauth/token`).
    pub fn token_url(&self) -> String {
        match self.url.strip_suffix("/graphql") {
            Some(base) => format!("{base}/oauth/token"),
            None => format!("{}/oauth/token", self.url.trim_end_matches('/')),
        }
    }

    pub fn new(url: impl Into<String>, credentials: Credentials) -> ClientConfig {
        ClientConfig {
            url: url.into(),
            credentials,
            max_attempts: 6,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
            wait_bounds: WaitBounds::default(),
        }
    }
}

/// The budget Linear reported on the last response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitSnapshot {
    pub requests_remaining: Option<u64>,
    /// When the request budget refills, as epoch milliseconds.
    pub requests_reset_ms: Option<u64>,
    pub complexity_remaining: Option<u64>,
    pub complexity_reset_ms: Option<u64>,
}

/// A cheap-to-clone Linear API client.
#[derive(Debug, Clone)]
pub struct LinearClient {
    http: reqwest::Client,
    config: Arc<ClientConfig>,
    limits: Arc<Mutex<RateLimitSnapshot>>,
    /// The app actor token obtained from `Credentials::App`, while Linear accepts it.
    app_token: Arc<tokio::sync::Mutex<Option<String>>>,
}

#[derive(Serialize)]
struct Request<'a, V> {
    query: &'a str,
    #[serde(rename = "operationName")]
    operation_name: &'a str,
    variables: &'a V,
}

#[derive(serde::Deserialize)]
struct Response<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
}

impl LinearClient {
    pub fn new(config: ClientConfig) -> Result<LinearClient, LinearError> {
        // reqwest is built without a default crypto provider (ring instead of aws-lc, see
        // ARCHITECTURE.md); installing it twice is harmless.
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("cutover/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LinearError::Transport(e.to_string()))?;
        Ok(LinearClient {
            http,
            config: Arc::new(config),
            limits: Arc::new(Mutex::new(RateLimitSnapshot::default())),
            app_token: Arc::default(),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The budget from the most recent response.
    pub fn rate_limits(&self) -> RateLimitSnapshot {
        *self.limits.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs a named operation from `operations.graphql`. Rate-limited calls wait for Linear's
    /// reset time (or back off exponentially) and try again; server errors are retried only for
    /// queries, since a mutation may have been applied before the error.
    pub async fn run<V: Serialize, T: DeserializeOwned>(
        &self,
        operation: &str,
        variables: &V,
    ) -> Result<T, LinearError> {
        let query = document_for(operation);
        let is_query = query.starts_with("query");
        let mut attempt = 0;
        let mut fresh_token = false;
        loop {
            attempt += 1;
            self.wait_for_budget().await?;
            let err = match self.send(operation, query, variables).await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            // An app actor token expires (30 days) or dies with a rotated secret: fetch a new
            // one, once per call. Nothing was applied with a refused token.
            if matches!(err, LinearError::Authentication(_))
                && matches!(self.config.credentials, Credentials::App { .. })
                && !fresh_token
            {
                *self.app_token.lock().await = None;
                fresh_token = true;
                continue;
            }
            let retry_after = match &err {
                LinearError::RateLimited { retry_after } => Some(*retry_after),
                LinearError::Http { .. } | LinearError::Transport(_) if is_query && err.is_retryable() => {
                    Some(Duration::ZERO)
                }
                _ => None,
            };
            match retry_after {
                // A wait longer than we would back off anyway goes back to the caller, with the
                // time to wait; the outbox schedules the write durably instead of sleeping here.
                Some(wait) if wait > self.config.max_backoff => return Err(err),
                Some(wait) if attempt < self.config.max_attempts => {
                    tokio::time::sleep(self.backoff(attempt).max(wait)).await;
                }
                _ => return Err(err),
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << (attempt - 1).min(16);
        self.config.base_backoff.saturating_mul(factor).min(self.config.max_backoff)
    }

    /// When the last response said a budget is spent, waits for its reset, or, when that is
    /// further away than `max_backoff`, fails at once without spending a request.
    async fn wait_for_budget(&self) -> Result<(), LinearError> {
        let snapshot = self.rate_limits();
        let spent = [
            (snapshot.requests_remaining, snapshot.requests_reset_ms),
            (snapshot.complexity_remaining, snapshot.complexity_reset_ms),
        ]
        .into_iter()
        .filter(|(remaining, _)| *remaining == Some(0))
        .filter_map(|(_, reset)| reset)
        .max();
        // A reset in the past means the budget has refilled; one in the future is waited for,
        // at most the longest bound.
        let now = now_ms();
        if let Some(reset) = spent.filter(|reset| *reset > now) {
            let wait = Duration::from_millis(reset - now).min(self.config.wait_bounds.max);
            if wait > self.config.max_backoff {
                return Err(LinearError::RateLimited { retry_after: wait });
            }
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    async fn send<V: Serialize, T: DeserializeOwned>(
        &self,
        operation: &str,
        query: &str,
        variables: &V,
    ) -> Result<T, LinearError> {
        let authorization = self.authorization().await?;
        let response = self
            .http
            .post(&self.config.url)
            .header(reqwest::header::AUTHORIZATION, authorization)
            .json(&Request { query, operation_name: operation, variables })
            .send()
            .await
            .map_err(|e| LinearError::Transport(without_url(&e)))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let limits = self.record_limits(&headers);
        let body = response.bytes().await.map_err(|e| LinearError::Transport(without_url(&e)))?;
        let retry_after = retry_after(&headers, &limits, self.config.wait_bounds);
        if status == 429 {
            return Err(LinearError::RateLimited { retry_after });
        }
        // An outage, whatever the body says: the request may or may not have been applied.
        if status >= 500 {
            return Err(LinearError::Http { status });
        }
        let parsed: Result<Response<T>, _> = serde_json::from_slice(&body);
        match parsed {
            Ok(resp) if !resp.errors.is_empty() => match LinearError::from_graphql(operation, resp.errors) {
                LinearError::RateLimited { .. } => Err(LinearError::RateLimited { retry_after }),
                other => Err(other),
            },
            Ok(resp) if status == 200 => resp.data.ok_or_else(|| LinearError::Decode {
                operation: operation.to_string(),
                message: "no data and no errors".into(),
            }),
            Ok(_) | Err(_) if status != 200 => match status {
                401 => Err(LinearError::Authentication(format!("HTTP {status}"))),
                403 => Err(LinearError::Forbidden(format!("HTTP {status}"))),
                _ => Err(LinearError::Http { status }),
            },
            Ok(_) => unreachable!("handled above"),
            Err(e) => Err(LinearError::Decode { operation: operation.to_string(), message: e.to_string() }),
        }
    }

    /// The `Authorization` header: the credentials as they are, or an app actor token,
    /// fetched from the token endpoint when there is none.
    async fn authorization(&self) -> Result<String, LinearError> {
        let Credentials::App { client_id, client_secret } = &self.config.credentials else {
            return Ok(self.config.credentials.header_value().unwrap_or_default());
        };
        let mut token = self.app_token.lock().await;
        if let Some(token) = token.as_ref() {
            return Ok(format!("Bearer {token}"));
        }
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.as_str()),
            ("scope", "read,write,app:assignable,app:mentionable"),
        ];
        let body: String = form.iter().map(|(k, v)| format!("{k}={}", form_encode(v))).collect::<Vec<_>>().join("&");
        let response = self
            .http
            .post(self.config.token_url())
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| LinearError::Transport(without_url(&e)))?;
        let status = response.status().as_u16();
        let value: serde_json::Value = response.json().await.unwrap_or_default();
        match value.get("access_token").and_then(|t| t.as_str()) {
            Some(access) if status == 200 => {
                *token = Some(access.to_string());
                Ok(format!("Bearer {access}"))
            }
            _ if status >= 500 => Err(LinearError::Http { status }),
            _ => Err(LinearError::Authentication(format!(
                "Linear refused the app's client credentials (LINEAR_CLIENT_ID, LINEAR_CLIENT_SECRET): {}",
                value.get("error").and_then(|e| e.as_str()).unwrap_or("no token in the answer")
            ))),
        }
    }

    fn record_limits(&self, headers: &reqwest::header::HeaderMap) -> RateLimitSnapshot {
        let num =
            |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        let snapshot = RateLimitSnapshot {
            requests_remaining: num("x-ratelimit-requests-remaining"),
            requests_reset_ms: num("x-ratelimit-requests-reset").map(to_epoch_ms),
            complexity_remaining: num("x-ratelimit-complexity-remaining"),
            complexity_reset_ms: num("x-ratelimit-complexity-reset").map(to_epoch_ms),
        };
        if snapshot != RateLimitSnapshot::default() {
            *self.limits.lock().unwrap_or_else(|p| p.into_inner()) = snapshot;
        }
        snapshot
    }
}

/// Percent-encoding for a form value.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Linear documents reset times in epoch milliseconds; older pages said seconds.
fn to_epoch_ms(value: u64) -> u64 {
    if value > 100_000_000_000 { value } else { value.saturating_mul(1000) }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// How long a rate-limited response asks us to wait: `Retry-After` (seconds), else the earliest
/// spent budget's reset, else nothing (the caller backs off); clamped to `bounds`.
fn retry_after(headers: &reqwest::header::HeaderMap, limits: &RateLimitSnapshot, bounds: WaitBounds) -> Duration {
    if let Some(secs) =
        headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok())
    {
        return bounds.clamp(Duration::from_secs(secs));
    }
    let spent_reset = [
        (limits.requests_remaining, limits.requests_reset_ms),
        (limits.complexity_remaining, limits.complexity_reset_ms),
    ]
    .into_iter()
    .filter(|(remaining, _)| *remaining == Some(0))
    .filter_map(|(_, reset)| reset)
    .min();
    spent_reset
        .map(|reset| bounds.clamp(Duration::from_millis(reset.saturating_sub(now_ms()))))
        .unwrap_or(Duration::ZERO)
}

/// reqwest errors print the URL; ours carries no secret, but keep messages short and stable.
fn without_url(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(err);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() { kind.to_string() } else { format!("{kind}: {detail}") }
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderMap, HeaderValue};

    use super::*;

    fn wait_for(retry_after_header: Option<&str>, limits: RateLimitSnapshot) -> Duration {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry_after_header {
            headers.insert("retry-after", HeaderValue::from_str(value).unwrap());
        }
        retry_after(&headers, &limits, WaitBounds::default())
    }

    fn spent_until(reset_ms: u64) -> RateLimitSnapshot {
        RateLimitSnapshot { requests_remaining: Some(0), requests_reset_ms: Some(reset_ms), ..Default::default() }
    }

    #[test]
    fn retry_after_is_clamped_to_one_second_through_fifteen_minutes() {
        let none = RateLimitSnapshot::default();
        assert_eq!(wait_for(Some("30"), none), Duration::from_secs(30));
        assert_eq!(wait_for(Some("0"), none), Duration::from_secs(1), "no hammering");
        assert_eq!(wait_for(Some("31536000"), none), Duration::from_secs(900), "a year is 15 min");
        assert_eq!(wait_for(Some(&u64::MAX.to_string()), none), Duration::from_secs(900));
        assert_eq!(wait_for(None, none), Duration::ZERO, "no hint: the caller's own backoff applies");
    }

    #[test]
    fn rate_limit_resets_are_clamped_too() {
        let now = now_ms();
        assert_eq!(wait_for(None, spent_until(now.saturating_sub(60_000))), Duration::from_secs(1), "a past reset");
        assert_eq!(wait_for(None, spent_until(u64::MAX)), Duration::from_secs(900), "a reset in the far future");
        let near = wait_for(None, spent_until(now + 120_000));
        assert!(near > Duration::from_secs(110) && near <= Duration::from_secs(120), "{near:?}");
    }
}
