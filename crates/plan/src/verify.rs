//! `cutover verify`, the pure part: the checks a plan's completed phases promise, derived
//! from the postconditions of their steps; the user's own checks; and the one rendering of
//! the results (human and JSON).
//!
//! A later step can undo what an earlier one promised (a column added in expand is renamed
//! by the switch; a trigger created in expand is dropped in contract), so the checks are the
//! *net* state after the completed phases: the postconditions are replayed in plan order, a
//! later fact about an object replaces an earlier one, and an object that is gone takes
//! every check that reads it (a backfill check on its column) with it.

use crate::planner::{PhaseName, Plan, Postcondition};
use cutover_schema::QualName;
use cutover_sql::quote;
use serde::Serialize;

/// One check to run on the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// A postcondition of the completed phases.
    Post(Postcondition),
    /// How many rows a touched table holds (reported, never a failure).
    RowCount(QualName),
}

impl Check {
    /// What the check is about, as the output's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Check::Post(p) => match p {
                Postcondition::Table { .. } => "table",
                Postcondition::Column { .. } => "column",
                Postcondition::Index { .. } => "index",
                Postcondition::Constraint { .. } => "constraint",
                Postcondition::Trigger { .. } => "trigger",
                Postcondition::Filled { .. } => "backfill",
                Postcondition::Agrees { .. } => "checksum",
                Postcondition::View { .. } => "view",
                Postcondition::Routine { .. } => "routine",
                Postcondition::Type { .. } => "type",
                Postcondition::EnumLabels { .. } => "enum",
                Postcondition::Sequence { .. } => "sequence",
                Postcondition::Policy { .. } => "policy",
                Postcondition::RowSecurity { .. } => "row_security",
                Postcondition::Statistics { .. } => "statistics",
                Postcondition::Default { .. } => "default",
                Postcondition::Identity { .. } => "identity",
                Postcondition::Partition { .. } => "partition",
            },
            Check::RowCount(_) => "row_count",
        }
    }

    /// The check in words, as the output's `name`.
    pub fn name(&self) -> String {
        let gone = |exists: bool, what: String, present: &str| {
            if exists { format!("{what} {present}") } else { format!("{what} is gone") }
        };
        // Names are shown quoted where SQL would need it, so a hostile name reads as one name.
        let t = quote::qualified;
        let i = |name: &str| quote::ident(name);
        match self {
            Check::Post(p) => match p {
                Postcondition::Table { table, exists } => gone(*exists, format!("table {}", t(table)), "exists"),
                Postcondition::Column { table, column, exists, not_null } => {
                    let present = if *not_null == Some(true) { "is NOT NULL" } else { "exists" };
                    gone(*exists, format!("column {}.{}", t(table), i(column)), present)
                }
                Postcondition::Index { index, exists, .. } => gone(*exists, format!("index {}", t(index)), "is valid"),
                Postcondition::Constraint { table, name, exists, validated } => {
                    let present = if *validated == Some(true) { "is validated" } else { "exists" };
                    gone(*exists, format!("constraint {} on {}", i(name), t(table)), present)
                }
                Postcondition::Trigger { table, name, exists } => {
                    gone(*exists, format!("trigger {} on {}", i(name), t(table)), "exists")
                }
                Postcondition::Filled { table, column, source: Some(source) } => {
                    format!("{}.{} is backfilled wherever {} is not NULL", t(table), i(column), i(source))
                }
                Postcondition::Filled { table, column, source: None } => {
                    format!("{}.{} is backfilled", t(table), i(column))
                }
                Postcondition::Agrees { table, old, new, .. } => {
                    format!("{}.{} agrees with {}.{}", t(table), i(new), t(table), i(old))
                }
                Postcondition::View { view, materialized, exists } => {
                    let what = if *materialized { "materialized view" } else { "view" };
                    gone(*exists, format!("{what} {}", t(view)), "exists")
                }
                Postcondition::Routine { routine, exists } => {
                    gone(*exists, format!("routine {}({})", t(&routine.name), routine.identity_args), "exists")
                }
                Postcondition::Type { name, exists } => gone(*exists, format!("type {}", t(name)), "exists"),
                Postcondition::EnumLabels { name, labels } => {
                    let labels: Vec<String> = labels.iter().map(|l| quote::literal(l)).collect();
                    format!("enum {} has the labels {} in order", t(name), labels.join(", "))
                }
                Postcondition::Sequence { sequence, exists } => {
                    gone(*exists, format!("sequence {}", t(sequence)), "exists")
                }
                Postcondition::Policy { table, name, exists } => {
                    gone(*exists, format!("policy {} on {}", i(name), t(table)), "exists")
                }
                Postcondition::RowSecurity { table, enabled } => {
                    format!("row-level security is {} on {}", if *enabled { "enabled" } else { "disabled" }, t(table))
                }
                Postcondition::Statistics { statistics, exists } => {
                    gone(*exists, format!("statistics {}", t(statistics)), "exists")
                }
                Postcondition::Default { table, column, default: Some(default) } => {
                    format!("column {}.{} defaults to {default}", t(table), i(column))
                }
                Postcondition::Default { table, column, default: None } => {
                    format!("column {}.{} has no default", t(table), i(column))
                }
                Postcondition::Identity { table, column, always } => match always {
                    Some(always) => format!(
                        "column {}.{} is an identity column GENERATED {}",
                        t(table),
                        i(column),
                        if *always { "ALWAYS" } else { "BY DEFAULT" }
                    ),
                    None => format!("column {}.{} is not an identity column", t(table), i(column)),
                },
                Postcondition::Partition { parent, partition, bound: Some(bound) } => {
                    format!("{} is a partition of {} {}", t(partition), t(parent), cutover_sql::bound::Bound(bound))
                }
                Postcondition::Partition { parent, partition, bound: None } => {
                    format!("{} is detached from {}", t(partition), t(parent))
                }
            },
            Check::RowCount(table) => format!("rows of {}", t(table)),
        }
    }
}

