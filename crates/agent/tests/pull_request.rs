//! End-to-end: an approved plan becomes a branch, one commit and a pull request in the fake
//! GitHub (over HTTP, GitHub's REST shapes), attached to the issue and its sub-issues in the
//! fake Linear and linked in the agent session; with GitHub failing and workers dying, still
//! exactly one branch, one commit and one pull request.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use cutover_agent::pull_request::{AUTHOR_EMAIL, GitHubTarget, WriteSettings};
use cutover_agent::worker::{run_one_job, send_one};
use cutover_agent::writes::{Sent, Write, send};
use cutover_agent::{FlowContext, FlowState, Intake, PlanningConfig, Stage, Wakeup, WorkerSettings, drain};
use cutover_db_postgres::source::apply_sql;
use cutover_github::{GitHubClient, Repo};
use cutover_github_fake::{Failure, FakeGitHub};
use cutover_jobs::Store;
use cutover_linear::webhook::{Identity, WebhookSecret};
use cutover_linear::{ClientConfig, Credentials, LinearClient};
use cutover_linear_fake::{DeliveryConfig, FakeLinear, IssueRef, Workspace, deliver};
use cutover_test_support::{TestDb, dev_server};

const SHOP: &str = include_str!("../../../examples/shop/before.sql");
const SHOP_DATA: &str = include_str!("../../../examples/demo/data.sql");
const DEMO_ISSUE: &str = include_str!("../../../examples/demo/issue.md");
const SECRET: &str = "lin_wh_test_secret";
const REPO: &str = "acme/shop";

struct Harness {
    linear: FakeLinear,
    github: FakeGitHub,
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
        outbox_retry_cap: Duration::from_millis(50),
        outbox_max_attempts: 200,
    }
}

impl Harness {
    async fn new(repo: &str) -> Harness {
        Harness::with_files(repo, &[("README.md", "# shop\n"), ("db/migrations/0001_create_shop.sql", SHOP)]).await
    }

