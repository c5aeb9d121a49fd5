//! I/O: the model behind the drafter. One [`Client`] speaks either wire format, chosen by
//! [`Provider`]: the Anthropic Messages API (`POST /v1/messages`, `x-api-key`,
//! `anthropic-version`, the answer forced through one tool whose input schema is the answer's
//! shape) or the OpenAI-compatible chat completions API (`POST /v1/chat/completions`, a bearer
//! token, `response_format: json_schema`), which local servers speak too.
//!
//! Every call has a timeout; 429 and overloaded or failing servers (500, 502, 503, 504, 529)
//! are retried after the server's `retry-after` (or an exponential back-off) while the retry
//! budget lasts; a timeout is not retried (the next attempt would most likely be as slow, and
//! the caller holds the time budget). Token usage is returned with every answer. The API key
//! never appears in a `Debug`, an error or a log line.

mod wire;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// Which wire format the endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// The Anthropic Messages API.
    Anthropic,
    /// The OpenAI chat completions API, or a server compatible with it (vLLM, llama.cpp,
    /// Ollama, LM Studio).
    OpenAi,
}

impl Provider {
    /// `anthropic` or `openai`, as `CUTOVER_LLM_PROVIDER` spells them.
    pub fn parse(name: &str) -> Option<Provider> {
        match name.trim().to_ascii_lowercase().as_str() {
            "anthropic" => Some(Provider::Anthropic),
            "openai" => Some(Provider::OpenAi),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::OpenAi => "openai",
        }
    }

    /// The public endpoint, when `CUTOVER_LLM_URL` is not set.
    pub fn default_url(self) -> &'static str {
        match self {
            Provider::Anthropic => "https://api.anthropic.com",
            Provider::OpenAi => "https://api.openai.com",
        }
    }
}

/// An API key. Its `Debug` shows only that there is one.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// How to reach the model; built by the binary from `[llm]` and `CUTOVER_LLM_*`.
#[derive(Debug, Clone)]
pub struct Config {
    pub provider: Provider,
    /// The server's base URL (`https://api.anthropic.com`, `http://127.0.0.1:8000/v1`): the
    /// API path is appended, without a second `/v1` when the URL already ends in one.
    pub url: String,
    pub model: String,
    /// Required by Anthropic; optional for local OpenAI-compatible servers.
    pub api_key: Option<ApiKey>,
    /// The longest one HTTP request may take, answer included.
    pub timeout: Duration,
    /// The longest all retries of one call may wait, in sum.
    pub retry_budget: Duration,
    /// The most requests one call sends.
    pub max_attempts: u32,
}

/// The default time one request may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

impl Config {
    /// The provider's public endpoint, a 120 s timeout, 30 s of retries, at most 4 requests.
    pub fn new(provider: Provider, model: impl Into<String>, api_key: Option<ApiKey>) -> Config {
        Config {
            provider,
            url: provider.default_url().to_string(),
            model: model.into(),
            api_key,
            timeout: DEFAULT_TIMEOUT,
            retry_budget: Duration::from_secs(30),
            max_attempts: 4,
        }
    }
}

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Message {
        Message { role: Role::User, content: content.into() }
    }

    pub fn assistant(content: impl Into<String>) -> Message {
        Message { role: Role::Assistant, content: content.into() }
    }
}

/// The shape the answer must have: a JSON Schema object. Written for OpenAI's strict mode
/// (every property required, `additionalProperties: false`), which Anthropic accepts as is.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSchema {
    /// `^[a-zA-Z0-9_-]{1,64}$`: the tool's name (Anthropic) or the schema's (OpenAI).
    pub name: String,
    pub description: String,
    pub schema: serde_json::Value,
}

/// One call: instructions, the conversation so far, the answer's shape, and the most tokens
/// the answer may take.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub system: &'a str,
    pub messages: &'a [Message],
    pub output: &'a OutputSchema,
    pub max_tokens: u32,
}

/// Tokens spent, as the API counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }

    pub fn add(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
    }
}

/// The model's structured answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The JSON object of the requested shape (not validated against it here).
    pub value: serde_json::Value,
    pub usage: Usage,
    /// The requests it took (retries included).
    pub requests: u32,
}

/// Why a call gave no answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("the model did not answer within {} s", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("the model's API is rate limited{}", match .retry_after {
        Some(wait) => format!(" (it asked to wait {} s; no retry is left within the budget)", wait.as_secs_f64()),
        None => String::new(),
    })]
    RateLimited { retry_after: Option<Duration> },
    #[error("the model's API refused the credentials (HTTP {status}): {message}")]
    Authentication { status: u16, message: String },
    #[error("the model's API answered HTTP {status}: {message}")]
    Http { status: u16, message: String },
    #[error("could not reach the model's API: {0}")]
    Transport(String),
    #[error("the model's API sent an answer that could not be read: {0}")]
    Decode(String),
    /// The API answered, but not with the structured answer (a refusal, an answer cut at
    /// `max_tokens`, text instead of JSON). The tokens were spent all the same.
    #[error("the model gave no structured answer: {message}")]
    NoAnswer { message: String, usage: Usage },
}

impl Error {
    /// Tokens the failed call spent, as far as the API said.
    pub fn usage(&self) -> Usage {
        match self {
            Error::NoAnswer { usage, .. } => *usage,
            _ => Usage::default(),
        }
    }
}

/// The model client: one wire format per [`Provider`], cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    config: std::sync::Arc<Config>,
    http: reqwest::Client,
}

/// What one request came to.
enum Attempt {
    Done(Answer),
    /// Worth another try, after the server's wait when it named one.
    Retry {
        error: Error,
        wait: Option<Duration>,
    },
    Failed(Error),
}

