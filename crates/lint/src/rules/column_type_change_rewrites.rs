//! `ALTER COLUMN ... TYPE` that rewrites the table (or cannot be shown not to).

use pg_query::NodeEnum;
use pg_query::protobuf::{AlterTableType, ColumnDef, Node, TypeName};

use super::{Docs, Finding, Rule, RuleInfo, StmtRef, altered_existing_table, lock_risk};
use crate::ast::{TableName, added_column, alter_cmds, alter_type, string, type_mods, type_name};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct ColumnTypeChangeRewrites;

static INFO: RuleInfo = RuleInfo {
    code: "column-type-change-rewrites",
    severity: Severity::Error,
    summary: "Changing a column's type rewrites the table under ACCESS EXCLUSIVE unless the change is binary-compatible.",
    help: "Add a new column, backfill it in batches, and switch readers over; or pass --database so Cutover can check whether this change is rewrite-free.",
    docs: Docs {
        what: "Flags `ALTER TABLE ... ALTER COLUMN ... TYPE` on a table that exists before the migration, unless the old type is known (from earlier statements in the history or the live database) and the change is one PostgreSQL does without a rewrite: varchar(n) to a longer varchar, varchar or text; text to varchar; numeric(p,s) to a larger precision with the same scale, or to numeric; varbit(n) to a longer varbit; a larger or no precision for timestamp, timestamptz, time, timetz and interval; cidr to inet; the same type — in each case without a `USING` clause other than the column itself.",
        why: "Any other type change makes PostgreSQL rewrite every row and rebuild every index of the table while holding ACCESS EXCLUSIVE: no reads or writes until it finishes, and twice the table's disk space meanwhile.",
        example: "ALTER TABLE orders ALTER COLUMN id TYPE bigint;",
        instead: "ALTER TABLE orders ADD COLUMN id_new bigint;\n-- keep id_new in sync with a trigger, backfill in batches, then swap the columns in a short transaction",
    },
};

impl Rule for ColumnTypeChangeRewrites {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some((table, alter)) = altered_existing_table(stmt, ctx) else { return };
        for cmd in alter_cmds(alter) {
            if alter_type(cmd) != AlterTableType::AtAlterColumnType {
                continue;
            }
            let Some(NodeEnum::ColumnDef(def)) = cmd.def.as_ref().and_then(|d| d.node.as_ref()) else { continue };
            let Some(new) = def.type_name.as_ref().map(SqlType::of) else { continue };
            let column = cmd.name.as_str();
            let plain_using = def.raw_default.as_deref().is_none_or(|u| is_plain_using(u, column));
            let message = match old_type(ctx, &table, column) {
                Some(old) if plain_using && rewrite_free(&old, &new) => continue,
                Some(old) => format!(
                    "Changing {}.{column} from {} to {} rewrites {} and its indexes while holding ACCESS EXCLUSIVE.",
                    table.display(),
                    old.display(),
                    new.display(),
                    table.display()
                ),
                None => format!(
                    "Changing the type of {}.{column} to {} takes ACCESS EXCLUSIVE and rewrites the table unless the change is binary-compatible; the current type is unknown.",
                    table.display(),
                    new.display()
                ),
            };
            out.push(lock_risk(ctx, &table, Finding::new(message)));
        }
    }
}

/// A type as the rewrite check needs it: internal base name, modifiers, array or not.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SqlType {
    base: String,
    mods: Vec<i64>,
    array: bool,
}

impl SqlType {
    fn of(tn: &TypeName) -> SqlType {
        SqlType { base: type_name(tn), mods: type_mods(tn), array: !tn.array_bounds.is_empty() }
    }

    /// From `format_type` output (`character varying(20)`, `timestamp(3) with time zone`).
    fn parse(text: &str) -> SqlType {
        let text = text.trim();
        let (text, array) = match text.strip_suffix("[]") {
            Some(t) => (t, true),
            None => (text, false),
        };
        let (mods, rest) = match (text.find('('), text.find(')')) {
            (Some(open), Some(close)) if close > open => {
                let mods = text[open + 1..close].split(',').filter_map(|m| m.trim().parse().ok()).collect();
                (mods, format!("{}{}", &text[..open], &text[close + 1..]))
            }
            _ => (Vec::new(), text.to_string()),
        };
        let base = match rest.split_whitespace().collect::<Vec<_>>().join(" ").as_str() {
            "character varying" => "varchar",
            "bit varying" => "varbit",
            "character" => "bpchar",
            "timestamp without time zone" | "timestamp" => "timestamp",
            "timestamp with time zone" => "timestamptz",
            "time without time zone" | "time" => "time",
            "time with time zone" => "timetz",
            "integer" => "int4",
            "bigint" => "int8",
            "smallint" => "int2",
            "boolean" => "bool",
            "double precision" => "float8",
            "real" => "float4",
            "interval" if mods.len() == 1 => {
                return SqlType { base: "interval".into(), mods: vec![32767, mods[0]], array };
            }
            other => return SqlType { base: other.to_string(), mods, array },
        };
        SqlType { base: base.to_string(), mods, array }
    }

