//! Funnel math and the rollup data model, shared by the `CampaignRollup`
//! Durable Object (which stores it) and the analytics API (which reads it).
//!
//! A rollup is a set of counter rows keyed by `(dim, value)`: the campaign
//! total (`dim = "total"`), and one row per source, country, device, segment,
//! link and rule. Revenue is kept per currency next to each row and is never
//! converted: the funnel's `revenue` is the row's revenue in the campaign's
//! currency, chosen at read time (so a currency change applies to history
//! consistently).

use crate::core::collect::SortedMap;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EventKind {
    Click,
    Conversion,
    TestConversion,
}

/// One update to a rollup. `id` makes it idempotent: the rollup applies each
/// id at most once, so a retried write never double-counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollupEvent {
    pub id: String,
    pub kind: EventKind,
    pub ts: i64,
    #[serde(default)]
    pub bot: bool,
    /// Attribution dimensions; absent for unattributed conversions.
    #[serde(default)]
    pub dims: Option<Dims>,
    #[serde(default)]
    pub value_cents: i64,
    #[serde(default)]
    pub currency: Option<String>,
    /// How many clicks this event stands for: 1, or an hourly aggregate
    /// (`AGGREGATE_ONLY` links) replayed by a rebuild.
    #[serde(default = "one")]
    pub count: i64,
    /// Why a bot click was not qualified (`user_agent`, `head_request`,
    /// `verified_bot`, `bot_score`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_reason: Option<String>,
    /// The visitor key of a qualified click of a `DIRECT` link (an HMAC
    /// under the day's key, never an address): what unique clicks count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor: Option<String>,
}

fn one() -> i64 {
    1
}

impl RollupEvent {
    /// `count` clicks (1, or an hourly aggregate) under one event id.
    pub fn clicks(id: String, ts: i64, bot: bool, dims: Dims, count: i64) -> RollupEvent {
        RollupEvent {
            id,
            kind: EventKind::Click,
            ts,
            bot,
            dims: Some(dims),
            value_cents: 0,
            currency: None,
            count,
            bot_reason: None,
            visitor: None,
        }
    }

    /// The rollup shard key: the visitor when there is one (all clicks of a
    /// visitor meet in one shard, which decides their uniqueness), else the
    /// event id. Stable for an event, so a retry meets its own dedup record.
    pub fn shard_key(&self) -> &str {
        self.visitor.as_deref().unwrap_or(&self.id)
    }

    /// The unique-visitor key of a qualified click: `day:link:visitor`.
    pub fn visitor_key(&self) -> Option<String> {
        if self.kind != EventKind::Click || self.bot {
            return None;
        }
        let (visitor, dims) = (self.visitor.as_deref()?, self.dims.as_ref()?);
        let day = self.ts - self.ts.rem_euclid(crate::core::time::DAY_MS);
        Some(format!("{day}:{}:{visitor}", dims.link))
    }

    /// A conversion (or a test conversion), attributed when `dims` is given.
    pub fn conversion(
        id: String,
        test: bool,
        ts: i64,
        dims: Option<Dims>,
        value_cents: i64,
        currency: String,
    ) -> RollupEvent {
        RollupEvent {
            id,
            kind: if test {
                EventKind::TestConversion
            } else {
                EventKind::Conversion
            },
            ts,
            bot: false,
            dims,
            value_cents,
            currency: Some(currency),
            count: 1,
            bot_reason: None,
            visitor: None,
        }
    }
}

