//! The job runner's faults, on both backends: a job that outlives its lease, a panic in a job
//! or in a send, and a poison job that crashes its worker on every attempt, across restarts.
//! The handlers are injected through the same runner the production loops use.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cutover_agent::Loops;
use cutover_agent::flow::JobError;
use cutover_agent::worker::{
    PruneSettings, Wakeup, WorkerSettings, job_loop_with, outbox_loop_with, process_one_job, process_one_write,
    prune_loop,
};
use cutover_agent::writes::Sent;
use cutover_jobs::{NewJob, QueueStats, Store};
use cutover_test_support::TestDb;
use serde_json::{Value, json};

/// A store URL and what keeps it alive.
struct Backend {
    url: String,
    _db: Option<TestDb>,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("cutover.db").display());
    Backend { url, _db: None, _dir: Some(dir) }
}

async fn postgres() -> Backend {
    let db = TestDb::new().await;
    Backend { url: db.url(), _db: Some(db), _dir: None }
}

fn settings(name: &str, lease: Duration, max_attempts: i64) -> WorkerSettings {
    WorkerSettings {
        name: name.into(),
        lease,
        poll: Duration::from_millis(10),
        job_retry_base: Duration::from_millis(1),
        job_max_attempts: max_attempts,
        outbox_retry_base: Duration::from_millis(1),
        outbox_retry_cap: Duration::from_millis(5),
        outbox_max_attempts: max_attempts,
    }
}

fn job(key: &str, payload: Value) -> NewJob {
    NewJob { kind: "test".into(), key: key.into(), payload }
}

/// Waits up to 20 s for the store's counts to satisfy `done`.
async fn wait_for(store: &Store, what: &str, done: impl Fn(&QueueStats) -> bool) -> QueueStats {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stats = store.stats().await.expect("stats");
        if done(&stats) {
            return stats;
        }
        assert!(Instant::now() < deadline, "{what}: {stats:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The body of the error report queued for the requester about `key`'s failed job.
async fn failure_report(store: &Store, key: &str) -> String {
    let items = store.outbox_items(&format!("{key}:errors")).await.unwrap();
    assert_eq!(items.len(), 1, "one report: {items:?}");
    items[0].op["body"].as_str().unwrap_or_default().to_string()
}

async fn a_long_job_renews_its_lease_and_no_other_worker_takes_it(url: String) {
    let store = Store::open(&url).await.unwrap();
    store.enqueue(&job("ENG-1", json!({}))).await.unwrap();
    // Renewed every quarter of the lease (a renewal may come 1.5 s late before b could take
    // the job); the job runs for two and a half leases.
    let lease = Duration::from_secs(2);
    let (started_tx, started) = tokio::sync::oneshot::channel();
    let (finish, finished) = tokio::sync::oneshot::channel::<()>();
    let runner = {
        let (store, a) = (store.clone(), settings("worker-a", lease, 3));
        tokio::spawn(async move {
            process_one_job(&store, &a, move |_job| async move {
                started_tx.send(()).ok();
                finished.await.ok();
                Ok(())
            })
            .await
        })
    };
    started.await.expect("worker a runs the job");
    let other = Store::open(&url).await.unwrap();
    let until = Instant::now() + lease * 5 / 2;
    while Instant::now() < until {
        assert!(other.claim_job("worker-b", lease).await.unwrap().is_none(), "worker b took a running job");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    finish.send(()).unwrap();
    assert!(runner.await.unwrap().unwrap(), "worker a ran a job");
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.jobs_done, stats.jobs_running, stats.jobs_queued), (1, 0, 0), "finished by worker a");
}

/// Worker a stalls (its whole runtime is blocked, as in a frozen VM or a stop-the-world
/// pause), so it cannot renew; its lease runs out and worker b takes the job. When a wakes up
/// its result is dropped: b's claim is untouched and b finishes the job.
async fn a_stalled_worker_loses_its_job_and_changes_nothing(url: String) {
    let store = Store::open(&url).await.unwrap();
    store.enqueue(&job("ENG-1", json!({}))).await.unwrap();
    let (started_tx, started) = std::sync::mpsc::channel();
    let (wake_tx, wake) = std::sync::mpsc::channel::<()>();
    let stalled = {
        let url = url.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let store = Store::open(&url).await.unwrap();
                let a = settings("worker-a", Duration::from_millis(100), 3);
                process_one_job(&store, &a, move |job| {
                    let started_tx = started_tx.clone();
                    async move {
                        started_tx.send(job.attempt).unwrap();
                        // Blocks the thread, and with it this runtime's lease renewals.
                        wake.recv().ok();
                        Ok::<(), JobError>(())
                    }
                })
                .await
                .unwrap()
            })
        })
    };
    assert_eq!(started.recv_timeout(Duration::from_secs(20)).unwrap(), 1);
    let deadline = Instant::now() + Duration::from_secs(20);
    let taken = loop {
        if let Some(job) = store.claim_job("worker-b", Duration::from_secs(30)).await.unwrap() {
            break job;
        }
        assert!(Instant::now() < deadline, "worker b never got the job of the stalled worker");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(taken.attempt, 2);
    wake_tx.send(()).unwrap();
    assert!(tokio::task::spawn_blocking(move || stalled.join().unwrap()).await.unwrap(), "worker a ran a job");
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.jobs_running, stats.jobs_done, stats.jobs_queued), (1, 0, 0), "worker a finished nothing");
    assert_eq!(store.finish_job(&taken).await.unwrap(), cutover_jobs::Lease::Held);
    assert_eq!(store.stats().await.unwrap().jobs_done, 1);
}

