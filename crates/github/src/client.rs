//! The HTTP side: authentication (token or app installation token), GitHub's headers, rate
//! limits from the `x-ratelimit-*` and `retry-after` headers, and retries of what cannot have
//! applied anything (reads, rate-limited requests). Writes that failed in a way that may have
//! applied are returned to the caller, whose retry looks first (see `publish`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::auth::Credentials;
use crate::error::{ErrorBody, GitHubError};
use crate::repo::Repo;

/// Client settings; [`ClientConfig::new`] gives conservative retry limits.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://api.github.com`, or `GITHUB_API_URL` (GitHub Enterprise's `…/api/v3`, a fake).
    pub api_url: String,
    pub credentials: Credentials,
    /// Attempts per call for failures that did not apply (rate limits, and 5xx on reads).
    pub max_attempts: u32,
    pub base_backoff: Duration,
    /// A wait longer than this goes back to the caller (the outbox schedules it durably).
    pub max_backoff: Duration,
    pub timeout: Duration,
    /// The shortest and longest wait taken from GitHub's headers: a hostile or broken header
    /// can neither make Cutover hammer the API nor park a write for days.
    pub min_wait: Duration,
    pub max_wait: Duration,
}

impl ClientConfig {
    pub fn new(api_url: impl Into<String>, credentials: Credentials) -> ClientConfig {
        ClientConfig {
            api_url: api_url.into().trim_end_matches('/').to_string(),
            credentials,
            max_attempts: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
            min_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(15 * 60),
        }
    }
}

/// The primary budget from the last response that reported it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimit {
    pub remaining: Option<u64>,
    /// Epoch seconds.
    pub reset: Option<u64>,
}

/// A cheap-to-clone GitHub REST client. Its `Debug` shows neither credentials nor the
/// installation tokens it holds.
#[derive(Clone)]
pub struct GitHubClient {
    http: reqwest::Client,
    config: Arc<ClientConfig>,
    limits: Arc<Mutex<RateLimit>>,
    /// Installation tokens by repository (`owner/name`), with their expiry (epoch seconds).
    tokens: Arc<tokio::sync::Mutex<HashMap<String, (String, u64)>>>,
}

impl std::fmt::Debug for GitHubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubClient")
            .field("api_url", &self.config.api_url)
            .field("credentials", &self.config.credentials)
            .finish_non_exhaustive()
    }
}

/// Who a request is sent as.
#[derive(Clone, Copy)]
enum As<'a> {
    /// The token, or the app's installation token for this repository.
    Repo(&'a Repo),
    /// The app itself (its JWT): finding an installation, making its token.
    App,
}

