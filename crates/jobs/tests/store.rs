//! The store's invariants, checked on both backends: SQLite in a temp dir and PostgreSQL in a
//! fresh database per test.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use cutover_jobs::{Lease, NewJob, OutboxState, Pruned, Store};
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
    assert!(store.record_delivery("d-1", "body-1", "Issue", Some(&job("ENG-1", 1))).await.unwrap());
    assert!(!store.record_delivery("d-1", "body-2", "Issue", Some(&job("ENG-1", 2))).await.unwrap());
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
    assert_eq!(store.finish_job(&first).await.unwrap(), Lease::Held);
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
    assert_eq!(store.retry_job(&j, Duration::from_millis(60), "Linear is down").await.unwrap(), Lease::Held);
    assert!(store.claim_job("w", LEASE).await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(80)).await;
    let j = store.claim_job("w", LEASE).await.unwrap().unwrap();
    assert_eq!(j.attempt, 2);
    assert_eq!(store.fail_job(&j, "gave up").await.unwrap(), Lease::Held);
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
    assert_eq!(store.finish_job(&running).await.unwrap(), Lease::Held);
    let next = store.claim_job("w", LEASE).await.unwrap().unwrap();
    assert_eq!(store.finish_job(&next).await.unwrap(), Lease::Held);
    let last = store.claim_job("w", LEASE).await.unwrap().unwrap();
    assert_eq!(store.finish_job(&last).await.unwrap(), Lease::Held);
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

    assert_eq!(store.outbox_retry(&first, Duration::ZERO, "HTTP 502").await.unwrap(), Lease::Held);
    let retried = store.outbox_claim("w", LEASE).await.unwrap().unwrap();
    assert_eq!((retried.key.as_str(), retried.attempts), ("f1:comment", 2));
    assert_eq!(retried.last_error.as_deref(), Some("HTTP 502"));
    assert_eq!(store.outbox_done(&retried, &json!({ "id": "id-a" })).await.unwrap(), Lease::Held);
    let third = store.outbox_claim("w", LEASE).await.unwrap().unwrap();
    assert_eq!(third.key, "f1:issue");
    assert_eq!(store.outbox_fail(&third, "invalid input").await.unwrap(), Lease::Held);

    let items = store.outbox_items("f1").await.unwrap();
    let states: Vec<_> = items.iter().map(|i| (i.key.as_str(), i.state)).collect();
    assert_eq!(states, [("f1:comment", OutboxState::Done), ("f1:issue", OutboxState::Failed)]);
    assert_eq!(items[0].result, Some(json!({ "id": "id-a" })));
}

/// Claims as `worker` until it gets something, for up to 10 s (a lease of a few ms to run out).
async fn claim_when_free(store: &Store, worker: &str) -> cutover_jobs::Job {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(job) = store.claim_job(worker, LEASE).await.unwrap() {
            return job;
        }
        assert!(Instant::now() < deadline, "{worker} never got the job");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn a_renewed_lease_keeps_a_long_job_from_other_workers(store: Store) {
    store.enqueue(&job("ENG-1", 1)).await.unwrap();
    let running = store.claim_job("w1", Duration::from_millis(50)).await.unwrap().unwrap();
    assert_eq!(store.renew_job(&running, LEASE).await.unwrap(), Lease::Held);
    // Well past the first lease: without the renewal w2 would take the job now.
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(store.claim_job("w2", LEASE).await.unwrap().is_none(), "the renewed job is not taken");
    assert_eq!(store.finish_job(&running).await.unwrap(), Lease::Held);
    assert_eq!(store.stats().await.unwrap().jobs_done, 1);
}

async fn a_worker_whose_lease_was_taken_cannot_settle_the_job(store: Store) {
    store.enqueue(&job("ENG-1", 1)).await.unwrap();
    let stale = store.claim_job("w1", Duration::from_millis(20)).await.unwrap().unwrap();
    let current = claim_when_free(&store, "w2").await;
    assert_eq!((current.id, current.attempt), (stale.id, 2));
    // w1 comes back from a long pause: every settlement is a no-op that says so.
    assert_eq!(store.renew_job(&stale, LEASE).await.unwrap(), Lease::Lost);
    assert_eq!(store.finish_job(&stale).await.unwrap(), Lease::Lost);
    assert_eq!(store.retry_job(&stale, Duration::ZERO, "late").await.unwrap(), Lease::Lost);
    assert_eq!(store.fail_job(&stale, "late").await.unwrap(), Lease::Lost);
    let impostor = cutover_jobs::Job { worker: "w1".into(), ..current.clone() };
    assert_eq!(store.fail_job(&impostor, "same attempt, other worker").await.unwrap(), Lease::Lost);
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.jobs_running, stats.jobs_queued, stats.jobs_failed), (1, 0, 0), "w2's claim is untouched");
    assert!(store.claim_job("w3", LEASE).await.unwrap().is_none(), "still leased to w2");
    assert_eq!(store.finish_job(&current).await.unwrap(), Lease::Held);
    // A finished job cannot be settled again, not even by the worker that finished it.
    assert_eq!(store.fail_job(&current, "twice").await.unwrap(), Lease::Lost);
    assert_eq!(store.stats().await.unwrap().jobs_done, 1);
}

