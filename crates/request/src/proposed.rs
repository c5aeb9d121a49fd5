//! "Proposed schema changes": DDL in ```sql blocks, or the path of the desired schema in the
//! repository. Never DDL guessed from prose.

use crate::markdown::{self, Block, Fence};
use crate::{ProblemKind, ProposedChange, SqlBlock, SqlPiece};

/// The proposed change, or why there is none.
pub(crate) fn parse(blocks: &[Block]) -> Result<ProposedChange, ProblemKind> {
    let fences: Vec<&Fence> = blocks
        .iter()
        .filter_map(|b| match b {
            Block::Code(f) => Some(f),
            Block::Text(_) => None,
        })
        .collect();
    let (sql, other): (Vec<&Fence>, Vec<&Fence>) = fences.iter().partition(|f| f.is_sql());
    let (filled, empty): (Vec<&Fence>, Vec<&Fence>) = sql.iter().partition(|f| !is_blank_sql(&f.lines));
    let paths = paths(blocks);

    if let Some(first) = filled.first() {
        if let Some((path, line)) = paths.first() {
            return Err(ProblemKind::Contradictory(format!(
                "it has both DDL (the `` ```sql `` block at line {}) and a desired-schema path (`{path}`, line {line}); \
                 keep only one of them",
                first.line
            )));
        }
        return Ok(ProposedChange::Sql(SqlBlock::from_fences(&filled)));
    }
    match paths.as_slice() {
        [] => {}
        [(path, _)] => {
            return if path.starts_with(['/', '~']) || path.split('/').any(|segment| segment == "..") {
                Err(ProblemKind::Invalid(format!(
                    "the desired-schema path `{path}` points outside the repository; give a path relative to \
                     the repository root, like `db/schema.sql`"
                )))
            } else {
                Ok(ProposedChange::SchemaPath(path.clone()))
            };
        }
        several => {
            let list: Vec<String> = several.iter().map(|(p, _)| format!("`{p}`")).collect();
            return Err(ProblemKind::Contradictory(format!(
                "it names several desired-schema paths ({}); keep the one that holds the whole desired schema",
                list.join(", ")
            )));
        }
    }
    if let Some(block) = empty.first() {
        return Err(ProblemKind::Invalid(format!("the `` ```sql `` block at line {} is empty", block.line)));
    }
    if let Some(block) = other.first() {
        return Err(ProblemKind::Invalid(format!(
            "the code block at line {} is marked `{}`, not `sql`; put the DDL in a `` ```sql `` block",
            block.line,
            block.lang()
        )));
    }
    let text: Vec<&markdown::TextLine> = blocks
        .iter()
        .filter_map(|b| match b {
            Block::Text(t) if !t.text.trim().is_empty() => Some(t),
            _ => None,
        })
        .collect();
    if let Some(line) = text.iter().find(|t| looks_like_ddl(&t.text)) {
        return Err(ProblemKind::Invalid(format!(
            "the DDL at line {} is not in a `` ```sql `` block; put it in one so that it is read exactly as written",
            line.line
        )));
    }
    if text.iter().any(|t| !markdown::is_placeholder(&t.text)) {
        return Err(ProblemKind::Invalid(
            "it has neither a `` ```sql `` block nor a desired-schema path; I only apply DDL that is written out, \
             never DDL guessed from a description"
                .into(),
        ));
    }
    Err(ProblemKind::Missing)
}

impl SqlBlock {
    /// The SQL of several fenced blocks, one after another, remembering where each came from.
    pub(crate) fn from_fences(fences: &[&Fence]) -> SqlBlock {
        let mut block = SqlBlock { text: String::new(), pieces: Vec::new() };
        let mut sql_line = 1;
        for fence in fences {
            block.pieces.push(SqlPiece { sql_line, description_line: fence.line + 1, lines: fence.lines.len() });
            for line in &fence.lines {
                block.text.push_str(line);
                block.text.push('\n');
            }
            sql_line += fence.lines.len();
        }
        block
    }
}

/// Whether SQL lines hold nothing but whitespace and comments.
pub(crate) fn is_blank_sql(lines: &[String]) -> bool {
    let mut in_block_comment = false;
    for line in lines {
        let mut rest = line.as_str();
        loop {
            if in_block_comment {
                match rest.find("*/") {
                    Some(end) => {
                        rest = &rest[end + 2..];
                        in_block_comment = false;
                    }
                    None => break,
                }
            }
            let rest_trimmed = rest.trim_start();
            if rest_trimmed.is_empty() || rest_trimmed.starts_with("--") {
                break;
            }
            match rest_trimmed.strip_prefix("/*") {
                Some(after) => {
                    rest = after;
                    in_block_comment = true;
                }
                None => return false,
            }
        }
    }
    true
}

/// Text that is DDL outside a code block: "ALTER TABLE users ADD ...".
fn looks_like_ddl(line: &str) -> bool {
    let text = markdown::list_item(line).map_or(line, |item| item.text);
    let words = markdown::words(text.trim_start_matches('`'));
    let second = words.get(1).map(String::as_str).unwrap_or("");
    match words.first().map(String::as_str) {
        Some("alter" | "drop") => matches!(
            second,
            "table"
                | "index"
                | "type"
                | "view"
                | "sequence"
                | "function"
                | "schema"
                | "materialized"
                | "trigger"
                | "domain"
                | "extension"
                | "column"
                | "constraint"
        ),
        Some("create") => matches!(
            second,
            "table"
                | "index"
                | "unique"
                | "type"
                | "view"
                | "sequence"
                | "function"
                | "schema"
                | "materialized"
                | "trigger"
                | "domain"
                | "extension"
                | "or"
        ),
        Some("comment") => second == "on",
        _ => false,
    }
}

