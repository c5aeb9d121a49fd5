//! Partition bounds: read from the server's printing value by value, rendered back, and
//! turned into the CHECK expression that proves them.
//!
//! `pg_get_expr(relpartbound)` prints a bound in one of four fixed forms, and every value in
//! it is one constant token (a quoted string, an unsigned number, `true`/`false`, a bit
//! string, `NULL`, `MINVALUE`, `MAXVALUE`). [`parse`] tokenizes that text (quotes and all)
//! and accepts nothing else, so a value such as `') TO ('` stays one string; the values are
//! then stored as structure in the model and never searched again.

use crate::quote::{ident, literal};
use cutover_schema::{BoundDatum, PartitionBound, PartitionKey, PartitionStrategy};
use std::fmt::{self, Display, Formatter};

#[derive(Debug, Clone, PartialEq)]
enum Token<'a> {
    Word(&'a str),
    Constant(&'a str),
    Open,
    Close,
    Comma,
}

/// The tokens of a bound as the server prints it; `None` for anything else.
fn tokens(text: &str) -> Option<Vec<Token<'_>>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\n' | b'\t' => i += 1,
            b'(' => {
                out.push(Token::Open);
                i += 1;
            }
            b')' => {
                out.push(Token::Close);
                i += 1;
            }
            b',' => {
                out.push(Token::Comma);
                i += 1;
            }
            b'\'' => {
                i = string_end(bytes, i)?;
                out.push(Token::Constant(&text[start..i]));
            }
            b'B' if bytes.get(i + 1) == Some(&b'\'') => {
                i = string_end(bytes, i + 1)?;
                let bits = &text[start + 2..i - 1];
                if !bits.bytes().all(|b| b == b'0' || b == b'1') {
                    return None;
                }
                out.push(Token::Constant(&text[start..i]));
            }
            b'0'..=b'9' => {
                while i < bytes.len() && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                    i += 1;
                }
                out.push(Token::Constant(&text[start..i]));
            }
            b'a'..=b'z' | b'A'..=b'Z' => {
                while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                    i += 1;
                }
                let word = &text[start..i];
                if word == "true" || word == "false" {
                    out.push(Token::Constant(word));
                } else {
                    out.push(Token::Word(word));
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

/// The index just past the string literal that opens at `open` (a `'`), where `''` is a
/// quote inside it.
fn string_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    loop {
        match bytes.get(i)? {
            b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// Whether `text` is exactly one constant token of a bound, so it can be emitted as is.
pub fn is_constant(text: &str) -> bool {
    matches!(tokens(text).as_deref(), Some([Token::Constant(t)]) if *t == text)
}

/// A bound as `pg_get_expr(relpartbound, ...)` prints it, value by value; `None` when the
/// text is not one of the forms PostgreSQL prints.
pub fn parse(text: &str) -> Option<PartitionBound> {
    let tokens = tokens(text)?;
    let mut rest = tokens.as_slice();
    let bound = match rest {
        [Token::Word("DEFAULT")] => return Some(PartitionBound::Default),
        [Token::Word("FOR"), Token::Word("VALUES"), Token::Word("IN"), tail @ ..] => {
            rest = tail;
            PartitionBound::In(datums(&mut rest)?)
        }
        [Token::Word("FOR"), Token::Word("VALUES"), Token::Word("FROM"), tail @ ..] => {
            rest = tail;
            let from = datums(&mut rest)?;
            let [Token::Word("TO"), tail @ ..] = rest else { return None };
            rest = tail;
            PartitionBound::Range { from, to: datums(&mut rest)? }
        }
        [
            Token::Word("FOR"),
            Token::Word("VALUES"),
            Token::Word("WITH"),
            Token::Open,
            Token::Word("modulus"),
            Token::Constant(modulus),
            Token::Comma,
            Token::Word("remainder"),
            Token::Constant(remainder),
            Token::Close,
        ] => {
            return Some(PartitionBound::Hash { modulus: modulus.parse().ok()?, remainder: remainder.parse().ok()? });
        }
        _ => return None,
    };
    rest.is_empty().then_some(bound)
}

/// `(datum, ...)` at the start of `rest`, which moves past it.
fn datums(rest: &mut &[Token<'_>]) -> Option<Vec<BoundDatum>> {
    let [Token::Open, tail @ ..] = *rest else { return None };
    let mut tail = tail;
    let mut out = Vec::new();
    loop {
        let (datum, after) = tail.split_first()?;
        out.push(match datum {
            Token::Word("MINVALUE") => BoundDatum::MinValue,
            Token::Word("MAXVALUE") => BoundDatum::MaxValue,
            Token::Word("NULL") => BoundDatum::Null,
            Token::Constant(c) => BoundDatum::Constant(c.to_string()),
            _ => return None,
        });
        match after.split_first()? {
            (Token::Comma, next) => tail = next,
            (Token::Close, next) => {
                *rest = next;
                return Some(out);
            }
            _ => return None,
        }
    }
}

/// A bound as `CREATE TABLE ... PARTITION OF` and `ATTACH PARTITION` spell it.
#[derive(Debug, Clone, Copy)]
pub struct Bound<'a>(pub &'a PartitionBound);

impl Display for Bound<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            PartitionBound::Default => f.write_str("DEFAULT"),
            PartitionBound::In(values) => write!(f, "FOR VALUES IN ({})", list(values)),
            PartitionBound::Range { from, to } => write!(f, "FOR VALUES FROM ({}) TO ({})", list(from), list(to)),
            PartitionBound::Hash { modulus, remainder } => {
                write!(f, "FOR VALUES WITH (modulus {modulus}, remainder {remainder})")
            }
        }
    }
}

