//! `cutover-bench agent-latency`: from a delegation webhook to Cutover's first activity and to
//! the posted plan, for the demo schema, over many deliveries.
//!
//! Everything is the production path: the signed webhook goes over HTTP to the intake, which
//! stores the job in the SQLite store; the job and outbox loops (as `cutover serve` runs them)
//! plan against a real PostgreSQL and write to Linear (the fake, over HTTP). Times are taken
//! from just before the webhook is sent until the fake has applied the write.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use cutover_agent::{FlowContext, Intake, PlanningConfig, Wakeup, WorkerSettings, system_clock};
use cutover_db_postgres::scratch::DevServer;
use cutover_db_postgres::source::apply_sql;
use cutover_jobs::Store;
use cutover_linear::webhook::{Identity, WebhookSecret};
use cutover_linear::{ClientConfig, Credentials, LinearClient};
use cutover_linear_fake::{DeliveryConfig, FakeLinear, Workspace, deliver};

use crate::report;

const SHOP: &str = include_str!("../../../examples/shop/before.sql");
const SHOP_DATA: &str = include_str!("../../../examples/demo/data.sql");
const ISSUE: &str = include_str!("../../../examples/demo/issue.md");

pub fn main(args: &[String]) -> anyhow::Result<()> {
    let mut deliveries = 100usize;
    let mut write = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--deliveries" => deliveries = it.next().context("--deliveries needs a value")?.parse()?,
            "--write" => write = Some(std::path::PathBuf::from(it.next().context("--write needs a path")?)),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let (first, plan, version) = runtime.block_on(measure(deliveries))?;
    let body = render(deliveries, &first, &plan, &version);
    print!("{body}");
    if let Some(path) = write {
        report::write_section(&path, "agent-latency", &body)?;
    }
    Ok(())
}

async fn measure(n: usize) -> anyhow::Result<(Vec<Duration>, Vec<Duration>, String)> {
    let server_url =
        std::env::var("CUTOVER_BENCH_DATABASE_URL").unwrap_or_else(|_| cutover_test_support::admin_url().to_string());
    let dev = DevServer::new(Some(server_url));
    let production = dev.create_scratch().await?;
    let client = production.connect().await?;
    apply_sql(&client, "shop.sql".as_ref(), SHOP).await?;
    apply_sql(&client, "data.sql".as_ref(), SHOP_DATA).await?;
    client.batch_execute("ANALYZE").await?;
    let version: String = client.query_one("SHOW server_version", &[]).await?.get(0);

    let fake = FakeLinear::start(Workspace::acme()).await?;
    let dir = tempfile::tempdir()?;
    let store = Store::open(&format!("sqlite://{}", dir.path().join("cutover.db").display())).await?;
    let linear = LinearClient::new(ClientConfig::new(fake.url(), Credentials::OAuthToken(fake.oauth_token())))?;
    let ctx = FlowContext {
        llm: None,
        rollout: None,
        client: linear.clone(),
        store: store.clone(),
        planning: PlanningConfig::new(production.target.connection_string(), dev.clone(), ".".into()),
        outbox_wakeup: Wakeup::default(),
        github: None,
    };
    let jobs = Wakeup::default();
    let secret = "bench-secret";
    let intake = Intake {
        store: store.clone(),
        secret: WebhookSecret::new(secret),
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
    let url = format!("http://{}/webhooks/linear", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, cutover_agent::server::router(intake, Default::default())).await });
    let settings = WorkerSettings { poll: Duration::from_millis(200), ..WorkerSettings::default() };
    tokio::spawn(cutover_agent::job_loop(ctx.clone(), settings.clone(), jobs));
    tokio::spawn(cutover_agent::outbox_loop(linear, None, store, settings, ctx.outbox_wakeup.clone()));

    let (mut first, mut plan) = (Vec::new(), Vec::new());
    let app = fake.app_user_id();
    for i in 0..n + 1 {
        let issue = fake.create_issue("ENG", "Refunds", ISSUE, &fake.human_user_id())?;
        let (session, event) = fake.delegate_to_app(&issue.identifier)?;
        let started = Instant::now();
        let outcome = deliver(&url, secret, "AgentSessionEvent", &event, &DeliveryConfig::default()).await;
        anyhow::ensure!(outcome.delivered(), "delivery {i} was not accepted");
        let mut first_at = None;
        let plan_at = loop {
            if first_at.is_none()
                && fake.agent_session(&session).is_some_and(|s| s.activities.iter().any(|a| a.user_id == app))
            {
                first_at = Some(started.elapsed());
            }
            if fake.comments(&issue.identifier).iter().any(|c| c.user_id == app && c.parent_id.is_none()) {
                break started.elapsed();
            }
            anyhow::ensure!(started.elapsed() < Duration::from_secs(60), "no plan for delivery {i} after 60 s");
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        // The first delivery warms up connections and caches; it is not counted.
        if i > 0 {
            first.push(first_at.unwrap_or(plan_at));
            plan.push(plan_at);
        }
    }
    production.remove().await.ok();
    Ok((first, plan, version))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn render(n: usize, first: &[Duration], plan: &[Duration], version: &str) -> String {
    let mut first = first.to_vec();
    let mut plan = plan.to_vec();
    first.sort();
    plan.sort();
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    let row = |name: &str, v: &[Duration], target: &str| {
        format!(
            "| {name} | {} | {} | {} | {target} |\n",
            ms(percentile(v, 50.0)),
            ms(percentile(v, 99.0)),
            ms(v[v.len() - 1])
        )
    };
    let mut s = String::new();
    s.push_str("## Linear agent: delegation webhook to first activity and to the posted plan\n\n");
    s.push_str(&format!(
        "- Date: {} · Machine: {} · PostgreSQL {version} on the same machine\n",
        report::today(),
        report::machine()
    ));
    s.push_str(&format!(
        "- {n} delegations of the demo issue (examples/demo/issue.md) against the demo shop database (examples/shop/before.sql + examples/demo/data.sql, 22,050 rows), one after another, after one unmeasured warm-up.\n"
    ));
    s.push_str("- Production path end to end: a signed `AgentSessionEvent` webhook over HTTP to the intake, the job stored in SQLite, the job and outbox loops as `cutover serve` runs them, the schema read from PostgreSQL, the request applied to a scratch copy, the plan written to Linear (the fake server, over HTTP, validating every operation against Linear's schema).\n");
    s.push_str("- Timed from just before the webhook is sent until the fake Linear has applied the write.\n");
    s.push_str("- Reproduce: `cargo build --release -p cutover-bench && target/release/cutover-bench agent-latency --write docs/benchmarks.md`\n\n");
    s.push_str("| from the webhook to | median | p99 | max | target |\n| --- | ---: | ---: | ---: | --- |\n");
    s.push_str(&row("the first activity (a thought)", &first, "under 1 s"));
    s.push_str(&row("the posted plan (comment)", &plan, "under 3 s"));
    s
}
