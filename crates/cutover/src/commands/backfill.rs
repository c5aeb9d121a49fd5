//! `cutover backfill run|status|pause|resume|cancel`: the backfill engine
//! (`cutover_db_postgres::backfill`) from a terminal. `run` exits 0 when every selected
//! backfill is done, 1 when one was cancelled or failed (its cursor is kept: running again
//! resumes), 2 when it could not start. The others exit 0, or 2 when no backfill matches.

use super::Outcome;
use crate::cli::{BackfillAction, BackfillArgs, BackfillFormat, BackfillTuning};
use anyhow::{Context, bail};
use cutover_db_postgres::apply::{self, PlanFile};
use cutover_db_postgres::backfill::control::Limits;
use cutover_db_postgres::backfill::{
    self, BackfillError, Control, Event, Options, Outcome as Finished, Progress, Status, StepRef,
};
use cutover_db_postgres::connect::Target;
use cutover_plan::planner::{Plan, thousands};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use std::io::{IsTerminal, Write};
use std::time::Duration;

pub async fn run(args: BackfillArgs) -> anyhow::Result<Outcome> {
    let target = Target::parse(&args.database).context("invalid --database")?;
    let plan = match &args.plan {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("could not read the plan {}", path.display()))?;
            let plan: Plan = serde_json::from_slice(&bytes).with_context(|| {
                format!("{} is not a plan (the JSON that `cutover plan --format json` writes)", path.display())
            })?;
            Some((plan, apply::checksum(&bytes)))
        }
        None => None,
    };
    match args.action {
        BackfillAction::Run => {
            let Some((plan, checksum)) = &plan else {
                bail!("cutover backfill run needs --plan PLAN.json (the plan whose backfills to run)");
            };
            run_backfills(&args, &target, PlanFile { plan, checksum }).await
        }
        BackfillAction::Status => status(&args, &target, plan.as_ref().map(|p| p.1.as_str())).await,
        BackfillAction::Pause => control(&args, &target, Control::Pause, plan.as_ref().map(|p| p.1.as_str())).await,
        BackfillAction::Resume => control(&args, &target, Control::Resume, plan.as_ref().map(|p| p.1.as_str())).await,
        BackfillAction::Cancel => control(&args, &target, Control::Cancel, plan.as_ref().map(|p| p.1.as_str())).await,
    }
}

/// The engine's options from its flags (shared by `backfill run` and `apply`).
pub fn options(args: &BackfillTuning) -> anyhow::Result<Options> {
    if args.min_batch > args.max_batch {
        bail!("--min-batch ({}) is larger than --max-batch ({})", args.min_batch, args.max_batch);
    }
    Ok(Options {
        limits: Limits {
            target: Duration::from_millis(args.target_batch_ms),
            min_batch: args.min_batch,
            max_batch: args.max_batch,
            max_replica_lag: (args.max_replica_lag_ms > 0).then(|| Duration::from_millis(args.max_replica_lag_ms)),
            max_transaction_age: args.max_transaction_age_s.map(Duration::from_secs),
            max_lock_timeouts: args.max_lock_timeouts,
            max_writer_wait: (args.max_writer_wait_ms > 0).then(|| Duration::from_millis(args.max_writer_wait_ms)),
            ..Limits::default()
        },
        wait_query: args.wait_query.clone(),
        lock_timeout_ms: args.lock_timeout_ms,
        statement_timeout_ms: args.statement_timeout_ms,
        progress_every: args.progress_every,
        ..Options::default()
    })
}

/// `12,000 of ~50,000 rows (24%), 8,000 rows/s, ETA 5 s, batch 5,000`.
pub fn describe_progress(p: &Progress) -> String {
    let mut out = match p.rows_total_estimate {
        Some(total) if total > 0 => format!(
            "{} of ~{} rows ({}%)",
            thousands(p.rows_done),
            thousands(total),
            (p.rows_done.saturating_mul(100) / total).min(100)
        ),
        _ => format!("{} rows", thousands(p.rows_done)),
    };
    if let Some(rate) = p.rate {
        out.push_str(&format!(", {} rows/s", thousands(rate.round() as u64)));
    }
    if let Some(eta) = p.eta_s {
        out.push_str(&format!(", ETA {}", eta_text(eta)));
    }
    out.push_str(&format!(", batch {}", thousands(p.batch_size)));
    if p.lock_timeouts > 0 {
        out.push_str(&format!(", {} lock timeout(s)", p.lock_timeouts));
    }
    out
}

