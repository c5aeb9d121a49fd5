//! Rule cases as data: each `tests/cases/<name>.sql` is linted (one history per file; a
//! first line `-- lint: pg_version=12 assume_in_transaction enable=<opt-in rule>` sets options) and its
//! compiler-style output is the snapshot `tests/cases/snapshots/cases__<name>.snap`.
//!
//! `catalog=<name>` lints against a live database: `tests/catalogs/<name>.sql` applied to a
//! scratch database on the test server and read back, with the row estimates of its
//! `-- facts:` line (`schema.table rows=N, ...`). `naming.<key>=<value>` sets a key of
//! `[lint.naming]`.

use std::path::Path;

use cutover_db_postgres::introspect::IntrospectOptions;
use cutover_db_postgres::source::SqlSource;
use cutover_lint::{LintOptions, SourceFile, lint, render};
use cutover_schema::{Catalog, QualName};

#[test]
fn cases() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    insta::glob!("cases/*.sql", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let mut options = LintOptions::default();
        if let Some(header) = text.lines().next().and_then(|l| l.strip_prefix("-- lint:")) {
            for word in header.split_whitespace() {
                match word.split_once('=') {
                    Some(("pg_version", v)) => options.pg_version = v.parse().unwrap(),
                    Some(("enable", code)) => {
                        options.rules.enabled.insert(code.to_string());
                    }
                    Some(("catalog", name)) => options.database = Some(runtime.block_on(catalog(name))),
                    Some((key, value)) if key.starts_with("naming.") => {
                        options.rules.naming.set(&key["naming.".len()..], value).unwrap();
                    }
                    None if word == "assume_in_transaction" => options.assume_in_transaction = true,
                    _ => panic!("unknown option {word} in {}", path.display()),
                }
            }
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let files = [SourceFile { path: name, text }];
        let report = lint(&files, &options);
        insta::assert_snapshot!(render::human(&report, &files));
    });
}

/// `tests/catalogs/<name>.sql` as the live database, with its facts.
async fn catalog(name: &str) -> Catalog {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/catalogs").join(format!("{name}.sql"));
    let source = SqlSource::parse(path.to_str().unwrap()).unwrap();
    let mut catalog = source.load(&cutover_test_support::dev_server(), &IntrospectOptions::default()).await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    for facts in text.lines().filter_map(|l| l.strip_prefix("-- facts:")) {
        for entry in facts.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (table, rows) = entry.split_once(" rows=").unwrap_or_else(|| panic!("bad fact {entry}"));
            let (schema, table) = table.split_once('.').unwrap_or(("public", table));
            let f = catalog.facts.tables.entry(QualName::new(schema, table)).or_default();
            f.rows = Some(rows.parse().unwrap());
            f.bytes = f.rows.unwrap() * 120;
        }
    }
    catalog
}
