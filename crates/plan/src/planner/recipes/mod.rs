//! Recipes: how each kind of change is made on a live database.
//!
//! A recipe turns one change of the diff into steps, each wishing for a phase, or refuses
//! it with a blocker. The generic parts (locks, rewrite and scan flags, transactionality,
//! lock hazards, timeouts) come from the lock knowledge in `crate::locks`; recipes add what
//! only they know: the safe form of the statement, its rollback, its estimate and why.
//!
//! One file per kind, as in `diff/`; this file holds what every recipe uses (the step
//! built from the lock knowledge and the small builders that add to it) and `plan_change`,
//! which sends each change to the recipe of its kind.

mod backfill;
mod column_swaps;
mod columns;
mod constraints;
mod indexes;
mod partitions;
mod routines;
mod tables;
mod views;

pub use column_swaps::ColumnRename;
pub(super) use columns::{swapped_columns, unmatched_renames};
pub(super) use indexes::swapped_indexes;

use backfill::backfill_step;
use columns::not_null_steps;
use indexes::index_name;

use super::estimate::{self, Size};
use super::model::{AppChange, Blocker, Effect, Lock, PhaseName, Postcondition, Step};
use super::{Draft, PlanCtx};
use crate::diff::Change;
use crate::hazard::{BlockerCode, Hazard, HazardCode};
use crate::locks::{self, Operation};
use cutover_schema::QualName;
use cutover_sql::ddl::{IfExists, IfNotExists, Stmt, Target};
use cutover_sql::quote;

use PhaseName::*;

/// Statement timeout for steps that only touch the catalog.
const QUICK_STATEMENT_TIMEOUT_MS: u64 = 30_000;
/// Statement timeout for long steps whose duration cannot be estimated.
const LONG_STATEMENT_TIMEOUT_MS: u64 = 6 * 3600 * 1000;
/// Statement timeout for one backfill batch.
const BATCH_STATEMENT_TIMEOUT_MS: u64 = 60_000;

type Recipe = Result<Vec<Draft>, Box<Blocker>>;

/// A step for `sql` with everything the lock knowledge says about `operation` on `table`.
pub(super) fn step(
    ctx: &PlanCtx,
    sql: String,
    operation: Operation,
    table: &QualName,
    referenced: Option<&QualName>,
) -> Step {
    let fact = locks::lookup(operation, ctx.version)
        .or_else(|| locks::lookup(Operation::Other, ctx.version))
        .expect("a lock fact for every operation");
    let mut locks = Vec::new();
    if let Some(mode) = fact.table {
        locks.push(Lock { mode, relation: quote::qualified(table) });
    }
    if let (Some(mode), Some(r)) = (fact.referenced, referenced) {
        locks.push(Lock { mode, relation: quote::qualified(r) });
    }
    let mut hazards = Vec::new();
    if !ctx.is_new_table(table) {
        let name = table.to_string();
        if let Some(mode) = fact.table {
            if mode.blocks_reads() {
                hazards.push(Hazard::new(
                    HazardCode::AccessExclusiveLock,
                    format!("holds ACCESS EXCLUSIVE on {name}: reads and writes wait while it runs"),
                ));
            } else if mode.blocks_writes() {
                hazards.push(Hazard::new(
                    HazardCode::BlocksWrites,
                    format!("holds {mode} on {name}: writes wait while it runs"),
                ));
            }
            if fact.rewrites_table {
                hazards.push(Hazard::new(
                    HazardCode::TableRewrite,
                    format!("rewrites {name} and its indexes; time grows with the table"),
                ));
            } else if fact.scans_table && mode.blocks_writes() {
                hazards.push(Hazard::new(
                    HazardCode::FullScanUnderLock,
                    format!("scans all of {name} while holding {mode}"),
                ));
            }
        }
    }
    if let (Some(mode), Some(r)) = (fact.referenced, referenced)
        && !ctx.is_new_table(r)
        && mode.blocks_reads()
    {
        hazards.push(Hazard::new(
            HazardCode::AccessExclusiveLock,
            format!("holds ACCESS EXCLUSIVE on {r}: reads and writes wait while it runs"),
        ));
    }
    if !fact.transactional {
        hazards.push(Hazard::new(
            HazardCode::NonTransactional,
            "cannot run in a transaction; a failure part-way leaves cleanup to do (the rollback does it)".to_string(),
        ));
    }
    Step {
        sql,
        transactional: fact.transactional,
        locks,
        rewrites_table: fact.rewrites_table,
        scans_table: fact.scans_table,
        lock_timeout_ms: ctx.options.lock_timeout_ms,
        statement_timeout_ms: QUICK_STATEMENT_TIMEOUT_MS,
        hazards,
        rollback_sql: None,
        estimate: None,
        why: String::new(),
        backfill: None,
        builds_index: None,
        effect: None,
        postconditions: Vec::new(),
        app_changes: Vec::new(),
    }
}

