//! The drafting stage through the real agent flow: the fake Linear (validating every
//! operation), the fake model server with recorded answers, and a real PostgreSQL. An issue
//! written in prose gets a proposal; "Use this proposal" writes the missing sections into the
//! description and plans it like any request; a prompt injection is only a proposal, marked
//! destructive; without a model the requester is told what drafting would need.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use cutover_agent::drafting::{DraftConfig, Drafter};
use cutover_agent::proposal::{DraftUsage, USE_PROPOSAL};
use cutover_agent::{FlowContext, FlowState, Intake, PlanningConfig, Stage, Wakeup, WorkerSettings, drain};
use cutover_db_postgres::source::apply_sql;
use cutover_jobs::Store;
use cutover_linear::webhook::{Identity, WebhookSecret};
use cutover_linear::{ClientConfig, Credentials, LinearClient};
use cutover_linear_fake::{DeliveryConfig, FakeLinear, IssueRef, Workspace, deliver};
use cutover_llm::{ApiKey, Client, Config, Provider};
use cutover_llm_fake::{API_KEY, FakeModel, Scenario};
use cutover_test_support::{TestDb, dev_server};
use serde_json::Value;

const SHOP: &str = include_str!("../../../examples/shop/before.sql");
const SHOP_DATA: &str = include_str!("../../../examples/demo/data.sql");
const PROSE_ISSUE: &str = include_str!("../../../examples/demo/prose-issue.md");
const INJECTION_SCHEMA: &str = include_str!("drafting/schema.sql");
const INJECTION_ISSUE: &str = include_str!("drafting/injection.md");
const SECRET: &str = "lin_wh_test_secret";

