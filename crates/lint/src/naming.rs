//! Naming conventions for the `naming-convention` rule: what the existing schema follows
//! (detected from the live catalog) unless `[lint.naming]` in cutover.toml says otherwise.
//! Nothing is checked without evidence: no catalog and no configuration means no convention.

use cutover_schema::{Catalog, ConstraintKind};

/// How the words of an identifier are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Case {
    /// `order_items`
    Snake,
    /// `orderItems`
    Camel,
    /// `OrderItems`
    Pascal,
}

impl Case {
    pub fn parse(s: &str) -> Option<Case> {
        match s {
            "snake" | "snake_case" => Some(Case::Snake),
            "camel" | "camelCase" => Some(Case::Camel),
            "pascal" | "PascalCase" => Some(Case::Pascal),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Case::Snake => "snake_case",
            Case::Camel => "camelCase",
            Case::Pascal => "PascalCase",
        }
    }

    /// Whether `name` is written in this case (a single lower-case word is both snake_case
    /// and camelCase).
    pub fn fits(self, name: &str) -> bool {
        let mut chars = name.chars();
        let Some(first) = chars.next() else { return false };
        match self {
            Case::Snake => {
                (first.is_ascii_lowercase() || first == '_')
                    && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            }
            Case::Camel => first.is_ascii_lowercase() && name.chars().all(|c| c.is_ascii_alphanumeric()),
            Case::Pascal => first.is_ascii_uppercase() && name.chars().all(|c| c.is_ascii_alphanumeric()),
        }
    }
}

/// Whether table names end in a plural or a singular noun.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Number {
    Plural,
    Singular,
}

impl Number {
    pub fn parse(s: &str) -> Option<Number> {
        match s {
            "plural" => Some(Number::Plural),
            "singular" => Some(Number::Singular),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Number::Plural => "plural",
            Number::Singular => "singular",
        }
    }
}

/// A name template: literal text and the placeholders `{table}`, `{columns}` (joined by `_`)
/// and `{column}` (the first column). A name fits when the literal parts appear in order, the
/// first at its start and the last at its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(pub String);

impl Pattern {
    /// A template with at least one placeholder and nothing else in braces.
    pub fn parse(s: &str) -> Option<Pattern> {
        let mut rest = s;
        let mut placeholders = 0;
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}')? + open;
            if !matches!(&rest[open + 1..close], "table" | "columns" | "column") {
                return None;
            }
            placeholders += 1;
            rest = &rest[close + 1..];
        }
        (placeholders > 0 && !rest.contains('}')).then(|| Pattern(s.to_string()))
    }

    /// The literal parts between placeholders (the first and last may be empty).
    fn literals(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut rest = self.0.as_str();
        while let Some(open) = rest.find('{') {
            out.push(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |c| c + open + 1);
            rest = &rest[close..];
        }
        out.push(rest);
        out
    }

    pub fn fits(&self, name: &str) -> bool {
        let literals = self.literals();
        let (first, last) = (literals[0], literals[literals.len() - 1]);
        let Some(mut rest) = name.strip_prefix(first) else { return false };
        let Some(middle) = rest.strip_suffix(last) else { return false };
        rest = middle;
        // Every placeholder stands for at least one character.
        for literal in &literals[1..literals.len() - 1] {
            let Some(at) = rest.get(1..).and_then(|r| r.find(literal)) else { return false };
            rest = &rest[at + 1 + literal.len()..];
        }
        !rest.is_empty()
    }

    /// The name this template gives, cut to PostgreSQL's 63 bytes.
    pub fn render(&self, table: &str, columns: &[String]) -> String {
        let name = self
            .0
            .replace("{table}", table)
            .replace("{columns}", &columns.join("_"))
            .replace("{column}", columns.first().map_or("", String::as_str));
        let mut cut = name.len().min(63);
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name[..cut].to_string()
    }
}

/// One setting of `[lint.naming]`: detected from the database (the default), given, or off.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Setting<T> {
    #[default]
    Detect,
    Fixed(T),
    Off,
}

