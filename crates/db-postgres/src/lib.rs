//! The PostgreSQL adapter: everything Cutover does to or reads from a PostgreSQL server.
//!
//! - [`cluster`] starts a throwaway PostgreSQL from the installed server binaries.
//! - [`connect`] opens connections and keeps passwords out of messages; [`tls`] encrypts
//!   them with libpq's `sslmode` meanings; [`environment`] holds the variables the binary
//!   read for them (this crate never reads the environment itself).
//! - [`scratch`] creates and drops scratch databases on a dev server; [`sandbox`] runs SQL
//!   written by someone else in one, as a role that can reach nothing outside it.
//! - [`source`] turns a SQL source (a live database, a `.sql` file or a directory) into a
//!   [`cutover_schema::Catalog`].
//! - [`execute`] runs plan steps with their timeouts; [`apply`] runs a plan on a live
//!   database, resumably, with its state in the database's `cutover` schema.
//! - [`backfill`] fills a column in keyset batches that adapt their size and throttle,
//!   resumably, with its state in the `cutover` schema.
//! - [`introspect`] reads a catalog from a live database in a fixed number of queries,
//!   inside a read-only transaction.

pub mod apply;
pub mod backfill;
pub mod cluster;
pub mod connect;
pub mod environment;
mod error;
pub mod execute;
pub mod introspect;
pub mod sandbox;
pub mod scratch;
pub mod source;
mod state;
pub mod tls;
pub mod trace;
pub mod validate;
pub mod verify;

pub use error::{Error, describe as error_text};
