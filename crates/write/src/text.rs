//! Text shared by the formats: comments, the SQL of a migration, string literals of the host
//! languages.

use crate::units::{Item, Migration};

/// `-- ` before every line (`--` alone for an empty one).
pub fn sql_comment(lines: &[String]) -> String {
    let mut out = String::new();
    for l in lines {
        if l.is_empty() {
            out.push_str("--\n");
        } else {
            out.push_str("-- ");
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// A prefix (`# `, `// `) before every line.
pub fn line_comment(prefix: &str, lines: &[String], indent: &str) -> String {
    let mut out = String::new();
    for l in lines {
        out.push_str(indent);
        if l.is_empty() {
            out.push_str(prefix.trim_end());
        } else {
            out.push_str(prefix);
            out.push_str(l);
        }
        out.push('\n');
    }
    out
}

/// What a migration says about itself: its phase and each step's reason.
pub fn header(m: &Migration, tool: &str) -> Vec<String> {
    let mut lines = vec![format!("{}: the {} phase of a Cutover plan, written by `cutover write`.", m.name, m.phase)];
    if !m.transactional && m.outside.iter().all(|o| *o) {
        lines.push(format!("Runs outside a transaction ({tool}): a statement here cannot run inside one."));
    }
    for item in &m.items {
        lines.push(String::new());
        lines.push(format!("{}: {}", item.label, item.why));
        lines.extend(item.doc.iter().cloned());
    }
    lines
}

/// The timeouts of an item inside the migration's transaction.
pub fn set_local(item: &Item) -> String {
    format!("{};", cutover_sql::apply::set_timeouts(item.lock_timeout_ms, item.statement_timeout_ms, true))
}

/// The timeouts of an item sent outside a transaction, one statement each.
pub fn set_session(item: &Item) -> Vec<String> {
    cutover_sql::apply::set_timeouts(item.lock_timeout_ms, item.statement_timeout_ms, false)
        .split("; ")
        .map(|s| format!("{s};"))
        .collect()
}

pub fn reset_session() -> Vec<String> {
    cutover_sql::apply::RESET_TIMEOUTS.split("; ").map(|s| format!("{s};")).collect()
}

/// The SQL of a migration's up direction as one script: a transactional migration sets each
/// step's timeouts with `SET LOCAL` (inside the tool's transaction, or the explicit
/// `BEGIN`/`COMMIT` when `explicit_transaction`); a migration outside a transaction holds one
/// statement and nothing else, because the tool sends the script as one query string.
pub fn sql_up(m: &Migration, explicit_transaction: bool) -> String {
    let mut out = String::new();
    if m.transactional {
        if explicit_transaction {
            out.push_str("BEGIN;\n\n");
        }
        for (i, item) in m.items.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&format!("-- {}\n", item.label));
            out.push_str(&set_local(item));
            out.push('\n');
            for s in &item.statements {
                out.push_str(s);
                out.push('\n');
            }
        }
        if explicit_transaction {
            out.push_str("\nCOMMIT;\n");
        }
    } else {
        for item in &m.items {
            out.push_str(&format!(
                "-- {} (lock_timeout {}ms, statement_timeout {}ms: set them for the session that runs this file)\n",
                item.label, item.lock_timeout_ms, item.statement_timeout_ms
            ));
            for s in &item.statements {
                out.push_str(s);
                out.push('\n');
            }
        }
    }
    out
}

/// The SQL of a migration's down direction: the rollbacks newest first, or a statement that
/// fails saying why it cannot be undone.
pub fn sql_down(m: &Migration, explicit_transaction: bool) -> String {
    match m.down() {
        Ok(steps) if steps.is_empty() => "-- Nothing to undo.\n".into(),
        Ok(steps) => {
            let mut out = String::new();
            let tx = explicit_transaction && m.transactional;
            if tx {
                out.push_str("BEGIN;\n");
            }
            for (item, sql) in steps {
                out.push_str(&format!("-- undoes {}\n{sql}\n", item.label));
            }
            if tx {
                out.push_str("COMMIT;\n");
            }
            out
        }
        Err(reasons) => irreversible_sql(&reasons),
    }
}

/// A statement that fails with the reasons a migration cannot be undone.
pub fn irreversible_sql(reasons: &[String]) -> String {
    let message = format!("cannot be undone: {}", reasons.join("; "));
    let body =
        format!("\nBEGIN\n  RAISE EXCEPTION {};\nEND\n", cutover_sql::quote::literal(&message).replace('%', "%%"));
    let tag = cutover_sql::ddl::dollar_tag(&body);
    format!(
        "{}DO {tag}{body}{tag};\n",
        sql_comment(&reasons.iter().map(|r| format!("Irreversible: {r}")).collect::<Vec<_>>())
    )
}

/// A Python string literal (triple-quoted, escaped) holding `text`.
pub fn python_string(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"\"\"{escaped}\"\"\"")
}

/// A JavaScript template literal holding `text`.
pub fn js_string(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('`', "\\`").replace("${", "\\${");
    format!("`{escaped}`")
}

/// A Ruby single-quoted heredoc (no interpolation, no escapes) holding `text`, indented:
/// the opener to put after `execute ` and the body lines including the terminator.
pub fn ruby_heredoc(text: &str, indent: &str) -> (String, String) {
    let mut tag = "SQL".to_string();
    let mut n = 0;
    while text.lines().any(|l| l.trim() == tag) {
        n += 1;
        tag = format!("SQL{n}");
    }
    let mut body = String::new();
    for line in text.lines() {
        if line.is_empty() {
            body.push('\n');
        } else {
            body.push_str(&format!("{indent}  {line}\n"));
        }
    }
    body.push_str(&format!("{indent}{tag}\n"));
    (format!("<<~'{tag}'"), body)
}
