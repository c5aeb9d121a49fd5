//! Prisma schema: `model X { field Type @map("col") … @@map("table") }`. The table is
//! `@@map`, else the model's name; a field's column is `@map`, else its name; fields whose
//! type is another model are relations, not columns. The schema is declarative: drops remove
//! the field (or the model and the relation fields that point to it), renames set `@map` /
//! `@@map` so the client's names stay, retypes change the type and its `@db.` attribute.

use super::{indent, line_end, lines, table_is, type_parts};
use crate::edit::Edit;
use crate::{Affected, Hit, Source};
use cutover_plan::planner::AppChange;

struct Field {
    name: String,
    /// Start of the line and after its break.
    line: (usize, usize),
    name_at: usize,
    /// The type token (with `?` or `[]`) and where it is.
    ty: (usize, String),
    column: String,
    /// `@map("…")`: range of the string's content.
    map: Option<(usize, usize)>,
    /// End of the field's attributes (before a trailing comment and spaces).
    attrs_end: usize,
    /// A `@db.X` or `@db.X(…)` attribute: its range, with the space before it.
    native: Option<(usize, usize)>,
}

struct Model {
    name: String,
    name_at: usize,
    /// From the `model` line's start to after the closing brace's line (and one blank line).
    span: (usize, usize),
    /// Start of the closing brace's line.
    close_line: usize,
    indent: String,
    map: Option<(usize, usize)>,
    fields: Vec<Field>,
    /// `@@index([...])` and friends: (line start, line end, text).
    block_attrs: Vec<(usize, usize, String)>,
}

fn quoted_after(text: &str, at: usize, key: &str) -> Option<(usize, usize)> {
    let rel = text[at..].find(key)?;
    let s = at + rel + key.len();
    let s = s + text[s..].find('"')? + 1;
    let e = s + text[s..].find('"')?;
    Some((s, e))
}

