//! The backfill's decisions, without I/O: how many rows the next batch covers, and whether
//! to wait before it. The engine measures; these functions decide, so they are tested with
//! made-up measurements (a fake clock) rather than a loaded server.

use std::time::Duration;

/// The bounds the engine works within.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// The time one batch should take: long enough to amortise its round trips, short
    /// enough that the row locks it holds are not felt.
    pub target: Duration,
    pub min_batch: u64,
    pub max_batch: u64,
    /// Wait while a replica replays more than this far behind; `None`: ignore replicas.
    pub max_replica_lag: Option<Duration>,
    /// Wait while a transaction holding back vacuum (an xmin horizon) is older than this;
    /// `None`: ignore them. A backfill leaves a dead row version per row it changes, which
    /// vacuum cannot remove while such a transaction lives.
    pub max_transaction_age: Option<Duration>,
    /// The longest the application's writes should wait on a batch's row locks: a batch
    /// that kept a write waiting longer makes the batches shorter (see
    /// [`Sizer::writers_waited`]); `None`: ignore such waits.
    pub max_writer_wait: Option<Duration>,
    /// Give up after this many lock timeouts in a row.
    pub max_lock_timeouts: u32,
    /// The wait after the first lock timeout; it doubles with each one in a row, up to
    /// `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// The wait while the user's wait query says so, or before looking at the lag again.
    pub recheck: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            target: Duration::from_millis(200),
            min_batch: 100,
            max_batch: 50_000,
            max_replica_lag: Some(Duration::from_secs(10)),
            max_transaction_age: None,
            max_writer_wait: Some(Duration::from_millis(100)),
            max_lock_timeouts: 30,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            recheck: Duration::from_secs(1),
        }
    }
}

/// The batch size, adapted toward the target time from each batch's measured time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sizer {
    size: u64,
    min: u64,
    max: u64,
    /// The time batches aim at now: the configured target, or less while the application's
    /// writes wait on the batches' row locks.
    target: Duration,
    configured: Duration,
}

/// The shortest time batches aim at, however long writes waited: below it, commits cost
/// more than the waits they spare.
pub const MIN_TARGET: Duration = Duration::from_millis(10);

impl Sizer {
    pub fn new(initial: u64, limits: &Limits) -> Sizer {
        let (min, max) = (limits.min_batch.max(1), limits.max_batch.max(limits.min_batch.max(1)));
        Sizer { size: initial.clamp(min, max), min, max, target: limits.target, configured: limits.target }
    }

    /// The time batches aim at now.
    pub fn target(&self) -> Duration {
        self.target
    }

    /// A batch that ran `elapsed` kept the application's writes waiting on its row locks, the
    /// longest for `longest` (a write waits at most as long as the batch holds its locks).
    /// When that is more than `max`, batches aim at a time under `max` (four fifths of it, not
    /// below [`MIN_TARGET`]) and the next one is sized for it at once. Returns the new size
    /// when it changed. A batch no write waited on longer than `max` lets the aim grow back
    /// toward the configured target, a tenth at a time.
    pub fn writers_waited(&mut self, elapsed: Duration, longest: Duration, max: Duration) -> Option<u64> {
        if longest <= max {
            self.target = self.configured.min(self.target.mul_f64(1.1)).max(MIN_TARGET.min(self.configured));
            return None;
        }
        self.target = max.mul_f64(0.8).max(MIN_TARGET).min(self.configured);
        if elapsed <= self.target {
            return None;
        }
        let ratio = (self.target.as_secs_f64() / elapsed.as_secs_f64()).clamp(0.1, 1.0);
        let next = ((self.size as f64 * ratio).round() as u64).clamp(self.min, self.max);
        (next != self.size).then(|| {
            self.size = next;
            next
        })
    }

