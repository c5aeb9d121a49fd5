//! Just enough Markdown: lines, fenced code blocks, HTML comments, headings, bold labels,
//! list items. Lines are numbered from 1 as in the description, so SQL errors can point back.
//!
//! This is not a CommonMark parser, and does not try to be: it reads what people type in a
//! Linear issue, and is lenient where a strict reading would lose what they meant (an
//! unclosed fence ends at the next template section instead of swallowing the rest).

use crate::field::Field;

/// A piece of the description: one line of text, or one fenced code block.
#[derive(Debug, Clone)]
pub(crate) enum Block {
    Text(TextLine),
    Code(Fence),
}

/// A line outside code blocks, with HTML comments removed and no line terminator.
#[derive(Debug, Clone)]
pub(crate) struct TextLine {
    pub line: usize,
    pub text: String,
}

/// A fenced code block. Its content line `i` (from 0) is description line `line + 1 + i`.
#[derive(Debug, Clone)]
pub(crate) struct Fence {
    /// The line of the opening fence.
    pub line: usize,
    /// The fence as written (```` ``` ```` or `~~~`, any length), to render the block again.
    pub marker: String,
    /// The info string: `sql`, `postgresql`, ... (trimmed, as written).
    pub info: String,
    pub lines: Vec<String>,
    /// False when no closing fence was found; the block then ends before the next line that
    /// opens a template section, or at the end of the description.
    pub closed: bool,
}

impl Fence {
    /// The language: the info string's first word, lowercased.
    pub fn lang(&self) -> String {
        self.info.split_whitespace().next().unwrap_or("").trim_matches(['{', '}', '.']).to_lowercase()
    }

    /// Whether the block holds SQL: marked as SQL, or not marked at all.
    pub fn is_sql(&self) -> bool {
        matches!(self.lang().as_str(), "" | "sql" | "postgres" | "postgresql" | "pgsql" | "psql" | "plpgsql" | "ddl")
    }
}

/// A section: a heading or bold label and the blocks up to the next section.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    /// The heading or label text as written (without `#`, `**` and a trailing colon).
    pub name: String,
    pub field: Option<Field>,
    pub line: usize,
    /// The ATX or setext level; `None` for a bold label.
    pub level: Option<u8>,
    pub blocks: Vec<Block>,
}

/// The description cut into sections; what comes before the first one is the preamble.
#[derive(Debug, Clone, Default)]
pub(crate) struct Document {
    pub preamble: Vec<Block>,
    pub sections: Vec<Section>,
}

/// Lines, fences and comments, then sections.
pub(crate) fn document(input: &str) -> Document {
    sections(lex(input))
}

struct Opening<'a> {
    ch: char,
    len: usize,
    indent: usize,
    marker: &'a str,
    info: &'a str,
}

fn fence_open(line: &str) -> Option<Opening<'_>> {
    let body = line.trim_start_matches([' ', '\t']);
    let indent = line.len() - body.len();
    let ch = body.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = body.len() - body.trim_start_matches(ch).len();
    if len < 3 {
        return None;
    }
    let info = body[len..].trim();
    // A backtick fence's info string cannot hold a backtick: "```x```" is inline code.
    if ch == '`' && info.contains('`') {
        return None;
    }
    Some(Opening { ch, len, indent, marker: &body[..len], info })
}

fn fence_closes(line: &str, open: &Opening<'_>) -> bool {
    let body = line.trim_start_matches([' ', '\t']);
    let run = body.len() - body.trim_start_matches(open.ch).len();
    run >= open.len && body[run..].trim().is_empty()
}

/// Whether a raw line opens a known template section (used to end an unclosed fence).
fn opens_known_section(line: &str) -> bool {
    heading(line).is_some_and(|h| h.field.is_some())
}

