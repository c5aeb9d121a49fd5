//! The backfill engine: fills a column of a live table in short batches that walk the table
//! once, in key order, resumably.
//!
//! Each batch is one transaction: it locks the backfill's row in `cutover.backfills`, reads
//! the state (a `pause` or `cancel` from another terminal is seen here, between batches),
//! finds the batch's last key by reading the next n entries of the key's index, updates the
//! rows in `(last, upper]` that are not filled yet, and moves the cursor, all committed
//! together. A crash at any moment leaves the cursor and the rows it covers in step: the next
//! run resumes exactly there, and a batch run twice changes nothing (it only fills NULLs).
//! The SQL is in `cutover_sql::backfill`; the decisions (batch size, waits) in [`control`].
//!
//! The caller holds the runner lock (`cutover apply`, or [`run_plan`] for `cutover backfill
//! run`), so one engine works on a database at a time.

pub mod control;

use crate::Error;
use crate::apply::{PlanFile, Session};
use crate::connect::Target;
use control::{AfterTimeout, Decision, Limits, Reason, Signals, Sizer, decide};
use cutover_plan::planner::{BackfillKey, BackfillSpec, PhaseName, Plan, Step};
use cutover_sql::apply as apply_sql;
use cutover_sql::backfill as sql;
use std::time::{Duration, Instant};
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

/// The application_name of `cutover backfill run`'s session.
pub const APPLICATION_NAME: &str = "cutover backfill";

/// A table walked by pages is walked again (from its first page) while rows are left to
/// fill, at most this many times in all: rows an update moved behind the cursor are caught
/// by the next pass.
const MAX_PASSES: i32 = 3;

/// How the engine runs, beyond what the plan says.
#[derive(Debug, Clone)]
pub struct Options {
    pub limits: Limits,
    /// SQL returning one boolean: true means wait (an application health check, say).
    pub wait_query: Option<String>,
    /// The lock_timeout of a batch; default: the step's.
    pub lock_timeout_ms: Option<u64>,
    /// The statement_timeout of a batch's statements; default: the step's. A batch that runs
    /// past it is rolled back and tried again at half its size.
    pub statement_timeout_ms: Option<u64>,
    /// How often a paused backfill looks at its state.
    pub poll: Duration,
    /// A progress event every this many batches (and at the start and the end).
    pub progress_every: u64,
    /// `cutover backfill run` connects again this many times after losing its connection,
    /// waiting `reconnect_wait` before each try.
    pub reconnects: u32,
    pub reconnect_wait: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            wait_query: None,
            lock_timeout_ms: None,
            statement_timeout_ms: None,
            poll: Duration::from_millis(500),
            progress_every: 10,
            reconnects: 60,
            reconnect_wait: Duration::from_secs(1),
        }
    }
}

/// A backfill step of a plan.
#[derive(Debug, Clone, Copy)]
pub struct StepRef<'a> {
    pub checksum: &'a str,
    pub phase: PhaseName,
    /// 1-based, in its phase (as in `cutover.steps`).
    pub index: usize,
    pub step: &'a Step,
    pub spec: &'a BackfillSpec,
}

impl StepRef<'_> {
    /// `backfill.1`: how `--step` names it.
    pub fn id(&self) -> String {
        format!("{}.{}", self.phase, self.index)
    }

    pub fn table(&self) -> String {
        cutover_sql::quote::qualified(&self.spec.table)
    }
}

/// A step as `--step` names it: `PHASE.N`, or `N` for the N-th step of the backfill phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepId {
    pub phase: PhaseName,
    pub index: usize,
}

impl StepId {
    pub fn parse(text: &str) -> Option<StepId> {
        let (phase, number) = match text.split_once('.') {
            Some((p, n)) => (PhaseName::parse(p)?, n),
            None => (PhaseName::Backfill, text),
        };
        let index: usize = number.parse().ok().filter(|n| *n > 0)?;
        Some(StepId { phase, index })
    }
}

impl std::fmt::Display for StepId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.phase, self.index)
    }
}

/// The plan's steps the engine runs (backfills with a spec), in plan order.
pub fn steps<'p>(plan: &'p Plan, checksum: &'p str) -> Vec<StepRef<'p>> {
    let mut out = Vec::new();
    for phase in &plan.phases {
        for (i, step) in phase.steps.iter().enumerate() {
            if let Some(spec) = step.backfill.as_ref().and_then(|b| b.spec.as_ref()) {
                out.push(StepRef { checksum, phase: phase.name, index: i + 1, step, spec });
            }
        }
    }
    out
}

