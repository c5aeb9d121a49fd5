//! A fake GitHub for tests and `cutover demo`: the REST endpoints Cutover uses, over HTTP on a
//! loopback port, answering like GitHub (status codes, `message`/`documentation_url` error
//! bodies, `x-ratelimit-*` headers), with git objects stored under their real SHA-1s.
//!
//! It checks what GitHub checks: the `Authorization` header (a token it issued, an
//! installation token, or a GitHub App JWT verified with the app's public key for the app
//! endpoints), the route (404 otherwise), the body's keys and JSON types (422 `"x" is not a
//! permitted key.` / `"x" wasn't supplied.`), and the git rules Cutover depends on (refs that
//! exist, fast-forwards unless forced, one open pull request per head and base).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use cutover_github_fake::FakeGitHub;
//! let fake = FakeGitHub::start().await?;
//! fake.add_repo("acme/shop", "main", &[("migrations/0001_init.sql", "CREATE TABLE t ();\n")]);
//! // ... the client under test talks to fake.url() with fake.token() ...
//! assert_eq!(fake.pulls("acme/shop").len(), 0);
//! # Ok(()) }
//! ```

mod failures;
mod git;
mod server;
mod state;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

pub use failures::Failure;
pub use state::RequestRecord;

use git::{CommitObject, Object, Signature};
use server::Shared;
use state::{App, Repository, State, key};

/// A running fake. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct FakeGitHub {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl std::fmt::Debug for FakeGitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGitHub").field("url", &self.url()).finish_non_exhaustive()
    }
}

/// A pull request as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullView {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    pub state: String,
    pub html_url: String,
}

/// A commit as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitView {
    pub sha: String,
    pub message: String,
    pub parents: Vec<String>,
    pub author_email: String,
}