/// `[lint.naming]` in cutover.toml.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NamingConfig {
    pub table_case: Setting<Case>,
    pub column_case: Setting<Case>,
    pub tables: Setting<Number>,
    pub index: Setting<Pattern>,
    pub primary_key: Setting<Pattern>,
    pub foreign_key: Setting<Pattern>,
    pub unique: Setting<Pattern>,
    pub check: Setting<Pattern>,
}

/// The keys of `[lint.naming]`.
pub const KEYS: &[&str] =
    &["table_case", "column_case", "tables", "index", "primary_key", "foreign_key", "unique", "check"];

impl NamingConfig {
    /// Sets one key of `[lint.naming]` from its value: `"detect"` (the default), `"off"`, or
    /// the convention (`snake`/`camel`/`pascal` for the cases, `plural`/`singular` for
    /// `tables`, a template such as `"idx_{table}_{columns}"` for the names). The error is a
    /// sentence naming what is accepted.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        fn setting<T>(value: &str, parse: impl Fn(&str) -> Option<T>, accepted: &str) -> Result<Setting<T>, String> {
            match value {
                "detect" => Ok(Setting::Detect),
                "off" => Ok(Setting::Off),
                v => parse(v)
                    .map(Setting::Fixed)
                    .ok_or_else(|| format!("is {v:?}; use {accepted}, \"detect\" or \"off\"")),
            }
        }
        let cases = "\"snake\", \"camel\", \"pascal\"";
        let template = "a template of text and {table}, {columns}, {column} (such as \"idx_{table}_{columns}\")";
        match key {
            "table_case" => self.table_case = setting(value, Case::parse, cases)?,
            "column_case" => self.column_case = setting(value, Case::parse, cases)?,
            "tables" => self.tables = setting(value, Number::parse, "\"plural\", \"singular\"")?,
            "index" => self.index = setting(value, Pattern::parse, template)?,
            "primary_key" => self.primary_key = setting(value, Pattern::parse, template)?,
            "foreign_key" => self.foreign_key = setting(value, Pattern::parse, template)?,
            "unique" => self.unique = setting(value, Pattern::parse, template)?,
            "check" => self.check = setting(value, Pattern::parse, template)?,
            _ => return Err(format!("is not a key of [lint.naming]; the keys are {}", KEYS.join(", "))),
        }
        Ok(())
    }
}

/// What kind of object a name pattern is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Index,
    PrimaryKey,
    ForeignKey,
    Unique,
    Check,
}

impl Kind {
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Index => "indexes",
            Kind::PrimaryKey => "primary keys",
            Kind::ForeignKey => "foreign keys",
            Kind::Unique => "unique constraints",
            Kind::Check => "check constraints",
        }
    }

    /// The name PostgreSQL gives when none is written (before its de-duplication).
    pub fn postgres_default(self) -> Pattern {
        Pattern(
            match self {
                Kind::Index => "{table}_{columns}_idx",
                Kind::PrimaryKey => "{table}_pkey",
                Kind::ForeignKey => "{table}_{columns}_fkey",
                Kind::Unique => "{table}_{columns}_key",
                Kind::Check => "{table}_{column}_check",
            }
            .to_string(),
        )
    }

    /// The templates detection chooses from: PostgreSQL's defaults and those of common
    /// frameworks and style guides.
    fn candidates(self) -> &'static [&'static str] {
        match self {
            Kind::Index => &[
                "{table}_{columns}_idx",
                "idx_{table}_{columns}",
                "ix_{table}_{columns}",
                "index_{table}_on_{columns}",
                "{table}_{columns}_index",
            ],
            Kind::PrimaryKey => &["{table}_pkey", "pk_{table}", "{table}_pk"],
            Kind::ForeignKey => &["{table}_{columns}_fkey", "fk_{table}_{columns}", "{table}_{columns}_fk"],
            Kind::Unique => {
                &["{table}_{columns}_key", "uq_{table}_{columns}", "uk_{table}_{columns}", "{table}_{columns}_unique"]
            }
            Kind::Check => &["{table}_{column}_check", "ck_{table}_{column}", "chk_{table}_{column}"],
        }
    }
}

