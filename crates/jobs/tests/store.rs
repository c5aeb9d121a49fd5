//! The store's invariants, checked on both backends: SQLite in a temp dir and PostgreSQL in a
//! fresh database per test.

use std::collections::BTreeSet;
use std::time::Duration;

use cutover_jobs::{NewJob, OutboxState, Store};
use cutover_test_support::TestDb;
use serde_json::json;

async fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("cutover.db").display());
    (Store::open(&url).await.expect("open sqlite"), dir)
}

async fn postgres() -> (Store, TestDb) {
    let db = TestDb::new().await;
    (Store::open(&db.url()).await.expect("open postgres"), db)
}

fn job(key: &str, n: i64) -> NewJob {
    NewJob { kind: "test".into(), key: key.into(), payload: json!({ "n": n }) }
}

const LEASE: Duration = Duration::from_secs(30);

async fn deliveries_are_recorded_once(store: Store) {
    assert!(store.record_delivery("d-1", "Issue", Some(&job("ENG-1", 1))).await.unwrap());
    assert!(!store.record_delivery("d-1", "Issue", Some(&job("ENG-1", 2))).await.unwrap());
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.deliveries, stats.jobs_queued), (1, 1));
    let claimed = store.claim_job("w", LEASE).await.unwrap().expect("one job");
    assert_eq!(claimed.payload, json!({ "n": 1 }));
    assert_eq!(claimed.attempt, 1);
}

async fn jobs_of_one_key_run_in_order(store: Store) {
    store.enqueue(&job("ENG-1", 1)).await.unwrap();
    store.enqueue(&job("ENG-1", 2)).await.unwrap();
    store.enqueue(&job("ENG-2", 3)).await.unwrap();
    let first = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    assert_eq!(first.payload["n"], 1);
    // ENG-1's second job waits for the first; ENG-2's is free.
    let second = store.claim_job("w2", LEASE).await.unwrap().unwrap();
    assert_eq!(second.payload["n"], 3);
    assert!(store.claim_job("w3", LEASE).await.unwrap().is_none());
    store.finish_job(first.id).await.unwrap();
    let third = store.claim_job("w3", LEASE).await.unwrap().unwrap();
    assert_eq!(third.payload["n"], 2);
}

async fn expired_leases_are_reclaimed(store: Store) {
    store.enqueue(&job("ENG-1", 1)).await.unwrap();
    let first = store.claim_job("dead-worker", Duration::from_millis(50)).await.unwrap().unwrap();
    assert!(store.claim_job("w2", LEASE).await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(80)).await;
    let again = store.claim_job("w2", LEASE).await.unwrap().expect("reclaimed after the lease");
    assert_eq!((again.id, again.attempt), (first.id, 2));
}

async fn retried_jobs_wait_and_failed_jobs_stop(store: Store) {
    store.enqueue(&job("ENG-1", 1)).await.unwrap();
    let j = store.claim_job("w", LEASE).await.unwrap().unwrap();
    store.retry_job(j.id, Duration::from_millis(60), "Linear is down").await.unwrap();
    assert!(store.claim_job("w", LEASE).await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(80)).await;
    let j = store.claim_job("w", LEASE).await.unwrap().unwrap();
    assert_eq!(j.attempt, 2);
    store.fail_job(j.id, "gave up").await.unwrap();
    assert!(store.claim_job("w", LEASE).await.unwrap().is_none());
    assert_eq!(store.stats().await.unwrap().jobs_failed, 1);
}

async fn a_running_job_sees_what_was_queued_after_it(store: Store) {
    store.enqueue(&job("ENG-1", 1)).await.unwrap();
    store.enqueue(&job("ENG-1", 2)).await.unwrap();
    store.enqueue(&job("ENG-2", 3)).await.unwrap();
    let running = store.claim_job("w", LEASE).await.unwrap().unwrap();
    assert_eq!(running.payload["n"], 1);
    assert_eq!(store.queued_after("ENG-1", running.id).await.unwrap(), [json!({ "n": 2 })]);
    store.finish_job(running.id).await.unwrap();
    let next = store.claim_job("w", LEASE).await.unwrap().unwrap();
    store.finish_job(next.id).await.unwrap();
    let last = store.claim_job("w", LEASE).await.unwrap().unwrap();
    store.finish_job(last.id).await.unwrap();
    assert!(store.queued_after("ENG-1", running.id).await.unwrap().is_empty(), "done jobs are not waiting");
}

async fn flows_round_trip(store: Store) {
    assert_eq!(store.load_flow("s-1").await.unwrap(), None);
    store.save_flow("s-1", &json!({ "stage": "planned" })).await.unwrap();
    store.save_flow("s-1", &json!({ "stage": "approved", "n": 2 })).await.unwrap();
    assert_eq!(store.load_flow("s-1").await.unwrap(), Some(json!({ "stage": "approved", "n": 2 })));
}