/// Where a backfill is.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Rows the cursor has passed.
    pub rows_done: u64,
    /// Rows the batches changed.
    pub rows_updated: u64,
    /// The table's rows as the planner's statistics estimate them (`pg_class.reltuples`),
    /// at least `rows_done`; `None` before the table's first ANALYZE.
    pub rows_total_estimate: Option<u64>,
    pub batches: u64,
    /// Rows in the next batch.
    pub batch_size: u64,
    /// Rows per second over the time spent running (pauses excluded).
    pub rate: Option<f64>,
    pub eta_s: Option<f64>,
    pub lock_timeouts: u64,
}

impl Progress {
    fn new(counters: Counters, estimate: Option<u64>) -> Progress {
        let rate = control::rate(counters.rows_done, Duration::from_secs_f64(counters.busy_seconds.max(0.0)));
        let total = estimate.map(|e| e.max(counters.rows_done));
        Progress {
            rows_done: counters.rows_done,
            rows_updated: counters.rows_updated,
            rows_total_estimate: total,
            batches: counters.batches,
            batch_size: counters.batch_size,
            rate,
            eta_s: control::eta_seconds(counters.rows_done, total, rate),
            lock_timeouts: counters.lock_timeouts,
        }
    }
}

/// What the engine reports as it goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// The backfill starts, or resumes where an earlier run stopped.
    Started { resumed: bool, progress: &'a Progress },
    /// Every [`Options::progress_every`] batches.
    Batch(&'a Progress),
    /// It waits before the next batch.
    Waiting { reason: &'a Reason, wait: Duration },
    /// `cutover backfill pause` stopped it; it waits for `resume` or `cancel`.
    Paused,
    /// It runs again after a pause.
    Resumed,
    /// The connection was lost (the server restarted, the session was terminated): it
    /// connects again and resumes from the cursor.
    Reconnecting { attempt: u32, error: &'a str },
    /// A batch of `rows` ran past its statement_timeout and was rolled back; it is tried
    /// again with `next` rows.
    StatementTimeout { rows: u64, next: u64, statement_timeout_ms: u64 },
    /// The application's writes waited on a batch's row locks longer than
    /// [`control::Limits::max_writer_wait`] (`writers` of them, the longest `longest`):
    /// batches now aim at `target`, and the next one has `next` rows.
    WritersWaited { writers: u64, longest: Duration, target: Duration, next: u64 },
}

/// How a backfill that ran to its end finished.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done(Progress),
    /// `cutover backfill cancel` stopped it (now or before this run).
    Cancelled(Progress),
}

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// Another runner holds the runner lock.
    #[error(
        "another runner (cutover apply or cutover backfill run) is working on this database: {}; wait for it to finish, or stop it",
        crate::apply::describe_holders(.0)
    )]
    Busy(Vec<Session>),
    #[error(transparent)]
    Database(#[from] Error),
    /// Nothing of the plan matches what was asked.
    #[error("{0}")]
    Refused(String),
    /// A batch failed.
    #[error(
        "backfill {step} of {table} failed at {rows_done} rows: {message}; the cursor is kept: fix the cause and run again to resume"
    )]
    Batch { step: String, table: String, rows_done: u64, message: String },
    /// Lock timeouts kept coming.
    #[error(
        "backfill {step} of {table} stopped at {rows_done} rows: {in_a_row} batches in a row waited on row locks past their lock_timeout ({lock_timeout_ms} ms); run again when the table is less busy"
    )]
    LockTimeouts { step: String, table: String, rows_done: u64, in_a_row: u32, lock_timeout_ms: u64 },
    /// A batch of the smallest size ran past its statement_timeout.
    #[error(
        "backfill {step} of {table} stopped at {rows_done} rows: a batch of {rows} rows, the smallest allowed (--min-batch), ran past its statement_timeout ({statement_timeout_ms} ms); the cursor is kept: run again with a larger --statement-timeout-ms or a smaller --min-batch"
    )]
    StatementTimeout { step: String, table: String, rows_done: u64, rows: u64, statement_timeout_ms: u64 },
    /// The wait query failed or did not answer with one boolean.
    #[error("the wait query failed: {0}")]
    WaitQuery(String),
}

/// The counters of `cutover.backfills`.
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    rows_done: u64,
    rows_updated: u64,
    batches: u64,
    batch_size: u64,
    busy_seconds: f64,
    lock_timeouts: u64,
}

fn q(what: &'static str) -> impl Fn(tokio_postgres::Error) -> Error {
    move |e| Error::query(what, e)
}

