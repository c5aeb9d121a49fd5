//! The rules, one file each, and the one list of them ([`ALL`]). Adding a rule is a new file
//! and one line here.

use pg_query::NodeEnum;

use crate::context::Ctx;
use crate::diagnostic::{Severity, Span};

mod add_index_non_concurrently;
mod concurrently_in_transaction;
mod constraint_without_not_valid;
mod drop_column;
mod drop_index_non_concurrently;
mod missing_lock_timeout;
mod set_not_null_on_populated_table;
// group A (locks and rewrites): modules
// end group A modules
// group B (breaking changes, transactions, types, hygiene): modules
// end group B modules

/// Every rule, in documentation order.
pub static ALL: &[&dyn Rule] = &[
    &add_index_non_concurrently::AddIndexNonConcurrently,
    &drop_index_non_concurrently::DropIndexNonConcurrently,
    &concurrently_in_transaction::ConcurrentlyInTransaction,
    &constraint_without_not_valid::ConstraintWithoutNotValid,
    &set_not_null_on_populated_table::SetNotNullOnPopulatedTable,
    &drop_column::DropColumn,
    &missing_lock_timeout::MissingLockTimeout,
    // group A: rules
    // end group A rules
    // group B: rules
    // end group B rules
];

/// A statement PostgreSQL's parser rejected (not a rule that can be turned off by code).
pub static PARSE_ERROR: &RuleInfo = &RuleInfo {
    code: "parse-error",
    severity: Severity::Error,
    summary: "A statement PostgreSQL's parser rejects.",
    help: "Fix the syntax.",
    docs: Docs {
        what: "Reports a statement that PostgreSQL's own parser (libpg_query) cannot parse, at its location.",
        why: "A migration that does not parse fails when it runs, possibly after earlier statements already changed the database; and no other rule can check it.",
        example: "ALTER TABLE users ADD COLUMN email textt NOT;",
        instead: "ALTER TABLE users ADD COLUMN email text;",
    },
};

/// What a rule is, for diagnostics and the generated docs (docs/rules/<code>.md).
#[derive(Debug)]
pub struct RuleInfo {
    pub code: &'static str,
    pub severity: Severity,
    /// One line, for the rule index.
    pub summary: &'static str,
    /// The default help line of a finding.
    pub help: &'static str,
    pub docs: Docs,
}

/// The fixed headings of a rule's documentation.
#[derive(Debug)]
pub struct Docs {
    pub what: &'static str,
    pub why: &'static str,
    pub example: &'static str,
    pub instead: &'static str,
}

/// One statement being checked.
#[derive(Debug, Clone, Copy)]
pub struct StmtRef<'a> {
    pub node: &'a NodeEnum,
    /// The statement's text, without its semicolon.
    pub text: &'a str,
    pub span: Span,
}

/// What a rule reports; the location defaults to the whole statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub message: String,
    pub help: Option<String>,
    pub span: Option<Span>,
    /// Overrides the rule's severity (a lock on a table known to be small is a warning).
    pub severity: Option<Severity>,
}

impl Finding {
    pub fn new(message: impl Into<String>) -> Finding {
        Finding { message: message.into(), help: None, span: None, severity: None }
    }

    pub fn help(mut self, help: impl Into<String>) -> Finding {
        self.help = Some(help.into());
        self
    }

    pub fn severity(mut self, severity: Severity) -> Finding {
        self.severity = Some(severity);
        self
    }
}

pub trait Rule: Sync {
    fn info(&self) -> &'static RuleInfo;

    /// Checks one statement with the history so far.
    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>);

    /// Called at the end of each file (for rules about what a file leaves open).
    fn finish(&self, _ctx: &Ctx<'_>, _out: &mut Vec<Finding>) {}
}

/// A lock-risk finding on `table`, downgraded to a warning with the reason when the live
/// database says the table is small.
pub fn lock_risk(ctx: &Ctx<'_>, table: &crate::ast::TableName, finding: Finding) -> Finding {
    match ctx.table_rows(table) {
        Some(rows) if rows <= crate::context::SMALL_TABLE_ROWS => {
            let message =
                format!("{} ({} has about {rows} rows, so the lock is brief.)", finding.message, table.display());
            Finding { message, ..finding }.severity(Severity::Warning)
        }
        _ => finding,
    }
}
