//! The GitHub client and its idempotent writes against the fake GitHub over HTTP.

use std::time::Duration;

use cutover_github::publish::{File, Push, push_branch, upsert_comment, upsert_pull};
use cutover_github::{AppKey, ClientConfig, Credentials, GitHubClient, GitHubError, Repo, Signature};
use cutover_github_fake::{Failure, FakeGitHub};

const REPO: &str = "acme/shop";

async fn fake() -> FakeGitHub {
    let fake = FakeGitHub::start().await.unwrap();
    fake.add_repo(
        REPO,
        "main",
        &[("README.md", "# shop\n"), ("db/migrations/0001_init.sql", "CREATE TABLE users (id int);\n")],
    );
    fake
}

fn client(fake: &FakeGitHub) -> GitHubClient {
    let mut config = ClientConfig::new(fake.url(), Credentials::Token(fake.token()));
    config.base_backoff = Duration::from_millis(10);
    config.timeout = Duration::from_millis(700);
    GitHubClient::new(config).unwrap()
}

fn author() -> Signature {
    Signature {
        name: "Cutover".into(),
        email: "cutover@users.noreply.github.com".into(),
        date: "2026-12-07T21:00:00Z".into(),
    }
}

fn files() -> Vec<File> {
    vec![
        File {
            path: "db/migrations/0002_eng_123_expand.sql".into(),
            content: "ALTER TABLE users ADD COLUMN email text;\n".into(),
        },
        File {
            path: "db/migrations/0003_eng_123_contract.sql".into(),
            content: "ALTER TABLE users DROP COLUMN name;\n".into(),
        },
    ]
}

fn push<'a>(files: &'a [File], author: &'a Signature) -> Push<'a> {
    Push { base: "main", branch: "alice/eng-123-add-email", message: "ENG-123: add users.email\n", files, author }
}

#[tokio::test]
async fn reads_the_default_branch_and_its_files() {
    let fake = fake().await;
    let (client, repo) = (client(&fake), Repo::parse(REPO).unwrap());
    let info = client.repository(&repo).await.unwrap();
    assert_eq!((info.default_branch.as_str(), info.full_name.as_str()), ("main", "acme/shop"));
    let head = client.branch_head(&repo, "main").await.unwrap().unwrap();
    let tree = client.tree(&repo, &client.commit(&repo, &head).await.unwrap().tree.sha).await.unwrap();
    let paths: Vec<(&str, &str)> = tree.tree.iter().map(|e| (e.path.as_str(), e.kind.as_str())).collect();
    assert_eq!(
        paths,
        [("README.md", "blob"), ("db", "tree"), ("db/migrations", "tree"), ("db/migrations/0001_init.sql", "blob")]
    );
    let blob = tree.tree.iter().find(|e| e.path.ends_with("0001_init.sql")).unwrap();
    assert_eq!(client.blob(&repo, &blob.sha).await.unwrap(), b"CREATE TABLE users (id int);\n");
    assert_eq!(client.branch_head(&repo, "nope").await.unwrap(), None);
    let err = client.repository(&Repo::parse("acme/missing").unwrap()).await.unwrap_err();
    assert_eq!(err.to_string(), "not found on GitHub: Not Found");
}

