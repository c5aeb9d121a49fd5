//! The client against the fake Linear: auth forms, typed errors, retries on rate limits and
//! outages (and no blind retry of a mutation), budgets read from the headers, pagination.

use std::time::{Duration, Instant};

use cutover_linear::types::CommentCreateInput;
use cutover_linear::{ClientConfig, CreatedKind, Credentials, LinearClient, LinearError};
use cutover_linear_fake::{Failure, FakeLinear, Workspace};

fn client(fake: &FakeLinear, credentials: Credentials) -> LinearClient {
    let mut config = ClientConfig::new(fake.url(), credentials);
    config.base_backoff = Duration::from_millis(2);
    config.max_backoff = Duration::from_millis(50);
    config.max_attempts = 4;
    // The fake's resets are milliseconds away; the default floor (1 s) would slow every test.
    config.wait_bounds.min = Duration::from_millis(1);
    LinearClient::new(config).unwrap()
}

fn app(fake: &FakeLinear) -> LinearClient {
    client(fake, Credentials::OAuthToken(fake.oauth_token()))
}

#[tokio::test]
async fn api_keys_go_bare_and_oauth_tokens_as_bearer() {
    let fake = FakeLinear::start(Workspace::acme()).await.unwrap();
    let as_app = app(&fake).viewer().await.unwrap();
    assert_eq!((as_app.user.name.as_str(), as_app.user.app), ("Cutover", true));
    assert_eq!(as_app.organization.url_key, "acme");
    let as_priya = client(&fake, Credentials::ApiKey(fake.api_key())).viewer().await.unwrap();
    assert_eq!((as_priya.user.name.as_str(), as_priya.user.app), ("Priya Raman", false));
    // A key sent as a bearer token is refused, like Linear does.
    let err = client(&fake, Credentials::OAuthToken(fake.api_key())).viewer().await.unwrap_err();
    assert!(matches!(err, LinearError::Authentication(_)), "{err:?}");
}

#[tokio::test]
async fn app_credentials_fetch_a_token_once_and_again_when_it_is_refused() {
    let fake = FakeLinear::start(Workspace::acme()).await.unwrap();
    let (client_id, client_secret) = fake.client_credentials();
    let c = client(&fake, Credentials::App { client_id: client_id.clone(), client_secret });
    assert_eq!(c.viewer().await.unwrap().user.name, "Cutover", "the token acts as the app user");
    c.viewer().await.unwrap();
    assert_eq!(fake.app_tokens_issued(), 1, "one token while Linear accepts it");
    // The token expires (or the secret was rotated): the next call gets a new one and succeeds.
    fake.revoke_app_token();
    c.viewer().await.unwrap();
    assert_eq!(fake.app_tokens_issued(), 2);

    let wrong = client(&fake, Credentials::App { client_id, client_secret: "nope".into() });
    let err = wrong.viewer().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        LinearError::Authentication(
            "Linear refused the app's client credentials (LINEAR_CLIENT_ID, LINEAR_CLIENT_SECRET): invalid_client"
                .into()
        )
        .to_string()
    );
    assert_eq!(fake.app_tokens_issued(), 2, "a refused secret gets no token");
}

#[tokio::test]
async fn rate_limits_and_429s_are_waited_out() {
    let fake = FakeLinear::start(Workspace::acme()).await.unwrap();
    let c = app(&fake);
    fake.fail_next(2, Failure::RateLimited { reset_after_ms: 40 });
    let started = Instant::now();
    c.viewer().await.expect("succeeds after the limit resets");
    assert!(started.elapsed() >= Duration::from_millis(40), "waited for the reset: {:?}", started.elapsed());
    fake.fail_next(1, Failure::TooManyRequests);
    c.viewer().await.expect("succeeds after a 429");
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [400, 400, 200, 429, 200]);
}

