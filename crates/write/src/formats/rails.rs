//! `rails`: `db/migrate/YYYYMMDDHHMMSS_name.rb`, an `ActiveRecord::Migration[x.y]` (the
//! version of the repository's latest migration, else 7.2) whose class is the camelized name.
//! SQL goes through `execute` in single-quoted squiggly heredocs (no interpolation, no
//! escapes). A migration outside a transaction says `disable_ddl_transaction!` and sets its
//! steps' timeouts for the session, resetting them after; `down` raises
//! `ActiveRecord::IrreversibleMigration` when a step cannot be undone.

use super::{path, stamps};
use crate::detect::Detected;
use crate::text::{header, line_comment, reset_session, ruby_heredoc, set_local, set_session};
use crate::units::Migration;
use crate::{NewFile, Options};

fn camelize(name: &str) -> String {
    name.split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

fn execute(out: &mut String, sql: &str, indent: &str) {
    if !sql.contains('\n') && !sql.contains('\'') && !sql.contains('\\') {
        out.push_str(&format!("{indent}execute '{sql}'\n"));
        return;
    }
    let (opener, body) = ruby_heredoc(sql, indent);
    out.push_str(&format!("{indent}execute {opener}\n{body}"));
}

pub fn render(detected: &Detected, migrations: &[Migration], options: &Options) -> Vec<NewFile> {
    let version = detected.flavour.clone().unwrap_or_else(|| "7.2".into());
    migrations
        .iter()
        .zip(stamps(detected, migrations.len(), options))
        .map(|(m, stamp)| {
            let mut out = String::from("# frozen_string_literal: true\n\n");
            out.push_str(&line_comment("# ", &header(m, "disable_ddl_transaction!"), ""));
            out.push_str(&format!("class {} < ActiveRecord::Migration[{version}]\n", camelize(&m.name)));
            if !m.transactional {
                out.push_str("  disable_ddl_transaction!\n\n");
            }
            out.push_str("  def up\n");
            for (i, item) in m.items.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str(&format!("    # {}\n", item.label));
                let statements: Vec<String> = if m.transactional {
                    std::iter::once(set_local(item)).chain(item.statements.iter().cloned()).collect()
                } else {
                    set_session(item)
                        .into_iter()
                        .chain(item.statements.iter().cloned())
                        .chain(reset_session())
                        .collect()
                };
                for s in statements {
                    execute(&mut out, &s, "    ");
                }
            }
            out.push_str("  end\n\n  def down\n");
            match m.down() {
                Err(reasons) => out.push_str(&format!(
                    "    raise ActiveRecord::IrreversibleMigration, {}\n",
                    ruby_string(&format!("cannot be undone: {}", reasons.join("; ")))
                )),
                Ok(steps) if steps.is_empty() => out.push_str("    # nothing to undo\n"),
                Ok(steps) => {
                    for (item, sql) in steps {
                        out.push_str(&format!("    # undoes {}\n", item.label));
                        execute(&mut out, sql, "    ");
                    }
                }
            }
            out.push_str("  end\nend\n");
            NewFile { path: path(detected, &format!("{stamp}_{}.rb", m.name)), contents: out }
        })
        .collect()
}

/// A Ruby single-quoted string: only `\\` and `\'` are escapes.
fn ruby_string(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}
