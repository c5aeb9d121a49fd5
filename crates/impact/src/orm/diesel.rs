//! Diesel's `schema.rs`: `diesel::table! { [schema.]name (key) { column -> Type, } }`, with
//! `#[sql_name = "…"]` where the Rust name differs. It is declarative: drops remove the
//! column line (or the table's macro, its `joinable!` lines and its entry in
//! `allow_tables_to_appear_in_same_query!`), renames add `#[sql_name]` so the Rust names
//! stay, retypes change the SQL type (inside `Nullable<>`/`Array<>`) and `#[max_length]`.

use super::{closing, indent, line_end, line_start, lines, table_is, type_parts};
use crate::edit::Edit;
use crate::{Affected, Hit, Source};
use cutover_plan::planner::AppChange;

struct Column {
    rust: String,
    sql: String,
    name_at: usize,
    /// From the first attribute line's start to after the column's line.
    span: (usize, usize),
    line_start: usize,
    indent: String,
    sql_name: Option<(usize, usize)>,
    /// The innermost type name's range.
    ty: (usize, usize),
    /// `#[max_length = N]`: the whole line's range and the number's range.
    max_length: Option<((usize, usize), (usize, usize))>,
}

struct Table {
    rust: String,
    sql: String,
    name_at: usize,
    /// The macro invocation's lines (with one blank line after).
    span: (usize, usize),
    line_start: usize,
    indent: String,
    sql_name: Option<(usize, usize)>,
    columns: Vec<Column>,
}

fn sql_name(line: &str, start: usize) -> Option<(usize, usize)> {
    let t = line.trim_start();
    if !t.starts_with("#[sql_name") {
        return None;
    }
    let s = line.find('"')? + 1;
    let e = s + line[s..].find('"')?;
    Some((start + s, start + e))
}

fn tables(text: &str) -> Vec<Table> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(rel) = text[from..].find("table!") {
        let at = from + rel;
        from = at + 6;
        let Some(open) = text[at..].find('{').map(|p| at + p) else { break };
        if !text[at + 6..open].trim().is_empty() {
            continue;
        }
        let Some(close) = closing(text, open) else { break };
        from = close;
        let mut span = (line_start(text, at), line_end(text, close));
        if text[span.1..].starts_with('\n') {
            span.1 += 1;
        }
        if let Some(t) = table(text, open, close, span) {
            out.push(t);
        }
    }
    out
}

