//! `cutover issue` and `cutover serve`: the Linear agent from a terminal and as a service.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use cutover_agent::RolloutConfig;
use cutover_agent::pull_request::{GitHubTarget, WriteSettings};
use cutover_agent::writes::Write;
use cutover_agent::{
    FlowContext, Intake, Loops, PlanningConfig, PruneSettings, Wakeup, WorkerSettings, drain, job_for, system_clock,
};
use cutover_db_postgres::connect::Target;
use cutover_db_postgres::scratch::DevServer;
use cutover_jobs::Store;
use cutover_linear::webhook::{Identity, WebhookSecret};
use cutover_linear::{ClientConfig, LinearClient, Trigger};

use super::Outcome;
use crate::cli::{AgentArgs, IssueArgs, ServeArgs};
use crate::config::{self, AgentConfig};

struct Wired {
    config: AgentConfig,
    ctx: FlowContext,
}

async fn wire(args: &AgentArgs, store_override: Option<&str>) -> anyhow::Result<Wired> {
    let mut config = config::load(args.config.as_deref())?;
    if let Some(store) = &args.store {
        config.store_url = store.clone();
    }
    if let Some(dev) = &args.dev_url {
        config.dev_url = Some(dev.clone());
    }
    let client = LinearClient::new(ClientConfig::new(config.api_url.clone(), config.credentials.clone()))
        .context("could not set up the Linear client")?;
    let store_url = store_override.unwrap_or(&config.store_url).to_string();
    let store =
        Store::open(&store_url).await.with_context(|| format!("could not open the store {}", redact(&store_url)))?;
    if let Some(dev) = &config.dev_url {
        config::refuse_dev_url_on_live_database(dev, &config.database_url)?;
    }
    let planning = PlanningConfig {
        database_url: config.database_url.clone(),
        dev: DevServer::new(config.dev_url.clone()),
        repo_dir: config.repo_dir.clone(),
        sandbox: config.sandbox.clone(),
        budget: config.planning_budget,
        lint: config.lint.clone(),
    };
    let github = match &config.github {
        Some(github) => {
            let client = cutover_github::GitHubClient::new(cutover_github::ClientConfig::new(
                github.api_url.clone(),
                github.credentials.clone(),
            ))
            .context("could not set up the GitHub client")?;
            Some(GitHubTarget {
                client,
                repo: github.repo.clone(),
                base: github.base.clone(),
                write: WriteSettings {
                    format: github.format,
                    directory: github.directory.clone(),
                    backfill_threshold_rows: github
                        .backfill_threshold_rows
                        .unwrap_or(cutover_write::DEFAULT_BACKFILL_THRESHOLD_ROWS),
                },
            })
        }
        None => None,
    };
    let rollout = match &config.rollout {
        Some(settings) => {
            let migrate = Target::parse(&settings.migrate_url).context("CUTOVER_MIGRATE_URL")?;
            let read = Target::parse(&config.database_url).context("CUTOVER_DATABASE_URL")?;
            let mut rollout = RolloutConfig::new(migrate, read);
            rollout.soak = settings.soak;
            rollout.from_session = settings.from_session;
            rollout.from_sub_issue = settings.from_sub_issue;
            rollout.checkpoint_every = settings.checkpoint_every;
            rollout.apply.client_host = super::apply::host_name();
            Some(rollout)
        }
        None => None,
    };
    let llm = match &config.llm {
        Some(llm) => Some(cutover_agent::drafting::Drafter {
            client: cutover_llm::Client::new(llm.client.clone()).context("could not set up the model client")?,
            config: llm.draft.clone(),
        }),
        None => None,
    };
    let ctx = FlowContext { client, store, planning, outbox_wakeup: Wakeup::default(), github, rollout, llm };
    Ok(Wired { config, ctx })
}

fn redact(url: &str) -> String {
    cutover_db_postgres::connect::redact(url)
}

/// `cutover issue ENG-123 [--dry-run]`.
pub async fn issue(args: IssueArgs) -> anyhow::Result<Outcome> {
    // A dry run keeps its decisions in memory: nothing it decides may be sent later.
    let wired = wire(&args.agent, args.dry_run.then_some("sqlite::memory:")).await?;
    let ctx = &wired.ctx;
    let issue =
        ctx.client.issue(&args.issue).await.with_context(|| format!("could not read {} from Linear", args.issue))?;
    let trigger = Trigger::IssueDelegated { issue_id: issue.id.clone(), identifier: issue.identifier.clone() };
    let job = job_for(&trigger).context("no job for the issue")?;
    ctx.store.enqueue(&job).await?;
    let settings = WorkerSettings::default();
    if args.dry_run {
        // Each job once: a job that fails (Linear refused a query, the database could not be
        // read) fails the dry run, instead of being put off to a retry that never comes.
        while let Some(job) = ctx.store.claim_job(&settings.name, settings.lease).await? {
            if let Err(err) = cutover_agent::flow::run_job(ctx, &job).await {
                anyhow::bail!("the dry run of {} failed, nothing was written to Linear: {err}", issue.identifier);
            }
            // The dry run's store is in memory and its only worker is this one.
            let _ = ctx.store.finish_job(&job).await?;
        }
        let items = ctx.store.outbox_items(&issue.id).await?;
        let to = if ctx.github.is_some() { "Linear and GitHub" } else { "Linear" };
        println!("Dry run for {}: {} write(s) to {to} would be made, in this order.", issue.identifier, items.len());
        for (n, item) in items.iter().enumerate() {
            let write: Write = serde_json::from_value(item.op.clone())?;
            println!("\n{}. {}", n + 1, write.describe().replace(&issue.id, &issue.identifier));
            if let Some(body) = write.body() {
                for line in body.lines() {
                    println!("   | {line}");
                }
            }
        }
        return Ok(Outcome::Success);
    }
    drain(ctx, &settings).await?;
    let items = ctx.store.outbox_items(&issue.id).await?;
    let failed: Vec<_> = items.iter().filter(|i| i.state == cutover_jobs::OutboxState::Failed).collect();
    for item in &items {
        let write: Write = serde_json::from_value(item.op.clone())?;
        println!("{:<7} {}", item.state.as_str(), write.describe().replace(&issue.id, &issue.identifier));
    }
    if failed.is_empty() {
        Ok(Outcome::Success)
    } else {
        anyhow::bail!(
            "{} write(s) to Linear failed; the first: {}",
            failed.len(),
            failed[0].last_error.as_deref().unwrap_or("unknown")
        )
    }
}

