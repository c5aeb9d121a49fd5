//! Nothing but tests: see tests/tools.rs.
