//! The two wire formats: request bodies, and the parts of answers and error bodies read.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::{Error, Request, Usage};

/// The `anthropic-version` header sent.
pub(crate) const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Messages API: the answer is forced through one tool whose input schema is its shape.
pub(crate) fn anthropic_request(model: &str, request: &Request<'_>) -> Value {
    let output = request.output;
    json!({
        "model": model,
        "max_tokens": request.max_tokens,
        "system": request.system,
        "messages": request.messages,
        "tools": [{
            "name": output.name,
            "description": output.description,
            "input_schema": output.schema,
        }],
        "tool_choice": { "type": "tool", "name": output.name },
    })
}

/// Chat completions: the system prompt is the first message; the answer's shape is a strict
/// JSON schema.
pub(crate) fn openai_request(model: &str, request: &Request<'_>) -> Value {
    let mut messages = vec![json!({ "role": "system", "content": request.system })];
    messages.extend(request.messages.iter().map(|m| json!({ "role": m.role, "content": m.content })));
    let output = request.output;
    json!({
        "model": model,
        "max_completion_tokens": request.max_tokens,
        "messages": messages,
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": output.name,
                "description": output.description,
                "strict": true,
                "schema": output.schema,
            },
        },
    })
}

#[derive(Deserialize)]
struct AnthropicMessage {
    #[serde(default)]
    content: Vec<AnthropicBlock>,
    stop_reason: Option<String>,
    usage: AnthropicUsage,
}

#[derive(Deserialize)]
struct AnthropicBlock {
    #[serde(rename = "type")]
    kind: String,
    name: Option<String>,
    input: Option<Value>,
    text: Option<String>,
}

#[derive(Deserialize)]
struct AnthropicUsage {
    input_tokens: u64,
    output_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

pub(crate) fn anthropic_answer(body: &[u8], tool: &str) -> Result<(Value, Usage), Error> {
    let message: AnthropicMessage = serde_json::from_slice(body).map_err(|e| Error::Decode(e.to_string()))?;
    let u = &message.usage;
    let usage = Usage {
        input_tokens: u.input_tokens
            + u.cache_creation_input_tokens.unwrap_or(0)
            + u.cache_read_input_tokens.unwrap_or(0),
        output_tokens: u.output_tokens,
    };
    if message.stop_reason.as_deref() == Some("max_tokens") {
        return Err(Error::NoAnswer { message: "the answer was cut off at max_tokens".into(), usage });
    }
    let input = message
        .content
        .iter()
        .find(|b| b.kind == "tool_use" && b.name.as_deref() == Some(tool))
        .and_then(|b| b.input.clone());
    match input {
        Some(value) if value.is_object() => Ok((value, usage)),
        _ => {
            let text: String = message.content.iter().filter_map(|b| b.text.as_deref()).collect();
            Err(Error::NoAnswer { message: no_tool_call(&text), usage })
        }
    }
}

fn no_tool_call(text: &str) -> String {
    if text.trim().is_empty() {
        "it did not call the answer tool".into()
    } else {
        format!("it answered in text instead of calling the answer tool: {}", clip(text))
    }
}

#[derive(Deserialize)]
struct OpenAiCompletion {
    #[serde(default)]
    choices: Vec<OpenAiChoice>,
    usage: Option<OpenAiUsage>,
}

#[derive(Deserialize)]
struct OpenAiChoice {
    message: OpenAiMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct OpenAiMessage {
    content: Option<String>,
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct OpenAiUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

pub(crate) fn openai_answer(body: &[u8]) -> Result<(Value, Usage), Error> {
    let completion: OpenAiCompletion = serde_json::from_slice(body).map_err(|e| Error::Decode(e.to_string()))?;
    let usage = completion
        .usage
        .map(|u| Usage { input_tokens: u.prompt_tokens, output_tokens: u.completion_tokens })
        .unwrap_or_default();
    let Some(choice) = completion.choices.into_iter().next() else {
        return Err(Error::Decode("no choices".into()));
    };
    if let Some(refusal) = choice.message.refusal.filter(|r| !r.trim().is_empty()) {
        return Err(Error::NoAnswer { message: format!("it refused: {}", clip(&refusal)), usage });
    }
    if choice.finish_reason.as_deref() == Some("length") {
        return Err(Error::NoAnswer { message: "the answer was cut off at max_tokens".into(), usage });
    }
    let content = choice.message.content.unwrap_or_default();
    match serde_json::from_str::<Value>(&content) {
        Ok(value) if value.is_object() => Ok((value, usage)),
        _ => Err(Error::NoAnswer { message: format!("its answer is not a JSON object: {}", clip(&content)), usage }),
    }
}

/// The message of an error body in either format (`{"error": {"message": ...}}`), clipped;
/// the status alone when the body is something else.
pub(crate) fn error_message(body: &[u8]) -> String {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let message = value.as_ref().and_then(|v| v.pointer("/error/message")).and_then(Value::as_str);
    match message {
        Some(message) => clip(message),
        None => "no error message".into(),
    }
}

fn clip(text: &str) -> String {
    const MAX: usize = 300;
    let text = text.trim();
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}
