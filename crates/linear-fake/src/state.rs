//! The in-memory workspace: entities, lookups by UUID or human key, the request log and the
//! counters tests inspect.
//!
//! Entities hold ids of each other, never copies, so an update is seen everywhere at once;
//! `views` turns them into GraphQL objects and `domain` holds Linear's rules for changing them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::failures::{Failure, Injector};

pub(crate) type Id = String;

/// When something happened: wall-clock time for the API, plus a sequence number so that
/// entities created within the same millisecond still have a total order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Stamp {
    pub(crate) at: DateTime<Utc>,
    pub(crate) seq: u64,
}

impl Stamp {
    pub(crate) fn iso(&self) -> String {
        iso(self.at)
    }
}

/// Linear's timestamp format: `2026-07-30T14:05:40.402Z`.
pub(crate) fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Debug, Clone)]
pub(crate) struct Organization {
    pub(crate) id: Id,
    pub(crate) name: String,
    pub(crate) url_key: String,
    pub(crate) oauth_client_id: String,
    /// The id of the webhook subscription that delivers events (`webhookId` in payloads; the
    /// same for every delivery, as on Linear).
    pub(crate) webhook_subscription_id: Id,
    pub(crate) created: Stamp,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: Id,
    pub(crate) name: String,
    /// Also the profile slug and the `{username}` of branch names.
    pub(crate) display_name: String,
    pub(crate) email: String,
    pub(crate) app: bool,
    pub(crate) admin: bool,
    pub(crate) avatar_url: Option<String>,
    pub(crate) created: Stamp,
}

#[derive(Debug, Clone)]
pub(crate) struct Team {
    pub(crate) id: Id,
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) next_number: u64,
    pub(crate) guidance: Vec<String>,
    pub(crate) created: Stamp,
}

#[derive(Debug, Clone)]
pub(crate) struct WorkflowState {
    pub(crate) id: Id,
    pub(crate) team_id: Id,
    pub(crate) name: String,
    /// triage | backlog | unstarted | started | completed | canceled | duplicate
    pub(crate) kind: String,
    pub(crate) position: f64,
    pub(crate) color: String,
    pub(crate) created: Stamp,
}

#[derive(Debug, Clone)]
pub(crate) struct Label {
    pub(crate) id: Id,
    pub(crate) name: String,
    pub(crate) color: String,
    pub(crate) description: Option<String>,
    pub(crate) is_group: bool,
    pub(crate) parent_id: Option<Id>,
    /// `None` for a workspace label.
    pub(crate) team_id: Option<Id>,
    pub(crate) creator_id: Option<Id>,
    pub(crate) created: Stamp,
}

/// Values an issue had before the last delegation, for `updatedFrom` in the Issue webhook.
#[derive(Debug, Clone)]
pub(crate) struct DelegationChange {
    pub(crate) updated_at: Stamp,
    pub(crate) delegate_id: Option<Id>,
    pub(crate) assignee_id: Option<Id>,
    pub(crate) subscriber_ids: Vec<Id>,
    pub(crate) actor_id: Id,
}

#[derive(Debug, Clone)]
pub(crate) struct Issue {
    pub(crate) id: Id,
    pub(crate) team_id: Id,
    pub(crate) number: u64,
    pub(crate) identifier: String,
    pub(crate) title: String,
    pub(crate) description: Option<String>,
    pub(crate) priority: i64,
    pub(crate) state_id: Id,
    pub(crate) label_ids: Vec<Id>,
    pub(crate) assignee_id: Option<Id>,
    pub(crate) delegate_id: Option<Id>,
    pub(crate) creator_id: Option<Id>,
    pub(crate) parent_id: Option<Id>,
    pub(crate) subscriber_ids: Vec<Id>,
    pub(crate) created: Stamp,
    pub(crate) updated: Stamp,
    pub(crate) started_at: Option<Stamp>,
    pub(crate) completed_at: Option<Stamp>,
    pub(crate) canceled_at: Option<Stamp>,
    pub(crate) last_delegation: Option<DelegationChange>,
}

#[derive(Debug, Clone)]
pub(crate) struct Comment {
    pub(crate) id: Id,
    pub(crate) issue_id: Id,
    pub(crate) parent_id: Option<Id>,
    pub(crate) body: String,
    pub(crate) user_id: Id,
    pub(crate) created: Stamp,
    pub(crate) updated: Stamp,
    pub(crate) edited_at: Option<Stamp>,
}

