//! Which framework a repository uses, where its migrations live, and what its last migration
//! is. Reads only the files it needs (manifests, one migration of a directory), because a
//! caller may be reading the repository through an API.

use crate::units::Splitting;
use crate::{Format, Options, Problem, Repo};
use std::collections::{BTreeMap, BTreeSet};

/// The format chosen and what its files must follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub format: Format,
    /// Where new migrations go, relative to the root, without a trailing `/`.
    pub directory: String,
    /// How the format was chosen, as a sentence.
    pub reason: String,
    /// Names of the entries directly in `directory` (files, and directories for Prisma).
    pub existing: Vec<String>,
    /// Alembic: the head revision; Django: the last migration's name.
    pub previous: Option<String>,
    /// Django: the app label; Rails: the `ActiveRecord::Migration[x.y]` version;
    /// node-pg-migrate: `esm` when the package is an ES module.
    pub flavour: Option<String>,
}

impl Format {
    /// How the format holds transactional and non-transactional statements.
    pub fn splitting(self) -> Splitting {
        match self {
            Format::Alembic => Splitting::Mixed,
            Format::Flyway | Format::Rails | Format::Django | Format::NodePgMigrate | Format::Refinery => {
                Splitting::ByTransaction
            }
            Format::Sql | Format::GolangMigrate | Format::Dbmate | Format::Sqlx | Format::Prisma => {
                Splitting::AloneOutside
            }
        }
    }

    fn default_directory(self) -> &'static str {
        match self {
            Format::Sql | Format::GolangMigrate | Format::Sqlx | Format::Refinery | Format::NodePgMigrate => {
                "migrations"
            }
            Format::Dbmate => "db/migrations",
            Format::Flyway => "sql",
            Format::Alembic => "alembic/versions",
            Format::Django => "migrations",
            Format::Rails => "db/migrate",
            Format::Prisma => "prisma/migrations",
        }
    }
}

fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

fn file_name(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") }
}

/// Leading ASCII digits of `name` and the rest.
pub fn leading_number(name: &str) -> Option<(&str, &str)> {
    let end = name.find(|c: char| !c.is_ascii_digit()).unwrap_or(name.len());
    (end > 0).then(|| name.split_at(end))
}

fn is_flyway_name(name: &str) -> bool {
    name.strip_prefix('V')
        .and_then(|rest| rest.split_once("__"))
        .is_some_and(|(v, _)| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '_'))
        && name.ends_with(".sql")
}

/// Paths that are not the repository's own (vendored code, build output).
fn ignored(path: &str) -> bool {
    path.split('/').any(|part| matches!(part, "node_modules" | "vendor" | "target" | ".git" | "venv" | ".venv"))
}

/// The directory (and the matching file names in it) holding most files that satisfy `pred`.
fn busiest_dir(paths: &[String], pred: impl Fn(&str) -> bool) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for p in paths {
        if pred(p) {
            *counts.entry(parent(p)).or_default() += 1;
        }
    }
    counts.into_iter().max_by_key(|(dir, n)| (*n, std::cmp::Reverse(*dir))).map(|(d, _)| d.to_string())
}

fn manifest_mentions(repo: &dyn Repo, paths: &[String], manifest: &str, word: &str) -> bool {
    paths.iter().filter(|p| file_name(p) == manifest).take(20).any(|p| repo.read(p).is_some_and(|t| t.contains(word)))
}

