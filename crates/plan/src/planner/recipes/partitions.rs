//! Partitions: attached after a CHECK proves the bound, detached concurrently where the
//! server can.

use super::{Recipe, carry, draft, effect, hazard, object_name, rollback, step, why, with_estimate};
use crate::diff::Change;
use crate::hazard::HazardCode;
use crate::locks::{self, Operation};
use crate::planner::PlanCtx;
use crate::planner::estimate;
use crate::planner::model::{Effect, PhaseName};
use cutover_schema::{PartitionBound, QualName};
use cutover_sql::ddl::{self, IfExists, Stmt, TableAction};

use PhaseName::*;

/// ATTACH PARTITION scans the new partition under ACCESS EXCLUSIVE to check its bound,
/// unless a valid CHECK constraint already proves it. So a large partition first gets that
/// CHECK, NOT VALID (brief) and validated under SHARE UPDATE EXCLUSIVE; the attach is then
/// catalog only, and the CHECK is dropped.
pub(super) fn attach_partition(
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
    let operation = match check {
        Some(_) => Operation::AttachPartitionWithValidatedCheck,
        None => Operation::AttachPartition,
    };
    let attach = step(ctx, change.stmt.to_string(), operation, partition, Some(parent));
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
            definition: ddl::check_definition(&expression),
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

/// A detached partition: concurrently where the server can (14+), in contract.
pub(super) fn detach_partition(ctx: &PlanCtx, change: &Change, table: &QualName, partition: &QualName) -> Recipe {
    let old_table = ctx.current.tables.get(table);
    let new = ctx.is_new_table(table);
    // DETACH ... CONCURRENTLY (14+) leaves a CHECK mirroring the bound on the detached
    // table, named after its single key column; it is dropped right after unless the
    // desired schema keeps a constraint of that name.
    let key_column = match old_table.and_then(|t| t.partition_key.as_ref()).map(|k| k.columns.as_slice()) {
        Some([Some(column)]) => Some(column.clone()),
        _ => None,
    };
    let concurrent =
        locks::lookup(Operation::DetachPartitionConcurrently, ctx.version).is_some() && !new && key_column.is_some();
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
            let drop =
                Stmt::AlterTable { name: partition.clone(), action: TableAction::DropConstraint { name: check } };
            let s = step(ctx, IfExists(&drop).to_string(), Operation::DropConstraint, partition, None);
            out.push(draft(
                Contract,
                why(s, "Drops the CHECK that DETACH ... CONCURRENTLY leaves behind; catalog only."),
            ));
        }
    }
    Ok(out)
}
