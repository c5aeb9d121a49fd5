//! End-to-end: the agent against the fake Linear (which validates every operation against
//! Linear's schema) and a real PostgreSQL. Webhooks go through the real HTTP intake, signed
//! like Linear signs them; the workers are the production ones with short retry delays.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use cutover_agent::worker::{run_one_job, send_one};
use cutover_agent::{FlowContext, FlowState, Intake, PlanningConfig, Stage, Wakeup, WorkerSettings, drain};
use cutover_db_postgres::source::apply_sql;
use cutover_jobs::Store;
use cutover_linear::webhook::{Identity, WebhookSecret};
use cutover_linear::{ClientConfig, Credentials, LinearClient};
use cutover_linear_fake::{DeliveryConfig, DeliveryOutcome, Failure, FakeLinear, IssueRef, Workspace, deliver};
use cutover_test_support::{TestDb, dev_server};
use serde_json::Value;

const SHOP: &str = include_str!("../../../examples/shop/before.sql");
const SHOP_DATA: &str = include_str!("../../../examples/demo/data.sql");
const DEMO_ISSUE: &str = include_str!("../../../examples/demo/issue.md");
const SECRET: &str = "lin_wh_test_secret";

struct Harness {
    fake: FakeLinear,
    ctx: FlowContext,
    settings: WorkerSettings,
    webhook_url: String,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

fn fast_settings(name: &str) -> WorkerSettings {
    WorkerSettings {
        name: name.into(),
        lease: Duration::from_secs(30),
        poll: Duration::from_millis(20),
        job_retry_base: Duration::from_millis(5),
        job_max_attempts: 20,
        outbox_retry_base: Duration::from_millis(5),
        outbox_retry_cap: Duration::from_millis(100),
        outbox_max_attempts: 60,
    }
}

fn client_for(fake: &FakeLinear) -> LinearClient {
    let mut config = ClientConfig::new(fake.url(), Credentials::OAuthToken(fake.oauth_token()));
    config.base_backoff = Duration::from_millis(5);
    config.max_backoff = Duration::from_millis(100);
    config.max_attempts = 10;
    // The fake's resets are milliseconds away; the default floor (1 s) would slow the tests.
    config.wait_bounds.min = Duration::from_millis(1);
    LinearClient::new(config).expect("client")
}

impl Harness {
    async fn new() -> Harness {
        Harness::with_store(None).await
    }

    /// `store`: a PostgreSQL store URL, or None for SQLite in a temp dir.
    async fn with_store(store: Option<String>) -> Harness {
        let db = TestDb::new().await;
        let client = db.connect().await;
        apply_sql(&client, "shop.sql".as_ref(), SHOP).await.expect("shop schema");
        apply_sql(&client, "data.sql".as_ref(), SHOP_DATA).await.expect("shop data");
        client.batch_execute("ANALYZE").await.expect("analyze");
        let fake = FakeLinear::start(Workspace::acme()).await.expect("fake linear");
        let dir = tempfile::tempdir().expect("tempdir");
        let store_url = store.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("cutover.db").display()));
        let store = Store::open(&store_url).await.expect("store");
        let ctx = FlowContext {
            llm: None,
            rollout: None,
            client: client_for(&fake),
            store: store.clone(),
            planning: PlanningConfig::new(db.url(), dev_server(), ".".into()),
            outbox_wakeup: Wakeup::default(),
            github: None,
        };
        let intake = Intake {
            store,
            secret: WebhookSecret::new(SECRET),
            identity: Arc::new(RwLock::new(Identity {
                organization_id: Some(fake.organization_id()),
                app_user_id: Some(fake.app_user_id()),
                mention_handles: vec!["https://linear.app/acme/profiles/cutover".into(), "@cutover".into()],
            })),
            clock: cutover_agent::system_clock(),
            wakeup: Wakeup::default(),
            counters: Default::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let webhook_url = format!("http://{}/webhooks/linear", listener.local_addr().unwrap());
        tokio::spawn(
            async move { axum::serve(listener, cutover_agent::server::router(intake, Default::default())).await },
        );
        Harness { fake, ctx, settings: fast_settings("test-worker"), webhook_url, _db: db, _dir: dir }
    }

