//! The string literals of a source file, by language, with comments skipped.
//!
//! A literal's content keeps its length and offsets in the file, but what is not text of
//! the string is blanked to spaces: escape sequences (`\n` would otherwise glue `n` to the
//! next word) and interpolations (`${x}`, `#{x}`, f-string `{x}`), so a variable's name is
//! never taken for a table's. Adjacent literals joined by `+`, `.`, `\` or nothing
//! (implicit concatenation) form one group, so a query split over lines reads as one.

/// The languages whose strings are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Python,
    Ruby,
    /// `//` and `/* */` comments, `"` and `'` strings, with the variations below.
    CLike {
        backtick: Backtick,
        triple_quotes: bool,
        rust: bool,
        hash_comments: bool,
    },
    /// A whole SQL file.
    Sql,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backtick {
    None,
    /// JavaScript template literals, with `${}` interpolation.
    Template,
    /// Go raw strings.
    Raw,
}

impl Lang {
    /// The language of a path, by extension; `None` for files whose strings are not read.
    pub fn of(path: &str) -> Option<Lang> {
        let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
        let c = |backtick, triple_quotes| Lang::CLike { backtick, triple_quotes, rust: false, hash_comments: false };
        Some(match ext.as_str() {
            "py" | "pyi" => Lang::Python,
            "rb" | "rake" => Lang::Ruby,
            "js" | "jsx" | "mjs" | "cjs" | "ts" | "tsx" | "mts" | "cts" => c(Backtick::Template, false),
            "go" => c(Backtick::Raw, false),
            "java" | "kt" | "kts" | "scala" | "swift" | "groovy" => c(Backtick::None, true),
            "cs" | "c" | "h" | "cc" | "cpp" | "hpp" | "dart" | "ex" | "exs" => c(Backtick::None, false),
            "php" => Lang::CLike { backtick: Backtick::None, triple_quotes: false, rust: false, hash_comments: true },
            "rs" => Lang::CLike { backtick: Backtick::None, triple_quotes: false, rust: true, hash_comments: false },
            "sql" => Lang::Sql,
            _ => return None,
        })
    }
}

/// A string literal: the byte range of its content in the file and the content, blanked
/// where it is not text (see the module's comment). `docstring` marks a Python string that
/// stands alone as a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    pub start: usize,
    pub text: String,
    pub docstring: bool,
}

/// Literals next to each other in the code, read as one string. Offsets map back through
/// the parts.
#[derive(Debug, Clone, Default)]
pub struct Group {
    pub parts: Vec<Literal>,
}

impl Group {
    /// The parts' texts joined by a newline, and for each part the offset of its text in
    /// the joined text.
    pub fn joined(&self) -> (String, Vec<usize>) {
        let mut text = String::new();
        let mut starts = Vec::new();
        for p in &self.parts {
            if !text.is_empty() {
                text.push('\n');
            }
            starts.push(text.len());
            text.push_str(&p.text);
        }
        (text, starts)
    }

    /// The file offset of an offset in [`Group::joined`]'s text.
    pub fn file_offset(&self, starts: &[usize], at: usize) -> usize {
        let i = starts.partition_point(|&s| s <= at).saturating_sub(1);
        self.parts.get(i).map(|p| p.start + (at - starts[i]).min(p.text.len())).unwrap_or(0)
    }
}

/// The groups of string literals of `text` in `lang`. A whole SQL file is one literal.
pub fn groups(text: &str, lang: Lang) -> Vec<Group> {
    if lang == Lang::Sql {
        return vec![Group { parts: vec![Literal { start: 0, text: text.to_string(), docstring: false }] }];
    }
    let literals = literals(text, lang);
    let mut out: Vec<Group> = Vec::new();
    let mut last_end = usize::MAX;
    for (lit, end) in literals {
        let joins = last_end != usize::MAX
            && text[last_end..lit.0].chars().all(|c| c.is_whitespace() || matches!(c, '+' | '.' | '\\' | '&'))
            && !text[last_end..lit.0].contains("\n\n");
        if joins && let Some(g) = out.last_mut() {
            g.parts.push(lit.1);
        } else {
            out.push(Group { parts: vec![lit.1] });
        }
        last_end = end;
    }
    out
}

