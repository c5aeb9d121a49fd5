//! `sqlx`: `migrations/<version>_name.sql`, or `.up.sql`/`.down.sql` pairs (reversible, which
//! new directories get: the plan has rollbacks). Versions are `YYYYMMDDHHMMSS` stamps as
//! `sqlx migrate add` makes them, or the next number where the repository counts. The
//! migrator runs a file in a transaction unless its first line is `-- no-transaction`, and then
//! sends it as one query: a statement that cannot run in a transaction is alone in its file.

use super::{leading, path, sequence, stamps};
use crate::detect::Detected;
use crate::text::{header, sql_comment, sql_down, sql_up};
use crate::units::Migration;
use crate::{NewFile, Options};

fn number(n: &str) -> Option<&str> {
    if n.ends_with(".sql") { leading(n) } else { None }
}

pub fn render(detected: &Detected, migrations: &[Migration], options: &Options) -> Vec<NewFile> {
    let numbers: Vec<&str> = detected.existing.iter().filter_map(|n| number(n)).collect();
    let sequential = !numbers.is_empty() && numbers.iter().all(|n| n.len() < 14);
    let reversible = numbers.is_empty() || detected.existing.iter().any(|n| n.ends_with(".up.sql"));
    let versions = if sequential {
        sequence(detected, migrations.len(), 4, number)
    } else {
        stamps(detected, migrations.len(), options)
    };
    let mut files = Vec::new();
    for (m, version) in migrations.iter().zip(versions) {
        let first = if m.transactional { String::new() } else { "-- no-transaction\n".to_string() };
        let mut up = first.clone();
        up.push_str(&sql_comment(&header(m, "sqlx's -- no-transaction")));
        up.push('\n');
        up.push_str(&sql_up(m, false));
        if reversible {
            files.push(NewFile { path: path(detected, &format!("{version}_{}.up.sql", m.name)), contents: up });
            let down = format!("{first}{}", sql_down(m, false));
            files.push(NewFile { path: path(detected, &format!("{version}_{}.down.sql", m.name)), contents: down });
        } else {
            files.push(NewFile { path: path(detected, &format!("{version}_{}.sql", m.name)), contents: up });
        }
    }
    files
}
