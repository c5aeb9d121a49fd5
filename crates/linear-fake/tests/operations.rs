//! Every operation of `operations.graphql`, sent as the real client sends it, in the order an
//! agent run uses them, with the exact answers asserted.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{operation_names, run, run_as_human};
use cutover_linear_fake::{FakeLinear, Outcome, Workspace, ids};
use serde_json::{Value, json};

const DESCRIPTION: &str = "## Objective\nTrack whether a user's email address has been verified, so login can require it.\n\n## Affected tables\n- `users` (~42M rows)\n";
const ISSUE_URL: &str = "https://linear.app/acme/issue/ENG-123/add-users-email-verified-column-zero-downtime";

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn names(nodes: &Value) -> Vec<String> {
    nodes.as_array().expect("nodes").iter().map(|n| n["name"].as_str().expect("name").to_owned()).collect()
}

async fn workspace() -> FakeLinear {
    let fake = FakeLinear::start(
        Workspace::acme()
            .next_issue_number("ENG", 123)
            .label("schema-change", "#4ea7fc", None)
            .guidance("ENG", "Database migrations must be expand/contract."),
    )
    .await
    .expect("fake starts");
    let human = fake.human_user_id();
    fake.create_issue("ENG", "Add users.email_verified column (zero-downtime)", DESCRIPTION, &human).expect("issue");
    fake.label_issue("ENG-123", "schema-change").expect("label");
    fake
}

