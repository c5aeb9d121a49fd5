//! `cutover-bench`: performance measurements, written to docs/benchmarks.md with the
//! machine and the date. Peers run on the same databases in the same run.
//!
//! ```text
//! cargo build --release -p cutover -p cutover-bench
//! target/release/cutover-bench schema-engine [--tables 5000] [--runs 3] [--migra PATH] [--write docs/benchmarks.md]
//! target/release/cutover-bench agent-latency [--deliveries 100] [--write docs/benchmarks.md]
//! target/release/cutover-bench lint [--statements 20000] [--squawk PATH] [--write docs/benchmarks.md]
//! ```
//!
//! The database server is `CUTOVER_BENCH_DATABASE_URL`, or the one the tests use.

mod agent_latency;
mod lint_bench;
mod measure;
mod report;
mod schema_engine;

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
        _ => Err(anyhow::anyhow!(
            "usage: cutover-bench schema-engine [--tables N] [--runs N] [--migra PATH] [--write FILE]\n       cutover-bench agent-latency [--deliveries N] [--write FILE]\n       cutover-bench lint [--statements N] [--runs N] [--squawk PATH] [--write FILE]"
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
