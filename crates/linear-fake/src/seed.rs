//! Seeding: the workspace a fake starts with.
//!
//! Ids are fixed (the ones of `tests/linear-examples` where those files name them, derived
//! from a seed string otherwise), so tests can assert exact ids and URLs.

use crate::state::{Credentials, Label, Organization, State, Team, User, WorkflowState, seeded_uuid};

/// Ids of the default workspace, shared with `tests/linear-examples`.
pub mod ids {
    pub const ORGANIZATION: &str = "5d0e6f3a-1b2c-4d3e-8f4a-9b0c1d2e3f4a";
    pub const OAUTH_CLIENT: &str = "9c8b7a6f-5e4d-4c3b-8a29-1f0e9d8c7b6a";
    pub const WEBHOOK_SUBSCRIPTION: &str = "0f4c9d2e-7a1b-4c3d-9e8f-6a5b4c3d2e1f";
    pub const HUMAN: &str = "4e86b2c7-0a24-412d-bf38-156e073ab384";
    pub const APP_USER: &str = "7b3f0c1e-2d4a-4b5c-9d6e-8f7a6b5c4d3e";
    pub const TEAM_ENG: &str = "a3b1c2d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
    pub const STATE_TODO: &str = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f";
    pub const LABEL_SCHEMA_CHANGE: &str = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b";
}

/// The standard workflow of a team: (name, type, position, color).
const WORKFLOW: &[(&str, &str, f64, &str)] = &[
    ("Backlog", "backlog", 0.0, "#bec2c8"),
    ("Todo", "unstarted", 1.0, "#e2e2e2"),
    ("In Progress", "started", 2.0, "#f2c94c"),
    ("In Review", "started", 3.0, "#0f783c"),
    ("Done", "completed", 4.0, "#5e6ad2"),
    ("Canceled", "canceled", 5.0, "#95a2b3"),
];

#[derive(Debug, Clone)]
struct TeamSeed {
    key: String,
    name: String,
    triage: bool,
    first_number: u64,
    guidance: Vec<String>,
}

#[derive(Debug, Clone)]
struct LabelSeed {
    name: String,
    color: String,
    team_key: Option<String>,
    group: Option<String>,
    is_group: bool,
}

/// A workspace description; [`Workspace::acme`] (also `Default`) is the standard one:
/// organization "Acme" (`urlKey` "acme"), team ENG with the standard workflow, the human
/// Priya Raman (admin, owner of the API key) and the app user "Cutover" (`app: true`, owner
/// of the OAuth token).
#[derive(Clone)]
pub struct Workspace {
    org_name: String,
    url_key: String,
    oauth_client_id: String,
    app_name: String,
    api_key: String,
    oauth_token: String,
    teams: Vec<TeamSeed>,
    labels: Vec<LabelSeed>,
    request_limit: Option<u64>,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials stay out of logs, fake or not.
        f.debug_struct("Workspace")
            .field("url_key", &self.url_key)
            .field("teams", &self.teams)
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Workspace::acme()
    }
}

