//! `cutover apply`: runs a plan on a live database, resumably (see
//! `cutover_db_postgres::apply`). Exit 0 when every selected step is done, 1 when a step
//! failed (its state says so; running the command again resumes), 2 when the run was refused
//! or could not start, or lost its connection (running the command again resumes).

use super::Outcome;
use super::backfill::Bar;
use crate::cli::ApplyArgs;
use anyhow::{Context, bail};
use cutover_db_postgres::apply::{self, ApplyError, Config, Event, LockRetry, PlanFile};
use cutover_db_postgres::backfill::Event as BackfillEvent;
use cutover_db_postgres::connect::Target;
use cutover_plan::planner::{Effect, PhaseName, Plan};
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

pub async fn run(args: ApplyArgs) -> anyhow::Result<Outcome> {
    let mut backfill = super::backfill::options(&args.tuning)?;
    let draw = Bar::wanted(false);
    if draw {
        // A backfill step's bar follows every batch; it redraws at its own pace.
        backfill.progress_every = 1;
    }
    let bytes =
        std::fs::read(&args.plan).with_context(|| format!("could not read the plan {}", args.plan.display()))?;
    let plan: Plan = serde_json::from_slice(&bytes).with_context(|| {
        format!("{} is not a plan (the JSON that `cutover plan --format json` writes)", args.plan.display())
    })?;
    let checksum = apply::checksum(&bytes);
    let file = PlanFile { plan: &plan, checksum: &checksum };
    let target = Target::parse(&args.database).context("invalid --database")?;
    let phases: Vec<PhaseName> = args.phases.iter().filter_map(|p| PhaseName::parse(p)).collect();
    if args.dry_run {
        return dry_run(&target, file, &phases).await;
    }
    let runs_contract =
        plan.phase(PhaseName::Contract).is_some() && (phases.is_empty() || phases.contains(&PhaseName::Contract));
    if runs_contract && !args.yes {
        confirm_contract()?;
    }
    let config = Config {
        phases,
        retry: LockRetry {
            tries: args.lock_retries,
            first_wait: Duration::from_millis(args.lock_retry_wait_ms),
            ..LockRetry::default()
        },
        client_host: host_name(),
        cutover_version: env!("CARGO_PKG_VERSION").to_string(),
        backfill,
    };
    println!("applying plan {} to {}", &checksum[..12], target.display);
    let mut stdout = std::io::stdout();
    let mut bar: Option<Bar> = None;
    let mut progress = |event: Event<'_>| {
        if draw {
            // On a terminal a backfill step draws a bar on the lines below its own.
            match &event {
                Event::Backfill(BackfillEvent::Started { progress, .. }) => {
                    let _ = stdout.write_all(b"\n");
                    bar = Some(Bar::start("  backfill".to_string(), progress));
                    return;
                }
                Event::Backfill(BackfillEvent::Batch(p)) => {
                    if let Some(b) = &mut bar {
                        b.update(p);
                    }
                    return;
                }
                Event::Backfill(BackfillEvent::Waiting { reason, .. }) => {
                    if let Some(b) = &bar {
                        b.waiting(&reason.to_string());
                    }
                    return;
                }
                Event::Done { .. } => {
                    if let Some(b) = bar.take() {
                        b.finish();
                        let _ = stdout.write_all(b" ");
                    }
                }
                _ => {}
            }
        }
        let text = match event {
            Event::Step { at, sql } => format!(
                "phase {}/{} {}, step {}/{}: {} ...",
                at.phase_number,
                at.phase_count,
                at.phase,
                at.step_number,
                at.step_count,
                cutover_db_postgres::execute::first_line(sql)
            ),
            Event::AlreadyDone => " already done\n".to_string(),
            Event::DroppedInvalidIndex(name) => format!(" dropped the INVALID index {name} an earlier try left ..."),
            Event::IndexAlreadyBuilt(name) => format!(" {name} was built by an earlier run ..."),
            Event::AlreadyApplied(effect) => match effect {
                Effect::DropIndex { index } => format!(" {index} was dropped by an earlier run ..."),
                Effect::DetachPartition { parent, partition } => {
                    format!(" {partition} was detached from {parent} by an earlier run ...")
                }
                Effect::AddEnumValue { type_name, value } => {
                    format!(" {type_name} has the value '{value}': an earlier run added it ...")
                }
            },
            Event::Interrupted(effect) => match effect {
                Effect::DropIndex { index } => {
                    format!(" {index} is INVALID: an earlier run's drop was interrupted; dropping it again ...")
                }
                Effect::DetachPartition { parent, partition } => format!(
                    " the detach of {partition} from {parent} an earlier run began is pending; finishing it (FINALIZE) ..."
                ),
                Effect::AddEnumValue { type_name, value } => {
                    format!(" adding '{value}' to {type_name} again ...")
                }
            },
            Event::LockRetry { tried, tries, lock_timeout_ms, wait } => format!(
                " lock_timeout ({lock_timeout_ms} ms) expired on try {tried}/{tries}, next try in {:.1} s ...",
                wait.as_secs_f64()
            ),
            Event::Backfill(BackfillEvent::Batch(p)) => format!(" {} ...", super::backfill::describe_progress(p)),
            Event::Backfill(BackfillEvent::StatementTimeout { rows, next, statement_timeout_ms }) => format!(
                " a batch of {rows} rows ran past its statement_timeout ({statement_timeout_ms} ms), next batch {next} rows ..."
            ),
            Event::Backfill(_) => return,
            Event::Done { elapsed, rows, batches, backfill: true } => {
                format!(" done in {:.1} s ({rows} rows in {batches} batches)\n", elapsed.as_secs_f64())
            }
            Event::Done { elapsed, .. } => format!(" done in {:.1} s\n", elapsed.as_secs_f64()),
        };
        if let Some(b) = &bar {
            b.println(text.trim());
            return;
        }
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    };
    let result = apply::apply(&target, file, &config, &mut progress).await;
    if let Some(b) = bar.take() {
        b.finish();
    }
    match result {
        Ok(report) => {
            println!(
                "done: {} step(s) run, {} already done, in {} phase(s), {:.1} s",
                report.ran,
                report.skipped,
                report.phases,
                report.elapsed.as_secs_f64()
            );
            Ok(Outcome::Success)
        }
        Err(e) if e.is_step_failure() => {
            println!(" failed");
            eprintln!("error: {e}");
            Ok(Outcome::Findings)
        }
        Err(e @ ApplyError::Database(_)) => Err(anyhow::Error::new(e).context("apply stopped")),
        Err(e) => Err(e.into()),
    }
}

