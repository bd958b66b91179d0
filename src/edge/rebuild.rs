//! `POST …/campaigns/{id}/rollup/rebuild`: a campaign's rollup recomputed
//! from the D1 ledger (click rows, the hourly aggregates of `AGGREGATE_ONLY`
//! links, conversions), page by page.

use crate::core::click::aggregate_event;
use crate::core::error::ApiResult;
use crate::core::funnel::{Dims, RollupEvent};
use crate::core::ids::{CampaignId, Handle};
use crate::core::report::funnel_json;
use crate::edge::ctx::Ctx;
use crate::edge::db::{int, text};
use crate::edge::{campaigns, conversions, http, rollup};
use serde::Deserialize;
use serde_json::json;
use worker::Response;

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
    bot_reason: Option<String>,
    ts: i64,
    visitor: Option<String>,
    experiment_id: Option<String>,
    variant_id: Option<String>,
}

#[derive(Deserialize)]
struct AggregateRow {
    hour: i64,
    slug: String,
    rule_id: String,
    country: String,
    device: String,
    source: String,
    bot_reason: String,
    clicks: i64,
    last_ts: i64,
}

const PAGE: i64 = 2000;

/// `POST …/campaigns/{id}/rollup/rebuild`: rebuild a campaign's rollup from
/// the D1 ledger (clicks, hourly aggregates, conversions). Events keep their
/// ids, so clicks arriving during a rebuild are still counted exactly once.
pub async fn rebuild(ctx: &Ctx, h: Handle, id: CampaignId) -> ApiResult<Response> {
    let c = campaigns::find(ctx, &h, id.as_str()).await?;
    let (env, shards, cid) = (&ctx.env, ctx.cfg.rollup_shards, id.as_str());
    rollup::reset(env, &h, cid, shards).await?;
    let (mut clicks, mut conversions) = (0usize, 0usize);
    let mut after = String::new();
    loop {
        let rows = ctx
            .db
            .all::<ClickLedgerRow>(
                "SELECT click_id, slug, rule_id, country, device, source, segment, bot, bot_reason, ts, visitor, \
                 experiment_id, variant_id FROM clicks \
                 WHERE handle = ? AND campaign_id = ? AND click_id > ? ORDER BY click_id LIMIT ?",
                &[text(h.as_str()), text(cid), text(&after), int(PAGE)],
            )
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.click_id.clone();
        clicks += rows.len();
        let full = rows.len() as i64 == PAGE;
        let events = rows
            .into_iter()
            .map(|r| {
                let dims = Dims::of(
                    &r.slug,
                    r.rule_id.as_deref(),
                    &r.country,
                    &r.device,
                    &r.source,
                    &r.segment,
                )
                .in_experiment(r.experiment_id.as_deref(), r.variant_id.as_deref());
                {
                    let mut e = RollupEvent::clicks(r.click_id, r.ts, r.bot != 0, dims, 1);
                    e.bot_reason = r.bot_reason.filter(|_| e.bot);
                    e.visitor = r.visitor;
                    e
                }
            })
            .collect();
        rollup::apply(env, &h, cid, shards, events).await?;
        if !full {
            break;
        }
    }
    let aggregates = ctx
        .db
        .all::<AggregateRow>(
            "SELECT hour, slug, rule_id, country, device, source, bot_reason, clicks, last_ts FROM click_aggregates WHERE handle = ? AND campaign_id = ?",
            &[text(h.as_str()), text(cid)],
        )
        .await?;
    clicks += aggregates.iter().map(|r| r.clicks as usize).sum::<usize>();
    let events = aggregates
        .iter()
        .map(|r| {
            aggregate_event(
                r.hour,
                &r.slug,
                &r.rule_id,
                &r.country,
                &r.device,
                &r.source,
                &r.bot_reason,
                r.clicks,
                r.last_ts,
            )
        })
        .collect();
    rollup::apply(env, &h, cid, shards, events).await?;
    let mut after = String::new();
    loop {
        let rows = conversions::ledger_page(&ctx.db, &h, cid, &after, PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = last.conversion_id.clone();
        conversions += rows.len();
        let full = rows.len() as i64 == PAGE;
        rollup::apply(
            env,
            &h,
            cid,
            shards,
            rows.iter().map(|r| r.rollup_event()).collect(),
        )
        .await?;
        if !full {
            break;
        }
    }
    let snap = rollup::snapshot(env, &h, cid, shards).await?;
    http::ok(json!({
        "campaignId": cid,
        "rebuilt": {"clicks": clicks, "conversions": conversions},
        "funnel": [funnel_json(cid, &c.currency, &snap)],
    }))
}
