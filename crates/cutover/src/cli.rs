//! The command line, as product.md specifies it.

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "cutover", version, about = "Lock-safe PostgreSQL schema migrations", propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the statements that turn the --from schema into the --to schema.
    Diff(DiffArgs),
    /// Plan the change as phases of lock-safe steps (expand, backfill, switch, contract).
    Plan(PlanArgs),
    /// Check SQL migrations for statements that are unsafe on a live database.
    Lint(LintArgs),
    /// Write a plan (`plan --format json`) as migration files in the repository's framework.
    Write(WriteArgs),
    /// Run a plan (`plan --format json`) on a database, phase by phase, resumably (or roll
    /// back one phase with --rollback).
    Apply(ApplyArgs),
    /// Check on a database that a plan's completed phases left what they promise, and run
    /// the checks of a checks file; only reads.
    Verify(VerifyArgs),
    /// Run, watch and steer a plan's backfills: keyset batches, resumable, throttled.
    Backfill(BackfillArgs),
    /// Find what a plan's dropped, renamed and retyped tables and columns affect in an
    /// application's repository (ORM models, SQL strings); --fix updates declarative models.
    Impact(ImpactArgs),
    /// Draft a schema change for an issue written in prose: the configured model ([llm],
    /// CUTOVER_LLM_*) proposes DDL, Cutover checks it on a scratch copy and prints the proposal.
    Draft(DraftArgs),
    /// Run the Linear agent for one issue from a terminal (the same flow as a delegation).
    Issue(IssueArgs),
    /// Serve Linear webhooks and run the agent's workers.
    Serve(ServeArgs),
    /// The whole agent loop on embedded defaults: a throwaway PostgreSQL, a local Linear
    /// workspace, the SQLite store; no accounts needed.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct WriteArgs {
    /// The plan, as `cutover plan --format json` wrote it.
    #[arg(long, value_name = "PLAN.json")]
    pub plan: std::path::PathBuf,
    /// The repository to write into.
    #[arg(long, value_name = "DIR")]
    pub repo: std::path::PathBuf,
    /// The migration format: sql, golang-migrate, dbmate, flyway, sqlx, refinery, alembic,
    /// django, rails, prisma, node-pg-migrate (default: [write] format of the config, else
    /// detected from the repository's files).
    #[arg(long, value_name = "NAME")]
    pub format: Option<String>,
    /// What the change is called; the migrations are named after it (and the issue).
    #[arg(long, value_name = "SLUG")]
    pub name: Option<String>,
    /// The Linear issue the change is for (ENG-123): names start with eng_123_.
    #[arg(long, value_name = "ID")]
    pub issue: Option<String>,
    /// The directory of the migrations, relative to the repository (default: found from its
    /// files, else the format's usual place).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<String>,
    /// Backfills of tables with more rows than this (by the plan's estimate) are left to
    /// `cutover backfill run` instead of running inside a migration (default 100000).
    #[arg(long, value_name = "ROWS")]
    pub backfill_threshold: Option<u64>,
    /// Configuration file (default: cutover.toml in the repository, when present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct DraftArgs {
    /// The issue: a Markdown file whose first line is its title.
    #[arg(long, value_name = "FILE")]
    pub issue: std::path::PathBuf,
    /// The database being migrated, only read (default: CUTOVER_DATABASE_URL, else [database] url).
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// A PostgreSQL server for scratch databases (default: CUTOVER_DEV_URL, else a throwaway local server).
    #[arg(long, value_name = "URL")]
    pub dev_url: Option<String>,
    #[arg(long, value_enum, default_value_t = DraftFormat::Markdown)]
    pub format: DraftFormat,
    /// Configuration file (default: ./cutover.toml when present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DraftFormat {
    /// The proposal comment the agent would post.
    Markdown,
    /// The answer, its plan, findings and token usage.
    Json,
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Configuration file (default: ./cutover.toml when present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// The job store: sqlite://PATH or a postgres:// URL (default: CUTOVER_STORE, else sqlite://cutover.db).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// A PostgreSQL server for scratch databases (default: a throwaway local server).
    #[arg(long, value_name = "URL")]
    pub dev_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The issue, as its identifier (ENG-123) or id.
    pub issue: String,
    /// Print every write to Linear instead of making it; only reads Linear and the database.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub agent: AgentArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default: the config file's server.listen, else 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    #[command(flatten)]
    pub agent: AgentArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// A PostgreSQL server to use instead of starting a throwaway one.
    #[arg(long, value_name = "URL")]
    pub dev_url: Option<String>,
}

