//! `cutover issue`, `cutover demo` and the agent's configuration errors, as users run them,
//! against the fake Linear and a real PostgreSQL.

use cutover_db_postgres::source::apply_sql;
use cutover_linear_fake::{Failure, FakeLinear, Workspace};
use cutover_test_support::{TestDb, admin_url};
use std::process::Output;
use tokio::process::Command;

const SHOP: &str = include_str!("../../../examples/shop/before.sql");
const ISSUE: &str = include_str!("../../../examples/demo/issue.md");

fn cutover(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cutover"));
    cmd.args(args).env("NO_COLOR", "1").current_dir(std::env::temp_dir());
    for var in [
        "LINEAR_API_KEY",
        "LINEAR_OAUTH_TOKEN",
        "LINEAR_CLIENT_ID",
        "LINEAR_CLIENT_SECRET",
        "LINEAR_API_URL",
        "LINEAR_ORGANIZATION_ID",
        "CUTOVER_DATABASE_URL",
        "CUTOVER_PRUNE_AFTER_DAYS",
        "CUTOVER_STORE",
        "CUTOVER_DEV_URL",
        "GITHUB_TOKEN",
        "GITHUB_APP_ID",
        "GITHUB_APP_PRIVATE_KEY",
        "GITHUB_API_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

struct Setup {
    fake: FakeLinear,
    db: TestDb,
    identifier: String,
}

async fn setup() -> Setup {
    let db = TestDb::new().await;
    apply_sql(&db.connect().await, "shop.sql".as_ref(), SHOP).await.unwrap();
    let fake = FakeLinear::start(Workspace::acme()).await.unwrap();
    let issue = fake.create_issue("ENG", "Refunds", ISSUE, &fake.human_user_id()).unwrap();
    Setup { fake, db, identifier: issue.identifier }
}

impl Setup {
    async fn issue(&self, extra: &[&str]) -> Output {
        let mut args = vec!["issue", self.identifier.as_str(), "--dev-url", admin_url()];
        args.extend_from_slice(extra);
        cutover(&args)
            .env("LINEAR_API_URL", self.fake.url())
            .env("LINEAR_OAUTH_TOKEN", self.fake.oauth_token())
            .env("CUTOVER_DATABASE_URL", self.db.url())
            .output()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn issue_dry_run_prints_every_write_and_makes_none() {
    let s = setup().await;
    let out = s.issue(&["--dry-run"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.starts_with("   |")).collect();
    assert_eq!(
        lines,
        [
            "Dry run for ENG-1: 2 write(s) to Linear would be made, in this order.",
            "",
            "1. move ENG-1 to \"In Progress\"",
            "",
            "2. comment on ENG-1: ## Migration plan: 4 phases, 14 steps for PostgreSQL 15",
        ]
    );
    assert!(stdout.lines().any(|l| l == "   |    ALTER TABLE public.orders DROP COLUMN legacy_ref;"), "{stdout}");
    assert!(s.fake.write_counts().is_empty(), "no write reached Linear: {:?}", s.fake.write_counts());
}

#[tokio::test]
async fn a_dry_run_whose_job_fails_says_so_and_exits_2() {
    let s = setup().await;
    s.fake.fail_operation("TeamWorkflowStates", 100, Failure::Forbidden("not allowed to read workflow states".into()));
    let out = s.issue(&["--dry-run"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout), "");
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: the dry run of ENG-1 failed, nothing was written to Linear: "), "{stderr}");
    assert!(stderr.contains("not allowed to read workflow states"), "{stderr}");
    assert!(s.fake.write_counts().is_empty());
}

#[tokio::test]
async fn the_oauth_app_credentials_get_a_token_and_a_refused_one_is_replaced() {
    let s = setup().await;
    let (client_id, client_secret) = s.fake.client_credentials();
    let run = |secret: String| {
        let mut args = vec!["issue", s.identifier.as_str(), "--dev-url", admin_url()];
        args.push("--dry-run");
        let mut cmd = cutover(&args);
        cmd.env("LINEAR_API_URL", s.fake.url())
            .env("LINEAR_CLIENT_ID", &client_id)
            .env("LINEAR_CLIENT_SECRET", secret)
            .env("CUTOVER_DATABASE_URL", s.db.url());
        async move { cmd.output().await.unwrap() }
    };
    let out = run(client_secret.clone()).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(s.fake.app_tokens_issued(), 1, "one token for the whole run");

    let out = run("wrong".into()).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "Linear refused the app's client credentials (LINEAR_CLIENT_ID, LINEAR_CLIENT_SECRET): invalid_client"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong"), "the secret is never printed: {stderr}");
}

#[tokio::test]
async fn issue_posts_the_plan_once() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let out = s.issue(&["--store", &store]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(s.fake.write_count("commentCreate"), 1);
    assert_eq!(s.fake.issue("ENG-1").unwrap().state.name, "In Progress");
    let comment = &s.fake.comments("ENG-1")[0].body;
    assert!(comment.starts_with("## Migration plan: 4 phases, 14 steps for PostgreSQL 15"), "{comment}");
    // Running it again finds the plan awaiting approval and writes nothing.
    let again = s.issue(&["--store", &store]).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(s.fake.write_count("commentCreate"), 1);
}

#[tokio::test]
async fn missing_credentials_and_bad_config_are_one_clear_error() {
    let out = cutover(&["issue", "ENG-1"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: no Linear credentials: set LINEAR_CLIENT_ID and LINEAR_CLIENT_SECRET (the OAuth app), LINEAR_OAUTH_TOKEN, or LINEAR_API_KEY (a personal API key)\n"
    );
    let out = cutover(&["issue", "ENG-1"]).env("LINEAR_CLIENT_ID", "id").output().await.unwrap();
    assert_eq!(text(&out.stderr), "error: LINEAR_CLIENT_ID is set but LINEAR_CLIENT_SECRET is not\n");
    let out = cutover(&["issue", "ENG-1"]).env("LINEAR_API_KEY", "k").output().await.unwrap();
    assert_eq!(
        text(&out.stderr),
        "error: no database to plan against: set CUTOVER_DATABASE_URL (the database being migrated; Cutover only reads it)\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cutover.toml");
    std::fs::write(&config, "[store]\nurl = \"sqlite://x.db\"\n\n[linear]\napi_ulr = \"http://x\"\n").unwrap();
    let out =
        cutover(&["serve", "--config", config.to_str().unwrap()]).env("LINEAR_API_KEY", "k").output().await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: {}:5: unknown field `api_ulr`, expected one of `api_url`, `organization_id`, `mention_handles`\n",
            config.display()
        )
    );
    let out = cutover(&["issue", "ENG-1"])
        .env("LINEAR_API_KEY", "k")
        .env("CUTOVER_DATABASE_URL", "postgres://x/y")
        .env("CUTOVER_PRUNE_AFTER_DAYS", "0")
        .output()
        .await
        .unwrap();
    assert_eq!(
        text(&out.stderr),
        "error: the prune age (CUTOVER_PRUNE_AFTER_DAYS, [store] prune_after_days) must be at least 1 day\n"
    );
}

#[tokio::test]
async fn a_dev_url_on_the_database_being_migrated_is_refused() {
    let refused = "error: the dev URL (CUTOVER_DEV_URL or [database] dev_url) points at the database being migrated (CUTOVER_DATABASE_URL); give it a separate server or database, where Cutover may create scratch databases and roles\n";
    let live = "postgresql://app:secret@localhost:5432/shop";
    for dev in ["postgresql://admin@127.0.0.1/shop", "host=/var/run/postgresql dbname=shop user=x"] {
        let out = cutover(&["issue", "ENG-1", "--dev-url", dev])
            .env("LINEAR_API_KEY", "k")
            .env("CUTOVER_DATABASE_URL", live)
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{dev}");
        assert_eq!(text(&out.stderr), refused, "{dev}");
    }
    // Also from the environment, and from the file.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cutover.toml");
    std::fs::write(&config, "[database]\ndev_url = \"postgresql://localhost/shop\"\n").unwrap();
    let out = cutover(&["serve", "--config", config.to_str().unwrap()])
        .env("LINEAR_API_KEY", "k")
        .env("CUTOVER_DATABASE_URL", live)
        .output()
        .await
        .unwrap();
    assert_eq!((out.status.code(), text(&out.stderr)), (Some(2), refused.to_string()));
    std::fs::write(&config, "[sandbox]\nplanning_budget_secs = 0\n").unwrap();
    let out = cutover(&["serve", "--config", config.to_str().unwrap()])
        .env("LINEAR_API_KEY", "k")
        .env("CUTOVER_DATABASE_URL", live)
        .output()
        .await
        .unwrap();
    assert_eq!(text(&out.stderr), "error: [sandbox] planning_budget_secs must be at least 1\n");
}

/// Without --dev-url the demo starts its own private scratch server (socket only, a
/// password), whose connection string is in libpq's key=value form.
#[tokio::test]
async fn demo_runs_on_its_own_private_server() {
    let tmp = tempfile::Builder::new().prefix("cod").tempdir_in("/tmp").unwrap();
    let out = cutover(&["demo"]).env("TMPDIR", tmp.path()).output().await.unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.lines().any(|l| l.starts_with("Agent session: ") && l.ends_with(" activities, status complete.")),
        "{stdout}"
    );
    assert!(stdout.contains("ENG-1 is \"Done\""), "the rollout completed the issue: {stdout}");
    assert!(!stdout.contains("password=") && !stderr.contains("password="), "{stdout}\n{stderr}");
}

#[tokio::test]
async fn demo_runs_the_whole_loop_with_nothing_set_up() {
    let out = cutover(&["demo", "--dev-url", admin_url()]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    for line in [
        "  ✓ move ENG-1 to \"In Progress\"",
        "  ✓ comment on ENG-1: ## Migration plan: 4 phases, 14 steps for PostgreSQL 15",
        "  ✓ create sub-issue of ENG-1: \"ENG-1 · phase 2 of 4: backfill (1 step)\"",
        "  ✓ relate: ENG-4 blocks ENG-5",
        "ENG-1 is \"Done\", labelled schema-change, zero-downtime, backfill, high-risk, data-integrity.",
        "Cutover says (response): Done: every phase of ENG-1 ran and verification passed. Verified the phase's results and the validation plan: 12 check(s) passed.",
        "customers.loyalty_points is bigint; 20,000 customers and 2,000 orders, none lost; orders.refunded_at exists; orders.legacy_ref is dropped.",
        "  ✓ open or update the pull request priya/eng-1-refunds-bigger-loyalty-balances-order-history-index → main in GitHub acme/shop: \"ENG-1: Refunds, bigger loyalty balances, order history index\"",
        "ENG-1 links the pull request https://github.com/acme/shop/pull/1 (ENG-1: Refunds, bigger loyalty balances, order history index).",
        "  link: Pull request acme/shop#1 https://github.com/acme/shop/pull/1",
        "Pull request #1 https://github.com/acme/shop/pull/1 (priya/eng-1-refunds-bigger-loyalty-balances-order-history-index → main, 1 commit):",
        "    │ Part of ENG-1",
        "    │ ## Review checklist",
        "    │ ## Application impact",
    ] {
        assert!(stdout.lines().any(|l| l == line), "missing {line:?} in:\n{stdout}");
    }
    // How many files depends on the plan and the writer; the branch and the numbering do not.
    for prefix in [
        "  ✓ push branch priya/eng-1-refunds-bigger-loyalty-balances-order-history-index to GitHub acme/shop: one commit with ",
        "  + db/migrations/0002_eng_1_refunds_bigger_loyalty_balances_order_history_index_expand_1.sql (",
    ] {
        assert!(stdout.lines().any(|l| l.starts_with(prefix)), "missing {prefix:?} in:\n{stdout}");
    }
    assert!(!stdout.contains('✗'), "{stdout}");
}

/// `cutover serve` as a child process; returns it and its webhook URL.
async fn serve(s: &Setup, store: &str) -> (tokio::process::Child, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = cutover(&["serve", "--listen", "127.0.0.1:0", "--store", store, "--dev-url", admin_url()])
        .env("LINEAR_API_URL", s.fake.url())
        .env("LINEAR_OAUTH_TOKEN", s.fake.oauth_token())
        .env("LINEAR_WEBHOOK_SECRET", "serve-secret")
        .env("CUTOVER_DATABASE_URL", s.db.url())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next_line().await.unwrap().expect("serve printed its address");
        if let Some(rest) = line.strip_prefix("cutover: serving Linear webhooks on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn serve_killed_mid_flow_resumes_without_losing_or_doubling_anything() {
    use cutover_linear_fake::{DeliveryConfig, deliver};
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let app = s.fake.app_user_id();
    let plan_comments =
        |s: &Setup| s.fake.comments("ENG-1").into_iter().filter(|c| c.user_id == app && c.parent_id.is_none()).count();

    let (mut first, url) = serve(&s, &store).await;
    let (session, event) = s.fake.delegate_to_app("ENG-1").unwrap();
    let delivered = deliver(&url, "serve-secret", "AgentSessionEvent", &event, &DeliveryConfig::default()).await;
    assert!(delivered.delivered());
    // The job is stored; kill the worker while it plans (SIGKILL: no cleanup at all).
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    first.start_kill().unwrap();
    first.wait().await.unwrap();

    let (_second, url) = serve(&s, &store).await;
    wait_for("the plan comment", || plan_comments(&s) == 1).await;
    wait_for("the approval question", || {
        s.fake.agent_session(&session).is_some_and(|v| v.activities.iter().any(|a| a.kind == "elicitation"))
    })
    .await;
    let event = s.fake.prompt(&session, "Approve plan", None).unwrap();
    assert!(deliver(&url, "serve-secret", "AgentSessionEvent", &event, &DeliveryConfig::default()).await.delivered());
    wait_for("the final response", || {
        s.fake.agent_session(&session).is_some_and(|v| v.activities.iter().any(|a| a.kind == "response"))
    })
    .await;

    assert_eq!(plan_comments(&s), 1);
    let kinds: Vec<String> = s
        .fake
        .agent_session(&session)
        .unwrap()
        .activities
        .into_iter()
        .filter(|a| a.user_id == app)
        .map(|a| a.kind)
        .collect();
    assert_eq!(kinds, ["thought", "elicitation", "response"]);
    // One sub-issue per phase and two for the application's work, in one chain.
    assert_eq!(s.fake.write_count("issueCreate"), 6);
    assert_eq!(s.fake.relations().len(), 5);
}

#[tokio::test]
async fn serve_waits_for_linear_at_start_and_stops_on_rejected_credentials() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let s = setup().await;
    // Nothing listens on this port: serve keeps asking instead of exiting.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut child = cutover(&["serve", "--listen", "127.0.0.1:0", "--store", "sqlite::memory:"])
        .env("LINEAR_API_URL", format!("http://{closed}/graphql"))
        .env("LINEAR_OAUTH_TOKEN", "tok")
        .env("LINEAR_WEBHOOK_SECRET", "s")
        .env("CUTOVER_DATABASE_URL", s.db.url())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    assert!(
        first.starts_with("cutover: Linear is not reachable yet (could not reach Linear: connection failed"),
        "{first}"
    );
    child.start_kill().unwrap();

    let out = cutover(&["serve", "--listen", "127.0.0.1:0", "--store", "sqlite::memory:"])
        .env("LINEAR_API_URL", s.fake.url())
        .env("LINEAR_OAUTH_TOKEN", "not-the-token")
        .env("LINEAR_WEBHOOK_SECRET", "s")
        .env("CUTOVER_DATABASE_URL", s.db.url())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .starts_with("error: could not ask Linear who Cutover is (viewer): Linear rejected the credentials"),
        "{}",
        text(&out.stderr)
    );
}

/// Credentials for one workspace and a configured organization of another: `serve` refuses to
/// start rather than serve (or refuse) the wrong workspace's webhooks.
#[tokio::test]
async fn serve_refuses_credentials_of_another_organization_than_the_configured_one() {
    let s = setup().await;
    let out = cutover(&["serve", "--listen", "127.0.0.1:0", "--store", "sqlite::memory:"])
        .env("LINEAR_API_URL", s.fake.url())
        .env("LINEAR_OAUTH_TOKEN", s.fake.oauth_token())
        .env("LINEAR_WEBHOOK_SECRET", "s")
        .env("LINEAR_ORGANIZATION_ID", "another-organization")
        .env("CUTOVER_DATABASE_URL", s.db.url())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: the configured organization another-organization (LINEAR_ORGANIZATION_ID, [linear] organization_id) is not the one the Linear credentials belong to: {} (acme)\n",
            s.fake.organization_id()
        )
    );
}

#[tokio::test]
async fn github_settings_are_checked_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cutover.toml");
    let live = "postgresql://app@localhost:5432/shop";
    let run = |toml: &str, env: &[(&str, &str)]| {
        std::fs::write(&config, toml).unwrap();
        let mut cmd = cutover(&["serve", "--config", config.to_str().unwrap()]);
        cmd.env("LINEAR_API_KEY", "k").env("CUTOVER_DATABASE_URL", live);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output()
    };
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 6] = [
        (
            "[github]\nrepository = \"acme/shop\"\n",
            &[],
            "error: [github] repository is set but there are no GitHub credentials: set GITHUB_TOKEN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY\n",
        ),
        (
            "[github]\nrepository = \"acme/shop\"\n",
            &[("GITHUB_APP_ID", "12")],
            "error: GITHUB_APP_ID is set but GITHUB_APP_PRIVATE_KEY is not\n",
        ),
        (
            "[github]\nrepository = \"acme/shop\"\n",
            &[("GITHUB_APP_ID", "12"), ("GITHUB_APP_PRIVATE_KEY", "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n")],
            "error: GitHub credentials are unusable: GITHUB_APP_PRIVATE_KEY is not a PEM private key\n",
        ),
        (
            "[github]\nrepository = \"acme/../shop\"\n",
            &[("GITHUB_TOKEN", "ghp_x")],
            "error: [github] repository: \"acme/../shop\" is not a GitHub repository (owner/name)\n",
        ),
        (
            "[github]\nrepository = \"acme/shop\"\nbase = \"main..x\"\n",
            &[("GITHUB_TOKEN", "ghp_x")],
            "error: [github] base: \"main..x\" is not a usable branch name: it contains .., // or @{\n",
        ),
        (
            "[github]\nrepository = \"acme/shop\"\n[write]\nformat = \"liquibase\"\n",
            &[("GITHUB_TOKEN", "ghp_x")],
            "error: [write] format is \"liquibase\", not one of sql, golang-migrate, dbmate, flyway, sqlx, refinery, alembic, django, rails, prisma, node-pg-migrate\n",
        ),
    ];
    for (toml, env, expected) in cases {
        let out = run(toml, env).await.unwrap();
        assert_eq!((out.status.code(), text(&out.stderr)), (Some(2), expected.to_string()), "{toml}");
        // The token is never echoed.
        assert!(!text(&out.stderr).contains("ghp_x"));
    }
}

