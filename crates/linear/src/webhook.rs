//! Linear webhook deliveries: signature and freshness checks over the raw body, and the
//! classification of a verified delivery into something Cutover acts on (or ignores).
//!
//! Verification follows Linear's SDK: the lowercase hex HMAC-SHA256 of the exact body bytes in
//! `Linear-Signature`, compared in constant time; then the signed body's `webhookTimestamp` must
//! be within 60 s of now. The unsigned `Linear-Timestamp` header is never trusted.
//!
//! An OAuth app's deliveries from every workspace that installed it are signed with the same
//! secret, so a valid signature does not say the delivery is for this installation:
//! [`check_organization`] refuses deliveries whose `organizationId` is not the installed one.

use std::fmt;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The largest body accepted; Linear's payloads are a few KiB (an issue description included).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Linear's replay window.
pub const MAX_SKEW: Duration = Duration::from_secs(60);

/// The webhook signing secret, with a redacting `Debug`.
#[derive(Clone)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn new(secret: impl Into<String>) -> WebhookSecret {
        WebhookSecret(secret.into())
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// Why a delivery was refused. Each maps to a 4xx; none changes any state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    #[error("body larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("signature does not match the body")]
    BadSignature,
    #[error("webhookTimestamp is {skew_ms} ms away from now (limit 60000)")]
    Stale { skew_ms: u64 },
    #[error("malformed payload: {0}")]
    Malformed(String),
    #[error("delivery for organization {got:?}, not the one Cutover is installed in")]
    ForeignOrganization { got: Option<String> },
}

impl WebhookError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            WebhookError::TooLarge => 413,
            WebhookError::BadSignature | WebhookError::Stale { .. } => 401,
            WebhookError::ForeignOrganization { .. } => 403,
            WebhookError::MissingHeader(_) | WebhookError::Malformed(_) => 400,
        }
    }
}

/// A delivery whose signature and timestamp checked out.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// `Linear-Delivery`: unique per delivery, the same across Linear's retries of it.
    pub id: String,
    /// `Linear-Event`: the entity type (`Issue`, `Comment`, `AgentSessionEvent`, ...).
    pub event: String,
    pub timestamp_ms: u64,
    /// The lowercase hex SHA-256 of the signed body: the same body re-sent under another
    /// delivery id is the same delivery.
    pub digest: String,
    /// `organizationId` of the payload.
    pub organization_id: Option<String>,
    pub payload: Value,
}

/// The headers verification needs, looked up case-insensitively by the caller.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeliveryHeaders<'a> {
    pub signature: Option<&'a str>,
    pub delivery: Option<&'a str>,
    pub event: Option<&'a str>,
}

/// Checks one delivery. `now_ms` is injected so tests can replay the signed examples.
pub fn verify(
    secret: &WebhookSecret,
    headers: DeliveryHeaders<'_>,
    body: &[u8],
    now_ms: u64,
) -> Result<Delivery, WebhookError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(WebhookError::TooLarge);
    }
    let signature = headers.signature.ok_or(WebhookError::MissingHeader("Linear-Signature"))?;
    let expected = hex::decode(signature.trim()).map_err(|_| WebhookError::BadSignature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.0.as_bytes()).map_err(|_| WebhookError::BadSignature)?;
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&expected).map_err(|_| WebhookError::BadSignature)?;

    let delivery = headers.delivery.ok_or(WebhookError::MissingHeader("Linear-Delivery"))?;
    if delivery.is_empty() || delivery.len() > 100 {
        return Err(WebhookError::Malformed("Linear-Delivery is not an id".into()));
    }
    let payload: Value = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let timestamp_ms = payload
        .get("webhookTimestamp")
        .and_then(Value::as_u64)
        .ok_or_else(|| WebhookError::Malformed("webhookTimestamp is missing or not a number".into()))?;
    let skew_ms = now_ms.abs_diff(timestamp_ms);
    if skew_ms > MAX_SKEW.as_millis() as u64 {
        return Err(WebhookError::Stale { skew_ms });
    }
    let event = match headers.event {
        Some(event) => event.to_string(),
        None => payload.get("type").and_then(Value::as_str).unwrap_or_default().to_string(),
    };
    let organization_id = payload.get("organizationId").and_then(Value::as_str).map(str::to_string);
    let digest = hex::encode(Sha256::digest(body));
    Ok(Delivery { id: delivery.to_string(), event, timestamp_ms, digest, organization_id, payload })
}

