//! Tables: created in expand, dropped in contract, and the `ALTER TABLE` actions, each sent
//! to the recipe of its kind.

use super::{
    Recipe, app_change, blocked, carry, column_swaps, columns, constraints, draft, hazard, leaves, partitions,
    rollback, size_phrase, small_or_window, step, why, with_estimate,
};
use crate::diff::Change;
use crate::hazard::{BlockerCode, HazardCode};
use crate::locks::Operation;
use crate::planner::PlanCtx;
use crate::planner::estimate;
use crate::planner::model::{AppChange, PhaseName, Postcondition};
use cutover_schema::QualName;
use cutover_sql::ddl::{IfExists, Stmt, TableAction};

use PhaseName::*;

/// An `ALTER TABLE` action, sent to the recipe of its kind.
pub(super) fn alter_table(ctx: &PlanCtx, change: &Change, table: &QualName, action: &TableAction) -> Recipe {
    let new_table = ctx.desired.tables.get(table);
    let sql = change.stmt.to_string();
    let size = ctx.size(table);
    match action {
        TableAction::AddColumn(col) => match columns::rename_of(ctx, table, &col.name, true) {
            Some(r) => column_swaps::rename_target(ctx, change, r, col),
            None => columns::add_column(ctx, change, table, col),
        },
        TableAction::DropColumn { column: c } if columns::rename_of(ctx, table, c, false).is_some() => {
            column_swaps::rename_source(ctx, change, columns::rename_of(ctx, table, c, false).expect("checked"))
        }
        // The new column of a type change carries the default, NOT NULL and comment itself.
        TableAction::SetDefault { column: c, .. }
        | TableAction::DropDefault { column: c }
        | TableAction::SetNotNull { column: c }
        | TableAction::DropNotNull { column: c }
            if columns::swapped(ctx, table, c) =>
        {
            Ok(Vec::new())
        }
        TableAction::AlterColumnType { column: c, using, .. } if columns::swapped(ctx, table, c) => {
            column_swaps::change_type(ctx, change, table, c, *using)
        }
        TableAction::DropColumn { column: c } => columns::drop_column(ctx, change, table, c),
        TableAction::AlterColumnType { column: c, data_type, .. } => {
            columns::alter_column_type(ctx, change, table, c, data_type)
        }
        TableAction::SetDefault { column: c, .. } | TableAction::DropDefault { column: c } => {
            columns::set_or_drop_default(ctx, change, table, action, c)
        }
        TableAction::DropNotNull { .. } => {
            let s = step(ctx, sql, Operation::DropNotNull, table, None);
            Ok(vec![draft(
                Expand,
                carry(why(s, "Relaxes a rule, so both application versions keep working; catalog only."), change),
            )])
        }
        TableAction::SetNotNull { column: c } => columns::set_not_null(ctx, change, table, c),
        TableAction::AddConstraint { name, definition, not_valid } => {
            let drafts = constraints::add_constraint(ctx, change, table, name, definition, *not_valid, new_table)?;
            Ok(constraints::constraint_added(drafts, table, name, *not_valid))
        }
        TableAction::ValidateConstraint { name } => constraints::validate_constraint(ctx, change, table, name),
        TableAction::DropConstraint { name } => constraints::drop_constraint(ctx, change, table, name),
        TableAction::SetLogged | TableAction::SetUnlogged => {
            let s = step(ctx, sql, Operation::SetLoggedOrUnlogged, table, None);
            let s = with_estimate(s, estimate::rewrite(size));
            if !ctx.is_small(table) && !ctx.options.allow_downtime {
                return Err(blocked(
                    s.clone(),
                    change,
                    BlockerCode::PersistenceRewrite,
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
        TableAction::AttachPartition { partition, bound } => {
            partitions::attach_partition(ctx, change, table, partition, bound)
        }
        TableAction::DetachPartition { partition, .. } => partitions::detach_partition(ctx, change, table, partition),
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

/// A new table: nothing uses it yet.
pub(super) fn create_table(ctx: &PlanCtx, change: &Change, name: &QualName) -> Recipe {
    let s = step(ctx, change.stmt.to_string(), Operation::CreateTable, name, None);
    let s = rollback(s, Some(IfExists(&Stmt::DropTable { name: name.clone() }).to_string()));
    let s = leaves(s, Postcondition::Table { table: name.clone(), exists: true });
    Ok(vec![draft(Expand, carry(why(s, "A new table: nothing uses it yet."), change))])
}

/// A dropped table, in contract.
pub(super) fn drop_table(ctx: &PlanCtx, change: &Change, name: &QualName) -> Recipe {
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
