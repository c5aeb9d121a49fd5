//! Identifier and literal quoting round-tripped through PostgreSQL: `quote::ident(s)` and
//! `quote::literal(s)` embedded in statements are parsed by PostgreSQL's own parser
//! (libpg_query, PostgreSQL 18) and the parse tree must give back exactly `s`; on the test
//! server (PostgreSQL 15 here), our quoting and the server's `quote_ident()` must name the same
//! relation, and literals must read back under both settings of `standard_conforming_strings`.
//!
//! Cases: 256 per property (`PROPTEST_CASES` overrides), from a fixed seed
//! (`PROPTEST_RNG_SEED` overrides); every keyword of PostgreSQL 18 (tests/data) and of the
//! server is also checked one by one.

use cutover_sql::quote;
use pg_query::NodeEnum;
use pg_query::protobuf::a_const::Val;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed, TestRunner};

fn config() -> ProptestConfig {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    ProptestConfig {
        cases: env("PROPTEST_CASES").map_or(256, |c| c as u32),
        rng_seed: RngSeed::Fixed(env("PROPTEST_RNG_SEED").unwrap_or(0x5eed_0002)),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/quote_property.txt"))),
        ..ProptestConfig::default()
    }
}

/// PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes (with a notice), quoted or not.
const MAX_IDENT_BYTES: usize = 63;

/// `(word, category)` of PostgreSQL 18's keywords.
fn pg18_keywords() -> Vec<(&'static str, &'static str)> {
    include_str!("data/pg18_keywords.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .collect()
}

/// Names to quote: keywords in any case, near-keywords, and arbitrary text without NUL.
fn name() -> impl Strategy<Value = String> {
    let keywords: Vec<String> = pg18_keywords().into_iter().map(|(w, _)| w.to_string()).collect();
    let keyword = prop::sample::select(keywords);
    prop_oneof![
        keyword.clone(),
        (keyword.clone(), any::<u64>()).prop_map(|(w, bits)| {
            // Upper-case some letters: `Select` is not the keyword `select` once quoted.
            w.chars()
                .enumerate()
                .map(|(i, c)| if bits >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c })
                .collect()
        }),
        (keyword, prop::sample::select(vec!["$", "_", "1", " ", "\"", "é", "$1"])).prop_map(|(w, s)| format!("{w}{s}")),
        "[a-z_][a-z0-9_$]{0,10}",
        "[a-zA-Z0-9_$ \"'\\\\\n\t.;é日🦀-]{1,20}",
        any::<String>(),
    ]
    .prop_map(|s| s.replace('\0', ""))
    .prop_filter("a name", |s| !s.is_empty() && s.len() <= MAX_IDENT_BYTES)
}

fn literal_text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z'\\\\\"\n\r\t$;é日🦀 ]{0,30}", any::<String>(),].prop_map(|s| s.replace('\0', ""))
}

fn parse_one(sql: &str) -> Result<NodeEnum, String> {
    let parsed = pg_query::parse(sql, 0).map_err(|e| format!("{sql}: {e}"))?;
    let stmts = &parsed.protobuf.stmts;
    match stmts.as_slice() {
        [one] => one.stmt.as_ref().and_then(|n| n.node.clone()).ok_or_else(|| format!("{sql}: empty")),
        _ => Err(format!("{sql}: {} statements", stmts.len())),
    }
}

fn string_of(node: &pg_query::protobuf::Node) -> Option<String> {
    match node.node.as_ref()? {
        NodeEnum::String(s) => Some(s.sval.clone()),
        _ => None,
    }
}