async fn outbox_keys_are_idempotent_and_ordered(store: Store) {
    let a = store.outbox_put("f1", "f1:comment", "id-a", &json!({ "op": "a" })).await.unwrap();
    let again = store.outbox_put("f1", "f1:comment", "id-other", &json!({ "op": "changed" })).await.unwrap();
    assert_eq!(again, a, "a second put under the same key returns the first item unchanged");
    assert_eq!(a.entity_id, "id-a");
    store.outbox_put("f1", "f1:issue", "id-b", &json!({ "op": "b" })).await.unwrap();
    store.outbox_put("f2", "f2:comment", "id-c", &json!({ "op": "c" })).await.unwrap();

    let first = store.outbox_claim("w", LEASE).await.unwrap().unwrap();
    assert_eq!((first.key.as_str(), first.attempts), ("f1:comment", 1));
    // f1's second write waits behind its first; f2 is independent.
    let second = store.outbox_claim("w", LEASE).await.unwrap().unwrap();
    assert_eq!(second.key, "f2:comment");
    assert!(store.outbox_claim("w", LEASE).await.unwrap().is_none());

    store.outbox_retry(first.id, Duration::ZERO, "HTTP 502").await.unwrap();
    let retried = store.outbox_claim("w", LEASE).await.unwrap().unwrap();
    assert_eq!((retried.key.as_str(), retried.attempts), ("f1:comment", 2));
    assert_eq!(retried.last_error.as_deref(), Some("HTTP 502"));
    store.outbox_done(retried.id, &json!({ "id": "id-a" })).await.unwrap();
    let third = store.outbox_claim("w", LEASE).await.unwrap().unwrap();
    assert_eq!(third.key, "f1:issue");
    store.outbox_fail(third.id, "invalid input").await.unwrap();

    let items = store.outbox_items("f1").await.unwrap();
    let states: Vec<_> = items.iter().map(|i| (i.key.as_str(), i.state)).collect();
    assert_eq!(states, [("f1:comment", OutboxState::Done), ("f1:issue", OutboxState::Failed)]);
    assert_eq!(items[0].result, Some(json!({ "id": "id-a" })));
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test] async fn $name() { let (store, _dir) = super::sqlite().await; super::$name(store).await; })*
        }
        mod on_postgres {
            $(#[tokio::test] async fn $name() { let (store, _db) = super::postgres().await; super::$name(store).await; })*
        }
    };
}

both_backends!(
    deliveries_are_recorded_once,
    jobs_of_one_key_run_in_order,
    expired_leases_are_reclaimed,
    retried_jobs_wait_and_failed_jobs_stop,
    flows_round_trip,
    a_running_job_sees_what_was_queued_after_it,
    outbox_keys_are_idempotent_and_ordered,
);

#[tokio::test]
async fn postgres_workers_never_claim_the_same_job() {
    let db = TestDb::new().await;
    let setup = Store::open(&db.url()).await.unwrap();
    for n in 0..40 {
        setup.enqueue(&job(&format!("ENG-{n}"), n)).await.unwrap();
    }
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = Store::open(&db.url()).await.unwrap();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = store.claim_job(&format!("w{w}"), LEASE).await.unwrap() {
                mine.push(job.payload["n"].as_i64().unwrap());
                store.finish_job(job.id).await.unwrap();
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let unique: BTreeSet<_> = all.iter().copied().collect();
    assert_eq!(all.len(), 40, "every job claimed exactly once: {all:?}");
    assert_eq!(unique.len(), 40);
}

#[tokio::test]
async fn a_bad_store_url_is_one_clear_error() {
    let err = Store::open("mysql://x").await.unwrap_err();
    assert_eq!(err.to_string(), "store URL \"mysql://x\" is neither sqlite://PATH nor postgres://…");
}

#[tokio::test]
async fn a_restarted_sqlite_process_takes_back_what_the_dead_one_held() {
    let (store, dir) = sqlite().await;
    store.enqueue(&job("ENG-1", 1)).await.unwrap();
    store.outbox_put("f", "f:1", "e1", &json!({})).await.unwrap();
    let held = store.claim_job("dead", LEASE).await.unwrap().unwrap();
    store.outbox_claim("dead", LEASE).await.unwrap().unwrap();
    drop(store);
    let reopened = Store::open(&format!("sqlite://{}", dir.path().join("cutover.db").display())).await.unwrap();
    assert!(reopened.claim_job("new", LEASE).await.unwrap().is_none(), "still leased");
    assert_eq!(reopened.recover_after_restart().await.unwrap(), 1);
    let again = reopened.claim_job("new", LEASE).await.unwrap().expect("released");
    assert_eq!((again.id, again.attempt), (held.id, 2));
    let write = reopened.outbox_claim("new", LEASE).await.unwrap().expect("released");
    assert_eq!(write.attempts, 2);
}