impl Client {
    pub fn new(config: Config) -> Result<Client, Error> {
        // reqwest is built without a default crypto provider (ring, see ARCHITECTURE.md);
        // installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("cutover/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Transport(e.to_string()))?;
        Ok(Client { config: std::sync::Arc::new(config), http })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Asks the model for one structured answer, retrying what is worth retrying while the
    /// retry budget and the attempts last.
    pub async fn complete(&self, request: &Request<'_>) -> Result<Answer, Error> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (error, wait) = match self.send(request).await {
                Attempt::Done(mut answer) => {
                    answer.requests = attempt;
                    return Ok(answer);
                }
                Attempt::Failed(error) => return Err(error),
                Attempt::Retry { error, wait } => (error, wait),
            };
            let wait = wait.unwrap_or_else(|| backoff(attempt));
            if attempt >= self.config.max_attempts || started.elapsed() + wait > self.config.retry_budget {
                return Err(error);
            }
            tokio::time::sleep(wait).await;
        }
    }

    async fn send(&self, request: &Request<'_>) -> Attempt {
        let config = &self.config;
        let (path, body) = match config.provider {
            Provider::Anthropic => ("messages", wire::anthropic_request(&config.model, request)),
            Provider::OpenAi => ("chat/completions", wire::openai_request(&config.model, request)),
        };
        let mut http = self.http.post(endpoint(&config.url, path)).json(&body);
        match (config.provider, &config.api_key) {
            (Provider::Anthropic, key) => {
                http = http.header("anthropic-version", wire::ANTHROPIC_VERSION);
                if let Some(key) = key {
                    http = http.header("x-api-key", key.expose());
                }
            }
            (Provider::OpenAi, Some(key)) => http = http.bearer_auth(key.expose()),
            (Provider::OpenAi, None) => {}
        }
        let response = match http.send().await {
            Ok(response) => response,
            Err(e) if e.is_timeout() => return Attempt::Failed(Error::Timeout(config.timeout)),
            Err(e) if e.is_connect() => {
                return Attempt::Retry { error: Error::Transport(without_url(&e)), wait: None };
            }
            Err(e) => return Attempt::Failed(Error::Transport(without_url(&e))),
        };
        let status = response.status().as_u16();
        let wait = retry_after(response.headers());
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) if e.is_timeout() => return Attempt::Failed(Error::Timeout(config.timeout)),
            Err(e) => return Attempt::Failed(Error::Transport(without_url(&e))),
        };
        if status != 200 {
            let message = wire::error_message(&body);
            return match status {
                429 => Attempt::Retry { error: Error::RateLimited { retry_after: wait }, wait },
                500 | 502 | 503 | 504 | 529 => Attempt::Retry { error: Error::Http { status, message }, wait },
                401 | 403 => Attempt::Failed(Error::Authentication { status, message }),
                _ => Attempt::Failed(Error::Http { status, message }),
            };
        }
        let answer = match config.provider {
            Provider::Anthropic => wire::anthropic_answer(&body, &request.output.name),
            Provider::OpenAi => wire::openai_answer(&body),
        };
        match answer {
            Ok((value, usage)) => Attempt::Done(Answer { value, usage, requests: 1 }),
            Err(error) => Attempt::Failed(error),
        }
    }
}

/// `base` + `/v1/` + `path`, without doubling a `/v1` the base already ends in.
fn endpoint(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/v1") { format!("{base}/{path}") } else { format!("{base}/v1/{path}") }
}

/// 1 s, 2 s, 4 s, ... at most 16 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1 << attempt.saturating_sub(1).min(4))
}

/// The wait a response asks for: `retry-after-ms` (OpenAI), else `retry-after` in seconds
/// (a date is not honoured: the back-off applies). At most 10 minutes.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let wait = if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        ms / 1000.0
    } else {
        header("retry-after").and_then(|v| v.parse::<f64>().ok())?
    };
    (wait.is_finite() && wait >= 0.0).then(|| Duration::from_secs_f64(wait.min(600.0)))
}

/// A transport error without the URL (which may hold a key in its query for some servers).
fn without_url(err: &reqwest::Error) -> String {
    let kind = if err.is_connect() {
        "connection failed"
    } else if err.is_request() {
        "the request could not be sent"
    } else if err.is_body() || err.is_decode() {
        "the answer was cut off"
    } else {
        "transport error"
    };
    match std::error::Error::source(err) {
        Some(source) => format!("{kind}: {source}"),
        None => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_append_the_api_path_once() {
        assert_eq!(endpoint("https://api.anthropic.com", "messages"), "https://api.anthropic.com/v1/messages");
        assert_eq!(
            endpoint("http://127.0.0.1:8000/v1/", "chat/completions"),
            "http://127.0.0.1:8000/v1/chat/completions"
        );
        assert_eq!(endpoint("http://h/proxy/", "messages"), "http://h/proxy/v1/messages");
    }

    #[test]
    fn retry_after_reads_seconds_and_milliseconds() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(250)));
        headers.remove("retry-after-ms");
        headers.insert("retry-after", HeaderValue::from_static("Wed, 21 Oct 2026 07:28:00 GMT"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn the_key_is_never_in_a_debug() {
        let config = Config::new(Provider::Anthropic, "m", Some(ApiKey::new("sk-secret-123")));
        assert!(!format!("{config:?}").contains("sk-secret-123"));
        let client = Client::new(config).unwrap();
        assert!(!format!("{client:?}").contains("sk-secret-123"));
    }

    #[test]
    fn providers_by_name() {
        assert_eq!(Provider::parse("Anthropic"), Some(Provider::Anthropic));
        assert_eq!(Provider::parse("openai"), Some(Provider::OpenAi));
        assert_eq!(Provider::parse("gemini"), None);
    }
}
