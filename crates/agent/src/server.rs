//! `cutover serve`: the HTTP side. `POST /webhooks/linear`, `GET /healthz`, `GET /metrics`.

use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use cutover_linear::webhook::{DeliveryHeaders, MAX_BODY_BYTES};

use crate::intake::Intake;

pub fn router(intake: Intake) -> Router {
    Router::new()
        .route("/webhooks/linear", post(webhook))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(intake)
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

async fn healthz(State(intake): State<Intake>) -> impl IntoResponse {
    match intake.store.stats().await {
        Ok(_) => (StatusCode::OK, "ok\n".to_string()),
        Err(err) => (StatusCode::SERVICE_UNAVAILABLE, format!("store unavailable: {err}\n")),
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