/// What the bar says next to itself: the progress, and why the engine waits when it does.
pub fn bar_message(p: &Progress, waiting: Option<&str>) -> String {
    match waiting {
        Some(reason) => format!("{}; waiting: {reason}", describe_progress(p)),
        None => describe_progress(p),
    }
}

/// A backfill's progress on a terminal: rows done against the table's estimate (a spinner
/// when there is none), with the rate, the ETA and the batch size from the engine (its rate
/// leaves pauses out), and the reason while it waits. Other lines print above it.
pub struct Bar {
    bar: ProgressBar,
    last: Progress,
}

impl Bar {
    /// Whether progress is drawn as a bar: human output to a terminal.
    pub fn wanted(json: bool) -> bool {
        !json && std::io::stdout().is_terminal()
    }

    pub fn start(label: String, progress: &Progress) -> Bar {
        let (bar, template) = match progress.rows_total_estimate {
            Some(total) if total > 0 => {
                (ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stdout()), "{prefix} [{bar:24}] {msg}")
            }
            _ => (ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout()), "{prefix} {spinner} {msg}"),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(label);
        bar.enable_steady_tick(Duration::from_millis(250));
        let out = Bar { bar, last: progress.clone() };
        out.progress(progress);
        out
    }

    pub fn progress(&self, p: &Progress) {
        if let Some(total) = p.rows_total_estimate.filter(|t| *t > 0) {
            self.bar.set_length(total);
        }
        self.bar.set_position(p.rows_done);
        self.bar.set_message(bar_message(p, None));
    }

    pub fn update(&mut self, p: &Progress) {
        self.last = p.clone();
        self.progress(p);
    }

    pub fn waiting(&self, reason: &str) {
        self.bar.set_message(bar_message(&self.last, Some(reason)));
    }

    /// A line above the bar.
    pub fn println(&self, line: &str) {
        self.bar.println(line);
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}

fn eta_text(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..=99 => format!("{s} s"),
        100..=5999 => format!("{} min", s.div_ceil(60)),
        _ => format!("{:.1} h", seconds / 3600.0),
    }
}

fn progress_json(p: &Progress) -> Value {
    json!({
        "rows_done": p.rows_done,
        "rows_updated": p.rows_updated,
        "rows_total_estimate": p.rows_total_estimate,
        "rate": p.rate.map(|r| (r * 10.0).round() / 10.0),
        "eta_s": p.eta_s.map(|e| (e * 10.0).round() / 10.0),
        "batch_size": p.batch_size,
        "batches": p.batches,
        "lock_timeouts": p.lock_timeouts,
    })
}

/// One JSON object per line: `{"event": ..., "step": ..., "table": ..., <progress>}`.
fn json_line(event: &str, at: &StepRef<'_>, progress: Option<&Progress>, extra: Value) -> String {
    let mut object = json!({ "event": event, "step": at.id(), "table": at.table(), "column": at.spec.column });
    if let (Some(p), Value::Object(o)) = (progress, &mut object)
        && let Value::Object(fields) = progress_json(p)
    {
        o.extend(fields);
    }
    if let (Value::Object(o), Value::Object(fields)) = (&mut object, extra) {
        o.extend(fields);
    }
    object.to_string()
}