/// `cutover serve` with a GitHub repository, SIGKILLed while it pushes the branch, with 30% of
/// GitHub's answers failing (half of them after the request was applied), then restarted on
/// the same store: exactly one branch, one commit and one pull request, attached once.
#[tokio::test]
async fn serve_killed_while_it_opens_the_pull_request_opens_exactly_one() {
    use cutover_github_fake::{Failure as GitHubFailure, FakeGitHub};
    use cutover_linear_fake::{DeliveryConfig, deliver};
    use tokio::io::{AsyncBufReadExt, BufReader};
    let s = setup().await;
    let github = FakeGitHub::start().await.unwrap();
    github.add_repo("acme/shop", "main", &[("db/migrations/0001_shop.sql", SHOP)]);
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let config = dir.path().join("cutover.toml");
    std::fs::write(&config, "[github]\nrepository = \"acme/shop\"\n").unwrap();
    let start = || async {
        let mut child = cutover(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--store",
            &store,
            "--dev-url",
            admin_url(),
            "--config",
            config.to_str().unwrap(),
        ])
        .env("LINEAR_API_URL", s.fake.url())
        .env("LINEAR_OAUTH_TOKEN", s.fake.oauth_token())
        .env("LINEAR_WEBHOOK_SECRET", "serve-secret")
        .env("CUTOVER_DATABASE_URL", s.db.url())
        .env("GITHUB_API_URL", github.url())
        .env("GITHUB_TOKEN", github.token())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            let line = lines.next_line().await.unwrap().expect("serve printed its address");
            if let Some(rest) = line.strip_prefix("cutover: serving Linear webhooks on ") {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        (child, url)
    };
    let (mut first, url) = start().await;
    let (session, event) = s.fake.delegate_to_app("ENG-1").unwrap();
    assert!(deliver(&url, "serve-secret", "AgentSessionEvent", &event, &DeliveryConfig::default()).await.delivered());
    wait_for("the approval question", || {
        s.fake.agent_session(&session).is_some_and(|v| v.activities.iter().any(|a| a.kind == "elicitation"))
    })
    .await;
    github.set_failure_rate(0.3, 11, vec![GitHubFailure::ServerError, GitHubFailure::LostResponse]);
    let event = s.fake.prompt(&session, "Approve plan", None).unwrap();
    assert!(deliver(&url, "serve-secret", "AgentSessionEvent", &event, &DeliveryConfig::default()).await.delivered());
    // Killed once it has started writing to GitHub (SIGKILL: no cleanup at all).
    wait_for("the first write to GitHub", || github.requests().iter().any(|r| r.method == "POST")).await;
    first.start_kill().unwrap();
    first.wait().await.unwrap();

    let (_second, _) = start().await;
    wait_for("the final response", || {
        s.fake.agent_session(&session).is_some_and(|v| v.activities.iter().any(|a| a.kind == "response"))
    })
    .await;
    github.clear_failures();
    assert!(github.requests().iter().any(|r| r.fault.is_some()), "no fault was injected");
    let branch = s.fake.issue("ENG-1").unwrap().branch_name;
    assert_eq!(github.branches("acme/shop").len(), 2, "{:?}", github.branches("acme/shop"));
    assert_eq!(github.commits_ahead("acme/shop", &branch, "main").len(), 1);
    assert_eq!(github.commit_objects("acme/shop"), 2, "the seed and the one commit");
    assert_eq!(github.pulls("acme/shop").len(), 1);
    assert_eq!(s.fake.attachments("ENG-1").len(), 1);
    assert!(github.files("acme/shop", &branch).contains_key("db/migrations/0002_eng_1_refunds_expand_1.sql"));
}
