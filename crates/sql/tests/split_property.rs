//! Properties of the statement splitter (`cutover_sql::split`) over arbitrary and hostile text,
//! and its agreement with PostgreSQL's own parser and scanner (libpg_query) on generated
//! statement lists full of strings, dollar quotes, comments and quoted identifiers with `;`.
//!
//! Cases: 256 per property (`PROPTEST_CASES` overrides), from a fixed seed
//! (`PROPTEST_RNG_SEED` overrides), so CI runs the same inputs every time.

use cutover_sql::split::{Statement, split};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};
use std::sync::Mutex;

fn config() -> ProptestConfig {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    ProptestConfig {
        cases: env("PROPTEST_CASES").map_or(256, |c| c as u32),
        rng_seed: RngSeed::Fixed(env("PROPTEST_RNG_SEED").unwrap_or(0x5eed_0001)),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/split_property.txt"))),
        ..ProptestConfig::default()
    }
}

/// libpg_query's split functions redirect the process's stderr while they run: one at a time.
static PG_QUERY: Mutex<()> = Mutex::new(());

/// Text made of the splitter's special characters, keywords it tracks, unicode and line ends.
fn hostile_sql() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just(";"),
        Just("'"),
        Just("''"),
        Just("\""),
        Just("$$"),
        Just("$a$"),
        Just("$1"),
        Just("a$"),
        Just("E'"),
        Just("e'\\'"),
        Just("\\"),
        Just("--"),
        Just("/*"),
        Just("*/"),
        Just("("),
        Just(")"),
        Just("begin"),
        Just(" atomic "),
        Just("end"),
        Just("case"),
        Just("create function "),
        Just("create or replace procedure "),
        Just("\n"),
        Just("\r\n"),
        Just(" "),
        Just("\t"),
        Just("x"),
        Just("é"),
        Just("日本"),
        Just("🦀"),
        Just("\u{0}"),
        Just("\u{a0}"),
        Just("\u{2003}"),
        Just("\x0b"),
        Just("\r"),
        Just("select 1"),
        Just("-"),
        Just("/"),
        Just("*"),
        Just("$"),
        Just("_"),
    ];
    prop_oneof![
        prop::collection::vec(token, 0..60).prop_map(|t| t.concat()),
        any::<String>(),
        "[a-z ;'\"$()/*\\-\n\\\\é]{0,120}",
    ]
}

/// PostgreSQL's whitespace; other Unicode spaces are identifier characters to it.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// What lies between two statements (or around them) must be whitespace, `;` and comments.
fn is_only_separators(gap: &str) -> bool {
    let b = gap.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c' | b';') {
            i += 1;
        } else if b[i..].starts_with(b"--") {
            while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else {
            return false;
        }
    }
    true
}

/// The structural invariants of a split, whatever the input.
fn check_split(sql: &str, stmts: &[Statement<'_>]) -> Result<(), TestCaseError> {
    let mut end_of_previous = 0;
    for stmt in stmts {
        let end = stmt.offset + stmt.text.len();
        prop_assert!(end <= sql.len(), "statement past the end: {stmt:?}");
        prop_assert!(sql.is_char_boundary(stmt.offset) && sql.is_char_boundary(end));
        prop_assert_eq!(&sql[stmt.offset..end], stmt.text);
        prop_assert!(!stmt.text.is_empty());
        prop_assert_eq!(stmt.text.trim_matches(is_space), stmt.text, "statements are trimmed");
        prop_assert!(stmt.offset >= end_of_previous, "statements overlap or are out of order");
        let gap = &sql[end_of_previous..stmt.offset];
        prop_assert!(is_only_separators(gap), "text between statements is dropped: {gap:?}");
        prop_assert!(end_of_previous == 0 || gap.contains(';'), "two statements without a `;` between: {gap:?}");
        let before = &sql[..stmt.offset];
        prop_assert_eq!(stmt.line, before.matches('\n').count() + 1);
        prop_assert_eq!(stmt.column, before.rsplit('\n').next().unwrap_or("").chars().count() + 1);
        end_of_previous = end;
    }
    let tail = &sql[end_of_previous..];
    prop_assert!(is_only_separators(tail), "text after the last statement is dropped: {tail:?}");
    Ok(())
}

fn texts<'a>(stmts: &[Statement<'a>]) -> Vec<&'a str> {
    stmts.iter().map(|s| s.text).collect()
}

