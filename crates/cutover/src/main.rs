//! The `cutover` binary: parses the command line, runs one command, maps the outcome to
//! the exit codes of the product contract (0 success, 1 findings, 2 usage/input/connection).

mod cli;
mod commands;
mod config;

use clap::Parser;
use std::process::ExitCode;

// Introspection builds hundreds of thousands of small strings; mimalloc handles that
// pattern much faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // The binary is the only crate that reads the environment; the PostgreSQL adapter gets
    // the variables it honours (PGSSLMODE, PGSSLROOTCERT, HOME, CUTOVER_PG_BINDIR, PATH,
    // TMPDIR) from here.
    let environment = cutover_db_postgres::environment::Environment::from_vars(|name| std::env::var_os(name));
    cutover_db_postgres::environment::install(environment);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: could not start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(outcome) => outcome.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
