//! Constraints on domains.

use pg_query::NodeEnum;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::string;
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct DomainWithConstraint;

static INFO: RuleInfo = RuleInfo {
    code: "domain-with-constraint",
    severity: Severity::Warning,
    summary: "Domain constraints are checked against every column using the domain whenever they change, locking all those tables.",
    help: "Put the CHECK on the table columns instead (ADD CONSTRAINT ... NOT VALID, then VALIDATE).",
    docs: Docs {
        what: "Flags `CREATE DOMAIN` with a `CHECK` or `NOT NULL` constraint, and `ALTER DOMAIN ... ADD CONSTRAINT` without `NOT VALID` (on a domain not created earlier in the file).",
        why: "Adding a constraint to a domain scans every column of every table that uses the domain, holding locks on all of them, and there is no per-table way to stage it. Changing the rule later means dropping and re-adding the domain constraint the same way. Table-level CHECK constraints can be added `NOT VALID` and validated online, one table at a time.",
        example: "CREATE DOMAIN positive_amount AS numeric CHECK (VALUE > 0);",
        instead: "ALTER TABLE payments ADD CONSTRAINT payments_amount_positive CHECK (amount > 0) NOT VALID;\nALTER TABLE payments VALIDATE CONSTRAINT payments_amount_positive;",
    },
};

impl Rule for DomainWithConstraint {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        match stmt.node {
            NodeEnum::CreateDomainStmt(d) if !d.constraints.is_empty() => {
                out.push(Finding::new(format!(
                    "Constraints on domain {} are checked against every column using it whenever they change, locking all those tables.",
                    dotted(&d.domainname)
                )));
            }
            NodeEnum::AlterDomainStmt(d) if d.subtype == "C" => {
                let Some(NodeEnum::Constraint(c)) = d.def.as_ref().and_then(|n| n.node.as_ref()) else { return };
                if c.skip_validation {
                    return;
                }
                let name = dotted(&d.type_name);
                let created_here = ctx
                    .previous
                    .iter()
                    .any(|n| matches!(n, NodeEnum::CreateDomainStmt(p) if dotted(&p.domainname) == name));
                if created_here {
                    return;
                }
                out.push(Finding::new(format!(
                    "Adding a constraint to domain {name} checks every column using it, locking all those tables while it scans them."
                )));
            }
            _ => {}
        }
    }
}

fn dotted(names: &[pg_query::protobuf::Node]) -> String {
    names.iter().filter_map(string).collect::<Vec<_>>().join(".")
}