#[tokio::test]
async fn every_operation_of_operations_graphql_answers_like_linear() {
    let fake = workspace().await;
    let (session_id, _event) = fake.delegate_to_app("ENG-123").expect("delegation");
    let todo_free_state = |name: &str| fake.state_id("ENG", name).expect("state");

    // --- Viewer: the app user behind the OAuth token, the human behind the API key.
    let viewer = run(&fake, "Viewer", json!({})).await.ok();
    assert_eq!(
        viewer.data()["viewer"],
        json!({
            "id": ids::APP_USER,
            "name": "Cutover",
            "displayName": "cutover",
            "email": format!("{}@oauthapp.linear.app", ids::OAUTH_CLIENT),
            "app": true,
            "isMe": true,
            "organization": {"id": ids::ORGANIZATION, "name": "Acme", "urlKey": "acme"},
        })
    );
    let human = run_as_human(&fake, "Viewer", json!({})).await.ok();
    assert_eq!(human.data()["viewer"]["id"], json!(ids::HUMAN));
    assert_eq!(human.data()["viewer"]["app"], json!(false));

    // --- IssueDetails by identifier.
    let details = run(&fake, "IssueDetails", json!({"id": "ENG-123"})).await.ok();
    let issue = &details.data()["issue"];
    let issue_id = issue["id"].as_str().expect("id").to_owned();
    let priya = json!({"id": ids::HUMAN, "name": "Priya Raman", "displayName": "priya", "email": "priya@acme.dev", "app": false});
    let cutover = json!({"id": ids::APP_USER, "name": "Cutover", "displayName": "cutover", "email": format!("{}@oauthapp.linear.app", ids::OAUTH_CLIENT), "app": true});
    assert_eq!(issue["identifier"], json!("ENG-123"));
    assert_eq!(issue["number"], json!(123));
    assert_eq!(issue["title"], json!("Add users.email_verified column (zero-downtime)"));
    assert_eq!(issue["description"], json!(DESCRIPTION));
    assert_eq!(issue["url"], json!(ISSUE_URL));
    assert_eq!(issue["branchName"], json!("priya/eng-123-add-users-email-verified-column-zero-downtime"));
    assert_eq!(issue["priority"], json!(0));
    assert_eq!(issue["priorityLabel"], json!("No priority"));
    assert_eq!(
        issue["state"],
        json!({"id": todo_free_state("Backlog"), "name": "Backlog", "type": "backlog", "position": 0.0, "color": "#bec2c8"})
    );
    assert_eq!(issue["team"], json!({"id": ids::TEAM_ENG, "key": "ENG", "name": "Engineering"}));
    assert_eq!(issue["assignee"], priya);
    assert_eq!(issue["delegate"], cutover);
    assert_eq!(issue["creator"], priya);
    assert_eq!(
        issue["labels"]["nodes"],
        json!([{"id": ids::LABEL_SCHEMA_CHANGE, "name": "schema-change", "color": "#4ea7fc", "isGroup": false, "parent": null, "team": null}])
    );
    assert_eq!(issue["parent"], Value::Null);
    assert_eq!(issue["children"], json!({"nodes": [], "pageInfo": {"hasNextPage": false, "endCursor": null}}));
    assert_eq!(issue["relations"], json!({"nodes": []}));
    assert_eq!(issue["attachments"], json!({"nodes": []}));
    assert_eq!(issue["startedAt"], Value::Null);
    assert!(issue["createdAt"].as_str().expect("createdAt").ends_with('Z'));

    // --- Lookups by team key + number and by branch.
    let by_number = run(&fake, "IssueByTeamKeyAndNumber", json!({"teamKey": "ENG", "number": 123})).await.ok();
    assert_eq!(by_number.data()["issues"]["nodes"][0]["id"], json!(issue_id));
    assert_eq!(by_number.data()["issues"]["nodes"].as_array().map(Vec::len), Some(1));
    let missing = run(&fake, "IssueByTeamKeyAndNumber", json!({"teamKey": "ENG", "number": 999})).await.ok();
    assert_eq!(missing.data()["issues"]["nodes"], json!([]));
    let by_branch = run(&fake, "IssueByBranch", json!({"branchName": "alice/eng-123-add-orders-index"})).await.ok();
    assert_eq!(
        by_branch.data()["issueVcsBranchSearch"],
        json!({
            "id": issue_id,
            "identifier": "ENG-123",
            "title": "Add users.email_verified column (zero-downtime)",
            "url": ISSUE_URL,
            "branchName": "priya/eng-123-add-users-email-verified-column-zero-downtime",
        })
    );
    let no_branch = run(&fake, "IssueByBranch", json!({"branchName": "main"})).await.ok();
    assert_eq!(no_branch.data()["issueVcsBranchSearch"], Value::Null);

    // --- Reconciliation pass: delegated issues, not finished.
    let delegated = run(&fake, "IssuesDelegatedTo", json!({"userId": ids::APP_USER, "first": 25})).await.ok();
    let nodes = &delegated.data()["issues"]["nodes"];
    assert_eq!(nodes.as_array().map(Vec::len), Some(1));
    assert_eq!(nodes[0]["identifier"], json!("ENG-123"));
    assert_eq!(delegated.data()["issues"]["pageInfo"], json!({"hasNextPage": false, "endCursor": issue_id}));

    // --- Comments: create with a client-chosen id, edit, react.
    let comment_id = new_id();
    let created = run(
        &fake,
        "CommentCreate",
        json!({"input": {"id": comment_id, "issueId": "ENG-123", "body": "## Migration plan\n1. expand"}}),
    )
    .await
    .ok();
    let comment = &created.data()["commentCreate"];
    assert_eq!(comment["success"], json!(true));
    assert!(comment["lastSyncId"].as_f64().expect("lastSyncId") > 1000.0);
    assert_eq!(comment["comment"]["id"], json!(comment_id));
    assert_eq!(comment["comment"]["body"], json!("## Migration plan\n1. expand"));
    assert_eq!(comment["comment"]["url"], json!(format!("{ISSUE_URL}#comment-{}", &comment_id[..8])));
    assert_eq!(comment["comment"]["parentId"], Value::Null);
    assert_eq!(comment["comment"]["editedAt"], Value::Null);
    assert_eq!(comment["comment"]["resolvedAt"], Value::Null);
    assert_eq!(comment["comment"]["user"], cutover);
    assert_eq!(comment["comment"]["botActor"], Value::Null);

    let updated = run(
        &fake,
        "CommentUpdate",
        json!({"id": comment_id, "input": {"body": "## Migration plan\n1. expand\n2. backfill"}}),
    )
    .await
    .ok();
    let update = &updated.data()["commentUpdate"];
    assert_eq!(update["success"], json!(true));
    assert_eq!(update["comment"]["body"], json!("## Migration plan\n1. expand\n2. backfill"));
    assert!(update["comment"]["editedAt"].is_string());

    let thread_root = fake.comments("ENG-123")[0].id.clone();
    let reaction =
        run(&fake, "ReactionCreate", json!({"input": {"commentId": thread_root, "emoji": "eyes"}})).await.ok();
    assert_eq!(reaction.data()["reactionCreate"]["success"], json!(true));
    assert_eq!(reaction.data()["reactionCreate"]["reaction"]["emoji"], json!("eyes"));

    let comments = run(&fake, "IssueComments", json!({"id": "ENG-123", "first": 25})).await.ok();
    let connection = &comments.data()["issue"]["comments"];
    let bodies: Vec<&str> =
        connection["nodes"].as_array().expect("nodes").iter().map(|c| c["body"].as_str().expect("body")).collect();
    // Newest first, like Linear.
    assert_eq!(
        bodies,
        vec!["## Migration plan\n1. expand\n2. backfill", "This thread is for an agent session with cutover."]
    );
    let root = &connection["nodes"][1];
    assert_eq!(root["user"], priya);
    assert_eq!(root["reactionData"][0]["emoji"], json!("eyes"));
    assert_eq!(root["reactionData"][0]["reactions"][0]["userId"], json!(ids::APP_USER));
    assert_eq!(root["children"], json!({"nodes": []}));
    assert_eq!(connection["pageInfo"], json!({"hasNextPage": false, "endCursor": thread_root}));

    // --- Workflow states.
    let states = run(&fake, "TeamWorkflowStates", json!({"teamId": "ENG"})).await.ok();
    let mut by_position: Vec<(f64, String, String)> = states.data()["team"]["states"]["nodes"]
        .as_array()
        .expect("states")
        .iter()
        .map(|s| {
            (
                s["position"].as_f64().expect("position"),
                s["name"].as_str().expect("name").to_owned(),
                s["type"].as_str().expect("type").to_owned(),
            )
        })
        .collect();
    by_position.sort_by(|a, b| a.0.total_cmp(&b.0));
    let expected: Vec<(f64, String, String)> = [
        (0.0, "Backlog", "backlog"),
        (1.0, "Todo", "unstarted"),
        (2.0, "In Progress", "started"),
        (3.0, "In Review", "started"),
        (4.0, "Done", "completed"),
        (5.0, "Canceled", "canceled"),
    ]
    .into_iter()
    .map(|(p, n, t)| (p, n.to_owned(), t.to_owned()))
    .collect();
    assert_eq!(by_position, expected);
    assert_eq!(states.data()["team"]["key"], json!("ENG"));

    let started = run(&fake, "WorkflowStatesByType", json!({"teamId": ids::TEAM_ENG, "type": "started"})).await.ok();
    let mut started_nodes: Vec<Value> = started.data()["workflowStates"]["nodes"].as_array().expect("nodes").clone();
    started_nodes.sort_by(|a, b| {
        a["position"].as_f64().unwrap_or_default().total_cmp(&b["position"].as_f64().unwrap_or_default())
    });
    let in_progress = todo_free_state("In Progress");
    assert_eq!(
        started_nodes,
        vec![
            json!({"id": in_progress, "name": "In Progress", "type": "started", "position": 2.0, "color": "#f2c94c", "team": {"id": ids::TEAM_ENG, "key": "ENG"}}),
            json!({"id": todo_free_state("In Review"), "name": "In Review", "type": "started", "position": 3.0, "color": "#0f783c", "team": {"id": ids::TEAM_ENG, "key": "ENG"}}),
        ]
    );

    // --- Labels.
    let label_id = new_id();
    let label = run(
        &fake,
        "IssueLabelCreate",
        json!({"input": {"id": label_id, "name": "zero-downtime", "color": "#4EA7FC", "teamId": ids::TEAM_ENG}}),
    )
    .await
    .ok();
    assert_eq!(
        label.data()["issueLabelCreate"],
        json!({"success": true, "issueLabel": {"id": label_id, "name": "zero-downtime", "color": "#4EA7FC", "isGroup": false, "parent": null, "team": {"id": ids::TEAM_ENG, "key": "ENG"}}})
    );
    let by_name =
        run(&fake, "IssueLabelsByName", json!({"names": ["schema-change", "zero-downtime", "backfill"]})).await.ok();
    let mut found = names(&by_name.data()["issueLabels"]["nodes"]);
    found.sort();
    assert_eq!(found, vec!["schema-change", "zero-downtime"]);
    assert_eq!(by_name.data()["issueLabels"]["pageInfo"]["hasNextPage"], json!(false));
    let team_labels = run(&fake, "TeamLabels", json!({"teamId": "ENG"})).await.ok();
    assert_eq!(names(&team_labels.data()["team"]["labels"]["nodes"]), vec!["zero-downtime"]);
    assert_eq!(team_labels.data()["team"]["id"], json!(ids::TEAM_ENG));

    // --- IssueUpdate: start the issue, add a label; single-label helpers.
    let moved = run(
        &fake,
        "IssueUpdate",
        json!({"id": "ENG-123", "input": {"stateId": in_progress, "addedLabelIds": [label_id]}}),
    )
    .await
    .ok();
    let moved = &moved.data()["issueUpdate"];
    assert_eq!(moved["success"], json!(true));
    assert_eq!(moved["issue"]["identifier"], json!("ENG-123"));
    assert_eq!(moved["issue"]["state"]["name"], json!("In Progress"));
    assert_eq!(
        moved["issue"]["labels"]["nodes"],
        // Connections are newest first: the label created in this run comes first.
        json!([{"id": label_id, "name": "zero-downtime"}, {"id": ids::LABEL_SCHEMA_CHANGE, "name": "schema-change"}])
    );
    assert_eq!(moved["issue"]["delegate"], json!({"id": ids::APP_USER, "name": "Cutover"}));
    let removed = run(&fake, "IssueRemoveLabel", json!({"id": "ENG-123", "labelId": label_id})).await.ok();
    assert_eq!(
        removed.data()["issueRemoveLabel"],
        json!({"success": true, "issue": {"id": issue_id, "labelIds": [ids::LABEL_SCHEMA_CHANGE]}})
    );
    let added = run(&fake, "IssueAddLabel", json!({"id": issue_id, "labelId": label_id})).await.ok();
    assert_eq!(added.data()["issueAddLabel"]["issue"]["labelIds"], json!([ids::LABEL_SCHEMA_CHANGE, label_id]));

    // --- Sub-issue with a client-chosen id, then a blocking relation.
    let child_id = new_id();
    let child = run(
        &fake,
        "IssueCreate",
        json!({"input": {
            "id": child_id,
            "teamId": ids::TEAM_ENG,
            "parentId": "ENG-123",
            "title": "Contract: drop users.legacy_email",
            "description": "After the release that stops writing it.",
            "labelIds": [ids::LABEL_SCHEMA_CHANGE],
        }}),
    )
    .await
    .ok();
    let child = &child.data()["issueCreate"];
    assert_eq!(child["success"], json!(true));
    assert_eq!(child["issue"]["id"], json!(child_id));
    assert_eq!(child["issue"]["identifier"], json!("ENG-124"));
    assert_eq!(child["issue"]["number"], json!(124));
    assert_eq!(child["issue"]["url"], json!("https://linear.app/acme/issue/ENG-124/contract-drop-users-legacy-email"));
    assert_eq!(child["issue"]["branchName"], json!("cutover/eng-124-contract-drop-users-legacy-email"));
    assert_eq!(child["issue"]["state"]["name"], json!("Backlog"));
    assert_eq!(child["issue"]["creator"], cutover);
    assert_eq!(child["issue"]["assignee"], Value::Null);
    assert_eq!(
        child["issue"]["parent"],
        json!({"id": issue_id, "identifier": "ENG-123", "title": "Add users.email_verified column (zero-downtime)", "url": ISSUE_URL})
    );

    let relation_id = new_id();
    let relation = run(
        &fake,
        "IssueRelationCreate",
        json!({"input": {"id": relation_id, "issueId": "ENG-123", "relatedIssueId": "ENG-124", "type": "blocks"}}),
    )
    .await
    .ok();
    assert_eq!(
        relation.data()["issueRelationCreate"],
        json!({"success": true, "issueRelation": {
            "id": relation_id,
            "type": "blocks",
            "issue": {"id": issue_id, "identifier": "ENG-123"},
            "relatedIssue": {"id": child_id, "identifier": "ENG-124"},
        }})
    );

    // --- Attachments: PR link (idempotent), URL link, custom card (upsert by URL).
    let pr_url = "https://github.com/acme/shop/pull/42";
    let pr = run(&fake, "AttachmentLinkGitHubPR", json!({"issueId": "ENG-123", "url": pr_url})).await.ok();
    let pr_attachment = pr.data()["attachmentLinkGitHubPR"]["attachment"].clone();
    assert_eq!(pr_attachment["title"], json!("acme/shop#42"));
    assert_eq!(pr_attachment["url"], json!(pr_url));
    assert_eq!(pr_attachment["sourceType"], json!("github"));
    let again = run(
        &fake,
        "AttachmentLinkGitHubPR",
        json!({"issueId": issue_id, "url": pr_url, "title": "ignored on re-link"}),
    )
    .await
    .ok();
    assert_eq!(again.data()["attachmentLinkGitHubPR"]["attachment"], pr_attachment);
    let link = run(
        &fake,
        "AttachmentLinkURL",
        json!({"issueId": "ENG-123", "url": "https://grafana.acme.dev/d/migrations", "title": "Dashboard"}),
    )
    .await
    .ok();
    let link = &link.data()["attachmentLinkURL"]["attachment"];
    assert_eq!(link["title"], json!("Dashboard"));
    assert_eq!(link["sourceType"], json!("url"));
    let card_url = "https://cutover.dev/runs/1";
    let card = run(
        &fake,
        "AttachmentCreate",
        json!({"input": {"issueId": "ENG-123", "url": card_url, "title": "Migration verification", "subtitle": "3/4 checks", "metadata": {"checks": 3}}}),
    )
    .await
    .ok();
    let card = card.data()["attachmentCreate"]["attachment"].clone();
    assert_eq!(card["subtitle"], json!("3/4 checks"));
    assert_eq!(card["metadata"], json!({"checks": 3}));
    let card_again = run(
        &fake,
        "AttachmentCreate",
        json!({"input": {"issueId": "ENG-123", "url": card_url, "title": "Migration verification", "subtitle": "4/4 checks", "metadata": {"checks": 4}}}),
    )
    .await
    .ok();
    assert_eq!(
        card_again.data()["attachmentCreate"]["attachment"],
        json!({"id": card["id"], "title": "Migration verification", "subtitle": "4/4 checks", "url": card_url, "metadata": {"checks": 4}})
    );
    let for_url = run(&fake, "AttachmentsForUrl", json!({"url": pr_url})).await.ok();
    assert_eq!(
        for_url.data()["attachmentsForURL"]["nodes"],
        json!([{"id": pr_attachment["id"], "title": "acme/shop#42", "url": pr_url, "sourceType": "github", "issue": {"id": issue_id, "identifier": "ENG-123"}}])
    );

    // --- The issue now has a child, a relation and three attachments.
    let details = run(&fake, "IssueDetails", json!({"id": issue_id, "childrenFirst": 10})).await.ok();
    let issue = &details.data()["issue"];
    assert_eq!(issue["state"]["name"], json!("In Progress"));
    assert!(issue["startedAt"].is_string());
    assert_eq!(issue["children"]["nodes"][0]["identifier"], json!("ENG-124"));
    assert_eq!(
        issue["children"]["nodes"][0]["labels"]["nodes"],
        json!([{"id": ids::LABEL_SCHEMA_CHANGE, "name": "schema-change"}])
    );
    assert_eq!(
        issue["relations"]["nodes"],
        json!([{"id": relation_id, "type": "blocks", "relatedIssue": {"id": child_id, "identifier": "ENG-124", "title": "Contract: drop users.legacy_email"}}])
    );
    assert_eq!(issue["attachments"]["nodes"].as_array().map(Vec::len), Some(3));

    // --- Agent API: activity, session update, conversation, proactive session.
    let activity_id = new_id();
    let activity = run(
        &fake,
        "AgentActivityCreate",
        json!({"input": {"id": activity_id, "agentSessionId": session_id, "content": {"type": "thought", "body": "Reading the schema"}}}),
    )
    .await
    .ok();
    let activity = &activity.data()["agentActivityCreate"];
    assert_eq!(activity["success"], json!(true));
    assert_eq!(activity["agentActivity"]["id"], json!(activity_id));
    assert_eq!(activity["agentActivity"]["ephemeral"], json!(false));
    assert_eq!(activity["agentActivity"]["signal"], Value::Null);

    let plan = json!([{"content": "Expand", "status": "inProgress"}, {"content": "Contract", "status": "pending"}]);
    let session = run(
        &fake,
        "AgentSessionUpdate",
        json!({"id": session_id, "input": {"addedExternalUrls": [{"label": "Pull request", "url": pr_url}], "plan": plan}}),
    )
    .await
    .ok();
    assert_eq!(
        session.data()["agentSessionUpdate"],
        json!({"success": true, "agentSession": {"id": session_id, "status": "active", "plan": plan, "externalLinks": [{"label": "Pull request", "url": pr_url}]}})
    );

    let conversation = run(&fake, "AgentSessionActivities", json!({"id": session_id})).await.ok();
    let session = &conversation.data()["agentSession"];
    assert_eq!(session["status"], json!("active"));
    assert_eq!(session["url"], json!(format!("{ISSUE_URL}#agent-session-{}", &session_id[..8])));
    assert_eq!(session["issue"], json!({"id": issue_id, "identifier": "ENG-123"}));
    assert!(session["startedAt"].is_string());
    assert_eq!(session["endedAt"], Value::Null);
    let nodes = &session["activities"]["nodes"];
    assert_eq!(nodes.as_array().map(Vec::len), Some(1));
    assert_eq!(nodes[0]["id"], json!(activity_id));
    assert_eq!(nodes[0]["content"], json!({"__typename": "AgentActivityThoughtContent", "body": "Reading the schema"}));
    assert_eq!(nodes[0]["user"], json!({"id": ids::APP_USER, "name": "Cutover", "app": true}));
    assert_eq!(nodes[0]["signalMetadata"], Value::Null);

    let proactive = run(&fake, "AgentSessionCreateOnIssue", json!({"input": {"issueId": "ENG-124"}})).await.ok();
    let proactive = &proactive.data()["agentSessionCreateOnIssue"];
    assert_eq!(proactive["success"], json!(true));
    assert_eq!(proactive["agentSession"]["status"], json!("pending"));
    let proactive_id = proactive["agentSession"]["id"].as_str().expect("id");
    assert_eq!(
        proactive["agentSession"]["url"],
        json!(format!(
            "https://linear.app/acme/issue/ENG-124/contract-drop-users-legacy-email#agent-session-{}",
            &proactive_id[..8]
        ))
    );

    // --- Repository suggestions: candidates named in the issue text.
    let suggestions = run(
        &fake,
        "IssueRepositorySuggestions",
        json!({"issueId": "ENG-123", "agentSessionId": session_id, "candidates": [
            {"hostname": "github.com", "repositoryFullName": "acme/login"},
            {"hostname": "github.com", "repositoryFullName": "acme/billing"},
        ]}),
    )
    .await
    .ok();
    assert_eq!(
        suggestions.data()["issueRepositorySuggestions"],
        json!({"suggestions": [{"hostname": "github.com", "repositoryFullName": "acme/login", "confidence": 0.9}]})
    );

    // --- Rate-limit status agrees with the headers of the same answer.
    let status = run(&fake, "RateLimitStatus", json!({})).await.ok();
    let remaining: f64 = status.header("x-ratelimit-requests-remaining").parse().expect("remaining header");
    let limits = &status.data()["rateLimitStatus"];
    assert_eq!(limits["identifier"], json!(ids::APP_USER));
    assert_eq!(limits["kind"], json!("oauth"));
    assert_eq!(limits["limits"][0]["type"], json!("requestLimit"));
    assert_eq!(limits["limits"][0]["allowedAmount"], json!(5000.0));
    assert_eq!(limits["limits"][0]["remainingAmount"], json!(remaining));
    assert_eq!(limits["limits"][0]["period"], json!(3_600_000.0));
    assert_eq!(limits["limits"][1]["type"], json!("complexityLimit"));

    // --- Admin-only webhook setup: the human's API key may, the app token may not.
    let webhook = run_as_human(
        &fake,
        "WebhookCreate",
        json!({"input": {"url": "https://hooks.acme.dev/linear", "resourceTypes": ["Issue", "Comment"], "allPublicTeams": true, "secret": "s3cret"}}),
    )
    .await
    .ok();
    let webhook = &webhook.data()["webhookCreate"];
    assert_eq!(webhook["success"], json!(true));
    assert_eq!(webhook["webhook"]["resourceTypes"], json!(["Issue", "Comment"]));
    assert_eq!(webhook["webhook"]["enabled"], json!(true));
    assert_eq!(webhook["webhook"]["allPublicTeams"], json!(true));
    assert_eq!(webhook["webhook"]["secret"], json!("s3cret"));
    assert_eq!(webhook["webhook"]["url"], json!("https://hooks.acme.dev/linear"));
    let forbidden = run(
        &fake,
        "WebhookCreate",
        json!({"input": {"url": "https://hooks.acme.dev/linear", "resourceTypes": ["Issue"], "allPublicTeams": true}}),
    )
    .await;
    assert_eq!(forbidden.status, 200);
    assert_eq!(forbidden.data(), &Value::Null);
    assert_eq!(forbidden.body["errors"][0]["extensions"]["code"], json!("FORBIDDEN"));

    // --- Existence checks by client-chosen id.
    let exists = run(&fake, "CommentExists", json!({"id": comment_id})).await.ok();
    assert_eq!(exists.data(), &json!({"comment": {"id": comment_id}}));
    let exists = run(&fake, "IssueExists", json!({"id": child_id})).await.ok();
    assert_eq!(
        exists.data(),
        &json!({"issue": {"id": child_id, "identifier": "ENG-124", "url": "https://linear.app/acme/issue/ENG-124/contract-drop-users-legacy-email"}})
    );
    let exists = run(&fake, "IssueLabelExists", json!({"id": label_id})).await.ok();
    assert_eq!(exists.data(), &json!({"issueLabel": {"id": label_id, "name": "zero-downtime"}}));
    let exists = run(&fake, "IssueRelationExists", json!({"id": relation_id})).await.ok();
    assert_eq!(exists.data(), &json!({"issueRelation": {"id": relation_id}}));
    let exists = run(&fake, "AgentActivityExists", json!({"id": activity_id})).await.ok();
    assert_eq!(exists.data(), &json!({"agentActivity": {"id": activity_id}}));

    // --- Coverage: every operation of operations.graphql was answered without errors.
    let answered: BTreeSet<String> =
        fake.requests().into_iter().filter(|r| r.outcome == Outcome::Ok).filter_map(|r| r.operation_name).collect();
    assert_eq!(answered, operation_names());
    assert_eq!(operation_names().len(), 35);

    // --- Applied writes per mutation (the forbidden webhookCreate is not counted).
    let expected: BTreeMap<String, usize> = [
        ("agentActivityCreate", 1),
        ("agentSessionCreateOnIssue", 1),
        ("agentSessionUpdate", 1),
        ("attachmentCreate", 2),
        ("attachmentLinkGitHubPR", 2),
        ("attachmentLinkURL", 1),
        ("commentCreate", 1),
        ("commentUpdate", 1),
        ("issueAddLabel", 1),
        ("issueCreate", 1),
        ("issueLabelCreate", 1),
        ("issueRelationCreate", 1),
        ("issueRemoveLabel", 1),
        ("issueUpdate", 1),
        ("reactionCreate", 1),
        ("webhookCreate", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(fake.write_counts(), expected);

    // --- The inspection API sees the same workspace.
    let parent = fake.issue("ENG-123").expect("ENG-123");
    assert_eq!(parent.state.name, "In Progress");
    assert_eq!(parent.labels, vec!["schema-change", "zero-downtime"]);
    assert_eq!(parent.children, vec!["ENG-124"]);
    assert_eq!(parent.delegate_id.as_deref(), Some(ids::APP_USER));
    let sub = fake.issue(&child_id).expect("child");
    assert_eq!(sub.parent.as_deref(), Some("ENG-123"));
    assert_eq!(fake.relations()[0].kind, "blocks");
    assert_eq!(fake.attachments("ENG-123").len(), 3);
}

#[tokio::test]
async fn connections_page_with_first_and_after() {
    let fake = workspace().await;
    for n in 0..4 {
        fake.comment_mentioning_app("ENG-123", &format!("comment {n}")).expect("comment");
    }
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = run(&fake, "IssueComments", json!({"id": "ENG-123", "first": 3, "after": after})).await.ok();
        let connection = &page.data()["issue"]["comments"];
        for node in connection["nodes"].as_array().expect("nodes") {
            seen.push(node["body"].as_str().expect("body").to_owned());
        }
        if connection["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    let app_url = "https://linear.app/acme/profiles/cutover";
    assert_eq!(seen, (0..4).rev().map(|n| format!("{app_url} comment {n}")).collect::<Vec<_>>());
    let bad_cursor = run(&fake, "IssueComments", json!({"id": "ENG-123", "after": "not-a-cursor"})).await;
    assert_eq!(bad_cursor.error_message(), "Invalid cursor `not-a-cursor` for CommentConnection");
}

#[tokio::test]
async fn aliases_typename_and_fragments_are_projected() {
    let fake = workspace().await;
    let query = r#"
        query Shapes($id: String!) {
            first: issue(id: $id) { __typename key: identifier ...Bits }
            second: issue(id: "ENG-123") { identifier @include(if: false) title @skip(if: true) number }
            __typename
        }
        fragment Bits on Issue { team { ... on Team { k: key } } labels(first: 1) { nodes { name } } }
    "#;
    let answer =
        common::post(&fake, Some(&fake.api_key()), &json!({"query": query, "variables": {"id": "ENG-123"}})).await.ok();
    assert_eq!(
        answer.body,
        json!({"data": {
            "first": {"__typename": "Issue", "key": "ENG-123", "team": {"k": "ENG"}, "labels": {"nodes": [{"name": "schema-change"}]}},
            "second": {"number": 123},
            "__typename": "Query",
        }})
    );
}

#[tokio::test]
async fn fields_the_fake_does_not_model_are_errors_not_nulls() {
    let fake = workspace().await;
    let query = r#"query { issue(id: "ENG-123") { identifier estimate cycle { id } } }"#;
    let answer = common::post(&fake, Some(&fake.api_key()), &json!({"query": query})).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["data"], json!({"issue": {"identifier": "ENG-123", "estimate": null, "cycle": null}}));
    assert_eq!(answer.body["errors"][0]["message"], json!("The fake Linear does not model the field `Issue.cycle`"));
    assert_eq!(answer.body["errors"][0]["path"], json!(["issue", "cycle"]));
    assert_eq!(answer.body["errors"][0]["extensions"]["code"], json!("NOT_MODELLED_BY_FAKE"));
}

#[tokio::test]
async fn reconciliation_finds_delegated_or_assigned_open_issues_only() {
    let fake = workspace().await;
    let human = fake.human_user_id();
    fake.delegate_to_app("ENG-123").expect("delegate");
    fake.create_issue("ENG", "Unrelated", "", &human).expect("issue");
    let assigned = fake.create_issue("ENG", "Assigned to the app", "", &human).expect("issue");
    run_as_human(&fake, "IssueUpdate", json!({"id": assigned.identifier, "input": {"assigneeId": ids::APP_USER}}))
        .await
        .ok();
    let identifiers = |answer: &common::Answer| -> Vec<String> {
        answer.data()["issues"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["identifier"].as_str().expect("identifier").to_owned())
            .collect()
    };
    let vars = json!({"userId": ids::APP_USER});
    let open = run(&fake, "IssuesDelegatedTo", vars.clone()).await.ok();
    // orderBy: updatedAt, newest first.
    assert_eq!(identifiers(&open), vec!["ENG-125", "ENG-123"]);
    fake.move_issue("ENG-123", "Done").expect("done");
    let open = run(&fake, "IssuesDelegatedTo", vars.clone()).await.ok();
    assert_eq!(identifiers(&open), vec!["ENG-125"]);
    let first_page = run(&fake, "IssuesDelegatedTo", json!({"userId": ids::APP_USER, "first": 0})).await.ok();
    assert_eq!(first_page.data()["issues"]["pageInfo"], json!({"hasNextPage": true, "endCursor": null}));
}

#[tokio::test]
async fn issues_land_in_triage_when_the_team_has_it() {
    let fake = FakeLinear::start(Workspace::acme().triage("ENG")).await.expect("fake");
    let created =
        run(&fake, "IssueCreate", json!({"input": {"teamId": ids::TEAM_ENG, "title": "From an integration"}}))
            .await
            .ok();
    assert_eq!(created.data()["issueCreate"]["issue"]["state"]["type"], json!("triage"));
    let parent_id = created.data()["issueCreate"]["issue"]["id"].clone();
    let child = run(
        &fake,
        "IssueCreate",
        json!({"input": {"teamId": ids::TEAM_ENG, "title": "Child", "parentId": parent_id, "stateId": fake.state_id("ENG", "Todo")}}),
    )
    .await
    .ok();
    assert_eq!(child.data()["issueCreate"]["issue"]["parent"]["identifier"], json!("ENG-1"));
    assert_eq!(child.data()["issueCreate"]["issue"]["state"]["id"], json!(ids::STATE_TODO));
    assert_eq!(fake.issue("ENG-1").expect("parent").children, vec!["ENG-2"]);
}