async fn run_backfills(args: &BackfillArgs, target: &Target, plan: PlanFile<'_>) -> anyhow::Result<Outcome> {
    let mut options = options(&args.tuning)?;
    let json = args.format == BackfillFormat::Json;
    let draw = Bar::wanted(json);
    if draw {
        // The bar follows every batch; it redraws at its own pace.
        options.progress_every = 1;
    }
    let mut bar: Option<Bar> = None;
    let mut stdout = std::io::stdout();
    let mut last_wait: Option<String> = None;
    let mut events = |at: &StepRef<'_>, event: Event<'_>| {
        if draw {
            match &event {
                Event::Started { progress, .. } => {
                    if let Some(done) = bar.take() {
                        done.finish();
                    }
                    let label = format!("backfill {} of {} ({})", at.id(), at.table(), at.spec.column);
                    bar = Some(Bar::start(label, progress));
                }
                Event::Batch(p) => {
                    if let Some(b) = &mut bar {
                        b.update(p);
                        return;
                    }
                }
                Event::Waiting { reason, .. } => {
                    if let Some(b) = &bar {
                        b.waiting(&reason.to_string());
                        return;
                    }
                }
                _ => {}
            }
        }
        let line = match (event, json) {
            (Event::Started { resumed, progress }, false) => {
                last_wait = None;
                format!(
                    "backfill {} of {} ({}): {}{}",
                    at.id(),
                    at.table(),
                    at.spec.column,
                    if resumed { "resuming at " } else { "starting, " },
                    describe_progress(progress)
                )
            }
            (Event::Started { resumed, progress }, true) => {
                json_line("started", at, Some(progress), json!({ "resumed": resumed }))
            }
            (Event::Batch(p), false) => {
                last_wait = None;
                format!("  {}", describe_progress(p))
            }
            (Event::Batch(p), true) => json_line("progress", at, Some(p), json!({})),
            (Event::Waiting { reason, wait }, false) => {
                let text = reason.to_string();
                if last_wait.as_deref() == Some(text.as_str()) {
                    return;
                }
                last_wait = Some(text.clone());
                format!("  waiting: {text} (next look in {:.1} s)", wait.as_secs_f64())
            }
            (Event::Waiting { reason, wait }, true) => {
                json_line("waiting", at, None, json!({ "reason": reason.to_string(), "wait_s": wait.as_secs_f64() }))
            }
            (Event::Paused, false) => "  paused: waiting for `cutover backfill resume` (or `cancel`)".to_string(),
            (Event::Paused, true) => json_line("paused", at, None, json!({})),
            (Event::Resumed, false) => {
                last_wait = None;
                "  resumed".to_string()
            }
            (Event::Resumed, true) => json_line("resumed", at, None, json!({})),
            (Event::Reconnecting { attempt, error }, false) => {
                last_wait = None;
                format!("  connection lost ({error}); connecting again (try {attempt})")
            }
            (Event::WritersWaited { writers, longest, target, next }, false) => {
                // Said again only when the aim changes.
                let key = format!("writers waited: {}", target.as_millis());
                if last_wait.as_deref() == Some(key.as_str()) {
                    return;
                }
                last_wait = Some(key);
                format!(
                    "  slower: {writers} write(s) waited up to {} ms on the batch's row locks; batches now aim at {} ms (next {} rows)",
                    longest.as_millis(),
                    target.as_millis(),
                    thousands(next)
                )
            }
            (Event::WritersWaited { writers, longest, target, next }, true) => json_line(
                "writers_waited",
                at,
                None,
                json!({ "writers": writers, "longest_wait_ms": longest.as_millis() as u64, "target_batch_ms": target.as_millis() as u64, "batch_size": next }),
            ),
            (Event::StatementTimeout { rows, next, statement_timeout_ms }, false) => {
                last_wait = None;
                format!(
                    "  a batch of {} rows ran past its statement_timeout ({statement_timeout_ms} ms) and was rolled back; next batch {} rows",
                    thousands(rows),
                    thousands(next)
                )
            }
            (Event::StatementTimeout { rows, next, statement_timeout_ms }, true) => json_line(
                "statement_timeout",
                at,
                None,
                json!({ "rows": rows, "batch_size": next, "statement_timeout_ms": statement_timeout_ms }),
            ),
            (Event::Reconnecting { attempt, error }, true) => {
                json_line("reconnecting", at, None, json!({ "attempt": attempt, "error": error }))
            }
        };
        if let Some(b) = &bar {
            b.println(&line);
            return;
        }
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    };
    let result = backfill::run_plan(target, plan, args.step, &options, &mut events).await;
    if let Some(b) = bar.take() {
        b.finish();
    }
    match result {
        Ok(outcomes) => {
            let steps = backfill::select(plan.plan, plan.checksum, args.step)?;
            let mut result = Outcome::Success;
            for (id, outcome) in &outcomes {
                let Some(at) = steps.iter().find(|s| &s.id() == id) else { continue };
                match outcome {
                    Finished::Done(p) => {
                        let line = if json {
                            json_line("done", at, Some(p), json!({}))
                        } else {
                            format!(
                                "backfill {id} of {} done: {} rows passed, {} changed, in {} batches",
                                at.table(),
                                thousands(p.rows_done),
                                thousands(p.rows_updated),
                                thousands(p.batches)
                            )
                        };
                        println!("{line}");
                    }
                    Finished::Cancelled(p) => {
                        if json {
                            println!("{}", json_line("cancelled", at, Some(p), json!({})));
                        }
                        eprintln!(
                            "error: backfill {id} of {} was cancelled at {} rows; `cutover backfill resume` lets it run again",
                            at.table(),
                            thousands(p.rows_done)
                        );
                        result = Outcome::Findings;
                    }
                }
            }
            Ok(result)
        }
        Err(
            e @ (BackfillError::Batch { .. }
            | BackfillError::LockTimeouts { .. }
            | BackfillError::StatementTimeout { .. }),
        ) => {
            eprintln!("error: {e}");
            Ok(Outcome::Findings)
        }
        Err(e) => Err(anyhow::Error::new(e).context("backfill stopped")),
    }
}