    fn file(&self, description: &str) -> IssueRef {
        self.fake.create_issue("ENG", "Schema change", description, &self.fake.human_user_id()).expect("issue")
    }

    async fn deliver(&self, event: &str, payload: &Value) -> DeliveryOutcome {
        deliver(&self.webhook_url, SECRET, event, payload, &DeliveryConfig::scaled(1e-5)).await
    }

    async fn delegate(&self, issue: &IssueRef) -> String {
        let (session, event) = self.fake.delegate_to_app(&issue.identifier).expect("delegate");
        assert!(self.deliver("AgentSessionEvent", &event).await.delivered());
        drain(&self.ctx, &self.settings).await.expect("drain");
        session
    }

    async fn prompt(&self, session: &str, body: &str, signal: Option<&str>) {
        let event = self.fake.prompt(session, body, signal).expect("prompt");
        assert!(self.deliver("AgentSessionEvent", &event).await.delivered());
        drain(&self.ctx, &self.settings).await.expect("drain");
    }

    async fn flow(&self, issue: &IssueRef) -> FlowState {
        serde_json::from_value(self.ctx.store.load_flow(&issue.id).await.unwrap().expect("flow")).unwrap()
    }

    /// (kind, signal, first line of body) of the session's activities from Cutover (not the
    /// human's prompts).
    fn activities(&self, session: &str) -> Vec<(String, Option<String>, String)> {
        let session = self.fake.agent_session(session).expect("session");
        session
            .activities
            .iter()
            .filter(|a| a.kind != "prompt")
            .map(|a| {
                let first = a.body.as_deref().unwrap_or("").lines().next().unwrap_or("").to_string();
                (a.kind.clone(), a.signal.clone(), first)
            })
            .collect()
    }

    /// Top-level comments by Cutover (Linear mirrors session activities as replies in the
    /// session's thread; those are not Cutover's comments).
    fn app_comments(&self, issue: &IssueRef) -> Vec<String> {
        let app = self.fake.app_user_id();
        self.fake
            .comments(&issue.identifier)
            .into_iter()
            .filter(|c| c.user_id == app && c.parent_id.is_none())
            .map(|c| c.body)
            .collect()
    }
}

fn kinds(activities: &[(String, Option<String>, String)]) -> Vec<&str> {
    activities.iter().map(|(k, _, _)| k.as_str()).collect()
}