pub(super) fn draft(phase: PhaseName, step: Step) -> Draft {
    Draft { phase, step }
}

/// Sets the estimate and a statement timeout with room for it.
pub(super) fn with_estimate(mut s: Step, estimate: Option<super::Estimate>) -> Step {
    // Five times the estimate, at least a minute, rounded up to whole minutes.
    s.statement_timeout_ms = match &estimate {
        Some(e) => (((e.seconds * 5.0 / 60.0).ceil() as u64).max(1) * 60_000).min(12 * 3600 * 1000),
        None => LONG_STATEMENT_TIMEOUT_MS,
    };
    s.estimate = estimate;
    s
}

pub(super) fn why(mut s: Step, text: impl Into<String>) -> Step {
    s.why = text.into();
    s
}

/// Records the index a CREATE INDEX CONCURRENTLY step builds (see [`Step::builds_index`]).
pub(super) fn builds_index(mut s: Step, index: QualName) -> Step {
    s.builds_index = Some(index);
    s
}

/// Records what a step outside a transaction changes (see [`Step::effect`]).
pub(super) fn effect(mut s: Step, effect: Effect) -> Step {
    s.effect = Some(effect);
    s
}

/// Records what the step changes that application code names (see [`Step::app_changes`]).
pub(super) fn app_change(mut s: Step, change: AppChange) -> Step {
    s.app_changes.push(change);
    s
}

/// Records what the step leaves in the database (see [`Step::postconditions`]).
pub(super) fn leaves(mut s: Step, p: Postcondition) -> Step {
    s.postconditions.push(p);
    s
}

pub(super) fn column_exists(table: &QualName, column: &str, exists: bool) -> Postcondition {
    Postcondition::Column { table: table.clone(), column: column.to_string(), exists, not_null: None }
}

pub(super) fn column_not_null(table: &QualName, column: &str) -> Postcondition {
    Postcondition::Column { table: table.clone(), column: column.to_string(), exists: true, not_null: Some(true) }
}

pub(super) fn index_exists(table: &QualName, index: QualName, exists: bool) -> Postcondition {
    Postcondition::Index { index, table: Some(table.clone()), exists }
}

pub(super) fn constraint(table: &QualName, name: &str, exists: bool, validated: Option<bool>) -> Postcondition {
    Postcondition::Constraint { table: table.clone(), name: name.to_string(), exists, validated }
}

pub(super) fn trigger(table: &QualName, name: &str, exists: bool) -> Postcondition {
    Postcondition::Trigger { table: table.clone(), name: name.to_string(), exists }
}

pub(super) fn rollback(mut s: Step, sql: Option<String>) -> Step {
    s.rollback_sql = sql;
    s
}

pub(super) fn hazard(mut s: Step, code: HazardCode, message: impl Into<String>) -> Step {
    s.hazards.push(Hazard::new(code, message));
    s
}

/// The diff's own hazards (data loss, privileges, untracked dependencies) go with the step.
pub(super) fn carry(mut s: Step, change: &Change) -> Step {
    for h in &change.hazards {
        if !s.hazards.iter().any(|x| x.code == h.code) {
            s.hazards.push(h.clone());
        }
    }
    s
}

/// A refusal of the change, with the diff's own hazards (data loss, privileges...).
pub(super) fn blocker(change: &Change, code: BlockerCode, message: String, options: Vec<String>) -> Box<Blocker> {
    Box::new(Blocker { code, sql: format!("{};", change.stmt), message, options, hazards: change.hazards.clone() })
}

/// A refusal of the change that `would` makes as asked: the blocker keeps that step's
/// hazards (its locks, rewrite, index build...), so a blocked plan still says what the
/// statement risks.
pub(super) fn blocked(
    would: Step,
    change: &Change,
    code: BlockerCode,
    message: String,
    options: Vec<String>,
) -> Box<Blocker> {
    let hazards = carry(would, change).hazards;
    Box::new(Blocker { code, sql: format!("{};", change.stmt), message, options, hazards })
}

/// A constraint or index name built from parts, cut to PostgreSQL's 63 bytes.
pub(super) fn object_name(parts: &[&str], suffix: &str) -> String {
    let mut base = parts.join("_");
    while base.len() + suffix.len() + 1 > 63 {
        base.pop();
    }
    format!("{base}_{suffix}")
}

