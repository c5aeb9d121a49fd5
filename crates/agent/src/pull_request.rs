//! The pull request of an approved plan: which repository, what files, which branch, and the
//! two outbox writes that make it ([`Write::PushBranch`], [`Write::PullRequest`]).
//!
//! Decided in the approval job (reads only: the base branch, its tree, and the files
//! `cutover-write` asks for), sent by the outbox (`writes.rs`), each send repeatable: the
//! branch's commit has a date fixed here, so making it again gives the same commit, and the
//! pull request is looked up by its head branch before one is opened
//! (`cutover_github::publish`).
//!
//! The files are `cutover-write`'s migrations in the repository's own format, plus the plan
//! itself (`cutover/<issue>.plan.json`, what `cutover apply` and `cutover backfill` run).
//! `cutover-write` reads the repository through a synchronous view; [`render`] runs it
//! against the files fetched so far, fetches what it asked for and was missing, and runs it
//! again (at most [`MAX_PASSES`] times, [`MAX_FETCHED`] files of at most [`MAX_FILE_BYTES`]).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use cutover_github::publish::File;
use cutover_github::{GitHubClient, GitHubError, Repo};
use cutover_linear::types::Issue;
use cutover_plan::planner::Plan;
use cutover_write::{Format, Problem};

use crate::writes::Write;

/// Cutover's commits are made, and recognised, under this name and email.
pub const AUTHOR_NAME: &str = "Cutover";
pub const AUTHOR_EMAIL: &str = "cutover@users.noreply.github.com";

/// How many times `cutover-write` is run while it asks for files not fetched yet.
pub const MAX_PASSES: usize = 6;
/// The most files fetched for one approval, and the largest one read.
pub const MAX_FETCHED: usize = 200;
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Where pull requests go: `[github]` in cutover.toml and the `GITHUB_*` environment.
#[derive(Debug, Clone)]
pub struct GitHubTarget {
    pub client: GitHubClient,
    pub repo: Repo,
    /// The branch pull requests go into; the repository's default branch when unset.
    pub base: Option<String>,
    pub write: WriteSettings,
}

/// `[write]` in cutover.toml: what `cutover-write` is told rather than left to detect.
#[derive(Debug, Clone)]
pub struct WriteSettings {
    pub format: Option<Format>,
    pub directory: Option<String>,
    pub backfill_threshold_rows: u64,
}

impl Default for WriteSettings {
    fn default() -> Self {
        WriteSettings {
            format: None,
            directory: None,
            backfill_threshold_rows: cutover_write::DEFAULT_BACKFILL_THRESHOLD_ROWS,
        }
    }
}

/// The base branch as read for one approval: its name, its head commit and its files
/// (path, blob id, size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSnapshot {
    pub base: String,
    pub base_commit: String,
    pub files: Vec<(String, String, u64)>,
}

/// Why no pull request can be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    /// `cutover-write` cannot write this plan into this repository.
    #[error("{0}")]
    Files(Problem),
}

/// The files of the pull request and what `cutover-write` said about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub files: Vec<File>,
    pub notes: Vec<String>,
    pub impact: cutover_impact::Impact,
}

/// Reads the base branch (the configured one, else the default branch) and its tree.
pub async fn read_repository(target: &GitHubTarget) -> Result<RepoSnapshot, GitHubError> {
    let base = match &target.base {
        Some(base) => base.clone(),
        None => target.client.repository(&target.repo).await?.default_branch,
    };
    let base_commit = target
        .client
        .branch_head(&target.repo, &base)
        .await?
        .ok_or_else(|| GitHubError::NotFound(format!("branch {base} of {}", target.repo)))?;
    let tree = target.client.commit(&target.repo, &base_commit).await?.tree.sha;
    let tree = target.client.tree(&target.repo, &tree).await?;
    let files =
        tree.tree.into_iter().filter(|e| e.kind == "blob").map(|e| (e.path, e.sha, e.size.unwrap_or(0))).collect();
    Ok(RepoSnapshot { base, base_commit, files })
}

