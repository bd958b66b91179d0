//! The analytics responses: the funnel entry, the all-campaign aggregate,
//! the `groupBy` rows and the time series, rendered from rollup snapshots
//! (`core::funnel`) with the rates and intervals of `core::stats`.

use crate::core::collect::SortedMap;
use crate::core::funnel::{cents_to_f64, Counters, Snapshot};
use crate::core::stats::{confidence, conversion_rate, wilson};
use crate::core::time::{rfc3339, DAY_MS, HOUR_MS};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The Wilson interval as served (`{lo, hi}`, 4 decimals like the rate), so
/// clients show it without re-deriving it.
fn interval_json(conversions: i64, qualified: i64) -> Value {
    let (lo, hi) = wilson(conversions, qualified);
    let r4 = |v: f64| (v * 10_000.0).round() / 10_000.0;
    json!({"lo": r4(lo), "hi": r4(hi)})
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn rate_json(conversions: i64, qualified: i64) -> f64 {
    (conversion_rate(conversions, qualified) * 10_000.0).round() / 10_000.0
}

/// One breakdown entry. `count` is qualified clicks (as documented, where the
/// breakdown counts sum to `qualifiedClicks`).
fn breakdown_entry(key: &str, value: &str, c: &Counters, currency: &str) -> Value {
    json!({
        key: value,
        "count": c.qualified(),
        "clicks": c.clicks,
        "qualifiedClicks": c.qualified(),
        "conversions": c.conversions,
        "revenue": round2(c.revenue_in(currency)),
    })
}

/// The counters shared by a campaign funnel and the aggregate.
fn counters_json(t: &Counters, currency: &str) -> Map<String, Value> {
    let mut by_currency = Map::new();
    for (c, v) in &t.revenue {
        by_currency.insert(c.clone(), json!(round2(cents_to_f64(*v))));
    }
    let mut m = Map::new();
    m.insert("clicks".into(), json!(t.clicks));
    m.insert("botClicks".into(), json!(t.bot_clicks));
    m.insert("qualifiedClicks".into(), json!(t.qualified()));
    m.insert("uniqueClicks".into(), json!(t.unique_clicks));
    m.insert("conversions".into(), json!(t.conversions));
    m.insert("revenue".into(), json!(round2(t.revenue_in(currency))));
    m.insert("currency".into(), json!(currency));
    m.insert("revenueByCurrency".into(), Value::Object(by_currency));
    m.insert("testConversions".into(), json!(t.test_conversions));
    m.insert(
        "conversionRate".into(),
        json!(rate_json(t.conversions, t.qualified())),
    );
    m.insert(
        "confidence".into(),
        json!(confidence(t.conversions, t.qualified())),
    );
    m.insert(
        "interval".into(),
        interval_json(t.conversions, t.qualified()),
    );
    m.insert(
        "lastSeenAt".into(),
        if t.last_ms > 0 {
            json!(rfc3339(t.last_ms))
        } else {
            Value::Null
        },
    );
    m
}

/// The documented funnel entry for one campaign.
pub fn funnel_json(campaign_id: &str, currency: &str, s: &Snapshot) -> Value {
    let t = s.total();
    let mut m = Map::new();
    m.insert("campaignId".into(), json!(campaign_id));
    m.extend(counters_json(&t, currency));
    m.insert("excluded".into(), json!(s.excluded()));
    let bd = |dim: &str| -> Value {
        Value::Array(
            s.group(dim)
                .iter()
                .map(|(v, c)| breakdown_entry(dim, v, c, currency))
                .collect(),
        )
    };
    m.insert(
        "breakdown".into(),
        json!({"source": bd("source"), "country": bd("country"), "device": bd("device")}),
    );
    if let Some(note) = conversions_note(&t, &s.excluded()) {
        m.insert("notes".into(), json!([note]));
    }
    Value::Object(m)
}

/// A word when the conversions outnumber the qualified clicks (a rate of 0 %
/// beside conversions, or above 100 %, would otherwise read as a bug):
/// conversions count whatever their click was, qualified clicks exclude bots.
fn conversions_note(t: &Counters, excluded: &SortedMap<&str, i64>) -> Option<String> {
    let q = t.qualified();
    if t.conversions <= q {
        return None;
    }
    let reasons: Vec<String> = excluded
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(r, n)| format!("{n} {r}"))
        .collect();
    let why = if reasons.is_empty() {
        String::new()
    } else {
        format!(" (not counted: {})", reasons.join(", "))
    };
    Some(format!(
        "{} conversion(s) but {q} qualified click(s){why}: a conversion counts whatever its click was — \
         a click classified as a bot (e.g. a script or curl's own User-Agent), or none when posted with \
         campaignId only — while qualified clicks exclude bots, so conversionRate (conversions / qualified \
         clicks) reads 0 without a qualified click and can exceed 1.",
        t.conversions
    ))
}

/// The all-campaign aggregate: counters only. `revenue` is reported in
/// `currency` when every campaign shares it; otherwise only `revenueByCurrency`
/// is meaningful and `currency` is null.
pub fn aggregate_json(
    total: &Counters,
    excluded: &SortedMap<&str, i64>,
    currency: Option<&str>,
    campaigns: usize,
) -> Value {
    let mut m = counters_json(total, currency.unwrap_or(""));
    m.insert("excluded".into(), json!(excluded));
    if currency.is_none() {
        m.insert("currency".into(), Value::Null);
        m.insert("revenue".into(), Value::Null);
    }
    m.insert("campaigns".into(), json!(campaigns));
    Value::Object(m)
}

