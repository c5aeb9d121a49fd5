//! Execution: root fields are resolved to values of the object graph below, then the
//! operation's selection set is projected over them.
//!
//! The projection does what a GraphQL server does for the response shape — aliases,
//! `__typename`, fragment spreads and inline fragments with type conditions, `@skip`/`@include`,
//! Relay connections paged by `first`/`after`, null propagation for non-null fields — while the
//! data side stays a plain description of the workspace (`views`). References between entities
//! are loaded only when a selection walks into them, so cycles (an issue's parent's children)
//! cost nothing.

use std::cmp::Reverse;
use std::collections::HashMap;

use apollo_compiler::ast::{Type, Value as AstValue};
use apollo_compiler::executable::{Field, Operation, OperationType, Selection, SelectionSet};
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Node, Schema};
use serde_json::{Map, Value, json};

use crate::errors::FieldError;
use crate::schema::{Prepared, schema};
use crate::state::{Id, Stamp};

/// Page size when a connection is read without `first`, as on Linear.
const DEFAULT_PAGE: i64 = 50;
/// Linear's upper bound for `first`.
const MAX_PAGE: i64 = 250;

/// The entity types the fake stores; a reference names one of them and an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Organization,
    User,
    Team,
    WorkflowState,
    IssueLabel,
    Issue,
    Comment,
    Reaction,
    Attachment,
    IssueRelation,
    AgentSession,
    AgentActivity,
    Webhook,
}

impl Kind {
    /// The GraphQL object type of the entity.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            Kind::Organization => "Organization",
            Kind::User => "User",
            Kind::Team => "Team",
            Kind::WorkflowState => "WorkflowState",
            Kind::IssueLabel => "IssueLabel",
            Kind::Issue => "Issue",
            Kind::Comment => "Comment",
            Kind::Reaction => "Reaction",
            Kind::Attachment => "Attachment",
            Kind::IssueRelation => "IssueRelation",
            Kind::AgentSession => "AgentSession",
            Kind::AgentActivity => "AgentActivity",
            Kind::Webhook => "Webhook",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntityRef {
    pub(crate) kind: Kind,
    pub(crate) id: Id,
}

/// A value of the object graph.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Null,
    /// Scalars, enums (as strings) and JSON scalars.
    Leaf(Value),
    Obj(Obj),
    /// Another entity, loaded when the selection walks into it.
    Ref(EntityRef),
    List(Vec<Val>),
    /// All nodes of a Relay connection; the projection sorts and pages them.
    Conn(Vec<ConnNode>),
}

impl Val {
    pub(crate) fn leaf(value: impl Into<Value>) -> Val {
        Val::Leaf(value.into())
    }

    pub(crate) fn opt_leaf<T: Into<Value>>(value: Option<T>) -> Val {
        value.map_or(Val::Null, |v| Val::Leaf(v.into()))
    }

    pub(crate) fn entity(kind: Kind, id: &str) -> Val {
        Val::Ref(EntityRef { kind, id: id.to_owned() })
    }

    pub(crate) fn opt_entity(kind: Kind, id: Option<&Id>) -> Val {
        id.map_or(Val::Null, |id| Val::entity(kind, id))
    }
}

/// One node of a connection with what it is sorted by; its id is its cursor, as on Linear.
#[derive(Debug, Clone)]
pub(crate) struct ConnNode {
    pub(crate) cursor: Id,
    pub(crate) created: Stamp,
    pub(crate) updated: Stamp,
    pub(crate) val: Val,
}

impl ConnNode {
    pub(crate) fn entity(kind: Kind, id: &str, created: Stamp, updated: Stamp) -> ConnNode {
        ConnNode { cursor: id.to_owned(), created, updated, val: Val::entity(kind, id) }
    }
}

/// A GraphQL object: its concrete type and the fields the fake models.
#[derive(Debug, Clone)]
pub(crate) struct Obj {
    pub(crate) typename: String,
    fields: HashMap<&'static str, Val>,
}

impl Obj {
    pub(crate) fn new(typename: impl Into<String>) -> Obj {
        Obj { typename: typename.into(), fields: HashMap::new() }
    }

    pub(crate) fn with(mut self, name: &'static str, value: Val) -> Obj {
        self.fields.insert(name, value);
        self
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Val> {
        self.fields.get(name)
    }
}

/// The data side of execution: root fields and entity loading.
pub(crate) trait Backend {
    fn resolve_root(
        &mut self,
        operation: OperationType,
        field: &str,
        args: &Map<String, Value>,
    ) -> Result<Val, FieldError>;

    fn load(&self, entity: &EntityRef) -> Option<Obj>;
}

/// `data` and `errors` of a GraphQL response.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) data: Value,
    pub(crate) errors: Vec<Value>,
}