pub(super) fn plan_change(ctx: &PlanCtx, change: &Change) -> Recipe {
    match &change.stmt {
        Stmt::SetCheckFunctionBodies { .. } => Ok(Vec::new()),
        Stmt::CreateIndex { name, table, index, .. } => indexes::create_index(ctx, change, name, table, index),
        Stmt::DropIndex { name, .. } => indexes::drop_index(ctx, change, name),
        Stmt::AlterTable { name, action } => tables::alter_table(ctx, change, name, action),
        Stmt::CreateFunction { definition } => routines::create_function(ctx, change, definition),
        Stmt::DropTable { name } => tables::drop_table(ctx, change, name),
        Stmt::CreateTable { name, .. } => tables::create_table(ctx, change, name),
        Stmt::CreateView { name, view } => views::create_view(ctx, change, name, view),
        Stmt::DropView { name, .. } => views::drop_view(ctx, change, name),
        Stmt::AddEnumValue { name, value, .. } => {
            // IF NOT EXISTS: a runner killed right after it ran leaves it done but not
            // recorded; apply also reads the catalog for the value (the step's effect).
            let s = step(ctx, IfNotExists(&change.stmt).to_string(), Operation::AddEnumValue, name, None);
            let s = effect(s, Effect::AddEnumValue { type_name: name.clone(), value: value.clone() });
            let mut s = why(
                s,
                "Adds a value to the type; catalog only. Runs on its own: a new value cannot be used in the transaction that adds it.",
            );
            s.hazards.retain(|h| h.code != HazardCode::NonTransactional);
            Ok(vec![draft(Expand, carry(s, change))])
        }
        Stmt::RenameEnumValue { name, from, to } => {
            let s = simple(ctx, change, Operation::CatalogOnly, None);
            let s = rollback(
                s,
                Some(Stmt::RenameEnumValue { name: name.clone(), from: to.clone(), to: from.clone() }.to_string()),
            );
            let s = hazard(
                s,
                HazardCode::BreaksRunningCode,
                format!("the running version still writes '{from}' to {name}; it fails from this step on"),
            );
            Ok(vec![draft(
                Switch,
                carry(
                    why(
                        s,
                        "Renames the value in the catalog: rows keep their value under the new label, nothing is rewritten.",
                    ),
                    change,
                ),
            )])
        }
        Stmt::DropFunction { id, .. } => routines::drop_function(ctx, change, id),
        Stmt::DropType { .. }
        | Stmt::DropSequence { .. }
        | Stmt::DropSchema { .. }
        | Stmt::DropExtension { .. }
        | Stmt::DropCollation { .. }
        | Stmt::DropTrigger { .. }
        | Stmt::DropPolicy { .. } => {
            let table = match &change.stmt {
                Stmt::DropTrigger { table, .. } | Stmt::DropPolicy { table, .. } => Some(table),
                _ => None,
            };
            let mut s = simple(ctx, change, Operation::DropTrigger, table);
            if let Stmt::DropTrigger { table, name } = &change.stmt {
                s = leaves(s, trigger(table, name, false));
            }
            Ok(vec![draft(
                Contract,
                carry(why(s, "Removed once no running application version relies on it."), change),
            )])
        }
        Stmt::CreateTrigger { table, definition } => {
            let mut s = simple(ctx, change, Operation::CreateTrigger, Some(table));
            let named = ctx
                .desired
                .tables
                .get(table)
                .and_then(|t| t.triggers.iter().find(|(_, t)| t.definition == *definition));
            if let Some((name, _)) = named {
                s = leaves(s, trigger(table, name, true));
            }
            Ok(vec![draft(
                Expand,
                carry(why(s, "Creates the trigger; brief SHARE ROW EXCLUSIVE lock, no scan."), change),
            )])
        }
        Stmt::CreatePolicy { table, .. } | Stmt::AlterPolicy { table, .. } => {
            let s = simple(ctx, change, Operation::Policy, Some(table));
            Ok(vec![draft(Expand, carry(why(s, "Changes a row-level security policy; catalog only."), change))])
        }
        Stmt::Revoke { .. } => {
            let s = simple(ctx, change, Operation::CatalogOnly, None);
            let s = hazard(
                s,
                HazardCode::BreaksRunningCode,
                "the application version running before this deploy may still need the privilege",
            );
            Ok(vec![draft(Contract, carry(why(s, "Revoked once no running application version needs it."), change))])
        }
        Stmt::Comment { target: Target::Column(table, column), .. } if columns::swapped(ctx, table, column) => {
            Ok(Vec::new())
        }
        Stmt::Comment { .. } => {
            let s = simple(ctx, change, Operation::Comment, None);
            Ok(vec![draft(Expand, carry(why(s, "Documentation only."), change))])
        }
        Stmt::CreateStatistics { name, .. }
        | Stmt::DropStatistics { name }
        | Stmt::SetStatisticsTarget { name, .. } => {
            let of = |c: &cutover_schema::Catalog| c.statistics.get(name).map(|s| s.table.clone());
            // CREATE and DROP lock the table (SHARE UPDATE EXCLUSIVE); a new target locks
            // only the statistics object.
            let table = match &change.stmt {
                Stmt::SetStatisticsTarget { .. } => None,
                _ => of(ctx.desired).or_else(|| of(ctx.current)),
            };
            let s = simple(ctx, change, Operation::Statistics, table.as_ref());
            let back = match &change.stmt {
                Stmt::CreateStatistics { .. } => {
                    Some(IfExists(&Stmt::DropStatistics { name: name.clone() }).to_string())
                }
                Stmt::DropStatistics { .. } => ctx.current.statistics.get(name).map(|s| s.definition.clone()),
                _ => Some(
                    Stmt::SetStatisticsTarget {
                        name: name.clone(),
                        target: ctx.current.statistics.get(name).and_then(|s| s.target),
                    }
                    .to_string(),
                ),
            };
            let s = rollback(s, back);
            Ok(vec![draft(
                Expand,
                carry(why(s, "Planner statistics only: reads and writes go on; the next ANALYZE fills them."), change),
            )])
        }
        Stmt::RefreshMaterializedView { name } => {
            let s = simple(ctx, change, Operation::Other, Some(name));
            Ok(vec![draft(
                Switch,
                carry(why(s, "Populates the materialized view; readers wait while it runs."), change),
            )])
        }
        _ => {
            // Schemas, extensions, types, sequences, grants and other catalog-only changes.
            let s = simple(ctx, change, Operation::CatalogOnly, None);
            let s = rollback(s, inverse(&change.stmt));
            Ok(vec![draft(Expand, carry(why(s, "Catalog only; no table is locked."), change))])
        }
    }
}

