//! `cutover lint`: migrations in, diagnostics out (human, JSON, SARIF, GitHub annotations,
//! a Markdown pull-request comment).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use cutover_db_postgres::introspect::IntrospectOptions;
use cutover_db_postgres::scratch::DevServer;
use cutover_db_postgres::source::SqlSource;
use cutover_lint::{LintOptions, SourceFile, render};

use super::Outcome;
use crate::cli::{LintArgs, LintFormat};
use crate::config;

pub async fn run(args: LintArgs) -> anyhow::Result<Outcome> {
    let (file_config, config_path) = config::load_file(args.config.as_deref())?;
    let settings = config::lint_settings(&file_config.lint, config_path.as_deref())?;
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
    let traces = if args.trace {
        Some(trace(&files, &options, args.dev_url.clone()).await.context("lock tracing failed")?)
    } else {
        None
    };
    let mut out = match args.format {
        LintFormat::Human => render::human(&report, &files),
        LintFormat::Json => render::json(&report),
        LintFormat::Sarif => render::sarif(&report),
        LintFormat::Github => render::github(&report),
        LintFormat::Markdown => render::markdown(&report, &files),
    };
    if let Some((traces, traced_version)) = &traces {
        match args.format {
            LintFormat::Json => {
                let mut value: serde_json::Value = serde_json::from_str(&out)?;
                value["traces"] = serde_json::to_value(traces)?;
                out = serde_json::to_string_pretty(&value)? + "\n";
            }
            _ => out.push_str(&render_traces(traces, *traced_version)),
        }
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(if report.errors() > 0 { Outcome::Findings } else { Outcome::Success })
}

/// Files as given, directories as their .sql files in lexical order of their paths.
fn read_sources(paths: &[String]) -> anyhow::Result<Vec<SourceFile>> {
    let mut files = Vec::new();
    for arg in paths {
        let path = Path::new(arg);
        let mut found = Vec::new();
        if path.is_dir() {
            cutover_db_postgres::source::collect_sql_files(path, &mut found)?;
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

/// One traced statement, for output.
#[derive(Debug, serde::Serialize)]
struct TraceRow {
    file: String,
    line: usize,
    statement: String,
    /// What PostgreSQL took: `{relation, kind, mode}`.
    locks: Vec<serde_json::Value>,
    /// What Cutover's lock knowledge says: `{table, mode, operation}`.
    expected: Vec<serde_json::Value>,
    /// Whether the strongest lock on the statement's table is the expected one (None when
    /// there is nothing to compare).
    agrees: Option<bool>,
    untraceable: bool,
    error: Option<String>,
}

/// Runs the history on a scratch database, tracing each statement's locks.
async fn trace(
    files: &[SourceFile],
    options: &LintOptions,
    dev_url: Option<String>,
) -> anyhow::Result<(Vec<TraceRow>, u32)> {
    use cutover_db_postgres::trace::trace as trace_one;
    use pg_query::NodeEnum;
    let dev = DevServer::new(dev_url);
    let scratch = dev.create_scratch().await?;
    let result = async {
        let client = scratch.connect().await?;
        // Compare with the lock knowledge of the server the statements really ran on.
        let version_num: i32 = client
            .query_one("SELECT current_setting('server_version_num')::int", &[])
            .await
            .context("reading the scratch server's version")?
            .get(0);
        let traced_version = version_num as u32 / 10000;
        if let Some(catalog) = &options.database {
            cutover_db_postgres::validate::recreate(&client, catalog, &cutover_plan::DiffOptions::default()).await?;
        }
        let mut rows = Vec::new();
        for file in files {
            for piece in cutover_sql::split::split(&file.text) {
                let Ok(parsed) = pg_query::parse(piece.text, 0) else { continue };
                let Some(node) =
                    parsed.protobuf.stmts.first().and_then(|s| s.stmt.as_ref()).and_then(|n| n.node.as_ref())
                else {
                    continue;
                };
                if matches!(node, NodeEnum::TransactionStmt(_) | NodeEnum::VariableSetStmt(_)) {
                    continue;
                }
                let traced = trace_one(&client, piece.text).await?;
                let expected = cutover_lint::locks::static_locks(node, traced_version);
                let main: Vec<_> = expected.iter().filter(|l| !l.referenced).collect();
                let agrees = if traced.untraceable || traced.error.is_some() || main.is_empty() {
                    None
                } else {
                    let want = main.iter().map(|l| l.mode).max();
                    let table = main.iter().find_map(|l| l.table.as_ref()).map(|t| t.qualified());
                    let got = traced.table_lock(table.as_deref()).or_else(|| traced.table_lock(None));
                    // `DROP ... IF EXISTS` of something absent does nothing and locks nothing.
                    if got.is_none() && table.is_none() { None } else { Some(want == got) }
                };
                rows.push(TraceRow {
                    file: file.path.clone(),
                    line: piece.line,
                    statement: piece.text.lines().next().unwrap_or("").to_string(),
                    locks: traced
                        .locks
                        .iter()
                        .map(
                            |(r, k, m)| serde_json::json!({ "relation": r, "kind": k.to_string(), "mode": m.as_str() }),
                        )
                        .collect(),
                    expected: expected
                        .iter()
                        .map(|l| {
                            serde_json::json!({
                                "table": l.table.as_ref().map(|t| t.qualified()),
                                "mode": l.mode.as_str(),
                                "operation": format!("{:?}", l.operation),
                                "referenced": l.referenced,
                            })
                        })
                        .collect(),
                    agrees,
                    untraceable: traced.untraceable,
                    error: traced.error,
                });
            }
        }
        anyhow::Ok((rows, traced_version))
    }
    .await;
    scratch.remove().await.ok();
    result
}

fn render_traces(rows: &[TraceRow], pg_version: u32) -> String {
    use std::fmt::Write as _;
    let mut s = format!("\nLocks traced on a scratch copy (PostgreSQL {pg_version}):\n");
    for row in rows {
        let locks: Vec<String> = row
            .locks
            .iter()
            .filter(|l| matches!(l["kind"].as_str(), Some("r" | "p")))
            .map(|l| format!("{} on {}", l["mode"].as_str().unwrap_or(""), l["relation"].as_str().unwrap_or("")))
            .collect();
        let taken = if row.untraceable {
            "not traceable in a transaction (CONCURRENTLY and the like)".to_string()
        } else if let Some(e) = &row.error {
            format!("failed: {e}")
        } else if locks.is_empty() {
            "no table lock".to_string()
        } else {
            locks.join(", ")
        };
        let verdict = match row.agrees {
            Some(true) => " (as expected)",
            Some(false) => " (DIFFERS from Cutover's lock knowledge)",
            None => "",
        };
        writeln!(s, "  {}:{}: {} — {taken}{verdict}", row.file, row.line, row.statement).unwrap();
    }
    s
}
