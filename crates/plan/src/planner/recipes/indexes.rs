//! Indexes: built concurrently on live tables, swapped under the same name, dropped
//! concurrently once nothing needs them.

use super::{
    Recipe, blocked, builds_index, carry, draft, effect, hazard, index_exists, leaves, object_name, rollback, step,
    why, with_estimate,
};
use crate::diff::{Change, Diff};
use crate::hazard::{BlockerCode, HazardCode};
use crate::locks::Operation;
use crate::planner::PlanCtx;
use crate::planner::estimate;
use crate::planner::model::{Effect, PhaseName, Postcondition};
use cutover_schema::{Index, QualName};
use cutover_sql::ddl::{IfExists, Stmt};
use std::collections::BTreeSet;

use PhaseName::*;

/// Indexes of live tables that the diff drops and creates again under the same name.
pub(in crate::planner) fn swapped_indexes(ctx: &PlanCtx, diff: &Diff) -> BTreeSet<QualName> {
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

/// An index's qualified name: indexes live in their table's schema.
pub(super) fn index_name(table: &QualName, name: &str) -> QualName {
    QualName::new(table.schema.clone(), name.to_string())
}

/// An index built concurrently on a live table (and swapped in when it replaces one).
pub(super) fn create_index(ctx: &PlanCtx, change: &Change, name: &str, table: &QualName, index: &Index) -> Recipe {
    let size = ctx.size(table);
    // A materialized view is not in `tables`, so `is_new_table` says yes for it, but it holds
    // the rows its query returned: an existing one is built on like a live table, a new one
    // plainly (nobody reads it yet), and both are index builds.
    let matview = |c: &cutover_schema::Catalog| c.views.get(table).is_some_and(|v| v.materialized);
    if matview(ctx.desired) && !matview(ctx.current) {
        let s = step(ctx, change.stmt.to_string(), Operation::CreateIndex, table, None);
        let s = rollback(
            s,
            Some(IfExists(&Stmt::DropIndex { name: index_name(table, name), concurrently: false }).to_string()),
        );
        let s = leaves(s, index_exists(table, index_name(table, name), true));
        let s = hazard(
            s,
            HazardCode::IndexBuild,
            format!("builds index {name} on materialized view {table}, over every row its query returned"),
        );
        return Ok(vec![draft(
            Expand,
            carry(why(s, "The materialized view is new: nobody reads it yet, so a plain build blocks no one."), change),
        )]);
    }
    if ctx.is_new_table(table) && !matview(ctx.current) {
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
            return Err(blocked(
                s.clone(),
                change,
                BlockerCode::IndexOnPartitionedTable,
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

/// An index dropped concurrently, in contract.
pub(super) fn drop_index(ctx: &PlanCtx, change: &Change, name: &QualName) -> Recipe {
    if ctx.swapped_indexes.contains(name) {
        return Ok(Vec::new()); // the create builds the new one and swaps it in
    }
    let owner = ctx.current.index_owner(name).cloned();
    let old = owner.as_ref().and_then(|t| {
        let on_table = ctx.current.tables.get(t).and_then(|t| t.indexes.get(&name.name));
        on_table.or_else(|| ctx.current.views.get(t).and_then(|v| v.indexes.get(&name.name)))
    });
    let table = owner.clone().unwrap_or_else(|| name.clone());
    let partitioned = owner.as_ref().and_then(|t| ctx.current.tables.get(t)).is_some_and(|t| t.partition_key.is_some());
    // An existing materialized view is read by the application like a live table.
    let live_matview = ctx.current.views.get(&table).is_some_and(|v| v.materialized);
    let concurrently = !partitioned && (!ctx.is_new_table(&table) || live_matview);
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