/// `cutover-write`'s view of the base branch: the tree's paths, and the files fetched so far.
/// A file not fetched yet is recorded as missing (and reads as absent in the last pass).
struct View<'a> {
    paths: Vec<String>,
    fetched: &'a BTreeMap<String, Option<String>>,
    missing: RefCell<BTreeSet<String>>,
}

impl cutover_write::Repo for View<'_> {
    fn paths(&self) -> Vec<String> {
        self.paths.clone()
    }

    fn read(&self, path: &str) -> Option<String> {
        match self.fetched.get(path) {
            Some(text) => text.clone(),
            None => {
                if self.paths.iter().any(|p| p == path) {
                    self.missing.borrow_mut().insert(path.to_string());
                }
                None
            }
        }
    }
}

/// The path of the plan file committed next to the migrations.
pub fn plan_path(identifier: &str) -> String {
    format!("cutover/{}.plan.json", slug(identifier))
}

/// The most files read from the repository to find what the application must change
/// (`cutover-impact`), beyond those `cutover-write` read.
pub const MAX_IMPACT_FILES: usize = 300;

/// The files for `plan`: `cutover-write`'s migrations for the repository as read, the plan
/// file, and the model files `cutover-impact` updates (Prisma schema, Diesel `schema.rs`,
/// Django model fields); with what the application must change.
pub async fn render(
    target: &GitHubTarget,
    repo: &RepoSnapshot,
    plan: &Plan,
    issue: &Issue,
    now_unix_ms: i64,
) -> Result<Rendered, PrepareError> {
    let plan_file = plan_path(&issue.identifier);
    let options = cutover_write::Options {
        format: target.write.format,
        directory: target.write.directory.clone(),
        name: Some(issue.title.clone()),
        issue: Some(issue.identifier.clone()),
        backfill_threshold_rows: target.write.backfill_threshold_rows,
        now_unix_ms,
        plan_path: Some(plan_file.clone()),
    };
    let paths: Vec<String> = repo.files.iter().map(|(p, _, _)| p.clone()).collect();
    let mut fetched: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut pass = 0;
    let written = loop {
        pass += 1;
        let view = View { paths: paths.clone(), fetched: &fetched, missing: RefCell::default() };
        let result = cutover_write::write(&view, plan, &options);
        let missing = view.missing.into_inner();
        if missing.is_empty() || pass >= MAX_PASSES || fetched.len() >= MAX_FETCHED {
            break result.map_err(PrepareError::Files)?;
        }
        for path in missing {
            let text = match repo.files.iter().find(|(p, _, _)| *p == path) {
                Some((_, sha, size)) if *size <= MAX_FILE_BYTES && fetched.len() < MAX_FETCHED => {
                    String::from_utf8(target.client.blob(&target.repo, sha).await?).ok()
                }
                _ => None,
            };
            fetched.insert(path, text);
        }
    };
    let mut files: Vec<File> = written.files.into_iter().map(|f| File { path: f.path, content: f.contents }).collect();
    let mut content = serde_json::to_string_pretty(plan).unwrap_or_default();
    content.push('\n');
    files.push(File { path: plan_file, content });
    let mut notes = written.notes;
    notes.insert(0, format!("Migrations in the {} format, in {}/.", written.format, written.directory));
    let impact = application_impact(target, repo, plan, &mut fetched).await?;
    for edit in &impact.edits {
        if !files.iter().any(|f| f.path == edit.file) {
            files.push(File { path: edit.file.clone(), content: edit.text.clone() });
        }
    }
    Ok(Rendered { files, notes, impact })
}

