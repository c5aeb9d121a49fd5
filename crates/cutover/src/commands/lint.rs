//! `cutover lint`: migrations in, diagnostics out (human, JSON, SARIF, GitHub annotations).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cutover_db_postgres::introspect::IntrospectOptions;
use cutover_db_postgres::scratch::DevServer;
use cutover_db_postgres::source::SqlSource;
use cutover_lint::{LintOptions, RuleSettings, Severity, SourceFile, render};

use super::Outcome;
use crate::cli::{LintArgs, LintFormat};
use crate::config;

pub async fn run(args: LintArgs) -> anyhow::Result<Outcome> {
    let (file_config, config_path) = config::load_file(args.config.as_deref())?;
    let settings = rule_settings(&file_config.lint, config_path.as_deref())?;
    let files = read_sources(&args.paths)?;
    let database = match &args.database {
        Some(url) => {
            let source = SqlSource::parse(url).context("invalid --database")?;
            if !matches!(source, SqlSource::Database(_)) {
                bail!("--database must be a postgres:// URL, not {url}");
            }
            let catalog = source
                .load(&DevServer::new(None), &IntrospectOptions::default())
                .await
                .context("could not read the --database schema")?;
            Some(catalog)
        }
        None => None,
    };
    let pg_version = args
        .pg_version
        .or(database.as_ref().map(|c| c.facts.server_version_num / 10000))
        .or(file_config.lint.pg_version)
        .unwrap_or(18);
    let options = LintOptions {
        pg_version,
        assume_in_transaction: args.assume_in_transaction || file_config.lint.assume_in_transaction.unwrap_or(false),
        database,
        rules: settings,
    };
    let report = cutover_lint::lint(&files, &options);
    let out = match args.format {
        LintFormat::Human => render::human(&report, &files),
        LintFormat::Json => render::json(&report),
        LintFormat::Sarif => render::sarif(&report),
        LintFormat::Github => render::github(&report),
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(if report.errors() > 0 { Outcome::Findings } else { Outcome::Success })
}

fn rule_settings(section: &config::LintSection, path: Option<&Path>) -> anyhow::Result<RuleSettings> {
    let file = path.map(|p| p.display().to_string()).unwrap_or_else(|| "cutover.toml".into());
    let known: Vec<&str> = cutover_lint::docs::rules().iter().map(|r| r.code).collect();
    let check = |code: &str, field: &str| -> anyhow::Result<()> {
        if known.contains(&code) {
            Ok(())
        } else {
            bail!("{file}: {field} names an unknown rule {code:?}; the rules are listed in docs/rules/README.md")
        }
    };
    let mut settings = RuleSettings::default();
    for code in &section.disable {
        check(code, "lint.disable")?;
        settings.disabled.insert(code.clone());
    }
    for (code, rule) in &section.rules {
        check(code, &format!("[lint.rules.{code}]"))?;
        if rule.enabled == Some(false) {
            settings.disabled.insert(code.clone());
        }
        if let Some(severity) = &rule.severity {
            let Some(severity) = Severity::parse(severity) else {
                bail!("{file}: lint.rules.{code}.severity is {severity:?}; use \"error\" or \"warning\"")
            };
            settings.severity.insert(code.clone(), severity);
        }
    }
    Ok(settings)
}

/// Files as given, directories as their .sql files in lexical order of their paths.
fn read_sources(paths: &[String]) -> anyhow::Result<Vec<SourceFile>> {
    let mut files = Vec::new();
    for arg in paths {
        let path = Path::new(arg);
        let mut found = Vec::new();
        if path.is_dir() {
            collect(path, &mut found)?;
            found.sort();
            if found.is_empty() {
                bail!("{arg} is a directory with no .sql files");
            }
        } else if path.is_file() {
            found.push(path.to_path_buf());
        } else {
            bail!("{arg} is neither a .sql file nor a directory");
        }
        for file in found {
            let text = std::fs::read_to_string(&file).with_context(|| format!("could not read {}", file.display()))?;
            files.push(SourceFile { path: file.display().to_string(), text });
        }
    }
    Ok(files)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("could not read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "sql") {
            out.push(path);
        }
    }
    Ok(())
}