#[tokio::test]
async fn delegation_to_approved_plan_to_sub_issues_and_labels() {
    let h = Harness::new().await;
    let issue = h.file(DEMO_ISSUE);
    let session = h.delegate(&issue).await;

    // First activity: a thought, well within Linear's 10 s.
    let latency = h.fake.first_activity_latency(&session).expect("an activity");
    assert!(latency < Duration::from_secs(10), "{latency:?}");
    let acts = h.activities(&session);
    assert_eq!(kinds(&acts), ["thought", "elicitation"]);
    assert_eq!(acts[1].1.as_deref(), Some("select"));
    let parent = h.fake.issue(&issue.identifier).unwrap();
    assert_eq!(parent.state.name, "In Progress");

    // The plan comment is the Markdown rendering of the stored plan in Linear's flavour:
    // rollbacks fold as `+++` sections (Linear shows HTML such as `<details>` as text).
    let flow = h.flow(&issue).await;
    assert_eq!(flow.stage, Stage::AwaitingApproval);
    let plan = flow.plan.clone().expect("plan");
    let comments = h.app_comments(&issue);
    assert_eq!(comments.len(), 1);
    let rendered = cutover_plan::planner::render_markdown(&plan, cutover_plan::planner::Flavor::Linear);
    assert!(comments[0].starts_with(&rendered), "{}", comments[0]);
    assert!(comments[0].contains("\n+++ Rollback of expand, newest first\n```sql\n"), "{}", comments[0]);
    assert!(!comments[0].contains("<details>"), "{}", comments[0]);
    assert!(comments[0].contains("ALTER TABLE public.orders DROP COLUMN legacy_ref;"));

    h.prompt(&session, "Approve plan", None).await;
    let parent = h.fake.issue(&issue.identifier).unwrap();
    // One per phase, and the application's: without a repository to search, one before the
    // switch (the retyped column) and one before the contract (the dropped one).
    assert_eq!(parent.children.len(), plan.phases.len() + 2);
    assert!(parent.labels.contains(&"schema-change".to_string()), "{:?}", parent.labels);
    assert!(parent.labels.contains(&"zero-downtime".to_string()));
    assert!(parent.labels.contains(&"data-integrity".to_string()), "drops legacy_ref");
    let phases: Vec<_> = plan.phases.iter().map(|p| p.name.as_str()).collect();
    let phase_children: Vec<_> =
        parent.children.iter().filter(|c| h.fake.issue(c).unwrap().title.contains(" · phase ")).collect();
    assert_eq!(phase_children.len(), phases.len());
    for (child, phase) in phase_children.into_iter().zip(&phases) {
        let sub = h.fake.issue(child).unwrap();
        assert!(sub.title.contains(&format!(": {phase} (")), "{}", sub.title);
        let description = sub.description.unwrap_or_default();
        assert!(description.contains("### Checklist"), "{description}");
        assert!(description.contains("```sql"), "{description}");
        assert_eq!(sub.parent.as_deref(), Some(issue.identifier.as_str()));
    }
    // Sub-issues block each other in rollout order.
    let relations: Vec<(String, String)> =
        h.fake.relations().into_iter().map(|r| (r.issue.clone(), r.related_issue.clone())).collect();
    let expected: Vec<(String, String)> = parent.children.windows(2).map(|w| (w[0].clone(), w[1].clone())).collect();
    assert_eq!(relations, expected);
    let acts = h.activities(&session);
    assert_eq!(acts.last().unwrap().0, "response");
    assert_eq!(
        acts.last().unwrap().2,
        "Plan approved. I created 4 sub-issue(s), one per phase (expand → backfill → switch → contract) and 2 for the application's work (\"Update application queries and ORM models (before switch)\", \"Update application queries and ORM models (before contract)\"), placed before the phases that need it, each blocking the next, and labelled the issue `schema-change`, `zero-downtime`, `backfill`, `high-risk`, `data-integrity`. Run each phase when its sub-issue is unblocked."
    );
    assert_eq!(h.fake.agent_session(&session).unwrap().status, "complete");
    assert_eq!(h.flow(&issue).await.stage, Stage::Approved);
    // Exactly one of each write.
    assert_eq!(h.fake.write_count("commentCreate"), 1);
    assert_eq!(h.fake.write_count("issueCreate"), plan.phases.len() + 2);
}

#[tokio::test]
async fn a_follow_up_prompt_replans_from_the_edited_issue() {
    let h = Harness::new().await;
    let issue = h.file(DEMO_ISSUE);
    let session = h.delegate(&issue).await;
    // The requester drops the destructive part and asks again.
    let edited = DEMO_ISSUE
        .replace("ALTER TABLE orders DROP COLUMN legacy_ref;\n", "")
        .replace("additive, backfill, destructive", "additive");
    let human = LinearClient::new(ClientConfig::new(h.fake.url(), Credentials::ApiKey(h.fake.api_key()))).unwrap();
    human
        .issue_update(
            &issue.id,
            &cutover_linear::types::IssueUpdateInput { description: Some(edited), ..Default::default() },
        )
        .await
        .unwrap();
    h.prompt(&session, "Request changes: keep legacy_ref for now, I edited the description.", None).await;
    let comments = h.app_comments(&issue);
    assert_eq!(comments.len(), 2, "a second plan: {:?} {:?}", h.activities(&session), h.flow(&issue).await.stage);
    assert!(comments[0].contains("DROP COLUMN legacy_ref"));
    assert!(!comments[1].contains("DROP COLUMN legacy_ref"), "{}", comments[1]);
    let flow = h.flow(&issue).await;
    assert_eq!((flow.stage, flow.revision), (Stage::AwaitingApproval, 2));
    let acts = h.activities(&session);
    assert_eq!(acts.iter().filter(|a| a.0 == "elicitation").count(), 2);
    assert!(acts.iter().any(|a| a.2.starts_with("Re-reading")), "{acts:?}");
}

