//! The HTTP side: routing, authentication, validation of bodies like GitHub's (`"x" is not a
//! permitted key`, `"x" wasn't supplied`, wrong JSON types), GitHub's error bodies, rate-limit
//! headers, and faults.
//!
//! Order of checks, as a client observes them: route (404), authentication (401), body
//! (400/422), fault, then the operation itself.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use crate::failures::Failure;
use crate::git::{CommitObject, Object, Signature, TreeItem};
use crate::state::{IssueComment, Pull, Repository, RequestRecord, State};

pub(crate) struct Shared {
    pub state: Mutex<State>,
}

impl Shared {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

const DOCS: &str = "https://docs.github.com/rest";
const WEB: &str = "https://github.com";

pub(crate) async fn serve(shared: Arc<Shared>) -> std::io::Result<(SocketAddr, oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let shared = Arc::clone(&shared);
        async move { handle(&shared, method, uri, headers, body, addr).await }
    });
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            eprintln!("fake GitHub server stopped: {error}");
        }
    });
    Ok((addr, stop))
}

/// An answer: status, JSON body, extra headers.
struct Answer {
    status: u16,
    body: Value,
    headers: Vec<(&'static str, String)>,
}

fn answer(status: u16, body: Value) -> Answer {
    Answer { status, body, headers: Vec::new() }
}

fn error(status: u16, message: &str, docs: &str) -> Answer {
    answer(status, json!({ "message": message, "documentation_url": docs, "status": status.to_string() }))
}

fn not_found() -> Answer {
    error(404, "Not Found", DOCS)
}

fn invalid(message: String) -> Answer {
    error(422, &format!("Invalid request.\n\n{message}"), DOCS)
}

fn validation_failed(resource: &str, message: &str, docs: &str) -> Answer {
    answer(
        422,
        json!({
            "message": "Validation Failed",
            "errors": [{ "resource": resource, "code": "custom", "message": message }],
            "documentation_url": docs,
            "status": "422",
        }),
    )
}

async fn handle(
    shared: &Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    addr: SocketAddr,
) -> Response {
    let path = uri.path().to_string();
    let query = parse_query(uri.query().unwrap_or(""));
    let full = uri.path_and_query().map(|p| p.to_string()).unwrap_or_else(|| path.clone());
    let route = format!("{method} {path}");
    let (result, delay) = {
        let mut state = shared.lock();
        let (answer, applied, fault) = process(&mut state, &method, &path, &query, &headers, &body, &route, addr);
        let delay = match &fault {
            Some(Failure::Timeout(d)) => Some(*d),
            _ => None,
        };
        state.requests.push(RequestRecord {
            method: method.to_string(),
            path: full,
            status: answer.status,
            applied,
            fault: fault.as_ref().map(|f| f.name().to_string()),
        });
        (answer, delay)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let mut response =
        (StatusCode::from_u16(result.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), axum::Json(result.body))
            .into_response();
    let h = response.headers_mut();
    h.insert("x-github-api-version-selected", HeaderValue::from_static("2022-11-28"));
    for (name, value) in result.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            h.insert(name, value);
        }
    }
    response
}