async fn the_prune_loop_deletes_what_is_old(url: String) {
    let store = Store::open(&url).await.unwrap();
    store.record_delivery("d-1", "digest-1", "Issue", Some(&job("ENG-1", json!({})))).await.unwrap();
    let claimed = store.claim_job("w", Duration::from_secs(30)).await.unwrap().unwrap();
    assert_eq!(store.finish_job(&claimed).await.unwrap(), cutover_jobs::Lease::Held);
    let settings = PruneSettings { older_than: Duration::ZERO, every: Duration::from_millis(10) };
    let loops = Loops::default();
    loops.spawn("prune", prune_loop(store.clone(), settings));
    wait_for(&store, "the delivery and the finished job are pruned", |s| s.deliveries == 0 && s.jobs_done == 0).await;
}

async fn a_panicking_job_fails_after_its_attempts_and_the_loop_goes_on(url: String) {
    let store = Store::open(&url).await.unwrap();
    store.enqueue(&job("ENG-1", json!({ "panic": true }))).await.unwrap();
    store.enqueue(&job("ENG-2", json!({}))).await.unwrap();
    let runs = Arc::new(Mutex::new(Vec::new()));
    let loops = Loops::default();
    let handler = {
        let runs = runs.clone();
        move |job: cutover_jobs::Job| {
            runs.lock().unwrap().push(job.key.clone());
            async move {
                if job.payload["panic"] == true {
                    panic!("a bug in the flow");
                }
                Ok::<(), JobError>(())
            }
        }
    };
    let (wakeup, outbox) = (Wakeup::default(), Wakeup::default());
    loops.spawn(
        "jobs",
        job_loop_with(store.clone(), settings("w", Duration::from_secs(30), 3), wakeup, outbox, handler),
    );
    // The report is queued right after the job is failed.
    let settled = |s: &QueueStats| s.jobs_failed == 1 && s.jobs_done == 1 && s.outbox_pending == 1;
    wait_for(&store, "one job failed and reported, the other done", settled).await;
    let count = |key: &str| runs.lock().unwrap().iter().filter(|k| *k == key).count();
    assert_eq!((count("ENG-1"), count("ENG-2")), (3, 1), "the panicking job ran its three attempts");
    let report = failure_report(&store, "ENG-1").await;
    assert!(report.contains("the job panicked: a bug in the flow"), "{report}");

    store.enqueue(&job("ENG-3", json!({}))).await.unwrap();
    wait_for(&store, "the loop still takes jobs", |s| s.jobs_done == 2).await;
    assert!(loops.stopped().is_empty(), "{:?}", loops.stopped());
}

async fn a_panicking_send_fails_after_its_attempts_and_the_loop_goes_on(url: String) {
    let store = Store::open(&url).await.unwrap();
    store.outbox_put("f1", "f1:boom", "e1", &json!({ "panic": true })).await.unwrap();
    store.outbox_put("f2", "f2:ok", "e2", &json!({})).await.unwrap();
    let sends = Arc::new(Mutex::new(Vec::new()));
    let sender = {
        let sends = sends.clone();
        move |item: cutover_jobs::OutboxItem| {
            sends.lock().unwrap().push(item.key.clone());
            async move {
                if item.op["panic"] == true {
                    panic!("a bug in a sender");
                }
                Sent::Done(json!({ "id": item.entity_id }))
            }
        }
    };
    let loops = Loops::default();
    loops.spawn(
        "outbox",
        outbox_loop_with(store.clone(), settings("w", Duration::from_secs(30), 3), Wakeup::default(), sender),
    );
    wait_for(&store, "one write failed, the other sent", |s| s.outbox_failed == 1 && s.outbox_done == 1).await;
    let count = |key: &str| sends.lock().unwrap().iter().filter(|k| *k == key).count();
    assert_eq!((count("f1:boom"), count("f2:ok")), (3, 1));
    let failed = store.outbox_get("f1:boom").await.unwrap().unwrap();
    assert_eq!(failed.last_error.as_deref(), Some("sending panicked: a bug in a sender"));

    store.outbox_put("f3", "f3:ok", "e3", &json!({})).await.unwrap();
    wait_for(&store, "the loop still sends", |s| s.outbox_done == 2).await;
    assert!(loops.stopped().is_empty(), "{:?}", loops.stopped());
}

