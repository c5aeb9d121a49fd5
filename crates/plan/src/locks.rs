//! What each kind of statement does to a live table, per PostgreSQL version: the lock it
//! takes on the table (and on a referenced table), whether it rewrites or scans the table,
//! and whether it can run inside a transaction.
//!
//! This is data, one row per statement form and version range, each citing the page of the
//! PostgreSQL documentation that states it. The PostgreSQL 15 rows are also checked on a real
//! server by the lock-tracing test (crates/cutover/tests/lock_facts.rs), which runs each form
//! in a rolled-back transaction and reads `pg_locks`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// PostgreSQL's table-level lock modes, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LockMode {
    #[serde(rename = "ACCESS SHARE")]
    AccessShare,
    #[serde(rename = "ROW SHARE")]
    RowShare,
    #[serde(rename = "ROW EXCLUSIVE")]
    RowExclusive,
    #[serde(rename = "SHARE UPDATE EXCLUSIVE")]
    ShareUpdateExclusive,
    #[serde(rename = "SHARE")]
    Share,
    #[serde(rename = "SHARE ROW EXCLUSIVE")]
    ShareRowExclusive,
    #[serde(rename = "EXCLUSIVE")]
    Exclusive,
    #[serde(rename = "ACCESS EXCLUSIVE")]
    AccessExclusive,
}

impl LockMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// The name `pg_locks.mode` uses (`AccessExclusiveLock`).
    pub fn pg_locks_name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShareLock",
            LockMode::RowShare => "RowShareLock",
            LockMode::RowExclusive => "RowExclusiveLock",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockMode::Share => "ShareLock",
            LockMode::ShareRowExclusive => "ShareRowExclusiveLock",
            LockMode::Exclusive => "ExclusiveLock",
            LockMode::AccessExclusive => "AccessExclusiveLock",
        }
    }

    /// Whether ordinary reads (`SELECT`, which takes ACCESS SHARE) wait for this lock.
    pub fn blocks_reads(self) -> bool {
        self == LockMode::AccessExclusive
    }

    /// Whether ordinary writes (`INSERT`/`UPDATE`/`DELETE`, ROW EXCLUSIVE) wait for this lock.
    pub fn blocks_writes(self) -> bool {
        self >= LockMode::Share
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A statement form whose effect on a live table matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    CreateIndex,
    CreateIndexConcurrently,
    DropIndex,
    DropIndexConcurrently,
    RenameIndex,
    AddColumn,
    AddColumnVolatileDefault,
    AddColumnStoredGenerated,
    AddColumnIdentity,
    DropColumn,
    AlterColumnTypeRewrite,
    AlterColumnTypeInPlace,
    SetNotNull,
    SetNotNullWithValidatedCheck,
    DropNotNull,
    SetDefault,
    DropDefault,
    AddForeignKey,
    AddForeignKeyNotValid,
    ValidateForeignKey,
    AddCheck,
    AddCheckNotValid,
    ValidateCheck,
    AddNotNullNotValid,
    AddUniqueOrPrimaryKey,
    AddConstraintUsingIndex,
    AddExclusion,
    DropConstraint,
    RenameColumn,
    RenameTable,
    CreateTrigger,
    DropTrigger,
    AlterTriggerEnabled,
    SetStorageParameters,
    SetLoggedOrUnlogged,
    AttachPartition,
    DetachPartition,
    DetachPartitionConcurrently,
    Policy,
    RowLevelSecurity,
    Comment,
    CreateTable,
    DropTable,
    CreateOrReplaceView,
    DropView,
    AddEnumValue,
    Inherit,
    Identity,
    DropExpression,
    /// CREATE / DROP / ALTER STATISTICS (extended statistics of a table).
    Statistics,
    /// ATTACH PARTITION when a valid CHECK constraint on the partition proves its bound.
    AttachPartitionWithValidatedCheck,
    /// One batch of a backfill: an UPDATE of a range of rows.
    BackfillBatch,
    /// A statement that changes the catalog only and locks no table: routines, types,
    /// schemas, extensions, sequences' options, grants, enum labels.
    CatalogOnly,
    /// Anything else: assumed to take ACCESS EXCLUSIVE on its table.
    Other,
}