async fn dry_run(target: &Target, file: PlanFile<'_>, phases: &[PhaseName]) -> anyhow::Result<Outcome> {
    let found = apply::dry_run(target, file, phases).await?;
    let mut out = String::new();
    out.push_str(&format!(
        "dry run of plan {} on {}: nothing is run or created\n",
        &file.checksum[..12],
        target.display
    ));
    if !found.state_exists {
        out.push_str("the database has no cutover schema yet: no step of any plan has run\n");
    }
    for holder in &found.running {
        out.push_str(&format!(
            "a run is in progress: pid {} (application_name '{}', client {}) holds the runner lock\n",
            holder.pid, holder.application_name, holder.client
        ));
    }
    let count = file.plan.phases.len();
    let (mut done, mut total) = (0, 0);
    for (number, phase, states) in &found.phases {
        for (i, (step, state)) in phase.steps.iter().zip(states).enumerate() {
            total += 1;
            if *state == apply::State::Done {
                done += 1;
            }
            out.push_str(&format!(
                "phase {number}/{count} {}, step {}/{}: {}\n",
                phase.name,
                i + 1,
                phase.steps.len(),
                state.as_str()
            ));
            for line in step.sql.lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    out.push_str(&format!("{total} step(s): {done} done, {} to run\n", total - done));
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    if let Some(refusal) = found.refusal {
        bail!("apply would refuse: {refusal}");
    }
    Ok(Outcome::Success)
}

/// The contract phase removes what the previous application version used: a person types
/// the phase's name, or passes --yes.
fn confirm_contract() -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "the contract phase needs --yes: there is no terminal to confirm it on (it removes what the previous application version used)"
        );
    }
    eprint!(
        "The contract phase removes what the previous application version used; make sure none of it runs any more.\nType `contract` to run it: "
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).context("could not read the confirmation")?;
    if answer.trim() != "contract" {
        bail!("not confirmed: nothing was run");
    }
    Ok(())
}

/// This machine's name, for `cutover.runs` (who ran it).
pub(crate) fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}
