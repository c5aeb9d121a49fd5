//! `cutover apply`: runs a plan on a live database, resumably (see
//! `cutover_db_postgres::apply`). Exit 0 when every selected step is done, 1 when a step
//! failed (its state says so; running the command again resumes), 2 when the run was refused
//! or could not start, or lost its connection (running the command again resumes).
//!
//! With `--rollback --phase NAME` it undoes that phase instead
//! (`cutover_db_postgres::apply::rollback`), with the same exit codes.

use super::Outcome;
use super::backfill::Bar;
use crate::cli::ApplyArgs;
use anyhow::{Context, bail};
use cutover_db_postgres::apply::{self, ApplyError, Config, Event, LockRetry, PlanFile, Unapplied, Undo};
use cutover_db_postgres::backfill::Event as BackfillEvent;
use cutover_db_postgres::connect::Target;
use cutover_plan::planner::{Effect, PhaseName, Plan};
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

pub async fn run(args: ApplyArgs) -> anyhow::Result<Outcome> {
    if args.rollback && args.phases.len() != 1 {
        bail!(
            "--rollback undoes one phase: give exactly one --phase (the phase to roll back), not {}",
            if args.phases.is_empty() { "none".to_string() } else { args.phases.join(" and ") }
        );
    }
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
    if args.rollback && args.dry_run {
        return rollback_dry_run(&target, file, phases[0]).await;
    }
    if args.dry_run {
        return dry_run(&target, file, &phases).await;
    }
    let runs_contract =
        plan.phase(PhaseName::Contract).is_some() && (phases.is_empty() || phases.contains(&PhaseName::Contract));
    if args.rollback && !args.yes {
        confirm(&Confirmation {
            what: &format!("the rollback of the {} phase", phases[0]),
            why: "it undoes what the phase changed",
            prompt: &format!(
                "Rolling back the {} phase runs the rollback statements of its steps that ran, last step first (what they drop is lost); make sure the application deployed now does not rely on what the phase changed.",
                phases[0]
            ),
            word: "rollback",
        })?;
    } else if runs_contract && !args.yes {
        confirm(&CONTRACT)?;
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
    if args.rollback {
        return rollback(&target, file, &config, config.phases[0]).await;
    }
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
        let Some(text) = describe(event) else { return };
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
        Err(e) => stopped(e),
    }
}

/// How a run that did not finish ends: exit 1 when a step failed, 2 otherwise.
fn stopped(e: ApplyError) -> anyhow::Result<Outcome> {
    match e {
        e if e.is_step_failure() => {
            println!(" failed");
            eprintln!("error: {e}");
            Ok(Outcome::Findings)
        }
        e @ ApplyError::Database(_) => Err(anyhow::Error::new(e).context("apply stopped")),
        e => Err(e.into()),
    }
}

/// `--rollback`: undoes one phase, printing a line per step, last step first.
async fn rollback(target: &Target, file: PlanFile<'_>, config: &Config, phase: PhaseName) -> anyhow::Result<Outcome> {
    println!("rolling back the {phase} phase of plan {} on {}", &file.checksum[..12], target.display);
    let mut stdout = std::io::stdout();
    let mut progress = |event: Event<'_>| {
        let text = match event {
            Event::Done { elapsed, .. } => format!(" undone in {:.1} s, pending again\n", elapsed.as_secs_f64()),
            other => match describe(other) {
                Some(text) => text,
                None => return,
            },
        };
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    };
    match apply::rollback(target, file, config, phase, &mut progress).await {
        Ok(report) => {
            println!(
                "rolled back: {} step(s) undone, {} not run, in {:.1} s; `cutover apply --phase {phase}` runs the phase again",
                report.ran,
                report.skipped,
                report.elapsed.as_secs_f64()
            );
            Ok(Outcome::Success)
        }
        Err(e) => stopped(e),
    }
}