    /// Rows (keys) in the next batch.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// A batch covered `rows` rows in `elapsed`: the next batch is sized so that it would
    /// take the target time at the same cost per row, changing by at most half or double at
    /// a time (one slow batch, say a checkpoint, does not collapse the size), and not at all
    /// within a quarter of the target (no chasing noise). Returns the new size.
    pub fn observe(&mut self, rows: u64, elapsed: Duration) -> u64 {
        if rows == 0 {
            return self.size;
        }
        let ratio = if elapsed.is_zero() {
            2.0
        } else {
            // What the next batch of `size` rows should take, against the target.
            let per_row = elapsed.as_secs_f64() / rows as f64;
            self.target.as_secs_f64() / (per_row * self.size as f64)
        };
        if (0.8..=1.25).contains(&ratio) {
            return self.size;
        }
        let next = (self.size as f64 * ratio.clamp(0.5, 2.0)).round() as u64;
        self.size = next.clamp(self.min, self.max);
        self.size
    }

    /// The batch waited on row locks past its lock_timeout: smaller batches hold fewer locks
    /// and wait on fewer. Returns the new size.
    pub fn shrink(&mut self) -> u64 {
        self.size = (self.size / 2).clamp(self.min, self.max);
        self.size
    }

    /// The batch ran past its statement_timeout and was rolled back: half as many rows take
    /// about half the time, so the batch is tried again at half its size, down to the
    /// smallest, and never grows back past that size in this run (the timeout is a ceiling
    /// the target time does not know about). A batch of the smallest size that still times
    /// out cannot be made to fit, and the run stops.
    pub fn after_statement_timeout(&mut self) -> AfterTimeout {
        let rows = self.size;
        if rows <= self.min {
            return AfterTimeout::GiveUp { rows };
        }
        let next = self.shrink();
        self.max = self.max.min(next);
        AfterTimeout::Retry { rows, next }
    }
}

/// What follows a batch that ran past its statement_timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterTimeout {
    /// The batch of `rows` is tried again with `next` rows.
    Retry { rows: u64, next: u64 },
    /// The batch of `rows` was already the smallest.
    GiveUp { rows: u64 },
}

/// Whether a batch canceled with `57014 query_canceled` was canceled by its own
/// statement_timeout rather than by a person (`pg_cancel_backend`, which stops the run). Both
/// raise the same SQLSTATE, and the message is translated (`lc_messages`), so the time the
/// batch ran tells them apart: a statement_timeout fires only once that much time has passed.
pub fn canceled_by_timeout(elapsed: Duration, statement_timeout: Duration) -> bool {
    elapsed >= statement_timeout
}

/// What the engine saw just before a batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signals {
    /// Batches rolled back by their lock_timeout since the last one that committed.
    pub lock_timeouts_in_a_row: u32,
    /// The most lagging replica's replay lag (`None`: not measured).
    pub replica_lag: Option<Duration>,
    /// The age of the oldest transaction holding back vacuum (`None`: not measured).
    pub oldest_transaction: Option<Duration>,
    /// The user's wait query answered true.
    pub wait_query: bool,
}

/// Why the engine waits.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    LockTimeouts { in_a_row: u32 },
    ReplicaLag { lag: Duration, max: Duration },
    LongTransaction { age: Duration, max: Duration },
    WaitQuery,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::LockTimeouts { in_a_row: 1 } => {
                write!(f, "the last batch waited on row locks past its lock_timeout")
            }
            Reason::LockTimeouts { in_a_row } => {
                write!(f, "the last {in_a_row} batches waited on row locks past their lock_timeout")
            }
            Reason::ReplicaLag { lag, max } => {
                write!(f, "a replica is {:.1} s behind (more than {:.1} s)", lag.as_secs_f64(), max.as_secs_f64())
            }
            Reason::LongTransaction { age, max } => write!(
                f,
                "a transaction holding back vacuum has run {:.0} s (more than {:.0} s)",
                age.as_secs_f64(),
                max.as_secs_f64()
            ),
            Reason::WaitQuery => write!(f, "the wait query says wait"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Go,
    Wait {
        wait: Duration,
        reason: Reason,
    },
    /// Lock timeouts kept coming: stop with an error rather than hammer a busy table.
    GiveUp {
        in_a_row: u32,
    },
}

