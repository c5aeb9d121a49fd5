//! The lock knowledge (`cutover_plan::locks`) checked against the server: each statement
//! form runs in a transaction that is rolled back, and the strongest lock it took on each
//! table (from `pg_locks`) must be the one the knowledge base states for this version.
//! Forms that cannot run in a transaction block (CREATE INDEX CONCURRENTLY, DROP INDEX
//! CONCURRENTLY, DETACH PARTITION CONCURRENTLY, ALTER TYPE ... ADD VALUE used at once) are
//! not traceable this way; their rows rest on the documentation they cite.

mod common;

use cutover_plan::locks::{LockMode, Operation, lookup};

const SETUP: &str = "
CREATE TABLE parent (id bigint PRIMARY KEY);
CREATE TABLE t (id bigint PRIMARY KEY, a int, b varchar(10), p bigint, c text, n numeric(8,2), d int NOT NULL DEFAULT 0);
CREATE INDEX t_a_idx ON t (a);
CREATE UNIQUE INDEX t_c_uniq ON t (c);
ALTER TABLE t ADD CONSTRAINT t_p_fk FOREIGN KEY (p) REFERENCES parent (id) NOT VALID;
ALTER TABLE t ADD CONSTRAINT t_a_chk CHECK (a > 0) NOT VALID;
ALTER TABLE t ADD CONSTRAINT t_a_nn CHECK (a IS NOT NULL);
CREATE TABLE pt (k int) PARTITION BY RANGE (k);
CREATE TABLE pc (k int);
CREATE TABLE pc2 (k int CHECK (k IS NOT NULL AND k >= 20 AND k < 30));
CREATE TABLE child (x int);
CREATE TABLE base (x int);
CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER existing BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();
CREATE VIEW v AS SELECT id FROM t;
CREATE STATISTICS t_stats ON a, d FROM t;
";

/// (operation, statement, table, referenced table)
const CASES: &[(Operation, &str, &str, Option<&str>)] = &[
    (Operation::Statistics, "CREATE STATISTICS t_ab (ndistinct) ON a, b FROM t", "t", None),
    (Operation::Statistics, "DROP STATISTICS t_stats", "t", None),
    (Operation::CreateIndex, "CREATE INDEX t_b_idx ON t (b)", "t", None),
    (Operation::DropIndex, "DROP INDEX t_a_idx", "t", None),
    (Operation::RenameIndex, "ALTER INDEX t_a_idx RENAME TO t_a_idx2", "t_a_idx2", None),
    (Operation::AddColumn, "ALTER TABLE t ADD COLUMN e int DEFAULT 5", "t", None),
    (Operation::AddColumnVolatileDefault, "ALTER TABLE t ADD COLUMN e float DEFAULT random()", "t", None),
    (
        Operation::AddColumnStoredGenerated,
        "ALTER TABLE t ADD COLUMN g bigint GENERATED ALWAYS AS (id * 2) STORED",
        "t",
        None,
    ),
    (Operation::AddColumnIdentity, "ALTER TABLE t ADD COLUMN i bigint GENERATED ALWAYS AS IDENTITY", "t", None),
    (Operation::DropColumn, "ALTER TABLE t DROP COLUMN b", "t", None),
    (Operation::AlterColumnTypeRewrite, "ALTER TABLE t ALTER COLUMN a TYPE bigint", "t", None),
    (Operation::AlterColumnTypeInPlace, "ALTER TABLE t ALTER COLUMN b TYPE varchar(20)", "t", None),
    (Operation::SetNotNull, "ALTER TABLE t ALTER COLUMN b SET NOT NULL", "t", None),
    (Operation::SetNotNullWithValidatedCheck, "ALTER TABLE t ALTER COLUMN a SET NOT NULL", "t", None),
    (Operation::DropNotNull, "ALTER TABLE t ALTER COLUMN d DROP NOT NULL", "t", None),
    (Operation::SetDefault, "ALTER TABLE t ALTER COLUMN a SET DEFAULT 1", "t", None),
    (Operation::DropDefault, "ALTER TABLE t ALTER COLUMN a DROP DEFAULT", "t", None),
    (
        Operation::AddForeignKey,
        "ALTER TABLE t ADD CONSTRAINT f2 FOREIGN KEY (p) REFERENCES parent (id)",
        "t",
        Some("parent"),
    ),
    (
        Operation::AddForeignKeyNotValid,
        "ALTER TABLE t ADD CONSTRAINT f2 FOREIGN KEY (p) REFERENCES parent (id) NOT VALID",
        "t",
        Some("parent"),
    ),
    (Operation::ValidateForeignKey, "ALTER TABLE t VALIDATE CONSTRAINT t_p_fk", "t", Some("parent")),
    (Operation::AddCheck, "ALTER TABLE t ADD CONSTRAINT c2 CHECK (a > 1)", "t", None),
    (Operation::AddCheckNotValid, "ALTER TABLE t ADD CONSTRAINT c2 CHECK (a > 1) NOT VALID", "t", None),
    (Operation::ValidateCheck, "ALTER TABLE t VALIDATE CONSTRAINT t_a_chk", "t", None),
    (Operation::AddUniqueOrPrimaryKey, "ALTER TABLE t ADD CONSTRAINT u2 UNIQUE (b)", "t", None),
    (
        Operation::AddConstraintUsingIndex,
        "ALTER TABLE t ADD CONSTRAINT t_c_uniq UNIQUE USING INDEX t_c_uniq",
        "t",
        None,
    ),
    (Operation::DropConstraint, "ALTER TABLE t DROP CONSTRAINT t_a_chk", "t", None),
    (Operation::RenameColumn, "ALTER TABLE t RENAME COLUMN a TO aa", "t", None),
    (Operation::RenameTable, "ALTER TABLE child RENAME TO child2", "child2", None),
    (Operation::CreateTrigger, "CREATE TRIGGER tg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg()", "t", None),
    (Operation::DropTrigger, "DROP TRIGGER existing ON t", "t", None),
    (Operation::AlterTriggerEnabled, "ALTER TABLE t DISABLE TRIGGER existing", "t", None),
    (Operation::SetStorageParameters, "ALTER TABLE t SET (fillfactor = 70)", "t", None),
    (Operation::SetLoggedOrUnlogged, "ALTER TABLE t SET UNLOGGED", "t", None),
    (Operation::AttachPartition, "ALTER TABLE pt ATTACH PARTITION pc FOR VALUES FROM (1) TO (10)", "pc", Some("pt")),
    (
        Operation::AttachPartitionWithValidatedCheck,
        "ALTER TABLE pt ATTACH PARTITION pc2 FOR VALUES FROM (20) TO (30)",
        "pc2",
        Some("pt"),
    ),
    (Operation::BackfillBatch, "UPDATE t SET c = 'x' WHERE id > 0 AND id <= 10 AND c IS NULL", "t", None),
    (
        Operation::CatalogOnly,
        "CREATE OR REPLACE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$",
        "t",
        None,
    ),
    (Operation::Policy, "CREATE POLICY pol ON t USING (true)", "t", None),
    (Operation::RowLevelSecurity, "ALTER TABLE t ENABLE ROW LEVEL SECURITY", "t", None),
    (Operation::Comment, "COMMENT ON TABLE t IS 'x'", "t", None),
    (Operation::CreateOrReplaceView, "CREATE OR REPLACE VIEW v AS SELECT id, a FROM t", "v", None),
    (Operation::Inherit, "ALTER TABLE child INHERIT base", "child", Some("base")),
    (Operation::Identity, "ALTER TABLE t ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY", "t", None),
];

