//! `cutover.toml` plus the environment: the only place the binary reads configuration.
//! Secrets come only from the environment and are never printed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use cutover_db_postgres::connect::Target;
use cutover_db_postgres::sandbox::SandboxPolicy;
use cutover_linear::{Credentials, DEFAULT_API_URL};
use serde::Deserialize;

/// The file's shape. Every key is optional; unknown keys are an error naming the key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub linear: LinearSection,
    #[serde(default)]
    pub database: DatabaseSection,
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub repo: RepoSection,
    #[serde(default)]
    pub lint: LintSection,
    #[serde(default)]
    pub sandbox: SandboxSection,
    #[serde(default)]
    pub github: GitHubSection,
    #[serde(default)]
    pub write: WriteSection,
    #[serde(default)]
    pub rollout: RolloutSection,
    #[serde(default)]
    pub llm: LlmSection,
}

/// `[rollout]`: how the agent runs phases once `CUTOVER_MIGRATE_URL` lets it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutSection {
    /// The wait after the switch before the contract phase may be approved ("1h", "30m",
    /// "0"); default 1 hour.
    pub soak: Option<String>,
    /// What asks for a phase: "session" (a reply, or a comment that mentions Cutover) and
    /// "sub-issue" (its sub-issue moved to a started state); default both.
    pub start_from: Option<Vec<String>>,
    /// A backfill's checkpoint is updated every 10% and at least this often; default "5m".
    pub checkpoint_every: Option<String>,
}

/// How the agent runs phases (present when `CUTOVER_MIGRATE_URL` is set).
#[derive(Debug, Clone)]
pub struct RolloutSettings {
    pub migrate_url: String,
    pub soak: Duration,
    pub from_session: bool,
    pub from_sub_issue: bool,
    pub checkpoint_every: Duration,
}

/// "90s", "30m", "1h", "2d" or "0".
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(number.checked_mul(seconds)?))
}

fn rollout(section: RolloutSection, migrate_url: Option<String>) -> anyhow::Result<Option<RolloutSettings>> {
    let Some(migrate_url) = migrate_url else { return Ok(None) };
    Target::parse(&migrate_url)
        .map_err(|e| anyhow::anyhow!("CUTOVER_MIGRATE_URL is not a valid connection string: {e}"))?;
    let duration = |key: &str, value: Option<String>, default: Duration| -> anyhow::Result<Duration> {
        match value {
            None => Ok(default),
            Some(text) => parse_duration(&text).ok_or_else(|| {
                anyhow::anyhow!("[rollout] {key} is {text:?}, not a duration such as \"90s\", \"30m\", \"1h\" or \"0\"")
            }),
        }
    };
    let soak = duration("soak", section.soak, Duration::from_secs(3600))?;
    let checkpoint_every = duration("checkpoint_every", section.checkpoint_every, Duration::from_secs(300))?;
    if checkpoint_every.is_zero() {
        bail!("[rollout] checkpoint_every must be more than 0");
    }
    let (mut from_session, mut from_sub_issue) = (true, true);
    if let Some(sources) = section.start_from {
        from_session = false;
        from_sub_issue = false;
        for source in sources {
            match source.as_str() {
                "session" => from_session = true,
                "sub-issue" => from_sub_issue = true,
                other => bail!("[rollout] start_from has {other:?}; it takes \"session\" and \"sub-issue\""),
            }
        }
        if !from_session && !from_sub_issue {
            bail!("[rollout] start_from is empty: no phase could ever run; list \"session\", \"sub-issue\" or both");
        }
    }
    Ok(Some(RolloutSettings { migrate_url, soak, from_session, from_sub_issue, checkpoint_every }))
}

/// `[llm]`: the model the drafter asks for proposals when an issue has no DDL. Each key is
/// overridden by its `CUTOVER_LLM_*` variable; the API key comes only from
/// `CUTOVER_LLM_API_KEY`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSection {
    /// `anthropic` or `openai` (any OpenAI-compatible server).
    pub provider: Option<String>,
    /// The server (default: the provider's public API).
    pub url: Option<String>,
    pub model: Option<String>,
    /// The longest one request may take (default 120).
    pub timeout_secs: Option<u64>,
    /// The most answers asked for per issue, repairs included (default 3).
    pub attempts: Option<u32>,
    /// Input and output tokens per issue (default 60000).
    pub token_budget: Option<u64>,
    /// How long drafting one issue may take, all of it (default 300).
    pub budget_secs: Option<u64>,
}