#[derive(Debug, Clone)]
pub(crate) struct Reaction {
    pub(crate) id: Id,
    pub(crate) emoji: String,
    pub(crate) user_id: Id,
    pub(crate) comment_id: Option<Id>,
    pub(crate) issue_id: Option<Id>,
    pub(crate) created: Stamp,
}

#[derive(Debug, Clone)]
pub(crate) struct Attachment {
    pub(crate) id: Id,
    pub(crate) issue_id: Id,
    pub(crate) url: String,
    pub(crate) title: String,
    pub(crate) subtitle: Option<String>,
    pub(crate) source_type: Option<String>,
    pub(crate) metadata: Value,
    pub(crate) creator_id: Id,
    pub(crate) created: Stamp,
    pub(crate) updated: Stamp,
}

#[derive(Debug, Clone)]
pub(crate) struct Relation {
    pub(crate) id: Id,
    pub(crate) issue_id: Id,
    pub(crate) related_issue_id: Id,
    pub(crate) kind: String,
    pub(crate) created: Stamp,
}

#[derive(Debug, Clone)]
pub(crate) struct ExternalLink {
    pub(crate) label: String,
    pub(crate) url: String,
}

#[derive(Debug, Clone)]
pub(crate) struct AgentSession {
    pub(crate) id: Id,
    pub(crate) issue_id: Id,
    pub(crate) app_user_id: Id,
    pub(crate) creator_id: Option<Id>,
    /// The root comment of the session's thread, if the session has one.
    pub(crate) comment_id: Option<Id>,
    /// pending | active | awaitingInput | complete | error | stale
    pub(crate) status: String,
    pub(crate) created: Stamp,
    /// Monotonic creation time, for the 10 s first-activity rule.
    pub(crate) created_instant: Instant,
    pub(crate) first_response_after: Option<Duration>,
    pub(crate) updated: Stamp,
    pub(crate) started_at: Option<Stamp>,
    pub(crate) ended_at: Option<Stamp>,
    pub(crate) plan: Option<Value>,
    pub(crate) external_links: Vec<ExternalLink>,
}

#[derive(Debug, Clone)]
pub(crate) struct AgentActivity {
    pub(crate) id: Id,
    pub(crate) session_id: Id,
    pub(crate) user_id: Id,
    /// The content object as sent (`{"type": "thought", "body": ...}`).
    pub(crate) content: Value,
    pub(crate) ephemeral: bool,
    pub(crate) signal: Option<String>,
    pub(crate) signal_metadata: Option<Value>,
    pub(crate) source_comment_id: Option<Id>,
    pub(crate) created: Stamp,
}

impl AgentActivity {
    pub(crate) fn kind(&self) -> &str {
        self.content.get("type").and_then(Value::as_str).unwrap_or("")
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Webhook {
    pub(crate) id: Id,
    pub(crate) url: String,
    pub(crate) label: Option<String>,
    pub(crate) resource_types: Vec<String>,
    pub(crate) all_public_teams: bool,
    pub(crate) team_id: Option<Id>,
    pub(crate) secret: String,
    pub(crate) enabled: bool,
    pub(crate) creator_id: Id,
    pub(crate) created: Stamp,
}

/// The two accepted credentials and whom they act as.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub(crate) api_key: String,
    pub(crate) api_key_user: Id,
    pub(crate) oauth_token: String,
    pub(crate) oauth_user: Id,
    /// The OAuth app's client credentials (`grant_type=client_credentials` at /oauth/token).
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    /// The app actor token issued last from the client credentials (one active per app).
    pub(crate) app_token: Option<String>,
    /// How many tokens /oauth/token has issued.
    pub(crate) tokens_issued: u64,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key_user", &self.api_key_user)
            .field("oauth_user", &self.oauth_user)
            .finish_non_exhaustive()
    }
}

/// A per-user leaky-bucket budget, reported in the rate-limit headers.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    pub(crate) window_start_ms: i64,
    pub(crate) requests_used: u64,
    pub(crate) complexity_used: u64,
}

/// One request as the fake saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    /// `operationName` of the request body (or of the only operation in the document).
    pub operation_name: Option<String>,
    pub variables: Value,
    /// HTTP status of the answer.
    pub status: u16,
    pub outcome: Outcome,
}

