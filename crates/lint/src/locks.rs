//! The locks a statement takes, from the lock knowledge of the planner
//! (`cutover_plan::locks`): the statement is classified as one of its operations, and the
//! operation's row for the PostgreSQL version gives the lock on the table and on a referenced
//! table. `cutover lint --trace` compares these with what the server really takes.

use cutover_plan::locks::{LockMode, Operation, lookup};
use pg_query::NodeEnum;
use pg_query::protobuf::{AlterTableType, ConstrType, ObjectType};

use crate::ast::{TableName, alter_cmds, alter_type, column_constraints, constr_type};

/// A lock the knowledge base says a statement takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticLock {
    /// The table, when the statement names it (`DROP INDEX` names only the index).
    pub table: Option<TableName>,
    pub mode: LockMode,
    pub operation: Operation,
    /// Whether this is the lock on a referenced table (a foreign key's target).
    pub referenced: bool,
}

/// The operations of a statement, with the table each applies to and a referenced table.
pub fn operations(node: &NodeEnum) -> Vec<(Operation, Option<TableName>, Option<TableName>)> {
    let mut ops = Vec::new();
    match node {
        NodeEnum::IndexStmt(s) => {
            let op = if s.concurrent { Operation::CreateIndexConcurrently } else { Operation::CreateIndex };
            ops.push((op, s.relation.as_ref().map(TableName::of), None));
        }
        NodeEnum::DropStmt(s) => {
            let op = match ObjectType::try_from(s.remove_type) {
                Ok(ObjectType::ObjectIndex) if s.concurrent => Operation::DropIndexConcurrently,
                Ok(ObjectType::ObjectIndex) => Operation::DropIndex,
                Ok(ObjectType::ObjectTable) => Operation::DropTable,
                Ok(ObjectType::ObjectView) => Operation::DropView,
                Ok(ObjectType::ObjectTrigger) => Operation::DropTrigger,
                _ => return ops,
            };
            ops.push((op, None, None));
        }
        NodeEnum::AlterTableStmt(s) => {
            let table = s.relation.as_ref().map(TableName::of);
            for cmd in alter_cmds(s) {
                let def = cmd.def.as_ref().and_then(|d| d.node.as_ref());
                let (op, referenced) = match alter_type(cmd) {
                    AlterTableType::AtAddColumn => (add_column(def), None),
                    AlterTableType::AtDropColumn => (Operation::DropColumn, None),
                    AlterTableType::AtAlterColumnType => (Operation::AlterColumnTypeRewrite, None),
                    AlterTableType::AtSetNotNull => (Operation::SetNotNull, None),
                    AlterTableType::AtDropNotNull => (Operation::DropNotNull, None),
                    AlterTableType::AtColumnDefault if def.is_some() => (Operation::SetDefault, None),
                    AlterTableType::AtColumnDefault => (Operation::DropDefault, None),
                    AlterTableType::AtAddConstraint => match def {
                        Some(NodeEnum::Constraint(c)) => match constr_type(c) {
                            ConstrType::ConstrForeign => (
                                if c.skip_validation {
                                    Operation::AddForeignKeyNotValid
                                } else {
                                    Operation::AddForeignKey
                                },
                                c.pktable.as_ref().map(TableName::of),
                            ),
                            ConstrType::ConstrCheck if c.skip_validation => (Operation::AddCheckNotValid, None),
                            ConstrType::ConstrCheck => (Operation::AddCheck, None),
                            ConstrType::ConstrPrimary | ConstrType::ConstrUnique if !c.indexname.is_empty() => {
                                (Operation::AddConstraintUsingIndex, None)
                            }
                            ConstrType::ConstrPrimary | ConstrType::ConstrUnique => {
                                (Operation::AddUniqueOrPrimaryKey, None)
                            }
                            ConstrType::ConstrExclusion => (Operation::AddExclusion, None),
                            _ => continue,
                        },
                        _ => continue,
                    },
                    AlterTableType::AtValidateConstraint => (Operation::ValidateCheck, None),
                    AlterTableType::AtDropConstraint => (Operation::DropConstraint, None),
                    AlterTableType::AtAttachPartition => (Operation::AttachPartition, None),
                    AlterTableType::AtDetachPartition => match def {
                        Some(NodeEnum::PartitionCmd(p)) if p.concurrent => {
                            (Operation::DetachPartitionConcurrently, None)
                        }
                        _ => (Operation::DetachPartition, None),
                    },
                    AlterTableType::AtSetRelOptions | AlterTableType::AtResetRelOptions => {
                        (Operation::SetStorageParameters, None)
                    }
                    AlterTableType::AtSetLogged | AlterTableType::AtSetUnLogged => {
                        (Operation::SetLoggedOrUnlogged, None)
                    }
                    AlterTableType::AtEnableTrig
                    | AlterTableType::AtDisableTrig
                    | AlterTableType::AtEnableAlwaysTrig
                    | AlterTableType::AtEnableReplicaTrig
                    | AlterTableType::AtEnableTrigAll
                    | AlterTableType::AtDisableTrigAll
                    | AlterTableType::AtEnableTrigUser
                    | AlterTableType::AtDisableTrigUser => (Operation::AlterTriggerEnabled, None),
                    AlterTableType::AtEnableRowSecurity
                    | AlterTableType::AtDisableRowSecurity
                    | AlterTableType::AtForceRowSecurity
                    | AlterTableType::AtNoForceRowSecurity => (Operation::RowLevelSecurity, None),
                    AlterTableType::AtDropExpression => (Operation::DropExpression, None),
                    AlterTableType::AtAddIdentity | AlterTableType::AtSetIdentity | AlterTableType::AtDropIdentity => {
                        (Operation::Identity, None)
                    }
                    AlterTableType::AtAddInherit | AlterTableType::AtDropInherit => (Operation::Inherit, None),
                    _ => continue,
                };
                ops.push((op, table.clone(), referenced));
            }
        }
        NodeEnum::RenameStmt(s) => {
            let op = match ObjectType::try_from(s.rename_type) {
                Ok(ObjectType::ObjectColumn) => Operation::RenameColumn,
                Ok(ObjectType::ObjectTable) => Operation::RenameTable,
                Ok(ObjectType::ObjectIndex) => Operation::RenameIndex,
                _ => return ops,
            };
            let table = if s.rename_type == ObjectType::ObjectIndex as i32 {
                None
            } else {
                s.relation.as_ref().map(TableName::of)
            };
            ops.push((op, table, None));
        }
        NodeEnum::CreateTrigStmt(s) => {
            ops.push((Operation::CreateTrigger, s.relation.as_ref().map(TableName::of), None))
        }
        NodeEnum::CreatePolicyStmt(s) => ops.push((Operation::Policy, s.table.as_ref().map(TableName::of), None)),
        NodeEnum::CreateStmt(s) => ops.push((Operation::CreateTable, s.relation.as_ref().map(TableName::of), None)),
        NodeEnum::AlterEnumStmt(s) if s.old_val.is_empty() => ops.push((Operation::AddEnumValue, None, None)),
        _ => {}
    }
    ops
}

