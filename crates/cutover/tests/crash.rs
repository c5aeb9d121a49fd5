//! Crash tests: the `cutover` binary is SIGKILLed at random points of `apply` (a whole plan
//! with an index built concurrently, a backfill on the engine, constraints validated, a
//! column swapped and the contract phase) and of `backfill run` (a table large enough that
//! batches are in flight), and the same command is run again until it completes. The data
//! is checked after every kill (nothing lost, nothing doubled: a trigger counts the updates
//! of every row, and order-independent checksums compare the rows with what they must be)
//! and after completion the schema has converged to the plan's target and `cutover verify`
//! passes. Also: the database server restarts (an immediate shutdown, a pause, a start) in
//! the middle of `backfill run`, which connects again and finishes by itself, and in the
//! middle of `apply`, which stops with one sentence and finishes when run again.
//!
//! The kill points are delays drawn from a seeded generator over the length of an uncrashed
//! run, several kills per database (a run is killed, run again and killed again, ...). The
//! seed is printed; `CUTOVER_CRASH_SEED=N` replays it, `CUTOVER_CRASH_POINTS=100` is the long
//! mode (20 points per command by default).

mod common;

use common::*;

use cutover_db_postgres::cluster::{Shutdown, TempCluster};
use cutover_db_postgres::connect::Target;
use cutover_plan::planner::{self, PhaseName, Plan, PlanOptions, Step};
use cutover_schema::{QualName, TableFacts};
use cutover_test_support::{Client, TestDb};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

/// SplitMix64: a small, well-mixed generator, so a seed replays the same kill points.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, max).
    fn duration(&mut self, max: Duration) -> Duration {
        max.mul_f64(self.unit())
    }
}

/// The seed of a test's kill points: `CUTOVER_CRASH_SEED`, or the clock; printed either way.
fn rng(test: &str) -> Rng {
    let seed = match std::env::var("CUTOVER_CRASH_SEED") {
        Ok(s) => s.trim().parse::<u64>().unwrap_or_else(|_| panic!("CUTOVER_CRASH_SEED must be a number, not {s:?}")),
        Err(_) => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64,
    };
    println!("{test}: CUTOVER_CRASH_SEED={seed} replays these kill points");
    // Each test draws its own sequence from the one seed.
    let salt = test.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    Rng(seed ^ salt)
}

/// Kill points per command: `CUTOVER_CRASH_POINTS`, 20 by default.
fn points() -> usize {
    match std::env::var("CUTOVER_CRASH_POINTS") {
        Ok(s) => s
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| panic!("CUTOVER_CRASH_POINTS must be a positive number, not {s:?}")),
        Err(_) => 20,
    }
}

/// How one run of the binary ended.
enum Ended {
    Exited {
        code: Option<i32>,
        stdout: String,
        stderr: String,
    },
    /// SIGKILLed after `after`; `last` is the last line it had printed.
    Killed {
        after: Duration,
        last: String,
    },
}

/// How far a run is, read from one line of its output (monotone over a whole job, across
/// runs: a resumed run starts where the killed one's committed work ended).
type Position = fn(&str) -> Option<u64>;

/// A kill point on an uncrashed run's timeline, as seen in a run's output: `delay` after
/// the first line at `position` or beyond (at once when 0: from the start).
#[derive(Debug, Clone, Copy)]
struct KillAt {
    position: u64,
    delay: Duration,
}

/// The lines of an uncrashed run, each with the time it was printed and its position.
struct Timeline {
    events: Vec<(Duration, u64)>,
    length: Duration,
}

impl Timeline {
    /// Where the time `at` of the uncrashed run is: the last line printed before it, and
    /// how long after it.
    fn kill_at(&self, at: Duration) -> KillAt {
        match self.events.iter().rev().find(|(t, _)| *t <= at) {
            Some((t, position)) => KillAt { position: *position, delay: at - *t },
            None => KillAt { position: 0, delay: at },
        }
    }
}

/// Runs `cmd`, killing it with SIGKILL at `kill` unless it exits first. Returns how it
/// ended and the time and position of every line it printed.
async fn run_once(mut cmd: tokio::process::Command, position: Position, kill: Option<KillAt>) -> (Ended, Timeline) {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let started = Instant::now();
    let mut child = cmd.spawn().expect("start cutover");
    let lines = Arc::new(Mutex::new(Vec::<(String, Duration, u64)>::new()));
    let (reached_tx, reached) = tokio::sync::oneshot::channel::<Instant>();
    let target = kill.map(|k| k.position).unwrap_or(0);
    let reader = {
        let lines = lines.clone();
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        tokio::spawn(async move {
            let mut reached_tx = Some(reached_tx);
            let mut last = 0;
            while let Ok(Some(line)) = out.next_line().await {
                last = position(&line).unwrap_or(last).max(last);
                if last >= target
                    && target > 0
                    && let Some(tx) = reached_tx.take()
                {
                    let _ = tx.send(Instant::now());
                }
                lines.lock().unwrap().push((line, started.elapsed(), last));
            }
        })
    };
    let mut err = child.stderr.take().unwrap();
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text).await;
        text
    });
    let status = match kill {
        None => child.wait().await.unwrap(),
        Some(k) => {
            let fire = async {
                let from = if k.position == 0 { started } else { reached.await.unwrap_or_else(|_| Instant::now()) };
                tokio::time::sleep_until((from + k.delay).into()).await;
            };
            tokio::select! {
                status = child.wait() => status.unwrap(),
                _ = fire => {
                    child.start_kill().unwrap();
                    child.wait().await.unwrap()
                }
            }
        }
    };
    let after = started.elapsed();
    // A killed process's output ends with it; a finished one may still be read.
    let _ = tokio::time::timeout(Duration::from_secs(10), reader).await;
    let stderr = errors.await.unwrap();
    let lines = std::mem::take(&mut *lines.lock().unwrap());
    let timeline = Timeline { events: lines.iter().map(|(_, t, p)| (*t, *p)).collect(), length: after };
    use std::os::unix::process::ExitStatusExt;
    let ended = match status.signal() {
        Some(9) => Ended::Killed {
            after,
            last: lines.last().map(|l| l.0.clone()).unwrap_or_else(|| "(nothing printed)".into()),
        },
        _ => Ended::Exited {
            code: status.code(),
            stdout: lines.iter().map(|l| l.0.as_str()).collect::<Vec<_>>().join("\n"),
            stderr,
        },
    };
    (ended, timeline)
}