#[tokio::test]
async fn request_changes_without_text_asks_what_to_change() {
    let h = Harness::new().await;
    let issue = h.file(DEMO_ISSUE);
    let session = h.delegate(&issue).await;
    h.prompt(&session, "Request changes", None).await;
    let acts = h.activities(&session);
    assert_eq!(acts.last().unwrap().0, "elicitation");
    assert!(acts.last().unwrap().2.starts_with("What should change?"), "{acts:?}");
    assert_eq!(h.flow(&issue).await.stage, Stage::AwaitingInput);
    assert_eq!(h.app_comments(&issue).len(), 1);
}

#[tokio::test]
async fn the_stop_signal_ends_the_session_and_writes_nothing_more() {
    let h = Harness::new().await;
    let issue = h.file(DEMO_ISSUE);
    let session = h.delegate(&issue).await;
    h.prompt(&session, "Stop", Some("stop")).await;
    let acts = h.activities(&session);
    let last = acts.last().unwrap();
    assert_eq!((last.0.as_str(), last.2.as_str()), ("response", crate_stopped().as_str()));
    assert_eq!(h.fake.agent_session(&session).unwrap().status, "complete");
    assert_eq!(h.flow(&issue).await.stage, Stage::Stopped);
    assert!(h.fake.issue(&issue.identifier).unwrap().children.is_empty());
}

#[tokio::test]
async fn a_stop_that_arrives_while_the_plan_is_made_wins_over_the_plan() {
    let h = Harness::new().await;
    let issue = h.file(DEMO_ISSUE);
    // Both webhooks are stored before any job runs: the stop is queued while the delegation's
    // planning job is still to finish.
    let (session, delegated) = h.fake.delegate_to_app(&issue.identifier).expect("delegate");
    assert!(h.deliver("AgentSessionEvent", &delegated).await.delivered());
    let stop = h.fake.prompt(&session, "Stop", Some("stop")).expect("prompt");
    assert!(h.deliver("AgentSessionEvent", &stop).await.delivered());
    drain(&h.ctx, &h.settings).await.expect("drain");

    let kinds: Vec<_> = h.activities(&session).into_iter().map(|(kind, _, first)| (kind, first)).collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert_eq!(kinds[0].0, "thought", "the acknowledgement still goes out at once");
    assert_eq!((kinds[1].0.as_str(), kinds[1].1.as_str()), ("response", crate_stopped().as_str()));
    assert!(h.app_comments(&issue).is_empty(), "no plan is posted after a stop");
    assert_eq!(h.flow(&issue).await.stage, Stage::Stopped);
    assert_eq!(h.fake.agent_session(&session).unwrap().status, "complete");
}

