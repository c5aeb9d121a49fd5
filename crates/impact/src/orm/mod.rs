//! One module per ORM, and SQL strings in code. Each reads one file and reports hits; the
//! readers are line- and bracket-based, never evaluating anything.

mod diesel;
mod django;
mod prisma;
mod rails;
mod sqlalchemy;
mod typeorm;

use crate::scan::{self, Lang};
use crate::{Affected, Confidence, Hit, Source, SourceFile, sql};
use cutover_schema::QualName;

/// What one file's readers may need from the others.
#[derive(Debug, Default)]
pub struct Context {
    /// The Django models of the repository's models files.
    pub django: Vec<django::ModelInfo>,
}

impl Context {
    /// Reads what the readers share from the files that will be read.
    pub fn new(files: &[&SourceFile]) -> Context {
        let mut ctx = Context::default();
        for f in files.iter().filter(|f| f.path.ends_with(".py") && django::is_models_file(&f.path)) {
            if !in_migrations(&f.path) {
                ctx.django.extend(django::model_infos(&f.path, &f.text));
            }
        }
        ctx
    }
}

/// Everything found in one file.
pub fn hits(file: &SourceFile, changes: &[Affected], ctx: &Context) -> Vec<Hit> {
    let mut out = Vec::new();
    let path = file.path.as_str();
    let text = file.text.as_str();
    if path.ends_with(".py") {
        if django::is_models_file(path) {
            django::hits(path, text, changes, &mut out);
        }
        if !ctx.django.is_empty() && !in_migrations(path) {
            django::lookup_hits(text, &ctx.django, changes, &mut out);
        }
        if text.contains("__tablename__") || text.contains("Table(") || text.contains("ForeignKey(") {
            sqlalchemy::hits(text, changes, &mut out);
        }
    }
    if path.ends_with(".prisma") {
        prisma::hits(text, changes, &mut out);
    }
    if path == "db/schema.rb" || path.ends_with("/db/schema.rb") {
        rails::schema_hits(text, changes, &mut out);
    } else if path.ends_with(".rb") && (path.starts_with("app/models/") || path.contains("/app/models/")) {
        rails::model_hits(text, changes, &mut out);
    }
    if (path.ends_with(".ts") || path.ends_with(".js")) && text.contains("@Entity") {
        typeorm::hits(text, changes, &mut out);
    }
    if path.ends_with(".rs") && (text.contains("table!") || text.contains("table !")) {
        diesel::hits(text, changes, &mut out);
    }
    if !in_migrations(path)
        && let Some(lang) = Lang::of(path)
    {
        sql_hits(text, lang, changes, &mut out);
    }
    out
}

/// Migrations name the old schema by design: they are history, not code to update.
fn in_migrations(path: &str) -> bool {
    let dirs: Vec<&str> = path.split('/').collect();
    let dirs = &dirs[..dirs.len().saturating_sub(1)];
    dirs.iter().any(|d| matches!(*d, "migrations" | "migrate" | "migration" | "versions" | "changelog" | "flyway"))
}

fn sql_hits(text: &str, lang: Lang, changes: &[Affected], out: &mut Vec<Hit>) {
    for group in scan::groups(text, lang) {
        if group.parts.iter().any(|p| p.docstring) {
            continue;
        }
        let (joined, starts) = group.joined();
        let cap = if lang == Lang::Sql { Some(Confidence::High) } else { sql::sql_confidence(&joined) };
        let Some(cap) = cap else { continue };
        for r in sql::references(&joined, changes, cap) {
            out.push(Hit {
                change: r.change,
                offset: group.file_offset(&starts, r.offset),
                source: Source::Sql,
                confidence: r.confidence,
                what: r.what,
                edit: None,
            });
        }
    }
}

/// How surely a table named `name` by a model (which knows no schema) is `table`.
fn table_is(table: &QualName, name: &str) -> Option<Confidence> {
    if name != table.name {
        return None;
    }
    Some(if table.schema == "public" { Confidence::High } else { Confidence::Medium })
}

/// Lines of a text with the offset each starts at (without their line break).
fn lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        out.push((start, line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(line)));
        start += line.len();
    }
    out
}

/// The offset just past the end of the line holding `offset` (after its line break).
fn line_end(text: &str, offset: usize) -> usize {
    text[offset..].find('\n').map(|p| offset + p + 1).unwrap_or(text.len())
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map(|p| p + 1).unwrap_or(0)
}