/// The object a postcondition is about, or a data fact about one column.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Subject {
    Table(QualName),
    Column(QualName, String),
    Index(QualName),
    Constraint(QualName, String),
    Trigger(QualName, String),
    Filled(QualName, String),
    Agrees(QualName, String),
    View(QualName),
    Routine(cutover_schema::FunctionId),
    Type(QualName),
    EnumLabels(QualName),
    Sequence(QualName),
    Policy(QualName, String),
    RowSecurity(QualName),
    Statistics(QualName),
    Default(QualName, String),
    Identity(QualName, String),
    Partition(QualName),
}

fn subject(p: &Postcondition) -> Subject {
    match p {
        Postcondition::Table { table, .. } => Subject::Table(table.clone()),
        Postcondition::Column { table, column, .. } => Subject::Column(table.clone(), column.clone()),
        Postcondition::Index { index, .. } => Subject::Index(index.clone()),
        Postcondition::Constraint { table, name, .. } => Subject::Constraint(table.clone(), name.clone()),
        Postcondition::Trigger { table, name, .. } => Subject::Trigger(table.clone(), name.clone()),
        Postcondition::Filled { table, column, .. } => Subject::Filled(table.clone(), column.clone()),
        Postcondition::Agrees { table, new, .. } => Subject::Agrees(table.clone(), new.clone()),
        Postcondition::View { view, .. } => Subject::View(view.clone()),
        Postcondition::Routine { routine, .. } => Subject::Routine(routine.clone()),
        Postcondition::Type { name, .. } => Subject::Type(name.clone()),
        Postcondition::EnumLabels { name, .. } => Subject::EnumLabels(name.clone()),
        Postcondition::Sequence { sequence, .. } => Subject::Sequence(sequence.clone()),
        Postcondition::Policy { table, name, .. } => Subject::Policy(table.clone(), name.clone()),
        Postcondition::RowSecurity { table, .. } => Subject::RowSecurity(table.clone()),
        Postcondition::Statistics { statistics, .. } => Subject::Statistics(statistics.clone()),
        Postcondition::Default { table, column, .. } => Subject::Default(table.clone(), column.clone()),
        Postcondition::Identity { table, column, .. } => Subject::Identity(table.clone(), column.clone()),
        Postcondition::Partition { partition, .. } => Subject::Partition(partition.clone()),
    }
}

