//! `cutover serve`: the HTTP side. `POST /webhooks/linear`, `GET /healthz`, `GET /metrics`.
//! `/healthz` answers 503 when the store is unreachable or a worker loop has stopped, naming
//! the loop, so a supervisor restarts the process.

use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use cutover_linear::webhook::{DeliveryHeaders, MAX_BODY_BYTES};

use crate::intake::Intake;
use crate::worker::Loops;

/// The routes; `loops` are the worker loops `/healthz` reports on.
pub fn router(intake: Intake, loops: Loops) -> Router {
    Router::new()
        .route("/webhooks/linear", post(webhook))
        .route("/metrics", get(metrics))
        .with_state(intake.clone())
        .route("/healthz", get(healthz).with_state((intake, loops)))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

async fn webhook(State(intake): State<Intake>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let answer = intake
        .receive(
            DeliveryHeaders {
                signature: get("linear-signature"),
                delivery: get("linear-delivery"),
                event: get("linear-event"),
            },
            &body,
        )
        .await;
    (StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_REQUEST), answer.body)
}

async fn healthz(State((intake, loops)): State<(Intake, Loops)>) -> impl IntoResponse {
    let mut problems: Vec<String> =
        loops.stopped().into_iter().map(|(name, reason)| format!("the {name} loop stopped: {reason}")).collect();
    if let Err(err) = intake.store.stats().await {
        problems.push(format!("store unavailable: {err}"));
    }
    if problems.is_empty() {
        (StatusCode::OK, "ok\n".to_string())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, problems.join("\n") + "\n")
    }
}

async fn metrics(State(intake): State<Intake>) -> impl IntoResponse {
    let c = &intake.counters;
    let mut out = String::from(
        "# HELP cutover_webhook_deliveries_total Linear webhook deliveries by outcome.\n# TYPE cutover_webhook_deliveries_total counter\n",
    );
    for (result, n) in [
        ("accepted", c.accepted.load(Ordering::Relaxed)),
        ("duplicate", c.duplicate.load(Ordering::Relaxed)),
        ("ignored", c.ignored.load(Ordering::Relaxed)),
        ("rejected", c.rejected.load(Ordering::Relaxed)),
    ] {
        out.push_str(&format!("cutover_webhook_deliveries_total{{result=\"{result}\"}} {n}\n"));
    }
    if let Ok(s) = intake.store.stats().await {
        out.push_str("# HELP cutover_jobs Jobs in the store by state.\n# TYPE cutover_jobs gauge\n");
        for (state, n) in
            [("queued", s.jobs_queued), ("running", s.jobs_running), ("done", s.jobs_done), ("failed", s.jobs_failed)]
        {
            out.push_str(&format!("cutover_jobs{{state=\"{state}\"}} {n}\n"));
        }
        out.push_str("# HELP cutover_outbox_writes Writes to Linear in the outbox by state.\n# TYPE cutover_outbox_writes gauge\n");
        for (state, n) in [("pending", s.outbox_pending), ("done", s.outbox_done), ("failed", s.outbox_failed)] {
            out.push_str(&format!("cutover_outbox_writes{{state=\"{state}\"}} {n}\n"));
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