impl Workspace {
    pub fn acme() -> Self {
        Workspace {
            org_name: "Acme".into(),
            url_key: "acme".into(),
            oauth_client_id: ids::OAUTH_CLIENT.into(),
            app_name: "Cutover".into(),
            api_key: "lin_api_fake_priya_0123456789abcdef".into(),
            oauth_token: "lin_oauth_fake_cutover_0123456789abcdef".into(),
            teams: vec![TeamSeed {
                key: "ENG".into(),
                name: "Engineering".into(),
                triage: false,
                first_number: 1,
                guidance: Vec::new(),
            }],
            labels: Vec::new(),
            request_limit: None,
        }
    }

    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = key.into();
        self
    }

    pub fn oauth_token(mut self, token: impl Into<String>) -> Self {
        self.oauth_token = token.into();
        self
    }

    /// Another team with the standard workflow.
    pub fn team(mut self, key: &str, name: &str) -> Self {
        self.teams.push(TeamSeed {
            key: key.to_uppercase(),
            name: name.into(),
            triage: false,
            first_number: 1,
            guidance: Vec::new(),
        });
        self
    }

    /// Adds a Triage state to a team (where Linear puts issues created by integrations).
    pub fn triage(mut self, team_key: &str) -> Self {
        if let Some(team) = self.team_mut(team_key) {
            team.triage = true;
        }
        self
    }

    /// The number the team's next issue gets (ENG-123 after `next_issue_number("ENG", 123)`).
    pub fn next_issue_number(mut self, team_key: &str, number: u64) -> Self {
        if let Some(team) = self.team_mut(team_key) {
            team.first_number = number.max(1);
        }
        self
    }

    /// A team guidance rule, sent in `AgentSessionEvent.guidance` and the prompt context.
    pub fn guidance(mut self, team_key: &str, body: &str) -> Self {
        if let Some(team) = self.team_mut(team_key) {
            team.guidance.push(body.into());
        }
        self
    }

    /// A pre-existing label: workspace-level with `team_key: None`. `schema-change` in the
    /// workspace gets the id of the example files.
    pub fn label(mut self, name: &str, color: &str, team_key: Option<&str>) -> Self {
        self.labels.push(LabelSeed {
            name: name.into(),
            color: color.into(),
            team_key: team_key.map(str::to_uppercase),
            group: None,
            is_group: false,
        });
        self
    }

    /// A label group (not applicable to issues itself) and its child labels.
    pub fn label_group(mut self, group: &str, children: &[&str], team_key: Option<&str>) -> Self {
        let team_key = team_key.map(str::to_uppercase);
        self.labels.push(LabelSeed {
            name: group.into(),
            color: "#95a2b3".into(),
            team_key: team_key.clone(),
            group: None,
            is_group: true,
        });
        for child in children {
            self.labels.push(LabelSeed {
                name: (*child).into(),
                color: "#bec2c8".into(),
                team_key: team_key.clone(),
                group: Some(group.into()),
                is_group: false,
            });
        }
        self
    }

    /// Overrides the per-hour request budget of every caller (to test running out of it).
    pub fn request_limit(mut self, requests_per_hour: u64) -> Self {
        self.request_limit = Some(requests_per_hour);
        self
    }

    fn team_mut(&mut self, key: &str) -> Option<&mut TeamSeed> {
        self.teams.iter_mut().find(|t| t.key.eq_ignore_ascii_case(key))
    }

    pub(crate) fn build(&self) -> State {
        let mut placeholder = State::new(
            Organization {
                id: ids::ORGANIZATION.into(),
                name: self.org_name.clone(),
                url_key: self.url_key.clone(),
                oauth_client_id: self.oauth_client_id.clone(),
                webhook_subscription_id: ids::WEBHOOK_SUBSCRIPTION.into(),
                created: dummy_stamp(),
            },
            Credentials {
                api_key: self.api_key.clone(),
                api_key_user: ids::HUMAN.into(),
                oauth_token: self.oauth_token.clone(),
                oauth_user: ids::APP_USER.into(),
                client_id: self.oauth_client_id.clone(),
                client_secret: "lin_client_secret_fake_cutover_0123456789".into(),
                app_token: None,
                tokens_issued: 0,
            },
        );
        let state = &mut placeholder;
        state.org.created = state.stamp();
        state.request_limit_override = self.request_limit;

        let created = state.stamp();
        state.users.insert(
            ids::HUMAN.into(),
            User {
                id: ids::HUMAN.into(),
                name: "Priya Raman".into(),
                display_name: "priya".into(),
                email: "priya@acme.dev".into(),
                app: false,
                admin: true,
                avatar_url: None,
                created,
            },
        );
        let created = state.stamp();
        state.users.insert(
            ids::APP_USER.into(),
            User {
                id: ids::APP_USER.into(),
                name: self.app_name.clone(),
                display_name: self.app_name.to_lowercase(),
                email: format!("{}@oauthapp.linear.app", self.oauth_client_id),
                app: true,
                admin: false,
                avatar_url: None,
                created,
            },
        );

        for seed in &self.teams {
            let team_id =
                if seed.key == "ENG" { ids::TEAM_ENG.to_owned() } else { seeded_uuid(&format!("team:{}", seed.key)) };
            let created = state.stamp();
            state.teams.insert(
                team_id.clone(),
                Team {
                    id: team_id.clone(),
                    key: seed.key.clone(),
                    name: seed.name.clone(),
                    next_number: seed.first_number,
                    guidance: seed.guidance.clone(),
                    created,
                },
            );
            let triage = seed.triage.then_some(("Triage", "triage", -1.0, "#fc7840"));
            for (name, kind, position, color) in triage.into_iter().chain(WORKFLOW.iter().copied()) {
                let id = if seed.key == "ENG" && name == "Todo" {
                    ids::STATE_TODO.to_owned()
                } else {
                    seeded_uuid(&format!("state:{}:{name}", seed.key))
                };
                let created = state.stamp();
                state.states.insert(
                    id.clone(),
                    WorkflowState {
                        id,
                        team_id: team_id.clone(),
                        name: name.into(),
                        kind: kind.into(),
                        position,
                        color: color.into(),
                        created,
                    },
                );
            }
        }

        for seed in &self.labels {
            let team_id = seed.team_key.as_deref().and_then(|k| state.find_team(k)).map(|t| t.id.clone());
            let id = if seed.name == "schema-change" && team_id.is_none() {
                ids::LABEL_SCHEMA_CHANGE.to_owned()
            } else {
                seeded_uuid(&format!("label:{}:{}", seed.team_key.as_deref().unwrap_or("workspace"), seed.name))
            };
            let parent_id = seed.group.as_deref().and_then(|group| {
                state
                    .labels
                    .values()
                    .find(|l| l.is_group && l.name == group && l.team_id == team_id)
                    .map(|l| l.id.clone())
            });
            let created = state.stamp();
            state.labels.insert(
                id.clone(),
                Label {
                    id,
                    name: seed.name.clone(),
                    color: seed.color.clone(),
                    description: None,
                    is_group: seed.is_group,
                    parent_id,
                    team_id,
                    creator_id: Some(ids::HUMAN.into()),
                    created,
                },
            );
        }
        placeholder
    }
}

fn dummy_stamp() -> crate::state::Stamp {
    crate::state::Stamp { at: chrono::Utc::now(), seq: 0 }
}
