//! The postconditions a change's statement leaves, read from the statement's structure (and
//! the desired catalog for what the statement implies, like an enum's full list of labels),
//! for the objects whose recipes do not state their own: views, routines, types and enum
//! labels, sequences, policies and row-level security, extended statistics, column defaults
//! and identities, partitions. They go on the change's last step: the object is in that
//! state once the change is done.

use super::PlanCtx;
use super::model::Postcondition;
use cutover_schema::{Column, QualName, TypeKind};
use cutover_sql::ddl::{Stmt, TableAction};

pub(super) fn derived(ctx: &PlanCtx, stmt: &Stmt) -> Vec<Postcondition> {
    let labels = |name: &QualName| match ctx.desired.types.get(name).map(|t| &t.kind) {
        Some(TypeKind::Enum { labels }) => {
            vec![Postcondition::EnumLabels { name: name.clone(), labels: labels.clone() }]
        }
        _ => Vec::new(),
    };
    let ty = |name: &QualName, exists| Postcondition::Type { name: name.clone(), exists };
    let renamed = |name: &QualName, new_name: &str| QualName::new(name.schema.clone(), new_name.to_string());
    match stmt {
        Stmt::CreateView { name, view } => {
            vec![Postcondition::View { view: name.clone(), materialized: view.materialized, exists: true }]
        }
        Stmt::CreateCompatibilityView { name, .. } => {
            vec![Postcondition::View { view: name.clone(), materialized: false, exists: true }]
        }
        Stmt::DropView { name, materialized } => {
            vec![Postcondition::View { view: name.clone(), materialized: *materialized, exists: false }]
        }
        Stmt::CreateFunction { definition } => ctx
            .desired
            .functions
            .iter()
            .filter(|(_, f)| f.definition == *definition)
            .map(|(id, _)| Postcondition::Routine { routine: id.clone(), exists: true })
            .take(1)
            .collect(),
        Stmt::DropFunction { id, .. } => vec![Postcondition::Routine { routine: id.clone(), exists: false }],
        Stmt::CreateType { name, kind } => {
            let mut out = vec![ty(name, true)];
            if let TypeKind::Enum { labels } = kind {
                out.push(Postcondition::EnumLabels { name: name.clone(), labels: labels.clone() });
            }
            out
        }
        Stmt::DropType { name, .. } => vec![ty(name, false)],
        Stmt::RenameType { name, new_name, .. } => vec![ty(name, false), ty(&renamed(name, new_name), true)],
        Stmt::AddEnumValue { name, .. } | Stmt::RenameEnumValue { name, .. } => labels(name),
        Stmt::CreateSequence { name, .. } => vec![Postcondition::Sequence { sequence: name.clone(), exists: true }],
        Stmt::DropSequence { name } => vec![Postcondition::Sequence { sequence: name.clone(), exists: false }],
        Stmt::RenameSequence { name, new_name } => vec![
            Postcondition::Sequence { sequence: name.clone(), exists: false },
            Postcondition::Sequence { sequence: renamed(name, new_name), exists: true },
        ],
        Stmt::CreatePolicy { table, name, .. } | Stmt::AlterPolicy { table, name, .. } => {
            vec![Postcondition::Policy { table: table.clone(), name: name.clone(), exists: true }]
        }
        Stmt::DropPolicy { table, name } => {
            vec![Postcondition::Policy { table: table.clone(), name: name.clone(), exists: false }]
        }
        Stmt::CreateStatistics { name, .. } => {
            vec![Postcondition::Statistics { statistics: name.clone(), exists: true }]
        }
        Stmt::DropStatistics { name } => vec![Postcondition::Statistics { statistics: name.clone(), exists: false }],
        Stmt::AlterTable { name, action } => table_action(name, action),
        _ => Vec::new(),
    }
}

fn table_action(table: &QualName, action: &TableAction) -> Vec<Postcondition> {
    let default = |column: &str, default: Option<String>| Postcondition::Default {
        table: table.clone(),
        column: column.to_string(),
        default,
    };
    let identity = |column: &str, always: Option<bool>| Postcondition::Identity {
        table: table.clone(),
        column: column.to_string(),
        always,
    };
    match action {
        TableAction::AddColumn(column) => added_column(table, column),
        TableAction::SetDefault { column, expression } => vec![default(column, Some(expression.clone()))],
        TableAction::DropDefault { column } => vec![default(column, None)],
        TableAction::AddIdentity { column, identity: i, .. } => vec![identity(column, Some(i.always))],
        TableAction::SetIdentity { column, always: Some(always), .. } => vec![identity(column, Some(*always))],
        TableAction::DropIdentity { column } => vec![identity(column, None)],
        TableAction::AttachPartition { partition, bound } => vec![Postcondition::Partition {
            parent: table.clone(),
            partition: partition.clone(),
            bound: Some(bound.clone()),
        }],
        TableAction::DetachPartition { partition, .. } => {
            vec![Postcondition::Partition { parent: table.clone(), partition: partition.clone(), bound: None }]
        }
        TableAction::RowLevelSecurity { enable } => {
            vec![Postcondition::RowSecurity { table: table.clone(), enabled: *enable }]
        }
        _ => Vec::new(),
    }
}

/// A new column's default (not a generated column's expression) and identity.
fn added_column(table: &QualName, column: &Column) -> Vec<Postcondition> {
    let mut out = Vec::new();
    if let (Some(default), None) = (&column.default, &column.generated) {
        out.push(Postcondition::Default {
            table: table.clone(),
            column: column.name.clone(),
            default: Some(default.clone()),
        });
    }
    if let Some(identity) = &column.identity {
        out.push(Postcondition::Identity {
            table: table.clone(),
            column: column.name.clone(),
            always: Some(identity.always),
        });
    }
    out
}
