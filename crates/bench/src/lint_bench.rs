//! `cutover-bench lint`: `cutover lint` and squawk on the same inputs in the same run (a
//! 20,000-statement migration, many short statements one per line, the same on one line);
//! wall time and peak memory, median of several runs, and the ratios.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::{measure, report};

/// A migration history of `n` statements mixing the forms migrations are made of: new tables
/// and their indexes, columns, indexes and constraints on existing tables, type changes,
/// backfills, functions with dollar-quoted bodies, drops.
pub fn migration(n: usize) -> String {
    let mut s = String::from("SET lock_timeout = '2s';\n");
    let mut i = 0;
    while i < n {
        let k = i / 10;
        let forms = [
            format!(
                "CREATE TABLE t{k} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a integer, b varchar(40), created_at timestamp);"
            ),
            format!("CREATE INDEX t{k}_a_idx ON t{k} (a);"),
            format!("ALTER TABLE users ADD COLUMN c{k} text;"),
            format!("CREATE INDEX users_c{k}_idx ON users (c{k});"),
            format!("ALTER TABLE orders ADD CONSTRAINT orders_u{k}_fk FOREIGN KEY (user_id) REFERENCES users (id);"),
            format!("ALTER TABLE users ALTER COLUMN c{k} SET NOT NULL;"),
            format!("UPDATE users SET c{k} = 'x' WHERE id BETWEEN {k} AND {};", k + 1000),
            format!("ALTER TABLE events ALTER COLUMN payload{k} TYPE jsonb USING payload{k}::jsonb;"),
            format!(
                "CREATE OR REPLACE FUNCTION f{k}() RETURNS integer LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN {k};\nEND\n$$;"
            ),
            format!("DROP INDEX CONCURRENTLY IF EXISTS old_idx_{k};"),
        ];
        for form in forms.iter().take(n - i) {
            s.push_str(form);
            s.push('\n');
        }
        i += forms.len();
    }
    s
}

/// `n` copies of `SELECT 1;`, one per line or all on one line.
pub fn short_statements(n: usize, one_line: bool) -> String {
    let mut s = "SELECT 1;".repeat(n);
    if !one_line {
        s = s.replace(';', ";\n");
    }
    s.push('\n');
    s
}

/// One input shape and its measurements.
struct Shape {
    name: String,
    file: String,
    cutover: measure::Sample,
    squawk: measure::Sample,
    diagnostics: usize,
}

