//! Columns: added (with a default that may rewrite), dropped in contract, retyped in place
//! or by a rewrite, defaults, and NOT NULL proved by a validated CHECK first. Swaps to a new
//! column (a type change that would rewrite a large table, a rename) are in `column_swaps`.

use super::{
    Recipe, app_change, backfill_step, blocked, blocker, carry, column_exists, column_not_null, column_swaps,
    constraint, draft, hazard, leaves, object_name, rollback, size_phrase, small_or_window, step, why, with_estimate,
};
use crate::diff::{Change, Diff};
use crate::hazard::{BlockerCode, HazardCode};
use crate::locks::{self, Operation};
use crate::planner::estimate;
use crate::planner::model::{AppChange, Blocker, PhaseName, Postcondition, Step};
use crate::planner::{Draft, PlanCtx};
use cutover_schema::{Column, ObjId, QualName, Table, Volatility};
use cutover_sql::ddl::{self, IfExists, Stmt, TableAction};
use std::collections::BTreeSet;

use PhaseName::*;

/// Columns of live, large tables whose type change would rewrite the table and that can
/// move to a new column instead.
pub(in crate::planner) fn swapped_columns(ctx: &PlanCtx, diff: &Diff) -> BTreeSet<(QualName, String)> {
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
                && super::column_swaps::swap_obstacles(ctx, name, c).is_empty()
            {
                out.insert((name.clone(), c.clone()));
            }
        }
    }
    out
}

/// Rename hints that do not match a dropped and an added column of the diff.
pub(in crate::planner) fn unmatched_renames(ctx: &PlanCtx, diff: &Diff) -> Vec<Blocker> {
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
                code: BlockerCode::RenameNotInDiff,
                sql: format!("-- rename {}.{} to {}", r.table, r.from, r.to),
                message: format!(
                    "the rename of {}.{} to {} does not match the change: the desired schema must have {} and not {}.",
                    r.table, r.from, r.to, r.to, r.from
                ),
                options: vec!["check the table and column names of the rename".into()],
                hazards: vec![],
            });
        }
    }
    out
}

/// The rename hint for `column` of `table`, as its target (new name) or its source.
pub(super) fn rename_of<'a>(
    ctx: &'a PlanCtx,
    table: &QualName,
    column: &str,
    target: bool,
) -> Option<&'a super::ColumnRename> {
    ctx.options.renames.iter().find(|r| r.table == *table && if target { r.to == column } else { r.from == column })
}

/// Whether the column's type change moves it to a new column (`column_swaps::change_type`).
pub(super) fn swapped(ctx: &PlanCtx, table: &QualName, column: &str) -> bool {
    ctx.swapped_columns.contains(&(table.clone(), column.to_string()))
}

/// A table's column by name.
pub(super) fn column<'a>(t: Option<&'a Table>, name: &str) -> Option<&'a Column> {
    t.and_then(|t| t.column(name))
}

/// Type changes PostgreSQL makes without rewriting the table or its indexes.
pub(super) fn binary_compatible(from: &str, to: &str) -> bool {
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
pub(super) fn volatile_default(ctx: &PlanCtx, table: &QualName, column: &str, expression: &str) -> bool {
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

/// An added column: catalog only unless its default is volatile (then added empty and
/// backfilled), NOT NULL proved afterwards on live tables.
pub(super) fn add_column(ctx: &PlanCtx, change: &Change, table: &QualName, col: &Column) -> Recipe {
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
            return Err(blocked(
                s.clone(),
                change,
                BlockerCode::AddColumnRewrite,
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
            BlockerCode::NotNullWithoutDefault,
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

/// SET NOT NULL on a live table, through a validated CHECK (`not_null_steps`).
pub(super) fn set_not_null(ctx: &PlanCtx, change: &Change, table: &QualName, column: &str) -> Recipe {
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
        let add = Stmt::AlterTable {
            name: table.clone(),
            action: TableAction::AddConstraint {
                name: check.clone(),
                definition: ddl::not_null_definition(column),
                not_valid: true,
            },
        };
        let s = step(ctx, add.to_string(), Operation::AddNotNullNotValid, table, None);
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
            definition: ddl::check_definition(&ddl::is_not_null(column)),
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

/// A dropped column: catalog only, in contract, once no running version uses it.
pub(super) fn drop_column(ctx: &PlanCtx, change: &Change, table: &QualName, c: &str) -> Recipe {
    let sql = change.stmt.to_string();
    let s = step(ctx, sql, Operation::DropColumn, table, None);
    let s = hazard(
        s,
        HazardCode::BreaksRunningCode,
        format!("the application version running before this deploy may still read or write {table}.{c}"),
    );
    let s = why(s, "Catalog only (the space is reclaimed later); runs once no application version uses the column.");
    let s = leaves(s, column_exists(table, c, false));
    let s = app_change(s, AppChange::DropColumn { table: table.clone(), column: c.to_string() });
    Ok(vec![draft(Contract, carry(s, change))])
}

/// A type change made in place: catalog only when binary compatible, else a rewrite that a
/// large table refuses unless downtime is accepted (a swap to a new column is `column_swaps`).
pub(super) fn alter_column_type(ctx: &PlanCtx, change: &Change, table: &QualName, c: &str, data_type: &str) -> Recipe {
    let old_table = ctx.current.tables.get(table);
    let sql = change.stmt.to_string();
    let size = ctx.size(table);
    let old = column(old_table, c);
    let retype = |s: Step| match old {
        Some(o) => app_change(
            s,
            AppChange::RetypeColumn {
                table: table.clone(),
                column: c.to_string(),
                from: o.data_type.clone(),
                to: data_type.to_string(),
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
                    column: c.to_string(),
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
        let obstacles = column_swaps::swap_obstacles(ctx, table, c);
        return Err(blocked(
            s.clone(),
            change,
            BlockerCode::ColumnTypeRewrite,
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

/// A default set or dropped: catalog only, for rows written from now on.
pub(super) fn set_or_drop_default(
    ctx: &PlanCtx,
    change: &Change,
    table: &QualName,
    action: &TableAction,
    c: &str,
) -> Recipe {
    let old_table = ctx.current.tables.get(table);
    let sql = change.stmt.to_string();
    let op =
        if matches!(action, TableAction::SetDefault { .. }) { Operation::SetDefault } else { Operation::DropDefault };
    let s = step(ctx, sql, op, table, None);
    let back = match column(old_table, c).and_then(|o| o.default.clone()) {
        Some(expression) => TableAction::SetDefault { column: c.to_string(), expression },
        None => TableAction::DropDefault { column: c.to_string() },
    };
    let s = rollback(s, Some(Stmt::AlterTable { name: table.clone(), action: back }.to_string()));
    Ok(vec![draft(Expand, carry(why(s, "Catalog only; affects rows written from now on. The lock is brief."), change))])
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
}
