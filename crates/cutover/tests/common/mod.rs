//! Helpers shared by the integration tests: load SQL into a fresh database, read it back,
//! apply a diff, and check convergence.

#![allow(dead_code)]

pub mod backfill;
pub mod scenario;

use cutover_db_postgres::introspect::{IntrospectOptions, introspect};
use cutover_db_postgres::source::apply_sql;
use cutover_plan::{Diff, DiffOptions, diff};
use cutover_schema::Catalog;
use cutover_test_support::TestDb;
use std::path::Path;

/// A fresh database with `sql` applied.
pub async fn db_with(sql: &str, origin: &str) -> Result<TestDb, String> {
    let db = TestDb::new().await;
    let client = db.connect().await;
    apply_sql(&client, Path::new(origin), sql).await.map_err(|e| format!("loading {origin}: {e}"))?;
    Ok(db)
}

/// Reads `db`'s catalog, and checks on the way that every constraint definition the
/// introspection printed itself is exactly what PostgreSQL's pg_get_constraintdef prints.
pub async fn read(db: &TestDb) -> Result<Catalog, String> {
    let client = db.connect().await;
    let catalog = introspect(&client, &IntrospectOptions::default())
        .await
        .map_err(|e| format!("introspecting {}: {e}", db.name))?;
    check_constraint_definitions(&client, &catalog).await.map_err(|e| format!("introspecting {}: {e}", db.name))?;
    Ok(catalog)
}

/// Primary keys, unique constraints and foreign keys are printed by the introspection
/// rather than by the server (see crates/sql/src/catalog_queries.rs); every
/// scenario read in the tests checks them against the server's own printing.
async fn check_constraint_definitions(client: &cutover_test_support::Client, catalog: &Catalog) -> Result<(), String> {
    client.batch_execute("SET search_path = ''").await.map_err(|e| e.to_string())?;
    let rows = client
        .query(
            "SELECT n.nspname::text, c.relname::text, con.conname::text, pg_get_constraintdef(con.oid), \
             con.convalidated FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE con.contype IN ('p', 'u', 'f') AND con.conparentid = 0 AND con.conislocal \
             AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    for row in rows {
        let table = cutover_schema::QualName::new(row.get::<_, String>(0), row.get::<_, String>(1));
        let name: String = row.get(2);
        let mut expected: String = row.get(3);
        if !row.get::<_, bool>(4) {
            expected = expected.strip_suffix(" NOT VALID").unwrap_or(&expected).to_string();
        }
        let Some(model) = catalog.tables.get(&table) else { continue }; // an extension's table
        let Some(constraint) = model.constraints.get(&name) else {
            return Err(format!("constraint {name} of {table} was not read"));
        };
        if constraint.definition != expected {
            return Err(format!(
                "constraint {name} of {table}: read as\n  {}\nbut PostgreSQL prints\n  {expected}",
                constraint.definition
            ));
        }
    }
    Ok(())
}

/// Runs every statement of `diff` on `db`, one at a time, outside a transaction.
pub async fn apply(db: &TestDb, diff: &Diff) -> Result<(), String> {
    let client = db.connect().await;
    for (i, change) in diff.changes.iter().enumerate() {
        let sql = change.sql();
        if let Err(e) = client.batch_execute(&sql).await {
            return Err(format!(
                "statement {} of {} failed: {}\n{sql}\n--- whole diff ---\n{}",
                i + 1,
                diff.changes.len(),
                cutover_db_postgres::error_text(&e),
                diff.to_sql()
            ));
        }
    }
    Ok(())
}

/// The catalog as the diff sees it under `options`, for equality checks.
pub fn comparable(catalog: &Catalog, options: &DiffOptions) -> Catalog {
    let mut out = cutover_plan::diff::filter(catalog, options).canonical();
    if !options.privileges {
        for s in out.schemas.values_mut() {
            s.grants.clear();
        }
        for t in out.types.values_mut() {
            t.grants.clear();
        }
        for s in out.sequences.values_mut() {
            s.grants.clear();
        }
        for t in out.tables.values_mut() {
            t.grants.clear();
            for c in &mut t.columns {
                c.grants.clear();
            }
        }
        for v in out.views.values_mut() {
            v.grants.clear();
        }
        for f in out.functions.values_mut() {
            f.grants.clear();
        }
    }
    if !options.extension_versions {
        for e in out.extensions.values_mut() {
            e.version.clear();
        }
    }
    out
}

/// Diffs `from` against `to`, applies the diff to `from`, and checks that a second diff is
/// empty and that both databases now hold the same schema. Returns the first diff.
pub async fn converge(from: &TestDb, to: &TestDb, options: &DiffOptions, check_models: bool) -> Result<Diff, String> {
    let current = read(from).await?;
    let desired = read(to).await?;
    let first = diff(&current, &desired, options);
    if first.ordering_cycles > 0 {
        return Err(format!("the dependency order had {} cycle(s):\n{}", first.ordering_cycles, first.to_sql()));
    }
    apply(from, &first).await?;
    let after = read(from).await?;
    let second = diff(&after, &desired, options);
    if !second.is_empty() {
        return Err(format!(
            "no convergence: after applying\n{}\nthe diff is still\n{}",
            first.to_sql(),
            second.to_sql()
        ));
    }
    if check_models {
        let (a, b) = (comparable(&after, options), comparable(&desired, options));
        if a != b {
            return Err(format!("the diff is empty but the models differ:\n{}", model_difference(&a, &b)));
        }
    }
    Ok(first)
}

/// A readable description of where two catalogs differ: the first differing lines of
/// their pretty-printed forms, with context.
pub fn model_difference(a: &Catalog, b: &Catalog) -> String {
    let (a, b) = (format!("{a:#?}"), format!("{b:#?}"));
    let al: Vec<&str> = a.lines().collect();
    let bl: Vec<&str> = b.lines().collect();
    let first = al.iter().zip(&bl).position(|(x, y)| x != y).unwrap_or(al.len().min(bl.len()));
    let start = first.saturating_sub(12);
    format!(
        "--- after applying (from line {start}) ---\n{}\n--- desired ---\n{}",
        al[start..(first + 6).min(al.len())].join("\n"),
        bl[start..(first + 6).min(bl.len())].join("\n")
    )
}

/// A command's standard output, as text.
pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A command's standard error, as text.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Polls `check` every 20 ms until it holds, failing the test after 60 s.
pub async fn wait_for<F: AsyncFnMut() -> bool>(what: &str, mut check: F) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A small shop whose plan has expand, switch and contract phases (a foreign key, an
/// index, a column added and one dropped), with rows: what the rollout tests run.
pub const SHOP_BEFORE: &str = "CREATE TABLE customers (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, legacy text);";
pub const SHOP_DATA: &str = "INSERT INTO customers SELECT g FROM generate_series(1, 10) g;
INSERT INTO orders SELECT g, g % 10 + 1, 'x' FROM generate_series(1, 1000) g;";
pub const SHOP_AFTER: &str = "CREATE TABLE customers (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers, note text);
CREATE INDEX orders_customer_idx ON orders (customer_id);";