/// The table a postcondition reads (an index from a plan made before indexes named theirs:
/// none).
fn table_of(p: &Postcondition) -> Option<&QualName> {
    match p {
        Postcondition::Table { table, .. }
        | Postcondition::Column { table, .. }
        | Postcondition::Constraint { table, .. }
        | Postcondition::Trigger { table, .. }
        | Postcondition::Filled { table, .. }
        | Postcondition::Agrees { table, .. }
        | Postcondition::Policy { table, .. }
        | Postcondition::RowSecurity { table, .. }
        | Postcondition::Default { table, .. }
        | Postcondition::Identity { table, .. } => Some(table),
        Postcondition::Partition { parent, .. } => Some(parent),
        Postcondition::Index { table, .. } => table.as_ref(),
        Postcondition::View { .. }
        | Postcondition::Routine { .. }
        | Postcondition::Type { .. }
        | Postcondition::EnumLabels { .. }
        | Postcondition::Sequence { .. }
        | Postcondition::Statistics { .. } => None,
    }
}

/// The columns a postcondition reads.
fn columns_read(p: &Postcondition) -> Vec<Subject> {
    let col = |t: &QualName, c: &str| Subject::Column(t.clone(), c.to_string());
    match p {
        Postcondition::Column { table, column, .. } => vec![col(table, column)],
        Postcondition::Filled { table, column, source } => {
            let mut out = vec![col(table, column)];
            out.extend(source.iter().map(|s| col(table, s)));
            out
        }
        Postcondition::Agrees { table, old, new, .. } => vec![col(table, old), col(table, new)],
        Postcondition::Default { table, column, .. } | Postcondition::Identity { table, column, .. } => {
            vec![col(table, column)]
        }
        // Other objects a fact is about, which take it with them when they go.
        Postcondition::EnumLabels { name, .. } => vec![Subject::Type(name.clone())],
        Postcondition::Partition { partition, .. } => vec![Subject::Table(partition.clone())],
        _ => Vec::new(),
    }
}

fn exists(p: &Postcondition) -> bool {
    match p {
        Postcondition::Table { exists, .. }
        | Postcondition::Column { exists, .. }
        | Postcondition::Index { exists, .. }
        | Postcondition::Constraint { exists, .. }
        | Postcondition::Trigger { exists, .. }
        | Postcondition::View { exists, .. }
        | Postcondition::Routine { exists, .. }
        | Postcondition::Type { exists, .. }
        | Postcondition::Sequence { exists, .. }
        | Postcondition::Policy { exists, .. }
        | Postcondition::Statistics { exists, .. } => *exists,
        Postcondition::Filled { .. }
        | Postcondition::Agrees { .. }
        | Postcondition::EnumLabels { .. }
        | Postcondition::RowSecurity { .. }
        | Postcondition::Default { .. }
        | Postcondition::Identity { .. }
        | Postcondition::Partition { .. } => true,
    }
}

/// A later fact about the same object keeps what it leaves unsaid from the earlier one
/// (a constraint validated in switch stays validated when a later step mentions it).
fn merge(earlier: &Postcondition, later: Postcondition) -> Postcondition {
    match (earlier, later) {
        (
            Postcondition::Column { not_null: before, exists: true, .. },
            Postcondition::Column { table, column, exists: true, not_null: None },
        ) => Postcondition::Column { table, column, exists: true, not_null: *before },
        (
            Postcondition::Constraint { validated: before, exists: true, .. },
            Postcondition::Constraint { table, name, exists: true, validated: None },
        ) => Postcondition::Constraint { table, name, exists: true, validated: *before },
        (_, later) => later,
    }
}

