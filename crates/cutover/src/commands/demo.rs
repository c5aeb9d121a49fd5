//! `cutover demo`: the agent's whole loop with nothing to set up. A throwaway PostgreSQL holds
//! the bundled shop schema with some rows (the "production" database, only read); a local
//! Linear workspace (the same fake the end-to-end tests use) holds the bundled example issue;
//! the job store is SQLite in a temp directory. The issue is delegated to Cutover by a signed
//! webhook to the real intake, the real workers plan it and write to Linear over HTTP, and the
//! demo approves the plan the way a person would, in the agent session. A local GitHub (the
//! fake the tests use) holds the shop's repository; on approval Cutover pushes a branch with
//! one commit and opens the pull request there, through the real GitHub client and outbox.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use anyhow::Context;
use cutover_agent::pull_request::{GitHubTarget, WriteSettings};
use cutover_agent::writes::Write;
use cutover_agent::{FlowContext, Intake, PlanningConfig, RolloutConfig, Wakeup, WorkerSettings, drain, system_clock};
use cutover_db_postgres::scratch::DevServer;
use cutover_db_postgres::source::apply_sql;
use cutover_github::GitHubClient;
use cutover_github_fake::FakeGitHub;
use cutover_jobs::{OutboxState, Store};
use cutover_linear::webhook::{Identity, WebhookSecret};
use cutover_linear::{ClientConfig, Credentials, LinearClient};
use cutover_linear_fake::{DeliveryConfig, FakeLinear, Workspace, deliver};

use super::Outcome;
use crate::cli::DemoArgs;

const SHOP_SCHEMA: &str = include_str!("../../../../examples/shop/before.sql");
const SHOP_DATA: &str = include_str!("../../../../examples/demo/data.sql");
const ISSUE: &str = include_str!("../../../../examples/demo/issue.md");
const GITHUB_REPO: &str = "acme/shop";
const ISSUE_TITLE: &str = "Refunds, bigger loyalty balances, order history index";

pub async fn run(args: DemoArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    println!("Cutover demo: a schema-change issue delegated to Cutover in Linear, planned against a real database.\n");

    let dev = DevServer::new(args.dev_url.clone());
    let production = dev.create_scratch().await.context("could not start PostgreSQL for the demo")?;
    let result = async {
        let client = production.connect().await?;
        apply_sql(&client, std::path::Path::new("examples/shop/before.sql"), SHOP_SCHEMA).await?;
        apply_sql(&client, std::path::Path::new("examples/demo/data.sql"), SHOP_DATA).await?;
        client.batch_execute("ANALYZE").await.context("ANALYZE")?;
        let rows: i64 = client
            .query_one(
                "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM products) + (SELECT count(*) FROM orders)",
                &[],
            )
            .await
            .context("counting the demo rows")?
            .get(0);
        println!(
            "• PostgreSQL: database {} holds the shop schema (examples/shop/before.sql) and {} rows; Cutover only reads it.",
            production.name,
            cutover_plan::planner::thousands(rows as u64)
        );
        run_flow(&dev, production.target.connection_string()).await
    }
    .await;
    production.remove().await.ok();
    let outcome = result?;
    println!("\nDone in {:.1} s.", started.elapsed().as_secs_f64());
    Ok(outcome)
}