/// What became of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Executed without errors.
    Ok,
    /// Executed; the answer carries these GraphQL error messages (HTTP 200).
    Errors(Vec<String>),
    /// Missing or unknown `Authorization` header.
    Unauthenticated,
    /// Not valid GraphQL for Linear's schema, or bad variables (HTTP 400).
    Invalid(String),
    /// The user's request budget was spent (HTTP 400 RATELIMITED).
    RateLimited,
    /// Answered with an injected failure.
    Injected(Failure),
}

pub(crate) struct State {
    pub(crate) org: Organization,
    pub(crate) users: BTreeMap<Id, User>,
    pub(crate) human_id: Id,
    pub(crate) app_id: Id,
    pub(crate) teams: BTreeMap<Id, Team>,
    pub(crate) states: BTreeMap<Id, WorkflowState>,
    pub(crate) labels: BTreeMap<Id, Label>,
    pub(crate) issues: BTreeMap<Id, Issue>,
    pub(crate) comments: BTreeMap<Id, Comment>,
    pub(crate) reactions: BTreeMap<Id, Reaction>,
    pub(crate) attachments: BTreeMap<Id, Attachment>,
    pub(crate) relations: BTreeMap<Id, Relation>,
    pub(crate) sessions: BTreeMap<Id, AgentSession>,
    pub(crate) activities: BTreeMap<Id, AgentActivity>,
    pub(crate) webhooks: BTreeMap<Id, Webhook>,
    pub(crate) credentials: Credentials,
    /// Replaces the published per-hour request limits (to test running out of budget).
    pub(crate) request_limit_override: Option<u64>,
    pub(crate) budgets: BTreeMap<Id, Budget>,
    pub(crate) log: Vec<RequestRecord>,
    /// Applied writes per mutation field (`commentCreate` → 3).
    pub(crate) writes: BTreeMap<String, usize>,
    pub(crate) last_sync_id: u64,
    pub(crate) injector: Injector,
    seq: u64,
}

impl State {
    /// An empty workspace around an organization; `seed` fills it.
    pub(crate) fn new(org: Organization, credentials: Credentials) -> Self {
        State {
            org,
            users: BTreeMap::new(),
            human_id: credentials.api_key_user.clone(),
            app_id: credentials.oauth_user.clone(),
            teams: BTreeMap::new(),
            states: BTreeMap::new(),
            labels: BTreeMap::new(),
            issues: BTreeMap::new(),
            comments: BTreeMap::new(),
            reactions: BTreeMap::new(),
            attachments: BTreeMap::new(),
            relations: BTreeMap::new(),
            sessions: BTreeMap::new(),
            activities: BTreeMap::new(),
            webhooks: BTreeMap::new(),
            credentials,
            request_limit_override: None,
            budgets: BTreeMap::new(),
            log: Vec::new(),
            writes: BTreeMap::new(),
            last_sync_id: 1_000,
            injector: Injector::default(),
            seq: 0,
        }
    }

    pub(crate) fn stamp(&mut self) -> Stamp {
        self.seq += 1;
        Stamp { at: Utc::now(), seq: self.seq }
    }

    /// Every applied write advances the workspace's sync id, as `lastSyncId` shows.
    pub(crate) fn bump_sync(&mut self) -> u64 {
        self.last_sync_id += 1;
        self.last_sync_id
    }

    pub(crate) fn org_url(&self) -> String {
        format!("https://linear.app/{}", self.org.url_key)
    }

    pub(crate) fn profile_url(&self, user: &User) -> String {
        format!("{}/profiles/{}", self.org_url(), user.display_name)
    }

    pub(crate) fn issue_url(&self, issue: &Issue) -> String {
        format!("{}/issue/{}/{}", self.org_url(), issue.identifier, slug(&issue.title))
    }

    /// `<username>/<identifier>-<title slug>`, Linear's default branch format, lower-cased.
    pub(crate) fn branch_name(&self, issue: &Issue) -> String {
        let owner = issue
            .assignee_id
            .as_ref()
            .or(issue.creator_id.as_ref())
            .and_then(|id| self.users.get(id))
            .map_or("user", |u| u.display_name.as_str());
        format!("{}/{}-{}", owner.to_lowercase(), issue.identifier.to_lowercase(), slug(&issue.title))
    }

    pub(crate) fn session_url(&self, session: &AgentSession) -> Option<String> {
        let issue = self.issues.get(&session.issue_id)?;
        Some(format!("{}#agent-session-{}", self.issue_url(issue), short_id(&session.id)))
    }

