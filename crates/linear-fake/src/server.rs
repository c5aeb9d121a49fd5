//! The HTTP side: `POST /graphql` on a loopback port, with Linear's authentication forms,
//! validation errors, rate-limit budgets and headers, and injected failures.
//!
//! Order of checks, as a client observes them: authentication, request budget, validation
//! (document, then variables), injected failure, execution. Every request is logged with its
//! outcome, whatever stage answered it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use crate::execute::{self, Response as GraphqlResponse};
use crate::failures::Failure;
use crate::resolvers::Ctx;
use crate::schema::{Invalid, Prepared, prepare};
use crate::state::{Budget, Outcome, RequestRecord, State};

/// Linear's rate-limit window: budgets refill per hour.
pub(crate) const WINDOW_MS: i64 = 3_600_000;
/// Linear rejects any single query above this complexity.
const MAX_COMPLEXITY: u64 = 10_000;
/// Budget key of requests without valid credentials.
const ANONYMOUS: &str = "anonymous";

pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
}

impl Shared {
    /// The state, even if a panicking test thread poisoned the lock: the data is still the
    /// best description of what happened.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Binds 127.0.0.1 on an ephemeral port and serves until the returned sender is dropped.
pub(crate) async fn serve(shared: Arc<Shared>) -> std::io::Result<(SocketAddr, oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let app =
        Router::new().route("/graphql", post(graphql)).route("/oauth/token", post(oauth_token)).with_state(shared);
    tokio::spawn(async move {
        let shutdown = async {
            // Either an explicit stop or the handle going away ends the server.
            let _ = stopped.await;
        };
        if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            eprintln!("fake Linear server stopped: {error}");
        }
    });
    Ok((addr, stop))
}

/// The parts of a GraphQL request body the fake reads.
struct Body {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Value,
}

fn parse_body(bytes: &[u8]) -> Result<Body, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("Request body is not valid JSON: {e}"))?;
    let Value::Object(map) = value else {
        return Err("Request body must be a JSON object".into());
    };
    Ok(Body {
        query: map.get("query").and_then(Value::as_str).map(str::to_owned),
        operation_name: map.get("operationName").and_then(Value::as_str).map(str::to_owned),
        variables: map.get("variables").cloned().unwrap_or(Value::Null),
    })
}

/// What the first, synchronous stage decided.
enum Stage {
    Done(Response),
    /// Valid and authenticated: execute, possibly after a delay or with a fault.
    Execute {
        prepared: Box<Prepared>,
        viewer: String,
        failure: Option<Failure>,
        record: RequestRecord,
        headers: HeaderMap,
    },
}

async fn graphql(AxumState(shared): AxumState<Arc<Shared>>, request_headers: HeaderMap, bytes: Bytes) -> Response {
    let stage = {
        let mut state = shared.lock();
        admit(&mut state, &request_headers, &bytes)
    };
    match stage {
        Stage::Done(response) => response,
        Stage::Execute { prepared, viewer, failure, record, headers } => {
            if let Some(Failure::Delay(delay)) = &failure {
                tokio::time::sleep(*delay).await;
            }
            let mut state = shared.lock();
            run(&mut state, &prepared, viewer, failure, record, headers)
        }
    }
}

