//! Duration estimates from table sizes. The rates are deliberately round numbers for a
//! mid-sized server under normal load; the point is the order of magnitude a reviewer sees
//! ("about 4 minutes on 12,000,000 rows"), not a promise.

use super::model::Estimate;

/// What is known of a table's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub rows: Option<u64>,
    pub bytes: u64,
}

impl Size {
    /// Bytes, or a guess from the row count when the size is unknown.
    fn bytes(self) -> f64 {
        if self.bytes > 0 { self.bytes as f64 } else { self.rows.unwrap_or(0) as f64 * 120.0 }
    }
}

const MIB: f64 = 1024.0 * 1024.0;
/// Sequential scan with little work per row (CHECK validation, partition bound check).
const SCAN_BYTES_PER_SECOND: f64 = 200.0 * MIB;
/// Building a btree: scan, sort and write.
const INDEX_BUILD_BYTES_PER_SECOND: f64 = 50.0 * MIB;
const INDEX_BUILD_ROWS_PER_SECOND: f64 = 1_000_000.0;
/// Foreign key validation looks each row up in the referenced index.
const FK_VALIDATION_ROWS_PER_SECOND: f64 = 150_000.0;
/// Rewriting the table and rebuilding its indexes.
const REWRITE_BYTES_PER_SECOND: f64 = 60.0 * MIB;
/// Batched updates, including the pauses that keep replicas and autovacuum up to date.
const BACKFILL_ROWS_PER_SECOND: f64 = 20_000.0;

fn estimate(size: Size, seconds: f64) -> Option<Estimate> {
    let rows = size.rows?;
    Some(Estimate { rows, seconds: (seconds * 10.0).round() / 10.0 })
}

pub fn index_build(size: Size, concurrently: bool) -> Option<Estimate> {
    let rows = size.rows? as f64;
    let once = size.bytes() / INDEX_BUILD_BYTES_PER_SECOND + rows / INDEX_BUILD_ROWS_PER_SECOND;
    // CREATE INDEX CONCURRENTLY scans the table twice.
    estimate(size, if concurrently { once * 2.0 } else { once })
}

pub fn scan(size: Size) -> Option<Estimate> {
    estimate(size, size.bytes() / SCAN_BYTES_PER_SECOND)
}

pub fn fk_validation(size: Size) -> Option<Estimate> {
    let rows = size.rows? as f64;
    estimate(size, size.bytes() / SCAN_BYTES_PER_SECOND + rows / FK_VALIDATION_ROWS_PER_SECOND)
}

pub fn rewrite(size: Size) -> Option<Estimate> {
    estimate(size, size.bytes() / REWRITE_BYTES_PER_SECOND)
}

pub fn backfill(size: Size) -> Option<Estimate> {
    let rows = size.rows? as f64;
    estimate(size, rows / BACKFILL_ROWS_PER_SECOND)
}

/// "under a second", "about 40 seconds", "about 4 minutes", "about 2 hours".
pub fn describe_seconds(seconds: f64) -> String {
    if seconds < 1.0 {
        "under a second".into()
    } else if seconds < 90.0 {
        match seconds.round() as u64 {
            1 => "about 1 second".into(),
            n => format!("about {n} seconds"),
        }
    } else if seconds < 90.0 * 60.0 {
        format!("about {} minutes", (seconds / 60.0).round() as u64)
    } else {
        format!("about {} hours", (seconds / 3600.0).round() as u64)
    }
}

/// 1 -> "1 row", 12000000 -> "12,000,000 rows".
pub fn rows(n: u64) -> String {
    if n == 1 { "1 row".into() } else { format!("{} rows", thousands(n)) }
}

/// 12000000 -> "12,000,000".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_read_naturally() {
        assert_eq!(describe_seconds(0.3), "under a second");
        assert_eq!(describe_seconds(42.0), "about 42 seconds");
        assert_eq!(describe_seconds(250.0), "about 4 minutes");
        assert_eq!(describe_seconds(7300.0), "about 2 hours");
        assert_eq!(thousands(12_000_000), "12,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(describe_seconds(1.2), "about 1 second");
        assert_eq!(rows(1), "1 row");
        assert_eq!(rows(0), "0 rows");
        assert_eq!(rows(12_000), "12,000 rows");
    }

    #[test]
    fn unknown_sizes_give_no_estimate() {
        assert_eq!(index_build(Size { rows: None, bytes: 0 }, true), None);
        let e = index_build(Size { rows: Some(12_000_000), bytes: 1_500_000_000 }, true).unwrap();
        assert!(e.seconds > 30.0 && e.seconds < 600.0, "{e:?}");
    }
}
