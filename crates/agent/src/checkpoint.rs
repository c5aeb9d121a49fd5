//! The checkpoint of a running phase: what the rollout engine reported, gathered into one
//! comment on the phase's sub-issue that is updated in place, and when to update it. Pure: the
//! runner feeds it events with the time since the phase started, and posts what it returns.
//!
//! Cadence: the start, each step, every 10% of a backfill or `every` (5 minutes by default)
//! when it moves slower, each lock-timeout retry, pauses and the end. Never one comment per
//! batch: a backfill of a million batches updates its checkpoint a dozen times.

use std::time::Duration;

use cutover_plan::planner::{PhaseName, thousands};

use crate::markdown::inline_code as code;

/// What the engine reported, owned (the runner converts `apply::Event`s).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Step `number` of the phase begins.
    Step {
        number: usize,
        sql: String,
    },
    /// ... was done by an earlier run.
    AlreadyDone,
    /// The step's lock_timeout expired; it is tried again after `wait`.
    LockRetry {
        tried: u32,
        tries: u32,
        lock_timeout_ms: u64,
        wait: Duration,
    },
    /// A backfill started or resumed, or moved on.
    Backfill {
        table: String,
        resumed: bool,
        progress: Progress,
    },
    /// The backfill waits before its next batch (throttled), and why.
    Throttled {
        reason: String,
    },
    Paused,
    Resumed,
    /// The step is done.
    StepDone {
        elapsed: Duration,
        rows: u64,
    },
}

/// A backfill's progress, as the engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Progress {
    pub rows_done: u64,
    pub rows_total: Option<u64>,
    pub rate: Option<f64>,
    pub eta_s: Option<f64>,
}

impl Progress {
    fn percent(&self) -> Option<u64> {
        let total = self.rows_total.filter(|t| *t > 0)?;
        Some((self.rows_done.saturating_mul(100) / total).min(100))
    }
}

/// How a step stands.
#[derive(Debug, Clone, PartialEq)]
enum StepState {
    Pending,
    Running,
    Retrying { tried: u32, tries: u32 },
    Done { elapsed: Duration },
    AlreadyDone,
}

/// Something to post: the checkpoint comment's new body, and a line for the agent session
/// (an ephemeral action for progress, kept for the rest).
#[derive(Debug, Clone, PartialEq)]
pub struct Posting {
    pub body: String,
    pub action: String,
    pub parameter: String,
    pub ephemeral: bool,
}

/// The checkpoint of one run of one phase.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    identifier: String,
    phase: PhaseName,
    phase_number: usize,
    phase_count: usize,
    steps: Vec<(String, StepState)>,
    current: Option<usize>,
    backfill: Option<(String, Progress)>,
    throttled: Option<String>,
    paused: bool,
    lock_waits: Vec<String>,
    every: Duration,
    last_post: Option<Duration>,
    last_decile: Option<u64>,
    elapsed: Duration,
    end: Option<String>,
}

impl Checkpoint {
    /// `steps`: the first line of each step's SQL, in order.
    pub fn new(
        identifier: &str,
        phase: PhaseName,
        (phase_number, phase_count): (usize, usize),
        steps: Vec<String>,
        every: Duration,
    ) -> Checkpoint {
        Checkpoint {
            identifier: identifier.to_string(),
            phase,
            phase_number,
            phase_count,
            steps: steps.into_iter().map(|s| (s, StepState::Pending)).collect(),
            current: None,
            backfill: None,
            throttled: None,
            paused: false,
            lock_waits: Vec::new(),
            every,
            last_post: None,
            last_decile: None,
            elapsed: Duration::ZERO,
            end: None,
        }
    }

    /// The first posting, before anything ran.
    pub fn start(&mut self) -> Posting {
        self.last_post = Some(Duration::ZERO);
        let count = self.steps.len();
        Posting {
            body: self.render(),
            action: format!("Running phase {} of {}: {}", self.phase_number, self.phase_count, self.phase),
            parameter: format!("{count} step{}", if count == 1 { "" } else { "s" }),
            ephemeral: false,
        }
    }