/// Which of `n` rollup shards an event goes to (FNV-1a of its id): stable, so
/// a retried event always meets its own dedup record.
pub fn shard_of(id: &str, n: u32) -> u32 {
    if n <= 1 {
        return 0;
    }
    let mut h: u32 = 0x811c_9dc5;
    for b in id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % n
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dims {
    pub source: String,
    pub country: String,
    /// lower case: mobile / desktop / tablet
    pub device: String,
    pub segment: String,
    pub link: String,
    #[serde(default)]
    pub rule: Option<String>,
    /// `{experimentId}:{variantId}` when the visitor was in an experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Dims {
    /// The dimensions of a click (or of a conversion attributed to it), from
    /// the stored forms: `device` as stored (`MOBILE`) or lower case, `rule`
    /// empty or absent when no rule fired.
    pub fn of(
        link: &str,
        rule: Option<&str>,
        country: &str,
        device: &str,
        source: &str,
        segment: &str,
    ) -> Dims {
        Dims {
            source: source.to_string(),
            country: country.to_string(),
            device: device.to_ascii_lowercase(),
            segment: segment.to_string(),
            link: link.to_string(),
            rule: rule.filter(|r| !r.is_empty()).map(str::to_string),
            variant: None,
        }
    }

    /// The same dimensions, in experiment `experiment`'s variant `variant`.
    pub fn in_experiment(mut self, experiment: Option<&str>, variant: Option<&str>) -> Dims {
        if let (Some(e), Some(v)) = (experiment, variant) {
            self.variant = Some(crate::core::experiment::variant_key(e, v));
        }
        self
    }

    /// The `(dim, value)` rows an attributed event touches, besides the total.
    pub fn rows(&self) -> Vec<(&'static str, &str)> {
        let mut v = vec![
            ("source", self.source.as_str()),
            ("country", self.country.as_str()),
            ("device", self.device.as_str()),
            ("segment", self.segment.as_str()),
            ("link", self.link.as_str()),
        ];
        if let Some(r) = &self.rule {
            v.push(("rule", r.as_str()));
        }
        if let Some(x) = &self.variant {
            v.push(("variant", x.as_str()));
        }
        v
    }
}

pub const GROUP_DIMS: [&str; 7] = [
    "source", "country", "device", "segment", "link", "rule", "variant",
];

/// A counter row as stored and as read back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    pub clicks: i64,
    pub bot_clicks: i64,
    pub conversions: i64,
    pub test_conversions: i64,
    pub last_ms: i64,
    /// currency → cents
    #[serde(default)]
    pub revenue: SortedMap<String, i64>,
    /// Qualified clicks that were a visitor's first on a link that UTC day.
    #[serde(default)]
    pub unique_clicks: i64,
}

impl Counters {
    pub fn add(&mut self, o: &Counters) {
        self.clicks += o.clicks;
        self.bot_clicks += o.bot_clicks;
        self.conversions += o.conversions;
        self.test_conversions += o.test_conversions;
        self.unique_clicks += o.unique_clicks;
        self.last_ms = self.last_ms.max(o.last_ms);
        for (c, v) in &o.revenue {
            *self.revenue.entry(c.clone()).or_default() += v;
        }
    }
    pub fn qualified(&self) -> i64 {
        (self.clicks - self.bot_clicks).max(0)
    }
    pub fn revenue_in(&self, currency: &str) -> f64 {
        cents_to_f64(self.revenue.get(currency).copied().unwrap_or(0))
    }
}

/// A rollup read: `rows[dim][value]`, with the total at `("total", "")`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub rows: SortedMap<String, SortedMap<String, Counters>>,
    /// Events announced to the rollup but not applied yet: clicks whose
    /// ledger write is being replayed through the queue.
    #[serde(default)]
    pub pending: i64,
}