/// Runs `cmd` to its end, uncrashed: its timeline, which the kill points are drawn on.
async fn reference_run(cmd: tokio::process::Command, position: Position) -> Timeline {
    match run_once(cmd, position, None).await {
        (Ended::Exited { code: Some(0), .. }, timeline) => timeline,
        (Ended::Exited { code, stdout, stderr }, _) => {
            panic!("the uncrashed run exited with {code:?}\n{stdout}\n{stderr}")
        }
        (Ended::Killed { .. }, _) => unreachable!("not killed"),
    }
}

/// Waits until no session of `application` (a LIKE pattern) is left on the database: a
/// killed runner's backend finishes the statement it was running before it sees that its
/// client is gone (a concurrent build completes, a commit sent is committed).
async fn wait_gone(client: &Client, application: &str) {
    wait_for("the killed runner's sessions to end", async || {
        client
            .query_one(
                "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name LIKE $1 AND datname = current_database() AND pid <> pg_backend_pid()",
                &[&application],
            )
            .await
            .unwrap()
            .get(0)
    })
    .await;
}

/// Where one kill landed.
struct Kill {
    database: usize,
    at: KillAt,
    after: Duration,
    last: String,
}

/// Runs `command` on a database until it exits 0, killing its runs at `kills` (points on
/// the uncrashed run's timeline, in order); after each kill, once the runner's sessions are
/// gone, `check` looks at the data. Returns the kills made and the last run's stdout.
#[allow(clippy::too_many_arguments)]
async fn crash_until_done(
    database: usize,
    command: &dyn Fn() -> tokio::process::Command,
    position: Position,
    kills: &[KillAt],
    observer: &Client,
    application: &str,
    mut check: impl AsyncFnMut(usize),
) -> (Vec<Kill>, String) {
    let mut done: Vec<Kill> = Vec::new();
    let mut next = kills.iter();
    loop {
        let at = next.next().copied();
        match run_once(command(), position, at).await.0 {
            Ended::Killed { after, last } => {
                done.push(Kill { database, at: at.unwrap(), after, last });
                wait_gone(observer, application).await;
                check(done.len()).await;
            }
            Ended::Exited { code: Some(0), stdout, .. } => return (done, stdout),
            Ended::Exited { code, stdout, stderr } => {
                let trail: Vec<String> = done.iter().map(|k| format!("{:?} at `{}`", k.after, k.last)).collect();
                panic!(
                    "the run after {} kill(s) exited with {code:?}\nkills: {trail:#?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
                    done.len()
                );
            }
        }
    }
}

/// `n` kill points spread over `timeline`, in order: uniform times of the uncrashed run.
fn draw(rng: &mut Rng, timeline: &Timeline, n: usize) -> Vec<KillAt> {
    let mut times: Vec<Duration> = (0..n).map(|_| rng.duration(timeline.length)).collect();
    times.sort();
    times.into_iter().map(|t| timeline.kill_at(t)).collect()
}

fn report(test: &str, kills: &[Kill], timeline: &Timeline) {
    println!("{test}: {} kills over runs of about {:?}:", kills.len(), timeline.length);
    for (i, k) in kills.iter().enumerate() {
        println!(
            "  {:>3}. database {}, {:>4} ms after position {}, killed {:>5} ms into the run, after `{}`",
            i + 1,
            k.database,
            k.at.delay.as_millis(),
            k.at.position,
            k.after.as_millis(),
            k.last
        );
    }
}

/// An order-independent checksum of a query's rows of text: the count and the sum of the
/// first 64 bits of each row's md5 (no ordering, no aggregate of the whole text).
fn checksum_sql(row: &str, from: &str) -> String {
    format!(
        "SELECT count(*)::text || ':' || coalesce(sum(('x' || substr(md5({row}), 1, 16))::bit(64)::bigint::numeric), 0)::text FROM {from}"
    )
}

