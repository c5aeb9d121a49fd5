//! The rules' documentation, generated into docs/rules/ (a test keeps the files current).

use std::fmt::Write;

use crate::rules::{ALL, PARSE_ERROR, RuleInfo};

/// Every documented rule: the parse error first, then [`ALL`].
pub fn rules() -> Vec<&'static RuleInfo> {
    std::iter::once(PARSE_ERROR).chain(ALL.iter().map(|r| r.info())).collect()
}

/// docs/rules/<code>.md
pub fn page(info: &RuleInfo) -> String {
    let mut s = String::new();
    writeln!(s, "# {}\n", info.code).unwrap();
    let opt_in = if crate::rules::OPT_IN.contains(&info.code) {
        " · off by default (opt in with `enabled = true`)"
    } else {
        ""
    };
    let family = if crate::rules::DESIGN.contains(&info.code) { " · design" } else { "" };
    writeln!(s, "Severity: **{}**{opt_in}{family} · {}\n", info.severity.as_str(), info.summary).unwrap();
    writeln!(s, "## What it does\n\n{}\n", info.docs.what).unwrap();
    writeln!(s, "## Why it is risky\n\n{}\n", info.docs.why).unwrap();
    writeln!(s, "## Example\n\n```sql\n{}\n```\n", info.docs.example).unwrap();
    writeln!(s, "## Use instead\n\n```sql\n{}\n```\n", info.docs.instead).unwrap();
    writeln!(
        s,
        "Suppress one statement with `-- cutover:ignore {}` on the line above it, or configure the rule in `cutover.toml`:\n\n```toml\n[lint.rules.{}]\nseverity = \"warning\"   # or \"error\"; enabled = false turns it off\n```",
        info.code, info.code
    )
    .unwrap();
    s
}

/// docs/rules/README.md: the index.
pub fn index() -> String {
    let mut s = String::from(
        "# Lint rules\n\nGenerated from the rules in `crates/lint/src/rules/` (one file each); do not edit by hand. Rules marked (design) are the design family: advice on the schema a migration makes rather than on how safely it runs (`rules::DESIGN`).\n\n| rule | severity | what it catches |\n| --- | --- | --- |\n",
    );
    for info in rules() {
        let opt_in = if crate::rules::OPT_IN.contains(&info.code) { " (opt-in)" } else { "" };
        let opt_in =
            if crate::rules::DESIGN.contains(&info.code) { format!("{opt_in} (design)") } else { opt_in.to_string() };
        writeln!(s, "| [`{0}`]({0}.md) | {1}{opt_in} | {2} |", info.code, info.severity.as_str(), info.summary)
            .unwrap();
    }
    s
}
