//! UTC calendar arithmetic for the formats numbered by time (`YYYYMMDDHHMMSS`), without a
//! clock: the caller passes the time.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYYMMDDHHMMSS` of a Unix time in seconds.
pub fn stamp(unix_seconds: i64) -> u64 {
    let (days, secs) = (unix_seconds.div_euclid(86_400), unix_seconds.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    (((((y * 100 + m) * 100 + d) * 100 + h) * 100 + mi) * 100 + s) as u64
}

/// The Unix time in seconds of a `YYYYMMDDHHMMSS` stamp; `None` when it is no valid time.
pub fn unix_of_stamp(stamp: u64) -> Option<i64> {
    let s = stamp as i64;
    let (y, m, d, h, mi, sec) =
        (s / 10_000_000_000, s / 100_000_000 % 100, s / 1_000_000 % 100, s / 10_000 % 100, s / 100 % 100, s % 100);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip() {
        assert_eq!(stamp(0), 19700101000000);
        assert_eq!(stamp(1_796_677_469), 20261207210429);
        assert_eq!(unix_of_stamp(20261207210429), Some(1_796_677_469));
        assert_eq!(stamp(unix_of_stamp(20240229235959).unwrap() + 1), 20240301000000);
        assert_eq!(unix_of_stamp(20241399000000), None);
    }
}
