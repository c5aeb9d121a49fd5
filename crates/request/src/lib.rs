//! Pure: a Linear issue's description (the migration request template) read into a typed
//! [`ChangeRequest`], or the [`Problem`]s that stop it and the one message that asks about
//! them ([`elicitation`]).
//!
//! - `markdown` cuts the text into sections: headings of any level, setext headings and bold
//!   labels (`**Migration type:** additive`), in any order; fenced code blocks and HTML
//!   comments are respected, and lines keep their numbers.
//! - [`Field::from_heading`] names a section from its one alias table; sections with other
//!   names are kept ([`ChangeRequest::other_sections`]), not read.
//! - one module per field reads its section: `proposed`, `migration_type`, `downtime`,
//!   `validation` (and `quantity` for durations in prose); [`checks`] maps the validation
//!   plan to `cutover verify`'s user and latency checks, reporting what it cannot map.
//! - `render` is the one Markdown rendering ([`std::fmt::Display`]) of a request and of a
//!   problem; `elicit` builds the message that asks for what is missing.
//!
//! Nothing is guessed: DDL comes from ```` ```sql ```` blocks or a desired-schema path only,
//! and a request with a missing, invalid or contradictory field is not returned at all.
//!
//! Pure: no I/O, never fails and never panics, whatever the input.

pub mod checks;
mod downtime;
mod elicit;
mod field;
mod markdown;
mod migration_type;
mod proposed;
mod quantity;
mod render;
mod validation;

pub use elicit::elicitation;
pub use field::Field;

use markdown::Block;
use serde::{Deserialize, Serialize};

/// A schema-change request, as filed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRequest {
    /// What should change and why (Markdown, as written).
    pub objective: String,
    /// Services or tables the change touches, one per list item or comma-separated entry,
    /// as written (Markdown). Unticked checkboxes are left out.
    pub affected_services: Vec<String>,
    /// What the current schema cannot do (Markdown, as written).
    pub limitations: Option<String>,
    pub proposed: ProposedChange,
    /// Sorted, without duplicates, never empty.
    pub migration_types: Vec<MigrationType>,
    pub downtime: Downtime,
    /// In the order written; may be empty.
    pub validation: Vec<ValidationItem>,
    /// Sections with names that are not in the template, in order; text before the first
    /// section is one with an empty name.
    pub other_sections: Vec<OtherSection>,
}

/// How the desired schema is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposedChange {
    /// DDL to apply: the ```sql blocks of the section, one after another.
    Sql(SqlBlock),
    /// A file or directory in the repository that holds the whole desired schema, relative
    /// to the repository root (never absolute, never with `..`).
    SchemaPath(String),
}

/// SQL taken from one or more fenced blocks of the description, with the lines it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlBlock {
    /// The blocks' lines, each ending in `\n`, exactly as written (comments included).
    pub text: String,
    /// Where each block's lines are, in order.
    pub pieces: Vec<SqlPiece>,
}

/// The lines of one fenced block inside a [`SqlBlock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlPiece {
    /// The 1-based line in [`SqlBlock::text`] of the block's first line.
    pub sql_line: usize,
    /// The 1-based line in the description of the block's first line.
    pub description_line: usize,
    /// How many lines the block has.
    pub lines: usize,
}

impl SqlBlock {
    /// The description line of the first SQL line.
    pub fn first_line(&self) -> usize {
        self.pieces.first().map_or(1, |p| p.description_line)
    }

    /// The description line of a 1-based line of [`SqlBlock::text`], so that an error
    /// PostgreSQL reports at line N of the SQL can be shown where the person wrote it.
    /// Lines past the end map to the last line; line 0 is taken as line 1.
    pub fn description_line(&self, sql_line: usize) -> usize {
        let sql_line = sql_line.max(1);
        let Some(piece) = self.pieces.iter().rev().find(|p| p.sql_line <= sql_line).or(self.pieces.first()) else {
            return 1;
        };
        let offset = (sql_line.saturating_sub(piece.sql_line)).min(piece.lines.saturating_sub(1));
        piece.description_line + offset
    }
}

/// The kind of migration the requester says this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationType {
    Additive,
    Destructive,
    Backfill,
    Refactor,
    Rollback,
}

impl MigrationType {
    pub const ALL: [MigrationType; 5] = [
        MigrationType::Additive,
        MigrationType::Destructive,
        MigrationType::Backfill,
        MigrationType::Refactor,
        MigrationType::Rollback,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MigrationType::Additive => "additive",
            MigrationType::Destructive => "destructive",
            MigrationType::Backfill => "backfill",
            MigrationType::Refactor => "refactor",
            MigrationType::Rollback => "rollback",
        }
    }
}

