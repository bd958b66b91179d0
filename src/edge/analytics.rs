//! `GET …/analytics` (funnel, aggregate, groupBy, time series), the campaign
//! health check, and `POST …/campaigns/{id}/rollup/rebuild`.
//! Reads come from the rollup objects only: their cost does not grow with the
//! number of clicks.

use crate::core::error::{ApiError, ApiResult};
use crate::core::funnel::{
    aggregate_json, funnel_json, group_json, group_key, timeseries, Counters, Dims, EventKind,
    Interval, RollupEvent, Snapshot, GROUP_DIMS,
};
use crate::core::health::{report, Facts, PrimaryLink};
use crate::core::ids::{CampaignId, Handle};
use crate::core::time::{parse_rfc3339, rfc3339, DAY_MS, HOUR_MS};
use crate::edge::campaigns::{self, CampaignRow};
use crate::edge::conversions::{conversion_event, ConversionRow};
use crate::edge::db::{int, text};
use crate::edge::http::{self, Query};
use crate::edge::{links, rollup, webhooks, Ctx};
use serde::Deserialize;
use serde_json::json;
use worker::{Request, Response};

/// Campaigns considered for the all-campaign view.
const MAX_AGGREGATE_CAMPAIGNS: usize = 1000;
const FUNNELS_SHOWN: usize = 50;
const MAX_SERIES_DAYS: i64 = 400;

async fn snapshot(ctx: &Ctx, h: &Handle, campaign: &str) -> ApiResult<Snapshot> {
    rollup::snapshot(&ctx.env, h, campaign, ctx.cfg.rollup_shards).await
}

pub async fn get(ctx: &Ctx, req: &Request, h: Handle) -> ApiResult<Response> {
    let q = Query::of(req);
    let campaign_id = q
        .get("campaignId")
        .filter(|c| !c.is_empty())
        .map(CampaignId::parse)
        .transpose()?;
    if let Some(f) = q.get("funnel") {
        if f != "true" && f != "false" {
            return Err(ApiError::field("funnel", "must be true or false"));
        }
    }
    if let Some(dim) = q.get("groupBy") {
        if !GROUP_DIMS.contains(&dim) {
            return Err(ApiError::field(
                "groupBy",
                "must be one of segment, source, country, device, link, rule",
            ));
        }
        let id =
            campaign_id.ok_or_else(|| ApiError::field("campaignId", "is required with groupBy"))?;
        let c = campaigns::load(ctx, &h, id.as_str()).await?;
        let snap = snapshot(ctx, &h, id.as_str()).await?;
        return http::ok(json!({
            "campaignId": id.as_str(),
            "groupBy": dim,
            "currency": c.currency,
            group_key(dim): group_json(dim, &c.currency, &snap),
        }));
    }
    if q.get("from").is_some() || q.get("to").is_some() || q.get("interval").is_some() {
        let id = campaign_id
            .ok_or_else(|| ApiError::field("campaignId", "is required for a time series"))?;
        return series(ctx, &q, &h, &id).await;
    }
    match campaign_id {
        Some(id) => {
            let c = campaigns::load(ctx, &h, id.as_str()).await?;
            let snap = snapshot(ctx, &h, id.as_str()).await?;
            http::ok(json!({"funnel": [funnel_json(id.as_str(), &c.currency, &snap)]}))
        }
        None => aggregate(ctx, &h).await,
    }
}