impl Snapshot {
    /// Merge shards of one campaign, or campaigns into an aggregate.
    pub fn merge(&mut self, o: &Snapshot) {
        self.pending += o.pending;
        for (dim, vals) in &o.rows {
            let mine = self.rows.entry(dim.clone()).or_default();
            for (v, c) in vals {
                mine.entry(v.clone()).or_default().add(c);
            }
        }
    }
    /// What a set of events adds to a rollup: the counter deltas of every
    /// `(dim, value)` row they touch, summed. The rollup object writes this
    /// with one upsert per table instead of one statement per event and row.
    pub fn of_events<'a>(events: impl IntoIterator<Item = &'a RollupEvent>) -> Snapshot {
        let mut snap = Snapshot::default();
        for ev in events {
            let n = ev.count.max(1);
            let mut c = Counters::default();
            match ev.kind {
                EventKind::Click => {
                    c.clicks = n;
                    c.bot_clicks = if ev.bot { n } else { 0 };
                    c.last_ms = ev.ts;
                }
                EventKind::Conversion => {
                    c.conversions = 1;
                    c.last_ms = ev.ts;
                    // Every currency seen is listed, a zero sum too.
                    if let Some(cur) = &ev.currency {
                        c.revenue.insert(cur.clone(), ev.value_cents.max(0));
                    }
                }
                EventKind::TestConversion => c.test_conversions = 1,
            }
            let hour = crate::core::time::hour_floor(ev.ts).to_string();
            let mut rows: Vec<(&str, &str)> = vec![("total", "")];
            if ev.kind != EventKind::TestConversion {
                rows.push(("hour", &hour));
                if let Some(d) = &ev.dims {
                    rows.extend(d.rows());
                }
            }
            // Why bot clicks were excluded: one row per reason (not a
            // breakdown of its own: no hour, no dimensions).
            if let (EventKind::Click, true, Some(reason)) = (ev.kind, ev.bot, &ev.bot_reason) {
                let x = Counters {
                    clicks: n,
                    bot_clicks: n,
                    ..Default::default()
                };
                snap.rows
                    .entry("excluded".into())
                    .or_default()
                    .entry(reason.clone())
                    .or_default()
                    .add(&x);
            }
            for (dim, value) in rows {
                snap.bump(dim, value, &c);
            }
        }
        snap
    }

    /// Add `c` to the row `(dim, value)`; the keys are only allocated for a
    /// row not seen yet (a batch mostly repeats the same few values).
    fn bump(&mut self, dim: &str, value: &str, c: &Counters) {
        if !self.rows.contains_key(dim) {
            self.rows.insert(dim.to_string(), SortedMap::new());
        }
        if let Some(values) = self.rows.get_mut(dim) {
            match values.get_mut(value) {
                Some(row) => row.add(c),
                None => values.entry(value.to_string()).or_default().add(c),
            }
        }
    }
    /// Count `delta` unique clicks (1, or −1 when an earlier click of the
    /// same visitor, link and day arrived later and takes the unique over)
    /// on every row the click at `ts` with `dims` counts in.
    pub fn add_unique(&mut self, dims: &Dims, ts: i64, delta: i64) {
        let hour = crate::core::time::hour_floor(ts).to_string();
        let mut rows = vec![("total", ""), ("hour", hour.as_str())];
        rows.extend(dims.rows());
        for (dim, value) in rows {
            self.rows
                .entry(dim.to_string())
                .or_default()
                .entry(value.to_string())
                .or_default()
                .unique_clicks += delta;
        }
    }

    /// Bot clicks per exclusion reason (every reason listed, 0 included).
    pub fn excluded(&self) -> SortedMap<&'static str, i64> {
        const REASONS: [&str; 4] = ["user_agent", "head_request", "verified_bot", "bot_score"];
        let rows = self.rows.get("excluded");
        REASONS
            .iter()
            .map(|r| {
                (
                    *r,
                    rows.and_then(|m| m.get(*r)).map(|c| c.clicks).unwrap_or(0),
                )
            })
            .collect()
    }

    pub fn total(&self) -> Counters {
        self.rows
            .get("total")
            .and_then(|m| m.get(""))
            .cloned()
            .unwrap_or_default()
    }
    /// Rows of one dimension, sorted by qualified clicks descending, then
    /// conversions descending, then value ascending (stable, deterministic).
    pub fn group(&self, dim: &str) -> Vec<(String, Counters)> {
        let mut v: Vec<(String, Counters)> = self
            .rows
            .get(dim)
            .map(|m| m.iter().map(|(k, c)| (k.clone(), c.clone())).collect())
            .unwrap_or_default();
        crate::core::collect::sort_by(&mut v, |a, b| {
            b.1.qualified()
                .cmp(&a.1.qualified())
                .then(b.1.conversions.cmp(&a.1.conversions))
                .then(a.0.cmp(&b.0))
        });
        v
    }
}

pub fn cents_to_f64(c: i64) -> f64 {
    c as f64 / 100.0
}