impl Response {
    pub(crate) fn error_messages(&self) -> Vec<String> {
        self.errors.iter().map(|e| e.get("message").and_then(Value::as_str).unwrap_or_default().to_owned()).collect()
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("data".into(), self.data.clone());
        if !self.errors.is_empty() {
            body.insert("errors".into(), Value::Array(self.errors.clone()));
        }
        Value::Object(body)
    }
}

/// Runs the prepared operation: root fields in document order (one after the other for
/// mutations, as the spec requires), each projected before the next is resolved.
pub(crate) fn execute(prepared: &Prepared, backend: &mut dyn Backend) -> Response {
    let operation = prepared.operation();
    let mut exec =
        Exec { schema: schema(), document: &prepared.document, variables: &prepared.variables, errors: Vec::new() };
    let root_type = operation.selection_set.ty.as_str();
    let mut data = Map::new();
    let mut data_is_null = false;
    for (key, group) in exec.collect(root_type, &[&operation.selection_set]) {
        let Some(&field) = group.first() else {
            continue;
        };
        let path = vec![Value::String(key.clone())];
        if field.name == "__typename" {
            data.insert(key, Value::String(root_type.to_owned()));
            continue;
        }
        let args = exec.arguments(field);
        let resolved = backend.resolve_root(operation.operation_type, field.name.as_str(), &args);
        let value = match resolved {
            Ok(val) => exec.complete(&*backend, field.ty(), val, &group, &args, &path),
            Err(error) => {
                exec.push_error(&error, &path, field);
                (!field.ty().is_non_null()).then_some(Value::Null)
            }
        };
        match value {
            Some(value) => {
                data.insert(key, value);
            }
            None => data_is_null = true,
        }
    }
    Response { data: if data_is_null { Value::Null } else { Value::Object(data) }, errors: exec.errors }
}

type Grouped<'d> = Vec<(String, Vec<&'d Node<Field>>)>;

struct Exec<'a> {
    schema: &'static Valid<Schema>,
    document: &'a Valid<ExecutableDocument>,
    variables: &'a Map<String, Value>,
    errors: Vec<Value>,
}