fn models(text: &str) -> Vec<Model> {
    let ls = lines(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < ls.len() {
        let (start, line) = ls[i];
        let t = line.trim_start();
        let Some(rest) = t.strip_prefix("model ") else {
            i += 1;
            continue;
        };
        let name: String = rest.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let name_at = start + (line.len() - t.len()) + 6 + (rest.len() - rest.trim_start().len());
        let mut model = Model {
            name,
            name_at,
            span: (start, text.len()),
            close_line: text.len(),
            indent: "  ".into(),
            map: None,
            fields: Vec::new(),
            block_attrs: Vec::new(),
        };
        let mut j = i + 1;
        let mut first = true;
        while j < ls.len() {
            let (ls_start, l) = ls[j];
            let lt = l.trim();
            if lt.starts_with('}') {
                model.close_line = ls_start;
                let mut end = line_end(text, ls_start);
                if ls.get(j + 1).is_some_and(|(_, n)| n.trim().is_empty()) {
                    end = line_end(text, end);
                }
                model.span.1 = end;
                break;
            }
            if lt.is_empty() || lt.starts_with("//") {
                j += 1;
                continue;
            }
            if first {
                model.indent = indent(l).to_string();
                first = false;
            }
            let code_end = l.find("//").unwrap_or(l.len());
            let code = l[..code_end].trim_end();
            let line = (ls_start, line_end(text, ls_start));
            if lt.starts_with("@@") {
                if lt.starts_with("@@map") {
                    model.map = quoted_after(text, ls_start, "@@map");
                }
                model.block_attrs.push((line.0, line.1, code.trim().to_string()));
            } else {
                let off = ls_start + indent(l).len();
                let mut tokens = code.split_whitespace();
                let (Some(fname), Some(ty)) = (tokens.next(), tokens.next()) else {
                    j += 1;
                    continue;
                };
                let ty_at = off + code.trim()[fname.len()..].find(ty).map(|p| p + fname.len()).unwrap_or(0);
                let map = code.find("@map(").and_then(|p| quoted_after(text, ls_start + p, "@map"));
                let native = code.find("@db.").map(|p| {
                    let s = ls_start + code[..p].trim_end().len();
                    let mut e = ls_start + p + 4;
                    e += text[e..].find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(0);
                    if text[e..].starts_with('(') {
                        e = super::closing(text, e).map(|c| c + 1).unwrap_or(e);
                    }
                    (s, e)
                });
                let column = map.map(|(s, e)| text[s..e].to_string()).unwrap_or_else(|| fname.to_string());
                model.fields.push(Field {
                    name: fname.to_string(),
                    line,
                    name_at: off,
                    ty: (ty_at, ty.to_string()),
                    column,
                    map,
                    attrs_end: ls_start + code.len(),
                    native,
                });
            }
            j += 1;
        }
        out.push(model);
        i = j + 1;
    }
    out
}

fn base_type(ty: &str) -> &str {
    ty.trim_end_matches('?').trim_end_matches("[]")
}

pub fn hits(text: &str, changes: &[Affected], out: &mut Vec<Hit>) {
    let models = models(text);
    let names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
    for model in &models {
        let table = model.map.map(|(s, e)| text[s..e].to_string()).unwrap_or_else(|| model.name.clone());
        for (index, affected) in changes.iter().enumerate() {
            let Some(confidence) = table_is(affected.change.table(), &table) else { continue };
            let hit = |what: String, offset: usize, edit: Option<Edit>| Hit {
                change: index,
                offset,
                source: Source::Prisma,
                confidence,
                what,
                edit,
            };
            match &affected.change {
                AppChange::DropTable { .. } => {
                    out.push(hit(
                        format!("model {} removed", model.name),
                        model.name_at,
                        Some(Edit::delete(model.span.0, model.span.1)),
                    ));
                    // Relation fields of other models that point to it go with it.
                    for other in models.iter().filter(|o| o.name != model.name) {
                        for f in other.fields.iter().filter(|f| base_type(&f.ty.1) == model.name) {
                            out.push(hit(
                                format!("relation field {}.{} to model {} removed", other.name, f.name, model.name),
                                f.name_at,
                                Some(Edit::delete(f.line.0, f.line.1)),
                            ));
                        }
                    }
                }
                AppChange::RenameTable { to, .. } => {
                    let edit = match model.map {
                        Some((s, e)) => Edit::replace(s, e, to.as_str()),
                        None => Edit::insert(model.close_line, format!("\n{}@@map(\"{to}\")\n", model.indent)),
                    };
                    out.push(hit(format!("model {} maps to table {to}", model.name), model.name_at, Some(edit)));
                }
                change => {
                    let column = change.column().unwrap_or_default();
                    for f in model.fields.iter().filter(|f| f.column == column && !names.contains(&base_type(&f.ty.1)))
                    {
                        let (what, edit) = field_edit(text, &model.name, f, change);
                        out.push(hit(what, f.name_at, edit));
                        // A dropped field named in @@index, @@unique or @@id: by hand.
                        if matches!(change, AppChange::DropColumn { .. }) {
                            for (s, _, attr) in &model.block_attrs {
                                let named =
                                    attr.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|w| w == f.name);
                                if named && !attr.starts_with("@@map") {
                                    out.push(hit(
                                        format!("{} names the dropped field {}; update by hand", attr, f.name),
                                        *s + model.indent.len(),
                                        None,
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn field_edit(text: &str, model: &str, f: &Field, change: &AppChange) -> (String, Option<Edit>) {
    match change {
        AppChange::DropColumn { .. } => {
            (format!("field {}.{} removed", model, f.name), Some(Edit::delete(f.line.0, f.line.1)))
        }
        AppChange::RenameColumn { to, .. } => {
            let edit = match f.map {
                Some((s, e)) => Edit::replace(s, e, to.as_str()),
                None => Edit::insert(f.attrs_end, format!(" @map(\"{to}\")")),
            };
            (format!("field {}.{} maps to column {to}", model, f.name), Some(edit))
        }
        AppChange::RetypeColumn { to, .. } => match prisma_type(to) {
            Some((scalar, native)) => {
                // The type token keeps its `?` or `[]`; the native type attribute is replaced
                // (or added at the end of the attributes, or removed).
                let suffix = &f.ty.1[base_type(&f.ty.1).len()..];
                let (ty_at, ty_len) = (f.ty.0, f.ty.1.len());
                let attrs_end = f.attrs_end;
                let mut line = text[ty_at..attrs_end].to_string();
                // Only an attribute after the type and on its line (hostile input may differ).
                if let Some((s, e)) = f.native.filter(|&(s, e)| s >= ty_at + ty_len && e <= attrs_end) {
                    line.replace_range(s - ty_at..e - ty_at, "");
                }
                line.replace_range(0..ty_len, &format!("{scalar}{suffix}"));
                if let Some(n) = &native {
                    line = format!("{} {n}", line.trim_end());
                }
                let what = format!(
                    "field {}.{} becomes {scalar}{}",
                    model,
                    f.name,
                    native.map(|n| format!(" {n}")).unwrap_or_default()
                );
                (what, Some(Edit::replace(ty_at, attrs_end, line)))
            }
            None => (format!("field {}.{}: its type becomes {to}; update by hand", model, f.name), None),
        },
        AppChange::DropTable { .. } | AppChange::RenameTable { .. } => (String::new(), None),
    }
}

/// The Prisma scalar type and native type attribute of a PostgreSQL type (Prisma's default
/// native types need no attribute: `integer`, `bigint`, `text`, `boolean`, `jsonb`,
/// `double precision`, `timestamp(3)`).
fn prisma_type(pg: &str) -> Option<(String, Option<String>)> {
    let (name, mods) = type_parts(pg);
    let with = |scalar: &str, native: &str| Some((scalar.to_string(), Some(native.to_string())));
    match (name.as_str(), mods.as_slice()) {
        ("integer", []) => Some(("Int".into(), None)),
        ("smallint", []) => with("Int", "@db.SmallInt"),
        ("bigint", []) => Some(("BigInt".into(), None)),
        ("text", []) => Some(("String".into(), None)),
        ("character varying", [n]) => with("String", &format!("@db.VarChar({n})")),
        ("character varying", []) => with("String", "@db.VarChar"),
        ("uuid", []) => with("String", "@db.Uuid"),
        ("boolean", []) => Some(("Boolean".into(), None)),
        ("jsonb", []) => Some(("Json".into(), None)),
        ("json", []) => with("Json", "@db.Json"),
        ("double precision", []) => Some(("Float".into(), None)),
        ("real", []) => with("Float", "@db.Real"),
        ("numeric", [p, s]) => with("Decimal", &format!("@db.Decimal({p}, {s})")),
        ("timestamp without time zone", [3]) => Some(("DateTime".into(), None)),
        ("timestamp without time zone", [p]) => with("DateTime", &format!("@db.Timestamp({p})")),
        ("timestamp with time zone", [p]) => with("DateTime", &format!("@db.Timestamptz({p})")),
        ("timestamp with time zone", []) => with("DateTime", "@db.Timestamptz(6)"),
        ("date", []) => with("DateTime", "@db.Date"),
        ("bytea", []) => Some(("Bytes".into(), None)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_plan::planner::PhaseName;
    use cutover_schema::QualName;

    #[test]
    fn a_field_written_out_of_order_does_not_panic() {
        let change = Affected {
            change: AppChange::RetypeColumn {
                table: QualName::new("public", "orders"),
                column: "quantity".into(),
                from: "integer".into(),
                to: "bigint".into(),
            },
            before: PhaseName::Switch,
            after: None,
        };
        let text = "model Order {\n  quantity @db.Integer(4) Int\n  @@map(\"orders\")\n}\n";
        let mut out = Vec::new();
        hits(text, &[change], &mut out);
        let edits: Vec<_> = out.into_iter().filter_map(|h| h.edit.map(|e| (e, h.what))).collect();
        let (edited, _) = crate::edit::apply(text, edits);
        assert_eq!(edited, "model Order {\n  quantity BigInt Int\n  @@map(\"orders\")\n}\n");
    }
}
