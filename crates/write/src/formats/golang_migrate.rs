//! `golang-migrate`: `NNNNNN_name.up.sql` and `NNNNNN_name.down.sql` (sequential, as
//! `migrate create -seq -digits 6` makes them, or `YYYYMMDDHHMMSS` stamps when the
//! repository uses them). The PostgreSQL driver sends a file as one query and opens no
//! transaction of its own: a transactional file says `BEGIN`/`COMMIT` itself, and a statement
//! that cannot run in a transaction is alone in its file (multi-statement mode off).

use super::{leading, path, sequence, stamps};
use crate::detect::Detected;
use crate::text::{header, sql_comment, sql_down, sql_up};
use crate::units::Migration;
use crate::{NewFile, Options};

fn number(n: &str) -> Option<&str> {
    if n.ends_with(".up.sql") { leading(n) } else { None }
}

pub fn render(detected: &Detected, migrations: &[Migration], options: &Options) -> Vec<NewFile> {
    let by_time = detected.existing.iter().filter_map(|n| number(n)).any(|n| n.len() == 14);
    let numbers = if by_time {
        stamps(detected, migrations.len(), options)
    } else {
        sequence(detected, migrations.len(), 6, number)
    };
    let mut files = Vec::new();
    for (m, number) in migrations.iter().zip(numbers) {
        let mut up = sql_comment(&header(m, "golang-migrate, one statement alone in its file"));
        up.push('\n');
        up.push_str(&sql_up(m, true));
        files.push(NewFile { path: path(detected, &format!("{number}_{}.up.sql", m.name)), contents: up });
        files.push(NewFile {
            path: path(detected, &format!("{number}_{}.down.sql", m.name)),
            contents: sql_down(m, true),
        });
    }
    files
}
