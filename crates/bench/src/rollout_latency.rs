//! `cutover-bench rollout-latency`: from the approval reply to the pull request opened, and
//! how far behind the database a backfill's checkpoint comment is.
//!
//! The production path: signed webhooks over HTTP to the intake, the SQLite store, the job,
//! rollout and outbox loops as `cutover serve` runs them, a real PostgreSQL, the fake Linear
//! and the fake GitHub over HTTP. The approval is timed from just before its webhook is sent
//! until the fake GitHub holds the pull request. Checkpoint latency: the backfill's progress
//! in the database (`cutover.backfills.rows_done`) and the percentage its checkpoint comment
//! shows are sampled every 2 ms; for each 10% of the table, the time from the database
//! passing it to the comment showing it.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use cutover_agent::pull_request::{GitHubTarget, WriteSettings};
use cutover_agent::{FlowContext, Intake, PlanningConfig, RolloutConfig, Wakeup, WorkerSettings, system_clock};
use cutover_db_postgres::connect::Target;
use cutover_db_postgres::scratch::DevServer;
use cutover_db_postgres::source::apply_sql;
use cutover_github::{GitHubClient, Repo};
use cutover_github_fake::FakeGitHub;
use cutover_jobs::Store;
use cutover_linear::webhook::{Identity, WebhookSecret};
use cutover_linear::{ClientConfig, Credentials, LinearClient};
use cutover_linear_fake::{DeliveryConfig, FakeLinear, Workspace, deliver};

use crate::report;

const SHOP: &str = include_str!("../../../examples/shop/before.sql");
const ISSUE: &str = include_str!("../../../examples/demo/issue.md");
const REPO: &str = "acme/shop";
const SECRET: &str = "bench-secret";

