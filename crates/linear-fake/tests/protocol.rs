//! The HTTP contract: authentication forms, validation and variable errors, error shapes of
//! missing and duplicate entities, unmodelled inputs, rate-limit headers, the request log.

mod common;

use common::{post, run, run_as};
use cutover_linear_fake::{FakeLinear, Outcome, Workspace, ids};
use serde_json::{Value, json};

async fn fake() -> FakeLinear {
    let fake = FakeLinear::start(Workspace::acme()).await.expect("fake starts");
    let human = fake.human_user_id();
    fake.create_issue("ENG", "Add an index", "", &human).expect("issue");
    fake
}

#[tokio::test]
async fn both_authorization_forms_are_accepted_and_others_rejected() {
    let fake = fake().await;
    let api_key = fake.api_key();
    let token = fake.oauth_token();
    let viewer_id = |answer: common::Answer| answer.ok().data()["viewer"]["id"].clone();
    assert_eq!(viewer_id(run_as(&fake, &api_key, "Viewer", json!({})).await), json!(ids::HUMAN));
    assert_eq!(viewer_id(run_as(&fake, &format!("Bearer {token}"), "Viewer", json!({})).await), json!(ids::APP_USER));
    let wrong_forms = [
        Some(format!("Bearer {api_key}")),
        Some(token.clone()),
        Some("Bearer nope".to_owned()),
        Some(String::new()),
        None,
    ];
    for authorization in wrong_forms {
        let body = json!({"query": "query Viewer { viewer { id } }", "operationName": "Viewer"});
        let answer = post(&fake, authorization.as_deref(), &body).await;
        assert_eq!(answer.status, 400, "{authorization:?}");
        assert_eq!(answer.body["errors"][0]["extensions"]["type"], json!("authentication error"));
        assert_eq!(answer.body["errors"][0]["extensions"]["code"], json!("AUTHENTICATION_ERROR"));
        assert_eq!(answer.body.get("data"), None);
    }
    let log = fake.requests();
    assert_eq!(log.len(), 7);
    assert_eq!(log[2].outcome, Outcome::Unauthenticated);
    assert_eq!(log[2].status, 400);
    assert_eq!(log[2].operation_name.as_deref(), Some("Viewer"));
}

#[tokio::test]
async fn unknown_field_is_a_validation_error_naming_it() {
    let fake = fake().await;
    let query = "query Branch($id: String!) {\n  issue(id: $id) {\n    id\n    gitBranchName\n  }\n}";
    let body = json!({"query": query, "operationName": "Branch", "variables": {"id": "ENG-1"}});
    let answer = post(&fake, Some(&fake.api_key()), &body).await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body,
        json!({"errors": [{
            "message": "type `Issue` does not have a field `gitBranchName`",
            "locations": [{"line": 4, "column": 5}],
            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED", "type": "graphql error", "userError": true},
        }]})
    );
    let record = fake.requests().pop().expect("logged");
    assert_eq!(record.operation_name.as_deref(), Some("Branch"));
    assert_eq!(record.variables, json!({"id": "ENG-1"}));
    assert_eq!(record.status, 400);
    assert_eq!(record.outcome, Outcome::Invalid("type `Issue` does not have a field `gitBranchName`".into()));
}

#[tokio::test]
async fn variables_are_coerced_against_their_definitions() {
    let fake = fake().await;
    let cases = [
        // Wrong scalar type.
        ("IssueDetails", json!({"id": 123}), "Variable error: could not coerce variable id: 123 to type String"),
        // Missing non-null variable.
        ("IssueDetails", json!({}), "Variable error: missing value for non-null variable 'id'"),
        // Unknown enum value.
        (
            "IssueRelationCreate",
            json!({"input": {"issueId": "ENG-1", "relatedIssueId": "ENG-1", "type": "causes"}}),
            "Variable error: could not coerce input field IssueRelationCreateInput.type: \"causes\" to type IssueRelationType",
        ),
        // Unknown input field.
        (
            "CommentCreate",
            json!({"input": {"issueId": "ENG-1", "body": "hi", "mood": "happy"}}),
            "Variable error: Input object has key mood not in type CommentCreateInput",
        ),
        // Missing non-null input field.
        (
            "IssueCreate",
            json!({"input": {"title": "no team"}}),
            "Variable error: Missing value for non-null input object field IssueCreateInput.teamId",
        ),
    ];
    for (operation, variables, message) in cases {
        let answer = run(&fake, operation, variables).await;
        assert_eq!(answer.status, 400, "{operation}: {}", answer.text);
        assert_eq!(answer.error_message(), message);
        assert_eq!(answer.body["errors"][0]["extensions"]["code"], json!("GRAPHQL_VALIDATION_FAILED"));
    }
    assert_eq!(fake.write_counts().len(), 0);
    // Defaults of variable definitions apply: `first` defaults to 25 in IssueComments.
    let answer = run(&fake, "IssueComments", json!({"id": "ENG-1"})).await.ok();
    assert_eq!(answer.data()["issue"]["identifier"], json!("ENG-1"));
}