/// Detects the format and its directory (or takes them from `options`).
pub fn detect(repo: &dyn Repo, paths: &[String], options: &Options) -> Result<Detected, Problem> {
    let paths: Vec<String> = paths.iter().filter(|p| !ignored(p)).cloned().collect();
    let (format, found_dir, reason) = match options.format {
        Some(f) => (f, None, format!("format {f} as configured")),
        None => guess(repo, &paths),
    };
    let directory = match (&options.directory, found_dir) {
        (Some(d), _) => d.trim_end_matches('/').to_string(),
        (None, Some(d)) => d,
        (None, None) => directory_of(repo, &paths, format)?,
    };
    let mut existing: BTreeSet<String> = BTreeSet::new();
    let prefix = if directory.is_empty() { String::new() } else { format!("{directory}/") };
    for p in &paths {
        if let Some(rest) = p.strip_prefix(&prefix) {
            let first = rest.split('/').next().unwrap_or(rest);
            existing.insert(first.to_string());
        }
    }
    let existing: Vec<String> = existing.into_iter().collect();
    let mut detected = Detected { format, directory, reason, existing, previous: None, flavour: None };
    match format {
        Format::Alembic => detected.previous = alembic_head(repo, &detected)?,
        Format::Django => {
            let app = parent(&detected.directory);
            detected.flavour = Some(if app.is_empty() { "app".into() } else { file_name(app).to_string() });
            detected.previous = detected
                .existing
                .iter()
                .filter(|n| n.ends_with(".py") && leading_number(n).is_some())
                .max()
                .map(|n| n.trim_end_matches(".py").to_string());
        }
        Format::Rails => {
            detected.flavour = detected
                .existing
                .iter()
                .filter(|n| n.ends_with(".rb"))
                .max()
                .and_then(|n| repo.read(&join(&detected.directory, n)))
                .and_then(|text| {
                    let start = text.find("ActiveRecord::Migration[")? + "ActiveRecord::Migration[".len();
                    let end = text[start..].find(']')?;
                    Some(text[start..start + end].to_string())
                });
        }
        Format::NodePgMigrate => {
            let esm = repo.read("package.json").is_some_and(|t| t.replace(' ', "").contains("\"type\":\"module\""));
            if esm {
                detected.flavour = Some("esm".into());
            }
        }
        _ => {}
    }
    Ok(detected)
}

/// The format the repository's files say, the directory of its migrations when found, and
/// why.
fn guess(repo: &dyn Repo, paths: &[String]) -> (Format, Option<String>, String) {
    let has = |name: &str| paths.iter().any(|p| p == name);
    let by_files = |format: Format, dir: Option<String>, why: &str| (format, dir, format!("format {format}: {why}"));

    if let Some(dir) = busiest_dir(paths, |p| parent(p).ends_with("db/migrate") && p.ends_with(".rb")) {
        return by_files(Format::Rails, Some(dir.clone()), &format!("Rails migrations in {dir}/"));
    }
    if let Some(dir) = busiest_dir(paths, |p| {
        parent(p).ends_with("migrations") && p.ends_with(".py") && leading_number(file_name(p)).is_some()
    }) {
        let sample =
            paths.iter().find(|p| parent(p) == dir && p.ends_with(".py") && leading_number(file_name(p)).is_some());
        if sample.and_then(|p| repo.read(p)).is_some_and(|t| t.contains("django")) {
            return by_files(Format::Django, Some(dir.clone()), &format!("Django migrations in {dir}/"));
        }
    }
    if has("alembic.ini") {
        return by_files(Format::Alembic, None, "alembic.ini");
    }
    if let Some(dir) =
        busiest_dir(paths, |p| file_name(p) == "migration.sql" && parent(parent(p)).ends_with("migrations"))
    {
        let dir = parent(&dir).to_string();
        return by_files(Format::Prisma, Some(dir.clone()), &format!("Prisma migrations in {dir}/"));
    }
    if paths.iter().any(|p| file_name(p) == "schema.prisma") {
        let schema = paths.iter().find(|p| file_name(p) == "schema.prisma").cloned().unwrap_or_default();
        return by_files(Format::Prisma, Some(join(parent(&schema), "migrations")), &schema);
    }
    if manifest_mentions(repo, paths, "package.json", "node-pg-migrate") {
        return by_files(Format::NodePgMigrate, None, "package.json depends on node-pg-migrate");
    }
    if let Some(dir) = busiest_dir(paths, |p| p.ends_with(".sql")) {
        let sample = paths.iter().filter(|p| parent(p) == dir && p.ends_with(".sql")).max();
        if sample.and_then(|p| repo.read(p)).is_some_and(|t| t.contains("-- migrate:up")) {
            return by_files(Format::Dbmate, Some(dir.clone()), &format!("dbmate migrations in {dir}/"));
        }
    }
    if manifest_mentions(repo, paths, "package.json", "dbmate") {
        return by_files(Format::Dbmate, None, "package.json depends on dbmate");
    }
    if manifest_mentions(repo, paths, "Cargo.toml", "refinery") {
        let dir = busiest_dir(paths, |p| is_flyway_name(file_name(p)));
        return by_files(Format::Refinery, dir, "Cargo.toml depends on refinery");
    }
    if manifest_mentions(repo, paths, "Cargo.toml", "sqlx") {
        let dir = busiest_dir(paths, |p| parent(p).ends_with("migrations") && p.ends_with(".sql"));
        return by_files(Format::Sqlx, dir, "Cargo.toml depends on sqlx");
    }
    if let Some(dir) = busiest_dir(paths, |p| is_flyway_name(file_name(p))) {
        return by_files(Format::Flyway, Some(dir.clone()), &format!("Flyway migrations in {dir}/"));
    }
    if has("flyway.conf") || has("flyway.toml") {
        return by_files(Format::Flyway, None, "a Flyway configuration file");
    }
    if let Some(dir) = busiest_dir(paths, |p| p.ends_with(".up.sql") && leading_number(file_name(p)).is_some()) {
        return by_files(Format::GolangMigrate, Some(dir.clone()), &format!("up/down migrations in {dir}/"));
    }
    if manifest_mentions(repo, paths, "go.mod", "golang-migrate") {
        return by_files(Format::GolangMigrate, None, "go.mod requires golang-migrate");
    }
    if let Some(dir) = busiest_dir(paths, |p| p.ends_with(".sql") && leading_number(file_name(p)).is_some()) {
        return by_files(Format::Sql, Some(dir.clone()), &format!("numbered SQL files in {dir}/"));
    }
    (Format::Sql, None, "format sql: no migration framework found, so plain numbered SQL files".into())
}

