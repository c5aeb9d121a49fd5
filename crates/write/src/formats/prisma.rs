//! `prisma`: `prisma/migrations/YYYYMMDDHHMMSS_name/migration.sql`, applied by
//! `prisma migrate deploy`, which sends the file as one script and has no down direction. A
//! transactional migration says `BEGIN`/`COMMIT`; a statement that cannot run in a
//! transaction is alone in its migration. The rollback is a comment.

use super::{path, stamps};
use crate::detect::Detected;
use crate::text::{header, sql_comment, sql_down, sql_up};
use crate::units::Migration;
use crate::{NewFile, Options};

pub fn render(detected: &Detected, migrations: &[Migration], options: &Options) -> Vec<NewFile> {
    migrations
        .iter()
        .zip(stamps(detected, migrations.len(), options))
        .map(|(m, stamp)| {
            let mut contents = sql_comment(&header(m, "alone in its migration"));
            contents.push('\n');
            contents.push_str(&sql_up(m, true));
            contents.push_str("\n-- Rollback (run by hand; newest first):\n");
            contents.push_str(&sql_comment(&sql_down(m, true).lines().map(str::to_string).collect::<Vec<_>>()));
            NewFile { path: path(detected, &format!("{stamp}_{}/migration.sql", m.name)), contents }
        })
        .collect()
}
