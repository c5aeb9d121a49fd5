//! `ALTER SCHEMA ... RENAME TO`.

use pg_query::NodeEnum;
use pg_query::protobuf::ObjectType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct RenameSchema;

static INFO: RuleInfo = RuleInfo {
    code: "rename-schema",
    severity: Severity::Error,
    summary: "Renaming a schema breaks every query and search_path that names it.",
    help: "Create the new schema, move objects and application code over release by release, then drop the old schema.",
    docs: Docs {
        what: "Flags `ALTER SCHEMA ... RENAME TO`.",
        why: "Every query, view definition written by the application, connection `search_path` and grant script that names the old schema fails the moment it is renamed, and the running application version still uses the old name.",
        example: "ALTER SCHEMA billing RENAME TO accounting;",
        instead: "CREATE SCHEMA accounting;\n-- move tables one at a time (ALTER TABLE billing.invoices SET SCHEMA accounting)\n-- with views in billing pointing at them until the application uses accounting",
    },
};

impl Rule for RenameSchema {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, _ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let NodeEnum::RenameStmt(rename) = stmt.node else { return };
        if rename.rename_type != ObjectType::ObjectSchema as i32 {
            return;
        }
        out.push(Finding::new(format!(
            "Renaming schema {} to {} breaks every query that names it, including the running application's.",
            rename.subname, rename.newname
        )));
    }
}