/// A step running the change's statement as it is.
fn simple(ctx: &PlanCtx, change: &Change, operation: Operation, table: Option<&QualName>) -> Step {
    let placeholder = QualName::new("", "");
    let mut s = step(ctx, change.stmt.to_string(), operation, table.unwrap_or(&placeholder), None);
    if table.is_none() {
        s.locks.clear();
        s.hazards.retain(|h| !matches!(h.code, HazardCode::AccessExclusiveLock | HazardCode::BlocksWrites));
    }
    s
}

/// The statement that undoes a catalog-only creation, when there is one.
fn inverse(stmt: &Stmt) -> Option<String> {
    let drop = match stmt {
        Stmt::CreateSchema { name } => Stmt::DropSchema { name: name.clone() },
        Stmt::CreateExtension { name, .. } => Stmt::DropExtension { name: name.clone() },
        Stmt::CreateCollation { name, .. } => Stmt::DropCollation { name: name.clone() },
        Stmt::CreateType { name, kind } => {
            Stmt::DropType { name: name.clone(), domain: matches!(kind, cutover_schema::TypeKind::Domain { .. }) }
        }
        Stmt::CreateSequence { name, .. } => Stmt::DropSequence { name: name.clone() },
        Stmt::Grant { target, grant } => {
            return Some(
                Stmt::Revoke { target: target.clone(), grant: grant.clone(), grant_option_only: false }.to_string(),
            );
        }
        _ => return None,
    };
    Some(IfExists(&drop).to_string())
}

pub(super) fn size_phrase(size: Size) -> String {
    match size.rows {
        Some(rows) => format!(" ({})", estimate::rows(rows)),
        None => " (its size is unknown, so Cutover assumes it is large)".into(),
    }
}

fn small_or_window(ctx: &PlanCtx, table: &QualName, what: &str) -> String {
    if ctx.is_new_table(table) {
        format!("{what}; the table is new, nobody waits.")
    } else if ctx.is_small(table) {
        format!(
            "{what} under ACCESS EXCLUSIVE; {table} is small{}, so the lock is short.",
            size_phrase(ctx.size(table))
        )
    } else {
        format!("{what} under ACCESS EXCLUSIVE; accepted for a maintenance window (--allow-downtime).")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_fit() {
        assert_eq!(object_name(&["users", "email"], "not_null"), "users_email_not_null");
        assert!(object_name(&[&"x".repeat(60), "y"], "not_null").len() <= 63);
    }
}
