//! "Migration type": one or more of additive, destructive, backfill, refactor, rollback, as
//! a list, comma- or plus-separated words, or ticked checkboxes.

use crate::markdown::{self, Block};
use crate::{MigrationType, ProblemKind};

/// Every word read as a migration type. Adding a synonym is adding a line.
const WORDS: &[(&str, MigrationType)] = &[
    ("additive", MigrationType::Additive),
    ("addition", MigrationType::Additive),
    ("expand", MigrationType::Additive),
    ("destructive", MigrationType::Destructive),
    ("contract", MigrationType::Destructive),
    ("backfill", MigrationType::Backfill),
    ("refactor", MigrationType::Refactor),
    ("rollback", MigrationType::Rollback),
    ("revert", MigrationType::Rollback),
];

/// Words that join types without naming one ("additive + backfill", "additive, then a backfill").
const FILLER: &[&str] =
    &["and", "or", "with", "plus", "then", "also", "a", "an", "the", "only", "migration", "change", "schema", "data"];

pub(crate) fn parse(blocks: &[Block]) -> Result<Vec<MigrationType>, ProblemKind> {
    let items = markdown::items(blocks);
    // With checkboxes, only the ticked ones count: the rest is the template's hint text.
    let has_boxes = items.iter().any(|item| item.checked.is_some());
    let mut types = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut said_something = false;
    for item in items.iter().filter(|item| if has_boxes { item.checked == Some(true) } else { true }) {
        let text = meaningful_part(&item.text);
        if markdown::is_placeholder(&text) {
            continue;
        }
        said_something = true;
        // Each part of a list must name a type; the other words of a part that does are its
        // explanation ("then a backfill of existing rows"), unless they look like a misspelt
        // type.
        for part in text.split([',', ';', '+', '&', '/', '|']) {
            let (found, strangers) = read_part(part);
            let unnamed = found.is_empty();
            types.extend(found);
            for word in strangers {
                if (unnamed || closest(&word).is_some()) && !unknown.contains(&word) {
                    unknown.push(word);
                }
            }
        }
    }
    let accepted = MigrationType::ALL.map(MigrationType::as_str).join(", ");
    if !unknown.is_empty() {
        let listed: Vec<String> = unknown
            .iter()
            .take(5)
            .map(|w| match closest(w) {
                Some(t) => format!("`{w}` (`{}`?)", t.as_str()),
                None => format!("`{w}`"),
            })
            .collect();
        let more = if unknown.len() > 5 { " and more" } else { "" };
        let what = if unknown.len() == 1 { "is not a migration type" } else { "are not migration types" };
        return Err(ProblemKind::Invalid(format!(
            "{}{more} {what} I know; use one or more of: {accepted}",
            listed.join(", ")
        )));
    }
    types.sort();
    types.dedup();
    if types.len() == MigrationType::ALL.len() && !has_boxes {
        return Err(ProblemKind::Invalid(format!(
            "it lists every type, as the template's hint does; keep only those that apply: {accepted}"
        )));
    }
    if types.is_empty() {
        return Err(if said_something || !has_boxes {
            ProblemKind::Missing
        } else {
            ProblemKind::Invalid(format!("no box is ticked; tick one or more of: {}", accepted))
        });
    }
    if types.contains(&MigrationType::Rollback) && types.contains(&MigrationType::Additive) {
        return Err(ProblemKind::Contradictory(
            "it is marked both `rollback` (undo an earlier migration) and `additive` (add to the schema); \
             is this undoing a change or making a new one?"
                .into(),
        ));
    }
    Ok(types)
}

/// The types a part names, and its other words (fillers aside).
fn read_part(part: &str) -> (Vec<MigrationType>, Vec<String>) {
    let words = markdown::words(part);
    let (mut found, mut strangers) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < words.len() {
        // "roll back", "roll-back", "back fill", "back-fill".
        let joined = words.get(i + 1).map(|next| format!("{}{}", words[i], next));
        let (word, step) = match joined {
            Some(j) if lookup(&j).is_some() => (j, 2),
            _ => (words[i].clone(), 1),
        };
        match lookup(&word) {
            Some(t) => found.push(t),
            None if FILLER.contains(&word.as_str()) => {}
            None => strangers.push(word),
        }
        i += step;
    }
    (found, strangers)
}

/// The type a misspelt word most likely means: one or two letters off.
fn closest(word: &str) -> Option<MigrationType> {
    WORDS
        .iter()
        .filter(|(w, _)| edit_distance(w, word) <= 2)
        .min_by_key(|(w, _)| edit_distance(w, word))
        .map(|&(_, t)| t)
}

/// Levenshtein distance, on chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// The type a word names: one of [`WORDS`], or a longer form of one ("backfilling",
/// "destructively", "refactored").
fn lookup(word: &str) -> Option<MigrationType> {
    WORDS
        .iter()
        .find(|(w, _)| *w == word)
        .or_else(|| WORDS.iter().find(|(w, _)| w.len() >= 6 && word.starts_with(w)))
        .map(|&(_, t)| t)
}

/// The words that name types: struck-through words, parenthetical hints and an explanation
/// after a colon or a long dash ("additive — adds a nullable column") are not. A hyphen is
/// not cut at: "additive - backfill" might list two types, so its words must all be known.
fn meaningful_part(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut struck = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("~~") {
            struck = !struck;
            rest = &rest[2..];
            continue;
        }
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            ':' | '—' | '–' if depth == 0 && !struck => break,
            _ if depth == 0 && !struck => out.push(c),
            _ => {}
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explanations_and_struck_words_are_not_types() {
        assert_eq!(meaningful_part("additive — adds a nullable column"), "additive ");
        assert_eq!(meaningful_part("additive (new column), backfill: from auth_events"), "additive , backfill");
        assert_eq!(meaningful_part("~~destructive~~ additive"), " additive");
    }

    #[test]
    fn misspellings_find_their_type() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(closest("destrutive"), Some(MigrationType::Destructive));
        assert_eq!(closest("backfil"), Some(MigrationType::Backfill));
        assert_eq!(closest("additve"), Some(MigrationType::Additive));
        assert_eq!(closest("bigint"), None);
    }
}