async fn aggregate(ctx: &Ctx, h: &Handle) -> ApiResult<Response> {
    let rows = ctx
        .db
        .all::<CampaignRow>(
            "SELECT campaign_id, name, goal_type, status, tracking_preset, conversion_event_type, currency, primary_slug, \
             details_page_slug, created_at, updated_at, activated_at FROM campaigns WHERE handle = ? ORDER BY updated_at DESC LIMIT ?",
            &[text(h.as_str()), int(MAX_AGGREGATE_CAMPAIGNS as i64)],
        )
        .await?;
    let snaps =
        futures_util::future::join_all(rows.iter().map(|c| snapshot(ctx, h, &c.campaign_id))).await;
    let mut total = Counters::default();
    let mut funnels: Vec<(i64, serde_json::Value)> = Vec::with_capacity(rows.len());
    let currencies: std::collections::BTreeSet<&str> =
        rows.iter().map(|c| c.currency.as_str()).collect();
    for (c, snap) in rows.iter().zip(snaps) {
        let snap = snap?;
        let t = snap.total();
        total.add(&t);
        funnels.push((t.last_ms, funnel_json(&c.campaign_id, &c.currency, &snap)));
    }
    funnels.sort_by(|a, b| b.0.cmp(&a.0));
    let truncated = funnels.len() > FUNNELS_SHOWN;
    funnels.truncate(FUNNELS_SHOWN);
    let shared_currency = if currencies.len() == 1 {
        currencies.iter().next().copied()
    } else {
        None
    };
    http::ok(json!({
        "aggregate": aggregate_json(&total, shared_currency.or(if rows.is_empty() { Some("USD") } else { None }), rows.len()),
        "funnel": funnels.into_iter().map(|(_, f)| f).collect::<Vec<_>>(),
        "truncated": truncated,
    }))
}

async fn series(ctx: &Ctx, q: &Query, h: &Handle, id: &CampaignId) -> ApiResult<Response> {
    let now = http::now_ms();
    let to = match q.get("to") {
        Some(t) => parse_rfc3339(t)
            .ok_or_else(|| ApiError::field("to", "must be an RFC 3339 timestamp"))?,
        None => now,
    };
    let from = match q.get("from") {
        Some(t) => parse_rfc3339(t)
            .ok_or_else(|| ApiError::field("from", "must be an RFC 3339 timestamp"))?,
        None => to - 7 * DAY_MS,
    };
    if from >= to {
        return Err(ApiError::field("from", "must be before to"));
    }
    if to - from > MAX_SERIES_DAYS * DAY_MS {
        return Err(ApiError::field(
            "from",
            "must be at most 400 days before to",
        ));
    }
    let interval = match q.get("interval") {
        Some(v) => {
            Interval::parse(v).ok_or_else(|| ApiError::field("interval", "must be hour or day"))?
        }
        None if to - from > 3 * DAY_MS => Interval::Day,
        None => Interval::Hour,
    };
    if interval == Interval::Hour && (to - from) / HOUR_MS > 24 * 31 {
        return Err(ApiError::field(
            "interval",
            "hour allows at most 31 days; use day",
        ));
    }
    let c = campaigns::load(ctx, h, id.as_str()).await?;
    let rows = rollup::series(&ctx.env, h, id.as_str(), ctx.cfg.rollup_shards).await?;
    http::ok(json!({
        "campaignId": id.as_str(),
        "interval": interval.as_str(),
        "from": rfc3339(from),
        "to": rfc3339(to),
        "currency": c.currency,
        "timeseries": timeseries(&rows, from, to, interval, &c.currency),
    }))
}

pub async fn health(ctx: &Ctx, h: Handle, id: CampaignId) -> ApiResult<Response> {
    let c = campaigns::load(ctx, &h, id.as_str()).await?;
    let primary_link = match &c.primary_slug {
        None => PrimaryLink::NotSet,
        Some(slug) => match links::load(ctx, &h, slug).await? {
            None => PrimaryLink::Missing(slug.clone()),
            Some(l) => PrimaryLink::Found {
                slug: slug.clone(),
                campaign_id: l.campaign_id,
            },
        },
    };
    let t = snapshot(ctx, &h, id.as_str()).await?.total();
    let facts = Facts {
        campaign_id: c.campaign_id.clone(),
        tracking_preset: c.tracking_preset.clone(),
        conversion_event_type: c.conversion_event_type.clone(),
        primary_link,
        status: c.status(),
        tracked_clicks: t.clicks,
        last_seen_ms: t.last_ms,
        test_conversions: t.test_conversions,
        conversion_webhooks: webhooks::conversion_subscriptions(ctx, &h).await?,
    };
    http::ok(report(&facts))
}

#[derive(Deserialize)]
struct ClickLedgerRow {
    click_id: String,
    slug: String,
    rule_id: Option<String>,
    country: String,
    device: String,
    source: String,
    segment: String,
    bot: i64,
    ts: i64,
}

#[derive(Deserialize)]
struct AggregateRow {
    hour: i64,
    slug: String,
    rule_id: String,
    country: String,
    device: String,
    source: String,
    bot: i64,
    clicks: i64,
    last_ts: i64,
}

