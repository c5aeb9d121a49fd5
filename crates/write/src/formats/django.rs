//! `django`: `<app>/migrations/NNNN_name.py`, depending on the app's last migration. Each
//! migration is one `RunSQL` with a list of statements (Django sends each on its own, without
//! parameters, so `%` needs no escaping) and the rollback as `reverse_sql` (`RunSQL.noop` when
//! there is nothing to undo; absent when it cannot be undone, so Django refuses to reverse).
//! A migration that must run outside a transaction says `atomic = False`; its steps then set
//! their timeouts for the session and reset them.

use super::{leading, path, sequence};
use crate::NewFile;
use crate::detect::Detected;
use crate::text::{header, line_comment, python_string, reset_session, set_local, set_session};
use crate::units::Migration;

pub fn render(detected: &Detected, migrations: &[Migration]) -> Vec<NewFile> {
    let numbers = sequence(detected, migrations.len(), 4, |n| n.ends_with(".py").then(|| leading(n)).flatten());
    let app = detected.flavour.clone().unwrap_or_else(|| "app".into());
    let mut previous = detected.previous.clone();
    let mut files = Vec::new();
    for (m, number) in migrations.iter().zip(numbers) {
        let name = format!("{number}_{}", m.name);
        let mut out = line_comment("# ", &header(m, "atomic = False"), "");
        out.push_str("from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n");
        if !m.transactional {
            out.push_str("    atomic = False\n\n");
        }
        match &previous {
            Some(p) => {
                out.push_str(&format!("    dependencies = [\n        ({}, {}),\n    ]\n\n", quoted(&app), quoted(p)))
            }
            None => out.push_str("    dependencies = []\n\n"),
        }
        out.push_str("    operations = [\n        migrations.RunSQL(\n            sql=[\n");
        for item in &m.items {
            let statements: Vec<String> = if m.transactional {
                std::iter::once(set_local(item)).chain(item.statements.iter().cloned()).collect()
            } else {
                set_session(item).into_iter().chain(item.statements.iter().cloned()).chain(reset_session()).collect()
            };
            out.push_str(&format!("                # {}\n", item.label));
            for s in statements {
                out.push_str(&format!("                {},\n", python_string(&s)));
            }
        }
        out.push_str("            ],\n");
        match m.down() {
            Err(reasons) => {
                out.push_str(&format!("            # No reverse_sql: cannot be undone ({}).\n", reasons.join("; ")));
            }
            Ok(steps) if steps.is_empty() => out.push_str("            reverse_sql=migrations.RunSQL.noop,\n"),
            Ok(steps) => {
                out.push_str("            reverse_sql=[\n");
                for (item, sql) in steps {
                    out.push_str(&format!(
                        "                # undoes {}\n                {},\n",
                        item.label,
                        python_string(sql)
                    ));
                }
                out.push_str("            ],\n");
            }
        }
        out.push_str("        ),\n    ]\n");
        files.push(NewFile { path: path(detected, &format!("{name}.py")), contents: out });
        previous = Some(name);
    }
    files
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