/// The checks that hold once `completed` phases of `plan` are done: the net postconditions
/// of their steps, then the row count of every table they leave in place.
pub fn checks(plan: &Plan, completed: &[PhaseName]) -> Vec<Check> {
    let mut net: Vec<Postcondition> = Vec::new();
    for phase in plan.phases.iter().filter(|p| completed.contains(&p.name)) {
        for step in &phase.steps {
            for p in &step.postconditions {
                let key = subject(p);
                let mut p = p.clone();
                if let Some(i) = net.iter().position(|e| subject(e) == key) {
                    p = merge(&net.remove(i), p);
                }
                if !exists(&p) {
                    net.retain(|e| {
                        let reads_it = columns_read(e).contains(&key);
                        let on_gone_table = matches!(&key, Subject::Table(t) if table_of(e) == Some(t));
                        !reads_it && !on_gone_table
                    });
                }
                net.push(p);
            }
        }
    }
    let mut tables: Vec<QualName> = net.iter().filter(|p| exists(p)).filter_map(table_of).cloned().collect::<Vec<_>>();
    tables.sort();
    tables.dedup();
    let gone: Vec<&QualName> = net
        .iter()
        .filter_map(|p| match p {
            Postcondition::Table { table, exists: false } => Some(table),
            _ => None,
        })
        .collect();
    tables.retain(|t| !gone.contains(&t));
    net.into_iter().map(Check::Post).chain(tables.into_iter().map(Check::RowCount)).collect()
}

/// What a user check's query must return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// One row whose first value is `true`.
    True,
    /// One row whose first value is zero (a count of offending rows).
    Zero,
    /// Exactly this many rows.
    Rows(u64),
}

impl Expect {
    /// `"true"`, `"zero"` or `"rows:N"`.
    pub fn parse(text: &str) -> Option<Expect> {
        match text {
            "true" => Some(Expect::True),
            "zero" => Some(Expect::Zero),
            _ => text.strip_prefix("rows:").and_then(|n| n.trim().parse().ok()).map(Expect::Rows),
        }
    }
}

/// `[[check]]` of a checks file: SQL whose result must match `expect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCheck {
    pub name: String,
    pub sql: String,
    pub expect: Expect,
}

/// `[[latency]]` of a checks file: SQL whose median time over `runs` must stay within the
/// budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyCheck {
    pub name: String,
    pub sql: String,
    pub budget_ms: u64,
    pub runs: u32,
}

impl LatencyCheck {
    /// The statement_timeout of each run: ten times the budget, at least a second, so a run
    /// far over budget ends instead of holding the check up.
    pub fn statement_timeout_ms(&self) -> u64 {
        self.budget_ms.saturating_mul(10).max(1000)
    }
}

/// How one check went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub kind: String,
    pub ok: bool,
    /// The measured value, or what is wrong.
    pub detail: String,
}

