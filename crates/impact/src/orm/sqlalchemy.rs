//! SQLAlchemy: declarative classes (`__tablename__`, `Column(...)`, `mapped_column(...)`),
//! core tables (`Table("name", metadata, Column("col", ...))`) and `ForeignKey("t.c")`.
//! Models are code, so these are findings for the checklist, never edits.

use super::{arguments, closing, ident_at, indent, line_end, lines, string_after, string_at, table_is};
use crate::{Affected, Confidence, Hit, Source};
use cutover_plan::planner::AppChange;

const COLUMN_CALLS: [&str; 2] = ["Column(", "mapped_column("];

pub fn hits(text: &str, changes: &[Affected], out: &mut Vec<Hit>) {
    let ls = lines(text);
    // Declarative classes: the `__tablename__` and the column attributes of each class body.
    let mut i = 0;
    while i < ls.len() {
        let (start, line) = ls[i];
        if !line.starts_with("class ") {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < ls.len() && (ls[j].1.trim().is_empty() || !indent(ls[j].1).is_empty()) {
            j += 1;
        }
        let body = &ls[i + 1..j];
        let table = body.iter().find_map(|(s, l)| {
            let t = l.trim_start();
            let rest = t.strip_prefix("__tablename__")?;
            let at = s + (l.len() - t.len()) + "__tablename__".len() + rest.find(['"', '\''])?;
            string_at(text, at)
        });
        if let Some((ts, te)) = table {
            let name = &text[ts..te];
            let class = ident_at(line, 6);
            for (index, a) in changes.iter().enumerate() {
                let Some(confidence) = table_is(a.change.table(), name) else { continue };
                let hit = |what: String, offset: usize| Hit {
                    change: index,
                    offset,
                    source: Source::Sqlalchemy,
                    confidence,
                    what,
                    edit: None,
                };
                match a.change.column() {
                    None => out.push(hit(format!("model {class} (table {name})"), start + 6)),
                    Some(column) => {
                        for (s, l) in body {
                            let at = s + indent(l).len();
                            if let Some(attr) = column_attribute(text, at)
                                && attr == column
                            {
                                out.push(hit(format!("column {column} of model {class}"), at));
                            }
                        }
                    }
                }
            }
        }
        i = j.max(i + 1);
    }
    core_tables(text, changes, out);
    foreign_keys(text, changes, out);
}

/// The column a class attribute maps: `name = Column(...)`, `name: Mapped[...] =
/// mapped_column(...)`, the first argument when it is a string.
fn column_attribute(text: &str, at: usize) -> Option<String> {
    let name = ident_at(text, at);
    if name.is_empty() || name.starts_with("__") {
        return None;
    }
    let end = line_end(text, at);
    let eq = text[at..end].find('=')? + at;
    let rhs = text[eq + 1..end].trim_start();
    let call = COLUMN_CALLS
        .iter()
        .find(|c| rhs.starts_with(**c) || rhs.starts_with(&format!("db.{c}")) || rhs.starts_with(&format!("sa.{c}")))?;
    let open = eq + 1 + (text[eq + 1..end].len() - rhs.len()) + rhs.find(call)? + call.len() - 1;
    let close = closing(text, open)?;
    let first = arguments(text, open, close).into_iter().next();
    if let Some((None, _, (s, _))) = first
        && let Some((cs, ce)) = string_at(text, s)
    {
        return Some(text[cs..ce].to_string());
    }
    Some(name.to_string())
}

/// `Table("orders", metadata, Column("notes", ...), ...)`.
fn core_tables(text: &str, changes: &[Affected], out: &mut Vec<Hit>) {
    let mut from = 0;
    while let Some(rel) = text[from..].find("Table(") {
        let open = from + rel + 5;
        from = open + 1;
        if text[..open - 5].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let Some(close) = closing(text, open) else { break };
        let args = arguments(text, open, close);
        let Some((None, _, (s, _))) = args.first() else { continue };
        let Some((ts, te)) = string_at(text, *s) else { continue };
        let name = &text[ts..te];
        for (index, a) in changes.iter().enumerate() {
            let Some(confidence) = table_is(a.change.table(), name) else { continue };
            let hit = |what: String, offset: usize| Hit {
                change: index,
                offset,
                source: Source::Sqlalchemy,
                confidence,
                what,
                edit: None,
            };
            match a.change.column() {
                None => out.push(hit(format!("Table {name}"), ts)),
                Some(column) => {
                    for (_, (s, _), _) in args.iter().skip(1) {
                        let arg = &text[*s..];
                        if let Some(p) = arg.strip_prefix("Column(").or_else(|| arg.strip_prefix("sa.Column(")) {
                            let at = *s + (arg.len() - p.len());
                            if let Some((cs, ce)) = string_at(text, at)
                                && &text[cs..ce] == column
                            {
                                out.push(hit(format!("column {column} of Table {name}"), cs));
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `ForeignKey("orders.id")`: a table and a column by name.
fn foreign_keys(text: &str, changes: &[Affected], out: &mut Vec<Hit>) {
    let mut from = 0;
    while let Some(rel) = text[from..].find("ForeignKey(") {
        let at = from + rel + "ForeignKey(".len();
        from = at;
        let Some((s, e)) = string_after(text, at).filter(|(s, _)| *s == at + 1) else { continue };
        let target = &text[s..e];
        let parts: Vec<&str> = target.split('.').collect();
        let (schema, table, column) = match parts.as_slice() {
            [t, c] => (None, *t, *c),
            [s, t, c] => (Some(*s), *t, *c),
            _ => continue,
        };
        for (index, a) in changes.iter().enumerate() {
            let t = a.change.table();
            if t.name != table || schema.is_some_and(|s| s != t.schema) {
                continue;
            }
            let matches = match &a.change {
                AppChange::DropTable { .. } | AppChange::RenameTable { .. } => true,
                change => change.column() == Some(column),
            };
            if matches {
                out.push(Hit {
                    change: index,
                    offset: s,
                    source: Source::Sqlalchemy,
                    confidence: Confidence::High,
                    what: format!("ForeignKey to {target}"),
                    edit: None,
                });
            }
        }
    }
}
