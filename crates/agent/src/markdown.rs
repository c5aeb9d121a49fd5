//! Quoting for what Cutover writes to Linear. Everything it echoes (PostgreSQL's messages,
//! names from a request, paths) was written by someone else; quoted here, it can neither
//! end the quote it sits in nor add Markdown (links, images, headings, mentions) in
//! Cutover's voice.

/// The most characters of someone else's text one message quotes.
pub const MAX_QUOTED: usize = 2_000;

/// `text` as a fenced code block: the fence is longer than any run of backticks inside,
/// so nothing in `text` can close it. Long text is cut at [`MAX_QUOTED`] characters.
pub fn fenced(text: &str, info: &str) -> String {
    let text = clip(text, MAX_QUOTED);
    let fence = cutover_plan::markdown::fence_for(&text);
    format!("{fence}{info}\n{text}\n{fence}")
}

/// `text` as inline code, on one line: delimited by more backticks than any run inside
/// (and padded when it starts or ends with one), newlines shown as `␤`.
pub fn inline_code(text: &str) -> String {
    cutover_plan::markdown::code_span(&clip(text, 200).replace(['\n', '\r'], "␤"))
}

/// `text` cut to `max` characters, saying how much was left out.
pub fn clip(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max).collect();
    format!("{kept}… ({} more characters)", count - max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fence_outlasts_every_backtick_run_inside() {
        assert_eq!(fenced("plain", "text"), "```text\nplain\n```");
        assert_eq!(fenced("a ```` b\n```\n# heading", ""), "`````\na ```` b\n```\n# heading\n`````");
    }

    #[test]
    fn inline_code_keeps_to_one_line_and_its_own_quotes() {
        assert_eq!(inline_code("users"), "`users`");
        assert_eq!(inline_code("a`b"), "``a`b``");
        assert_eq!(inline_code("`x"), "`` `x ``");
        assert_eq!(inline_code("x\n# y"), "`x␤# y`");
    }

    #[test]
    fn long_text_is_cut() {
        assert_eq!(clip("abcdef", 4), "abcd… (2 more characters)");
        assert_eq!(
            fenced(&"x".repeat(MAX_QUOTED + 5), "").lines().nth(1).unwrap().len(),
            MAX_QUOTED + "… (5 more characters)".len()
        );
    }
}