/// A convention in force and why: "cutover.toml", or what the database shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Convention<T> {
    pub value: T,
    pub evidence: String,
}

/// The conventions a migration is checked against; `None` is not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conventions {
    /// The cases table names are written in (a single lower-case word fits two).
    pub table_case: Option<Convention<Vec<Case>>>,
    pub column_case: Option<Convention<Vec<Case>>>,
    /// Column case is detected (not set in cutover.toml): a column added to an existing table
    /// is checked against that table's own columns first ([`table_column_case`]).
    pub column_case_per_table: bool,
    pub tables: Option<Convention<Number>>,
    pub index: Option<Convention<Pattern>>,
    pub primary_key: Option<Convention<Pattern>>,
    pub foreign_key: Option<Convention<Pattern>>,
    pub unique: Option<Convention<Pattern>>,
    pub check: Option<Convention<Pattern>>,
}

/// Names needed before a convention is detected, and the share of them that must follow it.
const MIN_EXAMPLES: usize = 4;
const CASE_SHARE: f64 = 0.9;
const SHARE: f64 = 0.8;

const CONFIGURED: &str = "cutover.toml";

impl Conventions {
    pub fn pattern(&self, kind: Kind) -> Option<&Convention<Pattern>> {
        match kind {
            Kind::Index => self.index.as_ref(),
            Kind::PrimaryKey => self.primary_key.as_ref(),
            Kind::ForeignKey => self.foreign_key.as_ref(),
            Kind::Unique => self.unique.as_ref(),
            Kind::Check => self.check.as_ref(),
        }
    }

    /// The conventions of `config`, and those `database` follows where `config` detects.
    pub fn new(config: &NamingConfig, database: Option<&Catalog>) -> Conventions {
        let names = database.map(Names::of).unwrap_or_default();
        fn pick<T: Clone, U>(
            setting: &Setting<T>,
            fixed: impl Fn(T) -> U,
            detect: impl FnOnce() -> Option<Convention<U>>,
        ) -> Option<Convention<U>> {
            match setting {
                Setting::Off => None,
                Setting::Fixed(v) => Some(Convention { value: fixed(v.clone()), evidence: CONFIGURED.into() }),
                Setting::Detect => detect(),
            }
        }
        let pattern =
            |setting: &Setting<Pattern>, kind: Kind| pick(setting, |p| p, || detect_pattern(kind, names.of_kind(kind)));
        Conventions {
            table_case: pick(&config.table_case, |c| vec![c], || detect_case(&names.tables, "tables", "the database")),
            column_case: pick(
                &config.column_case,
                |c| vec![c],
                || detect_case(&names.columns, "columns", "the database"),
            ),
            column_case_per_table: config.column_case == Setting::Detect,
            tables: pick(&config.tables, |n| n, || detect_number(&names.tables)),
            index: pattern(&config.index, Kind::Index),
            primary_key: pattern(&config.primary_key, Kind::PrimaryKey),
            foreign_key: pattern(&config.foreign_key, Kind::ForeignKey),
            unique: pattern(&config.unique, Kind::Unique),
            check: pattern(&config.check, Kind::Check),
        }
    }
}

/// The names of a catalog, by kind (partitions and the indexes of constraints left out).
#[derive(Debug, Default)]
struct Names {
    tables: Vec<String>,
    columns: Vec<String>,
    indexes: Vec<String>,
    primary_keys: Vec<String>,
    foreign_keys: Vec<String>,
    uniques: Vec<String>,
    checks: Vec<String>,
}

