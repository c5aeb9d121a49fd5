//! `dbmate`: `db/migrations/YYYYMMDDHHMMSS_name.sql` with `-- migrate:up` and
//! `-- migrate:down` sections. dbmate runs each section in a transaction unless its directive
//! says `transaction:false`; it then sends the section as one query, so a statement that
//! cannot run in a transaction is alone in its migration.

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
            let option = if m.transactional { "" } else { " transaction:false" };
            let mut contents = format!("-- migrate:up{option}\n");
            contents.push_str(&sql_comment(&header(m, "dbmate's transaction:false")));
            contents.push('\n');
            contents.push_str(&sql_up(m, false));
            contents.push_str(&format!("\n-- migrate:down{option}\n"));
            contents.push_str(&sql_down(m, false));
            NewFile { path: path(detected, &format!("{stamp}_{}.sql", m.name)), contents }
        })
        .collect()
}
