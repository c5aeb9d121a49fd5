//! Pure: from two catalogs to the statements that turn one into the other.
//!
//! - [`diff`] compares a current and a desired [`cutover_schema::Catalog`] and returns the
//!   DDL that makes the current one converge, ordered by the dependencies PostgreSQL
//!   records, with `data_loss` hazards on destructive statements.
//! - [`planner`] turns a diff into a phased plan (expand, backfill, switch, contract) with
//!   locks, hazards, timeouts, rollbacks and estimates, using safe recipes.
//! - [`locks`] is the per-version knowledge of what each statement form locks and does.
//! - [`hazard`] holds the hazard codes of product.md.
//! - [`verify`] derives the checks of `cutover verify` from a plan's completed phases.

pub mod diff;
pub mod hazard;
pub mod locks;
pub mod markdown;
pub mod planner;
pub mod verify;

pub use diff::{Change, Diff, DiffOptions, diff};
pub use hazard::{BlockerCode, Hazard, HazardCode};