#[tokio::test]
async fn one_commit_on_the_branch_and_the_same_commit_when_pushed_again() {
    let fake = fake().await;
    let (client, repo) = (client(&fake), Repo::parse(REPO).unwrap());
    let (files, author) = (files(), author());
    let first = push_branch(&client, &repo, &push(&files, &author)).await.unwrap();
    assert!(first.moved);
    let ahead = fake.commits_ahead(REPO, "alice/eng-123-add-email", "main");
    assert_eq!(ahead.len(), 1);
    assert_eq!(ahead[0].sha, first.commit);
    assert_eq!(ahead[0].message, "ENG-123: add users.email\n");
    let on_branch = fake.files(REPO, "alice/eng-123-add-email");
    assert_eq!(on_branch.len(), 4, "{on_branch:?}");
    assert_eq!(on_branch["db/migrations/0002_eng_123_expand.sql"], "ALTER TABLE users ADD COLUMN email text;\n");

    let again = push_branch(&client, &repo, &push(&files, &author)).await.unwrap();
    assert_eq!((again.commit.as_str(), again.moved), (first.commit.as_str(), false));
    // A later run with a new date and the same tree leaves the branch alone too.
    let later = Signature { date: "2026-12-08T09:00:00Z".into(), ..author.clone() };
    assert!(!push_branch(&client, &repo, &push(&files, &later)).await.unwrap().moved);

    // New content: still one commit ahead of main, the branch moved (forced).
    let changed = vec![File { path: "db/migrations/0002_eng_123_expand.sql".into(), content: "SELECT 1;\n".into() }];
    let moved = push_branch(&client, &repo, &push(&changed, &later)).await.unwrap();
    assert!(moved.moved);
    assert_eq!(fake.commits_ahead(REPO, "alice/eng-123-add-email", "main").len(), 1);
    assert!(!fake.files(REPO, "alice/eng-123-add-email").contains_key("db/migrations/0003_eng_123_contract.sql"));
}

#[tokio::test]
async fn a_branch_with_someone_elses_commits_is_not_overwritten() {
    let fake = fake().await;
    let (client, repo) = (client(&fake), Repo::parse(REPO).unwrap());
    let (files, author) = (files(), author());
    push_branch(&client, &repo, &push(&files, &author)).await.unwrap();
    fake.push_file(REPO, "alice/eng-123-add-email", "app/models.py", "email = Column()\n", "Update the model");
    let before = fake.branches(REPO);
    let err = push_branch(&client, &repo, &push(&files, &author)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "GitHub reported a conflict: branch alice/eng-123-add-email of acme/shop has commits Cutover did not make; it is left as it is"
    );
    assert_eq!(fake.branches(REPO), before);
}

#[tokio::test]
async fn a_lost_response_is_repaired_by_running_again() {
    let fake = fake().await;
    let (client, repo) = (client(&fake), Repo::parse(REPO).unwrap());
    let (files, author) = (files(), author());
    fake.fail_route("POST /repos/acme/shop/git/refs", 1, Failure::LostResponse);
    let err = push_branch(&client, &repo, &push(&files, &author)).await.unwrap_err();
    assert!(err.may_have_applied(), "{err}");
    push_branch(&client, &repo, &push(&files, &author)).await.unwrap();
    assert_eq!(fake.commits_ahead(REPO, "alice/eng-123-add-email", "main").len(), 1);

    fake.fail_route("POST /repos/acme/shop/pulls", 1, Failure::LostResponse);
    let err = upsert_pull(&client, &repo, "alice/eng-123-add-email", "main", "ENG-123: add email", "Part of ENG-123")
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "GitHub answered HTTP 502");
    let (pull, created) =
        upsert_pull(&client, &repo, "alice/eng-123-add-email", "main", "ENG-123: add email", "Part of ENG-123")
            .await
            .unwrap();
    assert!(!created, "found, not made again");
    assert_eq!(pull.html_url, "https://github.com/acme/shop/pull/1");
    assert_eq!(fake.pulls(REPO).len(), 1);
}

