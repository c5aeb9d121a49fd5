//! One-step backfill plans on a table `t`, for the suites that run the backfill engine
//! (backfill.rs, crash.rs).

use cutover_plan::planner::{Backfill, BackfillKey, BackfillSpec, KeyColumn, Phase, PhaseName, Plan, Step};
use cutover_schema::QualName;

pub fn key(columns: &[(&str, &str)]) -> BackfillKey {
    BackfillKey::Columns {
        columns: columns.iter().map(|(n, t)| KeyColumn { name: n.to_string(), data_type: t.to_string() }).collect(),
    }
}

/// A plan with one backfill step filling `column` of `public.t` with `expression`.
pub fn plan(key: BackfillKey, column: &str, expression: &str, only_where: Option<&str>) -> Plan {
    let spec = BackfillSpec {
        table: QualName::new("public", "t"),
        key,
        column: column.into(),
        expression: expression.into(),
        only_where: only_where.map(str::to_string),
        batch_size: 1000,
    };
    let step = Step {
        sql: format!("UPDATE public.t SET {column} = {expression} -- in batches"),
        transactional: false,
        locks: vec![],
        rewrites_table: false,
        scans_table: false,
        lock_timeout_ms: 2000,
        statement_timeout_ms: 60_000,
        hazards: vec![],
        rollback_sql: None,
        estimate: None,
        why: String::new(),
        backfill: Some(Backfill { table: "public.t".into(), batch_size: 1000, spec: Some(spec) }),
        builds_index: None,
        effect: None,
        postconditions: Vec::new(),
        app_changes: Vec::new(),
    };
    Plan {
        version: 1,
        server_version_num: 150000,
        phases: vec![Phase { name: PhaseName::Backfill, steps: vec![step] }],
        blockers: vec![],
        relations: Default::default(),
    }
}

/// A table of `n` rows; `old` is NULL on every 7th; `touches` counts the updates each row
/// got (a trigger), so a row updated twice shows.
pub fn counted_table(n: u64) -> String {
    format!(
        "CREATE TABLE t (id bigint PRIMARY KEY, old int, new bigint, touches int NOT NULL DEFAULT 0);
CREATE FUNCTION count_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touches := OLD.touches + 1; RETURN NEW; END $$;
CREATE TRIGGER count_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION count_touch();
INSERT INTO t (id, old) SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE g END FROM generate_series(1, {n}) g;
ANALYZE t;"
    )
}
