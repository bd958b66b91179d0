//! The visitor facts the newer conditions look at, and their small types:
//! the primary language of `Accept-Language`, query parameters, days of the
//! week and hours of the day (UTC).

use crate::core::time::{DAY_MS, HOUR_MS};
use url::form_urlencoded;

/// The primary subtag of the first language of an `Accept-Language` value
/// (`de-CH, de;q=0.9, en;q=0.8` → `de`), when it is 2–3 ASCII letters (so
/// `*` and garbage give None). Not lower-cased: compare with
/// `eq_ignore_ascii_case`.
pub fn primary_language(accept_language: &str) -> Option<&str> {
    let first = accept_language.split([',', ';']).next()?.trim();
    let primary = first.split(['-', '_']).next()?;
    ((2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic()))
        .then_some(primary)
}

/// Whether a `languageIn` entry is a primary language subtag: 2–3 lower-case letters.
pub fn is_language_subtag(s: &str) -> bool {
    (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase())
}

/// Whether the raw query string has the parameter `name` (decoded), with the
/// value `value` when given (any of its occurrences).
pub fn query_has(query: Option<&str>, name: &str, value: Option<&str>) -> bool {
    let Some(q) = query else { return false };
    form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == name && value.is_none_or(|x| v == x))
}

pub const DAY_NAMES: [&str; 7] = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];

/// A set of days of the week (bit 0 = Monday), UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days(u8);

impl Days {
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<Days> {
        let mut bits = 0u8;
        for n in names {
            bits |= 1 << DAY_NAMES.iter().position(|d| *d == n)?;
        }
        (bits != 0).then_some(Days(bits))
    }

    pub fn names(self) -> Vec<&'static str> {
        (0..7)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(|i| DAY_NAMES[i])
            .collect()
    }

    pub fn contains_time(self, ms: i64) -> bool {
        // 1970-01-01 was a Thursday (index 3).
        let day = (ms.div_euclid(DAY_MS) + 3).rem_euclid(7);
        self.0 & (1 << day) != 0
    }
}

/// `hoursUtc: [start, end)`: start 0–23, end 1–24, start ≠ end. When
/// `start > end` the window wraps past midnight (`[22, 2)` is 22:00–01:59).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    pub start: u8,
    pub end: u8,
}

impl Hours {
    pub fn new(start: i64, end: i64) -> Option<Hours> {
        let ok = (0..=23).contains(&start) && (1..=24).contains(&end) && start != end;
        // In range: the casts cannot truncate.
        ok.then_some(Hours {
            start: start as u8,
            end: end as u8,
        })
    }

    pub fn contains_time(self, ms: i64) -> bool {
        let h = ms.rem_euclid(DAY_MS) / HOUR_MS;
        let (s, e) = (i64::from(self.start), i64::from(self.end));
        if s < e {
            s <= h && h < e
        } else {
            h >= s || h < e
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::time::parse_rfc3339;

    fn at(s: &str) -> i64 {
        parse_rfc3339(s).unwrap()
    }

    #[test]
    fn first_language_of_accept_language() {
        for (h, want) in [
            ("de-CH, de;q=0.9, en;q=0.8", Some("de")),
            ("EN-us,en;q=0.5", Some("EN")),
            ("fr", Some("fr")),
            ("  pt_BR ", Some("pt")),
            ("haw-US", Some("haw")),
            ("en;q=0.1, de", Some("en")),
            ("*", None),
            ("", None),
            ("e", None),
            ("english", None),
            ("x1-y", None),
            (", de", None),
        ] {
            assert_eq!(primary_language(h), want, "{h:?}");
        }
    }

    #[test]
    fn query_presence_and_equality() {
        let q = Some("utm_source=email&vip&a=1&a=2&name=J%C3%BCrgen+K");
        assert!(query_has(q, "vip", None));
        assert!(query_has(q, "vip", Some("")));
        assert!(query_has(q, "a", Some("2")), "any occurrence");
        assert!(query_has(q, "name", Some("Jürgen K")), "decoded");
        assert!(!query_has(q, "a", Some("3")));
        assert!(!query_has(q, "missing", None));
        assert!(!query_has(None, "vip", None));
    }

    #[test]
    fn days_of_week_in_utc() {
        let weekend = Days::parse(["SAT", "SUN"]).unwrap();
        assert!(
            weekend.contains_time(at("2026-12-05T00:00:00Z")),
            "Saturday"
        );
        assert!(weekend.contains_time(at("2026-12-06T23:59:59Z")), "Sunday");
        assert!(!weekend.contains_time(at("2026-12-07T00:00:00Z")), "Monday");
        // 23:30 on Sunday in New York is Monday in UTC
        assert!(!weekend.contains_time(at("2026-12-06T23:30:00-05:00")));
        assert!(Days::parse(["THU"]).unwrap().contains_time(0));
        assert!(
            Days::parse(["WED"]).unwrap().contains_time(-1),
            "before 1970"
        );
        assert_eq!(
            Days::parse(["SUN", "MON", "MON"]).unwrap().names(),
            ["MON", "SUN"]
        );
        assert_eq!(Days::parse(["mon"]), None);
        assert_eq!(Days::parse([]), None);
    }

    #[test]
    fn hours_with_and_without_wrap() {
        let office = Hours::new(9, 17).unwrap();
        assert!(office.contains_time(at("2026-12-07T09:00:00Z")));
        assert!(office.contains_time(at("2026-12-07T16:59:59Z")));
        assert!(!office.contains_time(at("2026-12-07T17:00:00Z")));
        assert!(!office.contains_time(at("2026-12-07T08:59:59Z")));
        let night = Hours::new(22, 2).unwrap();
        for (t, inside) in [
            ("21:59:59", false),
            ("22:00:00", true),
            ("23:59:59", true),
            ("00:00:00", true),
            ("01:59:59", true),
            ("02:00:00", false),
            ("12:00:00", false),
        ] {
            let ms = at(&format!("2026-12-07T{t}Z"));
            assert_eq!(night.contains_time(ms), inside, "{t}");
        }
        assert!(Hours::new(0, 24)
            .unwrap()
            .contains_time(at("2026-12-07T23:59:59Z")));
        for (s, e) in [(5, 5), (-1, 3), (0, 25), (24, 2), (3, 0)] {
            assert_eq!(Hours::new(s, e), None, "[{s}, {e})");
        }
    }
}
