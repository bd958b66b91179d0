//! `GET …/analytics` (funnel, aggregate, groupBy, time series) and the
//! campaign health check.
//! Reads come from the rollup objects only: their cost does not grow with the
//! number of clicks.

use crate::core::collect;
use crate::core::error::{ApiError, ApiResult};
use crate::core::funnel::{Counters, Snapshot, GROUP_DIMS};
use crate::core::health::{report, Facts, PrimaryLink};
use crate::core::ids::{CampaignId, Handle};
use crate::core::report::{
    aggregate_json, funnel_json, group_json, group_key, timeseries, Interval,
};
use crate::core::time::{parse_rfc3339, rfc3339, DAY_MS, HOUR_MS};
use crate::edge::campaigns::{self, CampaignRow};
use crate::edge::ctx::Ctx;
use crate::edge::db::{int, text};
use crate::edge::http::{self, Query};
use crate::edge::{consistency, links, rollup, webhooks};
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
                "must be one of segment, source, country, device, link, rule, variant",
            ));
        }
        let id =
            campaign_id.ok_or_else(|| ApiError::field("campaignId", "is required with groupBy"))?;
        return campaign_read(ctx, &h, &id, |c, snap| {
            json!({
                "campaignId": id.as_str(),
                "groupBy": dim,
                "currency": c.currency,
                group_key(dim): group_json(dim, &c.currency, snap),
            })
        })
        .await;
    }
    if q.get("from").is_some() || q.get("to").is_some() || q.get("interval").is_some() {
        let id = campaign_id
            .ok_or_else(|| ApiError::field("campaignId", "is required for a time series"))?;
        return series(ctx, &q, &h, &id).await;
    }
    match campaign_id {
        Some(id) => {
            campaign_read(
                ctx,
                &h,
                &id,
                |c, snap| json!({"funnel": [funnel_json(id.as_str(), &c.currency, snap)]}),
            )
            .await
        }
        None => aggregate(ctx, &h).await,
    }
}

/// One campaign's rollup, rendered by `render`, with its freshness.
async fn campaign_read(
    ctx: &Ctx,
    h: &Handle,
    id: &CampaignId,
    render: impl FnOnce(&CampaignRow, &Snapshot) -> serde_json::Value,
) -> ApiResult<Response> {
    let c = campaigns::find(ctx, h, id.as_str()).await?;
    let snap = snapshot(ctx, h, id.as_str()).await?;
    let mut body = render(&c, &snap);
    let (last, announced) = (snap.total().last_ms, snap.pending);
    freshness(ctx, h, Some(id.as_str()), last, announced, &mut body).await?;
    http::ok(body)
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
    let mut announced = 0i64;
    let mut excluded: collect::SortedMap<&str, i64> = Default::default();
    let mut funnels: Vec<(i64, serde_json::Value)> = Vec::with_capacity(rows.len());
    let currencies = collect::sorted_set(rows.iter().map(|c| c.currency.as_str()));
    for (c, snap) in rows.iter().zip(snaps) {
        let snap = snap?;
        let t = snap.total();
        total.add(&t);
        announced += snap.pending;
        for (reason, n) in snap.excluded() {
            *excluded.entry(reason).or_default() += n;
        }
        funnels.push((t.last_ms, funnel_json(&c.campaign_id, &c.currency, &snap)));
    }
    collect::sort_by(&mut funnels, |a, b| b.0.cmp(&a.0));
    let truncated = funnels.len() > FUNNELS_SHOWN;
    funnels.truncate(FUNNELS_SHOWN);
    let shared_currency = if currencies.len() == 1 {
        currencies.keys().next().copied()
    } else {
        None
    };
    let mut body = json!({
        "aggregate": aggregate_json(&total, &excluded, shared_currency.or(if rows.is_empty() { Some("USD") } else { None }), rows.len()),
        "funnel": funnels.into_iter().map(|(_, f)| f).collect::<Vec<_>>(),
        "truncated": truncated,
    });
    freshness(ctx, h, None, total.last_ms, announced, &mut body).await?;
    http::ok(body)
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
    let c = campaigns::find(ctx, h, id.as_str()).await?;
    let shards = ctx.cfg.rollup_shards;
    let (rows, snap) = futures_util::future::try_join(
        rollup::series(&ctx.env, h, id.as_str(), shards),
        snapshot(ctx, h, id.as_str()),
    )
    .await?;
    let mut body = json!({
        "campaignId": id.as_str(),
        "interval": interval.as_str(),
        "from": rfc3339(from),
        "to": rfc3339(to),
        "currency": c.currency,
        "timeseries": timeseries(&rows, from, to, interval, &c.currency),
    });
    freshness(
        ctx,
        h,
        Some(id.as_str()),
        snap.total().last_ms,
        snap.pending,
        &mut body,
    )
    .await?;
    http::ok(body)
}