fn lex(input: &str) -> Vec<Block> {
    let lines: Vec<&str> = input.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    // closes_below[i]: whether a line after line i holds "-->". A "<!--" that nothing closes
    // is text, not a comment that hides the rest of the description.
    let mut closes_below = vec![false; lines.len()];
    for i in (0..lines.len().saturating_sub(1)).rev() {
        closes_below[i] = closes_below[i + 1] || lines[i + 1].contains("-->");
    }
    let mut blocks = Vec::new();
    let mut in_comment = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if !in_comment && let Some(open) = fence_open(line) {
            let close = (i + 1..lines.len()).find(|&j| fence_closes(lines[j], &open));
            let (end, next, closed) = match close {
                Some(j) => (j, j + 1, true),
                None => {
                    let end = (i + 1..lines.len()).find(|&j| opens_known_section(lines[j])).unwrap_or(lines.len());
                    (end, end, false)
                }
            };
            let content = lines[i + 1..end].iter().map(|l| dedent(l, open.indent).to_string()).collect();
            blocks.push(Block::Code(Fence {
                line: i + 1,
                marker: open.marker.to_string(),
                info: open.info.to_string(),
                lines: content,
                closed,
            }));
            i = next;
            continue;
        }
        let text = strip_comments(line, &mut in_comment, closes_below[i]);
        blocks.push(Block::Text(TextLine { line: i + 1, text }));
        i += 1;
    }
    blocks
}

/// Removes up to `indent` columns of leading whitespace, as CommonMark does for the content
/// of an indented fence.
fn dedent(line: &str, indent: usize) -> &str {
    let mut rest = line;
    for _ in 0..indent {
        match rest.strip_prefix([' ', '\t']) {
            Some(r) => rest = r,
            None => break,
        }
    }
    rest
}

