//! Text edits of a file: byte ranges replaced, applied together.

/// Replace `start..end` of a file with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

impl Edit {
    pub fn replace(start: usize, end: usize, text: impl Into<String>) -> Edit {
        Edit { start, end, text: text.into() }
    }

    pub fn insert(at: usize, text: impl Into<String>) -> Edit {
        Edit { start: at, end: at, text: text.into() }
    }

    pub fn delete(start: usize, end: usize) -> Edit {
        Edit { start, end, text: String::new() }
    }
}

/// Applies the edits that do not overlap an earlier one (by position; identical edits once)
/// and returns the new text with the summaries of the edits applied.
pub fn apply(text: &str, mut edits: Vec<(Edit, String)>) -> (String, Vec<String>) {
    edits.sort_by_key(|a| (a.0.start, a.0.end));
    edits.dedup_by(|a, b| a.0 == b.0);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut applied = Vec::new();
    for (edit, summary) in edits {
        let valid = edit.start >= at
            && edit.end >= edit.start
            && edit.end <= text.len()
            && text.is_char_boundary(edit.start)
            && text.is_char_boundary(edit.end);
        // Two insertions at one point are both kept, in order.
        if !valid {
            continue;
        }
        out.push_str(&text[at..edit.start]);
        out.push_str(&edit.text);
        at = edit.end;
        if !applied.contains(&summary) {
            applied.push(summary);
        }
    }
    out.push_str(&text[at..]);
    (out, applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_edits_keep_the_first() {
        let edits = vec![
            (Edit::replace(4, 9, "X"), "b".to_string()),
            (Edit::replace(0, 5, "Y"), "a".to_string()),
            (Edit::insert(11, "!"), "c".to_string()),
        ];
        let (text, applied) = apply("hello world", edits);
        assert_eq!(text, "Y world!");
        assert_eq!(applied, vec!["a", "c"]);
    }
}
