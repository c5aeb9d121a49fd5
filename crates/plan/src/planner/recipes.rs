//! Recipes: how each kind of change is made on a live database.
//!
//! A recipe turns one change of the diff into steps, each wishing for a phase, or refuses
//! it with a blocker. The generic parts (locks, rewrite and scan flags, transactionality,
//! lock hazards, timeouts) come from the lock knowledge in `crate::locks`; recipes add what
//! only they know: the safe form of the statement, its rollback, its estimate and why.

use super::estimate::{self, Size};
use super::model::{
    AppChange, Backfill, BackfillKey, BackfillSpec, Blocker, Effect, KeyColumn, Lock, PhaseName, Postcondition, Step,
};
use super::{Draft, PlanCtx};
use crate::diff::{Change, Diff};
use crate::hazard::{Hazard, HazardCode};
use crate::locks::{self, LockMode, Operation};
use cutover_schema::{Column, ConstraintKind, Index, IndexKey, ObjId, PartitionBound, QualName, Table, Volatility};
use cutover_sql::ddl::{IfExists, IfNotExists, Stmt, TableAction, Target};
use cutover_sql::quote;
use std::collections::BTreeSet;

use PhaseName::*;

/// Statement timeout for steps that only touch the catalog.
const QUICK_STATEMENT_TIMEOUT_MS: u64 = 30_000;
/// Statement timeout for long steps whose duration cannot be estimated.
const LONG_STATEMENT_TIMEOUT_MS: u64 = 6 * 3600 * 1000;
/// Statement timeout for one backfill batch.
const BATCH_STATEMENT_TIMEOUT_MS: u64 = 60_000;

type Recipe = Result<Vec<Draft>, Box<Blocker>>;

/// Indexes of live tables that the diff drops and creates again under the same name.
pub(super) fn swapped_indexes(ctx: &PlanCtx, diff: &Diff) -> BTreeSet<QualName> {
    let mut dropped = BTreeSet::new();
    let mut swapped = BTreeSet::new();
    for change in &diff.changes {
        match &change.stmt {
            Stmt::DropIndex { name, .. } => {
                dropped.insert(name.clone());
            }
            Stmt::CreateIndex { name, table, .. } => {
                let q = QualName::new(table.schema.clone(), name.clone());
                let old_valid =
                    ctx.current.tables.get(table).and_then(|t| t.indexes.get(name)).is_some_and(|i| i.valid);
                if dropped.contains(&q) && old_valid && !ctx.is_new_table(table) {
                    swapped.insert(q);
                }
            }
            _ => {}
        }
    }
    swapped
}

/// Columns of live, large tables whose type change would rewrite the table and that can
/// move to a new column instead.
pub(super) fn swapped_columns(ctx: &PlanCtx, diff: &Diff) -> BTreeSet<(QualName, String)> {
    let mut out = BTreeSet::new();
    for change in &diff.changes {
        if let Stmt::AlterTable { name, action: TableAction::AlterColumnType { column: c, data_type, .. } } =
            &change.stmt
        {
            let old = ctx.current.tables.get(name).and_then(|t| t.column(c));
            let rewrite = old.is_some_and(|o| !binary_compatible(&o.data_type, data_type));
            if rewrite
                && !ctx.is_small(name)
                && !ctx.options.allow_downtime
                && super::columns::swap_obstacles(ctx, name, c).is_empty()
            {
                out.insert((name.clone(), c.clone()));
            }
        }
    }
    out
}

/// Rename hints that do not match a dropped and an added column of the diff.
pub(super) fn unmatched_renames(ctx: &PlanCtx, diff: &Diff) -> Vec<Blocker> {
    let mut out = Vec::new();
    for r in &ctx.options.renames {
        let dropped = diff.changes.iter().any(|c| {
            matches!(&c.stmt, Stmt::AlterTable { name, action: TableAction::DropColumn { column } } if *name == r.table && *column == r.from)
        });
        let added = diff.changes.iter().any(|c| {
            matches!(&c.stmt, Stmt::AlterTable { name, action: TableAction::AddColumn(col) } if *name == r.table && col.name == r.to)
        });
        if !(dropped && added) {
            out.push(Blocker {
                code: "rename_not_in_diff".into(),
                sql: format!("-- rename {}.{} to {}", r.table, r.from, r.to),
                message: format!(
                    "the rename of {}.{} to {} does not match the change: the desired schema must have {} and not {}.",
                    r.table, r.from, r.to, r.to, r.from
                ),
                options: vec!["check the table and column names of the rename".into()],
            });
        }
    }
    out
}

fn rename_of<'a>(ctx: &'a PlanCtx, table: &QualName, column: &str, target: bool) -> Option<&'a super::ColumnRename> {
    ctx.options.renames.iter().find(|r| r.table == *table && if target { r.to == column } else { r.from == column })
}

fn swapped(ctx: &PlanCtx, table: &QualName, column: &str) -> bool {
    ctx.swapped_columns.contains(&(table.clone(), column.to_string()))
}

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