/// Statements joined back into one text with `;\n`. A statement may end in a line comment (its
/// text is trimmed, so without the newline), which would swallow a `;` written on the same
/// line: it gets a newline first. An unterminated quote or comment swallows anything after it;
/// only the last statement can have one, and it is joined without a `;`.
fn rejoin(stmts: &[&str]) -> Result<String, TestCaseError> {
    let mut out = String::new();
    for (i, text) in stmts.iter().enumerate() {
        out.push_str(text);
        if split(&format!("{text};x")).len() == 2 {
            out.push_str(";\n");
        } else if split(&format!("{text}\n;x")).len() == 2 {
            out.push_str("\n;\n");
        } else {
            prop_assert_eq!(i + 1, stmts.len(), "an unterminated statement before the last: {:?}", text);
        }
    }
    Ok(out)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn never_panics_and_covers_every_byte(sql in hostile_sql()) {
        let stmts = split(&sql);
        check_split(&sql, &stmts)?;
        for stmt in &stmts {
            let _ = stmt.location_of(usize::MAX);
            let _ = stmt.location_of(0);
        }
    }

    #[test]
    fn splitting_rejoined_statements_gives_them_back(sql in hostile_sql()) {
        let first = texts(&split(&sql));
        let joined = rejoin(&first)?;
        let second = split(&joined);
        check_split(&joined, &second)?;
        prop_assert_eq!(texts(&second), first, "joined: {:?}", joined);
    }

    #[test]
    fn agrees_with_postgres_parser(list in statement_list(true)) {
        let ours = split(&list.sql);
        check_split(&list.sql, &ours)?;
        let theirs = {
            let _guard = PG_QUERY.lock().unwrap_or_else(|e| e.into_inner());
            pg_query::split_with_parser(&list.sql)
        };
        let theirs = theirs.map_err(|e| TestCaseError::fail(format!("generated SQL does not parse: {e}\n{}", list.sql)))?;
        prop_assert_eq!(positions(&ours), normalise(&list.sql, &theirs), "{}", list.sql);
        prop_assert_eq!(ours.len(), list.count);
    }

    #[test]
    fn agrees_with_postgres_scanner(list in statement_list(false)) {
        let ours = split(&list.sql);
        let theirs = {
            let _guard = PG_QUERY.lock().unwrap_or_else(|e| e.into_inner());
            pg_query::split_with_scanner(&list.sql)
        };
        let theirs = theirs.map_err(|e| TestCaseError::fail(format!("generated SQL does not scan: {e}\n{}", list.sql)))?;
        prop_assert_eq!(positions(&ours), normalise(&list.sql, &theirs), "{}", list.sql);
    }

    #[test]
    fn agrees_with_postgres_scanner_on_near_sql(parts in prop::collection::vec(near_sql_statement(), 1..6)) {
        // Every part starts with a keyword, as the scanner needs to count it as a statement.
        let sql = parts.join(";\n");
        let theirs = {
            let _guard = PG_QUERY.lock().unwrap_or_else(|e| e.into_inner());
            pg_query::split_with_scanner(&sql)
        };
        // Text PostgreSQL's scanner rejects (an unterminated quote) has no reference split.
        // The scanner drops statements whose parentheses do not balance (quotes that span parts
        // unbalance them); the splitter keeps them for the server to report.
        if !parentheses_balance(&sql) {
            return Ok(());
        }
        if let Ok(theirs) = theirs {
            // The scanner only counts text with a keyword as a statement (`"x" */` left over
            // from a quote that spans two parts is not one); the splitter keeps all of it.
            let ours: Vec<Statement<'_>> = split(&sql).into_iter().filter(|s| has_keyword(s.text)).collect();
            prop_assert_eq!(positions(&ours), normalise(&sql, &theirs), "{}", sql);
        }
    }
}

