//! Delegations made while Cutover was not running. Linear retries a webhook three times
//! (after 1 minute, 1 hour and 6 hours) and then gives up, so on start-up Cutover asks which
//! open issues are delegated (or assigned) to it and takes up the ones it has never seen.
//! Issues changed since this process started are left to their webhooks, which it is up to
//! receive; a delayed webhook for an issue taken up here joins the flow already under way
//! (see `flow::run_job`).

use crate::flow::{FlowContext, JobError};
use crate::worker::job_for;
use chrono::{DateTime, Utc};
use cutover_linear::Trigger;

/// Queues a delegation job for every open issue delegated or assigned to `app_user_id`
/// that has neither a flow nor a job in the store. Returns their identifiers.
pub async fn missed_delegations(
    ctx: &FlowContext,
    app_user_id: &str,
    started: DateTime<Utc>,
) -> Result<Vec<String>, JobError> {
    let mut queued = Vec::new();
    for issue in ctx.client.issues_delegated_to(app_user_id).await? {
        let updated = issue.updated_at.as_deref().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
        if updated.is_some_and(|t| t >= started) {
            continue; // its webhook comes to this process
        }
        let seen =
            ctx.store.load_flow(&issue.id).await?.is_some() || !ctx.store.queued_after(&issue.id, 0).await?.is_empty();
        if seen {
            continue;
        }
        let trigger = Trigger::IssueDelegated { issue_id: issue.id.clone(), identifier: issue.identifier.clone() };
        if let Some(job) = job_for(&trigger) {
            ctx.store.enqueue(&job).await?;
            queued.push(issue.identifier);
        }
    }
    Ok(queued)
}
