//! The migration linter. SQL migrations are split into statements, each parsed by PostgreSQL's
//! own parser (libpg_query), and checked by rules — one file each under [`rules`] — against a
//! context that knows what the history did so far (tables it created, timeouts it set, the
//! transaction it is in) and, with a live database, what the tables hold.
//!
//! Pure: no I/O. The binary reads the files and the database and renders the diagnostics.

pub mod ast;
pub mod config;
pub mod context;
pub mod diagnostic;
pub mod docs;
pub mod locks;
pub mod naming;
pub mod renames;
pub mod render;
pub mod rules;

pub use config::RuleSettings;
use context::Ctx;
use cutover_sql::split::Statement;
pub use diagnostic::{Diagnostic, Severity, Span};
use rules::{Finding, Rule, StmtRef};

/// One migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// As given on the command line (shown in diagnostics).
    pub path: String,
    pub text: String,
}

/// What the linter knows besides the SQL.
#[derive(Debug, Clone)]
pub struct LintOptions {
    /// PostgreSQL major version the migrations will run on.
    pub pg_version: u32,
    /// The migrations run inside a transaction the tool opens (as most migration runners do).
    pub assume_in_transaction: bool,
    /// The live database the migrations will run against: table sizes, existing objects.
    pub database: Option<cutover_schema::Catalog>,
    pub rules: RuleSettings,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions { pg_version: 18, assume_in_transaction: false, database: None, rules: RuleSettings::default() }
    }
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
    pub files: usize,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error).count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Warning).count()
    }
}

/// Lints the files as one history, in the order given. Never fails: a statement PostgreSQL's
/// parser rejects is a `parse-error` diagnostic at its location.
pub fn lint(files: &[SourceFile], options: &LintOptions) -> Report {
    let mut ctx = Ctx::new(options);
    let enabled: Vec<&'static dyn Rule> =
        rules::ALL.iter().copied().filter(|r| options.rules.is_enabled(r.info().code)).collect();
    let mut diagnostics = Vec::new();
    for file in files {
        let first_of_file = diagnostics.len();
        ctx.start_file();
        // A file that says it runs outside a transaction overrides `assume_in_transaction`
        // (squawk's directive is honoured too, so its users keep their annotations).
        ctx.assume_in_transaction = options.assume_in_transaction
            && !file.text.lines().any(|l| {
                let l = l.trim();
                l == "-- cutover:no-transaction" || l == "-- squawk-disable-assume-in-transaction"
            });
        let lines = LineIndex::new(&file.text);
        let pieces = cutover_sql::split::split(&file.text);
        let mut end_of_previous = 0;
        for_each_parsed(&pieces, |piece, parsed| {
            let span = Span { start: piece.offset, end: piece.offset + piece.text.len() };
            // Suppressions are read from the text since the previous statement only, so a long
            // line of statements is not rescanned from its start for each one.
            let before = &file.text[end_of_previous..piece.offset];
            end_of_previous = span.end;
            let stmts = match parsed {
                Ok(parsed) => parsed.stmts,
                Err(message) => {
                    let mut finding = Finding::new(format!("PostgreSQL cannot parse this statement: {message}."))
                        .help("Fix the syntax; no other rule checked this statement.");
                    finding.span = error_span(piece.text, piece.offset, &message);
                    let at = finding.span.unwrap_or(span);
                    push(&mut diagnostics, file, &lines, at, rules::PARSE_ERROR, finding, &options.rules);
                    return;
                }
            };
            for raw in stmts {
                let Some(node) = raw.stmt.and_then(|n| n.node) else { continue };
                let stmt = StmtRef { node: &node, text: piece.text, span };
                let suppressed = suppressions(before);
                for rule in &enabled {
                    let mut findings = Vec::new();
                    rule.check(&stmt, &ctx, &mut findings);
                    let info = rule.info();
                    for finding in findings {
                        if suppressed.iter().any(|s| s == info.code || s == "all") {
                            continue;
                        }
                        push(
                            &mut diagnostics,
                            file,
                            &lines,
                            finding.span.unwrap_or(span),
                            info,
                            finding,
                            &options.rules,
                        );
                    }
                }
                // `observe` keeps a clone: cloned vectors are exactly sized, decoded ones are not.
                ctx.observe(&node, span);
            }
        });
        for rule in &enabled {
            let mut findings = Vec::new();
            rule.finish(&ctx, &mut findings);
            for finding in findings {
                let end = file.text.trim_end().len();
                let span = finding.span.unwrap_or(Span { start: last_char(&file.text[..end]), end });
                push(&mut diagnostics, file, &lines, span, rule.info(), finding, &options.rules);
            }
        }
        // Findings made at the end of the file may be about earlier statements: in order of
        // position, like the rest.
        diagnostics[first_of_file..].sort_by_key(|d| d.span.start);
    }
    Report { diagnostics, files: files.len() }
}