/// Authentication, budget, validation and fault selection, under one lock.
fn admit(state: &mut State, request_headers: &HeaderMap, bytes: &[u8]) -> Stage {
    let now_ms = Utc::now().timestamp_millis();
    let body = parse_body(bytes);
    let mut record = RequestRecord {
        operation_name: body.as_ref().ok().and_then(|b| b.operation_name.clone()),
        variables: body.as_ref().map(|b| b.variables.clone()).unwrap_or(Value::Null),
        status: 200,
        outcome: Outcome::Ok,
    };

    let viewer = authenticate(state, request_headers);
    let budget_key = viewer.clone().unwrap_or_else(|| ANONYMOUS.to_owned());
    let (request_limit, complexity_limit) = state.limits(viewer.as_deref());
    let budget = state.budgets.entry(budget_key.clone()).or_insert(Budget {
        window_start_ms: now_ms,
        requests_used: 0,
        complexity_used: 0,
    });
    if now_ms >= budget.window_start_ms + WINDOW_MS {
        *budget = Budget { window_start_ms: now_ms, requests_used: 0, complexity_used: 0 };
    }
    let exhausted = budget.requests_used >= request_limit;
    if !exhausted {
        budget.requests_used += 1;
    }
    let budget = budget.clone();
    let mut headers = rate_limit_headers(&budget, request_limit, complexity_limit, 0);

    let Some(viewer) = viewer else {
        let body = json!({"errors": [{
            "message": "Authentication required, not authenticated",
            "extensions": {
                "type": "authentication error",
                "code": "AUTHENTICATION_ERROR",
                "statusCode": 401,
                "userError": true,
                "userPresentableMessage":
                    "You need to authenticate to access this operation. Send `Authorization: <API key>` or `Authorization: Bearer <OAuth token>`.",
            },
        }]});
        return Stage::Done(finish(state, record, StatusCode::BAD_REQUEST, headers, body, Outcome::Unauthenticated));
    };
    if exhausted {
        let reset = budget.window_start_ms + WINDOW_MS;
        let headers = rate_limited_headers(request_limit, complexity_limit, reset);
        return Stage::Done(finish(
            state,
            record,
            StatusCode::BAD_REQUEST,
            headers,
            ratelimited_body(),
            Outcome::RateLimited,
        ));
    }

    let invalid = |message: String| invalid_response(vec![Invalid { message, location: None }]);
    let body = match body {
        Ok(body) => body,
        Err(message) => {
            let (body, outcome) = invalid(message);
            return Stage::Done(finish(state, record, StatusCode::BAD_REQUEST, headers, body, outcome));
        }
    };
    let variables = match &body.variables {
        Value::Null => Map::new(),
        Value::Object(map) => map.clone(),
        _ => {
            let (body, outcome) = invalid("`variables` must be a JSON object".into());
            return Stage::Done(finish(state, record, StatusCode::BAD_REQUEST, headers, body, outcome));
        }
    };
    let Some(query) = body.query.as_deref() else {
        let (body, outcome) = invalid("Must provide a query string".into());
        return Stage::Done(finish(state, record, StatusCode::BAD_REQUEST, headers, body, outcome));
    };
    let prepared = match prepare(query, body.operation_name.as_deref(), &variables) {
        Ok(prepared) => prepared,
        Err(problems) => {
            let (body, outcome) = invalid_response(problems);
            return Stage::Done(finish(state, record, StatusCode::BAD_REQUEST, headers, body, outcome));
        }
    };
    if record.operation_name.is_none() {
        record.operation_name = prepared.operation().name.as_ref().map(|n| n.to_string());
    }
    let complexity = execute::complexity(&prepared);
    if complexity > MAX_COMPLEXITY {
        let (body, outcome) =
            invalid(format!("Query too complex: complexity {complexity} exceeds the maximum of {MAX_COMPLEXITY}"));
        return Stage::Done(finish(state, record, StatusCode::BAD_REQUEST, headers, body, outcome));
    }
    if let Some(budget) = state.budgets.get_mut(&budget_key) {
        budget.complexity_used += complexity;
        headers = rate_limit_headers(budget, request_limit, complexity_limit, complexity);
    }

    let failure = state.injector.draw(record.operation_name.as_deref());
    match failure {
        None | Some(Failure::Delay(_) | Failure::LostResponse) => {
            Stage::Execute { prepared: Box::new(prepared), viewer, failure, record, headers }
        }
        Some(failure) => {
            let (status, headers, body) = match &failure {
                Failure::RateLimited { reset_after_ms } => {
                    let reset = now_ms + *reset_after_ms as i64;
                    (
                        StatusCode::BAD_REQUEST,
                        rate_limited_headers(request_limit, complexity_limit, reset),
                        ratelimited_body(),
                    )
                }
                Failure::TooManyRequests => (
                    StatusCode::TOO_MANY_REQUESTS,
                    headers,
                    json!({"errors": [{"message": "Too many requests", "extensions": {"type": "ratelimited", "code": "RATELIMITED"}}]}),
                ),
                Failure::GraphqlError(message) => (
                    StatusCode::OK,
                    headers,
                    json!({"data": null, "errors": [{"message": message, "extensions": {"type": "internal error", "code": "INTERNAL_SERVER_ERROR", "userError": false}}]}),
                ),
                Failure::Forbidden(message) => (
                    StatusCode::OK,
                    headers,
                    json!({"data": null, "errors": [{"message": message, "extensions": {"type": "forbidden", "code": "FORBIDDEN", "userError": true, "userPresentableMessage": message}}]}),
                ),
                _ => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    headers,
                    json!({"errors": [{"message": "Internal server error", "extensions": {"type": "internal error", "code": "INTERNAL_SERVER_ERROR"}}]}),
                ),
            };
            Stage::Done(finish(state, record, status, headers, body, Outcome::Injected(failure)))
        }
    }
}