/// What every analytics response says about its own numbers: `asOf` (the
/// newest event in the rollup, null before the first), `pendingEvents`
/// (accepted, not yet in the rollup) and `sampled: false` (every event is
/// counted; nothing is estimated).
async fn freshness(
    ctx: &Ctx,
    h: &Handle,
    campaign: Option<&str>,
    last: i64,
    announced: i64,
    body: &mut serde_json::Value,
) -> ApiResult<()> {
    let pending = consistency::parked(&ctx.db, h, campaign).await? + announced;
    if let Some(m) = body.as_object_mut() {
        m.insert(
            "asOf".into(),
            if last > 0 {
                json!(rfc3339(last))
            } else {
                json!(null)
            },
        );
        m.insert("pendingEvents".into(), json!(pending));
        m.insert("sampled".into(), json!(false));
    }
    Ok(())
}

/// The time of the campaign's last recorded click, from the ledger (the
/// rollup's `lastSeenAt` is moved by conversions too): the click rows, and
/// the AGGREGATE_ONLY aggregates' latest click. Two index seeks.
async fn last_click_ms(ctx: &Ctx, h: &Handle, campaign: &str) -> ApiResult<Option<i64>> {
    let last = ctx
        .db
        .value::<i64>(
            "SELECT max(coalesce((SELECT max(ts) FROM clicks WHERE handle = ?1 AND campaign_id = ?2), 0), \
             coalesce((SELECT max(last_ts) FROM click_aggregates WHERE handle = ?1 AND campaign_id = ?2), 0)) AS v",
            &[text(h.as_str()), text(campaign)],
            "v",
        )
        .await?;
    Ok(last.filter(|t| *t > 0))
}

pub async fn health(ctx: &Ctx, h: Handle, id: CampaignId) -> ApiResult<Response> {
    let c = campaigns::find(ctx, &h, id.as_str()).await?;
    let primary_link = match &c.primary_slug {
        None => PrimaryLink::NotSet,
        Some(slug) => match links::lookup(ctx, &h, slug).await? {
            None => PrimaryLink::Missing(slug.clone()),
            Some(l) => PrimaryLink::Found {
                slug: slug.clone(),
                campaign_id: l.campaign_id,
            },
        },
    };
    let snap = snapshot(ctx, &h, id.as_str()).await?;
    let t = snap.total();
    let facts = Facts {
        campaign_id: c.campaign_id.clone(),
        tracking_preset: c.tracking_preset.clone(),
        conversion_event_type: c.conversion_event_type.clone(),
        primary_link,
        status: c.status(),
        tracked_clicks: t.clicks,
        last_seen_ms: last_click_ms(ctx, &h, id.as_str())
            .await?
            .unwrap_or(t.last_ms),
        test_conversions: t.test_conversions,
        conversion_webhooks: webhooks::conversion_subscriptions(ctx, &h).await?,
        disabled_webhooks: webhooks::disabled_subscriptions(ctx, &h).await?,
        consistency: consistency::check(&ctx.db, &h, id.as_str(), &snap).await?,
        last_reconciliation: consistency::last_reconciliation(&ctx.db, &h, id.as_str()).await?,
    };
    http::ok(report(&facts))
}
