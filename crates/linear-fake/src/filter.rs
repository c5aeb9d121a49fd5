//! Linear's filter language (`IssueFilter`, `IssueLabelFilter`, ...) evaluated over the
//! GraphQL views of entities.
//!
//! A filter key names a field of the view: comparators (`eq`, `in`, `nin`, `null`, ...) test
//! scalars, nested filters walk into related entities (`team: { key: { eq: "ENG" } }`),
//! `some`/`every` test to-many relations, `and`/`or` combine. A key the views do not have is an
//! error, so a filter the fake cannot evaluate never silently matches everything.

use serde_json::{Map, Value};

use crate::errors::FieldError;
use crate::execute::{Obj, Val};

const COMPARATORS: &[&str] = &[
    "eq",
    "neq",
    "in",
    "nin",
    "null",
    "lt",
    "lte",
    "gt",
    "gte",
    "eqIgnoreCase",
    "neqIgnoreCase",
    "startsWith",
    "endsWith",
    "contains",
    "containsIgnoreCase",
    "notContains",
];

/// Whether `obj` satisfies `filter`; `load` resolves references to other entities.
pub(crate) fn matches(
    obj: &Obj,
    filter: &Map<String, Value>,
    load: &dyn Fn(&Val) -> Option<Obj>,
) -> Result<bool, FieldError> {
    for (key, condition) in filter {
        if condition.is_null() {
            continue;
        }
        let ok = match key.as_str() {
            "and" => every_filter(condition, |f| matches(obj, f, load))?,
            "or" => {
                let filters = filter_list(condition)?;
                let mut any = false;
                for f in filters {
                    if matches(obj, f, load)? {
                        any = true;
                        break;
                    }
                }
                any
            }
            field => {
                let value = obj.get(field).ok_or_else(|| {
                    FieldError::unsupported(format!("The fake Linear cannot filter {} by `{field}`", obj.typename))
                })?;
                matches_value(value, condition, load)?
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn filter_list(condition: &Value) -> Result<Vec<&Map<String, Value>>, FieldError> {
    condition
        .as_array()
        .ok_or_else(|| FieldError::invalid("and/or take a list of filters"))?
        .iter()
        .map(|f| f.as_object().ok_or_else(|| FieldError::invalid("and/or take a list of filters")))
        .collect()
}

fn every_filter(
    condition: &Value,
    mut test: impl FnMut(&Map<String, Value>) -> Result<bool, FieldError>,
) -> Result<bool, FieldError> {
    for f in filter_list(condition)? {
        if !test(f)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn matches_value(value: &Val, condition: &Value, load: &dyn Fn(&Val) -> Option<Obj>) -> Result<bool, FieldError> {
    let condition = condition.as_object().ok_or_else(|| FieldError::invalid("a filter must be an object"))?;
    let only_comparators = condition.keys().all(|k| COMPARATORS.contains(&k.as_str()));
    match value {
        Val::Leaf(v) if only_comparators => compare(v, condition),
        Val::Null if only_comparators => compare(&Value::Null, condition),
        // A relation that is not set matches no nested filter (`delegate: {id: {eq}}`).
        Val::Null => Ok(false),
        Val::Ref(_) | Val::Obj(_) => {
            if let Some(is_null) = condition.get("null").and_then(Value::as_bool) {
                return Ok(!is_null);
            }
            let obj = load(value).ok_or_else(|| FieldError::internal("dangling reference"))?;
            matches(&obj, condition, load)
        }
        Val::Conn(nodes) => {
            let items: Vec<Val> = nodes.iter().map(|n| n.val.clone()).collect();
            matches_many(&items, condition, load)
        }
        Val::List(items) => matches_many(items, condition, load),
        Val::Leaf(_) => Err(FieldError::unsupported(format!(
            "The fake Linear cannot apply {:?} to a scalar",
            condition.keys().collect::<Vec<_>>()
        ))),
    }
}

fn matches_many(
    items: &[Val],
    condition: &Map<String, Value>,
    load: &dyn Fn(&Val) -> Option<Obj>,
) -> Result<bool, FieldError> {
    let mut result = true;
    for (key, nested) in condition {
        let nested = nested.as_object().ok_or_else(|| FieldError::invalid("some/every take a filter"))?;
        let objs = items.iter().filter_map(load).collect::<Vec<_>>();
        let mut hits = 0;
        for obj in &objs {
            if matches(obj, nested, load)? {
                hits += 1;
            }
        }
        result &= match key.as_str() {
            "some" => hits > 0,
            "every" => hits == objs.len(),
            other => {
                return Err(FieldError::unsupported(format!(
                    "The fake Linear cannot apply `{other}` to a to-many relation"
                )));
            }
        };
    }
    Ok(result)
}

fn compare(value: &Value, condition: &Map<String, Value>) -> Result<bool, FieldError> {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let lower = |v: &Value| v.as_str().map(str::to_lowercase);
    let order = |a: &Value, b: &Value| match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().zip(y.as_f64()).and_then(|(x, y)| x.partial_cmp(&y)),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    };
    for (op, operand) in condition {
        let ok = match op.as_str() {
            "eq" => json_eq(value, operand),
            "neq" => !json_eq(value, operand),
            "in" => list(operand)?.iter().any(|o| json_eq(value, o)),
            "nin" => !list(operand)?.iter().any(|o| json_eq(value, o)),
            "null" => value.is_null() == operand.as_bool().unwrap_or(true),
            "lt" => order(value, operand).is_some_and(|o| o.is_lt()),
            "lte" => order(value, operand).is_some_and(|o| o.is_le()),
            "gt" => order(value, operand).is_some_and(|o| o.is_gt()),
            "gte" => order(value, operand).is_some_and(|o| o.is_ge()),
            "eqIgnoreCase" => lower(value).is_some() && lower(value) == lower(operand),
            "neqIgnoreCase" => lower(value) != lower(operand),
            "startsWith" => text(value).zip(text(operand)).is_some_and(|(v, o)| v.starts_with(&o)),
            "endsWith" => text(value).zip(text(operand)).is_some_and(|(v, o)| v.ends_with(&o)),
            "contains" => text(value).zip(text(operand)).is_some_and(|(v, o)| v.contains(&o)),
            "notContains" => !text(value).zip(text(operand)).is_some_and(|(v, o)| v.contains(&o)),
            "containsIgnoreCase" => lower(value).zip(lower(operand)).is_some_and(|(v, o)| v.contains(&o)),
            other => {
                return Err(FieldError::unsupported(format!(
                    "The fake Linear does not model the `{other}` comparator"
                )));
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Numbers compare by value (`number: Float` filters get `123` or `123.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn list(operand: &Value) -> Result<&Vec<Value>, FieldError> {
    operand.as_array().ok_or_else(|| FieldError::invalid("in/nin take a list"))
}
