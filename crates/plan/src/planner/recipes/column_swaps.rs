//! Expand/contract recipes for columns: a type change that would rewrite a large table, and
//! a rename. Both add a new column, keep it in step with the old one through a trigger,
//! fill it in batches, and retire the old column in the contract phase, so the application
//! version running now and the next one both work throughout.

use super::{
    Recipe, app_change, backfill_step, blocker, carry, column_exists, draft, hazard, index_exists, index_name, leaves,
    not_null_steps, object_name, rollback, step, trigger as trigger_exists, why, with_estimate,
};
use crate::diff::Change;
use crate::hazard::{BlockerCode, HazardCode};
use crate::locks::Operation;
use crate::planner::model::PhaseName;
use crate::planner::model::{AppChange, Postcondition, Step};
use crate::planner::{Draft, PlanCtx};
use cutover_schema::{Column, Index, ObjId, QualName};
use cutover_sql::ddl::{self, Conversion, IfExists, Stmt, TableAction, Target};
use cutover_sql::quote;

use PhaseName::*;

/// A column rename the user asked for: the diff sees a dropped and an added column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ColumnRename {
    pub table: QualName,
    pub from: String,
    pub to: String,
}

impl ColumnRename {
    /// Parses `schema.table.old=new` (or `table.old=new` in `public`).
    pub fn parse(text: &str) -> Result<ColumnRename, String> {
        let (path, to) = text.split_once('=').ok_or_else(|| format!("{text}: expected table.column=new_name"))?;
        let parts: Vec<&str> = path.split('.').collect();
        let (schema, table, from) = match parts.as_slice() {
            [schema, table, column] => (*schema, *table, *column),
            [table, column] => ("public", *table, *column),
            _ => return Err(format!("{text}: expected [schema.]table.column=new_name")),
        };
        if to.is_empty() || from.is_empty() || table.is_empty() {
            return Err(format!("{text}: expected [schema.]table.column=new_name"));
        }
        Ok(ColumnRename { table: QualName::new(schema, table), from: from.to_string(), to: to.to_string() })
    }
}

fn sync_names(table: &QualName, column: &str) -> (QualName, String) {
    let name = object_name(&[&table.name, column], "cutover_sync");
    (QualName::new(table.schema.clone(), name.clone()), name)
}

