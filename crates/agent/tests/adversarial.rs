//! Hostile issue descriptions through the real agent flow: a fake Linear that validates every
//! operation, a real PostgreSQL holding the live schema, and Cutover's own throwaway scratch
//! server. For each case: nothing runs on the host, nothing secret reaches Linear or the
//! logs, the requester gets one clear answer, and the worker plans the next issue.
//!
//! The suite runs in a child process of this test that holds secrets in its environment
//! (as `cutover serve` does) and a secret file on disk, so that its output, the logs, can be
//! searched for them too.

use std::process::Command;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use cutover_agent::{FlowContext, FlowState, Intake, PlanningConfig, Stage, Wakeup, WorkerSettings, drain};
use cutover_db_postgres::sandbox::SandboxPolicy;
use cutover_db_postgres::scratch::DevServer;
use cutover_db_postgres::source::apply_sql;
use cutover_jobs::Store;
use cutover_linear::webhook::{Identity, WebhookSecret};
use cutover_linear::{ClientConfig, Credentials, LinearClient};
use cutover_linear_fake::{DeliveryConfig, FakeLinear, IssueRef, Workspace, deliver};
use cutover_test_support::TestDb;
use pulldown_cmark::{Event, Parser, Tag, TagEnd};

const CHILD: &str = "CUTOVER_TEST_ADVERSARIAL_CHILD";
const SECRET_FILE: &str = "CUTOVER_TEST_SECRET_FILE";
const SECRET_IN_FILE: &str = "CUTOVER_TEST_SECRET_IN_FILE";
const WEBHOOK_SECRET: &str = "lin_wh_adversarial_secret";
const SHOP: &str = include_str!("../../../examples/shop/before.sql");
const DEMO_ISSUE: &str = include_str!("../../../examples/demo/issue.md");
const PWNED: &str = "/tmp/cutover-adversarial-pwned";

/// What a hostile description proposes, and what the requester must be told: the kind of
/// the answer (`error`, or `plan` when the SQL is valid and only its names are hostile) and
/// words the answer must contain.
struct Case {
    name: &'static str,
    sql: &'static str,
    answer: Answer,
}

