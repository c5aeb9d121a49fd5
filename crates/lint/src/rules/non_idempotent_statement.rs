//! Statements outside a transaction that fail when the migration is re-run after a partial
//! failure (opt-in style rule; squawk's prefer-robust-stmts).

use pg_query::NodeEnum;
use pg_query::protobuf::{AlterTableType, ObjectType, OnCommitAction};

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::{alter_cmds, alter_type};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct NonIdempotentStatement;

static INFO: RuleInfo = RuleInfo {
    code: "non-idempotent-statement",
    severity: Severity::Warning,
    summary: "A statement outside a transaction without IF [NOT] EXISTS makes the migration fail when re-run after a partial failure.",
    help: "Add IF [NOT] EXISTS, or run the migration in a transaction.",
    docs: Docs {
        what: "Outside a transaction block (explicit, or the migration runner's), flags statements that fail when run a second time: `CREATE TABLE` / `INDEX` / `SEQUENCE` / `SCHEMA` / `EXTENSION` without `IF NOT EXISTS`, `DROP ...` without `IF EXISTS`, `ALTER TABLE ... ADD COLUMN` / `DROP COLUMN` / `DROP CONSTRAINT` without their guards, `ADD CONSTRAINT` unless the file dropped that constraint (`IF EXISTS`) just before, other `ALTER TABLE` subcommands (which have no guard), and `CREATE VIEW` / `FUNCTION` / `TRIGGER` without `OR REPLACE`. `CREATE INDEX CONCURRENTLY` with a name is flagged even in a transaction block, since it cannot run inside one. Unnamed indexes and `TEMP` tables with `ON COMMIT DROP` are not flagged. A style rule for teams whose migrations run without a transaction.",
        why: "Without a transaction, a migration that fails half-way leaves its first statements applied. Re-running the fixed migration then stops at the first statement that already took effect (`relation already exists`, `column does not exist`), and someone has to repair the database by hand, usually during an incident.",
        example: "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\nALTER TABLE users ADD COLUMN nickname text;",
        instead: "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\nALTER TABLE users ADD COLUMN IF NOT EXISTS nickname text;",
    },
};

/// Why a statement cannot simply be re-run.
enum Guard {
    /// The guard to add (`IF NOT EXISTS`, `IF EXISTS`, `OR REPLACE`).
    Missing(&'static str),
    /// `ADD CONSTRAINT` has no guard of its own; a `DROP CONSTRAINT IF EXISTS` before it is one.
    DropFirst,
    /// No guard form exists for this statement.
    None,
}

impl Rule for NonIdempotentStatement {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let mut problems: Vec<(String, Guard)> = Vec::new();
        if let NodeEnum::IndexStmt(s) = stmt.node
            && s.concurrent
            && !s.idxname.is_empty()
            && !s.if_not_exists
        {
            out.push(
                Finding::new(format!(
                    "CREATE INDEX CONCURRENTLY {} has no IF NOT EXISTS, and CONCURRENTLY never runs inside a transaction, so the migration cannot be re-run after a partial failure.",
                    s.idxname
                ))
                .help("Add IF NOT EXISTS (and check for an INVALID index left by a failed build)."),
            );
            return;
        }
        if !ctx.in_transaction_block() {
            unguarded(stmt.node, ctx, &mut problems);
        }
        for (what, guard) in problems {
            let finding = match guard {
                Guard::Missing(words) => Finding::new(format!(
                    "{what} runs outside a transaction and has no {words}, so the migration cannot be re-run after a partial failure."
                ))
                .help(format!("Add {words}, or run the migration in a transaction.")),
                Guard::DropFirst => Finding::new(format!(
                    "{what} runs outside a transaction and is not preceded by DROP CONSTRAINT IF EXISTS, so the migration cannot be re-run after a partial failure."
                ))
                .help("Drop the constraint with IF EXISTS right before adding it, or run the migration in a transaction."),
                Guard::None => Finding::new(format!(
                    "{what} runs outside a transaction and cannot be guarded, so the migration cannot be re-run after a partial failure."
                ))
                .help("Run the migration in a transaction, or put this statement in a migration of its own."),
            };
            out.push(finding);
        }
    }
}