async fn text(client: &Client, sql: &str) -> String {
    client.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

fn cutover() -> tokio::process::Command {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
}

fn write_plan(dir: &Path, plan: &Plan) -> PathBuf {
    let path = dir.join("plan.json");
    std::fs::write(&path, serde_json::to_string_pretty(plan).unwrap()).unwrap();
    path
}

// ---------------------------------------------------------------------------------------
// apply

/// Orders whose quantity becomes bigint (a new column, a sync trigger, a backfill, the
/// index copied concurrently, a NOT NULL proven by a validated CHECK, the swap and the old
/// column dropped), which gain a foreign key and a CHECK (each added NOT VALID, then
/// validated), an index built concurrently and one whose definition changes (built under a
/// temporary name, swapped in, the old one dropped concurrently), a column added and one
/// dropped. `count_touch` counts every update of a row.
const ORDERS_BEFORE: &str = "CREATE TABLE customers (id bigint PRIMARY KEY, name text);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, quantity integer NOT NULL DEFAULT 1, total numeric, legacy text, touches int NOT NULL DEFAULT 0);
CREATE INDEX orders_quantity_idx ON orders (quantity);
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE FUNCTION count_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touches := OLD.touches + 1; RETURN NEW; END $$;
CREATE TRIGGER count_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION count_touch();";
const ORDERS_AFTER: &str = "CREATE TABLE customers (id bigint PRIMARY KEY, name text);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers, quantity bigint NOT NULL DEFAULT 1, total numeric CONSTRAINT total_not_negative CHECK (total >= 0), touches int NOT NULL DEFAULT 0, note text);
CREATE INDEX orders_quantity_idx ON orders (quantity);
CREATE INDEX orders_customer_idx ON orders (customer_id) INCLUDE (total);
CREATE INDEX orders_total_idx ON orders (total);
CREATE FUNCTION count_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touches := OLD.touches + 1; RETURN NEW; END $$;
CREATE TRIGGER count_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION count_touch();";

fn orders_data(rows: u64) -> String {
    format!(
        "INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 100) g;
INSERT INTO orders (id, customer_id, quantity, total, legacy) SELECT g, g % 100 + 1, g % 50, g * 1.5, 'x' FROM generate_series(1, {rows}) g;
ANALYZE orders;"
    )
}

/// The columns every phase keeps, and the update count of each row.
const ORDERS_ROW: &str = "id || ':' || customer_id || ':' || quantity || ':' || total || ':' || touches";

/// The plan from `ORDERS_BEFORE` to `ORDERS_AFTER`, made as for a large table (so every
/// change takes its online recipe), with the desired catalog.
async fn orders_plan(db: &TestDb) -> (Plan, cutover_schema::Catalog) {
    let to = common::db_with(ORDERS_AFTER, "after.sql").await.unwrap();
    let mut current = common::read(db).await.unwrap();
    current
        .facts
        .tables
        .insert(QualName::new("public", "orders"), TableFacts { rows: Some(40_000_000), bytes: 5_000_000_000 });
    let desired = common::read(&to).await.unwrap();
    let plan = planner::plan(&current, &desired, &PlanOptions::default());
    assert!(plan.blockers.is_empty(), "{}", planner::render_human(&plan));
    let names: Vec<&str> = plan.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["expand", "backfill", "switch", "contract"], "{}", planner::render_human(&plan));
    let steps: Vec<&Step> = plan.steps().map(|(_, s)| s).collect();
    assert!(steps.iter().any(|s| s.builds_index.is_some()), "a concurrent build");
    assert!(steps.iter().any(|s| s.sql.contains("DROP INDEX CONCURRENTLY")), "a concurrent drop");
    assert!(steps.iter().any(|s| s.backfill.as_ref().is_some_and(|b| b.spec.is_some())), "a backfill on the engine");
    assert!(steps.iter().any(|s| s.sql.contains("VALIDATE CONSTRAINT")), "a validation");
    (plan, desired)
}

/// `applying plan ...` is 1; a step's line (printed whole when the step ends) is after it.
fn apply_position(line: &str) -> Option<u64> {
    if line.starts_with("applying plan ") {
        return Some(1);
    }
    let rest = line.strip_prefix("phase ")?;
    let phase: u64 = rest.split('/').next()?.parse().ok()?;
    let step: u64 = rest.split(", step ").nth(1)?.split('/').next()?.parse().ok()?;
    Some(1 + phase * 1000 + step)
}

struct ApplyCase {
    db: TestDb,
    plan_path: PathBuf,
    /// What the rows must be at the end: every row updated exactly once (by the backfill).
    expected: String,
    /// The rows as they are before anything runs, without the update count.
    unchanged: String,
}

/// A database with the orders and `rows` rows, and the plan: `plan`, written to `dir` (every
/// database runs the same plan file), or made from it when `None`.
async fn apply_case(
    dir: &Path,
    rows: u64,
    plan: Option<&Plan>,
) -> (ApplyCase, Option<(Plan, cutover_schema::Catalog)>) {
    let db = common::db_with(&format!("{ORDERS_BEFORE}\n{}", orders_data(rows)), "before.sql").await.unwrap();
    let made = match plan {
        Some(_) => None,
        None => Some(orders_plan(&db).await),
    };
    let plan_path = write_plan(dir, plan.unwrap_or_else(|| &made.as_ref().unwrap().0));
    let client = db.connect().await;
    let expected = text(&client, &checksum_sql(&ORDERS_ROW.replace("touches", "1"), "orders")).await;
    let unchanged = text(&client, &checksum_sql(&ORDERS_ROW.replace(" || ':' || touches", ""), "orders")).await;
    (ApplyCase { db, plan_path, expected, unchanged }, made)
}

