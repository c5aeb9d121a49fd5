//! `sql`: a plain directory of numbered SQL files, applied in lexical order (by psql, a
//! homegrown runner, or `cutover`'s own SQL sources). Each file carries its own
//! `BEGIN`/`COMMIT`; rollbacks are comments, since a runner of plain files has no down
//! direction.

use super::{leading, path, sequence};
use crate::NewFile;
use crate::detect::Detected;
use crate::text::{header, sql_comment, sql_down, sql_up};
use crate::units::Migration;

pub fn render(detected: &Detected, migrations: &[Migration]) -> Vec<NewFile> {
    let numbers = sequence(detected, migrations.len(), 4, |n| n.ends_with(".sql").then(|| leading(n)).flatten());
    migrations
        .iter()
        .zip(numbers)
        .map(|(m, number)| {
            let mut contents = sql_comment(&header(m, "plain SQL"));
            contents.push('\n');
            contents.push_str(&sql_up(m, true));
            let down = sql_down(m, true);
            contents.push_str("\n-- Rollback (not run; newest first):\n");
            contents.push_str(&sql_comment(&down.lines().map(str::to_string).collect::<Vec<_>>()));
            NewFile { path: path(detected, &format!("{number}_{}.sql", m.name)), contents }
        })
        .collect()
}
