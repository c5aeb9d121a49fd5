//! End-to-end: the rollout driven from Linear. The fake Linear (every operation validated
//! against Linear's schema) and the fake GitHub over HTTP, a real PostgreSQL holding the shop
//! with rows, a writer changing those rows the whole time, and the production loops (jobs,
//! phase runs, outbox) running concurrently. A person delegates, approves, and asks for each
//! phase in the agent session; the issue is completed only after every phase ran and
//! verification passed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use cutover_agent::pull_request::{GitHubTarget, WriteSettings};
use cutover_agent::{FlowContext, FlowState, Intake, PlanningConfig, RolloutConfig, Stage, Wakeup, WorkerSettings};
use cutover_db_postgres::connect::Target;
use cutover_db_postgres::source::apply_sql;
use cutover_github::{GitHubClient, Repo};
use cutover_github_fake::FakeGitHub;
use cutover_jobs::Store;
use cutover_linear::webhook::{Identity, WebhookSecret};
use cutover_linear::{ClientConfig, Credentials, LinearClient};
use cutover_linear_fake::{DeliveryConfig, Failure, FakeLinear, IssueRef, Workspace, deliver};
use cutover_test_support::{TestDb, dev_server};
use tokio::task::JoinHandle;

const SHOP: &str = include_str!("../../../examples/shop/before.sql");
const SHOP_DATA: &str = include_str!("../../../examples/demo/data.sql");
const DEMO_ISSUE: &str = include_str!("../../../examples/demo/issue.md");
const SECRET: &str = "lin_wh_test_secret";
const REPO: &str = "acme/shop";
const WAIT: Duration = Duration::from_secs(300);

struct Harness {
    linear: FakeLinear,
    github: FakeGitHub,
    ctx: FlowContext,
    settings: WorkerSettings,
    webhook_url: String,
    loops: Vec<JoinHandle<()>>,
    db: TestDb,
    _dir: tempfile::TempDir,
}

fn settings(name: &str) -> WorkerSettings {
    WorkerSettings {
        name: name.into(),
        lease: Duration::from_secs(30),
        poll: Duration::from_millis(20),
        job_retry_base: Duration::from_millis(5),
        job_max_attempts: 50,
        outbox_retry_base: Duration::from_millis(5),
        outbox_retry_cap: Duration::from_millis(50),
        outbox_max_attempts: 500,
    }
}

