//! The validation plan as `cutover verify` checks: the same `UserCheck`s and
//! `LatencyCheck`s a `--checks FILE` yields, for what the plan states precisely enough, and
//! the rest reported with the reason, never guessed.
//!
//! A check needs a query and what its result must be:
//! - the query is a ```sql block (each statement of it), or a code span of a list item that
//!   is a query (`SELECT`, `WITH`, `TABLE`, `VALUES`); a statement that is not a query
//!   (`UPDATE`, DDL) is reported, since verify only reads;
//! - what it must return is said in the item's prose, in a `--` comment of the statement
//!   (on its own line before it, or after it on its last line), or in a prose item ending
//!   with `:` right before the block: "must be 0", "= 0", "is zero", "returns no rows",
//!   "returns 3 rows", "returns true". A query that says nothing of its result, or says two
//!   different things, is reported;
//! - a latency item ("p95 < 50ms", "latency under 2 s") needs a query to time and a budget:
//!   verify times the median of `runs` runs, so a budget stated for a higher percentile is
//!   checked against the median (`median_for`: it says so; the median under the budget is
//!   necessary, not sufficient);
//! - row counts compared with before the change, prose, and anything else are reported:
//!   verify already reports the row count of every table the plan touches.

use crate::markdown;
use crate::quantity;
use crate::{SqlBlock, ValidationItem};
use cutover_plan::verify::{Expect, LatencyCheck, UserCheck};
use serde::Serialize;

/// Runs of a latency check mapped from a validation plan (as a checks file's default).
pub const LATENCY_RUNS: u32 = 5;

/// What a validation plan maps to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidationChecks {
    pub checks: Vec<UserCheck>,
    pub latency: Vec<Latency>,
    /// What could not be mapped, as written, with the reason.
    pub not_understood: Vec<NotUnderstood>,
}

/// A latency budget and the percentile it was stated for, when not the median.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latency {
    pub check: LatencyCheck,
    /// `Some(95)` for "p95 < 50ms": verify measures the median, so this budget is checked
    /// against the median of the runs.
    pub median_for: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotUnderstood {
    pub text: String,
    pub reason: String,
}

/// Maps the validation plan's items to checks, in order.
pub fn checks(items: &[ValidationItem]) -> ValidationChecks {
    let mut out = ValidationChecks::default();
    // A prose item ending with ':' and naming no query applies to the block after it.
    let mut lead: Option<&str> = None;
    for item in items {
        let taken = lead.take();
        match item {
            ValidationItem::Query(block) => fenced(block, taken, &mut out),
            ValidationItem::RowCount(text) | ValidationItem::Note(text) | ValidationItem::Latency { text, .. }
                if queries_in(text).is_empty() && text.trim_end().ends_with(':') =>
            {
                lead = Some(text);
            }
            ValidationItem::Latency { text, budget_ms } => latency(text, *budget_ms, None, &mut out),
            ValidationItem::RowCount(text) | ValidationItem::Note(text) => prose(text, &mut out),
        }
        if let Some(text) = taken {
            // A lead followed by something else than a block stands alone.
            if !matches!(item, ValidationItem::Query(_)) {
                not_understood(&mut out, text, "it introduces a query, but no ```sql block follows it");
            }
        }
    }
    if let Some(text) = lead {
        not_understood(&mut out, text, "it introduces a query, but no ```sql block follows it");
    }
    out
}

fn not_understood(out: &mut ValidationChecks, text: &str, reason: &str) {
    out.not_understood.push(NotUnderstood { text: text.trim().to_string(), reason: reason.to_string() });
}

/// A list item's code spans that are queries.
fn queries_in(text: &str) -> Vec<&str> {
    markdown::code_spans(text).into_iter().filter(|s| is_query(s)).collect()
}

fn is_query(sql: &str) -> bool {
    let first = markdown::words(sql).into_iter().next().unwrap_or_default();
    matches!(first.as_str(), "select" | "with" | "table" | "values")
}

