//! `ALTER TYPE ... ADD VALUE` without `BEFORE` or `AFTER`.

use pg_query::NodeEnum;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::string;
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct EnumValueOrdering;

static INFO: RuleInfo = RuleInfo {
    code: "enum-value-ordering",
    severity: Severity::Warning,
    summary: "ADD VALUE without BEFORE or AFTER appends the value last in the enum's sort order.",
    help: "Say where the value belongs with BEFORE '...' or AFTER '...'.",
    docs: Docs {
        what: "Flags `ALTER TYPE ... ADD VALUE` (with or without `IF NOT EXISTS`) that does not say `BEFORE` or `AFTER`.",
        why: "Enum values sort in declaration order, not alphabetically: `ORDER BY`, `<` and `>` and range checks on the column all use that order. A value appended by default sorts after every existing one, which is often not what queries comparing the values expect, and the order cannot be changed later without recreating the type.",
        example: "ALTER TYPE order_status ADD VALUE 'refunded';",
        instead: "ALTER TYPE order_status ADD VALUE 'refunded' AFTER 'paid';",
    },
};

impl Rule for EnumValueOrdering {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, _ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let NodeEnum::AlterEnumStmt(e) = stmt.node else { return };
        if e.new_val.is_empty() || !e.old_val.is_empty() || !e.new_val_neighbor.is_empty() {
            return;
        }
        let ty: Vec<&str> = e.type_name.iter().filter_map(string).collect();
        out.push(Finding::new(format!(
            "ADD VALUE '{}' to {} without BEFORE or AFTER appends it last, which fixes its position for ORDER BY and comparisons.",
            e.new_val,
            ty.join(".")
        )));
    }
}