    pub(crate) fn comment_url(&self, comment: &Comment) -> Option<String> {
        let issue = self.issues.get(&comment.issue_id)?;
        Some(format!("{}#comment-{}", self.issue_url(issue), short_id(&comment.id)))
    }

    /// An issue by UUID or by identifier (`ENG-123`, any case), as Linear's `id` arguments accept.
    pub(crate) fn find_issue(&self, key: &str) -> Option<&Issue> {
        if let Some(issue) = self.issues.get(key) {
            return Some(issue);
        }
        let (team_key, number) = key.rsplit_once('-')?;
        let number: u64 = number.parse().ok()?;
        let team = self.find_team(team_key)?;
        self.issues.values().find(|i| i.team_id == team.id && i.number == number)
    }

    pub(crate) fn find_issue_id(&self, key: &str) -> Option<Id> {
        self.find_issue(key).map(|i| i.id.clone())
    }

    /// A team by UUID or key (any case).
    pub(crate) fn find_team(&self, key: &str) -> Option<&Team> {
        self.teams.get(key).or_else(|| self.teams.values().find(|t| t.key.eq_ignore_ascii_case(key)))
    }

    pub(crate) fn team_states(&self, team_id: &str) -> impl Iterator<Item = &WorkflowState> {
        self.states.values().filter(move |s| s.team_id == team_id)
    }

    /// Where an issue created without `stateId` lands, as on Linear: Triage when the team has
    /// it, else the team's first backlog state, else its first state of any kind.
    pub(crate) fn default_state(&self, team_id: &str) -> Option<&WorkflowState> {
        let lowest = |kind: Option<&str>| {
            self.team_states(team_id)
                .filter(|s| kind.is_none_or(|k| s.kind == k))
                .min_by(|a, b| a.position.total_cmp(&b.position))
        };
        lowest(Some("triage")).or_else(|| lowest(Some("backlog"))).or_else(|| lowest(None))
    }

    /// (requests, complexity points) per hour for a caller, as Linear publishes them: API
    /// keys 2,500 / 3,000,000, OAuth 5,000 / 2,000,000, unauthenticated 600 / 100,000.
    pub(crate) fn limits(&self, viewer: Option<&str>) -> (u64, u64) {
        let (requests, complexity) = match viewer {
            Some(v) if v == self.credentials.oauth_user => (5_000, 2_000_000),
            Some(_) => (2_500, 3_000_000),
            None => (600, 100_000),
        };
        (self.request_limit_override.unwrap_or(requests), complexity)
    }

    /// Records one applied write for `counts per mutation`.
    pub(crate) fn count_write(&mut self, mutation: &str) {
        *self.writes.entry(mutation.to_owned()).or_default() += 1;
    }
}

/// Title → URL/branch slug: lower-case ASCII alphanumerics joined by single dashes, cut at a
/// dash to at most 60 characters like Linear's.
pub(crate) fn slug(title: &str) -> String {
    let mut out = String::new();
    for word in title.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        let word = word.to_ascii_lowercase();
        let extra = if out.is_empty() { 0 } else { 1 };
        if out.len() + extra + word.len() > 60 {
            if out.is_empty() {
                out.push_str(&word[..60]);
            }
            break;
        }
        if extra == 1 {
            out.push('-');
        }
        out.push_str(&word);
    }
    out
}

/// The first eight characters of a UUID, as Linear uses in fragment anchors.
pub(crate) fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// A UUID-shaped id derived from a seed string, so seeded workspaces have the same ids in
/// every run (tests can assert them).
pub(crate) fn seeded_uuid(seed: &str) -> Id {
    let digest = Sha256::digest(seed.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    uuid::Uuid::from_bytes(bytes).to_string()
}

pub(crate) fn new_uuid() -> Id {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_matches_linear_urls() {
        assert_eq!(
            slug("Add users.email_verified column (zero-downtime)"),
            "add-users-email-verified-column-zero-downtime"
        );
        assert_eq!(slug("  ??  "), "");
        let long = "word ".repeat(30);
        assert!(slug(&long).len() <= 60);
    }

    #[test]
    fn seeded_uuids_are_stable_and_well_formed() {
        let a = seeded_uuid("team:OPS");
        assert_eq!(a, seeded_uuid("team:OPS"));
        assert_ne!(a, seeded_uuid("team:ENG"));
        let parsed = uuid::Uuid::parse_str(&a).expect("uuid");
        assert_eq!(parsed.get_version_num(), 4);
    }
}
