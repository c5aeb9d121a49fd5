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
mod add_required_column;
mod column_type_change_rewrites;
mod detach_partition_non_concurrently;
mod enum_value_ordering;
mod json_column;
mod locks_held_across_statements;
mod missing_statement_timeout;
mod reindex_non_concurrently;
mod serial_primary_key_on_existing_table;
mod stored_generated_column;
mod truncate_cascade;
mod unique_constraint_without_index;
pub(crate) mod volatile_default;
// end group A modules
// group B (breaking changes, transactions, types, hygiene): modules
mod char_type;
mod domain_with_constraint;
mod drop_database;
mod drop_not_null;
mod drop_table;
mod duplicate_column_assignment;
mod identifier_too_long;
mod nested_transaction;
mod non_idempotent_statement;
mod prefer_bigint;
mod prefer_identity;
mod prefer_repack;
mod prefer_text;
mod prefer_timestamptz;
mod rename_column;
mod rename_table;
mod uncommitted_transaction;
mod unqualified_table;
// end group B modules
mod add_exclusion_constraint;
mod rename_enum_value;
mod rename_schema;
mod unbatched_backfill;
mod wide_index;
// the design family: modules
mod foreign_key_without_index;
mod free_text_instead_of_lookup;
mod money_in_floating_point;
mod naming_convention;
mod table_without_primary_key;
mod time_series_without_partitioning;
// end design modules

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
    &unique_constraint_without_index::UniqueConstraintWithoutIndex,
    &add_required_column::AddRequiredColumn,
    &volatile_default::VolatileDefault,
    &stored_generated_column::StoredGeneratedColumn,
    &serial_primary_key_on_existing_table::SerialPrimaryKeyOnExistingTable,
    &column_type_change_rewrites::ColumnTypeChangeRewrites,
    &reindex_non_concurrently::ReindexNonConcurrently,
    &detach_partition_non_concurrently::DetachPartitionNonConcurrently,
    &locks_held_across_statements::LocksHeldAcrossStatements,
    &missing_statement_timeout::MissingStatementTimeout,
    &truncate_cascade::TruncateCascade,
    &enum_value_ordering::EnumValueOrdering,
    &json_column::JsonColumn,
    // end group A rules
    // group B: rules
    &rename_column::RenameColumn,
    &rename_table::RenameTable,
    &drop_table::DropTable,
    &drop_database::DropDatabase,
    &drop_not_null::DropNotNull,
    &uncommitted_transaction::UncommittedTransaction,
    &nested_transaction::NestedTransaction,
    &identifier_too_long::IdentifierTooLong,
    &duplicate_column_assignment::DuplicateColumnAssignment,
    &prefer_timestamptz::PreferTimestamptz,
    &prefer_text::PreferText,
    &prefer_bigint::PreferBigint,
    &prefer_identity::PreferIdentity,
    &char_type::CharType,
    &domain_with_constraint::DomainWithConstraint,
    &prefer_repack::PreferRepack,
    &unqualified_table::UnqualifiedTable,
    &non_idempotent_statement::NonIdempotentStatement,
    // end group B rules
    &add_exclusion_constraint::AddExclusionConstraint,
    &unbatched_backfill::UnbatchedBackfill,
    &rename_schema::RenameSchema,
    &rename_enum_value::RenameEnumValue,
    &wide_index::WideIndex,
    // the design family: rules
    &table_without_primary_key::TableWithoutPrimaryKey,
    &foreign_key_without_index::ForeignKeyWithoutIndex,
    &naming_convention::NamingConvention,
    &money_in_floating_point::MoneyInFloatingPoint,
    &free_text_instead_of_lookup::FreeTextInsteadOfLookup,
    &time_series_without_partitioning::TimeSeriesWithoutPartitioning,
    // end design rules
];

/// The design family: advice on the schema a migration makes (keys, indexes, names, types),
/// rather than on how safely it runs. `prefer-timestamptz` belongs to it; the agent shows
/// these findings as design advice beside the plan.
pub static DESIGN: &[&str] = &[
    "table-without-primary-key",
    "foreign-key-without-index",
    "naming-convention",
    "prefer-timestamptz",
    "money-in-floating-point",
    "free-text-instead-of-lookup",
    "time-series-without-partitioning",
];

/// Rules that are off unless `cutover.toml` turns them on: house-style checks that many
/// teams deliberately do not follow.
pub static OPT_IN: &[&str] = &["unqualified-table", "non-idempotent-statement"];

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

/// An `ALTER TABLE` of a table that exists before the history (one created earlier in it is
/// new and empty, so no lock or rewrite on it is a risk): the table and the statement.
pub fn altered_existing_table<'a>(
    stmt: &StmtRef<'a>,
    ctx: &Ctx<'_>,
) -> Option<(crate::ast::TableName, &'a pg_query::protobuf::AlterTableStmt)> {
    let NodeEnum::AlterTableStmt(alter) = stmt.node else { return None };
    let table = crate::ast::TableName::of(alter.relation.as_ref()?);
    (!ctx.is_new_table(&table)).then_some((table, alter))
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
