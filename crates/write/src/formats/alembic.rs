//! `alembic`: `<versions>/<revision>_name.py`, chained after the single head by
//! `down_revision`. Revision ids are derived from the migration's name and its parent, so the
//! same plan written twice gets the same ids. Statements go to the driver as they are
//! (`exec_driver_sql`: no bind-parameter parsing of `:name` in SQL); steps that cannot run in a
//! transaction run inside `op.get_context().autocommit_block()`, with their timeouts set for
//! the session and reset after.

use super::path;
use crate::NewFile;
use crate::detect::Detected;
use crate::text::{header, line_comment, python_string, reset_session, set_local, set_session};
use crate::units::{Down, Migration};
use sha2::{Digest, Sha256};

pub fn render(detected: &Detected, migrations: &[Migration]) -> Vec<NewFile> {
    let mut previous = detected.previous.clone();
    let mut files = Vec::new();
    for m in migrations {
        let digest = Sha256::digest(format!("{}\n{}", m.name, previous.as_deref().unwrap_or("")));
        let revision = hex::encode(&digest[..6]);
        let mut out = format!(
            "\"\"\"{}\n\nRevision ID: {revision}\nRevises: {}\n\"\"\"\n",
            m.name,
            previous.as_deref().unwrap_or("")
        );
        out.push_str(&line_comment("# ", &header(m, "autocommit_block"), ""));
        out.push_str("from alembic import op\n\n");
        out.push_str(&format!("revision = \"{revision}\"\n"));
        match &previous {
            Some(p) => out.push_str(&format!("down_revision = \"{p}\"\n")),
            None => out.push_str("down_revision = None\n"),
        }
        out.push_str("branch_labels = None\ndepends_on = None\n\n\n");
        out.push_str("def run(sql):\n    op.get_bind().exec_driver_sql(sql)\n\n\n");
        out.push_str("def upgrade():\n");
        for (i, item) in m.items.iter().enumerate() {
            out.push_str(&format!("    # {}\n", item.label));
            if m.is_outside(i) {
                out.push_str("    with op.get_context().autocommit_block():\n");
                for s in set_session(item).iter().chain(&item.statements).chain(&reset_session()) {
                    out.push_str(&format!("        run({})\n", python_string(s)));
                }
            } else {
                out.push_str(&format!("    run({})\n", python_string(&set_local(item))));
                for s in &item.statements {
                    out.push_str(&format!("    run({})\n", python_string(s)));
                }
            }
        }
        out.push_str("\n\ndef downgrade():\n");
        match m.down() {
            Err(reasons) => {
                out.push_str(&format!(
                    "    raise RuntimeError({})\n",
                    python_string(&format!("cannot be undone: {}", reasons.join("; ")))
                ));
            }
            Ok(steps) if steps.is_empty() => out.push_str("    pass  # nothing to undo\n"),
            Ok(_) => {
                for (i, item) in m.items.iter().enumerate().rev() {
                    let Down::Sql(sql) = &item.down else { continue };
                    out.push_str(&format!("    # undoes {}\n", item.label));
                    if m.is_outside(i) {
                        out.push_str("    with op.get_context().autocommit_block():\n");
                        out.push_str(&format!("        run({})\n", python_string(sql)));
                    } else {
                        out.push_str(&format!("    run({})\n", python_string(sql)));
                    }
                }
            }
        }
        files.push(NewFile { path: path(detected, &format!("{revision}_{}.py", m.name)), contents: out });
        previous = Some(revision);
    }
    files
}
