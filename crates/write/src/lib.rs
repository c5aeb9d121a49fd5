//! Pure: a plan written as migration files in the framework a repository already uses.
//!
//! [`write`] takes a read-only view of a repository ([`Repo`]: its paths, and a file's text on
//! demand), a [`Plan`] and [`Options`], and returns the new files ([`Written`]) without
//! touching any disk: the CLI backs the view with a directory and writes the files, the agent
//! backs it with a repository read through GitHub's API and commits them.
//!
//! - [`detect`] finds the format (and the directory of its migrations) from the repository's
//!   files, and the number or timestamp of its last migration.
//! - [`units`] turns the plan into migrations: one per phase, split where a tool cannot mix
//!   transactional and non-transactional statements in one migration; large backfills become
//!   a migration that documents `cutover backfill run` and refuses to pass until it is done.
//! - [`formats`] renders each format's files, one module per format.

pub mod detect;
pub mod formats;
mod text;
pub mod time;
pub mod units;

use cutover_plan::planner::Plan;
use std::collections::BTreeMap;
use std::fmt;

/// A read-only view of a repository. Paths are relative to its root, `/`-separated.
pub trait Repo {
    /// Every file's path.
    fn paths(&self) -> Vec<String>;
    /// A file's text, read on demand; `None` when it is absent or not text.
    fn read(&self, path: &str) -> Option<String>;
}

/// A repository held in memory: tests, and callers that already have the files.
#[derive(Debug, Clone, Default)]
pub struct MemoryRepo {
    pub files: BTreeMap<String, String>,
}

impl MemoryRepo {
    pub fn new<P: Into<String>, T: Into<String>>(files: impl IntoIterator<Item = (P, T)>) -> MemoryRepo {
        MemoryRepo { files: files.into_iter().map(|(p, t)| (p.into(), t.into())).collect() }
    }
}

impl Repo for MemoryRepo {
    fn paths(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }
    fn read(&self, path: &str) -> Option<String> {
        self.files.get(path).cloned()
    }
}

/// The migration frameworks `cutover write` writes for (product.md's `write` formats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Sql,
    GolangMigrate,
    Dbmate,
    Flyway,
    Sqlx,
    Refinery,
    Alembic,
    Django,
    Rails,
    Prisma,
    NodePgMigrate,
}

impl Format {
    pub const ALL: [Format; 11] = [
        Format::Sql,
        Format::GolangMigrate,
        Format::Dbmate,
        Format::Flyway,
        Format::Sqlx,
        Format::Refinery,
        Format::Alembic,
        Format::Django,
        Format::Rails,
        Format::Prisma,
        Format::NodePgMigrate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Sql => "sql",
            Format::GolangMigrate => "golang-migrate",
            Format::Dbmate => "dbmate",
            Format::Flyway => "flyway",
            Format::Sqlx => "sqlx",
            Format::Refinery => "refinery",
            Format::Alembic => "alembic",
            Format::Django => "django",
            Format::Rails => "rails",
            Format::Prisma => "prisma",
            Format::NodePgMigrate => "node-pg-migrate",
        }
    }

    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Above this many rows (the plan's estimate) a backfill is run by `cutover backfill`, not
/// inside a framework migration.
pub const DEFAULT_BACKFILL_THRESHOLD_ROWS: u64 = 100_000;

/// How to write.
#[derive(Debug, Clone)]
pub struct Options {
    /// The format; detected from the repository when `None` (cutover.toml's setting or
    /// `--format` when given).
    pub format: Option<Format>,
    /// The directory for the migrations, relative to the root; found from the repository (or
    /// the format's default) when `None`.
    pub directory: Option<String>,
    /// What the change is called (`--name`); made into a slug.
    pub name: Option<String>,
    /// The Linear issue (`ENG-123`): names start `eng_123_`.
    pub issue: Option<String>,
    /// Backfills of tables with more rows than this (by the plan's estimate, or of unknown
    /// size) are left to `cutover backfill run`.
    pub backfill_threshold_rows: u64,
    /// The time the files are written, in milliseconds since the Unix epoch (UTC): the
    /// timestamps of formats numbered by time. The caller reads the clock.
    pub now_unix_ms: i64,
    /// How the migrations refer to the plan file in the `cutover backfill` command they
    /// document (default `PLAN.json`).
    pub plan_path: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            format: None,
            directory: None,
            name: None,
            issue: None,
            backfill_threshold_rows: DEFAULT_BACKFILL_THRESHOLD_ROWS,
            now_unix_ms: 0,
            plan_path: None,
        }
    }
}