/// Creates `cutover.backfills` when it does not exist (and the schema with it).
pub async fn ensure_state(client: &Client) -> Result<(), Error> {
    crate::state::create_once(client, "cutover.backfills", sql::STATE_EXISTS, &sql::create_state()).await
}

/// What one batch transaction did.
enum Batch {
    Committed(Counters),
    /// A pass over a table walked by pages ended with rows left: the next one begins.
    NextPass,
    Done(Counters),
    /// The state is not `running` (paused, cancelled, done by someone else).
    Stopped(String),
}

/// One backfill being run: what stays the same from batch to batch.
struct Engine<'a> {
    client: &'a Client,
    at: StepRef<'a>,
    phase: &'a str,
    index: i32,
    lock_timeout_ms: u64,
    statement_timeout_ms: u64,
    /// Rows per page, for a table walked by pages (learnt as it goes).
    density: f64,
    /// See [`control::Limits::max_writer_wait`].
    max_writer_wait: Option<Duration>,
    /// The server records when a lock wait began (`pg_locks.waitstart`, 14 and later).
    waitstart: bool,
    /// What the last batch made writes wait, when that shortened the batches.
    writers_waited: Option<(u64, Duration)>,
    /// Keyset: the table's last key when this run began, where its walk ends (see
    /// `cutover_sql::backfill::BackfillSpec::last_key`); `None` until the first batch.
    end: Option<Vec<String>>,
}

