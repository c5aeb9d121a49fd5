//! `cutover verify`: the postconditions of a plan's completed phases and the user's checks
//! on a live database (see `cutover_db_postgres::verify`). Exit 0 when every check passes,
//! 1 when one fails, 2 when the plan, the checks file or the database cannot be used.

use super::Outcome;
use crate::cli::{VerifyArgs, VerifyFormat};
use anyhow::{Context, bail};
use cutover_db_postgres::apply::{PlanFile, checksum};
use cutover_db_postgres::connect::Target;
use cutover_db_postgres::verify::{self, Config};
use cutover_plan::planner::{PhaseName, Plan};
use cutover_plan::verify::{Expect, LatencyCheck, UserCheck};
use serde::Deserialize;
use std::io::Write;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

pub async fn run(args: VerifyArgs) -> anyhow::Result<Outcome> {
    let bytes =
        std::fs::read(&args.plan).with_context(|| format!("could not read the plan {}", args.plan.display()))?;
    let plan: Plan = serde_json::from_slice(&bytes).with_context(|| {
        format!("{} is not a plan (the JSON that `cutover plan --format json` writes)", args.plan.display())
    })?;
    let (checks, latency) = match &args.checks {
        Some(path) => read_checks(path)?,
        None => (Vec::new(), Vec::new()),
    };
    let target = Target::parse(&args.database).context("invalid --database")?;
    let phases: Vec<PhaseName> = args.phases.iter().filter_map(|p| PhaseName::parse(p)).collect();
    let config = Config { phases: (!phases.is_empty()).then_some(phases), checks, latency, check_timeout_ms: 60_000 };
    let checksum = checksum(&bytes);
    let report = verify::verify(&target, PlanFile { plan: &plan, checksum: &checksum }, &config)
        .await
        .context("verify stopped")?;
    let text = match args.format {
        VerifyFormat::Human => report.render_human(),
        VerifyFormat::Json => report.render_json() + "\n",
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(if report.failed() == 0 { Outcome::Success } else { Outcome::Findings })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecksFile {
    #[serde(default)]
    check: Vec<RawCheck>,
    #[serde(default)]
    latency: Vec<RawLatency>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    name: String,
    sql: String,
    expect: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLatency {
    name: String,
    sql: String,
    budget_ms: Spanned<u64>,
    #[serde(default = "default_runs")]
    runs: Spanned<u32>,
}

fn default_runs() -> Spanned<u32> {
    Spanned::new(0..0, 5)
}

/// Reads a checks file; a problem is one sentence naming the file, the line and the field.
pub fn read_checks(path: &Path) -> anyhow::Result<(Vec<UserCheck>, Vec<LatencyCheck>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("could not read the checks file {}", path.display()))?;
    let file: ChecksFile = match toml::from_str(&text) {
        Ok(file) => file,
        Err(e) => bail!("{}", problem(path, &text, e.span(), e.message())),
    };
    let mut checks = Vec::new();
    for c in file.check {
        let Some(expect) = Expect::parse(c.expect.get_ref()) else {
            bail!(
                "{}",
                problem(
                    path,
                    &text,
                    Some(c.expect.span()),
                    &format!("`expect` must be \"true\", \"zero\" or \"rows:N\", not {:?}", c.expect.get_ref())
                )
            );
        };
        checks.push(UserCheck { name: c.name, sql: c.sql, expect });
    }
    let mut latency = Vec::new();
    for l in file.latency {
        if *l.budget_ms.get_ref() == 0 {
            bail!("{}", problem(path, &text, Some(l.budget_ms.span()), "`budget_ms` must be at least 1"));
        }
        if *l.runs.get_ref() == 0 {
            bail!("{}", problem(path, &text, Some(l.runs.span()), "`runs` must be at least 1"));
        }
        latency.push(LatencyCheck {
            name: l.name,
            sql: l.sql,
            budget_ms: l.budget_ms.into_inner(),
            runs: l.runs.into_inner(),
        });
    }
    Ok((checks, latency))
}

/// `the checks file F:LINE is invalid: field `key`: message`.
fn problem(path: &Path, text: &str, span: Option<Range<usize>>, message: &str) -> String {
    let Some(span) = span else {
        return format!("the checks file {} is invalid: {message}", path.display());
    };
    let start = span.start.min(text.len());
    let line = text[..start].matches('\n').count() + 1;
    let line_text = text.lines().nth(line - 1).unwrap_or("");
    let key = line_text.split_once('=').map(|(k, _)| k.trim()).filter(|k| !k.is_empty() && !k.starts_with('['));
    let field = match key {
        Some(k) if !message.contains(&format!("`{k}`")) => format!("field `{k}`: "),
        _ => String::new(),
    };
    format!("the checks file {}:{line} is invalid: {field}{}", path.display(), message.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checks.toml");
        std::fs::write(&path, text).unwrap();
        match read_checks(&path) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string().replace(&dir.path().display().to_string(), "DIR"),
        }
    }

    #[test]
    fn problems_name_the_file_line_and_field() {
        assert_eq!(
            read("[[check]]\nname = \"a\"\nsql = \"SELECT true\"\nexpect = \"maybe\"\n"),
            "the checks file DIR/checks.toml:4 is invalid: `expect` must be \"true\", \"zero\" or \"rows:N\", not \"maybe\""
        );
        assert_eq!(
            read("[[latency]]\nname = \"a\"\nsql = \"SELECT 1\"\nbudget_ms = \"fast\"\n"),
            "the checks file DIR/checks.toml:4 is invalid: field `budget_ms`: invalid type: string \"fast\", expected u64"
        );
        assert_eq!(
            read("[[latency]]\nname = \"a\"\nsql = \"SELECT 1\"\nbudget_ms = 5\nruns = 0\n"),
            "the checks file DIR/checks.toml:5 is invalid: `runs` must be at least 1"
        );
        assert_eq!(
            read("[[check]]\nname = \"a\"\nexpect = \"zero\"\n"),
            "the checks file DIR/checks.toml:1 is invalid: missing field `sql`"
        );
        assert_eq!(
            read(
                "[[check]]\nname = \"a\"\nsql = \"SELECT 0\"\nexpect = \"zero\"\n[[latency]]\nname = \"b\"\nsql = \"SELECT 1\"\nbudget_ms = 10\n"
            ),
            "ok"
        );
    }
}