/// The line without its `<!-- ... -->` parts; `in_comment` carries an open comment over.
fn strip_comments(line: &str, in_comment: &mut bool, closes_below: bool) -> String {
    let mut out = String::new();
    let mut rest = line;
    // Where the line's last "-->" starts: whether a "<!--" is closed later on this line is one
    // comparison, not a scan of the rest of the line per "<!--" (quadratic on hostile lines).
    let last_close = line.rfind("-->");
    loop {
        if *in_comment {
            match rest.find("-->") {
                Some(end) => {
                    rest = &rest[end + 3..];
                    *in_comment = false;
                }
                None => return out,
            }
        }
        match rest.find("<!--") {
            Some(start) => {
                let escaped = rest[..start].ends_with('\\');
                let after_open = line.len() - rest.len() + start + 4;
                let closed = closes_below || last_close.is_some_and(|close| close >= after_open);
                if escaped || !closed {
                    out.push_str(&rest[..start + 4]);
                } else {
                    out.push_str(&rest[..start]);
                    *in_comment = true;
                }
                rest = &rest[start + 4..];
            }
            None => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// A heading line: ATX (`## Name`, any level) of any name, or a bold label of a known
/// section (`**Name**`, `**Name:** text`, `__Name__:`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Heading {
    pub name: String,
    pub field: Option<Field>,
    pub level: Option<u8>,
    /// Text after a bold label on the same line.
    pub rest: String,
}

pub(crate) fn heading(line: &str) -> Option<Heading> {
    atx_heading(line).or_else(|| bold_label(line))
}

fn leading_spaces_ok(line: &str) -> Option<&str> {
    let body = line.trim_start_matches(' ');
    (line.len() - body.len() <= 3).then_some(body)
}

fn atx_heading(line: &str) -> Option<Heading> {
    let body = leading_spaces_ok(line)?;
    let level = body.len() - body.trim_start_matches('#').len();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &body[level..];
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let mut name = rest.trim();
    // An optional closing sequence: "## Objective ##".
    let without_hashes = name.trim_end_matches('#');
    if without_hashes.is_empty() || without_hashes.ends_with([' ', '\t']) {
        name = without_hashes.trim_end();
    }
    let name = clean_name(name);
    let field = Field::from_heading(&name);
    Some(Heading { name, field, level: u8::try_from(level).ok(), rest: String::new() })
}

fn bold_label(line: &str) -> Option<Heading> {
    let body = leading_spaces_ok(line)?;
    let marker = if body.starts_with("**") {
        "**"
    } else if body.starts_with("__") {
        "__"
    } else {
        return None;
    };
    let inner_and_after = &body[2..];
    let end = inner_and_after.find(marker)?;
    let inner = inner_and_after[..end].trim();
    let after = inner_and_after[end + 2..].trim();
    let (label, rest) = if let Some(label) = inner.strip_suffix(':') {
        (label, after.to_string())
    } else if let Some(rest) = after.strip_prefix(':') {
        (inner, rest.trim().to_string())
    } else if after.is_empty() {
        match inner.split_once(':') {
            // The whole line in bold: "**Migration type: additive**".
            Some((label, rest)) => (label, rest.trim().to_string()),
            None => (inner, String::new()),
        }
    } else {
        // "**Migration** will run at night" is emphasis, not a label.
        return None;
    };
    let field = Field::from_heading(label)?;
    Some(Heading { name: clean_name(label), field: Some(field), level: None, rest })
}

/// The heading text without surrounding emphasis and a trailing colon.
fn clean_name(name: &str) -> String {
    let name = name.trim().trim_matches(['*', '_']).trim();
    name.strip_suffix(':').unwrap_or(name).trim().to_string()
}

fn setext_level(underline: &str) -> Option<u8> {
    let body = leading_spaces_ok(underline)?.trim_end();
    if body.len() >= 2 && body.bytes().all(|b| b == b'=') {
        Some(1)
    } else if body.len() >= 2 && body.bytes().all(|b| b == b'-') {
        Some(2)
    } else {
        None
    }
}

fn sections(blocks: Vec<Block>) -> Document {
    let mut doc = Document::default();
    let mut blocks = blocks.into_iter().peekable();
    while let Some(block) = blocks.next() {
        let current = doc.sections.last();
        let found = match &block {
            Block::Text(t) => match heading(&t.text) {
                Some(h) => {
                    let opens = h.field.is_some()
                        || match current {
                            None => true,
                            Some(section) => match (section.level, h.level) {
                                (Some(outer), Some(inner)) => inner <= outer,
                                _ => true,
                            },
                        };
                    opens.then_some((t.line, h))
                }
                None => {
                    // A setext heading counts only for a known name: "Objective\n=====".
                    let underline = match blocks.peek() {
                        Some(Block::Text(next)) if list_item(&t.text).is_none() => setext_level(&next.text),
                        _ => None,
                    };
                    match (underline, Field::from_heading(&t.text)) {
                        (Some(level), Some(field)) => {
                            blocks.next();
                            let name = clean_name(&t.text);
                            Some((
                                t.line,
                                Heading { name, field: Some(field), level: Some(level), rest: String::new() },
                            ))
                        }
                        _ => None,
                    }
                }
            },
            Block::Code(_) => None,
        };
        match found {
            Some((line, h)) => {
                let mut section = Section { name: h.name, field: h.field, line, level: h.level, blocks: Vec::new() };
                if !h.rest.is_empty() {
                    section.blocks.push(Block::Text(TextLine { line, text: h.rest }));
                }
                doc.sections.push(section);
            }
            None => match doc.sections.last_mut() {
                Some(section) => section.blocks.push(block),
                None => doc.preamble.push(block),
            },
        }
    }
    doc
}

/// The blocks as Markdown again, without leading and trailing blank lines.
pub(crate) fn to_markdown(blocks: &[Block]) -> String {
    let mut lines: Vec<String> = Vec::new();
    for block in blocks {
        match block {
            Block::Text(t) => lines.push(t.text.trim_end().to_string()),
            Block::Code(f) => {
                lines.push(format!("{}{}", f.marker, f.info));
                lines.extend(f.lines.iter().cloned());
                if f.closed {
                    lines.push(f.marker.clone());
                }
            }
        }
    }
    let start = lines.iter().position(|l| !l.trim().is_empty()).unwrap_or(lines.len());
    let end = lines.iter().rposition(|l| !l.trim().is_empty()).map_or(start, |e| e + 1);
    lines[start..end].join("\n")
}

/// A list item's marker (`-`, `*`, `+`, `1.`, `1)`) and task checkbox taken off a line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ListItem<'a> {
    /// `Some(true)` for `[x]`, `Some(false)` for `[ ]`, `None` without a checkbox.
    pub checked: Option<bool>,
    pub text: &'a str,
}

pub(crate) fn list_item(line: &str) -> Option<ListItem<'_>> {
    let body = line.trim_start_matches([' ', '\t']);
    let after_marker = if let Some(rest) = body.strip_prefix(['-', '*', '+']) {
        rest
    } else {
        let digits = body.len() - body.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || digits > 9 {
            return None;
        }
        body[digits..].strip_prefix(['.', ')'])?
    };
    if !(after_marker.is_empty() || after_marker.starts_with([' ', '\t'])) {
        return None;
    }
    let text = after_marker.trim();
    let (checked, text) = if let Some(rest) = text.strip_prefix("[ ]") {
        (Some(false), rest)
    } else if let Some(rest) = text.strip_prefix("[x]").or_else(|| text.strip_prefix("[X]")) {
        (Some(true), rest)
    } else {
        (None, text)
    };
    Some(ListItem { checked, text: text.trim() })
}