fn add_column(def: Option<&NodeEnum>) -> Operation {
    let Some(NodeEnum::ColumnDef(col)) = def else { return Operation::AddColumn };
    for c in column_constraints(col) {
        match constr_type(c) {
            ConstrType::ConstrGenerated => return Operation::AddColumnStoredGenerated,
            ConstrType::ConstrIdentity => return Operation::AddColumnIdentity,
            ConstrType::ConstrDefault
                if c.raw_expr.as_deref().is_some_and(crate::rules::volatile_default::is_volatile) =>
            {
                return Operation::AddColumnVolatileDefault;
            }
            _ => {}
        }
    }
    Operation::AddColumn
}

/// The locks the knowledge base states for a statement on `pg_version` (a major version).
pub fn static_locks(node: &NodeEnum, pg_version: u32) -> Vec<StaticLock> {
    let mut locks = Vec::new();
    for (operation, table, referenced) in operations(node) {
        let Some(fact) = lookup(operation, pg_version * 10000) else { continue };
        if let Some(mode) = fact.table {
            locks.push(StaticLock { table: table.clone(), mode, operation, referenced: false });
        }
        if let (Some(mode), Some(target)) = (fact.referenced, referenced) {
            locks.push(StaticLock { table: Some(target), mode, operation, referenced: true });
        }
    }
    locks
}