/// Whether to run the next batch now. Lock timeouts back off exponentially (the table is
/// busy with the application's writes); replica lag and the wait query are looked at again
/// after `recheck`.
pub fn decide(signals: &Signals, limits: &Limits) -> Decision {
    let n = signals.lock_timeouts_in_a_row;
    if n > 0 {
        if n >= limits.max_lock_timeouts.max(1) {
            return Decision::GiveUp { in_a_row: n };
        }
        let wait = limits.first_backoff.saturating_mul(1u32 << (n - 1).min(20)).min(limits.max_backoff);
        return Decision::Wait { wait, reason: Reason::LockTimeouts { in_a_row: n } };
    }
    if let (Some(lag), Some(max)) = (signals.replica_lag, limits.max_replica_lag)
        && lag > max
    {
        return Decision::Wait { wait: limits.recheck, reason: Reason::ReplicaLag { lag, max } };
    }
    if let (Some(age), Some(max)) = (signals.oldest_transaction, limits.max_transaction_age)
        && age > max
    {
        return Decision::Wait { wait: limits.recheck, reason: Reason::LongTransaction { age, max } };
    }
    if signals.wait_query {
        return Decision::Wait { wait: limits.recheck, reason: Reason::WaitQuery };
    }
    Decision::Go
}

/// Rows per second, from rows passed and the time spent on them.
pub fn rate(rows_done: u64, busy: Duration) -> Option<f64> {
    (busy.as_secs_f64() > 0.0 && rows_done > 0).then(|| rows_done as f64 / busy.as_secs_f64())
}