/// Where schemas come from and how they are compared.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// The current schema: a postgres:// URL (only read), a .sql file, or a directory of .sql files.
    #[arg(long, value_name = "SRC")]
    pub from: String,
    /// The desired schema, in the same forms as --from.
    #[arg(long, value_name = "SRC")]
    pub to: String,
    /// A PostgreSQL server where SQL sources are applied to scratch databases
    /// (default: a throwaway server started from the installed PostgreSQL binaries).
    #[arg(long, value_name = "URL", env = "CUTOVER_DEV_URL")]
    pub dev_url: Option<String>,
    /// Only compare objects in this schema (repeatable).
    #[arg(long = "schema", value_name = "NAME")]
    pub schemas: Vec<String>,
    /// Never compare objects in this schema (repeatable).
    #[arg(long = "exclude-schema", value_name = "NAME")]
    pub exclude_schemas: Vec<String>,
    /// Also compare privileges (GRANT and REVOKE).
    #[arg(long)]
    pub with_privileges: bool,
    /// Also compare extension versions (ALTER EXTENSION ... UPDATE).
    #[arg(long)]
    pub extension_versions: bool,
    /// Only create extensions that --to has and --from lacks; change nothing else.
    #[arg(long)]
    pub create_extensions_only: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Sql)]
    pub format: DiffFormat,
    /// Exit with code 1 when there are differences.
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Sql,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    /// PostgreSQL major version to plan for (12 to 18); default: the version --from was read from.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(12..=18))]
    pub pg_version: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// Apply the plan, phase by phase, to a scratch copy of the --from schema and check that
    /// it converges with --to.
    #[arg(long)]
    pub validate: bool,
    /// Accept steps that block a large table (a maintenance window) instead of reporting them
    /// as blockers.
    #[arg(long)]
    pub allow_downtime: bool,
    /// lock_timeout for every step, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub lock_timeout: u64,
    /// A column renamed between --from and --to, as `[schema.]table.old=new` (repeatable);
    /// planned as expand/contract so both application versions keep working.
    #[arg(long = "rename-column", value_name = "TABLE.OLD=NEW")]
    pub rename_columns: Vec<String>,
    /// A table renamed between --from and --to, as `[schema.]old=new` (repeatable); the old
    /// name stays as an updatable view until the contract phase.
    #[arg(long = "rename-table", value_name = "TABLE=NEW")]
    pub rename_tables: Vec<String>,
    /// Rows per backfill batch.
    #[arg(long, value_name = "N", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: u64,
    /// The downtime window accepted, as `90s`, `5m` or `2h` (implies --allow-downtime): a step
    /// estimated to block writes for longer is a blocker (downtime_window_exceeded).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub downtime_window: Option<std::time::Duration>,
}

/// `90s`, `5m`, `5min`, `2h` or a number of seconds.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let unit_seconds = match unit.trim() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        _ => 0,
    };
    match number.parse::<u64>() {
        Ok(n) if n > 0 && unit_seconds > 0 => Ok(std::time::Duration::from_secs(n * unit_seconds)),
        _ => {
            Err(format!("`{text}` is not a duration: write a whole number of seconds, minutes or hours (90s, 5m, 2h)"))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Human,
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Migration files or directories of .sql files, linted in this order as one history
    /// (a directory's files in lexical order of their paths).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<String>,
    /// The database the migrations will run on (only read): table sizes decide severity,
    /// and its server version is used.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// PostgreSQL major version the migrations will run on (12 to 18); default: the
    /// --database's, else 18.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(12..=18))]
    pub pg_version: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Human)]
    pub format: LintFormat,
    /// Configuration file (default: ./cutover.toml when present); see the [lint] section.
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Each migration runs inside a transaction the migration tool opens.
    #[arg(long)]
    pub assume_in_transaction: bool,
    /// Run each statement in a rolled-back transaction on a scratch copy of the schema (the
    /// --database's, else what the history builds) and report the locks PostgreSQL took,
    /// next to what Cutover's lock knowledge says.
    #[arg(long)]
    pub trace: bool,
    /// The server for --trace's scratch database (default: a throwaway local PostgreSQL).
    #[arg(long, value_name = "URL", env = "CUTOVER_DEV_URL")]
    pub dev_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Human,
    Json,
    Sarif,
    Github,
    /// A pull-request comment (the GitHub Action posts it), with a hidden marker line.
    Markdown,
}