/// What libpg_query made of one statement: its parse tree, or its error message.
type Parsed = Result<pg_query::protobuf::ParseResult, String>;

/// Statements per batch handed to a parsing thread.
const BATCH: usize = 512;

fn parse(text: &str) -> Parsed {
    match pg_query::parse(text, 0) {
        Ok(parsed) => Ok(parsed.protobuf),
        Err(pg_query::Error::Parse(message)) => Err(message),
        Err(other) => Err(other.to_string()),
    }
}

/// Calls `f` with each statement and its parse, in order. Parsing is most of a lint's cost
/// and libpg_query is thread-safe, so a file of many statements is parsed ahead on worker
/// threads (one per core), batch `k` by worker `k % workers`, while this thread runs the rules;
/// the channels are bounded, so only a few batches of trees are alive at a time.
fn for_each_parsed<'a>(pieces: &[Statement<'a>], mut f: impl FnMut(&Statement<'a>, Parsed)) {
    let workers = std::thread::available_parallelism().map_or(1, usize::from).min(pieces.len() / BATCH);
    if workers <= 1 {
        for piece in pieces {
            f(piece, parse(piece.text));
        }
        return;
    }
    std::thread::scope(|scope| {
        let receivers: Vec<_> = (0..workers)
            .map(|w| {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Parsed>>(2);
                scope.spawn(move || {
                    for batch in pieces.chunks(BATCH).skip(w).step_by(workers) {
                        if tx.send(batch.iter().map(|p| parse(p.text)).collect()).is_err() {
                            return;
                        }
                    }
                });
                rx
            })
            .collect();
        for (k, batch) in pieces.chunks(BATCH).enumerate() {
            // A worker that panicked drops its sender; its panic is re-raised by the scope.
            let Ok(parsed) = receivers[k % workers].recv() else { return };
            for (piece, parsed) in batch.iter().zip(parsed) {
                f(piece, parsed);
            }
        }
    });
}

fn push(
    out: &mut Vec<Diagnostic>,
    file: &SourceFile,
    lines: &LineIndex,
    span: Span,
    info: &rules::RuleInfo,
    finding: Finding,
    settings: &RuleSettings,
) {
    let severity = finding.severity.unwrap_or_else(|| settings.severity(info.code, info.severity));
    let (line, column) = lines.position(&file.text, span.start);
    let (end_line, end_column) = lines.position(&file.text, span.end);
    out.push(Diagnostic {
        rule: info.code.to_string(),
        severity,
        file: file.path.clone(),
        line,
        column,
        end_line,
        end_column,
        message: finding.message,
        help: finding.help.unwrap_or_else(|| info.help.to_string()),
        span,
    });
}

/// Where a parse error points, as precisely as the message allows: libpg_query reports the
/// offending token (`syntax error at or near "WHERE"`) but not its position, so the first
/// occurrence of that token in the statement is used; `at end of input` points at the end.
fn error_span(text: &str, offset: usize, message: &str) -> Option<Span> {
    if message.ends_with("at end of input") {
        return Some(Span { start: offset + last_char(text), end: offset + text.len() });
    }
    let token = message.split("at or near \"").nth(1)?.strip_suffix('"')?;
    let at = text.find(token)?;
    Some(Span { start: offset + at, end: offset + at + token.len() })
}