impl Names {
    fn of(catalog: &Catalog) -> Names {
        let mut names = Names::default();
        for (name, table) in &catalog.tables {
            if table.partition_of.is_some() {
                continue;
            }
            names.tables.push(name.name.clone());
            names.columns.extend(table.columns.iter().filter(|c| c.is_local).map(|c| c.name.clone()));
            let backing: Vec<&str> = table.constraints.values().filter_map(|c| c.index.as_deref()).collect();
            names.indexes.extend(table.indexes.keys().filter(|i| !backing.contains(&i.as_str())).cloned());
            for (cname, c) in &table.constraints {
                let list = match c.kind {
                    ConstraintKind::PrimaryKey => &mut names.primary_keys,
                    ConstraintKind::ForeignKey => &mut names.foreign_keys,
                    ConstraintKind::Unique => &mut names.uniques,
                    ConstraintKind::Check => &mut names.checks,
                    ConstraintKind::Exclusion => continue,
                };
                list.push(cname.clone());
            }
        }
        names
    }

    fn of_kind(&self, kind: Kind) -> &[String] {
        match kind {
            Kind::Index => &self.indexes,
            Kind::PrimaryKey => &self.primary_keys,
            Kind::ForeignKey => &self.foreign_keys,
            Kind::Unique => &self.uniques,
            Kind::Check => &self.checks,
        }
    }
}

fn share(count: usize, total: usize) -> String {
    format!("{count} of {total}")
}

/// The case the columns of one table of the catalog follow, when they show one.
pub fn table_column_case(catalog: &Catalog, table: &cutover_schema::QualName) -> Option<Convention<Vec<Case>>> {
    let t = catalog.tables.get(table)?;
    let names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
    detect_case(&names, "columns", &table.name)
}

fn detect_case(names: &[String], noun: &str, place: &str) -> Option<Convention<Vec<Case>>> {
    if names.len() < MIN_EXAMPLES {
        return None;
    }
    let cases: Vec<(Case, usize)> = [Case::Snake, Case::Camel, Case::Pascal]
        .into_iter()
        .map(|case| (case, names.iter().filter(|n| case.fits(n)).count()))
        .filter(|(_, n)| *n as f64 >= CASE_SHARE * names.len() as f64)
        .collect();
    let (_, most) = cases.iter().max_by_key(|(_, n)| *n)?;
    let evidence = format!("{} {noun} in {place}", share(*most, names.len()));
    Some(Convention { value: cases.iter().map(|(c, _)| *c).collect(), evidence })
}

fn detect_number(tables: &[String]) -> Option<Convention<Number>> {
    let classified: Vec<Number> = tables.iter().filter_map(|t| number_of(t)).collect();
    if classified.len() < MIN_EXAMPLES {
        return None;
    }
    [Number::Plural, Number::Singular].into_iter().find_map(|number| {
        let n = classified.iter().filter(|c| **c == number).count();
        (n as f64 >= SHARE * classified.len() as f64).then(|| Convention {
            value: number,
            evidence: format!("{} tables in the database", share(n, classified.len())),
        })
    })
}

fn detect_pattern(kind: Kind, names: &[String]) -> Option<Convention<Pattern>> {
    if names.len() < MIN_EXAMPLES {
        return None;
    }
    let best = kind
        .candidates()
        .iter()
        .map(|c| Pattern(c.to_string()))
        .map(|p| {
            let n = names.iter().filter(|name| p.fits(name)).count();
            (p, n)
        })
        .max_by_key(|(_, n)| *n)?;
    (best.1 as f64 >= SHARE * names.len() as f64).then(|| Convention {
        evidence: format!("{} {} in the database", share(best.1, names.len()), kind.noun()),
        value: best.0,
    })
}

/// The last word of a name: after its last `_`, or its last capitalised part.
pub fn last_word(name: &str) -> &str {
    let tail = name.rsplit('_').next().unwrap_or(name);
    match tail.char_indices().rev().find(|(i, c)| *i > 0 && c.is_ascii_uppercase()) {
        Some((i, _)) => &tail[i..],
        None => tail,
    }
}

/// Words that are the same in the singular and the plural, or have no plural: no evidence.
const UNCOUNTED: &[&str] = &[
    "data",
    "metadata",
    "media",
    "info",
    "information",
    "news",
    "series",
    "species",
    "equipment",
    "inventory",
    "feedback",
    "staff",
    "audit",
    "history",
    "software",
    "hardware",
    "traffic",
    "analytics",
    "status",
    "sms",
    "gps",
];

