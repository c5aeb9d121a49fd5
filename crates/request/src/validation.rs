//! "Validation plan": queries (```sql blocks or a list item that is one `SELECT ...` code
//! span), row-count checks, latency budgets, and anything else as notes.

use crate::markdown::{self, Block, Fence, Item};
use crate::proposed::is_blank_sql;
use crate::quantity;
use crate::{SqlBlock, SqlPiece, ValidationItem};

pub(crate) fn parse(blocks: &[Block]) -> Vec<ValidationItem> {
    let mut out = Vec::new();
    let mut run_start = 0;
    for (i, block) in blocks.iter().enumerate() {
        if let Block::Code(fence) = block {
            out.extend(markdown::items(&blocks[run_start..i]).iter().filter_map(classify));
            run_start = i + 1;
            if let Some(item) = code(fence) {
                out.push(item);
            }
        }
    }
    out.extend(markdown::items(&blocks[run_start..]).iter().filter_map(classify));
    out
}

fn code(fence: &Fence) -> Option<ValidationItem> {
    if is_blank_sql(&fence.lines) {
        None
    } else if fence.is_sql() {
        Some(ValidationItem::Query(SqlBlock::from_fences(&[fence])))
    } else {
        Some(ValidationItem::Note(fence.lines.join("\n")))
    }
}

fn classify(item: &Item) -> Option<ValidationItem> {
    let text = item.text.trim();
    if markdown::is_placeholder(text) {
        return None;
    }
    // A list item that is just a query is one to run, whatever it checks.
    if let [span] = markdown::code_spans(text).as_slice()
        && text.starts_with('`')
        && text.ends_with('`')
        && is_query(span)
    {
        let piece = SqlPiece { sql_line: 1, description_line: item.line, lines: 1 };
        return Some(ValidationItem::Query(SqlBlock { text: format!("{span}\n"), pieces: vec![piece] }));
    }
    let prose = markdown::without_code_spans(text).to_lowercase();
    let words = markdown::words(&prose);
    let has = |w: &str| words.iter().any(|x| x == w);
    let percentile =
        words.iter().any(|w| w.len() > 1 && w.starts_with('p') && w[1..].bytes().all(|b| b.is_ascii_digit()));
    if has("latency") || has("latencies") || percentile || prose.contains("response time") {
        let budget_ms =
            quantity::durations(&quantity::tokens(&prose)).ms.first().map(|ms| quantity::ceil_div(*ms, 1.0));
        return Some(ValidationItem::Latency { text: text.to_string(), budget_ms });
    }
    let counts = text.to_lowercase().contains("count(")
        || has("rowcount")
        || has("rowcounts")
        || ((has("row") || has("rows")) && (has("count") || has("counts") || has("match") || has("matches")));
    if counts {
        return Some(ValidationItem::RowCount(text.to_string()));
    }
    Some(ValidationItem::Note(text.to_string()))
}

fn is_query(sql: &str) -> bool {
    let first = markdown::words(sql).into_iter().next().unwrap_or_default();
    matches!(first.as_str(), "select" | "with" | "explain" | "table" | "values" | "show")
}