/// `text` with its string literals (quotes included) and comments blanked to spaces,
/// keeping offsets: what is left is code.
pub fn code_only(text: &str, lang: Lang) -> String {
    let mut out = text.as_bytes().to_vec();
    for ((open, _), after) in literals(text, lang) {
        for b in &mut out[open..after.min(text.len())] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    // What is left of a comment marker starts a comment (the literals are gone).
    let marker: &[u8] = match lang {
        Lang::Python | Lang::Ruby => b"#",
        _ => b"//",
    };
    let mut i = 0;
    while i < out.len() {
        if out[i..].starts_with(marker) {
            while i < out.len() && out[i] != b'\n' {
                out[i] = b' ';
                i += 1;
            }
        }
        i += 1;
    }
    // Blanking bytes of multi-byte characters leaves invalid UTF-8 only inside literals and
    // comments, all blanked whole; anything else is kept.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Each literal with the offset where its opening (prefix and quotes) starts and the offset
/// just after its closing quote, as ((open, literal), close).
fn literals(text: &str, lang: Lang) -> Vec<((usize, Literal), usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let (hash, slashes, backtick, triple, rust) = match lang {
        Lang::Python => (true, false, Backtick::None, true, false),
        Lang::Ruby => (true, false, Backtick::None, false, false),
        Lang::CLike { backtick, triple_quotes, rust, hash_comments } => {
            (hash_comments, true, backtick, triple_quotes, rust)
        }
        Lang::Sql => return out,
    };
    // Whether only whitespace precedes on this line and the previous code line ends with
    // `:` or nothing: a Python docstring.
    let docstring_at = |at: usize| -> bool {
        let line_start = text[..at].rfind('\n').map(|p| p + 1).unwrap_or(0);
        if !text[line_start..at].trim().is_empty() {
            return false;
        }
        let before = text[..line_start].trim_end();
        before.is_empty() || before.ends_with(':')
    };
    while i < b.len() {
        let c = b[i];
        if hash && c == b'#' && !(lang == Lang::Ruby && b.get(i + 1) == Some(&b'{')) {
            i = line_end(b, i);
            continue;
        }
        if lang == Lang::Ruby && c == b'=' && text[i..].starts_with("=begin") && (i == 0 || b[i - 1] == b'\n') {
            i = text[i..].find("\n=end").map(|p| i + p + 5).unwrap_or(b.len());
            continue;
        }
        if slashes && c == b'/' && b.get(i + 1) == Some(&b'/') {
            i = line_end(b, i);
            continue;
        }
        if slashes && c == b'/' && b.get(i + 1) == Some(&b'*') {
            i = text[i + 2..].find("*/").map(|p| i + 2 + p + 2).unwrap_or(b.len());
            continue;
        }
        // Ruby heredocs: <<~SQL, <<-SQL, <<SQL, with optional quotes around the tag.
        if lang == Lang::Ruby
            && text[i..].starts_with("<<")
            && let Some((body_start, body_end, after)) = heredoc(text, i)
        {
            let raw = text[i..].starts_with("<<~'") || text[i..].starts_with("<<-'") || text[i..].starts_with("<<'");
            let mut body = blank(&text[body_start..body_end], lang, raw);
            if !raw {
                body = blank_interpolations(&body, lang, false);
            }
            let lit = Literal { start: body_start, text: body, docstring: false };
            out.push(((i, lit), after));
            i = after;
            continue;
        }
        if rust && c == b'r' && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#')) && !ident_byte_before(b, i)
        {
            let hashes = b[i + 1..].iter().take_while(|&&x| x == b'#').count();
            if b.get(i + 1 + hashes) == Some(&b'"') {
                let start = i + 2 + hashes;
                let close = format!("\"{}", "#".repeat(hashes));
                let end = text[start..].find(&close).map(|p| start + p).unwrap_or(b.len());
                let lit = Literal { start, text: text[start..end].to_string(), docstring: false };
                let after = (end + close.len()).min(b.len());
                out.push(((i, lit), after));
                i = after;
                continue;
            }
        }
        if rust && c == b'\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a): only the former is
            // skipped as a literal.
            if b.get(i + 1) == Some(&b'\\') {
                i = text[i + 2..].find('\'').map(|p| i + 2 + p + 1).unwrap_or(b.len());
            } else {
                let next = text[i + 1..].chars().next().map(char::len_utf8).unwrap_or(0);
                i = if b.get(i + 1 + next) == Some(&b'\'') { i + 2 + next } else { i + 1 };
            }
            continue;
        }
        let quote = match c {
            b'"' => Some(b'"'),
            b'\'' => Some(b'\''),
            b'`' if backtick != Backtick::None => Some(b'`'),
            _ => None,
        };
        let Some(q) = quote else {
            i += text[i..].chars().next().map(char::len_utf8).unwrap_or(1);
            continue;
        };
        // String prefixes: Python r/b/f/u, C# @, …: raw when r (or @, or a Go backtick).
        let prefix: String = text[..i].chars().rev().take_while(|c| c.is_ascii_alphabetic() || *c == '@').collect();
        let prefix = prefix.to_ascii_lowercase();
        let raw = (lang == Lang::Python && prefix.contains('r'))
            || prefix.contains('@')
            || (q == b'`' && backtick == Backtick::Raw);
        let interpolating = (lang == Lang::Python && prefix.contains('f'))
            || (lang == Lang::Ruby && q == b'"')
            || (q == b'`' && backtick == Backtick::Template);
        let tripled = triple && b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q);
        let open = if tripled { 3 } else { 1 };
        let start = i + open;
        let mut j = start;
        let end = loop {
            if j >= b.len() {
                break b.len();
            }
            if b[j] == b'\\' && !raw {
                j += 2;
                continue;
            }
            if b[j] == q && (!tripled || (b.get(j + 1) == Some(&q) && b.get(j + 2) == Some(&q))) {
                // Verbatim strings double their quote.
                if prefix.contains('@') && b.get(j + 1) == Some(&q) {
                    j += 2;
                    continue;
                }
                break j;
            }
            // A one-line string ends at the line's end in languages without multi-line ones.
            if b[j] == b'\n' && !tripled && q != b'`' && lang != Lang::Ruby && !rust {
                break j;
            }
            j += 1;
        };
        let end = end.min(b.len());
        let content = &text[start..end];
        let mut t = blank(content, lang, raw);
        if interpolating {
            t = blank_interpolations(&t, lang, q == b'`');
        }
        let docstring = lang == Lang::Python && tripled && docstring_at(i - prefix.len());
        let after = (end + open).min(b.len());
        out.push(((i - prefix.len(), Literal { start, text: t, docstring }), after));
        i = after;
    }
    out
}