/// What one statement form does on one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockFact {
    pub operation: Operation,
    /// First `server_version_num` (inclusive) this row applies to.
    pub from: u32,
    /// Last version (exclusive) this row applies to; `u32::MAX` for "to date".
    pub until: u32,
    /// Lock on the table the statement changes (`None`: no table lock).
    pub table: Option<LockMode>,
    /// Lock on a referenced table (foreign keys, partition parents).
    pub referenced: Option<LockMode>,
    pub rewrites_table: bool,
    pub scans_table: bool,
    pub transactional: bool,
    /// The documentation that states it.
    pub source: &'static str,
}

const ALTER_TABLE: &str = "https://www.postgresql.org/docs/{v}/sql-altertable.html";
const CREATE_INDEX: &str = "https://www.postgresql.org/docs/{v}/sql-createindex.html";
const DROP_INDEX: &str = "https://www.postgresql.org/docs/{v}/sql-dropindex.html";
const ALTER_INDEX: &str = "https://www.postgresql.org/docs/{v}/sql-alterindex.html";
const EXPLICIT_LOCKING: &str = "https://www.postgresql.org/docs/{v}/explicit-locking.html";
const CREATE_TRIGGER: &str = "https://www.postgresql.org/docs/{v}/sql-createtrigger.html";
const ALTER_TYPE: &str = "https://www.postgresql.org/docs/{v}/sql-altertype.html";
const COMMENT: &str = "https://www.postgresql.org/docs/{v}/sql-comment.html";
const CREATE_STATISTICS: &str = "https://www.postgresql.org/docs/{v}/sql-createstatistics.html";

const PG12: u32 = 120000;
const PG14: u32 = 140000;
const PG18: u32 = 180000;
const ANY: u32 = u32::MAX;

use LockMode::*;
use Operation::*;

/// A row for `operation` from PostgreSQL 12 on: `table` is the lock on the table the
/// statement changes; by default nothing else is locked, nothing is rewritten or scanned,
/// and it runs in a transaction. The methods below say otherwise, by name.
const fn row(operation: Operation, table: Option<LockMode>, source: &'static str) -> LockFact {
    LockFact {
        operation,
        from: PG12,
        until: ANY,
        table,
        referenced: None,
        rewrites_table: false,
        scans_table: false,
        transactional: true,
        source,
    }
}

impl LockFact {
    /// The row applies from `version` on.
    const fn since(mut self, version: u32) -> LockFact {
        self.from = version;
        self
    }

    /// The lock taken on a referenced table (a foreign key's, a partition's parent).
    const fn referenced(mut self, mode: LockMode) -> LockFact {
        self.referenced = Some(mode);
        self
    }

    /// The statement rewrites the table and its indexes.
    const fn rewrites(mut self) -> LockFact {
        self.rewrites_table = true;
        self
    }

    /// The statement reads the whole table (under its lock).
    const fn scans(mut self) -> LockFact {
        self.scans_table = true;
        self
    }

    /// The statement cannot run inside a transaction block.
    const fn outside_transaction(mut self) -> LockFact {
        self.transactional = false;
        self
    }
}