#[allow(clippy::too_many_arguments)]
fn process(
    state: &mut State,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
    route_text: &str,
    addr: SocketAddr,
) -> (Answer, bool, Option<Failure>) {
    let Some(route) = Route::parse(method, path) else { return (not_found(), false, None) };
    let now = chrono::Utc::now().timestamp();
    // Authentication.
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("token ")))
        .map(str::trim)
        .unwrap_or("");
    let authorised = if route.needs_app() {
        verify_jwt(state, auth, now)
    } else if state.tokens.iter().any(|t| t == auth) || state.installation_tokens.get(auth).is_some_and(|e| *e > now) {
        Ok(())
    } else if auth.is_empty() {
        Err("Requires authentication".to_string())
    } else {
        Err("Bad credentials".to_string())
    };
    if let Err(message) = authorised {
        return (error(401, &message, DOCS), false, None);
    }
    let limit_headers = |remaining: u64, reset: i64| {
        vec![
            ("x-ratelimit-limit", "5000".to_string()),
            ("x-ratelimit-remaining", remaining.to_string()),
            ("x-ratelimit-reset", reset.to_string()),
            ("x-ratelimit-resource", "core".to_string()),
        ]
    };
    if let Some(0) = state.budget {
        let mut refused = error(403, "API rate limit exceeded for installation.", DOCS);
        refused.headers = limit_headers(0, now + 3600);
        return (refused, false, None);
    }
    // Bodies.
    let body = if matches!(*method, Method::POST | Method::PATCH) {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map,
            Ok(_) | Err(_) if body.is_empty() => Map::new(),
            _ => return (error(400, "Problems parsing JSON", DOCS), false, None),
        }
    } else {
        Map::new()
    };
    if let Err(problem) = route.validate(&body) {
        return (problem, false, None);
    }
    let fault = state.injector.draw(route_text);
    if let Some(f) = &fault
        && !f.applies()
    {
        let mut refused = match f {
            Failure::ServerError => error(500, "Server Error", DOCS),
            Failure::SecondaryRateLimit => {
                let mut a = error(
                    403,
                    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                    DOCS,
                );
                a.headers.push(("retry-after", "1".into()));
                a
            }
            _ => {
                let mut a = error(403, "API rate limit exceeded for installation.", DOCS);
                a.headers = limit_headers(0, now + 1);
                a
            }
        };
        if refused.status == 500 {
            refused.headers = limit_headers(4999, now + 3600);
        }
        return (refused, false, fault);
    }
    let mut result = route.run(state, query, &body, now, addr);
    let applied = *method != Method::GET && (200..300).contains(&result.status);
    if let Some(budget) = state.budget.as_mut() {
        *budget = budget.saturating_sub(1);
    }
    let remaining = state.budget.unwrap_or(4999);
    result.headers.extend(limit_headers(remaining, now + 3600));
    if matches!(fault, Some(Failure::LostResponse)) {
        return (error(502, "Bad Gateway", DOCS), applied, fault);
    }
    (result, applied, fault)
}

/// Verifies an app JWT: RS256 over `header.claims`, `iss` the app id, `exp` in the future and
/// at most 10 minutes after `iat`.
fn verify_jwt(state: &State, token: &str, now: i64) -> Result<(), String> {
    let bad = || "A JSON web token could not be decoded".to_string();
    let app = state.app.as_ref().ok_or_else(bad)?;
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let header: Value =
        URL_SAFE_NO_PAD.decode(header).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(bad)?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(bad());
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| bad())?;
    let key = ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, &app.public_key);
    key.verify(format!("{}.{claims}", token.split('.').next().unwrap_or("")).as_bytes(), &signature)
        .map_err(|_| "'Issuer' claim ('iss') must be an Integer or the signature does not verify".to_string())?;
    let claims: Value =
        URL_SAFE_NO_PAD.decode(claims).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(bad)?;
    let iss = claims.get("iss").map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
    let (iat, exp) = (claims.get("iat").and_then(Value::as_i64), claims.get("exp").and_then(Value::as_i64));
    if iss.as_deref() != Some(app.id.as_str()) {
        return Err("Integration not found".into());
    }
    match (iat, exp) {
        (Some(iat), Some(exp)) if exp > now && iat <= now + 60 && exp - iat <= 600 => Ok(()),
        _ => Err("'Expiration time' claim ('exp') is too far in the future or in the past".into()),
    }
}

fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The endpoints the fake serves.
enum Route {
    InstallationToken { id: u64 },
    RepoInstallation { owner: String, name: String },
    Repo { owner: String, name: String, op: RepoOp },
}

enum RepoOp {
    Get,
    GetRef(String),
    CreateRef,
    UpdateRef(String),
    GetCommit(String),
    CreateCommit,
    GetTree(String),
    CreateTree,
    GetBlob(String),
    CreateBlob,
    ListPulls,
    CreatePull,
    GetPull(u64),
    UpdatePull(u64),
    ListComments(u64),
    CreateComment(u64),
    UpdateComment(u64),
}

/// A field's JSON type, for validation.
#[derive(Clone, Copy)]
enum Ty {
    Str,
    Bool,
    StrArray,
    Obj,
    Arr,
    Any,
}

