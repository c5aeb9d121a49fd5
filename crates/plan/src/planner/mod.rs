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
    /// The downtime window accepted (a request's "Downtime tolerance", `--downtime-window`):
    /// a step estimated to block writes for longer is a blocker
    /// ([`DOWNTIME_WINDOW_EXCEEDED`]).
    pub downtime_window: Option<std::time::Duration>,
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
            downtime_window: None,
        }
    }
}

/// The blocker code of a step that would block writes for longer than the downtime window.
pub const DOWNTIME_WINDOW_EXCEEDED: crate::hazard::BlockerCode = crate::hazard::BlockerCode::DowntimeWindowExceeded;

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
    let mut plan = if options.table_renames.is_empty() {
        let diff = diff(current, desired, &options.diff);
        plan_diff(current, desired, &diff, options)
    } else {
        let mut plan = plan_with_renames(current, desired, options);
        // The renamed catalog was planned; the database still has the old names.
        plan.relations = fingerprint::touched(current, &plan);
        plan
    };
    if let Some(window) = options.downtime_window {
        plan.blockers.extend(outside_window(&plan, window));
    }
    plan
}

/// A blocker for each step estimated to block writes for longer than `window`. The step
/// stays in the plan, so the reviewer sees what it is; a plan with blockers is not applied.
fn outside_window(plan: &Plan, window: std::time::Duration) -> Vec<Blocker> {
    let limit = window.as_secs_f64();
    let mut out = Vec::new();
    for (phase, step) in plan.steps() {
        let Some(estimate) = &step.estimate else { continue };
        let blocked: Vec<&str> =
            step.locks.iter().filter(|l| l.mode.blocks_writes()).map(|l| l.relation.as_str()).collect();
        if blocked.is_empty() || estimate.seconds <= limit {
            continue;
        }
        out.push(Blocker {
            code: DOWNTIME_WINDOW_EXCEEDED,
            sql: step.sql.clone(),
            message: format!(
                "in the {} phase this step blocks writes to {} for {} (estimated on {}), longer than the downtime window of {}.",
                phase.name,
                blocked.join(", "),
                describe_seconds(estimate.seconds),
                estimate::rows(estimate.rows),
                describe_window(limit)
            ),
            options: vec![
                format!("widen the downtime window to at least {}", describe_window(round_up(estimate.seconds))),
                "ask for zero downtime, so the change is planned online where a recipe exists".into(),
                "make the change in smaller parts (one table, or one partition, at a time)".into(),
            ],
            // The step stays in its phase with its hazards.
            hazards: Vec::new(),
        });
    }
    out
}

/// Seconds rounded up to a length people ask for: whole seconds under a minute, whole
/// minutes under an hour, whole hours beyond.
fn round_up(seconds: f64) -> f64 {
    let unit = if seconds <= 60.0 {
        1.0
    } else if seconds <= 3600.0 {
        60.0
    } else {
        3600.0
    };
    (seconds / unit).ceil() * unit
}

/// A window's length as written in requests: "90 seconds", "5 minutes", "2 hours".
fn describe_window(seconds: f64) -> String {
    let s = seconds.round() as u64;
    let unit = |n: u64, one: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") };
    if s >= 3600 && s.is_multiple_of(3600) {
        unit(s / 3600, "hour")
    } else if s >= 60 && s.is_multiple_of(60) {
        unit(s / 60, "minute")
    } else {
        unit(s, "second")
    }
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
                hazards: vec![],
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
                // The steps are taken out of the plan; their hazards stay with the blocker.
                let mut hazards: Vec<crate::Hazard> = Vec::new();
                for h in list.iter().flat_map(|d| &d.step.hazards) {
                    if !hazards.iter().any(|x| x.code == h.code) {
                        hazards.push(h.clone());
                    }
                }
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
                    hazards,
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

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_schema::{Column, Namespace, Table, TableFacts, TableKind};

    /// `public.orders (id bigint, n <n_type>)` with 12,000,000 rows in 12 GB.
    fn orders(n_type: &str) -> Catalog {
        let column = |name: &str, data_type: &str| Column {
            name: name.into(),
            data_type: data_type.into(),
            not_null: true,
            default: None,
            identity: None,
            generated: None,
            collation: None,
            is_local: true,
            comment: None,
            grants: Default::default(),
        };
        let table = Table {
            kind: TableKind::Ordinary,
            unlogged: false,
            columns: vec![column("id", "bigint"), column("n", n_type)],
            partition_key: None,
            partition_of: None,
            inherits: vec![],
            constraints: Default::default(),
            indexes: Default::default(),
            triggers: Default::default(),
            policies: Default::default(),
            rls_enabled: false,
            rls_forced: false,
            options: vec![],
            comment: None,
            grants: Default::default(),
        };
        let name = QualName::new("public", "orders");
        let mut c = Catalog::default();
        c.schemas.insert("public".into(), Namespace::default());
        c.tables.insert(name.clone(), table);
        c.facts.server_version_num = 160000;
        c.facts.tables.insert(name, TableFacts { rows: Some(12_000_000), bytes: 12_000_000_000 });
        c
    }

    #[test]
    fn a_step_that_blocks_writes_longer_than_the_window_is_a_blocker() {
        let (current, desired) = (orders("integer"), orders("bigint"));
        let options = |window: u64| PlanOptions {
            allow_downtime: true,
            downtime_window: Some(std::time::Duration::from_secs(window)),
            ..PlanOptions::default()
        };
        // The rewrite takes about 3 minutes under ACCESS EXCLUSIVE: inside a 5-minute window.
        let within = plan(&current, &desired, &options(300));
        assert_eq!(within.blockers, vec![]);
        let rewrite = within.steps().map(|(_, s)| s).find(|s| s.rewrites_table).expect("a rewrite");
        assert_eq!(rewrite.estimate.as_ref().map(|e| e.seconds), Some(190.7));

        let outside = plan(&current, &desired, &options(60));
        assert_eq!(
            outside.blockers,
            vec![Blocker {
                code: DOWNTIME_WINDOW_EXCEEDED,
                sql: rewrite.sql.clone(),
                message: "in the expand phase this step blocks writes to public.orders for about 3 minutes (estimated on 12,000,000 rows), longer than the downtime window of 1 minute.".into(),
                options: vec![
                    "widen the downtime window to at least 4 minutes".into(),
                    "ask for zero downtime, so the change is planned online where a recipe exists".into(),
                    "make the change in smaller parts (one table, or one partition, at a time)".into(),
                ],
                hazards: vec![],
            }]
        );
        // The step stays, so the reviewer sees what the blocker is about.
        assert_eq!(outside.phases, within.phases);
        // No window: nothing is measured against one.
        let unbounded = PlanOptions { allow_downtime: true, ..PlanOptions::default() };
        assert_eq!(plan(&current, &desired, &unbounded).blockers, vec![]);
    }
}
