//! Durations in prose: "5 minutes", "30m", "up to 1.5 hours", "5-10 min", "half an hour",
//! "02:00-04:00", "< 120 ms".

/// A token of lowercased prose.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Num(f64),
    Word(String),
    /// A time of day, `HH:MM`, in minutes after midnight.
    Time(u32),
    Sym(char),
}

pub(crate) fn tokens(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let run = |from: usize, pred: fn(char) -> bool| {
        let mut end = from;
        while end < chars.len() && pred(chars[end]) {
            end += 1;
        }
        end
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let end = run(i, |c| c.is_ascii_digit());
            let digits: String = chars[i..end].iter().collect();
            // "02:00" is a time of day, not a number.
            if chars.get(end) == Some(&':')
                && let (Some(a), Some(b)) = (chars.get(end + 1), chars.get(end + 2))
                && a.is_ascii_digit()
                && b.is_ascii_digit()
                && !chars.get(end + 3).is_some_and(char::is_ascii_digit)
                && let Ok(hours) = digits.parse::<u32>()
            {
                let minutes = a.to_digit(10).unwrap_or(0) * 10 + b.to_digit(10).unwrap_or(0);
                if hours <= 24 && minutes < 60 {
                    toks.push(Tok::Time((hours * 60 + minutes) % (24 * 60)));
                    i = end + 3;
                    continue;
                }
            }
            let mut number = digits;
            let mut next = end;
            if chars.get(end) == Some(&'.') && chars.get(end + 1).is_some_and(char::is_ascii_digit) {
                next = run(end + 1, |c| c.is_ascii_digit());
                number.push('.');
                number.extend(&chars[end + 1..next]);
            }
            toks.push(Tok::Num(number.parse().unwrap_or(f64::MAX)));
            i = next;
        } else if c.is_alphabetic() {
            let end = run(i, char::is_alphanumeric);
            toks.push(Tok::Word(chars[i..end].iter().collect()));
            i = end;
        } else {
            toks.push(Tok::Sym(c));
            i += 1;
        }
    }
    toks
}

/// Milliseconds per unit word.
fn unit_ms(word: &str) -> Option<f64> {
    Some(match word {
        "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 1.0,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000.0,
        "d" | "day" | "days" => 86_400_000.0,
        _ => return None,
    })
}

/// A spelled-out number that can precede a unit ("an hour", "ten minutes").
fn number_word(word: &str) -> Option<f64> {
    Some(match word {
        "a" | "an" | "one" => 1.0,
        "two" => 2.0,
        "three" => 3.0,
        "four" => 4.0,
        "five" => 5.0,
        "ten" => 10.0,
        "fifteen" => 15.0,
        "twenty" => 20.0,
        "thirty" => 30.0,
        "sixty" => 60.0,
        "ninety" => 90.0,
        _ => return None,
    })
}

/// What durations a text mentions.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Durations {
    /// Each duration in milliseconds, in order; a range ("5-10 min") counts as its end.
    pub ms: Vec<f64>,
    /// A unit with no number ("a few minutes").
    pub vague: bool,
}

fn word_at(toks: &[Tok], i: usize) -> Option<&str> {
    match toks.get(i) {
        Some(Tok::Word(w)) => Some(w),
        _ => None,
    }
}

/// The unit at `i` (after an optional hyphen: "5-minute"), and the index after it.
fn unit_at(toks: &[Tok], i: usize) -> Option<(f64, usize)> {
    let i = if toks.get(i) == Some(&Tok::Sym('-')) { i + 1 } else { i };
    word_at(toks, i).and_then(unit_ms).map(|ms| (ms, i + 1))
}

pub(crate) fn durations(toks: &[Tok]) -> Durations {
    let mut found = Durations::default();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Num(n) => {
                let mut value = *n;
                let mut j = i + 1;
                let is_range_sep = |t: Option<&Tok>| {
                    matches!(t, Some(Tok::Sym('-' | '–' | '—'))) || matches!(t, Some(Tok::Word(w)) if w == "to")
                };
                if is_range_sep(toks.get(j))
                    && let Some(Tok::Num(end)) = toks.get(j + 1)
                {
                    value = *end;
                    j += 2;
                }
                if let Some((ms, next)) = unit_at(toks, j) {
                    found.ms.push(value * ms);
                    i = next;
                    continue;
                }
            }
            Tok::Word(w) => {
                if w == "half"
                    && let Some(next) = word_at(toks, i + 1)
                {
                    let j = if matches!(next, "a" | "an") { i + 2 } else { i + 1 };
                    if let Some(ms) = word_at(toks, j).and_then(unit_ms) {
                        found.ms.push(ms / 2.0);
                        i = j + 1;
                        continue;
                    }
                }
                if let Some(n) = number_word(w)
                    && let Some(unit) = word_at(toks, i + 1).filter(|u| u.len() > 1)
                    && let Some(ms) = unit_ms(unit)
                {
                    found.ms.push(n * ms);
                    i += 2;
                    continue;
                }
                if matches!(w.as_str(), "few" | "couple" | "several" | "some") {
                    let j = if word_at(toks, i + 1) == Some("of") { i + 2 } else { i + 1 };
                    if word_at(toks, j).is_some_and(|u| u.len() > 1 && unit_ms(u).is_some()) {
                        found.vague = true;
                        i = j + 1;
                        continue;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// The length of the first time range ("02:00-04:00 UTC", "from 22:00 to 01:00"), in
/// minutes.
pub(crate) fn time_range_minutes(toks: &[Tok]) -> Option<u32> {
    toks.windows(3).find_map(|w| match w {
        [Tok::Time(a), sep, Tok::Time(b)]
            if matches!(sep, Tok::Sym('-' | '–' | '—'))
                || matches!(sep, Tok::Word(s) if matches!(s.as_str(), "to" | "until" | "till" | "through" | "and")) =>
        {
            let minutes = (b + 24 * 60 - a) % (24 * 60);
            (minutes > 0).then_some(minutes)
        }
        _ => None,
    })
}

/// Milliseconds to whole units, rounded up, saturating.
pub(crate) fn ceil_div(ms: f64, unit: f64) -> u32 {
    // A float-to-int `as` saturates (and maps NaN to 0), which is what we want here.
    (ms / unit).ceil() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> Vec<f64> {
        durations(&tokens(text)).ms
    }

    #[test]
    fn durations_in_prose() {
        assert_eq!(ms("5 minutes"), [300_000.0]);
        assert_eq!(ms("30m window Sunday 02:00 UTC"), [1_800_000.0]);
        assert_eq!(ms("up to 1.5 hours"), [5_400_000.0]);
        assert_eq!(ms("5-10 min"), [600_000.0]);
        assert_eq!(ms("a 5-minute window"), [300_000.0]);
        assert_eq!(ms("half an hour"), [1_800_000.0]);
        assert_eq!(ms("an hour or two"), [3_600_000.0]);
        assert_eq!(ms("p95 < 120ms"), [120.0]);
        assert_eq!(ms("v2 of 3 apps"), Vec::<f64>::new());
        assert!(durations(&tokens("a few minutes")).vague);
    }

    #[test]
    fn time_ranges() {
        assert_eq!(time_range_minutes(&tokens("Sunday 02:00-04:30 UTC")), Some(150));
        assert_eq!(time_range_minutes(&tokens("from 23:00 to 01:00")), Some(120));
        assert_eq!(time_range_minutes(&tokens("at 02:00")), None);
    }

    #[test]
    fn huge_numbers_saturate() {
        let d = ms("99999999999999999999999999999999 hours");
        assert_eq!(ceil_div(d[0], 1000.0), u32::MAX);
    }
}
