//! The backfill benchmark (issue 11): a column computed from another, filled for a whole
//! table by the backfill engine and by one `UPDATE`, on fresh identical copies of the same
//! table, alone and under an open-loop write load.
//!
//! The change is planned by Cutover itself: `accounts.amount integer` becomes `bigint`, which
//! `cutover plan` turns into an expand phase (a nullable `amount_new`-style column and the
//! trigger that keeps it in step) and a backfill step whose spec fills it from `amount`.
//! The expand phase is applied with `cutover apply` to a template database; every measured
//! run starts from a file copy of that template, after a checkpoint:
//!
//! - backfill: the plan's backfill step through the engine (`backfill::run_plan`, what
//!   `cutover backfill run` calls, with its default options), timed batch by batch;
//! - update: `UPDATE accounts SET <new> = <the spec's expression>` in one statement;
//! - each again while the load writes to the table.

use crate::load::{self, Load};
use crate::report;
use crate::server::Server;
use anyhow::{Context, bail};
use cutover_db_postgres::apply::{PlanFile, checksum};
use cutover_db_postgres::backfill::{self, Event, Outcome};
use cutover_db_postgres::connect::Target;
use cutover_plan::planner::{BackfillSpec, Plan};
use cutover_sql::quote;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

const TEMPLATE: &str = "cutover_bench_backfill";
const RUN_DB: &str = "cutover_bench_backfill_run";
/// How long the load runs alone.
const IDLE: Duration = Duration::from_secs(15);

