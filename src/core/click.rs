//! A recorded click, as the redirect hands it to recording: the pure pieces
//! of recording it — its ledger row, the hourly aggregates of
//! `AGGREGATE_ONLY` links (summed per aggregate, no per-visitor data), its
//! rollup event, and the replay schedule when the ledger is down.

use crate::core::collect::SortedMap;
use crate::core::funnel::{Dims, RollupEvent};
use crate::core::link::TrackingMode;
use crate::core::time::hour_floor;
use serde::{Deserialize, Serialize};

/// A click to record after the response went out; also the queue message
/// that replays it when the ledger write failed (`attempt` counts tries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Click {
    pub handle: String,
    pub slug: String,
    pub campaign: String,
    pub mode: TrackingMode,
    pub click_id: String,
    pub country: String,
    /// Stored form: `MOBILE`, `DESKTOP`, `TABLET`.
    pub device: String,
    pub source: String,
    pub referrer_host: Option<String>,
    pub segment: String,
    pub bot_reason: Option<String>,
    pub rule_id: Option<String>,
    pub variant_id: Option<String>,
    pub ts: i64,
    pub attempt: u32,
    /// The batch write this click was first part of, when that write's
    /// outcome is unknown (D1 reported a failure): an `AGGREGATE_ONLY`
    /// increment then only applies if that batch did not commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    /// The visitor key (a qualified click of a `DIRECT` link; see
    /// `core::unique`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor: Option<String>,
    /// The RUNNING experiment the visitor was assigned in (`variant_id` is
    /// then its variant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<String>,
}

/// Replays give up after this many tries (with the capped backoff, ~3 h).
pub const MAX_REPLAYS: u32 = 200;

impl Click {
    pub fn dims(&self) -> Dims {
        Dims::of(
            &self.slug,
            self.rule_id.as_deref(),
            &self.country,
            &self.device,
            &self.source,
            &self.segment,
        )
        .in_experiment(self.experiment_id.as_deref(), self.variant_id.as_deref())
    }

    /// Its JSON, as `serde_json::to_string` writes it (same fields, order
    /// and escapes: tested), written by hand: every tracked redirect
    /// serializes its click, and the derived serializer cost ~5 µs of it in
    /// the wasm (bench/README.md, "Where the tracked redirect's time goes").
    pub fn to_json(&self) -> String {
        use crate::core::emit::{int, json_opt_str, json_str};
        let mut o = String::with_capacity(384);
        o.push_str("{\"handle\":");
        json_str(&mut o, &self.handle);
        o.push_str(",\"slug\":");
        json_str(&mut o, &self.slug);
        o.push_str(",\"campaign\":");
        json_str(&mut o, &self.campaign);
        o.push_str(",\"mode\":\"");
        o.push_str(self.mode.as_str());
        o.push_str("\",\"clickId\":");
        json_str(&mut o, &self.click_id);
        o.push_str(",\"country\":");
        json_str(&mut o, &self.country);
        o.push_str(",\"device\":");
        json_str(&mut o, &self.device);
        o.push_str(",\"source\":");
        json_str(&mut o, &self.source);
        o.push_str(",\"referrerHost\":");
        json_opt_str(&mut o, self.referrer_host.as_deref());
        o.push_str(",\"segment\":");
        json_str(&mut o, &self.segment);
        o.push_str(",\"botReason\":");
        json_opt_str(&mut o, self.bot_reason.as_deref());
        o.push_str(",\"ruleId\":");
        json_opt_str(&mut o, self.rule_id.as_deref());
        o.push_str(",\"variantId\":");
        json_opt_str(&mut o, self.variant_id.as_deref());
        o.push_str(",\"ts\":");
        int(&mut o, self.ts);
        o.push_str(",\"attempt\":");
        int(&mut o, i64::from(self.attempt));
        for (key, v) in [
            (",\"batch\":", &self.batch),
            (",\"visitor\":", &self.visitor),
            (",\"experimentId\":", &self.experiment_id),
        ] {
            if let Some(v) = v {
                o.push_str(key);
                json_str(&mut o, v);
            }
        }
        o.push('}');
        o
    }

    /// The id of a write of this click alone (see `LedgerRows::write_ids`).
    pub fn write_id(&self) -> String {
        format!("c:{}", self.click_id)
    }