/// Where the last character of `text` starts (a span of one byte could split it).
fn last_char(text: &str) -> usize {
    text.char_indices().next_back().map_or(0, |(i, _)| i)
}

/// `-- cutover:ignore code[, code]` on the line(s) directly above a statement (comment lines
/// only, up to the previous statement): `before` is the text between the two.
fn suppressions(before: &str) -> Vec<String> {
    let mut codes = Vec::new();
    for line in before.lines().rev() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let Some(comment) = trimmed.strip_prefix("--") else { break };
        if let Some(rest) = comment.trim().strip_prefix("cutover:ignore") {
            let rest = rest.trim();
            if rest.is_empty() {
                codes.push("all".to_string());
            }
            codes.extend(rest.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(String::from));
        }
    }
    codes
}

/// Byte offset → 1-based line and column (in characters).
struct LineIndex {
    starts: Vec<usize>,
    /// The last offset asked for and its column: positions come mostly in increasing order, so
    /// columns on one long line are counted from there rather than from the line's start
    /// (which made a one-line file of many statements quadratic).
    last: std::cell::Cell<(usize, usize)>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts, last: std::cell::Cell::new((usize::MAX, 0)) }
    }

    fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let (last_offset, last_column) = self.last.get();
        let from_last = (start..=offset)
            .contains(&last_offset)
            .then(|| text.get(last_offset..offset).map(|s| last_column + s.chars().count()))
            .flatten();
        let column = from_last.or_else(|| text.get(start..offset).map(|s| s.chars().count() + 1));
        #[cfg(test)]
        tests::scanned(offset - if from_last.is_some() { last_offset } else { start });
        if let Some(column) = column {
            self.last.set((offset, column));
        }
        (line, column.unwrap_or(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local!(static SCANNED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });

    /// Bytes `LineIndex` counted characters of to find columns.
    pub fn scanned(n: usize) {
        SCANNED.with(|s| s.set(s.get() + n));
    }

    #[test]
    fn positions_on_one_long_line_cost_linear_work() {
        // A diagnostic on each of many statements of one line: each column was counted from
        // the start of the line (quadratic). The bytes counted must stay within a small
        // multiple of the input however many statements the line has.
        for n in [100, 5_000] {
            let text: String = (0..n).map(|i| format!("DROP TABLE t{i};")).collect();
            let file = SourceFile { path: "m.sql".into(), text };
            SCANNED.with(|s| s.set(0));
            let report = lint(std::slice::from_ref(&file), &LintOptions::default());
            let scanned = SCANNED.with(|s| s.get());
            let last = report.diagnostics.iter().rfind(|d| d.rule == "drop-table").unwrap();
            assert_eq!((last.line, last.column), (1, file.text.rfind("DROP").unwrap() + 1));
            assert!(scanned <= 2 * file.text.len(), "{n} statements: {scanned} bytes counted of {}", file.text.len());
        }
    }

    #[test]
    fn many_statements_are_parsed_on_worker_threads_in_order() {
        // More than a batch per worker, with a parse error and a finding late in the file: the
        // diagnostics come in file order and name the right statements.
        let mut text = "SELECT 1;\n".repeat(4 * BATCH);
        text.push_str("SELEC 2;\nDROP TABLE t;\n");
        let file = SourceFile { path: "m.sql".into(), text };
        let report = lint(std::slice::from_ref(&file), &LintOptions::default());
        let found: Vec<(String, usize)> = report.diagnostics.iter().map(|d| (d.rule.clone(), d.line)).collect();
        let line = 4 * BATCH + 1;
        let expected = [
            ("parse-error", line),
            ("missing-lock-timeout", line + 1),
            ("missing-statement-timeout", line + 1),
            ("drop-table", line + 1),
        ];
        assert_eq!(found, expected.map(|(rule, line)| (rule.to_string(), line)));
    }
}