fn ident_byte_before(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

fn line_end(b: &[u8], i: usize) -> usize {
    b[i..].iter().position(|&x| x == b'\n').map(|p| i + p).unwrap_or(b.len())
}

/// A heredoc starting at `at` (`<<`): (body start, body end, offset after the terminator).
fn heredoc(text: &str, at: usize) -> Option<(usize, usize, usize)> {
    let rest = &text[at + 2..];
    let flag = rest.starts_with('~') || rest.starts_with('-');
    let rest = if flag { &rest[1..] } else { rest };
    let (quoted, rest) = match rest.chars().next() {
        Some(q @ ('\'' | '"')) => (Some(q), &rest[1..]),
        _ => (None, rest),
    };
    let tag: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    if tag.is_empty() || !tag.chars().next().is_some_and(|c| c.is_ascii_uppercase() || c == '_') {
        return None;
    }
    if let Some(q) = quoted
        && !rest[tag.len()..].starts_with(q)
    {
        return None;
    }
    let body_start = text[at..].find('\n').map(|p| at + p + 1)?;
    let mut pos = body_start;
    while pos < text.len() {
        let end = text[pos..].find('\n').map(|p| pos + p).unwrap_or(text.len());
        if text[pos..end].trim() == tag {
            return Some((body_start, pos, end));
        }
        pos = end + 1;
    }
    Some((body_start, text.len(), text.len()))
}

/// Escape sequences blanked to spaces (unless raw), keeping the length.
fn blank(content: &str, lang: Lang, raw: bool) -> String {
    if raw || lang == Lang::Sql {
        return content.to_string();
    }
    let mut out = String::with_capacity(content.len());
    let mut chars = content.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push(' ');
            if let Some(n) = chars.next() {
                out.extend(std::iter::repeat_n(' ', n.len_utf8()));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Interpolations (`${…}`, `#{…}`, Python's `{…}`) blanked to spaces, keeping the length.
fn blank_interpolations(content: &str, lang: Lang, template: bool) -> String {
    let chars: Vec<char> = content.chars().collect();
    let mut out = String::with_capacity(content.len());
    let mut i = 0;
    while i < chars.len() {
        let next = chars.get(i + 1).copied();
        if lang == Lang::Python && chars[i] == '{' && next == Some('{') {
            out.push_str("{{");
            i += 2;
            continue;
        }
        let opens = match lang {
            Lang::Python => chars[i] == '{',
            Lang::Ruby => chars[i] == '#' && next == Some('{'),
            _ => template && chars[i] == '$' && next == Some('{'),
        };
        if !opens {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let mut depth = 0usize;
        while i < chars.len() {
            let c = chars[i];
            out.extend(std::iter::repeat_n(' ', c.len_utf8()));
            i += 1;
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Line starts of a file, to turn byte offsets into 1-based lines and columns.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = text.get(start..offset).map(|s| s.chars().count()).unwrap_or(0) + 1;
        (line, column)
    }

    pub fn line_text<'a>(&self, text: &'a str, line: usize) -> &'a str {
        let start = self.starts.get(line - 1).copied().unwrap_or(text.len());
        let end = self.starts.get(line).map(|e| e - 1).unwrap_or(text.len());
        text.get(start..end).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(source: &str, path: &str) -> Vec<String> {
        groups(source, Lang::of(path).unwrap()).iter().map(|g| g.joined().0).collect()
    }

    #[test]
    fn comments_are_not_strings_and_escapes_are_blanked() {
        let py = "# \"SELECT notes FROM orders\"\nq = \"SELECT *\\nFROM orders\"  # 'x'\n";
        assert_eq!(texts(py, "a.py"), vec!["SELECT *  FROM orders"]);
        let js = "// 'a'\nconst q = `SELECT ${orders} FROM t` + /* 'b' */ 'x';\n";
        assert_eq!(texts(js, "a.ts"), vec!["SELECT           FROM t", "x"]);
    }

    #[test]
    fn adjacent_literals_form_one_group() {
        let py = "cur.execute(\n    \"SELECT id \"\n    \"FROM orders \"\n    f\"WHERE id = {oid}\"\n)\n";
        assert_eq!(texts(py, "a.py"), vec!["SELECT id \nFROM orders \nWHERE id =      "]);
    }

    #[test]
    fn rust_lifetimes_and_raw_strings() {
        let rs = "fn f<'a>(x: &'a str) -> &'a str { let c = '\"'; sql(r#\"SELECT \"notes\" FROM orders\"#) }";
        assert_eq!(texts(rs, "a.rs"), vec!["SELECT \"notes\" FROM orders"]);
    }

    #[test]
    fn ruby_heredocs_and_interpolation() {
        let rb = "# \"x\"\nsql = <<~SQL\n  SELECT notes FROM orders WHERE id = #{id}\nSQL\nputs 'done'\n";
        assert_eq!(texts(rb, "a.rb"), vec!["  SELECT notes FROM orders WHERE id =      \n", "done"]);
    }

    #[test]
    fn code_only_blanks_strings_and_comments_in_place() {
        let py = "x = f(\"a#b\")  # c 'd'\ny = '€'\n";
        assert_eq!(code_only(py, Lang::Python), "x = f(     )         \ny =      \n");
    }

    #[test]
    fn python_docstrings_are_marked() {
        let py = "def f():\n    \"\"\"Select the notes from orders.\"\"\"\n    return \"\"\"SELECT 1\"\"\"\n";
        let g = groups(py, Lang::Python);
        assert!(g[0].parts[0].docstring);
        assert!(!g[1].parts[0].docstring);
    }
}