/// Whether a table name ends in a plural or a singular noun; `None` when its last word does
/// not tell (uncountable words, abbreviations).
pub fn number_of(name: &str) -> Option<Number> {
    let word = last_word(noun_part(name)).to_ascii_lowercase();
    if word.len() < 3 || UNCOUNTED.contains(&word.as_str()) || word.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    if matches!(word.as_str(), "people" | "children" | "men" | "women") {
        return Some(Number::Plural);
    }
    if ["ss", "us", "is"].iter().any(|s| word.ends_with(s)) {
        return Some(Number::Singular);
    }
    Some(if word.ends_with('s') { Number::Plural } else { Number::Singular })
}

/// The part of a table name that names what a row is: before a qualifier such as `_by_month`
/// or `_per_day` (`order_events_by_month` is about events).
fn noun_part(name: &str) -> &str {
    ["_by_", "_per_"].iter().filter_map(|q| name.find(q)).min().map_or(name, |at| &name[..at])
}

/// `name` with its noun in the other number (`order_item` ↔ `order_items`,
/// `order_event_by_month` → `order_events_by_month`).
pub fn with_number(name: &str, number: Number) -> String {
    let noun = noun_part(name);
    let qualifier = &name[noun.len()..];
    let name = noun;
    let word = last_word(name);
    let stem = &name[..name.len() - word.len()];
    let lower = word.to_ascii_lowercase();
    let changed = match number {
        Number::Plural => {
            let consonant_y =
                lower.ends_with('y') && !lower[..lower.len() - 1].ends_with(|c: char| "aeiou".contains(c));
            if consonant_y {
                format!("{}ies", &word[..word.len() - 1])
            } else if ["s", "x", "z", "ch", "sh"].iter().any(|s| lower.ends_with(s)) {
                format!("{word}es")
            } else {
                format!("{word}s")
            }
        }
        Number::Singular => {
            if lower.ends_with("ies") {
                format!("{}y", &word[..word.len() - 3])
            } else if ["ses", "xes", "zes", "ches", "shes"].iter().any(|s| lower.ends_with(s)) {
                word[..word.len() - 2].to_string()
            } else {
                word.strip_suffix('s').unwrap_or(word).to_string()
            }
        }
    };
    format!("{stem}{changed}{qualifier}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_their_literal_parts_in_order() {
        let p = Pattern::parse("{table}_{columns}_idx").unwrap();
        assert!(p.fits("orders_customer_id_idx"));
        assert!(!p.fits("idx_orders_customer_id"));
        assert!(!p.fits("_idx"));
        let rails = Pattern::parse("index_{table}_on_{columns}").unwrap();
        assert!(rails.fits("index_orders_on_customer_id"));
        assert!(!rails.fits("index_orders_customer_id"));
        assert_eq!(
            rails.render("orders", &["customer_id".into(), "created_at".into()]),
            "index_orders_on_customer_id_created_at"
        );
        assert_eq!(Pattern::parse("{table}_{nope}"), None);
        assert_eq!(Pattern::parse("plain"), None);
    }

    #[test]
    fn numbers_and_cases() {
        assert_eq!(number_of("order_items"), Some(Number::Plural));
        assert_eq!(number_of("address"), Some(Number::Singular));
        assert_eq!(number_of("OrderItem"), Some(Number::Singular));
        assert_eq!(number_of("metadata"), None);
        assert_eq!(with_number("order_item", Number::Plural), "order_items");
        assert_eq!(with_number("categories", Number::Singular), "category");
        assert_eq!(with_number("box", Number::Plural), "boxes");
        assert_eq!(with_number("OrderItems", Number::Singular), "OrderItem");
        assert_eq!(number_of("order_events_by_month"), Some(Number::Plural));
        assert_eq!(with_number("order_event_by_month", Number::Plural), "order_events_by_month");
        assert!(Case::Snake.fits("users") && Case::Camel.fits("users") && !Case::Pascal.fits("users"));
        assert!(Case::Camel.fits("createdAt") && !Case::Snake.fits("createdAt"));
    }
}