    /// Takes in an event `at` the time since the phase started; returns what to post, if
    /// anything is worth an update.
    pub fn on(&mut self, event: Event, at: Duration) -> Option<Posting> {
        self.elapsed = at;
        let posting = match event {
            Event::Step { number, sql } => {
                self.current = Some(number);
                if let Some(step) = self.steps.get_mut(number.saturating_sub(1)) {
                    step.0 = sql;
                    step.1 = StepState::Running;
                }
                Some((format!("Step {number} of {}", self.steps.len()), first_line(&self.steps[number - 1].0), true))
            }
            Event::AlreadyDone => {
                self.set_current(StepState::AlreadyDone);
                None
            }
            Event::LockRetry { tried, tries, lock_timeout_ms, wait } => {
                self.set_current(StepState::Retrying { tried, tries });
                let number = self.current.unwrap_or(0);
                let line = format!(
                    "step {number}: lock_timeout ({lock_timeout_ms} ms) expired on try {tried} of {tries}; trying again in {:.1} s",
                    wait.as_secs_f64()
                );
                self.lock_waits.push(line.clone());
                Some(("Waiting for a lock".to_string(), line, true))
            }
            Event::Backfill { table, resumed, progress } => {
                let first = self.backfill.is_none();
                self.backfill = Some((table.clone(), progress));
                let decile = progress.percent().map(|p| p / 10);
                let due = first
                    || decile.is_some_and(|d| self.last_decile.is_none_or(|last| d > last))
                    || self.last_post.is_none_or(|last| at.saturating_sub(last) >= self.every);
                if !due {
                    return None;
                }
                self.last_decile = decile.or(self.last_decile);
                let verb = if first && resumed { "Resuming the backfill of" } else { "Backfilling" };
                Some((format!("{verb} {table}"), progress_line(&progress), true))
            }
            Event::Throttled { reason } => {
                self.throttled = Some(reason);
                None
            }
            Event::Paused => {
                self.paused = true;
                Some(("Backfill paused".to_string(), "waiting for resume".to_string(), false))
            }
            Event::Resumed => {
                self.paused = false;
                Some(("Backfill resumed".to_string(), String::new(), false))
            }
            Event::StepDone { elapsed, rows } => {
                self.set_current(StepState::Done { elapsed });
                // A finished backfill passed every row: the estimate gives way to the count.
                if let Some((_, progress)) = &mut self.backfill {
                    progress.rows_done = progress.rows_done.max(rows);
                    progress.rows_total = Some(progress.rows_done);
                    progress.eta_s = Some(0.0);
                }
                None
            }
        };
        let (action, parameter, ephemeral) = posting?;
        self.last_post = Some(at);
        Some(Posting { body: self.render(), action, parameter, ephemeral })
    }

    /// The last posting: how the phase ended (`outcome`, one or more Markdown lines).
    pub fn end(&mut self, outcome: &str, at: Duration) -> String {
        self.elapsed = at;
        self.end = Some(outcome.to_string());
        self.render()
    }

    fn set_current(&mut self, state: StepState) {
        if let Some(step) = self.current.and_then(|n| self.steps.get_mut(n - 1)) {
            step.1 = state;
        }
    }