fn unguarded(node: &NodeEnum, ctx: &Ctx<'_>, out: &mut Vec<(String, Guard)>) {
    match node {
        NodeEnum::CreateStmt(s) => {
            let temp_dropped = s.relation.as_ref().is_some_and(|rv| rv.relpersistence == "t")
                && OnCommitAction::try_from(s.oncommit) == Ok(OnCommitAction::OncommitDrop);
            if !s.if_not_exists && !temp_dropped {
                let name = s.relation.as_ref().map_or("", |rv| rv.relname.as_str());
                out.push((format!("CREATE TABLE {name}"), Guard::Missing("IF NOT EXISTS")));
            }
        }
        NodeEnum::IndexStmt(s) if !s.idxname.is_empty() && !s.if_not_exists => {
            out.push((format!("CREATE INDEX {}", s.idxname), Guard::Missing("IF NOT EXISTS")));
        }
        NodeEnum::CreateSeqStmt(s) if !s.if_not_exists => {
            let name = s.sequence.as_ref().map_or("", |rv| rv.relname.as_str());
            out.push((format!("CREATE SEQUENCE {name}"), Guard::Missing("IF NOT EXISTS")));
        }
        NodeEnum::CreateSchemaStmt(s) if !s.if_not_exists => {
            out.push((format!("CREATE SCHEMA {}", s.schemaname), Guard::Missing("IF NOT EXISTS")));
        }
        NodeEnum::CreateExtensionStmt(s) if !s.if_not_exists => {
            out.push((format!("CREATE EXTENSION {}", s.extname), Guard::Missing("IF NOT EXISTS")));
        }
        NodeEnum::ViewStmt(s) if !s.replace => {
            let name = s.view.as_ref().map_or("", |rv| rv.relname.as_str());
            out.push((format!("CREATE VIEW {name}"), Guard::Missing("OR REPLACE")));
        }
        NodeEnum::CreateFunctionStmt(s) if !s.replace => {
            let kind = if s.is_procedure { "CREATE PROCEDURE" } else { "CREATE FUNCTION" };
            let name = s.funcname.iter().filter_map(crate::ast::string).next_back().unwrap_or("");
            out.push((format!("{kind} {name}"), Guard::Missing("OR REPLACE")));
        }
        NodeEnum::CreateTrigStmt(s) if !s.replace => {
            out.push((format!("CREATE TRIGGER {}", s.trigname), Guard::Missing("OR REPLACE")));
        }
        NodeEnum::DropStmt(s) if !s.missing_ok => {
            let kind = match ObjectType::try_from(s.remove_type) {
                Ok(ObjectType::ObjectTable) => "DROP TABLE",
                Ok(ObjectType::ObjectIndex) if s.concurrent => "DROP INDEX CONCURRENTLY",
                Ok(ObjectType::ObjectIndex) => "DROP INDEX",
                Ok(ObjectType::ObjectType) => "DROP TYPE",
                Ok(ObjectType::ObjectView) => "DROP VIEW",
                Ok(ObjectType::ObjectMatview) => "DROP MATERIALIZED VIEW",
                Ok(ObjectType::ObjectSequence) => "DROP SEQUENCE",
                Ok(ObjectType::ObjectSchema) => "DROP SCHEMA",
                Ok(ObjectType::ObjectFunction) => "DROP FUNCTION",
                Ok(ObjectType::ObjectProcedure) => "DROP PROCEDURE",
                Ok(ObjectType::ObjectTrigger) => "DROP TRIGGER",
                Ok(ObjectType::ObjectExtension) => "DROP EXTENSION",
                Ok(ObjectType::ObjectDomain) => "DROP DOMAIN",
                _ => "This DROP",
            };
            let names: Vec<String> = s
                .objects
                .iter()
                .filter_map(|o| match o.node.as_ref()? {
                    NodeEnum::List(l) => {
                        Some(l.items.iter().filter_map(crate::ast::string).collect::<Vec<_>>().join("."))
                    }
                    NodeEnum::String(n) => Some(n.sval.clone()),
                    NodeEnum::TypeName(t) => {
                        Some(t.names.iter().filter_map(crate::ast::string).collect::<Vec<_>>().join("."))
                    }
                    NodeEnum::ObjectWithArgs(f) => {
                        Some(f.objname.iter().filter_map(crate::ast::string).collect::<Vec<_>>().join("."))
                    }
                    _ => None,
                })
                .collect();
            out.push((format!("{kind} {}", names.join(", ")).trim_end().to_string(), Guard::Missing("IF EXISTS")));
        }
        NodeEnum::AlterTableStmt(s) if ObjectType::try_from(s.objtype) == Ok(ObjectType::ObjectTable) => {
            let table = s.relation.as_ref().map_or("", |rv| rv.relname.as_str());
            // Constraint names dropped earlier in the file and not yet re-added (one re-add per drop).
            let mut dropped: Vec<String> = Vec::new();
            let mut added: Vec<String> = Vec::new();
            for prev in &ctx.previous {
                if let NodeEnum::AlterTableStmt(p) = prev {
                    for cmd in alter_cmds(p) {
                        track(cmd, &mut dropped, &mut added);
                    }
                }
            }
            for cmd in alter_cmds(s) {
                match alter_type(cmd) {
                    AlterTableType::AtAddColumn if !cmd.missing_ok => {
                        let col = match cmd.def.as_ref().and_then(|d| d.node.as_ref()) {
                            Some(NodeEnum::ColumnDef(c)) => c.colname.as_str(),
                            _ => "",
                        };
                        out.push((format!("ALTER TABLE {table} ADD COLUMN {col}"), Guard::Missing("IF NOT EXISTS")));
                    }
                    AlterTableType::AtAddColumn => {}
                    AlterTableType::AtDropColumn if !cmd.missing_ok => {
                        out.push((
                            format!("ALTER TABLE {table} DROP COLUMN {}", cmd.name),
                            Guard::Missing("IF EXISTS"),
                        ));
                    }
                    AlterTableType::AtDropConstraint if !cmd.missing_ok => {
                        out.push((
                            format!("ALTER TABLE {table} DROP CONSTRAINT {}", cmd.name),
                            Guard::Missing("IF EXISTS"),
                        ));
                    }
                    AlterTableType::AtDropColumn | AlterTableType::AtDropConstraint => {}
                    AlterTableType::AtAddConstraint => {
                        let name = constraint_name(cmd);
                        let readd = !name.is_empty() && {
                            let drops = dropped.iter().filter(|n| **n == name).count();
                            let adds = added.iter().filter(|n| **n == name).count();
                            drops > adds
                        };
                        if !readd {
                            let what = if name.is_empty() {
                                format!("ALTER TABLE {table} ADD CONSTRAINT")
                            } else {
                                format!("ALTER TABLE {table} ADD CONSTRAINT {name}")
                            };
                            out.push((what, Guard::DropFirst));
                        }
                    }
                    AlterTableType::AtValidateConstraint => {
                        let known = dropped.contains(&cmd.name) || added.contains(&cmd.name);
                        if !known {
                            out.push((format!("ALTER TABLE {table} VALIDATE CONSTRAINT {}", cmd.name), Guard::None));
                        }
                    }
                    _ => out.push((format!("This ALTER TABLE {table}"), Guard::None)),
                }
                track(cmd, &mut dropped, &mut added);
            }
        }
        _ => {}
    }
}

fn constraint_name(cmd: &pg_query::protobuf::AlterTableCmd) -> String {
    match cmd.def.as_ref().and_then(|d| d.node.as_ref()) {
        Some(NodeEnum::Constraint(c)) => c.conname.clone(),
        _ => String::new(),
    }
}

fn track(cmd: &pg_query::protobuf::AlterTableCmd, dropped: &mut Vec<String>, added: &mut Vec<String>) {
    match alter_type(cmd) {
        AlterTableType::AtDropConstraint => dropped.push(cmd.name.clone()),
        AlterTableType::AtAddConstraint => added.push(constraint_name(cmd)),
        _ => {}
    }
}
