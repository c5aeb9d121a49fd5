//! Constraints: added NOT VALID and validated in a later phase, unique ones through a
//! concurrently built index, dropped with a NOT VALID restore as their rollback.

use super::{
    Recipe, blocked, builds_index, carry, constraint, draft, hazard, index_exists, index_name, leaves, rollback,
    size_phrase, small_or_window, step, why, with_estimate,
};
use crate::diff::Change;
use crate::hazard::{BlockerCode, HazardCode};
use crate::locks::Operation;
use crate::planner::estimate;
use crate::planner::model::PhaseName;
use crate::planner::{Draft, PlanCtx};
use cutover_schema::{ConstraintKind, Index, IndexKey, QualName, Table};
use cutover_sql::ddl::{IfExists, Stmt, TableAction};

use PhaseName::*;

/// The constraint's postconditions on the steps that add it: the first step makes it (or
/// its index) exist, the last one makes it exist validated, unless the desired schema
/// keeps it NOT VALID.
pub(super) fn constraint_added(mut drafts: Vec<Draft>, table: &QualName, name: &str, not_valid: bool) -> Vec<Draft> {
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

/// An added constraint: NOT VALID then validated, a unique one through a concurrent index.
pub(super) fn add_constraint(
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
                        return Err(blocked(
                            s.clone(),
                            change,
                            BlockerCode::ConstraintValidationUnderLock,
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
                let s = hazard(
                    s,
                    HazardCode::IndexBuild,
                    format!("builds the unique index for {name} on every partition of {table}"),
                );
                if !ctx.is_small(table) && !ctx.options.allow_downtime {
                    return Err(blocked(
                        s.clone(),
                        change,
                        BlockerCode::UniqueOnPartitionedTable,
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
            let s = if new {
                s
            } else {
                hazard(s, HazardCode::IndexBuild, format!("builds the exclusion index for {name} on {table}"))
            };
            if !ctx.is_small(table) && !ctx.options.allow_downtime {
                return Err(blocked(
                    s.clone(),
                    change,
                    BlockerCode::ExclusionConstraintUnderLock,
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

/// A validation: scans under SHARE UPDATE EXCLUSIVE, in switch.
pub(super) fn validate_constraint(ctx: &PlanCtx, change: &Change, table: &QualName, name: &str) -> Recipe {
    let new_table = ctx.desired.tables.get(table);
    let sql = change.stmt.to_string();
    let size = ctx.size(table);
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

/// A dropped constraint: relaxes a rule, catalog only; restored NOT VALID on rollback.
pub(super) fn drop_constraint(ctx: &PlanCtx, change: &Change, table: &QualName, name: &str) -> Recipe {
    let old_table = ctx.current.tables.get(table);
    let sql = change.stmt.to_string();
    let old = old_table.and_then(|t| t.constraints.get(name));
    let s = step(ctx, sql, Operation::DropConstraint, table, None);
    let restore = old.map(|c| {
        Stmt::AlterTable {
            name: table.clone(),
            action: TableAction::AddConstraint {
                name: name.to_string(),
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

/// Recipes take what they need from the model's structure, never from printed definitions:
/// a definition that says otherwise (or holds SQL in a name) changes nothing.
#[cfg(test)]
mod structure_tests {
    use crate::planner::{PlanOptions, plan};
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
