//! Unique clicks: a qualified click is unique when it is its visitor's first
//! on that link that UTC day. "First" is the earliest `(ts, id)`, whatever
//! order the clicks arrive in (batches, replays and rebuilds reorder them):
//! when an earlier click of a key arrives after a later one was counted, the
//! unique moves to it (−1 on the later click's rows, +1 on its own), so the
//! counts of every row, hour and day come out the same in any order.
//!
//! The visitor is an HMAC of (client address, User-Agent, handle, slug)
//! under a key that exists for one UTC day only; the rollup keeps, per key
//! `day:link:visitor`, the first click's time, id and dimensions.

use crate::core::auth::{hmac_keyed, HmacSha256};
use crate::core::collect::SortedMap;
use crate::core::funnel::{Dims, RollupEvent, Snapshot};
use hmac::Mac;
use serde::{Deserialize, Serialize};

/// The visitor key of a click: HMAC-SHA256 of client address, User-Agent,
/// handle and slug under the day's secret, first 16 bytes as hex. Without
/// the secret (gone after its day) it cannot be linked back to an address.
/// The Worker keys through a [`Keyer`] made once per day; this one-shot
/// form states the definition for the tests.
#[cfg(test)]
pub fn visitor_key(
    day_secret: &[u8],
    client_ip: &str,
    user_agent: &str,
    handle: &str,
    slug: &str,
) -> String {
    Keyer::new(day_secret).key(client_ip, user_agent, handle, slug)
}

/// The visitor key under one day's secret, keyed once: the HMAC's key
/// schedule (two of a click's six SHA-256 blocks) is done when the day's
/// secret is read, not per click, and the message is hashed in place.
#[derive(Clone)]
pub struct Keyer(HmacSha256);

impl Keyer {
    pub fn new(day_secret: &[u8]) -> Keyer {
        Keyer(hmac_keyed(day_secret))
    }

    pub fn key(&self, client_ip: &str, user_agent: &str, handle: &str, slug: &str) -> String {
        let mut mac = self.0.clone();
        for part in [client_ip, "\n", user_agent, "\n", handle, "\n", slug] {
            mac.update(part.as_bytes());
        }
        let digest = mac.finalize().into_bytes();
        crate::core::ids::hex(digest.get(..16).unwrap_or(&digest))
    }
}

/// The first click counted for a `day:link:visitor` key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct First {
    pub ts: i64,
    pub id: String,
    pub dims: Dims,
}

