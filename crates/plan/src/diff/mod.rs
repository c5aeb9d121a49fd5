//! The schema diff: the statements that turn the current catalog into the desired one.
//!
//! The diff is faithful: whatever differs is changed, destructive statements included, and
//! those carry a `data_loss` hazard. Applying the statements in order to the current
//! database and diffing again gives an empty diff (convergence). Making the change safe on
//! a busy database is the planner's job, not the diff's.

mod basics;
mod ctx;
mod filter;
mod functions;
mod graph;
mod meta;
mod sequences;
mod statistics;
mod status;
mod tables;
mod types;
mod views;

use crate::hazard::{Hazard, HazardCode};
use cutover_schema::Catalog;
use cutover_sql::ddl::Stmt;
use serde::Serialize;

pub use filter::filter;
pub use status::temporary_type_name;
pub use tables::is_widening;

/// What to compare.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Compare privileges (GRANT/REVOKE). Off by default: privileges are often managed
    /// outside the schema, and revoking them by surprise breaks applications.
    pub privileges: bool,
    /// Compare extension versions (`ALTER EXTENSION ... UPDATE`). Off by default.
    pub extension_versions: bool,
    /// Only objects in these schemas (empty: all).
    pub schemas: Vec<String>,
    /// Never objects in these schemas.
    pub exclude_schemas: Vec<String>,
    /// Only create missing extensions; change nothing else.
    pub create_extensions_only: bool,
}

/// One statement of a diff.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub stmt: Stmt,
    pub hazards: Vec<Hazard>,
    /// Positions (in [`Diff::changes`]) of the changes that must run before this one.
    pub after: Vec<usize>,
}

impl Change {
    pub fn sql(&self) -> String {
        self.stmt.to_string()
    }

    pub fn is_destructive(&self) -> bool {
        self.hazards.iter().any(|h| h.code == HazardCode::DataLoss)
    }
}

/// The ordered statements of a diff.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diff {
    pub changes: Vec<Change>,
    /// Times the dependency order had a cycle that had to be broken by rank (normally 0).
    pub ordering_cycles: usize,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The diff as executable SQL: each statement terminated by `;` and separated by a blank line.
    pub fn to_sql(&self) -> String {
        let mut out = String::new();
        for change in &self.changes {
            out.push_str(&change.sql());
            out.push_str(";\n\n");
        }
        out
    }

    pub fn to_json(&self) -> DiffJson {
        DiffJson {
            version: 1,
            statements: self
                .changes
                .iter()
                .map(|c| StatementJson { sql: c.sql(), hazards: c.hazards.clone() })
                .collect(),
            summary: SummaryJson {
                statements: self.changes.len(),
                destructive: self.changes.iter().filter(|c| c.is_destructive()).count(),
            },
        }
    }
}

/// `diff --format json`.
#[derive(Debug, Serialize)]
pub struct DiffJson {
    pub version: u32,
    pub statements: Vec<StatementJson>,
    pub summary: SummaryJson,
}

#[derive(Debug, Serialize)]
pub struct StatementJson {
    pub sql: String,
    pub hazards: Vec<Hazard>,
}

#[derive(Debug, Serialize)]
pub struct SummaryJson {
    pub statements: usize,
    pub destructive: usize,
}

/// The statements that make `current` converge to `desired`.
pub fn diff(current: &Catalog, desired: &Catalog, options: &DiffOptions) -> Diff {
    let current = filter(current, options);
    let desired = filter(desired, options);
    let mut ctx = ctx::Ctx::new(&current, &desired, options);
    if !options.create_extensions_only {
        status::compute(&mut ctx);
        basics::schemas(&mut ctx);
    }
    basics::extensions(&mut ctx);
    if !options.create_extensions_only {
        basics::collations(&mut ctx);
        types::types(&mut ctx);
        sequences::sequences(&mut ctx);
        tables::tables(&mut ctx);
        views::views(&mut ctx);
        statistics::statistics(&mut ctx);
        functions::functions(&mut ctx);
    }
    let ordered = graph::order(ctx.nodes);
    Diff {
        changes: ordered
            .nodes
            .into_iter()
            .zip(ordered.after)
            .map(|(n, after)| Change { stmt: n.stmt, hazards: n.hazards, after })
            .collect(),
        ordering_cycles: ordered.cycles,
    }
}
