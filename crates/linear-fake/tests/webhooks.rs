//! Webhook delivery against a local receiver: headers, a signature verifiable over the exact
//! received bytes, re-stamped retries on the (compressed) 1 min / 1 h / 6 h ladder.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use cutover_linear_fake::{DeliveryConfig, FakeLinear, Workspace, deliver};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

const SECRET: &str = "lin_wh_test_secret";

#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    /// Status per attempt; the last one repeats.
    script: Arc<Vec<u16>>,
    delay: Duration,
}

async fn hook(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let attempt = {
        let mut received = receiver.received.lock().expect("lock");
        received.push((headers, body));
        received.len() - 1
    };
    tokio::time::sleep(receiver.delay).await;
    let status = receiver.script.get(attempt).or(receiver.script.last()).copied().unwrap_or(200);
    StatusCode::from_u16(status).expect("status")
}

async fn receiver(script: Vec<u16>, delay: Duration) -> (String, Receiver) {
    let receiver = Receiver { received: Arc::default(), script: Arc::new(script), delay };
    let app = Router::new().route("/hooks/linear", post(hook)).with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let url = format!("http://{}/hooks/linear", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, receiver)
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// What a receiver does: HMAC over the raw bytes, constant-time compare.
fn verify(body: &[u8], signature: &str) -> bool {
    let Ok(expected) = hex::decode(signature) else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

async fn event() -> (FakeLinear, Value) {
    let fake = FakeLinear::start(Workspace::acme()).await.expect("fake");
    let human = fake.human_user_id();
    fake.create_issue("ENG", "Add an index", "", &human).expect("issue");
    let (_, event) = fake.delegate_to_app("ENG-1").expect("delegate");
    (fake, event)
}

#[tokio::test]
async fn delivery_is_signed_and_retried_on_the_ladder_until_200() {
    let (_fake, event) = event().await;
    let (url, receiver) = receiver(vec![500, 204, 200], Duration::ZERO).await;
    let config = DeliveryConfig::scaled(1e-4); // 6 ms, 360 ms, 2.16 s
    let outcome = deliver(&url, SECRET, "AgentSessionEvent", &event, &config).await;

    assert!(outcome.delivered());
    let statuses: Vec<Option<u16>> = outcome.attempts.iter().map(|a| a.status).collect();
    // 204 is not 200: Linear counts it as a failure.
    assert_eq!(statuses, vec![Some(500), Some(204), Some(200)]);
    assert!(outcome.attempts[1].started_after >= Duration::from_millis(6));
    assert!(outcome.attempts[2].started_after - outcome.attempts[1].started_after >= Duration::from_millis(360));

    let received = receiver.received.lock().expect("lock").clone();
    assert_eq!(received.len(), 3);
    let mut stamps = Vec::new();
    for ((headers, body), attempt) in received.iter().zip(&outcome.attempts) {
        let signature = header(headers, "linear-signature");
        assert!(verify(body, &signature), "signature over the received bytes");
        assert_eq!(signature, attempt.signature);
        assert_eq!(body, &attempt.body);
        assert_eq!(header(headers, "linear-delivery"), outcome.delivery_id);
        assert_eq!(header(headers, "linear-event"), "AgentSessionEvent");
        assert_eq!(header(headers, "user-agent"), "Linear-Webhook");
        assert_eq!(header(headers, "content-type"), "application/json; charset=utf-8");
        let parsed: Value = serde_json::from_slice(body).expect("json body");
        // Compact JSON: the exact bytes are the compact serialization.
        assert_eq!(body.as_ref(), parsed.to_string().as_bytes());
        let stamp = parsed["webhookTimestamp"].as_i64().expect("stamp");
        assert_eq!(header(headers, "linear-timestamp"), stamp.to_string());
        assert_eq!(stamp, attempt.webhook_timestamp);
        // Apart from the stamp, every attempt carries the same event.
        let mut unstamped = parsed.clone();
        unstamped["webhookTimestamp"] = event["webhookTimestamp"].clone();
        assert_eq!(unstamped, event);
        stamps.push(stamp);
    }
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "re-stamped: {stamps:?}");
    assert!(uuid::Uuid::parse_str(&outcome.delivery_id).is_ok());
}

#[tokio::test]
async fn a_receiver_slower_than_the_timeout_fails_every_attempt() {
    let (_fake, event) = event().await;
    let (url, receiver) = receiver(vec![200], Duration::from_millis(400)).await;
    let config = DeliveryConfig::scaled(1e-6).with_timeout(Duration::from_millis(100));
    let outcome = deliver(&url, SECRET, "AgentSessionEvent", &event, &config).await;
    assert!(!outcome.delivered());
    assert_eq!(outcome.attempts.len(), 4, "first try and three retries");
    assert!(outcome.attempts.iter().all(|a| a.status.is_none()));
    assert!(outcome.attempts[0].error.as_deref().is_some_and(|e| e.starts_with("no answer within the timeout")));
    assert_eq!(receiver.received.lock().expect("lock").len(), 4);
}

#[tokio::test]
async fn an_unreachable_receiver_is_reported_per_attempt() {
    let (_fake, event) = event().await;
    // Bind and drop to get a port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hooks", listener.local_addr().expect("addr"));
    drop(listener);
    let config = DeliveryConfig { timeout: Duration::from_secs(1), retry_delays: vec![Duration::from_millis(1)] };
    let outcome = deliver(&url, SECRET, "Issue", &event, &config).await;
    assert_eq!(outcome.attempts.len(), 2);
    assert!(outcome.attempts.iter().all(|a| a.status.is_none() && a.error.is_some()));
}