/// Why a column's type cannot be changed through a new column, if it cannot.
pub(super) fn swap_obstacles(ctx: &PlanCtx, table: &QualName, column: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Some(t) = ctx.current.tables.get(table) else { return vec!["the table is new".into()] };
    let Some(c) = t.column(column) else { return vec!["the column is new".into()] };
    if c.identity.is_some() {
        out.push("it is an identity column".into());
    }
    if c.generated.is_some() {
        out.push("it is a generated column".into());
    }
    if t.partition_key.is_some() || t.partition_of.is_some() || !t.inherits.is_empty() {
        out.push("the table takes part in partitioning or inheritance".into());
    }
    let id = ObjId::Column { table: table.clone(), name: column.to_string() };
    for d in ctx.current.dependencies.iter().filter(|d| d.referenced == id) {
        match &d.dependent {
            ObjId::Index { name } => {
                let index = t.indexes.get(&name.name);
                if index.is_none_or(|i| i.predicate.is_some() || i.keys.iter().any(|k| k.column.is_none())) {
                    out.push(format!("index {} uses it in an expression or predicate", name.name));
                }
            }
            ObjId::ColumnDefault { .. } | ObjId::SequenceOwner { .. } => {}
            other => out.push(format!("{other} depends on it")),
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The conversion from the old column to the new type, over `source` (`NEW.c` or `c`).
fn cast(source: &str, using: Option<Conversion>, data_type: &str) -> String {
    using.unwrap_or(Conversion::Cast).apply(source, data_type)
}

fn indexes_on<'a>(ctx: &'a PlanCtx, table: &QualName, column: &str) -> Vec<(&'a String, &'a Index)> {
    ctx.current
        .tables
        .get(table)
        .map(|t| {
            t.indexes
                .iter()
                .filter(|(_, i)| i.parent_index.is_none() && i.keys.iter().any(|k| k.column.as_deref() == Some(column)))
                .collect()
        })
        .unwrap_or_default()
}

/// A swap's new column and how it is kept in step with the column it replaces.
struct Sync<'a> {
    table: &'a QualName,
    /// The new column as first added: whatever it must not have yet is left out.
    bare: Column,
    /// The function and the row trigger that keep the columns in step (`sync_names`).
    function: QualName,
    trigger: String,
    /// The column whose writes are copied into the new one.
    source: &'a str,
    /// `NEW.source` as the new column's value; `reverse` copies back (a rename).
    forward: String,
    reverse: Option<String>,
    /// The backfill's value for rows already there, from `source`.
    fill: String,
    /// The recipe's words: why each step is there, and what the trigger costs.
    add_why: String,
    function_why: String,
    trigger_cost: String,
    trigger_why: String,
}

/// What every swap to a new column starts with, in expand: the new column added, the
/// function that copies writes into it and the row trigger that calls it; then, when the
/// table has rows, the backfill step for them, returned for the recipe to say what it leaves
/// and risks.
fn keep_in_step(ctx: &PlanCtx, change: &Change, sync: Sync) -> (Vec<Draft>, Option<Step>) {
    let table = sync.table;
    let target = sync.bare.name.clone();
    let add = Stmt::AlterTable { name: table.clone(), action: TableAction::AddColumn(Box::new(sync.bare)) };
    let s = step(ctx, add.to_string(), Operation::AddColumn, table, None);
    let s = leaves(s, column_exists(table, &target, true));
    let s = rollback(
        s,
        Some(
            IfExists(&Stmt::AlterTable {
                name: table.clone(),
                action: TableAction::DropColumn { column: target.clone() },
            })
            .to_string(),
        ),
    );
    let mut out = vec![draft(Expand, carry(why(s, sync.add_why), change))];

    let function = Stmt::CreateSyncFunction {
        name: sync.function.clone(),
        source: sync.source.into(),
        target: target.clone(),
        forward: sync.forward,
        reverse: sync.reverse,
    };
    let s = step(ctx, function.to_string(), Operation::CatalogOnly, table, None);
    let s = rollback(s, Some(IfExists(&ddl::drop_sync_function(&sync.function)).to_string()));
    out.push(draft(Expand, why(s, sync.function_why)));

    let trigger = Stmt::CreateRowTrigger { name: sync.trigger.clone(), table: table.clone(), function: sync.function };
    let s = step(ctx, trigger.to_string(), Operation::CreateTrigger, table, None);
    let s = leaves(s, trigger_exists(table, &sync.trigger, true));
    let s = rollback(
        s,
        Some(IfExists(&Stmt::DropTrigger { table: table.clone(), name: sync.trigger.clone() }).to_string()),
    );
    let s = hazard(s, HazardCode::PerformanceImpact, sync.trigger_cost);
    out.push(draft(Expand, why(s, sync.trigger_why)));

    let backfill = (!ctx.is_empty(table)).then(|| {
        let batch = Stmt::BackfillBatch {
            table: table.clone(),
            column: target.clone(),
            expression: sync.fill,
            batch_size: ctx.options.batch_size,
            only_where: Some(ddl::is_not_null(sync.source)),
        };
        backfill_step(ctx, batch, table, &target)
    });
    (out, backfill)
}

/// A type change through a new column: add it, keep it in step with a trigger, backfill it,
/// build its indexes, swap the names in one short transaction, drop the old column later.
pub(super) fn change_type(
    ctx: &PlanCtx,
    change: &Change,
    table: &QualName,
    column: &str,
    using: Option<Conversion>,
) -> Recipe {
    let desired: &Column = ctx
        .desired
        .tables
        .get(table)
        .and_then(|t| t.column(column))
        .expect("the desired table has the column whose type changes");
    let old = ctx.current.tables.get(table).and_then(|t| t.column(column)).expect("the column exists now");
    let new_col = object_name(&[column], "cutover_new");
    let old_col = object_name(&[column], "cutover_old");
    let (function, trigger) = sync_names(table, column);
    let size = ctx.size(table);

    let mut bare = desired.clone();
    bare.name = new_col.clone();
    bare.default = None;
    bare.not_null = false;
    bare.comment = None;
    bare.grants.clear();
    let (mut out, backfill) = keep_in_step(
        ctx,
        change,
        Sync {
            table,
            bare,
            function: function.clone(),
            trigger: trigger.clone(),
            source: column,
            forward: cast(&format!("NEW.{}", quote::ident(column)), using, &desired.data_type),
            reverse: None,
            fill: cast(&quote::ident(column), using, &desired.data_type),
            add_why: format!("Adds {new_col} with the new type {} next to {column}; catalog only.", desired.data_type),
            function_why: format!("The function that copies every write of {column} into {new_col}."),
            trigger_cost: format!("every insert and update of {table} also writes {new_col} until the switch"),
            trigger_why: "From now on every insert and update keeps the new column in step.".into(),
        },
    );
    if let Some(s) = backfill {
        let s = hazard(
            s,
            HazardCode::MayFailOnExistingData,
            format!("fails if a value of {table}.{column} does not convert to {}", desired.data_type),
        );
        let s = leaves(
            s,
            Postcondition::Filled { table: table.clone(), column: new_col.clone(), source: Some(column.into()) },
        );
        let s = leaves(
            s,
            Postcondition::Agrees {
                table: table.clone(),
                old: column.into(),
                new: new_col.clone(),
                data_type: desired.data_type.clone(),
                conversion: using.unwrap_or(Conversion::Cast),
            },
        );
        out.push(draft(Backfill, s));
    }

    let indexes = indexes_on(ctx, table, column);
    for (name, index) in &indexes {
        let mut copy = (*index).clone();
        for key in &mut copy.keys {
            if key.column.as_deref() == Some(column) {
                key.column = Some(new_col.clone());
            }
        }
        let temp = object_name(&[name.as_str()], "cutover_new");
        let build =
            Stmt::CreateIndex { name: temp.clone(), table: table.clone(), index: Box::new(copy), concurrently: true };
        let s = step(ctx, build.to_string(), Operation::CreateIndexConcurrently, table, None);
        let s = super::builds_index(s, index_name(table, &temp));
        let s = leaves(s, index_exists(table, index_name(table, &temp), true));
        let s = with_estimate(s, super::estimate::index_build(size, true));
        let s = rollback(
            s,
            Some(IfExists(&Stmt::DropIndex { name: index_name(table, &temp), concurrently: true }).to_string()),
        );
        let s = hazard(s, HazardCode::IndexBuild, format!("builds {temp}, the copy of {name} on {new_col}"));
        out.push(draft(
            Switch,
            why(s, format!("Builds the copy of {name} on the new column CONCURRENTLY, once the data is in place.")),
        ));
    }
    if desired.not_null {
        out.extend(not_null_steps(ctx, table, &new_col)?.into_iter().map(|d| Draft { phase: Switch, ..d }));
    }

    // The switch itself: one short transaction under ACCESS EXCLUSIVE.
    let alter = |action| Stmt::AlterTable { name: table.clone(), action }.to_string();
    let mut sql = vec![
        alter(TableAction::RenameColumn { column: column.into(), new_name: old_col.clone() }),
        alter(TableAction::RenameColumn { column: new_col.clone(), new_name: column.into() }),
        Stmt::DropTrigger { table: table.clone(), name: trigger.clone() }.to_string(),
        ddl::drop_sync_function(&function).to_string(),
    ];
    if old.default.is_some() {
        sql.push(alter(TableAction::DropDefault { column: old_col.clone() }));
    }
    if old.not_null {
        sql.push(alter(TableAction::DropNotNull { column: old_col.clone() }));
    }
    if let Some(expression) = &desired.default {
        sql.push(alter(TableAction::SetDefault { column: column.into(), expression: expression.clone() }));
    }
    for (seq, s) in &ctx.current.sequences {
        if s.owned_by.as_ref().is_some_and(|(t, c)| t == table && c == column) {
            sql.push(
                Stmt::SetSequenceOwner { name: seq.clone(), owner: Some((table.clone(), column.into())) }.to_string(),
            );
        }
    }
    for (name, _) in &indexes {
        let temp = object_name(&[name.as_str()], "cutover_new");
        sql.push(
            Stmt::RenameIndex { name: index_name(table, name), new_name: object_name(&[name.as_str()], "cutover_old") }
                .to_string(),
        );
        sql.push(Stmt::RenameIndex { name: index_name(table, &temp), new_name: (*name).clone() }.to_string());
    }
    if desired.comment.is_some() {
        sql.push(
            Stmt::Comment { target: Target::Column(table.clone(), column.into()), text: desired.comment.clone() }
                .to_string(),
        );
    }
    let mut s = step(ctx, sql.join(";\n"), Operation::RenameColumn, table, None);
    s.postconditions = vec![
        column_exists(table, &new_col, false),
        Postcondition::Column {
            table: table.clone(),
            column: column.into(),
            exists: true,
            not_null: Some(desired.not_null),
        },
        column_exists(table, &old_col, true),
        trigger_exists(table, &trigger, false),
    ];
    for (name, _) in &indexes {
        let temp = object_name(&[name.as_str()], "cutover_new");
        s.postconditions.push(index_exists(table, index_name(table, &temp), false));
        s.postconditions.push(index_exists(table, index_name(table, name), true));
        s.postconditions.push(index_exists(
            table,
            index_name(table, &object_name(&[name.as_str()], "cutover_old")),
            true,
        ));
    }
    let s = app_change(
        s,
        AppChange::RetypeColumn {
            table: table.clone(),
            column: column.into(),
            from: old.data_type.clone(),
            to: desired.data_type.clone(),
        },
    );
    let s = hazard(
        s,
        HazardCode::BreaksRunningCode,
        format!("from here on {table}.{column} has type {}: the running version must accept it", desired.data_type),
    );
    out.push(draft(Switch, why(s, format!("Swaps the columns by name in one short transaction (catalog only); {column} now has the new type and {old_col} keeps the old values until the contract phase."))));

    let drop = alter(TableAction::DropColumn { column: old_col.clone() });
    let mut s = step(ctx, drop, Operation::DropColumn, table, None);
    s.postconditions.push(column_exists(table, &old_col, false));
    for (name, _) in &indexes {
        s.postconditions.push(index_exists(
            table,
            index_name(table, &object_name(&[name.as_str()], "cutover_old")),
            false,
        ));
    }
    let s = hazard(s, HazardCode::DataLoss, format!("drops {old_col}, the old values of {table}.{column}"));
    out.push(draft(Contract, why(s, "Drops the old column (and its indexes) once nothing reads it; catalog only.")));
    Ok(out)
}

/// The new name of a renamed column: add it, keep both names in step both ways, backfill,
/// enforce NOT NULL; the old name goes in the contract phase (see [`rename_source`]).
pub(super) fn rename_target(ctx: &PlanCtx, change: &Change, rename: &ColumnRename, column: &Column) -> Recipe {
    let table = &rename.table;
    let old = ctx.current.tables.get(table).and_then(|t| t.column(&rename.from));
    let Some(old) = old else {
        return Err(blocker(
            change,
            BlockerCode::RenameUnknownColumn,
            format!("{table}.{} does not exist, so it cannot be renamed to {}.", rename.from, rename.to),
            vec![],
        ));
    };
    if old.data_type != column.data_type {
        return Err(blocker(
            change,
            BlockerCode::RenameWithTypeChange,
            format!(
                "{table}.{} is {} but {} is {}: a rename and a type change in one step are not supported.",
                rename.from, old.data_type, rename.to, column.data_type
            ),
            vec!["rename first, then change the type in a later migration".into()],
        ));
    }
    let (function, trigger) = sync_names(table, &rename.to);
    let mut bare = column.clone();
    bare.not_null = false;
    let (mut out, backfill) = keep_in_step(
        ctx,
        change,
        Sync {
            table,
            bare,
            function,
            trigger,
            source: &rename.from,
            forward: format!("NEW.{}", quote::ident(&rename.from)),
            reverse: Some(format!("NEW.{}", quote::ident(&rename.to))),
            fill: quote::ident(&rename.from),
            add_why: format!("Adds {} next to {}; catalog only.", rename.to, rename.from),
            function_why: "The function that keeps both names in step: writes through either name reach the other."
                .into(),
            trigger_cost: format!("every insert and update of {table} writes both columns until the contract phase"),
            trigger_why: "From now on the application version that uses the old name and the one that uses the new name both work.".into(),
        },
    );
    if let Some(s) = backfill {
        let filled = Postcondition::Filled {
            table: table.clone(),
            column: rename.to.clone(),
            source: Some(rename.from.clone()),
        };
        out.push(draft(Backfill, leaves(s, filled)));
    }
    if column.not_null {
        out.extend(
            not_null_steps(ctx, table, &rename.to)?.into_iter().map(|d| Draft { phase: Switch.max(d.phase), ..d }),
        );
    }
    Ok(out)
}

/// The old name of a renamed column goes, with the trigger, once nothing uses it.
pub(super) fn rename_source(ctx: &PlanCtx, change: &Change, rename: &ColumnRename) -> Recipe {
    let table = &rename.table;
    let (function, trigger) = sync_names(table, &rename.to);
    let sql = [
        Stmt::DropTrigger { table: table.clone(), name: trigger.clone() }.to_string(),
        ddl::drop_sync_function(&function).to_string(),
        change.stmt.to_string(),
    ]
    .join(";\n");
    let s = step(ctx, sql, Operation::DropColumn, table, None);
    let s = leaves(s, trigger_exists(table, &trigger, false));
    let s = leaves(s, column_exists(table, &rename.from, false));
    let s = app_change(
        s,
        AppChange::RenameColumn { table: table.clone(), column: rename.from.clone(), to: rename.to.clone() },
    );
    let mut s = carry(s, change);
    s.hazards.retain(|h| h.code != HazardCode::DataLoss);
    let s = hazard(
        s,
        HazardCode::BreaksRunningCode,
        format!("the old name {}.{} goes away: no running version may use it", table, rename.from),
    );
    Ok(vec![draft(
        Contract,
        why(
            s,
            format!(
                "The data lives on in {}; the old name, its trigger and function go in one short transaction.",
                rename.to
            ),
        ),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_arguments_are_parsed() {
        assert_eq!(
            ColumnRename::parse("app.users.fullname=full_name").unwrap(),
            ColumnRename { table: QualName::new("app", "users"), from: "fullname".into(), to: "full_name".into() }
        );
        assert_eq!(ColumnRename::parse("users.a=b").unwrap().table, QualName::new("public", "users"));
        assert!(ColumnRename::parse("users=b").is_err());
        assert!(ColumnRename::parse("users.a=").is_err());
    }

    #[test]
    fn casts_go_through_text_when_the_diff_does() {
        assert_eq!(cast("NEW.c", Some(Conversion::ThroughText), "public.mood"), "(NEW.c)::text::public.mood");
        assert_eq!(cast("c", Some(Conversion::Cast), "bigint"), "(c)::bigint");
        assert_eq!(cast("\"a::text::b\"", Some(Conversion::Cast), "bigint"), "(\"a::text::b\")::bigint");
    }
}
