//! Properties of `lint()` over arbitrary text and generated near-SQL (statements of the kinds
//! the rules look at, cut short, repeated, nested, with hostile bytes between them): it never
//! panics, every diagnostic's span and line/column are inside its file and agree with each
//! other, diagnostics come in order of position, and the same input gives the same report.
//!
//! Cases: 256 per property (`PROPTEST_CASES` overrides), from a fixed seed
//! (`PROPTEST_RNG_SEED` overrides).

use cutover_lint::{LintOptions, Report, RuleSettings, SourceFile, lint};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

fn config() -> ProptestConfig {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    ProptestConfig {
        cases: env("PROPTEST_CASES").map_or(256, |c| c as u32),
        rng_seed: RngSeed::Fixed(env("PROPTEST_RNG_SEED").unwrap_or(0x5eed_0004)),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/lint_property.txt"))),
        ..ProptestConfig::default()
    }
}

/// Every rule, the opt-in ones too.
fn all_rules() -> RuleSettings {
    RuleSettings {
        enabled: cutover_lint::rules::OPT_IN.iter().map(|c| c.to_string()).collect(),
        ..RuleSettings::default()
    }
}

fn options() -> impl Strategy<Value = LintOptions> {
    (12u32..=19, any::<bool>(), prop::option::of(prop::option::of(0u64..100_000_000))).prop_map(
        |(pg_version, assume_in_transaction, rows)| LintOptions {
            pg_version,
            assume_in_transaction,
            // Without a live database, or with one that knows the size of the tables
            // (rules then weigh lock findings by it).
            database: rows.map(|rows| live_database(pg_version, rows)),
            rules: all_rules(),
        },
    )
}

fn live_database(pg_version: u32, rows: Option<u64>) -> cutover_schema::Catalog {
    let mut catalog = cutover_schema::Catalog::default();
    catalog.facts.server_version_num = pg_version * 10_000;
    for (schema, name) in [("public", "t"), ("s", "u"), ("public", "u")] {
        let facts = cutover_schema::TableFacts { rows, bytes: rows.unwrap_or(0) * 100 };
        catalog.facts.tables.insert(cutover_schema::QualName::new(schema, name), facts);
    }
    catalog
}

/// Statements the rules look at, and pieces that break them.
const STATEMENTS: &[&str] = &[
    "CREATE TABLE t (id serial PRIMARY KEY, x int, j json, c char(10), ts timestamp, v varchar(20))",
    "CREATE TABLE IF NOT EXISTS s.u (id int GENERATED ALWAYS AS IDENTITY, g int GENERATED ALWAYS AS (id * 2) STORED)",
    "ALTER TABLE t ADD COLUMN y int NOT NULL DEFAULT random()",
    "ALTER TABLE t ADD COLUMN z bigint NOT NULL",
    "ALTER TABLE t ALTER COLUMN x TYPE bigint",
    "ALTER TABLE t ALTER COLUMN x SET NOT NULL",
    "ALTER TABLE t ALTER COLUMN x DROP NOT NULL",
    "ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0)",
    "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (x) REFERENCES u (id)",
    "ALTER TABLE t ADD CONSTRAINT u UNIQUE (x)",
    "ALTER TABLE t ADD CONSTRAINT e EXCLUDE USING gist (x WITH =)",
    "ALTER TABLE t RENAME COLUMN x TO y",
    "ALTER TABLE t RENAME TO t2",
    "ALTER TABLE t DROP COLUMN x",
    "ALTER TABLE t DETACH PARTITION p",
    "ALTER SCHEMA s RENAME TO s2",
    "ALTER TYPE e ADD VALUE 'v' BEFORE 'w'",
    "ALTER TYPE e RENAME VALUE 'v' TO 'w'",
    "CREATE DOMAIN d AS int CHECK (VALUE > 0)",
    "CREATE INDEX i ON t (x, y, z, w)",
    "CREATE UNIQUE INDEX CONCURRENTLY i ON t (x)",
    "DROP INDEX i",
    "DROP TABLE t CASCADE",
    "DROP DATABASE d",
    "REINDEX TABLE t",
    "TRUNCATE t CASCADE",
    "UPDATE t SET x = 1, x = 2",
    "UPDATE t SET x = 1 WHERE id < 1000",
    "VACUUM FULL t",
    "CLUSTER t USING i",
    "BEGIN",
    "START TRANSACTION",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT a",
    "SET lock_timeout = '1s'",
    "SET statement_timeout TO 0",
    "SELECT set_config('lock_timeout', '2s', true)",
    "LOCK TABLE t IN ACCESS EXCLUSIVE MODE",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
    "DO $$ BEGIN PERFORM 1; END $$",
    "COMMENT ON TABLE t IS 'x;y'",
    "CREATE TABLE \"Ünïcode 表\" (\"ç\" int)",
];

const NOISE: &[&str] = &[
    ";",
    "(",
    ")",
    "'",
    "\"",
    "$$",
    "--",
    "/*",
    "*/",
    "\n",
    "\r\n",
    " ",
    "é",
    "🦀",
    "\\",
    ",",
    "NOT",
    "NULL",
    "CONCURRENTLY",
    "-- cutover:ignore all\n",
    "-- cutover:no-transaction\n",
    "-- squawk-disable-assume-in-transaction\n",
    "((((((((((",
    "))))))))))",
];