/// The drafter's model and limits, resolved.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    pub client: cutover_llm::Config,
    pub draft: cutover_agent::drafting::DraftConfig,
}

/// What the drafter would need, for when it is not configured.
pub const LLM_NEEDED: &str = "no model for the drafter: set CUTOVER_LLM_PROVIDER (anthropic or openai) and CUTOVER_LLM_MODEL, with CUTOVER_LLM_API_KEY (and CUTOVER_LLM_URL for another server), or [llm] provider and model in cutover.toml";

/// `[llm]` and the `CUTOVER_LLM_*` environment; `None` when no provider is named (Cutover
/// then works without the drafter).
pub fn llm(section: &LlmSection, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Option<LlmConfig>> {
    let provider_name = env("CUTOVER_LLM_PROVIDER").or(section.provider.clone());
    let model = env("CUTOVER_LLM_MODEL").or(section.model.clone());
    let key = env("CUTOVER_LLM_API_KEY").map(cutover_llm::ApiKey::new);
    let Some(provider_name) = provider_name else {
        if model.is_some() || key.is_some() || env("CUTOVER_LLM_URL").or(section.url.clone()).is_some() {
            bail!(
                "the drafter's model is partly configured (a model, URL or API key) but no provider is named: set CUTOVER_LLM_PROVIDER (or [llm] provider) to anthropic or openai"
            );
        }
        return Ok(None);
    };
    let Some(provider) = cutover_llm::Provider::parse(&provider_name) else {
        bail!(
            "the LLM provider (CUTOVER_LLM_PROVIDER or [llm] provider) is {provider_name:?}, not anthropic or openai"
        );
    };
    let Some(model) = model else {
        bail!(
            "the LLM provider is {} but no model is named: set CUTOVER_LLM_MODEL (or [llm] model)",
            provider.as_str()
        );
    };
    if provider == cutover_llm::Provider::Anthropic && key.is_none() {
        bail!(
            "the LLM provider is anthropic but CUTOVER_LLM_API_KEY is not set (the key comes only from the environment)"
        );
    }
    let mut client = cutover_llm::Config::new(provider, model, key);
    if let Some(url) = env("CUTOVER_LLM_URL").or(section.url.clone()) {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("the LLM URL (CUTOVER_LLM_URL or [llm] url) must start with http:// or https://");
        }
        client.url = url;
    }
    let mut draft = cutover_agent::drafting::DraftConfig::default();
    let at_least_one = |value: Option<u64>, key: &str| match value {
        Some(0) => Err(anyhow::anyhow!("[llm] {key} must be at least 1")),
        other => Ok(other),
    };
    if let Some(secs) = at_least_one(section.timeout_secs, "timeout_secs")? {
        client.timeout = Duration::from_secs(secs);
    }
    if let Some(attempts) = at_least_one(section.attempts.map(u64::from), "attempts")? {
        draft.attempts = attempts as u32;
    }
    if let Some(tokens) = at_least_one(section.token_budget, "token_budget")? {
        draft.token_budget = tokens;
    }
    if let Some(secs) = at_least_one(section.budget_secs, "budget_secs")? {
        draft.budget = Duration::from_secs(secs);
    }
    Ok(Some(LlmConfig { client, draft }))
}

/// `[github]`: where approved plans become pull requests. Credentials come only from the
/// environment (`GITHUB_TOKEN`, or `GITHUB_APP_ID` + `GITHUB_APP_PRIVATE_KEY`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitHubSection {
    /// `owner/name`; without it no pull request is opened.
    pub repository: Option<String>,
    /// The branch pull requests go into (default: the repository's default branch).
    pub base: Option<String>,
    /// `GITHUB_API_URL` wins; default `https://api.github.com`.
    pub api_url: Option<String>,
}

/// GitHub, resolved: the repository, and the credentials from the environment.
#[derive(Debug)]
pub struct GitHubConfig {
    pub api_url: String,
    pub credentials: cutover_github::Credentials,
    pub repo: cutover_github::Repo,
    pub base: Option<String>,
    /// From `[write]`: the migration format and directory (detected when unset), and the
    /// backfill size above which `cutover backfill` runs it.
    pub format: Option<cutover_write::Format>,
    pub directory: Option<String>,
    pub backfill_threshold_rows: Option<u64>,
}