#[tokio::test]
async fn a_delegation_made_while_cutover_was_down_is_taken_up_once() {
    let h = Harness::new().await;
    let issue = h.file(DEMO_ISSUE);
    let done = h.file(DEMO_ISSUE);
    // Both delegated; only `done`'s webhook arrives (and is handled). `issue`'s is late.
    let (session, late_webhook) = h.fake.delegate_to_app(&issue.identifier).expect("delegate");
    h.delegate(&done).await;
    let comments_on_done = h.app_comments(&done).len();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let started = chrono::Utc::now(); // Cutover starts after both delegations
    tokio::time::sleep(Duration::from_millis(5)).await;
    // Delegated after the start: its webhook comes to the running process; not taken up.
    let later = h.file(DEMO_ISSUE);
    h.fake.delegate_to_app(&later.identifier).expect("delegate");

    let queued = cutover_agent::reconcile::missed_delegations(&h.ctx, &h.fake.app_user_id(), started).await.unwrap();
    assert_eq!(queued, std::slice::from_ref(&issue.identifier), "only the issue Cutover never saw");
    drain(&h.ctx, &h.settings).await.expect("drain");
    let comments = h.app_comments(&issue);
    assert_eq!(comments.len(), 1, "the plan, posted as a comment (there is no session): {comments:?}");
    assert!(comments[0].contains("Phase 1 of"), "{}", comments[0]);
    assert_eq!(h.flow(&issue).await.stage, Stage::AwaitingApproval);

    // A second look finds nothing new.
    let again = cutover_agent::reconcile::missed_delegations(&h.ctx, &h.fake.app_user_id(), started).await.unwrap();
    assert!(again.is_empty(), "{again:?}");
    drain(&h.ctx, &h.settings).await.expect("drain");
    assert_eq!(h.app_comments(&issue).len(), 1);
    assert_eq!(h.app_comments(&done).len(), comments_on_done);

    // Linear's retry of the lost webhook arrives at last: the session joins the flow, gets the
    // approval question and no second plan; approving it goes on as usual.
    assert!(h.deliver("AgentSessionEvent", &late_webhook).await.delivered());
    drain(&h.ctx, &h.settings).await.expect("drain");
    assert_eq!(h.app_comments(&issue).len(), 1, "no second plan");
    let acts = h.activities(&session);
    assert_eq!(kinds(&acts), ["thought", "elicitation"]);
    assert_eq!(acts[0].2, cutover_agent::messages::plan_already_posted(&issue.identifier));
    assert_eq!(acts[1].1.as_deref(), Some("select"));
    h.prompt(&session, "Approve plan", None).await;
    assert_eq!(h.flow(&issue).await.stage, Stage::Approved);
    assert!(!h.fake.issue(&issue.identifier).unwrap().children.is_empty(), "sub-issues created");
}

fn crate_stopped() -> String {
    cutover_agent::messages::stopped().lines().next().unwrap().to_string()
}

#[tokio::test]
async fn missing_template_fields_get_one_elicitation_listing_them() {
    let h = Harness::new().await;
    let issue = h.file("## Objective\nTrack refunds.\n");
    let session = h.delegate(&issue).await;
    let session_view = h.fake.agent_session(&session).unwrap();
    let app: Vec<_> = session_view.activities.iter().filter(|a| a.kind != "prompt").collect();
    assert_eq!(app.iter().map(|a| a.kind.as_str()).collect::<Vec<_>>(), ["thought", "elicitation"]);
    let body = app[1].body.clone().unwrap();
    // An objective without DDL is one to draft for; without a model, what drafting needs.
    let expected = cutover_request::parse("## Objective\nTrack refunds.\n").elicitation().unwrap();
    assert_eq!(body, format!("{}\n\n{}", expected.trim_end(), cutover_draft::WITHOUT_MODEL));
    for field in ["Proposed schema changes", "Migration type", "Downtime tolerance"] {
        assert!(body.contains(field), "{field} missing from: {body}");
    }
    assert!(h.app_comments(&issue).is_empty(), "no plan without a request");
    assert_eq!(h.flow(&issue).await.stage, Stage::AwaitingInput);
    assert_eq!(h.fake.agent_session(&session).unwrap().status, "awaitingInput");
}

#[tokio::test]
async fn bad_sql_gets_an_error_activity_with_postgres_message_and_line() {
    let h = Harness::new().await;
    let description = "## Objective\nx\n\n## Proposed schema changes\n```sql\nALTER TABLE orders ADD COLUMN note text;\nALTER TABLE orders DROP COLUMN no_such_column;\n```\n\n## Migration type\nadditive\n\n## Downtime tolerance\nzero-downtime\n";
    let issue = h.file(description);
    let session = h.delegate(&issue).await;
    let view = h.fake.agent_session(&session).unwrap();
    let error = view.activities.iter().find(|a| a.kind == "error").expect("an error activity");
    let body = error.body.clone().unwrap();
    // The DROP is on line 7 of the description.
    assert_eq!(
        body,
        "The SQL in **Proposed schema changes** does not apply to the current schema. PostgreSQL says, at line 7 of the issue description (column 1):\n\n```text\nERROR: column \"no_such_column\" of relation \"orders\" does not exist\n```\n\nFix the SQL in the description, then reply here (or mention Cutover) to plan again."
    );
    assert_eq!(view.status, "error");
    assert!(h.app_comments(&issue).is_empty());
}

