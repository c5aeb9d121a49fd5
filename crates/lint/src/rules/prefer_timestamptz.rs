//! `timestamp` (without time zone) columns.

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::{column_types, type_name};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct PreferTimestamptz;

static INFO: RuleInfo = RuleInfo {
    code: "prefer-timestamptz",
    severity: Severity::Warning,
    summary: "timestamp without time zone stores no UTC offset, so its values are ambiguous.",
    help: "Use timestamptz (timestamp with time zone).",
    docs: Docs {
        what: "Flags columns declared `timestamp` / `timestamp without time zone` (arrays included) in `CREATE TABLE`, `ALTER TABLE ... ADD COLUMN` and `ALTER COLUMN ... TYPE`.",
        why: "A `timestamp` value is a wall-clock reading with no time zone: the same instant is stored differently by clients in different zones, comparisons with `now()` shift with the session's TimeZone, and daylight-saving changes make values ambiguous. `timestamptz` stores an absolute instant in the same 8 bytes. Changing the type later rewrites the table.",
        example: "CREATE TABLE events (id bigint, created_at timestamp NOT NULL);",
        instead: "CREATE TABLE events (id bigint, created_at timestamptz NOT NULL);",
    },
};

impl Rule for PreferTimestamptz {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, _ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for col in column_types(stmt.node) {
            if type_name(col.type_name) == "timestamp" {
                out.push(Finding::new(format!(
                    "Column {} is timestamp without time zone, which drops the UTC offset of every value stored.",
                    col.display()
                )));
            }
        }
    }
}