fn mode(name: &str) -> LockMode {
    [
        LockMode::AccessShare,
        LockMode::RowShare,
        LockMode::RowExclusive,
        LockMode::ShareUpdateExclusive,
        LockMode::Share,
        LockMode::ShareRowExclusive,
        LockMode::Exclusive,
        LockMode::AccessExclusive,
    ]
    .into_iter()
    .find(|m| m.pg_locks_name() == name)
    .unwrap_or_else(|| panic!("unknown lock mode {name}"))
}

#[tokio::test]
async fn static_lock_facts_agree_with_pg_locks() {
    let db = common::db_with(SETUP, "setup").await.unwrap();
    let client = db.connect().await;
    let version: i32 = client.query_one("SELECT current_setting('server_version_num')::int", &[]).await.unwrap().get(0);
    let mut disagreements = Vec::new();
    for (operation, sql, table, referenced) in CASES {
        let fact = lookup(*operation, version as u32).unwrap_or_else(|| panic!("no fact for {operation:?}"));
        client.batch_execute("BEGIN").await.unwrap();
        client.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        let rows = client
            .query(
                "SELECT c.relname::text, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
                 WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND c.relnamespace = 'public'::regnamespace",
                &[],
            )
            .await
            .unwrap();
        client.batch_execute("ROLLBACK").await.unwrap();
        let strongest = |rel: &str| {
            rows.iter().filter(|r| r.get::<_, String>(0) == rel).map(|r| mode(&r.get::<_, String>(1))).max()
        };
        if strongest(table) != fact.table {
            disagreements.push(format!(
                "{operation:?} `{sql}`: {table} took {:?}, the facts say {:?}",
                strongest(table),
                fact.table
            ));
        }
        if let Some(r) = referenced
            && strongest(r) != fact.referenced
        {
            disagreements.push(format!(
                "{operation:?} `{sql}`: {r} took {:?}, the facts say {:?}",
                strongest(r),
                fact.referenced
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "the lock facts disagree with PostgreSQL {version}:\n{}",
        disagreements.join("\n")
    );
}
