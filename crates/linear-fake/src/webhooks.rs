//! Webhook delivery as Linear does it: signed compact JSON, `Linear-*` headers, success only
//! on HTTP 200 within the timeout, and the 1 min / 1 h / 6 h retry ladder (scalable, so tests
//! can compress hours into milliseconds).
//!
//! Each attempt re-stamps `webhookTimestamp` (receivers reject bodies older than 60 s, so a
//! retry with the original stamp could never succeed), serializes the body once and signs
//! exactly the bytes it sends; all attempts of one delivery share one `Linear-Delivery` id.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Timeout and retry ladder of a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryConfig {
    /// How long the receiver has to answer 200 (Linear: 5 s).
    pub timeout: Duration,
    /// Delays before each retry (Linear: 1 min, 1 h, 6 h).
    pub retry_delays: Vec<Duration>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            timeout: Duration::from_secs(5),
            retry_delays: vec![Duration::from_secs(60), Duration::from_secs(3_600), Duration::from_secs(6 * 3_600)],
        }
    }
}

impl DeliveryConfig {
    /// Linear's ladder with every retry delay multiplied by `factor` (the timeout is kept):
    /// `DeliveryConfig::scaled(1e-5)` waits 0.6 ms, 36 ms and 216 ms.
    pub fn scaled(factor: f64) -> Self {
        let mut config = DeliveryConfig::default();
        for delay in &mut config.retry_delays {
            *delay = delay.mul_f64(factor.max(0.0));
        }
        config
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// The HTTP status, or `None` when the receiver did not answer in time or at all.
    pub status: Option<u16>,
    /// Transport error or timeout, if any.
    pub error: Option<String>,
    /// `webhookTimestamp` (ms) stamped into this attempt's body.
    pub webhook_timestamp: i64,
    /// `Linear-Signature` of this attempt.
    pub signature: String,
    /// The exact body bytes sent.
    pub body: bytes::Bytes,
    /// When the attempt started, relative to the first attempt.
    pub started_after: Duration,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status == Some(200)
    }
}

/// All attempts of one delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryOutcome {
    /// `Linear-Delivery`, the same for every attempt.
    pub delivery_id: String,
    pub attempts: Vec<Attempt>,
}

impl DeliveryOutcome {
    pub fn delivered(&self) -> bool {
        self.attempts.last().is_some_and(Attempt::succeeded)
    }
}

/// Lowercase hex HMAC-SHA256 of `body` with `secret`: the `Linear-Signature` header.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A plain-HTTP client for loopback receivers. TLS is configured (ring, no trusted roots)
/// only because reqwest is built without a default crypto provider; https receivers are not
/// supported.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder()
        .timeout(timeout)
        .no_proxy()
        .tls_backend_preconfigured(tls)
        .build()
        .map_err(|e| format!("HTTP client setup failed: {e}"))
}

/// Delivers one event to `url`, retrying on Linear's ladder until an attempt gets HTTP 200.
///
/// `event_type` is the `Linear-Event` header (`Issue`, `Comment`, `AgentSessionEvent`, ...).
pub async fn deliver(
    url: &str,
    secret: &str,
    event_type: &str,
    payload: &Value,
    config: &DeliveryConfig,
) -> DeliveryOutcome {
    let delivery_id = uuid::Uuid::new_v4().to_string();
    let started = Instant::now();
    let mut attempts = Vec::new();
    let client = match http_client(config.timeout) {
        Ok(client) => client,
        Err(error) => {
            attempts.push(Attempt {
                status: None,
                error: Some(error),
                webhook_timestamp: Utc::now().timestamp_millis(),
                signature: String::new(),
                body: bytes::Bytes::new(),
                started_after: Duration::ZERO,
            });
            return DeliveryOutcome { delivery_id, attempts };
        }
    };
    let delays = std::iter::once(Duration::ZERO).chain(config.retry_delays.iter().copied());
    for delay in delays {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let attempt = attempt(&client, url, secret, event_type, payload, &delivery_id, started).await;
        let done = attempt.succeeded();
        attempts.push(attempt);
        if done {
            break;
        }
    }
    DeliveryOutcome { delivery_id, attempts }
}

async fn attempt(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    event_type: &str,
    payload: &Value,
    delivery_id: &str,
    started: Instant,
) -> Attempt {
    let started_after = started.elapsed();
    let webhook_timestamp = Utc::now().timestamp_millis();
    let mut payload = payload.clone();
    if let Value::Object(map) = &mut payload {
        map.insert("webhookTimestamp".into(), Value::from(webhook_timestamp));
    }
    let body = bytes::Bytes::from(payload.to_string());
    let signature = sign(secret, &body);
    let result = client
        .post(url)
        .header("Accept-Charset", "utf-8")
        .header("Content-Type", "application/json; charset=utf-8")
        .header("Linear-Delivery", delivery_id)
        .header("Linear-Event", event_type)
        .header("Linear-Signature", &signature)
        .header("Linear-Timestamp", webhook_timestamp.to_string())
        .header("User-Agent", "Linear-Webhook")
        .body(body.clone())
        .send()
        .await;
    let (status, error) = match result {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(e) if e.is_timeout() => (None, Some(format!("no answer within the timeout: {e}"))),
        Err(e) => (None, Some(e.to_string())),
    };
    Attempt { status, error, webhook_timestamp, signature, body, started_after }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example files are signed over their exact bytes with the documented test secret.
    #[test]
    fn signature_matches_the_example_files() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/linear-examples");
        let body = std::fs::read(format!("{dir}/issue.create.json")).expect("example body");
        let headers: Value = serde_json::from_slice(
            &std::fs::read(format!("{dir}/issue.create.headers.json")).expect("example headers"),
        )
        .expect("headers json");
        assert_eq!(
            sign("lin_wh_EXAMPLE_secret_not_real_0123456789", &body),
            headers["Linear-Signature"].as_str().expect("signature")
        );
    }

    #[test]
    fn scaled_ladder_keeps_proportions() {
        let config = DeliveryConfig::scaled(0.001);
        assert_eq!(
            config.retry_delays,
            vec![Duration::from_millis(60), Duration::from_millis(3_600), Duration::from_millis(21_600)]
        );
        assert_eq!(config.timeout, Duration::from_secs(5));
    }
}
