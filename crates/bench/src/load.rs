//! An open-loop write load: single-row UPDATEs and INSERTs at a fixed rate from a few
//! connections, each write's latency measured from the time it was scheduled (a write that
//! waits behind a blocked one counts the wait), and a sampler of `pg_locks` for the longest
//! lock wait.

use anyhow::Context;
use cutover_db_postgres::connect::Target;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub struct Config {
    /// Writes per second, all connections together.
    pub rate: f64,
    pub connections: usize,
    /// The share of INSERTs (of new ids past the table's); the rest UPDATE a random row.
    pub insert_percent: u32,
    /// The table's ids are 1..=rows.
    pub rows: u64,
    /// How often `pg_locks` is sampled.
    pub lock_sample: Duration,
}

/// One write: when it was scheduled (since the load started) and how long it took from then.
#[derive(Debug, Clone, Copy)]
struct Write {
    scheduled: Duration,
    latency: Duration,
    /// From the moment it was sent: without the wait behind earlier writes of its connection.
    service: Duration,
    insert: bool,
    ok: bool,
}

pub struct Load {
    start: Instant,
    /// Writes scheduled at or after this offset (ns since `start`) are not made.
    stop_at: Arc<AtomicU64>,
    writers: Vec<JoinHandle<anyhow::Result<Vec<Write>>>>,
    pids: Vec<i32>,
    sampler_stop: Arc<AtomicBool>,
    sampler: JoinHandle<anyhow::Result<Vec<(i32, f64)>>>,
}

/// What the load saw within a window.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub scheduled: usize,
    pub failed: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The longest wait for a lock seen in `pg_locks` by a writer, and by any other
    /// session (the backfill or the UPDATE), in ms; sampled, so a lower bound.
    pub writer_lock_wait_ms: f64,
    pub other_lock_wait_ms: f64,
    /// p99 of the service time (from sending to the answer) of the INSERTs, which never wait
    /// on the filler's row locks, and of the UPDATEs, which may.
    pub insert_service_p99_ms: f64,
    pub update_service_p99_ms: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// A small xorshift generator: the load needs spread, not cryptographic randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

const UPDATE: &str = "UPDATE public.accounts SET amount = amount + 1, updated_at = pg_catalog.now() WHERE id = $1";
const INSERT: &str = "INSERT INTO public.accounts (id, amount, note) VALUES ($1, $2, 'load')";

impl Load {
    pub async fn start(target: &Target, config: &Config) -> anyhow::Result<Load> {
        let stop_at = Arc::new(AtomicU64::new(u64::MAX));
        let next_id = Arc::new(AtomicI64::new(config.rows as i64 + 1));
        let mut clients = Vec::new();
        let mut pids = Vec::new();
        for _ in 0..config.connections.max(1) {
            let client = target.connect().await?;
            pids.push(client.query_one("SELECT pg_catalog.pg_backend_pid()", &[]).await?.get(0));
            clients.push(client);
        }
        let start = Instant::now();
        let n = clients.len();
        let mut writers = Vec::new();
        for (k, client) in clients.into_iter().enumerate() {
            let (stop_at, next_id, config) = (stop_at.clone(), next_id.clone(), config.clone());
            writers.push(tokio::spawn(async move {
                let update = client.prepare(UPDATE).await?;
                let insert = client.prepare(INSERT).await?;
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (k as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
                let mut out = Vec::new();
                let mut i = k as u64;
                loop {
                    let scheduled = Duration::from_secs_f64(i as f64 / config.rate);
                    if scheduled.as_nanos() as u64 >= stop_at.load(Ordering::Relaxed) {
                        break;
                    }
                    tokio::time::sleep_until((start + scheduled).into()).await;
                    if scheduled.as_nanos() as u64 >= stop_at.load(Ordering::Relaxed) {
                        break;
                    }
                    let r = rng.next();
                    let sent = Instant::now();
                    let is_insert = (r % 100) < config.insert_percent as u64;
                    let result = if is_insert {
                        let id = next_id.fetch_add(1, Ordering::Relaxed);
                        let amount = ((r >> 8) % 100_000) as i32;
                        client.execute(&insert, &[&id, &amount]).await
                    } else {
                        let id = ((r >> 8) % config.rows.max(1)) as i64 + 1;
                        client.execute(&update, &[&id]).await
                    };
                    let latency = start.elapsed().saturating_sub(scheduled);
                    out.push(Write {
                        scheduled,
                        latency,
                        service: sent.elapsed(),
                        insert: is_insert,
                        ok: result.is_ok(),
                    });
                    i += n as u64;
                }
                Ok(out)
            }));
        }
        let sampler_stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let client = target.connect().await?;
            let (stop, every) = (sampler_stop.clone(), config.lock_sample);
            tokio::spawn(async move {
                let mut longest: Vec<(i32, f64)> = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let rows = client
                        .query(
                            "SELECT pid, (extract(epoch FROM pg_catalog.clock_timestamp() - waitstart) * 1000)::float8
                             FROM pg_catalog.pg_locks WHERE NOT granted AND waitstart IS NOT NULL",
                            &[],
                        )
                        .await
                        .context("sampling pg_locks")?;
                    for r in rows {
                        let (pid, ms): (i32, f64) = (r.get(0), r.get(1));
                        match longest.iter_mut().find(|(p, _)| *p == pid) {
                            Some(entry) => entry.1 = entry.1.max(ms),
                            None => longest.push((pid, ms)),
                        }
                    }
                    tokio::time::sleep(every).await;
                }
                Ok(longest)
            })
        };
        Ok(Load { start, stop_at, writers, pids, sampler_stop, sampler })
    }

    /// Stops scheduling writes at `until`, waits for those in flight, and reports on the
    /// writes scheduled in `[from, until)`.
    pub async fn finish(self, from: Instant, until: Instant) -> anyhow::Result<Stats> {
        let (from, until) = (from.saturating_duration_since(self.start), until.saturating_duration_since(self.start));
        self.stop_at.store(until.as_nanos() as u64, Ordering::Relaxed);
        let mut writes = Vec::new();
        for w in self.writers {
            writes.extend(w.await??);
        }
        self.sampler_stop.store(true, Ordering::Relaxed);
        let waits = self.sampler.await??;
        let window: Vec<&Write> = writes.iter().filter(|w| w.scheduled >= from && w.scheduled < until).collect();
        let mut latencies: Vec<f64> = window.iter().map(|w| w.latency.as_secs_f64() * 1000.0).collect();
        let service_p99 = |insert: bool| {
            let mut v: Vec<f64> =
                window.iter().filter(|w| w.insert == insert).map(|w| w.service.as_secs_f64() * 1000.0).collect();
            v.sort_by(f64::total_cmp);
            percentile(&v, 0.99)
        };
        let failed = writes.iter().filter(|w| w.scheduled >= from && w.scheduled < until && !w.ok).count();
        latencies.sort_by(f64::total_cmp);
        let pct = |p: f64| percentile(&latencies, p);
        let longest = |writer: bool| {
            waits.iter().filter(|(pid, _)| self.pids.contains(pid) == writer).map(|(_, ms)| *ms).fold(0.0, f64::max)
        };
        Ok(Stats {
            scheduled: latencies.len(),
            failed,
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            max_ms: latencies.last().copied().unwrap_or(0.0),
            writer_lock_wait_ms: longest(true),
            other_lock_wait_ms: longest(false),
            insert_service_p99_ms: service_p99(true),
            update_service_p99_ms: service_p99(false),
        })
    }
}
