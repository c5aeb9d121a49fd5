//! `cutover-bench`: performance measurements, written to docs/benchmarks.md with the
//! machine and the date. Peers run on the same databases in the same run.
//!
//! ```text
//! cargo build --release -p cutover -p cutover-bench
//! target/release/cutover-bench schema-engine [--tables 5000] [--runs 3] [--migra PATH] [--write docs/benchmarks.md]
//! target/release/cutover-bench agent-latency [--deliveries 100] [--write docs/benchmarks.md]
//! target/release/cutover-bench lint [--statements 20000] [--short 200000] [--squawk PATH] [--write docs/benchmarks.md]
//! target/release/cutover-bench backfill [--rows 10000000] [--rate 300] [--connections 4] [--no-load] [--write docs/benchmarks.md]
//! ```
//!
//! The database server is `CUTOVER_BENCH_DATABASE_URL`, or the one the tests use; `backfill`
//! starts its own throwaway server (or takes `--database URL`).

mod agent_latency;
mod backfill_bench;
mod lint_bench;
mod load;
mod measure;
mod report;
mod rollout_latency;
mod schema_engine;
mod server;

use std::process::ExitCode;

// The same allocator as the `cutover` binary, so that in-process timings (`diff()`,
// `plan_diff()`, the agent's loops) measure what the product runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("measure") => measure::child_main(&args[1..]),
        Some("schema-engine") => schema_engine::main(&args[1..]),
        Some("agent-latency") => agent_latency::main(&args[1..]),
        Some("lint") => lint_bench::main(&args[1..]),
        Some("backfill") => backfill_bench::main(&args[1..]),
        Some("rollout-latency") => rollout_latency::main(&args[1..]),
        _ => Err(anyhow::anyhow!(
            "usage: cutover-bench schema-engine [--tables N] [--runs N] [--migra PATH] [--write FILE]\n       cutover-bench agent-latency [--deliveries N] [--write FILE]\n       cutover-bench lint [--statements N] [--short N] [--runs N] [--squawk PATH] [--write FILE]\n       cutover-bench backfill [--rows N] [--rate N] [--connections N] [--insert-percent N] [--no-load] [--database URL] [--write FILE]\n       cutover-bench rollout-latency [--runs N] [--rows N] [--write FILE]"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