/// Each "process" claims the job and dies while running it (its task is aborted, as a crash
/// or a kill would end it); the next process starts on the same store. The attempt is counted
/// when the job is claimed, so after its attempts the job is failed without running again.
async fn a_poison_job_is_failed_after_its_attempts_across_restarts(url: String) {
    Store::open(&url).await.unwrap().enqueue(&job("ENG-1", json!({}))).await.unwrap();
    // Short, so that on PostgreSQL (where a restart leaves leases to expire) the next process
    // takes the job soon; SQLite's restart releases them at once.
    let s = settings("w", Duration::from_millis(200), 3);
    for restart in 1..=3 {
        let store = Store::open(&url).await.unwrap();
        store.recover_after_restart().await.unwrap();
        let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
        let process = {
            let s = s.clone();
            tokio::spawn(async move {
                loop {
                    let started_tx = started_tx.clone();
                    let handler = move |job: cutover_jobs::Job| {
                        started_tx.send(job.attempt).ok();
                        std::future::pending::<Result<(), JobError>>()
                    };
                    if process_one_job(&store, &s, handler).await.unwrap() {
                        unreachable!("the job never ends");
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        };
        let attempt = tokio::time::timeout(Duration::from_secs(20), started.recv())
            .await
            .expect("the job ran again after the restart")
            .unwrap();
        assert_eq!(attempt, restart);
        process.abort();
        assert!(process.await.unwrap_err().is_cancelled());
    }
    let store = Store::open(&url).await.unwrap();
    store.recover_after_restart().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let ran_again = Arc::new(Mutex::new(false));
    loop {
        let ran_again = ran_again.clone();
        let handler = move |_job: cutover_jobs::Job| {
            *ran_again.lock().unwrap() = true;
            async { Ok::<(), JobError>(()) }
        };
        if process_one_job(&store, &s, handler).await.unwrap() {
            break;
        }
        assert!(Instant::now() < deadline, "the job was never claimed again");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!*ran_again.lock().unwrap(), "a job past its attempts does not run again");
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.jobs_failed, stats.jobs_running, stats.jobs_queued), (1, 0, 0));
    let report = failure_report(&store, "ENG-1").await;
    assert!(report.contains("it was tried 3 times and the last try never finished"), "{report}");
}

/// The same for a write whose send never returns: after its attempts it is failed unsent.
async fn a_poison_write_is_failed_after_its_attempts_across_restarts(url: String) {
    Store::open(&url).await.unwrap().outbox_put("f", "f:1", "e1", &json!({})).await.unwrap();
    let s = settings("w", Duration::from_millis(200), 3);
    for restart in 1..=3 {
        let store = Store::open(&url).await.unwrap();
        store.recover_after_restart().await.unwrap();
        let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
        let process = {
            let s = s.clone();
            tokio::spawn(async move {
                loop {
                    let started_tx = started_tx.clone();
                    let sender = move |item: cutover_jobs::OutboxItem| {
                        started_tx.send(item.attempts).ok();
                        std::future::pending::<Sent>()
                    };
                    if process_one_write(&store, &s, sender).await.unwrap() {
                        unreachable!("the send never ends");
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        };
        let attempt = tokio::time::timeout(Duration::from_secs(20), started.recv())
            .await
            .expect("the write was sent again after the restart")
            .unwrap();
        assert_eq!(attempt, restart);
        process.abort();
        assert!(process.await.unwrap_err().is_cancelled());
    }
    let store = Store::open(&url).await.unwrap();
    store.recover_after_restart().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !process_one_write(&store, &s, |_item| async { panic!("a write past its attempts is not sent again") })
        .await
        .unwrap()
    {
        assert!(Instant::now() < deadline, "the write was never claimed again");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let item = store.outbox_get("f:1").await.unwrap().unwrap();
    assert_eq!(item.state, cutover_jobs::OutboxState::Failed);
    let error = item.last_error.unwrap_or_default();
    assert!(error.starts_with("it was tried 3 times and the last try never finished"), "{error}");
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
              async fn $name() { let b = super::sqlite().await; super::$name(b.url.clone()).await; })*
        }
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
              async fn $name() { let b = super::postgres().await; super::$name(b.url.clone()).await; })*
        }
    };
}

both_backends!(
    a_long_job_renews_its_lease_and_no_other_worker_takes_it,
    a_stalled_worker_loses_its_job_and_changes_nothing,
    the_prune_loop_deletes_what_is_old,
    a_panicking_job_fails_after_its_attempts_and_the_loop_goes_on,
    a_panicking_send_fails_after_its_attempts_and_the_loop_goes_on,
    a_poison_job_is_failed_after_its_attempts_across_restarts,
    a_poison_write_is_failed_after_its_attempts_across_restarts,
);
