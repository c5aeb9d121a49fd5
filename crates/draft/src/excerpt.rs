//! The part of the live schema a proposal needs: the tables an issue names (or implies, as
//! `customer_id` implies `customers`), their neighbours through foreign keys in both
//! directions, and their sizes; rendered as the SQL that creates them.

use std::collections::BTreeSet;

use cutover_plan::{DiffOptions, diff};
use cutover_schema::{Catalog, QualName};

/// The most tables an excerpt shows in full.
pub const MAX_TABLES: usize = 12;
/// The most other table names it lists.
pub const MAX_OTHER_NAMES: usize = 100;

/// What the model is shown of the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excerpt {
    /// The tables shown, in order: named first, then neighbours.
    pub tables: Vec<QualName>,
    /// The SQL that creates them (columns, keys, indexes), each table headed by a comment with
    /// its row estimate and size.
    pub sql: String,
    /// The names of the other tables (at most [`MAX_OTHER_NAMES`]).
    pub other_tables: Vec<QualName>,
}

impl Excerpt {
    pub fn new(catalog: &Catalog, text: &str) -> Excerpt {
        let tables = relevant_tables(catalog, text);
        let sql = render(catalog, &tables);
        let other_tables =
            catalog.tables.keys().filter(|t| !tables.contains(t)).take(MAX_OTHER_NAMES).cloned().collect();
        Excerpt { tables, sql, other_tables }
    }
}

/// The tables `text` names or implies, then their foreign-key neighbours, at most
/// [`MAX_TABLES`]. When it names none, every table of a small schema (none of a large one).
pub fn relevant_tables(catalog: &Catalog, text: &str) -> Vec<QualName> {
    let words = words(text);
    let mut named: Vec<QualName> = Vec::new();
    for name in catalog.tables.keys() {
        let table = name.name.to_lowercase();
        let qualified = format!("{}.{}", name.schema.to_lowercase(), table);
        let hit = words.iter().any(|w| {
            *w == table
                || *w == qualified
                || same_noun(w, &table)
                || w.strip_suffix("_id").is_some_and(|s| same_noun(s, &table) || s == table)
        });
        if hit {
            named.push(name.clone());
        }
    }
    if named.is_empty() {
        return if catalog.tables.len() <= MAX_TABLES { catalog.tables.keys().cloned().collect() } else { Vec::new() };
    }
    let mut neighbours: BTreeSet<QualName> = BTreeSet::new();
    for (name, table) in &catalog.tables {
        for constraint in table.constraints.values() {
            let Some(fk) = &constraint.foreign_key else { continue };
            if named.contains(name) {
                neighbours.insert(fk.referenced_table.clone());
            }
            if named.contains(&fk.referenced_table) {
                neighbours.insert(name.clone());
            }
        }
    }
    let mut tables = named.clone();
    tables.extend(neighbours.into_iter().filter(|n| !named.contains(n) && catalog.tables.contains_key(n)));
    tables.truncate(MAX_TABLES);
    tables
}

/// Lowercase words of identifier characters; a dotted name gives itself and its parts.
fn words(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.')) {
        let word = word.trim_matches('.').to_lowercase();
        if word.is_empty() {
            continue;
        }
        for part in word.split('.') {
            out.insert(part.to_string());
        }
        out.insert(word);
    }
    out
}

/// `order` and `orders`, `category` and `categories`, `box` and `boxes`.
fn same_noun(word: &str, table: &str) -> bool {
    let plural = |s: &str| -> Vec<String> {
        let mut forms = vec![format!("{s}s"), format!("{s}es")];
        if let Some(stem) = s.strip_suffix('y') {
            forms.push(format!("{stem}ies"));
        }
        forms
    };
    !word.is_empty() && (plural(word).iter().any(|p| p == table) || plural(table).iter().any(|p| p == word))
}

/// The SQL that creates `tables` on top of the rest of the schema's types and sequences,
/// each table preceded by its size.
fn render(catalog: &Catalog, tables: &[QualName]) -> String {
    let mut base = catalog.clone();
    base.tables.clear();
    base.views.clear();
    base.functions.clear();
    base.statistics.clear();
    base.dependencies.clear();
    let mut with = base.clone();
    for name in tables {
        if let Some(table) = catalog.tables.get(name) {
            with.tables.insert(name.clone(), table.clone());
        }
    }
    let changes = diff(&base, &with, &DiffOptions::default()).changes;
    let mut out = String::new();
    for change in changes {
        // Each table is headed by its size, from the live database's statistics.
        if let cutover_sql::ddl::Stmt::CreateTable { name, .. } = &change.stmt {
            let facts = catalog.facts.tables.get(name);
            let rows = facts
                .and_then(|f| f.rows)
                .map_or("rows unknown (never analyzed)".to_string(), |r| format!("~{r} rows"));
            // (A name with a line break must not end the comment.)
            let name: String = name.to_string().chars().map(|c| if c.is_control() { '?' } else { c }).collect();
            out.push_str(&format!("-- {name}: {rows}, {}\n", size(facts.map_or(0, |f| f.bytes))));
        }
        out.push_str(&change.sql());
        out.push_str(";\n");
    }
    out
}

fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} bytes") } else { format!("{value:.0} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nouns_in_either_number() {
        assert!(same_noun("order", "orders"));
        assert!(same_noun("orders", "order"));
        assert!(same_noun("category", "categories"));
        assert!(same_noun("box", "boxes"));
        assert!(!same_noun("user", "users_archive"));
    }

    #[test]
    fn words_split_dotted_names() {
        let w = words("An index on orders.customer_id, please.");
        assert!(w.contains("orders") && w.contains("customer_id") && w.contains("orders.customer_id"));
        assert!(w.contains("please"));
    }

    #[test]
    fn sizes_read_like_psql() {
        assert_eq!(size(0), "0 bytes");
        assert_eq!(size(8192), "8 kB");
        assert_eq!(size(96 * 1024 * 1024), "96 MB");
    }
}
