//! Wall time and peak memory of one command.
//!
//! Peak memory is the maximum resident set size of the measured process. It is read with
//! `getrusage(RUSAGE_CHILDREN)` in a small wrapper process (this binary, re-executed) that
//! has that one child, so runs never see each other's peaks.

use anyhow::{Context, bail};
use std::process::{Command, Stdio};
use std::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub wall_ms: f64,
    pub max_rss_kb: i64,
}

/// Runs `program args...` with stdout written to `stdout_path`, measured in a wrapper;
/// exit codes other than those in `ok_codes` are failures.
pub fn run(stdout_path: &str, ok_codes: &[i32], program: &str, args: &[String]) -> anyhow::Result<Sample> {
    let me = std::env::current_exe()?;
    let codes: Vec<String> = ok_codes.iter().map(i32::to_string).collect();
    let out = Command::new(me)
        .arg("measure")
        .arg(stdout_path)
        .arg(codes.join(","))
        .arg("--")
        .arg(program)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        bail!("{program} failed ({})", out.status);
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("reading the measurement")?;
    Ok(Sample {
        wall_ms: v["wall_ms"].as_f64().unwrap_or_default(),
        max_rss_kb: v["max_rss_kb"].as_i64().unwrap_or_default(),
    })
}

/// The wrapper: `measure OUTFILE OK_CODES -- PROGRAM ARGS...`; prints one JSON object.
pub fn child_main(args: &[String]) -> anyhow::Result<()> {
    let [outfile, ok_codes, sep, program, rest @ ..] = args else {
        bail!("usage: measure OUTFILE OK_CODES -- PROGRAM ARGS...")
    };
    let ok_codes: Vec<i32> = ok_codes.split(',').filter_map(|c| c.parse().ok()).collect();
    if sep != "--" {
        bail!("usage: measure OUTFILE -- PROGRAM ARGS...");
    }
    let stdout = std::fs::File::create(outfile)?;
    let started = Instant::now();
    let status =
        Command::new(program).args(rest).stdout(stdout).status().with_context(|| format!("starting {program}"))?;
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    if !status.code().is_some_and(|c| ok_codes.contains(&c)) {
        bail!("{program} exited with {status}");
    }
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)?;
    println!("{}", serde_json::json!({ "wall_ms": wall_ms, "max_rss_kb": usage.max_rss() }));
    Ok(())
}

pub fn median(samples: &mut [Sample]) -> Sample {
    samples.sort_by(|a, b| a.wall_ms.total_cmp(&b.wall_ms));
    samples[samples.len() / 2]
}