async fn run_flow(dev: &DevServer, database_url: String) -> anyhow::Result<Outcome> {
    let fake = FakeLinear::start(Workspace::acme()).await.context("could not start the local Linear workspace")?;
    let issue = fake.create_issue("ENG", ISSUE_TITLE, ISSUE, &fake.human_user_id())?;
    println!(
        "• Linear (a local workspace, no account): Priya files {} \"{ISSUE_TITLE}\" (examples/demo/issue.md).",
        issue.identifier
    );

    let dir = tempfile::tempdir().context("could not create a temp directory for the store")?;
    let store_url = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let store = Store::open(&store_url).await?;
    println!("• Store: SQLite at {}.", dir.path().join("cutover.db").display());

    let client = LinearClient::new(ClientConfig::new(fake.url(), Credentials::OAuthToken(fake.oauth_token())))?;
    let viewer = client.viewer().await.context("asking the local Linear who Cutover is")?;
    let github = FakeGitHub::start().await.context("could not start the local GitHub")?;
    github.add_repo(
        GITHUB_REPO,
        "main",
        &[
            ("README.md", "# shop\n\nThe shop's application and its database schema.\n"),
            ("db/migrations/0001_create_shop.sql", SHOP_SCHEMA),
        ],
    );
    println!(
        "• GitHub (a local server, no account): repository {GITHUB_REPO}, default branch main, with db/migrations/0001_create_shop.sql."
    );
    let github_client = GitHubClient::new(cutover_github::ClientConfig::new(
        github.url(),
        cutover_github::Credentials::Token(github.token()),
    ))?;
    // The same database runs the phases (CUTOVER_MIGRATE_URL in production); the soak time
    // before the contract phase (1 h by default) is left out so the demo runs in one go.
    let target = cutover_db_postgres::connect::Target::parse(&database_url)?;
    let mut rollout = RolloutConfig::new(target.clone(), target);
    rollout.soak = std::time::Duration::ZERO;
    let ctx = FlowContext {
        rollout: Some(rollout),
        llm: None,
        client: client.clone(),
        store: store.clone(),
        planning: PlanningConfig::new(database_url.clone(), dev.clone(), ".".into()),
        outbox_wakeup: Wakeup::default(),
        github: Some(GitHubTarget {
            client: github_client,
            repo: cutover_github::Repo::parse(GITHUB_REPO)?,
            base: None,
            write: WriteSettings::default(),
        }),
    };
    let secret = uuid::Uuid::new_v4().to_string();
    let intake = Intake {
        store: store.clone(),
        secret: WebhookSecret::new(secret.clone()),
        identity: Arc::new(RwLock::new(Identity {
            organization_id: Some(viewer.organization.id.clone()),
            app_user_id: Some(viewer.user.id.clone()),
            mention_handles: vec![],
        })),
        clock: system_clock(),
        wakeup: Wakeup::default(),
        counters: Default::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let webhook_url = format!("http://{}/webhooks/linear", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, cutover_agent::server::router(intake, Default::default())).await });
    let settings = WorkerSettings::default();

    println!("\n── 1. Priya delegates {} to Cutover ──", issue.identifier);
    let (session_id, event) = fake.delegate_to_app(&issue.identifier)?;
    let delivery = deliver(&webhook_url, &secret, "AgentSessionEvent", &event, &DeliveryConfig::default()).await;
    anyhow::ensure!(delivery.delivered(), "the webhook was not accepted: {delivery:?}");
    println!("Linear → Cutover: signed AgentSessionEvent `created` webhook, verified and stored (HTTP 200).");
    drain(&ctx, &settings).await?;
    let shown = print_writes(&store, &fake, &issue.id, 0).await?;

    let say = |step: &str, reply: &str| format!("\n── {step}. Priya answers \"{reply}\" in the agent session ──");
    let mut shown = shown;
    let replies = [
        ("2", "Approve plan"),
        ("3", "run expand"),
        ("4", "run backfill"),
        ("5", "run switch"),
        ("6", "run contract"),
        ("7", "Approve contract"),
    ];
    for (step, reply) in replies {
        println!("{}", say(step, reply));
        let event = fake.prompt(&session_id, reply, None)?;
        let delivery = deliver(&webhook_url, &secret, "AgentSessionEvent", &event, &DeliveryConfig::default()).await;
        anyhow::ensure!(delivery.delivered(), "the webhook was not accepted: {delivery:?}");
        println!("Linear → Cutover: signed AgentSessionEvent `prompted` webhook, verified and stored (HTTP 200).");
        drain(&ctx, &settings).await?;
        shown = print_writes(&store, &fake, &issue.id, shown).await?;
        if let Some(said) = fake.agent_session(&session_id).and_then(|s| s.activities.last().cloned()) {
            println!("Cutover says ({}): {}", said.kind, said.body.unwrap_or_default().lines().next().unwrap_or(""));
        }
    }

    let parent = fake.issue(&issue.identifier).context("the issue vanished")?;
    println!("\n── In Linear now ──");
    println!("{} is \"{}\", labelled {}.", parent.identifier, parent.state.name, parent.labels.join(", "));
    for child in &parent.children {
        if let Some(sub) = fake.issue(child) {
            let checkpoints = fake.comments(&sub.identifier).len();
            println!(
                "  └ {} {} [{}] \"{}\"{}",
                sub.identifier,
                sub.title,
                sub.labels.join(", "),
                sub.state.name,
                if checkpoints > 0 { format!(", {checkpoints} checkpoint comment(s)") } else { String::new() }
            );
        }
    }
    for relation in fake.relations() {
        println!("  {} blocks {}", relation.issue, relation.related_issue);
    }
    for attachment in fake.attachments(&issue.identifier) {
        println!("{} links the pull request {} ({}).", parent.identifier, attachment.url, attachment.title);
    }
    if let Some(session) = fake.agent_session(&session_id) {
        println!("Agent session: {} activities, status {}.", session.activities.len(), session.status);
        for (label, url) in &session.external_links {
            println!("  link: {label} {url}");
        }
    }
    let pulls = github.pulls(GITHUB_REPO);
    println!("\n── On GitHub now ──");
    for pull in &pulls {
        let commits = github.commits_ahead(GITHUB_REPO, &pull.head, &pull.base);
        println!(
            "Pull request #{} {} ({} → {}, {} commit):",
            pull.number,
            pull.html_url,
            pull.head,
            pull.base,
            commits.len()
        );
        println!("  \"{}\"", pull.title);
        let base_files = github.files(GITHUB_REPO, &pull.base);
        for (path, content) in github.files(GITHUB_REPO, &pull.head) {
            if base_files.get(&path) != Some(&content) {
                println!("  + {path} ({} lines)", content.lines().count());
            }
        }
        println!();
        // The body up to the plan, which is printed in full above.
        for line in pull.body.lines().take_while(|l| *l != "## Phases") {
            println!("    │ {line}");
        }
    }
    println!("\n── In the database now ──");
    let db = cutover_db_postgres::connect::connect(&database_url).await?;
    let facts = db
        .query_one(
            "SELECT format_type(a.atttypid, a.atttypmod),
                    (SELECT count(*) FROM customers), (SELECT count(*) FROM orders),
                    EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'legacy_ref' AND NOT attisdropped),
                    EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'refunded_at' AND NOT attisdropped)
             FROM pg_attribute a WHERE a.attrelid = 'customers'::regclass AND a.attname = 'loyalty_points'",
            &[],
        )
        .await
        .context("reading the demo database")?;
    let (kind, customers, orders, legacy, refunded): (String, i64, i64, bool, bool) =
        (facts.get(0), facts.get(1), facts.get(2), facts.get(3), facts.get(4));
    println!(
        "customers.loyalty_points is {kind}; {} customers and {} orders, none lost; orders.refunded_at {}; orders.legacy_ref {}.",
        cutover_plan::planner::thousands(customers as u64),
        cutover_plan::planner::thousands(orders as u64),
        if refunded { "exists" } else { "is missing" },
        if legacy { "is still there" } else { "is dropped" }
    );
    let stats = store.stats().await?;
    anyhow::ensure!(stats.outbox_failed == 0 && stats.jobs_failed == 0, "some writes failed: {stats:?}");
    anyhow::ensure!(
        parent.state.kind == "completed" && kind == "bigint" && !legacy && refunded,
        "the demo's rollout did not finish (see Cutover's messages above)"
    );
    // The demo shows the whole loop; one that stops short of it failed, whatever it printed.
    let complete = fake.agent_session(&session_id).is_some_and(|s| s.status == "complete");
    anyhow::ensure!(
        complete && !parent.children.is_empty(),
        "the demo did not reach an approved plan with its sub-issues (see Cutover's messages above)"
    );
    anyhow::ensure!(pulls.len() == 1, "the demo did not open its pull request (see Cutover's messages above)");
    Ok(Outcome::Success)
}

/// Prints the writes Cutover made since the `shown` first, with the plan comment in full.
async fn print_writes(store: &Store, fake: &FakeLinear, flow: &str, shown: usize) -> anyhow::Result<usize> {
    let items = store.outbox_items(flow).await?;
    // Writes name issues by id; people know them by identifier.
    let issues = fake.issues();
    let readable = |text: String| issues.iter().fold(text, |t, i| t.replace(&i.id, &i.identifier));
    println!("Cutover → Linear and GitHub:");
    for item in items.iter().skip(shown) {
        let write: Write = serde_json::from_value(item.op.clone())?;
        let mark = if item.state == OutboxState::Done { "✓" } else { "✗" };
        println!("  {mark} {}", readable(write.describe()));
        if let Write::Comment { body, .. } = &write {
            println!();
            for line in body.lines() {
                println!("    │ {line}");
            }
            println!();
        }
    }
    Ok(items.len())
}