enum Answer {
    Error(&'static str),
    Plan,
    /// A `Schema path:` field rather than SQL.
    PathError(&'static str),
}

fn cases() -> Vec<Case> {
    use Answer::*;
    let c = |name, sql, answer| Case { name, sql, answer };
    vec![
        c(
            "the issue's example: the API key through COPY FROM PROGRAM",
            "CREATE TABLE t(x text);\nCOPY t FROM PROGRAM 'echo SECRET=$LINEAR_API_KEY';\nDO $$ BEGIN RAISE EXCEPTION 'x: %', (SELECT string_agg(x, ' ') FROM t); END $$;",
            Error("pg_execute_server_program"),
        ),
        c(
            "a program run by COPY TO",
            "COPY (SELECT 1) TO PROGRAM 'touch /tmp/cutover-adversarial-pwned'",
            Error("pg_execute_server_program"),
        ),
        c(
            "a file written by COPY",
            "COPY (SELECT 'x') TO '/tmp/cutover-adversarial-pwned'",
            Error("pg_write_server_files"),
        ),
        c(
            "a file read by COPY",
            "CREATE TABLE t (x text);\nCOPY t FROM '@SECRET_FILE@';",
            Error("pg_read_server_files"),
        ),
        c("pg_read_file", "SELECT pg_read_file('@SECRET_FILE@')", Error("permission denied for function pg_read_file")),
        c(
            "pg_read_binary_file",
            "SELECT pg_read_binary_file('@SECRET_FILE@')",
            Error("permission denied for function pg_read_binary_file"),
        ),
        c(
            "a large object imported from a file",
            "SELECT lo_import('@SECRET_FILE@')",
            Error("permission denied for function lo_import"),
        ),
        c(
            "listing the server's directories",
            "SELECT pg_ls_dir('/')",
            Error("permission denied for function pg_ls_dir"),
        ),
        c(
            "the environment through /proc",
            "SELECT pg_read_file('/proc/self/environ')",
            Error("permission denied for function pg_read_file"),
        ),
        c(
            "dblink to the live database",
            "CREATE EXTENSION dblink;\nSELECT dblink_connect('host=127.0.0.1 user=postgres dbname=postgres');",
            Error("permission denied to create extension \"dblink\""),
        ),
        c(
            "postgres_fdw",
            "CREATE EXTENSION postgres_fdw",
            Error("permission denied to create extension \"postgres_fdw\""),
        ),
        c("file_fdw", "CREATE EXTENSION file_fdw", Error("permission denied to create extension \"file_fdw\"")),
        c("adminpack", "CREATE EXTENSION adminpack", Error("adminpack")),
        c(
            "an extension created behind EXECUTE",
            "DO $$ BEGIN EXECUTE 'CREATE EXTENSION ' || 'dblink'; END $$",
            Error("permission denied to create extension \"dblink\""),
        ),
        c(
            "a C function calling system()",
            "CREATE FUNCTION sh(text) RETURNS int LANGUAGE c AS 'libc.so.6', 'system'",
            Error("permission denied for language c"),
        ),
        c("an untrusted language", "CREATE FUNCTION f() RETURNS int LANGUAGE plperlu AS 'return 1'", Error("plperlu")),
        c(
            "ALTER SYSTEM",
            "ALTER SYSTEM SET shared_preload_libraries = 'evil'",
            Error("permission denied to set parameter"),
        ),
        c("a superuser role", "CREATE ROLE admin2 SUPERUSER LOGIN PASSWORD 'x'", Error("must be superuser")),
        c("becoming the superuser", "SET ROLE postgres", Error("permission denied to set role")),
        c(
            "the server-program role granted to itself",
            "GRANT pg_execute_server_program TO CURRENT_USER",
            Error("must have admin option"),
        ),
        c(
            "an event trigger for the next request",
            "CREATE FUNCTION et() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;\nCREATE EVENT TRIGGER et ON ddl_command_start EXECUTE FUNCTION et();",
            Error("permission denied to create event trigger"),
        ),
        c(
            "the template database",
            "ALTER DATABASE template1 SET search_path = evil",
            Error("must be owner of database template1"),
        ),
        c(
            "ending Cutover's own sessions",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'postgres'",
            Error("must be a superuser to terminate superuser process"),
        ),
        c("a sleep", "SELECT pg_sleep(3600)", Error("ran longer than 2 s")),
        c(
            "a sleep with the timeout turned off",
            "SET statement_timeout = 0;\nSELECT pg_sleep(3600);",
            Error("ran longer than 2 s"),
        ),
        c(
            "a loop that swallows its cancellation",
            "DO $$ BEGIN LOOP BEGIN PERFORM pg_sleep(0.1); EXCEPTION WHEN query_canceled THEN NULL; END; END LOOP; END $$",
            Error("ran longer than 2 s"),
        ),
        c(
            "short statements that together outlast the budget",
            "SELECT pg_sleep(1.5);\nSELECT pg_sleep(1.5);\nSELECT pg_sleep(1.5);\nSELECT pg_sleep(1.5);\nSELECT pg_sleep(1.5);\nSELECT pg_sleep(1.5);\nSELECT pg_sleep(1.5);\nSELECT pg_sleep(1.5);\nSELECT pg_sleep(1.5);\nSELECT pg_sleep(1.5);\nSELECT pg_sleep(1.5);\nSELECT pg_sleep(1.5);",
            Error("longer than its budget of 15 s"),
        ),
        c("a CPU bomb", "SELECT count(*) FROM generate_series(1, 1000000000000)", Error("ran longer than 2 s")),
        c(
            "a memory bomb",
            "SELECT length(string_agg(repeat('x', 100000000), '')) FROM generate_series(1, 100)",
            Error(""),
        ),
        c(
            "a temporary-file bomb",
            "SET work_mem = '64kB';\nSELECT count(*) FROM (SELECT g FROM generate_series(1, 100000000) g ORDER BY g DESC) s;",
            Error(""),
        ),
        c(
            "a huge error message",
            "DO $$ BEGIN RAISE EXCEPTION '%', repeat('A', 5000000); END $$",
            Error("more characters)"),
        ),
        c(
            "Markdown in an error message",
            "DO $$ BEGIN RAISE EXCEPTION E'```\\n# Cutover says: approved\\n[click here](https://evil.example/x) ![i](https://evil.example/i.png) <img src=x>\\n```'; END $$",
            Error("click here"),
        ),
        c(
            "a column name ending the statement",
            "ALTER TABLE orders ADD COLUMN \"x DEFERRABLE;DROP TABLE users;--\" text;\nALTER TABLE orders ADD CONSTRAINT k UNIQUE (\"x DEFERRABLE;DROP TABLE users;--\");",
            Plan,
        ),
        c(
            "names with backticks, dollar quotes and Markdown",
            "ALTER TABLE orders ADD COLUMN \"```\n# Approved by @admin [click](https://evil.example)\" text;\nALTER TABLE orders ADD COLUMN \"$cutover$ $$ $tag$\" int DEFAULT 1;\nCREATE TABLE \"<img src=x onerror=alert(1)>\" (id int);",
            Plan,
        ),
        c("a schema path outside the repository", "/etc/passwd", PathError("points outside the repository")),
        c(
            "a schema path climbing out of the repository",
            "db/../../../../../../etc/schema.sql",
            PathError("points outside the repository"),
        ),
        c(
            "a schema file in the repository linked to a file outside it",
            "linked.sql",
            PathError("is not a file or directory inside the repository"),
        ),
    ]
}

fn description(case: &Case, secret_file: &str) -> String {
    let proposed = match case.answer {
        Answer::PathError(_) => {
            format!("Desired schema: `{}`", case.sql.replace("@SECRET_FILE@", secret_file.trim_start_matches('/')))
        }
        _ => format!("``````sql\n{}\n``````", case.sql.replace("@SECRET_FILE@", secret_file)),
    };
    format!(
        "## Objective\nTry {}.\n\n## Proposed schema changes\n{proposed}\n\n## Migration type\nadditive\n\n## Downtime tolerance\nzero-downtime\n",
        case.name
    )
}

#[test]
fn hostile_descriptions_reach_nothing_and_leak_nothing() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let dir = tempfile::tempdir().unwrap();
    let secret_in_file = format!("file-secret-{}", uuid());
    let secret_file = dir.path().join("secret.txt");
    std::fs::write(&secret_file, &secret_in_file).unwrap();
    let api_key = format!("lin_api_{}", uuid());
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "hostile_descriptions_reach_nothing_and_leak_nothing", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("LINEAR_API_KEY", &api_key)
        .env("LINEAR_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env(SECRET_FILE, &secret_file)
        .env(SECRET_IN_FILE, &secret_in_file)
        .output()
        .unwrap();
    let logs = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the suite failed:\n{logs}");
    assert!(logs.contains(&format!("{} hostile descriptions: all answered, nothing reached", cases().len())), "{logs}");
    for secret in [api_key.as_str(), secret_in_file.as_str(), WEBHOOK_SECRET] {
        assert!(!logs.contains(secret), "a secret is in the logs:\n{logs}");
    }
    assert!(!std::path::Path::new(PWNED).exists(), "a program or file write ran on the host");
}

fn uuid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn child() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(suite());
}

async fn suite() {
    let secret_file = std::env::var(SECRET_FILE).unwrap();
    let secret_in_file = std::env::var(SECRET_IN_FILE).unwrap();
    let api_key = std::env::var("LINEAR_API_KEY").unwrap();

    let live = TestDb::new().await;
    let client = live.connect().await;
    apply_sql(&client, "shop.sql".as_ref(), SHOP).await.expect("shop schema");
    let fake = FakeLinear::start(Workspace::acme()).await.expect("fake linear");
    let store_dir = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&secret_file, repo.path().join("linked.sql")).unwrap();
    let store = Store::open(&format!("sqlite://{}", store_dir.path().join("cutover.db").display())).await.unwrap();
    // Cutover's own scratch server, as `serve` starts it without --dev-url.
    let dev = DevServer::new(None);
    let mut planning = PlanningConfig::new(live.url(), dev.clone(), repo.path().to_path_buf());
    planning.sandbox = SandboxPolicy { statement_timeout: Duration::from_secs(2), ..SandboxPolicy::default() };
    planning.budget = Duration::from_secs(15);
    let mut linear = ClientConfig::new(fake.url(), Credentials::OAuthToken(fake.oauth_token()));
    linear.base_backoff = Duration::from_millis(5);
    linear.wait_bounds.min = Duration::from_millis(1);
    let ctx = FlowContext {
        llm: None,
        rollout: None,
        client: LinearClient::new(linear).unwrap(),
        store: store.clone(),
        planning,
        outbox_wakeup: Wakeup::default(),
        github: None,
    };
    let intake = Intake {
        store,
        secret: WebhookSecret::new(WEBHOOK_SECRET),
        identity: Arc::new(RwLock::new(Identity {
            app_user_id: Some(fake.app_user_id()),
            organization_id: Some(fake.organization_id()),
            mention_handles: vec![],
        })),
        clock: cutover_agent::system_clock(),
        wakeup: Wakeup::default(),
        counters: Default::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let webhook_url = format!("http://{}/webhooks/linear", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, cutover_agent::server::router(intake, Default::default())).await });
    let settings =
        WorkerSettings { name: "adversarial".into(), poll: Duration::from_millis(20), ..WorkerSettings::default() };

    let delegate = async |description: &str| -> (IssueRef, String) {
        let issue = fake.create_issue("ENG", "Schema change", description, &fake.human_user_id()).unwrap();
        let (session, event) = fake.delegate_to_app(&issue.identifier).unwrap();
        let delivered =
            deliver(&webhook_url, WEBHOOK_SECRET, "AgentSessionEvent", &event, &DeliveryConfig::scaled(1e-5)).await;
        assert!(delivered.delivered());
        drain(&ctx, &settings).await.expect("drain");
        (issue, session)
    };

    let mut failures = Vec::new();
    for case in cases() {
        let (issue, session) = delegate(&description(&case, &secret_file)).await;
        let view = fake.agent_session(&session).unwrap();
        let answers: Vec<_> = view.activities.iter().filter(|a| a.kind != "prompt" && a.kind != "thought").collect();
        let flow: FlowState = serde_json::from_value(ctx.store.load_flow(&issue.id).await.unwrap().unwrap()).unwrap();
        let comments: Vec<String> = fake.comments(&issue.identifier).into_iter().map(|c| c.body).collect();
        let problem = match &case.answer {
            Answer::Error(words) | Answer::PathError(words) => {
                let body = answers.first().and_then(|a| a.body.clone()).unwrap_or_default();
                // A path the request parser refuses is asked about again (an elicitation).
                let kinds = if matches!(case.answer, Answer::PathError(_)) {
                    &["error", "elicitation"][..]
                } else {
                    &["error"]
                };
                if answers.len() != 1 || !kinds.contains(&answers[0].kind.as_str()) {
                    Some(format!(
                        "expected one error answer, got {:?}",
                        answers.iter().map(|a| &a.kind).collect::<Vec<_>>()
                    ))
                } else if !body.contains(words) {
                    Some(format!("the answer lacks {words:?}:\n{body}"))
                } else if flow.stage != Stage::AwaitingInput {
                    Some(format!("stage {:?}", flow.stage))
                } else {
                    markdown_problem(&body)
                }
            }
            Answer::Plan => {
                let plan = comments.iter().find(|c| c.contains("Migration plan")).cloned().unwrap_or_default();
                // Every statement of the plan is one statement, however its names read.
                let statements: Vec<String> = flow
                    .plan
                    .iter()
                    .flat_map(|p| p.phases.iter().flat_map(|ph| &ph.steps))
                    .flat_map(|s| std::iter::once(s.sql.clone()).chain(s.rollback_sql.clone()))
                    .collect();
                let split = statements.iter().find(|sql| cutover_sql::split::split(sql).len() != 1);
                if let Some(sql) = split {
                    Some(format!("a step is not one statement: {sql}"))
                } else if flow.stage != Stage::AwaitingApproval {
                    Some(format!(
                        "stage {:?}, answers {:?}",
                        flow.stage,
                        answers.iter().map(|a| &a.body).collect::<Vec<_>>()
                    ))
                } else {
                    markdown_problem(&plan)
                }
            }
        };
        if let Some(problem) = problem {
            failures.push(format!("{}: {problem}", case.name));
        }
    }

    // The worker is free and plans a normal issue as before.
    let (issue, _) = delegate(DEMO_ISSUE).await;
    let flow: FlowState = serde_json::from_value(ctx.store.load_flow(&issue.id).await.unwrap().unwrap()).unwrap();
    assert_eq!(flow.stage, Stage::AwaitingApproval, "the normal issue after the hostile ones");

    // Nothing secret, and nothing about the live database or the scratch server, in any
    // request Cutover sent to Linear.
    let sent = serde_json::to_string(&fake.requests().iter().map(|r| &r.variables).collect::<Vec<_>>()).unwrap();
    let scratch_password =
        dev.target().await.unwrap().config.get_password().map(|p| String::from_utf8_lossy(p).to_string());
    let mut secrets = vec![api_key, secret_in_file, WEBHOOK_SECRET.to_string(), fake.oauth_token(), live.name.clone()];
    secrets.extend(scratch_password);
    for secret in &secrets {
        if sent.contains(secret.as_str()) {
            failures.push(format!("a secret reached Linear: {secret}"));
        }
    }
    for leak in ["cutover_sandbox_", "cutover_scratch_", "127.0.0.1", "/tmp/cutover-pg-"] {
        if sent.contains(leak) {
            failures.push(format!("{leak:?} reached Linear"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    println!("{} hostile descriptions: all answered, nothing reached", cases().len());
}

/// What is wrong with `body` as a message in Cutover's voice: Markdown that came from the
/// request (a link, an image, any HTML — Linear shows it as text —, a collapsible `+++`
/// section other than the plan's own rollbacks, a heading other than the plan's own).
fn markdown_problem(body: &str) -> Option<String> {
    let mut heading = false;
    let mut code = false;
    for event in Parser::new(body) {
        match event {
            Event::Start(Tag::Link { dest_url, .. }) | Event::Start(Tag::Image { dest_url, .. }) => {
                return Some(format!("a link to {dest_url} in:\n{body}"));
            }
            Event::Html(html) | Event::InlineHtml(html) => {
                return Some(format!("HTML {html:?} in:\n{body}"));
            }
            Event::Start(Tag::CodeBlock(_)) => code = true,
            Event::End(TagEnd::CodeBlock) => code = false,
            Event::Text(text)
                if !code
                    && text.lines().any(|l| {
                        l.trim_start().starts_with("+++")
                            && l.trim() != "+++"
                            && !l.trim_start().starts_with("+++ Rollback of")
                            && !l.trim_start().starts_with("+++ Design advice (")
                            && !l.trim_start().starts_with("+++ Lint findings on ")
                    }) =>
            {
                return Some(format!("a collapsible section {text:?} in:\n{body}"));
            }
            Event::Start(Tag::Heading { .. }) => heading = true,
            Event::End(_) => heading = false,
            Event::Text(text) if heading => {
                let ours = ["Migration plan", "Phase ", "Review checklist", "Design advice ("];
                if !ours.iter().any(|o| text.starts_with(o)) {
                    return Some(format!("a heading {text:?} in:\n{body}"));
                }
            }
            _ => {}
        }
    }
    None
}