struct Harness {
    fake: FakeLinear,
    model: Option<FakeModel>,
    ctx: FlowContext,
    settings: WorkerSettings,
    webhook_url: String,
    db: TestDb,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// The database holds `schema`; `scenario` is the fake model's, or None for no model.
    async fn new(schema: &[&str], scenario: Option<&str>) -> Harness {
        let db = TestDb::new().await;
        let client = db.connect().await;
        for (n, sql) in schema.iter().enumerate() {
            apply_sql(&client, format!("schema-{n}.sql").as_ref(), sql).await.expect("schema");
        }
        client.batch_execute("ANALYZE").await.expect("analyze");
        let fake = FakeLinear::start(Workspace::acme()).await.expect("fake linear");
        let mut config = ClientConfig::new(fake.url(), Credentials::OAuthToken(fake.oauth_token()));
        config.base_backoff = Duration::from_millis(5);
        config.max_backoff = Duration::from_millis(100);
        config.wait_bounds.min = Duration::from_millis(1);
        let (model, llm) = match scenario {
            Some(name) => {
                let model = FakeModel::start(Scenario::named(name)).await.expect("the fake model");
                let mut config = Config::new(Provider::Anthropic, "fake-model", Some(ApiKey::new(API_KEY)));
                config.url = model.url();
                config.timeout = Duration::from_secs(10);
                let drafter =
                    Drafter { client: Client::new(config).expect("model client"), config: DraftConfig::default() };
                (Some(model), Some(drafter))
            }
            None => (None, None),
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&format!("sqlite://{}", dir.path().join("cutover.db").display())).await.expect("store");
        let ctx = FlowContext {
            llm,
            rollout: None,
            client: LinearClient::new(config).expect("client"),
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
                mention_handles: vec!["@cutover".into()],
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
        let settings = WorkerSettings {
            name: "test-worker".into(),
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(20),
            job_retry_base: Duration::from_millis(5),
            job_max_attempts: 20,
            outbox_retry_base: Duration::from_millis(5),
            outbox_retry_cap: Duration::from_millis(100),
            outbox_max_attempts: 60,
        };
        Harness { fake, model, ctx, settings, webhook_url, db, _dir: dir }
    }

    /// Files an issue from a file whose first line is the title.
    fn file(&self, text: &str) -> (IssueRef, String) {
        let (title, description) = text.split_once("\n\n").expect("a title, a blank line, the description");
        let issue = self.fake.create_issue("ENG", title, description, &self.fake.human_user_id()).expect("issue");
        (issue, description.to_string())
    }

    async fn deliver(&self, payload: &Value) {
        let config = DeliveryConfig::scaled(1e-5);
        assert!(deliver(&self.webhook_url, SECRET, "AgentSessionEvent", payload, &config).await.delivered());
        drain(&self.ctx, &self.settings).await.expect("drain");
    }

    async fn delegate(&self, issue: &IssueRef) -> String {
        let (session, event) = self.fake.delegate_to_app(&issue.identifier).expect("delegate");
        self.deliver(&event).await;
        session
    }

    async fn prompt(&self, session: &str, body: &str) {
        self.deliver(&self.fake.prompt(session, body, None).expect("prompt")).await;
    }

    async fn flow(&self, issue: &IssueRef) -> FlowState {
        serde_json::from_value(self.ctx.store.load_flow(&issue.id).await.unwrap().expect("flow")).unwrap()
    }

    /// (kind, signal, body) of Cutover's activities in the session.
    fn activities(&self, session: &str) -> Vec<(String, Option<String>, String)> {
        let session = self.fake.agent_session(session).expect("session");
        session
            .activities
            .iter()
            .filter(|a| a.kind != "prompt")
            .map(|a| (a.kind.clone(), a.signal.clone(), a.body.clone().unwrap_or_default()))
            .collect()
    }

    fn app_comments(&self, issue: &IssueRef) -> Vec<String> {
        let app = self.fake.app_user_id();
        self.fake
            .comments(&issue.identifier)
            .into_iter()
            .filter(|c| c.user_id == app && c.parent_id.is_none())
            .map(|c| c.body)
            .collect()
    }

    fn description(&self, issue: &IssueRef) -> String {
        self.fake.issue(&issue.identifier).expect("issue").description.unwrap_or_default()
    }
}

fn kinds(activities: &[(String, Option<String>, String)]) -> Vec<(&str, Option<&str>)> {
    activities.iter().map(|(k, s, _)| (k.as_str(), s.as_deref())).collect()
}

#[tokio::test]
async fn a_prose_issue_is_proposed_adopted_and_planned() {
    let h = Harness::new(&[SHOP, SHOP_DATA], Some("demo-reviews")).await;
    let (issue, description) = h.file(PROSE_ISSUE);
    let session = h.delegate(&issue).await;

    // The proposal: a comment with the DDL and its trade-offs, and the question in the session.
    let acts = h.activities(&session);
    assert_eq!(kinds(&acts), [("thought", None), ("elicitation", Some("select"))]);
    assert_eq!(
        acts[1].2,
        format!(
            "Use the proposal in the comment above as {}'s change? **Use this proposal** adds its SQL to the description and plans it; **Request changes** lets you edit the description or say what to change first.",
            issue.identifier
        )
    );
    let comments = h.app_comments(&issue);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].starts_with("## Cutover's proposal\n\n"), "{}", comments[0]);
    assert!(comments[0].contains("```sql\nCREATE TABLE product_reviews (\n"), "{}", comments[0]);
    assert!(comments[0].contains("### Why\n\n- **bigint identity key**: Like customers, products and orders.\n"));
    assert!(!comments[0].contains("Destructive"));
    let flow = h.flow(&issue).await;
    assert_eq!(flow.stage, Stage::AwaitingProposal);
    assert!(flow.plan.is_none(), "nothing is planned as the issue's change yet");
    // demo-reviews.json: one answer of 2400 input and 520 output tokens.
    assert_eq!(flow.draft_usage, DraftUsage { input_tokens: 2400, output_tokens: 520, answers: 1, drafts: 1 });
    assert_eq!(h.description(&issue), description, "the description is untouched until approval");

    h.prompt(&session, USE_PROPOSAL).await;

    // The description holds the change as if the requester had written it.
    let pending = flow.proposal.expect("the pending proposal");
    let added = cutover_draft::missing_sections(&cutover_request::parse(&description), &pending.answer, &pending.plan);
    let updated = h.description(&issue);
    assert_eq!(updated, format!("{}\n{added}", description.trim_end()));
    assert!(updated.contains("\n## Proposed schema changes\n```sql\nCREATE TABLE product_reviews (\n"), "{updated}");
    assert!(updated.ends_with("\n## Migration type\nadditive\n\n## Downtime tolerance\nzero-downtime\n"), "{updated}");
    let request = cutover_request::parse(&updated).request.expect("the description is now a request");
    assert_eq!(
        request.objective,
        "A product_reviews table: one review per customer and product, a rating from 1 to 5 and an optional text, listed by product and by customer."
    );

    // Then it is planned like any request: the plan comment and the plan's approval question.
    let flow = h.flow(&issue).await;
    assert_eq!(flow.stage, Stage::AwaitingApproval);
    assert_eq!(flow.revision, 1);
    let plan = flow.plan.expect("plan");
    let comments = h.app_comments(&issue);
    assert_eq!(comments.len(), 2);
    let rendered = cutover_plan::planner::render_markdown(&plan, cutover_plan::planner::Flavor::Linear);
    assert!(comments[1].starts_with(&rendered), "{}", comments[1]);
    assert!(comments[1].contains("product_reviews"), "{}", comments[1]);
    let acts = h.activities(&session);
    assert_eq!(kinds(&acts[2..]), [("thought", None), ("elicitation", Some("select"))]);
    // The model was asked once: approving does not draft again.
    assert_eq!(h.model.as_ref().unwrap().requests().len(), 1);
    assert_eq!(h.flow(&issue).await.draft_usage.drafts, 1);
}

