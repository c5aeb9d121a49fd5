//! The schema-engine benchmark (issue 2): introspect and diff two databases of N tables
//! (10 columns, 2 indexes and 1 foreign key each) where 5% of the tables differ, with
//! Cutover and with migra, on the same databases in the same run.

use crate::measure::{self, Sample};
use crate::report;
use anyhow::{Context, bail};
use cutover_db_postgres::connect::Target;
use cutover_sql::quote;
use std::fmt::Write;
use std::path::PathBuf;

struct Options {
    tables: usize,
    changed_percent: usize,
    runs: usize,
    migra: Option<String>,
    cutover: PathBuf,
    write: Option<PathBuf>,
    /// Leave the databases in place afterwards, for investigation.
    keep: bool,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let sibling = std::env::current_exe()?.with_file_name("cutover");
    let mut o =
        Options { tables: 5000, changed_percent: 5, runs: 3, migra: None, cutover: sibling, write: None, keep: false };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--tables" => o.tables = value()?.parse()?,
            "--changed-percent" => o.changed_percent = value()?.parse()?,
            "--runs" => o.runs = value()?.parse()?,
            "--migra" => o.migra = Some(value()?),
            "--cutover" => o.cutover = value()?.into(),
            "--write" => o.write = Some(value()?.into()),
            "--keep" => o.keep = true,
            other => bail!("unknown flag {other}"),
        }
    }
    if o.migra.is_none() {
        o.migra = which("migra");
    }
    Ok(o)
}

fn which(program: &str) -> Option<String> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(program))
            .find(|f| f.is_file())
            .map(|f| f.to_string_lossy().into_owned())
    })
}

/// `CREATE TABLE`s with their indexes, then the foreign keys (each table references the
/// previous one, the first the last).
pub fn schema_sql(tables: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(tables * 4);
    for i in 0..tables {
        out.push(format!(
            "CREATE TABLE t{i} (id bigint PRIMARY KEY, ref_id bigint, c1 text, c2 integer, \
             c3 timestamptz DEFAULT now(), c4 numeric(10,2), c5 boolean, c6 text, c7 jsonb, c8 date)"
        ));
        out.push(format!("CREATE INDEX t{i}_c1_idx ON t{i} (c1)"));
        out.push(format!("CREATE INDEX t{i}_c2_c3_idx ON t{i} (c2, c3)"));
    }
    for i in 0..tables {
        let j = (i + tables - 1) % tables;
        out.push(format!("ALTER TABLE t{i} ADD CONSTRAINT t{i}_ref_fk FOREIGN KEY (ref_id) REFERENCES t{j} (id)"));
    }
    out
}

/// The changes that make the second database differ: on every changed table, a type
/// change, a new column, a changed index and a new default.
pub fn change_sql(tables: usize, changed_percent: usize) -> Vec<String> {
    let step = (100 / changed_percent.max(1)).max(1);
    let mut out = Vec::new();
    for i in (0..tables).step_by(step) {
        out.push(format!(
            "ALTER TABLE t{i} ALTER COLUMN c2 TYPE bigint, ADD COLUMN c9 text, ALTER COLUMN c6 SET DEFAULT 'x'"
        ));
        out.push(format!("DROP INDEX t{i}_c2_c3_idx"));
        out.push(format!("CREATE INDEX t{i}_c2_c3_idx ON t{i} (c2, c3, c4)"));
    }
    out
}

fn url(target: &Target) -> String {
    let c = &target.config;
    let host = match c.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string().replace('/', "%2F"),
        None => "localhost".into(),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432);
    let user = c.get_user().unwrap_or("postgres");
    let password = c.get_password().map(|p| format!(":{}", String::from_utf8_lossy(p))).unwrap_or_default();
    format!("postgresql://{user}{password}@{host}:{port}/{}", c.get_dbname().unwrap_or("postgres"))
}

async fn load(target: &Target, statements: &[String]) -> anyhow::Result<()> {
    let client = target.connect().await?;
    client.batch_execute("SET synchronous_commit = off").await?;
    for chunk in statements.chunks(500) {
        client.batch_execute(&chunk.join(";\n")).await?;
    }
    Ok(())
}