impl FakeGitHub {
    /// Serves an empty GitHub on 127.0.0.1 with an ephemeral port; one token is accepted
    /// ([`token`](Self::token)).
    pub async fn start() -> std::io::Result<FakeGitHub> {
        let mut state = State::default();
        state.tokens.push(format!("ghp_fake{:032x}", std::process::id() as u128 * 7919 + 17));
        let shared = Arc::new(Shared { state: Mutex::new(state) });
        let (addr, stop) = server::serve(Arc::clone(&shared)).await?;
        Ok(FakeGitHub { inner: Arc::new(Inner { shared, addr, _stop: stop }) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.shared.lock()
    }

    /// The API root, for `GITHUB_API_URL`: `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// A token the fake accepts (as `GITHUB_TOKEN`).
    pub fn token(&self) -> String {
        self.lock().tokens[0].clone()
    }

    /// Installs a GitHub App on every repository: `app_id` and the DER `RSAPublicKey` its
    /// JWTs verify with. Returns the installation id.
    pub fn install_app(&self, app_id: &str, public_key_der: Vec<u8>) -> u64 {
        let mut state = self.lock();
        let installation_id = 40_000_000 + state.next_id();
        state.app = Some(App { id: app_id.to_string(), public_key: public_key_der, installation_id });
        installation_id
    }

    /// How many installation tokens have been issued.
    pub fn installation_tokens_issued(&self) -> usize {
        self.lock().installation_tokens.len()
    }

    /// Revokes every installation token (they expired early).
    pub fn revoke_installation_tokens(&self) {
        self.lock().installation_tokens.clear();
    }

    /// Creates `owner/name` with one commit on `default_branch` holding `files`.
    pub fn add_repo(&self, full_name: &str, default_branch: &str, files: &[(&str, &str)]) {
        let (owner, name) = full_name.split_once('/').expect("owner/name");
        let mut repo = Repository {
            owner: owner.to_string(),
            name: name.to_string(),
            default_branch: default_branch.to_string(),
            ..Repository::default()
        };
        let mut flat = BTreeMap::new();
        for (path, content) in files {
            let sha = repo.objects.put_blob(content.as_bytes().to_vec());
            flat.insert(path.to_string(), ("100644".to_string(), sha));
        }
        let tree = repo.objects.build(&flat);
        let who = Signature { name: "Octo Cat".into(), email: "octocat@example.com".into(), time: 1_700_000_000 };
        let commit = repo.objects.put_commit(CommitObject {
            tree,
            parents: Vec::new(),
            author: who.clone(),
            committer: who,
            message: "Initial commit\n".into(),
        });
        repo.branches.insert(default_branch.to_string(), commit);
        self.lock().repos.insert(key(owner, name), repo);
    }

    /// Branch name → commit id.
    pub fn branches(&self, full_name: &str) -> BTreeMap<String, String> {
        self.with_repo(full_name, |r| r.branches.clone()).unwrap_or_default()
    }

    /// The commits on `branch` that are not on `base`, newest first.
    pub fn commits_ahead(&self, full_name: &str, branch: &str, base: &str) -> Vec<CommitView> {
        self.with_repo(full_name, |repo| {
            let base_head = repo.branches.get(base).cloned().unwrap_or_default();
            let mut out = Vec::new();
            let mut next = repo.branches.get(branch).cloned();
            while let Some(sha) = next.take() {
                if sha == base_head {
                    break;
                }
                let Some(Object::Commit(c)) = repo.objects.get(&sha) else { break };
                out.push(CommitView {
                    sha: sha.clone(),
                    message: c.message.clone(),
                    parents: c.parents.clone(),
                    author_email: c.author.email.clone(),
                });
                next = c.parents.first().cloned();
            }
            out
        })
        .unwrap_or_default()
    }

    /// How many commit objects the repository holds (reachable or not).
    pub fn commit_objects(&self, full_name: &str) -> usize {
        self.with_repo(full_name, |r| r.objects.commits()).unwrap_or(0)
    }

    /// Every file on `branch`: path → content (lossy UTF-8).
    pub fn files(&self, full_name: &str, branch: &str) -> BTreeMap<String, String> {
        self.with_repo(full_name, |repo| {
            let Some(Object::Commit(c)) = repo.branches.get(branch).and_then(|sha| repo.objects.get(sha)) else {
                return BTreeMap::new();
            };
            repo.objects
                .flatten(&c.tree)
                .into_iter()
                .filter_map(|(path, (_, sha))| match repo.objects.get(&sha) {
                    Some(Object::Blob(bytes)) => Some((path, String::from_utf8_lossy(bytes).into_owned())),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
    }

    /// Moves `branch` to a new commit (by someone else) that sets `path` to `content`.
    pub fn push_file(&self, full_name: &str, branch: &str, path: &str, content: &str, message: &str) {
        self.with_repo_mut(full_name, |repo| {
            let parent = repo.branches.get(branch).cloned();
            let mut flat = match parent.as_ref().and_then(|p| repo.objects.get(p)) {
                Some(Object::Commit(c)) => repo.objects.flatten(&c.tree.clone()),
                _ => BTreeMap::new(),
            };
            let blob = repo.objects.put_blob(content.as_bytes().to_vec());
            flat.insert(path.to_string(), ("100644".into(), blob));
            let tree = repo.objects.build(&flat);
            let who = Signature { name: "Octo Cat".into(), email: "octocat@example.com".into(), time: 1_700_000_100 };
            let commit = repo.objects.put_commit(CommitObject {
                tree,
                parents: parent.into_iter().collect(),
                author: who.clone(),
                committer: who,
                message: format!("{message}\n"),
            });
            repo.branches.insert(branch.to_string(), commit);
        });
    }

    /// Pull requests, oldest first.
    pub fn pulls(&self, full_name: &str) -> Vec<PullView> {
        self.with_repo(full_name, |repo| {
            repo.pulls
                .iter()
                .map(|p| PullView {
                    number: p.number,
                    title: p.title.clone(),
                    body: p.body.clone().unwrap_or_default(),
                    head: p.head.clone(),
                    base: p.base.clone(),
                    state: p.state.clone(),
                    html_url: format!("https://github.com/{}/{}/pull/{}", repo.owner, repo.name, p.number),
                })
                .collect()
        })
        .unwrap_or_default()
    }

    /// The conversation comments of pull request `number`: (id, body), oldest first.
    pub fn comments(&self, full_name: &str, number: u64) -> Vec<(u64, String)> {
        self.with_repo(full_name, |repo| {
            repo.comments.iter().filter(|c| c.number == number).map(|c| (c.id, c.body.clone())).collect()
        })
        .unwrap_or_default()
    }

    /// Every request served, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.lock().requests.clone()
    }

    /// The next `n` requests fail with `failure`.
    pub fn fail_next(&self, n: usize, failure: Failure) {
        self.lock().injector.fail_next(n, failure, None);
    }

    /// The next `n` requests whose "METHOD /path" starts with `route` fail with `failure`
    /// (e.g. `"POST /repos/acme/shop/pulls"`).
    pub fn fail_route(&self, route: &str, n: usize, failure: Failure) {
        self.lock().injector.fail_next(n, failure, Some(route));
    }

    /// Each request fails with probability `p` with one of `modes` (seeded, deterministic for
    /// the same request sequence). `p = 0` turns random faults off.
    pub fn set_failure_rate(&self, p: f64, seed: u64, modes: Vec<Failure>) {
        self.lock().injector.set_rate(p, seed, modes);
    }

    pub fn clear_failures(&self) {
        self.lock().injector.clear();
    }

    /// Only `n` more requests are served before the primary rate limit refuses every request
    /// (403, `x-ratelimit-remaining: 0`); `None` lifts it.
    pub fn set_budget(&self, n: Option<u64>) {
        self.lock().budget = n;
    }

    fn with_repo<T>(&self, full_name: &str, f: impl FnOnce(&Repository) -> T) -> Option<T> {
        let (owner, name) = full_name.split_once('/')?;
        let state = self.lock();
        state.repo(owner, name).map(f)
    }

    fn with_repo_mut<T>(&self, full_name: &str, f: impl FnOnce(&mut Repository) -> T) -> Option<T> {
        let (owner, name) = full_name.split_once('/')?;
        let mut state = self.lock();
        state.repo_mut(owner, name).map(f)
    }
}