const PAGE: i64 = 2000;

/// Rebuild a campaign's rollup from the D1 ledger. Events keep their ids, so
/// clicks arriving during a rebuild are still counted exactly once.
pub async fn rebuild(ctx: &Ctx, h: Handle, id: CampaignId) -> ApiResult<Response> {
    let c = campaigns::load(ctx, &h, id.as_str()).await?;
    let shards = ctx.cfg.rollup_shards;
    rollup::reset(&ctx.env, &h, id.as_str(), shards).await?;
    let (mut clicks, mut conversions) = (0usize, 0usize);
    let mut after = String::new();
    loop {
        let rows = ctx
            .db
            .all::<ClickLedgerRow>(
                "SELECT click_id, slug, rule_id, country, device, source, segment, bot, ts FROM clicks \
                 WHERE handle = ? AND campaign_id = ? AND click_id > ? ORDER BY click_id LIMIT ?",
                &[text(h.as_str()), text(id.as_str()), text(&after), int(PAGE)],
            )
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.click_id.clone();
        clicks += rows.len();
        let n = rows.len() as i64;
        let events = rows
            .into_iter()
            .map(|r| RollupEvent {
                id: r.click_id,
                kind: EventKind::Click,
                ts: r.ts,
                bot: r.bot != 0,
                dims: Some(Dims {
                    source: r.source,
                    country: r.country,
                    device: r.device.to_ascii_lowercase(),
                    segment: r.segment,
                    link: r.slug,
                    rule: r.rule_id,
                }),
                value_cents: 0,
                currency: None,
                count: 1,
            })
            .collect();
        rollup::apply(&ctx.env, &h, id.as_str(), shards, events).await?;
        if n < PAGE {
            break;
        }
    }
    let aggs = ctx
        .db
        .all::<AggregateRow>(
            "SELECT hour, slug, rule_id, country, device, source, bot, clicks, last_ts FROM click_aggregates WHERE handle = ? AND campaign_id = ?",
            &[text(h.as_str()), text(id.as_str())],
        )
        .await?;
    let agg_events: Vec<RollupEvent> = aggs
        .into_iter()
        .map(|r| {
            clicks += r.clicks as usize;
            let seg = format!("{}:{}", r.device.to_ascii_lowercase(), r.source);
            RollupEvent {
                id: format!(
                    "agg:{}:{}:{}:{}:{}:{}:{}",
                    r.hour, r.slug, r.rule_id, r.country, r.device, r.source, r.bot
                ),
                kind: EventKind::Click,
                ts: r.last_ts.max(r.hour),
                bot: r.bot != 0,
                dims: Some(Dims {
                    source: r.source,
                    country: r.country,
                    device: r.device.to_ascii_lowercase(),
                    segment: seg,
                    link: r.slug,
                    rule: (!r.rule_id.is_empty()).then_some(r.rule_id),
                }),
                value_cents: 0,
                currency: None,
                count: r.clicks,
            }
        })
        .collect();
    rollup::apply(&ctx.env, &h, id.as_str(), shards, agg_events).await?;
    let mut after = String::new();
    loop {
        let rows = ctx
            .db
            .all::<ConversionRow>(
                "SELECT conversion_id, slug, rule_id, country, device, source, segment, value_cents, currency, occurred_at, test, created_at \
                 FROM conversions WHERE handle = ? AND campaign_id = ? AND conversion_id > ? ORDER BY conversion_id LIMIT ?",
                &[text(h.as_str()), text(id.as_str()), text(&after), int(PAGE)],
            )
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.conversion_id.clone();
        conversions += rows.len();
        let n = rows.len() as i64;
        rollup::apply(
            &ctx.env,
            &h,
            id.as_str(),
            shards,
            rows.iter().map(conversion_event).collect(),
        )
        .await?;
        if n < PAGE {
            break;
        }
    }
    let snap = snapshot(ctx, &h, id.as_str()).await?;
    http::ok(json!({
        "campaignId": id.as_str(),
        "rebuilt": {"clicks": clicks, "conversions": conversions},
        "funnel": [funnel_json(id.as_str(), &c.currency, &snap)],
    }))
}
