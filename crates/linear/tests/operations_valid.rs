//! Every operation Cutover can send validates against Linear's published schema, both the whole
//! file and each per-request document cut out of it.

use apollo_compiler::{ExecutableDocument, Schema};
use cutover_linear::{OPERATIONS_SOURCE, SCHEMA_SOURCE, document_for, operation_names};

#[test]
fn operations_validate_against_the_schema() {
    let schema = Schema::parse_and_validate(SCHEMA_SOURCE, "schema.graphql").expect("Linear's schema is valid");
    if let Err(errors) = ExecutableDocument::parse_and_validate(&schema, OPERATIONS_SOURCE, "operations.graphql") {
        panic!("operations.graphql does not validate:\n{}", errors.errors);
    }
    for name in operation_names() {
        let doc = document_for(name);
        if let Err(errors) = ExecutableDocument::parse_and_validate(&schema, doc, name) {
            panic!("the request document for {name} does not validate:\n{}\n{doc}", errors.errors);
        }
    }
}

#[test]
fn an_unknown_field_is_rejected() {
    // The check above can fail: Linear has no `gitBranchName` (it is `branchName`).
    let schema = Schema::parse_and_validate(SCHEMA_SOURCE, "schema.graphql").expect("valid");
    let err = ExecutableDocument::parse_and_validate(&schema, "query { issue(id: \"ENG-1\") { gitBranchName } }", "q")
        .expect_err("must be rejected");
    assert!(err.errors.to_string().contains("does not have a field `gitBranchName`"), "{}", err.errors);
}