/// What the plan's dropped, renamed and retyped tables and columns affect in the repository:
/// the source files `cutover-impact` reads (by extension, outside dependency and build
/// directories, at most [`MAX_IMPACT_FILES`] of at most [`MAX_FILE_BYTES`]), fetched unless
/// `cutover-write` fetched them already. Nothing is fetched when the plan changes nothing
/// the application can name.
async fn application_impact(
    target: &GitHubTarget,
    repo: &RepoSnapshot,
    plan: &Plan,
    fetched: &mut BTreeMap<String, Option<String>>,
) -> Result<cutover_impact::Impact, GitHubError> {
    let limits = cutover_impact::Limits { max_files: MAX_IMPACT_FILES, max_file_bytes: MAX_FILE_BYTES as usize };
    if cutover_impact::affected(plan).is_empty() {
        return Ok(cutover_impact::analyze(plan, &[], limits));
    }
    let mut sources = Vec::new();
    for (path, sha, size) in &repo.files {
        if !cutover_impact::wanted(path) || cutover_impact::in_skipped_dir(path) || *size > MAX_FILE_BYTES {
            continue;
        }
        if sources.len() == MAX_IMPACT_FILES {
            break;
        }
        let text = match fetched.get(path) {
            Some(text) => text.clone(),
            None => {
                let text = String::from_utf8(target.client.blob(&target.repo, sha).await?).ok();
                fetched.insert(path.clone(), text.clone());
                text
            }
        };
        if let Some(text) = text {
            sources.push(cutover_impact::SourceFile { path: path.clone(), text });
        }
    }
    Ok(cutover_impact::analyze(plan, &sources, limits))
}

/// `ENG-123` → `eng-123`: lowercase ASCII letters, digits and `-` (an identifier is Linear's,
/// but it becomes a path).
fn slug(identifier: &str) -> String {
    let slug: String = identifier
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .to_string();
    if slug.is_empty() { "issue".into() } else { slug }
}

/// The branch for an issue: Linear's `branchName` when git accepts it, else one made from the
/// identifier.
pub fn branch_for(issue: &Issue) -> String {
    let suggested = issue.branch_name.trim();
    if cutover_github::check_branch(suggested).is_ok() {
        suggested.to_string()
    } else {
        format!("cutover/{}", slug(&issue.identifier))
    }
}

/// The pull request's title: the identifier (Linear links it) and the issue's title, on one
/// line of at most 120 characters.
pub fn title(issue: &Issue) -> String {
    let text: String = issue.title.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut title = format!("{}: {text}", issue.identifier);
    if title.chars().count() > 120 {
        title = title.chars().take(119).collect::<String>() + "…";
    }
    title
}

/// Reads the repository, renders the files and decides the two writes for an approved plan:
/// the branch with its one commit, then the pull request, which attaches itself to the issue
/// and to `sub_issue_ids` (filled in by the caller once the sub-issues' ids are chosen) and
/// links itself in the session.
pub async fn prepare(
    target: &GitHubTarget,
    issue: &Issue,
    plan: &Plan,
    session_id: Option<&str>,
) -> Result<(Write, Write, cutover_impact::Impact), PrepareError> {
    let repo = read_repository(target).await?;
    let now = chrono::Utc::now();
    let rendered = render(target, &repo, plan, issue, now.timestamp_millis()).await?;
    let branch = branch_for(issue);
    let push = Write::PushBranch {
        repo: target.repo.full_name(),
        base: repo.base.clone(),
        branch: branch.clone(),
        message: crate::messages::commit_message(&title(issue), plan),
        files: rendered.files.clone(),
        // Fixed now: the commit made again after a crash is the same commit.
        date: now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    };
    let pull = Write::PullRequest {
        repo: target.repo.full_name(),
        base: repo.base.clone(),
        branch,
        title: title(issue),
        body: crate::messages::pull_request_body(
            &issue.identifier,
            plan,
            &rendered.files,
            &rendered.notes,
            &rendered.impact,
        ),
        issue_id: issue.id.clone(),
        session_id: session_id.map(str::to_string),
        sub_issue_ids: Vec::new(),
    };
    Ok((push, pull, rendered.impact))
}