    /// The checkpoint comment.
    pub fn render(&self) -> String {
        let state = match (&self.end, self.paused) {
            (Some(_), _) => "ended",
            (None, true) => "paused",
            (None, false) => "running",
        };
        let mut out = format!(
            "**Checkpoint: {} phase {} of {}, {}** ({state}, {})\n\n",
            self.identifier,
            self.phase_number,
            self.phase_count,
            self.phase,
            duration_words(self.elapsed)
        );
        for (i, (sql, step)) in self.steps.iter().enumerate() {
            let state = match step {
                StepState::Pending => "pending".to_string(),
                StepState::Running => "running".to_string(),
                StepState::Retrying { tried, tries } => format!("waiting for its lock (try {} of {tries})", tried + 1),
                StepState::Done { elapsed } => format!("done in {}", duration_words(*elapsed)),
                StepState::AlreadyDone => "done by an earlier run".to_string(),
            };
            out.push_str(&format!("{}. {} — {state}\n", i + 1, code(&first_line(sql))));
        }
        if let Some((table, progress)) = &self.backfill {
            out.push_str(&format!("\nBackfill of {}: {}\n", code(table), progress_line(progress)));
            if let Some(reason) = &self.throttled {
                out.push_str(&format!("Last throttled because {reason}.\n"));
            }
        }
        if !self.lock_waits.is_empty() {
            out.push_str("\nLock waits:\n");
            for line in &self.lock_waits {
                out.push_str(&format!("- {line}\n"));
            }
        }
        if let Some(end) = &self.end {
            out.push('\n');
            out.push_str(end.trim_end());
            out.push('\n');
        }
        out
    }
}

fn first_line(sql: &str) -> String {
    let line = sql.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if line.chars().count() > 100 {
        format!("{}…", line.chars().take(99).collect::<String>())
    } else {
        line.to_string()
    }
}

/// "40% · 4,000 of about 10,000 rows · 2,100 rows/s · about 3 s left".
pub fn progress_line(progress: &Progress) -> String {
    let mut parts = Vec::new();
    match (progress.percent(), progress.rows_total) {
        (Some(percent), Some(total)) => {
            parts.push(format!("{percent}%"));
            parts.push(format!("{} of about {} rows", thousands(progress.rows_done), thousands(total)));
        }
        _ => parts.push(format!("{} rows", thousands(progress.rows_done))),
    }
    if let Some(rate) = progress.rate.filter(|r| r.is_finite() && *r > 0.0) {
        parts.push(format!("{} rows/s", thousands(rate.round() as u64)));
    }
    match progress.eta_s {
        Some(eta) if eta <= 0.0 => parts.push("done".to_string()),
        Some(eta) if eta.is_finite() => {
            parts.push(format!("about {} left", duration_words(Duration::from_secs_f64(eta.max(1.0)))))
        }
        _ => {}
    }
    parts.join(" · ")
}

