//! RFC 3339 timestamps (UTC, milliseconds). The edge supplies "now" as epoch
//! milliseconds; the core only formats and parses. Hand-written (Howard
//! Hinnant's civil-date algorithms) rather than `chrono`, whose formatting
//! and parsing machinery costs tens of KB of wasm.

use std::fmt::Write;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Days since 1970-01-01 → (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// `2026-02-25T12:34:56.000Z` (years outside 0000–9999 are clamped).
pub fn rfc3339(ms: i64) -> String {
    let ms = ms.clamp(-62_167_219_200_000, 253_402_300_799_999);
    let days = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    let (y, mo, d) = civil_from_days(days);
    let (h, mi, s, milli) = (
        rem / HOUR_MS,
        (rem / 60_000) % 60,
        (rem / 1000) % 60,
        rem % 1000,
    );
    let mut out = String::with_capacity(24);
    let _ = write!(
        out,
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z"
    );
    out
}

fn num(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
}

/// Parse an RFC 3339 timestamp (any offset, optional fraction) to epoch ms.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (
        num(&b[0..4])?,
        num(&b[5..7])? as u32,
        num(&b[8..10])? as u32,
    );
    let (h, mi, sec) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &b[start..i];
        if frac.is_empty() {
            return None;
        }
        for (k, digit) in frac.iter().take(3).enumerate() {
            millis += i64::from(digit - b'0') * [100, 10, 1][k];
        }
    }
    let offset_min = match &b[i..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] => {
            let (oh, om) = (num(&[*oh1, *oh2])?, num(&[*om1, *om2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            let m = oh * 60 + om;
            if *sign == b'+' {
                m
            } else {
                -m
            }
        }
        _ => return None,
    };
    let secs =
        days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec.min(59) - offset_min * 60;
    Some(secs * 1000 + millis)
}

/// Start of the hour containing `ms`.
pub fn hour_floor(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_with_millis_and_z() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_772_022_896_000), "2026-02-25T12:34:56.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_offsets_and_fractions() {
        assert_eq!(
            parse_rfc3339("2026-02-25T12:34:56.000Z"),
            Some(1_772_022_896_000)
        );
        assert_eq!(
            parse_rfc3339("2026-02-25T13:34:56+01:00"),
            Some(1_772_022_896_000)
        );
        assert_eq!(
            parse_rfc3339("2026-02-25T12:34:56.5Z"),
            Some(1_772_022_896_500)
        );
        assert_eq!(
            parse_rfc3339("2026-02-25T12:34:56.123456789Z"),
            Some(1_772_022_896_123)
        );
        assert_eq!(
            parse_rfc3339("2026-02-25t12:34:56z"),
            Some(1_772_022_896_000)
        );
        for bad in [
            "yesterday",
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-02-25T24:00:00Z",
            "2026-02-25T12:34:56",
            "2026-02-25T12:34:56.Z",
            "2026-02-25T12:34:56+1:00",
            "２026-02-25T12:34:56Z",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn hour_floor_rounds_down() {
        assert_eq!(hour_floor(1_772_022_896_000), 1_772_020_800_000);
        assert_eq!(hour_floor(-1), -HOUR_MS);
    }

    proptest! {
        #[test]
        fn round_trips(ms in -62_000_000_000_000i64..253_000_000_000_000i64) {
            prop_assert_eq!(parse_rfc3339(&rfc3339(ms)), Some(ms));
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = parse_rfc3339(&s);
        }
    }
}
