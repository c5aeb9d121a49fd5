//! Views: created in expand; dropped in contract, or dropped and created again around a
//! change under them.

use super::{Recipe, carry, draft, hazard, rollback, step, why};
use crate::diff::Change;
use crate::hazard::HazardCode;
use crate::locks::Operation;
use crate::planner::PlanCtx;
use crate::planner::model::PhaseName;
use cutover_schema::{QualName, View};
use cutover_sql::ddl::{IfExists, Stmt};

use PhaseName::*;

/// A view created in expand.
pub(super) fn create_view(ctx: &PlanCtx, change: &Change, name: &QualName, view: &View) -> Recipe {
    let mut s = step(ctx, change.stmt.to_string(), Operation::CreateOrReplaceView, name, None);
    s.hazards.clear();
    let s = rollback(
        s,
        Some(IfExists(&Stmt::DropView { name: name.clone(), materialized: view.materialized }).to_string()),
    );
    let text = if view.materialized {
        "Creates the materialized view; populating it runs its query once."
    } else {
        "Creates the view; catalog only."
    };
    Ok(vec![draft(Expand, carry(why(s, text), change))])
}

/// A view dropped in contract, or in expand when it is created again right after.
pub(super) fn drop_view(ctx: &PlanCtx, change: &Change, name: &QualName) -> Recipe {
    let mut s = step(ctx, change.stmt.to_string(), Operation::DropView, name, None);
    s.hazards.clear();
    let restore = ctx
        .current
        .views
        .get(name)
        .map(|v| Stmt::CreateView { name: name.clone(), view: Box::new(v.clone()) }.to_string());
    let s = rollback(s, restore);
    if ctx.desired.views.contains_key(name) {
        // Dropped to be created again (its query or something under it changes).
        let s = hazard(
            s,
            HazardCode::BreaksRunningCode,
            format!("queries on {name} fail until it is created again a few statements later"),
        );
        return Ok(vec![draft(
            Expand,
            carry(
                why(
                    s,
                    "Dropped only to be created again with its new definition; the gap lasts as long as the statements in between.",
                ),
                change,
            ),
        )]);
    }
    let s = hazard(
        s,
        HazardCode::BreaksRunningCode,
        format!("the application version running before this deploy may still use {name}"),
    );
    Ok(vec![draft(Contract, carry(why(s, "Dropped once no running application version reads it."), change))])
}