fn parentheses_balance(text: &str) -> bool {
    let _guard = PG_QUERY.lock().unwrap_or_else(|e| e.into_inner());
    let Ok(scan) = pg_query::scan(text) else { return false };
    let mut depth = 0i32;
    for token in &scan.tokens {
        match token.token {
            40 => depth += 1,
            41 => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

fn has_keyword(text: &str) -> bool {
    let _guard = PG_QUERY.lock().unwrap_or_else(|e| e.into_inner());
    pg_query::scan(text).is_ok_and(|scan| scan.tokens.iter().any(|t| t.keyword_kind != 0))
}

/// (offset, text) of each statement.
fn positions<'a>(stmts: &[Statement<'a>]) -> Vec<(usize, &'a str)> {
    stmts.iter().map(|s| (s.offset, s.text)).collect()
}

/// libpg_query's statements start after the previous `;` (leading whitespace and comments
/// included) and end before the next: trimmed the way the splitter trims, with offsets.
fn normalise<'a>(sql: &'a str, stmts: &[&'a str]) -> Vec<(usize, &'a str)> {
    stmts
        .iter()
        .filter_map(|s| {
            let mut offset = s.as_ptr() as usize - sql.as_ptr() as usize;
            let mut text = *s;
            loop {
                let trimmed = text.trim_start_matches(is_space);
                let skipped = if trimmed.starts_with("--") {
                    trimmed.find(['\n', '\r']).map_or(trimmed.len(), |n| n + 1)
                } else if trimmed.starts_with("/*") {
                    block_comment_len(trimmed)
                } else {
                    0
                };
                let next = &trimmed[skipped..];
                offset += text.len() - next.len();
                if next.len() == text.len() {
                    break;
                }
                text = next;
            }
            let text = text.trim_end_matches(is_space);
            (!text.is_empty()).then_some((offset, text))
        })
        .collect()
}

fn block_comment_len(text: &str) -> usize {
    let b = text.as_bytes();
    let (mut i, mut depth) = (0, 0);
    while i < b.len() {
        if b[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if b[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

#[derive(Debug, Clone)]
struct StatementList {
    sql: String,
    count: usize,
}

/// Characters that are hard for a splitter inside quotes and comments.
fn tricky_text() -> impl Strategy<Value = String> {
    "[a-z ;'\"$()*/\\-\n\r\té日🦀]{0,12}"
}

fn string_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        tricky_text().prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
        // E'' strings: backslash escapes, including an escaped quote.
        tricky_text().prop_map(|s| format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))),
        (prop::sample::select(vec!["", "a", "fn", "x_1", "é"]), tricky_text()).prop_map(|(tag, body)| {
            let close = format!("${tag}$");
            let body = body.replace('$', "");
            format!("{close}{body}{close}")
        }),
    ]
}

fn quoted_ident() -> impl Strategy<Value = String> {
    "[a-zA-Z ;'\"$()*/\\-\né日]{1,10}".prop_map(|s| format!("\"{}\"", s.replace('"', "\"\"")))
}

fn comment() -> impl Strategy<Value = String> {
    prop_oneof![
        tricky_text().prop_map(|s| format!("/* {} */", s.replace("*/", "").replace("/*", ""))),
        (tricky_text(), tricky_text()).prop_map(|(a, b)| format!(
            "/* {} /* {} */ */",
            a.replace(['*', '/'], ""),
            b.replace(['*', '/'], "")
        )),
        tricky_text().prop_map(|s| format!("-- {}\n", s.replace(['\n', '\r'], ""))),
    ]
}

fn separator() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(" ".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("\t".to_string()),
        comment().prop_map(|c| format!(" {c} ")),
    ]
}

