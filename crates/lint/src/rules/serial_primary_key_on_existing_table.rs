//! Serial, identity or inline PRIMARY KEY columns added to an existing table.

use pg_query::protobuf::ConstrType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef, altered_existing_table, lock_risk};
use crate::ast::{added_column, alter_cmds, column_constraints, constr_type, is_serial_type, type_name};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct SerialPrimaryKeyOnExistingTable;

static INFO: RuleInfo = RuleInfo {
    code: "serial-primary-key-on-existing-table",
    severity: Severity::Error,
    summary: "Adding a serial, identity or primary key column fills every row and builds an index under ACCESS EXCLUSIVE.",
    help: "Add a nullable bigint column, attach a sequence default, backfill in batches, then build a unique index CONCURRENTLY and ADD PRIMARY KEY USING INDEX.",
    docs: Docs {
        what: "Flags `ALTER TABLE ... ADD COLUMN` of a serial-family type (`serial`, `bigserial`, ...), with `GENERATED ... AS IDENTITY`, or with an inline `PRIMARY KEY`, on a table that exists before the migration.",
        why: "The new column needs a value from the sequence for every existing row, so PostgreSQL rewrites the table, and a PRIMARY KEY builds its unique index, all while holding ACCESS EXCLUSIVE: the table is unavailable for reads and writes for the whole rewrite.",
        example: "ALTER TABLE cities_users ADD COLUMN id bigserial PRIMARY KEY;",
        instead: "ALTER TABLE cities_users ADD COLUMN id bigint;\nCREATE SEQUENCE cities_users_id_seq OWNED BY cities_users.id;\nALTER TABLE cities_users ALTER COLUMN id SET DEFAULT nextval('cities_users_id_seq');\n-- backfill id in batches, then:\nCREATE UNIQUE INDEX CONCURRENTLY cities_users_pkey ON cities_users (id);\nALTER TABLE cities_users ADD CONSTRAINT cities_users_pkey PRIMARY KEY USING INDEX cities_users_pkey;",
    },
};

impl Rule for SerialPrimaryKeyOnExistingTable {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some((table, alter)) = altered_existing_table(stmt, ctx) else { return };
        for col in alter_cmds(alter).filter_map(added_column) {
            let kinds: Vec<ConstrType> = column_constraints(col).map(constr_type).collect();
            let primary =
                column_constraints(col).any(|c| constr_type(c) == ConstrType::ConstrPrimary && c.indexname.is_empty());
            let what = if let Some(tn) = col.type_name.as_ref().filter(|t| is_serial_type(t)) {
                type_name(tn)
            } else if kinds.contains(&ConstrType::ConstrIdentity) || !col.identity.is_empty() {
                "an identity column".to_string()
            } else if primary {
                "a primary key".to_string()
            } else {
                continue;
            };
            out.push(lock_risk(
                ctx,
                &table,
                Finding::new(format!(
                    "Adding {} as {what} fills every existing row{}, rewriting {} under ACCESS EXCLUSIVE.",
                    col.colname,
                    if primary { " and builds its primary key index" } else { "" },
                    table.display()
                )),
            ));
        }
    }
}