/// The knowledge base. Versions below 12 are not supported by Cutover, so rows start there.
pub const LOCK_FACTS: &[LockFact] = &[
    row(CreateIndex, Some(Share), CREATE_INDEX).scans(),
    row(CreateIndexConcurrently, Some(ShareUpdateExclusive), CREATE_INDEX).scans().outside_transaction(),
    row(DropIndex, Some(AccessExclusive), DROP_INDEX),
    row(DropIndexConcurrently, Some(ShareUpdateExclusive), DROP_INDEX).outside_transaction(),
    // ALTER INDEX ... RENAME takes SHARE UPDATE EXCLUSIVE from 12 on.
    row(RenameIndex, Some(ShareUpdateExclusive), ALTER_INDEX),
    // A constant (non-volatile) default is stored in the catalog: no rewrite since 11.
    row(AddColumn, Some(AccessExclusive), ALTER_TABLE),
    row(AddColumnVolatileDefault, Some(AccessExclusive), ALTER_TABLE).rewrites(),
    row(AddColumnStoredGenerated, Some(AccessExclusive), ALTER_TABLE).rewrites(),
    row(AddColumnIdentity, Some(AccessExclusive), ALTER_TABLE).rewrites(),
    row(DropColumn, Some(AccessExclusive), ALTER_TABLE),
    row(AlterColumnTypeRewrite, Some(AccessExclusive), ALTER_TABLE).rewrites(),
    row(AlterColumnTypeInPlace, Some(AccessExclusive), ALTER_TABLE),
    row(SetNotNull, Some(AccessExclusive), ALTER_TABLE).scans(),
    // From 12 on, SET NOT NULL skips the scan when a valid CHECK (col IS NOT NULL) exists.
    row(SetNotNullWithValidatedCheck, Some(AccessExclusive), ALTER_TABLE),
    row(DropNotNull, Some(AccessExclusive), ALTER_TABLE),
    row(SetDefault, Some(AccessExclusive), ALTER_TABLE),
    row(DropDefault, Some(AccessExclusive), ALTER_TABLE),
    row(AddForeignKey, Some(ShareRowExclusive), ALTER_TABLE).referenced(ShareRowExclusive).scans(),
    row(AddForeignKeyNotValid, Some(ShareRowExclusive), ALTER_TABLE).referenced(ShareRowExclusive),
    row(ValidateForeignKey, Some(ShareUpdateExclusive), ALTER_TABLE).referenced(RowShare).scans(),
    row(AddCheck, Some(AccessExclusive), ALTER_TABLE).scans(),
    row(AddCheckNotValid, Some(AccessExclusive), ALTER_TABLE),
    row(ValidateCheck, Some(ShareUpdateExclusive), ALTER_TABLE).scans(),
    // NOT NULL constraints can be added NOT VALID and validated later from 18 on.
    row(AddNotNullNotValid, Some(AccessExclusive), ALTER_TABLE).since(PG18),
    row(AddUniqueOrPrimaryKey, Some(AccessExclusive), ALTER_TABLE).scans(),
    row(AddConstraintUsingIndex, Some(AccessExclusive), ALTER_TABLE),
    row(AddExclusion, Some(AccessExclusive), ALTER_TABLE).scans(),
    row(DropConstraint, Some(AccessExclusive), ALTER_TABLE),
    row(RenameColumn, Some(AccessExclusive), ALTER_TABLE),
    row(RenameTable, Some(AccessExclusive), ALTER_TABLE),
    row(CreateTrigger, Some(ShareRowExclusive), CREATE_TRIGGER),
    row(DropTrigger, Some(AccessExclusive), EXPLICIT_LOCKING),
    row(AlterTriggerEnabled, Some(ShareRowExclusive), ALTER_TABLE),
    row(SetStorageParameters, Some(ShareUpdateExclusive), ALTER_TABLE),
    row(SetLoggedOrUnlogged, Some(AccessExclusive), ALTER_TABLE).rewrites(),
    // From 12 on, ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on the parent; it scans
    // the new partition unless a valid CHECK constraint proves the bound.
    row(AttachPartition, Some(AccessExclusive), ALTER_TABLE).referenced(ShareUpdateExclusive).scans(),
    row(AttachPartitionWithValidatedCheck, Some(AccessExclusive), ALTER_TABLE).referenced(ShareUpdateExclusive),
    row(DetachPartition, Some(AccessExclusive), ALTER_TABLE).referenced(AccessExclusive),
    // DETACH PARTITION ... CONCURRENTLY exists from 14 on and cannot run in a transaction.
    row(DetachPartitionConcurrently, Some(AccessExclusive), ALTER_TABLE)
        .since(PG14)
        .referenced(ShareUpdateExclusive)
        .outside_transaction(),
    row(Policy, Some(AccessExclusive), EXPLICIT_LOCKING),
    row(RowLevelSecurity, Some(AccessExclusive), ALTER_TABLE),
    row(Comment, Some(ShareUpdateExclusive), COMMENT),
    row(CreateTable, None, EXPLICIT_LOCKING),
    row(DropTable, Some(AccessExclusive), EXPLICIT_LOCKING),
    row(CreateOrReplaceView, Some(AccessExclusive), EXPLICIT_LOCKING),
    row(DropView, Some(AccessExclusive), EXPLICIT_LOCKING),
    // From 12 on ADD VALUE may run in a transaction, but the new value cannot be used
    // until it commits; Cutover runs it on its own.
    row(AddEnumValue, None, ALTER_TYPE).outside_transaction(),
    row(Inherit, Some(AccessExclusive), ALTER_TABLE).referenced(ShareUpdateExclusive),
    row(Identity, Some(AccessExclusive), ALTER_TABLE),
    row(DropExpression, Some(AccessExclusive), ALTER_TABLE),
    // CREATE and DROP STATISTICS take SHARE UPDATE EXCLUSIVE on the table (seen in pg_locks
    // on 15): reads and writes go on; the statistics are filled by the next ANALYZE.
    row(Statistics, Some(ShareUpdateExclusive), CREATE_STATISTICS),
    // UPDATE takes ROW EXCLUSIVE (and the row locks of the rows it changes).
    row(BackfillBatch, Some(RowExclusive), EXPLICIT_LOCKING),
    // CREATE FUNCTION, ALTER TYPE ... RENAME VALUE, GRANT, REVOKE, CREATE SCHEMA and the like
    // lock catalog rows and the objects themselves, never a table's data.
    row(CatalogOnly, None, EXPLICIT_LOCKING),
    row(Other, Some(AccessExclusive), EXPLICIT_LOCKING),
];