/// The constraint's postconditions on the steps that add it: the first step makes it (or
/// its index) exist, the last one makes it exist validated, unless the desired schema
/// keeps it NOT VALID.
fn constraint_added(mut drafts: Vec<Draft>, table: &QualName, name: &str, not_valid: bool) -> Vec<Draft> {
    let validated = (!not_valid).then_some(true);
    let count = drafts.len();
    if let Some(first) = drafts.first_mut().filter(|_| count > 1) {
        let p = match &first.step.builds_index {
            Some(index) => index_exists(table, index.clone(), true),
            None => constraint(table, name, true, None),
        };
        first.step.postconditions.push(p);
    }
    if let Some(last) = drafts.last_mut() {
        last.step.postconditions.push(constraint(table, name, true, validated));
    }
    drafts
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

pub(super) fn blocker(change: &Change, code: &str, message: String, options: Vec<String>) -> Box<Blocker> {
    Box::new(Blocker { code: code.into(), sql: format!("{};", change.stmt), message, options })
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
        Stmt::CreateIndex { name, table, index, .. } => create_index(ctx, change, name, table, index),
        Stmt::DropIndex { name, .. } => drop_index(ctx, change, name),
        Stmt::AlterTable { name, action } => alter_table(ctx, change, name, action),
        Stmt::CreateFunction { definition } => {
            // Each step runs in its own transaction, so the session setting the diff starts
            // with goes into the step itself.
            let sql = format!("SET LOCAL check_function_bodies = off;\n{}", change.stmt);
            // The routine this definition belongs to, by its identity in the desired catalog.
            let id = ctx.desired.functions.iter().find(|(_, f)| f.definition == *definition).map(|(id, _)| id);
            let previous = id.and_then(|id| ctx.current.functions.get(id)).filter(|f| f.definition != *definition);
            let s = simple(ctx, change, Operation::Other, None);
            let s = rollback(
                s,
                Some(match previous {
                    Some(f) => format!("SET LOCAL check_function_bodies = off;\n{}", f.definition.trim_end()),
                    None => ctx
                        .desired
                        .functions
                        .iter()
                        .find(|(_, f)| f.definition == *definition)
                        .map(|(id, f)| IfExists(&Stmt::DropFunction { id: id.clone(), kind: f.kind }).to_string())
                        .unwrap_or_default(),
                }),
            );
            let mut s = why(s, "Creates or replaces a routine; catalog only, no table lock.");
            s.sql = sql;
            s.locks.clear();
            s.hazards.retain(|h| h.code != HazardCode::AccessExclusiveLock);
            Ok(vec![draft(Expand, carry(s, change))])
        }
        Stmt::DropTable { name } => {
            let s = step(ctx, change.stmt.to_string(), Operation::DropTable, name, None);
            let s = why(s, "Runs only after every application version that reads the table is gone.");
            let s = leaves(s, Postcondition::Table { table: name.clone(), exists: false });
            // A table dropped only to be created again keeps its name for the application.
            let s = match ctx.desired.tables.contains_key(name) {
                true => s,
                false => app_change(s, AppChange::DropTable { table: name.clone() }),
            };
            let s = hazard(
                s,
                HazardCode::BreaksRunningCode,
                format!("the application version running before this deploy may still use {name}"),
            );
            Ok(vec![draft(Contract, carry(s, change))])
        }
        Stmt::CreateTable { name, .. } => {
            let s = step(ctx, change.stmt.to_string(), Operation::CreateTable, name, None);
            let s = rollback(s, Some(IfExists(&Stmt::DropTable { name: name.clone() }).to_string()));
            let s = leaves(s, Postcondition::Table { table: name.clone(), exists: true });
            Ok(vec![draft(Expand, carry(why(s, "A new table: nothing uses it yet."), change))])
        }
        Stmt::CreateView { name, view } => {
            let mut s = step(ctx, change.stmt.to_string(), Operation::CreateOrReplaceView, name, None);
            s.hazards.clear();
            let s = rollback(
                s,
                Some(IfExists(&Stmt::DropView { name: name.clone(), materialized: view.materialized }).to_string()),
            );
            let text = if view.materialized {
                "Creates the materialized view; populating it runs its query once."
            } else {
                "Creates the view; catalog only."
            };
            Ok(vec![draft(Expand, carry(why(s, text), change))])
        }
        Stmt::DropView { name, .. } => {
            let mut s = step(ctx, change.stmt.to_string(), Operation::DropView, name, None);
            s.hazards.clear();
            let restore = ctx
                .current
                .views
                .get(name)
                .map(|v| Stmt::CreateView { name: name.clone(), view: Box::new(v.clone()) }.to_string());
            let s = rollback(s, restore);
            if ctx.desired.views.contains_key(name) {
                // Dropped to be created again (its query or something under it changes).
                let s = hazard(
                    s,
                    HazardCode::BreaksRunningCode,
                    format!("queries on {name} fail until it is created again a few statements later"),
                );
                return Ok(vec![draft(
                    Expand,
                    carry(
                        why(
                            s,
                            "Dropped only to be created again with its new definition; the gap lasts as long as the statements in between.",
                        ),
                        change,
                    ),
                )]);
            }
            let s = hazard(
                s,
                HazardCode::BreaksRunningCode,
                format!("the application version running before this deploy may still use {name}"),
            );
            Ok(vec![draft(Contract, carry(why(s, "Dropped once no running application version reads it."), change))])
        }
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
            let mut s = simple(ctx, change, Operation::Other, None);
            s.locks.clear();
            s.hazards.retain(|h| h.code != HazardCode::AccessExclusiveLock);
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
        Stmt::DropFunction { id, .. } => {
            let s = simple(ctx, change, Operation::Other, None);
            let s = rollback(
                s,
                ctx.current
                    .functions
                    .get(id)
                    .map(|f| format!("SET LOCAL check_function_bodies = off;\n{}", f.definition.trim_end())),
            );
            let mut s = why(s, "Dropped once no running application version calls it.");
            s.locks.clear();
            s.hazards.retain(|h| h.code != HazardCode::AccessExclusiveLock);
            let s = hazard(
                s,
                HazardCode::BreaksRunningCode,
                format!("the application version running before this deploy may still call {id}"),
            );
            Ok(vec![draft(Contract, carry(s, change))])
        }
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
            let mut s = simple(ctx, change, Operation::Other, None);
            s.locks.clear();
            s.hazards.retain(|h| h.code != HazardCode::AccessExclusiveLock);
            let s = hazard(
                s,
                HazardCode::BreaksRunningCode,
                "the application version running before this deploy may still need the privilege",
            );
            Ok(vec![draft(Contract, carry(why(s, "Revoked once no running application version needs it."), change))])
        }
        Stmt::Comment { target: Target::Column(table, column), .. } if swapped(ctx, table, column) => Ok(Vec::new()),
        Stmt::Comment { .. } => {
            let mut s = simple(ctx, change, Operation::Comment, None);
            s.locks.clear();
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
            let mut s = simple(ctx, change, Operation::Other, None);
            s.locks.clear();
            s.hazards.retain(|h| h.code != HazardCode::AccessExclusiveLock);
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

pub(super) fn index_name(table: &QualName, name: &str) -> QualName {
    QualName::new(table.schema.clone(), name.to_string())
}

fn create_index(ctx: &PlanCtx, change: &Change, name: &str, table: &QualName, index: &Index) -> Recipe {
    let size = ctx.size(table);
    if ctx.is_new_table(table) {
        let s = step(ctx, change.stmt.to_string(), Operation::CreateIndex, table, None);
        let s = rollback(
            s,
            Some(IfExists(&Stmt::DropIndex { name: index_name(table, name), concurrently: false }).to_string()),
        );
        let s = leaves(s, index_exists(table, index_name(table, name), true));
        return Ok(vec![draft(
            Expand,
            carry(why(s, "The table is new and empty: a plain index build is instant."), change),
        )]);
    }
    let partitioned = ctx.current.tables.get(table).is_some_and(|t| t.partition_key.is_some());
    if partitioned {
        // CREATE INDEX CONCURRENTLY does not work on a partitioned table.
        let s = step(ctx, change.stmt.to_string(), Operation::CreateIndex, table, None);
        let s = with_estimate(s, estimate::index_build(size, false));
        let s = rollback(
            s,
            Some(IfExists(&Stmt::DropIndex { name: index_name(table, name), concurrently: false }).to_string()),
        );
        let s = hazard(s, HazardCode::IndexBuild, format!("builds index {name} on every partition of {table}"));
        let s = leaves(s, index_exists(table, index_name(table, name), true));
        if !ctx.is_small(table) && !ctx.options.allow_downtime {
            return Err(blocker(
                change,
                "index_on_partitioned_table",
                format!(
                    "{table} is partitioned: CREATE INDEX CONCURRENTLY cannot build {name} on it, and a plain build blocks writes to every partition until it finishes."
                ),
                vec![
                    format!(
                        "create the index ON ONLY {table} (invalid, instant), build it concurrently on each partition, then ALTER INDEX ... ATTACH PARTITION each one"
                    ),
                    "accept the write lock in a maintenance window: plan again with --allow-downtime".into(),
                ],
            ));
        }
        return Ok(vec![draft(
            Expand,
            carry(why(s, "Builds the index on the partitioned table; writes wait while it runs."), change),
        )]);
    }
    let qualified = index_name(table, name);
    let swap = ctx.swapped_indexes.contains(&qualified);
    let build_name = if swap { object_name(&[name], "cutover_new") } else { name.to_string() };
    let build = Stmt::CreateIndex {
        name: build_name.clone(),
        table: table.clone(),
        index: Box::new(index.clone()),
        concurrently: true,
    };
    let s = step(ctx, build.to_string(), Operation::CreateIndexConcurrently, table, None);
    let s = builds_index(s, index_name(table, &build_name));
    let s = leaves(s, index_exists(table, index_name(table, &build_name), true));
    let s = with_estimate(s, estimate::index_build(size, true));
    let s = rollback(
        s,
        Some(IfExists(&Stmt::DropIndex { name: index_name(table, &build_name), concurrently: true }).to_string()),
    );
    let mut s = hazard(
        s,
        HazardCode::IndexBuild,
        format!("builds index {build_name} on {table}: extra I/O and CPU while it runs"),
    );
    if index.unique {
        s = hazard(
            s,
            HazardCode::MayFailOnExistingData,
            format!(
                "fails if {table} has duplicate keys; the failed build leaves an INVALID index that the rollback drops"
            ),
        );
    }
    let s = why(
        s,
        "CONCURRENTLY builds the index while reads and writes continue (SHARE UPDATE EXCLUSIVE). If it fails it leaves an INVALID index behind; the rollback drops it and the step can be run again.",
    );
    let mut out = vec![draft(Expand, carry(s, change))];
    if swap {
        // IF EXISTS: a runner killed while the drop ran leaves it done but not recorded,
        // and the next run runs it again.
        let drop_old = Stmt::DropIndex { name: qualified.clone(), concurrently: true };
        let s = step(ctx, IfExists(&drop_old).to_string(), Operation::DropIndexConcurrently, table, None);
        let s = effect(s, Effect::DropIndex { index: qualified.clone() });
        let old = ctx.current.tables.get(table).and_then(|t| t.indexes.get(name)).map(|i| {
            Stmt::CreateIndex {
                name: name.to_string(),
                table: table.clone(),
                index: Box::new(i.clone()),
                concurrently: true,
            }
            .to_string()
        });
        let s = rollback(s, old);
        let s =
            why(s, format!("Drops the old definition of {name} without blocking; the new one already serves queries."));
        let s = hazard(s, HazardCode::IndexDropped, format!("drops the old definition of {name}"));
        out.push(draft(Switch, s));
        let rename = Stmt::RenameIndex { name: index_name(table, &build_name), new_name: name.to_string() };
        let s = step(ctx, rename.to_string(), Operation::RenameIndex, table, None);
        let s = leaves(s, index_exists(table, index_name(table, &build_name), false));
        let s = leaves(s, index_exists(table, qualified.clone(), true));
        let s = rollback(s, Some(Stmt::RenameIndex { name: qualified, new_name: build_name }.to_string()));
        out.push(draft(Switch, why(s, "Gives the new index the old name; catalog only.")));
    }
    Ok(out)
}

fn drop_index(ctx: &PlanCtx, change: &Change, name: &QualName) -> Recipe {
    if ctx.swapped_indexes.contains(name) {
        return Ok(Vec::new()); // the create builds the new one and swaps it in
    }
    let owner = ctx.current.index_owner(name).cloned();
    let old = owner.as_ref().and_then(|t| ctx.current.tables.get(t)).and_then(|t| t.indexes.get(&name.name));
    let table = owner.clone().unwrap_or_else(|| name.clone());
    let partitioned = owner.as_ref().and_then(|t| ctx.current.tables.get(t)).is_some_and(|t| t.partition_key.is_some());
    let concurrently = !partitioned && !ctx.is_new_table(&table);
    let stmt = Stmt::DropIndex { name: name.clone(), concurrently };
    let op = if concurrently { Operation::DropIndexConcurrently } else { Operation::DropIndex };
    let s = step(ctx, IfExists(&stmt).to_string(), op, &table, None);
    let s = if concurrently { effect(s, Effect::DropIndex { index: name.clone() }) } else { s };
    let s = leaves(s, Postcondition::Index { index: name.clone(), table: owner.clone(), exists: false });
    if old.is_some_and(|i| !i.valid) {
        let s = why(
            s,
            "A leftover INVALID index from a failed CREATE INDEX CONCURRENTLY: no query uses it, dropping it costs nothing.",
        );
        return Ok(vec![draft(Expand, s)]);
    }
    let restore = old.map(|i| {
        Stmt::CreateIndex { name: name.name.clone(), table: table.clone(), index: Box::new(i.clone()), concurrently }
            .to_string()
    });
    let s = rollback(s, restore);
    let s = hazard(s, HazardCode::IndexDropped, format!("queries that use {name} lose it"));
    let text = if concurrently {
        "CONCURRENTLY drops the index without blocking reads or writes; it waits for running queries that use it."
    } else {
        "Drops the index; brief lock."
    };
    Ok(vec![draft(Contract, carry(why(s, text), change))])
}

fn column<'a>(t: Option<&'a Table>, name: &str) -> Option<&'a Column> {
    t.and_then(|t| t.column(name))
}

