//! `ALTER TYPE ... RENAME VALUE`.

use pg_query::NodeEnum;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::string;
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct RenameEnumValue;

static INFO: RuleInfo = RuleInfo {
    code: "rename-enum-value",
    severity: Severity::Error,
    summary: "Renaming an enum value breaks application code that reads or writes the old label.",
    help: "Add the new value, write both from the application, migrate rows in batches, then stop using the old value.",
    docs: Docs {
        what: "Flags `ALTER TYPE ... RENAME VALUE`.",
        why: "The running application version still writes the old label, and PostgreSQL rejects it the moment it is renamed (`invalid input value for enum`); reads that compare against the old label silently stop matching.",
        example: "ALTER TYPE status RENAME VALUE 'done' TO 'completed';",
        instead: "ALTER TYPE status ADD VALUE 'completed';\n-- deploy code that accepts both, then: UPDATE ... SET status = 'completed' WHERE status = 'done' (in batches)",
    },
};

impl Rule for RenameEnumValue {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, _ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let NodeEnum::AlterEnumStmt(alter) = stmt.node else { return };
        if alter.old_val.is_empty() {
            return;
        }
        let type_name: Vec<&str> = alter.type_name.iter().filter_map(string).collect();
        out.push(Finding::new(format!(
            "Renaming value '{}' of {} to '{}' breaks code that still uses '{}'.",
            alter.old_val,
            type_name.join("."),
            alter.new_val,
            alter.old_val
        )));
    }
}