#[tokio::test]
async fn a_worker_killed_mid_flow_leaves_nothing_lost_or_doubled() {
    let h = Harness::new().await;
    let issue = h.file(DEMO_ISSUE);
    let (session, event) = h.fake.delegate_to_app(&issue.identifier).unwrap();
    assert!(h.deliver("AgentSessionEvent", &event).await.delivered());

    // Worker A claims the job with a short lease, decides and queues its writes, then dies
    // before marking the job done.
    let dying = WorkerSettings { lease: Duration::from_millis(200), ..fast_settings("worker-a") };
    let job = h.ctx.store.claim_job(&dying.name, dying.lease).await.unwrap().expect("job");
    cutover_agent::flow::run_job(&h.ctx, &job).await.expect("decided");
    // It also sent two writes, the second of which landed but was never marked done.
    assert!(send_one(&h.ctx.client, None, &h.ctx.store, &dying).await.unwrap());
    let item = h.ctx.store.outbox_claim(&dying.name, dying.lease).await.unwrap().expect("a write");
    let sent = cutover_agent::writes::send(&h.ctx.client, None, &item, Duration::ZERO, Duration::ZERO).await;
    assert!(matches!(sent, cutover_agent::writes::Sent::Done(_)), "{sent:?}");
    // (worker A is gone)
    tokio::time::sleep(Duration::from_millis(250)).await;

    // Worker B takes over after the leases ran out.
    let b = fast_settings("worker-b");
    while run_one_job(&h.ctx, &b).await.unwrap() {}
    drain(&h.ctx, &b).await.unwrap();
    assert_eq!(h.app_comments(&issue).len(), 1, "one plan comment");
    let acts = h.activities(&session);
    assert_eq!(kinds(&acts), ["thought", "elicitation"], "{acts:?}");
    assert_eq!(h.fake.write_count("agentActivityCreate"), 2);

    h.prompt(&session, "Approve plan", None).await;
    let plan = h.flow(&issue).await.plan.unwrap();
    assert_eq!(h.fake.write_count("issueCreate"), plan.phases.len() + 2);
    assert_eq!(h.fake.write_count("commentCreate"), 1);
}

#[tokio::test]
async fn with_30_percent_of_linear_calls_failing_everything_lands_once() {
    let h = Harness::new().await;
    let issue = h.file(DEMO_ISSUE);
    h.fake.set_failure_rate(
        0.3,
        7,
        vec![
            Failure::RateLimited { reset_after_ms: 5 },
            Failure::TooManyRequests,
            Failure::ServerError,
            Failure::LostResponse,
        ],
    );
    let session = h.delegate(&issue).await;
    h.prompt(&session, "Approve plan", None).await;
    h.fake.clear_failures();

    let failed_requests = h.fake.requests().iter().filter(|r| r.status != 200).count();
    assert!(failed_requests >= 5, "the faults were injected: {failed_requests}");
    let plan = h.flow(&issue).await.plan.unwrap();
    assert_eq!(h.app_comments(&issue).len(), 1);
    let parent = h.fake.issue(&issue.identifier).unwrap();
    // One per phase, and the application's: without a repository to search, one before the
    // switch (the retyped column) and one before the contract (the dropped one).
    assert_eq!(parent.children.len(), plan.phases.len() + 2);
    assert_eq!(h.fake.relations().len(), plan.phases.len() + 1);
    let acts = h.activities(&session);
    assert_eq!(kinds(&acts), ["thought", "elicitation", "response"], "{acts:?}");
    let labels: Vec<_> = h.fake.labels().into_iter().map(|l| l.name).collect();
    let mut unique = labels.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(labels.len(), unique.len(), "no label created twice: {labels:?}");
    let stats = h.ctx.store.stats().await.unwrap();
    assert_eq!((stats.outbox_failed, stats.jobs_failed), (0, 0));
}