/// The names PostgreSQL's parser reads back from statements that use `q` in several positions.
fn parsed_names(q: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    match parse_one(&format!("SELECT 1 AS {q}"))? {
        NodeEnum::SelectStmt(s) => match s.target_list.first().and_then(|t| t.node.as_ref()) {
            Some(NodeEnum::ResTarget(t)) => names.push(t.name.clone()),
            other => return Err(format!("unexpected target {other:?}")),
        },
        other => return Err(format!("unexpected {other:?}")),
    }
    match parse_one(&format!("CREATE TABLE {q}.{q} ({q} int)"))? {
        NodeEnum::CreateStmt(s) => {
            let relation = s.relation.ok_or("no relation")?;
            names.push(relation.schemaname);
            names.push(relation.relname);
            match s.table_elts.first().and_then(|t| t.node.as_ref()) {
                Some(NodeEnum::ColumnDef(c)) => names.push(c.colname.clone()),
                other => return Err(format!("unexpected column {other:?}")),
            }
        }
        other => return Err(format!("unexpected {other:?}")),
    }
    match parse_one(&format!("SELECT {q}.{q} FROM {q}"))? {
        NodeEnum::SelectStmt(s) => match s.target_list.first().and_then(|t| t.node.as_ref()) {
            Some(NodeEnum::ResTarget(t)) => match t.val.as_ref().and_then(|v| v.node.as_ref()) {
                Some(NodeEnum::ColumnRef(c)) => names.extend(c.fields.iter().filter_map(string_of)),
                other => return Err(format!("unexpected column reference {other:?}")),
            },
            other => return Err(format!("unexpected target {other:?}")),
        },
        other => return Err(format!("unexpected {other:?}")),
    }
    Ok(names)
}

fn parsed_literal(lit: &str) -> Result<String, String> {
    match parse_one(&format!("SELECT {lit}"))? {
        NodeEnum::SelectStmt(s) => match s.target_list.first().and_then(|t| t.node.as_ref()) {
            Some(NodeEnum::ResTarget(t)) => match t.val.as_ref().and_then(|v| v.node.as_ref()) {
                Some(NodeEnum::AConst(c)) => match &c.val {
                    Some(Val::Sval(s)) => Ok(s.sval.clone()),
                    other => Err(format!("not a string constant: {other:?}")),
                },
                other => Err(format!("not a constant: {other:?}")),
            },
            other => Err(format!("unexpected target {other:?}")),
        },
        other => Err(format!("unexpected {other:?}")),
    }
}

fn check_ident(s: &str) -> Result<(), TestCaseError> {
    let q = quote::ident(s);
    let names = parsed_names(&q).map_err(TestCaseError::fail)?;
    prop_assert!(names.len() == 6 && names.iter().all(|n| n == s), "{s:?} quoted as {q} reads back as {names:?}");
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn quoted_identifiers_parse_back_to_the_name(s in name()) {
        check_ident(&s)?;
    }

    #[test]
    fn quoted_literals_parse_back_to_the_text(s in literal_text()) {
        let lit = quote::literal(&s);
        prop_assert_eq!(parsed_literal(&lit).map_err(TestCaseError::fail)?, s, "quoted as {}", lit);
    }
}

#[test]
fn every_postgres_18_keyword_round_trips_and_is_bare_only_when_unreserved() {
    let keywords = pg18_keywords();
    assert!(keywords.len() > 450, "{} keywords", keywords.len());
    for (word, category) in keywords {
        check_ident(word).unwrap_or_else(|e| panic!("{word}: {e}"));
        let upper = word.to_ascii_uppercase();
        check_ident(&upper).unwrap_or_else(|e| panic!("{upper}: {e}"));
        if category != "unreserved" {
            assert!(!quote::is_plain_identifier(word), "{word} ({category}) must be quoted");
        }
    }
}

#[test]
fn names_longer_than_namedatalen_are_truncated_by_postgres_not_by_quoting() {
    // Recorded so that nobody relies on a 64-byte name surviving: PostgreSQL keeps 63 bytes.
    let long = "a".repeat(64);
    assert_eq!(quote::ident(&long), long);
    assert_eq!(parsed_names(&long).unwrap()[0], "a".repeat(63));
}

