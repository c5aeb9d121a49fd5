//! Webhook intake: verify (signature, freshness, organization), classify, de-duplicate (by
//! delivery id and by body digest) and store — nothing else, so Linear gets its 200 well within
//! 5 s. The work happens in the job loop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use cutover_jobs::Store;
use cutover_linear::webhook::{DeliveryHeaders, Identity, WebhookSecret, check_organization, classify, verify};

use crate::worker::{Wakeup, job_for};

/// Where "now" comes from (tests replay Linear's signed examples from the past).
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0))
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct IntakeCounters {
    pub accepted: AtomicU64,
    pub duplicate: AtomicU64,
    pub ignored: AtomicU64,
    pub rejected: AtomicU64,
}

/// What the handler answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

#[derive(Clone)]
pub struct Intake {
    pub store: Store,
    pub secret: WebhookSecret,
    pub identity: Arc<RwLock<Identity>>,
    pub clock: Clock,
    pub wakeup: Wakeup,
    pub counters: Arc<IntakeCounters>,
}

impl std::fmt::Debug for Intake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intake").field("store", &self.store).field("secret", &self.secret).finish_non_exhaustive()
    }
}

impl Intake {
    /// Handles one delivery. Rejections change nothing; an accepted delivery is stored with its
    /// job in one transaction before the 200 goes out, so a crash after that loses nothing.
    pub async fn receive(&self, headers: DeliveryHeaders<'_>, body: &[u8]) -> Answer {
        let verified = verify(&self.secret, headers, body, (self.clock)()).and_then(|delivery| {
            let identity = self.identity.read().unwrap_or_else(|p| p.into_inner());
            check_organization(&delivery, identity.organization_id.as_deref())?;
            Ok((classify(&delivery, &identity), delivery))
        });
        let (trigger, delivery) = match verified {
            Ok(verified) => verified,
            Err(err) => {
                self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                return Answer { status: err.status(), body: format!("rejected: {err}") };
            }
        };
        let job = job_for(&trigger);
        match self.store.record_delivery(&delivery.id, &delivery.digest, &delivery.event, job.as_ref()).await {
            Ok(true) if job.is_some() => {
                self.counters.accepted.fetch_add(1, Ordering::Relaxed);
                self.wakeup.wake();
                Answer { status: 200, body: "accepted".into() }
            }
            Ok(true) => {
                self.counters.ignored.fetch_add(1, Ordering::Relaxed);
                let reason = match trigger {
                    cutover_linear::Trigger::Ignored(reason) => reason,
                    _ => "nothing to do".into(),
                };
                Answer { status: 200, body: format!("ignored: {reason}") }
            }
            Ok(false) => {
                self.counters.duplicate.fetch_add(1, Ordering::Relaxed);
                Answer { status: 200, body: "duplicate delivery".into() }
            }
            // Not stored: Linear retries on a non-200, so nothing is lost.
            Err(err) => Answer { status: 503, body: format!("store unavailable: {err}") },
        }
    }
}
