//! Agent API semantics (status derived from activities, ephemeral replacement, content
//! validation, the first-activity clock) and the human-side webhook events, compared with
//! the example deliveries in `tests/linear-examples`.

mod common;

use std::time::Duration;

use common::{run, run_as_human};
use cutover_linear_fake::{FIRST_ACTIVITY_DEADLINE, FakeLinear, Workspace, ids};
use serde_json::{Value, json};

const DESCRIPTION: &str = "## Objective\nTrack verification.\n";

async fn delegated() -> (FakeLinear, String) {
    let fake = FakeLinear::start(
        Workspace::acme()
            .next_issue_number("ENG", 123)
            .label("schema-change", "#4ea7fc", None)
            .guidance(
                "ENG",
                "Database migrations must be expand/contract; never drop a column in the same release that stops writing it.",
            ),
    )
    .await
    .expect("fake starts");
    let human = fake.human_user_id();
    fake.create_issue("ENG", "Add users.email_verified column (zero-downtime)", DESCRIPTION, &human).expect("issue");
    fake.label_issue("ENG-123", "schema-change").expect("label");
    let (session, _) = fake.delegate_to_app("ENG-123").expect("delegate");
    (fake, session)
}

async fn activity(fake: &FakeLinear, session: &str, content: Value, extra: Value) -> common::Answer {
    let mut input = json!({"agentSessionId": session, "content": content});
    if let (Value::Object(input), Value::Object(extra)) = (&mut input, extra) {
        input.extend(extra);
    }
    run(fake, "AgentActivityCreate", json!({"input": input})).await
}

async fn status(fake: &FakeLinear, session: &str) -> (String, Value) {
    let answer = run(fake, "AgentSessionActivities", json!({"id": session})).await.ok();
    let session = &answer.data()["agentSession"];
    (session["status"].as_str().expect("status").to_owned(), session["endedAt"].clone())
}

#[tokio::test]
async fn session_status_follows_the_last_activity() {
    let (fake, session) = delegated().await;
    assert_eq!(status(&fake, &session).await, ("pending".into(), Value::Null));

    activity(&fake, &session, json!({"type": "thought", "body": "Reading"}), json!({})).await.ok();
    assert_eq!(status(&fake, &session).await.0, "active");

    activity(
        &fake,
        &session,
        json!({"type": "action", "action": "Running", "parameter": "EXPLAIN ALTER TABLE users", "result": "ok"}),
        json!({}),
    )
    .await
    .ok();
    assert_eq!(status(&fake, &session).await.0, "active");

    activity(
        &fake,
        &session,
        json!({"type": "elicitation", "body": "Approve the plan?"}),
        json!({"signal": "select", "signalMetadata": {"options": [{"value": "Approve plan"}]}}),
    )
    .await
    .ok();
    assert_eq!(status(&fake, &session).await.0, "awaitingInput");

    let event = fake.prompt(&session, "Approve plan", None).expect("prompt");
    assert_eq!(event["agentActivity"]["content"]["body"], json!("Approve plan"));
    assert_eq!(status(&fake, &session).await.0, "pending");

    activity(&fake, &session, json!({"type": "response", "body": "Expand phase done."}), json!({})).await.ok();
    let (done, ended) = status(&fake, &session).await;
    assert_eq!(done, "complete");
    assert!(ended.is_string());

    // A later prompt reopens the same session; `stop` is delivered as the signal.
    let event = fake.prompt(&session, "Stop, please", Some("stop")).expect("prompt");
    assert_eq!(event["agentActivity"]["signal"], json!("stop"));
    assert_eq!(status(&fake, &session).await, ("pending".into(), Value::Null));

    activity(&fake, &session, json!({"type": "error", "body": "Stopped on request."}), json!({})).await.ok();
    assert_eq!(status(&fake, &session).await.0, "error");

    let view = fake.agent_session(&session).expect("session");
    let kinds: Vec<&str> = view.activities.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, vec!["thought", "action", "elicitation", "prompt", "response", "prompt", "error"]);
    assert_eq!(view.activities[2].signal.as_deref(), Some("select"));
    assert_eq!(view.activities[3].user_id, ids::HUMAN);

    // response/elicitation/error are mirrored in the session's thread; prompts are replies.
    let thread: Vec<(String, String)> = fake.comments("ENG-123").into_iter().map(|c| (c.user_id, c.body)).collect();
    assert_eq!(
        thread,
        vec![
            (ids::HUMAN.to_owned(), "This thread is for an agent session with cutover.".to_owned()),
            (ids::APP_USER.to_owned(), "Approve the plan?".to_owned()),
            (ids::HUMAN.to_owned(), "Approve plan".to_owned()),
            (ids::APP_USER.to_owned(), "Expand phase done.".to_owned()),
            (ids::HUMAN.to_owned(), "Stop, please".to_owned()),
            (ids::APP_USER.to_owned(), "Stopped on request.".to_owned()),
        ]
    );
}