/// A money amount with at most 2 decimals, as integer cents.
pub fn to_cents(v: f64) -> Option<i64> {
    if !v.is_finite() || !(0.0..=1e13).contains(&v) {
        return None;
    }
    let c = (v * 100.0).round();
    // Reject more than 2 decimals (allowing binary floating point noise).
    if ((v * 100.0) - c).abs() > 1e-6 {
        return None;
    }
    Some(c as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, kind: EventKind, ts: i64, bot: bool, cents: i64) -> RollupEvent {
        RollupEvent {
            id: id.into(),
            kind,
            ts,
            bot,
            dims: Some(Dims {
                source: "facebook".into(),
                country: "GB".into(),
                device: "mobile".into(),
                segment: "paid_social".into(),
                link: "spring".into(),
                rule: id.len().is_multiple_of(2).then(|| "r1".to_string()),
                variant: None,
            }),
            value_cents: cents,
            currency: (cents > 0).then(|| "EUR".to_string()),
            count: 1,
            bot_reason: None,
            visitor: None,
        }
    }

    #[test]
    fn a_zero_sum_currency_is_still_listed() {
        let snap = Snapshot::of_events(&[
            ev("cnv_1", EventKind::Conversion, 5, false, 0),
            RollupEvent::conversion("cnv_2".into(), false, 6, None, 0, "SEK".into()),
        ]);
        let t = snap.total();
        assert_eq!(t.revenue.get("SEK"), Some(&0));
        assert_eq!(t.conversions, 2);
        let report = crate::core::report::funnel_json("c", "USD", &snap);
        assert_eq!(report["revenueByCurrency"]["SEK"], 0.0);
    }

    #[test]
    fn of_events_sums_what_each_event_adds() {
        let hour = 3_600_000 * 500_000;
        let events = vec![
            ev("c1", EventKind::Click, hour + 5, false, 0),
            ev("c22", EventKind::Click, hour + 9, true, 0),
            ev("c333", EventKind::Conversion, hour + 7, false, 1999),
            ev("t1", EventKind::TestConversion, hour + 100, false, 500),
        ];
        let d = Snapshot::of_events(&events);
        let t = d.total();
        assert_eq!(
            (t.clicks, t.bot_clicks, t.conversions, t.test_conversions),
            (2, 1, 1, 1)
        );
        assert_eq!(t.last_ms, hour + 9, "test conversions do not move lastSeen");
        assert_eq!(
            t.revenue.get("EUR"),
            Some(&1999),
            "test conversions carry no revenue"
        );
        let h = &d.rows["hour"][&hour.to_string()];
        assert_eq!((h.clicks, h.conversions, h.test_conversions), (2, 1, 0));
        assert_eq!(d.rows["country"]["GB"].clicks, 2);
        assert_eq!(d.rows["rule"]["r1"].clicks, 1, "only c22 fired r1");
        assert_eq!(d.rows["source"]["facebook"].revenue.get("EUR"), Some(&1999));
        // the batch delta equals the per-event deltas merged
        let mut merged = Snapshot::default();
        for e in &events {
            merged.merge(&Snapshot::of_events([e]));
        }
        assert_eq!(d, merged);
        assert_eq!(Snapshot::of_events(&[]), Snapshot::default());
    }

    #[test]
    fn cents() {
        assert_eq!(to_cents(99.99), Some(9999));
        assert_eq!(to_cents(0.0), Some(0));
        assert_eq!(to_cents(5234.5), Some(523450));
        assert_eq!(to_cents(0.1 + 0.2), Some(30));
        assert_eq!(to_cents(1.005), None);
        assert_eq!(to_cents(-1.0), None);
        assert_eq!(to_cents(f64::NAN), None);
        assert_eq!(to_cents(f64::INFINITY), None);
    }

    fn counters(clicks: i64, bot: i64, conv: i64) -> Counters {
        Counters {
            clicks,
            bot_clicks: bot,
            conversions: conv,
            ..Default::default()
        }
    }

    #[test]
    fn merge_adds_shards() {
        let mut a = Snapshot::default();
        a.rows
            .entry("total".into())
            .or_default()
            .insert(String::new(), counters(3, 1, 1));
        let mut b = a.clone();
        b.rows
            .entry("device".into())
            .or_default()
            .insert("mobile".into(), counters(2, 0, 0));
        a.merge(&b);
        assert_eq!(a.total(), counters(6, 2, 2));
        assert_eq!(a.group("device").len(), 1);
    }

    /// A snapshot's JSON (what the rollup object sends and stores) is the
    /// one `BTreeMap`s produced: keys sorted, maps as objects; and it reads
    /// back the same.
    #[test]
    fn snapshot_json_is_unchanged() {
        let mut s = Snapshot::default();
        let mut eur = counters(3, 1, 1);
        eur.revenue.insert("USD".into(), 5);
        eur.revenue.insert("EUR".into(), 1999);
        s.rows
            .entry("source".into())
            .or_default()
            .insert("mail".into(), eur);
        s.rows
            .entry("device".into())
            .or_default()
            .insert("mobile".into(), counters(2, 0, 0));
        s.pending = 4;
        let golden = r#"{"rows":{"device":{"mobile":{"clicks":2,"botClicks":0,"conversions":0,"testConversions":0,"lastMs":0,"revenue":{},"uniqueClicks":0}},"source":{"mail":{"clicks":3,"botClicks":1,"conversions":1,"testConversions":0,"lastMs":0,"revenue":{"EUR":1999,"USD":5},"uniqueClicks":0}}},"pending":4}"#;
        assert_eq!(serde_json::to_string(&s).unwrap(), golden);
        assert_eq!(serde_json::from_str::<Snapshot>(golden).unwrap(), s);
    }
}