/// How much downtime the requester accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Downtime {
    ZeroDowntime,
    /// Downtime is acceptable: `text` as written (on one line), and the longest duration
    /// it names (or the length of its time range), in seconds, when it names one.
    Window {
        text: String,
        seconds: Option<u32>,
    },
}

impl Downtime {
    /// The accepted downtime in seconds: 0 for zero-downtime, `None` for a window of unknown
    /// length.
    pub fn max_seconds(&self) -> Option<u32> {
        match self {
            Downtime::ZeroDowntime => Some(0),
            Downtime::Window { seconds, .. } => *seconds,
        }
    }
}

/// One check of the validation plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationItem {
    /// A query to run: a ```sql block, or an item that is only a `SELECT ...` code span.
    Query(SqlBlock),
    /// A row-count check, as written.
    RowCount(String),
    /// A latency check, as written, and the first duration it names, in milliseconds.
    Latency { text: String, budget_ms: Option<u32> },
    /// Anything else, as written.
    Note(String),
}

/// A section whose name is not one of the template's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherSection {
    /// The heading as written; empty for the text before the first section.
    pub name: String,
    /// The line of its heading (of its first line, for the text before the first section).
    pub line: usize,
    /// Its content, as Markdown.
    pub text: String,
}

/// What [`parse`] makes of a description: a request, or the problems that stop it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parsed {
    /// `Some` exactly when `problems` is empty.
    pub request: Option<ChangeRequest>,
    /// In template order.
    pub problems: Vec<Problem>,
}

impl Parsed {
    /// The message to send back when there are problems.
    pub fn elicitation(&self) -> Option<String> {
        (!self.problems.is_empty()).then(|| elicitation(&self.problems))
    }
}

/// Why a field of the request cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub field: Field,
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The section is absent or empty.
    Missing,
    /// The section says two things that cannot both hold; the text asks which one.
    Contradictory(String),
    /// The section says something that cannot be used; the text says why.
    Invalid(String),
}

/// Reads a description. Never fails and never panics: what is wrong is in `problems`.
pub fn parse(description: &str) -> Parsed {
    let doc = markdown::document(description);
    let plain_labels = plain_labels(&doc);
    let mut fields: Vec<Vec<Block>> = vec![Vec::new(); Field::ALL.len()];
    let mut problems = Vec::new();
    let mut other_sections = Vec::new();

    let preamble = markdown::to_markdown(&doc.preamble);
    if !preamble.is_empty() {
        let line = doc.preamble.iter().find_map(first_line_with_text).unwrap_or(1);
        other_sections.push(OtherSection { name: String::new(), line, text: preamble });
    }
    for section in doc.sections {
        let Some(field) = section.field else {
            let text = markdown::to_markdown(&section.blocks);
            other_sections.push(OtherSection { name: section.name, line: section.line, text });
            continue;
        };
        for block in &section.blocks {
            if let Block::Code(fence) = block
                && !fence.closed
            {
                let marker = &fence.marker;
                problems.push(Problem {
                    field,
                    kind: ProblemKind::Invalid(format!(
                        "the code block opened at line {} is never closed; end it with a line of `` {marker} ``",
                        fence.line
                    )),
                });
            }
        }
        // A section given twice reads as one: its parts in order.
        fields[field as usize].extend(section.blocks);
    }
    let blocks = |field: Field| fields[field as usize].as_slice();
    let mut check = |field: Field, result: Result<(), ProblemKind>| {
        if let Err(kind) = result {
            problems.push(Problem { field, kind });
        }
    };

    let objective = markdown::to_markdown(blocks(Field::Objective));
    check(Field::Objective, if markdown::is_placeholder(&objective) { Err(ProblemKind::Missing) } else { Ok(()) });
    let affected_services = affected_services(blocks(Field::AffectedServices));
    let limitations = Some(markdown::to_markdown(blocks(Field::Limitations))).filter(|l| !markdown::is_placeholder(l));
    let proposed = proposed::parse(blocks(Field::ProposedChanges));
    let migration_types = migration_type::parse(blocks(Field::MigrationType));
    let downtime = downtime::parse(blocks(Field::Downtime));
    let validation = validation::parse(blocks(Field::Validation));
    check(Field::ProposedChanges, proposed.as_ref().map(|_| ()).map_err(Clone::clone));
    check(Field::MigrationType, migration_types.as_ref().map(|_| ()).map_err(Clone::clone));
    check(Field::Downtime, downtime.as_ref().map(|_| ()).map_err(Clone::clone));

    // "Objective: ..." as plain text is not a section (it is too often a sentence), but when
    // that section is missing, the person should hear why.
    for problem in &mut problems {
        if problem.kind == ProblemKind::Missing
            && let Some((line, label)) = plain_labels.iter().find(|(f, ..)| *f == problem.field).map(|(_, l, t)| (l, t))
        {
            let title = problem.field.title();
            problem.kind = ProblemKind::Invalid(format!(
                "line {line} has `{label}:` as plain text, which I don't read as a section; make it a heading \
                 (`## {title}`) or start the line with a bold label (`**{title}:**`)"
            ));
        }
    }
    problems.sort_by_key(|p| p.field);
    let request = match (proposed, migration_types, downtime) {
        (Ok(proposed), Ok(migration_types), Ok(downtime)) if problems.is_empty() => Some(ChangeRequest {
            objective,
            affected_services,
            limitations,
            proposed,
            migration_types,
            downtime,
            validation,
            other_sections,
        }),
        _ => None,
    };
    Parsed { request, problems }
}