#[tokio::test]
async fn an_ephemeral_activity_is_replaced_by_the_next_one() {
    let (fake, session) = delegated().await;
    activity(&fake, &session, json!({"type": "thought", "body": "Planning"}), json!({})).await.ok();
    let progress = |n: u32| json!({"type": "action", "action": "Backfilling", "parameter": "users", "result": format!("{n}M/42M")});
    activity(&fake, &session, progress(1), json!({"ephemeral": true})).await.ok();
    let second = activity(&fake, &session, progress(2), json!({"ephemeral": true})).await.ok();
    assert_eq!(second.data()["agentActivityCreate"]["agentActivity"]["ephemeral"], json!(true));
    let results = |fake: &FakeLinear| -> Vec<String> {
        fake.agent_session(&session)
            .expect("session")
            .activities
            .iter()
            .map(|a| a.content["result"].as_str().or(a.body.as_deref()).unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(results(&fake), vec!["Planning", "2M/42M"]);
    activity(&fake, &session, json!({"type": "thought", "body": "Backfill done"}), json!({})).await.ok();
    assert_eq!(results(&fake), vec!["Planning", "Backfill done"]);

    // Through GraphQL: the same activities, content typed by the union.
    let answer = run(&fake, "AgentSessionActivities", json!({"id": session, "first": 1})).await.ok();
    let page = &answer.data()["agentSession"]["activities"];
    assert_eq!(
        page["nodes"][0]["content"],
        json!({"__typename": "AgentActivityThoughtContent", "body": "Backfill done"})
    );
    assert_eq!(page["pageInfo"]["hasNextPage"], json!(true));
}

#[tokio::test]
async fn activity_content_is_validated_like_linear() {
    let (fake, session) = delegated().await;
    let cases = [
        (
            json!({"type": "action", "action": "Running"}),
            json!({}),
            "content.parameter is required for action activities",
        ),
        (json!({"type": "thought"}), json!({}), "content.body is required for thought activities"),
        (
            json!({"type": "elicitation", "body": "?"}),
            json!({"ephemeral": true}),
            "Only thought and action activities can be ephemeral",
        ),
        (json!({"type": "prompt", "body": "hi"}), json!({}), "prompt activities are created by users, not by agents"),
        (
            json!({"type": "plan", "body": "x"}),
            json!({}),
            "Unknown agent activity type `plan` (expected thought, action, elicitation, response or error)",
        ),
        (json!({"body": "x"}), json!({}), "content.type is required"),
        (
            json!({"type": "response", "body": "done"}),
            json!({"signal": "stop"}),
            "The stop signal is sent by users on prompts, not by agents",
        ),
        (
            json!({"type": "thought", "body": "x"}),
            json!({"signal": "select"}),
            "Signal `select` is not valid on a thought activity",
        ),
    ];
    for (content, extra, message) in cases {
        let answer = activity(&fake, &session, content.clone(), extra).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.error_message(), message, "{content}");
        assert_eq!(answer.body["errors"][0]["extensions"]["type"], json!("invalid input"));
    }
    // Only the session's app user may write into it.
    let human = run_as_human(
        &fake,
        "AgentActivityCreate",
        json!({"input": {"agentSessionId": session, "content": {"type": "thought", "body": "x"}}}),
    )
    .await;
    assert_eq!(human.body["errors"][0]["extensions"]["code"], json!("FORBIDDEN"));
    assert!(fake.agent_session(&session).expect("session").activities.is_empty());
    assert_eq!(fake.write_count("agentActivityCreate"), 0);
    assert_eq!(status(&fake, &session).await.0, "pending");
}

#[tokio::test]
async fn first_activity_latency_is_recorded_once() {
    let (fake, session) = delegated().await;
    assert_eq!(fake.first_activity_latency(&session), None);
    tokio::time::sleep(Duration::from_millis(50)).await;
    activity(&fake, &session, json!({"type": "thought", "body": "On it"}), json!({})).await.ok();
    let latency = fake.first_activity_latency(&session).expect("latency");
    assert!(latency >= Duration::from_millis(50) && latency < FIRST_ACTIVITY_DEADLINE);
    activity(&fake, &session, json!({"type": "thought", "body": "Still on it"}), json!({})).await.ok();
    assert_eq!(fake.first_activity_latency(&session), Some(latency));

    // An external URL counts too.
    let (second, _) = fake.delegate_to_app("ENG-123").expect("second session");
    run(
        &fake,
        "AgentSessionUpdate",
        json!({"id": second, "input": {"externalUrls": [{"label": "Dashboard", "url": "https://cutover.dev/runs/1"}]}}),
    )
    .await
    .ok();
    assert!(fake.first_activity_latency(&second).is_some());
    assert_eq!(fake.agent_session(&second).expect("session").status, "pending");
}

/// Recursively: objects have the same keys; arrays compare their first elements. Values
/// and `null` against an object are not compared (ids, times and optional parts differ).
fn assert_same_shape(path: &str, expected: &Value, actual: &Value) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let ek: Vec<&String> = e.keys().collect();
            let ak: Vec<&String> = a.keys().collect();
            assert_eq!(ak, ek, "keys at {path}");
            for (key, value) in e {
                assert_same_shape(&format!("{path}.{key}"), value, &a[key]);
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            assert_eq!(a.is_empty(), e.is_empty(), "emptiness at {path}");
            if let (Some(e), Some(a)) = (e.first(), a.first()) {
                assert_same_shape(&format!("{path}[0]"), e, a);
            }
        }
        _ => {}
    }
}