/// A name for a check: its prose, else the query's first line, clipped.
fn name_of(prose: &str, sql: &str) -> String {
    let prose = markdown::without_code_spans(prose).split_whitespace().collect::<Vec<_>>().join(" ");
    let prose = prose.trim_matches(|c: char| c == ':' || c == '-' || c.is_whitespace());
    let text = if prose.chars().any(char::is_alphanumeric) {
        prose.to_string()
    } else {
        sql.lines()
            .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))
            .unwrap_or(sql)
            .trim()
            .to_string()
    };
    if text.chars().count() > 80 { format!("{}…", text.chars().take(79).collect::<String>()) } else { text }
}

/// What a text says a query's result must be: `Ok(None)` when it says nothing,
/// `Err` when it says two different things.
fn expectation(text: &str) -> Result<Option<Expect>, String> {
    let lower = markdown::without_code_spans(text).to_lowercase();
    // "=" and "==" are words here; "0" stays a word of digits.
    let spaced = lower.replace("==", " = ").replace('=', " = ");
    let words: Vec<&str> =
        spaced.split(|c: char| !(c.is_alphanumeric() || c == '=')).filter(|w| !w.is_empty()).collect();
    let mut found: Vec<Expect> = Vec::new();
    let rows_word = |w: Option<&&str>| matches!(w.copied(), Some("row" | "rows" | "results" | "result"));
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1);
        let prev = if i > 0 { words.get(i - 1).copied() } else { None };
        let number = w.parse::<u64>().ok();
        let says_result = matches!(
            prev,
            Some(
                "be" | "is"
                    | "="
                    | "equals"
                    | "equal"
                    | "returns"
                    | "return"
                    | "returning"
                    | "to"
                    | "reaches"
                    | "expect"
                    | "expected"
                    | "stays"
                    | "remains"
            )
        );
        match (*w, number) {
            (_, Some(n)) if rows_word(next) => found.push(Expect::Rows(n)),
            (_, Some(0)) if says_result => found.push(Expect::Zero),
            ("zero", _) if rows_word(next) => found.push(Expect::Rows(0)),
            ("zero", _) if says_result => found.push(Expect::Zero),
            ("no", _) if rows_word(next) => found.push(Expect::Rows(0)),
            ("empty" | "nothing", _) if says_result => found.push(Expect::Rows(0)),
            ("true", _) if says_result => found.push(Expect::True),
            _ => {}
        }
    }
    found.dedup();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        _ => Err("it says more than one thing about the result".into()),
    }
}

fn user_check(out: &mut ValidationChecks, name: String, sql: &str, said: Result<Option<Expect>, String>, text: &str) {
    match said {
        Ok(Some(expect)) => out.checks.push(UserCheck { name, sql: sql.trim().to_string(), expect }),
        Ok(None) => not_understood(
            out,
            text,
            "it does not say what the query must return (say \"must be 0\", \"returns no rows\", \"returns true\")",
        ),
        Err(reason) => not_understood(out, text, &reason),
    }
}

/// A list item of prose, maybe with a query in a code span.
fn prose(text: &str, out: &mut ValidationChecks) {
    let spans = markdown::code_spans(text);
    let queries = queries_in(text);
    match queries.as_slice() {
        [sql] => user_check(out, name_of(text, sql), sql, expectation(text), text),
        [] if !spans.is_empty() => not_understood(
            out,
            text,
            &format!("`{}` is not a query verify can run (SELECT, WITH, TABLE, VALUES)", spans[0]),
        ),
        [] if is_before_after(text) => not_understood(
            out,
            text,
            "it compares with the state before the change, which verify does not keep; verify reports the row count of every table the plan touches",
        ),
        [] => not_understood(out, text, "it names no query to run"),
        _ => not_understood(out, text, "it holds several queries; give each its own item"),
    }
}

fn is_before_after(text: &str) -> bool {
    let words = markdown::words(text);
    let has = |w: &str| words.iter().any(|x| x == w);
    has("before") || has("after") || has("match") || has("matches") || has("unchanged") || has("same")
}