impl<'a> Exec<'a> {
    /// CollectFields: the fields of `sets` that apply to `object_type`, grouped by response
    /// key in first-seen order (fields with the same key merge their sub-selections).
    fn collect(&self, object_type: &str, sets: &[&'a SelectionSet]) -> Grouped<'a> {
        let mut grouped: Grouped<'a> = Vec::new();
        for set in sets {
            self.collect_into(object_type, set, &mut grouped);
        }
        grouped
    }

    fn collect_into(&self, object_type: &str, set: &'a SelectionSet, grouped: &mut Grouped<'a>) {
        for selection in &set.selections {
            if !self.included(selection) {
                continue;
            }
            match selection {
                Selection::Field(field) => {
                    let key = field.response_key().as_str();
                    match grouped.iter_mut().find(|(k, _)| k == key) {
                        Some((_, fields)) => fields.push(field),
                        None => grouped.push((key.to_owned(), vec![field])),
                    }
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = self.document.fragments.get(&spread.fragment_name)
                        && self.applies(fragment.type_condition().as_str(), object_type)
                    {
                        self.collect_into(object_type, &fragment.selection_set, grouped);
                    }
                }
                Selection::InlineFragment(inline) => {
                    let applies =
                        inline.type_condition.as_ref().is_none_or(|cond| self.applies(cond.as_str(), object_type));
                    if applies {
                        self.collect_into(object_type, &inline.selection_set, grouped);
                    }
                }
            }
        }
    }

    fn applies(&self, condition: &str, object_type: &str) -> bool {
        condition == object_type || self.schema.is_subtype(condition, object_type)
    }

    /// `@skip(if:)` / `@include(if:)`.
    fn included(&self, selection: &Selection) -> bool {
        let directives = match selection {
            Selection::Field(f) => &f.directives,
            Selection::FragmentSpread(s) => &s.directives,
            Selection::InlineFragment(i) => &i.directives,
        };
        let condition = |name: &str| {
            directives
                .get(name)
                .and_then(|d| d.specified_argument_by_name("if"))
                .map(|v| self.value(v) == Value::Bool(true))
        };
        condition("skip") != Some(true) && condition("include") != Some(false)
    }

    /// Argument values of a field: literals, variables (absent variables leave the argument
    /// absent, which differs from an explicit null), then schema defaults.
    fn arguments(&self, field: &Field) -> Map<String, Value> {
        let mut args = Map::new();
        for def in &field.definition.arguments {
            let given = field.arguments.iter().find(|a| a.name == def.name).map(|a| &a.value);
            let value = match given {
                Some(value) => match value.as_ref() {
                    AstValue::Variable(name) => self.variables.get(name.as_str()).cloned(),
                    _ => Some(self.value(value)),
                },
                None => None,
            };
            let value = value.or_else(|| def.default_value.as_ref().map(|d| self.value(d)));
            if let Some(value) = value {
                args.insert(def.name.to_string(), value);
            }
        }
        args
    }

    fn value(&self, value: &AstValue) -> Value {
        match value {
            AstValue::Null => Value::Null,
            AstValue::Enum(name) => Value::String(name.to_string()),
            AstValue::Variable(name) => self.variables.get(name.as_str()).cloned().unwrap_or(Value::Null),
            AstValue::String(s) => Value::String(s.clone()),
            AstValue::Boolean(b) => Value::Bool(*b),
            AstValue::Int(i) => i.as_str().parse::<i64>().map(Value::from).unwrap_or(Value::Null),
            AstValue::Float(f) => {
                f.as_str().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number)
            }
            AstValue::List(items) => Value::Array(items.iter().map(|v| self.value(v)).collect()),
            AstValue::Object(fields) => {
                Value::Object(fields.iter().map(|(k, v)| (k.to_string(), self.value(v))).collect())
            }
        }
    }

    /// CompleteValue. `None` means "null that must propagate to the parent".
    fn complete(
        &mut self,
        backend: &dyn Backend,
        ty: &Type,
        val: Val,
        fields: &[&'a Node<Field>],
        args: &Map<String, Value>,
        path: &[Value],
    ) -> Option<Value> {
        let Some(&field) = fields.first() else {
            return Some(Value::Null);
        };
        let val = match val {
            Val::Ref(entity) => backend.load(&entity).map_or(Val::Null, Val::Obj),
            other => other,
        };
        if matches!(val, Val::Null) {
            if ty.is_non_null() {
                let message = format!("Cannot return null for non-nullable field `{}`", field.name);
                self.push_error(&FieldError::internal(message), path, field);
                return None;
            }
            return Some(Value::Null);
        }
        let nullable = |value: Option<Value>| match value {
            Some(v) => Some(v),
            None if ty.is_non_null() => None,
            None => Some(Value::Null),
        };
        match (ty, val) {
            (Type::List(inner) | Type::NonNullList(inner), Val::List(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (index, item) in items.into_iter().enumerate() {
                    let mut item_path = path.to_vec();
                    item_path.push(Value::from(index));
                    match self.complete(backend, inner, item, fields, args, &item_path) {
                        Some(v) => out.push(v),
                        None => return nullable(None),
                    }
                }
                Some(Value::Array(out))
            }
            (_, Val::Leaf(value)) => Some(value),
            (_, Val::Obj(obj)) => nullable(self.project(backend, &obj, fields, path)),
            (_, Val::Conn(nodes)) => match self.page(ty.inner_named_type().as_str(), nodes, args) {
                Ok(obj) => nullable(self.project(backend, &obj, fields, path)),
                Err(error) => {
                    self.push_error(&error, path, field);
                    nullable(None)
                }
            },
            (_, other) => {
                let message = format!("the fake Linear built {other:?} for field {}, which has type {ty}", field.name);
                self.push_error(&FieldError::internal(message), path, field);
                nullable(None)
            }
        }
    }

    /// The selection of `fields` over one object.
    fn project(
        &mut self,
        backend: &dyn Backend,
        obj: &Obj,
        fields: &[&'a Node<Field>],
        path: &[Value],
    ) -> Option<Value> {
        let sets: Vec<&'a SelectionSet> = fields.iter().map(|f| &f.selection_set).collect();
        let mut out = Map::new();
        for (key, group) in self.collect(&obj.typename, &sets) {
            let Some(&field) = group.first() else {
                continue;
            };
            let mut field_path = path.to_vec();
            field_path.push(Value::String(key.clone()));
            if field.name == "__typename" {
                out.insert(key, Value::String(obj.typename.clone()));
                continue;
            }
            let Some(val) = obj.get(field.name.as_str()).cloned() else {
                let error = FieldError::unsupported(format!(
                    "The fake Linear does not model the field `{}.{}`",
                    obj.typename, field.name
                ));
                self.push_error(&error, &field_path, field);
                if field.ty().is_non_null() {
                    return None;
                }
                out.insert(key, Value::Null);
                continue;
            };
            let args = self.arguments(field);
            let value = self.complete(backend, field.ty(), val, &group, &args, &field_path)?;
            out.insert(key, value);
        }
        Some(Value::Object(out))
    }

    /// One page of a connection: newest first by `orderBy` (createdAt unless updatedAt), then
    /// `after` the given cursor, at most `first` nodes.
    fn page(
        &self,
        connection_type: &str,
        mut nodes: Vec<ConnNode>,
        args: &Map<String, Value>,
    ) -> Result<Obj, FieldError> {
        for unsupported in ["last", "before"] {
            if args.get(unsupported).is_some_and(|v| !v.is_null()) {
                return Err(FieldError::unsupported(format!(
                    "The fake Linear pages forward only; `{unsupported}` is not modelled"
                )));
            }
        }
        match args.get("orderBy").and_then(Value::as_str) {
            Some("updatedAt") => nodes.sort_by_key(|n| Reverse(n.updated)),
            _ => nodes.sort_by_key(|n| Reverse(n.created)),
        }
        let first = match args.get("first") {
            None | Some(Value::Null) => DEFAULT_PAGE,
            Some(v) => v.as_i64().unwrap_or(-1),
        };
        if !(0..=MAX_PAGE).contains(&first) {
            return Err(FieldError::invalid(format!("Argument `first` must be between 0 and {MAX_PAGE}, got {first}")));
        }
        let start = match args.get("after").and_then(Value::as_str) {
            None => 0,
            Some(cursor) => match nodes.iter().position(|n| n.cursor == cursor) {
                Some(index) => index + 1,
                None => {
                    return Err(FieldError::invalid(format!("Invalid cursor `{cursor}` for {connection_type}")));
                }
            },
        };
        let end = (start + first as usize).min(nodes.len());
        let page = nodes.get(start..end).unwrap_or_default().to_vec();
        let edge_type = self
            .schema
            .type_field(connection_type, "edges")
            .map(|f| f.ty.inner_named_type().to_string())
            .unwrap_or_else(|_| connection_type.replace("Connection", "Edge"));
        let page_info = Obj::new("PageInfo")
            .with("hasNextPage", Val::leaf(end < nodes.len()))
            .with("hasPreviousPage", Val::leaf(start > 0))
            .with("startCursor", Val::opt_leaf(page.first().map(|n| n.cursor.clone())))
            .with("endCursor", Val::opt_leaf(page.last().map(|n| n.cursor.clone())));
        let edges = page
            .iter()
            .map(|n| {
                Val::Obj(
                    Obj::new(edge_type.clone()).with("cursor", Val::leaf(n.cursor.clone())).with("node", n.val.clone()),
                )
            })
            .collect();
        Ok(Obj::new(connection_type)
            .with("nodes", Val::List(page.into_iter().map(|n| n.val).collect()))
            .with("edges", Val::List(edges))
            .with("pageInfo", Val::Obj(page_info)))
    }

    fn push_error(&mut self, error: &FieldError, path: &[Value], field: &Node<Field>) {
        let mut entry = Map::new();
        entry.insert("message".into(), Value::String(error.message.clone()));
        if let Some(range) = field.location().and_then(|span| span.line_column_range(&self.document.sources)) {
            entry.insert("locations".into(), json!([{"line": range.start.line, "column": range.start.column}]));
        }
        entry.insert("path".into(), Value::Array(path.to_vec()));
        entry.insert("extensions".into(), Value::Object(error.extensions()));
        self.errors.push(Value::Object(entry));
    }
}

/// Linear's complexity estimate for an operation (property 0.1, object 1, a connection
/// multiplies its children by `first`, default 50), reported in `X-Complexity`.
pub(crate) fn complexity(prepared: &Prepared) -> u64 {
    let operation: &Operation = prepared.operation();
    let cost = selection_cost(&prepared.document, &prepared.variables, &operation.selection_set);
    cost.ceil().max(1.0) as u64
}

fn selection_cost(document: &ExecutableDocument, variables: &Map<String, Value>, set: &SelectionSet) -> f64 {
    set.selections
        .iter()
        .map(|selection| match selection {
            Selection::Field(field) if field.selection_set.selections.is_empty() => 0.1,
            Selection::Field(field) => {
                let children = selection_cost(document, variables, &field.selection_set);
                if field.ty().inner_named_type().ends_with("Connection") {
                    let first = field
                        .specified_argument_by_name("first")
                        .and_then(|v| match v.as_ref() {
                            AstValue::Int(i) => i.as_str().parse::<f64>().ok(),
                            AstValue::Variable(name) => variables.get(name.as_str()).and_then(Value::as_f64),
                            _ => None,
                        })
                        .unwrap_or(DEFAULT_PAGE as f64);
                    1.0 + first * children
                } else {
                    1.0 + children
                }
            }
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.fragment_name)
                .map_or(0.0, |f| selection_cost(document, variables, &f.selection_set)),
            Selection::InlineFragment(inline) => selection_cost(document, variables, &inline.selection_set),
        })
        .sum()
}