fn example(name: &str) -> Value {
    let path = format!("{}/../../tests/linear-examples/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(path).expect("example")).expect("json")
}

#[tokio::test]
async fn events_have_the_shapes_of_the_example_deliveries() {
    let fake = FakeLinear::start(
        Workspace::acme()
            .next_issue_number("ENG", 123)
            .label("schema-change", "#4ea7fc", None)
            .guidance("ENG", "Expand, then contract."),
    )
    .await
    .expect("fake");
    let human = fake.human_user_id();
    let issue = fake
        .create_issue("ENG", "Add users.email_verified column (zero-downtime)", DESCRIPTION, &human)
        .expect("issue");
    fake.label_issue(&issue.identifier, "schema-change").expect("label");
    let now = chrono::Utc::now().timestamp_millis();

    let created = fake.issue_created_event("ENG-123").expect("created");
    assert_same_shape("issue.create", &example("issue.create"), &created);
    assert_eq!(created["data"]["identifier"], json!("ENG-123"));
    assert_eq!(created["data"]["labelIds"], json!([ids::LABEL_SCHEMA_CHANGE]));
    assert_eq!(created["webhookId"], json!(ids::WEBHOOK_SUBSCRIPTION));
    let stamp = created["webhookTimestamp"].as_i64().expect("timestamp");
    assert!((now - 1_000..=now + 1_000).contains(&stamp));

    let (session, event) = fake.delegate_to_app("ENG-123").expect("delegate");
    assert_same_shape("created", &example("agent-session-event.created"), &event);
    assert_eq!(event["action"], json!("created"));
    assert_eq!(event["appUserId"], json!(ids::APP_USER));
    assert_eq!(event["oauthClientId"], json!(ids::OAUTH_CLIENT));
    assert_eq!(event["agentSession"]["id"], json!(session));
    assert_eq!(event["agentSession"]["status"], json!("pending"));
    assert_eq!(event["agentSession"]["creatorId"], json!(ids::HUMAN));
    assert_eq!(event["agentSession"]["issue"]["identifier"], json!("ENG-123"));
    assert_eq!(event["agentActivity"], Value::Null);
    assert_eq!(
        event["promptContext"],
        json!(
            "<issue identifier=\"ENG-123\">\n<title>Add users.email_verified column (zero-downtime)</title>\n<description>## Objective\nTrack verification.</description>\n<team name=\"Engineering\"/>\n<label>schema-change</label>\n</issue>\n\n<guidance><guidance-rule origin=\"team\" team-name=\"Engineering\">Expand, then contract.</guidance-rule></guidance>"
        )
    );
    assert_eq!(event["guidance"][0]["body"], json!("Expand, then contract."));

    let updated = fake.issue_updated_delegated("ENG-123").expect("update");
    assert_same_shape("issue.update.delegated", &example("issue.update.delegated"), &updated);
    assert_eq!(updated["data"]["delegateId"], json!(ids::APP_USER));
    assert_eq!(updated["data"]["assigneeId"], json!(ids::HUMAN));
    assert_eq!(updated["data"]["delegate"]["name"], json!("Cutover"));
    assert_eq!(updated["updatedFrom"]["delegateId"], Value::Null);
    assert_eq!(updated["updatedFrom"]["assigneeId"], Value::Null);
    assert_eq!(updated["updatedFrom"]["subscriberIds"], json!([ids::HUMAN]));
    assert_eq!(updated["data"]["subscriberIds"], json!([ids::HUMAN, ids::APP_USER]));

    let prompted = fake.prompt(&session, "Also add a rollback step.", None).expect("prompt");
    assert_same_shape("prompted", &example("agent-session-event.prompted"), &prompted);
    assert_eq!(prompted["agentActivity"]["content"], json!({"type": "prompt", "body": "Also add a rollback step."}));
    assert_eq!(prompted["agentActivity"]["userId"], json!(ids::HUMAN));
    assert_eq!(prompted["agentActivity"]["agentSessionId"], json!(session));
    assert!(prompted["agentActivity"]["sourceCommentId"].is_string());

    let comment =
        fake.comment_mentioning_app("ENG-123", "can you split the backfill into 10k-row batches?").expect("comment");
    assert_same_shape("comment.create", &example("comment.create"), &comment);
    assert_eq!(
        comment["data"]["body"],
        json!("https://linear.app/acme/profiles/cutover can you split the backfill into 10k-row batches?")
    );
    assert_eq!(comment["actor"]["type"], json!("user"));
    assert_eq!(comment["actor"]["id"], json!(ids::HUMAN));
    assert_eq!(comment["data"]["issue"]["identifier"], json!("ENG-123"));
}