/// Seconds left at `rate`, when the total is estimated (never negative: a table that grew
/// past its estimate is about done).
pub fn eta_seconds(rows_done: u64, total: Option<u64>, rate: Option<f64>) -> Option<f64> {
    let (total, rate) = (total?, rate?);
    Some(total.saturating_sub(rows_done) as f64 / rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A fake table whose batches cost `per_row` each, plus a fixed `overhead`: the clock
    /// the sizer sees.
    fn converge(sizer: &mut Sizer, per_row: Duration, overhead: Duration, batches: usize) -> Vec<u64> {
        (0..batches)
            .map(|_| {
                let rows = sizer.size();
                let elapsed = overhead + per_row * rows as u32;
                sizer.observe(rows, elapsed)
            })
            .collect()
    }

    #[test]
    fn the_size_grows_toward_the_target_on_a_cheap_table_and_stops_there() {
        let limits = Limits::default();
        let mut sizer = Sizer::new(1000, &limits);
        // 20 µs a row: the target of 200 ms is 10,000 rows.
        let sizes = converge(&mut sizer, Duration::from_micros(20), Duration::ZERO, 10);
        assert_eq!(&sizes[..3], [2000, 4000, 8000], "grows by at most double: {sizes:?}");
        assert!(sizes[3..].iter().all(|s| (8000..=12_500).contains(s)), "{sizes:?}");
        let last = *sizes.last().unwrap();
        assert!(sizes[6..].iter().all(|s| *s == last), "it settles: {sizes:?}");
    }

    #[test]
    fn the_size_shrinks_on_an_expensive_table_by_at_most_half_a_time() {
        let limits = Limits::default();
        let mut sizer = Sizer::new(5000, &limits);
        // 1 ms a row: 200 rows make 200 ms.
        let sizes = converge(&mut sizer, ms(1), Duration::ZERO, 8);
        assert_eq!(&sizes[..4], [2500, 1250, 625, 313], "{sizes:?}");
        assert!(sizes[4..].iter().all(|s| (160..=250).contains(s)), "{sizes:?}");
    }

    #[test]
    fn the_size_follows_a_table_that_gets_slower_and_faster() {
        let limits = Limits::default();
        let mut sizer = Sizer::new(10_000, &limits);
        converge(&mut sizer, Duration::from_micros(20), Duration::ZERO, 10);
        let fast = sizer.size();
        // The server gets busy: ten times slower per row.
        converge(&mut sizer, Duration::from_micros(200), Duration::ZERO, 10);
        let slow = sizer.size();
        assert!(slow * 8 <= fast && slow * 12 >= fast, "{fast} then {slow}");
        converge(&mut sizer, Duration::from_micros(20), Duration::ZERO, 10);
        assert!(sizer.size() >= fast * 8 / 10, "back to {} from {slow}", sizer.size());
    }

    #[test]
    fn the_size_stays_within_its_bounds() {
        let limits = Limits { min_batch: 100, max_batch: 50_000, ..Limits::default() };
        let mut sizer = Sizer::new(1, &limits);
        assert_eq!(sizer.size(), 100, "the initial size is clamped");
        let sizes = converge(&mut sizer, Duration::from_nanos(10), Duration::ZERO, 30);
        assert_eq!(*sizes.last().unwrap(), 50_000);
        let sizes = converge(&mut sizer, Duration::from_secs(1), Duration::ZERO, 30);
        assert_eq!(*sizes.last().unwrap(), 100);
        assert_eq!(sizer.shrink(), 100);
        assert_eq!(sizer.observe(0, Duration::from_secs(5)), 100, "an empty batch says nothing");
        let mut fast = Sizer::new(40_000, &limits);
        assert_eq!(fast.observe(40_000, Duration::ZERO), 50_000, "an unmeasurably quick batch doubles, capped");
    }

    #[test]
    fn a_partial_batch_is_judged_per_row() {
        let limits = Limits::default();
        let mut sizer = Sizer::new(4000, &limits);
        // The last 100 rows of the table took 5 ms: 50 µs a row, so 4000 rows take 200 ms.
        assert_eq!(sizer.observe(100, ms(5)), 4000);
    }

    #[test]
    fn a_fixed_overhead_per_batch_still_converges() {
        let limits = Limits::default();
        let mut sizer = Sizer::new(100, &limits);
        let sizes = converge(&mut sizer, Duration::from_micros(10), ms(50), 20);
        // 50 ms + 10 µs a row: 15,000 rows make 200 ms; the sizer lands within a quarter.
        let last = *sizes.last().unwrap();
        let time = 50.0 + last as f64 * 0.01;
        assert!((160.0..=250.0).contains(&time), "{sizes:?}");
    }

    #[test]
    fn lock_timeouts_shrink_and_back_off_then_give_up() {
        let limits = Limits::default();
        let mut sizer = Sizer::new(8000, &limits);
        assert_eq!(sizer.shrink(), 4000);
        let waits: Vec<Decision> =
            (1..=3).map(|n| decide(&Signals { lock_timeouts_in_a_row: n, ..Signals::default() }, &limits)).collect();
        assert_eq!(
            waits,
            [
                Decision::Wait { wait: ms(100), reason: Reason::LockTimeouts { in_a_row: 1 } },
                Decision::Wait { wait: ms(200), reason: Reason::LockTimeouts { in_a_row: 2 } },
                Decision::Wait { wait: ms(400), reason: Reason::LockTimeouts { in_a_row: 3 } },
            ]
        );
        let late = decide(&Signals { lock_timeouts_in_a_row: 20, ..Signals::default() }, &limits);
        assert_eq!(
            late,
            Decision::Wait { wait: Duration::from_secs(10), reason: Reason::LockTimeouts { in_a_row: 20 } }
        );
        let out = decide(&Signals { lock_timeouts_in_a_row: 30, ..Signals::default() }, &limits);
        assert_eq!(out, Decision::GiveUp { in_a_row: 30 });
    }

    #[test]
    fn replica_lag_beyond_the_bound_waits() {
        let limits = Limits { max_replica_lag: Some(Duration::from_secs(5)), ..Limits::default() };
        let lag = |s| Signals { replica_lag: Some(Duration::from_secs(s)), ..Signals::default() };
        assert_eq!(decide(&lag(0), &limits), Decision::Go);
        assert_eq!(decide(&lag(5), &limits), Decision::Go, "at the bound is fine");
        assert_eq!(
            decide(&lag(6), &limits),
            Decision::Wait {
                wait: Duration::from_secs(1),
                reason: Reason::ReplicaLag { lag: Duration::from_secs(6), max: Duration::from_secs(5) }
            }
        );
        assert_eq!(decide(&Signals::default(), &limits), Decision::Go, "no replica measured");
        let ignore = Limits { max_replica_lag: None, ..limits.clone() };
        assert_eq!(decide(&lag(600), &ignore), Decision::Go);
        assert_eq!(
            Reason::ReplicaLag { lag: Duration::from_millis(6500), max: Duration::from_secs(5) }.to_string(),
            "a replica is 6.5 s behind (more than 5.0 s)"
        );
    }

    #[test]
    fn a_long_transaction_holding_back_vacuum_waits_when_bounded() {
        let limits = Limits { max_transaction_age: Some(Duration::from_secs(600)), ..Limits::default() };
        let old = |s| Signals { oldest_transaction: Some(Duration::from_secs(s)), ..Signals::default() };
        assert_eq!(decide(&old(600), &limits), Decision::Go);
        assert_eq!(
            decide(&old(601), &limits),
            Decision::Wait {
                wait: Duration::from_secs(1),
                reason: Reason::LongTransaction { age: Duration::from_secs(601), max: Duration::from_secs(600) }
            }
        );
        assert_eq!(decide(&old(100_000), &Limits::default()), Decision::Go, "ignored unless bounded");
    }

    #[test]
    fn the_wait_query_waits_and_lock_timeouts_come_first() {
        let limits = Limits::default();
        let wait = Signals { wait_query: true, ..Signals::default() };
        assert_eq!(decide(&wait, &limits), Decision::Wait { wait: Duration::from_secs(1), reason: Reason::WaitQuery });
        let both = Signals {
            wait_query: true,
            lock_timeouts_in_a_row: 1,
            replica_lag: Some(Duration::from_secs(60)),
            oldest_transaction: Some(Duration::from_secs(100_000)),
        };
        assert!(matches!(decide(&both, &limits), Decision::Wait { reason: Reason::LockTimeouts { .. }, .. }));
    }

    /// A fake table whose rows cost `per_row` each, under a statement_timeout: each batch
    /// either fits (and the sizer observes it) or is canceled by the timeout (and shrinks).
    /// Returns each batch's outcome: the rows it covered, or `None` for a canceled one.
    fn under_timeout(
        sizer: &mut Sizer,
        per_row: Duration,
        timeout: Duration,
        batches: usize,
    ) -> (Vec<Option<u64>>, Option<AfterTimeout>) {
        let mut out = Vec::new();
        for _ in 0..batches {
            let rows = sizer.size();
            let elapsed = per_row * rows as u32;
            if elapsed >= timeout {
                assert!(canceled_by_timeout(timeout, timeout));
                out.push(None);
                if let stop @ AfterTimeout::GiveUp { .. } = sizer.after_statement_timeout() {
                    return (out, Some(stop));
                }
            } else {
                sizer.observe(rows, elapsed);
                out.push(Some(rows));
            }
        }
        (out, None)
    }

    #[test]
    fn a_batch_past_its_statement_timeout_is_retried_at_half_its_size() {
        // 1 ms a row, a timeout of 600 ms and a target of 5 s (the sizer alone would grow):
        // 2000 and 1000 rows are canceled; 500 fit, and the size does not grow back to the
        // 1000 that timed out although the target asks for more.
        let limits = Limits { target: Duration::from_secs(5), min_batch: 100, ..Limits::default() };
        let mut sizer = Sizer::new(2000, &limits);
        let (batches, stop) = under_timeout(&mut sizer, ms(1), ms(600), 5);
        assert_eq!(batches, [None, None, Some(500), Some(500), Some(500)]);
        assert_eq!(stop, None);
        let mut sizer = Sizer::new(2000, &limits);
        assert_eq!(sizer.after_statement_timeout(), AfterTimeout::Retry { rows: 2000, next: 1000 });
        assert_eq!(sizer.size(), 1000);
    }

    #[test]
    fn a_batch_of_the_smallest_size_past_its_statement_timeout_stops_the_run() {
        // 10 ms a row: even 100 rows take a second, past a 500 ms timeout.
        let limits = Limits { min_batch: 100, ..Limits::default() };
        let mut sizer = Sizer::new(400, &limits);
        let (batches, stop) = under_timeout(&mut sizer, ms(10), ms(500), 10);
        assert_eq!(batches, [None, None, None]);
        assert_eq!(stop, Some(AfterTimeout::GiveUp { rows: 100 }));
        assert_eq!(sizer.size(), 100, "the size stays at the smallest");
    }

    #[test]
    fn only_a_cancel_after_the_timeout_is_the_timeout() {
        assert!(canceled_by_timeout(ms(300), ms(300)));
        assert!(canceled_by_timeout(ms(301), ms(300)));
        assert!(!canceled_by_timeout(ms(120), ms(300)), "pg_cancel_backend before the timeout");
    }

    #[test]
    fn rate_and_eta() {
        assert_eq!(rate(0, Duration::from_secs(3)), None);
        assert_eq!(rate(3000, Duration::ZERO), None);
        assert_eq!(rate(3000, Duration::from_secs(3)), Some(1000.0));
        assert_eq!(eta_seconds(3000, Some(10_000), Some(1000.0)), Some(7.0));
        assert_eq!(eta_seconds(12_000, Some(10_000), Some(1000.0)), Some(0.0));
        assert_eq!(eta_seconds(3000, None, Some(1000.0)), None);
    }

    #[test]
    fn writes_kept_waiting_make_batches_aim_shorter_then_grow_back() {
        let limits = Limits { min_batch: 100, max_batch: 50_000, ..Limits::default() };
        let mut sizer = Sizer::new(10_000, &limits);
        let max = ms(100);
        // Writes waited under the bound: nothing changes.
        assert_eq!(sizer.writers_waited(ms(200), ms(80), max), None);
        assert_eq!((sizer.size(), sizer.target()), (10_000, ms(200)));
        // A write waited 180 ms on a 200 ms batch: aim at 80 ms, and size for it now.
        assert_eq!(sizer.writers_waited(ms(200), ms(180), max), Some(4_000));
        assert_eq!(sizer.target(), ms(80));
        // The size then follows the shorter aim: 4000 rows in 95 ms is near enough 80 ms.
        assert_eq!(sizer.observe(4_000, ms(95)), 4_000, "within a quarter: no change");
        assert_eq!(sizer.observe(4_000, ms(160)), 2_000);
        // Batches no write waited on let the aim grow back a tenth at a time, to the target.
        let aims: Vec<u128> = (0..12)
            .map(|_| {
                sizer.writers_waited(ms(50), Duration::ZERO, max);
                sizer.target().as_millis()
            })
            .collect();
        assert_eq!(aims, [88, 96, 106, 117, 128, 141, 155, 171, 188, 200, 200, 200]);
    }

    #[test]
    fn the_aim_never_drops_below_the_floor_nor_the_size_below_its_minimum() {
        let limits = Limits { min_batch: 500, ..Limits::default() };
        let mut sizer = Sizer::new(1_000, &limits);
        assert_eq!(sizer.writers_waited(ms(400), ms(390), ms(5)), Some(500));
        assert_eq!(sizer.target(), MIN_TARGET);
        assert_eq!(sizer.writers_waited(ms(400), ms(390), ms(5)), None, "already the smallest");
    }
}