impl Engine<'_> {
    fn key(&self) -> [&(dyn ToSql + Sync); 3] {
        [&self.at.checksum, &self.phase, &self.index]
    }

    /// One batch in its own transaction; a failure rolls it back.
    async fn batch(&mut self, sizer: &mut Sizer, waited: Duration) -> Result<Batch, tokio_postgres::Error> {
        self.client.batch_execute("BEGIN").await?;
        let result = self.batch_body(sizer, waited).await;
        match &result {
            Ok(Batch::Stopped(_)) | Err(_) => {
                let _ = self.client.batch_execute("ROLLBACK").await;
            }
            Ok(_) => self.client.batch_execute("COMMIT").await?,
        }
        result
    }

    async fn batch_body(&mut self, sizer: &mut Sizer, waited: Duration) -> Result<Batch, tokio_postgres::Error> {
        let started = Instant::now();
        let (client, spec) = (self.client, self.at.spec);
        let keyed = matches!(spec.key, BackfillKey::Columns { .. });
        let mut settings = sql::batch_timeouts(self.lock_timeout_ms, self.statement_timeout_ms);
        if keyed {
            // The keys this batch prints for the cursor mean the same in any later session.
            settings = format!("{settings}; {}", sql::KEY_TEXT_SETTINGS);
        }
        client.batch_execute(&settings).await?;
        let row = client.query_one(sql::LOCK_ROW, &self.key()).await?;
        let state: String = row.get(0);
        let cursor: Option<String> = row.get(1);
        let pass: i32 = row.get(2);
        let mut counters = Counters {
            rows_done: row.get::<_, i64>(3) as u64,
            rows_updated: row.get::<_, i64>(4) as u64,
            batches: row.get::<_, i64>(5) as u64,
            batch_size: sizer.size(),
            busy_seconds: row.get(7),
            lock_timeouts: 0,
        };
        if state != "running" {
            return Ok(Batch::Stopped(state));
        }
        let size = sizer.size();
        let (rows, changed, next_cursor) = match &spec.key {
            BackfillKey::Columns { .. } => {
                let last: Vec<String> =
                    cursor.as_deref().and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default();
                let first = last.is_empty();
                if self.end.is_none() {
                    let row = client.query_opt(&spec.last_key(), &[]).await?;
                    let k = spec.key_len();
                    self.end = Some(match row {
                        Some(row) => (0..k).map(|i| row.get::<_, Option<String>>(i).unwrap_or_default()).collect(),
                        None => Vec::new(),
                    });
                }
                let end = self.end.clone().unwrap_or_default();
                if !first && !end.is_empty() {
                    let params: Vec<&(dyn ToSql + Sync)> =
                        last.iter().chain(end.iter()).map(|v| v as &(dyn ToSql + Sync)).collect();
                    let reached: bool = client.query_one(&spec.reached(), &params).await?.get(0);
                    if reached {
                        client.execute(sql::FINISH, &self.key()).await?;
                        return Ok(Batch::Done(counters));
                    }
                }
                let limit = size as i64;
                let mut params: Vec<&(dyn ToSql + Sync)> = last.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                params.push(&limit);
                let Some(upper) = client.query_opt(&spec.upper_bound(first), &params).await? else {
                    client.execute(sql::FINISH, &self.key()).await?;
                    return Ok(Batch::Done(counters));
                };
                client.batch_execute(sql::SESSION_SETTINGS).await?;
                let k = spec.key_len();
                let upper_key: Vec<String> =
                    (0..k).map(|i| upper.get::<_, Option<String>>(i).unwrap_or_default()).collect();
                let rows = upper.get::<_, i64>(k) as u64;
                let mut params: Vec<&(dyn ToSql + Sync)> = last.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                params.extend(upper_key.iter().map(|v| v as &(dyn ToSql + Sync)));
                let changed = client.execute(&spec.update_range(first), &params).await?;
                (rows, changed, serde_json::to_string(&upper_key).unwrap_or_default())
            }
            BackfillKey::Ctid => {
                // A pass ends at the pages the table had when it began: rows the batches
                // update move to new pages, and following them would walk them twice.
                let at: Option<serde_json::Value> = cursor.as_deref().and_then(|c| serde_json::from_str(c).ok());
                let field = |name: &str| at.as_ref().and_then(|v| v.get(name)).and_then(|p| p.as_i64());
                let page = field("page").unwrap_or(0);
                let end_page = match field("end") {
                    Some(end) => end,
                    None => client.query_one(&spec.pages(), &[]).await?.get(0),
                };
                if page >= end_page {
                    if pass < MAX_PASSES {
                        let left: i64 = client.query_one(&spec.count_pending(), &[]).await?.get(0);
                        if left > 0 {
                            let pages: i64 = client.query_one(&spec.pages(), &[]).await?.get(0);
                            let start = page_cursor(0, pages);
                            let next = pass + 1;
                            let mut params = self.key().to_vec();
                            params.push(&start);
                            params.push(&next);
                            client.execute(sql::NEXT_PASS, &params).await?;
                            return Ok(Batch::NextPass);
                        }
                    }
                    client.execute(sql::FINISH, &self.key()).await?;
                    return Ok(Batch::Done(counters));
                }
                let span = ((size as f64 / self.density).round() as i64).max(1);
                let end = (page + span).min(end_page);
                let (from, to) = (sql::page_tid(page), sql::page_tid(end));
                let rows: i64 = client.query_one(&spec.count_pages(), &[&from, &to]).await?.get(0);
                let changed = client.execute(&spec.update_pages(), &[&from, &to]).await?;
                if rows > 0 {
                    self.density = (0.5 * self.density + 0.5 * rows as f64 / (end - page) as f64).max(1.0);
                }
                (rows as u64, changed, page_cursor(end, end_page))
            }
        };
        let elapsed = started.elapsed();
        let mut next_size = sizer.observe(rows, elapsed);
        self.writers_waited = None;
        if let Some(max) = self.max_writer_wait {
            // Asked before the commit, while the batch still holds its row locks: every write
            // that ran into them is waiting now.
            let query = if self.waitstart { sql::BLOCKED_BY_BATCH } else { sql::BLOCKED_BY_BATCH_COUNT };
            let row = client.query_one(query, &[]).await?;
            let writers = row.get::<_, i64>(0) as u64;
            if writers > 0 {
                // Without waitstart, a write may have waited as long as the batch ran.
                let longest = row.get::<_, Option<f64>>(1).map_or(elapsed, Duration::from_secs_f64);
                if longest > max {
                    next_size = sizer.writers_waited(elapsed, longest, max).unwrap_or(sizer.size());
                    self.writers_waited = Some((writers, longest));
                }
            } else {
                sizer.writers_waited(elapsed, Duration::ZERO, max);
            }
        }
        let seconds = (elapsed + waited).as_secs_f64();
        let (rows_i, changed_i, size_i) = (rows as i64, changed as i64, next_size.min(i32::MAX as u64) as i32);
        let mut params = self.key().to_vec();
        params.extend([&next_cursor as &(dyn ToSql + Sync), &pass, &rows_i, &changed_i, &size_i, &seconds]);
        client.execute(sql::RECORD_BATCH, &params).await?;
        counters.rows_done += rows;
        counters.rows_updated += changed;
        counters.batches += 1;
        counters.batch_size = next_size;
        counters.busy_seconds += seconds;
        Ok(Batch::Committed(counters))
    }

    async fn state(&self) -> Result<StateRow, Error> {
        let row = self.client.query_one(sql::READ_STATE, &self.key()).await.map_err(q("reading cutover.backfills"))?;
        Ok(StateRow {
            state: row.get(0),
            counters: Counters {
                rows_done: row.get::<_, i64>(1) as u64,
                rows_updated: row.get::<_, i64>(2) as u64,
                batches: row.get::<_, i64>(3) as u64,
                batch_size: row.get::<_, i32>(4) as u64,
                busy_seconds: row.get(5),
                lock_timeouts: row.get::<_, i64>(6) as u64,
            },
        })
    }

    async fn set_state(&self, state: &str) -> Result<(), Error> {
        let mut params = self.key().to_vec();
        params.push(&state);
        self.client.execute(sql::SET_STATE, &params).await.map_err(q("updating cutover.backfills"))?;
        Ok(())
    }

    /// The signals for the next decision: replica lag (when bounded) and the wait query.
    async fn signals(&self, options: &Options, lock_timeouts_in_a_row: u32) -> Result<Signals, BackfillError> {
        let mut signals = Signals { lock_timeouts_in_a_row, ..Signals::default() };
        if options.limits.max_replica_lag.is_some() {
            let lag: f64 = self
                .client
                .query_one(sql::REPLICA_LAG, &[])
                .await
                .map_err(q("reading the replicas' lag from pg_stat_replication"))?
                .get(0);
            signals.replica_lag = Some(Duration::from_secs_f64(lag.max(0.0)));
        }
        if options.limits.max_transaction_age.is_some() {
            let age: f64 = self
                .client
                .query_one(sql::OLDEST_TRANSACTION, &[])
                .await
                .map_err(q("reading the oldest transaction from pg_stat_activity"))?
                .get(0);
            signals.oldest_transaction = Some(Duration::from_secs_f64(age.max(0.0)));
        }
        if let Some(query) = &options.wait_query {
            let rows = self
                .client
                .simple_query(query)
                .await
                .map_err(|e| BackfillError::WaitQuery(crate::error::describe(&e)))?;
            let value = rows.iter().find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).map(str::to_string)),
                _ => None,
            });
            signals.wait_query = match value {
                Some(Some(v)) if v == "t" || v == "true" => true,
                Some(Some(v)) if v == "f" || v == "false" => false,
                Some(None) => false,
                other => {
                    return Err(BackfillError::WaitQuery(format!(
                        "it must return one boolean, and returned {}",
                        match other {
                            None => "no row".to_string(),
                            Some(v) => format!("{:?}", v.unwrap_or_default()),
                        }
                    )));
                }
            };
        }
        Ok(signals)
    }
}