/// The directory of a format chosen without one found: its files if any, else its default.
fn directory_of(repo: &dyn Repo, paths: &[String], format: Format) -> Result<String, Problem> {
    let found = match format {
        Format::Rails => busiest_dir(paths, |p| parent(p).ends_with("db/migrate") && p.ends_with(".rb")),
        Format::Django => {
            let apps: BTreeSet<String> = paths
                .iter()
                .filter(|p| file_name(p) == "__init__.py" && parent(p).ends_with("migrations"))
                .map(|p| parent(p).to_string())
                .collect();
            return match apps.len() {
                1 => Ok(apps.into_iter().next().unwrap_or_default()),
                _ => Err(Problem::DjangoApp { found: apps.into_iter().collect() }),
            };
        }
        Format::Alembic => {
            let location = repo
                .read("alembic.ini")
                .and_then(|ini| {
                    ini.lines().find_map(|l| {
                        let (k, v) = l.split_once('=')?;
                        (k.trim() == "script_location").then(|| v.trim().trim_start_matches("%(here)s/").to_string())
                    })
                })
                .or_else(|| busiest_dir(paths, |p| file_name(p) == "env.py").map(|d| d.to_string()));
            location.map(|l| join(l.trim_end_matches('/'), "versions"))
        }
        Format::Prisma => busiest_dir(paths, |p| file_name(p) == "schema.prisma").map(|d| join(&d, "migrations")),
        Format::Flyway | Format::Refinery => busiest_dir(paths, |p| is_flyway_name(file_name(p))),
        Format::GolangMigrate => busiest_dir(paths, |p| p.ends_with(".up.sql")),
        Format::Dbmate | Format::Sqlx | Format::Sql => {
            busiest_dir(paths, |p| p.ends_with(".sql") && leading_number(file_name(p)).is_some())
        }
        Format::NodePgMigrate => busiest_dir(paths, |p| {
            parent(p).ends_with("migrations") && leading_number(file_name(p)).is_some() && p.ends_with(".js")
        }),
    };
    Ok(found.unwrap_or_else(|| format.default_directory().to_string()))
}

/// The single head of the Alembic revisions in the directory (`None` when there are none).
fn alembic_head(repo: &dyn Repo, detected: &Detected) -> Result<Option<String>, Problem> {
    let mut revisions = BTreeSet::new();
    let mut downs = BTreeSet::new();
    for name in detected.existing.iter().filter(|n| n.ends_with(".py")) {
        let Some(text) = repo.read(&join(&detected.directory, name)) else { continue };
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else { continue };
            // `revision = "..."` or, with type annotations, `revision: str = "..."`.
            let key = key.split(':').next().unwrap_or(key).trim();
            let quoted: Vec<String> = value.split(['\'', '"']).skip(1).step_by(2).map(str::to_string).collect();
            match key {
                "revision" => revisions.extend(quoted.into_iter().take(1)),
                "down_revision" => downs.extend(quoted),
                _ => {}
            }
        }
    }
    if revisions.is_empty() {
        return Ok(None);
    }
    let heads: Vec<String> = revisions.difference(&downs).cloned().collect();
    match heads.len() {
        1 => Ok(heads.into_iter().next()),
        _ => Err(Problem::AlembicHeads { heads }),
    }
}