/// "3 s", "1 s", "4 min 10 s", "2 h 5 min".
pub fn duration_words(d: Duration) -> String {
    let s = d.as_secs();
    if d.is_zero() {
        "0 s".to_string()
    } else if s == 0 {
        "under 1 s".to_string()
    } else if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        match s % 60 {
            0 => format!("{} min", s / 60),
            rest => format!("{} min {rest} s", s / 60),
        }
    } else {
        match (s % 3600) / 60 {
            0 => format!("{} h", s / 3600),
            rest => format!("{} h {rest} min", s / 3600),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(done: u64, total: u64) -> Progress {
        Progress {
            rows_done: done,
            rows_total: Some(total),
            rate: Some(1000.0),
            eta_s: Some((total - done) as f64 / 1000.0),
        }
    }

    fn backfill(done: u64) -> Event {
        Event::Backfill { table: "public.customers".into(), resumed: false, progress: progress(done, 100_000) }
    }

    #[test]
    fn a_backfill_updates_every_ten_percent_or_every_interval_not_every_batch() {
        let mut cp = Checkpoint::new(
            "ENG-1",
            PhaseName::Backfill,
            (2, 4),
            vec!["UPDATE customers SET x = y".into()],
            Duration::from_secs(300),
        );
        cp.start();
        let s = Duration::from_secs;
        assert!(cp.on(Event::Step { number: 1, sql: "UPDATE customers SET x = y".into() }, s(0)).is_some());
        let mut posted = Vec::new();
        for (i, done) in (0..=100_000u64).step_by(1_000).enumerate() {
            if let Some(p) = cp.on(backfill(done), s(i as u64)) {
                posted.push((done, p.ephemeral));
            }
        }
        let rows: Vec<u64> = posted.iter().map(|p| p.0).collect();
        assert_eq!(rows, vec![0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000, 80_000, 90_000, 100_000]);
        assert!(posted.iter().all(|p| p.1));
        // Slower than 10% per interval: the interval decides.
        let mut cp = Checkpoint::new("ENG-1", PhaseName::Backfill, (2, 4), vec!["UPDATE".into()], s(300));
        cp.start();
        assert!(cp.on(backfill(0), s(0)).is_some());
        assert!(cp.on(backfill(100), s(299)).is_none());
        assert!(cp.on(backfill(200), s(300)).is_some());
        assert!(cp.on(backfill(300), s(301)).is_none());
    }

    #[test]
    fn the_comment_says_where_each_step_is() {
        let s = Duration::from_secs;
        let mut cp = Checkpoint::new(
            "ENG-7",
            PhaseName::Expand,
            (1, 4),
            vec!["ALTER TABLE a ADD COLUMN b int".into(), "CREATE INDEX CONCURRENTLY i ON a (b)".into()],
            s(300),
        );
        let start = cp.start();
        assert_eq!(
            (start.action.as_str(), start.parameter.as_str(), start.ephemeral),
            ("Running phase 1 of 4: expand", "2 steps", false)
        );
        cp.on(Event::Step { number: 1, sql: "ALTER TABLE a ADD COLUMN b int".into() }, s(1));
        cp.on(Event::StepDone { elapsed: Duration::from_millis(30), rows: 0 }, s(1));
        cp.on(Event::Step { number: 2, sql: "CREATE INDEX CONCURRENTLY i ON a (b)".into() }, s(2));
        let retry = cp
            .on(
                Event::LockRetry { tried: 1, tries: 10, lock_timeout_ms: 2000, wait: Duration::from_millis(1200) },
                s(4),
            )
            .expect("a lock retry is posted");
        assert_eq!(
            retry.body,
            "**Checkpoint: ENG-7 phase 1 of 4, expand** (running, 4 s)\n\n\
             1. `ALTER TABLE a ADD COLUMN b int` — done in under 1 s\n\
             2. `CREATE INDEX CONCURRENTLY i ON a (b)` — waiting for its lock (try 2 of 10)\n\
             \nLock waits:\n\
             - step 2: lock_timeout (2000 ms) expired on try 1 of 10; trying again in 1.2 s\n"
        );
        cp.on(Event::StepDone { elapsed: s(3), rows: 0 }, s(5));
        let end = cp.end("Verified: 2 checks passed.", s(5));
        assert_eq!(
            end,
            "**Checkpoint: ENG-7 phase 1 of 4, expand** (ended, 5 s)\n\n\
             1. `ALTER TABLE a ADD COLUMN b int` — done in under 1 s\n\
             2. `CREATE INDEX CONCURRENTLY i ON a (b)` — done in 3 s\n\
             \nLock waits:\n\
             - step 2: lock_timeout (2000 ms) expired on try 1 of 10; trying again in 1.2 s\n\
             \nVerified: 2 checks passed.\n"
        );
    }

    #[test]
    fn progress_lines() {
        assert_eq!(
            progress_line(&progress(40_000, 100_000)),
            "40% · 40,000 of about 100,000 rows · 1,000 rows/s · about 1 min left"
        );
        assert_eq!(progress_line(&Progress { rows_done: 12, ..Progress::default() }), "12 rows");
        assert_eq!(duration_words(Duration::from_millis(400)), "under 1 s");
        assert_eq!(duration_words(Duration::ZERO), "0 s");
        assert_eq!(duration_words(Duration::from_secs(250)), "4 min 10 s");
        assert_eq!(duration_words(Duration::from_secs(7500)), "2 h 5 min");
    }
}