fn near_sql() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(STATEMENTS).prop_map(|s| format!("{s};\n")),
        // A statement cut anywhere (at a character boundary).
        2 => (prop::sample::select(STATEMENTS), any::<prop::sample::Index>()).prop_map(|(s, at)| {
            let cuts: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
            s[..cuts[at.index(cuts.len())]].to_string()
        }),
        2 => prop::sample::select(NOISE).prop_map(String::from),
        1 => (1usize..200).prop_map(|depth| format!("SELECT {}1{};", "(".repeat(depth), ")".repeat(depth))),
        1 => "[a-zA-Z0-9 ;'\"()$\n\\\\é,.*=<>-]{0,20}",
    ];
    prop::collection::vec(piece, 0..30).prop_map(|p| p.concat())
}

fn files(text: impl Strategy<Value = String>) -> impl Strategy<Value = Vec<SourceFile>> {
    prop::collection::vec(text, 1..4).prop_map(|texts| {
        texts.into_iter().enumerate().map(|(i, text)| SourceFile { path: format!("{i}.sql"), text }).collect()
    })
}

fn check(files: &[SourceFile], options: &LintOptions) -> Result<(), TestCaseError> {
    let report = lint(files, options);
    check_report(files, &report)?;
    prop_assert_eq!(&lint(files, options), &report, "the same input gives the same report");
    Ok(())
}

fn check_report(files: &[SourceFile], report: &Report) -> Result<(), TestCaseError> {
    prop_assert_eq!(report.files, files.len());
    let mut previous: Option<(&str, usize)> = None;
    for d in &report.diagnostics {
        let file = files.iter().find(|f| f.path == d.file);
        prop_assert!(file.is_some(), "{d:?} names no file");
        let text = &file.unwrap().text;
        let span = d.span;
        prop_assert!(span.start <= span.end && span.end <= text.len(), "{d:?} outside {} bytes", text.len());
        prop_assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end), "{d:?} splits a character");
        let position = |offset: usize| {
            let before = &text[..offset];
            (before.matches('\n').count() + 1, before.rsplit('\n').next().unwrap_or("").chars().count() + 1)
        };
        prop_assert_eq!((d.line, d.column), position(span.start), "{:?}", d);
        prop_assert_eq!((d.end_line, d.end_column), position(span.end), "{:?}", d);
        prop_assert!(!d.message.is_empty() && !d.rule.is_empty());
        if let Some((file, start)) = previous
            && file == d.file
        {
            prop_assert!(start <= span.start, "diagnostics out of order");
        }
        previous = Some((&d.file, span.start));
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_never_panics_and_positions_are_inside(files in files(any::<String>()), options in options()) {
        check(&files, &options)?;
    }

    #[test]
    fn near_sql_never_panics_and_positions_are_inside(files in files(near_sql()), options in options()) {
        check(&files, &options)?;
    }
}

/// Found by `near_sql_never_panics_...`: the one-byte span at the end of the input split a
/// multibyte character, and the diagnostic was put at column 1 instead of at that character.
#[test]
fn end_of_input_findings_point_at_the_last_character_whole() {
    let options = LintOptions { rules: all_rules(), ..LintOptions::default() };
    let text = "SELECT set_config('lock_timeout',é";
    let files = [SourceFile { path: "a.sql".into(), text: text.into() }];
    let report = lint(&files, &options);
    let parse_error = report.diagnostics.iter().find(|d| d.rule == "parse-error").expect("a parse error");
    assert_eq!((parse_error.span.start, parse_error.span.end), (33, 35));
    assert_eq!((parse_error.line, parse_error.column), (1, 34));
}

#[test]
fn deeply_nested_input_is_a_finding_not_a_crash() {
    let options = LintOptions { rules: all_rules(), ..LintOptions::default() };
    for depth in [1_000, 10_000, 100_000] {
        for text in [
            format!("SELECT {}1{};", "(".repeat(depth), ")".repeat(depth)),
            format!("SELECT {}1", "ARRAY[".repeat(depth)),
            format!("SELECT 1{}", " + (1".repeat(depth)),
            format!("CREATE TABLE t (x int CHECK ({}x > 0{}));", "NOT (".repeat(depth), ")".repeat(depth)),
        ] {
            let files = [SourceFile { path: "deep.sql".into(), text }];
            let report = lint(&files, &options);
            check_report(&files, &report).unwrap();
        }
    }
}

/// Columns on one long line are counted from the previous position and suppressions read from
/// the text since the previous statement (both were rescanned from the line's start for every
/// statement: a 1 MiB one-line file took 22 s in a debug build). The answers stay the same.
#[test]
fn one_long_line_of_statements_keeps_exact_columns_and_suppressions() {
    let options = LintOptions::default();
    let text = "-- cutover:ignore drop-table\n".to_string() + &"drop table t; ".repeat(2_000);
    let files = [SourceFile { path: "a.sql".into(), text }];
    let report = lint(&files, &options);
    let drops: Vec<_> = report.diagnostics.iter().filter(|d| d.rule == "drop-table").collect();
    // The comment suppresses the first statement only: the others are not below it.
    assert_eq!(drops.len(), 1_999);
    for (k, d) in drops.iter().enumerate() {
        assert_eq!((d.line, d.column), (2, (k + 1) * 14 + 1), "{d:?}");
    }
    check_report(&files, &report).unwrap();
}
