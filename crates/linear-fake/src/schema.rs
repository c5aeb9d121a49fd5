//! Linear's schema, parsed and validated once per process, and request preparation against it.
//!
//! Every request the fake answers is first validated as Linear would: the document against the
//! schema, then the variables against the operation's variable definitions. A client bug (a
//! field that does not exist, a wrong variable type, an unknown input field) therefore fails in
//! tests exactly where it would fail against the real API.

use std::sync::LazyLock;

use apollo_compiler::executable::Operation;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Node, Schema};
use serde_json::{Map, Value};

const SCHEMA_SDL: &str = include_str!("../../linear/graphql/schema.graphql");

static SCHEMA: LazyLock<Valid<Schema>> = LazyLock::new(|| {
    // The SDL is a checked-in build input, not request data: failing here is a broken build.
    Schema::parse_and_validate(SCHEMA_SDL, "schema.graphql")
        .unwrap_or_else(|e| panic!("Linear's schema.graphql does not validate: {}", e.errors))
});

/// Linear's schema (parsed and validated on first use, ~1.25 MB of SDL).
pub fn schema() -> &'static Valid<Schema> {
    &SCHEMA
}

/// A request that passed validation: its document, the chosen operation and the coerced
/// variables (defaults applied).
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) document: Valid<ExecutableDocument>,
    operation_name: Option<String>,
    pub(crate) variables: Map<String, Value>,
}

impl Prepared {
    pub(crate) fn operation(&self) -> &Node<Operation> {
        // `prepare` only returns a `Prepared` whose operation it found.
        self.document
            .operations
            .get(self.operation_name.as_deref())
            .unwrap_or_else(|_| unreachable!("operation checked in prepare"))
    }
}

/// One problem with a request, as a client sees it under `GRAPHQL_VALIDATION_FAILED`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Invalid {
    pub(crate) message: String,
    /// (line, column) in the query, when the problem has a place.
    pub(crate) location: Option<(usize, usize)>,
}

impl Invalid {
    fn new(message: impl Into<String>) -> Self {
        Invalid { message: message.into(), location: None }
    }
}

/// Validates `query` against the schema, picks the operation and coerces `variables`.
pub(crate) fn prepare(
    query: &str,
    operation_name: Option<&str>,
    variables: &Map<String, Value>,
) -> Result<Prepared, Vec<Invalid>> {
    let document =
        ExecutableDocument::parse_and_validate(schema(), query, "request.graphql").map_err(|with_errors| {
            with_errors
                .errors
                .iter()
                .map(|diagnostic| Invalid {
                    message: diagnostic.error.to_string(),
                    location: diagnostic.line_column_range().map(|range| (range.start.line, range.start.column)),
                })
                .collect::<Vec<_>>()
        })?;
    let operation =
        document.operations.get(operation_name).map_err(|error| vec![Invalid::new(error.message().to_string())])?;
    let raw: apollo_compiler::response::JsonMap =
        variables.iter().map(|(k, v)| (k.as_str().into(), v.clone().into())).collect();
    let coerced = apollo_compiler::request::coerce_variable_values(schema(), operation, &raw)
        .map_err(|error| vec![Invalid::new(format!("Variable error: {}", error.message()))])?;
    let variables = match serde_json::to_value(coerced.into_inner()) {
        Ok(Value::Object(map)) => map,
        _ => {
            return Err(vec![Invalid::new("variables could not be read back as a JSON object")]);
        }
    };
    let operation_name = operation.name.as_ref().map(|n| n.to_string());
    Ok(Prepared { document, operation_name, variables })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_has_linear_root_types() {
        let schema = schema();
        assert!(schema.get_object("Query").is_some());
        assert!(schema.get_object("Issue").is_some());
        assert!(schema.types.contains_key("AgentActivityContent"));
    }

    #[test]
    fn unknown_field_is_rejected_with_its_name() {
        let errors = prepare("query Q { issue(id: \"x\") { id gitBranchName } }", None, &Map::new())
            .expect_err("gitBranchName does not exist");
        assert_eq!(
            errors,
            vec![Invalid {
                message: "type `Issue` does not have a field `gitBranchName`".into(),
                location: Some((1, 31)),
            }]
        );
    }
}
