//! `char(n)` / `character(n)` columns.

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::{column_types, type_name};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct CharType;

static INFO: RuleInfo = RuleInfo {
    code: "char-type",
    severity: Severity::Warning,
    summary: "char(n) pads values with spaces and is no faster than text.",
    help: "Use text (with a CHECK on length if needed).",
    docs: Docs {
        what: "Flags columns declared `char`, `character`, `nchar`, `bpchar` or `\"char\"` (any length, arrays included) in `CREATE TABLE`, `ALTER TABLE ... ADD COLUMN` and `ALTER COLUMN ... TYPE`.",
        why: "`char(n)` pads every value with spaces to n characters; the padding is ignored in some comparisons and not in others (`LIKE`, concatenation, client libraries), which causes subtle bugs. It is stored like `text` and is no faster, and changing n later locks or rewrites the table.",
        example: "CREATE TABLE countries (code char(2) PRIMARY KEY);",
        instead: "CREATE TABLE countries (code text PRIMARY KEY CHECK (length(code) = 2));",
    },
};

impl Rule for CharType {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, _ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for col in column_types(stmt.node) {
            if matches!(type_name(col.type_name).as_str(), "bpchar" | "char" | "character") {
                out.push(Finding::new(format!(
                    "Column {} is {}, which pads values with spaces and is no faster than text.",
                    col.display(),
                    col.type_display().replacen("bpchar", "char", 1)
                )));
            }
        }
    }
}
