//! The five renderings of a report: compiler-style text, JSON (product.md), SARIF 2.1.0 for
//! code scanning, GitHub workflow annotations, and Markdown for a pull-request comment.

use std::fmt::Write;

use serde_json::json;

use crate::{Diagnostic, Report, SourceFile};

/// `error[rule]: message`, the location, the source line with a caret under the span, help.
pub fn human(report: &Report, files: &[SourceFile]) -> String {
    let mut s = String::new();
    // Each file's lines, split once (finding a line per diagnostic by scanning would make the
    // output quadratic in the file's size).
    let lines: std::collections::HashMap<&str, Vec<&str>> =
        files.iter().map(|f| (f.path.as_str(), f.text.lines().collect())).collect();
    for d in &report.diagnostics {
        writeln!(s, "{}[{}]: {}", d.severity.as_str(), d.rule, d.message).unwrap();
        writeln!(s, "  --> {}:{}:{}", d.file, d.line, d.column).unwrap();
        if let Some(line) = lines.get(d.file.as_str()).and_then(|l| l.get(d.line - 1)).copied() {
            let width = d.line.to_string().len();
            let pad = " ".repeat(width);
            let last = if d.end_line == d.line { d.end_column } else { line.chars().count() + 1 };
            let carets = last.saturating_sub(d.column).max(1);
            writeln!(s, "{pad} |").unwrap();
            writeln!(s, "{} | {}", d.line, line.trim_end()).unwrap();
            writeln!(s, "{pad} | {}{}", " ".repeat(d.column - 1), "^".repeat(carets)).unwrap();
            writeln!(s, "{pad} = help: {}", d.help).unwrap();
        } else {
            writeln!(s, "  = help: {}", d.help).unwrap();
        }
        s.push('\n');
    }
    let (errors, warnings) = (report.errors(), report.warnings());
    writeln!(
        s,
        "{} file{} checked: {errors} error{}, {warnings} warning{}",
        report.files,
        if report.files == 1 { "" } else { "s" },
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" }
    )
    .unwrap();
    s
}

pub fn json(report: &Report) -> String {
    let value = json!({
        "diagnostics": report.diagnostics,
        "summary": { "files": report.files, "errors": report.errors(), "warnings": report.warnings() },
    });
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

pub fn sarif(report: &Report) -> String {
    let rules: Vec<_> = crate::docs::rules()
        .into_iter()
        .map(|info| {
            json!({
                "id": info.code,
                "shortDescription": { "text": info.summary },
                "fullDescription": { "text": info.docs.what },
                "help": { "text": info.help },
                "helpUri": format!("https://github.com/cutover-dev/cutover/blob/main/docs/rules/{}.md", info.code),
                "defaultConfiguration": { "level": info.severity.as_str() },
            })
        })
        .collect();
    let results: Vec<_> = report.diagnostics.iter().map(sarif_result).collect();
    let value = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "cutover",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/cutover-dev/cutover",
                "rules": rules,
            }},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

fn sarif_result(d: &Diagnostic) -> serde_json::Value {
    json!({
        "ruleId": d.rule,
        "level": d.severity.as_str(),
        "message": { "text": format!("{} {}", d.message, d.help) },
        "locations": [{ "physicalLocation": {
            "artifactLocation": { "uri": d.file },
            "region": { "startLine": d.line, "startColumn": d.column, "endLine": d.end_line, "endColumn": d.end_column },
        }}],
    })
}

/// `::error file=…,line=…::message` lines for GitHub Actions.
pub fn github(report: &Report) -> String {
    let mut s = String::new();
    for d in &report.diagnostics {
        writeln!(
            s,
            "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            d.severity.as_str(),
            property(&d.file),
            d.line,
            d.column,
            d.end_line,
            d.end_column,
            property(&d.rule),
            data(&format!("{} {}", d.message, d.help))
        )
        .unwrap();
    }
    s
}

/// GitHub's escaping of a command's message.
fn data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// GitHub's escaping of a command property.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The hidden first line of [`markdown`]: the GitHub Action finds its own comment by it and
/// updates that comment in place instead of adding one per push.
pub const MARKDOWN_MARKER: &str = "<!-- cutover-lint -->";

/// At most this many diagnostics are written out in a comment (GitHub caps a comment at
/// 65,536 characters); the rest are counted, and all of them are in the SARIF upload.
const MARKDOWN_MAX_DIAGNOSTICS: usize = 50;

/// Longest source line quoted in a comment, in characters.
const MARKDOWN_MAX_LINE: usize = 200;

/// A pull-request comment: the marker, a summary line, then per file its diagnostics with
/// the source line, the message and the help. Paths, source and messages are quoted through
/// `cutover_plan::markdown`, so a migration's content cannot add Markdown or HTML.
pub fn markdown(report: &Report, files: &[SourceFile]) -> String {
    use cutover_plan::markdown::{code_span, fence_for, text};
    let mut s = String::new();
    writeln!(s, "{MARKDOWN_MARKER}").unwrap();
    let (errors, warnings) = (report.errors(), report.warnings());
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    writeln!(
        s,
        "### Cutover lint: {}, {} in {} checked",
        plural(errors, "error"),
        plural(warnings, "warning"),
        plural(report.files, "file")
    )
    .unwrap();
    if report.diagnostics.is_empty() {
        writeln!(s, "\nNo unsafe statement found.").unwrap();
        return s;
    }
    let lines: std::collections::HashMap<&str, Vec<&str>> =
        files.iter().map(|f| (f.path.as_str(), f.text.lines().collect())).collect();
    let mut current: Option<&str> = None;
    for d in report.diagnostics.iter().take(MARKDOWN_MAX_DIAGNOSTICS) {
        if current != Some(d.file.as_str()) {
            writeln!(s, "\n#### {}\n", code_span(&d.file)).unwrap();
            current = Some(d.file.as_str());
        }
        let link = format!("https://github.com/cutover-dev/cutover/blob/main/docs/rules/{}.md", d.rule);
        let rule = if d.rule.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            format!("[{}]({link})", code_span(&d.rule))
        } else {
            code_span(&d.rule)
        };
        writeln!(s, "- **{}** {rule} at line {}: {}", d.severity.as_str(), d.line, text(&d.message)).unwrap();
        if let Some(line) = lines.get(d.file.as_str()).and_then(|l| l.get(d.line - 1)) {
            let line: String = line.trim_end().chars().take(MARKDOWN_MAX_LINE).collect();
            let fence = fence_for(&line);
            writeln!(s, "\n  {fence}sql\n  {line}\n  {fence}\n").unwrap();
        }
        writeln!(s, "  {}", text(&d.help)).unwrap();
    }
    let rest = report.diagnostics.len().saturating_sub(MARKDOWN_MAX_DIAGNOSTICS);
    if rest > 0 {
        let noun = if rest == 1 { "diagnostic" } else { "diagnostics" };
        writeln!(s, "\n…and {rest} more {noun} (all of them are in the code scanning results).").unwrap();
    }
    s
}