async fn a_sender_whose_lease_was_taken_cannot_settle_the_write(store: Store) {
    store.outbox_put("f", "f:1", "e1", &json!({ "op": 1 })).await.unwrap();
    let stale = store.outbox_claim("w1", Duration::from_millis(20)).await.unwrap().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let current = loop {
        if let Some(item) = store.outbox_claim("w2", LEASE).await.unwrap() {
            break item;
        }
        assert!(Instant::now() < deadline, "w2 never got the write");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!((current.attempts, current.worker.as_deref()), (2, Some("w2")));
    assert_eq!(store.outbox_renew(&stale, LEASE).await.unwrap(), Lease::Lost);
    assert_eq!(store.outbox_done(&stale, &json!({ "by": "w1" })).await.unwrap(), Lease::Lost);
    assert_eq!(store.outbox_retry(&stale, Duration::ZERO, "late").await.unwrap(), Lease::Lost);
    assert_eq!(store.outbox_fail(&stale, "late").await.unwrap(), Lease::Lost);
    let impostor = cutover_jobs::OutboxItem { worker: Some("w1".into()), ..current.clone() };
    assert_eq!(store.outbox_fail(&impostor, "same attempt, other worker").await.unwrap(), Lease::Lost);
    let unclaimed = cutover_jobs::OutboxItem { worker: None, ..current.clone() };
    assert_eq!(store.outbox_done(&unclaimed, &json!({})).await.unwrap(), Lease::Lost);
    assert!(store.outbox_claim("w3", LEASE).await.unwrap().is_none(), "still leased to w2");
    assert_eq!(store.outbox_renew(&current, LEASE).await.unwrap(), Lease::Held);
    assert_eq!(store.outbox_done(&current, &json!({ "by": "w2" })).await.unwrap(), Lease::Held);
    let item = store.outbox_get("f:1").await.unwrap().unwrap();
    assert_eq!((item.state, item.result), (OutboxState::Done, Some(json!({ "by": "w2" }))));
}

async fn a_replayed_body_under_a_new_delivery_id_is_not_a_new_job(store: Store) {
    assert!(store.record_delivery("d-1", "digest-a", "Issue", Some(&job("ENG-1", 1))).await.unwrap());
    // The same signed body re-sent with a fresh Linear-Delivery header.
    assert!(!store.record_delivery("d-2", "digest-a", "Issue", Some(&job("ENG-1", 1))).await.unwrap());
    // Linear's own retry: same delivery id (its body carries a new timestamp).
    assert!(!store.record_delivery("d-1", "digest-b", "Issue", Some(&job("ENG-1", 1))).await.unwrap());
    assert!(store.record_delivery("d-3", "digest-c", "Issue", Some(&job("ENG-1", 2))).await.unwrap());
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.deliveries, stats.jobs_queued), (2, 2));
}

