//! "Downtime tolerance": zero-downtime, or a window ("5 minutes", "30m window Sunday 02:00
//! UTC", "up to 10 minutes"). Saying both is a question, not a guess.

use crate::markdown::{self, Block};
use crate::quantity::{self, Tok};
use crate::{Downtime, ProblemKind};

/// Words that, after "no", "not" or "without", make "no downtime".
const NEGATABLE: &[&str] = &[
    "downtime",
    "outage",
    "outages",
    "window",
    "maintenance",
    "interruption",
    "disruption",
    "allowed",
    "acceptable",
    "tolerated",
    "possible",
    "tolerance",
];

/// Words that make a duration one of lock waits.
const LOCK_WORDS: &[&str] =
    &["lock", "locks", "locking", "locked", "blocking", "blocked", "stall", "stalls", "pause", "pauses"];

/// Words that say downtime is allowed at some time, even without a duration.
const WINDOW_WORDS: &[&str] = &[
    "window",
    "maintenance",
    "outage",
    "offline",
    "weekend",
    "overnight",
    "night",
    "nightly",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

pub(crate) fn parse(blocks: &[Block]) -> Result<Downtime, ProblemKind> {
    let text = markdown::items(blocks).into_iter().map(|item| item.text).collect::<Vec<_>>().join(" ");
    let toks = quantity::tokens(&text);
    let words: Vec<&str> = toks
        .iter()
        .filter_map(|t| match t {
            Tok::Word(w) => Some(w.as_str()),
            _ => None,
        })
        .collect();
    if matches!(words.as_slice(), [] | ["tbd"] | ["tbc"] | ["todo"] | ["unknown"] | ["n", "a"] | ["na"] | ["xxx"])
        && !toks.iter().any(|t| matches!(t, Tok::Num(_) | Tok::Time(_)))
    {
        return Err(ProblemKind::Missing);
    }

    let mut zero = words == ["no"];
    let mut negated = vec![false; words.len()];
    for (k, word) in words.iter().enumerate() {
        match *word {
            "zero" | "none" | "nil" | "nothing" | "online" | "unacceptable" => zero = true,
            "no" | "not" | "without" | "never" | "cannot" => {
                for j in k + 1..(k + 3).min(words.len()) {
                    if NEGATABLE.contains(&words[j]) {
                        zero = true;
                        negated[j] = true;
                    }
                }
            }
            _ => {}
        }
    }
    // "zero-downtime (brief lock waits < 2 s are fine)": a duration said of locks is what a
    // zero-downtime migration takes anyway, not a window; said alone, it is the window.
    let mut durations = quantity::Durations::default();
    let mut lock_ms = Vec::new();
    for clause in toks.split(|t| matches!(t, Tok::Sym(',' | ';' | '(' | ')' | '.' | '!' | '?'))) {
        let found = quantity::durations(clause);
        let about_locks = clause.iter().any(|t| matches!(t, Tok::Word(w) if LOCK_WORDS.contains(&w.as_str())));
        if about_locks {
            lock_ms.extend(found.ms);
        } else {
            durations.ms.extend(found.ms);
            durations.vague |= found.vague;
        }
    }
    if durations.ms.contains(&0.0)
        || toks.windows(2).any(|w| matches!(w, [Tok::Num(n), Tok::Word(d)] if *n == 0.0 && d == "downtime"))
        || matches!(toks.as_slice(), [Tok::Num(n)] if *n == 0.0)
    {
        zero = true;
    }

    if !zero {
        durations.ms.extend(lock_ms);
    }
    let longest = durations.ms.iter().copied().filter(|ms| *ms > 0.0).reduce(f64::max);
    let seconds = longest
        .map(|ms| quantity::ceil_div(ms, 1000.0))
        .or_else(|| quantity::time_range_minutes(&toks).map(|m| m * 60));
    let window = seconds.is_some()
        || durations.vague
        || toks.iter().any(|t| matches!(t, Tok::Time(_)))
        || words.iter().zip(&negated).any(|(w, negated)| !negated && WINDOW_WORDS.contains(w));

    let quoted = quote(&text);
    match (zero, window) {
        (true, true) => Err(ProblemKind::Contradictory(format!(
            "{quoted} asks for zero downtime and also gives a window; which one applies?"
        ))),
        (true, false) => Ok(Downtime::ZeroDowntime),
        (false, true) => Ok(Downtime::Window { text: one_line(&text), seconds }),
        (false, false) => Err(ProblemKind::Invalid(format!(
            "I can't tell whether {quoted} allows downtime; write `zero-downtime`, or a window such as \
             `10 minutes, Sunday 02:00-04:00 UTC`"
        ))),
    }
}

/// The text on one line, without control characters.
fn one_line(text: &str) -> String {
    let printable: String = text.chars().filter(|c| !c.is_control()).collect();
    printable.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The user's text in quotes, on one line and cut short if long.
fn quote(text: &str) -> String {
    let one_line = one_line(text);
    let mut cut: String = one_line.chars().take(120).collect();
    if cut.len() < one_line.len() {
        cut.push('…');
    }
    format!("“{cut}”")
}