    fn display(&self) -> String {
        let mods: Vec<String> = self.mods.iter().map(i64::to_string).collect();
        let mut s = self.base.clone();
        if !mods.is_empty() && self.base != "interval" {
            s.push_str(&format!("({})", mods.join(",")));
        }
        if self.array {
            s.push_str("[]");
        }
        s
    }

    /// The precision of a time/interval type (interval's first modifier is its field mask).
    fn precision(&self) -> Option<i64> {
        if self.base == "interval" { self.mods.get(1).copied() } else { self.mods.first().copied() }
    }
}

/// PostgreSQL's `ATColumnChangeRequiresRewrite`: changes that only touch the catalog.
fn rewrite_free(old: &SqlType, new: &SqlType) -> bool {
    if old.array != new.array {
        return false;
    }
    if old == new {
        return true;
    }
    let at_least = |o: Option<i64>, n: Option<i64>| match (o, n) {
        (_, None) => true,
        (Some(o), Some(n)) => n >= o,
        (None, Some(_)) => false,
    };
    match (old.base.as_str(), new.base.as_str()) {
        ("varchar", "varchar") | ("varbit", "varbit") => at_least(old.mods.first().copied(), new.mods.first().copied()),
        ("varchar", "text") | ("text", "text") => true,
        ("text", "varchar") => new.mods.is_empty(),
        ("numeric", "numeric") => match (old.mods.as_slice(), new.mods.as_slice()) {
            (_, []) => true,
            ([p], [np]) | ([p], [np, 0]) | ([p, 0], [np]) => np >= p,
            ([p, s], [np, ns]) => ns == s && np >= p,
            _ => false,
        },
        ("timestamp", "timestamp") | ("timestamptz", "timestamptz") | ("time", "time") | ("timetz", "timetz") => {
            at_least(old.precision(), new.precision())
        }
        ("interval", "interval") => {
            (new.mods.is_empty() || old.mods.first() == new.mods.first()) && at_least(old.precision(), new.precision())
        }
        ("cidr", "inet") => true,
        _ => false,
    }
}

/// `USING col` or `USING col::newtype`: no conversion beyond the type change itself.
fn is_plain_using(node: &Node, column: &str) -> bool {
    match node.node.as_ref() {
        Some(NodeEnum::ColumnRef(c)) => c.fields.iter().filter_map(string).next_back() == Some(column),
        Some(NodeEnum::TypeCast(t)) => t.arg.as_deref().is_some_and(|a| is_plain_using(a, column)),
        _ => false,
    }
}

/// The column's type before this statement: from an earlier ADD COLUMN / ALTER TYPE of this
/// file, else the live database.
fn old_type(ctx: &Ctx<'_>, table: &TableName, column: &str) -> Option<SqlType> {
    for alter in ctx.alters_of(table).rev() {
        for cmd in alter_cmds(alter).collect::<Vec<_>>().into_iter().rev() {
            let def: Option<&ColumnDef> = if let Some(col) = added_column(cmd) {
                (col.colname == column).then_some(col)
            } else if alter_type(cmd) == AlterTableType::AtAlterColumnType && cmd.name == column {
                match cmd.def.as_ref().and_then(|d| d.node.as_ref()) {
                    Some(NodeEnum::ColumnDef(c)) => Some(c.as_ref()),
                    _ => None,
                }
            } else {
                None
            };
            if let Some(tn) = def.and_then(|d| d.type_name.as_ref()) {
                return Some(SqlType::of(tn));
            }
        }
    }
    let db = ctx.database?;
    let key = table.qual_name();
    let col = db.tables.get(&key)?.columns.iter().find(|c| c.name == column)?;
    Some(SqlType::parse(&col.data_type))
}
