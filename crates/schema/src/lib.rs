//! The normalized model of a PostgreSQL application schema.
//!
//! A [`Catalog`] holds everything an application schema is made of, keyed by name so that two
//! catalogs compare object by object. Texts that PostgreSQL itself canonicalises (types from
//! `format_type`, expressions from `pg_get_expr`, view, index, constraint, trigger and routine
//! definitions from the `pg_get_*def` functions) are kept as the server printed them with an
//! empty `search_path`, so every name in them is schema-qualified and two catalogs read from
//! servers of the same major version compare textually.
//!
//! This crate does no I/O and never fails: it is data and the rules for comparing it.

mod model;
mod name;
mod object;
mod pairs;

pub use model::*;
pub use name::{FunctionId, QualName};
pub use object::{Dependency, ObjId};
