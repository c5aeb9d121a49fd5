//! Test helpers: the operations of `operations.graphql` sent as the real client sends them
//! (one operation plus the fragments it uses, with `operationName`), over raw HTTP.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::Once;

use apollo_compiler::ast::{Definition, Document, Selection};
use cutover_linear_fake::FakeLinear;
use serde_json::Value;

pub const OPERATIONS: &str = include_str!("../../../linear/graphql/operations.graphql");

/// reqwest is built with `rustls-no-provider`: a process-wide provider must exist.
pub fn client() -> reqwest::Client {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::new()
}

fn operations_ast() -> Document {
    Document::parse(OPERATIONS, "operations.graphql").expect("operations.graphql parses")
}

/// The names of all operations in `operations.graphql`.
pub fn operation_names() -> BTreeSet<String> {
    operations_ast()
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::OperationDefinition(op) => op.name.as_ref().map(|n| n.to_string()),
            _ => None,
        })
        .collect()
}

/// The document the client sends for `name`: the operation and, transitively, its fragments.
pub fn document(name: &str) -> String {
    let ast = operations_ast();
    let operation = ast
        .definitions
        .iter()
        .find_map(|d| match d {
            Definition::OperationDefinition(op) if op.name.as_ref().is_some_and(|n| n == name) => Some(op.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no operation {name}"));
    let mut needed = BTreeSet::new();
    let mut pending: Vec<Vec<Selection>> = vec![operation.selection_set.clone()];
    while let Some(selections) = pending.pop() {
        for selection in selections {
            match selection {
                Selection::Field(f) => pending.push(f.selection_set.clone()),
                Selection::InlineFragment(i) => pending.push(i.selection_set.clone()),
                Selection::FragmentSpread(s) => {
                    if needed.insert(s.fragment_name.to_string()) {
                        let fragment = ast
                            .definitions
                            .iter()
                            .find_map(|d| match d {
                                Definition::FragmentDefinition(f) if f.name == s.fragment_name => Some(f.clone()),
                                _ => None,
                            })
                            .expect("fragment exists");
                        pending.push(fragment.selection_set.clone());
                    }
                }
            }
        }
    }
    let mut out = operation.to_string();
    for definition in &ast.definitions {
        if let Definition::FragmentDefinition(f) = definition
            && needed.contains(f.name.as_str())
        {
            out.push('\n');
            out.push_str(&f.to_string());
        }
    }
    out
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    }

    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    pub fn error_message(&self) -> String {
        self.body["errors"][0]["message"].as_str().unwrap_or_default().to_owned()
    }

    /// Panics with the errors if the answer is not a clean HTTP 200.
    pub fn ok(self) -> Self {
        assert_eq!(self.status, 200, "{}", self.text);
        assert!(self.body.get("errors").is_none(), "{}", self.text);
        self
    }
}

/// Sends a raw body with an `Authorization` header.
pub async fn post(fake: &FakeLinear, authorization: Option<&str>, body: &Value) -> Answer {
    let mut request = client().post(fake.url()).json(body);
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    let response = request.send().await.expect("fake answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status, headers, body, text }
}

/// Runs an operation of `operations.graphql` as the app (OAuth token).
pub async fn run(fake: &FakeLinear, name: &str, variables: Value) -> Answer {
    let auth = format!("Bearer {}", fake.oauth_token());
    run_as(fake, &auth, name, variables).await
}

/// Runs an operation of `operations.graphql` as the human (API key).
pub async fn run_as_human(fake: &FakeLinear, name: &str, variables: Value) -> Answer {
    run_as(fake, &fake.api_key(), name, variables).await
}

pub async fn run_as(fake: &FakeLinear, authorization: &str, name: &str, variables: Value) -> Answer {
    let body = serde_json::json!({
        "query": document(name),
        "operationName": name,
        "variables": variables,
    });
    post(fake, Some(authorization), &body).await
}
