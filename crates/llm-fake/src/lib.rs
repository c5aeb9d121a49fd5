//! A fake model server for tests and `cutover demo`: the Anthropic Messages API
//! (`POST /v1/messages`) and the OpenAI chat completions API (`POST /v1/chat/completions`) on
//! one loopback port, answering from a recorded [`Scenario`].
//!
//! It checks what the real APIs check before they answer: the credentials (`x-api-key` and
//! `anthropic-version`; `Authorization: Bearer`), the required fields and their JSON types,
//! unknown top-level fields (Anthropic refuses them), the tool named by `tool_choice`, and,
//! for OpenAI's strict `json_schema`, that every object schema lists all its properties as
//! required and forbids others. Failures answer with each API's status and error body.
//!
//! A scenario is a file under `scenarios/` (one JSON document: a description and the replies
//! in order; the last reply repeats). Replies are a structured answer (sent as a `tool_use`
//! block or as the message's JSON content), a rate limit (429 with `retry-after`), or an
//! answer after a delay. Every request received is kept for inspection.

mod validate;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The recorded scenarios, by name (the file's stem). Adding one is a file and a line.
pub const SCENARIOS: &[(&str, &str)] = &[
    ("good", include_str!("../scenarios/good.json")),
    ("repaired", include_str!("../scenarios/repaired.json")),
    ("destructive", include_str!("../scenarios/destructive.json")),
    ("slow", include_str!("../scenarios/slow.json")),
    ("rate-limited", include_str!("../scenarios/rate-limited.json")),
    ("injection", include_str!("../scenarios/injection.json")),
    ("demo-reviews", include_str!("../scenarios/demo-reviews.json")),
    ("text-then-good", include_str!("../scenarios/text-then-good.json")),
    ("blocked-then-good", include_str!("../scenarios/blocked-then-good.json")),
];

/// The answers of one recorded conversation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub description: String,
    /// Sent in order, one per request; the last one again for every request after it.
    pub replies: Vec<Reply>,
}

/// What the fake sends for one request.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reply {
    /// A structured answer, after `delay_ms` (0 when absent).
    Answer {
        answer: Value,
        usage: FakeUsage,
        #[serde(default)]
        delay_ms: u64,
    },
    /// 429 with `retry-after: retry_after_secs`.
    RateLimited { retry_after_secs: u64 },
    /// Prose instead of the structured answer (a text block without the tool call; message
    /// content that is not JSON), as models behind compatible servers sometimes answer.
    Text { text: String, usage: FakeUsage },
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FakeUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Scenario {
    /// A recorded scenario by name; panics on an unknown name or a malformed file (both are
    /// mistakes in this crate, caught by its test).
    pub fn named(name: &str) -> Scenario {
        let (_, text) =
            SCENARIOS.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("no recorded scenario named {name:?}"));
        serde_json::from_str(text).unwrap_or_else(|e| panic!("scenarios/{name}.json: {e}"))
    }
}

/// A request as received: the API path, the headers that matter (the key shown only as
/// whether it matched), the JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub path: String,
    pub authorized: bool,
    pub body: Value,
    /// The status the fake answered with.
    pub status: u16,
}

struct Shared {
    scenario: Scenario,
    api_key: String,
    state: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next: usize,
    requests: Vec<RecordedRequest>,
}

/// A running fake. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct FakeModel {
    shared: Arc<Shared>,
    addr: SocketAddr,
    _stop: Arc<oneshot::Sender<()>>,
}

impl std::fmt::Debug for FakeModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeModel").field("url", &self.url()).finish_non_exhaustive()
    }
}

/// The key the fake accepts unless told another.
pub const API_KEY: &str = "fake-model-key";

impl FakeModel {
    /// Serves `scenario` on 127.0.0.1 with an ephemeral port, accepting [`API_KEY`].
    pub async fn start(scenario: Scenario) -> std::io::Result<FakeModel> {
        FakeModel::start_with_key(scenario, API_KEY).await
    }

    pub async fn start_with_key(scenario: Scenario, api_key: &str) -> std::io::Result<FakeModel> {
        let shared = Arc::new(Shared { scenario, api_key: api_key.to_string(), state: Mutex::new(Inner::default()) });
        let app = axum::Router::new()
            .route("/v1/messages", axum::routing::post(messages))
            .route("/v1/chat/completions", axum::routing::post(chat_completions))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            let _ = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
        });
        Ok(FakeModel { shared, addr, _stop: Arc::new(stop) })
    }

    /// The base URL (the clients append `/v1/...`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner()).requests.clone()
    }
}

/// Which API a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Anthropic,
    OpenAi,
}

async fn messages(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    handle(&shared, Api::Anthropic, &headers, &body).await
}

async fn chat_completions(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    handle(&shared, Api::OpenAi, &headers, &body).await
}

