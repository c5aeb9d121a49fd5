//! Pure: what a plan's changes break in an application's repository.
//!
//! The plan says, step by step, which tables and columns it drops, renames and retypes
//! (`Step::app_changes`). [`analyze`] looks for them in a repository given as files in memory
//! (the CLI reads them from disk, the agent through GitHub's API; this crate does no I/O):
//!
//! - ORM models: Django (`models.py`), SQLAlchemy, Prisma (`*.prisma`), ActiveRecord
//!   (`db/schema.rb`, `app/models`), TypeORM entities, Diesel (`schema.rs`), each in
//!   `orm/`;
//! - SQL in code: string literals of any common language that read as SQL, and `.sql`
//!   files outside migration directories (`scan` finds the literals and skips comments,
//!   `sql` finds table and column references, resolving aliases and qualification).
//!
//! Each [`Finding`] has its file, line, an excerpt and a [`Confidence`]. Where the model file
//! is declarative (Prisma schema, Diesel `schema.rs`, Django model fields) the finding comes
//! with an [`Edit`]: the model is updated to the new schema with minimal text changes that
//! keep the application's own names (a renamed column gets `@map`, `db_column`, `sql_name`).
//! [`render`] turns the result into the "Update application queries and ORM models"
//! checklist, placed before the phase that needs the application changed.
//!
//! Repository content is written by someone else: it is only read, never run; files over
//! [`Limits::max_file_bytes`] and past [`Limits::max_files`] are skipped and reported.

mod changes;
mod edit;
mod orm;
pub mod render;
mod scan;
mod sql;

use cutover_plan::planner::{AppChange, PhaseName, Plan};
use serde::Serialize;

pub use changes::affected;
pub use edit::Edit;

/// Directories a reader of a repository never reads: version control, dependencies, build
/// output.
pub const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "target",
    "vendor",
    ".venv",
    "venv",
    "__pycache__",
    "dist",
    "build",
    ".tox",
];

/// Whether a repository path (`/`-separated) lies in one of [`SKIPPED_DIRS`].
pub fn in_skipped_dir(path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    parts.pop();
    parts.iter().any(|p| SKIPPED_DIRS.contains(p))
}

/// Whether the analysis reads a file of this path (its language or model format is known):
/// readers of a repository skip the others.
pub fn wanted(path: &str) -> bool {
    scan::Lang::of(path).is_some() || path.ends_with(".prisma")
}

/// A file of the repository, by its path relative to the repository's root (`/`-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// How much of a repository is read.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_files: usize,
    pub max_file_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_files: 20_000, max_file_bytes: 1024 * 1024 }
    }
}

/// One change of the plan the application may notice, with the phases around it: the
/// application must have changed after `after` (when the plan has an earlier phase) and
/// before `before`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Affected {
    #[serde(flatten)]
    pub change: AppChange,
    pub before: PhaseName,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<PhaseName>,
}

/// Where a reference was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Django,
    Sqlalchemy,
    Prisma,
    ActiveRecord,
    Typeorm,
    Diesel,
    /// A SQL string in code, or a `.sql` file.
    Sql,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Django => "Django",
            Source::Sqlalchemy => "SQLAlchemy",
            Source::Prisma => "Prisma",
            Source::ActiveRecord => "ActiveRecord",
            Source::Typeorm => "TypeORM",
            Source::Diesel => "Diesel",
            Source::Sql => "SQL",
        }
    }
}

/// How sure a finding is: `high` names the table or column unambiguously (a model's table
/// mapping, a qualified reference, a column of the only table a statement reads); `medium`
/// could belong to another table with a column of the same name; `low` is a guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// A reference to an affected table or column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Index into [`Impact::changes`].
    pub change: usize,
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The line, trimmed and clipped.
    pub excerpt: String,
    pub source: Source,
    pub confidence: Confidence,
    /// What was found, in a few words (`field notes of model Order`).
    pub what: String,
    /// Whether an edit of the model file covers it.
    pub fixed: bool,
}

/// A file the analysis did not read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub file: String,
    pub reason: String,
}

/// A model file updated to the new schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEdit {
    pub file: String,
    /// The whole new contents.
    #[serde(skip)]
    pub text: String,
    /// One line per change made.
    pub summary: Vec<String>,
}

/// What the plan affects in the repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Impact {
    pub changes: Vec<Affected>,
    pub findings: Vec<Finding>,
    pub edits: Vec<FileEdit>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

impl Impact {
    pub fn findings_of(&self, change: usize) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.change == change)
    }
}

/// A finding before it is placed: byte offset in its file.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub change: usize,
    pub offset: usize,
    pub source: Source,
    pub confidence: Confidence,
    pub what: String,
    pub edit: Option<Edit>,
}

/// Searches `files` for what `plan` affects.
pub fn analyze(plan: &Plan, files: &[SourceFile], limits: Limits) -> Impact {
    let changes = affected(plan);
    let mut impact = Impact { changes, ..Impact::default() };
    if impact.changes.is_empty() {
        return impact;
    }
    let mut sorted: Vec<&SourceFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    // The files read: within the size limit, the first `max_files` of them.
    let readable: Vec<&SourceFile> =
        sorted.iter().copied().filter(|f| f.text.len() <= limits.max_file_bytes).take(limits.max_files).collect();
    let ctx = orm::Context::new(&readable);
    let mut read = 0usize;
    for file in sorted {
        if file.text.len() > limits.max_file_bytes {
            impact.skipped.push(Skipped {
                file: file.path.clone(),
                reason: format!("larger than {} bytes", limits.max_file_bytes),
            });
            continue;
        }
        if read == limits.max_files {
            impact.skipped.push(Skipped {
                file: file.path.clone(),
                reason: format!("past the first {} files", limits.max_files),
            });
            continue;
        }
        read += 1;
        let hits = orm::hits(file, &impact.changes, &ctx);
        place(&mut impact, file, hits);
    }
    impact.findings.sort_by(|a, b| {
        (a.change, &a.file, a.line, a.column, a.source).cmp(&(b.change, &b.file, b.line, b.column, b.source))
    });
    impact
}

fn place(impact: &mut Impact, file: &SourceFile, hits: Vec<Hit>) {
    if hits.is_empty() {
        return;
    }
    let lines = scan::LineIndex::new(&file.text);
    let mut edits: Vec<(Edit, String)> = Vec::new();
    let mut findings: Vec<Finding> = Vec::new();
    for hit in hits {
        let (line, column) = lines.position(&file.text, hit.offset);
        let fixed = hit.edit.is_some();
        if let Some(edit) = hit.edit {
            edits.push((edit, hit.what.clone()));
        }
        let finding = Finding {
            change: hit.change,
            file: file.path.clone(),
            line,
            column,
            excerpt: excerpt(lines.line_text(&file.text, line)),
            source: hit.source,
            confidence: hit.confidence,
            what: hit.what,
            fixed,
        };
        // One finding per change and line: the most certain one.
        match findings.iter_mut().find(|f| f.change == finding.change && f.line == finding.line) {
            Some(f) if (finding.confidence, finding.fixed) > (f.confidence, f.fixed) => *f = finding,
            Some(_) => {}
            None => findings.push(finding),
        }
    }
    impact.findings.extend(findings);
    if edits.is_empty() {
        return;
    }
    let (text, applied) = edit::apply(&file.text, edits);
    if text != file.text {
        impact.edits.push(FileEdit { file: file.path.clone(), text, summary: applied });
    }
}

/// A line as an excerpt: trimmed, at most 120 characters.
fn excerpt(line: &str) -> String {
    let line = line.trim();
    match line.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}
