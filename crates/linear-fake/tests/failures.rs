//! Failure injection: each mode's answer, what it leaves applied, determinism of random
//! faults, and the lost-response case that turns naive retries into duplicates.

mod common;

use std::time::{Duration, Instant};

use common::run;
use cutover_linear_fake::{Failure, FakeLinear, Outcome, Workspace};
use serde_json::{Value, json};

async fn fake() -> FakeLinear {
    let fake = FakeLinear::start(Workspace::acme()).await.expect("fake starts");
    let human = fake.human_user_id();
    fake.create_issue("ENG", "Add an index", "", &human).expect("issue");
    fake
}

fn comment(body: &str) -> Value {
    json!({"input": {"issueId": "ENG-1", "body": body}})
}

#[tokio::test]
async fn rate_limited_is_http_400_with_ratelimited_code_and_zero_budgets() {
    let fake = fake().await;
    fake.fail_next(1, Failure::RateLimited { reset_after_ms: 1_500 });
    let before = chrono::Utc::now().timestamp_millis();
    let answer = run(&fake, "CommentCreate", comment("plan")).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["errors"][0]["extensions"]["code"], json!("RATELIMITED"));
    assert_eq!(answer.body["errors"][0]["extensions"]["type"], json!("ratelimited"));
    assert_eq!(answer.header("x-ratelimit-requests-remaining"), "0");
    assert_eq!(answer.header("x-ratelimit-complexity-remaining"), "0");
    let reset: i64 = answer.header("x-ratelimit-requests-reset").parse().expect("reset");
    assert!((before + 1_500..=before + 3_000).contains(&reset), "reset {reset} should be ~1.5 s after {before}");
    assert_eq!(fake.comments("ENG-1").len(), 0);
    assert_eq!(fake.write_count("commentCreate"), 0);
    // The fault was used up: the retry goes through.
    run(&fake, "CommentCreate", comment("plan")).await.ok();
    assert_eq!(fake.comments("ENG-1").len(), 1);
}

#[tokio::test]
async fn too_many_requests_server_error_and_graphql_error_apply_nothing() {
    let fake = fake().await;
    fake.fail_next(1, Failure::TooManyRequests);
    fake.fail_next(1, Failure::ServerError);
    fake.fail_next(1, Failure::GraphqlError("lock timeout".into()));

    let answer = run(&fake, "CommentCreate", comment("a")).await;
    assert_eq!(answer.status, 429);
    assert_eq!(answer.body["errors"][0]["extensions"]["code"], json!("RATELIMITED"));
    let answer = run(&fake, "CommentCreate", comment("b")).await;
    assert_eq!(answer.status, 500);
    let answer = run(&fake, "CommentCreate", comment("c")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        json!({"data": null, "errors": [{"message": "lock timeout", "extensions": {"type": "internal error", "code": "INTERNAL_SERVER_ERROR", "userError": false}}]})
    );

    assert_eq!(fake.comments("ENG-1").len(), 0);
    assert_eq!(fake.write_counts().len(), 0);
    let outcomes: Vec<(u16, Outcome)> = fake.requests().into_iter().map(|r| (r.status, r.outcome)).collect();
    assert_eq!(
        outcomes,
        vec![
            (429, Outcome::Injected(Failure::TooManyRequests)),
            (500, Outcome::Injected(Failure::ServerError)),
            (200, Outcome::Injected(Failure::GraphqlError("lock timeout".into()))),
        ]
    );
}

/// The reason creates carry client-chosen ids: a lost answer makes a naive retry duplicate,
/// while a retry with the same id is rejected and the existence check finds the first write.
#[tokio::test]
async fn lost_response_applies_the_write_so_naive_retries_duplicate() {
    let fake = fake().await;
    fake.fail_next(1, Failure::LostResponse);
    let lost = run(&fake, "CommentCreate", comment("plan")).await;
    assert_eq!(lost.status, 502);
    assert_eq!(lost.body, Value::Null, "502 is not JSON: {}", lost.text);
    run(&fake, "CommentCreate", comment("plan")).await.ok();
    assert_eq!(fake.comments("ENG-1").len(), 2, "naive retry duplicated");
    assert_eq!(fake.write_count("commentCreate"), 2);

    let id = uuid::Uuid::new_v4().to_string();
    let with_id = json!({"input": {"id": id, "issueId": "ENG-1", "body": "checkpoint"}});
    fake.fail_next(1, Failure::LostResponse);
    assert_eq!(run(&fake, "CommentCreate", with_id.clone()).await.status, 502);
    let retry = run(&fake, "CommentCreate", with_id).await;
    assert_eq!(retry.error_message(), "Entity already exists");
    let exists = run(&fake, "CommentExists", json!({"id": id})).await.ok();
    assert_eq!(exists.data()["comment"]["id"], json!(id));
    assert_eq!(fake.comments("ENG-1").len(), 3);
}

#[tokio::test]
async fn delay_answers_normally_but_late() {
    let fake = fake().await;
    fake.fail_next(1, Failure::Delay(Duration::from_millis(300)));
    let started = Instant::now();
    let answer = run(&fake, "Viewer", json!({})).await.ok();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(answer.data()["viewer"]["name"], json!("Cutover"));
}

#[tokio::test]
async fn failures_can_target_one_operation() {
    let fake = fake().await;
    fake.fail_operation("CommentCreate", 1, Failure::ServerError);
    run(&fake, "Viewer", json!({})).await.ok();
    run(&fake, "IssueExists", json!({"id": "ENG-1"})).await.ok();
    assert_eq!(run(&fake, "CommentCreate", comment("x")).await.status, 500);
    run(&fake, "CommentCreate", comment("x")).await.ok();
}

/// Invalid requests do not use up scripted faults.
#[tokio::test]
async fn invalid_requests_do_not_consume_faults() {
    let fake = fake().await;
    fake.fail_next(1, Failure::ServerError);
    let invalid = run(&fake, "IssueDetails", json!({})).await;
    assert_eq!(invalid.status, 400);
    assert_eq!(run(&fake, "Viewer", json!({})).await.status, 500);
}

#[tokio::test]
async fn random_failures_are_deterministic_for_a_seed() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let fake = fake().await;
        fake.set_failure_rate(0.5, seed, vec![Failure::ServerError, Failure::TooManyRequests]);
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(run(&fake, "Viewer", json!({})).await.status);
        }
        fake.clear_failures();
        assert_eq!(run(&fake, "Viewer", json!({})).await.status, 200);
        statuses
    }
    let first = statuses(42).await;
    assert_eq!(first, statuses(42).await);
    assert_ne!(first, statuses(43).await);
    let failed = first.iter().filter(|s| **s != 200).count();
    assert!((4..=16).contains(&failed), "{failed} of 20 failed at p=0.5");
    assert!(first.iter().all(|s| [200, 429, 500].contains(s)));
}