impl Route {
    fn parse(method: &Method, path: &str) -> Option<Route> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let decode_branch = |rest: &[&str]| -> Option<String> {
            let branch = rest.iter().map(|s| decode(s)).collect::<Vec<_>>().join("/");
            (!branch.is_empty()).then_some(branch)
        };
        match (method.clone(), segments.as_slice()) {
            (Method::POST, ["app", "installations", id, "access_tokens"]) => {
                Some(Route::InstallationToken { id: id.parse().ok()? })
            }
            (m, ["repos", owner, name, rest @ ..]) => {
                let (owner, name) = (owner.to_string(), name.to_string());
                if m == Method::GET && rest == ["installation"] {
                    return Some(Route::RepoInstallation { owner, name });
                }
                let op = match (m, rest) {
                    (Method::GET, []) => RepoOp::Get,
                    (Method::GET, ["git", "ref", "heads", branch @ ..]) => RepoOp::GetRef(decode_branch(branch)?),
                    (Method::POST, ["git", "refs"]) => RepoOp::CreateRef,
                    (Method::PATCH, ["git", "refs", "heads", branch @ ..]) => RepoOp::UpdateRef(decode_branch(branch)?),
                    (Method::GET, ["git", "commits", sha]) => RepoOp::GetCommit(sha.to_string()),
                    (Method::POST, ["git", "commits"]) => RepoOp::CreateCommit,
                    (Method::GET, ["git", "trees", sha]) => RepoOp::GetTree(sha.to_string()),
                    (Method::POST, ["git", "trees"]) => RepoOp::CreateTree,
                    (Method::GET, ["git", "blobs", sha]) => RepoOp::GetBlob(sha.to_string()),
                    (Method::POST, ["git", "blobs"]) => RepoOp::CreateBlob,
                    (Method::GET, ["pulls"]) => RepoOp::ListPulls,
                    (Method::POST, ["pulls"]) => RepoOp::CreatePull,
                    (Method::GET, ["pulls", n]) => RepoOp::GetPull(n.parse().ok()?),
                    (Method::PATCH, ["pulls", n]) => RepoOp::UpdatePull(n.parse().ok()?),
                    (Method::GET, ["issues", n, "comments"]) => RepoOp::ListComments(n.parse().ok()?),
                    (Method::POST, ["issues", n, "comments"]) => RepoOp::CreateComment(n.parse().ok()?),
                    (Method::PATCH, ["issues", "comments", id]) => RepoOp::UpdateComment(id.parse().ok()?),
                    _ => return None,
                };
                Some(Route::Repo { owner, name, op })
            }
            _ => None,
        }
    }

    fn needs_app(&self) -> bool {
        matches!(self, Route::InstallationToken { .. } | Route::RepoInstallation { .. })
    }

    /// (permitted keys with their types, required keys) of the body.
    fn shape(&self) -> (&'static [(&'static str, Ty)], &'static [&'static str]) {
        match self {
            Route::InstallationToken { .. } => {
                (&[("repositories", Ty::StrArray), ("repository_ids", Ty::Arr), ("permissions", Ty::Obj)], &[])
            }
            Route::RepoInstallation { .. } => (&[], &[]),
            Route::Repo { op, .. } => match op {
                RepoOp::CreateRef => (&[("ref", Ty::Str), ("sha", Ty::Str)], &["ref", "sha"]),
                RepoOp::UpdateRef(_) => (&[("sha", Ty::Str), ("force", Ty::Bool)], &["sha"]),
                RepoOp::CreateBlob => (&[("content", Ty::Str), ("encoding", Ty::Str)], &["content"]),
                RepoOp::CreateTree => (&[("tree", Ty::Arr), ("base_tree", Ty::Str)], &["tree"]),
                RepoOp::CreateCommit => (
                    &[
                        ("message", Ty::Str),
                        ("tree", Ty::Str),
                        ("parents", Ty::StrArray),
                        ("author", Ty::Obj),
                        ("committer", Ty::Obj),
                        ("signature", Ty::Str),
                    ],
                    &["message", "tree"],
                ),
                RepoOp::CreatePull => (
                    &[
                        ("title", Ty::Str),
                        ("head", Ty::Str),
                        ("head_repo", Ty::Str),
                        ("base", Ty::Str),
                        ("body", Ty::Str),
                        ("maintainer_can_modify", Ty::Bool),
                        ("draft", Ty::Bool),
                        ("issue", Ty::Any),
                    ],
                    &["head", "base"],
                ),
                RepoOp::UpdatePull(_) => (
                    &[
                        ("title", Ty::Str),
                        ("body", Ty::Str),
                        ("state", Ty::Str),
                        ("base", Ty::Str),
                        ("maintainer_can_modify", Ty::Bool),
                    ],
                    &[],
                ),
                RepoOp::CreateComment(_) | RepoOp::UpdateComment(_) => (&[("body", Ty::Str)], &["body"]),
                _ => (&[], &[]),
            },
        }
    }

    fn validate(&self, body: &Map<String, Value>) -> Result<(), Answer> {
        let (permitted, required) = self.shape();
        for (key, value) in body {
            let Some((_, ty)) = permitted.iter().find(|(k, _)| k == key) else {
                return Err(invalid(format!("\"{key}\" is not a permitted key.")));
            };
            let ok = match ty {
                Ty::Str => value.is_string(),
                Ty::Bool => value.is_boolean(),
                Ty::StrArray => value.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
                Ty::Obj => value.is_object(),
                Ty::Arr => value.is_array(),
                Ty::Any => true,
            };
            if !ok {
                return Err(invalid(format!("For 'properties/{key}', {value} is not {}.", ty_name(*ty))));
            }
        }
        for key in required {
            if !body.contains_key(*key) {
                return Err(invalid(format!("\"{key}\" wasn't supplied.")));
            }
        }
        Ok(())
    }

    fn run(
        &self,
        state: &mut State,
        query: &BTreeMap<String, String>,
        body: &Map<String, Value>,
        now: i64,
        addr: SocketAddr,
    ) -> Answer {
        match self {
            Route::InstallationToken { id } => {
                if state.app.as_ref().map(|a| a.installation_id) != Some(*id) {
                    return not_found();
                }
                let token = format!("ghs_fake{:032}", state.next_id());
                let expires = now + 3600;
                state.installation_tokens.insert(token.clone(), expires);
                let at = chrono::DateTime::from_timestamp(expires, 0).unwrap_or_default();
                answer(201, json!({ "token": token, "expires_at": at.format("%Y-%m-%dT%H:%M:%SZ").to_string() }))
            }
            Route::RepoInstallation { owner, name } => match (&state.app, state.repo(owner, name)) {
                (Some(app), Some(_)) => {
                    answer(200, json!({ "id": app.installation_id, "app_id": app.id.parse::<u64>().unwrap_or(0) }))
                }
                _ => not_found(),
            },
            Route::Repo { owner, name, op } => {
                let Some(repo) = state.repo_mut(owner, name) else { return not_found() };
                run_repo(repo, op, query, body, now, addr)
            }
        }
    }
}