impl GitHubClient {
    pub fn new(config: ClientConfig) -> Result<GitHubClient, GitHubError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("cutover/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GitHubError::Transport(e.to_string()))?;
        Ok(GitHubClient { http, config: Arc::new(config), limits: Arc::default(), tokens: Arc::default() })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub fn rate_limit(&self) -> RateLimit {
        *self.limits.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A call as the repository's credentials; `None` for a 404 when `missing_ok`.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        repo: &Repo,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, GitHubError> {
        let value = self.run(method, As::Repo(repo), path, body).await?;
        decode(path, value)
    }

    /// A write whose repetition makes nothing new (a blob, a tree, a commit with fixed dates:
    /// git objects are named by their content): retried here like a read when its answer is
    /// lost.
    pub(crate) async fn call_idempotent<T: DeserializeOwned>(
        &self,
        method: Method,
        repo: &Repo,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, GitHubError> {
        let value = self.run_with(method, As::Repo(repo), path, body, true).await?;
        decode(path, value)
    }

    /// Like [`call`](Self::call), with a 404 as `None`.
    pub(crate) async fn find<T: DeserializeOwned>(&self, repo: &Repo, path: &str) -> Result<Option<T>, GitHubError> {
        match self.run(Method::GET, As::Repo(repo), path, None).await {
            Ok(value) => decode(path, value).map(Some),
            Err(GitHubError::NotFound(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn run(&self, method: Method, who: As<'_>, path: &str, body: Option<&Value>) -> Result<Value, GitHubError> {
        self.run_with(method, who, path, body, false).await
    }

    async fn run_with(
        &self,
        method: Method,
        who: As<'_>,
        path: &str,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<Value, GitHubError> {
        let is_read = method == Method::GET || idempotent;
        let mut attempt = 0;
        let mut fresh_token = false;
        loop {
            attempt += 1;
            self.wait_for_budget()?;
            let err = match self.send(method.clone(), who, path, body).await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            // An installation token revoked or expired early: make a new one, once per call.
            // A refused token applied nothing.
            if let (GitHubError::Authentication(_), As::Repo(repo), Credentials::App { .. }) =
                (&err, who, &self.config.credentials)
                && !fresh_token
            {
                self.tokens.lock().await.remove(&repo.full_name());
                fresh_token = true;
                continue;
            }
            let wait = match &err {
                GitHubError::RateLimited { retry_after } => Some(*retry_after),
                _ if is_read && err.is_retryable() => Some(Duration::ZERO),
                _ => None,
            };
            match wait {
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

    /// When the last response said the budget is spent, fails without spending a request
    /// (the caller waits until the reset).
    fn wait_for_budget(&self) -> Result<(), GitHubError> {
        let limit = self.rate_limit();
        if let (Some(0), Some(reset)) = (limit.remaining, limit.reset) {
            let now = now_secs();
            if reset > now {
                return Err(GitHubError::RateLimited { retry_after: self.clamp(Duration::from_secs(reset - now)) });
            }
        }
        Ok(())
    }

    fn clamp(&self, wait: Duration) -> Duration {
        wait.clamp(self.config.min_wait, self.config.max_wait.max(self.config.min_wait))
    }

    async fn send(&self, method: Method, who: As<'_>, path: &str, body: Option<&Value>) -> Result<Value, GitHubError> {
        let authorization = match who {
            As::Repo(repo) => self.repo_authorization(repo).await?,
            As::App => self.app_authorization()?,
        };
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.config.api_url))
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| GitHubError::Transport(without_url(&e)))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        self.record_limits(&headers);
        let bytes = response.bytes().await.map_err(|e| GitHubError::Transport(without_url(&e)))?;
        if (200..300).contains(&status) {
            if bytes.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&bytes)
                .map_err(|e| GitHubError::Decode { what: path_only(path), message: e.to_string() });
        }
        let error: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
        if let Some(wait) = self.rate_limited(status, &headers, &error) {
            return Err(GitHubError::RateLimited { retry_after: wait });
        }
        Err(GitHubError::from_status(status, &error))
    }

    /// GitHub's rate limits (docs: "rate limits for the REST API"): a primary limit is a 403 or
    /// 429 with `x-ratelimit-remaining: 0` (wait until `x-ratelimit-reset`); a secondary limit
    /// is a 403 or 429 with `retry-after`, or whose message names it (wait at least a minute).
    fn rate_limited(&self, status: u16, headers: &reqwest::header::HeaderMap, error: &ErrorBody) -> Option<Duration> {
        if status != 403 && status != 429 {
            return None;
        }
        let num = |name: &str| header_u64(headers, name);
        if let Some(secs) = num("retry-after") {
            return Some(self.clamp(Duration::from_secs(secs)));
        }
        if num("x-ratelimit-remaining") == Some(0) {
            let reset = num("x-ratelimit-reset").unwrap_or(0);
            return Some(self.clamp(Duration::from_secs(reset.saturating_sub(now_secs()))));
        }
        let message = error.message.to_ascii_lowercase();
        if status == 429 || message.contains("rate limit") {
            return Some(self.clamp(Duration::from_secs(60)));
        }
        None
    }

    fn record_limits(&self, headers: &reqwest::header::HeaderMap) {
        let limit = RateLimit {
            remaining: header_u64(headers, "x-ratelimit-remaining"),
            reset: header_u64(headers, "x-ratelimit-reset"),
        };
        if limit.remaining.is_some() {
            *self.limits.lock().unwrap_or_else(|p| p.into_inner()) = limit;
        }
    }

    fn app_authorization(&self) -> Result<String, GitHubError> {
        match &self.config.credentials {
            Credentials::App { app_id, key } => Ok(format!("Bearer {}", key.jwt(app_id)?)),
            Credentials::Token(_) => Err(GitHubError::Invalid("app endpoints need GitHub App credentials".into())),
        }
    }

    /// The token, or the repository's installation token (cached until 5 minutes before it
    /// expires; made again when GitHub refuses it).
    async fn repo_authorization(&self, repo: &Repo) -> Result<String, GitHubError> {
        if let Credentials::Token(token) = &self.config.credentials {
            return Ok(format!("Bearer {token}"));
        }
        let mut tokens = self.tokens.lock().await;
        let now = now_secs();
        if let Some((token, expires)) = tokens.get(&repo.full_name())
            && *expires > now + 300
        {
            return Ok(format!("Bearer {token}"));
        }
        #[derive(serde::Deserialize)]
        struct Installation {
            id: u64,
        }
        #[derive(serde::Deserialize)]
        struct Token {
            token: String,
            expires_at: String,
        }
        let path = format!("/repos/{}/{}/installation", repo.owner(), repo.name());
        let installation: Installation = decode(&path, Box::pin(self.run(Method::GET, As::App, &path, None)).await?)?;
        let path = format!("/app/installations/{}/access_tokens", installation.id);
        let scope = serde_json::json!({ "repositories": [repo.name()] });
        let token: Token = decode(&path, Box::pin(self.run(Method::POST, As::App, &path, Some(&scope))).await?)?;
        let expires = chrono::DateTime::parse_from_rfc3339(&token.expires_at)
            .map(|t| t.timestamp().max(0) as u64)
            .unwrap_or(now + 600);
        tokens.insert(repo.full_name(), (token.token.clone(), expires));
        Ok(format!("Bearer {}", token.token))
    }
}

fn decode<T: DeserializeOwned>(path: &str, value: Value) -> Result<T, GitHubError> {
    serde_json::from_value(value).map_err(|e| GitHubError::Decode { what: path_only(path), message: e.to_string() })
}

/// The path without its query string, for messages.
fn path_only(path: &str) -> String {
    path.split('?').next().unwrap_or(path).to_string()
}

fn header_u64(headers: &reqwest::header::HeaderMap, name: &str) -> Option<u64> {
    headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok())
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// reqwest's errors print the URL; keep messages short and stable.
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