/// The results of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The phases whose postconditions were checked, in plan order.
    pub phases: Vec<PhaseName>,
    pub results: Vec<CheckResult>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| !r.ok).count()
    }

    /// One line per check, then a summary.
    pub fn render_human(&self) -> String {
        let mut out = String::new();
        let phases: Vec<&str> = self.phases.iter().map(|p| p.as_str()).collect();
        out.push_str(&format!(
            "phases verified: {}\n",
            if phases.is_empty() { "none".to_string() } else { phases.join(", ") }
        ));
        for r in &self.results {
            out.push_str(&format!("{} {}: {}\n", if r.ok { "✓" } else { "✗" }, r.name, r.detail));
        }
        let failed = self.failed();
        out.push_str(&format!(
            "{} check(s): {} passed, {failed} failed{}\n",
            self.results.len(),
            self.results.len() - failed,
            if failed == 0 { "" } else { ": verification failed" }
        ));
        out
    }

    /// `{"checks":[{"name","kind","ok","detail"}],"summary":{...}}`.
    pub fn render_json(&self) -> String {
        let failed = self.failed();
        let value = serde_json::json!({
            "checks": self.results,
            "summary": {
                "phases": self.phases,
                "checks": self.results.len(),
                "passed": self.results.len() - failed,
                "failed": failed,
                "ok": failed == 0,
            },
        });
        // A tree of strings, numbers and booleans always serializes.
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::{Phase, Step};

    fn step(postconditions: Vec<Postcondition>) -> Step {
        Step {
            sql: String::new(),
            transactional: true,
            locks: vec![],
            rewrites_table: false,
            scans_table: false,
            lock_timeout_ms: 1,
            statement_timeout_ms: 1,
            hazards: vec![],
            rollback_sql: None,
            estimate: None,
            why: String::new(),
            backfill: None,
            builds_index: None,
            effect: None,
            postconditions,
            app_changes: Vec::new(),
        }
    }

    fn column(c: &str, exists: bool, not_null: Option<bool>) -> Postcondition {
        Postcondition::Column { table: QualName::new("public", "t"), column: c.into(), exists, not_null }
    }

    fn plan() -> Plan {
        let t = QualName::new("public", "t");
        let phase = |name, steps| Phase { name, steps };
        Plan {
            version: 1,
            server_version_num: 150000,
            phases: vec![
                phase(PhaseName::Expand, vec![step(vec![column("c_new", true, None)])]),
                phase(
                    PhaseName::Backfill,
                    vec![step(vec![Postcondition::Filled {
                        table: t.clone(),
                        column: "c_new".into(),
                        source: Some("c".into()),
                    }])],
                ),
                phase(
                    PhaseName::Switch,
                    vec![
                        step(vec![column("c_new", true, Some(true))]),
                        step(vec![column("c_new", false, None), column("c", true, None)]),
                    ],
                ),
                phase(PhaseName::Contract, vec![step(vec![Postcondition::Table { table: t, exists: false }])]),
            ],
            blockers: vec![],
            relations: Default::default(),
        }
    }

    fn names(checks: &[Check]) -> Vec<String> {
        checks.iter().map(Check::name).collect()
    }

    #[test]
    fn checks_are_the_net_state_of_the_completed_phases() {
        let p = plan();
        assert_eq!(
            names(&checks(&p, &[PhaseName::Expand, PhaseName::Backfill])),
            ["column public.t.c_new exists", "public.t.c_new is backfilled wherever c is not NULL", "rows of public.t"]
        );
        // The swap renames the new column away: its checks go with it.
        assert_eq!(
            names(&checks(&p, &[PhaseName::Expand, PhaseName::Backfill, PhaseName::Switch])),
            ["column public.t.c_new is gone", "column public.t.c exists", "rows of public.t"]
        );
        assert_eq!(names(&checks(&p, &PhaseName::ALL)), ["table public.t is gone"]);
    }

    #[test]
    fn names_in_check_names_are_quoted_where_sql_would_quote_them() {
        let check = Check::Post(Postcondition::Index {
            index: QualName::new("public", "k; DROP TABLE x"),
            table: None,
            exists: true,
        });
        assert_eq!(check.name(), "index public.\"k; DROP TABLE x\" is valid");
        assert_eq!(Check::RowCount(QualName::new("public", "orders")).name(), "rows of public.orders");
    }

    #[test]
    fn a_later_mention_keeps_not_null() {
        let merged = merge(&column("c", true, Some(true)), column("c", true, None));
        assert_eq!(merged, column("c", true, Some(true)));
    }

    fn plan_of(steps: Vec<Vec<Postcondition>>) -> Plan {
        Plan {
            version: 1,
            server_version_num: 150000,
            phases: vec![Phase { name: PhaseName::Expand, steps: steps.into_iter().map(step).collect() }],
            blockers: vec![],
            relations: Default::default(),
        }
    }

    #[test]
    fn objects_without_recipes_have_their_checks_and_go_with_what_they_are_about() {
        let t = QualName::new("public", "t");
        let status = QualName::new("public", "status");
        let old = QualName::new("public", "status_old");
        let labels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let p = plan_of(vec![
            // An enum replaced: renamed away, created again, the old one dropped.
            vec![
                Postcondition::Type { name: status.clone(), exists: false },
                Postcondition::Type { name: old.clone(), exists: true },
            ],
            vec![
                Postcondition::Type { name: status.clone(), exists: true },
                Postcondition::EnumLabels { name: status.clone(), labels: labels(&["new", "it's done"]) },
            ],
            vec![Postcondition::Type { name: old.clone(), exists: false }],
            vec![Postcondition::Default { table: t.clone(), column: "c".into(), default: Some("0".into()) }],
            vec![Postcondition::Identity { table: t.clone(), column: "id".into(), always: Some(true) }],
            vec![Postcondition::RowSecurity { table: t.clone(), enabled: true }],
            vec![Postcondition::Routine {
                routine: cutover_schema::FunctionId {
                    name: QualName::new("app", "f"),
                    identity_args: "x integer".into(),
                },
                exists: true,
            }],
            vec![Postcondition::View { view: QualName::new("public", "v"), materialized: true, exists: true }],
            // The column with the default is dropped: its default check goes with it.
            vec![column("c", false, None)],
        ]);
        let checks = checks(&p, &[PhaseName::Expand]);
        assert_eq!(
            names(&checks),
            [
                "type public.status exists",
                "enum public.status has the labels 'new', 'it''s done' in order",
                "type public.status_old is gone",
                "column public.t.id is an identity column GENERATED ALWAYS",
                "row-level security is enabled on public.t",
                "routine app.f(x integer) exists",
                "materialized view public.v exists",
                "column public.t.c is gone",
                "rows of public.t",
            ]
        );
        let kinds: Vec<&str> = checks.iter().map(Check::kind).collect();
        assert_eq!(
            kinds,
            ["type", "enum", "type", "identity", "row_security", "routine", "view", "column", "row_count"]
        );
        // A type that is gone takes its labels check.
        let gone = plan_of(vec![
            vec![Postcondition::EnumLabels { name: status.clone(), labels: labels(&["a"]) }],
            vec![Postcondition::Type { name: status, exists: false }],
        ]);
        assert_eq!(names(&super::checks(&gone, &[PhaseName::Expand])), ["type public.status is gone"]);
    }

    #[test]
    fn defaults_partitions_and_statistics_read_as_sentences() {
        let t = QualName::new("public", "t");
        let p = QualName::new("public", "t_2024");
        let name = |post: Postcondition| Check::Post(post).name();
        assert_eq!(
            name(Postcondition::Default { table: t.clone(), column: "c".into(), default: None }),
            "column public.t.c has no default"
        );
        assert_eq!(
            name(Postcondition::Partition { parent: t.clone(), partition: p.clone(), bound: None }),
            "public.t_2024 is detached from public.t"
        );
        assert_eq!(
            name(Postcondition::Partition {
                parent: t.clone(),
                partition: p,
                bound: Some(cutover_schema::PartitionBound::Default),
            }),
            "public.t_2024 is a partition of public.t DEFAULT"
        );
        assert_eq!(
            name(Postcondition::Statistics { statistics: QualName::new("public", "s"), exists: false }),
            "statistics public.s is gone"
        );
        assert_eq!(
            name(Postcondition::Policy { table: t, name: "own rows".into(), exists: true }),
            "policy \"own rows\" on public.t exists"
        );
    }

    #[test]
    fn expectations_parse() {
        assert_eq!(Expect::parse("true"), Some(Expect::True));
        assert_eq!(Expect::parse("zero"), Some(Expect::Zero));
        assert_eq!(Expect::parse("rows:3"), Some(Expect::Rows(3)));
        assert_eq!(Expect::parse("rows:x"), None);
        assert_eq!(Expect::parse("yes"), None);
    }
}
