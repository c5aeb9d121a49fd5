//! `cutover write`: a plan as migration files in a repository's framework (see
//! `cutover_write`). The repository is read through a disk-backed [`Repo`]; the files are
//! written all or none, and an existing file is never overwritten (exit 2 naming it).

use super::Outcome;
use crate::cli::WriteArgs;
use crate::config;
use anyhow::{Context, bail};
use cutover_plan::planner::Plan;
use cutover_write::{DEFAULT_BACKFILL_THRESHOLD_ROWS, Format, NewFile, Options, Repo};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A repository on disk: its files below `root` (version-control and dependency directories
/// left out), read when asked.
#[derive(Debug)]
pub struct DiskRepo {
    root: PathBuf,
}

/// Directories that hold no migrations of the repository's own and can be very large.
const SKIPPED: &[&str] = &[".git", "node_modules", "target", "venv", ".venv", "vendor", "__pycache__"];

impl DiskRepo {
    pub fn new(root: &Path) -> DiskRepo {
        DiskRepo { root: root.to_path_buf() }
    }

    fn walk(&self, dir: &Path, prefix: &str, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
            let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
            if kind.is_dir() {
                if !SKIPPED.contains(&name.as_str()) {
                    self.walk(&entry.path(), &path, out);
                }
            } else if kind.is_file() {
                out.push(path);
            }
        }
    }
}

impl Repo for DiskRepo {
    fn paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.walk(&self.root, "", &mut out);
        out.sort();
        out
    }

    fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(path)).ok()
    }
}

pub fn run(args: WriteArgs) -> anyhow::Result<Outcome> {
    let bytes =
        std::fs::read(&args.plan).with_context(|| format!("could not read the plan {}", args.plan.display()))?;
    let plan: Plan = serde_json::from_slice(&bytes).with_context(|| {
        format!("{} is not a plan (the JSON that `cutover plan --format json` writes)", args.plan.display())
    })?;
    if !args.repo.is_dir() {
        bail!("--repo {} is not a directory", args.repo.display());
    }
    let config_path = args.config.clone().or_else(|| {
        let in_repo = args.repo.join("cutover.toml");
        in_repo.is_file().then_some(in_repo)
    });
    let (file, _) = config::load_file(config_path.as_deref())?;
    let format = match args.format.as_deref().or(file.write.format.as_deref()) {
        None => None,
        Some(name) => Some(Format::parse(name).with_context(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            let origin = if args.format.is_some() { "--format" } else { "[write] format" };
            format!("{origin} `{name}` is not a migration format; use one of {}", names.join(", "))
        })?),
    };
    let now_unix_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let options = Options {
        format,
        directory: args.dir.clone().or(file.write.directory.clone()),
        name: args.name.clone(),
        issue: args.issue.clone(),
        backfill_threshold_rows: args
            .backfill_threshold
            .or(file.write.backfill_threshold_rows)
            .unwrap_or(DEFAULT_BACKFILL_THRESHOLD_ROWS),
        now_unix_ms,
        plan_path: Some(plan_reference(&args.plan, &args.repo)),
    };
    let repo = DiskRepo::new(&args.repo);
    let written = cutover_write::write(&repo, &plan, &options)
        .with_context(|| format!("could not write migrations into {}", args.repo.display()))?;
    write_all(&args.repo, &written.files)?;
    let mut stdout = std::io::stdout().lock();
    for f in &written.files {
        writeln!(stdout, "wrote {}", f.path)?;
    }
    for note in &written.notes {
        writeln!(stdout, "note: {note}")?;
    }
    stdout.flush()?;
    Ok(Outcome::Success)
}

/// How the migrations name the plan in the commands they document: its path relative to the
/// repository when it lies inside it, else as given.
fn plan_reference(plan: &Path, repo: &Path) -> String {
    let (Ok(plan_abs), Ok(repo_abs)) = (plan.canonicalize(), repo.canonicalize()) else {
        return plan.display().to_string();
    };
    match plan_abs.strip_prefix(&repo_abs) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => plan.display().to_string(),
    }
}

/// Writes every file or none: each is written to a temporary file in its directory first,
/// then linked to its name (which fails if the name exists) and removed; on any failure the
/// names already linked are removed again.
fn write_all(root: &Path, files: &[NewFile]) -> anyhow::Result<()> {
    for f in files {
        let target = root.join(&f.path);
        if target.exists() {
            bail!("{} exists already; refusing to overwrite it", target.display());
        }
    }
    let mut staged = Vec::new();
    for f in files {
        let target = root.join(&f.path);
        let dir = target.parent().unwrap_or(root);
        std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("could not create a file in {}", dir.display()))?;
        tmp.write_all(f.contents.as_bytes()).with_context(|| format!("could not write {}", target.display()))?;
        // A temporary file is private (0600); a migration is as readable as the rest of the
        // repository.
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("could not write {}", target.display()))?;
        staged.push((tmp, target));
    }
    let mut linked: Vec<PathBuf> = Vec::new();
    for (tmp, target) in &staged {
        if let Err(err) = std::fs::hard_link(tmp.path(), target) {
            for done in &linked {
                let _ = std::fs::remove_file(done);
            }
            if err.kind() == std::io::ErrorKind::AlreadyExists {
                bail!("{} exists already; refusing to overwrite it", target.display());
            }
            return Err(err).with_context(|| format!("could not write {}", target.display()));
        }
        linked.push(target.clone());
    }
    Ok(())
}