fn ty_name(ty: Ty) -> &'static str {
    match ty {
        Ty::Str => "a string",
        Ty::Bool => "a boolean",
        Ty::StrArray => "an array of strings",
        Ty::Obj => "an object",
        Ty::Arr => "an array",
        Ty::Any => "a value",
    }
}

fn time_text(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn run_repo(
    repo: &mut Repository,
    op: &RepoOp,
    query: &BTreeMap<String, String>,
    body: &Map<String, Value>,
    now: i64,
    addr: SocketAddr,
) -> Answer {
    let api = format!("http://{addr}/repos/{}/{}", repo.owner, repo.name);
    let str_field = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    match op {
        RepoOp::Get => answer(
            200,
            json!({
                "id": 1, "name": repo.name, "full_name": format!("{}/{}", repo.owner, repo.name),
                "owner": { "login": repo.owner }, "private": true,
                "html_url": format!("{WEB}/{}/{}", repo.owner, repo.name),
                "default_branch": repo.default_branch, "url": api,
            }),
        ),
        RepoOp::GetRef(branch) => match repo.branches.get(branch) {
            Some(sha) => answer(200, ref_json(&api, branch, sha)),
            None => error(404, "Not Found", "https://docs.github.com/rest/git/refs#get-a-reference"),
        },
        RepoOp::CreateRef => {
            let (name, sha) = (str_field("ref"), str_field("sha"));
            let Some(branch) = name.strip_prefix("refs/heads/").filter(|b| !b.is_empty()) else {
                return error(422, "Reference name must start with 'refs/' and have at least two slashes.", DOCS);
            };
            if !matches!(repo.objects.get(&sha), Some(Object::Commit(_))) {
                return error(422, "Object does not exist", "https://docs.github.com/rest/git/refs#create-a-reference");
            }
            if repo.branches.contains_key(branch) {
                return error(
                    422,
                    "Reference already exists",
                    "https://docs.github.com/rest/git/refs#create-a-reference",
                );
            }
            repo.branches.insert(branch.to_string(), sha.clone());
            answer(201, ref_json(&api, branch, &sha))
        }
        RepoOp::UpdateRef(branch) => {
            let sha = str_field("sha");
            let force = body.get("force").and_then(Value::as_bool).unwrap_or(false);
            let Some(current) = repo.branches.get(branch).cloned() else {
                return error(
                    422,
                    "Reference does not exist",
                    "https://docs.github.com/rest/git/refs#update-a-reference",
                );
            };
            if !matches!(repo.objects.get(&sha), Some(Object::Commit(_))) {
                return error(422, "Object does not exist", "https://docs.github.com/rest/git/refs#update-a-reference");
            }
            if !force && !is_ancestor(repo, &current, &sha) {
                return error(
                    422,
                    "Update is not a fast forward",
                    "https://docs.github.com/rest/git/refs#update-a-reference",
                );
            }
            repo.branches.insert(branch.clone(), sha.clone());
            answer(200, ref_json(&api, branch, &sha))
        }
        RepoOp::GetCommit(sha) => match repo.objects.get(sha) {
            Some(Object::Commit(c)) => answer(200, commit_json(&api, sha, c)),
            _ => error(404, "Not Found", "https://docs.github.com/rest/git/commits#get-a-commit-object"),
        },
        RepoOp::CreateCommit => {
            let tree = str_field("tree");
            if !matches!(repo.objects.get(&tree), Some(Object::Tree(_))) {
                return error(
                    422,
                    "Tree SHA does not exist",
                    "https://docs.github.com/rest/git/commits#create-a-commit",
                );
            }
            let parents: Vec<String> = body
                .get("parents")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            if parents.iter().any(|p| !matches!(repo.objects.get(p), Some(Object::Commit(_)))) {
                return error(
                    422,
                    "Parent SHA does not exist or is not a commit object",
                    "https://docs.github.com/rest/git/commits#create-a-commit",
                );
            }
            let signature = |key: &str| -> Result<Signature, Answer> {
                let Some(who) = body.get(key) else {
                    return Ok(Signature {
                        name: "cutover-fake".into(),
                        email: "fake@github.invalid".into(),
                        time: now,
                    });
                };
                let field = |k: &str| who.get(k).and_then(Value::as_str);
                let (Some(name), Some(email)) = (field("name"), field("email")) else {
                    return Err(invalid(format!("\"name\" and \"email\" weren't supplied for {key}.")));
                };
                let time = match field("date") {
                    Some(date) => match chrono::DateTime::parse_from_rfc3339(date) {
                        Ok(t) => t.timestamp(),
                        Err(_) => {
                            return Err(invalid(format!(
                                "For 'properties/{key}/date', \"{date}\" is not a date-time."
                            )));
                        }
                    },
                    None => now,
                };
                Ok(Signature { name: name.to_string(), email: email.to_string(), time })
            };
            let author = match signature("author") {
                Ok(s) => s,
                Err(a) => return a,
            };
            let committer = if body.contains_key("committer") {
                match signature("committer") {
                    Ok(s) => s,
                    Err(a) => return a,
                }
            } else {
                author.clone()
            };
            let commit = CommitObject { tree, parents, author, committer, message: str_field("message") };
            let sha = repo.objects.put_commit(commit.clone());
            answer(201, commit_json(&api, &sha, &commit))
        }
        RepoOp::GetTree(sha) => {
            let recursive = query.get("recursive").is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
            if !matches!(repo.objects.get(sha), Some(Object::Tree(_))) {
                return error(404, "Not Found", "https://docs.github.com/rest/git/trees#get-a-tree");
            }
            answer(200, tree_json(repo, &api, sha, recursive))
        }
        RepoOp::CreateTree => {
            let base = body.get("base_tree").and_then(Value::as_str);
            let mut files = match base {
                Some(base) if matches!(repo.objects.get(base), Some(Object::Tree(_))) => repo.objects.flatten(base),
                Some(_) => {
                    return error(
                        422,
                        "base_tree is not a valid tree oid",
                        "https://docs.github.com/rest/git/trees#create-a-tree",
                    );
                }
                None => BTreeMap::new(),
            };
            let entries = body.get("tree").and_then(Value::as_array).cloned().unwrap_or_default();
            for (i, entry) in entries.iter().enumerate() {
                let Some(entry) = entry.as_object() else {
                    return invalid(format!("For 'items', {entry} is not an object."));
                };
                for key in entry.keys() {
                    if !matches!(key.as_str(), "path" | "mode" | "type" | "sha" | "content") {
                        return invalid(format!("\"{key}\" is not a permitted key."));
                    }
                }
                let path = entry.get("path").and_then(Value::as_str).unwrap_or("");
                let mode = entry.get("mode").and_then(Value::as_str).unwrap_or("");
                let kind = entry.get("type").and_then(Value::as_str).unwrap_or("");
                if path.is_empty()
                    || path.starts_with('/')
                    || path.ends_with('/')
                    || path.split('/').any(|p| p.is_empty() || p == "." || p == ".." || p == ".git")
                {
                    return error(
                        422,
                        &format!("tree.path contains a malformed path component (tree item {i})"),
                        "https://docs.github.com/rest/git/trees#create-a-tree",
                    );
                }
                if !matches!(mode, "100644" | "100755" | "120000") || kind != "blob" {
                    return error(
                        422,
                        &format!("tree.mode or tree.type is not supported by the fake (tree item {i})"),
                        "https://docs.github.com/rest/git/trees#create-a-tree",
                    );
                }
                let sha = match (entry.get("sha"), entry.get("content")) {
                    (Some(Value::Null), None) => {
                        files.remove(path);
                        continue;
                    }
                    (Some(Value::String(sha)), None) if matches!(repo.objects.get(sha), Some(Object::Blob(_))) => {
                        sha.clone()
                    }
                    (Some(Value::String(_)), None) => {
                        return error(
                            422,
                            &format!("tree.sha is not a valid blob (tree item {i})"),
                            "https://docs.github.com/rest/git/trees#create-a-tree",
                        );
                    }
                    (None, Some(Value::String(content))) => repo.objects.put_blob(content.clone().into_bytes()),
                    _ => {
                        return error(
                            422,
                            &format!("Must supply either tree.sha or tree.content (tree item {i})"),
                            "https://docs.github.com/rest/git/trees#create-a-tree",
                        );
                    }
                };
                // A file replaces a directory of that name and vice versa, as in git.
                files.retain(|p, _| !p.starts_with(&format!("{path}/")) && !path.starts_with(&format!("{p}/")));
                files.insert(path.to_string(), (mode.to_string(), sha));
            }
            let sha = repo.objects.build(&files);
            answer(201, tree_json(repo, &api, &sha, false))
        }
        RepoOp::GetBlob(sha) => match repo.objects.get(sha) {
            Some(Object::Blob(content)) => {
                // GitHub wraps base64 at 60 columns.
                let encoded = STANDARD.encode(content);
                let wrapped: Vec<String> =
                    encoded.as_bytes().chunks(60).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
                answer(
                    200,
                    json!({ "sha": sha, "size": content.len(), "url": format!("{api}/git/blobs/{sha}"), "content": wrapped.join("\n") + "\n", "encoding": "base64" }),
                )
            }
            _ => error(404, "Not Found", "https://docs.github.com/rest/git/blobs#get-a-blob"),
        },
        RepoOp::CreateBlob => {
            let content = str_field("content");
            let bytes = match body.get("encoding").and_then(Value::as_str).unwrap_or("utf-8") {
                "utf-8" | "utf8" => content.into_bytes(),
                "base64" => match STANDARD.decode(content.trim()) {
                    Ok(bytes) => bytes,
                    Err(_) => {
                        return error(
                            422,
                            "Invalid base64 content",
                            "https://docs.github.com/rest/git/blobs#create-a-blob",
                        );
                    }
                },
                other => {
                    return error(
                        422,
                        &format!("encoding must be utf-8 or base64, not {other}"),
                        "https://docs.github.com/rest/git/blobs#create-a-blob",
                    );
                }
            };
            let sha = repo.objects.put_blob(bytes);
            answer(201, json!({ "sha": sha, "url": format!("{api}/git/blobs/{sha}") }))
        }
        RepoOp::ListPulls => {
            let state_filter = query.get("state").map(String::as_str).unwrap_or("open");
            if !matches!(state_filter, "open" | "closed" | "all") {
                return invalid(format!("For 'state', \"{state_filter}\" is not one of open, closed, all."));
            }
            let head = query.get("head").cloned();
            let per_page: usize = query.get("per_page").and_then(|v| v.parse().ok()).unwrap_or(30).clamp(1, 100);
            let page: usize = query.get("page").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
            let pulls: Vec<Value> = repo
                .pulls
                .iter()
                .rev()
                .filter(|p| state_filter == "all" || p.state == state_filter)
                .filter(|p| head.as_ref().is_none_or(|h| *h == format!("{}:{}", repo.owner, p.head)))
                .filter(|p| query.get("base").is_none_or(|b| *b == p.base))
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|p| pull_json(repo, &api, p))
                .collect();
            answer(200, Value::Array(pulls))
        }
        RepoOp::CreatePull => {
            let (head, base) = (str_field("head"), str_field("base"));
            let head_branch = match head.split_once(':') {
                Some((owner, branch)) if owner.eq_ignore_ascii_case(&repo.owner) => branch.to_string(),
                Some(_) => {
                    return validation_failed(
                        "PullRequest",
                        "head must be a branch of this repository in the fake",
                        "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
                    );
                }
                None => head.clone(),
            };
            if !body.contains_key("title") && !body.contains_key("issue") {
                return invalid("\"title\" wasn't supplied.".into());
            }
            let docs = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request";
            let (Some(head_sha), Some(base_sha)) = (repo.branches.get(&head_branch), repo.branches.get(&base)) else {
                let missing = if repo.branches.contains_key(&head_branch) { "base" } else { "head" };
                return answer(
                    422,
                    json!({ "message": "Validation Failed", "errors": [{ "resource": "PullRequest", "field": missing, "code": "invalid" }], "documentation_url": docs, "status": "422" }),
                );
            };
            if head_sha == base_sha {
                return validation_failed("PullRequest", &format!("No commits between {base} and {head_branch}"), docs);
            }
            if repo.pulls.iter().any(|p| p.state == "open" && p.head == head_branch && p.base == base) {
                return validation_failed(
                    "PullRequest",
                    &format!("A pull request already exists for {}:{head_branch}.", repo.owner),
                    docs,
                );
            }
            let number = repo.pulls.last().map_or(0, |p| p.number) + 1;
            let pull = Pull {
                number,
                title: str_field("title"),
                body: body.get("body").and_then(Value::as_str).map(str::to_string),
                head: head_branch,
                base,
                state: "open".into(),
                created_at: time_text(now),
                updated_at: time_text(now),
            };
            repo.pulls.push(pull.clone());
            answer(201, pull_json(repo, &api, &pull))
        }
        RepoOp::GetPull(number) => match repo.pulls.iter().find(|p| p.number == *number) {
            Some(p) => answer(200, pull_json(repo, &api, p)),
            None => not_found(),
        },
        RepoOp::UpdatePull(number) => {
            let Some(index) = repo.pulls.iter().position(|p| p.number == *number) else { return not_found() };
            if let Some(state) = body.get("state").and_then(Value::as_str)
                && !matches!(state, "open" | "closed")
            {
                return invalid(format!("For 'properties/state', \"{state}\" is not one of open, closed."));
            }
            let pull = &mut repo.pulls[index];
            if let Some(title) = body.get("title").and_then(Value::as_str) {
                pull.title = title.to_string();
            }
            if let Some(text) = body.get("body").and_then(Value::as_str) {
                pull.body = Some(text.to_string());
            }
            if let Some(state) = body.get("state").and_then(Value::as_str) {
                pull.state = state.to_string();
            }
            pull.updated_at = time_text(now);
            let pull = pull.clone();
            answer(200, pull_json(repo, &api, &pull))
        }
        RepoOp::ListComments(number) => {
            if !repo.pulls.iter().any(|p| p.number == *number) {
                return not_found();
            }
            let per_page: usize = query.get("per_page").and_then(|v| v.parse().ok()).unwrap_or(30).clamp(1, 100);
            let page: usize = query.get("page").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
            let comments: Vec<Value> = repo
                .comments
                .iter()
                .filter(|c| c.number == *number)
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|c| comment_json(repo, &api, c))
                .collect();
            answer(200, Value::Array(comments))
        }
        RepoOp::CreateComment(number) => {
            if !repo.pulls.iter().any(|p| p.number == *number) {
                return not_found();
            }
            let id = 1_000_000 + repo.comments.len() as u64 + 1;
            let comment = IssueComment {
                id,
                number: *number,
                body: str_field("body"),
                created_at: time_text(now),
                updated_at: time_text(now),
            };
            repo.comments.push(comment.clone());
            answer(201, comment_json(repo, &api, &comment))
        }
        RepoOp::UpdateComment(id) => {
            let Some(comment) = repo.comments.iter_mut().find(|c| c.id == *id) else { return not_found() };
            comment.body = str_field("body");
            comment.updated_at = time_text(now);
            let comment = comment.clone();
            answer(200, comment_json(repo, &api, &comment))
        }
    }
}