/// A file to add to the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    pub path: String,
    pub contents: String,
}

/// What [`write`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub format: Format,
    /// Where the migrations go, relative to the root.
    pub directory: String,
    /// New files, in the order the framework runs them.
    pub files: Vec<NewFile>,
    /// Sentences for the person (and the pull request): how the format was chosen, what runs
    /// outside the framework, what cannot be undone.
    pub notes: Vec<String>,
}

/// Why nothing can be written; each is one sentence for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The plan has no phases.
    EmptyPlan,
    /// The plan has blockers: nothing of it may run.
    Blocked { count: usize },
    /// A file this write would add exists already.
    Exists { path: String },
    /// Django: no app with a migrations directory (or several, and no directory given).
    DjangoApp { found: Vec<String> },
    /// Alembic: the existing revisions do not end in exactly one head.
    AlembicHeads { heads: Vec<String> },
    /// `--name` (or the issue) gives nothing a file name can hold.
    BadName { name: String },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::EmptyPlan => f.write_str("the plan has no phases: there is nothing to write"),
            Problem::Blocked { count } => {
                write!(f, "the plan has {count} blocker(s): resolve them and plan again before writing migrations")
            }
            Problem::Exists { path } => write!(f, "{path} exists already; refusing to overwrite it"),
            Problem::DjangoApp { found } if found.is_empty() => f.write_str(
                "no Django app with a migrations/ directory was found; pass the directory (e.g. shop/migrations)",
            ),
            Problem::DjangoApp { found } => write!(
                f,
                "several Django apps have migrations ({}); pass the directory of the one to write into",
                found.join(", ")
            ),
            Problem::AlembicHeads { heads } if heads.is_empty() => {
                f.write_str("the Alembic revisions form no chain with a single head (a cycle?)")
            }
            Problem::AlembicHeads { heads } => write!(
                f,
                "the Alembic revisions have {} heads ({}); merge them (alembic merge heads) before writing",
                heads.len(),
                heads.join(", ")
            ),
            Problem::BadName { name } => {
                write!(f, "the name `{name}` has no letter or digit to make a file name from")
            }
        }
    }
}

impl std::error::Error for Problem {}

/// Writes `plan` as migrations for `repo`.
pub fn write(repo: &dyn Repo, plan: &Plan, options: &Options) -> Result<Written, Problem> {
    if !plan.blockers.is_empty() {
        return Err(Problem::Blocked { count: plan.blockers.len() });
    }
    if plan.phases.is_empty() {
        return Err(Problem::EmptyPlan);
    }
    let base = units::base_name(options)?;
    let paths = repo.paths();
    let detected = detect::detect(repo, &paths, options)?;
    let mut notes = vec![detected.reason.clone()];
    let migrations = units::migrations(plan, options, detected.format.splitting(), &base, &mut notes);
    let files = formats::render(detected.format, &detected, &migrations, options)?;
    let existing: std::collections::BTreeSet<&str> = paths.iter().map(String::as_str).collect();
    if let Some(f) = files.iter().find(|f| existing.contains(f.path.as_str())) {
        return Err(Problem::Exists { path: f.path.clone() });
    }
    Ok(Written { format: detected.format, directory: detected.directory, files, notes })
}