#[tokio::test]
async fn the_postgres_store_runs_the_same_flow() {
    let store_db = TestDb::new().await;
    let h = Harness::with_store(Some(store_db.url())).await;
    let issue = h.file(DEMO_ISSUE);
    let session = h.delegate(&issue).await;
    h.prompt(&session, "Approve plan", None).await;
    let plan = h.flow(&issue).await.plan.unwrap();
    assert_eq!(h.fake.issue(&issue.identifier).unwrap().children.len(), plan.phases.len() + 2);
    assert_eq!(h.app_comments(&issue).len(), 1);
}

#[tokio::test]
async fn api_key_installs_follow_issue_and_comment_webhooks() {
    let h = Harness::new().await;
    let issue = h.file(DEMO_ISSUE);
    // Assignment through the issue (no agent session): the plan arrives as comments.
    let event = h.fake.issue_updated_delegated(&issue.identifier).unwrap();
    assert!(h.deliver("Issue", &event).await.delivered());
    drain(&h.ctx, &h.settings).await.unwrap();
    let comments = h.app_comments(&issue);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].contains("Reply mentioning Cutover with **approve**"), "{}", comments[0]);
    // A comment that mentions Cutover approves.
    let event = h.fake.comment_mentioning_app(&issue.identifier, "approve, thanks").unwrap();
    assert!(h.deliver("Comment", &event).await.delivered());
    drain(&h.ctx, &h.settings).await.unwrap();
    let comments = h.app_comments(&issue);
    assert_eq!(comments.len(), 2);
    assert!(comments[1].starts_with("Plan approved."), "{}", comments[1]);
    assert!(!h.fake.issue(&issue.identifier).unwrap().children.is_empty());
}

/// RENAME COLUMN and RENAME TO in the request are planned as renames (the column through
/// expand/contract with a sync trigger, the table with a view under its old name), never as
/// the drop and add the catalogs alone show.
#[tokio::test]
async fn renames_in_the_request_are_planned_as_renames() {
    let h = Harness::new().await;
    let description = "## Objective\nClearer names.\n\n## Proposed schema changes\n```sql\nALTER TABLE customers RENAME COLUMN name TO full_name;\nALTER TABLE products RENAME TO catalog_items;\n```\n\n## Migration type\nrefactor\n\n## Downtime tolerance\nzero-downtime\n";
    let issue = h.file(description);
    h.delegate(&issue).await;
    let plan = h.flow(&issue).await.plan.expect("plan");
    let sql: Vec<&str> = plan.phases.iter().flat_map(|p| &p.steps).map(|s| s.sql.as_str()).collect();
    let all = sql.join("\n");
    assert!(all.contains("ALTER TABLE public.products RENAME TO catalog_items"), "{all}");
    assert!(all.contains("CREATE VIEW public.products AS"), "{all}");
    assert!(all.contains("ALTER TABLE public.customers ADD COLUMN full_name text"), "{all}");
    // Nothing is dropped but the old column (in contract, after the backfill and the switch)
    // and the compatibility view.
    let drops: Vec<&str> = all.lines().filter(|l| l.contains("DROP TABLE") || l.contains("DROP COLUMN")).collect();
    assert_eq!(drops, ["ALTER TABLE public.customers DROP COLUMN name"], "{all}");
    assert!(all.lines().any(|l| l == "DROP VIEW public.products"), "{all}");
    assert_eq!(plan.phases.last().unwrap().name.to_string(), "contract");
}

#[tokio::test]
async fn a_desired_schema_path_in_the_repository_is_planned() {
    let mut h = Harness::new().await;
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join("db")).unwrap();
    std::fs::write(repo.path().join("db/schema.sql"), include_str!("../../../examples/shop/after.sql")).unwrap();
    h.ctx.planning.repo_dir = repo.path().to_path_buf();
    let description = "## Objective\nShip the new shop schema.\n\n## Proposed schema changes\nDesired schema: `db/schema.sql`\n\n## Migration type\nadditive, destructive\n\n## Downtime tolerance\nzero-downtime\n";
    let issue = h.file(description);
    h.delegate(&issue).await;
    let comments = h.app_comments(&issue);
    assert_eq!(comments.len(), 1);
    for sql in [
        "ALTER TYPE public.order_status ADD VALUE IF NOT EXISTS 'refunded' AFTER 'shipped';",
        "ALTER TABLE public.orders DROP COLUMN legacy_ref;",
    ] {
        assert!(comments[0].contains(sql), "{sql} missing from {}", comments[0]);
    }
}