#[derive(Debug, Args)]
pub struct ImpactArgs {
    /// The plan, as `cutover plan --format json` wrote it.
    #[arg(long, value_name = "PLAN.json")]
    pub plan: std::path::PathBuf,
    /// The application's repository (only read, unless --fix).
    #[arg(long, value_name = "DIR")]
    pub repo: std::path::PathBuf,
    /// Output format (markdown: the pull request's "Application impact" section).
    #[arg(long, value_enum, default_value_t = ImpactFormat::Human)]
    pub format: ImpactFormat,
    /// Write the edited declarative model files (schema.prisma, Diesel's schema.rs, Django
    /// model fields) into the repository.
    #[arg(long)]
    pub fix: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImpactFormat {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The database to check (only read, in read-only transactions).
    #[arg(long, value_name = "URL")]
    pub database: String,
    /// The plan, as `cutover plan --format json` wrote it.
    #[arg(long, value_name = "PLAN.json")]
    pub plan: std::path::PathBuf,
    /// Check this phase as completed (repeatable); default: the phases cutover.steps records
    /// as done for this plan.
    #[arg(long = "phase", value_name = "NAME", value_parser = ["expand", "backfill", "switch", "contract"])]
    pub phases: Vec<String>,
    /// A TOML file of user checks: `[[check]] name, sql, expect = "true" | "zero" | "rows:N"`
    /// and `[[latency]] name, sql, budget_ms, runs`.
    #[arg(long, value_name = "FILE")]
    pub checks: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = VerifyFormat::Human)]
    pub format: VerifyFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The database to change.
    #[arg(long, value_name = "URL")]
    pub database: String,
    /// The plan, as `cutover plan --format json` wrote it.
    #[arg(long, value_name = "PLAN.json")]
    pub plan: std::path::PathBuf,
    /// Run only this phase (repeatable; phases run in plan order). Earlier phases must be
    /// done, or selected too.
    #[arg(long = "phase", value_name = "NAME", value_parser = ["expand", "backfill", "switch", "contract"])]
    pub phases: Vec<String>,
    /// Print each selected step's state in the database and its SQL; run and create nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Run the contract phase, or a rollback, without asking for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Roll back the phase given by --phase (exactly one) instead: run the rollback
    /// statements of its steps that ran, last step first, and mark them pending again. A later
    /// phase that ran must be rolled back first.
    #[arg(long)]
    pub rollback: bool,
    /// Tries for a step whose lock_timeout expires, waiting longer after each.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub lock_retries: u32,
    /// The wait after the first lock timeout, in milliseconds (each later wait doubles).
    #[arg(long, value_name = "MS", default_value_t = 1000, hide = true)]
    pub lock_retry_wait_ms: u64,
    /// How the backfill steps run (those the plan gives a key to walk).
    #[command(flatten)]
    pub tuning: BackfillTuning,
}

#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// run: fill (or resume); status: rows done, rate, ETA; pause, resume, cancel: steer a
    /// running backfill from another terminal.
    #[arg(value_enum)]
    pub action: BackfillAction,
    /// The database.
    #[arg(long, value_name = "URL")]
    pub database: String,
    /// The plan, as `cutover plan --format json` wrote it (needed by run; the others act on
    /// every plan's backfills without it).
    #[arg(long, value_name = "PLAN.json")]
    pub plan: Option<std::path::PathBuf>,
    /// Only this step: `PHASE.N`, or `N` for the N-th step of the backfill phase.
    #[arg(long, value_name = "ID", value_parser = parse_step_id)]
    pub step: Option<cutover_db_postgres::backfill::StepId>,
    /// Output format (json: one object per line for run, one object for the others).
    #[arg(long, value_enum, default_value_t = BackfillFormat::Human)]
    pub format: BackfillFormat,
    #[command(flatten)]
    pub tuning: BackfillTuning,
}

/// How the backfill engine runs: `cutover backfill run` and the backfill steps of
/// `cutover apply` take the same flags.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Backfill engine")]
pub struct BackfillTuning {
    /// The time one batch should take; the batch size adapts toward it.
    #[arg(long, value_name = "MS", default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    pub target_batch_ms: u64,
    /// The smallest batch, in rows.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub min_batch: u64,
    /// The largest batch, in rows.
    #[arg(long, value_name = "N", default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_batch: u64,
    /// Wait while a replica replays more than this far behind (pg_stat_replication); 0: ignore replicas.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub max_replica_lag_ms: u64,
    /// Wait while another session's transaction holding back vacuum is older than this
    /// (pg_stat_activity.backend_xmin); default: ignore them.
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_transaction_age_s: Option<u64>,
    /// The longest the application's writes may wait on a batch's row locks: a batch that kept
    /// a write waiting longer (asked in pg_locks before it commits) makes batches aim shorter,
    /// until writes stop waiting; 0: ignore such waits.
    #[arg(long, value_name = "MS", default_value_t = 100)]
    pub max_writer_wait_ms: u64,
    /// SQL run before each batch; when it returns true, wait a second and ask again.
    #[arg(long, value_name = "SQL")]
    pub wait_query: Option<String>,
    /// The lock_timeout of a backfill batch (default: the step's); a batch that times out is retried
    /// smaller after a growing wait.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub lock_timeout_ms: Option<u64>,
    /// The statement_timeout of a backfill batch (default: the step's); a batch that runs past
    /// it is retried at half its size, down to --min-batch.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub statement_timeout_ms: Option<u64>,
    /// Give up after this many batches in a row time out on locks.
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_lock_timeouts: u32,
    /// A progress line (or JSON event) every this many batches.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub progress_every: u64,
}

fn parse_step_id(text: &str) -> Result<cutover_db_postgres::backfill::StepId, String> {
    cutover_db_postgres::backfill::StepId::parse(text)
        .ok_or_else(|| format!("`{text}` is not a step: write PHASE.N (backfill.1) or N"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackfillAction {
    Run,
    Status,
    Pause,
    Resume,
    Cancel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackfillFormat {
    Human,
    Json,
}