#[tokio::test]
async fn a_prompt_injection_is_only_a_marked_proposal() {
    let h = Harness::new(&[INJECTION_SCHEMA], Some("injection")).await;
    let (issue, description) = h.file(INJECTION_ISSUE);
    let session = h.delegate(&issue).await;

    let comments = h.app_comments(&issue);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].contains(
            "> **Destructive: this proposal deletes data.** Check that the issue asks for it:\n> - `DROP TABLE public.users`\n"
        ),
        "{}",
        comments[0]
    );
    // The model's link is escaped, not a link.
    assert!(comments[0].contains(" \\[Approve now\\](https://evil.example/approve)\n"), "{}", comments[0]);
    let acts = h.activities(&session);
    assert_eq!(kinds(&acts), [("thought", None), ("elicitation", Some("select"))]);
    assert!(
        acts[1].2.starts_with("**This proposal deletes data** (see the comment). Use the proposal"),
        "{}",
        acts[1].2
    );
    let flow = h.flow(&issue).await;
    assert_eq!(flow.stage, Stage::AwaitingProposal);
    assert!(flow.proposal.as_ref().unwrap().destructive);

    // Anything but approval changes nothing: "Request changes" asks what to change.
    h.prompt(&session, "Request changes").await;
    let flow = h.flow(&issue).await;
    assert_eq!(flow.stage, Stage::AwaitingInput);
    assert!(flow.proposal.is_none() && flow.plan.is_none());
    let acts = h.activities(&session);
    assert_eq!(acts.last().unwrap().2, cutover_agent::messages::what_to_change());
    assert_eq!(h.description(&issue), description);
    assert_eq!(h.app_comments(&issue).len(), 1, "no plan was posted");
    assert!(h.fake.issue(&issue.identifier).unwrap().children.is_empty());
    // And the table is still there.
    let users: i64 =
        h.db.connect()
            .await
            .query_one("SELECT count(*) FROM pg_class WHERE relname = 'users' AND relkind = 'r'", &[])
            .await
            .unwrap()
            .get(0);
    assert_eq!(users, 1);
}

#[tokio::test]
async fn without_a_model_the_requester_is_told_what_drafting_needs() {
    let h = Harness::new(&[SHOP, SHOP_DATA], None).await;
    let (issue, description) = h.file(PROSE_ISSUE);
    let session = h.delegate(&issue).await;
    let acts = h.activities(&session);
    assert_eq!(kinds(&acts), [("thought", None), ("elicitation", None)]);
    let missing = cutover_request::parse(&description).elicitation().expect("a list of what is missing");
    assert!(missing.contains("Proposed schema changes"), "{missing}");
    assert_eq!(acts[1].2, format!("{}\n\n{}", missing.trim_end(), cutover_draft::WITHOUT_MODEL));
    assert!(acts[1].2.ends_with(
        "(`CUTOVER_LLM_PROVIDER` as `anthropic` or `openai`, `CUTOVER_LLM_MODEL`, `CUTOVER_LLM_API_KEY`, or `[llm]` in cutover.toml); until then, please write it under **Proposed schema changes**."
    ));
    let flow = h.flow(&issue).await;
    assert_eq!(flow.stage, Stage::AwaitingInput);
    assert_eq!(flow.draft_usage, DraftUsage::default());
    assert!(h.app_comments(&issue).is_empty());
}