    async fn with_files(repo: &str, files: &[(&str, &str)]) -> Harness {
        let db = TestDb::new().await;
        let client = db.connect().await;
        apply_sql(&client, "shop.sql".as_ref(), SHOP).await.expect("shop schema");
        apply_sql(&client, "data.sql".as_ref(), SHOP_DATA).await.expect("shop data");
        client.batch_execute("ANALYZE").await.expect("analyze");
        let linear = FakeLinear::start(Workspace::acme()).await.expect("fake linear");
        let github = FakeGitHub::start().await.expect("fake github");
        github.add_repo(REPO, "main", files);
        let mut config = ClientConfig::new(linear.url(), Credentials::OAuthToken(linear.oauth_token()));
        config.base_backoff = Duration::from_millis(5);
        config.max_backoff = Duration::from_millis(100);
        config.wait_bounds.min = Duration::from_millis(1);
        let mut gh =
            cutover_github::ClientConfig::new(github.url(), cutover_github::Credentials::Token(github.token()));
        gh.base_backoff = Duration::from_millis(5);
        gh.timeout = Duration::from_millis(500);
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&format!("sqlite://{}", dir.path().join("cutover.db").display())).await.expect("store");
        let ctx = FlowContext {
            llm: None,
            rollout: None,
            client: LinearClient::new(config).unwrap(),
            store: store.clone(),
            planning: PlanningConfig::new(db.url(), dev_server(), ".".into()),
            outbox_wakeup: Wakeup::default(),
            github: Some(GitHubTarget {
                client: GitHubClient::new(gh).unwrap(),
                repo: Repo::parse(repo).unwrap(),
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
                mention_handles: vec![],
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
        Harness { linear, github, ctx, settings: fast_settings("test-worker"), webhook_url, _db: db, _dir: dir }
    }

    fn file(&self) -> IssueRef {
        self.linear
            .create_issue("ENG", "Refunds and bigger balances", DEMO_ISSUE, &self.linear.human_user_id())
            .unwrap()
    }

    async fn deliver(&self, payload: &serde_json::Value) {
        let outcome =
            deliver(&self.webhook_url, SECRET, "AgentSessionEvent", payload, &DeliveryConfig::scaled(1e-5)).await;
        assert!(outcome.delivered());
    }

    /// Delegates the issue and drains: the plan is posted, waiting for approval.
    async fn planned(&self, issue: &IssueRef) -> String {
        let (session, event) = self.linear.delegate_to_app(&issue.identifier).unwrap();
        self.deliver(&event).await;
        drain(&self.ctx, &self.settings).await.unwrap();
        session
    }

    async fn flow(&self, issue: &IssueRef) -> FlowState {
        serde_json::from_value(self.ctx.store.load_flow(&issue.id).await.unwrap().unwrap()).unwrap()
    }

    fn github_client(&self) -> &GitHubClient {
        &self.ctx.github.as_ref().unwrap().client
    }

    /// The outbox writes of the flow, in order, with their results.
    async fn writes(&self, issue: &IssueRef) -> Vec<(Write, Option<serde_json::Value>)> {
        let items = self.ctx.store.outbox_items(&issue.id).await.unwrap();
        items.into_iter().map(|i| (serde_json::from_value(i.op).unwrap(), i.result)).collect()
    }
}

#[tokio::test]
async fn an_approved_plan_becomes_one_commit_and_a_pull_request_attached_to_the_issue() {
    let h = Harness::new(REPO).await;
    let issue = h.file();
    let session = h.planned(&issue).await;
    assert!(h.github.pulls(REPO).is_empty(), "nothing on GitHub before the approval");
    let event = h.linear.prompt(&session, "Approve plan", None).unwrap();
    h.deliver(&event).await;
    drain(&h.ctx, &h.settings).await.unwrap();

    let flow = h.flow(&issue).await;
    assert_eq!(flow.stage, Stage::Approved);
    let plan = flow.plan.unwrap();
    // The branch is Linear's branchName; one commit on top of main, made by Cutover.
    let branch = h.linear.issue(&issue.identifier).unwrap().branch_name;
    assert_eq!(branch, "priya/eng-1-refunds-and-bigger-balances");
    assert_eq!(h.github.branches(REPO).keys().cloned().collect::<Vec<_>>(), ["main".to_string(), branch.clone()]);
    let commits = h.github.commits_ahead(REPO, &branch, "main");
    assert_eq!(commits.len(), 1);
    assert_eq!(commits[0].author_email, AUTHOR_EMAIL);
    assert_eq!(commits[0].parents, [h.github.branches(REPO)["main"].clone()]);
    assert!(
        commits[0]
            .message
            .starts_with("ENG-1: Refunds and bigger balances\n\nMigration planned by Cutover: 4 phase(s)")
    );
    // The files: the base's, the migrations `cutover write` makes from the same repository
    // (numbered after the last one there: plain SQL, as the repository has), and the plan
    // `cutover apply` runs.
    let files = h.github.files(REPO, &branch);
    let base = h.github.files(REPO, "main");
    let options = cutover_write::Options {
        name: Some("Refunds and bigger balances".into()),
        issue: Some("ENG-1".into()),
        plan_path: Some("cutover/eng-1.plan.json".into()),
        ..cutover_write::Options::default()
    };
    let written = cutover_write::write(&cutover_write::MemoryRepo::new(base.clone()), &plan, &options).unwrap();
    let mut expected: Vec<String> = base.keys().cloned().collect();
    expected.extend(written.files.iter().map(|f| f.path.clone()));
    expected.push("cutover/eng-1.plan.json".into());
    expected.sort();
    assert_eq!(files.keys().cloned().collect::<Vec<_>>(), expected);
    assert_eq!(written.files[0].path, "db/migrations/0002_eng_1_refunds_and_bigger_balances_expand_1.sql");
    let committed: cutover_plan::planner::Plan = serde_json::from_str(&files["cutover/eng-1.plan.json"]).unwrap();
    assert_eq!(committed, plan);
    for file in &written.files {
        assert_eq!(files[&file.path], file.contents, "{}", file.path);
    }

    // One pull request: title with the identifier; body with the summary, magic words,
    // checklist, application impact and the plan's one Markdown rendering.
    let pulls = h.github.pulls(REPO);
    assert_eq!(pulls.len(), 1);
    let pull = &pulls[0];
    assert_eq!(
        (pull.title.as_str(), pull.head.as_str(), pull.base.as_str()),
        ("ENG-1: Refunds and bigger balances", branch.as_str(), "main")
    );
    assert!(pull.body.starts_with("Part of ENG-1\n\n## Summary\n\nThe migration Cutover planned for ENG-1 and a person approved: 4 phase(s) (expand → backfill → switch → contract), 14 step(s)."), "{}", pull.body);
    for needle in [
        "## Files\n\n- `db/migrations/0002_eng_1_refunds_and_bigger_balances_expand_1.sql`\n",
        "- `cutover/eng-1.plan.json`\n\n> Migrations in the sql format, in db/migrations/.\n",
        "## Review checklist\n\n- [ ] The SQL of every step below is what the issue asks for",
        "- [ ] **Update application queries and ORM models** (after the backfill phase, before the switch phase)\n  - column public.customers.loyalty_points changes type from integer to bigint: nothing found in the repository\n- [ ] Phase 3 of 4, switch:",
        "- [ ] **Update application queries and ORM models** (after the switch phase, before the contract phase)\n  - column public.orders.legacy_ref is dropped: nothing found in the repository\n- [ ] Phase 4 of 4, contract:",
        "- [ ] Phase 4 of 4, contract: `cutover apply --database $CUTOVER_DATABASE_URL --plan cutover/eng-1.plan.json --phase contract`, then `cutover verify`.",
        "## Application impact\n\nWhere the repository names what the plan drops, renames or retypes is listed in the review checklist, before the phase that needs the application changed.\n\nWhat the application must stop using before these steps run:\n",
        "- contract phase, `ALTER TABLE public.orders DROP COLUMN legacy_ref`: drops column public.orders.legacy_ref and its data\n",
    ] {
        assert!(pull.body.contains(needle), "{needle:?} missing from:\n{}", pull.body);
    }
    assert!(pull.body.contains(&format!(
        "## Phases\n\n{}",
        cutover_plan::planner::render_markdown(&plan, cutover_plan::planner::Flavor::GitHub)
    )));

    // Attached to the issue and to each rollout sub-issue; linked in the session.
    let parent = h.linear.issue(&issue.identifier).unwrap();
    // The issue and its phase sub-issues (not the application's).
    let phases: Vec<String> =
        parent.children.iter().filter(|c| h.linear.issue(c).unwrap().title.contains(" · phase ")).cloned().collect();
    assert_eq!(phases.len(), 4);
    for on in std::iter::once(&issue.identifier).chain(phases.iter()) {
        let attachments = h.linear.attachments(on);
        assert_eq!(attachments.len(), 1, "{on}");
        assert_eq!(attachments[0].url, "https://github.com/acme/shop/pull/1");
        assert_eq!(attachments[0].source_type.as_deref(), Some("github"));
    }
    let links = h.linear.agent_session(&session).unwrap().external_links;
    assert_eq!(links, [("Pull request acme/shop#1".to_string(), "https://github.com/acme/shop/pull/1".to_string())]);
    // The outbox records what was made.
    let writes = h.writes(&issue).await;
    let pr = writes.iter().find(|(w, _)| matches!(w, Write::PullRequest { .. })).unwrap();
    assert_eq!(pr.1.as_ref().unwrap()["url"], "https://github.com/acme/shop/pull/1");
    assert_eq!(pr.1.as_ref().unwrap()["created"], true);
}

/// The application code that names what the plan drops or retypes is found in the
/// repository (read through GitHub's API) and listed in the checklist before the phase that
/// needs it; a declarative model (Django's) is updated in the same commit.
#[tokio::test]
async fn the_application_code_the_plan_affects_is_listed_and_django_models_are_updated() {
    let models = "from django.db import models\n\n\nclass Order(models.Model):\n    total_cents = models.IntegerField()\n    legacy_ref = models.TextField(null=True)\n\n    class Meta:\n        db_table = \"orders\"\n";
    let queries = "def find(cursor, ref):\n    cursor.execute(\"SELECT id FROM orders WHERE legacy_ref = %s\", [ref])\n    return cursor.fetchone()\n";
    let h = Harness::with_files(
        REPO,
        &[
            ("README.md", "# shop\n"),
            ("db/migrations/0001_create_shop.sql", SHOP),
            ("shop/models.py", models),
            ("shop/queries.py", queries),
            ("node_modules/pg/lib/query.js", "const q = \"SELECT legacy_ref FROM orders\";\n"),
        ],
    )
    .await;
    let issue = h.file();
    let session = h.planned(&issue).await;
    let event = h.linear.prompt(&session, "Approve plan", None).unwrap();
    h.deliver(&event).await;
    drain(&h.ctx, &h.settings).await.unwrap();

    let branch = h.linear.issue(&issue.identifier).unwrap().branch_name;
    let files = h.github.files(REPO, &branch);
    // The model loses the dropped field in the same commit; the query is left to a person.
    assert_eq!(
        files["shop/models.py"],
        "from django.db import models\n\n\nclass Order(models.Model):\n    total_cents = models.IntegerField()\n\n    class Meta:\n        db_table = \"orders\"\n"
    );
    assert_eq!(files["shop/queries.py"], queries);
    let pulls = h.github.pulls(REPO);
    let body = &pulls[0].body;
    let item = body
        .split(
            "- [ ] **Update application queries and ORM models** (after the switch phase, before the contract phase)\n",
        )
        .nth(1)
        .unwrap_or_else(|| panic!("no contract item in:\n{body}"));
    let item: Vec<&str> = item.lines().take_while(|l| l.starts_with("  ")).collect();
    assert_eq!(item.len(), 3, "{body}");
    assert_eq!(item[0], "  - column public.orders.legacy_ref is dropped: 2 references, 1 updated in this pull request");
    assert!(item.iter().any(|l| l.starts_with("    - [x] `shop/models.py:6`")), "{body}");
    assert!(item.iter().any(|l| l.starts_with("    - [ ] `shop/queries.py:2`")), "{body}");
    assert!(!body.contains("node_modules"), "dependencies are not searched:\n{body}");
    assert!(body.contains("Model files updated in this pull request:\n\n- `shop/models.py`: "), "{body}");
}

#[tokio::test]
async fn running_the_writes_again_changes_nothing_and_a_new_decision_updates_the_same_pull_request() {
    let h = Harness::new(REPO).await;
    let issue = h.file();
    let session = h.planned(&issue).await;
    let event = h.linear.prompt(&session, "Approve plan", None).unwrap();
    h.deliver(&event).await;
    drain(&h.ctx, &h.settings).await.unwrap();
    let branches = h.github.branches(REPO);
    let requests = h.github.requests().len();

    // The same writes sent again (a re-run from the durable state): nothing new on GitHub.
    let items = h.ctx.store.outbox_items(&issue.id).await.unwrap();
    let github_items: Vec<_> = items
        .iter()
        .filter(|i| {
            matches!(
                serde_json::from_value(i.op.clone()).unwrap(),
                Write::PushBranch { .. } | Write::PullRequest { .. }
            )
        })
        .collect();
    assert_eq!(github_items.len(), 2);
    for item in &github_items {
        let sent = send(&h.ctx.client, Some(h.github_client()), item, Duration::ZERO, Duration::ZERO).await;
        assert!(matches!(sent, Sent::Done(_)), "{sent:?}");
    }
    assert_eq!(h.github.branches(REPO), branches);
    assert_eq!(h.github.pulls(REPO).len(), 1);
    assert_eq!(h.github.commit_objects(REPO), 2);
    let again: Vec<String> = h.github.requests()[requests..]
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path.split("/repos/acme/shop").nth(1).unwrap_or(&r.path)))
        .collect();
    // Blobs and the tree are content-addressed (made again, the same ids); no commit, no ref
    // move, no pull request opened or edited.
    let files = match serde_json::from_value(github_items[0].op.clone()).unwrap() {
        Write::PushBranch { files, .. } => files.len(),
        other => panic!("{other:?}"),
    };
    let mut expected = vec!["POST /git/blobs".to_string(); files];
    expected.push("POST /git/trees".into());
    assert_eq!(again, expected);