/// `--rollback --dry-run`: each step's state and what would undo it, in the order the
/// rollback goes (last step first).
async fn rollback_dry_run(target: &Target, file: PlanFile<'_>, phase: PhaseName) -> anyhow::Result<Outcome> {
    let found = apply::rollback_dry_run(target, file, phase).await?;
    let mut out = format!(
        "dry run of the rollback of the {phase} phase of plan {} on {}: nothing is run or changed\n",
        &file.checksum[..12],
        target.display
    );
    if !found.state_exists {
        out.push_str("the database has no cutover schema yet: no step of any plan has run\n");
    }
    for holder in &found.running {
        out.push_str(&format!(
            "a run is in progress: pid {} (application_name '{}', client {}) holds the runner lock\n",
            holder.pid, holder.application_name, holder.client
        ));
    }
    let (count, steps) = (file.plan.phases.len(), found.phase.steps.len());
    let mut undone = 0;
    for (i, (state, undo)) in found.steps.iter().enumerate().rev() {
        let what = match undo {
            Ok(Undo::Skip) => "nothing to undo".to_string(),
            Ok(Undo::Run(_)) => "would run".to_string(),
            Ok(Undo::Reset(Unapplied::RolledBack)) => {
                "nothing of it is in the database (its transaction rolled back): would be marked pending".to_string()
            }
            Ok(Undo::Reset(Unapplied::NotInCatalog)) => {
                "its change is not in the catalog: would be marked pending".to_string()
            }
            Ok(Undo::Reset(Unapplied::NothingToUndo)) => {
                "nothing to undo (the plan gives it no rollback): would be marked pending".to_string()
            }
            Ok(Undo::ResetBackfill) => {
                "the backfill's state would be reset (the values it wrote stay) and the step marked pending".to_string()
            }
            Err(why) => format!("cannot be undone: {why}"),
        };
        if !matches!(undo, Ok(Undo::Skip)) {
            undone += 1;
        }
        out.push_str(&format!(
            "phase {}/{count} {phase}, step {}/{steps}: {}, {what}\n",
            found.number,
            i + 1,
            state.as_str()
        ));
        if let Ok(Undo::Run(sql)) = undo {
            for line in sql.lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    out.push_str(&format!("{steps} step(s): {undone} to undo, {} pending\n", steps - undone));
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    if let Some(refusal) = found.refusal {
        bail!("the rollback would refuse: {refusal}");
    }
    Ok(Outcome::Success)
}

/// A progress event as a piece of the output line (None: not shown).
fn describe(event: Event<'_>) -> Option<String> {
    Some(match event {
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
        Event::Backfill(_) => return None,
        Event::Done { elapsed, rows, batches, backfill: true } => {
            format!(" done in {:.1} s ({rows} rows in {batches} batches)\n", elapsed.as_secs_f64())
        }
        Event::Done { elapsed, .. } => format!(" done in {:.1} s\n", elapsed.as_secs_f64()),
        Event::NotApplied => " pending: nothing to undo\n".to_string(),
        Event::Reset(Unapplied::RolledBack) => {
            " nothing of it is in the database (its transaction rolled back): pending again\n".to_string()
        }
        Event::Reset(Unapplied::NotInCatalog) => " its change is not in the catalog: pending again\n".to_string(),
        Event::Reset(Unapplied::NothingToUndo) => {
            " nothing to undo (the plan gives it no rollback): pending again\n".to_string()
        }
        Event::BackfillReset { rows_updated } => {
            format!(" the backfill's state is reset ({rows_updated} rows it filled keep their values): pending again\n")
        }
    })
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

/// What a person confirms before a run that removes or undoes something.
struct Confirmation<'a> {
    /// What needs --yes ("the contract phase").
    what: &'a str,
    /// Why, in a clause.
    why: &'a str,
    /// What to make sure of, shown before the question.
    prompt: &'a str,
    /// The word to type.
    word: &'a str,
}

/// The contract phase removes what the previous application version used.
const CONTRACT: Confirmation<'static> = Confirmation {
    what: "the contract phase",
    why: "it removes what the previous application version used",
    prompt: "The contract phase removes what the previous application version used; make sure none of it runs any more.",
    word: "contract",
};

/// A person types the confirmation's word, or passes --yes.
fn confirm(c: &Confirmation<'_>) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!("{} needs --yes: there is no terminal to confirm it on ({})", c.what, c.why);
    }
    eprint!("{}\nType `{}` to run it: ", c.prompt, c.word);
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).context("could not read the confirmation")?;
    if answer.trim() != c.word {
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