struct Options {
    rows: u64,
    rate: f64,
    connections: usize,
    insert_percent: u32,
    shared_buffers: String,
    max_wal_size: String,
    /// An existing server (a superuser URL) instead of a throwaway one.
    database: Option<String>,
    cutover: PathBuf,
    write: Option<PathBuf>,
    /// Leave out the runs under load.
    no_load: bool,
    /// Only these runs (for investigation; the report is then partial).
    only: Option<Vec<String>>,
    /// The engine's target batch time.
    target_batch_ms: u64,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let sibling = std::env::current_exe()?.with_file_name("cutover");
    let mut o = Options {
        rows: 10_000_000,
        rate: 300.0,
        connections: 4,
        insert_percent: 20,
        shared_buffers: "1GB".into(),
        max_wal_size: "4GB".into(),
        database: None,
        cutover: sibling,
        write: None,
        no_load: false,
        only: None,
        target_batch_ms: 200,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => o.rows = value()?.parse()?,
            "--rate" => o.rate = value()?.parse()?,
            "--connections" => o.connections = value()?.parse()?,
            "--insert-percent" => o.insert_percent = value()?.parse()?,
            "--shared-buffers" => o.shared_buffers = value()?,
            "--max-wal-size" => o.max_wal_size = value()?,
            "--database" => o.database = Some(value()?),
            "--cutover" => o.cutover = value()?.into(),
            "--write" => o.write = Some(value()?.into()),
            "--no-load" => o.no_load = true,
            "--only" => o.only = Some(value()?.split(',').map(str::to_string).collect()),
            "--target-batch-ms" => o.target_batch_ms = value()?.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    if o.rows == 0 || o.rate <= 0.0 || o.connections == 0 || o.insert_percent > 100 {
        bail!("--rows, --rate and --connections must be positive, --insert-percent at most 100");
    }
    Ok(o)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Backfill,
    Update,
    /// Nothing: the load alone, for its latency on this machine without a filler.
    Idle,
}

/// One measured run.
#[derive(Debug, Clone)]
struct Run {
    method: Method,
    seconds: f64,
    /// Rows whose new column is filled and agrees with the old one, of all rows, afterwards.
    rows_right: i64,
    rows_total: i64,
    wal_bytes: i64,
    checkpoints: i64,
    /// Autovacuums and autoanalyzes of the table that finished during the run.
    autovacuums: i64,
    /// Each batch: its time (from the end of the one before) and its rows.
    batches: Vec<(f64, u64)>,
    lock_timeouts: u64,
    load: Option<load::Stats>,
    loadavg_before: String,
    loadavg_after: String,
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

pub fn main(args: &[String]) -> anyhow::Result<()> {
    let o = parse(args)?;
    if !o.cutover.is_file() {
        bail!("{} not found; build it with `cargo build --release -p cutover`", o.cutover.display());
    }
    let settings = vec![
        format!("shared_buffers={}", o.shared_buffers),
        format!("max_wal_size={}", o.max_wal_size),
        "max_connections=100".to_string(),
    ];
    let server = match &o.database {
        Some(_) => None,
        None => {
            eprintln!("starting a throwaway PostgreSQL server ({})", settings.join(", "));
            Some(Server::start(&settings)?)
        }
    };
    let admin_url = match (&o.database, &server) {
        (Some(url), _) => url.clone(),
        (None, Some(s)) => s.url("postgres"),
        (None, None) => unreachable!(),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(bench(&o, &admin_url, server.is_some()));
    drop(server);
    let body = result?;
    println!("{body}");
    if let Some(path) = &o.write {
        report::write_section(path, "backfill", &body)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

async fn bench(o: &Options, admin_url: &str, own_server: bool) -> anyhow::Result<String> {
    let admin = Target::parse(admin_url)?;
    let client = admin.connect().await?;
    let version: String = client.query_one("SELECT pg_catalog.version()", &[]).await?.get(0);
    let version_num: i32 =
        client.query_one("SELECT pg_catalog.current_setting('server_version_num')::int", &[]).await?.get(0);
    let server_settings = read_settings(&client).await?;

    let started = Instant::now();
    eprintln!("building {TEMPLATE}: {} rows", o.rows);
    build_template(&admin, o.rows).await?;
    let build_s = started.elapsed().as_secs_f64();
    let tmp = tempfile::tempdir()?;
    let (plan, sum, spec) = plan_and_expand(o, &admin, admin_url, tmp.path()).await?;
    eprintln!(
        "plan: backfill of {}.{} = {} ({} built in {build_s:.0} s)",
        quote::qualified(&spec.table),
        spec.column,
        spec.expression,
        TEMPLATE
    );

    let mut variants = vec![(Method::Backfill, false), (Method::Update, false)];
    if !o.no_load {
        variants.extend([(Method::Idle, true), (Method::Backfill, true), (Method::Update, true)]);
    }
    if let Some(only) = &o.only {
        variants.retain(|(method, with_load)| {
            let name = format!("{}{}", format!("{method:?}").to_lowercase(), if *with_load { "-load" } else { "" });
            only.contains(&name)
        });
    }
    let mut runs = Vec::new();
    for (method, with_load) in variants {
        let run = run_one(o, &admin, version_num, method, with_load, PlanFile { plan: &plan, checksum: &sum }, &spec)
            .await
            .with_context(|| format!("{method:?}{}", if with_load { " under load" } else { "" }))?;
        if method == Method::Idle {
            eprintln!(
                "the load alone: {}",
                run.load
                    .as_ref()
                    .map(|l| format!("p50 {:.1} ms p99 {:.1} ms max {:.0} ms", l.p50_ms, l.p99_ms, l.max_ms))
                    .unwrap_or_default()
            );
            runs.push((with_load, run));
            continue;
        }
        eprintln!(
            "{method:?}{}: {:.1} s, {:.0} rows/s, {} of {} rows right{}",
            if with_load { " under load" } else { "" },
            run.seconds,
            o.rows as f64 / run.seconds,
            run.rows_right,
            run.rows_total,
            run.load
                .as_ref()
                .map(|l| format!(
                    ", writes p50 {:.1} ms p99 {:.1} ms max {:.0} ms; longest lock wait of a write {:.0} ms; service time p99: INSERT {:.1} ms, UPDATE {:.1} ms",
                    l.p50_ms, l.p99_ms, l.max_ms, l.writer_lock_wait_ms, l.insert_service_p99_ms, l.update_service_p99_ms
                ))
                .unwrap_or_default()
        );
        runs.push((with_load, run));
    }
    let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {TEMPLATE}")).await;
    Ok(render(o, &version, &server_settings, own_server, &spec, &runs))
}

const SHOWN_SETTINGS: &[&str] = &[
    "shared_buffers",
    "max_wal_size",
    "checkpoint_timeout",
    "wal_level",
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_compression",
    "autovacuum",
    "work_mem",
];

async fn read_settings(client: &Client) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for name in SHOWN_SETTINGS {
        let value: String = client.query_one(&format!("SHOW {name}"), &[]).await?.get(0);
        out.push((name.to_string(), value));
    }
    Ok(out)
}

/// The table, loaded in id order, its primary key built after the load, vacuumed (frozen:
/// every page all-visible) and analyzed, as a table that has lived a while is.
async fn build_template(admin: &Target, rows: u64) -> anyhow::Result<()> {
    let client = admin.connect().await?;
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {RUN_DB}")).await?;
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {TEMPLATE}")).await?;
    client.batch_execute(&format!("CREATE DATABASE {TEMPLATE}")).await?;
    let db = admin.with_dbname(TEMPLATE).connect().await?;
    db.batch_execute(
        "SET synchronous_commit = off; SET maintenance_work_mem = '512MB';
         CREATE TABLE public.accounts (id bigint NOT NULL, amount integer, note text,
             updated_at timestamptz NOT NULL DEFAULT pg_catalog.now())",
    )
    .await?;
    let chunk = 1_000_000u64;
    let mut from = 1u64;
    while from <= rows {
        let to = (from + chunk - 1).min(rows);
        db.batch_execute(&format!(
            "INSERT INTO public.accounts (id, amount, note, updated_at)
             SELECT g, (g * 7919 % 100000)::int, pg_catalog.md5(g::text), timestamptz '2026-01-01' + g * interval '1 second'
             FROM pg_catalog.generate_series({from}::bigint, {to}::bigint) AS g"
        ))
        .await?;
        from = to + 1;
    }
    db.batch_execute("ALTER TABLE public.accounts ADD CONSTRAINT accounts_pkey PRIMARY KEY (id)").await?;
    db.batch_execute("VACUUM (FREEZE, ANALYZE) public.accounts").await?;
    Ok(())
}

/// `cutover plan` from the template to the same table with `amount bigint`, then `cutover
/// apply --phase expand` on the template. Returns the plan, its checksum and its one
/// backfill's spec.
async fn plan_and_expand(
    o: &Options,
    admin: &Target,
    admin_url: &str,
    dir: &std::path::Path,
) -> anyhow::Result<(Plan, String, BackfillSpec)> {
    let url = admin.with_dbname(TEMPLATE).connection_string();
    let after = dir.join("after.sql");
    std::fs::write(
        &after,
        "CREATE TABLE public.accounts (id bigint NOT NULL, amount bigint, note text,
    updated_at timestamptz NOT NULL DEFAULT now(), CONSTRAINT accounts_pkey PRIMARY KEY (id));\n",
    )?;
    let out = tokio::process::Command::new(&o.cutover)
        .args(["plan", "--from", &url, "--to"])
        .arg(&after)
        .args(["--dev-url", admin_url, "--format", "json"])
        .output()
        .await?;
    if !out.status.success() {
        bail!("cutover plan failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    let plan_path = dir.join("plan.json");
    std::fs::write(&plan_path, &out.stdout)?;
    let plan: Plan = serde_json::from_slice(&out.stdout).context("reading the plan")?;
    let sum = checksum(&out.stdout);
    let spec = {
        let steps = backfill::steps(&plan, &sum);
        let [one] = steps.as_slice() else {
            bail!("the plan has {} backfill steps the engine runs; expected one", steps.len());
        };
        one.spec.clone()
    };
    let out = tokio::process::Command::new(&o.cutover)
        .args(["apply", "--database", &url, "--plan"])
        .arg(&plan_path)
        .args(["--phase", "expand", "--yes"])
        .output()
        .await?;
    if !out.status.success() {
        bail!(
            "cutover apply --phase expand failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok((plan, sum, spec))
}

async fn vacuums(client: &Client) -> anyhow::Result<i64> {
    // The statistics are read as of the start of a transaction; a fresh snapshot each time.
    client.batch_execute("SELECT pg_catalog.pg_stat_clear_snapshot()").await?;
    let row = client
        .query_one(
            "SELECT (autovacuum_count + autoanalyze_count)::bigint FROM pg_catalog.pg_stat_user_tables WHERE relid = 'public.accounts'::regclass",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

async fn wal_and_checkpoints(client: &Client) -> anyhow::Result<(String, i64)> {
    let row = client
        .query_one(
            "SELECT pg_catalog.pg_current_wal_lsn()::text, (checkpoints_timed + checkpoints_req)::bigint FROM pg_catalog.pg_stat_bgwriter",
            &[],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}

#[allow(clippy::too_many_arguments)]
async fn run_one(
    o: &Options,
    admin: &Target,
    version_num: i32,
    method: Method,
    with_load: bool,
    plan: PlanFile<'_>,
    spec: &BackfillSpec,
) -> anyhow::Result<Run> {
    let client = admin.connect().await?;
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {RUN_DB}")).await?;
    // A file copy: the same pages, in the same order, as every other run gets.
    let strategy = if version_num >= 150000 { " STRATEGY = FILE_COPY" } else { "" };
    client.batch_execute(&format!("CREATE DATABASE {RUN_DB} TEMPLATE {TEMPLATE}{strategy}")).await?;
    let target = admin.with_dbname(RUN_DB);
    let db = target.connect().await?;
    db.batch_execute("CHECKPOINT").await?;
    // The copy and the checkpoint leave dirty pages in the OS cache; written back during the
    // run, they would slow whichever run they fall in.
    let synced = tokio::process::Command::new("sync").status().await?;
    if !synced.success() {
        bail!("sync failed");
    }
    // Read the table once (the OS cache holds the copy; this puts both runs on the same
    // footing for shared_buffers).
    db.batch_execute("SELECT pg_catalog.count(*) FROM public.accounts").await?;
    let (lsn_before, checkpoints_before) = wal_and_checkpoints(&db).await?;
    let loadavg_before = loadavg();
    let load = if with_load {
        let config = load::Config {
            rate: o.rate,
            connections: o.connections,
            insert_percent: o.insert_percent,
            rows: o.rows,
            lock_sample: Duration::from_millis(20),
        };
        let load = Load::start(&target, &config).await?;
        // A second of load before the measured work starts.
        tokio::time::sleep(Duration::from_secs(1)).await;
        Some(load)
    } else {
        None
    };
    let vacuums_before = vacuums(&db).await?;
    let started = Instant::now();
    let mut batches = Vec::new();
    let mut lock_timeouts = 0;
    let mut engine_started = None;
    match method {
        Method::Backfill => {
            let mut options = backfill::Options { progress_every: 1, ..backfill::Options::default() };
            options.limits.target = Duration::from_millis(o.target_batch_ms);
            let mut last = (Instant::now(), 0u64);
            let mut events = |_: &backfill::StepRef<'_>, event: Event<'_>| match event {
                Event::Started { .. } => {
                    last = (Instant::now(), 0);
                    engine_started = Some(last.0);
                }
                Event::Batch(p) => {
                    let now = Instant::now();
                    batches.push(((now - last.0).as_secs_f64() * 1000.0, p.rows_done - last.1));
                    last = (now, p.rows_done);
                }
                _ => {}
            };
            let outcomes = backfill::run_plan(&target, plan, None, &options, &mut events).await?;
            for (_, outcome) in outcomes {
                match outcome {
                    Outcome::Done(p) => lock_timeouts = p.lock_timeouts,
                    Outcome::Cancelled(_) => bail!("the backfill was cancelled"),
                }
            }
        }
        Method::Idle => tokio::time::sleep(IDLE).await,
        Method::Update => {
            db.batch_execute(&format!(
                "UPDATE {} SET {} = {}",
                quote::qualified(&spec.table),
                quote::ident(&spec.column),
                spec.expression
            ))
            .await?;
        }
    }
    let ended = Instant::now();
    let seconds = (ended - started).as_secs_f64();
    if method == Method::Backfill {
        // Where the time outside the batches went: before the first (connecting, the runner
        // lock, the state table) and after the last (the final look for keys, the end).
        let in_batches: f64 = batches.iter().map(|b| b.0).sum::<f64>() / 1000.0;
        let before = engine_started.map(|t| (t - started).as_secs_f64()).unwrap_or_default();
        eprintln!(
            "  engine: {before:.2} s before the first batch, {in_batches:.1} s in {} batches, {:.2} s after the last",
            batches.len(),
            seconds - before - in_batches
        );
    }
    let load = match load {
        Some(l) => Some(l.finish(started, ended).await?),
        None => None,
    };
    let loadavg_after = loadavg();
    let autovacuums = vacuums(&db).await? - vacuums_before;
    let (lsn_after, checkpoints_after) = wal_and_checkpoints(&db).await?;
    let wal_bytes: i64 = db
        .query_one(
            "SELECT pg_catalog.pg_wal_lsn_diff($1::text::pg_lsn, $2::text::pg_lsn)::bigint",
            &[&lsn_after, &lsn_before],
        )
        .await?
        .get(0);
    let check = format!(
        "SELECT pg_catalog.count(*) FILTER (WHERE {new} IS NOT DISTINCT FROM {expr} AND {new} IS NOT NULL), pg_catalog.count(*) FROM {table}",
        new = quote::ident(&spec.column),
        expr = spec.expression,
        table = quote::qualified(&spec.table)
    );
    let row = db.query_one(&check, &[]).await?;
    let (rows_right, rows_total): (i64, i64) = (row.get(0), row.get(1));
    drop(db);
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {RUN_DB}")).await?;
    // Rows inserted by the load count in the total (the UPDATE and the backfill fill them
    // too, or the trigger does); the rate is over the table's rows at the start.
    Ok(Run {
        method,
        seconds,
        rows_right,
        rows_total,
        wal_bytes,
        checkpoints: checkpoints_after - checkpoints_before,
        autovacuums,
        batches,
        lock_timeouts,
        load,
        loadavg_before,
        loadavg_after,
    })
}

/// Mean ms per batch and rows per batch of the first and the last tenth of the batches; the
/// final batch (the remainder of the table, usually partial) is left out.
fn ends(batches: &[(f64, u64)]) -> Option<[(f64, f64); 2]> {
    let batches = batches.get(..batches.len().saturating_sub(1))?;
    let tenth = (batches.len() / 10).max(1);
    if batches.len() < 2 {
        return None;
    }
    let mean = |part: &[(f64, u64)]| {
        let n = part.len() as f64;
        (part.iter().map(|b| b.0).sum::<f64>() / n, part.iter().map(|b| b.1 as f64).sum::<f64>() / n)
    };
    Some([mean(&batches[..tenth]), mean(&batches[batches.len() - tenth..])])
}

fn mib(bytes: i64) -> String {
    format!("{:.0} MiB", bytes as f64 / 1024.0 / 1024.0)
}

fn thousands(n: f64) -> String {
    cutover_plan::planner::thousands(n.round().max(0.0) as u64)
}

fn render(
    o: &Options,
    version: &str,
    settings: &[(String, String)],
    own_server: bool,
    spec: &BackfillSpec,
    runs: &[(bool, Run)],
) -> String {
    let mut s = String::new();
    let find = |method: Method, load: bool| runs.iter().find(|(l, r)| *l == load && r.method == method).map(|(_, r)| r);
    let rows = thousands(o.rows as f64);
    writeln!(s, "## Backfill: {rows} rows, the engine against one UPDATE\n").unwrap();
    let short_version = version.split(" on ").next().unwrap_or(version);
    writeln!(s, "- Date: {} · Machine: {} · {short_version} on the same machine", report::today(), report::machine())
        .unwrap();
    let shown: Vec<String> = settings.iter().map(|(n, v)| format!("{n}={v}")).collect();
    writeln!(
        s,
        "- Server: {}; settings: {}.",
        if own_server {
            "a throwaway cluster started by the benchmark (initdb defaults but for the settings named)"
        } else {
            "the server given with --database"
        },
        shown.join(", ")
    )
    .unwrap();
    writeln!(
        s,
        "- Table `accounts (id bigint primary key, amount integer, note text, updated_at timestamptz)`, {rows} rows loaded in id order, then VACUUM (FREEZE, ANALYZE). The change is `amount` integer → bigint, planned by `cutover plan`; its expand phase (the new column `{}` and the trigger that keeps it in step with writes) applied by `cutover apply --phase expand` before the copies are made. New value: `{}`.",
        spec.column, spec.expression
    )
    .unwrap();
    writeln!(s, "- Every run starts from a fresh copy of that database (`CREATE DATABASE ... TEMPLATE ... STRATEGY = FILE_COPY`: the same pages in the same order), then `CHECKPOINT` and one sequential read of the table; autovacuum is on, as in production. The backfill is the plan's step run by the engine (`backfill::run_plan`, what `cutover backfill run` runs, default options but for the progress events: {} ms target batch time, 100..50,000 rows per batch); the other is one `UPDATE accounts SET {} = {}`. Rows are checked afterwards: every row's new column equals the expression.", o.target_batch_ms, quote::ident(&spec.column), spec.expression).unwrap();
    if !o.no_load {
        writeln!(s, "- Load: {} writes/s open-loop from {} connections ({}% INSERTs of new ids, the rest single-row UPDATEs of uniformly random ids); latency is measured from each write's scheduled time, so writes queued behind a blocked one count their wait; the service time is from sending the write to its answer (INSERTs of new ids never wait on the filler's row locks, UPDATEs may). Lock waits are sampled from `pg_locks.waitstart` every 20 ms (a lower bound). Only writes scheduled while the backfill or the UPDATE ran are counted.", o.rate, o.connections, o.insert_percent).unwrap();
    }
    // The profile this binary was built with: the client only waits on the server, but say
    // which one was measured.
    let (profile, flag) = if cfg!(debug_assertions) { ("debug", "") } else { ("release", " --release") };
    let mut command = format!("target/{profile}/cutover-bench backfill --rows {}", o.rows);
    if !o.no_load {
        command.push_str(&format!(
            " --rate {} --connections {} --insert-percent {}",
            o.rate, o.connections, o.insert_percent
        ));
    } else {
        command.push_str(" --no-load");
    }
    if o.target_batch_ms != 200 {
        command.push_str(&format!(" --target-batch-ms {}", o.target_batch_ms));
    }
    writeln!(s, "- Reproduce: `cargo build{flag} -p cutover -p cutover-bench && {command} --write docs/benchmarks.md` (this run: the {profile} build of `cutover-bench` and `cutover`)\n")
        .unwrap();

    writeln!(s, "| run | wall time | rows/s | WAL | checkpoints | autovacuums and autoanalyzes of the table | batches | load average before → after |").unwrap();
    writeln!(s, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |").unwrap();
    for (with_load, r) in runs {
        let name = match (r.method, with_load) {
            (Method::Backfill, false) => "backfill (engine)",
            (Method::Update, false) => "one UPDATE",
            (Method::Backfill, true) => "backfill (engine), under load",
            (Method::Update, true) => "one UPDATE, under load",
            (Method::Idle, _) => continue,
        };
        let right = if r.rows_right == r.rows_total {
            String::new()
        } else {
            format!(" ({} rows wrong!)", r.rows_total - r.rows_right)
        };
        writeln!(
            s,
            "| {name}{right} | {:.1} s | {} | {} | {} | {} | {} | {} → {} |",
            r.seconds,
            thousands(o.rows as f64 / r.seconds),
            mib(r.wal_bytes),
            r.checkpoints,
            r.autovacuums,
            if r.method == Method::Backfill { thousands(r.batches.len() as f64) } else { "1".into() },
            r.loadavg_before,
            r.loadavg_after
        )
        .unwrap();
    }
    writeln!(s).unwrap();
    if let (Some(b), Some(u)) = (find(Method::Backfill, false), find(Method::Update, false)) {
        let ratio = u.seconds / b.seconds;
        writeln!(
            s,
            "Throughput of the backfill against the single UPDATE: **{ratio:.2}** (target: at least 0.8){}.\n",
            if ratio >= 0.8 { "" } else { " — **missed**" }
        )
        .unwrap();
    }
    if !o.no_load {
        writeln!(s, "### Writes during the fill\n").unwrap();
        writeln!(s, "| during | writes | failed | p50 | p99 | max | longest lock wait of a write | of the filler | p99 service time: INSERT | UPDATE |").unwrap();
        writeln!(s, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |").unwrap();
        for method in [Method::Idle, Method::Backfill, Method::Update] {
            if let Some(l) = find(method, true).and_then(|r| r.load.as_ref()) {
                writeln!(
                    s,
                    "| {} | {} | {} | {:.1} ms | {:.1} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.1} ms | {:.1} ms |",
                    match method {
                        Method::Backfill => "the backfill".to_string(),
                        Method::Update => "the UPDATE".to_string(),
                        Method::Idle => format!("nothing (the load alone, {} s)", IDLE.as_secs()),
                    },
                    thousands(l.scheduled as f64),
                    l.failed,
                    l.p50_ms,
                    l.p99_ms,
                    l.max_ms,
                    l.writer_lock_wait_ms,
                    l.other_lock_wait_ms,
                    l.insert_service_p99_ms,
                    l.update_service_p99_ms
                )
                .unwrap();
            }
        }
        writeln!(s).unwrap();
        if let Some(l) = find(Method::Backfill, true).and_then(|r| r.load.as_ref()) {
            writeln!(
                s,
                "p99 write latency during the backfill: **{:.1} ms** (target: under 50 ms){}.\n",
                l.p99_ms,
                if l.p99_ms < 50.0 { "" } else { " — **missed**" }
            )
            .unwrap();
        }
    }
    writeln!(s, "### Batches at the start and at the end of the table\n").unwrap();
    writeln!(s, "| run | batches | first 10%: ms per batch | rows per batch | ms per 1000 rows | last 10%: ms per batch | rows per batch | ms per 1000 rows | lock timeouts |").unwrap();
    writeln!(s, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |").unwrap();
    for (with_load, r) in runs.iter().filter(|(_, r)| r.method == Method::Backfill) {
        if let Some([first, last]) = ends(&r.batches) {
            let per_k = |(ms, rows): (f64, f64)| if rows > 0.0 { ms / rows * 1000.0 } else { 0.0 };
            writeln!(
                s,
                "| {} | {} | {:.0} | {} | {:.1} | {:.0} | {} | {:.1} | {} |",
                if *with_load { "backfill, under load" } else { "backfill" },
                r.batches.len(),
                first.0,
                thousands(first.1),
                per_k(first),
                last.0,
                thousands(last.1),
                per_k(last),
                r.lock_timeouts
            )
            .unwrap();
        }
    }
    s
}