fn is_ancestor(repo: &Repository, ancestor: &str, of: &str) -> bool {
    let mut stack = vec![of.to_string()];
    let mut seen = std::collections::HashSet::new();
    while let Some(sha) = stack.pop() {
        if sha == ancestor {
            return true;
        }
        if !seen.insert(sha.clone()) {
            continue;
        }
        if let Some(Object::Commit(c)) = repo.objects.get(&sha) {
            stack.extend(c.parents.iter().cloned());
        }
    }
    false
}

fn ref_json(api: &str, branch: &str, sha: &str) -> Value {
    json!({
        "ref": format!("refs/heads/{branch}"),
        "node_id": format!("REF_{sha}"),
        "url": format!("{api}/git/refs/heads/{branch}"),
        "object": { "type": "commit", "sha": sha, "url": format!("{api}/git/commits/{sha}") },
    })
}

fn signature_json(s: &Signature) -> Value {
    json!({ "name": s.name, "email": s.email, "date": time_text(s.time) })
}

fn commit_json(api: &str, sha: &str, c: &CommitObject) -> Value {
    json!({
        "sha": sha,
        "url": format!("{api}/git/commits/{sha}"),
        "message": c.message,
        "author": signature_json(&c.author),
        "committer": signature_json(&c.committer),
        "tree": { "sha": c.tree, "url": format!("{api}/git/trees/{}", c.tree) },
        "parents": c.parents.iter().map(|p| json!({ "sha": p, "url": format!("{api}/git/commits/{p}") })).collect::<Vec<_>>(),
        "verification": { "verified": false, "reason": "unsigned", "signature": null, "payload": null },
    })
}