/// Lines outside code blocks that start like a section but are not one: "Objective: ...",
/// "- **Migration type:** additive". Each field's first.
fn plain_labels(doc: &markdown::Document) -> Vec<(Field, usize, String)> {
    let mut found: Vec<(Field, usize, String)> = Vec::new();
    let blocks = doc.preamble.iter().chain(doc.sections.iter().flat_map(|s| &s.blocks));
    for block in blocks {
        let Block::Text(t) = block else { continue };
        let text = markdown::list_item(&t.text).map_or(t.text.as_str(), |item| item.text).trim();
        let Some((label, _)) = text.split_once(':') else { continue };
        let label = label.trim().trim_matches(['*', '_']).trim();
        if label.is_empty() || label.len() > 40 {
            continue;
        }
        if let Some(field) = Field::from_heading(label)
            && !found.iter().any(|(f, ..)| *f == field)
        {
            found.push((field, t.line, label.to_string()));
        }
    }
    found
}

fn first_line_with_text(block: &Block) -> Option<usize> {
    match block {
        Block::Text(t) if t.text.trim().is_empty() => None,
        Block::Text(t) => Some(t.line),
        Block::Code(f) => Some(f.line),
    }
}

/// List items (ticked or without a checkbox) one each; other lines split at top-level commas
/// and semicolons ("users (~42M rows, hot)" stays one).
fn affected_services(blocks: &[Block]) -> Vec<String> {
    let mut out = Vec::new();
    for item in markdown::items(blocks) {
        if item.checked == Some(false) {
            continue;
        }
        let entries = if item.list || item.table { vec![item.text] } else { split_top_level(&item.text) };
        out.extend(entries.into_iter().map(|e| e.trim().to_string()).filter(|e| !markdown::is_placeholder(e)));
    }
    out
}

fn split_top_level(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let (mut depth, mut in_code) = (0usize, false);
    for c in text.chars() {
        match c {
            '`' => in_code = !in_code,
            '(' | '[' if !in_code => depth += 1,
            ')' | ']' if !in_code => depth = depth.saturating_sub(1),
            ',' | ';' if !in_code && depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_lines_of_concatenated_blocks() {
        let block = SqlBlock {
            text: "a\nb\nc\nd\n".into(),
            pieces: vec![
                SqlPiece { sql_line: 1, description_line: 10, lines: 2 },
                SqlPiece { sql_line: 3, description_line: 20, lines: 2 },
            ],
        };
        let lines: Vec<usize> = (0..=6).map(|l| block.description_line(l)).collect();
        assert_eq!(lines, [10, 10, 11, 20, 21, 21, 21]);
        assert_eq!(block.first_line(), 10);
        let empty = SqlBlock { text: String::new(), pieces: vec![] };
        assert_eq!(empty.description_line(3), 1);
    }

    #[test]
    fn affected_services_split_at_top_level_commas_only() {
        assert_eq!(
            split_top_level("users (42M rows, hot), `a,b`; orders"),
            ["users (42M rows, hot)", " `a,b`", " orders"]
        );
    }

    #[test]
    fn the_real_example_in_crlf_reads_the_same() {
        let text = include_str!("../tests/cases/real-example.md");
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(parse(&crlf), parse(text));
    }
}