/// `groupBy=<dim>` response entries.
pub fn group_json(dim: &str, currency: &str, s: &Snapshot) -> Vec<Value> {
    s.group(dim)
        .iter()
        .map(|(v, c)| {
            json!({
                dim: v,
                "clicks": c.clicks,
                "qualifiedClicks": c.qualified(),
                "uniqueClicks": c.unique_clicks,
                "conversions": c.conversions,
                "revenue": round2(c.revenue_in(currency)),
                "conversionRate": rate_json(c.conversions, c.qualified()),
                "interval": interval_json(c.conversions, c.qualified()),
            })
        })
        .collect()
}

/// The plural key for a `groupBy` response: `segments`, `sources`, …
pub fn group_key(dim: &str) -> &'static str {
    match dim {
        "segment" => "segments",
        "source" => "sources",
        "country" => "countries",
        "device" => "devices",
        "link" => "links",
        "variant" => "variants",
        _ => "rules",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Hour,
    Day,
}

impl Interval {
    pub fn parse(s: &str) -> Option<Interval> {
        match s {
            "hour" => Some(Interval::Hour),
            "day" => Some(Interval::Day),
            _ => None,
        }
    }
    pub fn ms(self) -> i64 {
        match self {
            Interval::Hour => HOUR_MS,
            Interval::Day => DAY_MS,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Hour => "hour",
            Interval::Day => "day",
        }
    }
}

/// An hourly bucket read from a rollup.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HourRow {
    pub hour: i64,
    pub c: Counters,
}

/// Dense time series from `from` (inclusive) to `to` (exclusive), every bucket
/// present (zeros included) so charts need no gap logic.
pub fn timeseries(
    rows: &[HourRow],
    from: i64,
    to: i64,
    interval: Interval,
    currency: &str,
) -> Vec<Value> {
    let step = interval.ms();
    let start = from.div_euclid(step) * step;
    let mut buckets: SortedMap<i64, Counters> = SortedMap::new();
    let mut t = start;
    while t < to {
        buckets.insert(t, Counters::default());
        t += step;
    }
    // Rows are hourly; a bucket counts every row inside it, so the first bucket
    // is whole even when `from` is not on a bucket boundary.
    for r in rows {
        if r.hour >= start && r.hour < to {
            let b = r.hour.div_euclid(step) * step;
            if let Some(c) = buckets.get_mut(&b) {
                c.add(&r.c);
            }
        }
    }
    buckets
        .iter()
        .map(|(t, c)| {
            json!({
                "t": rfc3339(*t),
                "clicks": c.clicks,
                "qualifiedClicks": c.qualified(),
                "uniqueClicks": c.unique_clicks,
                "conversions": c.conversions,
                "revenue": round2(c.revenue_in(currency)),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(clicks: i64, bot: i64, conv: i64) -> Counters {
        Counters {
            clicks,
            bot_clicks: bot,
            conversions: conv,
            ..Default::default()
        }
    }

    #[test]
    fn funnel_shape_and_breakdown_order() {
        let mut s = Snapshot::default();
        let mut total = counters(1250, 50, 47);
        total.revenue.insert("USD".into(), 523450);
        total.revenue.insert("EUR".into(), 1000);
        total.last_ms = 1_772_022_896_000;
        s.rows
            .entry("total".into())
            .or_default()
            .insert(String::new(), total);
        let src = s.rows.entry("source".into()).or_default();
        src.insert("social".into(), counters(420, 20, 10));
        src.insert("email".into(), counters(830, 30, 37));
        let f = funnel_json("spring-launch", "USD", &s);
        assert_eq!(f["clicks"], 1250);
        assert_eq!(f["qualifiedClicks"], 1200);
        assert_eq!(f["revenue"], 5234.5);
        assert_eq!(f["revenueByCurrency"]["EUR"], 10.0);
        assert_eq!(f["lastSeenAt"], "2026-02-25T12:34:56.000Z");
        assert_eq!(f["breakdown"]["source"][0]["source"], "email");
        assert_eq!(f["breakdown"]["source"][0]["count"], 800);
        assert_eq!(f["breakdown"]["source"][1]["count"], 400);
        assert_eq!(f["breakdown"]["country"], json!([]));
        assert_eq!(f["conversionRate"], 0.0392);
    }

    #[test]
    fn dense_series() {
        let rows = vec![
            HourRow {
                hour: 0,
                c: counters(2, 0, 1),
            },
            HourRow {
                hour: 2 * HOUR_MS,
                c: counters(3, 1, 0),
            },
        ];
        let s = timeseries(&rows, 0, 4 * HOUR_MS, Interval::Hour, "USD");
        assert_eq!(s.len(), 4);
        assert_eq!(s[1]["clicks"], 0);
        assert_eq!(s[2]["qualifiedClicks"], 2);
        // `from` in the middle of the first bucket still counts the whole bucket
        let mid = timeseries(&rows, HOUR_MS / 2, 4 * HOUR_MS, Interval::Hour, "USD");
        assert_eq!(mid[0]["clicks"], 2);
        let d = timeseries(&rows, 0, DAY_MS, Interval::Day, "USD");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0]["clicks"], 5);
    }

    #[test]
    fn a_note_when_conversions_outnumber_qualified_clicks() {
        let mut t = Counters {
            clicks: 1,
            bot_clicks: 1,
            conversions: 1,
            ..Counters::default()
        };
        let ex: SortedMap<&str, i64> = [("user_agent", 1), ("head_request", 0)].into();
        let n = conversions_note(&t, &ex).unwrap();
        assert!(
            n.starts_with("1 conversion(s) but 0 qualified click(s) (not counted: 1 user_agent): "),
            "{n}"
        );
        t.clicks = 3;
        assert!(
            conversions_note(&t, &ex).is_none(),
            "2 qualified clicks, 1 conversion: nothing to explain"
        );
    }
}
