//! From a plan to migrations: which steps go into which migration, what each runs and what
//! undoes it. Formats only render these.

use crate::{Options, Problem};
use cutover_plan::HazardCode;
use cutover_plan::planner::{PhaseName, Plan, Step};

/// How a format can hold transactional and non-transactional statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Splitting {
    /// One migration per phase: the format runs a block of statements outside its
    /// transaction inside one migration (Alembic's `autocommit_block()`).
    Mixed,
    /// The transaction is a property of the whole migration and the tool sends statements one
    /// at a time: a phase is split into runs of steps with the same transactionality.
    ByTransaction,
    /// Like `ByTransaction`, and the tool sends a migration's text as one query string, which
    /// PostgreSQL runs as one implicit transaction: a step that cannot run in a transaction
    /// (CREATE INDEX CONCURRENTLY) must be alone in its migration, with no other statement.
    AloneOutside,
}

/// What undoes an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Down {
    /// Statements to run.
    Sql(String),
    /// The step changes nothing that needs undoing (a validation, a backfill).
    Nothing,
    /// The step cannot be undone; the reason.
    Irreversible(String),
}

/// One step of the plan as a migration runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `expand.1`: the step's phase and position in it, as `cutover apply --step` names it.
    pub label: String,
    pub why: String,
    /// What the migration runs, each a complete statement ending in `;`.
    pub statements: Vec<String>,
    pub lock_timeout_ms: u64,
    pub statement_timeout_ms: u64,
    pub down: Down,
    /// Comment lines for the migration (without the comment marker): the `cutover backfill`
    /// command for a backfill left to the engine.
    pub doc: Vec<String>,
    /// The index a concurrent build makes (for formats that must check it instead).
    pub builds_index: Option<cutover_schema::QualName>,
}

/// One migration: steps of one phase, all inside a transaction or all outside one.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    pub phase: PhaseName,
    /// The migration's name: `eng_123_add_refunds_expand`, `..._switch_2` when a phase is split.
    pub name: String,
    /// For a `Mixed` format, items of both kinds; see [`Item`] and [`Migration::outside`].
    pub transactional: bool,
    pub items: Vec<Item>,
    /// Per item (same order): whether it must run outside a transaction (`Mixed` formats).
    pub outside: Vec<bool>,
}

impl Migration {
    /// The undo statements, newest first; `Err` with the reasons when a step cannot be undone.
    pub fn down(&self) -> Result<Vec<(&Item, &str)>, Vec<String>> {
        let mut out = Vec::new();
        let mut irreversible = Vec::new();
        for item in self.items.iter().rev() {
            match &item.down {
                Down::Sql(sql) => out.push((item, sql.as_str())),
                Down::Nothing => {}
                Down::Irreversible(why) => irreversible.push(format!("{}: {why}", item.label)),
            }
        }
        if irreversible.is_empty() { Ok(out) } else { Err(irreversible) }
    }

    /// Whether the item at `i` runs outside a transaction.
    pub fn is_outside(&self, i: usize) -> bool {
        self.outside.get(i).copied().unwrap_or(!self.transactional)
    }
}

/// `eng_123_add_refunds`, `eng_123`, `add_refunds` or `cutover`.
pub fn base_name(options: &Options) -> Result<String, Problem> {
    let mut parts = Vec::new();
    for given in [&options.issue, &options.name].into_iter().flatten() {
        let slug = slug(given);
        if slug.is_empty() {
            return Err(Problem::BadName { name: given.clone() });
        }
        parts.push(slug);
    }
    Ok(if parts.is_empty() { "cutover".into() } else { parts.join("_") })
}

/// Lowercase ASCII letters and digits separated by single underscores, at most 60 bytes.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut out = out.trim_end_matches('_').to_string();
    if out.len() > 60 {
        out.truncate(60);
        out = out.trim_end_matches('_').to_string();
    }
    out
}