fn status_json(s: &Status) -> Value {
    let mut object = json!({
        "plan_checksum": s.plan_checksum,
        "step": s.step,
        "table": s.table,
        "column": s.column,
        "state": s.state,
        "pass": s.pass,
        "cursor": serde_json::from_str::<Value>(&s.cursor).unwrap_or(Value::Null),
        "updated_at": s.updated_at,
    });
    if let (Value::Object(o), Value::Object(fields)) = (&mut object, progress_json(&s.progress)) {
        o.extend(fields);
    }
    object
}

async fn status(args: &BackfillArgs, target: &Target, checksum: Option<&str>) -> anyhow::Result<Outcome> {
    let client = target.connect().await?;
    let found = backfill::status(&client, checksum, args.step).await?;
    let mut out = String::new();
    if args.format == BackfillFormat::Json {
        out.push_str(&json!({ "backfills": found.iter().map(status_json).collect::<Vec<_>>() }).to_string());
        out.push('\n');
    } else if found.is_empty() {
        out.push_str("no backfill has run on this database");
        if checksum.is_some() || args.step.is_some() {
            out.push_str(" for this plan or step");
        }
        out.push('\n');
    } else {
        for s in &found {
            out.push_str(&format!(
                "{} {}.{} {}: {} (plan {}, updated {})\n",
                s.step,
                s.table,
                s.column,
                s.state,
                describe_progress(&s.progress),
                &s.plan_checksum[..s.plan_checksum.len().min(12)],
                s.updated_at
            ));
        }
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(Outcome::Success)
}

async fn control(
    args: &BackfillArgs,
    target: &Target,
    action: Control,
    checksum: Option<&str>,
) -> anyhow::Result<Outcome> {
    let client = target.connect().await?;
    let changed = backfill::control(&client, action, checksum, args.step).await?;
    let verb = match action {
        Control::Pause => "paused",
        Control::Resume => "resumed",
        Control::Cancel => "cancelled",
    };
    if changed.is_empty() {
        let found = backfill::status(&client, checksum, args.step).await?;
        if found.is_empty() {
            bail!("no backfill matches: none has started on this database for this plan or step");
        }
        let states: Vec<String> = found.iter().map(|s| format!("{} is {}", s.step, s.state)).collect();
        let line = format!("nothing to change: {}", states.join(", "));
        if args.format == BackfillFormat::Json {
            println!("{}", json!({ "changed": [], "message": line }));
        } else {
            println!("{line}");
        }
        return Ok(Outcome::Success);
    }
    if args.format == BackfillFormat::Json {
        let list: Vec<Value> = changed
            .iter()
            .map(|c| json!({ "plan_checksum": c.plan_checksum, "step": c.step.to_string(), "table": c.table, "state": verb }))
            .collect();
        println!("{}", json!({ "changed": list }));
    } else {
        for c in &changed {
            println!(
                "{verb} backfill {} of {} (plan {}){}",
                c.step,
                c.table,
                &c.plan_checksum[..c.plan_checksum.len().min(12)],
                match action {
                    Control::Pause => ": its runner waits before its next batch",
                    Control::Resume => ": its runner (or the next `cutover backfill run`) carries on",
                    Control::Cancel => ": its runner stops before its next batch",
                }
            );
        }
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_says_the_numbers_and_why_it_waits() {
        let p = Progress {
            rows_done: 12_000,
            rows_updated: 11_000,
            rows_total_estimate: Some(50_000),
            batches: 3,
            batch_size: 5000,
            rate: Some(8000.0),
            eta_s: Some(4.75),
            lock_timeouts: 0,
        };
        assert_eq!(bar_message(&p, None), "12,000 of ~50,000 rows (24%), 8,000 rows/s, ETA 5 s, batch 5,000");
        assert_eq!(
            bar_message(&p, Some("a replica is 12.0 s behind (more than 10.0 s)")),
            "12,000 of ~50,000 rows (24%), 8,000 rows/s, ETA 5 s, batch 5,000; waiting: a replica is 12.0 s behind (more than 10.0 s)"
        );
    }
}