fn tree_json(repo: &Repository, api: &str, sha: &str, recursive: bool) -> Value {
    let items: Vec<(String, TreeItem)> = if recursive {
        repo.objects.walk(sha)
    } else {
        match repo.objects.get(sha) {
            Some(Object::Tree(items)) => items.iter().map(|i| (i.name.clone(), i.clone())).collect(),
            _ => Vec::new(),
        }
    };
    let entries: Vec<Value> = items
        .into_iter()
        .map(|(path, item)| {
            let mut entry = json!({ "path": path, "mode": item.mode, "type": if item.is_tree() { "tree" } else { "blob" }, "sha": item.sha });
            if let Some(Object::Blob(content)) = repo.objects.get(&item.sha) {
                entry["size"] = json!(content.len());
                entry["url"] = json!(format!("{api}/git/blobs/{}", item.sha));
            } else {
                entry["url"] = json!(format!("{api}/git/trees/{}", item.sha));
            }
            entry
        })
        .collect();
    json!({ "sha": sha, "url": format!("{api}/git/trees/{sha}"), "tree": entries, "truncated": false })
}

fn pull_json(repo: &Repository, api: &str, p: &Pull) -> Value {
    let branch = |name: &str| {
        json!({
            "label": format!("{}:{name}", repo.owner),
            "ref": name,
            "sha": repo.branches.get(name).cloned().unwrap_or_default(),
            "repo": { "full_name": format!("{}/{}", repo.owner, repo.name) },
        })
    };
    json!({
        "url": format!("{api}/pulls/{}", p.number),
        "html_url": format!("{WEB}/{}/{}/pull/{}", repo.owner, repo.name, p.number),
        "number": p.number,
        "state": p.state,
        "title": p.title,
        "body": p.body,
        "draft": false,
        "merged": false,
        "user": { "login": "cutover[bot]", "type": "Bot" },
        "head": branch(&p.head),
        "base": branch(&p.base),
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    })
}

fn comment_json(repo: &Repository, api: &str, c: &IssueComment) -> Value {
    json!({
        "id": c.id,
        "url": format!("{api}/issues/comments/{}", c.id),
        "html_url": format!("{WEB}/{}/{}/pull/{}#issuecomment-{}", repo.owner, repo.name, c.number, c.id),
        "body": c.body,
        "user": { "login": "cutover[bot]", "type": "Bot" },
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    })
}
