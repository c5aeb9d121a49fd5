//! The client against the fake model server, over HTTP, in both wire formats; and the fake's
//! refusals of what the real APIs refuse.

use std::time::Duration;

use cutover_llm::{ApiKey, Client, Config, Error, Message, OutputSchema, Provider, Request, Usage};
use cutover_llm_fake::{API_KEY, FakeModel, Scenario};
use serde_json::{Value, json};

fn output(schema: Value) -> OutputSchema {
    OutputSchema { name: "schema_proposal".into(), description: "The proposal.".into(), schema }
}

fn strict() -> Value {
    json!({ "type": "object", "additionalProperties": false, "required": ["ddl"],
            "properties": { "ddl": { "type": "string" } } })
}

fn client(provider: Provider, fake: &FakeModel) -> Client {
    let mut config = Config::new(provider, "fake-model", Some(ApiKey::new(API_KEY)));
    config.url = format!("{}/v1/", fake.url());
    Client::new(config).unwrap()
}

#[tokio::test]
async fn both_formats_give_the_structured_answer_and_its_usage() {
    let fake = FakeModel::start(Scenario::named("good")).await.unwrap();
    let messages = [Message::user("Propose a refunds table.")];
    let output = output(strict());
    for provider in [Provider::Anthropic, Provider::OpenAi] {
        let request = Request { system: "You design schemas.", messages: &messages, output: &output, max_tokens: 512 };
        let answer = client(provider, &fake).complete(&request).await.unwrap();
        assert!(answer.value["ddl"].as_str().unwrap().starts_with("CREATE TABLE refunds ("), "{provider:?}");
        assert_eq!((answer.usage, answer.requests), (Usage { input_tokens: 1850, output_tokens: 420 }, 1));
    }
    let paths: Vec<String> = fake.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/v1/messages", "/v1/chat/completions"]);
    let anthropic = &fake.requests()[0].body;
    assert_eq!(anthropic["system"], "You design schemas.");
    assert_eq!(anthropic["max_tokens"], 512);
    assert_eq!(anthropic["tools"][0]["input_schema"], strict());
    let openai = &fake.requests()[1].body;
    assert_eq!(openai["messages"][0], json!({ "role": "system", "content": "You design schemas." }));
    assert_eq!(openai["messages"][1], json!({ "role": "user", "content": "Propose a refunds table." }));
    assert_eq!(openai["max_completion_tokens"], 512);
}

#[tokio::test]
async fn a_schema_openai_would_refuse_in_strict_mode_is_refused() {
    let fake = FakeModel::start(Scenario::named("good")).await.unwrap();
    let messages = [Message::user("x")];
    let loose = output(json!({ "type": "object", "properties": { "ddl": { "type": "string" } } }));
    let request = Request { system: "s", messages: &messages, output: &loose, max_tokens: 10 };
    let err = client(Provider::OpenAi, &fake).complete(&request).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the model's API answered HTTP 400: Invalid schema for response_format: In context=('schema'), 'additionalProperties' is required to be supplied and to be false."
    );
    // Not retried: the same request would be refused again.
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn the_fake_checks_what_the_real_apis_check() {
    let fake = FakeModel::start(Scenario::named("good")).await.unwrap();
    let http = reqwest::Client::new();
    let anthropic = |body: Value, version: bool| {
        let mut request = http.post(format!("{}/v1/messages", fake.url())).header("x-api-key", API_KEY).json(&body);
        if version {
            request = request.header("anthropic-version", "2023-06-01");
        }
        request
    };
    let good = json!({ "model": "m", "max_tokens": 10, "messages": [{ "role": "user", "content": "x" }],
        "tools": [{ "name": "t", "input_schema": { "type": "object" } }], "tool_choice": { "type": "tool", "name": "t" } });
    let mut cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (anthropic(good.clone(), false), 400, "anthropic-version: header is required"),
        (
            http.post(format!("{}/v1/messages", fake.url())).header("anthropic-version", "2023-06-01").json(&good),
            401,
            "invalid x-api-key",
        ),
    ];
    let mut with = |edit: &dyn Fn(&mut Value), message: &'static str| {
        let mut body = good.clone();
        edit(&mut body);
        cases.push((anthropic(body, true), 400, message));
    };
    with(&|b| b["response_format"] = json!({}), "response_format: Extra inputs are not permitted");
    with(&|b| b["max_tokens"] = json!(0), "max_tokens: Field required (a positive integer)");
    with(
        &|b| b["messages"] = json!([{ "role": "assistant", "content": "x" }]),
        "messages: first message must use the \"user\" role",
    );
    with(&|b| b["messages"][0]["role"] = json!("system"), "messages.0.role: Input should be 'user' or 'assistant'");
    with(&|b| b["tool_choice"]["name"] = json!("other"), "tool_choice.name: no tool named \"other\"");
    for (request, status, message) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{message}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["message"], message);
    }
    let response = http
        .post(format!("{}/v1/chat/completions", fake.url()))
        .bearer_auth("sk-wrong")
        .json(&json!({ "model": "m", "messages": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_api_key");
    // No reply of the scenario was spent on a refused request.
    assert!(fake.requests().iter().all(|r| r.status != 200));
}

#[tokio::test]
async fn an_unreachable_server_is_retried_within_the_budget() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut config = Config::new(Provider::OpenAi, "m", None);
    config.url = url;
    config.retry_budget = Duration::from_millis(1500);
    let messages = [Message::user("x")];
    let output = output(strict());
    let request = Request { system: "s", messages: &messages, output: &output, max_tokens: 10 };
    let started = std::time::Instant::now();
    let err = Client::new(config).unwrap().complete(&request).await.unwrap_err();
    assert!(matches!(&err, Error::Transport(m) if m.starts_with("connection failed")), "{err}");
    // One back-off of 1 s fit the budget, the next (2 s) did not.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(2), "{elapsed:?}");
}
