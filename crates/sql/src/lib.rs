//! SQL text for Cutover: the only crate that builds SQL from names and model objects.
//!
//! - [`catalog_queries`] the catalog queries introspection sends, per server version.
//! - [`apply`] the state schema of `cutover apply`, its runner lock and step timeouts.
//! - [`verify`] the catalog questions and data checks of `cutover verify`.
//! - [`backfill`] keyset (or page-range) batches of the backfill engine, and its state.
//! - [`quote`] quotes identifiers and literals.
//! - [`sandbox`] the role, ownership transfer and extension guard of a scratch sandbox.
//! - [`bound`] reads, renders and checks partition bounds.
//! - [`migration`] what `cutover write` wraps around steps in framework migrations.
//! - [`split`] splits SQL text into statements with their positions, like psql.
//! - [`ddl`] holds the typed DDL statements the diff and the planner produce, and their one
//!   rendering ([`std::fmt::Display`]).
//!
//! Pure: no I/O, never fails.

pub mod apply;
pub mod backfill;
pub mod bound;
pub mod catalog_queries;
pub mod ddl;
pub mod migration;
pub mod quote;
pub mod sandbox;
pub mod split;
pub mod verify;
