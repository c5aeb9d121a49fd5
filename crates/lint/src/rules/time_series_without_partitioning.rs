//! Append-only time-series tables, expected to grow large, created without partitioning.

use pg_query::NodeEnum;
use pg_query::protobuf::ConstrType;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::{TableName, create_columns, create_constraints, type_name, words};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct TimeSeriesWithoutPartitioning;

/// A referenced table at least this large makes a table of its events large too.
pub const LARGE_PARENT_ROWS: u64 = 1_000_000;
/// An existing time series at least this large shows how large such tables grow here.
pub const LARGE_SERIES_ROWS: u64 = 10_000_000;

static INFO: RuleInfo = RuleInfo {
    code: "time-series-without-partitioning",
    severity: Severity::Warning,
    summary: "An append-only time-series table expected to grow large, created without partitioning.",
    help: "Create it PARTITION BY RANGE on its time column, one partition per month (or day), so old rows are removed by dropping partitions.",
    docs: Docs {
        what: "Flags `CREATE TABLE` without `PARTITION BY` of a table shaped like an append-only time series — its name ends in a word like events, logs, metrics, measurements, readings, samples, clicks, views, visits or history; it has a timestamp or date column such as created_at, occurred_at or recorded_at; and it has no updated_at, modified_at or deleted_at column — when the live database (`--database`) says it will grow large: a table it references has at least 1,000,000 rows, an existing time series of this shape has at least 10,000,000, or the schema already partitions its time series. Without `--database` nothing is flagged.",
        why: "Time-series tables only grow. Removing old rows then takes `DELETE`s that run for hours, bloat the table and its indexes, and keep autovacuum busy; every index keeps growing with the table, and queries on recent data read pages of old data. A table partitioned by time drops a month with `DROP TABLE` (or `DETACH PARTITION ... CONCURRENTLY`) in milliseconds, keeps each partition's indexes small, and prunes partitions from queries. Partitioning an existing large table later means copying it.",
        example: "CREATE TABLE order_events (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    order_id bigint NOT NULL REFERENCES orders (id),\n    kind text NOT NULL,\n    created_at timestamptz NOT NULL DEFAULT now()\n);",
        instead: "CREATE TABLE order_events (\n    id bigint GENERATED ALWAYS AS IDENTITY,\n    order_id bigint NOT NULL REFERENCES orders (id),\n    kind text NOT NULL,\n    created_at timestamptz NOT NULL DEFAULT now(),\n    PRIMARY KEY (id, created_at)\n) PARTITION BY RANGE (created_at);\nCREATE TABLE order_events_2026_12 PARTITION OF order_events\n    FOR VALUES FROM ('2026-12-01') TO ('2027-01-01');",
    },
};

/// The last word of a time series' name.
const SERIES_NOUNS: &[&str] = &[
    "events",
    "event",
    "logs",
    "log",
    "metrics",
    "measurements",
    "readings",
    "samples",
    "clicks",
    "views",
    "pageviews",
    "impressions",
    "pings",
    "heartbeats",
    "telemetry",
    "history",
    "activities",
    "visits",
    "traces",
    "observations",
    "ticks",
    "audits",
    "trail",
];

/// Names of the column that says when a row happened.
const TIME_COLUMNS: &[&str] = &[
    "created_at",
    "occurred_at",
    "recorded_at",
    "logged_at",
    "observed_at",
    "measured_at",
    "received_at",
    "captured_at",
    "sampled_at",
    "inserted_at",
    "event_time",
    "event_at",
    "timestamp",
    "ts",
    "time",
];

/// Columns that say rows are changed after they are written.
const CHANGED_COLUMNS: &[&str] = &["updated_at", "modified_at", "deleted_at", "changed_at", "archived_at"];

impl Rule for TimeSeriesWithoutPartitioning {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let NodeEnum::CreateStmt(create) = stmt.node else { return };
        let Some(db) = ctx.database else { return };
        let Some(rv) = &create.relation else { return };
        if create.partspec.is_some() || create.partbound.is_some() || rv.relpersistence == "t" {
            return;
        }
        let table = TableName::of(rv);
        let columns: Vec<(String, String)> = create_columns(create)
            .filter_map(|c| Some((c.colname.clone(), type_name(c.type_name.as_ref()?))))
            .collect();
        let Some(time) = series_time_column(&table.name, columns.iter().map(|(n, t)| (n.as_str(), t.as_str()))) else {
            return;
        };
        let parent = create_constraints(create)
            .into_iter()
            .filter(|c| c.kind() == ConstrType::ConstrForeign)
            .filter_map(|c| c.constraint.pktable.as_ref().map(TableName::of))
            .filter_map(|t| Some((ctx.table_rows(&t)?, t)))
            .filter(|(rows, _)| *rows >= LARGE_PARENT_ROWS)
            .max_by_key(|(rows, _)| *rows);
        let evidence = if let Some((rows, parent)) = parent {
            Some(format!(
                "it references {}, which has about {} rows",
                parent.display(),
                cutover_plan::planner::thousands(rows)
            ))
        } else {
            existing_series(db)
        };
        let Some(evidence) = evidence else { return };
        out.push(
            Finding::new(format!(
                "Table {} looks like an append-only time series (by {time}, no updated_at) and will grow large: {evidence}. Unpartitioned, its old rows can only be removed by slow, bloating DELETEs.",
                table.display()
            ))
            .help(format!(
                "Create it PARTITION BY RANGE ({time}) with one partition per month (or day), so old rows are removed by dropping partitions; the primary key must then include {time}."
            )),
        );
    }
}

/// The time column of a table shaped like an append-only time series, if it is one.
fn series_time_column<'a>(table: &str, columns: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Option<&'a str> {
    let noun = words(table).pop()?;
    if !SERIES_NOUNS.contains(&noun.as_str()) || columns.clone().any(|(name, _)| CHANGED_COLUMNS.contains(&name)) {
        return None;
    }
    columns
        .filter(|(_, ty)| matches!(*ty, "timestamptz" | "timestamp" | "date"))
        .map(|(name, _)| name)
        .find(|name| TIME_COLUMNS.contains(name))
}

/// What the database's own time series say: one partitioned, or one that grew large.
fn existing_series(db: &cutover_schema::Catalog) -> Option<String> {
    let mut largest: Option<(u64, &str)> = None;
    for (name, t) in &db.tables {
        if t.partition_of.is_some() {
            continue;
        }
        let columns = t.columns.iter().map(|c| (c.name.as_str(), catalog_type(&c.data_type)));
        if series_time_column(&name.name, columns).is_none() {
            continue;
        }
        if t.partition_key.is_some() {
            return Some(format!("this schema partitions its time series ({} is partitioned)", name.name));
        }
        let rows = db.facts.tables.get(name).and_then(|f| f.rows).unwrap_or(0);
        if rows >= LARGE_SERIES_ROWS && largest.is_none_or(|(r, _)| rows > r) {
            largest = Some((rows, &name.name));
        }
    }
    largest.map(|(rows, name)| {
        format!("the existing time series {name} has about {} rows", cutover_plan::planner::thousands(rows))
    })
}

/// A type as `format_type` prints it, in the parser's internal names.
fn catalog_type(printed: &str) -> &str {
    match printed {
        "timestamp with time zone" => "timestamptz",
        "date" => "date",
        p if p.starts_with("timestamp") && p.ends_with("without time zone") => "timestamp",
        p if p.starts_with("timestamp") && p.ends_with("with time zone") => "timestamptz",
        _ => "",
    }
}
