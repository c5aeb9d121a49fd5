//! `refinery`: `migrations/V<n>__name.sql`. refinery runs every migration inside a
//! transaction and has no down direction. A step that cannot run in a transaction (a
//! concurrent index build) cannot be in a refinery migration at all: its migration carries the
//! statement as a comment to run first with psql, and checks that it was (an index must exist
//! and be valid), so `migrate` stops there until it is done.

use super::path;
use crate::NewFile;
use crate::detect::Detected;
use crate::text::{header, sql_comment, sql_down, sql_up};
use crate::units::Migration;

fn version(name: &str) -> Option<u64> {
    let (v, _) = name.strip_prefix(['V', 'U'])?.split_once("__")?;
    v.split('.').next()?.parse().ok()
}

pub fn render(detected: &Detected, migrations: &[Migration]) -> Vec<NewFile> {
    let last = detected.existing.iter().filter_map(|n| version(n)).max().unwrap_or(0);
    let mut files = Vec::new();
    for (i, m) in migrations.iter().enumerate() {
        let mut contents = sql_comment(&header(m, "run by hand: refinery runs every migration in a transaction"));
        contents.push('\n');
        if m.transactional {
            contents.push_str(&sql_up(m, false));
        } else {
            for item in &m.items {
                let mut lines = vec![
                    format!(
                        "{} cannot run inside a transaction, and refinery runs every migration in one.",
                        item.label
                    ),
                    "Run it first with psql on the same database (lock_timeout and statement_timeout as planned):"
                        .into(),
                    String::new(),
                    format!("  SET lock_timeout = '{}ms';", item.lock_timeout_ms),
                    format!("  SET statement_timeout = '{}ms';", item.statement_timeout_ms),
                ];
                lines.extend(item.statements.iter().flat_map(|s| s.lines().map(|l| format!("  {l}"))));
                contents.push_str(&sql_comment(&lines));
                match &item.builds_index {
                    Some(index) => {
                        contents.push_str(&cutover_sql::migration::check_index_valid(index));
                        contents.push('\n');
                    }
                    None => contents.push_str("SELECT 1;\n"),
                }
            }
        }
        contents.push_str("\n-- Rollback (refinery has no down migrations; run by hand, newest first):\n");
        contents.push_str(&sql_comment(&sql_down(m, false).lines().map(str::to_string).collect::<Vec<_>>()));
        files.push(NewFile { path: path(detected, &format!("V{}__{}.sql", last + 1 + i as u64, m.name)), contents });
    }
    files
}
