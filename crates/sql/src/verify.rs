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

/// `$1`, `$2`: schema and name. One row, `true` for a materialized view, when a view of
/// either kind exists.
pub const VIEW: &str = "SELECT c.relkind = 'm' FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('v', 'm')";

/// `$1`, `$2`, `$3`: schema, name and identity arguments (as
/// `pg_get_function_identity_arguments` prints them under the empty search_path `BEGIN`
/// sets). One row when the function or procedure exists.
pub const ROUTINE: &str = "SELECT true FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = $1 AND p.proname = $2 AND pg_catalog.pg_get_function_identity_arguments(p.oid) = $3";

/// `$1`, `$2`: schema and name. One row when a type of that name exists.
pub const TYPE: &str = "SELECT true FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = $1 AND t.typname = $2";

/// `$1`, `$2`: schema and name of an enum. Its labels, in their order.
pub const ENUM_LABELS: &str = "SELECT e.enumlabel::text FROM pg_catalog.pg_enum e
JOIN pg_catalog.pg_type t ON t.oid = e.enumtypid
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = $1 AND t.typname = $2
ORDER BY e.enumsortorder";

/// `$1`, `$2`: schema and name. One row when a sequence of that name exists.
pub const SEQUENCE: &str = "SELECT true FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'S'";

/// `$1`, `$2`, `$3`: schema, table, policy. One row when the policy exists.
pub const POLICY: &str = "SELECT true FROM pg_catalog.pg_policy p
JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND p.polname = $3";

/// `$1`, `$2`: schema and table. One row with `relrowsecurity` when the table exists.
pub const ROW_SECURITY: &str = "SELECT c.relrowsecurity FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')";

/// `$1`, `$2`: schema and name. One row when the extended statistics object exists.
pub const STATISTICS: &str = "SELECT true FROM pg_catalog.pg_statistic_ext s
JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
WHERE n.nspname = $1 AND s.stxname = $2";

/// `$1`, `$2`, `$3`: schema, table, column. One row when the column exists: its default as
/// the catalog prints it (NULL for none; a generated column's expression is no default),
/// and its `attidentity` (`a`, `d`, or empty).
pub const COLUMN_DEFAULT: &str =
    "SELECT CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
a.attidentity::text
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = $1 AND c.relname = $2 AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped";

/// `$1`, `$2`: schema and name of a table. One row when it exists: the schema and name of
/// the table it is a partition of, and its bound as the server prints it (NULLs when it is
/// not a partition).
pub const PARTITION: &str = "SELECT pn.nspname::text, p.relname::text, pg_catalog.pg_get_expr(c.relpartbound, c.oid)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid AND c.relispartition
LEFT JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')";

/// `$1`, `$2`: schema and table. The primary key's columns, in key order.
pub const PRIMARY_KEY: &str = "SELECT a.attname::text FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary
ORDER BY k.ord";

/// Everything verify reads runs in one read-only snapshot, and waits briefly for locks: a
/// check never queues behind a migration's ACCESS EXCLUSIVE lock for long. The search_path
/// is empty, as when the schema was read, so defaults and routine arguments print as the
/// plan holds them (every name qualified); the data checks name everything qualified.
pub const BEGIN: &str =
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL lock_timeout = '5s'; SET LOCAL search_path = ''";

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
