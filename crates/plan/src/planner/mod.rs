//! The planner: from a diff to a phased plan that a senior database engineer would sign.
//!
//! Each change of the diff goes through a recipe (`recipes`) that turns it into one or
//! more steps, each wishing for a phase: indexes are built concurrently in expand, foreign
//! keys are added NOT VALID in expand and validated in switch, drops wait for contract. The
//! wishes are then reconciled with the diff's ordering (`assign_phases`): a step never runs
//! in an earlier phase than something it depends on, and a drop that something later needs
//! gone is pulled forward into the phase that needs it. Changes that cannot be made safe
//! become blockers instead of statements.

mod estimate;
pub mod fingerprint;
mod model;
mod postconditions;
mod recipes;
mod renames;
mod render;

pub use estimate::{Size, describe_seconds, thousands};
pub use model::*;
pub use recipes::ColumnRename;
pub use renames::TableRename;
pub use render::{Flavor, render_human, render_markdown, render_phase_markdown};

use crate::diff::{Diff, DiffOptions, diff};
use crate::hazard::BlockerCode;
use cutover_schema::{Catalog, QualName};
use cutover_sql::ddl::Stmt;
use std::collections::BTreeSet;

/// How to plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub diff: DiffOptions,
    /// `server_version_num` to plan for; default: the one the current schema was read from.
    pub server_version: Option<u32>,
    /// `lock_timeout` for every step.
    pub lock_timeout_ms: u64,
    /// Rows per backfill batch.
    pub batch_size: u64,
    /// Accept steps that block reads or writes on large tables (a maintenance window) instead
    /// of reporting them as blockers.
    pub allow_downtime: bool,
    /// Columns the user says are renamed (the diff alone sees a drop and an add).
    pub renames: Vec<ColumnRename>,
    /// Tables the user says are renamed.
    pub table_renames: Vec<TableRename>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            diff: DiffOptions::default(),
            server_version: None,
            lock_timeout_ms: 2_000,
            batch_size: 5_000,
            allow_downtime: false,
            renames: Vec::new(),
            table_renames: Vec::new(),
        }
    }
}

/// A table is small when it is known to have at most this many rows and bytes: locking it
/// briefly, or rewriting it, is not an incident.
pub const SMALL_TABLE_ROWS: u64 = 10_000;
pub const SMALL_TABLE_BYTES: u64 = 64 * 1024 * 1024;

/// Everything a recipe needs to know.
pub(crate) struct PlanCtx<'a> {
    pub current: &'a Catalog,
    pub desired: &'a Catalog,
    pub version: u32,
    pub options: &'a PlanOptions,
    /// Tables the plan creates (new, or dropped and created again): empty, nobody uses them.
    pub created_tables: BTreeSet<QualName>,
    /// Indexes that are dropped and created again under the same name on a live table:
    /// built under a temporary name and swapped in.
    pub swapped_indexes: BTreeSet<QualName>,
    /// Columns whose type changes through a new column (expand/contract) instead of a rewrite.
    pub swapped_columns: BTreeSet<(QualName, String)>,
}

impl PlanCtx<'_> {
    pub fn is_new_table(&self, table: &QualName) -> bool {
        self.created_tables.contains(table) || !self.current.tables.contains_key(table)
    }

    pub fn size(&self, table: &QualName) -> Size {
        match self.current.facts.tables.get(table) {
            Some(f) => Size { rows: f.rows, bytes: f.bytes },
            None => Size { rows: None, bytes: 0 },
        }
    }

    /// Known to be small enough that a brief blocking lock or a rewrite is acceptable.
    pub fn is_small(&self, table: &QualName) -> bool {
        if self.is_new_table(table) {
            return true;
        }
        let size = self.size(table);
        size.rows.is_some_and(|r| r <= SMALL_TABLE_ROWS) && size.bytes <= SMALL_TABLE_BYTES
    }

    /// Known to hold no rows.
    pub fn is_empty(&self, table: &QualName) -> bool {
        self.is_new_table(table) || self.size(table).rows == Some(0)
    }
}

/// A step before it has its final phase.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub phase: PhaseName,
    pub step: Step,
}

/// Plans the change from `current` to `desired`.
pub fn plan(current: &Catalog, desired: &Catalog, options: &PlanOptions) -> Plan {
    if options.table_renames.is_empty() {
        let diff = diff(current, desired, &options.diff);
        return plan_diff(current, desired, &diff, options);
    }
    let mut plan = plan_with_renames(current, desired, options);
    // The renamed catalog was planned; the database still has the old names.
    plan.relations = fingerprint::touched(current, &plan);
    plan
}

fn plan_with_renames(current: &Catalog, desired: &Catalog, options: &PlanOptions) -> Plan {
    // Table renames run first; the rest is the plan from the renamed catalog.
    let (renamed, statements) = renames::apply(current, desired, &options.table_renames);
    let diff = diff(&renamed, desired, &options.diff);
    let mut plan = plan_diff(&renamed, desired, &diff, options);
    let mut expand = Vec::new();
    let mut contract = Vec::new();
    for (rename, stmts) in options.table_renames.iter().zip(&statements) {
        if stmts.is_empty() || !desired.tables.contains_key(&rename.target()) {
            plan.blockers.push(Blocker {
                code: BlockerCode::RenameNotInDiff,
                sql: format!("-- rename table {} to {}", rename.from, rename.to),
                message: format!(
                    "the rename of {} to {} does not match the change: the current schema must have {} and the desired one {}.",
                    rename.from,
                    rename.to,
                    rename.from,
                    rename.target()
                ),
                options: vec!["check the names of the rename".into()],
            });
            continue;
        }
        for (phase, step) in renames::steps(rename, stmts, options.lock_timeout_ms) {
            match phase {
                PhaseName::Contract => contract.push(step),
                _ => expand.push(step),
            }
        }
    }
    let mut insert = |name: PhaseName, steps: Vec<Step>, at_start: bool| {
        if steps.is_empty() {
            return;
        }
        match plan.phases.iter_mut().find(|p| p.name == name) {
            Some(p) if at_start => p.steps.splice(0..0, steps).for_each(drop),
            Some(p) => p.steps.extend(steps),
            None => {
                plan.phases.push(Phase { name, steps });
                plan.phases.sort_by_key(|p| p.name);
            }
        }
    };
    insert(PhaseName::Expand, expand, true);
    insert(PhaseName::Contract, contract, false);
    plan
}