/// A latency item: its query (a code span of the item, or the block it leads) and budget.
fn latency(text: &str, budget_ms: Option<u32>, block_sql: Option<&str>, out: &mut ValidationChecks) {
    let queries = queries_in(text);
    let sql = match (block_sql, queries.as_slice()) {
        (Some(sql), _) => sql,
        (None, [sql]) => *sql,
        (None, []) => {
            let reason = match markdown::code_spans(text).first() {
                Some(span) => format!("it names no SQL query to time (`{span}` is not one)"),
                None => "it names no SQL query to time".to_string(),
            };
            return not_understood(out, text, &reason);
        }
        (None, _) => return not_understood(out, text, "it holds several queries; give each its own item"),
    };
    let Some(budget_ms) = budget_ms.filter(|b| *b > 0) else {
        return not_understood(out, text, "it states no time budget (e.g. \"< 50 ms\")");
    };
    let percentile = markdown::words(&markdown::without_code_spans(text)).iter().find_map(|w| {
        w.strip_prefix('p')
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u32>().ok())
    });
    out.latency.push(Latency {
        check: LatencyCheck {
            name: name_of(text, sql),
            sql: sql.trim().to_string(),
            budget_ms: budget_ms.into(),
            runs: LATENCY_RUNS,
        },
        median_for: percentile.filter(|p| *p != 50),
    });
}

/// A ```sql block: each statement a check, its expectation from its comments, else from the
/// lead before the block.
fn fenced(block: &SqlBlock, lead: Option<&str>, out: &mut ValidationChecks) {
    let statements = cutover_sql::split::split(&block.text);
    if let Some(lead) = lead.filter(|l| is_latency(l)) {
        let budget = quantity::durations(&quantity::tokens(&lead.to_lowercase()))
            .ms
            .first()
            .map(|ms| quantity::ceil_div(*ms, 1.0));
        return match statements.as_slice() {
            [one] if is_query(code_of(one.text)) => latency(lead, budget, Some(code_of(one.text)), out),
            [one] => not_understood(out, one.text, "verify only runs queries (SELECT, WITH, TABLE, VALUES)"),
            _ => not_understood(out, lead, "it times one query, but the block after it holds several statements"),
        };
    }
    let lines: Vec<&str> = block.text.lines().collect();
    let comments = statement_comments(&block.text, &statements, &lines);
    for (statement, comment) in statements.iter().zip(comments) {
        let sql = code_of(statement.text);
        if !is_query(sql) {
            not_understood(out, statement.text, "verify only runs queries (SELECT, WITH, TABLE, VALUES)");
            continue;
        }
        let said = match expectation(&comment) {
            Ok(None) => lead.map(expectation).unwrap_or(Ok(None)),
            said => said,
        };
        let name = name_of(if comment.trim().is_empty() { lead.unwrap_or("") } else { &comment }, sql);
        user_check(out, name, sql, said, statement.text);
    }
}

fn is_latency(text: &str) -> bool {
    let words = markdown::words(&markdown::without_code_spans(text));
    words
        .iter()
        .any(|w| w == "latency" || (w.len() > 1 && w.starts_with('p') && w[1..].bytes().all(|b| b.is_ascii_digit())))
}

/// A statement without its leading comment lines.
fn code_of(text: &str) -> &str {
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        match trimmed.strip_prefix("--") {
            Some(after) => rest = after.split_once('\n').map(|(_, r)| r).unwrap_or(""),
            None => return trimmed,
        }
    }
}

