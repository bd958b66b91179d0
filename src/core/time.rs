//! RFC 3339 timestamps (UTC, milliseconds). The edge supplies "now" as epoch
//! milliseconds; the core only formats and parses.

use chrono::{DateTime, SecondsFormat, Utc};

/// `2026-02-25T12:34:56.000Z`
pub fn rfc3339(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => "1970-01-01T00:00:00.000Z".to_string(),
    }
}

/// Parse an RFC 3339 timestamp (any offset) to epoch milliseconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Start of the hour containing `ms`.
pub fn hour_floor(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_millis_and_z() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_772_022_896_000), "2026-02-25T12:34:56.000Z");
    }

    #[test]
    fn parses_offsets() {
        assert_eq!(
            parse_rfc3339("2026-02-25T12:34:56.000Z"),
            Some(1_772_022_896_000)
        );
        assert_eq!(
            parse_rfc3339("2026-02-25T13:34:56+01:00"),
            Some(1_772_022_896_000)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn hour_floor_rounds_down() {
        assert_eq!(hour_floor(1_772_022_896_000), 1_772_020_800_000);
        assert_eq!(hour_floor(-1), -HOUR_MS);
    }
}