#[tokio::test]
async fn bodies_that_are_not_graphql_requests_are_rejected() {
    let fake = fake().await;
    let answer = post(&fake, Some(&fake.api_key()), &json!({"operationName": "Viewer"})).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error_message(), "Must provide a query string");
    let answer =
        post(&fake, Some(&fake.api_key()), &json!({"query": "query A { viewer { id } } query B { viewer { name } }"}))
            .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error_message(), "Ambiguous request: multiple operations but no specified `operationName`");
}

#[tokio::test]
async fn unknown_ids_answer_entity_not_found() {
    let fake = fake().await;
    let cases = [
        ("IssueExists", "ENG-999", "issue", "Issue"),
        ("IssueExists", "3f1b8f0e-0000-4000-8000-000000000000", "issue", "Issue"),
        ("CommentExists", "3f1b8f0e-0000-4000-8000-000000000000", "comment", "Comment"),
        ("IssueLabelExists", "nope", "issueLabel", "IssueLabel"),
        ("IssueRelationExists", "nope", "issueRelation", "IssueRelation"),
        ("AgentActivityExists", "nope", "agentActivity", "AgentActivity"),
        ("AgentSessionActivities", "nope", "agentSession", "AgentSession"),
        ("TeamWorkflowStates", "OPS", "team", "Team"),
    ];
    for (operation, id, field, entity) in cases {
        let variables = if operation == "TeamWorkflowStates" { json!({"teamId": id}) } else { json!({"id": id}) };
        let answer = run(&fake, operation, variables).await;
        assert_eq!(answer.status, 200, "{operation}");
        assert_eq!(answer.body["data"], Value::Null, "{operation}");
        let error = &answer.body["errors"][0];
        assert_eq!(error["message"], json!(format!("Entity not found: {entity}")));
        assert_eq!(error["path"], json!([field]));
        assert_eq!(error["extensions"]["type"], json!("invalid input"));
        assert_eq!(error["extensions"]["code"], json!("INVALID_INPUT"));
        assert_eq!(
            error["extensions"]["userPresentableMessage"],
            json!(format!("Could not find referenced {entity}."))
        );
    }
}

#[tokio::test]
async fn creating_an_existing_id_is_rejected_and_changes_nothing() {
    let fake = fake().await;
    let id = uuid::Uuid::new_v4().to_string();
    let input = json!({"input": {"id": id, "issueId": "ENG-1", "body": "first"}});
    run(&fake, "CommentCreate", input).await.ok();
    let again = run(&fake, "CommentCreate", json!({"input": {"id": id, "issueId": "ENG-1", "body": "second"}})).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["data"], Value::Null);
    assert_eq!(again.error_message(), "Entity already exists");
    assert_eq!(again.body["errors"][0]["extensions"]["type"], json!("invalid input"));
    let comments = fake.comments("ENG-1");
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].body, "first");
    assert_eq!(fake.write_count("commentCreate"), 1);

    let issue_id = uuid::Uuid::new_v4().to_string();
    // Mutations take the team's UUID, not its key.
    let by_key =
        run(&fake, "IssueCreate", json!({"input": {"id": issue_id, "teamId": "ENG", "title": "Phase 2"}})).await;
    assert_eq!(by_key.error_message(), "Entity not found: Team");
    let create = json!({"input": {"id": issue_id, "teamId": ids::TEAM_ENG, "title": "Phase 2"}});
    let created = run(&fake, "IssueCreate", create.clone()).await.ok();
    assert_eq!(created.data()["issueCreate"]["issue"]["identifier"], json!("ENG-2"));
    let again = run(&fake, "IssueCreate", create).await;
    assert_eq!(again.error_message(), "Entity already exists");
    assert_eq!(fake.issues().len(), 2);
    // The rejected create did not take a number: the next issue is ENG-3.
    let next = run(&fake, "IssueCreate", json!({"input": {"teamId": ids::TEAM_ENG, "title": "Phase 3"}})).await.ok();
    assert_eq!(next.data()["issueCreate"]["issue"]["identifier"], json!("ENG-3"));

    let bad =
        run(&fake, "CommentCreate", json!({"input": {"id": "not-a-uuid", "issueId": "ENG-1", "body": "x"}})).await;
    assert_eq!(bad.error_message(), "id must be a UUID, got `not-a-uuid`");
}

