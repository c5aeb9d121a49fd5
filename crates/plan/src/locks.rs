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

#[allow(clippy::too_many_arguments)]
const fn fact(
    operation: Operation,
    from: u32,
    until: u32,
    table: Option<LockMode>,
    referenced: Option<LockMode>,
    rewrites_table: bool,
    scans_table: bool,
    transactional: bool,
    source: &'static str,
) -> LockFact {
    LockFact { operation, from, until, table, referenced, rewrites_table, scans_table, transactional, source }
}

/// The knowledge base. Versions below 12 are not supported by Cutover, so rows start there.
pub const LOCK_FACTS: &[LockFact] = &[
    fact(CreateIndex, PG12, ANY, Some(Share), None, false, true, true, CREATE_INDEX),
    fact(CreateIndexConcurrently, PG12, ANY, Some(ShareUpdateExclusive), None, false, true, false, CREATE_INDEX),
    fact(DropIndex, PG12, ANY, Some(AccessExclusive), None, false, false, true, DROP_INDEX),
    fact(DropIndexConcurrently, PG12, ANY, Some(ShareUpdateExclusive), None, false, false, false, DROP_INDEX),
    // ALTER INDEX ... RENAME takes SHARE UPDATE EXCLUSIVE from 12 on.
    fact(RenameIndex, PG12, ANY, Some(ShareUpdateExclusive), None, false, false, true, ALTER_INDEX),
    // A constant (non-volatile) default is stored in the catalog: no rewrite since 11.
    fact(AddColumn, PG12, ANY, Some(AccessExclusive), None, false, false, true, ALTER_TABLE),
    fact(AddColumnVolatileDefault, PG12, ANY, Some(AccessExclusive), None, true, false, true, ALTER_TABLE),
    fact(AddColumnStoredGenerated, PG12, ANY, Some(AccessExclusive), None, true, false, true, ALTER_TABLE),
    fact(AddColumnIdentity, PG12, ANY, Some(AccessExclusive), None, true, false, true, ALTER_TABLE),
    fact(DropColumn, PG12, ANY, Some(AccessExclusive), None, false, false, true, ALTER_TABLE),
    fact(AlterColumnTypeRewrite, PG12, ANY, Some(AccessExclusive), None, true, false, true, ALTER_TABLE),
    fact(AlterColumnTypeInPlace, PG12, ANY, Some(AccessExclusive), None, false, false, true, ALTER_TABLE),
    fact(SetNotNull, PG12, ANY, Some(AccessExclusive), None, false, true, true, ALTER_TABLE),
    // From 12 on, SET NOT NULL skips the scan when a valid CHECK (col IS NOT NULL) exists.
    fact(SetNotNullWithValidatedCheck, PG12, ANY, Some(AccessExclusive), None, false, false, true, ALTER_TABLE),
    fact(DropNotNull, PG12, ANY, Some(AccessExclusive), None, false, false, true, ALTER_TABLE),
    fact(SetDefault, PG12, ANY, Some(AccessExclusive), None, false, false, true, ALTER_TABLE),
    fact(DropDefault, PG12, ANY, Some(AccessExclusive), None, false, false, true, ALTER_TABLE),
    fact(AddForeignKey, PG12, ANY, Some(ShareRowExclusive), Some(ShareRowExclusive), false, true, true, ALTER_TABLE),
    fact(
        AddForeignKeyNotValid,
        PG12,
        ANY,
        Some(ShareRowExclusive),
        Some(ShareRowExclusive),
        false,
        false,
        true,
        ALTER_TABLE,
    ),
    fact(ValidateForeignKey, PG12, ANY, Some(ShareUpdateExclusive), Some(RowShare), false, true, true, ALTER_TABLE),
    fact(AddCheck, PG12, ANY, Some(AccessExclusive), None, false, true, true, ALTER_TABLE),
    fact(AddCheckNotValid, PG12, ANY, Some(AccessExclusive), None, false, false, true, ALTER_TABLE),
    fact(ValidateCheck, PG12, ANY, Some(ShareUpdateExclusive), None, false, true, true, ALTER_TABLE),
    // NOT NULL constraints can be added NOT VALID and validated later from 18 on.
    fact(AddNotNullNotValid, PG18, ANY, Some(AccessExclusive), None, false, false, true, ALTER_TABLE),
    fact(AddUniqueOrPrimaryKey, PG12, ANY, Some(AccessExclusive), None, false, true, true, ALTER_TABLE),
    fact(AddConstraintUsingIndex, PG12, ANY, Some(AccessExclusive), None, false, false, true, ALTER_TABLE),
    fact(AddExclusion, PG12, ANY, Some(AccessExclusive), None, false, true, true, ALTER_TABLE),
    fact(DropConstraint, PG12, ANY, Some(AccessExclusive), None, false, false, true, ALTER_TABLE),
    fact(RenameColumn, PG12, ANY, Some(AccessExclusive), None, false, false, true, ALTER_TABLE),
    fact(RenameTable, PG12, ANY, Some(AccessExclusive), None, false, false, true, ALTER_TABLE),
    fact(CreateTrigger, PG12, ANY, Some(ShareRowExclusive), None, false, false, true, CREATE_TRIGGER),
    fact(DropTrigger, PG12, ANY, Some(AccessExclusive), None, false, false, true, EXPLICIT_LOCKING),
    fact(AlterTriggerEnabled, PG12, ANY, Some(ShareRowExclusive), None, false, false, true, ALTER_TABLE),
    fact(SetStorageParameters, PG12, ANY, Some(ShareUpdateExclusive), None, false, false, true, ALTER_TABLE),
    fact(SetLoggedOrUnlogged, PG12, ANY, Some(AccessExclusive), None, true, false, true, ALTER_TABLE),
    // From 12 on, ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on the parent; it scans
    // the new partition unless a valid CHECK constraint proves the bound.
    fact(AttachPartition, PG12, ANY, Some(AccessExclusive), Some(ShareUpdateExclusive), false, true, true, ALTER_TABLE),
    fact(DetachPartition, PG12, ANY, Some(AccessExclusive), Some(AccessExclusive), false, false, true, ALTER_TABLE),
    // DETACH PARTITION ... CONCURRENTLY exists from 14 on and cannot run in a transaction.
    fact(
        DetachPartitionConcurrently,
        PG14,
        ANY,
        Some(AccessExclusive),
        Some(ShareUpdateExclusive),
        false,
        false,
        false,
        ALTER_TABLE,
    ),
    fact(Policy, PG12, ANY, Some(AccessExclusive), None, false, false, true, EXPLICIT_LOCKING),
    fact(RowLevelSecurity, PG12, ANY, Some(AccessExclusive), None, false, false, true, ALTER_TABLE),
    fact(Comment, PG12, ANY, Some(ShareUpdateExclusive), None, false, false, true, COMMENT),
    fact(CreateTable, PG12, ANY, None, None, false, false, true, EXPLICIT_LOCKING),
    fact(DropTable, PG12, ANY, Some(AccessExclusive), None, false, false, true, EXPLICIT_LOCKING),
    fact(CreateOrReplaceView, PG12, ANY, Some(AccessExclusive), None, false, false, true, EXPLICIT_LOCKING),
    fact(DropView, PG12, ANY, Some(AccessExclusive), None, false, false, true, EXPLICIT_LOCKING),
    // From 12 on ADD VALUE may run in a transaction, but the new value cannot be used
    // until it commits; Cutover runs it on its own.
    fact(AddEnumValue, PG12, ANY, None, None, false, false, false, ALTER_TYPE),
    fact(Inherit, PG12, ANY, Some(AccessExclusive), Some(ShareUpdateExclusive), false, false, true, ALTER_TABLE),
    fact(Identity, PG12, ANY, Some(AccessExclusive), None, false, false, true, ALTER_TABLE),
    fact(DropExpression, PG12, ANY, Some(AccessExclusive), None, false, false, true, ALTER_TABLE),
    // CREATE and DROP STATISTICS take SHARE UPDATE EXCLUSIVE on the table (seen in pg_locks
    // on 15): reads and writes go on; the statistics are filled by the next ANALYZE.
    fact(Statistics, PG12, ANY, Some(ShareUpdateExclusive), None, false, false, true, CREATE_STATISTICS),
    fact(Other, PG12, ANY, Some(AccessExclusive), None, false, false, true, EXPLICIT_LOCKING),
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
