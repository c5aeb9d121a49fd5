//! The operations Cutover sends, cut out of `graphql/operations.graphql` one document each.
//!
//! A request carries only its own operation plus the fragments it spreads (transitively), not
//! the whole file: Linear counts bytes and complexity per request.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

/// The operations file, validated against the schema by this crate's tests.
pub const OPERATIONS_SOURCE: &str = include_str!("../graphql/operations.graphql");

struct Definitions {
    operations: BTreeMap<String, String>,
    fragments: BTreeMap<String, String>,
}

static DEFINITIONS: LazyLock<Definitions> = LazyLock::new(|| split_definitions(OPERATIONS_SOURCE));
static DOCUMENTS: LazyLock<BTreeMap<String, String>> =
    LazyLock::new(|| DEFINITIONS.operations.keys().map(|name| (name.clone(), assemble(&DEFINITIONS, name))).collect());

/// The request document for a named operation: the operation and the fragments it needs.
/// Panics on an unknown name, which is a programming error caught by the tests.
pub fn document_for(operation: &str) -> &'static str {
    match DOCUMENTS.get(operation) {
        Some(doc) => doc,
        None => panic!("operation {operation} is not in operations.graphql"),
    }
}

/// Every operation name in the file, sorted.
pub fn operation_names() -> Vec<&'static str> {
    DOCUMENTS.keys().map(String::as_str).collect()
}

/// Splits the file into top-level definitions. The file is ours: definitions start at column 0
/// with `query`, `mutation` or `fragment`, and braces are balanced (no braces in strings).
fn split_definitions(source: &str) -> Definitions {
    let mut operations = BTreeMap::new();
    let mut fragments = BTreeMap::new();
    let mut current: Option<(bool, String, String)> = None;
    let mut depth = 0i32;
    for line in source.lines() {
        let code = line.split('#').next().unwrap_or("");
        if current.is_none() {
            let mut words = code.split(|c: char| c.is_whitespace() || c == '(' || c == '{');
            let kind = words.next().unwrap_or("");
            if matches!(kind, "query" | "mutation" | "fragment") {
                let name = words.find(|w| !w.is_empty()).unwrap_or("").to_string();
                current = Some((kind == "fragment", name, String::new()));
                depth = 0;
            } else {
                continue;
            }
        }
        if let Some((_, _, text)) = current.as_mut() {
            text.push_str(line);
            text.push('\n');
        }
        depth += code.matches('{').count() as i32 - code.matches('}').count() as i32;
        if depth == 0
            && code.contains('}')
            && let Some((is_fragment, name, text)) = current.take()
        {
            if is_fragment {
                fragments.insert(name, text);
            } else {
                operations.insert(name, text);
            }
        }
    }
    Definitions { operations, fragments }
}

fn spreads(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("...").filter_map(|(at, _)| {
        let rest = text[at + 3..].trim_start();
        let name: &str = rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or("");
        (!name.is_empty() && name != "on").then_some(name)
    })
}

fn assemble(defs: &Definitions, operation: &str) -> String {
    let mut needed = BTreeSet::new();
    let mut stack: Vec<&str> = spreads(&defs.operations[operation]).collect();
    while let Some(name) = stack.pop() {
        if needed.insert(name.to_string())
            && let Some(text) = defs.fragments.get(name)
        {
            stack.extend(spreads(text));
        }
    }
    let mut doc = defs.operations[operation].clone();
    for name in needed {
        if let Some(text) = defs.fragments.get(&name) {
            doc.push('\n');
            doc.push_str(text);
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_carry_only_the_fragments_they_spread() {
        let doc = document_for("IssueCreate");
        assert!(doc.starts_with("mutation IssueCreate("), "{doc}");
        for fragment in ["fragment IssueCore", "fragment UserRef", "fragment LabelRef", "fragment WorkflowStateRef"] {
            assert!(doc.contains(fragment), "{fragment} missing from {doc}");
        }
        assert!(!doc.contains("fragment CommentCore"), "{doc}");
        assert!(!document_for("CommentExists").contains("fragment"));
    }

    #[test]
    fn every_operation_is_found() {
        let names = operation_names();
        assert_eq!(names.len(), 35, "{names:?}");
        assert!(names.contains(&"AgentActivityCreate"));
    }
}