/// The plan's migrations, in order, for a format that splits as `splitting` says.
pub fn migrations(
    plan: &Plan,
    options: &Options,
    splitting: Splitting,
    base: &str,
    notes: &mut Vec<String>,
) -> Vec<Migration> {
    let mut out = Vec::new();
    for phase in &plan.phases {
        let items: Vec<(Item, bool)> =
            phase.steps.iter().enumerate().map(|(i, step)| item(phase.name, i + 1, step, options, notes)).collect();
        // Groups of (items, outside).
        let mut groups: Vec<(Vec<Item>, bool)> = Vec::new();
        for (item, outside) in items {
            let joins = match groups.last() {
                None => false,
                Some(_) if splitting == Splitting::Mixed => true,
                Some((_, last_outside)) if *last_outside != outside => false,
                Some(_) => !(outside && splitting == Splitting::AloneOutside),
            };
            match groups.last_mut() {
                Some(group) if joins => group.0.push(item),
                _ => groups.push((vec![item], outside)),
            }
        }
        let split = groups.len() > 1;
        for (k, (items, outside)) in groups.into_iter().enumerate() {
            let name =
                if split { format!("{base}_{}_{}", phase.name, k + 1) } else { format!("{base}_{}", phase.name) };
            let per_item: Vec<bool> = if splitting == Splitting::Mixed {
                phase.steps.iter().map(|s| !s.transactional).collect()
            } else {
                vec![outside; items.len()]
            };
            out.push(Migration {
                phase: phase.name,
                name,
                transactional: if splitting == Splitting::Mixed { true } else { !outside },
                items,
                outside: per_item,
            });
        }
    }
    out
}

/// One step as a migration runs it, and whether it runs outside a transaction.
fn item(phase: PhaseName, index: usize, step: &Step, options: &Options, notes: &mut Vec<String>) -> (Item, bool) {
    let label = format!("{phase}.{index}");
    let down = match &step.rollback_sql {
        Some(sql) => Down::Sql(terminated(sql)),
        None if step.hazards.iter().any(|h| matches!(h.code, HazardCode::DataLoss | HazardCode::IndexDropped)) => {
            Down::Irreversible("cannot be undone (restore from a backup)".into())
        }
        None if step.hazards.iter().any(|h| h.code == HazardCode::BreaksRunningCode) => {
            Down::Irreversible("no automatic rollback: plan the reverse change from the schema as it is then".into())
        }
        None => Down::Nothing,
    };
    let base = Item {
        label: label.clone(),
        why: step.why.clone(),
        statements: statements(&step.sql),
        lock_timeout_ms: step.lock_timeout_ms,
        statement_timeout_ms: step.statement_timeout_ms,
        down,
        doc: Vec::new(),
        builds_index: step.builds_index.clone(),
    };
    let Some(backfill) = &step.backfill else { return (base, !step.transactional) };
    let rows = step.estimate.as_ref().map(|e| e.rows);
    let large = rows.is_none_or(|r| r > options.backfill_threshold_rows);
    let plan_path = options.plan_path.as_deref().unwrap_or("PLAN.json");
    if large {
        let size = match rows {
            Some(r) => format!("about {r} rows"),
            None => "of unknown size".into(),
        };
        notes.push(format!(
            "{label} backfills {} ({size}, above the threshold of {} rows): it runs with `cutover backfill run` between the deploys, not inside a migration.",
            backfill.table, options.backfill_threshold_rows
        ));
        let mut doc = vec![
            format!("{label}: backfill of {} ({size}), left to Cutover's backfill engine:", backfill.table),
            "it walks the table in short keyset batches, resumable and throttled, instead of holding".into(),
            "a deploy. Run it after the expand migration and before this one:".into(),
            String::new(),
            format!("  cutover backfill run --database \"$DATABASE_URL\" --plan {plan_path} --step {label}"),
            format!("  cutover backfill status --database \"$DATABASE_URL\" --plan {plan_path}"),
            String::new(),
        ];
        let statements = match &backfill.spec {
            Some(spec) => {
                doc.push("This migration only checks that no row is left to fill, and fails until then.".into());
                vec![cutover_sql::migration::check_done(spec)]
            }
            None => {
                doc.push("This migration changes nothing; it marks the point of the rollout.".into());
                vec!["SELECT 1;".into()]
            }
        };
        let item = Item { statements, doc, down: Down::Nothing, ..base };
        return (item, false);
    }
    // A small table: every batch in a loop, in one short transaction of the migration.
    let batches = rows.unwrap_or(0) / backfill.batch_size.max(1) + 2;
    let item = Item {
        statements: vec![cutover_sql::migration::repeat_until_done(&step.sql)],
        statement_timeout_ms: step.statement_timeout_ms.saturating_mul(batches),
        doc: vec![format!(
            "{label}: backfill of {} in batches of {}, repeated until no row changes (a small table).",
            backfill.table, backfill.batch_size
        )],
        ..base
    };
    (item, false)
}

/// The statements of a step's SQL, each ending in `;`.
fn statements(sql: &str) -> Vec<String> {
    cutover_sql::split::split(sql).into_iter().map(|s| terminated(s.text)).filter(|s| s != ";").collect()
}

fn terminated(sql: &str) -> String {
    let sql = sql.trim();
    if sql.ends_with(';') { sql.to_string() } else { format!("{sql};") }
}
