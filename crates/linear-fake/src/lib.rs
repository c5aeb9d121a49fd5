//! A fake Linear for end-to-end tests and `cutover demo`: a GraphQL server on a loopback port
//! that validates every request against Linear's real schema, keeps a workspace in memory,
//! follows Linear's rules (identifiers, default states, agent sessions, rate-limit headers,
//! error shapes), injects failures on demand, and produces and delivers signed webhooks.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cutover_linear_fake::{FakeLinear, Workspace, DeliveryConfig};
//! let fake = FakeLinear::start(Workspace::acme().label("schema-change", "#4ea7fc", None)).await?;
//! let issue = fake.create_issue("ENG", "Add users.email_verified", "## Objective\n...", &fake.human_user_id())?;
//! let (session_id, event) = fake.delegate_to_app(&issue.identifier)?;
//! let outcome = cutover_linear_fake::deliver(
//!     "http://127.0.0.1:8080/webhooks/linear", "secret", "AgentSessionEvent", &event,
//!     &DeliveryConfig::default(),
//! ).await;
//! // ... the agent under test talks to fake.url() with fake.oauth_token() ...
//! assert!(fake.first_activity_latency(&session_id).is_some());
//! # let _ = outcome; Ok(()) }
//! ```
//!
//! Connections are returned newest first (by `createdAt`, or `updatedAt` with
//! `orderBy: updatedAt`); cursors are node ids. Fields, arguments and input fields the fake
//! does not model are answered with a GraphQL error naming them, never with a silent null.

mod agent;
mod domain;
mod errors;
mod events;
mod execute;
mod failures;
mod filter;
mod human;
mod inspect;
mod resolvers;
mod schema;
mod seed;
mod server;
mod state;
mod views;
mod webhooks;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

pub use errors::FakeError;
pub use failures::Failure;
pub use human::IssueRef;
pub use inspect::{
    ActivityView, AttachmentView, CommentView, IssueView, LabelView, RelationView, SessionView, WorkflowStateView,
};
pub use schema::schema;
pub use seed::{Workspace, ids};
pub use state::{Outcome, RequestRecord};
pub use webhooks::{Attempt, DeliveryConfig, DeliveryOutcome, deliver, sign};

use server::Shared;

/// Linear's deadline for an agent's first activity (or external URL) after a session starts.
pub const FIRST_ACTIVITY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// A running fake. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct FakeLinear {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    addr: SocketAddr,
    /// Dropping it stops the server.
    _stop: oneshot::Sender<()>,
}

impl std::fmt::Debug for FakeLinear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Deliberately without credentials.
        f.debug_struct("FakeLinear").field("url", &self.url()).finish_non_exhaustive()
    }
}

impl FakeLinear {
    /// Seeds the workspace and serves it on 127.0.0.1 with an ephemeral port. Needs a Tokio
    /// runtime; the schema is parsed on the first start of the process.
    pub async fn start(workspace: Workspace) -> std::io::Result<FakeLinear> {
        // Parse the schema before serving, so the first request is not the slow one.
        let _ = schema::schema();
        let shared = Arc::new(Shared { state: Mutex::new(workspace.build()) });
        let (addr, stop) = server::serve(Arc::clone(&shared)).await?;
        Ok(FakeLinear { inner: Arc::new(Inner { shared, addr, _stop: stop }) })
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, state::State> {
        self.inner.shared.lock()
    }

    /// The GraphQL endpoint, `http://127.0.0.1:<port>/graphql`.
    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.inner.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// The personal API key (send as `Authorization: <key>`); it acts as the human user.
    pub fn api_key(&self) -> String {
        self.lock().credentials.api_key.clone()
    }

    /// The OAuth token (send as `Authorization: Bearer <token>`); it acts as the app user.
    pub fn oauth_token(&self) -> String {
        self.lock().credentials.oauth_token.clone()
    }

    /// The OAuth app's client id and secret, for `grant_type=client_credentials` at
    /// `/oauth/token` (next to `/graphql`).
    pub fn client_credentials(&self) -> (String, String) {
        let state = self.lock();
        (state.credentials.client_id.clone(), state.credentials.client_secret.clone())
    }

    /// How many app actor tokens /oauth/token has issued.
    pub fn app_tokens_issued(&self) -> u64 {
        self.lock().credentials.tokens_issued
    }

    /// Revokes the current app actor token (it expired, or the secret was rotated): requests
    /// that send it get 401 until a new one is fetched.
    pub fn revoke_app_token(&self) {
        self.lock().credentials.app_token = None;
    }

    pub fn app_user_id(&self) -> String {
        self.lock().app_id.clone()
    }

    pub fn human_user_id(&self) -> String {
        self.lock().human_id.clone()
    }

    pub fn organization_id(&self) -> String {
        self.lock().org.id.clone()
    }

    pub fn oauth_client_id(&self) -> String {
        self.lock().org.oauth_client_id.clone()
    }

    pub fn team_id(&self, key: &str) -> Option<String> {
        self.lock().find_team(key).map(|t| t.id.clone())
    }

    /// A workflow state of a team by name ("In Progress").
    pub fn state_id(&self, team_key: &str, name: &str) -> Option<String> {
        let state = self.lock();
        let team = state.find_team(team_key)?;
        state.team_states(&team.id).find(|s| s.name == name).map(|s| s.id.clone())
    }

    /// A label by name (any team, workspace labels first).
    pub fn label_id(&self, name: &str) -> Option<String> {
        let state = self.lock();
        let mut labels: Vec<_> = state.labels.values().filter(|l| l.name == name).collect();
        labels.sort_by_key(|l| (l.team_id.is_some(), l.created));
        labels.first().map(|l| l.id.clone())
    }

    /// The next `n` requests (that pass authentication and validation) fail with `failure`.
    pub fn fail_next(&self, n: usize, failure: Failure) {
        self.lock().injector.fail_next(n, failure, None);
    }

    /// The next `n` requests of operation `operation_name` fail with `failure`.
    pub fn fail_operation(&self, operation_name: &str, n: usize, failure: Failure) {
        self.lock().injector.fail_next(n, failure, Some(operation_name));
    }

    /// Each request fails with probability `p` with one of `modes`, chosen by a PRNG seeded
    /// with `seed` (the same seed gives the same faults for the same request sequence).
    /// Scripted failures are drawn first. `p = 0` turns random faults off.
    pub fn set_failure_rate(&self, p: f64, seed: u64, modes: Vec<Failure>) {
        self.lock().injector.set_rate(p, seed, modes);
    }

    /// Removes scripted and random failures.
    pub fn clear_failures(&self) {
        self.lock().injector.clear();
    }
}
