//! The SQL of `cutover verify`: catalog questions (parameters, no names in the text) and the
//! data checks over a table, built from structure with every identifier quoted.

use crate::ddl::Conversion;
use crate::quote::{ident, qualified};
use cutover_schema::QualName;

/// `$1`, `$2`: schema and name. One row when an ordinary or partitioned table of that name
/// exists.
pub const TABLE: &str = "SELECT true FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')";

/// `$1`, `$2`, `$3`: schema, table, column. One row with `attnotnull` when the column exists.
pub const COLUMN: &str = "SELECT a.attnotnull FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped";

/// `$1`, `$2`: schema and name of an index. One row with `indisvalid` when it exists.
pub const INDEX: &str = crate::apply::INDEX_VALID;

/// `$1`, `$2`, `$3`: schema, table, constraint. One row with `convalidated` when it exists.
pub const CONSTRAINT: &str = "SELECT co.convalidated FROM pg_catalog.pg_constraint co
JOIN pg_catalog.pg_class c ON c.oid = co.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND co.conname = $3";

/// `$1`, `$2`, `$3`: schema, table, trigger. One row when a user trigger of that name exists.
pub const TRIGGER: &str = "SELECT true FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND t.tgname = $3 AND NOT t.tgisinternal";

/// `$1`, `$2`: schema and table. The primary key's columns, in key order.
pub const PRIMARY_KEY: &str = "SELECT a.attname::text FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary
ORDER BY k.ord";

/// Everything verify reads runs in one read-only snapshot, and waits briefly for locks: a
/// check never queues behind a migration's ACCESS EXCLUSIVE lock for long.
pub const BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL lock_timeout = '5s'";

/// Each check runs under a savepoint, so one that fails leaves the snapshot usable.
pub const SAVEPOINT: &str = "SAVEPOINT cutover_check";
pub const ROLLBACK_TO_SAVEPOINT: &str = "ROLLBACK TO SAVEPOINT cutover_check";
pub const RELEASE_SAVEPOINT: &str = "RELEASE SAVEPOINT cutover_check";

/// A user check or latency run: its own read-only transaction with a statement_timeout.
pub fn begin_user(statement_timeout_ms: u64) -> String {
    format!("BEGIN READ ONLY; SET LOCAL statement_timeout = '{statement_timeout_ms}ms'; SET LOCAL lock_timeout = '5s'")
}

/// The rows of a table.
pub fn row_count(table: &QualName) -> String {
    format!("SELECT count(*) FROM {}", qualified(table))
}

fn key_list(key: &[String]) -> String {
    key.iter().map(|k| ident(k)).collect::<Vec<_>>().join(", ")
}

/// The rows a backfill left NULL (where `source` is not NULL, when there is one): their
/// count, and the first one's key in key order (`NULL` when the table has no key).
pub fn unfilled(table: &QualName, column: &str, source: Option<&str>, key: &[String]) -> String {
    let t = qualified(table);
    let mut condition = format!("{} IS NULL", ident(column));
    if let Some(source) = source {
        condition.push_str(&format!(" AND {} IS NOT NULL", ident(source)));
    }
    let first = if key.is_empty() {
        "NULL::text".to_string()
    } else {
        let k = key_list(key);
        format!("(SELECT ROW({k})::text FROM {t} WHERE {condition} ORDER BY {k} LIMIT 1)")
    };
    format!("SELECT (SELECT count(*) FROM {t} WHERE {condition}), {first}")
}

/// Whether `new` holds `old` converted to `data_type` in every row: a checksum of each side
/// over the table, the count of rows that differ, and the count of rows. The checksum sums
/// the first 64 bits of each row's md5 (as numeric, so it cannot overflow): it does not
/// depend on row order and, unlike an md5 of the whole column's `string_agg`, holds no
/// more than one row's text in memory, so it works on tables of any size.
pub fn agreement(table: &QualName, old: &str, new: &str, data_type: &str, conversion: Conversion) -> String {
    let converted = conversion.apply(&ident(old), data_type);
    let new = ident(new);
    let sum = |value: &str| {
        format!(
            "coalesce(sum(('x' || pg_catalog.left(pg_catalog.md5(pg_catalog.quote_nullable(({value})::text)), 16))::bit(64)::bigint::numeric), 0)::text"
        )
    };
    format!(
        "SELECT {}, {}, count(*) FILTER (WHERE {new} IS DISTINCT FROM {converted}), count(*) FROM {}",
        sum(&converted),
        sum(&new),
        qualified(table)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted() {
        let t = QualName::new("app", "Order\"s");
        assert_eq!(row_count(&t), "SELECT count(*) FROM app.\"Order\"\"s\"");
        assert_eq!(
            unfilled(&t, "new col", Some("old"), &["id".into()]),
            "SELECT (SELECT count(*) FROM app.\"Order\"\"s\" WHERE \"new col\" IS NULL AND old IS NOT NULL), \
             (SELECT ROW(id)::text FROM app.\"Order\"\"s\" WHERE \"new col\" IS NULL AND old IS NOT NULL ORDER BY id LIMIT 1)"
        );
        assert_eq!(
            unfilled(&t, "c", None, &[]),
            "SELECT (SELECT count(*) FROM app.\"Order\"\"s\" WHERE c IS NULL), NULL::text"
        );
        let a = agreement(&t, "select", "c_new", "bigint", Conversion::Cast);
        assert!(a.contains("count(*) FILTER (WHERE c_new IS DISTINCT FROM (\"select\")::bigint)"), "{a}");
    }
}