/// One valid statement, and whether only the parser (not the scanner) splits it right.
fn statement() -> impl Strategy<Value = (String, bool)> {
    prop_oneof![
        (string_literal(), quoted_ident(), separator(), string_literal(), quoted_ident())
            .prop_map(|(a, x, sep, b, y)| (format!("SELECT {a} AS {x},{sep}{b} AS {y}"), false)),
        (quoted_ident(), quoted_ident(), string_literal(), separator()).prop_map(|(t, c, d, sep)| (
            format!("CREATE TABLE {t} ({c} text{sep}DEFAULT {d}, \"x;\" int CHECK (\"x;\" > 0))"),
            false
        )),
        (string_literal(), separator()).prop_map(|(s, sep)| (format!("COMMENT ON TABLE t{sep}IS {s}"), false)),
        (prop::sample::select(vec!["$$", "$fn$", "$body_1$"]), tricky_text()).prop_map(|(tag, body)| {
            let body = body.replace('$', "");
            (format!("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS {tag} SELECT 1; {body} {tag}"), false)
        }),
        (separator(), string_literal()).prop_map(|(sep, s)| (
            format!(
                "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1;{sep}SELECT CASE WHEN {s} = '' THEN 1 ELSE 2 END; END"
            ),
            true
        )),
        (separator(), string_literal()).prop_map(|(sep, s)| (
            format!("CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES ({s});{sep}END"),
            true
        )),
        string_literal()
            .prop_map(|s| (format!("CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES ({s}); NOTIFY x)"), false)),
        tricky_text().prop_map(|body| (format!("DO $$BEGIN PERFORM 1; {} END$$", body.replace('$', "")), false)),
        (comment(), string_literal()).prop_map(|(c, s)| (format!("SELECT 1 {c} + length({s})"), false)),
        Just(("BEGIN".to_string(), false)),
        Just(("COMMIT".to_string(), false)),
        quoted_ident().prop_map(|t| (format!("SELECT 1 FROM {t}.\"a;b\""), false)),
    ]
}

/// A list of valid statements separated by `;` and whitespace or comments; the last `;` is
/// optional. With `parser_only`, statements only PostgreSQL's parser splits right are allowed.
fn statement_list(parser_only: bool) -> impl Strategy<Value = StatementList> {
    (prop::collection::vec((statement(), separator()), 1..6), any::<bool>(), separator()).prop_map(
        move |(stmts, final_semicolon, lead)| {
            let stmts: Vec<(String, String)> =
                stmts.into_iter().filter(|((_, p), _)| parser_only || !p).map(|((s, _), sep)| (s, sep)).collect();
            let mut sql = lead;
            for (i, (stmt, sep)) in stmts.iter().enumerate() {
                sql.push_str(stmt);
                if i + 1 < stmts.len() || final_semicolon {
                    sql.push(';');
                }
                sql.push_str(sep);
            }
            StatementList { sql, count: stmts.len() }
        },
    )
}

/// A keyword followed by lexically tricky but mostly closed text.
fn near_sql_statement() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        string_literal(),
        quoted_ident(),
        comment(),
        // The scanner drops a statement with unbalanced parentheses; the splitter keeps it.
        (string_literal(), quoted_ident()).prop_map(|(a, b)| format!("({a}, ({b}))")),
        // Separated: `$1` or `1e` followed by letters is junk PostgreSQL's scanner rejects
        // inconsistently (libpg_query's split returns no statements rather than an error).
        Just(" $1 ".to_string()),
        Just("a$b".to_string()),
        Just("x$$".to_string()),
        Just("U&'d\\0061t'".to_string()),
        Just("B'01'".to_string()),
        Just("X'ff'".to_string()),
        Just("n'x;'".to_string()),
        Just(" 1e5 ".to_string()),
        Just("*--".to_string()),
        Just("+/*".to_string()),
        Just(" ".to_string()),
        Just("\n".to_string()),
        Just("é".to_string()),
        // No `begin` or `end`: in CREATE FUNCTION the splitter, like psql, takes any `begin` word
        // to open an atomic body (psqlscan.l's heuristic); the scanner knows no bodies.
        Just("::text".to_string()),
    ];
    (prop::sample::select(vec!["SELECT", "CREATE FUNCTION f()", "UPDATE", "DO"]), prop::collection::vec(piece, 0..8))
        .prop_map(|(kw, pieces)| format!("{kw} {}", pieces.concat()))
}

#[test]
fn the_separator_oracle_knows_comments() {
    assert!(is_only_separators(" ;\n-- x\n/* a /* b */ c */;"));
    assert!(!is_only_separators("/* a */ x"));
}
