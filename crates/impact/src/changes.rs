//! The plan's changes that application code may notice, with the phases around them.

use crate::Affected;
use cutover_plan::planner::Plan;

/// Each change of `plan`'s `app_changes` once, in plan order, with the phase it must come
/// before (the phase of the step that makes it) and the plan's phase before that one.
pub fn affected(plan: &Plan) -> Vec<Affected> {
    let mut out: Vec<Affected> = Vec::new();
    for (i, phase) in plan.phases.iter().enumerate() {
        let after = i.checked_sub(1).map(|p| plan.phases[p].name);
        for step in &phase.steps {
            for change in &step.app_changes {
                if !out.iter().any(|a| a.change == *change) {
                    out.push(Affected { change: change.clone(), before: phase.name, after });
                }
            }
        }
    }
    out
}