impl ApplyCase {
    fn command(&self) -> tokio::process::Command {
        let mut cmd = cutover();
        cmd.args(["apply", "--database", &self.db.url(), "--plan", self.plan_path.to_str().unwrap(), "--yes"]);
        cmd
    }

    /// Between kills: no row changed but by the backfill, none updated twice.
    async fn check_between(&self, client: &Client, kill: usize) {
        let unchanged = text(client, &checksum_sql(&ORDERS_ROW.replace(" || ':' || touches", ""), "orders")).await;
        assert_eq!(unchanged, self.unchanged, "after kill {kill}: the rows changed");
        let twice: i64 = client.query_one("SELECT count(*) FROM orders WHERE touches > 1", &[]).await.unwrap().get(0);
        assert_eq!(twice, 0, "after kill {kill}: rows updated twice");
    }

    /// At the end: the rows, the schema, the state and `cutover verify`.
    async fn check_done(&self, client: &Client, desired: &cutover_schema::Catalog, plan: &Plan) {
        assert_eq!(text(client, &checksum_sql(ORDERS_ROW, "orders")).await, self.expected, "the rows at the end");
        let after = common::read(&self.db).await.unwrap();
        let left = cutover_plan::diff(&after, desired, &Default::default());
        assert!(left.is_empty(), "the schema did not converge:\n{}", left.to_sql());
        let steps: Vec<(String, i32, String)> = client
            .query("SELECT phase, step_index, state FROM cutover.steps WHERE state <> 'done'", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        assert_eq!(steps, [], "steps not done");
        assert_eq!(
            client.query_one("SELECT count(*) FROM cutover.steps", &[]).await.unwrap().get::<_, i64>(0),
            plan.steps().count() as i64
        );
        let open: i64 =
            client.query_one("SELECT count(*) FROM cutover.runs WHERE outcome = 'running'", &[]).await.unwrap().get(0);
        assert_eq!(open, 0, "a run still says running");
        let verify = cutover()
            .args(["verify", "--database", &self.db.url(), "--plan", self.plan_path.to_str().unwrap()])
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        assert_eq!(verify.status.code(), Some(0), "cutover verify:\n{}{}", stdout(&verify), stderr(&verify));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_killed_at_random_points_resumes_and_converges_without_losing_or_doubling_rows() {
    const ROWS: u64 = 10_000;
    const KILLS_PER_DATABASE: usize = 5;
    let mut rng = rng("apply");
    let wanted = points();
    let dir = tempfile::tempdir().unwrap();

    // An uncrashed run: it must converge too, and its timeline is where the kills fall.
    let first_dir = dir.path().join("0");
    std::fs::create_dir(&first_dir).unwrap();
    let (reference, made) = apply_case(&first_dir, ROWS, None).await;
    let (plan, desired) = made.unwrap();
    let timeline = reference_run(reference.command(), apply_position).await;
    let client = reference.db.connect().await;
    reference.check_done(&client, &desired, &plan).await;

    let mut kills = Vec::new();
    let mut database = 0;
    while kills.len() < wanted {
        database += 1;
        let case_dir = dir.path().join(database.to_string());
        std::fs::create_dir(&case_dir).unwrap();
        let (case, _) = apply_case(&case_dir, ROWS, Some(&plan)).await;
        let client = case.db.connect().await;
        let command = || case.command();
        let check = async |kill: usize| case.check_between(&client, kill).await;
        let points = draw(&mut rng, &timeline, KILLS_PER_DATABASE.min(wanted - kills.len()));
        let (done, last) =
            crash_until_done(database, &command, apply_position, &points, &client, "cutover apply%", check).await;
        assert!(last.contains("done: "), "{last}");
        case.check_done(&client, &desired, &plan).await;
        let outcomes: Vec<String> = client
            .query("SELECT outcome FROM cutover.runs ORDER BY id", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        // A killed run that had recorded itself is marked interrupted by the next one; a kill
        // that lands after a run recorded its end leaves that run `done` (the next run then
        // finds nothing to do). Never `running` or `failed`.
        assert_eq!(outcomes.last().map(String::as_str), Some("done"), "{outcomes:?}");
        assert!(outcomes.iter().all(|o| o == "interrupted" || o == "done"), "{outcomes:?}");
        kills.extend(done);
    }
    report("apply", &kills, &timeline);
}

// ---------------------------------------------------------------------------------------
// backfill run

/// A plan with one backfill step: `new = old * 2` where `old` is set, walking the key `id`.
fn backfill_plan() -> Plan {
    backfill::plan(backfill::key(&[("id", "bigint")]), "new", "old * 2", Some("old IS NOT NULL"))
}

/// Every row's value and update count, and what they must be: `old * 2` set exactly once
/// where `old` is set, untouched elsewhere.
const T_ACTUAL: &str = "id || ':' || coalesce(new::text, '-') || ':' || touches";
const T_EXPECTED: &str = "id || ':' || coalesce((old * 2)::text, '-') || ':' || (old IS NOT NULL)::int";

/// A JSON event's rows passed, plus one (the `started` event of a fresh run is 1).
fn backfill_position(line: &str) -> Option<u64> {
    let event: serde_json::Value = serde_json::from_str(line).ok()?;
    Some(event["rows_done"].as_u64()? + 1)
}

/// After a kill: the cursor and the rows it covers are in step. Rows up to the cursor are
/// filled exactly once, rows after it untouched, and the counters agree with the rows.
async fn check_cursor(client: &Client, kill: usize) {
    let exists: bool =
        client.query_one("SELECT to_regclass('cutover.backfills') IS NOT NULL", &[]).await.unwrap().get(0);
    let (cursor, rows_done, rows_updated) = if exists {
        client
            .query_opt("SELECT coalesce((cursor->>0)::bigint, 0), rows_done, rows_updated FROM cutover.backfills", &[])
            .await
            .unwrap()
            .map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1), r.get::<_, i64>(2)))
            .unwrap_or((0, 0, 0))
    } else {
        (0, 0, 0)
    };
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE touches > 1),
                    count(*) FILTER (WHERE id <= $1 AND old IS NOT NULL AND (new IS DISTINCT FROM old * 2 OR touches <> 1)),
                    count(*) FILTER (WHERE (id > $1 OR old IS NULL) AND (new IS NOT NULL OR touches <> 0)),
                    count(*) FILTER (WHERE id <= $1),
                    count(*) FILTER (WHERE touches = 1)
             FROM t",
            &[&cursor],
        )
        .await
        .unwrap();
    let (twice, missed, ahead, behind, touched): (i64, i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    assert_eq!(
        (twice, missed, ahead),
        (0, 0, 0),
        "after kill {kill} (cursor {cursor}): rows updated twice, rows behind the cursor not filled, rows ahead of it touched"
    );
    assert_eq!((rows_done, rows_updated), (behind, touched), "after kill {kill} (cursor {cursor}): the counters");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_killed_at_random_points_resumes_without_losing_or_doubling_rows() {
    const ROWS: u64 = 50_000;
    const KILLS_PER_DATABASE: usize = 5;
    let mut rng = rng("backfill");
    let wanted = points();
    let dir = tempfile::tempdir().unwrap();
    let plan_path = write_plan(dir.path(), &backfill_plan());
    // Small batches: each run has many batches in flight, one after the other.
    let run = |db: &TestDb| {
        let mut cmd = cutover();
        cmd.args(["backfill", "run", "--database", &db.url(), "--plan", plan_path.to_str().unwrap()]).args([
            "--format",
            "json",
            "--progress-every",
            "1",
            "--min-batch",
            "500",
            "--max-batch",
            "2000",
        ]);
        cmd
    };

    let reference = common::db_with(&backfill::counted_table(ROWS), "setup.sql").await.unwrap();
    let timeline = reference_run(run(&reference), backfill_position).await;
    let client = reference.connect().await;
    assert_eq!(text(&client, &checksum_sql(T_ACTUAL, "t")).await, text(&client, &checksum_sql(T_EXPECTED, "t")).await);

    let mut kills = Vec::new();
    let mut database = 0;
    while kills.len() < wanted {
        database += 1;
        let db = common::db_with(&backfill::counted_table(ROWS), "setup.sql").await.unwrap();
        let client = db.connect().await;
        let command = || run(&db);
        let check = async |kill: usize| check_cursor(&client, kill).await;
        let points = draw(&mut rng, &timeline, KILLS_PER_DATABASE.min(wanted - kills.len()));
        let (done, last) =
            crash_until_done(database, &command, backfill_position, &points, &client, "cutover backfill", check).await;
        let last: serde_json::Value = serde_json::from_str(last.lines().last().unwrap()).unwrap();
        assert_eq!(last["event"], "done", "{last}");
        assert_eq!(last["rows_done"], ROWS, "{last}");
        assert_eq!(last["rows_updated"], ROWS - ROWS / 7, "{last}");
        assert_eq!(
            text(&client, &checksum_sql(T_ACTUAL, "t")).await,
            text(&client, &checksum_sql(T_EXPECTED, "t")).await,
            "database {database}: the rows at the end"
        );
        kills.extend(done);
    }
    report("backfill", &kills, &timeline);
}

// ---------------------------------------------------------------------------------------
// the server restarts

/// A database on a cluster of the test's own (so it can be restarted), with `setup` loaded.
async fn cluster_database(setup: &str) -> (TempCluster, String) {
    let cluster = tokio::task::spawn_blocking(TempCluster::start).await.unwrap().expect("a throwaway cluster");
    let admin = Target::parse(&cluster.url("postgres")).unwrap().connect().await.unwrap();
    admin.batch_execute("CREATE DATABASE crash").await.unwrap();
    let url = cluster.url("crash");
    let client = Target::parse(&url).unwrap().connect().await.unwrap();
    client.batch_execute(setup).await.unwrap();
    (cluster, url)
}

async fn connect(url: &str) -> Client {
    Target::parse(url).unwrap().connect().await.unwrap()
}

/// Restarts the server as a crash would: an immediate shutdown, a pause in which
/// connections are refused, a start with crash recovery.
async fn crash_restart(cluster: TempCluster, pause: Duration) -> TempCluster {
    tokio::task::spawn_blocking(move || {
        let mut cluster = cluster;
        cluster.restart(Shutdown::Immediate, pause).expect("the server starts again");
        cluster
    })
    .await
    .unwrap()
}

/// Reads JSON events until one named `name`, failing after 90 s.
async fn next_event(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    name: &str,
    seen: &mut Vec<serde_json::Value>,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let line = tokio::time::timeout_at(deadline.into(), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("no {name} event in 90 s; seen: {seen:#?}"))
            .unwrap()
            .unwrap_or_else(|| panic!("the output ended before a {name} event; seen: {seen:#?}"));
        let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        seen.push(event.clone());
        if event["event"] == name {
            return event;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_connects_again_after_the_server_restarts_and_finishes() {
    const ROWS: u64 = 40_000;
    let (cluster, url) = cluster_database(&backfill::counted_table(ROWS)).await;
    let dir = tempfile::tempdir().unwrap();
    let plan_path = write_plan(dir.path(), &backfill_plan());
    // A row lock in the middle of the table holds a batch in flight, waiting for it.
    let blocker = connect(&url).await;
    blocker.batch_execute("BEGIN; SELECT * FROM t WHERE id = 20000 FOR UPDATE").await.unwrap();
    let mut child = cutover()
        .args(["backfill", "run", "--database", &url, "--plan", plan_path.to_str().unwrap()])
        .args(["--format", "json", "--progress-every", "1", "--min-batch", "1000", "--max-batch", "1000"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let observer = connect(&url).await;
    wait_for("a batch waiting on the row lock", async || {
        observer
            .query_opt(
                "SELECT 1 FROM pg_stat_activity WHERE application_name = 'cutover backfill' AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .is_some()
    })
    .await;
    // The cluster commits asynchronously (synchronous_commit=off): a checkpoint makes the
    // committed batches durable, so the restart loses only the batch in flight.
    observer.batch_execute("CHECKPOINT").await.unwrap();
    drop(observer);
    let cluster = crash_restart(cluster, Duration::from_secs(3)).await;
    let reconnecting = next_event(&mut lines, "reconnecting", &mut seen).await;
    assert_eq!(reconnecting["attempt"], 1, "{reconnecting}");
    let resumed = next_event(&mut lines, "started", &mut seen).await;
    assert_eq!(resumed["resumed"], true, "{resumed}");
    let done = next_event(&mut lines, "done", &mut seen).await;
    assert_eq!(done["rows_done"], ROWS, "{done}");
    assert_eq!(done["rows_updated"], ROWS - ROWS / 7, "{done}");
    let status = child.wait().await.unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).await.unwrap();
    assert_eq!(status.code(), Some(0), "{err}\n{seen:#?}");
    let client = connect(&url).await;
    assert_eq!(text(&client, &checksum_sql(T_ACTUAL, "t")).await, text(&client, &checksum_sql(T_EXPECTED, "t")).await);
    let (state, rows_done): (String, i64) = client
        .query_one("SELECT state, rows_done FROM cutover.backfills", &[])
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!((state.as_str(), rows_done), ("done", ROWS as i64));
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_stops_with_a_sentence_when_the_server_restarts_and_the_next_run_resumes() {
    const ROWS: u64 = 20_000;
    let setup = format!("{ORDERS_BEFORE}\n{}", orders_data(ROWS));
    let (cluster, url) = cluster_database(&setup).await;
    // The plan is made on the shared test server, from the same schema.
    let model = common::db_with(&setup, "before.sql").await.unwrap();
    let (plan, desired) = orders_plan(&model).await;
    let dir = tempfile::tempdir().unwrap();
    let plan_path = write_plan(dir.path(), &plan);
    let client = connect(&url).await;
    let expected = text(&client, &checksum_sql(&ORDERS_ROW.replace("touches", "1"), "orders")).await;
    let apply = || {
        let mut cmd = cutover();
        cmd.args(["apply", "--database", &url, "--plan", plan_path.to_str().unwrap(), "--yes"]);
        cmd
    };
    // The expand phase first (its steps lock the table); then a row lock in the middle of
    // the table holds a backfill batch in flight.
    let expand = apply().arg("--phase").arg("expand").stdin(Stdio::null()).output().await.unwrap();
    assert_eq!(expand.status.code(), Some(0), "{}{}", stdout(&expand), stderr(&expand));
    client.batch_execute("BEGIN; SELECT * FROM orders WHERE id = 10000 FOR UPDATE").await.unwrap();
    let mut cmd = apply();
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let child = cmd.spawn().unwrap();
    let observer = connect(&url).await;
    wait_for("a backfill batch waiting on the row lock", async || {
        observer
            .query_opt(
                "SELECT 1 FROM pg_stat_activity WHERE application_name = 'cutover apply' AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .is_some()
    })
    .await;
    let rows_done: i64 = observer.query_one("SELECT rows_done FROM cutover.backfills", &[]).await.unwrap().get(0);
    assert!(rows_done < ROWS as i64, "{rows_done}");
    // The committed state made durable (the cluster commits asynchronously).
    observer.batch_execute("CHECKPOINT").await.unwrap();
    drop((observer, client));
    let cluster = crash_restart(cluster, Duration::from_secs(2)).await;
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: phase 2/4 backfill, step 1/1: the connection to the database was lost while `UPDATE public.orders SET quantity_cutover_new"),
        "{err}"
    );
    assert!(
        err.trim_end().ends_with("cutover.steps keeps the step's state: run the same command again to resume from it"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(stdout(&out).contains("phase 2/4 backfill, step 1/1: "), "{}", stdout(&out));

    let again = apply().stdin(Stdio::null()).output().await.unwrap();
    assert_eq!(again.status.code(), Some(0), "{}{}", stdout(&again), stderr(&again));
    let text_out = stdout(&again);
    let expand = plan.phases[0].steps.len();
    assert_eq!(text_out.matches("... already done\n").count(), expand, "{text_out}");
    let client = connect(&url).await;
    assert_eq!(text(&client, &checksum_sql(ORDERS_ROW, "orders")).await, expected, "the rows at the end");
    let outcomes: Vec<String> = client
        .query("SELECT outcome FROM cutover.runs ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(outcomes, ["done", "interrupted", "done"]);
    let after = cutover_db_postgres::introspect::introspect(&client, &Default::default()).await.unwrap();
    let left = cutover_plan::diff(&after, &desired, &Default::default());
    assert!(left.is_empty(), "the schema did not converge:\n{}", left.to_sql());
    let verify = cutover()
        .args(["verify", "--database", &url, "--plan", plan_path.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(verify.status.code(), Some(0), "{}{}", stdout(&verify), stderr(&verify));
    drop(cluster);
}

// ---------------------------------------------------------------------------------------
// what the kills found

/// A database planned from `before` to `after` (`facts` for the planner), whose plan has a
/// long lock_timeout (unless `lock_timeout_ms`), so a step waits for another session
/// instead of timing out.
struct Waiting {
    db: TestDb,
    desired: cutover_schema::Catalog,
    plan: Plan,
    plan_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Waiting {
    async fn new(before: &str, after: &str, facts: Option<(&str, TableFacts)>) -> Waiting {
        Self::with_lock_timeout(before, after, facts, 600_000).await
    }

    async fn with_lock_timeout(
        before: &str,
        after: &str,
        facts: Option<(&str, TableFacts)>,
        lock_timeout_ms: u64,
    ) -> Waiting {
        let db = common::db_with(before, "before.sql").await.unwrap();
        let to = common::db_with(after, "after.sql").await.unwrap();
        let mut current = common::read(&db).await.unwrap();
        if let Some((table, facts)) = facts {
            current.facts.tables.insert(QualName::new("public", table), facts);
        }
        let desired = common::read(&to).await.unwrap();
        let options = PlanOptions { lock_timeout_ms, ..PlanOptions::default() };
        let plan = planner::plan(&current, &desired, &options);
        let dir = tempfile::tempdir().unwrap();
        let plan_path = write_plan(dir.path(), &plan);
        Waiting { db, desired, plan, plan_path, _dir: dir }
    }

    fn apply(&self, extra: &[&str]) -> tokio::process::Command {
        let mut cmd = cutover();
        cmd.args(["apply", "--database", &self.db.url(), "--plan", self.plan_path.to_str().unwrap()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// Starts `apply` while `other` holds a lock (`hold` ran in its open transaction) and
    /// waits until the runner's statement starting with `statement` waits for it. Returns
    /// the runner and an observer session.
    async fn blocked(&self, other: &Client, hold: &str, statement: &str) -> (tokio::process::Child, Client) {
        other.batch_execute(&format!("BEGIN; {hold}")).await.unwrap();
        let child = self.apply(&[]).spawn().unwrap();
        let observer = self.db.connect().await;
        let like = format!("{statement}%");
        wait_for("the step to wait for the other session", async || {
            observer
                .query_one(
                    "SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'cutover apply' \
                     AND datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1",
                    &[&like],
                )
                .await
                .unwrap()
                .get(0)
        })
        .await;
        (child, observer)
    }

    /// The runner is killed while its step waits; the other session ends (`release`), and
    /// the dead runner's backend, which did not notice, completes the step: it is done but
    /// `cutover.steps` still says running. The next run must complete the plan.
    async fn killed_then_completed_by_its_backend(&self, hold: &str, statement: &str, release: &str) -> Client {
        let other = self.db.connect().await;
        let (mut child, observer) = self.blocked(&other, hold, statement).await;
        child.kill().await.unwrap();
        other.batch_execute(release).await.unwrap();
        wait_gone(&observer, "cutover apply%").await;
        let running: i64 =
            observer.query_one("SELECT count(*) FROM cutover.steps WHERE state = 'running'", &[]).await.unwrap().get(0);
        assert_eq!(running, 1, "the dead runner did not record its step");
        observer
    }

    async fn resumes_and_converges(&self) {
        let out = self.apply(&[]).output().await.unwrap();
        assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
        let after = common::read(&self.db).await.unwrap();
        let left = cutover_plan::diff(&after, &self.desired, &Default::default());
        assert!(left.is_empty(), "the schema did not converge:\n{}", left.to_sql());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_killed_while_its_concurrent_drop_waits_is_resumed_after_the_drop_completed() {
    // An index whose definition changes: built under a temporary name (expand), the old one
    // dropped concurrently and the new one renamed (switch).
    let c = Waiting::new(
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, total numeric);
CREATE INDEX orders_customer_idx ON orders (customer_id);
INSERT INTO orders SELECT g, g % 7, g FROM generate_series(1, 1000) g;",
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, total numeric);
CREATE INDEX orders_customer_idx ON orders (customer_id) INCLUDE (total);",
        Some(("orders", TableFacts { rows: Some(3_000_000), bytes: 400_000_000 })),
    )
    .await;
    let switch = c.plan.phase(PhaseName::Switch).expect("a switch phase");
    assert!(
        switch.steps[0].sql.starts_with("DROP INDEX CONCURRENTLY IF EXISTS "),
        "{}",
        planner::render_human(&c.plan)
    );
    let out = c.apply(&["--phase", "expand"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    // A reader's open transaction: the concurrent drop waits for it to end.
    let observer = c
        .killed_then_completed_by_its_backend("SELECT count(*) FROM orders", "DROP INDEX CONCURRENTLY", "COMMIT")
        .await;
    let gone: bool =
        observer.query_one("SELECT to_regclass('public.orders_customer_idx') IS NULL", &[]).await.unwrap().get(0);
    assert!(gone, "the drop completed after its runner died");
    c.resumes_and_converges().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_killed_while_its_enum_value_waits_is_resumed_after_the_value_was_added() {
    let c = Waiting::new(
        "CREATE TYPE order_status AS ENUM ('pending', 'paid');
CREATE TABLE orders (id bigint PRIMARY KEY, status order_status NOT NULL DEFAULT 'pending');
INSERT INTO orders SELECT g, 'paid' FROM generate_series(1, 100) g;",
        "CREATE TYPE order_status AS ENUM ('pending', 'paid', 'refunded');
CREATE TABLE orders (id bigint PRIMARY KEY, status order_status NOT NULL DEFAULT 'pending');",
        None,
    )
    .await;
    let step = &c.plan.phases[0].steps[0];
    assert!(!step.transactional && step.sql.contains(" ADD VALUE "), "{}", planner::render_human(&c.plan));
    // Another session adding a value holds the type's lock until it rolls back.
    let observer = c
        .killed_then_completed_by_its_backend("ALTER TYPE order_status ADD VALUE 'other'", "ALTER TYPE", "ROLLBACK")
        .await;
    let labels: Vec<String> = observer
        .query(
            "SELECT enumlabel::text FROM pg_enum WHERE enumtypid = 'order_status'::regtype ORDER BY enumsortorder",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(labels, ["pending", "paid", "refunded"], "the value was added after its runner died");
    c.resumes_and_converges().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_whose_session_is_terminated_mid_step_stops_with_a_sentence_and_resumes() {
    let c = Waiting::new(
        "CREATE TABLE orders (id bigint PRIMARY KEY);
INSERT INTO orders SELECT generate_series(1, 10);",
        "CREATE TABLE orders (id bigint PRIMARY KEY, note text);",
        None,
    )
    .await;
    let reader = c.db.connect().await;
    let (child, observer) = c.blocked(&reader, "SELECT count(*) FROM orders", "ALTER TABLE").await;
    // As when the server restarts: the runner's session ends under it.
    observer
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cutover apply' AND datname = current_database()",
        )
        .await
        .unwrap();
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: phase 1/1 expand, step 1/1: the connection to the database was lost while `ALTER TABLE public.orders ADD COLUMN note text` ran (FATAL: terminating connection due to administrator command); cutover.steps keeps the step's state: run the same command again to resume from it\n"
    );
    reader.batch_execute("COMMIT").await.unwrap();
    c.resumes_and_converges().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_whose_session_is_terminated_between_lock_retries_stops_with_a_sentence_and_resumes() {
    let c = Waiting::with_lock_timeout(
        "CREATE TABLE orders (id bigint PRIMARY KEY);
INSERT INTO orders SELECT generate_series(1, 10);",
        "CREATE TABLE orders (id bigint PRIMARY KEY, note text);",
        None,
        100,
    )
    .await;
    let reader = c.db.connect().await;
    reader.batch_execute("BEGIN; SELECT count(*) FROM orders").await.unwrap();
    let child = c.apply(&["--lock-retries", "5", "--lock-retry-wait-ms", "5000"]).spawn().unwrap();
    let observer = c.db.connect().await;
    // The first try timed out and the runner sleeps before the next: its session is idle.
    wait_for("the runner to wait between tries", async || {
        observer
            .query_one(
                "SELECT count(*) > 0 FROM pg_stat_activity a, cutover.steps s WHERE a.application_name = 'cutover apply' \
                 AND a.datname = current_database() AND a.state = 'idle' AND s.attempts = 1",
                &[],
            )
            .await
            .map(|r| r.get(0))
            .unwrap_or(false)
    })
    .await;
    observer
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'cutover apply%' AND datname = current_database()",
        )
        .await
        .unwrap();
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: phase 1/1 expand, step 1/1: the connection to the database was lost while `ALTER TABLE public.orders ADD COLUMN note text` ran (recording the step's start failed: "),
        "{err}"
    );
    assert!(err.trim_end().ends_with("run the same command again to resume from it"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    reader.batch_execute("COMMIT").await.unwrap();
    c.resumes_and_converges().await;
}