/// A list item or a paragraph, with its continuation lines joined by spaces.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub line: usize,
    pub list: bool,
    pub table: bool,
    pub checked: Option<bool>,
    pub text: String,
}

/// The items of a run of blocks, in order: list items, paragraphs and table rows (without
/// the header row). Code blocks and headings end an item and are skipped; callers that want
/// code blocks walk the blocks themselves.
pub(crate) fn items(blocks: &[Block]) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    let mut open = false;
    let mut after_blank = true;
    for block in blocks {
        let Block::Text(t) = block else {
            open = false;
            continue;
        };
        if t.text.trim().is_empty() {
            after_blank = true;
            continue;
        }
        let trimmed = t.text.trim();
        if atx_heading(&t.text).is_some() {
            open = false;
        } else if let Some(row) = trimmed.strip_prefix('|') {
            let row = row.strip_suffix('|').unwrap_or(row).trim();
            if row.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t')) {
                // The delimiter row: the row before it is the header.
                if items.last().is_some_and(|last| last.table) {
                    items.pop();
                }
            } else {
                items.push(Item { line: t.line, list: false, table: true, checked: None, text: row.to_string() });
            }
            open = false;
        } else if let Some(li) = list_item(&t.text) {
            items.push(Item { line: t.line, list: true, table: false, checked: li.checked, text: li.text.to_string() });
            open = true;
        } else if let Some(last) = items.last_mut().filter(|_| open)
            && (!after_blank || (last.list && t.text.starts_with([' ', '\t'])))
        {
            if !last.text.is_empty() {
                last.text.push(' ');
            }
            last.text.push_str(t.text.trim());
        } else {
            items.push(Item { line: t.line, list: false, table: false, checked: None, text: trimmed.to_string() });
            open = true;
        }
        after_blank = false;
    }
    items
}

/// The text with Markdown backslash escapes (`\_`, `\*`) resolved.
pub(crate) fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next) = chars.peek()
            && next.is_ascii_punctuation()
        {
            out.push(next);
            chars.next();
        } else {
            out.push(c);
        }
    }
    out
}

/// The contents of the `` `code spans` `` of a line, in order.
pub(crate) fn code_spans(text: &str) -> Vec<&str> {
    let mut spans = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].len() - rest[start..].trim_start_matches('`').len();
        let after = &rest[start + ticks..];
        let closing = "`".repeat(ticks);
        match after.find(&closing) {
            Some(end) => {
                spans.push(after[..end].trim());
                rest = &after[end + ticks..];
            }
            None => break,
        }
    }
    spans
}

