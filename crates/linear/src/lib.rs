//! I/O: Linear's GraphQL API (typed operations, auth, rate limits, errors) and its webhooks.
//!
//! Every operation sent lives in `graphql/operations.graphql`; a test validates the whole file
//! against Linear's published schema (`graphql/schema.graphql`), and the fake server used by the
//! end-to-end tests validates each request again, so a query Linear would reject fails in CI.

mod api;
mod auth;
mod client;
mod error;
mod operations;
pub mod types;
pub mod webhook;

pub use webhook::{Delivery, DeliveryHeaders, Identity, Trigger, WebhookError, WebhookSecret};

pub use api::{CreatedKind, PageInfo, label_colour};
pub use auth::Credentials;
pub use client::{ClientConfig, LinearClient, RateLimitSnapshot, WaitBounds};
pub use error::LinearError;
pub use operations::{OPERATIONS_SOURCE, document_for, operation_names};

/// Linear's public GraphQL endpoint, the default for `LINEAR_API_URL`.
pub const DEFAULT_API_URL: &str = "https://api.linear.app/graphql";

/// The schema the operations are validated against (Linear SDK `schema.graphql`).
pub const SCHEMA_SOURCE: &str = include_str!("../graphql/schema.graphql");

/// Installs the TLS crypto provider reqwest is built with (ring; see ARCHITECTURE.md). Every
/// `reqwest::Client` in the process needs it; calling it more than once is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