/// `GRAPHQL_VALIDATION_FAILED`: one error per problem, with its place in the query.
fn invalid_response(problems: Vec<Invalid>) -> (Value, Outcome) {
    let errors: Vec<Value> = problems
        .iter()
        .map(|p| {
            let mut error = json!({
                "message": p.message,
                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED", "type": "graphql error", "userError": true},
            });
            if let (Some((line, column)), Value::Object(map)) = (p.location, &mut error) {
                map.insert("locations".into(), json!([{"line": line, "column": column}]));
            }
            error
        })
        .collect();
    let summary = problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; ");
    (json!({"errors": errors}), Outcome::Invalid(summary))
}

/// Executes an admitted request. A `LostResponse` fault applies the operation and then
/// answers 502, as a proxy would after the origin's answer was lost.
fn run(
    state: &mut State,
    prepared: &Prepared,
    viewer: String,
    failure: Option<Failure>,
    record: RequestRecord,
    headers: HeaderMap,
) -> Response {
    let (response, applied): (GraphqlResponse, Vec<String>) = {
        let mut ctx = Ctx { state, viewer, applied: Vec::new() };
        let response = execute::execute(prepared, &mut ctx);
        (response, ctx.applied)
    };
    for mutation in &applied {
        state.count_write(mutation);
    }
    if let Some(failure @ Failure::LostResponse) = failure {
        let mut record = record;
        record.status = StatusCode::BAD_GATEWAY.as_u16();
        record.outcome = Outcome::Injected(failure);
        state.log.push(record);
        let mut headers = headers;
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        return (StatusCode::BAD_GATEWAY, headers, "<html><body><h1>502 Bad Gateway</h1></body></html>")
            .into_response();
    }
    let outcome = if response.errors.is_empty() { Outcome::Ok } else { Outcome::Errors(response.error_messages()) };
    finish(state, record, StatusCode::OK, headers, response.to_json(), outcome)
}

/// Logs the request and builds the JSON answer.
fn finish(
    state: &mut State,
    mut record: RequestRecord,
    status: StatusCode,
    mut headers: HeaderMap,
    body: Value,
    outcome: Outcome,
) -> Response {
    record.status = status.as_u16();
    record.outcome = outcome;
    state.log.push(record);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    (status, headers, body.to_string()).into_response()
}

