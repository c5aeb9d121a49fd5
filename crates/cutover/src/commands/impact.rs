//! `cutover impact`: what a plan's dropped, renamed and retyped tables and columns affect in
//! an application's repository (`cutover-impact`), with `--fix` writing the edited model
//! files. The repository is read here, bounded: regular files only (symlinks are neither
//! followed nor read), no VCS or dependency directories, at most `Limits::max_files` files
//! of at most `Limits::max_file_bytes` each.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cutover_impact::{Limits, Skipped, SourceFile, render};
use cutover_plan::HazardCode;
use cutover_plan::planner::Plan;

use super::Outcome;
use crate::cli::{ImpactArgs, ImpactFormat};

/// Deeper than this, a tree is not a source tree.
const MAX_DEPTH: usize = 32;

pub async fn run(args: ImpactArgs) -> anyhow::Result<Outcome> {
    let bytes =
        std::fs::read(&args.plan).with_context(|| format!("could not read the plan {}", args.plan.display()))?;
    let plan: Plan = serde_json::from_slice(&bytes).with_context(|| {
        format!("{} is not a plan (the JSON that `cutover plan --format json` writes)", args.plan.display())
    })?;
    if !args.repo.is_dir() {
        bail!("--repo {} is not a directory", args.repo.display());
    }
    // Plans made before steps recorded `app_changes` name nothing; say so rather than
    // report a clean repository.
    let breaking = plan.steps().any(|(_, s)| s.hazards.iter().any(|h| h.code == HazardCode::BreaksRunningCode));
    if breaking && plan.steps().all(|(_, s)| s.app_changes.is_empty()) {
        eprintln!(
            "warning: {} has steps that break running code but records no app_changes (a plan made by an older cutover?); make the plan again to search for them",
            args.plan.display()
        );
    }
    let limits = Limits::default();
    let (files, mut skipped) = read_repository(&args.repo, limits)?;
    let mut impact = cutover_impact::analyze(&plan, &files, limits);
    skipped.append(&mut impact.skipped);
    impact.skipped = skipped;
    if args.fix {
        for edit in &impact.edits {
            let path = args.repo.join(&edit.file);
            // Written only over the regular file that was read.
            let meta =
                std::fs::symlink_metadata(&path).with_context(|| format!("could not stat {}", path.display()))?;
            if !meta.file_type().is_file() {
                bail!("{} is no longer a regular file; not writing it", path.display());
            }
            std::fs::write(&path, &edit.text).with_context(|| format!("could not write {}", path.display()))?;
        }
    }
    let out = match args.format {
        ImpactFormat::Human => {
            let mut s = render::human(&impact);
            if !impact.edits.is_empty() {
                s.push_str(if args.fix {
                    "model files written (--fix)\n"
                } else {
                    "run again with --fix to write the edited model files\n"
                });
            }
            s
        }
        ImpactFormat::Json => render::json(&impact),
        ImpactFormat::Markdown => render::markdown(&impact),
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(Outcome::Success)
}

/// The repository's files the analysis reads, by path relative to `root` with `/`, sorted;
/// and those it did not read, with why.
fn read_repository(root: &Path, limits: Limits) -> anyhow::Result<(Vec<SourceFile>, Vec<Skipped>)> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut stack: Vec<(PathBuf, usize)> = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let entries = std::fs::read_dir(&dir).with_context(|| format!("could not read {}", dir.display()))?;
        let mut entries: Vec<_> =
            entries.collect::<Result<_, _>>().with_context(|| format!("could not read {}", dir.display()))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let file_type = entry.file_type().with_context(|| format!("could not stat {}", path.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = relative(root, &path);
            if file_type.is_dir() {
                if !cutover_impact::SKIPPED_DIRS.contains(&name.as_str()) && depth < MAX_DEPTH {
                    stack.push((path, depth + 1));
                }
                continue;
            }
            // Symlinks (to files or directories, inside or outside the repository) are not
            // read: a repository's content cannot make Cutover read elsewhere.
            if !file_type.is_file() || !cutover_impact::wanted(&rel) {
                continue;
            }
            if files.len() == limits.max_files {
                skipped.push(Skipped { file: rel, reason: format!("past the first {} files", limits.max_files) });
                continue;
            }
            let size = entry.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
            if size > limits.max_file_bytes as u64 {
                skipped.push(Skipped { file: rel, reason: format!("larger than {} bytes", limits.max_file_bytes) });
                continue;
            }
            let bytes = std::fs::read(&path).with_context(|| format!("could not read {}", path.display()))?;
            match String::from_utf8(bytes) {
                Ok(text) => files.push(SourceFile { path: rel, text }),
                Err(_) => skipped.push(Skipped { file: rel, reason: "not UTF-8".into() }),
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((files, skipped))
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}
