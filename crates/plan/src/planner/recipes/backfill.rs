//! Backfills: batch steps and the key a batch walks a table by.

use super::{BATCH_STATEMENT_TIMEOUT_MS, hazard, step, why};
use crate::hazard::HazardCode;
use crate::locks::Operation;
use crate::planner::PlanCtx;
use crate::planner::estimate;
use crate::planner::model::{Backfill, BackfillKey, BackfillSpec, KeyColumn, Step};
use cutover_schema::{ConstraintKind, QualName};
use cutover_sql::ddl::Stmt;
use cutover_sql::quote;

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
    let s = step(ctx, batch.to_string(), Operation::BackfillBatch, table, None);
    let mut s = hazard(
        s,
        HazardCode::PerformanceImpact,
        format!("updates every row of {table} in batches: write load, WAL and replication lag while it runs"),
    );
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
pub(super) fn backfill_key(ctx: &PlanCtx, table: &QualName) -> BackfillKey {
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