#[tokio::test]
async fn input_fields_the_fake_does_not_model_are_named() {
    let fake = fake().await;
    let answer = run(&fake, "IssueUpdate", json!({"id": "ENG-1", "input": {"cycleId": "c1"}})).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.error_message(), "The fake Linear does not model IssueUpdateInput.cycleId");
    assert_eq!(fake.write_count("issueUpdate"), 0);
}

#[tokio::test]
async fn explicit_null_clears_and_absent_keeps() {
    let fake = fake().await;
    let human = fake.human_user_id();
    run(&fake, "IssueUpdate", json!({"id": "ENG-1", "input": {"assigneeId": human, "delegateId": ids::APP_USER}}))
        .await
        .ok();
    run(&fake, "IssueUpdate", json!({"id": "ENG-1", "input": {"delegateId": null}})).await.ok();
    let issue = fake.issue("ENG-1").expect("issue");
    assert_eq!(issue.delegate_id, None);
    assert_eq!(issue.assignee_id, Some(human.clone()));
    // Humans are assigned, agents are delegated.
    let answer = run(&fake, "IssueUpdate", json!({"id": "ENG-1", "input": {"delegateId": human}})).await;
    assert_eq!(
        answer.error_message(),
        "delegateId must be an app user (agents are delegated issues, humans are assigned)"
    );
}

#[tokio::test]
async fn every_answer_carries_rate_limit_headers() {
    let fake = fake().await;
    let first = run(&fake, "IssueDetails", json!({"id": "ENG-1"})).await.ok();
    let second = run(&fake, "Viewer", json!({})).await.ok();
    assert_eq!(first.header("x-ratelimit-requests-limit"), "5000");
    assert_eq!(first.header("x-ratelimit-requests-remaining"), "4999");
    assert_eq!(second.header("x-ratelimit-requests-remaining"), "4998");
    assert_eq!(first.header("x-ratelimit-complexity-limit"), "2000000");
    let complexity: u64 = first.header("x-complexity").parse().expect("complexity");
    assert!((100..10_000).contains(&complexity), "IssueDetails complexity {complexity}");
    let remaining: u64 = first.header("x-ratelimit-complexity-remaining").parse().expect("remaining");
    assert_eq!(remaining, 2_000_000 - complexity);
    let reset: i64 = first.header("x-ratelimit-requests-reset").parse().expect("reset");
    let now = chrono::Utc::now().timestamp_millis();
    assert!(reset > now && reset <= now + 3_600_000, "reset {reset} is epoch ms");
    assert_eq!(first.header("x-ratelimit-complexity-reset"), first.header("x-ratelimit-requests-reset"));
    let human = common::run_as_human(&fake, "Viewer", json!({})).await.ok();
    assert_eq!(human.header("x-ratelimit-requests-limit"), "2500");
    assert_eq!(human.header("x-ratelimit-requests-remaining"), "2499");
    assert_eq!(human.header("x-ratelimit-complexity-limit"), "3000000");
}

#[tokio::test]
async fn a_spent_request_budget_answers_ratelimited() {
    let fake = FakeLinear::start(Workspace::acme().request_limit(2)).await.expect("fake");
    run(&fake, "Viewer", json!({})).await.ok();
    let last = run(&fake, "Viewer", json!({})).await.ok();
    assert_eq!(last.header("x-ratelimit-requests-remaining"), "0");
    let limited = run(&fake, "Viewer", json!({})).await;
    assert_eq!(limited.status, 400);
    assert_eq!(limited.body["errors"][0]["extensions"]["code"], json!("RATELIMITED"));
    assert_eq!(limited.header("x-ratelimit-requests-remaining"), "0");
    assert_eq!(fake.requests().last().map(|r| r.outcome.clone()), Some(Outcome::RateLimited));
}
