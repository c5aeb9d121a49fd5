//! Django models: `class X(models.Model)` with field assignments and `class Meta: db_table`.
//! The table is `db_table`, else `<app label>_<model name in lower case>` (the app label is
//! the directory of `models.py`); a field's column is `db_column`, else its name (with
//! `_id` for `ForeignKey` and `OneToOneField`). Model fields are declarative: drops remove
//! the field, renames set `db_column` (or `db_table`) so the Python names stay, retypes
//! change the field class and its size arguments.

use super::{arguments, closing, ident_at, indent, line_end, line_start, lines, string_at, table_is, type_parts};
use crate::edit::Edit;
use crate::{Affected, Confidence, Hit, Source};
use cutover_plan::planner::AppChange;

pub fn is_models_file(path: &str) -> bool {
    path == "models.py" || path.ends_with("/models.py") || path.contains("/models/") || path.starts_with("models/")
}

struct Field {
    name: String,
    name_at: usize,
    class: String,
    class_at: usize,
    open: usize,
    close: usize,
    /// The statement's lines: start of the first, end (after the break) of the last.
    span: (usize, usize),
    column: Option<String>,
}

struct Model {
    name: String,
    name_at: usize,
    /// After the last line of the body.
    body_end: usize,
    body_indent: String,
    /// Start and end of the whole class, with the blank lines after it.
    span: (usize, usize),
    db_table: Option<(usize, usize)>,
    /// Offset where the Meta body starts and its indent, when there is a Meta.
    meta: Option<(usize, String)>,
    abstract_: bool,
    fields: Vec<Field>,
}

fn app_label(path: &str) -> Option<&str> {
    let dirs: Vec<&str> = path.split('/').collect();
    let n = dirs.len();
    if path.ends_with("/models.py") && n >= 2 {
        return Some(dirs[n - 2]);
    }
    let i = dirs.iter().rposition(|d| *d == "models")?;
    i.checked_sub(1).map(|p| dirs[p])
}

const RELATIONS: [&str; 2] = ["ForeignKey", "OneToOneField"];