#[tokio::test]
async fn a_write_linear_refuses_becomes_an_error_activity_and_the_rest_goes_on() {
    let h = Harness::new().await;
    let issue = h.file(DEMO_ISSUE);
    let session = h.delegate(&issue).await;
    // The workspace restricts label management: creating labels is refused.
    h.fake.fail_operation("IssueLabelCreate", 100, Failure::Forbidden("Only admins can create labels".into()));
    h.prompt(&session, "Approve plan", None).await;
    h.fake.clear_failures();
    let acts = h.activities(&session);
    let errors: Vec<_> = acts.iter().filter(|a| a.0 == "error").collect();
    assert!(!errors.is_empty(), "{acts:?}");
    assert_eq!(
        errors[0].2,
        "Cutover could not create its labels: Linear refused the operation: Only admins can create labels. The workspace may restrict label management to admins: ask an admin to create these labels once: `schema-change`, `zero-downtime`, `backfill`, `high-risk`, `data-integrity`. The sub-issues are created without them."
    );
    // The sub-issues exist all the same, without the labels that could not be made.
    let plan = h.flow(&issue).await.plan.unwrap();
    let parent = h.fake.issue(&issue.identifier).unwrap();
    // One per phase, and the application's: without a repository to search, one before the
    // switch (the retyped column) and one before the contract (the dropped one).
    assert_eq!(parent.children.len(), plan.phases.len() + 2);
    assert!(parent.labels.is_empty(), "{:?}", parent.labels);
    assert_eq!(errors.len(), 1, "one report for all labels: {acts:?}");
    assert_eq!(h.fake.write_count("issueLabelCreate"), 0);
    // The final response does not claim the labels it could not put on the issue.
    let response = &acts.iter().rfind(|a| a.0 == "response").expect("a final response").2;
    assert_eq!(
        response,
        "Plan approved. I created 4 sub-issue(s), one per phase (expand → backfill → switch → contract) and 2 for the application's work (\"Update application queries and ORM models (before switch)\", \"Update application queries and ORM models (before contract)\"), placed before the phases that need it, each blocking the next; the labels `schema-change`, `zero-downtime`, `backfill`, `high-risk`, `data-integrity` could not be created in this workspace. Run each phase when its sub-issue is unblocked."
    );
}

#[tokio::test]
async fn two_workers_share_a_postgres_queue_and_each_issue_is_planned_once() {
    let store_db = TestDb::new().await;
    let h = Harness::with_store(Some(store_db.url())).await;
    let issues: Vec<IssueRef> = (0..4).map(|_| h.file(DEMO_ISSUE)).collect();
    for issue in &issues {
        let (_, event) = h.fake.delegate_to_app(&issue.identifier).unwrap();
        assert!(h.deliver("AgentSessionEvent", &event).await.delivered());
    }
    // Two workers, each with its own store connection, run the job and outbox loops.
    let mut tasks = Vec::new();
    for name in ["w1", "w2"] {
        let ctx = FlowContext { store: Store::open(&store_db.url()).await.unwrap(), ..h.ctx.clone() };
        let settings = fast_settings(name);
        tasks.push(tokio::spawn(async move { drain(&ctx, &settings).await }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    drain(&h.ctx, &h.settings).await.unwrap();
    for issue in &issues {
        assert_eq!(h.app_comments(issue).len(), 1, "{}", issue.identifier);
    }
    assert_eq!(h.fake.write_count("commentCreate"), 4);
    assert_eq!(h.fake.write_count("agentActivityCreate"), 8);
}
