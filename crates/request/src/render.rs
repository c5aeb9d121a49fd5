//! The one Markdown rendering of a request and its parts, for agent replies and snapshots.

use crate::{ChangeRequest, Downtime, MigrationType, Problem, ProblemKind, ProposedChange, ValidationItem};
use std::fmt;

impl fmt::Display for MigrationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Downtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Downtime::ZeroDowntime => f.write_str("zero-downtime"),
            Downtime::Window { text, seconds: Some(seconds) } => {
                write!(f, "a window of up to {} (“{text}”)", duration(*seconds))
            }
            Downtime::Window { text, seconds: None } => write!(f, "a window (“{text}”)"),
        }
    }
}

/// "90 s", "5 min", "150 min", "2 h".
fn duration(seconds: u32) -> String {
    if seconds < 60 || !seconds.is_multiple_of(60) {
        format!("{seconds} s")
    } else if seconds.is_multiple_of(3600) {
        format!("{} h", seconds / 3600)
    } else {
        format!("{} min", seconds / 60)
    }
}

impl fmt::Display for ProposedChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProposedChange::SchemaPath(path) => write!(f, "the desired schema in `{path}`"),
            ProposedChange::Sql(sql) => {
                let lines = sql.text.lines().filter(|l| !l.trim().is_empty()).count();
                let plural = if lines == 1 { "" } else { "s" };
                match sql.pieces.len() {
                    1 => write!(f, "DDL in the issue ({lines} line{plural} at line {})", sql.first_line()),
                    n => write!(
                        f,
                        "DDL in the issue ({lines} line{plural} in {n} blocks, from line {})",
                        sql.first_line()
                    ),
                }
            }
        }
    }
}

impl fmt::Display for ChangeRequest {
    /// A few Markdown list items: objective (its first paragraph), affected services, proposed
    /// change, migration type, downtime and validation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "- **Objective:** {}", first_paragraph(&self.objective, 200))?;
        if !self.affected_services.is_empty() {
            let shown: Vec<String> = self.affected_services.iter().take(5).map(|s| first_paragraph(s, 80)).collect();
            let more = match self.affected_services.len() {
                n if n > 5 => format!(" and {} more", n - 5),
                _ => String::new(),
            };
            writeln!(f, "- **Affected services:** {}{more}", shown.join("; "))?;
        }
        writeln!(f, "- **Proposed schema changes:** {}", self.proposed)?;
        let types: Vec<&str> = self.migration_types.iter().map(|t| t.as_str()).collect();
        writeln!(f, "- **Migration type:** {}", types.join(", "))?;
        writeln!(f, "- **Downtime:** {}", self.downtime)?;
        write!(f, "- **Validation:** {}", validation_summary(&self.validation))
    }
}

fn validation_summary(items: &[ValidationItem]) -> String {
    if items.is_empty() {
        return "none given".into();
    }
    let count = |pred: fn(&ValidationItem) -> bool| items.iter().filter(|i| pred(i)).count();
    let queries = count(|i| matches!(i, ValidationItem::Query(_)));
    let row_counts = count(|i| matches!(i, ValidationItem::RowCount(_)));
    let notes = count(|i| matches!(i, ValidationItem::Note(_)));
    let budgets: Vec<String> = items
        .iter()
        .filter_map(|i| match i {
            ValidationItem::Latency { budget_ms: Some(ms), .. } => Some(format!("{ms} ms")),
            _ => None,
        })
        .collect();
    let mut parts = Vec::new();
    let mut add = |n: usize, one: &str, many: &str| match n {
        0 => {}
        1 => parts.push(format!("1 {one}")),
        n => parts.push(format!("{n} {many}")),
    };
    add(queries, "query", "queries");
    add(row_counts, "row-count check", "row-count checks");
    add(count(|i| matches!(i, ValidationItem::Latency { .. })), "latency check", "latency checks");
    add(notes, "other check", "other checks");
    let mut summary = parts.join(", ");
    if !budgets.is_empty() {
        let noun = if budgets.len() == 1 { "budget" } else { "budgets" };
        summary.push_str(&format!(" (latency {noun}: {})", budgets.join(", ")));
    }
    summary
}

/// The first paragraph on one line, cut at `max` characters.
fn first_paragraph(text: &str, max: usize) -> String {
    let paragraph: Vec<&str> = text.lines().map(str::trim).take_while(|l| !l.is_empty()).collect();
    let one_line = paragraph.join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(max).collect();
    cut.push('…');
    cut
}

impl fmt::Display for Problem {
    /// One line for the elicitation: "**Objective** is missing: what should change, and why."
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let title = self.field.title();
        match &self.kind {
            ProblemKind::Missing => write!(f, "**{title}** is missing: {}.", crate::elicit::hint(self.field)),
            ProblemKind::Contradictory(text) | ProblemKind::Invalid(text) => {
                let end = if text.ends_with(['.', '?', '!']) { "" } else { "." };
                write!(f, "**{title}**: {text}{end}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        let cases = [(45, "45 s"), (90, "90 s"), (300, "5 min"), (5400, "90 min"), (7200, "2 h"), (9000, "150 min")];
        for (seconds, text) in cases {
            assert_eq!(duration(seconds), text);
        }
    }
}