fn datum(d: &BoundDatum) -> String {
    match d {
        BoundDatum::MinValue => "MINVALUE".into(),
        BoundDatum::MaxValue => "MAXVALUE".into(),
        BoundDatum::Null => "NULL".into(),
        // Only a single constant token goes out as it is; anything else (a model not built
        // by `parse`) becomes a string literal.
        BoundDatum::Constant(c) if is_constant(c) => c.clone(),
        BoundDatum::Constant(c) => literal(c),
    }
}

fn list(values: &[BoundDatum]) -> String {
    values.iter().map(datum).collect::<Vec<_>>().join(", ")
}

/// A CHECK expression equivalent to the bound of a partition of a table partitioned by a
/// single column, by RANGE or LIST; `None` for other keys and bounds (several columns, an
/// expression, HASH, DEFAULT, a list holding NULL).
pub fn check_expression(key: &PartitionKey, bound: &PartitionBound) -> Option<String> {
    let [Some(column)] = key.columns.as_slice() else { return None };
    let column = ident(column);
    match (key.strategy, bound) {
        (PartitionStrategy::Range, PartitionBound::Range { from, to }) => {
            let ([from], [to]) = (from.as_slice(), to.as_slice()) else { return None };
            let mut parts = vec![format!("{column} IS NOT NULL")];
            match from {
                BoundDatum::MinValue => {}
                BoundDatum::Constant(_) => parts.push(format!("{column} >= {}", datum(from))),
                _ => return None,
            }
            match to {
                BoundDatum::MaxValue => {}
                BoundDatum::Constant(_) => parts.push(format!("{column} < {}", datum(to))),
                _ => return None,
            }
            Some(parts.join(" AND "))
        }
        (PartitionStrategy::List, PartitionBound::In(values)) => {
            if values.iter().any(|v| !matches!(v, BoundDatum::Constant(_))) {
                return None;
            }
            Some(format!("{column} IS NOT NULL AND {column} IN ({})", list(values)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(strategy: PartitionStrategy, columns: &[Option<&str>]) -> PartitionKey {
        PartitionKey {
            strategy,
            columns: columns.iter().map(|c| c.map(str::to_string)).collect(),
            definition: String::new(),
        }
    }

    fn c(text: &str) -> BoundDatum {
        BoundDatum::Constant(text.into())
    }

    #[test]
    fn printed_bounds_are_read_value_by_value_and_rendered_back() {
        for (text, bound) in [
            ("DEFAULT", PartitionBound::Default),
            ("FOR VALUES IN ('eu', 'us')", PartitionBound::In(vec![c("'eu'"), c("'us'")])),
            ("FOR VALUES IN (NULL, 1)", PartitionBound::In(vec![BoundDatum::Null, c("1")])),
            (
                "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
                PartitionBound::Range { from: vec![c("'2026-01-01'")], to: vec![c("'2027-01-01'")] },
            ),
            (
                "FOR VALUES FROM (MINVALUE, '-5') TO (10, MAXVALUE)",
                PartitionBound::Range {
                    from: vec![BoundDatum::MinValue, c("'-5'")],
                    to: vec![c("10"), BoundDatum::MaxValue],
                },
            ),
            ("FOR VALUES IN (true, B'101', 1.5e+10)", PartitionBound::In(vec![c("true"), c("B'101'"), c("1.5e+10")])),
            ("FOR VALUES WITH (modulus 4, remainder 3)", PartitionBound::Hash { modulus: 4, remainder: 3 }),
        ] {
            assert_eq!(parse(text).as_ref(), Some(&bound), "{text}");
            assert_eq!(Bound(&bound).to_string(), text);
        }
    }

    #[test]
    fn a_string_value_that_looks_like_bound_syntax_stays_one_value() {
        let text = "FOR VALUES FROM (') TO (''x') TO ('z'';DROP TABLE users;--')";
        let bound = parse(text).unwrap();
        assert_eq!(
            bound,
            PartitionBound::Range { from: vec![c("') TO (''x'")], to: vec![c("'z'';DROP TABLE users;--'")] }
        );
        assert_eq!(Bound(&bound).to_string(), text);
    }

    #[test]
    fn anything_else_is_refused() {
        for text in [
            "",
            "FOR VALUES IN ('a'",
            "FOR VALUES IN ('a') ; DROP TABLE x",
            "FOR VALUES IN (a)",
            "FOR VALUES IN ('unterminated)",
            "FOR VALUES FROM (1) TO (2) TO (3)",
            "FOR VALUES IN (1::integer)",
            "FOR VALUES IN (B'12')",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn constants_not_read_by_parse_are_rendered_as_literals() {
        let bound = PartitionBound::In(vec![c("1); DROP TABLE users; --")]);
        assert_eq!(Bound(&bound).to_string(), "FOR VALUES IN ('1); DROP TABLE users; --')");
    }

    #[test]
    fn single_column_bounds_become_checks() {
        let range = PartitionBound::Range { from: vec![c("'2006-02-01'")], to: vec![c("'2006-03-01'")] };
        assert_eq!(
            check_expression(&key(PartitionStrategy::Range, &[Some("logdate")]), &range).unwrap(),
            "logdate IS NOT NULL AND logdate >= '2006-02-01' AND logdate < '2006-03-01'"
        );
        let open = PartitionBound::Range { from: vec![BoundDatum::MinValue], to: vec![c("10")] };
        assert_eq!(
            check_expression(&key(PartitionStrategy::Range, &[Some("k")]), &open).unwrap(),
            "k IS NOT NULL AND k < 10"
        );
        let list = PartitionBound::In(vec![c("'eu'"), c("'us'")]);
        assert_eq!(
            check_expression(&key(PartitionStrategy::List, &[Some("Region\"; DROP")]), &list).unwrap(),
            "\"Region\"\"; DROP\" IS NOT NULL AND \"Region\"\"; DROP\" IN ('eu', 'us')"
        );
    }

    #[test]
    fn other_keys_and_bounds_have_no_check() {
        let hash = PartitionBound::Hash { modulus: 4, remainder: 0 };
        assert_eq!(check_expression(&key(PartitionStrategy::Hash, &[Some("id")]), &hash), None);
        let two = PartitionBound::Range { from: vec![c("1"), c("1")], to: vec![c("2"), c("2")] };
        assert_eq!(check_expression(&key(PartitionStrategy::Range, &[Some("a"), Some("b")]), &two), None);
        let expr = PartitionBound::Range { from: vec![c("1")], to: vec![c("2")] };
        assert_eq!(check_expression(&key(PartitionStrategy::Range, &[None]), &expr), None);
        assert_eq!(check_expression(&key(PartitionStrategy::List, &[Some("k")]), &PartitionBound::Default), None);
        let with_null = PartitionBound::In(vec![BoundDatum::Null, c("1")]);
        assert_eq!(check_expression(&key(PartitionStrategy::List, &[Some("k")]), &with_null), None);
    }
}