/// Linear's token endpoint, for the one grant a server agent uses: `client_credentials`
/// (client authentication by form fields or HTTP Basic) returns an app actor token, valid 30
/// days, one active per app: issuing one revokes the previous.
async fn oauth_token(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form: Vec<(String, String)> = form_pairs(&String::from_utf8_lossy(&body));
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64_decode(b.trim()))
        .and_then(|pair| pair.split_once(':').map(|(i, s)| (i.to_string(), s.to_string())));
    let (id, secret) = match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (field("client_id"), field("client_secret")),
    };
    let error = |status: StatusCode, code: &str| {
        (status, [(header::CONTENT_TYPE, "application/json")], json!({ "error": code }).to_string()).into_response()
    };
    if field("grant_type").as_deref() != Some("client_credentials") {
        return error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let mut state = shared.lock();
    let credentials = &mut state.credentials;
    if id.as_deref() != Some(credentials.client_id.as_str()) || secret.as_deref() != Some(&credentials.client_secret) {
        return error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    credentials.tokens_issued += 1;
    let token = format!("lin_oauth_app_fake_{}", credentials.tokens_issued);
    credentials.app_token = Some(token.clone());
    let body = json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 2_591_999,
        "scope": field("scope").unwrap_or_else(|| "read".into()),
    });
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// `application/x-www-form-urlencoded` pairs, decoded.
fn form_pairs(body: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let bytes = s.replace('+', " ").into_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = (bytes[i] == b'%' && i + 2 < bytes.len())
                .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()))
                .flatten();
            match hex {
                Some(b) => {
                    out.push(b);
                    i += 3;
                }
                None => {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn base64_decode(text: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|&c| c != b'=') {
        bits = (bits << 6) | ALPHABET.iter().position(|&a| a == c)? as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).ok()
}

fn authenticate(state: &State, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let credentials = &state.credentials;
    // Linear: API keys go bare, OAuth tokens with `Bearer`; the other pairings are rejected.
    match value.strip_prefix("Bearer ") {
        Some(token) => (token.trim() == credentials.oauth_token
            || credentials.app_token.as_deref() == Some(token.trim()))
        .then(|| credentials.oauth_user.clone()),
        None => (value == credentials.api_key).then(|| credentials.api_key_user.clone()),
    }
}

fn ratelimited_body() -> Value {
    json!({"errors": [{
        "message": "Rate limit exceeded",
        "extensions": {
            "type": "ratelimited",
            "code": "RATELIMITED",
            "statusCode": 400,
            "userError": true,
            "userPresentableMessage": "You have exceeded the rate limit. Please try again later.",
        },
    }]})
}

fn put(headers: &mut HeaderMap, name: &'static str, value: impl ToString) {
    if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
        headers.insert(name, value);
    }
}

fn rate_limit_headers(budget: &Budget, request_limit: u64, complexity_limit: u64, complexity: u64) -> HeaderMap {
    let reset = budget.window_start_ms + WINDOW_MS;
    let mut headers = HeaderMap::new();
    put(&mut headers, "x-ratelimit-requests-limit", request_limit);
    put(&mut headers, "x-ratelimit-requests-remaining", request_limit.saturating_sub(budget.requests_used));
    put(&mut headers, "x-ratelimit-requests-reset", reset);
    put(&mut headers, "x-complexity", complexity);
    put(&mut headers, "x-ratelimit-complexity-limit", complexity_limit);
    put(&mut headers, "x-ratelimit-complexity-remaining", complexity_limit.saturating_sub(budget.complexity_used));
    put(&mut headers, "x-ratelimit-complexity-reset", reset);
    headers
}

fn rate_limited_headers(request_limit: u64, complexity_limit: u64, reset_ms: i64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    put(&mut headers, "x-ratelimit-requests-limit", request_limit);
    put(&mut headers, "x-ratelimit-requests-remaining", 0);
    put(&mut headers, "x-ratelimit-requests-reset", reset_ms);
    put(&mut headers, "x-complexity", 0);
    put(&mut headers, "x-ratelimit-complexity-limit", complexity_limit);
    put(&mut headers, "x-ratelimit-complexity-remaining", 0);
    put(&mut headers, "x-ratelimit-complexity-reset", reset_ms);
    headers
}