#[tokio::test]
async fn a_spent_budget_from_the_headers_ends_in_a_rate_limit_error() {
    let fake = FakeLinear::start(Workspace::acme().request_limit(2)).await.unwrap();
    let c = app(&fake);
    c.viewer().await.unwrap();
    c.viewer().await.unwrap();
    let limits = c.rate_limits();
    assert_eq!(limits.requests_remaining, Some(0));
    assert!(limits.requests_reset_ms.unwrap() > 1_700_000_000_000, "reset is epoch ms: {limits:?}");
    let err = c.viewer().await.unwrap_err();
    match err {
        // The fake's budget resets in an hour; waits are clamped to 15 minutes.
        LinearError::RateLimited { retry_after } => assert_eq!(retry_after, Duration::from_secs(15 * 60)),
        other => panic!("{other:?}"),
    }
    // Known from the headers: no request is spent on a call that cannot succeed.
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn queries_retry_outages_but_mutations_are_left_to_the_outbox() {
    let fake = FakeLinear::start(Workspace::acme()).await.unwrap();
    let c = app(&fake);
    let issue = fake.create_issue("ENG", "t", "d", &fake.human_user_id()).unwrap();
    fake.fail_next(2, Failure::ServerError);
    assert_eq!(c.issue(&issue.identifier).await.unwrap().identifier, issue.identifier);

    fake.fail_next(1, Failure::LostResponse);
    let id = "0b7f7d6e-1d2c-4b5a-8f9e-0a1b2c3d4e5f";
    let input = CommentCreateInput {
        id: Some(id.into()),
        issue_id: Some(issue.id.clone()),
        body: Some("hello".into()),
        parent_id: None,
    };
    let err = c.comment_create(&input).await.unwrap_err();
    assert!(matches!(err, LinearError::Http { status: 502 }), "{err:?}");
    assert!(err.is_retryable() && err.may_have_applied());
    assert_eq!(fake.write_count("commentCreate"), 1, "sent once, applied once");
    // The existence check finds what the lost response created.
    let found = c.find_created(CreatedKind::Comment, id).await.unwrap().expect("created");
    assert_eq!(found.id, id);
    assert_eq!(c.find_created(CreatedKind::Comment, "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9").await.unwrap(), None);
    // Creating it again under the same id is refused, never doubled.
    let again = c.comment_create(&input).await.unwrap_err();
    assert!(matches!(again, LinearError::InvalidInput(ref m) if m.contains("already exists")), "{again:?}");
    assert_eq!(fake.comments(&issue.identifier).len(), 1);
}

#[tokio::test]
async fn graphql_errors_are_typed() {
    let fake = FakeLinear::start(Workspace::acme()).await.unwrap();
    let c = app(&fake);
    let err = c.issue("ENG-404").await.unwrap_err();
    assert!(matches!(err, LinearError::NotFound(_)), "{err:?}");
    assert!(!err.is_retryable());
    fake.fail_next(1, Failure::GraphqlError("Something broke".into()));
    let err = c.viewer().await.unwrap_err();
    assert_eq!(err.to_string(), "Linear returned an error for Viewer: Something broke");
}

#[tokio::test]
async fn comments_are_read_across_pages() {
    let fake = FakeLinear::start(Workspace::acme()).await.unwrap();
    let c = app(&fake);
    let issue = fake.create_issue("ENG", "t", "d", &fake.human_user_id()).unwrap();
    for n in 0..57 {
        let input =
            CommentCreateInput { issue_id: Some(issue.id.clone()), body: Some(format!("c{n}")), ..Default::default() };
        c.comment_create(&input).await.unwrap();
    }
    let comments = c.issue_comments(&issue.identifier).await.unwrap();
    assert_eq!(comments.len(), 57);
    let mut bodies: Vec<_> = comments.iter().map(|c| c.body.clone()).collect();
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), 57, "no page read twice");
    let pages = fake.requests().iter().filter(|r| r.operation_name.as_deref() == Some("IssueComments")).count();
    assert_eq!(pages, 2);
}