struct StateRow {
    state: String,
    counters: Counters,
}

/// The server's version number (`server_version_num`, e.g. 150004).
async fn server_version_num(client: &Client) -> Result<i32, Error> {
    let row = client.query_one(sql::SERVER_VERSION_NUM, &[]).await.map_err(q("reading the server version"))?;
    Ok(row.get(0))
}

/// A ctid walk's cursor: the next page, and the page its pass ends before.
fn page_cursor(page: i64, end: i64) -> String {
    format!("{{\"page\": {page}, \"end\": {end}}}")
}

/// Runs one backfill until it is done or cancelled, resuming where the state says. `client`
/// holds the runner lock. A paused backfill is resumed (running it is asking for it); while
/// it runs, a pause makes it wait and a cancel makes it return.
pub async fn run(
    client: &Client,
    at: StepRef<'_>,
    options: &Options,
    events: &mut (dyn FnMut(Event<'_>) + Send),
) -> Result<Outcome, BackfillError> {
    ensure_state(client).await?;
    let (phase, index) = (at.phase.as_str(), at.index as i32);
    let limits = &options.limits;
    let initial = Sizer::new(at.spec.batch_size, limits).size().min(i32::MAX as u64) as i32;
    let (table, column) = (at.table(), at.spec.column.clone());
    client
        .execute(sql::REGISTER, &[&at.checksum, &phase, &index, &table, &column, &initial])
        .await
        .map_err(q("recording the backfill in cutover.backfills"))?;
    let estimate = client.query_opt(&at.spec.estimate(), &[]).await.map_err(q("reading the table's row estimate"))?;
    let (reltuples, relpages) = estimate.map(|r| (r.get::<_, f64>(0), r.get::<_, i64>(1))).unwrap_or((-1.0, 0));
    let total = (reltuples >= 0.0).then_some(reltuples.round() as u64);
    let density = if reltuples > 0.0 && relpages > 0 { (reltuples / relpages as f64).max(1.0) } else { 100.0 };
    let mut engine = Engine {
        client,
        at,
        phase,
        index,
        lock_timeout_ms: options.lock_timeout_ms.unwrap_or(at.step.lock_timeout_ms),
        statement_timeout_ms: options.statement_timeout_ms.unwrap_or(at.step.statement_timeout_ms),
        density,
        max_writer_wait: limits.max_writer_wait,
        waitstart: server_version_num(client).await? >= 140000,
        writers_waited: None,
        end: None,
    };
    let now = engine.state().await?;
    let mut counters = now.counters;
    match now.state.as_str() {
        "done" => return Ok(Outcome::Done(Progress::new(counters, total))),
        "cancelled" => return Ok(Outcome::Cancelled(Progress::new(counters, total))),
        "paused" => {
            engine.set_state("running").await?;
            events(Event::Resumed);
        }
        _ => {}
    }
    let mut sizer = Sizer::new(counters.batch_size, limits);
    counters.batch_size = sizer.size();
    events(Event::Started { resumed: counters.batches > 0, progress: &Progress::new(counters, total) });
    let mut in_a_row = 0u32;
    let mut waited = Duration::ZERO;
    let mut since_progress = 0u64;
    loop {
        match decide(&engine.signals(options, in_a_row).await?, limits) {
            Decision::Go => {}
            Decision::Wait { wait, reason } => {
                events(Event::Waiting { reason: &reason, wait });
                let now = engine.state().await?;
                if now.state != "running" {
                    match stopped(&engine, &now.state, options, events).await? {
                        Some(outcome) => return Ok(outcome_with(outcome, total)),
                        None => continue,
                    }
                }
                tokio::time::sleep(wait).await;
                waited += wait;
                // After a lock-timeout backoff the batch is tried again; lag and the wait
                // query are looked at again first.
                if !matches!(reason, Reason::LockTimeouts { .. }) {
                    continue;
                }
            }
            Decision::GiveUp { in_a_row } => {
                return Err(BackfillError::LockTimeouts {
                    step: at.id(),
                    table: at.table(),
                    rows_done: counters.rows_done,
                    in_a_row,
                    lock_timeout_ms: engine.lock_timeout_ms,
                });
            }
        }
        let batch_started = Instant::now();
        match engine.batch(&mut sizer, waited).await {
            Ok(Batch::Committed(progress)) => {
                in_a_row = 0;
                waited = Duration::ZERO;
                counters = Counters { lock_timeouts: counters.lock_timeouts, ..progress };
                if let Some((writers, longest)) = engine.writers_waited {
                    events(Event::WritersWaited {
                        writers,
                        longest,
                        target: sizer.target(),
                        next: counters.batch_size,
                    });
                }
                since_progress += 1;
                if since_progress >= options.progress_every.max(1) {
                    since_progress = 0;
                    events(Event::Batch(&Progress::new(counters, total)));
                }
            }
            Ok(Batch::NextPass) => {}
            Ok(Batch::Done(progress)) => {
                let counters = Counters { lock_timeouts: counters.lock_timeouts, ..progress };
                return Ok(Outcome::Done(Progress::new(counters, total)));
            }
            Ok(Batch::Stopped(state)) => {
                if let Some(outcome) = stopped(&engine, &state, options, events).await? {
                    return Ok(outcome_with(outcome, total));
                }
            }
            Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
                in_a_row += 1;
                counters.lock_timeouts += 1;
                let size = sizer.shrink().min(i32::MAX as u64) as i32;
                let seconds = waited.as_secs_f64();
                waited = Duration::ZERO;
                let mut params = engine.key().to_vec();
                params.push(&size);
                params.push(&seconds);
                client.execute(sql::RECORD_LOCK_TIMEOUT, &params).await.map_err(q("recording a lock timeout"))?;
            }
            Err(e)
                if e.code() == Some(&SqlState::QUERY_CANCELED)
                    && control::canceled_by_timeout(
                        batch_started.elapsed(),
                        Duration::from_millis(engine.statement_timeout_ms),
                    ) =>
            {
                let statement_timeout_ms = engine.statement_timeout_ms;
                match sizer.after_statement_timeout() {
                    AfterTimeout::Retry { rows, next } => {
                        let size = next.min(i32::MAX as u64) as i32;
                        let seconds = (waited + batch_started.elapsed()).as_secs_f64();
                        waited = Duration::ZERO;
                        counters.batch_size = next;
                        let mut params = engine.key().to_vec();
                        params.push(&size);
                        params.push(&seconds);
                        client.execute(sql::RECORD_RESIZE, &params).await.map_err(q("recording a smaller batch"))?;
                        events(Event::StatementTimeout { rows, next, statement_timeout_ms });
                    }
                    AfterTimeout::GiveUp { rows } => {
                        return Err(BackfillError::StatementTimeout {
                            step: at.id(),
                            table: at.table(),
                            rows_done: counters.rows_done,
                            rows,
                            statement_timeout_ms,
                        });
                    }
                }
            }
            Err(e) => {
                return Err(BackfillError::Batch {
                    step: at.id(),
                    table: at.table(),
                    rows_done: counters.rows_done,
                    message: crate::error::describe(&e),
                });
            }
        }
    }
}

/// What a stopped state means: `paused` waits for `resume` (then `None`: carry on) or
/// `cancel`; `cancelled` and `done` end the run.
async fn stopped(
    engine: &Engine<'_>,
    state: &str,
    options: &Options,
    events: &mut (dyn FnMut(Event<'_>) + Send),
) -> Result<Option<(bool, Counters)>, BackfillError> {
    let mut state = state.to_string();
    if state == "paused" {
        events(Event::Paused);
        loop {
            tokio::time::sleep(options.poll).await;
            let now = engine.state().await?;
            if now.state != "paused" {
                state = now.state;
                break;
            }
        }
        if state == "running" {
            events(Event::Resumed);
            return Ok(None);
        }
    }
    let now = engine.state().await?;
    match state.as_str() {
        "cancelled" => Ok(Some((false, now.counters))),
        "done" => Ok(Some((true, now.counters))),
        _ => Ok(None),
    }
}

fn outcome_with((done, counters): (bool, Counters), total: Option<u64>) -> Outcome {
    let progress = Progress::new(counters, total);
    if done { Outcome::Done(progress) } else { Outcome::Cancelled(progress) }
}

/// Which backfills of a plan to run.
pub fn select<'p>(plan: &'p Plan, checksum: &'p str, step: Option<StepId>) -> Result<Vec<StepRef<'p>>, BackfillError> {
    let all = steps(plan, checksum);
    match step {
        None if all.is_empty() => Err(BackfillError::Refused(
            "the plan has no backfill step that the engine can run (plans made before backfills carried their key have none: plan again)".into(),
        )),
        None => Ok(all),
        Some(id) => {
            let found: Vec<StepRef<'p>> =
                all.iter().copied().filter(|s| s.phase == id.phase && s.index == id.index).collect();
            if found.is_empty() {
                let ids: Vec<String> = all.iter().map(|s| s.id()).collect();
                return Err(BackfillError::Refused(format!(
                    "the plan has no backfill step {id} (its backfill steps: {})",
                    if ids.is_empty() { "none".to_string() } else { ids.join(", ") }
                )));
            }
            Ok(found)
        }
    }
}

/// `cutover backfill run`: takes the runner lock and runs the selected backfills in plan
/// order; stops at the first that does not finish (cancelled: its outcome is the last).
pub async fn run_plan(
    target: &Target,
    plan: PlanFile<'_>,
    step: Option<StepId>,
    options: &Options,
    events: &mut (dyn FnMut(&StepRef<'_>, Event<'_>) + Send),
) -> Result<Vec<(String, Outcome)>, BackfillError> {
    let selected = select(plan.plan, plan.checksum, step)?;
    let mut target = target.clone();
    target.config.application_name(APPLICATION_NAME);
    let mut client = connect_locked(&target).await?;
    let mut out = Vec::new();
    let mut result = Ok(());
    'steps: for at in selected {
        let mut attempt = 0;
        loop {
            match run(&client, at, options, &mut |e| events(&at, e)).await {
                Ok(outcome) => {
                    let cancelled = matches!(outcome, Outcome::Cancelled(_));
                    out.push((at.id(), outcome));
                    if cancelled {
                        break 'steps;
                    }
                    break;
                }
                // The session is gone: connect again (the server may be restarting) and
                // resume from the cursor, which committed with the last batch.
                Err(e) if attempt < options.reconnects && !crate::connect::alive(&client).await => {
                    let error = e.to_string();
                    loop {
                        attempt += 1;
                        events(&at, Event::Reconnecting { attempt, error: &error });
                        tokio::time::sleep(options.reconnect_wait).await;
                        match connect_locked(&target).await {
                            Ok(c) => {
                                client = c;
                                break;
                            }
                            Err(e) if attempt >= options.reconnects => return Err(e),
                            Err(_) => {}
                        }
                    }
                }
                Err(e) => {
                    result = Err(e);
                    break 'steps;
                }
            }
        }
    }
    let _ = client.query_one(apply_sql::UNLOCK, &[&apply_sql::RUNNER_LOCK_KEY]).await;
    result.map(|()| out)
}

/// A session holding the runner lock.
async fn connect_locked(target: &Target) -> Result<Client, BackfillError> {
    let client = target.connect().await?;
    let locked: bool = client
        .query_one(apply_sql::TRY_LOCK, &[&apply_sql::RUNNER_LOCK_KEY])
        .await
        .map_err(q("taking the runner lock"))?
        .get(0);
    if !locked {
        return Err(BackfillError::Busy(crate::apply::holders(&client).await?));
    }
    Ok(client)
}

/// What `pause`, `resume` and `cancel` do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Pause,
    Resume,
    Cancel,
}

impl Control {
    fn change(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Control::Pause => ("paused", &["running"]),
            Control::Resume => ("running", &["paused", "cancelled"]),
            Control::Cancel => ("cancelled", &["running", "paused"]),
        }
    }
}

