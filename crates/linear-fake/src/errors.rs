//! GraphQL errors in Linear's shape (`extensions.type`, `extensions.code`, `userError`, ...),
//! and the error of the fake's own Rust API.
//!
//! Clients map these fields to their error kinds (the real client turns "Entity not found"
//! with `INVALID_INPUT` into NotFound), so the shapes are part of the contract.

use serde_json::{Map, Value, json};

/// An error that becomes one entry of a response's `errors[]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldError {
    pub(crate) message: String,
    pub(crate) kind: ErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// Linear's `invalid input` (also used for "Entity not found").
    InvalidInput,
    /// Linear's `forbidden`: the actor may not do this.
    Forbidden,
    /// Something the fake does not model: a loud error instead of a silent `null`.
    Unsupported,
    /// An injected or internal error.
    Internal,
}

impl FieldError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        FieldError { message: message.into(), kind: ErrorKind::InvalidInput }
    }

    /// Linear's answer for an id that names nothing: `Entity not found: Issue`.
    pub(crate) fn not_found(entity: &str) -> Self {
        Self::invalid(format!("Entity not found: {entity}"))
    }

    /// A create with a client-chosen id that is already taken.
    pub(crate) fn already_exists() -> Self {
        Self::invalid("Entity already exists")
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        FieldError { message: message.into(), kind: ErrorKind::Forbidden }
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> Self {
        FieldError { message: message.into(), kind: ErrorKind::Unsupported }
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        FieldError { message: message.into(), kind: ErrorKind::Internal }
    }

    pub(crate) fn extensions(&self) -> Map<String, Value> {
        let user_message = match self.message.strip_prefix("Entity not found: ") {
            Some(entity) => format!("Could not find referenced {entity}."),
            None => self.message.clone(),
        };
        let value = match self.kind {
            ErrorKind::InvalidInput => json!({
                "type": "invalid input",
                "code": "INVALID_INPUT",
                "statusCode": 400,
                "userError": true,
                "userPresentableMessage": user_message,
            }),
            ErrorKind::Forbidden => json!({
                "type": "forbidden",
                "code": "FORBIDDEN",
                "statusCode": 403,
                "userError": true,
                "userPresentableMessage": user_message,
            }),
            ErrorKind::Unsupported => json!({
                "type": "unsupported",
                "code": "NOT_MODELLED_BY_FAKE",
                "userError": false,
            }),
            ErrorKind::Internal => json!({
                "type": "internal error",
                "code": "INTERNAL_SERVER_ERROR",
                "statusCode": 500,
                "userError": false,
            }),
        };
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// An error of the fake's Rust API (seeding and human-side actions).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct FakeError {
    message: String,
}

impl FakeError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        FakeError { message: message.into() }
    }
}

impl From<FieldError> for FakeError {
    fn from(error: FieldError) -> Self {
        FakeError { message: error.message }
    }
}