/// The offset of the bracket closing the one at `open`, skipping quoted strings.
fn closing(text: &str, open: usize) -> Option<usize> {
    let b = text.as_bytes();
    let (o, c) = match b.get(open)? {
        b'(' => (b'(', b')'),
        b'{' => (b'{', b'}'),
        b'[' => (b'[', b']'),
        _ => return None,
    };
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            q @ (b'"' | b'\'' | b'`') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            x if x == o => depth += 1,
            x if x == c => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A quoted string starting at `at` (`"` or `'`): the range of its content.
fn string_at(text: &str, at: usize) -> Option<(usize, usize)> {
    let q = *text.as_bytes().get(at)?;
    if q != b'"' && q != b'\'' {
        return None;
    }
    let end = text[at + 1..].find(q as char)? + at + 1;
    Some((at + 1, end))
}

/// The first quoted string at or after `at` on the same line.
fn string_after(text: &str, at: usize) -> Option<(usize, usize)> {
    let end = line_end(text, at);
    let rel = text[at..end].find(['"', '\''])?;
    string_at(text, at + rel)
}

/// A call's argument: its keyword if any, the range of the whole argument, of its value.
type Argument = (Option<String>, (usize, usize), (usize, usize));

/// Arguments of a call between `open` and `close` (exclusive), split at top-level commas:
/// (keyword if any, range of the whole argument, range of the value).
fn arguments(text: &str, open: usize, close: usize) -> Vec<Argument> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = open + 1;
    let mut i = open + 1;
    let mut push = |s: usize, e: usize| {
        let raw = &text[s..e];
        if raw.trim().is_empty() {
            return;
        }
        let lead = raw.len() - raw.trim_start().len();
        let s = s + lead;
        let e = s + raw.trim().len();
        let arg = &text[s..e];
        let ident: String = arg.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let rest = arg[ident.len()..].trim_start();
        if !ident.is_empty() && (rest.starts_with('=') && !rest.starts_with("==") || rest.starts_with(':')) {
            let value_at = e - rest[1..].trim_start().len();
            out.push((Some(ident), (s, e), (value_at, e)));
        } else {
            out.push((None, (s, e), (s, e)));
        }
    };
    while i < close {
        match b[i] {
            q @ (b'"' | b'\'' | b'`') => {
                i += 1;
                while i < close && b[i] != q {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                push(start, i);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    push(start, close);
    out
}

/// An identifier starting at `at`.
fn ident_at(text: &str, at: usize) -> &str {
    let len = text[at..].find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(text.len() - at);
    &text[at..at + len]
}

/// The leading whitespace of a line.
fn indent(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// `CamelCase` as `camel_case`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0 && (prev_lower || (next_lower && chars[i - 1].is_uppercase())) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

/// A PostgreSQL type as `format_type` prints it, split into its name and modifiers:
/// `character varying(20)` → (`character varying`, [20]).
fn type_parts(pg: &str) -> (String, Vec<u32>) {
    let pg = pg.trim();
    let Some(open) = pg.find('(') else { return (pg.to_string(), Vec::new()) };
    let close = pg[open..].find(')').map(|p| open + p).unwrap_or(pg.len());
    let mods = pg[open + 1..close].split(',').filter_map(|m| m.trim().parse().ok()).collect();
    // `timestamp(3) with time zone`: the modifier sits inside the name.
    let name = format!("{}{}", &pg[..open], pg.get(close + 1..).unwrap_or(""));
    (name.trim().to_string(), mods)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types() {
        assert_eq!(snake("AuditLog"), "audit_log");
        assert_eq!(snake("HTTPRequest"), "http_request");
        assert_eq!(snake("fullName"), "full_name");
        assert_eq!(type_parts("character varying(20)"), ("character varying".into(), vec![20]));
        assert_eq!(type_parts("numeric(12,2)"), ("numeric".into(), vec![12, 2]));
        assert_eq!(type_parts("timestamp(3) with time zone"), ("timestamp with time zone".into(), vec![3]));
        assert!(in_migrations("db/migrate/001_x.rb"));
        assert!(!in_migrations("app/migrate.py"));
    }

    #[test]
    fn arguments_split_at_top_level() {
        let text = "f(a, b=(1, 2), c=\"x,y\")";
        let args = arguments(text, 1, text.len() - 1);
        let kw: Vec<_> = args.iter().map(|a| (a.0.clone(), &text[(a.2).0..(a.2).1])).collect();
        assert_eq!(kw, vec![(None, "a"), (Some("b".into()), "(1, 2)"), (Some("c".into()), "\"x,y\"")]);
    }
}
