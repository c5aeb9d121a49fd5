//! What the real APIs refuse, checked on each body. Each check answers with the name of the
//! answer's tool (Anthropic) or schema (OpenAI), or the message of a 400.

use serde_json::{Map, Value};

const ANTHROPIC_FIELDS: &[&str] = &[
    "model",
    "max_tokens",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "stream",
    "metadata",
    "thinking",
    "service_tier",
];

pub(crate) fn anthropic(body: &Value) -> Result<String, String> {
    let body = body.as_object().ok_or("the body must be a JSON object")?;
    if let Some(extra) = body.keys().find(|k| !ANTHROPIC_FIELDS.contains(&k.as_str())) {
        return Err(format!("{extra}: Extra inputs are not permitted"));
    }
    non_empty_string(body, "model")?;
    match body.get("max_tokens").and_then(Value::as_u64) {
        Some(n) if n >= 1 => {}
        _ => return Err("max_tokens: Field required (a positive integer)".into()),
    }
    if let Some(system) = body.get("system")
        && !system.is_string()
        && !system.is_array()
    {
        return Err("system: Input should be a valid string".into());
    }
    let messages = non_empty_array(body, "messages")?;
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str);
        if !matches!(role, Some("user" | "assistant")) {
            return Err(format!("messages.{i}.role: Input should be 'user' or 'assistant'"));
        }
        let content = message.get("content");
        let valid = match content {
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(blocks)) => !blocks.is_empty(),
            _ => false,
        };
        if !valid {
            return Err(format!("messages.{i}.content: must be a non-empty string or list of blocks"));
        }
    }
    if messages.first().and_then(|m| m.get("role")).and_then(Value::as_str) != Some("user") {
        return Err("messages: first message must use the \"user\" role".into());
    }
    let tools = non_empty_array(body, "tools")?;
    let mut names = Vec::new();
    for (i, tool) in tools.iter().enumerate() {
        let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
        if !valid_name(name) {
            return Err(format!("tools.{i}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"));
        }
        if tool.pointer("/input_schema/type").and_then(Value::as_str) != Some("object") {
            return Err(format!("tools.{i}.input_schema: type must be \"object\""));
        }
        names.push(name.to_string());
    }
    let choice = body.get("tool_choice").ok_or("tool_choice: the fake needs the answer forced through a tool")?;
    if choice.get("type").and_then(Value::as_str) != Some("tool") {
        return Err("tool_choice.type: the fake answers only a forced tool".into());
    }
    let name = choice.get("name").and_then(Value::as_str).unwrap_or_default();
    if !names.iter().any(|n| n == name) {
        return Err(format!("tool_choice.name: no tool named {name:?}"));
    }
    Ok(name.to_string())
}

pub(crate) fn openai(body: &Value) -> Result<String, String> {
    let body = body.as_object().ok_or("the body must be a JSON object")?;
    non_empty_string(body, "model")?;
    let messages = non_empty_array(body, "messages")?;
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str);
        if !matches!(role, Some("system" | "developer" | "user" | "assistant")) {
            return Err(format!("Invalid value for 'messages[{i}].role'."));
        }
        if !message.get("content").is_some_and(Value::is_string) {
            return Err(format!("Missing required parameter: 'messages[{i}].content'."));
        }
    }
    for field in ["max_tokens", "max_completion_tokens"] {
        if let Some(value) = body.get(field)
            && value.as_u64().is_none_or(|n| n == 0)
        {
            return Err(format!("Invalid '{field}': expected a positive integer."));
        }
    }
    let format = body.get("response_format").ok_or("the fake answers only a response_format of json_schema")?;
    if format.get("type").and_then(Value::as_str) != Some("json_schema") {
        return Err("Invalid value for 'response_format.type': the fake answers only json_schema.".into());
    }
    let spec = format.get("json_schema").ok_or("Missing required parameter: 'response_format.json_schema'.")?;
    let name = spec.get("name").and_then(Value::as_str).unwrap_or_default();
    if !valid_name(name) {
        return Err("Invalid 'response_format.json_schema.name': string does not match pattern.".into());
    }
    let schema = spec.get("schema").ok_or("Missing required parameter: 'response_format.json_schema.schema'.")?;
    if spec.get("strict").and_then(Value::as_bool) == Some(true) {
        strict_schema(schema, "schema")?;
    }
    Ok(name.to_string())
}

/// OpenAI's strict mode: every object lists all its properties in `required` and sets
/// `additionalProperties: false`, down the whole schema.
fn strict_schema(schema: &Value, at: &str) -> Result<(), String> {
    let invalid = |why: &str| Err(format!("Invalid schema for response_format: In context=('{at}'), {why}."));
    if schema.get("type").and_then(Value::as_str) == Some("object") {
        if schema.get("additionalProperties") != Some(&Value::Bool(false)) {
            return invalid("'additionalProperties' is required to be supplied and to be false");
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (name, property) in properties.into_iter().flatten() {
            if !required.contains(&name.as_str()) {
                return invalid(&format!("'required' is required to include every key; missing '{name}'"));
            }
            strict_schema(property, &format!("{at}.{name}"))?;
        }
    }
    if let Some(items) = schema.get("items") {
        strict_schema(items, &format!("{at}.items"))?;
    }
    Ok(())
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn non_empty_string<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a str, String> {
    match body.get(field).and_then(Value::as_str) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(format!("{field}: Field required")),
    }
}

fn non_empty_array<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a Vec<Value>, String> {
    match body.get(field).and_then(Value::as_array) {
        Some(a) if !a.is_empty() => Ok(a),
        _ => Err(format!("{field}: Field required (a non-empty list)")),
    }
}
