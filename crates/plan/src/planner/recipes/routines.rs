//! Routines: created or replaced with `check_function_bodies` off, dropped in contract.

use super::{Recipe, carry, draft, hazard, rollback, simple, why};
use crate::diff::Change;
use crate::hazard::HazardCode;
use crate::locks::Operation;
use crate::planner::PlanCtx;
use crate::planner::model::PhaseName;
use cutover_schema::FunctionId;
use cutover_sql::ddl::{self, IfExists, Stmt};

use PhaseName::*;

/// A routine created or replaced: catalog only, with `check_function_bodies` off in the step.
pub(super) fn create_function(ctx: &PlanCtx, change: &Change, definition: &str) -> Recipe {
    // Each step runs in its own transaction, so the session setting the diff starts
    // with goes into the step itself.
    let sql = ddl::without_body_checks(&change.stmt.to_string());
    // The routine this definition belongs to, by its identity in the desired catalog.
    let id = ctx.desired.functions.iter().find(|(_, f)| f.definition == definition).map(|(id, _)| id);
    let previous = id.and_then(|id| ctx.current.functions.get(id)).filter(|f| f.definition != *definition);
    let s = simple(ctx, change, Operation::CatalogOnly, None);
    let s = rollback(
        s,
        Some(match previous {
            Some(f) => ddl::without_body_checks(&f.definition),
            None => ctx
                .desired
                .functions
                .iter()
                .find(|(_, f)| f.definition == definition)
                .map(|(id, f)| IfExists(&Stmt::DropFunction { id: id.clone(), kind: f.kind }).to_string())
                .unwrap_or_default(),
        }),
    );
    let mut s = why(s, "Creates or replaces a routine; catalog only, no table lock.");
    s.sql = sql;
    Ok(vec![draft(Expand, carry(s, change))])
}

/// A routine dropped in contract; its definition is the rollback.
pub(super) fn drop_function(ctx: &PlanCtx, change: &Change, id: &FunctionId) -> Recipe {
    let s = simple(ctx, change, Operation::CatalogOnly, None);
    let s = rollback(s, ctx.current.functions.get(id).map(|f| ddl::without_body_checks(&f.definition)));
    let s = why(s, "Dropped once no running application version calls it.");
    let s = hazard(
        s,
        HazardCode::BreaksRunningCode,
        format!("the application version running before this deploy may still call {id}"),
    );
    Ok(vec![draft(Contract, carry(s, change))])
}