/// A backfill a control command changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub plan_checksum: String,
    pub step: StepId,
    pub table: String,
}

/// Sets the state of the matching backfills (of one plan, or all) that may change that way;
/// the running engine sees it before its next batch.
pub async fn control(
    client: &Client,
    action: Control,
    checksum: Option<&str>,
    step: Option<StepId>,
) -> Result<Vec<Changed>, Error> {
    if !client.query_one(sql::STATE_EXISTS, &[]).await.map_err(q("looking for cutover.backfills"))?.get::<_, bool>(0) {
        return Ok(Vec::new());
    }
    let (to, from) = action.change();
    let from: Vec<&str> = from.to_vec();
    let phase = step.map(|s| s.phase.as_str());
    let index = step.map(|s| s.index as i32);
    let rows = client
        .query(sql::CONTROL, &[&to, &from, &checksum, &phase, &index])
        .await
        .map_err(q("updating cutover.backfills"))?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let phase = PhaseName::parse(r.get(1))?;
            Some(Changed {
                plan_checksum: r.get(0),
                step: StepId { phase, index: r.get::<_, i32>(2) as usize },
                table: r.get(3),
            })
        })
        .collect())
}

/// One backfill as `cutover backfill status` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub plan_checksum: String,
    pub step: String,
    pub table: String,
    pub column: String,
    pub state: String,
    pub progress: Progress,
    pub pass: i32,
    pub cursor: String,
    pub updated_at: String,
}

