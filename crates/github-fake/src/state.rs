//! The fake's memory: credentials, repositories (objects, branches, pull requests, comments),
//! the request log and the failure injector.

use std::collections::{BTreeMap, HashMap};

use crate::failures::Injector;
use crate::git::Objects;

#[derive(Debug)]
pub(crate) struct App {
    pub id: String,
    /// DER `RSAPublicKey` that verifies the app's JWTs.
    pub public_key: Vec<u8>,
    pub installation_id: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Pull {
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub head: String,
    pub base: String,
    pub state: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone)]
pub(crate) struct IssueComment {
    pub id: u64,
    pub number: u64,
    pub body: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Default)]
pub(crate) struct Repository {
    pub owner: String,
    pub name: String,
    pub default_branch: String,
    pub objects: Objects,
    pub branches: BTreeMap<String, String>,
    pub pulls: Vec<Pull>,
    pub comments: Vec<IssueComment>,
}

/// One request as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    /// The path with its query string.
    pub path: String,
    pub status: u16,
    /// Whether it changed the fake's state (a write that succeeded, also when its answer was
    /// then lost by an injected fault).
    pub applied: bool,
    /// The injected fault, if any (`"server_error"`, `"lost_response"`, ...).
    pub fault: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub tokens: Vec<String>,
    pub app: Option<App>,
    /// Installation tokens: token → expiry (epoch seconds).
    pub installation_tokens: HashMap<String, i64>,
    pub repos: BTreeMap<String, Repository>,
    pub next_id: u64,
    pub requests: Vec<RequestRecord>,
    pub injector: Injector,
    /// Requests left in the primary budget before every request is refused (None: unlimited).
    pub budget: Option<u64>,
}

impl State {
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn repo(&self, owner: &str, name: &str) -> Option<&Repository> {
        self.repos.get(&key(owner, name))
    }

    pub fn repo_mut(&mut self, owner: &str, name: &str) -> Option<&mut Repository> {
        self.repos.get_mut(&key(owner, name))
    }
}

/// Repository names are case-insensitive on GitHub.
pub(crate) fn key(owner: &str, name: &str) -> String {
    format!("{}/{}", owner.to_ascii_lowercase(), name.to_ascii_lowercase())
}