/// The text with its code spans removed (their content can hold numbers and words that
/// are names, not prose).
pub(crate) fn without_code_spans(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].len() - rest[start..].trim_start_matches('`').len();
        let after = &rest[start + ticks..];
        match after.find(&"`".repeat(ticks)) {
            Some(end) => {
                out.push_str(&rest[..start]);
                out.push(' ');
                rest = &after[end + ticks..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

/// Lowercase words of letters and digits; everything else separates them.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Text that fills a section without saying anything: "TBD", "n/a", "-", "?".
pub(crate) fn is_placeholder(text: &str) -> bool {
    let words = words(text);
    matches!(
        words.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
        [] | ["tbd"] | ["tbc"] | ["todo"] | ["n", "a"] | ["na"] | ["unknown"] | ["none"] | ["nothing"] | ["xxx"]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_outline(input: &str) -> Vec<(String, Option<Field>, usize, usize)> {
        document(input).sections.iter().map(|s| (s.name.clone(), s.field, s.line, s.blocks.len())).collect()
    }

    #[test]
    fn headings_and_labels() {
        let h = heading("## Objective:").unwrap();
        assert_eq!((h.name.as_str(), h.field, h.level), ("Objective", Some(Field::Objective), Some(2)));
        let h = heading("**Migration type:** additive").unwrap();
        assert_eq!((h.field, h.rest.as_str()), (Some(Field::MigrationType), "additive"));
        let h = heading("__Downtime__: 5 minutes").unwrap();
        assert_eq!((h.field, h.rest.as_str()), (Some(Field::Downtime), "5 minutes"));
        let h = heading("**Objective: add a column**").unwrap();
        assert_eq!((h.field, h.rest.as_str()), (Some(Field::Objective), "add a column"));
        assert_eq!(heading("**Migration** will run at night"), None);
        assert_eq!(heading("**Note:** be careful"), None);
        assert_eq!(heading("#hashtag"), None);
        assert_eq!(heading("    ## indented code"), None);
        assert_eq!(heading("## Notes ##").unwrap().name, "Notes");
    }

    #[test]
    fn fences_hide_headings_and_unclosed_fences_stop_at_the_next_section() {
        let outline = doc_outline("## Objective\nx\n```sql\n## not a heading\n```\n## Downtime\nnone\n");
        assert_eq!(outline.len(), 2);
        let doc = document("## DDL\n```sql\nALTER TABLE t ADD c int;\n\n## Migration type\nadditive\n");
        assert_eq!(doc.sections.len(), 2);
        let Block::Code(f) = &doc.sections[0].blocks[0] else { panic!() };
        assert!(!f.closed);
        assert_eq!(f.lines, ["ALTER TABLE t ADD c int;", ""]);
    }

    #[test]
    fn comments_are_removed_and_keep_line_numbers() {
        let doc = document("<!-- template:\n## Objective\n-->\n## Goal <!-- hint -->\nx");
        assert_eq!(doc.sections.len(), 1);
        assert_eq!((doc.sections[0].name.as_str(), doc.sections[0].line), ("Goal", 4));
        // Escaped, or never closed: text.
        let doc = document("## Objective\nescaped \\<!-- x --> and <!-- open\n## Downtime\nnone");
        assert_eq!(doc.sections.len(), 2);
        assert_eq!(to_markdown(&doc.sections[0].blocks), "escaped \\<!-- x --> and <!-- open");
    }

    #[test]
    fn subheadings_of_unknown_name_stay_in_their_section() {
        let outline = doc_outline("## Objective\n### Details\nx\n## Rollout\ny\n### Objective\nz");
        let names: Vec<_> = outline.iter().map(|o| o.0.as_str()).collect();
        assert_eq!(names, ["Objective", "Rollout", "Objective"]);
    }

    #[test]
    fn list_items_and_checkboxes() {
        assert_eq!(list_item("- [x] additive"), Some(ListItem { checked: Some(true), text: "additive" }));
        assert_eq!(list_item("  * [ ] destructive"), Some(ListItem { checked: Some(false), text: "destructive" }));
        assert_eq!(list_item("12) twelve"), Some(ListItem { checked: None, text: "twelve" }));
        assert_eq!(list_item("**bold**"), None);
        assert_eq!(list_item("---"), None);
        assert_eq!(list_item("2026-05-03"), None);
    }

    #[test]
    fn code_spans_are_found_and_removed() {
        assert_eq!(code_spans("a `x` b ``y ` z`` c `open"), ["x", "y ` z"]);
        assert_eq!(without_code_spans("p95 of `GET /v1/items` < 120 ms"), "p95 of   < 120 ms");
    }
}