#[tokio::test]
async fn the_pull_request_is_updated_in_place() {
    let fake = fake().await;
    let (client, repo) = (client(&fake), Repo::parse(REPO).unwrap());
    let (files, author) = (files(), author());
    push_branch(&client, &repo, &push(&files, &author)).await.unwrap();
    let branch = "alice/eng-123-add-email";
    let (first, created) = upsert_pull(&client, &repo, branch, "main", "ENG-123: v1", "body 1").await.unwrap();
    assert!(created);
    let (second, created) = upsert_pull(&client, &repo, branch, "main", "ENG-123: v2", "body 2").await.unwrap();
    assert!(!created);
    assert_eq!(first.number, second.number);
    let pulls = fake.pulls(REPO);
    assert_eq!(pulls.len(), 1);
    assert_eq!(
        (pulls[0].title.as_str(), pulls[0].body.as_str(), pulls[0].head.as_str()),
        ("ENG-123: v2", "body 2", branch)
    );
    let writes = fake.requests().iter().filter(|r| r.method == "PATCH" && r.path.contains("/pulls/")).count();
    assert_eq!(writes, 1);
    upsert_pull(&client, &repo, branch, "main", "ENG-123: v2", "body 2").await.unwrap();
    let writes = fake.requests().iter().filter(|r| r.method == "PATCH" && r.path.contains("/pulls/")).count();
    assert_eq!(writes, 1, "nothing to change, nothing sent");

    let id = upsert_comment(&client, &repo, first.number, "<!-- cutover:lint -->", "2 findings").await.unwrap();
    let same = upsert_comment(&client, &repo, first.number, "<!-- cutover:lint -->", "0 findings").await.unwrap();
    assert_eq!(id, same);
    assert_eq!(fake.comments(REPO, first.number), [(id, "<!-- cutover:lint -->\n0 findings".to_string())]);
}

#[tokio::test]
async fn github_app_credentials_make_one_installation_token_and_renew_it_when_refused() {
    let fake = fake().await;
    let pem = include_str!("data/test-app-key.pem");
    fake.install_app("123456", AppKey::from_pem(pem).unwrap().public_key_der());
    let mut config = ClientConfig::new(fake.url(), Credentials::app("123456", pem).unwrap());
    config.base_backoff = Duration::from_millis(10);
    let client = GitHubClient::new(config).unwrap();
    let repo = Repo::parse(REPO).unwrap();
    client.repository(&repo).await.unwrap();
    client.branch_head(&repo, "main").await.unwrap();
    assert_eq!(fake.installation_tokens_issued(), 1, "cached");
    let shown = format!("{client:?}");
    assert!(!shown.contains("ghs_") && !shown.contains("PRIVATE KEY"), "{shown}");
    let paths: Vec<String> =
        fake.requests().iter().take(2).map(|r| format!("{} {} {}", r.method, r.path, r.status)).collect();
    assert_eq!(paths[0], "GET /repos/acme/shop/installation 200");
    assert!(paths[1].starts_with("POST /app/installations/") && paths[1].ends_with("/access_tokens 201"), "{paths:?}");
    fake.revoke_installation_tokens();
    client.repository(&repo).await.unwrap();
    assert_eq!(fake.installation_tokens_issued(), 1, "a new one after the refusal");

    // Another app's key: the JWT does not verify.
    fake.install_app("123456", AppKey::from_pem(pem).unwrap().public_key_der().iter().map(|b| b ^ 1).collect());
    fake.revoke_installation_tokens();
    let err = client.repository(&repo).await.unwrap_err();
    assert!(matches!(err, GitHubError::Authentication(_)), "{err}");
}

#[tokio::test]
async fn bad_credentials_and_bad_bodies_get_githubs_errors() {
    let fake = fake().await;
    let client = GitHubClient::new(ClientConfig::new(fake.url(), Credentials::Token("ghp_wrong".into()))).unwrap();
    let err = client.repository(&Repo::parse(REPO).unwrap()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "GitHub rejected the credentials (Bad credentials); check GITHUB_TOKEN or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY"
    );
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{}/repos/acme/shop/pulls", fake.url()))
        .bearer_auth(fake.token())
        .header("user-agent", "test")
        .json(&serde_json::json!({ "title": "x", "head": "a", "base": "main", "labels": ["x"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 422);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["message"], "Invalid request.\n\n\"labels\" is not a permitted key.");
    assert_eq!(body["documentation_url"], "https://docs.github.com/rest");
    let answer = http
        .post(format!("{}/repos/acme/shop/git/refs", fake.url()))
        .bearer_auth(fake.token())
        .json(&serde_json::json!({ "ref": "refs/heads/x", "sha": 12 }))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["message"], "Invalid request.\n\nFor 'properties/sha', 12 is not a string.");
    let answer =
        http.get(format!("{}/repos/acme/shop/hooks", fake.url())).bearer_auth(fake.token()).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 404);
    assert_eq!(answer.json::<serde_json::Value>().await.unwrap()["message"], "Not Found");
}