fn table(text: &str, open: usize, close: usize, span: (usize, usize)) -> Option<Table> {
    let body = &text[open + 1..close];
    let inner_open = open + 1 + body.find('{')?;
    let inner_close = closing(text, inner_open)?;
    // The table's header: attributes, then `[schema.]name (key) {`.
    let header_line = line_start(text, inner_open);
    let header = &text[header_line..inner_open];
    let name_rel = header.find(|c: char| !c.is_whitespace())?;
    let name_at = header_line + name_rel;
    let path: String = text[name_at..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.').collect();
    let rust = path.rsplit('.').next().unwrap_or(&path).to_string();
    let name_at = name_at + path.len() - rust.len();
    let mut attr_sql = None;
    for (s, l) in lines(&text[open + 1..header_line]) {
        if let Some(n) = sql_name(l, open + 1 + s) {
            attr_sql = Some(n);
        }
    }
    let sql = attr_sql.map(|(s, e)| text[s..e].to_string()).unwrap_or_else(|| rust.clone());
    let mut columns = Vec::new();
    let mut pending: Option<usize> = None;
    let mut pending_sql = None;
    let mut pending_max = None;
    for (s, l) in lines(&text[inner_open + 1..inner_close]) {
        let s = inner_open + 1 + s;
        let t = l.trim();
        if t.starts_with("#[") {
            pending.get_or_insert(s);
            if let Some(n) = sql_name(l, s) {
                pending_sql = Some(n);
            }
            if let Some(rest) = t.strip_prefix("#[max_length") {
                let digits = rest.trim_start_matches([' ', '=']);
                let n = digits.chars().take_while(char::is_ascii_digit).count();
                let ns = s + l.len() - l.trim_start().len() + t.len() - digits.len();
                pending_max = Some(((s, line_end(text, s)), (ns, ns + n)));
            }
            continue;
        }
        let Some(arrow) = l.find("->") else {
            pending = None;
            pending_sql = None;
            pending_max = None;
            continue;
        };
        let rust_col = l[..arrow].trim().to_string();
        let ty_text = &l[arrow + 2..];
        let ty_text = ty_text.trim_end().trim_end_matches(',');
        // The innermost type: after the last `<`, before the first `>`.
        let inner_start = ty_text.rfind('<').map(|p| p + 1).unwrap_or(0);
        let inner_end = ty_text[inner_start..].find('>').map(|p| inner_start + p).unwrap_or(ty_text.len());
        let lead = ty_text[inner_start..inner_end].len() - ty_text[inner_start..inner_end].trim_start().len();
        let ty_s = s + arrow + 2 + inner_start + lead;
        let ty_e = s + arrow + 2 + inner_end
            - (ty_text[inner_start..inner_end].len() - ty_text[inner_start..inner_end].trim_end().len());
        let name_at = s + indent(l).len();
        columns.push(Column {
            sql: pending_sql.map(|(a, b)| text[a..b].to_string()).unwrap_or_else(|| rust_col.clone()),
            rust: rust_col,
            name_at,
            span: (pending.unwrap_or(s), line_end(text, s)),
            line_start: s,
            indent: indent(l).to_string(),
            sql_name: pending_sql,
            ty: (ty_s, ty_e),
            max_length: pending_max,
        });
        pending = None;
        pending_sql = None;
        pending_max = None;
    }
    Some(Table {
        rust,
        sql,
        name_at,
        span,
        line_start: header_line,
        indent: indent(&text[header_line..inner_open]).to_string(),
        sql_name: attr_sql,
        columns,
    })
}

pub fn hits(text: &str, changes: &[Affected], out: &mut Vec<Hit>) {
    let tables = tables(text);
    for t in &tables {
        for (index, affected) in changes.iter().enumerate() {
            let Some(confidence) = table_is(affected.change.table(), &t.sql) else { continue };
            let hit = |what: String, offset: usize, edit: Option<Edit>| Hit {
                change: index,
                offset,
                source: Source::Diesel,
                confidence,
                what,
                edit,
            };
            match &affected.change {
                AppChange::DropTable { .. } => {
                    out.push(hit(
                        format!("table! {} removed", t.rust),
                        t.name_at,
                        Some(Edit::delete(t.span.0, t.span.1)),
                    ));
                    for (s, e, what) in references(text, &t.rust) {
                        out.push(hit(what, s, Some(Edit::delete(s, e))));
                    }
                }
                AppChange::RenameTable { to, .. } => {
                    let edit = match t.sql_name {
                        Some((s, e)) => Edit::replace(s, e, to.as_str()),
                        None => Edit::insert(t.line_start, format!("{}#[sql_name = \"{to}\"]\n", t.indent)),
                    };
                    out.push(hit(format!("table! {} maps to table {to}", t.rust), t.name_at, Some(edit)));
                }
                change => {
                    let column = change.column().unwrap_or_default();
                    for c in t.columns.iter().filter(|c| c.sql == column) {
                        let (what, edit) = column_edit(text, &t.rust, c, change);
                        out.push(hit(what, c.name_at, edit));
                    }
                }
            }
        }
    }
}

/// `joinable!` lines naming the table, and its entry in `allow_tables_to_appear_in_same_query!`:
/// (start, end, what) of the text to delete.
fn references(text: &str, table: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    for (s, l) in lines(text) {
        let t = l.trim_start();
        if t.starts_with("joinable!") || t.starts_with("diesel::joinable!") {
            let words: Vec<&str> = t.split(|c: char| !(c.is_alphanumeric() || c == '_')).collect();
            if words.contains(&table) {
                out.push((s, line_end(text, s), format!("joinable! with {table} removed")));
            }
        }
    }
    if let Some(at) = text.find("allow_tables_to_appear_in_same_query!")
        && let Some(open) = text[at..].find('(').map(|p| at + p)
        && let Some(close) = closing(text, open)
    {
        let b = text.as_bytes();
        let mut i = open + 1;
        while i < close {
            let len = text[i..close].find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(close - i);
            if len > 0
                && &text[i..i + len] == table
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
            {
                // The name, its comma, and the spaces up to the next name (or the whole line
                // when it stands alone on one).
                let mut e = i + len;
                if b.get(e) == Some(&b',') {
                    e += 1;
                }
                let ls = line_start(text, i);
                let le = line_end(text, i);
                let (s, e) = if text[ls..i].trim().is_empty() && text[e..le].trim().is_empty() {
                    (ls, le)
                } else {
                    while e < close && b[e] == b' ' {
                        e += 1;
                    }
                    (i, e)
                };
                out.push((s, e, format!("{table} removed from allow_tables_to_appear_in_same_query!")));
                break;
            }
            i += len.max(1);
        }
    }
    out
}

fn column_edit(text: &str, table: &str, c: &Column, change: &AppChange) -> (String, Option<Edit>) {
    match change {
        AppChange::DropColumn { .. } => {
            (format!("column {table}::{} removed", c.rust), Some(Edit::delete(c.span.0, c.span.1)))
        }
        AppChange::RenameColumn { to, .. } => {
            let edit = match c.sql_name {
                Some((s, e)) => Edit::replace(s, e, to.as_str()),
                None => Edit::insert(c.line_start, format!("{}#[sql_name = \"{to}\"]\n", c.indent)),
            };
            (format!("column {table}::{} maps to column {to}", c.rust), Some(edit))
        }
        AppChange::RetypeColumn { to, .. } => match diesel_type(to) {
            Some((ty, max)) => {
                // One edit from the attributes to the type, so it never overlaps another.
                let mut region = text[c.span.0..c.ty.1].to_string();
                let base = c.span.0;
                region.replace_range(c.ty.0 - base..c.ty.1 - base, ty);
                match (c.max_length, max) {
                    (Some((_, (ns, ne))), Some(n)) => region.replace_range(ns - base..ne - base, &n.to_string()),
                    (Some(((ls, le), _)), None) => region.replace_range(ls - base..le - base, ""),
                    (None, Some(n)) => {
                        let at = c.line_start - base;
                        region.insert_str(at, &format!("{}#[max_length = {n}]\n", c.indent));
                    }
                    (None, None) => {}
                }
                (format!("column {table}::{} becomes {ty}", c.rust), Some(Edit::replace(c.span.0, c.ty.1, region)))
            }
            None => (format!("column {table}::{}: its type becomes {to}; update by hand", c.rust), None),
        },
        AppChange::DropTable { .. } | AppChange::RenameTable { .. } => (String::new(), None),
    }
}

/// Diesel's SQL type for a PostgreSQL type, and its `max_length`.
fn diesel_type(pg: &str) -> Option<(&'static str, Option<u32>)> {
    let (name, mods) = type_parts(pg);
    Some(match name.as_str() {
        "smallint" => ("Int2", None),
        "integer" => ("Int4", None),
        "bigint" => ("Int8", None),
        "text" => ("Text", None),
        "character varying" => ("Varchar", mods.first().copied()),
        "boolean" => ("Bool", None),
        "timestamp with time zone" => ("Timestamptz", None),
        "timestamp without time zone" => ("Timestamp", None),
        "date" => ("Date", None),
        "time without time zone" => ("Time", None),
        "interval" => ("Interval", None),
        "numeric" => ("Numeric", None),
        "uuid" => ("Uuid", None),
        "jsonb" => ("Jsonb", None),
        "json" => ("Json", None),
        "double precision" => ("Float8", None),
        "real" => ("Float4", None),
        "bytea" => ("Bytea", None),
        "inet" => ("Inet", None),
        _ => return None,
    })
}
