//! Splitting SQL text into statements the way psql does, without parsing it.
//!
//! The scanner knows enough of PostgreSQL's lexical rules to find the semicolons that end
//! statements: quoted identifiers, standard and `E''` strings, dollar quoting, nested block
//! comments, line comments, parentheses (a rule's `DO (...; ...)`), and SQL-standard routine
//! bodies (`BEGIN ATOMIC ... END`). It never fails: text it cannot close (an unterminated
//! string, say) becomes the last statement and the server reports the error with a position.

/// One statement of a SQL text, with where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The statement without its terminating semicolon, trimmed of surrounding whitespace.
    pub text: &'a str,
    /// Byte offset of `text` in the whole input.
    pub offset: usize,
    /// 1-based line of the statement's first character.
    pub line: usize,
    /// 1-based column (in characters) of the statement's first character.
    pub column: usize,
}

impl Statement<'_> {
    /// The 1-based line and column in the whole input of a 1-based character position inside
    /// this statement, as PostgreSQL reports it in an error's `position` field.
    pub fn location_of(&self, position: usize) -> (usize, usize) {
        let mut line = self.line;
        let mut column = self.column;
        for c in self.text.chars().take(position.saturating_sub(1)) {
            if c == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        (line, column)
    }
}

/// Splits `sql` into statements. Empty statements and text made only of comments are dropped.
pub fn split(sql: &str) -> Vec<Statement<'_>> {
    let bytes = sql.as_bytes();
    let mut statements = Vec::new();
    let mut i = 0usize;
    let mut parens = 0i32;
    let mut atomic_depth = 0i32;
    // Words seen at the start of the current statement, to recognise CREATE FUNCTION/PROCEDURE.
    let mut leading_words: Vec<String> = Vec::new();
    let mut content_start: Option<usize> = None;
    // Where the last dollar-quoted string ended: its closing `$` is not part of an identifier,
    // so a dollar quote may open right after it (`$$$$` is two empty strings).
    let mut dollar_quote_end = usize::MAX;

    while i < bytes.len() {
        #[cfg(test)]
        work::add(1);
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        let opens_comment = (b == b'-' && next == Some(b'-')) || (b == b'/' && next == Some(b'*'));
        if content_start.is_none() && !is_space(b) && !opens_comment && b != b';' {
            content_start = Some(i);
        }
        match b {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                // PostgreSQL's scanner (and psql's) ends a line comment at `\r` as well as `\n`:
                // "-- note\rDROP TABLE t" runs the DROP, so it must be a statement here too.
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 1;
                i += 2;
                while i < bytes.len() && depth > 0 {
                    if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'\'' => {
                // `E'...'` unless the `E` ends an identifier; a dollar quote's closing `$` does not
                // belong to one (`$$$$E'\''` is '' then E'\'').
                let escapes = i > 0
                    && matches!(bytes[i - 1], b'e' | b'E')
                    && (i < 2 || !is_ident_byte(bytes[i - 2]) || i - 1 == dollar_quote_end);
                i = skip_quoted(bytes, i, b'\'', escapes);
                continue;
            }
            b'"' => {
                i = skip_quoted(bytes, i, b'"', false);
                continue;
            }
            b'$' => {
                if let Some(tag_end) = dollar_tag_end(bytes, i, i == dollar_quote_end) {
                    let tag = &bytes[i..=tag_end];
                    let mut j = tag_end + 1;
                    loop {
                        if j >= bytes.len() {
                            i = bytes.len();
                            break;
                        }
                        if bytes[j..].starts_with(tag) {
                            i = j + tag.len();
                            dollar_quote_end = i;
                            break;
                        }
                        j += 1;
                    }
                    continue;
                }
                i += 1;
                continue;
            }
            b'(' => parens += 1,
            b')' => parens -= 1,
            b';' if parens <= 0 && atomic_depth <= 0 => {
                push(sql, content_start.take(), i, &mut statements);
                parens = 0;
                atomic_depth = 0;
                leading_words.clear();
            }
            _ if is_ident_start(b) && (i == 0 || !is_ident_byte(bytes[i - 1])) => {
                let mut j = i;
                while j < bytes.len() && is_ident_byte(bytes[j]) {
                    j += 1;
                }
                let word = sql[i..j].to_ascii_lowercase();
                if is_routine(&leading_words) {
                    match word.as_str() {
                        "begin" => atomic_depth += 1,
                        "case" if atomic_depth > 0 => atomic_depth += 1,
                        "end" if atomic_depth > 0 => atomic_depth -= 1,
                        _ => {}
                    }
                }
                if leading_words.len() < 4 {
                    leading_words.push(word);
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    push(sql, content_start, sql.len(), &mut statements);
    statements
}

fn push<'a>(sql: &'a str, start: Option<usize>, end: usize, out: &mut Vec<Statement<'a>>) {
    let Some(offset) = start else {
        return;
    };
    // Only PostgreSQL's whitespace: a trailing U+00A0 is part of an identifier to PostgreSQL.
    let text = sql[offset..end].trim_end_matches(|c: char| c.is_ascii() && is_space(c as u8));
    // Count lines and columns from the previous statement, not from the start of the input or
    // of the line: linear in the input even when it is one long line.
    let (from, from_line, from_column) = out.last().map_or((0, 1, 1), |s| (s.offset, s.line, s.column));
    let between = &sql[from..offset];
    #[cfg(test)]
    work::add(between.len());
    let line = from_line + between.matches('\n').count();
    let column = match between.rfind('\n') {
        Some(newline) => between[newline + 1..].chars().count() + 1,
        None => from_column + between.chars().count(),
    };
    out.push(Statement { text, offset, line, column });
}

/// PostgreSQL's whitespace (`space` in scan.l; `\v` since PostgreSQL 16).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

fn is_routine(words: &[String]) -> bool {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    matches!(
        words.as_slice(),
        ["create", "function" | "procedure", ..] | ["create", "or", "replace", "function" | "procedure"]
    )
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Returns the index just past the closing quote (or the end of input).
fn skip_quoted(bytes: &[u8], open: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut i = open + 1;
    while i < bytes.len() {
        let b = bytes[i];
        if backslash_escapes && b == b'\\' {
            i += 2;
            continue;
        }
        if b == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// If a dollar-quote tag (`$$` or `$tag$`) opens at `i`, the index of its closing `$`.
/// `token_start`: the byte before `i` ends another token (a dollar quote), not an identifier.
fn dollar_tag_end(bytes: &[u8], i: usize, token_start: bool) -> Option<usize> {
    if i > 0 && is_ident_byte(bytes[i - 1]) && !token_start {
        return None; // part of an identifier such as a$b
    }
    let mut j = i + 1;
    if bytes.get(j) == Some(&b'$') {
        return Some(j);
    }
    let first = *bytes.get(j)?;
    if !(first.is_ascii_alphabetic() || first == b'_' || first >= 0x80) {
        return None; // a parameter such as $1
    }
    while j < bytes.len() {
        match bytes[j] {
            b'$' => return Some(j),
            c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => j += 1,
            _ => return None,
        }
    }
    None
}

/// Work done by `split` in this thread (loop steps and bytes scanned for positions), so a test
/// can check the cost is linear without timing it.
#[cfg(test)]
mod work {
    thread_local!(static DONE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });

    pub fn add(n: usize) {
        DONE.with(|d| d.set(d.get() + n));
    }

    pub fn take() -> usize {
        DONE.with(|d| d.replace(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split(sql).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_on_semicolons_and_keeps_positions() {
        let stmts = split("create table a(x int);\n\n  create table b(y int);");
        assert_eq!(stmts.len(), 2);
        assert_eq!(stmts[1].text, "create table b(y int)");
        assert_eq!((stmts[1].line, stmts[1].column), (3, 3));
    }

    #[test]
    fn ignores_semicolons_in_strings_comments_and_dollar_quotes() {
        let sql = "select 'a;b', \"c;d\", E'x\\';y';\n-- c; d\n/* a; /* nested; */ b; */ select $fn$ ; $fn$, $$;$$;";
        assert_eq!(texts(sql), vec!["select 'a;b', \"c;d\", E'x\\';y'", "select $fn$ ; $fn$, $$;$$"]);
    }

    #[test]
    fn comment_only_text_is_not_a_statement() {
        assert!(split("-- nothing here\n/* nor here */ ;;  ").is_empty());
    }

    #[test]
    fn a_carriage_return_ends_a_line_comment() {
        // Found by the property test against PostgreSQL's scanner (tests/split_property.rs).
        assert_eq!(
            texts("-- note\rDROP TABLE t; select 1 --x\r; select 2"),
            vec!["DROP TABLE t", "select 1 --x", "select 2"]
        );
    }

    #[test]
    fn unicode_whitespace_is_not_trimmed_and_never_makes_an_empty_statement() {
        // Found by the property test: "\u{a0}" (an identifier to PostgreSQL) became "".
        assert_eq!(texts("\u{a0}"), vec!["\u{a0}"]);
        assert_eq!(texts("create table x\u{a0} ();\u{2003}"), vec!["create table x\u{a0} ()", "\u{2003}"]);
        assert_eq!(texts("\x0b select 1\x0b;"), vec!["select 1"]);
    }

    #[test]
    fn a_dollar_quote_opens_right_after_another_closes() {
        // Found by the property test against PostgreSQL's scanner: `$$$$$$;$$` is '' then ';'.
        assert_eq!(texts("select $$$$$$;$$; select $a$x$a$$b$;$b$"), vec!["select $$$$$$;$$", "select $a$x$a$$b$;$b$"]);
        // And so may an E'' string: here the server runs the DROP, so the linter must see it.
        assert_eq!(texts("select $$$$E'\\'' ; drop table users; --'"), vec!["select $$$$E'\\''", "drop table users"]);
    }

    #[test]
    fn one_long_line_of_statements_is_split_in_linear_time() {
        // Each statement's column was counted from the start of its line: quadratic on one
        // line (9 s for 1 MiB in a debug build). The work per input byte must not grow with
        // the number of statements on the line.
        for n in [1_000, 100_000] {
            let sql = "select 1;".repeat(n);
            work::take();
            let stmts = split(&sql);
            let work = work::take();
            assert!(work <= 3 * sql.len(), "{n} statements: {work} steps for {} bytes", sql.len());
            assert_eq!((stmts[n - 1].line, stmts[n - 1].column), (1, (n - 1) * 9 + 1));
        }
    }

    #[test]
    fn positional_parameters_are_not_dollar_quotes() {
        assert_eq!(texts("prepare p as select $1; select 2"), vec!["prepare p as select $1", "select 2"]);
    }

    #[test]
    fn rule_actions_in_parentheses_stay_together() {
        let sql =
            "create rule r as on insert to t do also (insert into a values (1); insert into b values (2)); select 1";
        assert_eq!(texts(sql).len(), 2);
    }

    #[test]
    fn sql_standard_function_bodies_stay_together() {
        let sql = "create function f() returns int language sql begin atomic select case when true then 1 else 2 end; select 3; end; select 4;";
        assert_eq!(
            texts(sql),
            vec![
                "create function f() returns int language sql begin atomic select case when true then 1 else 2 end; select 3; end",
                "select 4"
            ]
        );
    }

    #[test]
    fn transaction_begin_is_not_an_atomic_body() {
        assert_eq!(texts("begin; create table t(); commit;"), vec!["begin", "create table t()", "commit"]);
    }

    #[test]
    fn error_positions_map_to_file_lines() {
        let sql = "select 1;\ncreate table t (\n  x intt\n);";
        let stmt = &split(sql)[1];
        let position = stmt.text.find("intt").unwrap() + 1;
        assert_eq!(stmt.location_of(position), (3, 5));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_stays_in_bounds(sql in "[a-z ;'\"$()/*\\-\n\\\\]{0,80}") {
            for stmt in split(&sql) {
                proptest::prop_assert!(stmt.offset + stmt.text.len() <= sql.len());
                proptest::prop_assert_eq!(&sql[stmt.offset..stmt.offset + stmt.text.len()], stmt.text);
            }
        }
    }
}