/// `cutover serve`.
pub async fn serve(args: ServeArgs) -> anyhow::Result<Outcome> {
    let wired = wire(&args.agent, None).await?;
    let Some(secret) = wired.config.webhook_secret.clone() else {
        anyhow::bail!("LINEAR_WEBHOOK_SECRET is not set: Cutover refuses webhooks it cannot verify")
    };
    let listen = args.listen.clone().unwrap_or_else(|| wired.config.listen.clone());
    let started = chrono::Utc::now();
    let viewer = who_am_i(&wired.ctx.client).await?;
    let mut handles = wired.config.mention_handles.clone();
    if let Some(name) = &viewer.user.display_name {
        handles.push(format!("https://linear.app/{}/profiles/{name}", viewer.organization.url_key));
        handles.push(format!("@{name}"));
    }
    // The credentials' workspace is the installation; a configured id must agree with it.
    let organization = viewer.organization.id.clone();
    if let Some(configured) = &wired.config.organization_id
        && *configured != organization
    {
        anyhow::bail!(
            "the configured organization {configured} (LINEAR_ORGANIZATION_ID, [linear] organization_id) is not the one the Linear credentials belong to: {organization} ({})",
            viewer.organization.url_key
        );
    }
    let identity = Identity {
        organization_id: Some(organization),
        app_user_id: Some(viewer.user.id.clone()),
        mention_handles: handles,
    };
    let jobs_wakeup = Wakeup::default();
    let intake = Intake {
        store: wired.ctx.store.clone(),
        secret: WebhookSecret::new(secret),
        identity: Arc::new(RwLock::new(identity)),
        clock: system_clock(),
        wakeup: jobs_wakeup.clone(),
        counters: Default::default(),
    };
    let released = wired.ctx.store.recover_after_restart().await.context("could not recover the store")?;
    if released > 0 {
        eprintln!("cutover: resuming {released} job(s) a previous run left unfinished");
    }
    // Delegations whose webhooks Linear gave up on while Cutover was down: taken up in the
    // background, so webhooks are served from the first second.
    {
        let (ctx, app_user, wakeup) = (wired.ctx.clone(), viewer.user.id.clone(), jobs_wakeup.clone());
        tokio::spawn(async move {
            match cutover_agent::reconcile::missed_delegations(&ctx, &app_user, started).await {
                Ok(queued) if !queued.is_empty() => {
                    eprintln!(
                        "cutover: taking up {} delegation(s) made while it was not running: {}",
                        queued.len(),
                        queued.join(", ")
                    );
                    wakeup.wake();
                }
                Ok(_) => {}
                Err(err) => eprintln!("cutover: could not look for delegations missed while it was down: {err}"),
            }
        });
    }
    let settings = WorkerSettings::default();
    let loops = Loops::default();
    loops.spawn("jobs", cutover_agent::job_loop(wired.ctx.clone(), settings.clone(), jobs_wakeup));
    if wired.ctx.rollout.is_some() {
        loops.spawn("rollout", cutover_agent::rollout_loop(wired.ctx.clone(), settings.clone(), Wakeup::default()));
    }
    loops.spawn(
        "outbox",
        cutover_agent::outbox_loop(
            wired.ctx.client.clone(),
            wired.ctx.github.as_ref().map(|g| g.client.clone()),
            wired.ctx.store.clone(),
            settings,
            wired.ctx.outbox_wakeup.clone(),
        ),
    );
    let prune = PruneSettings { older_than: wired.config.prune_after, ..PruneSettings::default() };
    loops.spawn("prune", cutover_agent::prune_loop(wired.ctx.store.clone(), prune));
    let listener =
        tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("could not listen on {listen}"))?;
    eprintln!(
        "cutover: serving Linear webhooks on http://{}/webhooks/linear as {} (store {})",
        listener.local_addr()?,
        viewer.user.name,
        redact(&wired.config.store_url)
    );
    axum::serve(listener, cutover_agent::server::router(intake, loops))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the HTTP server stopped")?;
    // Give in-flight writes a moment; anything unsent stays in the outbox for the next start.
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(Outcome::Success)
}

/// SIGINT or SIGTERM. Work in progress is safe either way: it resumes from the store.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

/// Asks Linear who Cutover is, waiting out an outage at start-up (webhooks are not taken
/// before Cutover knows its own user id: it must ignore its own writes). Credentials Linear
/// rejects end the command.
async fn who_am_i(client: &LinearClient) -> anyhow::Result<cutover_linear::types::Viewer> {
    let mut delay = Duration::from_secs(1);
    loop {
        match client.viewer().await {
            Ok(viewer) => return Ok(viewer),
            Err(err) if err.is_retryable() => {
                eprintln!("cutover: Linear is not reachable yet ({err}); retrying in {}s", delay.as_secs());
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(60));
            }
            Err(err) => return Err(anyhow::Error::new(err).context("could not ask Linear who Cutover is (viewer)")),
        }
    }
}