pub fn main(args: &[String]) -> anyhow::Result<()> {
    let (mut statements, mut short, mut runs, mut squawk, mut write) = (20_000usize, 200_000usize, 5usize, None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().context("missing value").cloned();
        match arg.as_str() {
            "--statements" => statements = value()?.parse()?,
            "--short" => short = value()?.parse()?,
            "--runs" => runs = value()?.parse()?,
            "--squawk" => squawk = Some(value()?),
            "--write" => write = Some(PathBuf::from(value()?)),
            other => bail!("unknown argument {other}"),
        }
    }
    let squawk = squawk
        .or_else(|| which("squawk"))
        .context("squawk not found: pip install squawk-cli, or pass --squawk PATH")?;
    let cutover = std::env::current_exe()?.with_file_name("cutover");
    if !cutover.is_file() {
        bail!("{} not found; build it with `cargo build --release -p cutover`", cutover.display());
    }
    let dir = tempfile::tempdir()?;
    let version = std::process::Command::new(&squawk).arg("--version").output()?;
    let squawk_version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let inputs = [
        (format!("mixed DDL/DML, {statements} statements"), "mixed.sql", migration(statements)),
        (format!("{short} × `SELECT 1;`, one per line"), "lines.sql", short_statements(short, false)),
        (format!("{short} × `SELECT 1;`, all on one line"), "one-line.sql", short_statements(short, true)),
    ];
    let out = dir.path().join("out.txt").to_string_lossy().into_owned();
    let mut shapes = Vec::new();
    for (name, file_name, text) in inputs {
        let file = dir.path().join(file_name);
        std::fs::write(&file, text)?;
        let file = file.to_string_lossy().into_owned();
        let mut samples: [Vec<measure::Sample>; 2] = [Vec::new(), Vec::new()];
        let mut diagnostics = 0;
        // Alternate the tools, one unmeasured warm-up run each.
        for run in 0..=runs {
            let c = measure::run(&out, &[0, 1], &cutover.to_string_lossy(), &["lint".into(), file.clone()])?;
            diagnostics = std::fs::read_to_string(&out)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.starts_with("error[") || l.starts_with("warning["))
                .count();
            let s = measure::run(&out, &[0, 1], &squawk, std::slice::from_ref(&file))?;
            eprintln!(
                "{name}, run {run}: cutover {:.0} ms ({diagnostics} diagnostics), squawk {:.0} ms",
                c.wall_ms, s.wall_ms
            );
            if run > 0 {
                samples[0].push(c);
                samples[1].push(s);
            }
        }
        let (cutover, squawk) = (measure::median(&mut samples[0]), measure::median(&mut samples[1]));
        shapes.push(Shape { name, file: file_name.to_string(), cutover, squawk, diagnostics });
    }
    let mut body = String::new();
    writeln!(body, "## Linter: Cutover and squawk side by side on three input shapes\n")?;
    writeln!(body, "- Date: {} · Machine: {}", report::today(), report::machine())?;
    writeln!(
        body,
        "- Inputs, generated by `cutover-bench lint`: a migration of {statements} statements mixing the DDL and DML of real migrations (new tables and their indexes, columns, indexes and foreign keys on existing tables, SET NOT NULL, batched updates, type changes, PL/pgSQL functions, concurrent drops); {short} short statements one per line; the same {short} statements on one line."
    )?;
    writeln!(
        body,
        "- `cutover lint FILE` (all rules, human output) and `squawk FILE` ({squawk_version}, default rules and output), alternating, median of {runs} runs after one warm-up each; wall time of the whole process, peak resident memory. Cutover parses on as many threads as the machine has cores."
    )?;
    writeln!(
        body,
        "- Reproduce: `pip install squawk-cli==2.70.0 && cargo build --release -p cutover -p cutover-bench && target/release/cutover-bench lint --write docs/benchmarks.md`\n"
    )?;
    writeln!(
        body,
        "| input | Cutover | squawk | Cutover's speed | Cutover's memory | Cutover's diagnostics |\n| --- | ---: | ---: | ---: | ---: | ---: |"
    )?;
    for s in &shapes {
        writeln!(
            body,
            "| {} (`{}`) | {:.0} ms, {:.0} MiB | {:.0} ms, {:.0} MiB | {:.2}x squawk's | {:.2}x squawk's | {} |",
            s.name,
            s.file,
            s.cutover.wall_ms,
            s.cutover.max_rss_kb as f64 / 1024.0,
            s.squawk.wall_ms,
            s.squawk.max_rss_kb as f64 / 1024.0,
            s.squawk.wall_ms / s.cutover.wall_ms,
            s.cutover.max_rss_kb as f64 / s.squawk.max_rss_kb as f64,
            s.diagnostics,
        )?;
    }
    writeln!(
        body,
        "\nTargets: at least 2x squawk's speed on every shape, memory at most 1.5x squawk's. Met on {} of {} shapes.",
        shapes
            .iter()
            .filter(|s| s.squawk.wall_ms / s.cutover.wall_ms >= 2.0
                && s.cutover.max_rss_kb as f64 <= 1.5 * s.squawk.max_rss_kb as f64)
            .count(),
        shapes.len()
    )?;
    println!("{body}");
    if let Some(path) = write {
        report::write_section(&path, "lint", &body)?;
    }
    Ok(())
}

fn which(program: &str) -> Option<String> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join(program))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
}
