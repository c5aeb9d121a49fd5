//! Markdown for text that holds names or SQL written by someone else: the plan's rendering
//! and the agent's messages quote through these, so nothing inside can close its quote or
//! add Markdown (links, images, HTML, headings) in Cutover's voice.

/// A code fence longer than any run of backticks in `text` (names may hold backticks), so
/// nothing inside can close it.
pub fn fence_for(text: &str) -> String {
    "`".repeat(longest_backtick_run(text).max(2) + 1)
}

/// `text` as an inline code span that nothing inside can close (padded when it starts or
/// ends with a backtick, or is empty).
pub fn code_span(text: &str) -> String {
    let ticks = "`".repeat(longest_backtick_run(text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') || text.is_empty() { " " } else { "" };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Prose that may hold names from the schema, as Markdown text: the characters that start
/// code, links, images, HTML, emphasis or tables are escaped, and line breaks (a name may
/// hold them) become spaces, so a name cannot add Markdown.
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '!' | '|' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_outlast_what_they_hold() {
        assert_eq!(fence_for("plain"), "```");
        assert_eq!(fence_for("a ```` b"), "`````");
        assert_eq!(code_span("users"), "`users`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x"), "`` `x ``");
        assert_eq!(text("[x](http://e) <b>\n# h"), "\\[x\\](http://e) \\<b\\> # h");
    }
}
