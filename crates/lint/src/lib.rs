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
        let mut end_of_previous = 0;
        for piece in cutover_sql::split::split(&file.text) {
            let span = Span { start: piece.offset, end: piece.offset + piece.text.len() };
            // Suppressions are read from the text since the previous statement only, so a long
            // line of statements is not rescanned from its start for each one.
            let before = &file.text[end_of_previous..piece.offset];
            end_of_previous = span.end;
            let parsed = match pg_query::parse(piece.text, 0) {
                Ok(parsed) => parsed,
                Err(err) => {
                    let message = match err {
                        pg_query::Error::Parse(m) => m,
                        other => other.to_string(),
                    };
                    let mut finding = Finding::new(format!("PostgreSQL cannot parse this statement: {message}."))
                        .help("Fix the syntax; no other rule checked this statement.");
                    finding.span = error_span(piece.text, piece.offset, &message);
                    let at = finding.span.unwrap_or(span);
                    push(&mut diagnostics, file, &lines, at, rules::PARSE_ERROR, finding, &options.rules);
                    continue;
                }
            };
            for raw in &parsed.protobuf.stmts {
                let Some(node) = raw.stmt.as_ref().and_then(|n| n.node.as_ref()) else { continue };
                let stmt = StmtRef { node, text: piece.text, span };
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
                ctx.observe(node, span);
            }
        }
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
        if let Some(column) = column {
            self.last.set((offset, column));
        }
        (line, column.unwrap_or(1))
    }
}