    // A new decision for the same issue (another run of the approval with a new date and a
    // changed plan): the same branch moves to a new single commit, the same PR is updated.
    let flow = h.flow(&issue).await;
    let mut plan = flow.plan.unwrap();
    plan.phases.pop();
    let target = h.ctx.github.as_ref().unwrap();
    let linear_issue = h.ctx.client.issue(&issue.id).await.unwrap();
    let (push, pull, _) =
        cutover_agent::pull_request::prepare(target, &linear_issue, &plan, Some(&session)).await.unwrap();
    for (n, write) in [push, pull].into_iter().enumerate() {
        let op = serde_json::to_value(&write).unwrap();
        h.ctx
            .store
            .outbox_put(&issue.id, &format!("{}:second:{n}", issue.id), &format!("second-{n}"), &op)
            .await
            .unwrap();
    }
    drain(&h.ctx, &h.settings).await.unwrap();
    let branch = linear_issue.branch_name.clone();
    assert_eq!(h.github.branches(REPO).len(), 2);
    assert_eq!(h.github.commits_ahead(REPO, &branch, "main").len(), 1);
    assert_ne!(h.github.branches(REPO)[&branch], branches[&branch], "the branch moved");
    let pulls = h.github.pulls(REPO);
    assert_eq!(pulls.len(), 1, "never a second pull request");
    assert!(pulls[0].body.contains("3 phase(s) (expand → backfill → switch)"), "{}", pulls[0].body);
    assert_eq!(h.linear.attachments(&issue.identifier).len(), 1);
}