/// `[write]`: how `cutover write` writes migrations (each overridden by its flag).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteSection {
    /// The migration format (product.md's `write` formats); detected when unset.
    pub format: Option<String>,
    /// The directory of the migrations, relative to the repository.
    pub directory: Option<String>,
    /// Backfills of tables above this many rows run with `cutover backfill` (default 100000).
    pub backfill_threshold_rows: Option<u64>,
}

/// `[sandbox]`: what SQL from an issue (or a schema path it names) may do on the scratch
/// server, and how long planning one issue may take.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSection {
    /// The longest one statement of request SQL may run (default 10).
    pub statement_timeout_secs: Option<u64>,
    /// How long planning one issue may take, all of it (default 60).
    pub planning_budget_secs: Option<u64>,
    /// The extensions request SQL may create (default: the trusted contrib extensions).
    pub extensions: Option<Vec<String>>,
}

/// `[lint]`: defaults for `cutover lint`, and per-rule settings under `[lint.rules.<code>]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LintSection {
    pub pg_version: Option<u32>,
    pub assume_in_transaction: Option<bool>,
    #[serde(default)]
    pub disable: Vec<String>,
    #[serde(default)]
    pub rules: std::collections::BTreeMap<String, LintRule>,
    /// `[lint.naming]`: the conventions `naming-convention` checks, each `"detect"` (from
    /// `--database`, the default), `"off"`, or the convention itself (`cutover_lint::naming`).
    #[serde(default)]
    pub naming: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LintRule {
    pub enabled: Option<bool>,
    pub severity: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearSection {
    pub api_url: Option<String>,
    /// The workspace Cutover is installed in (`LINEAR_ORGANIZATION_ID`); when unset, the one
    /// the credentials belong to. Webhooks for any other are refused.
    pub organization_id: Option<String>,
    /// How people mention Cutover in comments (API-key installs), e.g. "@cutover".
    #[serde(default)]
    pub mention_handles: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    /// Prefer `CUTOVER_DATABASE_URL`: URLs often hold passwords.
    pub url: Option<String>,
    pub dev_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    pub url: Option<String>,
    /// Days after which deliveries, finished jobs and sent writes are deleted
    /// (`CUTOVER_PRUNE_AFTER_DAYS`; default 7, at least 1).
    pub prune_after_days: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepoSection {
    pub dir: Option<PathBuf>,
}

/// Everything the agent commands need, resolved.
#[derive(Debug)]
pub struct AgentConfig {
    pub api_url: String,
    pub credentials: Credentials,
    pub webhook_secret: Option<String>,
    pub database_url: String,
    pub dev_url: Option<String>,
    pub store_url: String,
    pub prune_after: Duration,
    pub organization_id: Option<String>,
    pub listen: String,
    pub repo_dir: PathBuf,
    pub mention_handles: Vec<String>,
    pub sandbox: SandboxPolicy,
    pub planning_budget: Duration,
    pub github: Option<GitHubConfig>,
    pub rollout: Option<RolloutSettings>,
    /// `[lint]`: the rules that review a request's change, and `[lint.naming]`.
    pub lint: cutover_lint::RuleSettings,
    /// The drafter's model; `None` without one.
    pub llm: Option<LlmConfig>,
}

/// Reads the file (when given, or `cutover.toml` when present) and the environment.
pub fn load(path: Option<&Path>) -> anyhow::Result<AgentConfig> {
    let file = match path {
        Some(path) => read_file(path)?,
        None if Path::new("cutover.toml").is_file() => read_file(Path::new("cutover.toml"))?,
        None => FileConfig::default(),
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let app = (env("LINEAR_CLIENT_ID"), env("LINEAR_CLIENT_SECRET"));
    let credentials = match (env("LINEAR_OAUTH_TOKEN"), env("LINEAR_API_KEY"), app) {
        (Some(token), _, _) => Credentials::OAuthToken(token),
        (None, Some(key), _) => Credentials::ApiKey(key),
        (None, None, (Some(client_id), Some(client_secret))) => Credentials::App { client_id, client_secret },
        (None, None, (Some(_), None)) => bail!("LINEAR_CLIENT_ID is set but LINEAR_CLIENT_SECRET is not"),
        (None, None, (None, Some(_))) => bail!("LINEAR_CLIENT_SECRET is set but LINEAR_CLIENT_ID is not"),
        (None, None, (None, None)) => bail!(
            "no Linear credentials: set LINEAR_CLIENT_ID and LINEAR_CLIENT_SECRET (the OAuth app), LINEAR_OAUTH_TOKEN, or LINEAR_API_KEY (a personal API key)"
        ),
    };
    let Some(database_url) = env("CUTOVER_DATABASE_URL").or(file.database.url) else {
        bail!(
            "no database to plan against: set CUTOVER_DATABASE_URL (the database being migrated; Cutover only reads it)"
        )
    };
    let dev_url = env("CUTOVER_DEV_URL").or(file.database.dev_url);
    if let Some(dev_url) = &dev_url {
        refuse_dev_url_on_live_database(dev_url, &database_url)?;
    }
    let mut sandbox = SandboxPolicy::default();
    let section = file.sandbox;
    if let Some(secs) = section.statement_timeout_secs {
        if secs == 0 {
            bail!("[sandbox] statement_timeout_secs must be at least 1");
        }
        sandbox.statement_timeout = Duration::from_secs(secs);
    }
    if let Some(extensions) = section.extensions {
        sandbox.extensions = extensions;
    }
    let planning_budget = match section.planning_budget_secs {
        Some(0) => bail!("[sandbox] planning_budget_secs must be at least 1"),
        Some(secs) => Duration::from_secs(secs),
        None => cutover_agent::planning::DEFAULT_BUDGET,
    };
    let prune_after_days = match env("CUTOVER_PRUNE_AFTER_DAYS") {
        Some(days) => Some(
            days.parse::<u64>()
                .map_err(|_| anyhow::anyhow!("CUTOVER_PRUNE_AFTER_DAYS is {days:?}, not a whole number of days"))?,
        ),
        None => file.store.prune_after_days,
    };
    // Pruning deliveries younger than Linear's retry ladder (about 7 h) would let a late retry
    // through as a new delivery.
    let prune_after_days = match prune_after_days {
        Some(0) => bail!("the prune age (CUTOVER_PRUNE_AFTER_DAYS, [store] prune_after_days) must be at least 1 day"),
        Some(days) => days,
        None => 7,
    };
    let github = github(file.github, &file.write, &env)?;
    let rollout = rollout(file.rollout, env("CUTOVER_MIGRATE_URL"))?;
    let lint = lint_settings(&file.lint, path)?;
    let llm = llm(&file.llm, &env)?;
    Ok(AgentConfig {
        api_url: env("LINEAR_API_URL").or(file.linear.api_url).unwrap_or_else(|| DEFAULT_API_URL.to_string()),
        credentials,
        webhook_secret: env("LINEAR_WEBHOOK_SECRET"),
        database_url,
        dev_url,
        store_url: env("CUTOVER_STORE").or(file.store.url).unwrap_or_else(|| "sqlite://cutover.db".to_string()),
        prune_after: Duration::from_secs(prune_after_days.saturating_mul(24 * 3600)),
        organization_id: env("LINEAR_ORGANIZATION_ID").or(file.linear.organization_id),
        listen: file.server.listen.unwrap_or_else(|| "127.0.0.1:8080".to_string()),
        repo_dir: file.repo.dir.unwrap_or_else(|| PathBuf::from(".")),
        mention_handles: file.linear.mention_handles,
        sandbox,
        planning_budget,
        github,
        rollout,
        lint,
        llm,
    })
}

/// `[github]` and the `GITHUB_*` environment. Pull requests are opened only for a configured
/// repository (a `GITHUB_TOKEN` exported for other tools opens nothing); a repository without
/// credentials is an error, not a silent "no pull requests".
fn github(
    section: GitHubSection,
    write: &WriteSection,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<GitHubConfig>> {
    let Some(repository) = section.repository else { return Ok(None) };
    let credentials = match (env("GITHUB_TOKEN"), env("GITHUB_APP_ID"), env("GITHUB_APP_PRIVATE_KEY")) {
        (_, Some(id), Some(key)) => cutover_github::Credentials::app(&id, &key)?,
        (_, Some(_), None) => bail!("GITHUB_APP_ID is set but GITHUB_APP_PRIVATE_KEY is not"),
        (_, None, Some(_)) => bail!("GITHUB_APP_PRIVATE_KEY is set but GITHUB_APP_ID is not"),
        (Some(token), None, None) => cutover_github::Credentials::Token(token),
        (None, None, None) => bail!(
            "[github] repository is set but there are no GitHub credentials: set GITHUB_TOKEN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY"
        ),
    };
    let repo = cutover_github::Repo::parse(&repository).context("[github] repository")?;
    if let Some(base) = &section.base {
        cutover_github::check_branch(base).context("[github] base")?;
    }
    let format = match &write.format {
        Some(name) => Some(cutover_write::Format::parse(name).ok_or_else(|| {
            let names: Vec<&str> = cutover_write::Format::ALL.iter().map(|f| f.name()).collect();
            anyhow::anyhow!("[write] format is \"{name}\", not one of {}", names.join(", "))
        })?),
        None => None,
    };
    Ok(Some(GitHubConfig {
        api_url: env("GITHUB_API_URL")
            .or(section.api_url)
            .unwrap_or_else(|| cutover_github::DEFAULT_API_URL.to_string()),
        credentials,
        repo,
        base: section.base,
        format,
        directory: write.directory.clone(),
        backfill_threshold_rows: write.backfill_threshold_rows,
    }))
}

/// Scratch databases are created, and request SQL run, on the dev server: never on the
/// database being migrated.
pub fn refuse_dev_url_on_live_database(dev_url: &str, database_url: &str) -> anyhow::Result<()> {
    let (Ok(dev), Ok(live)) = (Target::parse(dev_url), Target::parse(database_url)) else {
        return Ok(()); // each is reported as invalid where it is used
    };
    if dev.same_database(&live) {
        bail!(
            "the dev URL (CUTOVER_DEV_URL or [database] dev_url) points at the database being migrated (CUTOVER_DATABASE_URL); give it a separate server or database, where Cutover may create scratch databases and roles"
        );
    }
    Ok(())
}

/// `[lint]` as rule settings (also the agent's review of a request); errors name the file.
pub fn lint_settings(section: &LintSection, path: Option<&Path>) -> anyhow::Result<cutover_lint::RuleSettings> {
    let file = path.map(|p| p.display().to_string()).unwrap_or_else(|| "cutover.toml".into());
    let known: Vec<&str> = cutover_lint::docs::rules().iter().map(|r| r.code).collect();
    let check = |code: &str, field: &str| -> anyhow::Result<()> {
        if known.contains(&code) {
            Ok(())
        } else {
            bail!("{file}: {field} names an unknown rule {code:?}; the rules are listed in docs/rules/README.md")
        }
    };
    let mut settings = cutover_lint::RuleSettings::default();
    for code in &section.disable {
        check(code, "lint.disable")?;
        settings.disabled.insert(code.clone());
    }
    for (code, rule) in &section.rules {
        check(code, &format!("[lint.rules.{code}]"))?;
        match rule.enabled {
            Some(false) => {
                settings.disabled.insert(code.clone());
            }
            Some(true) => {
                settings.enabled.insert(code.clone());
            }
            None => {}
        }
        if let Some(severity) = &rule.severity {
            let Some(severity) = cutover_lint::Severity::parse(severity) else {
                bail!("{file}: lint.rules.{code}.severity is {severity:?}; use \"error\" or \"warning\"")
            };
            settings.severity.insert(code.clone(), severity);
        }
    }
    for (key, value) in &section.naming {
        settings.naming.set(key, value).map_err(|why| anyhow::anyhow!("{file}: lint.naming.{key} {why}"))?;
    }
    Ok(settings)
}

/// The file only (no environment, no credentials): what `lint` needs.
pub fn load_file(path: Option<&Path>) -> anyhow::Result<(FileConfig, Option<PathBuf>)> {
    match path {
        Some(path) => Ok((read_file(path)?, Some(path.to_path_buf()))),
        None if Path::new("cutover.toml").is_file() => {
            Ok((read_file(Path::new("cutover.toml"))?, Some(PathBuf::from("cutover.toml"))))
        }
        None => Ok((FileConfig::default(), None)),
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("could not read {}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        match line {
            Some(line) => anyhow::anyhow!("{}:{line}: {}", path.display(), e.message()),
            None => anyhow::anyhow!("{}: {}", path.display(), e.message()),
        }
    })
}