    /// Its rollup event's shard key (`RollupEvent::shard_key`), without
    /// building the event: all clicks of a visitor meet in one shard.
    pub fn shard_key(&self) -> &str {
        self.visitor.as_deref().unwrap_or(&self.click_id)
    }

    /// The rollup events of a batch (a click of an `OFF` link has none).
    pub fn rollup_events(batch: &[Click]) -> Vec<RollupEvent> {
        batch
            .iter()
            .filter(|c| c.mode != TrackingMode::Off)
            .map(Click::rollup_event)
            .collect()
    }

    /// Its rollup event (id = click id: applied at most once).
    pub fn rollup_event(&self) -> RollupEvent {
        let mut e = RollupEvent::clicks(
            self.click_id.clone(),
            self.ts,
            self.bot_reason.is_some(),
            self.dims(),
            1,
        );
        e.bot_reason = self.bot_reason.clone();
        e.visitor = self.visitor.clone();
        e
    }

    /// The replay message after failed try `self.attempt`, with its delay in
    /// seconds (doubling, capped at a minute); None once it has had
    /// `MAX_REPLAYS` tries.
    pub fn next_replay(&self) -> Option<(Click, u32)> {
        if self.attempt >= MAX_REPLAYS {
            return None;
        }
        let delay = crate::core::backoff::doubling_secs(self.attempt, 2, 60);
        Some((
            Click {
                attempt: self.attempt + 1,
                ..self.clone()
            },
            delay,
        ))
    }
}

/// The ledger rows of a batch of clicks, each as one JSON array for the
/// `json_each` statements: per-click rows (`DIRECT`), and hourly aggregate
/// increments (`AGGREGATE_ONLY`) summed per aggregate key, so a batch adds one
/// increment per key. `OFF` clicks have no row.
#[derive(Debug, Default, PartialEq)]
pub struct LedgerRows<'a> {
    /// `[click_id, handle, slug, campaign, rule_id, variant_id, country,
    /// device, source, referrer_host, segment, bot, bot_reason, ts, visitor,
    /// experiment_id]`, borrowed from the clicks (serialized as arrays
    /// without building JSON values first)
    pub clicks: Vec<ClickRow<'a>>,
    /// `[handle, campaign, hour, slug, rule_id|"", country, device, source,
    /// bot, bot_reason|"", clicks, last_ts]`
    pub aggregates: Vec<AggregateRow<'a>>,
}

/// An hourly aggregate increment (see `LedgerRows::aggregates`), serialized
/// as an array.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AggregateRow<'a>(
    &'a str,
    &'a str,
    i64,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    i64,
    &'a str,
    i64,
    i64,
);

/// A click's ledger row (see `LedgerRows::clicks`), serialized as an array.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClickRow<'a>(
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    &'a str,
    i64,
    Option<&'a str>,
    i64,
    Option<&'a str>,
    Option<&'a str>,
);

impl<'a> LedgerRows<'a> {
    pub fn of(batch: &'a [Click]) -> LedgerRows<'a> {
        type Key<'a> = (
            &'a str,
            &'a str,
            i64,
            &'a str,
            &'a str,
            &'a str,
            &'a str,
            &'a str,
            &'a str,
        );
        let mut clicks = Vec::new();
        let mut sums: SortedMap<Key, (i64, i64)> = SortedMap::new();
        for c in batch {
            match c.mode {
                TrackingMode::Off => {}
                TrackingMode::Direct => clicks.push(ClickRow(
                    c.click_id.as_str(),
                    c.handle.as_str(),
                    c.slug.as_str(),
                    c.campaign.as_str(),
                    c.rule_id.as_deref(),
                    c.variant_id.as_deref(),
                    c.country.as_str(),
                    c.device.as_str(),
                    c.source.as_str(),
                    c.referrer_host.as_deref(),
                    c.segment.as_str(),
                    i64::from(c.bot_reason.is_some()),
                    c.bot_reason.as_deref(),
                    c.ts,
                    c.visitor.as_deref(),
                    c.experiment_id.as_deref(),
                )),
                TrackingMode::AggregateOnly => {
                    let key = (
                        c.handle.as_str(),
                        c.campaign.as_str(),
                        hour_floor(c.ts),
                        c.slug.as_str(),
                        c.rule_id.as_deref().unwrap_or(""),
                        c.country.as_str(),
                        c.device.as_str(),
                        c.source.as_str(),
                        c.bot_reason.as_deref().unwrap_or(""),
                    );
                    let sum = sums.entry(key).or_insert((0, 0));
                    sum.0 += 1;
                    sum.1 = sum.1.max(c.ts);
                }
            }
        }
        let aggregates = sums
            .into_iter()
            .map(
                |((h, c, hour, slug, rule, country, device, source, reason), (n, last))| {
                    let bot = i64::from(!reason.is_empty());
                    AggregateRow(
                        h, c, hour, slug, rule, country, device, source, bot, reason, n, last,
                    )
                },
            )
            .collect();
        LedgerRows { clicks, aggregates }
    }
}

