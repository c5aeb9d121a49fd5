//! `flyway`: versioned migrations `V<n>__name.sql`. Flyway runs a migration in a
//! transaction; one that must not be gets a script configuration file beside it,
//! `V<n>__name.sql.conf` with `executeInTransaction=false`, and Flyway then sends its
//! statements one at a time, so the timeouts are set for the session and reset after.
//! Undo migrations (`U<n>__`) are a paid edition's feature: the rollback is a comment.

use super::path;
use crate::NewFile;
use crate::detect::Detected;
use crate::text::{header, reset_session, set_session, sql_comment, sql_down, sql_up};
use crate::units::Migration;

/// The major version of `V<major>[._]...__name.sql`.
fn version(name: &str) -> Option<u64> {
    let (v, _) = name.strip_prefix('V')?.split_once("__")?;
    v.split(['.', '_']).next()?.parse().ok()
}

pub fn render(detected: &Detected, migrations: &[Migration]) -> Vec<NewFile> {
    let last = detected.existing.iter().filter(|n| n.ends_with(".sql")).filter_map(|n| version(n)).max().unwrap_or(0);
    let mut files = Vec::new();
    for (i, m) in migrations.iter().enumerate() {
        let file = format!("V{}__{}.sql", last + 1 + i as u64, m.name);
        let mut contents = sql_comment(&header(m, "executeInTransaction=false in the .conf file beside it"));
        contents.push('\n');
        if m.transactional {
            contents.push_str(&sql_up(m, false));
        } else {
            for item in &m.items {
                contents.push_str(&format!("-- {}\n", item.label));
                for s in set_session(item).iter().chain(&item.statements).chain(&reset_session()) {
                    contents.push_str(s);
                    contents.push('\n');
                }
            }
        }
        contents.push_str("\n-- Rollback (run by hand; newest first):\n");
        contents.push_str(&sql_comment(&sql_down(m, false).lines().map(str::to_string).collect::<Vec<_>>()));
        files.push(NewFile { path: path(detected, &file), contents });
        if !m.transactional {
            let conf = "executeInTransaction=false\n".to_string();
            files.push(NewFile { path: path(detected, &format!("{file}.conf")), contents: conf });
        }
    }
    files
}