/// Against the real server: our quoting and `quote_ident()` name the same relation, the server
/// reads our quoted names back as the name, and literals read back as the text under both
/// settings of `standard_conforming_strings`.
#[test]
fn quoting_agrees_with_the_server() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let db = runtime.block_on(cutover_test_support::TestDb::new());
    let client = runtime.block_on(db.connect());

    // Every keyword the server knows, whatever its category, reads back as itself.
    let words: Vec<(String, String)> = runtime
        .block_on(client.query("SELECT word, catcode::text FROM pg_get_keywords()", &[]))
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(words.len() > 400);
    for (word, catcode) in &words {
        let statement = runtime.block_on(client.prepare(&format!("SELECT 1 AS {}", quote::ident(word)))).unwrap();
        assert_eq!(statement.columns()[0].name(), word);
        if catcode != "U" {
            assert!(!quote::is_plain_identifier(word), "{word} ({catcode}) must be quoted");
        }
    }

    let mut runner = TestRunner::new(config());
    let cases = std::cell::Cell::new(0);
    runner
        .run(&(name(), literal_text()), |(s, text)| {
            cases.set(cases.get() + 1);
            runtime.block_on(server_case(&client, &s, &text))
        })
        .unwrap();
    eprintln!("quoting_agrees_with_the_server: {} cases", cases.get());
    drop(client);
    drop(db);
}

async fn server_case(client: &tokio_postgres::Client, s: &str, text: &str) -> Result<(), TestCaseError> {
    let fail = |e: tokio_postgres::Error| TestCaseError::fail(format!("{s:?}: {e}"));
    let ours = quote::ident(s);
    // The column name of `SELECT 1 AS <ours>` is what the server's parser made of it.
    let statement = client.prepare(&format!("SELECT 1 AS {ours}")).await.map_err(fail)?;
    prop_assert_eq!(statement.columns()[0].name(), s);

    let theirs: String = client.query_one("SELECT quote_ident($1)", &[&s]).await.map_err(fail)?.get(0);
    // Schema names starting with `pg_` are reserved: such a relation goes into `public`.
    let (schema, schema_ours, schema_theirs) = match s.starts_with("pg_") {
        true => ("public", "public".to_string(), "public".to_string()),
        false => (s, ours.clone(), theirs.clone()),
    };
    let create_schema = if s.starts_with("pg_") { String::new() } else { format!("CREATE SCHEMA {ours};") };
    client
        .batch_execute(&format!("BEGIN; {create_schema} CREATE TABLE {schema_ours}.{ours} ({ours} int)"))
        .await
        .map_err(fail)?;
    let qualified_ours = format!("{schema_ours}.{ours}");
    let qualified_theirs = format!("{schema_theirs}.{theirs}");
    let row = client
        .query_one(
            "SELECT to_regclass($1)::oid, to_regclass($2)::oid, c.oid, n.nspname, c.relname, a.attname \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = 1 \
             WHERE n.nspname = $3 AND c.relname = $4",
            &[&qualified_ours, &qualified_theirs, &schema.to_string(), &s.to_string()],
        )
        .await
        .map_err(fail)?;
    client.batch_execute("ROLLBACK").await.map_err(fail)?;
    let (by_ours, by_theirs, oid): (Option<u32>, Option<u32>, u32) = (row.get(0), row.get(1), row.get(2));
    prop_assert_eq!(by_ours, Some(oid), "{} does not name the relation", qualified_ours);
    prop_assert_eq!(by_theirs, Some(oid), "quote_ident: {} does not name the relation", qualified_theirs);
    let (nspname, relname, attname): (String, String, String) = (row.get(3), row.get(4), row.get(5));
    prop_assert!(nspname == schema && relname == s && attname == s);

    let lit = quote::literal(text);
    for setting in ["on", "off"] {
        client.batch_execute(&format!("SET standard_conforming_strings = {setting}")).await.map_err(fail)?;
        let back: String = client.query_one(&format!("SELECT {lit}::text"), &[]).await.map_err(fail)?.get(0);
        prop_assert_eq!(&back, text, "{} with standard_conforming_strings = {}", lit, setting);
        let equal: bool = client.query_one(&format!("SELECT {lit} = $1"), &[&text]).await.map_err(fail)?.get(0);
        prop_assert!(equal);
    }
    client.batch_execute("RESET standard_conforming_strings").await.map_err(fail)?;
    Ok(())
}
