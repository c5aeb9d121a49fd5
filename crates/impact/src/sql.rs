//! Table and column references in SQL text, statement by statement.
//!
//! Not a parser: a lexer (identifiers, quoted identifiers, literals and comments skipped)
//! and the few positions that name a table (after `FROM`, `JOIN`, `UPDATE`, `INTO`,
//! `TABLE`, and commas of a `FROM` list), with their aliases. A column is reported where a
//! statement names it qualified by the table or one of its aliases (certain), or
//! unqualified in a statement that reads the table (certain when it is the only table,
//! possible otherwise). A name qualified by another table, or in a statement that does not
//! touch the table, is not the table's.

use crate::{Affected, Confidence};

/// A reference to one of the changes: offset in the SQL text, the change's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlRef {
    pub offset: usize,
    pub change: usize,
    pub confidence: Confidence,
    pub what: String,
}

/// How far a piece of text reads as SQL: `None` when it does not, else the most a finding in
/// it can be trusted. Statements must start with a keyword written all upper or all lower
/// case ("Select the rows" is prose); lower-case SQL caps findings at medium.
pub fn sql_confidence(text: &str) -> Option<Confidence> {
    let first: String = text
        .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let upper = first.to_ascii_uppercase();
    let statement = matches!(
        upper.as_str(),
        "SELECT"
            | "WITH"
            | "INSERT"
            | "UPDATE"
            | "DELETE"
            | "MERGE"
            | "ALTER"
            | "CREATE"
            | "DROP"
            | "TRUNCATE"
            | "COPY"
            | "EXPLAIN"
            | "LOCK"
            | "COMMENT"
            | "REFRESH"
    );
    // Clauses on their own, as query builders concatenate them.
    let fragment =
        matches!(upper.as_str(), "FROM" | "JOIN" | "WHERE" | "LEFT" | "INNER" | "SET" | "VALUES" | "RETURNING");
    if first == upper && (statement || fragment) {
        return Some(Confidence::High);
    }
    if statement && first == first.to_ascii_lowercase() {
        // Lower-case SQL must also read as a statement, not a sentence starting with a verb.
        let lower = text.to_ascii_lowercase();
        let shaped = match upper.as_str() {
            "SELECT" | "WITH" => lower.contains(" from ") || lower.contains("\nfrom "),
            "INSERT" => lower.contains("into "),
            "UPDATE" => lower.contains(" set "),
            "DELETE" => lower.contains("from "),
            _ => true,
        };
        return shaped.then_some(Confidence::Medium);
    }
    None
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// An identifier: folded to lower case unless quoted.
    Ident {
        name: String,
        quoted: bool,
        keyword: bool,
    },
    Dot,
    Comma,
    Open,
    Close,
    Semi,
    /// `::` (a type follows), `:` or `@` (a bind parameter follows).
    Cast,
    Param,
    Other,
}

fn lex(sql: &str) -> Vec<(usize, Tok)> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = b[i..].iter().position(|&x| x == b'\n').map(|p| i + p).unwrap_or(b.len());
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..].find("*/").map(|p| i + 2 + p + 2).unwrap_or(b.len());
            }
            b'\'' => {
                let mut j = i + 1;
                while j < b.len() {
                    if b[j] == b'\'' {
                        if b.get(j + 1) == Some(&b'\'') {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    j += 1;
                }
                out.push((i, Tok::Other));
                i = j + 1;
            }
            b'"' | b'`' => {
                let mut j = i + 1;
                while j < b.len() {
                    if b[j] == c {
                        if b.get(j + 1) == Some(&c) {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    j += 1;
                }
                let (double, single) = if c == b'"' { ("\"\"", "\"") } else { ("``", "`") };
                let name = sql[i + 1..j.min(b.len())].replace(double, single);
                out.push((i, Tok::Ident { name, quoted: true, keyword: false }));
                i = j + 1;
            }
            b'$' if b.get(i + 1).is_some_and(|x| x.is_ascii_digit()) => {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                out.push((i, Tok::Param));
            }
            b':' if b.get(i + 1) == Some(&b':') => {
                out.push((i, Tok::Cast));
                i += 2;
            }
            b':' | b'@' | b'?' | b'%' => {
                out.push((i, Tok::Param));
                i += 1;
            }
            b'.' => {
                out.push((i, Tok::Dot));
                i += 1;
            }
            b',' => {
                out.push((i, Tok::Comma));
                i += 1;
            }
            b'(' | b'[' => {
                out.push((i, Tok::Open));
                i += 1;
            }
            b')' | b']' => {
                out.push((i, Tok::Close));
                i += 1;
            }
            b';' => {
                out.push((i, Tok::Semi));
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80) {
                    i += 1;
                }
                let name = sql[start..i].to_lowercase();
                let keyword = KEYWORDS.contains(&name.as_str());
                out.push((start, Tok::Ident { name, quoted: false, keyword }));
            }
            c if c.is_ascii_digit() => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
                    i += 1;
                }
                out.push((i, Tok::Other));
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                out.push((i, Tok::Other));
                i += 1;
            }
        }
    }
    out
}

