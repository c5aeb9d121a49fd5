//! The webhook endpoint over HTTP with Linear's signed example deliveries: what is accepted,
//! what is rejected (and that a rejection stores nothing), de-duplication, health and metrics.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use cutover_agent::{Intake, Loops, Wakeup};
use cutover_jobs::Store;
use cutover_linear::webhook::{Identity, WebhookSecret};
use serde_json::Value;

const SECRET: &str = "lin_wh_EXAMPLE_secret_not_real_0123456789";
/// `organizationId` of every example.
const ORGANIZATION: &str = "5d0e6f3a-1b2c-4d3e-8f4a-9b0c1d2e3f4a";

struct Example {
    body: Vec<u8>,
    headers: Value,
    timestamp: u64,
}

fn example(name: &str) -> Example {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/linear-examples");
    let body = std::fs::read(dir.join(format!("{name}.json"))).unwrap();
    let headers: Value =
        serde_json::from_slice(&std::fs::read(dir.join(format!("{name}.headers.json"))).unwrap()).unwrap();
    let timestamp = serde_json::from_slice::<Value>(&body).unwrap()["webhookTimestamp"].as_u64().unwrap();
    Example { body, headers, timestamp }
}

struct Server {
    url: String,
    store: Store,
    loops: Loops,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// The intake with its clock at `now` (the examples are signed in 2026-07).
async fn server(now: u64) -> Server {
    server_in(now, ORGANIZATION).await
}

/// The same, installed in `organization`.
async fn server_in(now: u64, organization: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("s.db").display())).await.unwrap();
    let intake = Intake {
        store: store.clone(),
        secret: WebhookSecret::new(SECRET),
        identity: Arc::new(RwLock::new(Identity {
            organization_id: Some(organization.into()),
            app_user_id: Some("7b3f0c1e-2d4a-4b5c-9d6e-8f7a6b5c4d3e".into()),
            mention_handles: vec!["https://linear.app/acme/profiles/migra".into()],
        })),
        clock: Arc::new(move || now),
        wakeup: Wakeup::default(),
        counters: Default::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let loops = Loops::default();
    let router = cutover_agent::server::router(intake, loops.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    cutover_linear::install_crypto_provider();
    Server { url, store, loops, http: reqwest::Client::new(), _dir: dir }
}

impl Server {
    async fn post(&self, headers: &Value, body: Vec<u8>) -> (u16, String) {
        let mut req = self.http.post(format!("{}/webhooks/linear", self.url)).body(body);
        for (name, value) in headers.as_object().unwrap() {
            req = req.header(name.as_str(), value.as_str().unwrap());
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn jobs_and_deliveries(&self) -> (i64, i64) {
        let stats = self.store.stats().await.unwrap();
        (stats.jobs_queued, stats.deliveries)
    }
}

#[tokio::test]
async fn valid_deliveries_are_stored_as_jobs_once() {
    let ex = example("agent-session-event.created");
    let s = server(ex.timestamp + 5_000).await;
    assert_eq!(s.post(&ex.headers, ex.body.clone()).await, (200, "accepted".into()));
    assert_eq!(s.jobs_and_deliveries().await, (1, 1));
    // Linear retries a delivery with the same Linear-Delivery: acknowledged, not enqueued again.
    assert_eq!(s.post(&ex.headers, ex.body.clone()).await, (200, "duplicate delivery".into()));
    assert_eq!(s.jobs_and_deliveries().await, (1, 1));
    let job = s.store.claim_job("t", std::time::Duration::from_secs(5)).await.unwrap().unwrap();
    assert_eq!(job.key, "b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d0e");
    assert_eq!(job.payload["trigger"], "session_created");
}

#[tokio::test]
async fn every_example_is_accepted_or_ignored_with_its_reason() {
    for (name, answer, jobs) in [
        ("agent-session-event.created", "accepted", 1),
        ("agent-session-event.prompted", "accepted", 1),
        ("issue.update.delegated", "accepted", 1),
        ("comment.create", "accepted", 1),
        ("issue.create", "ignored: issue event other than update", 0),
    ] {
        let ex = example(name);
        let s = server(ex.timestamp).await;
        assert_eq!(s.post(&ex.headers, ex.body.clone()).await, (200, answer.to_string()), "{name}");
        assert_eq!(s.jobs_and_deliveries().await, (jobs, 1), "{name}");
    }
}

#[tokio::test]
async fn forged_stale_and_malformed_deliveries_are_rejected_and_change_nothing() {
    let ex = example("issue.update.delegated");
    let s = server(ex.timestamp + 1_000).await;

    let mut changed = ex.body.clone();
    let at = changed.len() / 3;
    changed[at] ^= 0x20;
    assert_eq!(s.post(&ex.headers, changed).await, (401, "rejected: signature does not match the body".into()));

    let mut wrong = ex.headers.clone();
    wrong["Linear-Signature"] = Value::String(cutover_linear::webhook::sign(&WebhookSecret::new("other"), &ex.body));
    assert_eq!(s.post(&wrong, ex.body.clone()).await.0, 401);

    let mut unsigned = ex.headers.clone();
    unsigned.as_object_mut().unwrap().remove("Linear-Signature");
    assert_eq!(s.post(&unsigned, ex.body.clone()).await, (400, "rejected: missing Linear-Signature header".into()));

    let big = vec![b'x'; 2 << 20];
    assert_eq!(s.post(&ex.headers, big).await.0, 413);
    assert_eq!(s.jobs_and_deliveries().await, (0, 0), "nothing stored");

    let stale = server(ex.timestamp + 61_000).await;
    assert_eq!(
        stale.post(&ex.headers, ex.body.clone()).await,
        (401, "rejected: webhookTimestamp is 61000 ms away from now (limit 60000)".into())
    );
    assert_eq!(stale.jobs_and_deliveries().await, (0, 0));
}

#[tokio::test]
async fn health_and_metrics() {
    let ex = example("agent-session-event.created");
    let s = server(ex.timestamp).await;
    s.post(&ex.headers, ex.body.clone()).await;
    s.post(&ex.headers, ex.body.clone()).await;
    let mut forged = ex.body.clone();
    forged[10] ^= 1;
    s.post(&ex.headers, forged).await;
    let health = s.http.get(format!("{}/healthz", s.url)).send().await.unwrap();
    assert_eq!((health.status().as_u16(), health.text().await.unwrap()), (200, "ok\n".into()));
    let metrics = s.http.get(format!("{}/metrics", s.url)).send().await.unwrap().text().await.unwrap();
    for line in [
        "cutover_webhook_deliveries_total{result=\"accepted\"} 1",
        "cutover_webhook_deliveries_total{result=\"duplicate\"} 1",
        "cutover_webhook_deliveries_total{result=\"rejected\"} 1",
        "cutover_jobs{state=\"queued\"} 1",
        "cutover_outbox_writes{state=\"pending\"} 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} not in:\n{metrics}");
    }
}

/// An OAuth app signs every workspace's deliveries with the same secret: a valid delivery for
/// another workspace that installed the app is refused and stores nothing.
#[tokio::test]
async fn deliveries_for_another_organization_are_refused_and_change_nothing() {
    let ex = example("agent-session-event.created");
    let s = server_in(ex.timestamp, "0a1b2c3d-another-workspace").await;
    assert_eq!(
        s.post(&ex.headers, ex.body.clone()).await,
        (
            403,
            "rejected: delivery for organization Some(\"5d0e6f3a-1b2c-4d3e-8f4a-9b0c1d2e3f4a\"), not the one Cutover is installed in"
                .into()
        )
    );
    assert_eq!(s.jobs_and_deliveries().await, (0, 0), "nothing stored");
}

/// The same signed body re-sent within the freshness window under a new Linear-Delivery id
/// (a replay by whoever saw it) is a duplicate, not a second job.
#[tokio::test]
async fn a_replayed_body_with_a_new_delivery_id_is_not_a_new_job() {
    let ex = example("issue.update.delegated");
    let s = server(ex.timestamp + 2_000).await;
    assert_eq!(s.post(&ex.headers, ex.body.clone()).await, (200, "accepted".into()));
    let mut replayed = ex.headers.clone();
    replayed["Linear-Delivery"] = Value::String("00000000-0000-4000-8000-000000000001".into());
    assert_eq!(s.post(&replayed, ex.body.clone()).await, (200, "duplicate delivery".into()));
    assert_eq!(s.jobs_and_deliveries().await, (1, 1));
}

/// A worker loop that stops turns /healthz into a 503 that names it.
#[tokio::test]
async fn healthz_reports_a_stopped_loop() {
    let ex = example("agent-session-event.created");
    let s = server(ex.timestamp).await;
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    s.loops.spawn("outbox", std::future::pending());
    s.loops.spawn("jobs", async move {
        released.await.ok();
        panic!("the store returned nonsense");
    });
    let health = |s: &Server| {
        let request = s.http.get(format!("{}/healthz", s.url));
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    assert_eq!(health(&s).await, (200, "ok\n".into()), "both loops run");
    release.send(()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = health(&s).await;
        if answer.0 != 200 {
            assert_eq!(answer, (503, "the jobs loop stopped: panicked: the store returned nonsense\n".into()));
            break;
        }
        assert!(Instant::now() < deadline, "/healthz never noticed the stopped loop");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