fn alter_table(ctx: &PlanCtx, change: &Change, table: &QualName, action: &TableAction) -> Recipe {
    let old_table = ctx.current.tables.get(table);
    let new_table = ctx.desired.tables.get(table);
    let new = ctx.is_new_table(table);
    let sql = change.stmt.to_string();
    let size = ctx.size(table);
    match action {
        TableAction::AddColumn(col) => match rename_of(ctx, table, &col.name, true) {
            Some(r) => super::columns::rename_target(ctx, change, r, col),
            None => add_column(ctx, change, table, col),
        },
        TableAction::DropColumn { column: c } if rename_of(ctx, table, c, false).is_some() => {
            super::columns::rename_source(ctx, change, rename_of(ctx, table, c, false).expect("checked"))
        }
        // The new column of a type change carries the default, NOT NULL and comment itself.
        TableAction::SetDefault { column: c, .. }
        | TableAction::DropDefault { column: c }
        | TableAction::SetNotNull { column: c }
        | TableAction::DropNotNull { column: c }
            if swapped(ctx, table, c) =>
        {
            Ok(Vec::new())
        }
        TableAction::AlterColumnType { column: c, using, .. } if swapped(ctx, table, c) => {
            super::columns::change_type(ctx, change, table, c, *using)
        }
        TableAction::DropColumn { column: c } => {
            let s = step(ctx, sql, Operation::DropColumn, table, None);
            let s = hazard(
                s,
                HazardCode::BreaksRunningCode,
                format!("the application version running before this deploy may still read or write {table}.{c}"),
            );
            let s = why(
                s,
                "Catalog only (the space is reclaimed later); runs once no application version uses the column.",
            );
            let s = leaves(s, column_exists(table, c, false));
            let s = app_change(s, AppChange::DropColumn { table: table.clone(), column: c.clone() });
            Ok(vec![draft(Contract, carry(s, change))])
        }
        TableAction::AlterColumnType { column: c, data_type, .. } => {
            let old = column(old_table, c);
            let retype = |s: Step| match old {
                Some(o) => app_change(
                    s,
                    AppChange::RetypeColumn {
                        table: table.clone(),
                        column: c.clone(),
                        from: o.data_type.clone(),
                        to: data_type.clone(),
                    },
                ),
                None => s,
            };
            let in_place = old.is_some_and(|o| binary_compatible(&o.data_type, data_type));
            if in_place {
                let s = retype(step(ctx, sql, Operation::AlterColumnTypeInPlace, table, None));
                let back = old.map(|o| {
                    Stmt::AlterTable {
                        name: table.clone(),
                        action: TableAction::AlterColumnType {
                            column: c.clone(),
                            data_type: o.data_type.clone(),
                            collation: o.collation.clone(),
                            using: None,
                        },
                    }
                    .to_string()
                });
                let s = rollback(s, back);
                let s = why(
                    s,
                    format!(
                        "{} to {data_type} needs no rewrite: catalog only, the lock is brief.",
                        old.map(|o| o.data_type.as_str()).unwrap_or("")
                    ),
                );
                return Ok(vec![draft(Expand, carry(s, change))]);
            }
            let s = retype(step(ctx, sql, Operation::AlterColumnTypeRewrite, table, None));
            let s = with_estimate(s, estimate::rewrite(size));
            if !ctx.is_small(table) && !ctx.options.allow_downtime {
                let obstacles = super::columns::swap_obstacles(ctx, table, c);
                return Err(blocker(
                    change,
                    "column_type_rewrite",
                    format!(
                        "changing {table}.{c} to {data_type} rewrites {table} under ACCESS EXCLUSIVE{}: reads and writes stop until it finishes, and it cannot move to a new column because {}.",
                        size_phrase(size),
                        obstacles.join(", ")
                    ),
                    vec![
                        format!(
                            "add a new column of type {data_type}, keep it in sync with a trigger, backfill it, switch the application to it, then drop {c}"
                        ),
                        "accept the outage in a maintenance window: plan again with --allow-downtime".into(),
                    ],
                ));
            }
            let s = hazard(
                s,
                HazardCode::MayFailOnExistingData,
                format!("fails if a value of {table}.{c} does not convert to {data_type}"),
            );
            Ok(vec![draft(Expand, carry(why(s, small_or_window(ctx, table, "Rewrites the table")), change))])
        }
        TableAction::SetDefault { column: c, .. } | TableAction::DropDefault { column: c } => {
            let op = if matches!(action, TableAction::SetDefault { .. }) {
                Operation::SetDefault
            } else {
                Operation::DropDefault
            };
            let s = step(ctx, sql, op, table, None);
            let back = match column(old_table, c).and_then(|o| o.default.clone()) {
                Some(expression) => TableAction::SetDefault { column: c.clone(), expression },
                None => TableAction::DropDefault { column: c.clone() },
            };
            let s = rollback(s, Some(Stmt::AlterTable { name: table.clone(), action: back }.to_string()));
            Ok(vec![draft(
                Expand,
                carry(why(s, "Catalog only; affects rows written from now on. The lock is brief."), change),
            )])
        }
        TableAction::DropNotNull { .. } => {
            let s = step(ctx, sql, Operation::DropNotNull, table, None);
            Ok(vec![draft(
                Expand,
                carry(why(s, "Relaxes a rule, so both application versions keep working; catalog only."), change),
            )])
        }
        TableAction::SetNotNull { column: c } => set_not_null(ctx, change, table, c),
        TableAction::AddConstraint { name, definition, not_valid } => {
            let drafts = add_constraint(ctx, change, table, name, definition, *not_valid, new_table)?;
            Ok(constraint_added(drafts, table, name, *not_valid))
        }
        TableAction::ValidateConstraint { name } => {
            let kind = new_table.and_then(|t| t.constraints.get(name)).map(|c| c.kind);
            let fk = kind == Some(ConstraintKind::ForeignKey);
            let referenced = new_table
                .and_then(|t| t.constraints.get(name))
                .and_then(|c| c.foreign_key.as_ref())
                .map(|f| &f.referenced_table);
            let op = if fk { Operation::ValidateForeignKey } else { Operation::ValidateCheck };
            let s = step(ctx, sql, op, table, referenced);
            let s = with_estimate(s, if fk { estimate::fk_validation(size) } else { estimate::scan(size) });
            let s = hazard(s, HazardCode::MayFailOnExistingData, format!("fails if a row of {table} breaks {name}"));
            let s = leaves(s, constraint(table, name, true, Some(true)));
            Ok(vec![draft(
                Switch,
                carry(why(s, "Checks existing rows under SHARE UPDATE EXCLUSIVE: reads and writes continue."), change),
            )])
        }
        TableAction::DropConstraint { name } => {
            let old = old_table.and_then(|t| t.constraints.get(name));
            let s = step(ctx, sql, Operation::DropConstraint, table, None);
            let restore = old.map(|c| {
                Stmt::AlterTable {
                    name: table.clone(),
                    action: TableAction::AddConstraint {
                        name: name.clone(),
                        definition: c.definition.clone(),
                        not_valid: true,
                    },
                }
                .to_string()
            });
            let s = leaves(rollback(s, restore), constraint(table, name, false, None));
            Ok(vec![draft(
                Expand,
                carry(why(s, "Relaxes a rule, so both application versions keep working; catalog only."), change),
            )])
        }
        TableAction::SetLogged | TableAction::SetUnlogged => {
            let s = step(ctx, sql, Operation::SetLoggedOrUnlogged, table, None);
            let s = with_estimate(s, estimate::rewrite(size));
            if !ctx.is_small(table) && !ctx.options.allow_downtime {
                return Err(blocker(
                    change,
                    "persistence_rewrite",
                    format!(
                        "changing whether {table} is logged rewrites it under ACCESS EXCLUSIVE{}.",
                        size_phrase(size)
                    ),
                    vec!["accept the outage in a maintenance window: plan again with --allow-downtime".into()],
                ));
            }
            Ok(vec![draft(Expand, carry(why(s, small_or_window(ctx, table, "Rewrites the table")), change))])
        }
        TableAction::SetOptions(_) | TableAction::ResetOptions(_) => {
            let s = step(ctx, sql, Operation::SetStorageParameters, table, None);
            Ok(vec![draft(Expand, carry(why(s, "Storage parameters; reads and writes continue."), change))])
        }
        TableAction::AttachPartition { partition, bound } => attach_partition(ctx, change, table, partition, bound),
        TableAction::DetachPartition { partition, .. } => {
            // DETACH ... CONCURRENTLY (14+) leaves a CHECK mirroring the bound on the detached
            // table, named after its single key column; it is dropped right after unless the
            // desired schema keeps a constraint of that name.
            let key_column = match old_table.and_then(|t| t.partition_key.as_ref()).map(|k| k.columns.as_slice()) {
                Some([Some(column)]) => Some(column.clone()),
                _ => None,
            };
            let concurrent = locks::lookup(Operation::DetachPartitionConcurrently, ctx.version).is_some()
                && !new
                && key_column.is_some();
            let stmt = Stmt::AlterTable {
                name: table.clone(),
                action: TableAction::DetachPartition { partition: partition.clone(), concurrently: concurrent },
            };
            let op = if concurrent { Operation::DetachPartitionConcurrently } else { Operation::DetachPartition };
            let s = step(ctx, stmt.to_string(), op, partition, Some(table));
            let s = if concurrent {
                effect(s, Effect::DetachPartition { parent: table.clone(), partition: partition.clone() })
            } else {
                s
            };
            let s = hazard(s, HazardCode::BreaksRunningCode, format!("rows of {partition} disappear from {table}"));
            let text = if concurrent {
                "DETACH ... CONCURRENTLY: readers and writers of the parent keep going (it waits for running transactions)."
            } else {
                "Detaches the partition; the parent is locked for the moment it takes (catalog only)."
            };
            let mut out = vec![draft(Contract, carry(why(s, text), change))];
            if let (true, Some(column)) = (concurrent, key_column) {
                let check = object_name(&[&partition.name, &column], "check");
                let kept = ctx.desired.tables.get(partition).is_some_and(|t| t.constraints.contains_key(&check));
                if !kept {
                    let drop = Stmt::AlterTable {
                        name: partition.clone(),
                        action: TableAction::DropConstraint { name: check },
                    };
                    let s = step(ctx, IfExists(&drop).to_string(), Operation::DropConstraint, partition, None);
                    out.push(draft(
                        Contract,
                        why(s, "Drops the CHECK that DETACH ... CONCURRENTLY leaves behind; catalog only."),
                    ));
                }
            }
            Ok(out)
        }
        TableAction::RowLevelSecurity { .. } | TableAction::ForceRowLevelSecurity { .. } => {
            let s = step(ctx, sql, Operation::RowLevelSecurity, table, None);
            let s = hazard(s, HazardCode::PrivilegesChange, format!("changes who sees which rows of {table}"));
            Ok(vec![draft(Expand, carry(why(s, "Catalog only; the lock is brief."), change))])
        }
        TableAction::SetTriggerEnabled { .. } => {
            let s = step(ctx, sql, Operation::AlterTriggerEnabled, table, None);
            Ok(vec![draft(Expand, carry(why(s, "Catalog only; the lock is brief."), change))])
        }
        TableAction::Inherit { .. } | TableAction::NoInherit { .. } => {
            let s = step(ctx, sql, Operation::Inherit, table, None);
            Ok(vec![draft(Expand, carry(why(s, "Catalog only; the lock is brief."), change))])
        }
        TableAction::AddIdentity { .. } | TableAction::SetIdentity { .. } | TableAction::DropIdentity { .. } => {
            let s = step(ctx, sql, Operation::Identity, table, None);
            Ok(vec![draft(Expand, carry(why(s, "Catalog only; the lock is brief."), change))])
        }
        TableAction::DropExpression { .. } | TableAction::SetExpression { .. } => {
            let rewrites = matches!(action, TableAction::SetExpression { .. });
            let op = if rewrites { Operation::AlterColumnTypeRewrite } else { Operation::DropExpression };
            let s = step(ctx, sql, op, table, None);
            Ok(vec![draft(Expand, carry(why(s, "Changes how the column is computed."), change))])
        }
        TableAction::RenameTo { .. } => {
            let s = step(ctx, sql, Operation::RenameTable, table, None);
            Ok(vec![draft(Expand, carry(s, change))])
        }
        TableAction::RenameColumn { .. } => {
            let s = step(ctx, sql, Operation::RenameColumn, table, None);
            Ok(vec![draft(Expand, carry(s, change))])
        }
        TableAction::AddConstraintUsingIndex { .. } => {
            let s = step(ctx, sql, Operation::AddConstraintUsingIndex, table, None);
            Ok(vec![draft(Switch, carry(s, change))])
        }
    }
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

/// Type changes PostgreSQL makes without rewriting the table or its indexes.
pub fn binary_compatible(from: &str, to: &str) -> bool {
    fn split(t: &str) -> (&str, Vec<i64>) {
        match t.split_once('(') {
            Some((base, args)) => {
                (base.trim(), args.trim_end_matches(')').split(',').filter_map(|a| a.trim().parse().ok()).collect())
            }
            None => (t.trim(), Vec::new()),
        }
    }
    let (fb, fa) = split(from);
    let (tb, ta) = split(to);
    match (fb, tb) {
        ("character varying", "character varying") | ("bit varying", "bit varying") => {
            ta.is_empty() || (!fa.is_empty() && ta[0] >= fa[0])
        }
        ("character varying", "text") | ("text", "character varying") => ta.is_empty(),
        ("numeric", "numeric") => ta.is_empty() || (fa.len() == 2 && ta.len() == 2 && ta[1] == fa[1] && ta[0] >= fa[0]),
        _ => from == to,
    }
}

/// Functions whose value differs per row; as a column default they make ADD COLUMN rewrite
/// the table. STABLE functions such as now() are evaluated once and stored in the catalog.
/// Built-in and extension functions are recognised by name (their calls are not recorded
/// as dependencies); user routines by the dependencies of the default and their
/// volatility in the catalog, never by reading their definitions.
fn volatile_default(ctx: &PlanCtx, table: &QualName, column: &str, expression: &str) -> bool {
    const VOLATILE: &[&str] = &[
        "random(",
        "gen_random_uuid(",
        "uuid_generate_v1",
        "uuid_generate_v4(",
        "clock_timestamp(",
        "timeofday(",
        "nextval(",
        "txid_current(",
        "statement_timestamp(",
    ];
    let lower = expression.to_ascii_lowercase();
    if VOLATILE.iter().any(|f| lower.contains(f)) {
        return true;
    }
    let default = ObjId::ColumnDefault { table: table.clone(), column: column.to_string() };
    ctx.desired.dependencies.iter().filter(|d| d.dependent == default).any(|d| match &d.referenced {
        ObjId::Function { id } => ctx.desired.functions.get(id).is_none_or(|f| f.volatility == Volatility::Volatile),
        _ => false,
    })
}

fn add_column(ctx: &PlanCtx, change: &Change, table: &QualName, col: &Column) -> Recipe {
    let size = ctx.size(table);
    let sql = change.stmt.to_string();
    let drop_back = Some(
        IfExists(&Stmt::AlterTable {
            name: table.clone(),
            action: TableAction::DropColumn { column: col.name.clone() },
        })
        .to_string(),
    );
    let rewrite_op = if col.identity.is_some() {
        Some(Operation::AddColumnIdentity)
    } else if col.generated.as_ref().is_some_and(|g| g.stored) {
        Some(Operation::AddColumnStoredGenerated)
    } else {
        None
    };
    let added = Postcondition::Column {
        table: table.clone(),
        column: col.name.clone(),
        exists: true,
        not_null: col.not_null.then_some(true),
    };
    if let Some(op) = rewrite_op {
        let s = leaves(step(ctx, sql, op, table, None), added);
        let s = rollback(with_estimate(s, estimate::rewrite(size)), drop_back);
        if !ctx.is_small(table) && !ctx.options.allow_downtime {
            return Err(blocker(
                change,
                "add_column_rewrite",
                format!(
                    "adding {table}.{} fills it for every existing row, rewriting {table} under ACCESS EXCLUSIVE{}.",
                    col.name,
                    size_phrase(size)
                ),
                vec![
                    format!(
                        "add {} as a plain nullable column, fill it in batches, then make it an identity or generated column in a later migration",
                        col.name
                    ),
                    "accept the outage in a maintenance window: plan again with --allow-downtime".into(),
                ],
            ));
        }
        return Ok(vec![draft(
            Expand,
            carry(why(s, small_or_window(ctx, table, "Fills the new column for every row")), change),
        )]);
    }
    let volatile = col.default.as_deref().is_some_and(|d| volatile_default(ctx, table, &col.name, d));
    if col.not_null && col.default.is_none() && !ctx.is_empty(table) {
        return Err(blocker(
            change,
            "not_null_without_default",
            format!(
                "{table}.{} is NOT NULL without a default, and {table} may hold rows{}: the existing rows would have no value, so the statement fails, and the running application's inserts would fail too.",
                col.name,
                size_phrase(size)
            ),
            vec![
                "give the column a default (a constant default is stored in the catalog, no rewrite)".into(),
                format!("add {} as nullable, backfill it, and set NOT NULL in a later migration", col.name),
            ],
        ));
    }
    if !volatile {
        let s = leaves(step(ctx, sql, Operation::AddColumn, table, None), added);
        let s = rollback(s, drop_back);
        let text = match &col.default {
            Some(_) => "A constant default is stored in the catalog (PostgreSQL 11+): no rewrite, the lock is brief.",
            None => "A nullable column without a default: catalog only, the lock is brief.",
        };
        return Ok(vec![draft(Expand, carry(why(s, text), change))]);
    }
    // A volatile default: add the column bare, set the default for new rows, fill the
    // existing rows in batches, then enforce NOT NULL.
    let expression = col.default.clone().unwrap_or_default();
    let mut bare = col.clone();
    bare.default = None;
    bare.not_null = false;
    let add = Stmt::AlterTable { name: table.clone(), action: TableAction::AddColumn(Box::new(bare)) };
    let s = step(ctx, add.to_string(), Operation::AddColumn, table, None);
    let s = leaves(rollback(s, drop_back), column_exists(table, &col.name, true));
    let mut out = vec![draft(
        Expand,
        carry(
            why(s, "Adds the column without its volatile default, which would rewrite the table; catalog only."),
            change,
        ),
    )];
    let set = Stmt::AlterTable {
        name: table.clone(),
        action: TableAction::SetDefault { column: col.name.clone(), expression: expression.clone() },
    };
    let s = step(ctx, set.to_string(), Operation::SetDefault, table, None);
    let s = rollback(
        s,
        Some(
            Stmt::AlterTable { name: table.clone(), action: TableAction::DropDefault { column: col.name.clone() } }
                .to_string(),
        ),
    );
    out.push(draft(Expand, why(s, "New rows get the default from now on; catalog only.")));
    let mut enforce = if col.not_null { not_null_steps(ctx, table, &col.name)? } else { Vec::new() };
    if ctx.is_empty(table) {
        // No row to fill: the NOT VALID rule goes in with the column.
        let in_expand = enforce.iter().take_while(|d| d.phase == Expand).count();
        out.extend(enforce.drain(..in_expand));
    } else {
        // The NOT VALID rule waits for the backfill: PostgreSQL checks it on every row an
        // UPDATE writes, so before the backfill the running application's updates of rows
        // still NULL would fail. New rows get the default, so none is NULL by the time it
        // goes in.
        for d in enforce.iter_mut().filter(|d| d.phase == Expand) {
            d.phase = Switch;
        }
        let batch = Stmt::BackfillBatch {
            table: table.clone(),
            column: col.name.clone(),
            expression,
            batch_size: ctx.options.batch_size,
            only_where: None,
        };
        let s = backfill_step(ctx, batch, table, &col.name);
        let filled = Postcondition::Filled { table: table.clone(), column: col.name.clone(), source: None };
        out.push(draft(Backfill, leaves(s, filled)));
    }
    out.extend(enforce);
    Ok(out)
}

/// A backfill step from its batch statement (a [`Stmt::BackfillBatch`]): the statement is
/// the step's `sql` (plans run it until it changes no row), its parts the engine's spec.
pub(super) fn backfill_step(ctx: &PlanCtx, batch: Stmt, table: &QualName, column: &str) -> Step {
    let spec = match &batch {
        Stmt::BackfillBatch { table, column, expression, batch_size, only_where } => Some(BackfillSpec {
            table: table.clone(),
            key: backfill_key(ctx, table),
            column: column.clone(),
            expression: expression.clone(),
            only_where: only_where.clone(),
            batch_size: *batch_size,
        }),
        _ => None,
    };
    let mut s = step(ctx, batch.to_string(), Operation::Other, table, None);
    s.locks = vec![Lock { mode: LockMode::RowExclusive, relation: quote::qualified(table) }];
    s.hazards = vec![Hazard::new(
        HazardCode::PerformanceImpact,
        format!("updates every row of {table} in batches: write load, WAL and replication lag while it runs"),
    )];
    s.statement_timeout_ms = BATCH_STATEMENT_TIMEOUT_MS;
    s.estimate = estimate::backfill(ctx.size(table));
    s.backfill = Some(Backfill { table: quote::qualified(table), batch_size: ctx.options.batch_size, spec });
    why(
        s,
        format!(
            "Fills {column} for existing rows {} at a time, each batch its own short transaction, so row locks are held briefly; repeated until no row is left.",
            ctx.options.batch_size
        ),
    )
}

/// The key a backfill walks `table` by: its primary key, else a unique constraint (or a
/// plain unique btree index over columns) whose columns are all NOT NULL, fewest columns
/// first; else ranges of pages.
fn backfill_key(ctx: &PlanCtx, table: &QualName) -> BackfillKey {
    let Some(t) = ctx.current.tables.get(table) else { return BackfillKey::Ctid };
    let typed = |names: &[String]| -> Option<Vec<KeyColumn>> {
        names
            .iter()
            .map(|n| {
                t.column(n)
                    .filter(|c| c.not_null)
                    .map(|c| KeyColumn { name: c.name.clone(), data_type: c.data_type.clone() })
            })
            .collect::<Option<Vec<_>>>()
            .filter(|cols| !cols.is_empty())
    };
    let constraint = |kind: ConstraintKind| {
        t.constraints
            .values()
            .filter(|c| c.kind == kind && !c.deferrable)
            .filter_map(|c| typed(&c.columns))
            .min_by_key(|cols| cols.len())
    };
    let index = || {
        t.indexes
            .values()
            .filter(|i| {
                i.unique
                    && i.valid
                    && i.method == "btree"
                    && i.predicate.is_none()
                    && i.keys.iter().all(|k| {
                        k.column.is_some()
                            && k.expression.is_none()
                            && k.collation.is_none()
                            && k.opclass.is_none()
                            && !k.descending
                    })
            })
            .filter_map(|i| typed(&i.keys.iter().filter_map(|k| k.column.clone()).collect::<Vec<_>>()))
            .min_by_key(|cols| cols.len())
    };
    match constraint(ConstraintKind::PrimaryKey).or_else(|| constraint(ConstraintKind::Unique)).or_else(index) {
        Some(columns) => BackfillKey::Columns { columns },
        None => BackfillKey::Ctid,
    }
}

fn set_not_null(ctx: &PlanCtx, change: &Change, table: &QualName, column: &str) -> Recipe {
    if ctx.is_small(table) {
        let s = step(ctx, change.stmt.to_string(), Operation::SetNotNull, table, None);
        let s = with_estimate(s, estimate::scan(ctx.size(table)));
        let s = hazard(s, HazardCode::MayFailOnExistingData, format!("fails if {table}.{column} holds NULLs"));
        let s = leaves(s, column_not_null(table, column));
        let s = rollback(
            s,
            Some(
                Stmt::AlterTable {
                    name: table.clone(),
                    action: TableAction::DropNotNull { column: column.to_string() },
                }
                .to_string(),
            ),
        );
        return Ok(vec![draft(Switch, carry(why(s, small_or_window(ctx, table, "Checks every row")), change))]);
    }
    Ok(not_null_steps(ctx, table, column)?.into_iter().map(|d| Draft { step: carry(d.step, change), ..d }).collect())
}

/// NOT NULL without a long ACCESS EXCLUSIVE scan: a NOT VALID CHECK (or, on PostgreSQL 18,
/// a NOT VALID NOT NULL constraint), validated under SHARE UPDATE EXCLUSIVE, then SET NOT
/// NULL, which skips its scan when a validated CHECK proves it (PostgreSQL 12+).
pub(super) fn not_null_steps(ctx: &PlanCtx, table: &QualName, column: &str) -> Result<Vec<Draft>, Box<Blocker>> {
    let size = ctx.size(table);
    let check = object_name(&[&table.name, column], "not_null");
    let mut out = Vec::new();
    if locks::lookup(Operation::AddNotNullNotValid, ctx.version).is_some() {
        let add = format!(
            "ALTER TABLE {} ADD CONSTRAINT {} NOT NULL {} NOT VALID",
            quote::qualified(table),
            quote::ident(&check),
            quote::ident(column)
        );
        let s = step(ctx, add, Operation::AddNotNullNotValid, table, None);
        let s = leaves(s, constraint(table, &check, true, None));
        let s = rollback(
            s,
            Some(
                Stmt::AlterTable { name: table.clone(), action: TableAction::DropConstraint { name: check.clone() } }
                    .to_string(),
            ),
        );
        out.push(draft(Expand, why(s, "Adds NOT NULL for new rows only (NOT VALID, PostgreSQL 18); catalog only.")));
        let validated = constraint(table, &check, true, Some(true));
        let validate =
            Stmt::AlterTable { name: table.clone(), action: TableAction::ValidateConstraint { name: check } };
        let s = leaves(step(ctx, validate.to_string(), Operation::ValidateCheck, table, None), validated);
        let s = with_estimate(s, estimate::scan(size));
        let s = hazard(s, HazardCode::MayFailOnExistingData, format!("fails if {table}.{column} holds NULLs"));
        out.push(draft(
            Switch,
            why(s, "Checks existing rows under SHARE UPDATE EXCLUSIVE: reads and writes continue."),
        ));
        return Ok(out);
    }
    let add = Stmt::AlterTable {
        name: table.clone(),
        action: TableAction::AddConstraint {
            name: check.clone(),
            definition: format!("CHECK ({} IS NOT NULL)", quote::ident(column)),
            not_valid: true,
        },
    };
    let s = step(ctx, add.to_string(), Operation::AddCheckNotValid, table, None);
    let s = leaves(s, constraint(table, &check, true, None));
    let s = rollback(
        s,
        Some(
            IfExists(&Stmt::AlterTable {
                name: table.clone(),
                action: TableAction::DropConstraint { name: check.clone() },
            })
            .to_string(),
        ),
    );
    out.push(draft(Expand, why(s, "Adds the rule for new rows only (NOT VALID); catalog only.")));
    let validate =
        Stmt::AlterTable { name: table.clone(), action: TableAction::ValidateConstraint { name: check.clone() } };
    let s = step(ctx, validate.to_string(), Operation::ValidateCheck, table, None);
    let s = leaves(s, constraint(table, &check, true, Some(true)));
    let s = with_estimate(s, estimate::scan(size));
    let s = hazard(s, HazardCode::MayFailOnExistingData, format!("fails if {table}.{column} holds NULLs"));
    out.push(draft(Switch, why(s, "Checks existing rows under SHARE UPDATE EXCLUSIVE: reads and writes continue.")));
    let set = format!(
        "{};\n{}",
        Stmt::AlterTable { name: table.clone(), action: TableAction::SetNotNull { column: column.to_string() } },
        Stmt::AlterTable { name: table.clone(), action: TableAction::DropConstraint { name: check.clone() } }
    );
    let check_name = check;
    let s = step(ctx, set, Operation::SetNotNullWithValidatedCheck, table, None);
    let s = leaves(s, column_not_null(table, column));
    let s = leaves(s, constraint(table, &check_name, false, None));
    let s = rollback(
        s,
        Some(
            Stmt::AlterTable { name: table.clone(), action: TableAction::DropNotNull { column: column.to_string() } }
                .to_string(),
        ),
    );
    out.push(draft(Switch, why(s, "SET NOT NULL skips its scan because the validated CHECK proves it (PostgreSQL 12+); the CHECK is then dropped. Both are catalog only, in one short transaction.")));
    Ok(out)
}

fn add_constraint(
    ctx: &PlanCtx,
    change: &Change,
    table: &QualName,
    name: &str,
    definition: &str,
    not_valid: bool,
    new_table: Option<&Table>,
) -> Recipe {
    let constraint = new_table.and_then(|t| t.constraints.get(name));
    let kind = constraint.map(|c| c.kind).unwrap_or(ConstraintKind::Check);
    let referenced = constraint.and_then(|c| c.foreign_key.as_ref()).map(|f| f.referenced_table.clone());
    let drop_back = Some(
        IfExists(&Stmt::AlterTable {
            name: table.clone(),
            action: TableAction::DropConstraint { name: name.to_string() },
        })
        .to_string(),
    );
    let size = ctx.size(table);
    let new = ctx.is_new_table(table);
    match kind {
        ConstraintKind::ForeignKey | ConstraintKind::Check => {
            let fk = kind == ConstraintKind::ForeignKey;
            let partitioned = ctx.current.tables.get(table).is_some_and(|t| t.partition_key.is_some());
            let can_defer = !(fk && partitioned && ctx.version < 180000);
            if new || not_valid || !can_defer {
                let op = match (fk, not_valid || new) {
                    (true, true) => Operation::AddForeignKeyNotValid,
                    (true, false) => Operation::AddForeignKey,
                    (false, true) => Operation::AddCheckNotValid,
                    (false, false) => Operation::AddCheck,
                };
                let s = step(ctx, change.stmt.to_string(), op, table, referenced.as_ref());
                let s = rollback(s, drop_back);
                if !new && !not_valid {
                    let s = with_estimate(s, if fk { estimate::fk_validation(size) } else { estimate::scan(size) });
                    if !ctx.is_small(table) && !ctx.options.allow_downtime {
                        return Err(blocker(
                            change,
                            "constraint_validation_under_lock",
                            format!(
                                "{table} is partitioned: before PostgreSQL 18 a foreign key on it cannot be added NOT VALID, so adding {name} checks every row while writes to both tables wait{}.",
                                size_phrase(size)
                            ),
                            vec![
                                "add the foreign key on each partition NOT VALID and validate it, then on the parent"
                                    .into(),
                                "accept the write lock in a maintenance window: plan again with --allow-downtime"
                                    .into(),
                            ],
                        ));
                    }
                    return Ok(vec![draft(
                        Expand,
                        carry(why(s, small_or_window(ctx, table, "Checks every row")), change),
                    )]);
                }
                let text = if new {
                    "The table is new and empty: nothing to check."
                } else {
                    "NOT VALID as the desired schema asks: new rows are checked, existing rows are not."
                };
                return Ok(vec![draft(Expand, carry(why(s, text), change))]);
            }
            let add = Stmt::AlterTable {
                name: table.clone(),
                action: TableAction::AddConstraint {
                    name: name.to_string(),
                    definition: definition.to_string(),
                    not_valid: true,
                },
            };
            let op = if fk { Operation::AddForeignKeyNotValid } else { Operation::AddCheckNotValid };
            let s = step(ctx, add.to_string(), op, table, referenced.as_ref());
            let s = rollback(s, drop_back);
            let first = why(
                s,
                "NOT VALID: new and updated rows are checked from now on, existing rows are not scanned, so the lock is brief.",
            );
            let validate = Stmt::AlterTable {
                name: table.clone(),
                action: TableAction::ValidateConstraint { name: name.to_string() },
            };
            let op = if fk { Operation::ValidateForeignKey } else { Operation::ValidateCheck };
            let s = step(ctx, validate.to_string(), op, table, referenced.as_ref());
            let s = with_estimate(s, if fk { estimate::fk_validation(size) } else { estimate::scan(size) });
            let s = hazard(
                s,
                HazardCode::MayFailOnExistingData,
                format!("fails if an existing row of {table} breaks {name}"),
            );
            let second = why(s, "Checks existing rows under SHARE UPDATE EXCLUSIVE: reads and writes continue.");
            Ok(vec![draft(Expand, carry(first, change)), draft(Switch, second)])
        }
        ConstraintKind::PrimaryKey | ConstraintKind::Unique if !new => {
            let Some(c) = constraint else {
                return Ok(vec![draft(
                    Expand,
                    step(ctx, change.stmt.to_string(), Operation::AddUniqueOrPrimaryKey, table, None),
                )]);
            };
            let primary = kind == ConstraintKind::PrimaryKey;
            let index = Index {
                method: "btree".into(),
                unique: true,
                keys: c
                    .columns
                    .iter()
                    .map(|col| IndexKey {
                        column: Some(col.clone()),
                        expression: None,
                        collation: None,
                        opclass: None,
                        opclass_options: Vec::new(),
                        descending: false,
                        nulls_first: false,
                    })
                    .collect(),
                include_columns: c.include_columns.clone(),
                predicate: None,
                nulls_not_distinct: c.nulls_not_distinct,
                options: Vec::new(),
                valid: true,
                parent_index: None,
                comment: None,
            };
            let partitioned = ctx.current.tables.get(table).is_some_and(|t| t.partition_key.is_some());
            if partitioned {
                let s = step(ctx, change.stmt.to_string(), Operation::AddUniqueOrPrimaryKey, table, None);
                let s = with_estimate(rollback(s, drop_back), estimate::index_build(size, false));
                if !ctx.is_small(table) && !ctx.options.allow_downtime {
                    return Err(blocker(
                        change,
                        "unique_on_partitioned_table",
                        format!("{table} is partitioned: its unique index cannot be built concurrently, so adding {name} blocks the table while it builds{}.", size_phrase(size)),
                        vec!["build unique indexes concurrently on each partition and attach them to an index created ON ONLY the parent".into(), "accept the lock in a maintenance window: plan again with --allow-downtime".into()],
                    ));
                }
                return Ok(vec![draft(
                    Expand,
                    carry(why(s, small_or_window(ctx, table, "Builds the unique index")), change),
                )]);
            }
            let build = Stmt::CreateIndex {
                name: name.to_string(),
                table: table.clone(),
                index: Box::new(index),
                concurrently: true,
            };
            let s = step(ctx, build.to_string(), Operation::CreateIndexConcurrently, table, None);
            let s = builds_index(s, index_name(table, name));
            let s = with_estimate(s, estimate::index_build(size, true));
            let s = rollback(
                s,
                Some(IfExists(&Stmt::DropIndex { name: index_name(table, name), concurrently: true }).to_string()),
            );
            let s = hazard(s, HazardCode::IndexBuild, format!("builds the unique index for {name} on {table}"));
            let s = hazard(
                s,
                HazardCode::MayFailOnExistingData,
                format!("fails if {table} has duplicate keys; the rollback drops the INVALID index it leaves"),
            );
            let first = why(s, "Builds the constraint's unique index CONCURRENTLY, while reads and writes continue.");
            let attach = Stmt::AlterTable {
                name: table.clone(),
                action: TableAction::AddConstraintUsingIndex {
                    name: name.to_string(),
                    primary_key: primary,
                    index: name.to_string(),
                    deferrable: c.deferrable,
                    initially_deferred: c.initially_deferred,
                },
            };
            let s = step(ctx, attach.to_string(), Operation::AddConstraintUsingIndex, table, None);
            let s = rollback(s, drop_back);
            let text = if primary {
                "Turns the built index into the primary key; catalog only, because the key columns are already NOT NULL."
            } else {
                "Turns the built index into the constraint; catalog only."
            };
            Ok(vec![draft(Expand, carry(first, change)), draft(Switch, why(s, text))])
        }
        ConstraintKind::PrimaryKey | ConstraintKind::Unique => {
            let s = step(ctx, change.stmt.to_string(), Operation::AddUniqueOrPrimaryKey, table, None);
            Ok(vec![draft(
                Expand,
                carry(why(rollback(s, drop_back), "The table is new and empty: the index builds instantly."), change),
            )])
        }
        ConstraintKind::Exclusion => {
            let s = step(ctx, change.stmt.to_string(), Operation::AddExclusion, table, None);
            let s = with_estimate(rollback(s, drop_back), estimate::index_build(size, false));
            if !ctx.is_small(table) && !ctx.options.allow_downtime {
                return Err(blocker(
                    change,
                    "exclusion_constraint_under_lock",
                    format!(
                        "an exclusion constraint cannot be added concurrently: adding {name} blocks reads and writes of {table} while its index builds{}.",
                        size_phrase(size)
                    ),
                    vec!["accept the outage in a maintenance window: plan again with --allow-downtime".into()],
                ));
            }
            Ok(vec![draft(Expand, carry(why(s, small_or_window(ctx, table, "Builds the exclusion index")), change))])
        }
    }
}

/// ATTACH PARTITION scans the new partition under ACCESS EXCLUSIVE to check its bound,
/// unless a valid CHECK constraint already proves it. So a large partition first gets that
/// CHECK, NOT VALID (brief) and validated under SHARE UPDATE EXCLUSIVE; the attach is then
/// catalog only, and the CHECK is dropped.
fn attach_partition(
    ctx: &PlanCtx,
    change: &Change,
    parent: &QualName,
    partition: &QualName,
    bound: &PartitionBound,
) -> Recipe {
    let key = ctx.desired.tables.get(parent).and_then(|t| t.partition_key.as_ref());
    let check = match key {
        Some(key) if !ctx.is_new_table(partition) && !ctx.is_small(partition) => {
            cutover_sql::bound::check_expression(key, bound)
        }
        _ => None,
    };
    let size = ctx.size(partition);
    let attach = step(ctx, change.stmt.to_string(), Operation::AttachPartition, partition, Some(parent));
    let attach = hazard(
        attach,
        HazardCode::MayFailOnExistingData,
        format!("fails if a row of {partition} lies outside the partition bound"),
    );
    let Some(expression) = check else {
        let s = with_estimate(attach, estimate::scan(size));
        return Ok(vec![draft(
            Expand,
            carry(
                why(
                    s,
                    "Attaches the partition; the parent takes only SHARE UPDATE EXCLUSIVE, the new partition is scanned to check its bound.",
                ),
                change,
            ),
        )]);
    };
    let name = object_name(&[&partition.name], "cutover_bound");
    let drop = Stmt::AlterTable { name: partition.clone(), action: TableAction::DropConstraint { name: name.clone() } };
    let add = Stmt::AlterTable {
        name: partition.clone(),
        action: TableAction::AddConstraint {
            name: name.clone(),
            definition: format!("CHECK ({expression})"),
            not_valid: true,
        },
    };
    let s = step(ctx, add.to_string(), Operation::AddCheckNotValid, partition, None);
    let s = rollback(s, Some(IfExists(&drop).to_string()));
    let mut out = vec![draft(Expand, why(s, "A CHECK matching the partition bound, NOT VALID: catalog only."))];
    let validate = Stmt::AlterTable { name: partition.clone(), action: TableAction::ValidateConstraint { name } };
    let s = step(ctx, validate.to_string(), Operation::ValidateCheck, partition, None);
    let s = with_estimate(s, estimate::scan(size));
    let s = hazard(
        s,
        HazardCode::MayFailOnExistingData,
        format!("fails if a row of {partition} lies outside the partition bound"),
    );
    out.push(draft(
        Expand,
        why(s, "Checks the rows against the bound under SHARE UPDATE EXCLUSIVE: reads and writes continue."),
    ));
    let mut attach = attach;
    attach.scans_table = false;
    attach.estimate = None;
    attach.hazards.retain(|h| h.code != HazardCode::FullScanUnderLock);
    let detach = Stmt::AlterTable {
        name: parent.clone(),
        action: TableAction::DetachPartition { partition: partition.clone(), concurrently: false },
    };
    let attach = rollback(attach, Some(detach.to_string()));
    out.push(draft(
        Expand,
        carry(why(attach, "The validated CHECK proves the bound, so the attach skips its scan: catalog only."), change),
    ));
    let s = step(ctx, drop.to_string(), Operation::DropConstraint, partition, None);
    out.push(draft(Expand, why(s, "The CHECK has done its job; catalog only.")));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_compatible_type_changes() {
        assert!(binary_compatible("character varying(10)", "character varying(20)"));
        assert!(binary_compatible("character varying(10)", "text"));
        assert!(binary_compatible("numeric(10,2)", "numeric(12,2)"));
        assert!(!binary_compatible("integer", "bigint"));
        assert!(!binary_compatible("character varying(20)", "character varying(10)"));
        assert!(!binary_compatible("text", "character varying(10)"));
    }

    #[test]
    fn generated_names_fit() {
        assert_eq!(object_name(&["users", "email"], "not_null"), "users_email_not_null");
        assert!(object_name(&[&"x".repeat(60), "y"], "not_null").len() <= 63);
    }
}

/// Recipes take what they need from the model's structure, never from printed definitions:
/// a definition that says otherwise (or holds SQL in a name) changes nothing.
#[cfg(test)]
mod structure_tests {
    use super::super::{PlanOptions, plan};
    use cutover_schema::*;
    use std::collections::{BTreeMap, BTreeSet};

    const HOSTILE: &str = "x DEFERRABLE;DROP TABLE users;--";

    fn column(name: &str) -> Column {
        Column {
            name: name.into(),
            data_type: "text".into(),
            not_null: false,
            default: None,
            identity: None,
            generated: None,
            collation: None,
            is_local: true,
            comment: None,
            grants: BTreeSet::new(),
        }
    }

    fn catalog(constraints: BTreeMap<String, Constraint>) -> Catalog {
        let users = QualName::new("public", "users");
        let mut c = Catalog::default();
        c.schemas.insert("public".into(), Namespace::default());
        c.tables.insert(
            users.clone(),
            Table {
                kind: TableKind::Ordinary,
                unlogged: false,
                columns: vec![column(HOSTILE), column("a) INCLUDE (b")],
                partition_key: None,
                partition_of: None,
                inherits: Vec::new(),
                constraints,
                indexes: BTreeMap::new(),
                triggers: BTreeMap::new(),
                policies: BTreeMap::new(),
                rls_enabled: false,
                rls_forced: false,
                options: Vec::new(),
                comment: None,
                grants: BTreeSet::new(),
            },
        );
        c.facts.server_version_num = 150000;
        c.facts.tables.insert(users, TableFacts { rows: Some(3_000_000), bytes: 400_000_000 });
        c
    }

    fn unique(definition: &str, deferrable: bool, include: &[&str], nulls_not_distinct: bool) -> Constraint {
        Constraint {
            kind: ConstraintKind::Unique,
            definition: definition.into(),
            columns: vec![HOSTILE.into()],
            validated: true,
            deferrable,
            initially_deferred: false,
            foreign_key: None,
            index: Some("k".into()),
            include_columns: include.iter().map(|c| c.to_string()).collect(),
            nulls_not_distinct,
            comment: None,
        }
    }

    fn planned_sql(constraint: Constraint) -> Vec<String> {
        let desired = catalog([("k".to_string(), constraint)].into());
        let plan = plan(&catalog(BTreeMap::new()), &desired, &PlanOptions::default());
        assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
        plan.phases.iter().flat_map(|p| &p.steps).map(|s| s.sql.clone()).collect()
    }

    #[test]
    fn a_unique_constraint_through_a_concurrent_index_takes_its_parts_from_structure() {
        // The printed definition names DEFERRABLE, INCLUDE and NULLS NOT DISTINCT only inside
        // a quoted column name: none of them is part of the constraint.
        let printed = format!("UNIQUE (\"{HOSTILE}\")");
        assert_eq!(
            planned_sql(unique(&printed, false, &[], false)),
            [
                format!("CREATE UNIQUE INDEX CONCURRENTLY k ON public.users USING btree (\"{HOSTILE}\")"),
                "ALTER TABLE public.users ADD CONSTRAINT k UNIQUE USING INDEX k".to_string(),
            ]
        );
        // And what the structure says is there, whatever the text says.
        assert_eq!(
            planned_sql(unique("UNIQUE (x)", true, &["a) INCLUDE (b"], true)),
            [
                format!(
                    "CREATE UNIQUE INDEX CONCURRENTLY k ON public.users USING btree (\"{HOSTILE}\") \
                     INCLUDE (\"a) INCLUDE (b\") NULLS NOT DISTINCT"
                ),
                "ALTER TABLE public.users ADD CONSTRAINT k UNIQUE USING INDEX k DEFERRABLE".to_string(),
            ]
        );
    }
}