async fn pruning_removes_only_old_finished_rows(store: Store) {
    store.record_delivery("d-1", "digest-1", "Issue", None).await.unwrap();
    for n in 1..=4 {
        store.enqueue(&job(&format!("ENG-{n}"), n)).await.unwrap();
    }
    let done = store.claim_job("w", LEASE).await.unwrap().unwrap();
    assert_eq!(store.finish_job(&done).await.unwrap(), Lease::Held);
    let failed = store.claim_job("w", LEASE).await.unwrap().unwrap();
    assert_eq!(store.fail_job(&failed, "gave up").await.unwrap(), Lease::Held);
    let _running = store.claim_job("w", LEASE).await.unwrap().unwrap();
    for key in ["a:1", "b:1", "c:1"] {
        store.outbox_put(&key[..1], key, "e", &json!({})).await.unwrap();
    }
    let sent = store.outbox_claim("w", LEASE).await.unwrap().unwrap();
    assert_eq!(store.outbox_done(&sent, &json!({})).await.unwrap(), Lease::Held);
    let refused = store.outbox_claim("w", LEASE).await.unwrap().unwrap();
    assert_eq!(store.outbox_fail(&refused, "invalid").await.unwrap(), Lease::Held);
    store.save_flow("ENG-1", &json!({ "stage": "done" })).await.unwrap();

    assert_eq!(store.prune(Duration::from_secs(3600)).await.unwrap(), Pruned::default(), "nothing is an hour old");
    // Every row above is at least a millisecond old now.
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(store.prune(Duration::ZERO).await.unwrap(), Pruned { deliveries: 1, jobs: 2, writes: 2 });
    let stats = store.stats().await.unwrap();
    assert_eq!(
        (stats.deliveries, stats.jobs_done, stats.jobs_failed, stats.jobs_running, stats.jobs_queued),
        (0, 0, 0, 1, 1)
    );
    assert_eq!((stats.outbox_done, stats.outbox_failed, stats.outbox_pending), (0, 0, 1));
    assert_eq!(store.load_flow("ENG-1").await.unwrap(), Some(json!({ "stage": "done" })), "flows are kept");
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
    a_renewed_lease_keeps_a_long_job_from_other_workers,
    a_worker_whose_lease_was_taken_cannot_settle_the_job,
    a_sender_whose_lease_was_taken_cannot_settle_the_write,
    a_replayed_body_under_a_new_delivery_id_is_not_a_new_job,
    pruning_removes_only_old_finished_rows,
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
                assert_eq!(store.finish_job(&job).await.unwrap(), Lease::Held);
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

/// Terminates the client connections to database `name` but the caller's own.
async fn terminate_others(admin: &cutover_test_support::Client, name: &str) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
            &[&name],
        )
        .await
        .unwrap()
        .get(0)
}

async fn wait_until_back(store: &Store, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Err(err) = store.stats().await {
        assert!(Instant::now() < deadline, "{what}: the store did not come back: {err}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..3 {
        store.stats().await.expect("once back, it stays back");
    }
}

/// The server closes the store's connection (a restart, a failover, an administrator): the
/// store opens a new one and keeps working (the calls that found it closed fail, and the
/// loops retry them). While the server refuses connections, as during a restart, every call
/// fails; when it accepts them again, the store is back.
#[tokio::test]
async fn the_postgres_store_reconnects_after_its_connection_is_terminated() {
    let db = TestDb::new().await;
    let store = Store::open(&db.url()).await.unwrap();
    store.enqueue(&job("ENG-1", 1)).await.unwrap();
    // From the server's maintenance database: a database cannot close its own doors.
    let name = db.name.clone();
    let admin = cutover_db_postgres::connect::connect(cutover_test_support::admin_url()).await.unwrap();
    for round in 0..2 {
        assert_eq!(terminate_others(&admin, &name).await, 1, "round {round}: the store's one connection");
        wait_until_back(&store, &format!("round {round}")).await;
    }

    let allow = |on: bool| format!("ALTER DATABASE \"{}\" ALLOW_CONNECTIONS {on}", name.replace('"', "\"\""));
    admin.batch_execute(&allow(false)).await.unwrap();
    assert_eq!(terminate_others(&admin, &name).await, 1);
    for _ in 0..3 {
        assert!(store.stats().await.is_err(), "the database refuses connections");
    }
    admin.batch_execute(&allow(true)).await.unwrap();
    wait_until_back(&store, "after the outage").await;

    let claimed = store.claim_job("w", LEASE).await.unwrap().expect("the job survived");
    assert_eq!(store.finish_job(&claimed).await.unwrap(), Lease::Held);
    assert_eq!(store.stats().await.unwrap().jobs_done, 1);
}