/// Words that end a table name (so they are not its alias) or start a clause.
const KEYWORDS: &[&str] = &[
    "select",
    "from",
    "where",
    "join",
    "inner",
    "left",
    "right",
    "full",
    "cross",
    "natural",
    "outer",
    "on",
    "using",
    "group",
    "order",
    "by",
    "limit",
    "offset",
    "having",
    "window",
    "union",
    "except",
    "intersect",
    "set",
    "values",
    "returning",
    "default",
    "for",
    "fetch",
    "as",
    "only",
    "lateral",
    "tablesample",
    "with",
    "do",
    "into",
    "update",
    "insert",
    "delete",
    "table",
    "alter",
    "add",
    "drop",
    "rename",
    "to",
    "column",
    "and",
    "or",
    "not",
    "null",
    "is",
    "in",
    "exists",
    "case",
    "when",
    "then",
    "else",
    "end",
    "distinct",
    "all",
    "any",
    "some",
    "like",
    "ilike",
    "between",
    "asc",
    "desc",
    "nulls",
    "first",
    "last",
    "conflict",
    "nothing",
    "truncate",
    "create",
    "index",
    "if",
    "cascade",
    "restrict",
    "constraint",
    "primary",
    "key",
    "references",
    "foreign",
    "unique",
    "check",
    "true",
    "false",
    "over",
    "partition",
    "filter",
    "within",
    "lock",
    "share",
    "nowait",
    "skip",
    "locked",
    "copy",
    "merge",
    "matched",
    "explain",
    "analyze",
    "comment",
    "concurrently",
    "type",
    "cast",
    "array",
    "interval",
    "now",
];

/// Where a statement's clause makes the next name a table.
fn starts_table(word: &str) -> bool {
    matches!(word, "from" | "join" | "update" | "into" | "table" | "truncate" | "only" | "references")
}

fn ends_from_list(word: &str) -> bool {
    matches!(
        word,
        "where"
            | "group"
            | "order"
            | "limit"
            | "having"
            | "on"
            | "using"
            | "set"
            | "values"
            | "returning"
            | "union"
            | "except"
            | "intersect"
            | "window"
            | "offset"
            | "fetch"
            | "for"
            | "select"
    )
}

/// A name as written: its parts (each folded unless quoted) and where it starts.
#[derive(Debug, Clone)]
struct Name {
    parts: Vec<(String, bool)>,
    start: usize,
    /// Offset of its last part (where a column name is).
    last: usize,
}

#[derive(Debug, Clone)]
struct TableRef {
    schema: Option<(String, bool)>,
    name: (String, bool),
    alias: Option<String>,
    start: usize,
}

/// Whether a written name part means `actual`: an unquoted name was folded to lower case
/// when lexed, as PostgreSQL folds it, so `Notes` is only ever reached quoted.
fn same(part: &(String, bool), actual: &str) -> bool {
    part.0 == actual
}

/// The references to `changes` in `sql`, each with its confidence capped at `cap`.
pub fn references(sql: &str, changes: &[Affected], cap: Confidence) -> Vec<SqlRef> {
    let tokens = lex(sql);
    let mut out = Vec::new();
    for statement in tokens.split(|(_, t)| *t == Tok::Semi) {
        statement_refs(statement, changes, cap, &mut out);
    }
    out
}