async fn handle(shared: &Shared, api: Api, headers: &HeaderMap, body: &[u8]) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let authorized = match api {
        Api::Anthropic => header("x-api-key") == Some(shared.api_key.as_str()),
        Api::OpenAi => header("authorization") == Some(format!("Bearer {}", shared.api_key).as_str()),
    };
    let path = match api {
        Api::Anthropic => "/v1/messages",
        Api::OpenAi => "/v1/chat/completions",
    };
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let checked = if !authorized {
        Err(Refusal::auth(api))
    } else if api == Api::Anthropic && header("anthropic-version").is_none() {
        Err(Refusal::invalid(api, "anthropic-version: header is required"))
    } else if !header("content-type").is_some_and(|c| c.starts_with("application/json")) {
        Err(Refusal::invalid(api, "content-type must be application/json"))
    } else {
        match &parsed {
            None => Err(Refusal::invalid(api, "the body is not valid JSON")),
            Some(body) => match api {
                Api::Anthropic => validate::anthropic(body),
                Api::OpenAi => validate::openai(body),
            }
            .map_err(|message| Refusal::invalid(api, &message)),
        }
    };
    let reply = match &checked {
        Ok(_) => Some(shared.next_reply()),
        Err(_) => None,
    };
    let status = match (&checked, &reply) {
        (Err(refusal), _) => refusal.status.as_u16(),
        (Ok(_), Some(Reply::RateLimited { .. })) => 429,
        _ => 200,
    };
    shared.state.lock().unwrap_or_else(|p| p.into_inner()).requests.push(RecordedRequest {
        path: path.to_string(),
        authorized,
        body: parsed.clone().unwrap_or(Value::Null),
        status,
    });
    let request = match checked {
        Err(refusal) => return refusal.into_response(),
        Ok(name) => name,
    };
    let model = parsed.as_ref().and_then(|b| b.get("model")).and_then(Value::as_str).unwrap_or_default().to_string();
    match reply.expect("a reply for a valid request") {
        Reply::RateLimited { retry_after_secs } => {
            let body = match api {
                Api::Anthropic => json!({ "type": "error", "error": { "type": "rate_limit_error",
                    "message": "This request would exceed the rate limit for your organization." } }),
                Api::OpenAi => json!({ "error": { "message": "Rate limit reached for requests.",
                    "type": "requests", "param": null, "code": "rate_limit_exceeded" } }),
            };
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", retry_after_secs.to_string())], axum::Json(body))
                .into_response()
        }
        Reply::Text { text, usage } => {
            let body = match api {
                Api::Anthropic => json!({
                    "id": "msg_fake_text", "type": "message", "role": "assistant", "model": model,
                    "content": [{ "type": "text", "text": text }],
                    "stop_reason": "end_turn", "stop_sequence": null,
                    "usage": { "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens },
                }),
                Api::OpenAi => json!({
                    "id": "chatcmpl-fake-text", "object": "chat.completion", "created": 0, "model": model,
                    "choices": [{ "index": 0, "finish_reason": "stop",
                                  "message": { "role": "assistant", "content": text, "refusal": null } }],
                    "usage": { "prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens,
                               "total_tokens": usage.input_tokens + usage.output_tokens },
                }),
            };
            axum::Json(body).into_response()
        }
        Reply::Answer { answer, usage, delay_ms } => {
            if delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            }
            let number = shared.state.lock().unwrap_or_else(|p| p.into_inner()).requests.len();
            let body = match api {
                Api::Anthropic => json!({
                    "id": format!("msg_fake_{number}"),
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{ "type": "tool_use", "id": format!("toolu_fake_{number}"),
                                  "name": request, "input": answer }],
                    "stop_reason": "tool_use",
                    "stop_sequence": null,
                    "usage": { "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens },
                }),
                Api::OpenAi => json!({
                    "id": format!("chatcmpl-fake-{number}"),
                    "object": "chat.completion",
                    "created": 0,
                    "model": model,
                    "choices": [{ "index": 0, "finish_reason": "stop",
                                  "message": { "role": "assistant", "content": answer.to_string(), "refusal": null } }],
                    "usage": { "prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens,
                               "total_tokens": usage.input_tokens + usage.output_tokens },
                }),
            };
            axum::Json(body).into_response()
        }
    }
}

impl Shared {
    fn next_reply(&self) -> Reply {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let index = state.next.min(self.scenario.replies.len().saturating_sub(1));
        state.next += 1;
        self.scenario.replies[index].clone()
    }
}

/// An error answer in the API's own shape.
struct Refusal {
    status: StatusCode,
    body: Value,
}

impl Refusal {
    fn auth(api: Api) -> Refusal {
        let body = match api {
            Api::Anthropic => {
                json!({ "type": "error", "error": { "type": "authentication_error", "message": "invalid x-api-key" } })
            }
            Api::OpenAi => json!({ "error": { "message": "Incorrect API key provided.",
                "type": "invalid_request_error", "param": null, "code": "invalid_api_key" } }),
        };
        Refusal { status: StatusCode::UNAUTHORIZED, body }
    }

    fn invalid(api: Api, message: &str) -> Refusal {
        let body = match api {
            Api::Anthropic => {
                json!({ "type": "error", "error": { "type": "invalid_request_error", "message": message } })
            }
            Api::OpenAi => json!({ "error": { "message": message, "type": "invalid_request_error",
                "param": null, "code": null } }),
        };
        Refusal { status: StatusCode::BAD_REQUEST, body }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recorded_scenario_reads() {
        for (name, _) in SCENARIOS {
            let scenario = Scenario::named(name);
            assert!(!scenario.replies.is_empty(), "{name}");
        }
    }
}