/// The backfills recorded in the database (of one plan, or all; of one step, or all).
pub async fn status(client: &Client, checksum: Option<&str>, step: Option<StepId>) -> Result<Vec<Status>, Error> {
    if !client.query_one(sql::STATE_EXISTS, &[]).await.map_err(q("looking for cutover.backfills"))?.get::<_, bool>(0) {
        return Ok(Vec::new());
    }
    let phase = step.map(|s| s.phase.as_str());
    let index = step.map(|s| s.index as i32);
    let rows = client.query(sql::STATUS, &[&checksum, &phase, &index]).await.map_err(q("reading cutover.backfills"))?;
    Ok(rows
        .iter()
        .map(|r| {
            let counters = Counters {
                rows_done: r.get::<_, i64>(6) as u64,
                rows_updated: r.get::<_, i64>(7) as u64,
                batches: r.get::<_, i64>(8) as u64,
                batch_size: r.get::<_, i32>(9) as u64,
                lock_timeouts: r.get::<_, i64>(10) as u64,
                busy_seconds: r.get(11),
            };
            let estimate: Option<f64> = r.get(14);
            let state: String = r.get(5);
            let mut progress = Progress::new(counters, estimate.map(|e| e.round() as u64));
            if state == "done" {
                progress.eta_s = Some(0.0);
            }
            Status {
                plan_checksum: r.get(0),
                step: format!("{}.{}", r.get::<_, String>(1), r.get::<_, i32>(2)),
                table: r.get(3),
                column: r.get(4),
                state,
                progress,
                pass: r.get(12),
                cursor: r.get(13),
                updated_at: r.get(15),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_ids_name_a_phase_and_a_position() {
        assert_eq!(StepId::parse("2"), Some(StepId { phase: PhaseName::Backfill, index: 2 }));
        assert_eq!(StepId::parse("switch.1"), Some(StepId { phase: PhaseName::Switch, index: 1 }));
        assert_eq!(StepId::parse("backfill.0"), None);
        assert_eq!(StepId::parse("later.1"), None);
        assert_eq!(StepId::parse("x"), None);
        assert_eq!(StepId { phase: PhaseName::Backfill, index: 3 }.to_string(), "backfill.3");
    }
}
