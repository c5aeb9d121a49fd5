//! One module per format: each renders the migrations as that tool's files.

mod alembic;
mod dbmate;
mod django;
mod flyway;
mod golang_migrate;
mod node_pg_migrate;
mod prisma;
mod rails;
mod refinery;
mod sql;
mod sqlx;

use crate::detect::{Detected, leading_number};
use crate::units::Migration;
use crate::{Format, NewFile, Options, Problem, time};

/// The files of `migrations` in `format`.
pub fn render(
    format: Format,
    detected: &Detected,
    migrations: &[Migration],
    options: &Options,
) -> Result<Vec<NewFile>, Problem> {
    let files = match format {
        Format::Sql => sql::render(detected, migrations),
        Format::GolangMigrate => golang_migrate::render(detected, migrations, options),
        Format::Dbmate => dbmate::render(detected, migrations, options),
        Format::Flyway => flyway::render(detected, migrations),
        Format::Sqlx => sqlx::render(detected, migrations, options),
        Format::Refinery => refinery::render(detected, migrations),
        Format::Alembic => alembic::render(detected, migrations),
        Format::Django => django::render(detected, migrations),
        Format::Rails => rails::render(detected, migrations, options),
        Format::Prisma => prisma::render(detected, migrations, options),
        Format::NodePgMigrate => node_pg_migrate::render(detected, migrations, options),
    };
    Ok(files)
}

fn path(detected: &Detected, name: &str) -> String {
    if detected.directory.is_empty() { name.to_string() } else { format!("{}/{name}", detected.directory) }
}

/// The next `count` sequence numbers after the existing ones (the numbers `number` reads from
/// names), zero-padded to the existing width (or `width`).
fn sequence(detected: &Detected, count: usize, width: usize, number: impl Fn(&str) -> Option<&str>) -> Vec<String> {
    let existing: Vec<&str> = detected.existing.iter().filter_map(|n| number(n)).collect();
    let last = existing.iter().filter_map(|n| n.parse::<u64>().ok()).max().unwrap_or(0);
    let width = existing.iter().map(|n| n.len()).max().unwrap_or(width);
    (1..=count as u64).map(|i| format!("{:0width$}", last + i)).collect()
}

/// The leading number of a file name.
fn leading(name: &str) -> Option<&str> {
    leading_number(name).map(|(n, _)| n)
}

/// `count` `YYYYMMDDHHMMSS` stamps from now, each after the existing ones and the one before.
fn stamps(detected: &Detected, count: usize, options: &Options) -> Vec<String> {
    let last = detected
        .existing
        .iter()
        .filter_map(|n| leading(n))
        .filter(|n| n.len() == 14)
        .filter_map(|n| n.parse::<u64>().ok())
        .filter_map(time::unix_of_stamp)
        .max();
    let now = options.now_unix_ms.div_euclid(1000);
    let first = last.map_or(now, |l| now.max(l + 1));
    (0..count as i64).map(|i| time::stamp(first + i).to_string()).collect()
}