/// The row for `operation` on `version`, if that version has the statement at all.
pub fn lookup(operation: Operation, version: u32) -> Option<LockFact> {
    LOCK_FACTS.iter().copied().find(|f| f.operation == operation && f.from <= version && version < f.until)
}

/// The documentation link of a fact for a version (`{v}` replaced by the major version).
pub fn source_for(fact: &LockFact, version: u32) -> String {
    fact.source.replace("{v}", &(version / 10000).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_boundaries_are_respected() {
        assert!(lookup(AddNotNullNotValid, 170000).is_none());
        assert!(lookup(AddNotNullNotValid, 180000).is_some());
        assert!(lookup(DetachPartitionConcurrently, 130000).is_none());
        assert!(lookup(DetachPartitionConcurrently, 140000).is_some());
    }

    #[test]
    fn every_operation_has_a_row_for_every_supported_major_version() {
        let always = [CreateIndex, AddColumn, AddForeignKey, ValidateCheck, Comment, Other];
        for v in [120000, 130000, 140000, 150000, 160000, 170000, 180000] {
            for op in always {
                assert!(lookup(op, v).is_some(), "{op:?} on {v}");
            }
        }
    }

    #[test]
    fn sources_name_the_major_version() {
        let f = lookup(CreateIndex, 150004).unwrap();
        assert_eq!(source_for(&f, 150004), "https://www.postgresql.org/docs/15/sql-createindex.html");
    }

    #[test]
    fn lock_strength_questions() {
        assert!(AccessExclusive.blocks_reads());
        assert!(Share.blocks_writes());
        assert!(!ShareUpdateExclusive.blocks_writes());
    }
}