pub fn main(args: &[String]) -> anyhow::Result<()> {
    let o = parse(args)?;
    if !o.cutover.is_file() {
        bail!("{} not found; build it with `cargo build --release -p cutover`", o.cutover.display());
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let admin_url =
        std::env::var("CUTOVER_BENCH_DATABASE_URL").unwrap_or_else(|_| cutover_test_support::admin_url().to_string());
    let admin = Target::parse(&admin_url)?;
    let (from, to) = (admin.with_dbname("cutover_bench_from"), admin.with_dbname("cutover_bench_to"));

    let server_version = runtime.block_on(async {
        let client = admin.connect().await?;
        for db in ["cutover_bench_to", "cutover_bench_from"] {
            client.batch_execute(&format!("DROP DATABASE IF EXISTS {}", quote::ident(db))).await?;
        }
        client.batch_execute("CREATE DATABASE cutover_bench_from TEMPLATE template0").await?;
        eprintln!("loading {} tables...", o.tables);
        load(&from, &schema_sql(o.tables)).await?;
        client.batch_execute("CREATE DATABASE cutover_bench_to TEMPLATE cutover_bench_from").await?;
        load(&to, &change_sql(o.tables, o.changed_percent)).await?;
        // Loading leaves the system catalogs full of dead row versions, which autovacuum
        // would clear within minutes; a production catalog is vacuumed, so measure that.
        for target in [&from, &to] {
            target.connect().await?.batch_execute("VACUUM (ANALYZE)").await?;
        }
        // Write out what loading dirtied now, so no checkpoint runs during the measurements.
        client.batch_execute("CHECKPOINT").await?;
        let v: String = client.query_one("SHOW server_version", &[]).await?.get(0);
        anyhow::Ok(v)
    })?;

    let (from_url, to_url) = (url(&from), url(&to));
    let out_dir = std::env::temp_dir();
    let mut cutover_samples = Vec::new();
    let cutover_out = out_dir.join("cutover-bench-cutover.sql").to_string_lossy().into_owned();
    // One unmeasured run of each tool first, so every measured run finds the same warm caches.
    for run in 0..=o.runs {
        let sample = measure::run(
            &cutover_out,
            &[0],
            &o.cutover.to_string_lossy(),
            &["diff".into(), "--from".into(), from_url.clone(), "--to".into(), to_url.clone()],
        )?;
        eprintln!("cutover run {run}: {:.0} ms, {} KiB", sample.wall_ms, sample.max_rss_kb);
        if run > 0 {
            cutover_samples.push(sample);
        }
    }
    let cutover_statements = count_statements(&cutover_out);

    // Planning on top of the diff: the whole `cutover plan` command, and the pure functions
    // on catalogs already read.
    let mut plan_samples = Vec::new();
    let plan_out = out_dir.join("cutover-bench-plan.json").to_string_lossy().into_owned();
    for run in 0..=o.runs {
        let sample = measure::run(
            &plan_out,
            &[0, 1],
            &o.cutover.to_string_lossy(),
            &[
                "plan".into(),
                "--from".into(),
                from_url.clone(),
                "--to".into(),
                to_url.clone(),
                "--format".into(),
                "json".into(),
            ],
        )?;
        eprintln!("cutover plan run {run}: {:.0} ms, {} KiB", sample.wall_ms, sample.max_rss_kb);
        if run > 0 {
            plan_samples.push(sample);
        }
    }
    let pure = runtime.block_on(pure_timings(&from, &to, o.runs))?;

    let mut migra_samples = Vec::new();
    let migra_out = out_dir.join("cutover-bench-migra.sql").to_string_lossy().into_owned();
    if let Some(migra) = &o.migra {
        for run in 0..=o.runs {
            // migra exits with 2 when it found differences.
            let sample =
                measure::run(&migra_out, &[0, 2], migra, &["--unsafe".into(), from_url.clone(), to_url.clone()])
                    .context("running migra")?;
            eprintln!("migra run {run}: {:.0} ms, {} KiB", sample.wall_ms, sample.max_rss_kb);
            if run > 0 {
                migra_samples.push(sample);
            }
        }
    }

    if !o.keep {
        runtime.block_on(async {
            let client = admin.connect().await?;
            for db in ["cutover_bench_to", "cutover_bench_from"] {
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {}", quote::ident(db))).await?;
            }
            anyhow::Ok(())
        })?;
    }

    let c = measure::median(&mut cutover_samples);
    let m = (!migra_samples.is_empty()).then(|| measure::median(&mut migra_samples));
    let p = measure::median(&mut plan_samples);
    let mut body =
        render(&o, &server_version, c, cutover_statements, m, o.migra.as_ref().map(|_| count_statements(&migra_out)));
    body.push_str(&render_planning(c, p, pure));
    println!("{body}");
    if let Some(path) = &o.write {
        report::write_section(path, "schema-engine", &body)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn count_statements(path: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    cutover_sql::split::split(&text).len()
}

fn render(
    o: &Options,
    server: &str,
    c: Sample,
    c_statements: usize,
    m: Option<Sample>,
    m_statements: Option<usize>,
) -> String {
    let mut s = String::new();
    let changed = o.tables * o.changed_percent / 100;
    writeln!(s, "## Schema engine: introspect and diff {} tables", o.tables).unwrap();
    writeln!(s).unwrap();
    writeln!(
        s,
        "- Date: {} · Machine: {} · PostgreSQL {server} on the same machine",
        report::today(),
        report::machine()
    )
    .unwrap();
    writeln!(
        s,
        "- Two databases of {} tables (10 columns, 2 indexes, 1 foreign key each); in the second, {changed} tables \
         ({}%) have a column type change, a new column, a new default and a changed index.",
        o.tables, o.changed_percent
    )
    .unwrap();
    writeln!(
        s,
        "- Both databases are vacuumed after loading, as a production database's catalogs are, and a checkpoint \
         runs before measuring; each tool has one unmeasured warm-up run."
    )
    .unwrap();
    writeln!(
        s,
        "- Each tool compares the two live databases (`cutover diff --from URL --to URL`, `migra --unsafe URL URL`), \
         median of {} runs, wall time of the whole process; peak memory is the process's maximum resident set size.",
        o.runs
    )
    .unwrap();
    writeln!(s, "- Reproduce: `cargo build --release -p cutover -p cutover-bench && target/release/cutover-bench schema-engine --write docs/benchmarks.md`").unwrap();
    writeln!(s).unwrap();
    writeln!(s, "| tool | wall time | peak memory | statements |").unwrap();
    writeln!(s, "| --- | ---: | ---: | ---: |").unwrap();
    writeln!(s, "| Cutover | {:.2} s | {:.0} MiB | {c_statements} |", c.wall_ms / 1000.0, c.max_rss_kb as f64 / 1024.0)
        .unwrap();
    match (m, m_statements) {
        (Some(m), Some(n)) => {
            writeln!(s, "| migra | {:.2} s | {:.0} MiB | {n} |", m.wall_ms / 1000.0, m.max_rss_kb as f64 / 1024.0)
                .unwrap();
            writeln!(s).unwrap();
            writeln!(
                s,
                "Cutover is **{:.1}x** faster than migra (target: at least 10x) and takes {:.2} s (target: under 2 s).",
                m.wall_ms / c.wall_ms,
                c.wall_ms / 1000.0
            )
            .unwrap();
        }
        _ => {
            writeln!(s).unwrap();
            writeln!(s, "migra was not found (install it with `pip install migra psycopg2-binary` or pass --migra PATH); no ratio.").unwrap();
        }
    }
    s
}

/// Median milliseconds of `diff()` and of `plan_diff()` on the same two catalogs.
async fn pure_timings(from: &Target, to: &Target, runs: usize) -> anyhow::Result<(f64, f64, usize)> {
    use cutover_db_postgres::introspect::{IntrospectOptions, introspect};
    use cutover_plan::planner::{PlanOptions, plan_diff};
    let options = IntrospectOptions::default();
    let current = introspect(&from.connect().await?, &options).await?;
    let desired = introspect(&to.connect().await?, &options).await?;
    let plan_options = PlanOptions::default();
    let mut diff_ms = Vec::new();
    let mut plan_ms = Vec::new();
    let mut steps = 0;
    for _ in 0..runs.max(3) {
        let started = std::time::Instant::now();
        let diff = cutover_plan::diff(&current, &desired, &plan_options.diff);
        diff_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = std::time::Instant::now();
        let plan = plan_diff(&current, &desired, &diff, &plan_options);
        plan_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        steps = plan.phases.iter().map(|p| p.steps.len()).sum();
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok((median(&mut diff_ms), median(&mut plan_ms), steps))
}

fn render_planning(diff: Sample, plan: Sample, (diff_fn, plan_fn, steps): (f64, f64, usize)) -> String {
    let mut s = String::new();
    writeln!(s).unwrap();
    writeln!(s, "### Planning on top of the diff (same databases, same run)").unwrap();
    writeln!(s).unwrap();
    writeln!(s, "| what | time |").unwrap();
    writeln!(s, "| --- | ---: |").unwrap();
    writeln!(s, "| `cutover diff` (whole command) | {:.2} s |", diff.wall_ms / 1000.0).unwrap();
    writeln!(s, "| `cutover plan --format json` (whole command) | {:.2} s |", plan.wall_ms / 1000.0).unwrap();
    writeln!(s, "| `diff()` on the two catalogs already read | {diff_fn:.0} ms |").unwrap();
    writeln!(s, "| planning the diff (`plan_diff()`, {steps} steps) | {plan_fn:.0} ms |").unwrap();
    writeln!(s).unwrap();
    writeln!(
        s,
        "Planning adds **{:.0}%** to the `cutover diff` command's time (target: under 20%).",
        plan_fn / (diff.wall_ms) * 100.0
    )
    .unwrap();
    s
}