#[tokio::test]
async fn rate_limits_are_waited_for_or_handed_back() {
    let fake = fake().await;
    let (client, repo) = (client(&fake), Repo::parse(REPO).unwrap());
    // A secondary limit with `retry-after: 1` on a read: waited for, then retried.
    fake.fail_next(1, Failure::SecondaryRateLimit);
    let started = std::time::Instant::now();
    client.repository(&repo).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    // The primary budget spent for an hour: handed back with the wait, without retrying.
    fake.set_budget(Some(1));
    client.repository(&repo).await.unwrap();
    let err = client.repository(&repo).await.unwrap_err();
    match err {
        GitHubError::RateLimited { retry_after } => {
            assert_eq!(retry_after, Duration::from_secs(900), "an hour, clamped")
        }
        other => panic!("{other}"),
    }
    let sent = fake.requests().len();
    assert!(client.repository(&repo).await.is_err());
    assert_eq!(fake.requests().len(), sent, "a spent budget is not spent again");
    // Reads are retried after a 5xx; writes are not (they may have applied).
    fake.set_budget(None);
    let mut config = ClientConfig::new(fake.url(), Credentials::Token(fake.token()));
    config.base_backoff = Duration::from_millis(10);
    let client = GitHubClient::new(config).unwrap();
    fake.fail_next(2, Failure::ServerError);
    client.repository(&repo).await.unwrap();
    // Git objects are named by their content: making one again is harmless, so a lost answer
    // is retried here; a pull request is not (the caller looks for it first).
    fake.fail_next(1, Failure::LostResponse);
    client.create_blob(&repo, b"x").await.unwrap();
    fake.fail_next(1, Failure::ServerError);
    let err = client.create_pull(&repo, "t", "main", "main", "b").await.unwrap_err();
    assert_eq!(err.to_string(), "GitHub answered HTTP 500");
}

#[tokio::test]
async fn thirty_percent_of_calls_failing_still_gives_one_branch_one_commit_one_pull_request() {
    let fake = fake().await;
    let (client, repo) = (client(&fake), Repo::parse(REPO).unwrap());
    let (files, author) = (files(), author());
    fake.set_failure_rate(
        0.3,
        42,
        vec![Failure::ServerError, Failure::LostResponse, Failure::Timeout(Duration::from_millis(900))],
    );
    let mut tries = 0;
    let pull = loop {
        tries += 1;
        assert!(tries < 60, "gave up");
        if push_branch(&client, &repo, &push(&files, &author)).await.is_err() {
            continue;
        }
        match upsert_pull(&client, &repo, "alice/eng-123-add-email", "main", "ENG-123", "Part of ENG-123").await {
            Ok((pull, _)) => break pull,
            Err(_) => continue,
        }
    };
    fake.clear_failures();
    let faults = fake.requests().iter().filter(|r| r.fault.is_some()).count();
    assert!(faults >= 3, "{faults} faults injected");
    assert_eq!(fake.branches(REPO).len(), 2);
    assert_eq!(fake.commits_ahead(REPO, "alice/eng-123-add-email", "main").len(), 1);
    assert_eq!(fake.commit_objects(REPO), 2, "the seed and the one commit, made again under the same id");
    assert_eq!(fake.pulls(REPO).len(), 1);
    assert_eq!(pull.number, 1);
}