/// The `--` comments that belong to each statement: on lines of its own before the
/// statement's code, and after its code on the lines it spans (a trailing `-- must be 0`).
fn statement_comments(source: &str, statements: &[cutover_sql::split::Statement<'_>], lines: &[&str]) -> Vec<String> {
    // 0-based line of each statement's first line of code and of its last line.
    let spans: Vec<(usize, usize)> = statements
        .iter()
        .map(|s| {
            let code = code_of(s.text);
            let start = s.offset + (s.text.len() - code.len());
            let end = s.offset + s.text.len();
            (line_at(source, start), line_at(source, end.saturating_sub(1).max(start)))
        })
        .collect();
    let mut out = vec![String::new(); statements.len()];
    for (n, line) in lines.iter().enumerate() {
        let Some(comment) = line_comment(line) else { continue };
        let owner = spans
            .iter()
            .position(|(first, last)| (*first..=*last).contains(&n))
            .or_else(|| spans.iter().position(|(first, _)| *first > n));
        if let Some(i) = owner {
            out[i].push_str(comment);
            out[i].push('\n');
        }
    }
    out
}

fn line_at(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count()
}

/// The text of a line's `--` comment, outside single-quoted literals.
fn line_comment(line: &str) -> Option<&str> {
    let mut quoted = false;
    let bytes = line.as_bytes();
    for i in 0..bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'-' if !quoted && bytes.get(i + 1) == Some(&b'-') => return Some(line[i + 2..].trim()),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(section: &str) -> ValidationChecks {
        let description = format!(
            "## Objective\nTrack orders.\n\n## Affected tables\n- `orders`\n\n## Proposed schema changes\n```sql\nALTER TABLE orders ADD COLUMN c int;\n```\n\n## Migration type\nadditive\n\n## Downtime tolerance\nnone (zero-downtime required)\n\n## Validation plan\n{section}"
        );
        let parsed = crate::parse(&description);
        let request = parsed.request.unwrap_or_else(|| panic!("{:?}", parsed.problems));
        checks(&request.validation)
    }

    fn check(name: &str, sql: &str, expect: Expect) -> UserCheck {
        UserCheck { name: name.into(), sql: sql.into(), expect }
    }

    fn reasons(m: &ValidationChecks) -> Vec<(&str, &str)> {
        m.not_understood.iter().map(|n| (n.text.as_str(), n.reason.as_str())).collect()
    }

    #[test]
    fn bullets_with_a_query_and_what_it_must_return() {
        let m = mapped(
            "- `SELECT count(*) FROM orders WHERE customer_id IS NULL` must be 0\n\
             - orphans: `SELECT count(*) FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE c.id IS NULL` = 0\n\
             - `SELECT bool_and(total >= 0) FROM orders` returns true\n\
             - `SELECT id FROM orders WHERE total < 0` returns no rows\n\
             - `SELECT * FROM settings WHERE key = 'mode'` returns 1 row\n",
        );
        assert_eq!(
            m.checks,
            [
                check("must be 0", "SELECT count(*) FROM orders WHERE customer_id IS NULL", Expect::Zero),
                check(
                    "orphans: = 0",
                    "SELECT count(*) FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE c.id IS NULL",
                    Expect::Zero
                ),
                check("returns true", "SELECT bool_and(total >= 0) FROM orders", Expect::True),
                check("returns no rows", "SELECT id FROM orders WHERE total < 0", Expect::Rows(0)),
                check("returns 1 row", "SELECT * FROM settings WHERE key = 'mode'", Expect::Rows(1)),
            ]
        );
        assert_eq!(reasons(&m), []);
    }

    #[test]
    fn sql_blocks_take_their_expectation_from_comments_or_the_line_before() {
        let m = mapped(
            "Integrity, each must be 0:\n\n```sql\n-- no order without a customer\nSELECT count(*) FROM orders WHERE customer_id IS NULL;\nSELECT count(*) FROM orders WHERE total < 0; -- expect 0\n```\n\n\
             ```sql\nSELECT count(*) FROM users WHERE email IS NULL; -- must be zero\nSELECT true; -- returns true\nSELECT 1;\n```\n",
        );
        assert_eq!(
            m.checks,
            [
                check(
                    "no order without a customer",
                    "SELECT count(*) FROM orders WHERE customer_id IS NULL",
                    Expect::Zero
                ),
                check("expect 0", "SELECT count(*) FROM orders WHERE total < 0", Expect::Zero),
                check("must be zero", "SELECT count(*) FROM users WHERE email IS NULL", Expect::Zero),
                check("returns true", "SELECT true", Expect::True),
            ]
        );
        assert_eq!(
            reasons(&m),
            [(
                "SELECT 1",
                "it does not say what the query must return (say \"must be 0\", \"returns no rows\", \"returns true\")"
            )]
        );
    }

    #[test]
    fn latency_budgets_of_named_queries() {
        let m = mapped(
            "- p95 < 50ms for `SELECT * FROM orders WHERE customer_id = 42`\n\
             - median latency under 2 s: `SELECT count(*) FROM orders`\n\
             - p99 latency of the lookup query:\n\n```sql\nSELECT * FROM users WHERE email = 'a@b.c'\n```\n\n\
             - p95 latency of `POST /login` stays < 120 ms during backfill\n\
             - latency of `SELECT 1` must stay low\n",
        );
        let got: Vec<(&str, &str, u64, Option<u32>)> = m
            .latency
            .iter()
            .map(|l| (l.check.name.as_str(), l.check.sql.as_str(), l.check.budget_ms, l.median_for))
            .collect();
        assert_eq!(
            got,
            [
                ("p95 < 50ms for", "SELECT * FROM orders WHERE customer_id = 42", 50, Some(95)),
                ("median latency under 2 s", "SELECT count(*) FROM orders", 2000, None),
            ]
        );
        assert!(m.latency.iter().all(|l| l.check.runs == LATENCY_RUNS));
        assert_eq!(
            reasons(&m),
            [
                ("p99 latency of the lookup query:", "it states no time budget (e.g. \"< 50 ms\")"),
                (
                    "p95 latency of `POST /login` stays < 120 ms during backfill",
                    "it names no SQL query to time (`POST /login` is not one)"
                ),
                ("latency of `SELECT 1` must stay low", "it states no time budget (e.g. \"< 50 ms\")"),
            ]
        );
    }

    #[test]
    fn a_latency_lead_times_the_block_after_it() {
        let m = mapped("p95 under 30 ms:\n\n```sql\nSELECT * FROM orders WHERE id = 1\n```\n");
        assert_eq!(m.latency.len(), 1, "{m:?}");
        assert_eq!(m.latency[0].check.sql, "SELECT * FROM orders WHERE id = 1");
        assert_eq!(m.latency[0].check.budget_ms, 30);
        assert_eq!(m.latency[0].median_for, Some(95));
    }

    #[test]
    fn what_cannot_be_understood_is_reported_not_guessed() {
        let m = mapped(
            "- row counts: `count(*) where email_verified is null` reaches 0 before NOT NULL\n\
             - Row counts of orders match before and after\n\
             - Check the dashboards for errors\n\
             - `SELECT count(*) FROM t` must be 0 and returns 2 rows\n\
             - `UPDATE t SET c = 1` then check\n\
             \n```sql\nDELETE FROM t WHERE c IS NULL;\n```\n",
        );
        assert_eq!(m.checks, []);
        assert_eq!(
            reasons(&m),
            [
                (
                    "row counts: `count(*) where email_verified is null` reaches 0 before NOT NULL",
                    "`count(*) where email_verified is null` is not a query verify can run (SELECT, WITH, TABLE, VALUES)"
                ),
                (
                    "Row counts of orders match before and after",
                    "it compares with the state before the change, which verify does not keep; verify reports the row count of every table the plan touches"
                ),
                ("Check the dashboards for errors", "it names no query to run"),
                (
                    "`SELECT count(*) FROM t` must be 0 and returns 2 rows",
                    "it says more than one thing about the result"
                ),
                (
                    "`UPDATE t SET c = 1` then check",
                    "`UPDATE t SET c = 1` is not a query verify can run (SELECT, WITH, TABLE, VALUES)"
                ),
                ("DELETE FROM t WHERE c IS NULL", "verify only runs queries (SELECT, WITH, TABLE, VALUES)"),
            ]
        );
    }
}