impl Harness {
    async fn new(description: &str, soak: Duration) -> (Harness, IssueRef) {
        let db = TestDb::new().await;
        let client = db.connect().await;
        apply_sql(&client, "shop.sql".as_ref(), SHOP).await.expect("shop schema");
        apply_sql(&client, "data.sql".as_ref(), SHOP_DATA).await.expect("shop data");
        client.batch_execute("ANALYZE").await.expect("analyze");
        let linear = FakeLinear::start(Workspace::acme()).await.expect("fake linear");
        let github = FakeGitHub::start().await.expect("fake github");
        github.add_repo(REPO, "main", &[("README.md", "# shop\n"), ("db/migrations/0001_create_shop.sql", SHOP)]);
        let mut config = ClientConfig::new(linear.url(), Credentials::OAuthToken(linear.oauth_token()));
        config.base_backoff = Duration::from_millis(5);
        config.max_backoff = Duration::from_millis(50);
        config.max_attempts = 20;
        config.wait_bounds.min = Duration::from_millis(1);
        let mut gh =
            cutover_github::ClientConfig::new(github.url(), cutover_github::Credentials::Token(github.token()));
        gh.base_backoff = Duration::from_millis(5);
        gh.timeout = Duration::from_millis(2000);
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&format!("sqlite://{}", dir.path().join("cutover.db").display())).await.expect("store");
        let target = Target::parse(&db.url()).expect("url");
        let mut rollout = RolloutConfig::new(target.clone(), target);
        rollout.soak = soak;
        rollout.apply.retry.first_wait = Duration::from_millis(50);
        // A backfill slow enough to be paused: each batch waits 30 ms.
        rollout.apply.backfill.progress_every = 1;
        rollout.apply.backfill.poll = Duration::from_millis(50);
        rollout.apply.backfill.limits.max_batch = 1000;
        rollout.apply.backfill.wait_query = Some("SELECT false FROM pg_catalog.pg_sleep(0.03)".into());
        let ctx = FlowContext {
            llm: None,
            rollout: Some(rollout),
            client: LinearClient::new(config).unwrap(),
            store: store.clone(),
            planning: PlanningConfig::new(db.url(), dev_server(), ".".into()),
            outbox_wakeup: Wakeup::default(),
            github: Some(GitHubTarget {
                client: GitHubClient::new(gh).unwrap(),
                repo: Repo::parse(REPO).unwrap(),
                base: None,
                write: WriteSettings::default(),
            }),
        };
        let intake = Intake {
            store,
            secret: WebhookSecret::new(SECRET),
            identity: Arc::new(RwLock::new(Identity {
                organization_id: Some(linear.organization_id()),
                app_user_id: Some(linear.app_user_id()),
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
        let issue =
            linear.create_issue("ENG", "Refunds and bigger balances", description, &linear.human_user_id()).unwrap();
        let mut h = Harness {
            linear,
            github,
            ctx,
            settings: settings("worker-1"),
            webhook_url,
            loops: Vec::new(),
            db,
            _dir: dir,
        };
        h.start_loops();
        (h, issue)
    }

    /// The production loops, as `cutover serve` runs them.
    fn start_loops(&mut self) {
        let ctx = self.ctx.clone();
        self.loops.push(tokio::spawn(cutover_agent::job_loop(ctx.clone(), self.settings.clone(), Wakeup::default())));
        self.loops.push(tokio::spawn(cutover_agent::rollout_loop(
            ctx.clone(),
            self.settings.clone(),
            Wakeup::default(),
        )));
        self.loops.push(tokio::spawn(cutover_agent::outbox_loop(
            ctx.client.clone(),
            ctx.github.as_ref().map(|g| g.client.clone()),
            ctx.store.clone(),
            self.settings.clone(),
            ctx.outbox_wakeup.clone(),
        )));
    }

    /// The process dies: every loop stops where it is.
    fn kill_loops(&mut self) {
        for handle in self.loops.drain(..) {
            handle.abort();
        }
    }

    async fn deliver(&self, event: &str, payload: &serde_json::Value) {
        let outcome = deliver(&self.webhook_url, SECRET, event, payload, &DeliveryConfig::scaled(1e-5)).await;
        assert!(outcome.delivered(), "{event} not delivered");
    }

    async fn say(&self, session: &str, body: &str) {
        let event = self.linear.prompt(session, body, None).unwrap();
        self.deliver("AgentSessionEvent", &event).await;
    }

    async fn flow(&self, issue: &IssueRef) -> FlowState {
        serde_json::from_value(self.ctx.store.load_flow(&issue.id).await.unwrap().unwrap()).unwrap()
    }

    /// The bodies of the session's activities of `kind`, oldest first.
    fn said(&self, session: &str, kind: &str) -> Vec<String> {
        let session = self.linear.agent_session(session).expect("session");
        session.activities.iter().filter(|a| a.kind == kind).filter_map(|a| a.body.clone()).collect()
    }

    /// Waits until the session has an activity of `kind` whose body contains `text`.
    async fn until_said(&self, session: &str, kind: &str, text: &str) -> String {
        let started = Instant::now();
        loop {
            if let Some(found) = self.said(session, kind).into_iter().find(|b| b.contains(text)) {
                return found;
            }
            assert!(
                started.elapsed() < WAIT,
                "no {kind} containing {text:?} in the session; it has: {:#?}",
                self.linear.agent_session(session).map(|s| s.activities)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn sub_issues(&self, issue: &IssueRef) -> Vec<cutover_linear_fake::IssueView> {
        let mut subs: Vec<_> = self
            .linear
            .issues()
            .into_iter()
            .filter(|i| i.parent.as_deref() == Some(&issue.identifier) && i.title.contains(" · phase "))
            .collect();
        subs.sort_by_key(|i| i.number);
        subs
    }

    /// Cutover's comments on an issue.
    fn app_comments(&self, identifier: &str) -> Vec<String> {
        let app = self.linear.app_user_id();
        self.linear.comments(identifier).into_iter().filter(|c| c.user_id == app).map(|c| c.body).collect()
    }

    /// Delegation and approval: the plan is approved and phase 1 is offered.
    async fn approved(&self, issue: &IssueRef) -> String {
        let (session, event) = self.linear.delegate_to_app(&issue.identifier).unwrap();
        self.deliver("AgentSessionEvent", &event).await;
        self.until_said(&session, "elicitation", "Approve").await;
        self.say(&session, "Approve plan").await;
        self.until_said(&session, "elicitation", "Next: phase 1 of 4, **expand**").await;
        session
    }
}

/// The application: inserts customers and updates their points the whole time; counts its
/// writes and its errors.
struct Writer {
    stop: Arc<AtomicBool>,
    writes: Arc<AtomicU64>,
    errors: Arc<std::sync::Mutex<Vec<String>>>,
    handle: JoinHandle<()>,
}

impl Writer {
    async fn start(db: &TestDb) -> Writer {
        let client = db.connect().await;
        let stop = Arc::new(AtomicBool::new(false));
        let writes = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (s, w, e) = (stop.clone(), writes.clone(), errors.clone());
        let handle = tokio::spawn(async move {
            let mut n: i64 = 0;
            while !s.load(Ordering::Relaxed) {
                n += 1;
                let result = client
                    .batch_execute(&format!(
                        "SET lock_timeout = '5s'; \
                         INSERT INTO customers (email, name, loyalty_points) VALUES ('writer{n}@example.com', 'Writer {n}', {n}); \
                         UPDATE customers SET loyalty_points = loyalty_points + 1 WHERE id = {}",
                        1 + (n * 7919) % 20_000
                    ))
                    .await;
                match result {
                    Ok(()) => {
                        w.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(err) => e.lock().unwrap().push(err.to_string()),
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        Writer { stop, writes, errors, handle }
    }

    async fn stop(self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.await.unwrap();
        (self.writes.load(Ordering::Relaxed), self.errors.lock().unwrap().clone())
    }
}

/// The whole loop on the demo issue: expand, backfill (paused and resumed), switch with the
/// validation plan, contract after its own approval; the issue completed at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rollout_from_approval_to_the_issue_completed() {
    let (h, issue) = Harness::new(DEMO_ISSUE, Duration::ZERO).await;
    let session = h.approved(&issue).await;
    // The pull request is opened and linked from the issue.
    let pulls = h.github.pulls(REPO);
    assert_eq!(pulls.len(), 1, "one pull request");
    let writer = Writer::start(&h.db).await;

    // The application's work has its own sub-issue, before the contract.
    let application: Vec<_> = h
        .linear
        .issues()
        .into_iter()
        .filter(|i| i.parent.as_deref() == Some(&issue.identifier) && !i.title.contains(" · phase "))
        .collect();
    let titles: Vec<&str> = application.iter().map(|i| i.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            format!("{} · Update application queries and ORM models (before switch)", issue.identifier),
            format!("{} · Update application queries and ORM models (before contract)", issue.identifier)
        ]
    );
    assert!(application[0].description.as_deref().unwrap_or("").contains("before that phase runs"));
    // Nothing runs by itself.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let subs = h.sub_issues(&issue);
    assert_eq!(subs.len(), 4);
    assert!(subs.iter().all(|s| s.state.kind == "unstarted" || s.state.kind == "backlog"), "{subs:#?}");

    // Out of order: refused with the reason.
    h.say(&session, "run switch").await;
    h.until_said(&session, "response", "Phase switch runs after phase expand is done; reply **run expand** first.")
        .await;

    h.say(&session, "run expand").await;
    let next = h.until_said(&session, "elicitation", "Next: phase 2 of 4, **backfill**").await;
    assert!(next.contains("reply **run backfill**"), "{next}");
    let subs = h.sub_issues(&issue);
    assert_eq!(subs[0].state.kind, "completed", "the expand sub-issue is completed");
    let expand = h.app_comments(&subs[0].identifier);
    assert_eq!(expand.len(), 1, "one checkpoint comment: {expand:#?}");
    assert!(expand[0].starts_with("**Checkpoint: ENG-"), "{}", expand[0]);
    assert!(expand[0].contains("(ended, "), "{}", expand[0]);
    assert!(expand[0].contains("**Done.** Verified the phase's results:"), "{}", expand[0]);

    // The backfill, paused and resumed from the session.
    h.say(&session, "Run backfill").await;
    let subs_started = Instant::now();
    loop {
        let subs = h.sub_issues(&issue);
        let progressed =
            h.app_comments(&subs[1].identifier).first().is_some_and(|c| c.contains("Backfill of `public.customers`"));
        if progressed {
            break;
        }
        assert!(subs_started.elapsed() < WAIT, "the backfill never reported progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.say(&session, "pause").await;
    h.until_said(&session, "response", "Paused the backfill of `public.customers` after its current batch.").await;
    let rows = |h: &Harness| {
        let url = h.db.url();
        async move {
            let client = cutover_db_postgres::connect::connect(&url).await.unwrap();
            let row = client.query_one("SELECT rows_done, state FROM cutover.backfills", &[]).await.unwrap();
            (row.get::<_, i64>(0), row.get::<_, String>(1))
        }
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (paused_at, state) = rows(&h).await;
    assert_eq!(state, "paused");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(rows(&h).await, (paused_at, "paused".to_string()), "a paused backfill does not move");
    h.say(&session, "resume").await;
    h.until_said(&session, "response", "Resumed the backfill of `public.customers`.").await;
    h.until_said(&session, "elicitation", "Next: phase 3 of 4, **switch**").await;
    let subs = h.sub_issues(&issue);
    let backfill = h.app_comments(&subs[1].identifier);
    assert_eq!(backfill.len(), 1, "one checkpoint comment, updated in place: {backfill:#?}");
    assert!(backfill[0].contains("Backfill of `public.customers`: 100%"), "{}", backfill[0]);
    assert!(backfill[0].contains("**Done.**"), "{}", backfill[0]);
    let updates = h.linear.write_count("commentUpdate");
    assert!((3..=40).contains(&updates), "checkpoint updates at a cadence, not per batch: {updates}");

    // The switch runs the validation plan.
    h.say(&session, "run switch").await;
    let next = h.until_said(&session, "elicitation", "Next: phase 4 of 4, **contract**").await;
    assert!(next.contains("needs its own approval"), "{next}");
    let switch = h.app_comments(&h.sub_issues(&issue)[2].identifier);
    assert!(switch[0].contains("Verified the phase's results and the validation plan"), "{}", switch[0]);
    assert!(switch[0].contains("Not checked"), "the latency item has no query: {}", switch[0]);

    // The contract asks for its own approval.
    h.say(&session, "run contract").await;
    let question = h.until_said(&session, "elicitation", "Approve the contract phase?").await;
    assert!(question.starts_with("**Not done yet:** ENG-"), "the application's sub-issue is open: {question}");
    assert!(
        ["unstarted", "backlog"].contains(&h.sub_issues(&issue)[3].state.kind.as_str()),
        "nothing ran before the approval"
    );
    h.say(&session, "Approve contract").await;
    let done = h.until_said(&session, "response", "Done: every phase of").await;
    assert!(done.contains("verification passed"), "{done}");

    let (writes, errors) = writer.stop().await;
    assert!(errors.is_empty(), "the application's writes failed: {errors:#?}");
    assert!(writes > 20, "the writer ran the whole time ({writes} writes)");

    let parent = h.linear.issue(&issue.identifier).unwrap();
    assert_eq!(parent.state.kind, "completed");
    assert!(h.sub_issues(&issue).iter().all(|s| s.state.kind == "completed"));
    assert_eq!(h.flow(&issue).await.stage, Stage::Completed);
    // The data: every customer kept its points, now a bigint; no row lost.
    let client = h.db.connect().await;
    let row = client
        .query_one(
            "SELECT format_type(a.atttypid, a.atttypmod), (SELECT count(*) FROM customers), (SELECT count(*) FROM customers WHERE loyalty_points IS NULL)
             FROM pg_attribute a WHERE a.attrelid = 'customers'::regclass AND a.attname = 'loyalty_points'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "bigint");
    assert_eq!(row.get::<_, i64>(1), 20_000 + writes as i64);
    assert_eq!(row.get::<_, i64>(2), 0);
}

/// Verification fails after the switch: a blocker with the options, the issue stays open with
/// the failure written on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_verification_blocks_and_keeps_the_issue_open() {
    let description = DEMO_ISSUE.replace(
        "- `SELECT count(*) FROM customers WHERE loyalty_points IS NULL` is 0 after the backfill",
        "- `SELECT count(*) FROM customers WHERE loyalty_points > 100` is 0 after the backfill",
    );
    let (h, issue) = Harness::new(&description, Duration::ZERO).await;
    let session = h.approved(&issue).await;
    for phase in ["expand", "backfill"] {
        h.say(&session, &format!("run {phase}")).await;
        h.until_said(&session, "thought", &format!("Phase {phase} is done.")).await;
    }
    h.say(&session, "run switch").await;
    let blocker = h.until_said(&session, "elicitation", "**Blocked:** every step of phase switch ran").await;
    assert!(blocker.contains("Verification of the phase's results and the validation plan failed"), "{blocker}");
    assert!(
        blocker.contains("- `SELECT count(*) FROM customers WHERE loyalty_points > 100` (is 0 after the backfill): expected zero, got "),
        "{blocker}"
    );
    let parent = h.linear.issue(&issue.identifier).unwrap();
    assert_ne!(parent.state.kind, "completed");
    let written = h.app_comments(&issue.identifier);
    assert!(written.iter().any(|c| c.starts_with("**Blocked:** every step of phase switch ran")), "{written:#?}");
    // The contract cannot run past the failed switch.
    h.say(&session, "run contract").await;
    h.until_said(&session, "response", "Phase contract runs after phase switch is done").await;
    assert_eq!(h.flow(&issue).await.stage, Stage::Approved);
    // The rename that swapped the columns has no automatic rollback: the blocker did not
    // offer one, and asking says why.
    let view = h.linear.agent_session(&session).unwrap();
    let blocker =
        view.activities.iter().rev().find(|a| a.body.as_deref().is_some_and(|b| b.contains("**Blocked:**"))).unwrap();
    let options = blocker.content.to_string();
    assert!(!options.contains("Roll back switch"), "{options}");
    h.say(&session, "Roll back switch").await;
    h.until_said(
        &session,
        "response",
        "I can't roll back phase switch: the switch phase cannot be rolled back: step 4/4 (`ALTER TABLE public.customers RENAME COLUMN loyalty_points TO loyalty_points_cutover_old;`) is done and the plan gives it no automatic rollback",
    )
    .await;
}

/// A phase rolled back from the session: its steps undone, its sub-issue back to unstarted,
/// and the phase offered again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_phase_rolled_back_from_the_session() {
    // (The demo's expand adds an enum value, which PostgreSQL cannot take back.)
    let description = "## Objective\nNotes on orders.\n\n## Proposed schema changes\n```sql\nALTER TABLE orders ADD COLUMN refunded_at timestamptz;\nCREATE INDEX orders_placed_idx ON orders (placed_at);\nALTER TABLE orders DROP COLUMN legacy_ref;\n```\n\n## Migration type\nadditive, destructive\n\n## Downtime tolerance\nzero-downtime\n";
    let (h, issue) = Harness::new(description, Duration::ZERO).await;
    let (session, event) = h.linear.delegate_to_app(&issue.identifier).unwrap();
    h.deliver("AgentSessionEvent", &event).await;
    h.until_said(&session, "elicitation", "Approve").await;
    h.say(&session, "Approve plan").await;
    h.until_said(&session, "elicitation", "Next: phase 1 of 2, **expand**").await;
    h.say(&session, "run expand").await;
    h.until_said(&session, "elicitation", "Next: phase 2 of 2, **contract**").await;
    h.say(&session, "roll back expand").await;
    let done = h.until_said(&session, "response", "Rolled back phase expand.").await;
    assert!(done.contains("step(s) undone"), "{done}");
    let offers = h.said(&session, "elicitation");
    assert!(offers.last().unwrap().starts_with("Next: phase 1 of 2, **expand**"), "{offers:#?}");
    let client = h.db.connect().await;
    let columns: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'refunded_at' AND NOT attisdropped",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(columns, 0, "the expand phase's column is gone");
    assert_eq!(h.sub_issues(&issue)[0].state.kind, "unstarted");
    let checkpoints = h.app_comments(&h.sub_issues(&issue)[0].identifier);
    assert_eq!(checkpoints.len(), 2, "one checkpoint per run: {checkpoints:#?}");
    assert!(checkpoints[1].contains("**Rolled back.**"), "{}", checkpoints[1]);
}

/// The process dies in the middle of the backfill and starts again: the backfill resumes
/// from its cursor, its checkpoint is still one comment, and the rollout ends as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_during_the_backfill_resumes_it() {
    let (mut h, issue) = Harness::new(DEMO_ISSUE, Duration::ZERO).await;
    let session = h.approved(&issue).await;
    h.say(&session, "run expand").await;
    h.until_said(&session, "elicitation", "Next: phase 2 of 4, **backfill**").await;
    h.say(&session, "run backfill").await;
    let url = h.db.url();
    let client = cutover_db_postgres::connect::connect(&url).await.unwrap();
    let started = Instant::now();
    loop {
        let done: Option<i64> =
            client.query_opt("SELECT rows_done FROM cutover.backfills", &[]).await.ok().flatten().map(|r| r.get(0));
        if done.is_some_and(|d| d >= 5_000) {
            break;
        }
        assert!(started.elapsed() < WAIT, "the backfill did not get going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.kill_loops();
    let at_kill: i64 = client.query_one("SELECT rows_done FROM cutover.backfills", &[]).await.unwrap().get(0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Started again, as `cutover serve` does: leases of the dead process are released.
    h.ctx.store.recover_after_restart().await.unwrap();
    h.settings = settings("worker-2");
    h.start_loops();
    h.until_said(&session, "elicitation", "Next: phase 3 of 4, **switch**").await;
    let subs = h.sub_issues(&issue);
    let checkpoint = h.app_comments(&subs[1].identifier);
    assert_eq!(checkpoint.len(), 1, "still one checkpoint comment: {checkpoint:#?}");
    assert!(checkpoint[0].contains("**Done.**"), "{}", checkpoint[0]);
    let row = client.query_one("SELECT rows_done FROM cutover.backfills", &[]).await;
    let rows_done: i64 = row.map(|r| r.get(0)).unwrap_or_default();
    assert!(rows_done >= at_kill, "resumed from the cursor ({at_kill} at the kill, {rows_done} at the end)");
    let nulls: i64 = client
        .query_one("SELECT count(*) FROM customers WHERE loyalty_points_cutover_new IS NULL OR loyalty_points_cutover_new <> loyalty_points", &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or(-1);
    assert_eq!(nulls, 0, "every row filled");
}

/// 30% of Linear's and GitHub's calls fail: the same end, nothing doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_percent_of_calls_failing_changes_nothing_but_the_time() {
    let (h, issue) = Harness::new(DEMO_ISSUE, Duration::ZERO).await;
    h.linear.set_failure_rate(0.3, 7, vec![Failure::ServerError, Failure::TooManyRequests]);
    h.github.set_failure_rate(0.3, 11, vec![cutover_github_fake::Failure::ServerError]);
    let session = h.approved(&issue).await;
    for phase in ["expand", "backfill", "switch"] {
        h.say(&session, &format!("run {phase}")).await;
        h.until_said(&session, "thought", &format!("Phase {phase} is done.")).await;
    }
    h.say(&session, "run contract").await;
    h.until_said(&session, "elicitation", "Approve the contract phase?").await;
    h.say(&session, "Approve contract").await;
    h.until_said(&session, "response", "Done: every phase of").await;
    h.linear.clear_failures();
    assert_eq!(h.github.pulls(REPO).len(), 1, "one pull request");
    let subs = h.sub_issues(&issue);
    assert_eq!(subs.len(), 4, "no sub-issue doubled");
    for sub in &subs {
        assert_eq!(h.app_comments(&sub.identifier).len(), 1, "one checkpoint on {}", sub.identifier);
        assert_eq!(sub.state.kind, "completed");
    }
    assert_eq!(h.linear.issue(&issue.identifier).unwrap().state.kind, "completed");
}

/// A sub-issue moved to In Progress runs its phase; the contract still asks for approval.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn moving_a_phase_sub_issue_to_started_runs_it() {
    let (h, issue) = Harness::new(DEMO_ISSUE, Duration::from_secs(3600)).await;
    let session = h.approved(&issue).await;
    let subs = h.sub_issues(&issue);
    let event = h.linear.move_issue(&subs[0].identifier, "In Progress").unwrap();
    h.deliver("Issue", &event).await;
    h.until_said(&session, "elicitation", "Next: phase 2 of 4, **backfill**").await;
    for phase in ["backfill", "switch"] {
        h.say(&session, &format!("run {phase}")).await;
        h.until_said(&session, "thought", &format!("Phase {phase} is done.")).await;
    }
    // The soak time holds the contract back.
    let soak = h.until_said(&session, "response", "The contract phase waits for the soak time after the switch").await;
    assert!(soak.contains("(1 h in all)"), "{soak}");
    let event = h.linear.move_issue(&h.sub_issues(&issue)[3].identifier, "In Progress").unwrap();
    h.deliver("Issue", &event).await;
    let replies = h.said(&session, "response");
    let started = Instant::now();
    while h.said(&session, "response").len() == replies.len() {
        assert!(started.elapsed() < WAIT);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(h.said(&session, "response").last().unwrap().contains("can be approved from"));
    let client = h.db.connect().await;
    let legacy: i64 = client
        .query_one("SELECT count(*) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'legacy_ref' AND NOT attisdropped", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(legacy, 1, "the contract did not run");
}