pub fn main(args: &[String]) -> anyhow::Result<()> {
    let (mut runs, mut rows, mut write) = (5usize, 300_000u64, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--runs" => runs = it.next().context("--runs needs a value")?.parse()?,
            "--rows" => rows = it.next().context("--rows needs a value")?.parse()?,
            "--write" => write = Some(std::path::PathBuf::from(it.next().context("--write needs a path")?)),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut approvals = Vec::new();
    let mut lags = Vec::new();
    let mut version = String::new();
    for _ in 0..runs {
        let (approval, lag, v) = runtime.block_on(one_run(rows))?;
        approvals.push(approval);
        lags.extend(lag);
        version = v;
    }
    let body = render(runs, rows, &approvals, &lags, &version);
    print!("{body}");
    if let Some(path) = write {
        report::write_section(&path, "rollout-latency", &body)?;
    }
    Ok(())
}

async fn one_run(rows: u64) -> anyhow::Result<(Duration, Vec<Duration>, String)> {
    let server_url =
        std::env::var("CUTOVER_BENCH_DATABASE_URL").unwrap_or_else(|_| cutover_test_support::admin_url().to_string());
    let dev = DevServer::new(Some(server_url));
    let production = dev.create_scratch().await?;
    let client = production.connect().await?;
    apply_sql(&client, "shop.sql".as_ref(), SHOP).await?;
    client
        .batch_execute(&format!(
            "INSERT INTO customers (email, name, loyalty_points) SELECT 'c' || n || '@example.com', 'C ' || n, n FROM generate_series(1, {rows}) n;
             INSERT INTO orders (customer_id, status, total_cents) SELECT 1 + n % {rows}, 'paid', n FROM generate_series(1, 2000) n;
             ANALYZE"
        ))
        .await?;
    let version: String = client.query_one("SHOW server_version", &[]).await?.get(0);
    let url = production.target.connection_string();

    let fake = FakeLinear::start(Workspace::acme()).await?;
    let github = FakeGitHub::start().await?;
    github.add_repo(REPO, "main", &[("db/migrations/0001_create_shop.sql", SHOP)]);
    let dir = tempfile::tempdir()?;
    let store = Store::open(&format!("sqlite://{}", dir.path().join("cutover.db").display())).await?;
    let linear = LinearClient::new(ClientConfig::new(fake.url(), Credentials::OAuthToken(fake.oauth_token())))?;
    let github_client = GitHubClient::new(cutover_github::ClientConfig::new(
        github.url(),
        cutover_github::Credentials::Token(github.token()),
    ))?;
    let target = Target::parse(&url)?;
    let ctx = FlowContext {
        rollout: Some(RolloutConfig::new(target.clone(), target)),
        llm: None,
        client: linear.clone(),
        store: store.clone(),
        planning: PlanningConfig::new(url.clone(), dev.clone(), ".".into()),
        outbox_wakeup: Wakeup::default(),
        github: Some(GitHubTarget {
            client: github_client.clone(),
            repo: Repo::parse(REPO)?,
            base: None,
            write: WriteSettings::default(),
        }),
    };
    let jobs = Wakeup::default();
    let intake = Intake {
        store: store.clone(),
        secret: WebhookSecret::new(SECRET),
        identity: Arc::new(RwLock::new(Identity {
            organization_id: Some(fake.organization_id()),
            app_user_id: Some(fake.app_user_id()),
            mention_handles: vec![],
        })),
        clock: system_clock(),
        wakeup: jobs.clone(),
        counters: Default::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let webhook = format!("http://{}/webhooks/linear", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, cutover_agent::server::router(intake, Default::default())).await });
    // The settings `cutover serve` runs with.
    let settings = WorkerSettings::default();
    let loops = [
        tokio::spawn(cutover_agent::job_loop(ctx.clone(), settings.clone(), jobs)),
        tokio::spawn(cutover_agent::rollout_loop(ctx.clone(), settings.clone(), Wakeup::default())),
        tokio::spawn(cutover_agent::outbox_loop(
            linear,
            Some(github_client),
            store,
            settings,
            ctx.outbox_wakeup.clone(),
        )),
    ];

    let app = fake.app_user_id();
    let issue = fake.create_issue("ENG", "Refunds", ISSUE, &fake.human_user_id())?;
    let (session, event) = fake.delegate_to_app(&issue.identifier)?;
    send(&webhook, &event).await?;
    let said = |text: &'static str| {
        let fake = fake.clone();
        let session = session.clone();
        let app = app.clone();
        move || {
            fake.agent_session(&session).is_some_and(|s| {
                s.activities.iter().any(|a| a.user_id == app && a.body.as_deref().is_some_and(|b| b.contains(text)))
            })
        }
    };
    until(said("Approve"), Duration::from_secs(120)).await?;
    let started = Instant::now();
    send(&webhook, &fake.prompt(&session, "Approve plan", None)?).await?;
    until(|| !github.pulls(REPO).is_empty(), Duration::from_secs(120)).await?;
    let approval = started.elapsed();

    until(said("**expand**"), Duration::from_secs(120)).await?;
    send(&webhook, &fake.prompt(&session, "run expand", None)?).await?;
    until(said("**backfill**"), Duration::from_secs(300)).await?;
    let sub = fake
        .issues()
        .into_iter()
        .find(|i| i.parent.as_deref() == Some(&issue.identifier) && i.title.contains(": backfill ("))
        .context("no backfill sub-issue")?;
    send(&webhook, &fake.prompt(&session, "run backfill", None)?).await?;
    let db = cutover_db_postgres::connect::connect(&url).await?;
    let mut db_at: Vec<Option<Instant>> = vec![None; 11];
    let mut comment_at: Vec<Option<Instant>> = vec![None; 11];
    let deadline = Instant::now() + Duration::from_secs(600);
    while comment_at[10].is_none() {
        anyhow::ensure!(Instant::now() < deadline, "the backfill's checkpoint did not reach 100% in 10 minutes");
        let done: Option<i64> =
            db.query_opt("SELECT rows_done FROM cutover.backfills", &[]).await.ok().flatten().map(|r| r.get(0));
        let now = Instant::now();
        if let Some(done) = done {
            let decile = ((done as u64).saturating_mul(10) / rows).min(10) as usize;
            for slot in db_at.iter_mut().take(decile + 1) {
                slot.get_or_insert(now);
            }
        }
        let bodies: Vec<String> =
            fake.comments(&sub.identifier).into_iter().filter(|c| c.user_id == app).map(|c| c.body).collect();
        let ended = bodies.iter().any(|b| b.contains("**Done.**"));
        let shown = if ended { 100 } else { bodies.iter().find_map(|b| percent_in(b)).unwrap_or(0) };
        for slot in comment_at.iter_mut().take(shown as usize / 10 + 1) {
            slot.get_or_insert(now);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let lags: Vec<Duration> = (1..=10)
        .filter_map(|d| Some(comment_at[d]?.saturating_duration_since(db_at[d].unwrap_or(comment_at[d]?))))
        .collect();
    for handle in loops {
        handle.abort();
    }
    production.remove().await.ok();
    Ok((approval, lags, version))
}

/// The percentage a checkpoint comment shows for its backfill.
fn percent_in(body: &str) -> Option<u64> {
    let after = body.split("Backfill of ").nth(1)?;
    let after = after.split(": ").nth(1)?;
    after.split('%').next()?.trim().parse().ok()
}

async fn send(url: &str, event: &serde_json::Value) -> anyhow::Result<()> {
    let outcome = deliver(url, SECRET, "AgentSessionEvent", event, &DeliveryConfig::default()).await;
    anyhow::ensure!(outcome.delivered(), "a webhook was not accepted");
    Ok(())
}

async fn until(mut check: impl FnMut() -> bool, limit: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    while !check() {
        anyhow::ensure!(started.elapsed() < limit, "gave up waiting after {} s", limit.as_secs());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn render(runs: usize, rows: u64, approvals: &[Duration], lags: &[Duration], version: &str) -> String {
    let mut approvals = approvals.to_vec();
    let mut lags = lags.to_vec();
    approvals.sort();
    lags.sort();
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    let row = |name: &str, v: &[Duration], target: &str| {
        if v.is_empty() {
            return format!("| {name} | – | – | – | {target} |\n");
        }
        format!(
            "| {name} | {} | {} | {} | {target} |\n",
            ms(percentile(v, 50.0)),
            ms(percentile(v, 99.0)),
            ms(v[v.len() - 1])
        )
    };
    let mut s = String::new();
    s.push_str("## Rollout from Linear: approval to pull request, and checkpoint latency\n\n");
    s.push_str(&format!(
        "- Date: {} · Machine: {} · PostgreSQL {version} on the same machine\n",
        report::today(),
        report::machine()
    ));
    s.push_str(&format!(
        "- {runs} runs of the demo issue (examples/demo/issue.md) against the shop schema with {} customers; each run: delegation, approval (timed to the pull request), expand, then the backfill of `customers.loyalty_points` sampled every 2 ms ({} checkpoint samples in all).\n",
        cutover_plan::planner::thousands(rows),
        lags.len()
    ));
    s.push_str("- Production path: signed webhooks over HTTP, the SQLite store, the job, rollout and outbox loops with `cutover serve`'s settings (500 ms poll when idle), the fake Linear and fake GitHub over HTTP.\n");
    s.push_str("- Checkpoint latency: for each 10% of the table, from the database's `cutover.backfills.rows_done` passing it to the checkpoint comment showing it. It includes the engine's reporting interval (a progress event every 10 batches), the outbox and Linear's write.\n");
    s.push_str(&format!(
        "- Reproduce: `cargo build --release -p cutover-bench && target/release/cutover-bench rollout-latency --runs {runs} --rows {rows} --write docs/benchmarks.md`\n\n"
    ));
    s.push_str("| measure | median | p99 | max | target |\n| --- | ---: | ---: | ---: | --- |\n");
    s.push_str(&row("approval reply → pull request opened", &approvals, "under 5 s"));
    s.push_str(&row("backfill progress in the database → checkpoint comment", &lags, "under 5 s"));
    s
}
