//! TypeORM entities: `@Entity("table")` (or `@Entity()`, whose table is the class name in
//! snake case) and column decorators (`@Column`, `@PrimaryColumn`, `@JoinColumn`, …) with
//! `name: "column"` or the property's name. Entities are code: findings, never edits.

use super::{closing, ident_at, snake, table_is};
use crate::{Affected, Confidence, Hit, Source};

const DECORATORS: [&str; 8] = [
    "@Column(",
    "@PrimaryColumn(",
    "@PrimaryGeneratedColumn(",
    "@CreateDateColumn(",
    "@UpdateDateColumn(",
    "@DeleteDateColumn(",
    "@VersionColumn(",
    "@JoinColumn(",
];

/// The value of `name: "…"` in a decorator's arguments, or its first string argument when
/// `first` (as `@Entity("orders")`).
fn name_option(args: &str, first: bool) -> Option<String> {
    let quoted = |s: &str| -> Option<String> {
        let s = s.trim_start();
        let q = s.chars().next().filter(|c| matches!(c, '"' | '\'' | '`'))?;
        s[1..].find(q).map(|e| s[1..1 + e].to_string())
    };
    if first && let Some(n) = quoted(args) {
        return Some(n);
    }
    let mut from = 0;
    while let Some(p) = args[from..].find("name") {
        let at = from + p;
        let before = args[..at].chars().last();
        let rest = args[at + 4..].trim_start();
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && let Some(r) = rest.strip_prefix(':')
        {
            return quoted(r);
        }
        from = at + 4;
    }
    None
}

pub fn hits(text: &str, changes: &[Affected], out: &mut Vec<Hit>) {
    let mut from = 0;
    while let Some(rel) = text[from..].find("@Entity(") {
        let at = from + rel;
        let open = at + "@Entity".len();
        let Some(close) = closing(text, open) else { return };
        let Some(class_rel) = text[close..].find("class ") else { return };
        let class_at = close + class_rel + 6;
        let class = ident_at(text, class_at).to_string();
        let (table, confidence, table_at) = match name_option(&text[open + 1..close], true) {
            Some(t) => (t, Confidence::High, open + 1),
            None => (snake(&class), Confidence::Medium, class_at),
        };
        let Some(body_open) = text[class_at..].find('{').map(|p| class_at + p) else { return };
        let Some(body_close) = closing(text, body_open) else { return };
        from = body_close;
        for (index, a) in changes.iter().enumerate() {
            let Some(c) = table_is(a.change.table(), &table) else { continue };
            let confidence = confidence.min(c);
            let Some(column) = a.change.column() else {
                out.push(Hit {
                    change: index,
                    offset: table_at,
                    source: Source::Typeorm,
                    confidence,
                    what: format!("entity {class} (table {table})"),
                    edit: None,
                });
                continue;
            };
            for (decorator_at, name, property, property_at) in columns(text, body_open, body_close) {
                let c = match &name {
                    Some(n) if n == column => confidence,
                    Some(_) => continue,
                    None if property == column => confidence,
                    // A snake-case naming strategy maps `fullName` to `full_name`.
                    None if snake(&property) == column => Confidence::Medium.min(confidence),
                    None => continue,
                };
                let offset = if name.is_some() { decorator_at } else { property_at };
                out.push(Hit {
                    change: index,
                    offset,
                    source: Source::Typeorm,
                    confidence: c,
                    what: format!("property {property} of entity {class}"),
                    edit: None,
                });
            }
        }
    }
}

/// Each column decorator in a class body: (its offset, its `name` option, the property it
/// decorates and where that is).
fn columns(text: &str, open: usize, close: usize) -> Vec<(usize, Option<String>, String, usize)> {
    let mut out = Vec::new();
    let mut at = open;
    while at < close {
        let next = DECORATORS.iter().filter_map(|d| text[at..close].find(d).map(|p| (at + p, d.len()))).min();
        let Some((d, len)) = next else { break };
        let paren = d + len - 1;
        // A decorator must close inside the class body (hostile input may not).
        let Some(end) = closing(text, paren).filter(|&e| e < close) else { break };
        let name = name_option(&text[paren + 1..end], false);
        // Skip other decorators up to the property.
        let mut p = end + 1;
        loop {
            p += text[p..close].find(|c: char| !c.is_whitespace()).unwrap_or(0);
            if text[p..].starts_with('@') {
                let q = text[p..close].find('(').map(|x| p + x);
                p = q.and_then(|q| closing(text, q)).map(|c| c + 1).unwrap_or(close).min(close);
                continue;
            }
            break;
        }
        let mut prop_at = p;
        for kw in ["public ", "private ", "protected ", "readonly "] {
            if text[prop_at..].starts_with(kw) {
                prop_at += kw.len();
            }
        }
        let property = ident_at(text, prop_at).to_string();
        let decorator = if text[d..].starts_with("@JoinColumn") && name.is_none() {
            // A join column without a name is `<property>Id` in TypeORM's default strategy.
            Some(format!("{property}Id"))
        } else {
            name
        };
        out.push((d, decorator, property, prop_at));
        at = end + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_plan::planner::{AppChange, PhaseName};
    use cutover_schema::QualName;

    #[test]
    fn unclosed_decorators_end_the_class() {
        let change = Affected {
            change: AppChange::DropColumn { table: QualName::new("public", "orders"), column: "notes".into() },
            before: PhaseName::Contract,
            after: None,
        };
        for text in [
            "@Entity(\"orders\")\nclass Order {\n  @Column() notes: string;\n  @Column(\n}\n)",
            "@Entity(\"orders\")\nclass Order {\n  @Column() @Index(\n}\n) notes: string;",
        ] {
            let mut out = Vec::new();
            hits(text, std::slice::from_ref(&change), &mut out);
            assert!(out.len() <= 1, "{text}");
        }
    }
}
