//! `cutover draft --issue FILE`: the drafter from a terminal. The issue file (its first line
//! the title, the rest the description) goes to the configured model with the relevant part
//! of the database's schema; the checked proposal is printed (the comment the agent would
//! post, or JSON). Exit 0 with a proposal, 1 when it needs a closer look (it deletes data,
//! the design rules found something, or its plan is blocked), 2 when none could be made.

use std::path::Path;

use anyhow::Context;
use cutover_agent::PlanningConfig;
use cutover_agent::drafting;
use cutover_db_postgres::sandbox::SandboxPolicy;
use cutover_db_postgres::scratch::DevServer;
use cutover_draft::Issue;

use super::Outcome;
use crate::cli::{DraftArgs, DraftFormat};
use crate::config;

pub async fn run(args: DraftArgs) -> anyhow::Result<Outcome> {
    let (file, _) = config::load_file(args.config.as_deref())?;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let Some(llm) = config::llm(&file.llm, &env)? else { anyhow::bail!(config::LLM_NEEDED) };
    let Some(database_url) = args.database.or_else(|| env("CUTOVER_DATABASE_URL")).or(file.database.url) else {
        anyhow::bail!(
            "no database to draft against: give --database URL or set CUTOVER_DATABASE_URL (the database being migrated; Cutover only reads it)"
        )
    };
    let dev_url = args.dev_url.or_else(|| env("CUTOVER_DEV_URL")).or(file.database.dev_url);
    if let Some(dev_url) = &dev_url {
        config::refuse_dev_url_on_live_database(dev_url, &database_url)?;
    }
    let issue = read_issue(&args.issue)?;
    let mut planning = PlanningConfig::new(database_url, DevServer::new(dev_url), ".".into());
    planning.sandbox = SandboxPolicy::default();
    let client = cutover_llm::Client::new(llm.client).context("could not set up the model client")?;
    let proposal = drafting::draft(&planning, &client, &llm.draft, &issue)
        .await
        .map_err(|e| anyhow::anyhow!("no proposal for {}: {e}", args.issue.display()))?;
    match args.format {
        DraftFormat::Markdown => print!("{}", proposal.comment()),
        DraftFormat::Json => println!("{}", serde_json::to_string_pretty(&proposal)?),
    }
    eprintln!(
        "drafted with {} answer(s), {} input and {} output tokens",
        proposal.attempts, proposal.usage.input_tokens, proposal.usage.output_tokens
    );
    let attention = proposal.destructive || !proposal.findings.is_empty() || !proposal.plan.blockers.is_empty();
    Ok(if attention { Outcome::Findings } else { Outcome::Success })
}

/// The first line is the title (a leading `#` heading marker dropped); the rest, after
/// blank lines, the description.
fn read_issue(path: &Path) -> anyhow::Result<Issue> {
    let text = std::fs::read_to_string(path).with_context(|| format!("could not read {}", path.display()))?;
    let (title, description) = text.split_once('\n').unwrap_or((&text, ""));
    let title = title.trim().trim_start_matches('#').trim();
    if title.is_empty() || description.trim().is_empty() {
        anyhow::bail!(
            "{}:1: an issue file needs its title on the first line and a description after it",
            path.display()
        );
    }
    let identifier = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Issue { identifier, title: title.to_string(), description: description.trim_start_matches('\n').to_string() })
}