fn statement_refs(tokens: &[(usize, Tok)], changes: &[Affected], cap: Confidence, out: &mut Vec<SqlRef>) {
    // Names (dotted sequences of identifiers) with what precedes them.
    let mut tables: Vec<TableRef> = Vec::new();
    let mut others: Vec<Name> = Vec::new();
    let mut expect_table = false;
    let mut from_list = false;
    let mut i = 0;
    let ident = |k: usize| match tokens.get(k) {
        Some((_, Tok::Ident { name, quoted, keyword })) => Some((name.clone(), *quoted, *keyword)),
        _ => None,
    };
    while i < tokens.len() {
        let (offset, tok) = &tokens[i];
        match tok {
            // Other keywords (`type`, `key`, `comment`, …) may also be column names.
            Tok::Ident { name, quoted: false, keyword: true }
                if starts_table(name) || ends_from_list(name) || name == "as" =>
            {
                if starts_table(name) {
                    expect_table = true;
                    from_list |= name == "from";
                } else if ends_from_list(name) {
                    from_list = false;
                    expect_table = false;
                }
                // `AS name` names an output or a derived table, not a column.
                if name == "as" && ident(i + 1).is_some() {
                    i += 2;
                    continue;
                }
                i += 1;
            }
            Tok::Ident { .. } => {
                let prev = i.checked_sub(1).map(|p| &tokens[p].1);
                // A bind parameter (`:name`, `@name`) or a type after `::` is no name.
                if matches!(prev, Some(Tok::Param) | Some(Tok::Cast)) {
                    i += 1;
                    continue;
                }
                let mut parts = Vec::new();
                let mut last = *offset;
                let mut j = i;
                while let Some((n, q, _)) = ident(j) {
                    parts.push((n, q));
                    last = tokens[j].0;
                    if tokens.get(j + 1).map(|t| &t.1) == Some(&Tok::Dot) && ident(j + 2).is_some() {
                        j += 2;
                    } else {
                        j += 1;
                        break;
                    }
                }
                let called = tokens.get(j).map(|t| &t.1) == Some(&Tok::Open);
                // In a table position a parenthesis is a column list (`INSERT INTO t(a, b)`,
                // `REFERENCES t(id)`), not a call.
                if expect_table {
                    let (schema, name) = match parts.len() {
                        1 => (None, parts[0].clone()),
                        n => (Some(parts[n - 2].clone()), parts[n - 1].clone()),
                    };
                    let mut k = j;
                    if matches!(ident(k), Some((ref w, false, true)) if w == "as") {
                        k += 1;
                    }
                    let alias = match ident(k) {
                        Some((a, _, false)) => {
                            j = k + 1;
                            Some(a)
                        }
                        _ => None,
                    };
                    tables.push(TableRef { schema, name, alias, start: *offset });
                    expect_table = false;
                } else if !called {
                    others.push(Name { parts, start: *offset, last });
                }
                i = j;
            }
            Tok::Comma => {
                expect_table = from_list;
                i += 1;
            }
            Tok::Open => {
                // A subquery or a column list: the table position is over.
                expect_table = false;
                i += 1;
            }
            _ => i += 1,
        }
    }
    let cap_at = |c: Confidence| c.min(cap);
    for (index, affected) in changes.iter().enumerate() {
        let table = affected.change.table();
        let is_ours =
            |t: &TableRef| same(&t.name, &table.name) && t.schema.as_ref().is_none_or(|s| same(s, &table.schema));
        let ours: Vec<&TableRef> = tables.iter().filter(|t| is_ours(t)).collect();
        let unqualified_confidence = if table.schema == "public" { Confidence::High } else { Confidence::Medium };
        match affected.change.column() {
            None => {
                for t in &ours {
                    let c = if t.schema.is_some() { Confidence::High } else { unqualified_confidence };
                    out.push(SqlRef {
                        offset: t.start,
                        change: index,
                        confidence: cap_at(c),
                        what: format!("SQL reads or writes {}", table.name),
                    });
                }
                // `orders.id` where `orders` is the table itself (not an alias of another).
                for n in others.iter().filter(|n| n.parts.len() == 2) {
                    let q = &n.parts[0];
                    let aliased_other = tables.iter().any(|t| t.alias.as_deref() == Some(q.0.as_str()) && !is_ours(t));
                    if same(q, &table.name) && !aliased_other && !ours.is_empty() {
                        out.push(SqlRef {
                            offset: n.start,
                            change: index,
                            confidence: cap_at(unqualified_confidence),
                            what: format!("SQL qualifies a column by {}", table.name),
                        });
                    }
                }
            }
            Some(column) => {
                if ours.is_empty() {
                    // Only a fully qualified schema.table.column can name it then.
                    for n in others.iter().filter(|n| n.parts.len() == 3) {
                        if same(&n.parts[0], &table.schema)
                            && same(&n.parts[1], &table.name)
                            && same(&n.parts[2], column)
                        {
                            out.push(column_ref(n, index, cap_at(Confidence::High), &table.name, column));
                        }
                    }
                    continue;
                }
                let distinct = {
                    let mut names: Vec<(Option<String>, String)> =
                        tables.iter().map(|t| (t.schema.as_ref().map(|s| s.0.clone()), t.name.0.clone())).collect();
                    names.sort();
                    names.dedup();
                    names.len()
                };
                for n in &others {
                    let Some(last) = n.parts.last() else { continue };
                    if !same(last, column) {
                        continue;
                    }
                    let confidence = match n.parts.len() {
                        1 if distinct == 1 => Confidence::High,
                        1 => Confidence::Medium,
                        2 => {
                            let q = &n.parts[0];
                            let by_alias = tables.iter().find(|t| t.alias.as_deref() == Some(q.0.as_str()) && !q.1);
                            match by_alias {
                                Some(t) if is_ours(t) => Confidence::High,
                                Some(_) => continue,
                                None if same(q, &table.name) => Confidence::High,
                                None => continue,
                            }
                        }
                        _ => {
                            let k = n.parts.len();
                            if same(&n.parts[k - 2], &table.name) && same(&n.parts[k - 3], &table.schema) {
                                Confidence::High
                            } else {
                                continue;
                            }
                        }
                    };
                    out.push(column_ref(n, index, cap_at(confidence), &table.name, column));
                }
            }
        }
    }
}

