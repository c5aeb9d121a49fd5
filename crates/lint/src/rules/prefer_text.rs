//! `varchar(n)` columns.

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::{column_types, type_mods, type_name};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct PreferText;

static INFO: RuleInfo = RuleInfo {
    code: "prefer-text",
    severity: Severity::Warning,
    summary: "varchar(n) is no faster than text, and changing its limit later locks (or rewrites) the table.",
    help: "Use text, with a CHECK (length(column) <= n) constraint if a limit is needed.",
    docs: Docs {
        what: "Flags columns declared `varchar(n)` / `character varying(n)` with a length (arrays included) in `CREATE TABLE`, `ALTER TABLE ... ADD COLUMN` and `ALTER COLUMN ... TYPE`. `varchar` without a length and `text` are fine.",
        why: "In PostgreSQL `varchar(n)` is stored exactly like `text`; the length is only a check. When the limit has to change, `ALTER COLUMN ... TYPE varchar(m)` takes an ACCESS EXCLUSIVE lock on the table (and rewrites it when the limit shrinks), whereas a CHECK constraint can be replaced with `NOT VALID` and validated online.",
        example: "ALTER TABLE users ADD COLUMN nickname varchar(50);",
        instead: "ALTER TABLE users ADD COLUMN nickname text;\nALTER TABLE users ADD CONSTRAINT users_nickname_length CHECK (length(nickname) <= 50) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT users_nickname_length;",
    },
};

impl Rule for PreferText {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, _ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for col in column_types(stmt.node) {
            if type_name(col.type_name) != "varchar" {
                continue;
            }
            let Some(&n) = type_mods(col.type_name).first() else { continue };
            out.push(
                Finding::new(format!(
                    "Column {} is {}; changing the limit later needs an ACCESS EXCLUSIVE lock (and a rewrite when it shrinks).",
                    col.display(),
                    col.type_display()
                ))
                .help(format!("Use text, with a CHECK (length({}) <= {n}) constraint if a limit is needed.", col.column)),
            );
        }
    }
}
