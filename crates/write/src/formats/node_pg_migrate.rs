//! `node-pg-migrate`: `migrations/<milliseconds>_name.js` exporting `up` and `down` (CommonJS,
//! or ES module syntax when the package says `"type": "module"`). SQL goes through `pgm.sql`
//! in template literals; a migration outside a transaction calls `pgm.noTransaction()` and sets
//! its steps' timeouts for the session, resetting them after. `down` is `false` when a step
//! cannot be undone, which node-pg-migrate reports as irreversible.

use super::{leading, path};
use crate::detect::Detected;
use crate::text::{header, js_string, line_comment, reset_session, set_local, set_session};
use crate::units::Migration;
use crate::{NewFile, Options};

pub fn render(detected: &Detected, migrations: &[Migration], options: &Options) -> Vec<NewFile> {
    let last = detected.existing.iter().filter_map(|n| leading(n)).filter_map(|n| n.parse::<i64>().ok()).max();
    let first = last.map_or(options.now_unix_ms, |l| options.now_unix_ms.max(l + 1));
    let esm = detected.flavour.as_deref() == Some("esm");
    let export = |name: &str| if esm { format!("export const {name} =") } else { format!("exports.{name} =") };
    let mut files = Vec::new();
    for (i, m) in migrations.iter().enumerate() {
        let mut out = line_comment("// ", &header(m, "pgm.noTransaction()"), "");
        out.push_str(&format!("{} (pgm) => {{\n", export("up")));
        if !m.transactional {
            out.push_str("  pgm.noTransaction();\n");
        }
        for item in &m.items {
            out.push_str(&format!("  // {}\n", item.label));
            let statements: Vec<String> = if m.transactional {
                std::iter::once(set_local(item)).chain(item.statements.iter().cloned()).collect()
            } else {
                set_session(item).into_iter().chain(item.statements.iter().cloned()).chain(reset_session()).collect()
            };
            for s in statements {
                out.push_str(&format!("  pgm.sql({});\n", js_string(&s)));
            }
        }
        out.push_str("};\n\n");
        match m.down() {
            Err(reasons) => {
                out.push_str(&format!("// Cannot be undone: {}.\n{} false;\n", reasons.join("; "), export("down")));
            }
            Ok(steps) => {
                out.push_str(&format!("{} (pgm) => {{\n", export("down")));
                if !m.transactional && !steps.is_empty() {
                    out.push_str("  pgm.noTransaction();\n");
                }
                if steps.is_empty() {
                    out.push_str("  // nothing to undo\n");
                }
                for (item, sql) in steps {
                    out.push_str(&format!("  // undoes {}\n  pgm.sql({});\n", item.label, js_string(sql)));
                }
                out.push_str("};\n");
            }
        }
        let stamp = first + i as i64;
        files.push(NewFile { path: path(detected, &format!("{stamp}_{}.js", m.name)), contents: out });
    }
    files
}