/// One stored hourly aggregate of an `AGGREGATE_ONLY` link, replayed by a
/// rebuild as one event standing for all its clicks. Its id names the
/// aggregate, so a repeated rebuild step is applied once.
/// `bot_reason` is empty for qualified clicks.
#[allow(clippy::too_many_arguments)]
pub fn aggregate_event(
    hour: i64,
    slug: &str,
    rule_id: &str,
    country: &str,
    device: &str,
    source: &str,
    bot_reason: &str,
    clicks: i64,
    last_ts: i64,
) -> RollupEvent {
    let segment = format!("{}:{}", device.to_ascii_lowercase(), source);
    let bot = !bot_reason.is_empty();
    let mut e = RollupEvent::clicks(
        format!("agg:{hour}:{slug}:{rule_id}:{country}:{device}:{source}:{bot_reason}"),
        last_ts.max(hour),
        bot,
        Dims::of(slug, Some(rule_id), country, device, source, &segment),
        clicks,
    );
    e.bot_reason = bot.then(|| bot_reason.to_string());
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::funnel::EventKind;
    use serde_json::json;

    #[test]
    fn shard_key_is_the_events_and_off_clicks_have_no_event() {
        let mut c = click("clk_a", TrackingMode::Direct, 0, false);
        assert_eq!(c.shard_key(), c.rollup_event().shard_key());
        c.visitor = Some("v1".into());
        assert_eq!((c.shard_key(), c.rollup_event().shard_key()), ("v1", "v1"));
        let off = click("clk_b", TrackingMode::Off, 0, false);
        let ids: Vec<String> = Click::rollup_events(&[c, off])
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, ["clk_a"]);
    }

    fn click(id: &str, mode: TrackingMode, ts: i64, bot: bool) -> Click {
        Click {
            handle: "demo".into(),
            slug: "promo".into(),
            campaign: "spring".into(),
            mode,
            click_id: id.into(),
            country: "DE".into(),
            device: "MOBILE".into(),
            source: "email".into(),
            referrer_host: None,
            segment: "mobile:email".into(),
            bot_reason: bot.then(|| "user_agent".to_string()),
            rule_id: None,
            variant_id: None,
            ts,
            attempt: 1,
            batch: None,
            visitor: None,
            experiment_id: None,
        }
    }

    #[test]
    fn to_json_is_what_serde_writes_and_reads_back() {
        let plain = click("clk_a", TrackingMode::Direct, 1_772_020_800_005, false);
        let mut full = click("clk_b", TrackingMode::AggregateOnly, -1, true);
        full.referrer_host = Some("news.example".into());
        full.rule_id = Some("uk \"only\"".into());
        full.variant_id = Some("b\\\n\u{1}é".into());
        full.batch = Some("w:1".into());
        full.visitor = Some("0123abcd".into());
        full.experiment_id = Some("spring-test".into());
        full.attempt = u32::MAX;
        let off = click("clk_c", TrackingMode::Off, 0, false);
        for c in [plain, full, off] {
            let json = c.to_json();
            assert_eq!(json, serde_json::to_string(&c).unwrap());
            assert_eq!(serde_json::from_str::<Click>(&json).unwrap(), c);
        }
    }

    proptest::proptest! {
        #[test]
        fn to_json_is_what_serde_writes_for_any_text(
            texts in proptest::collection::vec(proptest::prelude::any::<String>(), 8),
            some in proptest::collection::vec(proptest::prelude::any::<bool>(), 7),
            ts in proptest::prelude::any::<i64>(),
        ) {
            let opt = |i: usize| some[i].then(|| texts[i].clone());
            let mut c = click(&texts[0], TrackingMode::Direct, ts, false);
            c.source = texts[1].clone();
            c.segment = texts[2].clone();
            c.referrer_host = opt(0);
            c.bot_reason = opt(1);
            c.rule_id = opt(2);
            c.variant_id = opt(3);
            c.batch = opt(4);
            c.visitor = opt(5);
            c.experiment_id = opt(6);
            c.country = texts[7].clone();
            proptest::prop_assert_eq!(c.to_json(), serde_json::to_string(&c).unwrap());
        }
    }

    #[test]
    fn ledger_rows_split_by_mode_and_sum_aggregates() {
        let h = 1_772_020_800_000;
        let batch = [
            click("clk_a", TrackingMode::Direct, h + 5, false),
            click("clk_b", TrackingMode::AggregateOnly, h + 1, false),
            click("clk_c", TrackingMode::AggregateOnly, h + 9, false),
            click("clk_d", TrackingMode::AggregateOnly, h + 3, true),
            click("clk_e", TrackingMode::Off, h, false),
        ];
        let rows = LedgerRows::of(&batch);
        assert_eq!(rows.clicks.len(), 1);
        let row = serde_json::to_value(rows.clicks[0]).unwrap();
        assert_eq!(row[0], "clk_a");
        assert_eq!(row[11], 0);
        assert_eq!(
            serde_json::to_value(&rows.aggregates).unwrap(),
            json!([
                json!([
                    "demo",
                    "spring",
                    h,
                    "promo",
                    "",
                    "DE",
                    "MOBILE",
                    "email",
                    0,
                    "",
                    2,
                    h + 9
                ]),
                json!([
                    "demo",
                    "spring",
                    h,
                    "promo",
                    "",
                    "DE",
                    "MOBILE",
                    "email",
                    1,
                    "user_agent",
                    1,
                    h + 3
                ]),
            ])
        );
        assert_eq!(LedgerRows::of(&[]), LedgerRows::default());
    }

    #[test]
    fn events_carry_dims_in_report_form() {
        let e = click("clk_a", TrackingMode::Direct, 7, true).rollup_event();
        assert_eq!(
            (e.kind, e.bot, e.count, e.ts),
            (EventKind::Click, true, 1, 7)
        );
        let d = e.dims.unwrap();
        assert_eq!((d.device.as_str(), d.rule), ("mobile", None));
        assert_eq!(e.bot_reason.as_deref(), Some("user_agent"));
        let a = aggregate_event(3_600_000, "promo", "", "DE", "TABLET", "qr", "", 4, 0);
        assert_eq!(a.id, "agg:3600000:promo::DE:TABLET:qr:");
        assert!(!a.bot && a.bot_reason.is_none());
        let b = aggregate_event(
            3_600_000,
            "promo",
            "",
            "DE",
            "TABLET",
            "qr",
            "head_request",
            2,
            0,
        );
        assert_eq!(
            (b.bot, b.bot_reason.as_deref()),
            (true, Some("head_request"))
        );
        assert_eq!((a.ts, a.count), (3_600_000, 4));
        assert_eq!(a.dims.unwrap().segment, "tablet:qr");
    }

    #[test]
    fn the_queue_message_keeps_its_wire_form() {
        let c = click("clk_a", TrackingMode::AggregateOnly, 7, false);
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["mode"], "AGGREGATE_ONLY");
        assert_eq!(v["clickId"], "clk_a");
        assert_eq!(serde_json::from_value::<Click>(v).unwrap(), c);
    }

    #[test]
    fn replays_back_off_and_stop() {
        let mut c = click("clk_a", TrackingMode::Direct, 7, false);
        let (next, delay) = c.next_replay().unwrap();
        assert_eq!((next.attempt, delay), (2, 2));
        c.attempt = 10;
        assert_eq!(c.next_replay().unwrap().1, 60);
        c.attempt = MAX_REPLAYS;
        assert!(c.next_replay().is_none());
    }
}