#[tokio::test]
async fn github_failing_30_percent_and_a_worker_killed_mid_push_give_one_branch_one_commit_one_pull_request() {
    let h = Harness::new(REPO).await;
    let issue = h.file();
    let session = h.planned(&issue).await;
    h.github.set_failure_rate(
        0.3,
        7,
        vec![Failure::ServerError, Failure::LostResponse, Failure::Timeout(Duration::from_millis(700))],
    );
    // The answers that matter most are lost for sure: the branch's creation and the PR's.
    h.github.fail_route("POST /repos/acme/shop/git/refs", 1, Failure::LostResponse);
    h.github.fail_route("POST /repos/acme/shop/pulls", 1, Failure::LostResponse);
    let event = h.linear.prompt(&session, "Approve plan", None).unwrap();
    h.deliver(&event).await;

    // Worker A decides (reading GitHub through the faults; its job is retried when a read
    // fails), sends writes up to the branch push, sends that, and dies before recording it.
    let dying = WorkerSettings { lease: Duration::from_millis(300), ..fast_settings("worker-a") };
    loop {
        let Some(job) = h.ctx.store.claim_job(&dying.name, dying.lease).await.unwrap() else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        match cutover_agent::flow::run_job(&h.ctx, &job).await {
            Ok(()) => break,
            Err(_) => {
                let _ = h.ctx.store.retry_job(&job, Duration::ZERO, "read failed").await.unwrap();
            }
        }
    }
    loop {
        let items = h.ctx.store.outbox_items(&issue.id).await.unwrap();
        let next = items.iter().find(|i| i.state == cutover_jobs::OutboxState::Pending).expect("a pending write");
        if matches!(serde_json::from_value(next.op.clone()).unwrap(), Write::PushBranch { .. }) {
            break;
        }
        send_one(&h.ctx.client, Some(h.github_client()), &h.ctx.store, &dying).await.unwrap();
    }
    let item = loop {
        if let Some(item) = h.ctx.store.outbox_claim(&dying.name, dying.lease).await.unwrap() {
            break item;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(matches!(serde_json::from_value(item.op.clone()).unwrap(), Write::PushBranch { .. }));
    let _ = send(&h.ctx.client, Some(h.github_client()), &item, Duration::ZERO, Duration::ZERO).await;
    // (worker A is gone; its claims run out)
    tokio::time::sleep(Duration::from_millis(350)).await;

    let b = fast_settings("worker-b");
    while run_one_job(&h.ctx, &b).await.unwrap() {}
    drain(&h.ctx, &b).await.unwrap();
    h.github.clear_failures();

    let faults = h.github.requests().iter().filter(|r| r.fault.is_some()).count();
    assert!(faults >= 5, "only {faults} faults were injected");
    let lost: Vec<String> = h
        .github
        .requests()
        .iter()
        .filter(|r| r.applied && r.fault.is_some())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    for route in ["POST /repos/acme/shop/git/refs", "POST /repos/acme/shop/pulls"] {
        assert!(lost.iter().any(|l| l == route), "{route} was not applied with its answer lost: {lost:?}");
    }
    let failed: Vec<_> = h
        .ctx
        .store
        .outbox_items(&issue.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.state == cutover_jobs::OutboxState::Failed)
        .collect();
    assert!(failed.is_empty(), "{:?}", failed.iter().map(|i| &i.last_error).collect::<Vec<_>>());
    let branch = h.linear.issue(&issue.identifier).unwrap().branch_name;
    assert_eq!(h.github.branches(REPO).len(), 2, "main and one branch");
    assert_eq!(h.github.commits_ahead(REPO, &branch, "main").len(), 1, "one commit on the branch");
    assert_eq!(h.github.commit_objects(REPO), 2, "the seed and one commit: every retry made the same commit");
    assert_eq!(h.github.pulls(REPO).len(), 1, "one pull request");
    assert_eq!(h.linear.attachments(&issue.identifier).len(), 1);
    let plan = h.flow(&issue).await.plan.unwrap();
    // One per phase, and the application's two ("Update application queries and ORM models").
    assert_eq!(h.linear.write_count("issueCreate"), plan.phases.len() + 2);
}

#[tokio::test]
async fn a_repository_cutover_cannot_read_is_reported_and_the_rollout_goes_on() {
    let h = Harness::new("acme/missing").await;
    let issue = h.file();
    let session = h.planned(&issue).await;
    let event = h.linear.prompt(&session, "Approve plan", None).unwrap();
    h.deliver(&event).await;
    drain(&h.ctx, &h.settings).await.unwrap();
    let activities = h.linear.agent_session(&session).unwrap().activities;
    let error = activities.iter().find(|a| a.kind == "error").expect("an error activity");
    assert_eq!(
        error.body.as_deref().unwrap(),
        "I could not read the GitHub repository `acme/missing` to open the pull request, so the plan's sub-issues are created without one. GitHub says:\n\n```text\nnot found on GitHub: Not Found\n```\n\nCheck `[github] repository` in cutover.toml and the token's access (GITHUB_TOKEN, or the GitHub App's installation), then reply here to try again."
    );
    let parent = h.linear.issue(&issue.identifier).unwrap();
    assert_eq!(parent.children.len(), 4 + 2, "the phases and the application's sub-issues");
    assert!(h.github.pulls(REPO).is_empty());
    assert_eq!(h.linear.agent_session(&session).unwrap().status, "complete");
}

#[tokio::test]
async fn the_repositorys_own_format_is_detected_from_files_fetched_on_demand() {
    let dbmate = "-- migrate:up\nCREATE TABLE t (id int);\n\n-- migrate:down\nDROP TABLE t;\n";
    let h = Harness::with_files(
        REPO,
        &[("README.md", "# shop\n"), ("db/migrations/20240101000000_init.sql", dbmate), ("big/blob.bin", "x")],
    )
    .await;
    let issue = h.file();
    let session = h.planned(&issue).await;
    let event = h.linear.prompt(&session, "Approve plan", None).unwrap();
    h.deliver(&event).await;
    drain(&h.ctx, &h.settings).await.unwrap();
    let branch = h.linear.issue(&issue.identifier).unwrap().branch_name;
    let files = h.github.files(REPO, &branch);
    let new: Vec<&String> = files.keys().filter(|p| p.starts_with("db/migrations/") && !p.contains("_init")).collect();
    assert!(!new.is_empty());
    for path in &new {
        assert!(files[*path].contains("-- migrate:up"), "{path} is not a dbmate migration:\n{}", files[*path]);
    }
    // Only what cutover-write asked for was read: the existing migration, not every file.
    let blobs: Vec<String> = h
        .github
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/git/blobs/"))
        .map(|r| r.path.clone())
        .collect();
    assert!(!blobs.is_empty() && blobs.len() <= 2, "{blobs:?}");
    assert_eq!(h.github.pulls(REPO).len(), 1);
}

#[tokio::test]
async fn a_branch_someone_else_pushed_to_is_left_alone_and_reported() {
    let h = Harness::new(REPO).await;
    let issue = h.file();
    let session = h.planned(&issue).await;
    let branch = h.linear.issue(&issue.identifier).unwrap().branch_name;
    h.github.push_file(REPO, "main", "app/x.py", "x = 1\n", "Unrelated");
    let main = h.github.branches(REPO)["main"].clone();
    h.github.push_file(REPO, &branch, "app/models.py", "email = Column()\n", "Start on ENG-1 by hand");
    let before = h.github.branches(REPO)[&branch].clone();
    assert_ne!(before, main);
    let event = h.linear.prompt(&session, "Approve plan", None).unwrap();
    h.deliver(&event).await;
    drain(&h.ctx, &h.settings).await.unwrap();
    assert_eq!(h.github.branches(REPO)[&branch], before, "their commit is kept");
    assert!(h.github.pulls(REPO).is_empty(), "no pull request from their work");
    let errors: Vec<String> = h
        .linear
        .agent_session(&session)
        .unwrap()
        .activities
        .into_iter()
        .filter(|a| a.kind == "error")
        .filter_map(|a| a.body)
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    let files = h
        .writes(&issue)
        .await
        .into_iter()
        .find_map(|(w, _)| match w {
            Write::PushBranch { files, .. } => Some(files.len()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        errors[0],
        format!(
            "Cutover could not push branch {branch} to GitHub acme/shop: one commit with {files} file(s): GitHub reported a conflict: branch {branch} of acme/shop has commits Cutover did not make; it is left as it is."
        )
    );
    assert!(errors[1].contains("does not hold Cutover's commit; no pull request is opened from it"), "{}", errors[1]);
    // The rollout itself goes on.
    assert_eq!(h.linear.issue(&issue.identifier).unwrap().children.len(), 4 + 2);
}