/// The desired-schema paths named in the text (outside code blocks), each once, with the
/// line it is first named on: `Desired schema: db/schema.sql`, a backticked `db/schema.sql`
/// or `db/schema/`, a link to one, or a path alone on its line.
fn paths(blocks: &[Block]) -> Vec<(String, usize)> {
    let mut found: Vec<(String, usize)> = Vec::new();
    let mut add = |path: String, line: usize| {
        let path = path.strip_prefix("./").unwrap_or(&path).to_string();
        let same = |p: &String| p.trim_end_matches('/') == path.trim_end_matches('/');
        if !found.iter().any(|(p, _)| same(p)) {
            found.push((path, line));
        }
    };
    for block in blocks {
        let Block::Text(t) = block else { continue };
        let text = markdown::unescape(&t.text);
        let text = markdown::list_item(&text).map_or(text.as_str(), |item| item.text).to_string();
        let (links, text) = take_links(&text);
        for (label, url) in links {
            if let Some(path) =
                Some(label.trim_matches('`')).filter(|l| is_path(l)).map(str::to_string).or_else(|| repo_path(&url))
            {
                add(path, t.line);
            }
        }
        for span in markdown::code_spans(&text) {
            if is_path(span) {
                add(span.to_string(), t.line);
            }
        }
        // A path alone, or after a short label: "Desired schema: db/schema.sql".
        let value = match text.split_once(": ") {
            Some((label, value)) if label.split_whitespace().count() <= 4 => value,
            _ => text.as_str(),
        };
        let value = value.trim().trim_matches(['*', '_']).trim().trim_matches('`').trim_end_matches(['.', ',']);
        if !value.contains('`') {
            if is_path(value) {
                add(value.to_string(), t.line);
            } else if let Some(path) = repo_path(value) {
                add(path, t.line);
            }
        }
    }
    found
}

/// `[label](url)` links taken out of a line: the links, and the line without them.
fn take_links(text: &str) -> (Vec<(String, String)>, String) {
    let mut links = Vec::new();
    let mut rest_text = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|c| open + c) else { break };
        let Some(end) = rest[close..].find(')').map(|e| close + e) else { break };
        let label = &rest[open + 1..close];
        if label.contains('[') {
            rest_text.push_str(&rest[..open + 1]);
            rest = &rest[open + 1..];
            continue;
        }
        links.push((label.to_string(), rest[close + 2..end].trim().to_string()));
        rest_text.push_str(&rest[..open]);
        rest = &rest[end + 1..];
    }
    rest_text.push_str(rest);
    (links, rest_text)
}

/// A path in the repository: a `.sql` file, or a directory (has a `/`, and its last part
/// has no extension). URLs, prose and file names of other kinds are not.
fn is_path(text: &str) -> bool {
    let ok_chars = text.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | '~' | '+' | '@'));
    if text.is_empty() || !ok_chars || text.contains("//") || text.trim_matches(['/', '.']).is_empty() {
        return false;
    }
    if text.to_ascii_lowercase().ends_with(".sql") {
        return true;
    }
    let last = text.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    text.contains('/') && !last.contains('.') && text.chars().any(char::is_alphabetic)
}

/// The path inside a repository of a GitHub or GitLab file URL
/// (`https://github.com/acme/app/blob/main/db/schema.sql` → `db/schema.sql`).
fn repo_path(url: &str) -> Option<String> {
    let (_, after) = url.split_once("://")?;
    let marker = ["/blob/", "/tree/"].into_iter().find_map(|m| after.find(m).map(|i| i + m.len()))?;
    let (_, path) = after[marker..].split_once('/')?;
    let path = path.split(['?', '#']).next().unwrap_or("");
    is_path(path).then(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_a_path() {
        for yes in ["db/schema.sql", "schema.sql", "db/schema/", "db/schema", "./db/SCHEMA.SQL"] {
            assert!(is_path(yes), "{yes}");
        }
        for no in ["users", "users.email", "docs/runbook.md", "https://x/y.sql", "a b.sql", "/", "../", "12/34", ""] {
            assert!(!is_path(no), "{no}");
        }
        assert_eq!(
            repo_path("https://github.com/acme/app/blob/main/db/schema.sql#L3").as_deref(),
            Some("db/schema.sql")
        );
    }

    #[test]
    fn blank_sql_is_whitespace_and_comments() {
        let lines = |s: &str| s.lines().map(str::to_string).collect::<Vec<_>>();
        assert!(is_blank_sql(&lines("\n-- write DDL here\n/* or\nhere */ -- and here\n")));
        assert!(!is_blank_sql(&lines("-- x\nSELECT 1;")));
        assert!(!is_blank_sql(&lines("/* x */ SELECT 1;")));
    }

    #[test]
    fn ddl_outside_a_block_is_recognised() {
        assert!(looks_like_ddl("ALTER TABLE users ADD COLUMN x int;"));
        assert!(looks_like_ddl("- `create index concurrently i on t (c);`"));
        assert!(!looks_like_ddl("Create a column that says whether the email was verified"));
    }
}
