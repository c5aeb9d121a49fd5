//! `ADD COLUMN ... GENERATED ALWAYS AS (...) STORED` on an existing table.

use pg_query::protobuf::ConstrType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef, altered_existing_table, lock_risk};
use crate::ast::{added_column, alter_cmds, column_constraints, constr_type};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct StoredGeneratedColumn;

static INFO: RuleInfo = RuleInfo {
    code: "stored-generated-column",
    severity: Severity::Error,
    summary: "Adding a stored generated column rewrites the whole table under an ACCESS EXCLUSIVE lock.",
    help: "Add a plain nullable column kept up to date by a trigger and backfill it in batches (or use a VIRTUAL generated column on PostgreSQL 18+).",
    docs: Docs {
        what: "Flags `ALTER TABLE ... ADD COLUMN ... GENERATED ALWAYS AS (...) STORED` on a table that exists before the migration. Virtual generated columns (PostgreSQL 18+, the default there without `STORED`) are computed on read and are not flagged.",
        why: "PostgreSQL computes the expression for every existing row and rewrites the table and all its indexes while holding ACCESS EXCLUSIVE: no reads or writes until it finishes, minutes or hours on a large table, with twice the disk space meanwhile.",
        example: "ALTER TABLE orders ADD COLUMN total numeric GENERATED ALWAYS AS (price * quantity) STORED;",
        instead: "ALTER TABLE orders ADD COLUMN total numeric;\n-- keep it current with a trigger, backfill existing rows in batches\n-- or, on PostgreSQL 18+:\nALTER TABLE orders ADD COLUMN total numeric GENERATED ALWAYS AS (price * quantity) VIRTUAL;",
    },
};

impl Rule for StoredGeneratedColumn {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some((table, alter)) = altered_existing_table(stmt, ctx) else { return };
        for col in alter_cmds(alter).filter_map(added_column) {
            // generated_kind: 's' STORED, 'v' VIRTUAL (PostgreSQL 18's default); before 18
            // every generated column is stored.
            let stored = column_constraints(col).any(|c| {
                constr_type(c) == ConstrType::ConstrGenerated && (c.generated_kind == "s" || ctx.pg_version < 18)
            });
            if stored {
                out.push(lock_risk(
                    ctx,
                    &table,
                    Finding::new(format!(
                        "Adding stored generated column {} computes it for every row, rewriting {} under ACCESS EXCLUSIVE.",
                        col.colname,
                        table.display()
                    )),
                ));
            }
        }
    }
}