/// Refuses a delivery for another organization than `installed` (or when the installed one is
/// not known: nothing is accepted before Cutover knows where it is installed).
pub fn check_organization(delivery: &Delivery, installed: Option<&str>) -> Result<(), WebhookError> {
    match (delivery.organization_id.as_deref(), installed) {
        (Some(got), Some(installed)) if got == installed => Ok(()),
        _ => Err(WebhookError::ForeignOrganization { got: delivery.organization_id.clone() }),
    }
}

/// Signs a body the way Linear does (for the fake server and tests).
pub fn sign(secret: &WebhookSecret, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.0.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// What a delivery asks of Cutover. Serialized as the payload of the job it enqueues.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
#[serde(tag = "trigger", rename_all = "snake_case")]
pub enum Trigger {
    /// An Agent API session opened by a delegation or an @-mention.
    SessionCreated { session_id: String, issue_id: String, identifier: String, app_user_id: String },
    /// A human wrote in the session (an answer to an elicitation, a follow-up) or pressed stop.
    SessionPrompted { session_id: String, issue_id: String, identifier: String, body: String, stop: bool },
    /// API-key installs: an issue update that delegated or assigned the issue to Cutover.
    IssueDelegated { issue_id: String, identifier: String },
    /// A person moved a sub-issue to a started state: when it is one of Cutover's phase
    /// sub-issues, that phase is asked to run. Keyed by the parent issue.
    SubIssueStarted { parent_id: String, issue_id: String, identifier: String },
    /// API-key installs: a new comment that mentions Cutover.
    CommentMention { issue_id: String, identifier: String, comment_id: String, body: String },
    /// Nothing to do, with the reason (for the log and the metrics); never enqueued.
    #[serde(skip)]
    Ignored(String),
}

/// Who Cutover is in this workspace, to recognise mentions and ignore its own writes.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// The Linear organization (workspace) Cutover is installed in; deliveries for any other
    /// are refused.
    pub organization_id: Option<String>,
    pub app_user_id: Option<String>,
    /// Strings that mention Cutover in a comment: its profile URL, `@cutover`.
    pub mention_handles: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionEvent {
    action: String,
    #[serde(default)]
    app_user_id: Option<String>,
    agent_session: SessionPayload,
    #[serde(default)]
    agent_activity: Option<ActivityPayload>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionPayload {
    id: String,
    #[serde(default)]
    issue_id: Option<String>,
    #[serde(default)]
    issue: Option<IssueBrief>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IssueBrief {
    id: String,
    identifier: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActivityPayload {
    #[serde(default)]
    content: Value,
    #[serde(default)]
    signal: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
}

/// Whether the parts of a session event are JSON objects. serde also reads a struct from an
/// array (its fields by position, missing ones defaulted), so `"agentActivity": []` would
/// otherwise be a prompt; Linear sends objects, and anything else is not one of its events.
fn is_session_event_shape(payload: &Value) -> bool {
    let object_or_null = |v: Option<&Value>| v.is_none_or(|v| v.is_object() || v.is_null());
    payload.is_object()
        && payload.get("agentSession").is_some_and(Value::is_object)
        && object_or_null(payload.pointer("/agentSession/issue"))
        && object_or_null(payload.get("agentActivity"))
}

/// Classifies a verified delivery. Never fails: what cannot be understood is `Ignored`.
pub fn classify(delivery: &Delivery, me: &Identity) -> Trigger {
    let payload = &delivery.payload;
    let is_me = |id: Option<&str>| matches!((id, me.app_user_id.as_deref()), (Some(a), Some(b)) if a == b);
    match delivery.event.as_str() {
        "AgentSessionEvent" => {
            let event = match SessionEvent::deserialize(payload) {
                Ok(event) if is_session_event_shape(payload) => event,
                _ => return Trigger::Ignored("agent session event without a session".into()),
            };
            let (issue_id, identifier) = match event.agent_session.issue {
                Some(issue) => (issue.id, issue.identifier),
                None => match event.agent_session.issue_id {
                    Some(id) => (id.clone(), id),
                    None => return Trigger::Ignored("agent session without an issue".into()),
                },
            };
            match event.action.as_str() {
                "created" => Trigger::SessionCreated {
                    session_id: event.agent_session.id,
                    issue_id,
                    identifier,
                    app_user_id: event.app_user_id.unwrap_or_default(),
                },
                "prompted" => {
                    let Some(activity) = event.agent_activity else {
                        return Trigger::Ignored("prompted event without an activity".into());
                    };
                    if is_me(activity.user_id.as_deref()) {
                        return Trigger::Ignored("own activity".into());
                    }
                    let body = activity.content.get("body").and_then(Value::as_str).unwrap_or_default().to_string();
                    Trigger::SessionPrompted {
                        session_id: event.agent_session.id,
                        issue_id,
                        identifier,
                        body,
                        stop: activity.signal.as_deref() == Some("stop"),
                    }
                }
                _ => Trigger::Ignored("agent session action not handled".into()),
            }
        }
        "Issue" => {
            if payload.get("action").and_then(Value::as_str) != Some("update") {
                return Trigger::Ignored("issue event other than update".into());
            }
            if is_me(payload.pointer("/actor/id").and_then(Value::as_str)) {
                return Trigger::Ignored("own write".into());
            }
            let data = &payload["data"];
            let from = &payload["updatedFrom"];
            let field = |name: &str| data.get(name).and_then(Value::as_str).map(str::to_string);
            if from.get("stateId").is_some()
                && data.pointer("/state/type").and_then(Value::as_str) == Some("started")
                && let (Some(parent_id), Some(issue_id), Some(identifier)) =
                    (field("parentId"), field("id"), field("identifier"))
            {
                return Trigger::SubIssueStarted { parent_id, issue_id, identifier };
            }
            let Some(my_id) = me.app_user_id.as_deref() else {
                return Trigger::Ignored("app user unknown".into());
            };
            let newly =
                |field: &str| from.get(field).is_some() && data.get(field).and_then(Value::as_str) == Some(my_id);
            if !(newly("delegateId") || newly("assigneeId")) {
                return Trigger::Ignored("issue update that does not hand the issue to Cutover".into());
            }
            match (data.get("id").and_then(Value::as_str), data.get("identifier").and_then(Value::as_str)) {
                (Some(id), Some(identifier)) => {
                    Trigger::IssueDelegated { issue_id: id.to_string(), identifier: identifier.to_string() }
                }
                _ => Trigger::Ignored("issue update without an id".into()),
            }
        }
        "Comment" => {
            if payload.get("action").and_then(Value::as_str) != Some("create") {
                return Trigger::Ignored("comment event other than create".into());
            }
            let data = &payload["data"];
            if is_me(payload.pointer("/actor/id").and_then(Value::as_str))
                || is_me(data.get("userId").and_then(Value::as_str))
                || !data["botActor"].is_null()
            {
                return Trigger::Ignored("own write".into());
            }
            let body = data.get("body").and_then(Value::as_str).unwrap_or_default();
            let lowered = body.to_lowercase();
            if !me.mention_handles.iter().any(|h| !h.is_empty() && lowered.contains(&h.to_lowercase())) {
                return Trigger::Ignored("comment does not mention Cutover".into());
            }
            let issue_id = data.get("issueId").and_then(Value::as_str);
            let identifier = data.pointer("/issue/identifier").and_then(Value::as_str);
            match (issue_id, identifier, data.get("id").and_then(Value::as_str)) {
                (Some(issue_id), Some(identifier), Some(comment_id)) => Trigger::CommentMention {
                    issue_id: issue_id.to_string(),
                    identifier: identifier.to_string(),
                    comment_id: comment_id.to_string(),
                    body: body.to_string(),
                },
                _ => Trigger::Ignored("comment without an issue".into()),
            }
        }
        _ => Trigger::Ignored("event type not handled".into()),
    }
}