/// The unique-click deltas of a batch of newly applied events, given the
/// firsts already stored for their keys; also the firsts that changed (to
/// store back).
pub fn apply<'a>(
    events: impl IntoIterator<Item = &'a RollupEvent>,
    stored: &SortedMap<String, First>,
) -> (Snapshot, SortedMap<String, First>) {
    let mut delta = Snapshot::default();
    let mut changed: SortedMap<String, First> = SortedMap::new();
    for ev in events {
        let (Some(key), Some(dims)) = (ev.visitor_key(), ev.dims.as_ref()) else {
            continue;
        };
        let current = changed.get(&key).or_else(|| stored.get(&key));
        let earlier = match current {
            None => true,
            Some(f) => (ev.ts, ev.id.as_str()) < (f.ts, f.id.as_str()),
        };
        if !earlier {
            continue;
        }
        if let Some(f) = current {
            delta.add_unique(&f.dims, f.ts, -1);
        }
        delta.add_unique(dims, ev.ts, 1);
        changed.insert(
            key,
            First {
                ts: ev.ts,
                id: ev.id.clone(),
                dims: dims.clone(),
            },
        );
    }
    (delta, changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::time::{DAY_MS, HOUR_MS};

    fn click(id: &str, ts: i64, visitor: &str, source: &str, bot: bool) -> RollupEvent {
        let mut e = RollupEvent::clicks(
            id.into(),
            ts,
            bot,
            Dims::of(
                "promo",
                None,
                "DE",
                "MOBILE",
                source,
                &format!("mobile:{source}"),
            ),
            1,
        );
        e.visitor = Some(visitor.into());
        e
    }

    fn uniques(snap: &Snapshot, dim: &str, value: &str) -> i64 {
        snap.rows
            .get(dim)
            .and_then(|m| m.get(value))
            .map(|c| c.unique_clicks)
            .unwrap_or(0)
    }

    /// Apply the events one at a time, storing firsts as the rollup does.
    fn run(events: &[RollupEvent]) -> Snapshot {
        let mut stored = SortedMap::new();
        let mut total = Snapshot::default();
        for e in events {
            let (d, changed) = apply([e], &stored);
            total.merge(&d);
            stored.extend(changed);
        }
        total
    }

    #[test]
    fn distinct_and_repeated_visitors_across_a_day() {
        let day = 20 * DAY_MS;
        let events = [
            click("clk_1", day + HOUR_MS, "va", "email", false),
            click("clk_2", day + 2 * HOUR_MS, "va", "social", false),
            click("clk_3", day + 3 * HOUR_MS, "vb", "email", false),
            click("clk_4", day + 4 * HOUR_MS, "vc", "email", true),
            click("clk_5", day + DAY_MS + HOUR_MS, "va", "social", false),
        ];
        let s = run(&events);
        assert_eq!(
            s.total().unique_clicks,
            3,
            "va twice on day 1 counts once; bots never"
        );
        assert_eq!(uniques(&s, "source", "email"), 2);
        assert_eq!(
            uniques(&s, "source", "social"),
            1,
            "va's second source that day is not unique"
        );
        assert_eq!(uniques(&s, "hour", &(day + HOUR_MS).to_string()), 1);
        assert_eq!(uniques(&s, "hour", &(day + 2 * HOUR_MS).to_string()), 0);
        assert_eq!(
            uniques(&s, "hour", &(day + DAY_MS + HOUR_MS).to_string()),
            1,
            "a new day"
        );
    }

    #[test]
    fn the_earliest_click_is_the_unique_whatever_the_order() {
        let day = 3 * DAY_MS;
        let events = vec![
            click("clk_a", day + 5 * HOUR_MS, "v", "social", false),
            click("clk_b", day + HOUR_MS, "v", "email", false),
            click("clk_c", day + 9 * HOUR_MS, "v", "direct", false),
            click("clk_d", day + 2 * HOUR_MS, "w", "direct", false),
        ];
        let want = run(&events);
        assert_eq!(uniques(&want, "source", "email"), 1);
        assert_eq!(uniques(&want, "source", "social"), 0);
        // every order gives the same rows
        let orders = [
            [0, 1, 2, 3],
            [1, 0, 3, 2],
            [3, 2, 1, 0],
            [2, 3, 0, 1],
            [0, 2, 3, 1],
        ];
        for o in orders {
            let evs: Vec<RollupEvent> = o.iter().map(|&i| events[i].clone()).collect();
            let got = run(&evs);
            for dim in ["total", "source", "hour", "link", "segment"] {
                let g: Vec<(String, i64)> = got.rows[dim]
                    .iter()
                    .map(|(k, c)| (k.clone(), c.unique_clicks))
                    .filter(|(_, n)| *n != 0)
                    .collect();
                let w: Vec<(String, i64)> = want.rows[dim]
                    .iter()
                    .map(|(k, c)| (k.clone(), c.unique_clicks))
                    .filter(|(_, n)| *n != 0)
                    .collect();
                assert_eq!(g, w, "order {o:?}, dim {dim}");
            }
        }
        // one batch with all of them: same
        let (batch, changed) = apply(&events, &SortedMap::new());
        assert_eq!(batch.total().unique_clicks, 2);
        assert_eq!(changed.len(), 2);
    }

    #[test]
    fn a_keyer_computes_the_hmac_of_the_joined_parts() {
        let mac = crate::core::auth::hmac_sha256(b"day-1", b"203.0.113.9\nUA\ndemo\npromo");
        let expected: String = mac.iter().take(16).map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            Keyer::new(b"day-1").key("203.0.113.9", "UA", "demo", "promo"),
            expected
        );
        let k = Keyer::new(b"day-1");
        assert_eq!(
            k.key("a", "b", "c", "d"),
            visitor_key(b"day-1", "a", "b", "c", "d")
        );
        assert_eq!(k.key("a", "b", "c", "d").len(), 32);
    }

    #[test]
    fn visitor_keys_depend_on_every_part_and_the_day_secret() {
        let k = visitor_key(b"day-1", "203.0.113.9", "UA", "demo", "promo");
        assert_eq!(k.len(), 32);
        assert_eq!(
            k,
            visitor_key(b"day-1", "203.0.113.9", "UA", "demo", "promo")
        );
        for other in [
            visitor_key(b"day-2", "203.0.113.9", "UA", "demo", "promo"),
            visitor_key(b"day-1", "203.0.113.8", "UA", "demo", "promo"),
            visitor_key(b"day-1", "203.0.113.9", "UA2", "demo", "promo"),
            visitor_key(b"day-1", "203.0.113.9", "UA", "demx", "promo"),
            visitor_key(b"day-1", "203.0.113.9", "UA", "demo", "promx"),
        ] {
            assert_ne!(k, other);
        }
    }

    #[test]
    fn events_without_a_visitor_or_not_clicks_are_ignored() {
        let mut e = click("clk_x", 5, "v", "email", false);
        e.visitor = None;
        let conv = RollupEvent::conversion("cnv".into(), false, 5, None, 100, "USD".into());
        let (d, changed) = apply([&e, &conv], &SortedMap::new());
        assert_eq!((d.total().unique_clicks, changed.len()), (0, 0));
    }
}