fn column_ref(n: &Name, change: usize, confidence: Confidence, table: &str, column: &str) -> SqlRef {
    SqlRef { offset: n.last, change, confidence, what: format!("SQL names {table}.{column}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_plan::planner::{AppChange, PhaseName};
    use cutover_schema::QualName;

    fn drop_col(schema: &str, table: &str, column: &str) -> Affected {
        Affected {
            change: AppChange::DropColumn { table: QualName::new(schema, table), column: column.into() },
            before: PhaseName::Contract,
            after: None,
        }
    }

    fn found(sql: &str, change: Affected) -> Vec<(String, Confidence)> {
        references(sql, &[change], Confidence::High)
            .into_iter()
            .map(|r| (sql[r.offset..].chars().take(12).collect(), r.confidence))
            .collect()
    }

    #[test]
    fn qualified_by_another_table_is_not_a_reference() {
        let sql = "SELECT o.id, c.notes FROM orders o JOIN customers AS c ON c.id = o.customer_id";
        assert_eq!(found(sql, drop_col("public", "orders", "notes")), vec![]);
        let sql = "SELECT o.notes, c.notes FROM orders o JOIN customers c ON c.id = o.customer_id";
        assert_eq!(found(sql, drop_col("public", "orders", "notes")), vec![("notes, c.not".into(), Confidence::High)]);
    }

    #[test]
    fn unqualified_columns_are_certain_only_with_one_table() {
        let sql = "UPDATE orders SET notes = $1 WHERE id = $2";
        assert_eq!(found(sql, drop_col("public", "orders", "notes")), vec![("notes = $1 W".into(), Confidence::High)]);
        let sql = "SELECT notes FROM orders JOIN customers USING (customer_id)";
        assert_eq!(
            found(sql, drop_col("public", "orders", "notes")),
            vec![("notes FROM o".into(), Confidence::Medium)]
        );
        // The column of a statement on another table, and an output alias, are not it.
        assert_eq!(found("SELECT notes FROM customers", drop_col("public", "orders", "notes")), vec![]);
        assert_eq!(found("SELECT body AS notes FROM orders", drop_col("public", "orders", "notes")), vec![]);
    }

    #[test]
    fn schemas_and_quotes_are_respected() {
        let change = || drop_col("sales", "orders", "Notes");
        assert_eq!(found("SELECT notes FROM sales.orders", change()), vec![]);
        assert_eq!(found("SELECT \"Notes\" FROM sales.orders", change()).len(), 1);
        assert_eq!(found("SELECT \"Notes\" FROM archive.orders", change()), vec![]);
        assert_eq!(found("SELECT x FROM t WHERE sales.orders.\"Notes\" > 1", change()).len(), 1);
    }

    #[test]
    fn column_lists_after_a_table_are_its_columns() {
        let sql = "INSERT INTO orders(customer_id, notes) VALUES ($1, $2)";
        assert_eq!(found(sql, drop_col("public", "orders", "notes")), vec![("notes) VALUE".into(), Confidence::High)]);
        let sql = "DELETE FROM orders o USING customers c WHERE c.notes = '' AND o.id = c.id";
        assert_eq!(found(sql, drop_col("public", "orders", "notes")), vec![]);
        let drop = Affected {
            change: AppChange::DropTable { table: QualName::new("public", "orders") },
            before: PhaseName::Contract,
            after: None,
        };
        let sql = "ALTER TABLE invoices ADD FOREIGN KEY (order_id) REFERENCES orders(id)";
        assert_eq!(found(sql, drop), vec![("orders(id)".into(), Confidence::High)]);
    }

    #[test]
    fn words_inside_literals_comments_and_parameters_are_not_names() {
        let sql = "SELECT id FROM orders -- notes\nWHERE kind = 'notes' AND x = :notes AND y::notes IS NULL";
        assert_eq!(found(sql, drop_col("public", "orders", "notes")), vec![]);
    }

    #[test]
    fn prose_is_not_sql() {
        assert_eq!(sql_confidence("Select the notes from orders."), None);
        assert_eq!(sql_confidence("SELECT notes FROM orders"), Some(Confidence::High));
        assert_eq!(sql_confidence("select notes from orders"), Some(Confidence::Medium));
        assert_eq!(sql_confidence("update your notes"), None);
        assert_eq!(sql_confidence("notes"), None);
    }
}