fn models(text: &str) -> Vec<Model> {
    let ls = lines(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < ls.len() {
        let (start, line) = ls[i];
        let Some(rest) = line.strip_prefix("class ") else {
            i += 1;
            continue;
        };
        let name = ident_at(rest, 0).to_string();
        let name_at = start + 6;
        // The body: the lines after, more indented than the class, or blank.
        let mut j = i + 1;
        let mut last = i;
        while j < ls.len() {
            let l = ls[j].1;
            if l.trim().is_empty() {
                j += 1;
                continue;
            }
            if indent(l).is_empty() {
                break;
            }
            last = j;
            j += 1;
        }
        let body_end = line_end(text, ls[last].0);
        let span_end = if j < ls.len() { ls[j].0 } else { text.len() };
        let body_indent = ls
            .get(i + 1..=last)
            .and_then(|b| b.iter().find(|(_, l)| !l.trim().is_empty()))
            .map(|(_, l)| indent(l).to_string())
            .unwrap_or_else(|| "    ".into());
        let mut model = Model {
            name,
            name_at,
            body_end,
            body_indent: body_indent.clone(),
            span: (start, span_end),
            db_table: None,
            meta: None,
            abstract_: false,
            fields: Vec::new(),
        };
        let mut k = i + 1;
        while k <= last {
            let (ls_start, l) = ls[k];
            if indent(l) != body_indent {
                k += 1;
                continue;
            }
            let t = l.trim_start();
            if t.starts_with("class Meta") {
                let meta_indent = ls
                    .get(k + 1..=last)
                    .and_then(|b| b.iter().find(|(_, l)| !l.trim().is_empty()))
                    .map(|(_, l)| indent(l).to_string())
                    .unwrap_or_default();
                if meta_indent.len() > body_indent.len() {
                    model.meta = Some((line_end(text, ls_start), meta_indent.clone()));
                }
                let mut m = k + 1;
                while m <= last && (ls[m].1.trim().is_empty() || indent(ls[m].1).len() > body_indent.len()) {
                    let ml = ls[m].1.trim();
                    if let Some(v) = ml.strip_prefix("db_table") {
                        let v = v.trim_start();
                        if let Some(v) = v.strip_prefix('=') {
                            let at = ls[m].0 + ls[m].1.len() - v.trim_start().len();
                            model.db_table = string_at(text, at);
                        }
                    }
                    if ml.replace(' ', "") == "abstract=True" {
                        model.abstract_ = true;
                    }
                    m += 1;
                }
                k = m;
                continue;
            }
            if let Some(f) = field(text, ls_start + indent(l).len()) {
                k = ls.iter().position(|(s, _)| *s >= f.span.1).unwrap_or(ls.len());
                model.fields.push(f);
                continue;
            }
            k += 1;
        }
        if !model.fields.is_empty() || model.db_table.is_some() {
            out.push(model);
        }
        i = j;
    }
    out
}

/// A field assignment starting at `at`: `name = models.Class(...)` (or `name = Class(...)`).
fn field(text: &str, at: usize) -> Option<Field> {
    let name = ident_at(text, at).to_string();
    if name.is_empty() {
        return None;
    }
    let rest = &text[at + name.len()..];
    let eq = rest.find(|c: char| !c.is_whitespace())?;
    if !rest[eq..].starts_with('=') || rest[eq..].starts_with("==") {
        return None;
    }
    let after_eq = at + name.len() + eq + 1;
    let expr_at = after_eq + text[after_eq..].find(|c: char| !c.is_whitespace())?;
    let head: String = text[expr_at..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.').collect();
    let class = head.rsplit('.').next().unwrap_or("").to_string();
    let is_field = class.ends_with("Field") || RELATIONS.contains(&class.as_str()) || class == "ManyToManyField";
    if !is_field || !text[expr_at + head.len()..].starts_with('(') {
        return None;
    }
    let class_at = expr_at + head.len() - class.len();
    let open = expr_at + head.len();
    let close = closing(text, open)?;
    let mut column = None;
    for (kw, _, value) in arguments(text, open, close) {
        if kw.as_deref() == Some("db_column") {
            column = string_at(text, value.0).map(|(s, e)| text[s..e].to_string());
        }
    }
    let column = match column {
        Some(c) => Some(c),
        None if class == "ManyToManyField" => None,
        None if RELATIONS.contains(&class.as_str()) => Some(format!("{name}_id")),
        None => Some(name.clone()),
    };
    Some(Field {
        name,
        name_at: at,
        class,
        class_at,
        open,
        close,
        span: (line_start(text, at), line_end(text, close)),
        column,
    })
}

/// A Django model as other files use it: its class, table and fields with their columns.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    pub class: String,
    pub table: String,
    pub fields: Vec<(String, String)>,
}

/// The concrete models of a models file.
pub fn model_infos(path: &str, text: &str) -> Vec<ModelInfo> {
    let label = app_label(path);
    models(text)
        .into_iter()
        .filter(|m| !m.abstract_)
        .filter_map(|m| {
            let table = match (m.db_table, label) {
                (Some((s, e)), _) => text[s..e].to_string(),
                (None, Some(label)) => format!("{}_{}", label, m.name.to_lowercase()),
                (None, None) => return None,
            };
            let fields = m.fields.iter().filter_map(|f| Some((f.name.clone(), f.column.clone()?))).collect();
            Some(ModelInfo { class: m.name, table, fields })
        })
        .collect()
}

/// Query methods whose keyword arguments are field lookups.
const LOOKUP_CALLS: [&str; 9] =
    ["filter", "exclude", "get", "update", "create", "get_or_create", "update_or_create", "annotate", "Q"];
/// Calls whose string arguments name fields.
const FIELD_NAME_CALLS: [&str; 7] = ["values", "values_list", "only", "defer", "order_by", "F", "distinct"];

/// Uses of a dropped model field in Python code through the ORM: lookups (`notes__isnull`,
/// `filter(notes=…)`) and field names in strings (`values("notes")`, `order_by("-notes")`,
/// `update_fields=["notes"]`), in files that name the model's class. Medium confidence
/// (another model the file uses may have a field of that name: then low).
pub fn lookup_hits(text: &str, models: &[ModelInfo], changes: &[Affected], out: &mut Vec<Hit>) {
    let code = crate::scan::code_only(text, crate::scan::Lang::Python);
    let used: Vec<&ModelInfo> =
        models.iter().filter(|m| word_positions(&code, &m.class, true).next().is_some()).collect();
    for (index, affected) in changes.iter().enumerate() {
        // Only a dropped field breaks ORM code: a renamed column keeps its field name (the
        // model maps it with db_column), a retyped one its lookups.
        let AppChange::DropColumn { column, .. } = &affected.change else { continue };
        for model in used.iter().filter(|m| table_is(affected.change.table(), &m.table).is_some()) {
            for (field, _) in model.fields.iter().filter(|(_, c)| c == column) {
                let shared = used.iter().filter(|m| m.fields.iter().any(|(f, _)| f == field)).count() > 1;
                let confidence = if shared { Confidence::Low } else { Confidence::Medium };
                let mut hit = |offset: usize, how: &str| {
                    out.push(Hit {
                        change: index,
                        offset,
                        source: Source::Django,
                        confidence,
                        what: format!("{how} of {}.{field}", model.class),
                        edit: None,
                    })
                };
                for at in word_positions(&code, field, false) {
                    let rest = &code[at + field.len()..];
                    let keyword = rest.trim_start().starts_with('=')
                        && !rest.trim_start().starts_with("==")
                        && enclosing_call(&code, at).is_some_and(|c| LOOKUP_CALLS.contains(&c));
                    if rest.starts_with("__") || keyword {
                        hit(at, "ORM lookup");
                    }
                }
                for group in crate::scan::groups(text, crate::scan::Lang::Python) {
                    for part in &group.parts {
                        let name = part.text.trim_start_matches('-');
                        if name != field {
                            continue;
                        }
                        let open = part.start.saturating_sub(1);
                        let before = code[..open].trim_end();
                        let in_call = enclosing_call(&code, open).is_some_and(|c| FIELD_NAME_CALLS.contains(&c));
                        if in_call || before.ends_with("update_fields=[") || before.ends_with("update_fields=(") {
                            hit(part.start, "field name");
                        }
                    }
                }
            }
        }
    }
}

/// Offsets where `word` occurs as a whole identifier (or followed by a `__` lookup); after
/// a `.` too when `attribute`.
fn word_positions<'a>(code: &'a str, word: &'a str, attribute: bool) -> impl Iterator<Item = usize> + 'a {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(word).map(|(i, _)| i).filter(move |&i| {
        let before = code[..i].chars().next_back();
        let rest = &code[i + word.len()..];
        !before.is_some_and(|c| ident(c) || (c == '.' && !attribute))
            && (rest.starts_with("__") || !rest.chars().next().is_some_and(ident))
    })
}

/// The name of the call whose parentheses hold `at` (`filter` in `x.filter(a=1)`).
fn enclosing_call(code: &str, at: usize) -> Option<&str> {
    let b = code.as_bytes();
    let mut depth = 0i32;
    let mut i = at;
    while i > 0 {
        i -= 1;
        match b[i] {
            b')' | b']' | b'}' => depth += 1,
            b'(' if depth == 0 => {
                let name_end = code[..i].trim_end().len();
                let start = code[..name_end]
                    .char_indices()
                    .rev()
                    .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
                    .map(|(p, c)| p + c.len_utf8())
                    .unwrap_or(0);
                return Some(&code[start..name_end]);
            }
            b'[' | b'{' if depth == 0 => return None,
            b'(' | b'[' | b'{' => depth -= 1,
            _ => {}
        }
    }
    None
}

pub fn hits(path: &str, text: &str, changes: &[Affected], out: &mut Vec<Hit>) {
    let label = app_label(path);
    for model in models(text) {
        if model.abstract_ {
            continue;
        }
        let (table, explicit) = match (model.db_table, label) {
            (Some((s, e)), _) => (text[s..e].to_string(), true),
            (None, Some(label)) => (format!("{}_{}", label, model.name.to_lowercase()), false),
            (None, None) => continue,
        };
        for (index, affected) in changes.iter().enumerate() {
            let Some(mut confidence) = table_is(affected.change.table(), &table) else { continue };
            if !explicit {
                // The default name assumes the app's label is its directory.
                confidence = confidence.min(Confidence::Medium);
            }
            let hit = |what: String, offset: usize, edit: Option<Edit>| Hit {
                change: index,
                offset,
                source: Source::Django,
                confidence,
                what,
                edit,
            };
            match &affected.change {
                AppChange::DropTable { .. } => {
                    // The class and the blank lines after it; at the end of the file, the
                    // blank lines before it instead.
                    let (mut start, end) = model.span;
                    if end == text.len() {
                        start = text[..start].trim_end().len();
                        start = if start == 0 { 0 } else { start + 1 };
                    }
                    out.push(hit(
                        format!("model {} (table {table}) removed", model.name),
                        model.name_at,
                        Some(Edit::delete(start, end)),
                    ));
                }
                AppChange::RenameTable { to, .. } => {
                    let edit = match (model.db_table, &model.meta) {
                        (Some((s, e)), _) => Edit::replace(s, e, to.as_str()),
                        (None, Some((at, meta_indent))) => {
                            Edit::insert(*at, format!("{meta_indent}db_table = \"{to}\"\n"))
                        }
                        (None, None) => Edit::insert(
                            model.body_end,
                            format!("\n{i}class Meta:\n{i}{i}db_table = \"{to}\"\n", i = model.body_indent),
                        ),
                    };
                    out.push(hit(format!("model {} maps to table {to}", model.name), model.name_at, Some(edit)));
                }
                change => {
                    let column = change.column().unwrap_or_default();
                    for f in model.fields.iter().filter(|f| f.column.as_deref() == Some(column)) {
                        let (what, edit) = column_edit(text, &model.name, f, change);
                        out.push(hit(what, f.name_at, edit));
                    }
                }
            }
        }
    }
}

fn column_edit(text: &str, model: &str, f: &Field, change: &AppChange) -> (String, Option<Edit>) {
    match change {
        AppChange::DropColumn { .. } => {
            (format!("field {} of model {model} removed", f.name), Some(Edit::delete(f.span.0, f.span.1)))
        }
        AppChange::RenameColumn { to, .. } => {
            let what = format!("field {} of model {model} maps to column {to}", f.name);
            (what, Some(set_keyword(text, f, "db_column", &format!("\"{to}\""), true)))
        }
        AppChange::RetypeColumn { to, .. } => match django_type(to) {
            Some((class, kwargs)) if !RELATIONS.contains(&f.class.as_str()) => {
                // One edit per field: the class and its size arguments rewritten together
                // over the call's head and arguments.
                let mut new = String::new();
                new.push_str(&class);
                let mut call = text[f.class_at + f.class.len()..=f.close].to_string();
                let base = f.class_at + f.class.len();
                let mut edits: Vec<Edit> = kwargs.iter().map(|(k, v)| set_keyword(text, f, k, v, false)).collect();
                edits.sort_by_key(|e| std::cmp::Reverse(e.start));
                for e in edits {
                    call.replace_range(e.start - base..e.end - base, &e.text);
                }
                new.push_str(&call);
                let args: Vec<String> = kwargs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let what = format!("field {} of model {model} becomes {class}({})", f.name, args.join(", "));
                (what, Some(Edit::replace(f.class_at, f.close + 1, new)))
            }
            _ => (
                format!("field {} of model {model} ({}): its type becomes {to}; update by hand", f.name, f.class),
                None,
            ),
        },
        AppChange::DropTable { .. } | AppChange::RenameTable { .. } => (String::new(), None),
    }
}

/// Sets keyword argument `key` of the field's call to `value`: replaces the value when the
/// keyword is there (a string's content only when `string`), adds it otherwise.
fn set_keyword(text: &str, f: &Field, key: &str, value: &str, string: bool) -> Edit {
    let args = arguments(text, f.open, f.close);
    if let Some((_, _, (s, e))) = args.iter().find(|(k, _, _)| k.as_deref() == Some(key)) {
        if string && let Some((cs, ce)) = string_at(text, *s) {
            return Edit::replace(cs, ce, value.trim_matches('"'));
        }
        return Edit::replace(*s, *e, value);
    }
    let inner = &text[f.open + 1..f.close];
    if inner.trim().is_empty() {
        return Edit::insert(f.close, format!("{key}={value}"));
    }
    let last = f.open + 1 + inner.trim_end().len();
    if text[..last].ends_with(',') {
        // A call with one argument per line and a trailing comma: a new line like the last.
        let last_line = line_start(text, last);
        let pad = indent(&text[last_line..last]);
        if text[last..f.close].contains('\n') {
            return Edit::insert(last, format!("\n{pad}{key}={value},"));
        }
        return Edit::insert(last, format!(" {key}={value}"));
    }
    Edit::insert(last, format!(", {key}={value}"))
}

/// The Django field class and size arguments of a PostgreSQL type.
fn django_type(pg: &str) -> Option<(String, Vec<(String, String)>)> {
    let (name, mods) = type_parts(pg);
    let class = match name.as_str() {
        "smallint" => "SmallIntegerField",
        "integer" => "IntegerField",
        "bigint" => "BigIntegerField",
        "text" => "TextField",
        "character varying" if mods.len() == 1 => {
            return Some(("CharField".into(), vec![("max_length".into(), mods[0].to_string())]));
        }
        "boolean" => "BooleanField",
        "timestamp with time zone" => "DateTimeField",
        "date" => "DateField",
        "time without time zone" => "TimeField",
        "interval" => "DurationField",
        "uuid" => "UUIDField",
        "jsonb" => "JSONField",
        "double precision" => "FloatField",
        "bytea" => "BinaryField",
        "inet" => "GenericIPAddressField",
        "numeric" if mods.len() == 2 => {
            return Some((
                "DecimalField".into(),
                vec![("max_digits".into(), mods[0].to_string()), ("decimal_places".into(), mods[1].to_string())],
            ));
        }
        _ => return None,
    };
    Some((class.into(), Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_labels_come_from_the_directory() {
        assert_eq!(app_label("shop/models.py"), Some("shop"));
        assert_eq!(app_label("src/shop/models/order.py"), Some("shop"));
        assert_eq!(app_label("models.py"), None);
    }

    fn edited(text: &str, changes: Vec<AppChange>) -> String {
        use cutover_plan::planner::PhaseName;
        let changes: Vec<Affected> =
            changes.into_iter().map(|change| Affected { change, before: PhaseName::Contract, after: None }).collect();
        let mut hits = Vec::new();
        super::hits("shop/models.py", text, &changes, &mut hits);
        let edits = hits.into_iter().filter_map(|h| h.edit.map(|e| (e, h.what))).collect();
        crate::edit::apply(text, edits).0
    }

    #[test]
    fn renames_without_meta_or_db_column_add_them() {
        use cutover_schema::QualName;
        let text = "class Order(models.Model):\n    notes = models.TextField(\n        null=True,\n    )\n    kind = models.CharField(max_length=5)\n\n\nclass Other(models.Model):\n    notes = models.TextField()\n";
        let table = QualName::new("public", "shop_order");
        let out = edited(
            text,
            vec![
                AppChange::RenameTable { table: table.clone(), to: "orders".into() },
                AppChange::RenameColumn { table: table.clone(), column: "notes".into(), to: "remarks".into() },
                AppChange::RetypeColumn {
                    table,
                    column: "kind".into(),
                    from: "character varying(5)".into(),
                    to: "character varying(9)".into(),
                },
            ],
        );
        assert_eq!(
            out,
            "class Order(models.Model):\n    notes = models.TextField(\n        null=True,\n        db_column=\"remarks\",\n    )\n    kind = models.CharField(max_length=9)\n\n    class Meta:\n        db_table = \"orders\"\n\n\nclass Other(models.Model):\n    notes = models.TextField()\n"
        );
    }

    #[test]
    fn types_map_to_fields() {
        assert_eq!(django_type("bigint"), Some(("BigIntegerField".into(), vec![])));
        assert_eq!(
            django_type("character varying(200)"),
            Some(("CharField".into(), vec![("max_length".into(), "200".into())]))
        );
        assert_eq!(django_type("public.mood"), None);
    }
}