/// Plans an already computed diff of `current` against `desired`.
pub fn plan_diff(current: &Catalog, desired: &Catalog, diff: &Diff, options: &PlanOptions) -> Plan {
    let version = options.server_version.unwrap_or(match current.facts.server_version_num {
        0 => 150000,
        v => v,
    });
    let created_tables = diff
        .changes
        .iter()
        .filter_map(|c| match &c.stmt {
            Stmt::CreateTable { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    let mut ctx = PlanCtx {
        current,
        desired,
        version,
        options,
        created_tables,
        swapped_indexes: BTreeSet::new(),
        swapped_columns: BTreeSet::new(),
    };
    ctx.swapped_indexes = recipes::swapped_indexes(&ctx, diff);
    ctx.swapped_columns = recipes::swapped_columns(&ctx, diff);

    let mut drafts: Vec<Vec<Draft>> = Vec::with_capacity(diff.changes.len());
    let mut blockers = recipes::unmatched_renames(&ctx, diff);
    for change in &diff.changes {
        match recipes::plan_change(&ctx, change) {
            Ok(mut d) => {
                // What the change leaves, for the objects whose recipes state nothing.
                if let Some(last) = d.last_mut() {
                    last.step.postconditions.extend(postconditions::derived(&ctx, &change.stmt));
                }
                drafts.push(d)
            }
            Err(blocker) => {
                blockers.push(*blocker);
                drafts.push(Vec::new());
            }
        }
    }
    let wishes: Vec<Vec<PhaseName>> = drafts.iter().map(|d| d.iter().map(|x| x.phase).collect()).collect();
    assign_phases(diff, &mut drafts);
    // A step that destroys data belongs in the contract phase, after the running application
    // is gone. If something earlier needs it done first (a new object takes its name), the
    // plan cannot keep that promise.
    if !options.allow_downtime {
        for (i, list) in drafts.iter_mut().enumerate() {
            let early = list.iter().zip(&wishes[i]).any(|(d, wish)| {
                *wish == PhaseName::Contract
                    && d.phase < PhaseName::Contract
                    && d.step.hazards.iter().any(|h| h.code == crate::HazardCode::DataLoss)
            });
            if early {
                let phase = list.iter().map(|d| d.phase).min().unwrap_or(PhaseName::Expand);
                blockers.push(Blocker {
                    code: BlockerCode::DestructiveStepNeededEarly,
                    sql: format!("{};", diff.changes[i].stmt),
                    message: format!(
                        "this removes data the running application may still use, so it belongs in the contract phase, but a later change needs it done first (in {phase}): a new object takes its name or relies on it being gone."
                    ),
                    options: vec![
                        "give the new object another name, so the old one can stay until the contract phase".into(),
                        "ship it as two migrations: first the removal (after the application stops using it), then the addition".into(),
                        "accept that the running version breaks: plan again with --allow-downtime".into(),
                    ],
                });
                list.clear();
            }
        }
    }

    let mut phases: Vec<Phase> = Vec::new();
    for name in PhaseName::ALL {
        let steps: Vec<Step> = drafts.iter().flatten().filter(|d| d.phase == name).map(|d| d.step.clone()).collect();
        if !steps.is_empty() {
            phases.push(Phase { name, steps });
        }
    }
    let mut plan = Plan { version: 1, server_version_num: version, phases, blockers, relations: Default::default() };
    plan.relations = fingerprint::touched(current, &plan);
    plan
}

/// Reconciles the phases the recipes wish for with the order the diff requires.
fn assign_phases(diff: &Diff, drafts: &mut [Vec<Draft>]) {
    let n = drafts.len();
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, change) in diff.changes.iter().enumerate() {
        for &p in &change.after {
            successors[p].push(i);
        }
    }
    let first = |d: &[Draft]| d.first().map(|x| x.phase);
    let last = |d: &[Draft]| d.last().map(|x| x.phase);

    // Backward: a change must have begun no later than what follows it begins. (Its later
    // steps may stay later: the forward pass then moves the followers after them.)
    for i in (0..n).rev() {
        let cap = successors[i].iter().filter_map(|&s| first(&drafts[s])).min();
        if let (Some(cap), Some(d)) = (cap, drafts[i].first_mut()) {
            d.phase = d.phase.min(cap);
        }
    }
    // Forward: nothing may run in an earlier phase than what must precede it, and the steps
    // of one change stay in order.
    for i in 0..n {
        let floor = diff.changes[i].after.iter().filter_map(|&p| last(&drafts[p])).max();
        let mut current = floor.unwrap_or(PhaseName::Expand);
        for d in drafts[i].iter_mut() {
            d.phase = d.phase.max(current);
            current = d.phase;
        }
    }
}
